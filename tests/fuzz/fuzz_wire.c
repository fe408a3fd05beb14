/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the cluster message codec: any bytes a peer (or a
 * broken switch) could deliver must be refused or decoded without a crash,
 * and whatever decodes must re-encode to exactly the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[HM_WIRE_MAX_MSG];
	struct hm_msg msg;
	size_t len;

	if (hm_wire_decode(data, size, &msg, NULL) != 0)
		return 0;
	if (hm_wire_encode(&msg, again, sizeof(again), &len) != 0 || len != size ||
	    memcmp(again, data, size) != 0)
		abort();
	return 0;
}
