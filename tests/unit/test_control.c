/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_control.c - the pure parts of `run` by cgroup: the control
 * request parser, the cgroup v2 mount found in mountinfo, run cgroup
 * names, and the xt_cgroup check with its refusal line.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "control.h"
#include "tap.h"

static int
parse(const char *s, struct control_request *r)
{
	return control_request_parse(s, strlen(s), r);
}

static void
test_request(void)
{
	struct control_request r;
	char big[CONTROL_LINE_MAX + 10];

	is_int(parse("move 4242 claude\n", &r), 0, "a request parses");
	is_int(r.pid, 4242, "  its pid");
	is_str(r.agent, "claude", "  its agent");
	is_int(parse("move 1 node.22+x_y-z", &r), 0, "no newline, odd chars");
	is_str(r.agent, "node.22+x_y-z", "  kept");
	is_int(parse("move 0 x\n", &r), -1, "pid 0 refused");
	is_int(parse("move -1 x\n", &r), -1, "a negative pid refused");
	is_int(parse("move 123456789012 x\n", &r), -1, "a huge pid refused");
	is_int(parse("move 12\n", &r), -1, "no agent refused");
	is_int(parse("move 12 \n", &r), -1, "an empty agent refused");
	is_int(parse("move 12 a b\n", &r), -1, "a space in the agent refused");
	is_int(parse("move 12 ../x\n", &r), -1, "a slash refused");
	is_int(parse("MOVE 12 x\n", &r), -1, "the verb is exact");
	is_int(control_request_parse("move 12 a\0b", 11, &r), -1,
	       "a NUL refused");
	memset(big, 'a', sizeof(big));
	memcpy(big, "move 12 ", 8);
	is_int(control_request_parse(big, sizeof(big), &r), -1,
	       "an over-long line refused");
	memset(big, 'a', sizeof(big));
	memcpy(big, "move 12 ", 8);
	is_int(control_request_parse(big, 8 + CGROUP_AGENT_MAX, &r), -1,
	       "an agent of %d bytes refused", CGROUP_AGENT_MAX);
	is_int(control_request_parse(big, 8 + CGROUP_AGENT_MAX - 1, &r), 0,
	       "one of %d taken", CGROUP_AGENT_MAX - 1);
}

static void
test_mountinfo(void)
{
	static const char hybrid[] =
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - "
		"cgroup2 cgroup2 rw\n";
	static const char pure[] =
		"25 1 0:23 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 "
		"cgroup2 rw,nsdelegate\n";
	static const char escaped[] =
		"25 1 0:23 / /mnt/my\\040cg rw - cgroup2 none rw\n";
	static const char tricky[] =
		"25 1 0:23 / /a-b rw - ext4 /dev/x-cgroup2 rw\n"
		"26 1 0:23 / /c rw - cgroup2fs x rw\n";
	char out[256];

	is_int(cgroup_mountinfo_parse(hybrid, out, sizeof(out)), 0,
	       "a hybrid host's cgroup2 mount");
	is_str(out, "/sys/fs/cgroup/unified", "  at .../unified");
	is_int(cgroup_mountinfo_parse(pure, out, sizeof(out)), 0,
	       "a pure v2 host's");
	is_str(out, "/sys/fs/cgroup", "  at /sys/fs/cgroup");
	is_int(cgroup_mountinfo_parse(escaped, out, sizeof(out)), 0,
	       "an escaped mount point");
	is_str(out, "/mnt/my cg", "  unescaped");
	is_int(cgroup_mountinfo_parse(tricky, out, sizeof(out)), -1,
	       "no cgroup2 among look-alikes");
	is_int(cgroup_mountinfo_parse("", out, sizeof(out)), -1, "empty text");
	is_int(cgroup_mountinfo_parse(pure, out, 8), -1, "too small a buffer");
}

static void
test_names(void)
{
	char name[128], agent[CGROUP_AGENT_MAX];
	long pid;

	is_int(cgroup_run_name(77, "cla/ude x", name, sizeof(name)), 0,
	       "a run cgroup name");
	is_str(name, "run-77-claudex", "  its agent cleaned");
	is_int(cgroup_run_name_parse(name, &pid, agent, sizeof(agent)), 0,
	       "  parses back");
	ok(pid == 77 && strcmp(agent, "claudex") == 0, "  to pid and agent");
	cgroup_agent_clean("///", agent, sizeof(agent));
	is_str(agent, "_", "an agent of nothing usable is '_'");
	is_int(cgroup_run_name_parse("run--x", &pid, agent, sizeof(agent)), -1,
	       "no pid: not a run");
	is_int(cgroup_run_name_parse("ls-1-x", &pid, agent, sizeof(agent)), -1,
	       "another prefix: not a run");
	is_int(cgroup_run_name_parse("run-12-", &pid, agent, sizeof(agent)), -1,
	       "no agent: not a run");
}

static void
test_match(void)
{
	char path[] = "/tmp/agp-matches.XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		ok(0, "temp file");
		return;
	}
	fputs("owner\ncgroupx\ntcp\n", f);
	fflush(f);
	is_int(control_check_match(path, err, sizeof(err)), -1,
	       "no xt_cgroup: refused");
	ok(strstr(err, "the kernel has no cgroup match (xt_cgroup)") &&
		   strstr(err, "run --as-ls-user") && !strchr(err, '\n'),
	   "  one line that says what to do: %s", err);
	fputs("cgroup\n", f);
	fflush(f);
	is_int(control_check_match(path, err, sizeof(err)), 0,
	       "with it: allowed");
	is_int(control_check_match("/nonexistent/matches", err, sizeof(err)),
	       -1, "no x_tables at all: refused");
	fclose(f);
	unlink(path);
}

int
main(void)
{
	test_request();
	test_mountinfo();
	test_names();
	test_match();
	return tap_done();
}
