/* ntp.c - NTP packet logic: classify client datagrams (what to redirect,
 * what only the server the client asked can answer, what to drop and
 * count), validate upstream answers, build a local answer from the kernel
 * clock state, convert timestamps, and rate-limit per client. It owns no
 * sockets, timers or counters: the ntp service does the I/O and counts the
 * verdicts this file returns. Every read of a packet is bounded by the
 * length the caller passes; nothing here allocates per packet. */
#include "config.h"
#include "ntp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NTP_MODE_CLIENT 3
#define NTP_MODE_SERVER 4
#define NTP_MODE_CONTROL 6
#define NTP_MODE_PRIVATE 7
#define NTP_LEAP_UNSYNC 3
#define NTP_MAX_STRATUM 15
/* Trailer bounds, as chrony parses them (RFC 7822): an NTPv4 MAC is 20..24
 * bytes (key id + 16..20-byte digest), an extension field at least 16 bytes,
 * and v1-3 packets carry at most a MAC (72 bytes: MS-SNTP's extended one). */
#define NTP_MIN_MAC_LEN 20
#define NTP_MAX_V4_MAC_LEN 24
#define NTP_MAX_V3_MAC_LEN 72
#define NTP_MIN_EF_LEN 16
#define NS_PER_S 1000000000u

static const char *const verdict_names[] = {
#define NTP_VERDICT_NAME(id, name, help) name,
    NTP_VERDICT_LIST(NTP_VERDICT_NAME)
#undef NTP_VERDICT_NAME
};

static const char *const verdict_helps[] = {
#define NTP_VERDICT_HELP(id, name, help) help,
    NTP_VERDICT_LIST(NTP_VERDICT_HELP)
#undef NTP_VERDICT_HELP
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static unsigned pkt_mode(const uint8_t *p)
{
	return p[0] & 7;
}

static unsigned pkt_version(const uint8_t *p)
{
	return (p[0] >> 3) & 7;
}

const char *ntp_verdict_name(enum ntp_verdict v)
{
	if ((unsigned)v >= SL_ARRAY_LEN(verdict_names))
		return "ntp_unknown";
	return verdict_names[v];
}

const char *ntp_verdict_help(enum ntp_verdict v)
{
	if ((unsigned)v >= SL_ARRAY_LEN(verdict_helps))
		return "unknown NTP verdict";
	return verdict_helps[v];
}

/* What trailer_parse() found after the header. */
enum trailer {
	TRAILER_BAD,  /* malformed: drop */
	TRAILER_NONE, /* nothing, or a crypto-NAK (a key id of 0, no digest) */
	TRAILER_AUTH, /* a MAC or extension fields: only the server asked can answer */
};

/*
 * What follows the 48-byte header (RFC 7822, RFC 8915):
 *
 *   48     Field Type (16) | Length (16, >= 16, a multiple of 4, covers all)
 *   52     Value (Length - 4 bytes)          ... more extension fields ...
 *   end-N  [Key Identifier (32) | Digest (16..20 bytes)]   N = 20..24
 *
 * The lengths alone decide, as in chrony: a remainder of 20..24 bytes is a
 * MAC, a longer one starts with an extension field. Each step checks what
 * remains before it reads, consumes >= 16 bytes, and len <= NTP_MAX_LEN, so
 * the walk is bounded. v1-3 have no extension fields, only a MAC of up to
 * 72 bytes (MS-SNTP's); a trailer of 4 zero bytes is a crypto-NAK.
 */
static enum trailer trailer_parse(const uint8_t *p, size_t len, unsigned vn)
{
	size_t off = NTP_HEADER_LEN, rem = len - NTP_HEADER_LEN;
	bool fields = false;

	if (len % 4 != 0 || len > NTP_MAX_LEN)
		return TRAILER_BAD;
	if (rem == 0)
		return TRAILER_NONE;
	if (rem == 4 && get32(p + off) == 0)
		return TRAILER_NONE; /* crypto-NAK */
	if (vn <= 3)
		return rem <= NTP_MAX_V3_MAC_LEN ? TRAILER_AUTH : TRAILER_BAD;
	while (rem > 0) {
		size_t ef;

		if (rem >= NTP_MIN_MAC_LEN && rem <= NTP_MAX_V4_MAC_LEN)
			return TRAILER_AUTH; /* the MAC ends the packet */
		if (rem <= NTP_MAX_V4_MAC_LEN)
			return TRAILER_BAD;
		ef = get16(p + off + 2);
		if (ef < NTP_MIN_EF_LEN || ef % 4 != 0 || ef > rem)
			return TRAILER_BAD;
		fields = true;
		off += ef;
		rem -= ef;
	}
	return fields ? TRAILER_AUTH : TRAILER_NONE;
}

enum ntp_verdict ntp_classify(const uint8_t *pkt, size_t len)
{
	unsigned vn;

	if (!pkt || len == 0)
		return NTP_DROP_SHORT;
	if (pkt_mode(pkt) == NTP_MODE_CONTROL)
		return NTP_DROP_CONTROL;
	if (pkt_mode(pkt) == NTP_MODE_PRIVATE)
		return NTP_DROP_PRIVATE;
	if (len < NTP_HEADER_LEN)
		return NTP_DROP_SHORT;
	vn = pkt_version(pkt);
	if (vn < 1 || vn > 4)
		return NTP_DROP_BAD_VERSION;
	if (pkt_mode(pkt) != NTP_MODE_CLIENT)
		return NTP_DROP_NOT_CLIENT;
	switch (trailer_parse(pkt, len, vn)) {
	case TRAILER_NONE:
		return NTP_CLIENT_REQUEST;
	case TRAILER_AUTH:
		return NTP_CLIENT_AUTHENTICATED;
	case TRAILER_BAD:
		break;
	}
	return NTP_DROP_MALFORMED;
}

bool ntp_is_server_reply(const uint8_t *pkt, size_t len, const uint8_t *req, size_t reqlen)
{
	unsigned vn;

	if (!pkt || !req || len < NTP_HEADER_LEN || len > NTP_MAX_LEN || reqlen < NTP_HEADER_LEN)
		return false;
	vn = pkt_version(pkt);
	if (vn < 1 || vn > 4 || pkt_mode(pkt) != NTP_MODE_SERVER)
		return false;
	/* origin (24..31) of the answer == transmit (40..47) of the request */
	return memcmp(pkt + 24, req + 40, 8) == 0;
}

bool ntp_is_server_packet(const uint8_t *pkt, size_t len)
{
	unsigned vn;

	if (!pkt || len < NTP_HEADER_LEN || len > NTP_MAX_LEN)
		return false;
	vn = pkt_version(pkt);
	return vn >= 1 && vn <= 4 && pkt_mode(pkt) == NTP_MODE_SERVER;
}

uint64_t ntp_ts_from_timespec(const struct timespec *ts)
{
	long ns = ts->tv_nsec;
	/* unsigned arithmetic: wraps into the right era instead of overflowing */
	uint64_t sec = ((uint64_t)ts->tv_sec + NTP_UNIX_OFFSET) & 0xffffffffu;
	uint64_t frac;

	if (ns < 0)
		ns = 0;
	if (ns >= (long)NS_PER_S)
		ns = NS_PER_S - 1;
	frac = ((uint64_t)ns << 32) / NS_PER_S;
	return sec << 32 | frac;
}

void ntp_ts_to_timespec(uint64_t ntp, struct timespec *ts)
{
	uint32_t s = (uint32_t)(ntp >> 32);
	uint64_t frac = (uint32_t)ntp;
	int64_t sec = (int64_t)s - (int64_t)NTP_UNIX_OFFSET;
	uint64_t ns = (frac * NS_PER_S + (1u << 31)) >> 32;

	if (!(s & 0x80000000u))
		sec += INT64_C(1) << 32; /* era 1: 2036-02-07 onwards */
	if (ns >= NS_PER_S) {
		ns -= NS_PER_S;
		sec++;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)ns;
}

/* Seconds to NTP short format (16.16), rounded up so the error bound the
 * client sees is never smaller than ours; negative/NaN -> 0, saturating. */
static uint32_t ntp_short(double s)
{
	double v;
	uint32_t u;

	if (!(s > 0.0))
		return 0;
	if (s >= 65535.0)
		return 0xffffffffu;
	v = s * 65536.0;
	u = (uint32_t)v;
	if ((double)u < v && u < 0xffffffffu)
		u++;
	return u;
}

/* Smallest p with 2^p seconds >= prec_us microseconds, in [-29, 10]. */
static int precision_log2(long long prec_us)
{
	uint64_t ns = prec_us > 0 ? (uint64_t)SL_MIN(prec_us, 1000000000LL) * 1000u : 1;
	uint64_t step = NS_PER_S;
	int p = 0;

	while (p > -29 && step / 2 >= ns) {
		step /= 2;
		p--;
	}
	while (p < 10 && step < ns) {
		step *= 2;
		p++;
	}
	return p;
}

int ntp_clock_from_timex(const struct timex *tx, int rc, int configured_stratum,
			 struct ntp_clock *c)
{
	struct timespec now;
	long long maxerr;

	if (!tx || !c || configured_stratum < 0 || configured_stratum > NTP_MAX_STRATUM)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->synced = rc >= 0 && rc != TIME_ERROR && !(tx->status & (STA_UNSYNC | STA_CLOCKERR));
	c->stratum = configured_stratum ? configured_stratum : NTP_DEFAULT_STRATUM;
	if (!c->synced)
		c->leap = NTP_LEAP_UNSYNC;
	else if (tx->status & STA_INS)
		c->leap = 1;
	else if (tx->status & STA_DEL)
		c->leap = 2;
	/* maxerror is the kernel's bound on the clock error (chrony and ntpd
	 * store root delay/2 + root dispersion there): the whole root distance */
	maxerr = tx->maxerror > 0 ? (long long)tx->maxerror : 0;
	c->root_dispersion = (double)maxerr / 1e6;
	c->root_delay = 0.0;
	c->ref_id = NTP_REFID_LOCL;
	now.tv_sec = tx->time.tv_sec;
	now.tv_nsec = (long)tx->time.tv_usec;
	if (!(tx->status & STA_NANO))
		now.tv_nsec *= 1000;
	c->ref_time_ntp = ntp_ts_from_timespec(&now);
	c->precision = precision_log2((long long)tx->precision);
	return 0;
}

int ntp_clock_read(struct ntp_clock *c, int configured_stratum)
{
	struct timex tx;
	int rc;

	memset(&tx, 0, sizeof(tx)); /* modes 0: read only */
	rc = ntp_adjtime(&tx);
	if (rc < 0)
		return -errno;
	return ntp_clock_from_timex(&tx, rc, configured_stratum, c);
}

int ntp_build_reply(const uint8_t *req, size_t reqlen, const struct ntp_clock *c,
		    const struct timespec *rx_time, const struct timespec *tx_time, uint8_t *out,
		    size_t outlen)
{
	int prec;

	if (!c || !rx_time || !tx_time || !out || ntp_classify(req, reqlen) != NTP_CLIENT_REQUEST)
		return -EINVAL;
	if (c->leap < 0 || c->leap > NTP_LEAP_UNSYNC)
		return -EINVAL;
	if (outlen < NTP_REPLY_LEN)
		return -ENOBUFS;
	if (!c->synced || c->leap == NTP_LEAP_UNSYNC || c->stratum < 1 ||
	    c->stratum > NTP_MAX_STRATUM)
		return -EAGAIN;
	prec = SL_MAX(-128, SL_MIN(127, c->precision));
	out[0] = (uint8_t)(c->leap << 6 | pkt_version(req) << 3 | NTP_MODE_SERVER);
	out[1] = (uint8_t)c->stratum;
	out[2] = req[2]; /* poll: echo the client's */
	out[3] = (uint8_t)(int8_t)prec;
	put32(out + 4, ntp_short(c->root_delay));
	put32(out + 8, ntp_short(c->root_dispersion));
	put32(out + 12, c->ref_id);
	put64(out + 16, c->ref_time_ntp);
	memcpy(out + 24, req + 40, 8); /* origin = the client's transmit, verbatim */
	put64(out + 32, ntp_ts_from_timespec(rx_time));
	put64(out + 40, ntp_ts_from_timespec(tx_time));
	return NTP_REPLY_LEN;
}


