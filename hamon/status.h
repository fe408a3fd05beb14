/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What `hamonctl status` shows, built as JSON from the membership module
 * and the corosync nodelist; and the pure parts of the other replies: the
 * pages of the lists, which jobs `job list` shows.  Pure: no I/O.
 */
#ifndef HM_STATUS_H
#define HM_STATUS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "membership.h"
#include "replica.h"
#include "store.h"

#define HM_NODE_NAME_MAX 256

struct hm_node_name {
	uint32_t nodeid;
	char name[HM_NODE_NAME_MAX];
};

/* the corosync nodelist: node ids and their names */
struct hm_nodelist {
	size_t n;
	struct hm_node_name nodes[HM_MAX_NODES];
};

/* the name of nodeid, or "" when the nodelist does not know it */
const char *hm_nodelist_name(const struct hm_nodelist *nl, uint32_t nodeid);
/* add or replace; -ENOSPC when full, -EINVAL for nodeid 0 or a name too long */
int hm_nodelist_set(struct hm_nodelist *nl, uint32_t nodeid, const char *name);

struct hm_status_info {
	const struct hm_membership *membership;
	const struct hm_nodelist *nodelist;
	const char *cluster_name;
	const char *boot_id;
	const char *version;
	uint64_t uptime_s;
	long pid;
};

/* the status object (see doc/hamonctl.md); NULL when out of memory */
json_object *hm_status_to_json(const struct hm_status_info *info);

/*
 * The "replica" object of the status: applied sequence, policy version, and
 * whether the members' digests at the latest checkpoint agree, naming those
 * that differ.  0 or -ENOMEM.
 */
int hm_status_add_replica(json_object *status, const struct hm_replica_status *rs,
			  const struct hm_nodelist *nl, uint64_t policy_version);

/*
 * A host's state as the cluster sees it now: lost and fenced (decided by the
 * cluster) stand; otherwise offline when out of the corosync membership,
 * unmanaged when its hamond is not in the group, else what it last
 * published (online, degraded).
 */
const char *hm_host_state_now(const struct hm_membership *m, uint32_t nodeid,
			      enum hm_host_state published);

/* "1.2c": rep node id and seq in hex, as corosync logs them */
void hm_ring_id_format(const struct hm_ring_id *ring, char *buf, size_t len);

/*
 * One page of a paged reply (ipc_proto.h): rows are added in cursor order
 * until max_rows, or max_bytes of their JSON, would be passed; the row that
 * does not fit proves that more remain.  The first row always fits, so a
 * client always moves on.
 */
struct hm_page {
	json_object *rows;		/* the array; owned until hm_page_finish() */
	json_object *next;		/* the cursor of the last row added */
	size_t count, bytes;
	size_t max_rows, max_bytes;
	bool full;			/* a row was turned away: more remain */
};

/* 0 or -ENOMEM (nothing to free then) */
int hm_page_init(struct hm_page *p, size_t max_rows, size_t max_bytes);
/*
 * Add row, whose cursor is cursor (both taken, whatever happens).  0 when
 * added; 1 when the page is full (the row is dropped, and the caller stops
 * and replies); -ENOMEM.
 */
int hm_page_add(struct hm_page *p, json_object *row, json_object *cursor);
/* put the rows into reply under key, and "next" when the page was full;
 * the page is empty afterwards.  0 or -ENOMEM (the page is freed anyway) */
int hm_page_finish(struct hm_page *p, json_object *reply, const char *key);
void hm_page_free(struct hm_page *p);	/* after init, when not finished */

/*
 * `hamonctl job list` without --all: every unfinished job (accepted,
 * running) and the HM_JOBS_RECENT most recently ended ones (by updated
 * time, then id).  Note every job once (hm_job_recent_note), then ask
 * hm_job_recent_shown() of each.
 */
#define HM_JOBS_RECENT 20

struct hm_job_recent {
	size_t n;			/* in top[], the newest first */
	size_t finished;		/* ended jobs noted */
	struct {
		int64_t updated_ms;
		uint64_t id;
	} top[HM_JOBS_RECENT];
};

bool hm_job_state_finished(enum hm_job_state state);
void hm_job_recent_note(struct hm_job_recent *r, const struct hm_job *job);
bool hm_job_recent_shown(const struct hm_job_recent *r, const struct hm_job *job);
/* ended jobs that hm_job_recent_shown() leaves out */
size_t hm_job_recent_hidden(const struct hm_job_recent *r);

/* ---- dry placements: what a drain, an evacuation, a migration would do --- */

/*
 * Pure: the same placement (evacuate/placement.h) that the coordinator
 * runs, over a snapshot of the store, so that hamonctl can say beforehand
 * what would go where and what could not be placed, and why.  A dry plan
 * does not count migrations in flight on their destinations: it is a
 * forecast, not a promise.
 */
enum hm_dry_kind {
	HM_DRY_EVACUATE = 0,	/* the host's HA instances requested started are rebuilt
				 * elsewhere; local-disk ones are lost (recovery.c) */
	HM_DRY_DRAIN,		/* the host's running instances are migrated away */
	HM_DRY_MIGRATE,		/* one instance, away from its owner */
	HM_DRY_KIND_MAX
};

struct hm_dry_input {
	const struct hm_host *hosts;		/* every host; names are used */
	size_t n_hosts;
	const uint32_t *members;		/* the hamonds of the acting partition */
	size_t n_members;
	const struct hm_instance *const *instances;	/* every instance (the load) */
	size_t n_instances;
	/* the cluster policy (plain values: this header stays free of
	 * evacuate/, which the simulator does not include) */
	double cpu_overcommit;
	bool reserved_first;			/* reserved_hosts_order = first */
	bool affinity_soft;			/* anti_affinity = soft */
};

/*
 * The plan of moving instances away from host `from` (MIGRATE: the instance
 * `uuid` away from its owner; from is then ignored), onto `target` only
 * when it is not 0.  *ret (the caller puts it):
 *   {"kind", "host", "nodeid", "target"?, "instances": [{"name", "uuid",
 *    "vcpus", "memory_mib", "outcome": placed|pending|lost|stays,
 *    "to", "to_id", "reason"}], "placed", "pending", "lost", "stays"}
 * "to"/"to_id" are null unless placed; "reason" says why it is pending,
 * lost or stays (a note, or null, when placed).  0; -ENOENT: no such host
 * or instance; -EINVAL: a bad input (hm_place()'s); -ENOMEM.
 */
int hm_dry_plan(const struct hm_dry_input *in, enum hm_dry_kind kind, uint32_t from,
		const char *uuid, uint32_t target, json_object **ret);

/* the host whose evacuable instances (HA, requested started, not on a
 * local disk) take the most memory, then vCPUs, then the lowest id: the
 * one whose failure costs the most room; 0 when no host has any */
uint32_t hm_dry_largest_host(const struct hm_dry_input *in);

/* ---- fencing as the monitors see it -------------------------------------- */

/*
 * A host's protection from the periodic monitors (hosts[].fence_view: each
 * host's own last monitor of every device).  A device of `host` counts as
 * answering when at least one other host reported it and every other host
 * that reported it says ok: any of them may be the coordinator that has to
 * fence.  The host's own view does not count (it never fences itself).
 * An enum hm_fence_protection (fence_policy.h), or -EINVAL.
 */
int hm_status_fence_protection(uint32_t host, const struct hm_fence_device *devices,
			       size_t n_devices, const struct hm_host *hosts, size_t n_hosts);

/* what one host's last monitor (its fence_view JSON) said of device: 1
 * answered, 0 did not, -1 no report (none yet, or not understood) */
int hm_fence_view_reports(const char *fence_view, uint32_t device);

/*
 * The cluster part of `hamonctl status`: "hosts" (each with its state now
 * and its fence protection), "jobs" (the open ones) and "headroom" (could
 * the instances of the largest host be placed if it failed now; null when
 * no host has any).  0 or -ENOMEM.
 */
struct hm_status_cluster {
	const struct hm_membership *membership;
	const struct hm_fence_device *devices;
	size_t n_devices;
	const struct hm_job *open_jobs;		/* accepted or running */
	size_t n_open_jobs;
	const struct hm_dry_input *dry;		/* hosts, instances, policy */
};
int hm_status_add_cluster(json_object *status, const struct hm_status_cluster *c);

#endif
