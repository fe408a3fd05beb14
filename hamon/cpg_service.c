/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CPG: join the hamond group; feed totem and group changes and messages to
 * the membership module. */
#define HM_SUBSYS "cpg"
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static struct hm_daemon *cpg_daemon(cpg_handle_t h)
{
	void *ctx = NULL;

	cpg_context_get(h, &ctx);
	return ctx;
}

static void ids_of(const struct cpg_address *a, size_t n, uint32_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = a[i].nodeid;
}

static void cpg_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
			uint32_t pid, void *msg, size_t msg_len)
{
	struct hm_daemon *d = cpg_daemon(h);
	int rc;

	(void)group;
	rc = hm_replica_deliver(d->replica, nodeid, msg, msg_len);
	if (rc < 0)
		hm_log_warn("refused a %zu-byte message from node %u (pid %u): %s",
			    msg_len, nodeid, pid, strerror(-rc));
}

static void cpg_confchg(cpg_handle_t h, const struct cpg_name *group,
			const struct cpg_address *members, size_t n_members,
			const struct cpg_address *left, size_t n_left,
			const struct cpg_address *joined, size_t n_joined)
{
	struct hm_daemon *d = cpg_daemon(h);
	uint32_t m[HM_MAX_NODES], l[HM_MAX_NODES], j[HM_MAX_NODES];

	(void)group;
	if (n_members > HM_MAX_NODES || n_left > HM_MAX_NODES || n_joined > HM_MAX_NODES) {
		hm_log_err("group change with more than %d processes ignored", HM_MAX_NODES);
		return;
	}
	ids_of(members, n_members, m);
	ids_of(left, n_left, l);
	ids_of(joined, n_joined, j);
	hm_log_info("group change: %zu hamonds, %zu left, %zu joined", n_members, n_left, n_joined);
	hm_membership_group_change(d->membership, m, n_members, l, n_left, j, n_joined);
}

static void cpg_totem(cpg_handle_t h, struct cpg_ring_id ring_id, uint32_t n,
		      const uint32_t *members)
{
	struct hm_daemon *d = cpg_daemon(h);
	struct hm_ring_id ring = { .nodeid = ring_id.nodeid, .seq = ring_id.seq };

	hm_log_info("totem ring %x.%llx with %u corosync members", ring.nodeid,
		    (unsigned long long)ring.seq, n);
	/* a configuration change may come with a new nodelist (corosync -R) */
	if (hm_cmap_read_nodes(d) < 0)
		hm_log_debug("nodelist not re-read; keeping the previous names");
	hm_membership_set_votes_needed(d->membership, d->votes_needed);
	hm_membership_totem_change(d->membership, &ring, members, n);
}

static cpg_model_v1_data_t cpg_model = {
	.model = CPG_MODEL_V1,
	.cpg_deliver_fn = cpg_deliver,
	.cpg_confchg_fn = cpg_confchg,
	.cpg_totem_confchg_fn = cpg_totem,
	.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
};

static int cs_to_errno(cs_error_t err)
{
	switch (err) {
	case CS_OK: return 0;
	case CS_ERR_TRY_AGAIN: return -EAGAIN;
	case CS_ERR_ACCESS: return -EACCES;
	case CS_ERR_NO_MEMORY: return -ENOMEM;
	case CS_ERR_EXIST: return -EEXIST;
	default: return -ENOTCONN;
	}
}

static int cpg_service_init(void *ctx, int *ret_fd)
{
	struct hm_daemon *d = ctx;
	struct cpg_name name;
	cs_error_t err;
	size_t len = strlen(d->cfg.cpg_group);

	err = cpg_model_initialize(&d->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&cpg_model, d);
	if (err != CS_OK)
		return cs_to_errno(err);
	err = cpg_local_get(d->cpg, &d->local_nodeid);
	if (err != CS_OK)
		return cs_to_errno(err);
	memset(&name, 0, sizeof(name));
	memcpy(name.value, d->cfg.cpg_group, len);
	name.length = (uint32_t)len;
	/* corosync may ask us to try again while it syncs */
	do {
		err = cpg_join(d->cpg, &name);
	} while (err == CS_ERR_TRY_AGAIN);
	if (err != CS_OK)
		return cs_to_errno(err);
	d->cpg_joined = true;
	err = cpg_fd_get(d->cpg, ret_fd);
	return cs_to_errno(err);
}

static int cpg_service_dispatch(void *ctx)
{
	struct hm_daemon *d = ctx;
	cs_error_t err = cpg_dispatch(d->cpg, CS_DISPATCH_ALL);

	/* one transaction, one fsync, one ACK for everything just delivered */
	hm_replica_flush(d->replica);
	/* a sync may have just ended: this host republishes what it sees */
	hm_inventory_publish(d);
	/* and jobs may have moved: the coordinator plans, members run steps */
	hm_jobs_kick(d->jobs);
	return err == CS_OK || err == CS_ERR_TRY_AGAIN ? 0 : cs_to_errno(err);
}

static void cpg_service_finalize(void *ctx)
{
	struct hm_daemon *d = ctx;

	if (!d->cpg)
		return;
	d->cpg_joined = false;
	cpg_finalize(d->cpg);
	d->cpg = 0;
}

struct hm_cs_service hm_cpg_service = {
	.name = "cpg",
	.init = cpg_service_init,
	.dispatch = cpg_service_dispatch,
	.finalize = cpg_service_finalize,
};
