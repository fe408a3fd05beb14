/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fence_policy.h"
#include "placement.h"
#include "status.h"

const char *hm_nodelist_name(const struct hm_nodelist *nl, uint32_t nodeid)
{
	size_t i;

	if (!nl)
		return "";
	for (i = 0; i < nl->n; i++)
		if (nl->nodes[i].nodeid == nodeid)
			return nl->nodes[i].name;
	return "";
}

int hm_nodelist_set(struct hm_nodelist *nl, uint32_t nodeid, const char *name)
{
	size_t i;

	if (nodeid == 0 || !name || strlen(name) >= HM_NODE_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < nl->n; i++)
		if (nl->nodes[i].nodeid == nodeid)
			break;
	if (i == HM_MAX_NODES)
		return -ENOSPC;
	nl->nodes[i].nodeid = nodeid;
	strcpy(nl->nodes[i].name, name);
	if (i == nl->n)
		nl->n++;
	return 0;
}

const char *hm_host_state_now(const struct hm_membership *m, uint32_t nodeid,
			      enum hm_host_state published)
{
	const uint32_t *members;
	size_t n, i;

	if (published == HM_HOST_LOST || published == HM_HOST_FENCED)
		return hm_host_state_to_str(published);
	n = hm_membership_totem_members(m, &members);
	for (i = 0; i < n && members[i] != nodeid; i++)
		;
	if (i == n)
		return "offline";
	if (!hm_membership_in_group(m, nodeid))
		return "unmanaged";
	return hm_host_state_to_str(published);
}

void hm_ring_id_format(const struct hm_ring_id *ring, char *buf, size_t len)
{
	snprintf(buf, len, "%x.%llx", ring->nodeid, (unsigned long long)ring->seq);
}

/* json-c takes ownership of what it adds; one failed add fails the whole */
static int add(json_object *obj, const char *key, json_object *val)
{
	if (!val && key)
		return -ENOMEM;
	return json_object_object_add(obj, key, val) == 0 ? 0 : -ENOMEM;
}

static json_object *node_ref(const struct hm_nodelist *nl, uint32_t nodeid)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add(o, "nodeid", json_object_new_int64(nodeid)) < 0 ||
	    add(o, "name", json_object_new_string(hm_nodelist_name(nl, nodeid))) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *members_to_json(const struct hm_status_info *info)
{
	const struct hm_membership *m = info->membership;
	json_object *arr = json_object_new_array(), *o;
	const uint32_t *ids;
	size_t n, i;

	if (!arr)
		return NULL;
	n = hm_membership_totem_members(m, &ids);
	for (i = 0; i < n; i++) {
		o = node_ref(info->nodelist, ids[i]);
		if (!o || add(o, "hamond", json_object_new_boolean(hm_membership_in_group(m, ids[i]))) < 0 ||
		    json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

int hm_status_add_replica(json_object *status, const struct hm_replica_status *rs,
			  const struct hm_nodelist *nl, uint64_t policy_version)
{
	json_object *o = json_object_new_object(), *differs = json_object_new_array();
	int rc = 0;
	size_t i;

	if (!o || !differs) {
		json_object_put(o);
		json_object_put(differs);
		return -ENOMEM;
	}
	for (i = 0; i < rs->n_differs && rc == 0; i++) {
		json_object *ref = node_ref(nl, rs->differs[i]);

		if (!ref || json_object_array_add(differs, ref) != 0) {
			json_object_put(ref);
			rc = -ENOMEM;
		}
	}
	rc |= add(o, "applied_seq", json_object_new_int64((int64_t)rs->applied_seq));
	rc |= add(o, "policy_version", json_object_new_int64((int64_t)policy_version));
	rc |= add(o, "checkpoint", json_object_new_int64((int64_t)rs->checkpoint));
	rc |= add(o, "checkpoint_seq", json_object_new_int64((int64_t)rs->checkpoint_seq));
	rc |= add(o, "digests", json_object_new_int64((int64_t)rs->n_digests));
	rc |= add(o, "agree", json_object_new_boolean(rs->agree));
	rc |= add(o, "differs", differs);
	rc |= add(o, "pending", json_object_new_int64((int64_t)rs->pending));
	if (rc == 0)
		rc = add(status, "replica", o);
	else
		json_object_put(o);
	return rc ? -ENOMEM : 0;
}

json_object *hm_status_to_json(const struct hm_status_info *info)
{
	const struct hm_membership *m = info->membership;
	json_object *st = json_object_new_object();
	struct hm_ring_id ring;
	char ringbuf[64];
	uint32_t local = hm_membership_local_nodeid(m);
	uint32_t coord = hm_membership_coordinator(m);
	int rc = 0;

	if (!st)
		return NULL;
	rc |= add(st, "version", json_object_new_string(info->version ? info->version : ""));
	rc |= add(st, "cluster_name", json_object_new_string(info->cluster_name ? info->cluster_name : ""));
	rc |= add(st, "local", node_ref(info->nodelist, local));
	rc |= add(st, "corosync", json_object_new_string(hm_membership_is_connected(m) ?
							 "connected" : "disconnected"));
	rc |= add(st, "quorum", json_object_new_string(hm_quorum_to_str(hm_membership_quorum(m))));
	if (hm_membership_have_ring(m, &ring)) {
		hm_ring_id_format(&ring, ringbuf, sizeof(ringbuf));
		rc |= add(st, "ring_id", json_object_new_string(ringbuf));
	} else {
		rc |= json_object_object_add(st, "ring_id", NULL);
	}
	rc |= add(st, "synced", json_object_new_boolean(hm_membership_synced(m)));
	rc |= add(st, "acting", json_object_new_boolean(hm_membership_acting(m)));
	rc |= add(st, "hamonds_needed", json_object_new_int64((int64_t)hm_membership_votes_needed(m)));
	rc |= add(st, "members", members_to_json(info));
	if (coord)
		rc |= add(st, "coordinator", node_ref(info->nodelist, coord));
	else
		rc |= json_object_object_add(st, "coordinator", NULL);
	rc |= add(st, "uptime_s", json_object_new_int64((int64_t)info->uptime_s));
	rc |= add(st, "boot_id", json_object_new_string(info->boot_id ? info->boot_id : ""));
	rc |= add(st, "pid", json_object_new_int64(info->pid));
	if (rc) {
		json_object_put(st);
		return NULL;
	}
	return st;
}

/* ---- pages of a paged reply ---- */

int hm_page_init(struct hm_page *p, size_t max_rows, size_t max_bytes)
{
	*p = (struct hm_page){ .max_rows = max_rows ? max_rows : 1, .max_bytes = max_bytes };
	p->rows = json_object_new_array();
	return p->rows ? 0 : -ENOMEM;
}

int hm_page_add(struct hm_page *p, json_object *row, json_object *cursor)
{
	const char *text;
	size_t len;

	if (!row || !cursor)
		goto nomem;
	if (p->full)
		goto full;
	text = json_object_to_json_string_ext(row, JSON_C_TO_STRING_PLAIN);
	if (!text)
		goto nomem;
	len = strlen(text) + 1;		/* and its comma */
	if (p->count > 0 && (p->count >= p->max_rows || p->bytes + len > p->max_bytes)) {
		p->full = true;
		goto full;
	}
	if (json_object_array_add(p->rows, row) != 0)
		goto nomem;
	p->count++;
	p->bytes += len;
	json_object_put(p->next);
	p->next = cursor;
	return 0;
full:
	json_object_put(row);
	json_object_put(cursor);
	return 1;
nomem:
	json_object_put(row);
	json_object_put(cursor);
	return -ENOMEM;
}

int hm_page_finish(struct hm_page *p, json_object *reply, const char *key)
{
	int rc = 0;

	if (json_object_object_add(reply, key, p->rows) != 0) {
		json_object_put(p->rows);
		rc = -ENOMEM;
	}
	p->rows = NULL;
	if (p->full && rc == 0) {
		if (json_object_object_add(reply, "next", p->next) != 0) {
			json_object_put(p->next);
			rc = -ENOMEM;
		}
		p->next = NULL;
	}
	hm_page_free(p);
	return rc;
}

void hm_page_free(struct hm_page *p)
{
	json_object_put(p->rows);
	json_object_put(p->next);
	p->rows = NULL;
	p->next = NULL;
}

/* ---- which jobs `job list` shows ---- */

bool hm_job_state_finished(enum hm_job_state state)
{
	return state == HM_JOB_DONE || state == HM_JOB_FAILED || state == HM_JOB_CANCELLED;
}

/* a ended after b: later update, then higher id */
static bool newer(int64_t a_ms, uint64_t a_id, int64_t b_ms, uint64_t b_id)
{
	return a_ms != b_ms ? a_ms > b_ms : a_id > b_id;
}

void hm_job_recent_note(struct hm_job_recent *r, const struct hm_job *job)
{
	size_t i;

	if (!hm_job_state_finished(job->state))
		return;
	r->finished++;
	/* where it goes among the newest, or nowhere */
	for (i = 0; i < r->n && !newer(job->updated_ms, job->id, r->top[i].updated_ms, r->top[i].id); i++)
		;
	if (i == HM_JOBS_RECENT)
		return;
	if (r->n < HM_JOBS_RECENT)
		r->n++;
	memmove(&r->top[i + 1], &r->top[i], (r->n - 1 - i) * sizeof(r->top[0]));
	r->top[i].updated_ms = job->updated_ms;
	r->top[i].id = job->id;
}

bool hm_job_recent_shown(const struct hm_job_recent *r, const struct hm_job *job)
{
	size_t i;

	if (!hm_job_state_finished(job->state))
		return true;
	for (i = 0; i < r->n; i++)
		if (r->top[i].id == job->id)
			return true;
	return false;
}

size_t hm_job_recent_hidden(const struct hm_job_recent *r)
{
	return r->finished - r->n;
}

/* ---- dry placements ---- */

static const char *const dry_kind_names[HM_DRY_KIND_MAX] = { "evacuate", "drain", "migrate" };

static const struct hm_host *dry_host(const struct hm_dry_input *in, uint32_t nodeid)
{
	size_t i;

	for (i = 0; i < in->n_hosts; i++)
		if (in->hosts[i].nodeid == nodeid)
			return &in->hosts[i];
	return NULL;
}

static bool evacuable(const struct hm_instance *inst)
{
	return inst->ha_policy == HM_HA_POLICY_HA && inst->requested == HM_REQUESTED_STARTED;
}

/*
 * What becomes of inst in a plan of kind: NULL, it is to be placed; else
 * the outcome ("lost", "stays") and in *why the reason.
 */
static const char *dry_fate(enum hm_dry_kind kind, const struct hm_instance *inst,
			    const char **why)
{
	if (kind == HM_DRY_EVACUATE) {
		if (inst->ha_policy != HM_HA_POLICY_HA) {
			*why = "not HA (ha_policy none): not rebuilt";
			return "stays";
		}
		if (inst->requested != HM_REQUESTED_STARTED) {
			*why = "requested stopped: not rebuilt";
			return "stays";
		}
		if (inst->storage == HM_STORAGE_LOCAL) {
			*why = "local disk: recorded lost, never started from a stale copy";
			return "lost";
		}
		return NULL;
	}
	if (kind == HM_DRY_DRAIN && inst->observed != HM_OBSERVED_RUNNING &&
	    inst->observed != HM_OBSERVED_PAUSED) {
		*why = "not running: a drain leaves it defined where it is";
		return "stays";
	}
	return NULL;
}

static int jadd(json_object *o, const char *key, json_object *v, bool may_be_null)
{
	if (!v && !may_be_null)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static json_object *opt_string(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/* one row of the plan */
static json_object *dry_row(const struct hm_dry_input *in, const struct hm_instance *inst,
			    const char *outcome, uint32_t to, const char *reason)
{
	const struct hm_host *h = to ? dry_host(in, to) : NULL;
	json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= jadd(o, "name", json_object_new_string(inst->name), false);
	rc |= jadd(o, "uuid", json_object_new_string(inst->uuid), false);
	rc |= jadd(o, "vcpus", json_object_new_int64(inst->vcpus), false);
	rc |= jadd(o, "memory_mib", json_object_new_int64((int64_t)inst->memory_mib), false);
	rc |= jadd(o, "outcome", json_object_new_string(outcome), false);
	rc |= jadd(o, "to", h ? json_object_new_string(h->name) : NULL, !h);
	rc |= jadd(o, "to_id", to ? json_object_new_int64(to) : NULL, !to);
	rc |= jadd(o, "reason", opt_string(reason), !reason || !*reason);
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int hm_dry_plan(const struct hm_dry_input *in, enum hm_dry_kind kind, uint32_t from,
		const char *uuid, uint32_t target, json_object **ret)
{
	const struct hm_instance *const *insts = in->instances;
	struct hm_place_request *want = NULL;
	struct hm_place_result *res = NULL;
	const struct hm_host *src, *dst = NULL;
	json_object *plan = NULL, *rows = NULL, *row;
	size_t i, n_want = 0, counts[4] = { 0 };	/* placed, pending, lost, stays */
	const char *fate, *why;
	int rc = -ENOMEM;

	*ret = NULL;
	if ((unsigned)kind >= HM_DRY_KIND_MAX || (in->n_instances && !insts))
		return -EINVAL;
	if (kind == HM_DRY_MIGRATE) {
		if (!uuid)
			return -EINVAL;
		for (i = 0; i < in->n_instances && strcmp(insts[i]->uuid, uuid); i++)
			;
		if (i == in->n_instances)
			return -ENOENT;
		from = insts[i]->owner;
	}
	src = dry_host(in, from);
	if (kind != HM_DRY_MIGRATE && !src)
		return -ENOENT;
	if (target && !(dst = dry_host(in, target)))
		return -ENOENT;
	want = calloc(in->n_instances + 1, sizeof(*want));
	res = calloc(in->n_instances + 1, sizeof(*res));
	plan = json_object_new_object();
	rows = json_object_new_array();
	if (!want || !res || !plan || !rows)
		goto out;
	for (i = 0; i < in->n_instances; i++) {
		const struct hm_instance *inst = insts[i];

		if (kind == HM_DRY_MIGRATE ? strcmp(inst->uuid, uuid) : inst->owner != from)
			continue;
		want[n_want++] = (struct hm_place_request){ .instance = inst };
	}
	{
		struct hm_place_request *place = calloc(n_want + 1, sizeof(*place));
		size_t n_place = 0, k;
		struct hm_place_input pin = {
			.hosts = in->hosts, .n_hosts = in->n_hosts,
			.members = in->members, .n_members = in->n_members,
			.load = in->instances, .n_load = in->n_instances,
			.cpu_overcommit = in->cpu_overcommit,
			.reserved_order = in->reserved_first ? HM_PLACE_RESERVED_FIRST :
							       HM_PLACE_RESERVED_LAST,
			.affinity = in->affinity_soft ? HM_PLACE_AFFINITY_SOFT :
							HM_PLACE_AFFINITY_STRICT,
			.exclude_hosts = from ? &from : NULL,
			.n_exclude_hosts = from ? 1 : 0,
			.target = target,
		};

		if (!place)
			goto out;
		for (i = 0; i < n_want; i++)
			if (!dry_fate(kind, want[i].instance, &why))
				place[n_place++] = want[i];
		pin.want = place;
		pin.n_want = n_place;
		rc = n_place ? hm_place(&pin, res, NULL) : 0;
		if (rc < 0) {
			free(place);
			goto out;
		}
		rc = -ENOMEM;
		/* the rows in the order of the instances given; res follows place */
		for (i = 0, k = 0; i < n_want; i++) {
			const struct hm_instance *inst = want[i].instance;

			fate = dry_fate(kind, inst, &why);
			if (fate) {
				row = dry_row(in, inst, fate, 0, why);
				counts[fate[0] == 'l' ? 2 : 3]++;
			} else {
				row = dry_row(in, inst, res[k].target ? "placed" : "pending",
					      res[k].target, res[k].reason);
				counts[res[k].target ? 0 : 1]++;
				k++;
			}
			if (!row || json_object_array_add(rows, row) != 0) {
				json_object_put(row);
				free(place);
				goto out;
			}
		}
		free(place);
	}
	rc = 0;
	rc |= jadd(plan, "kind", json_object_new_string(dry_kind_names[kind]), false);
	rc |= jadd(plan, "host", src ? json_object_new_string(src->name) : NULL, !src);
	rc |= jadd(plan, "nodeid", from ? json_object_new_int64(from) : NULL, !from);
	if (dst)
		rc |= jadd(plan, "target", json_object_new_string(dst->name), false);
	rc |= jadd(plan, "instances", rows, false);
	rows = NULL;
	rc |= jadd(plan, "placed", json_object_new_int64((int64_t)counts[0]), false);
	rc |= jadd(plan, "pending", json_object_new_int64((int64_t)counts[1]), false);
	rc |= jadd(plan, "lost", json_object_new_int64((int64_t)counts[2]), false);
	rc |= jadd(plan, "stays", json_object_new_int64((int64_t)counts[3]), false);
	if (rc)
		rc = -ENOMEM;
out:
	free(want);
	free(res);
	json_object_put(rows);
	if (rc < 0)
		json_object_put(plan);
	else
		*ret = plan;
	return rc;
}

uint32_t hm_dry_largest_host(const struct hm_dry_input *in)
{
	uint64_t *mem = calloc(in->n_hosts + 1, sizeof(*mem)), *cpu = calloc(in->n_hosts + 1, sizeof(*cpu));
	uint32_t best = 0;
	size_t i, h, b = 0;

	if (!mem || !cpu)
		goto out;
	for (i = 0; i < in->n_instances; i++) {
		const struct hm_instance *inst = in->instances[i];

		if (!evacuable(inst) || inst->storage == HM_STORAGE_LOCAL)
			continue;
		for (h = 0; h < in->n_hosts && in->hosts[h].nodeid != inst->owner; h++)
			;
		if (h == in->n_hosts)
			continue;
		mem[h] += inst->memory_mib;
		cpu[h] += inst->vcpus;
	}
	for (h = 0; h < in->n_hosts; h++) {
		if (!mem[h] && !cpu[h])
			continue;
		if (best && (mem[h] < mem[b] || (mem[h] == mem[b] && (cpu[h] < cpu[b] ||
		    (cpu[h] == cpu[b] && in->hosts[h].nodeid > best)))))
			continue;
		best = in->hosts[h].nodeid;
		b = h;
	}
out:
	free(mem);
	free(cpu);
	return best;
}

/* ---- fencing as the monitors see it ---- */

int hm_fence_view_reports(const char *fence_view, uint32_t device)
{
	json_object *view = fence_view ? json_tokener_parse(fence_view) : NULL, *e, *ok;
	char id[16];
	int r = -1;

	snprintf(id, sizeof(id), "%u", device);
	if (json_object_is_type(view, json_type_object) && json_object_object_get_ex(view, id, &e) &&
	    json_object_is_type(e, json_type_object))
		r = json_object_object_get_ex(e, "ok", &ok) &&
		    json_object_is_type(ok, json_type_boolean) && json_object_get_boolean(ok);
	json_object_put(view);
	return r;
}

int hm_status_fence_protection(uint32_t host, const struct hm_fence_device *devices,
			       size_t n_devices, const struct hm_host *hosts, size_t n_hosts)
{
	struct hm_fence_device_result *mon = calloc(n_devices + 1, sizeof(*mon));
	size_t i, h, n = 0, seen, good;
	int rc, r;

	if (!mon)
		return -ENOMEM;
	for (i = 0; i < n_devices; i++) {
		if (devices[i].host != host)
			continue;
		for (h = 0, seen = 0, good = 0; h < n_hosts; h++) {
			if (hosts[h].nodeid == host)
				continue;
			r = hm_fence_view_reports(hosts[h].fence_view, devices[i].id);
			seen += r >= 0;
			good += r > 0;
		}
		mon[n].device = devices[i].id;
		mon[n++].outcome = seen && good == seen ? HM_FENCE_DEVICE_OK : HM_FENCE_DEVICE_FAILED;
	}
	rc = hm_fence_protection(host, devices, n_devices, mon, n);
	free(mon);
	return rc;
}

/* ---- the cluster part of the status ---- */

static json_object *status_hosts(const struct hm_status_cluster *c)
{
	const struct hm_dry_input *in = c->dry;
	json_object *arr = json_object_new_array(), *o;
	size_t h, k, n_dev;
	int prot, rc = 0;

	for (h = 0; arr && h < in->n_hosts && rc == 0; h++) {
		const struct hm_host *host = &in->hosts[h];

		for (k = 0, n_dev = 0; k < c->n_devices; k++)
			n_dev += c->devices[k].host == host->nodeid;
		prot = hm_status_fence_protection(host->nodeid, c->devices, c->n_devices, in->hosts,
						  in->n_hosts);
		o = json_object_new_object();
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		rc |= jadd(o, "nodeid", json_object_new_int64(host->nodeid), false);
		rc |= jadd(o, "name", json_object_new_string(host->name), false);
		rc |= jadd(o, "state", json_object_new_string(hm_host_state_now(c->membership,
									   host->nodeid, host->state)), false);
		rc |= jadd(o, "maintenance", json_object_new_boolean(host->maintenance), false);
		rc |= jadd(o, "disabled", json_object_new_boolean(host->disabled), false);
		rc |= jadd(o, "fence_devices", json_object_new_int64((int64_t)n_dev), false);
		/* "?" when the devices do not make a plan (e.g. too many in a level);
		 * what needs an operator is in capitals */
		rc |= jadd(o, "fencing", json_object_new_string(prot < 0 ? "?" :
				prot == HM_FENCE_UNPROTECTED ? "UNPROTECTED" :
				prot == HM_FENCE_DEGRADED ? "DEGRADED" : "protected"), false);
		if (rc == 0 && json_object_array_add(arr, o) != 0)
			rc = -ENOMEM;
		if (rc)
			json_object_put(o);
	}
	if (rc) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static json_object *status_jobs(const struct hm_status_cluster *c)
{
	json_object *arr = json_object_new_array(), *o;
	const struct hm_host *h;
	size_t i;
	int rc = 0;

	for (i = 0; arr && i < c->n_open_jobs && rc == 0; i++) {
		const struct hm_job *j = &c->open_jobs[i];

		h = j->target_host ? dry_host(c->dry, j->target_host) : NULL;
		o = json_object_new_object();
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		rc |= jadd(o, "id", json_object_new_int64((int64_t)j->id), false);
		rc |= jadd(o, "kind", json_object_new_string(hm_job_kind_to_str(j->kind)), false);
		rc |= jadd(o, "state", json_object_new_string(hm_job_state_to_str(j->state)), false);
		rc |= jadd(o, "target_host", j->target_host ? json_object_new_int64(j->target_host) : NULL,
			   !j->target_host);
		rc |= jadd(o, "host", h ? json_object_new_string(h->name) : NULL, !h);
		rc |= jadd(o, "instance", opt_string(j->instance), !j->instance);
		if (rc == 0 && json_object_array_add(arr, o) != 0)
			rc = -ENOMEM;
		if (rc)
			json_object_put(o);
	}
	if (rc) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

/* could the largest host's instances be placed if it failed now */
static int status_headroom(const struct hm_status_cluster *c, json_object **ret)
{
	uint32_t largest = hm_dry_largest_host(c->dry);
	json_object *plan = NULL, *o, *v;
	int64_t placed = 0, pending = 0, lost = 0;
	int rc;

	*ret = NULL;
	if (!largest)
		return 0;
	/* a status shows what it can: a plan that cannot be made is unknown */
	rc = hm_dry_plan(c->dry, HM_DRY_EVACUATE, largest, NULL, 0, &plan);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	if (json_object_object_get_ex(plan, "placed", &v))
		placed = json_object_get_int64(v);
	if (json_object_object_get_ex(plan, "pending", &v))
		pending = json_object_get_int64(v);
	if (json_object_object_get_ex(plan, "lost", &v))
		lost = json_object_get_int64(v);
	o = json_object_new_object();
	rc = o ? 0 : -ENOMEM;
	if (o) {
		json_object_object_get_ex(plan, "host", &v);
		rc |= jadd(o, "host", json_object_get(v), !v);
		rc |= jadd(o, "nodeid", json_object_new_int64(largest), false);
		rc |= jadd(o, "instances", json_object_new_int64(placed + pending), false);
		rc |= jadd(o, "placed", json_object_new_int64(placed), false);
		rc |= jadd(o, "pending", json_object_new_int64(pending), false);
		rc |= jadd(o, "lost", json_object_new_int64(lost), false);
		rc |= jadd(o, "ok", json_object_new_boolean(pending == 0), false);
	}
	json_object_put(plan);
	if (rc) {
		json_object_put(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

int hm_status_add_cluster(json_object *status, const struct hm_status_cluster *c)
{
	json_object *headroom = NULL;
	int rc;

	rc = jadd(status, "hosts", status_hosts(c), false);
	if (rc == 0)
		rc = jadd(status, "jobs", status_jobs(c), false);
	if (rc == 0)
		rc = status_headroom(c, &headroom);
	if (rc == 0)
		rc = jadd(status, "headroom", headroom, true);
	return rc < 0 ? rc : 0;
}
