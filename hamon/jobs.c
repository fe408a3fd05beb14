/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "array.h"
#include "jobs.h"
#include "recovery.h"

#define JOBS_ERR_MAX 256

/* a step this member runs now: not run again until its result is decided */
struct running {
	uint64_t job;
	uint32_t seq;
	enum hm_step_action action;
};

/* a change submitted for a job (or a loss), not yet decided: the job is
 * not planned again until it is, so nothing is issued twice */
struct pending {
	uint64_t job;		/* 0: a job-create for host */
	uint32_t host;
};

/*
 * What this member saw happen (a step's result, a fact for the history)
 * while it could not submit (syncing after a membership change, not
 * quorate): kept, in order, and submitted once it acts again, so a fence
 * that finished during a sync is recorded as it happened instead of being
 * run a second time.
 */
struct held {
	uint16_t op;
	char *payload;
	struct pending p;
	bool is_result;
	uint32_t seq;
	const char *failpoint;
};

struct hm_jobs {
	const struct hm_seam *seam;
	struct hm_membership *m;
	struct hm_store *store;
	struct hm_replica *r;
	bool closing;
	bool timer_armed;
	hm_timer_t timer;
	struct running *run;
	size_t n_run, cap_run;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct held *held;
	size_t n_held, cap_held;
	/* the startup window: since when this member acts, and every node it
	 * saw in the corosync membership since it started */
	bool acting_once;
	uint64_t acting_since_ms;
	uint32_t *seen;
	size_t n_seen, cap_seen;
	bool window_timer_armed;
	hm_timer_t window_timer;
	bool retry_timer_armed;
	hm_timer_t retry_timer;
	/* jobs already alerted for (an operator must act): said once */
	uint64_t *alerted;
	size_t n_alerted, cap_alerted;
	/* the id generator: (ms << 12) | (node & 0xff) << 4 | counter */
	uint64_t id_ms;
	unsigned int id_counter;
};

struct submitted {
	struct hm_jobs *j;
	struct pending p;
	bool is_result;		/* a step result of ours: forget the running step */
	uint32_t seq;
	const char *failpoint;	/* passed once the change is accepted */
	uint16_t op;
	char *kept;		/* a held change's payload: held again if its
				 * outcome is unknown; else NULL */
};

static void failpoint(struct hm_jobs *j, const char *name)
{
	if (name && j->seam->failpoint)
		j->seam->failpoint(j->seam->ctx, name);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	return hm_array_grow(v, cap, n, size, 8);
}

uint64_t hm_jobs_wall_ms(const struct hm_jobs *j)
{
	return j->seam->wall_ms(j->seam->ctx);
}

uint64_t hm_jobs_new_id(struct hm_jobs *j)
{
	uint64_t ms = j->seam->wall_ms(j->seam->ctx);

	if (ms <= j->id_ms) {
		ms = j->id_ms;
		if (++j->id_counter == 16) {
			ms++;
			j->id_counter = 0;
		}
	} else {
		j->id_counter = 0;
	}
	j->id_ms = ms;
	return ms << 12 | (uint64_t)(hm_membership_local_nodeid(j->m) & 0xff) << 4 | j->id_counter;
}

static bool is_pending(const struct hm_jobs *j, uint64_t job, uint32_t host)
{
	size_t i;

	for (i = 0; i < j->n_pend; i++)
		if (j->pend[i].job == job && (job || j->pend[i].host == host))
			return true;
	return false;
}

static void pending_drop(struct hm_jobs *j, const struct pending *p)
{
	size_t i;

	for (i = 0; i < j->n_pend; i++)
		if (j->pend[i].job == p->job && j->pend[i].host == p->host) {
			j->pend[i] = j->pend[--j->n_pend];
			return;
		}
}

static bool is_running(const struct hm_jobs *j, uint64_t job, uint32_t seq)
{
	size_t i;

	for (i = 0; i < j->n_run; i++)
		if (j->run[i].job == job && j->run[i].seq == seq)
			return true;
	return false;
}

static void running_drop(struct hm_jobs *j, uint64_t job, uint32_t seq)
{
	size_t i;

	for (i = 0; i < j->n_run; i++)
		if (j->run[i].job == job && j->run[i].seq == seq) {
			j->run[i] = j->run[--j->n_run];
			return;
		}
}

static void evaluate(void *data);

void hm_jobs_kick(struct hm_jobs *j)
{
	if (j->closing || j->timer_armed)
		return;
	if (j->seam->timer_start(j->seam->ctx, 0, evaluate, j, &j->timer) == 0)
		j->timer_armed = true;
}

static int hold(struct hm_jobs *j, uint16_t op, char *payload, const struct pending *p,
		bool is_result, uint32_t seq, const char *fp)
{
	if (grow((void **)&j->held, &j->cap_held, j->n_held, sizeof(*j->held)) < 0)
		return -ENOMEM;
	j->held[j->n_held++] = (struct held){ op, payload, *p, is_result, seq, fp };
	return 0;
}

static void submit_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct submitted *s = data;
	struct hm_jobs *j = s->j;

	(void)seq;
	/* left the membership before it was decided: submit it again (a
	 * second copy of what was taken is refused, so it counts once) */
	if (rc == -ECONNRESET && s->kept && !j->closing &&
	    hold(j, s->op, s->kept, &s->p, s->is_result, s->seq, s->failpoint) == 0) {
		free(s);
		hm_jobs_kick(j);
		return;
	}
	if (rc < 0 && rc != -ECONNRESET)
		hm_seam_log(j->seam, LOG_WARNING, "job %llu: a change was refused: %s",
			    (unsigned long long)s->p.job, message ? message : strerror(-rc));
	pending_drop(j, &s->p);
	if (s->is_result)
		running_drop(j, s->p.job, s->seq);
	if (rc == 0)
		failpoint(j, s->failpoint);
	free(s->kept);
	free(s);
	hm_jobs_kick(j);
}

/* hand payload to the replica; keep: it is a held change (payload is then
 * ours to keep or free) */
static int send_change(struct hm_jobs *j, uint16_t op, const char *payload,
		       const struct pending *p, bool is_result, uint32_t seq, const char *fp,
		       char *kept, char *err, size_t errlen)
{
	struct submitted *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	*s = (struct submitted){ j, *p, is_result, seq, fp, op, kept };
	rc = hm_replica_submit(j->r, op, payload, submit_done, s, err, errlen);
	if (rc < 0)
		free(s);
	return rc;
}

/* not acting now, or the replica resyncs: a held change waits for later */
static bool submit_later(int rc)
{
	return rc == -EROFS || rc == -EAGAIN;
}

/* submit op with the JSON object o (consumed) on behalf of a job; keep:
 * what this member saw happen, held until it can be submitted */
static int submit_fp(struct hm_jobs *j, uint16_t op, json_object *o, const struct pending *p,
		     bool is_result, uint32_t seq, const char *fp, bool keep)
{
	char err[JOBS_ERR_MAX], *copy = NULL;
	const char *payload;
	int rc = -ENOMEM;

	if (!o || grow((void **)&j->pend, &j->cap_pend, j->n_pend, sizeof(*j->pend)) < 0)
		goto out;
	payload = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (keep && !(copy = strdup(payload)))
		goto out;
	j->pend[j->n_pend++] = *p;
	/* behind what is held already: the history before the result */
	rc = keep && j->n_held ? -EAGAIN :
	     send_change(j, op, payload, p, is_result, seq, fp, copy, err, sizeof(err));
	if (keep && submit_later(rc)) {
		rc = hold(j, op, copy, p, is_result, seq, fp);
		if (rc == 0) {
			hm_seam_log(j->seam, LOG_INFO, "job %llu: %s kept until this member acts",
				    (unsigned long long)p->job, hm_update_op_to_str(op));
			goto out;
		}
		snprintf(err, sizeof(err), "out of memory");
	}
	if (rc < 0) {
		j->n_pend--;
		free(copy);
		hm_seam_log(j->seam, LOG_WARNING, "job %llu: %s not submitted: %s",
			    (unsigned long long)p->job, hm_update_op_to_str(op), err);
	}
out:
	json_object_put(o);
	return rc;
}

/* submit what was held, in order, while this member acts */
static void held_flush(struct hm_jobs *j)
{
	char err[JOBS_ERR_MAX];
	struct held h;
	size_t done = 0;
	int rc;

	while (done < j->n_held) {
		h = j->held[done];
		rc = send_change(j, h.op, h.payload, &h.p, h.is_result, h.seq, h.failpoint,
				 h.payload, err, sizeof(err));
		if (submit_later(rc))
			break;
		done++;
		if (rc < 0) {
			hm_seam_log(j->seam, LOG_WARNING, "job %llu: %s not submitted: %s",
				    (unsigned long long)h.p.job, hm_update_op_to_str(h.op), err);
			pending_drop(j, &h.p);
			if (h.is_result)
				running_drop(j, h.p.job, h.seq);
			free(h.payload);
		}
	}
	memmove(j->held, j->held + done, (j->n_held - done) * sizeof(*j->held));
	j->n_held -= done;
}

static int submit(struct hm_jobs *j, uint16_t op, json_object *o, const struct pending *p)
{
	return submit_fp(j, op, o, p, false, 0, NULL, false);
}

/* the failpoint a step's intent or result passes when it is accepted */
static const char *step_failpoint(enum hm_step_action action, bool result)
{
	if (action == HM_STEP_FENCE)
		return result ? "fence-result" : "fence-intent";
	if (action == HM_STEP_START)
		return result ? "start-result" : "start-intent";
	return NULL;
}

void hm_jobs_failpoint(struct hm_jobs *j, const char *name)
{
	failpoint(j, name);
}

/* ---- what the coordinator issues (recovery.h calls these) -------------- */

static void set_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void set_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

int hm_jobs_issue_create(struct hm_jobs *j, enum hm_job_kind kind, uint32_t host,
			 const char *reason)
{
	json_object *o = json_object_new_object();
	const struct pending p = { 0, host };

	if (!o)
		return -ENOMEM;
	set_int(o, "id", (int64_t)hm_jobs_new_id(j));
	set_str(o, "kind", hm_job_kind_to_str(kind));
	if (host)
		set_int(o, "target_host", host);
	set_str(o, "reason", reason);
	return submit_fp(j, HM_OP_JOB_CREATE, o, &p, false, 0, "loss", false);
}

int hm_jobs_issue_step(struct hm_jobs *j, uint64_t job, uint32_t seq, enum hm_step_action action,
		       uint32_t host, const char *instance, uint32_t target)
{
	json_object *o = json_object_new_object();
	const struct pending p = { job, 0 };

	if (!o)
		return -ENOMEM;
	set_int(o, "job", (int64_t)job);
	set_int(o, "seq", seq);
	set_str(o, "action", hm_step_action_to_str(action));
	set_int(o, "host", host);
	set_str(o, "instance", instance);
	if (target)
		set_int(o, "target", target);
	return submit_fp(j, HM_OP_STEP_INTENT, o, &p, false, 0, step_failpoint(action, false),
			 false);
}

static json_object *result_obj(uint64_t job, uint32_t seq, enum hm_step_state state,
			       const char *result)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	set_int(o, "job", (int64_t)job);
	set_int(o, "seq", seq);
	set_str(o, "state", hm_step_state_to_str(state));
	set_str(o, "result", result);
	return o;
}

int hm_jobs_issue_unknown(struct hm_jobs *j, uint64_t job, uint32_t seq, const char *why)
{
	const struct pending p = { job, 0 };

	return submit(j, HM_OP_STEP_RESULT, result_obj(job, seq, HM_STEP_UNKNOWN, why), &p);
}

int hm_jobs_issue_end(struct hm_jobs *j, uint64_t job, enum hm_job_state state, const char *reason)
{
	json_object *o = json_object_new_object();
	const struct pending p = { job, 0 };

	if (!o)
		return -ENOMEM;
	hm_seam_log(j->seam, state == HM_JOB_DONE ? LOG_NOTICE : LOG_WARNING, "job %llu ends %s: %s",
		    (unsigned long long)job, hm_job_state_to_str(state), reason ? reason : "");
	set_int(o, "id", (int64_t)job);
	set_str(o, "state", hm_job_state_to_str(state));
	set_str(o, "reason", reason);
	return submit(j, HM_OP_JOB_END, o, &p);
}

static int history(struct hm_jobs *j, uint64_t job, const char *kind, uint32_t host,
		   const char *instance, const char *message, bool keep)
{
	json_object *o = json_object_new_object();
	const struct pending p = { job, 0 };

	if (!o)
		return -ENOMEM;
	set_int(o, "id", (int64_t)hm_jobs_new_id(j));
	set_str(o, "kind", kind);
	if (host)
		set_int(o, "host", host);
	set_str(o, "instance", instance);
	if (job)
		set_int(o, "job", (int64_t)job);
	set_str(o, "message", message);
	/* a fact kept for later keeps the time it happened */
	if (keep)
		set_int(o, "at_ms", (int64_t)hm_jobs_wall_ms(j));
	return submit_fp(j, HM_OP_HISTORY, o, &p, false, 0, NULL, keep);
}

int hm_jobs_issue_history(struct hm_jobs *j, uint64_t job, const char *kind, uint32_t host,
			  const char *instance, const char *message)
{
	return history(j, job, kind, host, instance, message, false);
}

int hm_jobs_record(struct hm_jobs *j, uint64_t job, const char *kind, uint32_t host,
		   const char *instance, const char *message)
{
	return history(j, job, kind, host, instance, message, true);
}

void hm_jobs_log(struct hm_jobs *j, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	j->seam->log(j->seam->ctx, prio, fmt, ap);
	va_end(ap);
}

void hm_jobs_alert(struct hm_jobs *j, uint64_t job, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	for (i = 0; i < j->n_alerted; i++)
		if (j->alerted[i] == job)
			return;
	if (grow((void **)&j->alerted, &j->cap_alerted, j->n_alerted, sizeof(*j->alerted)) == 0)
		j->alerted[j->n_alerted++] = job;
	va_start(ap, fmt);
	j->seam->log(j->seam->ctx, LOG_CRIT, fmt, ap);
	va_end(ap);
}

bool hm_jobs_busy(const struct hm_jobs *j, uint64_t job, uint32_t host)
{
	return is_pending(j, job, host);
}

/* ---- the executor side: steps named for this member -------------------- */

void hm_jobs_step_finished(struct hm_jobs *j, uint64_t job, uint32_t seq,
			   enum hm_step_state state, const char *result)
{
	const struct pending p = { job, 0 };
	const char *fp = NULL;
	size_t i;

	if (j->closing) {
		running_drop(j, job, seq);
		return;
	}
	for (i = 0; i < j->n_run; i++)
		if (j->run[i].job == job && j->run[i].seq == seq)
			fp = step_failpoint(j->run[i].action, true);
	/* a refused or undecided result leaves the intent: run again, looking first */
	if (submit_fp(j, HM_OP_STEP_RESULT, result_obj(job, seq, state, result), &p, true, seq,
		      fp, true) < 0)
		running_drop(j, job, seq);
}

struct step_scan {
	struct hm_jobs *j;
	const struct hm_job *job;
	int rc;
};

static int run_if_mine(const struct hm_job_step *row, void *data)
{
	struct step_scan *sc = data;
	struct hm_jobs *j = sc->j;
	struct hm_step_order order;

	if (row->state != HM_STEP_INTENT || row->host != hm_membership_local_nodeid(j->m) ||
	    is_running(j, row->job, row->seq))
		return 0;
	if (grow((void **)&j->run, &j->cap_run, j->n_run, sizeof(*j->run)) < 0) {
		sc->rc = -ENOMEM;
		return 1;
	}
	j->run[j->n_run++] = (struct running){ row->job, row->seq, row->action };
	order = (struct hm_step_order){ row->job, row->seq, row->action, row->instance,
					sc->job->target_host, row->target };
	if (j->seam->step_run(j->seam->ctx, &order) < 0)
		hm_jobs_step_finished(j, row->job, row->seq, HM_STEP_UNKNOWN,
				      "the step could not be started here");
	return 0;
}

/* ---- evaluation --------------------------------------------------------- */

/* an open job, its strings copied (rows die with the callback) */
struct job_item {
	struct hm_job job;
	char instance[40];
};

struct job_list {
	struct job_item *v;
	size_t n, cap;
	int rc;
};

static int collect_open(const struct hm_job *row, void *data)
{
	struct job_list *l = data;

	if (row->state != HM_JOB_ACCEPTED && row->state != HM_JOB_RUNNING)
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) < 0) {
		l->rc = -ENOMEM;
		return 1;
	}
	l->v[l->n].job = *row;
	l->v[l->n].job.reason = NULL;
	l->v[l->n].job.instance = NULL;
	snprintf(l->v[l->n].instance, sizeof(l->v[0].instance), "%s",
		 row->instance ? row->instance : "");
	l->n++;
	return 0;
}

static void note_members(struct hm_jobs *j)
{
	const uint32_t *members;
	size_t n = hm_membership_totem_members(j->m, &members), i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < j->n_seen && j->seen[k] != members[i]; k++)
			;
		if (k == j->n_seen &&
		    grow((void **)&j->seen, &j->cap_seen, j->n_seen, sizeof(*j->seen)) == 0)
			j->seen[j->n_seen++] = members[i];
	}
}

static void window_ended(void *data)
{
	struct hm_jobs *j = data;

	j->window_timer_armed = false;
	hm_jobs_kick(j);
}

static void retry_due(void *data)
{
	struct hm_jobs *j = data;

	j->retry_timer_armed = false;
	hm_jobs_kick(j);
}

bool hm_jobs_retry_after(struct hm_jobs *j, int64_t since_wall_ms, uint64_t delay_ms)
{
	uint64_t now = j->seam->wall_ms(j->seam->ctx);
	uint64_t due = (uint64_t)(since_wall_ms > 0 ? since_wall_ms : 0) + delay_ms;

	if (now >= due)
		return true;
	/* one timer for every backoff: the earliest is enough, each look re-arms */
	if (!j->retry_timer_armed &&
	    j->seam->timer_start(j->seam->ctx, due - now, retry_due, j, &j->retry_timer) == 0)
		j->retry_timer_armed = true;
	return false;
}

uint64_t hm_jobs_unseen_lost_in(struct hm_jobs *j, uint32_t nodeid, uint64_t window_ms)
{
	uint64_t now = j->seam->now_ms(j->seam->ctx), end = j->acting_since_ms + window_ms;
	size_t k;

	for (k = 0; k < j->n_seen; k++)
		if (j->seen[k] == nodeid)
			return 0;
	if (now >= end)
		return 0;
	/* look again when the window ends */
	if (!j->window_timer_armed &&
	    j->seam->timer_start(j->seam->ctx, end - now, window_ended, j, &j->window_timer) == 0)
		j->window_timer_armed = true;
	return end - now;
}

static void evaluate(void *data)
{
	struct hm_jobs *j = data;
	struct job_list open = { 0 };
	bool coordinating;
	size_t i;
	int rc;

	j->timer_armed = false;
	if (j->closing || !hm_membership_acting(j->m))
		return;
	held_flush(j);
	if (!j->acting_once) {
		j->acting_once = true;
		j->acting_since_ms = j->seam->now_ms(j->seam->ctx);
	}
	note_members(j);
	rc = hm_store_job_list(j->store, collect_open, &open);
	if (rc == 0)
		rc = open.rc;
	if (rc < 0) {
		hm_jobs_log(j, LOG_ERR, "jobs: cannot read the store: %s", strerror(-rc));
		free(open.v);
		return;
	}
	/* the array is complete: its strings stay put now */
	for (i = 0; i < open.n; i++)
		if (open.v[i].instance[0])
			open.v[i].job.instance = open.v[i].instance;
	for (i = 0; i < open.n; i++) {
		struct step_scan sc = { j, &open.v[i].job, 0 };

		hm_store_job_step_list(j->store, open.v[i].job.id, run_if_mine, &sc);
	}
	coordinating = hm_membership_coordinator(j->m) == hm_membership_local_nodeid(j->m);
	if (coordinating) {
		hm_recovery_detect(j, j->m, j->store);
		for (i = 0; i < open.n; i++)
			if (!is_pending(j, open.v[i].job.id, 0))
				hm_recovery_plan(j, j->m, j->store, &open.v[i].job);
	}
	free(open.v);
}

/* ---- life --------------------------------------------------------------- */

struct hm_jobs *hm_jobs_new(const struct hm_seam *seam, struct hm_membership *m,
			    struct hm_store *store, struct hm_replica *r)
{
	struct hm_jobs *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->seam = seam;
	j->m = m;
	j->store = store;
	j->r = r;
	return j;
}

void hm_jobs_close(struct hm_jobs *j)
{
	if (!j)
		return;
	j->closing = true;
	if (j->timer_armed)
		j->seam->timer_stop(j->seam->ctx, j->timer);
	if (j->window_timer_armed)
		j->seam->timer_stop(j->seam->ctx, j->window_timer);
	if (j->retry_timer_armed)
		j->seam->timer_stop(j->seam->ctx, j->retry_timer);
	j->timer_armed = j->window_timer_armed = j->retry_timer_armed = false;
}

void hm_jobs_free(struct hm_jobs *j)
{
	if (!j)
		return;
	hm_jobs_close(j);
	free(j->seen);
	free(j->run);
	free(j->pend);
	while (j->n_held)
		free(j->held[--j->n_held].payload);
	free(j->held);
	free(j->alerted);
	free(j);
}
