/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamond's step runner: the seam's step_run (jobs.h).  Each step named for
 * this node runs here, off the loop (libvirt actions on their threads, fence
 * agents as child processes), looks first, and reports once through
 * hm_jobs_step_finished().  doc/jobs.md has the semantics.
 */
#define HM_SUBSYS "steps"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "jobs.h"
#include "libvirt_host.h"
#include "log.h"
#include "cluster_policy.h"

/* a start or a removal that takes longer has an unknown outcome */
#define HM_STEP_LIBVIRT_TIMEOUT_MS 60000u

struct running_step {
	struct hm_daemon *d;
	uint64_t job;
	uint32_t seq;
	enum hm_step_action action;
	char uuid[HM_LV_UUID_LEN + 1];
	char name[256];
	uint64_t started_ms;
	qb_loop_timer_handle timer;
};

static struct running_step *step_new(struct hm_daemon *d, const struct hm_step_order *o)
{
	struct running_step *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->d = d;
	r->job = o->job;
	r->seq = o->seq;
	r->action = o->action;
	snprintf(r->uuid, sizeof(r->uuid), "%s", o->instance ? o->instance : "");
	r->started_ms = hm_daemon_now_ms();
	return r;
}

static void step_end(struct running_step *r, enum hm_step_state state, const char *result)
{
	hm_jobs_step_finished(r->d->jobs, r->job, r->seq, state, result);
	free(r);
}

/* ---- start: define the stored XML here and start it ---- */

static void start_done(void *data, enum hm_lv_outcome outcome, const char *message)
{
	struct running_step *r = data;
	char msg[512];
	uint64_t ms = hm_daemon_now_ms() - r->started_ms;

	if (outcome == HM_LV_DONE) {
		snprintf(msg, sizeof(msg), "%s %s on %s (%llu ms)", r->name, message,
			 hm_nodelist_name(&r->d->nodelist, r->d->local_nodeid),
			 (unsigned long long)ms);
		hm_log_notice("job %llu: %s", (unsigned long long)r->job, msg);
		hm_jobs_record(r->d->jobs, r->job, "instance.started", r->d->local_nodeid,
				      r->uuid, msg);
		step_end(r, HM_STEP_DONE, message);
		return;
	}
	hm_log_warn("job %llu: start of %s here: %s: %s", (unsigned long long)r->job, r->name,
		    hm_lv_outcome_to_str(outcome), message);
	step_end(r, outcome == HM_LV_FAILED ? HM_STEP_FAILED : HM_STEP_UNKNOWN, message);
}

static int run_start(struct hm_daemon *d, const struct hm_step_order *o)
{
	struct hm_instance *inst = NULL;
	struct running_step *r;
	int rc;

	/* right before the start: still acting, and it is ours to start */
	if (!hm_membership_acting(d->membership))
		return -EAGAIN;
	rc = hm_store_instance_get(d->store, o->instance, &inst);
	if (rc < 0)
		return rc;
	if (inst->owner != d->local_nodeid) {
		hm_log_warn("job %llu: %s is node %u's now, not ours: not started",
			    (unsigned long long)o->job, inst->name, inst->owner);
		free(inst);
		return -EPERM;
	}
	r = step_new(d, o);
	if (!r) {
		free(inst);
		return -ENOMEM;
	}
	snprintf(r->name, sizeof(r->name), "%s", inst->name);
	rc = hm_inventory_start_domain(d, o->instance, inst->domain_xml,
				       HM_STEP_LIBVIRT_TIMEOUT_MS, start_done, r);
	free(inst);
	if (rc < 0)
		free(r);
	return rc;
}


/* ---- migrate: live, peer-to-peer, from here to the step's target ---- */

struct migration {
	struct running_step *r;
	uint32_t dest;
	uint64_t memory_mib;
	char dest_uri[512];
};

static void migrated(void *data, enum hm_lv_outcome outcome, const char *message)
{
	struct migration *m = data;
	struct running_step *r = m->r;
	char msg[512];

	if (outcome == HM_LV_DONE) {
		snprintf(msg, sizeof(msg), "%s migrated to node %u: %s", r->name, m->dest, message);
		hm_log_notice("job %llu: %s", (unsigned long long)r->job, msg);
		hm_jobs_record(r->d->jobs, r->job, "instance.migrated", m->dest, r->uuid, msg);
	} else {
		hm_log_warn("job %llu: migration of %s to node %u: %s: %s", (unsigned long long)r->job,
			    r->name, m->dest, hm_lv_outcome_to_str(outcome), message);
	}
	free(m);
	step_end(r, outcome == HM_LV_DONE ? HM_STEP_DONE :
		    outcome == HM_LV_FAILED ? HM_STEP_FAILED : HM_STEP_UNKNOWN, message);
}

static void migration_progress(void *data, const struct hm_lv_migrate_progress *p)
{
	struct migration *m = data;

	hm_log_info("migration of %s: %llu MiB left, %llu MiB/s, expected downtime %llu ms%s",
		    m->r->name, (unsigned long long)(p->data_remaining >> 20),
		    (unsigned long long)(p->memory_bps >> 20),
		    (unsigned long long)p->expected_downtime_ms, p->postcopy ? ", post-copy" : "");
}

/* the source looks first: a domain that is not here any more left with a
 * persistent, undefine-source migration, which undefines only on success */
static void looked(void *data, enum hm_lv_outcome outcome, const char *message)
{
	struct migration *m = data;
	struct hm_daemon *d = m->r->d;
	struct hm_lv_migrate_params p = { 0 };
	int rc;

	if (outcome != HM_LV_DONE || strcmp(message, "active")) {
		if (outcome == HM_LV_DONE && !strcmp(message, "absent")) {
			migrated(m, HM_LV_DONE, "not here any more: it left with its migration");
			return;
		}
		migrated(m, outcome == HM_LV_DONE ? HM_LV_FAILED : HM_LV_UNKNOWN,
			 outcome == HM_LV_DONE ? "not running here" : message);
		return;
	}
	p.dest_uri = m->dest_uri;
	p.unsafe = hm_cluster_policy_bool(d->store, "migration_unsafe_shared_dir");
	p.bandwidth_mibs = (uint64_t)hm_cluster_policy_int(d->store, "migration_bandwidth_mibs");
	p.auto_converge = hm_cluster_policy_bool(d->store, "migration_auto_converge");
	p.max_downtime_ms = (uint64_t)hm_cluster_policy_int(d->store, "migration_downtime_ms");
	p.max_downtime_limit_ms = p.max_downtime_ms * 4;
	p.max_downtime_steps = 3;
	/* proportional to memory, at least one GiB's worth */
	p.completion_timeout_ms = (uint64_t)hm_cluster_policy_int(d->store, "migration_timeout_s_per_gib") *
				  1000 * (m->memory_mib > 1024 ? (m->memory_mib + 1023) / 1024 : 1);
	p.on_timeout = hm_cluster_policy_enum(d->store, "migration_on_timeout") == 0 ?
		       HM_LV_MIGRATE_ABORT : HM_LV_MIGRATE_POSTCOPY;
	p.timeout_ms = p.completion_timeout_ms * 2 + 60000;
	rc = hm_inventory_migrate_domain(d, m->r->uuid, &p, migration_progress, migrated, m);
	if (rc < 0) {
		char why[128];

		snprintf(why, sizeof(why), "not started: %s", strerror(-rc));
		migrated(m, HM_LV_UNKNOWN, why);
	}
}

static int run_migrate(struct hm_daemon *d, const struct hm_step_order *o)
{
	struct hm_instance *inst = NULL;
	struct hm_host *dest = NULL;
	struct migration *m;
	int rc;

	if (!hm_membership_acting(d->membership))
		return -EAGAIN;
	rc = hm_store_instance_get(d->store, o->instance, &inst);
	if (rc == 0)
		rc = hm_store_host_get(d->store, o->target, &dest);
	m = rc == 0 ? calloc(1, sizeof(*m)) : NULL;
	if (rc == 0 && m)
		m->r = step_new(d, o);
	if (rc == 0 && (!m || !m->r))
		rc = -ENOMEM;
	if (rc == 0) {
		snprintf(m->r->name, sizeof(m->r->name), "%s", inst->name);
		m->dest = o->target;
		m->memory_mib = inst->memory_mib;
		/* its migration URI if it published one, else its libvirtd by name */
		if (dest->migration_uri)
			snprintf(m->dest_uri, sizeof(m->dest_uri), "%s", dest->migration_uri);
		else
			snprintf(m->dest_uri, sizeof(m->dest_uri), "qemu+tcp://%s/system", dest->name);
		rc = hm_inventory_lookup_domain(d, o->instance, HM_STEP_LIBVIRT_TIMEOUT_MS, looked, m);
	}
	if (rc < 0 && m) {
		free(m->r);
		free(m);
	}
	free(inst);
	free(dest);
	return rc;
}

/* ---- observe: a local-disk instance is recorded as lost ---- */

static void observe_fire(void *data)
{
	step_end(data, HM_STEP_DONE, "local disk: lost, never started from a stale copy");
}

static int run_observe(struct hm_daemon *d, const struct hm_step_order *o)
{
	struct running_step *r = step_new(d, o);

	if (!r)
		return -ENOMEM;
	/* never from inside step_run: through the loop */
	if (qb_loop_timer_add(d->loop, QB_LOOP_MED, 0, r, observe_fire, &r->timer) != 0) {
		free(r);
		return -ENOMEM;
	}
	return 0;
}

int hm_steps_run(struct hm_daemon *d, const struct hm_step_order *o)
{
	switch (o->action) {
	case HM_STEP_START:
		return run_start(d, o);
	case HM_STEP_OBSERVE:
		return run_observe(d, o);
	case HM_STEP_FENCE:
		return hm_steps_fence(d, o);
	case HM_STEP_MIGRATE:
		return run_migrate(d, o);
	default:
		hm_log_warn("job %llu: this hamond does not run %s steps yet",
			    (unsigned long long)o->job, hm_step_action_to_str(o->action));
		return -ENOTSUP;
	}
}
