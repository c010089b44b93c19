/* fuzz_list.c - one text list parser on arbitrary bytes, then the sets and
 * hosts table it built, queried with names cut from the same input.
 *
 * Built once per format as fuzz/fuzz_list_{dnsmasq,hosts,adblock,plain}: the
 * target's CPPFLAGS set FUZZ_LIST_FMT (e.g. -DFUZZ_LIST_FMT=LIST_ADBLOCK). */
#include "config.h"
#include "list_text.h"
#include "match.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#ifndef FUZZ_LIST_FMT
#error "define FUZZ_LIST_FMT to an enum list_format value, e.g. -DFUZZ_LIST_FMT=LIST_PLAIN"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct match_set *s, const struct match_set *n, const struct list_hosts *h,
		  const char *name, size_t len)
{
	struct in6_addr a6[4];
	struct match_hit hit;

	(void)match_lookup_ex(s, name, len, &hit);
	(void)match_lookup(n, name, len, NULL);
	(void)list_hosts_lookup(h, name, len, AF_INET, a6, 4);
	(void)list_hosts_lookup(h, name, len, AF_INET6, a6, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct match_builder *pos = match_builder_new(), *neg = match_builder_new();
	struct list_hosts *h = list_hosts_new();
	struct list_stats st = {0};
	struct list_sink k = {.pos = pos, .neg = neg, .hosts = h, .st = &st, .tag_line = true};
	const char *p = (const char *)data, *end = p + size;
	struct match_set *s = NULL, *n = NULL;
	char err[64];

	if (pos && neg && h)
		(void)list_text_parse_buf("fuzz", p, size, FUZZ_LIST_FMT, &k);
	s = match_builder_finish(pos, err, sizeof(err));
	n = match_builder_finish(neg, err, sizeof(err));
	probe(s, n, h, "www.example.com", 15);
	/* every line (up to 64) as a name, raw bytes and all */
	for (int i = 0; i < 64 && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		probe(s, n, h, p, len);
		if (len > 2)
			probe(s, n, h, p + 2, len - 2);
		p = nl ? nl + 1 : end;
	}
	match_set_free(s);
	match_set_free(n);
	list_hosts_free(h);
	return 0;
}
