/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What `hamonctl status` shows, built as JSON from the membership module
 * and the corosync nodelist.  Pure: no I/O.
 */
#ifndef HM_STATUS_H
#define HM_STATUS_H

#include <json-c/json.h>
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

#endif
