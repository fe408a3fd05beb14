/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster wire format: every message hamonds multicast through CPG.
 *
 * Header (16 bytes, little endian on the wire whatever the host):
 *   u32 magic   HM_WIRE_MAGIC
 *   u16 version the protocol version of this message's layout: the version
 *               that introduced its type's current body (type_version in
 *               wire.c), so an older member still decodes what it can
 *   u16 type    enum hm_msg_type
 *   u32 length  total bytes, header included; must equal what CPG delivered
 *   u32 flags   reserved, must be 0
 * followed by a body whose size is fixed by the type.
 *
 * Decoding validates everything before anything is used (length, magic,
 * version, type, every field); a message that fails is never applied.
 *
 * Versions.  1: the first protocol.  2: UPDATES (several updates in one
 * message), SYNC_STATE with the sender's lowest version, bucket-level sync
 * (SYNC_DIGESTS, SYNC_DATA of whole buckets).  A member states the versions
 * it speaks in SYNC_STATE; the cluster speaks the lowest proto_max of its
 * members, and a member below the highest proto_min is refused
 * (membership.h).  A version-1 SYNC_STATE still decodes, so that a member
 * that old is refused with a message that says why.  A later version must
 * go on sending SYNC_START and SYNC_STATE in a layout older members decode
 * (as this one does for version 1), or they cannot even refuse it by name.
 */
#ifndef HM_WIRE_H
#define HM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define HM_WIRE_MAGIC 0x4e4d4148u	/* "HAMN" */
#define HM_WIRE_VERSION 2	/* the newest version this build speaks */
#define HM_WIRE_VERSION_MIN 2	/* the oldest: version-1 members are refused */
#define HM_WIRE_VERSION_UPDATES 2	/* UPDATES needs a cluster at this version */
#define HM_WIRE_HDR_SIZE 16
#define HM_WIRE_MAX_MSG (64 * 1024)

/* A totem ring id; unique only as the pair (rep nodeid, seq). */
struct hm_ring_id {
	uint32_t nodeid;
	uint64_t seq;
};

/* Sync epoch: chosen by the member that drives a sync (the lowest node id),
 * so messages of an aborted sync can be recognised and dropped. */
struct hm_sync_epoch {
	uint32_t leader;
	uint64_t counter;
};

#define HM_WIRE_CHECKSUM_LEN 32	/* SHA-256 of the store's replicated content */
#define HM_WIRE_SYNC_TABLES 7	/* per-table checksums in SYNC_STATE (store.h's tables) */
#define HM_WIRE_SYNC_BUCKETS 256	/* a table's rows in buckets, by a hash of their key */
#define HM_WIRE_BUCKET_MAP (HM_WIRE_SYNC_BUCKETS / 8)	/* a bit per bucket */

enum hm_msg_type {
	HM_MSG_SYNC_START = 1,	/* leader -> all: a sync begins with this epoch */
	HM_MSG_SYNC_STATE = 2,	/* each member -> all: what it holds */
	HM_MSG_UPDATE = 3,	/* origin -> all: one change of the replicated state */
	HM_MSG_ACK = 4,		/* each member -> all: durably applied up to a sequence */
	HM_MSG_CHECKPOINT = 5,	/* coordinator -> all: digest your state at this point */
	HM_MSG_DIGEST = 6,	/* each member -> all: its checksum at a checkpoint */
	HM_MSG_SYNC_DATA = 7,	/* sync source -> all: rows of some buckets of one table */
	HM_MSG_SYNC_END = 8,	/* sync source -> all: the transfer is complete */
	HM_MSG_UPDATES = 9,	/* origin -> all: several changes, in order (v2) */
	HM_MSG_SYNC_DIGESTS = 10,	/* a member that differs -> all: its bucket digests of a table (v2) */
	HM_MSG_TYPE_MAX
};

/* operations an UPDATE carries; the payload is a JSON object */
enum hm_update_op {
	HM_OP_POLICY_SET = 1,		/* {"key": "...", "value": "..."} */
	HM_OP_POLICY_DELETE = 2,	/* {"key": "..."} */
	HM_OP_HOST_PUBLISH = 3,		/* a host's own observations (ops.h) */
	HM_OP_INSTANCE_PUBLISH = 4,	/* an instance as its host's libvirt sees it */
	HM_OP_INSTANCE_GONE = 5,	/* {"uuid"}: undefined on its owner */
	HM_OP_JOB_CREATE = 6,		/* a job accepted: {"id", "kind", ...} (jobs.h) */
	HM_OP_STEP_INTENT = 7,		/* the coordinator: run this step there */
	HM_OP_STEP_RESULT = 8,		/* a step's executor: what it did */
	HM_OP_JOB_END = 9,		/* the coordinator: a job reached its end */
	HM_OP_FENCE_DEVICE_SET = 10,	/* a fence device of a host, at a level */
	HM_OP_FENCE_DEVICE_DELETE = 11,	/* {"id"} */
	HM_OP_HOST_FLAGS = 12,		/* the operator's flags of a host */
	HM_OP_HISTORY = 13,		/* one event for the timeline */
	HM_OP_HOST_STATE = 14,		/* the cluster's verdict: lost, fenced */
	HM_OP_MAX
};

struct hm_msg_sync_start {
	struct hm_sync_epoch epoch;
};

struct hm_msg_sync_state {
	struct hm_sync_epoch epoch;
	uint16_t proto_max;		/* highest protocol version the sender speaks */
	uint16_t proto_min;		/* lowest it accepts in others (v2; 1 in a v1 message) */
	struct hm_ring_id last_quorate;	/* last ring in which the sender was quorate */
	uint64_t applied_seq;		/* replicated sequence applied (store, later) */
	uint32_t coordinator;		/* the coordinator the sender holds, 0 = none */
	uint64_t coordinator_epoch;	/* bumped on every change of coordinator */
	uint8_t checksum[HM_WIRE_CHECKSUM_LEN];	/* of the sender's store */
	/* of each table: a sync sends only the tables that differ */
	uint8_t table_sums[HM_WIRE_SYNC_TABLES][HM_WIRE_CHECKSUM_LEN];
};

struct hm_msg_update {
	uint64_t request_id;		/* chosen by the origin, unique per origin */
	uint64_t ts_ms;			/* the origin's wall clock: apply never reads one */
	uint16_t op;			/* enum hm_update_op */
	uint32_t payload_len;
	const uint8_t *payload;		/* points into the decoded buffer */
};

/*
 * UPDATES: entries back to back, each the body of an UPDATE (request id, ts,
 * op, reserved 0, payload length) followed by its payload.  Decoding checks
 * every entry; hm_wire_updates_next() then walks them.
 */
struct hm_msg_updates {
	uint32_t count;			/* >= 1 */
	uint32_t entries_len;
	const uint8_t *entries;		/* points into the decoded buffer */
};

#define HM_SYNC_DATA_FIRST 1	/* the first chunk of its table: replace the buckets in `buckets` */

struct hm_msg_sync_data {
	struct hm_sync_epoch epoch;
	uint16_t table;			/* enum hm_store_table */
	uint16_t flags;			/* HM_SYNC_DATA_FIRST */
	/* the buckets (of HM_WIRE_SYNC_BUCKETS) this transfer replaces, a bit
	 * each (bucket b: byte b / 8, bit b % 8); all zero unless FIRST */
	uint8_t buckets[HM_WIRE_BUCKET_MAP];
	uint32_t payload_len;
	const uint8_t *payload;		/* rows, one JSON object per line */
};

/* a member whose table differs from the source's states its bucket digests */
struct hm_msg_sync_digests {
	struct hm_sync_epoch epoch;
	uint16_t table;			/* enum hm_store_table */
	uint8_t digests[HM_WIRE_SYNC_BUCKETS][HM_WIRE_CHECKSUM_LEN];
};

struct hm_msg_sync_end {
	struct hm_sync_epoch epoch;
	struct hm_ring_id last_quorate;
	uint64_t applied_seq;
	uint64_t policy_version;
	uint8_t checksum[HM_WIRE_CHECKSUM_LEN];
};

struct hm_msg_ack {
	uint64_t applied_seq;
};

struct hm_msg_checkpoint {
	uint64_t id;
};

struct hm_msg_digest {
	uint64_t checkpoint;
	uint64_t applied_seq;
	uint8_t checksum[HM_WIRE_CHECKSUM_LEN];
};

struct hm_msg {
	uint16_t version;
	uint16_t type;
	union {
		struct hm_msg_sync_start sync_start;
		struct hm_msg_sync_state sync_state;
		struct hm_msg_update update;
		struct hm_msg_ack ack;
		struct hm_msg_checkpoint checkpoint;
		struct hm_msg_digest digest;
		struct hm_msg_sync_data sync_data;
		struct hm_msg_sync_end sync_end;
		struct hm_msg_updates updates;
		struct hm_msg_sync_digests sync_digests;
	} u;
};

/* Encode into buf; *ret_len gets the size.  -ENOSPC if buf is too small,
 * -EINVAL for an unknown type or a version (msg->version, 0 = the type's
 * current one) that has no such message. */
int hm_wire_encode(const struct hm_msg *msg, void *buf, size_t buflen, size_t *ret_len);

/* Validate and decode.  0, or -EBADMSG (malformed), -EPROTONOSUPPORT (a
 * version we do not speak); *ret_why (if given) says what was wrong. */
int hm_wire_decode(const void *buf, size_t len, struct hm_msg *ret_msg, const char **ret_why);

/* Append one update to the entries of an UPDATES being built (buf of
 * buflen bytes, *io_len used so far): -ENOSPC when it does not fit in buf,
 * -EMSGSIZE when the message it would make is larger than HM_WIRE_MAX_MSG,
 * -EINVAL for an unknown op or request id 0. */
int hm_wire_updates_add(uint8_t *buf, size_t buflen, size_t *io_len,
			const struct hm_msg_update *u);
/* the next update of a decoded UPDATES: *io_pos starts at 0; 0, or -ENOENT
 * after the last one */
int hm_wire_updates_next(const struct hm_msg_updates *b, size_t *io_pos,
			 struct hm_msg_update *ret);

const char *hm_msg_type_to_str(uint16_t type);
const char *hm_update_op_to_str(uint16_t op);

/* total order on ring ids: by seq, then by rep node id */
int hm_ring_id_cmp(const struct hm_ring_id *a, const struct hm_ring_id *b);
int hm_ring_id_equal(const struct hm_ring_id *a, const struct hm_ring_id *b);

#endif
