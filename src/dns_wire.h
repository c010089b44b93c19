/* dns_wire.h - byte-level helpers shared by the DNS message modules
 * (dns_msg.c, dns_answer.c): big-endian decoding of bytes already checked
 * and writes, ASCII lowercase, and the name reader on the bounds-checked
 * reader (rd.h). Internal to src/. */
#ifndef DNS_WIRE_H
#define DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? c | 0x20 : c;
}

struct rd;

/*
 * Read the name at m's offset (see dns_msg.c for the pointer rules) and
 * move m past it as it sits in the message (m's buffer is the whole message:
 * pointers are offsets into it; m's end bounds the name). lw (may be NULL)
 * receives the lowercase uncompressed wire form and *wlen its length;
 * *compressed (may be NULL) says whether a pointer was followed; fixed
 * (may be NULL) marks bytes no name may run through. 0 or -EBADMSG (m
 * stays where it was).
 */
int dns_wire_name_take(struct rd *m, uint8_t *lw, size_t *wlen, bool *compressed,
		       const uint8_t *fixed);

/*
 * Read the name at *off of pkt[0..len) (see dns_msg.c for the pointer
 * rules). lw (may be NULL) receives the lowercase uncompressed wire form
 * and *wlen its length; *off moves past the name as it sits in the message;
 * *compressed (may be NULL) says whether a pointer was followed; fixed
 * (may be NULL) marks bytes no name may run through. 0 or -EBADMSG.
 */
int dns_wire_name_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t *lw, size_t *wlen,
		       bool *compressed, const uint8_t *fixed);

#endif
