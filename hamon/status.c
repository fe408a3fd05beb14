/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
