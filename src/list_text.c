#include "config.h"
/* list_text.c - text domain lists: dnsmasq, hosts, adblock, plain and the
 * domain-list-community source tree, plus the hosts (name -> address) table.
 *
 * Owns line splitting, per-format syntax and the FILE:LINE warnings; feeds
 * match builders and does not match names itself (match.c) nor decode
 * geosite.dat (list_geosite.c). Every file is read whole, parsed as const
 * bytes (no NUL termination assumed) and freed. */
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
#define DLC_DEPTH_MAX 16
#define DLC_ATTR_MAX 64
#define DLC_STATES_MAX 100000

/* ---- spans and small helpers ---- */

struct span {
	const char *p;
	size_t n;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static struct span trim(struct span s)
{
	while (s.n && is_blank(s.p[0]))
		s.p++, s.n--;
	while (s.n && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool starts(struct span s, const char *pfx)
{
	size_t l = strlen(pfx);

	return s.n >= l && memcmp(s.p, pfx, l) == 0;
}

/* Next whitespace-separated token of *s (empty span at the end). */
static struct span token(struct span *s)
{
	struct span t;

	*s = trim(*s);
	t.p = s->p;
	t.n = 0;
	while (t.n < s->n && !is_blank(s->p[t.n]))
		t.n++;
	s->p += t.n;
	s->n -= t.n;
	return t;
}

/* Cut s at the first '#' (anywhere) and trim. */
static struct span cut_hash(struct span s)
{
	const char *h = memchr(s.p, '#', s.n);

	if (h)
		s.n = (size_t)(h - s.p);
	return trim(s);
}

/* Printable copy of a span for messages. */
static const char *show(struct span s, char *out, size_t outlen)
{
	size_t n = s.n < outlen - 1 ? s.n : outlen - 1;

	for (size_t i = 0; i < n; i++)
		out[i] =
		    (unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] >= 0x7f ? '?' : s.p[i];
	out[n] = '\0';
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

static void warnf(struct pctx *pc, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!pc->line_bad)
		pc->st.bad++;
	pc->line_bad = true;
	if (!pc->k->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pc->k->warn(pc->k->warn_ctx, pc->name, pc->line, msg);
}

static uint32_t line_tag(const struct pctx *pc)
{
	return pc->k->tag + (pc->k->tag_line ? pc->line : 0);
}

/* Add a value to pos (or neg); reports a bad value. Returns true if added. */
static bool emit(struct pctx *pc, enum match_kind kind, struct span v, bool neg)
{
	struct match_builder *b = neg ? pc->k->neg : pc->k->pos;
	char tmp[80];
	int rc = b ? match_builder_add(b, kind, v.p, v.n, line_tag(pc)) : 0;

	if (rc == -ENOMEM) {
		pc->err = rc;
		return false;
	}
	if (rc < 0) {
		warnf(pc, "%s %s '%s'", rc == -E2BIG ? "too many entries, dropped" : "invalid",
		      kind == MATCH_REGEXP    ? "regexp"
		      : kind == MATCH_KEYWORD ? "keyword"
					      : "name",
		      show(v, tmp, sizeof(tmp)));
		return false;
	}
	if (neg)
		pc->st.allow++;
	else
		pc->st.entries++;
	return true;
}

static bool parse_ip(struct span s, int *fam, struct in6_addr *a)
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

static void host_add(struct pctx *pc, struct span name, int fam, const void *addr)
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
static struct span dnsmasq_cut(struct span s)
{
	for (size_t i = 1; i < s.n; i++)
		if (s.p[i] == '#' && is_blank(s.p[i - 1])) {
			s.n = i;
			break;
		}
	return trim(s);
}

/* "", "#", IP, IP#port, with an optional @interface/source tail. */
static bool dnsmasq_upstream_ok(struct span u)
{
	struct in6_addr a;
	size_t n = 0, digits = 0;
	unsigned long port = 0;
	int fam;

	if (u.n == 0 || (u.n == 1 && u.p[0] == '#'))
		return true;
	while (n < u.n && u.p[n] != '#' && u.p[n] != '@')
		n++;
	if (!parse_ip((struct span){u.p, n}, &fam, &a))
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

static int dnsmasq_key(struct span k)
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

static void dnsmasq_domain(struct pctx *pc, struct span d, int key, struct span rest)
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

static void parse_dnsmasq(struct pctx *pc, struct span s)
{
	const char *eq = memchr(s.p, '=', s.n), *last;
	struct span v, rest, doms;
	struct in6_addr a;
	char tmp[80];
	int key, fam;

	key = eq ? dnsmasq_key(trim((struct span){s.p, (size_t)(eq - s.p)})) : -1;
	if (key < 0) { /* some other dnsmasq option */
		pc->st.skipped++;
		return;
	}
	v = trim((struct span){eq + 1, s.n - (size_t)(eq + 1 - s.p)});
	if (v.n == 0 || v.p[0] != '/') {
		if (key == DM_SERVER || key == DM_LOCAL)
			pc->st.skipped++; /* server=IP: the default upstream */
		else
			warnf(pc, "expected /domain/ in '%s'", show(s, tmp, sizeof(tmp)));
		return;
	}
	last = memrchr(v.p, '/', v.n);
	if (last == v.p) {
		warnf(pc, "missing closing '/' in '%s'", show(s, tmp, sizeof(tmp)));
		return;
	}
	rest = (struct span){last + 1, v.n - (size_t)(last + 1 - v.p)};
	if ((key == DM_SERVER || key == DM_LOCAL) ? !dnsmasq_upstream_ok(rest)
	    : key == DM_ADDRESS
		? !(rest.n == 0 || (rest.n == 1 && rest.p[0] == '#') || parse_ip(rest, &fam, &a))
		: false) {
		warnf(pc, "bad address '%s'", show(rest, tmp, sizeof(tmp)));
		return;
	}
	doms = (struct span){v.p + 1, (size_t)(last - v.p - 1)};
	while (!pc->err) {
		const char *sl = memchr(doms.p, '/', doms.n);
		size_t n = sl ? (size_t)(sl - doms.p) : doms.n;

		dnsmasq_domain(pc, (struct span){doms.p, n}, key, rest);
		if (!sl)
			break;
		doms.p += n + 1;
		doms.n -= n + 1;
	}
}

/* ---- hosts ---- */

static void parse_hosts(struct pctx *pc, struct span s)
{
	struct in6_addr a;
	struct span ip = token(&s), name;
	char tmp[80];
	int fam, n = 0, rc;

	if (!parse_ip(ip, &fam, &a)) {
		warnf(pc, "bad address '%s'", show(ip, tmp, sizeof(tmp)));
		return;
	}
	while ((name = token(&s)).n && !pc->err) {
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
			warnf(pc, "invalid name '%s'", show(name, tmp, sizeof(tmp)));
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

static bool adb_comment(struct span s)
{
	return s.p[0] == '!' || (s.p[0] == '[' && s.p[s.n - 1] == ']') ||
	       (s.p[0] == '#' && (s.n == 1 || s.p[1] == ' '));
}

static bool has_opt(struct span opts, const char *name)
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
static bool adb_tail(struct span s, size_t i, struct span *opts)
{
	*opts = (struct span){s.p + s.n, 0};
	if (i == s.n)
		return true;
	if (s.p[i] == '^') {
		if (++i == s.n || (s.p[i] == '|' && i + 1 == s.n))
			return true;
		if (s.p[i] != '$')
			return false;
	}
	if (s.p[i] == '$') {
		*opts = (struct span){s.p + i + 1, s.n - i - 1};
		return true;
	}
	return s.p[i] == '|' && i + 1 == s.n;
}

static void parse_adblock(struct pctx *pc, struct span s)
{
	bool allow = starts(s, "@@");
	struct span host, opts;
	struct in_addr a4;
	char tmp[80];
	size_t i = 0;

	if (allow)
		s.p += 2, s.n -= 2;
	if (!starts(s, "||")) { /* URL, path, cosmetic, regexp or host-less rule */
		pc->st.skipped++;
		return;
	}
	s.p += 2, s.n -= 2;
	while (i < s.n && adb_host_char(s.p[i]))
		i++;
	host = (struct span){s.p, i};
	if (!adb_tail(s, i, &opts) || has_opt(opts, "badfilter") || (allow && !pc->k->neg)) {
		pc->st.skipped++;
		return;
	}
	if (host.n == 0) {
		warnf(pc, "empty host in '%s'", show(s, tmp, sizeof(tmp)));
		return;
	}
	memcpy(tmp, host.p, host.n < sizeof(tmp) - 1 ? host.n : sizeof(tmp) - 1);
	tmp[host.n < sizeof(tmp) - 1 ? host.n : sizeof(tmp) - 1] = '\0';
	emit(pc, inet_pton(AF_INET, tmp, &a4) == 1 ? MATCH_FULL : MATCH_DOMAIN, host, allow);
}

/* ---- plain ---- */

static void parse_plain(struct pctx *pc, struct span s)
{
	static const struct {
		const char *pfx;
		enum match_kind kind;
	} pf[] = {{"domain:", MATCH_DOMAIN},
		  {"full:", MATCH_FULL},
		  {"keyword:", MATCH_KEYWORD},
		  {"regexp:", MATCH_REGEXP}};
	struct span v = token(&s);
	enum match_kind kind = MATCH_DOMAIN;
	char tmp[80];

	if (trim(s).n) {
		warnf(pc, "text after the name: '%s'", show(trim(s), tmp, sizeof(tmp)));
		return;
	}
	for (size_t i = 0; i < SL_ARRAY_LEN(pf); i++)
		if (starts(v, pf[i].pfx)) {
			kind = pf[i].kind;
			v.p += strlen(pf[i].pfx);
			v.n -= strlen(pf[i].pfx);
			break;
		}
	if (kind == MATCH_DOMAIN && starts(v, "*."))
		v.p += 2, v.n -= 2;
	else if (kind == MATCH_DOMAIN && starts(v, "."))
		v.p++, v.n--;
	emit(pc, kind, v, false);
}

/* ---- line loop ---- */

static void parse_line(struct pctx *pc, enum list_format fmt, struct span s)
{
	if (s.n && memchr(s.p, '\0', s.n)) {
		warnf(pc, "NUL byte in line");
		return;
	}
	if (fmt == LIST_HOSTS || fmt == LIST_PLAIN)
		s = cut_hash(s);
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
		struct span s = {p, (size_t)((nl ? nl : end) - p)};

		if (!nl && !last)
			break;
		p = nl ? nl + 1 : end;
		pc->line++;
		pc->line_bad = false;
		pc->st.lines++;
		parse_line(pc, fmt, trim(s));
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

/* ---- hosts table ----
 * Names in one arena ([len][name]); each name points at one pooled address
 * (H_SINGLE | pool index, the common case) or at a chain of links. Addresses
 * are pooled because block lists map 100k names to the same 0.0.0.0. */

#define H_SINGLE 0x80000000u

struct hname {
	uint32_t off, addr;
};

struct hlink {
	uint32_t next, pool; /* next: link index + 1, 0 ends the chain */
};

struct haddr {
	uint8_t fam, a[16];
};

struct list_hosts {
	char *arena;
	size_t alen, acap;
	struct hname *names;
	size_t nnames, cnames;
	uint32_t *ntab; /* name index + 1 */
	size_t nmask;
	struct hlink *links;
	size_t nlinks, clinks;
	struct haddr *pool;
	size_t npool, cpool;
	uint32_t *ptab; /* pool index + 1 */
	size_t pmask;
};

static uint64_t fnv(const void *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int hgrow(void **p, size_t *cap, size_t need, size_t elsz)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elsz || !(q = realloc(*p, n * elsz)))
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int hosts_norm(const char *in, size_t len, char *out, size_t *olen)
{
	size_t lab = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > MATCH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32) : in[i];

		if (c == '.') {
			if (!lab)
				return -EINVAL;
			lab = 0;
		} else if (!(adb_host_char(c)) || ++lab > 63) {
			return -EINVAL;
		}
		out[i] = c;
	}
	*olen = len;
	return lab ? 0 : -EINVAL;
}

static const char *hname_str(const struct list_hosts *h, uint32_t i, size_t *len)
{
	*len = (unsigned char)h->arena[h->names[i].off];
	return h->arena + h->names[i].off + 1;
}

static int64_t hname_find(const struct list_hosts *h, const char *n, size_t len)
{
	if (!h->ntab)
		return -1;
	for (size_t i = fnv(n, len) & h->nmask;; i = (i + 1) & h->nmask) {
		size_t l;
		const char *s;

		if (!h->ntab[i])
			return -1;
		s = hname_str(h, h->ntab[i] - 1, &l);
		if (l == len && memcmp(s, n, len) == 0)
			return h->ntab[i] - 1;
	}
}

/* Make room for one more key in a table of indices (load <= 1/2). */
static int htab_reserve(const struct list_hosts *h, uint32_t **tab, size_t *mask, size_t count,
			bool names)
{
	size_t n = *tab ? (*mask + 1) * 2 : 64;
	uint32_t *t;

	if (*tab && (count + 1) * 2 <= *mask + 1)
		return 0;
	if (!(t = calloc(n, sizeof(*t))))
		return -ENOMEM;
	for (size_t k = 0; k < count; k++) {
		size_t l, i;
		const char *s = names ? hname_str(h, (uint32_t)k, &l) : (const char *)&h->pool[k];

		i = fnv(s, names ? l : sizeof(struct haddr)) & (n - 1);
		while (t[i])
			i = (i + 1) & (n - 1);
		t[i] = (uint32_t)k + 1;
	}
	free(*tab);
	*tab = t;
	*mask = n - 1;
	return 0;
}

static int64_t pool_get(struct list_hosts *h, const struct haddr *a)
{
	size_t i;

	if (htab_reserve(h, &h->ptab, &h->pmask, h->npool, false) < 0 ||
	    hgrow((void **)&h->pool, &h->cpool, h->npool + 1, sizeof(*h->pool)) < 0)
		return -ENOMEM;
	for (i = fnv(a, sizeof(*a)) & h->pmask; h->ptab[i]; i = (i + 1) & h->pmask)
		if (memcmp(&h->pool[h->ptab[i] - 1], a, sizeof(*a)) == 0)
			return h->ptab[i] - 1;
	if (h->npool >= H_SINGLE - 1)
		return -ENOMEM;
	h->pool[h->npool] = *a;
	h->ptab[i] = (uint32_t)++h->npool;
	return (int64_t)h->npool - 1;
}

static int hlink_new(struct list_hosts *h, uint32_t pool, uint32_t *idx)
{
	if (h->nlinks >= H_SINGLE - 1 ||
	    hgrow((void **)&h->links, &h->clinks, h->nlinks + 1, sizeof(*h->links)) < 0)
		return -ENOMEM;
	h->links[h->nlinks] = (struct hlink){.next = 0, .pool = pool};
	*idx = (uint32_t)h->nlinks++;
	return 0;
}

/* Append pool entry p to name i unless it is there already. */
static int hname_addr(struct list_hosts *h, struct hname *nm, uint32_t p)
{
	uint32_t li, first;

	if (nm->addr & H_SINGLE) {
		if ((nm->addr & ~H_SINGLE) == p)
			return 0;
		if (hlink_new(h, nm->addr & ~H_SINGLE, &first) < 0)
			return -ENOMEM;
		nm->addr = first;
	}
	for (li = nm->addr;; li = h->links[li].next - 1) {
		if (h->links[li].pool == p)
			return 0;
		if (!h->links[li].next)
			break;
	}
	if (hlink_new(h, p, &first) < 0)
		return -ENOMEM;
	h->links[li].next = first + 1;
	return 0;
}

static int hname_new(struct list_hosts *h, const char *n, size_t len, uint32_t p)
{
	size_t i;

	if (h->alen + 1 + len > UINT32_MAX || h->nnames >= UINT32_MAX - 1 ||
	    htab_reserve(h, &h->ntab, &h->nmask, h->nnames, true) < 0 ||
	    hgrow((void **)&h->arena, &h->acap, h->alen + 1 + len, 1) < 0 ||
	    hgrow((void **)&h->names, &h->cnames, h->nnames + 1, sizeof(*h->names)) < 0)
		return -ENOMEM;
	h->names[h->nnames] = (struct hname){.off = (uint32_t)h->alen, .addr = H_SINGLE | p};
	h->arena[h->alen] = (char)len;
	memcpy(h->arena + h->alen + 1, n, len);
	h->alen += 1 + len;
	for (i = fnv(n, len) & h->nmask; h->ntab[i]; i = (i + 1) & h->nmask)
		;
	h->ntab[i] = (uint32_t)++h->nnames;
	return 0;
}

struct list_hosts *list_hosts_new(void)
{
	return calloc(1, sizeof(struct list_hosts));
}

void list_hosts_free(struct list_hosts *h)
{
	if (!h)
		return;
	free(h->arena);
	free(h->names);
	free(h->ntab);
	free(h->links);
	free(h->pool);
	free(h->ptab);
	free(h);
}

int list_hosts_add(struct list_hosts *h, const char *name, size_t len, int family, const void *addr)
{
	char n[MATCH_NAME_MAX];
	struct haddr a = {0};
	int64_t p, i;
	size_t nl;

	if (!h || !addr || (family != AF_INET && family != AF_INET6) ||
	    hosts_norm(name, len, n, &nl) < 0)
		return -EINVAL;
	a.fam = family == AF_INET ? 4 : 6;
	memcpy(a.a, addr, family == AF_INET ? 4 : 16);
	p = pool_get(h, &a);
	if (p < 0)
		return (int)p;
	i = hname_find(h, n, nl);
	if (i < 0)
		return hname_new(h, n, nl, (uint32_t)p);
	return hname_addr(h, &h->names[i], (uint32_t)p);
}

int list_hosts_lookup(const struct list_hosts *h, const char *name, size_t len, int family,
		      void *out, size_t max)
{
	char n[MATCH_NAME_MAX];
	uint8_t fam = family == AF_INET ? 4 : 6;
	size_t nl, alen = fam == 4 ? 4 : 16;
	int64_t i;
	int count = 0;
	uint32_t li, p;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (!h || hosts_norm(name, len, n, &nl) < 0 || (i = hname_find(h, n, nl)) < 0)
		return -ENOENT;
	for (li = h->names[i].addr;; li = h->links[li].next - 1) {
		p = li & H_SINGLE ? li & ~H_SINGLE : h->links[li].pool;
		if (h->pool[p].fam == fam) {
			if (out && (size_t)count < max)
				memcpy((char *)out + (size_t)count * alen, h->pool[p].a, alen);
			count++;
		}
		if ((li & H_SINGLE) || !h->links[li].next)
			break;
	}
	return count;
}

size_t list_hosts_names(const struct list_hosts *h)
{
	return h ? h->nnames : 0;
}

size_t list_hosts_bytes(const struct list_hosts *h)
{
	if (!h)
		return 0;
	return sizeof(*h) + h->acap + h->cnames * sizeof(*h->names) +
	       (h->ntab ? (h->nmask + 1) * 4 : 0) + h->clinks * sizeof(*h->links) +
	       h->cpool * sizeof(*h->pool) + (h->ptab ? (h->pmask + 1) * 4 : 0);
}

/* ---- domain-list-community text source ----
 * include:NAME @a @-b keeps the rules of NAME (after its own includes) that
 * have every @a and no @b; filters along an include path add up, so a walk
 * carries one (must, ban) pair of attribute masks. Only attributes named in
 * filters get a bit; other rule attributes cannot affect a verdict. */

struct dlc_state {
	char *name;
	uint64_t must, ban;
};

struct dlc {
	const char *dir;
	struct match_builder *b;
	list_warn_fn warn;
	void *wctx;
	char *attrs[DLC_ATTR_MAX];
	unsigned nattr;
	struct dlc_state *seen;
	size_t nseen, cseen;
	const char *stack[DLC_DEPTH_MAX];
	unsigned depth;
	int added;
};

static void dlc_warn(struct dlc *d, const char *file, unsigned line, const char *fmt, ...)
    SL_PRINTF(4, 5);

static void dlc_warn(struct dlc *d, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!d->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->warn(d->wctx, file, line, msg);
}

/* Bit of attribute a; create adds it if new. -1: unknown, -E2BIG: full. */
static int dlc_attr(struct dlc *d, struct span a, bool create)
{
	char n[64];

	if (a.n == 0 || a.n >= sizeof(n))
		return -1;
	for (size_t i = 0; i < a.n; i++)
		n[i] = a.p[i] >= 'A' && a.p[i] <= 'Z' ? (char)(a.p[i] + 32) : a.p[i];
	n[a.n] = '\0';
	for (unsigned i = 0; i < d->nattr; i++)
		if (strcmp(d->attrs[i], n) == 0)
			return (int)i;
	if (!create)
		return -1;
	if (d->nattr == DLC_ATTR_MAX)
		return -E2BIG;
	if (!(d->attrs[d->nattr] = strdup(n)))
		return -ENOMEM;
	return (int)d->nattr++;
}

/* Lowercase list name into out; false if it could escape the directory. */
static bool dlc_name(struct span s, char *out, size_t outlen)
{
	if (s.n == 0 || s.n >= outlen || s.p[0] == '.' || memchr(s.p, '/', s.n) ||
	    memchr(s.p, '\0', s.n))
		return false;
	for (size_t i = 0; i < s.n; i++)
		out[i] = s.p[i] >= 'A' && s.p[i] <= 'Z' ? (char)(s.p[i] + 32) : s.p[i];
	out[s.n] = '\0';
	return true;
}

static int dlc_list(struct dlc *d, const char *name, uint64_t must, uint64_t ban, const char *from,
		    unsigned from_line);

static int dlc_include(struct dlc *d, struct span rule, struct span rest, uint64_t must,
		       uint64_t ban, const char *path, unsigned line)
{
	char name[256], tmp[80];
	struct span t;

	rule.p += 8, rule.n -= 8; /* "include:" */
	if (!dlc_name(rule, name, sizeof(name))) {
		dlc_warn(d, path, line, "bad list name '%s'", show(rule, tmp, sizeof(tmp)));
		return 0;
	}
	while ((t = token(&rest)).n) {
		bool neg = t.n > 1 && t.p[0] == '@' && t.p[1] == '-';
		int id;

		if (t.p[0] != '@') {
			dlc_warn(d, path, line, "unexpected '%s'", show(t, tmp, sizeof(tmp)));
			continue;
		}
		id = dlc_attr(d, (struct span){t.p + 1 + neg, t.n - 1 - neg}, true);
		if (id == -E2BIG || id == -ENOMEM) {
			dlc_warn(d, path, line, "too many filter attributes");
			return id;
		}
		if (id < 0)
			dlc_warn(d, path, line, "empty attribute");
		else if (neg)
			ban |= 1ull << id;
		else
			must |= 1ull << id;
	}
	return dlc_list(d, name, must, ban, path, line);
}

static int dlc_rule(struct dlc *d, struct span rule, struct span rest, uint64_t must, uint64_t ban,
		    const char *path, unsigned line)
{
	static const struct {
		const char *pfx;
		enum match_kind kind;
	} pf[] = {{"domain:", MATCH_DOMAIN},
		  {"full:", MATCH_FULL},
		  {"keyword:", MATCH_KEYWORD},
		  {"regexp:", MATCH_REGEXP},
		  {"regex:", MATCH_REGEXP}};
	enum match_kind kind = MATCH_DOMAIN;
	uint64_t attrs = 0;
	struct span t;
	char tmp[80];
	size_t i;
	int rc;

	for (i = 0; i < SL_ARRAY_LEN(pf) && !starts(rule, pf[i].pfx); i++)
		;
	if (i < SL_ARRAY_LEN(pf)) {
		kind = pf[i].kind;
		rule.p += strlen(pf[i].pfx);
		rule.n -= strlen(pf[i].pfx);
	} else if (memchr(rule.p, ':', rule.n)) {
		dlc_warn(d, path, line, "unknown rule type in '%s'", show(rule, tmp, sizeof(tmp)));
		return 0;
	}
	while ((t = token(&rest)).n) {
		if (t.p[0] == '@') {
			int id = dlc_attr(d, (struct span){t.p + 1, t.n - 1}, false);

			attrs |= id >= 0 ? 1ull << id : 0;
		} else if (t.p[0] != '&') { /* &affiliation: not supported, ignored */
			dlc_warn(d, path, line, "unexpected '%s'", show(t, tmp, sizeof(tmp)));
			return 0;
		}
	}
	if ((attrs & must) != must || (attrs & ban))
		return 0;
	rc = match_builder_add(d->b, kind, rule.p, rule.n, 0);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		dlc_warn(d, path, line, "%s %s '%s'",
			 rc == -E2BIG ? "too many entries, dropped" : "invalid",
			 kind == MATCH_REGEXP	 ? "regexp"
			 : kind == MATCH_KEYWORD ? "keyword"
						 : "name",
			 show(rule, tmp, sizeof(tmp)));
	else
		d->added++;
	return 0;
}

static int dlc_parse(struct dlc *d, const char *buf, size_t len, uint64_t must, uint64_t ban,
		     const char *path)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;
	int rc = 0;

	while (p < end && rc >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct span s = {p, (size_t)((nl ? nl : end) - p)}, rule;

		p = nl ? nl + 1 : end;
		line++;
		s = cut_hash(s);
		if (!s.n)
			continue;
		rule = token(&s);
		if (starts(rule, "include:"))
			rc = dlc_include(d, rule, s, must, ban, path, line);
		else
			rc = dlc_rule(d, rule, s, must, ban, path, line);
	}
	return rc;
}

static int dlc_enter(struct dlc *d, const char *name, uint64_t must, uint64_t ban, const char *from,
		     unsigned from_line)
{
	char chain[512];
	size_t n = 0;

	for (unsigned i = 0; i < d->depth; i++)
		if (strcmp(d->stack[i], name) == 0) {
			for (unsigned j = i; j < d->depth && n < sizeof(chain); j++)
				n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ",
						      d->stack[j]);
			dlc_warn(d, from, from_line, "include cycle: %s%s",
				 n < sizeof(chain) ? chain : "", name);
			return -ELOOP;
		}
	if (d->depth == DLC_DEPTH_MAX) {
		dlc_warn(d, from, from_line, "includes nested deeper than %d at '%s'",
			 DLC_DEPTH_MAX, name);
		return -ELOOP;
	}
	for (size_t i = 0; i < d->nseen; i++)
		if (d->seen[i].must == must && d->seen[i].ban == ban &&
		    strcmp(d->seen[i].name, name) == 0)
			return 1; /* this list with this filter is in already */
	if (d->nseen == DLC_STATES_MAX) {
		dlc_warn(d, from, from_line, "too many includes");
		return -E2BIG;
	}
	if (hgrow((void **)&d->seen, &d->cseen, d->nseen + 1, sizeof(*d->seen)) < 0 ||
	    !(d->seen[d->nseen].name = strdup(name)))
		return -ENOMEM;
	d->seen[d->nseen].must = must;
	d->seen[d->nseen++].ban = ban;
	return 0;
}

static int dlc_list(struct dlc *d, const char *name, uint64_t must, uint64_t ban, const char *from,
		    unsigned from_line)
{
	char path[4096], *buf;
	size_t len;
	int rc = dlc_enter(d, name, must, ban, from, from_line);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", d->dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	rc = list_read_file(path, &buf, &len);
	if (rc < 0) {
		if (rc == -ENOENT)
			dlc_warn(d, from, from_line, "no list '%s' in %s", name, d->dir);
		else
			dlc_warn(d, from, from_line, "%s: %s", path, strerror(-rc));
		return rc;
	}
	d->stack[d->depth++] = name;
	rc = dlc_parse(d, buf, len, must, ban, path);
	d->depth--;
	free(buf);
	return rc;
}

int list_dlc_load(const char *dir, const char *code, const char *attr_filter,
		  struct match_builder *b, list_warn_fn warn, void *ctx)
{
	struct dlc d = {.dir = dir, .b = b, .warn = warn, .wctx = ctx};
	uint64_t must = 0, ban = 0;
	char name[256];
	int rc = 0, id;

	if (!dir || !code || !b || !dlc_name((struct span){code, strlen(code)}, name, sizeof(name)))
		return -EINVAL;
	if (attr_filter && *attr_filter) {
		bool neg = attr_filter[0] == '-';

		id =
		    dlc_attr(&d, (struct span){attr_filter + neg, strlen(attr_filter) - neg}, true);
		if (id < 0) {
			rc = id == -ENOMEM ? id : -EINVAL;
			goto done;
		}
		*(neg ? &ban : &must) |= 1ull << id;
	}
	rc = dlc_list(&d, name, must, ban, dir, 0);
done:
	for (unsigned i = 0; i < d.nattr; i++)
		free(d.attrs[i]);
	for (size_t i = 0; i < d.nseen; i++)
		free(d.seen[i].name);
	free(d.seen);
	return rc < 0 ? rc : d.added;
}
