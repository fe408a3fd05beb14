/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory: what this host's libvirt runs, published into the
 * replicated store.  A host's observations have exactly one writer, that
 * host; it republishes them after every sync (a rejoining store may have
 * missed them) and whenever libvirt reports a change.  While libvirt is
 * unreachable the host is published degraded, which makes its instances
 * unknown, never stopped.
 */
#define HM_SUBSYS "inventory"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "libvirt_host.h"
#include "log.h"
#include "policy.h"
#include "recovery.h"

/* removing a stale copy that takes longer is logged as unknown */
#define HM_INVENTORY_REMOVE_TIMEOUT_MS 60000u

struct inv_domain {
	char uuid[HM_LV_UUID_LEN + 1];
	char *payload;		/* instance-publish JSON; NULL once gone */
	bool dirty;
	bool gone;
	bool seen;		/* reported since libvirt (re)connected */
	bool removing;		/* a stale copy being removed: never published */
	bool alarmed;		/* owned elsewhere: said once */
};

struct hm_inventory {
	struct hm_daemon *d;
	struct hm_lv_host *lv;
	bool have_state;
	enum hm_lv_host_state state;
	struct hm_lv_host_info info;
	bool host_dirty;
	struct inv_domain *dom;
	size_t n_dom, cap_dom;
	struct hm_sync_epoch published_epoch;
	bool published_once;
	/* the store said this host was fenced when it joined with a new boot:
	 * every copy of an instance that now lives elsewhere goes first */
	bool fenced_back;
};

static const char *observed_of(enum hm_lv_dom_state s)
{
	switch (s) {
	case HM_LV_DOM_RUNNING: return "running";
	case HM_LV_DOM_PAUSED: return "paused";
	case HM_LV_DOM_SHUTOFF: return "shutoff";
	case HM_LV_DOM_CRASHED: return "crashed";
	default: return "unknown";
	}
}

static struct inv_domain *dom_find(struct hm_inventory *inv, const char *uuid, bool create)
{
	size_t i;
	void *p;

	for (i = 0; i < inv->n_dom; i++)
		if (!strcmp(inv->dom[i].uuid, uuid))
			return &inv->dom[i];
	if (!create)
		return NULL;
	if (inv->n_dom == inv->cap_dom) {
		inv->cap_dom = inv->cap_dom ? inv->cap_dom * 2 : 16;
		p = realloc(inv->dom, inv->cap_dom * sizeof(*inv->dom));
		if (!p)
			return NULL;
		inv->dom = p;
	}
	memset(&inv->dom[inv->n_dom], 0, sizeof(inv->dom[0]));
	snprintf(inv->dom[inv->n_dom].uuid, sizeof(inv->dom[0].uuid), "%s", uuid);
	return &inv->dom[inv->n_dom++];
}

/* ---- submitting ---- */

struct sent {
	struct hm_inventory *inv;
	char uuid[HM_LV_UUID_LEN + 1];	/* "" for the host */
	uint16_t op;
};

static void publish_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct sent *s = data;
	struct inv_domain *dm;

	(void)seq;
	if (rc == -ECONNRESET) {
		/* unknown: publish it again at the next chance (idempotent) */
		if (!s->uuid[0])
			s->inv->host_dirty = true;
		else if ((dm = dom_find(s->inv, s->uuid, false)) != NULL)
			dm->dirty = true;
	} else if (rc < 0) {
		hm_log_warn("%s %s refused: %s", hm_update_op_to_str(s->op),
			    s->uuid[0] ? s->uuid : "of this host", message);
	}
	free(s);
}

/* 0, or -EAGAIN: try again later (not acting, or a transient refusal) */
static int submit(struct hm_inventory *inv, uint16_t op, const char *uuid, const char *payload)
{
	struct sent *s = calloc(1, sizeof(*s));
	char err[256];
	int rc;

	if (!s)
		return -EAGAIN;
	s->inv = inv;
	s->op = op;
	snprintf(s->uuid, sizeof(s->uuid), "%s", uuid ? uuid : "");
	rc = hm_replica_submit(inv->d->replica, op, payload, publish_done, s, err, sizeof(err));
	if (rc == 0)
		return 0;
	free(s);
	if (rc == -EROFS || rc == -EAGAIN)
		return -EAGAIN;
	hm_log_warn("%s %s not published: %s", hm_update_op_to_str(op), uuid ? uuid : "of this host",
		    err);
	return 0;	/* invalid: retrying would not help */
}

static char *host_payload(struct hm_inventory *inv)
{
	struct hm_daemon *d = inv->d;
	json_object *o = json_object_new_object();
	char *text;

	if (!o)
		return NULL;
	json_object_object_add(o, "nodeid", json_object_new_int64(d->local_nodeid));
	json_object_object_add(o, "name", json_object_new_string(hm_nodelist_name(&d->nodelist,
									       d->local_nodeid)));
	json_object_object_add(o, "boot_id", json_object_new_string(d->boot_id));
	json_object_object_add(o, "libvirt", json_object_new_string(
		inv->state == HM_LV_CONNECTED ? "connected" : "unreachable"));
	json_object_object_add(o, "libvirt_uri", json_object_new_string(d->cfg.libvirt_uri));
	if (inv->state == HM_LV_CONNECTED && inv->info.uuid[0])
		json_object_object_add(o, "libvirt_uuid", json_object_new_string(inv->info.uuid));
	json_object_object_add(o, "vcpus", json_object_new_int64(inv->info.cpus));
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)inv->info.memory_mib));
	if (d->fence_view) {
		json_object *view = json_tokener_parse(d->fence_view);

		if (view)
			json_object_object_add(o, "fence_view", view);
	}
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}


/* fenced in the store, and this is a new boot: we were powered off */
static bool fenced_and_back(struct hm_daemon *d)
{
	struct hm_host *me = NULL;
	bool back;

	back = hm_store_host_get(d->store, d->local_nodeid, &me) == 0 &&
	       me->state == HM_HOST_FENCED && (!me->boot_id || strcmp(me->boot_id, d->boot_id));
	free(me);
	return back;
}

static void removed(void *data, enum hm_lv_outcome outcome, const char *message)
{
	struct sent *s = data;
	struct inv_domain *dm = dom_find(s->inv, s->uuid, false);

	if (outcome == HM_LV_DONE)
		hm_log_notice("stale copy of %s removed (%s): it lives elsewhere since our fence",
			      s->uuid, message);
	else
		hm_log_err("stale copy of %s not removed (%s): %s; it must not run here",
			   s->uuid, hm_lv_outcome_to_str(outcome), message);
	if (dm)
		dm->removing = false;
	free(s);
}

/*
 * Rejoin safety (recovery.h): a domain owned elsewhere is removed when we
 * come back from a fence, or alarmed about otherwise; either way it is not
 * published.  true: keep it out of the store.
 */
static bool stale(struct hm_inventory *inv, struct inv_domain *dm)
{
	struct hm_daemon *d = inv->d;
	struct sent *s;

	switch (hm_recovery_local_domain(d->store, d->local_nodeid, dm->uuid, inv->fenced_back)) {
	case HM_LOCAL_PUBLISH:
		return false;
	case HM_LOCAL_ALARM:
		if (!dm->alarmed)
			hm_log_crit("domain %s runs here but another node owns it: double run "
				    "suspected; not touched, not published", dm->uuid);
		dm->alarmed = true;
		return true;
	case HM_LOCAL_REMOVE:
		break;
	}
	if (dm->removing)
		return true;
	s = calloc(1, sizeof(*s));
	if (!s)
		return true;
	s->inv = inv;
	snprintf(s->uuid, sizeof(s->uuid), "%s", dm->uuid);
	if (hm_lv_host_remove_domain(inv->lv, dm->uuid, HM_INVENTORY_REMOVE_TIMEOUT_MS, removed,
				     s) == 0)
		dm->removing = true;
	else
		free(s);
	return true;
}

int hm_inventory_lookup_domain(struct hm_daemon *d, const char *uuid, uint64_t timeout_ms,
			       hm_lv_action_fn cb, void *data)
{
	if (!d->inventory)
		return -ENOTCONN;
	return hm_lv_host_lookup_domain(d->inventory->lv, uuid, timeout_ms, cb, data);
}

int hm_inventory_migrate_domain(struct hm_daemon *d, const char *uuid,
				const struct hm_lv_migrate_params *p, hm_lv_migrate_progress_fn progress,
				hm_lv_action_fn done, void *data)
{
	if (!d->inventory)
		return -ENOTCONN;
	return hm_lv_host_migrate_domain(d->inventory->lv, uuid, p, progress, done, data);
}

void hm_inventory_host_changed(struct hm_daemon *d)
{
	if (!d->inventory)
		return;
	d->inventory->host_dirty = true;
	hm_inventory_publish(d);
}

int hm_inventory_start_domain(struct hm_daemon *d, const char *uuid, const char *xml,
			      uint64_t timeout_ms, hm_lv_action_fn cb, void *data)
{
	if (!d->inventory)
		return -ENOTCONN;
	return hm_lv_host_start_domain(d->inventory->lv, uuid, xml, timeout_ms, cb, data);
}

/* Publish what is pending, if this partition acts; after every sync,
 * everything again. */
void hm_inventory_publish(struct hm_daemon *d)
{
	struct hm_inventory *inv = d->inventory;
	struct hm_sync_epoch e;
	char *payload, gone[64];
	size_t i, kept;

	if (!inv || !inv->have_state || !hm_membership_acting(d->membership))
		return;
	e = hm_membership_sync_epoch(d->membership);
	if (!inv->published_once || e.leader != inv->published_epoch.leader ||
	    e.counter != inv->published_epoch.counter) {
		inv->host_dirty = true;
		for (i = 0; i < inv->n_dom; i++)
			inv->dom[i].dirty = true;
		inv->published_epoch = e;
		inv->published_once = true;
		inv->fenced_back = fenced_and_back(d);
	}
	if (inv->host_dirty) {
		payload = host_payload(inv);
		if (payload && submit(inv, HM_OP_HOST_PUBLISH, NULL, payload) == 0)
			inv->host_dirty = false;
		free(payload);
	}
	/* while libvirt is unreachable there is nothing new to say of domains */
	if (inv->state != HM_LV_CONNECTED)
		return;
	for (i = 0, kept = 0; i < inv->n_dom; i++) {
		struct inv_domain *dm = &inv->dom[i];

		if (dm->dirty && dm->gone) {
			snprintf(gone, sizeof(gone), "{\"uuid\":\"%s\"}", dm->uuid);
			if (submit(inv, HM_OP_INSTANCE_GONE, dm->uuid, gone) == 0) {
				free(dm->payload);
				continue;	/* forgotten */
			}
		} else if (dm->dirty && dm->payload && !stale(inv, dm) &&
			   submit(inv, HM_OP_INSTANCE_PUBLISH, dm->uuid, dm->payload) == 0) {
			dm->dirty = false;
		}
		inv->dom[kept++] = *dm;
	}
	inv->n_dom = kept;
}

/* ---- what libvirt says (main loop thread) ---- */

static void on_host_state(void *data, enum hm_lv_host_state state, const struct hm_lv_host_info *info)
{
	struct hm_inventory *inv = data;

	if (!inv->have_state || inv->state != state) {
		if (state == HM_LV_CONNECTED)
			hm_log_notice("libvirt %s connected (host UUID %s, %u CPUs, %llu MiB)",
				      inv->d->cfg.libvirt_uri, info->uuid[0] ? info->uuid : "none",
				      info->cpus, (unsigned long long)info->memory_mib);
		else
			hm_log_warn("libvirt %s unreachable: %s; this host is degraded, its instances unknown",
				    inv->d->cfg.libvirt_uri, info->reason);
	}
	/* a (re)connection is followed by a full read: what it does not
	 * report is gone (checked when the read is done) */
	if (state == HM_LV_CONNECTED && (!inv->have_state || inv->state != HM_LV_CONNECTED))
		for (size_t i = 0; i < inv->n_dom; i++)
			inv->dom[i].seen = false;
	inv->have_state = true;
	inv->state = state;
	inv->info = *info;
	inv->host_dirty = true;
	hm_inventory_publish(inv->d);
}

static void on_domain(void *data, const struct hm_lv_domain *dom)
{
	struct hm_inventory *inv = data;
	struct inv_domain *dm = dom_find(inv, dom->uuid, true);
	json_object *o;

	if (!dm)
		return;
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "uuid", json_object_new_string(dom->uuid));
	json_object_object_add(o, "name", json_object_new_string(dom->name));
	json_object_object_add(o, "xml", json_object_new_string_len(dom->xml, (int)dom->xml_len));
	json_object_object_add(o, "vcpus", json_object_new_int64(dom->vcpus));
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)dom->memory_mib));
	json_object_object_add(o, "storage", json_object_new_string(hm_lv_storage_to_str(dom->ha.storage)));
	json_object_object_add(o, "ha_policy",
			       json_object_new_string(dom->ha.policy == HM_LV_POLICY_HA ? "ha" : "none"));
	json_object_object_add(o, "priority", json_object_new_int64(dom->ha.priority));
	if (dom->ha.anti_affinity[0])
		json_object_object_add(o, "affinity", json_object_new_string(dom->ha.anti_affinity));
	json_object_object_add(o, "observed", json_object_new_string(observed_of(dom->state)));
	if (dom->ha.error[0])
		hm_log_warn("domain %s: HA metadata refused (%s): not protected", dom->name, dom->ha.error);
	free(dm->payload);
	dm->payload = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	dm->gone = false;
	dm->seen = true;
	dm->dirty = true;
	hm_inventory_publish(inv->d);
}

static void on_domain_gone(void *data, const char *uuid)
{
	struct hm_inventory *inv = data;
	struct inv_domain *dm = dom_find(inv, uuid, true);

	if (!dm)
		return;
	dm->gone = true;
	dm->dirty = true;
	hm_inventory_publish(inv->d);
}

struct owned_ctx {
	struct hm_inventory *inv;
	size_t gone;
};

/* an instance the store says we own, that libvirt no longer has */
static int reconcile_one(const struct hm_instance *row, void *data)
{
	struct owned_ctx *x = data;
	struct inv_domain *dm;

	if (row->owner != x->inv->d->local_nodeid)
		return 0;
	dm = dom_find(x->inv, row->uuid, false);
	if (dm && dm->seen)
		return 0;
	dm = dom_find(x->inv, row->uuid, true);
	if (!dm)
		return 1;
	dm->gone = true;
	dm->dirty = true;
	x->gone++;
	return 0;
}

static void on_inventory_done(void *data)
{
	struct hm_inventory *inv = data;
	struct owned_ctx x = { .inv = inv };

	hm_store_instance_list(inv->d->store, reconcile_one, &x);
	hm_log_debug("libvirt inventory read: %zu domains, %zu owned ones gone", inv->n_dom, x.gone);
	if (x.gone)
		hm_inventory_publish(inv->d);
}

int hm_inventory_start(struct hm_daemon *d)
{
	static const struct hm_lv_host_callbacks cb = {
		.host_state = on_host_state,
		.domain = on_domain,
		.domain_gone = on_domain_gone,
		.inventory_done = on_inventory_done,
	};
	struct hm_policy_entry *e = NULL;
	const char *shared;
	int rc;

	d->inventory = calloc(1, sizeof(*d->inventory));
	if (!d->inventory)
		return -ENOMEM;
	d->inventory->d = d;
	/* the cluster policy says where shared storage is (read at start) */
	shared = hm_store_policy_get(d->store, "shared_storage_path", &e) == 0 ? e->value :
		 hm_policy_default("shared_storage_path");
	rc = hm_lv_host_new(d->loop, d->cfg.libvirt_uri, shared, &cb, d->inventory,
			    &d->inventory->lv);
	free(e);
	if (rc < 0) {
		free(d->inventory);
		d->inventory = NULL;
	}
	return rc;
}

void hm_inventory_stop(struct hm_daemon *d)
{
	size_t i;

	if (!d || !d->inventory)
		return;
	hm_lv_host_free(d->inventory->lv);
	for (i = 0; i < d->inventory->n_dom; i++)
		free(d->inventory->dom[i].payload);
	free(d->inventory->dom);
	free(d->inventory);
	d->inventory = NULL;
}
