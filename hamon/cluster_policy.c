/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "cluster_policy.h"
#include "policy.h"

/* the stored value of key (NULL: its default); free *ret_entry */
static const char *value_of(struct hm_store *s, const char *key, struct hm_policy_entry **ret_entry)
{
	*ret_entry = NULL;
	if (hm_store_policy_get(s, key, ret_entry) < 0)
		return NULL;
	return (*ret_entry)->value;
}

int64_t hm_cluster_policy_int(struct hm_store *s, const char *key)
{
	struct hm_policy_entry *e;
	int64_t v = 0;

	if (hm_policy_int(key, value_of(s, key, &e), &v) < 0)
		hm_policy_int(key, NULL, &v);
	free(e);
	return v;
}

double hm_cluster_policy_float(struct hm_store *s, const char *key)
{
	struct hm_policy_entry *e;
	double v = 0;

	if (hm_policy_float(key, value_of(s, key, &e), &v) < 0)
		hm_policy_float(key, NULL, &v);
	free(e);
	return v;
}

bool hm_cluster_policy_bool(struct hm_store *s, const char *key)
{
	struct hm_policy_entry *e;
	bool v = false;

	if (hm_policy_bool(key, value_of(s, key, &e), &v) < 0)
		hm_policy_bool(key, NULL, &v);
	free(e);
	return v;
}

unsigned int hm_cluster_policy_enum(struct hm_store *s, const char *key)
{
	struct hm_policy_entry *e;
	unsigned int v = 0;

	if (hm_policy_enum(key, value_of(s, key, &e), &v) < 0)
		hm_policy_enum(key, NULL, &v);
	free(e);
	return v;
}
