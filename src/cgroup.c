/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroup.c - the agents cgroup: find it, put a run in it, find a run by
 * its cgroup id, tidy up after runs.
 *
 * cgroup_run_enter() is the supervisor's (root's); the rest needs no
 * privilege: cgroup directories and their cgroup.procs are world-readable.
 * Threading: see cgroup.h. Ownership: nothing is kept.
 */
#include "config.h"

#include "cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_RUN_PREFIX "run-"
#define CGROUP_MOUNTINFO_MAX (256 * 1024)

/* Copies a mountinfo field, undoing its octal escapes (\040 a space). */
static int
field_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 +
				   (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= len)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* The n-th space-separated field of line [s, end); its length in *flen. */
static const char *
field(const char *s, const char *end, int n, size_t *flen)
{
	for (;;) {
		const char *sp;

		while (s < end && *s == ' ')
			s++;
		if (s >= end)
			return NULL;
		sp = memchr(s, ' ', (size_t)(end - s));
		if (!sp)
			sp = end;
		if (n-- == 0) {
			*flen = (size_t)(sp - s);
			return s;
		}
		s = sp;
	}
}

int
cgroup_mountinfo_parse(const char *text, char *out, size_t len)
{
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n'), *sep, *mp, *fs;
		size_t mplen, fslen;

		if (!end)
			end = line + strlen(line);
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE" */
		sep = line;
		while ((sep = memchr(sep, '-', (size_t)(end - sep))) &&
		       !(sep > line && sep[-1] == ' ' && sep + 1 < end &&
			 sep[1] == ' '))
			sep++;
		if (sep && (mp = field(line, sep, 4, &mplen)) &&
		    (fs = field(sep + 1, end, 0, &fslen)) && fslen == 7 &&
		    memcmp(fs, "cgroup2", 7) == 0 &&
		    field_unescape(mp, mplen, out, len) == 0)
			return 0;
		line = *end ? end + 1 : end;
	}
	return -1;
}

static int
mount_find(char *out, size_t len)
{
	char *buf = malloc(CGROUP_MOUNTINFO_MAX);
	int fd, rc = -1;
	size_t got = 0;
	ssize_t n;

	if (!buf)
		return -1;
	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) >= 0) {
		while (got + 1 < CGROUP_MOUNTINFO_MAX &&
		       (n = read(fd, buf + got,
				 CGROUP_MOUNTINFO_MAX - 1 - got)) > 0)
			got += (size_t)n;
		close(fd);
		buf[got] = '\0';
		rc = cgroup_mountinfo_parse(buf, out, len);
	}
	free(buf);
	return rc;
}

int
cgroup_agents_dir(const char *name, char *out, size_t len, char *err,
		  size_t errlen)
{
	char mnt[4096];
	struct statfs sf;
	struct stat st;
	int n;

	if (mount_find(mnt, sizeof(mnt)) < 0 || statfs(mnt, &sf) < 0 ||
	    sf.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errlen,
			 "this host has no cgroup v2 hierarchy "
			 "mounted, so a run cannot be redirected by cgroup: "
			 "mount cgroup2, or use 'run --as-ls-user'");
		return -1;
	}
	while (*name == '/')
		name++;
	n = snprintf(out, len, "%s/%s", mnt, name);
	if (n < 0 || (size_t)n >= len || !*name) {
		snprintf(err, errlen, "agents cgroup name '%s' is invalid",
			 name);
		return -1;
	}
	if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "the agents cgroup %s does not exist: "
			 "run 'mitm-redirect.sh install' as root",
			 out);
		return -1;
	}
	return 0;
}

void
cgroup_agent_clean(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; in && *in && o + 1 < len; in++)
		if (isalnum((unsigned char)*in) || strchr("._+-", *in))
			out[o++] = *in;
	if (o == 0 && len > 1)
		out[o++] = '_';
	if (len)
		out[o] = '\0';
}

int
cgroup_run_name(long pid, const char *agent, char *out, size_t len)
{
	char clean[CGROUP_AGENT_MAX];
	int n;

	cgroup_agent_clean(agent, clean, sizeof(clean));
	n = snprintf(out, len, CGROUP_RUN_PREFIX "%ld-%s", pid, clean);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
cgroup_run_name_parse(const char *name, long *pid, char *agent, size_t alen)
{
	const char *p = name + strlen(CGROUP_RUN_PREFIX);
	char *end;
	long v;

	if (strncmp(name, CGROUP_RUN_PREFIX, strlen(CGROUP_RUN_PREFIX)) != 0 ||
	    !isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || v <= 0 || *end != '-' || !end[1] ||
	    strlen(end + 1) >= alen)
		return -1;
	*pid = v;
	memcpy(agent, end + 1, strlen(end + 1) + 1);
	return 0;
}

/* Writes pid into dir's cgroup.procs; 0 or -1 with errno. */
static int
procs_write(const char *dir, pid_t pid)
{
	char path[4200], num[24];
	int fd, n, rc = -1, e;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(num, sizeof(num), "%ld\n", (long)pid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, num, (size_t)n) == n)
		rc = 0;
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int
cgroup_run_enter(const char *agents, pid_t pid, const char *agent, char *out,
		 size_t len, char *err, size_t errlen)
{
	char name[128];
	int n;

	if (cgroup_run_name((long)pid, agent, name, sizeof(name)) < 0 ||
	    (n = snprintf(out, len, "%s/%s", agents, name)) < 0 ||
	    (size_t)n >= len) {
		snprintf(err, errlen, "run cgroup name too long");
		return -1;
	}
	/* A leftover of an earlier process with this pid is reused. */
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "creating %s: %s", out, strerror(errno));
		return -1;
	}
	if (procs_write(out, pid) < 0) {
		snprintf(err, errlen, "moving pid %ld into %s: %s", (long)pid,
			 out, strerror(errno));
		rmdir(out);
		return -1;
	}
	return 0;
}

int
cgroup_sweep(const char *agents)
{
	struct dirent *de;
	DIR *d = opendir(agents);
	char path[4400];
	int removed = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, CGROUP_RUN_PREFIX,
			    strlen(CGROUP_RUN_PREFIX)) == 0) {
			snprintf(path, sizeof(path), "%s/%s", agents,
				 de->d_name);
			/* EBUSY while a process is in it: it stays. */
			if (rmdir(path) == 0)
				removed++;
		}
	closedir(d);
	return removed;
}

int
cgroup_run_find(const char *agents, uint64_t id, long *pid, char *agent,
		size_t alen)
{
	struct dirent *de;
	DIR *d = opendir(agents);
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		struct stat st;

		if (de->d_ino != id &&
		    (de->d_type != DT_UNKNOWN ||
		     fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		     (uint64_t)st.st_ino != id))
			continue;
		found = cgroup_run_name_parse(de->d_name, pid, agent, alen) ==
			0;
	}
	closedir(d);
	return found;
}
