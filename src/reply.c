/* reply.c - reply sockets. Owns the per-worker cache of unconnected
 * transparent sockets, the per-worker raw sockets and the process-wide
 * bindmap; a flow owns its connected socket once this file hands it out.
 *
 * Never steal a local service's port: the first time sluice binds an
 * address:port it does so without SO_REUSEADDR, so any other socket on it
 * (a local dnsmasq on 0.0.0.0:53, with or without SO_REUSEADDR) makes the
 * bind fail. Only then does it set SO_REUSEADDR, so its own later sockets
 * (several flows to one server) can share the address with each other. */
#include "config.h"
#include "reply.h"
#include "gso.h"

#include <event2/event.h>

#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BINDMAP_BUCKETS 1024
#define QBATCH 32   /* one-shot replies sent with one sendmmsg */
#define QSLOT 2048  /* larger replies go out at once */
#define BUSY_SLOTS 64
#define BUSY_MS 5000

struct bind_node {
	uint8_t key[20];
	uint8_t klen;
	unsigned count;
	struct bind_node *next;
};

struct bindmap {
	pthread_mutex_t lock;
	struct bind_node *b[BINDMAP_BUCKETS];
};

struct cached {
	struct addr local;
	int fd;
	uint64_t used_ms;
	struct cached *prev, *next; /* LRU: head is the most recent */
};

struct busy {
	struct addr local;
	uint64_t until_ms;
};

struct reply {
	struct bindmap *bm;
	struct ctr *ctr;
	struct cached *slots;
	unsigned cap, used;
	struct cached *head, *tail;
	struct busy busy[BUSY_SLOTS];
	unsigned busy_next;
	int raw4, raw6;
	uint8_t *rawbuf; /* IP + UDP headers + the largest payload */
	/* Queued one-shot replies, all on q_fd; flushed when full, when another
	 * socket is needed, or at the end of the loop pass (q_ev). */
	int q_fd;
	unsigned q_n;
	struct mmsghdr q_msgs[QBATCH];
	struct iovec q_iov[QBATCH];
	struct addr q_to[QBATCH];
	uint8_t *q_buf;
	struct event *q_ev;
};

/* Send what is queued. Replies the socket would not take are counted lost. */
static void q_flush(struct reply *r)
{
	unsigned done = 0;

	while (done < r->q_n) {
		int n = sendmmsg(r->q_fd, r->q_msgs + done, r->q_n - done, MSG_DONTWAIT);

		if (n <= 0) {
			ctr_add(r->ctr, CTR_REPLY_ERRORS, r->q_n - done);
			break;
		}
		ctr_add(r->ctr, CTR_REPLY_SENT, (uint64_t)n);
		done += (unsigned)n;
	}
	r->q_n = 0;
}

static void q_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	q_flush(arg);
}

static int q_add(struct reply *r, int fd, const struct addr *to, const void *buf, size_t len)
{
	unsigned i;

	if (r->q_n && r->q_fd != fd)
		q_flush(r);
	i = r->q_n;
	memcpy(r->q_buf + (size_t)i * QSLOT, buf, len);
	r->q_to[i] = *to;
	r->q_iov[i] = (struct iovec){r->q_buf + (size_t)i * QSLOT, len};
	r->q_msgs[i].msg_hdr = (struct msghdr){.msg_name = &r->q_to[i].u.sa,
					       .msg_namelen = r->q_to[i].len,
					       .msg_iov = &r->q_iov[i],
					       .msg_iovlen = 1};
	r->q_fd = fd;
	if (r->q_n++ == 0)
		event_active(r->q_ev, EV_TIMEOUT, 0);
	if (r->q_n == QBATCH)
		q_flush(r);
	return 0;
}

struct bindmap *bindmap_new(void)
{
	struct bindmap *bm = calloc(1, sizeof(*bm));

	if (bm && pthread_mutex_init(&bm->lock, NULL) != 0) {
		free(bm);
		return NULL;
	}
	return bm;
}

void bindmap_free(struct bindmap *bm)
{
	if (!bm)
		return;
	for (size_t i = 0; i < BINDMAP_BUCKETS; i++)
		while (bm->b[i]) {
			struct bind_node *n = bm->b[i];
			bm->b[i] = n->next;
			free(n);
		}
	pthread_mutex_destroy(&bm->lock);
	free(bm);
}

static struct bind_node **bm_slot(struct bindmap *bm, const uint8_t *k, size_t kl)
{
	uint32_t h = 2166136261u;
	struct bind_node **pp;

	for (size_t i = 0; i < kl; i++)
		h = (h ^ k[i]) * 16777619u;
	pp = &bm->b[h % BINDMAP_BUCKETS];
	while (*pp && ((*pp)->klen != kl || memcmp((*pp)->key, k, kl)))
		pp = &(*pp)->next;
	return pp;
}

/* Count one socket more or fewer at key k; the caller holds bm->lock. */
static int bm_note_locked(struct bindmap *bm, const uint8_t *k, size_t kl, int delta)
{
	struct bind_node **pp = bm_slot(bm, k, kl), *n;

	if (delta > 0 && *pp) {
		(*pp)->count++;
	} else if (delta > 0) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		memcpy(n->key, k, kl);
		n->klen = (uint8_t)kl;
		n->count = 1;
		*pp = n;
	} else if (*pp && --(*pp)->count == 0) {
		n = *pp;
		*pp = n->next;
		free(n);
	}
	return 0;
}

static int set_transparent(int fd, int family)
{
	int on = 1;

	if (family == AF_INET)
		return setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof(on));
	if (setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		return -1;
	return setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof(on));
}

/* Bind a transparent socket to local; see the comment at the top. */
static int bind_local(struct bindmap *bm, const struct addr *local)
{
	uint8_t k[20];
	size_t kl = addr_key(local, true, k);
	bool ours;
	int fd, on = 1, err = 0;

	fd = socket(addr_family(local), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (set_transparent(fd, addr_family(local)) < 0) {
		err = -errno;
		goto fail;
	}
	pthread_mutex_lock(&bm->lock);
	ours = *bm_slot(bm, k, kl) != NULL;
	if (ours && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		err = -errno;
	else if (bind(fd, &local->u.sa, local->len) < 0)
		err = -errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		err = -errno;
	else
		err = bm_note_locked(bm, k, kl, 1);
	pthread_mutex_unlock(&bm->lock);
	if (err)
		goto fail;
	return fd;
fail:
	close(fd);
	return err;
}

static void unbind_local(struct bindmap *bm, int fd, const struct addr *local)
{
	uint8_t k[20];
	size_t kl = addr_key(local, true, k);

	/* Close under the lock so no other worker's probe sees the port held
	 * by a socket the table no longer counts. */
	pthread_mutex_lock(&bm->lock);
	close(fd);
	bm_note_locked(bm, k, kl, -1);
	pthread_mutex_unlock(&bm->lock);
}

struct reply *reply_new(struct event_base *base, struct bindmap *bm, struct ctr *ctr,
			unsigned cache_size)
{
	struct reply *r = calloc(1, sizeof(*r));
	int on = 1;

	if (!r)
		return NULL;
	r->q_buf = malloc((size_t)QBATCH * QSLOT);
	r->q_ev = base ? event_new(base, -1, 0, q_flush_cb, r) : NULL;
	r->bm = bm;
	r->ctr = ctr;
	r->cap = cache_size ? cache_size : 1;
	r->slots = calloc(r->cap, sizeof(*r->slots));
	for (unsigned i = 0; r->slots && i < r->cap; i++)
		r->slots[i].fd = -1;
	/* IPPROTO_RAW sends only (it receives nothing) and implies a header we build. */
	r->raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	r->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	if (r->raw6 >= 0)
		setsockopt(r->raw6, SOL_IPV6, IPV6_HDRINCL, &on, sizeof(on));
	if (!r->slots || !r->q_buf || (base && !r->q_ev)) {
		reply_free(r);
		return NULL;
	}
	return r;
}

static void lru_unlink(struct reply *r, struct cached *c)
{
	*(c->prev ? &c->prev->next : &r->head) = c->next;
	*(c->next ? &c->next->prev : &r->tail) = c->prev;
	c->prev = c->next = NULL;
}

static void lru_push(struct reply *r, struct cached *c)
{
	c->prev = NULL;
	c->next = r->head;
	*(r->head ? &r->head->prev : &r->tail) = c;
	r->head = c;
}

static void cached_close(struct reply *r, struct cached *c)
{
	if (r->q_n && r->q_fd == c->fd)
		q_flush(r);
	lru_unlink(r, c);
	unbind_local(r->bm, c->fd, &c->local);
	c->fd = -1;
	r->used--;
}

void reply_free(struct reply *r)
{
	if (!r)
		return;
	if (r->q_n)
		q_flush(r);
	if (r->q_ev)
		event_free(r->q_ev);
	free(r->q_buf);
	while (r->head)
		cached_close(r, r->head);
	if (r->raw4 >= 0)
		close(r->raw4);
	if (r->raw6 >= 0)
		close(r->raw6);
	free(r->slots);
	free(r->rawbuf);
	free(r);
}

int reply_open_connected(struct reply *r, const struct addr *local, const struct addr *peer)
{
	int fd = bind_local(r->bm, local);

	if (fd == -EACCES)
		fd = -EADDRINUSE; /* not allowed to bind it: answer raw as well */
	if (fd == -EADDRINUSE)
		ctr_inc(r->ctr, CTR_REPLY_BIND_BUSY);
	if (fd < 0)
		return fd;
	if (connect(fd, &peer->u.sa, peer->len) < 0) {
		int err = -errno;

		unbind_local(r->bm, fd, local);
		return err;
	}
	sl_rcvbuf(fd, SL_RELAY_RCVBUF); /* a flow's datagrams from its client */
	gso_rx_enable(fd);		 /* ... a run of them at a time (split in worker.c) */
	ctr_inc(r->ctr, CTR_REPLY_SOCK_OPEN);
	return fd;
}

void reply_close_connected(struct reply *r, int fd, const struct addr *local)
{
	unbind_local(r->bm, fd, local);
}

static bool is_busy(struct reply *r, const struct addr *local, uint64_t now)
{
	for (unsigned i = 0; i < BUSY_SLOTS; i++)
		if (r->busy[i].until_ms > now && addr_equal(&r->busy[i].local, local))
			return true;
	return false;
}

static void mark_busy(struct reply *r, const struct addr *local, uint64_t now)
{
	r->busy[r->busy_next].local = *local;
	r->busy[r->busy_next].until_ms = now + BUSY_MS;
	r->busy_next = (r->busy_next + 1) % BUSY_SLOTS;
}

/* The cached socket bound to local, opening one (evicting the LRU) if needed. */
static int cached_fd(struct reply *r, const struct addr *local, uint64_t now)
{
	struct cached *c;
	int fd;

	for (c = r->head; c; c = c->next)
		if (addr_equal(&c->local, local)) {
			if (c != r->head) {
				lru_unlink(r, c);
				lru_push(r, c);
			}
			c->used_ms = now;
			return c->fd;
		}
	if (is_busy(r, local, now))
		return -EADDRINUSE;
	fd = bind_local(r->bm, local);
	if (fd == -EACCES)
		fd = -EADDRINUSE; /* not allowed to bind it: answer raw as well */
	if (fd < 0) {
		if (fd == -EADDRINUSE) {
			ctr_inc(r->ctr, CTR_REPLY_BIND_BUSY);
			mark_busy(r, local, now);
		}
		return fd;
	}
	ctr_inc(r->ctr, CTR_REPLY_SOCK_OPEN);
	if (r->used == r->cap)
		cached_close(r, r->tail);
	for (c = r->slots; c->fd >= 0; c++)
		; /* used < cap here, so a free slot exists */
	c->local = *local;
	c->fd = fd;
	c->used_ms = now;
	r->used++;
	lru_push(r, c);
	return fd;
}

int reply_sendto(struct reply *r, const struct addr *from, const struct addr *to,
		 const void *buf, size_t len)
{
	uint64_t now = sl_now_ms();
	int fd = cached_fd(r, from, now);

	if (fd == -EADDRINUSE)
		return reply_raw(r, from, to, buf, len);
	if (fd < 0) {
		ctr_inc(r->ctr, CTR_REPLY_ERRORS);
		return fd;
	}
	return reply_send_fd(r, fd, to, buf, len);
}

int reply_send_fd(struct reply *r, int fd, const struct addr *to, const void *buf, size_t len)
{
	if (len <= QSLOT && r->q_ev)
		return q_add(r, fd, to, buf, len);
	if (r->q_n && r->q_fd == fd)
		q_flush(r); /* keep this client's replies in order */
	if (sendto(fd, buf, len, MSG_DONTWAIT, &to->u.sa, to->len) < 0) {
		ctr_inc(r->ctr, CTR_REPLY_ERRORS);
		return -errno;
	}
	ctr_inc(r->ctr, CTR_REPLY_SENT);
	return 0;
}

void reply_flush(struct reply *r)
{
	if (r && r->q_n)
		q_flush(r);
}

void reply_sweep(struct reply *r, uint64_t now_ms, uint64_t idle_ms)
{
	while (r->tail && r->tail->used_ms + idle_ms <= now_ms)
		cached_close(r, r->tail);
}

#define RAWBUF_LEN (SL_MAX_DGRAM + 64)

int reply_raw(struct reply *r, const struct addr *from, const struct addr *to, const void *buf,
	      size_t len)
{
	int fd = addr_family(to) == AF_INET ? r->raw4 : r->raw6;
	struct addr dst = *to;
	ssize_t n;

	if (!r->rawbuf)
		r->rawbuf = malloc(RAWBUF_LEN);
	if (fd < 0 || !r->rawbuf) {
		ctr_inc(r->ctr, CTR_REPLY_ERRORS);
		return fd < 0 ? -EPERM : -ENOMEM;
	}
	n = reply_build_udp(from, to, buf, len, r->rawbuf, RAWBUF_LEN);
	if (n < 0) {
		ctr_inc(r->ctr, CTR_REPLY_ERRORS);
		return (int)n;
	}
	addr_set_port(&dst, 0); /* raw sockets take the protocol there, not a port */
	if (sendto(fd, r->rawbuf, (size_t)n, 0, &dst.u.sa, dst.len) < 0) {
		ctr_inc(r->ctr, CTR_REPLY_ERRORS);
		return -errno;
	}
	ctr_inc(r->ctr, CTR_REPLY_RAW);
	ctr_inc(r->ctr, CTR_REPLY_SENT);
	return 0;
}

int reply_port_unreachable(struct reply *r, const struct addr *client, const struct addr *dst,
			   const void *payload, size_t len)
{
	int fd = addr_family(client) == AF_INET ? r->raw4 : r->raw6;
	struct addr to = *client;
	ssize_t n;

	if (!r->rawbuf)
		r->rawbuf = malloc(RAWBUF_LEN);
	if (fd < 0 || !r->rawbuf)
		return fd < 0 ? -EPERM : -ENOMEM;
	n = reply_build_unreach(client, dst, payload, len, r->rawbuf, RAWBUF_LEN);
	if (n < 0)
		return (int)n;
	addr_set_port(&to, 0);
	if (sendto(fd, r->rawbuf, (size_t)n, 0, &to.u.sa, to.len) < 0)
		return -errno;
	return 0;
}
