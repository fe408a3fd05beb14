/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replicated state in sqlite3 (doc/store.md).
 *
 * Each table is described once, as an array of columns (name, kind, offset
 * in its struct).  The SQL is static text; every statement is prepared once
 * at open and checked against those descriptions (its columns' names, its
 * parameter count), then run by one helper that binds a struct's columns,
 * steps, and resets.  Reading a row, copying it for a get, hashing it for a
 * checksum all go through the descriptions; nothing is written per table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BUSY_TIMEOUT_MS 100	/* only the loop thread writes; never wait long */

/* ---- enums, stored by name ---- */

struct names {
	const char *const *v;
	unsigned int n;
};
#define NAMES(a) { a, ARRAY_SIZE(a) }

static const char *const host_state_v[] = {
	"unknown", "online", "degraded", "offline", "lost", "fenced", "unmanaged" };
static const char *const storage_v[] = { "shared", "volume", "local" };
static const char *const requested_v[] = { "started", "stopped" };
static const char *const ha_policy_v[] = { "ha", "none" };
static const char *const observed_v[] = {
	"running", "paused", "shutoff", "crashed", "unknown", "absent" };
static const char *const job_kind_v[] = { "recovery", "drain", "evacuate", "migrate", "fence" };
static const char *const job_state_v[] = {
	"accepted", "running", "done", "failed", "cancelled" };
static const char *const step_action_v[] = {
	"fence", "define", "start", "migrate", "destroy", "observe" };
static const char *const step_state_v[] = { "intent", "done", "failed", "unknown" };

static const struct names host_state_n = NAMES(host_state_v);
static const struct names storage_n = NAMES(storage_v);
static const struct names requested_n = NAMES(requested_v);
static const struct names ha_policy_n = NAMES(ha_policy_v);
static const struct names observed_n = NAMES(observed_v);
static const struct names job_kind_n = NAMES(job_kind_v);
static const struct names job_state_n = NAMES(job_state_v);
static const struct names step_action_n = NAMES(step_action_v);
static const struct names step_state_n = NAMES(step_state_v);

_Static_assert(ARRAY_SIZE(host_state_v) == HM_HOST_STATE_MAX, "host states");
_Static_assert(ARRAY_SIZE(storage_v) == HM_STORAGE_MAX, "storage");
_Static_assert(ARRAY_SIZE(requested_v) == HM_REQUESTED_MAX, "requested");
_Static_assert(ARRAY_SIZE(ha_policy_v) == HM_HA_POLICY_MAX, "ha policy");
_Static_assert(ARRAY_SIZE(observed_v) == HM_OBSERVED_MAX, "observed");
_Static_assert(ARRAY_SIZE(job_kind_v) == HM_JOB_KIND_MAX, "job kinds");
_Static_assert(ARRAY_SIZE(job_state_v) == HM_JOB_STATE_MAX, "job states");
_Static_assert(ARRAY_SIZE(step_action_v) == HM_STEP_ACTION_MAX, "step actions");
_Static_assert(ARRAY_SIZE(step_state_v) == HM_STEP_STATE_MAX, "step states");
/* enum fields are read and written as int */
_Static_assert(sizeof(enum hm_host_state) == sizeof(int), "enum size");

static const char *name_of(const struct names *e, int v)
{
	return v >= 0 && (unsigned int)v < e->n ? e->v[v] : "invalid";
}

static int value_of(const struct names *e, const char *name)
{
	unsigned int i;

	for (i = 0; name && i < e->n; i++)
		if (strcmp(e->v[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

#define ENUM_STR(type, n)							\
const char *hm_##type##_to_str(enum hm_##type v)				\
{										\
	return name_of(&n, (int)v);						\
}										\
int hm_##type##_from_str(const char *name, enum hm_##type *ret)		\
{										\
	int v = value_of(&n, name);						\
										\
	if (v < 0 || !ret)							\
		return -EINVAL;							\
	*ret = (enum hm_##type)v;						\
	return 0;								\
}
ENUM_STR(host_state, host_state_n)
ENUM_STR(storage, storage_n)
ENUM_STR(requested, requested_n)
ENUM_STR(ha_policy, ha_policy_n)
ENUM_STR(observed, observed_n)
ENUM_STR(job_kind, job_kind_n)
ENUM_STR(job_state, job_state_n)
ENUM_STR(step_action, step_action_n)
ENUM_STR(step_state, step_state_n)

/* ---- the schema, as migrations ---- */

/* canonical uuid: 8-4-4-4-12 lower-case hex; GLOB matches the whole text */
#define X4 "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
#define UUID_GLOB "'" X4 X4 "-" X4 "-" X4 "-" X4 "-" X4 X4 X4 "'"
#define NODEID_RANGE "BETWEEN 1 AND 4294967295"

/*
 * migrations[v] takes a store from schema version v to v + 1; each runs in
 * one transaction with its version bump.  Never edit a step once released:
 * add one.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value INTEGER NOT NULL"
	") STRICT;"
	"INSERT INTO meta (key, value) VALUES ('schema_version', 0),"
	" ('policy_version', 0), ('quorate_nodeid', 0), ('quorate_seq', 0),"
	" ('applied_seq', 0);"

	"CREATE TABLE hosts ("
	" nodeid INTEGER PRIMARY KEY CHECK (nodeid " NODEID_RANGE "),"
	" name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255"
	"  AND name NOT GLOB '*[^A-Za-z0-9._:-]*'),"
	" state TEXT NOT NULL CHECK (state IN ('unknown', 'online', 'degraded',"
	"  'offline', 'lost', 'fenced', 'unmanaged')),"
	" maintenance INTEGER NOT NULL CHECK (maintenance IN (0, 1)),"
	" disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),"
	" reserved INTEGER NOT NULL CHECK (reserved IN (0, 1)),"
	" vcpus INTEGER NOT NULL CHECK (vcpus >= 0),"
	" memory_mib INTEGER NOT NULL CHECK (memory_mib >= 0),"
	" libvirt_uri TEXT CHECK (length(libvirt_uri) BETWEEN 1 AND 1024),"
	" migration_uri TEXT CHECK (length(migration_uri) BETWEEN 1 AND 1024),"
	" libvirt_uuid TEXT UNIQUE CHECK (libvirt_uuid GLOB " UUID_GLOB "),"
	" boot_id TEXT CHECK (length(boot_id) BETWEEN 1 AND 64),"
	" updated_ms INTEGER NOT NULL CHECK (updated_ms >= 0)"
	") STRICT;"

	"CREATE TABLE instances ("
	" uuid TEXT PRIMARY KEY NOT NULL CHECK (uuid GLOB " UUID_GLOB "),"
	" name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255"
	"  AND instr(name, '/') = 0),"
	" domain_xml TEXT NOT NULL CHECK (length(domain_xml) > 0),"
	" owner INTEGER REFERENCES hosts (nodeid),"
	" storage TEXT NOT NULL CHECK (storage IN ('shared', 'volume', 'local')),"
	" vcpus INTEGER NOT NULL CHECK (vcpus >= 0),"
	" memory_mib INTEGER NOT NULL CHECK (memory_mib >= 0),"
	" requested TEXT NOT NULL CHECK (requested IN ('started', 'stopped')),"
	" ha_policy TEXT NOT NULL CHECK (ha_policy IN ('ha', 'none')),"
	" priority INTEGER NOT NULL,"
	" affinity_group TEXT CHECK (length(affinity_group) BETWEEN 1 AND 64"
	"  AND affinity_group NOT GLOB '*[^A-Za-z0-9._-]*'),"
	" observed TEXT NOT NULL CHECK (observed IN ('running', 'paused',"
	"  'shutoff', 'crashed', 'unknown', 'absent')),"
	" updated_ms INTEGER NOT NULL CHECK (updated_ms >= 0)"
	") STRICT;"
	"CREATE INDEX instances_owner ON instances (owner);"

	"CREATE TABLE policy ("
	" key TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 64"
	"  AND key NOT GLOB '*[^a-z0-9._-]*'),"
	" value TEXT NOT NULL CHECK (length(CAST(value AS BLOB)) <= 4096),"
	" version INTEGER NOT NULL CHECK (version >= 1)"
	") STRICT;"

	"CREATE TABLE fence_devices ("
	" id INTEGER PRIMARY KEY CHECK (id " NODEID_RANGE "),"
	" host INTEGER NOT NULL REFERENCES hosts (nodeid) ON DELETE CASCADE,"
	" level INTEGER NOT NULL CHECK (level " NODEID_RANGE "),"
	" agent TEXT NOT NULL CHECK (length(agent) BETWEEN 1 AND 64"
	"  AND agent NOT GLOB '*[^A-Za-z0-9_-]*'),"
	" params TEXT NOT NULL CHECK (CASE WHEN json_valid(params)"
	"  THEN json_type(params) = 'object' ELSE 0 END)"
	") STRICT;"
	"CREATE INDEX fence_devices_host ON fence_devices (host, level);"

	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY CHECK (id > 0),"
	" kind TEXT NOT NULL CHECK (kind IN ('recovery', 'drain', 'evacuate',"
	"  'migrate')),"
	" state TEXT NOT NULL CHECK (state IN ('accepted', 'running', 'done',"
	"  'failed', 'cancelled')),"
	" target_host INTEGER CHECK (target_host " NODEID_RANGE "),"
	" created_ms INTEGER NOT NULL CHECK (created_ms >= 0),"
	" updated_ms INTEGER NOT NULL CHECK (updated_ms >= created_ms),"
	" reason TEXT"
	") STRICT;"

	"CREATE TABLE job_steps ("
	" job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL CHECK (seq BETWEEN 0 AND 4294967295),"
	" instance TEXT CHECK (instance GLOB " UUID_GLOB "),"
	" action TEXT NOT NULL CHECK (action IN ('fence', 'define', 'start',"
	"  'migrate', 'destroy', 'observe')),"
	" host INTEGER CHECK (host " NODEID_RANGE "),"
	" state TEXT NOT NULL CHECK (state IN ('intent', 'done', 'failed',"
	"  'unknown')),"
	" result TEXT,"
	" updated_ms INTEGER NOT NULL CHECK (updated_ms >= 0),"
	" PRIMARY KEY (job, seq)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE history ("
	" id INTEGER PRIMARY KEY CHECK (id > 0),"
	" ts_ms INTEGER NOT NULL CHECK (ts_ms >= 0),"
	" kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64"
	"  AND kind NOT GLOB '*[^a-z0-9._-]*'),"
	" host INTEGER CHECK (host " NODEID_RANGE "),"
	" instance TEXT CHECK (instance GLOB " UUID_GLOB "),"
	" job INTEGER CHECK (job > 0),"
	" message TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX history_host ON history (host, id);"
	"CREATE INDEX history_ts ON history (ts_ms, id);",

	/* 1 -> 2: a job may be an operator's fence (`hamonctl fence HOST`);
	 * a CHECK changes only by rebuilding the table */
	"CREATE TABLE jobs_v2 ("
	" id INTEGER PRIMARY KEY CHECK (id > 0),"
	" kind TEXT NOT NULL CHECK (kind IN ('recovery', 'drain', 'evacuate',"
	"  'migrate', 'fence')),"
	" state TEXT NOT NULL CHECK (state IN ('accepted', 'running', 'done',"
	"  'failed', 'cancelled')),"
	" target_host INTEGER CHECK (target_host " NODEID_RANGE "),"
	" created_ms INTEGER NOT NULL CHECK (created_ms >= 0),"
	" updated_ms INTEGER NOT NULL CHECK (updated_ms >= created_ms),"
	" reason TEXT"
	") STRICT;"
	"INSERT INTO jobs_v2 SELECT * FROM jobs;"
	"DROP TABLE jobs;"
	"ALTER TABLE jobs_v2 RENAME TO jobs;",

	/* 2 -> 3: a step may name a second host (a migration's destination);
	 * a host publishes which fence devices its last monitor reached */
	"ALTER TABLE job_steps ADD COLUMN target INTEGER"
	" CHECK (target " NODEID_RANGE ");"
	"ALTER TABLE hosts ADD COLUMN fence_view TEXT CHECK (fence_view IS NULL OR"
	" (length(fence_view) <= 65536 AND CASE WHEN json_valid(fence_view)"
	"  THEN json_type(fence_view) = 'object' ELSE 0 END));"
	/* and a job may be about one instance (an operator's migration) */
	"ALTER TABLE jobs ADD COLUMN instance TEXT CHECK (instance GLOB " UUID_GLOB ");",
};
_Static_assert(ARRAY_SIZE(migrations) == HM_STORE_SCHEMA_VERSION, "a migration per version");

/* ---- tables, described once ---- */

enum kind {
	K_U32,		/* uint32_t */
	K_U32_OPT,	/* uint32_t, 0 <-> NULL */
	K_U64,		/* uint64_t */
	K_U64_OPT,	/* uint64_t, 0 <-> NULL */
	K_I64,		/* int64_t */
	K_BOOL,		/* bool */
	K_TEXT,		/* const char *, required */
	K_TEXT_OPT,	/* const char *, NULL <-> NULL */
	K_ENUM,		/* an enum, stored by name */
};

struct col {
	const char *name;	/* as the SELECTs name it: checked at open */
	enum kind kind;
	size_t off;
	const struct names *names;	/* K_ENUM */
};

#define C(type, field, kind) { #field, kind, offsetof(type, field), NULL }
#define E(type, field, n) { #field, K_ENUM, offsetof(type, field), &n }

static const struct col host_cols[] = {
	C(struct hm_host, nodeid, K_U32),
	C(struct hm_host, name, K_TEXT),
	E(struct hm_host, state, host_state_n),
	C(struct hm_host, maintenance, K_BOOL),
	C(struct hm_host, disabled, K_BOOL),
	C(struct hm_host, reserved, K_BOOL),
	C(struct hm_host, vcpus, K_U32),
	C(struct hm_host, memory_mib, K_U64),
	C(struct hm_host, libvirt_uri, K_TEXT_OPT),
	C(struct hm_host, migration_uri, K_TEXT_OPT),
	C(struct hm_host, libvirt_uuid, K_TEXT_OPT),
	C(struct hm_host, boot_id, K_TEXT_OPT),
	C(struct hm_host, updated_ms, K_I64),
	C(struct hm_host, fence_view, K_TEXT_OPT),
};
static const struct col instance_cols[] = {
	C(struct hm_instance, uuid, K_TEXT),
	C(struct hm_instance, name, K_TEXT),
	C(struct hm_instance, domain_xml, K_TEXT),
	C(struct hm_instance, owner, K_U32_OPT),
	E(struct hm_instance, storage, storage_n),
	C(struct hm_instance, vcpus, K_U32),
	C(struct hm_instance, memory_mib, K_U64),
	E(struct hm_instance, requested, requested_n),
	E(struct hm_instance, ha_policy, ha_policy_n),
	C(struct hm_instance, priority, K_I64),
	C(struct hm_instance, affinity_group, K_TEXT_OPT),
	E(struct hm_instance, observed, observed_n),
	C(struct hm_instance, updated_ms, K_I64),
};
static const struct col policy_cols[] = {
	C(struct hm_policy_entry, key, K_TEXT),
	C(struct hm_policy_entry, value, K_TEXT),
	C(struct hm_policy_entry, version, K_U64),
};
static const struct col fence_device_cols[] = {
	C(struct hm_fence_device, id, K_U32),
	C(struct hm_fence_device, host, K_U32),
	C(struct hm_fence_device, level, K_U32),
	C(struct hm_fence_device, agent, K_TEXT),
	C(struct hm_fence_device, params, K_TEXT),
};
static const struct col job_cols[] = {
	C(struct hm_job, id, K_U64),
	E(struct hm_job, kind, job_kind_n),
	E(struct hm_job, state, job_state_n),
	C(struct hm_job, target_host, K_U32_OPT),
	C(struct hm_job, created_ms, K_I64),
	C(struct hm_job, updated_ms, K_I64),
	C(struct hm_job, reason, K_TEXT_OPT),
	C(struct hm_job, instance, K_TEXT_OPT),
};
static const struct col job_step_cols[] = {
	C(struct hm_job_step, job, K_U64),
	C(struct hm_job_step, seq, K_U32),
	C(struct hm_job_step, instance, K_TEXT_OPT),
	E(struct hm_job_step, action, step_action_n),
	C(struct hm_job_step, host, K_U32_OPT),
	E(struct hm_job_step, state, step_state_n),
	C(struct hm_job_step, result, K_TEXT_OPT),
	C(struct hm_job_step, updated_ms, K_I64),
	C(struct hm_job_step, target, K_U32_OPT),
};
static const struct col history_cols[] = {
	C(struct hm_history_event, id, K_U64),
	C(struct hm_history_event, ts_ms, K_I64),
	C(struct hm_history_event, kind, K_TEXT),
	C(struct hm_history_event, host, K_U32_OPT),
	C(struct hm_history_event, instance, K_TEXT_OPT),
	C(struct hm_history_event, job, K_U64_OPT),
	C(struct hm_history_event, message, K_TEXT),
};

/* a row of any table, for reading one on the stack */
union row {
	struct hm_host host;
	struct hm_instance instance;
	struct hm_policy_entry policy;
	struct hm_fence_device fence_device;
	struct hm_job job;
	struct hm_job_step job_step;
	struct hm_history_event history;
};

/* the typed callbacks of the list functions */
union row_fn {
	void (*any)(void);
	hm_host_fn host;
	hm_instance_fn instance;
	hm_policy_fn policy;
	hm_fence_device_fn fence_device;
	hm_job_fn job;
	hm_job_step_fn job_step;
	hm_history_fn history;
};

/* ---- statements ---- */

enum stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	ST_POS_GET, ST_POS_SET, ST_POLICY_VERSION, ST_POLICY_BUMP,
	ST_HOST_UPSERT, ST_HOST_GET, ST_HOST_GET_BY_NAME, ST_HOST_DELETE, ST_HOST_LIST,
	ST_INSTANCE_UPSERT, ST_INSTANCE_GET, ST_INSTANCE_GET_BY_NAME, ST_INSTANCE_DELETE,
	ST_INSTANCE_LIST, ST_INSTANCE_LIST_AFTER,
	ST_POLICY_UPSERT, ST_POLICY_GET, ST_POLICY_DELETE, ST_POLICY_LIST,
	ST_FENCE_UPSERT, ST_FENCE_GET, ST_FENCE_DELETE, ST_FENCE_LIST,
	ST_JOB_UPSERT, ST_JOB_GET, ST_JOB_DELETE, ST_JOB_LIST,
	ST_STEP_UPSERT, ST_STEP_GET, ST_STEP_DELETE, ST_STEP_LIST_JOB, ST_STEP_LIST,
	ST_HISTORY_INSERT, ST_HISTORY_GET, ST_HISTORY_LIST, ST_HISTORY_PRUNE,
	ST_POLICY_VERSION_SET, ST_JSON_MEMBERS, ST_FK_CHECK, ST_DATA_VERSION,
	/* one of each per table, at + enum hm_store_table */
	ST_BUCKET_DUMP,
	ST_BUCKET_CLEAR = ST_BUCKET_DUMP + HM_TABLE_MAX,
	ST_LOAD = ST_BUCKET_CLEAR + HM_TABLE_MAX,
	ST_BUCKETS_CLEAR = ST_LOAD + HM_TABLE_MAX,
	ST_MAX = ST_BUCKETS_CLEAR + HM_TABLE_MAX
};

struct table {
	const char *name;
	size_t size;
	const struct col *col;
	unsigned int ncol;
	unsigned int npk;	/* the primary key: the first npk columns */
	enum stmt dump;		/* every row in primary key order */
};

#define TABLE(n, type, cols, npk, dump) \
	{ n, sizeof(type), cols, ARRAY_SIZE(cols), npk, dump }
static const struct table tables[HM_TABLE_MAX] = {
	[HM_TABLE_HOSTS] = TABLE("hosts", struct hm_host, host_cols, 1, ST_HOST_LIST),
	[HM_TABLE_INSTANCES] = TABLE("instances", struct hm_instance, instance_cols, 1,
				     ST_INSTANCE_LIST),
	[HM_TABLE_POLICY] = TABLE("policy", struct hm_policy_entry, policy_cols, 1,
				  ST_POLICY_LIST),
	[HM_TABLE_FENCE_DEVICES] = TABLE("fence_devices", struct hm_fence_device,
					 fence_device_cols, 1, ST_FENCE_LIST),
	[HM_TABLE_JOBS] = TABLE("jobs", struct hm_job, job_cols, 1, ST_JOB_LIST),
	[HM_TABLE_JOB_STEPS] = TABLE("job_steps", struct hm_job_step, job_step_cols, 2,
				     ST_STEP_LIST),
	[HM_TABLE_HISTORY] = TABLE("history", struct hm_history_event, history_cols, 1,
				   ST_HISTORY_LIST),
};

#define NO_TABLE HM_TABLE_MAX
#define ALL 0xffffffffu		/* every column, in order */
#define COL(i) (1u << (i))

/*
 * A statement of a table binds the columns in `params` (a mask of column
 * indices) of a struct to ?1..?n, and a SELECT returns the table's columns in
 * their described order.  Other statements, and those marked `ints`, bind
 * int64 arguments.
 */
struct stmt_def {
	const char *sql;
	enum hm_store_table table;
	uint32_t params;
	bool ints;
};

#define HOST_COLS "nodeid, name, state, maintenance, disabled, reserved, vcpus, " \
	"memory_mib, libvirt_uri, migration_uri, libvirt_uuid, boot_id, updated_ms, fence_view"
#define INSTANCE_COLS "uuid, name, domain_xml, owner, storage, vcpus, memory_mib, " \
	"requested, ha_policy, priority, affinity_group, observed, updated_ms"
#define POLICY_COLS "key, value, version"
#define FENCE_COLS "id, host, level, agent, params"
#define JOB_COLS "id, kind, state, target_host, created_ms, updated_ms, reason, instance"
#define STEP_COLS "job, seq, instance, action, host, state, result, updated_ms, target"
#define HISTORY_COLS "id, ts_ms, kind, host, instance, job, message"

/* Sync, per table: the rows of a bucket (hm_bucket(n_buckets, key...) is
 * the bucket of a key, see bucket_fn()) in primary key order, deleting
 * them, a plain insert of every column (the rows were deleted first), and
 * deleting the rows of several of the HM_STORE_SYNC_BUCKETS buckets in one
 * scan (hm_bucket_in(map, key...), see bucket_in_fn()). */
#define SYNC_STMTS(t, name, cols, pk, marks)					\
	[ST_BUCKET_DUMP + (t)] = { "SELECT " cols " FROM " name			\
		" WHERE hm_bucket(?1, " pk ") = ?2 ORDER BY " pk, (t), 0, true },	\
	[ST_BUCKET_CLEAR + (t)] = { "DELETE FROM " name				\
		" WHERE hm_bucket(?1, " pk ") = ?2", (t), 0, true },		\
	[ST_LOAD + (t)] = { "INSERT INTO " name " (" cols ") VALUES (" marks ")",	\
		(t), ALL },								\
	[ST_BUCKETS_CLEAR + (t)] = { "DELETE FROM " name				\
		" WHERE hm_bucket_in(?1, " pk ")", (t), 0, true }
#define MARKS3 "?, ?, ?"
#define MARKS5 MARKS3 ", ?, ?"
#define MARKS7 MARKS5 ", ?, ?"
#define MARKS8 MARKS7 ", ?"
#define MARKS9 MARKS8 ", ?"
#define MARKS13 MARKS8 ", ?, ?, ?, ?, ?"
#define MARKS14 MARKS13 ", ?"

static const struct stmt_def stmt_def[ST_MAX] = {
	/* BEGIN IMMEDIATE: take the write lock now, not at the first write */
	[ST_BEGIN] = { "BEGIN IMMEDIATE", NO_TABLE, 0 },
	[ST_COMMIT] = { "COMMIT", NO_TABLE, 0 },
	[ST_ROLLBACK] = { "ROLLBACK", NO_TABLE, 0 },
	/* one call = one savepoint, inside the caller's transaction or not */
	[ST_SAVEPOINT] = { "SAVEPOINT hm_call", NO_TABLE, 0 },
	[ST_RELEASE] = { "RELEASE hm_call", NO_TABLE, 0 },
	[ST_ROLLBACK_TO] = { "ROLLBACK TO hm_call", NO_TABLE, 0 },

	[ST_POS_GET] = { "SELECT"
		" (SELECT value FROM meta WHERE key = 'quorate_nodeid'),"
		" (SELECT value FROM meta WHERE key = 'quorate_seq'),"
		" (SELECT value FROM meta WHERE key = 'applied_seq')", NO_TABLE, 0 },
	[ST_POS_SET] = { "INSERT INTO meta (key, value) VALUES ('quorate_nodeid', ?1),"
		" ('quorate_seq', ?2), ('applied_seq', ?3)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value", NO_TABLE, 0 },
	[ST_POLICY_VERSION] = { "SELECT value FROM meta WHERE key = 'policy_version'",
		NO_TABLE, 0 },
	[ST_POLICY_BUMP] = { "UPDATE meta SET value = value + 1"
		" WHERE key = 'policy_version'", NO_TABLE, 0 },

	/* upserts update in place: INSERT OR REPLACE would delete the row first
	 * (firing ON DELETE CASCADE) and silently drop another row holding a
	 * unique value */
	[ST_HOST_UPSERT] = { "INSERT INTO hosts (" HOST_COLS ")"
		" VALUES (" MARKS14 ")"
		" ON CONFLICT (nodeid) DO UPDATE SET name = excluded.name,"
		" state = excluded.state, maintenance = excluded.maintenance,"
		" disabled = excluded.disabled, reserved = excluded.reserved,"
		" vcpus = excluded.vcpus, memory_mib = excluded.memory_mib,"
		" libvirt_uri = excluded.libvirt_uri, migration_uri = excluded.migration_uri,"
		" libvirt_uuid = excluded.libvirt_uuid, boot_id = excluded.boot_id,"
		" updated_ms = excluded.updated_ms, fence_view = excluded.fence_view",
		HM_TABLE_HOSTS, ALL },
	[ST_HOST_GET] = { "SELECT " HOST_COLS " FROM hosts WHERE nodeid = ?",
		HM_TABLE_HOSTS, COL(0) },
	[ST_HOST_GET_BY_NAME] = { "SELECT " HOST_COLS " FROM hosts WHERE name = ?",
		HM_TABLE_HOSTS, COL(1) },
	[ST_HOST_DELETE] = { "DELETE FROM hosts WHERE nodeid = ?", HM_TABLE_HOSTS, COL(0) },
	[ST_HOST_LIST] = { "SELECT " HOST_COLS " FROM hosts ORDER BY nodeid",
		HM_TABLE_HOSTS, 0 },

	[ST_INSTANCE_UPSERT] = { "INSERT INTO instances (" INSTANCE_COLS ")"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (uuid) DO UPDATE SET name = excluded.name,"
		" domain_xml = excluded.domain_xml, owner = excluded.owner,"
		" storage = excluded.storage, vcpus = excluded.vcpus,"
		" memory_mib = excluded.memory_mib, requested = excluded.requested,"
		" ha_policy = excluded.ha_policy, priority = excluded.priority,"
		" affinity_group = excluded.affinity_group, observed = excluded.observed,"
		" updated_ms = excluded.updated_ms", HM_TABLE_INSTANCES, ALL },
	[ST_INSTANCE_GET] = { "SELECT " INSTANCE_COLS " FROM instances WHERE uuid = ?",
		HM_TABLE_INSTANCES, COL(0) },
	[ST_INSTANCE_GET_BY_NAME] = { "SELECT " INSTANCE_COLS " FROM instances WHERE name = ?",
		HM_TABLE_INSTANCES, COL(1) },
	[ST_INSTANCE_DELETE] = { "DELETE FROM instances WHERE uuid = ?",
		HM_TABLE_INSTANCES, COL(0) },
	[ST_INSTANCE_LIST] = { "SELECT " INSTANCE_COLS " FROM instances ORDER BY uuid",
		HM_TABLE_INSTANCES, 0 },
	[ST_INSTANCE_LIST_AFTER] = { "SELECT " INSTANCE_COLS " FROM instances WHERE uuid > ?"
		" ORDER BY uuid", HM_TABLE_INSTANCES, COL(0) },

	/* the version an entry records is the policy version after the bump */
	[ST_POLICY_UPSERT] = { "INSERT INTO policy (" POLICY_COLS ") VALUES (?, ?,"
		" (SELECT value FROM meta WHERE key = 'policy_version'))"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
		" version = excluded.version", HM_TABLE_POLICY, COL(0) | COL(1) },
	[ST_POLICY_GET] = { "SELECT " POLICY_COLS " FROM policy WHERE key = ?",
		HM_TABLE_POLICY, COL(0) },
	[ST_POLICY_DELETE] = { "DELETE FROM policy WHERE key = ?", HM_TABLE_POLICY, COL(0) },
	[ST_POLICY_LIST] = { "SELECT " POLICY_COLS " FROM policy ORDER BY key",
		HM_TABLE_POLICY, 0 },

	[ST_FENCE_UPSERT] = { "INSERT INTO fence_devices (" FENCE_COLS ")"
		" VALUES (?, ?, ?, ?, ?)"
		" ON CONFLICT (id) DO UPDATE SET host = excluded.host, level = excluded.level,"
		" agent = excluded.agent, params = excluded.params",
		HM_TABLE_FENCE_DEVICES, ALL },
	[ST_FENCE_GET] = { "SELECT " FENCE_COLS " FROM fence_devices WHERE id = ?",
		HM_TABLE_FENCE_DEVICES, COL(0) },
	[ST_FENCE_DELETE] = { "DELETE FROM fence_devices WHERE id = ?",
		HM_TABLE_FENCE_DEVICES, COL(0) },
	[ST_FENCE_LIST] = { "SELECT " FENCE_COLS " FROM fence_devices ORDER BY id",
		HM_TABLE_FENCE_DEVICES, 0 },

	[ST_JOB_UPSERT] = { "INSERT INTO jobs (" JOB_COLS ") VALUES (" MARKS8 ")"
		" ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, state = excluded.state,"
		" target_host = excluded.target_host, created_ms = excluded.created_ms,"
		" updated_ms = excluded.updated_ms, reason = excluded.reason,"
		" instance = excluded.instance",
		HM_TABLE_JOBS, ALL },
	[ST_JOB_GET] = { "SELECT " JOB_COLS " FROM jobs WHERE id = ?", HM_TABLE_JOBS, COL(0) },
	[ST_JOB_DELETE] = { "DELETE FROM jobs WHERE id = ?", HM_TABLE_JOBS, COL(0) },
	[ST_JOB_LIST] = { "SELECT " JOB_COLS " FROM jobs ORDER BY id", HM_TABLE_JOBS, 0 },

	[ST_STEP_UPSERT] = { "INSERT INTO job_steps (" STEP_COLS ")"
		" VALUES (" MARKS9 ")"
		" ON CONFLICT (job, seq) DO UPDATE SET instance = excluded.instance,"
		" action = excluded.action, host = excluded.host, state = excluded.state,"
		" result = excluded.result, updated_ms = excluded.updated_ms,"
		" target = excluded.target",
		HM_TABLE_JOB_STEPS, ALL },
	[ST_STEP_GET] = { "SELECT " STEP_COLS " FROM job_steps WHERE job = ? AND seq = ?",
		HM_TABLE_JOB_STEPS, COL(0) | COL(1) },
	[ST_STEP_DELETE] = { "DELETE FROM job_steps WHERE job = ? AND seq = ?",
		HM_TABLE_JOB_STEPS, COL(0) | COL(1) },
	[ST_STEP_LIST_JOB] = { "SELECT " STEP_COLS " FROM job_steps WHERE job = ?"
		" ORDER BY seq", HM_TABLE_JOB_STEPS, COL(0) },
	[ST_STEP_LIST] = { "SELECT " STEP_COLS " FROM job_steps ORDER BY job, seq",
		HM_TABLE_JOB_STEPS, 0 },

	[ST_HISTORY_INSERT] = { "INSERT INTO history (" HISTORY_COLS ")"
		" VALUES (?, ?, ?, ?, ?, ?, ?)", HM_TABLE_HISTORY, ALL },
	[ST_HISTORY_GET] = { "SELECT " HISTORY_COLS " FROM history WHERE id = ?",
		HM_TABLE_HISTORY, COL(0) },
	[ST_HISTORY_LIST] = { "SELECT " HISTORY_COLS " FROM history"
		" WHERE ?1 IS NULL OR host = ?1 ORDER BY id", HM_TABLE_HISTORY, COL(3) },
	[ST_HISTORY_PRUNE] = { "DELETE FROM history WHERE ts_ms < ?1 OR id IN"
		" (SELECT id FROM history ORDER BY ts_ms DESC, id DESC LIMIT -1 OFFSET ?2)",
		NO_TABLE, 0 },

	[ST_POLICY_VERSION_SET] = { "UPDATE meta SET value = ?1"
		" WHERE key = 'policy_version'", NO_TABLE, 0 },
	/* the members of ?1 if it is a JSON object (strict RFC 8259: json_each
	 * alone would take JSON5 in newer sqlite), else no rows */
	[ST_JSON_MEMBERS] = { "SELECT key, type, atom FROM json_each(CASE WHEN"
		" json_valid(?1) THEN CASE json_type(?1) WHEN 'object' THEN ?1 END END)",
		NO_TABLE, 0 },
	/* a row per reference to nothing */
	[ST_FK_CHECK] = { "PRAGMA foreign_key_check", NO_TABLE, 0 },
	/* changes when another connection commits: a digest kept is stale */
	[ST_DATA_VERSION] = { "PRAGMA data_version", NO_TABLE, 0 },
	SYNC_STMTS(HM_TABLE_HOSTS, "hosts", HOST_COLS, "nodeid", MARKS14),
	SYNC_STMTS(HM_TABLE_INSTANCES, "instances", INSTANCE_COLS, "uuid", MARKS13),
	SYNC_STMTS(HM_TABLE_POLICY, "policy", POLICY_COLS, "key", MARKS3),
	SYNC_STMTS(HM_TABLE_FENCE_DEVICES, "fence_devices", FENCE_COLS, "id", MARKS5),
	SYNC_STMTS(HM_TABLE_JOBS, "jobs", JOB_COLS, "id", MARKS8),
	SYNC_STMTS(HM_TABLE_JOB_STEPS, "job_steps", STEP_COLS, "job, seq", MARKS9),
	SYNC_STMTS(HM_TABLE_HISTORY, "history", HISTORY_COLS, "id", MARKS7),
};

struct hm_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_MAX];
	bool in_tx;
	bool sync;	/* the transaction is hm_store_sync_begin()'s */
	/* digests kept between calls: a table's stay valid until a statement
	 * writes it, a rollback, or another connection's commit */
	struct hm_store_digest *digest;
	uint32_t digest_valid;	/* a bit per table */
	int64_t data_version;
};

static void digest_forget(struct hm_store *s, int id);
static int digest_refresh(struct hm_store *s);

/* ---- errors ---- */

static int sql_errno(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	}
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:	/* CHECK, NOT NULL, type, foreign key */
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:		/* CORRUPT, NOTADB, IOERR, CANTOPEN, ... */
		return -EIO;
	}
}

/* ---- rows <-> statements ---- */

#define FIELD(row, c, type) (*(type *)((char *)(row) + (c)->off))
#define CFIELD(row, c, type) (*(type const *)((const char *)(row) + (c)->off))

static int bind_col(sqlite3_stmt *st, int i, const struct col *c, const void *row)
{
	sqlite3_int64 v;
	const char *text;
	int e;

	switch (c->kind) {
	case K_U32:
	case K_U32_OPT:
		v = CFIELD(row, c, uint32_t);
		break;
	case K_U64:
	case K_U64_OPT:
		/* above INT64_MAX turns negative, which every CHECK refuses */
		v = (sqlite3_int64)CFIELD(row, c, uint64_t);
		break;
	case K_I64:
		v = CFIELD(row, c, int64_t);
		break;
	case K_BOOL:
		v = CFIELD(row, c, bool);
		break;
	case K_ENUM:
		e = CFIELD(row, c, int);
		if (e < 0 || (unsigned int)e >= c->names->n)
			return -EINVAL;
		return sql_errno(sqlite3_bind_text(st, i, c->names->v[e], -1, SQLITE_STATIC));
	case K_TEXT:
	case K_TEXT_OPT:
		text = CFIELD(row, c, const char *);
		if (!text && c->kind == K_TEXT)
			return -EINVAL;
		/* the caller's string lives through the call; bindings are
		 * cleared before we return */
		return sql_errno(sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC));
	default:
		return -EINVAL;
	}
	if (v == 0 && (c->kind == K_U32_OPT || c->kind == K_U64_OPT))
		return sql_errno(sqlite3_bind_null(st, i));
	return sql_errno(sqlite3_bind_int64(st, i, v));
}

static int read_row(sqlite3_stmt *st, const struct table *t, void *row)
{
	unsigned int i;
	int e;

	memset(row, 0, t->size);
	for (i = 0; i < t->ncol; i++) {
		const struct col *c = &t->col[i];
		sqlite3_int64 v = sqlite3_column_int64(st, (int)i);

		switch (c->kind) {
		case K_U32:
		case K_U32_OPT:
			FIELD(row, c, uint32_t) = (uint32_t)v;
			break;
		case K_U64:
		case K_U64_OPT:
			FIELD(row, c, uint64_t) = (uint64_t)v;
			break;
		case K_I64:
			FIELD(row, c, int64_t) = v;
			break;
		case K_BOOL:
			FIELD(row, c, bool) = v != 0;
			break;
		case K_TEXT:
		case K_TEXT_OPT:
			FIELD(row, c, const char *) = (const char *)sqlite3_column_text(st, (int)i);
			break;
		case K_ENUM:
			e = value_of(c->names, (const char *)sqlite3_column_text(st, (int)i));
			if (e < 0)
				return -EIO;	/* the CHECK allows it, we don't */
			FIELD(row, c, int) = e;
			break;
		}
	}
	return 0;
}

/* one malloc()ed block: the struct, then its strings */
static void *row_copy(const struct table *t, const void *row)
{
	size_t len = t->size;
	unsigned int i;
	char *copy, *tail;

	for (i = 0; i < t->ncol; i++) {
		const struct col *c = &t->col[i];

		if ((c->kind == K_TEXT || c->kind == K_TEXT_OPT) && CFIELD(row, c, const char *))
			len += strlen(CFIELD(row, c, const char *)) + 1;
	}
	copy = malloc(len);
	if (!copy)
		return NULL;
	memcpy(copy, row, t->size);
	tail = copy + t->size;
	for (i = 0; i < t->ncol; i++) {
		const struct col *c = &t->col[i];
		const char *text;

		if (c->kind != K_TEXT && c->kind != K_TEXT_OPT)
			continue;
		text = CFIELD(row, c, const char *);
		if (!text)
			continue;
		len = strlen(text) + 1;
		memcpy(tail, text, len);
		FIELD(copy, c, const char *) = tail;
		tail += len;
	}
	return copy;
}

typedef int (*row_cb)(sqlite3_stmt *st, void *ctx);

/*
 * The one way a statement runs: bind `args` (a struct of the statement's
 * table, or an array of int64 for the others; NULL when the caller bound
 * the parameters), step, call fn on each row until it returns non-zero,
 * then reset and clear the bindings whatever happened.  Returns fn's
 * non-zero value, or 0, or -errno.
 */
static int run(struct hm_store *s, enum stmt id, const void *args, row_cb fn, void *ctx)
{
	const struct stmt_def *d = &stmt_def[id];
	sqlite3_stmt *st = s->stmt[id];
	int i, n = sqlite3_bind_parameter_count(st), r = 0, rc = SQLITE_DONE;

	if (sqlite3_stmt_busy(st))
		return -EBUSY;	/* re-entered from a list callback */
	if (!args) {
		/* bound by the caller */
	} else if (d->table == NO_TABLE || d->ints) {
		for (i = 0; i < n && r == 0; i++)
			r = sql_errno(sqlite3_bind_int64(st, i + 1, ((const int64_t *)args)[i]));
	} else {
		const struct table *t = &tables[d->table];
		unsigned int c;

		for (c = 0, i = 1; c < t->ncol && r == 0; c++)
			if (d->params & COL(c))
				r = bind_col(st, i++, &t->col[c], args);
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = fn ? fn(st, ctx) : 0;
	if (r == 0)
		r = sql_errno(rc);
	/* whatever may have changed rows: even a failed write (undone or
	 * not), and rollbacks, which sqlite counts as read-only */
	if (!sqlite3_stmt_readonly(st) || id == ST_ROLLBACK || id == ST_ROLLBACK_TO)
		digest_forget(s, (int)id);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* ---- transactions ---- */

int hm_store_begin(struct hm_store *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (s->in_tx)
		return -EBUSY;
	r = run(s, ST_BEGIN, NULL, NULL, NULL);
	if (r == 0)
		s->in_tx = true;
	return r;
}

/*
 * A sync transaction runs with foreign keys off: deleting a bucket of hosts
 * or jobs must not cascade to fence devices or steps in other buckets (a
 * deferred check wouldn't help: cascades act at once).  The switch is a
 * flag pragma, which acts when it is compiled and is a no-op inside a
 * transaction: so it runs through sqlite3_exec(), outside the transaction,
 * and isn't one of the statements prepared once.
 */
static int exec_sql(sqlite3 *db, const char *sql);

int hm_store_sync_begin(struct hm_store *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (s->in_tx)
		return -EBUSY;
	r = exec_sql(s->db, "PRAGMA foreign_keys = OFF");
	if (r == 0)
		r = hm_store_begin(s);
	if (r < 0) {
		exec_sql(s->db, "PRAGMA foreign_keys = ON");
		return r;
	}
	s->sync = true;
	return 0;
}

/* the end of any transaction: a sync's turns foreign keys back on */
static int tx_end(struct hm_store *s, int r)
{
	int r2;

	s->in_tx = false;
	if (!s->sync)
		return r;
	s->sync = false;
	r2 = exec_sql(s->db, "PRAGMA foreign_keys = ON");
	return r < 0 ? r : r2;
}

static int stop_cb(sqlite3_stmt *st, void *ctx)
{
	(void)st;
	(void)ctx;
	return 1;
}

int hm_store_commit(struct hm_store *s)
{
	int r = 0;

	if (!s || !s->in_tx)
		return -EINVAL;
	/* sqlite rolls a transaction back by itself on some errors (I/O,
	 * full disk): then there is nothing left to commit */
	if (sqlite3_get_autocommit(s->db)) {
		s->digest_valid = 0;
		return tx_end(s, -EIO);
	}
	/* what a sync loaded must hold together: a reference to nothing is
	 * refused, as a write with foreign keys on would have been */
	if (s->sync) {
		r = run(s, ST_FK_CHECK, NULL, stop_cb, NULL);
		r = r == 1 ? -EINVAL : r;
	}
	if (r == 0)
		r = run(s, ST_COMMIT, NULL, NULL, NULL);
	if (r < 0 && !sqlite3_get_autocommit(s->db))
		run(s, ST_ROLLBACK, NULL, NULL, NULL);
	return tx_end(s, r);
}

int hm_store_rollback(struct hm_store *s)
{
	if (!s || !s->in_tx)
		return -EINVAL;
	s->digest_valid = 0;
	if (sqlite3_get_autocommit(s->db))
		return tx_end(s, 0);
	return tx_end(s, run(s, ST_ROLLBACK, NULL, NULL, NULL));
}

bool hm_store_in_transaction(const struct hm_store *s)
{
	return s && s->in_tx;
}

/* A call of several statements is one savepoint: atomic inside the
 * caller's transaction, its own transaction outside one. */
static int call_begin(struct hm_store *s)
{
	return run(s, ST_SAVEPOINT, NULL, NULL, NULL);
}

static int call_end(struct hm_store *s, int r)
{
	if (r < 0)
		run(s, ST_ROLLBACK_TO, NULL, NULL, NULL);
	run(s, ST_RELEASE, NULL, NULL, NULL);
	return r;
}

/* ---- generic row operations ---- */

static int write_row(struct hm_store *s, enum stmt id, const void *row)
{
	if (!s || !row)
		return -EINVAL;
	return run(s, id, row, NULL, NULL);
}

struct get_ctx {
	const struct table *t;
	void *copy;
};

static int get_cb(sqlite3_stmt *st, void *ctx)
{
	struct get_ctx *g = ctx;
	union row row;
	int r = read_row(st, g->t, &row);

	if (r < 0)
		return r;
	g->copy = row_copy(g->t, &row);
	return g->copy ? 1 : -ENOMEM;
}

/* ret is really a `struct X **` */
static int get_row(struct hm_store *s, enum stmt id, const void *key, void *ret)
{
	struct get_ctx g = { &tables[stmt_def[id].table], NULL };
	int r;

	if (!ret)
		return -EINVAL;
	memcpy(ret, &g.copy, sizeof(g.copy));
	if (!s)
		return -EINVAL;
	r = run(s, id, key, get_cb, &g);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	memcpy(ret, &g.copy, sizeof(g.copy));
	return 0;
}

static int delete_row(struct hm_store *s, enum stmt id, const void *key)
{
	int r;

	if (!s)
		return -EINVAL;
	r = run(s, id, key, NULL, NULL);
	/* a valid key breaks no CHECK: what a delete can break is a reference */
	if (r == -EINVAL)
		return -EBUSY;
	if (r == 0 && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return r;
}

struct list_ctx {
	enum hm_store_table t;
	union row_fn fn;
	void *data;
};

static int list_cb(sqlite3_stmt *st, void *ctx)
{
	struct list_ctx *l = ctx;
	union row row;
	int r = read_row(st, &tables[l->t], &row);

	if (r < 0)
		return r;
	switch (l->t) {
	case HM_TABLE_HOSTS:
		return l->fn.host(&row.host, l->data);
	case HM_TABLE_INSTANCES:
		return l->fn.instance(&row.instance, l->data);
	case HM_TABLE_POLICY:
		return l->fn.policy(&row.policy, l->data);
	case HM_TABLE_FENCE_DEVICES:
		return l->fn.fence_device(&row.fence_device, l->data);
	case HM_TABLE_JOBS:
		return l->fn.job(&row.job, l->data);
	case HM_TABLE_JOB_STEPS:
		return l->fn.job_step(&row.job_step, l->data);
	case HM_TABLE_HISTORY:
	default:
		return l->fn.history(&row.history, l->data);
	}
}

static int list_rows(struct hm_store *s, enum stmt id, const void *filter,
		     union row_fn fn, void *data)
{
	struct list_ctx l = { stmt_def[id].table, fn, data };

	if (!s || !fn.any)
		return -EINVAL;
	return run(s, id, filter, list_cb, &l);
}

/* ---- typed API ---- */

int hm_store_host_upsert(struct hm_store *s, const struct hm_host *row)
{
	return write_row(s, ST_HOST_UPSERT, row);
}

int hm_store_host_get(struct hm_store *s, uint32_t nodeid, struct hm_host **ret)
{
	const struct hm_host key = { .nodeid = nodeid };

	return get_row(s, ST_HOST_GET, &key, ret);
}

int hm_store_host_get_by_name(struct hm_store *s, const char *name, struct hm_host **ret)
{
	const struct hm_host key = { .name = name };

	return get_row(s, ST_HOST_GET_BY_NAME, &key, ret);
}

int hm_store_host_delete(struct hm_store *s, uint32_t nodeid)
{
	const struct hm_host key = { .nodeid = nodeid };

	return delete_row(s, ST_HOST_DELETE, &key);
}

int hm_store_host_list(struct hm_store *s, hm_host_fn fn, void *data)
{
	return list_rows(s, ST_HOST_LIST, NULL, (union row_fn){ .host = fn }, data);
}

int hm_store_instance_upsert(struct hm_store *s, const struct hm_instance *row)
{
	return write_row(s, ST_INSTANCE_UPSERT, row);
}

int hm_store_instance_get(struct hm_store *s, const char *uuid, struct hm_instance **ret)
{
	const struct hm_instance key = { .uuid = uuid };

	return get_row(s, ST_INSTANCE_GET, &key, ret);
}

int hm_store_instance_get_by_name(struct hm_store *s, const char *name,
				  struct hm_instance **ret)
{
	const struct hm_instance key = { .name = name };

	return get_row(s, ST_INSTANCE_GET_BY_NAME, &key, ret);
}

int hm_store_instance_delete(struct hm_store *s, const char *uuid)
{
	const struct hm_instance key = { .uuid = uuid };

	return delete_row(s, ST_INSTANCE_DELETE, &key);
}

int hm_store_instance_list(struct hm_store *s, hm_instance_fn fn, void *data)
{
	return list_rows(s, ST_INSTANCE_LIST, NULL, (union row_fn){ .instance = fn }, data);
}

int hm_store_instance_list_after(struct hm_store *s, const char *after, hm_instance_fn fn,
				 void *data)
{
	const struct hm_instance key = { .uuid = after };

	if (!after)
		return hm_store_instance_list(s, fn, data);
	return list_rows(s, ST_INSTANCE_LIST_AFTER, &key, (union row_fn){ .instance = fn }, data);
}

static int read_u64_cb(sqlite3_stmt *st, void *ctx)
{
	int i, n = sqlite3_column_count(st);

	for (i = 0; i < n; i++)
		((uint64_t *)ctx)[i] = (uint64_t)sqlite3_column_int64(st, i);
	return 1;
}

int hm_store_policy_version(struct hm_store *s, uint64_t *ret)
{
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = run(s, ST_POLICY_VERSION, NULL, read_u64_cb, ret);
	return r == 1 ? 0 : r < 0 ? r : -EIO;
}

int hm_store_policy_set(struct hm_store *s, const char *key, const char *value,
			uint64_t *ret_version)
{
	const struct hm_policy_entry e = { .key = key, .value = value };
	int r;

	if (!s || !key || !value)
		return -EINVAL;
	r = call_begin(s);
	if (r < 0)
		return r;
	r = run(s, ST_POLICY_BUMP, NULL, NULL, NULL);
	if (r == 0)
		r = run(s, ST_POLICY_UPSERT, &e, NULL, NULL);
	if (r == 0 && ret_version)
		r = hm_store_policy_version(s, ret_version);
	return call_end(s, r);
}

int hm_store_policy_get(struct hm_store *s, const char *key, struct hm_policy_entry **ret)
{
	const struct hm_policy_entry e = { .key = key };

	return get_row(s, ST_POLICY_GET, &e, ret);
}

int hm_store_policy_delete(struct hm_store *s, const char *key)
{
	const struct hm_policy_entry e = { .key = key };
	int r;

	if (!s || !key)
		return -EINVAL;
	r = call_begin(s);
	if (r < 0)
		return r;
	r = delete_row(s, ST_POLICY_DELETE, &e);
	if (r == 0)
		r = run(s, ST_POLICY_BUMP, NULL, NULL, NULL);
	return call_end(s, r);
}

int hm_store_policy_list(struct hm_store *s, hm_policy_fn fn, void *data)
{
	return list_rows(s, ST_POLICY_LIST, NULL, (union row_fn){ .policy = fn }, data);
}

int hm_store_fence_device_upsert(struct hm_store *s, const struct hm_fence_device *row)
{
	return write_row(s, ST_FENCE_UPSERT, row);
}

int hm_store_fence_device_get(struct hm_store *s, uint32_t id, struct hm_fence_device **ret)
{
	const struct hm_fence_device key = { .id = id };

	return get_row(s, ST_FENCE_GET, &key, ret);
}

int hm_store_fence_device_delete(struct hm_store *s, uint32_t id)
{
	const struct hm_fence_device key = { .id = id };

	return delete_row(s, ST_FENCE_DELETE, &key);
}

int hm_store_fence_device_list(struct hm_store *s, hm_fence_device_fn fn, void *data)
{
	return list_rows(s, ST_FENCE_LIST, NULL, (union row_fn){ .fence_device = fn }, data);
}

int hm_store_job_upsert(struct hm_store *s, const struct hm_job *row)
{
	return write_row(s, ST_JOB_UPSERT, row);
}

int hm_store_job_get(struct hm_store *s, uint64_t id, struct hm_job **ret)
{
	const struct hm_job key = { .id = id };

	return get_row(s, ST_JOB_GET, &key, ret);
}

int hm_store_job_delete(struct hm_store *s, uint64_t id)
{
	const struct hm_job key = { .id = id };

	return delete_row(s, ST_JOB_DELETE, &key);
}

int hm_store_job_list(struct hm_store *s, hm_job_fn fn, void *data)
{
	return list_rows(s, ST_JOB_LIST, NULL, (union row_fn){ .job = fn }, data);
}

int hm_store_job_step_upsert(struct hm_store *s, const struct hm_job_step *row)
{
	return write_row(s, ST_STEP_UPSERT, row);
}

int hm_store_job_step_get(struct hm_store *s, uint64_t job, uint32_t seq,
			  struct hm_job_step **ret)
{
	const struct hm_job_step key = { .job = job, .seq = seq };

	return get_row(s, ST_STEP_GET, &key, ret);
}

int hm_store_job_step_delete(struct hm_store *s, uint64_t job, uint32_t seq)
{
	const struct hm_job_step key = { .job = job, .seq = seq };

	return delete_row(s, ST_STEP_DELETE, &key);
}

int hm_store_job_step_list(struct hm_store *s, uint64_t job, hm_job_step_fn fn, void *data)
{
	const struct hm_job_step key = { .job = job };

	return list_rows(s, ST_STEP_LIST_JOB, &key, (union row_fn){ .job_step = fn }, data);
}

int hm_store_history_append(struct hm_store *s, const struct hm_history_event *row)
{
	return write_row(s, ST_HISTORY_INSERT, row);
}

int hm_store_history_get(struct hm_store *s, uint64_t id, struct hm_history_event **ret)
{
	const struct hm_history_event key = { .id = id };

	return get_row(s, ST_HISTORY_GET, &key, ret);
}

int hm_store_history_list(struct hm_store *s, uint32_t host, hm_history_fn fn, void *data)
{
	const struct hm_history_event key = { .host = host };

	return list_rows(s, ST_HISTORY_LIST, &key, (union row_fn){ .history = fn }, data);
}

int hm_store_history_prune(struct hm_store *s, int64_t before_ms, uint64_t keep,
			   uint64_t *ret_deleted)
{
	const int64_t args[2] = { before_ms, keep > INT64_MAX ? INT64_MAX : (int64_t)keep };
	int r;

	if (!s)
		return -EINVAL;
	r = run(s, ST_HISTORY_PRUNE, args, NULL, NULL);
	if (r == 0 && ret_deleted)
		*ret_deleted = (uint64_t)sqlite3_changes64(s->db);
	return r;
}

/* ---- position ---- */

int hm_store_pos_get(struct hm_store *s, struct hm_store_pos *ret)
{
	uint64_t v[3];
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = run(s, ST_POS_GET, NULL, read_u64_cb, v);
	if (r < 0)
		return r;
	ret->last_quorate.nodeid = (uint32_t)v[0];
	ret->last_quorate.seq = v[1];
	ret->applied_seq = v[2];
	return 0;
}

int hm_store_pos_set(struct hm_store *s, const struct hm_store_pos *pos)
{
	int64_t args[3];

	if (!s || !pos)
		return -EINVAL;
	/* uint64 kept as the same 64 bits */
	args[0] = pos->last_quorate.nodeid;
	args[1] = (int64_t)pos->last_quorate.seq;
	args[2] = (int64_t)pos->applied_seq;
	return run(s, ST_POS_SET, args, NULL, NULL);
}

/* ---- checksums: SHA-256 (FIPS 180-4) ---- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *c, const uint8_t *p)
{
	uint32_t w[64], v[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10)) + w[i - 7] +
		       (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16];
	memcpy(v, c->h, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
		t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(&v[1], &v[0], 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		c->h[i] += v[i];
}

static void sha256_init(struct sha256 *c)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(c->h, h0, sizeof(h0));
	c->len = 0;
}

static void sha256_update(struct sha256 *c, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n > 0) {
		size_t used = c->len % 64, take = 64 - used < n ? 64 - used : n;

		memcpy(c->buf + used, p, take);
		c->len += take;
		p += take;
		n -= take;
		if (c->len % 64 == 0)
			sha256_block(c, c->buf);
	}
}

static void sha256_final(struct sha256 *c, uint8_t out[HM_STORE_CHECKSUM_LEN])
{
	uint64_t bits = c->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t n = (c->len % 64 < 56 ? 56 : 120) - c->len % 64;
	int i;

	for (i = 0; i < 8; i++)
		pad[n + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(c, pad, n + 8);
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* canonical encoding of a value: a tag, then little-endian fixed-size
 * integers or a length-prefixed byte string */
static void hash_tag_u64(struct sha256 *h, char tag, uint64_t v)
{
	uint8_t b[9];
	int i;

	b[0] = (uint8_t)tag;
	for (i = 0; i < 8; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	sha256_update(h, b, sizeof(b));
}

static void hash_text(struct sha256 *h, const unsigned char *text, size_t len)
{
	hash_tag_u64(h, 'T', len);
	sha256_update(h, text, len);
}

static void hash_column(struct sha256 *h, sqlite3_stmt *st, int i)
{
	const unsigned char *text;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		sha256_update(h, "N", 1);
		break;
	case SQLITE_INTEGER:
		hash_tag_u64(h, 'I', (uint64_t)sqlite3_column_int64(st, i));
		break;
	default:	/* TEXT: STRICT tables hold nothing else */
		text = sqlite3_column_text(st, i);
		hash_text(h, text, (size_t)sqlite3_column_bytes(st, i));
		break;
	}
}

static int hash_row_cb(sqlite3_stmt *st, void *ctx)
{
	struct sha256 *h = ctx;
	int i, n = sqlite3_column_count(st);

	sha256_update(h, "R", 1);
	for (i = 0; i < n; i++)
		hash_column(h, st, i);
	return 0;
}

const char *hm_store_table_to_str(enum hm_store_table t)
{
	return (unsigned int)t < HM_TABLE_MAX ? tables[t].name : "invalid";
}

int hm_store_table_checksum(struct hm_store *s, enum hm_store_table t,
			    uint8_t ret[HM_STORE_CHECKSUM_LEN])
{
	int r;

	if (!s || !ret || (unsigned int)t >= HM_TABLE_MAX)
		return -EINVAL;
	r = digest_refresh(s);
	if (r == 0)
		memcpy(ret, s->digest->tables[t], HM_STORE_CHECKSUM_LEN);
	return r;
}

int hm_store_checksum(struct hm_store *s, uint8_t ret[HM_STORE_CHECKSUM_LEN])
{
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = digest_refresh(s);
	if (r == 0)
		memcpy(ret, s->digest->checksum, HM_STORE_CHECKSUM_LEN);
	return r;
}

int hm_store_digest(struct hm_store *s, struct hm_store_digest *ret)
{
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = digest_refresh(s);
	if (r == 0)
		memcpy(ret, s->digest, sizeof(*ret));
	return r;
}

/* ---- sync: rows as JSON, buckets and their digests ---- */

/*
 * The bucket of a row: SHA-256 over its primary key's values, encoded as in
 * the checksum ('I' + 8 bytes, 'T' + length + bytes), read as a big-endian
 * u64, modulo n_buckets.  bucket_fn() is the same for SQL: the bucket
 * statements select and delete with hm_bucket(n_buckets, key...).
 */
static unsigned int bucket_of(struct sha256 *h, unsigned int n_buckets)
{
	uint8_t d[HM_STORE_CHECKSUM_LEN];
	uint64_t v = 0;
	int i;

	sha256_final(h, d);
	for (i = 0; i < 8; i++)
		v = v << 8 | d[i];
	return (unsigned int)(v % n_buckets);
}

static unsigned int row_bucket(sqlite3_stmt *st, const struct table *t, unsigned int n_buckets)
{
	struct sha256 h;
	unsigned int i;

	sha256_init(&h);
	for (i = 0; i < t->npk; i++)
		hash_column(&h, st, (int)i);
	return bucket_of(&h, n_buckets);
}

static void bucket_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_int64 n = argc >= 2 ? sqlite3_value_int64(argv[0]) : 0;
	const unsigned char *text;
	struct sha256 h;
	int i;

	if (n < 1 || n > HM_STORE_BUCKETS_MAX) {
		sqlite3_result_error(ctx, "hm_bucket: bad arguments", -1);
		return;
	}
	sha256_init(&h);
	for (i = 1; i < argc; i++) {
		switch (sqlite3_value_type(argv[i])) {
		case SQLITE_NULL:
			sha256_update(&h, "N", 1);
			break;
		case SQLITE_INTEGER:
			hash_tag_u64(&h, 'I', (uint64_t)sqlite3_value_int64(argv[i]));
			break;
		default:
			text = sqlite3_value_text(argv[i]);
			hash_text(&h, text, (size_t)sqlite3_value_bytes(argv[i]));
			break;
		}
	}
	sqlite3_result_int64(ctx, bucket_of(&h, (unsigned int)n));
}

/* hm_bucket_in(map, key...): 1 if the key's bucket of HM_STORE_SYNC_BUCKETS
 * is set in map (a blob of HM_STORE_BUCKET_MAP bytes, a bit per bucket) */
static void bucket_in_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const uint8_t *map = argc >= 2 ? sqlite3_value_blob(argv[0]) : NULL;
	const unsigned char *text;
	struct sha256 h;
	unsigned int b;
	int i;

	if (!map || sqlite3_value_bytes(argv[0]) != HM_STORE_BUCKET_MAP) {
		sqlite3_result_error(ctx, "hm_bucket_in: bad arguments", -1);
		return;
	}
	sha256_init(&h);
	for (i = 1; i < argc; i++) {
		switch (sqlite3_value_type(argv[i])) {
		case SQLITE_NULL:
			sha256_update(&h, "N", 1);
			break;
		case SQLITE_INTEGER:
			hash_tag_u64(&h, 'I', (uint64_t)sqlite3_value_int64(argv[i]));
			break;
		default:
			text = sqlite3_value_text(argv[i]);
			hash_text(&h, text, (size_t)sqlite3_value_bytes(argv[i]));
			break;
		}
	}
	b = bucket_of(&h, HM_STORE_SYNC_BUCKETS);
	sqlite3_result_int(ctx, (map[b / 8] >> (b % 8)) & 1);
}

static int bucket_args(struct hm_store *s, enum hm_store_table t, unsigned int n_buckets,
		       unsigned int bucket, int64_t args[2])
{
	if (!s || (unsigned int)t >= HM_TABLE_MAX || n_buckets < 1 ||
	    n_buckets > HM_STORE_BUCKETS_MAX || bucket >= n_buckets)
		return -EINVAL;
	args[0] = n_buckets;
	args[1] = bucket;
	return 0;
}

struct digests_ctx {
	const struct table *t;
	unsigned int n;
	struct sha256 h[HM_STORE_BUCKETS_MAX];
};

static int digest_row_cb(sqlite3_stmt *st, void *ctx)
{
	struct digests_ctx *d = ctx;

	return hash_row_cb(st, &d->h[row_bucket(st, d->t, d->n)]);
}

int hm_store_table_digests(struct hm_store *s, enum hm_store_table t, unsigned n_buckets,
			   uint8_t (*ret)[HM_STORE_CHECKSUM_LEN])
{
	const union row all = { .history = { .host = 0 } };	/* no filter */
	struct digests_ctx d;
	int64_t args[2];
	unsigned int b;
	int r;

	r = bucket_args(s, t, n_buckets, 0, args);
	if (r < 0 || !ret)
		return -EINVAL;
	d.t = &tables[t];
	d.n = n_buckets;
	for (b = 0; b < n_buckets; b++) {
		sha256_init(&d.h[b]);
		sha256_update(&d.h[b], d.t->name, strlen(d.t->name) + 1);
		hash_tag_u64(&d.h[b], 'B', n_buckets);
		hash_tag_u64(&d.h[b], 'b', b);
	}
	r = run(s, d.t->dump, &all, digest_row_cb, &d);
	if (r < 0)
		return r;
	for (b = 0; b < n_buckets; b++)
		sha256_final(&d.h[b], ret[b]);
	return 0;
}

/*
 * One pass over a table gives its checksum (doc/store.md "Checksum") and
 * the digests of its HM_STORE_SYNC_BUCKETS buckets (as
 * hm_store_table_digests() with that many), each row read once.
 */
struct table_pass {
	const struct table *t;
	struct sha256 sum;
	struct sha256 bucket[HM_STORE_SYNC_BUCKETS];
};

static int table_pass_row_cb(sqlite3_stmt *st, void *ctx)
{
	struct table_pass *p = ctx;

	hash_row_cb(st, &p->sum);
	return hash_row_cb(st, &p->bucket[row_bucket(st, p->t, HM_STORE_SYNC_BUCKETS)]);
}

static int table_digest(struct hm_store *s, enum hm_store_table t, struct hm_store_digest *d)
{
	const union row all = { .history = { .host = 0 } };	/* no filter */
	struct table_pass *p = malloc(sizeof(*p));
	uint64_t version;
	unsigned int b;
	int r;

	if (!p)
		return -ENOMEM;
	p->t = &tables[t];
	sha256_init(&p->sum);
	sha256_update(&p->sum, p->t->name, strlen(p->t->name) + 1);
	for (b = 0; b < HM_STORE_SYNC_BUCKETS; b++) {
		sha256_init(&p->bucket[b]);
		sha256_update(&p->bucket[b], p->t->name, strlen(p->t->name) + 1);
		hash_tag_u64(&p->bucket[b], 'B', HM_STORE_SYNC_BUCKETS);
		hash_tag_u64(&p->bucket[b], 'b', b);
	}
	r = run(s, p->t->dump, &all, table_pass_row_cb, p);
	if (r == 0 && t == HM_TABLE_POLICY) {
		r = hm_store_policy_version(s, &version);
		hash_tag_u64(&p->sum, 'V', version);
	}
	if (r == 0) {
		sha256_final(&p->sum, d->tables[t]);
		for (b = 0; b < HM_STORE_SYNC_BUCKETS; b++)
			sha256_final(&p->bucket[b], d->buckets[t][b]);
	}
	free(p);
	return r;
}

static int read_i64_cb(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 0;
}

/* a statement wrote (or undid) rows: the digests of what it touched go */
static void digest_forget(struct hm_store *s, int id)
{
	enum hm_store_table t;

	switch (id) {
	case ST_BEGIN: case ST_COMMIT: case ST_SAVEPOINT: case ST_RELEASE: case ST_POS_SET:
		return;		/* no replicated content */
	case ST_POLICY_BUMP: case ST_POLICY_VERSION_SET:
		s->digest_valid &= ~(1u << HM_TABLE_POLICY);
		return;
	case ST_HISTORY_PRUNE:
		s->digest_valid &= ~(1u << HM_TABLE_HISTORY);
		return;
	default:
		break;
	}
	if (stmt_def[id].table == NO_TABLE) {
		s->digest_valid = 0;	/* a rollback, or a write we cannot place */
		return;
	}
	t = stmt_def[id].table;
	s->digest_valid &= ~(1u << t);
	/* ON DELETE CASCADE */
	if (t == HM_TABLE_HOSTS)
		s->digest_valid &= ~(1u << HM_TABLE_FENCE_DEVICES);
	if (t == HM_TABLE_JOBS)
		s->digest_valid &= ~(1u << HM_TABLE_JOB_STEPS);
}

/* bring s->digest up to date: only the tables changed since it was made
 * are read again, all of them if another connection committed */
static int digest_refresh(struct hm_store *s)
{
	struct sha256 h;
	int64_t version = 0;
	int t, r;

	if (!s->digest) {
		s->digest = calloc(1, sizeof(*s->digest));
		if (!s->digest)
			return -ENOMEM;
		s->digest_valid = 0;
	}
	r = call_begin(s);	/* one read transaction */
	if (r < 0)
		return r;
	r = run(s, ST_DATA_VERSION, NULL, read_i64_cb, &version);
	if (r == 0 && version != s->data_version) {
		s->digest_valid = 0;
		s->data_version = version;
	}
	for (t = 0; t < HM_TABLE_MAX && r == 0; t++) {
		if (s->digest_valid & (1u << t))
			continue;
		r = table_digest(s, (enum hm_store_table)t, s->digest);
		if (r == 0)
			s->digest_valid |= 1u << t;
	}
	if (r == 0) {
		/* the whole: the schema version and every table's checksum but history's */
		sha256_init(&h);
		hash_tag_u64(&h, 'S', HM_STORE_SCHEMA_VERSION);
		for (t = 0; t < HM_TABLE_MAX; t++)
			if (t != HM_TABLE_HISTORY)
				sha256_update(&h, s->digest->tables[t], HM_STORE_CHECKSUM_LEN);
		sha256_final(&h, s->digest->checksum);
	}
	if (r < 0)
		s->digest_valid = 0;
	return call_end(s, r);
}

/* a growing buffer, for one row's JSON */
struct json_buf {
	char *p;
	size_t len, cap;
};

static int json_put(struct json_buf *j, const char *data, size_t n)
{
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *p;

		while (cap < j->len + n + 1)
			cap *= 2;
		p = realloc(j->p, cap);
		if (!p)
			return -ENOMEM;
		j->p = p;
		j->cap = cap;
	}
	memcpy(j->p + j->len, data, n);
	j->len += n;
	j->p[j->len] = '\0';
	return 0;
}

/* RFC 8259 string: '"', '\' and control characters escaped, every other
 * byte as it is (the text round-trips byte for byte) */
static int json_put_string(struct json_buf *j, const unsigned char *text, size_t len)
{
	size_t i, from = 0;
	char esc[8];
	int r = json_put(j, "\"", 1);

	for (i = 0; i < len && r == 0; i++) {
		if (text[i] >= 0x20 && text[i] != '"' && text[i] != '\\')
			continue;
		r = json_put(j, (const char *)text + from, i - from);
		if (r == 0 && (text[i] == '"' || text[i] == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)text[i];
			r = json_put(j, esc, 2);
		} else if (r == 0) {
			snprintf(esc, sizeof(esc), "\\u%04x", text[i]);
			r = json_put(j, esc, 6);
		}
		from = i + 1;
	}
	if (r == 0)
		r = json_put(j, (const char *)text + from, len - from);
	return r == 0 ? json_put(j, "\"", 1) : r;
}

struct dump_ctx {
	const struct table *t;
	struct json_buf j;
	hm_store_row_fn fn;
	void *data;
};

static int dump_row_cb(sqlite3_stmt *st, void *ctx)
{
	struct dump_ctx *d = ctx;
	char num[32];
	unsigned int i;
	int r;

	d->j.len = 0;
	r = json_put(&d->j, "{", 1);
	for (i = 0; i < d->t->ncol && r == 0; i++) {
		const char *name = d->t->col[i].name;

		if (i > 0)
			r = json_put(&d->j, ",", 1);
		/* column names need no escaping: [a-z_] */
		if (r == 0)
			r = json_put(&d->j, "\"", 1);
		if (r == 0)
			r = json_put(&d->j, name, strlen(name));
		if (r == 0)
			r = json_put(&d->j, "\":", 2);
		if (r < 0)
			break;
		switch (sqlite3_column_type(st, (int)i)) {
		case SQLITE_NULL:
			r = json_put(&d->j, "null", 4);
			break;
		case SQLITE_INTEGER:
			snprintf(num, sizeof(num), "%lld",
				 (long long)sqlite3_column_int64(st, (int)i));
			r = json_put(&d->j, num, strlen(num));
			break;
		default:
			r = json_put_string(&d->j, sqlite3_column_text(st, (int)i),
					    (size_t)sqlite3_column_bytes(st, (int)i));
			break;
		}
	}
	if (r == 0)
		r = json_put(&d->j, "}", 1);
	return r < 0 ? r : d->fn(d->j.p, d->j.len, d->data);
}

static int dump(struct hm_store *s, enum hm_store_table t, enum stmt id, const void *args,
		hm_store_row_fn fn, void *data)
{
	struct dump_ctx d = { &tables[t], { NULL, 0, 0 }, fn, data };
	int r;

	if (!fn)
		return -EINVAL;
	r = run(s, id, args, dump_row_cb, &d);
	free(d.j.p);
	return r;
}

int hm_store_table_dump(struct hm_store *s, enum hm_store_table t, hm_store_row_fn fn,
			void *data)
{
	const union row all = { .history = { .host = 0 } };	/* no filter */

	if (!s || (unsigned int)t >= HM_TABLE_MAX)
		return -EINVAL;
	return dump(s, t, tables[t].dump, &all, fn, data);
}

int hm_store_table_dump_bucket(struct hm_store *s, enum hm_store_table t, unsigned n_buckets,
			       unsigned bucket, hm_store_row_fn fn, void *data)
{
	int64_t args[2];
	int r = bucket_args(s, t, n_buckets, bucket, args);

	return r < 0 ? r : dump(s, t, ST_BUCKET_DUMP + t, args, fn, data);
}

struct filter_ctx {
	struct dump_ctx d;
	const uint8_t *map;
};

static int filtered_row_cb(sqlite3_stmt *st, void *ctx)
{
	struct filter_ctx *f = ctx;
	unsigned int b = row_bucket(st, f->d.t, HM_STORE_SYNC_BUCKETS);

	if (!(f->map[b / 8] & (1u << (b % 8))))
		return 0;
	return dump_row_cb(st, &f->d);
}

int hm_store_table_dump_buckets(struct hm_store *s, enum hm_store_table t,
				const uint8_t map[HM_STORE_BUCKET_MAP], hm_store_row_fn fn,
				void *data)
{
	const union row all = { .history = { .host = 0 } };	/* no filter */
	struct filter_ctx f = { { &tables[t < HM_TABLE_MAX ? t : 0], { NULL, 0, 0 }, fn, data }, map };
	int r;

	if (!s || (unsigned int)t >= HM_TABLE_MAX || !map || !fn)
		return -EINVAL;
	r = run(s, tables[t].dump, &all, filtered_row_cb, &f);
	free(f.d.j.p);
	return r;
}

int hm_store_table_load_buckets_begin(struct hm_store *s, enum hm_store_table t,
				      const uint8_t map[HM_STORE_BUCKET_MAP])
{
	sqlite3_stmt *st;
	int r;

	if (!s || (unsigned int)t >= HM_TABLE_MAX || !map)
		return -EINVAL;
	if (!s->sync)
		return -EPERM;
	st = s->stmt[ST_BUCKETS_CLEAR + t];
	r = sql_errno(sqlite3_bind_blob(st, 1, map, HM_STORE_BUCKET_MAP, SQLITE_STATIC));
	if (r < 0) {
		sqlite3_clear_bindings(st);
		return r;
	}
	return run(s, ST_BUCKETS_CLEAR + t, NULL, NULL, NULL);
}

int hm_store_table_load_bucket_begin(struct hm_store *s, enum hm_store_table t,
				     unsigned n_buckets, unsigned bucket)
{
	int64_t args[2];
	int r = bucket_args(s, t, n_buckets, bucket, args);

	if (r < 0)
		return r;
	if (!s->sync)
		return -EPERM;
	return run(s, ST_BUCKET_CLEAR + t, args, NULL, NULL);
}

int hm_store_table_load_begin(struct hm_store *s, enum hm_store_table t)
{
	return hm_store_table_load_bucket_begin(s, t, 1, 0);
}

struct load_ctx {
	const struct table *t;
	sqlite3_stmt *insert;
	uint32_t seen;		/* a bit per column */
	bool refused;		/* a value the schema refuses */
};

/* the range of an integer column, as the C struct holds it; 0 stands for
 * NULL in the optional ones */
static bool int_in_range(enum kind k, sqlite3_int64 v)
{
	switch (k) {
	case K_U32:
		return v >= 0 && v <= UINT32_MAX;
	case K_U32_OPT:
		return v >= 1 && v <= UINT32_MAX;
	case K_U64:
		return v >= 0;
	case K_U64_OPT:
		return v >= 1;
	case K_BOOL:
		return v == 0 || v == 1;
	default:
		return true;
	}
}

/* one member of the row's JSON object: its key names a column not seen
 * yet, and its JSON type is the column's.  -EBADMSG for a message that is
 * not a row of the table; a value the table refuses is noted, so that a
 * malformed row is -EBADMSG whatever else is wrong with it. */
static int load_member_cb(sqlite3_stmt *st, void *ctx)
{
	struct load_ctx *l = ctx;
	const char *key = (const char *)sqlite3_column_text(st, 0);
	const char *type = (const char *)sqlite3_column_text(st, 1);
	const struct col *c;
	const unsigned char *text;
	sqlite3_int64 v;
	unsigned int i;
	size_t len;
	bool optional, is_text;

	for (i = 0; i < l->t->ncol; i++)
		if (key && strcmp(l->t->col[i].name, key) == 0)
			break;
	if (i == l->t->ncol || !type || (l->seen & COL(i)))
		return -EBADMSG;	/* unknown or repeated */
	l->seen |= COL(i);
	c = &l->t->col[i];
	optional = c->kind == K_U32_OPT || c->kind == K_U64_OPT || c->kind == K_TEXT_OPT;
	is_text = c->kind == K_TEXT || c->kind == K_TEXT_OPT || c->kind == K_ENUM;

	if (strcmp(type, "null") == 0) {
		if (!optional)
			return -EBADMSG;
		return sql_errno(sqlite3_bind_null(l->insert, (int)i + 1));
	}
	if (is_text) {
		if (strcmp(type, "text") != 0)
			return -EBADMSG;
		text = sqlite3_column_text(st, 2);
		len = (size_t)sqlite3_column_bytes(st, 2);
		if (!text || memchr(text, '\0', len)) {
			l->refused = true;	/* "\u0000": no C string holds it */
			return 0;
		}
		return sql_errno(sqlite3_bind_text64(l->insert, (int)i + 1, (const char *)text,
						     len, SQLITE_TRANSIENT, SQLITE_UTF8));
	}
	/* an integer beyond 64 bits comes out of sqlite as a real */
	if (strcmp(type, "integer") != 0 || sqlite3_column_type(st, 2) != SQLITE_INTEGER)
		return -EBADMSG;
	v = sqlite3_column_int64(st, 2);
	if (!int_in_range(c->kind, v)) {
		l->refused = true;
		return 0;
	}
	return sql_errno(sqlite3_bind_int64(l->insert, (int)i + 1, v));
}

/* "\u0000" in a string: sqlite 3.40 cuts the string there, silently; no
 * C string could hold it anyway.  In valid JSON a backslash is always in a
 * string and starts an escape. */
static bool has_nul_escape(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] == 'u' && i + 6 <= len && memcmp(p + i + 2, "0000", 4) == 0)
			return true;
		i++;	/* the escaped character */
	}
	return false;
}

int hm_store_table_load_row(struct hm_store *s, enum hm_store_table t, const char *row_json,
			    size_t len)
{
	struct load_ctx l;
	int r;

	if (!s || (unsigned int)t >= HM_TABLE_MAX || !row_json)
		return -EINVAL;
	if (!s->sync)
		return -EPERM;
	/* sqlite's JSON parser would stop at a NUL and take the rest for
	 * nothing */
	if (len == 0 || memchr(row_json, '\0', len))
		return -EBADMSG;
	l = (struct load_ctx){ &tables[t], s->stmt[ST_LOAD + t], 0,
			       has_nul_escape(row_json, len) };
	r = sql_errno(sqlite3_bind_text64(s->stmt[ST_JSON_MEMBERS], 1, row_json, len,
					  SQLITE_STATIC, SQLITE_UTF8));
	if (r == 0)
		r = run(s, ST_JSON_MEMBERS, NULL, load_member_cb, &l);
	else
		sqlite3_clear_bindings(s->stmt[ST_JSON_MEMBERS]);
	if (r == 0 && l.seen != COL(l.t->ncol) - 1)
		r = -EBADMSG;	/* a column missing, or not an object */
	if (r == 0 && l.refused)
		r = -EINVAL;
	if (r == 0)
		return run(s, ST_LOAD + t, NULL, NULL, NULL);
	sqlite3_clear_bindings(l.insert);
	return r;
}

int hm_store_policy_version_set(struct hm_store *s, uint64_t version)
{
	const int64_t args[1] = { (int64_t)version };

	if (!s || version > INT64_MAX)
		return -EINVAL;
	return run(s, ST_POLICY_VERSION_SET, args, NULL, NULL);
}

/* ---- open, migrate, close ---- */

static int exec_sql(sqlite3 *db, const char *sql)
{
	return sql_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* The first column of the first row: as an integer in *ret, or compared
 * with want (-EIO when different).  -ENOENT when there is no row. */
static int query_one(sqlite3 *db, const char *sql, int64_t *ret, const char *want)
{
	sqlite3_stmt *st;
	int rc, r;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);

		r = 0;
		if (ret)
			*ret = sqlite3_column_int64(st, 0);
		if (want && (!text || strcmp(text, want) != 0))
			r = -EIO;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : sql_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

static int schema_version(sqlite3 *db, int64_t *ret)
{
	int64_t n;
	int r;

	r = query_one(db, "SELECT count(*) FROM sqlite_master", &n, NULL);
	if (r < 0 || n == 0) {
		*ret = 0;	/* a new, empty file */
		return r;
	}
	r = query_one(db, "SELECT value FROM meta WHERE key = 'schema_version'", ret, NULL);
	if (r == -EIO || r == -ENOENT)
		return -EPROTO;	/* some other database */
	return r;
}

/* one step per transaction; the version is read inside it, so two
 * processes opening the same new file migrate it once */
static int migrate(sqlite3 *db)
{
	int64_t v;
	int r;

	for (;;) {
		r = exec_sql(db, "BEGIN IMMEDIATE");
		if (r < 0)
			return r;
		r = schema_version(db, &v);
		if (r == 0 && (v < 0 || v > HM_STORE_SCHEMA_VERSION))
			r = -EPROTO;
		if (r < 0 || v == HM_STORE_SCHEMA_VERSION)
			break;
		r = exec_sql(db, migrations[v]);
		if (r == 0)
			r = exec_sql(db, "UPDATE meta SET value = value + 1"
				     " WHERE key = 'schema_version'");
		/* migrations run with foreign keys off (a table rebuild needs
		 * it): check them before committing */
		if (r == 0) {
			r = query_one(db, "PRAGMA foreign_key_check", NULL, NULL);
			r = r == -ENOENT ? 0 : r == 0 ? -EIO : r;
		}
		if (r < 0)
			break;
		r = exec_sql(db, "COMMIT");
		if (r < 0)
			break;
	}
	if (r < 0)
		exec_sql(db, "ROLLBACK");
	else
		r = exec_sql(db, "COMMIT");
	return r;
}

static int configure(sqlite3 *db)
{
	int64_t on, v;
	int r;

	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	/* the first read of the file: garbage fails here, and a database that
	 * isn't ours, or is newer, is refused before we change anything */
	r = schema_version(db, &v);
	if (r == 0 && (v < 0 || v > HM_STORE_SCHEMA_VERSION))
		r = -EPROTO;
	if (r == 0)
		r = query_one(db, "PRAGMA journal_mode = WAL", NULL, "wal");
	if (r == 0)
		r = exec_sql(db, "PRAGMA synchronous = FULL");
	if (r == 0)
		r = query_one(db, "PRAGMA quick_check", NULL, "ok");
	if (r == 0)
		r = migrate(db);
	if (r == 0)
		r = exec_sql(db, "PRAGMA foreign_keys = ON");
	if (r == 0)
		r = query_one(db, "PRAGMA foreign_keys", &on, NULL);
	if (r == 0 && on != 1)
		r = -ENOTSUP;
	return r;
}

/* The primary key of each table is its first npk described columns, in
 * order: the bucket of a row is the hash of those. */
static int check_keys(sqlite3 *db)
{
	sqlite3_stmt *st;
	unsigned int t, n;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) WHERE pk > 0"
				" ORDER BY pk", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	for (t = 0; t < HM_TABLE_MAX && r == 0; t++) {
		sqlite3_bind_text(st, 1, tables[t].name, -1, SQLITE_STATIC);
		for (n = 0; r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW; n++)
			if (n >= tables[t].npk ||
			    strcmp((const char *)sqlite3_column_text(st, 0), tables[t].col[n].name))
				r = -ENOTRECOVERABLE;
		if (r == 0 && rc != SQLITE_DONE)
			r = sql_errno(rc);
		if (r == 0 && n != tables[t].npk)
			r = -ENOTRECOVERABLE;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

/* Every statement once, checked against its table's description: a SELECT
 * returns the described columns in order, a statement binds as many
 * parameters as its mask selects. */
static int prepare_all(struct hm_store *s)
{
	int id, i, rc;

	rc = sqlite3_create_function_v2(s->db, "hm_bucket", -1,
					SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
					NULL, bucket_fn, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function_v2(s->db, "hm_bucket_in", -1,
						SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
						NULL, bucket_in_fn, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	rc = check_keys(s->db);
	if (rc < 0)
		return rc;
	for (id = 0; id < ST_MAX; id++) {
		const struct stmt_def *d = &stmt_def[id];
		const struct table *t;
		sqlite3_stmt *st;
		int nparam = 0, ncol;

		if (!d->sql)
			return -ENOTRECOVERABLE;	/* a hole in stmt_def */
		rc = sqlite3_prepare_v3(s->db, d->sql, -1, SQLITE_PREPARE_PERSISTENT,
					&s->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return sql_errno(rc);
		st = s->stmt[id];
		if (d->table == NO_TABLE)
			continue;
		t = &tables[d->table];
		for (i = 0; i < (int)t->ncol; i++)
			nparam += !!(d->params & COL(i));
		ncol = sqlite3_column_count(st);
		if ((!d->ints && sqlite3_bind_parameter_count(st) != nparam) ||
		    (ncol != 0 && ncol != (int)t->ncol))
			return -ENOTRECOVERABLE;
		for (i = 0; i < ncol; i++)
			if (strcmp(sqlite3_column_name(st, i), t->col[i].name) != 0)
				return -ENOTRECOVERABLE;
	}
	return 0;
}

int hm_store_open(const char *path, struct hm_store **ret)
{
	struct hm_store *s;
	int fd, rc, r;

	if (!path || !*path || !ret)
		return -EINVAL;
	*ret = NULL;
	/* create it ourselves, private: it holds fence credentials; sqlite
	 * gives the -wal and -shm files the same mode */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		r = s->db && sqlite3_system_errno(s->db) ? -sqlite3_system_errno(s->db)
							 : sql_errno(rc);
		goto close_store;
	}
	r = configure(s->db);
	if (r < 0)
		goto close_store;
	r = prepare_all(s);
	if (r < 0)
		goto close_store;
	*ret = s;
	return 0;

close_store:
	hm_store_close(s);
	return r;
}

void hm_store_close(struct hm_store *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->stmt[i]);
	/* an open transaction is rolled back by the close */
	sqlite3_close_v2(s->db);
	free(s->digest);
	free(s);
}
