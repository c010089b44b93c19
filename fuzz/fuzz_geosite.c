/* fuzz_geosite.c - the geosite.dat decoder on arbitrary bytes, then the sets
 * it built. The wanted codes match the seed corpus. */
#include "config.h"
#include "list_geosite.h"
#include "match.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct geosite_want want[] = {
	    {"test", NULL, 1},	       {"TEST", "ads", 2}, {"private", NULL, 3},
	    {"category-ntp", "cn", 4}, {"0x0", NULL, 5},
	};
	static const char *const names[] = {"localhost",      "a.root.example",	 "xkeywx", "0x0.st",
					    "time.apple.com", "cn.pool.ntp.org", "re12.x"};
	struct match_builder *b[5];
	struct geosite_stats st;
	char err[64];
	bool ok = true;

	for (int i = 0; i < 5; i++)
		ok &= (b[i] = match_builder_new()) != NULL;
	if (ok)
		(void)geosite_dat_parse_buf("fuzz", data, size, want, 5, b, &st, NULL, NULL);
	for (int i = 0; i < 5; i++) {
		struct match_set *s = match_builder_finish(b[i], err, sizeof(err));

		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			(void)match_lookup(s, names[j], __builtin_strlen(names[j]), NULL);
		match_set_free(s);
	}
	return 0;
}
