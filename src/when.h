/* SPDX-License-Identifier: GPL-2.0-or-later
 * when.h - the times people type: since and until, and UTC offsets.
 * Pure parsers; thread-safe.
 */
#ifndef AGP_WHEN_H
#define AGP_WHEN_H

#include <stddef.h>

/* Parses a since or until value (?since=, --since): RFC 3339
 * ("2026-11-29T03:00:00Z", offsets and fractions allowed), "today" (local
 * midnight) or a duration back from now ("90s", "15m", "1h", "7d").
 * Returns 0 and sets *t (seconds since the epoch), or -1. */
int when_parse(const char *s, double now, double *t);

/* Parses a UTC offset (?tz=): "Z", "+HH:MM", "-HH:MM", "+HHMM" or "+HH",
 * at most 14 hours either way; a leading space reads as '+' (an unencoded
 * '+' in a query string arrives as one). Returns 0 and sets *off
 * (seconds east of UTC), or -1. */
int when_parse_tz(const char *s, long *off);

/* Writes off as "+HH:MM" (at least 7 bytes of buf). */
void when_format_tz(long off, char *buf, size_t len);

#endif
