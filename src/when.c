/* SPDX-License-Identifier: GPL-2.0-or-later
 * when.c - the times people type: since and until (RFC 3339, "today",
 * "7d") and UTC offsets ("+02:00"), for the API and the commands alike.
 */
#include "config.h"

#include "when.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
parse_rfc3339(const char *s, double *t)
{
	struct tm tm = { 0 };
	const char *p;
	double frac = 0;
	long off = 0;

	if (!(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) &&
	    !(p = strptime(s, "%Y-%m-%dt%H:%M:%S", &tm)))
		return -1;
	if (*p == '.') {
		char *end;

		frac = strtod(p, &end);
		p = end;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' &&
		   isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*t = (double)timegm(&tm) - (double)off + frac;
	return 0;
}

int
when_parse(const char *s, double now_s, double *t)
{
	char *end;
	double v;

	if (strcmp(s, "today") == 0) {
		time_t n = (time_t)now_s;
		struct tm tm;

		localtime_r(&n, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		*t = (double)mktime(&tm);
		return 0;
	}
	if (parse_rfc3339(s, t) == 0)
		return 0;
	v = strtod(s, &end);
	if (end == s || v < 0 || !isdigit((unsigned char)*s))
		return -1;
	if (strcmp(end, "s") == 0)
		;
	else if (strcmp(end, "m") == 0)
		v *= 60;
	else if (strcmp(end, "h") == 0)
		v *= 3600;
	else if (strcmp(end, "d") == 0)
		v *= 86400;
	else
		return -1;
	*t = now_s - v;
	return 0;
}

/* Two digits at s, as a number; -1 when they are not. */
static int
two_digits(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int
when_parse_tz(const char *s, long *off)
{
	const char *p = s + 3;
	int h, m = 0;

	if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
		*off = 0;
		return 0;
	}
	if ((*s != '+' && *s != '-' && *s != ' ') ||
	    (h = two_digits(s + 1)) < 0)
		return -1;
	if (*p == ':')
		p++;
	if (*p && ((m = two_digits(p)) < 0 || p[2]))
		return -1;
	if (p[-1] == ':' && !*p)
		return -1; /* "+HH:" */
	if (m >= 60 || h * 60 + m > 14 * 60)
		return -1;
	*off = (h * 3600L + m * 60L) * (*s == '-' ? -1 : 1);
	return 0;
}

void
when_format_tz(long off, char *buf, size_t len)
{
	long a = off < 0 ? -off : off;

	snprintf(buf, len, "%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600,
		 a / 60 % 60);
}
