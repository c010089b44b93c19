/* cfg.h - the configuration: one immutable tree per load, swapped whole on
 * reload. Directives come from a table per module (core, dns, policy, ntp,
 * quic). */
#ifndef CFG_H
#define CFG_H

#include "addr.h"
#include "sluice.h"

struct policy;

/** The services an intercepted port can be handed to. */
enum svc_id { SVC_RELAY, SVC_DNS, SVC_NTP, SVC_QUIC, SVC_COUNT };

#define CFG_MAX_LISTEN 16
#define CFG_MAX_INTERCEPT 64
#define CFG_MAX_ARGS 64
#define CFG_MAX_FILES 64
#define CFG_MAX_BYPASS 64
#define CFG_MAX_IFACES 16
#define CFG_MAX_DEPTH 8
#define CFG_MAX_HOSTS 32
#define CFG_MAX_BOOTSTRAP 8

/** `intercept udp|tcp PORT SERVICE [timeout=S]` */
struct cfg_intercept {
	uint16_t port;
	enum svc_id svc;
	unsigned timeout_s;
	bool tcp; /* TCP connections (dns only); else UDP datagrams */
};

/** One loaded configuration. Read-only once cfg_load() returns. */
struct cfg {
	char *files[CFG_MAX_FILES]; /* every file read, for FILE:LINE in later messages */
	size_t n_files;
	struct addr listen[CFG_MAX_LISTEN];
	size_t n_listen;
	struct cfg_intercept intercept[CFG_MAX_INTERCEPT];
	size_t n_intercept;
	uint8_t port_map[65536]; /* UDP port -> intercept index + 1, 0 = none */
	size_t n_tcp_intercept;  /* how many intercepts are TCP */
	uint32_t mark;           /* SO_MARK on upstream sockets */
	uint32_t tproxy_mark;    /* mark the tproxy rule sets, routed to the local table */
	uint32_t route_table;
	char *user;
	unsigned workers; /* 0 = one per CPU */
	unsigned max_sessions;
	unsigned max_sessions_per_client;
	unsigned recv_batch;
	bool fail_closed;
	bool intercept_local;
	bool anti_spoof;
	char *ifaces[CFG_MAX_IFACES];
	size_t n_ifaces;
	struct addr_cidr bypass[CFG_MAX_BYPASS];
	size_t n_bypass;
	struct addr_cidr allow[CFG_MAX_BYPASS]; /* who may use the gateway (none: everyone) */
	size_t n_allow;
	unsigned relay_rate, relay_burst; /* relay-rate-limit per client (0: off) */
	struct addr metrics;
	bool has_metrics;
	char *control; /* control socket path, or NULL */
	char *hosts[CFG_MAX_HOSTS]; /* host names the config uses, resolved at run time */
	size_t n_hosts;
	struct addr bootstrap[CFG_MAX_BOOTSTRAP]; /* servers that resolve them (none: resolv.conf) */
	size_t n_bootstrap;
	void *svc[SVC_COUNT]; /* per-service settings, owned by that service's cfg module */
	struct policy *policy; /* rule matchers and lists every service shares (policy.h) */
};

/** Parser state handed to directive parsers. */
struct cfg_ctx {
	struct cfg *cfg;
	const char *file; /* interned in cfg->files */
	unsigned line;
	unsigned depth;
	const char *only; /* cfg_load_only: the one directive read */
	char *err;
	size_t errlen;
};

/** One directive: its name, argument count bounds (name excluded), parser and docs. */
struct cfg_directive {
	const char *name;
	unsigned min_args, max_args;
	int (*parse)(struct cfg_ctx *ctx, int argc, char **argv); /* argv[0] is the name */
	const char *usage;
	const char *def;
	const char *help;
};

/** A group of directives owned by one module, with its post-parse and free hooks. */
struct cfg_module {
	const char *name;
	const struct cfg_directive *directives; /* ends with a {NULL} entry */
	void (*init)(struct cfg *cfg);            /* defaults; may be NULL */
	int (*finish)(struct cfg_ctx *ctx);       /* checks after all files; may be NULL */
	void (*free)(struct cfg *cfg);            /* frees cfg->svc[...]; may be NULL */
};

/** Every module, NULL-terminated (cfg_modules.c). */
extern const struct cfg_module *const cfg_modules[];

/** Core directives (cfg_core.c). */
extern const struct cfg_module cfg_core_module;

/**
 * Load a config file and everything it includes. On error returns NULL with
 * a one-line "FILE:LINE: message" in err.
 */
struct cfg *cfg_load(const char *path, char *err, size_t errlen);

/**
 * Read only the lines of one directive (and includes), without the checks
 * that need the whole file: how `sluice ctl` finds `control` without
 * loading lists. Same errors as cfg_load for the lines it reads.
 */
struct cfg *cfg_load_only(const char *path, const char *directive, char *err, size_t errlen);

/** Free a config and every module's settings; NULL is fine. */
void cfg_free(struct cfg *cfg);

/** Record "FILE:LINE: message" in ctx->err; returns -EINVAL for `return cfg_error(...)`. */
int cfg_error(struct cfg_ctx *ctx, const char *fmt, ...) SL_PRINTF(2, 3);

/** Same, for a place other than the current line (checks in finish hooks). */
int cfg_error_at(struct cfg_ctx *ctx, const char *file, unsigned line, const char *fmt, ...)
	SL_PRINTF(4, 5);

/** Does anything read the top tables and latencies (metrics or control)? */
bool cfg_wants_stats(const struct cfg *cfg);

/** May this client use the gateway (`allow`)? */
bool cfg_client_allowed(const struct cfg *cfg, const struct addr *client);

/** The UDP intercept for a destination port, or NULL. */
const struct cfg_intercept *cfg_intercept_find(const struct cfg *cfg, uint16_t port);

/** The TCP intercept for a destination port, or NULL. */
const struct cfg_intercept *cfg_intercept_find_tcp(const struct cfg *cfg, uint16_t port);

/**
 * Report what a config that loads may still get wrong, one message per
 * call of emit (e.g. DNS intercepted over UDP but not over TCP). Returns
 * how many.
 */
unsigned cfg_warnings(const struct cfg *cfg, void (*emit)(void *arg, const char *msg), void *arg);

/** Resolve a path named in a config file relative to that file's directory (malloc'd). */
char *cfg_path(const struct cfg_ctx *ctx, const char *path);

/**
 * Note a host name a directive uses (an upstream or NTP server): it is
 * resolved at run time (resolve.h). Returns the config's copy (lives as
 * long as the config), or NULL with the error reported.
 */
const char *cfg_note_host(struct cfg_ctx *ctx, const char *host);

/**
 * Parse "[SCHEME://]NAME[:PORT]" where NAME is a host name (not an
 * address): 1 with the host noted (cfg_note_host) in *host and the port
 * (default_port when none) in *port; 0 when s is not of that form; -1 on
 * an error (reported).
 */
int cfg_parse_host(struct cfg_ctx *ctx, const char *s, uint16_t default_port, const char **host,
		   uint16_t *port);

/** Parse "yes"/"no" (also on/off, true/false). */
int cfg_parse_bool(struct cfg_ctx *ctx, const char *s, bool *out);

/** Parse an unsigned number in [min, max] or report the error at the current line. */
int cfg_parse_num(struct cfg_ctx *ctx, const char *what, const char *s, uint64_t min,
		  uint64_t max, uint64_t *out);

/** cfg_parse_num() into an unsigned field (max must fit an unsigned). */
int cfg_parse_unsigned(struct cfg_ctx *ctx, const char *what, const char *s, unsigned min,
		       unsigned max, unsigned *out);

/**
 * Parse `DIRECTIVE PER_SECOND [BURST]` (argv[0] is the directive); BURST
 * defaults to twice the rate. 0 or an error reported.
 */
int cfg_parse_rate(struct cfg_ctx *ctx, int argc, char **argv, unsigned *rate, unsigned *burst);

/** Name of a service, e.g. "dns". */
const char *cfg_svc_name(enum svc_id id);

/** Look a directive up by name across all modules; NULL if unknown. */
const struct cfg_directive *cfg_directive_find(const char *name);

/** The parse function of a directive whose service configure left out: a
 * FILE:LINE error that says so, whatever the arguments. */
int cfg_not_built(struct cfg_ctx *ctx, int argc, char **argv);

#endif
