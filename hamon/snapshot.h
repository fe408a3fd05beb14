/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every host and every instance of the store, copied: what a planner or a
 * status reads at once (the store's rows die with their callbacks).
 */
#ifndef HM_SNAPSHOT_H
#define HM_SNAPSHOT_H

#include "store.h"

#define HM_SNAP_UUID_LEN 37

struct hm_snap_instance {
	char uuid[HM_SNAP_UUID_LEN];
	char name[256];
	char affinity[65];
	struct hm_instance row;		/* strings point at uuid/name/affinity or NULL;
					 * no domain XML */
};

struct hm_snap_instances {
	struct hm_snap_instance *v;
	size_t n, cap;
	int rc;
};

struct hm_snap_hosts {
	struct hm_host *v;		/* name and fence_view kept; no other string */
	char (*names)[256];
	size_t n, cap;
	int rc;
};

/* fill an empty (zeroed) list: 0 or -errno; free it either way */
int hm_snap_instances_load(struct hm_store *s, struct hm_snap_instances *l);
void hm_snap_instances_free(struct hm_snap_instances *l);
int hm_snap_hosts_load(struct hm_store *s, struct hm_snap_hosts *l);
void hm_snap_hosts_free(struct hm_snap_hosts *l);

#endif
