/* SPDX-License-Identifier: GPL-2.0-or-later
 * redirect.c - is a uid's port-443 traffic redirected to the proxy?
 *
 * Ownership: nothing is kept; each call reads the rules afresh.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redirect.h"

#define REDIRECT_OUT_MAX (256 * 1024)

/* Whether one "-A OUTPUT ..." line covers uid. */
static bool
rule_covers(const char *line, size_t len, unsigned long uid)
{
	char buf[1024], *p, *end, *j;
	unsigned long lo, hi;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (strncmp(buf, "-A OUTPUT ", 10) != 0 ||
	    !(p = strstr(buf, " --uid-owner ")))
		return false;
	if (p - buf >= 2 && strncmp(p - 2, " !", 2) == 0)
		return false; /* "! --uid-owner": everyone else */
	p += strlen(" --uid-owner ");
	errno = 0;
	lo = hi = strtoul(p, &end, 10);
	if (end == p || errno)
		return false;
	if (*end == '-') {
		p = end + 1;
		hi = strtoul(p, &end, 10);
		if (end == p || errno)
			return false;
	}
	if (uid < lo || uid > hi || !(j = strstr(buf, " -j ")))
		return false;
	j += 4;
	return strncmp(j, "RETURN", 6) != 0 && strncmp(j, "ACCEPT", 6) != 0;
}

int
redirect_rules_cover(const char *rules, unsigned long uid)
{
	const char *p = rules, *nl;

	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if (rule_covers(p, (size_t)(nl - p), uid))
			return 1;
	}
	return 0;
}

/* `TOOL -w -t nat -S OUTPUT` into a new string (the caller frees it),
 * or NULL when it could not run or failed. */
static char *
rules_read(const char *tool)
{
	static const char *const dirs[] = { "/usr/sbin/", "/sbin/", "" };
	char *out = NULL;
	size_t len = 0;
	int p[2] = { -1, -1 }, st = 0, ok = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0 || !(out = malloc(REDIRECT_OUT_MAX)))
		goto out;
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		char path[64];

		dup2(p[1], STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", dirs[i], tool);
			execvp(path, (char *const[]){ path, "-w", "-t", "nat",
						      "-S", "OUTPUT", NULL });
		}
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	while (len < REDIRECT_OUT_MAX - 1 &&
	       ((n = read(p[0], out + len, REDIRECT_OUT_MAX - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	out[len] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (!ok) {
		free(out);
		out = NULL;
	}
	return out;
}

int
redirect_covers_uid(unsigned long uid)
{
	static const char *const tools[] = { "iptables", "ip6tables" };
	int rc = -1;

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char *rules = rules_read(tools[i]);

		if (!rules)
			continue;
		if (rc < 0)
			rc = 0;
		if (redirect_rules_cover(rules, uid) == 1)
			rc = 1;
		free(rules);
	}
	return rc;
}
