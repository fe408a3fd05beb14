/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placement: where each instance of a round goes, as a pure function of the
 * inventory (hosts and the instances they run), the membership and the
 * cluster policy.  doc/placement.md has the rules and the reasons.
 *
 * Pure: no I/O, no clock, no global state; one allocation per call for the
 * working set (none per instance).  Deterministic: the answer depends on
 * the content of the inputs, not on their order; ties go to the lower node
 * id, and instances of equal rank are placed in uuid order.
 *
 * A host takes placements when it is online (not unknown, degraded,
 * offline, lost, fenced or unmanaged), not in maintenance, not disabled, a
 * member of the quorate membership given, and not in exclude_hosts.  Its
 * room is floor(vcpus x cpu_overcommit) vCPUs and memory_mib MiB (memory is
 * never overcommitted), minus what its load uses (hm_place_counts()) and
 * what this round already put there.  An instance never goes back to its
 * current owner, nor to its request's exclude host.
 *
 * Instances are placed by priority (higher first), then larger memory,
 * then more vCPUs, then uuid.  Each goes to the host that, among those with
 * room: is in the preferred tier (not reserved when reserved_order is
 * LAST, reserved when FIRST); then holds no instance of its affinity group
 * (STRICT never allows one, SOFT only prefers); then would keep the
 * largest fraction of its fuller resource (vCPUs or memory, whichever
 * would be fuller after the placement: a balanced spread); then has the
 * most free memory, then the most free vCPUs, then the lowest node id.
 * A local-storage instance is never placed.
 */
#ifndef HM_PLACEMENT_H
#define HM_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* a reason, NUL-terminated, always shorter than this */
#define HM_PLACE_REASON_MAX 256
/* the highest cpu_overcommit taken (policy allows 1..64): the capacity
 * stays exact in a double and far from INT64_MAX */
#define HM_PLACE_OVERCOMMIT_MAX 1024.0

/* zero is the policy default (reserved_hosts_order = last) */
enum hm_place_reserved_order {
	HM_PLACE_RESERVED_LAST = 0,	/* only when no other host has room */
	HM_PLACE_RESERVED_FIRST,	/* before any other host */
	HM_PLACE_RESERVED_ORDER_MAX
};

enum hm_place_affinity {
	HM_PLACE_AFFINITY_STRICT = 0,	/* never two of a group on one host */
	HM_PLACE_AFFINITY_SOFT,		/* avoid it while another host has room */
	HM_PLACE_AFFINITY_MAX
};

struct hm_place_request {
	const struct hm_instance *instance;
	uint32_t exclude;		/* a host where it failed, 0 = none */
};

struct hm_place_result {
	uint32_t target;		/* the host's node id; 0: pending */
	/* pending: why, for a human ("needs 4 vCPUs and 8192 MiB: no eligible
	 * host has room (node2: 2 vCPUs free, node3: in maintenance)");
	 * placed: "" or a note (a reserved host, a soft anti-affinity breach) */
	char reason[HM_PLACE_REASON_MAX];
};

struct hm_place_input {
	/* every known host, in any order; node ids > 0 and distinct */
	const struct hm_host *hosts;
	size_t n_hosts;
	/* the node ids of the quorate membership; a host not here takes nothing */
	const uint32_t *members;
	size_t n_members;
	/* instances that may use capacity (all of them will do: those that
	 * hm_place_counts() refuses are skipped); an instance being placed
	 * still counts on its current owner.  The store has one owner: for
	 * a migration in flight, add a copy owned by its destination, so
	 * that both ends hold it */
	const struct hm_instance *const *load;
	size_t n_load;
	/* the instances to place; uuids distinct */
	const struct hm_place_request *want;
	size_t n_want;
	double cpu_overcommit;		/* 1 .. HM_PLACE_OVERCOMMIT_MAX */
	enum hm_place_reserved_order reserved_order;
	enum hm_place_affinity affinity;
	/* hosts that take nothing this round (a drain's source, a lost host) */
	const uint32_t *exclude_hosts;
	size_t n_exclude_hosts;
	/* an operator's --target: 0 = any host; else that host or nowhere,
	 * and it must pass every check */
	uint32_t target;
};

/* Whether an instance uses capacity on its owner: it has one, and it is
 * running, paused or unknown (unknown is not stopped). */
bool hm_place_counts(const struct hm_instance *inst);

/*
 * Place in->want[i] into res[i] (target, or 0 and why), for every i.
 * ret_placed (may be NULL) gets how many were placed; the rest are pending.
 *   -EINVAL  NULL in, a NULL array with a count, a NULL instance or uuid,
 *            a host with node id 0 or twice, a uuid twice in want, an
 *            overcommit outside 1..HM_PLACE_OVERCOMMIT_MAX or not finite,
 *            an enum out of range: res is untouched
 *   -ENOMEM  res is untouched
 */
int hm_place(const struct hm_place_input *in, struct hm_place_result *res, size_t *ret_placed);

#endif
