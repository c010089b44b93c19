/* rd.h - the one bounds-checked reader of outside bytes (the c-ares
 * ares_buf idea): a cursor over a buffer that checks what remains before
 * it consumes anything. A read that does not fit consumes nothing, returns
 * 0 (NULL for bytes) and sets an error that sticks: nothing is left to
 * read then, every later read fails too (so a parser may read a whole
 * structure before it asks rd_ok() once), and the offset stays where the
 * damage was found, for messages. Numbers are big-endian. Offsets
 * are from the start of the buffer, so a cursor may also start inside it
 * (rd_at), as the DNS name reader does when it follows a pointer.
 * Everything is static inline: the DNS query parse runs for every packet.
 * Used by the QUIC Initial and TLS ClientHello parsers, the protobuf reader
 * of geosite.dat and geoip.dat (pb.c) and the DNS message parsers
 * (dns_msg.c, and dns_answer.c's walk of an answer's addresses). */
#ifndef RD_H
#define RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/** A cursor over p[off..len). */
struct rd {
	const uint8_t *p; /**< the buffer (never NULL) */
	size_t len;	  /**< its length: reads stop here */
	size_t off;	  /**< the next byte to read */
	bool err;	  /**< a read did not fit: sticks */
};

/** A cursor over p[off..len); p may be NULL when len is 0. off > len is an error. */
static inline struct rd rd_at(const void *p, size_t len, size_t off)
{
	/* never NULL: no offset is ever added to a null pointer */
	struct rd r = {p ? (const uint8_t *)p : (const uint8_t *)"", p ? len : 0, off, false};

	if (off > r.len) {
		r.off = r.len;
		r.err = true;
	}
	return r;
}

/** A cursor over p[0..len). */
static inline struct rd rd_init(const void *p, size_t len)
{
	return rd_at(p, len, 0);
}

/** Bytes left to read (0 after an error). */
static inline size_t rd_left(const struct rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

/** True while no read has failed. */
static inline bool rd_ok(const struct rd *r)
{
	return !r->err;
}

/** True when every byte was read and none too many. */
static inline bool rd_done(const struct rd *r)
{
	return !r->err && r->off == r->len;
}

/** The next byte to read (valid for rd_left() bytes). */
static inline const uint8_t *rd_ptr(const struct rd *r)
{
	return r->p + r->off;
}

/** Mark the input damaged (a parser's own check failed): the error sticks. Returns false. */
static inline bool rd_fail(struct rd *r)
{
	r->err = true;
	return false;
}

/**
 * Take n bytes: true with *out pointing at them, or false (and the error
 * set) when fewer remain. The form for hot loops: the result is a flag the
 * compiler can branch on, where a pointer would be tested against NULL.
 */
static inline bool rd_take(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->err || n > r->len - r->off)
		return rd_fail(r);
	*out = r->p + r->off;
	r->off += n;
	return true;
}

/** Take n bytes: a pointer to them, or NULL (and the error set) when fewer remain. */
static inline const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	const uint8_t *b;

	return rd_take(r, n, &b) ? b : NULL;
}

/** Skip n bytes; false (and the error set) when fewer remain. */
static inline bool rd_skip(struct rd *r, size_t n)
{
	return rd_bytes(r, n) != NULL;
}

/** An n-byte (1..8) big-endian number; 0 (and the error set) when fewer remain. */
static inline uint64_t rd_uint(struct rd *r, unsigned n)
{
	const uint8_t *b = rd_bytes(r, n);
	uint64_t v = 0;

	for (unsigned i = 0; b && i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static inline uint8_t rd_u8(struct rd *r)
{
	const uint8_t *b = rd_bytes(r, 1);

	return b ? b[0] : 0;
}

static inline uint16_t rd_u16(struct rd *r)
{
	const uint8_t *b = rd_bytes(r, 2);

	return b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
}

static inline uint32_t rd_u32(struct rd *r)
{
	const uint8_t *b = rd_bytes(r, 4);

	return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static inline uint64_t rd_u64(struct rd *r)
{
	return rd_uint(r, 8);
}

/**
 * A cursor over the next n bytes, which r skips. When fewer remain, r's
 * error is set and the result is an empty cursor with its error set.
 */
/* Is what is left of r the string str, ignoring ASCII case? (NULL: no) */
static inline bool rd_eq_ci(const struct rd *r, const char *str)
{
	size_t n = rd_left(r);

	return str && strlen(str) == n && strncasecmp((const char *)rd_ptr(r), str, n) == 0;
}

static inline struct rd rd_sub(struct rd *r, size_t n)
{
	const uint8_t *b = rd_bytes(r, n);
	struct rd s = rd_init(b, b ? n : 0);

	s.err = !b;
	return s;
}

/**
 * A length-prefixed field: a lenbytes-wide (1..8) big-endian length, then
 * that many bytes, as a cursor of their own (rd_sub).
 */
static inline struct rd rd_vec(struct rd *r, unsigned lenbytes)
{
	uint64_t n = rd_uint(r, lenbytes);

	if (n > rd_left(r))
		rd_fail(r); /* and rd_sub() gives a failed cursor, whatever n is */
	return rd_sub(r, (size_t)n);
}

#endif
