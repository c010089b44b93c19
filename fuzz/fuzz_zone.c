#include "config.h"
/* fuzz_zone.c - zone file text through the local-zone loader (ldns, then
 * sluice's checks and copy). A zone that loads is asked about its apex and
 * a few names around it for several types, over a small (512) and a large
 * limit; every answer must be a well-formed message (dns_answer_inspect
 * and ldns agree) with the question echoed and AA set. */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void ask(const struct dns_zone *z, const char *apex, const char *prefix, uint16_t type,
		bool edns)
{
	static uint8_t out[65536];
	uint8_t q[600];
	uint8_t lw[DNS_NAME_WIRE_MAX];
	char name[DNS_NAME_PRES_MAX + 64];
	struct dns_query qq;
	struct dns_answer_info ai;
	ldns_pkt *p = NULL;
	size_t wl, n = 12;
	int len;

	snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix && *apex ? "." : "", apex);
	if (dns_name_from_text(name, strlen(name), lw, &wl) < 0 &&
	    dns_name_from_text(".", 1, lw, &wl) < 0)
		return;
	memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	memcpy(q + n, lw, wl);
	n += wl;
	q[n++] = (uint8_t)(type >> 8);
	q[n++] = (uint8_t)type;
	q[n++] = 0;
	q[n++] = 1;
	if (edns) {
		memcpy(q + n, "\x00\x00\x29\x10\x00\x00\x00\x80\x00\x00\x00", 11);
		n += 11;
		q[11] = 1;
	}
	CHECK(dns_query_parse(q, n, &qq) == 0);
	if (!dns_zone_find((struct dns_zone *const *)&z, 1, &qq))
		return;
	for (int round = 0; round < 2; round++) {
		if (round)
			qq.limit = 65535;
		len = dns_zone_answer(z, &qq, q, out, sizeof(out));
		CHECK(len >= 12 && (size_t)len <= qq.limit);
		CHECK(dns_answer_inspect(out, (size_t)len, &ai) == 0);
		CHECK(ai.qdcount == 1 && ai.qtype == type && (ai.flags & DNS_F_AA));
		CHECK(memcmp(out + 12, q + 12, wl + 4) == 0);
		CHECK(ldns_wire2pkt(&p, out, (size_t)len) == LDNS_STATUS_OK);
		ldns_pkt_free(p);
		p = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {"", "www", "*", "a.b", "x.y.z", "_ipp._tcp"};
	static const uint16_t types[] = {
	    DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_CNAME, DNS_TYPE_TXT, DNS_TYPE_SOA, DNS_TYPE_ANY,
	    33};
	struct dns_zone_err err;
	struct dns_zone *z;
	char apex[DNS_NAME_PRES_MAX];
	FILE *f;

	if (size == 0 || size > 1 << 16)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	z = dns_zone_load_fp(f, &err);
	fclose(f);
	if (!z) {
		CHECK(err.msg[0]);
		return 0;
	}
	dns_zone_apex_text(z, apex);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			ask(z, apex, prefixes[i], types[t], t & 1);
	dns_zone_free(z);
	return 0;
}
