/* pb.h - a bounds-checked reader of the protobuf wire format, shared by the
 * geosite.dat and geoip.dat decoders (list_geosite.c, list_geoip.c). Only
 * what those schemas use: varints and length-delimited fields; fixed-size
 * fields are skipped, groups are refused. Internal to src/. */
#ifndef PB_H
#define PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_WT_VARINT = 0, PB_WT_I64 = 1, PB_WT_LEN = 2, PB_WT_I32 = 5 };

/** Bytes still to read: [p, end). */
struct pb {
	const uint8_t *p, *end;
};

struct pb_field {
	uint32_t num;
	unsigned wt;
	uint64_t v;    /* varint value or length */
	struct pb sub; /* PB_WT_LEN payload */
};

/** One varint (at most 10 bytes); 0 or -EBADMSG. */
int pb_varint(struct pb *r, uint64_t *v);

/** Next field of r: 1 read, 0 at the end, -EBADMSG on damage (a length
 * past the end, a field number 0, a group). */
int pb_next(struct pb *r, struct pb_field *f);

#endif
