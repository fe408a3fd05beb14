/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Pacemaker backend (fencing/pcmk.c): the history parser against
 * pacemaker 2.1.5's output (fixtures/pcmk-history*.xml), the reconcile
 * rule, and stonith_admin run through the executor, here a fake one
 * (tests/unit/fake_stonith_admin) that answers by host name.  The real
 * stonith_admin against the real fencer is tests/integration/
 * fence-pacemaker.test.  Invalid input first.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "check_common.h"
#include "pcmk.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD_MS 20000u

static qb_loop_t *loop;
static char dir[256];
static char fake[PATH_MAX + 64];	/* the fake, linked into dir */

static char *slurp(const char *path, size_t *len)
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
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

/* a file of tests/unit, from $srcdir or from this file's directory */
static void unit_file(const char *name, char *out, size_t size)
{
	const char *srcdir = getenv("srcdir");
	char d[PATH_MAX];

	if (srcdir != NULL) {
		snprintf(out, size, "%s/%s", srcdir, name);
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(d, sizeof(d), "%s", __FILE__);
	*(strrchr(d, '/') ? strrchr(d, '/') : d) = '\0';
	snprintf(out, size, "%s/%s", d[0] ? d : ".", name);
}

static char *fixture(const char *name, size_t *len)
{
	char path[PATH_MAX + 64], rel[128];
	char *s;

	snprintf(rel, sizeof(rel), "fixtures/%s", name);
	unit_file(rel, path, sizeof(path));
	s = slurp(path, len);
	ck_assert_msg(s != NULL, "%s: cannot read", path);
	return s;
}

static void setup(void)
{
	char real[PATH_MAX + 64], abs[PATH_MAX];

	snprintf(dir, sizeof(dir), "/tmp/hm-pcmk-%d-XXXXXX", (int)getpid());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unit_file("fake_stonith_admin", real, sizeof(real));
	ck_assert_ptr_nonnull(realpath(real, abs));
	snprintf(fake, sizeof(fake), "%s/stonith_admin", dir);
	ck_assert_int_eq(symlink(abs, fake), 0);
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

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			 .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm) * 1000;
}

static int parse_str(const char *xml, struct hm_pcmk_event **ev, size_t *n, char *err,
		     size_t errlen)
{
	return hm_pcmk_history_parse(xml, strlen(xml), ev, n, err, errlen);
}

/* ------------------------------------------------------------------ */
/* parsing: invalid first */

#define DOC(events, status) \
	"<pacemaker-result api-version=\"2.25\" request=\"stonith_admin --history\">" \
	"<list name=\"fencing history\">" events "</list>" status "</pacemaker-result>"
#define OK_STATUS "<status code=\"0\" message=\"OK\"/>"

START_TEST(test_parse_invalid)
{
	static const struct {
		const char *xml;
		int rc;
		const char *err;
	} cases[] = {
		{ "Segmentation fault", -EINVAL, "not XML: line 1: " },
		{ "<pacemaker-result><status code=\"0\"/>", -EINVAL, "not XML: line 1: " },
		{ "<resource-agent/>", -EINVAL,
		  "not stonith_admin's XML: the root element is 'resource-agent'" },
		{ DOC("", ""), -EINVAL, "no <status> in stonith_admin's answer" },
		{ DOC("", "<status code=\"74\" message=\"I/O error occurred\"/>"), -EIO,
		  "stonith_admin reports status 74: I/O error occurred" },
		{ "<pacemaker-result><fence_history status=\"102\"/>" OK_STATUS
		  "</pacemaker-result>", -EIO, "the fencer could not give its history (status 102)" },
		{ DOC("<fence_event action=\"off\" status=\"success\" completed=\"2025-11-22 09:00:05Z\"/>",
		      OK_STATUS), -EINVAL, "line 1: a fence_event without a target or an action" },
		{ DOC("<fence_event target=\"n\" status=\"success\" completed=\"2025-11-22 09:00:05Z\"/>",
		      OK_STATUS), -EINVAL, "line 1: a fence_event without a target or an action" },
		{ DOC("<fence_event target=\"n\" action=\"off\" status=\"done\" completed=\"2025-11-22 09:00:05Z\"/>",
		      OK_STATUS), -EINVAL, "line 1: fence_event status 'done' is not success, failed or pending" },
		{ DOC("<fence_event target=\"n\" action=\"off\" status=\"success\"/>", OK_STATUS),
		  -EINVAL, "line 1: fence_event completed '' is not a time" },
		{ DOC("<fence_event target=\"n\" action=\"off\" status=\"success\" completed=\"yesterday\"/>",
		      OK_STATUS), -EINVAL, "line 1: fence_event completed 'yesterday' is not a time" },
		{ DOC("<fence_event target=\"n\" action=\"off\" status=\"success\" completed=\"2025-11-22 09:00:05\"/>",
		      OK_STATUS), -EINVAL, "line 1: fence_event completed '2025-" },
		{ DOC("<fence_event target=\"n\" action=\"off\" status=\"success\" completed=\"2025-13-22 09:00:05Z\"/>",
		      OK_STATUS), -EINVAL, "line 1: fence_event completed '2025-" },
		{ DOC("<fence_event target=\"n\" action=\"off\" status=\"failed\" completed=\"2025-11-22 09:00:05 +1:00x\"/>",
		      OK_STATUS), -EINVAL, "line 1: fence_event completed '2025-" },
		{ DOC("<fence_event target=\"n\" action=\"a-very-long-action-name\" status=\"success\" "
		      "completed=\"2025-11-22 09:00:05Z\"/>", OK_STATUS), -EINVAL,
		  "line 1: a fence_event attribute is too long" },
	};
	struct hm_pcmk_event *ev = (struct hm_pcmk_event *)&cases;
	char err[256];
	size_t n = 77, i;

	ck_assert_int_eq(hm_pcmk_history_parse(NULL, 5, &ev, &n, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no history document");
	ck_assert_int_eq(hm_pcmk_history_parse("x", 0, &ev, &n, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_pcmk_history_parse("x", 1, NULL, &n, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_pcmk_history_parse("x", 1, &ev, NULL, err, sizeof(err)), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_msg(parse_str(cases[i].xml, &ev, &n, err, sizeof(err)) == cases[i].rc,
			      "case %zu: %s", i, err);
		ck_assert_msg(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0,
			      "case %zu: '%s', wanted '%s'", i, err, cases[i].err);
	}
	ck_assert_ptr_eq(ev, (struct hm_pcmk_event *)&cases);
	ck_assert_uint_eq(n, 77);
	ck_assert_int_eq(parse_str("<x", &ev, &n, NULL, 0), -EINVAL);
}
END_TEST

/* what pacemaker 2.1.5's standalone fencer really answers (no history) */
START_TEST(test_parse_empty)
{
	struct hm_pcmk_event *ev = NULL;
	char err[256];
	size_t len, n = 9;
	char *xml = fixture("pcmk-history-empty.xml", &len);

	ck_assert_int_eq(hm_pcmk_history_parse(xml, len, &ev, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(ev);
	ck_assert(!hm_pcmk_history_proof(ev, n, "node2", 0, NULL));
	free(ev);
	free(xml);
}
END_TEST

START_TEST(test_parse_events)
{
	struct hm_pcmk_event *ev = NULL;
	char err[256];
	size_t len, n = 0;
	char *xml = fixture("pcmk-history.xml", &len);

	ck_assert_msg(hm_pcmk_history_parse(xml, len, &ev, &n, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(ev[0].target, "node2");
	ck_assert_str_eq(ev[0].action, "off");
	ck_assert_int_eq(ev[0].state, HM_PCMK_STATE_SUCCESS);
	ck_assert_int_eq(ev[0].completed_ms, utc_ms(2025, 11, 22, 9, 0, 5));
	ck_assert_str_eq(ev[0].delegate, "node3");
	ck_assert_str_eq(ev[0].origin, "node1");
	ck_assert_str_eq(ev[0].client, "pacemaker-controld.1234");
	ck_assert_str_eq(ev[0].reason, "");
	ck_assert_str_eq(ev[1].action, "reboot");
	ck_assert_int_eq(ev[2].state, HM_PCMK_STATE_FAILED);
	ck_assert_str_eq(ev[2].reason, "Fence agent did not complete within 10s");
	/* "10:30:00 +01:00" is 09:30:00 UTC */
	ck_assert_int_eq(ev[3].completed_ms, utc_ms(2025, 11, 22, 9, 30, 0));
	ck_assert_str_eq(ev[3].delegate, "");
	ck_assert_int_eq(ev[4].state, HM_PCMK_STATE_PENDING);
	ck_assert_int_eq(ev[4].completed_ms, 0);
	/* "2025-11-21 23:59:59 -02:30" is 02:29:59 UTC the next day */
	ck_assert_int_eq(ev[5].completed_ms, utc_ms(2025, 11, 22, 2, 29, 59));
	ck_assert_str_eq(hm_pcmk_state_to_str(ev[4].state), "pending");
	ck_assert_str_eq(hm_pcmk_state_to_str((enum hm_pcmk_state)7), "invalid");
	free(ev);
	free(xml);
}
END_TEST

/* reconcile: only a successful off at or after the loss proves it */
START_TEST(test_history_proof)
{
	struct hm_pcmk_event *ev = NULL;
	char err[256];
	size_t len, n = 0;
	char *xml = fixture("pcmk-history.xml", &len);
	int64_t when = 0;

	ck_assert_int_eq(hm_pcmk_history_parse(xml, len, &ev, &n, err, sizeof(err)), 0);
	ck_assert(!hm_pcmk_history_proof(NULL, n, "node2", 0, &when));
	ck_assert(!hm_pcmk_history_proof(ev, n, NULL, 0, &when));
	/* two offs of node2 succeeded (09:00:05, 09:30:00): the latest */
	ck_assert(hm_pcmk_history_proof(ev, n, "node2", 0, &when));
	ck_assert_int_eq(when, utc_ms(2025, 11, 22, 9, 30, 0));
	ck_assert(hm_pcmk_history_proof(ev, n, "node2", utc_ms(2025, 11, 22, 9, 30, 0), &when));
	/* lost after: the reboot at 09:10 and the failed off at 09:20 do not count */
	ck_assert(!hm_pcmk_history_proof(ev, n, "node2", utc_ms(2025, 11, 22, 9, 30, 1), &when));
	ck_assert(hm_pcmk_history_proof(ev, n, "node2", utc_ms(2025, 11, 22, 9, 5, 0), &when));
	ck_assert_int_eq(when, utc_ms(2025, 11, 22, 9, 30, 0));
	ck_assert(!hm_pcmk_history_proof(ev, n, "node4", 0, &when));	/* pending */
	ck_assert(hm_pcmk_history_proof(ev, n, "node5", 0, NULL));
	ck_assert(!hm_pcmk_history_proof(ev, n, "node", 0, &when));	/* names are exact */
	ck_assert(!hm_pcmk_history_proof(ev, n, "NODE2", 0, &when));
	free(ev);
	free(xml);
}
END_TEST

START_TEST(test_host_valid)
{
	static const char *const good[] = { "node2", "n.example.com", "compute-01", "a_b" };
	static const char *const bad[] = { NULL, "", "-node", "node 2", "node;2", "n\n", "*",
					   "a/b", "--fence" };
	char long_name[HM_PCMK_HOST_MAX + 2];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		ck_assert_msg(hm_pcmk_host_valid(good[i]), "%s", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(!hm_pcmk_host_valid(bad[i]), "%s", bad[i] ? bad[i] : "NULL");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert(!hm_pcmk_host_valid(long_name));
	long_name[HM_PCMK_HOST_MAX] = '\0';
	ck_assert(hm_pcmk_host_valid(long_name));
}
END_TEST

/* ------------------------------------------------------------------ */
/* stonith_admin (the fake) through the executor */

struct fence_oc {
	enum hm_pcmk_outcome outcome;
	struct hm_fence_attempt a;
	bool done;
	bool guard_hit;
};

static void on_fence(enum hm_pcmk_outcome outcome, const struct hm_fence_attempt *a, void *data)
{
	struct fence_oc *oc = data;

	oc->outcome = outcome;
	oc->a = *a;
	oc->done = true;
	qb_loop_stop(loop);
}

static void on_guard(void *data)
{
	*(bool *)data = true;
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

static struct hm_pcmk_config config(void)
{
	struct hm_pcmk_config cfg = {
		.stonith_admin = fake, .kill_grace_ms = 200, .deadline_slack_ms = 300 };

	return cfg;
}

static void fence(const char *host, unsigned timeout_s, struct fence_oc *oc)
{
	struct hm_pcmk_config cfg = config();
	struct hm_pcmk_op *op = NULL;

	memset(oc, 0, sizeof(*oc));
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, host, timeout_s, on_fence, oc, &op), 0);
	ck_assert(!oc->done);
	run_loop(&oc->guard_hit);
	ck_assert(oc->done);
}

static void never(enum hm_pcmk_outcome outcome, const struct hm_fence_attempt *a, void *data)
{
	(void)outcome;
	(void)a;
	*(bool *)data = true;
}

START_TEST(test_fence_invalid)
{
	struct hm_pcmk_config cfg = config(), bad;
	struct hm_pcmk_op *sentinel = (struct hm_pcmk_op *)&cfg, *op = sentinel;
	bool called = false;

	ck_assert_int_eq(hm_pcmk_fence_start(NULL, &cfg, 7, "ok", 10, never, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, NULL, 10, never, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "ok", 10, NULL, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "ok", 10, never, &called, NULL), -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "--help", 10, never, &called, &op),
			 -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "a b", 10, never, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "ok", 0, never, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "ok", 3601, never, &called, &op),
			 -EINVAL);
	bad = cfg;
	bad.stonith_admin = "stonith_admin";
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &bad, 7, "ok", 10, never, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_history_start(loop, &cfg, "a;b", 10, NULL, &called, &op), -EINVAL);
	ck_assert_int_eq(hm_pcmk_history_start(loop, &bad, NULL, 10, NULL, &called, &op), -EINVAL);
	ck_assert_ptr_eq(op, sentinel);
	ck_assert(!called);
	hm_pcmk_cancel(NULL);
	ck_assert_str_eq(hm_pcmk_outcome_to_str(HM_PCMK_TIMEOUT), "timeout");
	ck_assert_str_eq(hm_pcmk_outcome_to_str((enum hm_pcmk_outcome)9), "invalid");
}
END_TEST

START_TEST(test_fence_outcomes)
{
	struct fence_oc oc;
	char log[PATH_MAX + 64], *s;

	fence("ok", 30, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_PROVEN_OFF);
	ck_assert(oc.a.proof);
	ck_assert_int_eq(oc.a.exit_status, 0);
	ck_assert_uint_eq(oc.a.host, 7);
	ck_assert_uint_eq(oc.a.device, 0);
	ck_assert_str_eq(oc.a.agent, "stonith_admin");
	ck_assert_str_eq(oc.a.action, "off");
	ck_assert_str_eq(oc.a.reason, "");
	ck_assert_int_le(oc.a.start_ms, oc.a.end_ms);

	/* exactly these arguments, and no environment but PATH */
	snprintf(log, sizeof(log), "%s/argv.log", dir);
	s = slurp(log, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "--fence ok --timeout 30\n"));
	ck_assert_ptr_nonnull(strstr(s, "env: PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	ck_assert_ptr_null(strstr(s, "env: HOME="));
	free(s);

	fence("timeout", 10, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_TIMEOUT);
	ck_assert(!oc.a.proof);
	ck_assert_int_eq(oc.a.exit_status, 124);
	ck_assert_str_eq(oc.a.reason, "stonith_admin: Couldn't fence timeout: Timer expired "
			 "(Fence agent did not complete within 10s)");

	fence("fail", 10, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_FAILED);
	ck_assert_int_eq(oc.a.exit_status, 1);
	ck_assert_str_eq(oc.a.reason, "stonith_admin: Couldn't fence fail: No data available");

	fence("nodev", 10, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_FAILED);
	ck_assert_int_eq(oc.a.exit_status, 105);
	ck_assert_ptr_nonnull(strstr(oc.a.reason, "No device configured for target 'nodev'"));

	/* stonith_admin itself hangs: our deadline (1 s + 0.3 s) */
	fence("hang", 1, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_TIMEOUT);
	ck_assert_str_eq(oc.a.status, "timeout");
	ck_assert_int_eq(oc.a.exit_status, -1);
	ck_assert_int_lt(oc.a.end_ms - oc.a.start_ms, 1300 + 2 * 200 + 1500);
}
END_TEST

START_TEST(test_fence_missing_binary)
{
	struct hm_pcmk_config cfg = config();
	struct hm_pcmk_op *op = NULL;
	struct fence_oc oc;

	memset(&oc, 0, sizeof(oc));
	cfg.stonith_admin = "/nonexistent/stonith_admin";
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "ok", 5, on_fence, &oc, &op), 0);
	run_loop(&oc.guard_hit);
	ck_assert_int_eq(oc.outcome, HM_PCMK_FAILED);
	ck_assert_str_eq(oc.a.status, "error-exec");
	ck_assert_ptr_nonnull(strstr(oc.a.reason, "cannot execute /nonexistent/stonith_admin"));
}
END_TEST

static struct hm_pcmk_op *to_cancel;

static void cancel_now(void *data)
{
	(void)data;
	hm_pcmk_cancel(to_cancel);
	hm_pcmk_cancel(to_cancel);
}

START_TEST(test_fence_cancel)
{
	struct hm_pcmk_config cfg = config();
	qb_loop_timer_handle t;
	struct fence_oc oc;

	memset(&oc, 0, sizeof(oc));
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 7, "hang", 60, on_fence, &oc, &to_cancel),
			 0);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_MED, 200 * QB_TIME_NS_IN_MSEC, NULL,
					   cancel_now, &t), 0);
	run_loop(&oc.guard_hit);
	ck_assert_int_eq(oc.outcome, HM_PCMK_CANCELLED);
	ck_assert(!oc.a.proof);
}
END_TEST

struct hist_oc {
	int rc;
	size_t n;
	struct hm_pcmk_event ev[8];
	char reason[256];
	bool done;
	bool guard_hit;
};

static void on_history(int rc, const struct hm_pcmk_event *ev, size_t n, const char *reason,
		       void *data)
{
	struct hist_oc *oc = data;

	oc->rc = rc;
	oc->n = n;
	ck_assert_uint_le(n, 8);
	if (n > 0)
		memcpy(oc->ev, ev, n * sizeof(*ev));
	snprintf(oc->reason, sizeof(oc->reason), "%s", reason);
	oc->done = true;
	qb_loop_stop(loop);
}

static void history(const char *host, struct hist_oc *oc)
{
	struct hm_pcmk_config cfg = config();
	struct hm_pcmk_op *op = NULL;

	memset(oc, 0, sizeof(*oc));
	ck_assert_int_eq(hm_pcmk_history_start(loop, &cfg, host, 10, on_history, oc, &op), 0);
	run_loop(&oc->guard_hit);
	ck_assert(oc->done);
}

START_TEST(test_history_run)
{
	char log[PATH_MAX + 64], *s;
	struct hist_oc oc;

	history(NULL, &oc);
	ck_assert_msg(oc.rc == 0, "%s", oc.reason);
	ck_assert_uint_eq(oc.n, 6);
	ck_assert_str_eq(oc.ev[5].target, "node5");
	snprintf(log, sizeof(log), "%s/argv.log", dir);
	s = slurp(log, NULL);
	ck_assert_ptr_nonnull(strstr(s, "--history * --verbose --output-as=xml --timeout 10\n"));
	free(s);

	history("empty", &oc);
	ck_assert_int_eq(oc.rc, 0);
	ck_assert_uint_eq(oc.n, 0);

	history("garbage", &oc);
	ck_assert_int_eq(oc.rc, -EINVAL);
	ck_assert_ptr_nonnull(strstr(oc.reason, "not XML"));

	history("error", &oc);
	ck_assert_int_eq(oc.rc, -EIO);

	history("unknown", &oc);	/* the fake exits 64 */
	ck_assert_int_eq(oc.rc, -EIO);
	ck_assert_str_eq(oc.reason, "fake_stonith_admin: nothing to say to: --history unknown "
			 "--verbose --output-as=xml --timeout 10");
}
END_TEST

/* ------------------------------------------------------------------ */
/*
 * Live: the real stonith_admin against Pacemaker's real fencer, which
 * tests/integration/fence-pacemaker.test starts (pacemaker-fenced -s, in
 * its own network and mount namespace) with the fake agent registered as
 * fence_hamonfake for three hosts: node1 (off works), node2 (the agent
 * fails), node3 (the agent takes 4 s); node9 has no device.  Only in the
 * suite when HM_PCMK_LIVE is set.
 */
static void live_fence(const char *host, unsigned timeout_s, struct fence_oc *oc)
{
	struct hm_pcmk_config cfg = { .stonith_admin = NULL, .kill_grace_ms = 500 };
	struct hm_pcmk_op *op = NULL;

	memset(oc, 0, sizeof(*oc));
	ck_assert_int_eq(hm_pcmk_fence_start(loop, &cfg, 1, host, timeout_s, on_fence, oc, &op), 0);
	run_loop(&oc->guard_hit);
	ck_assert(oc->done);
	printf("live: fence %s (--timeout %u): %s, exit %d, %lld ms%s%s\n", host, timeout_s,
	       hm_pcmk_outcome_to_str(oc->outcome), oc->a.exit_status,
	       (long long)(oc->a.end_ms - oc->a.start_ms), oc->a.reason[0] ? ": " : "",
	       oc->a.reason);
}

START_TEST(test_live_fencer)
{
	struct hm_pcmk_config cfg = { .stonith_admin = NULL };
	struct hm_pcmk_op *op = NULL;
	struct hist_oc hoc;
	struct fence_oc oc;

	live_fence("node1", 20, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_PROVEN_OFF);
	ck_assert_int_eq(oc.a.exit_status, 0);
	ck_assert(oc.a.proof);

	live_fence("node2", 20, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_FAILED);
	ck_assert_int_eq(oc.a.exit_status, 1);
	ck_assert_ptr_nonnull(strstr(oc.a.reason, "Couldn't fence node2"));

	live_fence("node3", 2, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_TIMEOUT);
	ck_assert_int_eq(oc.a.exit_status, HM_PCMK_EXIT_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(oc.a.reason, "Timer expired"));

	live_fence("node9", 5, &oc);
	ck_assert_int_eq(oc.outcome, HM_PCMK_FAILED);
	ck_assert_ptr_nonnull(strstr(oc.a.reason, "No such device"));

	/* the fencer's history, as the real stonith_admin prints it */
	memset(&hoc, 0, sizeof(hoc));
	ck_assert_int_eq(hm_pcmk_history_start(loop, &cfg, NULL, 10, on_history, &hoc, &op), 0);
	run_loop(&hoc.guard_hit);
	ck_assert_msg(hoc.rc == 0, "history: %d %s", hoc.rc, hoc.reason);
	printf("live: history of every host: %zu events\n", hoc.n);
	memset(&hoc, 0, sizeof(hoc));
	ck_assert_int_eq(hm_pcmk_history_start(loop, &cfg, "node1", 10, on_history, &hoc, &op), 0);
	run_loop(&hoc.guard_hit);
	ck_assert_msg(hoc.rc == 0, "history: %d %s", hoc.rc, hoc.reason);
	printf("live: history of node1: %zu events\n", hoc.n);
}
END_TEST

static Suite *fence_pcmk_suite(void)
{
	Suite *s = suite_create("fence_pcmk");

	add_tcase(s, test_parse_invalid);
	add_tcase(s, test_parse_empty);
	add_tcase(s, test_parse_events);
	add_tcase(s, test_history_proof);
	add_tcase(s, test_host_valid);
	add_tcase_fixture(s, test_fence_invalid, setup, teardown);
	add_tcase_fixture(s, test_fence_outcomes, setup, teardown);
	add_tcase_fixture(s, test_fence_missing_binary, setup, teardown);
	add_tcase_fixture(s, test_fence_cancel, setup, teardown);
	add_tcase_fixture(s, test_history_run, setup, teardown);
	if (getenv("HM_PCMK_LIVE") != NULL) {
		TCase *tc = tcase_create("test_live_fencer");

		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_live_fencer);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return hm_check_run(fence_pcmk_suite());
}
