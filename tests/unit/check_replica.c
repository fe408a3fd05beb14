/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replicated store through the fake seam: three members, each with its
 * own real sqlite database, a bus delivering in one agreed order.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_common.h"
#include "fake_seam.h"
#include "membership.h"
#include "replica.h"
#include "store.h"

#define N 3

static char dir[64];
static struct fake_bus bus;
static struct fake_node nodes[N + 1];
static struct hm_membership *mm[N + 1];
static struct hm_store *st[N + 1];
static struct hm_replica *rr[N + 1];
static struct fake_node *all[N];

struct outcome {
	bool called;
	int rc;
	char msg[256];
};

static void done_cb(void *data, int rc, uint64_t seq, const char *message)
{
	struct outcome *o = data;

	(void)seq;
	ck_assert(!o->called);
	o->called = true;
	o->rc = rc;
	snprintf(o->msg, sizeof(o->msg), "%s", message ? message : "");
}

static void db_path(int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/n%d.db", dir, i);
}

static void node_up(int i)
{
	char path[128];

	db_path(i, path, sizeof(path));
	ck_assert_int_eq(hm_store_open(path, &st[i]), 0);
	mm[i] = hm_membership_new(&nodes[i].seam);
	ck_assert_ptr_nonnull(mm[i]);
	hm_membership_set_votes_needed(mm[i], N / 2 + 1);
	rr[i] = hm_replica_new(&nodes[i].seam, mm[i], st[i]);
	ck_assert_ptr_nonnull(rr[i]);
	hm_membership_connected(mm[i], i);
}

static void node_down(int i)
{
	hm_replica_free(rr[i]);
	hm_membership_free(mm[i]);
	hm_store_close(st[i]);
	rr[i] = NULL;
	mm[i] = NULL;
	st[i] = NULL;
}

static void setup(void)
{
	int i;

	snprintf(dir, sizeof(dir), "/tmp/check_replica.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fake_bus_init(&bus);
	for (i = 1; i <= N; i++) {
		fake_node_init(&nodes[i], &bus, i);
		all[i - 1] = &nodes[i];
		node_up(i);
	}
}

static void teardown(void)
{
	char path[128];
	int i;

	for (i = 1; i <= N; i++) {
		node_down(i);
		db_path(i, path, sizeof(path));
		unlink(path);
		strcat(path, "-wal");
		unlink(path);
		db_path(i, path, sizeof(path));
		strcat(path, "-shm");
		unlink(path);
	}
	rmdir(dir);
}

/* deliver everything queued, in order, to the members; flush after each
 * message as a dispatch would; repeat until quiet.  Each round is a turn of
 * the main loop: what is due now (the batch of updates) fires first. */
static unsigned tables_sent;	/* SYNC_DATA tables seen on the bus, a bit each */
static unsigned buckets_sent;	/* buckets named by their first chunks */
static unsigned rows_sent;	/* rows in SYNC_DATA */

static void count_sync_data(const struct hm_msg_sync_data *sd)
{
	uint32_t i;

	tables_sent |= 1u << sd->table;
	for (i = 0; i < HM_WIRE_SYNC_BUCKETS; i++)
		buckets_sent += (sd->buckets[i / 8] >> (i % 8)) & 1;
	for (i = 0; i < sd->payload_len; i++)
		rows_sent += sd->payload[i] == '\n';
}

static void pump(const uint32_t *ids, size_t n)
{
	struct fake_msg msg;
	struct hm_msg m;
	size_t i;

	for (;;) {
		fake_advance(all, N, 0);
		if (!fake_bus_pop(&bus, &msg))
			break;
		if (hm_wire_decode(msg.data, msg.len, &m, NULL) == 0 && m.type == HM_MSG_SYNC_DATA)
			count_sync_data(&m.u.sync_data);
		for (i = 0; i < n; i++)
			ck_assert_int_eq(hm_replica_deliver(rr[ids[i]], msg.sender, msg.data, msg.len), 0);
		for (i = 0; i < n; i++)
			hm_replica_flush(rr[ids[i]]);
	}
}

static void form(const uint32_t *ids, size_t n, uint64_t seq)
{
	struct hm_ring_id r = { ids[0], seq };
	size_t i;

	for (i = 0; i < n; i++)
		hm_membership_totem_change(mm[ids[i]], &r, ids, n);
	for (i = 0; i < n; i++)
		hm_membership_group_change(mm[ids[i]], ids, n, NULL, 0, NULL, 0);
	for (i = 0; i < n; i++)
		hm_membership_quorum_change(mm[ids[i]], n * 2 > N, &r, ids, n);
	pump(ids, n);
}

static void set_policy(int node, const char *key, const char *value, struct outcome *o)
{
	char payload[256], err[256];

	snprintf(payload, sizeof(payload), "{\"key\":\"%s\",\"value\":\"%s\"}", key, value);
	ck_assert_int_eq(hm_replica_submit(rr[node], HM_OP_POLICY_SET, payload, done_cb, o,
					   err, sizeof(err)), 0);
}

static void assert_policy(int node, const char *key, const char *value)
{
	struct hm_policy_entry *e = NULL;

	ck_assert_int_eq(hm_store_policy_get(st[node], key, &e), 0);
	ck_assert_str_eq(e->value, value);
	free(e);
}

static void assert_same_checksum(int a, int b)
{
	uint8_t x[HM_STORE_CHECKSUM_LEN], y[HM_STORE_CHECKSUM_LEN];

	ck_assert_int_eq(hm_store_checksum(st[a], x), 0);
	ck_assert_int_eq(hm_store_checksum(st[b], y), 0);
	ck_assert_mem_eq(x, y, sizeof(x));
}

START_TEST(test_refused_without_quorum)
{
	uint32_t one[] = { 3 };
	char err[256];
	struct outcome o = { 0 };

	form(one, 1, 4);
	ck_assert_int_eq(hm_replica_submit(rr[3], HM_OP_POLICY_SET,
					   "{\"key\":\"cpu_overcommit\",\"value\":\"2\"}",
					   done_cb, &o, err, sizeof(err)), -EROFS);
	ck_assert_ptr_nonnull(strstr(err, "not quorate"));
	ck_assert(!o.called);
}
END_TEST

START_TEST(test_invalid_change_refused)
{
	uint32_t abc[] = { 1, 2, 3 };
	char err[256];
	struct outcome o = { 0 };

	form(abc, 3, 4);
	ck_assert_int_eq(hm_replica_submit(rr[1], HM_OP_POLICY_SET,
					   "{\"key\":\"no_such_key\",\"value\":\"1\"}",
					   done_cb, &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no_such_key"));
	ck_assert_int_eq(hm_replica_submit(rr[1], HM_OP_POLICY_SET, "{\"key\":1}",
					   done_cb, &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_replica_submit(rr[1], HM_OP_POLICY_SET, "not json",
					   done_cb, &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_replica_submit(rr[1], 99, "{}", done_cb, &o, err, sizeof(err)), -EINVAL);
	ck_assert(!o.called);
	ck_assert_uint_eq(bus.n_msgs, 0);
}
END_TEST

START_TEST(test_accepted_by_majority)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct hm_replica_status rs;
	struct outcome o = { 0 };
	int i;

	form(abc, 3, 4);
	set_policy(2, "cpu_overcommit", "2.5", &o);
	pump(abc, 3);
	ck_assert(o.called);
	ck_assert_int_eq(o.rc, 0);
	for (i = 1; i <= 3; i++) {
		assert_policy(i, "cpu_overcommit", "2.5");
		hm_replica_get_status(rr[i], &rs);
		ck_assert_uint_eq(rs.applied_seq, 1);
	}
	assert_same_checksum(1, 3);
}
END_TEST

START_TEST(test_outcome_unknown_on_membership_change)
{
	uint32_t abc[] = { 1, 2, 3 }, ab[] = { 1, 2 };
	struct outcome o = { 0 };

	form(abc, 3, 4);
	set_policy(1, "cpu_overcommit", "3", &o);
	/* the group changes before anything is delivered */
	form(ab, 2, 8);
	ck_assert(o.called);
	ck_assert_int_eq(o.rc, -ECONNRESET);
	ck_assert_ptr_nonnull(strstr(o.msg, "unknown"));
}
END_TEST

START_TEST(test_rejoiner_gets_the_newest_data)
{
	uint32_t abc[] = { 1, 2, 3 }, bc[] = { 2, 3 }, a[] = { 1 };
	struct outcome o1 = { 0 }, o2 = { 0 };

	form(abc, 3, 4);
	/* node 1 is cut off; {2,3} change the policy twice */
	form(bc, 2, 8);
	form(a, 1, 8);
	set_policy(3, "cpu_overcommit", "1.5", &o1);
	pump(bc, 2);
	set_policy(2, "history_max_events", "500", &o2);
	pump(bc, 2);
	ck_assert_int_eq(o1.rc, 0);
	ck_assert_int_eq(o2.rc, 0);
	ck_assert_int_ne(hm_store_policy_get(st[1], "cpu_overcommit", &(struct hm_policy_entry *){ NULL }), 0);
	/* heal: node 1, the lowest id, takes {2,3}'s state; only the policy
	 * table differs, so only it travels */
	tables_sent = 0;
	form(abc, 3, 12);
	ck_assert_uint_eq(tables_sent, 1u << HM_TABLE_POLICY);
	assert_policy(1, "cpu_overcommit", "1.5");
	assert_policy(1, "history_max_events", "500");
	assert_same_checksum(1, 2);
	ck_assert(hm_membership_synced(mm[1]));
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 2);
}
END_TEST

START_TEST(test_rejoiner_with_empty_database)
{
	uint32_t abc[] = { 1, 2, 3 }, bc[] = { 2, 3 };
	struct outcome o = { 0 };
	char path[128];

	form(abc, 3, 4);
	set_policy(1, "cpu_overcommit", "2", &o);
	pump(abc, 3);
	/* node 1's database is deleted while its hamond is down */
	form(bc, 2, 8);
	node_down(1);
	db_path(1, path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	node_up(1);
	tables_sent = 0;
	form(abc, 3, 12);
	ck_assert_uint_eq(tables_sent, 1u << HM_TABLE_POLICY);
	assert_policy(1, "cpu_overcommit", "2");
	assert_same_checksum(1, 3);
}
END_TEST

START_TEST(test_checkpoint_names_the_node_that_differs)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct hm_replica_status rs;
	struct outcome o = { 0 };
	sqlite3 *db;
	char path[128];

	form(abc, 3, 4);
	set_policy(1, "cpu_overcommit", "2", &o);
	pump(abc, 3);
	/* an operator's sqlite3 changes one row on node 3 behind hamond's back */
	db_path(3, path, sizeof(path));
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE policy SET value = '9' WHERE key = 'cpu_overcommit'",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* the coordinator's checkpoint timer */
	fake_advance(all, N, HM_CHECKPOINT_DELAY_MS + 1);
	pump(abc, 3);
	hm_replica_get_status(rr[2], &rs);
	ck_assert_uint_eq(rs.n_digests, 3);
	ck_assert(!rs.agree);
	ck_assert_uint_eq(rs.n_differs, 1);
	ck_assert_uint_eq(rs.differs[0], 3);
}
END_TEST

START_TEST(test_checkpoint_agrees)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct hm_replica_status rs;
	struct outcome o = { 0 };

	form(abc, 3, 4);
	set_policy(1, "cpu_overcommit", "2", &o);
	pump(abc, 3);
	fake_advance(all, N, HM_CHECKPOINT_DELAY_MS + 1);
	pump(abc, 3);
	hm_replica_get_status(rr[1], &rs);
	ck_assert_uint_eq(rs.n_digests, 3);
	ck_assert(rs.agree);
	ck_assert_uint_eq(rs.checkpoint_seq, 1);
}
END_TEST

START_TEST(test_updates_during_sync_are_held)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct outcome o = { 0 };
	struct fake_msg update;
	struct hm_ring_id r = { 1, 8 };
	int i;

	form(abc, 3, 4);
	set_policy(2, "cpu_overcommit", "3", &o);
	fake_advance(all, N, 0);	/* the end of the loop's turn */
	ck_assert(fake_bus_pop(&bus, &update));
	/* a hamond restarts: the group changes, a sync starts, and the update
	 * sent before it is delivered in the middle of it */
	for (i = 1; i <= 3; i++) {
		hm_membership_totem_change(mm[i], &r, abc, 3);
		hm_membership_group_change(mm[i], abc, 3, NULL, 0, NULL, 0);
		hm_membership_quorum_change(mm[i], true, &r, abc, 3);
	}
	ck_assert_int_eq(o.rc, -ECONNRESET);	/* told: outcome unknown */
	for (i = 1; i <= 3; i++)
		ck_assert_int_eq(hm_replica_deliver(rr[i], update.sender, update.data, update.len), 0);
	pump(abc, 3);
	for (i = 1; i <= 3; i++)
		assert_policy(i, "cpu_overcommit", "3");
	assert_same_checksum(1, 2);
}
END_TEST

/* the same rows written into a node's store directly, as the sync bench
 * does: a host and n instances */
static void write_instances_xml(int node, int n, size_t xml_len)
{
	struct hm_host h = { .nodeid = 100, .name = "bench-host", .state = HM_HOST_ONLINE,
			     .vcpus = 32, .memory_mib = 131072, .updated_ms = 1 };
	char uuid[40], name[32], *xml = malloc(xml_len + 1);
	int i;

	ck_assert_ptr_nonnull(xml);
	memset(xml, 'x', xml_len);
	xml[xml_len] = '\0';
	memcpy(xml, "<domain/>", 9);

	ck_assert_int_eq(hm_store_begin(st[node]), 0);
	ck_assert_int_eq(hm_store_host_upsert(st[node], &h), 0);
	for (i = 0; i < n; i++) {
		snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", i, i);
		snprintf(name, sizeof(name), "vm-%d", i);
		ck_assert_int_eq(hm_store_instance_upsert(st[node], &(struct hm_instance){
			.uuid = uuid, .name = name, .domain_xml = xml,
			.owner = 100, .vcpus = 1, .memory_mib = 64, .updated_ms = 1 }), 0);
	}
	ck_assert_int_eq(hm_store_commit(st[node]), 0);
	free(xml);
}

static void write_instances(int node, int n)
{
	write_instances_xml(node, n, 20);
}

static void set_instance_vcpus(int node, int i, uint32_t vcpus)
{
	char uuid[40];
	struct hm_instance *in = NULL;

	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", i, i);
	ck_assert_int_eq(hm_store_instance_get(st[node], uuid, &in), 0);
	in->vcpus = vcpus;
	ck_assert_int_eq(hm_store_instance_upsert(st[node], in), 0);
	free(in);
}

/* a rejoiner that differs in two rows of 1000 takes two buckets of 256,
 * not the table: digest first, differences only */
START_TEST(test_rejoiner_takes_only_differing_buckets)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct hm_instance *in = NULL;
	int i;

	for (i = 1; i <= 3; i++)
		write_instances(i, 1000);
	form(abc, 3, 4);
	assert_same_checksum(1, 3);
	/* behind the replication's back, as a node that missed changes */
	set_instance_vcpus(1, 17, 4);
	set_instance_vcpus(2, 17, 4);
	ck_assert_int_eq(hm_store_instance_delete(st[3], "000001f4-0000-4000-8000-0000000001f4"), 0);
	tables_sent = buckets_sent = rows_sent = 0;
	form(abc, 3, 8);
	ck_assert_uint_eq(tables_sent, 1u << HM_TABLE_INSTANCES);
	ck_assert_uint_le(buckets_sent, 2);
	ck_assert_uint_ge(buckets_sent, 1);
	ck_assert_uint_lt(rows_sent, 20);	/* some 4 rows a bucket */
	assert_same_checksum(1, 3);
	assert_same_checksum(2, 3);
	ck_assert_int_eq(hm_store_instance_get(st[3], "00000011-0000-4000-8000-000000000011", &in), 0);
	ck_assert_uint_eq(in->vcpus, 4);
	free(in);
	ck_assert_int_eq(hm_store_instance_get(st[3], "000001f4-0000-4000-8000-0000000001f4", &in), 0);
	free(in);
	ck_assert(hm_membership_synced(mm[3]));
}
END_TEST

/* a row node 3 has and the source has not goes with its bucket */
START_TEST(test_rejoiner_loses_rows_the_source_lacks)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct hm_instance *in = NULL;
	int i;

	for (i = 1; i <= 3; i++)
		write_instances(i, 50);
	form(abc, 3, 4);
	write_instances(3, 51);
	tables_sent = buckets_sent = rows_sent = 0;
	form(abc, 3, 8);
	ck_assert_uint_eq(buckets_sent, 1);
	ck_assert_int_eq(hm_store_instance_get(st[3], "00000032-0000-4000-8000-000000000032", &in),
			 -ENOENT);
	assert_same_checksum(1, 3);
}
END_TEST

/* an empty rejoiner takes every bucket, in many chunks under 64 KiB */
START_TEST(test_rejoiner_takes_many_chunks)
{
	uint32_t abc[] = { 1, 2, 3 }, ab[] = { 1, 2 };
	char path[128];

	form(abc, 3, 4);
	form(ab, 2, 8);
	node_down(3);
	db_path(3, path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	node_up(3);
	write_instances_xml(1, 400, 1000);
	write_instances_xml(2, 400, 1000);
	tables_sent = buckets_sent = rows_sent = 0;
	form(abc, 3, 12);
	ck_assert_uint_eq(rows_sent, 401);	/* the host and its 400 instances */
	ck_assert_uint_ge(buckets_sent, 200);
	assert_same_checksum(1, 3);
	ck_assert(hm_membership_synced(mm[3]));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replica");

	add_tcase_fixture(s, test_refused_without_quorum, setup, teardown);
	add_tcase_fixture(s, test_invalid_change_refused, setup, teardown);
	add_tcase_fixture(s, test_accepted_by_majority, setup, teardown);
	add_tcase_fixture(s, test_outcome_unknown_on_membership_change, setup, teardown);
	add_tcase_fixture(s, test_rejoiner_gets_the_newest_data, setup, teardown);
	add_tcase_fixture(s, test_rejoiner_with_empty_database, setup, teardown);
	add_tcase_fixture(s, test_checkpoint_agrees, setup, teardown);
	add_tcase_fixture(s, test_checkpoint_names_the_node_that_differs, setup, teardown);
	add_tcase_fixture(s, test_updates_during_sync_are_held, setup, teardown);
	add_tcase_fixture(s, test_rejoiner_takes_only_differing_buckets, setup, teardown);
	add_tcase_fixture(s, test_rejoiner_loses_rows_the_source_lacks, setup, teardown);
	add_tcase_fixture(s, test_rejoiner_takes_many_chunks, setup, teardown);
	return hm_check_run(s);
}
