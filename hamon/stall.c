/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The stall detector: a hung main loop must not keep its node in the
 * cluster group (a hung coordinator would block every decision).  A timer
 * on the loop beats; a thread of its own watches the beat and, when the
 * loop has not turned for stall_timeout, writes the blackbox and exits the
 * process, which takes it out of the CPG group at once; systemd restarts it.
 */
#define HM_SUBSYS "stall"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define STALL_POLL_MS 250

static struct {
	qb_loop_t *loop;
	uint64_t timeout_ms;
	uint64_t beat_ms;		/* how often the loop beats */
	_Atomic uint64_t last_beat;	/* hm_daemon_now_ms() of the last beat */
	qb_loop_timer_handle timer;
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	char blackbox[PATH_MAX];
} stall;

static void beat(void *data)
{
	(void)data;
	atomic_store(&stall.last_beat, hm_daemon_now_ms());
	qb_loop_timer_add(stall.loop, QB_LOOP_HIGH, stall.beat_ms * QB_TIME_NS_IN_MSEC, NULL, beat,
			  &stall.timer);
}

static void *watch(void *arg)
{
	struct timespec ts = { 0, STALL_POLL_MS * 1000000L };
	uint64_t quiet;
	char msg[256];
	int n;

	(void)arg;
	while (!atomic_load(&stall.stop)) {
		nanosleep(&ts, NULL);
		quiet = hm_daemon_now_ms() - atomic_load(&stall.last_beat);
		if (quiet <= stall.timeout_ms)
			continue;
		n = snprintf(msg, sizeof(msg),
			     "hamond: main loop stalled for %llu ms (stall_timeout %llu ms): "
			     "leaving the cluster, blackbox in %s\n",
			     (unsigned long long)quiet, (unsigned long long)stall.timeout_ms,
			     stall.blackbox);
		/* async-signal-safe paths only from here: the loop may hold locks */
		if (write(STDERR_FILENO, msg, (size_t)n) < 0)
			n = 0;
		hm_log_err("main loop stalled for %llu ms: leaving the cluster",
			   (unsigned long long)quiet);
		qb_log_blackbox_write_to_file(stall.blackbox);
		_exit(EXIT_FAILURE);
	}
	return NULL;
}

int hm_stall_start(struct hm_daemon *d)
{
	sigset_t all, old;
	int rc;

	if (d->cfg.stall_timeout_s == 0)
		return 0;
	stall.loop = d->loop;
	stall.timeout_ms = (uint64_t)d->cfg.stall_timeout_s * 1000;
	/* beat several times per timeout, at least once a second */
	stall.beat_ms = stall.timeout_ms / 4 < 1000 ? stall.timeout_ms / 4 : 1000;
	if (stall.beat_ms == 0)
		stall.beat_ms = 1;
	if (snprintf(stall.blackbox, sizeof(stall.blackbox), "%s/hamond-%ld-stall.blackbox",
		     d->cfg.blackbox_dir, (long)getpid()) >= (int)sizeof(stall.blackbox))
		stall.blackbox[0] = '\0';
	atomic_store(&stall.last_beat, hm_daemon_now_ms());
	beat(NULL);
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&stall.thread, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	stall.running = true;
	hm_log_info("stall detector: leaving the cluster if the main loop stalls for %u s",
		    d->cfg.stall_timeout_s);
	return 0;
}

void hm_stall_stop(void)
{
	if (!stall.running)
		return;
	atomic_store(&stall.stop, true);
	pthread_join(stall.thread, NULL);
	qb_loop_timer_del(stall.loop, stall.timer);
	stall.running = false;
}

/* A failpoint for the tests only: with HAMOND_TEST_STALL=1 in its
 * environment, SIGUSR1 hangs the main loop for good. */
static int32_t hang(int32_t sig, void *data)
{
	(void)sig;
	(void)data;
	for (;;)
		pause();
	return 0;
}

void hm_stall_failpoint_install(struct hm_daemon *d)
{
	qb_loop_signal_handle h;
	const char *v = getenv("HAMOND_TEST_STALL");

	if (!v || strcmp(v, "1") != 0)
		return;
	hm_log_warn("test failpoint armed: SIGUSR1 hangs the main loop (HAMOND_TEST_STALL=1)");
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGUSR1, d, hang, &h);
}
