/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The status object hamonctl prints, built from a membership fed by fakes. */
#include <errno.h>
#include <string.h>

#include "check_common.h"
#include "fake_seam.h"
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

int main(void)
{
	Suite *s = suite_create("status");

	add_tcase_fixture(s, test_nodelist_bad_input, setup, teardown);
	add_tcase_fixture(s, test_disconnected, setup, teardown);
	add_tcase_fixture(s, test_quorate_cluster, setup, teardown);
	add_tcase_fixture(s, test_host_state_now, setup, teardown);
	return hm_check_run(s);
}
