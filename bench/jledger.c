/* SPDX-License-Identifier: GPL-2.0-or-later
 * jledger.c - the usage.jsonl ledger as it was before usage.db (issue 13),
 * symbols renamed jledger_: the baseline of bench/store_bench.c.
 * The rest of this comment is the original ledger.c's:
 * (ledger.c: usage.jsonl: every record, appended and made durable, then
 * counted.)
 *
 * A record counts in the table only after it is on disk, so a crash never
 * loses a record that /v1/usage showed. Workers only queue their records:
 * the writer thread takes the whole queue, writes it with one write(2)
 * and one fdatasync(2), then counts it. The writer gathers for
 * JLEDGER_GATHER_MS after the first record of a batch, so one sync covers
 * every record of that window however fast they come (a sync per
 * request cost a quarter of the daemon's CPU at 3,000 requests/s), and
 * no client waits for the disk before its next request.
 * Start-up replays the file line by line with one reused json_tokener.
 *
 * Threading: l->lock guards the queue, `stop` and `errors`; the writer
 *   holds it only to swap the queue out. l->fd_lock guards `fd`: the
 *   writer holds it across the write and the sync, jledger_reopen() to
 *   swap the file; appenders never take it.
 * Ownership: struct jledger owns its path copy, descriptor and queue.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jledger.h"
#include "log.h"

/* How long the writer gathers records before it writes and syncs them:
 * the delay before a record counts, and the bound on syncs per second. */
#define JLEDGER_GATHER_MS 5

struct jledger {
	char *path;
	struct usage_table *table;
	pthread_t writer;
	bool started;
	pthread_mutex_t fd_lock;	/* guards fd */
	int fd;
	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t more;		/* the queue is not empty, or stop */
	struct usage_record *queue;
	size_t n, cap;
	bool stop;
	unsigned long errors;
	unsigned long syncs;
};

/* Replays complete lines; returns the offset just past the last complete
 * line (where appending must resume), or -1 when the file is unreadable. */
static off_t
jledger_replay(const char *path, struct usage_table *t, unsigned long *n)
{
	struct json_tokener *tok = json_tokener_new();
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	off_t good = 0;
	unsigned long lineno = 0, bad = 0;
	FILE *f;

	*n = 0;
	if (!(f = fopen(path, "r"))) {
		json_tokener_free(tok);
		return errno == ENOENT ? 0 : -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		struct usage_record r;
		struct json_object *o;

		lineno++;
		if (line[len - 1] != '\n') {
			log_warnx("ledger: %s: line %lu is torn (%zd bytes "
				  "without a newline); skipped", path, lineno,
				  len);
			break;
		}
		good += len;
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, line, (int)len);
		if (!o || usage_record_from_json(o, &r) < 0) {
			if (bad++ < 10)
				log_warnx("ledger: %s: line %lu is malformed; "
					  "skipped", path, lineno);
		} else {
			usage_record(t, &r);
			(*n)++;
		}
		json_object_put(o);
	}
	free(line);
	fclose(f);
	json_tokener_free(tok);
	return good;
}

static int
jledger_open_fd(const char *path, off_t truncate_at)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0) {
		log_err("ledger: %s", path);
		return -1;
	}
	if (truncate_at >= 0 && ftruncate(fd, truncate_at) < 0) {
		log_err("ledger: %s: cutting off the torn line", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void *writer_main(void *arg);

struct jledger *
jledger_open(const char *path, struct usage_table *t, unsigned long *replayed)
{
	struct jledger *l = calloc(1, sizeof(*l));
	struct stat st;
	off_t good;

	if (!l || !(l->path = strdup(path)))
		goto fail;
	l->table = t;
	l->fd = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->fd_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->more, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((good = jledger_replay(path, t, replayed)) < 0) {
		log_err("ledger: %s", path);
		goto fail;
	}
	/* Cut only a torn tail: a file that grew meanwhile is left alone. */
	if (stat(path, &st) < 0 || st.st_size == good)
		good = -1;
	if ((l->fd = jledger_open_fd(path, good)) < 0)
		goto fail;
	return l;
fail:
	jledger_free(l);
	return NULL;
}

int
jledger_start(struct jledger *l)
{
	int rc = pthread_create(&l->writer, NULL, writer_main, l);

	if (rc != 0) {
		errno = rc;
		log_err("ledger: cannot start the writer");
		return -1;
	}
	l->started = true;
	return 0;
}

void
jledger_free(struct jledger *l)
{
	if (!l)
		return;
	if (!l->started && l->n > 0 && l->fd >= 0)
		jledger_start(l);	/* so that what was queued is written */
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->more);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->writer, NULL);	/* it drains the queue */
	}
	if (l->fd >= 0)
		close(l->fd);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->fd_lock);
	pthread_cond_destroy(&l->more);
	free(l->queue);
	free(l->path);
	free(l);
}

int
jledger_append(struct jledger *l, const struct usage_record *r)
{
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct usage_record *q = realloc(l->queue, cap * sizeof(*q));

		if (!q)
			rc = -1;
		else {
			l->queue = q;
			l->cap = cap;
		}
	}
	if (rc == 0) {
		/* The first record of a batch wakes the writer; the rest of
		 * its window does not. */
		if (l->n++ == 0)
			pthread_cond_signal(&l->more);
		l->queue[l->n - 1] = *r;
	}
	pthread_mutex_unlock(&l->lock);
	if (rc < 0)
		log_warnx("ledger: out of memory; a record is lost");
	return rc;
}

/* Appends the batch's lines to buf; returns its length, or 0. */
static size_t
batch_format(const struct usage_record *b, size_t n, char **buf)
{
	size_t len = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = usage_record_to_json(&b[i]);
		const char *s = json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN);
		size_t sl = strlen(s);

		if (len + sl + 1 > cap) {
			char *p;

			cap = (len + sl + 1) * 2;
			if (!(p = realloc(*buf, cap))) {
				json_object_put(o);
				return 0;
			}
			*buf = p;
		}
		memcpy(*buf + len, s, sl);
		(*buf)[len + sl] = '\n';
		len += sl + 1;
		json_object_put(o);
	}
	return len;
}

/* Writes the batch and syncs; 0 or -1. Called with l->fd_lock held. */
static int
batch_write(struct jledger *l, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t w;

	while (off < len) {
		w = write(l->fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("ledger: %s: write", l->path);
			return -1;
		}
		off += (size_t)w;
	}
	if (fdatasync(l->fd) < 0) {
		log_warn("ledger: %s: fdatasync", l->path);
		return -1;
	}
	return 0;
}

/* Waits out the gathering window, or until a stop; l->lock held. */
static void
gather(struct jledger *l)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += JLEDGER_GATHER_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!l->stop &&
	       pthread_cond_timedwait(&l->more, &l->lock, &until) != ETIMEDOUT)
		;
}

static void *
writer_main(void *arg)
{
	struct jledger *l = arg;
	struct usage_record *batch = NULL;
	size_t n, batch_cap = 0;
	char *buf = NULL;
	bool stop;

	for (;;) {
		size_t len;
		int rc = 0;

		pthread_mutex_lock(&l->lock);
		while (l->n == 0 && !l->stop)
			pthread_cond_wait(&l->more, &l->lock);
		gather(l);
		/* Swap the queue out: appenders go on while we write. */
		{
			struct usage_record *q = l->queue;
			size_t c = l->cap;

			l->queue = batch;
			l->cap = batch_cap;
			batch = q;
			batch_cap = c;
		}
		n = l->n;
		l->n = 0;
		stop = l->stop;
		pthread_mutex_unlock(&l->lock);

		if (n) {
			len = batch_format(batch, n, &buf);
			pthread_mutex_lock(&l->fd_lock);
			rc = len ? batch_write(l, buf, len) : -1;
			pthread_mutex_unlock(&l->fd_lock);
		}
		if (n) {
			pthread_mutex_lock(&l->lock);
			l->syncs++;
			if (rc < 0)
				l->errors += n;
			pthread_mutex_unlock(&l->lock);
		}
		/* Durable (or failed loudly): now they count. */
		for (size_t i = 0; i < n; i++)
			usage_record(l->table, &batch[i]);
		if (stop && n == 0)
			break;
	}
	free(batch);
	free(buf);
	return NULL;
}

int
jledger_reopen(struct jledger *l)
{
	int fd = jledger_open_fd(l->path, -1), old;

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&l->fd_lock);
	old = l->fd;
	l->fd = fd;
	pthread_mutex_unlock(&l->fd_lock);
	close(old);
	return 0;
}

void
jledger_stats(struct jledger *l, unsigned long *errors, unsigned long *syncs)
{
	pthread_mutex_lock(&l->lock);
	*errors = l->errors;
	*syncs = l->syncs;
	pthread_mutex_unlock(&l->lock);
}
