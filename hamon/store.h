/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The store: this node's copy of the replicated cluster state, in sqlite3.
 *
 * Library code: every function returns 0 or -errno, logs nothing, keeps no
 * global state and never reads the clock; timestamps (`*_ms`) and ids are
 * chosen by the sender of a replicated message and passed in, so that
 * applying a message is a pure function of (state, message).  Only the main
 * loop thread touches a store.  doc/store.md has the schema and the reasons.
 *
 * Errors shared by all functions:
 *   -EINVAL  NULL argument, or a value the schema refuses (empty name, enum
 *            out of range, bad uuid, ...): nothing was changed
 *   -EEXIST  a unique column (host name, libvirt uuid, instance name, ...)
 *            already belongs to another row; nothing was changed
 *   -ENOENT  get/delete of a row that does not exist
 *   -EBUSY   delete of a row still referenced (a host owning instances), a
 *            nested hm_store_begin(), or the database locked by another process
 *   -EIO     the file is unreadable or corrupt
 *   -EPROTO  the file holds a newer schema than this code, or is not a store
 *
 * Rows are plain structs.  Text fields are `const char *`; the ones marked
 * "NULL = none" are optional, the others are required.
 *  - upsert inserts the row or updates every column of the row with the same
 *    primary key (never a delete + insert: cascades don't fire);
 *  - get returns one malloc()ed block (struct and its strings): free() it;
 *  - list calls fn for each row in primary key order; the row and its
 *    strings are valid only during the call; fn returning non-zero stops the
 *    iteration and list returns that value.  fn may read the store but must
 *    not write to it.
 *
 * A change of several rows goes in one transaction: hm_store_begin(), the
 * changes, hm_store_pos_set(), hm_store_commit(); on any failure
 * hm_store_rollback().  A single call is atomic on its own.
 */
#ifndef HM_STORE_H
#define HM_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define HM_STORE_SCHEMA_VERSION 3
#define HM_STORE_CHECKSUM_LEN 32	/* SHA-256 */

struct hm_store;

/* Open (creating it, mode 0600, when missing) and migrate to the current
 * schema.  WAL, synchronous=FULL, foreign keys on. */
int hm_store_open(const char *path, struct hm_store **ret);
/* NULL-safe; an open transaction is rolled back */
void hm_store_close(struct hm_store *s);

int hm_store_begin(struct hm_store *s);		/* -EBUSY when one is open */
int hm_store_commit(struct hm_store *s);	/* on failure it was rolled back */
int hm_store_rollback(struct hm_store *s);	/* -EINVAL when none is open */
bool hm_store_in_transaction(const struct hm_store *s);

/* Where this replica is: the last ring in which it was quorate and the
 * replicated sequence applied.  Written in the transaction of the change it
 * describes; both read and written together.  0/0/0 in a new store. */
struct hm_store_pos {
	struct hm_ring_id last_quorate;
	uint64_t applied_seq;
};
int hm_store_pos_get(struct hm_store *s, struct hm_store_pos *ret);
int hm_store_pos_set(struct hm_store *s, const struct hm_store_pos *pos);

/* Enums are stored by name; the names are those the schema's CHECKs allow.
 * _to_str() gives "invalid" for a value out of range; _from_str() returns
 * -EINVAL for an unknown name. */
enum hm_host_state {
	HM_HOST_UNKNOWN = 0,
	HM_HOST_ONLINE,
	HM_HOST_DEGRADED,	/* libvirt unreachable: no placements, no moves */
	HM_HOST_OFFLINE,	/* left cleanly */
	HM_HOST_LOST,		/* dropped out of the membership */
	HM_HOST_FENCED,		/* confirmed off */
	HM_HOST_UNMANAGED,	/* corosync up, hamond not running */
	HM_HOST_STATE_MAX
};
enum hm_storage { HM_STORAGE_SHARED = 0, HM_STORAGE_VOLUME, HM_STORAGE_LOCAL, HM_STORAGE_MAX };
enum hm_requested { HM_REQUESTED_STARTED = 0, HM_REQUESTED_STOPPED, HM_REQUESTED_MAX };
enum hm_ha_policy { HM_HA_POLICY_HA = 0, HM_HA_POLICY_NONE, HM_HA_POLICY_MAX };
enum hm_observed {
	HM_OBSERVED_RUNNING = 0,
	HM_OBSERVED_PAUSED,
	HM_OBSERVED_SHUTOFF,
	HM_OBSERVED_CRASHED,
	HM_OBSERVED_UNKNOWN,
	HM_OBSERVED_ABSENT,
	HM_OBSERVED_MAX
};
enum hm_job_kind {
	HM_JOB_RECOVERY = 0,
	HM_JOB_DRAIN,
	HM_JOB_EVACUATE,
	HM_JOB_MIGRATE,
	HM_JOB_FENCE,		/* an operator's fence of one host (schema 2) */
	HM_JOB_KIND_MAX
};
enum hm_job_state {
	HM_JOB_ACCEPTED = 0,
	HM_JOB_RUNNING,
	HM_JOB_DONE,
	HM_JOB_FAILED,
	HM_JOB_CANCELLED,
	HM_JOB_STATE_MAX
};
enum hm_step_action {
	HM_STEP_FENCE = 0,
	HM_STEP_DEFINE,
	HM_STEP_START,
	HM_STEP_MIGRATE,
	HM_STEP_DESTROY,
	HM_STEP_OBSERVE,
	HM_STEP_ACTION_MAX
};
enum hm_step_state { HM_STEP_INTENT = 0, HM_STEP_DONE, HM_STEP_FAILED, HM_STEP_UNKNOWN, HM_STEP_STATE_MAX };

const char *hm_host_state_to_str(enum hm_host_state v);
const char *hm_storage_to_str(enum hm_storage v);
const char *hm_requested_to_str(enum hm_requested v);
const char *hm_ha_policy_to_str(enum hm_ha_policy v);
const char *hm_observed_to_str(enum hm_observed v);
const char *hm_job_kind_to_str(enum hm_job_kind v);
const char *hm_job_state_to_str(enum hm_job_state v);
const char *hm_step_action_to_str(enum hm_step_action v);
const char *hm_step_state_to_str(enum hm_step_state v);
int hm_host_state_from_str(const char *name, enum hm_host_state *ret);
int hm_storage_from_str(const char *name, enum hm_storage *ret);
int hm_requested_from_str(const char *name, enum hm_requested *ret);
int hm_ha_policy_from_str(const char *name, enum hm_ha_policy *ret);
int hm_observed_from_str(const char *name, enum hm_observed *ret);
int hm_job_kind_from_str(const char *name, enum hm_job_kind *ret);
int hm_job_state_from_str(const char *name, enum hm_job_state *ret);
int hm_step_action_from_str(const char *name, enum hm_step_action *ret);
int hm_step_state_from_str(const char *name, enum hm_step_state *ret);

/* uuids are canonical: 36 characters, lower-case hex, 8-4-4-4-12 */

struct hm_host {
	uint32_t nodeid;		/* corosync node id, > 0 */
	const char *name;		/* nodelist name: [A-Za-z0-9._:-]{1,255} */
	enum hm_host_state state;
	bool maintenance;
	bool disabled;
	bool reserved;			/* kept free for recovery */
	uint32_t vcpus;
	uint64_t memory_mib;
	const char *libvirt_uri;	/* NULL = none */
	const char *migration_uri;	/* NULL = none */
	const char *libvirt_uuid;	/* libvirt host uuid, unique; NULL = none */
	const char *boot_id;		/* NULL = none */
	int64_t updated_ms;
	/* the host's own view of the fence devices, from its last monitor: a
	 * JSON object {"<device id>": {"ok": bool, "ms": wall ms, "reason"}};
	 * NULL = none yet (schema 3) */
	const char *fence_view;
};

struct hm_instance {
	const char *uuid;		/* primary key */
	const char *name;		/* libvirt domain name, unique, no '/' */
	const char *domain_xml;		/* non-empty */
	uint32_t owner;			/* a host's nodeid; 0 = none */
	enum hm_storage storage;
	uint32_t vcpus;
	uint64_t memory_mib;
	enum hm_requested requested;
	enum hm_ha_policy ha_policy;
	int64_t priority;		/* higher is placed first */
	const char *affinity_group;	/* [A-Za-z0-9._-]{1,64}; NULL = none */
	enum hm_observed observed;
	int64_t updated_ms;
};

struct hm_policy_entry {
	const char *key;		/* [a-z0-9._-]{1,64} */
	const char *value;		/* at most 4096 bytes */
	uint64_t version;		/* the policy version that last set it */
};

struct hm_fence_device {
	uint32_t id;			/* > 0, chosen by the sender */
	uint32_t host;			/* the host it fences */
	uint32_t level;			/* >= 1; level 1 is tried first */
	const char *agent;		/* fence_ipmilan, ...: [A-Za-z0-9_-]{1,64} */
	const char *params;		/* a JSON object */
};

struct hm_job {
	uint64_t id;			/* > 0, chosen by the sender */
	enum hm_job_kind kind;
	enum hm_job_state state;
	uint32_t target_host;		/* 0 = none */
	int64_t created_ms;
	int64_t updated_ms;		/* >= created_ms */
	const char *reason;		/* NULL = none */
	const char *instance;		/* the one instance it is about (uuid), NULL = none */
};

struct hm_job_step {
	uint64_t job;			/* an existing job; steps go with it */
	uint32_t seq;
	const char *instance;		/* uuid; NULL = none (a fence step) */
	enum hm_step_action action;
	uint32_t host;			/* 0 = none */
	enum hm_step_state state;
	const char *result;		/* NULL = none */
	int64_t updated_ms;
	uint32_t target;		/* a second host (a migration's destination); 0 = none */
};

struct hm_history_event {
	uint64_t id;			/* > 0, chosen by the sender */
	int64_t ts_ms;
	const char *kind;		/* [a-z0-9._-]{1,64}, e.g. "host.lost" */
	uint32_t host;			/* 0 = none */
	const char *instance;		/* uuid; NULL = none */
	uint64_t job;			/* 0 = none */
	const char *message;
};

typedef int (*hm_host_fn)(const struct hm_host *row, void *data);
typedef int (*hm_instance_fn)(const struct hm_instance *row, void *data);
typedef int (*hm_policy_fn)(const struct hm_policy_entry *row, void *data);
typedef int (*hm_fence_device_fn)(const struct hm_fence_device *row, void *data);
typedef int (*hm_job_fn)(const struct hm_job *row, void *data);
typedef int (*hm_job_step_fn)(const struct hm_job_step *row, void *data);
typedef int (*hm_history_fn)(const struct hm_history_event *row, void *data);

int hm_store_host_upsert(struct hm_store *s, const struct hm_host *row);
int hm_store_host_get(struct hm_store *s, uint32_t nodeid, struct hm_host **ret);
int hm_store_host_get_by_name(struct hm_store *s, const char *name, struct hm_host **ret);
int hm_store_host_delete(struct hm_store *s, uint32_t nodeid);	/* fence devices go too */
int hm_store_host_list(struct hm_store *s, hm_host_fn fn, void *data);

int hm_store_instance_upsert(struct hm_store *s, const struct hm_instance *row);
int hm_store_instance_get(struct hm_store *s, const char *uuid, struct hm_instance **ret);
int hm_store_instance_get_by_name(struct hm_store *s, const char *name, struct hm_instance **ret);
int hm_store_instance_delete(struct hm_store *s, const char *uuid);
int hm_store_instance_list(struct hm_store *s, hm_instance_fn fn, void *data);
/* those whose uuid sorts after `after` (NULL: all), in uuid order; fn
 * returns non-zero to stop early (a page), and that value is returned */
int hm_store_instance_list_after(struct hm_store *s, const char *after, hm_instance_fn fn,
				 void *data);

/* Setting or deleting a key bumps the cluster policy version, and the entry
 * set records it. */
int hm_store_policy_set(struct hm_store *s, const char *key, const char *value,
			uint64_t *ret_version);
int hm_store_policy_get(struct hm_store *s, const char *key, struct hm_policy_entry **ret);
int hm_store_policy_delete(struct hm_store *s, const char *key);
int hm_store_policy_list(struct hm_store *s, hm_policy_fn fn, void *data);
int hm_store_policy_version(struct hm_store *s, uint64_t *ret);

int hm_store_fence_device_upsert(struct hm_store *s, const struct hm_fence_device *row);
int hm_store_fence_device_get(struct hm_store *s, uint32_t id, struct hm_fence_device **ret);
int hm_store_fence_device_delete(struct hm_store *s, uint32_t id);
int hm_store_fence_device_list(struct hm_store *s, hm_fence_device_fn fn, void *data);

int hm_store_job_upsert(struct hm_store *s, const struct hm_job *row);
int hm_store_job_get(struct hm_store *s, uint64_t id, struct hm_job **ret);
int hm_store_job_delete(struct hm_store *s, uint64_t id);	/* its steps go too */
int hm_store_job_list(struct hm_store *s, hm_job_fn fn, void *data);

int hm_store_job_step_upsert(struct hm_store *s, const struct hm_job_step *row);
int hm_store_job_step_get(struct hm_store *s, uint64_t job, uint32_t seq,
			  struct hm_job_step **ret);
int hm_store_job_step_delete(struct hm_store *s, uint64_t job, uint32_t seq);
/* the steps of one job, in seq order */
int hm_store_job_step_list(struct hm_store *s, uint64_t job, hm_job_step_fn fn, void *data);

/* History is append-only; -EEXIST for an id already there. */
int hm_store_history_append(struct hm_store *s, const struct hm_history_event *row);
int hm_store_history_get(struct hm_store *s, uint64_t id, struct hm_history_event **ret);
/* oldest first; host 0 = every event, else the events of that host */
int hm_store_history_list(struct hm_store *s, uint32_t host, hm_history_fn fn, void *data);
/* Delete events older than before_ms, and all but the keep newest;
 * ret_deleted (may be NULL) is how many went. */
int hm_store_history_prune(struct hm_store *s, int64_t before_ms, uint64_t keep,
			   uint64_t *ret_deleted);

/* Checksums of the replicated content (doc/store.md "Checksum"): equal on
 * two replicas holding the same rows, whatever order they were written in. */
enum hm_store_table {
	HM_TABLE_HOSTS = 0,
	HM_TABLE_INSTANCES,
	HM_TABLE_POLICY,	/* the rows and the policy version */
	HM_TABLE_FENCE_DEVICES,
	HM_TABLE_JOBS,
	HM_TABLE_JOB_STEPS,
	HM_TABLE_HISTORY,	/* not part of hm_store_checksum() */
	HM_TABLE_MAX
};
const char *hm_store_table_to_str(enum hm_store_table t);
int hm_store_table_checksum(struct hm_store *s, enum hm_store_table t,
			    uint8_t ret[HM_STORE_CHECKSUM_LEN]);
/* every table but history, and the schema version */
int hm_store_checksum(struct hm_store *s, uint8_t ret[HM_STORE_CHECKSUM_LEN]);

/*
 * Everything a sync compares, from one pass over the store: the checksum,
 * each table's checksum (as above) and the digests of each table's
 * HM_STORE_SYNC_BUCKETS buckets (as hm_store_table_digests() with that
 * many).  The store keeps them: a table is read again only after a
 * statement wrote it, a rollback, or a commit by another connection (an
 * operator's sqlite3); hm_store_checksum() and hm_store_table_checksum()
 * answer from the same.
 */
#define HM_STORE_SYNC_BUCKETS 256
#define HM_STORE_BUCKET_MAP (HM_STORE_SYNC_BUCKETS / 8)	/* a bit per bucket: b / 8, 1 << b % 8 */
struct hm_store_digest {
	uint8_t checksum[HM_STORE_CHECKSUM_LEN];
	uint8_t tables[HM_TABLE_MAX][HM_STORE_CHECKSUM_LEN];
	uint8_t buckets[HM_TABLE_MAX][HM_STORE_SYNC_BUCKETS][HM_STORE_CHECKSUM_LEN];
};
int hm_store_digest(struct hm_store *s, struct hm_store_digest *ret);

/*
 * Sync: rows as JSON, and digests of row ranges (doc/store.md "Sync").
 *
 * A row is a compact JSON object: the table's columns as keys, NULL as
 * null, every integer (booleans too) as a JSON integer holding the stored
 * signed 64-bit value, text as a JSON string (bytes as stored; '"', '\\'
 * and control characters escaped, so a row never holds a newline and rows
 * can be joined with '\n').  Dump and load round-trip exactly.  Rows are
 * assigned to one of n_buckets (1..HM_STORE_BUCKETS_MAX)
 * buckets by a stable hash of their primary key; a table with
 * n_buckets = 1 is one bucket.
 *
 * The receiver loads in a sync transaction: hm_store_sync_begin(); for each
 * table that differs, hm_store_table_load_bucket_begin() (or _load_begin())
 * for every bucket that differs, then hm_store_table_load_row() for each of
 * their rows, in any order of tables; hm_store_policy_version_set() if the
 * policy table differed; hm_store_pos_set(); hm_store_commit().  Foreign
 * keys are not enforced until the commit, which checks them all (-EINVAL
 * and rolled back on a reference to nothing), and deleting a host or a job
 * doesn't take its fence devices or steps with it.  On any failure,
 * hm_store_rollback(): the store is as before the sync.
 */
#define HM_STORE_BUCKETS_MAX 256

/* fn gets each row, NUL-terminated, valid only during the call; non-zero
 * stops the dump, which returns it.  fn may read the store, not write. */
typedef int (*hm_store_row_fn)(const char *row_json, size_t len, void *data);

/* every row of t in primary key order */
int hm_store_table_dump(struct hm_store *s, enum hm_store_table t, hm_store_row_fn fn,
			void *data);
/* the rows of one bucket, in primary key order */
int hm_store_table_dump_bucket(struct hm_store *s, enum hm_store_table t, unsigned n_buckets,
			       unsigned bucket, hm_store_row_fn fn, void *data);
/* ret[b] = the digest of bucket b, b < n_buckets: SHA-256 over its rows in
 * primary key order.  Equal on two replicas holding the same rows. */
int hm_store_table_digests(struct hm_store *s, enum hm_store_table t, unsigned n_buckets,
			   uint8_t (*ret)[HM_STORE_CHECKSUM_LEN]);

/* the rows of the buckets (of HM_STORE_SYNC_BUCKETS) set in map, in primary
 * key order, in one scan of t */
int hm_store_table_dump_buckets(struct hm_store *s, enum hm_store_table t,
				const uint8_t map[HM_STORE_BUCKET_MAP], hm_store_row_fn fn,
				void *data);

/* Begin a transaction that loads rows: like hm_store_begin(), with foreign
 * keys checked at commit only.  The load calls below give -EPERM outside
 * one. */
int hm_store_sync_begin(struct hm_store *s);
/* delete every row of t / the rows of one bucket of t */
int hm_store_table_load_begin(struct hm_store *s, enum hm_store_table t);
int hm_store_table_load_bucket_begin(struct hm_store *s, enum hm_store_table t,
				     unsigned n_buckets, unsigned bucket);
/* delete the rows of the buckets (of HM_STORE_SYNC_BUCKETS) set in map, in
 * one scan */
int hm_store_table_load_buckets_begin(struct hm_store *s, enum hm_store_table t,
				      const uint8_t map[HM_STORE_BUCKET_MAP]);
/* insert one row: -EBADMSG if row_json is not a JSON object with exactly
 * the table's columns, each a JSON integer, string or (where the column is
 * optional) null as the column is; -EINVAL for a value the schema refuses;
 * -EEXIST for a row already there or a unique value taken */
int hm_store_table_load_row(struct hm_store *s, enum hm_store_table t, const char *row_json,
			    size_t len);
/* the policy version of the sync's source; -EINVAL above INT64_MAX */
int hm_store_policy_version_set(struct hm_store *s, uint64_t version);

#endif
