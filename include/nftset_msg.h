/* nftset_msg.h - the nf_tables netlink messages nftset needs, built into
 * the caller's buffer and read back from the kernel's replies. No socket
 * and no allocation here, so tests can check every byte. */
#ifndef NFTSET_MSG_H
#define NFTSET_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nftset.h"

/** One address to add: its key bytes (4 or 16) and timeout. */
struct nftset_elem {
	uint8_t addr[16];
	uint32_t timeout_s;
};

/** Messages in a transaction nftset_msg_add_batch builds (begin, destroy, add, end). */
#define NFTSET_MSG_PER_BATCH 4

/**
 * One nf_tables transaction for set s: BATCH_BEGIN (seq), with destroy a
 * DESTROYSETELEM of every key (seq + 1: gone or not, so it never fails on
 * an element that is not there), NEWSETELEM of every element with its
 * timeout (seq + 2), BATCH_END (seq + 3). Both element messages ask for
 * an ACK. keylen is 4 (IPv4) or 16 (IPv6). Returns the length, or -ENOSPC.
 */
int nftset_msg_add_batch(uint8_t *buf, size_t cap, uint32_t seq, const struct nftset_spec *s,
			 size_t keylen, const struct nftset_elem *e, size_t n, bool destroy);

/** Bytes nftset_msg_add_batch needs at most for n elements. */
size_t nftset_msg_batch_size(size_t n);

/** A GETSET request for s (with an ACK), seq. Returns the length, or -ENOSPC. */
int nftset_msg_getset(uint8_t *buf, size_t cap, uint32_t seq, const struct nftset_spec *s);

/** A GETTABLE request for s's table (with an ACK), seq: its handle tells a
 * table made again from the old one (table handles are never reused). */
int nftset_msg_gettable(uint8_t *buf, size_t cap, uint32_t seq, const struct nftset_spec *s);

/** What the kernel said about one request. */
struct nftset_reply {
	uint32_t seq;
	uint16_t type;	/* nlmsg_type of the request (errors, ACKs) or of the reply (NEWSET) */
	bool is_set;	/* a NEWSET message: the fields below are filled */
	bool is_table;	/* a NEWTABLE message: handle is the table's */
	int error;	/* ACK: 0; error: -errno */
	uint32_t flags; /* NFT_SET_* */
	uint32_t key_type, key_len;
	uint64_t handle; /* the set's (unique in its table) or the table's (never reused) */
};

/**
 * Walk the replies in buf[0..len), calling cb for each error, ACK and
 * NEWSET message. Returns 0, or -EBADMSG when a message is malformed (the
 * ones before it were reported).
 */
int nftset_msg_replies(const uint8_t *buf, size_t len,
		       void (*cb)(void *arg, const struct nftset_reply *r), void *arg);

/** nft's datatype numbers for the keys sluice takes. */
#define NFTSET_TYPE_IPADDR 7
#define NFTSET_TYPE_IP6ADDR 8

/** NFT_MSG_DESTROYSETELEM (Linux 6.3); not in older kernel headers. */
#define NFTSET_MSG_DESTROYSETELEM 30

#endif
