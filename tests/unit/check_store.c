/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The store: the schema refuses what it must (and leaves the database
 * unchanged), transactions are all or nothing, every table round-trips, and
 * the schema and the checksum are pinned.  A fresh database per test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check_common.h"
#include "store.h"

#define U1 "0b6e4a3c-1f2d-4e5a-9b8c-7d6e5f4a3b21"
#define U2 "1c7f5b4d-2a3e-4f6b-8c9d-8e7f6a5b4c32"
#define U3 "2d8a6c5e-3b4f-4a7c-9dae-9f8a7b6c5d43"

static char dir[64];
static char path[128];
static struct hm_store *st;

static void rm_dir(const char *d)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *dp = opendir(d);

	if (!dp)
		return;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
			unlink(p);
		}
	closedir(dp);
	rmdir(d);
}

/* The directory is made and removed in the parent (an unchecked fixture),
 * so a failing test, whose child never reaches its teardown, leaves
 * nothing behind; the store is opened and closed in the test's process. */
static void make_dir(void)
{
	strcpy(dir, "/tmp/check_store.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/hamon.db", dir);
}

static void remove_dir(void)
{
	rm_dir(dir);
}

static void setup(void)
{
	ck_assert_int_eq(hm_store_open(path, &st), 0);
}

static void teardown(void)
{
	hm_store_close(st);
	st = NULL;
}

#define add_store_test(suite, func) do {				\
	TCase *tc_ = tcase_create(#func);				\
	tcase_add_unchecked_fixture(tc_, make_dir, remove_dir);		\
	tcase_add_checked_fixture(tc_, setup, teardown);		\
	tcase_add_test(tc_, func);					\
	suite_add_tcase((suite), tc_);					\
} while (0)

static void reopen(void)
{
	hm_store_close(st);
	st = NULL;
	ck_assert_int_eq(hm_store_open(path, &st), 0);
}

/* raw SQL on the file, behind the store's back */
static void raw_sql(const char *file, const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(file, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	sqlite3_close(db);
}

static struct hm_host host(uint32_t nodeid, const char *name)
{
	return (struct hm_host){
		.nodeid = nodeid, .name = name, .state = HM_HOST_ONLINE,
		.vcpus = 32, .memory_mib = 131072,
		.libvirt_uri = "qemu:///system", .updated_ms = 1000,
	};
}

static struct hm_instance instance(const char *uuid, const char *name, uint32_t owner)
{
	return (struct hm_instance){
		.uuid = uuid, .name = name, .domain_xml = "<domain type='kvm'/>",
		.owner = owner, .storage = HM_STORAGE_SHARED, .vcpus = 2,
		.memory_mib = 2048, .requested = HM_REQUESTED_STARTED,
		.ha_policy = HM_HA_POLICY_HA, .priority = 10,
		.observed = HM_OBSERVED_RUNNING, .updated_ms = 2000,
	};
}

static struct hm_job job(uint64_t id)
{
	return (struct hm_job){
		.id = id, .kind = HM_JOB_RECOVERY, .state = HM_JOB_ACCEPTED,
		.target_host = 2, .created_ms = 5000, .updated_ms = 5000,
		.reason = "node1 lost",
	};
}

static struct hm_job_step step(uint64_t jobid, uint32_t seq, enum hm_step_action a)
{
	return (struct hm_job_step){
		.job = jobid, .seq = seq, .instance = U1, .action = a, .host = 2,
		.state = HM_STEP_INTENT, .updated_ms = 5001,
	};
}

static struct hm_history_event event(uint64_t id, int64_t ts, uint32_t on_host)
{
	return (struct hm_history_event){
		.id = id, .ts_ms = ts, .kind = "host.lost", .host = on_host,
		.message = "lost from the membership",
	};
}

static int host_count_cb(const struct hm_host *h, void *data)
{
	(void)h;
	(*(int *)data)++;
	return 0;
}

static int hosts(void)
{
	int n = 0;

	ck_assert_int_eq(hm_store_host_list(st, host_count_cb, &n), 0);
	return n;
}

static int instance_count_cb(const struct hm_instance *i, void *data)
{
	(void)i;
	(*(int *)data)++;
	return 0;
}

static int instances(void)
{
	int n = 0;

	ck_assert_int_eq(hm_store_instance_list(st, instance_count_cb, &n), 0);
	return n;
}

/* ---- opening ---- */

START_TEST(test_open_invalid)
{
	struct hm_store *s = (struct hm_store *)1;

	ck_assert_int_eq(hm_store_open(NULL, &s), -EINVAL);
	ck_assert_int_eq(hm_store_open("", &s), -EINVAL);
	ck_assert_int_eq(hm_store_open(path, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_open("/nonexistent/dir/hamon.db", &s), -ENOENT);
	ck_assert_ptr_null(s);
	hm_store_close(NULL);
}
END_TEST

START_TEST(test_open_garbage_refused)
{
	char bad[160];
	struct hm_store *s = NULL;
	int fd, i;

	snprintf(bad, sizeof(bad), "%s/garbage.db", dir);
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 512; i++)
		ck_assert_int_eq(write(fd, "not a database, really\n", 23), 23);
	close(fd);
	ck_assert_int_eq(hm_store_open(bad, &s), -EIO);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_open_corrupt_page_refused)
{
	struct hm_history_event e = event(1, 1, 0);
	char msg[200];
	struct stat sb;
	int fd, i;

	/* enough rows for several pages, then scribble over the second one */
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	e.message = msg;
	ck_assert_int_eq(hm_store_begin(st), 0);
	for (i = 1; i <= 200; i++) {
		e.id = (uint64_t)i;
		ck_assert_int_eq(hm_store_history_append(st, &e), 0);
	}
	ck_assert_int_eq(hm_store_commit(st), 0);
	hm_store_close(st);	/* checkpoints the WAL into the file */
	st = NULL;
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_gt(sb.st_size, 8 * 4096);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 4096 / 8; i++)
		ck_assert_int_eq(pwrite(fd, "\xde\xad\xbe\xef\xde\xad\xbe\xef", 8,
					(off_t)sb.st_size - 3 * 4096 + i * 8), 8);
	close(fd);
	ck_assert_int_eq(hm_store_open(path, &st), -EIO);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(test_open_newer_schema_refused)
{
	char other[160];
	struct hm_store *s = NULL;
	unsigned char mode = 0;
	int fd;

	hm_store_close(st);
	st = NULL;
	raw_sql(path, "UPDATE meta SET value = value + 1 WHERE key = 'schema_version'");
	ck_assert_int_eq(hm_store_open(path, &s), -EPROTO);
	ck_assert_ptr_null(s);

	/* a database that is not a store: refused, and left as it was (the
	 * header's write version, byte 18, is 1 in rollback mode, 2 in WAL) */
	snprintf(other, sizeof(other), "%s/other.db", dir);
	raw_sql(other, "CREATE TABLE foo (x INTEGER)");
	ck_assert_int_eq(hm_store_open(other, &s), -EPROTO);
	ck_assert_ptr_null(s);
	fd = open(other, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &mode, 1, 18), 1);
	close(fd);
	ck_assert_int_eq(mode, 1);
}
END_TEST

static int64_t raw_int(const char *file, const char *sql)
{
	sqlite3_stmt *q;
	sqlite3 *db;
	int64_t v;

	ck_assert_int_eq(sqlite3_open(file, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

START_TEST(test_open_settings_and_reopen)
{
	struct hm_host h = host(1, "node1");
	struct hm_host *got;
	struct stat sb;
	sqlite3_stmt *q;
	sqlite3 *db;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
			 HM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);

	/* committed data survives; an open transaction at close does not */
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_begin(st), 0);
	h = host(2, "node2");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	reopen();
	ck_assert_int_eq(hm_store_host_get(st, 1, &got), 0);
	ck_assert_str_eq(got->name, "node1");
	free(got);
	ck_assert_int_eq(hm_store_host_get(st, 2, &got), -ENOENT);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
			 HM_STORE_SCHEMA_VERSION);
}
END_TEST

START_TEST(test_locked_by_another_process)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(hm_store_begin(st), -EBUSY);
	ck_assert(!hm_store_in_transaction(st));
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_commit(st), 0);
}
END_TEST

/*
 * The schema, pinned.  If this fails you changed the schema: add a
 * migration step (never edit a released one), bump HM_STORE_SCHEMA_VERSION,
 * describe it in doc/store.md, then update the hash.
 */
#define SCHEMA_FNV1A64 0x13bbdb1015f8f8a9ull


/* schema 1 -> 3: the jobs table is rebuilt to take 'fence', steps gain a
 * target and hosts a fence view; rows and their steps survive */
START_TEST(test_migration_from_1)
{
	struct hm_job *j = NULL, fence = { .id = 9, .kind = HM_JOB_FENCE, .state = HM_JOB_ACCEPTED };
	struct hm_job_step *stp = NULL;
	sqlite3 *db;

	hm_store_close(st);
	st = NULL;
	/* make this a schema-1 store holding a job with a step */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
		"PRAGMA foreign_keys = OFF;"
		"DROP TABLE jobs;"
		"CREATE TABLE jobs (id INTEGER PRIMARY KEY CHECK (id > 0),"
		" kind TEXT NOT NULL CHECK (kind IN ('recovery', 'drain', 'evacuate', 'migrate')),"
		" state TEXT NOT NULL CHECK (state IN ('accepted', 'running', 'done', 'failed',"
		"  'cancelled')),"
		" target_host INTEGER CHECK (target_host BETWEEN 1 AND 4294967295),"
		" created_ms INTEGER NOT NULL CHECK (created_ms >= 0),"
		" updated_ms INTEGER NOT NULL CHECK (updated_ms >= created_ms), reason TEXT) STRICT;"
		"INSERT INTO jobs VALUES (5, 'drain', 'running', NULL, 1, 2, 'kept');"
		"ALTER TABLE job_steps DROP COLUMN target;"
		"ALTER TABLE hosts DROP COLUMN fence_view;"
		"INSERT INTO job_steps VALUES (5, 0, NULL, 'fence', NULL, 'intent', NULL, 2);"
		"UPDATE meta SET value = 1 WHERE key = 'schema_version';", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO jobs VALUES (6, 'fence', 'running', NULL, 1, 2,"
				      " NULL)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	sqlite3_close(db);

	ck_assert_int_eq(hm_store_open(path, &st), 0);
	ck_assert_int_eq(hm_store_job_get(st, 5, &j), 0);
	ck_assert_int_eq(j->kind, HM_JOB_DRAIN);
	ck_assert_str_eq(j->reason, "kept");
	free(j);
	ck_assert_int_eq(hm_store_job_step_get(st, 5, 0, &stp), 0);
	ck_assert_uint_eq(stp->target, 0);
	stp->target = 7;
	ck_assert_int_eq(hm_store_job_step_upsert(st, stp), 0);
	free(stp);
	ck_assert_int_eq(hm_store_job_step_get(st, 5, 0, &stp), 0);
	ck_assert_uint_eq(stp->target, 7);
	free(stp);
	ck_assert_int_eq(hm_store_job_upsert(st, &fence), 0);
	/* the steps still go with their job */
	ck_assert_int_eq(hm_store_job_delete(st, 5), 0);
	ck_assert_int_eq(hm_store_job_step_get(st, 5, 0, &stp), -ENOENT);
}
END_TEST

START_TEST(test_schema_golden)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;
	sqlite3_stmt *q;
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master"
					    " WHERE sql IS NOT NULL ORDER BY name", -1, &q, NULL),
			 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		for (p = sqlite3_column_text(q, 1); *p; p++)
			h = (h ^ *p) * 0x100000001b3ull;
	sqlite3_finalize(q);
	sqlite3_close(db);
	ck_assert_msg(h == SCHEMA_FNV1A64, "schema hash 0x%016llxull", (unsigned long long)h);
}
END_TEST

/* ---- invalid input, first: refused, and nothing changed ---- */

START_TEST(test_null_arguments)
{
	uint8_t sum[HM_STORE_CHECKSUM_LEN];
	struct hm_store_pos pos = { 0 };
	struct hm_host h = host(1, "node1");
	struct hm_host *hp = (struct hm_host *)1;
	uint64_t v;

	ck_assert_int_eq(hm_store_begin(NULL), -EINVAL);
	ck_assert_int_eq(hm_store_commit(NULL), -EINVAL);
	ck_assert_int_eq(hm_store_rollback(NULL), -EINVAL);
	ck_assert(!hm_store_in_transaction(NULL));
	ck_assert_int_eq(hm_store_pos_get(NULL, &pos), -EINVAL);
	ck_assert_int_eq(hm_store_pos_get(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_pos_set(NULL, &pos), -EINVAL);
	ck_assert_int_eq(hm_store_pos_set(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_host_upsert(NULL, &h), -EINVAL);
	ck_assert_int_eq(hm_store_host_upsert(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_host_get(NULL, 1, &hp), -EINVAL);
	ck_assert_ptr_null(hp);
	ck_assert_int_eq(hm_store_host_get(st, 1, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_host_get_by_name(st, NULL, &hp), -EINVAL);
	ck_assert_int_eq(hm_store_host_delete(NULL, 1), -EINVAL);
	ck_assert_int_eq(hm_store_host_list(NULL, host_count_cb, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_host_list(st, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_instance_upsert(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_instance_get(st, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_instance_list(st, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_policy_set(NULL, "a", "b", NULL), -EINVAL);
	ck_assert_int_eq(hm_store_policy_set(st, NULL, "b", NULL), -EINVAL);
	ck_assert_int_eq(hm_store_policy_set(st, "a", NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_policy_delete(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_policy_version(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_policy_version(NULL, &v), -EINVAL);
	ck_assert_int_eq(hm_store_policy_list(st, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_fence_device_upsert(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_fence_device_list(st, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_job_upsert(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_job_list(st, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_job_step_upsert(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_job_step_list(st, 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_history_append(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_history_list(st, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_history_prune(NULL, 0, 0, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_checksum(NULL, sum), -EINVAL);
	ck_assert_int_eq(hm_store_checksum(st, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_MAX, sum), -EINVAL);
	ck_assert_int_eq(hm_store_table_checksum(st, (enum hm_store_table)-1, sum), -EINVAL);
	ck_assert_int_eq(hm_store_table_checksum(NULL, HM_TABLE_HOSTS, sum), -EINVAL);
	ck_assert_int_eq(hosts(), 0);
}
END_TEST

START_TEST(test_host_invalid)
{
	static const char *const bad_names[] = {
		"", "node 1", "node/1", "nöde", "a;DROP TABLE hosts", NULL };
	struct hm_host h;
	char longname[300];
	size_t i;

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		h = host(1, bad_names[i]);
		ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	}
	memset(longname, 'a', 256);
	longname[256] = '\0';
	h = host(1, longname);
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h = host(0, "node0");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h = host(1, "node1");
	h.state = HM_HOST_STATE_MAX;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h.state = (enum hm_host_state)-1;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h = host(1, "node1");
	h.libvirt_uuid = "0B6E4A3C-1F2D-4E5A-9B8C-7D6E5F4A3B21";	/* not canonical */
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h.libvirt_uuid = U1 "0";
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h = host(1, "node1");
	h.libvirt_uri = "";
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h = host(1, "node1");
	h.memory_mib = UINT64_MAX;	/* beyond what sqlite holds */
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	h = host(1, "node1");
	h.updated_ms = -1;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	ck_assert_int_eq(hosts(), 0);

	/* names that are fine: nodelist names may be addresses */
	h = host(1, "fd00::1");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	h = host(2, "node-2.example.org");
	h.libvirt_uuid = U1;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	/* unique columns belong to one host */
	h = host(3, "fd00::1");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EEXIST);
	h = host(3, "node3");
	h.libvirt_uuid = U1;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EEXIST);
	ck_assert_int_eq(hosts(), 2);
}
END_TEST

START_TEST(test_instance_invalid)
{
	static const char *const bad_uuids[] = {
		"", "0B6E4A3C-1F2D-4E5A-9B8C-7D6E5F4A3B21", "0b6e4a3c1f2d4e5a9b8c7d6e5f4a3b21",
		"0b6e4a3c-1f2d-4e5a-9b8c-7d6e5f4a3b2", "0b6e4a3c-1f2d-4e5a-9b8c-7d6e5f4a3b2g",
		"{b6e4a3c-1f2d-4e5a-9b8c-7d6e5f4a3b21", NULL };
	struct hm_host h = host(1, "node1");
	struct hm_instance i;
	size_t k;

	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	for (k = 0; k < sizeof(bad_uuids) / sizeof(bad_uuids[0]); k++) {
		i = instance(bad_uuids[k], "vm1", 1);
		ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	}
	i = instance(U1, "", 1);
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "a/b", 1);
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 1);
	i.domain_xml = "";
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i.domain_xml = NULL;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 9);		/* no such host */
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 1);
	i.storage = HM_STORAGE_MAX;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 1);
	i.requested = HM_REQUESTED_MAX;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 1);
	i.ha_policy = HM_HA_POLICY_MAX;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 1);
	i.observed = HM_OBSERVED_MAX;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i = instance(U1, "vm1", 1);
	i.affinity_group = "";
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	i.affinity_group = "db group";
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	ck_assert_int_eq(instances(), 0);

	i = instance(U1, "vm1", 1);
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	i = instance(U2, "vm1", 1);		/* names are unique in the cluster */
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EEXIST);
	ck_assert_int_eq(instances(), 1);
}
END_TEST

START_TEST(test_policy_invalid)
{
	static const char *const bad_keys[] = { "", "Fence.Guard", "a b", "x=y" };
	char big[4200];
	uint64_t v = 77;
	size_t k;

	for (k = 0; k < sizeof(bad_keys) / sizeof(bad_keys[0]); k++)
		ck_assert_int_eq(hm_store_policy_set(st, bad_keys[k], "1", &v), -EINVAL);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(hm_store_policy_set(st, "too.big", big, &v), -EINVAL);
	ck_assert_uint_eq(v, 77);
	/* a refused set did not bump the version */
	ck_assert_int_eq(hm_store_policy_version(st, &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_fence_device_invalid)
{
	struct hm_host h = host(1, "node1");
	struct hm_fence_device f = { .id = 1, .host = 1, .level = 1, .agent = "fence_ipmilan",
				     .params = "{\"ip\":\"10.0.0.1\"}" };
	struct hm_fence_device *got;

	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	f.agent = "../../bin/sh";
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.agent = "";
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.agent = "fence_ipmilan";
	f.params = "ip=10.0.0.1";
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.params = "[1, 2]";
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.params = "{\"ip\":";
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.params = "{}";
	f.level = 0;
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.level = 1;
	f.host = 2;			/* no such host */
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	f.host = 1;
	f.id = 0;
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), -EINVAL);
	ck_assert_int_eq(hm_store_fence_device_get(st, 1, &got), -ENOENT);
}
END_TEST

START_TEST(test_job_invalid)
{
	struct hm_job j = job(0);
	struct hm_job_step s;
	struct hm_job *got;

	ck_assert_int_eq(hm_store_job_upsert(st, &j), -EINVAL);
	j = job((uint64_t)INT64_MAX + 1);
	ck_assert_int_eq(hm_store_job_upsert(st, &j), -EINVAL);
	j = job(1);
	j.updated_ms = j.created_ms - 1;
	ck_assert_int_eq(hm_store_job_upsert(st, &j), -EINVAL);
	j = job(1);
	j.kind = HM_JOB_KIND_MAX;
	ck_assert_int_eq(hm_store_job_upsert(st, &j), -EINVAL);
	j = job(1);
	j.state = HM_JOB_STATE_MAX;
	ck_assert_int_eq(hm_store_job_upsert(st, &j), -EINVAL);
	ck_assert_int_eq(hm_store_job_get(st, 1, &got), -ENOENT);

	s = step(1, 0, HM_STEP_FENCE);		/* no such job */
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), -EINVAL);
	j = job(1);
	ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	s = step(1, 0, HM_STEP_ACTION_MAX);
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), -EINVAL);
	s = step(1, 0, HM_STEP_START);
	s.state = HM_STEP_STATE_MAX;
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), -EINVAL);
	s = step(1, 0, HM_STEP_START);
	s.instance = "vm1";
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), -EINVAL);
}
END_TEST

START_TEST(test_history_invalid)
{
	struct hm_history_event e = event(0, 1, 0);
	struct hm_history_event *got;

	ck_assert_int_eq(hm_store_history_append(st, &e), -EINVAL);
	e = event(1, -5, 0);
	ck_assert_int_eq(hm_store_history_append(st, &e), -EINVAL);
	e = event(1, 1, 0);
	e.kind = "Host Lost";
	ck_assert_int_eq(hm_store_history_append(st, &e), -EINVAL);
	e.kind = NULL;
	ck_assert_int_eq(hm_store_history_append(st, &e), -EINVAL);
	e = event(1, 1, 0);
	e.message = NULL;
	ck_assert_int_eq(hm_store_history_append(st, &e), -EINVAL);
	e = event(1, 1, 0);
	e.instance = "vm1";
	ck_assert_int_eq(hm_store_history_append(st, &e), -EINVAL);
	ck_assert_int_eq(hm_store_history_get(st, 1, &got), -ENOENT);
	/* append-only: an id is written once */
	e = event(1, 1, 0);
	ck_assert_int_eq(hm_store_history_append(st, &e), 0);
	ck_assert_int_eq(hm_store_history_append(st, &e), -EEXIST);
}
END_TEST

/* every C enum name is one the schema's CHECK accepts, and round-trips */
START_TEST(test_enums)
{
	struct hm_host h = host(1, "node1");
	struct hm_instance i = instance(U1, "vm1", 1);
	struct hm_job j = job(1);
	struct hm_job_step s = step(1, 0, HM_STEP_FENCE);
	struct hm_instance *gi;
	enum hm_host_state hs;
	enum hm_storage sg;
	enum hm_requested rq;
	enum hm_ha_policy hp;
	enum hm_observed ob;
	enum hm_job_kind jk;
	enum hm_job_state js;
	enum hm_step_action sa;
	enum hm_step_state ss;
	int v;

	ck_assert_str_eq(hm_host_state_to_str(HM_HOST_STATE_MAX), "invalid");
	ck_assert_str_eq(hm_host_state_to_str((enum hm_host_state)-1), "invalid");
	ck_assert_int_eq(hm_host_state_from_str("bogus", &hs), -EINVAL);
	ck_assert_int_eq(hm_host_state_from_str(NULL, &hs), -EINVAL);
	ck_assert_int_eq(hm_host_state_from_str("online", NULL), -EINVAL);
	ck_assert_str_eq(hm_store_table_to_str(HM_TABLE_MAX), "invalid");
	ck_assert_str_eq(hm_store_table_to_str(HM_TABLE_JOB_STEPS), "job_steps");

	for (v = 0; v < HM_HOST_STATE_MAX; v++) {
		ck_assert_int_eq(hm_host_state_from_str(hm_host_state_to_str(v), &hs), 0);
		ck_assert_int_eq(hs, v);
		h.state = hs;
		ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	}
	for (v = 0; v < HM_STORAGE_MAX; v++) {
		ck_assert_int_eq(hm_storage_from_str(hm_storage_to_str(v), &sg), 0);
		ck_assert_int_eq(sg, v);
		i.storage = sg;
		ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	}
	for (v = 0; v < HM_REQUESTED_MAX; v++) {
		ck_assert_int_eq(hm_requested_from_str(hm_requested_to_str(v), &rq), 0);
		ck_assert_int_eq(rq, v);
		i.requested = rq;
		ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	}
	for (v = 0; v < HM_HA_POLICY_MAX; v++) {
		ck_assert_int_eq(hm_ha_policy_from_str(hm_ha_policy_to_str(v), &hp), 0);
		ck_assert_int_eq(hp, v);
		i.ha_policy = hp;
		ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	}
	for (v = 0; v < HM_OBSERVED_MAX; v++) {
		ck_assert_int_eq(hm_observed_from_str(hm_observed_to_str(v), &ob), 0);
		ck_assert_int_eq(ob, v);
		i.observed = ob;
		ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
		ck_assert_int_eq(hm_store_instance_get(st, U1, &gi), 0);
		ck_assert_int_eq(gi->observed, ob);
		free(gi);
	}
	for (v = 0; v < HM_JOB_KIND_MAX; v++) {
		ck_assert_int_eq(hm_job_kind_from_str(hm_job_kind_to_str(v), &jk), 0);
		ck_assert_int_eq(jk, v);
		j.kind = jk;
		ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	}
	for (v = 0; v < HM_JOB_STATE_MAX; v++) {
		ck_assert_int_eq(hm_job_state_from_str(hm_job_state_to_str(v), &js), 0);
		ck_assert_int_eq(js, v);
		j.state = js;
		ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	}
	for (v = 0; v < HM_STEP_ACTION_MAX; v++) {
		ck_assert_int_eq(hm_step_action_from_str(hm_step_action_to_str(v), &sa), 0);
		ck_assert_int_eq(sa, v);
		s.action = sa;
		ck_assert_int_eq(hm_store_job_step_upsert(st, &s), 0);
	}
	for (v = 0; v < HM_STEP_STATE_MAX; v++) {
		ck_assert_int_eq(hm_step_state_from_str(hm_step_state_to_str(v), &ss), 0);
		ck_assert_int_eq(ss, v);
		s.state = ss;
		ck_assert_int_eq(hm_store_job_step_upsert(st, &s), 0);
	}
	ck_assert_str_eq(hm_storage_to_str(HM_STORAGE_MAX), "invalid");
	ck_assert_str_eq(hm_requested_to_str(HM_REQUESTED_MAX), "invalid");
	ck_assert_str_eq(hm_ha_policy_to_str(HM_HA_POLICY_MAX), "invalid");
	ck_assert_str_eq(hm_observed_to_str(HM_OBSERVED_MAX), "invalid");
	ck_assert_str_eq(hm_job_kind_to_str(HM_JOB_KIND_MAX), "invalid");
	ck_assert_str_eq(hm_job_state_to_str(HM_JOB_STATE_MAX), "invalid");
	ck_assert_str_eq(hm_step_action_to_str(HM_STEP_ACTION_MAX), "invalid");
	ck_assert_str_eq(hm_step_state_to_str(HM_STEP_STATE_MAX), "invalid");
}
END_TEST

/* ---- round trips ---- */

START_TEST(test_host_roundtrip)
{
	struct hm_host h = host(7, "node7"), *got, *byname;

	h.state = HM_HOST_DEGRADED;
	h.maintenance = true;
	h.reserved = true;
	h.memory_mib = 1ull << 40;
	h.migration_uri = "tcp://10.0.0.7";
	h.libvirt_uuid = U3;
	h.boot_id = "b0a1c2d3";
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_host_get(st, 7, &got), 0);
	ck_assert_int_eq(hm_store_host_get_by_name(st, "node7", &byname), 0);
	ck_assert_uint_eq(got->nodeid, 7);
	ck_assert_str_eq(got->name, "node7");
	ck_assert_int_eq(got->state, HM_HOST_DEGRADED);
	ck_assert(got->maintenance && !got->disabled && got->reserved);
	ck_assert_uint_eq(got->vcpus, 32);
	ck_assert_uint_eq(got->memory_mib, 1ull << 40);
	ck_assert_str_eq(got->libvirt_uri, "qemu:///system");
	ck_assert_str_eq(got->migration_uri, "tcp://10.0.0.7");
	ck_assert_str_eq(got->libvirt_uuid, U3);
	ck_assert_str_eq(got->boot_id, "b0a1c2d3");
	ck_assert_int_eq(got->updated_ms, 1000);
	ck_assert_uint_eq(byname->nodeid, 7);
	free(byname);
	free(got);

	/* upsert updates every column in place, optional ones back to NULL */
	h = host(7, "node7-renamed");
	h.disabled = true;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_host_get(st, 7, &got), 0);
	ck_assert_str_eq(got->name, "node7-renamed");
	ck_assert(!got->maintenance && got->disabled);
	ck_assert_ptr_null(got->migration_uri);
	ck_assert_ptr_null(got->libvirt_uuid);
	free(got);
	ck_assert_int_eq(hm_store_host_get_by_name(st, "node7", &got), -ENOENT);
	ck_assert_int_eq(hosts(), 1);

	ck_assert_int_eq(hm_store_host_delete(st, 7), 0);
	ck_assert_int_eq(hm_store_host_delete(st, 7), -ENOENT);
	ck_assert_int_eq(hm_store_host_get(st, 7, &got), -ENOENT);
	ck_assert_int_eq(hosts(), 0);
}
END_TEST

/* the copy a get returns is the caller's: it outlives changes and the store */
START_TEST(test_get_returns_own_copy)
{
	struct hm_instance i = instance(U1, "vm1", 0), *got;
	char xml[64];

	strcpy(xml, "<domain type='kvm'><name>vm1</name></domain>");
	i.domain_xml = xml;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	memset(xml, 0, sizeof(xml));
	ck_assert_int_eq(hm_store_instance_get_by_name(st, "vm1", &got), 0);
	ck_assert_int_eq(hm_store_instance_delete(st, U1), 0);
	hm_store_close(st);
	st = NULL;
	ck_assert_str_eq(got->uuid, U1);
	ck_assert_str_eq(got->domain_xml, "<domain type='kvm'><name>vm1</name></domain>");
	ck_assert_uint_eq(got->owner, 0);	/* none */
	ck_assert_ptr_null(got->affinity_group);
	free(got);
}
END_TEST

struct uuids {
	char v[4][40];
	int n;
};

static int collect_instance(const struct hm_instance *i, void *data)
{
	struct uuids *u = data;

	strcpy(u->v[u->n++], i->uuid);
	return 0;
}

static int collect_first(const struct hm_instance *i, void *data)
{
	collect_instance(i, data);
	return 1;
}

START_TEST(test_instance_roundtrip)
{
	struct hm_host h1 = host(1, "node1"), h2 = host(2, "node2");
	struct hm_instance i = instance(U2, "vm2", 1), *got;
	struct uuids u = { .n = 0 };

	ck_assert_int_eq(hm_store_host_upsert(st, &h1), 0);
	ck_assert_int_eq(hm_store_host_upsert(st, &h2), 0);
	i.storage = HM_STORAGE_LOCAL;
	i.priority = -3;
	i.affinity_group = "db.replicas";
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	i = instance(U1, "vm1", 2);
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &got), 0);
	ck_assert_str_eq(got->name, "vm2");
	ck_assert_uint_eq(got->owner, 1);
	ck_assert_int_eq(got->storage, HM_STORAGE_LOCAL);
	ck_assert_int_eq(got->priority, -3);
	ck_assert_str_eq(got->affinity_group, "db.replicas");
	ck_assert_int_eq(got->requested, HM_REQUESTED_STARTED);
	ck_assert_int_eq(got->ha_policy, HM_HA_POLICY_HA);
	free(got);
	ck_assert_int_eq(hm_store_instance_list(st, collect_instance, &u), 0);
	ck_assert_int_eq(u.n, 2);
	ck_assert_str_eq(u.v[0], U1);	/* primary key order */
	ck_assert_str_eq(u.v[1], U2);
	/* a page: those after a uuid, stopped early by the callback */
	u.n = 0;
	ck_assert_int_eq(hm_store_instance_list_after(st, U1, collect_instance, &u), 0);
	ck_assert_int_eq(u.n, 1);
	ck_assert_str_eq(u.v[0], U2);
	u.n = 0;
	ck_assert_int_eq(hm_store_instance_list_after(st, NULL, collect_first, &u), 1);
	ck_assert_int_eq(u.n, 1);
	ck_assert_str_eq(u.v[0], U1);

	/* a host that owns instances can't go; its fence devices go with it */
	ck_assert_int_eq(hm_store_host_delete(st, 1), -EBUSY);
	i = instance(U2, "vm2", 2);		/* ownership moves */
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	ck_assert_int_eq(hm_store_host_delete(st, 1), 0);
	ck_assert_int_eq(hm_store_instance_delete(st, U2), 0);
	ck_assert_int_eq(hm_store_instance_delete(st, U2), -ENOENT);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &got), -ENOENT);
	ck_assert_int_eq(instances(), 1);
}
END_TEST

static int collect_policy(const struct hm_policy_entry *e, void *data)
{
	char *out = data;

	sprintf(out + strlen(out), "%s=%s@%llu;", e->key, e->value,
		(unsigned long long)e->version);
	return 0;
}

START_TEST(test_policy)
{
	struct hm_policy_entry *e;
	char out[256] = "";
	uint64_t v;

	ck_assert_int_eq(hm_store_policy_set(st, "fence.timeout_ms", "60000", &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(hm_store_policy_set(st, "migration.max_parallel", "2", NULL), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "fence.timeout_ms", "30000", &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(hm_store_policy_get(st, "fence.timeout_ms", &e), 0);
	ck_assert_str_eq(e->value, "30000");
	ck_assert_uint_eq(e->version, 3);
	free(e);
	ck_assert_int_eq(hm_store_policy_list(st, collect_policy, out), 0);
	ck_assert_str_eq(out, "fence.timeout_ms=30000@3;migration.max_parallel=2@2;");

	/* a delete is a change of policy too; deleting nothing is not */
	ck_assert_int_eq(hm_store_policy_delete(st, "migration.max_parallel"), 0);
	ck_assert_int_eq(hm_store_policy_delete(st, "migration.max_parallel"), -ENOENT);
	ck_assert_int_eq(hm_store_policy_version(st, &v), 0);
	ck_assert_uint_eq(v, 4);
	ck_assert_int_eq(hm_store_policy_get(st, "migration.max_parallel", &e), -ENOENT);

	/* inside a caller's transaction, a refused set leaves the rest */
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "overcommit.cpu", "4.0", &v), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "Bad Key", "1", &v), -EINVAL);
	ck_assert_int_eq(hm_store_commit(st), 0);
	ck_assert_int_eq(hm_store_policy_version(st, &v), 0);
	ck_assert_uint_eq(v, 5);
}
END_TEST

static int collect_fence(const struct hm_fence_device *f, void *data)
{
	*(uint32_t *)data = *(uint32_t *)data * 10 + f->id;
	return 0;
}

START_TEST(test_fence_device_roundtrip)
{
	struct hm_host h = host(1, "node1");
	struct hm_fence_device f = { .id = 2, .host = 1, .level = 1, .agent = "fence_ipmilan",
				     .params = "{\"ip\": \"10.0.1.1\", \"lanplus\": true}" };
	struct hm_fence_device *got;
	uint32_t ids = 0;

	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), 0);
	f.id = 1;
	f.level = 2;
	f.agent = "fence_virsh";
	f.params = "{}";
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), 0);
	ck_assert_int_eq(hm_store_fence_device_get(st, 2, &got), 0);
	ck_assert_uint_eq(got->host, 1);
	ck_assert_uint_eq(got->level, 1);
	ck_assert_str_eq(got->agent, "fence_ipmilan");
	ck_assert_str_eq(got->params, "{\"ip\": \"10.0.1.1\", \"lanplus\": true}");
	free(got);
	ck_assert_int_eq(hm_store_fence_device_list(st, collect_fence, &ids), 0);
	ck_assert_uint_eq(ids, 12);
	ck_assert_int_eq(hm_store_fence_device_delete(st, 1), 0);
	ck_assert_int_eq(hm_store_fence_device_delete(st, 1), -ENOENT);
	/* the host's devices go with the host */
	ck_assert_int_eq(hm_store_host_delete(st, 1), 0);
	ck_assert_int_eq(hm_store_fence_device_get(st, 2, &got), -ENOENT);
}
END_TEST

static int collect_step(const struct hm_job_step *s, void *data)
{
	char *out = data;

	sprintf(out + strlen(out), "%llu.%u:%s/%s;", (unsigned long long)s->job, s->seq,
		hm_step_action_to_str(s->action), hm_step_state_to_str(s->state));
	return 0;
}

static int collect_job(const struct hm_job *j, void *data)
{
	char *out = data;

	sprintf(out + strlen(out), "%llu:%s;", (unsigned long long)j->id,
		hm_job_state_to_str(j->state));
	return 0;
}

START_TEST(test_jobs_and_steps)
{
	struct hm_job j = job(42), *gj;
	struct hm_job_step s, *gs;
	char out[256] = "";

	ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	j = job(7);
	j.target_host = 0;
	j.reason = NULL;
	ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	/* written out of order, listed in seq order, per job */
	s = step(42, 2, HM_STEP_START);
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), 0);
	s = step(42, 0, HM_STEP_FENCE);
	s.instance = NULL;
	s.state = HM_STEP_DONE;
	s.result = "off";
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), 0);
	s = step(42, 1, HM_STEP_DEFINE);
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), 0);
	s = step(7, 0, HM_STEP_MIGRATE);
	ck_assert_int_eq(hm_store_job_step_upsert(st, &s), 0);
	ck_assert_int_eq(hm_store_job_step_list(st, 42, collect_step, out), 0);
	ck_assert_str_eq(out, "42.0:fence/done;42.1:define/intent;42.2:start/intent;");
	out[0] = '\0';
	ck_assert_int_eq(hm_store_job_step_list(st, 99, collect_step, out), 0);
	ck_assert_str_eq(out, "");

	ck_assert_int_eq(hm_store_job_step_get(st, 42, 0, &gs), 0);
	ck_assert_ptr_null(gs->instance);
	ck_assert_str_eq(gs->result, "off");
	ck_assert_uint_eq(gs->host, 2);
	free(gs);
	ck_assert_int_eq(hm_store_job_get(st, 7, &gj), 0);
	ck_assert_uint_eq(gj->target_host, 0);
	ck_assert_ptr_null(gj->reason);
	free(gj);

	/* upserting a job updates it in place: its steps stay */
	j = job(42);
	j.state = HM_JOB_RUNNING;
	j.updated_ms = 6000;
	ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	ck_assert_int_eq(hm_store_job_step_get(st, 42, 2, &gs), 0);
	free(gs);
	ck_assert_int_eq(hm_store_job_list(st, collect_job, out), 0);
	ck_assert_str_eq(out, "7:accepted;42:running;");

	ck_assert_int_eq(hm_store_job_step_delete(st, 42, 1), 0);
	ck_assert_int_eq(hm_store_job_step_delete(st, 42, 1), -ENOENT);
	/* a job's steps go with it */
	ck_assert_int_eq(hm_store_job_delete(st, 42), 0);
	ck_assert_int_eq(hm_store_job_delete(st, 42), -ENOENT);
	ck_assert_int_eq(hm_store_job_step_get(st, 42, 0, &gs), -ENOENT);
	ck_assert_int_eq(hm_store_job_step_get(st, 7, 0, &gs), 0);
	free(gs);
}
END_TEST

static int collect_event(const struct hm_history_event *e, void *data)
{
	char *out = data;

	sprintf(out + strlen(out), "%llu;", (unsigned long long)e->id);
	return 0;
}

static void history_ids(uint32_t on_host, const char *want)
{
	char out[256] = "";

	ck_assert_int_eq(hm_store_history_list(st, on_host, collect_event, out), 0);
	ck_assert_str_eq(out, want);
}

START_TEST(test_history)
{
	struct hm_history_event e, *got;
	uint64_t n;
	int i;

	/* ids 1..10 at ts 100..1000, alternately on hosts 1 and 2 */
	for (i = 10; i >= 1; i--) {
		e = event((uint64_t)i, i * 100, 1 + (i % 2 == 0));
		if (i == 5) {
			e.host = 0;
			e.instance = U1;
			e.job = 3;
		}
		ck_assert_int_eq(hm_store_history_append(st, &e), 0);
	}
	ck_assert_int_eq(hm_store_history_get(st, 5, &got), 0);
	ck_assert_uint_eq(got->host, 0);
	ck_assert_str_eq(got->instance, U1);
	ck_assert_uint_eq(got->job, 3);
	ck_assert_int_eq(got->ts_ms, 500);
	ck_assert_str_eq(got->kind, "host.lost");
	free(got);
	history_ids(0, "1;2;3;4;5;6;7;8;9;10;");
	history_ids(1, "1;3;7;9;");
	history_ids(2, "2;4;6;8;10;");

	/* by age: before ts 300 */
	ck_assert_int_eq(hm_store_history_prune(st, 300, 100, &n), 0);
	ck_assert_uint_eq(n, 2);
	history_ids(0, "3;4;5;6;7;8;9;10;");
	/* by count: the newest 3 stay */
	ck_assert_int_eq(hm_store_history_prune(st, 0, 3, &n), 0);
	ck_assert_uint_eq(n, 5);
	history_ids(0, "8;9;10;");
	ck_assert_int_eq(hm_store_history_prune(st, 0, UINT64_MAX, NULL), 0);
	history_ids(0, "8;9;10;");
	ck_assert_int_eq(hm_store_history_prune(st, INT64_MAX, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
	history_ids(0, "");
}
END_TEST

/* ---- iteration ---- */

static int stop_at_second(const struct hm_host *h, void *data)
{
	int *seen = data;

	(*seen)++;
	return h->nodeid == 2 ? 42 : 0;
}

static int fail_at_once(const struct hm_host *h, void *data)
{
	(void)h;
	(void)data;
	return -ECANCELED;
}

static int nested_list(const struct hm_host *h, void *data)
{
	(void)h;
	/* the statement of the outer list is busy */
	*(int *)data = hm_store_host_list(st, host_count_cb, &(int){ 0 });
	return 0;
}

START_TEST(test_list_stops)
{
	struct hm_host h;
	int seen = 0, inner = 0;
	uint32_t id;

	for (id = 1; id <= 3; id++) {
		char name[16];

		snprintf(name, sizeof(name), "node%u", id);
		h = host(id, name);
		ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	}
	ck_assert_int_eq(hm_store_host_list(st, stop_at_second, &seen), 42);
	ck_assert_int_eq(seen, 2);
	ck_assert_int_eq(hm_store_host_list(st, fail_at_once, NULL), -ECANCELED);
	ck_assert_int_eq(hm_store_host_list(st, nested_list, &inner), 0);
	ck_assert_int_eq(inner, -EBUSY);
	/* and the statement is usable again afterwards */
	ck_assert_int_eq(hosts(), 3);
}
END_TEST

/* ---- transactions and position ---- */

START_TEST(test_transaction_calls)
{
	ck_assert(!hm_store_in_transaction(st));
	ck_assert_int_eq(hm_store_commit(st), -EINVAL);
	ck_assert_int_eq(hm_store_rollback(st), -EINVAL);
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert(hm_store_in_transaction(st));
	ck_assert_int_eq(hm_store_begin(st), -EBUSY);
	ck_assert(hm_store_in_transaction(st));
	ck_assert_int_eq(hm_store_commit(st), 0);
	ck_assert(!hm_store_in_transaction(st));
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_rollback(st), 0);
	ck_assert(!hm_store_in_transaction(st));
}
END_TEST

START_TEST(test_rollback_leaves_nothing)
{
	uint8_t before[HM_STORE_CHECKSUM_LEN], after[HM_STORE_CHECKSUM_LEN];
	struct hm_store_pos pos = { { 3, 0x2c }, 17 }, got;
	struct hm_host h = host(1, "node1");
	struct hm_instance i = instance(U1, "vm1", 1);
	struct hm_job j = job(1);
	struct hm_host *gh;

	ck_assert_int_eq(hm_store_checksum(st, before), 0);
	/* an apply: several changes and the position, then one fails */
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "fence.timeout_ms", "1", NULL), 0);
	ck_assert_int_eq(hm_store_job_upsert(st, &j), 0);
	ck_assert_int_eq(hm_store_pos_set(st, &pos), 0);
	i = instance(U2, "vm1", 1);		/* duplicate name */
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EEXIST);
	ck_assert_int_eq(hm_store_rollback(st), 0);

	ck_assert_int_eq(hm_store_host_get(st, 1, &gh), -ENOENT);
	ck_assert_int_eq(instances(), 0);
	ck_assert_int_eq(hm_store_pos_get(st, &got), 0);
	ck_assert_uint_eq(got.last_quorate.nodeid, 0);
	ck_assert_uint_eq(got.applied_seq, 0);
	ck_assert_int_eq(hm_store_checksum(st, after), 0);
	ck_assert_mem_eq(before, after, sizeof(before));

	/* a failed statement alone undoes only itself */
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	h = host(2, "");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), -EINVAL);
	ck_assert_int_eq(hm_store_commit(st), 0);
	ck_assert_int_eq(hosts(), 1);
}
END_TEST

START_TEST(test_position)
{
	struct hm_store_pos pos, got;

	ck_assert_int_eq(hm_store_pos_get(st, &got), 0);
	ck_assert_uint_eq(got.last_quorate.nodeid, 0);
	ck_assert_uint_eq(got.last_quorate.seq, 0);
	ck_assert_uint_eq(got.applied_seq, 0);
	pos.last_quorate.nodeid = UINT32_MAX;
	pos.last_quorate.seq = UINT64_MAX;
	pos.applied_seq = (1ull << 63) + 5;
	ck_assert_int_eq(hm_store_pos_set(st, &pos), 0);
	reopen();
	ck_assert_int_eq(hm_store_pos_get(st, &got), 0);
	ck_assert_uint_eq(got.last_quorate.nodeid, UINT32_MAX);
	ck_assert(got.last_quorate.seq == UINT64_MAX);
	ck_assert(got.applied_seq == (1ull << 63) + 5);
	/* the position is content-free: it is not in the checksum */
	{
		uint8_t a[HM_STORE_CHECKSUM_LEN], b[HM_STORE_CHECKSUM_LEN];

		ck_assert_int_eq(hm_store_checksum(st, a), 0);
		pos.applied_seq = 1;
		ck_assert_int_eq(hm_store_pos_set(st, &pos), 0);
		ck_assert_int_eq(hm_store_checksum(st, b), 0);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
}
END_TEST

/* ---- checksums ---- */

/* the same content, in one of two orders */
static void fill(struct hm_store *s, bool reverse)
{
	struct hm_host h1 = host(1, "node1"), h2 = host(2, "node2");
	struct hm_instance i1 = instance(U1, "vm1", 1), i2 = instance(U2, "vm2", 2);
	struct hm_fence_device f = { .id = 1, .host = 2, .level = 1, .agent = "fence_ipmilan",
				     .params = "{\"ip\":\"10.0.0.2\"}" };
	struct hm_job j1 = job(1), j2 = job(2);
	struct hm_job_step s1 = step(1, 0, HM_STEP_FENCE), s2 = step(1, 1, HM_STEP_START);
	struct hm_history_event e = event(1, 10, 1);

	i2.affinity_group = "web";
	j2.kind = HM_JOB_DRAIN;
	ck_assert_int_eq(hm_store_begin(s), 0);
	if (!reverse) {
		ck_assert_int_eq(hm_store_host_upsert(s, &h1), 0);
		ck_assert_int_eq(hm_store_host_upsert(s, &h2), 0);
		ck_assert_int_eq(hm_store_instance_upsert(s, &i1), 0);
		ck_assert_int_eq(hm_store_instance_upsert(s, &i2), 0);
		ck_assert_int_eq(hm_store_policy_set(s, "a", "1", NULL), 0);
		ck_assert_int_eq(hm_store_policy_set(s, "b", "2", NULL), 0);
		ck_assert_int_eq(hm_store_job_upsert(s, &j1), 0);
		ck_assert_int_eq(hm_store_job_upsert(s, &j2), 0);
		ck_assert_int_eq(hm_store_job_step_upsert(s, &s1), 0);
		ck_assert_int_eq(hm_store_job_step_upsert(s, &s2), 0);
	} else {
		ck_assert_int_eq(hm_store_job_upsert(s, &j2), 0);
		ck_assert_int_eq(hm_store_job_upsert(s, &j1), 0);
		ck_assert_int_eq(hm_store_job_step_upsert(s, &s2), 0);
		ck_assert_int_eq(hm_store_job_step_upsert(s, &s1), 0);
		ck_assert_int_eq(hm_store_host_upsert(s, &h2), 0);
		ck_assert_int_eq(hm_store_host_upsert(s, &h1), 0);
		ck_assert_int_eq(hm_store_instance_upsert(s, &i2), 0);
		ck_assert_int_eq(hm_store_instance_upsert(s, &i1), 0);
		/* same rows, same policy version, by another path */
		ck_assert_int_eq(hm_store_policy_set(s, "b", "0", NULL), 0);
		ck_assert_int_eq(hm_store_policy_set(s, "a", "1", NULL), 0);
		ck_assert_int_eq(hm_store_policy_set(s, "b", "2", NULL), 0);
		ck_assert_int_eq(hm_store_policy_delete(s, "a"), 0);
		ck_assert_int_eq(hm_store_policy_set(s, "a", "1", NULL), 0);
		ck_assert_int_eq(hm_store_policy_set(s, "b", "2", NULL), 0);
	}
	ck_assert_int_eq(hm_store_fence_device_upsert(s, &f), 0);
	ck_assert_int_eq(hm_store_history_append(s, &e), 0);
	ck_assert_int_eq(hm_store_commit(s), 0);
}

static void hex(const uint8_t *d, char *out)
{
	int i;

	for (i = 0; i < HM_STORE_CHECKSUM_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(test_checksum_order_independent)
{
	uint8_t a[HM_STORE_CHECKSUM_LEN], b[HM_STORE_CHECKSUM_LEN];
	uint8_t ta[HM_STORE_CHECKSUM_LEN], tb[HM_STORE_CHECKSUM_LEN];
	struct hm_instance i = instance(U1, "vm1", 1);
	struct hm_history_event e = event(2, 20, 2);
	char other[160];
	struct hm_store *s2;
	uint64_t va, vb;
	int t;

	snprintf(other, sizeof(other), "%s/other.db", dir);
	ck_assert_int_eq(hm_store_open(other, &s2), 0);
	fill(st, false);
	fill(s2, true);
	ck_assert_int_eq(hm_store_policy_version(st, &va), 0);
	ck_assert_int_eq(hm_store_policy_version(s2, &vb), 0);
	/* the policy versions are content: they differ by the path taken
	 * (a@1 b@2 v2 against a@5 b@6 v6), so bring st to the same */
	ck_assert_uint_eq(va, 2);
	ck_assert_uint_eq(vb, 6);
	ck_assert_int_eq(hm_store_checksum(st, a), 0);
	ck_assert_int_eq(hm_store_checksum(s2, b), 0);
	ck_assert_mem_ne(a, b, sizeof(a));
	ck_assert_int_eq(hm_store_policy_set(st, "a", "1", NULL), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "a", "1", NULL), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "a", "1", NULL), 0);
	ck_assert_int_eq(hm_store_policy_set(st, "b", "2", NULL), 0);

	ck_assert_int_eq(hm_store_checksum(st, a), 0);
	ck_assert_int_eq(hm_store_checksum(s2, b), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	for (t = 0; t < HM_TABLE_MAX; t++) {
		ck_assert_int_eq(hm_store_table_checksum(st, t, ta), 0);
		ck_assert_int_eq(hm_store_table_checksum(s2, t, tb), 0);
		ck_assert_mem_eq(ta, tb, sizeof(ta));
	}
	/* the tables differ from one another even when empty */
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HOSTS, ta), 0);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_INSTANCES, tb), 0);
	ck_assert_mem_ne(ta, tb, sizeof(ta));

	/* one field changed: the checksum and that table's checksum change */
	i.updated_ms++;
	ck_assert_int_eq(hm_store_instance_upsert(s2, &i), 0);
	ck_assert_int_eq(hm_store_checksum(s2, b), 0);
	ck_assert_mem_ne(a, b, sizeof(a));
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_INSTANCES, ta), 0);
	ck_assert_int_eq(hm_store_table_checksum(s2, HM_TABLE_INSTANCES, tb), 0);
	ck_assert_mem_ne(ta, tb, sizeof(ta));
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HOSTS, ta), 0);
	ck_assert_int_eq(hm_store_table_checksum(s2, HM_TABLE_HOSTS, tb), 0);
	ck_assert_mem_eq(ta, tb, sizeof(ta));
	i.updated_ms--;
	ck_assert_int_eq(hm_store_instance_upsert(s2, &i), 0);
	ck_assert_int_eq(hm_store_checksum(s2, b), 0);
	ck_assert_mem_eq(a, b, sizeof(a));

	/* setting a policy to the value it has is a change too */
	ck_assert_int_eq(hm_store_policy_set(s2, "a", "1", NULL), 0);
	ck_assert_int_eq(hm_store_checksum(s2, b), 0);
	ck_assert_mem_ne(a, b, sizeof(a));

	/* history is not in the state checksum, only in its own */
	ck_assert_int_eq(hm_store_checksum(st, a), 0);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HISTORY, ta), 0);
	ck_assert_int_eq(hm_store_history_append(st, &e), 0);
	ck_assert_int_eq(hm_store_checksum(st, b), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HISTORY, tb), 0);
	ck_assert_mem_ne(ta, tb, sizeof(ta));
	hm_store_close(s2);
}
END_TEST

/*
 * The checksum, pinned: computed independently (Python's hashlib over the
 * encoding doc/store.md defines, reading the rows with Python's sqlite3) for
 * the content fill() writes.  If this fails you changed the encoding or the
 * schema: two versions of hamond would no longer agree on a digest.
 */
#define GOLDEN_CHECKSUM "e8c421d9f34ecfa998a7055c47afd8a2eaa6aa4fa1383a741fbc4576c4102fcb"
#define GOLDEN_HOSTS "a7f09adceb2c9c7bce62ba5565d9aa6ac6bdab4bbca56384f50643956446a141"

START_TEST(test_checksum_golden)
{
	uint8_t d[HM_STORE_CHECKSUM_LEN];
	char h[2 * HM_STORE_CHECKSUM_LEN + 1];

	fill(st, false);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HOSTS, d), 0);
	hex(d, h);
	ck_assert_str_eq(h, GOLDEN_HOSTS);
	ck_assert_int_eq(hm_store_checksum(st, d), 0);
	hex(d, h);
	ck_assert_str_eq(h, GOLDEN_CHECKSUM);
}
END_TEST

/* ---- sync: rows as JSON, buckets ---- */

struct text {
	char *p;
	size_t len;
};

/* every dumped row, one a line */
static int collect_cb(const char *row, size_t len, void *data)
{
	struct text *x = data;

	ck_assert_uint_eq(strlen(row), len);
	x->p = realloc(x->p, x->len + len + 2);
	ck_assert_ptr_nonnull(x->p);
	memcpy(x->p + x->len, row, len);
	x->len += len;
	x->p[x->len++] = '\n';
	x->p[x->len] = '\0';
	return 0;
}

static char *dump_text(struct hm_store *s, enum hm_store_table t)
{
	struct text x = { NULL, 0 };

	ck_assert_int_eq(hm_store_table_dump(s, t, collect_cb, &x), 0);
	return x.p ? x.p : strdup("");
}

struct loader {
	struct hm_store *dst;
	enum hm_store_table t;
	int rows;
};

static int load_cb(const char *row, size_t len, void *data)
{
	struct loader *l = data;

	l->rows++;
	return hm_store_table_load_row(l->dst, l->t, row, len);
}

static void assert_same(struct hm_store *a, struct hm_store *b)
{
	uint8_t da[HM_STORE_CHECKSUM_LEN], db[HM_STORE_CHECKSUM_LEN];
	uint64_t va, vb;
	int t;

	ck_assert_int_eq(hm_store_checksum(a, da), 0);
	ck_assert_int_eq(hm_store_checksum(b, db), 0);
	ck_assert_mem_eq(da, db, sizeof(da));
	for (t = 0; t < HM_TABLE_MAX; t++) {
		ck_assert_int_eq(hm_store_table_checksum(a, t, da), 0);
		ck_assert_int_eq(hm_store_table_checksum(b, t, db), 0);
		ck_assert_msg(memcmp(da, db, sizeof(da)) == 0, "table %s differs",
			      hm_store_table_to_str(t));
	}
	ck_assert_int_eq(hm_store_policy_version(a, &va), 0);
	ck_assert_int_eq(hm_store_policy_version(b, &vb), 0);
	ck_assert_uint_eq(va, vb);
}

/* a whole copy, children before parents: the order doesn't matter */
static void full_copy(struct hm_store *src, struct hm_store *dst)
{
	uint64_t v;
	int t;

	ck_assert_int_eq(hm_store_sync_begin(dst), 0);
	for (t = HM_TABLE_MAX - 1; t >= 0; t--) {
		struct loader l = { dst, t, 0 };

		ck_assert_int_eq(hm_store_table_load_begin(dst, t), 0);
		ck_assert_int_eq(hm_store_table_dump(src, t, load_cb, &l), 0);
	}
	ck_assert_int_eq(hm_store_policy_version(src, &v), 0);
	ck_assert_int_eq(hm_store_policy_version_set(dst, v), 0);
	ck_assert_int_eq(hm_store_commit(dst), 0);
}

static struct hm_store *open_other(const char *name)
{
	char p[160];
	struct hm_store *s;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_int_eq(hm_store_open(p, &s), 0);
	return s;
}

/* content with the awkward values: NULLs, unicode, quotes, control
 * characters, the extremes of 32 and 64 bits */
static void fill_awkward(struct hm_store *s)
{
	struct hm_host h1 = host(1, "node1"), h2 = host(UINT32_MAX, "10.0.0.2:5405");
	struct hm_instance i1 = instance(U1, "vm-\xc3\xbc-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80", 1);
	struct hm_instance i2 = instance(U2, "vm2 \"quoted\" \\ back", UINT32_MAX);
	struct hm_instance i3 = instance(U3, "vm3", 0);
	struct hm_job j = job(INT64_MAX);
	struct hm_job_step st1 = step(INT64_MAX, UINT32_MAX, HM_STEP_MIGRATE);
	struct hm_fence_device f = { .id = UINT32_MAX, .host = UINT32_MAX, .level = 7,
				     .agent = "fence_ipmilan",
				     .params = "{\"passwd\":\"p\\\"w\\u00e9\",\"n\":[1,2]}" };
	struct hm_history_event e = event(INT64_MAX, INT64_MAX, UINT32_MAX);

	h1.libvirt_uri = NULL;
	h1.maintenance = h1.disabled = h1.reserved = true;
	h2.memory_mib = INT64_MAX;
	h2.vcpus = UINT32_MAX;
	h2.migration_uri = "qemu+tls://node2/system";
	h2.libvirt_uuid = U3;
	h2.boot_id = "\xe2\x9c\x93";
	h2.updated_ms = INT64_MAX;
	i1.domain_xml = "<domain>\n\t<name>\x01\x1f\x7f \"x\" \\ </name>\xe2\x80\xa8</domain>";
	i1.priority = INT64_MIN;
	i2.priority = INT64_MAX;
	i2.affinity_group = "web";
	i3.storage = HM_STORAGE_LOCAL;
	j.reason = NULL;
	j.target_host = 0;
	j.updated_ms = INT64_MAX;
	st1.instance = NULL;
	st1.host = 0;
	st1.result = "\xd0\xbe\xd0\xba";
	e.instance = U2;
	e.job = INT64_MAX;
	e.message = "line 1\nline 2\r\n\"\\/";
	ck_assert_int_eq(hm_store_begin(s), 0);
	ck_assert_int_eq(hm_store_host_upsert(s, &h1), 0);
	ck_assert_int_eq(hm_store_host_upsert(s, &h2), 0);
	ck_assert_int_eq(hm_store_instance_upsert(s, &i1), 0);
	ck_assert_int_eq(hm_store_instance_upsert(s, &i2), 0);
	ck_assert_int_eq(hm_store_instance_upsert(s, &i3), 0);
	ck_assert_int_eq(hm_store_policy_set(s, "fence_timeout_s", "60", NULL), 0);
	ck_assert_int_eq(hm_store_policy_set(s, "shared_storage_path", "/srv/\xc3\xa9t\xc3\xa9", NULL), 0);
	ck_assert_int_eq(hm_store_policy_set(s, "x", "", NULL), 0);
	ck_assert_int_eq(hm_store_fence_device_upsert(s, &f), 0);
	ck_assert_int_eq(hm_store_job_upsert(s, &j), 0);
	ck_assert_int_eq(hm_store_job_step_upsert(s, &st1), 0);
	ck_assert_int_eq(hm_store_history_append(s, &e), 0);
	ck_assert_int_eq(hm_store_commit(s), 0);
}

/* a host row, with one member's raw JSON value replaced (raw NULL: left
 * out), or a member added when key is not a column */
static const char *const host_members[][2] = {
	{ "nodeid", "1" }, { "name", "\"node1\"" }, { "state", "\"online\"" },
	{ "maintenance", "0" }, { "disabled", "0" }, { "reserved", "0" },
	{ "vcpus", "32" }, { "memory_mib", "131072" },
	{ "libvirt_uri", "\"qemu:///system\"" }, { "migration_uri", "null" },
	{ "libvirt_uuid", "null" }, { "boot_id", "null" }, { "updated_ms", "1000" },
	{ "fence_view", "null" },
};
#define N_HOST_MEMBERS (sizeof(host_members) / sizeof(host_members[0]))

static const char *host_row(const char *key, const char *raw)
{
	static char buf[1024];
	size_t i;
	bool found = false;

	strcpy(buf, "{");
	for (i = 0; i < N_HOST_MEMBERS; i++) {
		const char *v = host_members[i][1];

		if (key && strcmp(key, host_members[i][0]) == 0) {
			found = true;
			v = raw;
		}
		if (!v)
			continue;
		if (buf[1])
			strcat(buf, ",");
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "\"%s\":%s",
			 host_members[i][0], v);
	}
	if (key && !found)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ",\"%s\":%s", key, raw);
	strcat(buf, "}");
	return buf;
}

START_TEST(test_sync_invalid)
{
	uint8_t d[2][HM_STORE_CHECKSUM_LEN];
	struct text x = { NULL, 0 };
	const char *row = host_row(NULL, NULL);

	/* NULLs, tables and buckets out of range */
	ck_assert_int_eq(hm_store_table_dump(NULL, HM_TABLE_HOSTS, collect_cb, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_dump(st, HM_TABLE_MAX, collect_cb, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_dump(st, HM_TABLE_HOSTS, NULL, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_dump_bucket(st, HM_TABLE_HOSTS, 0, 0, collect_cb, &x),
			 -EINVAL);
	ck_assert_int_eq(hm_store_table_dump_bucket(st, HM_TABLE_HOSTS, 4, 4, collect_cb, &x),
			 -EINVAL);
	ck_assert_int_eq(hm_store_table_dump_bucket(st, HM_TABLE_HOSTS, HM_STORE_BUCKETS_MAX + 1,
						    0, collect_cb, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_dump_bucket(st, HM_TABLE_HOSTS, 2, 0, NULL, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_digests(NULL, HM_TABLE_HOSTS, 2, d), -EINVAL);
	ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_MAX, 2, d), -EINVAL);
	ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_HOSTS, 0, d), -EINVAL);
	ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_HOSTS, HM_STORE_BUCKETS_MAX + 1, d),
			 -EINVAL);
	ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_HOSTS, 2, NULL), -EINVAL);
	ck_assert_int_eq(hm_store_sync_begin(NULL), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_begin(NULL, HM_TABLE_HOSTS), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_row(NULL, HM_TABLE_HOSTS, row, strlen(row)), -EINVAL);
	ck_assert_int_eq(hm_store_policy_version_set(NULL, 1), -EINVAL);
	ck_assert_int_eq(hm_store_policy_version_set(st, (uint64_t)INT64_MAX + 1), -EINVAL);
	ck_assert_ptr_null(x.p);

	/* loading outside a sync transaction: refused, even in a plain one,
	 * where deleting a host would cascade */
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_HOSTS), -EPERM);
	ck_assert_int_eq(hm_store_table_load_bucket_begin(st, HM_TABLE_HOSTS, 2, 1), -EPERM);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, row, strlen(row)), -EPERM);
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_sync_begin(st), -EBUSY);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_HOSTS), -EPERM);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, row, strlen(row)), -EPERM);
	ck_assert_int_eq(hm_store_rollback(st), 0);

	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	ck_assert(hm_store_in_transaction(st));
	ck_assert_int_eq(hm_store_sync_begin(st), -EBUSY);
	ck_assert_int_eq(hm_store_begin(st), -EBUSY);
	ck_assert_int_eq(hm_store_table_load_bucket_begin(st, HM_TABLE_HOSTS, 2, 2), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_MAX), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_MAX, row, strlen(row)), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, NULL, 3), -EINVAL);
	ck_assert_int_eq(hm_store_rollback(st), 0);
	ck_assert(!hm_store_in_transaction(st));
}
END_TEST

/* rows that are not rows of the table, or carry a value it refuses */
static const struct {
	const char *key, *raw;	/* host_row()'s arguments, or key NULL: raw is the row */
	int err;
} bad_rows[] = {
	{ NULL, "", -EBADMSG },
	{ NULL, "not json", -EBADMSG },
	{ NULL, "{\"nodeid\":1", -EBADMSG },
	{ NULL, "[1,2]", -EBADMSG },
	{ NULL, "\"text\"", -EBADMSG },
	{ NULL, "null", -EBADMSG },
	{ NULL, "42", -EBADMSG },
	{ NULL, "{}", -EBADMSG },
	{ NULL, "{nodeid:1}", -EBADMSG },			/* JSON5 */
	{ "name", NULL, -EBADMSG },				/* a column missing */
	{ "updated_ms", NULL, -EBADMSG },
	{ "extra", "1", -EBADMSG },				/* a column too many */
	{ "", "1", -EBADMSG },
	{ "nodeid", "1,\"nodeid\":1", -EBADMSG },		/* repeated */
	{ "nodeid", "\"1\"", -EBADMSG },			/* wrong types */
	{ "nodeid", "1.0", -EBADMSG },
	{ "nodeid", "1e0", -EBADMSG },
	{ "nodeid", "true", -EBADMSG },
	{ "maintenance", "false", -EBADMSG },
	{ "nodeid", "null", -EBADMSG },				/* required */
	{ "name", "null", -EBADMSG },
	{ "name", "7", -EBADMSG },
	{ "state", "[\"online\"]", -EBADMSG },
	{ "libvirt_uri", "{}", -EBADMSG },
	{ "libvirt_uri", "5", -EBADMSG },
	{ "memory_mib", "9223372036854775808", -EBADMSG },	/* beyond 64 bits */
	{ "updated_ms", "-9223372036854775809", -EBADMSG },
	{ "updated_ms", "99999999999999999999999", -EBADMSG },
	{ "updated_ms", "01", -EBADMSG },
	{ "state", "\"bogus\", \"extra\": 1", -EBADMSG },	/* malformed wins */
	{ "nodeid", "0", -EINVAL },				/* refused values */
	{ "nodeid", "-1", -EINVAL },
	{ "nodeid", "4294967296", -EINVAL },
	{ "vcpus", "4294967296", -EINVAL },
	{ "memory_mib", "-1", -EINVAL },
	{ "maintenance", "2", -EINVAL },
	{ "state", "\"bogus\"", -EINVAL },
	{ "name", "\"\"", -EINVAL },
	{ "name", "\"a b\"", -EINVAL },
	{ "name", "\"a\\u0000b\"", -EINVAL },
	{ "libvirt_uuid", "\"0B6E4A3C-1F2D-4E5A-9B8C-7D6E5F4A3B21\"", -EINVAL },
	{ "boot_id", "\"\"", -EINVAL },
	{ "updated_ms", "-1", -EINVAL },
	{ "nodeid", "2", -EEXIST },				/* node1 is taken */
};

START_TEST(test_load_row_refused)
{
	uint8_t before[HM_STORE_CHECKSUM_LEN], after[HM_STORE_CHECKSUM_LEN];
	char row[1100], good[1100];
	struct hm_host h = host(9, "node9");
	struct hm_host *got;

	snprintf(row, sizeof(row), "%s", bad_rows[_i].key ?
		 host_row(bad_rows[_i].key, bad_rows[_i].raw) : bad_rows[_i].raw);
	snprintf(good, sizeof(good), "%s", host_row(NULL, NULL));

	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HOSTS, before), 0);
	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_HOSTS), 0);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, good, strlen(good)), 0);
	ck_assert_msg(hm_store_table_load_row(st, HM_TABLE_HOSTS, row, strlen(row)) ==
		      bad_rows[_i].err, "%s: expected %d", row, bad_rows[_i].err);
	/* the transaction goes on: a good row still loads */
	h = host(3, "node3");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_rollback(st), 0);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_HOSTS, after), 0);
	ck_assert_mem_eq(before, after, sizeof(before));
	ck_assert_int_eq(hm_store_host_get(st, 1, &got), -ENOENT);
	ck_assert_int_eq(hm_store_host_get(st, 9, &got), 0);
	free(got);
}
END_TEST

START_TEST(test_load_row_nul_and_trailing)
{
	static const char nul[] = "{\"nodeid\":1}\0garbage";
	char buf[1100];
	const char *good = host_row(NULL, NULL);
	int n;

	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	/* a NUL inside the length, garbage after the object */
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, nul, sizeof(nul) - 1),
			 -EBADMSG);
	n = snprintf(buf, sizeof(buf), "%s x", good);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, buf, (size_t)n), -EBADMSG);
	n = snprintf(buf, sizeof(buf), "%s{}", good);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, buf, (size_t)n), -EBADMSG);
	/* a length that stops short */
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, good, strlen(good) - 1),
			 -EBADMSG);
	/* white space around, escapes in keys and values: JSON all the same */
	n = snprintf(buf, sizeof(buf), " \n%s\t", good);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, buf, (size_t)n), 0);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, buf, (size_t)n), -EEXIST);
	/* host 2, its key spelt with an escape, and an escaped backslash
	 * before "u0000", which is no NUL */
	snprintf(buf, sizeof(buf), "{\"\\u006eodeid\":2,\"name\":\"node2\",%s",
		 host_row("libvirt_uri", "\"x\\\\u0000\\u00e9\"") +
		 strlen("{\"nodeid\":1,\"name\":\"node1\","));
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HOSTS, buf, strlen(buf)), 0);
	ck_assert_int_eq(hm_store_commit(st), 0);
	ck_assert_int_eq(hosts(), 2);
	{
		struct hm_host *h;

		ck_assert_int_eq(hm_store_host_get(st, 2, &h), 0);
		ck_assert_str_eq(h->libvirt_uri, "x\\u0000\xc3\xa9");
		free(h);
	}
}
END_TEST

/* the encoding, pinned: compact, columns in declared order, null, JSON
 * integers, and only '"', '\' and control characters escaped */
START_TEST(test_dump_format)
{
	struct hm_host h = host(1, "node1");
	struct hm_instance i = instance(U1, "vm-\xc3\xbc", 1);
	char *text;

	h.reserved = true;
	h.memory_mib = INT64_MAX;
	i.domain_xml = "<a x=\"1\">\\\n\t\x01\x7f</a>";
	i.priority = INT64_MIN;
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), 0);
	text = dump_text(st, HM_TABLE_HOSTS);
	ck_assert_str_eq(text, "{\"nodeid\":1,\"name\":\"node1\",\"state\":\"online\","
			 "\"maintenance\":0,\"disabled\":0,\"reserved\":1,\"vcpus\":32,"
			 "\"memory_mib\":9223372036854775807,\"libvirt_uri\":\"qemu:///system\","
			 "\"migration_uri\":null,\"libvirt_uuid\":null,\"boot_id\":null,"
			 "\"updated_ms\":1000,\"fence_view\":null}\n");
	free(text);
	text = dump_text(st, HM_TABLE_INSTANCES);
	ck_assert_str_eq(text, "{\"uuid\":\"" U1 "\",\"name\":\"vm-\xc3\xbc\","
			 "\"domain_xml\":\"<a x=\\\"1\\\">\\\\\\u000a\\u0009\\u0001\x7f</a>\","
			 "\"owner\":1,\"storage\":\"shared\",\"vcpus\":2,\"memory_mib\":2048,"
			 "\"requested\":\"started\",\"ha_policy\":\"ha\","
			 "\"priority\":-9223372036854775808,\"affinity_group\":null,"
			 "\"observed\":\"running\",\"updated_ms\":2000}\n");
	free(text);
	/* an empty table: no call */
	text = dump_text(st, HM_TABLE_JOBS);
	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

static int stop_after_one(const char *row, size_t len, void *data)
{
	(void)row;
	(void)len;
	(*(int *)data)++;
	return 42;
}

START_TEST(test_dump_load_roundtrip)
{
	struct hm_store *s2 = open_other("copy.db"), *empty = open_other("empty.db");
	struct hm_instance *got;
	struct hm_job *j;
	char *a, *b;
	int t, n = 0;

	fill_awkward(st);
	fill(s2, false);	/* other content, to be replaced */
	full_copy(st, s2);
	assert_same(st, s2);
	for (t = 0; t < HM_TABLE_MAX; t++) {
		a = dump_text(st, t);
		b = dump_text(s2, t);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
	ck_assert_int_eq(hm_store_instance_get(s2, U1, &got), 0);
	ck_assert(got->priority == INT64_MIN);
	ck_assert_str_eq(got->domain_xml,
			 "<domain>\n\t<name>\x01\x1f\x7f \"x\" \\ </name>\xe2\x80\xa8</domain>");
	ck_assert_str_eq(got->name, "vm-\xc3\xbc-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80");
	free(got);
	ck_assert_int_eq(hm_store_job_get(s2, INT64_MAX, &j), 0);
	ck_assert(j->updated_ms == INT64_MAX);
	ck_assert_ptr_null(j->reason);
	ck_assert_uint_eq(j->target_host, 0);
	free(j);

	/* a callback's non-zero value stops the dump */
	ck_assert_int_eq(hm_store_table_dump(st, HM_TABLE_INSTANCES, stop_after_one, &n), 42);
	ck_assert_int_eq(n, 1);

	/* empty tables copy too */
	full_copy(empty, s2);
	assert_same(empty, s2);
	ck_assert_int_eq(hm_store_instance_get(s2, U1, &got), -ENOENT);
	/* and foreign keys are on again */
	{
		struct hm_host h = host(1, "node1");
		struct hm_instance i = instance(U1, "vm1", 2);

		ck_assert_int_eq(hm_store_host_upsert(s2, &h), 0);
		ck_assert_int_eq(hm_store_instance_upsert(s2, &i), -EINVAL);
		i.owner = 1;
		ck_assert_int_eq(hm_store_instance_upsert(s2, &i), 0);
		ck_assert_int_eq(hm_store_host_delete(s2, 1), -EBUSY);
	}
	hm_store_close(empty);
	hm_store_close(s2);
}
END_TEST

/* a reference to nothing is refused at commit, and the sync undone */
START_TEST(test_sync_foreign_keys_at_commit)
{
	static const char orphan[] = "{\"job\":5,\"seq\":0,\"instance\":null,\"action\":\"fence\","
		"\"host\":null,\"state\":\"intent\",\"result\":null,\"updated_ms\":1,\"target\":null}";
	uint8_t before[HM_STORE_CHECKSUM_LEN], after[HM_STORE_CHECKSUM_LEN];
	struct hm_instance i = instance(U1, "vm1", 1);
	struct hm_host h = host(1, "node1");

	fill(st, false);
	ck_assert_int_eq(hm_store_checksum(st, before), 0);
	/* a host owning instances, deleted: the commit refuses */
	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_HOSTS), 0);
	ck_assert_int_eq(hm_store_commit(st), -EINVAL);
	ck_assert(!hm_store_in_transaction(st));
	ck_assert_int_eq(hm_store_checksum(st, after), 0);
	ck_assert_mem_eq(before, after, sizeof(before));
	/* a step of a job that isn't there */
	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_JOB_STEPS, orphan,
						 sizeof(orphan) - 1), 0);
	ck_assert_int_eq(hm_store_commit(st), -EINVAL);
	ck_assert_int_eq(hm_store_checksum(st, after), 0);
	ck_assert_mem_eq(before, after, sizeof(before));
	/* foreign keys are on again after a refused commit */
	ck_assert_int_eq(hm_store_host_delete(st, 1), -EBUSY);
	i.owner = 99;
	ck_assert_int_eq(hm_store_instance_upsert(st, &i), -EINVAL);
	/* deleting the hosts and loading them again cascades nothing: the
	 * fence device (of host 2) stays */
	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_HOSTS), 0);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_JOBS), 0);
	ck_assert_int_eq(hm_store_commit(st), -EINVAL);
	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	ck_assert_int_eq(hm_store_table_load_begin(st, HM_TABLE_HOSTS), 0);
	h = host(2, "node2");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	h = host(1, "node1");
	ck_assert_int_eq(hm_store_host_upsert(st, &h), 0);
	ck_assert_int_eq(hm_store_commit(st), 0);
	ck_assert_int_eq(hm_store_checksum(st, after), 0);
	ck_assert_mem_eq(before, after, sizeof(before));
}
END_TEST

START_TEST(test_sync_rollback_leaves_nothing)
{
	uint8_t before[HM_STORE_CHECKSUM_LEN], after[HM_STORE_CHECKSUM_LEN];
	struct hm_store *src = open_other("src.db");
	uint64_t v;
	int t;

	fill(st, false);
	fill_awkward(src);
	ck_assert_int_eq(hm_store_checksum(st, before), 0);
	ck_assert_int_eq(hm_store_sync_begin(st), 0);
	for (t = 0; t < HM_TABLE_MAX; t++) {
		struct loader l = { st, t, 0 };

		ck_assert_int_eq(hm_store_table_load_begin(st, t), 0);
		ck_assert_int_eq(hm_store_table_dump(src, t, load_cb, &l), 0);
	}
	ck_assert_int_eq(hm_store_policy_version_set(st, 77), 0);
	/* the last row is broken: the caller rolls back */
	ck_assert_int_eq(hm_store_table_load_row(st, HM_TABLE_HISTORY, "{\"id\":", 6), -EBADMSG);
	ck_assert_int_eq(hm_store_rollback(st), 0);
	ck_assert_int_eq(hm_store_checksum(st, after), 0);
	ck_assert_mem_eq(before, after, sizeof(before));
	ck_assert_int_eq(hm_store_policy_version(st, &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(hm_store_host_delete(st, 1), -EBUSY);	/* foreign keys on */
	hm_store_close(src);
}
END_TEST

/* the policy version is synced by itself: rows equal, version not */
START_TEST(test_policy_version_set)
{
	uint8_t a[HM_STORE_CHECKSUM_LEN], b[HM_STORE_CHECKSUM_LEN];
	struct hm_store *s2 = open_other("v.db");
	uint64_t v;

	ck_assert_int_eq(hm_store_policy_set(st, "a", "1", NULL), 0);
	full_copy(st, s2);
	assert_same(st, s2);
	ck_assert_int_eq(hm_store_policy_set(st, "a", "1", NULL), 0);
	ck_assert_int_eq(hm_store_table_checksum(st, HM_TABLE_POLICY, a), 0);
	ck_assert_int_eq(hm_store_table_checksum(s2, HM_TABLE_POLICY, b), 0);
	ck_assert_mem_ne(a, b, sizeof(a));
	ck_assert_int_eq(hm_store_policy_version_set(s2, 2), 0);
	ck_assert_int_eq(hm_store_policy_version(s2, &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(hm_store_table_checksum(s2, HM_TABLE_POLICY, b), 0);
	ck_assert_mem_ne(a, b, sizeof(a));	/* the entry's version differs */
	full_copy(st, s2);
	assert_same(st, s2);
	ck_assert_int_eq(hm_store_policy_version_set(s2, INT64_MAX), 0);
	ck_assert_int_eq(hm_store_policy_version(s2, &v), 0);
	ck_assert(v == INT64_MAX);
	hm_store_close(s2);
}
END_TEST

/* the buckets' digests: equal for equal rows, one row changed changes
 * exactly its bucket, and the bucket is the one whose dump holds the row */
static int digests_differ(struct hm_store *a, struct hm_store *b, enum hm_store_table t,
			  unsigned int n, bool *differ)
{
	uint8_t (*da)[HM_STORE_CHECKSUM_LEN] = calloc(n, HM_STORE_CHECKSUM_LEN);
	uint8_t (*db)[HM_STORE_CHECKSUM_LEN] = calloc(n, HM_STORE_CHECKSUM_LEN);
	unsigned int i;
	int count = 0;

	ck_assert_int_eq(hm_store_table_digests(a, t, n, da), 0);
	ck_assert_int_eq(hm_store_table_digests(b, t, n, db), 0);
	for (i = 0; i < n; i++) {
		differ[i] = memcmp(da[i], db[i], HM_STORE_CHECKSUM_LEN) != 0;
		count += differ[i];
	}
	free(da);
	free(db);
	return count;
}

static unsigned int bucket_holding(struct hm_store *s, enum hm_store_table t, unsigned int n,
				   const char *needle)
{
	unsigned int b, found = n;

	for (b = 0; b < n; b++) {
		struct text x = { NULL, 0 };

		ck_assert_int_eq(hm_store_table_dump_bucket(s, t, n, b, collect_cb, &x), 0);
		if (x.p && strstr(x.p, needle)) {
			ck_assert_uint_eq(found, n);	/* in one bucket only */
			found = b;
		}
		free(x.p);
	}
	ck_assert_uint_lt(found, n);
	return found;
}

START_TEST(test_digests)
{
	static const unsigned int sizes[] = { 1, 2, 16, 255, HM_STORE_BUCKETS_MAX };
	struct hm_store *s2 = open_other("d.db");
	bool differ[HM_STORE_BUCKETS_MAX];
	struct hm_instance i = instance(U2, "vm2", 2);
	struct hm_job_step step1 = step(1, 1, HM_STEP_START);
	unsigned int k, b;
	int t;

	fill(st, false);
	fill(s2, true);		/* same rows, written in another order */
	for (t = 0; t < HM_TABLE_MAX; t++) {
		int n = digests_differ(st, s2, t, 16, differ);

		if (t == HM_TABLE_POLICY)	/* the entries' versions differ */
			ck_assert_int_gt(n, 0);
		else
			ck_assert_int_eq(n, 0);
	}
	full_copy(st, s2);
	i.affinity_group = "web";
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (t = 0; t < HM_TABLE_MAX; t++)
			ck_assert_int_eq(digests_differ(st, s2, t, sizes[k], differ), 0);
		/* one instance changed: one bucket differs, the one holding it */
		i.updated_ms = 2001;
		ck_assert_int_eq(hm_store_instance_upsert(s2, &i), 0);
		ck_assert_int_eq(digests_differ(st, s2, HM_TABLE_INSTANCES, sizes[k], differ), 1);
		b = bucket_holding(s2, HM_TABLE_INSTANCES, sizes[k], U2);
		ck_assert(differ[b]);
		ck_assert_int_eq(digests_differ(st, s2, HM_TABLE_HOSTS, sizes[k], differ), 0);
		i.updated_ms = 2000;
		ck_assert_int_eq(hm_store_instance_upsert(s2, &i), 0);
		/* a step (two-column key) deleted */
		ck_assert_int_eq(hm_store_job_step_delete(s2, 1, 1), 0);
		ck_assert_int_eq(digests_differ(st, s2, HM_TABLE_JOB_STEPS, sizes[k], differ), 1);
		b = bucket_holding(st, HM_TABLE_JOB_STEPS, sizes[k], "\"job\":1,\"seq\":1,");
		ck_assert(differ[b]);
		ck_assert_int_eq(hm_store_job_step_upsert(s2, &step1), 0);
	}
	/* the buckets partition the table: every row in exactly one */
	{
		char *all = dump_text(st, HM_TABLE_HOSTS), *line, *save = NULL;

		for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			bucket_holding(st, HM_TABLE_HOSTS, 16, line);
		free(all);
	}
	/* empty buckets of different tables, or of different counts, differ */
	{
		uint8_t a[2][HM_STORE_CHECKSUM_LEN], c[3][HM_STORE_CHECKSUM_LEN];

		ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_HISTORY, 2, a), 0);
		ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_HISTORY, 3, c), 0);
		ck_assert_mem_ne(a[0], c[0], HM_STORE_CHECKSUM_LEN);
		ck_assert_mem_ne(a[0], a[1], HM_STORE_CHECKSUM_LEN);
	}
	hm_store_close(s2);
}
END_TEST

/*
 * Pinned: the digests of fill()'s hosts in 4 buckets, computed
 * independently with Python's hashlib from doc/store.md's definition
 * (host 1 is in bucket 3, host 2 in bucket 2).
 */
static const char *const golden_host_buckets[4] = {
	"17fcc98cf8b0b5546f7d80f6e449d1e42800f27a298943a892dbfd863284d0b4",
	"726619eb77535ea9fc273709f60bdcce967693a5eb39a9fc7c19572b1fc54c25",
	"02d49ba822c7f743f39aa8b399c651437e6d46374a81680cd156c8a3e63b7ab6",
	"0d22daede15ba6a00f5f0e43ce2e805b79183769dc08e956484b38d6a3887f39",
};

START_TEST(test_digests_golden)
{
	uint8_t d[4][HM_STORE_CHECKSUM_LEN];
	char h[2 * HM_STORE_CHECKSUM_LEN + 1];
	struct text x = { NULL, 0 };
	int b;

	fill(st, false);
	ck_assert_int_eq(hm_store_table_digests(st, HM_TABLE_HOSTS, 4, d), 0);
	for (b = 0; b < 4; b++) {
		hex(d[b], h);
		ck_assert_str_eq(h, golden_host_buckets[b]);
	}
	ck_assert_int_eq(hm_store_table_dump_bucket(st, HM_TABLE_HOSTS, 4, 3, collect_cb, &x), 0);
	ck_assert_ptr_nonnull(strstr(x.p, "\"nodeid\":1,"));
	ck_assert_ptr_null(strstr(x.p, "\"nodeid\":2,"));
	free(x.p);
}
END_TEST

/*
 * Differences only: a replica that differs in a few rows is repaired by
 * the buckets that differ, and only those.  Every differing bucket of a
 * table is emptied before any row is loaded (a unique name may move from
 * one row to another).
 */
static int sync_buckets(struct hm_store *src, struct hm_store *dst, unsigned int n)
{
	bool differ[HM_TABLE_MAX][HM_STORE_BUCKETS_MAX];
	int t, sent = 0;
	unsigned int b;
	uint64_t v;

	for (t = 0; t < HM_TABLE_MAX; t++)
		digests_differ(src, dst, t, n, differ[t]);
	ck_assert_int_eq(hm_store_sync_begin(dst), 0);
	for (t = 0; t < HM_TABLE_MAX; t++)
		for (b = 0; b < n; b++)
			if (differ[t][b])
				ck_assert_int_eq(hm_store_table_load_bucket_begin(dst, t, n, b), 0);
	for (t = 0; t < HM_TABLE_MAX; t++)
		for (b = 0; b < n; b++) {
			struct loader l = { dst, t, 0 };

			if (!differ[t][b])
				continue;
			sent++;
			ck_assert_int_eq(hm_store_table_dump_bucket(src, t, n, b, load_cb, &l), 0);
		}
	ck_assert_int_eq(hm_store_policy_version(src, &v), 0);
	ck_assert_int_eq(hm_store_policy_version_set(dst, v), 0);
	ck_assert_int_eq(hm_store_commit(dst), 0);
	return sent;
}

START_TEST(test_bucket_repair)
{
	struct hm_store *s2 = open_other("replica.db");
	struct hm_host h1 = host(1, "node2"), h2 = host(2, "node1");
	struct hm_instance extra = instance(U3, "vm3", 2);
	struct hm_history_event e = event(7, 70, 2);
	bool differ[HM_STORE_BUCKETS_MAX];
	struct hm_fence_device *f;
	int n;

	fill(st, false);
	full_copy(st, s2);
	assert_same(st, s2);
	ck_assert_int_eq(sync_buckets(st, s2, 64), 0);	/* nothing to send */

	/* one row changed */
	extra.updated_ms = 1;
	h1.name = "node1";
	h1.vcpus = 1;
	ck_assert_int_eq(hm_store_host_upsert(s2, &h1), 0);
	ck_assert_int_eq(digests_differ(st, s2, HM_TABLE_HOSTS, 64, differ), 1);
	ck_assert_int_eq(sync_buckets(st, s2, 64), 1);
	assert_same(st, s2);

	/* the two hosts' names swapped (a unique column), an instance too
	 * many, a step missing, history apart: host 2's fence device, in a
	 * bucket that is equal, survives its host being reloaded */
	h1.name = "node-tmp";
	h1.vcpus = 32;
	ck_assert_int_eq(hm_store_begin(s2), 0);
	ck_assert_int_eq(hm_store_host_upsert(s2, &h1), 0);
	ck_assert_int_eq(hm_store_host_upsert(s2, &h2), 0);
	h1.name = "node2";
	ck_assert_int_eq(hm_store_host_upsert(s2, &h1), 0);
	ck_assert_int_eq(hm_store_instance_upsert(s2, &extra), 0);
	ck_assert_int_eq(hm_store_job_step_delete(s2, 1, 0), 0);
	ck_assert_int_eq(hm_store_history_append(s2, &e), 0);
	ck_assert_int_eq(hm_store_policy_delete(s2, "b"), 0);
	ck_assert_int_eq(hm_store_commit(s2), 0);
	n = sync_buckets(st, s2, 64);
	ck_assert_int_ge(n, 5);
	ck_assert_int_le(n, 6);		/* two hosts may share a bucket */
	assert_same(st, s2);
	ck_assert_int_eq(hm_store_fence_device_get(s2, 1, &f), 0);
	ck_assert_uint_eq(f->host, 2);
	free(f);

	/* one bucket: a whole table */
	ck_assert_int_eq(hm_store_instance_upsert(s2, &extra), 0);
	ck_assert_int_eq(sync_buckets(st, s2, 1), 1);
	assert_same(st, s2);
	hm_store_close(s2);
}
END_TEST

/* ---- the digest kept between calls ---- */

/* what a fresh connection computes from nothing */
static void fresh_digest(struct hm_store_digest *ret)
{
	struct hm_store *s2;

	ck_assert_int_eq(hm_store_open(path, &s2), 0);
	ck_assert_int_eq(hm_store_digest(s2, ret), 0);
	hm_store_close(s2);
}

static void assert_digest_current(void)
{
	static struct hm_store_digest kept, fresh;
	static uint8_t d[HM_STORE_SYNC_BUCKETS][HM_STORE_CHECKSUM_LEN];
	uint8_t sum[HM_STORE_CHECKSUM_LEN];
	int t;

	ck_assert_int_eq(hm_store_digest(st, &kept), 0);
	fresh_digest(&fresh);
	ck_assert_mem_eq(kept.checksum, fresh.checksum, HM_STORE_CHECKSUM_LEN);
	for (t = 0; t < HM_TABLE_MAX; t++) {
		ck_assert_msg(memcmp(kept.tables[t], fresh.tables[t], HM_STORE_CHECKSUM_LEN) == 0,
			      "table %s: kept checksum is stale", hm_store_table_to_str(t));
		ck_assert_msg(memcmp(kept.buckets[t], fresh.buckets[t], sizeof(d)) == 0,
			      "table %s: kept bucket digests are stale", hm_store_table_to_str(t));
		/* the same digests as asked for alone */
		ck_assert_int_eq(hm_store_table_digests(st, t, HM_STORE_SYNC_BUCKETS, d), 0);
		ck_assert_mem_eq(kept.buckets[t], d, sizeof(d));
	}
	ck_assert_int_eq(hm_store_checksum(st, sum), 0);
	ck_assert_mem_eq(sum, kept.checksum, sizeof(sum));
}

START_TEST(test_digest_kept_is_current)
{
	struct hm_host h3 = host(3, "node3");
	struct hm_fence_device f = { .id = 7, .host = 3, .level = 1, .agent = "fence_ipmilan",
				     .params = "{}" };
	struct hm_history_event e = event(2, 20, 0);
	struct hm_store_digest d;
	uint64_t deleted;
	sqlite3 *db;

	ck_assert_int_eq(hm_store_digest(NULL, &d), -EINVAL);
	ck_assert_int_eq(hm_store_digest(st, NULL), -EINVAL);
	assert_digest_current();	/* empty */
	fill(st, false);
	assert_digest_current();
	/* a change of one table at a time */
	ck_assert_int_eq(hm_store_host_upsert(st, &h3), 0);
	ck_assert_int_eq(hm_store_fence_device_upsert(st, &f), 0);
	assert_digest_current();
	ck_assert_int_eq(hm_store_policy_set(st, "a", "9", NULL), 0);
	assert_digest_current();
	/* cascades: the host's fence device, the job's steps */
	ck_assert_int_eq(hm_store_host_delete(st, 3), 0);
	assert_digest_current();
	ck_assert_int_eq(hm_store_job_delete(st, 1), 0);
	assert_digest_current();
	ck_assert_int_eq(hm_store_history_append(st, &e), 0);
	ck_assert_int_eq(hm_store_history_prune(st, 15, 100, &deleted), 0);
	ck_assert_uint_eq(deleted, 1);
	assert_digest_current();
	/* a transaction undone after the digest saw its writes */
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_host_upsert(st, &h3), 0);
	ck_assert_int_eq(hm_store_digest(st, &d), 0);
	ck_assert_int_eq(hm_store_rollback(st), 0);
	assert_digest_current();
	/* a failed write inside a transaction undoes only itself */
	ck_assert_int_eq(hm_store_begin(st), 0);
	ck_assert_int_eq(hm_store_digest(st, &d), 0);
	h3.name = "";
	ck_assert_int_eq(hm_store_host_upsert(st, &h3), -EINVAL);
	ck_assert_int_eq(hm_store_commit(st), 0);
	assert_digest_current();
	/* another connection's commit (an operator's sqlite3) */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE instances SET vcpus = 9", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_digest_current();
}
END_TEST

START_TEST(test_buckets_dump_and_load)
{
	static struct hm_store_digest da, db;
	uint8_t map[HM_STORE_BUCKET_MAP] = { 0 }, none[HM_STORE_BUCKET_MAP] = { 0 };
	struct hm_instance i3 = instance("33333333-3333-4333-8333-333333333333", "vm3", 1);
	struct hm_store *b;
	struct loader l;
	char pb[160];
	struct text x = { NULL, 0 };
	uint64_t v;
	unsigned int k, n = 0;
	int t;

	snprintf(pb, sizeof(pb), "%s/b.db", dir);
	ck_assert_int_eq(hm_store_open(pb, &b), 0);
	fill(st, false);
	fill(b, true);
	/* b: one instance changed, one more, a policy entry gone */
	ck_assert_int_eq(hm_store_instance_upsert(b, &i3), 0);
	i3 = instance(U1, "vm1", 2);
	ck_assert_int_eq(hm_store_instance_upsert(b, &i3), 0);
	ck_assert_int_eq(hm_store_policy_delete(b, "a"), 0);
	ck_assert_int_eq(hm_store_digest(st, &da), 0);
	ck_assert_int_eq(hm_store_digest(b, &db), 0);
	/* invalid */
	ck_assert_int_eq(hm_store_table_dump_buckets(st, HM_TABLE_MAX, map, collect_cb, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_dump_buckets(st, HM_TABLE_HOSTS, NULL, collect_cb, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_dump_buckets(st, HM_TABLE_HOSTS, map, NULL, &x), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_buckets_begin(b, HM_TABLE_HOSTS, map), -EPERM);
	ck_assert_int_eq(hm_store_table_load_buckets_begin(b, HM_TABLE_MAX, map), -EINVAL);
	ck_assert_int_eq(hm_store_table_load_buckets_begin(b, HM_TABLE_HOSTS, NULL), -EINVAL);
	/* nothing named, nothing dumped */
	ck_assert_int_eq(hm_store_table_dump_buckets(st, HM_TABLE_INSTANCES, none, collect_cb, &x), 0);
	ck_assert_uint_eq(x.len, 0);
	/* the differing buckets of every table, from st into b */
	ck_assert_int_eq(hm_store_sync_begin(b), 0);
	for (t = 0; t < HM_TABLE_MAX; t++) {
		memset(map, 0, sizeof(map));
		for (k = 0; k < HM_STORE_SYNC_BUCKETS; k++)
			if (memcmp(da.buckets[t][k], db.buckets[t][k], HM_STORE_CHECKSUM_LEN) != 0) {
				map[k / 8] |= (uint8_t)(1u << (k % 8));
				n++;
			}
		ck_assert_int_eq(hm_store_table_load_buckets_begin(b, t, map), 0);
		l = (struct loader){ b, t, 0 };
		ck_assert_int_eq(hm_store_table_dump_buckets(st, t, map, load_cb, &l), 0);
	}
	/* vm3's bucket, vm1's, a's and b's (another path wrote it at
	 * another policy version): a few of the 7 * 256 */
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_le(n, 4);
	ck_assert_int_eq(hm_store_policy_version(st, &v), 0);
	ck_assert_int_eq(hm_store_policy_version_set(b, v), 0);
	ck_assert_int_eq(hm_store_commit(b), 0);
	assert_same(st, b);
	hm_store_close(b);
	free(x.p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");

	add_store_test(s, test_open_invalid);
	add_store_test(s, test_open_garbage_refused);
	add_store_test(s, test_open_corrupt_page_refused);
	add_store_test(s, test_open_newer_schema_refused);
	add_store_test(s, test_null_arguments);
	add_store_test(s, test_host_invalid);
	add_store_test(s, test_instance_invalid);
	add_store_test(s, test_policy_invalid);
	add_store_test(s, test_fence_device_invalid);
	add_store_test(s, test_job_invalid);
	add_store_test(s, test_history_invalid);
	add_store_test(s, test_sync_invalid);
	{
		TCase *tc = tcase_create("test_load_row_refused");

		tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_loop_test(tc, test_load_row_refused, 0,
				    (int)(sizeof(bad_rows) / sizeof(bad_rows[0])));
		suite_add_tcase(s, tc);
	}
	add_store_test(s, test_load_row_nul_and_trailing);
	add_store_test(s, test_sync_foreign_keys_at_commit);
	add_store_test(s, test_digest_kept_is_current);
	add_store_test(s, test_buckets_dump_and_load);
	add_store_test(s, test_open_settings_and_reopen);
	add_store_test(s, test_locked_by_another_process);
	add_store_test(s, test_schema_golden);
	add_store_test(s, test_migration_from_1);
	add_store_test(s, test_enums);
	add_store_test(s, test_host_roundtrip);
	add_store_test(s, test_get_returns_own_copy);
	add_store_test(s, test_instance_roundtrip);
	add_store_test(s, test_policy);
	add_store_test(s, test_fence_device_roundtrip);
	add_store_test(s, test_jobs_and_steps);
	add_store_test(s, test_history);
	add_store_test(s, test_list_stops);
	add_store_test(s, test_transaction_calls);
	add_store_test(s, test_rollback_leaves_nothing);
	add_store_test(s, test_position);
	add_store_test(s, test_checksum_order_independent);
	add_store_test(s, test_checksum_golden);
	add_store_test(s, test_dump_format);
	add_store_test(s, test_dump_load_roundtrip);
	add_store_test(s, test_sync_rollback_leaves_nothing);
	add_store_test(s, test_policy_version_set);
	add_store_test(s, test_digests);
	add_store_test(s, test_digests_golden);
	add_store_test(s, test_bucket_repair);
	return hm_check_run(s);
}
