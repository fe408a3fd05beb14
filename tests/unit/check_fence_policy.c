/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fence decisions (fencing/fence_policy.c): the storm guard, the no-fence
 * window, the per-host delay, the whole decision, level plans, protection,
 * attempt records.  Pure: every time is an argument.  Invalid input first;
 * tables of known answers, then properties checked over every case of a
 * small domain.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_common.h"
#include "fence_policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* the storm guard */

START_TEST(test_storm_invalid)
{
	const uint32_t incident[] = { 2, 0 };
	char why[HM_FENCE_WHY_MAX];

	ck_assert_int_eq(hm_fence_storm_check(0, NULL, 0, 1, 0.5, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, NULL, 0, 0, 0.5, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, NULL, 1, 1, 0.5, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, incident, 2, 1, 0.5, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, NULL, 0, 1, -0.1, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, NULL, 0, 1, 1.01, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, NULL, 0, 1, NAN, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(hm_fence_storm_check(3, NULL, 0, 1, INFINITY, why, sizeof(why)), -EINVAL);
	/* more hosts counted than configured: the caller's numbers are wrong */
	ck_assert_int_eq(hm_fence_storm_check(1, incident, 1, 1, 1.0, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(test_storm_table)
{
	static const struct {
		unsigned configured;
		unsigned k;		/* hosts in the incident, candidate included */
		double fraction;
		int want;
	} cases[] = {
		{ 3, 1, 0.5, HM_FENCE_NOW },
		{ 3, 2, 0.5, HM_FENCE_REFUSED },	/* 0.67 > 0.5 */
		{ 4, 2, 0.5, HM_FENCE_NOW },		/* 0.5 is not > 0.5 */
		{ 4, 3, 0.5, HM_FENCE_REFUSED },
		{ 5, 2, 0.5, HM_FENCE_NOW },
		{ 5, 3, 0.5, HM_FENCE_REFUSED },
		{ 100, 50, 0.5, HM_FENCE_NOW },
		{ 100, 51, 0.5, HM_FENCE_REFUSED },
		{ 10, 3, 0.3, HM_FENCE_NOW },		/* 3/10 == 0.3 */
		{ 10, 4, 0.3, HM_FENCE_REFUSED },
		{ 3, 1, 0.3333, HM_FENCE_REFUSED },	/* 0.33333.. > 0.3333 */
		{ 3, 1, 0.0, HM_FENCE_REFUSED },	/* 0: no fencing from 3 nodes on */
		{ 3, 3, 1.0, HM_FENCE_NOW },		/* 1: never refused */
		{ 2, 1, 0.5, HM_FENCE_NOW },		/* 2 nodes: the guard does not apply */
		{ 2, 2, 0.0, HM_FENCE_NOW },
		{ 1, 1, 0.0, HM_FENCE_NOW },
	};
	uint32_t incident[128];
	char why[HM_FENCE_WHY_MAX];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		/* the candidate is host 1; the others 2..k */
		for (j = 0; j + 1 < cases[i].k; j++)
			incident[j] = (uint32_t)j + 2;
		ck_assert_msg(hm_fence_storm_check(cases[i].configured, incident, cases[i].k - 1, 1,
						   cases[i].fraction, why, sizeof(why)) ==
			      cases[i].want, "%u of %u, %g", cases[i].k, cases[i].configured,
			      cases[i].fraction);
		/* the candidate in the list too, and duplicates: counted once */
		incident[cases[i].k - 1] = 1;
		incident[cases[i].k] = 2;
		ck_assert_msg(hm_fence_storm_check(cases[i].configured, incident,
						   cases[i].k + (cases[i].k > 1), 1,
						   cases[i].fraction, why, sizeof(why)) ==
			      cases[i].want, "with duplicates: %u of %u", cases[i].k,
			      cases[i].configured);
	}
}
END_TEST

START_TEST(test_storm_messages)
{
	const uint32_t incident[] = { 2, 3 };
	char why[HM_FENCE_WHY_MAX];

	ck_assert_int_eq(hm_fence_storm_check(3, incident, 1, 3, 0.5, why, sizeof(why)),
			 HM_FENCE_REFUSED);
	ck_assert_str_eq(why, "node 3: 2 of 3 configured hosts are lost in this incident, "
			 "0.67 > max_fence_fraction 0.50: fencing none (a network fault?)");
	ck_assert_int_eq(hm_fence_storm_check(4, incident, 1, 3, 0.5, why, sizeof(why)),
			 HM_FENCE_NOW);
	ck_assert_str_eq(why, "node 3: 2 of 4 configured hosts are lost in this incident, "
			 "0.50 <= max_fence_fraction 0.50");
	ck_assert_int_eq(hm_fence_storm_check(2, NULL, 0, 2, 0.5, why, sizeof(why)), HM_FENCE_NOW);
	ck_assert_str_eq(why, "node 2: the storm guard does not apply to a 2-node cluster");
	ck_assert_int_eq(hm_fence_storm_check(3, incident, 2, 3, 0.5, NULL, 0), HM_FENCE_REFUSED);
}
END_TEST

/* every host of one incident gets the same answer (all or none), and a
 * bigger incident is never allowed where a smaller one was refused */
START_TEST(test_storm_properties)
{
	static const double fractions[] = { 0.0, 0.2, 0.25, 1.0 / 3, 0.4, 0.5, 0.6, 2.0 / 3, 0.75,
					    0.9, 1.0 };
	uint32_t incident[8];
	unsigned configured, mask, f, h, k;
	int first, rc, prev;

	for (configured = 1; configured <= 8; configured++)
		for (f = 0; f < ARRAY_SIZE(fractions); f++) {
			prev = HM_FENCE_NOW;
			/* incidents 1, 1-2, 1-2-3, ...: refusal is monotonic */
			for (k = 1; k <= configured; k++) {
				for (h = 0; h < k; h++)
					incident[h] = h + 1;
				rc = hm_fence_storm_check(configured, incident, k, 1, fractions[f],
							  NULL, 0);
				ck_assert(rc == HM_FENCE_NOW || rc == HM_FENCE_REFUSED);
				ck_assert_msg(!(prev == HM_FENCE_REFUSED && rc == HM_FENCE_NOW),
					      "%u nodes %g: %u allowed after a refusal", configured,
					      fractions[f], k);
				if (configured < 3)
					ck_assert_int_eq(rc, HM_FENCE_NOW);
				prev = rc;
			}
			/* every subset: one answer for all its members */
			for (mask = 1; mask < (1u << configured); mask++) {
				k = 0;
				for (h = 0; h < configured; h++)
					if (mask & (1u << h))
						incident[k++] = h + 1;
				first = -1;
				for (h = 0; h < k; h++) {
					rc = hm_fence_storm_check(configured, incident, k, incident[h],
								  fractions[f], NULL, 0);
					if (first < 0)
						first = rc;
					ck_assert_int_eq(rc, first);
				}
			}
		}
}
END_TEST

/* ------------------------------------------------------------------ */
/* the no-fence window */

START_TEST(test_window)
{
	static const struct {
		int64_t start, len, now;
		int want;
		int64_t until;
	} cases[] = {
		{ -1, 120000, 5000, HM_FENCE_NOW, 0 },		/* no window recorded */
		{ 1000, 0, 1000, HM_FENCE_NOW, 0 },		/* a window of 0 */
		{ 1000, 120000, 1000, HM_FENCE_WAIT, 121000 },
		{ 1000, 120000, 120999, HM_FENCE_WAIT, 121000 },
		{ 1000, 120000, 121000, HM_FENCE_NOW, 0 },	/* ends at start + length */
		{ 1000, 120000, 500000, HM_FENCE_NOW, 0 },
		{ 1000, 120000, 500, HM_FENCE_WAIT, 121000 },	/* a clock behind the start */
		{ 0, 1, 0, HM_FENCE_WAIT, 1 },
		{ INT64_MAX - 10, 120000, INT64_MAX - 5, HM_FENCE_WAIT, INT64_MAX },
	};
	int64_t until = 7;
	size_t i;

	ck_assert_int_eq(hm_fence_window_check(0, -1, 0, &until), -EINVAL);
	ck_assert_int_eq(hm_fence_window_check(0, 10, 0, NULL), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		until = 7;
		ck_assert_msg(hm_fence_window_check(cases[i].start, cases[i].len, cases[i].now,
						    &until) == cases[i].want, "case %zu", i);
		ck_assert_msg(until == cases[i].until, "case %zu: until %lld", i, (long long)until);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* the per-host delay */

START_TEST(test_host_delay)
{
	/* 2 nodes: fencing the lower id waits the race delay too */
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 1, 2, 0, 5000), 5000);
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 2, 1, 0, 5000), 0);
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 1, 2, 3000, 5000), 8000);
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 2, 1, 3000, 5000), 3000);
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 7, 9, 0, 0), 0);
	/* any other size: the generic delay only */
	ck_assert_int_eq(hm_fence_host_delay_ms(3, 1, 2, 3000, 5000), 3000);
	ck_assert_int_eq(hm_fence_host_delay_ms(1, 1, 2, 3000, 5000), 3000);
	ck_assert_int_eq(hm_fence_host_delay_ms(16, 1, 2, 0, 5000), 0);
	/* negatives count as 0, sums saturate */
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 1, 2, -5, -5), 0);
	ck_assert_int_eq(hm_fence_host_delay_ms(2, 1, 2, INT64_MAX, 5), INT64_MAX);
}
END_TEST

/* the two sides of a 2-node split never fence at the same moment unless
 * there is no race delay */
START_TEST(test_host_delay_two_sides)
{
	uint32_t a, b;
	int64_t da, db;

	for (a = 1; a <= 5; a++)
		for (b = 1; b <= 5; b++) {
			if (a == b)
				continue;
			da = hm_fence_host_delay_ms(2, b, a, 1000, 5000);	/* a fences b */
			db = hm_fence_host_delay_ms(2, a, b, 1000, 5000);	/* b fences a */
			ck_assert_int_eq(da > db ? da - db : db - da, 5000);
			/* the lower id is the one fenced later: it survives */
			ck_assert((a < b) == (db > da));
		}
}
END_TEST

/* ------------------------------------------------------------------ */
/* the whole decision */

static struct hm_fence_situation situation(void)
{
	static const uint32_t none[1];
	struct hm_fence_situation s = {
		.coordinator = true,
		.quorate = true,
		.self = 1,
		.target = 3,
		.configured_nodes = 5,
		.incident = none,
		.n_incident = 0,
		.max_fraction = 0.5,
		.window_start_ms = -1,
		.window_ms = 120000,
		.lost_ms = 10000,
		.delay_ms = 0,
		.race_delay_ms = 5000,
		.now_ms = 10000,
	};

	return s;
}

START_TEST(test_decide_invalid)
{
	struct hm_fence_situation s;
	struct hm_fence_decision d;

	ck_assert_int_eq(hm_fence_decide(NULL, &d), -EINVAL);
	s = situation();
	ck_assert_int_eq(hm_fence_decide(&s, NULL), -EINVAL);
	s.target = 0;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.self = 0;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.target = s.self;	/* a node never fences itself */
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.window_ms = -1;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.delay_ms = -1;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.race_delay_ms = -1;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.configured_nodes = 0;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
	s = situation();
	s.max_fraction = 2;
	ck_assert_int_eq(hm_fence_decide(&s, &d), -EINVAL);
}
END_TEST

START_TEST(test_decide)
{
	static const uint32_t two_lost[] = { 3, 4 }, three_lost[] = { 2, 3, 4 };
	struct hm_fence_situation s;
	struct hm_fence_decision d;

	s = situation();
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_NOW);

	/* only the coordinator, only with quorum; checked first */
	s = situation();
	s.coordinator = false;
	s.quorate = false;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_NOT_COORDINATOR);
	ck_assert_str_eq(d.why, "node 3: only the coordinator fences");
	s.coordinator = true;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_NO_QUORUM);
	ck_assert_str_eq(d.why, "node 3: no fencing without quorum");

	/* the storm guard before the window: refused, not queued */
	s = situation();
	s.incident = three_lost;
	s.n_incident = 3;
	s.window_start_ms = 9000;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_REFUSED);
	ck_assert_str_eq(d.why, "node 3: 3 of 5 configured hosts are lost in this incident, "
			 "0.60 > max_fence_fraction 0.50: fencing none (a network fault?)");
	s.incident = two_lost;
	s.n_incident = 2;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_WAIT);	/* 2 of 5 is fine, the window is not */
	ck_assert_int_eq(d.until_ms, 129000);
	ck_assert_str_eq(d.why, "node 3: queued until the no-fence window ends (119000 ms from now)");

	/* the later of the window's end and the delay */
	s = situation();
	s.window_start_ms = 0;
	s.window_ms = 12000;
	s.delay_ms = 5000;		/* ready at 15000, the window ends at 12000 */
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_WAIT);
	ck_assert_int_eq(d.until_ms, 15000);
	ck_assert_str_eq(d.why, "node 3: fence delay of 5000 ms after its loss (5000 ms from now)");
	s.now_ms = 14999;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_WAIT);
	ck_assert_int_eq(d.until_ms, 15000);
	s.now_ms = 15000;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_NOW);

	/* 2 nodes: the race delay when the target has the lower id */
	s = situation();
	s.configured_nodes = 2;
	s.self = 2;
	s.target = 1;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_WAIT);
	ck_assert_int_eq(d.until_ms, 15000);
	ck_assert_str_eq(d.why, "node 1: fence delay of 5000 ms after its loss, the 2-node race "
			 "delay included (5000 ms from now)");
	s.self = 1;
	s.target = 2;
	ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
	ck_assert_int_eq(d.verdict, HM_FENCE_NOW);
	ck_assert_str_eq(hm_fence_verdict_to_str(d.verdict), "now");
	ck_assert_str_eq(hm_fence_verdict_to_str(HM_FENCE_NO_QUORUM), "no-quorum");
	ck_assert_str_eq(hm_fence_verdict_to_str((enum hm_fence_verdict)77), "invalid");
}
END_TEST

/* over a grid of times: WAIT always names a time in the future, and NOW
 * comes exactly when that time is reached */
START_TEST(test_decide_wait_is_exact)
{
	static const int64_t windows[] = { 0, 1000, 5000 }, delays[] = { 0, 2000, 7000 };
	struct hm_fence_situation s;
	struct hm_fence_decision d;
	size_t w, dl;
	int64_t now, first_now;

	for (w = 0; w < ARRAY_SIZE(windows); w++)
		for (dl = 0; dl < ARRAY_SIZE(delays); dl++) {
			s = situation();
			s.window_start_ms = 2000;
			s.window_ms = windows[w];
			s.lost_ms = 1000;
			s.delay_ms = delays[dl];
			first_now = -1;
			for (now = 0; now <= 12000; now += 250) {
				s.now_ms = now;
				ck_assert_int_eq(hm_fence_decide(&s, &d), 0);
				if (d.verdict == HM_FENCE_WAIT) {
					ck_assert_int_gt(d.until_ms, now);
					ck_assert_int_lt(first_now, 0);	/* never WAIT after NOW */
				} else {
					ck_assert_int_eq(d.verdict, HM_FENCE_NOW);
					if (first_now < 0)
						first_now = now;
				}
			}
			/* the first NOW: max(window end, loss + delay), on the grid */
			{
				int64_t end = windows[w] ? 2000 + windows[w] : 0;
				int64_t ready = 1000 + delays[dl];
				int64_t want = end > ready ? end : ready;

				ck_assert_int_eq(first_now, (want + 249) / 250 * 250);
			}
		}
}
END_TEST

/* ------------------------------------------------------------------ */
/* levels */

#define DEV(i, h, l) { .id = (i), .host = (h), .level = (l), .agent = "fence_x", .params = "{}" }

START_TEST(test_plan_invalid)
{
	const struct hm_fence_device ok[] = { DEV(1, 5, 1), DEV(2, 6, 1) };
	const struct hm_fence_device id0[] = { DEV(0, 5, 1) };
	const struct hm_fence_device level0[] = { DEV(1, 5, 0) };
	const struct hm_fence_device host0[] = { DEV(1, 0, 1) };
	const struct hm_fence_device dup[] = { DEV(1, 5, 1), DEV(1, 5, 2) };
	struct hm_fence_device many[HM_FENCE_LEVEL_DEVICES_MAX + 1];
	const struct hm_fence_device_result other_host[] = { { 2, HM_FENCE_DEVICE_OK } };
	const struct hm_fence_device_result unknown[] = { { 9, HM_FENCE_DEVICE_OK } };
	const struct hm_fence_device_result bad_outcome[] = { { 1, (enum hm_fence_device_outcome)7 } };
	struct hm_fence_plan plan;
	size_t i;

	ck_assert_int_eq(hm_fence_plan(5, ok, 2, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(0, ok, 2, NULL, 0, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, NULL, 2, NULL, 0, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, id0, 1, NULL, 0, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, level0, 1, NULL, 0, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, host0, 1, NULL, 0, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, dup, 2, NULL, 0, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, ok, 2, NULL, 1, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, ok, 2, other_host, 1, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, ok, 2, unknown, 1, &plan), -EINVAL);
	ck_assert_int_eq(hm_fence_plan(5, ok, 2, bad_outcome, 1, &plan), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(many); i++) {
		many[i] = (struct hm_fence_device)DEV(0, 5, 1);
		many[i].id = (uint32_t)i + 1;
	}
	ck_assert_int_eq(hm_fence_plan(5, many, ARRAY_SIZE(many) - 1, NULL, 0, &plan), 0);
	ck_assert_int_eq(hm_fence_plan(5, many, ARRAY_SIZE(many), NULL, 0, &plan), -EINVAL);
	many[0].level = 2;	/* 16 in level 1, 1 in level 2: fine */
	ck_assert_int_eq(hm_fence_plan(5, many, ARRAY_SIZE(many), NULL, 0, &plan), 0);
}
END_TEST

START_TEST(test_plan_unprotected)
{
	const struct hm_fence_device others[] = { DEV(1, 6, 1), DEV(2, 7, 1) };
	struct hm_fence_plan plan;

	ck_assert_int_eq(hm_fence_plan(5, NULL, 0, NULL, 0, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_UNPROTECTED);
	ck_assert_uint_eq(plan.levels, 0);
	ck_assert_int_eq(hm_fence_plan(5, others, 2, NULL, 0, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_UNPROTECTED);
	ck_assert_str_eq(hm_fence_plan_kind_to_str(plan.kind), "unprotected");
	ck_assert_str_eq(hm_fence_plan_kind_to_str((enum hm_fence_plan_kind)9), "invalid");
}
END_TEST

/* a walk through two levels: level 1 = devices 3 and 1 (given out of
 * order), level 2 = device 2; another host's device 9 is ignored */
START_TEST(test_plan_walk)
{
	const struct hm_fence_device devs[] = { DEV(3, 5, 1), DEV(9, 6, 1), DEV(2, 5, 2),
						 DEV(1, 5, 1) };
	struct hm_fence_device_result r[4];
	struct hm_fence_plan plan;

	ck_assert_int_eq(hm_fence_plan(5, devs, 4, NULL, 0, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_RUN);
	ck_assert_uint_eq(plan.level, 1);
	ck_assert_uint_eq(plan.next, 1);
	ck_assert_uint_eq(plan.n_devices, 2);
	ck_assert_uint_eq(plan.devices[0], 1);
	ck_assert_uint_eq(plan.devices[1], 3);
	ck_assert_uint_eq(plan.levels, 2);

	/* 1 proved off: 3 next, same level */
	r[0] = (struct hm_fence_device_result){ 1, HM_FENCE_DEVICE_OK };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 1, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_RUN);
	ck_assert_uint_eq(plan.level, 1);
	ck_assert_uint_eq(plan.next, 3);

	/* 1 and 3 proved off: the level proves it */
	r[1] = (struct hm_fence_device_result){ 3, HM_FENCE_DEVICE_OK };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 2, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_PROVEN_OFF);
	ck_assert_uint_eq(plan.level, 1);
	ck_assert_uint_eq(plan.n_devices, 2);

	/* 3 failed: level 1 failed although 1 succeeded, level 2 next */
	r[1] = (struct hm_fence_device_result){ 3, HM_FENCE_DEVICE_FAILED };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 2, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_RUN);
	ck_assert_uint_eq(plan.level, 2);
	ck_assert_uint_eq(plan.next, 2);
	ck_assert_uint_eq(plan.n_devices, 1);

	/* 1 failed first: 3 is never run, level 2 next */
	r[0] = (struct hm_fence_device_result){ 1, HM_FENCE_DEVICE_FAILED };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 1, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_RUN);
	ck_assert_uint_eq(plan.next, 2);

	r[1] = (struct hm_fence_device_result){ 2, HM_FENCE_DEVICE_OK };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 2, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_PROVEN_OFF);
	ck_assert_uint_eq(plan.level, 2);
	ck_assert_uint_eq(plan.devices[0], 2);

	r[1] = (struct hm_fence_device_result){ 2, HM_FENCE_DEVICE_FAILED };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 2, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_EXHAUSTED);
	ck_assert_uint_eq(plan.level, 0);
	ck_assert_uint_eq(plan.n_devices, 0);

	/* a device's last result counts: 1 failed, then (a later run) off */
	r[0] = (struct hm_fence_device_result){ 1, HM_FENCE_DEVICE_FAILED };
	r[1] = (struct hm_fence_device_result){ 1, HM_FENCE_DEVICE_OK };
	ck_assert_int_eq(hm_fence_plan(5, devs, 4, r, 2, &plan), 0);
	ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_RUN);
	ck_assert_uint_eq(plan.next, 3);
}
END_TEST

/*
 * Every success/failure pattern over three levels of 2, 1 and 2 devices,
 * with level numbers that are not consecutive: drive the plan like the
 * fencer does and check it against the rule stated plainly: devices run in
 * (level, id) order, a level stops at its first failure, the outcome is
 * the first level whose devices all succeed, else exhausted.
 */
START_TEST(test_plan_every_pattern)
{
	const struct hm_fence_device devs[] = { DEV(12, 5, 10), DEV(4, 5, 3), DEV(11, 5, 10),
						 DEV(7, 5, 3), DEV(5, 5, 4) };
	/* (level, id) order: 4, 7 (level 3), 5 (level 4), 11, 12 (level 10) */
	const uint32_t order[] = { 4, 7, 5, 11, 12 };
	const uint32_t level_of[] = { 3, 3, 4, 10, 10 };
	unsigned pattern;

	for (pattern = 0; pattern < 32; pattern++) {
		struct hm_fence_device_result r[5];
		struct hm_fence_plan plan;
		uint32_t ran[5], want_ran[5], want_level = 0;
		size_t n = 0, n_want = 0, i, j;
		bool ok = false;

		/* the rule, plainly */
		for (i = 0; i < 5 && !ok; i = j) {
			bool level_ok = true;

			for (j = i; j < 5 && level_of[j] == level_of[i]; j++) {
				if (!level_ok)
					continue;
				want_ran[n_want++] = order[j];
				if (!(pattern & (1u << j)))
					level_ok = false;
			}
			if (level_ok) {
				ok = true;
				want_level = level_of[i];
			}
		}
		/* the plan, driven */
		for (;;) {
			ck_assert_int_eq(hm_fence_plan(5, devs, 5, r, n, &plan), 0);
			if (plan.kind != HM_FENCE_PLAN_RUN)
				break;
			ck_assert_uint_lt(n, 5);
			for (i = 0; i < 5 && order[i] != plan.next; i++)
				;
			ck_assert_uint_lt(i, 5);
			ck_assert_uint_eq(plan.level, level_of[i]);
			ran[n] = plan.next;
			r[n].device = plan.next;
			r[n].outcome = (pattern & (1u << i)) ? HM_FENCE_DEVICE_OK
							     : HM_FENCE_DEVICE_FAILED;
			n++;
		}
		ck_assert_uint_eq(n, n_want);
		for (i = 0; i < n; i++)
			ck_assert_uint_eq(ran[i], want_ran[i]);
		if (ok) {
			ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_PROVEN_OFF);
			ck_assert_uint_eq(plan.level, want_level);
		} else {
			ck_assert_int_eq(plan.kind, HM_FENCE_PLAN_EXHAUSTED);
		}
		ck_assert_uint_eq(plan.levels, 3);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* protection */

START_TEST(test_protection)
{
	const struct hm_fence_device devs[] = { DEV(1, 5, 1), DEV(2, 5, 1), DEV(3, 5, 2) };
	const struct hm_fence_device_result all_ok[] = {
		{ 1, HM_FENCE_DEVICE_OK }, { 2, HM_FENCE_DEVICE_OK }, { 3, HM_FENCE_DEVICE_OK } };
	const struct hm_fence_device_result l1_half[] = {
		{ 1, HM_FENCE_DEVICE_OK }, { 2, HM_FENCE_DEVICE_FAILED }, { 3, HM_FENCE_DEVICE_OK } };
	const struct hm_fence_device_result l2_bad[] = {
		{ 1, HM_FENCE_DEVICE_OK }, { 2, HM_FENCE_DEVICE_OK }, { 3, HM_FENCE_DEVICE_FAILED } };
	const struct hm_fence_device_result all_bad[] = {
		{ 1, HM_FENCE_DEVICE_OK }, { 2, HM_FENCE_DEVICE_FAILED }, { 3, HM_FENCE_DEVICE_FAILED } };
	const struct hm_fence_device_result recovered[] = {
		{ 3, HM_FENCE_DEVICE_FAILED }, { 3, HM_FENCE_DEVICE_OK } };
	const struct hm_fence_device_result stranger[] = { { 8, HM_FENCE_DEVICE_OK } };

	ck_assert_int_eq(hm_fence_protection(0, devs, 3, NULL, 0), -EINVAL);
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, stranger, 1), -EINVAL);
	ck_assert_int_eq(hm_fence_protection(5, NULL, 0, NULL, 0), HM_FENCE_UNPROTECTED);
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, all_ok, 3), HM_FENCE_PROTECTED);
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, l1_half, 3), HM_FENCE_DEGRADED);
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, l2_bad, 3), HM_FENCE_DEGRADED);
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, all_bad, 3), HM_FENCE_UNPROTECTED);
	/* no monitor yet: failing */
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, NULL, 0), HM_FENCE_UNPROTECTED);
	/* the last monitor counts */
	ck_assert_int_eq(hm_fence_protection(5, devs, 3, recovered, 2), HM_FENCE_DEGRADED);
	ck_assert_str_eq(hm_fence_protection_to_str(HM_FENCE_UNPROTECTED), "unprotected");
	ck_assert_str_eq(hm_fence_protection_to_str((enum hm_fence_protection)5), "invalid");
}
END_TEST

/* ------------------------------------------------------------------ */
/* records */

START_TEST(test_attempt_format)
{
	struct hm_fence_attempt a = {
		.host = 2, .device = 3, .level = 1, .agent = "fence_ipmilan", .action = "off",
		.start_ms = 1000, .end_ms = 9210, .exit_status = 1, .status = "done", .tries = 2,
		.reason = "Failed: Unable to obtain correct plug status or plug is not available",
	};
	char buf[512], small[20];

	ck_assert_int_eq(hm_fence_attempt_format(NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(hm_fence_attempt_format(&a, NULL, 10), -EINVAL);
	ck_assert_int_eq(hm_fence_attempt_format(&a, buf, 0), -EINVAL);
	ck_assert_int_eq(hm_fence_attempt_format(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "node 2: device 3 (fence_ipmilan, level 1) off: exit 1, 2 tries, "
			 "8210 ms, not proof: Failed: Unable to obtain correct plug status or plug "
			 "is not available");
	a.exit_status = 0;
	a.tries = 1;
	a.proof = true;
	a.reason[0] = '\0';
	ck_assert_int_eq(hm_fence_attempt_format(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "node 2: device 3 (fence_ipmilan, level 1) off: exit 0, 1 try, "
			 "8210 ms, proof of off");
	a.exit_status = -1;
	a.proof = false;
	snprintf(a.status, sizeof(a.status), "timeout");
	snprintf(a.reason, sizeof(a.reason), "timed out after 60000 ms");
	a.device = 0;
	snprintf(a.agent, sizeof(a.agent), "stonith_admin");
	ck_assert_int_eq(hm_fence_attempt_format(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "node 2: stonith_admin off: timeout, 1 try, 8210 ms, not proof: "
			 "timed out after 60000 ms");
	ck_assert_int_eq(hm_fence_attempt_format(&a, small, sizeof(small)), 0);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

static Suite *fence_policy_suite(void)
{
	Suite *s = suite_create("fence_policy");

	add_tcase(s, test_storm_invalid);
	add_tcase(s, test_storm_table);
	add_tcase(s, test_storm_messages);
	add_tcase(s, test_storm_properties);
	add_tcase(s, test_window);
	add_tcase(s, test_host_delay);
	add_tcase(s, test_host_delay_two_sides);
	add_tcase(s, test_decide_invalid);
	add_tcase(s, test_decide);
	add_tcase(s, test_decide_wait_is_exact);
	add_tcase(s, test_plan_invalid);
	add_tcase(s, test_plan_unprotected);
	add_tcase(s, test_plan_walk);
	add_tcase(s, test_plan_every_pattern);
	add_tcase(s, test_protection);
	add_tcase(s, test_attempt_format);
	return s;
}

int main(void)
{
	return hm_check_run(fence_policy_suite());
}
