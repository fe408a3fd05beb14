/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster message codec: everything malformed is refused before use,
 * nothing crashes, and the encoding is pinned byte for byte.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check_common.h"
#include "wire.h"

static struct hm_msg sample_state(void)
{
	struct hm_msg m = { .type = HM_MSG_SYNC_STATE };

	m.u.sync_state.epoch.leader = 1;
	m.u.sync_state.epoch.counter = 0x0102030405060708ull;
	m.u.sync_state.proto_max = 2;
	m.u.sync_state.proto_min = 2;
	m.u.sync_state.last_quorate.nodeid = 3;
	m.u.sync_state.last_quorate.seq = 0x2c;
	m.u.sync_state.applied_seq = 77;
	m.u.sync_state.coordinator = 2;
	m.u.sync_state.coordinator_epoch = 9;
	return m;
}

static size_t encode(const struct hm_msg *m, uint8_t *buf, size_t len)
{
	size_t n = 0;

	ck_assert_int_eq(hm_wire_encode(m, buf, len, &n), 0);
	return n;
}

START_TEST(test_truncated_refused)
{
	struct hm_msg m = sample_state(), out;
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf)), cut;
	const char *why = NULL;

	for (cut = 0; cut < n; cut++)
		ck_assert_int_eq(hm_wire_decode(buf, cut, &out, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(hm_wire_decode(NULL, 0, &out, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_oversized_refused)
{
	static uint8_t big[HM_WIRE_MAX_MSG + 16];
	struct hm_msg m = sample_state(), out;
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf));
	const char *why;

	memcpy(big, buf, n);
	/* trailing bytes after a valid message */
	ck_assert_int_eq(hm_wire_decode(big, n + 1, &out, &why), -EBADMSG);
	ck_assert_int_eq(hm_wire_decode(big, sizeof(big), &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "longer than the largest message");
}
END_TEST

START_TEST(test_wrong_version_refused)
{
	struct hm_msg m = sample_state(), out;
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf));
	const char *why;

	buf[4] = HM_WIRE_VERSION + 1;
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EPROTONOSUPPORT);
	buf[4] = 0;
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);
}
END_TEST

START_TEST(test_bad_header_fields_refused)
{
	struct hm_msg m = sample_state(), out;
	uint8_t buf[1024], copy[1024];
	size_t n = encode(&m, buf, sizeof(buf));
	const char *why;

	memcpy(copy, buf, n);
	copy[0] ^= 0xff;	/* magic */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "bad magic");
	memcpy(copy, buf, n);
	copy[6] = 99;		/* type */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	memcpy(copy, buf, n);
	copy[8] += 1;		/* length */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	memcpy(copy, buf, n);
	copy[12] = 1;		/* reserved flags */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	memcpy(copy, buf, n);
	copy[6] = HM_MSG_SYNC_START;	/* type whose body size differs */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "wrong body size for its type");
}
END_TEST

START_TEST(test_bad_body_fields_refused)
{
	struct hm_msg m = sample_state(), out;
	uint8_t buf[1024];
	size_t n;

	m.u.sync_state.epoch.leader = 0;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), -EBADMSG);
	m = sample_state();
	m.u.sync_state.proto_max = 0;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), -EBADMSG);
	m = sample_state();
	m.u.sync_state.proto_min = 0;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_sync_state_versions)
{
	struct hm_msg m = sample_state(), out;
	uint8_t buf[1024];
	const char *why;
	size_t n;

	/* a lowest version above the highest is nonsense */
	m.u.sync_state.proto_min = 3;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "lowest protocol version above the highest");
	/* a version-2 message from a member that claims to speak only 1 */
	m = sample_state();
	m.u.sync_state.proto_max = 1;
	m.u.sync_state.proto_min = 1;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "highest protocol version below the message's");
	/* the same member speaking version 1: it decodes, accepting only 1 */
	m.version = 1;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_uint_eq(n, 318);
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), 0);
	ck_assert_uint_eq(out.version, 1);
	ck_assert_uint_eq(out.u.sync_state.proto_max, 1);
	ck_assert_uint_eq(out.u.sync_state.proto_min, 1);
	ck_assert_uint_eq(out.u.sync_state.applied_seq, 77);
	/* a version 1 has no other new message; 3 is newer than ours */
	m = (struct hm_msg){ .type = HM_MSG_UPDATES, .version = 1 };
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m = sample_state();
	m.version = HM_WIRE_VERSION + 1;
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EINVAL);
}
END_TEST

START_TEST(test_random_bytes_never_crash)
{
	uint8_t buf[1024];
	struct hm_msg out;
	uint32_t x = 2463534242u;
	int i, accepted = 0;
	size_t j, len;

	for (i = 0; i < 200000; i++) {
		/* xorshift32: deterministic, so a failure can be replayed */
		len = 0;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		len = x % sizeof(buf);
		for (j = 0; j < len; j++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[j] = (uint8_t)x;
		}
		if (i % 2 && len >= 16) {
			/* a valid-looking header makes the body checks run */
			buf[0] = 0x48, buf[1] = 0x41, buf[2] = 0x4d, buf[3] = 0x4e;
			buf[4] = (uint8_t)(1 + (x & 1)), buf[5] = 0;	/* both versions */
			buf[8] = (uint8_t)len, buf[9] = buf[10] = buf[11] = 0;
			buf[12] = buf[13] = buf[14] = buf[15] = 0;
		}
		if (hm_wire_decode(buf, len, &out, NULL) == 0)
			accepted++;
	}
	/* whatever was accepted decoded to a known type */
	ck_assert_int_ge(accepted, 0);
}
END_TEST

START_TEST(test_encode_errors)
{
	struct hm_msg m = sample_state();
	uint8_t buf[1024];
	size_t n;

	ck_assert_int_eq(hm_wire_encode(&m, buf, 10, &n), -ENOSPC);
	m.type = 0;
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.type = HM_MSG_TYPE_MAX;
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EINVAL);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct hm_msg m = sample_state(), out, start = { .type = HM_MSG_SYNC_START };
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf));

	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.type, HM_MSG_SYNC_STATE);
	ck_assert_uint_eq(out.version, HM_WIRE_VERSION);
	ck_assert_uint_eq(out.u.sync_state.epoch.counter, m.u.sync_state.epoch.counter);
	ck_assert_uint_eq(out.u.sync_state.last_quorate.seq, 0x2c);
	ck_assert_uint_eq(out.u.sync_state.last_quorate.nodeid, 3);
	ck_assert_uint_eq(out.u.sync_state.applied_seq, 77);
	ck_assert_uint_eq(out.u.sync_state.coordinator, 2);
	ck_assert_uint_eq(out.u.sync_state.coordinator_epoch, 9);

	start.u.sync_start.epoch.leader = 4;
	start.u.sync_start.epoch.counter = 5;
	n = encode(&start, buf, sizeof(buf));
	ck_assert_uint_eq(n, HM_WIRE_HDR_SIZE + 12);
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.sync_start.epoch.leader, 4);
	ck_assert_uint_eq(out.u.sync_start.epoch.counter, 5);
}
END_TEST

/* FNV-1a: pins the byte layout; changing it is a protocol version bump */
static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* the values were computed apart from this code (Python's struct over the
 * layout in wire.h) */
START_TEST(test_golden_encoding)
{
	struct hm_msg m = sample_state();
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf));
	static const uint8_t head[] = { 0x48, 0x41, 0x4d, 0x4e, 2, 0, 2, 0, 320 & 0xff, 320 >> 8, 0, 0,
					0, 0, 0, 0 };
	static const uint8_t head_v1[] = { 0x48, 0x41, 0x4d, 0x4e, 1, 0, 2, 0, 318 & 0xff, 318 >> 8,
					   0, 0, 0, 0, 0, 0 };

	ck_assert_uint_eq(n, 320);
	ck_assert_mem_eq(buf, head, sizeof(head));
	ck_assert_uint_eq(fnv1a(buf, n), 0xbeed29a6u);
	/* version 1, as the first protocol sent it: unchanged */
	m.version = 1;
	m.u.sync_state.proto_max = 1;
	m.u.sync_state.proto_min = 1;
	n = encode(&m, buf, sizeof(buf));
	ck_assert_uint_eq(n, 318);
	ck_assert_mem_eq(buf, head_v1, sizeof(head_v1));
	ck_assert_uint_eq(fnv1a(buf, n), 0xb686a05eu);
}
END_TEST

static struct hm_msg sample_update(const char *payload)
{
	struct hm_msg m = { .type = HM_MSG_UPDATE };

	m.u.update.request_id = 42;
	m.u.update.ts_ms = 1700000000000ull;
	m.u.update.op = HM_OP_POLICY_SET;
	m.u.update.payload = (const uint8_t *)payload;
	m.u.update.payload_len = (uint32_t)strlen(payload);
	return m;
}

START_TEST(test_update_bad_fields_refused)
{
	struct hm_msg m = sample_update("{\"key\":\"a\",\"value\":\"b\"}"), out;
	uint8_t buf[1024], copy[1024];
	size_t n = encode(&m, buf, sizeof(buf));
	const char *why;

	memcpy(copy, buf, n);
	copy[HM_WIRE_HDR_SIZE + 16] = 99;	/* op */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "unknown update operation");
	memcpy(copy, buf, n);
	copy[HM_WIRE_HDR_SIZE + 18] = 1;	/* reserved */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	memcpy(copy, buf, n);
	copy[HM_WIRE_HDR_SIZE + 20] += 1;	/* payload length */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "payload length disagrees with the message size");
	memcpy(copy, buf, n);
	memset(copy + HM_WIRE_HDR_SIZE, 0, 8);	/* request id 0 */
	ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);
	/* shorter than the fixed part */
	memcpy(copy, buf, n);
	copy[8] = HM_WIRE_HDR_SIZE + 10;
	ck_assert_int_eq(hm_wire_decode(copy, HM_WIRE_HDR_SIZE + 10, &out, &why), -EBADMSG);
	/* encode refuses an unknown op and an oversized payload */
	m.u.update.op = HM_OP_MAX;
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m = sample_update("x");
	m.u.update.payload_len = HM_WIRE_MAX_MSG;
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EMSGSIZE);
}
END_TEST

START_TEST(test_roundtrip_replication_messages)
{
	const char *payload = "{\"key\":\"cpu_overcommit\",\"value\":\"2.0\"}";
	struct hm_msg m = sample_update(payload), out;
	struct hm_msg ack = { .type = HM_MSG_ACK }, cp = { .type = HM_MSG_CHECKPOINT };
	struct hm_msg dg = { .type = HM_MSG_DIGEST };
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf));

	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.update.request_id, 42);
	ck_assert_uint_eq(out.u.update.ts_ms, 1700000000000ull);
	ck_assert_uint_eq(out.u.update.op, HM_OP_POLICY_SET);
	ck_assert_uint_eq(out.u.update.payload_len, strlen(payload));
	ck_assert_mem_eq(out.u.update.payload, payload, strlen(payload));
	ck_assert_str_eq(hm_update_op_to_str(out.u.update.op), "policy-set");
	ck_assert_str_eq(hm_update_op_to_str(0), "unknown");

	ack.u.ack.applied_seq = 1234567;
	n = encode(&ack, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.ack.applied_seq, 1234567);

	cp.u.checkpoint.id = 9;
	n = encode(&cp, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.checkpoint.id, 9);
	cp.u.checkpoint.id = 0;
	n = encode(&cp, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), -EBADMSG);

	dg.u.digest.checkpoint = 9;
	dg.u.digest.applied_seq = 77;
	memset(dg.u.digest.checksum, 0xab, sizeof(dg.u.digest.checksum));
	n = encode(&dg, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.digest.applied_seq, 77);
	ck_assert_mem_eq(out.u.digest.checksum, dg.u.digest.checksum, HM_WIRE_CHECKSUM_LEN);
}
END_TEST

static size_t sample_updates(uint8_t *entries, size_t cap)
{
	const char *p1 = "{\"key\":\"a\",\"value\":\"b\"}", *p2 = "{\"key\":\"a\"}";
	struct hm_msg_update u1 = { 42, 1700000000000ull, HM_OP_POLICY_SET, (uint32_t)strlen(p1),
				    (const uint8_t *)p1 };
	struct hm_msg_update u2 = { 43, 1700000000001ull, HM_OP_POLICY_DELETE, (uint32_t)strlen(p2),
				    (const uint8_t *)p2 };
	size_t len = 0;

	ck_assert_int_eq(hm_wire_updates_add(entries, cap, &len, &u1), 0);
	ck_assert_int_eq(hm_wire_updates_add(entries, cap, &len, &u2), 0);
	return len;
}

START_TEST(test_updates_roundtrip_and_golden)
{
	uint8_t entries[256], buf[1024];
	struct hm_msg m = { .type = HM_MSG_UPDATES }, out;
	struct hm_msg_update u;
	size_t n, pos = 0;

	m.u.updates.count = 2;
	m.u.updates.entries = entries;
	m.u.updates.entries_len = (uint32_t)sample_updates(entries, sizeof(entries));
	n = encode(&m, buf, sizeof(buf));
	ck_assert_uint_eq(n, 102);
	ck_assert_uint_eq(buf[4], 2);	/* a version-2 message */
	ck_assert_uint_eq(fnv1a(buf, n), 0xd08b9bf0u);
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.updates.count, 2);
	ck_assert_int_eq(hm_wire_updates_next(&out.u.updates, &pos, &u), 0);
	ck_assert_uint_eq(u.request_id, 42);
	ck_assert_uint_eq(u.op, HM_OP_POLICY_SET);
	ck_assert_mem_eq(u.payload, "{\"key\":\"a\",\"value\":\"b\"}", u.payload_len);
	ck_assert_int_eq(hm_wire_updates_next(&out.u.updates, &pos, &u), 0);
	ck_assert_uint_eq(u.request_id, 43);
	ck_assert_uint_eq(u.ts_ms, 1700000000001ull);
	ck_assert_uint_eq(u.op, HM_OP_POLICY_DELETE);
	ck_assert_int_eq(hm_wire_updates_next(&out.u.updates, &pos, &u), -ENOENT);
	ck_assert_str_eq(hm_msg_type_to_str(HM_MSG_UPDATES), "updates");
}
END_TEST

START_TEST(test_updates_bad_fields_refused)
{
	static const uint8_t payload300[300];
	uint8_t entries[256], buf[1024], copy[1024];
	struct hm_msg m = { .type = HM_MSG_UPDATES }, out;
	struct hm_msg_update bad = { 0, 0, HM_OP_POLICY_SET, 0, NULL };
	size_t n, e = HM_WIRE_HDR_SIZE + 4, len = 0;
	const char *why;

	m.u.updates.count = 2;
	m.u.updates.entries = entries;
	m.u.updates.entries_len = (uint32_t)sample_updates(entries, sizeof(entries));
	n = encode(&m, buf, sizeof(buf));
#define REFUSED(what) do {							\
		ck_assert_int_eq(hm_wire_decode(copy, n, &out, &why), -EBADMSG);	\
		ck_assert_str_eq(why, what);					\
	} while (0)
	memcpy(copy, buf, n);
	copy[HM_WIRE_HDR_SIZE] = 0;		/* count 0 */
	REFUSED("updates without an update");
	memcpy(copy, buf, n);
	copy[HM_WIRE_HDR_SIZE] = 3;		/* more than there are */
	REFUSED("fewer updates than the count says");
	memcpy(copy, buf, n);
	copy[HM_WIRE_HDR_SIZE] = 1;		/* fewer: the second is left over */
	REFUSED("bytes after the last update");
	memcpy(copy, buf, n);
	copy[e + 16] = 99;			/* the first entry's op */
	REFUSED("unknown update operation");
	memcpy(copy, buf, n);
	copy[e + 18] = 1;			/* its reserved field */
	REFUSED("reserved update field set");
	memcpy(copy, buf, n);
	memset(copy + e, 0, 8);			/* its request id */
	REFUSED("update without a request id");
	memcpy(copy, buf, n);
	copy[e + 23] = 0x7f;			/* its payload runs past the end */
	REFUSED("payload length disagrees with the message size");
	memcpy(copy, buf, n);
	copy[4] = 1;				/* not in version 1 */
	REFUSED("type not in the message's protocol version");
	/* the last entry cut short */
	memcpy(copy, buf, n);
	n -= 3;
	copy[8] = (uint8_t)n;
	REFUSED("payload length disagrees with the message size");
#undef REFUSED
	/* building: a bad entry, a full buffer, a message too large */
	ck_assert_int_eq(hm_wire_updates_add(entries, sizeof(entries), &len, &bad), -EINVAL);
	bad.request_id = 1;
	bad.payload_len = sizeof(payload300);
	bad.payload = payload300;
	ck_assert_int_eq(hm_wire_updates_add(buf, sizeof(buf), &len, &bad), 0);
	ck_assert_int_eq(hm_wire_updates_add(entries, sizeof(entries), &len, &bad), -ENOSPC);
	bad.payload_len = HM_WIRE_MAX_MSG;
	len = 0;
	ck_assert_int_eq(hm_wire_updates_add(buf, sizeof(buf), &len, &bad), -EMSGSIZE);
	ck_assert_uint_eq(len, 0);
	/* encode needs entries */
	m.u.updates.count = 0;
	ck_assert_int_eq(hm_wire_encode(&m, buf, sizeof(buf), &n), -EINVAL);
}
END_TEST

START_TEST(test_sync_buckets_messages)
{
	static struct hm_msg dg = { .type = HM_MSG_SYNC_DIGESTS }, out;
	static uint8_t buf[HM_WIRE_MAX_MSG];
	struct hm_msg sd = { .type = HM_MSG_SYNC_DATA };
	const char *rows = "{\"a\":1}\n";
	const char *why;
	size_t n;

	dg.u.sync_digests.epoch = (struct hm_sync_epoch){ 1, 7 };
	dg.u.sync_digests.table = 1;
	dg.u.sync_digests.digests[255][31] = 0x5a;
	n = encode(&dg, buf, sizeof(buf));
	ck_assert_uint_eq(n, HM_WIRE_HDR_SIZE + 16 + HM_WIRE_SYNC_BUCKETS * HM_WIRE_CHECKSUM_LEN);
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.sync_digests.table, 1);
	ck_assert_uint_eq(out.u.sync_digests.digests[255][31], 0x5a);
	buf[HM_WIRE_HDR_SIZE + 12] = HM_WIRE_SYNC_TABLES;
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "digests of an unknown table");
	buf[HM_WIRE_HDR_SIZE + 12] = 1;
	buf[HM_WIRE_HDR_SIZE + 14] = 1;
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);

	sd.u.sync_data.epoch = (struct hm_sync_epoch){ 1, 7 };
	sd.u.sync_data.table = 1;
	sd.u.sync_data.flags = HM_SYNC_DATA_FIRST;
	sd.u.sync_data.buckets[0] = 0x81;	/* buckets 0 and 7 */
	sd.u.sync_data.payload = (const uint8_t *)rows;
	sd.u.sync_data.payload_len = (uint32_t)strlen(rows);
	n = encode(&sd, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, NULL), 0);
	ck_assert_uint_eq(out.u.sync_data.buckets[0], 0x81);
	ck_assert_mem_eq(out.u.sync_data.payload, rows, strlen(rows));
	/* buckets belong to the first chunk only: neither encoded nor decoded */
	sd.u.sync_data.flags = 0;
	ck_assert_int_eq(hm_wire_encode(&sd, buf, sizeof(buf), &n), -EINVAL);
	sd.u.sync_data.flags = HM_SYNC_DATA_FIRST;
	n = encode(&sd, buf, sizeof(buf));
	buf[HM_WIRE_HDR_SIZE + 14] = 0;	/* flags */
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "buckets named in a chunk that is not the first");
	sd.u.sync_data.flags = 0;
	sd.u.sync_data.buckets[0] = 0;
	sd.u.sync_data.table = HM_WIRE_SYNC_TABLES;
	n = encode(&sd, buf, sizeof(buf));
	ck_assert_int_eq(hm_wire_decode(buf, n, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "sync data of an unknown table");
}
END_TEST

START_TEST(test_ring_id_order)
{
	struct hm_ring_id a = { 1, 8 }, b = { 4, 8 }, c = { 1, 12 };

	ck_assert_int_lt(hm_ring_id_cmp(&a, &b), 0);
	ck_assert_int_lt(hm_ring_id_cmp(&b, &c), 0);
	ck_assert_int_gt(hm_ring_id_cmp(&c, &a), 0);
	ck_assert(hm_ring_id_equal(&a, &a));
	ck_assert(!hm_ring_id_equal(&a, &b));
	ck_assert_str_eq(hm_msg_type_to_str(HM_MSG_SYNC_START), "sync-start");
	ck_assert_str_eq(hm_msg_type_to_str(0), "unknown");
	ck_assert_str_eq(hm_msg_type_to_str(999), "unknown");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wire");

	add_tcase(s, test_truncated_refused);
	add_tcase(s, test_oversized_refused);
	add_tcase(s, test_wrong_version_refused);
	add_tcase(s, test_bad_header_fields_refused);
	add_tcase(s, test_bad_body_fields_refused);
	add_tcase(s, test_random_bytes_never_crash);
	add_tcase(s, test_encode_errors);
	add_tcase(s, test_roundtrip);
	add_tcase(s, test_golden_encoding);
	add_tcase(s, test_update_bad_fields_refused);
	add_tcase(s, test_roundtrip_replication_messages);
	add_tcase(s, test_sync_state_versions);
	add_tcase(s, test_updates_roundtrip_and_golden);
	add_tcase(s, test_updates_bad_fields_refused);
	add_tcase(s, test_sync_buckets_messages);
	add_tcase(s, test_ring_id_order);
	return hm_check_run(s);
}
