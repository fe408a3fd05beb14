/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster policy keys (doc/policy.md): one table, and one parser per type
 * that both validation and the typed getters use.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const type_names[] = {
	"bool", "int", "float", "duration", "path", "enum" };
_Static_assert(ARRAY_SIZE(type_names) == HM_POLICY_TYPE_MAX, "a name per type");

static const char *const first_last[] = { "first", "last", NULL };
static const char *const fence_backends[] = { "agents", "pacemaker", NULL };
static const char *const abort_postcopy[] = { "abort", "postcopy", NULL };
static const char *const strict_soft[] = { "strict", "soft", NULL };

#define BOOL(n, d, m) { n, HM_POLICY_BOOL, d, 0, 0, 0, 0, NULL, m }
#define INT(n, d, lo, hi, m) { n, HM_POLICY_INT, d, lo, hi, 0, 0, NULL, m }
#define DURATION(n, d, lo, hi, m) { n, HM_POLICY_DURATION, d, lo, hi, 0, 0, NULL, m }
#define FLOAT(n, d, lo, hi, m) { n, HM_POLICY_FLOAT, d, 0, 0, lo, hi, NULL, m }
#define PATH(n, d, m) { n, HM_POLICY_PATH, d, 0, 0, 0, 0, NULL, m }
#define ENUM(n, d, c, m) { n, HM_POLICY_ENUM, d, 0, 0, 0, 0, c, m }

#define DAY_S 86400

/* in the order of doc/policy.md and `hamonctl config list` */
static const struct hm_policy_key keys[] = {
	/* fencing */
	FLOAT("max_fence_fraction", "0.5", 0.0, 1.0,
	      "with 3 or more configured hosts, no host is fenced while the hosts lost in "
	      "one incident are more than this fraction of them (a network fault?): "
	      "alert, fence none"),
	DURATION("no_fence_window_s", "120", 0, DAY_S,
		 "after the first quorate formation that follows a time with every hamond "
		 "down, losses are queued this long before any host is fenced"),
	DURATION("fence_delay_s", "0", 0, 300,
		 "every fence waits this long after the host was lost"),
	DURATION("fence_race_delay_s", "5", 0, 300,
		 "in a 2-node cluster, fencing the node with the lower id waits this much "
		 "longer, so that the two sides of a split never fence each other at once"),
	DURATION("fence_timeout_s", "60", 1, 3600,
		 "one fence agent call running longer is killed: its outcome is unknown "
		 "and the call failed"),
	INT("fence_retries", "2", 0, 10,
	    "calls after a failed one on a fence device, before that device (and its "
	    "level) has failed"),
	ENUM("fence_backend", "agents", fence_backends,
	     "who fences: hamon runs the fence agents of its devices, or asks "
	     "Pacemaker's fencer (stonith_admin) where Pacemaker owns fencing"),
	DURATION("fence_monitor_interval_s", "300", 0, DAY_S,
		 "each host runs monitor on its fence devices this often, so that an "
		 "unprotected host shows; 0 = never"),
	DURATION("startup_window_s", "300", 0, DAY_S,
		 "after the cluster forms, a host that never joined counts as lost "
		 "only after this long"),
	BOOL("auto_enable_after_fence", "no",
	     "a fenced host that comes back with a new boot id takes placements again "
	     "without `hamonctl host enable`"),
	/* placement */
	FLOAT("cpu_overcommit", "4.0", 1.0, 64.0,
	      "vCPUs placed per host CPU"),
	ENUM("reserved_hosts_order", "last", first_last,
	     "rebuilds go to reserved hosts first, or last (when the others are full)"),
	ENUM("anti_affinity", "strict", strict_soft,
	     "instances of one anti-affinity group never share a host (strict), "
	     "or only while another host has room (soft)"),
	PATH("shared_storage_path", "/var/lib/hamon-shared",
	     "the directory every host sees, where shared-storage instances keep their disks"),
	/* live migration */
	INT("migration_max_parallel_per_host", "2", 1, 16,
	    "live migrations at once out of one host"),
	INT("migration_downtime_ms", "300", 1, 60000,
	    "the most downtime a live migration may take when it switches over"),
	INT("migration_timeout_s_per_gib", "60", 1, 3600,
	    "a migration lasting longer than this per GiB of guest memory times out"),
	ENUM("migration_on_timeout", "postcopy", abort_postcopy,
	     "what a timed-out migration does: abort it, or switch it to post-copy"),
	BOOL("migration_auto_converge", "yes",
	     "throttle the guest's vCPUs when a migration does not converge"),
	INT("migration_bandwidth_mibs", "0", 0, 1048576,
	    "bandwidth of one migration in MiB/s; 0 = unlimited"),
	BOOL("migration_unsafe_shared_dir", "no",
	     "migrate even when libvirt calls the disks' cache mode unsafe on the shared directory"),
	/* history */
	INT("history_max_age_days", "90", 0, 36500,
	    "history events older than this are pruned; 0 = no age limit"),
	INT("history_max_events", "100000", 0, 100000000,
	    "only the newest this many history events are kept; 0 = no limit"),
};

const char *hm_policy_type_to_str(enum hm_policy_type t)
{
	return (unsigned int)t < HM_POLICY_TYPE_MAX ? type_names[t] : "invalid";
}

size_t hm_policy_key_count(void)
{
	return ARRAY_SIZE(keys);
}

const struct hm_policy_key *hm_policy_key_at(size_t i)
{
	return i < ARRAY_SIZE(keys) ? &keys[i] : NULL;
}

const struct hm_policy_key *hm_policy_key_find(const char *key)
{
	size_t i;

	for (i = 0; key && i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, key) == 0)
			return &keys[i];
	return NULL;
}

const char *hm_policy_default(const char *key)
{
	const struct hm_policy_key *k = hm_policy_key_find(key);

	return k ? k->def : NULL;
}

/* ---- one parser per type: 0 or -EINVAL ---- */

static const char *const bool_words[] = { "yes", "no", "true", "false", "on", "off", "1", "0" };

static int parse_bool(const char *v, bool *ret)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bool_words); i++)
		if (strcasecmp(v, bool_words[i]) == 0) {
			*ret = i % 2 == 0;
			return 0;
		}
	return -EINVAL;
}

/* [-]digits, nothing else (no white space, no '+', no 0x) */
static int parse_int(const char *v, int64_t lo, int64_t hi, int64_t *ret)
{
	const char *p = v + (*v == '-');
	long long n;
	char *end;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -EINVAL;
	*ret = n;
	return 0;
}

/* a decimal number: [-]digits[.digits][e[+-]digits], finite */
static int parse_float(const char *v, double lo, double hi, double *ret)
{
	const char *p = v + (*v == '-');
	double d;
	char *end;

	if ((*p < '0' || *p > '9') || strspn(p, "0123456789.eE+-") != strlen(p))
		return -EINVAL;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || !isfinite(d) || d < lo || d > hi)
		return -EINVAL;
	*ret = d;
	return 0;
}

/* absolute, every component a name (no empty, "." or ".."), no control
 * characters, shorter than PATH_MAX */
static int check_path(const char *v)
{
	const char *p = v, *end;
	size_t len;

	if (*v != '/' || strlen(v) >= 4096)
		return -EINVAL;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	if (strcmp(v, "/") == 0)
		return 0;
	for (p = v + 1;; p = end + 1) {
		len = strcspn(p, "/");
		end = p + len;
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (!*end)
			return 0;
	}
}

static int parse_enum(const struct hm_policy_key *k, const char *v, unsigned int *ret)
{
	unsigned int i;

	for (i = 0; k->choices[i]; i++)
		if (strcasecmp(v, k->choices[i]) == 0) {
			*ret = i;
			return 0;
		}
	return -EINVAL;
}

static int parse(const struct hm_policy_key *k, const char *v, void *ret)
{
	union { bool b; int64_t i; double f; unsigned int e; } scratch;

	if (!ret)
		ret = &scratch;
	switch (k->type) {
	case HM_POLICY_BOOL:
		return parse_bool(v, ret);
	case HM_POLICY_INT:
	case HM_POLICY_DURATION:
		return parse_int(v, k->imin, k->imax, ret);
	case HM_POLICY_FLOAT:
		return parse_float(v, k->fmin, k->fmax, ret);
	case HM_POLICY_PATH:
		return check_path(v);
	case HM_POLICY_ENUM:
		return parse_enum(k, v, ret);
	default:
		return -EINVAL;
	}
}

/* ---- validation, with messages ---- */

/* Levenshtein distance, for "did you mean"; keys are short */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp;
	size_t row[65];

	if (la > 64 || lb > 64)
		return 65;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j] > row[j - 1] + 1)
				row[j] = row[j - 1] + 1;
			if (row[j] > tmp + 1)
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

static bool close_match(const char *typed, const char *name)
{
	return distance(typed, name) <= 3 || (strlen(typed) >= 4 && strstr(name, typed));
}

static void unknown_key(const char *key, char *err, size_t errlen)
{
	size_t i, n;
	int matches = 0;

	n = (size_t)snprintf(err, errlen, "'%.64s': unknown policy key", key);
	for (i = 0; i < ARRAY_SIZE(keys) && n < errlen; i++) {
		if (!close_match(key, keys[i].name))
			continue;
		n += (size_t)snprintf(err + n, errlen - n, "%s%s", matches++ ? ", " : " (did you mean ",
				      keys[i].name);
	}
	if (matches && n < errlen)
		snprintf(err + n, errlen - n, "?)");
}

static void bad_value(const struct hm_policy_key *k, const char *v, char *err, size_t errlen)
{
	size_t n, i;

	n = (size_t)snprintf(err, errlen, "%s: '%.64s%s' is not ", k->name, v,
			     strlen(v) > 64 ? "..." : "");
	if (n >= errlen)
		return;
	switch (k->type) {
	case HM_POLICY_BOOL:
		snprintf(err + n, errlen - n, "a boolean (yes, no, true, false, on, off, 1, 0)");
		break;
	case HM_POLICY_INT:
		snprintf(err + n, errlen - n, "an integer in %lld..%lld", (long long)k->imin,
			 (long long)k->imax);
		break;
	case HM_POLICY_DURATION:
		snprintf(err + n, errlen - n, "a whole number of seconds in %lld..%lld",
			 (long long)k->imin, (long long)k->imax);
		break;
	case HM_POLICY_FLOAT:
		snprintf(err + n, errlen - n, "a number in %g..%g", k->fmin, k->fmax);
		break;
	case HM_POLICY_PATH:
		snprintf(err + n, errlen - n, "an absolute path (no empty, '.' or '..' parts,"
			 " no control characters, under 4096 bytes)");
		break;
	case HM_POLICY_ENUM:
		n += (size_t)snprintf(err + n, errlen - n, "one of ");
		for (i = 0; k->choices[i] && n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? ", " : "",
					      k->choices[i]);
		break;
	default:
		break;
	}
}

int hm_policy_check_key(const char *key, char *err, size_t errlen)
{
	if (key && hm_policy_key_find(key))
		return 0;
	unknown_key(key ? key : "", err, errlen);
	return -ENOENT;
}

int hm_policy_validate(const char *key, const char *value, char *err, size_t errlen)
{
	const struct hm_policy_key *k;
	char scratch[HM_POLICY_ERR_MAX];

	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	if (!key || !value) {
		snprintf(err, errlen, "no %s", key ? "value" : "key");
		return -EINVAL;
	}
	k = hm_policy_key_find(key);
	if (!k) {
		unknown_key(key, err, errlen);
		return -ENOENT;
	}
	if (strlen(value) > HM_POLICY_VALUE_MAX || parse(k, value, NULL) < 0) {
		bad_value(k, value, err, errlen);
		return -EINVAL;
	}
	return 0;
}

/* ---- typed getters ---- */

static int get(const char *key, const char *value, enum hm_policy_type t1,
	       enum hm_policy_type t2, void *ret)
{
	const struct hm_policy_key *k = hm_policy_key_find(key);

	if (!k)
		return key ? -ENOENT : -EINVAL;
	if (!ret || (k->type != t1 && k->type != t2))
		return -EINVAL;
	return parse(k, value ? value : k->def, ret);
}

int hm_policy_bool(const char *key, const char *value, bool *ret)
{
	return get(key, value, HM_POLICY_BOOL, HM_POLICY_BOOL, ret);
}

int hm_policy_int(const char *key, const char *value, int64_t *ret)
{
	return get(key, value, HM_POLICY_INT, HM_POLICY_DURATION, ret);
}

int hm_policy_float(const char *key, const char *value, double *ret)
{
	return get(key, value, HM_POLICY_FLOAT, HM_POLICY_FLOAT, ret);
}

int hm_policy_enum(const char *key, const char *value, unsigned int *ret)
{
	return get(key, value, HM_POLICY_ENUM, HM_POLICY_ENUM, ret);
}
