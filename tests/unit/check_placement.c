/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placement: bad input is refused and leaves the results alone; capacity
 * (vCPUs with overcommit, memory without), every running instance counted
 * and each placement of the round before the next; every host state and
 * flag that keeps a host out; anti-affinity strict and soft; priority;
 * reserved hosts first and last; local disks; an operator's target; the
 * same answer whatever the order of the input; no overflow at the limits;
 * reasons a human can read, and bounded.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check_common.h"
#include "placement.h"

#define MAX_HOSTS 64
#define MAX_INSTS 1100

/* one cluster per test, rebuilt by setup() */
static struct {
	struct hm_host hosts[MAX_HOSTS];
	char host_names[MAX_HOSTS][300];
	size_t n_hosts;
	uint32_t members[MAX_HOSTS];
	size_t n_members;
	struct hm_instance insts[MAX_INSTS];
	char uuids[MAX_INSTS][37];
	size_t n_insts;
	const struct hm_instance *load[MAX_INSTS];
	size_t n_load;
	struct hm_place_request want[MAX_INSTS];
	size_t n_want;
	struct hm_place_result res[MAX_INSTS];
	size_t placed;
	struct hm_place_input in;
} c;

static void setup(void)
{
	memset(&c, 0, sizeof(c));
	c.in.cpu_overcommit = 1.0;
}

static void teardown(void)
{
}

/* an online member, "node<id>" */
static struct hm_host *host(uint32_t nodeid, uint32_t vcpus, uint64_t memory_mib)
{
	struct hm_host *h = &c.hosts[c.n_hosts];

	ck_assert_uint_lt(c.n_hosts, MAX_HOSTS);
	snprintf(c.host_names[c.n_hosts], sizeof(c.host_names[0]), "node%u", nodeid);
	*h = (struct hm_host){ .nodeid = nodeid, .name = c.host_names[c.n_hosts],
			       .state = HM_HOST_ONLINE, .vcpus = vcpus, .memory_mib = memory_mib };
	c.members[c.n_members++] = nodeid;
	c.n_hosts++;
	return h;
}

/* a shared-storage HA instance, running on owner (0 = none), uuid ...<n> */
static struct hm_instance *inst(uint32_t owner, uint32_t vcpus, uint64_t memory_mib)
{
	struct hm_instance *i = &c.insts[c.n_insts];

	ck_assert_uint_lt(c.n_insts, MAX_INSTS);
	snprintf(c.uuids[c.n_insts], sizeof(c.uuids[0]), "00000000-0000-4000-8000-%012zu",
		 c.n_insts + 1);
	*i = (struct hm_instance){ .uuid = c.uuids[c.n_insts], .name = c.uuids[c.n_insts],
				   .domain_xml = "<domain/>", .owner = owner,
				   .storage = HM_STORAGE_SHARED, .vcpus = vcpus,
				   .memory_mib = memory_mib, .requested = HM_REQUESTED_STARTED,
				   .ha_policy = HM_HA_POLICY_HA, .observed = HM_OBSERVED_RUNNING };
	c.n_insts++;
	return i;
}

/* an instance in the load */
static struct hm_instance *running(uint32_t owner, uint32_t vcpus, uint64_t memory_mib)
{
	struct hm_instance *i = inst(owner, vcpus, memory_mib);

	c.load[c.n_load++] = i;
	return i;
}

/* an instance to place; its index in want and res */
static size_t want(struct hm_instance *i)
{
	c.want[c.n_want] = (struct hm_place_request){ .instance = i };
	return c.n_want++;
}

static int place(void)
{
	c.in.hosts = c.hosts;
	c.in.n_hosts = c.n_hosts;
	c.in.members = c.members;
	c.in.n_members = c.n_members;
	c.in.load = c.load;
	c.in.n_load = c.n_load;
	c.in.want = c.want;
	c.in.n_want = c.n_want;
	c.placed = (size_t)-1;
	return hm_place(&c.in, c.res, &c.placed);
}

static void place_ok(size_t placed)
{
	ck_assert_int_eq(place(), 0);
	ck_assert_uint_eq(c.placed, placed);
}

/* ---- invalid input first ---- */

/* -EINVAL, and the results untouched */
static void refused(const struct hm_place_input *in, struct hm_place_result *res)
{
	static struct hm_place_result untouched[MAX_INSTS];

	memset(untouched, 0x5a, sizeof(untouched));
	memset(c.res, 0x5a, sizeof(c.res));
	c.placed = 77;
	ck_assert_int_eq(hm_place(in, res, &c.placed), -EINVAL);
	ck_assert_int_eq(memcmp(c.res, untouched, sizeof(c.res)), 0);
	ck_assert_uint_eq(c.placed, 77);
}

START_TEST(test_invalid_arguments)
{
	struct hm_place_input good;
	struct hm_instance *a;
	uint32_t one = 1;

	host(1, 8, 8192);
	host(2, 8, 8192);
	a = inst(0, 1, 512);
	want(a);
	running(1, 1, 512);
	ck_assert_int_eq(place(), 0);
	good = c.in;

	refused(NULL, c.res);
	/* a count with no array, for each array */
	refused(&c.in, NULL);
	c.in.hosts = NULL;
	refused(&c.in, c.res);
	c.in = good;
	c.in.members = NULL;
	refused(&c.in, c.res);
	c.in = good;
	c.in.load = NULL;
	refused(&c.in, c.res);
	c.in = good;
	c.in.want = NULL;
	refused(&c.in, c.res);
	c.in = good;
	c.in.n_exclude_hosts = 1;
	refused(&c.in, c.res);
	c.in = good;
	ck_assert_int_eq(hm_place(&c.in, c.res, NULL), 0);

#define REFUSED(change, undo) do {			\
		change;					\
		refused(&c.in, c.res);			\
		undo;					\
		ck_assert_int_eq(hm_place(&c.in, c.res, NULL), 0); \
	} while (0)

	REFUSED(c.load[0] = NULL, c.load[0] = &c.insts[1]);
	REFUSED(c.want[0].instance = NULL, c.want[0].instance = a);
	REFUSED(a->uuid = NULL, a->uuid = c.uuids[0]);
	REFUSED(c.in.cpu_overcommit = 0, c.in.cpu_overcommit = 1.0);
	REFUSED(c.in.cpu_overcommit = 0.99, c.in.cpu_overcommit = 1.0);
	REFUSED(c.in.cpu_overcommit = -4, c.in.cpu_overcommit = 1.0);
	REFUSED(c.in.cpu_overcommit = NAN, c.in.cpu_overcommit = 1.0);
	REFUSED(c.in.cpu_overcommit = INFINITY, c.in.cpu_overcommit = 1.0);
	REFUSED(c.in.cpu_overcommit = HM_PLACE_OVERCOMMIT_MAX * 1.001, c.in.cpu_overcommit = 1.0);
	REFUSED(c.in.reserved_order = HM_PLACE_RESERVED_ORDER_MAX,
		c.in.reserved_order = HM_PLACE_RESERVED_FIRST);
	REFUSED(c.in.reserved_order = (enum hm_place_reserved_order)-1,
		c.in.reserved_order = HM_PLACE_RESERVED_LAST);
	REFUSED(c.in.affinity = HM_PLACE_AFFINITY_MAX, c.in.affinity = HM_PLACE_AFFINITY_SOFT);
	REFUSED(c.in.affinity = (enum hm_place_affinity)-1, c.in.affinity = HM_PLACE_AFFINITY_STRICT);
	/* a host with no node id, a node id twice */
	REFUSED(c.hosts[1].nodeid = 0, c.hosts[1].nodeid = 2);
	REFUSED(c.hosts[1].nodeid = 1, c.hosts[1].nodeid = 2);
	/* the same instance twice, even with another rank */
	want(inst(0, 1, 512));
	c.in.want = c.want;
	c.in.n_want = c.n_want;
	REFUSED(c.insts[2].uuid = a->uuid; c.insts[2].priority = 7, c.insts[2].uuid = c.uuids[2]);
	REFUSED(c.want[1].instance = a, c.want[1].instance = &c.insts[2]);
#undef REFUSED
	/* the limits are taken */
	c.in.cpu_overcommit = HM_PLACE_OVERCOMMIT_MAX;
	ck_assert_int_eq(hm_place(&c.in, c.res, NULL), 0);
	c.in.cpu_overcommit = 1.0;
	c.in.exclude_hosts = &one;
	c.in.n_exclude_hosts = 1;
	ck_assert_int_eq(hm_place(&c.in, c.res, NULL), 0);
	ck_assert_uint_eq(c.res[0].target, 2);
}
END_TEST

START_TEST(test_empty)
{
	size_t w;

	/* nothing at all */
	place_ok(0);
	/* nothing to place: res is not touched (it may be NULL) */
	host(1, 8, 8192);
	running(1, 2, 1024);
	ck_assert_int_eq(place(), 0);
	ck_assert_int_eq(hm_place(&c.in, NULL, NULL), 0);
	/* no hosts */
	setup();
	w = want(inst(0, 2, 1024));
	place_ok(0);
	ck_assert_uint_eq(c.res[w].target, 0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 1024 MiB: no hosts");
	/* hosts, but no members: no eligible host */
	host(1, 8, 8192);
	c.n_members = 0;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 1024 MiB: no eligible host "
			 "(node1: not a member)");
}
END_TEST

/* ---- capacity ---- */

START_TEST(test_capacity_cpu)
{
	size_t big, fits;

	host(1, 4, 65536);
	big = want(inst(0, 5, 1024));
	fits = want(inst(0, 4, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[fits].target, 1);
	ck_assert_str_eq(c.res[fits].reason, "");
	ck_assert_uint_eq(c.res[big].target, 0);
	ck_assert_str_eq(c.res[big].reason, "needs 5 vCPUs and 1024 MiB: no eligible host has "
			 "room (node1: 4 vCPUs free)");
}
END_TEST

START_TEST(test_capacity_memory)
{
	size_t big, fits;

	/* memory is never overcommitted, whatever the CPU ratio */
	c.in.cpu_overcommit = 16;
	host(1, 64, 8192);
	big = want(inst(0, 1, 8193));
	fits = want(inst(0, 1, 8192));
	place_ok(1);
	ck_assert_uint_eq(c.res[fits].target, 1);
	ck_assert_uint_eq(c.res[big].target, 0);
	/* the big one is ranked first (larger memory), so the host was empty */
	ck_assert_str_eq(c.res[big].reason, "needs 1 vCPU and 8193 MiB: no eligible host has "
			 "room (node1: 8192 MiB free)");
	/* both short */
	setup();
	host(1, 2, 1024);
	big = want(inst(0, 4, 2048));
	place_ok(0);
	ck_assert_str_eq(c.res[big].reason, "needs 4 vCPUs and 2048 MiB: no eligible host has "
			 "room (node1: 2 vCPUs and 1024 MiB free)");
}
END_TEST

START_TEST(test_overcommit)
{
	size_t i, w[11];

	/* 4 CPUs x 2.5 = 10 vCPUs */
	c.in.cpu_overcommit = 2.5;
	host(1, 4, 1 << 20);
	for (i = 0; i < 11; i++)
		w[i] = want(inst(0, 1, 1024));
	place_ok(10);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(c.res[w[i]].target, 1);
	ck_assert_uint_eq(c.res[w[10]].target, 0);
	ck_assert_str_eq(c.res[w[10]].reason, "needs 1 vCPU and 1024 MiB: no eligible host has "
			 "room (node1: 0 vCPUs free)");
	/* floor: 3 x 1.5 = 4.5 is 4 */
	setup();
	c.in.cpu_overcommit = 1.5;
	host(1, 3, 1 << 20);
	w[0] = want(inst(0, 5, 1));
	place_ok(0);
	ck_assert_str_eq(c.res[w[0]].reason, "needs 5 vCPUs and 1 MiB: no eligible host has "
			 "room (node1: 4 vCPUs free)");
	/* a decimal ratio means what it says: 100 x 1.15 = 115, though the
	 * double product is 114.99999999999999 */
	setup();
	c.in.cpu_overcommit = 1.15;
	host(1, 100, 1 << 20);
	w[0] = want(inst(0, 115, 1));
	place_ok(1);
	setup();
	c.in.cpu_overcommit = 1.15;
	host(1, 100, 1 << 20);
	w[0] = want(inst(0, 116, 1));
	place_ok(0);
	ck_assert_str_eq(c.res[w[0]].reason, "needs 116 vCPUs and 1 MiB: no eligible host has "
			 "room (node1: 115 vCPUs free)");
}
END_TEST

START_TEST(test_all_load_counted)
{
	static const struct {
		enum hm_observed observed;
		bool counts;
	} cases[] = {
		{ HM_OBSERVED_RUNNING, true }, { HM_OBSERVED_PAUSED, true },
		{ HM_OBSERVED_UNKNOWN, true }, { HM_OBSERVED_SHUTOFF, false },
		{ HM_OBSERVED_CRASHED, false }, { HM_OBSERVED_ABSENT, false },
	};
	struct hm_instance *i;
	size_t k, w;

	_Static_assert(sizeof(cases) / sizeof(cases[0]) == HM_OBSERVED_MAX, "every state");
	ck_assert(!hm_place_counts(NULL));
	for (k = 0; k < HM_OBSERVED_MAX; k++) {
		setup();
		host(1, 8, 8192);
		i = running(1, 6, 6144);
		i->observed = cases[k].observed;
		/* HA or not, started or not: what runs uses room */
		i->ha_policy = HM_HA_POLICY_NONE;
		i->requested = HM_REQUESTED_STOPPED;
		ck_assert_int_eq(hm_place_counts(i), cases[k].counts);
		w = want(inst(0, 4, 4096));
		place_ok(!cases[k].counts);
		if (cases[k].counts)
			ck_assert_str_eq(c.res[w].reason, "needs 4 vCPUs and 4096 MiB: no eligible "
					 "host has room (node1: 2 vCPUs and 2048 MiB free)");
	}
	/* no owner, or an owner that is not a known host: no room of ours used */
	setup();
	host(1, 8, 8192);
	running(0, 8, 8192);
	running(9, 8, 8192);
	ck_assert(!hm_place_counts(c.load[0]));
	ck_assert(hm_place_counts(c.load[1]));
	w = want(inst(0, 8, 8192));
	place_ok(1);
	/* load on several hosts, summed per host */
	setup();
	host(1, 8, 8192);
	host(2, 8, 8192);
	running(1, 2, 1024);
	running(1, 2, 1024);
	running(2, 7, 1024);
	running(1, 1, 1024);
	w = want(inst(0, 3, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 1);
	w = want(inst(0, 3, 1024));
	place_ok(1);
	ck_assert_str_eq(c.res[w].reason, "needs 3 vCPUs and 1024 MiB: no eligible host has "
			 "room (node1: 0 vCPUs free, node2: 1 vCPU free)");
}
END_TEST

START_TEST(test_in_round_accounting)
{
	size_t i, w[6], on1 = 0, on2 = 0;

	/* two hosts of 4 vCPUs: 4 instances of 2 fit, 2 more don't */
	host(1, 4, 1 << 20);
	host(2, 4, 1 << 20);
	for (i = 0; i < 6; i++)
		w[i] = want(inst(0, 2, 1024));
	place_ok(4);
	for (i = 0; i < 6; i++) {
		on1 += c.res[w[i]].target == 1;
		on2 += c.res[w[i]].target == 2;
	}
	ck_assert_uint_eq(on1, 2);
	ck_assert_uint_eq(on2, 2);
	/* in uuid order (same rank), spread: node1, node2, node1, node2 */
	ck_assert_uint_eq(c.res[w[0]].target, 1);
	ck_assert_uint_eq(c.res[w[1]].target, 2);
	ck_assert_uint_eq(c.res[w[2]].target, 1);
	ck_assert_uint_eq(c.res[w[3]].target, 2);
	ck_assert_str_eq(c.res[w[4]].reason, "needs 2 vCPUs and 1024 MiB: no eligible host has "
			 "room (node1: 0 vCPUs free, node2: 0 vCPUs free)");
	ck_assert_str_eq(c.res[w[5]].reason, c.res[w[4]].reason);
	/* memory too: 3 x 3 GiB on a host of 8 GiB */
	setup();
	host(1, 64, 8192);
	for (i = 0; i < 3; i++)
		w[i] = want(inst(0, 1, 3072));
	place_ok(2);
	ck_assert_str_eq(c.res[w[2]].reason, "needs 1 vCPU and 3072 MiB: no eligible host has "
			 "room (node1: 2048 MiB free)");
}
END_TEST

START_TEST(test_spread_and_ties)
{
	size_t w;

	/* the host left the least full in its fuller resource: node1 would be
	 * 7/8 free of memory, node2 half free of vCPUs */
	host(1, 64, 8192);
	host(2, 2, 16384);
	w = want(inst(0, 1, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 1);
	/* relative, not absolute: 1 GiB out of 4 leaves 3/4, out of 64 GiB
	 * with 60 used leaves 3/64 */
	setup();
	host(1, 8, 4096);
	host(2, 8, 65536);
	running(2, 1, 61440);
	w = want(inst(0, 1, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 1);
	/* a host short of vCPUs is as full as one short of memory: node1
	 * would keep 1/4 of its vCPUs, node2 1/2 of its memory */
	setup();
	host(1, 8, 8192);
	host(2, 8, 8192);
	running(1, 5, 1024);
	running(2, 1, 3072);
	w = want(inst(0, 1, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 2);
	/* equal fractions: the most free memory, then the most free vCPUs */
	setup();
	host(1, 8, 8192);
	host(2, 8, 32768);
	running(2, 0, 16384);	/* both keep 1/2 of each after the instance */
	w = want(inst(0, 4, 0));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 2);	/* 16384 MiB free against 8192 */
	setup();
	host(1, 8, 8192);
	host(2, 16, 16384);
	running(2, 8, 8192);
	w = want(inst(0, 4, 4096));	/* 1/4 left of both on 2; 1/2 of both on 1 */
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 1);
	setup();
	host(1, 8, 8192);
	host(2, 16, 8192);
	w = want(inst(0, 0, 0));	/* all left everywhere: memory equal, vCPUs decide */
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 2);
	setup();
	host(1, 8, 8192);
	host(2, 8, 16384);
	w = want(inst(0, 0, 0));	/* memory decides */
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 2);
	/* all equal: the lower node id, whatever the order of the hosts */
	setup();
	host(7, 8, 8192);
	host(3, 8, 8192);
	host(5, 8, 8192);
	w = want(inst(0, 1, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 3);
	/* a resource a host has none of does not count */
	setup();
	host(1, 0, 8192);
	host(2, 8, 8192);
	running(2, 0, 4096);
	w = want(inst(0, 0, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 1);
}
END_TEST

/* ---- hosts that take nothing ---- */

START_TEST(test_ineligible_hosts)
{
	static const struct {
		enum hm_host_state state;
		const char *why;
	} states[] = {
		{ HM_HOST_UNKNOWN, "unknown" }, { HM_HOST_DEGRADED, "degraded" },
		{ HM_HOST_OFFLINE, "offline" }, { HM_HOST_LOST, "lost" },
		{ HM_HOST_FENCED, "fenced" }, { HM_HOST_UNMANAGED, "unmanaged" },
	};
	char expect[HM_PLACE_REASON_MAX];
	struct hm_host *h;
	uint32_t excluded = 1;
	size_t k, w;

	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		setup();
		h = host(1, 64, 65536);
		h->state = states[k].state;
		host(2, 1, 1024);
		w = want(inst(0, 2, 2048));
		place_ok(0);
		snprintf(expect, sizeof(expect), "needs 2 vCPUs and 2048 MiB: no eligible host has "
			 "room (node2: 1 vCPU and 1024 MiB free, node1: %s)", states[k].why);
		ck_assert_str_eq(c.res[w].reason, expect);
		/* and the same host online takes it */
		h->state = HM_HOST_ONLINE;
		place_ok(1);
		ck_assert_uint_eq(c.res[w].target, 1);
	}
	/* the flags, membership and exclusion, one at a time */
	for (k = 0; k < 4; k++) {
		static const char *const why[] = { "in maintenance", "disabled", "not a member",
						   "excluded" };

		setup();
		h = host(1, 64, 65536);
		if (k == 0)
			h->maintenance = true;
		if (k == 1)
			h->disabled = true;
		if (k == 2)
			c.n_members = 0;
		if (k == 3) {
			c.in.exclude_hosts = &excluded;
			c.in.n_exclude_hosts = 1;
		}
		w = want(inst(0, 2, 2048));
		place_ok(0);
		snprintf(expect, sizeof(expect), "needs 2 vCPUs and 2048 MiB: no eligible host "
			 "(node1: %s)", why[k]);
		ck_assert_str_eq(c.res[w].reason, expect);
	}
	/* all of them at once: only the good one is used */
	setup();
	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
		host((uint32_t)k + 1, 64, 65536)->state = states[k].state;
	host(11, 64, 65536)->maintenance = true;
	host(12, 64, 65536)->disabled = true;
	host(13, 64, 65536);
	c.n_members--;
	host(14, 64, 65536);
	c.members[c.n_members - 1] = 13;	/* 13 is a member, 14 is not */
	host(15, 64, 65536);
	excluded = 15;
	c.in.exclude_hosts = &excluded;
	c.in.n_exclude_hosts = 1;
	host(16, 1, 1024);
	w = want(inst(0, 1, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 13);
	c.hosts[c.n_hosts - 4].state = HM_HOST_LOST;	/* node13 */
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 16);
	w = want(inst(0, 1, 1024));
	place_ok(1);
	ck_assert_str_eq(c.res[w].reason, "needs 1 vCPU and 1024 MiB: no eligible host has room "
			 "(node16: 0 vCPUs and 0 MiB free, node1: unknown, node2: degraded, "
			 "node3: offline, node4: lost, node5: fenced, node6: unmanaged, "
			 "node11: in maintenance, node12: disabled, and 3 more)");
	ck_assert_uint_lt(strlen(c.res[w].reason), HM_PLACE_REASON_MAX);
}
END_TEST

START_TEST(test_owner_and_exclude)
{
	struct hm_instance *a;
	size_t w;

	/* an instance never goes back to its current owner */
	host(1, 64, 65536);
	host(2, 1, 1024);
	a = running(1, 2, 2048);
	w = want(a);
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 2048 MiB: no eligible host has room "
			 "(node1: its current host, node2: 1 vCPU and 1024 MiB free)");
	/* and still counts there while it is placed elsewhere: a migration
	 * holds both ends */
	host(3, 4, 4096);
	w = want(inst(0, 63, 1024));
	place_ok(1);
	ck_assert_uint_eq(c.res[0].target, 3);
	ck_assert_uint_eq(c.res[w].target, 0);
	ck_assert_str_eq(c.res[w].reason, "needs 63 vCPUs and 1024 MiB: no eligible host has "
			 "room (node1: 62 vCPUs free, node2: 1 vCPU free, node3: 2 vCPUs free)");
	/* a request's own excluded host (its start failed there) */
	setup();
	host(1, 64, 65536);
	host(2, 8, 8192);
	w = want(inst(0, 1, 1024));
	c.want[w].exclude = 1;
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 2);
	c.hosts[1].maintenance = true;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 1 vCPU and 1024 MiB: no eligible host has room "
			 "(node1: failed there, node2: in maintenance)");
}
END_TEST

START_TEST(test_drain_shape)
{
	uint32_t source = 1;
	size_t i, w[3];

	/* node1 in maintenance and excluded, its instances in the load and to
	 * place; node2 and node3 take them, spread */
	host(1, 16, 32768)->maintenance = true;
	host(2, 8, 16384);
	host(3, 8, 16384);
	running(2, 4, 8192);
	for (i = 0; i < 3; i++)
		w[i] = want(running(1, 2, 4096));
	c.in.exclude_hosts = &source;
	c.in.n_exclude_hosts = 1;
	place_ok(3);
	ck_assert_uint_eq(c.res[w[0]].target, 3);	/* 3/4 of each kept, 1/4 on 2 */
	ck_assert_uint_eq(c.res[w[1]].target, 3);	/* 1/2 against 1/4 */
	ck_assert_uint_eq(c.res[w[2]].target, 2);	/* 1/4 each, all equal: node id */
	/* a migration in flight into node2, passed as a copy owned by it:
	 * node2 is full, node3 takes all three */
	running(2, 4, 8192);
	place_ok(3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(c.res[w[i]].target, 3);
}
END_TEST

/* ---- anti-affinity ---- */

START_TEST(test_anti_affinity_strict)
{
	struct hm_instance *a;
	size_t w[3], other;

	host(1, 64, 65536);
	host(2, 8, 8192);
	host(3, 8, 8192);
	running(1, 1, 1024)->affinity_group = "web";
	for (int i = 0; i < 3; i++) {
		a = inst(0, 1, 1024);
		a->affinity_group = "web";
		w[i] = want(a);
	}
	a = inst(0, 1, 1024);
	a->affinity_group = "db";
	other = want(a);
	place_ok(3);
	/* node1 has most room but runs a web already */
	ck_assert_uint_eq(c.res[w[0]].target, 2);
	ck_assert_uint_eq(c.res[w[1]].target, 3);
	ck_assert_uint_eq(c.res[w[2]].target, 0);
	ck_assert_str_eq(c.res[w[2]].reason, "needs 1 vCPU and 1024 MiB: no eligible host has "
			 "room (node1: group web is there, node2: group web is there, "
			 "node3: group web is there)");
	/* another group is not in the way */
	ck_assert_uint_eq(c.res[other].target, 1);
	/* strict is the default: zero */
	ck_assert_int_eq(HM_PLACE_AFFINITY_STRICT, 0);
	/* a stopped member of the group does not count */
	c.load[0] = inst(1, 1, 1024);
	c.insts[c.n_insts - 1].affinity_group = "web";
	c.insts[c.n_insts - 1].observed = HM_OBSERVED_SHUTOFF;
	place_ok(4);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
}
END_TEST

START_TEST(test_anti_affinity_soft)
{
	struct hm_instance *a;
	size_t w[3];

	c.in.affinity = HM_PLACE_AFFINITY_SOFT;
	host(1, 64, 65536);
	host(2, 8, 8192);
	host(3, 8, 8192);
	running(1, 1, 1024)->affinity_group = "web";
	for (int i = 0; i < 3; i++) {
		a = inst(0, 1, 1024);
		a->affinity_group = "web";
		w[i] = want(a);
	}
	place_ok(3);
	/* hosts without the group first, even with less room */
	ck_assert_uint_eq(c.res[w[0]].target, 2);
	ck_assert_str_eq(c.res[w[0]].reason, "");
	ck_assert_uint_eq(c.res[w[1]].target, 3);
	/* then allowed, on the most room */
	ck_assert_uint_eq(c.res[w[2]].target, 1);
	ck_assert_str_eq(c.res[w[2]].reason, "group web is there too (soft anti-affinity)");
	/* soft does not create room */
	c.hosts[0].vcpus = 1;
	c.hosts[1].vcpus = 1;
	c.hosts[2].vcpus = 1;
	place_ok(2);
	ck_assert_uint_eq(c.res[w[0]].target, 2);
	ck_assert_uint_eq(c.res[w[1]].target, 3);
	ck_assert_str_eq(c.res[w[2]].reason, "needs 1 vCPU and 1024 MiB: no eligible host has "
			 "room (node1: 0 vCPUs free, node2: 0 vCPUs free, node3: 0 vCPUs free)");
	/* the preference holds whichever node id comes first */
	setup();
	c.in.affinity = HM_PLACE_AFFINITY_SOFT;
	host(1, 2, 2048);
	host(2, 64, 65536);
	running(2, 1, 1024)->affinity_group = "web";
	a = inst(0, 1, 1024);
	a->affinity_group = "web";
	w[0] = want(a);
	place_ok(1);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
}
END_TEST

/* ---- order ---- */

START_TEST(test_priority)
{
	struct hm_instance *low, *high, *big, *small, *u1, *u2;
	size_t wl, wh;

	/* room for one: the higher priority gets it, whatever the input order */
	host(1, 2, 2048);
	low = inst(0, 2, 2048);
	high = inst(0, 2, 2048);
	low->priority = -5;
	high->priority = 10;
	wl = want(low);
	wh = want(high);
	place_ok(1);
	ck_assert_uint_eq(c.res[wh].target, 1);
	ck_assert_uint_eq(c.res[wl].target, 0);
	/* priorities at the ends of int64 */
	low->priority = INT64_MIN;
	high->priority = INT64_MAX;
	place_ok(1);
	ck_assert_uint_eq(c.res[wh].target, 1);
	/* equal priority: the larger memory first, then more vCPUs, then uuid */
	setup();
	host(1, 4, 4096);
	small = inst(0, 4, 2048);
	big = inst(0, 1, 3072);
	want(small);
	want(big);
	place_ok(1);
	ck_assert_uint_eq(c.res[1].target, 1);
	setup();
	host(1, 4, 4096);
	small = inst(0, 2, 3072);
	big = inst(0, 3, 3072);
	want(small);
	want(big);
	place_ok(1);
	ck_assert_uint_eq(c.res[1].target, 1);
	setup();
	host(1, 4, 4096);
	u1 = inst(0, 3, 3072);
	u2 = inst(0, 3, 3072);
	want(u2);
	want(u1);
	place_ok(1);
	ck_assert_uint_eq(c.res[1].target, 1);	/* u1: the lower uuid */
	/* a higher priority placed first takes the host it prefers */
	setup();
	host(1, 8, 8192);
	host(2, 8, 4096);
	low = inst(0, 1, 1024);
	high = inst(0, 1, 1024);
	high->priority = 1;
	wl = want(low);
	wh = want(high);
	place_ok(2);
	ck_assert_uint_eq(c.res[wh].target, 1);
	ck_assert_uint_eq(c.res[wl].target, 1);	/* 7168 free on 1, still more than 4096 */
}
END_TEST

START_TEST(test_reserved_hosts)
{
	size_t w[3];

	/* last (the default): a reserved host only when the others are full */
	host(1, 64, 65536)->reserved = true;
	host(2, 2, 2048);
	w[0] = want(inst(0, 1, 1024));
	w[1] = want(inst(0, 1, 1024));
	w[2] = want(inst(0, 1, 1024));
	ck_assert_int_eq(HM_PLACE_RESERVED_LAST, 0);
	place_ok(3);
	ck_assert_uint_eq(c.res[w[0]].target, 2);
	ck_assert_str_eq(c.res[w[0]].reason, "");
	ck_assert_uint_eq(c.res[w[1]].target, 2);
	ck_assert_uint_eq(c.res[w[2]].target, 1);
	ck_assert_str_eq(c.res[w[2]].reason, "a reserved host");
	/* first: the reserved host while it has room */
	c.in.reserved_order = HM_PLACE_RESERVED_FIRST;
	c.hosts[0].vcpus = 2;
	place_ok(3);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
	ck_assert_uint_eq(c.res[w[1]].target, 1);
	ck_assert_uint_eq(c.res[w[2]].target, 2);
	/* a reserved host before a soft anti-affinity breach on another:
	 * reserved is the rank above */
	setup();
	c.in.affinity = HM_PLACE_AFFINITY_SOFT;
	host(1, 64, 65536)->reserved = true;
	host(2, 8, 8192);
	running(2, 1, 1024)->affinity_group = "g";
	c.insts[0].affinity_group = "g";
	w[0] = want(inst(0, 1, 1024));
	c.insts[1].affinity_group = "g";
	place_ok(1);
	ck_assert_uint_eq(c.res[w[0]].target, 2);
	ck_assert_str_eq(c.res[w[0]].reason, "group g is there too (soft anti-affinity)");
	c.in.affinity = HM_PLACE_AFFINITY_STRICT;
	place_ok(1);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
	ck_assert_str_eq(c.res[w[0]].reason, "a reserved host");
}
END_TEST

/* ---- what is never placed, and the operator's target ---- */

START_TEST(test_local_disk)
{
	struct hm_instance *a;
	size_t w, shared;

	host(1, 64, 65536);
	host(2, 64, 65536);
	a = inst(2, 1, 1024);
	a->storage = HM_STORAGE_LOCAL;
	a->observed = HM_OBSERVED_UNKNOWN;
	w = want(a);
	a = inst(2, 1, 1024);
	a->storage = HM_STORAGE_VOLUME;
	shared = want(a);
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 0);
	ck_assert_str_eq(c.res[w].reason, "local disk: it runs only where its disk is (node 2)");
	ck_assert_uint_eq(c.res[shared].target, 1);
	/* even with an operator's target */
	c.in.target = 1;
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 0);
	ck_assert_ptr_nonnull(strstr(c.res[w].reason, "local disk"));
	c.insts[0].owner = 0;
	place_ok(1);
	ck_assert_str_eq(c.res[w].reason, "local disk: it runs only where its disk is");
}
END_TEST

START_TEST(test_target)
{
	size_t w, v;

	host(1, 64, 65536);
	host(2, 8, 8192);
	host(3, 4, 4096);
	w = want(inst(0, 2, 2048));
	v = want(inst(0, 2, 2048));
	/* not the host with the most room: the one asked for */
	c.in.target = 3;
	place_ok(2);
	ck_assert_uint_eq(c.res[w].target, 3);
	ck_assert_uint_eq(c.res[v].target, 3);
	/* full: refused, with the reason; no other host instead */
	running(3, 1, 1024);
	place_ok(1);
	ck_assert_uint_eq(c.res[w].target, 3);
	ck_assert_uint_eq(c.res[v].target, 0);
	ck_assert_str_eq(c.res[v].reason, "needs 2 vCPUs and 2048 MiB: target node3: "
			 "1 vCPU and 1024 MiB free");
	/* every check still applies */
	c.n_load = 0;
	c.hosts[2].maintenance = true;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 2048 MiB: target node3: "
			 "in maintenance");
	c.hosts[2].maintenance = false;
	c.hosts[2].state = HM_HOST_FENCED;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 2048 MiB: target node3: fenced");
	c.hosts[2].state = HM_HOST_ONLINE;
	c.members[2] = 1;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 2048 MiB: target node3: "
			 "not a member");
	c.members[2] = 3;
	c.insts[0].owner = 3;
	place_ok(1);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 2048 MiB: target node3: "
			 "its current host");
	c.insts[0].owner = 0;
	c.insts[0].affinity_group = "g";
	c.insts[1].affinity_group = "g";
	place_ok(1);
	ck_assert_str_eq(c.res[v].reason, "needs 2 vCPUs and 2048 MiB: target node3: "
			 "group g is there");
	c.in.target = 9;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 2 vCPUs and 2048 MiB: target node 9: "
			 "no such host");
}
END_TEST

START_TEST(test_capacity_appears)
{
	size_t w[2];

	/* pending now; placed by a later call once there is room */
	host(1, 2, 2048);
	w[0] = want(inst(0, 2, 2048));
	w[1] = want(inst(0, 2, 2048));
	place_ok(1);
	ck_assert_uint_eq(c.res[w[1]].target, 0);
	host(2, 2, 2048);
	place_ok(2);
	ck_assert_uint_eq(c.res[w[1]].target, 2);
}
END_TEST

/* ---- determinism, limits, bounds ---- */

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* a mixed cluster, seeded */
static void mixed_cluster(uint32_t seed)
{
	static const char *const groups[] = { NULL, "a", "b", "c" };
	struct hm_instance *a;
	size_t i;

	for (i = 0; i < 12; i++) {
		struct hm_host *h = host((uint32_t)(i * 3 + 1), 4 + lcg(&seed) % 12,
					 4096 * (1 + lcg(&seed) % 8));

		h->reserved = lcg(&seed) % 5 == 0;
		if (lcg(&seed) % 7 == 0)
			h->maintenance = true;
	}
	for (i = 0; i < 30; i++) {
		a = running(c.hosts[lcg(&seed) % c.n_hosts].nodeid, 1 + lcg(&seed) % 4,
			    512 * (1 + lcg(&seed) % 8));
		a->affinity_group = groups[lcg(&seed) % 4];
	}
	for (i = 0; i < 60; i++) {
		a = inst(0, 1 + lcg(&seed) % 4, 512 * (1 + lcg(&seed) % 8));
		a->priority = lcg(&seed) % 3;
		a->affinity_group = groups[lcg(&seed) % 4];
		want(a);
	}
}

static void shuffle(void *base, size_t n, size_t size, uint32_t *seed)
{
	char tmp[256], *v = base;
	size_t i, j;

	ck_assert_uint_le(size, sizeof(tmp));
	for (i = n; i > 1; i--) {
		j = lcg(seed) % i;
		memcpy(tmp, v + (i - 1) * size, size);
		memcpy(v + (i - 1) * size, v + j * size, size);
		memcpy(v + j * size, tmp, size);
	}
}

START_TEST(test_determinism)
{
	static struct hm_place_result first[MAX_INSTS];
	const char *uuid_of[MAX_INSTS];
	size_t i, j, placed, n = 0;
	uint32_t seed = 42;
	int round, mode;

	for (mode = 0; mode < 2; mode++) {
		setup();
		c.in.affinity = mode ? HM_PLACE_AFFINITY_SOFT : HM_PLACE_AFFINITY_STRICT;
		c.in.cpu_overcommit = 1.5;
		mixed_cluster(7);
		ck_assert_int_eq(place(), 0);
		placed = c.placed;
		ck_assert_uint_gt(placed, 0);
		ck_assert_uint_lt(placed, c.n_want);	/* some pending too: both paths */
		memcpy(first, c.res, sizeof(first));
		for (i = 0; i < c.n_want; i++)
			uuid_of[i] = c.want[i].instance->uuid;
		n = c.n_want;
		/* the same input: byte for byte the same answer */
		place_ok(placed);
		ck_assert_int_eq(memcmp(first, c.res, n * sizeof(*first)), 0);
		/* any order of hosts, members, load and requests: the same answer
		 * per instance */
		for (round = 0; round < 20; round++) {
			shuffle(c.hosts, c.n_hosts, sizeof(c.hosts[0]), &seed);
			shuffle(c.members, c.n_members, sizeof(c.members[0]), &seed);
			shuffle(c.load, c.n_load, sizeof(c.load[0]), &seed);
			shuffle(c.want, c.n_want, sizeof(c.want[0]), &seed);
			place_ok(placed);
			for (i = 0; i < n; i++) {
				for (j = 0; j < n && strcmp(c.want[j].instance->uuid, uuid_of[i]); j++)
					;
				ck_assert_uint_lt(j, n);
				ck_assert_uint_eq(c.res[j].target, first[i].target);
				ck_assert_str_eq(c.res[j].reason, first[i].reason);
			}
		}
	}
}
END_TEST

static uint32_t where(const struct hm_instance *a)
{
	size_t j;

	for (j = 0; j < c.n_want; j++)
		if (c.want[j].instance == a)
			return c.res[j].target;
	return 0;
}

/* the answer obeys the rules, checked from the outside on many clusters */
START_TEST(test_rules_hold)
{
	uint64_t cpu[MAX_HOSTS], mem[MAX_HOSTS];
	bool got[MAX_HOSTS];
	size_t i, j, h;
	uint32_t seed, on;

	for (seed = 1; seed < 40; seed++) {
		setup();
		c.in.cpu_overcommit = 1.0 + seed % 4;
		c.in.reserved_order = seed % 2 ? HM_PLACE_RESERVED_FIRST : HM_PLACE_RESERVED_LAST;
		mixed_cluster(seed);
		ck_assert_int_eq(place(), 0);
		memset(cpu, 0, sizeof(cpu));
		memset(mem, 0, sizeof(mem));
		memset(got, 0, sizeof(got));
		for (i = 0; i < c.n_insts; i++) {
			const struct hm_instance *a = &c.insts[i];

			on = a->owner ? a->owner : where(a);
			for (h = 0; h < c.n_hosts && c.hosts[h].nodeid != on; h++)
				;
			if (h == c.n_hosts)
				continue;
			cpu[h] += a->vcpus;
			mem[h] += a->memory_mib;
			if (a->owner)
				continue;
			got[h] = true;
			ck_assert(!c.hosts[h].maintenance);
			/* strict: never two of a group on one host */
			for (j = 0; a->affinity_group && j < c.n_insts; j++) {
				const struct hm_instance *b = &c.insts[j];

				if (b != a && b->affinity_group && (b->owner ? b->owner : where(b)) == on)
					ck_assert_str_ne(a->affinity_group, b->affinity_group);
			}
		}
		for (h = 0; h < c.n_hosts; h++) {
			if (!got[h])
				continue;	/* the load alone may be over: nothing added then */
			ck_assert_uint_le(cpu[h], (uint64_t)(c.hosts[h].vcpus * c.in.cpu_overcommit));
			ck_assert_uint_le(mem[h], c.hosts[h].memory_mib);
		}
		/* pending only when no host had room: rooms only shrink during a
		 * round, so a host with room for it at the end had room then */
		for (j = 0; j < c.n_want; j++) {
			const struct hm_instance *a = c.want[j].instance;

			if (c.res[j].target)
				continue;
			for (h = 0; h < c.n_hosts; h++) {
				bool group_there = false;

				if (c.hosts[h].maintenance)
					continue;
				for (i = 0; a->affinity_group && i < c.n_insts; i++)
					group_there |= c.insts[i].affinity_group &&
						!strcmp(c.insts[i].affinity_group, a->affinity_group) &&
						(c.insts[i].owner ? c.insts[i].owner :
						 where(&c.insts[i])) == c.hosts[h].nodeid;
				ck_assert(group_there ||
					  cpu[h] + a->vcpus >
					  (uint64_t)(c.hosts[h].vcpus * c.in.cpu_overcommit) ||
					  mem[h] + a->memory_mib > c.hosts[h].memory_mib);
			}
		}
		ck_assert_uint_gt(c.placed, 0);
		ck_assert_uint_lt(c.placed, c.n_want);
	}
}
END_TEST

START_TEST(test_huge_numbers)
{
	size_t i, w[6];

	/* the largest host and instances: 2^32-1 CPUs x 4 = 4 of the largest */
	c.in.cpu_overcommit = 4;
	host(1, UINT32_MAX, UINT64_MAX);
	for (i = 0; i < 5; i++)
		w[i] = want(inst(0, UINT32_MAX, 1));
	place_ok(4);
	ck_assert_uint_eq(c.res[w[4]].target, 0);
	ck_assert_str_eq(c.res[w[4]].reason, "needs 4294967295 vCPUs and 1 MiB: no eligible host "
			 "has room (node1: 0 vCPUs free)");
	/* the largest overcommit: (2^32-1) x 1024, exact: with 1023 of the
	 * largest running there is room for one more, and not a vCPU beyond */
	setup();
	c.in.cpu_overcommit = HM_PLACE_OVERCOMMIT_MAX;
	host(1, UINT32_MAX, UINT64_MAX);
	for (i = 0; i < 1023; i++)
		running(1, UINT32_MAX, 0);
	w[0] = want(inst(0, UINT32_MAX, 1));
	w[1] = want(inst(0, 1, 1));
	place_ok(1);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
	ck_assert_str_eq(c.res[w[1]].reason, "needs 1 vCPU and 1 MiB: no eligible host has room "
			 "(node1: 0 vCPUs free)");
	/* memory: all of it, once; a load over the host's size leaves 0, not a wrap */
	setup();
	host(1, 8, UINT64_MAX);
	w[0] = want(inst(0, 1, UINT64_MAX));
	w[1] = want(inst(0, 1, 1));
	place_ok(1);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
	ck_assert_str_eq(c.res[w[1]].reason, "needs 1 vCPU and 1 MiB: no eligible host has room "
			 "(node1: 0 MiB free)");
	setup();
	host(1, 8, UINT64_MAX - 1);
	running(1, 1, UINT64_MAX);
	running(1, 1, UINT64_MAX);
	running(1, UINT32_MAX, 1);
	w[0] = want(inst(0, 0, 0));
	w[1] = want(inst(0, 0, 1));
	place_ok(1);
	ck_assert_uint_eq(c.res[w[0]].target, 1);
	ck_assert_str_eq(c.res[w[1]].reason, "needs 0 vCPUs and 1 MiB: no eligible host has room "
			 "(node1: 0 MiB free)");
	/* fractions compared exactly where the cross products need 128 bits
	 * (and their carries): node2 would keep a hair more of its memory,
	 * node1 more MiB */
	static const uint64_t tight[][4] = {
		{ 604398159848978685ull, 299014817709005913ull,
		  121454333337834045ull, 60087286420686238ull },
		{ 3344630871563907486ull, 1271332861064484465ull,
		  1366864566982001421ull, 519561024029043348ull },
		{ 5082514932398356441ull, 570576685538020778ull,
		  545199280612002342ull, 61205525734189421ull },
	};
	for (i = 0; i < sizeof(tight) / sizeof(tight[0]); i++) {
		setup();
		host(1, 0, tight[i][0]);
		host(2, 0, tight[i][2]);
		running(1, 0, tight[i][0] - tight[i][1] - 1);
		running(2, 0, tight[i][2] - tight[i][3] - 1);
		w[0] = want(inst(0, 0, 1));
		place_ok(1);
		ck_assert_uint_eq(c.res[w[0]].target, 2);
	}
}
END_TEST

START_TEST(test_reason_bounded)
{
	char name[300];
	size_t i, w;

	/* many hosts with names of 255 characters, every one full */
	memset(name, 'x', 255);
	name[255] = '\0';
	for (i = 0; i < 40; i++) {
		host((uint32_t)i + 1, 1, 1024);
		snprintf(c.host_names[i], sizeof(c.host_names[i]), "%zu%.250s", i, name);
	}
	w = want(inst(0, UINT32_MAX, UINT64_MAX));
	c.insts[0].affinity_group = "a-group-name-of-sixty-four-characters-is-the-longest-allowed-x";
	place_ok(0);
	ck_assert_uint_lt(strlen(c.res[w].reason), HM_PLACE_REASON_MAX);
	ck_assert_str_eq(c.res[w].reason + strlen(c.res[w].reason) - strlen(", and 38 more)"),
			 ", and 38 more)");
	ck_assert_str_eq(c.res[w].reason, "needs 4294967295 vCPUs and 18446744073709551615 MiB: "
			 "no eligible host has room (0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 1 vCPU and "
			 "1024 MiB free, 1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 1 vCPU and 1024 MiB "
			 "free, and 38 more)");
	/* a target with a long name */
	c.in.target = 2;
	place_ok(0);
	ck_assert_str_eq(c.res[w].reason, "needs 4294967295 vCPUs and 18446744073709551615 MiB: "
			 "target 1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 1 vCPU and 1024 MiB free");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("placement");

	add_tcase_fixture(s, test_invalid_arguments, setup, teardown);
	add_tcase_fixture(s, test_empty, setup, teardown);
	add_tcase_fixture(s, test_capacity_cpu, setup, teardown);
	add_tcase_fixture(s, test_capacity_memory, setup, teardown);
	add_tcase_fixture(s, test_overcommit, setup, teardown);
	add_tcase_fixture(s, test_all_load_counted, setup, teardown);
	add_tcase_fixture(s, test_in_round_accounting, setup, teardown);
	add_tcase_fixture(s, test_spread_and_ties, setup, teardown);
	add_tcase_fixture(s, test_ineligible_hosts, setup, teardown);
	add_tcase_fixture(s, test_owner_and_exclude, setup, teardown);
	add_tcase_fixture(s, test_drain_shape, setup, teardown);
	add_tcase_fixture(s, test_anti_affinity_strict, setup, teardown);
	add_tcase_fixture(s, test_anti_affinity_soft, setup, teardown);
	add_tcase_fixture(s, test_priority, setup, teardown);
	add_tcase_fixture(s, test_reserved_hosts, setup, teardown);
	add_tcase_fixture(s, test_local_disk, setup, teardown);
	add_tcase_fixture(s, test_target, setup, teardown);
	add_tcase_fixture(s, test_capacity_appears, setup, teardown);
	add_tcase_fixture(s, test_determinism, setup, teardown);
	add_tcase_fixture(s, test_rules_hold, setup, teardown);
	add_tcase_fixture(s, test_huge_numbers, setup, teardown);
	add_tcase_fixture(s, test_reason_bounded, setup, teardown);
	return hm_check_run(s);
}
