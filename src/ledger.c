/* SPDX-License-Identifier: GPL-2.0-or-later
 * ledger.c - usage.jsonl: every record, appended and made durable.
 *
 * A record counts in the table only after ledger_append() returned, so a
 * crash never loses a record that /v1/usage showed. Start-up replays the
 * file line by line with one json_tokener reused for every line.
 *
 * Threading: l->lock guards l->fd and serialises appends.
 * Ownership: struct ledger owns its path copy and descriptor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "log.h"

struct ledger {
	char *path;
	pthread_mutex_t lock;	/* guards fd */
	int fd;
};

/* Replays complete lines; returns the offset just past the last complete
 * line (where appending must resume), or -1 when the file is unreadable. */
static off_t
ledger_replay(const char *path, struct usage_table *t, unsigned long *n)
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
ledger_open_fd(const char *path, off_t truncate_at)
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

struct ledger *
ledger_open(const char *path, struct usage_table *t, unsigned long *replayed)
{
	struct ledger *l = calloc(1, sizeof(*l));
	struct stat st;
	off_t good;

	if (!l || !(l->path = strdup(path)))
		goto fail;
	pthread_mutex_init(&l->lock, NULL);
	if ((good = ledger_replay(path, t, replayed)) < 0) {
		log_err("ledger: %s", path);
		goto fail;
	}
	/* Cut only a torn tail: a file that grew meanwhile is left alone. */
	if (stat(path, &st) < 0 || st.st_size == good)
		good = -1;
	if ((l->fd = ledger_open_fd(path, good)) < 0)
		goto fail;
	return l;
fail:
	if (l)
		free(l->path);
	free(l);
	return NULL;
}

void
ledger_free(struct ledger *l)
{
	if (!l)
		return;
	close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l);
}

int
ledger_append(struct ledger *l, const struct usage_record *r)
{
	struct json_object *o = usage_record_to_json(r);
	const char *s = json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	char *line = malloc(len + 1);
	ssize_t w = -1;
	int rc = -1;

	if (line) {
		memcpy(line, s, len);
		line[len++] = '\n';
		pthread_mutex_lock(&l->lock);
		/* One write, so a crash tears at most the last line. */
		do
			w = write(l->fd, line, len);
		while (w < 0 && errno == EINTR);
		if (w == (ssize_t)len && fdatasync(l->fd) == 0)
			rc = 0;
		pthread_mutex_unlock(&l->lock);
	}
	if (rc < 0)
		log_warn("ledger: %s: append", l->path);
	free(line);
	json_object_put(o);
	return rc;
}

int
ledger_reopen(struct ledger *l)
{
	int fd = ledger_open_fd(l->path, -1), old;

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&l->lock);
	old = l->fd;
	l->fd = fd;
	pthread_mutex_unlock(&l->lock);
	close(old);
	return 0;
}
