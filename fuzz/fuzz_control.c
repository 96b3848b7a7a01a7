/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_control.c - the parsers a root process runs on what local users
 * send and what the kernel lists: the control request, mountinfo, run
 * cgroup names. Checks that what parses holds only what it may.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "control.h"

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
		    strspn(r.agent, "abcdefghijklmnopqrstuvwxyz"
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
	free(text);
	return 0;
}
