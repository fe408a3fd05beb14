/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libquorum, model V1: notifications carry the ring id they belong to. */
#define HM_SUBSYS "quorum"
#include <errno.h>

#include "daemon.h"
#include "log.h"

static void quorum_notify(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring_id,
			  uint32_t n, const uint32_t *members)
{
	struct hm_daemon *d = NULL;
	struct hm_ring_id ring = { .nodeid = ring_id.nodeid, .seq = ring_id.seq };

	quorum_context_get(h, (const void **)&d);
	hm_log_info("quorum notification: %s, ring %x.%llx, %u members",
		    quorate ? "quorate" : "not quorate", ring.nodeid,
		    (unsigned long long)ring.seq, n);
	hm_membership_quorum_change(d->membership, quorate != 0, &ring, members, n);
	hm_jobs_kick(d->jobs);
}

static quorum_model_v1_data_t quorum_model = {
	.model = QUORUM_MODEL_V1,
	.quorum_notify_fn = quorum_notify,
};

static int quorum_service_init(void *ctx, int *ret_fd)
{
	struct hm_daemon *d = ctx;
	uint32_t type = 0;
	cs_error_t err;

	err = quorum_model_initialize(&d->quorum, QUORUM_MODEL_V1,
				      (quorum_model_data_t *)&quorum_model, &type, d);
	if (err != CS_OK)
		return err == CS_ERR_ACCESS ? -EACCES : -ENOTCONN;
	if (type != QUORUM_SET) {
		hm_log_err("corosync has no quorum provider: configure corosync_votequorum");
		return -ENOPROTOOPT;
	}
	err = quorum_trackstart(d->quorum, CS_TRACK_CURRENT | CS_TRACK_CHANGES);
	if (err != CS_OK)
		return -ENOTCONN;
	err = quorum_fd_get(d->quorum, ret_fd);
	return err == CS_OK ? 0 : -ENOTCONN;
}

static int quorum_service_dispatch(void *ctx)
{
	struct hm_daemon *d = ctx;
	cs_error_t err = quorum_dispatch(d->quorum, CS_DISPATCH_ALL);

	return err == CS_OK || err == CS_ERR_TRY_AGAIN ? 0 : -ENOTCONN;
}

static void quorum_service_finalize(void *ctx)
{
	struct hm_daemon *d = ctx;

	if (!d->quorum)
		return;
	quorum_finalize(d->quorum);
	d->quorum = 0;
}

struct hm_cs_service hm_quorum_service = {
	.name = "quorum",
	.init = quorum_service_init,
	.dispatch = quorum_service_dispatch,
	.finalize = quorum_service_finalize,
};
