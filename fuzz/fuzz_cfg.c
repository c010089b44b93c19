#include "config.h"
/* fuzz_cfg.c - the config loader on arbitrary file contents: the input is
 * written to a temporary file in a private directory under /tmp, loaded
 * with cfg_load() and freed. Relative includes therefore resolve inside
 * that directory (the input can include itself); inputs naming device or
 * kernel files (/dev/zero would be one endless line) are skipped, since a
 * config file is the administrator's, not an attacker's, to point there. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool names_special_file(const uint8_t *data, size_t size)
{
	static const char *const bad[] = {"dev", "proc", "sys", "run"};

	for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
		if (memmem(data, size, bad[i], strlen(bad[i])))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/sluice-fuzz-cfg-XXXXXX";
	char path[sizeof(dir) + 16], err[1024];
	struct cfg *c;
	FILE *f;
	int fd;

	if (size > 65536 || names_special_file(data, size))
		return 0;
	if (!mkdtemp(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/in-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		goto done;
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		goto done;
	}
	fwrite(data, 1, size, f);
	fclose(f);
	c = cfg_load(path, err, sizeof(err));
	if (!c && !memchr(err, '\0', sizeof(err)))
		abort(); /* the error must be a terminated string */
	cfg_free(c);
	unlink(path);
done:
	rmdir(dir);
	return 0;
}
