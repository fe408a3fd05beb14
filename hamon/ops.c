/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "policy.h"

enum field_type { F_STR, F_INT };

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
	};
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
	return store_rc(hm_store_instance_delete(s, uuid), "instance", err, errlen);
}

/* ---- the table ---------------------------------------------------------- */

static const struct field policy_set_fields[] = { { "key", F_STR, false }, { "value", F_STR, false } };
static const struct field policy_delete_fields[] = { { "key", F_STR, false } };
static const struct field host_fields[] = {
	{ "nodeid", F_INT, false }, { "name", F_STR, false }, { "boot_id", F_STR, false },
	{ "libvirt", F_STR, false }, { "libvirt_uri", F_STR, true },
	{ "libvirt_uuid", F_STR, true }, { "vcpus", F_INT, false }, { "memory_mib", F_INT, false },
};
static const struct field instance_fields[] = {
	{ "uuid", F_STR, false }, { "name", F_STR, false }, { "xml", F_STR, false },
	{ "vcpus", F_INT, false }, { "memory_mib", F_INT, false }, { "storage", F_STR, false },
	{ "ha_policy", F_STR, false }, { "priority", F_INT, false },
	{ "affinity", F_STR, true }, { "observed", F_STR, false },
};
static const struct field uuid_fields[] = { { "uuid", F_STR, false } };

#define OP(f, c, a) { f, sizeof(f) / sizeof(f[0]), c, a }
static const struct op_desc ops[HM_OP_MAX] = {
	[HM_OP_POLICY_SET] = OP(policy_set_fields, check_policy_set, apply_policy_set),
	[HM_OP_POLICY_DELETE] = OP(policy_delete_fields, check_policy_key, apply_policy_delete),
	[HM_OP_HOST_PUBLISH] = OP(host_fields, NULL, apply_host_publish),
	[HM_OP_INSTANCE_PUBLISH] = OP(instance_fields, NULL, apply_instance_publish),
	[HM_OP_INSTANCE_GONE] = OP(uuid_fields, NULL, apply_instance_gone),
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
				       !json_object_is_type(v, json_type_int) ||
					       json_object_get_int64(v) < 0) {
			snprintf(err, errlen, "'%s' must be %s", f->name,
				 f->type == F_STR ? "a string" : "a non-negative integer");
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
