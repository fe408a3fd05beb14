/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The status object hamonctl prints, built from a membership fed by fakes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_common.h"
#include "fake_seam.h"
#include "fence_policy.h"
#include "status.h"

static struct fake_bus bus;
static struct fake_node node;
static struct hm_membership *m;
static struct hm_nodelist names;

static void setup(void)
{
	fake_bus_init(&bus);
	fake_node_init(&node, &bus, 2);
	m = hm_membership_new(&node.seam);
	ck_assert_ptr_nonnull(m);
	memset(&names, 0, sizeof(names));
	ck_assert_int_eq(hm_nodelist_set(&names, 1, "node1"), 0);
	ck_assert_int_eq(hm_nodelist_set(&names, 2, "node2"), 0);
	ck_assert_int_eq(hm_nodelist_set(&names, 3, "node3"), 0);
}

static void teardown(void)
{
	hm_membership_free(m);
}

static json_object *status(void)
{
	struct hm_status_info info = {
		.membership = m, .nodelist = &names, .cluster_name = "hc1",
		.boot_id = "b00t", .version = "9.9", .uptime_s = 5, .pid = 42,
	};
	json_object *st = hm_status_to_json(&info);

	ck_assert_ptr_nonnull(st);
	return st;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	ck_assert(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static void pump(void)
{
	struct fake_msg msg;

	while (fake_bus_pop(&bus, &msg))
		ck_assert_int_eq(hm_membership_deliver(m, msg.sender, msg.data, msg.len), 0);
}

START_TEST(test_nodelist_bad_input)
{
	char longname[HM_NODE_NAME_MAX + 1];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[HM_NODE_NAME_MAX] = 0;
	ck_assert_int_eq(hm_nodelist_set(&names, 0, "x"), -EINVAL);
	ck_assert_int_eq(hm_nodelist_set(&names, 4, NULL), -EINVAL);
	ck_assert_int_eq(hm_nodelist_set(&names, 4, longname), -EINVAL);
	ck_assert_str_eq(hm_nodelist_name(&names, 99), "");
	ck_assert_str_eq(hm_nodelist_name(NULL, 1), "");
	ck_assert_int_eq(hm_nodelist_set(&names, 2, "renamed"), 0);
	ck_assert_str_eq(hm_nodelist_name(&names, 2), "renamed");
	ck_assert_uint_eq(names.n, 3);
}
END_TEST

START_TEST(test_disconnected)
{
	json_object *st = status(), *v;

	ck_assert_str_eq(str(st, "corosync"), "disconnected");
	ck_assert_str_eq(str(st, "quorum"), "not-quorate");
	ck_assert(json_object_object_get_ex(st, "ring_id", &v) && v == NULL);
	ck_assert(json_object_object_get_ex(st, "coordinator", &v) && v == NULL);
	ck_assert(json_object_object_get_ex(st, "members", &v));
	ck_assert_uint_eq(json_object_array_length(v), 0);
	ck_assert_str_eq(str(st, "cluster_name"), "hc1");
	ck_assert_str_eq(str(st, "boot_id"), "b00t");
	json_object_put(st);
}
END_TEST

START_TEST(test_quorate_cluster)
{
	uint32_t all[] = { 1, 2, 3 }, grp[] = { 2, 3 };
	struct hm_ring_id r = { 1, 0x2c };
	json_object *st, *members, *v, *c;

	hm_membership_connected(m, 2);
	hm_membership_totem_change(m, &r, all, 3);
	hm_membership_quorum_change(m, true, &r, all, 3);
	hm_membership_group_change(m, grp, 2, NULL, 0, NULL, 0);
	/* node 3 answers the sync too */
	pump();
	{
		struct hm_msg msg = { .type = HM_MSG_SYNC_STATE };
		uint8_t buf[1024];
		size_t len;

		msg.u.sync_state.epoch.leader = 2;
		msg.u.sync_state.epoch.counter = 1000;
		msg.u.sync_state.proto_max = HM_WIRE_VERSION;
		msg.u.sync_state.proto_min = HM_WIRE_VERSION_MIN;
		ck_assert_int_eq(hm_wire_encode(&msg, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(hm_membership_deliver(m, 3, buf, len), 0);
	}
	st = status();
	ck_assert_str_eq(str(st, "corosync"), "connected");
	ck_assert_str_eq(str(st, "quorum"), "quorate");
	ck_assert_str_eq(str(st, "ring_id"), "1.2c");
	ck_assert(json_object_object_get_ex(st, "local", &v));
	ck_assert_str_eq(str(v, "name"), "node2");
	ck_assert(json_object_object_get_ex(st, "members", &members));
	ck_assert_uint_eq(json_object_array_length(members), 3);
	v = json_object_array_get_idx(members, 0);
	ck_assert_str_eq(str(v, "name"), "node1");
	ck_assert(json_object_object_get_ex(v, "hamond", &c) && !json_object_get_boolean(c));
	v = json_object_array_get_idx(members, 2);
	ck_assert(json_object_object_get_ex(v, "hamond", &c) && json_object_get_boolean(c));
	ck_assert(json_object_object_get_ex(st, "synced", &v) && json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(st, "coordinator", &c) && c);
	ck_assert_str_eq(str(c, "name"), "node2");
	json_object_put(st);
}
END_TEST

START_TEST(test_host_state_now)
{
	uint32_t all[] = { 1, 2, 3 }, grp[] = { 2 };
	struct hm_ring_id r = { 1, 4 };

	hm_membership_connected(m, 2);
	hm_membership_totem_change(m, &r, all, 2);	/* node 3 out of the ring */
	hm_membership_group_change(m, grp, 1, NULL, 0, NULL, 0);
	ck_assert_str_eq(hm_host_state_now(m, 2, HM_HOST_ONLINE), "online");
	ck_assert_str_eq(hm_host_state_now(m, 2, HM_HOST_DEGRADED), "degraded");
	ck_assert_str_eq(hm_host_state_now(m, 1, HM_HOST_ONLINE), "unmanaged");
	ck_assert_str_eq(hm_host_state_now(m, 3, HM_HOST_ONLINE), "offline");
	/* what the cluster decided stands, member or not */
	ck_assert_str_eq(hm_host_state_now(m, 3, HM_HOST_FENCED), "fenced");
	ck_assert_str_eq(hm_host_state_now(m, 1, HM_HOST_LOST), "lost");
}
END_TEST

/* ---- pages -------------------------------------------------------------- */

static json_object *row_of(size_t bytes)
{
	char *buf = malloc(bytes + 1);
	json_object *o = json_object_new_object();

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'x', bytes);
	buf[bytes] = '\0';
	json_object_object_add(o, "s", json_object_new_string(buf));
	free(buf);
	return o;
}

START_TEST(test_page_bad_input)
{
	struct hm_page p;

	ck_assert_int_eq(hm_page_init(&p, 2, 1000), 0);
	/* a row or cursor that could not be made is out of memory, and what
	 * was given is taken */
	ck_assert_int_eq(hm_page_add(&p, NULL, json_object_new_int(1)), -ENOMEM);
	ck_assert_int_eq(hm_page_add(&p, row_of(1), NULL), -ENOMEM);
	ck_assert_uint_eq(p.count, 0);
	hm_page_free(&p);
	hm_page_free(&p);	/* twice is harmless */
}
END_TEST

START_TEST(test_page_by_count)
{
	json_object *reply = json_object_new_object();
	struct hm_page p;
	int i;

	ck_assert_int_eq(hm_page_init(&p, 3, 1 << 20), 0);
	for (i = 1; i <= 3; i++)
		ck_assert_int_eq(hm_page_add(&p, row_of(1), json_object_new_int(i)), 0);
	/* the fourth proves that more remain */
	ck_assert_int_eq(hm_page_add(&p, row_of(1), json_object_new_int(4)), 1);
	ck_assert(p.full);
	ck_assert_int_eq(hm_page_add(&p, row_of(1), json_object_new_int(5)), 1);
	ck_assert_int_eq(hm_page_finish(&p, reply, "rows"), 0);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(reply, "rows")), 3);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(reply, "next")), 3);
	json_object_put(reply);

	/* exactly full and nothing more: no "next" */
	reply = json_object_new_object();
	ck_assert_int_eq(hm_page_init(&p, 2, 1 << 20), 0);
	ck_assert_int_eq(hm_page_add(&p, row_of(1), json_object_new_string("a")), 0);
	ck_assert_int_eq(hm_page_add(&p, row_of(1), json_object_new_string("b")), 0);
	ck_assert_int_eq(hm_page_finish(&p, reply, "rows"), 0);
	ck_assert(!json_object_object_get_ex(reply, "next", NULL));
	ck_assert_int_eq(json_object_array_length(json_object_object_get(reply, "rows")), 2);
	json_object_put(reply);

	/* empty */
	reply = json_object_new_object();
	ck_assert_int_eq(hm_page_init(&p, 0, 0), 0);
	ck_assert_int_eq(hm_page_finish(&p, reply, "rows"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN),
			 "{\"rows\":[]}");
	json_object_put(reply);
}
END_TEST

START_TEST(test_page_by_bytes)
{
	json_object *reply = json_object_new_object();
	struct hm_page p;
	size_t total;

	/* rows of 1000 bytes of text: {"s":"..."} is 8 more, and a comma */
	ck_assert_int_eq(hm_page_init(&p, 1000, 3000), 0);
	ck_assert_int_eq(hm_page_add(&p, row_of(1000), json_object_new_int(1)), 0);
	ck_assert_int_eq(hm_page_add(&p, row_of(1000), json_object_new_int(2)), 0);
	ck_assert_uint_eq(p.bytes, 2 * 1009);
	ck_assert_int_eq(hm_page_add(&p, row_of(1000), json_object_new_int(3)), 1);
	ck_assert_int_eq(hm_page_finish(&p, reply, "rows"), 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(reply, "next")), 2);
	total = strlen(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	ck_assert_uint_le(total, 3000 + 32);
	json_object_put(reply);

	/* one row larger than the page still goes, alone: a client moves on */
	reply = json_object_new_object();
	ck_assert_int_eq(hm_page_init(&p, 1000, 100), 0);
	ck_assert_int_eq(hm_page_add(&p, row_of(500), json_object_new_int(1)), 0);
	ck_assert_int_eq(hm_page_add(&p, row_of(1), json_object_new_int(2)), 1);
	ck_assert_int_eq(hm_page_finish(&p, reply, "rows"), 0);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(reply, "rows")), 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(reply, "next")), 1);
	json_object_put(reply);
}
END_TEST

/* ---- which jobs `job list` shows ---------------------------------------- */

static struct hm_job job_of(uint64_t id, enum hm_job_state state, int64_t updated_ms)
{
	return (struct hm_job){ .id = id, .kind = HM_JOB_RECOVERY, .state = state,
				.created_ms = 0, .updated_ms = updated_ms };
}

/* ---- dry plans, the largest host, fencing from the monitors ---- */

static struct hm_host dry_hosts[3];
static struct hm_instance dry_inst[4];
static const struct hm_instance *dry_ptrs[4];
static const uint32_t dry_members[] = { 1, 2, 3 };

static struct hm_dry_input dry_setup(void)
{
	static const char *const host_names[] = { "node1", "node2", "node3" };
	static const char *const vms[] = { "web1", "db1", "local1", "off1" };
	static const char *const uuids[] = {
		"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002",
		"00000000-0000-0000-0000-000000000003", "00000000-0000-0000-0000-000000000004",
	};
	size_t i;

	for (i = 0; i < 3; i++)
		dry_hosts[i] = (struct hm_host){ .nodeid = (uint32_t)i + 1, .name = host_names[i],
						 .state = HM_HOST_ONLINE, .vcpus = 4,
						 .memory_mib = 4096 };
	for (i = 0; i < 4; i++) {
		dry_inst[i] = (struct hm_instance){
			.uuid = uuids[i], .name = vms[i], .domain_xml = "<domain/>", .owner = 2,
			.storage = HM_STORAGE_SHARED, .vcpus = 1, .memory_mib = 1024,
			.requested = HM_REQUESTED_STARTED, .ha_policy = HM_HA_POLICY_HA,
			.observed = HM_OBSERVED_RUNNING,
		};
		dry_ptrs[i] = &dry_inst[i];
	}
	dry_inst[2].storage = HM_STORAGE_LOCAL;
	dry_inst[3].requested = HM_REQUESTED_STOPPED;
	dry_inst[3].observed = HM_OBSERVED_SHUTOFF;
	return (struct hm_dry_input){ .hosts = dry_hosts, .n_hosts = 3, .members = dry_members,
				      .n_members = 3, .instances = dry_ptrs, .n_instances = 4,
				      .cpu_overcommit = 1.0 };
}

static json_object *plan_row(json_object *plan, const char *name)
{
	json_object *rows, *row;
	size_t i;

	ck_assert(json_object_object_get_ex(plan, "instances", &rows));
	for (i = 0; i < json_object_array_length(rows); i++) {
		row = json_object_array_get_idx(rows, i);
		if (!strcmp(str(row, "name"), name))
			return row;
	}
	ck_abort_msg("no row for %s", name);
	return NULL;
}

static int64_t count(json_object *plan, const char *key)
{
	json_object *v;

	ck_assert(json_object_object_get_ex(plan, key, &v));
	return json_object_get_int64(v);
}

START_TEST(test_dry_plan_evacuate)
{
	struct hm_dry_input in = dry_setup();
	json_object *plan = NULL, *v;

	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_EVACUATE, 2, NULL, 0, &plan), 0);
	ck_assert_str_eq(str(plan, "host"), "node2");
	/* shared: placed elsewhere; local disk: lost; stopped: stays */
	ck_assert_str_eq(str(plan_row(plan, "web1"), "outcome"), "placed");
	ck_assert_str_ne(str(plan_row(plan, "web1"), "to"), "node2");
	ck_assert_str_eq(str(plan_row(plan, "local1"), "outcome"), "lost");
	ck_assert_str_eq(str(plan_row(plan, "off1"), "outcome"), "stays");
	ck_assert_int_eq(count(plan, "placed"), 2);
	ck_assert_int_eq(count(plan, "lost"), 1);
	ck_assert_int_eq(count(plan, "stays"), 1);
	/* a dry plan changes nothing it was given */
	ck_assert_int_eq(dry_inst[0].owner, 2);
	json_object_put(plan);

	/* onto one target only: what does not fit there is pending, with why */
	dry_hosts[2].memory_mib = 1024;
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_EVACUATE, 2, NULL, 3, &plan), 0);
	ck_assert_str_eq(str(plan, "target"), "node3");
	ck_assert_int_eq(count(plan, "placed"), 1);
	ck_assert_int_eq(count(plan, "pending"), 1);
	ck_assert(json_object_object_get_ex(plan_row(plan, "db1"), "reason", &v) ||
		  json_object_object_get_ex(plan_row(plan, "web1"), "reason", &v));
	json_object_put(plan);

	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_EVACUATE, 9, NULL, 0, &plan), -ENOENT);
	ck_assert_ptr_null(plan);
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_EVACUATE, 2, NULL, 9, &plan), -ENOENT);
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_KIND_MAX, 2, NULL, 0, &plan), -EINVAL);
}
END_TEST

START_TEST(test_dry_plan_drain_and_migrate)
{
	struct hm_dry_input in = dry_setup();
	json_object *plan = NULL;

	/* a drain moves what runs (a local disk too: the job decides), a
	 * stopped guest stays defined where it is */
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_DRAIN, 2, NULL, 0, &plan), 0);
	ck_assert_str_eq(str(plan_row(plan, "off1"), "outcome"), "stays");
	ck_assert_str_eq(str(plan_row(plan, "web1"), "outcome"), "placed");
	json_object_put(plan);
	/* a host in maintenance takes nothing */
	dry_hosts[2].maintenance = true;
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_MIGRATE, 0, dry_inst[0].uuid, 3, &plan), 0);
	ck_assert_int_eq(count(plan, "pending"), 1);
	ck_assert_str_eq(str(plan_row(plan, "web1"), "outcome"), "pending");
	json_object_put(plan);
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_MIGRATE, 0, dry_inst[0].uuid, 1, &plan), 0);
	ck_assert_str_eq(str(plan_row(plan, "web1"), "to"), "node1");
	json_object_put(plan);
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_MIGRATE, 0, "nope", 0, &plan), -ENOENT);
	ck_assert_int_eq(hm_dry_plan(&in, HM_DRY_MIGRATE, 0, NULL, 0, &plan), -EINVAL);
}
END_TEST

START_TEST(test_dry_largest_host)
{
	struct hm_dry_input in = dry_setup();

	/* node2 owns everything */
	ck_assert_int_eq(hm_dry_largest_host(&in), 2);
	/* local-disk and stopped guests cost no room if their host fails */
	dry_inst[0].owner = 3;
	dry_inst[0].memory_mib = 3000;
	ck_assert_int_eq(hm_dry_largest_host(&in), 3);
	in.n_instances = 0;
	ck_assert_int_eq(hm_dry_largest_host(&in), 0);
}
END_TEST

START_TEST(test_fence_protection_from_monitors)
{
	struct hm_host hosts[3] = {
		{ .nodeid = 1, .name = "node1" }, { .nodeid = 2, .name = "node2" },
		{ .nodeid = 3, .name = "node3" },
	};
	const struct hm_fence_device devs[] = {
		{ .id = 1, .host = 2, .level = 1, .agent = "fence_ipmilan", .params = "{}" },
		{ .id = 2, .host = 2, .level = 2, .agent = "fence_ipmilan", .params = "{}" },
	};

	/* nobody reported yet: not protected */
	ck_assert_int_eq(hm_status_fence_protection(2, devs, 2, hosts, 3), HM_FENCE_UNPROTECTED);
	/* no device at all */
	ck_assert_int_eq(hm_status_fence_protection(1, devs, 2, hosts, 3), HM_FENCE_UNPROTECTED);
	hosts[0].fence_view = "{\"1\":{\"ok\":true,\"ms\":5},\"2\":{\"ok\":true,\"ms\":5}}";
	ck_assert_int_eq(hm_status_fence_protection(2, devs, 2, hosts, 3), HM_FENCE_PROTECTED);
	/* one other host cannot reach level 1: degraded (level 2 works) */
	hosts[2].fence_view = "{\"1\":{\"ok\":false,\"ms\":6,\"reason\":\"timed out\"},"
			      "\"2\":{\"ok\":true,\"ms\":6}}";
	ck_assert_int_eq(hm_status_fence_protection(2, devs, 2, hosts, 3), HM_FENCE_DEGRADED);
	/* the host's own view never counts: it does not fence itself */
	hosts[1].fence_view = "{\"1\":{\"ok\":false},\"2\":{\"ok\":false}}";
	ck_assert_int_eq(hm_status_fence_protection(2, devs, 2, hosts, 3), HM_FENCE_DEGRADED);
	hosts[0].fence_view = "{\"2\":{\"ok\":false}}";
	ck_assert_int_eq(hm_status_fence_protection(2, devs, 2, hosts, 3), HM_FENCE_UNPROTECTED);
	/* garbage in a view is no answer */
	hosts[0].fence_view = "not json";
	hosts[2].fence_view = "[1,2]";
	ck_assert_int_eq(hm_status_fence_protection(2, devs, 2, hosts, 3), HM_FENCE_UNPROTECTED);
	/* one host's report of one device */
	ck_assert_int_eq(hm_fence_view_reports("{\"1\":{\"ok\":true,\"ms\":7}}", 1), 1);
	ck_assert_int_eq(hm_fence_view_reports("{\"1\":{\"ok\":false}}", 1), 0);
	ck_assert_int_eq(hm_fence_view_reports("{\"1\":{\"ok\":true}}", 2), -1);
	ck_assert_int_eq(hm_fence_view_reports("{\"1\":3}", 1), -1);
	ck_assert_int_eq(hm_fence_view_reports(NULL, 1), -1);
}
END_TEST

START_TEST(test_job_recent)
{
	struct hm_job_recent r = { 0 };
	struct hm_job j;
	uint64_t id;

	/* nothing noted: unfinished jobs show, finished ones do not */
	j = job_of(1, HM_JOB_ACCEPTED, 5);
	ck_assert(hm_job_recent_shown(&r, &j));
	j = job_of(1, HM_JOB_RUNNING, 5);
	ck_assert(hm_job_recent_shown(&r, &j));
	j = job_of(1, HM_JOB_DONE, 5);
	ck_assert(!hm_job_recent_shown(&r, &j));
	ck_assert(hm_job_state_finished(HM_JOB_DONE));
	ck_assert(hm_job_state_finished(HM_JOB_FAILED));
	ck_assert(hm_job_state_finished(HM_JOB_CANCELLED));
	ck_assert(!hm_job_state_finished(HM_JOB_RUNNING));
	ck_assert(!hm_job_state_finished(HM_JOB_ACCEPTED));

	/* 100 unfinished jobs and 50 finished ones, in an order that is not
	 * their end order: ids 1..50 ended at (id * 37) % 50 seconds */
	for (id = 1; id <= 50; id++) {
		j = job_of(id, id % 3 ? HM_JOB_DONE : id % 2 ? HM_JOB_FAILED : HM_JOB_CANCELLED,
			   (int64_t)((id * 37) % 50) * 1000);
		hm_job_recent_note(&r, &j);
		j = job_of(1000 + id, HM_JOB_RUNNING, 0);
		hm_job_recent_note(&r, &j);
		j = job_of(2000 + id, HM_JOB_ACCEPTED, 0);
		hm_job_recent_note(&r, &j);
	}
	ck_assert_uint_eq(hm_job_recent_hidden(&r), 50 - HM_JOBS_RECENT);
	/* shown: exactly those ending at 30..49 s */
	for (id = 1; id <= 50; id++) {
		j = job_of(id, HM_JOB_DONE, (int64_t)((id * 37) % 50) * 1000);
		ck_assert_msg(hm_job_recent_shown(&r, &j) == ((id * 37) % 50 >= 30),
			      "job %llu ended at %llu s", (unsigned long long)id,
			      (unsigned long long)((id * 37) % 50));
		j = job_of(1000 + id, HM_JOB_RUNNING, 0);
		ck_assert(hm_job_recent_shown(&r, &j));
	}

	/* a tie on time goes to the higher id */
	memset(&r, 0, sizeof(r));
	for (id = 1; id <= HM_JOBS_RECENT + 1; id++) {
		j = job_of(id, HM_JOB_DONE, 7);
		hm_job_recent_note(&r, &j);
	}
	ck_assert_uint_eq(hm_job_recent_hidden(&r), 1);
	j = job_of(1, HM_JOB_DONE, 7);
	ck_assert(!hm_job_recent_shown(&r, &j));
	j = job_of(HM_JOBS_RECENT + 1, HM_JOB_DONE, 7);
	ck_assert(hm_job_recent_shown(&r, &j));
	j = job_of(2, HM_JOB_DONE, 7);
	ck_assert(hm_job_recent_shown(&r, &j));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status");

	add_tcase_fixture(s, test_nodelist_bad_input, setup, teardown);
	add_tcase_fixture(s, test_disconnected, setup, teardown);
	add_tcase_fixture(s, test_quorate_cluster, setup, teardown);
	add_tcase_fixture(s, test_host_state_now, setup, teardown);
	add_tcase(s, test_page_bad_input);
	add_tcase(s, test_page_by_count);
	add_tcase(s, test_page_by_bytes);
	add_tcase(s, test_job_recent);
	add_tcase(s, test_dry_plan_evacuate);
	add_tcase(s, test_dry_plan_drain_and_migrate);
	add_tcase(s, test_dry_largest_host);
	add_tcase(s, test_fence_protection_from_monitors);
	return hm_check_run(s);
}
