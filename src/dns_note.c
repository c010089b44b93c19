/* dns_note.c - one line per query in the query log:
 *
 *   TIME client=ADDR name=NAME type=TYPE action=ACTION rule=FILE:LINE
 *     group=GROUP server=PROTO://ADDR rcode=RCODE cache=CACHE ms=LATENCY
 *
 * on one line, "-" for what does not apply. Names are in presentation
 * form (no blanks: other bytes are escaped as \DDD), so fields split on
 * spaces. Built by hand, not with printf: at cache-hit rates the log must
 * cost little (the budget is 20% of cache-hit throughput; see bench/). */
#include "config.h"
#include "dns_int.h"
#include "qlog.h"
#include "worker.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void dns_note_start(const struct dns_worker *dw, struct dns_note *n)
{
	n->t0_us = qlog_on(dw->qlog) ? sl_now_us() : 0;
	n->action = "-";
	n->rule[0] = '\0';
	n->group[0] = '\0';
}

/* "FILE:LINE" into out (DNS_NOTE_RULE_MAX), a long path cut at its start
 * (the file name is at the end). No printf: this runs for every query. */
static void rule_text(char *out, const char *file, unsigned line)
{
	char num[12];
	size_t fl = strlen(file), nl = 0, room;

	do
		num[sizeof(num) - ++nl] = (char)('0' + line % 10);
	while ((line /= 10) && nl < sizeof(num));
	room = DNS_NOTE_RULE_MAX - 2 - nl;
	if (fl > room) {
		file += fl - room;
		fl = room;
	}
	memcpy(out, file, fl);
	out[fl] = ':';
	memcpy(out + fl + 1, num + sizeof(num) - nl, nl);
	out[fl + 1 + nl] = '\0';
}

void dns_note_rule(struct dns_note *n, const char *file, unsigned line, const char *action)
{
	n->action = action;
	if (!n->t0_us)
		return;
	if (file)
		rule_text(n->rule, file, line);
	else
		n->rule[0] = '\0';
}

void dns_note_group(struct dns_note *n, const char *group)
{
	size_t l;

	if (!n->t0_us)
		return;
	l = group ? strnlen(group, DNS_NOTE_GROUP_MAX - 1) : 0;
	memcpy(n->group, group ? group : "", l);
	n->group[l] = '\0';
}

/* The line being built; writes past the end are dropped. */
struct line {
	char *p, *end;
};

static void put(struct line *l, const char *s, size_t n)
{
	if ((size_t)(l->end - l->p) < n)
		n = (size_t)(l->end - l->p);
	memcpy(l->p, s, n);
	l->p += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_u(struct line *l, uint64_t v)
{
	char b[20];
	size_t i = sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	put(l, b + i, sizeof(b) - i);
}

/* An address without its port; IPv4 by hand (inet_ntop goes through printf). */
static void put_ip(struct line *l, const struct addr *a)
{
	char b[INET6_ADDRSTRLEN];

	if (addr_family(a) == AF_INET) {
		const uint8_t *ip = (const uint8_t *)&a->u.in.sin_addr;

		for (int i = 0; i < 4; i++) {
			if (i)
				put(l, ".", 1);
			put_u(l, ip[i]);
		}
		return;
	}
	puts_(l, inet_ntop(AF_INET6, &a->u.in6.sin6_addr, b, sizeof(b)) ? b : "?");
}

static void put_rcode(struct line *l, int rc)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED"};

	if (rc < 0) {
		put(l, "-", 1);
	} else if ((size_t)rc < SL_ARRAY_LEN(names)) {
		puts_(l, names[rc]);
	} else {
		puts_(l, "RCODE");
		put_u(l, (uint64_t)rc);
	}
}

static void put_field(struct line *l, const char *key, const char *v)
{
	puts_(l, key);
	puts_(l, v && *v ? v : "-");
}

static void put_server(struct line *l, const struct dns_up_server *by)
{
	puts_(l, " server=");
	if (!by) {
		put(l, "-", 1);
		return;
	}
	puts_(l, dns_proto_name(by->proto));
	puts_(l, "://");
	if (addr_family(&by->addr) == AF_INET6)
		put(l, "[", 1);
	put_ip(l, &by->addr);
	if (addr_family(&by->addr) == AF_INET6)
		put(l, "]", 1);
	put(l, ":", 1);
	put_u(l, addr_port(&by->addr));
}

/* Latency in ms with three decimals. */
static void put_ms(struct line *l, uint64_t us)
{
	char frac[4] = {(char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
			(char)('0' + us % 10), 0};

	puts_(l, " ms=");
	put_u(l, us / 1000);
	put(l, ".", 1);
	put(l, frac, 3);
}

void dns_note_done(struct dns_worker *dw, const struct dns_src *src, const struct dns_note *n,
		   const struct dns_query *q, int alen, enum dns_note_cache cache,
		   const struct dns_up_server *by)
{
	static const char *const caches[] = {"-", "hit", "stale", "miss"};
	char buf[QLOG_LINE_MAX], tb[16];
	struct line l = {buf, buf + sizeof(buf)};
	uint64_t now;

	if (!n->t0_us)
		return;
	now = sl_now_us();
	l.p += qlog_time(dw->qlog, now, buf);
	puts_(&l, " client=");
	put_ip(&l, &src->client);
	puts_(&l, " name=");
	put(&l, q->name, q->name_len);
	puts_(&l, " type=");
	puts_(&l, dns_type_name(q->qtype, tb, sizeof(tb)));
	put_field(&l, " action=", n->action);
	put_field(&l, " rule=", n->rule);
	put_field(&l, " group=", n->group);
	put_server(&l, by);
	puts_(&l, " rcode=");
	put_rcode(&l, alen > 3 ? (dw->out[3] & 0x0f) : -1);
	put_field(&l, " cache=", caches[cache]);
	put_ms(&l, now - n->t0_us);
	qlog_line(dw->qlog, buf, (size_t)(l.p - buf));
}
