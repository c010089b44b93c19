/* ntp.h - NTP packet logic for the ntp service: classify what a client sent,
 * check an upstream answer before relaying it, build a local answer from the
 * gateway's clock, and a per-client token-bucket rate limit. No sockets, no
 * event loop: the service (src/svc_ntp.c or similar) owns those.
 *
 * Wire format (RFC 5905, all fields big-endian):
 *
 *   0      LI(2) VN(3) Mode(3) | Stratum | Poll | Precision
 *   4      Root Delay      (NTP short, 16.16 s)
 *   8      Root Dispersion (NTP short, 16.16 s)
 *   12     Reference ID
 *   16     Reference Timestamp (NTP 32.32)
 *   24     Origin Timestamp
 *   32     Receive Timestamp
 *   40     Transmit Timestamp
 *   48     [extension fields (v4, RFC 7822)] [key id + MAC]
 */
#ifndef NTP_H
#define NTP_H

#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include "ctr.h"
#include "sluice.h"

/** Length of the fixed NTP header; nothing shorter is a time packet. */
#define NTP_HEADER_LEN 48
/** Longest client request accepted: header + 1024 bytes of extension
 * fields (chrony's bound; NTS requests fit) + a 24-byte NTPv4 MAC. */
#define NTP_MAX_LEN (NTP_HEADER_LEN + 1024 + 24)
/** Length of the replies ntp_build_reply() writes. */
#define NTP_REPLY_LEN NTP_HEADER_LEN
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch). */
#define NTP_UNIX_OFFSET 2208988800u
/** Stratum used by ntp_clock_read() when none is configured: the kernel only
 * says "synchronised", not to what; pool servers are mostly stratum 2. */
#define NTP_DEFAULT_STRATUM 3
/** Reference ID sent when the gateway does not know its source: "LOCL". */
#define NTP_REFID_LOCL 0x4c4f434cu

/* NTP_VERDICT_LIST, X(ID, "counter_name", "help"), is in ctr.h: one
 * counter per verdict, in verdict order. */
#define NTP_VERDICT_ENUM(id, name, help) NTP_##id,
/** What ntp_classify() decided about one datagram (NTP_CLIENT_REQUEST...). */
enum ntp_verdict { NTP_VERDICT_LIST(NTP_VERDICT_ENUM) NTP_VERDICT_COUNT };
#undef NTP_VERDICT_ENUM

/**
 * Classify a datagram sent to port 123. Checks, in this order:
 * empty -> DROP_SHORT; mode 6 -> DROP_CONTROL and mode 7 -> DROP_PRIVATE at
 * any length and version (a real ntpq request is 12 bytes, a monlist probe
 * 8, and they are the amplification vectors to count); shorter than 48 ->
 * DROP_SHORT; version 0 or > 4 -> DROP_BAD_VERSION; mode != 3 ->
 * DROP_NOT_CLIENT; then what follows the header: length a multiple of 4 and
 * at most NTP_MAX_LEN; v1-3: at most a 72-byte MAC (MS-SNTP's is 72); v4:
 * a crypto-NAK, or a chain of RFC 7822 extension fields (>= 16 bytes, length
 * a multiple of 4) ended by nothing or a 20..24-byte MAC, as chrony parses it;
 * anything else -> DROP_MALFORMED.
 * A well-formed request that carries a MAC (any v1-3 trailer but a bare
 * crypto-NAK; a v4 20..24-byte MAC) or any extension field (NTS, RFC 8915,
 * or a type we do not know: the client expects that server either way) is
 * NTP_CLIENT_AUTHENTICATED: only the server the client asked can answer it.
 * A bare request (or one with a crypto-NAK, which has no key) is
 * NTP_CLIENT_REQUEST. pkt may be NULL when len is 0.
 */
enum ntp_verdict ntp_classify(const uint8_t *pkt, size_t len);

/** Counter name of a verdict ("ntp_drop_control"...); "ntp_unknown" if out of range. */
const char *ntp_verdict_name(enum ntp_verdict v);

/** One-line help text of a verdict's counter. */
const char *ntp_verdict_help(enum ntp_verdict v);

/**
 * True when pkt is an acceptable answer to the client request req: both at
 * least 48 bytes, pkt no longer than NTP_MAX_LEN, version 1..4, mode 4, and
 * its origin timestamp equal to req's transmit timestamp (RFC 5905 test 2,
 * which stops an off-path host answering in the server's name). Kiss-o'-death
 * answers pass: the client must see them. When the client sent a zero
 * transmit timestamp the check proves nothing; the connected upstream socket
 * (random port) is then the only defence.
 */
bool ntp_is_server_reply(const uint8_t *pkt, size_t len, const uint8_t *req, size_t reqlen);

/**
 * True when pkt looks like a server (mode 4) packet: 48..NTP_MAX_LEN bytes,
 * version 1..4. The check for answers to NTP_CLIENT_AUTHENTICATED requests,
 * relayed unmodified from the server the client asked: the client checks
 * them itself (MAC or NTS authenticator, origin timestamp; in interleaved
 * mode the origin is not the request's transmit timestamp).
 */
bool ntp_is_server_packet(const uint8_t *pkt, size_t len);

/** The gateway's clock as a local answer describes it. */
struct ntp_clock {
	int synced;		/* 0: refuse to answer */
	int stratum;		/* the gateway's: source stratum + 1 (1..15) */
	double root_delay;	/* seconds */
	double root_dispersion; /* seconds */
	uint32_t ref_id;	/* host order; NTP_REFID_LOCL when unknown */
	uint64_t ref_time_ntp;	/* NTP 32.32 timestamp of the last clock update */
	int leap;		/* LI: 0 none, 1 insert, 2 delete, 3 unsynchronised */
	int precision;		/* log2 seconds, e.g. -19 for 1 us */
};

/**
 * Read the kernel clock state (ntp_adjtime(2) with modes 0: reads only, no
 * privilege needed) into c, through ntp_clock_from_timex(). configured_stratum
 * 0 means NTP_DEFAULT_STRATUM. Returns 0, -EINVAL for a stratum above 15, or
 * -errno when the call fails.
 */
int ntp_clock_read(struct ntp_clock *c, int configured_stratum);

/**
 * Turn an ntp_adjtime() result into c (pure, so tests inject clock states).
 * Unsynchronised when rc is TIME_ERROR or negative, or status has STA_UNSYNC
 * or STA_CLOCKERR; leap from STA_INS / STA_DEL (3 when unsynchronised); root
 * dispersion = maxerror (the kernel's bound on the error; root delay is not
 * known, so 0); precision from tx->precision (us); ref time = tx->time (the
 * time of the read: never later than a transmit time taken after it).
 * Returns 0 or -EINVAL (stratum above 15, NULL arguments).
 */
int ntp_clock_from_timex(const struct timex *tx, int rc, int configured_stratum,
			 struct ntp_clock *c);

/**
 * Build a 48-byte server (mode 4) answer to the client request req into out:
 * LI from the clock, VN and poll copied from the request, stratum, precision,
 * root delay/dispersion (NTP short, rounded up), ref id, ref time from c,
 * origin = the request's transmit timestamp (verbatim), receive = rx_time,
 * transmit = tx_time. Returns the reply length (48), -EINVAL when req is
 * not an NTP_CLIENT_REQUEST (an NTP_CLIENT_AUTHENTICATED one cannot be
 * answered here: there are no keys to sign with), -ENOBUFS when outlen < 48, or -EAGAIN when
 * the clock is not synchronised (leap 3, stratum outside 1..15): the service
 * then sends nothing and counts it (no kiss-o'-death, which some clients
 * ignore and which would still answer a spoofed source).
 */
int ntp_build_reply(const uint8_t *req, size_t reqlen, const struct ntp_clock *c,
		    const struct timespec *rx_time, const struct timespec *tx_time, uint8_t *out,
		    size_t outlen);

/**
 * Unix time to an NTP 32.32 timestamp: seconds + 2208988800 modulo 2^32 (the
 * era is implicit), fraction = floor(ns * 2^32 / 10^9). tv_nsec outside
 * [0, 10^9) is clamped.
 */
uint64_t ntp_ts_from_timespec(const struct timespec *ts);

/**
 * NTP 32.32 timestamp to Unix time. Seconds with the top bit set are era 0
 * (1968-2036), others era 1 (2036-2104), as RFC 4330 section 3 says;
 * ns = round(fraction * 10^9 / 2^32), so timespec -> ntp -> timespec is exact.
 */
void ntp_ts_to_timespec(uint64_t ntp, struct timespec *ts);


#endif
