/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Membership: the pure decision of "are we quorate, and who coordinates".
 *
 * Inputs are the events corosync gives hamond (CPG totem and group
 * configuration changes, quorum notifications, loss of the connection) and the
 * sync messages hamonds multicast.  No I/O: it reaches the world only through
 * the seam (send, timers, log).
 *
 * Quorum (DESIGN.md "Semantics"): a node is QUORATE only when the ring id of
 * the latest quorum notification equals the ring id of the latest CPG totem
 * change and that notification said quorate.  Between a totem change and the
 * quorum notification for the same ring it is UNKNOWN.  Without corosync it
 * is NOT_QUORATE.
 *
 * Sync and coordinator.  Every change of the CPG group (the running hamonds)
 * starts a sync, driven by the lowest node id of the group:
 *
 *   state         event                                  next
 *   ------------  -------------------------------------  ------------
 *   any           group change; we are the leader        WAIT_START, send SYNC_START(new epoch)
 *   any           group change; someone else leads       WAIT_START
 *   WAIT_START/   SYNC_START from the current leader     COLLECT, send SYNC_STATE(epoch)
 *    COLLECT/DONE
 *   COLLECT       SYNC_STATE of this epoch, all members  DONE: coordinator decided
 *   any           SYNC_* of another epoch or leader      (dropped)
 *   any           corosync lost                          NONE
 *
 *   COLLECT       ... and our proto_max is below another's      REFUSED (no part, until
 *                 proto_min                                  the next group change)
 *
 * Protocol versions: each SYNC_STATE says which versions its sender speaks
 * (proto_min..proto_max).  The cluster requires the highest proto_min and
 * speaks the lowest proto_max among the members that reach it; a member
 * whose proto_max is below the requirement is refused, by every member alike
 * (they decide from the same states): it is no source, has no vote, its
 * ACKs do not count, whatever else it sends is dropped, and the group and
 * member queries below leave it out.  It logs why, and so do the others.
 *
 * On DONE every member decides the same thing from the same set of states
 * (CPG delivers them in one agreed order): the source is the member holding
 * the newest data — greatest (last acting ring id, applied sequence,
 * coordinator epoch), lowest node id on ties — and everyone takes its
 * coordinator and epoch.
 *
 * A partition *acts* only when quorate, synced, and its hamonds hold the
 * votes corosync needs for quorum (hm_membership_set_votes_needed): two
 * acting groups then always share a member, which carries the newest data
 * and the latest epoch forward.  While acting, if the held coordinator is not
 * a member, the lowest member becomes coordinator and the epoch goes up by
 * one (sticky otherwise).  The coordinator is reported only while acting.
 */
#ifndef HM_MEMBERSHIP_H
#define HM_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seam.h"
#include "wire.h"

#define HM_MAX_NODES 384	/* corosync's own limit on processors */

enum hm_quorum {
	HM_QUORUM_NOT_QUORATE = 0,
	HM_QUORUM_UNKNOWN,
	HM_QUORUM_QUORATE,
};

enum hm_sync_state {
	HM_SYNC_NONE = 0,	/* not in a group (no corosync, not joined) */
	HM_SYNC_WAIT_START,	/* group changed, waiting for the leader */
	HM_SYNC_COLLECT,	/* collecting every member's state */
	HM_SYNC_TRANSFER,	/* the source sends its data to those who differ */
	HM_SYNC_DONE,		/* synced */
	HM_SYNC_REFUSED,	/* our protocol is too old for the others: no part */
};

struct hm_membership;

/*
 * What the replicated store (replica.c) adds to a sync.  All optional.
 * local_position: fill our applied sequence and checksums into SYNC_STATE
 *   (and may zero the last quorate ring of a replica that must not serve).
 * collected: every member's state is in (states[i] is group[i]'s); return
 *   true when a data transfer is needed; the sync then stays in TRANSFER
 *   until hm_membership_transfer_done().
 * group_changed: a sync is starting over; drop any transfer in progress.
 * synced: the sync is done (data equal everywhere).
 */
struct hm_membership_hooks {
	void *data;
	void (*local_position)(void *data, struct hm_msg_sync_state *io_state);
	bool (*collected)(void *data, const struct hm_sync_epoch *epoch,
			  const uint32_t *group, const struct hm_msg_sync_state *states,
			  size_t n, size_t source);
	void (*group_changed)(void *data);
	void (*synced)(void *data);
};

struct hm_membership *hm_membership_new(const struct hm_seam *seam);
void hm_membership_free(struct hm_membership *m);

/* corosync services are up and this is our node id */
void hm_membership_connected(struct hm_membership *m, uint32_t local_nodeid);
/* any corosync service was lost: not quorate, no group, until reconnected */
void hm_membership_disconnected(struct hm_membership *m);

/* CPG totem configuration change (model v1): the corosync members of a ring */
void hm_membership_totem_change(struct hm_membership *m, const struct hm_ring_id *ring,
				const uint32_t *members, size_t n_members);
/* quorum notification (quorum_model_initialize V1) */
void hm_membership_quorum_change(struct hm_membership *m, bool quorate,
				 const struct hm_ring_id *ring,
				 const uint32_t *members, size_t n_members);
/* CPG group configuration change: the hamonds in our group */
void hm_membership_group_change(struct hm_membership *m,
				const uint32_t *members, size_t n_members,
				const uint32_t *left, size_t n_left,
				const uint32_t *joined, size_t n_joined);
/* a message delivered by CPG; -EBADMSG/-EPROTONOSUPPORT if it was refused
 * (the caller logs it with the sender; it was not applied) */
int hm_membership_deliver(struct hm_membership *m, uint32_t sender,
			  const void *data, size_t len);

void hm_membership_set_hooks(struct hm_membership *m, const struct hm_membership_hooks *hooks);
/* a decoded sync message (SYNC_START/SYNC_STATE); others are not ours */
void hm_membership_deliver_msg(struct hm_membership *m, uint32_t sender, const struct hm_msg *msg);
/* the transfer of this epoch is complete on this node */
void hm_membership_transfer_done(struct hm_membership *m, const struct hm_sync_epoch *epoch);
/* the sync epoch in progress or last done */
struct hm_sync_epoch hm_membership_sync_epoch(const struct hm_membership *m);

/* queries */
enum hm_quorum hm_membership_quorum(const struct hm_membership *m);
bool hm_membership_is_connected(const struct hm_membership *m);
uint32_t hm_membership_local_nodeid(const struct hm_membership *m);
bool hm_membership_have_ring(const struct hm_membership *m, struct hm_ring_id *ret_ring);
size_t hm_membership_totem_members(const struct hm_membership *m, const uint32_t **ret_members);
/* the hamonds of our group that take part (the refused left out) */
size_t hm_membership_group_members(const struct hm_membership *m, const uint32_t **ret_members);
bool hm_membership_in_group(const struct hm_membership *m, uint32_t nodeid);
/* a member of the CPG group that the last sync refused (protocol too old) */
bool hm_membership_refused(const struct hm_membership *m, uint32_t nodeid);
/* the protocol version the last sync required (the highest proto_min) */
uint16_t hm_membership_required_proto(const struct hm_membership *m);
/* tests only: speak at most this protocol version (decimal text, from 1 to
 * HM_WIRE_VERSION), as an older hamond would; -EINVAL otherwise */
int hm_membership_set_proto_max(struct hm_membership *m, const char *version);
enum hm_sync_state hm_membership_sync_state(const struct hm_membership *m);
bool hm_membership_synced(const struct hm_membership *m);
/*
 * How many hamonds a partition needs to act: corosync's quorum threshold
 * (each node one vote).  0 means a majority of the current ring, which is
 * weaker: hamond sets it from the nodelist.
 */
void hm_membership_set_votes_needed(struct hm_membership *m, uint32_t votes);
size_t hm_membership_votes_needed(const struct hm_membership *m);
/* how new our data is, from the store at start: the last acting ring */
void hm_membership_set_data_position(struct hm_membership *m, const struct hm_ring_id *last_quorate);
/* quorate, synced, and enough hamonds: may record data and coordinate */
bool hm_membership_acting(const struct hm_membership *m);
/* the coordinator's node id, 0 unless acting */
uint32_t hm_membership_coordinator(const struct hm_membership *m);
uint64_t hm_membership_coordinator_epoch(const struct hm_membership *m);
/* lowest protocol version spoken by the synced members (0 before a sync) */
uint16_t hm_membership_cluster_proto(const struct hm_membership *m);
struct hm_ring_id hm_membership_last_quorate(const struct hm_membership *m);

const char *hm_quorum_to_str(enum hm_quorum q);
const char *hm_sync_state_to_str(enum hm_sync_state s);

#endif
