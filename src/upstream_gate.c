/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_gate.c - slots for the CPU work of upstream set-ups; see
 * upstream_gate.h.
 *
 * Threading: g->lock guards the counts; waiters sleep on g->freed, a
 *   CLOCK_MONOTONIC condition, woken one a slot given back, all at
 *   upstream_gate_close().
 * Ownership: the gate owns nothing but itself.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "upstream_gate.h"

struct upstream_gate {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned slots, held;	       /* lock */
	bool closed;		       /* lock */
	struct upstream_gate_stats st; /* lock */
};

struct upstream_gate *
upstream_gate_new(unsigned slots)
{
	struct upstream_gate *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!g)
		return NULL;
	g->slots = slots ? slots : cpus > 0 ? (unsigned)cpus : 1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->freed, &ca);
	pthread_condattr_destroy(&ca);
	return g;
}

void
upstream_gate_free(struct upstream_gate *g)
{
	if (!g)
		return;
	pthread_cond_destroy(&g->freed);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

unsigned
upstream_gate_slots(const struct upstream_gate *g)
{
	return g->slots; /* set once, at upstream_gate_new() */
}

bool
upstream_gate_take(struct upstream_gate *g, long long deadline_ms)
{
	struct timespec until = {
		.tv_sec = (time_t)(deadline_ms / 1000),
		.tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
	};
	bool timed_out = false, taken;

	pthread_mutex_lock(&g->lock);
	if (g->held == g->slots && !g->closed)
		g->st.waits++;
	while (g->held == g->slots && !g->closed && !timed_out)
		timed_out = pthread_cond_timedwait(&g->freed, &g->lock,
						   &until) == ETIMEDOUT;
	taken = g->held < g->slots && !g->closed;
	if (taken) {
		g->held++;
		if (g->held > g->st.held_max)
			g->st.held_max = g->held;
	} else if (!g->closed) {
		g->st.late++;
	}
	pthread_mutex_unlock(&g->lock);
	return taken;
}

void
upstream_gate_give(struct upstream_gate *g)
{
	pthread_mutex_lock(&g->lock);
	if (g->held > 0)
		g->held--;
	pthread_cond_signal(&g->freed);
	pthread_mutex_unlock(&g->lock);
}

void
upstream_gate_close(struct upstream_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->closed = true;
	pthread_cond_broadcast(&g->freed);
	pthread_mutex_unlock(&g->lock);
}

void
upstream_gate_stats(struct upstream_gate *g, struct upstream_gate_stats *st)
{
	pthread_mutex_lock(&g->lock);
	*st = g->st;
	pthread_mutex_unlock(&g->lock);
}
