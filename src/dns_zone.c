#include "config.h"
/* dns_zone.c - reading a local zone. ldns parses the file (syntax, $ORIGIN,
 * $TTL, every record type and its RDATA); this file checks what makes it a
 * zone sluice can answer from (an SOA naming the apex, every record at or
 * below it, in its class, no CNAME beside other data), then copies it into
 * the compact read-only form of dns_zone_int.h: lowercase owner names,
 * RDATA in uncompressed wire form, the empty non-terminals added, sorted
 * for binary search. ldns's structures are freed once the copy is made, so
 * the query path never touches ldns. The file is read twice: record by
 * record first (exact lines for errors, nothing leaked on a bad file), then
 * by ldns's zone reader for its TTL rules; a record-level error sends a
 * third reader to find its line. Answers are dns_zone_answer.c. */
#include "dns_zone_int.h"
#include "dns_conf.h"
#include "dns_wire.h"
#include "sluice.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Default TTL of records without one when the file has no $TTL. */
#define DEFAULT_TTL 3600

/* A record while the zone is built. */
struct lrr {
	const ldns_rr *rr; /* to find its line when it is refused */
	uint32_t owner;	   /* lowercase wire owner, in blob */
	uint16_t owner_len;
	uint16_t type, rdlen;
	uint32_t ttl, rdata;
};

struct loader {
	struct dns_zone *z;
	FILE *fp;
	struct dns_zone_err *err;
	struct lrr *v;
	size_t n;
	size_t blob_cap;
};

static void zerr(struct dns_zone_err *err, unsigned line, const char *fmt, ...) SL_PRINTF(3, 4);

static void zerr(struct dns_zone_err *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	err->open = false;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* The line where the last record (or $ directive) that ends before byte
 * pos of the file starts. ldns's own line count is off around blank lines
 * and parentheses, so the text is read again: a record starts at the first
 * character, outside a comment, of a line on which no earlier record is
 * still open (inside parentheses). 0 when the file cannot be read. */
static unsigned record_line(FILE *fp, long pos)
{
	unsigned line = 1, start = 0;
	bool open = false, comment = false, quote = false;
	int depth = 0;

	if (pos < 0 || fseek(fp, 0, SEEK_SET) != 0)
		return 0;
	for (long i = 0; i < pos; i++) {
		int ch = fgetc(fp);

		if (ch == EOF)
			break;
		if (ch == '\n') {
			line++;
			comment = false;
			if (!depth) {
				open = false;
				quote = false;
			}
			continue;
		}
		if (comment)
			continue;
		if (!open && ch != ' ' && ch != '\t' && ch != '\r' && ch != ';') {
			open = true;
			start = line;
		}
		if (ch == '\\') {
			i++;
			if (fgetc(fp) == '\n')
				line++;
		} else if (quote) {
			quote = ch != '"';
		} else if (ch == '"') {
			quote = true;
		} else if (ch == ';') {
			comment = true;
		} else if (ch == '(') {
			depth++;
		} else if (ch == ')' && depth) {
			depth--;
		}
	}
	return start;
}

/* The line of record want, found by reading the file again record by record
 * (ldns's zone reader does not say where each record came from). 0 when it
 * cannot be found. Only used on the way to an error. */
static unsigned rr_line(FILE *fp, const ldns_rr *want)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = DEFAULT_TTL;
	long found = -1;
	int line = 0;

	if (fseek(fp, 0, SEEK_SET) != 0)
		return 0;
	while (found < 0 && !feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);

		if (s == LDNS_STATUS_OK) {
			if (ldns_rr_compare(rr, want) == 0)
				found = ftell(fp);
			/* as the zone reader does: the SOA sets a missing origin */
			if (!origin && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
				origin = ldns_rdf_clone(ldns_rr_owner(rr));
			ldns_rr_free(rr);
		} else if (s != LDNS_STATUS_SYNTAX_EMPTY && s != LDNS_STATUS_SYNTAX_TTL &&
			   s != LDNS_STATUS_SYNTAX_ORIGIN) {
			break;
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return found < 0 ? 0 : record_line(fp, found);
}

/* Every record parsed and freed at once, with its end position at hand:
 * ldns_zone_new_frm_fp_l does not free the records it has read when it
 * fails (ldns 1.8.3), and a config reload must not leak on a bad file. Both
 * read records with the same ldns parser, so a file that passes here only
 * fails there for want of memory. 0, or -EINVAL with err filled. */
static int syntax_pass(FILE *fp, struct dns_zone_err *err)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = DEFAULT_TTL;
	int line = 0, rc = 0, nsoa = 0;

	while (rc == 0 && !feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);

		if (s == LDNS_STATUS_OK) {
			bool soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;

			if (!origin && soa)
				origin = ldns_rdf_clone(ldns_rr_owner(rr));
			ldns_rr_free(rr);
			/* Refused here: ldns's zone reader (1.8) frees a second SOA
			 * but keeps comparing later records with it (a read after
			 * free, found by fuzz_zone). A zone has one SOA anyway. */
			if (soa && ++nsoa > 1) {
				zerr(err, record_line(fp, ftell(fp)),
				     "a second SOA record (a zone has one; an AXFR dump "
				     "ends with a copy of the first: remove it)");
				rc = -EINVAL;
			}
			continue;
		}
		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s == LDNS_STATUS_SYNTAX_INCLUDE)
			s = LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL;
		/* the parser stops right after the record it refused */
		zerr(err, record_line(fp, ftell(fp)), "%s", ldns_get_errorstr_by_id(s));
		rc = -EINVAL;
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

static void rr_err(struct loader *ld, const ldns_rr *rr, const char *fmt, ...) SL_PRINTF(3, 4);

static void rr_err(struct loader *ld, const ldns_rr *rr, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	zerr(ld->err, rr_line(ld->fp, rr), "%s", msg);
}

/* A wire name of exactly n bytes: labels of at most 63, ending in the root. */
static bool wire_ok(const uint8_t *w, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > DNS_NAME_WIRE_MAX)
		return false;
	while (i < n && w[i]) {
		if (w[i] > 63)
			return false;
		i += (size_t)w[i] + 1;
	}
	return i == n - 1;
}

bool zone_under(const struct dns_zone *z, const uint8_t *lw, size_t len)
{
	size_t i = 0;

	while (len - i > z->apex_len && lw[i])
		i += (size_t)lw[i] + 1;
	return len - i == z->apex_len && memcmp(lw + i, z->apex, z->apex_len) == 0;
}

long zone_find(const struct dns_zone *z, const uint8_t *lw, size_t len)
{
	size_t lo = 0, hi = z->n_names;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct zone_name *n = &z->names[mid];
		int c = zone_name_cmp(z->blob + n->off, n->len, lw, len);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int blob_add(struct loader *ld, const void *p, size_t n, uint32_t *off)
{
	struct dns_zone *z = ld->z;

	if (z->blob_len + n > UINT32_MAX)
		return -E2BIG;
	if (z->blob_len + n > ld->blob_cap) {
		size_t cap = ld->blob_cap ? ld->blob_cap : 4096;
		uint8_t *b;

		while (cap < z->blob_len + n)
			cap *= 2;
		b = realloc(z->blob, cap);
		if (!b)
			return -ENOMEM;
		z->blob = b;
		ld->blob_cap = cap;
	}
	memcpy(z->blob + z->blob_len, p, n);
	*off = (uint32_t)z->blob_len;
	z->blob_len += n;
	return 0;
}

/* Copy one record in: owner lowercased and checked, RDATA in wire form. */
static int add_rr(struct loader *ld, const ldns_rr *rr, ldns_buffer *buf)
{
	struct dns_zone *z = ld->z;
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint8_t lw[DNS_NAME_WIRE_MAX];
	struct lrr *r = &ld->v[ld->n];
	size_t wl = owner ? ldns_rdf_size(owner) : 0;
	char tn[16];
	int rc;

	if (!owner || !wire_ok(ldns_rdf_data(owner), wl)) {
		rr_err(ld, rr, "bad owner name");
		return -EINVAL;
	}
	for (size_t i = 0; i < wl; i++)
		lw[i] = lower(ldns_rdf_data(owner)[i]);
	if (!zone_under(z, lw, wl)) {
		char name[DNS_NAME_PRES_MAX], apex[DNS_NAME_PRES_MAX];

		dns_name_to_text(lw, name);
		dns_name_to_text(z->apex, apex);
		rr_err(ld, rr, "%s. is outside the zone %s. (the SOA's owner is the apex)", name,
		       apex);
		return -EINVAL;
	}
	if ((uint16_t)ldns_rr_get_class(rr) != z->klass) {
		rr_err(ld, rr, "record of another class than the SOA's");
		return -EINVAL;
	}
	r->rr = rr;
	r->type = (uint16_t)ldns_rr_get_type(rr);
	r->ttl = ldns_rr_ttl(rr);
	r->owner_len = (uint16_t)wl;
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > UINT16_MAX - DNS_NAME_WIRE_MAX - DNS_HDR_LEN - 10) {
		rr_err(ld, rr, "%s record data too long", dns_type_name(r->type, tn, sizeof(tn)));
		return -EINVAL;
	}
	r->rdlen = (uint16_t)ldns_buffer_position(buf);
	rc = blob_add(ld, lw, wl, &r->owner);
	if (rc == 0)
		rc = blob_add(ld, ldns_buffer_begin(buf), r->rdlen, &r->rdata);
	if (rc < 0) {
		zerr(ld->err, 0, rc == -E2BIG ? "the zone's data is over 4 GiB" : "out of memory");
		return rc;
	}
	ld->n++;
	return 0;
}

/* Records by owner, type, then RDATA (so duplicates sit together). The
 * blob no longer moves when this runs: names and data are pointers. */
struct srr {
	const uint8_t *name, *data;
	const struct lrr *r;
};

static int srr_cmp(const void *a, const void *b)
{
	const struct srr *x = a, *y = b;
	int c = zone_name_cmp(x->name, x->r->owner_len, y->name, y->r->owner_len);

	if (c)
		return c;
	if (x->r->type != y->r->type)
		return x->r->type < y->r->type ? -1 : 1;
	if (x->r->rdlen != y->r->rdlen)
		return x->r->rdlen < y->r->rdlen ? -1 : 1;
	return memcmp(x->data, y->data, x->r->rdlen);
}

static bool same_owner(const struct srr *a, const struct srr *b)
{
	return zone_name_cmp(a->name, a->r->owner_len, b->name, b->r->owner_len) == 0;
}

struct sname {
	const uint8_t *p;
	uint32_t off;
	uint16_t len;
};

static int sname_cmp(const void *a, const void *b)
{
	const struct sname *x = a, *y = b;

	return zone_name_cmp(x->p, x->len, y->p, y->len);
}

static bool may_sit_by_cname(uint16_t t)
{
	return t == DNS_TYPE_CNAME || t == DNS_TYPE_RRSIG || t == 47 /* NSEC */;
}

/* Sort, drop duplicates, refuse CNAMEs beside other data; fills z->rrs. */
static int build_rrs(struct loader *ld, struct srr *s, size_t *n_out)
{
	struct dns_zone *z = ld->z;
	size_t n = 0;

	for (size_t i = 0; i < ld->n; i++)
		s[i] = (struct srr){z->blob + ld->v[i].owner, z->blob + ld->v[i].rdata, &ld->v[i]};
	qsort(s, ld->n, sizeof(*s), srr_cmp);
	for (size_t i = 0; i < ld->n; i++)
		if (n == 0 || srr_cmp(&s[n - 1], &s[i]) != 0)
			s[n++] = s[i];
	for (size_t i = 0, j; i < n; i = j) {
		size_t first = n, second = n, other = n;
		char name[DNS_NAME_PRES_MAX];

		for (j = i; j < n && same_owner(&s[i], &s[j]); j++) {
			if (s[j].r->type == DNS_TYPE_CNAME)
				*(first == n ? &first : &second) = j;
			if (!may_sit_by_cname(s[j].r->type) && other == n)
				other = j;
		}
		if (first == n || (second == n && other == n))
			continue;
		dns_name_to_text(s[i].name, name);
		rr_err(ld, s[first].r->rr,
		       second < n ? "%s. has more than one CNAME"
				  : "%s. has a CNAME and other data (RFC 1034 3.6.2)",
		       name);
		return -EINVAL;
	}
	z->rrs = calloc(n ? n : 1, sizeof(*z->rrs));
	if (!z->rrs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		z->rrs[i] =
		    (struct zone_rr){s[i].r->type, s[i].r->rdlen, s[i].r->ttl, s[i].r->rdata};
	z->n_rrs = n;
	*n_out = n;
	return 0;
}

/* Every owner and every name between it and the apex (the empty
 * non-terminals), sorted and unique; each with its records. s is the sorted
 * record list of build_rrs. */
static int build_names(struct loader *ld, const struct srr *s, size_t n)
{
	struct dns_zone *z = ld->z;
	struct sname *v = NULL;
	size_t total = 0, k = 0, u = 0;
	int rc = -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		if (i && same_owner(&s[i], &s[i - 1]))
			continue;
		for (size_t o = 0; s[i].r->owner_len - o >= z->apex_len;
		     o += (size_t)s[i].name[o] + 1)
			total++;
	}
	if (total > DNS_ZONE_MAX_NAMES) {
		zerr(ld->err, 0, "more than %d names", DNS_ZONE_MAX_NAMES);
		return -E2BIG;
	}
	v = calloc(total ? total : 1, sizeof(*v));
	if (!v)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (i && same_owner(&s[i], &s[i - 1]))
			continue;
		for (size_t o = 0; s[i].r->owner_len - o >= z->apex_len && k < total;
		     o += (size_t)s[i].name[o] + 1)
			v[k++] = (struct sname){s[i].name + o, s[i].r->owner + (uint32_t)o,
						(uint16_t)(s[i].r->owner_len - o)};
	}
	qsort(v, k, sizeof(*v), sname_cmp);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || sname_cmp(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	z->names = calloc(u ? u : 1, sizeof(*z->names));
	if (!z->names)
		goto done;
	/* names and records are in the same order: walk both */
	for (size_t i = 0, r = 0; i < u; i++) {
		struct zone_name *zn = &z->names[i];

		*zn = (struct zone_name){.off = v[i].off, .len = v[i].len, .rr0 = (uint32_t)r};
		while (r < n &&
		       zone_name_cmp(s[r].name, s[r].r->owner_len, v[i].p, v[i].len) == 0) {
			zn->cname |= s[r].r->type == DNS_TYPE_CNAME;
			zn->nrr++;
			r++;
		}
	}
	z->n_names = u;
	rc = 0;
done:
	free(v);
	return rc;
}

/* The apex, its class and negative TTL from the SOA. */
static int take_soa(struct loader *ld, const ldns_rr *soa)
{
	struct dns_zone *z = ld->z;
	const ldns_rdf *owner = ldns_rr_owner(soa);
	size_t wl = owner ? ldns_rdf_size(owner) : 0;

	if (!owner || !wire_ok(ldns_rdf_data(owner), wl)) {
		rr_err(ld, soa, "bad owner name");
		return -EINVAL;
	}
	for (size_t i = 0; i < wl; i++)
		z->apex[i] = lower(ldns_rdf_data(owner)[i]);
	z->apex_len = wl;
	z->klass = (uint16_t)ldns_rr_get_class(soa);
	return 0;
}

/* The SOA's place in rrs, and min(TTL, MINIMUM) for negative answers. */
static int find_soa(struct loader *ld)
{
	struct dns_zone *z = ld->z;
	long a = zone_find(z, z->apex, z->apex_len);

	for (uint32_t i = 0; a >= 0 && i < z->names[a].nrr; i++) {
		const struct zone_rr *r = &z->rrs[z->names[a].rr0 + i];
		uint32_t min;

		if (r->type != DNS_TYPE_SOA || r->rdlen < 22)
			continue;
		min = rd32(z->blob + r->rdata + r->rdlen - 4);
		z->soa = z->names[a].rr0 + i;
		z->neg_ttl = r->ttl < min ? r->ttl : min;
		return 0;
	}
	zerr(ld->err, 0, "the SOA record is malformed");
	return -EINVAL;
}

static int load(struct loader *ld, ldns_zone *lz)
{
	const ldns_rr *soa = ldns_zone_soa(lz);
	const ldns_rr_list *l = ldns_zone_rrs(lz);
	size_t n = l ? ldns_rr_list_rr_count(l) : 0, nr = 0;
	ldns_buffer *buf = NULL;
	struct srr *s = NULL;
	int rc = -ENOMEM;

	if (!soa) {
		zerr(ld->err, 0, "no SOA record (its owner is the zone's apex)");
		return -EINVAL;
	}
	if (n + 1 > DNS_ZONE_MAX_RRS) {
		zerr(ld->err, 0, "more than %d records", DNS_ZONE_MAX_RRS);
		return -E2BIG;
	}
	if (take_soa(ld, soa) < 0)
		return -EINVAL;
	ld->v = calloc(n + 1, sizeof(*ld->v));
	buf = ldns_buffer_new(512);
	if (!ld->v || !buf)
		goto done;
	rc = add_rr(ld, soa, buf);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = add_rr(ld, ldns_rr_list_rr(l, i), buf);
	if (rc < 0)
		goto done;
	rc = -ENOMEM;
	s = calloc(ld->n, sizeof(*s));
	if (!s)
		goto done;
	rc = build_rrs(ld, s, &nr);
	if (rc == 0)
		rc = build_names(ld, s, nr);
	if (rc == 0)
		rc = find_soa(ld);
done:
	if (rc == -ENOMEM && !ld->err->msg[0])
		zerr(ld->err, 0, "out of memory");
	free(s);
	ldns_buffer_free(buf);
	return rc;
}

struct dns_zone *dns_zone_load_fp(FILE *fp, struct dns_zone_err *err)
{
	struct loader ld = {.fp = fp, .err = err};
	ldns_zone *lz = NULL;
	ldns_status st;
	int line = 0;

	err->line = 0;
	err->open = false;
	err->msg[0] = '\0';
	ld.z = calloc(1, sizeof(*ld.z));
	if (!ld.z) {
		zerr(err, 0, "out of memory");
		return NULL;
	}
	if (syntax_pass(fp, err) < 0)
		goto fail;
	/* The zone reader proper, for its TTL rules (RFC 1035 5.1, RFC 2308 4). */
	if (fseek(fp, 0, SEEK_SET) != 0) {
		zerr(err, 0, "cannot read: %s", strerror(errno));
		goto fail;
	}
	st = ldns_zone_new_frm_fp_l(&lz, fp, NULL, DEFAULT_TTL, LDNS_RR_CLASS_IN, &line);
	if (st != LDNS_STATUS_OK) {
		zerr(err, line > 0 ? (unsigned)line : 0, "%s", ldns_get_errorstr_by_id(st));
		goto fail;
	}
	if (load(&ld, lz) < 0)
		goto fail;
	free(ld.v);
	ldns_zone_deep_free(lz);
	return ld.z;
fail:
	free(ld.v);
	if (lz)
		ldns_zone_deep_free(lz);
	dns_zone_free(ld.z);
	return NULL;
}

struct dns_zone *dns_zone_load(const char *path, struct dns_zone_err *err)
{
	struct dns_zone *z = NULL;
	struct stat st;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		zerr(err, 0, "cannot open: %s", strerror(errno));
		err->open = true;
		return NULL;
	}
	/* a FIFO or a device would never end, and the error pass reads twice */
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		zerr(err, 0, "cannot read: not a regular file");
		err->open = true;
	} else {
		z = dns_zone_load_fp(fp, err);
	}
	fclose(fp);
	return z;
}

void dns_zone_free(struct dns_zone *z)
{
	if (!z)
		return;
	free(z->names);
	free(z->rrs);
	free(z->blob);
	free(z);
}

void dns_zone_apex_text(const struct dns_zone *z, char *out)
{
	dns_name_to_text(z->apex, out);
}

size_t dns_zone_records(const struct dns_zone *z)
{
	return z->n_rrs;
}

size_t dns_zone_names(const struct dns_zone *z)
{
	return z->n_names;
}

const struct dns_zone *dns_zone_find(struct dns_zone *const *zones, size_t n,
				     const struct dns_query *q)
{
	const struct dns_zone *best = NULL;

	if (!q->question_ok)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct dns_zone *z = zones[i];

		if ((!best || z->apex_len > best->apex_len) &&
		    zone_under(z, q->lname, q->lname_len))
			best = z;
	}
	return best;
}
