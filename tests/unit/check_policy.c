/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster policy keys: bad keys and values are refused with a message that
 * names the key and what it allows; every key has a valid default; the
 * defaults are pinned here, and doc/policy.md lists every key, no other.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "check_common.h"
#include "policy.h"

/* the keys and defaults later issues rely on, pinned */
static const struct {
	const char *key, *type, *def;
} spec[] = {
	{ "max_fence_fraction", "float", "0.5" },
	{ "no_fence_window_s", "duration", "120" },
	{ "fence_delay_s", "duration", "0" },
	{ "fence_race_delay_s", "duration", "5" },
	{ "fence_timeout_s", "duration", "60" },
	{ "fence_retries", "int", "2" },
	{ "fence_backend", "enum", "agents" },
	{ "fence_monitor_interval_s", "duration", "300" },
	{ "startup_window_s", "duration", "300" },
	{ "auto_enable_after_fence", "bool", "no" },
	{ "cpu_overcommit", "float", "4.0" },
	{ "reserved_hosts_order", "enum", "last" },
	{ "anti_affinity", "enum", "strict" },
	{ "shared_storage_path", "path", "/var/lib/hamon-shared" },
	{ "migration_max_parallel_per_host", "int", "2" },
	{ "migration_downtime_ms", "int", "300" },
	{ "migration_timeout_s_per_gib", "int", "60" },
	{ "migration_on_timeout", "enum", "postcopy" },
	{ "migration_auto_converge", "bool", "yes" },
	{ "migration_bandwidth_mibs", "int", "0" },
	{ "migration_unsafe_shared_dir", "bool", "no" },
	{ "history_max_age_days", "int", "90" },
	{ "history_max_events", "int", "100000" },
};
#define N_SPEC (sizeof(spec) / sizeof(spec[0]))

/* ---- invalid input first ---- */

START_TEST(test_bad_arguments)
{
	char err[HM_POLICY_ERR_MAX];
	bool b;
	int64_t i;
	double f;
	unsigned int e;

	ck_assert_int_eq(hm_policy_validate(NULL, "1", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no key");
	ck_assert_int_eq(hm_policy_validate("fence_retries", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no value");
	/* no buffer for the message: still an answer */
	ck_assert_int_eq(hm_policy_validate("fence_retries", "x", NULL, 0), -EINVAL);
	ck_assert_int_eq(hm_policy_validate("fence_retries", "x", err, 0), -EINVAL);
	ck_assert_int_eq(hm_policy_validate("nope", "x", NULL, 0), -ENOENT);
	ck_assert_int_eq(hm_policy_validate("fence_retries", "2", NULL, 0), 0);
	ck_assert_ptr_null(hm_policy_default(NULL));
	ck_assert_ptr_null(hm_policy_default("nope"));
	ck_assert_ptr_null(hm_policy_key_find(NULL));
	ck_assert_ptr_null(hm_policy_key_at(hm_policy_key_count()));
	ck_assert_ptr_null(hm_policy_key_at((size_t)-1));
	ck_assert_str_eq(hm_policy_type_to_str(HM_POLICY_TYPE_MAX), "invalid");
	ck_assert_str_eq(hm_policy_type_to_str((enum hm_policy_type)-1), "invalid");

	/* getters: unknown key, another type, bad value, NULL */
	ck_assert_int_eq(hm_policy_bool(NULL, NULL, &b), -EINVAL);
	ck_assert_int_eq(hm_policy_bool("nope", NULL, &b), -ENOENT);
	ck_assert_int_eq(hm_policy_bool("fence_retries", NULL, &b), -EINVAL);
	ck_assert_int_eq(hm_policy_bool("migration_auto_converge", "maybe", &b), -EINVAL);
	ck_assert_int_eq(hm_policy_bool("migration_auto_converge", NULL, NULL), -EINVAL);
	ck_assert_int_eq(hm_policy_int("cpu_overcommit", NULL, &i), -EINVAL);
	ck_assert_int_eq(hm_policy_int("fence_retries", "11", &i), -EINVAL);
	ck_assert_int_eq(hm_policy_float("fence_retries", NULL, &f), -EINVAL);
	ck_assert_int_eq(hm_policy_float("cpu_overcommit", "0.5", &f), -EINVAL);
	ck_assert_int_eq(hm_policy_enum("shared_storage_path", NULL, &e), -EINVAL);
	ck_assert_int_eq(hm_policy_enum("reserved_hosts_order", "middle", &e), -EINVAL);
}
END_TEST

START_TEST(test_unknown_key)
{
	char err[HM_POLICY_ERR_MAX];

	ck_assert_int_eq(hm_policy_validate("fence_timout_s", "60", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "'fence_timout_s': unknown policy key (did you mean fence_timeout_s?)");
	ck_assert_int_eq(hm_policy_validate("zzz", "1", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "'zzz': unknown policy key");
	ck_assert_int_eq(hm_policy_validate("", "1", err, sizeof(err)), -ENOENT);
	/* what was typed, inside several keys */
	ck_assert_int_eq(hm_policy_validate("history", "1", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "'history': unknown policy key (did you mean history_max_age_days,"
			 " history_max_events?)");
	/* the key alone, as a delete or a get checks it */
	ck_assert_int_eq(hm_policy_check_key("fence_timout_s", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "'fence_timout_s': unknown policy key (did you mean fence_timeout_s?)");
	ck_assert_int_eq(hm_policy_check_key(NULL, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(hm_policy_check_key("fence_timeout_s", err, sizeof(err)), 0);
	/* case matters for keys */
	ck_assert_int_eq(hm_policy_validate("Fence_Retries", "1", err, sizeof(err)), -ENOENT);
	/* hamon.conf keys are not policy */
	ck_assert_int_eq(hm_policy_validate("log_level", "info", err, sizeof(err)), -ENOENT);
	/* a long key is cut in the message, and a short buffer cuts it too */
	{
		char key[300], small[16];

		memset(key, 'k', sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		ck_assert_int_eq(hm_policy_validate(key, "1", err, sizeof(err)), -ENOENT);
		ck_assert_uint_lt(strlen(err), 100);
		ck_assert_int_eq(hm_policy_validate("fence_timout_s", "1", small, sizeof(small)),
				 -ENOENT);
		ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	}
}
END_TEST

static const struct {
	const char *key, *value, *err;
} bad[] = {
	{ "max_fence_fraction", "1.5", "max_fence_fraction: '1.5' is not a number in 0..1" },
	{ "max_fence_fraction", "-0.1", NULL },
	{ "max_fence_fraction", "", NULL },
	{ "max_fence_fraction", ".5", NULL },
	{ "max_fence_fraction", "0.5 ", NULL },
	{ "max_fence_fraction", " 0.5", NULL },
	{ "max_fence_fraction", "nan", NULL },
	{ "max_fence_fraction", "0x0.8p0", NULL },
	{ "max_fence_fraction", "1e", NULL },
	{ "max_fence_fraction", "50%", NULL },
	{ "cpu_overcommit", "0.99", "cpu_overcommit: '0.99' is not a number in 1..64" },
	{ "cpu_overcommit", "inf", NULL },
	{ "cpu_overcommit", "1e400", NULL },
	{ "fence_timeout_s", "abc",
	  "fence_timeout_s: 'abc' is not a whole number of seconds in 1..3600" },
	{ "fence_timeout_s", "0", NULL },
	{ "fence_timeout_s", "60s", NULL },
	{ "fence_timeout_s", "1.5", NULL },
	{ "fence_timeout_s", "+60", NULL },
	{ "fence_timeout_s", "-", NULL },
	{ "fence_timeout_s", "99999999999999999999", NULL },
	{ "no_fence_window_s", "-1", NULL },
	{ "no_fence_window_s", "86401", NULL },
	{ "fence_delay_s", "301", NULL },
	{ "fence_race_delay_s", "301", "fence_race_delay_s: '301' is not a whole number of seconds "
	  "in 0..300" },
	{ "fence_race_delay_s", "-1", NULL },
	{ "fence_backend", "stonith", "fence_backend: 'stonith' is not one of agents, pacemaker" },
	{ "fence_backend", "", NULL },
	{ "fence_backend", "agents,pacemaker", NULL },
	{ "fence_monitor_interval_s", "-1", NULL },
	{ "fence_monitor_interval_s", "86401", NULL },
	{ "fence_retries", "11", "fence_retries: '11' is not an integer in 0..10" },
	{ "fence_retries", "0x2", NULL },
	{ "fence_retries", "", NULL },
	{ "migration_max_parallel_per_host", "0", NULL },
	{ "migration_max_parallel_per_host", "17", NULL },
	{ "migration_bandwidth_mibs", "-1", NULL },
	{ "migration_downtime_ms", "0", NULL },
	{ "migration_timeout_s_per_gib", "0", NULL },
	{ "history_max_age_days", "36501", NULL },
	{ "history_max_events", "100000001", NULL },
	{ "auto_enable_after_fence", "maybe",
	  "auto_enable_after_fence: 'maybe' is not a boolean (yes, no, true, false, on, off, 1, 0)" },
	{ "auto_enable_after_fence", "", NULL },
	{ "auto_enable_after_fence", "y", NULL },
	{ "migration_auto_converge", "2", NULL },
	{ "reserved_hosts_order", "middle",
	  "reserved_hosts_order: 'middle' is not one of first, last" },
	{ "reserved_hosts_order", "", NULL },
	{ "reserved_hosts_order", "firstly", NULL },
	{ "migration_on_timeout", "pause", "migration_on_timeout: 'pause' is not one of abort, postcopy" },
	{ "shared_storage_path", "relative/dir",
	  "shared_storage_path: 'relative/dir' is not an absolute path (no empty, '.' or '..' parts,"
	  " no control characters, under 4096 bytes)" },
	{ "shared_storage_path", "", NULL },
	{ "shared_storage_path", "/srv//shared", NULL },
	{ "shared_storage_path", "/srv/shared/", NULL },
	{ "shared_storage_path", "/srv/../etc", NULL },
	{ "shared_storage_path", "/srv/./shared", NULL },
	{ "shared_storage_path", "/srv/sh\nared", NULL },
	{ "shared_storage_path", "/..", NULL },
};

START_TEST(test_bad_value)
{
	char err[HM_POLICY_ERR_MAX];

	ck_assert_msg(hm_policy_validate(bad[_i].key, bad[_i].value, err, sizeof(err)) == -EINVAL,
		      "%s = '%s' accepted", bad[_i].key, bad[_i].value);
	/* the message names the key, and the value */
	ck_assert_msg(strncmp(err, bad[_i].key, strlen(bad[_i].key)) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, bad[_i].value));
	if (bad[_i].err)
		ck_assert_str_eq(err, bad[_i].err);
}
END_TEST

START_TEST(test_value_too_long)
{
	static char value[HM_POLICY_VALUE_MAX + 2];
	char err[HM_POLICY_ERR_MAX];

	/* a path of 4095 bytes is the longest */
	memset(value, 'a', HM_POLICY_VALUE_MAX);
	value[0] = '/';
	value[4095] = '\0';
	ck_assert_int_eq(hm_policy_validate("shared_storage_path", value, err, sizeof(err)), 0);
	value[4095] = 'a';
	ck_assert_int_eq(hm_policy_validate("shared_storage_path", value, err, sizeof(err)),
			 -EINVAL);
	/* the message quotes only the start of the value */
	ck_assert_uint_lt(strlen(err), sizeof(err) - 1);
	ck_assert_ptr_nonnull(strstr(err, "...'"));
	memset(value, '1', HM_POLICY_VALUE_MAX + 1);
	ck_assert_int_eq(hm_policy_validate("fence_retries", value, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- valid input ---- */

START_TEST(test_good_values)
{
	static const char *const good[][2] = {
		{ "max_fence_fraction", "0" }, { "max_fence_fraction", "1" },
		{ "max_fence_fraction", "0.25" }, { "max_fence_fraction", "1e-1" },
		{ "max_fence_fraction", "-0" },
		{ "cpu_overcommit", "1" }, { "cpu_overcommit", "64.0" },
		{ "fence_timeout_s", "1" }, { "fence_timeout_s", "3600" },
		{ "fence_timeout_s", "0060" },
		{ "no_fence_window_s", "0" }, { "fence_retries", "0" },
		{ "fence_race_delay_s", "0" }, { "fence_race_delay_s", "300" },
		{ "fence_backend", "pacemaker" }, { "fence_backend", "Agents" },
		{ "fence_monitor_interval_s", "0" }, { "fence_monitor_interval_s", "86400" },
		{ "migration_bandwidth_mibs", "1048576" },
		{ "auto_enable_after_fence", "YES" }, { "auto_enable_after_fence", "off" },
		{ "auto_enable_after_fence", "1" }, { "migration_auto_converge", "False" },
		{ "reserved_hosts_order", "first" }, { "reserved_hosts_order", "LAST" },
		{ "migration_on_timeout", "abort" },
		{ "shared_storage_path", "/" }, { "shared_storage_path", "/srv/a.b/..c/\xc3\xa9" },
	};
	char err[HM_POLICY_ERR_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(hm_policy_validate(good[i][0], good[i][1], err, sizeof(err)) == 0,
			      "%s = '%s': %s", good[i][0], good[i][1], err);
		ck_assert_str_eq(err, "");
	}
}
END_TEST

/* every key: known type, one-line meaning, a valid default; the defaults
 * are those later issues were promised */
START_TEST(test_table)
{
	char err[HM_POLICY_ERR_MAX];
	size_t i, j;

	ck_assert_uint_eq(hm_policy_key_count(), N_SPEC);
	for (i = 0; i < hm_policy_key_count(); i++) {
		const struct hm_policy_key *k = hm_policy_key_at(i);

		ck_assert_ptr_nonnull(k);
		ck_assert_ptr_eq(hm_policy_key_find(k->name), k);
		ck_assert_str_eq(k->name, spec[i].key);
		ck_assert_str_eq(hm_policy_type_to_str(k->type), spec[i].type);
		ck_assert_str_eq(k->def, spec[i].def);
		ck_assert_str_eq(hm_policy_default(k->name), spec[i].def);
		ck_assert_msg(hm_policy_validate(k->name, k->def, err, sizeof(err)) == 0,
			      "default of %s: %s", k->name, err);
		ck_assert_msg(k->meaning && *k->meaning && !strchr(k->meaning, '\n') &&
			      !strchr(k->meaning, '|'), "meaning of %s", k->name);
		ck_assert_uint_le(strlen(k->name), 64);	/* the store's key limit */
		ck_assert_uint_eq(strspn(k->name, "abcdefghijklmnopqrstuvwxyz0123456789_"),
				  strlen(k->name));
		if (k->type == HM_POLICY_INT || k->type == HM_POLICY_DURATION)
			ck_assert_int_le(k->imin, k->imax);
		if (k->type == HM_POLICY_FLOAT)
			ck_assert(k->fmin <= k->fmax);
		if (k->type == HM_POLICY_ENUM)
			ck_assert_ptr_nonnull(k->choices);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(hm_policy_key_at(j)->name, k->name);
	}
}
END_TEST

START_TEST(test_getters)
{
	bool b;
	int64_t i;
	double f;
	unsigned int e;

	/* NULL: the default */
	ck_assert_int_eq(hm_policy_float("max_fence_fraction", NULL, &f), 0);
	ck_assert(f == 0.5);
	ck_assert_int_eq(hm_policy_float("cpu_overcommit", NULL, &f), 0);
	ck_assert(f == 4.0);
	ck_assert_int_eq(hm_policy_int("no_fence_window_s", NULL, &i), 0);
	ck_assert_int_eq(i, 120);
	ck_assert_int_eq(hm_policy_int("history_max_events", NULL, &i), 0);
	ck_assert_int_eq(i, 100000);
	ck_assert_int_eq(hm_policy_bool("auto_enable_after_fence", NULL, &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(hm_policy_bool("migration_auto_converge", NULL, &b), 0);
	ck_assert(b);
	ck_assert_int_eq(hm_policy_enum("reserved_hosts_order", NULL, &e), 0);
	ck_assert_uint_eq(e, 1);
	ck_assert_int_eq(hm_policy_enum("migration_on_timeout", NULL, &e), 0);
	ck_assert_uint_eq(e, 1);
	/* a value set */
	ck_assert_int_eq(hm_policy_float("max_fence_fraction", "0.25", &f), 0);
	ck_assert(f == 0.25);
	ck_assert_int_eq(hm_policy_int("fence_timeout_s", "90", &i), 0);
	ck_assert_int_eq(i, 90);
	ck_assert_int_eq(hm_policy_int("migration_downtime_ms", "60000", &i), 0);
	ck_assert_int_eq(i, 60000);
	ck_assert_int_eq(hm_policy_bool("auto_enable_after_fence", "On", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(hm_policy_bool("migration_auto_converge", "0", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(hm_policy_enum("migration_on_timeout", "ABORT", &e), 0);
	ck_assert_uint_eq(e, 0);
	/* fencing: the backend is an index into agents, pacemaker */
	ck_assert_int_eq(hm_policy_enum("fence_backend", NULL, &e), 0);
	ck_assert_uint_eq(e, 0);
	ck_assert_int_eq(hm_policy_enum("fence_backend", "PACEMAKER", &e), 0);
	ck_assert_uint_eq(e, 1);
	ck_assert_int_eq(hm_policy_int("fence_race_delay_s", NULL, &i), 0);
	ck_assert_int_eq(i, 5);
	ck_assert_int_eq(hm_policy_int("fence_monitor_interval_s", NULL, &i), 0);
	ck_assert_int_eq(i, 300);
}
END_TEST

/* the test's source directory: $srcdir under automake, else this file's */
static void top_path(char *buf, size_t len, const char *rel)
{
	const char *srcdir = getenv("srcdir");
	const char *slash = strrchr(__FILE__, '/');

	if (srcdir)
		snprintf(buf, len, "%s/../../%s", srcdir, rel);
	else if (slash)
		snprintf(buf, len, "%.*s/../../%s", (int)(slash - __FILE__), __FILE__, rel);
	else
		snprintf(buf, len, "../../%s", rel);
}

/* doc/policy.md: one row per key, "| `key` | type | `default` | range | meaning |",
 * in the table's order */
START_TEST(test_doc_file)
{
	char path[PATH_MAX], line[1024];
	size_t rows = 0;
	FILE *f;

	top_path(path, sizeof(path), "doc/policy.md");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		const struct hm_policy_key *k;
		char want[512];

		if (strncmp(line, "| `", 3) != 0)
			continue;
		k = hm_policy_key_at(rows++);
		ck_assert_msg(k != NULL, "doc row for an unknown key: %s", line);
		snprintf(want, sizeof(want), "| `%s` | %s | `%s` | ", k->name,
			 hm_policy_type_to_str(k->type), k->def);
		ck_assert_msg(strncmp(line, want, strlen(want)) == 0,
			      "doc row %zu should start '%s': %s", rows, want, line);
		ck_assert_msg(strstr(line, k->meaning) != NULL, "doc meaning of %s differs: %s",
			      k->name, line);
	}
	fclose(f);
	ck_assert_uint_eq(rows, hm_policy_key_count());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	/* invalid input first */
	add_tcase(s, test_bad_arguments);
	add_tcase(s, test_unknown_key);
	tc = tcase_create("test_bad_value");
	tcase_add_loop_test(tc, test_bad_value, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	suite_add_tcase(s, tc);
	add_tcase(s, test_value_too_long);

	add_tcase(s, test_good_values);
	add_tcase(s, test_table);
	add_tcase(s, test_getters);
	add_tcase(s, test_doc_file);
	return hm_check_run(s);
}
