/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_seam.h"

static uint64_t fake_now(void *ctx)
{
	struct fake_node *n = ctx;

	return n->bus->now_ms;
}

static int fake_timer_start(void *ctx, uint64_t after_ms, hm_timer_fn fn, void *data,
			    hm_timer_t *ret_timer)
{
	struct fake_node *n = ctx;
	size_t i;

	for (i = 0; i < FAKE_MAX_TIMERS; i++) {
		if (n->timers[i].armed)
			continue;
		n->timers[i] = (struct fake_timer){ true, n->bus->now_ms + after_ms, fn, data };
		*ret_timer = i + 1;
		return 0;
	}
	return -ENOMEM;
}

static void fake_timer_stop(void *ctx, hm_timer_t timer)
{
	struct fake_node *n = ctx;

	if (timer >= 1 && timer <= FAKE_MAX_TIMERS)
		n->timers[timer - 1].armed = false;
}

static int fake_send(void *ctx, const void *msg, size_t len)
{
	struct fake_node *n = ctx;
	struct fake_msg *m;

	if (n->send_failures > 0) {
		n->send_failures--;
		return -n->send_errno;
	}
	if (n->bus->n_msgs == FAKE_MAX_MSGS || len > FAKE_MSG_MAX)
		return -ENOBUFS;
	m = &n->bus->msgs[n->bus->n_msgs++];
	m->sender = n->nodeid;
	m->len = len;
	memcpy(m->data, msg, len);
	return 0;
}

static void fake_log(void *ctx, int prio, const char *fmt, va_list ap)
{
	struct fake_node *n = ctx;

	n->bus->log_count++;
	if (!n->verbose && !getenv("FAKE_SEAM_VERBOSE"))
		return;
	fprintf(stderr, "[t=%llu node %u prio %d] ", (unsigned long long)n->bus->now_ms,
		n->nodeid, prio);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fake_bus_init(struct fake_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	bus->now_ms = 1000;
}

void fake_node_init(struct fake_node *node, struct fake_bus *bus, uint32_t nodeid)
{
	memset(node, 0, sizeof(*node));
	node->bus = bus;
	node->nodeid = nodeid;
	node->seam = (struct hm_seam){
		.ctx = node,
		.now_ms = fake_now,
		.timer_start = fake_timer_start,
		.timer_stop = fake_timer_stop,
		.send = fake_send,
		.log = fake_log,
	};
}

void fake_advance(struct fake_node **nodes, size_t n, uint64_t ms)
{
	uint64_t end = nodes[0]->bus->now_ms + ms;
	size_t i, t;
	bool fired;

	do {
		fired = false;
		for (i = 0; i < n; i++) {
			for (t = 0; t < FAKE_MAX_TIMERS; t++) {
				struct fake_timer *tm = &nodes[i]->timers[t];

				if (!tm->armed || tm->due > end)
					continue;
				tm->armed = false;
				if (nodes[0]->bus->now_ms < tm->due)
					nodes[0]->bus->now_ms = tm->due;
				tm->fn(tm->data);
				fired = true;
			}
		}
	} while (fired);
	nodes[0]->bus->now_ms = end;
}

bool fake_bus_pop(struct fake_bus *bus, struct fake_msg *ret_msg)
{
	if (bus->n_msgs == 0)
		return false;
	*ret_msg = bus->msgs[0];
	memmove(&bus->msgs[0], &bus->msgs[1], (bus->n_msgs - 1) * sizeof(bus->msgs[0]));
	bus->n_msgs--;
	return true;
}
