/* SPDX-License-Identifier: GPL-2.0-or-later
 * tap.h - a minimal Test Anything Protocol producer for the C unit tests.
 *
 * Usage: call ok()/is_int()/is_str() as often as needed, then
 * `return tap_done();` from main. The plan is printed at the end, so a
 * test that dies early is reported as failed by automake's TAP driver.
 */
#ifndef AGP_TAP_H
#define AGP_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int
tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

/* Any scalar condition, pointers included. */
#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#define is_int(got, want, ...)                                               \
	do {                                                                 \
		long long tap_g_ = (long long)(got),                         \
			  tap_w_ = (long long)(want);                        \
		if (!ok(tap_g_ == tap_w_, __VA_ARGS__))                      \
			printf("#   got %lld, want %lld\n", tap_g_, tap_w_); \
	} while (0)

#define is_str(got, want, ...)                                           \
	do {                                                             \
		const char *tap_g_ = (got), *tap_w_ = (want);            \
		if (!ok(tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0, \
			__VA_ARGS__))                                    \
			printf("#   got \"%s\", want \"%s\"\n",          \
			       tap_g_ ? tap_g_ : "(null)",               \
			       tap_w_ ? tap_w_ : "(null)");              \
	} while (0)

__attribute__((format(printf, 1, 2), unused)) static void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* The whole of tests/fixtures/NAME (under $top_srcdir, else ..),
 * NUL-terminated, length in *len; NULL when it cannot be read. */
__attribute__((unused)) static char *
tap_fixture(const char *name, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", top ? top : "..",
		 name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

__attribute__((unused)) static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
