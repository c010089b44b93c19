#include "config.h"
/* test_dns_cache.c - dns_cache: store and serve (client ID, case, RD and
 * EDNS restored), TTL countdown and clamps, negative caching, expiry, LRU
 * order, key separation by DO/CD, serve-stale and prefetch flags,
 * truncation, refusals, and four threads hammering one cache (two of them
 * lock-free readers) while a fifth flushes names, clears and regrows it. Answers are
 * built with ldns and every served answer is parsed back with ldns. */

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns_cache.h"

#define T0 1000000 /* an arbitrary monotonic start, ms */

struct qbuf {
	uint8_t b[512];
	size_t n;
	struct dns_query q;
};

static void mkq(struct qbuf *qb, const char *name, uint16_t type, uint16_t id, uint16_t lflags,
		uint16_t udp, bool dobit)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	ldns_pkt *p = ldns_pkt_query_new(dn, (ldns_rr_type)type, LDNS_RR_CLASS_IN, lflags);
	uint8_t *w = NULL;

	assert_non_null(p);
	ldns_pkt_set_id(p, id);
	if (udp) {
		ldns_pkt_set_edns_udp_size(p, udp);
		ldns_pkt_set_edns_do(p, dobit);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, &qb->n), LDNS_STATUS_OK);
	memcpy(qb->b, w, qb->n);
	free(w);
	ldns_pkt_free(p);
	assert_int_equal(dns_query_parse(qb->b, qb->n, &qb->q), 0);
}

struct abuf {
	uint8_t b[8192];
	size_t n;
	struct dns_answer_info ai;
};

/* RR strings prefixed "a ", "n " or "r " for their section */
static void mkans(struct abuf *ab, const char *qname, uint16_t qtype, int rcode, uint16_t udp,
		  const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qr = NULL;
	uint8_t *w = NULL;
	char qs[300];

	snprintf(qs, sizeof(qs), "%s IN TYPE%u", qname, qtype);
	assert_int_equal(ldns_rr_new_question_frm_str(&qr, qs, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qr);
	ldns_pkt_set_id(p, 999);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_ad(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (; rrs && *rrs; rrs++) {
		ldns_rr *rr = NULL;
		ldns_pkt_section sec = (*rrs)[0] == 'a'	  ? LDNS_SECTION_ANSWER
				       : (*rrs)[0] == 'n' ? LDNS_SECTION_AUTHORITY
							  : LDNS_SECTION_ADDITIONAL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, *rrs + 2, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, sec, rr);
	}
	if (udp)
		ldns_pkt_set_edns_udp_size(p, udp);
	assert_int_equal(ldns_pkt2wire(&w, p, &ab->n), LDNS_STATUS_OK);
	assert_true(ab->n <= sizeof(ab->b));
	memcpy(ab->b, w, ab->n);
	free(w);
	ldns_pkt_free(p);
	assert_int_equal(dns_answer_inspect(ab->b, ab->n, &ab->ai), 0);
}

static const char *const rr_a[] = {"a www.example.com. 300 IN A 192.0.2.1",
				   "a www.example.com. 300 IN A 192.0.2.2", NULL};

static ldns_pkt *reparse(const uint8_t *b, int n)
{
	ldns_pkt *p = NULL;

	assert_true(n >= 12);
	assert_int_equal(ldns_wire2pkt(&p, b, (size_t)n), LDNS_STATUS_OK);
	return p;
}

static uint32_t answer_ttl(ldns_pkt *p, size_t i)
{
	return ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), i));
}

static struct dns_cache *store(const char *name, uint16_t type, const char *const *rrs,
			       uint64_t now)
{
	struct dns_cache *c = dns_cache_new(100, 4);
	struct qbuf qb;
	struct abuf ab;

	assert_non_null(c);
	mkq(&qb, name, type, 1, LDNS_RD, 0, false);
	mkans(&ab, name, type, 0, 1232, rrs);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, now), 0);
	return c;
}

/* ---- tests ---- */

static void t_put_get_restores_client(void **st)
{
	struct dns_cache *c = store("www.example.com.", DNS_TYPE_A, rr_a, T0);
	struct dns_cache_hit hit;
	struct dns_cache_stats s;
	struct qbuf qb;
	uint8_t out[1024];
	ldns_pkt *p;
	int n;

	(void)st;
	/* another client: other ID, 0x20 case, no RD, no EDNS */
	mkq(&qb, "wWw.ExAmPlE.cOm.", DNS_TYPE_A, 0x4242, 0, 0, false);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 1500, &hit);
	assert_true(n > 0);
	assert_memory_equal(out + 12, qb.b + 12, qb.q.lname_len + 4);
	p = reparse(out, n);
	assert_int_equal(ldns_pkt_id(p), 0x4242);
	assert_false(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ra(p));
	assert_false(ldns_pkt_ad(p));	/* client asked neither AD nor DO */
	assert_false(ldns_pkt_edns(p)); /* the stored OPT is not served to a non-EDNS client */
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_int_equal(answer_ttl(p, 0), 299);
	assert_int_equal(hit.ttl, 299);
	assert_int_equal(hit.age_s, 1);
	assert_int_equal(hit.orig_ttl, 300);
	assert_false(hit.stale || hit.prefetch || hit.refresh || hit.negative || hit.truncated);
	ldns_pkt_free(p);
	/* an EDNS client with RD gets RD and an OPT (ours: 1232, DO echoed) */
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 7, LDNS_RD | LDNS_AD, 4096, false);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 2000, &hit);
	p = reparse(out, n);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ad(p));
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_EDNS_UDP_SIZE);
	assert_int_equal(ldns_pkt_id(p), 7);
	ldns_pkt_free(p);
	/* miss: other name, other type */
	mkq(&qb, "ww.example.com.", DNS_TYPE_A, 1, 0, 0, false);
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit), -ENOENT);
	mkq(&qb, "www.example.com.", DNS_TYPE_AAAA, 1, 0, 0, false);
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit), -ENOENT);
	/* out too small */
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, 0, 0, false);
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, 40, T0, &hit), -ENOSPC);
	dns_cache_stats(c, &s);
	assert_int_equal(s.hits, 2);
	assert_int_equal(s.misses, 2);
	assert_int_equal(s.inserts, 1);
	assert_int_equal(s.entries, 1);
	assert_true(s.bytes > 0);
	dns_cache_free(c);
}

static void t_ttl_countdown(void **st)
{
	static const char *const rrs[] = {
	    "a a.example. 3600 IN CNAME b.example.", "a b.example. 100 IN A 192.0.2.9",
	    "n example. 7200 IN NS ns.example.", "r ns.example. 50 IN A 192.0.2.53", NULL};
	struct dns_cache *c = store("a.example.", DNS_TYPE_A, rrs, T0);
	struct dns_cache_hit hit;
	struct qbuf qb;
	uint8_t out[1024];
	ldns_pkt *p;
	int n;

	(void)st;
	mkq(&qb, "a.example.", DNS_TYPE_A, 1, LDNS_RD, 0, false);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 40999, &hit);
	p = reparse(out, n);
	/* entry lives 100 s; no RR is said to live longer than the entry */
	assert_int_equal(answer_ttl(p, 0), 60);
	assert_int_equal(answer_ttl(p, 1), 60);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 60);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_additional(p), 0)), 10);
	assert_int_equal(hit.ttl, 60);
	ldns_pkt_free(p);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 99999, &hit);
	assert_true(n > 0);
	assert_int_equal(hit.ttl, 1);
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 100000, &hit),
			 -ENOENT);
	dns_cache_free(c);
}

static void t_ttl_clamp(void **st)
{
	static const char *const short_rr[] = {"a s.example. 5 IN A 192.0.2.1", NULL};
	static const char *const long_rr[] = {"a l.example. 604800 IN A 192.0.2.2", NULL};
	struct dns_cache *c = dns_cache_new(100, 2);
	struct dns_cache_hit hit;
	struct qbuf qs, ql;
	struct abuf ab;
	uint8_t out[1024];
	ldns_pkt *p;
	int n;

	(void)st;
	dns_cache_set_ttl(c, 60, 3600);
	mkq(&qs, "s.example.", DNS_TYPE_A, 1, 0, 0, false);
	mkans(&ab, "s.example.", DNS_TYPE_A, 0, 0, short_rr);
	assert_int_equal(dns_cache_put(c, &qs.q, ab.b, ab.n, &ab.ai, T0), 0);
	mkq(&ql, "l.example.", DNS_TYPE_A, 1, 0, 0, false);
	mkans(&ab, "l.example.", DNS_TYPE_A, 0, 0, long_rr);
	assert_int_equal(dns_cache_put(c, &ql.q, ab.b, ab.n, &ab.ai, T0), 0);
	/* 5 s raised to 60 */
	n = dns_cache_get(c, &qs.q, qs.b, out, sizeof(out), T0 + 30000, &hit);
	p = reparse(out, n);
	assert_int_equal(answer_ttl(p, 0), 30);
	assert_int_equal(hit.orig_ttl, 5);
	ldns_pkt_free(p);
	assert_true(dns_cache_get(c, &qs.q, qs.b, out, sizeof(out), T0 + 59999, &hit) > 0);
	assert_int_equal(dns_cache_get(c, &qs.q, qs.b, out, sizeof(out), T0 + 60000, &hit),
			 -ENOENT);
	/* a week lowered to an hour */
	n = dns_cache_get(c, &ql.q, ql.b, out, sizeof(out), T0, &hit);
	p = reparse(out, n);
	assert_int_equal(answer_ttl(p, 0), 3600);
	ldns_pkt_free(p);
	assert_int_equal(dns_cache_get(c, &ql.q, ql.b, out, sizeof(out), T0 + 3600000, &hit),
			 -ENOENT);
	/* max below min is raised to min */
	dns_cache_set_ttl(c, 100, 10);
	mkans(&ab, "s.example.", DNS_TYPE_A, 0, 0, short_rr);
	assert_int_equal(dns_cache_put(c, &qs.q, ab.b, ab.n, &ab.ai, T0), 0);
	assert_true(dns_cache_get(c, &qs.q, qs.b, out, sizeof(out), T0 + 99000, &hit) > 0);
	assert_int_equal(hit.ttl, 1);
	dns_cache_free(c);
}

static void t_negative(void **st)
{
	static const char *const soa[] = {
	    "n example.com. 3600 IN SOA ns.example.com. h.example.com. 1 2 3 4 120", NULL};
	struct dns_cache *c = dns_cache_new(10, 1);
	struct dns_cache_hit hit;
	struct dns_cache_stats s;
	struct qbuf qb;
	struct abuf ab;
	uint8_t out[1024];
	ldns_pkt *p;
	int n;

	(void)st;
	mkq(&qb, "nope.example.com.", DNS_TYPE_A, 3, LDNS_RD, 0, false);
	mkans(&ab, "nope.example.com.", DNS_TYPE_A, DNS_RCODE_NXDOMAIN, 0, soa);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), 0);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 20000, &hit);
	p = reparse(out, n);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	/* SOA TTL 3600 is capped to what we cache: min(3600, MINIMUM 120) - 20 */
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 100);
	assert_true(hit.negative);
	assert_int_equal(hit.rcode, DNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	/* expires after MINIMUM, and is removed */
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 120000, &hit),
			 -ENOENT);
	dns_cache_stats(c, &s);
	assert_int_equal(s.expired, 1);
	assert_int_equal(s.entries, 0);
	/* NODATA */
	mkq(&qb, "v4.example.com.", DNS_TYPE_AAAA, 3, LDNS_RD, 0, false);
	mkans(&ab, "v4.example.com.", DNS_TYPE_AAAA, 0, 0, soa);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), 0);
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit) > 0);
	assert_true(hit.negative);
	assert_int_equal(hit.rcode, 0);
	dns_cache_free(c);
}

static void t_refuses(void **st)
{
	struct dns_cache *c = dns_cache_new(10, 1);
	struct dns_cache_stats s;
	struct qbuf qb;
	struct abuf ab;
	static const uint8_t ecs_opt[] = {0, 0, 41, 4, 0, 0, 0, 0,  0, 0,
					  8, 0, 8,  0, 4, 0, 1, 24, 0};

	(void)st;
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, 0, 0, false);
	mkans(&ab, "www.example.com.", DNS_TYPE_A, DNS_RCODE_SERVFAIL, 0, NULL);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), -EINVAL);
	/* answer to another question */
	mkans(&ab, "www.example.org.", DNS_TYPE_A, 0, 0, rr_a);
	assert_true(ab.ai.cacheable);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), -EINVAL);
	/* a query with ECS: the answer is for that subnet only */
	mkans(&ab, "www.example.com.", DNS_TYPE_A, 0, 0, rr_a);
	qb.b[11] = 1;
	memcpy(qb.b + qb.n, ecs_opt, sizeof(ecs_opt));
	assert_int_equal(dns_query_parse(qb.b, qb.n + sizeof(ecs_opt), &qb.q), 0);
	assert_true(qb.q.ecs);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), -EINVAL);
	dns_cache_stats(c, &s);
	assert_int_equal(s.uncacheable, 3);
	assert_int_equal(s.inserts, 0);
	assert_null(dns_cache_new(0, 1));
	assert_null(dns_cache_new(10, 3));
	dns_cache_free(c);
	dns_cache_free(NULL);
}

static void put_name(struct dns_cache *c, const char *name, uint64_t now)
{
	struct qbuf qb;
	struct abuf ab;
	char rrs[100];
	const char *list[2] = {rrs, NULL};

	snprintf(rrs, sizeof(rrs), "a %s 300 IN A 192.0.2.1", name);
	mkq(&qb, name, DNS_TYPE_A, 1, 0, 0, false);
	mkans(&ab, name, DNS_TYPE_A, 0, 0, list);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, now), 0);
}

static int get_name(struct dns_cache *c, const char *name, uint64_t now)
{
	struct dns_cache_hit hit;
	struct qbuf qb;
	uint8_t out[512];

	mkq(&qb, name, DNS_TYPE_A, 1, 0, 0, false);
	return dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), now, &hit);
}

static void t_lru(void **st)
{
	struct dns_cache *c = dns_cache_new(3, 1);
	struct dns_cache_stats s;

	(void)st;
	put_name(c, "a.example.", T0);
	put_name(c, "b.example.", T0);
	put_name(c, "c.example.", T0);
	assert_true(get_name(c, "a.example.", T0) > 0); /* a was hit: a second chance */
	put_name(c, "d.example.", T0);			/* evicts b, the oldest not hit */
	assert_int_equal(get_name(c, "b.example.", T0), -ENOENT);
	assert_true(get_name(c, "a.example.", T0) > 0);
	assert_true(get_name(c, "c.example.", T0) > 0);
	assert_true(get_name(c, "d.example.", T0) > 0);
	/* a, c and d were hit, and re-storing a counts as a use: e's insert
	 * spares each once and evicts the oldest, c */
	put_name(c, "a.example.", T0);
	put_name(c, "e.example.", T0);
	assert_int_equal(get_name(c, "c.example.", T0), -ENOENT);
	dns_cache_stats(c, &s);
	assert_int_equal(s.evictions, 2);
	assert_int_equal(s.entries, 3);
	/* the byte budget evicts too: one entry fits */
	dns_cache_set_max_bytes(c, 1);
	put_name(c, "f.example.", T0);
	dns_cache_stats(c, &s);
	assert_int_equal(s.entries, 1);
	assert_true(get_name(c, "f.example.", T0) > 0);
	dns_cache_clear(c);
	dns_cache_stats(c, &s);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(get_name(c, "f.example.", T0), -ENOENT);
	dns_cache_free(c);
}

/* A reload's cache-size: shrinking evicts the oldest not hit at once, growing
 * lets more in (buckets grow with it); flush by name drops every type. */
static void t_capacity_and_flush(void **st)
{
	struct dns_cache *c = dns_cache_new(8, 1);
	struct dns_cache_stats s;
	char name[32];

	(void)st;
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d.example.", i);
		put_name(c, name, T0);
	}
	dns_cache_set_capacity(c, 3);
	dns_cache_stats(c, &s);
	assert_int_equal(s.entries, 3);
	assert_int_equal(get_name(c, "n4.example.", T0), -ENOENT);
	assert_true(get_name(c, "n5.example.", T0) > 0);
	assert_true(get_name(c, "n7.example.", T0) > 0);
	dns_cache_set_capacity(c, 500);
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "m%d.example.", i);
		put_name(c, name, T0);
	}
	dns_cache_stats(c, &s);
	assert_int_equal(s.entries, 403);
	for (int i = 0; i < 400; i += 37) {
		snprintf(name, sizeof(name), "m%d.example.", i);
		assert_true(get_name(c, name, T0) > 0);
	}
	uint8_t lw[DNS_NAME_WIRE_MAX];
	size_t wl;

	assert_int_equal(dns_name_from_text("M7.Example", 10, lw, &wl), 0);
	assert_int_equal(dns_cache_flush_name(c, lw, wl), 1);
	assert_int_equal(get_name(c, "m7.example.", T0), -ENOENT);
	assert_true(get_name(c, "m8.example.", T0) > 0);
	assert_int_equal(dns_cache_flush_name(c, lw, wl), 0);
	dns_cache_free(c);
}

static void t_do_cd_keys(void **st)
{
	struct dns_cache *c = store("www.example.com.", DNS_TYPE_A, rr_a, T0);
	struct dns_cache_hit hit;
	struct qbuf qb;
	uint8_t out[1024];

	(void)st;
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, 0, 1232, false);
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit) > 0);
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, 0, 1232, true);
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit), -ENOENT);
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, LDNS_CD, 0, false);
	assert_int_equal(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit), -ENOENT);
	/* a DO answer stored under DO is served to DO clients only */
	{
		struct abuf ab;

		mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, 0, 1232, true);
		mkans(&ab, "www.example.com.", DNS_TYPE_A, 0, 1232, rr_a);
		assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), 0);
		assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit) > 0);
		assert_true(out[3] & 0x20); /* AD kept for a DO client */
	}
	dns_cache_free(c);
}

static void t_stale_and_prefetch(void **st)
{
	struct dns_cache *c = store("www.example.com.", DNS_TYPE_A, rr_a, T0);
	struct dns_cache_hit hit;
	struct dns_cache_stats s;
	struct qbuf qb;
	uint8_t out[1024];
	ldns_pkt *p;
	int n;

	(void)st;
	mkq(&qb, "www.example.com.", DNS_TYPE_A, 1, 0, 0, false);
	/* 20% left: nothing */
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 240000, &hit) > 0);
	assert_false(hit.prefetch || hit.refresh);
	/* 31 s of 300 left (10.3%): still nothing */
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 269000, &hit) > 0);
	assert_false(hit.prefetch || hit.refresh);
	/* under 10% left: prefetch, refresh once */
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 271000, &hit) > 0);
	assert_true(hit.prefetch && hit.refresh);
	assert_int_equal(hit.ttl, 29);
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 272000, &hit) > 0);
	assert_true(hit.prefetch);
	assert_false(hit.refresh);
	/* prefetch off */
	dns_cache_set_prefetch(c, false);
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 273000, &hit) > 0);
	assert_false(hit.prefetch || hit.refresh);
	/* serve-stale: an hour past expiry still answers, TTL 30, refresh again (30 s later) */
	dns_cache_set_stale(c, 86400);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 300000 + 3600000, &hit);
	p = reparse(out, n);
	assert_int_equal(answer_ttl(p, 0), DNS_CACHE_STALE_TTL);
	assert_int_equal(answer_ttl(p, 1), DNS_CACHE_STALE_TTL);
	ldns_pkt_free(p);
	assert_true(hit.stale && hit.refresh);
	assert_int_equal(hit.ttl, DNS_CACHE_STALE_TTL);
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 3910000, &hit) > 0);
	assert_true(hit.stale);
	assert_false(hit.refresh);
	assert_true(dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 3940000, &hit) > 0);
	assert_true(hit.refresh); /* the last refresh did not replace it: ask again */
	/* past the window: gone */
	assert_int_equal(
	    dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0 + 300000 + 86400000, &hit), -ENOENT);
	dns_cache_stats(c, &s);
	assert_int_equal(s.stale_hits, 3);
	assert_int_equal(s.expired, 1);
	/* a refresh (new put) makes it fresh again */
	dns_cache_free(c);
}

static void t_truncation(void **st)
{
	const char *rrs[41];
	char buf[40][80];
	struct dns_cache *c = dns_cache_new(10, 1);
	struct dns_cache_hit hit;
	struct qbuf qb;
	struct abuf ab;
	uint8_t out[4096];
	ldns_pkt *p;
	int n;

	(void)st;
	for (int i = 0; i < 40; i++) {
		snprintf(buf[i], sizeof(buf[i]), "a big.example. 300 IN AAAA 2001:db8::%x", i + 1);
		rrs[i] = buf[i];
	}
	rrs[40] = NULL;
	mkq(&qb, "big.example.", DNS_TYPE_AAAA, 1, 0, 4096, false);
	mkans(&ab, "big.example.", DNS_TYPE_AAAA, 0, 4096, rrs);
	assert_true(ab.n > 512);
	assert_int_equal(dns_cache_put(c, &qb.q, ab.b, ab.n, &ab.ai, T0), 0);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit);
	p = reparse(out, n);
	assert_int_equal(ldns_pkt_ancount(p), 40);
	assert_false(hit.truncated);
	ldns_pkt_free(p);
	/* same key (DO/CD equal), EDNS 512: TC */
	mkq(&qb, "big.example.", DNS_TYPE_AAAA, 2, 0, 512, false);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), T0, &hit);
	p = reparse(out, n);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_true(hit.truncated);
	ldns_pkt_free(p);
	dns_cache_free(c);
}

/* ---- threads ---- */

#define NTHREADS 4
#define NOPS 20000
#define NNAMES 200

struct worker_arg {
	struct dns_cache *c;
	struct qbuf *qs;
	struct abuf *as;
	unsigned seed;
	uint64_t gets, puts, hits;
	int rd; /* reader slot (lock-free gets), or -1 */
	_Atomic bool *done;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	uint8_t out[1024];

	for (int i = 0; i < NOPS; i++) {
		unsigned k;
		struct dns_cache_hit hit;

		a->seed = a->seed * 1103515245u + 12345u;
		k = (a->seed >> 8) % NNAMES;
		if ((a->seed >> 4) % 4 == 0) {
			if (dns_cache_put(a->c, &a->qs[k].q, a->as[k].b, a->as[k].n, &a->as[k].ai,
					  T0 + (uint64_t)i) == 0)
				a->puts++;
		} else {
			int n = dns_cache_get_rd(a->c, a->rd, &a->qs[k].q, a->qs[k].b, out,
						 sizeof(out), T0 + (uint64_t)i, &hit);

			a->gets++;
			if (n > 0) {
				a->hits++;
				/* the answer is the one for this name */
				if (memcmp(out + 12, a->qs[k].b + 12, a->qs[k].q.lname_len) != 0)
					return (void *)1;
			}
		}
	}
	return NULL;
}

/* Unlinks entries under the readers, in every way a writer can: flushes
 * names, clears, and grows the shards (new bucket tables), until the others end. */
static void *churner(void *p)
{
	struct worker_arg *a = p;

	for (unsigned i = 0; !atomic_load(a->done) && i < 1000000; i++) {
		const struct dns_query *q = &a->qs[i % NNAMES].q;

		dns_cache_flush_name(a->c, q->lname, q->lname_len);
		if (i % 64 == 0)
			dns_cache_clear(a->c);
		if (i % 512 == 256)
			dns_cache_set_capacity(a->c, 100u << (i / 512 % 6)); /* 100 .. 3200 */
	}
	return NULL;
}

static void t_threads(void **st)
{
	static struct qbuf qs[NNAMES];
	static struct abuf as[NNAMES];
	struct dns_cache *c = dns_cache_new(100, 4);
	struct worker_arg args[NTHREADS], ch;
	pthread_t th[NTHREADS], cth;
	_Atomic bool done = false;
	struct dns_cache_stats s;
	uint64_t gets = 0, puts = 0, hits = 0;

	(void)st;
	for (int i = 0; i < NNAMES; i++) {
		char name[64], rr[128];
		const char *list[2] = {rr, NULL};

		snprintf(name, sizeof(name), "host%d.example.", i);
		snprintf(rr, sizeof(rr), "a %s 300 IN A 192.0.2.%d", name, i % 250);
		mkq(&qs[i], name, DNS_TYPE_A, (uint16_t)i, LDNS_RD, 0, false);
		mkans(&as[i], name, DNS_TYPE_A, 0, 0, list);
	}
	for (int t = 0; t < NTHREADS; t++) {
		args[t] = (struct worker_arg){c,	qs, as, (unsigned)t * 7919u + 1, 0, 0, 0,
					      t % 2 ? dns_cache_reader(c) : -1, &done};
		assert_true(t % 2 == 0 || args[t].rd >= 0);
		assert_int_equal(pthread_create(&th[t], NULL, worker, &args[t]), 0);
	}
	ch = (struct worker_arg){.c = c, .qs = qs, .done = &done};
	assert_int_equal(pthread_create(&cth, NULL, churner, &ch), 0);
	for (int t = 0; t < NTHREADS; t++) {
		void *rv;

		assert_int_equal(pthread_join(th[t], &rv), 0);
		assert_null(rv);
		gets += args[t].gets;
		puts += args[t].puts;
		hits += args[t].hits;
		dns_cache_reader_put(c, args[t].rd);
	}
	atomic_store(&done, true);
	assert_int_equal(pthread_join(cth, NULL), 0);
	dns_cache_set_capacity(c, 100);
	dns_cache_stats(c, &s);
	assert_int_equal(s.hits + s.misses, gets);
	assert_int_equal(s.hits, hits);
	assert_int_equal(s.inserts, puts);
	assert_true(hits > 0 && s.evictions > 0);
	assert_true(s.entries <= 100);
	assert_int_equal(s.expired, 0);
	/* every slot given back: all 64 can be taken again */
	for (int i = 0; i < 64; i++)
		assert_int_equal(dns_cache_reader(c), i);
	assert_int_equal(dns_cache_reader(c), -1);
	dns_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_put_get_restores_client),
	    cmocka_unit_test(t_ttl_countdown),
	    cmocka_unit_test(t_ttl_clamp),
	    cmocka_unit_test(t_negative),
	    cmocka_unit_test(t_refuses),
	    cmocka_unit_test(t_lru),
	    cmocka_unit_test(t_capacity_and_flush),
	    cmocka_unit_test(t_do_cd_keys),
	    cmocka_unit_test(t_stale_and_prefetch),
	    cmocka_unit_test(t_truncation),
	    cmocka_unit_test(t_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
