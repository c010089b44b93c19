/* pb.c - the protobuf wire reader (see pb.h). Every length is checked
 * against what remains before anything is consumed. */
#include "config.h"
#include "pb.h"

#include <errno.h>

int pb_varint(struct pb *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned s = 0; s < 64; s += 7) {
		uint8_t b;

		if (r->p >= r->end)
			return -EBADMSG;
		b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG; /* longer than 10 bytes */
}

int pb_next(struct pb *r, struct pb_field *f)
{
	uint64_t key;
	size_t skip = 0;

	if (r->p >= r->end)
		return 0;
	if (pb_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
		return -EBADMSG;
	f->num = (uint32_t)(key >> 3);
	f->wt = (unsigned)(key & 7);
	switch (f->wt) {
	case PB_WT_VARINT:
		return pb_varint(r, &f->v) < 0 ? -EBADMSG : 1;
	case PB_WT_I64:
		skip = 8;
		break;
	case PB_WT_I32:
		skip = 4;
		break;
	case PB_WT_LEN:
		if (pb_varint(r, &f->v) < 0 || f->v > (uint64_t)(r->end - r->p))
			return -EBADMSG;
		f->sub = (struct pb){r->p, r->p + f->v};
		skip = (size_t)f->v;
		break;
	default: /* groups (3, 4) are used by no schema read here */
		return -EBADMSG;
	}
	if (skip > (size_t)(r->end - r->p))
		return -EBADMSG;
	r->p += skip;
	return 1;
}
