/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster wire format: every message hamonds multicast through CPG.
 *
 * Header (16 bytes, little endian on the wire whatever the host):
 *   u32 magic   HM_WIRE_MAGIC
 *   u16 version the protocol version the sender speaks for this message
 *   u16 type    enum hm_msg_type
 *   u32 length  total bytes, header included; must equal what CPG delivered
 *   u32 flags   reserved, must be 0
 * followed by a body whose size is fixed by the type.
 *
 * Decoding validates everything before anything is used (length, magic,
 * version, type, every field); a message that fails is never applied.
 */
#ifndef HM_WIRE_H
#define HM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define HM_WIRE_MAGIC 0x4e4d4148u	/* "HAMN" */
#define HM_WIRE_VERSION 1
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

enum hm_msg_type {
	HM_MSG_SYNC_START = 1,	/* leader -> all: a sync begins with this epoch */
	HM_MSG_SYNC_STATE = 2,	/* each member -> all: what it holds */
	HM_MSG_TYPE_MAX
};

struct hm_msg_sync_start {
	struct hm_sync_epoch epoch;
};

struct hm_msg_sync_state {
	struct hm_sync_epoch epoch;
	uint16_t proto_max;		/* highest protocol version the sender speaks */
	struct hm_ring_id last_quorate;	/* last ring in which the sender was quorate */
	uint64_t applied_seq;		/* replicated sequence applied (store, later) */
	uint32_t coordinator;		/* the coordinator the sender holds, 0 = none */
	uint64_t coordinator_epoch;	/* bumped on every change of coordinator */
};

struct hm_msg {
	uint16_t version;
	uint16_t type;
	union {
		struct hm_msg_sync_start sync_start;
		struct hm_msg_sync_state sync_state;
	} u;
};

/* Encode into buf; *ret_len gets the size.  -ENOSPC if buf is too small,
 * -EINVAL for an unknown type. */
int hm_wire_encode(const struct hm_msg *msg, void *buf, size_t buflen, size_t *ret_len);

/* Validate and decode.  0, or -EBADMSG (malformed), -EPROTONOSUPPORT (a
 * version we do not speak); *ret_why (if given) says what was wrong. */
int hm_wire_decode(const void *buf, size_t len, struct hm_msg *ret_msg, const char **ret_why);

const char *hm_msg_type_to_str(uint16_t type);

/* total order on ring ids: by seq, then by rep node id */
int hm_ring_id_cmp(const struct hm_ring_id *a, const struct hm_ring_id *b);
int hm_ring_id_equal(const struct hm_ring_id *a, const struct hm_ring_id *b);

#endif
