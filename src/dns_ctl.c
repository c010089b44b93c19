/* dns_ctl.c - the DNS service's `sluice ctl` verbs: flush [NAME] and dump
 * (the shared cache), answered on the main thread. */
#include "config.h"
#include "dns_int.h"
#include "dns_cache.h"
#include "dns_wire.h"
#include "dns_conf.h"
#include "engine.h"

#include <event2/buffer.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <stdio.h>
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

/* One entry of `dump`: "; NAME TYPE RCODE ttl=LEFT [stale]", then its
 * records as ldns prints them (the answer was validated when stored). */
static int dump_one(void *arg, const struct dns_cache_rec *r)
{
	static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"};
	struct evbuffer *out = arg;
	uint8_t lw[DNS_NAME_WIRE_MAX];
	char name[DNS_NAME_PRES_MAX], tb[16];
	size_t off = DNS_HDR_LEN, wl;
	unsigned rcode = r->len > 3 ? r->wire[3] & 0xf : 0;
	ldns_pkt *p = NULL;
	uint16_t type;

	if (dns_wire_name_read(r->wire, r->len, &off, lw, &wl, NULL, NULL) < 0 || r->len - off < 4)
		return 0;
	type = rd16(r->wire + off);
	dns_name_to_text(lw, name);
	evbuffer_add_printf(out, "; %s %s %s ttl=%lld%s\n", name[0] ? name : ".",
			    dns_type_name(type, tb, sizeof(tb)), rcode < 4 ? rcodes[rcode] : "RCODE",
			    (long long)(r->left_ms > 0 ? r->left_ms / 1000 : 0),
			    r->left_ms > 0 ? "" : " stale");
	if (ldns_wire2pkt(&p, r->wire, r->len) != LDNS_STATUS_OK)
		return 0;
	for (int sec = 0; sec < 2; sec++) {
		const ldns_rr_list *l = sec ? ldns_pkt_authority(p) : ldns_pkt_answer(p);

		for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
			char *t = ldns_rr2str(ldns_rr_list_rr(l, i));

			if (t)
				evbuffer_add(out, t, strlen(t));
			free(t);
		}
	}
	ldns_pkt_free(p);
	return 0;
}

/* The cache is copied out a shard at a time (dns_cache_dump), so workers
 * wait on a shard's lock for a copy, never for this output. */
static void dump(struct dns_shared *sh, struct evbuffer *out)
{
	if (!sh->cache_size) {
		evbuffer_add_printf(out, "error dump: the DNS cache is off (cache-size 0)\n");
		return;
	}
	evbuffer_add_printf(out, "ok\n");
	if (dns_cache_dump(sh->cache, sl_now_ms(), dump_one, out) < 0)
		evbuffer_add_printf(out, "; out of memory: the dump is incomplete\n");
}

/* `cache NAME [TYPE]`: is it cached, for how long more (sluice match asks). */
static void peek(struct dns_shared *sh, const char *arg, struct evbuffer *out)
{
	char name[DNS_NAME_PRES_MAX + 1], type[16] = "A", rc[16], extra;
	struct dns_cache_hit hit;
	uint8_t lw[DNS_NAME_WIRE_MAX];
	uint16_t qtype;
	size_t wlen;
	/* the width is name's size less its NUL: DNS_NAME_PRES_MAX */
	int n = arg ? sscanf(arg, "%1004s %15s %c", name, type, &extra) : 0;

	_Static_assert(DNS_NAME_PRES_MAX == 1004, "the %1004s above is sizeof(name) - 1");

	if (n < 1 || n > 2 || !(qtype = dns_type_parse(type)) ||
	    dns_name_from_text(name, strlen(name), lw, &wlen) < 0) {
		evbuffer_add_printf(out, "error usage: cache NAME [TYPE]\n");
		return;
	}
	if (!sh->cache_size || dns_cache_peek(sh->cache, lw, wlen, qtype, sl_now_ms(), &hit) < 0) {
		evbuffer_add_printf(out, "ok\nnot cached\n");
		return;
	}
	snprintf(rc, sizeof(rc), "%s", hit.rcode == 0 ? "NOERROR" : hit.rcode == 3 ? "NXDOMAIN" : "");
	if (!rc[0])
		snprintf(rc, sizeof(rc), "RCODE%u", hit.rcode);
	evbuffer_add_printf(out, "ok\nttl=%u rcode=%s age=%u%s\n", hit.ttl, rc, hit.age_s,
			    hit.stale ? " stale" : "");
}

bool dns_ctl(struct engine *e, const char *verb, const char *arg, struct evbuffer *out)
{
	struct dns_shared *sh = e->svc_shared[SVC_DNS];

	if (!sh)
		return false;
	if (strcmp(verb, "flush") == 0 && (!arg || !arg[strcspn(arg, " \t")])) {
		flush(sh, arg, out);
		return true;
	}
	if (strcmp(verb, "dump") == 0 && !arg) {
		dump(sh, out);
		return true;
	}
	if (strcmp(verb, "cache") == 0) {
		peek(sh, arg, out);
		return true;
	}
	return false;
}
