/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_series.c - libFuzzer target for /metrics' labelled series
 * (series.c): provider names from hosts, the caps, label escaping.
 * Input: records as lines "host\tmodel\tagent" (a model or host is the
 * peer's to choose). Checks that every sample line of the output is
 * exposition format (a name, label values quoted with only \\ \" \n
 * escapes and valid UTF-8, a value), that the model and agent rows stay
 * within their caps, and that the requests add up.
 *
 * Build and run (from a configured build dir, after `make`):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     -I../src $(pkg-config --cflags json-c) ../fuzz/fuzz_series.c \
 *     ../src/series.c src/libagp.a $(pkg-config --libs json-c \
 *     libmicrohttpd gnutls \
 *     libcurl libcares zlib libbrotlidec libzstd sqlite3) -lm -pthread \
 *     -o fuzz-series
 *   ./fuzz-series -max_total_time=180 ../fuzz/corpus/series
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "series.h"

#define FUZZ_METRICS_MAX (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One label value from *p, after its opening quote, to past its closing
 * one; aborts on a raw newline, a bad escape or bad UTF-8. */
static const char *
check_value(const char *p)
{
	const unsigned char *u;

	for (; *p != '"'; p++) {
		if (*p == '\n' || *p == '\0')
			abort();
		if (*p == '\\') {
			p++;
			if (*p != '\\' && *p != '"' && *p != 'n')
				abort();
			continue;
		}
		u = (const unsigned char *)p;
		if (u[0] >= 0x80) {
			/* metrics_label() keeps only whole sequences. */
			size_t n = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : 2;

			if (u[0] < 0xc2 || u[0] > 0xf4)
				abort();
			for (size_t i = 1; i < n; i++)
				if ((u[i] & 0xc0) != 0x80)
					abort();
			p += n - 1;
		}
	}
	return p + 1;
}

/* A sample line: name{k="v",...} value. Returns the next line. */
static const char *
check_line(const char *p, long *requests)
{
	const char *name = p;
	char *end;
	double v;

	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	if (p == name)
		abort();
	if (*p == '{') {
		do {
			p++;
			while ((*p >= 'a' && *p <= 'z') || *p == '_')
				p++;
			if (p[0] != '=' || p[1] != '"')
				abort();
			p = check_value(p + 2);
		} while (*p == ',');
		if (*p++ != '}')
			abort();
	}
	if (*p++ != ' ')
		abort();
	v = strtod(p, &end);
	if (end == p || *end != '\n')
		abort();
	if (strncmp(name, "antigravity_proxy_model_requests_total{", 39) == 0)
		*requests += (long)v;
	return end + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct series *s = series_new();
	char *buf = malloc(FUZZ_METRICS_MAX), *in = malloc(size + 1);
	char *line, *next, *f1, *f2;
	struct usage_record r;
	struct metrics m;
	long records = 0, requests = 0;
	const char *p;

	if (!s || !buf || !in)
		goto out;
	memcpy(in, data, size);
	in[size] = '\0';
	for (line = in; line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		memset(&r, 0, sizeof(r));
		r.has_usage = true;
		r.input_tokens = 1;
		f1 = strchr(line, '\t');
		f2 = f1 ? strchr(f1 + 1, '\t') : NULL;
		if (f1)
			*f1++ = '\0';
		if (f2)
			*f2++ = '\0';
		snprintf(r.host, sizeof(r.host), "%s", line);
		snprintf(r.model, sizeof(r.model), "%s", f1 ? f1 : "");
		snprintf(r.agent, sizeof(r.agent), "%s", f2 ? f2 : "");
		series_record(s, &r);
		records++;
	}
	metrics_init(&m, buf, FUZZ_METRICS_MAX);
	series_metrics(s, &m);
	for (p = buf; *p;) {
		if (*p == '#') {
			if (!(p = strchr(p, '\n')))
				abort();
			p++;
			continue;
		}
		p = check_line(p, &requests);
	}
	if (requests != records)
		abort();
out:
	series_free(s);
	free(buf);
	free(in);
	return 0;
}
