#include "config.h"
/* qlog_bench.c - what one query log line costs: dns_note_done (the line
 * built by hand: time, client, name, type, rule, group, server, rcode,
 * cache, latency) and qlog_line (buffered, written with one write(2) per
 * 64 KiB to a file in TMPDIR), per query, in thread CPU ns, beside the
 * same loop without the log. Compare with the daemon's CPU per cache hit
 * from the shared harness (bench/results/): the budget is 20%.
 * Usage: qlog_bench [lines] */

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/dns_int.h"
#include "ctr.h"
#include "qlog.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t make_query(uint8_t *b, unsigned i)
{
	int n = snprintf((char *)b + 13, 40, "host%u", i % 1000);

	memset(b, 0, 12);
	b[2] = 0x01;
	b[5] = 1;
	b[12] = (uint8_t)n;
	memcpy(b + 13 + n, "\7example\3com\0\0\1\0\1", 17);
	return (size_t)(13 + n + 17);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
	char path[] = "/tmp/qlog_bench.XXXXXX";
	struct event_base *base = event_base_new();
	struct dns_worker *dw = calloc(1, sizeof(*dw));
	struct ctr ctr = {0};
	atomic_uint gen = 0;
	struct dns_src src = {.via = DNS_VIA_TPROXY};
	struct dns_up_server sv = {.proto = DNS_PROTO_UDP};
	struct dns_query q;
	struct dns_note note;
	uint8_t pkt[64];
	uint64_t t0, t_off, t_on;
	int fd = mkstemp(path);

	if (!base || !dw || fd < 0 || !(dw->qlog = qlog_new(base, &gen, &ctr)))
		return 1;
	close(fd);
	addr_parse("198.51.100.2:40000", true, 0, &src.client);
	addr_parse("203.0.113.3:53", true, 0, &sv.addr);
	dw->out[3] = 0; /* NOERROR */
	for (int on = 0; on < 2; on++) {
		if (!qlog_set(dw->qlog, on ? path : NULL))
			return 1;
		t0 = now_ns();
		for (unsigned i = 0; i < n; i++) {
			size_t len = make_query(pkt, i);

			if (dns_query_parse(pkt, len, &q) < 0)
				return 1;
			dns_note_start(dw, &note);
			dns_note_rule(&note, "/etc/sluice/sluice.conf", 42, "forward");
			dns_note_group(&note, "abroad");
			dns_note_done(dw, &src, &note, &q, 60, i % 4 ? DNS_NOTE_HIT : DNS_NOTE_MISS,
				      i % 4 ? NULL : &sv);
		}
		qlog_flush(dw->qlog);
		if (on)
			t_on = now_ns() - t0;
		else
			t_off = now_ns() - t0;
	}
	printf("query log: %.0f ns/query with a file, %.0f ns/query without (parse and note "
	       "only); %.0f ns/query for the line, %llu lines\n",
	       (double)t_on / n, (double)t_off / n, (double)(t_on - t_off) / n,
	       (unsigned long long)ctr_get(&ctr, CTR_DNS_QLOG_LINES));
	qlog_free(dw->qlog);
	unlink(path);
	free(dw);
	event_base_free(base);
	return 0;
}
