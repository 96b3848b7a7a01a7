/* SPDX-License-Identifier: GPL-2.0-or-later
 * jstream.c - incremental JSON body reader: the array framing here, each
 * value through its own pruner (prune_value()), which finds its end.
 *
 * Threading: one reader belongs to one exchange; no shared state.
 * Ownership: the reader owns the pruned text of the value being read and
 *   its shape, reused for every value, so an array body of any length is
 *   read in the memory of its largest element, pruned.
 */
#include "config.h"

#include <stdlib.h>

#include "buf.h"
#include "meter/jstream.h"

enum jstream_state {
	JSTREAM_START,	 /* before the first significant byte */
	JSTREAM_BETWEEN, /* in the array, before an element or ']' */
	JSTREAM_VALUE,	 /* inside a value */
	JSTREAM_DONE,
	JSTREAM_FAILED,
};

struct jstream {
	jstream_value_fn *cb;
	void *arg;
	enum jstream_state state;
	bool array; /* the body is an array of values */
	struct prune prune;
	struct prune_shape shape;
	/* the current value, pruned, and room for the one byte a bare
	 * number or literal adds at its end */
	struct buf text;
};

struct jstream *
jstream_new(const char *const *keys, jstream_value_fn *cb, void *arg)
{
	struct jstream *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->cb = cb;
	j->arg = arg;
	j->shape.keys = keys;
	j->text.max = JSTREAM_VALUE_MAX + 1;
	return j;
}

void
jstream_free(struct jstream *j)
{
	if (!j)
		return;
	buf_free(&j->text);
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

/* Reads value bytes from buf; returns how many were used, or -1. */
static ssize_t
jstream_value(struct jstream *j, const char *buf, size_t len)
{
	size_t in = len < PRUNE_SLICE ? len : PRUNE_SLICE, used;
	ssize_t n;

	if (!buf_reserve(&j->text, j->text.len + in + 1) ||
	    (n = prune_value(&j->prune, buf, in, j->text.data + j->text.len,
			     &used)) < 0)
		return -1;
	j->text.len += (size_t)n;
	if (j->text.len >= JSTREAM_VALUE_MAX)
		return -1;
	if (!prune_ended(&j->prune))
		return (ssize_t)used;
	/* A number or literal ends at a byte json-c must see too; the
	 * pruner left it unread, and it is read again as framing. */
	if (prune_ended_bare(&j->prune))
		j->text.data[j->text.len++] = buf[used];
	j->cb(j->arg, j->text.data, j->text.len, &j->shape);
	j->state = j->array ? JSTREAM_BETWEEN : JSTREAM_DONE;
	return (ssize_t)used;
}

int
jstream_feed(struct jstream *j, const char *buf, size_t len)
{
	size_t i = 0;
	ssize_t n;

	while (i < len && j->state != JSTREAM_FAILED &&
	       j->state != JSTREAM_DONE) {
		if (j->state == JSTREAM_VALUE) {
			if ((n = jstream_value(j, buf + i, len - i)) < 0)
				j->state = JSTREAM_FAILED;
			else
				i += (size_t)n;
		} else if (jstream_space(buf[i]) ||
			   (j->state == JSTREAM_BETWEEN && buf[i] == ',')) {
			i++;
		} else if (j->state == JSTREAM_START && buf[i] == '[') {
			j->array = true;
			j->state = JSTREAM_BETWEEN;
			i++;
		} else if (j->state == JSTREAM_BETWEEN && buf[i] == ']') {
			j->state = JSTREAM_DONE;
			i++;
		} else {
			prune_init_value(&j->prune, &j->shape);
			j->text.len = 0;
			j->state = JSTREAM_VALUE;
		}
	}
	return j->state == JSTREAM_FAILED ? -1 : 0;
}
