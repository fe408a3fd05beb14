/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "array.h"
#include "cluster_policy.h"
#include "fence_policy.h"
#include "placement.h"
#include "policy.h"
#include "recovery.h"
#include "snapshot.h"
#include "status.h"

#define MSG_MAX 512
/* an unknown outcome is retried after this, not in a tight loop */
#define RETRY_UNKNOWN_MS 2000

/* ---- snapshots of the store (strings copied: rows die with callbacks) --- */

struct step_list {
	struct hm_job_step *v;
	char (*inst)[HM_SNAP_UUID_LEN];
	size_t n, cap;
	int rc;
};

static int collect_step(const struct hm_job_step *row, void *data)
{
	struct step_list *l = data;
	size_t i;

	if (l->n == l->cap) {
		size_t cap = l->cap;

		if (hm_array_grow((void **)&l->v, &cap, l->n, sizeof(*l->v), 16) < 0 ||
		    hm_array_grow((void **)&l->inst, &l->cap, l->n, sizeof(*l->inst), 16) < 0) {
			l->rc = -ENOMEM;
			return 1;
		}
		for (i = 0; i < l->n; i++)
			if (l->v[i].instance)
				l->v[i].instance = l->inst[i];
	}
	l->v[l->n] = *row;
	l->v[l->n].result = NULL;
	snprintf(l->inst[l->n], HM_SNAP_UUID_LEN, "%s", row->instance ? row->instance : "");
	l->v[l->n].instance = row->instance ? l->inst[l->n] : NULL;
	l->n++;
	return 0;
}

static bool in_set(const uint32_t *v, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static const struct hm_host *host_of(const struct hm_snap_hosts *h, uint32_t id)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].nodeid == id)
			return &h->v[i];
	return NULL;
}

/* ---- migrations: both ends own an instance until the end is recorded ---- */

struct migration_find {
	const char *uuid;
	struct hm_store *s;
	uint64_t job;		/* of the newest migrate step of uuid */
	uint32_t seq;
	enum hm_step_state state;
	uint32_t dest;
};

static int find_migrate_step(const struct hm_job_step *row, void *data)
{
	struct migration_find *f = data;

	if (row->action == HM_STEP_MIGRATE && row->instance && !strcmp(row->instance, f->uuid) &&
	    (row->job > f->job || (row->job == f->job && row->seq >= f->seq))) {
		f->job = row->job;
		f->seq = row->seq;
		f->state = row->state;
		f->dest = row->target;
	}
	return 0;
}

static int scan_job_migrations(const struct hm_job *row, void *data)
{
	struct migration_find *f = data;

	if (row->kind == HM_JOB_DRAIN || row->kind == HM_JOB_MIGRATE)
		hm_store_job_step_list(f->s, row->id, find_migrate_step, f);
	return 0;
}

/* the destination of uuid's last migration if its end is not recorded
 * (in flight, or unknown), else 0 */
static uint32_t unresolved_migration(struct hm_store *s, const char *uuid)
{
	struct migration_find f = { uuid, s, 0, 0, HM_STEP_DONE, 0 };

	hm_store_job_list(s, scan_job_migrations, &f);
	return f.job && (f.state == HM_STEP_INTENT || f.state == HM_STEP_UNKNOWN) ? f.dest : 0;
}

/* ---- loss detection ----------------------------------------------------- */

struct open_recoveries {
	uint32_t *hosts;
	size_t n, cap;
	size_t unfenced;	/* of those, not yet fenced */
	int rc;
};

static int collect_recovery(const struct hm_job *row, void *data)
{
	struct open_recoveries *o = data;

	if (row->kind != HM_JOB_RECOVERY ||
	    (row->state != HM_JOB_ACCEPTED && row->state != HM_JOB_RUNNING))
		return 0;
	if (hm_array_grow((void **)&o->hosts, &o->cap, o->n, sizeof(*o->hosts), 8) < 0) {
		o->rc = -ENOMEM;
		return 1;
	}
	o->hosts[o->n++] = row->target_host;
	return 0;
}

void hm_recovery_detect(struct hm_jobs *j, struct hm_membership *m, struct hm_store *s)
{
	struct hm_snap_hosts hosts = { 0 };
	struct hm_snap_instances insts = { 0 };
	struct open_recoveries open = { 0 };
	const uint32_t *members;
	size_t n_members, i, k;
	uint64_t window_ms;
	char why[MSG_MAX];
	int rc;

	window_ms = (uint64_t)hm_cluster_policy_int(s, "startup_window_s") * 1000;
	n_members = hm_membership_totem_members(m, &members);
	rc = hm_snap_hosts_load(s, &hosts);
	if (rc == 0)
		rc = hm_snap_instances_load(s, &insts);
	if (rc == 0)
		rc = hm_store_job_list(s, collect_recovery, &open);
	if (rc == 0)
		rc = open.rc;
	if (rc < 0) {
		hm_jobs_log(j, LOG_ERR, "recovery: cannot read the store: %s", strerror(-rc));
		goto out;
	}
	for (i = 0; i < hosts.n; i++) {
		const struct hm_host *h = &hosts.v[i];
		size_t owned = 0;

		size_t evacuable = 0;

		/* a member (even one whose hamond is down) is not lost; one job
		 * per loss */
		if (in_set(members, n_members, h->nodeid) || in_set(open.hosts, open.n, h->nodeid) ||
		    hm_jobs_busy(j, 0, h->nodeid))
			continue;
		for (k = 0; k < insts.n; k++) {
			const struct hm_instance *in = &insts.v[k].row;

			/* the other end of a migration owns it too */
			if (in->owner != h->nodeid &&
			    unresolved_migration(s, in->uuid) != h->nodeid)
				continue;
			owned++;
			evacuable += in->ha_policy == HM_HA_POLICY_HA &&
				     in->requested == HM_REQUESTED_STARTED &&
				     in->storage != HM_STORAGE_LOCAL;
		}
		/* nothing to recover: a drained node may leave; a fenced one
		 * (by a recovery or an operator) is recovered while it still
		 * owns something a recovery would start elsewhere */
		if (!owned || (h->state == HM_HOST_FENCED && !evacuable))
			continue;
		if (hm_jobs_unseen_lost_in(j, h->nodeid, window_ms))
			continue;	/* never seen since the cluster formed: maybe booting */
		snprintf(why, sizeof(why), "node %u left the corosync membership owning %zu instance%s",
			 h->nodeid, owned, owned == 1 ? "" : "s");
		hm_jobs_log(j, LOG_WARNING, "recovery: %s", why);
		if (hm_jobs_issue_create(j, HM_JOB_RECOVERY, h->nodeid, why) == 0)
			hm_jobs_issue_history(j, 0, "host.lost", h->nodeid, NULL, why);
	}
out:
	hm_snap_hosts_free(&hosts);
	hm_snap_instances_free(&insts);
	free(open.hosts);
}

/* ---- planning one job --------------------------------------------------- */

struct plan {
	struct hm_jobs *j;
	struct hm_membership *m;
	struct hm_store *s;
	const struct hm_job *job;
	struct step_list steps;
	struct hm_snap_hosts hosts;
	struct hm_snap_instances insts;
	uint32_t next_seq;
	uint32_t me;
};

/* the placement input every planner shares: hosts, load, membership and
 * the cluster policy; want and the rest are the caller's */
static int place(struct plan *p, struct hm_place_input *in, struct hm_place_result *res)
{
	const struct hm_instance **load = calloc(p->insts.n + p->steps.n + 1, sizeof(*load));
	struct hm_instance *arriving = calloc(p->steps.n + 1, sizeof(*arriving));
	size_t i, k, n = 0, n_arriving = 0;
	int rc;

	if (!load || !arriving) {
		free(load);
		free(arriving);
		return -ENOMEM;
	}
	for (i = 0; i < p->insts.n; i++)
		load[n++] = &p->insts.v[i].row;
	/* a migration in flight holds room on its destination too (both ends
	 * own it until its end is recorded) */
	for (k = 0; k < p->steps.n; k++) {
		const struct hm_job_step *st = &p->steps.v[k];

		if (st->action != HM_STEP_MIGRATE || !st->target || !st->instance ||
		    (st->state != HM_STEP_INTENT && st->state != HM_STEP_UNKNOWN))
			continue;
		for (i = 0; i < p->insts.n; i++)
			if (!strcmp(p->insts.v[i].uuid, st->instance) &&
			    p->insts.v[i].row.owner != st->target) {
				arriving[n_arriving] = p->insts.v[i].row;
				arriving[n_arriving].owner = st->target;
				load[n++] = &arriving[n_arriving++];
			}
	}
	in->load = load;
	in->n_load = n;
	if (!in->hosts) {
		in->hosts = p->hosts.v;
		in->n_hosts = p->hosts.n;
	}
	in->n_members = hm_membership_group_members(p->m, &in->members);
	in->cpu_overcommit = hm_cluster_policy_float(p->s, "cpu_overcommit");
	/* the policy's choices are first|last, and strict|soft */
	in->reserved_order = hm_cluster_policy_enum(p->s, "reserved_hosts_order") == 0 ?
			     HM_PLACE_RESERVED_FIRST : HM_PLACE_RESERVED_LAST;
	in->affinity = hm_cluster_policy_enum(p->s, "anti_affinity") == 0 ?
		       HM_PLACE_AFFINITY_STRICT : HM_PLACE_AFFINITY_SOFT;
	rc = hm_place(in, res, NULL);
	free(load);
	free(arriving);
	return rc;
}

/* the last step of an instance in this job, or NULL */
static const struct hm_job_step *last_step_of(const struct plan *p, const char *uuid,
					      enum hm_step_action action)
{
	const struct hm_job_step *last = NULL;
	size_t i;

	for (i = 0; i < p->steps.n; i++)
		if (p->steps.v[i].action == action && p->steps.v[i].instance &&
		    !strcmp(p->steps.v[i].instance, uuid))
			last = &p->steps.v[i];
	return last;
}

/* true while a step is in flight: wait for it, or call it unknown when its
 * member left (a new coordinator waits for its predecessor's steps) */
static size_t steps_in_flight(struct plan *p)
{
	size_t waiting = 0;
	char why[MSG_MAX];
	size_t i;

	for (i = 0; i < p->steps.n; i++) {
		const struct hm_job_step *st = &p->steps.v[i];

		if (st->state != HM_STEP_INTENT)
			continue;
		waiting++;
		if (hm_membership_in_group(p->m, st->host))
			continue;
		snprintf(why, sizeof(why), "node %u left before it reported the %s",
			 st->host, hm_step_action_to_str(st->action));
		hm_jobs_issue_unknown(p->j, st->job, st->seq, why);
	}
	return waiting;
}

bool hm_recovery_mutation_no_fence;

static bool fenced(const struct plan *p, const struct hm_host *target)
{
	size_t i;

	if (hm_recovery_mutation_no_fence)
		return true;
	if (target && target->state == HM_HOST_FENCED)
		return true;
	for (i = 0; i < p->steps.n; i++)
		if (p->steps.v[i].action == HM_STEP_FENCE && p->steps.v[i].state == HM_STEP_DONE)
			return true;
	return false;
}

/* the job's last fence step, or NULL */
static const struct hm_job_step *last_fence(const struct plan *p)
{
	const struct hm_job_step *last = NULL;
	size_t i;

	for (i = 0; i < p->steps.n; i++)
		if (p->steps.v[i].action == HM_STEP_FENCE)
			last = &p->steps.v[i];
	return last;
}

static bool any_start(const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->steps.n; i++)
		if (p->steps.v[i].action == HM_STEP_START)
			return true;
	return false;
}

/*
 * May the coordinator fence the job's host now (fencing/fence_policy.h):
 * the storm guard over every open recovery (one incident), the per-host
 * delay after the loss (2-node races), the no-fence window.  true: now;
 * false: not yet (a look again is scheduled) or refused (alerted).
 */
static bool fence_allowed(struct plan *p)
{
	struct open_recoveries open = { 0 };
	struct hm_fence_decision d = { 0 };
	struct hm_fence_situation sit = {
		.coordinator = true,
		.quorate = hm_membership_acting(p->m),
		.self = p->me,
		.target = p->job->target_host,
		.configured_nodes = (unsigned)p->hosts.n,
		.max_fraction = hm_cluster_policy_float(p->s, "max_fence_fraction"),
		/* the window's start is not recorded yet: none */
		.window_start_ms = -1,
		.window_ms = hm_cluster_policy_int(p->s, "no_fence_window_s") * 1000,
		.lost_ms = p->job->created_ms,
		.delay_ms = hm_cluster_policy_int(p->s, "fence_delay_s") * 1000,
		.race_delay_ms = hm_cluster_policy_int(p->s, "fence_race_delay_s") * 1000,
		.now_ms = (int64_t)hm_jobs_wall_ms(p->j),
	};
	int rc;

	hm_store_job_list(p->s, collect_recovery, &open);
	sit.incident = open.hosts;
	sit.n_incident = open.n;
	if (sit.configured_nodes < sit.n_incident)
		sit.configured_nodes = (unsigned)sit.n_incident;
	rc = hm_fence_decide(&sit, &d);
	free(open.hosts);
	if (rc < 0) {
		hm_jobs_alert(p->j, p->job->id, "recovery of node %u: no fence decision: %s",
			      p->job->target_host, strerror(-rc));
		return false;
	}
	switch (d.verdict) {
	case HM_FENCE_NOW:
		return true;
	case HM_FENCE_WAIT:
		hm_jobs_retry_after(p->j, d.until_ms, 0);
		return false;
	default:
		hm_jobs_alert(p->j, p->job->id, "recovery of node %u: %s", p->job->target_host, d.why);
		return false;
	}
}

/* the devices of a host, for the choice of who fences it */
struct host_device_ids {
	uint32_t host;
	uint32_t ids[16];
	size_t n;
};

static int collect_device_id(const struct hm_fence_device *row, void *data)
{
	struct host_device_ids *l = data;

	if (row->host == l->host && l->n < sizeof(l->ids) / sizeof(l->ids[0]))
		l->ids[l->n++] = row->id;
	return 0;
}

/* how many of the devices answered host h's last monitor */
static size_t devices_answering(const struct hm_host *h, const struct host_device_ids *devs)
{
	size_t i, n = 0;

	for (i = 0; h && i < devs->n; i++)
		n += hm_fence_view_reports(h->fence_view, devs->ids[i]) > 0;
	return n;
}

/*
 * Who runs the fence of the job's host: the coordinator, unless its own
 * monitor reaches none of the host's devices and another member's reaches
 * some (the BMC network may be cut from one node only); never the host
 * itself.  0: nobody may (the host is the only member).
 */
static uint32_t fence_executor(const struct plan *p)
{
	struct host_device_ids devs = { .host = p->job->target_host };
	const uint32_t *members;
	size_t n = hm_membership_group_members(p->m, &members), i, best_n = 0, k;
	uint32_t best = 0;

	if (p->me != devs.host && hm_cluster_policy_enum(p->s, "fence_backend") != 0)
		return p->me;	/* Pacemaker's fencer: asked where we are */
	hm_store_fence_device_list(p->s, collect_device_id, &devs);
	if (p->me != devs.host) {
		best = p->me;
		best_n = devices_answering(host_of(&p->hosts, p->me), &devs);
	}
	for (i = 0; i < n && (best_n < devs.n || !best); i++) {
		if (members[i] == devs.host || members[i] == best)
			continue;
		k = devices_answering(host_of(&p->hosts, members[i]), &devs);
		if (!best || k > best_n) {
			best = members[i];
			best_n = k;
		}
	}
	return best;
}

/* a fence step, run by whoever reaches the host's devices */
static void issue_fence(struct plan *p)
{
	uint32_t by = fence_executor(p);

	if (!by) {
		hm_jobs_alert(p->j, p->job->id, "job %llu: no other member can fence node %u",
			      (unsigned long long)p->job->id, p->job->target_host);
		if (p->job->kind == HM_JOB_FENCE)
			hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED,
					  "no other member to fence the host from");
		return;
	}
	hm_jobs_issue_step(p->j, p->job->id, p->next_seq, HM_STEP_FENCE, by, NULL, 0);
}

static void plan_fence(struct plan *p)
{
	const struct hm_job_step *last = last_fence(p);

	if (last && last->state == HM_STEP_FAILED) {
		/* escalation ended: an alert, and the operator's `fence confirm` */
		hm_jobs_alert(p->j, p->job->id, "recovery of node %u: fencing failed on every level; "
			      "nothing is rebuilt until `hamonctl fence confirm`", p->job->target_host);
		return;
	}
	if (!fence_allowed(p))
		return;
	/* off is idempotent: an unknown outcome is fenced again, after a pause
	 * when its executor is still here (no tight loop), at once if it left */
	if (last && last->state == HM_STEP_UNKNOWN && hm_membership_in_group(p->m, last->host) &&
	    !hm_jobs_retry_after(p->j, last->updated_ms, RETRY_UNKNOWN_MS))
		return;
	issue_fence(p);
}

/* an operator's fence: one fence step (no storm guard: a person asked);
 * the job ends with its outcome */
static void plan_operator_fence(struct plan *p)
{
	const struct hm_job_step *last = last_fence(p);

	if (!last) {
		issue_fence(p);
		return;
	}
	if (last->state == HM_STEP_UNKNOWN) {
		plan_fence(p);
		return;
	}
	hm_jobs_issue_end(p->j, p->job->id,
			  last->state == HM_STEP_DONE ? HM_JOB_DONE : HM_JOB_FAILED,
			  last->state == HM_STEP_DONE ? "the host is proven off" :
			  "fencing failed on every level");
}

/*
 * A drain: every running instance of a host in maintenance is live-migrated
 * away by the host's own hamond, at most migration_max_parallel_per_host at
 * once out of it and into each destination.  One failure does not stop the
 * others; the job ends with every outcome.  If the host leaves mid-drain,
 * the drain ends and a recovery takes over (both ends of an unfinished
 * migration are looked at before anything is rebuilt).
 */
static void plan_drain(struct plan *p, size_t in_flight)
{
	struct hm_place_request *want = NULL;
	struct hm_place_result *res = NULL;
	const struct hm_host *src = host_of(&p->hosts, p->job->target_host);
	int64_t limit = hm_cluster_policy_int(p->s, "migration_max_parallel_per_host");
	size_t i, k, n_want = 0, migrated = 0, failed = 0, waiting = 0;
	uint32_t seq = p->next_seq;
	const uint32_t *members;
	size_t n_members = hm_membership_totem_members(p->m, &members);
	char msg[MSG_MAX];

	if (!in_set(members, n_members, p->job->target_host)) {
		if (!in_flight)
			hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED,
					  "the host left during its drain: a recovery takes over");
		return;
	}
	if (!src || !src->maintenance) {
		if (!in_flight)
			hm_jobs_issue_end(p->j, p->job->id, HM_JOB_CANCELLED, "maintenance is off");
		return;
	}
	for (i = 0; i < p->steps.n; i++)
		if (p->steps.v[i].action == HM_STEP_MIGRATE && p->steps.v[i].state == HM_STEP_DONE)
			migrated++;
	want = calloc(p->insts.n + 1, sizeof(*want));
	res = calloc(p->insts.n + 1, sizeof(*res));
	if (!want || !res)
		goto out;
	for (i = 0; i < p->insts.n; i++) {
		const struct hm_instance *in = &p->insts.v[i].row;
		const struct hm_job_step *mig = last_step_of(p, in->uuid, HM_STEP_MIGRATE);

		if (in->owner != p->job->target_host ||
		    (in->observed != HM_OBSERVED_RUNNING && in->observed != HM_OBSERVED_PAUSED))
			continue;
		if (mig && mig->state == HM_STEP_INTENT) {
			waiting++;
			continue;
		}
		if (mig && mig->state == HM_STEP_FAILED) {
			failed++;
			continue;
		}
		if (mig && mig->state == HM_STEP_UNKNOWN) {
			/* the same destination again: the source looks first */
			if ((int64_t)in_flight < limit &&
			    hm_jobs_retry_after(p->j, mig->updated_ms, RETRY_UNKNOWN_MS)) {
				hm_jobs_issue_step(p->j, p->job->id, seq++, HM_STEP_MIGRATE, mig->host,
						   in->uuid, mig->target);
				in_flight++;
			}
			waiting++;
			continue;
		}
		want[n_want++] = (struct hm_place_request){ .instance = in };
	}
	if (n_want) {
		struct hm_place_input input = { .want = want, .n_want = n_want,
						.exclude_hosts = &p->job->target_host,
						.n_exclude_hosts = 1 };

		if (place(p, &input, res) < 0)
			goto out;
		for (i = 0; i < n_want; i++) {
			size_t into = 0;

			if (!res[i].target) {
				hm_jobs_alert(p->j, p->job->id, "drain of node %u: %s cannot be placed: %s",
					      p->job->target_host, want[i].instance->name, res[i].reason);
				failed++;
				continue;
			}
			for (k = 0; k < p->steps.n; k++)
				into += p->steps.v[k].state == HM_STEP_INTENT &&
					p->steps.v[k].target == res[i].target;
			waiting++;
			if ((int64_t)in_flight >= limit || (int64_t)into >= limit)
				continue;	/* bounded: the next round takes it */
			snprintf(msg, sizeof(msg), "%s migrates to node %u", want[i].instance->name,
				 res[i].target);
			hm_jobs_issue_history(p->j, p->job->id, "instance.migrating", res[i].target,
					      want[i].instance->uuid, msg);
			hm_jobs_issue_step(p->j, p->job->id, seq++, HM_STEP_MIGRATE, p->job->target_host,
					   want[i].instance->uuid, res[i].target);
			in_flight++;
		}
	}
	if (!waiting && !in_flight) {
		snprintf(msg, sizeof(msg), "%zu migrated, %zu failed", migrated, failed);
		hm_jobs_issue_end(p->j, p->job->id, failed ? HM_JOB_FAILED : HM_JOB_DONE, msg);
	}
out:
	free(want);
	free(res);
}

/* place one instance, on `only` if given (an operator's choice must pass
 * the same checks): the target, or 0 and why */
static uint32_t place_one(struct plan *p, const struct hm_instance *in, uint32_t only,
			  char *why, size_t len)
{
	struct hm_place_request want = { .instance = in };
	struct hm_place_result res = { 0 };
	struct hm_place_input input = { .want = &want, .n_want = 1, .target = only };

	if (place(p, &input, &res) < 0) {
		snprintf(why, len, "placement failed");
		return 0;
	}
	snprintf(why, len, "%s", res.reason);
	return res.target;
}

/* an operator's single live migration (hamonctl migrate INSTANCE [HOST]) */
static void plan_migrate(struct plan *p, size_t in_flight)
{
	const struct hm_instance *in = NULL;
	const struct hm_job_step *mig;
	char why[MSG_MAX], msg[MSG_MAX + 64];
	uint32_t dest;
	size_t i;

	for (i = 0; i < p->insts.n && p->job->instance; i++)
		if (!strcmp(p->insts.v[i].uuid, p->job->instance))
			in = &p->insts.v[i].row;
	if (in_flight)
		return;
	if (!in) {
		hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED, "the instance is gone");
		return;
	}
	mig = last_step_of(p, in->uuid, HM_STEP_MIGRATE);
	if (mig && (mig->state == HM_STEP_DONE || mig->state == HM_STEP_FAILED)) {
		snprintf(msg, sizeof(msg), "%s to node %u", mig->state == HM_STEP_DONE ?
			 "migrated" : "failed", mig->target);
		hm_jobs_issue_end(p->j, p->job->id, mig->state == HM_STEP_DONE ? HM_JOB_DONE :
				  HM_JOB_FAILED, msg);
		return;
	}
	if (mig) {	/* unknown: the same destination, the source looks first */
		if (!hm_membership_in_group(p->m, mig->host))
			hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED,
					  "the source left mid-migration: a recovery takes over");
		else if (hm_jobs_retry_after(p->j, mig->updated_ms, RETRY_UNKNOWN_MS))
			hm_jobs_issue_step(p->j, p->job->id, p->next_seq, HM_STEP_MIGRATE, mig->host,
					   in->uuid, mig->target);
		return;
	}
	if (!hm_membership_in_group(p->m, in->owner)) {
		hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED,
				  "its host is not running hamond: nothing can migrate it");
		return;
	}
	if (p->job->target_host == in->owner) {
		hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED, "it already runs there");
		return;
	}
	dest = place_one(p, in, p->job->target_host, why, sizeof(why));
	if (!dest) {
		snprintf(msg, sizeof(msg), "refused: %s", why);
		hm_jobs_issue_end(p->j, p->job->id, HM_JOB_FAILED, msg);
		return;
	}
	hm_jobs_issue_step(p->j, p->job->id, p->next_seq, HM_STEP_MIGRATE, in->owner, in->uuid, dest);
}

/* the instances the job still has to bring up, and the verdict on the rest */
static void plan_rebuild(struct plan *p)
{
	struct hm_place_request *want = NULL;
	struct hm_place_result *res = NULL;
	size_t i, n_want = 0, started = 0, lost = 0, pending = 0, waiting = 0;
	uint32_t seq = p->next_seq;
	char msg[MSG_MAX];

	want = calloc(p->insts.n + 1, sizeof(*want));
	res = calloc(p->insts.n + 1, sizeof(*res));
	if (!want || !res)
		goto out;
	for (i = 0; i < p->insts.n; i++) {
		const struct hm_instance *in = &p->insts.v[i].row;
		const struct hm_job_step *start = last_step_of(p, in->uuid, HM_STEP_START);
		const struct hm_job_step *obs = last_step_of(p, in->uuid, HM_STEP_OBSERVE);

		if (start) {
			if (start->state == HM_STEP_DONE) {
				started++;
			} else if (start->state == HM_STEP_UNKNOWN) {
				/* only the same target, after it looked */
				if (hm_membership_in_group(p->m, start->host) &&
				    hm_jobs_retry_after(p->j, start->updated_ms, RETRY_UNKNOWN_MS))
					hm_jobs_issue_step(p->j, p->job->id, seq++, HM_STEP_START,
							   start->host, in->uuid, 0);
				waiting++;
			} else if (start->state == HM_STEP_FAILED && in->owner == start->host) {
				want[n_want++] = (struct hm_place_request){ .instance = in,
									   .exclude = start->host };
			}
			continue;
		}
		if (in->owner != p->job->target_host)
			continue;
		if (in->ha_policy != HM_HA_POLICY_HA || in->requested != HM_REQUESTED_STARTED)
			continue;
		{
			/* a migration whose end is not recorded: the destination may
			 * run it.  Rebuild only there (it looks first), once it is a
			 * member; if it is lost too, once it is fenced. */
			uint32_t dest = unresolved_migration(p->s, in->uuid);
			const struct hm_host *dh = dest ? host_of(&p->hosts, dest) : NULL;

			if (dest && hm_membership_in_group(p->m, dest)) {
				hm_jobs_issue_step(p->j, p->job->id, seq++, HM_STEP_START, dest,
						   in->uuid, 0);
				waiting++;
				continue;
			}
			if (dest && !(dh && dh->state == HM_HOST_FENCED)) {
				hm_jobs_alert(p->j, p->job->id, "recovery of node %u: %s was migrating to "
					      "node %u, which is not here: waiting until it is fenced",
					      p->job->target_host, in->name, dest);
				pending++;
				continue;
			}
		}
		if (in->storage == HM_STORAGE_LOCAL) {
			if (!obs)
				hm_jobs_issue_step(p->j, p->job->id, seq++, HM_STEP_OBSERVE, p->me,
						   in->uuid, 0);
			lost += obs != NULL;
			continue;
		}
		want[n_want++] = (struct hm_place_request){ .instance = in };
	}
	if (n_want) {
		struct hm_place_input input = { .want = want, .n_want = n_want,
						.exclude_hosts = &p->job->target_host,
						.n_exclude_hosts = 1 };

		if (place(p, &input, res) < 0)
			goto out;
		for (i = 0; i < n_want; i++) {
			if (!res[i].target) {
				pending++;
				hm_jobs_alert(p->j, p->job->id, "recovery of node %u: %s pending: %s",
					      p->job->target_host, want[i].instance->name, res[i].reason);
				continue;
			}
			snprintf(msg, sizeof(msg), "%s placed on node %u", want[i].instance->name,
				 res[i].target);
			hm_jobs_issue_history(p->j, p->job->id, "instance.placed", res[i].target,
					      want[i].instance->uuid, msg);
			hm_jobs_issue_step(p->j, p->job->id, seq++, HM_STEP_START, res[i].target,
					   want[i].instance->uuid, 0);
			waiting++;
		}
	}
	if (seq > p->next_seq)
		hm_jobs_failpoint(p->j, "placement");
	if (seq == p->next_seq && !waiting && !pending) {
		snprintf(msg, sizeof(msg), "%zu started elsewhere, %zu lost (local disk)", started, lost);
		hm_jobs_issue_end(p->j, p->job->id, HM_JOB_DONE, msg);
	}
out:
	free(want);
	free(res);
}

void hm_recovery_plan(struct hm_jobs *j, struct hm_membership *m, struct hm_store *s,
		      const struct hm_job *job)
{
	struct plan p = { j, m, s, job, .me = hm_membership_local_nodeid(m) };
	const struct hm_host *target;
	const uint32_t *members;
	size_t i, n_members, in_flight;
	int rc;

	if (job->kind != HM_JOB_RECOVERY && job->kind != HM_JOB_FENCE &&
	    job->kind != HM_JOB_EVACUATE && job->kind != HM_JOB_DRAIN &&
	    job->kind != HM_JOB_MIGRATE)
		return;
	rc = hm_store_job_step_list(s, job->id, collect_step, &p.steps);
	if (rc == 0)
		rc = p.steps.rc;
	if (rc == 0)
		rc = hm_snap_hosts_load(s, &p.hosts);
	if (rc == 0)
		rc = hm_snap_instances_load(s, &p.insts);
	if (rc < 0) {
		hm_jobs_log(j, LOG_ERR, "recovery: cannot read the store: %s", strerror(-rc));
		goto out;
	}
	for (i = 0; i < p.steps.n; i++)
		if (p.steps.v[i].seq >= p.next_seq)
			p.next_seq = p.steps.v[i].seq + 1;
	in_flight = steps_in_flight(&p);
	if (job->kind == HM_JOB_DRAIN) {
		plan_drain(&p, in_flight);
		goto out;
	}
	if (job->kind == HM_JOB_MIGRATE) {
		plan_migrate(&p, in_flight);
		goto out;
	}
	if (in_flight)
		goto out;
	target = host_of(&p.hosts, job->target_host);
	n_members = hm_membership_totem_members(m, &members);
	if (job->kind == HM_JOB_FENCE) {
		plan_operator_fence(&p);
		goto out;
	}
	if (job->kind == HM_JOB_EVACUATE && !fenced(&p, target)) {
		/* an operator's evacuation rebuilds only what is proven off */
		hm_jobs_issue_end(j, job->id, HM_JOB_FAILED,
				  "the host is not fenced: `hamonctl fence HOST`, or "
				  "`hamonctl fence confirm HOST` once it is off");
		goto out;
	}
	if (!fenced(&p, target)) {
		if (in_set(members, n_members, job->target_host) && !any_start(&p)) {
			/* back before it was fenced: it kept its instances */
			hm_jobs_issue_end(j, job->id, HM_JOB_CANCELLED,
					  "the node came back before it was fenced");
			goto out;
		}
		plan_fence(&p);
		goto out;
	}
	plan_rebuild(&p);
out:
	free(p.steps.v);
	free(p.steps.inst);
	hm_snap_hosts_free(&p.hosts);
	hm_snap_instances_free(&p.insts);
}

enum hm_local_verdict hm_recovery_local_domain(struct hm_store *s, uint32_t me, const char *uuid,
					       bool fenced_back)
{
	struct hm_instance *row = NULL;
	enum hm_local_verdict v = HM_LOCAL_PUBLISH;

	if (hm_store_instance_get(s, uuid, &row) == 0 && row->owner && row->owner != me)
		v = fenced_back ? HM_LOCAL_REMOVE : HM_LOCAL_ALARM;
	free(row);
	return v;
}
