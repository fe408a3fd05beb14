/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fencer (fencing/fencer.c) against a real qb_loop and the fake agent
 * (tests/unit/fence_fake_agent), linked under a temporary directory as
 * fence_fake (and fence_fake_badmeta), which the fencer takes as its agent
 * directory.  Invalid input first.  Deadlines of a few hundred ms.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "check_common.h"
#include "executor.h"
#include "fencer.h"
#include "metadata.h"

#define GUARD_MS 20000u
#define TEST_TIMEOUT_S 60
#define SECRET "hunter2-Zq9"

#define add_tcase_slow(suite, func) do {			\
	TCase *tc_ = tcase_create(#func);			\
	tcase_add_checked_fixture(tc_, setup, teardown);	\
	tcase_set_timeout(tc_, TEST_TIMEOUT_S);			\
	tcase_add_test(tc_, func);				\
	suite_add_tcase((suite), tc_);				\
} while (0)

static qb_loop_t *loop;
static char dir[256];		/* /tmp/hm-fencer-PID-XXXXXX: the agent directory */
static char agent[PATH_MAX];	/* the fake agent's real path */

static void find_agent(void)
{
	const char *env = getenv("HM_FENCE_FAKE_AGENT");
	char buf[PATH_MAX];

	if (env != NULL && realpath(env, agent) != NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", __FILE__);
	if (strrchr(buf, '/') != NULL)
		strcpy(strrchr(buf, '/') + 1, "fence_fake_agent");
	else
		snprintf(buf, sizeof(buf), "fence_fake_agent");
	ck_assert_msg(realpath(buf, agent) != NULL, "fence_fake_agent not found (%s)", buf);
}

static void link_agent(const char *name)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_int_eq(symlink(agent, p), 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hm-fencer-%d-XXXXXX", (int)getpid());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	find_agent();
	link_agent("fence_fake");
	link_agent("fence_fake_badmeta");
	loop = qb_loop_create();
	ck_assert_ptr_nonnull(loop);
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX * 2];

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	qb_loop_destroy(loop);
	loop = NULL;
}

/* ------------------------------------------------------------------ */
/* helpers */

static char *in_dir(const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fread(s, 1, (size_t)n, f), n);
	fclose(f);
	return s;
}

static struct hm_fencer_config config(uint64_t call_ms, unsigned retries)
{
	struct hm_fencer_config cfg = {
		.agent_dir = dir,
		.call_timeout_ms = call_ms,
		.retries = retries,
		.retry_delay_ms = 50,
		.kill_grace_ms = 200,
	};

	return cfg;
}

/* a device with params built from "k=v" pairs (a JSON object) */
struct devs {
	struct hm_fence_device v[8];
	char *params[8];
	size_t n;
};

static void __attribute__((format(printf, 5, 6)))
dev_add(struct devs *d, uint32_t id, uint32_t level, const char *agent_name, const char *fmt,
	...)
{
	va_list ap;

	ck_assert_uint_lt(d->n, 8);
	va_start(ap, fmt);
	ck_assert_int_gt(vasprintf(&d->params[d->n], fmt, ap), 0);
	va_end(ap);
	d->v[d->n] = (struct hm_fence_device){
		.id = id, .host = 5, .level = level, .agent = agent_name, .params = d->params[d->n],
	};
	d->n++;
}

static void devs_free(struct devs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->params[i]);
}

struct outcome {
	unsigned attempts_seen;
	struct hm_fence_attempt attempts[8];
	bool done_called;
	bool attempt_after_done;
	struct hm_fencer_result res;
	struct hm_fence_attempt res_attempts[8];
	bool guard_hit;
	bool in_start;
	bool called_inside_start;
};

static void on_attempt(const struct hm_fence_attempt *a, void *data)
{
	struct outcome *oc = data;

	if (oc->done_called)
		oc->attempt_after_done = true;
	if (oc->in_start)
		oc->called_inside_start = true;
	ck_assert_uint_lt(oc->attempts_seen, 8);
	oc->attempts[oc->attempts_seen++] = *a;
}

static void on_done(const struct hm_fencer_result *res, void *data)
{
	struct outcome *oc = data;

	ck_assert(!oc->done_called);
	if (oc->in_start)
		oc->called_inside_start = true;
	oc->done_called = true;
	oc->res = *res;
	ck_assert_uint_le(res->n_attempts, 8);
	memcpy(oc->res_attempts, res->attempts, res->n_attempts * sizeof(*res->attempts));
	oc->res.attempts = oc->res_attempts;
	qb_loop_stop(loop);
}

static void on_guard(void *data)
{
	bool *hit = data;

	*hit = true;
	qb_loop_stop(loop);
}

static void run_loop(bool *guard_hit)
{
	qb_loop_timer_handle guard;

	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, GUARD_MS * QB_TIME_NS_IN_MSEC,
					   guard_hit, on_guard, &guard), 0);
	qb_loop_run(loop);
	if (qb_loop_timer_is_running(loop, guard))
		qb_loop_timer_del(loop, guard);
	ck_assert_msg(!*guard_hit, "nothing came back");
}

static struct hm_fencer *fence(const struct hm_fencer_config *cfg, const struct devs *d,
			       struct outcome *oc)
{
	struct hm_fencer *f = NULL;

	memset(oc, 0, sizeof(*oc));
	oc->in_start = true;
	ck_assert_int_eq(hm_fencer_start(loop, cfg, 5, "node5", d->v, d->n, on_attempt, on_done,
					 oc, &f), 0);
	oc->in_start = false;
	ck_assert_ptr_nonnull(f);
	return f;
}

static void fence_and_wait(const struct hm_fencer_config *cfg, const struct devs *d,
			   struct outcome *oc)
{
	fence(cfg, d, oc);
	run_loop(&oc->guard_hit);
	ck_assert(oc->done_called);
	ck_assert(!oc->called_inside_start);
	ck_assert(!oc->attempt_after_done);
	ck_assert_uint_eq(oc->attempts_seen, oc->res.n_attempts);
}

/* no byte sequence of the secret anywhere in a record */
static void assert_no_secret(const void *p, size_t len)
{
	ck_assert_ptr_null(memmem(p, len, SECRET, strlen(SECRET)));
}

/* ------------------------------------------------------------------ */
/* invalid input */

static void never_attempt(const struct hm_fence_attempt *a, void *data)
{
	(void)a;
	*(bool *)data = true;
}

static void never_done(const struct hm_fencer_result *res, void *data)
{
	(void)res;
	*(bool *)data = true;
}

static void stop_loop(void *data)
{
	(void)data;
	qb_loop_stop(loop);
}

START_TEST(test_invalid)
{
	struct hm_fencer_config cfg = config(1000, 0), bad;
	struct hm_fencer *sentinel = (struct hm_fencer *)&cfg, *f = sentinel;
	struct devs d = { .n = 0 };
	const struct hm_fence_device other = {
		.id = 1, .host = 6, .level = 1, .agent = "fence_fake", .params = "{}" };
	const struct hm_fence_device id0 = {
		.id = 0, .host = 5, .level = 1, .agent = "fence_fake", .params = "{}" };
	qb_loop_timer_handle t;
	bool called = false;

	dev_add(&d, 1, 1, "fence_fake", "{\"mode\": \"pass\"}");

	ck_assert_int_eq(hm_fencer_config_validate(NULL), -EINVAL);
	ck_assert_int_eq(hm_fencer_config_validate(&cfg), 0);
	bad = cfg;
	bad.call_timeout_ms = 0;
	ck_assert_int_eq(hm_fencer_config_validate(&bad), -EINVAL);
	bad = cfg;
	bad.agent_dir = "relative/dir";
	ck_assert_int_eq(hm_fencer_config_validate(&bad), -EINVAL);
	bad = cfg;
	bad.call_timeout_ms = HM_FENCE_MS_MAX;
	bad.retries = 2;	/* 3 days of deadline */
	ck_assert_int_eq(hm_fencer_config_validate(&bad), -EINVAL);
	bad = cfg;
	bad.agent_dir = NULL;	/* /usr/sbin */
	ck_assert_int_eq(hm_fencer_config_validate(&bad), 0);

	ck_assert_int_eq(hm_fencer_start(NULL, &cfg, 5, NULL, d.v, d.n, never_attempt, never_done,
					 &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, NULL, 5, NULL, d.v, d.n, never_attempt, never_done,
					 &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, NULL, d.v, d.n, never_attempt, NULL,
					 &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, NULL, d.v, d.n, never_attempt, never_done,
					 &called, NULL), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 0, NULL, d.v, d.n, never_attempt, never_done,
					 &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, "node\n5", d.v, d.n, never_attempt,
					 never_done, &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, "", d.v, d.n, never_attempt,
					 never_done, &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, NULL, &id0, 1, never_attempt, never_done,
					 &called, &f), -EINVAL);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, NULL, NULL, 1, never_attempt, never_done,
					 &called, &f), -EINVAL);
	/* no device for the host: unprotected */
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, NULL, NULL, 0, never_attempt, never_done,
					 &called, &f), -ENODEV);
	ck_assert_int_eq(hm_fencer_start(loop, &cfg, 5, NULL, &other, 1, never_attempt,
					 never_done, &called, &f), -ENODEV);
	ck_assert_ptr_eq(f, sentinel);

	/* checks and metadata */
	ck_assert_int_eq(hm_fencer_check_start(loop, &cfg, &d.v[0], NULL, "off", never_attempt,
					       &called, (struct hm_fencer_op **)&f), -EINVAL);
	ck_assert_int_eq(hm_fencer_check_start(loop, &cfg, &d.v[0], NULL, "reboot", never_attempt,
					       &called, (struct hm_fencer_op **)&f), -EINVAL);
	ck_assert_int_eq(hm_fencer_check_start(loop, &cfg, NULL, NULL, "monitor", never_attempt,
					       &called, (struct hm_fencer_op **)&f), -EINVAL);
	ck_assert_int_eq(hm_fencer_metadata_start(loop, &cfg, "../bin/sh", NULL, &called,
						  (struct hm_fencer_op **)&f), -EINVAL);
	ck_assert_ptr_eq(f, sentinel);

	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, 300 * QB_TIME_NS_IN_MSEC, NULL,
					   stop_loop, &t), 0);
	qb_loop_run(loop);
	ck_assert(!called);
	hm_fencer_cancel(NULL);
	hm_fencer_op_cancel(NULL);
	devs_free(&d);
}
END_TEST

START_TEST(test_agent_names)
{
	static const char *const good[] = { "fence_ipmilan", "fence_ilo4", "fence-x", "x" };
	static const char *const bad[] = { NULL, "", "-fence", "fence/ipmilan", "../fence",
					   "fence ipmilan", "fence_ipmilan\n", ".", ".." };
	char long_name[HM_FENCE_AGENT_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(hm_fencer_agent_name_valid(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!hm_fencer_agent_name_valid(bad[i]), "%s", bad[i] ? bad[i] : "NULL");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert(!hm_fencer_agent_name_valid(long_name));
	long_name[HM_FENCE_AGENT_MAX] = '\0';
	ck_assert(hm_fencer_agent_name_valid(long_name));
	ck_assert_uint_eq(hm_fencer_device_timeout_ms(1000, 2, 100), 3200);
	ck_assert_uint_eq(hm_fencer_device_timeout_ms(1000, 0, 100), 1000);
	ck_assert_str_eq(hm_fencer_outcome_to_str(HM_FENCER_EXHAUSTED), "exhausted");
	ck_assert_str_eq(hm_fencer_outcome_to_str((enum hm_fencer_outcome)9), "invalid");
}
END_TEST

/* ------------------------------------------------------------------ */
/* levels */

START_TEST(test_level1_fails_level2_proves)
{
	struct hm_fencer_config cfg = config(5000, 1);
	char *rec = in_dir("record2"), *counter1 = in_dir("counter1"), *s;
	struct devs d = { .n = 0 };
	struct outcome oc;

	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"10.0.0.2\", \"mode\": \"pass\", "
		"\"record\": \"%s\", \"password\": \"" SECRET "\"}", rec);
	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"10.0.0.1\", \"mode\": \"fail\", "
		"\"counter\": \"%s\"}", counter1);
	fence_and_wait(&cfg, &d, &oc);

	ck_assert_int_eq(oc.res.outcome, HM_FENCER_PROVEN_OFF);
	ck_assert_uint_eq(oc.res.host, 5);
	ck_assert_uint_eq(oc.res.level, 2);
	ck_assert_uint_eq(oc.res.device, 2);
	ck_assert_str_eq(oc.res.reason, "");
	ck_assert_int_le(oc.res.start_ms, oc.res.end_ms);
	ck_assert_uint_eq(oc.res.n_attempts, 2);

	/* level 1: failed, retried once (retries 1), the agent's reason */
	ck_assert_uint_eq(oc.attempts[0].device, 1);
	ck_assert_uint_eq(oc.attempts[0].level, 1);
	ck_assert_uint_eq(oc.attempts[0].host, 5);
	ck_assert_str_eq(oc.attempts[0].agent, "fence_fake");
	ck_assert_str_eq(oc.attempts[0].action, "off");
	ck_assert_int_eq(oc.attempts[0].exit_status, 1);
	ck_assert_str_eq(oc.attempts[0].status, "done");
	ck_assert_uint_eq(oc.attempts[0].tries, 2);
	ck_assert(!oc.attempts[0].proof);
	ck_assert_str_eq(oc.attempts[0].reason, "Failed: Unable to obtain correct plug status or "
			 "plug is not available");
	ck_assert_int_le(oc.attempts[0].start_ms, oc.attempts[0].end_ms);
	s = slurp(counter1);
	ck_assert_str_eq(s, "2\n");
	free(s);

	/* level 2: proof */
	ck_assert_uint_eq(oc.attempts[1].device, 2);
	ck_assert_uint_eq(oc.attempts[1].level, 2);
	ck_assert_int_eq(oc.attempts[1].exit_status, 0);
	ck_assert_uint_eq(oc.attempts[1].tries, 1);
	ck_assert(oc.attempts[1].proof);
	ck_assert_str_eq(oc.attempts[1].reason, "");
	ck_assert_int_le(oc.attempts[0].end_ms, oc.attempts[1].start_ms);
	ck_assert_mem_eq(&oc.attempts[1], &oc.res.attempts[1], sizeof(oc.attempts[1]));

	/* what the agent got: its params and nodename on stdin, action last;
	 * no argument; an environment of PATH only */
	s = slurp(rec);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "stdin: ip=10.0.0.2\n"));
	ck_assert_ptr_nonnull(strstr(s, "stdin: password=" SECRET "\n"));
	ck_assert_ptr_nonnull(strstr(s, "stdin: nodename=node5\nstdin: action=off\nargv:"));
	ck_assert_ptr_null(strstr(strstr(s, "argv:"), SECRET));
	ck_assert_ptr_nonnull(strstr(s, "env: PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	free(s);
	free(rec);
	free(counter1);
	devs_free(&d);
}
END_TEST

/* every device of a level must prove off; a level stops at its first
 * failure (its other devices never run) */
START_TEST(test_level_needs_every_device)
{
	struct hm_fencer_config cfg = config(5000, 0);
	char *c1 = in_dir("c1"), *c3 = in_dir("c3"), *c2 = in_dir("c2");
	struct devs d = { .n = 0 };
	struct outcome oc;

	/* level 1 = 1 (off) then 3 (fails): level 2 */
	dev_add(&d, 3, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"fail\", \"counter\": \"%s\"}", c3);
	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"counter\": \"%s\"}", c1);
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\", \"counter\": \"%s\"}", c2);
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_PROVEN_OFF);
	ck_assert_uint_eq(oc.res.level, 2);
	ck_assert_uint_eq(oc.res.n_attempts, 3);
	ck_assert_uint_eq(oc.attempts[0].device, 1);
	ck_assert(oc.attempts[0].proof);
	ck_assert_uint_eq(oc.attempts[1].device, 3);
	ck_assert(!oc.attempts[1].proof);
	ck_assert_uint_eq(oc.attempts[2].device, 2);
	devs_free(&d);
	unlink(c1);
	unlink(c2);
	unlink(c3);

	/* level 1 = 1 (fails) then 3: 3 never runs */
	d.n = 0;
	dev_add(&d, 3, 1, "fence_fake", "{\"ip\": \"x\", \"counter\": \"%s\"}", c3);
	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"fail\", \"counter\": \"%s\"}", c1);
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\", \"counter\": \"%s\"}", c2);
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_PROVEN_OFF);
	ck_assert_uint_eq(oc.res.level, 2);
	ck_assert_uint_eq(oc.res.n_attempts, 2);
	ck_assert_int_eq(access(c3, F_OK), -1);
	ck_assert_int_eq(access(c2, F_OK), 0);

	/* both of level 1 prove off: proven at level 1, level 2 never runs */
	devs_free(&d);
	unlink(c1);
	unlink(c2);
	d.n = 0;
	dev_add(&d, 3, 1, "fence_fake", "{\"ip\": \"x\"}");
	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\"}");
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\", \"counter\": \"%s\"}", c2);
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_PROVEN_OFF);
	ck_assert_uint_eq(oc.res.level, 1);
	ck_assert_uint_eq(oc.res.device, 3);
	ck_assert_uint_eq(oc.res.n_attempts, 2);
	ck_assert_int_eq(access(c2, F_OK), -1);
	devs_free(&d);
	free(c1);
	free(c2);
	free(c3);
}
END_TEST

START_TEST(test_hang_moves_to_next_level)
{
	struct hm_fencer_config cfg = config(300, 0);
	struct devs d = { .n = 0 };
	struct outcome oc;

	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"hang\"}");
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\"}");
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_PROVEN_OFF);
	ck_assert_uint_eq(oc.res.level, 2);
	ck_assert_str_eq(oc.attempts[0].status, "timeout");
	ck_assert_int_eq(oc.attempts[0].exit_status, -1);
	ck_assert(!oc.attempts[0].proof);
	ck_assert_ptr_nonnull(strstr(oc.attempts[0].reason, "timed out after"));
	ck_assert_int_ge(oc.attempts[0].end_ms - oc.attempts[0].start_ms, 300);
	ck_assert_int_lt(oc.attempts[0].end_ms - oc.attempts[0].start_ms, 300 + 2 * 200 + 1500);
	devs_free(&d);
}
END_TEST

START_TEST(test_every_level_fails)
{
	struct hm_fencer_config cfg = config(300, 0);
	struct devs d = { .n = 0 };
	struct outcome oc;

	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"fail\"}");
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\", \"mode\": \"hang\"}");
	dev_add(&d, 3, 3, "fence_fake", "{\"ip\": \"x\", \"mode\": ");	/* broken JSON */
	dev_add(&d, 4, 4, "fence_nothing", "{\"ip\": \"x\"}");		/* no such agent */
	dev_add(&d, 5, 5, "fence_fake", "{\"ip\": \"x\", \"action\": \"reboot\"}");
	dev_add(&d, 6, 6, "../fence_fake", "{}");
	dev_add(&d, 7, 7, "fence_fake", "{\"ip\": \"x\", \"rc\": \"2\"}");	/* off exits 2 */
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_EXHAUSTED);
	ck_assert_uint_eq(oc.res.n_attempts, 7);
	ck_assert_uint_eq(oc.res.level, 0);
	ck_assert_str_eq(oc.attempts[2].status, "error-device");
	ck_assert_str_eq(oc.attempts[3].status, "error-exec");
	ck_assert_str_eq(oc.attempts[4].status, "error-device");
	ck_assert_str_eq(oc.attempts[5].status, "error-device");
	ck_assert_int_eq(oc.attempts[6].exit_status, 2);
	ck_assert(!oc.attempts[6].proof);
	ck_assert_msg(strstr(oc.res.reason,
			     "level 1: device 1 (fence_fake): Failed: Unable to obtain correct "
			     "plug status or plug is not available; "
			     "level 2: device 2 (fence_fake): timed out after ") != NULL,
		      "%s", oc.res.reason);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "; level 3: device 3 (fence_fake): params: "
				     "not valid JSON"));
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "; level 4: device 4 (fence_nothing): cannot "
				     "execute "));
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "; level 5: device 5 (fence_fake): the params "
				     "cannot be sent to the agent (a reserved name?)"));
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "; level 6: device 6 (../fence_fake): the agent "
				     "name is not valid"));
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "; level 7: device 7 (fence_fake): agent exited "
				     "with status 2"));
	devs_free(&d);
}
END_TEST

START_TEST(test_retry_then_proof)
{
	struct hm_fencer_config cfg = config(5000, 2);
	char *counter = in_dir("counter");
	struct devs d = { .n = 0 };
	struct outcome oc;

	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"flaky\", \"fail_times\": "
		"\"2\", \"counter\": \"%s\"}", counter);
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_PROVEN_OFF);
	ck_assert_uint_eq(oc.attempts[0].tries, 3);
	ck_assert(oc.attempts[0].proof);
	free(counter);
	devs_free(&d);
}
END_TEST

/* an agent that quotes its password: the records never hold it */
START_TEST(test_no_secret_in_records)
{
	struct hm_fencer_config cfg = config(5000, 1);
	struct devs d = { .n = 0 };
	struct outcome oc;
	size_t i;

	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"fail-quoting-password\", "
		"\"password\": \"" SECRET "\"}");
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\", \"mode\": \"fail-quoting-password\", "
		"\"password\": \"" SECRET "\", \"snmp_priv_passwd\": \"admin\"}");
	fence_and_wait(&cfg, &d, &oc);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_EXHAUSTED);
	ck_assert_str_eq(oc.attempts[0].reason,
			 "Failed: login as admin with password '********' refused");
	/* "admin" is a secret of device 2 (silly, but a secret) */
	ck_assert_str_eq(oc.attempts[1].reason,
			 "Failed: login as ******** with password '********' refused");
	for (i = 0; i < oc.attempts_seen; i++)
		assert_no_secret(&oc.attempts[i], sizeof(oc.attempts[i]));
	for (i = 0; i < oc.res.n_attempts; i++)
		assert_no_secret(&oc.res.attempts[i], sizeof(oc.res.attempts[i]));
	assert_no_secret(&oc.res, sizeof(oc.res));
	devs_free(&d);
}
END_TEST

static struct hm_fencer *to_cancel;

static void cancel_now(void *data)
{
	(void)data;
	hm_fencer_cancel(to_cancel);
	hm_fencer_cancel(to_cancel);
}

START_TEST(test_cancel)
{
	struct hm_fencer_config cfg = config(10000, 3);
	char *c2 = in_dir("c2");
	struct devs d = { .n = 0 };
	qb_loop_timer_handle t;
	struct outcome oc;

	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"hang\"}");
	dev_add(&d, 2, 2, "fence_fake", "{\"ip\": \"x\", \"counter\": \"%s\"}", c2);
	to_cancel = fence(&cfg, &d, &oc);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_MED, 300 * QB_TIME_NS_IN_MSEC, NULL,
					   cancel_now, &t), 0);
	run_loop(&oc.guard_hit);
	ck_assert(oc.done_called);
	ck_assert_int_eq(oc.res.outcome, HM_FENCER_CANCELLED);
	ck_assert_str_eq(oc.res.reason, "cancelled");
	ck_assert_uint_eq(oc.res.n_attempts, 1);
	ck_assert_str_eq(oc.attempts[0].status, "cancelled");
	ck_assert(!oc.attempts[0].proof);
	ck_assert_int_lt(oc.res.end_ms - oc.res.start_ms, 5000);
	ck_assert_int_eq(access(c2, F_OK), -1);
	free(c2);
	devs_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* checks */

struct check_oc {
	struct hm_fence_attempt a;
	bool done;
	bool guard_hit;
};

static void on_check(const struct hm_fence_attempt *a, void *data)
{
	struct check_oc *oc = data;

	oc->a = *a;
	oc->done = true;
	qb_loop_stop(loop);
}

static void check(const struct hm_fencer_config *cfg, const struct hm_fence_device *dev,
		  const char *action, struct check_oc *oc)
{
	struct hm_fencer_op *op = NULL;

	memset(oc, 0, sizeof(*oc));
	ck_assert_int_eq(hm_fencer_check_start(loop, cfg, dev, "node5", action, on_check, oc, &op),
			 0);
	ck_assert_ptr_nonnull(op);
	ck_assert(!oc->done);	/* never from inside start */
	run_loop(&oc->guard_hit);
	ck_assert(oc->done);
}

START_TEST(test_check_monitor_status)
{
	struct hm_fencer_config cfg = config(2000, 3);
	struct devs d = { .n = 0 };
	struct check_oc oc;

	dev_add(&d, 1, 1, "fence_fake", "{\"ip\": \"x\", \"password\": \"" SECRET "\"}");
	dev_add(&d, 2, 1, "fence_fake", "{\"ip\": \"x\", \"rc\": \"2\"}");
	dev_add(&d, 3, 1, "fence_fake", "{\"ip\": \"x\", \"mode\": \"fail-quoting-password\", "
		"\"password\": \"" SECRET "\"}");
	dev_add(&d, 4, 1, "fence_nothing", "{}");
	dev_add(&d, 5, 1, "fence_fake", "not json");

	check(&cfg, &d.v[0], "monitor", &oc);
	ck_assert_str_eq(oc.a.action, "monitor");
	ck_assert_int_eq(oc.a.exit_status, 0);
	ck_assert(!oc.a.proof);		/* a monitor proves nothing */
	ck_assert_uint_eq(oc.a.device, 1);
	ck_assert_uint_eq(oc.a.level, 0);

	check(&cfg, &d.v[0], "status", &oc);
	ck_assert_int_eq(oc.a.exit_status, 0);	/* on */
	ck_assert(!oc.a.proof);

	check(&cfg, &d.v[1], "status", &oc);
	ck_assert_int_eq(oc.a.exit_status, 2);	/* off */
	ck_assert(oc.a.proof);

	check(&cfg, &d.v[2], "monitor", &oc);	/* no retry for a check */
	ck_assert_int_eq(oc.a.exit_status, 1);
	ck_assert_uint_eq(oc.a.tries, 1);
	ck_assert_str_eq(oc.a.reason, "Failed: login as admin with password '********' refused");
	assert_no_secret(&oc.a, sizeof(oc.a));

	check(&cfg, &d.v[3], "monitor", &oc);
	ck_assert_str_eq(oc.a.status, "error-exec");

	check(&cfg, &d.v[4], "monitor", &oc);
	ck_assert_str_eq(oc.a.status, "error-device");
	ck_assert_ptr_nonnull(strstr(oc.a.reason, "params: not valid JSON"));
	devs_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* metadata, and validation against it */

struct meta_oc {
	int rc;
	char *xml;
	size_t len;
	char reason[256];
	bool done;
	bool guard_hit;
};

static void on_metadata(int rc, const char *xml, size_t len, const char *reason, void *data)
{
	struct meta_oc *oc = data;

	oc->rc = rc;
	oc->done = true;
	oc->len = len;
	oc->xml = xml ? strndup(xml, len) : NULL;
	snprintf(oc->reason, sizeof(oc->reason), "%s", reason);
	qb_loop_stop(loop);
}

static void metadata(const char *name, struct meta_oc *oc)
{
	struct hm_fencer_config cfg = config(2000, 0);
	struct hm_fencer_op *op = NULL;

	memset(oc, 0, sizeof(*oc));
	ck_assert_int_eq(hm_fencer_metadata_start(loop, &cfg, name, on_metadata, oc, &op), 0);
	run_loop(&oc->guard_hit);
	ck_assert(oc->done);
}

START_TEST(test_metadata_and_validate)
{
	struct hm_fence_metadata *md = NULL;
	char err[HM_FENCE_METADATA_ERR_MAX];
	struct json_object *p;
	struct meta_oc oc;

	metadata("fence_nothing", &oc);
	ck_assert_int_eq(oc.rc, -ENOENT);
	ck_assert_ptr_nonnull(strstr(oc.reason, "cannot execute"));
	ck_assert_ptr_null(oc.xml);

	metadata("fence_fake_badmeta", &oc);
	ck_assert_int_eq(oc.rc, -EIO);
	ck_assert_str_eq(oc.reason, "agent exited with status 1");

	metadata("fence_fake", &oc);
	ck_assert_int_eq(oc.rc, 0);
	ck_assert_int_eq(hm_fence_metadata_parse(oc.xml, oc.len, &md, err, sizeof(err)), 0);
	free(oc.xml);
	ck_assert_str_eq(md->agent, "fence_fake");

	p = json_tokener_parse("{\"ip\": \"10.0.0.1\", \"mode\": \"pass\", \"password\": \"x\"}");
	ck_assert_int_eq(hm_fence_metadata_validate(md, p, err, sizeof(err)), 0);
	json_object_put(p);
	p = json_tokener_parse("{\"ip\": \"10.0.0.1\", \"mode\": \"explode\"}");
	ck_assert_int_eq(hm_fence_metadata_validate(md, p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "parameter 'mode': 'explode' is not one of pass, fail"));
	json_object_put(p);
	p = json_tokener_parse("{\"mode\": \"pass\"}");
	ck_assert_int_eq(hm_fence_metadata_validate(md, p, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "fence_fake: missing required parameter 'ip'");
	json_object_put(p);
	p = json_tokener_parse("{\"ip\": \"1\", \"version\": \"0\"}");
	ck_assert_int_eq(hm_fence_metadata_validate(md, p, err, sizeof(err)), -EPERM);
	json_object_put(p);
	hm_fence_metadata_free(md);
}
END_TEST

static Suite *fence_fencer_suite(void)
{
	Suite *s = suite_create("fence_fencer");

	add_tcase_slow(s, test_invalid);
	add_tcase(s, test_agent_names);
	add_tcase_slow(s, test_level1_fails_level2_proves);
	add_tcase_slow(s, test_level_needs_every_device);
	add_tcase_slow(s, test_hang_moves_to_next_level);
	add_tcase_slow(s, test_every_level_fails);
	add_tcase_slow(s, test_retry_then_proof);
	add_tcase_slow(s, test_no_secret_in_records);
	add_tcase_slow(s, test_cancel);
	add_tcase_slow(s, test_check_monitor_status);
	add_tcase_slow(s, test_metadata_and_validate);
	return s;
}

int main(void)
{
	return hm_check_run(fence_fencer_suite());
}
