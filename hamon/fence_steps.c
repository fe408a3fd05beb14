/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fence step, run here: the host's devices from the store, level by
 * level through fencing/fencer.c (or Pacemaker's fencer when the cluster
 * policy says fence_backend = pacemaker), every attempt written to history,
 * the outcome reported to the job.  `off` is idempotent ("Already OFF" is
 * proof), so a fence run again after a crash looks and acts at once.
 */
#define HM_SUBSYS "fence"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fencer.h"
#include "jobs.h"
#include "log.h"
#include "pcmk.h"
#include "cluster_policy.h"

struct fence_run {
	struct hm_daemon *d;
	uint64_t job;
	uint32_t seq;
	uint32_t host;
	char name[256];
	qb_loop_timer_handle timer;
	char result[HM_FENCER_REASON_MAX];
	enum hm_step_state state;
	struct hm_fencer *fencer;	/* running: the levels */
	struct hm_pcmk_op *pcmk;	/* running: Pacemaker's fencer */
	int64_t since_ms;		/* an off Pacemaker recorded since then proves */
	unsigned timeout_s;
};

struct devices {
	struct hm_fence_device *v;
	char (*agent)[HM_FENCE_AGENT_MAX + 1];
	char **params;
	size_t n, cap;
	int rc;
};

static int collect_device(const struct hm_fence_device *row, void *data)
{
	struct devices *l = data;
	void *p, *q, *r;
	size_t i;

	if (l->v[0].host && row->host != l->v[0].host)	/* v[0].host: the host asked for, 0 = all */
		return 0;
	if (l->n + 1 == l->cap) {
		size_t cap = l->cap * 2;

		p = realloc(l->v, cap * sizeof(*l->v));
		if (p)
			l->v = p;
		q = realloc(l->agent, cap * sizeof(*l->agent));
		if (q)
			l->agent = q;
		r = realloc(l->params, cap * sizeof(*l->params));
		if (r)
			l->params = r;
		if (!p || !q || !r) {
			l->rc = -ENOMEM;
			return 1;
		}
		l->cap = cap;
		for (i = 1; i <= l->n; i++)
			l->v[i].agent = l->agent[i];
	}
	i = ++l->n;
	l->v[i] = *row;
	snprintf(l->agent[i], sizeof(l->agent[0]), "%s", row->agent);
	l->v[i].agent = l->agent[i];
	l->params[i] = strdup(row->params);
	l->v[i].params = l->params[i];
	if (!l->params[i]) {
		l->rc = -ENOMEM;
		return 1;
	}
	return 0;
}

static void devices_free(struct devices *l)
{
	size_t i;

	for (i = 1; i <= l->n; i++)
		free(l->params[i]);
	free(l->params);
	free(l->agent);
	free(l->v);
}

/* only the device id stays in the list (none if it is not there) */
static void devices_keep_one(struct devices *l, uint32_t id)
{
	size_t i, keep = 0;

	for (i = 1; i <= l->n; i++) {
		if (l->v[i].id == id && !keep) {
			keep = i;
			continue;
		}
		free(l->params[i]);
	}
	if (keep) {
		l->v[1] = l->v[keep];
		l->params[1] = l->params[keep];
	}
	l->n = keep ? 1 : 0;
}

/* the devices of host (0: every host), in v[1..n] (v[0] holds the host asked for) */
static int devices_of(struct hm_store *s, uint32_t host, struct devices *l)
{
	int rc;

	l->cap = 8;
	l->v = calloc(l->cap, sizeof(*l->v));
	l->agent = calloc(l->cap, sizeof(*l->agent));
	l->params = calloc(l->cap, sizeof(*l->params));
	if (!l->v || !l->agent || !l->params)
		return -ENOMEM;
	l->v[0].host = host;
	rc = hm_store_fence_device_list(s, collect_device, l);
	return rc < 0 ? rc : l->rc;
}

static void history(struct fence_run *r, const char *kind, const char *msg)
{
	hm_jobs_record(r->d->jobs, r->job, kind, r->host, NULL, msg);
}

static void on_attempt(const struct hm_fence_attempt *a, void *data)
{
	struct fence_run *r = data;
	char line[512];

	hm_fence_attempt_format(a, line, sizeof(line));
	hm_log(a->proof ? LOG_NOTICE : LOG_WARNING, "fence of %s: %s", r->name, line);
	history(r, "fence.attempt", line);
}

static void finish(struct fence_run *r)
{
	hm_jobs_step_finished(r->d->jobs, r->job, r->seq, r->state, r->result);
	free(r);
}

static void fenced(const struct hm_fencer_result *res, void *data)
{
	struct fence_run *r = data;

	switch (res->outcome) {
	case HM_FENCER_PROVEN_OFF:
		r->state = HM_STEP_DONE;
		snprintf(r->result, sizeof(r->result), "off: proven by device %u (level %u) in %lld ms",
			 res->device, res->level, (long long)(res->end_ms - res->start_ms));
		hm_log_notice("%s is fenced: %s", r->name, r->result);
		history(r, "host.fenced", r->result);
		break;
	case HM_FENCER_EXHAUSTED:
		r->state = HM_STEP_FAILED;
		snprintf(r->result, sizeof(r->result), "every level failed: %.900s", res->reason);
		hm_log_crit("fencing %s failed on every level: %s; nothing of it is rebuilt until "
			    "`hamonctl fence confirm %s`", r->name, res->reason, r->name);
		history(r, "fence.failed", r->result);
		break;
	case HM_FENCER_CANCELLED:
		r->state = HM_STEP_UNKNOWN;
		snprintf(r->result, sizeof(r->result), "cancelled");
		break;
	}
	finish(r);
}

static void pcmk_fenced(enum hm_pcmk_outcome outcome, const struct hm_fence_attempt *a,
			void *data)
{
	struct fence_run *r = data;
	char line[512];

	hm_fence_attempt_format(a, line, sizeof(line));
	history(r, "fence.attempt", line);
	r->state = outcome == HM_PCMK_PROVEN_OFF ? HM_STEP_DONE :
		   outcome == HM_PCMK_FAILED ? HM_STEP_FAILED : HM_STEP_UNKNOWN;
	snprintf(r->result, sizeof(r->result), "pacemaker: %s", line);
	if (r->state == HM_STEP_DONE)
		history(r, "host.fenced", r->result);
	else
		hm_log_crit("fencing %s through Pacemaker: %s", r->name, line);
	finish(r);
}

/*
 * Look first: Pacemaker may have fenced the host already (on its own, or
 * for a step whose outcome we lost when hamond restarted): an off it
 * recorded since the job was made is the proof, and the host is not
 * fenced a second time.
 */
static void pcmk_history_looked(int rc, const struct hm_pcmk_event *ev, size_t n,
				const char *reason, void *data)
{
	struct fence_run *r = data;
	int64_t when = 0;
	char msg[HM_FENCER_REASON_MAX];

	r->pcmk = NULL;
	if (rc == 0 && hm_pcmk_history_proof(ev, n, r->name, r->since_ms, &when)) {
		r->state = HM_STEP_DONE;
		snprintf(r->result, sizeof(r->result), "pacemaker: its fencer powered %s off at "
			 "%lld (its history, reconciled)", r->name, (long long)when);
		history(r, "fence.reconciled", r->result);
		history(r, "host.fenced", r->result);
		finish(r);
		return;
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "pacemaker: cannot read its fence history (%s): fencing",
			 reason ? reason : strerror(-rc));
		hm_log_warn("%s %s", msg, r->name);
	}
	rc = hm_pcmk_fence_start(r->d->loop, NULL, r->host, r->name, r->timeout_s, pcmk_fenced, r,
				 &r->pcmk);
	if (rc < 0) {
		r->state = HM_STEP_UNKNOWN;
		snprintf(r->result, sizeof(r->result), "pacemaker: stonith_admin could not be run: %s",
			 strerror(-rc));
		finish(r);
	}
}

/* a verdict reached without running anything still goes through the loop */
static void finish_later(void *data)
{
	finish(data);
}

static bool pacemaker_backend(struct hm_store *s)
{
	struct hm_policy_entry *e = NULL;
	bool pcmk;

	pcmk = hm_store_policy_get(s, "fence_backend", &e) == 0 && !strcmp(e->value, "pacemaker");
	free(e);
	return pcmk;
}

int hm_steps_fence(struct hm_daemon *d, const struct hm_step_order *o)
{
	const struct hm_fencer_config cfg = {
		.agent_dir = getenv("HAMOND_FENCE_AGENT_DIR"),	/* tests only */
		.call_timeout_ms = (uint64_t)hm_cluster_policy_int(d->store, "fence_timeout_s") * 1000,
		.retries = (unsigned)hm_cluster_policy_int(d->store, "fence_retries"),
		.retry_delay_ms = 1000,
	};
	struct devices devs = { 0 };
	struct hm_host *host = NULL;
	struct hm_job *job = NULL;
	struct fence_run *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->d = d;
	r->job = o->job;
	r->seq = o->seq;
	r->host = o->subject;
	snprintf(r->name, sizeof(r->name), "node %u", o->subject);
	if (hm_store_host_get(d->store, o->subject, &host) == 0)
		snprintf(r->name, sizeof(r->name), "%s", host->name);
	free(host);
	/* an off after the job was made is after the loss (Pacemaker's
	 * times are whole seconds); one before it is not trusted: the host
	 * may have booted since */
	if (hm_store_job_get(d->store, o->job, &job) == 0)
		r->since_ms = job->created_ms - job->created_ms % 1000;
	free(job);
	hm_log_notice("job %llu: fencing %s", (unsigned long long)o->job, r->name);
	if (pacemaker_backend(d->store)) {
		r->timeout_s = (unsigned)hm_cluster_policy_int(d->store, "fence_timeout_s");
		if (!r->since_ms)
			r->since_ms = INT64_MAX;	/* no job row: nothing counts */
		rc = hm_pcmk_history_start(d->loop, NULL, r->name, r->timeout_s, pcmk_history_looked,
					   r, &r->pcmk);
		if (rc < 0)
			free(r);
		return rc;
	}
	rc = devices_of(d->store, o->subject, &devs);
	if (rc == 0)
		rc = hm_fencer_start(d->loop, &cfg, o->subject, r->name, devs.v + 1, devs.n,
				     on_attempt, fenced, r, &r->fencer);
	devices_free(&devs);
	if (rc == -ENODEV) {
		/* unprotected: a failure the operator must resolve */
		r->state = HM_STEP_FAILED;
		snprintf(r->result, sizeof(r->result), "%s has no fence device: unprotected", r->name);
		hm_log_crit("cannot fence %s: it has no fence device (`hamonctl fence add`); "
			    "nothing of it is rebuilt until `hamonctl fence confirm`", r->name);
		history(r, "fence.failed", r->result);
		if (qb_loop_timer_add(d->loop, QB_LOOP_MED, 0, r, finish_later, &r->timer) == 0)
			return 0;
		rc = -ENOMEM;
	}
	if (rc < 0)
		free(r);
	return rc;
}

/*
 * One pass over devices, one check each, in order: the periodic monitor
 * ("monitor") and an operator's `fence test` ("status") share it.
 */
struct check_round {
	struct hm_daemon *d;
	const char *action;
	struct devices devs;
	size_t next;			/* 1-based index into devs.v */
	struct hm_fencer_op *op;
	void (*checked)(struct check_round *cr, const struct hm_fence_attempt *a);
	void (*ended)(struct check_round *cr);
	bool stopping;			/* stopped with a check in flight: its end frees */
};

static void round_next(struct check_round *cr);

static void round_checked(const struct hm_fence_attempt *a, void *data)
{
	struct check_round *cr = data;

	cr->op = NULL;
	if (cr->stopping) {
		cr->ended(cr);
		return;
	}
	cr->checked(cr, a);
	round_next(cr);
}

static void round_next(struct check_round *cr)
{
	const struct hm_fencer_config cfg = {
		.agent_dir = getenv("HAMOND_FENCE_AGENT_DIR"),
		.call_timeout_ms = (uint64_t)hm_cluster_policy_int(cr->d->store, "fence_timeout_s") * 1000,
	};
	struct hm_host *h = NULL;
	int rc = -ENOENT;

	while (cr->next <= cr->devs.n && rc < 0) {
		const struct hm_fence_device *dev = &cr->devs.v[cr->next++];

		hm_store_host_get(cr->d->store, dev->host, &h);
		rc = hm_fencer_check_start(cr->d->loop, &cfg, dev, h ? h->name : NULL, cr->action,
					   round_checked, cr, &cr->op);
		free(h);
		h = NULL;
	}
	if (rc < 0)
		cr->ended(cr);
}

/* ---- the monitor: every device, from here, every so often ---- */

/* the first round soon after start, then every fence_monitor_interval_s,
 * and at once when the devices changed (looked at every POLL) */
#define HM_FENCE_MONITOR_FIRST_MS 5000u
#define HM_FENCE_MONITOR_POLL_MS 2000u

struct hm_fence_monitor {
	struct check_round cr;		/* first: the round's callbacks get the monitor */
	qb_loop_timer_handle timer;
	json_object *view;		/* this round's results */
	uint64_t devices_sig;		/* the devices the last round checked */
	uint64_t next_round_ms;		/* monotonic */
};

/* FNV-1a over every device: a new, changed or removed one changes it */
static int device_sig(const struct hm_fence_device *row, void *data)
{
	uint64_t *h = data;
	char buf[64];
	const char *parts[3] = { buf, row->agent, row->params };
	size_t i;
	const char *c;

	snprintf(buf, sizeof(buf), "%u/%u/%u", row->id, row->host, row->level);
	for (i = 0; i < 3; i++)
		for (c = parts[i]; c && *c; c++)
			*h = (*h ^ (unsigned char)*c) * 0x100000001b3ull;
	*h = (*h ^ 0xff) * 0x100000001b3ull;
	return 0;
}

static uint64_t devices_signature(struct hm_store *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	hm_store_fence_device_list(s, device_sig, &h);
	return h;
}

static void monitor_free(struct hm_fence_monitor *fm)
{
	json_object_put(fm->view);
	devices_free(&fm->cr.devs);
	free(fm);
}

static void monitor_round(void *data);

static uint64_t monitor_interval_ms(struct hm_fence_monitor *fm)
{
	return (uint64_t)hm_cluster_policy_int(fm->cr.d->store, "fence_monitor_interval_s") * 1000;
}

static void monitor_schedule(struct hm_fence_monitor *fm, uint64_t ms)
{
	if (qb_loop_timer_add(fm->cr.d->loop, QB_LOOP_LOW, ms * QB_TIME_NS_IN_MSEC, fm,
			      monitor_round, &fm->timer) != 0)
		hm_log_err("cannot schedule the fence monitor");
}

/* the round is over: publish the view if it changed */
static void monitor_end(struct check_round *cr)
{
	struct hm_fence_monitor *fm = (struct hm_fence_monitor *)cr;
	struct hm_daemon *d = cr->d;
	const char *text;

	if (cr->stopping) {
		monitor_free(fm);
		return;
	}
	text = json_object_to_json_string_ext(fm->view, JSON_C_TO_STRING_PLAIN);
	if (!d->fence_view || strcmp(d->fence_view, text)) {
		free(d->fence_view);
		d->fence_view = strdup(text);
		hm_inventory_host_changed(d);
	}
	json_object_put(fm->view);
	fm->view = NULL;
	devices_free(&cr->devs);
	memset(&cr->devs, 0, sizeof(cr->devs));
	fm->next_round_ms = hm_daemon_now_ms() + monitor_interval_ms(fm);
	monitor_schedule(fm, HM_FENCE_MONITOR_POLL_MS);
}

static void monitored(struct check_round *cr, const struct hm_fence_attempt *a)
{
	struct hm_fence_monitor *fm = (struct hm_fence_monitor *)cr;
	json_object *o = json_object_new_object();
	char id[16];
	bool ok = a->exit_status == 0;

	if (o) {
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "ms", json_object_new_int64(a->end_ms));
		if (!ok)
			json_object_object_add(o, "reason", json_object_new_string(a->reason));
		snprintf(id, sizeof(id), "%u", a->device);
		json_object_object_add(fm->view, id, o);
	}
	if (!ok)
		hm_log_warn("fence device %u (%s) of node %u does not answer from here: %s",
			    a->device, a->agent, a->host, a->reason);
}

static void monitor_round(void *data)
{
	struct hm_fence_monitor *fm = data;
	uint64_t sig = devices_signature(fm->cr.d->store);
	int rc;

	if (sig == fm->devices_sig && hm_daemon_now_ms() < fm->next_round_ms) {
		monitor_schedule(fm, HM_FENCE_MONITOR_POLL_MS);
		return;
	}
	fm->devices_sig = sig;
	memset(&fm->cr.devs, 0, sizeof(fm->cr.devs));
	fm->cr.next = 1;
	fm->view = json_object_new_object();
	if (!fm->view) {
		monitor_schedule(fm, monitor_interval_ms(fm));
		return;
	}
	rc = devices_of(fm->cr.d->store, 0, &fm->cr.devs);
	if (rc < 0)
		hm_log_err("fence monitor: cannot read the devices: %s", strerror(-rc));
	round_next(&fm->cr);
}

int hm_fence_monitor_start(struct hm_daemon *d)
{
	struct hm_fence_monitor *fm = calloc(1, sizeof(*fm));

	if (!fm)
		return -ENOMEM;
	fm->cr = (struct check_round){ .d = d, .action = "monitor", .checked = monitored,
				       .ended = monitor_end };
	d->fence_monitor = fm;
	monitor_schedule(fm, HM_FENCE_MONITOR_FIRST_MS);
	return 0;
}

void hm_fence_monitor_stop(struct hm_daemon *d)
{
	struct hm_fence_monitor *fm = d->fence_monitor;

	if (!fm)
		return;
	qb_loop_timer_del(d->loop, fm->timer);
	d->fence_monitor = NULL;
	if (fm->cr.op) {
		fm->cr.stopping = true;
		hm_fencer_op_cancel(fm->cr.op);
	} else {
		monitor_free(fm);
	}
	free(d->fence_view);
	d->fence_view = NULL;
}

/* ---- an operator's `fence test`: status of every device, from here ---- */

struct fence_test {
	struct check_round cr;		/* first */
	json_object *results;
	hm_fence_test_fn done;
	void *data;
};

static void tested(struct check_round *cr, const struct hm_fence_attempt *a)
{
	struct fence_test *t = (struct fence_test *)cr;
	const struct hm_fence_device *dev = &cr->devs.v[cr->next - 1];
	json_object *o = json_object_new_object();
	/* status: 0 on, 2 off, anything else the device did not answer */
	const char *power = a->exit_status == 0 ? "on" : a->exit_status == 2 ? "off" : NULL;

	if (!o || json_object_array_add(t->results, o) != 0) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "id", json_object_new_int64(dev->id));
	json_object_object_add(o, "level", json_object_new_int64(dev->level));
	json_object_object_add(o, "agent", json_object_new_string(a->agent));
	json_object_object_add(o, "ok", json_object_new_boolean(power != NULL));
	json_object_object_add(o, "power", power ? json_object_new_string(power) : NULL);
	json_object_object_add(o, "ms", json_object_new_int64(a->end_ms - a->start_ms));
	json_object_object_add(o, "reason", power ? NULL : json_object_new_string(a->reason));
}

static void test_end(struct check_round *cr)
{
	struct fence_test *t = (struct fence_test *)cr;

	t->done(t->results, t->data);
	json_object_put(t->results);
	devices_free(&cr->devs);
	free(t);
}

int hm_fence_test_start(struct hm_daemon *d, uint32_t host, uint32_t device,
			hm_fence_test_fn done, void *data)
{
	struct fence_test *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->cr = (struct check_round){ .d = d, .action = "status", .next = 1, .checked = tested,
				      .ended = test_end };
	t->results = json_object_new_array();
	t->done = done;
	t->data = data;
	rc = t->results ? devices_of(d->store, host, &t->cr.devs) : -ENOMEM;
	if (rc == 0 && device)
		devices_keep_one(&t->cr.devs, device);
	if (rc == 0 && !t->cr.devs.n)
		rc = -ENODEV;
	if (rc < 0) {
		json_object_put(t->results);
		devices_free(&t->cr.devs);
		free(t);
		return rc;
	}
	round_next(&t->cr);
	return 0;
}
