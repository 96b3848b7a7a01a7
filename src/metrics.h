/* SPDX-License-Identifier: GPL-2.0-or-later
 * metrics.h - the one writer of /metrics' Prometheus text (exposition
 * format 0.0.4): family heads, samples, label values.
 *
 * Threading: a writer belongs to the one caller filling it.
 * Ownership: the writer fills the caller's buffer; it owns nothing.
 *
 * Truncation, the one rule: each call writes all of its text or none
 * of it, and the first call that does not fit makes the writer full, so
 * that no later call writes anything. A buffer too small for the whole
 * text thus holds a prefix of it that ends after a whole line: half a
 * line makes Prometheus refuse the whole scrape, and a sample parted
 * from its head is misread.
 */
#ifndef AGP_METRICS_H
#define AGP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics {
	char *buf;   /* the caller's; a NUL after the len bytes written */
	size_t size; /* its size */
	size_t len;  /* bytes written, always below size */
	bool full;   /* something did not fit: nothing more is written */
};

/* Starts a writer on buf (size bytes; 0 makes it full at once). */
void metrics_init(struct metrics *m, char *buf, size_t size);

/* Appends fmt's text, which must be whole lines. */
__attribute__((format(printf, 2, 3))) void metrics_printf(struct metrics *m,
							  const char *fmt, ...);

/* A family's "# HELP" and "# TYPE" lines (type "counter", "gauge"...);
 * help is a format for our own text, with no backslash or newline. */
__attribute__((format(printf, 4, 5))) void metrics_head(struct metrics *m,
							const char *name,
							const char *type,
							const char *help, ...);

/* A family of one sample without labels: its head and "name v". */
void metrics_value(struct metrics *m, const char *name, const char *type,
		   const char *help, int64_t v);

/* A label value, escaped into out (len bytes, NUL-terminated): backslash,
 * quote and newline escaped, bytes that are not UTF-8 replaced by '?',
 * cut to fit (never inside a character or an escape). */
void metrics_label(const char *in, char *out, size_t len);

#endif
