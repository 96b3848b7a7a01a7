/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_spawn.c - spawning with the trust environment: variables, exit
 * statuses, exec failures reported (and reaped), a clean signal state,
 * process groups, and (as root) the drop to a real test user.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "tap.h"

#define TEST_USER "agp-spawn-test"
#define BUNDLE "/state/combined-ca.pem"

/* Runs sh -c script as user; returns the exit code, output in out. */
static int
run_sh(const char *user, const char *script, char *out, size_t len)
{
	char *args[] = { "-c", (char *)script };
	struct spawn_cmd *c = spawn_cmd_new("/bin/sh", args, 2, user, BUNDLE);
	struct spawn_io io = { -1, -1, -1, false };
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int p[2], st = -1;

	if (!c || pipe(p) < 0)
		return -1;
	io.out = p[1];
	if (spawn_start(c, &io, &pid) < 0) {
		spawn_cmd_free(c);
		return -1;
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	spawn_cmd_free(c);
	return spawn_exit_code(st);
}

static void
test_env(const char *me)
{
	char out[4096];
	struct passwd *pw = getpwnam(me);

	setenv("SSL_CERT_FILE", "/inherited/wrong.pem", 1);
	setenv("AGP_KEEP", "kept", 1);
	is_int(run_sh(me,
		      "echo $SSL_CERT_FILE $SSL_CERT_DIR "
		      "$NODE_EXTRA_CA_CERTS $REQUESTS_CA_BUNDLE "
		      "$CURL_CA_BUNDLE $AGP_KEEP; "
		      "env | grep -c ^SSL_CERT_FILE=",
		      out, sizeof(out)),
	       0, "the child ran");
	is_str(out,
	       BUNDLE " /dev/null " BUNDLE " " BUNDLE " " BUNDLE " kept\n1\n",
	       "trust variables set once over the inherited environment");
	run_sh(me, "echo $HOME", out, sizeof(out));
	ok(pw && strncmp(out, pw->pw_dir, strlen(pw->pw_dir)) == 0,
	   "HOME is the user's own (%s)", pw ? pw->pw_dir : "?");
}

static void
test_status(const char *me)
{
	char out[256];
	struct spawn_cmd *c;
	struct spawn_io io = { -1, -1, -1, false };
	sigset_t set;
	pid_t pid = 0;
	int r;

	is_int(run_sh(me, "exit 3", out, sizeof(out)), 3, "exit status 3");
	is_int(run_sh(me, "kill -TERM $$", out, sizeof(out)), 143,
	       "killed by SIGTERM: 128+15");
	/* A daemon blocks TERM and ignores PIPE; its children must not. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Only the classic signals: glibc reserves 32 and 33, and a test
	 * harness may have them ignored. */
	run_sh(me,
	       "grep -E '^Sig(Blk|Ign)' /proc/self/status | "
	       "while read k v; do echo $k $((0x$v & 0x7fffffff)); done",
	       out, sizeof(out));
	is_str(out, "SigBlk: 0\nSigIgn: 0\n",
	       "the child starts with no blocked or ignored signal");
	is_int(run_sh(me, "kill -TERM $$; exit 0", out, sizeof(out)), 143,
	       "so SIGTERM kills it");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	c = spawn_cmd_new("/nonexistent/ls", NULL, 0, me, BUNDLE);
	errno = 0;
	r = c ? spawn_start(c, &io, &pid) : 0;
	ok(r == -1 && errno == ENOENT, "a missing binary: -1 and ENOENT");
	ok(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
	   "and the failed child was reaped (no zombie)");
	spawn_cmd_free(c);
	c = spawn_cmd_new("sleep", (char *[]){ "5" }, 1, me, BUNDLE);
	io.new_pgrp = true;
	ok(c && spawn_start(c, &io, &pid) == 0, "sleep found through PATH");
	is_int(getpgid(pid), pid, "a new process group when asked");
	kill(-pid, SIGKILL);
	waitpid(pid, &r, 0);
	is_int(spawn_exit_code(r), 137, "killed through its group: 137");
	spawn_cmd_free(c);
}

static void
test_missing_user(void)
{
	struct spawn_cmd *c =
		spawn_cmd_new("/bin/true", NULL, 0, "agp-no-such-user", BUNDLE);

	ok(c && c->user_missing && c->mode == SPAWN_SELF,
	   "a missing user: run as ourselves, flagged for the warning");
	spawn_cmd_free(c);
}

static void
test_drop(void)
{
	struct passwd *pw;
	struct spawn_cmd *c;
	char out[512], want[512];

	if (system("id -u " TEST_USER " >/dev/null 2>&1 || useradd --system "
		   "--no-create-home --home-dir /nonexistent/agp --shell "
		   "/usr/sbin/nologin " TEST_USER) != 0 ||
	    !(pw = getpwnam(TEST_USER))) {
		ok(0, "create the user " TEST_USER);
		return;
	}
	c = spawn_cmd_new("/bin/true", NULL, 0, TEST_USER, BUNDLE);
	ok(c && c->mode == SPAWN_DROP && c->uid == pw->pw_uid,
	   "as root: drop to the user directly");
	spawn_cmd_free(c);
	snprintf(want, sizeof(want),
		 "%lu %lu %lu /nonexistent/agp " TEST_USER "\n",
		 (unsigned long)pw->pw_uid, (unsigned long)pw->pw_uid,
		 (unsigned long)pw->pw_gid);
	is_int(run_sh(TEST_USER,
		      "echo $(id -u) $(id -ru) $(id -G) $HOME "
		      "$USER",
		      out, sizeof(out)),
	       0, "ran as " TEST_USER);
	is_str(out, want,
	       "uid, real uid, groups, HOME and USER are the "
	       "user's");
	is_int(run_sh(TEST_USER, "grep ^CapEff /proc/self/status", out,
		      sizeof(out)),
	       0, "read its capabilities");
	is_str(out, "CapEff:\t0000000000000000\n", "no capability left");
	if (system("userdel " TEST_USER) != 0)
		diag("could not remove " TEST_USER);
}

int
main(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char me[64];

	log_set_level(LOG_ERR);
	if (!pw)
		return 1;
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	test_env(me);
	test_status(me);
	test_missing_user();
	if (geteuid() == 0)
		test_drop();
	else
		printf("ok %d # SKIP the drop to another user needs root\n",
		       ++tap_n);
	return tap_done();
}
