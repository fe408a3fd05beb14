/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster policy as the replicated store holds it, typed: a key's value,
 * or its default (policy.h) when it was never set.  Values are validated on
 * the way in (ops.c), so a value that does not read is a bug: the default
 * stands in for it.  For the core's decisions and hamond's adapters alike.
 */
#ifndef HM_CLUSTER_POLICY_H
#define HM_CLUSTER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

int64_t hm_cluster_policy_int(struct hm_store *s, const char *key);	/* INT, DURATION */
double hm_cluster_policy_float(struct hm_store *s, const char *key);
bool hm_cluster_policy_bool(struct hm_store *s, const char *key);
/* the index of the value among the key's choices */
unsigned int hm_cluster_policy_enum(struct hm_store *s, const char *key);

#endif
