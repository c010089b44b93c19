#include "config.h"
/* dns_msg.c - the DNS wire format on sluice's hot path: parsing client
 * queries, building the answers sluice writes itself (errors, addresses,
 * blocks, truncation), validating upstream answers for the cache,
 * rewriting IDs and TTLs in place, and the presentation form of names that
 * rules see (also read back from text for `sluice match`). Hand-written
 * and allocation-free: every read goes through the bounds-checked reader
 * (rd.h), compression pointers may only point backwards. It does not
 * decide what to answer (dns service), nor store answers (dns_cache).
 *
 *  Header (RFC 1035 4.1.1)            RR (4.1.3)
 *  +--+--+--+--+--+--+--+--+          NAME     labels / pointer
 *  | ID                    |          TYPE     16
 *  |QR|Opcode|AA|TC|RD|RA|Z|AD|CD|RC  CLASS    16 (OPT: UDP size)
 *  | QDCOUNT ANCOUNT NSCOUNT ARCOUNT  TTL      32 (OPT: ext rcode, version, DO)
 *  +--+--+--+--+--+--+--+--+          RDLENGTH 16, RDATA
 */
#include "dns_msg.h"
#include "dns_wire.h"
#include "rd.h"

#include <string.h>

#define MAX_HOPS 127  /* a 255-byte name has at most 127 labels */
#define OPT_LEN 11    /* root owner, type, class, ttl, rdlen 0 */
#define SOA_RR_LEN 34 /* pointer owner, 10, mname ".", rname ".", 5 x 32 bits */
#define OPCODE_MASK 0x7800
#define EDNS_OPT_ECS 8

/* Bitmap helpers: in answers, the bytes of every RR's fixed fields (and
 * of QTYPE/QCLASS) are marked, and no name may run through them. */
static inline bool any_fixed(const uint8_t *fixed, size_t from, size_t n)
{
	for (size_t i = from; fixed && i < from + n; i++)
		if (fixed[i >> 3] & (1u << (i & 7)))
			return true;
	return false;
}

static inline void mark_fixed(uint8_t *fixed, size_t from, size_t n)
{
	for (size_t i = from; fixed && i < from + n; i++)
		fixed[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/*
 * Read the name at *off. A pointer must point to a prior occurrence (RFC
 * 1035 4.1.4): before the start of the segment that holds it (the name's
 * start, or the previous pointer's target), and what it points to must end
 * before that start. Segment starts then fall strictly, so no loop can form
 * (the hop count is bounded as well), and a name never spans bytes that
 * come after it. Nor may a pointer lead into the header (no name lives
 * there, and cached answers get a new ID and flags), nor, given the
 * bitmap, any name run through RR fixed fields (TTLs are rewritten).
 * lw (may be NULL) receives the lowercase uncompressed wire form, *wlen
 * its length. m moves past the name as it sits in the message; each
 * segment is a cursor of its own, ending where the previous one started.
 */
int dns_wire_name_take(struct rd *m, uint8_t *lw, size_t *wlen, bool *compressed,
		       const uint8_t *fixed)
{
	/* the segment being read, [seg.off, seg.len): every failed read below
	 * returns at once, so its error flag stays clear in the loop */
	struct rd seg = {m->p, m->len, m->off, false};
	size_t start = m->off, wl = 0, end = 0;
	unsigned hops = 0;
	bool jumped = false;

	if (!rd_ok(m))
		return -EBADMSG;
	for (;;) {
		size_t pos = seg.off;
		const uint8_t *b;
		uint8_t c;

		if (!rd_take(&seg, 1, &b))
			return -EBADMSG;
		c = *b;
		if (c == 0) {
			if (any_fixed(fixed, pos, 1))
				return -EBADMSG;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (!rd_take(&seg, 1, &b) || any_fixed(fixed, pos, 2))
				return -EBADMSG;
			target = (size_t)(c & 0x3f) << 8 | *b;
			if (target < DNS_HDR_LEN || target >= start || ++hops > MAX_HOPS)
				return -EBADMSG;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			/* what it points to must end before this segment starts */
			seg = (struct rd){m->p, start, target, false};
			start = target;
			continue;
		}
		if (c > 63) /* 0x40 / 0x80: extended and reserved label types */
			return -EBADMSG;
		/* the label, and a terminating zero after it, must still fit in 255 */
		if (!rd_take(&seg, c, &b) || wl + c + 2 > DNS_NAME_WIRE_MAX ||
		    any_fixed(fixed, pos, (size_t)c + 1))
			return -EBADMSG;
		if (lw) {
			lw[wl] = c;
			for (size_t i = 0; i < c; i++)
				lw[wl + 1 + i] = lower(b[i]);
		}
		wl += (size_t)c + 1;
	}
	if (lw)
		lw[wl] = 0;
	*wlen = wl + 1;
	m->off = jumped ? end : seg.off;
	if (compressed)
		*compressed = jumped;
	return 0;
}

int dns_wire_name_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t *lw, size_t *wlen,
		       bool *compressed, const uint8_t *fixed)
{
	struct rd m = rd_at(pkt, len, *off);
	int rc = dns_wire_name_take(&m, lw, wlen, compressed, fixed);

	if (rc == 0)
		*off = m.off;
	return rc;
}

/* Presentation form of an uncompressed wire name; see struct dns_query. */
size_t dns_name_to_text(const uint8_t *lw, char *out)
{
	size_t i = 0, o = 0;

	while (lw[i]) {
		size_t n = lw[i++];

		if (o)
			out[o++] = '.';
		for (; n; n--, i++) {
			uint8_t c = lw[i];

			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				out[o++] = (char)c;
				continue;
			}
			out[o++] = '\\';
			out[o++] = (char)('0' + c / 100);
			out[o++] = (char)('0' + c / 10 % 10);
			out[o++] = (char)('0' + c % 10);
		}
	}
	out[o] = 0;
	return o;
}

/* The value of the escape at t[i] == '\\' (\DDD or \X); *i moves to its
 * last character. -1 when it is cut short or \DDD is over 255. */
static int text_escape(const char *t, size_t len, size_t *i)
{
	size_t k = *i + 1;
	int v = 0;

	if (k >= len)
		return -1;
	if (t[k] < '0' || t[k] > '9') {
		*i = k;
		return (unsigned char)t[k];
	}
	for (size_t e = k + 3; k < e; k++) {
		if (k >= len || t[k] < '0' || t[k] > '9')
			return -1;
		v = v * 10 + (t[k] - '0');
	}
	*i = k - 1;
	return v <= 255 ? v : -1;
}

int dns_name_from_text(const char *t, size_t len, uint8_t *lw, size_t *wlen)
{
	size_t wl = 1, lab = 0; /* lw[lab]: the length byte of the current label */

	if (len == 1 && t[0] == '.') {
		lw[0] = 0;
		*wlen = 1;
		return 0;
	}
	lw[0] = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)t[i];

		if (c == '.') {
			if (lw[lab] == 0)
				return -EINVAL; /* an empty label */
			if (i + 1 == len)
				break; /* the root's dot */
			if (wl + 2 > DNS_NAME_WIRE_MAX)
				return -EINVAL;
			lab = wl++;
			lw[lab] = 0;
			continue;
		}
		if (c == '\\' && (c = text_escape(t, len, &i)) < 0)
			return -EINVAL;
		if (lw[lab] == 63 || wl + 2 > DNS_NAME_WIRE_MAX)
			return -EINVAL;
		lw[wl++] = lower((uint8_t)c);
		lw[lab]++;
	}
	if (lw[lab] == 0)
		return -EINVAL;
	lw[wl++] = 0;
	*wlen = wl;
	return 0;
}

struct rr {
	size_t start;	/* owner name */
	size_t ttl_off; /* TTL field */
	size_t rdata;	/* RDATA */
	uint16_t type, klass, rdlen;
	uint32_t ttl;
	bool root_owner;
};

/* Read one RR header and check its RDATA fits; m moves past the RR. */
static int rr_read(struct rd *m, struct rr *rr, uint8_t *fixed)
{
	const uint8_t *f;
	size_t wl;

	rr->start = m->off;
	if (dns_wire_name_take(m, NULL, &wl, NULL, fixed) < 0 || !rd_take(m, 10, &f))
		return -EBADMSG;
	mark_fixed(fixed, m->off - 10, 10);
	rr->type = rd16(f);
	rr->klass = rd16(f + 2);
	rr->ttl = rd32(f + 4);
	rr->rdlen = rd16(f + 8);
	rr->ttl_off = m->off - 6;
	rr->rdata = m->off;
	rr->root_owner = wl == 1;
	return rd_skip(m, rr->rdlen) ? 0 : -EBADMSG;
}

/* ---- client queries ---- */

/* The OPT RR of a query (RFC 6891 6.1): one only, root owner, options walked. */
static int query_opt(const uint8_t *pkt, const struct rr *rr, struct dns_query *q)
{
	struct rd o = rd_at(pkt, rr->rdata + rr->rdlen, rr->rdata);

	if (!rr->root_owner || q->edns)
		return DNS_E_FORMERR;
	while (rd_left(&o) > 0) {
		size_t at = o.off;
		uint16_t code = rd_u16(&o), olen = rd_u16(&o);

		if (!rd_skip(&o, olen))
			return DNS_E_FORMERR;
		if (code == EDNS_OPT_ECS && !q->ecs) {
			q->ecs = true;
			q->ecs_off = (uint16_t)at;
			q->ecs_len = (uint16_t)(olen + 4);
		}
	}
	q->udp_size = rr->klass;
	q->limit = rr->klass > DNS_UDP_MIN ? rr->klass : DNS_UDP_MIN;
	q->edns_version = (uint8_t)(rr->ttl >> 16);
	q->do_bit = (rr->ttl & 0x8000) != 0;
	q->edns = true;
	return 0;
}

/* Answer and authority RRs are skipped (IXFR carries an SOA), additional read for OPT. */
static int query_rrs(struct rd *m, unsigned skip, unsigned ar, struct dns_query *q)
{
	struct rr rr;

	for (unsigned i = 0; i < skip + ar; i++) {
		if (rr_read(m, &rr, NULL) < 0)
			return DNS_E_FORMERR;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		if (i < skip || query_opt(m->p, &rr, q) < 0)
			return DNS_E_FORMERR;
	}
	return 0;
}

static void query_reset(struct dns_query *q)
{
	q->qtype = q->qclass = 0;
	q->question_ok = q->qname_compressed = false;
	q->edns = q->do_bit = q->ecs = false;
	q->edns_version = 0;
	q->udp_size = DNS_UDP_MIN;
	q->limit = DNS_UDP_MIN;
	q->ecs_off = q->ecs_len = 0;
	q->qname_off = DNS_HDR_LEN;
	q->qname_len = q->question_end = q->lname_len = q->name_len = 0;
	q->name[0] = 0;
}

int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	struct rd m = rd_init(pkt, len);
	const uint8_t *h, *qt;
	unsigned an, ns, ar;
	size_t wl;
	int rc;

	if (!rd_take(&m, DNS_HDR_LEN, &h))
		return DNS_E_DROP;
	q->id = rd16(h);
	q->flags = rd16(h + 2);
	an = rd16(h + 6);
	ns = rd16(h + 8);
	ar = rd16(h + 10);
	query_reset(q);
	if (q->flags & DNS_F_QR)
		return DNS_E_DROP;
	if (q->flags & OPCODE_MASK)
		return DNS_E_NOTIMP;
	if (rd16(h + 4) != 1)
		return DNS_E_FORMERR;
	if (dns_wire_name_take(&m, q->lname, &wl, &q->qname_compressed, NULL) < 0 ||
	    !rd_take(&m, 4, &qt))
		return DNS_E_FORMERR;
	q->lname_len = (uint16_t)wl;
	q->qname_len = (uint16_t)(m.off - 4 - DNS_HDR_LEN);
	q->qtype = rd16(qt);
	q->qclass = rd16(qt + 2);
	q->question_end = (uint16_t)m.off;
	q->name_len = (uint16_t)dns_name_to_text(q->lname, q->name);
	q->question_ok = true;
	if (rd_left(&m) == 0 && !(an | ns | ar))
		return 0; /* the common case: a bare question */
	rc = query_rrs(&m, an + ns, ar, q);
	if (rc < 0)
		return rc;
	if (rd_left(&m) != 0)
		return DNS_E_FORMERR;
	return q->edns && q->edns_version ? DNS_E_BADVERS : 0;
}

int dns_error_rcode(int err)
{
	switch (err) {
	case DNS_E_FORMERR:
		return DNS_RCODE_FORMERR;
	case DNS_E_NOTIMP:
		return DNS_RCODE_NOTIMP;
	case DNS_E_BADVERS:
		return DNS_RCODE_BADVERS;
	default:
		return -1;
	}
}

size_t dns_query_udp_limit(const struct dns_query *q)
{
	return q->limit;
}

void dns_query_cap_udp(struct dns_query *q, size_t cap)
{
	if (cap < DNS_UDP_MIN)
		cap = DNS_UDP_MIN;
	if (q->limit > cap)
		q->limit = (uint32_t)cap;
}

/* ---- builders ---- */

static void put_hdr(uint8_t *out, const struct dns_query *q, int rcode, uint16_t extra, uint16_t an,
		    uint16_t ns)
{
	uint16_t f = DNS_F_QR | DNS_F_RA | extra | (q->flags & (OPCODE_MASK | DNS_F_RD | DNS_F_CD));

	wr16(out, q->id);
	wr16(out + 2, (uint16_t)(f | (rcode & 0xf)));
	wr16(out + 4, q->question_ok ? 1 : 0);
	wr16(out + 6, an);
	wr16(out + 8, ns);
	wr16(out + 10, q->edns ? 1 : 0);
}

static size_t question_size(const struct dns_query *q)
{
	return q->question_ok ? (size_t)q->lname_len + 4 : 0;
}

int dns_put_question(const struct dns_query *q, const uint8_t *pkt, uint8_t *out, size_t outlen)
{
	size_t n = question_size(q);

	if (n > outlen)
		return -ENOSPC;
	if (!n)
		return 0;
	/* Uncompressed: the client's own bytes, so its 0x20 case pattern survives. */
	memcpy(out, q->qname_compressed ? q->lname : pkt + q->qname_off, q->lname_len);
	wr16(out + q->lname_len, q->qtype);
	wr16(out + q->lname_len + 2, q->qclass);
	return (int)n;
}

int dns_put_opt(const struct dns_query *q, int rcode, uint8_t *out, size_t outlen)
{
	if (outlen < OPT_LEN)
		return -ENOSPC;
	out[0] = 0;
	wr16(out + 1, DNS_TYPE_OPT);
	wr16(out + 3, DNS_EDNS_UDP_SIZE);
	wr32(out + 5, (uint32_t)((rcode >> 4) & 0xff) << 24 | (q->do_bit ? 0x8000 : 0));
	wr16(out + 9, 0);
	return OPT_LEN;
}

/* Header, question; the caller has checked that need <= outlen. Returns the offset after. */
static size_t put_start(const struct dns_query *q, const uint8_t *pkt, int rcode, uint16_t extra,
			uint16_t an, uint16_t ns, uint8_t *out)
{
	put_hdr(out, q, rcode, extra, an, ns);
	return DNS_HDR_LEN + (size_t)dns_put_question(q, pkt, out + DNS_HDR_LEN, SIZE_MAX);
}

static int put_end(const struct dns_query *q, int rcode, uint8_t *out, size_t off)
{
	if (q->edns)
		off += (size_t)dns_put_opt(q, rcode, out + off, OPT_LEN);
	return (int)off;
}

/* Owner (pointer to the question name at 12), type, class IN, TTL, RDLENGTH. */
static size_t put_rr_head(uint8_t *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	wr16(p, 0xc000 | DNS_HDR_LEN);
	wr16(p + 2, type);
	wr16(p + 4, DNS_CLASS_IN);
	wr32(p + 6, ttl);
	wr16(p + 10, rdlen);
	return 12;
}

/* Synthetic SOA: the qname as apex, root MNAME/RNAME, MINIMUM = TTL (RFC 2308). */
static size_t put_soa(uint8_t *p, uint32_t ttl)
{
	static const uint32_t timers[4] = {1, 3600, 600, 86400}; /* serial refresh retry expire */
	size_t o = put_rr_head(p, DNS_TYPE_SOA, ttl, SOA_RR_LEN - 12);

	p[o++] = 0;
	p[o++] = 0;
	for (int i = 0; i < 4; i++, o += 4)
		wr32(p + o, timers[i]);
	wr32(p + o, ttl);
	return o + 4;
}

int dns_build_truncated(const struct dns_query *q, const uint8_t *pkt, int rcode, uint8_t *out,
			size_t outlen)
{
	size_t need = DNS_HDR_LEN + question_size(q) + (q->edns ? OPT_LEN : 0);

	if (need > outlen)
		return -ENOSPC;
	return put_end(q, rcode, out, put_start(q, pkt, rcode, DNS_F_TC, 0, 0, out));
}

int dns_build_error(const struct dns_query *q, const uint8_t *pkt, int rcode, uint8_t *out,
		    size_t outlen)
{
	size_t need = DNS_HDR_LEN + question_size(q) + (q->edns ? OPT_LEN : 0);

	if (need > outlen)
		return -ENOSPC;
	return put_end(q, rcode, out, put_start(q, pkt, rcode, 0, 0, 0, out));
}

/* NODATA or NXDOMAIN with the synthetic SOA in the authority section. */
static int build_negative(const struct dns_query *q, const uint8_t *pkt, int rcode, uint32_t ttl,
			  uint8_t *out, size_t outlen)
{
	size_t need = DNS_HDR_LEN + question_size(q) + SOA_RR_LEN + (q->edns ? OPT_LEN : 0);
	size_t off;

	if (need > dns_query_udp_limit(q))
		return dns_build_truncated(q, pkt, rcode, out, outlen);
	if (need > outlen)
		return -ENOSPC;
	off = put_start(q, pkt, rcode, 0, 0, 1, out);
	off += put_soa(out + off, ttl);
	return put_end(q, rcode, out, off);
}

int dns_build_nxdomain(const struct dns_query *q, const uint8_t *pkt, uint32_t ttl, uint8_t *out,
		       size_t outlen)
{
	return build_negative(q, pkt, DNS_RCODE_NXDOMAIN, ttl, out, outlen);
}

int dns_build_address(const struct dns_query *q, const uint8_t *pkt,
		      const struct dns_addr_list *addrs, uint32_t ttl, uint8_t *out, size_t outlen)
{
	const uint8_t *src = NULL;
	size_t n = 0, alen = 0, need, off;

	if (q->question_ok && q->qclass == DNS_CLASS_IN && q->qtype == DNS_TYPE_A) {
		n = addrs->n4, alen = 4, src = (const uint8_t *)addrs->v4;
	} else if (q->question_ok && q->qclass == DNS_CLASS_IN && q->qtype == DNS_TYPE_AAAA) {
		n = addrs->n6, alen = 16, src = (const uint8_t *)addrs->v6;
	}
	if (!n || !src)
		return build_negative(q, pkt, DNS_RCODE_NOERROR, ttl, out, outlen);
	if (n > (SIZE_MAX - 1024) / 28)
		return -ENOSPC;
	need = DNS_HDR_LEN + question_size(q) + n * (12 + alen) + (q->edns ? OPT_LEN : 0);
	if (need > dns_query_udp_limit(q))
		return dns_build_truncated(q, pkt, DNS_RCODE_NOERROR, out, outlen);
	if (need > outlen)
		return -ENOSPC;
	off = put_start(q, pkt, DNS_RCODE_NOERROR, 0, (uint16_t)n, 0, out);
	for (size_t i = 0; i < n; i++) {
		off += put_rr_head(out + off, q->qtype, ttl, (uint16_t)alen);
		memcpy(out + off, src + i * alen, alen);
		off += alen;
	}
	return put_end(q, DNS_RCODE_NOERROR, out, off);
}

int dns_build_block_zero(const struct dns_query *q, const uint8_t *pkt, uint32_t ttl, uint8_t *out,
			 size_t outlen)
{
	static const struct in_addr any4 = {0};
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
	const struct dns_addr_list zero = {&any4, 1, &any6, 1};

	return dns_build_address(q, pkt, &zero, ttl, out, outlen);
}

/* ---- upstream answers ---- */

/* SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM. */
static int soa_minimum(const uint8_t *pkt, const struct rr *rr, uint32_t *minimum,
		       const uint8_t *fixed)
{
	/* names may point anywhere before them, but must not run past RDATA */
	struct rd r = rd_at(pkt, rr->rdata + rr->rdlen, rr->rdata);
	size_t wl;

	if (dns_wire_name_take(&r, NULL, &wl, NULL, fixed) < 0 ||
	    dns_wire_name_take(&r, NULL, &wl, NULL, fixed) < 0 || rd_left(&r) != 20)
		return -EBADMSG;
	rd_skip(&r, 16);
	*minimum = rd_u32(&r);
	return 0;
}

static inline uint32_t ttl_val(uint32_t t)
{
	return t & 0x80000000u ? 0 : t; /* RFC 2181 8: top bit set means 0 */
}

struct walk {
	uint32_t min_pos; /* over answer + authority */
	uint32_t min_an;  /* over answer */
	uint32_t soa_neg; /* min(SOA TTL, MINIMUM) */
	bool has_qtype;	  /* an answer RR of the asked type (or any, for ANY) */
};

static int answer_rr(const uint8_t *pkt, const struct rr *rr, unsigned sec, bool last,
		     struct dns_answer_info *ai, struct walk *w, const uint8_t *fixed)
{
	uint32_t ttl = ttl_val(rr->ttl), minimum;

	if (rr->type == DNS_TYPE_OPT) {
		if (sec != 3 || ai->has_opt || !rr->root_owner)
			return -EBADMSG;
		ai->has_opt = true;
		ai->opt_last = last;
		ai->opt_off = (uint16_t)rr->start;
		ai->ext_rcode = (uint8_t)(rr->ttl >> 24);
		return 0;
	}
	if (ai->n_ttl < DNS_MAX_RRS)
		ai->ttl_off[ai->n_ttl++] = (uint16_t)rr->ttl_off;
	else
		ai->ttl_overflow = true;
	if (sec == 1) {
		w->min_an = ttl < w->min_an ? ttl : w->min_an;
		if (rr->type == ai->qtype || ai->qtype == DNS_TYPE_ANY)
			w->has_qtype = true;
	}
	if (sec == 2 && rr->type == DNS_TYPE_SOA) {
		if (soa_minimum(pkt, rr, &minimum, fixed) < 0)
			return -EBADMSG;
		ai->has_soa = true;
		minimum = ttl < minimum ? ttl : minimum;
		w->soa_neg = minimum < w->soa_neg ? minimum : w->soa_neg;
	}
	if (sec == 1 || sec == 2)
		w->min_pos = ttl < w->min_pos ? ttl : w->min_pos;
	return 0;
}

static void answer_classify(struct dns_answer_info *ai, const struct walk *w)
{
	bool rc_ok = ai->rcode == DNS_RCODE_NOERROR || ai->rcode == DNS_RCODE_NXDOMAIN;
	uint32_t t;

	ai->negative = ai->rcode == DNS_RCODE_NXDOMAIN || !w->has_qtype;
	if (ai->negative)
		t = w->soa_neg < w->min_an ? w->soa_neg : w->min_an;
	else
		t = w->min_pos;
	ai->min_ttl = t == UINT32_MAX ? 0 : t;
	ai->cacheable = rc_ok && !ai->tc && ai->qdcount == 1 && !ai->qname_compressed &&
			!ai->ext_rcode && (!ai->has_opt || ai->opt_last) && !ai->ttl_overflow &&
			ai->min_ttl > 0 && (ai->negative ? ai->has_soa : ai->ancount > 0);
}

/* The question section: the first question's name, type and class recorded. */
static int answer_questions(struct rd *m, struct dns_answer_info *ai, uint8_t *fixed)
{
	for (unsigned i = 0; i < ai->qdcount; i++) {
		size_t at, wl;
		uint16_t qtype, qclass;
		bool comp;

		if (dns_wire_name_take(m, NULL, &wl, &comp, fixed) < 0)
			return -EBADMSG;
		at = m->off;
		qtype = rd_u16(m);
		qclass = rd_u16(m);
		if (!rd_ok(m))
			return -EBADMSG;
		mark_fixed(fixed, at, 4);
		if (i == 0) {
			ai->qname_len = (uint16_t)(at - DNS_HDR_LEN);
			ai->qname_compressed = comp;
			ai->qtype = qtype;
			ai->qclass = qclass;
		}
	}
	return 0;
}

int dns_answer_inspect(const uint8_t *pkt, size_t len, struct dns_answer_info *ai)
{
	struct walk w = {UINT32_MAX, UINT32_MAX, UINT32_MAX, false};
	uint8_t fixed[(UINT16_MAX + 1) / 8];
	struct rd m = rd_init(pkt, len), h = rd_sub(&m, DNS_HDR_LEN);
	unsigned nrr, counts[3];
	struct rr rr;

	memset(ai, 0, offsetof(struct dns_answer_info, ttl_off));
	if (!rd_ok(&h) || len > UINT16_MAX)
		return -EBADMSG;
	memset(fixed, 0, (len + 7) / 8);
	ai->id = rd_u16(&h);
	ai->flags = rd_u16(&h);
	ai->rcode = ai->flags & 0xf;
	ai->tc = (ai->flags & DNS_F_TC) != 0;
	ai->qdcount = rd_u16(&h);
	ai->ancount = counts[0] = rd_u16(&h);
	ai->nscount = counts[1] = rd_u16(&h);
	ai->arcount = counts[2] = rd_u16(&h);
	if (!(ai->flags & DNS_F_QR))
		return -EBADMSG;
	if (answer_questions(&m, ai, fixed) < 0)
		return -EBADMSG;
	nrr = counts[0] + counts[1] + counts[2];
	for (unsigned i = 0, sec = 1, left = counts[0]; i < nrr; i++, left--) {
		while (!left)
			left = counts[sec++];
		if (rr_read(&m, &rr, fixed) < 0 ||
		    answer_rr(pkt, &rr, sec, i + 1 == nrr, ai, &w, fixed) < 0)
			return -EBADMSG;
		if (rr.type == DNS_TYPE_OPT) /* answer_rr checked it is additional */
			ai->opt_ar_index = (uint16_t)(counts[2] - left);
	}
	ai->end = m.off;
	answer_classify(ai, &w);
	return 0;
}

bool dns_answer_matches(const uint8_t *pkt, size_t len, const struct dns_answer_info *ai,
			const struct dns_query *q)
{
	uint8_t lw[DNS_NAME_WIRE_MAX];
	struct rd m = rd_at(pkt, len, DNS_HDR_LEN);
	size_t wl;

	if (ai->qdcount != 1 || ai->qtype != q->qtype || ai->qclass != q->qclass || !q->question_ok)
		return false;
	if (dns_wire_name_take(&m, lw, &wl, NULL, NULL) < 0)
		return false;
	return wl == q->lname_len && memcmp(lw, q->lname, wl) == 0;
}

void dns_set_id(uint8_t *pkt, uint16_t id)
{
	wr16(pkt, id);
}

int dns_rewrite_ttls(uint8_t *pkt, size_t len, const uint16_t *off, size_t n, uint32_t elapsed_s,
		     uint32_t min_ttl, uint32_t max_ttl)
{
	for (size_t i = 0; i < n; i++) {
		struct rd r = rd_at(pkt, len, off[i]);
		uint32_t t = ttl_val(rd_u32(&r));

		if (!rd_ok(&r))
			return -EINVAL;
		t = t < min_ttl ? min_ttl : t;
		t = t > max_ttl ? max_ttl : t;
		wr32(pkt + off[i], t > elapsed_s ? t - elapsed_s : 0);
	}
	return 0;
}
