/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recovery job (doc/jobs.md): a corosync node that owns instances is
 * gone → fence it (a confirmed off) → place each evacuable instance on a
 * survivor → start it there → done.  The coordinator's planner, pure: it
 * reads the store and the membership and issues through jobs.h.
 *
 *   step      executor            done means
 *   fence     the coordinator     the node is proven off (off→0, status→2)
 *   start     the target          the domain runs there (looked up first)
 *   observe   the coordinator     a local-disk instance recorded as lost
 *
 * Rules (DESIGN.md): nothing starts elsewhere before the fence is done or
 * an operator confirmed it (host state fenced); ownership moves at the
 * start intent; a start with an unknown outcome is retried on the same
 * target only; elsewhere only after it failed for certain; a loss of a
 * node that comes back before it was fenced is cancelled (it kept its
 * instances).  A hamond-only loss (corosync still a member) is no loss.
 */
#ifndef HM_RECOVERY_H
#define HM_RECOVERY_H

#include "jobs.h"

/* create a recovery job for every lost node that owns instances */
void hm_recovery_detect(struct hm_jobs *j, struct hm_membership *m, struct hm_store *s);
/* issue the next steps of an open job (any kind this file knows) */
void hm_recovery_plan(struct hm_jobs *j, struct hm_membership *m, struct hm_store *s,
		      const struct hm_job *job);

/*
 * Rejoin safety: what a host does with a domain its own libvirt has, given
 * the store.  fenced_back: the store said this host was fenced when it
 * joined again with a new boot id (read before it republishes itself).
 */
enum hm_local_verdict {
	HM_LOCAL_PUBLISH = 0,	/* ours, or new to the store: publish it */
	HM_LOCAL_REMOVE,	/* a stale copy of an instance rebuilt elsewhere while we
				 * were fenced: destroy and undefine it before anything else */
	HM_LOCAL_ALARM,		/* owned elsewhere and we were not fenced: a double run
				 * suspected; touch nothing, tell the operator */
};
enum hm_local_verdict hm_recovery_local_domain(struct hm_store *s, uint32_t me, const char *uuid,
					       bool fenced_back);

/* the mutation check only (tests/sim/mutation.test): when set, the guard
 * "nothing starts elsewhere before the fence" is switched off, and some
 * scenario must then fail */
extern bool hm_recovery_mutation_no_fence;

#endif
