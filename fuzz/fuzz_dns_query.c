#include "config.h"
/* fuzz_dns_query.c - dns_query_parse on arbitrary bytes, checked against
 * ldns (dns_diff.c), then every builder on the result, with ample and with
 * tight output buffers. Every answer built must be a valid message by
 * dns_answer_inspect (and, from the ample buffer, by ldns) and carry the
 * client's question. */

#include <string.h>

#include "dns_diff.h"
#include "dns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK DIFF_CHECK
#define OUT_MAX 65536 /* the ample output buffer */

static void check_answer(const struct dns_query *q, const uint8_t *ans, int len, size_t outlen)
{
	static struct dns_answer_info ai;
	int rc;

	if (len == -ENOSPC)
		return;
	CHECK(len >= DNS_HDR_LEN && (size_t)len <= outlen);
	rc = dns_answer_inspect(ans, (size_t)len, &ai);
	CHECK(rc == 0);
	if (outlen == OUT_MAX) /* not for every tight size: ldns is slow */
		dns_diff_answer(ans, (size_t)len, rc, &ai);
	CHECK(ai.id == q->id);
	CHECK((size_t)len <= dns_query_udp_limit(q) || !q->question_ok);
	if (q->question_ok)
		CHECK(dns_answer_matches(ans, (size_t)len, &ai, q));
}

static void build_all(const struct dns_query *q, const uint8_t *pkt, uint8_t *out, size_t outlen)
{
	static const int rcodes[] = {DNS_RCODE_FORMERR, DNS_RCODE_SERVFAIL, DNS_RCODE_NXDOMAIN,
				     DNS_RCODE_NOTIMP,	DNS_RCODE_REFUSED,  DNS_RCODE_BADVERS};
	static const struct in_addr v4[3] = {{0x0100000a}, {0x0200000a}, {0x0300000a}};
	static struct in6_addr v6[30];
	const struct dns_addr_list few = {v4, 3, v6, 2}, many = {v4, 3, v6, 30};

	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		check_answer(q, out, dns_build_error(q, pkt, rcodes[i], out, outlen), outlen);
	if (!q->question_ok)
		return;
	check_answer(q, out, dns_build_address(q, pkt, &few, 300, out, outlen), outlen);
	check_answer(q, out, dns_build_address(q, pkt, &many, 300, out, outlen), outlen);
	check_answer(q, out, dns_build_block_zero(q, pkt, 60, out, outlen), outlen);
	check_answer(q, out, dns_build_nxdomain(q, pkt, 60, out, outlen), outlen);
	check_answer(q, out, dns_build_truncated(q, pkt, 0, out, outlen), outlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t tight[] = {0, 1, 11, 12, 15, 16, 17, 27, 28, 43, 44, 59, 60, 500};
	static struct dns_query q;
	static uint8_t out[OUT_MAX];
	int rc = dns_query_parse(data, size, &q);

	dns_diff_query(data, size, rc, &q);
	if (rc == DNS_E_DROP)
		return 0;
	CHECK(rc == 0 || rc == DNS_E_FORMERR || rc == DNS_E_NOTIMP || rc == DNS_E_BADVERS);
	if (q.question_ok) {
		CHECK(q.lname_len >= 1 && q.lname_len <= DNS_NAME_WIRE_MAX);
		CHECK(q.name_len == strlen(q.name) && q.name_len < DNS_NAME_PRES_MAX);
		CHECK(q.question_end <= size && q.qname_off + q.qname_len + 4 == q.question_end);
	}
	build_all(&q, data, out, sizeof(out));
	/* tight buffers around the sizes of header, question, OPT and records */
	for (size_t i = 0; i < sizeof(tight) / sizeof(tight[0]); i++)
		build_all(&q, data, out, tight[i] + (size_t)q.lname_len);
	return 0;
}
