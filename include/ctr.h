/* ctr.h - counters. Each worker owns one struct ctr and is its only writer;
 * readers (stats dump, metrics) sum all workers with relaxed loads. */
#ifndef CTR_H
#define CTR_H

#include <stdatomic.h>
#include "sluice.h"

/* X(ID, "metric_name", "help text") */
#define CTR_LIST(X)                                                                             \
	X(RX_DGRAMS, "rx_datagrams", "datagrams read from the listeners")                        \
	X(RX_BYTES, "rx_bytes", "bytes read from the listeners")                                 \
	X(RX_BATCHES, "rx_batches", "recvmmsg calls that returned datagrams")                    \
	X(RX_TRUNCATED, "rx_truncated", "datagrams dropped: larger than the buffer or cmsg cut") \
	X(RX_NO_ORIGDST, "rx_no_origdst", "datagrams dropped: no original-destination cmsg")     \
	X(RX_NO_SERVICE, "rx_no_service", "datagrams dropped: no intercept for the port")        \
	X(RX_ERRORS, "rx_errors", "receive errors on listeners")                                 \
	X(RX_DENIED, "rx_denied", "datagrams and connections dropped: the client is not in `allow`") \
	X(RELAY_RATE_LIMITED, "relay_rate_limited", "relay and quic datagrams dropped by relay-rate-limit") \
	X(RX_GRO, "rx_gro", "reads from flow and upstream sockets that held a run of datagrams (UDP GRO), split again") \
	X(RX_MISDELIVERED, "rx_misdelivered", "datagrams the kernel gave the wrong flow socket (re-dispatched)") \
	X(FLOWS_CREATED, "flows_created", "sessions created")                                     \
	X(FLOWS_EXPIRED, "flows_expired", "sessions ended by the idle timeout")                  \
	X(FLOWS_EVICTED, "flows_evicted", "sessions evicted at the global cap")                  \
	X(FLOWS_EVICTED_CLIENT, "flows_evicted_client", "sessions evicted at the per-client cap") \
	X(FLOWS_REFUSED, "flows_refused", "sessions the service refused to start")               \
	X(FLOWS_CLOSED, "flows_closed", "sessions closed by their service")                      \
	X(FLOWS_LOOP, "flows_loop", "datagrams from sluice's own upstream sockets dropped (a loop)") \
	X(REPLY_SENT, "reply_sent", "datagrams sent to clients")                                 \
	X(REPLY_RAW, "reply_raw", "replies sent through the raw socket (address owned locally)") \
	X(REPLY_ERRORS, "reply_errors", "replies that could not be sent")                        \
	X(REPLY_SOCK_OPEN, "reply_sockets_opened", "transparent reply sockets opened")           \
	X(REPLY_BIND_BUSY, "reply_bind_busy", "reply binds refused: a local service owns it")    \
	X(RELAY_TX, "relay_tx", "datagrams relayed to upstreams")                                \
	X(RELAY_RX, "relay_rx", "datagrams received from upstreams")                             \
	X(RELAY_TX_ERRORS, "relay_tx_errors", "datagrams that could not be sent upstream")       \
	X(RELAY_RX_ERRORS, "relay_rx_errors", "receive errors on upstream sockets")              \
	X(RELAY_PORT_RETRIED, "relay_port_retried",                                              \
	  "upstream sockets set aside: the port of a closed leg to the same server")             \
	CTR_LIST_SERVICES(X)

/* Service counters. NTP's verdict counters come first, in verdict order
 * (their ids are CTR_<VERDICT>; CTR_NTP_FIRST is the first). The lists
 * live here, not in the services' headers, so the engine's counters need
 * no service header; ntp.h makes enum ntp_verdict from NTP_VERDICT_LIST. */
#define CTR_LIST_SERVICES(X)                                                                    \
	NTP_VERDICT_LIST(X)                                                                      \
	X(NTP_RATE_LIMITED, "ntp_rate_limited", "NTP requests dropped by the per-client limit")  \
	X(NTP_REDIRECTED, "ntp_redirected", "NTP answers relayed from a redirect server")        \
	X(NTP_AUTHENTICATED_PASSED, "ntp_authenticated_passed",                                  \
	  "NTP answers to requests with a MAC or extension fields relayed from the server asked") \
	X(NTP_UPSTREAM_IGNORED, "ntp_upstream_ignored", "NTP upstream answers not relayed (late, duplicate or invalid)") \
	X(NTP_LOCAL_ANSWERS, "ntp_local_answers", "NTP requests answered from the local clock")   \
	X(NTP_LOCAL_UNSYNCED, "ntp_local_unsynced", "NTP requests not answered: local clock unsynchronised") \
	CTR_LIST_DNS(X) CTR_LIST_QUIC(X)

#define CTR_LIST_DNS(X)                                                                         \
	X(DNS_QUERIES, "dns_queries", "DNS queries received")                                    \
	X(DNS_DROPPED, "dns_dropped", "DNS datagrams dropped: not a query, header unreadable")   \
	X(DNS_FORMERR, "dns_formerr", "DNS queries answered FORMERR/NOTIMP/BADVERS")              \
	X(DNS_LOOP_REFUSED, "dns_loop_refused", "DNS queries from sluice's own upstream sockets (a loop)") \
	X(DNS_BLOCKED, "dns_blocked", "DNS queries blocked by a rule")                            \
	X(DNS_LOCAL_ANSWERS, "dns_local_answers", "DNS queries answered by address or hosts rules") \
	X(DNS_LOCAL_ZONE_ANSWERS, "dns_local_zone_answers", "DNS queries answered from a local-zone file") \
	X(DNS_CACHE_HITS, "dns_cache_hits", "DNS queries answered from the cache")                \
	X(DNS_CACHE_MISSES, "dns_cache_misses", "DNS queries not found in the cache")             \
	X(DNS_PREFETCH, "dns_prefetch", "DNS background refreshes (prefetch, serve-stale)")       \
	X(DNS_FORWARDED, "dns_forwarded", "DNS queries sent to an upstream group")                \
	X(DNS_PASSTHROUGH, "dns_passthrough", "DNS queries sent to the resolver the client asked") \
	X(DNS_UPSTREAM_ANSWERS, "dns_upstream_answers", "DNS answers from upstreams")             \
	X(DNS_SERVFAIL, "dns_servfail", "DNS queries answered SERVFAIL (upstream timeout or failure)") \
	X(DNS_TRUNCATED, "dns_truncated", "DNS answers sent with TC=1 (too big for the client)") \
	X(DNS_UPSTREAM_SENT, "dns_upstream_sent", "DNS queries sent to upstream servers (each attempt, UDP and TCP)") \
	X(DNS_UPSTREAM_TCP, "dns_upstream_tcp", "DNS queries sent to upstream servers over TCP") \
	X(DNS_UPSTREAM_TLS, "dns_upstream_tls", "DNS queries sent to upstream servers over TLS") \
	X(DNS_UPSTREAM_TLS_HANDSHAKES, "dns_upstream_tls_handshakes", "TLS connections to upstream servers set up") \
	X(DNS_UPSTREAM_TLS_RESUMED, "dns_upstream_tls_resumed", "TLS connections to upstream servers that resumed a session") \
	X(DNS_UPSTREAM_HTTPS, "dns_upstream_https", "DNS queries sent to upstream servers over HTTPS (HTTP/2 streams)") \
	X(DNS_UPSTREAM_IGNORED, "dns_upstream_ignored", "upstream DNS messages ignored: wrong ID or question (spoofing, or late)") \
	X(DNS_UPSTREAM_TIMEOUTS, "dns_upstream_timeouts", "upstream DNS attempts unanswered within their share of the timeout") \
	X(DNS_RATE_LIMITED, "dns_rate_limited", "DNS queries dropped (UDP) or refused (TCP) by dns-rate-limit") \
	X(DNS_NO_AAAA, "dns_no_aaaa", "AAAA queries answered NODATA by a no-aaaa rule") \
	X(DNS_SVCB_REWRITTEN, "dns_svcb_rewritten", "HTTPS/SVCB answers with ech or ipv6hint removed (no-ech, no-aaaa)") \
	X(DNS_LEAKED_FOREIGN, "dns_leaked_foreign", "queries for `foreign` names a rule sent to a leak-check group") \
	X(DNS_ECS_STRIPPED, "dns_ecs_stripped", "client ECS options removed before a query went to an ecs=strip group") \
	X(DNS_MERGED, "dns_merged", "DNS queries that joined an identical query already waiting for an upstream") \
	X(DNS_CLIENT_LIMITED, "dns_client_limited", "DNS queries dropped or refused: the client had dns-inflight-per-client waiting") \
	X(DNS_TCP_ACCEPTED, "dns_tcp_accepted", "DNS over TCP connections accepted") \
	X(DNS_TCP_REFUSED, "dns_tcp_refused", "DNS over TCP connections refused: a connection cap, or a loop") \
	X(DNS_TCP_CLOSED_IDLE, "dns_tcp_closed_idle", "DNS over TCP connections closed after dns-tcp-idle-timeout") \
	X(DNS_TCP_ERRORS, "dns_tcp_errors", "DNS over TCP connections closed on a framing error or an unread backlog") \
	X(DNS_UPSTREAM_NOFD, "dns_upstream_nofd", "upstream DNS attempts not made: the descriptor budget was used up") \
	X(DNS_QLOG_LINES, "dns_query_log_lines", "lines written to the query log") \
	X(DNS_QLOG_DROPPED, "dns_query_log_dropped", "query log lines lost: the file could not be opened or written") \
	X(DNS_NFTSET_ADDED, "dns_nftset_added", "answer addresses added to nftsets (the kernel acknowledged them)") \
	X(DNS_NFTSET_DEDUPED, "dns_nftset_deduped", "answer addresses not sent again: already in the nftset with enough timeout left") \
	X(DNS_NFTSET_BATCHES, "dns_nftset_batches", "netlink transactions sent to add addresses to nftsets (one per set per flush)") \
	X(DNS_NFTSET_ERRORS, "dns_nftset_errors", "nftset failures: set lookups that failed or found an unusable set, and addresses not added") \
	X(DNS_UPSTREAM_DNSCRYPT, "dns_upstream_dnscrypt", "DNS queries sent encrypted to DNSCrypt servers (UDP and TCP)") \
	X(DNS_DNSCRYPT_CERT_FETCHES, "dns_dnscrypt_cert_fetches", "DNSCrypt certificate fetches (TXT queries for the provider name)") \
	X(DNS_DNSCRYPT_CERT_NEW, "dns_dnscrypt_cert_new", "DNSCrypt certificates taken into use (the first one, then each rotation)") \
	X(DNS_DNSCRYPT_CERT_FAILED, "dns_dnscrypt_cert_failed", "DNSCrypt certificate fetches without a usable certificate (no answer, signature, dates)") \
	X(DNS_DNSCRYPT_BAD, "dns_dnscrypt_bad", "DNSCrypt answers that did not decrypt (magic, nonce, MAC, padding): ignored like forgeries") \
	X(DNS_ACCEPT_IP_ACCEPTED, "dns_accept_ip_accepted", "accept-ip answers used: first address in the list, or no address") \
	X(DNS_ACCEPT_IP_REJECTED, "dns_accept_ip_rejected", "accept-ip answers not used (first address outside the list): the else group was asked") \
	X(DNS_ACCEPT_IP_FALLBACK, "dns_accept_ip_fallback", "accept-ip queries whose first group failed: the else group was asked") \
	X(DNS_BOGUS_NXDOMAIN, "dns_bogus_nxdomain", "upstream answers turned into NXDOMAIN: an address in a bogus-nxdomain list")

#ifndef CTR_LIST_DNS
#define CTR_LIST_DNS(X)
#endif
/* X(ID, "counter_name", "help") - one counter per NTP verdict (ntp.h). */
#define NTP_VERDICT_LIST(X)                                                                        \
	X(CLIENT_REQUEST, "ntp_client_requests",                                                   \
	  "NTP client-mode (3) requests accepted for a redirect or a local answer")                \
	X(CLIENT_AUTHENTICATED, "ntp_client_authenticated",                                        \
	  "NTP client requests with a MAC or extension fields (NTS): passed to the server asked")  \
	X(DROP_SHORT, "ntp_drop_short", "NTP packets dropped: shorter than 48 bytes")              \
	X(DROP_CONTROL, "ntp_drop_control", "NTP packets dropped: mode 6 (control, ntpq)")         \
	X(DROP_PRIVATE, "ntp_drop_private", "NTP packets dropped: mode 7 (private, ntpdc)")        \
	X(DROP_NOT_CLIENT, "ntp_drop_not_client", "NTP packets dropped: mode 0, 1, 2, 4 or 5")     \
	X(DROP_BAD_VERSION, "ntp_drop_bad_version", "NTP packets dropped: version 0 or above 4")   \
	X(DROP_MALFORMED, "ntp_drop_malformed",                                                    \
	  "NTP packets dropped: bad extension fields, MAC, alignment or too long")

/* QUIC_PASSED..QUIC_MARKED follow enum quic_action's order. */
#define CTR_LIST_QUIC(X)                                                                        \
	X(QUIC_FLOWS, "quic_flows", "QUIC flows seen")                                           \
	X(QUIC_SNI, "quic_sni", "QUIC flows whose SNI was read")                                 \
	X(QUIC_NOSNI, "quic_nosni", "QUIC flows decided without an SNI")                          \
	X(QUIC_ECH, "quic_ech", "QUIC ClientHellos with Encrypted ClientHello (rules saw only the outer name)") \
	X(QUIC_NOT_QUIC, "quic_not_quic", "flows on a quic port that were not QUIC v1/v2 Initials") \
	X(QUIC_GIVEUP, "quic_giveup", "QUIC flows whose ClientHello hit a sniffing bound")        \
	X(QUIC_SNIFF_TIMEOUT, "quic_sniff_timeout", "QUIC flows decided at the sniffing timeout") \
	X(QUIC_PASSED, "quic_passed", "QUIC flows passed")                                       \
	X(QUIC_BLOCKED, "quic_blocked", "QUIC flows blocked (dropped)")                          \
	X(QUIC_REJECTED, "quic_rejected", "QUIC flows rejected (ICMP port unreachable)")         \
	X(QUIC_MARKED, "quic_marked", "QUIC flows relayed with a quic-rule mark")                \
	X(QUIC_DROPPED, "quic_dropped", "datagrams of blocked QUIC flows dropped")               \
	X(QUIC_ICMP_SENT, "quic_icmp_sent", "ICMP port unreachable messages sent for rejected flows") \
	X(QUIC_KEY_DERIVATIONS, "quic_key_derivations", "QUIC Initial key derivations (one per client version + DCID)") \
	X(QUIC_BAD_INITIALS, "quic_bad_initials", "QUIC client Initials that did not decrypt (rest of datagram skipped)")

enum ctr_id {
#define CTR_ENUM(id, name, help) CTR_##id,
	CTR_LIST(CTR_ENUM)
#undef CTR_ENUM
	CTR_COUNT
};

#define CTR_NTP_FIRST CTR_CLIENT_REQUEST

/** One worker's counters. */
struct ctr {
	_Atomic uint64_t v[CTR_COUNT];
};

/** Add n to counter id; single writer, so a relaxed load+store is enough. */
static inline void ctr_add(struct ctr *c, enum ctr_id id, uint64_t n)
{
	atomic_store_explicit(&c->v[id], atomic_load_explicit(&c->v[id], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void ctr_inc(struct ctr *c, enum ctr_id id)
{
	ctr_add(c, id, 1);
}

static inline uint64_t ctr_get(const struct ctr *c, enum ctr_id id)
{
	return atomic_load_explicit(&c->v[id], memory_order_relaxed);
}

/** Metric name and help text of a counter. */
const char *ctr_name(enum ctr_id id);
const char *ctr_help(enum ctr_id id);

#endif
