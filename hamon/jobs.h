/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The job framework (doc/jobs.md): jobs are persisted sequences of steps in
 * the replicated store, driven by the coordinator and run by the members.
 *
 * - The coordinator alone creates jobs for what it sees (a corosync node
 *   that owns instances is gone: a recovery job) and decides each job's
 *   next steps.  Each step is an intent written to the store (step-intent)
 *   before it runs, naming the member that runs it.
 * - The member named runs the step through the seam (step_run): it first
 *   looks whether the effect is already there (libvirt lookup, fence
 *   status), acts only if it is absent, and reports done, failed or
 *   unknown (step-result).  A member that restarts finds its intents in
 *   the store and runs them again, looking first: no effect is duplicated.
 * - A step in flight on a member that is still in the group is waited for;
 *   one whose member left is called unknown by the coordinator.  So a new
 *   coordinator issues nothing until its predecessor's steps are resolved.
 * - Nothing is issued without acting (quorate, synced, enough hamonds).
 *
 * Pure: the store is the state; the world is reached through the seam.
 */
#ifndef HM_JOBS_H
#define HM_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "membership.h"
#include "replica.h"
#include "seam.h"
#include "store.h"

/* what a member's step_run is asked to do */
struct hm_step_order {
	uint64_t job;
	uint32_t seq;
	enum hm_step_action action;
	const char *instance;		/* uuid, NULL for a fence */
	uint32_t subject;		/* the job's host: the one to fence, the lost owner */
	uint32_t target;		/* a migration's destination, else 0 */
};

struct hm_jobs;

struct hm_jobs *hm_jobs_new(const struct hm_seam *seam, struct hm_membership *m,
			    struct hm_store *store, struct hm_replica *r);
/* free after the replica: its outstanding submissions report to us */
void hm_jobs_free(struct hm_jobs *j);
/* the replica is about to go: stop submitting */
void hm_jobs_close(struct hm_jobs *j);

/* something changed (updates applied, a sync, the membership): look again
 * soon; many kicks in a row make one evaluation */
void hm_jobs_kick(struct hm_jobs *j);

/* a step started by step_run is over on this member */
void hm_jobs_step_finished(struct hm_jobs *j, uint64_t job, uint32_t seq,
			   enum hm_step_state state, const char *result);

/* the wall clock, ms: for decisions that compare with times in the store */
uint64_t hm_jobs_wall_ms(const struct hm_jobs *j);
/* a cluster-wide unique id for a job or a history event made here now */
uint64_t hm_jobs_new_id(struct hm_jobs *j);

/*
 * For the job kinds' planners (recovery.c): what the coordinator issues.
 * Each is one replicated change; until it is decided the job is busy and
 * not planned again.  0 or -errno (logged here).
 */
int hm_jobs_issue_create(struct hm_jobs *j, enum hm_job_kind kind, uint32_t host,
			 const char *reason);
/* run by host; target: a migration's destination (else 0) */
int hm_jobs_issue_step(struct hm_jobs *j, uint64_t job, uint32_t seq, enum hm_step_action action,
		       uint32_t host, const char *instance, uint32_t target);
int hm_jobs_issue_unknown(struct hm_jobs *j, uint64_t job, uint32_t seq, const char *why);
int hm_jobs_issue_end(struct hm_jobs *j, uint64_t job, enum hm_job_state state,
		      const char *reason);
int hm_jobs_issue_history(struct hm_jobs *j, uint64_t job, const char *kind, uint32_t host,
			  const char *instance, const char *message);
/* for a step's executor: a fact it saw happen (an agent's attempt, a domain
 * started), kept and submitted later if this member cannot submit now */
int hm_jobs_record(struct hm_jobs *j, uint64_t job, const char *kind, uint32_t host,
		   const char *instance, const char *message);
/*
 * The startup window: a node this member never saw in the corosync
 * membership since it started acting counts as lost only once window_ms
 * passed since then (it may still be booting after a cold start).  The
 * milliseconds left (and a look again then), or 0: lost now.
 */
uint64_t hm_jobs_unseen_lost_in(struct hm_jobs *j, uint32_t nodeid, uint64_t window_ms);
/* a retry of what ended unknown at since_wall_ms (the step's time) is due
 * delay_ms later: true when it is, else false and a look again then */
bool hm_jobs_retry_after(struct hm_jobs *j, int64_t since_wall_ms, uint64_t delay_ms);
/* tests: pass the failpoint name (doc/jobs.md "Failpoints") */
void hm_jobs_failpoint(struct hm_jobs *j, const char *name);
/* a change for job (or, job 0, a job-create for host) is undecided */
bool hm_jobs_busy(const struct hm_jobs *j, uint64_t job, uint32_t host);
void hm_jobs_log(struct hm_jobs *j, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* an alert that needs an operator, logged once per job by this member */
void hm_jobs_alert(struct hm_jobs *j, uint64_t job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
