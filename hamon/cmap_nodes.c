/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmap: the cluster name and the nodelist (node id -> name).  A host's
 * identity is its corosync node id and nodelist name, never gethostname(). */
#define HM_SUBSYS "cmap"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

/*
 * The votes a hamond group needs to act: corosync's own threshold, each node
 * one vote (expected votes from quorum.expected_votes or the nodelist;
 * two_node makes one vote enough, the fence race settles the rest).
 */
static uint32_t votes_needed(cmap_handle_t cmap, uint32_t n_nodes)
{
	uint32_t expected = n_nodes;
	uint8_t two_node = 0;

	if (cmap_get_uint32(cmap, "quorum.expected_votes", &expected) != CS_OK)
		expected = n_nodes;
	if (cmap_get_uint8(cmap, "quorum.two_node", &two_node) == CS_OK && two_node)
		return 1;
	return expected / 2 + 1;
}

int hm_cmap_read_nodes(struct hm_daemon *d)
{
	struct hm_nodelist nl = { 0 };
	char key[CMAP_KEYNAME_MAXLEN], *val = NULL;
	uint32_t nodeid;
	unsigned i;

	if (!d->cmap)
		return -ENOTCONN;
	for (i = 0; i < HM_MAX_NODES; i++) {
		snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
		if (cmap_get_uint32(d->cmap, key, &nodeid) != CS_OK)
			break;
		/* the name, else the first ring address, as pacemaker does */
		snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
		if (cmap_get_string(d->cmap, key, &val) != CS_OK) {
			snprintf(key, sizeof(key), "nodelist.node.%u.ring0_addr", i);
			if (cmap_get_string(d->cmap, key, &val) != CS_OK)
				val = NULL;
		}
		if (hm_nodelist_set(&nl, nodeid, val ? val : "") < 0)
			hm_log_warn("node id %u: name too long or invalid, ignored", nodeid);
		free(val);
		val = NULL;
	}
	d->votes_needed = votes_needed(d->cmap, (uint32_t)nl.n);
	if (cmap_get_string(d->cmap, "totem.cluster_name", &val) == CS_OK) {
		snprintf(d->cluster_name, sizeof(d->cluster_name), "%s", val);
		free(val);
	}
	if (nl.n == 0)
		return -ENOENT;
	d->nodelist = nl;
	return 0;
}

static int cmap_service_init(void *ctx, int *ret_fd)
{
	struct hm_daemon *d = ctx;
	cs_error_t err;

	err = cmap_initialize(&d->cmap);
	if (err != CS_OK)
		return err == CS_ERR_ACCESS ? -EACCES : -ENOTCONN;
	if (hm_cmap_read_nodes(d) < 0)
		hm_log_warn("corosync has no nodelist: nodes will have no names");
	err = cmap_fd_get(d->cmap, ret_fd);
	return err == CS_OK ? 0 : -ENOTCONN;
}

/* nothing is tracked; readable only when the connection is gone */
static int cmap_service_dispatch(void *ctx)
{
	struct hm_daemon *d = ctx;
	cs_error_t err = cmap_dispatch(d->cmap, CS_DISPATCH_ALL);

	return err == CS_OK || err == CS_ERR_TRY_AGAIN ? 0 : -ENOTCONN;
}

static void cmap_service_finalize(void *ctx)
{
	struct hm_daemon *d = ctx;

	if (!d->cmap)
		return;
	cmap_finalize(d->cmap);
	d->cmap = 0;
}

struct hm_cs_service hm_cmap_service = {
	.name = "cmap",
	.init = cmap_service_init,
	.dispatch = cmap_service_dispatch,
	.finalize = cmap_service_finalize,
};
