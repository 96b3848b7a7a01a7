/* SPDX-License-Identifier: GPL-2.0-or-later
 * log.h - leveled logging to stderr or syslog.
 *
 * Threading: every call is thread-safe; one line is one write(2) to stderr
 *   or one syslog(3) call, so lines from different threads never interleave.
 *
 * What each level is for:
 *   LOG_ERR      the daemon cannot do its job (bind failed, CA unreadable)
 *   LOG_WARNING  one connection or record went wrong; the daemon goes on
 *   LOG_INFO     one line per connection and per metered response
 *   LOG_DEBUG    protocol detail; decrypted bodies only with --log-bodies
 *
 * log_warn()/log_err() append strerror(errno); the *x variants do not.
 * Never log keys, tokens or Authorization headers.
 */
#ifndef AGP_LOG_H
#define AGP_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <syslog.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Parses "error", "warn", "info" or "debug" into *level; -1 if unknown. */
int log_level_parse(const char *name, int *level);
void log_set_level(int level);
/* Sends lines to syslog (ident "antigravity-proxy") instead of stderr. */
void log_use_syslog(bool on);
bool log_enabled(int level);

void log_msg(int level, const char *fmt, ...) LOG_PRINTF(2, 3);
void log_msg_errno(int level, const char *fmt, ...) LOG_PRINTF(2, 3);

/* A rate limit for one recurring line (a flood of refusals): at most one
 * line per interval. Static storage, initialised with LOG_RATE_INIT. */
struct log_rate {
	pthread_mutex_t lock;
	double last;	    /* monotonic seconds of the last line, or 0 */
	unsigned long held; /* events since then not logged */
};
#define LOG_RATE_INIT                           \
	{                                       \
		PTHREAD_MUTEX_INITIALIZER, 0, 0 \
	}

/* Counts one event. Returns 0 when the caller must stay silent, else how
 * many events its line stands for (this one and those held back since
 * the last line), with *secs the time since that line (0 for the first). */
unsigned long log_rate_check(struct log_rate *r, long interval_ms,
			     double *secs);

#define log_err(...) log_msg_errno(LOG_ERR, __VA_ARGS__)
#define log_errx(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg_errno(LOG_WARNING, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)                                   \
	do {                                            \
		if (log_enabled(LOG_INFO))              \
			log_msg(LOG_INFO, __VA_ARGS__); \
	} while (0)
#define log_debug(...)                                   \
	do {                                             \
		if (log_enabled(LOG_DEBUG))              \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
