/* nftset_msg.c - nf_tables netlink messages for nftset: the transaction
 * that adds addresses to one set, the request for a set's description, and
 * the walk over what the kernel answers. Built with libmnl straight into
 * the caller's buffer (nothing allocated per element, unlike libnftnl's
 * object per element); only the few attributes sluice uses are written.
 *
 * An add transaction, as the kernel takes it (nfnetlink batch):
 *   BATCH_BEGIN           res_id = NFNL_SUBSYS_NFTABLES
 *   DESTROYSETELEM        table, set, elements { key }        (optional)
 *   NEWSETELEM|CREATE     table, set, elements { key, timeout ms }
 *   BATCH_END
 * all committed at once, or none. */
#include "config.h"
#include "nftset_msg.h"
#include "sluice.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>

/* Header + nfgenmsg + table and set names (padded) */
#define HDR_MAX                                                                                    \
	(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) + 2 * MNL_ATTR_HDRLEN +             \
	 2 * MNL_ALIGN(NFTSET_NAME_MAX + 1) + MNL_ATTR_HDRLEN)
/* One element: list elem nest, key nest, value (16 bytes at most), timeout */
#define ELEM_MAX (3 * MNL_ATTR_HDRLEN + 16 + MNL_ATTR_HDRLEN + 8)

size_t nftset_msg_batch_size(size_t n)
{
	/* begin and end are bare headers; two element messages */
	return 2 * (MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))) + 2 * HDR_MAX +
	       2 * n * ELEM_MAX;
}

static struct nlmsghdr *put_hdr(uint8_t *buf, uint16_t type, uint16_t flags, uint32_t seq,
				uint8_t family, uint16_t res_id)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

static uint16_t nft_type(int msg)
{
	return (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg);
}

/* One element message; timeouts only when add. */
static size_t put_elems(uint8_t *buf, uint16_t msg, uint16_t flags, uint32_t seq,
			const struct nftset_spec *s, size_t keylen, const struct nftset_elem *e,
			size_t n, bool add)
{
	struct nlmsghdr *nlh = put_hdr(buf, nft_type(msg), flags | NLM_F_ACK, seq, s->family, 0);
	struct nlattr *list;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, s->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s->set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (size_t i = 0; i < n; i++) {
		struct nlattr *el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

		mnl_attr_put(nlh, NFTA_DATA_VALUE, keylen, e[i].addr);
		mnl_attr_nest_end(nlh, key);
		if (add)
			mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT,
					 htobe64((uint64_t)e[i].timeout_s * 1000));
		mnl_attr_nest_end(nlh, el);
	}
	mnl_attr_nest_end(nlh, list);
	return nlh->nlmsg_len;
}

int nftset_msg_add_batch(uint8_t *buf, size_t cap, uint32_t seq, const struct nftset_spec *s,
			 size_t keylen, const struct nftset_elem *e, size_t n, bool destroy)
{
	size_t off = 0;

	if ((keylen != 4 && keylen != 16) || cap < nftset_msg_batch_size(n))
		return -ENOSPC;
	off +=
	    put_hdr(buf, NFNL_MSG_BATCH_BEGIN, 0, seq, AF_UNSPEC, NFNL_SUBSYS_NFTABLES)->nlmsg_len;
	if (destroy)
		off += put_elems(buf + off, NFTSET_MSG_DESTROYSETELEM, 0, seq + 1, s, keylen, e, n,
				 false);
	off +=
	    put_elems(buf + off, NFT_MSG_NEWSETELEM, NLM_F_CREATE, seq + 2, s, keylen, e, n, true);
	off += put_hdr(buf + off, NFNL_MSG_BATCH_END, 0, seq + 3, AF_UNSPEC, NFNL_SUBSYS_NFTABLES)
		   ->nlmsg_len;
	return (int)off;
}

int nftset_msg_getset(uint8_t *buf, size_t cap, uint32_t seq, const struct nftset_spec *s)
{
	struct nlmsghdr *nlh;

	if (cap < HDR_MAX)
		return -ENOSPC;
	nlh = put_hdr(buf, nft_type(NFT_MSG_GETSET), NLM_F_ACK, seq, s->family, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, s->table);
	mnl_attr_put_strz(nlh, NFTA_SET_NAME, s->set);
	return (int)nlh->nlmsg_len;
}

int nftset_msg_gettable(uint8_t *buf, size_t cap, uint32_t seq, const struct nftset_spec *s)
{
	struct nlmsghdr *nlh;

	if (cap < HDR_MAX)
		return -ENOSPC;
	nlh = put_hdr(buf, nft_type(NFT_MSG_GETTABLE), NLM_F_ACK, seq, s->family, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, s->table);
	return (int)nlh->nlmsg_len;
}

static int table_attr(const struct nlattr *a, void *arg)
{
	struct nftset_reply *r = arg;

	if (mnl_attr_get_type(a) != NFTA_TABLE_HANDLE)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
		return MNL_CB_ERROR;
	r->handle = be64toh(mnl_attr_get_u64(a));
	return MNL_CB_OK;
}

static int set_attr(const struct nlattr *a, void *arg)
{
	struct nftset_reply *r = arg;
	uint16_t t = mnl_attr_get_type(a);

	if (t == NFTA_SET_HANDLE) {
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return MNL_CB_ERROR;
		r->handle = be64toh(mnl_attr_get_u64(a));
		return MNL_CB_OK;
	}
	if (t != NFTA_SET_FLAGS && t != NFTA_SET_KEY_TYPE && t != NFTA_SET_KEY_LEN)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	if (t == NFTA_SET_FLAGS)
		r->flags = ntohl(mnl_attr_get_u32(a));
	else if (t == NFTA_SET_KEY_TYPE)
		r->key_type = ntohl(mnl_attr_get_u32(a));
	else
		r->key_len = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

int nftset_msg_replies(const uint8_t *buf, size_t len,
		       void (*cb)(void *arg, const struct nftset_reply *r), void *arg)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)SL_MIN(len, (size_t)INT32_MAX);

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		struct nftset_reply r = {.seq = nlh->nlmsg_seq};

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			r.type = e->msg.nlmsg_type;
			r.error = e->error > 0 ? -e->error : e->error;
		} else if (nlh->nlmsg_type == nft_type(NFT_MSG_NEWSET) ||
			   nlh->nlmsg_type == nft_type(NFT_MSG_NEWTABLE)) {
			r.type = nlh->nlmsg_type;
			r.is_set = nlh->nlmsg_type == nft_type(NFT_MSG_NEWSET);
			r.is_table = !r.is_set;
			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) ||
			    mnl_attr_parse(nlh, sizeof(struct nfgenmsg),
					   r.is_set ? set_attr : table_attr, &r) < 0)
				return -EBADMSG;
		} else {
			continue; /* NLMSG_DONE, NLMSG_NOOP: nothing to report */
		}
		cb(arg, &r);
	}
	return left == 0 ? 0 : -EBADMSG;
}
