/* dns_ctl.c - the DNS service's `sluice ctl` verbs: flush [NAME] and dump
 * (the shared cache), answered on the main thread. */
#include "config.h"
#include "dns_int.h"
#include "dns_cache.h"
#include "engine.h"

#include <event2/buffer.h>
#include <string.h>

static void flush(struct dns_shared *sh, const char *name, struct evbuffer *out)
{
	struct dns_cache_stats st;
	uint8_t lw[DNS_NAME_WIRE_MAX];
	size_t wlen;

	if (!sh->cache_size) {
		evbuffer_add_printf(out, "error flush: the DNS cache is off (cache-size 0)\n");
		return;
	}
	if (!name) {
		dns_cache_stats(sh->cache, &st);
		dns_cache_clear(sh->cache);
		evbuffer_add_printf(out, "ok\nflushed %llu entries\n", (unsigned long long)st.entries);
		return;
	}
	if (dns_name_from_text(name, strlen(name), lw, &wlen) < 0) {
		evbuffer_add_printf(out, "error flush: '%s' is not a domain name\n", name);
		return;
	}
	evbuffer_add_printf(out, "ok\nflushed %zu entries for %s\n",
			    dns_cache_flush_name(sh->cache, lw, wlen), name);
}

bool dns_ctl(struct engine *e, const char *verb, const char *arg, struct evbuffer *out)
{
	struct dns_shared *sh = e->svc_shared[SVC_DNS];

	if (!sh)
		return false;
	if (strcmp(verb, "flush") == 0) {
		flush(sh, arg, out);
		return true;
	}
	return false;
}
