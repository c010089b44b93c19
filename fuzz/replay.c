/* replay.c - runs a fuzz target over its seed corpus without libFuzzer, so
 * `make check` (gcc, sanitizers) replays every corpus. With arguments, runs
 * the named files; without, every file in $srcdir/fuzz/corpus/NAME/ where
 * NAME is the program name minus its "fuzz_" prefix. */
#include "config.h"

#include <dirent.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = -1;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto done;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto done;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	rc = 0;
done:
	free(buf);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	char dir[4096], path[8192], prog[256];
	const char *srcdir = getenv("srcdir");
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (run_file(argv[i]) < 0)
				return fprintf(stderr, "cannot read %s\n", argv[i]), 1;
		return 0;
	}
	snprintf(prog, sizeof(prog), "%s", basename(argv[0]));
	snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", srcdir ? srcdir : ".",
		 strncmp(prog, "fuzz_", 5) == 0 ? prog + 5 : prog);
	d = opendir(dir);
	if (!d)
		return fprintf(stderr, "no corpus at %s\n", dir), 1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (run_file(path) < 0)
			return fprintf(stderr, "cannot read %s\n", path), 1;
		n++;
	}
	closedir(d);
	printf("%s: %d corpus inputs replayed\n", prog, n);
	return n > 0 ? 0 : 1;
}
