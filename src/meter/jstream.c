/* SPDX-License-Identifier: GPL-2.0-or-later
 * jstream.c - incremental JSON body reader over json-c's tokener.
 *
 * Threading: one reader belongs to one exchange; no shared state.
 * Ownership: the reader owns one tokener, reset between values, and a
 *   pruner (prune.h) with its output buffer: json-c reads the body with
 *   long strings cut and keeps only the value being parsed, so an array
 *   body of any length is read in the memory of its largest element,
 *   pruned.
 */
#include "config.h"

#include <stdlib.h>

#include "meter/jstream.h"
#include "meter/prune.h"

/* Gemini candidates nest deeper than json-c's default of 32 with tools */
#define JSTREAM_DEPTH 128

enum jstream_state {
	JSTREAM_START,		/* before the first significant byte */
	JSTREAM_BETWEEN,	/* in the array, before an element or ']' */
	JSTREAM_VALUE,		/* inside a value */
	JSTREAM_DONE,
	JSTREAM_FAILED,
};

struct jstream {
	jstream_value_fn *cb;
	void *arg;
	struct json_tokener *tok;
	enum jstream_state state;
	bool array;		/* the body is an array of values */
	size_t value_len;	/* pruned bytes of the current value so far */
	struct prune prune;
	char slice[PRUNE_SLICE];	/* pruned bytes of the current chunk */
};

struct jstream *
jstream_new(jstream_value_fn *cb, void *arg)
{
	struct jstream *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	if (!(j->tok = json_tokener_new_ex(JSTREAM_DEPTH))) {
		free(j);
		return NULL;
	}
	j->cb = cb;
	j->arg = arg;
	prune_init(&j->prune, NULL);
	return j;
}

void
jstream_free(struct jstream *j)
{
	if (!j)
		return;
	json_tokener_free(j->tok);
	free(j);
}

bool
jstream_done(const struct jstream *j)
{
	return j->state == JSTREAM_DONE;
}

static bool
jstream_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses value bytes from buf; returns how many were used, or -1. */
static ssize_t
jstream_value(struct jstream *j, const char *buf, size_t len)
{
	struct json_object *o;
	enum json_tokener_error err;
	size_t used;

	if (len > JSTREAM_VALUE_MAX - j->value_len)
		len = JSTREAM_VALUE_MAX - j->value_len;
	o = json_tokener_parse_ex(j->tok, buf, (int)len);
	err = json_tokener_get_error(j->tok);
	if (!o && err == json_tokener_continue) {
		if ((j->value_len += len) >= JSTREAM_VALUE_MAX)
			return -1;
		return (ssize_t)len;
	}
	if (!o || err != json_tokener_success) {
		json_object_put(o);
		return -1;
	}
	used = json_tokener_get_parse_end(j->tok);
	j->cb(j->arg, o);
	json_object_put(o);
	json_tokener_reset(j->tok);
	j->value_len = 0;
	j->state = j->array ? JSTREAM_BETWEEN : JSTREAM_DONE;
	return (ssize_t)used;
}

/* Reads pruned text: array framing here, values through json-c. */
static void
jstream_text(struct jstream *j, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && j->state != JSTREAM_FAILED) {
		ssize_t n;

		switch (j->state) {
		case JSTREAM_START:
		case JSTREAM_BETWEEN:
			if (jstream_space(buf[i]) ||
			    (j->state == JSTREAM_BETWEEN && buf[i] == ',')) {
				i++;
			} else if (j->state == JSTREAM_START &&
			           buf[i] == '[') {
				j->array = true;
				j->state = JSTREAM_BETWEEN;
				i++;
			} else if (j->state == JSTREAM_BETWEEN &&
			           buf[i] == ']') {
				j->state = JSTREAM_DONE;
				i++;
			} else {
				j->state = JSTREAM_VALUE;
			}
			break;
		case JSTREAM_VALUE:
			if ((n = jstream_value(j, buf + i, len - i)) < 0)
				j->state = JSTREAM_FAILED;
			else
				i += (size_t)n;
			break;
		case JSTREAM_DONE:
			return;		/* trailing bytes do not matter */
		case JSTREAM_FAILED:
			break;
		}
	}
}

int
jstream_feed(struct jstream *j, const char *buf, size_t len)
{
	while (len > 0 && j->state != JSTREAM_FAILED &&
	       j->state != JSTREAM_DONE) {
		size_t in = len < PRUNE_SLICE ? len : PRUNE_SLICE;
		ssize_t n = prune_feed(&j->prune, buf, in, j->slice);

		if (n < 0)
			j->state = JSTREAM_FAILED;
		else
			jstream_text(j, j->slice, (size_t)n);
		buf += in;
		len -= in;
	}
	return j->state == JSTREAM_FAILED ? -1 : 0;
}
