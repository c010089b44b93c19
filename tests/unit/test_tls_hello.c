#include "config.h"
/* test_tls_hello.c - ClientHello parsing: the RFC 9001 sample hello, every
 * incomplete prefix, host name normalisation, ALPN limits, duplicated and
 * malformed fields, and byte mutations of a post-quantum-sized hello. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sluice.h"
#include "tls_hello.h"
#include "quic_seal.h"

/* The ClientHello inside the RFC 9001 A.2 CRYPTO frame (after 06 00 40f1). */
static const char rfc_hello_hex[] =
    "010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47"
    "f06a2b69484c00000413011302010000c000000010000e00000b6578616d706c"
    "652e636f6dff01000100000a00080006001d0017001800100007000504616c70"
    "6e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559f"
    "edba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d001000"
    "0e0403050306030203080408050806002d00020101001c000240010039003204"
    "08ffffffffffffffff05048000ffff07048000ffff0801100104800075300901"
    "100f088394c8f03e51570806048000ffff";

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* A hello whose extensions block is @ext (@elen bytes), or none at all
 * when @ext is NULL; @sid is the session id length. */
static size_t mk_hello(uint8_t *out, const uint8_t *ext, size_t elen, unsigned sid)
{
	struct seal_buf b = {out, 0};

	sb_u8(&b, 1);
	sb_fill(&b, 0, 3);
	sb_u16(&b, 0x0303);
	sb_fill(&b, 7, 32);
	sb_u8(&b, sid);
	sb_fill(&b, 1, sid);
	sb_u16(&b, 2);
	sb_u16(&b, 0x1301);
	sb_u8(&b, 1);
	sb_u8(&b, 0);
	if (ext) {
		sb_u16(&b, (unsigned)elen);
		sb_mem(&b, ext, elen);
	}
	sb_patch(&b, 1, 3);
	return b.n;
}

/* A server_name extension naming @name (length @n) with name type @type. */
static size_t mk_sni_ext(uint8_t *out, unsigned type, const char *name, size_t n)
{
	struct seal_buf b = {out, 0};

	sb_u16(&b, 0);
	sb_u16(&b, (unsigned)n + 5);
	sb_u16(&b, (unsigned)n + 3);
	sb_u8(&b, type);
	sb_u16(&b, (unsigned)n);
	sb_mem(&b, name, n);
	return b.n;
}

static void test_rfc_hello(void **state)
{
	uint8_t msg[300];
	size_t len = unhex(rfc_hello_hex, msg);
	struct tls_hello h;

	(void)state;
	assert_int_equal(len, 241);
	assert_int_equal(tls_hello_parse(msg, len, &h), 0);
	assert_int_equal(h.need, 241);
	assert_true(h.has_sni);
	assert_false(h.sni_invalid);
	assert_string_equal(h.sni, "example.com");
	assert_true(h.has_alpn);
	assert_int_equal(h.alpn_count, 1);
	assert_string_equal(h.alpn[0], "alpn");
	assert_int_equal(h.alpn_dropped, 0);
	/* bytes after the message (the next handshake message) do not matter */
	memset(msg + len, 0xee, 20);
	assert_int_equal(tls_hello_parse(msg, len + 20, &h), 0);
	assert_string_equal(h.sni, "example.com");
}

static void test_incomplete(void **state)
{
	uint8_t msg[300];
	size_t len = unhex(rfc_hello_hex, msg);
	struct tls_hello h;

	(void)state;
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_equal(tls_hello_parse(msg, cut, &h), -EAGAIN);
		assert_int_equal(h.need, cut < 4 ? 4 : 241);
		assert_false(h.has_sni);
	}
	/* a wrong type is known from the first byte */
	msg[0] = 2;
	assert_int_equal(tls_hello_parse(msg, 1, &h), -EINVAL);
	assert_int_equal(tls_hello_parse(msg, len, &h), -EINVAL);
	assert_int_equal(tls_hello_parse(msg, 0, &h), -EAGAIN);
}

static void test_host_valid(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: invalid */
	} cases[] = {
	    {"Example.COM.", "example.com"},
	    {"a_b-c.d", "a_b-c.d"},
	    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
	    {"192.0.2.1", "192.0.2.1"},
	    {"x", "x"},
	    {"", NULL},
	    {".", NULL},
	    {"a..b", NULL},
	    {".a", NULL},
	    {"a.b..", NULL},
	    {"a b", NULL},
	    {"a/b", NULL},
	    {"caf\xc3\xa9.example", NULL},
	    {"*.example", NULL},
	};
	char out[TLS_HELLO_SNI_MAX + 1], name[300];

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
		bool ok =
		    tls_hello_host_valid((const uint8_t *)cases[i].in, strlen(cases[i].in), out);

		assert_int_equal(ok, cases[i].out != NULL);
		assert_string_equal(out, cases[i].out ? cases[i].out : "");
	}
	assert_false(tls_hello_host_valid((const uint8_t *)"a\0b", 3, out));
	/* labels of 63 bytes pass, 64 do not */
	memset(name, 'a', 64);
	assert_true(tls_hello_host_valid((const uint8_t *)name, 63, out));
	assert_false(tls_hello_host_valid((const uint8_t *)name, 64, out));
	/* 253 bytes pass (254 with a trailing dot), 254 do not */
	for (size_t i = 0; i < sizeof(name); i++)
		name[i] = i % 50 == 49 ? '.' : 'b';
	name[252] = 'c';
	assert_true(tls_hello_host_valid((const uint8_t *)name, 253, out));
	assert_int_equal(strlen(out), 253);
	name[253] = '.';
	assert_true(tls_hello_host_valid((const uint8_t *)name, 254, out));
	assert_int_equal(strlen(out), 253);
	name[253] = 'c';
	assert_false(tls_hello_host_valid((const uint8_t *)name, 254, out));
}

static void test_sni_in_hello(void **state)
{
	uint8_t msg[8192];
	struct tls_hello h;
	size_t len;

	(void)state;
	len = seal_client_hello(msg, "WWW.Example.com.", NULL, 0, 1216);
	assert_int_equal(tls_hello_parse(msg, len, &h), 0);
	assert_string_equal(h.sni, "www.example.com");
	assert_false(h.has_alpn);
	assert_int_equal(h.alpn_count, 0);
	len = seal_client_hello(msg, "Bad/Name.", NULL, 0, 0);
	assert_int_equal(tls_hello_parse(msg, len, &h), 0);
	assert_true(h.has_sni);
	assert_true(h.sni_invalid);
	assert_string_equal(h.sni, "bad/name"); /* kept for the rules, lowercased */
	len = seal_client_hello(msg, NULL, NULL, 0, 0);
	assert_int_equal(tls_hello_parse(msg, len, &h), 0);
	assert_false(h.has_sni);
}

static void test_sni_duplicates(void **state)
{
	uint8_t ext[600], msg[1000];
	struct tls_hello h;
	size_t e, n;

	(void)state;
	/* two server_name extensions */
	e = mk_sni_ext(ext, 0, "a.example", 9);
	e += mk_sni_ext(ext + e, 0, "b.example", 9);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	/* two host_names in one list */
	{
		static const uint8_t two[] = {0,   0,	0,   14, 0, 12, 0,   0,	  3,
					      'a', '.', 'b', 0,	 0, 3,	'c', '.', 'd'};

		n = mk_hello(msg, two, sizeof(two), 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	}
	/* an unknown name type beside the host_name is skipped */
	{
		static const uint8_t mixed[] = {0,   0,	  0,   14, 0, 12, 9,   0,   3,
						'z', 'z', 'z', 0,  0, 3,  'c', '.', 'd'};

		n = mk_hello(msg, mixed, sizeof(mixed), 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), 0);
		assert_string_equal(h.sni, "c.d");
	}
	/* only an unknown name type: no SNI */
	e = mk_sni_ext(ext, 7, "a.example", 9);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_false(h.has_sni);
	/* an empty host_name, an empty list, a list longer than the extension */
	e = mk_sni_ext(ext, 0, "", 0);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	n = mk_hello(msg, (const uint8_t *)"\0\0\0\2\0\0", 6, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	n = mk_hello(msg, (const uint8_t *)"\0\0\0\3\0\7\0", 7, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	/* a host name of 300 bytes: read, flagged invalid, not copied past sni[] */
	{
		char longname[300];

		memset(longname, 'q', sizeof(longname));
		e = mk_sni_ext(ext, 0, longname, sizeof(longname));
		n = mk_hello(msg, ext, e, 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), 0);
		assert_true(h.sni_invalid);
		assert_string_equal(h.sni, "");
	}
}

/* A host_name that is no plain host name is kept escaped like a DNS query
 * name (\DDD), so that rules still see its labels; up to 255 bytes. */
static void test_sni_escaped(void **state)
{
	uint8_t ext[700], msg[1000];
	char name[300], want[TLS_HELLO_SNI_TEXT_MAX + 1];
	struct tls_hello h;
	size_t e, n, w = 0;

	(void)state;
	/* two 60-byte labels of 0x01 in front of ads.example.com */
	memset(name, 1, 121);
	name[60] = '.';
	memcpy(name + 121, ".ADS.example.com.", 17);
	for (int i = 0; i < 121; i++)
		w += (size_t)sprintf(want + w, i == 60 ? "." : "\\001");
	strcpy(want + w, ".ads.example.com");
	e = mk_sni_ext(ext, 0, name, 138);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_true(h.has_sni);
	assert_true(h.sni_invalid);
	assert_int_equal(strlen(h.sni), 497);
	assert_string_equal(h.sni, want);
	/* NUL, space, backslash, DEL and 0xff are escaped; '.' still ends a label */
	e = mk_sni_ext(ext, 0, "a\0 \\\x7f\xff.b", 8);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_string_equal(h.sni, "a\\000\\032\\092\\127\\255.b");
	/* 255 bytes of 0xff: 1020 characters; 256 bytes: not kept */
	memset(name, 0xff, 256);
	e = mk_sni_ext(ext, 0, name, 255);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_int_equal(strlen(h.sni), TLS_HELLO_SNI_TEXT_MAX);
	assert_memory_equal(h.sni + TLS_HELLO_SNI_TEXT_MAX - 8, "\\255\\255", 8);
	e = mk_sni_ext(ext, 0, name, 256);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_true(h.has_sni && h.sni_invalid);
	assert_string_equal(h.sni, "");
	name[255] = '.'; /* 255 bytes and the root dot */
	e = mk_sni_ext(ext, 0, name, 256);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_int_equal(strlen(h.sni), TLS_HELLO_SNI_TEXT_MAX);
	/* plain but too long (254 bytes): kept as it is */
	memset(name, 'x', 254);
	memcpy(name + 250, ".com", 4);
	e = mk_sni_ext(ext, 0, name, 254);
	n = mk_hello(msg, ext, e, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_true(h.sni_invalid);
	assert_int_equal(strlen(h.sni), 254);
	assert_memory_equal(h.sni + 250, ".com", 5);
}

static void test_alpn(void **state)
{
	static const char *const names[] = {"h3", "h3-29", "hq-interop", "doq", "a",
					    "b",  "c",	   "d",		 "e",	"f"};
	char longname[40];
	const char *list[12];
	uint8_t msg[8192];
	struct tls_hello h;
	size_t len, n = 0;

	(void)state;
	memset(longname, 'L', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	list[n++] = names[0];
	list[n++] = longname;
	list[n++] = "sp ace";
	for (size_t i = 1; i < SL_ARRAY_LEN(names); i++)
		list[n++] = names[i];
	len = seal_client_hello(msg, "alpn.example", list, n, 0);
	assert_int_equal(tls_hello_parse(msg, len, &h), 0);
	assert_int_equal(h.alpn_count, TLS_HELLO_ALPN_MAX);
	assert_int_equal(h.alpn_dropped, 4); /* long, space, and the 9th and 10th good names */
	for (size_t i = 0; i < TLS_HELLO_ALPN_MAX; i++)
		assert_string_equal(h.alpn[i], names[i]);
	/* a 31-byte name is kept whole */
	longname[TLS_HELLO_ALPN_LEN] = '\0';
	list[0] = longname;
	len = seal_client_hello(msg, "alpn.example", list, 1, 0);
	assert_int_equal(tls_hello_parse(msg, len, &h), 0);
	assert_string_equal(h.alpn[0], longname);
	/* an empty name, an empty list, two ALPN extensions */
	{
		static const uint8_t empty_name[] = {0, 16, 0, 5, 0, 3, 2, 'h', '3', 0};
		static const uint8_t empty_list[] = {0, 16, 0, 2, 0, 0};
		static const uint8_t twice[] = {0, 16, 0, 5, 0, 3, 2, 'h', '3',
						0, 16, 0, 5, 0, 3, 2, 'h', '3'};
		static const uint8_t ok[] = {0, 16, 0, 5, 0, 3, 2, 'h', '3'};

		n = mk_hello(msg, empty_name, sizeof(empty_name), 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
		n = mk_hello(msg, empty_list, sizeof(empty_list), 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
		n = mk_hello(msg, twice, sizeof(twice), 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
		n = mk_hello(msg, ok, sizeof(ok), 0);
		assert_int_equal(tls_hello_parse(msg, n, &h), 0);
		assert_int_equal(h.alpn_count, 1);
		assert_false(h.has_sni);
	}
}

static void test_malformed_body(void **state)
{
	uint8_t msg[1000], ext[100];
	struct tls_hello h;
	size_t n, e = mk_sni_ext(ext, 0, "x.example", 9);

	(void)state;
	/* no extensions block at all (an old hello): fine, nothing found */
	n = mk_hello(msg, NULL, 0, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_false(h.has_sni);
	/* an empty extensions block */
	n = mk_hello(msg, ext, 0, 0);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	/* session ids up to 32 bytes */
	n = mk_hello(msg, ext, e, 32);
	assert_int_equal(tls_hello_parse(msg, n, &h), 0);
	assert_string_equal(h.sni, "x.example");
	n = mk_hello(msg, ext, e, 33);
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	assert_false(h.has_sni); /* nothing half-parsed is reported */
	/* extensions block one byte longer / shorter than the body */
	n = mk_hello(msg, ext, e, 0);
	msg[n - e - 1]++;
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	msg[n - e - 1] -= 2;
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	/* odd cipher suite length: offset 4 + 2 + 32 + 1 = 39 */
	n = mk_hello(msg, ext, e, 0);
	msg[40] = 3;
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	/* no compression methods */
	n = mk_hello(msg, ext, e, 0);
	msg[43] = 0;
	assert_int_equal(tls_hello_parse(msg, n, &h), -EINVAL);
	/* a body too short for the random */
	assert_int_equal(tls_hello_parse((const uint8_t *)"\x01\0\0\x05\x03\x03\0\0\0", 9, &h),
			 -EINVAL);
	assert_int_equal(h.need, 9);
}

/* Every byte of a 1.4 KB hello set to a few values: any return is fine,
 * a crash or an invalid name is not (ASan watches the reads). */
static void test_mutations(void **state)
{
	static const char *const alpn[] = {"h3"};
	static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	uint8_t msg[8192], copy[8192];
	size_t len = seal_client_hello(msg, "mut.example", alpn, 1, 1216);
	struct tls_hello h;
	char check[TLS_HELLO_SNI_MAX + 1];

	(void)state;
	for (size_t i = 0; i < len; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			int rc;

			memcpy(copy, msg, len);
			copy[i] = vals[v];
			rc = tls_hello_parse(copy, len, &h);
			assert_true(rc == 0 || rc == -EINVAL || rc == -EAGAIN);
			if (rc == 0 && h.has_sni && !h.sni_invalid)
				assert_true(tls_hello_host_valid((const uint8_t *)h.sni,
								 strlen(h.sni), check));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_hello),	   cmocka_unit_test(test_incomplete),
	    cmocka_unit_test(test_host_valid),	   cmocka_unit_test(test_sni_in_hello),
	    cmocka_unit_test(test_sni_duplicates), cmocka_unit_test(test_sni_escaped),
	    cmocka_unit_test(test_alpn),	   cmocka_unit_test(test_malformed_body),
	    cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
