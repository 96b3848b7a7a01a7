/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_control.c - the parsers a root process runs on what local users
 * send and what the kernel lists: the control request, mountinfo, run
 * cgroup names, iptables -S rules. Checks that what parses holds only
 * what it may. Run (from the top, after configure in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_control.c src/control.c src/cgroup.c src/redirect.c \
 *     src/log.c -lpthread -o /tmp/fuzz-control
 *   mkdir -p /tmp/ctl && /tmp/fuzz-control -max_total_time=60 /tmp/ctl \
 *     fuzz/corpus/control
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "control.h"
#include "redirect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request r;
	char *text = malloc(size + 1), out[64], agent[CGROUP_AGENT_MAX];
	long pid;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (control_request_parse((const char *)data, size, &r) == 0) {
		if (r.pid <= 0 || strlen(r.agent) == 0 ||
		    strlen(r.agent) >= sizeof(r.agent) ||
		    strspn(r.agent,
			   "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") !=
			    strlen(r.agent))
			abort();
	}
	if (cgroup_mountinfo_parse(text, out, sizeof(out)) == 0 &&
	    strlen(out) >= sizeof(out))
		abort();
	if (cgroup_run_name_parse(text, &pid, agent, sizeof(agent)) == 0 &&
	    (pid <= 0 || !agent[0]))
		abort();
	for (unsigned long uid = 0; uid < 3; uid++) {
		int c = redirect_rules_cover(text, uid * 999);

		if (c != 0 && c != 1)
			abort();
		if (c == 1 && !strstr(text, "--uid-owner"))
			abort();
	}
	free(text);
	return 0;
}
