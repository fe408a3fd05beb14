/* SPDX-License-Identifier: GPL-2.0-or-later */
#define HM_SUBSYS "corosync"
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "cs_service.h"
#include "log.h"

static void set_close(struct hm_cs_set *set)
{
	size_t i;

	/* reverse order: the last one opened is the first one closed */
	for (i = set->n; i-- > 0;) {
		struct hm_cs_service *s = set->services[i];

		if (s->fd >= 0)
			qb_loop_poll_del(set->loop, s->fd);
		s->fd = -1;
		s->finalize(s->ctx);
		s->up = false;
	}
}

static void retry_fire(void *data);

static void schedule_retry(struct hm_cs_set *set)
{
	if (set->stopping)
		return;
	if (qb_loop_timer_add(set->loop, QB_LOOP_MED, (uint64_t)set->retry_ms * QB_TIME_NS_IN_MSEC,
			      set, retry_fire, &set->retry_timer) != 0)
		hm_log_err("cannot arm the reconnect timer; corosync will not be retried");
}

/* close everything, report not quorate, and reconnect from a timer */
static void set_drop(struct hm_cs_set *set)
{
	set_close(set);
	set->connected = false;
	set->failures = 0;
	set->on_lost(set->data);
	schedule_retry(set);
}

static void set_lost(struct hm_cs_set *set, const struct hm_cs_service *why, int err)
{
	hm_log_warn("connection to corosync lost (%s: %s); not quorate until it is back",
		    why->name, strerror(-err));
	set_drop(set);
}

static int32_t service_dispatch(int32_t fd, int32_t revents, void *data)
{
	struct hm_cs_service *s = data;
	int rc;

	(void)fd;
	(void)revents;
	if (!s->up)
		return 0;
	rc = s->dispatch(s->ctx);
	if (rc < 0)
		set_lost(s->set, s, rc);
	return 0;
}

static int set_connect(struct hm_cs_set *set)
{
	struct hm_cs_service *s;
	size_t i;
	int rc;

	for (i = 0; i < set->n; i++) {
		s = set->services[i];
		s->set = set;
		s->fd = -1;
		rc = s->init(s->ctx, &s->fd);
		if (rc < 0)
			goto close_all;
		s->up = true;
		rc = qb_loop_poll_add(set->loop, QB_LOOP_HIGH, s->fd, POLLIN | POLLPRI, s,
				      service_dispatch);
		if (rc < 0)
			goto close_all;
	}
	return 0;

close_all:
	/* log the first failure of a series, then stay quiet until it works */
	if (set->failures++ == 0)
		hm_log_warn("cannot connect to corosync (%s: %s); retrying every %u ms",
			    s->name, strerror(-rc), set->retry_ms);
	set_close(set);
	return rc;
}

static void retry_fire(void *data)
{
	hm_cs_set_start(data);
}

void hm_cs_set_start(struct hm_cs_set *set)
{
	set->stopping = false;
	if (set->connected)
		return;
	if (set_connect(set) < 0) {
		schedule_retry(set);
		return;
	}
	hm_log_notice("connected to corosync");
	set->connected = true;
	set->failures = 0;
	set->on_up(set->data);
}

void hm_cs_set_restart(struct hm_cs_set *set, const char *why)
{
	if (!set->connected)
		return;
	hm_log_warn("reconnecting to corosync: %s", why);
	set_drop(set);
}

void hm_cs_set_stop(struct hm_cs_set *set)
{
	set->stopping = true;
	if (qb_loop_timer_is_running(set->loop, set->retry_timer))
		qb_loop_timer_del(set->loop, set->retry_timer);
	if (set->connected)
		set_close(set);
	set->connected = false;
}
