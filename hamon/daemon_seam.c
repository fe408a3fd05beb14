/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The seam filled with real adapters: qb_loop timers, CPG, qb_log. */
#define HM_SUBSYS "core"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"

uint64_t hm_daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t seam_now(void *ctx)
{
	(void)ctx;
	return hm_daemon_now_ms();
}

static uint64_t seam_wall(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rejoin_fire(void *data)
{
	struct hm_daemon *d = data;

	hm_cs_set_restart(&d->cs, "our replica must be synced again");
}

/* never from inside a CPG callback: leave from the main loop */
static void seam_rejoin(void *ctx, const char *why)
{
	struct hm_daemon *d = ctx;

	hm_log_err("leaving the cluster group to resync: %s", why);
	if (qb_loop_timer_add(d->loop, QB_LOOP_HIGH, 0, d, rejoin_fire, &d->rejoin_timer) != 0)
		hm_log_err("cannot schedule the rejoin");
}

/* qb_loop hands back an opaque handle; the core only sees a number */
static int seam_timer_start(void *ctx, uint64_t after_ms, hm_timer_fn fn, void *data,
			    hm_timer_t *ret_timer)
{
	struct hm_daemon *d = ctx;
	qb_loop_timer_handle h;
	int rc;

	rc = qb_loop_timer_add(d->loop, QB_LOOP_MED, after_ms * QB_TIME_NS_IN_MSEC, data, fn, &h);
	if (rc < 0)
		return rc;
	*ret_timer = (hm_timer_t)h;
	return 0;
}

static void seam_timer_stop(void *ctx, hm_timer_t timer)
{
	struct hm_daemon *d = ctx;

	qb_loop_timer_del(d->loop, (qb_loop_timer_handle)timer);
}

static int seam_send(void *ctx, const void *msg, size_t len)
{
	struct hm_daemon *d = ctx;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	cs_error_t err;

	if (!d->cpg_joined)
		return -ENOTCONN;
	err = cpg_mcast_joined(d->cpg, CPG_TYPE_AGREED, &iov, 1);
	switch (err) {
	case CS_OK:
		return 0;
	case CS_ERR_TRY_AGAIN:
		return -EAGAIN;
	default:
		return -ENOTCONN;
	}
}

static void seam_log(void *ctx, int prio, const char *fmt, va_list ap)
{
	char buf[1024];

	(void)ctx;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	hm_log(prio, "%s", buf);
}

/* tests: HAMOND_FAILPOINT=<name> makes hamond abort right there
 * (doc/jobs.md "Failpoints"), as a crash would */
static void seam_failpoint(void *ctx, const char *name)
{
	const char *armed = getenv("HAMOND_FAILPOINT");

	(void)ctx;
	if (!armed || strcmp(armed, name) != 0)
		return;
	hm_log_crit("failpoint %s (HAMOND_FAILPOINT): aborting", name);
	abort();
}

static int seam_step_run(void *ctx, const struct hm_step_order *order)
{
	return hm_steps_run(ctx, order);
}

void hm_daemon_seam_init(struct hm_daemon *d)
{
	d->seam = (struct hm_seam){
		.ctx = d,
		.now_ms = seam_now,
		.wall_ms = seam_wall,
		.rejoin = seam_rejoin,
		.timer_start = seam_timer_start,
		.timer_stop = seam_timer_stop,
		.send = seam_send,
		.log = seam_log,
		.failpoint = seam_failpoint,
		.step_run = seam_step_run,
	};
}
