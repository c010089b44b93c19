#include "config.h"
/* dns_cachefile.c - the cache file (`cache-file FILE`): the format, its
 * checks, and the atomic write. It owns nothing between calls; the entries
 * come from and go back through dns_cache_dump / dns_cache_restore, which
 * re-validate every answer, so a file is never trusted beyond its
 * checksum telling damage from data.
 *
 * Format, big-endian:
 *   header  32  "SLUICEDC", u32 version (1), u32 flags (0),
 *               i64 saved (wall clock, Unix seconds), 8 bytes 0
 *   record  16+ u16 len (12..16384), u8 key flags (DO 1, CD 2), u8 0,
 *               u32 upstream TTL, i64 expiry (wall clock, Unix seconds),
 *               len bytes: the answer without OPT, TTLs as of `saved`
 *   end      8  u16 0, u16 0, u32 records
 *   sum     32  BLAKE2b-256 (crypto_generichash) of everything before it
 * Expiry is absolute wall-clock time because the cache's clock is
 * monotonic and starts again at boot; an entry comes back with what is
 * left of it now, its TTLs lowered by the time since `saved`. A wall clock
 * behind `saved` (a router without an RTC before NTP) counts as no time
 * passed. */
#include "dns_cachefile.h"
#include "dns_cache.h"
#include "dns_wire.h"
#include "sluice.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "SLUICEDC"
#define HDR_LEN 32
#define REC_HDR 16
#define END_LEN 8
#define SUM_LEN 32
/* Expiry times further than this from `saved` are not believed (max-ttl
 * and the serve-stale window are far shorter). */
#define MAX_SPAN_S (8 * 86400)
/* Wall clocks beyond this are not believed either (keeps the arithmetic small). */
#define MAX_WALL ((int64_t)1 << 40)

static void wr64(uint8_t *p, int64_t v)
{
	wr32(p, (uint32_t)((uint64_t)v >> 32));
	wr32(p + 4, (uint32_t)v);
}

static int64_t rd64(const uint8_t *p)
{
	return (int64_t)((uint64_t)rd32(p) << 32 | rd32(p + 4));
}

struct writer {
	FILE *f;
	crypto_generichash_state h;
	int64_t now_wall;
	size_t size, n, skipped;
	bool err;
};

static void w_put(struct writer *w, const void *p, size_t n)
{
	if (fwrite(p, 1, n, w->f) != n)
		w->err = true;
	crypto_generichash_update(&w->h, p, n);
	w->size += n;
}

static int w_rec(void *arg, const struct dns_cache_rec *r)
{
	struct writer *w = arg;
	uint8_t h[REC_HDR] = {0};
	/* floor: an entry never comes back with more than it had */
	int64_t left_s = r->left_ms >= 0 ? r->left_ms / 1000 : -((-r->left_ms + 999) / 1000);

	if (w->size + REC_HDR + r->len + END_LEN + SUM_LEN > DNS_CACHEFILE_MAX) {
		w->skipped++;
		return 0;
	}
	wr16(h, (uint16_t)r->len);
	h[2] = r->key_flags;
	wr32(h + 4, r->orig_ttl);
	wr64(h + 8, w->now_wall + left_s);
	w_put(w, h, sizeof(h));
	w_put(w, r->wire, r->len);
	w->n++;
	return w->err ? -EIO : 0;
}

int dns_cachefile_write(struct dns_cache *c, FILE *f, int64_t now_wall, uint64_t now_ms,
			size_t *saved, struct dns_cachefile_stats *st)
{
	struct writer w = {.f = f, .now_wall = now_wall};
	uint8_t hdr[HDR_LEN] = {0}, end[END_LEN] = {0}, sum[SUM_LEN];
	int rc;

	if (sodium_init() < 0 || crypto_generichash_init(&w.h, NULL, 0, SUM_LEN) != 0)
		return -EINVAL;
	memcpy(hdr, MAGIC, 8);
	wr32(hdr + 8, DNS_CACHEFILE_VERSION);
	wr64(hdr + 16, now_wall);
	w_put(&w, hdr, sizeof(hdr));
	rc = dns_cache_dump(c, now_ms, w_rec, &w);
	if (rc < 0)
		return rc;
	wr32(end + 4, (uint32_t)w.n);
	w_put(&w, end, sizeof(end));
	crypto_generichash_final(&w.h, sum, sizeof(sum));
	if (fwrite(sum, 1, sizeof(sum), f) != sizeof(sum) || w.err || fflush(f) != 0)
		return -EIO;
	if (saved)
		*saved = w.n;
	if (st)
		st->skipped = w.skipped;
	return 0;
}

/* The records run from HDR_LEN to the end marker, which sits right before
 * the checksum; their count matches. */
static bool layout_ok(const uint8_t *buf, size_t body)
{
	size_t off = HDR_LEN, n = 0;

	for (;;) {
		size_t rl;

		if (body - off < END_LEN)
			return false;
		rl = rd16(buf + off);
		if (rl == 0)
			break;
		if (rl < DNS_HDR_LEN || rl > DNS_CACHE_MAX_ANSWER || body - off < REC_HDR + rl)
			return false;
		off += REC_HDR + rl;
		n++;
	}
	return body - off == END_LEN && rd16(buf + off + 2) == 0 && rd32(buf + off + 4) == n;
}

int dns_cachefile_parse(struct dns_cache *c, const uint8_t *buf, size_t len, int64_t now_wall,
			uint64_t now_ms, struct dns_cachefile_stats *st)
{
	uint8_t sum[SUM_LEN];
	int64_t saved, now;
	uint32_t down;
	size_t body;

	memset(st, 0, sizeof(*st));
	if (len < HDR_LEN + END_LEN + SUM_LEN || len > DNS_CACHEFILE_MAX || sodium_init() < 0)
		return -EBADMSG;
	body = len - SUM_LEN;
	crypto_generichash(sum, sizeof(sum), buf, body, NULL, 0);
	if (sodium_memcmp(sum, buf + body, SUM_LEN) != 0 || memcmp(buf, MAGIC, 8) != 0 ||
	    rd32(buf + 8) != DNS_CACHEFILE_VERSION || rd32(buf + 12) != 0 || !layout_ok(buf, body))
		return -EBADMSG;
	saved = rd64(buf + 16);
	if (saved < 0 || saved > MAX_WALL || now_wall < 0 || now_wall > MAX_WALL)
		return -EBADMSG;
	now = now_wall > saved ? now_wall : saved;
	down = now - saved > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - saved);
	for (size_t off = HDR_LEN; rd16(buf + off) != 0;) {
		const uint8_t *h = buf + off;
		size_t rl = rd16(h);
		int64_t exp = rd64(h + 8);
		struct dns_cache_rec r = {h + REC_HDR, rl, h[2], 0, rd32(h + 4), down};
		int rc;

		off += REC_HDR + rl;
		if (h[3] != 0 || exp < saved - MAX_SPAN_S || exp > saved + MAX_SPAN_S) {
			st->refused++;
			continue;
		}
		r.left_ms = (exp - now) * 1000;
		rc = dns_cache_restore(c, &r, now_ms);
		if (rc == -ENOMEM)
			return rc;
		if (rc == 0)
			st->restored++;
		else if (rc == -ESTALE)
			st->expired++;
		else
			st->refused++;
	}
	return 0;
}

int dns_cachefile_save(struct dns_cache *c, const char *path, size_t *saved,
		       struct dns_cachefile_stats *st)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "wb");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	rc = dns_cachefile_write(c, f, (int64_t)time(NULL), sl_now_ms(), saved, st);
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0)
		return 0;
fail:
	unlink(tmp);
	return rc;
}

int dns_cachefile_load(struct dns_cache *c, const char *path, struct dns_cachefile_stats *st)
{
	uint8_t *buf = NULL;
	struct stat sb;
	size_t got = 0;
	int fd, rc;

	memset(st, 0, sizeof(*st));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto done;
	}
	rc = S_ISREG(sb.st_mode) ? -EFBIG : -EINVAL;
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)DNS_CACHEFILE_MAX)
		goto done;
	rc = -ENOMEM;
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!buf)
		goto done;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EBADMSG;
			goto done;
		}
		got += (size_t)n;
	}
	rc = dns_cachefile_parse(c, buf, got, (int64_t)time(NULL), sl_now_ms(), st);
done:
	free(buf);
	close(fd);
	return rc;
}
