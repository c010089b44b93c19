/* list_cidr.c - CIDR text lists for ip-list (`cidr:FILE`): chnroute,
 * china_ip_list, china-operator-ip and the like, one prefix a line.
 * Reads lines out of a buffer that may hold any byte; each word is copied,
 * bounded, into a NUL-terminated buffer before inet_pton sees it. Owns the
 * format only; the set is iplist.c's. */
#include "config.h"
#include "list_int.h"
#include "list_ip.h"
#include "sluice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cctx {
	const char *name;
	unsigned line;
	struct iplist_builder *b;
	struct list_cidr_stats st;
	list_warn_fn warn;
	void *wctx;
};

static void bad(struct cctx *c, const char *fmt, ...) SL_PRINTF(2, 3);

static void bad(struct cctx *c, const char *fmt, ...)
{
	va_list ap;

	c->st.bad++;
	va_start(ap, fmt);
	list_vwarnf(c->warn, c->wctx, c->name, c->line, fmt, ap);
	va_end(ap);
}

/* "/N": one to three decimal digits, at most max. */
static int parse_plen(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_line(struct cctx *c, struct list_span s)
{
	char buf[INET6_ADDRSTRLEN + 8], show[80];
	struct list_span tok, rest;
	uint8_t addr[16];
	unsigned plen;
	char *slash;
	int family, rc;

	s = list_cut_hash(s);
	if (!s.n) {
		c->st.comments++;
		return 0;
	}
	rest = s;
	tok = list_token(&rest);
	rest = list_trim(rest);
	if (rest.n) {
		bad(c, "expected one address or prefix, got '%s'",
		    list_show(s, show, sizeof(show)));
		return 0;
	}
	if (tok.n >= sizeof(buf) || memchr(tok.p, '\0', tok.n)) {
		bad(c, "'%s' is not an address or prefix", list_show(tok, show, sizeof(show)));
		return 0;
	}
	memcpy(buf, tok.p, tok.n);
	buf[tok.n] = '\0';
	family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	plen = family == AF_INET ? 32 : 128;
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(family, buf, addr) != 1) {
		bad(c, "'%s' is not an address or prefix", list_show(tok, show, sizeof(show)));
		return 0;
	}
	if (slash && (rc = parse_plen(slash + 1, plen, &plen)) < 0) {
		bad(c, "'%s': the prefix length must be %s", list_show(tok, show, sizeof(show)),
		    family == AF_INET ? "0 to 32" : "0 to 128");
		return 0;
	}
	rc = iplist_builder_add(c->b, family, addr, plen);
	if (rc == 0)
		c->st.entries++;
	return rc == -ENOMEM ? rc : 0;
}

int list_cidr_parse_buf(const char *name, const char *buf, size_t len, struct iplist_builder *b,
			struct list_cidr_stats *st, list_warn_fn warn, void *ctx)
{
	struct cctx c = {.name = name ? name : "-", .b = b, .warn = warn, .wctx = ctx};
	const char *p = buf, *end = buf + len;
	int rc = 0;

	if (!b || (!buf && len))
		return -EINVAL;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark */
		p += 3;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		c.line++;
		c.st.lines++;
		rc = parse_line(&c, (struct list_span){p, (size_t)(e - p)});
		p = nl ? nl + 1 : end;
	}
	if (st) {
		st->lines += c.st.lines;
		st->entries += c.st.entries;
		st->bad += c.st.bad;
		st->comments += c.st.comments;
	}
	return rc;
}

int list_cidr_load(const char *path, struct iplist_builder *b, struct list_cidr_stats *st,
		   list_warn_fn warn, void *ctx)
{
	char *buf;
	size_t len;
	int rc = list_read_file(path, &buf, &len);

	if (rc < 0)
		return rc;
	rc = list_cidr_parse_buf(path, buf, len, b, st, warn, ctx);
	free(buf);
	return rc;
}
