#include "config.h"
/* test_dns_zone.c - local zones: loading tests/data/zone/lan.zone (names,
 * empty non-terminals), and refusing bad files with the right FILE:LINE;
 * answers (parsed back with ldns): exact name and type with the client's
 * case, AA, TTLs; NODATA and NXDOMAIN with the SOA (negative TTL); empty
 * non-terminals; CNAME chains (in the zone, out of it, dangling, looping);
 * ANY; wildcards (RFC 4592); truncation at the client's limit; EDNS; the
 * longest apex among several zones. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns_zone.h"

struct qbuf {
	uint8_t b[512];
	size_t n;
	struct dns_query q;
};

static struct dns_zone *lan;

static void mkq(struct qbuf *qb, const char *name, uint16_t type, uint16_t udp, bool dobit)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	ldns_pkt *p = ldns_pkt_query_new(dn, (ldns_rr_type)type, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *w = NULL;

	assert_non_null(p);
	ldns_pkt_set_id(p, 0x1234);
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

/* Ask z for name/type (no EDNS); the answer parsed back. */
static ldns_pkt *ask_z(const struct dns_zone *z, const char *name, uint16_t type, uint16_t udp)
{
	static uint8_t out[65536];
	struct qbuf qb;
	ldns_pkt *p = NULL;
	int n;

	mkq(&qb, name, type, udp, false);
	n = dns_zone_answer(z, &qb.q, qb.b, out, sizeof(out));
	assert_true(n >= 12);
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_true(ldns_pkt_qr(p) && ldns_pkt_aa(p) && ldns_pkt_rd(p));
	/* the question comes back as the client wrote it */
	assert_memory_equal(out + 12, qb.b + 12, qb.q.lname_len + 4);
	return p;
}

static ldns_pkt *ask(const char *name, uint16_t type)
{
	return ask_z(lan, name, type, 0);
}

/* The answer section as "owner TYPE rdata" lines joined by '|'. */
static void section(const ldns_rr_list *l, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		char *owner = ldns_rdf2str(ldns_rr_owner(rr));
		char *type = ldns_rr_type2str(ldns_rr_get_type(rr));
		char rd[512] = "";

		for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
			char *f = ldns_rdf2str(ldns_rr_rdf(rr, k));

			snprintf(rd + strlen(rd), sizeof(rd) - strlen(rd), "%s%s", k ? " " : "", f);
			free(f);
		}
		o +=
		    (size_t)snprintf(out + o, len - o, "%s%s %s %s", i ? "|" : "", owner, type, rd);
		free(owner);
		free(type);
	}
}

static void expect(ldns_pkt *p, ldns_pkt_rcode rcode, const char *answer, bool soa)
{
	char got[4096];
	const ldns_rr_list *ns = ldns_pkt_authority(p);

	assert_int_equal(ldns_pkt_get_rcode(p), rcode);
	section(ldns_pkt_answer(p), got, sizeof(got));
	assert_string_equal(got, answer);
	if (soa) {
		assert_int_equal(ldns_rr_list_rr_count(ns), 1);
		section(ns, got, sizeof(got));
		assert_string_equal(
		    got, "lan. SOA ns.lan. hostmaster.lan. 2024010101 3600 600 86400 120");
		/* RFC 2308: min(SOA TTL 300, MINIMUM 120) */
		assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ns, 0)), 120);
	} else {
		assert_int_equal(ldns_pkt_nscount(p), 0);
	}
	ldns_pkt_free(p);
}

static FILE *open_data(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
	return fopen(path, "r");
}

static int setup(void **st)
{
	struct dns_zone_err err;
	FILE *f = open_data("tests/data/zone/lan.zone");

	(void)st;
	if (!f)
		return -1;
	lan = dns_zone_load_fp(f, &err);
	fclose(f);
	if (!lan)
		fprintf(stderr, "lan.zone:%u: %s\n", err.line, err.msg);
	return lan ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	dns_zone_free(lan);
	return 0;
}

/* ---- tests ---- */

static void t_loaded(void **st)
{
	char apex[DNS_NAME_PRES_MAX];

	(void)st;
	dns_zone_apex_text(lan, apex);
	assert_string_equal(apex, "lan");
	assert_int_equal(dns_zone_records(lan), 25);
	/* owners (14) and the empty non-terminals c.lan, b.c.lan, _tcp.lan, wild.lan */
	assert_int_equal(dns_zone_names(lan), 18);
}

static void t_exact(void **st)
{
	ldns_pkt *p;

	(void)st;
	p = ask("PrInTeR.lan.", DNS_TYPE_A);
	/* the owner points at the question: the client's case */
	expect(p, LDNS_RCODE_NOERROR, "PrInTeR.lan. A 192.0.2.10", false);
	p = ask("printer.lan.", DNS_TYPE_AAAA);
	expect(p, LDNS_RCODE_NOERROR, "printer.lan. AAAA 2001:db8::10", false);
	p = ask("printer.lan.", DNS_TYPE_TXT);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 600);
	expect(p, LDNS_RCODE_NOERROR, "printer.lan. TXT \"model=lab\" \"floor=2\"", false);
	p = ask("lan.", DNS_TYPE_MX);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 300);
	expect(p, LDNS_RCODE_NOERROR, "lan. MX 10 mail.lan.", false);
	p = ask("_ipp._tcp.lan.", 33);
	expect(p, LDNS_RCODE_NOERROR, "_ipp._tcp.lan. SRV 0 5 631 printer.lan.", false);
	p = ask("lan.", DNS_TYPE_SOA);
	expect(p, LDNS_RCODE_NOERROR,
	       "lan. SOA ns.lan. hostmaster.lan. 2024010101 3600 600 86400 120", false);
	p = ask("printer.lan.", DNS_TYPE_ANY);
	expect(p, LDNS_RCODE_NOERROR,
	       "printer.lan. A 192.0.2.10|printer.lan. TXT \"model=lab\" \"floor=2\"|"
	       "printer.lan. AAAA 2001:db8::10",
	       false);
}

static void t_negative(void **st)
{
	(void)st;
	expect(ask("printer.lan.", DNS_TYPE_MX), LDNS_RCODE_NOERROR, "", true);
	expect(ask("nothere.lan.", DNS_TYPE_A), LDNS_RCODE_NXDOMAIN, "", true);
	expect(ask("x.printer.lan.", DNS_TYPE_A), LDNS_RCODE_NXDOMAIN, "", true);
	/* empty non-terminals exist: NODATA, and below them NXDOMAIN */
	expect(ask("c.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR, "", true);
	expect(ask("b.c.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR, "", true);
	expect(ask("_tcp.lan.", 33), LDNS_RCODE_NOERROR, "", true);
	expect(ask("x.b.c.lan.", DNS_TYPE_A), LDNS_RCODE_NXDOMAIN, "", true);
	expect(ask("a.b.c.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR, "a.b.c.lan. A 192.0.2.99", false);
}

static void t_cname(void **st)
{
	(void)st;
	expect(ask("www.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR,
	       "www.lan. CNAME printer.lan.|printer.lan. A 192.0.2.10", false);
	expect(
	    ask("alias.lan.", DNS_TYPE_AAAA), LDNS_RCODE_NOERROR,
	    "alias.lan. CNAME www.lan.|www.lan. CNAME printer.lan.|printer.lan. AAAA 2001:db8::10",
	    false);
	/* the CNAME itself, and ANY, stop at the name */
	expect(ask("alias.lan.", DNS_TYPE_CNAME), LDNS_RCODE_NOERROR, "alias.lan. CNAME www.lan.",
	       false);
	expect(ask("alias.lan.", DNS_TYPE_ANY), LDNS_RCODE_NOERROR, "alias.lan. CNAME www.lan.",
	       false);
	/* the target without the type: NODATA; without the name: NXDOMAIN (RFC 6604) */
	expect(ask("www.lan.", DNS_TYPE_MX), LDNS_RCODE_NOERROR, "www.lan. CNAME printer.lan.",
	       true);
	expect(ask("missing.lan.", DNS_TYPE_A), LDNS_RCODE_NXDOMAIN, "missing.lan. CNAME gone.lan.",
	       true);
	/* out of the zone: the CNAME alone */
	expect(ask("outside.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR,
	       "outside.lan. CNAME example.org.", false);
	/* a loop ends when it comes back round */
	expect(ask("loop1.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR,
	       "loop1.lan. CNAME loop2.lan.|loop2.lan. CNAME loop1.lan.", false);
}

static void t_wildcard(void **st)
{
	(void)st;
	expect(ask("Host.wild.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR, "Host.wild.lan. A 192.0.2.77",
	       false);
	expect(ask("a.b.wild.lan.", DNS_TYPE_TXT), LDNS_RCODE_NOERROR,
	       "a.b.wild.lan. TXT \"wildcard\"", false);
	expect(ask("host.wild.lan.", DNS_TYPE_AAAA), LDNS_RCODE_NOERROR, "", true);
	/* wild.lan itself is an empty non-terminal, not matched by its own child */
	expect(ask("wild.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR, "", true);
	expect(ask("*.wild.lan.", DNS_TYPE_A), LDNS_RCODE_NOERROR, "*.wild.lan. A 192.0.2.77",
	       false);
	/* no wildcard at the closest encloser (lan.): NXDOMAIN */
	expect(ask("host.lan.", DNS_TYPE_A), LDNS_RCODE_NXDOMAIN, "", true);
}

static void t_truncation(void **st)
{
	static uint8_t out[65536];
	struct qbuf qb;
	ldns_pkt *p;
	int n;

	(void)st;
	/* six 101-byte TXT records: over 512, under 1232 */
	mkq(&qb, "big.lan.", DNS_TYPE_TXT, 0, false);
	n = dns_zone_answer(lan, &qb.q, qb.b, out, sizeof(out));
	assert_int_equal(n, 12 + qb.q.lname_len + 4);
	assert_true(out[2] & 0x02); /* TC */
	assert_true(out[2] & 0x04); /* AA */
	p = ask_z(lan, "big.lan.", DNS_TYPE_TXT, 1232);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 6);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* TCP: the limit is raised to 65535 */
	qb.q.limit = 65535;
	n = dns_zone_answer(lan, &qb.q, qb.b, out, sizeof(out));
	assert_true(n > 512);
	assert_false(out[2] & 0x02);
	/* a buffer too small for even the question */
	assert_int_equal(dns_zone_answer(lan, &qb.q, qb.b, out, 20), -ENOSPC);
}

static void t_edns(void **st)
{
	static uint8_t out[4096];
	struct qbuf qb;
	ldns_pkt *p = NULL;
	int n;

	(void)st;
	mkq(&qb, "printer.lan.", DNS_TYPE_A, 4096, true);
	n = dns_zone_answer(lan, &qb.q, qb.b, out, sizeof(out));
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)n), LDNS_STATUS_OK);
	assert_true(ldns_pkt_edns(p));
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_EDNS_UDP_SIZE);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
}

static struct dns_zone *zone_from(const char *text, struct dns_zone_err *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct dns_zone *z;

	assert_non_null(f);
	z = dns_zone_load_fp(f, err);
	fclose(f);
	return z;
}

static void t_find(void **st)
{
	struct dns_zone_err err;
	struct dns_zone *sub =
	    zone_from("$ORIGIN sub.lan.\n@ SOA ns hm 1 2 3 4 5\nx A 192.0.2.1\n", &err);
	struct dns_zone *zones[2] = {lan, sub};
	struct qbuf qb;

	(void)st;
	assert_non_null(sub);
	mkq(&qb, "x.sub.lan.", DNS_TYPE_A, 0, false);
	assert_ptr_equal(dns_zone_find(zones, 2, &qb.q), sub);
	assert_ptr_equal(dns_zone_find(zones, 1, &qb.q), lan);
	mkq(&qb, "LAN.", DNS_TYPE_A, 0, false);
	assert_ptr_equal(dns_zone_find(zones, 2, &qb.q), lan);
	mkq(&qb, "sublan.", DNS_TYPE_A, 0, false);
	assert_null(dns_zone_find(zones, 2, &qb.q));
	mkq(&qb, "printer.xlan.", DNS_TYPE_A, 0, false);
	assert_null(dns_zone_find(zones, 2, &qb.q));
	dns_zone_free(sub);
}

/* Other classes: still the zone's name (never forwarded), REFUSED; ANY answers. */
static void t_classes(void **st)
{
	static uint8_t out[4096];
	struct dns_zone *zones[1] = {lan};
	struct qbuf qb;
	ldns_pkt *p = NULL;
	int n;

	(void)st;
	mkq(&qb, "printer.lan.", DNS_TYPE_A, 0, false);
	qb.b[qb.n - 1] = 3; /* CH */
	assert_int_equal(dns_query_parse(qb.b, qb.n, &qb.q), 0);
	assert_ptr_equal(dns_zone_find(zones, 1, &qb.q), lan);
	n = dns_zone_answer(lan, &qb.q, qb.b, out, sizeof(out));
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	qb.b[qb.n - 1] = 255; /* ANY */
	assert_int_equal(dns_query_parse(qb.b, qb.n, &qb.q), 0);
	n = dns_zone_answer(lan, &qb.q, qb.b, out, sizeof(out));
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_class(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
			 LDNS_RR_CLASS_IN);
	ldns_pkt_free(p);
}

static void t_duplicates(void **st)
{
	struct dns_zone_err err;
	struct dns_zone *z = zone_from("$ORIGIN d.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n"
				       "a A 192.0.2.1\nA.d. A 192.0.2.1\na A 192.0.2.2\n",
				       &err);
	ldns_pkt *p;

	(void)st;
	assert_non_null(z);
	assert_int_equal(dns_zone_records(z), 3);
	p = ask_z(z, "a.d.", DNS_TYPE_A, 0);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	ldns_pkt_free(p);
	dns_zone_free(z);
}

static void t_bad_files(void **st)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} bad[] = {
	    {"$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\n\nfoo A 192.0.2.1\n\n\nbar A 1.2.3\n\n\nbaz A "
	     "1.2.3.4\n",
	     7, "could not parse the RR's rdata"},
	    {"$ORIGIN lan.\n@ SOA ns hm ( 1 2 3 4\n 5 )\nfoo A ( 192.0.2\n )\n\nbaz A 1.2.3.4\n", 4,
	     "could not parse the RR's rdata"},
	    {"$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\nfoo A 192.0.2.1\nbar.example. A 1.2.3.4\n", 4,
	     "bar.example. is outside the zone lan."},
	    {"$ORIGIN lan.\nfoo A 192.0.2.1\n", 0, "no SOA record"},
	    {"\n", 0, "no SOA record"},
	    {"$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\nfoo A 192.0.2.1\n\n; c\nfoo CNAME bar\n", 6,
	     "foo.lan. has a CNAME and other data"},
	    {"$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\nfoo CNAME x ; \"(\nfoo CNAME y\n", 3,
	     "foo.lan. has more than one CNAME"},
	    {"$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\nfoo CH TXT \"x\"\n", 3, "another class"},
	    {"$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\n$INCLUDE other.zone\n", 3, "$INCLUDE"},
	    /* three SOAs made ldns read freed memory (fuzz_zone) */
	    {"$ORIGIN lan.\n@ 60 SOA ns hm 1 2 3 4 5\nfoo A 192.0.2.1\n@ 60 SOA ns hm 1 2 3 4 "
	     "5\n@ SOA ns hm 1 2 3 4 5\n",
	     4, "a second SOA record"},
	};
	struct dns_zone_err err;

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dns_zone *z = zone_from(bad[i].text, &err);

		if (z || err.line != bad[i].line || !strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: got %s line %u '%s', want line %u '%s'", i,
				 z ? "a zone" : "NULL", err.line, err.msg, bad[i].line, bad[i].msg);
	}
	assert_null(dns_zone_load("/nonexistent/zone", &err));
	assert_true(err.open);
	assert_null(dns_zone_load("/", &err));
	assert_true(err.open);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_loaded),	    cmocka_unit_test(t_exact),
	    cmocka_unit_test(t_negative),   cmocka_unit_test(t_cname),
	    cmocka_unit_test(t_wildcard),   cmocka_unit_test(t_truncation),
	    cmocka_unit_test(t_edns),	    cmocka_unit_test(t_find),
	    cmocka_unit_test(t_duplicates), cmocka_unit_test(t_bad_files),
	    cmocka_unit_test(t_classes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
