#include "config.h"
/* test_quic.c - QUIC Initial decryption and ClientHello sniffing: the RFC
 * 9001 / RFC 9369 sample packets, keys and an encryptor checked against
 * them, then packets built with that encryptor for the cases a real flow
 * shows (split, reordered, coalesced, retried) and the ones an attacker
 * sends (truncated, forged, oversized, garbage), and real captures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>

#include "flow.h"
#include "quic.h"
#include "quic_seal.h"
#include "quic_svc.h"
#include "sluice.h"
#include "svc.h"
#include "worker.h"

/* RFC 9001 Appendix A and RFC 9369 Appendix A, copied from the RFC text. */
static const char v1_client_hex[] =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";
static const char v1_server_hex[] =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
    "2158407dd074ee";
static const char v2_client_hex[] =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc";
static const char v2_server_hex[] =
    "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
    "baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
    "f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
    "c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
    "4bed8521e2e140";
static const char rfc_crypto_hex[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";

static const uint8_t rfc_dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t test_dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* Decode @hex into a fresh buffer; *len gets its size. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	size_t n;
	uint8_t *want = unhex(hex, &n);

	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	free(want);
}

/* One whole sniff over @n datagrams; returns the last result. */
static enum quic_sniff_result feed_all(struct quic_sniff *s, uint8_t *const *d, const size_t *len,
				       size_t n)
{
	enum quic_sniff_result r = QUIC_SNIFF_MORE;

	for (size_t i = 0; i < n; i++)
		r = quic_sniff_feed(s, d[i], len[i]);
	return r;
}

static enum quic_sniff_result sniff_once(struct quic_crypto *c, const uint8_t *d, size_t len)
{
	struct quic_sniff *s = quic_sniff_new(c);
	enum quic_sniff_result r;

	assert_non_null(s);
	r = quic_sniff_feed(s, d, len);
	quic_sniff_free(s);
	return r;
}

/* ---- RFC vectors --------------------------------------------------------- */

static void test_rfc9001_keys(void **state)
{
	struct quic_crypto *c = *state;
	struct quic_keys k;

	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_1, rfc_dcid, 8, false, &k), 0);
	assert_hex(k.key, 16, "1f369613dd76d5467730efcbe3b1a22d");
	assert_hex(k.iv, 12, "fa044b2f42a3fd3b46fb255c");
	assert_hex(k.hp, 16, "9f50449e04a0e810283a1e9933adedd2");
	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_1, rfc_dcid, 8, true, &k), 0);
	assert_hex(k.key, 16, "cf3a5331653c364c88f0f379b6067e37");
	assert_hex(k.iv, 12, "0ac1493ca1905853b0bba03e");
	assert_hex(k.hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
	assert_int_equal(quic_initial_keys(c, 0x1a2a3a4a, rfc_dcid, 8, false, &k),
			 -EPROTONOSUPPORT);
	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_1, rfc_dcid, 21, false, &k), -EINVAL);
}

static void test_rfc9369_keys(void **state)
{
	struct quic_crypto *c = *state;
	struct quic_keys k;

	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_2, rfc_dcid, 8, false, &k), 0);
	assert_hex(k.key, 16, "8b1a0bc121284290a29e0971b5cd045d");
	assert_hex(k.iv, 12, "91f73e2351d8fa91660e909f");
	assert_hex(k.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9");
	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_2, rfc_dcid, 8, true, &k), 0);
	assert_hex(k.key, 16, "82db637861d55e1d011f19ea71d5d2a7");
	assert_hex(k.iv, 12, "dd13c276499c0249d3310652");
	assert_hex(k.hp, 16, "edf6d05c83121201b436e16877593c3a");
}

/* Decrypt the RFC client Initial with the low-level calls: header fields,
 * packet number 2, and a plaintext of the CRYPTO frame then PADDING. */
static void check_rfc_decrypt(struct quic_crypto *c, uint32_t version, const char *hex)
{
	size_t len, off, plen, clen;
	uint8_t *pkt = unhex(hex, &len), *crypto = unhex(rfc_crypto_hex, &clen);
	struct quic_keys k;
	struct quic_hdr h;
	uint64_t pn;

	assert_int_equal(len, 1200);
	assert_int_equal(quic_parse_header(pkt, len, &h), 0);
	assert_int_equal(h.type, QUIC_PKT_INITIAL);
	assert_int_equal(h.version, version);
	assert_int_equal(h.dcid_len, 8);
	assert_memory_equal(h.dcid, rfc_dcid, 8);
	assert_int_equal(h.scid_len, 0);
	assert_int_equal(h.token_len, 0);
	assert_int_equal(h.pn_off, 18);
	assert_int_equal(h.pkt_len, 1200);
	assert_int_equal(quic_initial_keys(c, version, h.dcid, h.dcid_len, false, &k), 0);
	assert_int_equal(quic_decrypt_initial(c, pkt, &h, &k, 0, &pn, &off, &plen), 0);
	assert_int_equal(pn, 2);
	assert_int_equal(off, 22);
	assert_int_equal(plen, 1162);
	assert_int_equal(pkt[0], version == QUIC_VERSION_1 ? 0xc3 : 0xd3);
	assert_memory_equal(pkt + off, crypto, clen);
	for (size_t i = clen; i < plen; i++)
		assert_int_equal(pkt[off + i], 0);
	free(pkt);
	free(crypto);
}

static void check_rfc_sniff(struct quic_crypto *c, uint32_t version, const char *hex)
{
	size_t len;
	uint8_t *pkt = unhex(hex, &len);
	struct quic_sniff *s = quic_sniff_new(c);
	const char *alpn[4];

	assert_non_null(s);
	assert_int_equal(quic_sniff_feed(s, pkt, len), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "example.com");
	assert_int_equal(quic_sniff_alpn(s, alpn, 4), 1);
	assert_string_equal(alpn[0], "alpn");
	assert_int_equal(quic_sniff_version(s), version);
	assert_int_equal(quic_sniff_packets(s), 1);
	assert_int_equal(quic_sniff_hello(s)->need, 241);
	/* final: the same answer whatever comes next */
	assert_int_equal(quic_sniff_feed(s, (const uint8_t *)"junk", 4), QUIC_SNIFF_DONE);
	quic_sniff_free(s);
	free(pkt);
}

static void test_rfc9001_client_initial(void **state)
{
	struct quic_crypto *c = *state;
	check_rfc_decrypt(c, QUIC_VERSION_1, v1_client_hex);
	check_rfc_sniff(c, QUIC_VERSION_1, v1_client_hex);
}

static void test_rfc9369_client_initial(void **state)
{
	struct quic_crypto *c = *state;
	check_rfc_decrypt(c, QUIC_VERSION_2, v2_client_hex);
	check_rfc_sniff(c, QUIC_VERSION_2, v2_client_hex);
}

/* The server's Initial decrypts with the server keys (the key derivation
 * covers both directions) but is not a client Initial for the sniffer. */
static void check_rfc_server(struct quic_crypto *c, uint32_t version, const char *hex)
{
	size_t len, off, plen;
	uint8_t *pkt = unhex(hex, &len);
	struct quic_keys k;
	struct quic_hdr h;
	uint64_t pn;

	assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_NOT_QUIC);
	assert_int_equal(quic_parse_header(pkt, len, &h), 0);
	assert_int_equal(h.dcid_len, 0);
	assert_int_equal(h.scid_len, 8);
	assert_int_equal(quic_initial_keys(c, version, rfc_dcid, 8, true, &k), 0);
	assert_int_equal(quic_decrypt_initial(c, pkt, &h, &k, 0, &pn, &off, &plen), 0);
	assert_int_equal(pn, 1);
	assert_int_equal(plen, 99);
	assert_int_equal(pkt[off], 0x02); /* ACK */
	free(pkt);
}

static void test_rfc_server_initial(void **state)
{
	struct quic_crypto *c = *state;
	check_rfc_server(c, QUIC_VERSION_1, v1_server_hex);
	check_rfc_server(c, QUIC_VERSION_2, v2_server_hex);
}

/* The test encryptor reproduces both RFC client packets bit for bit, so
 * the packets the other tests build are real Initial packets. */
static void test_encryptor_matches_rfc(void **state)
{
	static const uint32_t versions[2] = {QUIC_VERSION_1, QUIC_VERSION_2};
	const char *hex[2] = {v1_client_hex, v2_client_hex};
	uint8_t payload[1162] = {0}, out[1300];
	size_t clen, len;
	uint8_t *crypto = unhex(rfc_crypto_hex, &clen);

	(void)state;
	memcpy(payload, crypto, clen);
	for (int i = 0; i < 2; i++) {
		len = seal_initial(versions[i], rfc_dcid, 8, NULL, 0, NULL, 0, 2, 4, payload,
				   sizeof(payload), out, sizeof(out));
		assert_hex(out, len, hex[i]);
	}
	free(crypto);
}

/* ---- built packets --------------------------------------------------- */

static const char *const h3[] = {"h3"};

/* A client Initial from test_dcid carrying the given frames, padded. */
static size_t mk_initial(uint32_t version, uint64_t pn, const uint8_t *frames, size_t flen,
			 size_t pad_to, uint8_t *out)
{
	uint8_t payload[4096] = {0};
	size_t plen = flen > pad_to ? flen : pad_to;

	assert_true(plen <= sizeof(payload));
	memcpy(payload, frames, flen);
	return seal_initial(version, test_dcid, 8, (const uint8_t *)"\x09\x09", 2, NULL, 0, pn, 2,
			    payload, plen, out, 4200);
}

static void test_split_hello(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], p1[4200], p2[4200];
	size_t chlen = seal_client_hello(ch, "www.Example.ORG", h3, 1, 1216);
	size_t half = 1100, n1, n2;
	struct quic_sniff *s = quic_sniff_new(c);
	const char *alpn[2];

	assert_true(chlen > 1300); /* does not fit one packet */
	n1 = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, half), 1162, p1);
	n2 = mk_initial(QUIC_VERSION_1, 1, fr, seal_crypto_frame(fr, half, ch + half, chlen - half),
			1162, p2);
	assert_int_equal(quic_sniff_feed(s, p1, n1), QUIC_SNIFF_MORE);
	assert_null(quic_sniff_sni(s));
	assert_int_equal(quic_sniff_alpn(s, alpn, 2), 0);
	assert_null(quic_sniff_hello(s));
	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "www.example.org");
	assert_int_equal(quic_sniff_alpn(s, alpn, 2), 1);
	assert_string_equal(alpn[0], "h3");
	assert_int_equal(quic_sniff_packets(s), 2);
	quic_sniff_free(s);
}

/* Chrome-style: the hello cut into many CRYPTO frames, shuffled, with PING
 * and PADDING between, overlapping, and the second datagram first. */
static void test_out_of_order(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], pkt[2][4200];
	size_t chlen = seal_client_hello(ch, "ooo.example", h3, 1, 1216);
	size_t cut = chlen / 2, n[2], f;
	struct quic_sniff *s = quic_sniff_new(c);
	uint8_t *dg[2];

	/* packet 0: second half as three frames, reversed, overlapping */
	assert_true(chlen - cut > 500);
	f = 0;
	f += seal_crypto_frame(fr + f, cut + 400, ch + cut + 400, chlen - cut - 400);
	fr[f++] = 0x01;
	f += seal_crypto_frame(fr + f, cut + 200, ch + cut + 200, 300);
	fr[f++] = 0x00;
	f += seal_crypto_frame(fr + f, cut, ch + cut, 300);
	n[0] = mk_initial(QUIC_VERSION_1, 1, fr, f, 1162, pkt[0]);
	/* packet 1: first half in two frames, tail first; a PING first */
	f = 0;
	fr[f++] = 0x01;
	f += seal_crypto_frame(fr + f, 500, ch + 500, cut - 500);
	f += seal_crypto_frame(fr + f, 0, ch, 500);
	n[1] = mk_initial(QUIC_VERSION_1, 0, fr, f, 1162, pkt[1]);
	assert_int_equal(quic_sniff_feed(s, pkt[0], n[0]), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_feed(s, pkt[1], n[1]), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "ooo.example");
	quic_sniff_free(s);

	/* the same two packets in order also work */
	s = quic_sniff_new(c);
	dg[0] = pkt[1];
	dg[1] = pkt[0];
	assert_int_equal(feed_all(s, dg, (size_t[]){n[1], n[0]}, 2), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "ooo.example");
	quic_sniff_free(s);
}

/* A later copy of a byte range never overwrites the first one (servers
 * keep the first too), so a client cannot show us one name and them another. */
static void test_overlap_first_wins(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], evil[8192], fr[4096], pkt[4200];
	size_t chlen = seal_client_hello(ch, "good.example", NULL, 0, 0);
	size_t elen = seal_client_hello(evil, "evil.example", NULL, 0, 0);
	size_t f = 0, n;
	struct quic_sniff *s = quic_sniff_new(c);

	assert_int_equal(chlen, elen);
	f += seal_crypto_frame(fr + f, 40, ch + 40, chlen - 60);
	f += seal_crypto_frame(fr + f, 0, evil, elen);
	n = mk_initial(QUIC_VERSION_1, 0, fr, f, 1162, pkt);
	assert_int_equal(quic_sniff_feed(s, pkt, n), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "good.example");
	quic_sniff_free(s);
}

/* Initial + Handshake + 0-RTT + zero padding in one datagram; and a split
 * hello as two Initials coalesced in one datagram. */
static void test_coalesced(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], dg[9000], p2[4200];
	size_t chlen = seal_client_hello(ch, "coalesced.example", h3, 1, 0), n, m;
	static const uint8_t hs[] = {0xe0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0x40, 30};
	static const uint8_t zrtt[] = {0xd1, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 25};

	/* a Handshake packet first is skipped, then the Initial is read */
	n = 0;
	memcpy(dg, hs, sizeof(hs));
	memset(dg + sizeof(hs), 0xab, 30);
	n = sizeof(hs) + 30;
	n += mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, chlen), 300, dg + n);
	memcpy(dg + n, zrtt, sizeof(zrtt));
	memset(dg + n + sizeof(zrtt), 0xcd, 25);
	n += sizeof(zrtt) + 25;
	memset(dg + n, 0, 200);
	n += 200;
	assert_int_equal(sniff_once(c, dg, n), QUIC_SNIFF_DONE);

	/* two Initials (pn 0 and 1) in one datagram */
	chlen = seal_client_hello(ch, "two.example", h3, 1, 1216);
	n = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, 1000), 0, dg);
	m = mk_initial(QUIC_VERSION_1, 1, fr, seal_crypto_frame(fr, 1000, ch + 1000, chlen - 1000),
		       0, p2);
	memcpy(dg + n, p2, m);
	{
		struct quic_sniff *s = quic_sniff_new(c);

		assert_int_equal(quic_sniff_feed(s, dg, n + m), QUIC_SNIFF_DONE);
		assert_string_equal(quic_sniff_sni(s), "two.example");
		assert_int_equal(quic_sniff_packets(s), 2);
		quic_sniff_free(s);
	}
	/* 0-RTT alone before any Initial: still MORE (reordering), then the Initial */
	{
		struct quic_sniff *s = quic_sniff_new(c);
		uint8_t z[64];

		memcpy(z, zrtt, sizeof(zrtt));
		memset(z + sizeof(zrtt), 0xcd, 25);
		assert_int_equal(quic_sniff_feed(s, z, sizeof(zrtt) + 25), QUIC_SNIFF_MORE);
		chlen = seal_client_hello(ch, "late.example", h3, 1, 0);
		n = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, chlen), 1162,
			       dg);
		assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_DONE);
		assert_string_equal(quic_sniff_sni(s), "late.example");
		quic_sniff_free(s);
	}
}

/* A datagram is walked for QUIC_SNIFF_MAX_COALESCED packets at most, so
 * a datagram of many small forged packets costs a few decryptions only. */
static void test_coalesced_bound(void **state)
{
	struct quic_crypto *c = *state;
	static const uint8_t hs[] = {0xe0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 4, 9, 9, 9, 9};
	uint8_t ch[8192], fr[4096], dg[8000];
	size_t chlen = seal_client_hello(ch, "bound.example", h3, 1, 0), n = 0;

	for (int i = 0; i < QUIC_SNIFF_MAX_COALESCED - 1; i++, n += sizeof(hs))
		memcpy(dg + n, hs, sizeof(hs));
	n += mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, chlen), 0, dg + n);
	assert_int_equal(sniff_once(c, dg, n), QUIC_SNIFF_DONE);
	memmove(dg + sizeof(hs), dg, n);
	memcpy(dg, hs, sizeof(hs));
	assert_int_equal(sniff_once(c, dg, n + sizeof(hs)), QUIC_SNIFF_MORE);
}

static void test_truncated(void **state)
{
	struct quic_crypto *c = *state;
	size_t len;
	uint8_t *pkt = unhex(v1_client_hex, &len);

	/* every cut of the RFC packet: never DONE, never a crash */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(sniff_once(c, pkt, cut), QUIC_SNIFF_NOT_QUIC);
	/* cut by one byte, then completed in a second datagram: still no */
	{
		struct quic_sniff *s = quic_sniff_new(c);

		assert_int_equal(quic_sniff_feed(s, pkt, len - 1), QUIC_SNIFF_NOT_QUIC);
		assert_int_equal(quic_sniff_feed(s, pkt, len), QUIC_SNIFF_NOT_QUIC); /* final */
		quic_sniff_free(s);
	}
	/* a flipped bit anywhere in the protected part: the tag fails */
	for (size_t i = 18; i < len; i += 97) {
		pkt[i] ^= 0x10;
		assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_NOT_QUIC);
		pkt[i] ^= 0x10;
	}
	assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_DONE);
	free(pkt);
}

static void test_wrong_version(void **state)
{
	struct quic_crypto *c = *state;
	size_t len;
	uint8_t *pkt = unhex(v1_client_hex, &len);
	struct quic_hdr h;

	memcpy(pkt + 1, "\x1a\x2a\x3a\x4a", 4);
	assert_int_equal(quic_parse_header(pkt, len, &h), -EPROTONOSUPPORT);
	assert_int_equal(h.version, 0x1a2a3a4a);
	assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_NOT_QUIC);
	memcpy(pkt + 1, "\0\0\0\0", 4); /* version negotiation */
	assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_NOT_QUIC);
	memcpy(pkt + 1, "\x6b\x33\x43\xcf", 4); /* v1 packet labelled v2 */
	assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_NOT_QUIC);
	memcpy(pkt + 1, "\0\0\0\1", 4);
	pkt[0] = 0x40; /* short header */
	assert_int_equal(sniff_once(c, pkt, len), QUIC_SNIFF_NOT_QUIC);
	free(pkt);
}

/* xorshift: reproducible garbage */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void test_garbage(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t buf[1500];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 3000; i++) {
		size_t len = rnd(&x) % sizeof(buf);
		enum quic_sniff_result r;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rnd(&x);
		if (i % 2 && len > 6) /* half of them look like a v1 Initial */
			memcpy(buf, "\xc3\0\0\0\1\x08", 6);
		r = sniff_once(c, buf, len);
		assert_true(r == QUIC_SNIFF_NOT_QUIC || r == QUIC_SNIFF_GIVEUP);
	}
}

static void test_no_sni(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], pkt[4200];
	size_t chlen = seal_client_hello(ch, NULL, h3, 1, 0), n;
	struct quic_sniff *s = quic_sniff_new(c);

	n = mk_initial(QUIC_VERSION_2, 0, fr, seal_crypto_frame(fr, 0, ch, chlen), 1162, pkt);
	assert_int_equal(quic_sniff_feed(s, pkt, n), QUIC_SNIFF_DONE);
	assert_null(quic_sniff_sni(s));
	assert_false(quic_sniff_hello(s)->has_sni);
	assert_int_equal(quic_sniff_version(s), QUIC_VERSION_2);
	quic_sniff_free(s);

	/* an SNI that is not a host name: DONE, flagged, the name escaped for the rules */
	s = quic_sniff_new(c);
	chlen = seal_client_hello(ch, "bad name.example", h3, 1, 0);
	n = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, chlen), 1162, pkt);
	assert_int_equal(quic_sniff_feed(s, pkt, n), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "bad\\032name.example");
	assert_true(quic_sniff_hello(s)->sni_invalid);
	quic_sniff_free(s);
}

static enum quic_sniff_result sniff_frames(struct quic_crypto *c, const uint8_t *fr, size_t f)
{
	uint8_t pkt[4200];
	size_t n = mk_initial(QUIC_VERSION_1, 0, fr, f, 1162, pkt);

	assert_true(n > 0);
	return sniff_once(c, pkt, n);
}

static void test_oversized_offset(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t fr[64];
	size_t f;

	/* offsets no buffer could hold: given up before any allocation */
	f = seal_crypto_frame(fr, (1ull << 62) - 1, (const uint8_t *)"x", 1);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_GIVEUP);
	f = seal_crypto_frame(fr, 1ull << 40, (const uint8_t *)"x", 1);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_GIVEUP);
	/* just past the bound, and just inside it */
	f = seal_crypto_frame(fr, QUIC_SNIFF_MAX_BYTES, (const uint8_t *)"x", 1);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_GIVEUP);
	f = seal_crypto_frame(fr, QUIC_SNIFF_MAX_BYTES - 1, (const uint8_t *)"x", 1);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_MORE);
	/* a hello announcing more than the bound */
	f = seal_crypto_frame(fr, 0, (const uint8_t *)"\x01\x00\x40\x00", 4);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_GIVEUP);
	f = seal_crypto_frame(fr, 0, (const uint8_t *)"\x01\x00\x3f\xfc", 4);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_MORE);
	/* not a ClientHello at all (a ServerHello) */
	f = seal_crypto_frame(fr, 0, (const uint8_t *)"\x02\x00\x00\x10", 4);
	assert_int_equal(sniff_frames(c, fr, f), QUIC_SNIFF_GIVEUP);
}

static void test_bad_frames(void **state)
{
	struct quic_crypto *c = *state;
	/* STREAM is not allowed in Initial packets */
	assert_int_equal(sniff_frames(c, (const uint8_t *)"\x08\x00\x01x", 4), QUIC_SNIFF_GIVEUP);
	/* a CRYPTO frame longer than the packet */
	assert_int_equal(sniff_frames(c, (const uint8_t *)"\x06\x00\x4f\xffx", 5),
			 QUIC_SNIFF_GIVEUP);
	/* ACK, ACK_ECN with ranges, CONNECTION_CLOSE, PING: fine, nothing learnt */
	assert_int_equal(sniff_frames(c,
				      (const uint8_t *)"\x02\x05\x00\x01\x00\x01\x01"
						       "\x03\x05\x00\x00\x00\x01\x02\x03"
						       "\x1c\x00\x00\x02hi\x01",
				      22),
			 QUIC_SNIFF_MORE);
	/* an ACK claiming more ranges than it holds */
	assert_int_equal(sniff_frames(c, (const uint8_t *)"\x02\x05\x00\x30\x00", 5),
			 QUIC_SNIFF_MORE); /* 48 ranges: the zero padding reads as them */
	assert_int_equal(sniff_frames(c, (const uint8_t *)"\x02\x05\x00\x80\x10\x00\x00\x00", 8),
			 QUIC_SNIFF_GIVEUP);
}

/* Bounds: Initial packets that never finish the hello, and datagrams that
 * never hold an Initial, both end in GIVEUP. */
static void test_bounds(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[64], pkt[4200];
	size_t n;
	struct quic_sniff *s = quic_sniff_new(c);
	enum quic_sniff_result r = QUIC_SNIFF_MORE;
	unsigned i;

	seal_client_hello(ch, "slow.example", NULL, 0, 0);
	for (i = 0; i < QUIC_SNIFF_MAX_PACKETS + 1 && r == QUIC_SNIFF_MORE; i++) {
		n = mk_initial(QUIC_VERSION_1, i, fr, seal_crypto_frame(fr, i, ch + i, 1), 1162,
			       pkt);
		r = quic_sniff_feed(s, pkt, n);
	}
	assert_int_equal(r, QUIC_SNIFF_GIVEUP);
	assert_int_equal(i, QUIC_SNIFF_MAX_PACKETS + 1);
	quic_sniff_free(s);

	s = quic_sniff_new(c);
	n = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, 10), 1162, pkt);
	assert_int_equal(quic_sniff_feed(s, pkt, n), QUIC_SNIFF_MORE);
	for (i = 1; i < QUIC_SNIFF_MAX_DGRAMS; i++)
		assert_int_equal(quic_sniff_feed(s, (const uint8_t *)"\x40junk", 5),
				 QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_feed(s, (const uint8_t *)"\x40junk", 5), QUIC_SNIFF_GIVEUP);
	quic_sniff_free(s);

	/* more disjoint CRYPTO pieces than ranges kept: one byte every other byte */
	s = quic_sniff_new(c);
	r = QUIC_SNIFF_MORE;
	for (i = 0; i < 4 && r == QUIC_SNIFF_MORE; i++) {
		uint8_t big[1200];
		size_t f = 0;

		for (unsigned j = 0; j < 40; j++)
			f += seal_crypto_frame(big + f, 2 + 2 * (40 * i + j), (const uint8_t *)"z",
					       1);
		n = mk_initial(QUIC_VERSION_1, i, big, f, 1162, pkt);
		r = quic_sniff_feed(s, pkt, n);
	}
	assert_int_equal(r, QUIC_SNIFF_GIVEUP);
	assert_int_equal(i, 2); /* 80 ranges > QUIC_SNIFF_MAX_RANGES */
	quic_sniff_free(s);
}

/* After a Retry the client's Initials go to the server's new CID (any
 * length, even none) and carry the hello again from offset 0; a forged
 * Initial in between is ignored once the flow is known to be QUIC. */
static void test_retry_new_dcid(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], p1[4200], p2[4200], junk[1200];
	size_t chlen = seal_client_hello(ch, "retry.example", h3, 1, 0), n1, n2;
	struct quic_sniff *s = quic_sniff_new(c);

	n1 = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, 100), 1162, p1);
	n2 = seal_initial(QUIC_VERSION_1, NULL, 0, (const uint8_t *)"\x09\x09", 2,
			  (const uint8_t *)"token", 5, 1, 1, fr,
			  seal_crypto_frame(fr, 0, ch, chlen), p2, sizeof(p2));
	assert_true(n2 > 0);
	assert_int_equal(quic_sniff_feed(s, p1, n1), QUIC_SNIFF_MORE);
	memcpy(junk, p1, sizeof(junk));
	junk[100] ^= 1;
	assert_int_equal(quic_sniff_feed(s, junk, sizeof(junk)), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "retry.example");
	/* the first DCID's keys, then the Retry's; the forged one derived nothing */
	assert_int_equal(quic_sniff_derivations(s), 2);
	assert_int_equal(quic_sniff_failures(s), 1);
	quic_sniff_free(s);
}

/* A client that restarts in another version (after Version Negotiation)
 * starts its CRYPTO stream over; the sniff follows the newest version. */
static void test_version_restart(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], ch1[8192], fr[4096], p1[4200], p2[4200];
	size_t n1, n2, chlen;
	struct quic_sniff *s = quic_sniff_new(c);

	chlen = seal_client_hello(ch, "v2.example", h3, 1, 1216);
	n1 = mk_initial(QUIC_VERSION_2, 0, fr, seal_crypto_frame(fr, 0, ch, 1000), 1162, p1);
	chlen = seal_client_hello(ch1, "v1.example", h3, 1, 0);
	n2 = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch1, chlen), 1162, p2);
	assert_int_equal(quic_sniff_feed(s, p1, n1), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_version(s), QUIC_VERSION_2);
	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	assert_int_equal(quic_sniff_version(s), QUIC_VERSION_1);
	assert_string_equal(quic_sniff_sni(s), "v1.example");
	assert_int_equal(quic_sniff_derivations(s), 2); /* one per version */
	quic_sniff_free(s);
}

/* Packet numbers: pn 300 sent on 2 bytes, then 301 on one byte (0x2d) -
 * the nonce only matches when the full number is recovered (RFC 9000 A.3). */
static void test_packet_number_decode(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], p1[4200], p2[4200], payload[1200] = {0};
	size_t chlen = seal_client_hello(ch, "pn.example", h3, 1, 1216), n1, n2, f;
	struct quic_sniff *s = quic_sniff_new(c);

	f = seal_crypto_frame(payload, 0, ch, 1000);
	n1 = seal_initial(QUIC_VERSION_1, test_dcid, 8, NULL, 0, NULL, 0, 300, 2, payload, f, p1,
			  sizeof(p1));
	f = seal_crypto_frame(fr, 1000, ch + 1000, chlen - 1000);
	n2 = seal_initial(QUIC_VERSION_1, test_dcid, 8, NULL, 0, NULL, 0, 301, 1, fr, f, p2,
			  sizeof(p2));
	assert_int_equal(quic_sniff_feed(s, p1, n1), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	quic_sniff_free(s);
}

/* Once the server answered, the client sends to the server's CID but keeps
 * the keys of its first DCID (RFC 9001 5.2): a retransmitted second half
 * of the hello arrives that way. */
static void test_server_cid_keeps_keys(void **state)
{
	struct quic_crypto *c = *state;
	static const uint8_t server_cid[5] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	uint8_t ch[8192], fr[4096], p1[4200], p2[4200];
	size_t chlen = seal_client_hello(ch, "keys.example", h3, 1, 1216), n1, n2;
	struct quic_sniff *s = quic_sniff_new(c);
	struct quic_keys k;

	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_1, test_dcid, 8, false, &k), 0);
	n1 = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, 1000), 1162, p1);
	n2 = seal_initial_keys(&k, QUIC_VERSION_1, server_cid, sizeof(server_cid), NULL, 0, NULL, 0,
			       2, 1, fr, seal_crypto_frame(fr, 1000, ch + 1000, chlen - 1000), p2,
			       sizeof(p2));
	assert_int_equal(quic_sniff_feed(s, p1, n1), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "keys.example");
	assert_int_equal(quic_sniff_derivations(s), 1); /* the server's CID: none */
	assert_int_equal(quic_sniff_attempts(s), 2);
	quic_sniff_free(s);
}

/* ---- what forged Initials cost ------------------------------------------ */

/* @n small Initials coalesced into @dg, each sealed with the keys of its
 * DCID and its tag then broken. DCID i is @dcid with its last byte + i
 * when @distinct, else @dcid for all. Returns the datagram's length. */
static size_t mk_forged(uint8_t *dg, size_t cap, int n, const uint8_t *dcid, bool distinct)
{
	uint8_t payload[120] = {0x01}, id[8];
	size_t len = 0, m;

	for (int i = 0; i < n; i++) {
		memcpy(id, dcid, sizeof(id));
		id[7] = (uint8_t)(id[7] + (distinct ? i : 0));
		m = seal_initial(QUIC_VERSION_1, id, sizeof(id), NULL, 0, NULL, 0, (uint64_t)i, 1,
				 payload, sizeof(payload), dg + len, cap - len);
		assert_true(m > 0);
		dg[len + m - 1] ^= 0x5a; /* the tag */
		len += m;
	}
	return len;
}

/* Eight coalesced forged Initials (a 1200-byte datagram, as an attacker
 * would send): one key derivation and one AEAD check, not eight of each,
 * whether they share a DCID or not. */
static void test_forged_coalesced(void **state)
{
	static const uint8_t forged_dcid[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0};
	struct quic_crypto *c = *state;
	uint8_t dg[2000];

	for (int distinct = 0; distinct < 2; distinct++) {
		size_t n = mk_forged(dg, sizeof(dg), 8, forged_dcid, distinct);
		struct quic_sniff *s = quic_sniff_new(c);

		assert_true(n >= 1200);
		assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_NOT_QUIC);
		assert_int_equal(quic_sniff_derivations(s), 1);
		assert_int_equal(quic_sniff_attempts(s), 1);
		assert_int_equal(quic_sniff_failures(s), 1);
		assert_int_equal(quic_sniff_packets(s), 0);
		quic_sniff_free(s);
	}
}

/* Forged datagrams spoofed into a flow already known to be QUIC: each
 * costs one failure and ends there; a DCID is derived once; the flow
 * derives QUIC_SNIFF_MAX_KEYS sets at most; the real hello still wins. */
static void test_forged_into_flow(void **state)
{
	static const uint8_t other[8] = {0x0f, 0x0e, 0, 0, 0, 0, 0, 0x10};
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], p1[4200], p2[4200], dg[2000];
	size_t chlen = seal_client_hello(ch, "spoofed.example", h3, 1, 1216), n1, n2, n;
	struct quic_sniff *s = quic_sniff_new(c);
	unsigned a;

	n1 = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, 1000), 1162, p1);
	n2 = mk_initial(QUIC_VERSION_1, 1, fr, seal_crypto_frame(fr, 1000, ch + 1000, chlen - 1000),
			1162, p2);
	assert_int_equal(quic_sniff_feed(s, p1, n1), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_derivations(s), 1);
	assert_int_equal(quic_sniff_attempts(s), 1);

	/* the flow's own DCID: its keys are reused, one AEAD check */
	n = mk_forged(dg, sizeof(dg), 8, test_dcid, false);
	assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_derivations(s), 1);
	assert_int_equal(quic_sniff_attempts(s), 2);
	assert_int_equal(quic_sniff_failures(s), 1);

	/* new DCIDs: the keys that opened, then one derivation; each datagram
	 * derives for its first packet only, until the flow's sets are spent */
	for (unsigned i = 0; i < QUIC_SNIFF_MAX_KEYS + 2; i++) {
		uint8_t id[8];

		memcpy(id, other, sizeof(id));
		id[0] = (uint8_t)(id[0] + 16 * i);
		a = quic_sniff_attempts(s);
		n = mk_forged(dg, sizeof(dg), 8, id, true);
		assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_MORE);
		assert_int_equal(quic_sniff_derivations(s), SL_MIN(2 + i, QUIC_SNIFF_MAX_KEYS));
		assert_int_equal(quic_sniff_attempts(s) - a,
				 2 + i < QUIC_SNIFF_MAX_KEYS + 1 ? 2 : 1);
		assert_int_equal(quic_sniff_failures(s), 2 + i);
	}
	/* the same forged DCIDs again: derived already, nothing new */
	n = mk_forged(dg, sizeof(dg), 8, other, true);
	assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_derivations(s), QUIC_SNIFF_MAX_KEYS);

	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "spoofed.example");
	assert_int_equal(quic_sniff_packets(s), 2);
	quic_sniff_free(s);
}

/* A bad Initial ends the walk of its datagram: a good one behind it is not
 * read (the client sends it again), one before it is. A packet too short
 * to be protected fails the same way, without a key derivation. */
static void test_bad_initial_ends_datagram(void **state)
{
	struct quic_crypto *c = *state;
	uint8_t ch[8192], fr[4096], p1[4200], p2[4200], bad[4200], dg[9000];
	size_t chlen = seal_client_hello(ch, "stop.example", h3, 1, 1216), n1, n2, nb, n;
	static const uint8_t tiny[] = {0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 19};
	struct quic_sniff *s;

	n1 = mk_initial(QUIC_VERSION_1, 0, fr, seal_crypto_frame(fr, 0, ch, 1000), 0, p1);
	n2 = mk_initial(QUIC_VERSION_1, 1, fr, seal_crypto_frame(fr, 1000, ch + 1000, chlen - 1000),
			0, p2);
	nb = mk_initial(QUIC_VERSION_1, 2, (const uint8_t *)"\x01", 1, 50, bad);
	bad[nb - 1] ^= 1;

	/* good, bad, good: the second good one is skipped */
	s = quic_sniff_new(c);
	n = 0;
	memcpy(dg + n, p1, n1), n += n1;
	memcpy(dg + n, bad, nb), n += nb;
	memcpy(dg + n, p2, n2), n += n2;
	assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_MORE);
	assert_int_equal(quic_sniff_packets(s), 1);
	assert_int_equal(quic_sniff_failures(s), 1);
	assert_int_equal(quic_sniff_derivations(s), 1);
	assert_int_equal(quic_sniff_attempts(s), 2);
	/* its retransmission alone completes the hello */
	assert_int_equal(quic_sniff_feed(s, p2, n2), QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), "stop.example");
	quic_sniff_free(s);

	/* bad first: nothing is read, and the flow is not QUIC we can read */
	s = quic_sniff_new(c);
	n = 0;
	memcpy(dg + n, bad, nb), n += nb;
	memcpy(dg + n, p1, n1), n += n1;
	memcpy(dg + n, p2, n2), n += n2;
	assert_int_equal(quic_sniff_feed(s, dg, n), QUIC_SNIFF_NOT_QUIC);
	assert_int_equal(quic_sniff_packets(s), 0);
	assert_int_equal(quic_sniff_attempts(s), 1);
	quic_sniff_free(s);

	/* 19 bytes after the packet number's start: too short to sample */
	s = quic_sniff_new(c);
	memcpy(dg, tiny, sizeof(tiny));
	memset(dg + sizeof(tiny), 0x33, 19);
	memcpy(dg + sizeof(tiny) + 19, p1, n1);
	assert_int_equal(quic_sniff_feed(s, dg, sizeof(tiny) + 19 + n1), QUIC_SNIFF_NOT_QUIC);
	assert_int_equal(quic_sniff_failures(s), 1);
	assert_int_equal(quic_sniff_derivations(s), 0);
	assert_int_equal(quic_sniff_attempts(s), 0);
	quic_sniff_free(s);
}

/* Seeds of the fuzz corpus that are real first flights, hellos in several
 * packets among them: still read, with one key derivation and no failure. */
static void test_corpus_first_flights(void **state)
{
	static const struct {
		const char *file, *sni;
		unsigned pkts;
	} seeds[] = {
	    {"rfc9001-client", "example.com", 1},
	    {"ngtcp2-v1", "localhost", 1},
	    {"ngtcp2-ffdhe-split", "localhost", 2},
	    {"coalesced-two-initials", "coalesced.example", 2},
	    {"sealed-one", "www.example.com", 1},
	    {"sealed-split", "pq.example", 2},
	    {"sealed-split-reversed", "pq.example", 2},
	};
	struct quic_crypto *c = *state;
	const char *top = getenv("top_srcdir");
	static uint8_t buf[70000];

	for (size_t i = 0; i < SL_ARRAY_LEN(seeds); i++) {
		struct quic_sniff *s = quic_sniff_new(c);
		char path[4096];
		size_t len, ndgrams;
		bool sealed;
		FILE *f;

		snprintf(path, sizeof(path), "%s/fuzz/corpus/quic/%s", top ? top : "..",
			 seeds[i].file);
		f = fopen(path, "rb");
		if (!f)
			fail_msg("cannot open %s (is top_srcdir set?)", path);
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		assert_int_equal(seal_fuzz_feed(s, buf, len, &ndgrams, &sealed), QUIC_SNIFF_DONE);
		assert_string_equal(quic_sniff_sni(s), seeds[i].sni);
		assert_int_equal(quic_sniff_packets(s), seeds[i].pkts);
		assert_int_equal(quic_sniff_derivations(s), 1);
		assert_int_equal(quic_sniff_failures(s), 0);
		assert_int_equal(quic_sniff_attempts(s), seeds[i].pkts);
		quic_sniff_free(s);
	}
}

/* The algorithms are fetched when a handle is made, never by a sniff or a
 * key derivation: one handle (a worker's) serves any number of flows. */
static void test_crypto_fetched_once(void **state)
{
	struct quic_crypto *c = quic_crypto_new();
	size_t len;
	uint8_t *pkt = unhex(v1_client_hex, &len);
	struct quic_keys k;

	(void)state;
	assert_non_null(c);
	assert_int_equal(quic_crypto_fetches(c), 1);
	for (int i = 0; i < 50; i++) {
		struct quic_sniff *s = quic_sniff_new(c);

		assert_int_equal(quic_sniff_feed(s, pkt, len), QUIC_SNIFF_DONE);
		assert_int_equal(quic_sniff_derivations(s), 1);
		quic_sniff_free(s);
	}
	assert_int_equal(quic_initial_keys(c, QUIC_VERSION_2, rfc_dcid, 8, true, &k), 0);
	assert_int_equal(quic_crypto_fetches(c), 1);
	quic_crypto_free(c);
	free(pkt);
}

/* The QUIC service makes that handle once per worker, at the worker's first
 * QUIC flow: a gateway that intercepts no QUIC never fetches. */
static void test_service_handle_per_worker(void **state)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct cfg *c = calloc(1, sizeof(*c));
	struct quic_conf *d = calloc(1, sizeof(*d));
	struct flow *f[2];
	struct quic_crypto *qc;

	(void)state;
	assert_non_null(w);
	assert_non_null(c);
	assert_non_null(d);
	w->base = event_base_new();
	assert_non_null(w->base);
	d->sniff_ms = 300;
	c->svc[SVC_QUIC] = d;
	w->cfg = c;
	assert_null(svc_quic.worker_init);
	for (int i = 0; i < 2; i++) {
		f[i] = calloc(1, sizeof(*f[i]));
		assert_non_null(f[i]);
		assert_int_equal(svc_quic.flow_open(w, f[i]), 0);
	}
	qc = w->svc_state[SVC_QUIC];
	assert_non_null(qc);
	assert_int_equal(quic_crypto_fetches(qc), 1);
	for (int i = 0; i < 2; i++) {
		svc_quic.flow_close(w, f[i]);
		free(f[i]);
	}
	svc_quic.worker_fini(w);
	assert_null(w->svc_state[SVC_QUIC]);
	event_base_free(w->base);
	free(d);
	free(c);
	free(w);
}

/* ---- real captures ------------------------------------------------------ */

#define CAP_MAX 8

struct capture {
	uint8_t buf[70000];
	uint8_t *d[CAP_MAX];
	size_t len[CAP_MAX];
	size_t n;
};

/* A capture file is a list of client datagrams, each a 2-byte big-endian
 * length and the bytes (the fuzz corpus format without its first byte). */
static void load_capture(const char *name, struct capture *c)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	size_t len, off = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/quic/%s", top ? top : "..", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (is top_srcdir set?)", path);
	len = fread(c->buf, 1, sizeof(c->buf), f);
	fclose(f);
	c->n = 0;
	while (off + 2 <= len && c->n < CAP_MAX) {
		size_t n = (size_t)c->buf[off] << 8 | c->buf[off + 1];

		assert_true(off + 2 + n <= len);
		c->d[c->n] = c->buf + off + 2;
		c->len[c->n++] = n;
		off += 2 + n;
	}
	assert_int_equal(off, len);
}

static void check_capture(struct quic_crypto *c, const struct capture *cap, const size_t *order,
			  size_t n, const char *sni, unsigned pkts)
{
	struct quic_sniff *s = quic_sniff_new(c);
	enum quic_sniff_result r = QUIC_SNIFF_MORE;
	const char *alpn[4];

	for (size_t i = 0; i < n; i++) {
		r = quic_sniff_feed(s, cap->d[order[i]], cap->len[order[i]]);
		if (i + 1 < n)
			assert_int_equal(r, QUIC_SNIFF_MORE);
	}
	assert_int_equal(r, QUIC_SNIFF_DONE);
	assert_string_equal(quic_sniff_sni(s), sni);
	assert_int_equal(quic_sniff_version(s), QUIC_VERSION_1);
	assert_int_equal(quic_sniff_packets(s), pkts);
	assert_int_equal(quic_sniff_derivations(s), 1);
	assert_int_equal(quic_sniff_failures(s), 0);
	assert_int_equal(quic_sniff_alpn(s, alpn, 4), 1);
	assert_string_equal(alpn[0], "h3");
	quic_sniff_free(s);
}

/* ngtcp2 0.12 gtlsclient (GnuTLS) against gtlsserver on loopback: the
 * client's first datagram. */
static void test_capture_ngtcp2(void **state)
{
	struct quic_crypto *c = *state;
	struct capture *cap = malloc(sizeof(*cap));

	assert_non_null(cap);
	load_capture("ngtcp2-v1.dgrams", cap);
	assert_int_equal(cap->n, 3);
	check_capture(c, cap, (const size_t[]){0}, 1, "localhost", 1);
	free(cap);
}

/* The same client offering an FFDHE8192 key share: a 1326-byte hello in
 * two Initial packets. The third datagram holds an ACK-only Initial sent
 * to the server's CID under the first keys; fed before the hello's second
 * half it is still decrypted and counted. */
static void test_capture_ngtcp2_split(void **state)
{
	struct quic_crypto *c = *state;
	struct capture *cap = malloc(sizeof(*cap));

	assert_non_null(cap);
	load_capture("ngtcp2-ffdhe-split.dgrams", cap);
	assert_int_equal(cap->n, 3);
	check_capture(c, cap, (const size_t[]){0, 1}, 2, "localhost", 2);
	check_capture(c, cap, (const size_t[]){0, 2, 1}, 3, "localhost", 3);
	check_capture(c, cap, (const size_t[]){1, 0}, 2, "localhost", 2);
	free(cap);
}

/* One handle for every test, as one worker has for all its flows. */
static int group_setup(void **state)
{
	*state = quic_crypto_new();
	return *state ? 0 : -1;
}

static int group_teardown(void **state)
{
	quic_crypto_free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc9001_keys),
	    cmocka_unit_test(test_rfc9369_keys),
	    cmocka_unit_test(test_rfc9001_client_initial),
	    cmocka_unit_test(test_rfc9369_client_initial),
	    cmocka_unit_test(test_rfc_server_initial),
	    cmocka_unit_test(test_encryptor_matches_rfc),
	    cmocka_unit_test(test_split_hello),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_overlap_first_wins),
	    cmocka_unit_test(test_coalesced),
	    cmocka_unit_test(test_coalesced_bound),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_wrong_version),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_no_sni),
	    cmocka_unit_test(test_oversized_offset),
	    cmocka_unit_test(test_bad_frames),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_retry_new_dcid),
	    cmocka_unit_test(test_version_restart),
	    cmocka_unit_test(test_packet_number_decode),
	    cmocka_unit_test(test_server_cid_keeps_keys),
	    cmocka_unit_test(test_forged_coalesced),
	    cmocka_unit_test(test_forged_into_flow),
	    cmocka_unit_test(test_bad_initial_ends_datagram),
	    cmocka_unit_test(test_corpus_first_flights),
	    cmocka_unit_test(test_crypto_fetched_once),
	    cmocka_unit_test(test_service_handle_per_worker),
	    cmocka_unit_test(test_capture_ngtcp2),
	    cmocka_unit_test(test_capture_ngtcp2_split),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
