/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The membership module through a fake seam: quorum tied to the ring id,
 * the sync protocol, and the sticky coordinator, with no corosync running.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_common.h"
#include "fake_seam.h"
#include "membership.h"
#include "wire.h"

#define N 5

static struct fake_bus bus;
static struct fake_node nodes[N + 1];	/* 1-based */
static struct hm_membership *mm[N + 1];
static struct fake_node *all[N];

/* what each node logged, to check what an operator would read */
static char logged[N + 1][8192];

static void capture_log(void *ctx, int prio, const char *fmt, va_list ap)
{
	struct fake_node *n = ctx;
	char *buf = logged[n->nodeid];
	size_t used = strlen(buf);

	(void)prio;
	if (used + 2 >= sizeof(logged[0]))
		return;
	vsnprintf(buf + used, sizeof(logged[0]) - used - 1, fmt, ap);
	strcat(buf, "\n");
}

static bool fake_logged(const struct fake_node *n, const char *text)
{
	return strstr(logged[n->nodeid], text) != NULL;
}

static void setup(void)
{
	int i;

	fake_bus_init(&bus);
	memset(logged, 0, sizeof(logged));
	for (i = 1; i <= N; i++) {
		fake_node_init(&nodes[i], &bus, i);
		nodes[i].seam.log = capture_log;
		mm[i] = hm_membership_new(&nodes[i].seam);
		ck_assert_ptr_nonnull(mm[i]);
		hm_membership_connected(mm[i], i);
		all[i - 1] = &nodes[i];
	}
}

static void teardown(void)
{
	int i;

	for (i = 1; i <= N; i++)
		hm_membership_free(mm[i]);
}

static struct hm_ring_id ring(uint32_t rep, uint64_t seq)
{
	return (struct hm_ring_id){ .nodeid = rep, .seq = seq };
}

/* Deliver everything on the bus, in order, to the given members. */
static void deliver(const uint32_t *ids, size_t n)
{
	struct fake_msg msg;
	size_t i;

	while (fake_bus_pop(&bus, &msg))
		for (i = 0; i < n; i++)
			ck_assert_int_eq(hm_membership_deliver(mm[ids[i]], msg.sender, msg.data, msg.len), 0);
}

/* A partition forms: totem change, group change, quorum, then the sync. */
static void form(const uint32_t *ids, size_t n, uint64_t seq, bool quorate)
{
	struct hm_ring_id r = ring(ids[0], seq);
	size_t i;

	for (i = 0; i < n; i++)
		hm_membership_totem_change(mm[ids[i]], &r, ids, n);
	for (i = 0; i < n; i++)
		hm_membership_group_change(mm[ids[i]], ids, n, NULL, 0, NULL, 0);
	for (i = 0; i < n; i++)
		hm_membership_quorum_change(mm[ids[i]], quorate, &r, ids, n);
	deliver(ids, n);
}

START_TEST(test_garbage_refused)
{
	uint8_t junk[64];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	ck_assert_int_eq(hm_membership_deliver(mm[1], 2, junk, sizeof(junk)), -EBADMSG);
	ck_assert_int_eq(hm_membership_deliver(mm[1], 2, junk, 0), -EBADMSG);
	ck_assert_int_eq(hm_membership_sync_state(mm[1]), HM_SYNC_NONE);
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 0);
}
END_TEST

START_TEST(test_quorum_needs_matching_ring)
{
	uint32_t ids[] = { 1, 2, 3 };
	struct hm_ring_id r1 = ring(1, 8), r2 = ring(1, 12);

	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_UNKNOWN);
	hm_membership_totem_change(mm[1], &r1, ids, 3);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_UNKNOWN);
	hm_membership_quorum_change(mm[1], true, &r1, ids, 3);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_QUORATE);
	/* a new ring: unknown until its own quorum notification */
	hm_membership_totem_change(mm[1], &r2, ids, 2);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_UNKNOWN);
	hm_membership_quorum_change(mm[1], false, &r2, ids, 2);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_NOT_QUORATE);
}
END_TEST

START_TEST(test_quorum_before_totem_is_unknown)
{
	uint32_t ids[] = { 1, 2, 3 };
	struct hm_ring_id r1 = ring(1, 8), r2 = ring(1, 12);

	hm_membership_totem_change(mm[1], &r1, ids, 3);
	hm_membership_quorum_change(mm[1], true, &r1, ids, 3);
	/* the quorum notification of the next ring overtakes its totem change */
	hm_membership_quorum_change(mm[1], true, &r2, ids, 3);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_UNKNOWN);
	hm_membership_totem_change(mm[1], &r2, ids, 3);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_QUORATE);
	/* not synced: quorum alone does not make our data newer */
	ck_assert_uint_eq(hm_membership_last_quorate(mm[1]).seq, 0);
}
END_TEST

START_TEST(test_disconnect_is_not_quorate)
{
	uint32_t ids[] = { 1, 2, 3 };

	form(ids, 3, 4, true);
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 1);
	hm_membership_disconnected(mm[1]);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_NOT_QUORATE);
	ck_assert(!hm_membership_is_connected(mm[1]));
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 0);
	ck_assert(!hm_membership_have_ring(mm[1], NULL));
	/* reconnect: unknown until corosync tells us the ring and quorum */
	hm_membership_connected(mm[1], 1);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_UNKNOWN);
}
END_TEST

START_TEST(test_first_formation_lowest_coordinates)
{
	uint32_t ids[] = { 1, 2, 3 };
	int i;

	form(ids, 3, 4, true);
	for (i = 1; i <= 3; i++) {
		ck_assert(hm_membership_synced(mm[i]));
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 1);
		ck_assert_uint_eq(hm_membership_cluster_proto(mm[i]), HM_WIRE_VERSION);
	}
}
END_TEST

START_TEST(test_no_coordinator_while_syncing)
{
	uint32_t ids[] = { 1, 2, 3 };
	struct hm_ring_id r = ring(1, 4);
	int i;

	for (i = 1; i <= 3; i++) {
		hm_membership_totem_change(mm[i], &r, ids, 3);
		hm_membership_quorum_change(mm[i], true, &r, ids, 3);
		hm_membership_group_change(mm[i], ids, 3, NULL, 0, NULL, 0);
		ck_assert_int_eq(hm_membership_quorum(mm[i]), HM_QUORUM_QUORATE);
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 0);
	}
	deliver(ids, 3);
	for (i = 1; i <= 3; i++)
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 1);
}
END_TEST

START_TEST(test_coordinator_is_sticky)
{
	uint32_t abc[] = { 1, 2, 3 }, bc[] = { 2, 3 };
	int i;

	form(abc, 3, 4, true);
	/* node 1 is cut off: {2,3} quorate, 1 alone */
	form(bc, 2, 8, true);
	form(abc, 1, 8, false);
	ck_assert_uint_eq(hm_membership_coordinator(mm[2]), 2);
	ck_assert_uint_eq(hm_membership_coordinator(mm[3]), 2);
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 0);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_NOT_QUORATE);
	/* heal: node 1, the lowest id, rejoins; {2,3} hold newer data, 2 stays */
	form(abc, 3, 12, true);
	for (i = 1; i <= 3; i++)
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 2);
	ck_assert_uint_eq(hm_membership_coordinator_epoch(mm[1]),
			  hm_membership_coordinator_epoch(mm[3]));
}
END_TEST

START_TEST(test_coordinator_moves_to_lowest_when_it_leaves)
{
	uint32_t all5[] = { 1, 2, 3, 4, 5 }, rest[] = { 3, 4, 5 }, two[] = { 2, 3, 4, 5 };
	int i;

	form(two, 4, 4, true);
	ck_assert_uint_eq(hm_membership_coordinator(mm[3]), 2);
	form(rest, 3, 8, true);
	for (i = 3; i <= 5; i++)
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 3);
	/* everyone back: 3 stays (sticky), though 1 and 2 are lower */
	form(all5, 5, 12, true);
	for (i = 1; i <= 5; i++)
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 3);
}
END_TEST

START_TEST(test_stale_sync_messages_dropped)
{
	uint32_t abc[] = { 1, 2, 3 }, bc[] = { 2, 3 };
	struct fake_msg stale;
	int i;

	form(abc, 3, 4, true);
	/* node 1 starts a sync, then leaves before its SYNC_START is delivered */
	hm_membership_group_change(mm[1], abc, 3, NULL, 0, NULL, 0);
	ck_assert(fake_bus_pop(&bus, &stale));
	for (i = 2; i <= 3; i++) {
		struct hm_ring_id r = ring(2, 8);

		hm_membership_totem_change(mm[i], &r, bc, 2);
		hm_membership_quorum_change(mm[i], true, &r, bc, 2);
		hm_membership_group_change(mm[i], bc, 2, NULL, 0, NULL, 0);
	}
	/* the old leader's SYNC_START arrives late: not from the current leader */
	for (i = 2; i <= 3; i++)
		hm_membership_deliver(mm[i], stale.sender, stale.data, stale.len);
	ck_assert_int_eq(hm_membership_sync_state(mm[2]), HM_SYNC_WAIT_START);
	deliver(bc, 2);
	for (i = 2; i <= 3; i++) {
		ck_assert(hm_membership_synced(mm[i]));
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 2);
	}
}
END_TEST

START_TEST(test_state_of_old_epoch_ignored)
{
	uint32_t abc[] = { 1, 2, 3 };
	struct fake_msg start, st1;
	struct hm_ring_id r = ring(1, 4);
	int i;

	for (i = 1; i <= 3; i++) {
		hm_membership_totem_change(mm[i], &r, abc, 3);
		hm_membership_quorum_change(mm[i], true, &r, abc, 3);
		hm_membership_group_change(mm[i], abc, 3, NULL, 0, NULL, 0);
	}
	ck_assert(fake_bus_pop(&bus, &start));
	for (i = 1; i <= 3; i++)
		hm_membership_deliver(mm[i], start.sender, start.data, start.len);
	ck_assert(fake_bus_pop(&bus, &st1));	/* node 1's state, epoch E1 */
	/* a group change restarts the sync with a new epoch */
	fake_bus_init(&bus);
	for (i = 1; i <= 3; i++)
		hm_membership_group_change(mm[i], abc, 3, NULL, 0, NULL, 0);
	for (i = 1; i <= 3; i++) {
		hm_membership_deliver(mm[i], st1.sender, st1.data, st1.len);
		ck_assert_int_eq(hm_membership_sync_state(mm[i]), HM_SYNC_WAIT_START);
	}
	deliver(abc, 3);
	for (i = 1; i <= 3; i++)
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 1);
}
END_TEST

START_TEST(test_send_retried_under_flow_control)
{
	uint32_t ab[] = { 1, 2 };
	struct hm_ring_id r = ring(1, 4);
	int i;

	nodes[1].send_failures = 2;
	nodes[1].send_errno = EAGAIN;
	for (i = 1; i <= 2; i++) {
		hm_membership_totem_change(mm[i], &r, ab, 2);
		hm_membership_quorum_change(mm[i], true, &r, ab, 2);
		hm_membership_group_change(mm[i], ab, 2, NULL, 0, NULL, 0);
	}
	ck_assert_uint_eq(bus.n_msgs, 0);
	fake_advance(all, N, 1000);
	ck_assert_uint_eq(bus.n_msgs, 1);
	deliver(ab, 2);
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 1);
	ck_assert_uint_eq(hm_membership_coordinator(mm[2]), 1);
}
END_TEST

START_TEST(test_minority_has_no_coordinator)
{
	uint32_t one[] = { 3 };

	form(one, 1, 4, false);
	ck_assert(hm_membership_synced(mm[3]));
	ck_assert_int_eq(hm_membership_quorum(mm[3]), HM_QUORUM_NOT_QUORATE);
	ck_assert_uint_eq(hm_membership_coordinator(mm[3]), 0);
}
END_TEST

START_TEST(test_not_in_group_no_sync)
{
	uint32_t bc[] = { 2, 3 };

	hm_membership_group_change(mm[1], bc, 2, NULL, 0, NULL, 0);
	ck_assert_int_eq(hm_membership_sync_state(mm[1]), HM_SYNC_NONE);
	ck_assert(!hm_membership_in_group(mm[1], 1));
	ck_assert(hm_membership_in_group(mm[1], 3));
}
END_TEST

START_TEST(test_too_few_hamonds_do_not_act)
{
	uint32_t one[] = { 1 }, ab[] = { 1, 2 }, abc[] = { 1, 2, 3 };
	struct hm_ring_id r = ring(1, 4);
	int i;

	for (i = 1; i <= 3; i++)
		hm_membership_set_votes_needed(mm[i], 2);
	/* corosync quorate on 3 nodes, but only hamond 1 runs */
	hm_membership_totem_change(mm[1], &r, abc, 3);
	hm_membership_group_change(mm[1], one, 1, NULL, 0, NULL, 0);
	hm_membership_quorum_change(mm[1], true, &r, abc, 3);
	deliver(one, 1);
	ck_assert_int_eq(hm_membership_quorum(mm[1]), HM_QUORUM_QUORATE);
	ck_assert(hm_membership_synced(mm[1]));
	ck_assert(!hm_membership_acting(mm[1]));
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 0);
	/* an acting group was never formed: the data is not "quorate" yet */
	ck_assert_uint_eq(hm_membership_last_quorate(mm[1]).seq, 0);
	/* hamond 2 joins: 2 votes, they act */
	hm_membership_totem_change(mm[2], &r, abc, 3);
	hm_membership_quorum_change(mm[2], true, &r, abc, 3);
	for (i = 1; i <= 2; i++)
		hm_membership_group_change(mm[i], ab, 2, NULL, 0, NULL, 0);
	deliver(ab, 2);
	for (i = 1; i <= 2; i++) {
		ck_assert(hm_membership_acting(mm[i]));
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 1);
		ck_assert_uint_eq(hm_membership_last_quorate(mm[i]).seq, 4);
	}
}
END_TEST

START_TEST(test_epoch_increases_only_on_change)
{
	uint32_t abc[] = { 1, 2, 3 }, bc[] = { 2, 3 };

	form(abc, 3, 4, true);
	ck_assert_uint_eq(hm_membership_coordinator_epoch(mm[2]), 1);
	form(abc, 3, 8, true);		/* same members: no change */
	ck_assert_uint_eq(hm_membership_coordinator_epoch(mm[2]), 1);
	form(bc, 2, 12, true);		/* the coordinator left */
	ck_assert_uint_eq(hm_membership_coordinator(mm[2]), 2);
	ck_assert_uint_eq(hm_membership_coordinator_epoch(mm[2]), 2);
	ck_assert_uint_eq(hm_membership_coordinator_epoch(mm[3]), 2);
}
END_TEST

START_TEST(test_proto_max_input_checked)
{
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], NULL), -EINVAL);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], ""), -EINVAL);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], "0"), -EINVAL);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], "-1"), -EINVAL);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], "2x"), -EINVAL);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], "99"), -EINVAL);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], "1"), 0);
}
END_TEST

START_TEST(test_cluster_speaks_its_members_protocol)
{
	uint32_t ids[] = { 1, 2, 3 };

	form(ids, 3, 4, true);
	ck_assert_uint_eq(hm_membership_cluster_proto(mm[2]), HM_WIRE_VERSION);
	ck_assert_uint_eq(hm_membership_required_proto(mm[2]), HM_WIRE_VERSION_MIN);
	ck_assert(!hm_membership_refused(mm[2], 3));
}
END_TEST

/* node 3 speaks only version 1 (a hamond of the first protocol): every
 * member, node 3 too, decides from the same states that it is refused */
START_TEST(test_too_old_member_refused)
{
	uint32_t ids[] = { 1, 2, 3 };
	const uint32_t *members;
	size_t i;

	ck_assert_int_eq(hm_membership_set_proto_max(mm[3], "1"), 0);
	form(ids, 3, 4, true);
	for (i = 1; i <= 2; i++) {
		ck_assert(hm_membership_synced(mm[i]));
		ck_assert(hm_membership_acting(mm[i]));
		ck_assert(hm_membership_refused(mm[i], 3));
		ck_assert(!hm_membership_refused(mm[i], 2));
		ck_assert(!hm_membership_in_group(mm[i], 3));
		ck_assert_uint_eq(hm_membership_group_members(mm[i], &members), 2);
		ck_assert_uint_eq(members[0], 1);
		ck_assert_uint_eq(members[1], 2);
		ck_assert_uint_eq(hm_membership_cluster_proto(mm[i]), HM_WIRE_VERSION);
		ck_assert_uint_eq(hm_membership_coordinator(mm[i]), 1);
	}
	ck_assert_int_eq(hm_membership_sync_state(mm[3]), HM_SYNC_REFUSED);
	ck_assert(!hm_membership_acting(mm[3]));
	ck_assert_uint_eq(hm_membership_coordinator(mm[3]), 0);
	ck_assert_uint_eq(hm_membership_cluster_proto(mm[3]), 0);
	ck_assert_str_eq(hm_sync_state_to_str(HM_SYNC_REFUSED), "refused");
	/* the message names the versions */
	ck_assert(fake_logged(&nodes[1], "node 3 refused: its hamond speaks protocol version 1 at most, this cluster requires version 2"));
	ck_assert(fake_logged(&nodes[3], "refused by the cluster: this hamond speaks protocol version 1 at most, the cluster requires version 2"));
}
END_TEST

/* a refused member counts for nothing: two good hamonds of three needed
 * do not act with a refused third */
START_TEST(test_refused_member_has_no_vote)
{
	uint32_t ids[] = { 1, 2, 3 };
	int i;

	for (i = 1; i <= 3; i++)
		hm_membership_set_votes_needed(mm[i], 3);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[2], "1"), 0);
	form(ids, 3, 4, true);
	ck_assert(hm_membership_synced(mm[1]));
	ck_assert(!hm_membership_acting(mm[1]));
	ck_assert(!hm_membership_acting(mm[3]));
	ck_assert_uint_eq(hm_membership_coordinator(mm[1]), 0);
}
END_TEST

/* the refused member had the newest data: it is not the source */
static uint32_t seen_source;
static size_t seen_n;

static bool record_source(void *data, const struct hm_sync_epoch *epoch, const uint32_t *group,
			  const struct hm_msg_sync_state *states, size_t n, size_t source)
{
	(void)data;
	(void)epoch;
	(void)states;
	seen_source = group[source];
	seen_n = n;
	return false;
}

START_TEST(test_refused_member_is_no_source)
{
	uint32_t ids[] = { 1, 2, 3 };
	struct hm_ring_id newer = ring(1, 100);
	struct hm_membership_hooks hooks = { .collected = record_source };

	form(ids, 3, 4, true);
	/* node 1's store says it was quorate later than anyone */
	hm_membership_set_data_position(mm[1], &newer);
	hm_membership_set_hooks(mm[2], &hooks);
	form(ids, 3, 12, true);
	ck_assert_uint_eq(seen_source, 1);
	ck_assert_uint_eq(seen_n, 3);
	/* the same, but node 1 speaks only version 1 */
	hm_membership_set_data_position(mm[1], &newer);
	ck_assert_int_eq(hm_membership_set_proto_max(mm[1], "1"), 0);
	form(ids, 3, 16, true);
	ck_assert(hm_membership_refused(mm[2], 1));
	ck_assert_uint_eq(seen_source, 2);
	ck_assert_uint_eq(seen_n, 2);
	ck_assert_uint_eq(hm_membership_coordinator(mm[2]), 2);
	ck_assert_uint_eq(hm_membership_coordinator(mm[3]), 2);
}
END_TEST

START_TEST(test_to_str)
{
	ck_assert_str_eq(hm_quorum_to_str(HM_QUORUM_QUORATE), "quorate");
	ck_assert_str_eq(hm_quorum_to_str(HM_QUORUM_UNKNOWN), "quorum-unknown");
	ck_assert_str_eq(hm_quorum_to_str(HM_QUORUM_NOT_QUORATE), "not-quorate");
	ck_assert_str_eq(hm_quorum_to_str((enum hm_quorum)42), "?");
	ck_assert_str_eq(hm_sync_state_to_str(HM_SYNC_DONE), "done");
	ck_assert_str_eq(hm_sync_state_to_str((enum hm_sync_state)42), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("membership");

	add_tcase_fixture(s, test_garbage_refused, setup, teardown);
	add_tcase_fixture(s, test_not_in_group_no_sync, setup, teardown);
	add_tcase_fixture(s, test_quorum_needs_matching_ring, setup, teardown);
	add_tcase_fixture(s, test_quorum_before_totem_is_unknown, setup, teardown);
	add_tcase_fixture(s, test_disconnect_is_not_quorate, setup, teardown);
	add_tcase_fixture(s, test_first_formation_lowest_coordinates, setup, teardown);
	add_tcase_fixture(s, test_no_coordinator_while_syncing, setup, teardown);
	add_tcase_fixture(s, test_coordinator_is_sticky, setup, teardown);
	add_tcase_fixture(s, test_coordinator_moves_to_lowest_when_it_leaves, setup, teardown);
	add_tcase_fixture(s, test_stale_sync_messages_dropped, setup, teardown);
	add_tcase_fixture(s, test_state_of_old_epoch_ignored, setup, teardown);
	add_tcase_fixture(s, test_send_retried_under_flow_control, setup, teardown);
	add_tcase_fixture(s, test_minority_has_no_coordinator, setup, teardown);
	add_tcase_fixture(s, test_too_few_hamonds_do_not_act, setup, teardown);
	add_tcase_fixture(s, test_epoch_increases_only_on_change, setup, teardown);
	add_tcase_fixture(s, test_proto_max_input_checked, setup, teardown);
	add_tcase_fixture(s, test_cluster_speaks_its_members_protocol, setup, teardown);
	add_tcase_fixture(s, test_too_old_member_refused, setup, teardown);
	add_tcase_fixture(s, test_refused_member_has_no_vote, setup, teardown);
	add_tcase_fixture(s, test_refused_member_is_no_source, setup, teardown);
	add_tcase_fixture(s, test_to_str, setup, teardown);
	return hm_check_run(s);
}
