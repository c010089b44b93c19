#include "config.h"
/* test_dns_cachefile.c - the cache file: entries written and read back
 * into a new cache (another monotonic clock) keep what is left of their
 * lifetime by the wall clock, TTLs lowered by the time between; the DO/CD
 * key bits survive; expired entries are dropped, or kept stale when
 * serve-stale is on; max-ttl of the new cache bounds them; a clock behind
 * the file counts as no time passed; a damaged, cut, foreign or
 * other-version file is refused whole; a record that checksums but does
 * not validate is refused alone; save/load through a path (atomic, 0600,
 * no .tmp left). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns_cache.h"
#include "dns_cachefile.h"
#include "sluice.h"

#define T0 5000000    /* monotonic clock of the writer, ms */
#define T1 2000	      /* of the reader (it booted since) */
#define W0 1700000000 /* wall clock at save */

struct qbuf {
	uint8_t b[512];
	size_t n;
	struct dns_query q;
};

static void mkq(struct qbuf *qb, const char *name, uint16_t type, uint16_t lflags, bool dobit)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	ldns_pkt *p = ldns_pkt_query_new(dn, (ldns_rr_type)type, LDNS_RR_CLASS_IN, lflags);
	uint8_t *w = NULL;

	assert_non_null(p);
	ldns_pkt_set_id(p, 77);
	if (dobit) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, true);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, &qb->n), LDNS_STATUS_OK);
	memcpy(qb->b, w, qb->n);
	free(w);
	ldns_pkt_free(p);
	assert_int_equal(dns_query_parse(qb->b, qb->n, &qb->q), 0);
}

/* Store an answer of rr strings ("a ..." answer, "n ..." authority) for q. */
static void put(struct dns_cache *c, const struct qbuf *qb, const char *qname, uint16_t qtype,
		int rcode, const char *const *rrs, uint64_t now)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qr = NULL;
	uint8_t *w = NULL;
	size_t n;
	char qs[300];
	struct dns_answer_info ai;

	snprintf(qs, sizeof(qs), "%s IN TYPE%u", qname, qtype);
	assert_int_equal(ldns_rr_new_question_frm_str(&qr, qs, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qr);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (; *rrs; rrs++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, *rrs + 2, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, (*rrs)[0] == 'a' ? LDNS_SECTION_ANSWER : LDNS_SECTION_AUTHORITY,
				 rr);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	assert_int_equal(dns_answer_inspect(w, n, &ai), 0);
	assert_int_equal(dns_cache_put(c, &qb->q, w, n, &ai, now), 0);
	free(w);
	ldns_pkt_free(p);
}

/* Look name/type up; the first TTL (answer, else authority), or -1 on a miss. */
static long ttl_of(struct dns_cache *c, const char *name, uint16_t type, uint16_t lflags,
		   bool dobit, uint64_t now)
{
	struct qbuf qb;
	uint8_t out[2048];
	ldns_pkt *p = NULL;
	const ldns_rr_list *l;
	long ttl;
	int n;

	mkq(&qb, name, type, lflags, dobit);
	n = dns_cache_get(c, &qb.q, qb.b, out, sizeof(out), now, NULL);
	if (n == -ENOENT)
		return -1;
	assert_true(n > 12);
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)n), LDNS_STATUS_OK);
	l = ldns_pkt_ancount(p) ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
	ttl = (long)ldns_rr_ttl(ldns_rr_list_rr(l, 0));
	ldns_pkt_free(p);
	return ttl;
}

static const char *const rr_a[] = {"a a.example. 300 IN A 192.0.2.1", NULL};
static const char *const rr_short[] = {"a short.example. 5 IN A 192.0.2.5", NULL};
static const char *const rr_nx[] = {
    "n example. 900 IN SOA ns.example. host.example. 1 3600 600 86400 600", NULL};
static const char *const rr_do[] = {"a a.example. 100 IN A 192.0.2.3", NULL};

/* A cache of four entries stored at T0, written at T0 + 20 s (wall W0). */
static void make_file(uint8_t **buf, size_t *len)
{
	struct dns_cache *c = dns_cache_new(100, 4);
	struct dns_cachefile_stats st = {0};
	struct qbuf qb;
	size_t saved = 0;
	FILE *f;

	assert_non_null(c);
	mkq(&qb, "a.example.", DNS_TYPE_A, LDNS_RD, false);
	put(c, &qb, "a.example.", DNS_TYPE_A, 0, rr_a, T0);
	mkq(&qb, "a.example.", DNS_TYPE_A, LDNS_RD, true);
	put(c, &qb, "a.example.", DNS_TYPE_A, 0, rr_do, T0);
	mkq(&qb, "short.example.", DNS_TYPE_A, LDNS_RD, false);
	put(c, &qb, "short.example.", DNS_TYPE_A, 0, rr_short, T0 + 17000);
	mkq(&qb, "nx.example.", DNS_TYPE_A, LDNS_RD, false);
	put(c, &qb, "nx.example.", DNS_TYPE_A, 3, rr_nx, T0);
	f = open_memstream((char **)buf, len);
	assert_non_null(f);
	assert_int_equal(dns_cachefile_write(c, f, W0, T0 + 20000, &saved, &st), 0);
	fclose(f);
	assert_int_equal(saved, 4);
	assert_int_equal(st.skipped, 0);
	dns_cache_free(c);
}

static void t_roundtrip(void **st_)
{
	struct dns_cache *c = dns_cache_new(100, 4);
	struct dns_cachefile_stats st;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)st_;
	make_file(&buf, &len);
	/* read 10 s (wall) later into a cache whose clock started again */
	assert_int_equal(dns_cachefile_parse(c, buf, len, W0 + 10, T1, &st), 0);
	assert_int_equal(st.restored, 3);
	assert_int_equal(st.expired, 1); /* short: 5 s, saved with 2 left */
	assert_int_equal(st.refused, 0);
	/* 300 - 20 (before the save) - 10 (after) */
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, false, T1), 270);
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, false, T1 + 5000), 265);
	/* the DO entry is its own (100 - 30), CD was never stored */
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, true, T1), 70);
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD | LDNS_CD, false, T1), -1);
	/* negative: min(900, 600) - 30 */
	assert_int_equal(ttl_of(c, "nx.example.", DNS_TYPE_A, LDNS_RD, false, T1), 570);
	assert_int_equal(ttl_of(c, "short.example.", DNS_TYPE_A, LDNS_RD, false, T1), -1);
	/* the restored entry expires when its lifetime runs out, not later */
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, true, T1 + 70000), -1);
	dns_cache_free(c);
	free(buf);
}

static void t_clocks_and_limits(void **st_)
{
	struct dns_cache *c = dns_cache_new(100, 4);
	struct dns_cachefile_stats st;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)st_;
	make_file(&buf, &len);
	/* a wall clock behind the file's (no RTC, no NTP yet): no time passed */
	assert_int_equal(dns_cachefile_parse(c, buf, len, 1000, T1, &st), 0);
	assert_int_equal(st.restored, 4);
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, false, T1), 280);
	assert_int_equal(ttl_of(c, "short.example.", DNS_TYPE_A, LDNS_RD, false, T1), 2);
	dns_cache_free(c);
	/* max-ttl of the new cache bounds a restored entry */
	c = dns_cache_new(100, 4);
	dns_cache_set_ttl(c, 0, 60);
	assert_int_equal(dns_cachefile_parse(c, buf, len, W0, T1, &st), 0);
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, false, T1), 60);
	assert_int_equal(ttl_of(c, "a.example.", DNS_TYPE_A, LDNS_RD, false, T1 + 61000), -1);
	dns_cache_free(c);
	/* serve-stale keeps an expired entry and serves it with TTL 30 */
	c = dns_cache_new(100, 4);
	dns_cache_set_stale(c, 86400);
	assert_int_equal(dns_cachefile_parse(c, buf, len, W0 + 3600, T1, &st), 0);
	assert_int_equal(st.restored, 4);
	assert_int_equal(ttl_of(c, "short.example.", DNS_TYPE_A, LDNS_RD, false, T1),
			 DNS_CACHE_STALE_TTL);
	dns_cache_free(c);
	/* and drops it past the window */
	c = dns_cache_new(100, 4);
	dns_cache_set_stale(c, 60);
	assert_int_equal(dns_cachefile_parse(c, buf, len, W0 + 3600, T1, &st), 0);
	assert_int_equal(st.restored, 0);
	assert_int_equal(st.expired, 4);
	dns_cache_free(c);
	free(buf);
}

/* Recompute the checksum after an edit, so only the contents are judged. */
static void reseal(uint8_t *buf, size_t len)
{
	crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
}

static void t_damage(void **st_)
{
	struct dns_cache *c = dns_cache_new(100, 4);
	struct dns_cachefile_stats st;
	struct dns_cache_stats stats;
	uint8_t *buf = NULL, *copy;
	size_t len = 0;

	(void)st_;
	make_file(&buf, &len);
	copy = malloc(len);
	assert_non_null(copy);
	/* every single flipped byte is caught by the checksum */
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, buf, len);
		copy[i] ^= 0x40;
		assert_int_equal(dns_cachefile_parse(c, copy, len, W0, T1, &st), -EBADMSG);
	}
	/* cut short, empty, foreign */
	assert_int_equal(dns_cachefile_parse(c, buf, len - 1, W0, T1, &st), -EBADMSG);
	assert_int_equal(dns_cachefile_parse(c, buf, 0, W0, T1, &st), -EBADMSG);
	memset(copy, 'x', len);
	assert_int_equal(dns_cachefile_parse(c, copy, len, W0, T1, &st), -EBADMSG);
	/* another version, checksum right */
	memcpy(copy, buf, len);
	copy[11] = 2;
	reseal(copy, len);
	assert_int_equal(dns_cachefile_parse(c, copy, len, W0, T1, &st), -EBADMSG);
	/* a record length that runs past the end */
	memcpy(copy, buf, len);
	copy[32] = 0x7f;
	reseal(copy, len);
	assert_int_equal(dns_cachefile_parse(c, copy, len, W0, T1, &st), -EBADMSG);
	dns_cache_stats(c, &stats);
	assert_int_equal(stats.entries, 0);
	/* one answer made invalid (QR cleared) but sealed: refused alone */
	memcpy(copy, buf, len);
	copy[32 + 16 + 2] &= 0x7f;
	reseal(copy, len);
	assert_int_equal(dns_cachefile_parse(c, copy, len, W0, T1, &st), 0);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.restored, 3);
	/* key flags other than DO and CD, an expiry far from the save time */
	memcpy(copy, buf, len);
	copy[32 + 2] = 0x80;
	copy[32 + 8] = 0x7f;
	reseal(copy, len);
	assert_int_equal(dns_cachefile_parse(c, copy, len, W0, T1, &st), 0);
	assert_int_equal(st.refused, 1);
	dns_cache_free(c);
	free(copy);
	free(buf);
}

static void t_save_load_path(void **st_)
{
	char dir[] = "/tmp/sluice-cachefile.XXXXXX", path[128], tmp[140];
	struct dns_cache *c = dns_cache_new(100, 4), *d = dns_cache_new(100, 4);
	struct dns_cachefile_stats st;
	struct qbuf qb;
	struct stat sb;
	size_t saved = 0;

	(void)st_;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cache", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(dns_cachefile_load(d, path, &st), -ENOENT);
	mkq(&qb, "a.example.", DNS_TYPE_A, LDNS_RD, false);
	put(c, &qb, "a.example.", DNS_TYPE_A, 0, rr_a, sl_now_ms());
	assert_int_equal(dns_cachefile_save(c, path, &saved, NULL), 0);
	assert_int_equal(saved, 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_not_equal(stat(tmp, &sb), 0);
	assert_int_equal(dns_cachefile_load(d, path, &st), 0);
	assert_int_equal(st.restored, 1);
	assert_true(ttl_of(d, "a.example.", DNS_TYPE_A, LDNS_RD, false, sl_now_ms()) >= 298);
	/* a directory is not a cache file; a missing directory cannot be written */
	assert_int_equal(dns_cachefile_load(d, dir, &st), -EINVAL);
	assert_true(dns_cachefile_save(c, "/nonexistent/dir/cache", NULL, NULL) < 0);
	unlink(path);
	rmdir(dir);
	dns_cache_free(c);
	dns_cache_free(d);
}

/* dns_cache_restore on its own: what it refuses. */
static void t_restore_refuses(void **st_)
{
	struct dns_cache *c = dns_cache_new(10, 1);
	static const uint8_t query[] = {0, 1, 0x01, 0,	 0, 1, 0, 0, 0, 0,
					0, 0, 1,    'a', 0, 0, 1, 0, 1};
	struct dns_cache_rec r = {query, sizeof(query), 0, 10000, 60, 0};

	(void)st_;
	assert_int_equal(dns_cache_restore(c, &r, T1), -EINVAL); /* QR clear */
	r.wire = NULL;
	assert_int_equal(dns_cache_restore(c, &r, T1), -EINVAL);
	dns_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_roundtrip),	 cmocka_unit_test(t_clocks_and_limits),
	    cmocka_unit_test(t_damage),		 cmocka_unit_test(t_save_load_path),
	    cmocka_unit_test(t_restore_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
