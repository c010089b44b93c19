#include "config.h"
/* test_dns_msg.c - dns_msg: query parsing (good queries, every error path,
 * ldns as an independent oracle over generated and mutated queries), the
 * answer builders (parsed back with ldns), upstream answer inspection and
 * TTL rewriting. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ldns/ldns.h>

#include "dns_msg.h"

static uint8_t out[4096];

/* ---- helpers ---- */

static size_t hdr(uint8_t *b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		  uint16_t ar)
{
	uint16_t v[6] = {id, flags, qd, an, ns, ar};

	for (int i = 0; i < 6; i++) {
		b[2 * i] = (uint8_t)(v[i] >> 8);
		b[2 * i + 1] = (uint8_t)v[i];
	}
	return 12;
}

static size_t put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
	return 4;
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* "www.example.com" -> wire (no escapes) */
static size_t wname(uint8_t *b, const char *s)
{
	size_t o = 0;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		b[o++] = (uint8_t)n;
		memcpy(b + o, s, n);
		o += n;
		s += n + (dot ? 1 : 0);
	}
	b[o++] = 0;
	return o;
}

/* header + question for name/type, class IN */
static size_t simple_q(uint8_t *b, uint16_t flags, const char *name, uint16_t type)
{
	size_t n = hdr(b, 0x1234, flags, 1, 0, 0, 0);

	n += wname(b + n, name);
	n += put16(b + n, type);
	n += put16(b + n, DNS_CLASS_IN);
	return n;
}

/* append an OPT RR */
static size_t opt_rr(uint8_t *b, uint16_t udp, uint8_t version, bool dobit, const uint8_t *rdata,
		     uint16_t rdlen)
{
	size_t n = 0;

	b[n++] = 0;
	n += put16(b + n, DNS_TYPE_OPT);
	n += put16(b + n, udp);
	n += put32(b + n, (uint32_t)version << 16 | (dobit ? 0x8000 : 0));
	n += put16(b + n, rdlen);
	if (rdlen)
		memcpy(b + n, rdata, rdlen);
	return n + rdlen;
}

static size_t ldns_query(uint8_t *b, const char *name, uint16_t type, uint16_t klass, uint16_t id,
			 uint16_t lflags, uint16_t udp, bool dobit)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	ldns_pkt *p;
	uint8_t *w = NULL;
	size_t n = 0;

	assert_non_null(dn);
	p = ldns_pkt_query_new(dn, (ldns_rr_type)type, (ldns_rr_class)klass, lflags);
	assert_non_null(p);
	ldns_pkt_set_id(p, id);
	if (udp) {
		ldns_pkt_set_edns_udp_size(p, udp);
		ldns_pkt_set_edns_do(p, dobit);
	}
	assert_int_equal(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	memcpy(b, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

static ldns_pkt *reparse(const uint8_t *b, int n)
{
	ldns_pkt *p = NULL;

	assert_true(n >= 12);
	assert_int_equal(ldns_wire2pkt(&p, b, (size_t)n), LDNS_STATUS_OK);
	return p;
}

/* ---- query parsing: good ---- */

static void t_parse_a_mixed_case(void **st)
{
	uint8_t b[512];
	size_t n =
	    ldns_query(b, "WwW.ExAmple.COM", DNS_TYPE_A, DNS_CLASS_IN, 0xbeef, LDNS_RD, 0, false);
	struct dns_query q;

	(void)st;
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_true(q.flags & DNS_F_RD);
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_string_equal(q.name, "www.example.com");
	assert_int_equal(q.name_len, 15);
	assert_int_equal(q.lname_len, 17);
	assert_memory_equal(q.lname, "\3www\7example\3com", 17);
	assert_int_equal(q.qname_off, 12);
	assert_int_equal(q.qname_len, 17);
	assert_int_equal(q.question_end, 12 + 17 + 4);
	assert_true(q.question_ok);
	assert_false(q.qname_compressed);
	assert_false(q.edns);
	assert_int_equal(dns_query_udp_limit(&q), 512);
}

static void t_parse_aaaa_edns_do(void **st)
{
	uint8_t b[512];
	size_t n = ldns_query(b, "ipv6.example.net", DNS_TYPE_AAAA, DNS_CLASS_IN, 7,
			      LDNS_RD | LDNS_CD, 4096, true);
	struct dns_query q;

	(void)st;
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_true(q.edns);
	assert_true(q.do_bit);
	assert_false(q.ecs);
	assert_int_equal(q.udp_size, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_true(q.flags & DNS_F_CD);
	assert_int_equal(dns_query_udp_limit(&q), 4096);
}

static void t_parse_https_and_root(void **st)
{
	uint8_t b[512];
	size_t n =
	    ldns_query(b, "svc.example.org", DNS_TYPE_HTTPS, DNS_CLASS_IN, 1, 0, 1232, false);
	struct dns_query q;

	(void)st;
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_int_equal(q.qtype, DNS_TYPE_HTTPS);
	assert_false(q.do_bit);
	n = ldns_query(b, ".", DNS_TYPE_NS, DNS_CLASS_IN, 2, LDNS_RD, 0, false);
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_string_equal(q.name, "");
	assert_int_equal(q.name_len, 0);
	assert_int_equal(q.lname_len, 1);
	/* small advertised UDP size floors at 512 */
	n = ldns_query(b, "a.b", DNS_TYPE_A, DNS_CLASS_IN, 3, 0, 100, false);
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_int_equal(q.udp_size, 100);
	assert_int_equal(dns_query_udp_limit(&q), 512);
}

static void t_parse_escapes(void **st)
{
	uint8_t b[512];
	size_t n = hdr(b, 1, 0, 1, 0, 0, 0);
	static const uint8_t name[] = {7, 'A', '.', 'b', '\\', 0, 0xff, ' ', 3, 'C', 'o', 'M', 0};
	struct dns_query q;

	(void)st;
	memcpy(b + n, name, sizeof(name));
	n += sizeof(name);
	n += put16(b + n, DNS_TYPE_A);
	n += put16(b + n, DNS_CLASS_IN);
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_string_equal(q.name, "a\\046b\\092\\000\\255\\032.com");
	assert_int_equal(q.name_len, strlen(q.name));
	/* ldns agrees on the wire form (and reads our escapes back to the same bytes) */
	{
		ldns_rdf *dn = ldns_dname_new_frm_str(q.name);

		assert_non_null(dn);
		assert_int_equal(ldns_rdf_size(dn), q.lname_len);
		assert_memory_equal(ldns_rdf_data(dn), q.lname, q.lname_len);
		ldns_rdf_deep_free(dn);
	}
}

static void t_parse_longest_name(void **st)
{
	uint8_t b[600];
	size_t n = hdr(b, 1, 0, 1, 0, 0, 0);
	int lens[4] = {63, 63, 63, 61}; /* 3*64 + 62 + 1 = 255 */
	struct dns_query q;

	(void)st;
	for (int i = 0; i < 4; i++) {
		b[n++] = (uint8_t)lens[i];
		memset(b + n, 'x', (size_t)lens[i]);
		n += (size_t)lens[i];
	}
	b[n++] = 0;
	n += put16(b + n, DNS_TYPE_A);
	n += put16(b + n, DNS_CLASS_IN);
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_int_equal(q.lname_len, 255);
	assert_int_equal(q.name_len, 253);
	/* one byte more is over the limit */
	n = hdr(b, 1, 0, 1, 0, 0, 0);
	lens[3] = 62;
	for (int i = 0; i < 4; i++) {
		b[n++] = (uint8_t)lens[i];
		memset(b + n, 'x', (size_t)lens[i]);
		n += (size_t)lens[i];
	}
	b[n++] = 0;
	n += put16(b + n, DNS_TYPE_A);
	n += put16(b + n, DNS_CLASS_IN);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
}

/* dns_name_from_text() reads back what dns_name_to_text() (and the query
 * parser) writes, for any bytes, and what ldns reads from the same text. */
static void t_name_text(void **st)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"Example.COM.", "example.com"},
	    {".", ""},
	    {"\\065B\\.c", "ab\\046c"},
	    {"a\\046b\\092\\000\\255\\032.com", "a\\046b\\092\\000\\255\\032.com"},
	    {"\\(x\\)\\ y", "(x)\\032y"},
	    {"\\\\", "\\092"},
	};
	static const char *const bad[] = {"",	   "..",     "a..b",   ".a",	 "a\\",
					  "a\\25", "a\\256", "a\\2x5", "a.\\0.."};
	uint8_t wire[DNS_NAME_WIRE_MAX + 8], w2[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_PRES_MAX + 64], t2[DNS_NAME_PRES_MAX];
	uint64_t r = 99;
	size_t wl, n;

	(void)st;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(dns_name_from_text(ok[i].in, strlen(ok[i].in), wire, &wl), 0);
		assert_int_equal(dns_name_to_text(wire, text), strlen(ok[i].out));
		assert_string_equal(text, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dns_name_from_text(bad[i], strlen(bad[i]), wire, &wl) != -EINVAL)
			fail_msg("'%s' was read as a name", bad[i]);
	/* labels: 63 bytes fit, 64 do not; names: 255 bytes fit, 256 do not */
	memset(text, 'a', 64);
	assert_int_equal(dns_name_from_text(text, 63, wire, &wl), 0);
	assert_int_equal(dns_name_from_text(text, 64, wire, &wl), -EINVAL);
	n = 0;
	for (int l = 0; l < 4; l++) { /* 3 x 63 + 61 bytes of 0xff: 1003 characters */
		for (int k = 0; k < (l < 3 ? 63 : 61); k++)
			n += (size_t)sprintf(text + n, "\\255");
		text[n++] = '.';
	}
	assert_int_equal(dns_name_from_text(text, n, wire, &wl), 0); /* with the root dot */
	assert_int_equal(wl, DNS_NAME_WIRE_MAX);
	assert_int_equal(dns_name_to_text(wire, t2), DNS_NAME_PRES_MAX - 1);
	assert_memory_equal(t2, text, n - 1);
	memcpy(text + n - 1, "\\255", 5); /* one byte more */
	assert_int_equal(dns_name_from_text(text, n + 3, wire, &wl), -EINVAL);
	memcpy(text + n - 1, ".a", 3); /* one label more */
	assert_int_equal(dns_name_from_text(text, n + 1, wire, &wl), -EINVAL);
	/* random wire names: text and back, and ldns reads the text the same */
	for (int round = 0; round < 2000; round++) {
		size_t len = 0;

		do {
			size_t ll =
			    1 + (r = r * 6364136223846793005ull + 1442695040888963407ull) % 63;

			if (len + ll + 2 > DNS_NAME_WIRE_MAX)
				break;
			wire[len++] = (uint8_t)ll;
			for (size_t k = 0; k < ll; k++) {
				r = r * 6364136223846793005ull + 1442695040888963407ull;
				wire[len++] = (uint8_t)(r >> 33);
			}
		} while ((r >> 40) % 4);
		for (size_t k = 0; k < len; k += 1 + wire[k]) /* lowercase, as the parser does */
			for (size_t j = k + 1; j <= k + wire[k]; j++)
				if (wire[j] >= 'A' && wire[j] <= 'Z')
					wire[j] = (uint8_t)(wire[j] | 0x20);
		wire[len++] = 0;
		n = dns_name_to_text(wire, text);
		assert_int_equal(dns_name_from_text(text, n, w2, &wl), 0);
		assert_int_equal(wl, len);
		assert_memory_equal(w2, wire, len);
		{
			ldns_rdf *dn = ldns_dname_new_frm_str(text);

			assert_non_null(dn);
			assert_int_equal(ldns_rdf_size(dn), len);
			assert_memory_equal(ldns_rdf_data(dn), wire, len);
			ldns_rdf_deep_free(dn);
		}
	}
}

static void t_parse_compressed_question(void **st)
{
	/* "www" + pointer to offset 11 (ARCOUNT's low byte, 0 = a root label):
	 * the only place a lone question can point to is the header, which
	 * holds no name (and whose bytes sluice rewrites): FORMERR */
	uint8_t b[64];
	size_t n = hdr(b, 0x55aa, DNS_F_RD, 1, 0, 0, 0);
	struct dns_query q;

	(void)st;
	memcpy(b + n, "\3WwW\xc0\x0b", 6);
	n += 6;
	n += put16(b + n, DNS_TYPE_A);
	n += put16(b + n, DNS_CLASS_IN);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	assert_false(q.question_ok);
}

static void t_parse_ecs(void **st)
{
	static const uint8_t ecs[] = {0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2};
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t b[512], rd[64];
	size_t n = simple_q(b, 0, "example.com", DNS_TYPE_A);
	struct dns_query q;

	(void)st;
	memcpy(rd, cookie, sizeof(cookie));
	memcpy(rd + sizeof(cookie), ecs, sizeof(ecs));
	b[11] = 1;
	n += opt_rr(b + n, 1400, 0, false, rd, sizeof(cookie) + sizeof(ecs));
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_true(q.edns);
	assert_true(q.ecs);
	assert_int_equal(q.udp_size, 1400);
	/* cookie alone: no ECS */
	n = simple_q(b, 0, "example.com", DNS_TYPE_A);
	b[11] = 1;
	n += opt_rr(b + n, 1400, 0, false, cookie, sizeof(cookie));
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_false(q.ecs);
}

static void t_parse_skips_answer_section(void **st)
{
	/* IXFR-style: an SOA in the authority section is walked, not rejected */
	uint8_t b[512];
	size_t n = simple_q(b, 0, "example.com", 251);
	struct dns_query q;

	(void)st;
	b[9] = 1;
	b[n++] = 0xc0;
	b[n++] = 12;
	n += put16(b + n, DNS_TYPE_SOA);
	n += put16(b + n, DNS_CLASS_IN);
	n += put32(b + n, 0);
	n += put16(b + n, 22);
	memset(b + n, 0, 22);
	n += 22;
	assert_int_equal(dns_query_parse(b, n, &q), 0);
	assert_int_equal(q.qtype, 251);
	/* but the RDATA must be there */
	assert_int_equal(dns_query_parse(b, n - 1, &q), DNS_E_FORMERR);
}

/* ---- query parsing: errors ---- */

static void t_parse_drop(void **st)
{
	uint8_t b[512];
	size_t n = simple_q(b, DNS_F_QR, "example.com", DNS_TYPE_A);
	struct dns_query q;

	(void)st;
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_DROP);
	n = simple_q(b, 0, "example.com", DNS_TYPE_A);
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(dns_query_parse(b, i, &q), DNS_E_DROP);
	assert_int_equal(dns_error_rcode(DNS_E_DROP), -1);
}

static void t_parse_notimp(void **st)
{
	uint8_t b[512];
	size_t n = simple_q(b, 4 << 11, "example.com", DNS_TYPE_SOA); /* NOTIFY */
	struct dns_query q;
	ldns_pkt *p;
	int len;

	(void)st;
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_NOTIMP);
	assert_false(q.question_ok);
	assert_int_equal(dns_error_rcode(DNS_E_NOTIMP), DNS_RCODE_NOTIMP);
	len = dns_build_error(&q, b, DNS_RCODE_NOTIMP, out, sizeof(out));
	assert_int_equal(len, 12);
	p = reparse(out, len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	ldns_pkt_free(p);
	n = simple_q(b, 5 << 11, "example.com", DNS_TYPE_SOA); /* UPDATE */
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_NOTIMP);
}

static void t_parse_qdcount(void **st)
{
	uint8_t b[512];
	size_t n = simple_q(b, 0, "example.com", DNS_TYPE_A);
	struct dns_query q;

	(void)st;
	b[5] = 0;
	assert_int_equal(dns_query_parse(b, 12, &q), DNS_E_FORMERR);
	assert_false(q.question_ok);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	b[5] = 2;
	memcpy(b + n, b + 12, n - 12); /* two identical questions */
	assert_int_equal(dns_query_parse(b, 2 * n - 12, &q), DNS_E_FORMERR);
	assert_int_equal(dns_error_rcode(DNS_E_FORMERR), DNS_RCODE_FORMERR);
}

static void t_parse_truncated(void **st)
{
	uint8_t b[512];
	size_t n = simple_q(b, 0, "www.example.com", DNS_TYPE_A);
	struct dns_query q;

	(void)st;
	/* every cut inside the name or QTYPE/QCLASS */
	for (size_t i = 12; i < n; i++)
		assert_int_equal(dns_query_parse(b, i, &q), DNS_E_FORMERR);
	assert_int_equal(dns_query_parse(b, n, &q), 0);
}

static void t_parse_bad_labels(void **st)
{
	uint8_t b[512];
	size_t n = hdr(b, 1, 0, 1, 0, 0, 0);
	struct dns_query q;

	(void)st;
	b[n++] = 64; /* label length 64: the 0x40 extended label type */
	memset(b + n, 'a', 64);
	n += 64;
	b[n++] = 0;
	n += put32(b + n, 0x00010001);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	b[12] = 0x80; /* reserved label type */
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* 5 x 63-byte labels: > 255 wire bytes */
	n = hdr(b, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		b[n++] = 63;
		memset(b + n, 'b', 63);
		n += 63;
	}
	b[n++] = 0;
	n += put32(b + n, 0x00010001);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
}

static void t_parse_compression_loops(void **st)
{
	uint8_t b[64];
	size_t n;
	struct dns_query q;

	(void)st;
	/* pointer to itself */
	n = hdr(b, 1, 0, 1, 0, 0, 0);
	memcpy(b + n, "\xc0\x0c", 2);
	n += 2;
	n += put32(b + n, 0x00010001);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* label then pointer back to the label: x.x.x.x... */
	n = hdr(b, 1, 0, 1, 0, 0, 0);
	memcpy(b + n, "\1x\xc0\x0c", 4);
	n += 4;
	n += put32(b + n, 0x00010001);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* forward pointer (into the QTYPE bytes) */
	n = hdr(b, 1, 0, 1, 0, 0, 0);
	memcpy(b + n, "\xc0\x0e", 2);
	n += 2;
	n += put32(b + n, 0x00010001);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* pointer beyond the packet */
	b[13] = 0xff;
	b[12] = 0xcf;
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* a pointer into the header (ID = 0xc000) that points at itself */
	n = hdr(b, 0xc000, 0, 1, 0, 0, 0);
	memcpy(b + n, "\1a\xc0\x00", 4);
	n += 4;
	n += put32(b + n, 0x00010001);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
}

static void t_parse_bad_opt(void **st)
{
	static const uint8_t badopt[] = {0, 8, 0, 9, 1, 2}; /* option longer than RDATA */
	uint8_t b[512];
	size_t base, n;
	struct dns_query q;

	(void)st;
	base = simple_q(b, 0, "example.com", DNS_TYPE_A);
	/* owner not root */
	n = base;
	b[11] = 1;
	n += wname(b + n, "x");
	n += put16(b + n, DNS_TYPE_OPT);
	n += put16(b + n, 1232);
	n += put32(b + n, 0);
	n += put16(b + n, 0);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	assert_true(q.question_ok);
	assert_false(q.edns);
	/* two OPTs */
	b[11] = 2;
	n = base;
	n += opt_rr(b + n, 1232, 0, false, NULL, 0);
	n += opt_rr(b + n, 1232, 0, false, NULL, 0);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* option overruns RDATA */
	b[11] = 1;
	n = base + opt_rr(b + base, 1232, 0, false, badopt, sizeof(badopt));
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* RDLENGTH beyond the packet */
	n = base + opt_rr(b + base, 1232, 0, false, NULL, 0);
	b[n - 1] = 4;
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* OPT in the answer section */
	b[11] = 0;
	b[7] = 1;
	n = base + opt_rr(b + base, 1232, 0, false, NULL, 0);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	/* ARCOUNT says 1, nothing there */
	b[7] = 0;
	b[11] = 1;
	assert_int_equal(dns_query_parse(b, base, &q), DNS_E_FORMERR);
}

static void t_parse_trailing_garbage(void **st)
{
	uint8_t b[512];
	size_t n = simple_q(b, DNS_F_RD, "example.com", DNS_TYPE_A);
	struct dns_query q;
	ldns_pkt *p;
	int len;

	(void)st;
	b[n] = 0xaa;
	assert_int_equal(dns_query_parse(b, n + 1, &q), DNS_E_FORMERR);
	assert_true(q.question_ok); /* so FORMERR echoes the question */
	len = dns_build_error(&q, b, DNS_RCODE_FORMERR, out, sizeof(out));
	p = reparse(out, len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ra(p));
	assert_true(ldns_pkt_qr(p));
	ldns_pkt_free(p);
}

static void t_parse_badvers(void **st)
{
	uint8_t b[512];
	size_t n = simple_q(b, 0, "example.com", DNS_TYPE_A);
	struct dns_query q;
	ldns_pkt *p;
	int len;

	(void)st;
	b[11] = 1;
	n += opt_rr(b + n, 1232, 1, true, NULL, 0);
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_BADVERS);
	assert_true(q.edns);
	assert_int_equal(q.edns_version, 1);
	len = dns_build_error(&q, b, dns_error_rcode(DNS_E_BADVERS), out, sizeof(out));
	p = reparse(out, len);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1); /* 16 >> 4 */
	assert_int_equal(ldns_pkt_get_rcode(p), 0);
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
}

/* ---- query parsing against ldns ---- */

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void rand_name(char *s, size_t cap, bool *plain)
{
	static const char alnum[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
	int labels = (int)(rnd() % 5);
	size_t o = 0;

	*plain = true;
	for (int l = 0; l < labels; l++) {
		int len = 1 + (int)(rnd() % 20);

		for (int i = 0; i < len && o + 8 < cap; i++) {
			if (rnd() % 16 == 0) {
				o += (size_t)snprintf(s + o, cap - o, "\\%03u", rnd() % 256);
				*plain = false;
			} else {
				s[o++] = alnum[rnd() % (sizeof(alnum) - 1)];
			}
		}
		s[o++] = '.';
	}
	if (!o)
		s[o++] = '.';
	s[o] = 0;
}

static void lower_wire(uint8_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] >= 'A' && w[i] <= 'Z')
			w[i] |= 0x20;
}

/* Our parse of a query must agree with ldns on every field both see. */
static void check_against_ldns(const uint8_t *b, size_t n, const struct dns_query *q)
{
	ldns_pkt *p = reparse(b, (int)n);
	ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	ldns_rdf *owner = ldns_rr_owner(qr);
	uint8_t w[256];

	assert_int_equal(q->id, ldns_pkt_id(p));
	assert_int_equal(q->qtype, ldns_rr_get_type(qr));
	assert_int_equal(q->qclass, ldns_rr_get_class(qr));
	assert_int_equal(!!(q->flags & DNS_F_RD), ldns_pkt_rd(p));
	assert_int_equal(!!(q->flags & DNS_F_CD), ldns_pkt_cd(p));
	assert_int_equal(ldns_rdf_size(owner), q->lname_len);
	memcpy(w, ldns_rdf_data(owner), q->lname_len);
	lower_wire(w, q->lname_len);
	assert_memory_equal(w, q->lname, q->lname_len);
	assert_int_equal(q->edns, ldns_pkt_edns(p));
	if (q->edns) {
		assert_int_equal(q->udp_size, ldns_pkt_edns_udp_size(p));
		assert_int_equal(q->do_bit, ldns_pkt_edns_do(p));
	}
	ldns_pkt_free(p);
}

static void t_parse_vs_ldns_generated(void **st)
{
	char name[600];
	uint8_t b[1024];
	struct dns_query q;

	(void)st;
	for (int i = 0; i < 2000; i++) {
		bool plain, edns = rnd() % 2;
		uint16_t type = (uint16_t)(1 + rnd() % 300), udp = (uint16_t)(512 + rnd() % 4000);
		uint16_t flags = (rnd() % 2 ? LDNS_RD : 0) | (rnd() % 4 == 0 ? LDNS_CD : 0);
		size_t n;

		rand_name(name, sizeof(name), &plain);
		n = ldns_query(b, name, type, rnd() % 8 ? DNS_CLASS_IN : 3, (uint16_t)rnd(), flags,
			       edns ? udp : 0, rnd() % 2);
		assert_int_equal(dns_query_parse(b, n, &q), 0);
		check_against_ldns(b, n, &q);
		if (plain) {
			char low[600];
			size_t k = strlen(name);

			for (size_t j = 0; j < k; j++)
				low[j] = (char)(name[j] >= 'A' && name[j] <= 'Z' ? name[j] | 0x20
										 : name[j]);
			low[k > 1 ? k - 1 : 0] = 0; /* trailing dot off; "." -> "" */
			assert_string_equal(q.name, low);
		}
		/* our presentation form reads back to the same wire name in ldns */
		{
			ldns_rdf *dn = ldns_dname_new_frm_str(q.name_len ? q.name : ".");

			assert_non_null(dn);
			assert_int_equal(ldns_rdf_size(dn), q.lname_len);
			assert_memory_equal(ldns_rdf_data(dn), q.lname, q.lname_len);
			ldns_rdf_deep_free(dn);
		}
	}
}

static void t_parse_vs_ldns_mutated(void **st)
{
	uint8_t b[1024];
	struct dns_query q;
	int accepted = 0;

	(void)st;
	for (int i = 0; i < 20000; i++) {
		size_t n = ldns_query(b, "www.Example.com", DNS_TYPE_A, DNS_CLASS_IN, 9, LDNS_RD,
				      i % 2 ? 1232 : 0, false);
		int flips = 1 + (int)(rnd() % 3);

		for (int f = 0; f < flips; f++)
			b[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
		if (rnd() % 4 == 0)
			n -= rnd() % n;
		if (dns_query_parse(b, n, &q) != 0)
			continue;
		/* whatever we accept (a question and at most an OPT), ldns accepts the same way */
		if (b[6] | b[7] | b[8] | b[9] || (b[10] << 8 | b[11]) > (q.edns ? 1 : 0))
			continue;
		check_against_ldns(b, n, &q);
		accepted++;
	}
	assert_true(accepted > 1000);
}

/* ---- builders ---- */

static int parse_q(uint8_t *b, size_t *n, const char *name, uint16_t type, uint16_t udp, bool dobit,
		   struct dns_query *q)
{
	*n = ldns_query(b, name, type, DNS_CLASS_IN, 0x4321, LDNS_RD, udp, dobit);
	return dns_query_parse(b, *n, q);
}

static void check_question_echo(const uint8_t *ans, const uint8_t *qpkt, const struct dns_query *q)
{
	/* the client's own bytes, case included */
	assert_memory_equal(ans + 12, qpkt + 12, q->lname_len + 4);
}

static void t_build_errors(void **st)
{
	static const int rcodes[] = {DNS_RCODE_FORMERR, DNS_RCODE_SERVFAIL, DNS_RCODE_NXDOMAIN,
				     DNS_RCODE_NOTIMP, DNS_RCODE_REFUSED};
	uint8_t b[512];
	size_t n;
	struct dns_query q;

	(void)st;
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		for (int edns = 0; edns < 2; edns++) {
			ldns_pkt *p;
			int len;

			assert_int_equal(parse_q(b, &n, "MiXeD.Example.COM", DNS_TYPE_A,
						 edns ? 1232 : 0, edns, &q),
					 0);
			len = dns_build_error(&q, b, rcodes[i], out, sizeof(out));
			assert_int_equal(len,
					 (int)n); /* question + our OPT: same size as the query */
			p = reparse(out, len);
			assert_int_equal(ldns_pkt_get_rcode(p), rcodes[i]);
			assert_int_equal(ldns_pkt_id(p), 0x4321);
			assert_true(ldns_pkt_qr(p) && ldns_pkt_rd(p) && ldns_pkt_ra(p));
			assert_false(ldns_pkt_tc(p));
			assert_int_equal(ldns_pkt_qdcount(p), 1);
			assert_int_equal(ldns_pkt_ancount(p), 0);
			assert_int_equal(ldns_pkt_edns(p), edns);
			if (edns) {
				assert_true(ldns_pkt_edns_do(p));
				assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_EDNS_UDP_SIZE);
			}
			check_question_echo(out, b, &q);
			ldns_pkt_free(p);
		}
	}
	/* header only when the question did not parse */
	n = simple_q(b, 0, "example.com", DNS_TYPE_A);
	b[5] = 3;
	assert_int_equal(dns_query_parse(b, n, &q), DNS_E_FORMERR);
	assert_int_equal(dns_build_error(&q, b, DNS_RCODE_FORMERR, out, sizeof(out)), 12);
	assert_int_equal(out[5], 0);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_FORMERR);
	/* no room */
	assert_int_equal(dns_build_error(&q, b, DNS_RCODE_FORMERR, out, 11), -ENOSPC);
}

static void t_build_nxdomain(void **st)
{
	uint8_t b[512];
	size_t n;
	struct dns_query q;
	ldns_pkt *p;
	ldns_rr *soa;
	int len;

	(void)st;
	assert_int_equal(parse_q(b, &n, "ads.example", DNS_TYPE_HTTPS, 0, false, &q), 0);
	len = dns_build_nxdomain(&q, b, 600, out, sizeof(out));
	p = reparse(out, len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_ttl(soa), 600);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 600);
	ldns_pkt_free(p);
}

static void t_build_address(void **st)
{
	struct in_addr v4[2] = {{htonl(0xc0000201)}, {htonl(0xc0000202)}};
	struct in6_addr v6[1];
	struct dns_addr_list al = {v4, 2, v6, 1};
	ldns_rdf *owner;
	uint8_t b[512];
	size_t n;
	struct dns_query q;
	ldns_pkt *p;
	int len;

	(void)st;
	inet_pton(AF_INET6, "2001:db8::1", &v6[0]);
	owner = ldns_dname_new_frm_str("host.example");
	assert_int_equal(parse_q(b, &n, "Host.Example", DNS_TYPE_A, 0, false, &q), 0);
	len = dns_build_address(&q, b, &al, 300, out, sizeof(out));
	p = reparse(out, len);
	assert_int_equal(ldns_pkt_get_rcode(p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	for (int i = 0; i < 2; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), (size_t)i);

		assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
		assert_int_equal(ldns_rr_ttl(rr), 300);
		assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), &v4[i], 4);
		assert_int_equal(ldns_dname_compare(ldns_rr_owner(rr), owner), 0);
	}
	check_question_echo(out, b, &q);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(owner);

	assert_int_equal(parse_q(b, &n, "host.example", DNS_TYPE_AAAA, 1232, false, &q), 0);
	len = dns_build_address(&q, b, &al, 300, out, sizeof(out));
	p = reparse(out, len);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0)),
			    &v6[0], 16);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* MX, and AAAA without IPv6 addresses: NODATA with SOA */
	al.n6 = 0;
	for (int t = 0; t < 2; t++) {
		assert_int_equal(
		    parse_q(b, &n, "host.example", t ? DNS_TYPE_AAAA : DNS_TYPE_MX, 0, false, &q),
		    0);
		len = dns_build_address(&q, b, &al, 120, out, sizeof(out));
		p = reparse(out, len);
		assert_int_equal(ldns_pkt_get_rcode(p), 0);
		assert_int_equal(ldns_pkt_ancount(p), 0);
		assert_int_equal(ldns_pkt_nscount(p), 1);
		assert_int_equal(ldns_rdf2native_int32(
				     ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_authority(p), 0), 6)),
				 120);
		ldns_pkt_free(p);
	}
	/* out too small */
	assert_int_equal(parse_q(b, &n, "host.example", DNS_TYPE_A, 0, false, &q), 0);
	assert_int_equal(dns_build_address(&q, b, &al, 1, out, 40), -ENOSPC);
}

static void t_build_block_zero(void **st)
{
	static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_HTTPS, DNS_TYPE_SVCB,
					 DNS_TYPE_TXT};
	uint8_t b[512], zero[16] = {0};
	size_t n;
	struct dns_query q;

	(void)st;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ldns_pkt *p;
		int len;

		assert_int_equal(parse_q(b, &n, "Blocked.Example", types[i], 0, false, &q), 0);
		len = dns_build_block_zero(&q, b, 60, out, sizeof(out));
		p = reparse(out, len);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		if (types[i] == DNS_TYPE_A || types[i] == DNS_TYPE_AAAA) {
			ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);

			assert_int_equal(ldns_pkt_ancount(p), 1);
			assert_int_equal(ldns_rr_get_type(rr), types[i]);
			assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 0)),
					 types[i] == DNS_TYPE_A ? 4 : 16);
			assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), zero,
					    ldns_rdf_size(ldns_rr_rdf(rr, 0)));
		} else {
			/* HTTPS/SVCB must not leak hints: NODATA with SOA */
			assert_int_equal(ldns_pkt_ancount(p), 0);
			assert_int_equal(ldns_pkt_nscount(p), 1);
		}
		ldns_pkt_free(p);
	}
}

static void t_build_truncation(void **st)
{
	struct in6_addr v6[40];
	struct dns_addr_list al = {NULL, 0, v6, 40};
	uint8_t b[512];
	size_t n;
	struct dns_query q;
	ldns_pkt *p;
	int len;

	(void)st;
	memset(v6, 0x20, sizeof(v6));
	/* 40 x 28 bytes > 512: TC with the question only */
	assert_int_equal(parse_q(b, &n, "many.example", DNS_TYPE_AAAA, 0, false, &q), 0);
	len = dns_build_address(&q, b, &al, 60, out, sizeof(out));
	p = reparse(out, len);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* EDNS 100 counts as 512 */
	assert_int_equal(parse_q(b, &n, "many.example", DNS_TYPE_AAAA, 100, false, &q), 0);
	len = dns_build_address(&q, b, &al, 60, out, sizeof(out));
	assert_true(out[2] & 0x02);
	/* EDNS 4096: the whole answer */
	assert_int_equal(parse_q(b, &n, "many.example", DNS_TYPE_AAAA, 4096, false, &q), 0);
	len = dns_build_address(&q, b, &al, 60, out, sizeof(out));
	p = reparse(out, len);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 40);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* ...unless the caller's buffer is too small */
	assert_int_equal(dns_build_address(&q, b, &al, 60, out, 1000), -ENOSPC);
}

/* ---- upstream answers ---- */

/* An answer built by ldns from RR strings; section per string: 'a', 'n' or 'r'. */
static size_t ldns_answer(uint8_t *b, const char *qname, uint16_t qtype, int rcode, bool tc,
			  uint16_t udp, const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qr = NULL;
	uint8_t *w = NULL;
	size_t n = 0;
	char qs[300];

	assert_non_null(p);
	snprintf(qs, sizeof(qs), "%s IN TYPE%u", qname, qtype);
	assert_int_equal(ldns_rr_new_question_frm_str(&qr, qs, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qr);
	ldns_pkt_set_id(p, 77);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_tc(p, tc);
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
	assert_int_equal(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	memcpy(b, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

static void t_inspect_positive(void **st)
{
	static const char *const rrs[] = {"a www.example.com. 300 IN CNAME web.example.com.",
					  "a web.example.com. 60 IN A 192.0.2.7",
					  "n example.com. 3600 IN NS ns1.example.com.",
					  "r ns1.example.com. 20 IN A 192.0.2.53", NULL};
	uint8_t b[1024];
	size_t n = ldns_answer(b, "www.example.com.", DNS_TYPE_A, 0, false, 1232, rrs);
	struct dns_answer_info ai;
	struct dns_query q;
	uint8_t qb[512];
	size_t qn;
	static const uint32_t want[] = {300, 60, 3600, 20};

	(void)st;
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_int_equal(ai.id, 77);
	assert_int_equal(ai.rcode, 0);
	assert_false(ai.tc);
	assert_false(ai.negative);
	assert_true(ai.cacheable);
	/* min over answer + authority; the additional glue (20) does not count */
	assert_int_equal(ai.min_ttl, 60);
	assert_int_equal(ai.n_ttl, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(get32(b + ai.ttl_off[i]), want[i]);
	assert_true(ai.has_opt);
	assert_true(ai.opt_last);
	assert_int_equal(ai.end, n);
	assert_int_equal(ai.qtype, DNS_TYPE_A);
	/* question match, case-insensitively */
	qn = ldns_query(qb, "WWW.example.COM", DNS_TYPE_A, DNS_CLASS_IN, 1, 0, 0, false);
	assert_int_equal(dns_query_parse(qb, qn, &q), 0);
	assert_true(dns_answer_matches(b, n, &ai, &q));
	qn = ldns_query(qb, "www.example.com", DNS_TYPE_AAAA, DNS_CLASS_IN, 1, 0, 0, false);
	assert_int_equal(dns_query_parse(qb, qn, &q), 0);
	assert_false(dns_answer_matches(b, n, &ai, &q));
	qn = ldns_query(qb, "ww.example.com", DNS_TYPE_A, DNS_CLASS_IN, 1, 0, 0, false);
	assert_int_equal(dns_query_parse(qb, qn, &q), 0);
	assert_false(dns_answer_matches(b, n, &ai, &q));
}

static void t_inspect_negative(void **st)
{
	static const char *const nx1[] = {
	    "n example.com. 900 IN SOA ns.example.com. h.example.com. 1 2 3 4 120", NULL};
	static const char *const nx2[] = {
	    "n example.com. 100 IN SOA ns.example.com. h.example.com. 1 2 3 4 300", NULL};
	static const char *const cname_nx[] = {
	    "a a.example.com. 50 IN CNAME b.example.com.",
	    "n example.com. 900 IN SOA ns.example.com. h.example.com. 1 2 3 4 120", NULL};
	uint8_t b[1024];
	size_t n;
	struct dns_answer_info ai;

	(void)st;
	n = ldns_answer(b, "nx.example.com.", DNS_TYPE_A, DNS_RCODE_NXDOMAIN, false, 0, nx1);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_true(ai.negative && ai.has_soa && ai.cacheable);
	assert_int_equal(ai.min_ttl, 120); /* min(900, MINIMUM 120) */
	n = ldns_answer(b, "nx.example.com.", DNS_TYPE_A, DNS_RCODE_NXDOMAIN, false, 0, nx2);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_int_equal(ai.min_ttl, 100); /* min(SOA TTL 100, 300) */
	/* NODATA */
	n = ldns_answer(b, "v4only.example.com.", DNS_TYPE_AAAA, 0, false, 0, nx1);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_true(ai.negative && ai.cacheable);
	assert_int_equal(ai.min_ttl, 120);
	/* NODATA behind a CNAME: the CNAME's TTL counts too */
	n = ldns_answer(b, "a.example.com.", DNS_TYPE_AAAA, 0, false, 0, cname_nx);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_true(ai.negative && ai.cacheable);
	assert_int_equal(ai.min_ttl, 50);
	/* NODATA without SOA: not cacheable */
	n = ldns_answer(b, "v4only.example.com.", DNS_TYPE_AAAA, 0, false, 0, NULL);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_true(ai.negative);
	assert_false(ai.cacheable);
}

static void t_inspect_not_cacheable(void **st)
{
	static const char *const a[] = {"a x.example. 60 IN A 192.0.2.1", NULL};
	static const char *const a0[] = {"a x.example. 0 IN A 192.0.2.1", NULL};
	static const char *const ahigh[] = {"a x.example. 2147483648 IN A 192.0.2.1", NULL};
	uint8_t b[1024];
	size_t n;
	struct dns_answer_info ai;

	(void)st;
	n = ldns_answer(b, "x.example.", DNS_TYPE_A, DNS_RCODE_SERVFAIL, false, 0, NULL);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_int_equal(ai.rcode, DNS_RCODE_SERVFAIL);
	assert_false(ai.cacheable);
	n = ldns_answer(b, "x.example.", DNS_TYPE_A, 0, true, 0, a);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_true(ai.tc);
	assert_false(ai.cacheable);
	n = ldns_answer(b, "x.example.", DNS_TYPE_A, 0, false, 0, a0);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_int_equal(ai.min_ttl, 0);
	assert_false(ai.cacheable);
	/* RFC 2181: TTL with the top bit set is 0 */
	n = ldns_answer(b, "x.example.", DNS_TYPE_A, 0, false, 0, ahigh);
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_int_equal(ai.min_ttl, 0);
	/* a query is not an answer */
	n = ldns_answer(b, "x.example.", DNS_TYPE_A, 0, false, 0, a);
	b[2] &= 0x7f;
	assert_int_equal(dns_answer_inspect(b, n, &ai), -EBADMSG);
}

static void t_inspect_truncated_and_loops(void **st)
{
	static const char *const rrs[] = {
	    "a www.example.com. 300 IN A 192.0.2.1", "a www.example.com. 300 IN A 192.0.2.2",
	    "n example.com. 900 IN SOA ns.example.com. h.example.com. 1 2 3 4 120",
	    "r ns.example.com. 300 IN AAAA 2001:db8::53", NULL};
	uint8_t b[1024], c[1024];
	size_t n = ldns_answer(b, "www.example.com.", DNS_TYPE_A, 0, false, 1232, rrs);
	struct dns_answer_info ai;
	size_t p;

	(void)st;
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	/* every proper prefix is missing something the counts promise */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dns_answer_inspect(b, i, &ai), -EBADMSG);
	/* trailing bytes are ignored; end says where the message stops */
	memcpy(c, b, n);
	c[n] = 0xee;
	assert_int_equal(dns_answer_inspect(c, n + 1, &ai), 0);
	assert_int_equal(ai.end, n);
	/* the first answer's owner is a pointer to 12; aim it at itself */
	p = 12 + 17 + 4;
	assert_int_equal(b[p], 0xc0);
	memcpy(c, b, n);
	c[p + 1] = (uint8_t)p;
	assert_int_equal(dns_answer_inspect(c, n, &ai), -EBADMSG);
	/* into the header (offset 0: the ID, which caching rewrites) */
	c[p + 1] = 0;
	assert_int_equal(dns_answer_inspect(c, n, &ai), -EBADMSG);
	c[p + 1] = 11;
	assert_int_equal(dns_answer_inspect(c, n, &ai), -EBADMSG);
	/* the second answer's owner pointed into the first one's TTL field */
	memcpy(c, b, n);
	assert_int_equal(c[p + 16], 0xc0);
	c[p + 17] = (uint8_t)(p + 6);
	c[p + 6] = 0; /* TTL bytes 0 0 1 44: a valid root name, were it a name */
	assert_int_equal(dns_answer_inspect(c, n, &ai), -EBADMSG);
	/* pointer targets around the question "\1a\0" (12..14), QTYPE (15), QCLASS (17) */
	{
		uint8_t d[64];
		size_t k = hdr(d, 1, DNS_F_QR, 1, 1, 0, 0);

		k += wname(d + k, "a");
		k += put32(d + k, 0x00010001);
		d[k++] = 0xc0;
		d[k++] = 13; /* into the middle of "\1a\0": 'a' (0x61) is no label length */
		k += put16(d + k, DNS_TYPE_A);
		k += put16(d + k, DNS_CLASS_IN);
		k += put32(d + k, 60);
		k += put16(d + k, 4);
		k += put32(d + k, 0xc0000201);
		assert_int_equal(dns_answer_inspect(d, k, &ai), -EBADMSG);
		d[k - 15] = 14; /* to the root label at 14: fine */
		assert_int_equal(dns_answer_inspect(d, k, &ai), 0);
		d[k - 15] = 15; /* QTYPE's 0x00 would read as a root label, but is a fixed field */
		assert_int_equal(dns_answer_inspect(d, k, &ai), -EBADMSG);
		d[k - 15] = 12; /* "a." again: fine */
		assert_int_equal(dns_answer_inspect(d, k, &ai), 0);
	}
	/* a prior name must end before the name that points to it: RR1's RDATA
	 * ends in 0x01 (192.0.2.1), RR2's owner "\2\0\0" + pointer to that
	 * byte would read "\1\2\0" through RR2's own first bytes */
	{
		uint8_t d[64];
		size_t k = hdr(d, 1, DNS_F_QR, 1, 2, 0, 0), last;

		k += wname(d + k, "a");
		k += put32(d + k, 0x00010001);
		k += put16(d + k, 0xc00c);
		k += put16(d + k, DNS_TYPE_A);
		k += put16(d + k, DNS_CLASS_IN);
		k += put32(d + k, 60);
		k += put16(d + k, 4);
		k += put32(d + k, 0xc0000201);
		last = k - 1;
		memcpy(d + k, "\2\0\0", 3);
		k += 3;
		k += put16(d + k, (uint16_t)(0xc000 | last));
		k += put16(d + k, DNS_TYPE_A);
		k += put16(d + k, DNS_CLASS_IN);
		k += put32(d + k, 60);
		k += put16(d + k, 0);
		assert_int_equal(dns_answer_inspect(d, k, &ai), -EBADMSG);
		d[k - 11] = 12; /* point at the question name instead: fine */
		assert_int_equal(dns_answer_inspect(d, k, &ai), 0);
	}
	memcpy(c, b, n);
	/* and forward, at the second answer */
	c[p + 1] = (uint8_t)(p + 16);
	assert_int_equal(dns_answer_inspect(c, n, &ai), -EBADMSG);
	/* an SOA whose RDATA is one byte short */
	{
		static const char *const soa[] = {"n example.com. 900 IN SOA . . 1 2 3 4 120",
						  NULL};
		size_t m = ldns_answer(c, "x.example.com.", DNS_TYPE_A, 3, false, 0, soa);

		assert_int_equal(dns_answer_inspect(c, m, &ai), 0);
		c[m - 22 - 1]--; /* RDLENGTH 22 -> 21 */
		assert_int_equal(dns_answer_inspect(c, m - 1, &ai), -EBADMSG);
	}
}

static void t_rewrite_ttls(void **st)
{
	static const char *const rrs[] = {
	    "a example.com. 300 IN A 192.0.2.1",
	    "a example.com. 300 IN RRSIG A 8 2 300 20300101000000 20200101000000 12345 "
	    "example.com. AAAAAAAAAAAAAAAAAAAAAA==",
	    "a example.com. 10 IN A 192.0.2.2", NULL};
	uint8_t b[1024], orig[1024];
	size_t n = ldns_answer(b, "example.com.", DNS_TYPE_A, 0, false, 1232, rrs);
	struct dns_answer_info ai;
	uint16_t bad = (uint16_t)(n - 2);
	size_t sig_orig_ttl;

	(void)st;
	assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
	assert_int_equal(ai.n_ttl, 3);
	memcpy(orig, b, n);
	assert_int_equal(dns_rewrite_ttls(b, n, ai.ttl_off, ai.n_ttl, 100, 0, 86400), 0);
	assert_int_equal(get32(b + ai.ttl_off[0]), 200);
	assert_int_equal(get32(b + ai.ttl_off[1]), 200);
	assert_int_equal(get32(b + ai.ttl_off[2]), 0); /* 10 - 100 floors at 0 */
	/* RRSIG original TTL (RDATA offset 4) untouched; nothing else changed */
	sig_orig_ttl = ai.ttl_off[1] + 6 + 4;
	assert_int_equal(get32(b + sig_orig_ttl), 300);
	for (size_t i = 0; i < n; i++) {
		bool in_ttl = false;

		for (int k = 0; k < 3; k++)
			in_ttl |= i >= ai.ttl_off[k] && i < ai.ttl_off[k] + 4u;
		if (!in_ttl)
			assert_int_equal(b[i], orig[i]);
	}
	/* clamps: [60, 120] then elapsed 5 */
	memcpy(b, orig, n);
	assert_int_equal(dns_rewrite_ttls(b, n, ai.ttl_off, ai.n_ttl, 5, 60, 120), 0);
	assert_int_equal(get32(b + ai.ttl_off[0]), 115);
	assert_int_equal(get32(b + ai.ttl_off[2]), 55);
	/* fixed TTL (serve-stale) */
	assert_int_equal(dns_rewrite_ttls(b, n, ai.ttl_off, ai.n_ttl, 0, 30, 30), 0);
	assert_int_equal(get32(b + ai.ttl_off[0]), 30);
	/* an offset outside the packet */
	assert_int_equal(dns_rewrite_ttls(b, n, &bad, 1, 0, 0, 1), -EINVAL);
	dns_set_id(b, 0xabcd);
	assert_int_equal(b[0], 0xab);
	assert_int_equal(b[1], 0xcd);
}

/* An answer (one A RR) whose additional section holds `before` A RRs, an
 * OPT RR, then `after` more, all owned by a pointer to the question. */
static size_t opt_inside(uint8_t *b, unsigned before, unsigned after)
{
	size_t n = hdr(b, 0xbeef, 0x8180, 1, 1, 0, (uint16_t)(before + 1 + after));

	n += wname(b + n, "example.com");
	n += put16(b + n, DNS_TYPE_A);
	n += put16(b + n, DNS_CLASS_IN);
	for (unsigned i = 0; i < 1 + before + after; i++) {
		if (i == 1 + before)
			n += opt_rr(b + n, 1232, 0, false, NULL, 0);
		n += put16(b + n, 0xc00c);
		n += put16(b + n, DNS_TYPE_A);
		n += put16(b + n, DNS_CLASS_IN);
		n += put32(b + n, 300);
		n += put16(b + n, 4);
		n += put32(b + n, 0x0a000000 | i);
	}
	return n;
}

/* Removing an OPT RR that is not last keeps the additional RRs before it,
 * also past the DNS_MAX_RRS TTL offsets inspect records. ARCOUNT used to
 * come from those offsets, so 280 RRs before the OPT became 255 additional
 * ones, the rest trailing bytes, and the OPT sluice appends for the client
 * sat behind them unseen (fuzz_dns_up's check of the stripped answer,
 * corpus file crash_strip_opt_mid_after_256_rrs). */
static void t_strip_opt_not_last(void **st)
{
	static const unsigned cases[][2] = {{2, 1}, {280, 19}};
	static uint8_t b[8192], qb[512], ob[8192];
	struct dns_answer_info ai, ri;
	struct dns_answer_src src;
	struct dns_query q;
	size_t n, qn, len;
	int m;

	(void)st;
	assert_int_equal(parse_q(qb, &qn, "Example.COM", DNS_TYPE_A, 1232, false, &q), 0);
	q.limit = 65535;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned before = cases[c][0];

		n = opt_inside(b, before, cases[c][1]);
		assert_int_equal(dns_answer_inspect(b, n, &ai), 0);
		assert_true(ai.has_opt && !ai.opt_last);
		assert_int_equal(ai.ttl_overflow, 1 + before + cases[c][1] > DNS_MAX_RRS);
		len = dns_answer_strip_opt(b, n, &ai);
		assert_int_equal(len, ai.end);
		assert_int_equal(ai.arcount, before);
		assert_int_equal(b[10] << 8 | b[11], before);
		assert_int_equal(dns_answer_inspect(b, len, &ri), 0);
		assert_false(ri.has_opt);
		assert_int_equal(ri.end, len);
		assert_int_equal(ri.n_ttl, ai.n_ttl);
		/* the client's answer ends with its own OPT */
		src = (struct dns_answer_src){b, len, ai.ttl_off, ai.n_ttl, 0};
		m = dns_build_answer(&src, &q, qb, 0, 0, 86400, ob, sizeof(ob));
		assert_int_equal(m, len + 11);
		assert_int_equal(dns_answer_inspect(ob, (size_t)m, &ri), 0);
		assert_true(ri.has_opt && ri.opt_last);
		assert_int_equal(ri.end, m);
		assert_int_equal(ri.arcount, before + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_parse_a_mixed_case),
	    cmocka_unit_test(t_parse_aaaa_edns_do),
	    cmocka_unit_test(t_parse_https_and_root),
	    cmocka_unit_test(t_parse_escapes),
	    cmocka_unit_test(t_parse_longest_name),
	    cmocka_unit_test(t_name_text),
	    cmocka_unit_test(t_parse_compressed_question),
	    cmocka_unit_test(t_parse_ecs),
	    cmocka_unit_test(t_parse_skips_answer_section),
	    cmocka_unit_test(t_parse_drop),
	    cmocka_unit_test(t_parse_notimp),
	    cmocka_unit_test(t_parse_qdcount),
	    cmocka_unit_test(t_parse_truncated),
	    cmocka_unit_test(t_parse_bad_labels),
	    cmocka_unit_test(t_parse_compression_loops),
	    cmocka_unit_test(t_parse_bad_opt),
	    cmocka_unit_test(t_parse_trailing_garbage),
	    cmocka_unit_test(t_parse_badvers),
	    cmocka_unit_test(t_parse_vs_ldns_generated),
	    cmocka_unit_test(t_parse_vs_ldns_mutated),
	    cmocka_unit_test(t_build_errors),
	    cmocka_unit_test(t_build_nxdomain),
	    cmocka_unit_test(t_build_address),
	    cmocka_unit_test(t_build_block_zero),
	    cmocka_unit_test(t_build_truncation),
	    cmocka_unit_test(t_inspect_positive),
	    cmocka_unit_test(t_inspect_negative),
	    cmocka_unit_test(t_inspect_not_cacheable),
	    cmocka_unit_test(t_inspect_truncated_and_loops),
	    cmocka_unit_test(t_rewrite_ttls),
	    cmocka_unit_test(t_strip_opt_not_last),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
