/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fence decisions, pure: no I/O, no clock (every time is an argument, in
 * milliseconds of one clock the caller chooses, e.g. the wall time that
 * the store records), no global state.  doc/fencing.md, "Policy", states
 * each rule with its exact arithmetic; tests/unit/check_fence_policy.c
 * covers them.
 *
 *   hm_fence_decide()       may the coordinator fence this host now?  (all
 *                           the rules below, in order)
 *   hm_fence_storm_check()  the storm guard (max_fence_fraction)
 *   hm_fence_window_check() the no-fence window (no_fence_window_s)
 *   hm_fence_host_delay_ms() the per-host delay (fence_delay_s, and
 *                           fence_race_delay_s in a 2-node cluster)
 *   hm_fence_plan()         levels: which devices next, proven off,
 *                           exhausted, unprotected
 *   hm_fence_protection()   what the periodic monitor shows for a host
 *
 * (The file is fence_policy, not policy: hamon/policy.h, the table of
 * cluster policy keys, is on the same include path.)
 */
#ifndef HM_FENCE_POLICY_H
#define HM_FENCE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define HM_FENCE_WHY_MAX 256
#define HM_FENCE_LEVEL_DEVICES_MAX 16	/* devices of one level */
#define HM_FENCE_AGENT_MAX 64
#define HM_FENCE_ACTION_MAX 16
#define HM_FENCE_STATUS_MAX 24

/* ------------------------------------------------------------------ */
/* the storm guard */

enum hm_fence_verdict {
	HM_FENCE_NOW = 0,	/* fence now */
	HM_FENCE_WAIT,		/* not yet: queued until a time (not dropped) */
	HM_FENCE_REFUSED,	/* not at all: alert the operator */
	HM_FENCE_NOT_COORDINATOR, /* only the coordinator fences */
	HM_FENCE_NO_QUORUM,	/* only with quorum */
};

/*
 * May `candidate` be fenced, given the hosts of the same incident?
 * incident: every host lost in this incident and not back (fenced, being
 * fenced, or waiting to be), candidate included or not, duplicates
 * allowed: the hosts counted are incident ∪ {candidate}, k of them.
 * Refused when configured_nodes >= 3 and k / configured_nodes >
 * max_fraction (`>`, not `>=`: with the default 0.5, 2 of 4 may be
 * fenced, 2 of 3 may not).  With 1 or 2 configured nodes the guard does
 * not apply (a 2-node cluster settles its races with the per-host delay).
 * Every host of one incident gets the same answer: fence all or none.
 * HM_FENCE_NOW or HM_FENCE_REFUSED with why (the numbers); -EINVAL for
 * configured_nodes 0, fewer configured nodes than hosts counted, a
 * fraction outside 0..1 (or NaN), candidate 0, or incident NULL with n > 0.
 * why may be NULL.
 */
int hm_fence_storm_check(unsigned configured_nodes, const uint32_t *incident, size_t n_incident,
			 uint32_t candidate, double max_fraction, char *why, size_t whylen);

/* ------------------------------------------------------------------ */
/* the no-fence window */

/*
 * The window opens at window_start_ms (recorded in the store by the
 * caller at the first quorate formation after all hamonds were down;
 * < 0 = no window recorded) and lasts window_ms.  HM_FENCE_NOW when
 * now_ms >= window_start_ms + window_ms (or no window, or window_ms 0);
 * else HM_FENCE_WAIT with *until_ms = window_start_ms + window_ms: the
 * loss is queued until then, never dropped.  A now before the start
 * (another node's clock) waits too.  -EINVAL for window_ms < 0 or
 * until_ms NULL.
 */
int hm_fence_window_check(int64_t window_start_ms, int64_t window_ms, int64_t now_ms,
			  int64_t *until_ms);

/* ------------------------------------------------------------------ */
/* the per-host delay */

/*
 * How long after the loss the coordinator `self` waits before it fences
 * `target`: delay_ms (fence_delay_s) for every host, plus race_delay_ms
 * (fence_race_delay_s) when the cluster has exactly 2 configured nodes and
 * the target has the lower node id.  In a split of a 2-node cluster each
 * side is its own coordinator and wants to fence the other: the side with
 * the lower id fences at once, the other waits, so the lower id survives
 * and the two never shoot each other at the same moment.  The rule depends
 * on the target only, so both sides compute the same numbers.
 */
int64_t hm_fence_host_delay_ms(unsigned configured_nodes, uint32_t target, uint32_t self,
			       int64_t delay_ms, int64_t race_delay_ms);

/* ------------------------------------------------------------------ */
/* the whole decision */

struct hm_fence_situation {
	bool coordinator;		/* this node is the recorded coordinator */
	bool quorate;			/* ring-tied quorum (DESIGN.md) */
	uint32_t self;			/* this node's id */
	uint32_t target;		/* the host to fence */
	unsigned configured_nodes;	/* corosync's nodelist */
	const uint32_t *incident;	/* hm_fence_storm_check() */
	size_t n_incident;
	double max_fraction;		/* max_fence_fraction */
	int64_t window_start_ms;	/* < 0: no window */
	int64_t window_ms;		/* no_fence_window_s */
	int64_t lost_ms;		/* when the target was seen lost */
	int64_t delay_ms;		/* fence_delay_s */
	int64_t race_delay_ms;		/* fence_race_delay_s */
	int64_t now_ms;
};

struct hm_fence_decision {
	enum hm_fence_verdict verdict;
	int64_t until_ms;		/* HM_FENCE_WAIT: ask again then */
	char why[HM_FENCE_WHY_MAX];	/* for the log / alert, every verdict */
};

/*
 * In this order: not the coordinator → NOT_COORDINATOR; no quorum →
 * NO_QUORUM; the storm guard → REFUSED; then WAIT until the later of the
 * window's end and lost_ms + the per-host delay; else NOW.  0, or
 * -EINVAL (bad situation, as the functions above).
 */
int hm_fence_decide(const struct hm_fence_situation *s, struct hm_fence_decision *d);

const char *hm_fence_verdict_to_str(enum hm_fence_verdict v);

/* ------------------------------------------------------------------ */
/* levels */

enum hm_fence_device_outcome {
	HM_FENCE_DEVICE_OK = 0,		/* proof of off (off→0, status→2) */
	HM_FENCE_DEVICE_FAILED,		/* anything else: failed, timed out, unknown */
};

struct hm_fence_device_result {
	uint32_t device;
	enum hm_fence_device_outcome outcome;
};

enum hm_fence_plan_kind {
	HM_FENCE_PLAN_RUN = 0,		/* run device `next` of level `level` */
	HM_FENCE_PLAN_PROVEN_OFF,	/* every device of `level` proved off */
	HM_FENCE_PLAN_EXHAUSTED,	/* every level failed: alert, wait for the operator */
	HM_FENCE_PLAN_UNPROTECTED,	/* the host has no fence device */
};

struct hm_fence_plan {
	enum hm_fence_plan_kind kind;
	uint32_t level;			/* RUN, PROVEN_OFF */
	uint32_t next;			/* RUN: the device to run now */
	/* RUN, PROVEN_OFF: the level's devices, by id */
	uint32_t devices[HM_FENCE_LEVEL_DEVICES_MAX];
	size_t n_devices;
	unsigned levels;		/* the host's levels, in all */
};

/*
 * The next step of fencing `host` through its levels.  devices: any order,
 * any hosts (only host's count).  results: what the devices run so far
 * gave (a device's last result counts).  Levels go up from the lowest;
 * a level's devices run one at a time, by id; a level is proven when each
 * of its devices is OK, and failed as soon as one of them FAILED, which
 * moves on to the next level.  0, or -EINVAL (host 0, a device with level
 * 0 or id 0, two devices with one id, a result for a device that is not
 * the host's, more than HM_FENCE_LEVEL_DEVICES_MAX devices in a level,
 * NULL with a count).
 */
int hm_fence_plan(uint32_t host, const struct hm_fence_device *devices, size_t n_devices,
		  const struct hm_fence_device_result *results, size_t n_results,
		  struct hm_fence_plan *plan);

const char *hm_fence_plan_kind_to_str(enum hm_fence_plan_kind k);

/* ------------------------------------------------------------------ */
/* the monitor's view */

enum hm_fence_protection {
	HM_FENCE_PROTECTED = 0,		/* every level's devices answered their last monitor */
	HM_FENCE_DEGRADED,		/* some level would work, another would not */
	HM_FENCE_UNPROTECTED,		/* no device, or no level whose devices all answer */
};

/*
 * monitor: each device's last monitor (OK = it answered); a device
 * without one counts as failing.  -EINVAL as hm_fence_plan; else the
 * protection (>= 0).
 */
int hm_fence_protection(uint32_t host, const struct hm_fence_device *devices, size_t n_devices,
			const struct hm_fence_device_result *monitor, size_t n_monitor);

const char *hm_fence_protection_to_str(enum hm_fence_protection p);

/* ------------------------------------------------------------------ */
/* one attempt, for history */

/*
 * One device call, as the caller writes it to history: which device and
 * level, what was run, when (start and end, the caller's clock), how it
 * ended, and whether it is proof of off.  No params, ever; reason is
 * redacted of the device's secrets.
 */
struct hm_fence_attempt {
	uint32_t host;
	uint32_t device;		/* 0 for the Pacemaker backend */
	uint32_t level;			/* 0 for the Pacemaker backend, or a monitor */
	char agent[HM_FENCE_AGENT_MAX + 1];
	char action[HM_FENCE_ACTION_MAX];
	int64_t start_ms;
	int64_t end_ms;
	int exit_status;		/* -1: killed, or never ran */
	char status[HM_FENCE_STATUS_MAX];	/* done, timeout, error-exec, ... */
	unsigned tries;			/* the executor's attempts (retries + 1 at most) */
	char reason[HM_FENCE_WHY_MAX];	/* "" on success */
	bool proof;			/* off→0 or status→2 */
};

/* one line for history and logs:
 * "device 3 (fence_ipmilan, level 1) off: exit 1, 2 tries, 8210 ms, not proof: <reason>"
 * 0, or -EINVAL; cut to len */
int hm_fence_attempt_format(const struct hm_fence_attempt *a, char *buf, size_t len);

#endif
