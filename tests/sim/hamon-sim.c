/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamon-sim: the tier-2 simulator (doc/simulator.md).
 *
 * It links the same pure core as hamond (libhamon.a: membership, wire, seam)
 * and fills the seam with fakes: one virtual clock in milliseconds, one-shot
 * timers, and a fake corosync that forms rings, delivers CPG configuration
 * changes and agreed-order messages, and quorum notifications that lag the
 * ring by a configurable delay.  It plays a scenario's cmdlist, writes a
 * deterministic log, and checks the safety rules after every step on its own,
 * so that a blessed-but-wrong log.expect cannot hide a violation.
 *
 * Model of corosync (what the simulator promises the core):
 *
 * - A node has a corosync (up/down), a hamond (running or not; a restarted
 *   hamond is a new hm_membership instance on the same clock) and a network
 *   label; the nodes with corosync up and the same label form one ring.
 * - Whenever the rings change, every changed ring gets a new ring id (rep =
 *   lowest member, seq = one global counter, +4 per change: two partitions
 *   formed by the same change share a seq, as in real corosync).  Its
 *   connected hamonds get the totem change, then the CPG group change (one
 *   confchg per joining node, each with the final member list), and after
 *   the quorum lag the quorum notification for that ring (quorate = votes >
 *   expected/2).  A quorum notification whose ring was replaced before it
 *   fired is dropped, as corosync drops an aborted sync.
 * - Messages are delivered after the latency, in one agreed order, to the
 *   members of the CPG configuration they were sent in.  At a configuration
 *   change every message still queued in an ending configuration is delivered
 *   first (to its members that are still connected), then the change
 *   (virtual synchrony); a message sent while a change is being delivered
 *   belongs to the new configuration.
 * - kill changes ring and group at once; a clean corosync-stop makes the
 *   CPG leave first and the ring change a leave lag later (measured: 7 ms).
 *
 * Invariants (doc/simulator.md): 1 quorum, 2 one coordinator, 3 the
 * coordinator is here, 4 liveness at quiescence, 5 wire, 6 epochs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <syslog.h>

#include "jobs.h"
#include "membership.h"
#include "recovery.h"
#include "replica.h"
#include "store.h"
#include "seam.h"
#include "wire.h"

#define SIM_MAX_NODES 16
#define SIM_QUIET_MS 10000		/* quiet: nothing due within this */
#define SIM_MAX_DELAY_MS 5000		/* latency and quorum lag stay below */
#define SIM_MAX_STEPS 1000000		/* a settle that never ends is a bug */
#define SIM_LINE_MAX 512
#define SIM_MAX_VMS 64
#define SIM_MAX_STEPS_RUNNING 256	/* fake steps in flight at once */
#define SIM_FENCE_MS 100		/* a fake fence agent takes this long */
#define SIM_START_MS 50			/* a fake libvirt start takes this long */
#define SIM_MIGRATE_MS 200		/* a fake live migration takes this long */

#define EXIT_CHECK 1	/* an invariant or an expectation failed */
#define EXIT_INPUT 2	/* bad usage or a bad cmdlist */

typedef uint32_t nodeset_t;	/* bit i-1 = node i */

/* ---- commands ---- */

enum cmd_kind {
	C_NODES, C_START, C_ADVANCE, C_KILL, C_CRASH, C_CS_STOP, C_CS_START,
	C_HM_STOP, C_HM_START, C_PARTITION, C_HEAL, C_SET_LAG, C_SET_LATENCY,
	C_SET_TRACE, C_FLOW, C_INJECT, C_STATUS, C_EXP_COORD, C_EXP_QUORUM,
	C_EXP_SYNCED, C_AT, C_SETTLE, C_SET_LEAVE_LAG, C_POLICY, C_EXP_POLICY, C_WIPE,
	C_VM, C_FENCE_MODE, C_CONFIRM, C_CAPACITY, C_EXP_RUNNING, C_EXP_JOB, C_EXP_OWNER,
	C_FAILPOINT, C_HOST_FLAG, C_LIBVIRT, C_START_MODE, C_OPERATOR_JOB, C_MAINTENANCE,
	C_MIGRATE_MODE, C_MIGRATE, C_PROTO,
};

enum inject_kind { INJ_GARBAGE, INJ_TRUNCATED, INJ_WRONG_VERSION, INJ_UNKNOWN_TYPE };

struct cmd {
	enum cmd_kind kind;
	int lineno;
	char text[SIM_LINE_MAX];
	uint32_t node;
	uint64_t num;		/* ms, count, node count, expected value */
	int label[SIM_MAX_NODES + 1];	/* partition: label per node */
	char key[64], value[128];	/* policy, expect policy; vm: name, storage */
	uint64_t num2;			/* capacity: MiB; vm: vCPUs */
	uint64_t num3;			/* vm: MiB */
	int64_t prio;			/* vm: priority */
	char group[32];			/* vm: anti-affinity group */
	struct cmd *inner;	/* at */
};

/* ---- the fake world ---- */

struct sim;

struct hamond {
	struct sim *sim;
	struct node *node;
	struct hm_membership *m;
	struct hm_store *store;		/* a real sqlite file, kept across restarts */
	struct hm_replica *r;
	struct hm_jobs *jobs;
	struct hm_seam seam;
	uint64_t gen;		/* incarnation: events name (node, gen) */
	bool connected;		/* hm_membership_connected given, not lost */
	bool joined;		/* in a CPG configuration */
	nodeset_t group;
	uint64_t conf;		/* id of that CPG configuration */
	/* what corosync told this hamond, for the quorum invariant */
	bool have_totem;
	struct hm_ring_id totem;
	bool have_quorum;
	struct hm_ring_id qring;
	bool qflag;
	/* last observed, to log changes */
	bool obs_synced;
	uint32_t obs_coord;
};

struct node {
	uint32_t id;
	bool cs_up;
	bool cs_leaving;	/* graceful stop: hamond already out of the group */
	int label;
	bool has_ring;
	struct hm_ring_id ring;
	nodeset_t ring_members;
	bool quorum_published;	/* the notification for ring has fired */
	bool quorate;		/* what it said */
	struct hamond *h;	/* NULL: hamond not running */
	uint64_t flow_eagain;	/* next sends fail with -EAGAIN */
	char failpoint[32];	/* armed: its hamond aborts there ("" = none) */
	char proto_max[8];	/* its hamonds speak at most this version ("" = ours) */
	/* the fake host: its capacity, its fence device, and whether it was
	 * proven off (or an operator confirmed it) since it was last up */
	uint32_t vcpus;
	uint64_t memory_mib;
	bool fence_fails;
	bool fenced;
	bool libvirt_down;	/* its libvirt daemon is unreachable */
	bool fenced_back;	/* hamond found it fenced in the store at (re)join */
	uint32_t start_unknown;	/* its next starts run, but report "unknown" */
	uint32_t migrate_fails;	/* its next migrations out fail (the guest stays) */
};

/* an instance: where the fake libvirts run it (the one-copy truth) */
struct vm {
	char uuid[37];
	char name[32];
	enum hm_storage storage;
	uint32_t vcpus;
	uint64_t memory_mib;
	uint32_t runs_on;	/* 0: no QEMU anywhere */
	uint32_t home;		/* where it ran last */
	nodeset_t defined;	/* the fake libvirts that have a definition */
	bool autostart;		/* its definitions start at boot */
	int64_t priority;
	char group[32];		/* anti-affinity group, "" = none */
};

/* a fake step in flight on a hamond */
struct sim_step {
	bool used;
	struct hamond *h;
	struct hm_step_order o;
	char uuid[37];
};

enum ev_kind { EV_DELIVER, EV_INJECT, EV_QUORUM, EV_TIMER, EV_COMMAND, EV_CS_DOWN, EV_ABORT };

struct event {
	enum ev_kind kind;
	uint64_t time;
	uint64_t seq;		/* tie-break: scheduling order; also timer id */
	/* deliver / inject */
	uint32_t sender;
	uint64_t sender_gen;
	uint64_t conf;		/* 0: sent during a change, configuration not yet known */
	uint8_t *data;
	size_t len;
	const char *what;	/* inject kind */
	/* quorum */
	struct hm_ring_id ring;
	nodeset_t members;
	bool quorate;
	/* timer */
	uint32_t node;
	uint64_t gen;
	hm_timer_fn fn;
	void *fn_data;
	/* command */
	const struct cmd *cmd;
};

struct sim {
	uint32_t n;
	struct node nodes[SIM_MAX_NODES + 1];
	uint64_t now;
	uint64_t seq;
	uint64_t ring_seq;
	uint64_t next_gen;
	uint64_t next_conf;
	uint64_t latency;
	uint64_t quorum_lag;
	uint64_t leave_lag;	/* graceful stop: CPG leave, then the ring */
	/* invariant 6: the coordinator each reported epoch named */
	uint32_t epoch_coord[256];
	uint64_t epoch_since[256];
	uint64_t max_epoch;		/* the highest reported so far */
	uint32_t max_epoch_node;	/* who reported it */
	bool trace;
	bool transition;	/* a configuration change is being delivered */
	struct event **ev;
	size_t n_ev, cap_ev;
	FILE *out;
	const char *cmdfile;
	int lineno;		/* of the command being run, for messages */
	struct cmd **cmds;
	size_t n_cmds;
	char dbdir[64];			/* every node's database, removed at exit */
	/* invariant 8: the changes a majority accepted */
	uint64_t accepted_seq[256];
	size_t n_accepted;
	uint64_t next_change;
	/* instances and jobs (doc/simulator.md "Recovery") */
	struct vm vms[SIM_MAX_VMS];
	size_t n_vms;
	bool inventory;			/* a scenario with instances: hosts publish */
	struct sim_step steps[SIM_MAX_STEPS_RUNNING];
};

static struct sim S;	/* global: reachable at exit, so no leak reports */

/* ---- small helpers ---- */

static nodeset_t bit(uint32_t id)
{
	return (nodeset_t)1 << (id - 1);
}

static unsigned popcount(nodeset_t s)
{
	return (unsigned)__builtin_popcount(s);
}

static uint32_t lowest(nodeset_t s)
{
	return s ? (uint32_t)__builtin_ctz(s) + 1 : 0;
}

static const char *set_str(nodeset_t s, char *buf, size_t len)
{
	size_t pos = 0;
	uint32_t i;

	buf[0] = '\0';
	if (!s)
		return "-";
	for (i = 1; i <= SIM_MAX_NODES; i++) {
		if (!(s & bit(i)))
			continue;
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%u", pos ? "," : "", i);
		if (pos >= len)
			break;
	}
	return buf;
}

static size_t set_to_ids(nodeset_t s, uint32_t *ids)
{
	size_t n = 0;
	uint32_t i;

	for (i = 1; i <= SIM_MAX_NODES; i++)
		if (s & bit(i))
			ids[n++] = i;
	return n;
}

static bool ring_eq(const struct hm_ring_id *a, const struct hm_ring_id *b)
{
	return hm_ring_id_equal(a, b) != 0;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "hamon-sim: out of memory\n");
		exit(EXIT_INPUT);
	}
	return p;
}

__attribute__((format(printf, 2, 3)))
static void logline(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(s->out, "t=%llu ", (unsigned long long)s->now);
	va_start(ap, fmt);
	vfprintf(s->out, fmt, ap);
	va_end(ap);
	fputc('\n', s->out);
}

__attribute__((format(printf, 2, 3), noreturn))
static void input_error(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", s->cmdfile ? s->cmdfile : "hamon-sim", s->lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (s->out)
		fflush(s->out);
	exit(EXIT_INPUT);
}

/* An invariant or an expectation failed: say which, where and when, in the
 * log (so the diff shows it) and on stderr, and stop. */
__attribute__((format(printf, 3, 4), noreturn))
static void check_failed(struct sim *s, const char *what, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logline(s, "FAILED %s: %s", what, msg);
	fflush(s->out);
	fprintf(stderr, "hamon-sim: %s:%d: t=%llu: %s: %s\n", s->cmdfile, s->lineno,
		(unsigned long long)s->now, what, msg);
	exit(EXIT_CHECK);
}

/* ---- the event queue: (time, seq) order ---- */

static struct event *ev_add(struct sim *s, enum ev_kind kind, uint64_t time)
{
	struct event *e = xcalloc(1, sizeof(*e));

	if (s->n_ev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? 2 * s->cap_ev : 64;
		s->ev = realloc(s->ev, s->cap_ev * sizeof(*s->ev));
		if (!s->ev) {
			fprintf(stderr, "hamon-sim: out of memory\n");
			exit(EXIT_INPUT);
		}
	}
	e->kind = kind;
	e->time = time;
	e->seq = ++s->seq;
	s->ev[s->n_ev++] = e;
	return e;
}

static void ev_free(struct event *e)
{
	if (!e)
		return;
	free(e->data);
	free(e);
}

static void ev_remove_at(struct sim *s, size_t i)
{
	memmove(&s->ev[i], &s->ev[i + 1], (s->n_ev - i - 1) * sizeof(*s->ev));
	s->n_ev--;
}

static bool ev_before(const struct event *a, const struct event *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* index of the first event in order that pred accepts, or n_ev */
static size_t ev_first(const struct sim *s, bool (*pred)(const struct event *, const void *),
		       const void *arg)
{
	size_t i, best = s->n_ev;

	for (i = 0; i < s->n_ev; i++) {
		if (pred && !pred(s->ev[i], arg))
			continue;
		if (best == s->n_ev || ev_before(s->ev[i], s->ev[best]))
			best = i;
	}
	return best;
}

/* ---- the seam of one hamond ---- */

static uint64_t seam_now(void *ctx)
{
	struct hamond *h = ctx;

	return h->sim->now;
}

static int seam_timer_start(void *ctx, uint64_t after_ms, hm_timer_fn fn, void *data,
			    hm_timer_t *ret_timer)
{
	struct hamond *h = ctx;
	struct event *e = ev_add(h->sim, EV_TIMER, h->sim->now + after_ms);

	e->node = h->node->id;
	e->gen = h->gen;
	e->fn = fn;
	e->fn_data = data;
	*ret_timer = e->seq;
	return 0;
}

static void seam_timer_stop(void *ctx, hm_timer_t timer)
{
	struct hamond *h = ctx;
	struct sim *s = h->sim;
	size_t i;

	for (i = 0; i < s->n_ev; i++) {
		if (s->ev[i]->kind == EV_TIMER && s->ev[i]->seq == timer) {
			ev_free(s->ev[i]);
			ev_remove_at(s, i);
			return;
		}
	}
}

static int seam_send(void *ctx, const void *msg, size_t len)
{
	struct hamond *h = ctx;
	struct sim *s = h->sim;
	struct event *e;

	/* like cpg_mcast_joined: only a joined member can multicast */
	if (!h->connected || !h->joined)
		return -ENOTCONN;
	if (h->node->flow_eagain > 0) {
		h->node->flow_eagain--;
		logline(s, "n%u send: EAGAIN (flow control, %llu more)", h->node->id,
			(unsigned long long)h->node->flow_eagain);
		return -EAGAIN;
	}
	e = ev_add(s, EV_DELIVER, s->now + s->latency);
	e->sender = h->node->id;
	e->sender_gen = h->gen;
	e->conf = s->transition ? 0 : h->conf;
	e->data = xcalloc(1, len ? len : 1);
	memcpy(e->data, msg, len);
	e->len = len;
	return 0;
}

__attribute__((format(printf, 3, 0)))
static void seam_log(void *ctx, int prio, const char *fmt, va_list ap)
{
	struct hamond *h = ctx;
	char buf[1024];

	if (prio > LOG_NOTICE && !h->sim->trace)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logline(h->sim, "n%u core: %s", h->node->id, buf);
}

/* ---- hamond instances ---- */

static void db_path(const struct sim *s, uint32_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/n%u.db", s->dbdir, id);
}

/* a store that needed a rejoin failed locally: never in a simulation */
static void seam_rejoin(void *ctx, const char *why)
{
	struct hamond *h = ctx;

	check_failed(h->sim, "invariant 7 (replicas)", "n%u had to leave and resync: %s",
		     h->node->id, why);
}

static uint64_t seam_wall(void *ctx)
{
	struct hamond *h = ctx;

	return 1700000000000ull + h->sim->now;
}


/* ---- the fake hosts: libvirt, fence devices, inventory ---- */

static void reconcile(struct sim *s);
static void hamond_free(struct sim *s, struct hamond *h);

static struct vm *vm_by_uuid(struct sim *s, const char *uuid)
{
	size_t i;

	for (i = 0; i < s->n_vms; i++)
		if (uuid && !strcmp(s->vms[i].uuid, uuid))
			return &s->vms[i];
	return NULL;
}

static struct vm *vm_by_name(struct sim *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_vms; i++)
		if (!strcmp(s->vms[i].name, name))
			return &s->vms[i];
	return NULL;
}

static void publish_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct hamond *h = data;

	(void)seq;
	if (rc < 0 && rc != -ECONNRESET)
		logline(h->sim, "n%u publish refused: %s", h->node->id, message);
}

static void publish(struct hamond *h, uint16_t op, const char *payload)
{
	char err[256];

	if (hm_replica_submit(h->r, op, payload, publish_done, h, err, sizeof(err)) < 0)
		logline(h->sim, "n%u publish refused at once: %s", h->node->id, err);
}

static void publish_vm(struct hamond *h, const struct vm *v)
{
	char payload[1024];
	char group[64] = "";

	if (v->group[0])
		snprintf(group, sizeof(group), ",\"affinity\":\"%s\"", v->group);
	snprintf(payload, sizeof(payload),
		 "{\"uuid\":\"%s\",\"name\":\"%s\",\"xml\":\"<domain><name>%s</name></domain>\","
		 "\"vcpus\":%u,\"memory_mib\":%llu,\"storage\":\"%s\",\"ha_policy\":\"ha\","
		 "\"priority\":%lld,\"observed\":\"running\"%s}",
		 v->uuid, v->name, v->name, v->vcpus, (unsigned long long)v->memory_mib,
		 hm_storage_to_str(v->storage), (long long)v->priority, group);
	publish(h, HM_OP_INSTANCE_PUBLISH, payload);
}

/* as hamond's inventory after every sync: the host, and what it runs */
static void publish_host(struct hamond *h)
{
	struct sim *s = h->sim;
	char payload[512];
	size_t i;

	if (!s->inventory || !hm_membership_acting(h->m))
		return;
	{
		/* as inventory.c: fenced and back with a new boot? before we
		 * republish ourselves (that says online) */
		struct hm_host *me = NULL;

		h->node->fenced_back = hm_store_host_get(h->store, h->node->id, &me) == 0 &&
				       me->state == HM_HOST_FENCED;
		free(me);
	}
	snprintf(payload, sizeof(payload),
		 "{\"nodeid\":%u,\"name\":\"node%u\",\"boot_id\":\"boot-%u-%llu\",\"libvirt\":\"%s\","
		 "\"vcpus\":%u,\"memory_mib\":%llu}", h->node->id, h->node->id, h->node->id,
		 (unsigned long long)h->gen, h->node->libvirt_down ? "unreachable" : "connected",
		 h->node->vcpus, (unsigned long long)h->node->memory_mib);
	publish(h, HM_OP_HOST_PUBLISH, payload);
	/* unknown is not stopped: nothing to say of domains */
	for (i = 0; i < s->n_vms && !h->node->libvirt_down; i++) {
		struct vm *v = &s->vms[i];

		if (!(v->defined & bit(h->node->id)))
			continue;
		switch (hm_recovery_local_domain(h->store, h->node->id, v->uuid,
						 h->node->fenced_back)) {
		case HM_LOCAL_REMOVE:
			logline(s, "n%u removed its stale copy of %s%s", h->node->id, v->name,
				v->runs_on == h->node->id ? " (it was running)" : "");
			v->defined &= ~bit(h->node->id);
			if (v->runs_on == h->node->id)
				v->runs_on = 0;
			break;
		case HM_LOCAL_ALARM:
			logline(s, "n%u: %s is owned elsewhere: double run suspected", h->node->id,
				v->name);
			break;
		case HM_LOCAL_PUBLISH:
			/* hamon starts HA instances itself: libvirt must not at boot,
			 * or a fenced node would run a second copy when it comes back */
			if (v->autostart) {
				logline(s, "n%u turned autostart off for %s", h->node->id, v->name);
				v->autostart = false;
			}
			if (v->runs_on == h->node->id)
				publish_vm(h, v);
			break;
		}
	}
}

/* the node loses power: corosync, hamond and every QEMU are gone */
static void power_off(struct sim *s, struct node *nd)
{
	size_t i;

	for (i = 0; i < s->n_vms; i++)
		if (s->vms[i].runs_on == nd->id)
			s->vms[i].runs_on = 0;
	nd->cs_up = false;
	nd->cs_leaving = false;
	if (nd->h)
		hamond_free(s, nd->h);
}

static void sim_step_fire(void *data)
{
	struct sim_step *st = data;
	struct hamond *h = st->h;
	struct sim *s = h->sim;
	struct node *subject = &s->nodes[st->o.subject];
	enum hm_step_state state = HM_STEP_DONE;
	const char *result = "";
	struct vm *v = vm_by_uuid(s, st->o.instance ? st->uuid : NULL);

	st->used = false;
	switch (st->o.action) {
	case HM_STEP_FENCE:
		if (subject->fence_fails) {
			state = HM_STEP_FAILED;
			result = "fake agent: the BMC did not answer on any level";
			logline(s, "n%u fence of n%u failed", h->node->id, subject->id);
			break;
		}
		logline(s, "n%u fenced n%u: off", h->node->id, subject->id);
		power_off(s, subject);
		subject->fenced = true;
		result = "off: proven by the fake agent";
		reconcile(s);
		break;
	case HM_STEP_START:
		if (!v) {
			state = HM_STEP_FAILED;
			result = "no such domain";
			break;
		}
		/* the target looks first; then checks it may act */
		if (v->runs_on == h->node->id) {
			result = "already running";
			break;
		}
		if (!hm_membership_acting(h->m)) {
			state = HM_STEP_UNKNOWN;
			result = "not acting: not started";
			break;
		}
		if (v->runs_on)
			check_failed(s, "invariant 9 (one copy)", "n%u starts %s while it runs on n%u",
				     h->node->id, v->name, v->runs_on);
		if (v->home && v->home != h->node->id && !s->nodes[v->home].fenced)
			check_failed(s, "invariant 10 (fence before rebuild)",
				     "n%u starts %s of n%u, which was not fenced", h->node->id, v->name,
				     v->home);
		v->runs_on = v->home = h->node->id;
		v->defined |= bit(h->node->id);	/* defined with autostart off */
		logline(s, "n%u started %s", h->node->id, v->name);
		publish_vm(h, v);
		result = "started";
		if (h->node->start_unknown) {
			/* it runs, but the answer was lost (a libvirt timeout) */
			h->node->start_unknown--;
			state = HM_STEP_UNKNOWN;
			result = "libvirt did not answer within the deadline";
			logline(s, "n%u start of %s: outcome unknown", h->node->id, v->name);
		}
		break;
	case HM_STEP_MIGRATE:
		/* the source looks first: already on the destination? */
		if (v && v->runs_on == st->o.target) {
			result = "already on the destination";
			break;
		}
		if (!v || v->runs_on != h->node->id) {
			state = HM_STEP_FAILED;
			result = "not running here";
			break;
		}
		if (h->node->migrate_fails) {
			h->node->migrate_fails--;
			state = HM_STEP_FAILED;
			result = "migration aborted: it keeps running on the source";
			logline(s, "n%u migration of %s to n%u failed", h->node->id, v->name,
				st->o.target);
			break;
		}
		if (!s->nodes[st->o.target].cs_up && !s->nodes[st->o.target].h) {
			state = HM_STEP_FAILED;
			result = "the destination does not answer";
			break;
		}
		/* live: the guest moves, persistent there, undefined here */
		v->runs_on = v->home = st->o.target;
		v->defined = (v->defined & ~bit(h->node->id)) | bit(st->o.target);
		logline(s, "n%u migrated %s to n%u", h->node->id, v->name, st->o.target);
		result = "migrated";
		break;
	case HM_STEP_OBSERVE:
		result = "local disk: lost";
		break;
	default:
		state = HM_STEP_UNKNOWN;
		result = "the simulator does not run this step";
		break;
	}
	hm_jobs_step_finished(h->jobs, st->o.job, st->o.seq, state, result);
}

/* an armed hamond aborts at its failpoint: at once, but not from inside
 * the core's call (the event runs next) */
static void seam_failpoint(void *ctx, const char *name)
{
	struct hamond *h = ctx;
	struct event *e;

	if (strcmp(h->node->failpoint, name))
		return;
	h->node->failpoint[0] = '\0';
	logline(h->sim, "n%u hamond hits failpoint %s", h->node->id, name);
	e = ev_add(h->sim, EV_ABORT, h->sim->now);
	e->node = h->node->id;
	e->gen = h->gen;
}

static int seam_step_run(void *ctx, const struct hm_step_order *order)
{
	struct hamond *h = ctx;
	struct sim *s = h->sim;
	struct sim_step *st = NULL;
	hm_timer_t t;
	size_t i;

	for (i = 0; i < SIM_MAX_STEPS_RUNNING && !st; i++)
		if (!s->steps[i].used)
			st = &s->steps[i];
	if (!st)
		return -EAGAIN;
	*st = (struct sim_step){ .used = true, .h = h, .o = *order };
	if (order->instance) {
		snprintf(st->uuid, sizeof(st->uuid), "%s", order->instance);
		st->o.instance = st->uuid;
	}
	logline(s, "n%u runs %s of job step %u%s%s", h->node->id,
		hm_step_action_to_str(order->action), order->seq, order->instance ? " for " : "",
		order->instance ? vm_by_uuid(s, st->uuid) ? vm_by_uuid(s, st->uuid)->name : "?" : "");
	return seam_timer_start(h, order->action == HM_STEP_FENCE ? SIM_FENCE_MS :
				order->action == HM_STEP_START ? SIM_START_MS :
				order->action == HM_STEP_MIGRATE ? SIM_MIGRATE_MS : 0,
				sim_step_fire, st, &t);
}

/* the one-copy rule, on the fake libvirts' truth: runs_on is one node by
 * construction, so what is checked is that a start never found it elsewhere
 * (sim_step_fire) and that no powered-off node runs anything */
static void check_vms(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->n_vms; i++) {
		const struct vm *v = &s->vms[i];

		if (v->runs_on && !s->nodes[v->runs_on].cs_up && !s->nodes[v->runs_on].h &&
		    s->nodes[v->runs_on].fenced)
			check_failed(s, "invariant 9 (one copy)", "%s runs on fenced n%u", v->name,
				     v->runs_on);
	}
}

static struct hamond *hamond_new(struct sim *s, struct node *nd)
{
	struct hamond *h = xcalloc(1, sizeof(*h));
	char path[128];
	int rc;

	h->sim = s;
	h->node = nd;
	h->gen = ++s->next_gen;
	h->seam = (struct hm_seam){
		.ctx = h,
		.now_ms = seam_now,
		.wall_ms = seam_wall,
		.timer_start = seam_timer_start,
		.timer_stop = seam_timer_stop,
		.send = seam_send,
		.log = seam_log,
		.rejoin = seam_rejoin,
		.step_run = seam_step_run,
		.failpoint = seam_failpoint,
	};
	h->m = hm_membership_new(&h->seam);
	if (!h->m) {
		fprintf(stderr, "hamon-sim: out of memory\n");
		exit(EXIT_INPUT);
	}
	if (nd->proto_max[0])
		hm_membership_set_proto_max(h->m, nd->proto_max);
	/* as hamond does: corosync's threshold, one vote per node */
	hm_membership_set_votes_needed(h->m, s->n / 2 + 1);
	db_path(s, nd->id, path, sizeof(path));
	rc = hm_store_open(path, &h->store);
	if (rc < 0) {
		fprintf(stderr, "hamon-sim: cannot open %s: %s\n", path, strerror(-rc));
		exit(EXIT_INPUT);
	}
	h->r = hm_replica_new(&h->seam, h->m, h->store);
	h->jobs = h->r ? hm_jobs_new(&h->seam, h->m, h->store, h->r) : NULL;
	if (!h->r || !h->jobs) {
		fprintf(stderr, "hamon-sim: cannot start the replica of n%u\n", nd->id);
		exit(EXIT_INPUT);
	}
	nd->h = h;
	return h;
}

static void hamond_free(struct sim *s, struct hamond *h)
{
	uint32_t id;
	size_t i;

	if (!h)
		return;
	/* its fake steps die with it (a step already done stays done) */
	for (i = 0; i < SIM_MAX_STEPS_RUNNING; i++)
		if (s->steps[i].used && s->steps[i].h == h)
			s->steps[i].used = false;
	hm_jobs_close(h->jobs);
	hm_replica_free(h->r);
	hm_jobs_free(h->jobs);
	hm_membership_free(h->m);
	hm_store_close(h->store);
	/* its timers die with it; its messages already sent stay queued */
	for (i = 0; i < s->n_ev;) {
		if (s->ev[i]->kind == EV_TIMER && s->ev[i]->node == h->node->id &&
		    s->ev[i]->gen == h->gen) {
			ev_free(s->ev[i]);
			ev_remove_at(s, i);
		} else {
			i++;
		}
	}
	h->node->h = NULL;
	free(h);
	/* no hamond left: everything they knew is gone (the core keeps no
	 * data on disk yet), so epochs start a new history */
	for (id = 1; id <= s->n; id++)
		if (s->nodes[id].h)
			return;
	memset(s->epoch_coord, 0, sizeof(s->epoch_coord));
	s->max_epoch = 0;
	s->max_epoch_node = 0;
}

static void hamond_disconnect(struct sim *s, struct hamond *h)
{
	if (!h || !h->connected)
		return;
	logline(s, "n%u lost its corosync connection", h->node->id);
	h->connected = false;
	h->joined = false;
	h->group = 0;
	h->conf = 0;
	h->have_totem = false;
	h->have_quorum = false;
	hm_membership_disconnected(h->m);
}

static void hamond_totem(struct hamond *h, const struct node *nd)
{
	uint32_t ids[SIM_MAX_NODES];
	size_t n = set_to_ids(nd->ring_members, ids);

	h->have_totem = true;
	h->totem = nd->ring;
	hm_membership_totem_change(h->m, &nd->ring, ids, n);
}

static void hamond_quorum(struct hamond *h, const struct node *nd)
{
	uint32_t ids[SIM_MAX_NODES];
	size_t n = set_to_ids(nd->ring_members, ids);

	h->have_quorum = true;
	h->qring = nd->ring;
	h->qflag = nd->quorate;
	hm_membership_quorum_change(h->m, nd->quorate, &nd->ring, ids, n);
}

/* ---- invariants ---- */

/* what DESIGN.md's rule gives from the notifications this hamond received */
static enum hm_quorum expected_quorum(const struct hamond *h)
{
	if (!h->connected)
		return HM_QUORUM_NOT_QUORATE;
	if (!h->have_totem || !h->have_quorum || !ring_eq(&h->totem, &h->qring))
		return HM_QUORUM_UNKNOWN;
	return h->qflag ? HM_QUORUM_QUORATE : HM_QUORUM_NOT_QUORATE;
}

/* the truth: this hamond's corosync is in a quorate ring whose notification
 * it has received */
static bool truly_quorate(const struct sim *s, const struct hamond *h)
{
	const struct node *nd = h->node;

	return h->connected && nd->cs_up && nd->has_ring && nd->quorum_published &&
	       nd->quorate && popcount(nd->ring_members) * 2 > s->n &&
	       h->have_totem && ring_eq(&h->totem, &nd->ring) &&
	       h->have_quorum && ring_eq(&h->qring, &nd->ring) && h->qflag;
}

static void check_safety(struct sim *s)
{
	uint32_t coord_of_ring_rep = 0, seen_coord = 0, i, c;
	struct hm_ring_id coord_ring = { 0, 0 };
	bool have_coord_ring = false;

	for (i = 1; i <= s->n; i++) {
		const struct hamond *h = s->nodes[i].h;
		enum hm_quorum q;

		if (!h)
			continue;
		q = hm_membership_quorum(h->m);
		c = hm_membership_coordinator(h->m);
		/* 1. quorum */
		if (q != expected_quorum(h))
			check_failed(s, "invariant 1 (quorum)",
				     "n%u says %s but its notifications make it %s", i,
				     hm_quorum_to_str(q), hm_quorum_to_str(expected_quorum(h)));
		if ((q == HM_QUORUM_QUORATE || c) && !truly_quorate(s, h))
			check_failed(s, "invariant 1 (quorum)",
				     "n%u says %s, coordinator %u, while its ring is not quorate", i,
				     hm_quorum_to_str(q), c);
		if (!c)
			continue;
		/* 3. the coordinator is a running hamond in the reporter's partition */
		if (c > s->n || !s->nodes[c].h || !s->nodes[c].h->connected ||
		    !s->nodes[c].cs_up || !s->nodes[c].has_ring ||
		    !ring_eq(&s->nodes[c].ring, &s->nodes[i].ring))
			check_failed(s, "invariant 3 (coordinator is here)",
				     "n%u reports coordinator %u, which is not a running hamond in its partition",
				     i, c);
		/* 6. an epoch names one coordinator, for the whole run */
		{
			uint64_t ep = hm_membership_coordinator_epoch(h->m);

			if (ep < s->max_epoch)
				check_failed(s, "invariant 6 (epochs)",
					     "n%u reports coordinator %u with epoch %llu, but n%u reported epoch %llu before",
					     i, c, (unsigned long long)ep, s->max_epoch_node,
					     (unsigned long long)s->max_epoch);
			if (ep > s->max_epoch) {
				s->max_epoch = ep;
				s->max_epoch_node = i;
			}
			if (ep < sizeof(s->epoch_coord) / sizeof(s->epoch_coord[0])) {
				if (!s->epoch_coord[ep]) {
					s->epoch_coord[ep] = c;
					s->epoch_since[ep] = s->now;
				} else if (s->epoch_coord[ep] != c) {
					check_failed(s, "invariant 6 (epochs)",
						     "n%u reports coordinator %u with epoch %llu, which named node %u at t=%llu",
						     i, c, (unsigned long long)ep, s->epoch_coord[ep],
						     (unsigned long long)s->epoch_since[ep]);
				}
			}
		}
		/* 2. one coordinator */
		if (!have_coord_ring) {
			have_coord_ring = true;
			coord_ring = s->nodes[i].ring;
			seen_coord = c;
			coord_of_ring_rep = i;
		} else if (!ring_eq(&coord_ring, &s->nodes[i].ring)) {
			check_failed(s, "invariant 2 (one coordinator)",
				     "n%u (ring %x.%llx) reports coordinator %u while n%u (ring %x.%llx) reports %u",
				     i, s->nodes[i].ring.nodeid, (unsigned long long)s->nodes[i].ring.seq,
				     c, coord_of_ring_rep, coord_ring.nodeid,
				     (unsigned long long)coord_ring.seq, seen_coord);
		} else if (c != seen_coord) {
			check_failed(s, "invariant 2 (one coordinator)",
				     "n%u reports coordinator %u while n%u in the same partition reports %u",
				     i, c, coord_of_ring_rep, seen_coord);
		}
	}
}

/* 4. at quiescence: everyone is synced, every quorate partition whose
 * hamonds hold a majority of votes has a coordinator */
/* running, connected hamonds in node i's ring */
static uint32_t hamonds_in_ring(const struct sim *s, uint32_t i)
{
	uint32_t j, n = 0;

	for (j = 1; j <= s->n; j++) {
		const struct hamond *h = s->nodes[j].h;

		if (h && h->connected && s->nodes[j].cs_up && s->nodes[j].has_ring &&
		    ring_eq(&s->nodes[j].ring, &s->nodes[i].ring) &&
		    hm_membership_sync_state(h->m) != HM_SYNC_REFUSED)
			n++;
	}
	return n;
}

/* 7. at quiescence the synced replicas of one ring hold the same data;
 * 8. every acting replica holds every change a majority accepted */
static void check_replicas(struct sim *s)
{
	uint8_t sum[HM_STORE_CHECKSUM_LEN], ref[SIM_MAX_NODES + 1][HM_STORE_CHECKSUM_LEN];
	uint32_t i, j;
	struct hm_replica_status rs;
	size_t k;

	for (i = 1; i <= s->n; i++) {
		const struct hamond *h = s->nodes[i].h;

		if (!h || !h->connected || !hm_membership_synced(h->m))
			continue;
		if (hm_store_checksum(h->store, ref[i]) < 0)
			check_failed(s, "invariant 7 (replicas)", "n%u cannot checksum its store", i);
		for (j = 1; j < i; j++) {
			const struct hamond *g = s->nodes[j].h;

			if (!g || !g->connected || !hm_membership_synced(g->m) ||
			    !s->nodes[i].has_ring || !s->nodes[j].has_ring ||
			    !ring_eq(&s->nodes[i].ring, &s->nodes[j].ring))
				continue;
			memcpy(sum, ref[j], sizeof(sum));
			if (memcmp(sum, ref[i], sizeof(sum)) != 0)
				check_failed(s, "invariant 7 (replicas)",
					     "quiet, n%u and n%u are synced in one ring but hold different data",
					     j, i);
		}
		if (!hm_membership_acting(h->m))
			continue;
		hm_replica_get_status(h->r, &rs);
		for (k = 0; k < s->n_accepted; k++)
			if (rs.applied_seq < s->accepted_seq[k])
				check_failed(s, "invariant 8 (nothing accepted is lost)",
					     "n%u acts at seq %llu, but a change was accepted at seq %llu",
					     i, (unsigned long long)rs.applied_seq,
					     (unsigned long long)s->accepted_seq[k]);
	}
}

static void check_liveness(struct sim *s)
{
	uint32_t i;

	for (i = 1; i <= s->n; i++) {
		const struct hamond *h = s->nodes[i].h;

		if (!h || !s->nodes[i].cs_up)
			continue;
		/* too old for the cluster: out until upgraded, and says so */
		if (hm_membership_sync_state(h->m) == HM_SYNC_REFUSED)
			continue;
		if (!h->connected || !hm_membership_synced(h->m))
			check_failed(s, "invariant 4 (liveness)",
				     "quiet, but n%u is %s (sync %s)", i,
				     h->connected ? "connected" : "not connected",
				     hm_sync_state_to_str(hm_membership_sync_state(h->m)));
		if (truly_quorate(s, h) && hamonds_in_ring(s, i) > s->n / 2 &&
		    hm_membership_coordinator(h->m) == 0)
			check_failed(s, "invariant 4 (liveness)",
				     "quiet, n%u is in a quorate partition with a majority of hamonds but reports no coordinator",
				     i);
		if (s->nodes[i].quorum_published && s->nodes[i].quorate &&
		    !truly_quorate(s, h))
			check_failed(s, "invariant 4 (liveness)",
				     "quiet, n%u's ring is quorate but it never learnt it", i);
	}
}

/* log what changed in what each hamond reports */
static void observe(struct sim *s)
{
	uint32_t i, c;
	bool synced;

	for (i = 1; i <= s->n; i++) {
		struct hamond *h = s->nodes[i].h;

		if (!h)
			continue;
		synced = hm_membership_synced(h->m);
		c = hm_membership_coordinator(h->m);
		if (synced != h->obs_synced)
			logline(s, "n%u %s", i, synced ? "synced" : "unsynced");
		if ((synced && !h->obs_synced) || c != h->obs_coord) {
			if (synced && !h->obs_synced)
				publish_host(h);
			hm_jobs_kick(h->jobs);
		}
		if (c != h->obs_coord) {
			char was[16], is[16];

			snprintf(was, sizeof(was), "%u", h->obs_coord);
			snprintf(is, sizeof(is), "%u", c);
			if (c)
				logline(s, "n%u coordinator %s -> %s (epoch %llu)", i,
					h->obs_coord ? was : "none", is,
					(unsigned long long)hm_membership_coordinator_epoch(h->m));
			else
				logline(s, "n%u coordinator %s -> none", i, was);
		}
		h->obs_synced = synced;
		h->obs_coord = c;
	}
}

static void step_done(struct sim *s)
{
	observe(s);
	check_safety(s);
	check_vms(s);
}

/* ---- message delivery ---- */

static const char *errno_name(int err)
{
	switch (err) {
	case EBADMSG: return "EBADMSG";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	default: return strerror(err);
	}
}

static void log_refusal(struct sim *s, const struct event *e, uint32_t to, int rc)
{
	struct hm_msg msg;
	const char *why = "?";

	(void)hm_wire_decode(e->data, e->len, &msg, &why);
	logline(s, "n%u refused a %zu-byte message from n%u: %s (%s)", to, e->len, e->sender,
		why, errno_name(-rc));
}

static void trace_delivery(struct sim *s, const struct event *e, nodeset_t to)
{
	struct hm_msg msg;
	char buf[64];

	if (!s->trace || hm_wire_decode(e->data, e->len, &msg, NULL) < 0)
		return;
	if (msg.type == HM_MSG_SYNC_START)
		logline(s, "n%u -> %s: sync-start epoch %u/%llu", e->sender,
			set_str(to, buf, sizeof(buf)), msg.u.sync_start.epoch.leader,
			(unsigned long long)msg.u.sync_start.epoch.counter);
	else if (msg.type == HM_MSG_SYNC_STATE)
		logline(s, "n%u -> %s: sync-state epoch %u/%llu last-quorate %x.%llx coordinator %u/%llu applied %llu",
			e->sender, set_str(to, buf, sizeof(buf)), msg.u.sync_state.epoch.leader,
			(unsigned long long)msg.u.sync_state.epoch.counter,
			msg.u.sync_state.last_quorate.nodeid,
			(unsigned long long)msg.u.sync_state.last_quorate.seq,
			msg.u.sync_state.coordinator,
			(unsigned long long)msg.u.sync_state.coordinator_epoch,
			(unsigned long long)msg.u.sync_state.applied_seq);
	else
		logline(s, "n%u -> %s: %s", e->sender, set_str(to, buf, sizeof(buf)),
			hm_msg_type_to_str(msg.type));
}

/* a message a hamond multicast: to the members of its configuration */
static void deliver_msg(struct sim *s, const struct event *e)
{
	nodeset_t to = 0;
	uint32_t i;
	int rc;

	for (i = 1; i <= s->n; i++) {
		const struct hamond *h = s->nodes[i].h;

		if (h && h->connected && h->joined && h->conf == e->conf)
			to |= bit(i);
	}
	trace_delivery(s, e, to);
	for (i = 1; i <= s->n; i++) {
		if (!(to & bit(i)))
			continue;
		rc = hm_replica_deliver(s->nodes[i].h->r, e->sender, e->data, e->len);
		if (rc < 0) {
			log_refusal(s, e, i, rc);
			check_failed(s, "invariant 5 (wire)",
				     "n%u refused a message that n%u's hamond sent", i, e->sender);
		}
	}
	/* as hamond after each dispatch: commit and acknowledge */
	for (i = 1; i <= s->n; i++)
		if ((to & bit(i)) && s->nodes[i].h) {
			hm_replica_flush(s->nodes[i].h->r);
			hm_jobs_kick(s->nodes[i].h->jobs);
		}
}

struct snapshot {
	enum hm_quorum q;
	enum hm_sync_state sync;
	uint32_t coord;
	uint64_t coord_epoch;
	struct hm_ring_id lq;
};

static struct snapshot snap(const struct hamond *h)
{
	return (struct snapshot){
		.q = hm_membership_quorum(h->m),
		.sync = hm_membership_sync_state(h->m),
		.coord = hm_membership_coordinator(h->m),
		.coord_epoch = hm_membership_coordinator_epoch(h->m),
		.lq = hm_membership_last_quorate(h->m),
	};
}

static bool snap_equal(const struct snapshot *a, const struct snapshot *b)
{
	return a->q == b->q && a->sync == b->sync && a->coord == b->coord &&
	       a->coord_epoch == b->coord_epoch && ring_eq(&a->lq, &b->lq);
}

/* a malformed message from some process on e->sender: every hamond in that
 * node's ring gets it, and every one must refuse it and change nothing */
static void deliver_inject(struct sim *s, const struct event *e)
{
	const struct node *src = &s->nodes[e->sender];
	struct snapshot before, after;
	uint32_t i;
	int rc;

	if (!src->cs_up || !src->has_ring) {
		logline(s, "n%u injected %s message lost: its corosync is down", e->sender, e->what);
		return;
	}
	for (i = 1; i <= s->n; i++) {
		const struct node *nd = &s->nodes[i];

		if (!nd->h || !nd->h->connected || !nd->h->joined || !nd->has_ring ||
		    !ring_eq(&nd->ring, &src->ring))
			continue;
		before = snap(nd->h);
		rc = hm_replica_deliver(nd->h->r, e->sender, e->data, e->len);
		if (rc >= 0)
			check_failed(s, "invariant 5 (wire)", "n%u accepted a %s message from n%u",
				     i, e->what, e->sender);
		log_refusal(s, e, i, rc);
		after = snap(nd->h);
		if (!snap_equal(&before, &after))
			check_failed(s, "invariant 5 (wire)",
				     "n%u changed its state on a refused message", i);
	}
}

/* ---- the fake corosync: rings, groups, virtual synchrony ---- */

static bool ev_in_confs(const struct event *e, const void *arg)
{
	const uint64_t *ending = arg;	/* 0-terminated */

	if (e->kind != EV_DELIVER || e->conf == 0)
		return false;
	for (; *ending; ending++)
		if (*ending == e->conf)
			return true;
	return false;
}

static nodeset_t want_ring(const struct sim *s, const struct node *nd)
{
	nodeset_t r = 0;
	uint32_t i;

	if (!nd->cs_up)
		return 0;
	for (i = 1; i <= s->n; i++)
		if (s->nodes[i].cs_up && s->nodes[i].label == nd->label)
			r |= bit(i);
	return r;
}

/* a hamond that is (or will now be) connected and in the CPG group */
static bool eligible(const struct node *nd)
{
	return nd->h && nd->cs_up && !nd->cs_leaving;
}

static nodeset_t want_group(const struct sim *s, const struct node *nd)
{
	nodeset_t ring = want_ring(s, nd), g = 0;
	uint32_t i;

	if (!eligible(nd))
		return 0;
	for (i = 1; i <= s->n; i++)
		if ((ring & bit(i)) && eligible(&s->nodes[i]))
			g |= bit(i);
	return g;
}

static void deliver_confchgs(struct sim *s, struct hamond *h, nodeset_t g, nodeset_t left,
			     nodeset_t joined)
{
	uint32_t members[SIM_MAX_NODES], l[SIM_MAX_NODES], j[SIM_MAX_NODES];
	size_t nm = set_to_ids(g, members), nl = set_to_ids(left, l), nj = set_to_ids(joined, j);
	char b1[64], b2[64], b3[64];
	size_t k;

	if (nj > 1)
		logline(s, "n%u cpg members %s left %s joined %s (%zu confchgs)", h->node->id,
			set_str(g, b1, sizeof(b1)), set_str(left, b2, sizeof(b2)),
			set_str(joined, b3, sizeof(b3)), nj);
	else
		logline(s, "n%u cpg members %s left %s joined %s", h->node->id,
			set_str(g, b1, sizeof(b1)), set_str(left, b2, sizeof(b2)),
			set_str(joined, b3, sizeof(b3)));
	if (nj == 0) {
		hm_membership_group_change(h->m, members, nm, l, nl, NULL, 0);
		return;
	}
	/* on a merge CPG delivers one confchg per joining node, each with the
	 * complete final member list */
	for (k = 0; k < nj; k++)
		hm_membership_group_change(h->m, members, nm, k == 0 ? l : NULL, k == 0 ? nl : 0,
					   &j[k], 1);
}

/*
 * Bring corosync's view in line with the world: form the rings that changed,
 * connect the hamonds whose corosync is up, and change the CPG groups, with
 * virtual synchrony around it.
 */
static void reconcile(struct sim *s)
{
	nodeset_t wring[SIM_MAX_NODES + 1], wgroup[SIM_MAX_NODES + 1], done = 0, fresh;
	uint64_t ending[SIM_MAX_NODES + 1];
	size_t n_ending = 0, k, idx;
	bool ring_change = false;
	uint32_t i, j;
	char buf[64];

	for (i = 1; i <= s->n; i++) {
		struct node *nd = &s->nodes[i];

		wring[i] = want_ring(s, nd);
		wgroup[i] = want_group(s, nd);
		if (nd->cs_up && (!nd->has_ring || nd->ring_members != wring[i]))
			ring_change = true;
		if (!nd->cs_up)
			nd->has_ring = false;
		if (nd->h && nd->h->joined && nd->h->group != wgroup[i]) {
			for (k = 0; k < n_ending; k++)
				if (ending[k] == nd->h->conf)
					break;
			if (k == n_ending)
				ending[n_ending++] = nd->h->conf;
		}
	}
	ending[n_ending] = 0;

	s->transition = true;
	/* virtual synchrony: what was sent in an ending configuration is
	 * delivered to its members before the change */
	while (n_ending && (idx = ev_first(s, ev_in_confs, ending)) < s->n_ev) {
		struct event *e = s->ev[idx];

		ev_remove_at(s, idx);
		deliver_msg(s, e);
		ev_free(e);
	}

	/* rings */
	if (ring_change)
		s->ring_seq += 4;
	for (i = 1; i <= s->n && ring_change; i++) {
		struct node *nd = &s->nodes[i];
		struct event *e;
		nodeset_t r = wring[i];

		if (!nd->cs_up || (done & bit(i)))
			continue;
		done |= r;
		for (j = 1; j <= s->n; j++)
			if ((r & bit(j)) &&
			    (!s->nodes[j].has_ring || s->nodes[j].ring_members != r))
				break;
		if (j > s->n)
			continue;	/* this partition did not change */
		for (j = 1; j <= s->n; j++) {
			struct node *m = &s->nodes[j];

			if (!(r & bit(j)))
				continue;
			m->has_ring = true;
			m->ring = (struct hm_ring_id){ .nodeid = lowest(r), .seq = s->ring_seq };
			m->ring_members = r;
			m->quorum_published = false;
			m->quorate = false;
		}
		logline(s, "ring %x.%llx members %s", lowest(r), (unsigned long long)s->ring_seq,
			set_str(r, buf, sizeof(buf)));
		for (j = 1; j <= s->n; j++)
			if ((r & bit(j)) && s->nodes[j].h && s->nodes[j].h->connected)
				hamond_totem(s->nodes[j].h, &s->nodes[j]);
		e = ev_add(s, EV_QUORUM, s->now + s->quorum_lag);
		e->ring = nd->ring;
		e->members = r;
		e->quorate = popcount(r) * 2 > s->n;
	}

	/* hamonds whose corosync is (back) up connect: local node id, the
	 * initial totem configuration, the current quorum if already known */
	for (i = 1; i <= s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (!eligible(nd) || nd->h->connected)
			continue;
		logline(s, "n%u connected to corosync", i);
		nd->h->connected = true;
		hm_membership_connected(nd->h->m, i);
		hamond_totem(nd->h, nd);
		if (nd->quorum_published)
			hamond_quorum(nd->h, nd);
	}

	/* CPG groups */
	done = 0;
	for (i = 1; i <= s->n; i++) {
		nodeset_t g = wgroup[i];
		bool change = false;
		uint64_t conf;

		if (!g || (done & bit(i)))
			continue;
		done |= g;
		fresh = 0;
		for (j = 1; j <= s->n; j++) {
			const struct hamond *h = s->nodes[j].h;

			if (!(g & bit(j)))
				continue;
			if (!h->joined)
				fresh |= bit(j);
			if (!h->joined || h->group != g)
				change = true;
		}
		if (!change)
			continue;
		conf = ++s->next_conf;
		for (j = 1; j <= s->n; j++) {
			struct hamond *h = s->nodes[j].h;
			nodeset_t old, left, joined;

			if (!(g & bit(j)))
				continue;
			old = h->joined ? h->group : 0;
			left = old & ~g;
			/* a joiner sees itself and whoever joins with it */
			joined = h->joined ? (g & ~old) : fresh;
			h->joined = true;
			h->group = g;
			h->conf = conf;
			deliver_confchgs(s, h, g, left, joined);
		}
	}
	s->transition = false;

	/* what was sent during the change belongs to the sender's new
	 * configuration; a sender that has none lost it */
	for (k = 0; k < s->n_ev;) {
		struct event *e = s->ev[k];
		const struct hamond *h;

		if (e->kind != EV_DELIVER || e->conf != 0) {
			k++;
			continue;
		}
		h = s->nodes[e->sender].h;
		if (h && h->gen == e->sender_gen && h->connected && h->joined) {
			e->conf = h->conf;
			k++;
			continue;
		}
		if (s->trace)
			logline(s, "n%u message sent during a change dropped: no configuration",
				e->sender);
		ev_remove_at(s, k);
		ev_free(e);
	}
}

static void fire_quorum(struct sim *s, const struct event *e)
{
	bool any = false;
	uint32_t i;

	for (i = 1; i <= s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (!(e->members & bit(i)) || !nd->cs_up || !nd->has_ring || !ring_eq(&nd->ring, &e->ring))
			continue;
		if (!any)
			logline(s, "ring %x.%llx quorum: %s (%u of %u votes)", e->ring.nodeid,
				(unsigned long long)e->ring.seq,
				e->quorate ? "quorate" : "not quorate", popcount(e->members), s->n);
		any = true;
		nd->quorum_published = true;
		nd->quorate = e->quorate;
	}
	for (i = 1; i <= s->n; i++) {
		struct node *nd = &s->nodes[i];

		if ((e->members & bit(i)) && nd->has_ring && ring_eq(&nd->ring, &e->ring) &&
		    nd->h && nd->h->connected)
			hamond_quorum(nd->h, nd);
	}
}

/* ---- running ---- */

static void run_cmd(struct sim *s, const struct cmd *c, bool scheduled);

/* the second half of a graceful stop: the ring changes without the node */
static void cs_down(struct sim *s, struct node *nd)
{
	if (!nd->cs_leaving)
		return;		/* killed meanwhile */
	nd->cs_leaving = false;
	nd->cs_up = false;
	logline(s, "n%u corosync stopped", nd->id);
	reconcile(s);
}

static void run_event(struct sim *s, struct event *e)
{
	struct hamond *h;

	switch (e->kind) {
	case EV_DELIVER:
		deliver_msg(s, e);
		break;
	case EV_INJECT:
		deliver_inject(s, e);
		break;
	case EV_QUORUM:
		fire_quorum(s, e);
		break;
	case EV_TIMER:
		h = s->nodes[e->node].h;
		if (h && h->gen == e->gen)
			e->fn(e->fn_data);
		break;
	case EV_COMMAND:
		run_cmd(s, e->cmd, true);
		break;
	case EV_CS_DOWN:
		cs_down(s, &s->nodes[e->node]);
		break;
	case EV_ABORT:
		h = s->nodes[e->node].h;
		if (h && h->gen == e->gen) {
			logline(s, "n%u hamond aborted", e->node);
			hamond_free(s, h);
			reconcile(s);
		}
		break;
	}
}

/* run events due at or before `until`; false if the step bound was hit */
static void run_until(struct sim *s, uint64_t until)
{
	unsigned long steps = 0;
	struct event *e;
	size_t idx;

	while ((idx = ev_first(s, NULL, NULL)) < s->n_ev && s->ev[idx]->time <= until) {
		if (++steps > SIM_MAX_STEPS)
			check_failed(s, "invariant 4 (liveness)",
				     "%d steps and still not quiet", SIM_MAX_STEPS);
		e = s->ev[idx];
		ev_remove_at(s, idx);
		if (e->time > s->now)
			s->now = e->time;
		run_event(s, e);
		ev_free(e);
		step_done(s);
	}
}

static bool quiet(const struct sim *s)
{
	size_t idx = ev_first(s, NULL, NULL);

	return idx == s->n_ev || s->ev[idx]->time > s->now + SIM_QUIET_MS;
}

/* run until nothing is due within SIM_QUIET_MS; the clock stops at the
 * last event */
static void settle(struct sim *s)
{
	unsigned long steps = 0;

	while (!quiet(s)) {
		if (++steps > SIM_MAX_STEPS)
			check_failed(s, "invariant 4 (liveness)", "never quiet");
		run_until(s, ev_first(s, NULL, NULL) < s->n_ev ?
			  s->ev[ev_first(s, NULL, NULL)]->time : s->now);
	}
	check_liveness(s);
	check_replicas(s);
}

static void status(struct sim *s)
{
	uint32_t i;
	char b1[64], b2[64];

	for (i = 1; i <= s->n; i++) {
		const struct node *nd = &s->nodes[i];
		const struct hamond *h = nd->h;
		const uint32_t *g;
		nodeset_t gs = 0;
		size_t ng, k;
		char ring[48] = "-";

		if (nd->has_ring)
			snprintf(ring, sizeof(ring), "%x.%llx", nd->ring.nodeid,
				 (unsigned long long)nd->ring.seq);
		if (!h) {
			logline(s, "n%u status corosync=%s ring=%s members=%s hamond=down", i,
				nd->cs_up ? "up" : "down", ring,
				set_str(nd->has_ring ? nd->ring_members : 0, b1, sizeof(b1)));
			continue;
		}
		ng = hm_membership_group_members(h->m, &g);
		for (k = 0; k < ng; k++)
			if (g[k] >= 1 && g[k] <= SIM_MAX_NODES)
				gs |= bit(g[k]);
		{
			struct hm_ring_id lq = hm_membership_last_quorate(h->m);

			logline(s, "n%u status corosync=%s ring=%s members=%s hamond=up quorum=%s sync=%s group=%s coordinator=%u epoch=%llu last-quorate=%x.%llx",
				i, nd->cs_up ? "up" : "down", ring,
				set_str(nd->has_ring ? nd->ring_members : 0, b1, sizeof(b1)),
				hm_quorum_to_str(hm_membership_quorum(h->m)),
				hm_sync_state_to_str(hm_membership_sync_state(h->m)),
				set_str(gs, b2, sizeof(b2)), hm_membership_coordinator(h->m),
				(unsigned long long)hm_membership_coordinator_epoch(h->m),
				lq.nodeid, (unsigned long long)lq.seq);
		}
	}
}

static struct hamond *need_hamond(struct sim *s, uint32_t id)
{
	if (!s->nodes[id].h)
		input_error(s, "expect: node %u has no running hamond", id);
	return s->nodes[id].h;
}

static void expect_coordinator(struct sim *s, uint32_t want)
{
	uint32_t i, c, reporters = 0;

	for (i = 1; i <= s->n; i++) {
		const struct hamond *h = s->nodes[i].h;

		if (!h)
			continue;
		c = hm_membership_coordinator(h->m);
		if (want == 0 && c)
			check_failed(s, "expect", "coordinator none, but n%u reports %u", i, c);
		if (want == 0 || hm_membership_quorum(h->m) != HM_QUORUM_QUORATE ||
		    !hm_membership_synced(h->m))
			continue;
		if (c != want)
			check_failed(s, "expect", "coordinator %u, but n%u reports %u", want, i, c);
		reporters++;
	}
	if (want && !reporters)
		check_failed(s, "expect", "coordinator %u, but no hamond is quorate and synced", want);
}

static void inject(struct sim *s, uint32_t from, enum inject_kind kind)
{
	static const char *const names[] = {
		[INJ_GARBAGE] = "garbage", [INJ_TRUNCATED] = "truncated",
		[INJ_WRONG_VERSION] = "wrong-version", [INJ_UNKNOWN_TYPE] = "unknown-type",
	};
	struct hm_msg msg = { .type = HM_MSG_SYNC_START };
	uint8_t buf[128];
	size_t len = 0, i;
	struct event *e;

	msg.u.sync_start.epoch.leader = from;
	msg.u.sync_start.epoch.counter = 1;
	if (hm_wire_encode(&msg, buf, sizeof(buf), &len) < 0)
		input_error(s, "cannot encode a message to corrupt");
	switch (kind) {
	case INJ_GARBAGE:
		for (i = 0; i < 24; i++)
			buf[i] = (uint8_t)(0xa5 ^ (i * 29));
		len = 24;
		break;
	case INJ_TRUNCATED:
		len -= 8;	/* the header says more than CPG delivered */
		break;
	case INJ_WRONG_VERSION:
		buf[4] = HM_WIRE_VERSION + 1;	/* u16 version, little endian */
		buf[5] = 0;
		break;
	case INJ_UNKNOWN_TYPE:
		buf[6] = HM_MSG_TYPE_MAX + 6;	/* u16 type */
		buf[7] = 0;
		break;
	}
	e = ev_add(s, EV_INJECT, s->now + s->latency);
	e->sender = from;
	e->what = names[kind];
	e->data = xcalloc(1, len);
	memcpy(e->data, buf, len);
	e->len = len;
}

static bool settles(enum cmd_kind k)
{
	switch (k) {
	case C_START: case C_KILL: case C_CRASH: case C_CS_STOP: case C_CS_START:
	case C_HM_STOP: case C_HM_START: case C_PARTITION: case C_HEAL: case C_INJECT:
	case C_SETTLE: case C_POLICY: case C_VM: case C_CONFIRM: case C_CAPACITY:
	case C_HOST_FLAG: case C_LIBVIRT: case C_OPERATOR_JOB: case C_MAINTENANCE: case C_MIGRATE:
		return true;
	default:
		return false;
	}
}

struct change {
	struct sim *sim;
	uint32_t node;
	uint64_t id;
};

static void change_done(void *data, int rc, uint64_t seq, const char *message)
{
	struct change *ch = data;
	struct sim *s = ch->sim;

	if (rc == 0) {
		logline(s, "n%u change %llu accepted at seq %llu", ch->node,
			(unsigned long long)ch->id, (unsigned long long)seq);
		if (s->n_accepted < sizeof(s->accepted_seq) / sizeof(s->accepted_seq[0]))
			s->accepted_seq[s->n_accepted++] = seq;
	} else {
		logline(s, "n%u change %llu %s: %s", ch->node, (unsigned long long)ch->id,
			rc == -ECONNRESET ? "outcome unknown" : "refused", message);
	}
	free(ch);
}

static void policy_submit(struct sim *s, const struct cmd *c)
{
	struct hamond *h = need_hamond(s, c->node);
	struct change *ch = xcalloc(1, sizeof(*ch));
	char payload[512], err[256];
	int rc;

	ch->sim = s;
	ch->node = c->node;
	ch->id = ++s->next_change;
	snprintf(payload, sizeof(payload), "{\"key\":\"%s\",\"value\":\"%s\"}", c->key, c->value);
	rc = hm_replica_submit(h->r, HM_OP_POLICY_SET, payload, change_done, ch, err, sizeof(err));
	if (rc < 0) {
		logline(s, "n%u change %llu refused at once: %s", c->node, (unsigned long long)ch->id, err);
		free(ch);
	}
}

static void expect_policy(struct sim *s, const struct cmd *c)
{
	struct hamond *h = need_hamond(s, c->node);
	struct hm_policy_entry *e = NULL;
	int rc = hm_store_policy_get(h->store, c->key, &e);
	const char *have = rc == 0 ? e->value : "-";

	if (strcmp(have, c->value) != 0)
		check_failed(s, "expect", "n%u has %s = %s, not %s", c->node, c->key, have, c->value);
	free(e);
}

/* an operator's request goes through any acting hamond (as hamonctl's
 * node would have to be one) */
static struct hamond *acting_hamond(struct sim *s, const char *what)
{
	uint32_t i;

	for (i = 1; i <= s->n; i++)
		if (s->nodes[i].h && hm_membership_acting(s->nodes[i].h->m))
			return s->nodes[i].h;
	input_error(s, "%s: no acting hamond to ask", what);
}

struct job_find {
	enum hm_job_kind kind;
	uint32_t host;
	bool found;
	enum hm_job_state state;
};

/* the newest recovery job of a host (ids grow with time) */
static int find_last_job(const struct hm_job *row, void *data)
{
	struct job_find *f = data;

	if (row->kind == f->kind && row->target_host == f->host) {
		f->found = true;
		f->state = row->state;
	}
	return 0;
}

static void run_cmd(struct sim *s, const struct cmd *c, bool scheduled)
{
	struct node *nd = c->node ? &s->nodes[c->node] : NULL;
	struct event *e;
	uint32_t i;

	s->lineno = c->lineno;
	if (c->kind != C_NODES)
		logline(s, "cmd %s%s", scheduled ? "(at) " : "", c->text);
	switch (c->kind) {
	case C_NODES:
		break;
	case C_START:
		for (i = 1; i <= s->n; i++)
			if (!s->nodes[i].cs_up) {
				s->nodes[i].cs_up = true;
				logline(s, "n%u corosync started", i);
			}
		for (i = 1; i <= s->n; i++)
			if (!s->nodes[i].h) {
				hamond_new(s, &s->nodes[i]);
				logline(s, "n%u hamond started", i);
			}
		reconcile(s);
		break;
	case C_ADVANCE: {
		uint64_t end = s->now + c->num;

		run_until(s, end);
		s->now = end;
		if (quiet(s))
			check_liveness(s);
		if (quiet(s))
			check_replicas(s);
		break;
	}
	case C_KILL:
	case C_CRASH:
		if (!nd->cs_up)
			input_error(s, "node %u: corosync is not running", c->node);
		nd->cs_up = false;
		nd->cs_leaving = false;
		if (c->kind == C_CRASH) {
			logline(s, "n%u crashed: corosync and hamond gone", c->node);
			power_off(s, nd);
		} else {
			logline(s, "n%u corosync killed", c->node);
			hamond_disconnect(s, nd->h);
		}
		reconcile(s);
		break;
	case C_CS_STOP:
		if (!nd->cs_up)
			input_error(s, "node %u: corosync is not running", c->node);
		if (nd->cs_leaving)
			input_error(s, "node %u: corosync is already stopping", c->node);
		/* graceful: the local hamond is disconnected and leaves the
		 * group at once; the ring changes without the node after the
		 * leave lag (no token timeout: corosync announces its leave) */
		logline(s, "n%u corosync stopping", c->node);
		hamond_disconnect(s, nd->h);
		nd->cs_leaving = true;
		reconcile(s);
		e = ev_add(s, EV_CS_DOWN, s->now + s->leave_lag);
		e->node = c->node;
		break;
	case C_CS_START:
		if (nd->cs_up)
			input_error(s, "node %u: corosync is %s", c->node,
				    nd->cs_leaving ? "still stopping" : "already running");
		nd->cs_up = true;
		nd->fenced = false;
		logline(s, "n%u corosync started", c->node);
		/* a node that was powered off boots: libvirt autostarts */
		for (i = 0; i < s->n_vms && !nd->h; i++)
			if ((s->vms[i].defined & bit(c->node)) && s->vms[i].autostart) {
				if (s->vms[i].runs_on)
					check_failed(s, "invariant 9 (one copy)",
						     "n%u autostarted %s while it runs on n%u", c->node,
						     s->vms[i].name, s->vms[i].runs_on);
				s->vms[i].runs_on = c->node;
				logline(s, "n%u libvirt autostarted %s", c->node, s->vms[i].name);
			}
		reconcile(s);
		break;
	case C_HM_STOP:
		if (!nd->h)
			input_error(s, "node %u: hamond is not running", c->node);
		logline(s, "n%u hamond stopped", c->node);
		hamond_free(s, nd->h);
		reconcile(s);
		break;
	case C_HM_START:
		if (nd->h)
			input_error(s, "node %u: hamond is already running", c->node);
		hamond_new(s, nd);
		logline(s, "n%u hamond started", c->node);
		reconcile(s);
		break;
	case C_PARTITION:
		for (i = 1; i <= s->n; i++)
			s->nodes[i].label = c->label[i];
		reconcile(s);
		break;
	case C_HEAL:
		for (i = 1; i <= s->n; i++)
			s->nodes[i].label = 0;
		reconcile(s);
		break;
	case C_SET_LAG:
		s->quorum_lag = c->num;
		break;
	case C_SET_LATENCY:
		s->latency = c->num;
		break;
	case C_SET_LEAVE_LAG:
		s->leave_lag = c->num;
		break;
	case C_SET_TRACE:
		s->trace = c->num != 0;
		break;
	case C_FLOW:
		nd->flow_eagain = c->num;
		break;
	case C_INJECT:
		inject(s, c->node, (enum inject_kind)c->num);
		break;
	case C_STATUS:
		status(s);
		break;
	case C_EXP_COORD:
		expect_coordinator(s, (uint32_t)c->num);
		break;
	case C_EXP_QUORUM: {
		enum hm_quorum q = hm_membership_quorum(need_hamond(s, c->node)->m);

		if (q != (enum hm_quorum)c->num)
			check_failed(s, "expect", "n%u is %s, not %s", c->node, hm_quorum_to_str(q),
				     hm_quorum_to_str((enum hm_quorum)c->num));
		break;
	}
	case C_POLICY:
		policy_submit(s, c);
		break;
	case C_EXP_POLICY:
		expect_policy(s, c);
		break;
	case C_WIPE: {
		char path[128], more[160];

		if (nd->h)
			input_error(s, "wipe: n%u's hamond is running; stop it first", c->node);
		db_path(s, c->node, path, sizeof(path));
		unlink(path);
		snprintf(more, sizeof(more), "%s-wal", path);
		unlink(more);
		snprintf(more, sizeof(more), "%s-shm", path);
		unlink(more);
		logline(s, "n%u database deleted", c->node);
		break;
	}
	case C_EXP_SYNCED: {
		bool synced = hm_membership_synced(need_hamond(s, c->node)->m);

		if (synced != (c->num != 0))
			check_failed(s, "expect", "n%u is %s (sync %s)", c->node,
				     synced ? "synced" : "not synced",
				     hm_sync_state_to_str(hm_membership_sync_state(s->nodes[c->node].h->m)));
		break;
	}
	case C_VM: {
		struct vm *v = &s->vms[s->n_vms];

		if (s->n_vms == SIM_MAX_VMS)
			input_error(s, "vm: at most %d instances", SIM_MAX_VMS);
		if (vm_by_name(s, c->key))
			input_error(s, "vm: '%s' exists already", c->key);
		s->n_vms++;
		snprintf(v->uuid, sizeof(v->uuid), "00000000-0000-4000-8000-%012zx", s->n_vms);
		snprintf(v->name, sizeof(v->name), "%.31s", c->key);
		hm_storage_from_str(c->value, &v->storage);
		v->vcpus = (uint32_t)c->num2;
		v->memory_mib = c->num3;
		v->runs_on = v->home = c->node;
		v->defined = bit(c->node);
		v->autostart = c->num != 0;
		v->priority = c->prio;
		snprintf(v->group, sizeof(v->group), "%s", c->group);
		if (nd->h && hm_membership_acting(nd->h->m)) {
			publish_host(nd->h);
		}
		break;
	}
	case C_FENCE_MODE:
		nd->fence_fails = c->num != 0;
		break;
	case C_HOST_FLAG: {
		struct hamond *h = NULL;
		char payload[128];

		h = acting_hamond(s, "host");
		snprintf(payload, sizeof(payload), "{\"nodeid\":%u,\"%s\":%llu}", c->node, c->key,
			 (unsigned long long)c->num);
		publish(h, HM_OP_HOST_FLAGS, payload);
		break;
	}
	case C_OPERATOR_JOB: {
		struct hamond *h = NULL;
		char payload[256];

		h = acting_hamond(s, c->key);
		snprintf(payload, sizeof(payload),
			 "{\"id\":%llu,\"kind\":\"%s\",\"target_host\":%u,\"reason\":\"an operator asked\"}",
			 (unsigned long long)hm_jobs_new_id(h->jobs), c->key, c->node);
		publish(h, HM_OP_JOB_CREATE, payload);
		break;
	}
	case C_MAINTENANCE: {
		struct hamond *h = NULL;
		char payload[256];

		h = acting_hamond(s, "maintenance");
		/* as hamonctl maintenance on|off: the flag, then (on) the drain */
		snprintf(payload, sizeof(payload), "{\"nodeid\":%u,\"maintenance\":%llu}", c->node,
			 (unsigned long long)c->num);
		publish(h, HM_OP_HOST_FLAGS, payload);
		if (c->num) {
			snprintf(payload, sizeof(payload),
				 "{\"id\":%llu,\"kind\":\"drain\",\"target_host\":%u,"
				 "\"reason\":\"maintenance on\"}",
				 (unsigned long long)hm_jobs_new_id(h->jobs), c->node);
			publish(h, HM_OP_JOB_CREATE, payload);
		}
		break;
	}
	case C_MIGRATE_MODE:
		nd->migrate_fails = (uint32_t)c->num;
		break;
	case C_PROTO:
		if (nd->h)
			input_error(s, "proto: n%u's hamond is running; set it before it starts", c->node);
		snprintf(nd->proto_max, sizeof(nd->proto_max), "%llu", (unsigned long long)c->num);
		break;
	case C_MIGRATE: {
		struct hamond *h = NULL;
		const struct vm *v = vm_by_name(s, c->key);
		char payload[256];

		if (!v)
			input_error(s, "migrate: no instance '%s'", c->key);
		h = acting_hamond(s, "migrate");
		if (c->node)
			snprintf(payload, sizeof(payload),
				 "{\"id\":%llu,\"kind\":\"migrate\",\"instance\":\"%s\",\"target_host\":%u}",
				 (unsigned long long)hm_jobs_new_id(h->jobs), v->uuid, c->node);
		else
			snprintf(payload, sizeof(payload),
				 "{\"id\":%llu,\"kind\":\"migrate\",\"instance\":\"%s\"}",
				 (unsigned long long)hm_jobs_new_id(h->jobs), v->uuid);
		publish(h, HM_OP_JOB_CREATE, payload);
		break;
	}
	case C_LIBVIRT:
		nd->libvirt_down = c->num != 0;
		if (nd->h)
			publish_host(nd->h);
		break;
	case C_START_MODE:
		nd->start_unknown = (uint32_t)c->num;
		break;
	case C_FAILPOINT:
		snprintf(nd->failpoint, sizeof(nd->failpoint), "%.31s", c->value);
		break;
	case C_CAPACITY:
		nd->vcpus = (uint32_t)c->num;
		nd->memory_mib = c->num2;
		if (nd->h)
			publish_host(nd->h);
		break;
	case C_CONFIRM: {
		struct hamond *h = NULL;
		char payload[128];

		h = acting_hamond(s, "confirm");
		/* as hamonctl: refused while the node is a corosync member */
		if (h->node->ring_members & bit(c->node)) {
			logline(s, "confirm refused: n%u is in the corosync membership", c->node);
			break;
		}
		nd->fenced = true;
		snprintf(payload, sizeof(payload), "{\"nodeid\":%u,\"state\":\"fenced\"}", c->node);
		publish(h, HM_OP_HOST_STATE, payload);
		break;
	}
	case C_EXP_RUNNING: {
		const struct vm *v = vm_by_name(s, c->key);

		if (!v)
			input_error(s, "expect running: no instance '%s'", c->key);
		if (v->runs_on != (uint32_t)c->num)
			check_failed(s, "expect", "%s runs on %s%u, not %s%llu", v->name,
				     v->runs_on ? "n" : "none ", v->runs_on, c->num ? "n" : "none ",
				     (unsigned long long)c->num);
		break;
	}
	case C_EXP_OWNER: {
		const struct vm *v = vm_by_name(s, c->key);
		struct hamond *h = need_hamond(s, c->node);
		struct hm_instance *row = NULL;

		if (!v)
			input_error(s, "expect owner: no instance '%s'", c->key);
		if (hm_store_instance_get(h->store, v->uuid, &row) < 0 || row->owner != c->num)
			check_failed(s, "expect", "n%u: %s is owned by n%u, not n%llu", c->node, v->name,
				     row ? row->owner : 0, (unsigned long long)c->num);
		free(row);
		break;
	}
	case C_EXP_JOB: {
		struct hamond *h = need_hamond(s, c->node);
		struct job_find f = { .kind = (enum hm_job_kind)c->num2, .host = (uint32_t)c->num };

		hm_store_job_list(h->store, find_last_job, &f);
		if (strcmp(f.found ? hm_job_state_to_str(f.state) : "none", c->value))
			check_failed(s, "expect", "n%u: the %s of n%llu is %s, not %s", c->node,
				     hm_job_kind_to_str(f.kind), (unsigned long long)c->num,
				     f.found ? hm_job_state_to_str(f.state) : "none", c->value);
		break;
	}
	case C_SETTLE:
		break;
	case C_AT:
		e = ev_add(s, EV_COMMAND, s->now + c->num);
		e->cmd = c->inner;
		break;
	}
	step_done(s);
	if (!scheduled && settles(c->kind))
		settle(s);
}

/* ---- parsing ---- */

static char *trim(char *p)
{
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return p;
}

static uint64_t parse_num(struct sim *s, const char *tok, const char *what, uint64_t min,
			  uint64_t max)
{
	unsigned long long v;
	char *end;

	if (!tok || !*tok)
		input_error(s, "missing %s", what);
	errno = 0;
	v = strtoull(tok, &end, 10);
	if (*end || errno || tok[0] == '-' || v < min || v > max)
		input_error(s, "bad %s '%s' (want %llu..%llu)", what, tok,
			    (unsigned long long)min, (unsigned long long)max);
	return v;
}

static uint32_t parse_node(struct sim *s, const char *tok)
{
	if (s->n == 0)
		input_error(s, "'nodes N' must come first");
	return (uint32_t)parse_num(s, tok, "node id", 1, s->n);
}

static void want_args(struct sim *s, int argc, int want, const char *usage)
{
	if (argc != want)
		input_error(s, "usage: %s", usage);
}

/* "1,2 | 3,4" (spaces optional): every node exactly once */
static void parse_partition(struct sim *s, char *spec, struct cmd *c)
{
	char *side, *save1 = NULL, *tok, *save2 = NULL;
	nodeset_t seen = 0;
	int label = 0;
	uint32_t id;

	for (side = strtok_r(spec, "|", &save1); side; side = strtok_r(NULL, "|", &save1)) {
		label++;
		if (!*trim(side))
			input_error(s, "partition: empty side");
		for (tok = strtok_r(side, ", \t", &save2); tok; tok = strtok_r(NULL, ", \t", &save2)) {
			id = parse_node(s, tok);
			if (seen & bit(id))
				input_error(s, "partition: node %u listed twice", id);
			seen |= bit(id);
			c->label[id] = label;
		}
	}
	if (label < 2)
		input_error(s, "partition: need at least two sides separated by '|'");
	for (id = 1; id <= s->n; id++)
		if (!(seen & bit(id)))
			input_error(s, "partition: node %u is on no side", id);
}

static struct cmd *parse_cmd(struct sim *s, char *line, int lineno, bool nested)
{
	struct cmd *c = xcalloc(1, sizeof(*c));
	char work[SIM_LINE_MAX], *argv[64], *save = NULL, *tok, *rest;
	int argc = 0;

	c->lineno = lineno;
	snprintf(c->text, sizeof(c->text), "%s", line);
	snprintf(work, sizeof(work), "%s", line);
	for (tok = strtok_r(work, " \t", &save); tok && argc < 64; tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	if (tok)
		input_error(s, "too many arguments");
	if (argc == 0)
		input_error(s, "empty command");

	if (!strcmp(argv[0], "nodes")) {
		want_args(s, argc, 2, "nodes N");
		if (nested || s->n)
			input_error(s, "'nodes' only once, as the first command");
		c->kind = C_NODES;
		c->num = parse_num(s, argv[1], "node count", 1, SIM_MAX_NODES);
		s->n = (uint32_t)c->num;
		return c;
	}
	if (s->n == 0)
		input_error(s, "'nodes N' must come first");
	if (!strcmp(argv[0], "start")) {
		want_args(s, argc, 1, "start");
		c->kind = C_START;
	} else if (!strcmp(argv[0], "advance")) {
		want_args(s, argc, 2, "advance MS");
		if (nested)
			input_error(s, "'at' cannot schedule 'advance'");
		c->kind = C_ADVANCE;
		c->num = parse_num(s, argv[1], "milliseconds", 0, 24ULL * 3600 * 1000);
	} else if (!strcmp(argv[0], "kill") || !strcmp(argv[0], "crash") ||
		   !strcmp(argv[0], "corosync-stop") || !strcmp(argv[0], "corosync-start") ||
		   !strcmp(argv[0], "hamond-stop") || !strcmp(argv[0], "hamond-start")) {
		static const struct { const char *name; enum cmd_kind kind; } t[] = {
			{ "kill", C_KILL }, { "crash", C_CRASH },
			{ "corosync-stop", C_CS_STOP }, { "corosync-start", C_CS_START },
			{ "hamond-stop", C_HM_STOP }, { "hamond-start", C_HM_START },
		};
		size_t i;

		for (i = 0; strcmp(t[i].name, argv[0]); i++)
			;
		if (argc != 2)
			input_error(s, "usage: %s NODE", argv[0]);
		c->kind = t[i].kind;
		c->node = parse_node(s, argv[1]);
	} else if (!strcmp(argv[0], "partition")) {
		rest = strstr(line, "partition") + strlen("partition");
		snprintf(work, sizeof(work), "%s", rest);
		c->kind = C_PARTITION;
		parse_partition(s, work, c);
	} else if (!strcmp(argv[0], "settle")) {
		want_args(s, argc, 1, "settle");
		if (nested)
			input_error(s, "'at' cannot schedule 'settle'");
		c->kind = C_SETTLE;
	} else if (!strcmp(argv[0], "heal")) {
		want_args(s, argc, 1, "heal");
		c->kind = C_HEAL;
	} else if (!strcmp(argv[0], "set")) {
		if (argc != 3)
			input_error(s, "usage: set quorum-lag MS | latency MS | leave-lag MS | trace on|off");
		if (!strcmp(argv[1], "quorum-lag")) {
			c->kind = C_SET_LAG;
			c->num = parse_num(s, argv[2], "quorum lag (ms)", 0, SIM_MAX_DELAY_MS);
		} else if (!strcmp(argv[1], "latency")) {
			c->kind = C_SET_LATENCY;
			c->num = parse_num(s, argv[2], "latency (ms)", 0, SIM_MAX_DELAY_MS);
		} else if (!strcmp(argv[1], "leave-lag")) {
			c->kind = C_SET_LEAVE_LAG;
			c->num = parse_num(s, argv[2], "leave lag (ms)", 0, SIM_MAX_DELAY_MS);
		} else if (!strcmp(argv[1], "trace")) {
			c->kind = C_SET_TRACE;
			if (strcmp(argv[2], "on") && strcmp(argv[2], "off"))
				input_error(s, "set trace: on or off, not '%s'", argv[2]);
			c->num = !strcmp(argv[2], "on");
		} else {
			input_error(s, "set: unknown setting '%s' (quorum-lag, latency, leave-lag, trace)",
				    argv[1]);
		}
	} else if (!strcmp(argv[0], "flowcontrol")) {
		want_args(s, argc, 3, "flowcontrol NODE COUNT");
		c->kind = C_FLOW;
		c->node = parse_node(s, argv[1]);
		c->num = parse_num(s, argv[2], "count", 0, 1000000);
	} else if (!strcmp(argv[0], "inject")) {
		want_args(s, argc, 3, "inject NODE garbage|truncated|wrong-version|unknown-type");
		c->kind = C_INJECT;
		c->node = parse_node(s, argv[1]);
		if (!strcmp(argv[2], "garbage"))
			c->num = INJ_GARBAGE;
		else if (!strcmp(argv[2], "truncated"))
			c->num = INJ_TRUNCATED;
		else if (!strcmp(argv[2], "wrong-version"))
			c->num = INJ_WRONG_VERSION;
		else if (!strcmp(argv[2], "unknown-type"))
			c->num = INJ_UNKNOWN_TYPE;
		else
			input_error(s, "inject: unknown kind '%s' (garbage, truncated, wrong-version, unknown-type)",
				    argv[2]);
	} else if (!strcmp(argv[0], "status")) {
		want_args(s, argc, 1, "status");
		c->kind = C_STATUS;
	} else if (!strcmp(argv[0], "expect")) {
		if (argc >= 2 && !strcmp(argv[1], "coordinator")) {
			want_args(s, argc, 3, "expect coordinator NODE|none");
			c->kind = C_EXP_COORD;
			c->num = !strcmp(argv[2], "none") ? 0 : parse_node(s, argv[2]);
		} else if (argc >= 2 && !strcmp(argv[1], "quorum")) {
			want_args(s, argc, 4, "expect quorum NODE quorate|not-quorate|quorum-unknown");
			c->kind = C_EXP_QUORUM;
			c->node = parse_node(s, argv[2]);
			if (!strcmp(argv[3], "quorate"))
				c->num = HM_QUORUM_QUORATE;
			else if (!strcmp(argv[3], "not-quorate"))
				c->num = HM_QUORUM_NOT_QUORATE;
			else if (!strcmp(argv[3], "quorum-unknown"))
				c->num = HM_QUORUM_UNKNOWN;
			else
				input_error(s, "expect quorum: quorate, not-quorate or quorum-unknown, not '%s'",
					    argv[3]);
		} else if (argc >= 2 && !strcmp(argv[1], "synced")) {
			want_args(s, argc, 4, "expect synced NODE yes|no");
			c->kind = C_EXP_SYNCED;
			c->node = parse_node(s, argv[2]);
			if (strcmp(argv[3], "yes") && strcmp(argv[3], "no"))
				input_error(s, "expect synced: yes or no, not '%s'", argv[3]);
			c->num = !strcmp(argv[3], "yes");
		} else if (argc >= 2 && !strcmp(argv[1], "policy")) {
			want_args(s, argc, 5, "expect policy NODE KEY VALUE|-");
			c->kind = C_EXP_POLICY;
			c->node = parse_node(s, argv[2]);
			if (strlen(argv[3]) >= sizeof(c->key) || strlen(argv[4]) >= sizeof(c->value))
				input_error(s, "expect policy: key or value too long");
			snprintf(c->key, sizeof(c->key), "%s", argv[3]);
			snprintf(c->value, sizeof(c->value), "%s", argv[4]);
		} else if (argc >= 2 && !strcmp(argv[1], "running")) {
			want_args(s, argc, 4, "expect running NAME NODE|none");
			c->kind = C_EXP_RUNNING;
			snprintf(c->key, sizeof(c->key), "%s", argv[2]);
			c->num = !strcmp(argv[3], "none") ? 0 : parse_node(s, argv[3]);
		} else if (argc >= 2 && !strcmp(argv[1], "owner")) {
			want_args(s, argc, 5, "expect owner NODE NAME OWNER");
			c->kind = C_EXP_OWNER;
			c->node = parse_node(s, argv[2]);
			snprintf(c->key, sizeof(c->key), "%s", argv[3]);
			c->num = parse_node(s, argv[4]);
		} else if (argc >= 2 && !strcmp(argv[1], "job")) {
			enum hm_job_kind kind = HM_JOB_RECOVERY;

			if (argc == 6 && hm_job_kind_from_str(argv[5], &kind) < 0)
				input_error(s, "expect job: no job kind '%s'", argv[5]);
			if (argc != 6)
				want_args(s, argc, 5, "expect job NODE HOST STATE|none [KIND]");
			c->kind = C_EXP_JOB;
			c->node = parse_node(s, argv[2]);
			c->num = parse_node(s, argv[3]);
			c->num2 = kind;
			snprintf(c->value, sizeof(c->value), "%s", argv[4]);
		} else {
			input_error(s, "expect: coordinator, quorum, synced, policy, running, owner or job");
		}
	} else if (!strcmp(argv[0], "policy")) {
		want_args(s, argc, 4, "policy NODE KEY VALUE");
		c->kind = C_POLICY;
		c->node = parse_node(s, argv[1]);
		if (strlen(argv[2]) >= sizeof(c->key) || strlen(argv[3]) >= sizeof(c->value) ||
		    strpbrk(argv[2], "\"\\") || strpbrk(argv[3], "\"\\"))
			input_error(s, "policy: key or value too long, or with a quote or backslash");
		snprintf(c->key, sizeof(c->key), "%s", argv[2]);
		snprintf(c->value, sizeof(c->value), "%s", argv[3]);
	} else if (!strcmp(argv[0], "vm")) {
		/* options last: autostart, prio=N, group=G */
		while (argc > 3) {
			const char *o = argv[argc - 1];

			if (!strcmp(o, "autostart"))
				c->num = 1;
			else if (!strncmp(o, "prio=", 5))
				c->prio = (int64_t)parse_num(s, o + 5, "priority", 0, 1000);
			else if (!strncmp(o, "group=", 6) && strlen(o + 6) > 0 && strlen(o + 6) < 32 &&
				 strspn(o + 6, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(o + 6))
				snprintf(c->group, sizeof(c->group), "%s", o + 6);
			else if (strchr(o, '=') || !strcmp(o, "autostart"))
				input_error(s, "vm: bad option '%s'", o);
			else
				break;
			argc--;
		}
		if (argc < 3 || argc > 6)
			input_error(s, "usage: vm NODE NAME [shared|volume|local] [VCPUS MIB] [autostart] "
				    "[prio=N] [group=G]");
		c->kind = C_VM;
		s->inventory = true;	/* hosts publish from the first sync on */
		c->node = parse_node(s, argv[1]);
		if (strlen(argv[2]) >= 32 || strpbrk(argv[2], "\"\\/<>&"))
			input_error(s, "vm: bad name '%s'", argv[2]);
		snprintf(c->key, sizeof(c->key), "%s", argv[2]);
		snprintf(c->value, sizeof(c->value), "%s", argc > 3 ? argv[3] : "shared");
		{
			enum hm_storage st;

			if (hm_storage_from_str(c->value, &st) < 0)
				input_error(s, "vm: storage is shared, volume or local, not '%s'", c->value);
		}
		if (argc == 5)
			input_error(s, "vm: give both VCPUS and MIB");
		c->num2 = argc > 4 ? parse_num(s, argv[4], "vCPUs", 1, 1024) : 1;
		c->num3 = argc > 5 ? parse_num(s, argv[5], "MiB", 1, 1u << 30) : 512;
	} else if (!strcmp(argv[0], "fence")) {
		want_args(s, argc, 3, "fence NODE ok|fail");
		c->kind = C_FENCE_MODE;
		c->node = parse_node(s, argv[1]);
		if (strcmp(argv[2], "ok") && strcmp(argv[2], "fail"))
			input_error(s, "fence: ok or fail, not '%s'", argv[2]);
		c->num = !strcmp(argv[2], "fail");
	} else if (!strcmp(argv[0], "host")) {
		static const struct { const char *verb, *key; uint64_t v; } t[] = {
			{ "maintenance-on", "maintenance", 1 }, { "maintenance-off", "maintenance", 0 },
			{ "disable", "disabled", 1 }, { "enable", "disabled", 0 },
			{ "reserve", "reserved", 1 }, { "unreserve", "reserved", 0 },
		};
		size_t k;

		want_args(s, argc, 3, "host NODE maintenance-on|maintenance-off|disable|enable|reserve|unreserve");
		c->kind = C_HOST_FLAG;
		s->inventory = true;
		c->node = parse_node(s, argv[1]);
		for (k = 0; k < sizeof(t) / sizeof(t[0]); k++)
			if (!strcmp(argv[2], t[k].verb))
				break;
		if (k == sizeof(t) / sizeof(t[0]))
			input_error(s, "host: maintenance-on, maintenance-off, disable, enable, reserve or "
				    "unreserve, not '%s'", argv[2]);
		snprintf(c->key, sizeof(c->key), "%s", t[k].key);
		c->num = t[k].v;
	} else if (!strcmp(argv[0], "operator-fence") || !strcmp(argv[0], "evacuate")) {
		want_args(s, argc, 2, "operator-fence|evacuate NODE");
		c->kind = C_OPERATOR_JOB;
		s->inventory = true;
		c->node = parse_node(s, argv[1]);
		snprintf(c->key, sizeof(c->key), "%s",
			 !strcmp(argv[0], "evacuate") ? "evacuate" : "fence");
	} else if (!strcmp(argv[0], "maintenance")) {
		want_args(s, argc, 3, "maintenance NODE on|off");
		c->kind = C_MAINTENANCE;
		s->inventory = true;
		c->node = parse_node(s, argv[1]);
		if (strcmp(argv[2], "on") && strcmp(argv[2], "off"))
			input_error(s, "maintenance: on or off, not '%s'", argv[2]);
		c->num = !strcmp(argv[2], "on");
	} else if (!strcmp(argv[0], "migrate")) {
		if (argc != 2 && argc != 3)
			input_error(s, "usage: migrate NAME [NODE]");
		c->kind = C_MIGRATE;
		snprintf(c->key, sizeof(c->key), "%s", argv[1]);
		c->node = argc == 3 ? parse_node(s, argv[2]) : 0;
	} else if (!strcmp(argv[0], "proto")) {
		want_args(s, argc, 3, "proto NODE VERSION");
		c->kind = C_PROTO;
		c->node = parse_node(s, argv[1]);
		c->num = parse_num(s, argv[2], "protocol version", 1, HM_WIRE_VERSION);
	} else if (!strcmp(argv[0], "migrate-fail")) {
		want_args(s, argc, 3, "migrate-fail NODE COUNT");
		c->kind = C_MIGRATE_MODE;
		c->node = parse_node(s, argv[1]);
		c->num = parse_num(s, argv[2], "count", 0, 100);
	} else if (!strcmp(argv[0], "libvirt")) {
		want_args(s, argc, 3, "libvirt NODE up|down");
		c->kind = C_LIBVIRT;
		s->inventory = true;
		c->node = parse_node(s, argv[1]);
		if (strcmp(argv[2], "up") && strcmp(argv[2], "down"))
			input_error(s, "libvirt: up or down, not '%s'", argv[2]);
		c->num = !strcmp(argv[2], "down");
	} else if (!strcmp(argv[0], "start-unknown")) {
		want_args(s, argc, 3, "start-unknown NODE COUNT");
		c->kind = C_START_MODE;
		c->node = parse_node(s, argv[1]);
		c->num = parse_num(s, argv[2], "count", 0, 100);
	} else if (!strcmp(argv[0], "failpoint")) {
		static const char *const names[] = { "loss", "fence-intent", "fence-result",
						     "placement", "start-intent", "start-result" };
		size_t k;

		want_args(s, argc, 3, "failpoint NODE NAME");
		c->kind = C_FAILPOINT;
		c->node = parse_node(s, argv[1]);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(argv[2], names[k]))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			input_error(s, "failpoint: loss, fence-intent, fence-result, placement, "
				    "start-intent or start-result, not '%s'", argv[2]);
		snprintf(c->value, sizeof(c->value), "%s", argv[2]);
	} else if (!strcmp(argv[0], "confirm")) {
		want_args(s, argc, 2, "confirm NODE");
		c->kind = C_CONFIRM;
		c->node = parse_node(s, argv[1]);
	} else if (!strcmp(argv[0], "capacity")) {
		want_args(s, argc, 4, "capacity NODE VCPUS MIB");
		c->kind = C_CAPACITY;
		s->inventory = true;
		c->node = parse_node(s, argv[1]);
		c->num = parse_num(s, argv[2], "vCPUs", 0, 1u << 20);
		c->num2 = parse_num(s, argv[3], "MiB", 0, 1ull << 40);
	} else if (!strcmp(argv[0], "wipe")) {
		want_args(s, argc, 2, "wipe NODE");
		c->kind = C_WIPE;
		c->node = parse_node(s, argv[1]);
	} else if (!strcmp(argv[0], "at")) {
		if (nested)
			input_error(s, "'at' cannot be nested");
		if (argc < 3 || argv[1][0] != '+')
			input_error(s, "usage: at +MS COMMAND");
		c->kind = C_AT;
		c->num = parse_num(s, argv[1] + 1, "delay (ms)", 0, 24ULL * 3600 * 1000);
		rest = strstr(line, argv[1]) + strlen(argv[1]);
		snprintf(work, sizeof(work), "%s", rest);
		c->inner = parse_cmd(s, trim(work), lineno, true);
	} else {
		input_error(s, "unknown command '%s'", argv[0]);
	}
	return c;
}

static void parse_file(struct sim *s, const char *path)
{
	char raw[SIM_LINE_MAX + 2], *line, *hash;
	FILE *f = fopen(path, "r");
	int lineno = 0;

	s->cmdfile = path;
	if (!f) {
		fprintf(stderr, "hamon-sim: cannot open %s: %s\n", path, strerror(errno));
		exit(EXIT_INPUT);
	}
	while (fgets(raw, sizeof(raw), f)) {
		s->lineno = ++lineno;
		if (strlen(raw) > SIM_LINE_MAX - 1 && raw[strlen(raw) - 1] != '\n')
			input_error(s, "line too long");
		hash = strchr(raw, '#');
		if (hash)
			*hash = '\0';
		line = trim(raw);
		if (!*line)
			continue;
		if (s->n_cmds % 64 == 0) {
			s->cmds = realloc(s->cmds, (s->n_cmds + 64) * sizeof(*s->cmds));
			if (!s->cmds) {
				fprintf(stderr, "hamon-sim: out of memory\n");
				exit(EXIT_INPUT);
			}
		}
		s->cmds[s->n_cmds++] = parse_cmd(s, line, lineno, false);
	}
	fclose(f);
	if (s->n == 0) {
		s->lineno = lineno;
		input_error(s, "no 'nodes N' command");
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hamon-sim [--mutation-no-fence] [-o LOG] SCENARIO_DIR|CMDLIST\n"
		   "Plays a scenario (doc/simulator.md) through the pure core, writes its log\n"
		   "(stdout by default) and checks the safety invariants after every step.\n"
		   "--mutation-no-fence switches the fence-before-rebuild guard off (the\n"
		   "mutation check: some scenario must then fail).\n"
		   "Exit: 0 ok, 1 an invariant or expectation failed, 2 bad input.\n");
}

static void sim_free(struct sim *s)
{
	size_t i;
	uint32_t id;

	for (id = 1; id <= s->n; id++)
		hamond_free(s, s->nodes[id].h);
	for (i = 0; i < s->n_ev; i++)
		ev_free(s->ev[i]);
	free(s->ev);
	for (i = 0; i < s->n_cmds; i++) {
		free(s->cmds[i]->inner);
		free(s->cmds[i]);
	}
	free(s->cmds);
}

/* at any exit, a failed check included */
static void remove_dbdir(void)
{
	char path[160];
	uint32_t id;
	static const char *const suffix[] = { "", "-wal", "-shm" };
	size_t k;

	if (!S.dbdir[0])
		return;
	for (id = 1; id <= S.n; id++) {
		if (S.nodes[id].h) {
			hamond_free(&S, S.nodes[id].h);
		}
		for (k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "%s/n%u.db%s", S.dbdir, id, suffix[k]);
			unlink(path);
		}
	}
	rmdir(S.dbdir);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *arg;
	char path[4096];
	size_t i;
	uint32_t id;
	int a = 1;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "--mutation-no-fence")) {
		hm_recovery_mutation_no_fence = true;
		a++;
	}
	if (argc >= a + 2 && !strcmp(argv[a], "-o")) {
		out = argv[a + 1];
		a += 2;
	}
	if (argc != a + 1) {
		usage(stderr);
		return EXIT_INPUT;
	}
	arg = argv[a];
	/* a scenario directory holds cmdlist; a file is a cmdlist itself */
	snprintf(path, sizeof(path), "%s/cmdlist", arg);
	{
		FILE *probe = fopen(path, "r");

		if (probe)
			fclose(probe);
		else
			snprintf(path, sizeof(path), "%s", arg);
	}

	S.latency = 1;
	S.quorum_lag = 2;
	S.leave_lag = 7;
	for (id = 0; id <= SIM_MAX_NODES; id++) {
		S.nodes[id].id = id;
		S.nodes[id].vcpus = 8;
		S.nodes[id].memory_mib = 16384;
	}
	parse_file(&S, path);

	S.out = out ? fopen(out, "w") : stdout;
	if (!S.out) {
		fprintf(stderr, "hamon-sim: cannot write %s: %s\n", out, strerror(errno));
		return EXIT_INPUT;
	}
	logline(&S, "sim %u nodes, latency %llu ms, quorum lag %llu ms, leave lag %llu ms", S.n,
		(unsigned long long)S.latency, (unsigned long long)S.quorum_lag,
		(unsigned long long)S.leave_lag);
	snprintf(S.dbdir, sizeof(S.dbdir), "/tmp/hamon-sim.XXXXXX");
	if (!mkdtemp(S.dbdir)) {
		fprintf(stderr, "hamon-sim: cannot make a directory for the databases: %s\n",
			strerror(errno));
		return EXIT_INPUT;
	}
	atexit(remove_dbdir);
	for (i = 0; i < S.n_cmds; i++)
		run_cmd(&S, S.cmds[i], false);
	/* the end is a step too: finish what is running and check */
	S.lineno = S.n_cmds ? S.cmds[S.n_cmds - 1]->lineno : 0;
	settle(&S);
	logline(&S, "end");
	sim_free(&S);
	if (out && fclose(S.out) != 0) {
		fprintf(stderr, "hamon-sim: cannot write %s: %s\n", out, strerror(errno));
		return EXIT_INPUT;
	}
	return 0;
}
