/* SPDX-License-Identifier: GPL-2.0-or-later
 * replay.c - runs a libFuzzer target's entry point over its seed corpus,
 * so `make check` exercises every fuzz target with gcc and no libFuzzer.
 *
 * Usage: replay-NAME [FILE]...   (prints TAP: one test per file)
 * Without files it replays $top_srcdir/fuzz/corpus/NAME/, NAME being
 * what follows "replay-" in its own name: each replay-NAME is a test.
 *
 * Built with --enable-fuzzing (clang), it then hands the corpus to
 * libFuzzer for FUZZ_RUNS executions (default 20000, seed FUZZ_SEED,
 * default 1, so a CI run is repeatable) and reports them as one more
 * test.  New inputs go to a scratch directory that is removed; a crash
 * ends the program without the plan, which the TAP driver reports.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#ifdef AGP_FUZZING
/* libFuzzer's entry for a program with a main of its own (clang's
 * libclang_rt.fuzzer_no_main); it exits when the runs are done. */
int LLVMFuzzerRunDriver(int *argc, char ***argv,
			int (*cb)(const uint8_t *data, size_t size));

static char fuzz_scratch[4096];
static unsigned long fuzz_execs;
static int fuzz_cases;

static int
fuzz_one(const uint8_t *data, size_t size)
{
	fuzz_execs++;
	return LLVMFuzzerTestOneInput(data, size);
}

/* Runs at libFuzzer's exit(0): the runs are done, nothing crashed. */
static void
fuzz_done(void)
{
	struct dirent *e;
	char path[8192];
	DIR *d = opendir(fuzz_scratch);

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", fuzz_scratch,
				 e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(fuzz_scratch);
	printf("ok %d - libFuzzer: %lu executions, no crash, leak or "
	       "undefined behaviour\n1..%d\n",
	       fuzz_cases, fuzz_execs, fuzz_cases);
	fflush(stdout);
}

/* Fuzzes the corpus in dir; n cases were printed before. */
static int
fuzz(int n, const char *dir)
{
	const char *runs = getenv("FUZZ_RUNS"), *seed = getenv("FUZZ_SEED");
	const char *tmp = getenv("TMPDIR");
	char runs_arg[64], seed_arg[64], corpus[4096];
	char *args[] = { "replay",     runs_arg,
			 seed_arg,     "-print_final_stats=1",
			 fuzz_scratch, corpus,
			 NULL };
	char **argv = args;
	int argc = 6;

	snprintf(runs_arg, sizeof(runs_arg), "-runs=%s", runs ? runs : "20000");
	snprintf(seed_arg, sizeof(seed_arg), "-seed=%s", seed ? seed : "1");
	snprintf(corpus, sizeof(corpus), "%s", dir);
	snprintf(fuzz_scratch, sizeof(fuzz_scratch), "%s/agp-fuzz.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_scratch)) {
		printf("Bail out! no scratch directory %s\n", fuzz_scratch);
		return 1;
	}
	fuzz_cases = n + 1;
	fflush(stdout);
	atexit(fuzz_done);
	LLVMFuzzerRunDriver(&argc, &argv, fuzz_one);
	return 1; /* not reached: libFuzzer exits */
}
#endif

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
		snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", top ? top : ".",
			 name ? name + 7 : "");
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
					printf("not ok %d - read %s\n", n,
					       path);
					failed++;
				} else {
					printf("ok %d - %s\n", n,
					       ents[i]->d_name);
				}
			}
			free(ents[i]);
		}
		free(ents);
	}
#ifdef AGP_FUZZING
	if (argc == 1 && !failed)
		return fuzz(n, dir);
#endif
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
