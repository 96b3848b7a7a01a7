/* SPDX-License-Identifier: GPL-2.0-or-later
 * buf.h - the one growable buffer: bytes that double as they are needed,
 * up to a cap the owner sets, and the same growth for arrays.
 */
#ifndef AGP_BUF_H
#define AGP_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first byte is reserved */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
	size_t max; /* cap never passes it; 0 means no cap */
};

/* An empty buffer that never grows past max bytes (0: no cap). */
#define BUF_INIT(max)             \
	{                         \
		NULL, 0, 0, (max) \
	}

/* Makes b->cap at least need: doubling from 256, clamped to b->max.
 * False when need is past b->max or memory is out; b is then as it was. */
bool buf_reserve(struct buf *b, size_t need);

/* Appends n bytes and keeps a NUL after them (not counted in len), so a
 * text buffer is always a C string; the NUL counts against max.  False as
 * buf_reserve. */
bool buf_append(struct buf *b, const void *p, size_t n);

/* Frees the bytes; b is empty again, its max kept.  NULL is a no-op. */
void buf_free(struct buf *b);

/* Grows an array of `size`-byte elements to hold at least n of them,
 * doubling *cap from 16.  Returns the new array (the caller stores it),
 * or NULL with arr and *cap unchanged when out of memory or overflowing. */
void *buf_grow_array(void *arr, size_t *cap, size_t n, size_t size);

#endif
