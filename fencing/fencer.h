/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fencer: fences ONE host through its levels with the executor, inside
 * the caller's qb_loop, never blocking it.
 *
 *   level by level, lowest first (hm_fence_plan() decides every step);
 *   the devices of a level one at a time, by id, each with action "off",
 *   each call bounded by call_timeout_ms (fence_timeout_s) and retried up
 *   to `retries` times (fence_retries) inside its device's deadline;
 *   a device counts only with proof (off→0); a level is proven when every
 *   device of it proved off, failed as soon as one did not;
 *   every device call is reported to on_attempt (for history) as it ends;
 *   the end: proven off (which level, which device), or exhausted (every
 *   level failed: the caller alerts and waits for the operator), or
 *   cancelled.
 *
 * Agents are <agent_dir>/<agent> (agent_dir /usr/sbin unless configured),
 * run with the device's params on stdin only (secrets included), plus
 * nodename=<host name>.  No record holds a param; a reason that quotes a
 * secret has it masked.  Also here: one `monitor` or `status` of one device
 * (hamonctl fence test, the periodic monitor) and an agent's metadata.
 *
 * Threading: the loop's thread only.  Callbacks come from the loop, never
 * from inside a start or a cancel.  doc/fencing.md, "The fencer".
 */
#ifndef HM_FENCER_H
#define HM_FENCER_H

#include <qb/qbloop.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fence_policy.h"
#include "store.h"

#define HM_FENCER_AGENT_DIR "/usr/sbin"
#define HM_FENCER_REASON_MAX 1024

struct hm_fencer_config {
	/* where agents are; NULL = HM_FENCER_AGENT_DIR.  Absolute. */
	const char *agent_dir;
	/* one agent call (fence_timeout_s × 1000); > 0 */
	uint64_t call_timeout_ms;
	/* calls after a failed one, per device (fence_retries) */
	unsigned retries;
	/* pause between two calls of one device (1000 is a good value) */
	uint64_t retry_delay_ms;
	/* SIGTERM → SIGKILL at a deadline; 0 = the executor's default */
	uint64_t kill_grace_ms;
};

/* the device deadline that follows: every call and every pause */
static inline uint64_t hm_fencer_device_timeout_ms(uint64_t call, unsigned retries, uint64_t delay) { return call * (retries + 1ull) + delay * retries; }

enum hm_fencer_outcome {
	HM_FENCER_PROVEN_OFF = 0,
	HM_FENCER_EXHAUSTED,		/* alert, wait for the operator */
	HM_FENCER_CANCELLED,
};

struct hm_fencer_result {
	uint32_t host;
	enum hm_fencer_outcome outcome;
	uint32_t level;			/* PROVEN_OFF: the level that proved it */
	uint32_t device;		/* PROVEN_OFF: its last device */
	/* every device call, in the order they ran */
	const struct hm_fence_attempt *attempts;
	size_t n_attempts;
	/* EXHAUSTED: each failed device with its reason, level by level;
	 * CANCELLED: "cancelled"; "" when proven */
	char reason[HM_FENCER_REASON_MAX];
	int64_t start_ms;		/* wall clock, ms */
	int64_t end_ms;
};

struct hm_fencer;

/* a device call ended (its record lives until the callback returns) */
typedef void (*hm_fencer_attempt_fn)(const struct hm_fence_attempt *a, void *data);
/* the end; then the handle is freed */
typedef void (*hm_fencer_done_fn)(const struct hm_fencer_result *res, void *data);

/* a bad configuration: -EINVAL */
int hm_fencer_config_validate(const struct hm_fencer_config *cfg);

/*
 * Fence `host` (host_name: sent as nodename=, may be NULL) with its
 * devices (any order, any hosts: only host's are used; copied).  0: the
 * first device is starting, done will be called exactly once (on_attempt,
 * may be NULL, before it, once per device call).  -ENODEV: the host has no
 * device (unprotected); -EINVAL: a bad config, host or device list
 * (hm_fence_plan()), a host_name with a newline; -ENOMEM.  On an error
 * nothing runs and no callback will come.
 */
int hm_fencer_start(qb_loop_t *loop, const struct hm_fencer_config *cfg, uint32_t host,
		    const char *host_name, const struct hm_fence_device *devices, size_t n_devices,
		    hm_fencer_attempt_fn on_attempt, hm_fencer_done_fn done, void *data,
		    struct hm_fencer **ret);

/* stop: the running agent's group gets SIGKILL, no further device runs;
 * done follows with CANCELLED.  NULL and a second cancel are no-ops; not
 * from inside done. */
void hm_fencer_cancel(struct hm_fencer *f);

/* ------------------------------------------------------------------ */
/* one device: monitor or status; an agent's metadata */

struct hm_fencer_op;

/*
 * One call of `action` (monitor or status) on one device, no retry, bounded
 * by call_timeout_ms.  done gets the record: for status, proof is true when
 * the device says off (exit 2); for monitor, exit 0 is a working device.
 */
int hm_fencer_check_start(qb_loop_t *loop, const struct hm_fencer_config *cfg,
			  const struct hm_fence_device *device, const char *host_name,
			  const char *action, hm_fencer_attempt_fn done, void *data,
			  struct hm_fencer_op **ret);

/*
 * The agent's metadata (action=metadata on stdin), for
 * hm_fence_metadata_parse().  done: rc 0 with the XML (lives until done
 * returns), or rc < 0 with reason (-ENOENT: no such agent; -EIO: it failed
 * or printed nothing; -ETIMEDOUT).
 */
typedef void (*hm_fencer_metadata_fn)(int rc, const char *xml, size_t len, const char *reason,
				      void *data);
int hm_fencer_metadata_start(qb_loop_t *loop, const struct hm_fencer_config *cfg,
			     const char *agent, hm_fencer_metadata_fn done, void *data,
			     struct hm_fencer_op **ret);

/* SIGKILL to the call, done follows (a check: status "cancelled"; the
 * metadata: -ECANCELED).  NULL and twice are no-ops; not from inside done. */
void hm_fencer_op_cancel(struct hm_fencer_op *op);

/* an agent name: [A-Za-z0-9_-]{1,64}, not starting with '-' */
bool hm_fencer_agent_name_valid(const char *agent);

const char *hm_fencer_outcome_to_str(enum hm_fencer_outcome o);

#endif
