#include "config.h"
/* quic_bench.c - the cost of sniffing one QUIC flow: a new sniff on the
 * worker-wide struct quic_crypto, its client datagrams fed, the sniff
 * freed, repeated. Meant for callgrind, whose instruction counts repeat
 * exactly: bench/quic_callgrind.sh runs `quic_bench MODE 1` and
 * `quic_bench MODE 101`, and the difference of the totals / 100 is the cost
 * of one flow. MODE: forged-same (one datagram of 8 coalesced Initials of
 * one DCID, bad tags), forged-distinct (the same with 8 DCIDs), flight (a
 * ClientHello in one 1200-byte Initial), split (a post-quantum sized hello
 * in two Initials, one datagram each). Without valgrind it prints thread
 * CPU ns per flow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quic.h"
#include "../tests/unit/quic_seal.h"

#define NFORGED 8

struct flight {
	uint8_t d[2][1500];
	size_t len[2];
	size_t n;
};

static const char *const h3[] = {"h3"};

/* NFORGED small Initials in one datagram, each with its tag broken. */
static int mk_forged(struct flight *f, bool distinct)
{
	uint8_t payload[100] = {0x01}, dcid[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0};
	size_t n = 0, len;

	for (int i = 0; i < NFORGED; i++) {
		dcid[7] = distinct ? (uint8_t)i : 0;
		len =
		    seal_initial(QUIC_VERSION_1, dcid, sizeof(dcid), NULL, 0, NULL, 0, (uint64_t)i,
				 1, payload, sizeof(payload), f->d[0] + n, sizeof(f->d[0]) - n);
		if (!len)
			return -1;
		f->d[0][n + len - 1] ^= 0x5a; /* the tag */
		n += len;
	}
	f->len[0] = n;
	f->n = 1;
	return 0;
}

/* The hello in @parts Initials of one DCID, one datagram each, padded to 1200. */
static int mk_hello(struct flight *f, size_t kem_len, size_t parts)
{
	static const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
	uint8_t ch[8192], payload[1500];
	size_t chlen = seal_client_hello(ch, "bench.example", h3, 1, kem_len);
	size_t per = (chlen + parts - 1) / parts;

	for (size_t i = 0; i < parts; i++) {
		size_t off = i * per, n = off + per > chlen ? chlen - off : per, fl;

		memset(payload, 0, sizeof(payload));
		fl = seal_crypto_frame(payload, off, ch + off, n);
		if (fl < 1150)
			fl = 1150;
		f->len[i] = seal_initial(QUIC_VERSION_1, dcid, sizeof(dcid), NULL, 0, NULL, 0, i, 2,
					 payload, fl, f->d[i], sizeof(f->d[i]));
		if (!f->len[i])
			return -1;
	}
	f->n = parts;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static enum quic_sniff_result one_flow(struct quic_crypto *c, const struct flight *f)
{
	struct quic_sniff *s = quic_sniff_new(c);
	enum quic_sniff_result r = QUIC_SNIFF_GIVEUP;

	if (!s)
		return r;
	for (size_t i = 0; i < f->n; i++)
		r = quic_sniff_feed(s, f->d[i], f->len[i]);
	quic_sniff_free(s);
	return r;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"MORE", "DONE", "NOT_QUIC", "GIVEUP"};
	struct quic_crypto *c;
	struct flight f;
	const char *mode = argc > 1 ? argv[1] : "flight";
	long n = argc > 2 ? atol(argv[2]) : 1000;
	enum quic_sniff_result r = QUIC_SNIFF_GIVEUP;
	uint64_t t0;
	int rc;

	memset(&f, 0, sizeof(f));
	if (strcmp(mode, "forged-same") == 0)
		rc = mk_forged(&f, false);
	else if (strcmp(mode, "forged-distinct") == 0)
		rc = mk_forged(&f, true);
	else if (strcmp(mode, "flight") == 0)
		rc = mk_hello(&f, 0, 1);
	else if (strcmp(mode, "split") == 0)
		rc = mk_hello(&f, 1216, 2);
	else
		return fprintf(stderr, "usage: quic_bench forged-same|forged-distinct|flight|split "
				       "[flows]\n"),
		       2;
	if (rc < 0)
		return fprintf(stderr, "quic_bench: cannot build the packets\n"), 1;
	/* as a worker: the algorithms fetched once for all its flows */
	c = quic_crypto_new();
	if (!c)
		return fprintf(stderr, "quic_bench: OpenSSL lacks an algorithm\n"), 1;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		r = one_flow(c, &f);
	printf("%s: %ld flows, last %s, %.0f ns/flow\n", mode, n, names[r],
	       n > 0 ? (double)(now_ns() - t0) / (double)n : 0.0);
	quic_crypto_free(c);
	return 0;
}
