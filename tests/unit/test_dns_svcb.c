#include "config.h"
/* test_dns_svcb.c - dns_svcb_strip: ech and ipv6hint leave HTTPS and SVCB
 * records (answer and additional sections) and nothing else changes: the
 * other parameters, the other records, the header, EDNS; messages without
 * those keys, and ones it cannot rewrite, stay byte for byte. Answers are
 * built and read back with ldns. */
#include <ldns/ldns.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns_msg.h"
#include "dns_svcb.h"

/* An answer to an HTTPS query for svc.example with the given records. */
static size_t build(const char *const *answers, size_t n, const char *additional, bool edns,
		    uint8_t *out, size_t cap)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_non_null(p);
	ldns_pkt_set_id(p, 0x4242);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	assert_int_equal(ldns_rr_new_question_frm_str(&rr, "svc.example. IN HTTPS", NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, answers[i], 300, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	if (additional) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, additional, 300, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL, rr);
	}
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, true);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

/* The presentation form of every answer and additional record of msg. */
static char *text(const uint8_t *msg, size_t len)
{
	ldns_pkt *p = NULL;
	char *s;

	assert_int_equal(ldns_wire2pkt(&p, msg, len), LDNS_STATUS_OK);
	s = ldns_pkt2str(p);
	ldns_pkt_free(p);
	return s;
}

static void t_strip_ech(void **state)
{
	static const char *const rrs[] = {
	    "svc.example. 300 IN HTTPS 1 . alpn=h2,h3 ech=AQIDBAUG port=8443 "
	    "ipv6hint=2001:db8::1",
	    "svc.example. 300 IN HTTPS 2 alt.example. alpn=h2 ipv4hint=192.0.2.1",
	};
	uint8_t m[4096];
	size_t len = build(rrs, 2, "alt.example. 300 IN SVCB 1 . ech=AQIDBAUG", true, m,
			   sizeof(m));
	size_t n;
	char *s;

	(void)state;
	n = dns_svcb_strip(m, len, sizeof(m), true, false);
	assert_true(n < len);
	s = text(m, n);
	assert_null(strstr(s, "ech="));
	assert_non_null(strstr(s, "alpn=h2,h3"));
	assert_non_null(strstr(s, "port=8443"));
	assert_non_null(strstr(s, "ipv6hint=2001:db8::1"));
	assert_non_null(strstr(s, "ipv4hint=192.0.2.1"));
	assert_non_null(strstr(s, "id: 16962")); /* 0x4242 */
	assert_non_null(strstr(s, "udp: 1232"));
	free(s);
	/* and ipv6hint too */
	n = dns_svcb_strip(m, n, sizeof(m), false, true);
	s = text(m, n);
	assert_null(strstr(s, "ipv6hint"));
	assert_non_null(strstr(s, "port=8443"));
	free(s);
}

static void t_unchanged(void **state)
{
	static const char *const rrs[] = {"svc.example. 300 IN HTTPS 1 . alpn=h2 port=443"};
	uint8_t m[4096], copy[4096];
	size_t len = build(rrs, 1, NULL, false, m, sizeof(m));

	(void)state;
	memcpy(copy, m, len);
	assert_int_equal(dns_svcb_strip(m, len, sizeof(m), true, true), len);
	assert_memory_equal(m, copy, len);
	/* nothing asked */
	assert_int_equal(dns_svcb_strip(m, len, sizeof(m), false, false), len);
	/* not a DNS message */
	memset(m, 0xff, 40);
	assert_int_equal(dns_svcb_strip(m, 40, sizeof(m), true, true), 40);
	/* no room for the result: left as it was */
	len = build(rrs, 1, NULL, false, m, sizeof(m));
	assert_int_equal(dns_svcb_strip(m, len, 12, true, true), len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_strip_ech),
	    cmocka_unit_test(t_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
