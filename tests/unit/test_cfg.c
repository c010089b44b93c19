#include "config.h"
/* test_cfg.c - the config loader (cfg.c) and the core directives
 * (cfg_core.c): every error is one "FILE:LINE: message" line naming the
 * right place, defaults, includes, comments and line endings, and a docs
 * test that every directive is documented in conf/sluice.conf and
 * sluice.conf(5). Config files are written into a mkdtemp directory. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "fdplan.h"
#include "svc.h"

#define BASE "listen 0.0.0.0:15000\nintercept udp 53 relay\n"

struct tdir {
	char path[256]; /* short, so names built from it never truncate */
};

static int rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	if (strncmp(path, "/tmp/", 5) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	struct tdir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/sluice-test-cfg-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	*state = d;
	return 0;
}

static int group_teardown(void **state)
{
	struct tdir *d = *state;

	rm_rf(d->path);
	free(d);
	return 0;
}

/* Write len bytes to DIR/name (creating subdirectories); path gets the full name. */
static void put_n(const struct tdir *d, const char *name, const char *data, size_t len, char *path,
		  size_t plen)
{
	char full[PATH_MAX];
	FILE *f;

	snprintf(full, sizeof(full), "%s/%s", d->path, name);
	for (char *p = full + strlen(d->path) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(full, 0700);
		*p = '/';
	}
	f = fopen(full, "wb");
	if (!f)
		fail_msg("cannot write %s", full);
	if (fwrite(data, 1, len, f) != len)
		fail_msg("short write to %s", full);
	fclose(f);
	if (path)
		snprintf(path, plen, "%s", full);
}

static void put(const struct tdir *d, const char *name, const char *text, char *path, size_t plen)
{
	put_n(d, name, text, strlen(text), path, plen);
}

/* Load text as DIR/t.conf; it must fail with exactly "DIR/t.conf" + suffix. */
static void expect_err_n(const struct tdir *d, const char *text, size_t len, const char *suffix)
{
	char path[PATH_MAX], err[1024], want[PATH_MAX + 600];
	struct cfg *c;

	put_n(d, "t.conf", text, len, path, sizeof(path));
	memset(err, 0, sizeof(err));
	c = cfg_load(path, err, sizeof(err));
	if (c) {
		cfg_free(c);
		fail_msg("loaded, but expected error '%s' for:\n%s", suffix, text);
	}
	snprintf(want, sizeof(want), "%s%s", path, suffix);
	if (strcmp(err, want) != 0)
		fail_msg("for config:\n%s\n got: '%s'\nwant: '%s'", text, err, want);
	assert_null(strchr(err, '\n'));
}

static void expect_err(const struct tdir *d, const char *text, const char *suffix)
{
	expect_err_n(d, text, strlen(text), suffix);
}

static struct cfg *load_ok(const struct tdir *d, const char *text)
{
	char path[PATH_MAX], err[1024] = "";
	struct cfg *c;

	put(d, "ok.conf", text, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("config failed: %s\n%s", err, text);
	return c;
}

struct errcase {
	const char *text;
	const char *suffix;
};

static void run_cases(const struct tdir *d, const struct errcase *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_err(d, cs[i].text, cs[i].suffix);
}

static void test_syntax_errors(void **state)
{
	static const struct errcase cs[] = {
	    {BASE "frobnicate 1\n", ":3: unknown directive 'frobnicate'"},
	    {"\n# comment\n   \n\t\n" BASE "mark\n", ":7: usage: mark N"},
	    {BASE "mark 1 2\n", ":3: usage: mark N"},
	    {BASE "intercept udp 54\n", ":3: usage: intercept udp|tcp PORT SERVICE [timeout=SECONDS]"},
	    {BASE "intercept udp 54 relay timeout=1 x\n",
	     ":3: usage: intercept udp|tcp PORT SERVICE [timeout=SECONDS]"},
	    {BASE "include\n", ":3: usage: include FILE"},
	    {BASE "include a b\n", ":3: usage: include FILE"},
	    {BASE "user\n", ":3: usage: user NAME"},
	    {"LISTEN 0.0.0.0:15000\n", ":1: unknown directive 'LISTEN'"},
	    /* '#' only starts a comment at the start of a word. */
	    {BASE "intercept udp 54 relay#x\n",
	     ":3: intercept: unknown service 'relay#x' (relay, dns, ntp or quic)"},
	    {BASE "mark#x 5\n", ":3: unknown directive 'mark#x'"},
	    /* CRLF: the \r is not part of the word or the message. */
	    {"listen 0.0.0.0:15000\r\nintercept udp 53 relay\r\nbogus\r\n",
	     ":3: unknown directive 'bogus'"},
	    {"listen 0.0.0.0:15000\r\nintercept udp 53 relay\r\nmark 0\r\n",
	     ":3: mark: '0' is not a number from 1 to 4294967295"},
	    /* No newline at the end of the file. */
	    {BASE "bogus", ":3: unknown directive 'bogus'"},
	};

	run_cases(*state, cs, SL_ARRAY_LEN(cs));
}

static void test_listen_errors(void **state)
{
	static const struct errcase cs[] = {
	    {"listen 1.2.3.4\n", ":1: listen: '1.2.3.4' is not ADDR:PORT ([v6]:PORT for IPv6)"},
	    {"listen 0.0.0.0:0\n", ":1: listen: '0.0.0.0:0' is not ADDR:PORT ([v6]:PORT for IPv6)"},
	    {"listen ::1:15000\n", ":1: listen: '::1:15000' is not ADDR:PORT ([v6]:PORT for IPv6)"},
	    {"listen [::]:70000\n",
	     ":1: listen: '[::]:70000' is not ADDR:PORT ([v6]:PORT for IPv6)"},
	    {"listen localhost:15000\n",
	     ":1: listen: 'localhost:15000' is not ADDR:PORT ([v6]:PORT for IPv6)"},
	    {"listen 0.0.0.0:15000 [::]:15000 bad\n",
	     ":1: listen: 'bad' is not ADDR:PORT ([v6]:PORT for IPv6)"},
	    {BASE "listen [::]:15000 0.0.0.0:15000\n", ":3: listen: 0.0.0.0:15000 given twice"},
	    {"listen 0.0.0.0:1 0.0.0.0:1\n", ":1: listen: 0.0.0.0:1 given twice"},
	    {"listen [::]:1\nlisten [0::0]:1\n", ":2: listen: [0::0]:1 given twice"},
	};

	run_cases(*state, cs, SL_ARRAY_LEN(cs));
}

static void test_intercept_errors(void **state)
{
	static const struct errcase cs[] = {
	    {BASE "intercept tcp 54 relay\n", ":3: intercept: only the dns service takes tcp"},
	    {BASE "intercept UDP 54 relay\n", ":3: intercept: protocol must be udp or tcp, not 'UDP'"},
	    {BASE "intercept sctp 54 relay\n", ":3: intercept: protocol must be udp or tcp, not 'sctp'"},
	    {BASE "intercept tcp 53 dns timeout=5\n",
	     ":3: intercept tcp: no options (the idle timeout of DNS connections is "
	     "dns-tcp-idle-timeout)"},
	    {BASE "intercept tcp 53 dns\nintercept tcp 53 dns\n",
	     ":4: intercept: tcp port 53 is already intercepted"},
	    {BASE "intercept tcp 15000 dns\n", ": listen port 15000 is also an intercepted port"},
	    {BASE "intercept udp 0 relay\n",
	     ":3: intercept port: '0' is not a number from 1 to 65535"},
	    {BASE "intercept udp 65536 relay\n",
	     ":3: intercept port: '65536' is not a number from 1 to 65535"},
	    {BASE "intercept udp abc relay\n",
	     ":3: intercept port: 'abc' is not a number from 1 to 65535"},
	    {BASE "intercept udp -1 relay\n",
	     ":3: intercept port: '-1' is not a number from 1 to 65535"},
	    {BASE "intercept udp 54 smtp\n",
	     ":3: intercept: unknown service 'smtp' (relay, dns, ntp or quic)"},
	    {BASE "intercept udp 54 RELAY\n",
	     ":3: intercept: unknown service 'RELAY' (relay, dns, ntp or quic)"},
	    {BASE "intercept udp 54 relay timeout=0\n",
	     ":3: timeout: '0' is not a number from 1 to 86400"},
	    {BASE "intercept udp 54 relay timeout=86401\n",
	     ":3: timeout: '86401' is not a number from 1 to 86400"},
	    {BASE "intercept udp 54 relay timeout=\n",
	     ":3: timeout: '' is not a number from 1 to 86400"},
	    {BASE "intercept udp 54 relay timeout=5s\n",
	     ":3: timeout: '5s' is not a number from 1 to 86400"},
	    {BASE "intercept udp 54 relay tmo=5\n",
	     ":3: intercept: unknown option 'tmo=5' (timeout=SECONDS)"},
	    {BASE "intercept udp 53 relay\n", ":3: intercept: udp port 53 is already intercepted"},
	    {BASE "intercept udp 0x35 relay\n", ":3: intercept: udp port 53 is already intercepted"},
	};

	run_cases(*state, cs, SL_ARRAY_LEN(cs));
}

/* A service name the parser knows but this build lacks is its own error. */
static void test_service_not_built(void **state)
{
	char text[256], want[128];
	int n = 0;

	for (int s = 0; s < SVC_COUNT; s++) {
		if (svc_get((enum svc_id)s))
			continue;
		snprintf(text, sizeof(text), BASE "intercept udp 54 %s\n",
			 cfg_svc_name((enum svc_id)s));
		snprintf(want, sizeof(want),
			 ":3: intercept: service '%s' is not built into this sluice",
			 cfg_svc_name((enum svc_id)s));
		expect_err(*state, text, want);
		n++;
	}
	if (n == 0)
		skip(); /* every service is built in: nothing to refuse */
}

/* So are the directives of a service this build lacks: known, and refused
 * with or without their arguments (configure --disable-ntp, --disable-quic). */
static void test_directive_not_built(void **state)
{
	char text[256], want[160];
	int n = 0;

	for (size_t m = 0; cfg_modules[m]; m++)
		for (const struct cfg_directive *d = cfg_modules[m]->directives; d->name; d++) {
			if (d->parse != cfg_not_built)
				continue;
			snprintf(want, sizeof(want),
				 ":3: %s: not built into this sluice (configured with --disable-%s)",
				 d->name, cfg_modules[m]->name);
			snprintf(text, sizeof(text), BASE "%s x\n", d->name);
			expect_err(*state, text, want);
			snprintf(text, sizeof(text), BASE "%s\n", d->name);
			expect_err(*state, text, want);
			n++;
		}
	if (n == 0)
		skip(); /* every service is built in */
}

static void test_number_errors(void **state)
{
	static const struct errcase cs[] = {
	    {BASE "mark 0\n", ":3: mark: '0' is not a number from 1 to 4294967295"},
	    {BASE "mark 0x100000000\n",
	     ":3: mark: '0x100000000' is not a number from 1 to 4294967295"},
	    {BASE "mark -1\n", ":3: mark: '-1' is not a number from 1 to 4294967295"},
	    {BASE "mark 0xzz\n", ":3: mark: '0xzz' is not a number from 1 to 4294967295"},
	    {BASE "mark 99999999999999999999999\n",
	     ":3: mark: '99999999999999999999999' is not a number from 1 to 4294967295"},
	    {BASE "tproxy-mark 0\n", ":3: tproxy-mark: '0' is not a number from 1 to 4294967295"},
	    {BASE "route-table 0\n", ":3: route-table: '0' is not a number from 1 to 4294967295"},
	    {BASE "workers 0\n", ":3: workers: '0' is not a number from 1 to 256"},
	    {BASE "workers 257\n", ":3: workers: '257' is not a number from 1 to 256"},
	    {BASE "workers many\n", ":3: workers: 'many' is not a number from 1 to 256"},
	    {BASE "max-sessions 0\n", ":3: max-sessions: '0' is not a number from 1 to 10000000"},
	    {BASE "max-sessions 10000001\n",
	     ":3: max-sessions: '10000001' is not a number from 1 to 10000000"},
	    {BASE "max-sessions-per-client 0\n",
	     ":3: max-sessions-per-client: '0' is not a number from 1 to 10000000"},
	    {BASE "recv-batch 0\n", ":3: recv-batch: '0' is not a number from 1 to 256"},
	    {BASE "recv-batch 257\n", ":3: recv-batch: '257' is not a number from 1 to 256"},
	};

	run_cases(*state, cs, SL_ARRAY_LEN(cs));
}

static void test_misc_errors(void **state)
{
	static const struct errcase cs[] = {
	    {BASE "fail-closed maybe\n", ":3: 'maybe' is not yes or no"},
	    {BASE "intercept-local 1\n", ":3: '1' is not yes or no"},
	    {BASE "interface abcdefghijklmnop\n",
	     ":3: interface: 'abcdefghijklmnop' is not an interface name"},
	    {BASE "interface lan0 a\"b\n", ":3: interface: 'a\"b' is not an interface name"},
	    {BASE "interface a;b\n", ":3: interface: 'a;b' is not an interface name"},
	    {BASE "interface a{b\n", ":3: interface: 'a{b' is not an interface name"},
	    {BASE "interface a}b\n", ":3: interface: 'a}b' is not an interface name"},
	    {BASE "interface a\\b\n", ":3: interface: 'a\\b' is not an interface name"},
	    {BASE "bypass 192.0.2.0/33\n",
	     ":3: bypass: '192.0.2.0/33' is not an address or prefix"},
	    {BASE "bypass 10.0.0.0/8 nope\n", ":3: bypass: 'nope' is not an address or prefix"},
	    {BASE "bypass 2001:db8::/129\n",
	     ":3: bypass: '2001:db8::/129' is not an address or prefix"},
	    {BASE "metrics 127.0.0.1\n", ":3: metrics: '127.0.0.1' is not ADDR:PORT"},
	    {BASE "metrics localhost:9153\n", ":3: metrics: 'localhost:9153' is not ADDR:PORT"},
	};

	run_cases(*state, cs, SL_ARRAY_LEN(cs));
}

/* Checks made after every file is read name the main file, no line. */
static void test_finish_errors(void **state)
{
	static const struct errcase cs[] = {
	    {"intercept udp 53 relay\n", ": no 'listen' address given"},
	    {"# only a comment\n", ": no 'listen' address given"},
	    {"", ": no 'listen' address given"},
	    {"listen 0.0.0.0:15000\n", ": no 'intercept' given: nothing to do"},
	    {BASE "mark 1\n", ": 'mark' and 'tproxy-mark' must differ"},
	    {BASE "tproxy-mark 0xff\n", ": 'mark' and 'tproxy-mark' must differ"},
	    {BASE "mark 7\ntproxy-mark 7\n", ": 'mark' and 'tproxy-mark' must differ"},
	    {"listen 0.0.0.0:53\nintercept udp 53 relay\n",
	     ": listen port 53 is also an intercepted port"},
	    {"listen 0.0.0.0:15000 [::1]:3478\nintercept udp 53 relay\nintercept udp 3478 relay\n",
	     ": listen port 3478 is also an intercepted port"},
	};

	run_cases(*state, cs, SL_ARRAY_LEN(cs));
}

/* Fixed-size tables refuse the entry past their end with a message. */
static void test_limits(void **state)
{
	size_t cap = 64 * 1024, n = 0;
	char *t = malloc(cap);

	assert_non_null(t);
	/* 64 words is the most a line may hold: "bypass" and 63 prefixes. */
	n = (size_t)snprintf(t, cap, BASE "bypass");
	for (int i = 0; i < 63; i++)
		n += (size_t)snprintf(t + n, cap - n, " 10.0.%d.0/24", i);
	snprintf(t + n, cap - n, "\nbogus\n");
	expect_err(*state, t, ":4: unknown directive 'bogus'");
	snprintf(t + n, cap - n, " 10.1.0.0/16\n");
	expect_err(*state, t, ":3: too many words on one line (at most 64)");

	n = (size_t)snprintf(t, cap, BASE "interface");
	for (int i = 0; i < CFG_MAX_IFACES + 1; i++)
		n += (size_t)snprintf(t + n, cap - n, " lan%d", i);
	snprintf(t + n, cap - n, "\n");
	expect_err(*state, t, ":3: usage: interface IFNAME...");

	n = (size_t)snprintf(t, cap, BASE);
	for (int i = 0; i < CFG_MAX_IFACES + 1; i++)
		n += (size_t)snprintf(t + n, cap - n, "interface lan%d\n", i);
	expect_err(*state, t, ":19: too many interfaces (at most 16)");

	n = 0;
	for (int i = 0; i < CFG_MAX_LISTEN + 1; i++)
		n += (size_t)snprintf(t + n, cap - n, "listen 127.0.0.1:%d\n", 15000 + i);
	expect_err(*state, t, ":17: too many listen addresses (at most 16)");

	n = (size_t)snprintf(t, cap, "listen 0.0.0.0:15000\n");
	for (int i = 0; i < CFG_MAX_INTERCEPT + 1; i++)
		n += (size_t)snprintf(t + n, cap - n, "intercept udp %d relay\n", 1000 + i);
	expect_err(*state, t, ":66: too many intercepts (at most 64)");

	n = (size_t)snprintf(t, cap, BASE);
	for (int i = 0; i < CFG_MAX_BYPASS + 1; i++)
		n += (size_t)snprintf(t + n, cap - n, "bypass 10.%d.0.0/16\n", i);
	expect_err(*state, t, ":67: too many bypass prefixes (at most 64)");
	free(t);
}

static void test_nul_byte(void **state)
{
	static const char text[] = BASE "mark 5\0junk\nmark 6\n";

	expect_err_n(*state, text, sizeof(text) - 1, ":3: NUL byte in line");
	expect_err_n(*state, "\0", 1, ":1: NUL byte in line");
}

static void test_include_errors(void **state)
{
	const struct tdir *d = *state;
	char want[PATH_MAX + 200], inc[PATH_MAX];

	/* A missing file: the error is at the include line. */
	snprintf(want, sizeof(want), ":3: cannot open %s/nothere.conf: No such file or directory",
		 d->path);
	expect_err(d, BASE "include nothere.conf\n", want);

	/* A file including itself: stopped by the depth bound, at its line. */
	{
		char path[PATH_MAX], err[1024];

		put(d, "loop.conf", "include loop.conf\n" BASE, path, sizeof(path));
		assert_null(cfg_load(path, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s:1: include nested more than 8 deep (a loop?)",
			 path);
		assert_string_equal(err, want);
		/* Two files including each other. */
		put(d, "ping.conf", "include pong.conf\n" BASE, path, sizeof(path));
		put(d, "pong.conf", "# pong\ninclude ping.conf\n", inc, sizeof(inc));
		assert_null(cfg_load(path, err, sizeof(err)));
		/* ping at depths 0, 2, 4, 6; pong at 1, 3, 5, 7: pong's include fails. */
		snprintf(want, sizeof(want), "%s:2: include nested more than 8 deep (a loop?)",
			 inc);
		assert_string_equal(err, want);
	}

	/* An error inside an included file names that file and its line. */
	put(d, "inc/bad.inc", "# first\n\nmark 0\n", inc, sizeof(inc));
	{
		char path[PATH_MAX], err[1024];

		put(d, "main.conf", BASE "include inc/bad.inc\n", path, sizeof(path));
		assert_null(cfg_load(path, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s:3: mark: '0' is not a number from 1 to 4294967295",
			 inc);
		assert_string_equal(err, want);
	}

	/* After an include, lines are counted in the including file again. */
	put(d, "five.inc", "# 1\n# 2\n# 3\n# 4\nmark 0x10\n", NULL, 0);
	expect_err(d, "include five.inc\nbogus\n" BASE, ":2: unknown directive 'bogus'");
	expect_err(d, BASE "include five.inc\nmark 1\n", ": 'mark' and 'tproxy-mark' must differ");
}

/* A chain of 8 files (7 includes) loads; a ninth file is one too deep. */
static void test_include_depth(void **state)
{
	const struct tdir *d = *state;
	char name[64], text[128], path[PATH_MAX], err[1024], want[PATH_MAX + 100];
	struct cfg *c;

	for (int i = 0; i < CFG_MAX_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "depth/d%d.conf", i);
		if (i == 0)
			snprintf(text, sizeof(text), BASE "include d1.conf\n");
		else
			snprintf(text, sizeof(text), "# d%d\ninclude d%d.conf\n", i, i + 1);
		put(d, name, text, NULL, 0);
	}
	put(d, "depth/d7.conf", "# d7\nmark 0x77\n", NULL, 0);
	put(d, "depth/d0.conf", BASE "include d1.conf\n", path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("8 files deep: %s", err);
	assert_int_equal(c->mark, 0x77);
	assert_int_equal(c->n_files, CFG_MAX_DEPTH);
	cfg_free(c);

	put(d, "depth/d7.conf", "# d7\ninclude d8.conf\n", NULL, 0);
	put(d, "depth/d8.conf", "mark 0x88\n", NULL, 0);
	assert_null(cfg_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s/depth/d7.conf:2: include nested more than 8 deep (a loop?)", d->path);
	assert_string_equal(err, want);
}

static void test_too_many_files(void **state)
{
	const struct tdir *d = *state;
	char name[64], path[PATH_MAX], err[1024], want[PATH_MAX + 100];
	char *text = malloc(8192);
	size_t n = 0;
	struct cfg *c;

	assert_non_null(text);
	for (int i = 1; i <= CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "many/f%d.conf", i);
		put(d, name, "# nothing\n", NULL, 0);
	}
	/* The main file and 63 others fit. */
	for (int i = 1; i < CFG_MAX_FILES; i++)
		n += (size_t)snprintf(text + n, 8192 - n, "include f%d.conf\n", i);
	snprintf(text + n, 8192 - n, BASE);
	put(d, "many/main.conf", text, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("64 files: %s", err);
	assert_int_equal(c->n_files, CFG_MAX_FILES);
	cfg_free(c);
	/* Including the same file again does not count twice. */
	snprintf(text + n, 8192 - n, "include f1.conf\n" BASE);
	put(d, "many/main.conf", text, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("64 files, one twice: %s", err);
	cfg_free(c);
	snprintf(text + n, 8192 - n, "include f%d.conf\n" BASE, CFG_MAX_FILES);
	put(d, "many/main.conf", text, path, sizeof(path));
	assert_null(cfg_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:%d: too many config files (at most %d)", path,
		 CFG_MAX_FILES, CFG_MAX_FILES);
	assert_string_equal(err, want);
	free(text);
}

/* Including something that cannot be read as a file (a directory) is an
 * error at the include line, not an empty file. */
static void test_include_unreadable(void **state)
{
	const struct tdir *d = *state;
	char path[PATH_MAX], err[1024], want[PATH_MAX + 16];
	struct cfg *c;

	put(d, "sub/x.conf", "# x\n", NULL, 0);
	put(d, "incdir.conf", BASE "include sub\n", path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (c) {
		cfg_free(c);
		fail_msg("'include DIRECTORY' was accepted as an empty file");
	}
	snprintf(want, sizeof(want), "%s:3: ", path);
	assert_memory_equal(err, want, strlen(want));
}

static void test_missing_main_file(void **state)
{
	const struct tdir *d = *state;
	char path[PATH_MAX], err[1024], want[PATH_MAX + 100];

	snprintf(path, sizeof(path), "%s/none.conf", d->path);
	assert_null(cfg_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
}

/* A small error buffer gets a truncated, terminated message. */
static void test_small_errbuf(void **state)
{
	const struct tdir *d = *state;
	char path[PATH_MAX], err[16];
	struct cfg *c;

	put(d, "small.conf", "bogus\n", path, sizeof(path));
	memset(err, 'x', sizeof(err));
	c = cfg_load(path, err, 10);
	assert_null(c);
	assert_int_equal(strlen(err), 9);
	assert_memory_equal(err, path, 9);
	assert_int_equal(err[10], 'x');
	assert_null(cfg_load(path, NULL, 0));
}

static void test_defaults(void **state)
{
	struct cfg *c = load_ok(*state, BASE);
	const struct cfg_intercept *ic;
	char buf[ADDR_STRLEN];

	assert_int_equal(c->mark, 0xff);
	assert_int_equal(c->tproxy_mark, 1);
	assert_int_equal(c->route_table, 100);
	assert_int_equal(c->max_sessions, 65536);
	assert_int_equal(c->max_sessions_per_client, 1024);
	assert_int_equal(c->recv_batch, 32);
	assert_int_equal(c->workers, 0);
	assert_false(c->fail_closed);
	assert_false(c->intercept_local);
	assert_null(c->user);
	assert_int_equal(c->n_ifaces, 0);
	assert_int_equal(c->n_bypass, 0);
	assert_false(c->has_metrics);
	assert_int_equal(c->n_listen, 1);
	assert_string_equal(addr_fmt(&c->listen[0], buf, sizeof(buf)), "0.0.0.0:15000");
	assert_int_equal(c->n_intercept, 1);
	ic = cfg_intercept_find(c, 53);
	assert_non_null(ic);
	assert_int_equal(ic->svc, SVC_RELAY);
	assert_int_equal(ic->timeout_s, 60);
	assert_int_equal(c->n_files, 1);
	assert_non_null(strstr(c->files[0], "/ok.conf"));
	cfg_free(c);
}

/* Idle timeout defaults per service: relay 60, dns 17, ntp 10, quic 120.
 * The intercept parser is called directly: a whole config using a service
 * would also need that service's own settings, which are not this test's. */
static void test_default_timeouts(void **state)
{
	static const unsigned want[SVC_COUNT] = {
	    [SVC_RELAY] = 60, [SVC_DNS] = 17, [SVC_NTP] = 10, [SVC_QUIC] = 120};
	const struct cfg_directive *d = cfg_directive_find("intercept");
	struct cfg *c;

	assert_non_null(d);
	for (int s = 0; s < SVC_COUNT; s++) {
		char a0[] = "intercept", a1[] = "udp", a2[] = "1000", a3[16], a4[] = "timeout=5";
		char *argv[] = {a0, a1, a2, a3, a4};
		char err[256] = "";
		struct cfg_ctx ctx = {
		    .file = "x.conf", .line = 1, .err = err, .errlen = sizeof(err)};

		if (!svc_get((enum svc_id)s)) {
			print_message(
			    "service %s is not built in: its default timeout is not tested\n",
			    cfg_svc_name((enum svc_id)s));
			continue;
		}
		c = calloc(1, sizeof(*c));
		assert_non_null(c);
		cfg_core_module.init(c);
		ctx.cfg = c;
		snprintf(a3, sizeof(a3), "%s", cfg_svc_name((enum svc_id)s));
		if (d->parse(&ctx, 4, argv) != 0)
			fail_msg("intercept udp 1000 %s: %s", a3, err);
		assert_int_equal(c->n_intercept, 1);
		assert_int_equal(c->intercept[0].svc, s);
		assert_int_equal(c->intercept[0].timeout_s, want[s]);
		assert_ptr_equal(cfg_intercept_find(c, 1000), &c->intercept[0]);
		/* timeout= overrides it. */
		argv[2] = a4 + 8; /* port 5 */
		assert_int_equal(d->parse(&ctx, 5, argv), 0);
		assert_int_equal(cfg_intercept_find(c, 5)->timeout_s, 5);
		cfg_core_module.free(c);
		free(c);
	}
	(void)state;
}

static void test_all_directives(void **state)
{
	struct cfg *c = load_ok(*state, "listen 127.0.0.1:15000 [::1]:15000\n"
					"listen 0.0.0.0:15001\n"
					"intercept udp 53 relay\n"
					"intercept udp 0x7b relay timeout=86400\n"
					"intercept udp 65535 relay timeout=1\n"
					"mark 0x20\n"
					"tproxy-mark 7\n"
					"route-table 4242\n"
					"user nobody\n"
					"user sluice\n"
					"workers 256\n"
					"max-sessions 10000000\n"
					"max-sessions-per-client 1\n"
					"recv-batch 256\n"
					"fail-closed yes\n"
					"intercept-local on\n"
					"interface lan0 abcdefghijklmno\n"
					"interface wlan0\n"
					"bypass 192.0.2.77/24 2001:db8::/32\n"
					"bypass 203.0.113.1\n"
					"metrics [::1]:9153\n");
	char buf[ADDR_STRLEN];

	assert_int_equal(c->n_listen, 3);
	assert_string_equal(addr_fmt(&c->listen[0], buf, sizeof(buf)), "127.0.0.1:15000");
	assert_string_equal(addr_fmt(&c->listen[1], buf, sizeof(buf)), "[::1]:15000");
	assert_string_equal(addr_fmt(&c->listen[2], buf, sizeof(buf)), "0.0.0.0:15001");
	assert_int_equal(c->n_intercept, 3);
	assert_int_equal(cfg_intercept_find(c, 123)->timeout_s, 86400);
	assert_int_equal(cfg_intercept_find(c, 65535)->timeout_s, 1);
	assert_int_equal(c->mark, 0x20);
	assert_int_equal(c->tproxy_mark, 7);
	assert_int_equal(c->route_table, 4242);
	assert_string_equal(c->user, "sluice");
	assert_int_equal(c->workers, 256);
	assert_int_equal(c->max_sessions, 10000000);
	assert_int_equal(c->max_sessions_per_client, 1);
	assert_int_equal(c->recv_batch, 256);
	assert_true(c->fail_closed);
	assert_true(c->intercept_local);
	assert_int_equal(c->n_ifaces, 3);
	assert_string_equal(c->ifaces[0], "lan0");
	assert_string_equal(c->ifaces[1], "abcdefghijklmno");
	assert_string_equal(c->ifaces[2], "wlan0");
	assert_int_equal(c->n_bypass, 3);
	assert_string_equal(addr_cidr_fmt(&c->bypass[0], buf, sizeof(buf)), "192.0.2.0/24");
	assert_string_equal(addr_cidr_fmt(&c->bypass[1], buf, sizeof(buf)), "2001:db8::/32");
	assert_string_equal(addr_cidr_fmt(&c->bypass[2], buf, sizeof(buf)), "203.0.113.1/32");
	assert_true(c->has_metrics);
	assert_string_equal(addr_fmt(&c->metrics, buf, sizeof(buf)), "[::1]:9153");
	cfg_free(c);
}

static void test_bools_and_workers(void **state)
{
	static const char *const yes[] = {"yes", "on", "true"}, *const no[] = {"no", "off",
									       "false"};
	char text[256];
	struct cfg *c;

	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), BASE "fail-closed %s\nintercept-local %s\n", yes[i],
			 no[i]);
		c = load_ok(*state, text);
		assert_true(c->fail_closed);
		assert_false(c->intercept_local);
		cfg_free(c);
		snprintf(text, sizeof(text), BASE "fail-closed %s\nintercept-local %s\n", no[i],
			 yes[i]);
		c = load_ok(*state, text);
		assert_false(c->fail_closed);
		assert_true(c->intercept_local);
		cfg_free(c);
	}
	c = load_ok(*state, BASE "workers 4\nworkers auto\n");
	assert_int_equal(c->workers, 0);
	cfg_free(c);
	c = load_ok(*state, BASE "workers 1\n");
	assert_int_equal(c->workers, 1);
	cfg_free(c);
}

/* Comments, blank lines, tabs, CRLF and a missing final newline. */
static void test_layout(void **state)
{
	struct cfg *c = load_ok(*state, "# sluice.conf\r\n"
					"\r\n"
					"   # indented comment\r\n"
					"\t\r\n"
					"listen\t0.0.0.0:15000   # trailing comment\r\n"
					"  intercept \t udp 53\trelay   timeout=9 #comment\r\n"
					"mark 0x10 # 0x20\r\n"
					"#mark 0x30\r\n"
					"route-table 7");

	assert_int_equal(c->n_listen, 1);
	assert_int_equal(c->mark, 0x10);
	assert_int_equal(c->route_table, 7);
	assert_int_equal(cfg_intercept_find(c, 53)->timeout_s, 9);
	cfg_free(c);
	/* "timeout=9#not" is one word, so the line above must fail on it. */
	expect_err(*state, BASE "intercept udp 54 relay timeout=9#x\n",
		   ":3: timeout: '9#x' is not a number from 1 to 86400");
}

/* Numbers in configs: decimal or 0x hex. A leading zero must not make a
 * port octal ("053" is 53 or an error, never 43). */
static void test_numbers_not_octal(void **state)
{
	char path[PATH_MAX], err[1024];
	struct cfg *c;

	put(*state, "oct.conf", "listen 0.0.0.0:15000\nintercept udp 053 relay timeout=010\n", path,
	    sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		return; /* refusing it is fine */
	if (!cfg_intercept_find(c, 53)) {
		unsigned port = c->intercept[0].port;

		cfg_free(c);
		fail_msg("'intercept udp 053' intercepted port %u", port);
	}
	assert_int_equal(cfg_intercept_find(c, 53)->timeout_s, 10);
	cfg_free(c);
}

static void test_intercept_find(void **state)
{
	struct cfg *c = load_ok(*state, "listen 0.0.0.0:15000\n"
					"intercept udp 53 relay\n"
					"intercept udp 123 relay timeout=10\n"
					"intercept udp 3478 relay\n"
					"intercept udp 65535 relay\n"
					"intercept udp 1 relay\n");

	assert_int_equal(cfg_intercept_find(c, 53)->port, 53);
	assert_int_equal(cfg_intercept_find(c, 123)->port, 123);
	assert_int_equal(cfg_intercept_find(c, 123)->timeout_s, 10);
	assert_int_equal(cfg_intercept_find(c, 3478)->port, 3478);
	assert_int_equal(cfg_intercept_find(c, 65535)->port, 65535);
	assert_int_equal(cfg_intercept_find(c, 1)->port, 1);
	assert_ptr_equal(cfg_intercept_find(c, 3478), &c->intercept[2]);
	assert_null(cfg_intercept_find(c, 0));
	assert_null(cfg_intercept_find(c, 54));
	assert_null(cfg_intercept_find(c, 15000));
	assert_null(cfg_intercept_find(c, 65534));
	cfg_free(c);
}

/* Relative includes resolve against the including file's directory,
 * whatever the working directory. */
static void test_include_relative(void **state)
{
	const struct tdir *d = *state;
	char path[PATH_MAX], err[1024], cwd[PATH_MAX], want[PATH_MAX + 32];
	struct cfg *c;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	put(d, "rel/a/sub/x.conf", "include ../y.conf\nmark 0x10\n", NULL, 0);
	put(d, "rel/a/y.conf", "tproxy-mark 0x20\n", NULL, 0);
	put(d, "rel/y.conf", "tproxy-mark 0x99\n", NULL, 0); /* the wrong one */
	put(d, "rel/a/main.conf", "include sub/x.conf\n" BASE, path, sizeof(path));

	assert_int_equal(chdir("/"), 0);
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("absolute main path: %s", err);
	assert_int_equal(c->mark, 0x10);
	assert_int_equal(c->tproxy_mark, 0x20);
	assert_int_equal(c->n_files, 3);
	assert_string_equal(c->files[0], path);
	snprintf(want, sizeof(want), "%s/rel/a/sub/x.conf", d->path);
	assert_string_equal(c->files[1], want);
	cfg_free(c);

	/* A relative main path. */
	assert_int_equal(chdir(d->path), 0);
	c = cfg_load("rel/a/main.conf", err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (!c)
		fail_msg("relative main path: %s", err);
	assert_int_equal(c->tproxy_mark, 0x20);
	assert_string_equal(c->files[0], "rel/a/main.conf");
	cfg_free(c);

	/* A main file in the working directory, without a slash. */
	assert_int_equal(chdir(d->path), 0);
	put(d, "bare.conf", "include rel/a/y.conf\n" BASE, NULL, 0);
	c = cfg_load("bare.conf", err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (!c)
		fail_msg("bare main path: %s", err);
	assert_int_equal(c->tproxy_mark, 0x20);
	cfg_free(c);

	/* Absolute include paths are taken as they are. */
	{
		char text[512];

		snprintf(text, sizeof(text), BASE "include %s/rel/a/y.conf\n", d->path);
		c = load_ok(d, text);
		assert_int_equal(c->tproxy_mark, 0x20);
		cfg_free(c);
	}
}

static void test_helpers(void **state)
{
	struct cfg cfg;
	char err[256];
	struct cfg_ctx ctx = {.cfg = &cfg,
			      .file = "/etc/sluice/main.conf",
			      .line = 12,
			      .err = err,
			      .errlen = sizeof(err)};
	uint64_t v;
	bool b;
	char *p;

	(void)state;
	p = cfg_path(&ctx, "lists/ads.txt");
	assert_string_equal(p, "/etc/sluice/lists/ads.txt");
	free(p);
	p = cfg_path(&ctx, "/abs/x");
	assert_string_equal(p, "/abs/x");
	free(p);
	ctx.file = "main.conf";
	p = cfg_path(&ctx, "x");
	assert_string_equal(p, "./x");
	free(p);
	ctx.file = NULL;
	p = cfg_path(&ctx, "x");
	assert_string_equal(p, "x");
	free(p);
	ctx.file = "/etc/sluice/main.conf";

	assert_int_equal(cfg_parse_num(&ctx, "thing", "42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cfg_parse_num(&ctx, "thing", "101", 1, 100, &v), -EINVAL);
	assert_string_equal(err,
			    "/etc/sluice/main.conf:12: thing: '101' is not a number from 1 to 100");
	assert_int_equal(cfg_parse_bool(&ctx, "true", &b), 0);
	assert_true(b);
	assert_int_equal(cfg_parse_bool(&ctx, "", &b), -EINVAL);
	assert_string_equal(err, "/etc/sluice/main.conf:12: '' is not yes or no");
	assert_int_equal(cfg_error(&ctx, "x %d", 5), -EINVAL);
	assert_string_equal(err, "/etc/sluice/main.conf:12: x 5");
	assert_int_equal(cfg_error_at(&ctx, "f", 0, "y"), -EINVAL);
	assert_string_equal(err, "f: y");
	assert_int_equal(cfg_error_at(&ctx, NULL, 3, "z"), -EINVAL);
	assert_string_equal(err, "?:3: z");

	assert_string_equal(cfg_svc_name(SVC_RELAY), "relay");
	assert_string_equal(cfg_svc_name(SVC_DNS), "dns");
	assert_string_equal(cfg_svc_name(SVC_NTP), "ntp");
	assert_string_equal(cfg_svc_name(SVC_QUIC), "quic");
	assert_string_equal(cfg_svc_name(SVC_COUNT), "?");
	assert_non_null(svc_get(SVC_RELAY));

	assert_non_null(cfg_directive_find("listen"));
	assert_string_equal(cfg_directive_find("mark")->name, "mark");
	assert_null(cfg_directive_find("nope"));
	assert_null(cfg_directive_find(""));
	cfg_free(NULL);
}

/* Every table entry is complete, its argument bounds are reachable (a line
 * holds at most CFG_MAX_ARGS words, the name included) and no name is
 * defined twice. */
static void test_directive_tables(void **state)
{
	char bad[2048] = "";
	size_t n = 0, nbad = 0;

	(void)state;
	for (size_t m = 0; cfg_modules[m]; m++) {
		const struct cfg_module *mod = cfg_modules[m];

		assert_non_null(mod->name);
		for (const struct cfg_directive *d = mod->directives; d->name; d++, n++) {
			const char *why = NULL;
			size_t o = strlen(bad);

			if (!d->parse || !d->usage || !d->help || !*d->help)
				why = "missing parse, usage or help";
			else if (d->min_args > d->max_args)
				why = "min_args > max_args";
			else if (d->max_args > CFG_MAX_ARGS - 1)
				why = "max_args more than a line can hold (CFG_MAX_ARGS - 1)";
			else if (cfg_directive_find(d->name) != d)
				why = "defined twice";
			else if (strcmp(d->name, "include") == 0)
				why = "'include' belongs to the loader";
			if (why) {
				snprintf(bad + o, sizeof(bad) - o, "\n  %s (%s): %s", d->name,
					 mod->name, why);
				nbad++;
			}
		}
	}
	assert_true(n >= 15);
	if (nbad)
		fail_msg("%zu bad directive table entr%s:%s", nbad, nbad == 1 ? "y" : "ies", bad);
}

/* The docs name every directive: conf/sluice.conf in a block starting
 * "# NAME USAGE" (or an active "NAME ..." line), and sluice.conf(5) as
 * ".B NAME" (also .BI/.BR, NAME first) or "\fBNAME\fR". */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 2);
		if (buf) {
			buf[0] = '\n'; /* so a first-line entry matches "\nNAME " too */
			*len = fread(buf + 1, 1, (size_t)n, f) + 1;
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static bool conf_documents(const char *conf, const char *name)
{
	char a[128], b[128], c[128], e[128];

	snprintf(a, sizeof(a), "\n# %s ", name);
	snprintf(b, sizeof(b), "\n%s ", name);
	snprintf(c, sizeof(c), "\n# %s\n", name);
	snprintf(e, sizeof(e), "\n#%s ", name);
	return strstr(conf, a) || strstr(conf, b) || strstr(conf, c) || strstr(conf, e);
}

static bool man_documents(const char *man, const char *name)
{
	static const char *const macros[] = {".B", ".BI", ".BR"};
	char a[128];

	for (size_t i = 0; i < SL_ARRAY_LEN(macros); i++) {
		snprintf(a, sizeof(a), "\n%s %s\n", macros[i], name);
		if (strstr(man, a))
			return true;
		snprintf(a, sizeof(a), "\n%s %s ", macros[i], name);
		if (strstr(man, a))
			return true;
	}
	snprintf(a, sizeof(a), "\\fB%s\\fR", name);
	if (strstr(man, a))
		return true;
	snprintf(a, sizeof(a), "\\fB%s\\fP", name);
	return strstr(man, a) != NULL;
}

static const char *find_srcdir(void)
{
	const char *s = getenv("top_srcdir");
	static const char *const guesses[] = {".", "..", "../.."};

	if (s && *s)
		return s;
	for (size_t i = 0; i < SL_ARRAY_LEN(guesses); i++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/include/cfg.h", guesses[i]);
		if (access(p, R_OK) == 0)
			return guesses[i];
	}
	return NULL;
}

static void test_docs(void **state)
{
	const char *top = find_srcdir();
	char path[PATH_MAX], missing[4096] = "";
	char *conf, *man;
	size_t cl = 0, ml = 0, nmiss = 0;

	(void)state;
	if (!top)
		fail_msg("cannot find the source tree: set top_srcdir (make check does)");
	snprintf(path, sizeof(path), "%s/conf/sluice.conf", top);
	conf = slurp(path, &cl);
	if (!conf || cl < 2)
		fail_msg("%s is missing or empty: every directive must be documented there", path);
	snprintf(path, sizeof(path), "%s/man/sluice.conf.5", top);
	man = slurp(path, &ml);
	if (!man || ml < 2) {
		free(conf);
		fail_msg("%s is missing or empty: every directive must be documented there", path);
	}
	for (size_t m = 0; cfg_modules[m]; m++) {
		for (const struct cfg_directive *d = cfg_modules[m]->directives; d->name; d++) {
			size_t o = strlen(missing);

			if (!conf_documents(conf, d->name)) {
				snprintf(missing + o, sizeof(missing) - o, " %s(conf)", d->name);
				nmiss++;
			}
			o = strlen(missing);
			if (!man_documents(man, d->name)) {
				snprintf(missing + o, sizeof(missing) - o, " %s(man)", d->name);
				nmiss++;
			}
		}
	}
	free(conf);
	free(man);
	if (nmiss)
		fail_msg("%zu undocumented directive(s):%s", nmiss, missing);
}

/* The descriptor plan under a small RLIMIT_NOFILE, and the workers' shares
 * of its caps: together they never exceed what the plan made room for (two
 * workers used to round 317 sessions up to 159 each: 318). */
static void test_fdplan(void **state)
{
	struct cfg *c = load_ok(*state, BASE "intercept udp 5300 relay\n");
	struct fdplan p;
	unsigned sum;

	fdplan_make(c, 2, 1, 1024, &p);
	assert_true(p.lowered);
	assert_true(p.max_sessions < c->max_sessions);
	assert_true(p.max_per_client <= p.max_sessions);
	/* sessions at 2 descriptors, DNS, the reply caches: within the limit */
	assert_true(2ul * p.max_sessions + p.dns_fds + 2ul * p.reply_cache < 1024);
	for (unsigned n = 1; n <= 5; n++) {
		sum = 0;
		for (unsigned id = 0; id < n; id++) {
			unsigned s = fdplan_share(p.max_sessions, n, id);

			assert_in_range(s, p.max_sessions / n, p.max_sessions / n + 1);
			sum += s;
		}
		assert_int_equal(sum, p.max_sessions);
	}
	/* NTP flows hold a leg per ntp-redirect server besides the two */
	if (svc_get(SVC_NTP)) {
		cfg_free(c);
		c = load_ok(*state, BASE "intercept udp 123 ntp\nntp-redirect 192.0.2.1 192.0.2.2 "
					  "192.0.2.3\n");
		sum = p.max_sessions;
		fdplan_make(c, 2, 1, 1024, &p);
		assert_true(p.max_sessions < sum);
		assert_true(5ul * p.max_sessions + p.dns_fds + 2ul * p.reply_cache < 1024);
	}
	assert_int_equal(fdplan_share(317, 2, 0) + fdplan_share(317, 2, 1), 317);
	assert_int_equal(fdplan_share(65536, 3, 0), 21846);
	assert_int_equal(fdplan_share(65536, 3, 2), 21845);
	assert_int_equal(fdplan_share(1, 2, 1), 1); /* no worker gets none */
	assert_int_equal(fdplan_share(7, 0, 0), 7);
	fdplan_make(c, 2, 1, 1u << 20, &p);
	assert_false(p.lowered);
	assert_int_equal(p.max_sessions, c->max_sessions);
	cfg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax_errors),      cmocka_unit_test(test_listen_errors),
	    cmocka_unit_test(test_intercept_errors),   cmocka_unit_test(test_service_not_built),
	    cmocka_unit_test(test_directive_not_built),
	    cmocka_unit_test(test_number_errors),      cmocka_unit_test(test_misc_errors),
	    cmocka_unit_test(test_finish_errors),      cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_nul_byte),	       cmocka_unit_test(test_include_errors),
	    cmocka_unit_test(test_include_depth),      cmocka_unit_test(test_too_many_files),
	    cmocka_unit_test(test_include_unreadable), cmocka_unit_test(test_missing_main_file),
	    cmocka_unit_test(test_small_errbuf),       cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_default_timeouts),   cmocka_unit_test(test_all_directives),
	    cmocka_unit_test(test_bools_and_workers),  cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_numbers_not_octal),  cmocka_unit_test(test_intercept_find),
	    cmocka_unit_test(test_include_relative),   cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_directive_tables),   cmocka_unit_test(test_docs),
	    cmocka_unit_test(test_fdplan),
	};

	return cmocka_run_group_tests_name("cfg", tests, group_setup, group_teardown);
}
