/* relay.c - the relay service: each flow gets an upstream socket marked
 * with the config's mark and connected to the flow's original destination;
 * the client's datagrams go up it and its answers come back to the client
 * from the original destination (through the flow's connected reply
 * socket). The kernel filters what reaches a connected socket, so only the
 * server's answers are relayed. */
#include "config.h"
#include "relay.h"
#include "engine.h"
#include "gso.h"
#include "listen.h"
#include "ownsock.h"
#include "reply.h"
#include "flow.h"
#include "svc.h"
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

struct relay_leg {
	struct worker *w;
	struct flow *f;
	int fd;
	struct event *ev;
	relay_filter_fn filter;
	void *filter_arg;
	struct ownsock *own;	/* where its local address is registered, for loop checks */
	struct ownsock_tok tok;
	struct addr dst;	/* the peer, remembered with the port once the leg closes */
	bool gso_off;		/* the kernel refused GSO sends on fd (see gso_send) */
};

/* Sockets a leg may set aside while the kernel keeps offering ports of
 * legs closed lately (see leg_socket). */
#define LEG_PORT_TRIES 8

void relay_leg_set_filter(struct relay_leg *l, relay_filter_fn fn, void *arg)
{
	l->filter = fn;
	l->filter_arg = arg;
}

int relay_upstream_open(const struct addr *dst, uint32_t mark)
{
	int fd = socket(addr_family(dst), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	/* The mark keeps the ruleset from intercepting sluice's own traffic. */
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto fail;
	sl_rcvbuf(fd, SL_RELAY_RCVBUF);
	gso_rx_enable(fd);
	if (connect(fd, &dst->u.sa, dst->len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static void leg_reply(struct worker *w, struct flow *f, const struct iovec *iov, unsigned n)
{
	if (!n)
		return;
	worker_flow_touch(w, f);
	worker_flow_reply_many(w, f, iov, n);
}

/* The peer's datagrams (runs GRO coalesced split again) go back to the
 * client in one batch per read, in order, those the leg's filter keeps. */
static void leg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_leg *l = arg;
	struct worker *w = l->w;
	struct flow *f = l->f;
	struct iovec out[256]; /* recv-batch is at most 256 */

	worker_flow_hold(f);
	for (int round = 0; round < 4 && !f->dead; round++) {
		int n = listen_recv_batch(w, fd);
		unsigned k = 0;

		for (int i = 0; i < n && !f->dead; i++) {
			struct mmsghdr *mm = &w->msgs[i];
			struct gso_rx rx;

			if (!worker_read_start(w, mm, &rx, CTR_RELAY_RX_ERRORS))
				continue;
			while (!f->dead && gso_rx_next(&rx, &out[k])) {
				ctr_inc(&w->ctr, CTR_RELAY_RX);
				if (l->filter && !l->filter(w, f, l->filter_arg, out[k].iov_base,
							    out[k].iov_len))
					continue;
				if (++k == SL_ARRAY_LEN(out)) { /* GRO runs fill it: in parts */
					leg_reply(w, f, out, k);
					k = 0;
				}
			}
		}
		leg_reply(w, f, out, k);
		if ((unsigned)n < w->batch)
			break;
	}
	worker_flow_release(w, f);
}

/*
 * l's upstream socket, registered in own (a datagram from it that comes back
 * in through the listener is sluice's own traffic looping, see worker.c).
 * The kernel may hand it the port of a leg to the same peer closed a moment
 * ago (an evicted flow's), where the peer still sends: late answers, the
 * rest of a stream, meant for another client. Such a socket is set aside
 * (so the kernel picks another port) and a new one taken, a few times.
 */
static int leg_socket(struct worker *w, struct relay_leg *l, struct ownsock *own, uint32_t mark)
{
	int held[LEG_PORT_TRIES], n = 0, fd;
	uint64_t now = sl_now_ms();

	for (;;) {
		fd = relay_upstream_open(&l->dst, mark);
		if (fd < 0 || !own)
			break;
		if (ownsock_add(own, fd, IPPROTO_UDP, &l->tok) < 0) {
			close(fd);
			fd = -EIO;
			break;
		}
		if (n == LEG_PORT_TRIES || !ownsock_recent(own, &l->tok, &l->dst, now))
			break;
		ownsock_del(own, &l->tok);
		held[n++] = fd;
		ctr_inc(&w->ctr, CTR_RELAY_PORT_RETRIED);
	}
	while (n > 0)
		close(held[--n]);
	return fd;
}

struct relay_leg *relay_leg_open(struct worker *w, struct flow *f, const struct addr *dst,
				 uint32_t mark)
{
	struct relay_leg *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->w = w;
	l->f = f;
	l->dst = *dst;
	l->own = w->eng ? w->eng->own : NULL;
	l->fd = leg_socket(w, l, l->own, mark);
	if (l->fd < 0)
		goto fail;
	l->ev = event_new(w->base, l->fd, EV_READ | EV_PERSIST, leg_cb, l);
	if (!l->ev || event_add(l->ev, NULL) < 0)
		goto fail;
	return l;
fail:
	relay_leg_close(l);
	return NULL;
}

int relay_leg_send(struct worker *w, struct relay_leg *l, const uint8_t *data, size_t len)
{
	if (send(l->fd, data, len, MSG_DONTWAIT) < 0) {
		ctr_inc(&w->ctr, CTR_RELAY_TX_ERRORS);
		return -errno;
	}
	ctr_inc(&w->ctr, CTR_RELAY_TX);
	return 0;
}

void relay_leg_send_many(struct worker *w, struct relay_leg *l, const struct iovec *iov,
			 unsigned n)
{
	unsigned done = gso_send(l->fd, iov, n, &l->gso_off);

	ctr_add(&w->ctr, CTR_RELAY_TX, done);
	ctr_add(&w->ctr, CTR_RELAY_TX_ERRORS, n - done);
}

void relay_leg_close(struct relay_leg *l)
{
	if (!l)
		return;
	ownsock_retire(l->own, &l->tok, &l->dst, sl_now_ms());
	if (l->ev)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static int relay_flow_open(struct worker *w, struct flow *f)
{
	f->svc_data = relay_leg_open(w, f, &f->origdst, w->cfg->mark);
	return f->svc_data ? 0 : -1;
}

static void relay_input(struct worker *w, struct flow *f, const uint8_t *data, size_t len)
{
	relay_leg_send(w, f->svc_data, data, len);
}

static void relay_input_many(struct worker *w, struct flow *f, const struct iovec *iov,
			     unsigned n)
{
	relay_leg_send_many(w, f->svc_data, iov, n);
}

static void relay_flow_close(struct worker *w, struct flow *f)
{
	relay_leg_close(f->svc_data);
	f->svc_data = NULL;
}

const struct svc svc_relay = {
	.id = SVC_RELAY,
	.connected_reply = true,
	.flow_open = relay_flow_open,
	.input = relay_input,
	.input_many = relay_input_many,
	.flow_close = relay_flow_close,
};
