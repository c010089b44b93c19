/* dns_svcb.c - removing SvcParams from SVCB/HTTPS records (see
 * dns_svcb.h). The message is parsed and written again with ldns, which
 * knows the records' layout and name compression; the result must pass
 * sluice's own answer checks with the same question, else the original
 * stays (ldns is not trusted with hostile input beyond what it parses). */
#include "config.h"
#include "dns_svcb.h"
#include "dns_msg.h"

#include <ldns/ldns.h>
#include <string.h>

/* One SvcParams field without the unwanted keys; true when it changed. */
static bool strip_params(ldns_rr *rr, size_t idx, bool ech, bool ipv6hint)
{
	ldns_rdf *f = ldns_rr_rdf(rr, idx);
	const uint8_t *p;
	uint8_t out[65535];
	size_t len, o = 0;
	bool changed = false;

	if (!f || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_SVCPARAMS)
		return false;
	p = ldns_rdf_data(f);
	len = ldns_rdf_size(f);
	for (size_t i = 0; i + 4 <= len;) {
		uint16_t key = (uint16_t)(p[i] << 8 | p[i + 1]);
		size_t vl = (size_t)(p[i + 2] << 8 | p[i + 3]);

		if (i + 4 + vl > len)
			return false;
		if ((ech && key == DNS_SVCB_ECH) || (ipv6hint && key == DNS_SVCB_IPV6HINT)) {
			changed = true;
		} else {
			memcpy(out + o, p + i, 4 + vl);
			o += 4 + vl;
		}
		i += 4 + vl;
	}
	if (changed) {
		ldns_rdf *n = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_SVCPARAMS, o, out);

		if (!n)
			return false;
		ldns_rdf_deep_free(ldns_rr_set_rdf(rr, n, idx));
	}
	return changed;
}

static bool strip_list(ldns_rr_list *l, bool ech, bool ipv6hint)
{
	bool changed = false;

	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr_type t = ldns_rr_get_type(rr);

		if (t == LDNS_RR_TYPE_SVCB || t == LDNS_RR_TYPE_HTTPS)
			changed |= strip_params(rr, 2, ech, ipv6hint);
	}
	return changed;
}

size_t dns_svcb_strip(uint8_t *msg, size_t len, size_t cap, bool ech, bool ipv6hint)
{
	struct dns_answer_info before, after;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0, out = len;

	if ((!ech && !ipv6hint) || dns_answer_inspect(msg, len, &before) < 0 ||
	    ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		goto done;
	if (!(strip_list(ldns_pkt_answer(pkt), ech, ipv6hint) |
	      strip_list(ldns_pkt_additional(pkt), ech, ipv6hint)))
		goto done;
	ldns_pkt_set_id(pkt, before.id);
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK || wlen > cap ||
	    dns_answer_inspect(wire, wlen, &after) < 0 || after.qdcount != before.qdcount ||
	    after.ancount != before.ancount || after.qtype != before.qtype ||
	    after.qname_len != before.qname_len ||
	    memcmp(wire + DNS_HDR_LEN, msg + DNS_HDR_LEN, before.qname_len) != 0)
		goto done;
	memcpy(msg, wire, wlen);
	out = wlen;
done:
	free(wire);
	ldns_pkt_free(pkt);
	return out;
}
