/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Pacemaker backend: where Pacemaker owns fencing (policy key
 * fence_backend = pacemaker), hamon asks Pacemaker's fencer instead of
 * running agents, so a cluster has one fencing authority, never two.
 *
 *   fence:   stonith_admin --fence <host> --timeout <s>
 *            exit 0 = proven off, 124 = timed out, anything else = failed
 *            (the reason: its last stderr line)
 *   history: stonith_admin --history <host|*> --verbose --output-as=xml
 *            --timeout <s>  →  (host, action, state, completed) records,
 *            so that a fence Pacemaker did while hamond was down is seen
 *            (reconcile on start and after every sync).
 *
 * stonith_admin runs as a child process through the executor (own process
 * group, clean environment, deadline), never blocking the loop; its argv
 * holds a host name and a number, never a secret (the devices and their
 * passwords are Pacemaker's).  Checked against pacemaker 2.1.5.
 * doc/fencing.md, "The Pacemaker backend".
 */
#ifndef HM_FENCE_PCMK_H
#define HM_FENCE_PCMK_H

#include <qb/qbloop.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fence_policy.h"

#define HM_PCMK_STONITH_ADMIN "/usr/sbin/stonith_admin"
#define HM_PCMK_HOST_MAX 255
#define HM_PCMK_EXIT_TIMEOUT 124	/* CRM_EX_TIMEOUT */
/* our own deadline is the fencer's timeout plus this: stonith_admin
 * reports its own timeout first */
#define HM_PCMK_DEADLINE_SLACK_MS 10000u

/* every function takes cfg NULL as all defaults */
struct hm_pcmk_config {
	/* NULL = HM_PCMK_STONITH_ADMIN; absolute */
	const char *stonith_admin;
	/* SIGTERM → SIGKILL of stonith_admin at our deadline; 0 = default */
	uint64_t kill_grace_ms;
	/* our deadline = the fencer's timeout + this; 0 = HM_PCMK_DEADLINE_SLACK_MS */
	uint64_t deadline_slack_ms;
};

/* a host name as Pacemaker knows it: 1..255 of [A-Za-z0-9._-], not
 * starting with '-' (it goes on argv) */
bool hm_pcmk_host_valid(const char *host);

/* ------------------------------------------------------------------ */
/* fence */

enum hm_pcmk_outcome {
	HM_PCMK_PROVEN_OFF = 0,		/* exit 0 */
	HM_PCMK_TIMEOUT,		/* exit 124, or our deadline */
	HM_PCMK_FAILED,			/* any other end */
	HM_PCMK_CANCELLED,
};

struct hm_pcmk_op;

/*
 * Fence `host` through Pacemaker's fencer, timeout_s (1..3600) for the
 * fencer.  done gets a record: agent "stonith_admin", action "off",
 * exit status, status, reason, times; proof only for exit 0.
 * 0 or -EINVAL (bad host, timeout, config), -ENOMEM.
 */
int hm_pcmk_fence_start(qb_loop_t *loop, const struct hm_pcmk_config *cfg, uint32_t host_id,
			const char *host, unsigned timeout_s,
			void (*done)(enum hm_pcmk_outcome outcome, const struct hm_fence_attempt *a,
				     void *data),
			void *data, struct hm_pcmk_op **ret);

/* ------------------------------------------------------------------ */
/* history */

enum hm_pcmk_state {
	HM_PCMK_STATE_SUCCESS = 0,
	HM_PCMK_STATE_FAILED,
	HM_PCMK_STATE_PENDING,
};

struct hm_pcmk_event {
	char target[HM_PCMK_HOST_MAX + 1];
	char action[HM_FENCE_ACTION_MAX];	/* off, reboot, on, ... */
	enum hm_pcmk_state state;
	int64_t completed_ms;		/* wall ms; 0 when pending */
	char delegate[HM_PCMK_HOST_MAX + 1];	/* the node that ran it, "" = unknown */
	char origin[HM_PCMK_HOST_MAX + 1];	/* the node that asked */
	char client[64];
	char reason[HM_FENCE_WHY_MAX];	/* a failure's exit-reason */
};

/*
 * Parse `stonith_admin --history ... --output-as=xml` (len bytes).  0 with
 * *ret (malloc'd, free()) and *n; -EINVAL with err for anything that is not
 * such a document, -EIO with err when the document reports a failure
 * (<status code != 0>, or a fence_history status), -ENOMEM.
 * A fence_event's completed time is Pacemaker's
 * "YYYY-MM-DD HH:MM:SS" + "Z" or " +HH:MM" (pacemaker 2.1.5
 * lib/fencing/st_output.c), second precision.
 */
int hm_pcmk_history_parse(const char *xml, size_t len, struct hm_pcmk_event **ret, size_t *n,
			  char *err, size_t errlen);

/*
 * Reconcile: the latest proof that `host` was fenced at or after since_ms
 * (the loss): an "off" that succeeded.  A "reboot" is never proof
 * (fence-agents report success for a reboot whose off was not confirmed,
 * method=cycle): set Pacemaker's stonith-action=off where hamon relies on
 * it.  true with *when_ms, or false.
 */
bool hm_pcmk_history_proof(const struct hm_pcmk_event *ev, size_t n, const char *host,
			   int64_t since_ms, int64_t *when_ms);

/*
 * Read the history (host NULL = every host).  done gets rc 0 with the
 * events (they live until done returns), or rc < 0 with a reason
 * (-ETIMEDOUT, -EIO: stonith_admin failed, -EINVAL: output not understood,
 * -ENOENT: no stonith_admin, -ECANCELED).
 */
typedef void (*hm_pcmk_history_fn)(int rc, const struct hm_pcmk_event *ev, size_t n,
				   const char *reason, void *data);
int hm_pcmk_history_start(qb_loop_t *loop, const struct hm_pcmk_config *cfg, const char *host,
			  unsigned timeout_s, hm_pcmk_history_fn done, void *data,
			  struct hm_pcmk_op **ret);

/* SIGKILL to stonith_admin, done follows (cancelled).  NULL and twice are
 * no-ops; not from inside done.  (Pacemaker's fencer may still carry out a
 * fence it was asked for: a cancelled fence is an unknown outcome.) */
void hm_pcmk_cancel(struct hm_pcmk_op *op);

const char *hm_pcmk_outcome_to_str(enum hm_pcmk_outcome o);
const char *hm_pcmk_state_to_str(enum hm_pcmk_state s);

#endif
