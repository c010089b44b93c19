/* fuzz_geoip.c - the geoip.dat decoder (list_geoip.c) on arbitrary bytes,
 * then lookups in the sets it built. The wanted codes match the seed
 * corpus (PRIVATE, TEST, CN, a reversed one). */
#include "config.h"
#include "iplist.h"
#include "list_ip.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const codes[] = {"private", "TEST", "cn", "rev", "cn"};
	static const uint8_t probes[][16] = {
	    {10, 1, 2, 3}, {127, 0, 0, 1}, {192, 0, 2, 1}, {1, 0, 1, 200}, {255, 255, 255, 255},
	    {0x20, 0x01, 0x0d, 0xb8}, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	};
	struct geoip_want want[5];
	struct geoip_stats st;
	bool ok = true;

	for (size_t i = 0; i < 5; i++) {
		want[i].code = codes[i];
		ok &= (want[i].b = iplist_builder_new()) != NULL;
	}
	if (ok)
		(void)geoip_dat_parse_buf("fuzz", data, size, want, 5, &st, NULL, NULL);
	for (size_t i = 0; i < 5; i++) {
		struct iplist *l = iplist_builder_finish(want[i].b);

		for (size_t j = 0; j < sizeof(probes) / sizeof(probes[0]); j++) {
			(void)iplist_has(l, AF_INET, probes[j]);
			(void)iplist_has(l, AF_INET6, probes[j]);
		}
		iplist_free(l);
	}
	return 0;
}
