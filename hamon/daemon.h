/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamond's state: one instance, owned by main(), touched only from the
 * qb_loop thread.
 */
#ifndef HM_DAEMON_H
#define HM_DAEMON_H

#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <qb/qbipcs.h>
#include <qb/qbloop.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "cs_service.h"
#include "jobs.h"
#include "libvirt_host.h"
#include "membership.h"
#include "replica.h"
#include "seam.h"
#include "status.h"

#define HM_BOOT_ID_MAX 128
#define HM_CLUSTER_NAME_MAX 256
#define HM_CS_RETRY_MS 1000	/* reconnect to corosync this often */

struct hm_daemon {
	struct hm_config cfg;
	const char *config_path;
	qb_loop_t *loop;
	struct hm_seam seam;
	struct hm_membership *membership;
	struct hm_store *store;
	struct hm_replica *replica;
	struct hm_inventory *inventory;
	struct hm_jobs *jobs;
	struct hm_fence_monitor *fence_monitor;
	char *fence_view;		/* JSON: this node's last monitor of every device */
	qb_loop_timer_handle rejoin_timer;

	/* corosync */
	struct hm_cs_set cs;
	cpg_handle_t cpg;
	bool cpg_joined;
	quorum_handle_t quorum;
	cmap_handle_t cmap;
	uint32_t local_nodeid;
	struct hm_nodelist nodelist;
	char cluster_name[HM_CLUSTER_NAME_MAX];
	uint32_t votes_needed;		/* hamonds needed to act, from cmap */

	/* IPC */
	qb_ipcs_service_t *ipcs;
	gid_t read_gid;
	bool have_read_gid;

	char boot_id[HM_BOOT_ID_MAX];
	uint64_t started_ms;
	int pid_fd;
};

/* daemon_seam.c: the real seam over qb_loop, CPG and qb_log */
void hm_daemon_seam_init(struct hm_daemon *d);
uint64_t hm_daemon_now_ms(void);

/* cpg_service.c, quorum_service.c, cmap_nodes.c */
extern struct hm_cs_service hm_cmap_service;
extern struct hm_cs_service hm_quorum_service;
extern struct hm_cs_service hm_cpg_service;
/* re-read the nodelist and cluster name through the open cmap handle */
int hm_cmap_read_nodes(struct hm_daemon *d);

/* hamond.c: apply a log level to every log target */
void hm_daemon_set_log_level(struct hm_daemon *d, int level);

/* inventory.c: this host's libvirt, published into the replicated store */
int hm_inventory_start(struct hm_daemon *d);
void hm_inventory_stop(struct hm_daemon *d);
/* publish what changed (and everything after a sync) while acting */
void hm_inventory_publish(struct hm_daemon *d);
/* start a domain on this host's libvirt (libvirt_host.h's action) */
int hm_inventory_start_domain(struct hm_daemon *d, const char *uuid, const char *xml,
			      uint64_t timeout_ms, hm_lv_action_fn cb, void *data);
int hm_inventory_lookup_domain(struct hm_daemon *d, const char *uuid, uint64_t timeout_ms,
			       hm_lv_action_fn cb, void *data);
int hm_inventory_migrate_domain(struct hm_daemon *d, const char *uuid,
				const struct hm_lv_migrate_params *p, hm_lv_migrate_progress_fn progress,
				hm_lv_action_fn done, void *data);
/* steps.c: run a job step named for this node (the seam's step_run) */
int hm_steps_run(struct hm_daemon *d, const struct hm_step_order *o);
/* fence_steps.c: a fence step, through fencing/; the periodic monitor of
 * every fence device from this node, published as our fence_view */
int hm_steps_fence(struct hm_daemon *d, const struct hm_step_order *o);
int hm_fence_monitor_start(struct hm_daemon *d);
/* `hamonctl fence test`: status of host's devices (or of the one device
 * when not 0) from this node, one after another; done gets
 * [{"id", "level", "agent", "ok", "power": on|off|null, "ms", "reason"}].
 * 0, -ENODEV (no such device), -ENOMEM */
typedef void (*hm_fence_test_fn)(json_object *results, void *data);
int hm_fence_test_start(struct hm_daemon *d, uint32_t host, uint32_t device,
			hm_fence_test_fn done, void *data);
void hm_fence_monitor_stop(struct hm_daemon *d);
/* this host's own observations changed (inventory.c republishes them) */
void hm_inventory_host_changed(struct hm_daemon *d);

/* stall.c: leave the cluster if the main loop stalls (stall_timeout) */
int hm_stall_start(struct hm_daemon *d);
void hm_stall_stop(void);
void hm_stall_failpoint_install(struct hm_daemon *d);

/* ipc_server.c */
int hm_ipc_server_start(struct hm_daemon *d);
void hm_ipc_server_stop(struct hm_daemon *d);

#endif
