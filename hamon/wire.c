/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wire.h"

/* explicit little-endian cursor: no struct is ever sent as raw memory */
struct hm_cursor {
	uint8_t *w;		/* encoding */
	const uint8_t *r;	/* decoding */
	size_t len;
	size_t pos;
	int overflow;
};

static void put_u16(struct hm_cursor *c, uint16_t v)
{
	if (c->pos + 2 > c->len) {
		c->overflow = 1;
		return;
	}
	c->w[c->pos++] = v & 0xff;
	c->w[c->pos++] = v >> 8;
}

static void put_u32(struct hm_cursor *c, uint32_t v)
{
	put_u16(c, v & 0xffff);
	put_u16(c, v >> 16);
}

static void put_u64(struct hm_cursor *c, uint64_t v)
{
	put_u32(c, v & 0xffffffffu);
	put_u32(c, v >> 32);
}

static uint16_t get_u16(struct hm_cursor *c)
{
	uint16_t v;

	if (c->pos + 2 > c->len) {
		c->overflow = 1;
		return 0;
	}
	v = (uint16_t)(c->r[c->pos] | (c->r[c->pos + 1] << 8));
	c->pos += 2;
	return v;
}

static uint32_t get_u32(struct hm_cursor *c)
{
	uint32_t lo = get_u16(c);

	return lo | ((uint32_t)get_u16(c) << 16);
}

static uint64_t get_u64(struct hm_cursor *c)
{
	uint64_t lo = get_u32(c);

	return lo | ((uint64_t)get_u32(c) << 32);
}

/* the fixed part of an UPDATE, and of each entry of an UPDATES */
#define UPDATE_FIXED (8 + 8 + 2 + 2 + 4)
#define SYNC_STATE_V1 (4 + 8 + 2 + 4 + 8 + 8 + 4 + 8 + (1 + HM_WIRE_SYNC_TABLES) * HM_WIRE_CHECKSUM_LEN)

/* fixed body sizes per type, at the type's current version; UPDATE,
 * UPDATES and SYNC_DATA add what they carry */
static const size_t body_size[HM_MSG_TYPE_MAX] = {
	[HM_MSG_SYNC_START] = 4 + 8,
	[HM_MSG_SYNC_STATE] = SYNC_STATE_V1 + 2,
	[HM_MSG_UPDATE] = UPDATE_FIXED,
	[HM_MSG_ACK] = 8,
	[HM_MSG_CHECKPOINT] = 8,
	[HM_MSG_DIGEST] = 8 + 8 + HM_WIRE_CHECKSUM_LEN,
	[HM_MSG_SYNC_DATA] = 4 + 8 + 2 + 2 + HM_WIRE_BUCKET_MAP + 4,
	[HM_MSG_SYNC_END] = 4 + 8 + 4 + 8 + 8 + 8 + HM_WIRE_CHECKSUM_LEN,
	[HM_MSG_UPDATES] = 4,
	[HM_MSG_SYNC_DIGESTS] = 4 + 8 + 2 + 2 + HM_WIRE_SYNC_BUCKETS * HM_WIRE_CHECKSUM_LEN,
};

/*
 * The version that introduced each type's current body: a message is
 * encoded at it (older members still decode the types they know), and
 * refused below it.  The one exception is a version-1 SYNC_STATE, which
 * decodes so that a member that old can be refused by name.
 */
static const uint16_t type_version[HM_MSG_TYPE_MAX] = {
	[HM_MSG_SYNC_START] = 1,
	[HM_MSG_SYNC_STATE] = 2,
	[HM_MSG_UPDATE] = 1,
	[HM_MSG_ACK] = 1,
	[HM_MSG_CHECKPOINT] = 1,
	[HM_MSG_DIGEST] = 1,
	[HM_MSG_SYNC_DATA] = 2,
	[HM_MSG_SYNC_END] = 1,
	[HM_MSG_UPDATES] = 2,
	[HM_MSG_SYNC_DIGESTS] = 2,
};

static size_t fixed_size(uint16_t type, uint16_t version)
{
	if (type == HM_MSG_SYNC_STATE && version == 1)
		return SYNC_STATE_V1;
	return body_size[type];
}

static bool version_has_type(uint16_t type, uint16_t version)
{
	if (type == HM_MSG_SYNC_STATE && version == 1)
		return true;
	return version >= type_version[type] && version <= HM_WIRE_VERSION;
}

/* types whose body ends with what it states the length of */
static bool has_payload(uint16_t type)
{
	return type == HM_MSG_UPDATE || type == HM_MSG_SYNC_DATA || type == HM_MSG_UPDATES;
}

static const char *const type_name[HM_MSG_TYPE_MAX] = {
	[HM_MSG_SYNC_START] = "sync-start",
	[HM_MSG_SYNC_STATE] = "sync-state",
	[HM_MSG_UPDATE] = "update",
	[HM_MSG_ACK] = "ack",
	[HM_MSG_CHECKPOINT] = "checkpoint",
	[HM_MSG_DIGEST] = "digest",
	[HM_MSG_SYNC_DATA] = "sync-data",
	[HM_MSG_SYNC_END] = "sync-end",
	[HM_MSG_UPDATES] = "updates",
	[HM_MSG_SYNC_DIGESTS] = "sync-digests",
};

static const char *const op_name[HM_OP_MAX] = {
	[HM_OP_POLICY_SET] = "policy-set",
	[HM_OP_POLICY_DELETE] = "policy-delete",
	[HM_OP_HOST_PUBLISH] = "host-publish",
	[HM_OP_INSTANCE_PUBLISH] = "instance-publish",
	[HM_OP_INSTANCE_GONE] = "instance-gone",
	[HM_OP_JOB_CREATE] = "job-create",
	[HM_OP_STEP_INTENT] = "step-intent",
	[HM_OP_STEP_RESULT] = "step-result",
	[HM_OP_JOB_END] = "job-end",
	[HM_OP_FENCE_DEVICE_SET] = "fence-device-set",
	[HM_OP_FENCE_DEVICE_DELETE] = "fence-device-delete",
	[HM_OP_HOST_FLAGS] = "host-flags",
	[HM_OP_HISTORY] = "history",
	[HM_OP_HOST_STATE] = "host-state",
};

const char *hm_update_op_to_str(uint16_t op)
{
	if (op == 0 || op >= HM_OP_MAX)
		return "unknown";
	return op_name[op];
}

static void put_bytes(struct hm_cursor *c, const uint8_t *p, size_t n)
{
	if (c->pos + n > c->len) {
		c->overflow = 1;
		return;
	}
	if (n)
		memcpy(c->w + c->pos, p, n);
	c->pos += n;
}

static void get_bytes(struct hm_cursor *c, uint8_t *p, size_t n)
{
	if (c->pos + n > c->len) {
		c->overflow = 1;
		return;
	}
	memcpy(p, c->r + c->pos, n);
	c->pos += n;
}

const char *hm_msg_type_to_str(uint16_t type)
{
	if (type == 0 || type >= HM_MSG_TYPE_MAX)
		return "unknown";
	return type_name[type];
}

int hm_ring_id_cmp(const struct hm_ring_id *a, const struct hm_ring_id *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->nodeid != b->nodeid)
		return a->nodeid < b->nodeid ? -1 : 1;
	return 0;
}

int hm_ring_id_equal(const struct hm_ring_id *a, const struct hm_ring_id *b)
{
	return hm_ring_id_cmp(a, b) == 0;
}

static void put_epoch(struct hm_cursor *c, const struct hm_sync_epoch *e)
{
	put_u32(c, e->leader);
	put_u64(c, e->counter);
}

static void get_epoch(struct hm_cursor *c, struct hm_sync_epoch *e)
{
	e->leader = get_u32(c);
	e->counter = get_u64(c);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void put_update(struct hm_cursor *c, const struct hm_msg_update *u)
{
	put_u64(c, u->request_id);
	put_u64(c, u->ts_ms);
	put_u16(c, u->op);
	put_u16(c, 0);
	put_u32(c, u->payload_len);
	put_bytes(c, u->payload, u->payload_len);
}

static bool update_valid(const struct hm_msg_update *u)
{
	return u->op != 0 && u->op < HM_OP_MAX && u->request_id != 0 &&
	       (u->payload || !u->payload_len);
}

int hm_wire_updates_add(uint8_t *buf, size_t buflen, size_t *io_len,
			const struct hm_msg_update *u)
{
	struct hm_cursor c = { .w = buf, .len = buflen, .pos = *io_len };
	size_t need = *io_len + UPDATE_FIXED + u->payload_len;

	if (!update_valid(u))
		return -EINVAL;
	if (HM_WIRE_HDR_SIZE + body_size[HM_MSG_UPDATES] + need > HM_WIRE_MAX_MSG)
		return -EMSGSIZE;
	if (need > buflen)
		return -ENOSPC;
	put_update(&c, u);
	*io_len = c.pos;
	return 0;
}

int hm_wire_encode(const struct hm_msg *msg, void *buf, size_t buflen, size_t *ret_len)
{
	struct hm_cursor c = { .w = buf, .len = buflen };
	const struct hm_msg_sync_state *st;
	uint16_t version;
	size_t total;

	if (msg->type == 0 || msg->type >= HM_MSG_TYPE_MAX)
		return -EINVAL;
	version = msg->version ? msg->version : type_version[msg->type];
	if (!version_has_type(msg->type, version))
		return -EINVAL;
	total = HM_WIRE_HDR_SIZE + fixed_size(msg->type, version);
	if (msg->type == HM_MSG_UPDATE) {
		if (msg->u.update.op == 0 || msg->u.update.op >= HM_OP_MAX ||
		    (msg->u.update.payload_len && !msg->u.update.payload))
			return -EINVAL;
		total += msg->u.update.payload_len;
	} else if (msg->type == HM_MSG_SYNC_DATA) {
		if ((msg->u.sync_data.payload_len && !msg->u.sync_data.payload) ||
		    (!(msg->u.sync_data.flags & HM_SYNC_DATA_FIRST) &&
		     !all_zero(msg->u.sync_data.buckets, HM_WIRE_BUCKET_MAP)))
			return -EINVAL;
		total += msg->u.sync_data.payload_len;
	} else if (msg->type == HM_MSG_UPDATES) {
		/* built by hm_wire_updates_add(), or decoded: already checked */
		if (!msg->u.updates.count || !msg->u.updates.entries)
			return -EINVAL;
		total += msg->u.updates.entries_len;
	}
	if (total > HM_WIRE_MAX_MSG)
		return -EMSGSIZE;
	if (total > buflen)
		return -ENOSPC;

	put_u32(&c, HM_WIRE_MAGIC);
	put_u16(&c, version);
	put_u16(&c, msg->type);
	put_u32(&c, (uint32_t)total);
	put_u32(&c, 0);
	switch (msg->type) {
	case HM_MSG_SYNC_START:
		put_epoch(&c, &msg->u.sync_start.epoch);
		break;
	case HM_MSG_SYNC_STATE:
		st = &msg->u.sync_state;
		put_epoch(&c, &st->epoch);
		put_u16(&c, st->proto_max);
		put_u32(&c, st->last_quorate.nodeid);
		put_u64(&c, st->last_quorate.seq);
		put_u64(&c, st->applied_seq);
		put_u32(&c, st->coordinator);
		put_u64(&c, st->coordinator_epoch);
		put_bytes(&c, st->checksum, HM_WIRE_CHECKSUM_LEN);
		put_bytes(&c, &st->table_sums[0][0], sizeof(st->table_sums));
		if (version >= 2)
			put_u16(&c, st->proto_min);
		break;
	case HM_MSG_UPDATE:
		put_update(&c, &msg->u.update);
		break;
	case HM_MSG_ACK:
		put_u64(&c, msg->u.ack.applied_seq);
		break;
	case HM_MSG_CHECKPOINT:
		put_u64(&c, msg->u.checkpoint.id);
		break;
	case HM_MSG_DIGEST:
		put_u64(&c, msg->u.digest.checkpoint);
		put_u64(&c, msg->u.digest.applied_seq);
		put_bytes(&c, msg->u.digest.checksum, HM_WIRE_CHECKSUM_LEN);
		break;
	case HM_MSG_SYNC_DATA:
		put_epoch(&c, &msg->u.sync_data.epoch);
		put_u16(&c, msg->u.sync_data.table);
		put_u16(&c, msg->u.sync_data.flags);
		put_bytes(&c, msg->u.sync_data.buckets, HM_WIRE_BUCKET_MAP);
		put_u32(&c, msg->u.sync_data.payload_len);
		put_bytes(&c, msg->u.sync_data.payload, msg->u.sync_data.payload_len);
		break;
	case HM_MSG_SYNC_END:
		put_epoch(&c, &msg->u.sync_end.epoch);
		put_u32(&c, msg->u.sync_end.last_quorate.nodeid);
		put_u64(&c, msg->u.sync_end.last_quorate.seq);
		put_u64(&c, msg->u.sync_end.applied_seq);
		put_u64(&c, msg->u.sync_end.policy_version);
		put_bytes(&c, msg->u.sync_end.checksum, HM_WIRE_CHECKSUM_LEN);
		break;
	case HM_MSG_UPDATES:
		put_u32(&c, msg->u.updates.count);
		put_bytes(&c, msg->u.updates.entries, msg->u.updates.entries_len);
		break;
	case HM_MSG_SYNC_DIGESTS:
		put_epoch(&c, &msg->u.sync_digests.epoch);
		put_u16(&c, msg->u.sync_digests.table);
		put_u16(&c, 0);
		put_bytes(&c, &msg->u.sync_digests.digests[0][0], sizeof(msg->u.sync_digests.digests));
		break;
	}
	if (c.overflow || c.pos != total)
		return -EINVAL;
	*ret_len = total;
	return 0;
}

static int refuse(const char **ret_why, const char *why, int err)
{
	if (ret_why)
		*ret_why = why;
	return err;
}

/* one UPDATE body (or UPDATES entry) at c->pos, its payload running to at
 * most `end`; NULL if valid, else why not */
static const char *get_update(struct hm_cursor *c, size_t end, struct hm_msg_update *u)
{
	if (end - c->pos < UPDATE_FIXED)
		return "truncated update";
	u->request_id = get_u64(c);
	u->ts_ms = get_u64(c);
	u->op = get_u16(c);
	if (get_u16(c) != 0)
		return "reserved update field set";
	u->payload_len = get_u32(c);
	if (u->op == 0 || u->op >= HM_OP_MAX)
		return "unknown update operation";
	if (u->payload_len > end - c->pos)
		return "payload length disagrees with the message size";
	u->payload = c->r + c->pos;
	c->pos += u->payload_len;
	if (u->request_id == 0)
		return "update without a request id";
	return NULL;
}

int hm_wire_updates_next(const struct hm_msg_updates *b, size_t *io_pos,
			 struct hm_msg_update *ret)
{
	struct hm_cursor c = { .r = b->entries, .len = b->entries_len, .pos = *io_pos };

	/* decoding checked every entry: this only walks them */
	if (*io_pos >= b->entries_len || get_update(&c, b->entries_len, ret) != NULL)
		return -ENOENT;
	*io_pos = c.pos;
	return 0;
}

int hm_wire_decode(const void *buf, size_t len, struct hm_msg *ret_msg, const char **ret_why)
{
	struct hm_cursor c = { .r = buf, .len = len };
	struct hm_msg m;
	struct hm_msg_sync_state *st;
	uint32_t magic, length, flags;
	const char *why;

	memset(&m, 0, sizeof(m));
	if (!buf || len < HM_WIRE_HDR_SIZE)
		return refuse(ret_why, "shorter than the header", -EBADMSG);
	if (len > HM_WIRE_MAX_MSG)
		return refuse(ret_why, "longer than the largest message", -EBADMSG);
	magic = get_u32(&c);
	m.version = get_u16(&c);
	m.type = get_u16(&c);
	length = get_u32(&c);
	flags = get_u32(&c);
	if (magic != HM_WIRE_MAGIC)
		return refuse(ret_why, "bad magic", -EBADMSG);
	if (m.version == 0)
		return refuse(ret_why, "version 0", -EBADMSG);
	if (m.version > HM_WIRE_VERSION)
		return refuse(ret_why, "protocol version newer than ours", -EPROTONOSUPPORT);
	if (length != len)
		return refuse(ret_why, "length field disagrees with the delivered size", -EBADMSG);
	if (flags != 0)
		return refuse(ret_why, "reserved flags set", -EBADMSG);
	if (m.type == 0 || m.type >= HM_MSG_TYPE_MAX)
		return refuse(ret_why, "unknown type", -EBADMSG);
	if (!version_has_type(m.type, m.version))
		return refuse(ret_why, "type not in the message's protocol version", -EBADMSG);
	if (has_payload(m.type) ? len < HM_WIRE_HDR_SIZE + fixed_size(m.type, m.version) :
				      len != HM_WIRE_HDR_SIZE + fixed_size(m.type, m.version))
		return refuse(ret_why, "wrong body size for its type", -EBADMSG);

	switch (m.type) {
	case HM_MSG_SYNC_START:
		get_epoch(&c, &m.u.sync_start.epoch);
		if (m.u.sync_start.epoch.leader == 0)
			return refuse(ret_why, "sync epoch without a leader", -EBADMSG);
		break;
	case HM_MSG_SYNC_STATE:
		st = &m.u.sync_state;
		get_epoch(&c, &st->epoch);
		st->proto_max = get_u16(&c);
		st->last_quorate.nodeid = get_u32(&c);
		st->last_quorate.seq = get_u64(&c);
		st->applied_seq = get_u64(&c);
		st->coordinator = get_u32(&c);
		st->coordinator_epoch = get_u64(&c);
		get_bytes(&c, st->checksum, HM_WIRE_CHECKSUM_LEN);
		get_bytes(&c, &st->table_sums[0][0], sizeof(st->table_sums));
		/* a version-1 member accepts version 1 */
		st->proto_min = m.version >= 2 ? get_u16(&c) : 1;
		if (st->epoch.leader == 0)
			return refuse(ret_why, "sync epoch without a leader", -EBADMSG);
		if (st->proto_max == 0 || st->proto_min == 0)
			return refuse(ret_why, "protocol version 0", -EBADMSG);
		if (st->proto_min > st->proto_max)
			return refuse(ret_why, "lowest protocol version above the highest", -EBADMSG);
		if (st->proto_max < m.version)
			return refuse(ret_why, "highest protocol version below the message's", -EBADMSG);
		break;
	case HM_MSG_UPDATE:
		why = get_update(&c, len, &m.u.update);
		if (why)
			return refuse(ret_why, why, -EBADMSG);
		if (c.pos != len)
			return refuse(ret_why, "payload length disagrees with the message size", -EBADMSG);
		break;
	case HM_MSG_UPDATES: {
		struct hm_msg_updates *b = &m.u.updates;
		struct hm_msg_update u;
		uint32_t n;

		b->count = get_u32(&c);
		b->entries = (const uint8_t *)buf + c.pos;
		b->entries_len = (uint32_t)(len - c.pos);
		if (b->count == 0)
			return refuse(ret_why, "updates without an update", -EBADMSG);
		/* every entry, before any is used */
		for (n = 0; n < b->count; n++) {
			if (c.pos == len)
				return refuse(ret_why, "fewer updates than the count says", -EBADMSG);
			why = get_update(&c, len, &u);
			if (why)
				return refuse(ret_why, why, -EBADMSG);
		}
		if (c.pos != len)
			return refuse(ret_why, "bytes after the last update", -EBADMSG);
		break;
	}
	case HM_MSG_ACK:
		m.u.ack.applied_seq = get_u64(&c);
		break;
	case HM_MSG_CHECKPOINT:
		m.u.checkpoint.id = get_u64(&c);
		if (m.u.checkpoint.id == 0)
			return refuse(ret_why, "checkpoint id 0", -EBADMSG);
		break;
	case HM_MSG_DIGEST:
		m.u.digest.checkpoint = get_u64(&c);
		m.u.digest.applied_seq = get_u64(&c);
		get_bytes(&c, m.u.digest.checksum, HM_WIRE_CHECKSUM_LEN);
		if (m.u.digest.checkpoint == 0)
			return refuse(ret_why, "digest of checkpoint 0", -EBADMSG);
		break;
	case HM_MSG_SYNC_DATA: {
		struct hm_msg_sync_data *sd = &m.u.sync_data;

		get_epoch(&c, &sd->epoch);
		sd->table = get_u16(&c);
		sd->flags = get_u16(&c);
		get_bytes(&c, sd->buckets, HM_WIRE_BUCKET_MAP);
		sd->payload_len = get_u32(&c);
		if (sd->epoch.leader == 0)
			return refuse(ret_why, "sync epoch without a leader", -EBADMSG);
		if (sd->table >= HM_WIRE_SYNC_TABLES)
			return refuse(ret_why, "sync data of an unknown table", -EBADMSG);
		if (sd->flags & ~HM_SYNC_DATA_FIRST)
			return refuse(ret_why, "unknown sync-data flags", -EBADMSG);
		if (!(sd->flags & HM_SYNC_DATA_FIRST) && !all_zero(sd->buckets, HM_WIRE_BUCKET_MAP))
			return refuse(ret_why, "buckets named in a chunk that is not the first", -EBADMSG);
		if (sd->payload_len != len - c.pos)
			return refuse(ret_why, "payload length disagrees with the message size", -EBADMSG);
		sd->payload = (const uint8_t *)buf + c.pos;
		c.pos += sd->payload_len;
		break;
	}
	case HM_MSG_SYNC_END: {
		struct hm_msg_sync_end *se = &m.u.sync_end;

		get_epoch(&c, &se->epoch);
		se->last_quorate.nodeid = get_u32(&c);
		se->last_quorate.seq = get_u64(&c);
		se->applied_seq = get_u64(&c);
		se->policy_version = get_u64(&c);
		get_bytes(&c, se->checksum, HM_WIRE_CHECKSUM_LEN);
		if (se->epoch.leader == 0)
			return refuse(ret_why, "sync epoch without a leader", -EBADMSG);
		break;
	}
	case HM_MSG_SYNC_DIGESTS: {
		struct hm_msg_sync_digests *sg = &m.u.sync_digests;

		get_epoch(&c, &sg->epoch);
		sg->table = get_u16(&c);
		if (get_u16(&c) != 0)
			return refuse(ret_why, "reserved sync-digests field set", -EBADMSG);
		get_bytes(&c, &sg->digests[0][0], sizeof(sg->digests));
		if (sg->epoch.leader == 0)
			return refuse(ret_why, "sync epoch without a leader", -EBADMSG);
		if (sg->table >= HM_WIRE_SYNC_TABLES)
			return refuse(ret_why, "digests of an unknown table", -EBADMSG);
		break;
	}
	}
	if (c.overflow || c.pos != len)
		return refuse(ret_why, "truncated body", -EBADMSG);
	*ret_msg = m;
	return 0;
}
