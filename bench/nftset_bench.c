#include "config.h"
/* nftset_bench.c - what a flush costs against the real kernel: adds N fresh
 * IPv4 addresses to one set and flushes, for N = 1, 16, 256 (one
 * transaction each time), and 256 addresses sent one transaction per
 * address (what batching saves). Wall-clock microseconds per round (the
 * adds, dedup included, and the flush with its system call: nf_tables
 * commits inside it). Needs a set with
 * `flags timeout` and CAP_NET_ADMIN; run it in a scratch namespace:
 *   ip netns add nb && ip netns exec nb nft add table inet b '{ set s { type
 *   ipv4_addr; flags timeout; }; }' && ip netns exec nb ./nftset_bench
 * Usage: nftset_bench [FAMILY#TABLE#SET] (default inet#b#s) */

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include "ctr.h"
#include "log.h"
#include "nftset.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct nftset_spec spec;
	static struct ctr ctr;
	struct log_once once = {0};
	struct nftset *ns;
	char err[256];
	uint32_t next = 0x0a000000; /* 10.0.0.0 onwards: fresh each time */
	static const unsigned sizes[] = {1, 16, 256};

	log_init(false, LOG_WARNING);
	if (nftset_spec_parse(argc > 1 ? argv[1] : "inet#b#s", &spec, 1, err, sizeof(err)) != 1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	ns = nftset_new(&(struct nftset_env){.ctr = &ctr, .once = &once});
	if (!ns || nftset_sync(ns, &spec, 1) < 0)
		return 1;
	nftset_check(ns, 1);
	for (size_t k = 0; k < SL_ARRAY_LEN(sizes); k++) {
		unsigned rounds = 2000 / sizes[k] + 5;
		uint64_t t0, total = 0, best = UINT64_MAX;

		for (unsigned r = 0; r < rounds; r++) {
			t0 = now_us(); /* adds too: a full queue (256) flushes inside the last */
			for (unsigned i = 0; i < sizes[k]; i++) {
				uint32_t a = htonl(next++);

				nftset_add(ns, nftset_ref(ns, 0), AF_INET, &a, 600, 1);
			}
			nftset_flush(ns, 1);
			t0 = now_us() - t0;
			total += t0;
			best = t0 < best ? t0 : best;
		}
		printf(
		    "%3u addresses per transaction: %7.1f us per flush (best %llu), %5.2f us per "
		    "address\n",
		    sizes[k], (double)total / rounds, (unsigned long long)best,
		    (double)total / rounds / sizes[k]);
	}
	{
		uint64_t t0 = now_us();

		for (unsigned i = 0; i < 256; i++) {
			uint32_t a = htonl(next++);

			nftset_add(ns, nftset_ref(ns, 0), AF_INET, &a, 600, 1);
			nftset_flush(ns, 1);
		}
		printf("256 addresses one transaction each: %7.1f us in all\n",
		       (double)(now_us() - t0));
	}
	printf("added %llu, errors %llu, transactions %llu\n",
	       (unsigned long long)ctr_get(&ctr, CTR_DNS_NFTSET_ADDED),
	       (unsigned long long)ctr_get(&ctr, CTR_DNS_NFTSET_ERRORS),
	       (unsigned long long)ctr_get(&ctr, CTR_DNS_NFTSET_BATCHES));
	nftset_free(ns);
	return 0;
}
