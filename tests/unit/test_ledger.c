/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_ledger.c - the ledger's committers and the CPU: the writer
 * commits in the SCHED_IDLE class, its I/O best-effort; while every CPU
 * is busy its relief, at the normal class, commits what waited, so that
 * none of it is late or lost, and drains the queue at a stop.
 */
#include "config.h"

#include <dirent.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "ledger.h"
#include "tap.h"
#include "usage.h"

#define BURST 3000

static char dir[] = "/tmp/agp-test-ledger-XXXXXX";
static atomic_bool spin_stop;

/* The id of the thread named `name` (a committer names itself after
 * setting its class); 0 when none appears within 2 s. */
static pid_t
thread_tid(const char *name)
{
	for (int tries = 0; tries < 200; tries++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		pid_t tid = 0;

		while (d && !tid && (e = readdir(d))) {
			char p[300], comm[32] = "";
			FILE *f;

			snprintf(p, sizeof(p), "/proc/self/task/%s/comm",
				 e->d_name);
			if (e->d_name[0] == '.' || !(f = fopen(p, "r")))
				continue;
			if (fgets(comm, sizeof(comm), f) &&
			    strcspn(comm, "\n") == strlen(name) &&
			    strncmp(comm, name, strlen(name)) == 0)
				tid = (pid_t)atoi(e->d_name);
			fclose(f);
		}
		if (d)
			closedir(d);
		if (tid)
			return tid;
		usleep(10000);
	}
	return 0;
}

static int64_t
counted(struct usage_table *t)
{
	struct json_object *doc = usage_table_json(t), *o, *v;
	int64_t n = -1;

	if (json_object_object_get_ex(doc, "totals", &o) &&
	    json_object_object_get_ex(o, "requests", &v))
		n = json_object_get_int64(v);
	json_object_put(doc);
	return n;
}

static void
rec(struct usage_record *r, int i)
{
	memset(r, 0, sizeof(*r));
	r->time = clock_wall();
	snprintf(r->model, sizeof(r->model), "model-%d", i % 3);
	snprintf(r->host, sizeof(r->host), "host.test");
	snprintf(r->endpoint, sizeof(r->endpoint), "messages");
	r->has_usage = r->complete = true;
	r->status = 200;
	r->input_tokens = 100 + i;
	r->uid = -1;
}

static void
rm_state(void)
{
	char p[512];

	snprintf(p, sizeof(p), "rm -rf %s/*", dir);
	if (system(p) != 0)
		diag("%s failed", p);
}

static void *
spinner(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&spin_stop))
		n++;
	return NULL;
}

/* The writer idles; with every CPU busy, what it is given still commits
 * promptly, by the relief, and the writer commits again once it may. */
static void
test_idles_and_relieved(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct usage_table *t = usage_table_new();
	pthread_t spin[64];
	struct ledger_stats st;
	struct usage_record r;
	char err[512];
	struct ledger *l;
	int64_t t0, ms;
	int nspin = ncpu > 0 && ncpu < 32 ? (int)ncpu * 2 : 4, prio;
	pid_t tid, rtid;

	rm_state();
	l = ledger_open(dir, t, err, sizeof(err));
	ledger_start(l);
	tid = thread_tid("agp-ledger");
	rtid = thread_tid("agp-ledger-now");
	ok(tid > 0 && sched_getscheduler(tid) == SCHED_IDLE,
	   "the writer commits in SCHED_IDLE (policy %d)",
	   tid > 0 ? sched_getscheduler(tid) : -1);
	ok(rtid > 0 && sched_getscheduler(rtid) == SCHED_OTHER,
	   "its relief is at the normal class (policy %d)",
	   rtid > 0 ? sched_getscheduler(rtid) : -1);
	prio = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	is_int(IOPRIO_PRIO_CLASS(prio), IOPRIO_CLASS_BE,
	       "its I/O stays best-effort");

	atomic_store(&spin_stop, false);
	for (int i = 0; i < nspin; i++)
		pthread_create(&spin[i], NULL, spinner, NULL);
	usleep(100000);
	t0 = clock_mono_ms();
	for (int i = 0; i < BURST; i++) {
		rec(&r, i);
		ledger_append(l, &r);
	}
	while (counted(t) < BURST && clock_mono_ms() - t0 < 12000)
		usleep(20000);
	ms = clock_mono_ms() - t0;
	ledger_stats(l, &st);
	atomic_store(&spin_stop, true);
	for (int i = 0; i < nspin; i++)
		pthread_join(spin[i], NULL);
	is_int(counted(t), BURST, "%d spinning threads: all %d records count",
	       nspin, BURST);
	ok(ms < 10000, "within 10 s: %lld ms", (long long)ms);
	ok(st.hurried >= 1 && st.lost == 0,
	   "the relief committed (%lu batches), none lost", st.hurried);

	rec(&r, 0);
	ledger_append(l, &r);
	for (int i = 0; i < 100 && counted(t) < BURST + 1; i++)
		usleep(10000);
	ledger_stats(l, &st);
	ok(counted(t) == BURST + 1 && st.queued == 0,
	   "the CPUs free again, a record commits at once");
	ledger_free(l);
	usage_table_free(t);
}

/* A stop while every CPU is busy: ledger_free() returns once all is
 * committed and counted, drained by the relief, not by the idle writer. */
static void
test_stop_busy(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct usage_table *t = usage_table_new();
	int nspin = ncpu > 0 && ncpu < 32 ? (int)ncpu * 2 : 4;
	pthread_t spin[64];
	struct usage_record r;
	char err[512];
	struct ledger *l;
	int64_t t0;

	rm_state();
	l = ledger_open(dir, t, err, sizeof(err));
	ledger_start(l);
	atomic_store(&spin_stop, false);
	for (int i = 0; i < nspin; i++)
		pthread_create(&spin[i], NULL, spinner, NULL);
	usleep(100000);
	for (int i = 0; i < BURST; i++) {
		rec(&r, i);
		ledger_append(l, &r);
	}
	t0 = clock_mono_ms();
	ledger_free(l);
	t0 = clock_mono_ms() - t0;
	atomic_store(&spin_stop, true);
	for (int i = 0; i < nspin; i++)
		pthread_join(spin[i], NULL);
	is_int(counted(t), BURST, "a stop with the CPUs busy: all %d count",
	       BURST);
	ok(t0 < 10000, "and it took %lld ms", (long long)t0);
	usage_table_free(t);
}

int
main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_idles_and_relieved();
	test_stop_busy();
	rm_state();
	rmdir(dir);
	return tap_done();
}
