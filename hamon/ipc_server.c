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

#include "array.h"
#include "cluster_policy.h"
#include "daemon.h"
#include "fence_policy.h"
#include "fencer.h"
#include "snapshot.h"
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
	/* a second change to submit once the first is accepted (maintenance
	 * on, then its drain job), and what to say when it is refused */
	uint16_t next_op;
	json_object *next;	/* owned */
	char next_fails[160];
	bool second;		/* the next change was submitted */
	uint32_t fence_id;	/* a fence device id this add holds, else 0 */
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
	/* kinds asked for: each a kind or, ending in '.', a prefix; none = all */
	char kinds[8][32];
	size_t n_kinds;
};

static bool kind_matches(const struct history_ctx *c, const char *kind)
{
	size_t i, len;

	for (i = 0; i < c->n_kinds; i++) {
		len = strlen(c->kinds[i]);
		if (c->kinds[i][len - 1] == '.' ? !strncmp(kind, c->kinds[i], len) :
		    !strcmp(kind, c->kinds[i]))
			return true;
	}
	return !c->n_kinds;
}

static bool event_matches(const struct history_ctx *c, const struct hm_history_event *e)
{
	return (!c->instance[0] || (e->instance && !strcmp(e->instance, c->instance))) &&
	       (!c->job || (int64_t)e->job == c->job) && e->ts_ms >= c->since_ms &&
	       kind_matches(c, e->kind);
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

/* "kinds": an array of kinds or prefixes ("fence.") */
static int arg_kinds(json_object *args, struct history_ctx *c, char *err, size_t errlen)
{
	json_object *v, *k;
	size_t i;

	if (!json_object_object_get_ex(args, "kinds", &v))
		return 0;
	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > sizeof(c->kinds) / sizeof(c->kinds[0]))
		goto bad;
	for (i = 0; i < json_object_array_length(v); i++) {
		k = json_object_array_get_idx(v, i);
		if (!json_object_is_type(k, json_type_string) || !json_object_get_string_len(k) ||
		    json_object_get_string_len(k) >= (int)sizeof(c->kinds[0]))
			goto bad;
		snprintf(c->kinds[c->n_kinds++], sizeof(c->kinds[0]), "%s", json_object_get_string(k));
	}
	return 0;
bad:
	snprintf(err, errlen, "history: 'kinds' must be an array of at most %zu kinds "
		 "(\"fence.\" for a prefix), each shorter than %zu characters",
		 sizeof(c->kinds) / sizeof(c->kinds[0]), sizeof(c->kinds[0]));
	return -EINVAL;
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
	if (rc == 0)
		rc = arg_kinds(args, &c, err, errlen);
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

/* fence device ids that an add of this hamond chose and has not yet seen
 * decided: the next add chooses another (two adds at once on one node) */
#define FENCE_IDS_HELD_MAX 64
static uint32_t fence_ids_held[FENCE_IDS_HELD_MAX];

static bool fence_id_held(uint32_t id)
{
	size_t i;

	for (i = 0; i < FENCE_IDS_HELD_MAX; i++)
		if (fence_ids_held[i] == id)
			return true;
	return false;
}

static int fence_id_hold(uint32_t id)
{
	size_t i;

	for (i = 0; i < FENCE_IDS_HELD_MAX; i++)
		if (!fence_ids_held[i]) {
			fence_ids_held[i] = id;
			return 0;
		}
	return -EBUSY;
}

static void fence_id_release(uint32_t id)
{
	size_t i;

	for (i = 0; id && i < FENCE_IDS_HELD_MAX; i++)
		if (fence_ids_held[i] == id)
			fence_ids_held[i] = 0;
}

static void call_release(struct ipc_call *call)
{
	fence_id_release(call->fence_id);
	json_object_put(call->accepted);
	json_object_put(call->payload);
	json_object_put(call->next);
	qb_ipcs_connection_unref(call->c);
	free(call);
}

/* a replicated change an operator asked for was decided: reply, or submit
 * the change that follows it */
static void change_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct ipc_call *call = data;
	json_object *next = call->next;
	char err[512], msg[700];

	if (rc >= 0 && next) {
		call->next = NULL;
		call->second = true;
		rc = hm_replica_submit(ipc_daemon->replica, call->next_op,
				       json_object_to_json_string_ext(next, JSON_C_TO_STRING_PLAIN),
				       change_done, call, err, sizeof(err));
		json_object_put(next);
		if (rc == 0)
			return;
		message = err;
	}
	if (rc < 0 && call->second) {
		snprintf(msg, sizeof(msg), "%s: %s", call->next_fails, message);
		message = msg;
	}
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

/* the device ids in use, to find the lowest free one */
struct fence_ids {
	uint32_t *v;
	size_t n, cap;
	int rc;
};

static int collect_id(const struct hm_fence_device *row, void *data)
{
	struct fence_ids *ids = data;

	if (hm_array_grow((void **)&ids->v, &ids->cap, ids->n, sizeof(*ids->v), 16) < 0) {
		ids->rc = -ENOMEM;
		return 1;
	}
	ids->v[ids->n++] = row->id;
	return 0;
}

/* the lowest id that no device has and no add of ours holds; 0 on error */
static uint32_t fence_id_lowest_free(struct hm_daemon *d)
{
	struct fence_ids ids = { 0 };
	uint32_t id = 0, cand;
	size_t i;

	if (hm_store_fence_device_list(d->store, collect_id, &ids) == 0 && ids.rc == 0) {
		for (cand = 1; cand && !id; cand++) {
			for (i = 0; i < ids.n && ids.v[i] != cand; i++)
				;
			if (i == ids.n && !fence_id_held(cand))
				id = cand;
		}
	}
	free(ids.v);
	return id;
}

/* the agent told us its parameters: check the device against them */
static void fence_metadata_checked(int rc, const char *xml, size_t len, const char *reason,
				   void *data)
{
	struct ipc_call *call = data;
	struct hm_daemon *d = ipc_daemon;
	struct hm_fence_metadata *md = NULL;
	struct hm_fence_device *taken = NULL;
	json_object *params = NULL, *want = NULL;
	uint32_t id;
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
	/* the operator's id (never an existing device's: set would replace
	 * it), else the lowest free one */
	if (json_object_object_get_ex(call->accepted, "want_id", &want)) {
		id = (uint32_t)json_object_get_int64(want);
		json_object_object_del(call->accepted, "want_id");
		if (hm_store_fence_device_get(d->store, id, &taken) == 0 || fence_id_held(id)) {
			free(taken);
			snprintf(err, sizeof(err), "fence add: there is a fence device %u already "
				 "(hamonctl fence list; fence remove %u first to replace it)", id, id);
			rc = -EEXIST;
			goto refuse;
		}
	} else if (!(id = fence_id_lowest_free(d))) {
		snprintf(err, sizeof(err), "fence add: cannot read the devices to choose an id");
		rc = -EIO;
		goto refuse;
	}
	fence_id_hold(id);
	call->fence_id = id;
	JADD(call->payload, "id", json_object_new_int64(id));
	JADD(call->accepted, "id", json_object_new_int64(id));
	snprintf(err, sizeof(err), "fence device %u added", id);
	JADD(call->accepted, "done", json_object_new_string(err));
	rc = fence_submit(d, call, HM_OP_FENCE_DEVICE_SET, err, sizeof(err));
	if (rc == 0)
		return;
refuse:
	ipc_reply_error(call->c, call->id, rc < 0 ? rc : -EINVAL, err);
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
	json_object *params = NULL, *level = NULL, *id = NULL;
	struct ipc_call *later = NULL;
	struct hm_fencer_op *op;
	struct hm_host *h = NULL;
	int rc;

	(void)ret_reply;
	json_object_object_get_ex(args, "params", &params);
	json_object_object_get_ex(args, "level", &level);
	json_object_object_get_ex(args, "id", &id);
	if (!host || !agent || !params || !json_object_is_type(params, json_type_object) ||
	    (level && (!json_object_is_type(level, json_type_int) ||
		       json_object_get_int64(level) < 1 || json_object_get_int64(level) > UINT32_MAX)) ||
	    (id && (!json_object_is_type(id, json_type_int) ||
		    json_object_get_int64(id) < 1 || json_object_get_int64(id) > UINT32_MAX))) {
		snprintf(err, errlen, "fence add: needs 'host', 'agent', 'params' (an object), and "
			 "a 'level' and an 'id' of 1 or more when given");
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
	if (id)
		JADD(later->accepted, "want_id", json_object_get(id));
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

/* ---- operators' jobs: fence, maintenance, migrate, evacuate ---- */

/* the store as a dry plan sees it (status.h): every host and instance */
struct cluster_view {
	struct hm_snap_hosts hosts;
	struct hm_snap_instances insts;
	const struct hm_instance **ptrs;
	struct hm_dry_input dry;
};

static void view_free(struct cluster_view *v)
{
	hm_snap_hosts_free(&v->hosts);
	hm_snap_instances_free(&v->insts);
	free(v->ptrs);
}

static int view_load(struct hm_daemon *d, struct cluster_view *v, char *err, size_t errlen)
{
	size_t i;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = hm_snap_hosts_load(d->store, &v->hosts);
	if (rc == 0)
		rc = hm_snap_instances_load(d->store, &v->insts);
	if (rc == 0 && !(v->ptrs = calloc(v->insts.n + 1, sizeof(*v->ptrs))))
		rc = -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "reading the local store failed: %s", strerror(-rc));
		view_free(v);
		return rc;
	}
	for (i = 0; i < v->insts.n; i++)
		v->ptrs[i] = &v->insts.v[i].row;
	v->dry = (struct hm_dry_input){
		.hosts = v->hosts.v, .n_hosts = v->hosts.n,
		.instances = v->ptrs, .n_instances = v->insts.n,
		.cpu_overcommit = hm_cluster_policy_float(d->store, "cpu_overcommit"),
		.reserved_first = hm_cluster_policy_enum(d->store, "reserved_hosts_order") == 0,
		.affinity_soft = hm_cluster_policy_enum(d->store, "anti_affinity") != 0,
	};
	v->dry.n_members = hm_membership_group_members(d->membership, &v->dry.members);
	return 0;
}

static bool in_corosync(struct hm_daemon *d, uint32_t nodeid)
{
	const uint32_t *members;
	size_t n = hm_membership_totem_members(d->membership, &members), i;

	for (i = 0; i < n && members[i] != nodeid; i++)
		;
	return i < n;
}

/* a job-create for an operator; the reply (accepted) says which job */
static int job_submit(struct hm_daemon *d, struct ipc_call *call, json_object *payload,
		      json_object *accepted, char *err, size_t errlen)
{
	struct ipc_call *later = calloc(1, sizeof(*later));
	uint64_t id = hm_jobs_new_id(d->jobs);
	int rc;

	if (!later) {
		json_object_put(payload);
		json_object_put(accepted);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*later = *call;
	later->accepted = accepted;
	later->payload = payload;
	JADD(payload, "id", json_object_new_int64((int64_t)id));
	JADD(accepted, "job", json_object_new_int64((int64_t)id));
	qb_ipcs_connection_ref(later->c);
	rc = fence_submit(d, later, HM_OP_JOB_CREATE, err, errlen);
	if (rc < 0) {
		later->accepted = NULL;
		call_release(later);
		json_object_put(accepted);
		return rc;
	}
	hm_log_notice("hamonctl: job %llu submitted: %s", (unsigned long long)id,
		      json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN));
	return HM_IPC_PENDING;
}

static json_object *job_payload(const char *kind, uint32_t host, const char *instance,
				const char *reason)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	JADD(o, "kind", json_object_new_string(kind));
	if (host)
		JADD(o, "target_host", json_object_new_int64(host));
	if (instance)
		JADD(o, "instance", json_object_new_string(instance));
	JADD(o, "reason", json_object_new_string(reason));
	return o;
}

/* args may hold only these keys (and "wait", hamonctl's own) */
static int args_known(json_object *args, const char *cmd, const char *const *keys, char *err,
		      size_t errlen)
{
	size_t k;

	json_object_object_foreach(args, key, val) {
		(void)val;
		for (k = 0; keys[k] && strcmp(keys[k], key); k++)
			;
		if (!keys[k] && strcmp(key, "wait")) {
			snprintf(err, errlen, "%s: unknown argument '%.32s'", cmd, key);
			return -EINVAL;
		}
	}
	return 0;
}

static int device_of_host(const struct hm_fence_device *row, void *data)
{
	uint32_t *host = data;

	if (row->host != *host)
		return 0;
	*host = 0;	/* found */
	return 1;
}

static bool host_has_device(struct hm_daemon *d, uint32_t nodeid)
{
	uint32_t host = nodeid;

	hm_store_fence_device_list(d->store, device_of_host, &host);
	return host == 0;
}

static int handle_fence(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			json_object **ret_reply, char *err, size_t errlen)
{
	static const char *const keys[] = { "host", NULL };
	const char *name = arg_str(args, "host");
	json_object *payload, *accepted;
	struct hm_host *h = NULL;
	char msg[256];
	int rc;

	(void)ret_reply;
	rc = args_known(args, "fence", keys, err, errlen);
	if (rc < 0)
		return rc;
	if (!name) {
		snprintf(err, errlen, "fence: 'host' must be a string (a name or a node id)");
		return -EINVAL;
	}
	if (host_lookup(d, name, &h) < 0) {
		snprintf(err, errlen, "fence: no host named '%.64s' (hamonctl host-list)", name);
		return -ENOENT;
	}
	/* the Pacemaker backend has its own devices; else there must be one */
	if (hm_cluster_policy_enum(d->store, "fence_backend") == 0 &&
	    !host_has_device(d, h->nodeid)) {
		snprintf(err, errlen, "fence: %s has no fence device: it cannot be fenced "
			 "(hamonctl fence add %s AGENT ...)", h->name, h->name);
		free(h);
		return -ENODEV;
	}
	payload = job_payload("fence", h->nodeid, NULL, "an operator asked (hamonctl fence)");
	accepted = json_object_new_object();
	if (payload && accepted) {
		JADD(accepted, "host", json_object_new_string(h->name));
		JADD(accepted, "nodeid", json_object_new_int64(h->nodeid));
		snprintf(msg, sizeof(msg), "fencing %s: a job of kind fence", h->name);
		JADD(accepted, "done", json_object_new_string(msg));
	}
	hm_log_warn("hamonctl fence %s: an operator asked to power it off", h->name);
	free(h);
	if (!payload || !accepted) {
		json_object_put(payload);
		json_object_put(accepted);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return job_submit(d, call, payload, accepted, err, errlen);
}

/* ---- fence test: every device of a host (or one device), from here ---- */

static void fence_tested(json_object *results, void *data)
{
	struct ipc_call *call = data;

	JADD(call->accepted, "devices", json_object_get(results));
	ipc_reply(call->c, call->id, 0, call->accepted);
	call_release(call);
}

static int handle_fence_test(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			     json_object **ret_reply, char *err, size_t errlen)
{
	static const char *const keys[] = { "host", "id", NULL };
	const char *name = arg_str(args, "host");
	struct hm_fence_device *dev = NULL;
	struct ipc_call *later;
	struct hm_host *h = NULL;
	json_object *v = NULL;
	uint32_t host = 0, id = 0;
	int rc;

	(void)ret_reply;
	rc = args_known(args, "fence test", keys, err, errlen);
	if (rc < 0)
		return rc;
	if (json_object_object_get_ex(args, "id", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > UINT32_MAX) {
			snprintf(err, errlen, "fence test: 'id' must be a device id (1 or more)");
			return -EINVAL;
		}
		id = (uint32_t)json_object_get_int64(v);
		if (hm_store_fence_device_get(d->store, id, &dev) < 0) {
			snprintf(err, errlen, "fence test: there is no fence device %u (hamonctl fence list)",
				 id);
			return -ENOENT;
		}
		host = dev->host;
		free(dev);
	} else if (name) {
		if (host_lookup(d, name, &h) < 0) {
			snprintf(err, errlen, "fence test: no host named '%.64s' (hamonctl host-list)", name);
			return -ENOENT;
		}
		host = h->nodeid;
	} else {
		snprintf(err, errlen, "fence test: give a host or a device id");
		return -EINVAL;
	}
	later = calloc(1, sizeof(*later));
	if (!later || !(*later = *call, later->accepted = json_object_new_object())) {
		free(later);
		free(h);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	JADD(later->accepted, "nodeid", json_object_new_int64(host));
	if (h)
		JADD(later->accepted, "host", json_object_new_string(h->name));
	JADD(later->accepted, "from", json_object_new_int64(d->local_nodeid));
	qb_ipcs_connection_ref(later->c);
	rc = hm_fence_test_start(d, id ? 0 : host, id, fence_tested, later);
	if (rc < 0) {
		if (rc == -ENODEV)
			snprintf(err, errlen, "fence test: %s has no fence device (hamonctl fence add)",
				 h ? h->name : "the host");
		else
			snprintf(err, errlen, "fence test: %s", strerror(-rc));
		free(h);
		call_release(later);
		return rc;
	}
	free(h);
	return HM_IPC_PENDING;
}

/* ---- maintenance, migrate, evacuate ---- */

/* the dry plan as an operator reads it, or a refusal: a plan with nothing
 * pending; *ret the plan (the caller puts it) */
static int dry_plan(struct cluster_view *v, enum hm_dry_kind kind, uint32_t from,
		    const char *uuid, uint32_t target, json_object **ret, char *err,
		    size_t errlen)
{
	int rc = hm_dry_plan(&v->dry, kind, from, uuid, target, ret);

	if (rc < 0)
		snprintf(err, errlen, "cannot make a plan: %s", strerror(-rc));
	return rc;
}

static int64_t plan_count(json_object *plan, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(plan, key, &v) ? json_object_get_int64(v) : 0;
}

/* the first pending row's reason, for a refusal */
static const char *plan_first_pending(json_object *plan)
{
	json_object *rows, *row, *v;
	size_t i;

	if (!json_object_object_get_ex(plan, "instances", &rows))
		return "";
	for (i = 0; i < json_object_array_length(rows); i++) {
		row = json_object_array_get_idx(rows, i);
		if (json_object_object_get_ex(row, "outcome", &v) &&
		    !strcmp(json_object_get_string(v), "pending") &&
		    json_object_object_get_ex(row, "reason", &v))
			return json_object_get_string(v);
	}
	return "";
}

static int handle_maintenance(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			      json_object **ret_reply, char *err, size_t errlen)
{
	static const char *const keys[] = { "host", "on", "drain", "strict", NULL };
	const char *name = arg_str(args, "host");
	json_object *on = NULL, *v = NULL, *flags = NULL, *accepted = NULL, *plan = NULL;
	bool drain = true, strict = false;
	struct cluster_view view;
	struct ipc_call *later;
	struct hm_host *h = NULL;
	char msg[512];
	int rc;

	(void)ret_reply;
	rc = args_known(args, "maintenance", keys, err, errlen);
	if (rc < 0)
		return rc;
	if (!name || !json_object_object_get_ex(args, "on", &on) ||
	    !json_object_is_type(on, json_type_boolean)) {
		snprintf(err, errlen, "maintenance: needs 'host' (a string) and 'on' (true or false)");
		return -EINVAL;
	}
	if (json_object_object_get_ex(args, "drain", &v))
		drain = json_object_get_boolean(v);
	if (json_object_object_get_ex(args, "strict", &v))
		strict = json_object_get_boolean(v);
	if (host_lookup(d, name, &h) < 0) {
		snprintf(err, errlen, "maintenance: no host named '%.64s' (hamonctl host-list)", name);
		return -ENOENT;
	}
	accepted = json_object_new_object();
	flags = json_object_new_object();
	later = calloc(1, sizeof(*later));
	if (!accepted || !flags || !later) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	JADD(flags, "nodeid", json_object_new_int64(h->nodeid));
	JADD(flags, "maintenance", json_object_new_int(json_object_get_boolean(on)));
	JADD(accepted, "host", json_object_new_string(h->name));
	JADD(accepted, "nodeid", json_object_new_int64(h->nodeid));
	JADD(accepted, "maintenance", json_object_new_boolean(json_object_get_boolean(on)));
	*later = *call;
	later->accepted = accepted;
	later->payload = flags;
	if (json_object_get_boolean(on) && drain && in_corosync(d, h->nodeid)) {
		/* say beforehand what cannot be placed; --strict refuses then */
		rc = view_load(d, &view, err, errlen);
		if (rc == 0) {
			rc = dry_plan(&view, HM_DRY_DRAIN, h->nodeid, NULL, 0, &plan, err, errlen);
			view_free(&view);
		}
		if (rc < 0)
			goto fail;
		if (plan_count(plan, "pending") > 0) {
			snprintf(msg, sizeof(msg), "%lld instance(s) of %s cannot be placed now (%s): "
				 "they stay until there is room", (long long)plan_count(plan, "pending"),
				 h->name, plan_first_pending(plan));
			if (strict) {
				snprintf(err, errlen, "maintenance on %s refused (--strict): %s", h->name,
					 msg);
				rc = -ENOSPC;
				goto fail;
			}
			JADD(accepted, "warning", json_object_new_string(msg));
		}
		JADD(accepted, "plan", plan);
		plan = NULL;
		later->next = job_payload("drain", h->nodeid, NULL, "maintenance on (hamonctl)");
		if (!later->next) {
			rc = -ENOMEM;
			goto fail;
		}
		later->next_op = HM_OP_JOB_CREATE;
		{
			uint64_t id = hm_jobs_new_id(d->jobs);

			JADD(later->next, "id", json_object_new_int64((int64_t)id));
			JADD(accepted, "job", json_object_new_int64((int64_t)id));
		}
		snprintf(later->next_fails, sizeof(later->next_fails),
			 "%s is in maintenance, but its drain was not started", h->name);
		snprintf(msg, sizeof(msg), "%s is in maintenance; its drain started", h->name);
	} else {
		snprintf(msg, sizeof(msg), "%s %s maintenance%s", h->name,
			 json_object_get_boolean(on) ? "is in" : "is out of",
			 json_object_get_boolean(on) && !in_corosync(d, h->nodeid) ?
			 " (it is not in the membership: nothing to drain)" :
			 json_object_get_boolean(on) ? " (no drain: --no-drain)" : "");
	}
	JADD(accepted, "done", json_object_new_string(msg));
	qb_ipcs_connection_ref(later->c);
	rc = fence_submit(d, later, HM_OP_HOST_FLAGS, err, errlen);
	if (rc < 0) {
		qb_ipcs_connection_unref(later->c);
		goto fail;
	}
	hm_log_notice("hamonctl: maintenance %s %s", json_object_get_boolean(on) ? "on" : "off",
		      h->name);
	hm_jobs_issue_history(d->jobs, 0, json_object_get_boolean(on) ? "host.maintenance-on" :
			      "host.maintenance-off", h->nodeid, NULL, msg);
	free(h);
	return HM_IPC_PENDING;
fail:
	json_object_put(plan);
	if (later) {
		json_object_put(later->next);
		free(later);
	}
	json_object_put(accepted);
	json_object_put(flags);
	free(h);
	return rc;
}

static int handle_migrate(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			  json_object **ret_reply, char *err, size_t errlen)
{
	static const char *const keys[] = { "instance", "host", NULL };
	const char *name = arg_str(args, "instance"), *to = arg_str(args, "host");
	json_object *payload = NULL, *accepted = NULL, *plan = NULL, *rows, *row, *v;
	struct hm_instance *inst = NULL;
	struct hm_host *h = NULL, *owner = NULL;
	struct cluster_view view;
	uint32_t dest = 0;
	char msg[512];
	int rc;

	(void)ret_reply;
	rc = args_known(args, "migrate", keys, err, errlen);
	if (rc < 0)
		return rc;
	if (!name) {
		snprintf(err, errlen, "migrate: 'instance' must be a string (a name or a uuid)");
		return -EINVAL;
	}
	if (hm_store_instance_get_by_name(d->store, name, &inst) < 0 &&
	    hm_store_instance_get(d->store, name, &inst) < 0) {
		snprintf(err, errlen, "migrate: no instance named '%.64s' (hamonctl list)", name);
		return -ENOENT;
	}
	rc = -EINVAL;
	if (inst->observed != HM_OBSERVED_RUNNING && inst->observed != HM_OBSERVED_PAUSED) {
		snprintf(err, errlen, "migrate: %s is not running (%s): a live migration moves a "
			 "running guest", inst->name, hm_observed_to_str(inst->observed));
		goto out;
	}
	if (inst->storage == HM_STORAGE_LOCAL) {
		snprintf(err, errlen, "migrate: %s is on a local disk: it needs --block-migrate, "
			 "which hamon does not do", inst->name);
		goto out;
	}
	if (!inst->owner || hm_store_host_get(d->store, inst->owner, &owner) < 0 ||
	    !in_corosync(d, inst->owner)) {
		snprintf(err, errlen, "migrate: %s's host is not in the membership: a live migration "
			 "needs its source (hamonctl evacuate for a host that is down)", inst->name);
		goto out;
	}
	if (to) {
		if (host_lookup(d, to, &h) < 0) {
			snprintf(err, errlen, "migrate: no host named '%.64s' (hamonctl host-list)", to);
			rc = -ENOENT;
			goto out;
		}
		dest = h->nodeid;
		if (dest == inst->owner) {
			snprintf(err, errlen, "migrate: %s already runs on %s", inst->name, h->name);
			goto out;
		}
	}
	/* the checks of placement (capacity, maintenance, disabled, the
	 * membership, anti-affinity) with clear refusals */
	rc = view_load(d, &view, err, errlen);
	if (rc == 0) {
		rc = dry_plan(&view, HM_DRY_MIGRATE, 0, inst->uuid, dest, &plan, err, errlen);
		view_free(&view);
	}
	if (rc < 0)
		goto out;
	if (plan_count(plan, "placed") != 1) {
		snprintf(err, errlen, "migrate: %s cannot go %s%s: %s", inst->name, h ? "to " : "anywhere",
			 h ? h->name : "", plan_first_pending(plan));
		rc = -ENOSPC;
		goto out;
	}
	if (!dest && json_object_object_get_ex(plan, "instances", &rows) &&
	    (row = json_object_array_get_idx(rows, 0)) && json_object_object_get_ex(row, "to_id", &v))
		dest = (uint32_t)json_object_get_int64(v);
	payload = job_payload("migrate", dest, inst->uuid, "an operator asked (hamonctl migrate)");
	accepted = json_object_new_object();
	if (!payload || !accepted) {
		json_object_put(payload);
		json_object_put(accepted);
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	JADD(accepted, "instance", json_object_new_string(inst->name));
	JADD(accepted, "uuid", json_object_new_string(inst->uuid));
	JADD(accepted, "from", json_object_new_string(owner->name));
	JADD(accepted, "target_host", json_object_new_int64(dest));
	json_object_object_get_ex(plan, "instances", &rows);
	row = json_object_array_get_idx(rows, 0);
	if (row && json_object_object_get_ex(row, "to", &v))
		JADD(accepted, "to", json_object_get(v));
	snprintf(msg, sizeof(msg), "migrating %s from %s to %s", inst->name, owner->name,
		 row && json_object_object_get_ex(row, "to", &v) ? json_object_get_string(v) : "?");
	JADD(accepted, "done", json_object_new_string(msg));
	rc = job_submit(d, call, payload, accepted, err, errlen);
out:
	json_object_put(plan);
	free(inst);
	free(owner);
	free(h);
	return rc;
}

static int handle_evacuate(struct hm_daemon *d, json_object *args, struct ipc_call *call,
			   json_object **ret_reply, char *err, size_t errlen)
{
	static const char *const keys[] = { "host", "dry_run", "target", NULL };
	const char *name = arg_str(args, "host"), *to = arg_str(args, "target");
	json_object *v = NULL, *plan = NULL, *payload, *accepted;
	struct hm_host *h = NULL, *t = NULL;
	struct cluster_view view;
	bool dry = false;
	char msg[512];
	int rc;

	rc = args_known(args, "evacuate", keys, err, errlen);
	if (rc < 0)
		return rc;
	if (!name) {
		snprintf(err, errlen, "evacuate: 'host' must be a string (a name or a node id)");
		return -EINVAL;
	}
	if (json_object_object_get_ex(args, "dry_run", &v))
		dry = json_object_get_boolean(v);
	if (host_lookup(d, name, &h) < 0) {
		snprintf(err, errlen, "evacuate: no host named '%.64s' (hamonctl host-list)", name);
		return -ENOENT;
	}
	if (to && host_lookup(d, to, &t) < 0) {
		snprintf(err, errlen, "evacuate: no host named '%.64s' (hamonctl host-list)", to);
		rc = -ENOENT;
		goto out;
	}
	if (to && !dry) {
		/* a job carries no destination yet: placement chooses */
		snprintf(err, errlen, "evacuate: --target works with --dry-run only for now; "
			 "without it placement chooses the hosts");
		rc = -EINVAL;
		goto out;
	}
	if (dry) {
		rc = view_load(d, &view, err, errlen);
		if (rc == 0) {
			rc = dry_plan(&view, HM_DRY_EVACUATE, h->nodeid, NULL, t ? t->nodeid : 0,
				      ret_reply, err, errlen);
			view_free(&view);
		}
		if (rc == 0)
			JADD(*ret_reply, "dry_run", json_object_new_boolean(true));
		goto out;
	}
	if (in_corosync(d, h->nodeid)) {
		snprintf(err, errlen, "evacuate: %s is up (in the corosync membership): an evacuation "
			 "rebuilds the guests of a host that is down; for a live host use "
			 "`hamonctl maintenance on %s` (live migration)", h->name, h->name);
		rc = -EBUSY;
		goto out;
	}
	if (h->state != HM_HOST_FENCED) {
		snprintf(err, errlen, "evacuate: %s is not fenced: its guests may still run; "
			 "`hamonctl fence %s`, or once you know it is off, "
			 "`hamonctl fence confirm %s --yes-i-am-sure %s`", h->name, h->name, h->name,
			 h->name);
		rc = -EPERM;
		goto out;
	}
	payload = job_payload("evacuate", h->nodeid, NULL, "an operator asked (hamonctl evacuate)");
	accepted = json_object_new_object();
	if (!payload || !accepted) {
		json_object_put(payload);
		json_object_put(accepted);
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	JADD(accepted, "host", json_object_new_string(h->name));
	snprintf(msg, sizeof(msg), "evacuating %s: its guests are rebuilt elsewhere", h->name);
	JADD(accepted, "done", json_object_new_string(msg));
	rc = job_submit(d, call, payload, accepted, err, errlen);
out:
	json_object_put(plan);
	free(h);
	free(t);
	return rc;
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

struct status_lists {
	struct hm_fence_device *devices;
	size_t n_devices, cap_devices;
	struct hm_job *jobs;
	char (*instances)[40];
	size_t n_jobs, cap_jobs;
	int rc;
};

static int status_device(const struct hm_fence_device *row, void *data)
{
	struct status_lists *l = data;

	if (hm_array_grow((void **)&l->devices, &l->cap_devices, l->n_devices,
			  sizeof(*l->devices), 8) < 0) {
		l->rc = -ENOMEM;
		return 1;
	}
	/* who, which level: the protection needs no agent or params */
	l->devices[l->n_devices++] = (struct hm_fence_device){ row->id, row->host, row->level,
							       NULL, NULL };
	return 0;
}

static int status_job(const struct hm_job *row, void *data)
{
	struct status_lists *l = data;
	size_t cap = l->cap_jobs;

	if (row->state != HM_JOB_ACCEPTED && row->state != HM_JOB_RUNNING)
		return 0;
	if (hm_array_grow((void **)&l->jobs, &cap, l->n_jobs, sizeof(*l->jobs), 8) < 0 ||
	    hm_array_grow((void **)&l->instances, &l->cap_jobs, l->n_jobs, sizeof(*l->instances),
			  8) < 0) {
		l->rc = -ENOMEM;
		return 1;
	}
	l->jobs[l->n_jobs] = *row;
	l->jobs[l->n_jobs].reason = NULL;
	snprintf(l->instances[l->n_jobs], sizeof(l->instances[0]), "%s",
		 row->instance ? row->instance : "");
	l->n_jobs++;
	return 0;
}

/* the hosts with their fencing, the open jobs, the headroom */
static int add_cluster_status(struct hm_daemon *d, json_object *status, char *err, size_t errlen)
{
	struct status_lists l = { 0 };
	struct cluster_view view;
	struct hm_status_cluster c;
	size_t i;
	int rc;

	rc = view_load(d, &view, err, errlen);
	if (rc < 0)
		return rc;
	rc = hm_store_fence_device_list(d->store, status_device, &l);
	if (rc == 0)
		rc = hm_store_job_list(d->store, status_job, &l);
	if (rc == 0)
		rc = l.rc;
	for (i = 0; rc == 0 && i < l.n_jobs; i++)
		l.jobs[i].instance = l.instances[i][0] ? l.instances[i] : NULL;
	if (rc == 0) {
		c = (struct hm_status_cluster){
			.membership = d->membership,
			.devices = l.devices, .n_devices = l.n_devices,
			.open_jobs = l.jobs, .n_open_jobs = l.n_jobs,
			.dry = &view.dry,
		};
		rc = hm_status_add_cluster(status, &c);
	}
	if (rc < 0)
		snprintf(err, errlen, "building the status: %s", strerror(-rc));
	free(l.devices);
	free(l.jobs);
	free(l.instances);
	view_free(&view);
	return rc;
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
	int rc;

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
	rc = add_cluster_status(d, *ret_reply, err, errlen);
	if (rc < 0) {
		json_object_put(*ret_reply);
		*ret_reply = NULL;
	}
	return rc;
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
	{ HM_REQ_FENCE_TEST, "fence test", true, handle_fence_test },
	{ HM_REQ_FENCE, "fence", true, handle_fence },
	{ HM_REQ_MAINTENANCE, "maintenance", true, handle_maintenance },
	{ HM_REQ_MIGRATE, "migrate", true, handle_migrate },
	{ HM_REQ_EVACUATE, "evacuate", true, handle_evacuate },
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
