#include "config.h"
/* dns_diff.c - differential check of dns_query_parse and dns_answer_inspect
 * against ldns 1.8, shared by fuzz_dns_query and fuzz_dns_answer. It owns
 * the list of expected differences below; every other difference traps.
 *
 * How ldns reads a message here. ldns_wire2pkt parses RDATA by type and
 * does not move to the end of RDLENGTH afterwards (wire2host.c,
 * ldns_wire2rdf): a CNAME whose name runs past its RDLENGTH, or an A with
 * RDLENGTH 8, makes it frame the following RRs somewhere else. sluice
 * treats RDATA as opaque. So a walk over the message first reads every
 * name with ldns_wire2dname and steps over each RR by RDLENGTH; then
 * ldns_wire2pkt parses a copy in which every TYPE but OPT is NULL (10),
 * whose RDATA ldns reads opaquely, and its RRs must be the walk's (owner,
 * class, TTL, in order). A TYPE that some name reads as name bytes (a
 * pointer into an RR's fixed fields) is left alone; if the copy then reads
 * differently, TTLs come from the walk and EDNS is not compared (answers
 * like that are rejected by sluice; for such queries it is a gap).
 *
 * Expected differences (sluice is stricter; ldns accepts):
 *  both  - Names: sluice follows a compression pointer only to a prior
 *          occurrence: target >= 12 (not into the header) and before the
 *          start of the segment holding the pointer, and the bytes read from
 *          there must end before that start; at most 127 pointers. ldns
 *          follows any pointer to 1..len-1, up to 65535 of them.
 *        - RDATA: ldns_wire2pkt on the original rejects RDATA that does not
 *          fit its type, or frames later RRs differently (above); sluice
 *          does not look inside RDATA except as listed here.
 *        - TSIG: ldns moves a TSIG RR out of the additional section and
 *          lowers ARCOUNT; sluice counts it as any other RR.
 *  query - QR=1: dropped unread; opcode other than QUERY: NOTIMP, question
 *          not read.
 *        - QDCOUNT other than 1: FORMERR.
 *        - OPT in the answer or authority section, with an owner other than
 *          the root, a second OPT, or options overrunning RDATA: FORMERR.
 *          (ldns: OPT outside additional is an ordinary RR; the last OPT
 *          wins; ldns_wire2pkt does not look at the options.)
 *        - Bytes after the last RR: FORMERR; ldns ignores them.
 *  answer- QR=0, or longer than 65535 bytes: rejected.
 *        - Names: besides the pointer rule, no name byte (label, pointer,
 *          terminator) may lie in an RR's TYPE..RDLENGTH or a question's
 *          QTYPE/QCLASS, since the cache rewrites TTLs.
 *        - OPT outside the additional section, with a non-root owner, or a
 *          second OPT: rejected.
 *        - SOA in the authority section: RDATA must be exactly MNAME and
 *          RNAME (each under the name rules, starting inside RDATA) and 20
 *          bytes.
 *        - Bytes after the last RR are ignored by both (ai->end says where).
 * So sluice must accept exactly when ldns reads the message and none of
 * these applies. Where both accept they must agree on everything
 * dns_msg.h exports: ID, flags (Z aside: ldns drops it), counts, question
 * (lowercase wire name, type, class, its length and compression; the
 * presentation name must read back through ldns_str2rdf_dname as the wire
 * name), EDNS (presence, UDP size, version, DO, ECS option, extended
 * rcode), the OPT's offset and place, every TTL offset (holding the TTL
 * ldns reads for that RR, in message order), and the cache lifetime,
 * negative and cacheable verdicts recomputed from ldns's RRs as dns_msg.h
 * defines them. A query's question is compared whenever sluice says it
 * parsed (question_ok), FORMERR or not.
 */

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_diff.h"

#define NEUTRAL_TYPE LDNS_RR_TYPE_NULL
#define MAX_HOPS 127
#define Z_BIT 0x0040

/* One RR as the walk found it. */
struct vrr {
	ldns_rdf *owner;    /* read by ldns_wire2dname */
	const ldns_rr *lrr; /* the same RR in the ldns_wire2pkt copy, if it matched */
	size_t start;	    /* owner name */
	size_t fix;	    /* TYPE; CLASS, TTL, RDLENGTH follow */
	uint16_t type, klass, rdlen;
	uint32_t ttl;
	uint8_t sec;  /* 1 answer, 2 authority, 3 additional */
	bool neutral; /* TYPE replaced in the copy */
};

struct view {
	const uint8_t *pkt;
	size_t len;
	bool answer; /* the rules of dns_answer_inspect, else of dns_query_parse */
	uint16_t count[4];
	/* ldns's reading */
	bool framed; /* every question and RR read; end is past the last */
	size_t end;
	bool q0; /* the first question read, with its QTYPE/QCLASS */
	ldns_rdf *q0name;
	size_t q0end;
	uint16_t qtype, qclass;
	unsigned nrr, maxrr, nopt;
	struct vrr *rr;
	ldns_pkt *lp; /* ldns_wire2pkt of the copy, when it matched the walk */
	bool kept;    /* a TYPE other than OPT could not be neutralised */
	/* sluice's documented strictness */
	bool q0_rule, q0_compressed;
	bool bad_name, bad_opt, bad_soa;
	uint8_t *fixed; /* answers: bytes no name may read */
	uint8_t *touch; /* bytes ldns reads as part of a name */
	uint8_t *copy;
};

void dns_diff_check(bool ok, const char *what, const char *file, int line)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: dns_diff: unexpected difference: %s\n", file, line, what);
	__builtin_trap();
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	DIFF_CHECK(p != NULL);
	return p;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t ttl_val(uint32_t t)
{
	return t & 0x80000000u ? 0 : t;
}

static inline uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The header flags word as ldns's wire macros decode it (Z is not among them). */
static uint16_t wire_flags(const uint8_t *p)
{
	return (uint16_t)((LDNS_QR_WIRE(p) ? DNS_F_QR : 0) | LDNS_OPCODE_WIRE(p) << 11 |
			  (LDNS_AA_WIRE(p) ? DNS_F_AA : 0) | (LDNS_TC_WIRE(p) ? DNS_F_TC : 0) |
			  (LDNS_RD_WIRE(p) ? DNS_F_RD : 0) | (LDNS_RA_WIRE(p) ? DNS_F_RA : 0) |
			  (LDNS_AD_WIRE(p) ? DNS_F_AD : 0) | (LDNS_CD_WIRE(p) ? DNS_F_CD : 0) |
			  LDNS_RCODE_WIRE(p));
}

static bool is_fixed(const struct view *v, size_t from, size_t n)
{
	for (size_t i = from; v->fixed && i < from + n; i++)
		if (v->fixed[i])
			return true;
	return false;
}

/*
 * sluice's name rule (dns_msg.h), written from its documentation: bytes are
 * read below lim; a pointer leads to >= 12 and below the start of the
 * current segment, which becomes the new limit; at most 127 pointers,
 * labels of at most 63, 255 bytes in all; in answers no byte read is fixed.
 */
static bool rule_name(const struct view *v, size_t lim, size_t *pos, bool *compressed)
{
	const uint8_t *p = v->pkt;
	size_t at = *pos, seg = *pos, wire = 1, after = 0;
	unsigned hops = 0;

	for (;;) {
		size_t c;

		if (at >= lim || is_fixed(v, at, 1))
			return false;
		c = p[at];
		if (c == 0)
			break;
		if (c >= 0xc0) {
			size_t target;

			if (at + 1 >= lim || is_fixed(v, at + 1, 1))
				return false;
			target = (c & 0x3f) << 8 | p[at + 1];
			if (target < DNS_HDR_LEN || target >= seg || ++hops > MAX_HOPS)
				return false;
			after = after ? after : at + 2;
			lim = seg;
			seg = at = target;
			continue;
		}
		wire += c + 1;
		if (c > 63 || at + c >= lim || wire > DNS_NAME_WIRE_MAX || is_fixed(v, at + 1, c))
			return false;
		at += c + 1;
	}
	*pos = after ? after : at + 1;
	*compressed = after != 0;
	return true;
}

/* ldns_wire2dname at *pos; marks the bytes it read (following it step by step). */
static bool ldns_name(struct view *v, size_t *pos, ldns_rdf **name)
{
	const uint8_t *p = v->pkt;
	size_t at = *pos;

	*name = NULL;
	if (ldns_wire2dname(name, p, v->len, pos) != LDNS_STATUS_OK)
		return false;
	for (unsigned steps = 0;; steps++) {
		DIFF_CHECK(at < v->len && steps <= 65536 + DNS_NAME_WIRE_MAX);
		v->touch[at] = 1;
		if (p[at] == 0)
			return true;
		if (p[at] >= 0xc0) {
			DIFF_CHECK(at + 1 < v->len);
			v->touch[at + 1] = 1;
			at = (size_t)(p[at] & 0x3f) << 8 | p[at + 1];
			continue;
		}
		DIFF_CHECK(at + p[at] < v->len);
		memset(v->touch + at + 1, 1, p[at]);
		at += (size_t)p[at] + 1;
	}
}

/* A name both ways: sluice's rule must never accept what ldns cannot read. */
static bool both_names(struct view *v, size_t *pos, ldns_rdf **name, bool *rule, bool *comp)
{
	size_t at = *pos;

	*comp = false;
	*rule = rule_name(v, v->len, &at, comp);
	if (!ldns_name(v, pos, name)) {
		DIFF_CHECK(!*rule);
		return false;
	}
	DIFF_CHECK(!*rule || at == *pos);
	v->bad_name |= !*rule;
	return true;
}

static bool walk_question(struct view *v, unsigned i, size_t *pos)
{
	ldns_rdf *name;
	bool rule, comp;

	if (!both_names(v, pos, &name, &rule, &comp) || v->len - *pos < 4) {
		ldns_rdf_deep_free(name);
		return false;
	}
	if (i == 0) {
		v->q0 = true;
		v->q0name = name;
		v->q0_rule = rule;
		v->q0_compressed = comp;
		v->qtype = rd16(v->pkt + *pos);
		v->qclass = rd16(v->pkt + *pos + 2);
		v->q0end = *pos + 4;
	} else {
		ldns_rdf_deep_free(name);
	}
	if (v->fixed)
		memset(v->fixed + *pos, 1, 4);
	*pos += 4;
	return true;
}

/* Option TLVs (RFC 6891 6.1.2) fill the OPT's RDATA exactly. */
static bool options_ok(const uint8_t *p, size_t n)
{
	while (n) {
		size_t olen;

		if (n < 4)
			return false;
		olen = rd16(p + 2);
		if (n - 4 < olen)
			return false;
		p += 4 + olen;
		n -= 4 + olen;
	}
	return true;
}

static void walk_opt(struct view *v, const struct vrr *r)
{
	if (r->sec != 3 || ldns_rdf_size(r->owner) != 1 || v->nopt++)
		v->bad_opt = true;
	if (!v->answer && !options_ok(v->pkt + r->fix + 10, r->rdlen))
		v->bad_opt = true;
}

static bool soa_ok(const struct view *v, const struct vrr *r)
{
	size_t end = r->fix + 10 + r->rdlen, at = r->fix + 10;
	bool comp;

	return rule_name(v, end, &at, &comp) && rule_name(v, end, &at, &comp) && end - at == 20;
}

static bool walk_rr(struct view *v, uint8_t sec, size_t *pos)
{
	struct vrr *r = &v->rr[v->nrr];
	const uint8_t *p;
	bool rule, comp;

	DIFF_CHECK(v->nrr < v->maxrr);
	r->start = *pos;
	r->sec = sec;
	if (!both_names(v, pos, &r->owner, &rule, &comp))
		return false;
	v->nrr++;
	if (v->len - *pos < 10)
		return false;
	p = v->pkt + *pos;
	r->fix = *pos;
	r->type = rd16(p);
	r->klass = rd16(p + 2);
	r->ttl = rd32(p + 4);
	r->rdlen = rd16(p + 8);
	if (v->len - *pos - 10 < r->rdlen)
		return false;
	if (v->fixed)
		memset(v->fixed + *pos, 1, 10);
	*pos += 10 + (size_t)r->rdlen;
	if (r->type == DNS_TYPE_OPT)
		walk_opt(v, r);
	else if (v->answer && sec == 2 && r->type == DNS_TYPE_SOA)
		v->bad_soa |= !soa_ok(v, r);
	return true;
}

/* Does the ldns_wire2pkt copy hold the walk's RRs? Links each to its ldns RR. */
static bool lp_matches(struct view *v, const ldns_pkt *lp)
{
	ldns_rr_list *sec[4] = {ldns_pkt_question(lp), ldns_pkt_answer(lp), ldns_pkt_authority(lp),
				ldns_pkt_additional(lp)};
	size_t at[4] = {0, 0, 0, 0};
	unsigned opts = 0;

	if (ldns_rr_list_rr_count(sec[0]) != v->count[0])
		return false;
	if (v->count[0]) {
		const ldns_rr *q = ldns_rr_list_rr(sec[0], 0);
		const ldns_rdf *o = ldns_rr_owner(q);

		if (ldns_rr_get_type(q) != v->qtype || ldns_rr_get_class(q) != v->qclass ||
		    ldns_rdf_size(o) != ldns_rdf_size(v->q0name) ||
		    memcmp(ldns_rdf_data(o), ldns_rdf_data(v->q0name), ldns_rdf_size(o)))
			return false;
	}
	for (unsigned k = 0; k < v->nrr; k++) {
		struct vrr *r = &v->rr[k];
		const ldns_rr *x;
		const ldns_rdf *o;

		if (r->sec == 3 && r->type == DNS_TYPE_OPT) {
			opts++;
			continue;
		}
		x = ldns_rr_list_rr(sec[r->sec], at[r->sec]++);
		if (!x)
			return false;
		o = ldns_rr_owner(x);
		if (ldns_rr_get_type(x) != (r->neutral ? NEUTRAL_TYPE : r->type) ||
		    ldns_rr_get_class(x) != r->klass || ldns_rr_ttl(x) != r->ttl ||
		    ldns_rdf_size(o) != ldns_rdf_size(r->owner) ||
		    memcmp(ldns_rdf_data(o), ldns_rdf_data(r->owner), ldns_rdf_size(o)))
			return false;
		r->lrr = x;
	}
	for (int i = 1; i < 4; i++)
		if (at[i] != ldns_rr_list_rr_count(sec[i]))
			return false;
	return (opts > 0) == ldns_pkt_edns(lp) && ldns_pkt_id(lp) == LDNS_ID_WIRE(v->pkt);
}

/* Neutralise the TYPEs, parse the copy with ldns_wire2pkt, match it to the walk. */
static void view_ldns(struct view *v)
{
	ldns_pkt *lp = NULL;
	bool same;

	memcpy(v->copy, v->pkt, v->len);
	for (unsigned k = 0; k < v->nrr; k++) {
		struct vrr *r = &v->rr[k];

		if (r->type == DNS_TYPE_OPT)
			continue;
		if (v->touch[r->fix] || v->touch[r->fix + 1]) {
			v->kept = true;
			continue;
		}
		v->copy[r->fix] = NEUTRAL_TYPE >> 8;
		v->copy[r->fix + 1] = NEUTRAL_TYPE & 0xff;
		r->neutral = true;
	}
	same = ldns_wire2pkt(&lp, v->copy, v->len) == LDNS_STATUS_OK && lp_matches(v, lp);
	DIFF_CHECK(same || v->kept);
	if (same) {
		v->lp = lp;
		return;
	}
	for (unsigned k = 0; k < v->nrr; k++)
		v->rr[k].lrr = NULL;
	if (lp)
		ldns_pkt_free(lp);
}

static void view_read(struct view *v, const uint8_t *pkt, size_t len, bool answer)
{
	size_t pos = DNS_HDR_LEN;
	unsigned total;

	DIFF_CHECK(len >= DNS_HDR_LEN);
	memset(v, 0, sizeof(*v));
	v->pkt = pkt;
	v->len = len;
	v->answer = answer;
	for (int i = 0; i < 4; i++)
		v->count[i] = rd16(pkt + 4 + 2 * i);
	v->maxrr = (unsigned)(len / 11 + 1); /* an RR takes at least 11 bytes */
	v->rr = xcalloc(v->maxrr, sizeof(*v->rr));
	v->touch = xcalloc(len, 1);
	v->copy = xcalloc(len, 1);
	v->fixed = answer ? xcalloc(len, 1) : NULL;
	for (unsigned i = 0; i < v->count[0]; i++)
		if (!walk_question(v, i, &pos))
			return;
	total = (unsigned)v->count[1] + v->count[2] + v->count[3];
	for (unsigned k = 0, sec = 1, left = v->count[1]; k < total; k++, left--) {
		while (!left)
			left = v->count[++sec];
		if (!walk_rr(v, (uint8_t)sec, &pos))
			return;
	}
	v->framed = true;
	v->end = pos;
	view_ldns(v);
}

static void view_free(struct view *v)
{
	for (unsigned k = 0; k < v->nrr; k++)
		ldns_rdf_deep_free(v->rr[k].owner);
	ldns_rdf_deep_free(v->q0name);
	if (v->lp)
		ldns_pkt_free(v->lp);
	free(v->rr);
	free(v->touch);
	free(v->copy);
	free(v->fixed);
}

/* An RR's TTL as ldns read it (from the walk when the copy did not match). */
static uint32_t rr_ttl(const struct vrr *r)
{
	return r->lrr ? ldns_rr_ttl(r->lrr) : r->ttl;
}

/* ---- queries ---- */

static void check_question(const struct view *v, const struct dns_query *q)
{
	const uint8_t *w = ldns_rdf_data(v->q0name);
	size_t n = ldns_rdf_size(v->q0name);
	ldns_rdf *back = NULL;

	DIFF_CHECK(q->lname_len == n);
	for (size_t i = 0; i < n; i++)
		DIFF_CHECK(q->lname[i] == ((uint8_t)(w[i] - 'A') < 26 ? w[i] | 0x20 : w[i]));
	DIFF_CHECK(q->qtype == v->qtype && q->qclass == v->qclass);
	DIFF_CHECK(q->qname_off == DNS_HDR_LEN && q->question_end == v->q0end);
	DIFF_CHECK(q->qname_len == v->q0end - 4 - DNS_HDR_LEN);
	DIFF_CHECK(q->qname_compressed == v->q0_compressed);
	/* the presentation name reads back (by ldns) as the wire name */
	DIFF_CHECK(q->name_len == strlen(q->name));
	DIFF_CHECK(ldns_str2rdf_dname(&back, q->name_len ? q->name : ".") == LDNS_STATUS_OK);
	DIFF_CHECK(ldns_rdf_size(back) == n && memcmp(ldns_rdf_data(back), q->lname, n) == 0);
	ldns_rdf_deep_free(back);
}

static bool has_option(ldns_pkt *lp, uint16_t code)
{
	ldns_edns_option_list *l = ldns_pkt_edns_get_option_list(lp);

	DIFF_CHECK(l != NULL || ldns_pkt_edns_data(lp) == NULL);
	for (size_t i = 0; l && i < ldns_edns_option_list_get_count(l); i++)
		if (ldns_edns_get_code(ldns_edns_option_list_get_option(l, i)) == code)
			return true;
	return false;
}

static void check_edns(const struct view *v, const struct dns_query *q, int rc)
{
	DIFF_CHECK(q->edns == (v->nopt == 1) && q->edns == ldns_pkt_edns(v->lp));
	DIFF_CHECK((rc == DNS_E_BADVERS) == (q->edns && q->edns_version));
	if (!q->edns)
		return;
	DIFF_CHECK(q->udp_size == ldns_pkt_edns_udp_size(v->lp));
	DIFF_CHECK(q->edns_version == ldns_pkt_edns_version(v->lp));
	DIFF_CHECK(q->do_bit == ldns_pkt_edns_do(v->lp));
	DIFF_CHECK(q->ecs == has_option(v->lp, 8));
}

void dns_diff_query(const uint8_t *pkt, size_t len, int rc, const struct dns_query *q)
{
	bool accept = rc == 0 || rc == DNS_E_BADVERS, strict;
	struct view v;

	if (len < LDNS_HEADER_SIZE) {
		DIFF_CHECK(rc == DNS_E_DROP);
		return;
	}
	DIFF_CHECK(q->id == LDNS_ID_WIRE(pkt) && (q->flags & ~Z_BIT) == wire_flags(pkt));
	if (LDNS_QR_WIRE(pkt)) {
		DIFF_CHECK(rc == DNS_E_DROP);
		return;
	}
	if (LDNS_OPCODE_WIRE(pkt)) {
		DIFF_CHECK(rc == DNS_E_NOTIMP && !q->question_ok);
		return;
	}
	DIFF_CHECK(accept || rc == DNS_E_FORMERR);
	view_read(&v, pkt, len, false);
	DIFF_CHECK(q->question_ok == (v.count[0] == 1 && v.q0 && v.q0_rule));
	strict = v.count[0] != 1 || v.bad_name || v.bad_opt || v.end != len;
	DIFF_CHECK(accept == (v.framed && !strict));
	if (q->question_ok)
		check_question(&v, q);
	if (accept && v.lp)
		check_edns(&v, q, rc);
	view_free(&v);
}

/* ---- answers ---- */

/* Cache lifetime, negative and cacheable, as dns_answer_inspect documents them. */
static void check_lifetime(const struct view *v, const struct dns_answer_info *ai, unsigned n)
{
	uint32_t min_pos = UINT32_MAX, min_an = UINT32_MAX, soa_neg = UINT32_MAX, t;
	uint16_t qtype = v->q0 ? v->qtype : 0;
	bool has_qtype = false, negative;

	for (unsigned k = 0; k < v->nrr; k++) {
		const struct vrr *r = &v->rr[k];
		uint32_t ttl = ttl_val(rr_ttl(r));

		if (r->sec == 1) {
			min_an = min32(min_an, ttl);
			has_qtype |= r->type == qtype || qtype == DNS_TYPE_ANY;
		}
		if (r->sec == 2 && r->type == DNS_TYPE_SOA) {
			uint32_t minimum = rd32(v->pkt + r->fix + 10 + r->rdlen - 4);

			soa_neg = min32(soa_neg, min32(ttl, minimum));
		}
		if (r->sec < 3)
			min_pos = min32(min_pos, ttl);
	}
	negative = LDNS_RCODE_WIRE(v->pkt) == DNS_RCODE_NXDOMAIN || !has_qtype;
	t = negative ? min32(soa_neg, min_an) : min_pos;
	t = t == UINT32_MAX ? 0 : t;
	DIFF_CHECK(ai->negative == negative && ai->min_ttl == t);
	DIFF_CHECK(ai->cacheable ==
		   ((ai->rcode == DNS_RCODE_NOERROR || ai->rcode == DNS_RCODE_NXDOMAIN) &&
		    !ai->tc && v->count[0] == 1 && !v->q0_compressed && !ai->ext_rcode &&
		    (!ai->has_opt || ai->opt_last) && n <= DNS_MAX_RRS && t > 0 &&
		    (negative ? ai->has_soa : v->count[1] > 0)));
}

static void check_answer(const struct view *v, const struct dns_answer_info *ai)
{
	const uint8_t *p = v->pkt;
	bool soa = false;
	unsigned n = 0;

	DIFF_CHECK(ai->id == LDNS_ID_WIRE(p) && (ai->flags & ~Z_BIT) == wire_flags(p));
	DIFF_CHECK(ai->rcode == LDNS_RCODE_WIRE(p) && ai->tc == !!LDNS_TC_WIRE(p));
	DIFF_CHECK(ai->qdcount == LDNS_QDCOUNT(p) && ai->ancount == LDNS_ANCOUNT(p));
	DIFF_CHECK(ai->nscount == LDNS_NSCOUNT(p) && ai->arcount == LDNS_ARCOUNT(p));
	if (v->q0) {
		DIFF_CHECK(ai->qtype == v->qtype && ai->qclass == v->qclass);
		DIFF_CHECK(ai->qname_len == v->q0end - 4 - DNS_HDR_LEN);
		DIFF_CHECK(ai->qname_compressed == v->q0_compressed);
	}
	DIFF_CHECK(ai->end == v->end && ai->has_opt == (v->nopt == 1));
	if (v->lp) {
		DIFF_CHECK(ai->has_opt == ldns_pkt_edns(v->lp));
		DIFF_CHECK(ai->ext_rcode ==
			   (ai->has_opt ? ldns_pkt_edns_extended_rcode(v->lp) : 0));
	}
	for (unsigned k = 0; k < v->nrr; k++) {
		const struct vrr *r = &v->rr[k];

		soa |= r->sec == 2 && r->type == DNS_TYPE_SOA;
		if (r->type == DNS_TYPE_OPT) {
			DIFF_CHECK(ai->opt_off == r->start && ai->opt_last == (k + 1 == v->nrr));
			continue;
		}
		if (n < DNS_MAX_RRS) {
			DIFF_CHECK(ai->ttl_off[n] == r->fix + 4);
			DIFF_CHECK(rd32(p + ai->ttl_off[n]) == rr_ttl(r));
		}
		n++;
	}
	DIFF_CHECK(ai->has_soa == soa);
	DIFF_CHECK(ai->n_ttl == (n < DNS_MAX_RRS ? n : DNS_MAX_RRS));
	DIFF_CHECK(ai->ttl_overflow == (n > DNS_MAX_RRS));
	check_lifetime(v, ai, n);
}

void dns_diff_answer(const uint8_t *pkt, size_t len, int rc, const struct dns_answer_info *ai)
{
	struct view v;
	bool strict;

	if (len < LDNS_HEADER_SIZE) {
		DIFF_CHECK(rc == -EBADMSG);
		return;
	}
	view_read(&v, pkt, len, true);
	strict = !LDNS_QR_WIRE(pkt) || len > UINT16_MAX || v.bad_name || v.bad_opt || v.bad_soa;
	DIFF_CHECK(rc == 0 || rc == -EBADMSG);
	DIFF_CHECK((rc == 0) == (v.framed && !strict));
	if (rc == 0)
		check_answer(&v, ai);
	view_free(&v);
}

void dns_diff_rewrite(const uint8_t *orig, const uint8_t *copy, size_t len, size_t n,
		      uint32_t elapsed_s, uint32_t min_ttl, uint32_t max_ttl)
{
	struct view a, b;

	view_read(&a, orig, len, true);
	view_read(&b, copy, len, true);
	DIFF_CHECK(a.framed && b.framed && a.nrr == b.nrr && a.end == b.end);
	for (unsigned k = 0; k < a.nrr; k++) {
		uint32_t t = ttl_val(rr_ttl(&a.rr[k]));

		if (a.rr[k].type == DNS_TYPE_OPT)
			continue;
		if (n == 0) { /* past the TTLs rewritten */
			DIFF_CHECK(rr_ttl(&b.rr[k]) == rr_ttl(&a.rr[k]));
			continue;
		}
		n--;
		t = t < min_ttl ? min_ttl : t;
		t = t > max_ttl ? max_ttl : t;
		DIFF_CHECK(rr_ttl(&b.rr[k]) == (t > elapsed_s ? t - elapsed_s : 0));
	}
	view_free(&a);
	view_free(&b);
}

void dns_diff_all_ttls(const uint8_t *pkt, size_t len, uint32_t ttl)
{
	struct view v;

	view_read(&v, pkt, len, true);
	DIFF_CHECK(v.framed);
	for (unsigned k = 0; k < v.nrr; k++)
		DIFF_CHECK(v.rr[k].type == DNS_TYPE_OPT || rr_ttl(&v.rr[k]) == ttl);
	view_free(&v);
}
