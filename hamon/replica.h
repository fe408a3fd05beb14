/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replicated cluster state: every change is an UPDATE multicast through
 * CPG and applied, in delivery order, to the local store on every member.
 *
 * - Applying is a pure function of (store, message): ids and timestamps come
 *   in the message.  An UPDATE that fails validation is refused the same way
 *   everywhere and still takes its sequence number, so replicas never drift.
 * - The changes submitted in one turn of the main loop go out as one
 *   UPDATES message (a zero-delay timer sends it; a lone change goes as an
 *   UPDATE), each entry with its own sequence number.  Our other messages
 *   send the batch first, so what we send keeps its order.
 * - Everything applied in one dispatch of CPG goes into one transaction,
 *   committed (fsync) by hm_replica_flush(), which then multicasts an ACK of
 *   the applied sequence.
 * - A change submitted here is *accepted* once members holding the votes
 *   corosync needs for quorum have acknowledged it.  If the group changes
 *   first, its outcome is unknown, and the submitter is told so.
 * - Only an acting partition submits changes.  What a member refused for
 *   its protocol version sends (but its sync state) is dropped.
 * - Sync, digest first: after every group change each member states
 *   (applied sequence, checksum, a checksum per table).  Each member that
 *   differs from the source then states the digests of the 256 buckets of
 *   every table that differs (SYNC_DIGESTS); with all of them the source
 *   sends the rows of every bucket that differs for someone (SYNC_DATA) and
 *   SYNC_END.  Those who differ replace those buckets in one transaction
 *   and verify the checksum.  Every message carries the sync epoch; those
 *   of another are dropped.  Messages delivered during a sync are held and
 *   applied after it, in order.
 * - Checkpoints: the coordinator periodically asks every member to digest
 *   its store at one point of the total order; status compares the digests
 *   and names a member that differs.  The store keeps its digests between
 *   calls, so only the tables written since are read again.
 */
#ifndef HM_REPLICA_H
#define HM_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "membership.h"
#include "seam.h"
#include "store.h"

/* the coordinator asks for a checkpoint this long after a change or a
 * sync (changes in between share it), and every period if one is set */
#define HM_CHECKPOINT_DELAY_MS 1000

struct hm_replica;

/* rc: 0 accepted (at seq); -ECONNRESET outcome unknown; another -errno
 * refused (message says why).  Called exactly once per submitted change. */
typedef void (*hm_replica_done_fn)(void *data, int rc, uint64_t seq, const char *message);

struct hm_replica *hm_replica_new(const struct hm_seam *seam, struct hm_membership *m,
				  struct hm_store *store);
void hm_replica_free(struct hm_replica *r);

/* every message CPG delivers; sync messages go on to the membership.
 * -EBADMSG (or -EPROTONOSUPPORT) when refused: the caller logs it */
int hm_replica_deliver(struct hm_replica *r, uint32_t sender, const void *data, size_t len);
/* after a batch of deliveries: commit what was applied, acknowledge it */
void hm_replica_flush(struct hm_replica *r);

/*
 * Submit one change (op and its JSON payload).  Refused at once, with a
 * message in err, when this partition does not act (-EROFS) or the change is
 * invalid (-EINVAL); else done() is called later.
 */
int hm_replica_submit(struct hm_replica *r, uint16_t op, const char *payload,
		      hm_replica_done_fn done, void *data, char *err, size_t errlen);

/* validate an update as apply would, without the store: 0 or -EINVAL */
int hm_replica_validate(uint16_t op, const char *payload, size_t len, char *err, size_t errlen);

struct hm_replica_status {
	uint64_t applied_seq;
	uint64_t checkpoint;		/* latest checkpoint digested, 0 = none yet */
	uint64_t checkpoint_seq;	/* the applied sequence it was taken at */
	size_t n_digests;		/* members that reported it */
	bool agree;			/* every member reported the same checksum */
	uint32_t differs[HM_MAX_NODES];	/* members outside the majority's checksum */
	size_t n_differs;
	size_t pending;			/* changes submitted here, not yet decided */
};
void hm_replica_get_status(const struct hm_replica *r, struct hm_replica_status *ret);

/* also checkpoint every period_ms when nothing changes (0: only after
 * changes), so a replica altered behind hamond's back is noticed */
void hm_replica_set_checkpoint_period(struct hm_replica *r, uint64_t period_ms);

#endif
