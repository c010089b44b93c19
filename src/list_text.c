#include "config.h"
/* list_text.c - line-oriented text domain lists: dnsmasq, hosts, adblock
 * and plain.
 *
 * Owns line splitting, per-format syntax and the FILE:LINE warnings, plus the
 * span helpers it shares with list_dlc.c (list_int.h); feeds match builders
 * and the hosts table. Does not match names (match.c), store host addresses
 * (list_hosts.c), resolve domain-list-community includes (list_dlc.c) nor
 * decode geosite.dat (list_geosite.c). Files are read in chunks (or whole,
 * list_read_file), parsed as const bytes (no NUL termination assumed). */
#include "list_int.h"
#include "list_text.h"
#include "sluice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_FILE_MAX (1u << 30)

/* ---- spans and small helpers ---- */

struct list_span list_token(struct list_span *s)
{
	struct list_span t;

	*s = list_trim(*s);
	t.p = s->p;
	t.n = 0;
	while (t.n < s->n && !list_blank(s->p[t.n]))
		t.n++;
	s->p += t.n;
	s->n -= t.n;
	return t;
}

struct list_span list_cut_hash(struct list_span s)
{
	const char *h = memchr(s.p, '#', s.n);

	if (h)
		s.n = (size_t)(h - s.p);
	return list_trim(s);
}

const char *list_show(struct list_span s, char *out, size_t outlen)
{
	size_t n = s.n < outlen - 1 ? s.n : outlen - 1;

	for (size_t i = 0; i < n; i++)
		out[i] =
		    (unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] >= 0x7f ? '?' : s.p[i];
	out[n] = '\0';
	return out;
}

bool list_kind_prefix(struct list_span *v, bool regex_alias, enum match_kind *kind)
{
	static const struct {
		const char *pfx;
		enum match_kind kind;
	} pf[] = {{"domain:", MATCH_DOMAIN},
		  {"full:", MATCH_FULL},
		  {"keyword:", MATCH_KEYWORD},
		  {"regexp:", MATCH_REGEXP},
		  {"regex:", MATCH_REGEXP}}; /* last: only domain-list-community has it */
	size_t n = SL_ARRAY_LEN(pf) - !regex_alias;

	*kind = MATCH_DOMAIN;
	for (size_t i = 0; i < n; i++)
		if (list_starts(*v, pf[i].pfx)) {
			*kind = pf[i].kind;
			v->p += strlen(pf[i].pfx);
			v->n -= strlen(pf[i].pfx);
			return true;
		}
	return false;
}

const char *list_add_msg(int rc, enum match_kind kind, struct list_span v, char *out, size_t outlen)
{
	char tmp[80];

	snprintf(out, outlen, "%s %s '%s'", rc == -E2BIG ? "too many entries, dropped" : "invalid",
		 kind == MATCH_REGEXP	 ? "regexp"
		 : kind == MATCH_KEYWORD ? "keyword"
					 : "name",
		 list_show(v, tmp, sizeof(tmp)));
	return out;
}

int list_read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto done;
	}
	if (S_ISDIR(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > LIST_FILE_MAX) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
		goto done;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		rc = -ENOMEM;
		goto done;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break; /* a file that shrank is read as it is now */
		}
		got += (size_t)r;
	}
	*len = got;
done:
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return rc;
}

/* ---- parse context ---- */

struct pctx {
	const char *name;
	const struct list_sink *k;
	struct list_stats st; /* this parse; added to k->st at the end */
	unsigned line;
	bool line_bad;
	int err; /* -ENOMEM stops the parse */
};

static void warnf(struct pctx *pc, const char *fmt, ...) SL_PRINTF(2, 3);

void list_vwarnf(list_warn_fn warn, void *ctx, const char *file, unsigned line, const char *fmt,
		 va_list ap)
{
	char msg[512];

	if (!warn)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	warn(ctx, file, line, msg);
}

static void warnf(struct pctx *pc, const char *fmt, ...)
{
	va_list ap;

	if (!pc->line_bad)
		pc->st.bad++;
	pc->line_bad = true;
	va_start(ap, fmt);
	list_vwarnf(pc->k->warn, pc->k->warn_ctx, pc->name, pc->line, fmt, ap);
	va_end(ap);
}

static uint32_t line_tag(const struct pctx *pc)
{
	return pc->k->tag + (pc->k->tag_line ? pc->line : 0);
}

/* Add a value to pos (or neg); reports a bad value. Returns true if added. */
static bool emit(struct pctx *pc, enum match_kind kind, struct list_span v, bool neg)
{
	struct match_builder *b = neg ? pc->k->neg : pc->k->pos;
	char msg[128];
	int rc = b ? match_builder_add(b, kind, v.p, v.n, line_tag(pc)) : 0;

	if (rc == -ENOMEM) {
		pc->err = rc;
		return false;
	}
	if (rc < 0) {
		warnf(pc, "%s", list_add_msg(rc, kind, v, msg, sizeof(msg)));
		return false;
	}
	if (neg)
		pc->st.allow++;
	else
		pc->st.entries++;
	return true;
}

static bool parse_ip(struct list_span s, int *fam, struct in6_addr *a)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	const char *pct = memchr(s.p, '%', s.n);

	if (pct) /* fe80::1%eth0: the zone means nothing here */
		s.n = (size_t)(pct - s.p);
	if (s.n == 0 || s.n >= sizeof(tmp))
		return false;
	memcpy(tmp, s.p, s.n);
	tmp[s.n] = '\0';
	if (inet_pton(AF_INET, tmp, a) == 1) {
		*fam = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, a) == 1) {
		*fam = AF_INET6;
		return true;
	}
	return false;
}

static void host_add(struct pctx *pc, struct list_span name, int fam, const void *addr)
{
	int rc;

	if (!pc->k->hosts)
		return;
	rc = list_hosts_add(pc->k->hosts, name.p, name.n, fam, addr);
	if (rc == -ENOMEM)
		pc->err = rc;
	else if (rc == 0)
		pc->st.hosts++;
}

/* ---- dnsmasq ---- */

/* dnsmasq starts a comment at a '#' that follows a blank; a '#' right after
 * '/' is a value (the default upstream), and URLs in trailing comments hold
 * '/' and '#', so never split on them. */
static struct list_span dnsmasq_cut(struct list_span s)
{
	for (size_t i = 1; i < s.n; i++)
		if (s.p[i] == '#' && list_blank(s.p[i - 1])) {
			s.n = i;
			break;
		}
	return list_trim(s);
}

/* "", "#", IP, IP#port, with an optional @interface/source tail. */
static bool dnsmasq_upstream_ok(struct list_span u)
{
	struct in6_addr a;
	size_t n = 0, digits = 0;
	unsigned long port = 0;
	int fam;

	if (u.n == 0 || (u.n == 1 && u.p[0] == '#'))
		return true;
	while (n < u.n && u.p[n] != '#' && u.p[n] != '@')
		n++;
	if (!parse_ip((struct list_span){u.p, n}, &fam, &a))
		return false;
	if (n < u.n && u.p[n] == '#') {
		for (n++; n < u.n && u.p[n] >= '0' && u.p[n] <= '9' && digits < 6; n++, digits++)
			port = port * 10 + (unsigned long)(u.p[n] - '0');
		if (digits == 0 || port > 65535)
			return false;
	}
	return n == u.n || u.p[n] == '@';
}

enum dm_key { DM_SERVER, DM_LOCAL, DM_ADDRESS, DM_SET };

static int dnsmasq_key(struct list_span k)
{
	static const struct {
		const char *name;
		enum dm_key key;
	} keys[] = {{"server", DM_SERVER},
		    {"local", DM_LOCAL},
		    {"address", DM_ADDRESS},
		    {"ipset", DM_SET},
		    {"nftset", DM_SET}};

	for (size_t i = 0; i < SL_ARRAY_LEN(keys); i++)
		if (k.n == strlen(keys[i].name) && memcmp(k.p, keys[i].name, k.n) == 0)
			return (int)keys[i].key;
	return -1;
}

static void dnsmasq_domain(struct pctx *pc, struct list_span d, int key, struct list_span rest)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
	static const struct in_addr any4 = {0};
	struct in6_addr a;
	int fam;

	if (d.n == 0) { /* server=//ip: unqualified names, not a domain */
		pc->st.skipped++;
		return;
	}
	if (d.p[0] == '.')
		d.p++, d.n--;
	if (!emit(pc, MATCH_DOMAIN, d, false) || key != DM_ADDRESS)
		return;
	if (rest.n == 1 && rest.p[0] == '#') {
		host_add(pc, d, AF_INET, &any4);
		host_add(pc, d, AF_INET6, &any6);
	} else if (rest.n && parse_ip(rest, &fam, &a)) {
		host_add(pc, d, fam, &a);
	}
}

static void parse_dnsmasq(struct pctx *pc, struct list_span s)
{
	const char *eq = memchr(s.p, '=', s.n), *last;
	struct list_span v, rest, doms;
	struct in6_addr a;
	char tmp[80];
	int key, fam;

	key = eq ? dnsmasq_key(list_trim((struct list_span){s.p, (size_t)(eq - s.p)})) : -1;
	if (key < 0) { /* some other dnsmasq option */
		pc->st.skipped++;
		return;
	}
	v = list_trim((struct list_span){eq + 1, s.n - (size_t)(eq + 1 - s.p)});
	if (v.n == 0 || v.p[0] != '/') {
		if (key == DM_SERVER || key == DM_LOCAL)
			pc->st.skipped++; /* server=IP: the default upstream */
		else
			warnf(pc, "expected /domain/ in '%s'", list_show(s, tmp, sizeof(tmp)));
		return;
	}
	last = memrchr(v.p, '/', v.n);
	if (last == v.p) {
		warnf(pc, "missing closing '/' in '%s'", list_show(s, tmp, sizeof(tmp)));
		return;
	}
	rest = (struct list_span){last + 1, v.n - (size_t)(last + 1 - v.p)};
	if ((key == DM_SERVER || key == DM_LOCAL) ? !dnsmasq_upstream_ok(rest)
	    : key == DM_ADDRESS
		? !(rest.n == 0 || (rest.n == 1 && rest.p[0] == '#') || parse_ip(rest, &fam, &a))
		: false) {
		warnf(pc, "bad address '%s'", list_show(rest, tmp, sizeof(tmp)));
		return;
	}
	doms = (struct list_span){v.p + 1, (size_t)(last - v.p - 1)};
	while (!pc->err) {
		const char *sl = memchr(doms.p, '/', doms.n);
		size_t n = sl ? (size_t)(sl - doms.p) : doms.n;

		dnsmasq_domain(pc, (struct list_span){doms.p, n}, key, rest);
		if (!sl)
			break;
		doms.p += n + 1;
		doms.n -= n + 1;
	}
}

/* ---- hosts ---- */

static void parse_hosts(struct pctx *pc, struct list_span s)
{
	struct in6_addr a;
	struct list_span ip = list_token(&s), name;
	char tmp[80];
	int fam, n = 0, rc;

	if (!parse_ip(ip, &fam, &a)) {
		warnf(pc, "bad address '%s'", list_show(ip, tmp, sizeof(tmp)));
		return;
	}
	while ((name = list_token(&s)).n && !pc->err) {
		n++;
		if (pc->k->pos) {
			if (emit(pc, MATCH_FULL, name, false))
				host_add(pc, name, fam, &a);
			continue;
		}
		rc = pc->k->hosts ? list_hosts_add(pc->k->hosts, name.p, name.n, fam, &a) : 0;
		if (rc == -ENOMEM)
			pc->err = rc;
		else if (rc < 0)
			warnf(pc, "invalid name '%s'", list_show(name, tmp, sizeof(tmp)));
		else
			pc->st.entries++, pc->st.hosts += pc->k->hosts != NULL;
	}
	if (n == 0)
		warnf(pc, "address without a name");
}

/* ---- adblock ---- */

static bool adb_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool adb_comment(struct list_span s)
{
	return s.p[0] == '!' || (s.p[0] == '[' && s.p[s.n - 1] == ']') ||
	       (s.p[0] == '#' && (s.n == 1 || s.p[1] == ' '));
}

static bool has_opt(struct list_span opts, const char *name)
{
	size_t l = strlen(name);

	for (size_t i = 0; i + l <= opts.n; i++)
		if ((i == 0 || opts.p[i - 1] == ',') && memcmp(opts.p + i, name, l) == 0 &&
		    (i + l == opts.n || opts.p[i + l] == ',' || opts.p[i + l] == '='))
			return true;
	return false;
}

/* Where the host part ends: true with *opts set (maybe empty) when the rule
 * is a pure host rule, false when a path, wildcard or port follows. */
static bool adb_tail(struct list_span s, size_t i, struct list_span *opts)
{
	*opts = (struct list_span){s.p + s.n, 0};
	if (i == s.n)
		return true;
	if (s.p[i] == '^') {
		if (++i == s.n || (s.p[i] == '|' && i + 1 == s.n))
			return true;
		if (s.p[i] != '$')
			return false;
	}
	if (s.p[i] == '$') {
		*opts = (struct list_span){s.p + i + 1, s.n - i - 1};
		return true;
	}
	return s.p[i] == '|' && i + 1 == s.n;
}

static void parse_adblock(struct pctx *pc, struct list_span s)
{
	bool allow = list_starts(s, "@@");
	struct list_span host, opts;
	struct in_addr a4;
	char tmp[80];
	size_t i = 0;

	if (allow)
		s.p += 2, s.n -= 2;
	if (!list_starts(s, "||")) { /* URL, path, cosmetic, regexp or host-less rule */
		pc->st.skipped++;
		return;
	}
	s.p += 2, s.n -= 2;
	while (i < s.n && adb_host_char(s.p[i]))
		i++;
	host = (struct list_span){s.p, i};
	if (!adb_tail(s, i, &opts) || has_opt(opts, "badfilter") || (allow && !pc->k->neg)) {
		pc->st.skipped++;
		return;
	}
	if (host.n == 0) {
		warnf(pc, "empty host in '%s'", list_show(s, tmp, sizeof(tmp)));
		return;
	}
	memcpy(tmp, host.p, host.n < sizeof(tmp) - 1 ? host.n : sizeof(tmp) - 1);
	tmp[host.n < sizeof(tmp) - 1 ? host.n : sizeof(tmp) - 1] = '\0';
	emit(pc, inet_pton(AF_INET, tmp, &a4) == 1 ? MATCH_FULL : MATCH_DOMAIN, host, allow);
}

/* ---- plain ---- */

static void parse_plain(struct pctx *pc, struct list_span s)
{
	struct list_span v = list_token(&s);
	enum match_kind kind;
	char tmp[80];

	if (list_trim(s).n) {
		warnf(pc, "text after the name: '%s'", list_show(list_trim(s), tmp, sizeof(tmp)));
		return;
	}
	(void)list_kind_prefix(&v, false, &kind);
	if (kind == MATCH_DOMAIN && list_starts(v, "*."))
		v.p += 2, v.n -= 2;
	else if (kind == MATCH_DOMAIN && list_starts(v, "."))
		v.p++, v.n--;
	emit(pc, kind, v, false);
}

/* ---- line loop ---- */

static void parse_line(struct pctx *pc, enum list_format fmt, struct list_span s)
{
	if (s.n && memchr(s.p, '\0', s.n)) {
		warnf(pc, "NUL byte in line");
		return;
	}
	if (fmt == LIST_HOSTS || fmt == LIST_PLAIN)
		s = list_cut_hash(s);
	if (s.n == 0 || (fmt == LIST_DNSMASQ && s.p[0] == '#') ||
	    (fmt == LIST_ADBLOCK && adb_comment(s))) {
		pc->st.comments++;
		return;
	}
	switch (fmt) {
	case LIST_DNSMASQ:
		parse_dnsmasq(pc, dnsmasq_cut(s));
		break;
	case LIST_HOSTS:
		parse_hosts(pc, s);
		break;
	case LIST_ADBLOCK:
		parse_adblock(pc, s);
		break;
	case LIST_PLAIN:
		parse_plain(pc, s);
		break;
	}
}

static void stats_add(struct list_stats *d, const struct list_stats *s)
{
	d->lines += s->lines;
	d->entries += s->entries;
	d->allow += s->allow;
	d->hosts += s->hosts;
	d->bad += s->bad;
	d->skipped += s->skipped;
	d->comments += s->comments;
}

/* Parse the complete lines in [p, end); with last, the tail too. Returns
 * where the unparsed tail starts. */
static const char *parse_lines(struct pctx *pc, enum list_format fmt, const char *p,
			       const char *end, bool last)
{
	while (p < end && !pc->err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct list_span s = {p, (size_t)((nl ? nl : end) - p)};

		if (!nl && !last)
			break;
		p = nl ? nl + 1 : end;
		pc->line++;
		pc->line_bad = false;
		pc->st.lines++;
		parse_line(pc, fmt, list_trim(s));
	}
	return p;
}

static const char *skip_bom(const char *p, size_t len)
{
	return len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0 ? p + 3 : p;
}

static bool sink_ok(const struct list_sink *sink, enum list_format fmt)
{
	return sink && fmt >= LIST_DNSMASQ && fmt <= LIST_PLAIN;
}

int list_text_parse_buf(const char *name, const char *buf, size_t len, enum list_format fmt,
			const struct list_sink *sink)
{
	struct pctx pc = {.name = name ? name : "-", .k = sink};

	if (!sink_ok(sink, fmt) || (!buf && len))
		return -EINVAL;
	if (sink->pos && len > (1u << 20)) /* big list: about one entry per 32 bytes */
		(void)match_builder_reserve(sink->pos, len / 32);
	parse_lines(&pc, fmt, skip_bom(buf, len), buf + len, true);
	if (sink->st)
		stats_add(sink->st, &pc.st);
	return pc.err;
}

#define CHUNK (64u << 10)

/* Read in chunks: fresh memory is slow to fault in (a 4 MB list would
 * cost more in page faults than in parsing), and a chunk is reused. */
static int load_fd(int fd, const char *path, enum list_format fmt, const struct list_sink *sink)
{
	struct pctx pc = {.name = path, .k = sink};
	size_t cap = CHUNK, have = 0;
	bool first = true, eof = false;
	char *buf = malloc(cap);
	struct stat st;

	if (!buf)
		return -ENOMEM;
	if (sink->pos && fstat(fd, &st) == 0 && st.st_size > (1 << 20))
		(void)match_builder_reserve(sink->pos, (size_t)st.st_size / 32);
	while (!eof && !pc.err) {
		const char *p = buf, *rest;
		ssize_t r = read(fd, buf + have, cap - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pc.err = -errno;
			break;
		}
		eof = r == 0;
		have += (size_t)r;
		if (first && (have >= 3 || eof)) {
			p = skip_bom(buf, have);
			first = false;
		} else if (first) {
			continue;
		}
		rest = parse_lines(&pc, fmt, p, buf + have, eof);
		have -= (size_t)(rest - buf);
		memmove(buf, rest, have);
		if (have == cap) { /* one line longer than the buffer */
			char *nb = cap < LIST_FILE_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				pc.err = cap < LIST_FILE_MAX ? -ENOMEM : -EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	free(buf);
	if (sink->st)
		stats_add(sink->st, &pc.st);
	return pc.err;
}

int list_text_load_sink(const char *path, enum list_format fmt, const struct list_sink *sink)
{
	struct stat st;
	int fd, rc;

	if (!sink_ok(sink, fmt) || !path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else
		rc = load_fd(fd, path, fmt, sink);
	close(fd);
	return rc;
}

int list_text_load(const char *path, enum list_format fmt, struct match_builder *pos,
		   struct match_builder *neg, struct list_hosts *hosts, struct list_stats *st,
		   list_warn_fn warn, void *warn_ctx)
{
	struct list_sink k = {.pos = pos,
			      .neg = neg,
			      .hosts = hosts,
			      .st = st,
			      .warn = warn,
			      .warn_ctx = warn_ctx,
			      .tag = 0,
			      .tag_line = true};

	return list_text_load_sink(path, fmt, &k);
}

static const char *const fmt_names[] = {"dnsmasq", "hosts", "adblock", "plain"};

int list_format_parse(const char *s, enum list_format *out)
{
	for (size_t i = 0; s && i < SL_ARRAY_LEN(fmt_names); i++)
		if (strcmp(s, fmt_names[i]) == 0) {
			*out = (enum list_format)i;
			return 0;
		}
	return -EINVAL;
}

const char *list_format_name(enum list_format fmt)
{
	return (unsigned)fmt < SL_ARRAY_LEN(fmt_names) ? fmt_names[fmt] : "?";
}
