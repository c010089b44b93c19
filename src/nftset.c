/* nftset.c - one worker's adder of answer addresses to nftables sets.
 *
 * Sets: each set the config names gets a slot, looked up once (GETSET) at
 * start and at first use. Its key type decides what goes in: an ipv4_addr
 * set takes the A addresses, an ipv6_addr set the AAAA ones, whatever the
 * table's family (so inet#fw4#proxied4,inet#fw4#proxied6 does what it
 * says). A set of another type, a map, an interval set or one without
 * `flags timeout` is refused with a message naming it; a missing one too.
 * Refused sets are looked up again every RETRY_MS, and as soon as an add
 * to a set fails; usable ones too, at their next use after RETRY_MS, to
 * notice a set that a firewall reload deleted and made again, empty
 * (its handle or its table's changes): its dedup entries are dropped
 * then. Problems are logged once for all workers (log_once) and counted;
 * none is fatal and none holds up an answer.
 *
 * Dedup: a set-associative table (slot, address) -> when the timeout last
 * sent runs out. An address whose entry still has 7/8 of the new timeout
 * left is not sent again; one sent gets the new timeout (never a shorter
 * one than the entry promises: a shorter want is always deduplicated).
 *
 * Batching: addresses queue until nftset_flush (the caller flushes before
 * it delivers an answer, or at the end of the loop pass) or until the
 * queue is full. A flush sends one transaction per set, every transaction
 * in one sendmmsg; a transaction destroys and adds the set's elements, so
 * each element gets exactly its new timeout also on kernels before 6.10,
 * which ignore the timeout of an element added twice. Kernels before 6.3
 * have no destroy: the first refusal switches to add only.
 *
 * Holds no config pointer: specs are copied into the slots. */
#include "config.h"
#include "nftset.h"
#include "nftset_msg.h"
#include "ctr.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RETRY_MS 10000
#define LOG_WINDOW_MS (3600 * 1000)
#define DD_WAYS 4
#define DD_BUCKETS 512
#define REPLY_MAX 16384

enum set_state { SET_UNKNOWN, SET_READY, SET_BAD };

struct slot {
	struct nftset_spec spec;
	bool used;
	uint16_t gen;
	enum set_state state;
	uint8_t keylen;	   /* 4 or 16 once READY */
	uint64_t retry_ms; /* look up again from then on (BAD: retry; READY: recheck) */
	/* the kernel's handles: others mean the set was made again */
	uint64_t handle, table_handle;
	size_t nq; /* addresses queued */
};

struct qel {
	uint8_t slot;
	struct nftset_elem e;
};

struct dd {
	uint64_t expire_ms; /* 0: free */
	uint8_t addr[16];
	uint8_t slot;
};

/* What the replies of one transaction said (by sequence number). */
struct txn {
	uint32_t seq;
	uint8_t slot;
	size_t first, n; /* its elements in ns->tmp */
	int err;	 /* first error, 0 */
	bool destroy_refused, acked;
};

struct nftset {
	struct ctr *ctr;
	struct log_once *once;
	struct nftset_io *io;
	uint64_t io_retry_ms;
	bool no_destroy;
	uint32_t seq;
	struct slot slots[NFTSET_MAX_SETS];
	uint8_t cfgmap[NFTSET_MAX_SETS];
	size_t n_cfg;
	struct qel q[NFTSET_QUEUE_MAX];
	size_t nq;
	struct nftset_elem tmp[NFTSET_QUEUE_MAX];
	struct dd *dd; /* DD_BUCKETS * DD_WAYS, at first use */
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	uint8_t *buf; /* transactions are built here */
	size_t cap;
	struct txn txn[NFTSET_MAX_SETS];
	size_t ntxn;
	struct nftset_reply look; /* lookup: the set's description */
	bool look_set;
	int look_err;
	uint64_t look_table;
	uint8_t reply[REPLY_MAX];
};

/* ---- set specs ---- */

static const struct {
	const char *name;
	uint8_t family;
} families[] = {{"inet", NFPROTO_INET}, {"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6}};

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NFTSET_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("_.-/", s[i])))
			return false;
	return true;
}

static int spec_one(const char *s, size_t len, struct nftset_spec *out, char *err, size_t errlen)
{
	const char *h1 = memchr(s, '#', len),
		   *h2 = h1 ? memchr(h1 + 1, '#', len - (size_t)(h1 + 1 - s)) : NULL;
	size_t fl, tl, sl;

	if (!h2) {
		snprintf(err, errlen, "'%.*s' is not FAMILY#TABLE#SET (as in inet#fw4#proxied4)",
			 (int)len, s);
		return -EINVAL;
	}
	fl = (size_t)(h1 - s);
	tl = (size_t)(h2 - h1 - 1);
	sl = len - (size_t)(h2 + 1 - s);
	memset(out, 0, sizeof(*out));
	out->family = 0xff;
	for (size_t i = 0; i < SL_ARRAY_LEN(families); i++)
		if (strlen(families[i].name) == fl && memcmp(s, families[i].name, fl) == 0)
			out->family = families[i].family;
	if (out->family == 0xff) {
		snprintf(err, errlen, "'%.*s': family must be inet, ip or ip6", (int)len, s);
		return -EINVAL;
	}
	if (!name_ok(h1 + 1, tl) || !name_ok(h2 + 1, sl)) {
		snprintf(err, errlen,
			 "'%.*s': table and set names are 1 to %d letters, digits, _ . - or /",
			 (int)len, s, NFTSET_NAME_MAX);
		return -EINVAL;
	}
	memcpy(out->table, h1 + 1, tl);
	memcpy(out->set, h2 + 1, sl);
	return 0;
}

int nftset_spec_parse(const char *text, struct nftset_spec *out, size_t max, char *err,
		      size_t errlen)
{
	size_t n = 0;
	const char *p = text;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (n == max) {
			snprintf(err, errlen, "at most %zu sets", max);
			return -EINVAL;
		}
		if (spec_one(p, len, &out[n], err, errlen) < 0)
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (nftset_spec_equal(&out[i], &out[n])) {
				snprintf(err, errlen, "'%.*s' is named twice", (int)len, p);
				return -EINVAL;
			}
		n++;
		if (!comma)
			return (int)n;
		p = comma + 1;
	}
}

void nftset_spec_name(const struct nftset_spec *s, char *buf, size_t len)
{
	const char *fam = "?";

	for (size_t i = 0; i < SL_ARRAY_LEN(families); i++)
		if (families[i].family == s->family)
			fam = families[i].name;
	snprintf(buf, len, "%s#%s#%s", fam, s->table, s->set);
}

bool nftset_spec_equal(const struct nftset_spec *a, const struct nftset_spec *b)
{
	return a->family == b->family && strcmp(a->table, b->table) == 0 &&
	       strcmp(a->set, b->set) == 0;
}

/* ---- life cycle ---- */

struct nftset *nftset_new(const struct nftset_env *env)
{
	struct nftset *ns = calloc(1, sizeof(*ns));

	if (!ns || sodium_init() < 0) {
		free(ns);
		return NULL;
	}
	ns->ctr = env->ctr;
	ns->once = env->once;
	ns->io = env->io;
	randombytes_buf(ns->hkey, sizeof(ns->hkey));
	randombytes_buf(&ns->seq, sizeof(ns->seq));
	return ns;
}

void nftset_free(struct nftset *ns)
{
	if (!ns)
		return;
	if (ns->io && ns->io->close)
		ns->io->close(ns->io->ctx);
	free(ns->dd);
	free(ns->buf);
	free(ns);
}

/* A message about a set, once for all workers per LOG_WINDOW_MS. */
static void set_log(struct nftset *ns, int level, const struct slot *s, const char *fmt, ...)
    SL_PRINTF(4, 5);

static void set_log(struct nftset *ns, int level, const struct slot *s, const char *fmt, ...)
{
	char name[3 * NFTSET_NAME_MAX], line[512];
	va_list ap;
	int n;

	nftset_spec_name(&s->spec, name, sizeof(name));
	n = snprintf(line, sizeof(line), "nftset %s: ", name);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (log_once_first(ns->once, line, LOG_WINDOW_MS))
		log_msg(level, "%s", line);
}

/* ---- dedup table ---- */

static struct dd *dd_bucket(struct nftset *ns, uint8_t slot, const uint8_t *addr)
{
	uint8_t k[17];
	uint64_t h;

	k[0] = slot;
	memcpy(k + 1, addr, 16);
	crypto_shorthash((uint8_t *)&h, k, sizeof(k), ns->hkey);
	return &ns->dd[(h % DD_BUCKETS) * DD_WAYS];
}

static struct dd *dd_find(struct nftset *ns, uint8_t slot, const uint8_t *addr)
{
	struct dd *b = dd_bucket(ns, slot, addr);

	for (int i = 0; i < DD_WAYS; i++)
		if (b[i].expire_ms && b[i].slot == slot && memcmp(b[i].addr, addr, 16) == 0)
			return &b[i];
	return NULL;
}

/* The entry for (slot, addr): its own, else a free one, else the one that runs out first. */
static struct dd *dd_take(struct nftset *ns, uint8_t slot, const uint8_t *addr)
{
	struct dd *b = dd_bucket(ns, slot, addr), *pick = &b[0];

	for (int i = 0; i < DD_WAYS; i++) {
		if (b[i].expire_ms && b[i].slot == slot && memcmp(b[i].addr, addr, 16) == 0)
			return &b[i];
		if (b[i].expire_ms < pick->expire_ms)
			pick = &b[i];
	}
	pick->expire_ms = 0; /* a new entry: nothing sent yet */
	pick->slot = slot;
	memcpy(pick->addr, addr, 16);
	return pick;
}

static void dd_forget(struct nftset *ns, uint8_t slot, const uint8_t *addr)
{
	struct dd *d = ns->dd ? dd_find(ns, slot, addr) : NULL;

	if (d)
		d->expire_ms = 0;
}

static void dd_forget_slot(struct nftset *ns, uint8_t slot)
{
	for (size_t i = 0; ns->dd && i < DD_BUCKETS * DD_WAYS; i++)
		if (ns->dd[i].slot == slot)
			ns->dd[i].expire_ms = 0;
}

/* ---- the kernel ---- */

static struct nftset_io *io(struct nftset *ns, uint64_t now_ms)
{
	if (ns->io || now_ms < ns->io_retry_ms)
		return ns->io;
	ns->io = nftset_nl_open();
	if (!ns->io) {
		char line[160];

		snprintf(line, sizeof(line), "nftset: cannot open a netlink socket to nftables: %s",
			 strerror(errno));
		if (log_once_first(ns->once, line, LOG_WINDOW_MS))
			log_err("%s", line);
		ns->io_retry_ms = now_ms + RETRY_MS;
	}
	return ns->io;
}

static const char *why(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such table or set";
	case -EPERM:
	case -EACCES:
		return "not permitted (sluice needs CAP_NET_ADMIN)";
	default:
		return strerror(-err);
	}
}

static void look_cb(void *arg, const struct nftset_reply *r)
{
	struct nftset *ns = arg;

	if (r->seq == ns->seq + 1 && r->is_table)
		ns->look_table = r->handle;
	if (r->seq != ns->seq)
		return;
	if (r->is_set) {
		ns->look = *r;
		ns->look_set = true;
	} else if (r->error < 0) {
		ns->look_err = r->error;
	}
}

static bool buf_ok(struct nftset *ns)
{
	/* a full queue in one set plus the headers of a transaction for every set */
	if (!ns->buf) {
		ns->cap = nftset_msg_batch_size(NFTSET_QUEUE_MAX) +
			  NFTSET_MAX_SETS * nftset_msg_batch_size(0);
		ns->buf = malloc(ns->cap);
	}
	return ns->buf != NULL;
}

/* Ask the kernel what the slot's set is, and decide whether sluice can use it. */
static void lookup(struct nftset *ns, struct slot *s, uint64_t now_ms)
{
	bool was_ready = s->state == SET_READY;
	struct iovec iov;
	int n, rc;

	s->state = SET_BAD;
	s->retry_ms = now_ms + RETRY_MS;
	if (!buf_ok(ns) || !io(ns, now_ms))
		return;
	/* Both requests in one datagram: the set, and its table's handle. */
	ns->seq += NFTSET_MSG_PER_BATCH;
	n = nftset_msg_getset(ns->buf, ns->cap, ns->seq, &s->spec);
	n += nftset_msg_gettable(ns->buf + n, ns->cap - (size_t)n, ns->seq + 1, &s->spec);
	iov = (struct iovec){ns->buf, (size_t)n};
	ns->look_set = false;
	ns->look_table = 0;
	ns->look_err = -ETIMEDOUT; /* no answer at all */
	rc = ns->io->xfer(ns->io->ctx, &iov, 1, ns->reply, sizeof(ns->reply));
	if (rc >= 0)
		rc = nftset_msg_replies(ns->reply, (size_t)rc, look_cb, ns);
	if (rc < 0 || !ns->look_set) {
		ctr_inc(ns->ctr, CTR_DNS_NFTSET_ERRORS);
		set_log(ns, LOG_WARNING, s,
			"%s; its addresses are not added until it is there "
			"(looked up again every %d s)",
			why(rc < 0 ? rc : ns->look_err), RETRY_MS / 1000);
		return;
	}
	if (ns->look.flags & (NFT_SET_MAP | NFT_SET_OBJECT)) {
		set_log(ns, LOG_ERR, s, "is a map; sluice adds addresses to plain sets");
	} else if (!((ns->look.key_type == NFTSET_TYPE_IPADDR && ns->look.key_len == 4) ||
		     (ns->look.key_type == NFTSET_TYPE_IP6ADDR && ns->look.key_len == 16))) {
		set_log(ns, LOG_ERR, s,
			"is not of type ipv4_addr or ipv6_addr (key type %u, %u "
			"bytes); sluice adds the addresses of A and AAAA answers",
			ns->look.key_type, ns->look.key_len);
	} else if (ns->look.flags & NFT_SET_INTERVAL) {
		set_log(ns, LOG_ERR, s,
			"has flags interval; sluice adds single addresses: use a "
			"set without it");
	} else if (!(ns->look.flags & NFT_SET_TIMEOUT)) {
		set_log(ns, LOG_ERR, s,
			"has no `flags timeout`, so its elements would never "
			"expire; add it to the set (sluice gives each address the answer's TTL)");
	} else {
		if (s->handle &&
		    (s->handle != ns->look.handle || s->table_handle != ns->look_table)) {
			/* A firewall reload made it again, empty: what dedup remembers is gone. */
			dd_forget_slot(ns, (uint8_t)(s - ns->slots));
			set_log(ns, LOG_INFO, s,
				"was made again (a firewall reload?): its addresses "
				"are sent again as answers come");
		}
		s->handle = ns->look.handle;
		s->table_handle = ns->look_table;
		s->state = SET_READY;
		s->keylen = (uint8_t)ns->look.key_len;
		if (was_ready)
			return;
		set_log(ns, LOG_INFO, s,
			"an %s set with timeouts: the %s addresses of answers go "
			"into it",
			s->keylen == 4 ? "ipv4_addr" : "ipv6_addr", s->keylen == 4 ? "A" : "AAAA");
		return;
	}
	ctr_inc(ns->ctr, CTR_DNS_NFTSET_ERRORS);
}

/* ---- configuration ---- */

int nftset_sync(struct nftset *ns, const struct nftset_spec *specs, size_t n)
{
	bool keep[NFTSET_MAX_SETS] = {false};
	int map[NFTSET_MAX_SETS];

	if (n > NFTSET_MAX_SETS)
		return -ENOSPC;
	nftset_flush(ns, sl_now_ms());
	for (size_t i = 0; i < n; i++) {
		map[i] = -1;
		for (size_t j = 0; j < NFTSET_MAX_SETS && map[i] < 0; j++)
			if (ns->slots[j].used && nftset_spec_equal(&ns->slots[j].spec, &specs[i])) {
				keep[j] = true;
				map[i] = (int)j;
			}
	}
	for (size_t j = 0; j < NFTSET_MAX_SETS; j++)
		if (ns->slots[j].used && !keep[j]) {
			ns->slots[j].used = false;
			ns->slots[j].gen++; /* refs held by waiting queries now dangle */
			dd_forget_slot(ns, (uint8_t)j);
		}
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		if (map[i] >= 0)
			continue;
		while (ns->slots[j].used) /* n <= NFTSET_MAX_SETS: there is a free one */
			j++;
		ns->slots[j] = (struct slot){
		    .spec = specs[i], .used = true, .gen = (uint16_t)(ns->slots[j].gen + 1)};
		map[i] = (int)j;
		/* a later spec equal to this one (configs name each set once) */
		for (size_t k = i + 1; k < n; k++)
			if (map[k] < 0 && nftset_spec_equal(&specs[k], &specs[i]))
				map[k] = (int)j;
	}
	for (size_t i = 0; i < n; i++)
		ns->cfgmap[i] = (uint8_t)map[i];
	ns->n_cfg = n;
	return 0;
}

uint32_t nftset_ref(const struct nftset *ns, size_t i)
{
	uint8_t j;

	if (i >= ns->n_cfg)
		return UINT32_MAX;
	j = ns->cfgmap[i];
	return (uint32_t)ns->slots[j].gen << 8 | j;
}

static struct slot *slot_of(struct nftset *ns, uint32_t ref)
{
	uint32_t j = ref & 0xff;

	if (j >= NFTSET_MAX_SETS || !ns->slots[j].used || ns->slots[j].gen != (uint16_t)(ref >> 8))
		return NULL;
	return &ns->slots[j];
}

void nftset_check(struct nftset *ns, uint64_t now_ms)
{
	for (size_t j = 0; j < NFTSET_MAX_SETS; j++)
		if (ns->slots[j].used)
			lookup(ns, &ns->slots[j], now_ms);
}

/* ---- adding ---- */

void nftset_add(struct nftset *ns, uint32_t ref, int af, const void *addr, uint32_t timeout_s,
		uint64_t now_ms)
{
	struct slot *s = slot_of(ns, ref);
	uint8_t key[16] = {0};
	uint64_t want;
	struct dd *d;
	struct qel *q;

	if (!s)
		return;
	if (!timeout_s) /* 0 would mean "no timeout" to the kernel */
		timeout_s = 1;
	want = (uint64_t)timeout_s * 1000;
	/* First use, a retry, or the periodic check that the set is the one we know. */
	if (s->state == SET_UNKNOWN || now_ms >= s->retry_ms)
		lookup(ns, s, now_ms);
	if (s->state != SET_READY) {
		ctr_inc(ns->ctr, CTR_DNS_NFTSET_ERRORS);
		return;
	}
	if ((af == AF_INET ? 4 : 16) != s->keylen)
		return; /* the other family's set */
	if (!ns->dd && !(ns->dd = calloc(DD_BUCKETS * DD_WAYS, sizeof(*ns->dd))))
		return;
	memcpy(key, addr, s->keylen);
	d = dd_take(ns, (uint8_t)(s - ns->slots), key);
	if (d->expire_ms > now_ms && d->expire_ms - now_ms >= want - want / 8) {
		ctr_inc(ns->ctr, CTR_DNS_NFTSET_DEDUPED);
		return;
	}
	d->expire_ms = now_ms + want;
	q = &ns->q[ns->nq++];
	q->slot = (uint8_t)(s - ns->slots);
	memcpy(q->e.addr, key, sizeof(key));
	q->e.timeout_s = timeout_s;
	s->nq++;
	if (ns->nq == NFTSET_QUEUE_MAX)
		nftset_flush(ns, now_ms);
}

bool nftset_pending(const struct nftset *ns)
{
	return ns->nq > 0;
}

static void txn_cb(void *arg, const struct nftset_reply *r)
{
	struct nftset *ns = arg;

	for (size_t i = 0; i < ns->ntxn; i++) {
		struct txn *t = &ns->txn[i];

		if (r->seq < t->seq || r->seq >= t->seq + NFTSET_MSG_PER_BATCH)
			continue;
		if (r->seq == t->seq + 1 && (r->error == -EINVAL || r->error == -EOPNOTSUPP))
			t->destroy_refused = true; /* before Linux 6.3: no DESTROYSETELEM */
		if (r->error < 0 && !t->err)
			t->err = r->error;
		if (r->seq == t->seq + 2 && r->error == 0)
			t->acked = true;
	}
}

/* Build and send one transaction per set with queued addresses; *retry
 * gets the slots to send again (the kernel refused destroy). */
static void send_txns(struct nftset *ns, const bool *only, bool *retry, uint64_t now_ms)
{
	struct iovec iov[NFTSET_MAX_SETS];
	size_t off = 0, ne = 0;
	int rc;

	ns->ntxn = 0;
	for (size_t j = 0; j < NFTSET_MAX_SETS; j++) {
		struct slot *s = &ns->slots[j];
		struct txn *t = &ns->txn[ns->ntxn];
		int n;

		if (!s->used || !s->nq || (only && !only[j]))
			continue;
		*t = (struct txn){.slot = (uint8_t)j, .first = ne};
		for (size_t i = 0; i < ns->nq; i++)
			if (ns->q[i].slot == j)
				ns->tmp[ne++] = ns->q[i].e;
		t->n = ne - t->first;
		ns->seq += NFTSET_MSG_PER_BATCH;
		t->seq = ns->seq;
		n = nftset_msg_add_batch(ns->buf + off, ns->cap - off, t->seq, &s->spec, s->keylen,
					 &ns->tmp[t->first], t->n, !ns->no_destroy);
		if (n < 0) /* cannot happen: cap covers a full queue in every set */
			continue;
		iov[ns->ntxn++] = (struct iovec){ns->buf + off, (size_t)n};
		off += (size_t)n;
	}
	if (!ns->ntxn)
		return;
	rc = ns->io->xfer(ns->io->ctx, iov, (unsigned)ns->ntxn, ns->reply, sizeof(ns->reply));
	ctr_add(ns->ctr, CTR_DNS_NFTSET_BATCHES, ns->ntxn);
	if (rc >= 0)
		rc = nftset_msg_replies(ns->reply, (size_t)rc, txn_cb, ns);
	for (size_t i = 0; i < ns->ntxn; i++) {
		struct txn *t = &ns->txn[i];
		struct slot *s = &ns->slots[t->slot];

		if (rc >= 0 && t->acked && !t->err) {
			ctr_add(ns->ctr, CTR_DNS_NFTSET_ADDED, t->n);
			s->nq = 0;
			continue;
		}
		if (t->destroy_refused && !ns->no_destroy) {
			ns->no_destroy = true;
			log_notice(
			    "nftset: this kernel has no DESTROYSETELEM (Linux < 6.3): addresses "
			    "are only added, and one already in a set keeps its timeout");
		}
		if (t->destroy_refused) {
			retry[t->slot] = true;
			continue;
		}
		ctr_add(ns->ctr, CTR_DNS_NFTSET_ERRORS, t->n);
		set_log(ns, LOG_WARNING, s, "adding %zu address%s failed: %s", t->n,
			t->n == 1 ? "" : "es",
			rc < 0 ? strerror(-rc) : why(t->err ? t->err : -ETIMEDOUT));
		for (size_t k = 0; k < t->n; k++)
			dd_forget(ns, t->slot, ns->tmp[t->first + k].addr);
		/* Look it up again at its next use (a firewall reload may have replaced it). */
		s->state = SET_BAD;
		s->retry_ms = now_ms;
		s->nq = 0;
	}
}

void nftset_flush(struct nftset *ns, uint64_t now_ms)
{
	bool retry[NFTSET_MAX_SETS] = {false}, again = false;

	if (!ns->nq)
		return;
	if (!io(ns, now_ms)) {
		ctr_add(ns->ctr, CTR_DNS_NFTSET_ERRORS, ns->nq);
		for (size_t i = 0; i < ns->nq; i++)
			dd_forget(ns, ns->q[i].slot, ns->q[i].e.addr);
	} else {
		send_txns(ns, NULL, retry, now_ms);
		for (size_t j = 0; j < NFTSET_MAX_SETS; j++)
			again |= retry[j];
		if (again) {
			bool none[NFTSET_MAX_SETS] = {false};

			send_txns(ns, retry, none, now_ms);
		}
	}
	for (size_t j = 0; j < NFTSET_MAX_SETS; j++)
		ns->slots[j].nq = 0;
	ns->nq = 0;
}
