/* SPDX-License-Identifier: GPL-2.0-or-later
 * fsutil.h - the one atomic file write: a reader, or a crash, sees the
 * old file or the whole new one, never half of it.
 *
 * Threading: thread-safe; nothing is kept between calls.
 */
#ifndef AGP_FSUTIL_H
#define AGP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Makes name (a file name in the directory open on dirfd, no '/') hold
 * the len bytes at data, with mode whatever the umask: written to a
 * fresh temporary file beside it (O_EXCL, a random name, no symlink
 * followed), fsynced, renamed over name, and the directory fsynced so
 * the rename survives a crash too. A symlink at name is replaced, its
 * target left alone. Returns 0, or -1 with errno set and not logged (the
 * caller names the file); name is then as it was, but for a failing
 * directory fsync, which leaves the new file in place, maybe not durable.
 * No temporary file is left behind either way.
 */
int fsutil_write_at(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode);

/* The same for a path: its directory ("." without a slash) is opened and
 * the last component written in it.  A path ending in '/' is EINVAL. */
int fsutil_write(const char *path, const void *data, size_t len, mode_t mode);

#endif
