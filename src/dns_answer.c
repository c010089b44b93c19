#include "config.h"
/* dns_answer.c - DNS messages on the upstream path: the query sluice sends
 * (built fresh, never the client's bytes), the 0x20 case pattern, checking
 * that an answer is for the question asked, removing the upstream's OPT RR,
 * and turning a stored or received answer into the answer one client gets
 * (its ID, its question bytes, its EDNS, its size limit). The cache serves
 * through dns_build_answer() too, so every answer leaves the same way.
 * Allocation-free; answers were validated by dns_answer_inspect() first,
 * and the one walk of their records here (dns_answer_addrs) reads through
 * the bounds-checked reader (rd.h) all the same. */
#include "dns_msg.h"
#include "dns_wire.h"
#include "rd.h"

#include <string.h>
#include <sys/socket.h>

#define OPT_LEN DNS_OPT_LEN

int dns_build_upstream(const struct dns_query *q, const uint8_t *pkt, uint16_t id,
		       const uint8_t *qwire, bool edns, uint8_t *out, size_t outlen)
{
	return dns_build_upstream_ecs(q, id, qwire, edns, q->ecs_len ? pkt + q->ecs_off : NULL,
				      q->ecs_len, out, outlen);
}

int dns_build_upstream_ecs(const struct dns_query *q, uint16_t id, const uint8_t *qwire, bool edns,
			   const uint8_t *ecs_opt, size_t ecs_len, uint8_t *out, size_t outlen)
{
	size_t ecs = edns && ecs_opt ? ecs_len : 0;
	size_t need = DNS_HDR_LEN + q->lname_len + 4 + (edns ? OPT_LEN + ecs : 0);
	size_t off = DNS_HDR_LEN;

	if (!q->question_ok || need > outlen)
		return -ENOSPC;
	wr16(out, id);
	wr16(out + 2, q->flags & (DNS_F_RD | DNS_F_CD | DNS_F_AD));
	wr16(out + 4, 1);
	wr16(out + 6, 0);
	wr16(out + 8, 0);
	wr16(out + 10, edns ? 1 : 0);
	memcpy(out + off, qwire, q->lname_len);
	off += q->lname_len;
	wr16(out + off, q->qtype);
	wr16(out + off + 2, q->qclass);
	off += 4;
	if (!edns)
		return (int)off;
	out[off] = 0;
	wr16(out + off + 1, DNS_TYPE_OPT);
	wr16(out + off + 3, DNS_EDNS_UDP_SIZE);
	wr32(out + off + 5, q->do_bit ? 0x8000 : 0);
	wr16(out + off + 9, (uint16_t)ecs);
	off += OPT_LEN;
	if (ecs) {
		memcpy(out + off, ecs_opt, ecs);
		off += ecs;
	}
	return (int)off;
}

void dns_name_0x20(uint8_t *w, size_t len, const uint8_t *rnd)
{
	size_t bit = 0;

	for (size_t i = 0; i < len && w[i];) {
		size_t n = w[i++];

		for (; n && i < len; n--, i++) {
			uint8_t c = lower(w[i]);

			if (c >= 'a' && c <= 'z') {
				if (rnd[bit >> 3] & (1u << (bit & 7)))
					c = (uint8_t)(c - 'a' + 'A');
				bit++;
			}
			w[i] = c;
		}
	}
}

bool dns_answer_question_is(const uint8_t *pkt, size_t len, const struct dns_answer_info *ai,
			    const uint8_t *qwire, size_t qwlen, uint16_t qtype, uint16_t qclass,
			    bool exact)
{
	/* The first question sits at offset 12, where no pointer can lead back. */
	if (ai->qdcount != 1 || ai->qtype != qtype || ai->qclass != qclass ||
	    ai->qname_len != qwlen || len < DNS_HDR_LEN + qwlen)
		return false;
	if (exact)
		return memcmp(pkt + DNS_HDR_LEN, qwire, qwlen) == 0;
	for (size_t i = 0; i < qwlen; i++)
		if (lower(pkt[DNS_HDR_LEN + i]) != lower(qwire[i]))
			return false;
	return true;
}

size_t dns_answer_strip_opt(uint8_t *pkt, size_t len, struct dns_answer_info *ai)
{
	size_t n_before = 0;

	if (!ai->has_opt || ai->opt_off > len)
		return ai->end <= len ? ai->end : len;
	/* The OPT RR and whatever follows it go: pointers only lead backwards, so
	 * what stays never refers to them. Additional RRs after the OPT are
	 * optional data; answers that matter put OPT last. ARCOUNT comes from
	 * the OPT's place, not from ttl_off, which stops at DNS_MAX_RRS. */
	for (size_t i = 0; i < ai->n_ttl; i++)
		if (ai->ttl_off[i] < ai->opt_off)
			n_before++;
	ai->n_ttl = (uint16_t)n_before;
	ai->arcount = ai->opt_ar_index;
	ai->ttl_overflow = (size_t)ai->ancount + ai->nscount + ai->arcount > DNS_MAX_RRS;
	wr16(pkt + 10, ai->arcount);
	ai->has_opt = false;
	ai->opt_last = false;
	ai->end = ai->opt_off;
	return ai->opt_off;
}

/* Flags of an answer for this client: its RD, AD only if it asked (RFC 6840 5.8). */
static uint16_t client_flags(uint16_t f, const struct dns_query *q)
{
	f &= (uint16_t) ~(DNS_F_RD | DNS_F_TC);
	if (!(q->flags & DNS_F_AD) && !q->do_bit)
		f &= (uint16_t)~DNS_F_AD;
	return f | (q->flags & DNS_F_RD);
}

int dns_build_answer(const struct dns_answer_src *a, const struct dns_query *q, const uint8_t *pkt,
		     uint32_t elapsed_s, uint32_t min_ttl, uint32_t max_ttl, uint8_t *out,
		     size_t outlen)
{
	size_t total = a->len + (q->edns ? OPT_LEN : 0);
	int rc;

	if (a->len < DNS_HDR_LEN + (size_t)q->lname_len || !q->question_ok)
		return -EINVAL;
	if (total > dns_query_udp_limit(q))
		return dns_build_truncated(q, pkt, a->rcode, out, outlen);
	if (total > outlen)
		return -ENOSPC;
	if (a->wire != out)
		memcpy(out, a->wire, a->len);
	rc = dns_rewrite_ttls(out, a->len, a->ttl_off, a->n_ttl, elapsed_s, min_ttl, max_ttl);
	if (rc < 0)
		return rc;
	wr16(out, q->id);
	wr16(out + 2, client_flags(rd16(out + 2), q));
	/* Same question, so the same name length: the client's spelling (0x20). */
	memcpy(out + DNS_HDR_LEN, q->qname_compressed ? q->lname : pkt + q->qname_off,
	       q->lname_len);
	if (!q->edns)
		return (int)a->len;
	dns_put_opt(q, a->rcode, out + a->len, OPT_LEN);
	wr16(out + 10, (uint16_t)(rd16(out + 10) + 1));
	return (int)total;
}

/* Names of a CNAME chain dns_answer_addrs follows (longer chains are cut). */
#define CHAIN_MAX 8

static bool in_chain(uint8_t (*chain)[DNS_NAME_WIRE_MAX], const size_t *clen, size_t n,
		     const uint8_t *lw, size_t wl)
{
	for (size_t i = 0; i < n; i++)
		if (clen[i] == wl && memcmp(chain[i], lw, wl) == 0)
			return true;
	return false;
}

int dns_answer_addrs(const uint8_t *pkt, size_t len, struct dns_rr_addr *out, size_t max)
{
	uint8_t chain[CHAIN_MAX][DNS_NAME_WIRE_MAX], lw[DNS_NAME_WIRE_MAX];
	size_t clen[CHAIN_MAX], nchain = 1, n = 0, wl;
	struct rd m = rd_init(pkt, len);
	const uint8_t *h;
	unsigned an;

	if (!rd_take(&m, DNS_HDR_LEN, &h))
		return -EBADMSG;
	if (rd16(h + 4) != 1)
		return 0;
	an = rd16(h + 6);
	if (dns_wire_name_take(&m, chain[0], &clen[0], NULL, NULL) < 0 || !rd_skip(&m, 4))
		return -EBADMSG;
	for (unsigned i = 0; i < an; i++) {
		const uint8_t *f, *rdata;
		uint16_t type, rdlen;
		struct rd t;

		if (dns_wire_name_take(&m, lw, &wl, NULL, NULL) < 0 || !rd_take(&m, 10, &f))
			return -EBADMSG;
		type = rd16(f);
		rdlen = rd16(f + 8);
		t = m; /* a CNAME's target may point anywhere before it */
		if (!rd_take(&m, rdlen, &rdata))
			return -EBADMSG;
		if (rd16(f + 2) != DNS_CLASS_IN || !in_chain(chain, clen, nchain, lw, wl))
			continue;
		if (type == DNS_TYPE_CNAME && nchain < CHAIN_MAX) {
			if (dns_wire_name_take(&t, chain[nchain], &clen[nchain], NULL, NULL) < 0 ||
			    t.off != m.off)
				return -EBADMSG;
			nchain++;
		} else if (((type == DNS_TYPE_A && rdlen == 4) ||
			    (type == DNS_TYPE_AAAA && rdlen == 16)) &&
			   n < max) {
			uint32_t ttl = rd32(f + 4);

			out[n].af = type == DNS_TYPE_A ? AF_INET : AF_INET6;
			memcpy(out[n].addr, rdata, rdlen);
			out[n].ttl = ttl & 0x80000000u ? 0 : ttl;
			n++;
		}
	}
	return (int)n;
}
