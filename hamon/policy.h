/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster policy keys: the table of every key `hamonctl config set` takes,
 * with its type, range, default and meaning (doc/policy.md).
 *
 * Pure: no I/O, no global state but the constant table.  Values are the
 * text kept in the store's policy table; a key that was never set has its
 * default.  Keywords (booleans, enum choices) are case-insensitive, as in
 * hamon.conf.
 */
#ifndef HM_POLICY_H
#define HM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HM_POLICY_ERR_MAX 256
#define HM_POLICY_VALUE_MAX 4096	/* bytes, as the store keeps at most */

enum hm_policy_type {
	HM_POLICY_BOOL = 0,	/* yes/no, true/false, on/off, 1/0 */
	HM_POLICY_INT,		/* decimal integer in [imin, imax] */
	HM_POLICY_FLOAT,	/* decimal number in [fmin, fmax] */
	HM_POLICY_DURATION,	/* whole seconds in [imin, imax] */
	HM_POLICY_PATH,		/* absolute path */
	HM_POLICY_ENUM,		/* one of choices */
	HM_POLICY_TYPE_MAX
};

struct hm_policy_key {
	const char *name;
	enum hm_policy_type type;
	const char *def;		/* the default, as a value */
	int64_t imin, imax;		/* INT, DURATION */
	double fmin, fmax;		/* FLOAT */
	const char *const *choices;	/* ENUM: NULL-terminated */
	const char *meaning;		/* one line */
};

/* "bool", "int", "float", "duration", "path", "enum"; "invalid" */
const char *hm_policy_type_to_str(enum hm_policy_type t);

/* Iteration, in the table's (documented) order: hm_policy_key_at(i) for
 * i < hm_policy_key_count(), NULL past the end. */
size_t hm_policy_key_count(void);
const struct hm_policy_key *hm_policy_key_at(size_t i);
/* NULL for an unknown key */
const struct hm_policy_key *hm_policy_key_find(const char *key);
/* NULL for an unknown key */
const char *hm_policy_default(const char *key);

/*
 * 0 if value is valid for key.  -ENOENT for an unknown key (err names it
 * and the keys it may have meant), -EINVAL for a bad value (err names the
 * key and what it allows) or a NULL key/value.  err (may be NULL) gets a
 * NUL-terminated message, cut to errlen.
 */
int hm_policy_validate(const char *key, const char *value, char *err, size_t errlen);
/* the key alone: 0, or -ENOENT with "unknown policy key (did you mean ...)" */
int hm_policy_check_key(const char *key, char *err, size_t errlen);

/* Typed values.  value NULL = the key's default.  -ENOENT for an unknown
 * key, -EINVAL for a key of another type or a bad value. */
int hm_policy_bool(const char *key, const char *value, bool *ret);
int hm_policy_int(const char *key, const char *value, int64_t *ret);	/* INT, DURATION */
int hm_policy_float(const char *key, const char *value, double *ret);
/* the index of the choice in the key's choices */
int hm_policy_enum(const char *key, const char *value, unsigned int *ret);

#endif
