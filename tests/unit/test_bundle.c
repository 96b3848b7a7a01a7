/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_bundle.c - the combined CA bundle: system CAs + MITM CA, written
 * through a rename that a concurrent reader never sees half done,
 * symlinks refused, rewritten when an input changes and only then.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "tap.h"
#include "testutil.h"

static char dir[512], sys_ca[600], bundle[600];

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* The whole file, malloc'd, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 > cap && !(buf = realloc(buf, cap = n + 65536)))
			abort();
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int
update(void)
{
	char path[600];

	return bundle_update(dir, sys_ca, path, sizeof(path));
}

static ino_t
inode(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static void
test_basic(void)
{
	char cert[600], path[600], *got;
	struct stat st;
	ino_t ino;

	snprintf(cert, sizeof(cert), "%s/ca-cert.pem", dir);
	put(sys_ca, "SYSTEM CA 1\nSYSTEM CA 2"); /* no final newline */
	put(cert, "MITM CA\n");
	umask(077);
	is_int(bundle_update(dir, sys_ca, path, sizeof(path)), 1,
	       "first call writes the bundle");
	is_str(path, bundle, "the bundle's path is state_dir/combined-ca.pem");
	is_str(got = slurp(bundle), "SYSTEM CA 1\nSYSTEM CA 2\nMITM CA\n",
	       "system CAs, a newline, then the MITM CA");
	free(got);
	ok(lstat(bundle, &st) == 0 && (st.st_mode & 07777) == 0644,
	   "mode 0644 whatever the umask");
	umask(022);
	is_int(testutil_dot_files(dir), 0, "no temporary file left behind");
	ino = inode(bundle);
	is_int(update(), 0, "unchanged inputs: not rewritten");
	ok(inode(bundle) == ino, "same inode after a no-op update");
	put(cert, "MITM CA 2\n");
	is_int(update(), 1, "a new MITM CA: rewritten");
	ok(inode(bundle) != ino, "through a new file (rename)");
	is_str(got = slurp(bundle), "SYSTEM CA 1\nSYSTEM CA 2\nMITM CA 2\n",
	       "the new MITM CA is in it");
	free(got);
	put(sys_ca, "SYSTEM CA 3\n");
	is_int(update(), 1, "new system CAs: rewritten");
	is_str(got = slurp(bundle), "SYSTEM CA 3\nMITM CA 2\n",
	       "the new system CAs are in it");
	free(got);
	is_int(bundle_update(dir, NULL, path, sizeof(path)), 1,
	       "no system bundle: rewritten");
	is_str(got = slurp(bundle), "MITM CA 2\n", "the MITM CA alone");
	free(got);
	put(bundle, "tampered\n");
	is_int(update(), 1, "a tampered bundle is rewritten");
}

static void
test_symlinks(void)
{
	char victim[600], cert[600], *got;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(cert, sizeof(cert), "%s/ca-cert.pem", dir);
	put(victim, "precious\n");
	unlink(bundle);
	ok(symlink(victim, bundle) == 0, "plant a symlink as the bundle");
	is_int(update(), -1, "a symlinked bundle is refused");
	is_str(got = slurp(victim), "precious\n", "its target is untouched");
	free(got);
	unlink(bundle);
	rename(cert, victim);
	ok(symlink(victim, cert) == 0, "plant a symlink as ca-cert.pem");
	is_int(update(), -1, "a symlinked MITM CA is refused");
	ok(access(bundle, F_OK) != 0, "and no bundle is written from it");
	unlink(cert);
	is_int(update(), -1, "a missing MITM CA is an error");
	rename(victim, cert);
	is_int(update(), 1, "back to normal");
}

/* A reader in another process sees only whole bundles while the writer
 * flips between two contents. */
static void
test_atomic(void)
{
	char cert[600], *a, *b, *got;
	size_t big = 2 * 1024 * 1024;
	int bad = 0, st, reads = 0;
	pid_t pid;

	snprintf(cert, sizeof(cert), "%s/ca-cert.pem", dir);
	if (!(a = malloc(big + 8)))
		abort();
	memset(a, 'S', big);
	a[big - 1] = '\n';
	a[big] = '\0';
	put(sys_ca, a);
	put(cert, "A\n");
	update();
	strcat(a, "A\n"); /* the bundle: system CAs, then "A" */
	b = strdup(a);
	b[big] = 'B';
	if ((pid = fork()) == 0) {
		for (int i = 0; i < 300; i++) {
			got = slurp(bundle);
			if (!got || (strcmp(got, a) && strcmp(got, b)))
				_exit(1);
			free(got);
		}
		_exit(0);
	}
	for (int i = 0; i < 100; i++) {
		put(cert, i % 2 ? "A\n" : "B\n");
		reads += update() == 1;
	}
	waitpid(pid, &st, 0);
	bad = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	ok(!bad, "a concurrent reader saw only whole bundles (%d rewrites)",
	   reads);
	is_int(testutil_dot_files(dir), 0, "no temporary file left behind");
	free(a);
	free(b);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *found = bundle_system_path(NULL);

	log_set_level(LOG_ERR);
	snprintf(dir, sizeof(dir), "%s/agp-test-bundle-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sys_ca, sizeof(sys_ca), "%s/system.pem", dir);
	snprintf(bundle, sizeof(bundle), "%s/%s", dir, BUNDLE_FILE);
	ok(!found || access(found, R_OK) == 0,
	   "the system bundle found is readable (%s)", found ? found : "none");
	is_str(bundle_system_path("/x/y.pem"), "/x/y.pem",
	       "a configured system bundle wins");
	test_basic();
	test_symlinks();
	test_atomic();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return tap_done();
}
