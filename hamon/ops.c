/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "policy.h"

enum field_type { F_STR, F_INT, F_OBJ };

struct field {
	const char *name;
	enum field_type type;
	bool optional;
};

struct op_desc {
	const struct field *fields;
	size_t n_fields;
	/* what can be told without the store (NULL: the fields say it all);
	 * run by hm_ops_parse, so on the origin before sending, and by every
	 * member before applying */
	int (*check)(json_object *o, char *err, size_t errlen);
	int (*apply)(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
		     char *err, size_t errlen);
};

/* ---- payload access (fields already checked) ---------------------------- */

static const char *str_of(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v ? json_object_get_string(v) : NULL;
}

static int64_t int_of(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v ? json_object_get_int64(v) : 0;
}

/* the store refused a value the same way everywhere: a refusal, not a failure */
static int store_rc(int rc, const char *what, char *err, size_t errlen)
{
	if (rc == -EINVAL || rc == -EEXIST) {
		snprintf(err, errlen, "%s: %s", what,
			 rc == -EEXIST ? "a unique value is already taken" : "a value is out of range");
		return -EINVAL;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: the local store failed: %s", what, strerror(-rc));
	return rc;
}

/* ---- policy ------------------------------------------------------------- */

static int check_policy_set(json_object *o, char *err, size_t errlen)
{
	return hm_policy_validate(str_of(o, "key"), str_of(o, "value"), err, errlen);
}

static int check_policy_key(json_object *o, char *err, size_t errlen)
{
	return hm_policy_check_key(str_of(o, "key"), err, errlen);
}

static int apply_policy_set(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
			    char *err, size_t errlen)
{
	(void)sender;
	(void)ts_ms;
	return store_rc(hm_store_policy_set(s, str_of(o, "key"), str_of(o, "value"), NULL),
			"policy", err, errlen);
}

static int apply_policy_delete(struct hm_store *s, json_object *o, uint32_t sender,
			       uint64_t ts_ms, char *err, size_t errlen)
{
	int rc;

	(void)sender;
	(void)ts_ms;
	rc = hm_store_policy_delete(s, str_of(o, "key"));
	return rc == -ENOENT ? 0 : store_rc(rc, "policy", err, errlen);
}

/* ---- a host's own observations ------------------------------------------ */

struct uuid_list {
	char (*v)[64];
	size_t n, cap;
	uint32_t owner;
	int rc;
};

static int collect_owned(const struct hm_instance *row, void *data)
{
	struct uuid_list *l = data;
	void *p;

	if (row->owner != l->owner)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		p = realloc(l->v, l->cap * sizeof(*l->v));
		if (!p) {
			l->rc = -ENOMEM;
			return 1;
		}
		l->v = p;
	}
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", row->uuid);
	return 0;
}

/* libvirt unreachable: its QEMUs may well run; unknown, never stopped */
static int mark_instances_unknown(struct hm_store *s, uint32_t owner, uint64_t ts_ms)
{
	struct uuid_list l = { .owner = owner };
	struct hm_instance *row;
	size_t i;
	int rc;

	rc = hm_store_instance_list(s, collect_owned, &l);
	if (rc == 0)
		rc = l.rc;
	for (i = 0; rc == 0 && i < l.n; i++) {
		row = NULL;
		rc = hm_store_instance_get(s, l.v[i], &row);
		if (rc == 0) {
			row->observed = HM_OBSERVED_UNKNOWN;
			row->updated_ms = (int64_t)ts_ms;
			rc = hm_store_instance_upsert(s, row);
		}
		free(row);
	}
	free(l.v);
	return rc;
}

static int apply_host_publish(struct hm_store *s, json_object *o, uint32_t sender,
			      uint64_t ts_ms, char *err, size_t errlen)
{
	const char *libvirt = str_of(o, "libvirt");
	struct hm_host *old = NULL, row;
	json_object *view;
	bool unreachable;
	int rc;

	if ((uint32_t)int_of(o, "nodeid") != sender) {
		snprintf(err, errlen, "node %u cannot publish node %lld's observations",
			 sender, (long long)int_of(o, "nodeid"));
		return -EINVAL;
	}
	if (strcmp(libvirt, "connected") && strcmp(libvirt, "unreachable")) {
		snprintf(err, errlen, "libvirt must be connected or unreachable, not '%.32s'", libvirt);
		return -EINVAL;
	}
	unreachable = !strcmp(libvirt, "unreachable");
	rc = hm_store_host_get(s, sender, &old);
	if (rc < 0 && rc != -ENOENT)
		return store_rc(rc, "host", err, errlen);
	/* the operator's flags are not the host's to publish: keep them */
	row = (struct hm_host){
		.nodeid = sender,
		.name = str_of(o, "name"),
		.state = unreachable ? HM_HOST_DEGRADED : HM_HOST_ONLINE,
		.maintenance = old && old->maintenance,
		.disabled = old && old->disabled,
		.reserved = old && old->reserved,
		.vcpus = (uint32_t)int_of(o, "vcpus"),
		.memory_mib = (uint64_t)int_of(o, "memory_mib"),
		.libvirt_uri = str_of(o, "libvirt_uri"),
		.libvirt_uuid = str_of(o, "libvirt_uuid"),
		.migration_uri = old ? old->migration_uri : NULL,
		.boot_id = str_of(o, "boot_id"),
		.updated_ms = (int64_t)ts_ms,
		.fence_view = old ? old->fence_view : NULL,
	};
	if (json_object_object_get_ex(o, "fence_view", &view))
		row.fence_view = json_object_to_json_string_ext(view, JSON_C_TO_STRING_PLAIN);
	/* unreachable says nothing new of capacity or identity: keep the last */
	if (unreachable && old) {
		row.vcpus = old->vcpus;
		row.memory_mib = old->memory_mib;
		row.libvirt_uuid = old->libvirt_uuid;
	}
	rc = hm_store_host_upsert(s, &row);
	if (rc == -EEXIST)
		snprintf(err, errlen, "node %u: its name or libvirt host UUID is already another host's "
			 "(a duplicate libvirt host_uuid?)", sender);
	free(old);
	if (rc == -EEXIST)
		return -EINVAL;
	if (rc == 0 && unreachable)
		rc = mark_instances_unknown(s, sender, ts_ms);
	return store_rc(rc, "host", err, errlen);
}

/* ---- instances, as their host's libvirt sees them ---------------------- */

static int bad_enum(json_object *o, const char *key, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: '%.32s' is not a valid value", key, str_of(o, key));
	return -EINVAL;
}

static int apply_instance_publish(struct hm_store *s, json_object *o, uint32_t sender,
				  uint64_t ts_ms, char *err, size_t errlen)
{
	const char *uuid = str_of(o, "uuid");
	struct hm_instance *old = NULL, row = { 0 };
	int rc;

	if (hm_storage_from_str(str_of(o, "storage"), &row.storage) < 0)
		return bad_enum(o, "storage", err, errlen);
	if (hm_ha_policy_from_str(str_of(o, "ha_policy"), &row.ha_policy) < 0)
		return bad_enum(o, "ha_policy", err, errlen);
	if (hm_observed_from_str(str_of(o, "observed"), &row.observed) < 0)
		return bad_enum(o, "observed", err, errlen);
	rc = hm_store_instance_get(s, uuid, &old);
	if (rc < 0 && rc != -ENOENT)
		return store_rc(rc, "instance", err, errlen);
	if (old && old->owner && old->owner != sender) {
		/* an observation never moves ownership */
		snprintf(err, errlen, "instance %.64s (%.64s) belongs to node %u, but node %u reports it %s%s",
			 uuid, old->name, old->owner, sender, str_of(o, "observed"),
			 row.observed == HM_OBSERVED_RUNNING ? ": double run suspected" : "");
		free(old);
		return -EINVAL;
	}
	row.uuid = uuid;
	row.name = str_of(o, "name");
	row.domain_xml = str_of(o, "xml");
	row.owner = sender;
	row.vcpus = (uint32_t)int_of(o, "vcpus");
	row.memory_mib = (uint64_t)int_of(o, "memory_mib");
	/* started or shut down through libvirt is what its operator wants; a
	 * crash or an unknown state says nothing of that */
	if (row.observed == HM_OBSERVED_RUNNING || row.observed == HM_OBSERVED_PAUSED)
		row.requested = HM_REQUESTED_STARTED;
	else if (row.observed == HM_OBSERVED_SHUTOFF)
		row.requested = HM_REQUESTED_STOPPED;
	else
		row.requested = old ? old->requested : HM_REQUESTED_STARTED;
	row.priority = int_of(o, "priority");
	row.affinity_group = str_of(o, "affinity");
	row.updated_ms = (int64_t)ts_ms;
	rc = hm_store_instance_upsert(s, &row);
	free(old);
	return store_rc(rc, "instance", err, errlen);
}

struct migrating_find {
	struct hm_store *s;
	const char *uuid;
	bool found;
};

static int find_migrating_step(const struct hm_job_step *row, void *data)
{
	struct migrating_find *f = data;

	if (row->action == HM_STEP_MIGRATE && row->state == HM_STEP_INTENT && row->instance &&
	    !strcmp(row->instance, f->uuid))
		f->found = true;
	return f->found;
}

static int find_migrating_job(const struct hm_job *row, void *data)
{
	struct migrating_find *f = data;

	if ((row->kind == HM_JOB_DRAIN || row->kind == HM_JOB_MIGRATE) &&
	    (row->state == HM_JOB_ACCEPTED || row->state == HM_JOB_RUNNING))
		hm_store_job_step_list(f->s, row->id, find_migrating_step, f);
	return f->found;
}

/* a migration of uuid is in flight (its intent recorded, its end not) */
static bool migrating(struct hm_store *s, const char *uuid)
{
	struct migrating_find f = { s, uuid, false };

	hm_store_job_list(s, find_migrating_job, &f);
	return f.found;
}

static int apply_instance_gone(struct hm_store *s, json_object *o, uint32_t sender,
			       uint64_t ts_ms, char *err, size_t errlen)
{
	const char *uuid = str_of(o, "uuid");
	struct hm_instance *old = NULL;
	int rc;

	(void)ts_ms;
	rc = hm_store_instance_get(s, uuid, &old);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return store_rc(rc, "instance", err, errlen);
	if (old->owner != sender) {
		snprintf(err, errlen, "instance %.64s belongs to node %u, not to node %u", uuid,
			 old->owner, sender);
		free(old);
		return -EINVAL;
	}
	free(old);
	/* leaving with a migration: its recorded end moves it, not this */
	if (migrating(s, uuid))
		return 0;
	return store_rc(hm_store_instance_delete(s, uuid), "instance", err, errlen);
}


/* ---- jobs and their steps (doc/jobs.md) --------------------------------- */

static bool job_open(const struct hm_job *j)
{
	return j->state == HM_JOB_ACCEPTED || j->state == HM_JOB_RUNNING;
}

struct open_jobs {
	enum hm_job_kind kind;
	uint32_t target;
	const char *instance;	/* a migration is unique per instance, not per host */
	uint64_t found;
};

static int find_open_job(const struct hm_job *row, void *data)
{
	struct open_jobs *f = data;

	if (row->kind != f->kind || !job_open(row))
		return 0;
	if (f->kind == HM_JOB_MIGRATE ? !row->instance || strcmp(row->instance, f->instance) :
					row->target_host != f->target)
		return 0;
	f->found = row->id;
	return 1;
}

static int check_job_create(json_object *o, char *err, size_t errlen)
{
	enum hm_job_kind kind;

	if (int_of(o, "id") <= 0) {
		snprintf(err, errlen, "a job id must be positive");
		return -EINVAL;
	}
	if (hm_job_kind_from_str(str_of(o, "kind"), &kind) < 0)
		return bad_enum(o, "kind", err, errlen);
	if ((kind == HM_JOB_MIGRATE) != (str_of(o, "instance") != NULL)) {
		snprintf(err, errlen, "a migrate job, and only one, names its instance");
		return -EINVAL;
	}
	return 0;
}

/* A job of a kind and target is open at most once: a new coordinator that
 * creates again what its predecessor already created is refused here, the
 * same way on every member. */
static int apply_job_create(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
			    char *err, size_t errlen)
{
	struct open_jobs f = { .target = (uint32_t)int_of(o, "target_host"),
			       .instance = str_of(o, "instance") };
	struct hm_job row = { 0 }, *taken = NULL;
	struct hm_instance *inst = NULL;
	int rc;

	(void)sender;
	hm_job_kind_from_str(str_of(o, "kind"), &f.kind);
	if (f.instance) {
		rc = hm_store_instance_get(s, f.instance, &inst);
		free(inst);
		if (rc == -ENOENT) {
			snprintf(err, errlen, "there is no instance %.64s", f.instance);
			return -EINVAL;
		}
		if (rc < 0)
			return store_rc(rc, "job", err, errlen);
	}
	if (f.target || f.instance) {
		rc = hm_store_job_list(s, find_open_job, &f);
		if (rc < 0)
			return store_rc(rc, "job", err, errlen);
		if (f.found && f.instance) {
			snprintf(err, errlen, "job %llu (%s of %.64s) is still open",
				 (unsigned long long)f.found, hm_job_kind_to_str(f.kind), f.instance);
			return -EINVAL;
		}
		if (f.found) {
			snprintf(err, errlen, "job %llu (%s of node %u) is still open",
				 (unsigned long long)f.found, hm_job_kind_to_str(f.kind), f.target);
			return -EINVAL;
		}
	}
	row.id = (uint64_t)int_of(o, "id");
	row.kind = f.kind;
	row.state = HM_JOB_ACCEPTED;
	row.target_host = f.target;
	row.created_ms = row.updated_ms = (int64_t)ts_ms;
	row.reason = str_of(o, "reason");
	row.instance = f.instance;
	rc = hm_store_job_get(s, row.id, &taken);
	free(taken);
	if (rc == 0) {
		snprintf(err, errlen, "job id %llu is taken", (unsigned long long)row.id);
		return -EINVAL;
	}
	return store_rc(hm_store_job_upsert(s, &row), "job", err, errlen);
}

/* the open job id names, or a refusal naming why not */
static int get_open_job(struct hm_store *s, json_object *o, const char *key, struct hm_job **ret,
			char *err, size_t errlen)
{
	uint64_t id = (uint64_t)int_of(o, key);
	int rc = hm_store_job_get(s, id, ret);

	if (rc == -ENOENT) {
		snprintf(err, errlen, "there is no job %llu", (unsigned long long)id);
		return -EINVAL;
	}
	if (rc < 0)
		return store_rc(rc, "job", err, errlen);
	if (!job_open(*ret)) {
		snprintf(err, errlen, "job %llu is already %s", (unsigned long long)id,
			 hm_job_state_to_str((*ret)->state));
		free(*ret);
		*ret = NULL;
		return -EINVAL;
	}
	return 0;
}

struct last_start {
	const char *uuid;
	uint32_t host;
	enum hm_step_state state;
};

static int find_last_start(const struct hm_job_step *row, void *data)
{
	struct last_start *l = data;

	if (row->action == HM_STEP_START && row->instance && !strcmp(row->instance, l->uuid)) {
		l->host = row->host;
		l->state = row->state;
	}
	return 0;
}

/* the job's last start of inst failed for certain on its owner: it may be
 * placed elsewhere */
static bool start_failed_on(struct hm_store *s, uint64_t job, const struct hm_instance *inst)
{
	struct last_start l = { inst->uuid, 0, HM_STEP_INTENT };

	return hm_store_job_step_list(s, job, find_last_start, &l) == 0 && l.host == inst->owner &&
	       l.state == HM_STEP_FAILED;
}

static int check_step_intent(json_object *o, char *err, size_t errlen)
{
	enum hm_step_action action;

	if (hm_step_action_from_str(str_of(o, "action"), &action) < 0)
		return bad_enum(o, "action", err, errlen);
	if (int_of(o, "host") <= 0 || int_of(o, "host") > UINT32_MAX) {
		snprintf(err, errlen, "'host' must be a node id");
		return -EINVAL;
	}
	if (int_of(o, "seq") > UINT32_MAX || int_of(o, "target") > UINT32_MAX) {
		snprintf(err, errlen, "'seq' or 'target' is out of range");
		return -EINVAL;
	}
	if ((action == HM_STEP_START || action == HM_STEP_DEFINE || action == HM_STEP_MIGRATE ||
	     action == HM_STEP_DESTROY) && !str_of(o, "instance")) {
		snprintf(err, errlen, "a %s step names its instance", str_of(o, "action"));
		return -EINVAL;
	}
	return 0;
}

/*
 * An intent is written before its step runs.  Ownership moves at the intent
 * (DESIGN.md): a start on a target makes the target the owner, allowed only
 * from the job's lost host, when it already is the target's (a retry), or
 * after the job's last start of it failed for certain on its owner.
 */
static int apply_step_intent(struct hm_store *s, json_object *o, uint32_t sender,
			     uint64_t ts_ms, char *err, size_t errlen)
{
	struct hm_job *job = NULL;
	struct hm_job_step *old = NULL, row = { 0 };
	struct hm_instance *inst = NULL;
	int rc;

	(void)sender;
	rc = get_open_job(s, o, "job", &job, err, errlen);
	if (rc < 0)
		return rc;
	row.job = job->id;
	row.seq = (uint32_t)int_of(o, "seq");
	hm_step_action_from_str(str_of(o, "action"), &row.action);
	row.host = (uint32_t)int_of(o, "host");
	row.instance = str_of(o, "instance");
	row.target = (uint32_t)int_of(o, "target");
	row.state = HM_STEP_INTENT;
	row.updated_ms = (int64_t)ts_ms;
	rc = hm_store_job_step_get(s, row.job, row.seq, &old);
	if (rc == 0) {
		snprintf(err, errlen, "job %llu already has a step %u", (unsigned long long)row.job,
			 row.seq);
		rc = -EINVAL;
		goto out;
	}
	if (rc != -ENOENT) {
		rc = store_rc(rc, "step", err, errlen);
		goto out;
	}
	if (row.instance) {
		rc = hm_store_instance_get(s, row.instance, &inst);
		if (rc == -ENOENT) {
			snprintf(err, errlen, "there is no instance %.64s", row.instance);
			rc = -EINVAL;
			goto out;
		}
		if (rc < 0) {
			rc = store_rc(rc, "instance", err, errlen);
			goto out;
		}
	}
	if (row.action == HM_STEP_MIGRATE &&
	    (inst->owner != row.host || !row.target || row.target == row.host)) {
		/* a live migration leaves from the owner, to another host; both
		 * own it until its end is recorded */
		snprintf(err, errlen, "a migration of %.64s runs on its owner (node %u) to another host",
			 inst->name, inst->owner);
		rc = -EINVAL;
		goto out;
	}
	if (row.action == HM_STEP_START && inst->owner != row.host) {
		if (inst->owner != job->target_host && !start_failed_on(s, job->id, inst)) {
			snprintf(err, errlen, "instance %.64s belongs to node %u, not to the job's node %u",
				 inst->name, inst->owner, job->target_host);
			rc = -EINVAL;
			goto out;
		}
		inst->owner = row.host;
		inst->updated_ms = (int64_t)ts_ms;
		rc = hm_store_instance_upsert(s, inst);
		if (rc < 0) {
			rc = store_rc(rc, "instance", err, errlen);
			goto out;
		}
	}
	rc = hm_store_job_step_upsert(s, &row);
	if (rc == 0 && job->state == HM_JOB_ACCEPTED) {
		job->state = HM_JOB_RUNNING;
		job->updated_ms = (int64_t)ts_ms > job->created_ms ? (int64_t)ts_ms : job->created_ms;
		rc = hm_store_job_upsert(s, job);
	}
	rc = store_rc(rc, "step", err, errlen);
out:
	free(old);
	free(inst);
	free(job);
	return rc;
}

/* ownership from one host to another, if it still is the first's */
static int move_owner(struct hm_store *s, const char *uuid, uint32_t from, uint32_t to,
		      uint64_t ts_ms)
{
	struct hm_instance *inst = NULL;
	int rc = hm_store_instance_get(s, uuid, &inst);

	if (rc == 0 && inst->owner == from) {
		inst->owner = to;
		inst->updated_ms = (int64_t)ts_ms;
		rc = hm_store_instance_upsert(s, inst);
	}
	free(inst);
	return rc == -ENOENT ? 0 : rc;
}

static int check_step_result(json_object *o, char *err, size_t errlen)
{
	enum hm_step_state state;

	if (hm_step_state_from_str(str_of(o, "state"), &state) < 0 || state == HM_STEP_INTENT)
		return bad_enum(o, "state", err, errlen);
	if (int_of(o, "seq") > UINT32_MAX) {
		snprintf(err, errlen, "'seq' is out of range");
		return -EINVAL;
	}
	return 0;
}

/*
 * A step's executor reports what it did; anyone else may only say the
 * outcome is unknown (the coordinator, when the executor left).  A fence
 * step that is done fences the job's host: no placements until an
 * operator enables it again.
 */
static int apply_step_result(struct hm_store *s, json_object *o, uint32_t sender,
			     uint64_t ts_ms, char *err, size_t errlen)
{
	uint64_t id = (uint64_t)int_of(o, "job");
	uint32_t seq = (uint32_t)int_of(o, "seq");
	struct hm_job_step *step = NULL;
	struct hm_job *job = NULL;
	struct hm_host *host = NULL;
	enum hm_step_state state;
	int rc;

	hm_step_state_from_str(str_of(o, "state"), &state);
	rc = hm_store_job_step_get(s, id, seq, &step);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "job %llu has no step %u", (unsigned long long)id, seq);
		return -EINVAL;
	}
	if (rc < 0)
		return store_rc(rc, "step", err, errlen);
	if (step->state != HM_STEP_INTENT) {
		snprintf(err, errlen, "step %llu/%u is already %s", (unsigned long long)id, seq,
			 hm_step_state_to_str(step->state));
		rc = -EINVAL;
		goto out;
	}
	if (sender != step->host && state != HM_STEP_UNKNOWN) {
		snprintf(err, errlen, "step %llu/%u runs on node %u: node %u may only call its outcome unknown",
			 (unsigned long long)id, seq, step->host, sender);
		rc = -EINVAL;
		goto out;
	}
	step->state = state;
	step->result = str_of(o, "result");
	step->updated_ms = (int64_t)ts_ms;
	rc = hm_store_job_step_upsert(s, step);
	if (rc == 0 && step->action == HM_STEP_FENCE && state == HM_STEP_DONE) {
		rc = hm_store_job_get(s, id, &job);
		if (rc == 0 && job->target_host)
			rc = hm_store_host_get(s, job->target_host, &host);
		if (rc == 0 && host) {
			host->state = HM_HOST_FENCED;
			host->disabled = true;
			host->updated_ms = (int64_t)ts_ms;
			rc = hm_store_host_upsert(s, host);
		}
		if (rc == -ENOENT)
			rc = 0;
	}
	/* a migration recorded done: the destination alone owns it now */
	if (rc == 0 && step->action == HM_STEP_MIGRATE && state == HM_STEP_DONE)
		rc = move_owner(s, step->instance, step->host, step->target, ts_ms);
	rc = store_rc(rc, "step", err, errlen);
out:
	free(host);
	free(job);
	free(step);
	return rc;
}

struct open_steps {
	uint32_t n;
};

static int count_intents(const struct hm_job_step *row, void *data)
{
	((struct open_steps *)data)->n += row->state == HM_STEP_INTENT;
	return 0;
}

static int check_job_end(json_object *o, char *err, size_t errlen)
{
	enum hm_job_state state;

	if (hm_job_state_from_str(str_of(o, "state"), &state) < 0 ||
	    state == HM_JOB_ACCEPTED || state == HM_JOB_RUNNING)
		return bad_enum(o, "state", err, errlen);
	return 0;
}

/* a job ends only when none of its steps is still in flight */
static int apply_job_end(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
			 char *err, size_t errlen)
{
	struct open_steps n = { 0 };
	struct hm_job *job = NULL;
	int rc;

	(void)sender;
	rc = get_open_job(s, o, "id", &job, err, errlen);
	if (rc < 0)
		return rc;
	rc = hm_store_job_step_list(s, job->id, count_intents, &n);
	if (rc == 0 && n.n) {
		snprintf(err, errlen, "job %llu has %u step%s in flight", (unsigned long long)job->id,
			 n.n, n.n == 1 ? "" : "s");
		free(job);
		return -EINVAL;
	}
	hm_job_state_from_str(str_of(o, "state"), &job->state);
	job->reason = str_of(o, "reason");
	job->updated_ms = (int64_t)ts_ms > job->created_ms ? (int64_t)ts_ms : job->created_ms;
	if (rc == 0)
		rc = hm_store_job_upsert(s, job);
	free(job);
	return store_rc(rc, "job", err, errlen);
}

/* ---- hosts: the operator's flags, the cluster's verdicts ---------------- */

static int check_flag(json_object *o, const char *key, char *err, size_t errlen)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_get_int64(v) > 1) {
		snprintf(err, errlen, "'%s' must be 0 or 1", key);
		return -EINVAL;
	}
	return 0;
}

static int check_host_flags(json_object *o, char *err, size_t errlen)
{
	if (check_flag(o, "maintenance", err, errlen) < 0 ||
	    check_flag(o, "disabled", err, errlen) < 0 || check_flag(o, "reserved", err, errlen) < 0)
		return -EINVAL;
	if ((size_t)json_object_object_length(o) < 2) {
		snprintf(err, errlen, "no flag to change");
		return -EINVAL;
	}
	return 0;
}

static int get_host(struct hm_store *s, json_object *o, struct hm_host **ret, char *err,
		    size_t errlen)
{
	uint32_t id = (uint32_t)int_of(o, "nodeid");
	int rc = hm_store_host_get(s, id, ret);

	if (rc == -ENOENT) {
		snprintf(err, errlen, "there is no host with node id %u", id);
		return -EINVAL;
	}
	return rc < 0 ? store_rc(rc, "host", err, errlen) : 0;
}

static int apply_host_flags(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
			    char *err, size_t errlen)
{
	struct hm_host *h = NULL;
	json_object *v;
	int rc;

	(void)sender;
	rc = get_host(s, o, &h, err, errlen);
	if (rc < 0)
		return rc;
	if (json_object_object_get_ex(o, "maintenance", &v))
		h->maintenance = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "disabled", &v))
		h->disabled = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "reserved", &v))
		h->reserved = json_object_get_int64(v);
	h->updated_ms = (int64_t)ts_ms;
	rc = hm_store_host_upsert(s, h);
	free(h);
	return store_rc(rc, "host", err, errlen);
}

static int check_host_state(json_object *o, char *err, size_t errlen)
{
	enum hm_host_state state;

	/* online and degraded are the host's own to publish */
	if (hm_host_state_from_str(str_of(o, "state"), &state) < 0 ||
	    (state != HM_HOST_LOST && state != HM_HOST_FENCED))
		return bad_enum(o, "state", err, errlen);
	return 0;
}

/* the coordinator's "lost", an operator's confirmed fence: a fenced host
 * takes no placements until it is enabled again */
static int apply_host_state(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
			    char *err, size_t errlen)
{
	struct hm_host *h = NULL;
	int rc;

	(void)sender;
	rc = get_host(s, o, &h, err, errlen);
	if (rc < 0)
		return rc;
	hm_host_state_from_str(str_of(o, "state"), &h->state);
	if (h->state == HM_HOST_FENCED)
		h->disabled = true;
	h->updated_ms = (int64_t)ts_ms;
	rc = hm_store_host_upsert(s, h);
	free(h);
	return store_rc(rc, "host", err, errlen);
}

/* ---- history ------------------------------------------------------------ */

/* an event recorded later than it happened (kept while its member could
 * not submit) says when: at most a day before it was submitted */
#define HISTORY_LATE_MAX_MS (24LL * 3600 * 1000)

static int apply_history(struct hm_store *s, json_object *o, uint32_t sender, uint64_t ts_ms,
			 char *err, size_t errlen)
{
	int64_t at = json_object_object_get_ex(o, "at_ms", NULL) ? int_of(o, "at_ms") : (int64_t)ts_ms;
	const struct hm_history_event ev = {
		.id = (uint64_t)int_of(o, "id"),
		.ts_ms = at,
		.kind = str_of(o, "kind"),
		.host = (uint32_t)int_of(o, "host"),
		.instance = str_of(o, "instance"),
		.job = (uint64_t)int_of(o, "job"),
		.message = str_of(o, "message"),
	};

	(void)sender;
	if (at > (int64_t)ts_ms || at < (int64_t)ts_ms - HISTORY_LATE_MAX_MS) {
		snprintf(err, errlen, "'at_ms' must be at most a day before the change's own time");
		return -EINVAL;
	}
	return store_rc(hm_store_history_append(s, &ev), "history", err, errlen);
}

/* ---- fence devices ------------------------------------------------------ */

static int check_fence_device(json_object *o, char *err, size_t errlen)
{
	if (int_of(o, "id") <= 0 || int_of(o, "id") > UINT32_MAX || int_of(o, "host") <= 0 ||
	    int_of(o, "host") > UINT32_MAX || int_of(o, "level") <= 0 ||
	    int_of(o, "level") > UINT32_MAX) {
		snprintf(err, errlen, "'id', 'host' and 'level' must be between 1 and 4294967295");
		return -EINVAL;
	}
	return 0;
}

static int apply_fence_device_set(struct hm_store *s, json_object *o, uint32_t sender,
				  uint64_t ts_ms, char *err, size_t errlen)
{
	json_object *params = NULL;
	struct hm_fence_device row;

	(void)sender;
	(void)ts_ms;
	json_object_object_get_ex(o, "params", &params);
	row = (struct hm_fence_device){
		.id = (uint32_t)int_of(o, "id"),
		.host = (uint32_t)int_of(o, "host"),
		.level = (uint32_t)int_of(o, "level"),
		.agent = str_of(o, "agent"),
		.params = json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
	};
	return store_rc(hm_store_fence_device_upsert(s, &row), "fence device", err, errlen);
}

static int apply_fence_device_delete(struct hm_store *s, json_object *o, uint32_t sender,
				     uint64_t ts_ms, char *err, size_t errlen)
{
	int rc;

	(void)sender;
	(void)ts_ms;
	rc = hm_store_fence_device_delete(s, (uint32_t)int_of(o, "id"));
	if (rc == -ENOENT) {
		snprintf(err, errlen, "there is no fence device %lld", (long long)int_of(o, "id"));
		return -EINVAL;
	}
	return store_rc(rc, "fence device", err, errlen);
}

/* ---- the table ---------------------------------------------------------- */

static const struct field policy_set_fields[] = { { "key", F_STR, false }, { "value", F_STR, false } };
static const struct field policy_delete_fields[] = { { "key", F_STR, false } };
static const struct field host_fields[] = {
	{ "nodeid", F_INT, false }, { "name", F_STR, false }, { "boot_id", F_STR, false },
	{ "libvirt", F_STR, false }, { "libvirt_uri", F_STR, true },
	{ "libvirt_uuid", F_STR, true }, { "vcpus", F_INT, false }, { "memory_mib", F_INT, false },
	{ "fence_view", F_OBJ, true },
};
static const struct field instance_fields[] = {
	{ "uuid", F_STR, false }, { "name", F_STR, false }, { "xml", F_STR, false },
	{ "vcpus", F_INT, false }, { "memory_mib", F_INT, false }, { "storage", F_STR, false },
	{ "ha_policy", F_STR, false }, { "priority", F_INT, false },
	{ "affinity", F_STR, true }, { "observed", F_STR, false },
};
static const struct field uuid_fields[] = { { "uuid", F_STR, false } };
static const struct field job_create_fields[] = {
	{ "id", F_INT, false }, { "kind", F_STR, false }, { "target_host", F_INT, true },
	{ "reason", F_STR, true }, { "instance", F_STR, true },
};
static const struct field step_intent_fields[] = {
	{ "job", F_INT, false }, { "seq", F_INT, false }, { "action", F_STR, false },
	{ "host", F_INT, false }, { "instance", F_STR, true }, { "target", F_INT, true },
};
static const struct field step_result_fields[] = {
	{ "job", F_INT, false }, { "seq", F_INT, false }, { "state", F_STR, false },
	{ "result", F_STR, true },
};
static const struct field job_end_fields[] = {
	{ "id", F_INT, false }, { "state", F_STR, false }, { "reason", F_STR, true },
};
static const struct field host_flags_fields[] = {
	{ "nodeid", F_INT, false }, { "maintenance", F_INT, true }, { "disabled", F_INT, true },
	{ "reserved", F_INT, true },
};
static const struct field host_state_fields[] = {
	{ "nodeid", F_INT, false }, { "state", F_STR, false }, { "reason", F_STR, true },
};
static const struct field history_fields[] = {
	{ "id", F_INT, false }, { "kind", F_STR, false }, { "host", F_INT, true },
	{ "instance", F_STR, true }, { "job", F_INT, true }, { "message", F_STR, false },
	{ "at_ms", F_INT, true },
};
static const struct field fence_device_fields[] = {
	{ "id", F_INT, false }, { "host", F_INT, false }, { "level", F_INT, false },
	{ "agent", F_STR, false }, { "params", F_OBJ, false },
};
static const struct field id_fields[] = { { "id", F_INT, false } };

#define OP(f, c, a) { f, sizeof(f) / sizeof(f[0]), c, a }
static const struct op_desc ops[HM_OP_MAX] = {
	[HM_OP_POLICY_SET] = OP(policy_set_fields, check_policy_set, apply_policy_set),
	[HM_OP_POLICY_DELETE] = OP(policy_delete_fields, check_policy_key, apply_policy_delete),
	[HM_OP_HOST_PUBLISH] = OP(host_fields, NULL, apply_host_publish),
	[HM_OP_INSTANCE_PUBLISH] = OP(instance_fields, NULL, apply_instance_publish),
	[HM_OP_INSTANCE_GONE] = OP(uuid_fields, NULL, apply_instance_gone),
	[HM_OP_JOB_CREATE] = OP(job_create_fields, check_job_create, apply_job_create),
	[HM_OP_STEP_INTENT] = OP(step_intent_fields, check_step_intent, apply_step_intent),
	[HM_OP_STEP_RESULT] = OP(step_result_fields, check_step_result, apply_step_result),
	[HM_OP_JOB_END] = OP(job_end_fields, check_job_end, apply_job_end),
	[HM_OP_FENCE_DEVICE_SET] = OP(fence_device_fields, check_fence_device, apply_fence_device_set),
	[HM_OP_FENCE_DEVICE_DELETE] = OP(id_fields, NULL, apply_fence_device_delete),
	[HM_OP_HOST_FLAGS] = OP(host_flags_fields, check_host_flags, apply_host_flags),
	[HM_OP_HOST_STATE] = OP(host_state_fields, check_host_state, apply_host_state),
	[HM_OP_HISTORY] = OP(history_fields, NULL, apply_history),
};

static int check_fields(const struct op_desc *d, json_object *o, char *err, size_t errlen)
{
	size_t i, present = 0;
	json_object *v;

	for (i = 0; i < d->n_fields; i++) {
		const struct field *f = &d->fields[i];

		if (!json_object_object_get_ex(o, f->name, &v)) {
			if (f->optional)
				continue;
			snprintf(err, errlen, "'%s' is missing", f->name);
			return -EINVAL;
		}
		present++;
		if (f->type == F_STR ? !json_object_is_type(v, json_type_string) :
		    f->type == F_OBJ ? !json_object_is_type(v, json_type_object) :
				       !json_object_is_type(v, json_type_int) ||
					       json_object_get_int64(v) < 0) {
			snprintf(err, errlen, "'%s' must be %s", f->name,
				 f->type == F_STR   ? "a string" :
				 f->type == F_OBJ ? "an object" : "a non-negative integer");
			return -EINVAL;
		}
	}
	if ((size_t)json_object_object_length(o) != present) {
		snprintf(err, errlen, "the change has fields this operation does not know");
		return -EINVAL;
	}
	return 0;
}

int hm_ops_parse(uint16_t op, const char *payload, size_t len, json_object **ret_obj,
		 char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *o;

	*ret_obj = NULL;
	if (op == 0 || op >= HM_OP_MAX || !ops[op].apply) {
		snprintf(err, errlen, "unknown operation %u", op);
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* the payload is not NUL-terminated: parse it by length */
	o = json_tokener_parse_ex(tok, payload, (int)len);
	if (!o || json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		snprintf(err, errlen, "the change is not one JSON object");
		return -EINVAL;
	}
	json_tokener_free(tok);
	if (check_fields(&ops[op], o, err, errlen) < 0 ||
	    (ops[op].check && ops[op].check(o, err, errlen) < 0)) {
		json_object_put(o);
		return -EINVAL;
	}
	*ret_obj = o;
	return 0;
}

int hm_ops_apply(struct hm_store *store, uint16_t op, json_object *obj, uint32_t sender,
		 uint64_t ts_ms, char *err, size_t errlen)
{
	if (op == 0 || op >= HM_OP_MAX || !ops[op].apply) {
		snprintf(err, errlen, "unknown operation %u", op);
		return -EINVAL;
	}
	return ops[op].apply(store, obj, sender, ts_ms, err, errlen);
}
