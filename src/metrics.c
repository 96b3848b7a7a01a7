/* SPDX-License-Identifier: GPL-2.0-or-later
 * metrics.c - the one writer of Prometheus text: whole lines or nothing,
 * label values escaped.
 *
 * Threading: none shared; a writer is its caller's.
 */
#include "config.h"

#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
metrics_init(struct metrics *m, char *buf, size_t size)
{
	m->buf = buf;
	m->size = size;
	m->len = 0;
	m->full = size == 0;
	if (size)
		buf[0] = '\0';
}

/* Appends to the piece being written; false, and full, when it does not
 * fit (the caller then ends the piece with metrics_end()). */
static bool __attribute__((format(printf, 2, 0)))
metrics_vadd(struct metrics *m, const char *fmt, va_list ap)
{
	size_t room = m->size - m->len;
	int n;

	if (m->full)
		return false;
	n = vsnprintf(m->buf + m->len, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		m->full = true;
		return false;
	}
	m->len += (size_t)n;
	return true;
}

__attribute__((format(printf, 2, 3))) static bool
metrics_add(struct metrics *m, const char *fmt, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = metrics_vadd(m, fmt, ap);
	va_end(ap);
	return ok;
}

/* Ends a piece begun at mark: when any of it did not fit, none of it
 * stays. */
static void
metrics_end(struct metrics *m, size_t mark)
{
	if (m->full && m->size) {
		m->len = mark;
		m->buf[mark] = '\0';
	}
}

void
metrics_printf(struct metrics *m, const char *fmt, ...)
{
	size_t mark = m->len;
	va_list ap;

	va_start(ap, fmt);
	metrics_vadd(m, fmt, ap);
	va_end(ap);
	metrics_end(m, mark);
}

void
metrics_head(struct metrics *m, const char *name, const char *type,
	     const char *help, ...)
{
	size_t mark = m->len;
	va_list ap;

	va_start(ap, help);
	if (metrics_add(m, "# HELP %s ", name) && metrics_vadd(m, help, ap))
		metrics_add(m, "\n# TYPE %s %s\n", name, type);
	va_end(ap);
	metrics_end(m, mark);
}

void
metrics_value(struct metrics *m, const char *name, const char *type,
	      const char *help, int64_t v)
{
	metrics_printf(m, "# HELP %s %s\n# TYPE %s %s\n%s %" PRId64 "\n", name,
		       help, name, type, name, v);
}

/* The length of the UTF-8 sequence at p (1 to 4), or 0 when it is not
 * one: an overlong form, a surrogate, past U+10FFFF, or cut short. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* a NUL ends here too */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* Prometheus refuses a whole scrape over one label value that is not
 * UTF-8, and a model name or host is the peer's to choose: such bytes
 * become '?'. */
void
metrics_label(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, n;

	if (len == 0)
		return;
	while (*p) {
		n = utf8_len(p);
		if (o + (n > 1 ? n : 2) >= len)
			break;
		if (n > 1) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
			continue;
		}
		if (*p == '\\' || *p == '"' || *p == '\n')
			out[o++] = '\\';
		out[o++] = n == 0 ? '?' : *p == '\n' ? 'n' : (char)*p;
		p++;
	}
	out[o] = '\0';
}
