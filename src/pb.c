/* pb.c - the protobuf wire reader (see pb.h). Every length is checked
 * against what remains (rd.h) before anything is consumed. */
#include "config.h"
#include "pb.h"

#include <errno.h>

int pb_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned s = 0; s < 64; s += 7) {
		uint8_t b = rd_u8(r);

		if (!rd_ok(r))
			return -EBADMSG;
		x |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	rd_fail(r); /* longer than 10 bytes */
	return -EBADMSG;
}

int pb_next(struct rd *r, struct pb_field *f)
{
	uint64_t key;

	if (rd_left(r) == 0 && rd_ok(r))
		return 0;
	if (pb_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) {
		rd_fail(r);
		return -EBADMSG;
	}
	f->num = (uint32_t)(key >> 3);
	f->wt = (unsigned)(key & 7);
	switch (f->wt) {
	case PB_WT_VARINT:
		return pb_varint(r, &f->v) < 0 ? -EBADMSG : 1;
	case PB_WT_I64:
		return rd_skip(r, 8) ? 1 : -EBADMSG;
	case PB_WT_I32:
		return rd_skip(r, 4) ? 1 : -EBADMSG;
	case PB_WT_LEN:
		if (pb_varint(r, &f->v) < 0 || f->v > rd_left(r))
			break;
		f->sub = rd_sub(r, (size_t)f->v);
		return 1;
	default: /* groups (3, 4) are used by no schema read here */
		break;
	}
	rd_fail(r);
	return -EBADMSG;
}
