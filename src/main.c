/* main.c - the command line: run, check a config, print the ruleset, or
 * explain a match. Everything else lives in the modules it calls. */
#include "config.h"
#include "cfg.h"
#include "engine.h"
#include "log.h"
#include "ctl.h"
#include "nft.h"
#include "svc.h"

#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

int sluice_match_main(struct cfg *cfg, int argc, char **argv);

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sluice [-f] [-s] [-v] [-c FILE]      run in the foreground\n"
		"       sluice -t [-c FILE]                  check the config and lists, exit 0 or 1\n"
		"       sluice rules [--routes|--cleanup|--iptables|--ip6tables] [-c FILE]\n"
		"                                            print the nftables ruleset (or the ip\n"
		"                                            rule/route commands, or their undo)\n"
		"       sluice match [-c FILE] NAME [TYPE]   explain which DNS rule decides NAME\n"
		"       sluice ctl [-s SOCKET] [-c FILE] stats|flush [NAME]|dump|reload|top [N]|\n"
		"                                            cache NAME [TYPE]|help\n"
		"                                            ask the running daemon (control socket:\n"
		"                                            -s, else `control` in the config, else\n"
		"                                            %s)\n"
		"       sluice --version | --help\n"
		"\n"
		"  -c FILE   config file (default %s/sluice/sluice.conf)\n"
		"  -f        stay in the foreground (always; for init systems that pass it)\n"
		"  -s        log to syslog instead of stderr\n"
		"  -v        verbose (debug) logging\n"
		"  -t        test the config and exit\n"
		"\nConfig directives (see sluice.conf(5)):\n",
		CTL_DEFAULT_PATH, SYSCONFDIR);
	for (size_t m = 0; cfg_modules[m]; m++)
		for (const struct cfg_directive *d = cfg_modules[m]->directives; d->name; d++)
			fprintf(out, "  %s %s%s\n", d->name, d->usage,
				d->parse == cfg_not_built ? "  (not built into this sluice)" : "");
}

/* The version, and the services this build has (configure can leave some out). */
static void version(void)
{
	printf("sluice %s\nservices:", PACKAGE_VERSION);
	for (int s = 0; s < SVC_COUNT; s++)
		if (svc_get((enum svc_id)s))
			printf(" %s", cfg_svc_name((enum svc_id)s));
	printf("\n");
}

struct opts {
	const char *cfg;
	bool test, use_syslog, verbose, routes, cleanup, ipt4, ipt6;
};

static int parse_opts(int argc, char **argv, const char *optstr, struct opts *o)
{
	static const struct option longs[] = {
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{"routes", no_argument, NULL, 'R'}, {"cleanup", no_argument, NULL, 'C'},
		{"iptables", no_argument, NULL, '4'}, {"ip6tables", no_argument, NULL, '6'},
		{"config", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
	int ch;

	while ((ch = getopt_long(argc, argv, optstr, longs, NULL)) != -1) {
		switch (ch) {
		case 'c': o->cfg = optarg; break;
		case 'f': break;
		case 's': o->use_syslog = true; break;
		case 't': o->test = true; break;
		case 'v': o->verbose = true; break;
		case 'R': o->routes = true; break;
		case 'C': o->cleanup = true; break;
		case '4': o->ipt4 = true; break;
		case '6': o->ipt6 = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': version(); exit(0);
		default: usage(stderr); return -1;
		}
	}
	return 0;
}

static void warn_stderr(void *arg, const char *msg)
{
	fprintf(stderr, "%s\n", msg);
}

static struct cfg *load(const char *path)
{
	char err[1024];
	struct cfg *c = cfg_load(path, err, sizeof(err));

	if (!c)
		fprintf(stderr, "%s\n", err);
	return c;
}

/* sluice ctl [-s SOCKET] [-c FILE] VERB [ARG]: the socket from -s, else
 * the config's `control` line (read alone: no lists), else the default. */
static int ctl_main(const char *cfg, int argc, char **argv)
{
	const char *sock = NULL;
	char err[512];
	struct cfg *c = NULL;
	int ch, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "+s:c:h")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'c': cfg = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return 2;
		}
	}
	if (!sock && (c = cfg_load_only(cfg, "control", err, sizeof(err))) && c->control)
		sock = c->control;
	rc = ctl_client(sock ? sock : CTL_DEFAULT_PATH, argc - optind, argv + optind);
	cfg_free(c);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {.cfg = SYSCONFDIR "/sluice/sluice.conf"};
	const char *cmd = NULL;
	char **pos = NULL;
	int npos = 0;
	struct cfg *c;
	int rc = 0;

#ifdef __GLIBC__
	/* Blocks of 64 KiB or more (domain sets, lookup tables; nothing on the
	 * packet path is that big) get mappings of their own: a table touched
	 * sparsely costs only its pages, a growing arena is moved by mremap
	 * instead of copied, and the sets a reload replaces go back to the
	 * system at once. glibc's own threshold rises after the first such free
	 * and would keep later sets in the heap. (musl maps big blocks anyway.) */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
	if (parse_opts(argc, argv, "+c:fstvh", &o) < 0)
		return 2;
	if (optind < argc && strcmp(argv[optind], "ctl") == 0)
		return ctl_main(o.cfg, argc - optind, argv + optind);
	if (optind < argc) {
		int first = optind;

		cmd = argv[first];
		if (strcmp(cmd, "rules") && strcmp(cmd, "match")) {
			fprintf(stderr, "sluice: unknown command '%s'\n", cmd);
			return 2;
		}
		/* Options may follow the command too; what is left are its arguments. */
		optind = 0;
		if (parse_opts(argc - first, argv + first, "c:fstvh", &o) < 0)
			return 2;
		npos = argc - first - optind;
		pos = argv + first + optind;
	}
	log_init(o.use_syslog, o.verbose ? LOG_DEBUG : LOG_INFO);
	c = load(o.cfg);
	if (!c)
		return 1;
	if (o.test) {
		cfg_warnings(c, warn_stderr, NULL);
		printf("%s: configuration OK\n", o.cfg);
		cfg_free(c);
		return 0;
	}
	if (cmd && strcmp(cmd, "rules") == 0) {
		if (o.routes)
			nft_print_routes(c, stdout);
		else if (o.ipt4 || o.ipt6)
			ipt_print_rules(c, o.ipt4 ? AF_INET : AF_INET6, stdout);
		else if (o.cleanup)
			nft_print_cleanup(c, stdout);
		else
			nft_print_rules(c, stdout);
		cfg_free(c);
		return 0;
	}
	if (cmd && strcmp(cmd, "match") == 0) {
		rc = sluice_match_main(c, npos, pos);
		cfg_free(c);
		return rc;
	}
	rc = engine_run(o.cfg, c);
	log_fini();
	return rc;
}
