/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one seam: everything the pure core needs from the world.
 *
 * hamond fills it with real adapters (qb_loop timers, CPG multicast, qb_log);
 * hamon-sim and the unit tests fill it with fakes (a virtual clock, a fake
 * network).  Modelled on corosync's struct corosync_api_v1.  Later issues add
 * fence and libvirt operations here, never a second way out of the core.
 */
#ifndef HM_SEAM_H
#define HM_SEAM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t hm_timer_t;
struct hm_step_order;
typedef void (*hm_timer_fn)(void *data);

struct hm_seam {
	void *ctx;
	/* monotonic clock in milliseconds */
	uint64_t (*now_ms)(void *ctx);
	/* wall clock (ms since the epoch), only to stamp what an operator reads;
	 * chosen by a message's sender, never read while applying one */
	uint64_t (*wall_ms)(void *ctx);
	/* one-shot timer; 0 or -errno */
	int (*timer_start)(void *ctx, uint64_t after_ms, hm_timer_fn fn, void *data,
			   hm_timer_t *ret_timer);
	void (*timer_stop)(void *ctx, hm_timer_t timer);
	/* multicast to the group in agreed order, delivered to ourselves too;
	 * 0, -EAGAIN when flow control says later, or -errno */
	int (*send)(void *ctx, const void *msg, size_t len);
	/* prio is a syslog LOG_* level */
	void (*log)(void *ctx, int prio, const char *fmt, va_list ap);
	/* our replica can no longer be trusted (a local apply failed): leave
	 * the group and join again, so a sync brings us up to date */
	void (*rejoin)(void *ctx, const char *why);
	/* run one step of a job here (jobs.h): look first, act only if the
	 * effect is absent, then hm_jobs_step_finished(); never from inside
	 * this call.  0, or -errno when it could not even start (unknown) */
	int (*step_run)(void *ctx, const struct hm_step_order *order);
	/* tests only (may be NULL): a named point of a job was passed here
	 * (doc/jobs.md "Failpoints"); an armed hamond aborts on it */
	void (*failpoint)(void *ctx, const char *name);
};

void hm_seam_log(const struct hm_seam *seam, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
