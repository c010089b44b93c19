/* fake_dns.h - fake DNS servers on loopback for unit tests: one thread
 * answers UDP and TCP queries on random ports, counting what it saw. */
#ifndef FAKE_DNS_H
#define FAKE_DNS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What a fake does with a query: answer A 192.0.2.tag, stay silent, answer with TC set
 * (no records), answer SERVFAIL, or answer with FAKE_BIG_RRS 255-byte TXT records (~3 KB);
 * FAKE_SPOOF first sends an answer with another ID and one with another question (both
 * carrying 203.0.113.66), then the real one; FAKE_LOWER answers with the question
 * lowercased (a server that does not echo 0x20 case); FAKE_NOEDNS answers FORMERR
 * without OPT to a query with OPT, and A otherwise (a pre-EDNS server); FAKE_MUTE_FIRST
 * (TCP) reads but never answers on the first connection it accepts (one a middlebox
 * stopped passing, with no RST), and answers on every later one. */
enum fake_mode {
	FAKE_ANSWER, FAKE_SILENT, FAKE_TC, FAKE_SERVFAIL, FAKE_BIG, FAKE_SPOOF, FAKE_LOWER,
	FAKE_NOEDNS, FAKE_MUTE_FIRST
};

/** UDP source ports a fake records (the first ones). */
#define FAKE_PORTS 1024

/** TXT records in a FAKE_BIG answer. */
#define FAKE_BIG_RRS 11

/** One fake server: a UDP socket and, optionally, a TCP listener on the same port. */
struct fake {
	int family;
	int udp_fd, tcp_fd;
	enum fake_mode udp_mode, tcp_mode;
	uint8_t tag;
	uint16_t port;
	int udp_queries, tcp_queries; /* under fake_lock */
	int tcp_accepts;
	uint16_t ports[FAKE_PORTS]; /* source port of each UDP query */
	uint8_t last[512];
	size_t last_len;
};

/** An accepted TCP connection and its unparsed input. */
struct fake_conn {
	int fd;
	bool mute; /* reads, never answers (FAKE_MUTE_FIRST) */
	struct fake *f;
	size_t len;
	uint8_t buf[70000];
};

/** Fakes in one set; accepted TCP connections served at once. */
#define FAKE_MAX 4
#define FAKE_MAX_CONNS 8

/** Fakes served by one thread (zero it, fake_add(), fake_start(), fake_stop()). */
struct fake_set {
	struct fake f[FAKE_MAX];
	size_t n;
	int stop[2];
	pthread_t th;
	bool running;
	struct fake_conn conns[FAKE_MAX_CONNS];
};

/** Build a query (RD, one question, class IN, optional EDNS OPT of 4096) into b (>= 300 bytes). */
size_t fake_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, bool edns);

/** Offset just past the single question of m, or 0 when it does not parse. */
size_t fake_question_end(const uint8_t *m, size_t len);

/** The answer a fake in mode gives to q (same ID and question); its length, 0 if cap is short. */
size_t fake_answer(const uint8_t *q, size_t qlen, enum fake_mode mode, uint8_t tag, uint8_t *out,
		   size_t cap);

/**
 * Add a fake on the family's loopback address: UDP in udp_mode and, when
 * tcp_mode >= 0, TCP in that mode on the same port. Silent fakes are never
 * read. NULL when the family has no loopback or no port pair is free.
 */
struct fake *fake_add(struct fake_set *s, int family, enum fake_mode udp_mode, int tcp_mode,
		      uint8_t tag);

/** Start the thread that serves every fake of s; 0 or -1. */
int fake_start(struct fake_set *s);

/** Stop the thread (if started) and close every socket; s is empty again. */
void fake_stop(struct fake_set *s);

/** Queries f has received over TCP (tcp) or UDP so far. */
int fake_count(struct fake *f, bool tcp);

/** TCP connections f has accepted so far. */
int fake_accepts(struct fake *f);

/** Distinct source ports among the first n UDP queries f received. */
int fake_distinct_ports(struct fake *f, int n);

/** Bind fd to the family's loopback address and port (0: any); the port bound or -1. */
int fake_bind(int fd, int family, uint16_t port);

#endif
