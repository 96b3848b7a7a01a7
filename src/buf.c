/* SPDX-License-Identifier: GPL-2.0-or-later
 * buf.c - the one growable buffer.
 */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF_FIRST 256
#define BUF_ARRAY_FIRST 16

bool
buf_reserve(struct buf *b, size_t need)
{
	size_t max = b->max ? b->max : SIZE_MAX / 2, cap;
	char *p;

	if (need <= b->cap)
		return true;
	if (need > max)
		return false;
	for (cap = b->cap ? b->cap : BUF_FIRST; cap < need; cap *= 2)
		;
	if (cap > max)
		cap = max;
	if (!(p = realloc(b->data, cap)))
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

bool
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n >= SIZE_MAX / 2 - b->len || !buf_reserve(b, b->len + n + 1))
		return false;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

void
buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void *
buf_grow_array(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n <= *cap)
		return arr;
	for (ncap = *cap ? *cap : BUF_ARRAY_FIRST; ncap < n; ncap *= 2)
		if (ncap > SIZE_MAX / 4)
			return NULL;
	if (size && ncap > SIZE_MAX / size)
		return NULL;
	if (!(arr = realloc(arr, ncap * size)))
		return NULL;
	*cap = ncap;
	return arr;
}
