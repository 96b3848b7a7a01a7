/* SPDX-License-Identifier: GPL-2.0-or-later
 * testutil.h - what several unit tests need alike: the fake upstream
 * started and its port read, and the temporary files a directory holds.
 */
#ifndef AGP_TESTUTIL_H
#define AGP_TESTUTIL_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

/* Starts tests/helpers/fakeupstream.py (with $PYTHON) on 127.0.0.1, an
 * ephemeral port, with cert and key and the further arguments in extra
 * (NULL-terminated, may be NULL); it dies with the test.  Returns the
 * port it printed ("ready PORT"), or -1; *pid is the child's. */
static inline int
testutil_fake_upstream(const char *cert, const char *key,
		       const char *const *extra, pid_t *pid)
{
	const char *src = getenv("top_srcdir"), *py = getenv("PYTHON");
	const char *argv[16];
	char script[512];
	int fds[2], n = 0, port = -1;
	FILE *f;

	snprintf(script, sizeof(script), "%s/tests/helpers/fakeupstream.py",
		 src ? src : ".");
	argv[n++] = py && *py ? py : "python3";
	argv[n++] = script;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	while (extra && *extra && n < 15)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if (pipe(fds) < 0 || (*pid = fork()) < 0)
		return -1;
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	if (!(f = fdopen(fds[0], "r")) || fscanf(f, "ready %d", &port) != 1)
		port = -1;
	if (f)
		fclose(f);
	else
		close(fds[0]);
	return port;
}

/* Entries in dir whose names start with '.', other than . and ..: the
 * temporary files an atomic write would leave. */
static inline int
testutil_dot_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") &&
		    strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

#endif
