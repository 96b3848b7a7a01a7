/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_when.c - the since and until values people type: RFC 3339 with
 * offsets and fractions, "today", durations back from now, and what is
 * refused.  (The UTC offsets are test_report.c's.)
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "when.h"
#include "tap.h"

int
main(void)
{
	static const struct {
		const char *in;
		double want;
	} good[] = {
		{ "2026-11-29T03:00:00Z", 1795921200 },
		{ "2026-11-29t03:00:00z", 1795921200 },
		{ "2026-11-29T05:00:00+02:00", 1795921200 },
		{ "2026-11-28T22:30:00-04:30", 1795921200 },
		{ "2026-11-29T03:00:00.25Z", 1795921200.25 },
		{ "90s", 1000000 - 90 },
		{ "15m", 1000000 - 900 },
		{ "1h", 1000000 - 3600 },
		{ "7d", 1000000 - 7 * 86400 },
		{ "1.5h", 1000000 - 5400 },
	};
	static const char *const bad[] = {
		"",
		"7",
		"7w",
		"-1d",
		"d",
		" 1d",
		"1d ",
		"2026-11-29",
		"2026-11-29T03:00:00",
		"2026-11-29T03:00:00+0200",
		"2026-11-29T03:00:00+02",
		"2026-11-29T03:00:00Zjunk",
		"yesterday",
	};
	time_t mid;
	double t;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = -1;
		ok(when_parse(good[i].in, 1000000, &t) == 0 &&
			   t == good[i].want,
		   "%s is %.2f (got %.2f)", good[i].in, good[i].want, t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(when_parse(bad[i], 1000000, &t) < 0, "'%s' is refused",
		   bad[i]);

	/* "today" is local midnight, here nine hours east of UTC. */
	setenv("TZ", "UTC-9", 1);
	tzset();
	ok(when_parse("today", 1795921200, &t) == 0 &&
		   t == 1795921200 - 12 * 3600,
	   "at 12:00 local (03:00Z), today began twelve hours before");
	mid = 1795921200 - 3 * 3600;
	ok(when_parse("today", (double)mid, &t) == 0 &&
		   t == (double)mid - 9 * 3600,
	   "at 09:00 local (00:00Z), today began nine hours before");
	return tap_done();
}
