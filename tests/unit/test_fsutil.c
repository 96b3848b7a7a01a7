/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_fsutil.c - the atomic write: content and mode whatever the umask,
 * a new inode each time, a symlink replaced and its target untouched,
 * and a failed write (file size limit, a directory in the way, a bad
 * name) leaving the old file as it was, with no temporary file behind.
 * Each failure is one that root meets too, since CI runs as root.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"
#include "testutil.h"

static char dir[512];
static int dfd = -1;

/* The whole file below dir (at most 64 KiB), or "" when unreadable. */
static const char *
slurp(const char *name)
{
	static char buf[65536];
	ssize_t n = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
put(const char *name, const char *text)
{
	return fsutil_write_at(dfd, name, text, strlen(text), 0644);
}

static mode_t
mode_of(const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode
								 : 0;
}

static ino_t
inode(const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino
								 : 0;
}

static void
test_write(void)
{
	ino_t ino;

	umask(077);
	is_int(put("a", "first\n"), 0, "a new file is written");
	is_str(slurp("a"), "first\n", "with its content");
	ok(S_ISREG(mode_of("a")) && (mode_of("a") & 07777) == 0644,
	   "mode 0644 though the umask is 077");
	umask(022);
	is_int(fsutil_write_at(dfd, "key", "secret", 6, 0600), 0,
	       "a private file is written");
	is_int(mode_of("key") & 07777, 0600, "mode 0600");
	is_int(fsutil_write_at(dfd, "key", "other", 5, 0640), 0,
	       "and rewritten with another mode");
	is_int(mode_of("key") & 07777, 0640,
	       "the new mode, not the old file's");
	ino = inode("a");
	is_int(put("a", "second, longer than the first\n"), 0,
	       "an existing file is replaced");
	is_str(slurp("a"), "second, longer than the first\n",
	       "by the new content alone");
	ok(inode("a") != ino, "through a new inode (a rename), so a reader "
			      "holding the old one never sees it change");
	is_int(put("a", ""), 0, "empty content is written");
	is_str(slurp("a"), "", "and the file is empty");
	is_int(testutil_dot_files(dir), 0, "no temporary file left behind");
}

static void
test_symlink(void)
{
	is_int(put("target", "precious\n"), 0, "a file a symlink points to");
	ok(symlinkat("target", dfd, "link") == 0, "plant a symlink");
	is_int(put("link", "new\n"), 0, "writing over the symlink");
	ok(S_ISREG(mode_of("link")), "replaces the link with a file");
	is_str(slurp("link"), "new\n", "holding the new content");
	is_str(slurp("target"), "precious\n", "and leaves its target alone");
}

/* Past RLIMIT_FSIZE write() fails with EFBIG, for root as for anyone;
 * run in a child so the limit stays there. */
static void
test_too_big(void)
{
	static char big[8192];
	int st = -1, rc;
	pid_t pid;

	is_int(put("kept", "old content\n"), 0,
	       "the file a write will fail on");
	memset(big, 'x', sizeof(big));
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 4096, 4096 };

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		rc = fsutil_write_at(dfd, "kept", big, sizeof(big), 0644);
		_exit(rc == -1 && errno == EFBIG ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a write past the file size limit fails with EFBIG");
	is_str(slurp("kept"), "old content\n", "the old file is intact");
	is_int(testutil_dot_files(dir), 0,
	       "and the half-written temporary file is gone");
}

static void
test_refused(void)
{
	int rc, sub;

	ok(mkdirat(dfd, "sub", 0755) == 0 &&
		   (sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY)) >= 0 &&
		   fsutil_write_at(sub, "x", "x", 1, 0644) == 0 &&
		   close(sub) == 0,
	   "a file in a subdirectory, for the next case");
	errno = 0;
	rc = put("sub", "not a directory\n");
	ok(rc == -1 && errno == EISDIR,
	   "a directory in the way: -1, EISDIR (%s)", strerror(errno));
	ok(S_ISDIR(mode_of("sub")) && !strcmp(slurp("sub/x"), "x"),
	   "the directory and what is in it are intact");
	is_int(testutil_dot_files(dir), 0, "no temporary file left behind");
	errno = 0;
	ok(fsutil_write_at(dfd, "sub/y", "y", 1, 0644) == -1 &&
		   errno == EINVAL && !mode_of("sub/y"),
	   "a name with a slash is refused (EINVAL): the temporary file "
	   "would not be beside it");
	errno = 0;
	ok(fsutil_write_at(dfd, "", "y", 1, 0644) == -1 && errno == EINVAL,
	   "so is an empty name");
	errno = 0;
	ok(fsutil_write_at(-1, "a", "y", 1, 0644) == -1 && errno == EBADF,
	   "a bad directory descriptor: -1, EBADF");
}

static void
test_path(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/by-path", dir);
	ok(fsutil_write(path, "p\n", 2, 0600) == 0 &&
		   !strcmp(slurp("by-path"), "p\n") &&
		   (mode_of("by-path") & 07777) == 0600,
	   "a path: written in its directory, with its mode");
	is_int(testutil_dot_files(dir), 0, "no temporary file left behind");
	snprintf(path, sizeof(path), "%s/sub/", dir);
	errno = 0;
	ok(fsutil_write(path, "p", 1, 0644) == -1 && errno == EINVAL,
	   "a path ending in a slash: EINVAL");
	snprintf(path, sizeof(path), "%s/none/x", dir);
	errno = 0;
	ok(fsutil_write(path, "p", 1, 0644) == -1 && errno == ENOENT,
	   "a directory that is not there: ENOENT");
}

int
main(void)
{
	char cmd[600];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_fsutil.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return 1;
	test_write();
	test_symlink();
	test_too_big();
	test_refused();
	test_path();
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
