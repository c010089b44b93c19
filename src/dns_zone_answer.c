#include "config.h"
/* dns_zone_answer.c - answers from a local zone (dns_zone.h): the lookup
 * (exact name, empty non-terminal, wildcard of the closest encloser), CNAME
 * chains inside the zone, NODATA/NXDOMAIN with the zone's SOA, and the
 * message, written straight into the answer buffer: the client's ID, RD,
 * CD and question bytes, AA set, owners that are the question name as
 * pointers to it (so the client's case comes back), other names
 * uncompressed, an OPT RR iff the query had one, TC=1 with the question
 * only when it would exceed the client's limit. No allocation; every write
 * is checked against the limit. Loading is dns_zone.c. */
#include "dns_zone_int.h"
#include "dns_wire.h"
#include "sluice.h"

#include <string.h>

#define OPT_LEN 11

/* The answer being written: cap is the client's limit less its OPT RR. */
struct zout {
	uint8_t *p;
	size_t off, cap;
	bool over;
	uint16_t an, ns;
};

static void put(struct zout *o, const void *d, size_t n)
{
	if (o->over || n > o->cap - o->off) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->off, d, n);
	o->off += n;
}

/* One record: its owner (a pointer to the question name when at_qname),
 * the fixed fields and the RDATA. */
static void put_rr(struct zout *o, const struct dns_zone *z, const uint8_t *owner, size_t olen,
		   bool at_qname, const struct zone_rr *r, uint32_t ttl)
{
	static const uint8_t qptr[2] = {0xc0, DNS_HDR_LEN};
	uint8_t f[10];

	if (at_qname)
		put(o, qptr, sizeof(qptr));
	else
		put(o, owner, olen);
	wr16(f, r->type);
	wr16(f + 2, z->klass);
	wr32(f + 4, ttl);
	wr16(f + 8, r->rdlen);
	put(o, f, sizeof(f));
	put(o, z->blob + r->rdata, r->rdlen);
}

/* RFC 4592: a name that does not exist is answered from the wildcard child
 * of its closest encloser (the longest ancestor that exists, empty
 * non-terminals included; the apex always does), if there is one. */
static long wildcard(const struct dns_zone *z, const uint8_t *lw, size_t len)
{
	uint8_t w[DNS_NAME_WIRE_MAX];
	size_t o = 0;
	bool found = false;

	while (!found && lw[o]) {
		o += (size_t)lw[o] + 1;
		found = zone_find(z, lw + o, len - o) >= 0;
	}
	if (!found || len - o + 2 > DNS_NAME_WIRE_MAX)
		return -1;
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, lw + o, len - o);
	return zone_find(z, w, len - o + 2);
}

/* The name in a CNAME's RDATA, lowercased into lw; its length, or 0 when
 * the RDATA is not exactly one name. */
static size_t cname_target(const struct dns_zone *z, const struct zone_rr *r, uint8_t *lw)
{
	const uint8_t *d = z->blob + r->rdata;
	size_t i = 0;

	if (r->rdlen == 0 || r->rdlen > DNS_NAME_WIRE_MAX)
		return 0;
	while (i < r->rdlen && d[i]) {
		if (d[i] > 63)
			return 0;
		i += (size_t)d[i] + 1;
	}
	if (i + 1 != r->rdlen)
		return 0;
	for (i = 0; i < r->rdlen; i++)
		lw[i] = lower(d[i]);
	return r->rdlen;
}

static const struct zone_rr *find_type(const struct dns_zone *z, const struct zone_name *n,
				       uint16_t type)
{
	for (uint32_t i = 0; i < n->nrr; i++)
		if (z->rrs[n->rr0 + i].type == type)
			return &z->rrs[n->rr0 + i];
	return NULL;
}

/* Walk from the question name through CNAMEs; returns the rcode and sets
 * *negative when the SOA must follow. */
static int lookup(const struct dns_zone *z, const struct dns_query *q, struct zout *o,
		  bool *negative)
{
	uint8_t cur[DNS_NAME_WIRE_MAX];
	size_t cur_len = q->lname_len;
	long seen[DNS_ZONE_MAX_CHAIN + 1];

	memcpy(cur, q->lname, cur_len);
	for (size_t step = 0; step <= DNS_ZONE_MAX_CHAIN; step++) {
		long i = zone_find(z, cur, cur_len);
		const struct zone_name *n;
		const struct zone_rr *cn;
		uint16_t found = 0;

		if (i < 0)
			i = wildcard(z, cur, cur_len);
		if (i < 0) {
			*negative = true;
			return DNS_RCODE_NXDOMAIN;
		}
		n = &z->names[i];
		if (n->cname && q->qtype != DNS_TYPE_CNAME && q->qtype != DNS_TYPE_ANY &&
		    (cn = find_type(z, n, DNS_TYPE_CNAME))) {
			for (size_t k = 0; k < step; k++)
				if (seen[k] == i)
					return DNS_RCODE_NOERROR; /* a loop: the chain so far */
			seen[step] = i;
			put_rr(o, z, cur, cur_len, step == 0, cn, cn->ttl);
			o->an++;
			cur_len = cname_target(z, cn, cur);
			/* a target outside the zone is the client's resolver's to follow */
			if (!cur_len || !zone_under(z, cur, cur_len))
				return DNS_RCODE_NOERROR;
			continue;
		}
		for (uint32_t k = 0; k < n->nrr; k++) {
			const struct zone_rr *r = &z->rrs[n->rr0 + k];

			if (r->type != q->qtype && q->qtype != DNS_TYPE_ANY)
				continue;
			put_rr(o, z, cur, cur_len, step == 0, r, r->ttl);
			found++;
		}
		o->an = (uint16_t)(o->an + found);
		*negative = found == 0;
		return DNS_RCODE_NOERROR;
	}
	return DNS_RCODE_NOERROR; /* DNS_ZONE_MAX_CHAIN CNAMEs: the client has what there is */
}

int dns_zone_answer(const struct dns_zone *z, const struct dns_query *q, const uint8_t *pkt,
		    uint8_t *out, size_t outlen)
{
	size_t limit = SL_MIN((size_t)q->limit, outlen), opt = q->edns ? OPT_LEN : 0;
	struct zout o = {out, DNS_HDR_LEN, 0, false, 0, 0};
	bool negative = false;
	int rcode, n;

	if (!q->question_ok || limit < DNS_HDR_LEN + opt)
		return dns_build_truncated(q, pkt, DNS_RCODE_NOERROR, out, outlen);
	/* The name is the zone's in every class; only its own (and ANY) has data. */
	if (q->qclass != z->klass && q->qclass != DNS_CLASS_ANY)
		return dns_build_error(q, pkt, DNS_RCODE_REFUSED, out, outlen);
	o.cap = limit - opt;
	n = dns_put_question(q, pkt, out + DNS_HDR_LEN, o.cap - DNS_HDR_LEN);
	if (n < 0)
		o.over = true;
	else
		o.off += (size_t)n;
	rcode = lookup(z, q, &o, &negative);
	if (negative) {
		const struct zone_rr *soa = &z->rrs[z->soa];

		put_rr(&o, z, z->apex, z->apex_len, false, soa, z->neg_ttl);
		o.ns = 1;
	}
	if (o.over) {
		n = dns_build_truncated(q, pkt, rcode, out, outlen);
		if (n > 0)
			out[2] |= DNS_F_AA >> 8;
		return n;
	}
	wr16(out, q->id);
	wr16(out + 2, (uint16_t)(DNS_F_QR | DNS_F_AA | DNS_F_RA |
				 (q->flags & (DNS_F_RD | DNS_F_CD)) | rcode));
	wr16(out + 4, 1);
	wr16(out + 6, o.an);
	wr16(out + 8, o.ns);
	wr16(out + 10, q->edns ? 1 : 0);
	if (q->edns)
		o.off += (size_t)dns_put_opt(q, rcode, out + o.off, opt);
	return (int)o.off;
}
