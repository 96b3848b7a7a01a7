/* SPDX-License-Identifier: GPL-2.0-or-later
 * log.c - leveled logging to stderr or syslog.
 *
 * Threading: the level and destination are set by main before any thread
 *   starts (and on SIGHUP only the syslog connection is reopened), so they
 *   are read without a lock; each line is formatted on the caller's stack.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_level = LOG_INFO;
static bool log_syslog;

static const struct {
	const char *name;
	int level;
	const char *tag;
} log_levels[] = {
	{ "error", LOG_ERR, "error" },
	{ "warn", LOG_WARNING, "warn" },
	{ "info", LOG_INFO, "info" },
	{ "debug", LOG_DEBUG, "debug" },
};

int
log_level_parse(const char *name, int *level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcmp(name, log_levels[i].name) == 0) {
			*level = log_levels[i].level;
			return 0;
		}
	return -1;
}

void
log_set_level(int level)
{
	log_level = level;
}

void
log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog("antigravity-proxy", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log_syslog)
		closelog();
	log_syslog = on;
}

bool
log_enabled(int level)
{
	return level <= log_level;
}

static const char *
log_tag(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].tag;
	return "?";
}

static void LOG_PRINTF(3, 0)
	log_vmsg(int level, const char *suffix, const char *fmt, va_list ap)
{
	char msg[2048], line[2200];
	struct timeval tv;
	struct tm tm;
	int n;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		syslog(level, "%s%s%s", msg, suffix ? ": " : "",
		       suffix ? suffix : "");
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s%s%s\n",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000,
		     log_tag(level), msg, suffix ? ": " : "",
		     suffix ? suffix : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line; a short write to a log pipe is not retried. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_msg_errno(int level, const char *fmt, ...)
{
	char buf[256];
	int saved = errno;
	const char *why = strerror_r(saved, buf, sizeof(buf)); /* GNU */
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, why, fmt, ap);
	va_end(ap);
	errno = saved;
}

unsigned long
log_rate_check(struct log_rate *r, long interval_ms, double *secs)
{
	struct timespec ts;
	unsigned long n = 0;
	double now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	pthread_mutex_lock(&r->lock);
	r->held++;
	if (r->last == 0 || (now - r->last) * 1000 >= (double)interval_ms) {
		n = r->held;
		*secs = r->last == 0 ? 0 : now - r->last;
		r->held = 0;
		r->last = now;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}
