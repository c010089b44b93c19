/* fuzz_ntp.c - the NTP packet module on hostile bytes: classification
 * (authenticated = well-formed with a trailer that is not a crypto-NAK, and
 * its header alone is a plain request), a local answer to whatever
 * classifies as a plain request (which must then pass the upstream-answer
 * check against that request; authenticated ones are never answered), the answer check with
 * the input split into answer and request, the timestamp conversions, and
 * the rate limiter keyed by addresses taken from the input. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "ntp.h"
#include "ratelimit.h"

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
	struct ntp_clock c = {
	    .synced = 1,
	    .stratum = 3,
	    .root_delay = 0.001,
	    .root_dispersion = 0.002,
	    .ref_id = NTP_REFID_LOCL,
	    .ref_time_ntp = 0xeeaf1d0000000000ull,
	    .leap = 0,
	    .precision = -20,
	};
	struct timespec rx = {1795464919, 1}, tx = {1795464919, 2};
	uint8_t out[NTP_REPLY_LEN];
	enum ntp_verdict v = ntp_classify(data, size);
	int rc;

	check((unsigned)v < NTP_VERDICT_COUNT);
	check(ntp_verdict_name(v) != NULL);
	if (v == NTP_CLIENT_REQUEST || v == NTP_CLIENT_AUTHENTICATED) {
		check(size >= NTP_HEADER_LEN && size <= NTP_MAX_LEN && size % 4 == 0);
		check(ntp_classify(data, NTP_HEADER_LEN) == NTP_CLIENT_REQUEST);
		/* plain: the header, or the header and a crypto-NAK */
		check((v == NTP_CLIENT_REQUEST) ==
		      (size == NTP_HEADER_LEN || (size == NTP_HEADER_LEN + 4 && !data[48] &&
						  !data[49] && !data[50] && !data[51])));
	}
	check(!ntp_is_server_packet(data, size) || v == NTP_DROP_NOT_CLIENT);
	rc = ntp_build_reply(data, size, &c, &rx, &tx, out, sizeof(out));
	check((v == NTP_CLIENT_REQUEST) == (rc == NTP_REPLY_LEN));
	if (rc == NTP_REPLY_LEN) {
		check(ntp_is_server_reply(out, sizeof(out), data, size));
		check(ntp_classify(out, sizeof(out)) == NTP_DROP_NOT_CLIENT);
		check(size >= NTP_HEADER_LEN && size <= NTP_MAX_LEN && size % 4 == 0);
	}
	c.synced = 0;
	rc = ntp_build_reply(data, size, &c, &rx, &tx, out, sizeof(out));
	check(rc == (v == NTP_CLIENT_REQUEST ? -EAGAIN : -EINVAL));
}

static void fuzz_timestamps(const uint8_t *data, size_t size)
{
	uint64_t t = 0;
	struct timespec ts;

	for (size_t i = 0; i < 8 && i < size; i++)
		t = t << 8 | data[i];
	ntp_ts_to_timespec(t, &ts);
	check(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	/* back to NTP: the seconds survive, the fraction within one ns */
	check(
	    ntp_ts_from_timespec(&ts) >> 32 == t >> 32 ||
	    (ts.tv_nsec == 0 && ntp_ts_from_timespec(&ts) >> 32 == ((t >> 32) + 1) % (1ull << 32)));
}

static void fuzz_ratelimit(const uint8_t *data, size_t size)
{
	struct ratelimit *rl = ratelimit_new(1 + (size > 0 ? data[0] % 8 : 0), 3, 8, false);
	uint64_t now = 0;

	if (!rl)
		return;
	for (size_t i = 1; i + 5 <= size && i < 1 + 5 * 256; i += 5) {
		struct sockaddr_in6 a6;
		struct sockaddr_in a4;

		now += data[i];
		if (data[i + 1] & 1) {
			memset(&a4, 0, sizeof(a4));
			a4.sin_family = AF_INET;
			memcpy(&a4.sin_addr, data + i + 1, 4);
			ratelimit_allow(rl, (const struct sockaddr *)&a4, now);
		} else {
			memset(&a6, 0, sizeof(a6));
			a6.sin6_family = AF_INET6;
			memcpy(&a6.sin6_addr.s6_addr[12], data + i + 1, 4);
			a6.sin6_addr.s6_addr[10] = a6.sin6_addr.s6_addr[11] =
			    data[i + 2] & 2 ? 0xff : 0;
			ratelimit_allow(rl, (const struct sockaddr *)&a6, now);
		}
	}
	ratelimit_free(rl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half = size / 2;

	fuzz_reply(data, size);
	/* first half as the answer, second half as the request, and the reverse */
	ntp_is_server_reply(data, half, data + half, size - half);
	ntp_is_server_reply(data + half, size - half, data, half);
	fuzz_timestamps(data, size);
	fuzz_ratelimit(data, size);
	return 0;
}
