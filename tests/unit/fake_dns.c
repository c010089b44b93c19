#include "config.h"
/* fake_dns.c - fake DNS servers for unit tests: builds queries and the
 * answers a fake gives (A, TC, SERVFAIL, ~3 KB TXT), and serves UDP and TCP
 * (length-prefixed, pipelined) from one poll() thread. Loopback only; not
 * a DNS implementation: one question, no compression beyond 0xc00c. */

#include "fake_dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FAKE_LEN(a) (sizeof(a) / sizeof((a)[0]))

size_t fake_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, bool edns)
{
	size_t o = 12;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1;
	b[11] = edns ? 1 : 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		b[o++] = (uint8_t)l;
		memcpy(b + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(qtype >> 8);
	b[o++] = (uint8_t)qtype;
	b[o++] = 0;
	b[o++] = 1;
	if (edns) {
		static const uint8_t opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};

		memcpy(b + o, opt, sizeof(opt));
		o += sizeof(opt);
	}
	return o;
}

/* Offset just past the (single) question, or 0. */
size_t fake_question_end(const uint8_t *m, size_t len)
{
	size_t o = 12;

	while (o < len && m[o] != 0) {
		if (m[o] > 63)
			return 0;
		o += (size_t)m[o] + 1;
	}
	o += 1 + 4;
	return o <= len ? o : 0;
}

/* The fake's answer to q: A 192.0.2.tag, TC, SERVFAIL or 11 TXT records (~3 KB). */
size_t fake_answer(const uint8_t *q, size_t qlen, enum fake_mode mode, uint8_t tag, uint8_t *out,
		   size_t cap)
{
	size_t qe = fake_question_end(q, qlen), o;

	if (!qe || qe + FAKE_BIG_RRS * 268 > cap)
		return 0;
	memcpy(out, q, qe);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x01) | (mode == FAKE_TC ? 0x02 : 0));
	out[3] = (uint8_t)(0x80 | (mode == FAKE_SERVFAIL ? 2 : 0));
	memset(out + 6, 0, 6);
	o = qe;
	if (mode == FAKE_LOWER)
		for (size_t i = 12; i < qe - 4; i++)
			if (out[i] >= 'A' && out[i] <= 'Z')
				out[i] |= 0x20;
	if (mode == FAKE_NOEDNS && q[11]) {
		out[3] = 0x81; /* FORMERR, and no OPT */
		return o;
	}
	if (mode == FAKE_ANSWER || mode == FAKE_SPOOF || mode == FAKE_LOWER ||
	    mode == FAKE_NOEDNS || mode == FAKE_MUTE_FIRST) {
		const uint8_t rr[16] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, tag};

		memcpy(out + o, rr, sizeof(rr));
		o += sizeof(rr);
		out[7] = 1;
	} else if (mode == FAKE_BIG) {
		for (int i = 0; i < FAKE_BIG_RRS; i++) {
			const uint8_t rr[13] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 1, 0, 255};

			memcpy(out + o, rr, sizeof(rr));
			o += sizeof(rr);
			memset(out + o, 'a' + i, 255);
			o += 255;
		}
		out[7] = FAKE_BIG_RRS;
	}
	return o;
}

/* ---- fake servers ---- */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

static void fake_note(struct fake *f, const uint8_t *q, size_t len, bool tcp, uint16_t port)
{
	pthread_mutex_lock(&fake_lock);
	if (tcp)
		f->tcp_queries++;
	else if (f->udp_queries++ < FAKE_PORTS)
		f->ports[f->udp_queries - 1] = port;
	f->last_len = FAKE_MIN(len, sizeof(f->last));
	memcpy(f->last, q, f->last_len);
	pthread_mutex_unlock(&fake_lock);
}

int fake_accepts(struct fake *f)
{
	int n;

	pthread_mutex_lock(&fake_lock);
	n = f->tcp_accepts;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

int fake_distinct_ports(struct fake *f, int n)
{
	static uint8_t seen[65536 / 8];
	int d = 0;

	memset(seen, 0, sizeof(seen));
	pthread_mutex_lock(&fake_lock);
	for (int i = 0; i < n && i < f->udp_queries && i < FAKE_PORTS; i++) {
		uint16_t p = f->ports[i];

		if (!(seen[p / 8] & (1u << (p % 8))))
			d++;
		seen[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	pthread_mutex_unlock(&fake_lock);
	return d;
}

/* FAKE_SPOOF: what an off-path attacker would race the server with. */
static void fake_spoofs(struct fake *f, const uint8_t *q, size_t n, struct sockaddr *to,
			socklen_t tl)
{
	uint8_t a[8192];
	size_t al = fake_answer(q, n, FAKE_ANSWER, 66, a, sizeof(a));
	size_t qe = fake_question_end(q, n);

	if (!al || qe < 14)
		return;
	a[al - 2] = 113;
	a[al - 3] = 0;
	a[al - 4] = 203;
	a[0] ^= 0x5a; /* another ID */
	(void)sendto(f->udp_fd, a, al, 0, to, tl);
	a[0] ^= 0x5a;
	a[13] ^= 0x01; /* the right ID, another name */
	(void)sendto(f->udp_fd, a, al, 0, to, tl);
}

int fake_count(struct fake *f, bool tcp)
{
	int n;

	pthread_mutex_lock(&fake_lock);
	n = tcp ? f->tcp_queries : f->udp_queries;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

static void fake_udp(struct fake *f)
{
	uint8_t q[4096], a[8192];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(f->udp_fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		size_t al;

		if (n < 0)
			return;
		fake_note(f, q, (size_t)n, false,
			  ntohs(from.ss_family == AF_INET ? ((struct sockaddr_in *)&from)->sin_port
							 : ((struct sockaddr_in6 *)&from)->sin6_port));
		if (f->udp_mode == FAKE_SPOOF)
			fake_spoofs(f, q, (size_t)n, (struct sockaddr *)&from, fl);
		al = fake_answer(q, (size_t)n, f->udp_mode, f->tag, a, sizeof(a));
		if (al)
			(void)sendto(f->udp_fd, a, al, 0, (struct sockaddr *)&from, fl);
	}
}

static void fake_conn_read(struct fake_conn *c)
{
	uint8_t a[8192];
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);

	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2) {
		size_t ml = (size_t)c->buf[0] << 8 | c->buf[1], al;

		if (c->len < 2 + ml)
			break;
		fake_note(c->f, c->buf + 2, ml, true, 0);
		al = c->mute ? 0
			     : fake_answer(c->buf + 2, ml, c->f->tcp_mode, c->f->tag, a + 2,
					   sizeof(a) - 2);
		if (al) {
			a[0] = (uint8_t)(al >> 8);
			a[1] = (uint8_t)al;
			(void)send(c->fd, a, al + 2, MSG_NOSIGNAL);
		}
		memmove(c->buf, c->buf + 2 + ml, c->len - 2 - ml);
		c->len -= 2 + ml;
	}
}

static void fake_accept(struct fake_set *s, struct fake *f)
{
	int fd = accept(f->tcp_fd, NULL, NULL);
	bool first;

	if (fd < 0)
		return;
	pthread_mutex_lock(&fake_lock);
	first = f->tcp_accepts++ == 0;
	pthread_mutex_unlock(&fake_lock);
	for (size_t i = 0; i < FAKE_MAX_CONNS; i++) {
		if (s->conns[i].fd < 0) {
			s->conns[i].fd = fd;
			s->conns[i].mute = first && f->tcp_mode == FAKE_MUTE_FIRST;
			s->conns[i].f = f;
			s->conns[i].len = 0;
			return;
		}
	}
	close(fd);
}

static void *fake_thread(void *arg)
{
	struct fake_set *s = arg;

	for (;;) {
		struct pollfd p[1 + 2 * FAKE_MAX + FAKE_MAX_CONNS];
		void *who[FAKE_LEN(p)];
		int kind[FAKE_LEN(p)];
		nfds_t n = 0;

		p[n] = (struct pollfd){.fd = s->stop[0], .events = POLLIN};
		kind[n++] = 0;
		for (size_t i = 0; i < s->n; i++) {
			struct fake *f = &s->f[i];

			if (f->udp_fd >= 0 && f->udp_mode != FAKE_SILENT) {
				p[n] = (struct pollfd){.fd = f->udp_fd, .events = POLLIN};
				who[n] = f;
				kind[n++] = 1;
			}
			if (f->tcp_fd >= 0 && f->tcp_mode != FAKE_SILENT) {
				p[n] = (struct pollfd){.fd = f->tcp_fd, .events = POLLIN};
				who[n] = f;
				kind[n++] = 2;
			}
		}
		for (size_t i = 0; i < FAKE_MAX_CONNS; i++) {
			if (s->conns[i].fd >= 0) {
				p[n] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
				who[n] = &s->conns[i];
				kind[n++] = 3;
			}
		}
		if (poll(p, n, 1000) < 0)
			continue;
		if (p[0].revents)
			return NULL;
		for (nfds_t i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (kind[i] == 1)
				fake_udp(who[i]);
			else if (kind[i] == 2)
				fake_accept(s, who[i]);
			else
				fake_conn_read(who[i]);
		}
	}
}

int fake_bind(int fd, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons(port);
		sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons(port);
		sl = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return -1;
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	return family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				 : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A fake on loopback: UDP (and TCP on the same port when tcp_mode is given). NULL: no such family.
 */
struct fake *fake_add(struct fake_set *s, int family, enum fake_mode udp_mode, int tcp_mode,
		      uint8_t tag)
{
	struct fake *f = &s->f[s->n];
	int sz = 4 << 20;

	if (s->n >= FAKE_MAX)
		return NULL;
	for (int tries = 0; tries < 50; tries++) {
		int port, one = 1;

		f->udp_fd = socket(family, SOCK_DGRAM, 0);
		if (f->udp_fd < 0)
			return NULL;
		port = fake_bind(f->udp_fd, family, 0);
		if (port < 0) {
			close(f->udp_fd);
			return NULL;
		}
		f->tcp_fd = -1;
		if (tcp_mode >= 0) {
			f->tcp_fd = socket(family, SOCK_STREAM, 0);
			setsockopt(f->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (fake_bind(f->tcp_fd, family, (uint16_t)port) < 0 ||
			    listen(f->tcp_fd, 16) < 0) {
				close(f->tcp_fd);
				close(f->udp_fd);
				continue;
			}
		}
		if (setsockopt(f->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(f->udp_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		f->family = family;
		f->udp_mode = udp_mode;
		f->tcp_mode = tcp_mode >= 0 ? (enum fake_mode)tcp_mode : FAKE_SILENT;
		f->tag = tag;
		f->port = (uint16_t)port;
		s->n++;
		return f;
	}
	return NULL;
}

int fake_start(struct fake_set *s)
{
	for (size_t i = 0; i < FAKE_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	if (pipe(s->stop) < 0)
		return -1;
	if (pthread_create(&s->th, NULL, fake_thread, s) != 0) {
		close(s->stop[0]);
		close(s->stop[1]);
		return -1;
	}
	s->running = true;
	return 0;
}

void fake_stop(struct fake_set *s)
{
	if (s->running) {
		(void)!write(s->stop[1], "x", 1);
		pthread_join(s->th, NULL);
		close(s->stop[0]);
		close(s->stop[1]);
		s->running = false;
	}
	for (size_t i = 0; i < FAKE_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	for (size_t i = 0; i < s->n; i++) {
		close(s->f[i].udp_fd);
		if (s->f[i].tcp_fd >= 0)
			close(s->f[i].tcp_fd);
	}
	s->n = 0;
}
