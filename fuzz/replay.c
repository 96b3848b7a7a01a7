/* SPDX-License-Identifier: GPL-2.0-or-later
 * replay.c - runs a libFuzzer target's entry point over its seed corpus,
 * so `make check` exercises every fuzz target with gcc and no libFuzzer.
 *
 * Usage: replay-TARGET FILE...   (prints TAP: one test per file)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf = NULL;
		long n;

		if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) != 0 ||
		    !(buf = malloc((size_t)n + 1)) ||
		    fread(buf, 1, (size_t)n, f) != (size_t)n) {
			printf("not ok %d - read %s\n", i, argv[i]);
			failed++;
		} else {
			LLVMFuzzerTestOneInput(buf, (size_t)n);
			printf("ok %d - %s\n", i, argv[i]);
		}
		free(buf);
		if (f)
			fclose(f);
	}
	printf("1..%d\n", argc - 1);
	return failed ? 1 : 0;
}
