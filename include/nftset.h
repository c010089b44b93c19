/* nftset.h - putting the addresses of DNS answers into nftables sets
 * (`dns-rule ... nftset FAMILY#TABLE#SET[,...]`), so traffic can be routed
 * by domain from its first packet. The set specs a config names, and one
 * worker's adder: it looks each set up (its key type decides whether it
 * takes A or AAAA addresses), skips addresses it added recently with
 * enough timeout left, and sends the rest to the kernel in batches. */
#ifndef NFTSET_H
#define NFTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ctr;
struct log_once;

/** Longest table or set name sluice takes (nft allows 255; fw4's are short). */
#define NFTSET_NAME_MAX 64
/** Sets one rule may name. */
#define NFTSET_MAX_PER_RULE 8
/** Distinct sets one config may name. */
#define NFTSET_MAX_SETS 64
/** Addresses queued before a flush is forced. */
#define NFTSET_QUEUE_MAX 256

/** FAMILY#TABLE#SET. family is an NFPROTO_* value (inet, ip, ip6). */
struct nftset_spec {
	uint8_t family;
	char table[NFTSET_NAME_MAX + 1];
	char set[NFTSET_NAME_MAX + 1];
};

/**
 * Parse "FAMILY#TABLE#SET[,FAMILY#TABLE#SET...]" (FAMILY: inet, ip, ip6;
 * names of letters, digits and _ . - /) into out[0..max). Returns how many,
 * or -EINVAL with a message in err.
 */
int nftset_spec_parse(const char *text, struct nftset_spec *out, size_t max, char *err,
		      size_t errlen);

/** "inet#fw4#proxied4" into buf. */
void nftset_spec_name(const struct nftset_spec *s, char *buf, size_t len);

bool nftset_spec_equal(const struct nftset_spec *a, const struct nftset_spec *b);

/**
 * The kernel side, replaceable for tests: send each of msgs[0..n) as one
 * netlink datagram (one nf_tables transaction, or one request), then put
 * every reply the kernel has queued into reply[0..cap). nf_tables handles a
 * transaction inside the send, so the replies are there when it returns.
 * Returns the reply bytes, or -errno when nothing could be sent.
 */
struct nftset_io {
	int (*xfer)(void *ctx, const struct iovec *msgs, unsigned n, uint8_t *reply, size_t cap);
	void (*close)(void *ctx);
	void *ctx;
};

/** Open the netlink socket (nftset_nl.c); NULL with errno set. */
struct nftset_io *nftset_nl_open(void);

struct nftset_env {
	struct ctr *ctr;       /* CTR_DNS_NFTSET_* */
	struct log_once *once; /* set problems are logged once for every worker */
	/* NULL: the netlink socket, opened at first use; else owned from now on */
	struct nftset_io *io;
};

/** One worker's adder. */
struct nftset;

struct nftset *nftset_new(const struct nftset_env *env);
void nftset_free(struct nftset *ns);

/**
 * Make specs[0..n) the sets of the running config. A set it already knew by
 * name keeps its state and its dedup entries; the others are forgotten, so
 * refs taken for them stop working. -ENOSPC past NFTSET_MAX_SETS.
 */
int nftset_sync(struct nftset *ns, const struct nftset_spec *specs, size_t n);

/**
 * A reference to the config's set i (as given to the last nftset_sync) to
 * keep while a query waits: it holds no pointer into the config, and a set
 * dropped by a reload meanwhile makes it dangle harmlessly (ignored).
 */
uint32_t nftset_ref(const struct nftset *ns, size_t i);

/**
 * Queue addr (af: AF_INET or AF_INET6) for the set ref with a timeout of
 * timeout_s, unless it is not the set's family, the set is unusable
 * (counted as an error), or it was queued or added with at least 7/8 of
 * that timeout still left (counted as deduplicated). Looks the set up
 * first if it has not been yet. A full queue is flushed.
 */
void nftset_add(struct nftset *ns, uint32_t ref, int af, const void *addr, uint32_t timeout_s,
		uint64_t now_ms);

/** True when addresses are queued. */
bool nftset_pending(const struct nftset *ns);

/**
 * Send what is queued: one transaction per set (destroy + add of its
 * elements, so each gets exactly its new timeout), all in one system call.
 * When it returns, the kernel has committed them.
 */
void nftset_flush(struct nftset *ns, uint64_t now_ms);

/** Look every set up now, logging what is wrong with each (start, reload). */
void nftset_check(struct nftset *ns, uint64_t now_ms);

#endif
