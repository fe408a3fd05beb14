/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "membership.h"

#define SEND_RETRY_MS 50	/* CPG flow control: try again soon */

struct member_state {
	uint32_t nodeid;
	bool got;
	bool refused;		/* it speaks no protocol version the others accept */
	struct hm_msg_sync_state st;
};

struct hm_membership {
	const struct hm_seam *seam;
	bool connected;
	uint32_t local;

	bool have_totem;
	struct hm_ring_id totem_ring;
	uint32_t totem[HM_MAX_NODES];
	size_t n_totem;

	bool have_quorum;
	bool quorum_flag;
	struct hm_ring_id quorum_ring;

	enum hm_quorum quorum;
	/* the last ring in which we were quorate AND synced: how new our data
	 * is.  A joiner has not caught up yet, so quorum alone does not count. */
	struct hm_ring_id last_quorate;

	/* the CPG group, sorted by node id */
	uint32_t group[HM_MAX_NODES];
	size_t n_group;
	/* those of the group that take part: all but the refused, once a sync
	 * decided it (sorted) */
	uint32_t members[HM_MAX_NODES];
	size_t n_members;

	enum hm_sync_state sync;
	struct hm_sync_epoch epoch;	/* of the sync in progress or done */
	uint64_t next_counter;
	struct member_state states[HM_MAX_NODES];	/* parallel to group[] */

	uint32_t votes_needed;		/* hamonds a partition needs to act (0: majority of the ring) */
	bool warned_few;		/* logged "too few hamonds" for this sync */

	uint32_t coordinator;		/* held; reported only while acting (see acting()) */
	uint64_t coordinator_epoch;
	uint16_t cluster_proto;
	uint16_t proto_min, proto_max;	/* what this hamond speaks */
	uint16_t required_proto;	/* the highest proto_min of the last sync */

	struct hm_membership_hooks hooks;
	struct hm_msg_sync_state gathered[HM_MAX_NODES];	/* for hooks.collected */

	/* one outgoing sync message waiting for CPG flow control */
	bool have_pending;
	struct hm_msg pending;
	bool retry_armed;
	hm_timer_t retry_timer;
};

static const char *const quorum_names[] = {
	[HM_QUORUM_NOT_QUORATE] = "not-quorate",
	[HM_QUORUM_UNKNOWN] = "quorum-unknown",
	[HM_QUORUM_QUORATE] = "quorate",
};

static const char *const sync_names[] = {
	[HM_SYNC_NONE] = "none",
	[HM_SYNC_WAIT_START] = "wait-start",
	[HM_SYNC_COLLECT] = "collect",
	[HM_SYNC_TRANSFER] = "transfer",
	[HM_SYNC_DONE] = "done",
	[HM_SYNC_REFUSED] = "refused",
};

const char *hm_quorum_to_str(enum hm_quorum q)
{
	return (unsigned)q < sizeof(quorum_names) / sizeof(quorum_names[0]) ? quorum_names[q] : "?";
}

const char *hm_sync_state_to_str(enum hm_sync_state s)
{
	return (unsigned)s < sizeof(sync_names) / sizeof(sync_names[0]) ? sync_names[s] : "?";
}

struct hm_membership *hm_membership_new(const struct hm_seam *seam)
{
	struct hm_membership *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->seam = seam;
	m->proto_min = HM_WIRE_VERSION_MIN;
	m->proto_max = HM_WIRE_VERSION;
	/* a restarted leader must not reuse the counters of its previous life */
	m->next_counter = seam && seam->now_ms ? seam->now_ms(seam->ctx) : 0;
	return m;
}

static void retry_cancel(struct hm_membership *m)
{
	if (m->retry_armed && m->seam && m->seam->timer_stop)
		m->seam->timer_stop(m->seam->ctx, m->retry_timer);
	m->retry_armed = false;
}

void hm_membership_free(struct hm_membership *m)
{
	if (!m)
		return;
	retry_cancel(m);
	free(m);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static size_t copy_sorted(uint32_t *dst, const uint32_t *src, size_t n)
{
	if (n > HM_MAX_NODES)
		n = HM_MAX_NODES;
	if (n)
		memcpy(dst, src, n * sizeof(*dst));
	qsort(dst, n, sizeof(*dst), cmp_u32);
	return n;
}

static bool contains(const uint32_t *v, size_t n, uint32_t x)
{
	return bsearch(&x, v, n, sizeof(x), cmp_u32) != NULL;
}

static void send_retry_fire(void *data);

/* Send now; under flow control keep it and retry from a timer. */
static void send_msg(struct hm_membership *m, const struct hm_msg *msg)
{
	uint8_t buf[HM_WIRE_MAX_MSG];
	size_t len;
	int rc;

	m->have_pending = false;
	rc = hm_wire_encode(msg, buf, sizeof(buf), &len);
	if (rc < 0) {
		hm_seam_log(m->seam, LOG_ERR, "cannot encode %s: %s",
			    hm_msg_type_to_str(msg->type), strerror(-rc));
		return;
	}
	rc = m->seam->send(m->seam->ctx, buf, len);
	if (rc == 0)
		return;
	hm_seam_log(m->seam, rc == -EAGAIN ? LOG_DEBUG : LOG_WARNING,
		    "send %s failed (%s), retrying in %d ms",
		    hm_msg_type_to_str(msg->type), strerror(-rc), SEND_RETRY_MS);
	m->pending = *msg;
	m->have_pending = true;
	if (!m->retry_armed &&
	    m->seam->timer_start(m->seam->ctx, SEND_RETRY_MS, send_retry_fire, m,
				 &m->retry_timer) == 0)
		m->retry_armed = true;
}

static void send_retry_fire(void *data)
{
	struct hm_membership *m = data;

	m->retry_armed = false;
	if (m->have_pending && m->connected)
		send_msg(m, &m->pending);
}

static size_t votes_needed(const struct hm_membership *m)
{
	return m->votes_needed ? m->votes_needed : m->n_totem / 2 + 1;
}

/*
 * A partition acts (records data, has a coordinator) only when corosync says
 * quorate, its hamonds are synced, AND those hamonds hold the votes corosync
 * needs for quorum.  The last condition makes any two acting groups share a
 * member, so the newest data and the latest coordinator epoch are always
 * carried into the next acting group (two disjoint hamond groups can each sit
 * in a quorate corosync ring at different times).
 */
static bool acting(const struct hm_membership *m)
{
	return m->quorum == HM_QUORUM_QUORATE && m->sync == HM_SYNC_DONE &&
	       m->n_members >= votes_needed(m);
}

/* the coordinator left (or there never was one): the lowest member takes over */
static void elect_if_needed(struct hm_membership *m)
{
	if (!acting(m)) {
		if (m->quorum == HM_QUORUM_QUORATE && m->sync == HM_SYNC_DONE && !m->warned_few) {
			hm_seam_log(m->seam, LOG_WARNING,
				    "quorate, but only %zu hamond(s) of the %zu needed are running: no coordinator",
				    m->n_members, votes_needed(m));
			m->warned_few = true;
		}
		return;
	}
	m->last_quorate = m->totem_ring;
	if (contains(m->members, m->n_members, m->coordinator))
		return;
	m->coordinator = m->members[0];
	m->coordinator_epoch++;
	hm_seam_log(m->seam, LOG_NOTICE, "coordinator: node %u (epoch %llu)", m->coordinator,
		    (unsigned long long)m->coordinator_epoch);
}

static void update_quorum(struct hm_membership *m)
{
	enum hm_quorum q;

	if (!m->connected)
		q = HM_QUORUM_NOT_QUORATE;
	else if (!m->have_totem || !m->have_quorum ||
		 !hm_ring_id_equal(&m->totem_ring, &m->quorum_ring))
		q = HM_QUORUM_UNKNOWN;
	else
		q = m->quorum_flag ? HM_QUORUM_QUORATE : HM_QUORUM_NOT_QUORATE;

	if (q == m->quorum) {
		elect_if_needed(m);
		return;
	}
	if (m->have_totem)
		hm_seam_log(m->seam, LOG_NOTICE, "quorum: %s -> %s (ring %x.%llx)",
			    hm_quorum_to_str(m->quorum), hm_quorum_to_str(q),
			    m->totem_ring.nodeid, (unsigned long long)m->totem_ring.seq);
	else
		hm_seam_log(m->seam, LOG_NOTICE, "quorum: %s -> %s (no ring yet)",
			    hm_quorum_to_str(m->quorum), hm_quorum_to_str(q));
	m->quorum = q;
	elect_if_needed(m);
}

static void reset_group(struct hm_membership *m)
{
	m->n_group = 0;
	m->n_members = 0;
	m->sync = HM_SYNC_NONE;
	m->have_pending = false;
	retry_cancel(m);
}

void hm_membership_connected(struct hm_membership *m, uint32_t local_nodeid)
{
	m->connected = true;
	m->local = local_nodeid;
	m->have_totem = false;
	m->have_quorum = false;
	reset_group(m);
	update_quorum(m);
}

void hm_membership_disconnected(struct hm_membership *m)
{
	m->connected = false;
	m->have_totem = false;
	m->have_quorum = false;
	m->n_totem = 0;
	reset_group(m);
	update_quorum(m);
}

void hm_membership_totem_change(struct hm_membership *m, const struct hm_ring_id *ring,
				const uint32_t *members, size_t n_members)
{
	m->have_totem = true;
	m->totem_ring = *ring;
	m->n_totem = copy_sorted(m->totem, members, n_members);
	update_quorum(m);
}

void hm_membership_quorum_change(struct hm_membership *m, bool quorate,
				 const struct hm_ring_id *ring,
				 const uint32_t *members, size_t n_members)
{
	(void)members;
	(void)n_members;
	m->have_quorum = true;
	m->quorum_flag = quorate;
	m->quorum_ring = *ring;
	update_quorum(m);
}

static size_t group_index(const struct hm_membership *m, uint32_t nodeid)
{
	const uint32_t *p = bsearch(&nodeid, m->group, m->n_group, sizeof(nodeid), cmp_u32);

	return p ? (size_t)(p - m->group) : m->n_group;
}

void hm_membership_group_change(struct hm_membership *m,
				const uint32_t *members, size_t n_members,
				const uint32_t *left, size_t n_left,
				const uint32_t *joined, size_t n_joined)
{
	struct hm_msg msg = { .type = HM_MSG_SYNC_START };

	(void)left;
	(void)n_left;
	(void)joined;
	(void)n_joined;
	m->n_group = copy_sorted(m->group, members, n_members);
	/* everyone takes part until a sync says otherwise */
	m->n_members = copy_sorted(m->members, m->group, m->n_group);
	memset(m->states, 0, sizeof(m->states));
	m->have_pending = false;
	m->warned_few = false;
	if (m->hooks.group_changed)
		m->hooks.group_changed(m->hooks.data);
	if (!contains(m->group, m->n_group, m->local)) {
		m->sync = HM_SYNC_NONE;
		return;
	}
	m->sync = HM_SYNC_WAIT_START;
	if (m->group[0] != m->local)
		return;
	/* we lead this sync */
	if (m->next_counter <= m->epoch.counter)
		m->next_counter = m->epoch.counter + 1;
	msg.u.sync_start.epoch.leader = m->local;
	msg.u.sync_start.epoch.counter = m->next_counter++;
	hm_seam_log(m->seam, LOG_DEBUG, "sync: leading epoch %u/%llu for %zu members",
		    m->local, (unsigned long long)msg.u.sync_start.epoch.counter, m->n_group);
	send_msg(m, &msg);
}

static void on_sync_start(struct hm_membership *m, uint32_t sender,
			  const struct hm_msg_sync_start *s)
{
	struct hm_msg msg = { .type = HM_MSG_SYNC_STATE };
	struct hm_msg_sync_state *st = &msg.u.sync_state;

	/* only the current leader starts a sync; anything else is stale */
	if (m->n_group == 0 || sender != m->group[0] || s->epoch.leader != sender ||
	    m->sync == HM_SYNC_NONE)
		return;
	m->epoch = s->epoch;
	m->sync = HM_SYNC_COLLECT;
	memset(m->states, 0, sizeof(m->states));
	st->epoch = s->epoch;
	st->proto_max = m->proto_max;
	st->proto_min = m->proto_min;
	/* a hamond of version 1 says so in version 1 */
	if (m->proto_max < 2)
		msg.version = 1;
	st->last_quorate = m->last_quorate;
	st->applied_seq = 0;
	st->coordinator = m->coordinator;
	st->coordinator_epoch = m->coordinator_epoch;
	if (m->hooks.local_position)
		m->hooks.local_position(m->hooks.data, st);
	send_msg(m, &msg);
}

/* greatest (last acting ring, applied seq, coordinator epoch); ties to the
 * lowest node id, which comes first because group[] is sorted */
static size_t pick_source(const struct hm_membership *m)
{
	size_t best = m->n_group, i;
	int c;

	for (i = 0; i < m->n_group; i++) {
		const struct hm_msg_sync_state *a = &m->states[i].st, *b;

		if (m->states[i].refused)
			continue;
		if (best == m->n_group) {
			best = i;
			continue;
		}
		b = &m->states[best].st;
		c = hm_ring_id_cmp(&a->last_quorate, &b->last_quorate);
		if (c == 0)
			c = a->applied_seq > b->applied_seq ? 1 : a->applied_seq < b->applied_seq ? -1 : 0;
		if (c == 0)
			c = a->coordinator_epoch > b->coordinator_epoch;
		if (c > 0)
			best = i;
	}
	return best;
}

static void sync_finish(struct hm_membership *m)
{
	m->sync = HM_SYNC_DONE;
	if (m->hooks.synced)
		m->hooks.synced(m->hooks.data);
	elect_if_needed(m);
}

/*
 * Protocol versions: the cluster requires the highest proto_min stated and
 * speaks the lowest proto_max of the members that reach it.  A member below
 * the requirement is refused: it is not a source, has no vote, no ACK of
 * it counts, and what it sends besides its sync state is dropped; it knows
 * it is refused from the same states, and takes no part.  Every member
 * decides this from the same states, so they all decide alike.
 */
static void decide_protocol(struct hm_membership *m)
{
	uint16_t required = 1, proto = HM_WIRE_VERSION;
	size_t i;

	for (i = 0; i < m->n_group; i++)
		if (m->states[i].st.proto_min > required)
			required = m->states[i].st.proto_min;
	m->required_proto = required;
	m->n_members = 0;
	for (i = 0; i < m->n_group; i++) {
		struct member_state *ms = &m->states[i];

		ms->refused = ms->st.proto_max < required;
		if (!ms->refused) {
			m->members[m->n_members++] = m->group[i];
			if (ms->st.proto_max < proto)
				proto = ms->st.proto_max;
			continue;
		}
		if (ms->nodeid == m->local)
			hm_seam_log(m->seam, LOG_ERR,
				    "protocol: refused by the cluster: this hamond speaks protocol version %u at most, the cluster requires version %u; it takes no part until it is upgraded",
				    ms->st.proto_max, required);
		else
			hm_seam_log(m->seam, LOG_WARNING,
				    "protocol: node %u refused: its hamond speaks protocol version %u at most, this cluster requires version %u; it takes no part until it is upgraded",
				    ms->nodeid, ms->st.proto_max, required);
	}
	m->cluster_proto = proto;
}

static bool local_refused(const struct hm_membership *m)
{
	size_t i = group_index(m, m->local);

	return i < m->n_group && m->states[i].refused;
}

static void sync_done(struct hm_membership *m)
{
	size_t source, i, n = 0, src_idx = 0;
	const struct hm_msg_sync_state *src;
	bool transfer = false;

	decide_protocol(m);
	if (local_refused(m)) {
		m->sync = HM_SYNC_REFUSED;
		return;
	}
	source = pick_source(m);
	src = &m->states[source].st;
	/* everyone takes the source's view, then elects from the same facts */
	m->coordinator = src->coordinator;
	m->coordinator_epoch = src->coordinator_epoch;
	m->last_quorate = src->last_quorate;
	if (m->hooks.collected) {
		/* the members that take part, in node id order */
		for (i = 0; i < m->n_group; i++) {
			if (m->states[i].refused)
				continue;
			if (i == source)
				src_idx = n;
			m->gathered[n++] = m->states[i].st;
		}
		transfer = m->hooks.collected(m->hooks.data, &m->epoch, m->members, m->gathered,
					      n, src_idx);
	}
	hm_seam_log(m->seam, LOG_INFO,
		    "sync: states in (epoch %u/%llu, %zu members, source node %u%s); held coordinator node %u (epoch %llu)",
		    m->epoch.leader, (unsigned long long)m->epoch.counter, m->n_members,
		    m->states[source].nodeid, transfer ? ", data transfer" : "", m->coordinator,
		    (unsigned long long)m->coordinator_epoch);
	if (transfer) {
		m->sync = HM_SYNC_TRANSFER;
		return;
	}
	sync_finish(m);
}

void hm_membership_transfer_done(struct hm_membership *m, const struct hm_sync_epoch *epoch)
{
	if (m->sync != HM_SYNC_TRANSFER || epoch->leader != m->epoch.leader ||
	    epoch->counter != m->epoch.counter)
		return;
	sync_finish(m);
}

struct hm_sync_epoch hm_membership_sync_epoch(const struct hm_membership *m)
{
	return m->epoch;
}

void hm_membership_set_hooks(struct hm_membership *m, const struct hm_membership_hooks *hooks)
{
	m->hooks = *hooks;
}

static void on_sync_state(struct hm_membership *m, uint32_t sender,
			  const struct hm_msg_sync_state *st)
{
	size_t idx, i;

	if (m->sync != HM_SYNC_COLLECT ||
	    st->epoch.leader != m->epoch.leader || st->epoch.counter != m->epoch.counter)
		return;
	idx = group_index(m, sender);
	if (idx == m->n_group)
		return;
	m->states[idx].nodeid = sender;
	m->states[idx].got = true;
	m->states[idx].st = *st;
	for (i = 0; i < m->n_group; i++)
		if (!m->states[i].got)
			return;
	sync_done(m);
}

void hm_membership_deliver_msg(struct hm_membership *m, uint32_t sender, const struct hm_msg *msg)
{
	switch (msg->type) {
	case HM_MSG_SYNC_START:
		on_sync_start(m, sender, &msg->u.sync_start);
		break;
	case HM_MSG_SYNC_STATE:
		on_sync_state(m, sender, &msg->u.sync_state);
		break;
	}
}

int hm_membership_deliver(struct hm_membership *m, uint32_t sender,
			  const void *data, size_t len)
{
	struct hm_msg msg;
	const char *why = NULL;
	int rc;

	rc = hm_wire_decode(data, len, &msg, &why);
	if (rc < 0)
		return rc;
	hm_membership_deliver_msg(m, sender, &msg);
	return 0;
}

enum hm_quorum hm_membership_quorum(const struct hm_membership *m)
{
	return m->quorum;
}

bool hm_membership_is_connected(const struct hm_membership *m)
{
	return m->connected;
}

uint32_t hm_membership_local_nodeid(const struct hm_membership *m)
{
	return m->local;
}

bool hm_membership_have_ring(const struct hm_membership *m, struct hm_ring_id *ret_ring)
{
	if (!m->connected || !m->have_totem)
		return false;
	if (ret_ring)
		*ret_ring = m->totem_ring;
	return true;
}

size_t hm_membership_totem_members(const struct hm_membership *m, const uint32_t **ret_members)
{
	*ret_members = m->totem;
	return m->connected && m->have_totem ? m->n_totem : 0;
}

size_t hm_membership_group_members(const struct hm_membership *m, const uint32_t **ret_members)
{
	*ret_members = m->members;
	return m->n_members;
}

bool hm_membership_in_group(const struct hm_membership *m, uint32_t nodeid)
{
	return contains(m->members, m->n_members, nodeid);
}

bool hm_membership_refused(const struct hm_membership *m, uint32_t nodeid)
{
	size_t i = group_index(m, nodeid);

	return i < m->n_group && m->states[i].refused;
}

uint16_t hm_membership_required_proto(const struct hm_membership *m)
{
	return m->required_proto;
}

int hm_membership_set_proto_max(struct hm_membership *m, const char *version)
{
	char *end;
	unsigned long v;

	if (!version || !*version)
		return -EINVAL;
	errno = 0;
	v = strtoul(version, &end, 10);
	if (errno || *end || version[0] == '-' || v < 1 || v > HM_WIRE_VERSION)
		return -EINVAL;
	m->proto_max = (uint16_t)v;
	/* an older hamond accepts what it speaks */
	if (m->proto_min > m->proto_max)
		m->proto_min = m->proto_max;
	return 0;
}

enum hm_sync_state hm_membership_sync_state(const struct hm_membership *m)
{
	return m->sync;
}

bool hm_membership_synced(const struct hm_membership *m)
{
	return m->sync == HM_SYNC_DONE;
}

uint32_t hm_membership_coordinator(const struct hm_membership *m)
{
	return acting(m) ? m->coordinator : 0;
}

size_t hm_membership_votes_needed(const struct hm_membership *m)
{
	return votes_needed(m);
}

void hm_membership_set_data_position(struct hm_membership *m, const struct hm_ring_id *last_quorate)
{
	m->last_quorate = *last_quorate;
}

bool hm_membership_acting(const struct hm_membership *m)
{
	return acting(m);
}

void hm_membership_set_votes_needed(struct hm_membership *m, uint32_t votes)
{
	m->votes_needed = votes;
	elect_if_needed(m);
}

uint64_t hm_membership_coordinator_epoch(const struct hm_membership *m)
{
	return m->coordinator_epoch;
}

uint16_t hm_membership_cluster_proto(const struct hm_membership *m)
{
	return m->sync == HM_SYNC_DONE ? m->cluster_proto : 0;
}

struct hm_ring_id hm_membership_last_quorate(const struct hm_membership *m)
{
	return m->last_quorate;
}
