#include "config.h"
/* test_nftset.c - nftset: parsing `nftset FAMILY#TABLE#SET[,...]` (alone
 * and as a dns-rule option, with nftset-min-timeout), the netlink messages
 * byte for byte (read back with libmnl), the addresses taken from an
 * answer (CNAME chains, strangers left out), and the adder's batching,
 * dedup and error handling against a fake kernel that keeps sets and
 * answers as nf_tables does (transactions all or nothing, ACKs, errors).
 * The fake sits behind struct nftset_io, where the netlink socket goes. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "ctr.h"
#include "dns_conf.h"
#include "dns_msg.h"
#include "log.h"
#include "nftset.h"
#include "nftset_msg.h"

/* ---- specs ---- */

static void t_spec_parse(void **state)
{
	struct nftset_spec s[NFTSET_MAX_PER_RULE];
	char err[256], name[200];

	(void)state;
	assert_int_equal(
	    nftset_spec_parse("inet#fw4#proxied4,inet#fw4#proxied6", s, 8, err, sizeof(err)), 2);
	assert_int_equal(s[0].family, NFPROTO_INET);
	assert_string_equal(s[0].table, "fw4");
	assert_string_equal(s[0].set, "proxied4");
	assert_string_equal(s[1].set, "proxied6");
	assert_int_equal(nftset_spec_parse("ip#filter#v4,ip6#filter#v6", s, 8, err, sizeof(err)),
			 2);
	assert_int_equal(s[0].family, NFPROTO_IPV4);
	assert_int_equal(s[1].family, NFPROTO_IPV6);
	nftset_spec_name(&s[1], name, sizeof(name));
	assert_string_equal(name, "ip6#filter#v6");
	assert_int_equal(nftset_spec_parse("inet#my-t.1#a_b/c", s, 8, err, sizeof(err)), 1);
	assert_true(nftset_spec_equal(&s[0], &s[0]));
}

static void t_spec_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cs[] = {
	    {"fw4#proxied4", "'fw4#proxied4' is not FAMILY#TABLE#SET (as in inet#fw4#proxied4)"},
	    {"", "'' is not FAMILY#TABLE#SET (as in inet#fw4#proxied4)"},
	    {"inet#fw4#a,", "'' is not FAMILY#TABLE#SET (as in inet#fw4#proxied4)"},
	    {"bridge#t#s", "'bridge#t#s': family must be inet, ip or ip6"},
	    {"4#t#s", "'4#t#s': family must be inet, ip or ip6"},
	    {"inet##s", "'inet##s': table and set names are 1 to 64 letters, digits, _ . - or /"},
	    {"inet#t#", "'inet#t#': table and set names are 1 to 64 letters, digits, _ . - or /"},
	    {"inet#t#s#x",
	     "'inet#t#s#x': table and set names are 1 to 64 letters, digits, _ . - or /"},
	    {"inet#t#s p",
	     "'inet#t#s p': table and set names are 1 to 64 letters, digits, _ . - or /"},
	    {"inet#t#a,inet#t#a", "'inet#t#a' is named twice"},
	    {"inet#t#1,inet#t#2,inet#t#3,inet#t#4,inet#t#5,inet#t#6,inet#t#7,inet#t#8,inet#t#9",
	     "at most 8 sets"},
	};
	struct nftset_spec s[NFTSET_MAX_PER_RULE];
	char err[256], long_name[100];

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_LEN(cs); i++) {
		err[0] = '\0';
		assert_int_equal(nftset_spec_parse(cs[i].text, s, 8, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cs[i].err);
	}
	snprintf(long_name, sizeof(long_name), "inet#t#%065d", 0);
	assert_int_equal(nftset_spec_parse(long_name, s, 8, err, sizeof(err)), -EINVAL);
	long_name[strlen(long_name) - 1] = '\0'; /* 64: the most */
	assert_int_equal(nftset_spec_parse(long_name, s, 8, err, sizeof(err)), 1);
}

/* ---- the rule option and the directive ---- */

#define BASE "listen 0.0.0.0:15000\nintercept udp 53 dns\nupstream up udp://192.0.2.1\n"

static struct cfg *load(const char *text, char *err, size_t errlen, char *path, size_t plen)
{
	FILE *f;
	int fd;

	snprintf(path, plen, "/tmp/sluice-test-nftset-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	return cfg_load(path, err, errlen);
}

static void t_rule_option(void **state)
{
	char err[512], path[64];
	struct cfg *c =
	    load(BASE "dns-rule domain:a.example forward up nftset inet#fw4#p4,inet#fw4#p6\n"
		      "dns-rule domain:b.example forward up no-ech nftset inet#fw4#p6 no-aaaa\n"
		      "dns-rule domain:c.example address 192.0.2.7 nftset ip#t#s ttl=5\n"
		      "dns-rule all forward up\n",
		 err, sizeof(err), path, sizeof(path));
	const struct dns_conf *d;

	(void)state;
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	assert_int_equal(d->nftset_min_timeout, 60); /* the default */
	assert_int_equal(d->n_nftsets, 3);	     /* each set once */
	assert_int_equal(d->rules[0].n_nftset, 2);
	assert_int_equal(d->rules[0].nftset[0], 0);
	assert_int_equal(d->rules[0].nftset[1], 1);
	assert_int_equal(d->rules[1].n_nftset, 1);
	assert_int_equal(d->rules[1].nftset[0], 1); /* inet#fw4#p6 shared */
	assert_true(d->rules[1].no_ech && d->rules[1].no_aaaa);
	assert_int_equal(d->rules[2].n_nftset, 1);
	assert_int_equal(d->rules[2].ttl, 5);
	assert_int_equal(d->nftsets[2].family, NFPROTO_IPV4);
	assert_int_equal(d->rules[3].n_nftset, 0);
	cfg_free(c);

	c = load(BASE "nftset-min-timeout 3600\n", err, sizeof(err), path, sizeof(path));
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(dns_conf_get(c)->nftset_min_timeout, 3600);
	cfg_free(c);
}

static void t_rule_option_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cs[] = {
	    {BASE "dns-rule all forward up nftset\n",
	     ":4: usage: nftset FAMILY#TABLE#SET[,FAMILY#TABLE#SET...]"},
	    {BASE "dns-rule all block nftset inet#t#s\n",
	     ":4: nftset does not go with this action"},
	    {BASE "dns-rule all forward up nftset inet#t\n",
	     ":4: nftset: 'inet#t' is not FAMILY#TABLE#SET (as in inet#fw4#proxied4)"},
	    {BASE "dns-rule all forward up nftset arp#t#s\n",
	     ":4: nftset: 'arp#t#s': family must be inet, ip or ip6"},
	    {BASE "dns-rule all forward up nftset inet#t#a nftset inet#t#b\n",
	     ":4: nftset: give every set in one nftset option"},
	    {BASE "nftset-min-timeout 0\n",
	     ":4: nftset-min-timeout: '0' is not a number from 1 to 604800"},
	};
	char err[512], path[64], want[600];

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_LEN(cs); i++) {
		struct cfg *c = load(cs[i].text, err, sizeof(err), path, sizeof(path));

		unlink(path);
		if (c) {
			cfg_free(c);
			fail_msg("loaded: %s", cs[i].text);
		}
		snprintf(want, sizeof(want), "%s%s", path, cs[i].err);
		assert_string_equal(err, want);
	}
}

/* More than NFTSET_MAX_SETS distinct sets in one config. */
static void t_too_many_sets(void **state)
{
	char *text = malloc(65536), err[512], path[64], want[600];
	size_t off = (size_t)snprintf(text, 65536, "%s", BASE);
	struct cfg *c;

	(void)state;
	for (int i = 0; i <= NFTSET_MAX_SETS; i++)
		off += (size_t)snprintf(text + off, 65536 - off,
					"dns-rule full:%d.example forward up nftset inet#t#s%d\n",
					i, i);
	c = load(text, err, sizeof(err), path, sizeof(path));
	unlink(path);
	free(text);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:%d: nftset: at most 64 different sets in a config", path,
		 4 + NFTSET_MAX_SETS);
	assert_string_equal(err, want);
}

/* ---- messages ---- */

#define EL_MAX 512

struct elems {
	uint8_t key[EL_MAX][16];
	size_t keylen[EL_MAX];
	uint64_t timeout_ms[EL_MAX];
	bool has_timeout[EL_MAX];
	size_t n;
	char table[80], set[80];
};

static int elem_cb(const struct nlattr *a, void *arg)
{
	struct elems *e = arg;

	if (mnl_attr_get_type(a) == NFTA_SET_ELEM_KEY) {
		const struct nlattr *v = mnl_attr_get_payload(a);

		assert_int_equal(mnl_attr_get_type(v), NFTA_DATA_VALUE);
		e->keylen[e->n] = mnl_attr_get_payload_len(v);
		memcpy(e->key[e->n], mnl_attr_get_payload(v), e->keylen[e->n]);
	} else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_TIMEOUT) {
		e->timeout_ms[e->n] = be64toh(mnl_attr_get_u64(a));
		e->has_timeout[e->n] = true;
	}
	return MNL_CB_OK;
}

static int list_cb(const struct nlattr *a, void *arg)
{
	struct elems *e = arg;

	assert_int_equal(mnl_attr_get_type(a), NFTA_LIST_ELEM);
	assert_true(e->n < EL_MAX);
	assert_true(mnl_attr_parse_nested(a, elem_cb, e) >= 0);
	e->n++;
	return MNL_CB_OK;
}

static int top_cb(const struct nlattr *a, void *arg)
{
	struct elems *e = arg;

	switch (mnl_attr_get_type(a)) {
	case NFTA_SET_ELEM_LIST_TABLE:
		snprintf(e->table, sizeof(e->table), "%s", mnl_attr_get_str(a));
		break;
	case NFTA_SET_ELEM_LIST_SET:
		snprintf(e->set, sizeof(e->set), "%s", mnl_attr_get_str(a));
		break;
	case NFTA_SET_ELEM_LIST_ELEMENTS:
		assert_true(mnl_attr_parse_nested(a, list_cb, e) >= 0);
		break;
	}
	return MNL_CB_OK;
}

static void t_msg_batch(void **state)
{
	struct nftset_spec s = {.family = NFPROTO_INET, .table = "fw4", .set = "proxied4"};
	struct nftset_elem e[3] = {
	    {{192, 0, 2, 1}, 300}, {{192, 0, 2, 2}, 60}, {{198, 51, 100, 9}, 1}};
	static const uint16_t types[4] = {
	    NFNL_MSG_BATCH_BEGIN, NFNL_SUBSYS_NFTABLES << 8 | NFTSET_MSG_DESTROYSETELEM,
	    NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM, NFNL_MSG_BATCH_END};
	uint8_t buf[4096];
	const struct nlmsghdr *nlh = (const void *)buf;
	int len = nftset_msg_add_batch(buf, sizeof(buf), 1000, &s, 4, e, 3, true), left, i = 0;

	(void)state;
	assert_true(len > 0 && (size_t)len <= nftset_msg_batch_size(3));
	assert_int_equal(
	    nftset_msg_add_batch(buf, nftset_msg_batch_size(3) - 1, 1, &s, 4, e, 3, true), -ENOSPC);
	left = len;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), i++) {
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
		static struct elems el;

		memset(&el, 0, sizeof(el));
		assert_true(i < 4);
		assert_int_equal(nlh->nlmsg_type, types[i]);
		assert_int_equal(nlh->nlmsg_seq, 1000 + (unsigned)i);
		assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
		if (i == 0 || i == 3) {
			assert_int_equal(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
			continue;
		}
		assert_int_equal(g->nfgen_family, NFPROTO_INET);
		assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		assert_int_equal(!!(nlh->nlmsg_flags & NLM_F_CREATE), i == 2);
		assert_true(mnl_attr_parse(nlh, sizeof(*g), top_cb, &el) >= 0);
		assert_string_equal(el.table, "fw4");
		assert_string_equal(el.set, "proxied4");
		assert_int_equal(el.n, 3);
		for (size_t k = 0; k < 3; k++) {
			assert_int_equal(el.keylen[k], 4);
			assert_memory_equal(el.key[k], e[k].addr, 4);
			assert_int_equal(el.has_timeout[k], i == 2); /* destroy names keys only */
			if (i == 2)
				assert_int_equal(el.timeout_ms[k], (uint64_t)e[k].timeout_s * 1000);
		}
	}
	assert_int_equal(i, 4);
	assert_int_equal(left, 0);

	/* Without destroy: three messages; IPv6 keys. */
	memcpy(e[0].addr, (uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, [15] = 1}, 16);
	len = nftset_msg_add_batch(buf, sizeof(buf), 7, &s, 16, e, 1, false);
	nlh = (const void *)buf;
	left = len;
	for (i = 0; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), i++)
		if (i == 1) {
			struct elems el = {0};

			assert_int_equal(nlh->nlmsg_type,
					 NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM);
			assert_int_equal(nlh->nlmsg_seq, 9);
			assert_true(mnl_attr_parse(nlh, sizeof(struct nfgenmsg), top_cb, &el) >= 0);
			assert_int_equal(el.n, 1);
			assert_int_equal(el.keylen[0], 16);
			assert_memory_equal(el.key[0], e[0].addr, 16);
		}
	assert_int_equal(i, 3);
	assert_int_equal(nftset_msg_add_batch(buf, sizeof(buf), 7, &s, 6, e, 1, false), -ENOSPC);
}

static int get_cb(const struct nlattr *a, void *arg)
{
	char *out = arg;
	uint16_t t = mnl_attr_get_type(a);

	if (t == NFTA_SET_TABLE || t == NFTA_SET_NAME)
		strcat(strcat(out, mnl_attr_get_str(a)), "/");
	return MNL_CB_OK;
}

static void t_msg_getset(void **state)
{
	struct nftset_spec s = {.family = NFPROTO_IPV6, .table = "tbl", .set = "s6"};
	uint8_t buf[1024];
	char names[64] = "";
	int len = nftset_msg_getset(buf, sizeof(buf), 42, &s);
	const struct nlmsghdr *nlh = (const void *)buf;

	(void)state;
	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_len, (unsigned)len);
	assert_int_equal(nlh->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETSET);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK); /* no dump */
	assert_int_equal(((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family,
			 NFPROTO_IPV6);
	assert_true(mnl_attr_parse(nlh, sizeof(struct nfgenmsg), get_cb, names) >= 0);
	assert_string_equal(names, "tbl/s6/");
	len = nftset_msg_gettable(buf, sizeof(buf), 43, &s);
	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE);
	assert_int_equal(nftset_msg_getset(buf, 16, 1, &s), -ENOSPC);
}

/* ---- a fake nf_tables behind struct nftset_io ---- */

#define FK_ELEMS 1024

struct fset {
	struct nftset_spec spec;
	uint32_t key_type, key_len, flags;
	uint64_t handle;
	uint8_t key[FK_ELEMS][16];
	uint64_t timeout_ms[FK_ELEMS];
	size_t n;
};

struct fk {
	struct nftset_io io;
	struct fset sets[8], stage[8];
	size_t nsets;
	uint64_t table_handle;
	bool old_kernel; /* before 6.3: DESTROYSETELEM is unknown */
	int force_err;	 /* every element message fails so */
	unsigned xfers, datagrams, lookups, elem_msgs, destroys, max_elems;
	size_t off, cap; /* reply being written */
	uint8_t *reply;
};

static struct fset *fk_find(struct fset *sets, size_t n, const char *table, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(sets[i].spec.table, table) == 0 && strcmp(sets[i].spec.set, set) == 0)
			return &sets[i];
	return NULL;
}

static void fk_ack(struct fk *k, const struct nlmsghdr *req, int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(k->reply + k->off);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	assert_true(k->off + 64 <= k->cap);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	e->error = err;
	e->msg = *req; /* NETLINK_CAP_ACK: the header only */
	k->off += nlh->nlmsg_len;
}

static struct nlmsghdr *fk_put(struct fk *k, uint16_t type, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(k->reply + k->off);

	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type);
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	return nlh;
}

/* A GETSET or GETTABLE request. */
static void fk_get(struct fk *k, const struct nlmsghdr *req)
{
	struct elems names = {0};
	char n[64] = "";
	struct fset *s;
	struct nlmsghdr *nlh;

	assert_true(mnl_attr_parse(req, sizeof(struct nfgenmsg), get_cb, n) >= 0);
	if ((req->nlmsg_type & 0xff) == NFT_MSG_GETTABLE) {
		nlh = fk_put(k, NFT_MSG_NEWTABLE, req->nlmsg_seq);
		mnl_attr_put_u64(nlh, NFTA_TABLE_HANDLE, htobe64(k->table_handle));
		k->off += nlh->nlmsg_len;
		fk_ack(k, req, 0);
		return;
	}
	k->lookups++;
	sscanf(n, "%79[^/]/%79[^/]/", names.table, names.set);
	s = fk_find(k->sets, k->nsets, names.table, names.set);
	if (!s) {
		fk_ack(k, req, -ENOENT);
		return;
	}
	nlh = fk_put(k, NFT_MSG_NEWSET, req->nlmsg_seq);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, s->spec.table);
	mnl_attr_put_strz(nlh, NFTA_SET_NAME, s->spec.set);
	mnl_attr_put_u32(nlh, NFTA_SET_FLAGS, htonl(s->flags));
	mnl_attr_put_u32(nlh, NFTA_SET_KEY_TYPE, htonl(s->key_type));
	mnl_attr_put_u32(nlh, NFTA_SET_KEY_LEN, htonl(s->key_len));
	mnl_attr_put_u64(nlh, NFTA_SET_HANDLE, htobe64(s->handle));
	k->off += nlh->nlmsg_len;
	fk_ack(k, req, 0);
}

/* One element message of a transaction, applied to the staged sets. */
static int fk_elems(struct fk *k, const struct nlmsghdr *req)
{
	uint16_t type = req->nlmsg_type & 0xff;
	struct elems el = {0};
	struct fset *s;

	if (type == NFTSET_MSG_DESTROYSETELEM && k->old_kernel)
		return -EINVAL;
	assert_true(mnl_attr_parse(req, sizeof(struct nfgenmsg), top_cb, &el) >= 0);
	s = fk_find(k->stage, k->nsets, el.table, el.set);
	if (!s)
		return -ENOENT;
	if (k->force_err)
		return k->force_err;
	k->elem_msgs++;
	k->max_elems = SL_MAX(k->max_elems, (unsigned)el.n);
	for (size_t i = 0; i < el.n; i++) {
		size_t j;

		assert_int_equal(el.keylen[i], s->key_len);
		for (j = 0; j < s->n && memcmp(s->key[j], el.key[i], s->key_len) != 0; j++)
			;
		if (type == NFTSET_MSG_DESTROYSETELEM) {
			k->destroys++;
			if (j < s->n)
				s->timeout_ms[j] = 0, memmove(s->key[j], s->key[--s->n], 16),
				s->timeout_ms[j] = s->timeout_ms[s->n];
			continue;
		}
		assert_true(el.has_timeout[i]);
		if (j == s->n) {
			assert_true(s->n < FK_ELEMS);
			memcpy(s->key[s->n], el.key[i], 16);
			s->timeout_ms[s->n++] = el.timeout_ms[i];
		} /* else: kept as it was (a kernel before 6.10 ignores the new timeout) */
	}
	return 0;
}

static int fk_xfer(void *ctx, const struct iovec *msgs, unsigned n, uint8_t *reply, size_t cap)
{
	struct fk *k = ctx;

	k->xfers++;
	k->reply = reply;
	k->cap = cap;
	k->off = 0;
	for (unsigned d = 0; d < n; d++) {
		const struct nlmsghdr *nlh = msgs[d].iov_base;
		int left = (int)msgs[d].iov_len, err = 0;
		bool batch = nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN;

		k->datagrams++;
		if (batch)
			memcpy(k->stage, k->sets, sizeof(k->sets));
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			uint16_t t = nlh->nlmsg_type;
			int rc;

			if (t == NFNL_MSG_BATCH_BEGIN || t == NFNL_MSG_BATCH_END)
				continue;
			if (!batch) {
				fk_get(k, nlh);
				continue;
			}
			rc = fk_elems(k, nlh);
			if (rc < 0 && !err)
				err = rc;
			if (rc < 0 || (nlh->nlmsg_flags & NLM_F_ACK))
				fk_ack(k, nlh, rc);
		}
		assert_int_equal(left, 0);
		if (batch && !err) /* commit: all or nothing */
			memcpy(k->sets, k->stage, sizeof(k->sets));
	}
	return (int)k->off;
}

static struct fk *fk_new(void)
{
	struct fk *k = calloc(1, sizeof(*k));
	static const struct {
		const char *set;
		uint32_t type, len, flags;
	} sets[] = {
	    {"a4", NFTSET_TYPE_IPADDR, 4, NFT_SET_TIMEOUT},
	    {"a6", NFTSET_TYPE_IP6ADDR, 16, NFT_SET_TIMEOUT},
	    {"nt", NFTSET_TYPE_IPADDR, 4, 0},
	    {"iv", NFTSET_TYPE_IPADDR, 4, NFT_SET_TIMEOUT | NFT_SET_INTERVAL},
	    {"map", NFTSET_TYPE_IPADDR, 4, NFT_SET_TIMEOUT | NFT_SET_MAP},
	    {"port", 13, 2, NFT_SET_TIMEOUT},
	};

	assert_non_null(k);
	for (size_t i = 0; i < SL_ARRAY_LEN(sets); i++) {
		struct fset *s = &k->sets[k->nsets++];

		s->spec = (struct nftset_spec){.family = NFPROTO_INET, .table = "lab"};
		snprintf(s->spec.set, sizeof(s->spec.set), "%s", sets[i].set);
		s->key_type = sets[i].type;
		s->key_len = sets[i].len;
		s->flags = sets[i].flags;
		s->handle = i + 1;
	}
	k->table_handle = 7;
	k->io = (struct nftset_io){fk_xfer, NULL, k};
	return k;
}

/* The element's timeout in set name, or 0 when it is not there. */
static uint64_t fk_timeout(struct fk *k, const char *set, const char *addr)
{
	struct fset *s = fk_find(k->sets, k->nsets, "lab", set);
	uint8_t a[16] = {0};

	assert_non_null(s);
	assert_int_equal(inet_pton(s->key_len == 4 ? AF_INET : AF_INET6, addr, a), 1);
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->key[i], a, s->key_len) == 0)
			return s->timeout_ms[i];
	return 0;
}

struct rig {
	struct fk *k;
	struct ctr ctr;
	struct log_once once;
	struct nftset *ns;
	struct nftset_spec specs[8];
	size_t n;
};

static struct rig *rig_new(const char *sets)
{
	struct rig *r = calloc(1, sizeof(*r));
	char err[256];
	int n;

	assert_non_null(r);
	r->k = fk_new();
	n = nftset_spec_parse(sets, r->specs, 8, err, sizeof(err));
	assert_true(n > 0);
	r->n = (size_t)n;
	r->ns = nftset_new(&(struct nftset_env){.ctr = &r->ctr, .once = &r->once, .io = &r->k->io});
	assert_non_null(r->ns);
	assert_int_equal(nftset_sync(r->ns, r->specs, r->n), 0);
	return r;
}

static void rig_free(struct rig *r)
{
	nftset_free(r->ns);
	free(r->k);
	free(r);
}

/* Add a text address to every set of the rig, as dns_nftset.c does. */
static void add(struct rig *r, const char *addr, uint32_t timeout_s, uint64_t now)
{
	uint8_t a[16];
	int af = strchr(addr, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(af, addr, a), 1);
	for (size_t i = 0; i < r->n; i++)
		nftset_add(r->ns, nftset_ref(r->ns, i), af, a, timeout_s, now);
}

static uint64_t C(struct rig *r, enum ctr_id id)
{
	return ctr_get(&r->ctr, id);
}

/* Addresses go by the set's type; one transaction per set, one call per flush. */
static void t_batch_by_family(void **state)
{
	struct rig *r = rig_new("inet#lab#a4,inet#lab#a6");
	uint64_t now = 1000000;

	(void)state;
	add(r, "192.0.2.1", 300, now);
	add(r, "192.0.2.2", 300, now);
	add(r, "2001:db8::1", 60, now);
	add(r, "192.0.2.3", 5, now);
	assert_int_equal(r->k->lookups, 2); /* each set once, at first use */
	assert_int_equal(r->k->xfers, 2);
	assert_true(nftset_pending(r->ns));
	nftset_flush(r->ns, now);
	assert_false(nftset_pending(r->ns));
	assert_int_equal(r->k->xfers, 3);	  /* one call */
	assert_int_equal(r->k->datagrams, 2 + 2); /* two lookups, a transaction per set */
	assert_int_equal(r->k->elem_msgs, 4);	  /* destroy + add, per set */
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.1"), 300000);
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.3"), 5000);
	assert_int_equal(fk_timeout(r->k, "a6", "2001:db8::1"), 60000);
	assert_int_equal(r->k->sets[1].n, 1); /* no IPv4 address in the IPv6 set */
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), 4);
	assert_int_equal(C(r, CTR_DNS_NFTSET_BATCHES), 2);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ERRORS), 0);
	nftset_flush(r->ns, now); /* nothing queued: no call */
	assert_int_equal(r->k->xfers, 3);
	add(r, "192.0.2.4", 0, now); /* 0 would be "never expires": 1 s instead */
	nftset_flush(r->ns, now);
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.4"), 1000);
	rig_free(r);
}

/* Sent again only when the timeout left is under 7/8 of the new one. */
static void t_dedup(void **state)
{
	struct rig *r = rig_new("inet#lab#a4");
	uint64_t now = 5000000;

	(void)state;
	add(r, "192.0.2.1", 800, now);
	nftset_flush(r->ns, now);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), 1);
	for (int i = 1; i <= 50; i++) /* a cache counting the TTL down */
		add(r, "192.0.2.1", 800 - (uint32_t)i, now + (uint64_t)i * 1000);
	add(r, "192.0.2.1", 700, now + 100 * 1000); /* 700 left: exactly 7/8 of 800 */
	add(r, "192.0.2.1", 60, now + 200 * 1000);  /* shorter: never sent (would cut it) */
	assert_false(nftset_pending(r->ns));
	assert_int_equal(C(r, CTR_DNS_NFTSET_DEDUPED), 52);
	add(r, "192.0.2.1", 800, now + 101 * 1000); /* 699 left < 700: refreshed */
	assert_true(nftset_pending(r->ns));
	add(r, "192.0.2.1", 800, now + 101 * 1000); /* the same, queued: once */
	nftset_flush(r->ns, now + 101 * 1000);
	assert_int_equal(r->k->destroys, 2); /* destroy + add: the new timeout holds */
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.1"), 800000);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), 2);
	assert_int_equal(C(r, CTR_DNS_NFTSET_DEDUPED), 53);
	/* Once the entry ran out (so did the element), the next answer sends it again. */
	add(r, "192.0.2.1", 30, now + 902 * 1000);
	assert_true(nftset_pending(r->ns));
	rig_free(r);
}

/* A full queue is flushed: many elements per message. */
static void t_queue_full(void **state)
{
	struct rig *r = rig_new("inet#lab#a4");
	uint64_t now = 1;
	char a[32];

	(void)state;
	for (int i = 0; i < NFTSET_QUEUE_MAX + 44; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i / 256, i % 256);
		add(r, a, 120, now);
	}
	assert_int_equal(C(r, CTR_DNS_NFTSET_BATCHES), 1);
	assert_int_equal(r->k->max_elems, NFTSET_QUEUE_MAX);
	assert_int_equal(r->k->sets[0].n, NFTSET_QUEUE_MAX);
	nftset_flush(r->ns, now);
	assert_int_equal(r->k->sets[0].n, NFTSET_QUEUE_MAX + 44);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), NFTSET_QUEUE_MAX + 44);
	assert_int_equal(C(r, CTR_DNS_NFTSET_BATCHES), 2);
	rig_free(r);
}

/* Sets sluice cannot use: refused at lookup, counted, looked up again later. */
static void t_unusable_sets(void **state)
{
	struct rig *r =
	    rig_new("inet#lab#missing,inet#lab#nt,inet#lab#iv,inet#lab#map,inet#lab#port");
	uint64_t now = 1000;

	(void)state;
	nftset_check(r->ns, now);
	assert_int_equal(r->k->lookups, 5);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ERRORS), 5);
	add(r, "192.0.2.1", 300, now + 1);
	assert_int_equal(r->k->lookups, 5); /* not again within 10 s */
	assert_int_equal(C(r, CTR_DNS_NFTSET_ERRORS), 10);
	assert_false(nftset_pending(r->ns));
	/* Each problem was logged once: the same text again is not. */
	assert_false(log_once_first(&r->once,
				    "nftset inet#lab#missing: no such table or set; its "
				    "addresses are not added until it is there (looked up again "
				    "every 10 s)",
				    3600 * 1000));
	/* The set appears (made by the firewall): used at the next look. */
	snprintf(r->k->sets[2].spec.set, sizeof(r->k->sets[2].spec.set), "missing");
	r->k->sets[2].flags = NFT_SET_TIMEOUT;
	add(r, "192.0.2.1", 300, now + 10001);
	assert_int_equal(r->k->lookups, 10);
	assert_true(nftset_pending(r->ns));
	nftset_flush(r->ns, now + 10001);
	assert_int_equal(fk_timeout(r->k, "missing", "192.0.2.1"), 300000);
	rig_free(r);
}

/* The set goes away after it was looked up: the add fails, is counted, the
 * address is not remembered, and the set is looked up again at next use. */
static void t_add_fails(void **state)
{
	struct rig *r = rig_new("inet#lab#a4");
	uint64_t now = 1000;

	(void)state;
	add(r, "192.0.2.1", 300, now);
	snprintf(r->k->sets[0].spec.set, sizeof(r->k->sets[0].spec.set), "gone");
	nftset_flush(r->ns, now);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ERRORS), 1);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), 0);
	snprintf(r->k->sets[0].spec.set, sizeof(r->k->sets[0].spec.set), "a4");
	add(r, "192.0.2.1", 300, now + 1);
	assert_int_equal(r->k->lookups, 2);
	assert_true(nftset_pending(r->ns)); /* not deduplicated: it never got in */
	nftset_flush(r->ns, now + 1);
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.1"), 300000);
	/* No permission: counted the same way. */
	r->k->force_err = -EPERM;
	add(r, "192.0.2.2", 300, now + 2);
	nftset_flush(r->ns, now + 2);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ERRORS), 2);
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.2"), 0);
	rig_free(r);
}

/* A kernel without DESTROYSETELEM: the flush is sent again without it, once for all. */
static void t_old_kernel(void **state)
{
	struct rig *r = rig_new("inet#lab#a4,inet#lab#a6");
	uint64_t now = 1000;

	(void)state;
	r->k->old_kernel = true;
	add(r, "192.0.2.1", 300, now);
	add(r, "2001:db8::1", 300, now);
	nftset_flush(r->ns, now);
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.1"), 300000);
	assert_int_equal(fk_timeout(r->k, "a6", "2001:db8::1"), 300000);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), 2);
	assert_int_equal(C(r, CTR_DNS_NFTSET_ERRORS), 0);
	assert_int_equal(C(r, CTR_DNS_NFTSET_BATCHES), 4); /* 2 refused, 2 again */
	add(r, "192.0.2.2", 300, now);
	nftset_flush(r->ns, now);
	assert_int_equal(C(r, CTR_DNS_NFTSET_BATCHES), 5); /* no destroy any more */
	assert_int_equal(C(r, CTR_DNS_NFTSET_ADDED), 3);
	rig_free(r);
}

/* A set made again (firewall reload: a new table handle) loses its dedup
 * entries at the periodic check; a reload keeps sets by name. */
static void t_remade_and_sync(void **state)
{
	struct rig *r = rig_new("inet#lab#a4");
	struct nftset_spec both[2];
	uint64_t now = 1000;
	uint32_t old_ref;
	char err[128];

	(void)state;
	add(r, "192.0.2.1", 300, now);
	nftset_flush(r->ns, now);
	r->k->sets[0].n = 0; /* emptied and made again */
	r->k->table_handle++;
	add(r, "192.0.2.1", 300, now + 5000); /* within 10 s: still deduplicated */
	assert_false(nftset_pending(r->ns));
	add(r, "192.0.2.1", 300, now + 11000); /* checked: another table, sent again */
	assert_true(nftset_pending(r->ns));
	nftset_flush(r->ns, now + 11000);
	assert_int_equal(fk_timeout(r->k, "a4", "192.0.2.1"), 300000);
	assert_int_equal(r->k->lookups, 2);

	/* Reload: a4 kept (no new lookup), a6 new; then a4 dropped: its old ref dangles. */
	old_ref = nftset_ref(r->ns, 0);
	assert_int_equal(nftset_spec_parse("inet#lab#a6,inet#lab#a4", both, 2, err, sizeof(err)),
			 2);
	assert_int_equal(nftset_sync(r->ns, both, 2), 0);
	assert_int_equal(nftset_ref(r->ns, 1), old_ref);
	add(r, "192.0.2.1", 300, now + 12000);
	assert_int_equal(r->k->lookups, 3); /* a6 only */
	assert_false(nftset_pending(r->ns));
	assert_int_equal(nftset_sync(r->ns, both, 1), 0);
	nftset_add(r->ns, old_ref, AF_INET, (uint8_t[4]){192, 0, 2, 9}, 300, now + 13000);
	assert_false(nftset_pending(r->ns));
	assert_int_equal(nftset_ref(r->ns, 5), UINT32_MAX);
	rig_free(r);
}

/* ---- addresses of an answer ---- */

static size_t answer(const char *qname, const char *const *rrs, size_t n, uint8_t *out, size_t cap)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	char q[300];

	assert_non_null(p);
	ldns_pkt_set_qr(p, true);
	snprintf(q, sizeof(q), "%s IN A", qname);
	assert_int_equal(ldns_rr_new_question_frm_str(&rr, q, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, rrs[i], 300, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

static void t_answer_addrs(void **state)
{
	static const char *const rrs[] = {
	    "Www.Example. 60 IN CNAME edge.cdn.example.",
	    "other.example. 60 IN A 192.0.2.99", /* not the question's: left out */
	    "edge.cdn.example. 20 IN A 192.0.2.1",
	    "edge.cdn.example. 2147483648 IN AAAA 2001:db8::1", /* top bit: 0 */
	    "edge.cdn.example. 20 CH A 192.0.2.98",
	    "www.example. 30 IN TXT \"x\"",
	    "www.example. 30 IN A 192.0.2.2",
	};
	struct dns_rr_addr a[8];
	uint8_t m[2048];
	size_t len = answer("www.example.", rrs, SL_ARRAY_LEN(rrs), m, sizeof(m));
	char t[64];

	(void)state;
	assert_int_equal(dns_answer_addrs(m, len, a, 8), 3);
	assert_int_equal(a[0].af, AF_INET);
	assert_string_equal(inet_ntop(AF_INET, a[0].addr, t, sizeof(t)), "192.0.2.1");
	assert_int_equal(a[0].ttl, 20);
	assert_int_equal(a[1].af, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, a[1].addr, t, sizeof(t)), "2001:db8::1");
	assert_int_equal(a[1].ttl, 0);
	assert_string_equal(inet_ntop(AF_INET, a[2].addr, t, sizeof(t)), "192.0.2.2");
	assert_int_equal(dns_answer_addrs(m, len, a, 1), 1); /* at most max */
	for (size_t cut = 0; cut < len; cut++) /* every truncation: an error or fewer */
		assert_true(dns_answer_addrs(m, cut, a, 8) < 3);
	assert_int_equal(dns_answer_addrs(m, 11, a, 8), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_spec_parse),    cmocka_unit_test(t_spec_errors),
	    cmocka_unit_test(t_rule_option),   cmocka_unit_test(t_rule_option_errors),
	    cmocka_unit_test(t_too_many_sets), cmocka_unit_test(t_msg_batch),
	    cmocka_unit_test(t_msg_getset),    cmocka_unit_test(t_batch_by_family),
	    cmocka_unit_test(t_dedup),	       cmocka_unit_test(t_queue_full),
	    cmocka_unit_test(t_unusable_sets), cmocka_unit_test(t_add_fails),
	    cmocka_unit_test(t_old_kernel),    cmocka_unit_test(t_remade_and_sync),
	    cmocka_unit_test(t_answer_addrs),
	};

	log_init(false, LOG_CRIT); /* the problems it logs are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
