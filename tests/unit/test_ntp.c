/* test_ntp.c - the NTP packet module: classification of real and built
 * packets, local answers, timestamp conversion, upstream answer checks and
 * the per-client rate limit.
 *
 * The cap_* packets were captured on 127.0.0.1 inside a private network
 * namespace (unshare -n) by a Python UDP listener on port 123; the server
 * reply comes from chronyd 4.3 (-x, "local stratum 8") in the same kind of
 * namespace. Mode 7 packets are built from ntpdc's struct req_pkt. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ntp.h"
#include "ratelimit.h"

/* ntpdig (ntpsec 1.2.2, the sntp package): v4, LI 3 */
static const uint8_t cap_sntp[] = {
    0xe3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xee, 0xaf, 0x1d, 0x57, 0x55, 0x64, 0xc8, 0x00,
};
/* chronyd 4.3 -Q: v4, random transmit timestamp */
static const uint8_t cap_chrony[] = {
    0x23, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf3, 0x13, 0x79, 0x6c, 0x4f, 0x0c, 0x0f, 0x2e,
};
/* chronyd 4.3, version 3 */
static const uint8_t cap_chrony_v3[] = {
    0x1b, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x87, 0xc7, 0x45, 0x30, 0x27, 0xa9, 0x6b, 0x70,
};
/* chronyd 4.3, key 3 MD5: 20-byte MAC */
static const uint8_t cap_chrony_md5[] = {
    0x23, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xde, 0xb1,
    0x40, 0xae, 0xd3, 0x00, 0x4f, 0xcc, 0x00, 0x00, 0x00, 0x03, 0x40, 0x99, 0x4a, 0x19,
    0xde, 0xd2, 0x22, 0x4d, 0x0b, 0x2e, 0xad, 0xdd, 0xe6, 0x0b, 0x8a, 0x26,
};
/* chronyd 4.3, key 1 SHA1: 24-byte MAC */
static const uint8_t cap_chrony_sha1[] = {
    0x23, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x95, 0xbf, 0xbf, 0xa9, 0xc7,
    0x57, 0x12, 0x7e, 0x00, 0x00, 0x00, 0x01, 0xfb, 0x71, 0x3a, 0xfa, 0x9c, 0xe6, 0x1a, 0x8d,
    0xe2, 0xd0, 0x03, 0xb4, 0x47, 0xac, 0x40, 0x0d, 0xc0, 0x1f, 0x3d, 0xfa,
};
/* chronyd 4.3, key 2 SHA256: falls back to v3, 36-byte MAC */
static const uint8_t cap_chrony_sha256[] = {
    0x1b, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8b, 0x6e,
    0x5e, 0x4d, 0xb7, 0x80, 0xfd, 0x56, 0x00, 0x00, 0x00, 0x02, 0x92, 0xfc, 0x13, 0xb6,
    0x9f, 0x56, 0x08, 0xbd, 0x93, 0x9b, 0x5a, 0xa3, 0xdf, 0x19, 0xa2, 0xda, 0x56, 0x5a,
    0x5d, 0x00, 0xdb, 0x28, 0x2b, 0x82, 0x48, 0x03, 0xb6, 0x9f, 0x1a, 0x64, 0x1d, 0xbd,
};
/* chronyd 4.3, extfield F323: one 28-byte extension field */
static const uint8_t cap_chrony_ef[] = {
    0x23, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd9, 0x46, 0x82, 0x19, 0xa0, 0x2e, 0x2d, 0x36,
    0xf3, 0x23, 0x00, 0x1c, 0xf5, 0xbe, 0xdd, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* chronyd 4.3, extfield F323 + key 3 MD5: EF then MAC */
static const uint8_t cap_chrony_ef_md5[] = {
    0x23, 0x00, 0x06, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0x5a, 0x1d, 0x51, 0xdf, 0xaa, 0x90, 0x10,
    0xf3, 0x23, 0x00, 0x1c, 0xf5, 0xbe, 0xdd, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x83, 0x5e, 0x26, 0x96, 0x0f, 0xad, 0xd7, 0x23, 0x40, 0x20, 0x58, 0x55, 0xfb, 0x84, 0xd8, 0xd4,
};
/* ntpsec 1.2.2 ntp.packet.ControlSession.readvar() (what ntpq rv sends): mode 6, 12 bytes */
static const uint8_t cap_ntpq[] = {
    0xd6, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* chronyd 4.3 server (local stratum 8) answering cap_sntp */
static const uint8_t cap_reply_sntp[] = {
    0x24, 0x08, 0x00, 0xe7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x7f, 0x01, 0x01,
    0xee, 0xaf, 0x1e, 0x82, 0x69, 0x2d, 0xfe, 0x8d, 0xee, 0xaf, 0x1d, 0x57, 0x55, 0x64, 0xc8, 0x00,
    0xee, 0xaf, 0x1e, 0x84, 0x65, 0x07, 0x1d, 0x89, 0xee, 0xaf, 0x1e, 0x84, 0x65, 0x26, 0x1b, 0xde,
};

static uint8_t pkt[NTP_MAX_LEN + 64];

/* A 48-byte header with the given first byte and a recognisable transmit
 * timestamp; the rest of pkt is zeroed. */
static void mk_header(uint8_t b0)
{
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = b0;
	pkt[2] = 6;
	for (int i = 0; i < 8; i++)
		pkt[40 + i] = (uint8_t)(0xa0 + i);
}

/* An RFC 7822 extension field of total length len at off (type, length, body). */
static size_t put_ef(size_t off, uint16_t type, uint16_t len)
{
	pkt[off] = (uint8_t)(type >> 8);
	pkt[off + 1] = (uint8_t)type;
	pkt[off + 2] = (uint8_t)(len >> 8);
	pkt[off + 3] = (uint8_t)len;
	for (size_t i = 4; i < len; i++)
		pkt[off + i] = (uint8_t)(i * 7);
	return off + len;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* ---- classification ---- */

static void test_classify_real_clients(void **state)
{
	(void)state;
	assert_int_equal(ntp_classify(cap_sntp, sizeof(cap_sntp)), NTP_CLIENT_REQUEST);
	assert_int_equal(ntp_classify(cap_chrony, sizeof(cap_chrony)), NTP_CLIENT_REQUEST);
	assert_int_equal(ntp_classify(cap_chrony_v3, sizeof(cap_chrony_v3)), NTP_CLIENT_REQUEST);
	/* a MAC or an extension field: only the server asked can answer */
	assert_int_equal(ntp_classify(cap_chrony_md5, sizeof(cap_chrony_md5)),
			 NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(ntp_classify(cap_chrony_sha1, sizeof(cap_chrony_sha1)),
			 NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(ntp_classify(cap_chrony_sha256, sizeof(cap_chrony_sha256)),
			 NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(ntp_classify(cap_chrony_ef, sizeof(cap_chrony_ef)),
			 NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(ntp_classify(cap_chrony_ef_md5, sizeof(cap_chrony_ef_md5)),
			 NTP_CLIENT_AUTHENTICATED);
	/* a server's answer is not a client request */
	assert_int_equal(ntp_classify(cap_reply_sntp, sizeof(cap_reply_sntp)), NTP_DROP_NOT_CLIENT);
}

/* Every mode x version at 48 bytes, with every LI. */
static void test_classify_mode_version(void **state)
{
	(void)state;
	for (unsigned li = 0; li < 4; li++)
		for (unsigned vn = 0; vn < 8; vn++)
			for (unsigned mode = 0; mode < 8; mode++) {
				enum ntp_verdict want;

				mk_header((uint8_t)(li << 6 | vn << 3 | mode));
				if (mode == 6)
					want = NTP_DROP_CONTROL;
				else if (mode == 7)
					want = NTP_DROP_PRIVATE;
				else if (vn == 0 || vn > 4)
					want = NTP_DROP_BAD_VERSION;
				else if (mode != 3)
					want = NTP_DROP_NOT_CLIENT;
				else
					want = NTP_CLIENT_REQUEST;
				assert_int_equal(ntp_classify(pkt, 48), want);
			}
}

static void test_classify_lengths(void **state)
{
	(void)state;
	assert_int_equal(ntp_classify(NULL, 0), NTP_DROP_SHORT);
	assert_int_equal(ntp_classify(cap_chrony, 0), NTP_DROP_SHORT);
	assert_int_equal(ntp_classify(cap_chrony, 1), NTP_DROP_SHORT);
	assert_int_equal(ntp_classify(cap_chrony, 47), NTP_DROP_SHORT);
	assert_int_equal(ntp_classify(cap_sntp, 47), NTP_DROP_SHORT);
	assert_int_equal(ntp_classify(cap_chrony, 48), NTP_CLIENT_REQUEST);
	/* the MAC-carrying capture cut to its header is still a request */
	assert_int_equal(ntp_classify(cap_chrony_md5, 48), NTP_CLIENT_REQUEST);
	/* a bad version is not reported for what is too short to be NTP */
	mk_header(0x03);
	assert_int_equal(ntp_classify(pkt, 47), NTP_DROP_SHORT);
	/* lengths that are not a multiple of 4 */
	mk_header(0x23);
	for (size_t len = 49; len < 52; len++)
		assert_int_equal(ntp_classify(pkt, len), NTP_DROP_MALFORMED);
	assert_int_equal(ntp_classify(cap_chrony_sha1, sizeof(cap_chrony_sha1) - 1),
			 NTP_DROP_MALFORMED);
}

static void test_classify_ntpq(void **state)
{
	(void)state;
	/* the real 12-byte readvar request is counted as mode 6, not "short" */
	assert_int_equal(ntp_classify(cap_ntpq, sizeof(cap_ntpq)), NTP_DROP_CONTROL);
	assert_int_equal(ntp_classify(cap_ntpq, 1), NTP_DROP_CONTROL);
	memset(pkt, 0, sizeof(pkt));
	memcpy(pkt, cap_ntpq, sizeof(cap_ntpq));
	assert_int_equal(ntp_classify(pkt, 48), NTP_DROP_CONTROL);
	assert_int_equal(ntp_classify(pkt, 480), NTP_DROP_CONTROL);
	/* an ntpq response (R bit) and a v4 request: still mode 6 */
	pkt[1] = 0x82;
	assert_int_equal(ntp_classify(pkt, 12), NTP_DROP_CONTROL);
	pkt[0] = 0x26;
	assert_int_equal(ntp_classify(pkt, 12), NTP_DROP_CONTROL);
}

/* ntpdc's struct req_pkt: rm_vn_mode, auth_seq, implementation (3 =
 * IMPL_XNTPD), request (42 = REQ_MON_GETLIST_1), err_nitems, mbz_itemsize,
 * data[176], tstamp -> REQ_LEN_NOMAC 192 bytes. The bare 8-byte header is
 * what monlist amplification scanners send. */
static void test_classify_mode7(void **state)
{
	static const uint8_t firsts[] = {0x17, 0x27, 0x1f, 0x0f, 0x97, 0x3f, 0xd7};
	static const uint8_t monlist8[] = {0x17, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00, 0x00};

	(void)state;
	assert_int_equal(ntp_classify(monlist8, sizeof(monlist8)), NTP_DROP_PRIVATE);
	for (size_t i = 0; i < SL_ARRAY_LEN(firsts); i++) {
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = firsts[i];
		pkt[2] = 3;
		pkt[3] = 0x2a;
		assert_int_equal(ntp_classify(pkt, 192), NTP_DROP_PRIVATE);
		assert_int_equal(ntp_classify(pkt, 48), NTP_DROP_PRIVATE);
		assert_int_equal(ntp_classify(pkt, 8), NTP_DROP_PRIVATE);
		assert_int_equal(ntp_classify(pkt, 1), NTP_DROP_PRIVATE);
	}
}

static void test_classify_extensions(void **state)
{
	size_t off;

	(void)state;
	/* NTS-shaped request: unique identifier (36), cookie (104), authenticator (40) */
	mk_header(0x23);
	off = put_ef(48, 0x0104, 36);
	off = put_ef(off, 0x0204, 104);
	off = put_ef(off, 0x0404, 40);
	assert_int_equal(off, 228);
	assert_int_equal(ntp_classify(pkt, off), NTP_CLIENT_AUTHENTICATED);
	/* ... followed by a 24-byte and a 20-byte MAC */
	assert_int_equal(ntp_classify(pkt, off + 24), NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(ntp_classify(pkt, off + 20), NTP_CLIENT_AUTHENTICATED);
	/* trailing bytes that are neither a field nor a MAC */
	assert_int_equal(ntp_classify(pkt, off + 8), NTP_DROP_MALFORMED);
	assert_int_equal(ntp_classify(pkt, off + 16), NTP_DROP_MALFORMED);
	assert_int_equal(ntp_classify(pkt, off + 4), NTP_DROP_MALFORMED);

	/* a lone 16-byte field is ambiguous (RFC 7822: last field >= 28 without MAC) */
	mk_header(0x23);
	assert_int_equal(ntp_classify(pkt, put_ef(48, 0x2005, 16)), NTP_DROP_MALFORMED);
	mk_header(0x23);
	assert_int_equal(ntp_classify(pkt, put_ef(48, 0x2005, 28)), NTP_CLIENT_AUTHENTICATED);
	/* length 0 would never advance: must be refused, not loop */
	mk_header(0x23);
	put_ef(48, 0x2005, 28);
	pkt[50] = pkt[51] = 0;
	assert_int_equal(ntp_classify(pkt, 76), NTP_DROP_MALFORMED);
	/* length past the end, length not a multiple of 4, length below 16 */
	pkt[51] = 32;
	assert_int_equal(ntp_classify(pkt, 76), NTP_DROP_MALFORMED);
	pkt[51] = 26;
	assert_int_equal(ntp_classify(pkt, 76), NTP_DROP_MALFORMED);
	pkt[51] = 12;
	assert_int_equal(ntp_classify(pkt, 76), NTP_DROP_MALFORMED);

	/* crypto-NAK: 4 zero bytes (no key, so nothing to authenticate); 4
	 * other bytes are nothing in v4 */
	mk_header(0x23);
	assert_int_equal(ntp_classify(pkt, 52), NTP_CLIENT_REQUEST);
	pkt[51] = 1;
	assert_int_equal(ntp_classify(pkt, 52), NTP_DROP_MALFORMED);

	/* v3 has no extension fields: up to 72 bytes of MAC (MS-SNTP); a
	 * crypto-NAK is plain, any other trailer a MAC */
	mk_header(0x1b);
	assert_int_equal(ntp_classify(pkt, 52), NTP_CLIENT_REQUEST);
	for (size_t len = 56; len <= 48 + 72; len += 4)
		assert_int_equal(ntp_classify(pkt, len), NTP_CLIENT_AUTHENTICATED);
	pkt[51] = 3; /* key id 3 without a digest */
	assert_int_equal(ntp_classify(pkt, 52), NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(ntp_classify(pkt, 48 + 76), NTP_DROP_MALFORMED);
}

static void test_classify_max_len(void **state)
{
	size_t off = 48;

	(void)state;
	mk_header(0x23);
	/* 1024 bytes of fields + a 24-byte MAC is the largest accepted */
	for (int i = 0; i < 8; i++)
		off = put_ef(off, 0x0204, 128);
	assert_int_equal(off, 48 + 1024);
	assert_int_equal(ntp_classify(pkt, off + 24), NTP_CLIENT_AUTHENTICATED);
	assert_int_equal(off + 24, NTP_MAX_LEN);
	/* one more field: a valid chain, but too long */
	off = put_ef(off, 0x0204, 28);
	assert_int_equal(ntp_classify(pkt, off), NTP_DROP_MALFORMED);
	/* oversized junk */
	assert_int_equal(ntp_classify(pkt, sizeof(pkt)), NTP_DROP_MALFORMED);
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(ntp_verdict_name(NTP_CLIENT_REQUEST), "ntp_client_requests");
	assert_string_equal(ntp_verdict_name(NTP_CLIENT_AUTHENTICATED), "ntp_client_authenticated");
	assert_string_equal(ntp_verdict_name(NTP_DROP_CONTROL), "ntp_drop_control");
	assert_string_equal(ntp_verdict_name(NTP_DROP_PRIVATE), "ntp_drop_private");
	assert_string_equal(ntp_verdict_name(NTP_DROP_SHORT), "ntp_drop_short");
	assert_string_equal(ntp_verdict_name(NTP_VERDICT_COUNT), "ntp_unknown");
	assert_string_equal(ntp_verdict_name((enum ntp_verdict) - 1), "ntp_unknown");
	for (int a = 0; a < NTP_VERDICT_COUNT; a++) {
		assert_int_equal(strncmp(ntp_verdict_name((enum ntp_verdict)a), "ntp_", 4), 0);
		assert_true(strlen(ntp_verdict_help((enum ntp_verdict)a)) > 10);
		for (int b = a + 1; b < NTP_VERDICT_COUNT; b++)
			assert_string_not_equal(ntp_verdict_name((enum ntp_verdict)a),
						ntp_verdict_name((enum ntp_verdict)b));
	}
}

/* ---- timestamps ---- */

static void test_ts_known_values(void **state)
{
	struct timespec ts = {0, 0}, back;

	(void)state;
	assert_true(ntp_ts_from_timespec(&ts) == (uint64_t)NTP_UNIX_OFFSET << 32);
	ts.tv_nsec = 500000000;
	assert_true(ntp_ts_from_timespec(&ts) == ((uint64_t)NTP_UNIX_OFFSET << 32 | 0x80000000u));
	ts.tv_nsec = 1; /* 2^32 / 10^9 = 4.29...: floor */
	assert_true((uint32_t)ntp_ts_from_timespec(&ts) == 4);
	ts.tv_nsec = 999999999;
	assert_true((uint32_t)ntp_ts_from_timespec(&ts) == 0xfffffffbu);
	/* the sntp capture's transmit time: 2026-11-23T20:15:19.333 UTC */
	ntp_ts_to_timespec(rd64(cap_sntp + 40), &back);
	assert_true(back.tv_sec == 1795464919);
	assert_true(back.tv_nsec == 333569050);
	/* era 1: NTP seconds 0 is 2036-02-07T06:28:16Z, and back */
	ntp_ts_to_timespec(0, &back);
	assert_true(back.tv_sec == INT64_C(2085978496) && back.tv_nsec == 0);
	ts.tv_sec = (time_t)INT64_C(2085978496);
	ts.tv_nsec = 0;
	assert_true(ntp_ts_from_timespec(&ts) == 0);
	/* the top of era 0's accepted range: 1968-01-20 */
	ntp_ts_to_timespec((uint64_t)0x80000000u << 32, &back);
	assert_true(back.tv_sec == -61505152);
	/* a fraction that rounds up to a full second carries */
	ntp_ts_to_timespec((uint64_t)NTP_UNIX_OFFSET << 32 | 0xffffffffu, &back);
	assert_true(back.tv_sec == 1 && back.tv_nsec == 0);
	/* out-of-range nanoseconds are clamped, not wrapped */
	ts.tv_sec = 0;
	ts.tv_nsec = 1500000000;
	assert_true((uint32_t)ntp_ts_from_timespec(&ts) == 0xfffffffbu);
	ts.tv_nsec = -5;
	assert_true((uint32_t)ntp_ts_from_timespec(&ts) == 0);
}

static void test_ts_round_trip(void **state)
{
	static const time_t secs[] = {0, 1, 1700000000, 2085978495, 2085978496, 4000000000};
	struct timespec ts, back;

	(void)state;
	for (size_t s = 0; s < SL_ARRAY_LEN(secs); s++)
		for (long ns = 0; ns < 1000000000; ns += 9973) {
			ts.tv_sec = secs[s];
			ts.tv_nsec = ns;
			ntp_ts_to_timespec(ntp_ts_from_timespec(&ts), &back);
			assert_true(back.tv_sec == ts.tv_sec);
			assert_int_equal(back.tv_nsec, ns);
		}
	for (long ns = 999999000; ns < 1000000000; ns++) {
		ts.tv_sec = 1700000000;
		ts.tv_nsec = ns;
		ntp_ts_to_timespec(ntp_ts_from_timespec(&ts), &back);
		assert_true(back.tv_sec == ts.tv_sec);
		assert_int_equal(back.tv_nsec, ns);
	}
}

/* ---- the clock and local answers ---- */

static struct ntp_clock good_clock(void)
{
	struct ntp_clock c = {
	    .synced = 1,
	    .stratum = 2,
	    .root_delay = 0.015625,   /* exactly 0x400 in 16.16 */
	    .root_dispersion = 0.001, /* 65.536 -> rounded up to 66 */
	    .ref_id = 0xc0000201,
	    .ref_time_ntp = 0xeeaf1d0000000000ull,
	    .leap = 1,
	    .precision = -20,
	};
	return c;
}

static void test_build_reply_fields(void **state)
{
	struct ntp_clock c = good_clock();
	struct timespec rx = {1795464919, 333569305}, tx = {1795464919, 333700000}, back;
	uint8_t out[64];

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(
	    ntp_build_reply(cap_chrony, sizeof(cap_chrony), &c, &rx, &tx, out, sizeof(out)), 48);
	assert_int_equal(out[0], 1 << 6 | 4 << 3 | 4); /* LI 1, VN 4 (copied), mode 4 */
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], cap_chrony[2]); /* poll echoed (6) */
	assert_int_equal((int8_t)out[3], -20);
	assert_int_equal(rd32(out + 4), 0x400);
	assert_int_equal(rd32(out + 8), 66);
	assert_int_equal(rd32(out + 12), 0xc0000201);
	assert_true(rd64(out + 16) == 0xeeaf1d0000000000ull);
	assert_memory_equal(out + 24, cap_chrony + 40, 8); /* origin = client's transmit */
	assert_true(rd64(out + 32) == ntp_ts_from_timespec(&rx));
	assert_true(rd64(out + 40) == ntp_ts_from_timespec(&tx));
	ntp_ts_to_timespec(rd64(out + 32), &back);
	assert_true(back.tv_sec == rx.tv_sec && back.tv_nsec == rx.tv_nsec);
	assert_int_equal(out[48], 0xee); /* nothing past 48 bytes */
	/* the answer is what the relay path would accept for this request */
	assert_true(ntp_is_server_reply(out, 48, cap_chrony, sizeof(cap_chrony)));
	assert_false(ntp_is_server_reply(out, 48, cap_sntp, sizeof(cap_sntp)));
	assert_int_equal(ntp_classify(out, 48), NTP_DROP_NOT_CLIENT);

	/* VN follows the request: v3 in, v3 out; LI follows the clock */
	c.leap = 0;
	c.stratum = 15;
	c.precision = -200; /* clamped to int8 */
	assert_int_equal(
	    ntp_build_reply(cap_chrony_v3, sizeof(cap_chrony_v3), &c, &rx, &tx, out, 48), 48);
	assert_int_equal(out[0], 0 << 6 | 3 << 3 | 4);
	assert_int_equal(out[1], 15);
	assert_int_equal((int8_t)out[3], -128);
	/* the header of a request with extension fields and a MAC gets a
	 * plain 48-byte answer */
	assert_int_equal(ntp_build_reply(cap_chrony_ef_md5, 48, &c, &rx, &tx, out, sizeof(out)),
			 48);
	assert_memory_equal(out + 24, cap_chrony_ef_md5 + 40, 8);
	/* root delay/dispersion saturate and never go negative */
	c.root_delay = -1.0;
	c.root_dispersion = 1e9;
	assert_int_equal(ntp_build_reply(cap_sntp, sizeof(cap_sntp), &c, &rx, &tx, out, 48), 48);
	assert_int_equal(rd32(out + 4), 0);
	assert_int_equal(rd32(out + 8), 0xffffffffu);
	assert_int_equal(out[0] >> 6, 0); /* sntp's LI 3 is not copied */
}

static void test_build_reply_refused(void **state)
{
	struct ntp_clock c = good_clock();
	struct timespec rx = {1700000000, 0}, tx = {1700000000, 1};
	uint8_t out[48], zero[48];

	(void)state;
	memset(out, 0, sizeof(out));
	memset(zero, 0, sizeof(zero));
	c.synced = 0;
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, &rx, &tx, out, 48), -EAGAIN);
	c = good_clock();
	c.leap = 3;
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, &rx, &tx, out, 48), -EAGAIN);
	c = good_clock();
	c.stratum = 16;
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, &rx, &tx, out, 48), -EAGAIN);
	c.stratum = 0;
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, &rx, &tx, out, 48), -EAGAIN);
	assert_memory_equal(out, zero, 48); /* nothing written when refusing */
	c = good_clock();
	c.leap = 4;
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, &rx, &tx, out, 48), -EINVAL);
	c = good_clock();
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, &rx, &tx, out, 47), -ENOBUFS);
	assert_int_equal(ntp_build_reply(cap_chrony, 47, &c, &rx, &tx, out, 48), -EINVAL);
	assert_int_equal(ntp_build_reply(cap_ntpq, sizeof(cap_ntpq), &c, &rx, &tx, out, 48),
			 -EINVAL);
	assert_int_equal(ntp_build_reply(cap_reply_sntp, 48, &c, &rx, &tx, out, 48), -EINVAL);
	/* authenticated requests: no key here to answer them with */
	assert_int_equal(
	    ntp_build_reply(cap_chrony_md5, sizeof(cap_chrony_md5), &c, &rx, &tx, out, 48),
	    -EINVAL);
	assert_int_equal(
	    ntp_build_reply(cap_chrony_ef, sizeof(cap_chrony_ef), &c, &rx, &tx, out, 48), -EINVAL);
	assert_int_equal(ntp_build_reply(NULL, 0, &c, &rx, &tx, out, 48), -EINVAL);
	assert_int_equal(ntp_build_reply(cap_chrony, 48, NULL, &rx, &tx, out, 48), -EINVAL);
	assert_int_equal(ntp_build_reply(cap_chrony, 48, &c, NULL, &tx, out, 48), -EINVAL);
	assert_memory_equal(out, zero, 48);
}

static void test_clock_from_timex(void **state)
{
	struct timex tx;
	struct ntp_clock c;

	(void)state;
	memset(&tx, 0, sizeof(tx));
	tx.status = STA_PLL;
	tx.maxerror = 1500;
	tx.precision = 1;
	tx.time.tv_sec = 1700000000;
	tx.time.tv_usec = 250000;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, &c), 0);
	assert_int_equal(c.synced, 1);
	assert_int_equal(c.leap, 0);
	assert_int_equal(c.stratum, NTP_DEFAULT_STRATUM);
	assert_true(c.root_dispersion > 0.00149 && c.root_dispersion < 0.00151);
	assert_true(c.root_delay == 0.0);
	assert_int_equal(c.precision, -19); /* 2^-19 s = 1.9 us >= 1 us > 2^-20 s */
	assert_int_equal(c.ref_id, NTP_REFID_LOCL);
	assert_true(c.ref_time_ntp ==
		    ((uint64_t)(1700000000u + NTP_UNIX_OFFSET) << 32 | 0x40000000u));
	/* configured stratum wins; nanosecond kernels */
	tx.status = STA_PLL | STA_NANO;
	tx.time.tv_usec = 500000000;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 5, &c), 0);
	assert_int_equal(c.stratum, 5);
	assert_int_equal((uint32_t)c.ref_time_ntp, 0x80000000u);
	/* leap announcements */
	tx.status = STA_PLL | STA_INS;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_INS, 0, &c), 0);
	assert_int_equal(c.synced, 1);
	assert_int_equal(c.leap, 1);
	tx.status = STA_PLL | STA_DEL;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_DEL, 0, &c), 0);
	assert_int_equal(c.leap, 2);
	/* unsynchronised by status bit, by return value, by clock error */
	tx.status = STA_PLL | STA_UNSYNC;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_ERROR, 0, &c), 0);
	assert_int_equal(c.synced, 0);
	assert_int_equal(c.leap, 3);
	tx.status = STA_PLL;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_ERROR, 0, &c), 0);
	assert_int_equal(c.synced, 0);
	tx.status = STA_CLOCKERR;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, &c), 0);
	assert_int_equal(c.synced, 0);
	/* precision: 0 -> the floor; 1 s -> 0; 20 ms -> -5 (31.25 ms) */
	tx.precision = 0;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, &c), 0);
	assert_int_equal(c.precision, -29);
	tx.precision = 1000000;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, &c), 0);
	assert_int_equal(c.precision, 0);
	tx.precision = 20000;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, &c), 0);
	assert_int_equal(c.precision, -5);
	tx.maxerror = -3;
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, &c), 0);
	assert_true(c.root_dispersion == 0.0);
	/* bad arguments */
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 16, &c), -EINVAL);
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, -1, &c), -EINVAL);
	assert_int_equal(ntp_clock_from_timex(NULL, TIME_OK, 0, &c), -EINVAL);
	assert_int_equal(ntp_clock_from_timex(&tx, TIME_OK, 0, NULL), -EINVAL);
}

/* The one test that reads this machine's clock: sane fields, whatever the state. */
static void test_clock_read_real(void **state)
{
	struct ntp_clock c;
	struct timespec now, ref, rx, tx;
	uint8_t out[48];
	int rc;

	(void)state;
	assert_int_equal(ntp_clock_read(&c, 0), 0);
	assert_int_equal(c.stratum, NTP_DEFAULT_STRATUM);
	assert_true(c.leap >= 0 && c.leap <= 3);
	assert_true(c.synced ? c.leap != 3 : c.leap == 3);
	assert_true(c.precision >= -29 && c.precision <= 0);
	assert_true(c.root_dispersion >= 0.0 && c.root_dispersion <= 16.0);
	assert_int_equal(c.ref_id, NTP_REFID_LOCL);
	clock_gettime(CLOCK_REALTIME, &now);
	ntp_ts_to_timespec(c.ref_time_ntp, &ref);
	assert_true(ref.tv_sec <= now.tv_sec && ref.tv_sec >= now.tv_sec - 5);
	rx = tx = now;
	rc = ntp_build_reply(cap_sntp, sizeof(cap_sntp), &c, &rx, &tx, out, sizeof(out));
	assert_int_equal(rc, c.synced ? 48 : -EAGAIN);
	assert_int_equal(ntp_clock_read(&c, 7), 0);
	assert_int_equal(c.stratum, 7);
	assert_int_equal(ntp_clock_read(&c, 99), -EINVAL);
	print_message("kernel clock: synced=%d leap=%d precision=%d maxerror=%.6f s\n", c.synced,
		      c.leap, c.precision, c.root_dispersion);
}

/* ---- upstream answers ---- */

static void test_server_reply(void **state)
{
	uint8_t r[NTP_MAX_LEN + 8];

	(void)state;
	/* chronyd's real answer to the sntp request */
	assert_true(ntp_is_server_reply(cap_reply_sntp, sizeof(cap_reply_sntp), cap_sntp,
					sizeof(cap_sntp)));
	/* ... is not an answer to another request (anti-spoof) */
	assert_false(ntp_is_server_reply(cap_reply_sntp, sizeof(cap_reply_sntp), cap_chrony,
					 sizeof(cap_chrony)));
	memcpy(r, cap_reply_sntp, 48);
	for (int i = 24; i < 32; i++) {
		r[i] ^= 1;
		assert_false(ntp_is_server_reply(r, 48, cap_sntp, sizeof(cap_sntp)));
		r[i] ^= 1;
	}
	/* wrong modes */
	for (uint8_t mode = 0; mode < 8; mode++) {
		r[0] = (uint8_t)((cap_reply_sntp[0] & ~7) | mode);
		assert_true(ntp_is_server_reply(r, 48, cap_sntp, 48) == (mode == 4));
	}
	r[0] = cap_reply_sntp[0];
	/* bad versions */
	r[0] = (uint8_t)((r[0] & 0xc7) | 0 << 3);
	assert_false(ntp_is_server_reply(r, 48, cap_sntp, 48));
	r[0] = (uint8_t)((r[0] & 0xc7) | 5 << 3);
	assert_false(ntp_is_server_reply(r, 48, cap_sntp, 48));
	r[0] = cap_reply_sntp[0];
	/* short answer, short request, NULLs */
	assert_false(ntp_is_server_reply(r, 47, cap_sntp, 48));
	assert_false(ntp_is_server_reply(r, 0, cap_sntp, 48));
	assert_false(ntp_is_server_reply(r, 48, cap_sntp, 47));
	assert_false(ntp_is_server_reply(NULL, 48, cap_sntp, 48));
	assert_false(ntp_is_server_reply(r, 48, NULL, 48));
	/* kiss-o'-death RATE goes back to the client */
	r[0] = 0xe4 | (r[0] & 0x38);
	r[1] = 0;
	memcpy(r + 12, "RATE", 4);
	assert_true(ntp_is_server_reply(r, 48, cap_sntp, 48));
	/* answers with extension fields are relayed; absurd lengths are not */
	memset(r + 48, 0, sizeof(r) - 48);
	assert_true(ntp_is_server_reply(r, 48 + 28, cap_sntp, 48));
	assert_true(ntp_is_server_reply(r, NTP_MAX_LEN, cap_sntp, 48));
	assert_false(ntp_is_server_reply(r, NTP_MAX_LEN + 4, cap_sntp, 48));
}

/* Answers to authenticated requests: any server packet of a sane length. */
static void test_server_packet(void **state)
{
	uint8_t r[NTP_MAX_LEN + 8];

	(void)state;
	memset(r, 0, sizeof(r));
	memcpy(r, cap_reply_sntp, 48);
	assert_true(ntp_is_server_packet(r, 48));
	/* an interleaved answer's origin is not the request's transmit time */
	r[24] ^= 0xff;
	assert_true(ntp_is_server_packet(r, 48));
	/* NTS answers: unique identifier + authenticator and encrypted cookies */
	assert_true(ntp_is_server_packet(r, 48 + 36 + 168));
	assert_true(ntp_is_server_packet(r, NTP_MAX_LEN));
	assert_false(ntp_is_server_packet(r, NTP_MAX_LEN + 4));
	assert_false(ntp_is_server_packet(r, 47));
	assert_false(ntp_is_server_packet(NULL, 48));
	for (uint8_t mode = 0; mode < 8; mode++) {
		r[0] = (uint8_t)((cap_reply_sntp[0] & ~7) | mode);
		assert_true(ntp_is_server_packet(r, 48) == (mode == 4));
	}
	for (uint8_t vn = 0; vn < 8; vn++) {
		r[0] = (uint8_t)((cap_reply_sntp[0] & 0xc7) | vn << 3);
		assert_true(ntp_is_server_packet(r, 48) == (vn >= 1 && vn <= 4));
	}
	/* requests are not answers */
	assert_false(ntp_is_server_packet(cap_chrony_ef_md5, sizeof(cap_chrony_ef_md5)));
}

/* ---- rate limit ---- */

static struct sockaddr_in v4(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(ip);
	a.sin_port = htons(port);
	return a;
}

static struct sockaddr_in6 v6(const char *s)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, &a.sin6_addr), 1);
	return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_rl_burst_refill(void **state)
{
	struct ratelimit *rl = ratelimit_new(2, 5, 1024, false);
	struct sockaddr_in a = v4(0xc0000201, 40000);
	uint64_t t = 1000;

	(void)state;
	assert_non_null(rl);
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_allow(rl, SA(a), t));
	assert_false(ratelimit_allow(rl, SA(a), t));
	assert_false(ratelimit_allow(rl, SA(a), t + 499)); /* 0.998 of a token */
	assert_true(ratelimit_allow(rl, SA(a), t + 500));
	assert_false(ratelimit_allow(rl, SA(a), t + 500));
	/* a long pause refills to the burst, not beyond */
	t += 3600 * 1000;
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_allow(rl, SA(a), t));
	assert_false(ratelimit_allow(rl, SA(a), t));
	/* steady 2/s passes: one every 500 ms */
	for (int i = 1; i <= 20; i++) {
		assert_true(ratelimit_allow(rl, SA(a), t + 500u * (uint64_t)i));
		assert_false(ratelimit_allow(rl, SA(a), t + 500u * (uint64_t)i));
	}
	/* the clock going back refills nothing and breaks nothing */
	assert_false(ratelimit_allow(rl, SA(a), 5));
	/* a huge jump does not overflow the bucket */
	for (int i = 0; i < 5; i++)
		assert_true(ratelimit_allow(rl, SA(a), UINT64_MAX - 1));
	assert_false(ratelimit_allow(rl, SA(a), UINT64_MAX - 1));
	ratelimit_free(rl);
}

static void test_rl_clients(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 64, false);
	struct sockaddr_in a = v4(0xc0000201, 123), a2 = v4(0xc0000201, 50000),
			   b = v4(0xc0000202, 123);
	struct sockaddr_in6 m = v6("::ffff:192.0.2.1"), m3 = v6("::ffff:192.0.2.3"),
			    x = v6("2001:db8::1"), y = v6("2001:db8::2");
	struct sockaddr_un {
		sa_family_t f;
		char p[20];
	} u = {AF_UNIX, "x"};

	(void)state;
	assert_non_null(rl);
	assert_true(ratelimit_allow(rl, SA(a), 0));
	assert_false(ratelimit_allow(rl, SA(a2), 0)); /* port ignored */
	assert_false(ratelimit_allow(rl, SA(m), 0));  /* v4-mapped is the v4 client */
	assert_true(ratelimit_allow(rl, SA(b), 0));	  /* another client */
	assert_true(ratelimit_allow(rl, SA(m3), 0));  /* mapped, new v4 client */
	assert_false(ratelimit_allow(rl, SA(m3), 0));
	assert_true(ratelimit_allow(rl, SA(x), 0));
	assert_true(ratelimit_allow(rl, SA(y), 0)); /* whole /128, not the /64 */
	assert_false(ratelimit_allow(rl, SA(x), 0));
	assert_false(ratelimit_allow(rl, SA(u), 0)); /* neither family */
	assert_false(ratelimit_allow(rl, NULL, 0));
	assert_false(ratelimit_allow(NULL, SA(a), 0));
	ratelimit_free(rl);
	ratelimit_free(NULL);
	assert_null(ratelimit_new(0, 1, 16, false));
	assert_null(ratelimit_new(1, 0, 16, false));
	assert_null(ratelimit_new(1, 1, 0, false));
	assert_null(ratelimit_new(1, 1, (size_t)1 << 30, false));
	rl = ratelimit_new(1, 1, 1, false); /* rounded up to one set of 4 */
	assert_non_null(rl);
	for (uint32_t i = 0; i < 8; i++) {
		struct sockaddr_in c = v4(0x0a000000 + i % 4, 1);

		assert_true(ratelimit_allow(rl, SA(c), 0) == (i < 4));
	}
	ratelimit_free(rl);
}

/* Far more clients than slots: newcomers get a fresh bucket (the table
 * forgets the stalest), but a client that keeps sending stays tracked, so
 * churn cannot reset a busy client's bucket. */
static void test_rl_many_clients(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 16, false);
	struct sockaddr_in hot = v4(0xc0000263, 123);
	unsigned allowed_new = 0;

	(void)state;
	assert_non_null(rl);
	assert_true(ratelimit_allow(rl, SA(hot), 0));
	for (uint32_t i = 0; i < 400; i++) {
		uint64_t t = 2 * (uint64_t)i + 2;
		struct sockaddr_in c = v4(0xc6336400 + i, 9);

		assert_false(ratelimit_allow(rl, SA(hot), t));
		allowed_new += ratelimit_allow(rl, SA(c), t + 1);
	}
	assert_int_equal(allowed_new, 400);
	/* a flood of distinct v6 addresses: no crash, every one admitted once */
	allowed_new = 0;
	for (uint32_t i = 0; i < 20000; i++) {
		struct sockaddr_in6 a = v6("2001:db8::");

		memcpy(&a.sin6_addr.s6_addr[12], &i, 4);
		allowed_new += ratelimit_allow(rl, SA(a), 1000);
	}
	assert_int_equal(allowed_new, 20000);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_real_clients),
	    cmocka_unit_test(test_classify_mode_version),
	    cmocka_unit_test(test_classify_lengths),
	    cmocka_unit_test(test_classify_ntpq),
	    cmocka_unit_test(test_classify_mode7),
	    cmocka_unit_test(test_classify_extensions),
	    cmocka_unit_test(test_classify_max_len),
	    cmocka_unit_test(test_verdict_names),
	    cmocka_unit_test(test_ts_known_values),
	    cmocka_unit_test(test_ts_round_trip),
	    cmocka_unit_test(test_build_reply_fields),
	    cmocka_unit_test(test_build_reply_refused),
	    cmocka_unit_test(test_clock_from_timex),
	    cmocka_unit_test(test_clock_read_real),
	    cmocka_unit_test(test_server_reply),
	    cmocka_unit_test(test_server_packet),
	    cmocka_unit_test(test_rl_burst_refill),
	    cmocka_unit_test(test_rl_clients),
	    cmocka_unit_test(test_rl_many_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
