/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_buf.c - the growable buffer: doubling, the cap, failure leaves it
 * as it was, and the array growth.
 */
#include "../../src/buf.h"

#include <stdint.h>

#include "tap.h"

static void
test_reserve(void)
{
	struct buf b = BUF_INIT(4096);

	ok(buf_reserve(&b, 0) && b.cap == 0 && !b.data,
	   "nothing: no allocation");
	ok(buf_reserve(&b, 1) && b.cap == 256,
	   "the first reserve is 256 bytes");
	ok(buf_reserve(&b, 257) && b.cap == 512, "then it doubles");
	ok(buf_reserve(&b, 3000) && b.cap == 4096, "as often as needed");
	ok(buf_reserve(&b, 4096) && b.cap == 4096, "up to the cap, exactly");
	ok(!buf_reserve(&b, 4097) && b.cap == 4096 && b.data,
	   "past the cap: false, the buffer as it was");
	buf_free(&b);
	ok(!b.data && !b.cap && !b.len && b.max == 4096, "freed, its max kept");
	buf_free(NULL);

	b = (struct buf)BUF_INIT(1000);
	ok(buf_reserve(&b, 600) && b.cap == 1000,
	   "a cap that is not a power of two clamps the doubling");
	buf_free(&b);
}

static void
test_append(void)
{
	struct buf b = BUF_INIT(8);
	struct buf big = BUF_INIT(0);
	size_t i;

	ok(buf_append(&b, "abc", 3) && b.len == 3 && !strcmp(b.data, "abc"),
	   "append keeps a NUL after the bytes");
	ok(buf_append(&b, "", 0) && b.len == 3, "appending nothing is fine");
	ok(buf_append(&b, "defg", 4) && b.len == 7 &&
		   !strcmp(b.data, "abcdefg"),
	   "up to the cap with its NUL");
	ok(!buf_append(&b, "h", 1) && b.len == 7 && !strcmp(b.data, "abcdefg"),
	   "one more is refused and changes nothing");
	ok(!buf_append(&b, "x", SIZE_MAX - 2),
	   "a length that overflows: refused");
	buf_free(&b);

	for (i = 0; i < 10000; i++)
		if (!buf_append(&big, "0123456789", 10))
			break;
	ok(i == 10000 && big.len == 100000 && big.cap == 131072 &&
		   !memcmp(big.data + 99990, "0123456789", 10),
	   "no cap: 100,000 bytes in 10-byte appends, doubled to 128 KiB");
	buf_free(&big);
}

static void
test_array(void)
{
	size_t cap = 0, i;
	int *a = NULL, *p;

	ok((p = buf_grow_array(a, &cap, 1, sizeof(*a))) && cap == 16,
	   "an array starts at 16 elements");
	a = p;
	ok(buf_grow_array(a, &cap, 16, sizeof(*a)) == a && cap == 16,
	   "no growth while it fits");
	ok((p = buf_grow_array(a, &cap, 100, sizeof(*a))) && cap == 128,
	   "doubles to hold n");
	a = p;
	for (i = 0; i < 100; i++)
		a[i] = (int)i;
	ok(a[99] == 99, "and every element is usable");
	ok(!buf_grow_array(a, &cap, SIZE_MAX / 2, sizeof(*a)) && cap == 128,
	   "an overflowing size: NULL, the array and cap unchanged");
	free(a);
}

int
main(void)
{
	test_reserve();
	test_append();
	test_array();
	return tap_done();
}
