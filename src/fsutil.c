/* SPDX-License-Identifier: GPL-2.0-or-later
 * fsutil.c - the one atomic file write (temporary file, fsync, rename,
 * directory fsync).
 *
 * Threading: none shared; each call owns its descriptor and name.
 */
#include "config.h"

#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes all of data to fd, across short writes and EINTR. */
static int
fsutil_write_all(int fd, const unsigned char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A fresh name beside name: random, so another process cannot plant it
 * first, and starting with '.', so a listing hides it. */
static int
fsutil_tmp_name(const char *name, char *tmp, size_t size)
{
	unsigned char rnd[6];
	int n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	n = snprintf(tmp, size, ".%s.%02x%02x%02x%02x%02x%02x.tmp", name,
		     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
fsutil_write_at(int dirfd, const char *name, const void *data, size_t len,
		mode_t mode)
{
	char tmp[NAME_MAX + 1];
	int fd = -1, rc = -1, err;

	if (!*name || strchr(name, '/')) {
		errno = EINVAL;
		return -1;
	}
	if (fsutil_tmp_name(name, tmp, sizeof(tmp)) < 0)
		return -1;
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode & 07777);
	if (fd < 0)
		return -1;
	/* The umask must neither loosen nor tighten what the caller asks:
	 * a key is 0600 whatever it says, a bundle readable by all. */
	if (fchmod(fd, mode & 07777) < 0 ||
	    fsutil_write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto out;
	rc = close(fd);
	fd = -1;
	if (rc < 0 || (rc = renameat(dirfd, tmp, dirfd, name)) < 0)
		goto out;
	tmp[0] = '\0';	   /* renamed: nothing to remove */
	rc = fsync(dirfd); /* the rename itself, durable */
out:
	err = errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp[0])
		unlinkat(dirfd, tmp, 0);
	errno = err;
	return rc;
}

int
fsutil_write(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int dfd, rc, err;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return errno = ENAMETOOLONG, -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsutil_write_at(dfd, slash ? slash + 1 : path, data, len, mode);
	err = errno;
	close(dfd);
	errno = err;
	return rc;
}
