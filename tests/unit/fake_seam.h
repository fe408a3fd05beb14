/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake seam for unit tests: a virtual clock, timers fired by advancing
 * it, and a bus that collects what a node multicasts so the test can deliver
 * it, in one agreed order, to whichever members it chooses.
 */
#ifndef HM_FAKE_SEAM_H
#define HM_FAKE_SEAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seam.h"

#define FAKE_MAX_TIMERS 64
#define FAKE_MAX_MSGS 512
#define FAKE_MSG_MAX (64 * 1024)

struct fake_bus;

struct fake_msg {
	uint32_t sender;
	size_t len;
	uint8_t data[FAKE_MSG_MAX];
};

struct fake_bus {
	uint64_t now_ms;
	struct fake_msg msgs[FAKE_MAX_MSGS];
	size_t n_msgs;
	int log_count;
};

struct fake_timer {
	bool armed;
	uint64_t due;
	hm_timer_fn fn;
	void *data;
};

struct fake_node {
	struct hm_seam seam;
	struct fake_bus *bus;
	uint32_t nodeid;
	int send_errno;		/* next sends fail with -send_errno while > 0 */
	int send_failures;	/* how many sends still fail */
	struct fake_timer timers[FAKE_MAX_TIMERS];
	bool verbose;
};

void fake_bus_init(struct fake_bus *bus);
void fake_node_init(struct fake_node *node, struct fake_bus *bus, uint32_t nodeid);
/* advance the virtual clock and fire due timers of the given nodes */
void fake_advance(struct fake_node **nodes, size_t n, uint64_t ms);
/* pop the oldest queued message; false when the bus is empty */
bool fake_bus_pop(struct fake_bus *bus, struct fake_msg *ret_msg);

#endif
