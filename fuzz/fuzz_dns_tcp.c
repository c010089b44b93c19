#include "config.h"
/* fuzz_dns_tcp.c - DNS over TCP framing (dns_tcp_frame_take) and the query
 * path behind it. Input: byte 0 picks how many chunk sizes follow (1..8),
 * those bytes are the sizes (0: all the rest), the remainder is the byte
 * stream a client sends. The stream goes into an evbuffer chunk by chunk,
 * as reads would deliver it; after each chunk every whole frame is taken
 * and compared with a shadow of the stream. A zero-length frame ends the
 * input, as it ends the connection. Every frame is then parsed as a query
 * and answered as dns_tcp.c does: the TCP limit (65535) replaces the UDP one. */

#include <event2/buffer.h>
#include <string.h>

#include "dns_msg.h"
#include "dns_tcp_frame.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define N_ADDRS 200 /* 3,200 bytes of A, 5,600 of AAAA: over any UDP limit, under TCP's */

static uint8_t frame[DNS_TCP_FRAME_MAX];
static uint8_t out[65536];

/* ans (n bytes, or an error) answers q (parsed from pkt): a response with
 * q's ID and question, an OPT iff q had one, within limit. */
static void check_answer(const struct dns_query *q, const uint8_t *pkt, int n, size_t limit,
			 struct dns_answer_info *ai)
{
	CHECK(n >= DNS_HDR_LEN && (size_t)n <= limit);
	CHECK(dns_answer_inspect(out, (size_t)n, ai) == 0);
	CHECK(ai->id == q->id && ai->end == (size_t)n && ai->has_opt == q->edns);
	CHECK(ai->qdcount == (q->question_ok ? 1 : 0));
	if (q->question_ok) {
		CHECK(dns_answer_matches(out, (size_t)n, ai, q));
		CHECK(memcmp(out + DNS_HDR_LEN, pkt + q->qname_off, q->lname_len) == 0);
	}
}

/* The query path for one frame: an error answer always, and for a query
 * that parses, an address answer that TCP carries whole and UDP truncates. */
static void answer_frame(const uint8_t *pkt, size_t len)
{
	static struct in_addr v4[N_ADDRS];
	static struct in6_addr v6[N_ADDRS];
	static struct dns_answer_info ai;
	const struct dns_addr_list addrs = {v4, N_ADDRS, v6, N_ADDRS};
	struct dns_query q;
	size_t udp_limit;
	int rc, rcode, n, whole;
	bool addr_q;

	rc = dns_query_parse(pkt, len, &q);
	if (rc == DNS_E_DROP)
		return;
	udp_limit = dns_query_udp_limit(&q);
	q.limit = DNS_TCP_FRAME_MAX; /* as dns_src_limit does for TCP */
	rcode = rc == 0 ? DNS_RCODE_REFUSED : dns_error_rcode(rc);
	CHECK(rcode >= 0);
	n = dns_build_error(&q, pkt, rcode, out, sizeof(out));
	check_answer(&q, pkt, n, q.limit, &ai);
	CHECK(!ai.tc && (ai.rcode | ai.ext_rcode << 4) == (q.edns ? rcode : rcode & 0xf));
	if (rc != 0)
		return;
	addr_q = q.qclass == DNS_CLASS_IN && (q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA);
	whole = dns_build_address(&q, pkt, &addrs, 300, out, sizeof(out));
	check_answer(&q, pkt, whole, q.limit, &ai);
	CHECK(!ai.tc && ai.ancount == (addr_q ? N_ADDRS : 0));
	q.limit = (uint32_t)udp_limit; /* the same query over UDP */
	n = dns_build_address(&q, pkt, &addrs, 300, out, sizeof(out));
	check_answer(&q, pkt, n, q.limit, &ai);
	CHECK(ai.tc == ((size_t)whole > udp_limit));
	CHECK(ai.tc || n == whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *pat, *s;
	size_t npat, slen, added = 0, taken = 0;
	struct evbuffer *in;

	if (size < 1)
		return 0;
	npat = (size_t)(data[0] & 7) + 1;
	if (size < 1 + npat)
		return 0;
	pat = data + 1;
	s = data + 1 + npat;
	slen = size - 1 - npat;
	in = evbuffer_new();
	if (!in)
		return 0;
	for (size_t i = 0; added < slen; i++) {
		size_t chunk = pat[i % npat] ? pat[i % npat] : slen - added;
		bool closed = false;

		if (chunk > slen - added)
			chunk = slen - added;
		CHECK(evbuffer_add(in, s + added, chunk) == 0);
		added += chunk;
		for (;;) {
			size_t avail = added - taken;
			size_t want = avail >= 2 ? (size_t)s[taken] << 8 | s[taken + 1] : 0;
			int rc = dns_tcp_frame_take(in, frame, sizeof(frame));

			if (rc == 0) { /* incomplete: nothing taken */
				CHECK(avail < 2 || (want > 0 && avail < 2 + want));
				CHECK(evbuffer_get_length(in) == avail);
				break;
			}
			if (rc == -EBADMSG) { /* a zero-length frame: the connection closes */
				CHECK(avail >= 2 && want == 0);
				closed = true;
				break;
			}
			CHECK(rc > 0 && avail >= 2 && (size_t)rc == want && avail >= 2 + want);
			CHECK(memcmp(frame, s + taken + 2, want) == 0);
			taken += 2 + want;
			CHECK(taken <= added && evbuffer_get_length(in) == added - taken);
			answer_frame(frame, want);
		}
		if (closed)
			break;
	}
	evbuffer_free(in);
	return 0;
}
