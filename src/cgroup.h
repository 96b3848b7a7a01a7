/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroup.h - the agents cgroup: where `run` puts an agent so that the
 * cgroup-path REDIRECT rule catches its port-443 connections.
 *
 * Layout: mitm-redirect.sh creates <cgroup2 mount>/<agents> and the rule
 *   `-m cgroup --path <agents>`; the supervisor makes one child per run,
 *   run-<pid>-<agent>, so that a connection's socket cgroup names its run.
 *   The rule matches descendants, and a process's children inherit its
 *   cgroup, so whatever the agent starts is caught too.
 * Threading: every function is reentrant; none keeps state.
 */
#ifndef AGP_CGROUP_H
#define AGP_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_AGENT_MAX 64 /* an agent name, NUL included */
#define CGROUP_DEFAULT_AGENTS "antigravity-agents"

/* Finds the cgroup v2 mount point in mountinfo text (the format of
 * /proc/self/mountinfo). 0 and out filled, or -1 when there is none. */
int cgroup_mountinfo_parse(const char *text, char *out, size_t len);

/*
 * The agents cgroup's directory: the cgroup v2 mount of this process
 * plus name. 0 and out filled; -1 with a one-line reason in err (no
 * cgroup v2, or no such cgroup: it is made by mitm-redirect.sh).
 */
int cgroup_agents_dir(const char *name, char *out, size_t len, char *err,
		      size_t errlen);

/* A run cgroup's name, "run-PID-AGENT"; parse gives 0 or -1. An agent
 * name keeps only [A-Za-z0-9._+-] (cgroup_agent_clean()). */
int cgroup_run_name(long pid, const char *agent, char *out, size_t len);
int cgroup_run_name_parse(const char *name, long *pid, char *agent,
			  size_t alen);
void cgroup_agent_clean(const char *in, char *out, size_t len);

/*
 * Moves process pid into a new child of agents named for the run, and
 * gives the child's path in out. 0, or -1 with the reason in err; a
 * child it made is removed again on failure.
 */
int cgroup_run_enter(const char *agents, pid_t pid, const char *agent,
		     char *out, size_t len, char *err, size_t errlen);

/* Removes the run cgroups of agents that no process is in any more;
 * returns how many it removed. */
int cgroup_sweep(const char *agents);

/* The run whose cgroup id (a cgroup v2 directory's inode number) is id:
 * 1 with pid and agent filled, 0 when no run of agents has it. */
int cgroup_run_find(const char *agents, uint64_t id, long *pid, char *agent,
		    size_t alen);

#endif
