#include "config.h"
/* fuzz_dns_up.c - the upstream answer path (dns_up.c, dns_pend.c): a
 * client query chosen by the first bytes of the input, the rest an answer
 * to sluice's upstream query for it. The answer is inspected and its
 * question checked exactly and ignoring case (the two must agree with
 * dns_answer_matches, which the cache uses); one for the question asked
 * goes into a small cache, loses its OPT RR (on a copy, as dns_pend.c
 * does), and is served to the client with UDP limits 512 and 1232 and the
 * TCP limit 65535, both built directly and from the cache.
 *
 * Input: byte 0 flags (see CF_*), byte 1 the name (low 3 bits) and more
 * flags (CN_*), bytes 2-3 the 0x20 case pattern, then the answer. */

#include <string.h>

#include "dns_cache.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define CF_EDNS 0x01	 /* the client sends OPT */
#define CF_X20 0x02	 /* sluice uses 0x20 on the upstream query */
#define CF_DO 0x04	 /* the client's DO bit */
#define CF_ECS 0x08	 /* the client's OPT carries an ECS option */
#define CF_QTYPE 0x30	 /* A, AAAA, HTTPS, ANY */
#define CF_CD 0x40	 /* the client's CD bit */
#define CF_CHAOS 0x80	 /* class CH instead of IN */
#define CN_NAME 0x07	 /* which of names[] */
#define CN_NORD 0x08	 /* the client clears RD */
#define CN_UPNOEDNS 0x10 /* the upstream query goes without EDNS (after a FORMERR) */
#define CN_AD 0x20	 /* the client sets AD */
#define CN_BIG 0x40	 /* the client advertises 4096 instead of 1232 */

#define CLIENT_ID 0x4242
#define UP_ID 0xbeef
#define OPT_LEN 11
#define IN_LEN 4 /* bytes of the input before the answer */

/* The client's names, in its own case: labels between dots, any other bytes
 * allowed (names[4] has binary labels); "" is the root. */
static const char *const names[8] = {
    "example.com",
    "WwW.ExAmPlE.cOm",
    "",
    "a.B.c.example.org",
    "\x01\xff\\ \x7f.BiN",
    "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJk.net",
    "Co.uK",
    "_Dns._tCp.srv",
};

static const uint16_t qtypes[4] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_HTTPS, DNS_TYPE_ANY};
/* option code 8, length 7: family 1, source /24, scope 0, 192.0.2 */
static const uint8_t ecs_opt[11] = {0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2};

static uint8_t pkt[600], up[600], wire[65536], out[65536], out2[65536];
static struct dns_answer_info ai, a2, ri, bi;
static struct dns_query q, uq;

static size_t put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	return 2;
}

/* One of names[] in wire form at b; returns its length. */
static size_t put_name(uint8_t *b, const char *s)
{
	size_t n = 0;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		b[n++] = (uint8_t)l;
		memcpy(b + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	return n;
}

/* The client's query from the two flag bytes. */
static size_t client_query(uint8_t cf, uint8_t cn)
{
	uint16_t flags = (cn & CN_NORD ? 0 : DNS_F_RD) | (cf & CF_CD ? DNS_F_CD : 0) |
			 (cn & CN_AD ? DNS_F_AD : 0);
	size_t n = 0;
	bool ecs = cf & CF_ECS;

	n += put16(pkt + n, CLIENT_ID);
	n += put16(pkt + n, flags);
	n += put16(pkt + n, 1);
	n += put16(pkt + n, 0);
	n += put16(pkt + n, 0);
	n += put16(pkt + n, cf & CF_EDNS ? 1 : 0);
	n += put_name(pkt + n, names[cn & CN_NAME]);
	n += put16(pkt + n, qtypes[(cf & CF_QTYPE) >> 4]);
	n += put16(pkt + n, cf & CF_CHAOS ? 3 : DNS_CLASS_IN);
	if (!(cf & CF_EDNS))
		return n;
	pkt[n++] = 0;
	n += put16(pkt + n, DNS_TYPE_OPT);
	n += put16(pkt + n, cn & CN_BIG ? 4096 : DNS_EDNS_UDP_SIZE);
	n += put16(pkt + n, 0);
	n += put16(pkt + n, cf & CF_DO ? 0x8000 : 0);
	n += put16(pkt + n, ecs ? sizeof(ecs_opt) : 0);
	if (ecs) {
		memcpy(pkt + n, ecs_opt, sizeof(ecs_opt));
		n += sizeof(ecs_opt);
	}
	return n;
}

/* The upstream query for q, as dns_up_build makes it, must parse back. */
static void check_upstream(const uint8_t *qwire, bool edns)
{
	int n = dns_build_upstream(&q, pkt, UP_ID, qwire, edns, up, sizeof(up));

	CHECK(n > DNS_HDR_LEN);
	CHECK(dns_query_parse(up, (size_t)n, &uq) == 0);
	CHECK(uq.id == UP_ID && uq.edns == edns && uq.ecs == (edns && q.ecs));
	CHECK(uq.do_bit == (edns && q.do_bit));
	CHECK(uq.qtype == q.qtype && uq.qclass == q.qclass && uq.lname_len == q.lname_len);
	CHECK(memcmp(uq.lname, q.lname, q.lname_len) == 0);
	CHECK(memcmp(up + DNS_HDR_LEN, qwire, q.lname_len) == 0);
}

/* The answer without its OPT RR (wire[0..len), a2) is a message of its own. */
static void check_stripped(const uint8_t *ans, size_t len)
{
	CHECK(len <= ai.end && len == a2.end && !a2.has_opt);
	for (size_t i = 0; i < a2.n_ttl; i++)
		CHECK(a2.ttl_off[i] >= DNS_HDR_LEN && (size_t)a2.ttl_off[i] + 4 <= len);
	CHECK(memcmp(wire, ans, 10) == 0 && memcmp(wire + 12, ans + 12, len - 12) == 0);
	CHECK(dns_answer_inspect(wire, len, &ri) == 0);
	CHECK(!ri.has_opt && ri.end == len);
	CHECK(ri.ancount == ai.ancount && ri.nscount == ai.nscount && ri.arcount == a2.arcount);
	CHECK(ri.arcount <= ai.arcount - (ai.has_opt ? 1 : 0));
	CHECK(ri.n_ttl == a2.n_ttl && memcmp(ri.ttl_off, a2.ttl_off, ri.n_ttl * 2) == 0);
	if (!ai.has_opt)
		CHECK(len == ai.end && ri.arcount == ai.arcount);
	else if (ai.opt_last)
		CHECK(len == ai.opt_off && ri.arcount == ai.arcount - 1);
}

/* out[0..n) answers q within limit, built from src (src_len bytes, rcode). */
static void check_built(const uint8_t *o, int n, size_t limit, size_t src_len, int rcode)
{
	size_t whole = src_len + (q.edns ? OPT_LEN : 0);
	bool trunc = whole > limit;

	CHECK(n >= DNS_HDR_LEN && (size_t)n <= limit);
	CHECK(dns_answer_inspect(o, (size_t)n, &bi) == 0);
	CHECK(bi.id == CLIENT_ID && bi.qdcount == 1 && bi.end == (size_t)n);
	CHECK(bi.qtype == q.qtype && bi.qclass == q.qclass && bi.qname_len == q.lname_len);
	CHECK(memcmp(o + DNS_HDR_LEN, pkt + DNS_HDR_LEN, q.lname_len) == 0); /* the client's case */
	CHECK(bi.has_opt == q.edns && bi.tc == trunc);
	CHECK(bi.rcode == (rcode & 0xf) && bi.ext_rcode == (q.edns ? rcode >> 4 : 0));
	CHECK((bi.flags & DNS_F_RD) == (q.flags & DNS_F_RD));
	CHECK((q.flags & DNS_F_AD) || q.do_bit || !(bi.flags & DNS_F_AD));
	if (trunc)
		CHECK((size_t)n == DNS_HDR_LEN + q.lname_len + 4u + (q.edns ? OPT_LEN : 0));
	else
		CHECK((size_t)n == whole && bi.ancount == ri.ancount && bi.nscount == ri.nscount &&
		      bi.arcount == ri.arcount + (q.edns ? 1 : 0));
}

/* The cache serves the same bytes as the direct path, TTLs aside. */
static void check_same(const uint8_t *x, const uint8_t *y, size_t n, bool trunc)
{
	static uint8_t is_ttl[65536];

	memset(is_ttl, 0, n);
	for (size_t i = 0; !trunc && i < a2.n_ttl; i++)
		memset(is_ttl + a2.ttl_off[i], 1, 4);
	for (size_t i = 0; i < n; i++)
		CHECK(is_ttl[i] || x[i] == y[i]);
}

static void serve(struct dns_cache *c, bool cached, size_t slen)
{
	static const uint32_t limits[3] = {DNS_UDP_MIN, DNS_EDNS_UDP_SIZE, 65535};
	const int rcode = ai.rcode | ai.ext_rcode << 4;
	const struct dns_answer_src src = {wire, slen, a2.ttl_off, a2.n_ttl, rcode};
	struct dns_cache_hit hit;

	for (size_t i = 0; i < 3; i++) {
		int n, m;

		q.limit = limits[i];
		n = dns_build_answer(&src, &q, pkt, 0, 0, UINT32_MAX, out, sizeof(out));
		check_built(out, n, q.limit, slen, rcode);
		if (!cached)
			continue;
		m = dns_cache_get(c, &q, pkt, out2, sizeof(out2), 1000, &hit);
		check_built(out2, m, q.limit, slen, rcode);
		CHECK(m == n && hit.truncated == bi.tc && !hit.stale);
		check_same(out, out2, (size_t)n, bi.tc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t qwire[DNS_NAME_WIRE_MAX], rnd[DNS_NAME_WIRE_MAX / 8 + 1];
	const uint8_t *ans = data + IN_LEN;
	size_t alen, qlen, slen;
	bool x20, exact, nocase, cached;
	struct dns_cache *c;
	int put;

	if (size < IN_LEN)
		return 0;
	alen = size - IN_LEN;
	qlen = client_query(data[0], data[1]);
	CHECK(dns_query_parse(pkt, qlen, &q) == 0);
	x20 = data[0] & CF_X20;
	memcpy(qwire, q.lname, q.lname_len);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = data[2 + (i & 1)];
	if (x20)
		dns_name_0x20(qwire, q.lname_len, rnd);
	check_upstream(qwire, !(data[1] & CN_UPNOEDNS));

	if (dns_answer_inspect(ans, alen, &ai) != 0)
		return 0;
	CHECK(ai.end <= alen && ai.n_ttl <= DNS_MAX_RRS);
	exact = dns_answer_question_is(ans, alen, &ai, qwire, q.lname_len, q.qtype, q.qclass, true);
	nocase =
	    dns_answer_question_is(ans, alen, &ai, qwire, q.lname_len, q.qtype, q.qclass, false);
	CHECK(!exact || nocase);
	CHECK(nocase == dns_answer_matches(ans, alen, &ai, &q));
	if (!nocase) /* dns_up_judge would ignore it (with 0x20, exact is asked) */
		return 0;

	c = dns_cache_new(8, 1);
	if (!c)
		return 0;
	put = dns_cache_put(c, &q, ans, alen, &ai, 1000);
	if (ai.cacheable && !q.ecs)
		CHECK(put == 0 ||
		      (put == -E2BIG && (ai.has_opt ? ai.opt_off : ai.end) > DNS_CACHE_MAX_ANSWER));
	else
		CHECK(put == -EINVAL);
	cached = put == 0;

	memcpy(wire, ans, alen);
	a2 = ai;
	slen = dns_answer_strip_opt(wire, alen, &a2);
	check_stripped(ans, slen);
	serve(c, cached, slen);
	dns_cache_free(c);
	return 0;
}
