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
	const struct hm_msg *msgs[] = { &start, &state, &update, &ack, &cp, &dg };
	static const char payload[] = "{\"key\":\"cpu_overcommit\",\"value\":\"2.0\"}";
	unsigned char buf[HM_WIRE_MAX_MSG];
	char path[4096];
	size_t i, len;
	FILE *f;

	if (argc != 2)
		return 2;
	start.u.sync_start.epoch.leader = 1;
	start.u.sync_start.epoch.counter = 7;
	state.u.sync_state.epoch.leader = 1;
	state.u.sync_state.epoch.counter = 7;
	state.u.sync_state.proto_max = 1;
	state.u.sync_state.coordinator = 2;
	update.u.update.request_id = 1;
	update.u.update.op = HM_OP_POLICY_SET;
	update.u.update.payload = (const unsigned char *)payload;
	update.u.update.payload_len = sizeof(payload) - 1;
	ack.u.ack.applied_seq = 3;
	cp.u.checkpoint.id = 4;
	dg.u.digest.checkpoint = 4;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		if (hm_wire_encode(msgs[i], buf, sizeof(buf), &len) != 0)
			return 1;
		snprintf(path, sizeof(path), "%s/%s", argv[1], hm_msg_type_to_str(msgs[i]->type));
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
			return 1;
	}
	return 0;
}
