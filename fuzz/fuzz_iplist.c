/* fuzz_iplist.c - the CIDR text loader (list_cidr.c) on arbitrary bytes,
 * then the set it built (iplist.c), checked against its own complement:
 * every probe address must be in exactly one of the two, and a copy of the
 * set must agree with it. Probes are the addresses of the input's first
 * words that parse, and their neighbours, so the edges get asked. */
#include "config.h"
#include "fuzz_check.h"
#include "iplist.h"
#include "list_ip.h"

#include <arpa/inet.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct iplist *l, const struct iplist *inv, const struct iplist *copy,
		  int fam, const uint8_t *a)
{
	bool in = iplist_has(l, fam, a);

	CHECK(in != iplist_has(inv, fam, a));
	CHECK(in == iplist_has(copy, fam, a));
}

/* a - 1 and a + 1 (big-endian, wrapping) */
static void step(uint8_t *a, size_t n, int d)
{
	for (size_t i = n; i-- > 0;) {
		a[i] = (uint8_t)(a[i] + d);
		if (a[i] != (d > 0 ? 0 : 0xff))
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iplist_builder *b = iplist_builder_new(), *bi = iplist_builder_new(),
			      *bc = iplist_builder_new();
	struct iplist *l = NULL, *inv = NULL, *copy = NULL;
	struct list_cidr_stats st = {0};
	const char *p = (const char *)data, *end = p + size;
	int words = 0;

	if (!b || !bi || !bc)
		goto done;
	(void)list_cidr_parse_buf("fuzz", p, size, b, &st, NULL, NULL);
	l = iplist_builder_finish(b);
	b = NULL;
	if (!l || iplist_builder_add_inverse(bi, l) < 0 || iplist_builder_add_set(bc, l) < 0)
		goto done;
	inv = iplist_builder_finish(bi);
	copy = iplist_builder_finish(bc);
	bi = bc = NULL;
	if (!inv || !copy)
		goto done;
	while (p < end && words < 64) {
		char w[64];
		uint8_t a[16];
		size_t n = 0;
		int fam;

		while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == '/'))
			p++;
		while (p < end && n < sizeof(w) - 1 && *p != ' ' && *p != '\n' && *p != '/' &&
		       *p != '\t' && *p != '\r')
			w[n++] = *p++;
		w[n] = '\0';
		while (p < end && *p != ' ' && *p != '\n' && *p != '/' && *p != '\t' && *p != '\r')
			p++;
		words++;
		fam = strchr(w, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam, w, a) != 1)
			continue;
		probe(l, inv, copy, fam, a);
		step(a, fam == AF_INET ? 4 : 16, -1);
		probe(l, inv, copy, fam, a);
		step(a, fam == AF_INET ? 4 : 16, 2);
		probe(l, inv, copy, fam, a);
	}
	{
		static const uint8_t zero[16], ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
							  0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
							  0xff, 0xff, 0xff, 0xff};

		probe(l, inv, copy, AF_INET, zero);
		probe(l, inv, copy, AF_INET, ones);
		probe(l, inv, copy, AF_INET6, zero);
		probe(l, inv, copy, AF_INET6, ones);
	}
done:
	iplist_builder_free(b);
	iplist_builder_free(bi);
	iplist_builder_free(bc);
	iplist_free(l);
	iplist_free(inv);
	iplist_free(copy);
	return 0;
}
