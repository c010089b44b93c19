#include "config.h"
/* fuzz_dns_answer.c - dns_answer_inspect on arbitrary bytes, checked
 * against ldns (dns_diff.c); on a valid message: TTL rewriting on a copy
 * (only TTL fields may change, to the promised values), then a query built
 * from the answer's question goes through dns_cache_put and dns_cache_get,
 * and the served answer must validate (by sluice and ldns), match the
 * query, and carry the serve-stale TTL. dns_answer_addrs (nftset) reads
 * every input within bounds and returns at most what it was given room for. */

#include <string.h>
#include <sys/socket.h>

#include "dns_cache.h"
#include "dns_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK DIFF_CHECK

static void check_rewrite(const uint8_t *data, size_t size, const struct dns_answer_info *ai)
{
	static uint8_t copy[65536];
	static uint8_t is_ttl[65536];

	memcpy(copy, data, size);
	memset(is_ttl, 0, size);
	for (size_t i = 0; i < ai->n_ttl; i++)
		memset(is_ttl + ai->ttl_off[i], 1, 4);
	CHECK(dns_rewrite_ttls(copy, size, ai->ttl_off, ai->n_ttl, (uint32_t)size, 1, 1000) == 0);
	for (size_t i = 0; i < size; i++)
		CHECK(is_ttl[i] || copy[i] == data[i]);
	dns_diff_rewrite(data, copy, size, ai->n_ttl, (uint32_t)size, 1, 1000);
}

/* A query (ID 0x7777, RD, EDNS 1232 when the answer had OPT) for the answer's question. */
static size_t make_query(const uint8_t *data, const struct dns_answer_info *ai, uint8_t *qb)
{
	static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	size_t qlen = (size_t)ai->qname_len + 4;

	memcpy(qb, "\x77\x77\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	memcpy(qb + 12, data + 12, qlen);
	if (!ai->has_opt)
		return 12 + qlen;
	qb[11] = 1;
	memcpy(qb + 12 + qlen, opt, sizeof(opt));
	return 12 + qlen + sizeof(opt);
}

static void round_trip(const uint8_t *data, size_t size, const struct dns_answer_info *ai)
{
	static uint8_t qb[600], out[65536];
	static struct dns_answer_info ai2;
	struct dns_cache_hit hit;
	struct dns_query q;
	struct dns_cache *c;
	size_t qn;
	int put, n;

	if (ai->qdcount < 1 || ai->qname_compressed)
		return;
	qn = make_query(data, ai, qb);
	if (dns_query_parse(qb, qn, &q) != 0)
		return;
	c = dns_cache_new(4, 1);
	if (!c)
		return;
	dns_cache_set_stale(c, 60);
	dns_cache_set_ttl(c, 0, UINT32_MAX);
	put = dns_cache_put(c, &q, data, size, ai, 1000);
	CHECK(put == 0 || !ai->cacheable || ai->qdcount != 1 || put == -E2BIG);
	n = dns_cache_get(c, &q, qb, out, sizeof(out), 1000 + (uint64_t)ai->min_ttl * 1000 + 5,
			  &hit);
	CHECK(put == 0 ? n > 0 : n == -ENOENT);
	if (n > 0) {
		CHECK(dns_answer_inspect(out, (size_t)n, &ai2) == 0);
		dns_diff_answer(out, (size_t)n, 0, &ai2);
		dns_diff_all_ttls(out, (size_t)n, DNS_CACHE_STALE_TTL);
		CHECK(ai2.id == 0x7777 && dns_answer_matches(out, (size_t)n, &ai2, &q));
		CHECK(hit.stale && ai2.rcode == ai->rcode);
		CHECK(hit.truncated || ai2.ancount == ai->ancount);
	}
	dns_cache_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_answer_info ai;
	int rc = dns_answer_inspect(data, size, &ai);
	struct dns_rr_addr addrs[4];
	int na = dns_answer_addrs(data, size, addrs, 4);

	CHECK(na == -EBADMSG || (na >= 0 && na <= 4));
	for (int i = 0; i < na; i++)
		CHECK(addrs[i].af == AF_INET || addrs[i].af == AF_INET6);
	dns_diff_answer(data, size, rc, &ai);
	if (rc != 0)
		return 0;
	CHECK(ai.end <= size && ai.n_ttl <= DNS_MAX_RRS);
	CHECK(!ai.cacheable || ai.min_ttl > 0);
	check_rewrite(data, size, &ai);
	round_trip(data, size, &ai);
	return 0;
}
