/* dns_msg.h - DNS wire messages: parse client queries, build local answers
 * (errors, addresses, blocks, truncation), inspect upstream answers and
 * rewrite their IDs and TTLs. Every reader is bounds-checked; nothing here
 * allocates. */
#ifndef DNS_MSG_H
#define DNS_MSG_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
/** An OPT RR without options: root owner, type, class, TTL, RDLENGTH 0. */
#define DNS_OPT_LEN 11
/** Longest name in wire form, terminating zero label included (RFC 1035). */
#define DNS_NAME_WIRE_MAX 255
/** Longest presentation name plus NUL: 4 labels of escaped bytes (\DDD) and dots. */
#define DNS_NAME_PRES_MAX 1004
/** UDP payload size without EDNS, and the floor of any advertised size. */
#define DNS_UDP_MIN 512
/** UDP payload size sluice advertises in the OPT records it writes (DNS flag day 2020). */
#define DNS_EDNS_UDP_SIZE 1232
/** TTL fields dns_answer_inspect records; answers with more RRs are not cacheable. */
#define DNS_MAX_RRS 256

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41
#define DNS_TYPE_RRSIG 46
#define DNS_TYPE_SVCB 64
#define DNS_TYPE_HTTPS 65
#define DNS_TYPE_ANY 255
#define DNS_CLASS_IN 1
#define DNS_CLASS_ANY 255

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
/** Extended rcode (needs OPT): the query's EDNS version is not 0. */
#define DNS_RCODE_BADVERS 16

/* Header flag bits (the 16-bit word after the ID). */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010

/* dns_query_parse results (negative errno values, so they travel like any error). */
/** Not worth an answer: shorter than a header, or a response (QR=1). Drop and count. */
#define DNS_E_DROP (-EPROTO)
/** Header readable, the rest malformed: answer FORMERR. */
#define DNS_E_FORMERR (-EBADMSG)
/** Opcode other than QUERY: answer NOTIMP. */
#define DNS_E_NOTIMP (-EOPNOTSUPP)
/** Well-formed, but the OPT record asks for EDNS version > 0: answer BADVERS. */
#define DNS_E_BADVERS (-EPROTONOSUPPORT)

/**
 * A parsed client query. Filled by dns_query_parse; the builders read it
 * together with the packet it came from (for the question bytes).
 *
 * Name policy: name is the lowercase presentation form without the trailing
 * dot ("" for the root). Bytes outside 0x21..0x7e, and '.' and '\' inside a
 * label, are written as \DDD (three decimal digits), so no label content is
 * lost or confused with a label boundary, and suffix rules still see the
 * real parent domain. Only ASCII A-Z are lowercased (RFC 4343).
 */
struct dns_query {
	uint16_t id;
	uint16_t flags; /* header flags word, as received */
	uint16_t qtype, qclass;
	bool question_ok;      /* the question parsed: builders echo it */
	bool qname_compressed; /* the qname used a compression pointer */
	uint16_t qname_off;    /* where the qname starts in the packet (12) */
	uint16_t qname_len;    /* its bytes in the packet, up to and including a pointer */
	uint16_t question_end; /* offset just past QTYPE/QCLASS */
	/* EDNS, from the OPT RR in the additional section */
	bool edns;   /* a valid OPT record was present */
	bool do_bit; /* DNSSEC OK */
	bool ecs;    /* an EDNS Client Subnet option (code 8) was present */
	uint8_t edns_version;
	uint16_t udp_size; /* as advertised (before the 512 floor) */
	uint16_t ecs_off;  /* the ECS option (its 4-byte header included) in the packet */
	uint16_t ecs_len;  /* 0 when there is none */
	/* Largest answer this client takes: the UDP limit (512, or its EDNS size)
	 * after dns_query_parse; callers lower it to max-udp-size, or raise it
	 * to 65535 for TCP. Every builder truncates above it. */
	uint32_t limit;
	/* the name */
	uint16_t lname_len;		  /* wire length of lname (1..255) */
	uint16_t name_len;		  /* strlen(name) */
	uint8_t lname[DNS_NAME_WIRE_MAX]; /* lowercase, uncompressed wire form */
	char name[DNS_NAME_PRES_MAX];	  /* lowercase presentation form */
};

/** IPv4 and IPv6 addresses to answer with (e.g. from struct dns_addrs). */
struct dns_addr_list {
	const struct in_addr *v4;
	size_t n4;
	const struct in6_addr *v6;
	size_t n6;
};

/** What dns_answer_inspect learned about an upstream answer. */
struct dns_answer_info {
	uint16_t id, flags;
	uint8_t rcode;	   /* header rcode (4 bits) */
	uint8_t ext_rcode; /* upper 8 bits from the OPT RR, 0 without OPT */
	bool tc;
	uint16_t qdcount, ancount, nscount, arcount;
	uint16_t qtype, qclass; /* of the first question */
	uint16_t qname_len;	/* bytes of the first qname in the message */
	bool qname_compressed;
	bool has_opt;
	bool opt_last;		       /* the OPT RR is the message's last RR */
	uint16_t opt_off;	       /* where the OPT RR starts (valid if has_opt) */
	uint16_t opt_ar_index;	       /* additional RRs before the OPT RR (valid if has_opt) */
	bool has_soa;		       /* SOA in the authority section */
	bool negative;		       /* NXDOMAIN, or NOERROR without an RR of the asked type */
	bool cacheable;		       /* see dns_answer_inspect */
	uint32_t min_ttl;	       /* cache lifetime in seconds (see dns_answer_inspect) */
	size_t end;		       /* end of the last RR; bytes after it are ignored */
	uint16_t n_ttl;		       /* TTL fields recorded (OPT excluded) */
	bool ttl_overflow;	       /* more RRs than DNS_MAX_RRS */
	uint16_t ttl_off[DNS_MAX_RRS]; /* offset of each RR's TTL field */
};

/**
 * Parse a client query. Reads the header, exactly one question (QDCOUNT 1),
 * skips (bounds-checked) any answer/authority RRs, and reads the additional
 * section for one OPT RR (UDP size, DO, version, ECS). A compression
 * pointer must point past the header and before the start of the name (or
 * name part) that holds it, so pointers cannot loop; at most 127 are
 * followed. (So the one question's name, at offset 12, cannot be
 * compressed: qname_compressed is for the builders' sake only.) Bytes after the last RR are a
 * FORMERR (as in BIND/Knot): a well-formed client never sends them and they would be forwarded
 * upstream.
 *
 * Returns 0; DNS_E_DROP (q holds nothing usable); DNS_E_NOTIMP (header fields
 * valid, question not parsed); DNS_E_FORMERR (q->question_ok says whether the
 * question can be echoed); DNS_E_BADVERS (whole query parsed, q->edns set).
 */
int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q);

/** Write the lowercase wire name lw (uncompressed, as in struct dns_query)
 * in presentation form, as dns_query_parse() does for the question, to out
 * (DNS_NAME_PRES_MAX bytes, NUL-terminated). Returns its length. */
size_t dns_name_to_text(const uint8_t *lw, char *out);

/** Read a name in presentation form (RFC 1035 5.1: \DDD and \X escapes,
 * an unescaped '.' ends a label, one trailing dot is optional, "." is the
 * root) into lowercase wire form (lw: DNS_NAME_WIRE_MAX bytes; *wlen gets
 * its length, terminating zero included). dns_name_to_text() of the result
 * is the name as rules see it in a query. 0, or -EINVAL for an empty name
 * or label, a label over 63 bytes, a name over 255, a bad escape. */
int dns_name_from_text(const char *text, size_t len, uint8_t *lw, size_t *wlen);

/** The rcode that answers a dns_query_parse error, or -1 for DNS_E_DROP / unknown. */
int dns_error_rcode(int err);

/**
 * The most an answer to q may carry: q->limit. dns_query_parse sets it to
 * 512 without EDNS, else max(advertised, 512).
 */
size_t dns_query_udp_limit(const struct dns_query *q);

/** Lower q's UDP limit to cap (never below 512): the amplification bound. */
void dns_query_cap_udp(struct dns_query *q, size_t cap);

/**
 * Answer q (as parsed, any result but DNS_E_DROP) with rcode (FORMERR,
 * SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS). Echoes the question when it
 * parsed, copies ID, opcode, RD and CD, sets RA, and adds an OPT RR when the
 * query had one (carrying the upper bits of an extended rcode). pkt is the
 * query q was parsed from. Returns the answer length, or -ENOSPC.
 */
int dns_build_error(const struct dns_query *q, const uint8_t *pkt, int rcode, uint8_t *out,
		    size_t outlen);

/**
 * NXDOMAIN with a synthetic SOA (TTL and MINIMUM = ttl) in the authority
 * section, so clients cache the negative answer (RFC 2308). Returns length or -ENOSPC.
 */
int dns_build_nxdomain(const struct dns_query *q, const uint8_t *pkt, uint32_t ttl, uint8_t *out,
		       size_t outlen);

/**
 * Answer an A query with the IPv4 addresses of addrs, an AAAA query with the
 * IPv6 ones (class IN only). Anything else, or no address of the family, is
 * NOERROR/NODATA with a synthetic SOA. An answer above the client's UDP size
 * becomes a TC=1 answer with the question only. Returns length or -ENOSPC.
 */
int dns_build_address(const struct dns_query *q, const uint8_t *pkt,
		      const struct dns_addr_list *addrs, uint32_t ttl, uint8_t *out, size_t outlen);

/**
 * The `block zero` answer: A -> 0.0.0.0, AAAA -> ::, every other type
 * (including SVCB 64 and HTTPS 65, which would otherwise leak the blocked
 * service's addresses through ipv4hint/ipv6hint) NODATA with a synthetic
 * SOA. Returns length or -ENOSPC.
 */
int dns_build_block_zero(const struct dns_query *q, const uint8_t *pkt, uint32_t ttl, uint8_t *out,
			 size_t outlen);

/** TC=1 answer carrying the question (and OPT if the query had it) only. */
int dns_build_truncated(const struct dns_query *q, const uint8_t *pkt, int rcode, uint8_t *out,
			size_t outlen);

/**
 * Validate an upstream answer: header (QR must be 1), every question and RR
 * walked with bounds checks, compression pointers as in dns_query_parse
 * and, further, no name read through the fixed fields of an RR or question
 * (a name that included a TTL would change when the cache rewrites it), at
 * most one OPT (root owner, additional section), SOA RDATA parsed when it
 * is in the authority section. Other RDATA is opaque. Fills ai:
 *  - min_ttl: positive answers: the least TTL over answer and authority RRs;
 *    negative ones (NXDOMAIN, or NOERROR without an RR of the asked type): the
 *    least over the answer RRs and min(SOA TTL, SOA MINIMUM) (RFC 2308).
 *    TTLs with the top bit set count as 0 (RFC 2181).
 *  - ttl_off: every TTL field except the OPT's, for dns_rewrite_ttls.
 *  - cacheable: NOERROR/NXDOMAIN, TC=0, one uncompressed question, no
 *    extended rcode, OPT (if any) last, <= DNS_MAX_RRS RRs, min_ttl > 0, and
 *    positive with answers or negative with an SOA.
 * Returns 0, or -EBADMSG when the message is malformed (ai partly filled).
 */
int dns_answer_inspect(const uint8_t *pkt, size_t len, struct dns_answer_info *ai);

/** True when the answer's (first) question is q's: name case-insensitively, type, class. */
bool dns_answer_matches(const uint8_t *pkt, size_t len, const struct dns_answer_info *ai,
			const struct dns_query *q);

/** Write the message ID. pkt must hold at least the 12-byte header. */
void dns_set_id(uint8_t *pkt, uint16_t id);

/**
 * Rewrite the n TTL fields at off[] (from dns_answer_info.ttl_off) in place:
 * each becomes clamp(ttl, min_ttl, max_ttl) - elapsed_s, not below 0. With
 * min_ttl == max_ttl == T and elapsed 0 every TTL becomes T (serve-stale).
 * Only RR header TTLs are touched: RRSIG's original-TTL field in RDATA is not.
 * Returns 0, or -EINVAL when an offset lies outside pkt[0..len).
 */
int dns_rewrite_ttls(uint8_t *pkt, size_t len, const uint16_t *off, size_t n, uint32_t elapsed_s,
		     uint32_t min_ttl, uint32_t max_ttl);

/**
 * Append an OPT RR (our UDP size, DO copied from q, extended rcode bits
 * rcode >> 4) at out[0..outlen). Returns its length (11) or -ENOSPC. The
 * caller increments ARCOUNT.
 */
int dns_put_opt(const struct dns_query *q, int rcode, uint8_t *out, size_t outlen);

/**
 * Write q's question (qname in the client's case when it was not compressed,
 * else lowercase; QTYPE; QCLASS) at out. Returns its length or -ENOSPC.
 */
int dns_put_question(const struct dns_query *q, const uint8_t *pkt, uint8_t *out, size_t outlen);

/* ---- the upstream path (dns_answer.c) ---- */

/**
 * Build the query sluice sends upstream for q (parsed from pkt): a fresh
 * message, not the client's bytes, so nothing a client smuggles into its
 * query reaches the upstream. Header: id, RD/CD/AD copied, one question:
 * qname is qwire (q->lname_len bytes: the lowercase name, or the same name
 * with a random 0x20 case pattern), QTYPE, QCLASS. With edns, one OPT RR:
 * UDP size DNS_EDNS_UDP_SIZE, DO copied, the client's ECS option copied.
 * Returns the length or -ENOSPC.
 */
int dns_build_upstream(const struct dns_query *q, const uint8_t *pkt, uint16_t id,
		       const uint8_t *qwire, bool edns, uint8_t *out, size_t outlen);

/**
 * dns_build_upstream with the ECS option given: ecs_opt[0..ecs_len) is a
 * whole option (code, length, data) sent instead of the client's, or NULL
 * to send none.
 */
int dns_build_upstream_ecs(const struct dns_query *q, uint16_t id, const uint8_t *qwire,
			   bool edns, const uint8_t *ecs_opt, size_t ecs_len, uint8_t *out,
			   size_t outlen);

/**
 * Give every letter of the wire name w (len bytes) a random case from the
 * bits in rnd (at least len / 8 + 1 bytes) (draft-vixie-dnsext-dns0x20).
 */
void dns_name_0x20(uint8_t *w, size_t len, const uint8_t *rnd);

/**
 * True when the answer (inspected into ai) carries exactly one question,
 * and it is qwire/qtype/qclass: byte for byte when exact (the 0x20 case
 * pattern must come back), else ignoring ASCII case.
 */
bool dns_answer_question_is(const uint8_t *pkt, size_t len, const struct dns_answer_info *ai,
			    const uint8_t *qwire, size_t qwlen, uint16_t qtype, uint16_t qclass,
			    bool exact);

/**
 * Remove the OPT RR from an inspected answer in place (upstreams answer
 * sluice's EDNS query with one; the client gets its own, or none). RRs
 * after it go too. Fixes ARCOUNT (the additional RRs before the OPT) and ai
 * (has_opt, n_ttl, ttl_overflow, end, arcount). Returns the new length.
 */
size_t dns_answer_strip_opt(uint8_t *pkt, size_t len, struct dns_answer_info *ai);

/** A stored or received answer without its OPT RR, ready to be served. */
struct dns_answer_src {
	const uint8_t *wire;
	size_t len;
	const uint16_t *ttl_off; /* every RR's TTL field */
	size_t n_ttl;
	int rcode; /* full rcode: header bits | extended bits << 4 */
};

/**
 * Write answer a for client query q (parsed from pkt) into out: q's ID, RD
 * bit and question bytes (its 0x20 case), AD cleared unless q set AD or DO,
 * TTLs clamped to [min_ttl, max_ttl] and counted down by elapsed_s, an OPT
 * RR iff q had one; a TC=1 answer with the question only when the whole
 * would exceed q->limit. a->wire may be out itself (an answer already
 * copied there is finished in place). Returns the length, or -ENOSPC /
 * -EINVAL.
 */
int dns_build_answer(const struct dns_answer_src *a, const struct dns_query *q,
		     const uint8_t *pkt, uint32_t elapsed_s, uint32_t min_ttl, uint32_t max_ttl,
		     uint8_t *out, size_t outlen);

/** An address record of an answer (dns_answer_addrs). */
struct dns_rr_addr {
	int af;		 /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 or 16 bytes used */
	uint32_t ttl;	 /* as in the record; one with the top bit set reads 0 (RFC 2181) */
};

/**
 * The A and AAAA records (class IN) in the answer section of pkt[0..len)
 * that belong to the question: owned by its name, or by a name a CNAME
 * before them leads to from it (resolvers write the chain in order).
 * Addresses of other names an upstream adds are left out. At most max go
 * to out. Returns how many, or -EBADMSG.
 */
int dns_answer_addrs(const uint8_t *pkt, size_t len, struct dns_rr_addr *out, size_t max);

#endif
