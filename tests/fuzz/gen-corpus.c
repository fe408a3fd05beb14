/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes one valid message of every type as the fuzzer's seed corpus. */
#include <stdio.h>

#include "wire.h"

int main(int argc, char **argv)
{
	struct hm_msg start = { .type = HM_MSG_SYNC_START };
	struct hm_msg state = { .type = HM_MSG_SYNC_STATE };
	struct hm_msg update = { .type = HM_MSG_UPDATE };
	struct hm_msg ack = { .type = HM_MSG_ACK };
	struct hm_msg cp = { .type = HM_MSG_CHECKPOINT };
	struct hm_msg dg = { .type = HM_MSG_DIGEST };
	struct hm_msg updates = { .type = HM_MSG_UPDATES };
	struct hm_msg data = { .type = HM_MSG_SYNC_DATA };
	struct hm_msg end = { .type = HM_MSG_SYNC_END };
	static struct hm_msg digests = { .type = HM_MSG_SYNC_DIGESTS };
	struct hm_msg state_v1 = { .type = HM_MSG_SYNC_STATE, .version = 1 };
	const struct hm_msg *msgs[] = { &start, &state, &update, &ack, &cp, &dg, &updates, &data,
					&end, &digests, &state_v1 };
	static const char payload[] = "{\"key\":\"cpu_overcommit\",\"value\":\"2.0\"}";
	static const char rows[] = "{\"key\":\"a\",\"value\":\"1\",\"version\":1}\n";
	unsigned char buf[HM_WIRE_MAX_MSG], entries[512];
	size_t entries_len = 0;
	char path[4096];
	size_t i, len;
	FILE *f;

	if (argc != 2)
		return 2;
	start.u.sync_start.epoch.leader = 1;
	start.u.sync_start.epoch.counter = 7;
	state.u.sync_state.epoch.leader = 1;
	state.u.sync_state.epoch.counter = 7;
	state.u.sync_state.proto_max = HM_WIRE_VERSION;
	state.u.sync_state.proto_min = HM_WIRE_VERSION_MIN;
	state.u.sync_state.coordinator = 2;
	state_v1.u.sync_state = state.u.sync_state;
	state_v1.u.sync_state.proto_max = 1;
	state_v1.u.sync_state.proto_min = 1;
	update.u.update.request_id = 1;
	update.u.update.op = HM_OP_POLICY_SET;
	update.u.update.payload = (const unsigned char *)payload;
	update.u.update.payload_len = sizeof(payload) - 1;
	ack.u.ack.applied_seq = 3;
	cp.u.checkpoint.id = 4;
	dg.u.digest.checkpoint = 4;
	if (hm_wire_updates_add(entries, sizeof(entries), &entries_len, &update.u.update) != 0 ||
	    hm_wire_updates_add(entries, sizeof(entries), &entries_len, &update.u.update) != 0)
		return 1;
	updates.u.updates.count = 2;
	updates.u.updates.entries = entries;
	updates.u.updates.entries_len = (uint32_t)entries_len;
	data.u.sync_data.epoch = start.u.sync_start.epoch;
	data.u.sync_data.table = 2;
	data.u.sync_data.flags = HM_SYNC_DATA_FIRST;
	data.u.sync_data.buckets[3] = 0x10;
	data.u.sync_data.payload = (const unsigned char *)rows;
	data.u.sync_data.payload_len = sizeof(rows) - 1;
	end.u.sync_end.epoch = start.u.sync_start.epoch;
	end.u.sync_end.applied_seq = 9;
	digests.u.sync_digests.epoch = start.u.sync_start.epoch;
	digests.u.sync_digests.table = 1;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		if (hm_wire_encode(msgs[i], buf, sizeof(buf), &len) != 0)
			return 1;
		snprintf(path, sizeof(path), "%s/%s%s", argv[1], hm_msg_type_to_str(msgs[i]->type),
			 msgs[i]->version == 1 ? "-v1" : "");
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
			return 1;
	}
	return 0;
}
