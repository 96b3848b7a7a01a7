/* SPDX-License-Identifier: GPL-2.0-or-later
 * clock.h - the two clocks every module reads: monotonic milliseconds for
 * timeouts and intervals, wall-clock seconds for timestamps.
 */
#ifndef AGP_CLOCK_H
#define AGP_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

static inline int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic time in milliseconds with sub-millisecond precision. */
static inline double
clock_mono_msf(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Seconds since the epoch, with a fraction. */
static inline double
clock_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* t (seconds since the epoch) as RFC 3339 UTC, whole seconds:
 * "2026-11-29T03:01:02Z"; len 21 or more. */
static inline void
clock_rfc3339(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

#endif
