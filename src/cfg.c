/* cfg.c - reads config files: splits lines into words, finds each
 * directive in the module tables, follows `include`, and reports every
 * problem as one "FILE:LINE: message". It owns the struct cfg and its file
 * list; each module owns what its directives parse into (cfg->svc[]). */
#include "config.h"
#include "cfg.h"
#include "resolve.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int load_file(struct cfg_ctx *ctx, const char *path);

int cfg_error_at(struct cfg_ctx *ctx, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(ctx->err, ctx->errlen, "%s:%u: %s", file ? file : "?", line, msg);
	else
		snprintf(ctx->err, ctx->errlen, "%s: %s", file ? file : "?", msg);
	return -EINVAL;
}

int cfg_error(struct cfg_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cfg_error_at(ctx, ctx->file, ctx->line, "%s", msg);
}

const struct cfg_directive *cfg_directive_find(const char *name)
{
	for (size_t m = 0; cfg_modules[m]; m++)
		for (const struct cfg_directive *d = cfg_modules[m]->directives; d->name; d++)
			if (strcmp(d->name, name) == 0)
				return d;
	return NULL;
}

int cfg_not_built(struct cfg_ctx *ctx, int argc, char **argv)
{
	for (size_t m = 0; cfg_modules[m]; m++)
		for (const struct cfg_directive *d = cfg_modules[m]->directives; d->name; d++)
			if (strcmp(d->name, argv[0]) == 0)
				return cfg_error(
				    ctx,
				    "%s: not built into this sluice (configured with --disable-%s)",
				    argv[0], cfg_modules[m]->name);
	return cfg_error(ctx, "%s: not built into this sluice", argv[0]);
}

/* Split a line into words; '#' at the start of a word begins a comment. */
static int split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return argc;
		if (argc == max)
			return -E2BIG;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int do_include(struct cfg_ctx *ctx, const char *arg)
{
	struct cfg_ctx sub = *ctx;
	char *path;
	int rc;

	if (ctx->depth + 1 >= CFG_MAX_DEPTH)
		return cfg_error(ctx, "include nested more than %d deep (a loop?)", CFG_MAX_DEPTH);
	path = cfg_path(ctx, arg);
	if (!path)
		return cfg_error(ctx, "out of memory");
	sub.depth++;
	rc = load_file(&sub, path);
	free(path);
	return rc;
}

static int run_line(struct cfg_ctx *ctx, char *line)
{
	char *argv[CFG_MAX_ARGS];
	const struct cfg_directive *d;
	int argc = split(line, argv, CFG_MAX_ARGS);

	if (argc < 0)
		return cfg_error(ctx, "too many words on one line (at most %d)", CFG_MAX_ARGS);
	if (argc == 0)
		return 0;
	if (strcmp(argv[0], "include") == 0) {
		if (argc != 2)
			return cfg_error(ctx, "usage: include FILE");
		return do_include(ctx, argv[1]);
	}
	if (ctx->only && strcmp(argv[0], ctx->only) != 0)
		return 0;
	d = cfg_directive_find(argv[0]);
	if (!d)
		return cfg_error(ctx, "unknown directive '%s'", argv[0]);
	if (d->parse == cfg_not_built)
		return cfg_not_built(ctx, argc, argv);
	if ((unsigned)argc - 1 < d->min_args || (unsigned)argc - 1 > d->max_args)
		return cfg_error(ctx, "usage: %s %s", d->name, d->usage);
	return d->parse(ctx, argc, argv);
}

static const char *intern_file(struct cfg *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->n_files; i++)
		if (strcmp(cfg->files[i], path) == 0)
			return cfg->files[i];
	if (cfg->n_files == CFG_MAX_FILES)
		return NULL;
	cfg->files[cfg->n_files] = strdup(path);
	return cfg->files[cfg->n_files] ? cfg->files[cfg->n_files++] : NULL;
}

static int load_file(struct cfg_ctx *ctx, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct stat st;
	FILE *f;
	int rc = 0;
	const char *name = intern_file(ctx->cfg, path);

	if (!name)
		return cfg_error(ctx, "too many config files (at most %d)", CFG_MAX_FILES);
	f = fopen(path, "r");
	if (!f) {
		if (ctx->line)
			return cfg_error(ctx, "cannot open %s: %s", path, strerror(errno));
		return cfg_error_at(ctx, path, 0, "cannot open: %s", strerror(errno));
	}
	/* A directory reads as empty and a FIFO or device never ends: refuse them. */
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		if (ctx->line)
			return cfg_error(ctx, "cannot read %s: not a regular file", path);
		return cfg_error_at(ctx, path, 0, "cannot read: not a regular file");
	}
	ctx->file = name;
	ctx->line = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		ctx->line++;
		if (memchr(line, '\0', (size_t)n)) {
			rc = cfg_error(ctx, "NUL byte in line");
			break;
		}
		rc = run_line(ctx, line);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = cfg_error_at(ctx, name, ctx->line, "read error");
	free(line);
	fclose(f);
	return rc;
}

/* The whole config, or (only set) the lines of one directive, unchecked. */
static struct cfg *load(const char *path, const char *only, char *err, size_t errlen)
{
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	struct cfg_ctx ctx = {.cfg = cfg, .err = err, .errlen = errlen, .only = only};

	if (!cfg) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	for (size_t m = 0; cfg_modules[m]; m++)
		if (cfg_modules[m]->init)
			cfg_modules[m]->init(cfg);
	if (load_file(&ctx, path) < 0)
		goto fail;
	if (only)
		return cfg;
	ctx.file = cfg->files[0];
	ctx.line = 0;
	for (size_t m = 0; cfg_modules[m]; m++)
		if (cfg_modules[m]->finish && cfg_modules[m]->finish(&ctx) < 0)
			goto fail;
	return cfg;
fail:
	cfg_free(cfg);
	return NULL;
}

struct cfg *cfg_load(const char *path, char *err, size_t errlen)
{
	return load(path, NULL, err, errlen);
}

struct cfg *cfg_load_only(const char *path, const char *directive, char *err, size_t errlen)
{
	return load(path, directive, err, errlen);
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t m = 0; cfg_modules[m]; m++)
		if (cfg_modules[m]->free)
			cfg_modules[m]->free(cfg);
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	for (size_t i = 0; i < cfg->n_hosts; i++)
		free(cfg->hosts[i]);
	free(cfg);
}

char *cfg_path(const struct cfg_ctx *ctx, const char *path)
{
	char *copy, *dir, *out = NULL;

	if (path[0] == '/' || !ctx->file)
		return strdup(path);
	copy = strdup(ctx->file);
	if (!copy)
		return NULL;
	dir = dirname(copy);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		out = NULL;
	free(copy);
	return out;
}

int cfg_parse_bool(struct cfg_ctx *ctx, const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "false")) {
		*out = false;
		return 0;
	}
	return cfg_error(ctx, "'%s' is not yes or no", s);
}

int cfg_parse_num(struct cfg_ctx *ctx, const char *what, const char *s, uint64_t min,
		  uint64_t max, uint64_t *out)
{
	if (sl_parse_uint(s, min, max, out) < 0)
		return cfg_error(ctx, "%s: '%s' is not a number from %llu to %llu", what, s,
				 (unsigned long long)min, (unsigned long long)max);
	return 0;
}

int cfg_parse_unsigned(struct cfg_ctx *ctx, const char *what, const char *s, unsigned min,
		       unsigned max, unsigned *out)
{
	uint64_t v;

	if (cfg_parse_num(ctx, what, s, min, max, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

const struct cfg_intercept *cfg_intercept_find(const struct cfg *cfg, uint16_t port)
{
	uint8_t i = cfg->port_map[port];

	return i ? &cfg->intercept[i - 1] : NULL;
}

const char *cfg_note_host(struct cfg_ctx *ctx, const char *host)
{
	struct cfg *c = ctx->cfg;

	for (size_t i = 0; i < c->n_hosts; i++)
		if (strcmp(c->hosts[i], host) == 0)
			return c->hosts[i];
	if (c->n_hosts == CFG_MAX_HOSTS) {
		cfg_error(ctx, "too many server host names (at most %d)", CFG_MAX_HOSTS);
		return NULL;
	}
	c->hosts[c->n_hosts] = strdup(host);
	if (!c->hosts[c->n_hosts]) {
		cfg_error(ctx, "out of memory");
		return NULL;
	}
	return c->hosts[c->n_hosts++];
}

int cfg_parse_host(struct cfg_ctx *ctx, const char *s, uint16_t default_port, const char **host,
		   uint16_t *port)
{
	const char *rest = strstr(s, "://"), *colon;
	char name[256];
	uint64_t p = default_port;
	size_t hl;

	rest = rest ? rest + 3 : s;
	colon = strchr(rest, ':');
	if (colon && strchr(colon + 1, ':'))
		return 0; /* an IPv6 address */
	hl = colon ? (size_t)(colon - rest) : strlen(rest);
	if (hl >= sizeof(name))
		return 0;
	memcpy(name, rest, hl);
	name[hl] = '\0';
	if (!resolve_is_name(name) || (colon && sl_parse_dec(colon + 1, 1, 65535, &p) < 0))
		return 0;
	*host = cfg_note_host(ctx, name);
	*port = (uint16_t)p;
	return *host ? 1 : -1;
}

bool cfg_wants_stats(const struct cfg *cfg)
{
	return cfg->has_metrics || cfg->control;
}

bool cfg_client_allowed(const struct cfg *cfg, const struct addr *client)
{
	if (!cfg->n_allow)
		return true;
	for (size_t i = 0; i < cfg->n_allow; i++)
		if (addr_cidr_match(&cfg->allow[i], client))
			return true;
	return false;
}

const struct cfg_intercept *cfg_intercept_find_tcp(const struct cfg *cfg, uint16_t port)
{
	for (size_t i = 0; cfg->n_tcp_intercept && i < cfg->n_intercept; i++)
		if (cfg->intercept[i].tcp && cfg->intercept[i].port == port)
			return &cfg->intercept[i];
	return NULL;
}

unsigned cfg_warnings(const struct cfg *cfg, void (*emit)(void *arg, const char *msg), void *arg)
{
	char msg[512];
	const struct cfg_intercept *u = cfg_intercept_find(cfg, 53);
	unsigned n = 0;

	if (u && u->svc == SVC_DNS && !cfg_intercept_find_tcp(cfg, 53)) {
		snprintf(msg, sizeof(msg),
			 "%s: warning: DNS is intercepted over UDP but not over TCP: every truncated "
			 "answer sends clients to TCP port 53 of the resolver they asked, past every "
			 "rule and the cache (add `intercept tcp 53 dns`)",
			 cfg->files[0]);
		emit(arg, msg);
		n++;
	}
	return n;
}

const char *cfg_svc_name(enum svc_id id)
{
	static const char *const names[SVC_COUNT] = {"relay", "dns", "ntp", "quic"};

	return id < SVC_COUNT ? names[id] : "?";
}
