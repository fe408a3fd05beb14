/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The local IPC server hamonctl talks to (libqb IPC, see ipc_proto.h).
 * Root may change things; members of ipc_read_group may read; anyone else is
 * refused at connect.  Requests go through one handler table; each gets
 * exactly one reply.
 */
#define HM_SUBSYS "ipc"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "fencer.h"
#include "ipc_proto.h"
#include "metadata.h"
#include "params.h"
#include "log.h"
#include "policy.h"

enum access_level {
	ACCESS_READ = 1,
	ACCESS_WRITE = 2,
};

/* libqb's poll handlers carry no context: one server per process */
static struct hm_daemon *ipc_daemon;

/* a request whose reply comes later (a replicated change) */
struct ipc_call {
	qb_ipcs_connection_t *c;
	int32_t id;
	char key[128];
	json_object *accepted;	/* the reply once accepted (host flags); owned */
	json_object *payload;	/* a fence device waiting for its metadata; owned */
};

#define HM_IPC_PENDING 1	/* a handler's "the reply comes later" */

struct ipc_handler {
	int32_t id;
	const char *name;
	bool needs_write;
	/* 0 and *ret_reply, HM_IPC_PENDING (call is kept), or -errno and a
	 * message in err */
	int (*fn)(struct hm_daemon *d, json_object *args, struct ipc_call *call,
		  json_object **ret_reply, char *err, size_t errlen);
};

static void ipc_reply(qb_ipcs_connection_t *c, int32_t id, int error, json_object *body);
static void ipc_reply_error(qb_ipcs_connection_t *c, int32_t id, int error, const char *msg);

static const char *arg_str(json_object *args, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(args, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *policy_entry(const char *key, const char *value, bool is_default,
				 uint64_t version)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "value", json_object_new_string(value));
	json_object_object_add(o, "default", json_object_new_boolean(is_default));
	if (!is_default)
		json_object_object_add(o, "version", json_object_new_int64((int64_t)version));
	return o;
}

/* the replicated change was decided: tell the hamonctl still waiting */
static void config_set_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct ipc_call *call = data;
	struct hm_daemon *d = ipc_daemon;
	json_object *reply;
	uint64_t version = 0;

	if (rc < 0) {
		ipc_reply_error(call->c, call->id, rc, message);
	} else {
		reply = json_object_new_object();
		if (reply) {
			hm_store_policy_version(d->store, &version);
			json_object_object_add(reply, "key", json_object_new_string(call->key));
			json_object_object_add(reply, "policy_version", json_object_new_int64((int64_t)version));
			json_object_object_add(reply, "seq", json_object_new_int64((int64_t)seq));
		}
		ipc_reply(call->c, call->id, 0, reply);
		json_object_put(reply);
	}
	qb_ipcs_connection_unref(call->c);
	free(call);
}

static int handle_config_set(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			     json_object **ret_reply, char *err, size_t errlen)
{
	const char *key = arg_str(args, "key"), *value = arg_str(args, "value");
	json_object *payload;
	struct ipc_call *later;
	int rc;

	(void)ret_reply;
	if (!key || !value) {
		snprintf(err, errlen, "config set: 'key' and 'value' must be strings");
		return -EINVAL;
	}
	payload = json_object_new_object();
	later = calloc(1, sizeof(*later));
	if (!payload || !later) {
		json_object_put(payload);
		free(later);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_object_object_add(payload, "key", json_object_new_string(key));
	json_object_object_add(payload, "value", json_object_new_string(value));
	*later = *call;
	snprintf(later->key, sizeof(later->key), "%s", key);
	qb_ipcs_connection_ref(later->c);
	rc = hm_replica_submit(d->replica, HM_OP_POLICY_SET,
			       json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN),
			       config_set_done, later, err, errlen);
	json_object_put(payload);
	if (rc < 0) {
		qb_ipcs_connection_unref(later->c);
		free(later);
		return rc;
	}
	return HM_IPC_PENDING;
}

static int handle_config_get(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			     json_object **ret_reply, char *err, size_t errlen)
{
	const char *key = arg_str(args, "key");
	struct hm_policy_entry *e = NULL;
	int rc;

	(void)call;
	if (!key) {
		snprintf(err, errlen, "config get: 'key' must be a string");
		return -EINVAL;
	}
	if (hm_policy_check_key(key, err, errlen) < 0)
		return -ENOENT;
	rc = hm_store_policy_get(d->store, key, &e);
	if (rc == -ENOENT)
		*ret_reply = policy_entry(key, hm_policy_default(key), true, 0);
	else if (rc == 0)
		*ret_reply = policy_entry(key, e->value, false, e->version);
	free(e);
	if (rc < 0 && rc != -ENOENT) {
		snprintf(err, errlen, "reading the local store failed: %s", strerror(-rc));
		return rc;
	}
	if (!*ret_reply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- inventory: host-list, list, show ---- */

#define JADD(o, k, v) json_object_object_add((o), (k), (v))

/* every host once, with the load its instances carry (one pass each) */
struct host_row {
	struct hm_host *h;
	uint64_t vcpus, memory, count;
};

struct inv_ctx {
	struct host_row *rows;
	size_t n, cap;
	json_object *arr;
	struct hm_daemon *d;
	int rc;
	struct hm_page page;	/* a paged reply's rows */
};

static int collect_host(const struct hm_host *row, void *data)
{
	struct inv_ctx *x = data;
	struct hm_host *copy = NULL;
	void *p;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		p = realloc(x->rows, x->cap * sizeof(*x->rows));
		if (!p)
			goto nomem;
		x->rows = p;
	}
	/* the row's strings live only during the call: keep a copy */
	if (hm_store_host_get(x->d->store, row->nodeid, &copy) < 0)
		goto nomem;
	x->rows[x->n++] = (struct host_row){ .h = copy };
	return 0;
nomem:
	x->rc = -ENOMEM;
	return 1;
}

static struct host_row *host_of(struct inv_ctx *x, uint32_t nodeid)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (x->rows[i].h->nodeid == nodeid)
			return &x->rows[i];
	return NULL;
}

static int add_load(const struct hm_instance *row, void *data)
{
	struct host_row *h = host_of(data, row->owner);

	if (!h)
		return 0;
	h->count++;
	/* all running load counts, protected or not */
	if (row->observed == HM_OBSERVED_RUNNING || row->observed == HM_OBSERVED_PAUSED ||
	    row->observed == HM_OBSERVED_UNKNOWN) {
		h->vcpus += row->vcpus;
		h->memory += row->memory_mib;
	}
	return 0;
}

static void hosts_free(struct inv_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->rows[i].h);
	free(x->rows);
}

/* the hosts, and their load if asked (host-list, show) */
static int hosts_load(struct hm_daemon *d, struct inv_ctx *x, bool with_load)
{
	int rc;

	x->d = d;
	rc = hm_store_host_list(d->store, collect_host, x);
	if (rc == 0 && x->rc == 0 && with_load)
		rc = hm_store_instance_list(d->store, add_load, x);
	return x->rc < 0 ? x->rc : rc;
}

static json_object *host_json(struct hm_daemon *d, const struct host_row *r)
{
	const struct hm_host *h = r->h;
	json_object *o = json_object_new_object();
	char buf[64];

	if (!o)
		return NULL;
	JADD(o, "nodeid", json_object_new_int64(h->nodeid));
	JADD(o, "name", json_object_new_string(h->name));
	JADD(o, "state", json_object_new_string(hm_host_state_now(d->membership, h->nodeid, h->state)));
	JADD(o, "maintenance", json_object_new_boolean(h->maintenance));
	JADD(o, "disabled", json_object_new_boolean(h->disabled));
	JADD(o, "reserved", json_object_new_boolean(h->reserved));
	JADD(o, "vcpus", json_object_new_int64(h->vcpus));
	JADD(o, "memory_mib", json_object_new_int64((int64_t)h->memory_mib));
	snprintf(buf, sizeof(buf), "%llu/%u", (unsigned long long)r->vcpus, h->vcpus);
	JADD(o, "vcpus_used", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%llu/%llu", (unsigned long long)r->memory,
		 (unsigned long long)h->memory_mib);
	JADD(o, "memory_used", json_object_new_string(buf));
	JADD(o, "instances", json_object_new_int64((int64_t)r->count));
	JADD(o, "libvirt_uuid", h->libvirt_uuid ? json_object_new_string(h->libvirt_uuid) : NULL);
	JADD(o, "boot_id", h->boot_id ? json_object_new_string(h->boot_id) : NULL);
	JADD(o, "updated_ms", json_object_new_int64(h->updated_ms));
	return o;
}

static json_object *instance_json(struct inv_ctx *x, const struct hm_instance *i, bool with_xml)
{
	json_object *o = json_object_new_object();
	struct host_row *h = host_of(x, i->owner);

	if (!o)
		return NULL;
	JADD(o, "name", json_object_new_string(i->name));
	JADD(o, "uuid", json_object_new_string(i->uuid));
	JADD(o, "host", h ? json_object_new_string(h->h->name) : NULL);
	JADD(o, "owner", json_object_new_int64(i->owner));
	/* a degraded host's instances are unknown, never stopped (stored so) */
	JADD(o, "state", json_object_new_string(hm_observed_to_str(i->observed)));
	JADD(o, "requested", json_object_new_string(hm_requested_to_str(i->requested)));
	JADD(o, "ha_policy", json_object_new_string(hm_ha_policy_to_str(i->ha_policy)));
	JADD(o, "storage", json_object_new_string(hm_storage_to_str(i->storage)));
	JADD(o, "vcpus", json_object_new_int64(i->vcpus));
	JADD(o, "memory_mib", json_object_new_int64((int64_t)i->memory_mib));
	JADD(o, "priority", json_object_new_int64(i->priority));
	JADD(o, "affinity_group", i->affinity_group ? json_object_new_string(i->affinity_group) : NULL);
	JADD(o, "updated_ms", json_object_new_int64(i->updated_ms));
	if (with_xml)
		JADD(o, "domain_xml", json_object_new_string(i->domain_xml));
	return o;
}

static int array_add(struct inv_ctx *x, json_object *o)
{
	if (!o || json_object_array_add(x->arr, o) != 0) {
		json_object_put(o);
		x->rc = -ENOMEM;
		return 1;
	}
	return 0;
}

/* {"hosts": [...]}: every host with its load; a few hundred at most */
static int handle_host_list(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			    json_object **ret_reply, char *err, size_t errlen)
{
	struct inv_ctx x = { 0 };
	size_t i;
	int rc;

	(void)args;
	(void)call;
	x.arr = json_object_new_array();
	rc = x.arr ? hosts_load(d, &x, true) : -ENOMEM;
	for (i = 0; rc == 0 && i < x.n && !x.rc; i++)
		array_add(&x, host_json(d, &x.rows[i]));
	if (rc == 0)
		rc = x.rc;
	if (rc == 0)
		*ret_reply = json_object_new_object();
	if (rc == 0 && *ret_reply)
		JADD(*ret_reply, "hosts", x.arr);
	else
		json_object_put(x.arr);
	hosts_free(&x);
	if (rc == 0 && !*ret_reply)
		rc = -ENOMEM;
	if (rc < 0)
		snprintf(err, errlen, rc == -ENOMEM ? "out of memory" :
			 "reading the local store failed: %s", strerror(-rc));
	return rc;
}

/* ---- paged replies (ipc_proto.h) ---- */

/*
 * A paged request's "after" (a string, or an integer >= 0, as the listing's
 * cursor is; NULL / 0 when absent, and *ret_has_after says whether it was
 * given: a step's seq may be 0) and "limit".
 */
static int page_args(json_object *args, const char *cmd, const char **ret_after_str,
		     int64_t *ret_after_int, bool *ret_has_after, size_t *ret_limit,
		     char *err, size_t errlen)
{
	json_object *v;
	int64_t limit;

	*ret_limit = HM_IPC_PAGE_ROWS;
	if (ret_after_str)
		*ret_after_str = NULL;
	if (ret_after_int)
		*ret_after_int = 0;
	if (ret_has_after)
		*ret_has_after = false;
	if (json_object_object_get_ex(args, "after", &v)) {
		if (ret_after_str && json_object_is_type(v, json_type_string)) {
			*ret_after_str = json_object_get_string(v);
		} else if (ret_after_int && json_object_is_type(v, json_type_int) &&
			   json_object_get_int64(v) >= 0) {
			*ret_after_int = json_object_get_int64(v);
		} else {
			snprintf(err, errlen, "%s: 'after' must be %s", cmd,
				 ret_after_str ? "a string" : "an integer of at least 0");
			return -EINVAL;
		}
		if (ret_has_after)
			*ret_has_after = true;
	}
	if (json_object_object_get_ex(args, "limit", &v)) {
		limit = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
		if (limit < 1 || limit > HM_IPC_PAGE_ROWS) {
			snprintf(err, errlen, "%s: 'limit' must be an integer from 1 to %d", cmd,
				 HM_IPC_PAGE_ROWS);
			return -EINVAL;
		}
		*ret_limit = (size_t)limit;
	}
	return 0;
}

/*
 * End a paged handler: {key: rows, "next"?} added to *reply (made when
 * NULL); rc is the listing's (> 0: it stopped at a full page).  On failure
 * *reply is put and err says why.
 */
static int page_reply(struct inv_ctx *x, int rc, const char *key, json_object **reply,
		      char *err, size_t errlen)
{
	if (rc > 0)
		rc = 0;
	if (rc == 0 && x->rc < 0)
		rc = x->rc;
	if (rc == 0 && !*reply && !(*reply = json_object_new_object()))
		rc = -ENOMEM;
	if (rc == 0)
		rc = hm_page_finish(&x->page, *reply, key);
	hm_page_free(&x->page);
	if (rc < 0) {
		json_object_put(*reply);
		*reply = NULL;
		if (!err[0])
			snprintf(err, errlen, rc == -ENOMEM ? "out of memory" :
				 "reading the local store failed: %s", strerror(-rc));
	}
	return rc;
}

/* add to the page; non-zero stops the listing (full, or out of memory) */
static int page_add(struct inv_ctx *x, json_object *row, json_object *cursor)
{
	int r = hm_page_add(&x->page, row, cursor);

	if (r < 0)
		x->rc = r;
	return r != 0;
}

static int page_instance(const struct hm_instance *row, void *data)
{
	struct inv_ctx *x = data;

	return page_add(x, instance_json(x, row, false), json_object_new_string(row->uuid));
}

/* the instances in uuid order, a page at a time: no domain XML (show has
 * it), so a row is a few hundred bytes; the byte cap covers long names */
static int handle_list(struct hm_daemon *d, json_object *args, struct ipc_call *call,
		       json_object **ret_reply, char *err, size_t errlen)
{
	struct inv_ctx x = { 0 };
	const char *after;
	size_t limit;
	int rc;

	(void)call;
	rc = page_args(args, "list", &after, NULL, NULL, &limit, err, errlen);
	if (rc < 0)
		return rc;
	rc = hm_page_init(&x.page, limit, HM_IPC_PAGE_BYTES);
	if (rc == 0)
		rc = hosts_load(d, &x, false);
	if (rc == 0)
		rc = hm_store_instance_list_after(d->store, after, page_instance, &x);
	rc = page_reply(&x, rc, "instances", ret_reply, err, errlen);
	hosts_free(&x);
	return rc;
}

/* an instance by name or UUID, else a host by name */
static int handle_show(struct hm_daemon *d, json_object *args, struct ipc_call *call,
		       json_object **ret_reply, char *err, size_t errlen)
{
	const char *name = arg_str(args, "name");
	struct inv_ctx x = { 0 };
	struct hm_instance *i = NULL;
	size_t k;
	int rc;

	(void)call;
	if (!name) {
		snprintf(err, errlen, "show: 'name' must be a string");
		return -EINVAL;
	}
	if (hm_store_instance_get_by_name(d->store, name, &i) < 0)
		hm_store_instance_get(d->store, name, &i);
	/* a host's load needs every instance; an instance only the host names */
	rc = hosts_load(d, &x, !i);
	if (rc < 0) {
		free(i);
		hosts_free(&x);
		snprintf(err, errlen, "reading the local store failed: %s", strerror(-rc));
		return rc;
	}
	if (i) {
		*ret_reply = instance_json(&x, i, true);
		free(i);
	} else {
		for (k = 0; k < x.n && strcmp(x.rows[k].h->name, name) != 0; k++)
			;
		if (k == x.n) {
			hosts_free(&x);
			snprintf(err, errlen,
				 "no instance or host named '%.64s' (hamonctl list, hamonctl host-list)", name);
			return -ENOENT;
		}
		*ret_reply = host_json(d, &x.rows[k]);
	}
	hosts_free(&x);
	if (!*ret_reply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- jobs and history: names for the ids the store keeps ---- */

/* a host's name for a reply: the store's, else the corosync nodelist's,
 * else its node id; JSON null for none (0) */
static json_object *host_name_json(struct inv_ctx *x, uint32_t nodeid)
{
	struct host_row *h;
	const char *name;
	char buf[16];

	if (!nodeid)
		return NULL;
	h = host_of(x, nodeid);
	if (h)
		return json_object_new_string(h->h->name);
	name = hm_nodelist_name(&x->d->nodelist, nodeid);
	if (name[0])
		return json_object_new_string(name);
	snprintf(buf, sizeof(buf), "%u", nodeid);
	return json_object_new_string(buf);
}

/* the name of the instance with this uuid, or JSON null (none, or gone) */
static json_object *instance_name_json(struct hm_daemon *d, const char *uuid)
{
	struct hm_instance *i = NULL;
	json_object *o;

	if (!uuid || hm_store_instance_get(d->store, uuid, &i) < 0)
		return NULL;
	o = json_object_new_string(i->name);
	free(i);
	return o;
}

static json_object *opt_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *opt_id(uint64_t id)
{
	return id ? json_object_new_int64((int64_t)id) : NULL;
}

static int count_step(const struct hm_job_step *row, void *data)
{
	(void)row;
	++*(int64_t *)data;
	return 0;
}

/* a job's own fields (job list's row, job show's head) */
static json_object *job_json(struct inv_ctx *x, const struct hm_job *j, bool with_count)
{
	json_object *o = json_object_new_object();
	int64_t steps = 0;

	if (!o)
		return NULL;
	JADD(o, "id", json_object_new_int64((int64_t)j->id));
	JADD(o, "kind", json_object_new_string(hm_job_kind_to_str(j->kind)));
	JADD(o, "state", json_object_new_string(hm_job_state_to_str(j->state)));
	JADD(o, "target_host", opt_id(j->target_host));
	JADD(o, "host", host_name_json(x, j->target_host));
	JADD(o, "instance", opt_str(j->instance));
	JADD(o, "instance_name", instance_name_json(x->d, j->instance));
	JADD(o, "created_ms", json_object_new_int64(j->created_ms));
	JADD(o, "updated_ms", json_object_new_int64(j->updated_ms));
	JADD(o, "reason", opt_str(j->reason));
	if (with_count) {
		if (hm_store_job_step_list(x->d->store, j->id, count_step, &steps) < 0) {
			json_object_put(o);
			return NULL;
		}
		JADD(o, "step_count", json_object_new_int64(steps));
	}
	return o;
}

static json_object *step_json(struct inv_ctx *x, const struct hm_job_step *st)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	JADD(o, "seq", json_object_new_int64(st->seq));
	JADD(o, "action", json_object_new_string(hm_step_action_to_str(st->action)));
	JADD(o, "instance", opt_str(st->instance));
	JADD(o, "instance_name", instance_name_json(x->d, st->instance));
	JADD(o, "host_id", opt_id(st->host));
	JADD(o, "host", host_name_json(x, st->host));
	JADD(o, "target_id", opt_id(st->target));
	JADD(o, "target", host_name_json(x, st->target));
	JADD(o, "state", json_object_new_string(hm_step_state_to_str(st->state)));
	JADD(o, "result", opt_str(st->result));
	JADD(o, "updated_ms", json_object_new_int64(st->updated_ms));
	return o;
}

/* job list: every unfinished job and the latest finished ones, or all */
struct job_list_ctx {
	struct inv_ctx x;
	struct hm_job_recent recent;
	bool all;
	int64_t after;
};

static int note_job(const struct hm_job *row, void *data)
{
	hm_job_recent_note(data, row);
	return 0;
}

static int page_job(const struct hm_job *row, void *data)
{
	struct job_list_ctx *c = data;

	if ((int64_t)row->id <= c->after || (!c->all && !hm_job_recent_shown(&c->recent, row)))
		return 0;
	return page_add(&c->x, job_json(&c->x, row, true), json_object_new_int64((int64_t)row->id));
}

static int handle_job_list(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			   json_object **ret_reply, char *err, size_t errlen)
{
	struct job_list_ctx c = { 0 };
	json_object *v;
	size_t limit;
	int rc;

	(void)call;
	if (json_object_object_get_ex(args, "all", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			snprintf(err, errlen, "job list: 'all' must be true or false");
			return -EINVAL;
		}
		c.all = json_object_get_boolean(v);
	}
	rc = page_args(args, "job list", NULL, &c.after, NULL, &limit, err, errlen);
	if (rc < 0)
		return rc;
	rc = hm_page_init(&c.x.page, limit, HM_IPC_PAGE_BYTES);
	if (rc == 0)
		rc = hosts_load(d, &c.x, false);
	if (rc == 0 && !c.all)
		rc = hm_store_job_list(d->store, note_job, &c.recent);
	if (rc == 0)
		rc = hm_store_job_list(d->store, page_job, &c);
	if (rc >= 0 && !c.all && !c.x.rc) {
		*ret_reply = json_object_new_object();
		if (*ret_reply)
			JADD(*ret_reply, "hidden",
			     json_object_new_int64((int64_t)hm_job_recent_hidden(&c.recent)));
	}
	rc = page_reply(&c.x, rc, "jobs", ret_reply, err, errlen);
	hosts_free(&c.x);
	return rc;
}

/* job show: the job's fields and its steps in seq order, paged */
struct job_show_ctx {
	struct inv_ctx x;
	int64_t after;
	bool started;		/* "after" was given: seq 0 was seen */
};

static int page_step(const struct hm_job_step *row, void *data)
{
	struct job_show_ctx *c = data;

	if (c->started && (int64_t)row->seq <= c->after)
		return 0;
	return page_add(&c->x, step_json(&c->x, row), json_object_new_int64(row->seq));
}

static int handle_job_show(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			   json_object **ret_reply, char *err, size_t errlen)
{
	struct job_show_ctx c = { 0 };
	struct hm_job *job = NULL;
	json_object *v;
	size_t limit;
	int64_t id;
	int rc;

	(void)call;
	if (!json_object_object_get_ex(args, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    (id = json_object_get_int64(v)) <= 0) {
		snprintf(err, errlen, "job show: 'id' must be a positive integer");
		return -EINVAL;
	}
	rc = page_args(args, "job show", NULL, &c.after, &c.started, &limit, err, errlen);
	if (rc < 0)
		return rc;
	rc = hm_store_job_get(d->store, (uint64_t)id, &job);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "there is no job %lld (hamonctl job list --all lists them)",
			 (long long)id);
		return -ENOENT;
	}
	if (rc == 0)
		rc = hm_page_init(&c.x.page, limit, HM_IPC_PAGE_BYTES);
	if (rc == 0)
		rc = hosts_load(d, &c.x, false);
	if (rc == 0 && !(*ret_reply = job_json(&c.x, job, false)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = hm_store_job_step_list(d->store, job->id, page_step, &c);
	rc = page_reply(&c.x, rc, "steps", ret_reply, err, errlen);
	hosts_free(&c.x);
	free(job);
	return rc;
}

/* ---- history ---- */

/* a host by name, else by node id: 0 and *ret (free it), or -ENOENT */
static int host_lookup(struct hm_daemon *d, const char *arg, struct hm_host **ret)
{
	char *end;
	unsigned long long id;

	*ret = NULL;
	if (hm_store_host_get_by_name(d->store, arg, ret) == 0)
		return 0;
	errno = 0;
	id = strtoull(arg, &end, 10);
	if (arg[0] >= '1' && arg[0] <= '9' && !*end && !errno && id <= UINT32_MAX &&
	    hm_store_host_get(d->store, (uint32_t)id, ret) == 0)
		return 0;
	return -ENOENT;
}

/* a canonical uuid: 8-4-4-4-12 lower-case hex */
static bool uuid_like(const char *s)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return s[36] == '\0';
}

struct history_ctx {
	struct inv_ctx x;
	char instance[40];	/* the uuid asked for, or "" */
	int64_t job;		/* 0 = any */
	int64_t since_ms;	/* INT64_MIN = any time */
	int64_t after;
	uint64_t skip;		/* matching events to pass over first (--limit) */
	uint64_t matched;
};

static bool event_matches(const struct history_ctx *c, const struct hm_history_event *e)
{
	return (!c->instance[0] || (e->instance && !strcmp(e->instance, c->instance))) &&
	       (!c->job || (int64_t)e->job == c->job) && e->ts_ms >= c->since_ms;
}

static int count_event(const struct hm_history_event *row, void *data)
{
	struct history_ctx *c = data;

	c->matched += event_matches(c, row);
	return 0;
}

static json_object *event_json(struct history_ctx *c, const struct hm_history_event *e)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	JADD(o, "id", json_object_new_int64((int64_t)e->id));
	JADD(o, "ts_ms", json_object_new_int64(e->ts_ms));
	JADD(o, "kind", json_object_new_string(e->kind));
	JADD(o, "host_id", opt_id(e->host));
	JADD(o, "host", host_name_json(&c->x, e->host));
	JADD(o, "instance", opt_str(e->instance));
	JADD(o, "instance_name", instance_name_json(c->x.d, e->instance));
	JADD(o, "job", opt_id(e->job));
	JADD(o, "message", json_object_new_string(e->message));
	return o;
}

static int page_event(const struct hm_history_event *row, void *data)
{
	struct history_ctx *c = data;

	if ((int64_t)row->id <= c->after || !event_matches(c, row))
		return 0;
	if (c->skip) {
		c->skip--;
		return 0;
	}
	return page_add(&c->x, event_json(c, row), json_object_new_int64((int64_t)row->id));
}

/* an optional non-negative integer argument; -EINVAL with err */
static int arg_count(json_object *args, const char *key, int64_t min, int64_t *ret,
		     char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(args, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min) {
		snprintf(err, errlen, "history: '%s' must be an integer of at least %lld", key,
			 (long long)min);
		return -EINVAL;
	}
	*ret = json_object_get_int64(v);
	return 0;
}

static int handle_history(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			  json_object **ret_reply, char *err, size_t errlen)
{
	struct history_ctx c = { .since_ms = INT64_MIN };
	const char *host = arg_str(args, "host"), *inst = arg_str(args, "instance");
	struct hm_instance *i = NULL;
	struct hm_host *h = NULL;
	int64_t since_s = -1, last = 0, now_ms;
	uint32_t nodeid = 0;
	size_t limit;
	int rc;

	(void)call;
	if ((json_object_object_get_ex(args, "host", NULL) && !host) ||
	    (json_object_object_get_ex(args, "instance", NULL) && !inst)) {
		snprintf(err, errlen, "history: 'host' and 'instance' must be strings");
		return -EINVAL;
	}
	rc = page_args(args, "history", NULL, &c.after, NULL, &limit, err, errlen);
	if (rc == 0)
		rc = arg_count(args, "job", 1, &c.job, err, errlen);
	if (rc == 0)
		rc = arg_count(args, "since_s", 0, &since_s, err, errlen);
	if (rc == 0)
		rc = arg_count(args, "last", 1, &last, err, errlen);
	if (rc < 0)
		return rc;
	if (host) {
		if (host_lookup(d, host, &h) < 0) {
			snprintf(err, errlen, "history: no host named '%.64s' (hamonctl host-list)", host);
			return -ENOENT;
		}
		nodeid = h->nodeid;
		free(h);
	}
	if (inst) {
		/* an instance gone from the store keeps its history: by uuid */
		if (hm_store_instance_get_by_name(d->store, inst, &i) == 0)
			snprintf(c.instance, sizeof(c.instance), "%s", i->uuid);
		else if (uuid_like(inst))
			snprintf(c.instance, sizeof(c.instance), "%s", inst);
		else {
			snprintf(err, errlen, "history: no instance named '%.64s' (hamonctl list)", inst);
			return -ENOENT;
		}
		free(i);
	}
	/* hamonctl sends at most 100 years; anything before the epoch is all */
	now_ms = (int64_t)d->seam.wall_ms(d->seam.ctx);
	if (since_s >= 0 && since_s <= now_ms / 1000)
		c.since_ms = now_ms - since_s * 1000;
	rc = hm_page_init(&c.x.page, limit, HM_IPC_PAGE_BYTES);
	if (rc == 0)
		rc = hosts_load(d, &c.x, false);
	/* --limit N: the N newest events, so pass over the others first */
	if (rc == 0 && last > 0 && !c.after) {
		rc = hm_store_history_list(d->store, nodeid, count_event, &c);
		c.skip = c.matched > (uint64_t)last ? c.matched - (uint64_t)last : 0;
	}
	if (rc == 0)
		rc = hm_store_history_list(d->store, nodeid, page_event, &c);
	rc = page_reply(&c.x, rc, "events", ret_reply, err, errlen);
	hosts_free(&c.x);
	return rc;
}

/* ---- host flags: an operator's disable/enable, reserve/unreserve ---- */

/* the timeline says who changed a host's flags: "host.disabled", ... */
static void host_flags_history(struct hm_daemon *d, json_object *accepted)
{
	static const struct { const char *key, *on, *off; } flags[] = {
		{ "disabled", "disabled", "enabled" }, { "reserved", "reserved", "unreserved" },
	};
	json_object *v, *host, *id;
	char kind[64], msg[256];
	size_t i;

	if (!d->jobs || !json_object_object_get_ex(accepted, "host", &host) ||
	    !json_object_object_get_ex(accepted, "nodeid", &id))
		return;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (!json_object_object_get_ex(accepted, flags[i].key, &v))
			continue;
		snprintf(kind, sizeof(kind), "host.%s", json_object_get_boolean(v) ? flags[i].on : flags[i].off);
		snprintf(msg, sizeof(msg), "%s %s by an operator (hamonctl)", json_object_get_string(host),
			 json_object_get_boolean(v) ? flags[i].on : flags[i].off);
		hm_jobs_issue_history(d->jobs, 0, kind, (uint32_t)json_object_get_int64(id), NULL, msg);
	}
}

static void call_release(struct ipc_call *call)
{
	json_object_put(call->accepted);
	json_object_put(call->payload);
	qb_ipcs_connection_unref(call->c);
	free(call);
}

/* a replicated change an operator asked for was decided: reply */
static void change_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct ipc_call *call = data;

	if (rc < 0) {
		ipc_reply_error(call->c, call->id, rc, message);
	} else {
		JADD(call->accepted, "seq", json_object_new_int64((int64_t)seq));
		ipc_reply(call->c, call->id, 0, call->accepted);
	}
	call_release(call);
}

static void host_flags_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct ipc_call *call = data;

	if (rc >= 0)
		host_flags_history(ipc_daemon, call->accepted);
	change_done(call, rc, seq, message);
}

static const char *const host_flag_keys[] = { "disabled", "reserved" };

static int handle_host_flags(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			     json_object **ret_reply, char *err, size_t errlen)
{
	const char *name = arg_str(args, "host");
	json_object *payload = NULL, *accepted = NULL, *v;
	struct ipc_call *later = NULL;
	struct hm_host *h = NULL;
	size_t k, n = 0;
	int rc;

	(void)ret_reply;
	if (!name) {
		snprintf(err, errlen, "host flags: 'host' must be a string (a name or a node id)");
		return -EINVAL;
	}
	json_object_object_foreach(args, key, val) {
		(void)val;
		for (k = 0; k < 2 && strcmp(key, host_flag_keys[k]); k++)
			;
		if (k == 2 && strcmp(key, "host")) {
			snprintf(err, errlen, "host flags: unknown argument '%.32s' (disabled, reserved)",
				 key);
			return -EINVAL;
		}
	}
	if (host_lookup(d, name, &h) < 0) {
		snprintf(err, errlen, "no host named '%.64s' (hamonctl host-list)", name);
		return -ENOENT;
	}
	payload = json_object_new_object();
	accepted = json_object_new_object();
	later = calloc(1, sizeof(*later));
	if (!payload || !accepted || !later) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	JADD(payload, "nodeid", json_object_new_int64(h->nodeid));
	JADD(accepted, "host", json_object_new_string(h->name));
	JADD(accepted, "nodeid", json_object_new_int64(h->nodeid));
	for (k = 0; k < 2; k++) {
		if (!json_object_object_get_ex(args, host_flag_keys[k], &v))
			continue;
		if (!json_object_is_type(v, json_type_boolean)) {
			snprintf(err, errlen, "host flags: '%s' must be true or false", host_flag_keys[k]);
			rc = -EINVAL;
			goto fail;
		}
		JADD(payload, host_flag_keys[k], json_object_new_int(json_object_get_boolean(v)));
		JADD(accepted, host_flag_keys[k], json_object_new_boolean(json_object_get_boolean(v)));
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "host flags: nothing to change (disabled, reserved)");
		rc = -EINVAL;
		goto fail;
	}
	*later = *call;
	later->accepted = accepted;
	qb_ipcs_connection_ref(later->c);
	rc = hm_replica_submit(d->replica, HM_OP_HOST_FLAGS,
			       json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN),
			       host_flags_done, later, err, errlen);
	if (rc < 0) {
		qb_ipcs_connection_unref(later->c);
		goto fail;
	}
	hm_log_notice("hamonctl: host %s (%u): %s submitted", h->name, h->nodeid,
		      json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN));
	json_object_put(payload);
	free(h);
	return HM_IPC_PENDING;
fail:
	json_object_put(payload);
	json_object_put(accepted);
	free(later);
	free(h);
	return rc;
}

/* ---- fence devices (doc/fencing.md) ---- */

/* submit op with call->payload; the reply comes from change_done */
static int fence_submit(struct hm_daemon *d, struct ipc_call *call, uint16_t op, char *err,
			size_t errlen)
{
	int rc = hm_replica_submit(d->replica, op,
				   json_object_to_json_string_ext(call->payload, JSON_C_TO_STRING_PLAIN),
				   change_done, call, err, errlen);

	return rc;
}

static int collect_max_id(const struct hm_fence_device *row, void *data)
{
	uint32_t *max = data;

	if (row->id > *max)
		*max = row->id;
	return 0;
}

/* the agent told us its parameters: check the device against them */
static void fence_metadata_checked(int rc, const char *xml, size_t len, const char *reason,
				   void *data)
{
	struct ipc_call *call = data;
	struct hm_daemon *d = ipc_daemon;
	struct hm_fence_metadata *md = NULL;
	json_object *params = NULL;
	uint32_t max = 0;
	char err[512];

	json_object_object_get_ex(call->payload, "params", &params);
	if (rc < 0) {
		snprintf(err, sizeof(err), "fence add: cannot read %s's metadata: %s",
			 json_object_get_string(json_object_object_get(call->payload, "agent")),
			 reason ? reason : strerror(-rc));
		goto refuse;
	}
	rc = hm_fence_metadata_parse(xml, len, &md, err, sizeof(err));
	if (rc == 0)
		rc = hm_fence_metadata_validate(md, params, err, sizeof(err));
	hm_fence_metadata_free(md);
	if (rc < 0)
		goto refuse;
	/* the lowest free id: one past the highest */
	hm_store_fence_device_list(d->store, collect_max_id, &max);
	JADD(call->payload, "id", json_object_new_int64((int64_t)max + 1));
	snprintf(err, sizeof(err), "fence device %u added", max + 1);
	JADD(call->accepted, "id", json_object_new_int64((int64_t)max + 1));
	JADD(call->accepted, "done", json_object_new_string(err));
	if (fence_submit(d, call, HM_OP_FENCE_DEVICE_SET, err, sizeof(err)) == 0)
		return;
refuse:
	ipc_reply_error(call->c, call->id, -EINVAL, err);
	call_release(call);
}

static int handle_fence_add(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			    json_object **ret_reply, char *err, size_t errlen)
{
	const char *host = arg_str(args, "host"), *agent = arg_str(args, "agent");
	const struct hm_fencer_config cfg = {
		.agent_dir = getenv("HAMOND_FENCE_AGENT_DIR"),
		.call_timeout_ms = 30000,
	};
	json_object *params = NULL, *level = NULL;
	struct ipc_call *later = NULL;
	struct hm_fencer_op *op;
	struct hm_host *h = NULL;
	int rc;

	(void)ret_reply;
	json_object_object_get_ex(args, "params", &params);
	json_object_object_get_ex(args, "level", &level);
	if (!host || !agent || !params || !json_object_is_type(params, json_type_object) ||
	    (level && (!json_object_is_type(level, json_type_int) ||
		       json_object_get_int64(level) < 1 || json_object_get_int64(level) > UINT32_MAX))) {
		snprintf(err, errlen, "fence add: needs 'host', 'agent', 'params' (an object) and a "
			 "'level' of 1 or more");
		return -EINVAL;
	}
	if (!hm_fencer_agent_name_valid(agent)) {
		snprintf(err, errlen, "fence add: '%.64s' is not a fence agent name", agent);
		return -EINVAL;
	}
	rc = hm_fence_params_check(params, err, errlen);
	if (rc < 0)
		return rc;
	if (host_lookup(d, host, &h) < 0) {
		snprintf(err, errlen, "no host named '%.64s' (hamonctl host-list)", host);
		return -ENOENT;
	}
	later = calloc(1, sizeof(*later));
	if (!later)
		goto nomem;
	*later = *call;
	later->payload = json_object_new_object();
	later->accepted = json_object_new_object();
	if (!later->payload || !later->accepted)
		goto nomem;
	JADD(later->payload, "host", json_object_new_int64(h->nodeid));
	JADD(later->payload, "level", json_object_new_int64(level ? json_object_get_int64(level) : 1));
	JADD(later->payload, "agent", json_object_new_string(agent));
	JADD(later->payload, "params", json_object_get(params));
	JADD(later->accepted, "host", json_object_new_string(h->name));
	free(h);
	h = NULL;
	qb_ipcs_connection_ref(later->c);
	rc = hm_fencer_metadata_start(d->loop, &cfg, agent, fence_metadata_checked, later, &op);
	if (rc < 0) {
		qb_ipcs_connection_unref(later->c);
		snprintf(err, errlen, "fence add: cannot run %s: %s", agent, strerror(-rc));
		json_object_put(later->payload);
		json_object_put(later->accepted);
		free(later);
		return rc;
	}
	return HM_IPC_PENDING;
nomem:
	if (later) {
		json_object_put(later->payload);
		json_object_put(later->accepted);
	}
	free(later);
	free(h);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int handle_fence_remove(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			       json_object **ret_reply, char *err, size_t errlen)
{
	json_object *id = NULL;
	struct ipc_call *later;
	char done[64];

	(void)ret_reply;
	if (!json_object_object_get_ex(args, "id", &id) || !json_object_is_type(id, json_type_int)) {
		snprintf(err, errlen, "fence remove: 'id' must be a device id");
		return -EINVAL;
	}
	later = calloc(1, sizeof(*later));
	if (!later || !(*later = *call, later->payload = json_object_new_object()) ||
	    !(later->accepted = json_object_new_object())) {
		if (later)
			json_object_put(later->payload);
		free(later);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	JADD(later->payload, "id", json_object_get(id));
	snprintf(done, sizeof(done), "fence device %lld removed", (long long)json_object_get_int64(id));
	JADD(later->accepted, "done", json_object_new_string(done));
	qb_ipcs_connection_ref(later->c);
	if (fence_submit(d, later, HM_OP_FENCE_DEVICE_DELETE, err, errlen) < 0) {
		qb_ipcs_connection_unref(later->c);
		json_object_put(later->payload);
		json_object_put(later->accepted);
		free(later);
		return -EINVAL;
	}
	return HM_IPC_PENDING;
}

struct fence_rows {
	struct hm_daemon *d;
	uint32_t host;		/* 0: every host */
	json_object *rows;
};

static int fence_row(const struct hm_fence_device *row, void *data)
{
	struct fence_rows *f = data;
	json_object *o = json_object_new_object();
	struct hm_host *h = NULL;
	char *redacted = NULL;

	if (f->host && row->host != f->host)
		return 0;
	if (!o)
		return 1;
	hm_store_host_get(f->d->store, row->host, &h);
	JADD(o, "id", json_object_new_int64(row->id));
	JADD(o, "host", json_object_new_string(h ? h->name : "?"));
	JADD(o, "level", json_object_new_int64(row->level));
	JADD(o, "agent", json_object_new_string(row->agent));
	/* never a secret in a view */
	if (hm_fence_params_redact_json(row->params, &redacted) == 0)
		JADD(o, "params", json_object_new_string(redacted));
	else
		JADD(o, "params", json_object_new_string("(unreadable)"));
	free(redacted);
	free(h);
	json_object_array_add(f->rows, o);
	return 0;
}

static int handle_fence_list(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			     json_object **ret_reply, char *err, size_t errlen)
{
	const char *host = arg_str(args, "host");
	struct fence_rows f = { d, 0, json_object_new_array() };
	struct hm_host *h = NULL;

	(void)call;
	if (host && host_lookup(d, host, &h) < 0) {
		json_object_put(f.rows);
		snprintf(err, errlen, "no host named '%.64s' (hamonctl host-list)", host);
		return -ENOENT;
	}
	f.host = h ? h->nodeid : 0;
	free(h);
	*ret_reply = json_object_new_object();
	if (!*ret_reply || !f.rows) {
		json_object_put(f.rows);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	hm_store_fence_device_list(d->store, fence_row, &f);
	JADD(*ret_reply, "devices", f.rows);
	return 0;
}

/* an operator swears a lost host is off: refused while corosync has it */
static int handle_fence_confirm(struct hm_daemon *d, json_object *args, struct ipc_call *call,
				json_object **ret_reply, char *err, size_t errlen)
{
	const char *host = arg_str(args, "host");
	const uint32_t *members;
	size_t n, i;
	struct ipc_call *later;
	struct hm_host *h = NULL;
	char msg[256];

	(void)ret_reply;
	if (!host || !json_object_get_boolean(json_object_object_get(args, "sure"))) {
		snprintf(err, errlen, "fence confirm: needs 'host' and 'sure'");
		return -EINVAL;
	}
	if (host_lookup(d, host, &h) < 0) {
		snprintf(err, errlen, "no host named '%.64s' (hamonctl host-list)", host);
		return -ENOENT;
	}
	n = hm_membership_totem_members(d->membership, &members);
	for (i = 0; i < n; i++)
		if (members[i] == h->nodeid) {
			snprintf(err, errlen, "fence confirm: %s is in the corosync membership: it is "
				 "not off; refused", h->name);
			free(h);
			return -EBUSY;
		}
	later = calloc(1, sizeof(*later));
	if (!later || !(*later = *call, later->payload = json_object_new_object()) ||
	    !(later->accepted = json_object_new_object())) {
		if (later)
			json_object_put(later->payload);
		free(later);
		free(h);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	JADD(later->payload, "nodeid", json_object_new_int64(h->nodeid));
	JADD(later->payload, "state", json_object_new_string("fenced"));
	JADD(later->payload, "reason", json_object_new_string("confirmed by an operator"));
	snprintf(msg, sizeof(msg), "%s confirmed off by an operator: its instances may be rebuilt; "
		 "if it is not off, they may run twice", h->name);
	JADD(later->accepted, "done", json_object_new_string(msg));
	hm_log_crit("hamonctl fence confirm %s: %s", h->name, msg);
	hm_jobs_issue_history(d->jobs, 0, "fence.confirmed", h->nodeid, NULL, msg);
	free(h);
	qb_ipcs_connection_ref(later->c);
	if (fence_submit(d, later, HM_OP_HOST_STATE, err, errlen) < 0) {
		qb_ipcs_connection_unref(later->c);
		json_object_put(later->payload);
		json_object_put(later->accepted);
		free(later);
		return -EROFS;
	}
	return HM_IPC_PENDING;
}

static int handle_config_list(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			      json_object **ret_reply, char *err, size_t errlen)
{
	json_object *reply = json_object_new_object(), *keys = json_object_new_array(), *e;
	const struct hm_policy_key *k;
	struct hm_policy_entry *row;
	uint64_t version = 0;
	size_t i;
	int rc;

	(void)args;
	(void)call;
	if (!reply || !keys)
		goto nomem;
	for (i = 0; (k = hm_policy_key_at(i)) != NULL; i++) {
		row = NULL;
		rc = hm_store_policy_get(d->store, k->name, &row);
		if (rc < 0 && rc != -ENOENT) {
			free(row);
			snprintf(err, errlen, "reading the local store failed: %s", strerror(-rc));
			json_object_put(reply);
			json_object_put(keys);
			return rc;
		}
		e = row ? policy_entry(k->name, row->value, false, row->version) :
			  policy_entry(k->name, k->def, true, 0);
		free(row);
		if (!e || json_object_array_add(keys, e) != 0) {
			json_object_put(e);
			goto nomem;
		}
	}
	hm_store_policy_version(d->store, &version);
	json_object_object_add(reply, "policy_version", json_object_new_int64((int64_t)version));
	json_object_object_add(reply, "keys", keys);
	*ret_reply = reply;
	return 0;

nomem:
	json_object_put(reply);
	json_object_put(keys);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int add_replica_status(struct hm_daemon *d, json_object *status,
			      const struct hm_replica_status *rs)
{
	uint64_t version = 0;

	hm_store_policy_version(d->store, &version);
	return hm_status_add_replica(status, rs, &d->nodelist, version);
}

static int handle_status(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			 json_object **ret_reply, char *err, size_t errlen)
{
	struct hm_replica_status replica;
	struct hm_status_info info = {
		.membership = d->membership,
		.nodelist = &d->nodelist,
		.cluster_name = d->cluster_name,
		.boot_id = d->boot_id,
		.version = HM_VERSION,
		.uptime_s = (hm_daemon_now_ms() - d->started_ms) / 1000,
		.pid = (long)getpid(),
	};

	(void)args;
	(void)call;
	hm_replica_get_status(d->replica, &replica);
	*ret_reply = hm_status_to_json(&info);
	if (*ret_reply && add_replica_status(d, *ret_reply, &replica) < 0) {
		json_object_put(*ret_reply);
		*ret_reply = NULL;
	}
	if (!*ret_reply) {
		snprintf(err, errlen, "out of memory building the status");
		return -ENOMEM;
	}
	return 0;
}

static int handle_log_level(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			    json_object **ret_reply, char *err, size_t errlen)
{
	json_object *v;
	int level;

	(void)call;
	if (!json_object_object_get_ex(args, "level", &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "log-level: 'level' must be a string");
		return -EINVAL;
	}
	level = hm_config_log_level_from_str(json_object_get_string(v));
	if (level < 0) {
		snprintf(err, errlen, "log-level: '%.64s' is not one of error, warning, notice, info, debug",
			 json_object_get_string(v));
		return -EINVAL;
	}
	hm_daemon_set_log_level(d, level);
	hm_log_notice("log level set to %s by hamonctl", hm_config_log_level_to_str(level));
	*ret_reply = json_object_new_object();
	if (!*ret_reply ||
	    json_object_object_add(*ret_reply, "level",
				   json_object_new_string(hm_config_log_level_to_str(level))) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const struct ipc_handler handlers[] = {
	{ HM_REQ_STATUS, "status", false, handle_status },
	{ HM_REQ_LOG_LEVEL, "log-level", true, handle_log_level },
	{ HM_REQ_CONFIG_SET, "config set", true, handle_config_set },
	{ HM_REQ_CONFIG_GET, "config get", false, handle_config_get },
	{ HM_REQ_CONFIG_LIST, "config list", false, handle_config_list },
	{ HM_REQ_HOST_LIST, "host-list", false, handle_host_list },
	{ HM_REQ_LIST, "list", false, handle_list },
	{ HM_REQ_SHOW, "show", false, handle_show },
	{ HM_REQ_JOB_LIST, "job list", false, handle_job_list },
	{ HM_REQ_JOB_SHOW, "job show", false, handle_job_show },
	{ HM_REQ_HISTORY, "history", false, handle_history },
	{ HM_REQ_HOST_FLAGS, "host flags", true, handle_host_flags },
	{ HM_REQ_FENCE_ADD, "fence add", true, handle_fence_add },
	{ HM_REQ_FENCE_REMOVE, "fence remove", true, handle_fence_remove },
	{ HM_REQ_FENCE_LIST, "fence list", false, handle_fence_list },
	{ HM_REQ_FENCE_CONFIRM, "fence confirm", true, handle_fence_confirm },
};

static const struct ipc_handler *handler_find(int32_t id)
{
	size_t i;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].id == id)
			return &handlers[i];
	return NULL;
}

/* primary group, or a supplementary one of the user (local NSS lookup) */
static bool user_in_group(uid_t uid, gid_t primary, gid_t want)
{
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (primary == want)
		return true;
	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, primary, groups, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

static int32_t ipc_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
	struct hm_daemon *d = ipc_daemon;
	enum access_level level;

	if (uid == 0) {
		level = ACCESS_WRITE;
	} else if (d->have_read_gid && user_in_group(uid, gid, d->read_gid)) {
		level = ACCESS_READ;
	} else {
		hm_log_notice("refused a hamonctl connection from uid %u gid %u (not root, not in group '%s')",
			      (unsigned)uid, (unsigned)gid, d->cfg.ipc_read_group);
		return -EACCES;
	}
	/* let the client open the connection's files */
	qb_ipcs_connection_auth_set(c, -1, d->have_read_gid ? d->read_gid : 0, 0660);
	qb_ipcs_context_set(c, (void *)(intptr_t)level);
	return 0;
}

static void ipc_reply(qb_ipcs_connection_t *c, int32_t id, int error, json_object *body)
{
	struct qb_ipc_response_header hdr;
	struct iovec iov[2];
	const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text) + 1;
	ssize_t rc;

	/* one reply per request, always: one too large becomes an error */
	if (len + sizeof(hdr) > HM_IPC_MAX_MSG) {
		error = -E2BIG;
		text = "{\"error\": \"the reply is larger than hamonctl's 1 MiB limit (too many "
		       "rows for one reply: ask for less, e.g. show one instance)\"}";
		len = strlen(text) + 1;
	}

	hdr.id = id;
	hdr.error = error;
	hdr.size = (int32_t)(sizeof(hdr) + len);
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	iov[1] = (struct iovec){ .iov_base = (void *)text, .iov_len = len };
	rc = qb_ipcs_response_sendv(c, iov, 2);
	if (rc < 0)
		hm_log_warn("cannot send a reply to hamonctl: %s", strerror((int)-rc));
}

static void ipc_reply_error(qb_ipcs_connection_t *c, int32_t id, int error, const char *msg)
{
	json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "error", json_object_new_string(msg));
	ipc_reply(c, id, error, o ? o : NULL);
	json_object_put(o);
}

static int32_t ipc_process(qb_ipcs_connection_t *c, void *data, size_t size)
{
	struct hm_daemon *d = ipc_daemon;
	struct qb_ipc_request_header hdr;
	const struct ipc_handler *h;
	struct ipc_call call;
	const char *payload;
	json_object *args = NULL, *reply = NULL;
	char err[512];
	size_t plen;
	int rc;

	if (size < sizeof(hdr)) {
		ipc_reply_error(c, 0, -EBADMSG, "request shorter than its header");
		return 0;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.size < 0 || (size_t)hdr.size != size) {
		ipc_reply_error(c, hdr.id, -EBADMSG, "request size field disagrees with what was received");
		return 0;
	}
	payload = (const char *)data + sizeof(hdr);
	plen = size - sizeof(hdr);
	if (plen == 0 || payload[plen - 1] != '\0' || strlen(payload) != plen - 1) {
		ipc_reply_error(c, hdr.id, -EBADMSG, "request arguments are not one NUL-terminated string");
		return 0;
	}
	args = json_tokener_parse(payload);
	if (!args || !json_object_is_type(args, json_type_object)) {
		ipc_reply_error(c, hdr.id, -EBADMSG, "request arguments are not a JSON object");
		goto free_args;
	}
	h = handler_find(hdr.id);
	if (!h) {
		snprintf(err, sizeof(err), "unknown request %d (is hamonctl newer than hamond %s?)",
			 hdr.id, HM_VERSION);
		ipc_reply_error(c, hdr.id, -EOPNOTSUPP, err);
		goto free_args;
	}
	if (h->needs_write && (intptr_t)qb_ipcs_context_get(c) != ACCESS_WRITE) {
		snprintf(err, sizeof(err), "permission denied: '%s' changes hamond and needs root",
			 h->name);
		ipc_reply_error(c, hdr.id, -EACCES, err);
		goto free_args;
	}
	err[0] = '\0';
	call = (struct ipc_call){ .c = c, .id = hdr.id };
	rc = h->fn(d, args, &call, &reply, err, sizeof(err));
	if (rc == HM_IPC_PENDING)
		goto free_args;
	if (rc < 0)
		ipc_reply_error(c, hdr.id, rc, err[0] ? err : strerror(-rc));
	else
		ipc_reply(c, hdr.id, 0, reply);
	json_object_put(reply);
free_args:
	json_object_put(args);
	return 0;
}

static int32_t ipc_closed(qb_ipcs_connection_t *c)
{
	(void)c;
	return 0;
}

static void ipc_destroyed(qb_ipcs_connection_t *c)
{
	(void)c;
}

static int32_t job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn)
{
	return qb_loop_job_add(ipc_daemon->loop, p, data, fn);
}

static int32_t dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
			    qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_add(ipc_daemon->loop, p, fd, events, data, fn);
}

static int32_t dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
			    qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_mod(ipc_daemon->loop, p, fd, events, data, fn);
}

static int32_t dispatch_del(int32_t fd)
{
	return qb_loop_poll_del(ipc_daemon->loop, fd);
}

int hm_ipc_server_start(struct hm_daemon *d)
{
	static struct qb_ipcs_service_handlers sh = {
		.connection_accept = ipc_accept,
		.msg_process = ipc_process,
		.connection_closed = ipc_closed,
		.connection_destroyed = ipc_destroyed,
	};
	static struct qb_ipcs_poll_handlers ph = {
		.job_add = job_add,
		.dispatch_add = dispatch_add,
		.dispatch_mod = dispatch_mod,
		.dispatch_del = dispatch_del,
	};
	struct group *gr;
	int rc;

	ipc_daemon = d;
	gr = getgrnam(d->cfg.ipc_read_group);
	if (gr) {
		d->read_gid = gr->gr_gid;
		d->have_read_gid = true;
	} else {
		hm_log_warn("ipc_read_group '%s' does not exist: only root may use hamonctl",
			    d->cfg.ipc_read_group);
	}
	d->ipcs = qb_ipcs_create(d->cfg.ipc_name, 0, QB_IPC_SOCKET, &sh);
	if (!d->ipcs)
		return -errno ? -errno : -ENOMEM;
	qb_ipcs_poll_handlers_set(d->ipcs, &ph);
	/* up to 50 requests a turn, not 5: the changes of a turn go out as one
	 * message (doc/benchmarks.md) */
	qb_ipcs_request_rate_limit(d->ipcs, QB_IPCS_RATE_FAST);
	rc = qb_ipcs_run(d->ipcs);
	if (rc < 0) {
		qb_ipcs_unref(d->ipcs);
		d->ipcs = NULL;
		return rc;
	}
	return 0;
}

void hm_ipc_server_stop(struct hm_daemon *d)
{
	if (!d || !d->ipcs)
		return;
	qb_ipcs_destroy(d->ipcs);
	d->ipcs = NULL;
}
