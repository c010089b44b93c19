/* pb.h - the protobuf wire format on the bounds-checked reader (rd.h),
 * shared by the geosite.dat and geoip.dat decoders (list_geosite.c,
 * list_geoip.c). Only what those schemas use: varints and length-delimited
 * fields; fixed-size fields are skipped, groups are refused. Internal to
 * src/. */
#ifndef PB_H
#define PB_H

#include <stddef.h>
#include <stdint.h>
#include "rd.h"

enum { PB_WT_VARINT = 0, PB_WT_I64 = 1, PB_WT_LEN = 2, PB_WT_I32 = 5 };

struct pb_field {
	uint32_t num;
	unsigned wt;
	uint64_t v;    /* varint value or length */
	struct rd sub; /* PB_WT_LEN payload */
};

/** One varint (at most 10 bytes); 0 or -EBADMSG. */
int pb_varint(struct rd *r, uint64_t *v);

/** Next field of r: 1 read, 0 at the end, -EBADMSG on damage (a length
 * past the end, a field number 0, a group); r's offset is then where the
 * damage was found. */
int pb_next(struct rd *r, struct pb_field *f);

#endif
