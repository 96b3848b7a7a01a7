/* SPDX-License-Identifier: GPL-2.0-or-later
 * ledger_replay.c - how long start-up takes to replay a large ledger.
 *
 * Usage: bench/ledger_replay [LINES]   (default 1000000)
 * Writes LINES records with ledger_append's own format (without fsync),
 * then times ledger_open() over them, against the baseline of reading
 * the same file line by line without parsing, measured in the same run.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "usage.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long lines = argc > 1 ? atol(argv[1]) : 1000000;
	char dir[] = "/tmp/agp-bench-ledger-XXXXXX", path[256], *buf = NULL;
	struct usage_table *t = usage_table_new();
	struct usage_record r = { 0 };
	unsigned long n = 0;
	size_t cap = 0;
	double t0, t_read, t_replay;
	FILE *f;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/usage.jsonl", dir);
	f = fopen(path, "w");
	for (long i = 0; i < lines; i++) {
		struct json_object *o;

		r.time = 1795921262.0 + (double)i;
		snprintf(r.model, sizeof(r.model), "model-%ld", i % 7);
		snprintf(r.endpoint, sizeof(r.endpoint), "streamGenerateContent");
		snprintf(r.host, sizeof(r.host), "daily-cloudcode-pa.googleapis.com");
		snprintf(r.raw, sizeof(r.raw), "{\"promptTokenCount\":%ld}", i);
		r.has_usage = r.complete = true;
		r.status = 200;
		r.input_tokens = 1000 + i % 100;
		r.output_tokens = i % 50;
		o = usage_record_to_json(&r);
		fprintf(f, "%s\n", json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	fclose(f);

	t0 = now();
	f = fopen(path, "r");
	while (getline(&buf, &cap, f) > 0)
		n++;
	fclose(f);
	free(buf);
	t_read = now() - t0;

	t0 = now();
	ledger_free(ledger_open(path, t, &n));
	t_replay = now() - t0;
	printf("ledger replay: %lu lines in %.2f s (%.0f lines/s); "
	       "reading alone %.2f s; ratio %.1fx\n", n, t_replay,
	       (double)n / t_replay, t_read, t_replay / t_read);
	usage_table_free(t);
	unlink(path);
	rmdir(dir);
	return 0;
}
