/* SPDX-License-Identifier: GPL-2.0-or-later
 * replay.c - runs a libFuzzer target's entry point over its seed corpus,
 * so `make check` exercises every fuzz target with gcc and no libFuzzer.
 *
 * Usage: replay-NAME [FILE]...   (prints TAP: one test per file)
 * Without files it replays $top_srcdir/fuzz/corpus/NAME/, NAME being
 * what follows "replay-" in its own name: each replay-NAME is a test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one file to the target; 0, or -1 when it cannot be read. */
static int
replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		rc = 0;
	}
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir"), *name = strrchr(argv[0], '/');
	struct dirent **ents = NULL;
	char dir[4096], path[8192];
	int failed = 0, n = 0, nents;

	for (int i = 1; i < argc; i++, n++)
		if (replay(argv[i]) < 0) {
			printf("not ok %d - read %s\n", n + 1, argv[i]);
			failed++;
		} else {
			printf("ok %d - %s\n", n + 1, argv[i]);
		}
	if (argc == 1) {
		name = strstr(name ? name : argv[0], "replay-");
		snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s",
			 top ? top : ".", name ? name + 7 : "");
		if ((nents = scandir(dir, &ents, NULL, by_name)) < 0) {
			printf("Bail out! no corpus at %s\n", dir);
			return 1;
		}
		for (int i = 0; i < nents; i++) {
			if (ents[i]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dir,
					 ents[i]->d_name);
				n++;
				if (replay(path) < 0) {
					printf("not ok %d - read %s\n", n, path);
					failed++;
				} else {
					printf("ok %d - %s\n", n, ents[i]->d_name);
				}
			}
			free(ents[i]);
		}
		free(ents);
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
