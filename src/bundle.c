/* SPDX-License-Identifier: GPL-2.0-or-later
 * bundle.c - the combined CA bundle (system CAs + the MITM CA).
 *
 * Go reads SSL_CERT_FILE instead of, not in addition to, the system
 * store, so the language server must be handed one file holding both.
 * It lives in the state dir (never a fixed name in /tmp, where another
 * user could plant it first), is compared byte for byte with what it
 * would become and rewritten only then, through a temporary file and a
 * rename, so a reader never sees half a bundle.
 *
 * Threading: none; main and the `run` command call it before any thread.
 * Ownership: every buffer is freed before returning.
 */
#include "config.h"

#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"

#define BUNDLE_CA_CERT "ca-cert.pem"
#define BUNDLE_MAX (64L * 1024 * 1024)

const char *
bundle_system_path(const char *configured)
{
	static const char *const paths[] = {
		"/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu */
		"/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
		"/etc/ssl/ca-bundle.pem",	      /* openSUSE */
		"/etc/pki/tls/cacert.pem",	      /* OpenELEC */
		"/etc/ssl/cert.pem",		      /* Alpine, macOS */
		NULL
	};

	if (configured)
		return configured;
	for (size_t i = 0; paths[i]; i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return NULL;
}

/* Appends the whole regular file open on fd to b, with room for one
 * more byte and a NUL; 0 or -1 (errno). */
static int
bundle_slurp(int fd, struct buf *b)
{
	struct stat st;
	ssize_t n;
	size_t want;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size > BUNDLE_MAX) {
		errno = EINVAL;
		return -1;
	}
	want = b->len + (size_t)st.st_size + 2;
	if (!buf_reserve(b, want))
		return -1;
	for (;;) {
		if (b->len + 1 >= want) {
			errno = EFBIG; /* grew while we read it */
			return -1;
		}
		n = read(fd, b->data + b->len, want - 1 - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	b->data[b->len] = '\0';
	return 0;
}

/* Reads name below dirfd without following a symlink. 0, -ENOENT, or -1
 * (logged; a symlink is refused here). */
static int
bundle_read_at(int dirfd, const char *name, struct buf *b)
{
	int fd, rc = -1;

	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 && errno == ELOOP)
		log_errx("bundle: %s is a symlink; refusing it", name);
	else if (fd < 0 || bundle_slurp(fd, b) < 0)
		log_err("bundle: reading %s", name);
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The new content: the system bundle, a newline if it lacks one, and the
 * MITM CA. 0 or -1 (logged). */
static int
bundle_build(int dirfd, const char *system_ca, struct buf *b)
{
	int fd = -1, rc;

	if (!system_ca) {
		log_warnx("bundle: no system CA bundle found; the language "
			  "server will trust only the MITM CA");
	} else if ((fd = open(system_ca, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) <
			   0 ||
		   bundle_slurp(fd, b) < 0) {
		log_err("bundle: reading the system bundle %s", system_ca);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	if (b->len > 0 && b->data[b->len - 1] != '\n') {
		b->data[b->len++] = '\n'; /* bundle_slurp left room */
		b->data[b->len] = '\0';
	}
	rc = bundle_read_at(dirfd, BUNDLE_CA_CERT, b);
	if (rc == -ENOENT)
		log_errx("bundle: the MITM CA %s is missing", BUNDLE_CA_CERT);
	return rc < 0 ? -1 : 0;
}

int
bundle_update(const char *state_dir, const char *system_ca, char *path,
	      size_t len)
{
	struct buf want = BUF_INIT(0), have = BUF_INIT(0);
	int dirfd, rc = -1;

	snprintf(path, len, "%s/%s", state_dir, BUNDLE_FILE);
	dirfd = open(state_dir,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		log_err("bundle: state dir %s", state_dir);
		return -1;
	}
	if (bundle_build(dirfd, system_ca, &want) < 0)
		goto out;
	rc = bundle_read_at(dirfd, BUNDLE_FILE, &have);
	if (rc == -1)
		goto out;
	if (rc == 0 && have.len == want.len &&
	    memcmp(have.data, want.data, want.len) == 0)
		goto out; /* current: leave it, inode and all */
	if ((rc = fsutil_write_at(dirfd, BUNDLE_FILE, want.data, want.len,
				  0644)) < 0) {
		log_err("bundle: writing %s", path);
	} else {
		log_info("bundle: wrote %s (%s + MITM CA)", path,
			 system_ca ? system_ca : "no system CAs");
		rc = 1;
	}
out:
	buf_free(&want);
	buf_free(&have);
	close(dirfd);
	return rc;
}
