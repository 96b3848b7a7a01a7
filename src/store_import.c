/* SPDX-License-Identifier: GPL-2.0-or-later
 * store_import.c - the one-time import of an old usage.jsonl ledger.
 *
 * The file's records go in with one transaction that also notes the file
 * (device, inode, size, mtime) in `imports`; then it is renamed to
 * usage.jsonl.imported, never deleted. A crash between the commit and
 * the rename finds the note at the next start and only renames: the
 * import happens once. This runs at start-up, before the writer thread,
 * so its JSON parsing is never on the writer's path.
 *
 * Threading: main, before any thread starts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "store.h"

#define STORE_JSONL "usage.jsonl"

/* 1 when the file is noted as imported, 0 when not, -1 on error. */
static int
import_noted(struct store *s, const struct stat *st)
{
	sqlite3_stmt *q = NULL;
	int rc = -1, step;

	if (sqlite3_prepare_v2(store_db(s),
			       "SELECT 1 FROM imports WHERE "
			       "dev = ?1 AND ino = ?2 AND size = ?3",
			       -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(q, 1, (int64_t)st->st_dev);
	sqlite3_bind_int64(q, 2, (int64_t)st->st_ino);
	sqlite3_bind_int64(q, 3, (int64_t)st->st_size);
	step = sqlite3_step(q);
	rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(q);
	return rc;
}

static int
import_note(struct store *s, const struct stat *st, unsigned long n)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(store_db(s),
			       "INSERT INTO imports VALUES "
			       "('" STORE_JSONL "', ?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(q, 1, (int64_t)st->st_dev);
	sqlite3_bind_int64(q, 2, (int64_t)st->st_ino);
	sqlite3_bind_int64(q, 3, (int64_t)st->st_size);
	sqlite3_bind_double(q, 4, (double)st->st_mtim.tv_sec);
	sqlite3_bind_int64(q, 5, (int64_t)n);
	sqlite3_bind_double(q, 6, clock_wall());
	rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(q);
	return rc;
}

/* Inserts every complete, well-formed line; -1 on a database error. */
static int
import_lines(struct store *s, FILE *f, const char *path, unsigned long *n)
{
	struct json_tokener *tok = json_tokener_new();
	struct usage_record *r = malloc(sizeof(*r));
	unsigned long lineno = 0, bad = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = -1;

	if (!tok || !r)
		goto out;
	while ((len = getline(&line, &cap, f)) > 0) {
		struct json_object *o;

		lineno++;
		if (line[len - 1] != '\n') {
			log_warnx("store: %s: line %lu is torn (%zd bytes "
				  "without a newline); skipped",
				  path, lineno, len);
			break;
		}
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, line, (int)len);
		if (!o || usage_record_from_json(o, r) < 0) {
			if (bad++ < 10)
				log_warnx("store: %s: line %lu is malformed; "
					  "skipped",
					  path, lineno);
		} else if (store_insert(s, r) < 0) {
			json_object_put(o);
			goto out;
		} else {
			(*n)++;
		}
		json_object_put(o);
	}
	rc = ferror(f) ? -1 : 0;
out:
	free(line);
	free(r);
	if (tok)
		json_tokener_free(tok);
	return rc;
}

int
store_import_jsonl(struct store *s, const char *dir, unsigned long *n)
{
	char path[4096], done[4096], err[STORE_ERR_MAX] = "";
	struct stat st;
	FILE *f = NULL;
	int fd, noted, rc = -1;

	*n = 0;
	snprintf(path, sizeof(path), "%s/" STORE_JSONL, dir);
	snprintf(done, sizeof(done), "%s/" STORE_JSONL ".imported", dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, sizeof(err), "not a regular file");
		goto out;
	}
	if (!(f = fdopen(fd, "r"))) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		goto out;
	}
	fd = -1; /* f owns it */
	if ((noted = import_noted(s, &st)) < 0)
		goto out;
	if (noted == 0) {
		if (store_exec(s, "BEGIN IMMEDIATE", err, sizeof(err)) < 0)
			goto out;
		if (import_lines(s, f, path, n) < 0 ||
		    import_note(s, &st, *n) < 0 ||
		    store_exec(s, "COMMIT", err, sizeof(err)) < 0) {
			sqlite3_exec(store_db(s), "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	if (rename(path, done) < 0) {
		log_err("store: renaming %s", path);
		goto out;
	}
	if (noted)
		log_info("store: %s was imported before; renamed to %s", path,
			 done);
	else
		log_info("store: imported %lu records from %s (now %s)", *n,
			 path, done);
	rc = 0;
out:
	if (rc < 0 && !err[0])
		snprintf(err, sizeof(err), "%s", sqlite3_errmsg(store_db(s)));
	if (rc < 0)
		log_errx("store: importing %s: %s", path, err);
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return rc;
}
