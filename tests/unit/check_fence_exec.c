/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence-agent executor against a real qb_loop and a fake agent
 * (tests/unit/fence_fake_agent, chosen by the params it reads on stdin).
 * Invalid input first.  Timing: deadlines of a few hundred ms, assertions on
 * outcomes, generous upper bounds on durations.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "check_common.h"
#include "executor.h"

#define GUARD_MS 20000u		/* a test that reaches this is broken */
#define TEST_TIMEOUT_S 60

#define add_tcase_slow(suite, func, setup, teardown) do {	\
	TCase *tc_ = tcase_create(#func);			\
	tcase_add_checked_fixture(tc_, (setup), (teardown));	\
	tcase_set_timeout(tc_, TEST_TIMEOUT_S);			\
	tcase_add_test(tc_, func);				\
	suite_add_tcase((suite), tc_);				\
} while (0)

/* ------------------------------------------------------------------ */
/* pidfd_open made unavailable on demand, by interposing syscall() */

static bool no_pidfd;
static unsigned pidfd_refused;

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_pidfd_open && no_pidfd) {
		pidfd_refused++;
		errno = ENOSYS;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "syscall");
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ------------------------------------------------------------------ */
/* fixture */

static qb_loop_t *loop;
static char dir[256];	/* /tmp/hm-fence-PID-XXXXXX */
static char agent[PATH_MAX];

static void find_agent(void)
{
	const char *env = getenv("HM_FENCE_FAKE_AGENT");
	const char *srcdir = getenv("srcdir");
	char buf[PATH_MAX];

	if (env != NULL && realpath(env, agent) != NULL)
		return;
	if (srcdir != NULL) {
		snprintf(buf, sizeof(buf), "%s/fence_fake_agent", srcdir);
		if (realpath(buf, agent) != NULL)
			return;
	}
	snprintf(buf, sizeof(buf), "%s", __FILE__);
	if (strrchr(buf, '/') != NULL)
		strcpy(strrchr(buf, '/') + 1, "fence_fake_agent");
	else
		snprintf(buf, sizeof(buf), "fence_fake_agent");
	ck_assert_msg(realpath(buf, agent) != NULL, "fence_fake_agent not found (%s)", buf);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hm-fence-%d-XXXXXX", (int)getpid());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	find_agent();
	loop = qb_loop_create();
	ck_assert_ptr_nonnull(loop);
	no_pidfd = false;
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

struct params {
	char s[16][PATH_MAX + 64];
	const char *p[16];
	size_t n;
};

static void __attribute__((format(printf, 2, 3))) padd(struct params *ps, const char *fmt, ...)
{
	va_list ap;

	ck_assert_uint_lt(ps->n, 16);
	va_start(ap, fmt);
	vsnprintf(ps->s[ps->n], sizeof(ps->s[0]), fmt, ap);
	va_end(ap);
	ps->p[ps->n] = ps->s[ps->n];
	ps->n++;
}

static void path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

struct outcome {
	unsigned calls;
	bool in_start;
	bool called_inside_start;
	struct hm_fence_result res;
	char *out;
	char *err;
	bool guard_hit;
};

static bool in_start;

static void on_done(const struct hm_fence_result *res, void *data)
{
	struct outcome *oc = data;

	oc->calls++;
	oc->called_inside_start = in_start;
	oc->res = *res;
	free(oc->out);
	free(oc->err);
	oc->out = malloc(res->out_len + 1);
	oc->err = malloc(res->err_len + 1);
	ck_assert_ptr_nonnull(oc->out);
	ck_assert_ptr_nonnull(oc->err);
	memcpy(oc->out, res->out, res->out_len + 1);
	memcpy(oc->err, res->err, res->err_len + 1);
	oc->res.out = oc->out;
	oc->res.err = oc->err;
	qb_loop_stop(loop);
}

static void on_guard(void *data)
{
	struct outcome *oc = data;

	oc->guard_hit = true;
	qb_loop_stop(loop);
}

static void outcome_free(struct outcome *oc)
{
	free(oc->out);
	free(oc->err);
	oc->out = oc->err = NULL;
}

static int start(const struct hm_fence_request *req, struct outcome *oc,
		 struct hm_fence_exec **ret)
{
	int rc;

	in_start = true;
	rc = hm_fence_exec_start(loop, req, on_done, oc, ret);
	in_start = false;
	return rc;
}

/* run the loop until done (or the guard) */
static void wait_done(struct outcome *oc)
{
	qb_loop_timer_handle guard;

	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, GUARD_MS * QB_TIME_NS_IN_MSEC, oc,
					   on_guard, &guard), 0);
	qb_loop_run(loop);
	if (qb_loop_timer_is_running(loop, guard))
		qb_loop_timer_del(loop, guard);
	ck_assert_msg(!oc->guard_hit, "the request never completed");
	ck_assert_uint_eq(oc->calls, 1);
	ck_assert_msg(!oc->called_inside_start, "done was called from inside start");
}

static void run(const struct hm_fence_request *req, struct outcome *oc)
{
	struct hm_fence_exec *e = NULL;

	memset(oc, 0, sizeof(*oc));
	ck_assert_int_eq(start(req, oc, &e), 0);
	ck_assert_ptr_nonnull(e);
	wait_done(oc);
}

static struct hm_fence_request request(const char *action, const struct params *ps,
				       uint64_t timeout_ms)
{
	struct hm_fence_request req = {
		.agent_path = agent,
		.action = action,
		.params = ps->p,
		.n_params = ps->n,
		.timeout_ms = timeout_ms,
		.kill_grace_ms = 300,
	};

	return req;
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

static long read_number(const char *path)
{
	char *s = slurp(path);
	long v;

	ck_assert_msg(s != NULL, "%s missing", path);
	v = strtol(s, NULL, 10);
	free(s);
	return v;
}

static unsigned count_prefix(const char *text, const char *prefix)
{
	const char *p = text;
	unsigned n = 0;
	size_t len = strlen(prefix);

	while (p != NULL && *p) {
		if (strncmp(p, prefix, len) == 0)
			n++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

static unsigned fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the one opendir holds */
}

/* members of process group pgrp that are not zombies (in this sandbox
 * orphans are reaped late: a zombie counts as dead) */
static unsigned group_alive(pid_t pgrp)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char p[300], buf[512], state;
		const char *rp;
		int ppid, grp;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		f = fopen(p, "r");
		if (f == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 1, " %c %d %d", &state, &ppid, &grp) == 3 && grp == pgrp &&
		    state != 'Z' && state != 'X')
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* the group's members got SIGKILL before done: give the kernel a moment */
static void assert_group_gone(pid_t pgrp)
{
	int i;

	for (i = 0; i < 150 && group_alive(pgrp) > 0; i++)
		usleep(20000);
	ck_assert_msg(group_alive(pgrp) == 0, "process group %d still has live members",
		      (int)pgrp);
}

static bool proc_dead(pid_t pid)
{
	char p[64], buf[512], state;
	const char *rp;
	bool dead = true;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (f == NULL)
		return true;
	if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL &&
	    sscanf(rp + 1, " %c", &state) == 1)
		dead = state == 'Z' || state == 'X';
	fclose(f);
	return dead;
}

/* ------------------------------------------------------------------ */
/* invalid input */

static void on_never(const struct hm_fence_result *res, void *data)
{
	(void)res;
	*(bool *)data = true;
}

static void stop_loop(void *data)
{
	(void)data;
	qb_loop_stop(loop);
}

START_TEST(test_invalid_requests)
{
	struct params ok = { .n = 0 };
	char record[PATH_MAX], big[HM_FENCE_STDIN_MAX + 16];
	struct hm_fence_exec *sentinel = (struct hm_fence_exec *)&ok, *e;
	bool called = false;
	qb_loop_timer_handle t;
	size_t i;
	const char *nul_params[] = { "ip=1.2.3.4", NULL };

	path_in_dir(record, sizeof(record), "record");
	padd(&ok, "mode=pass");
	padd(&ok, "record=%s", record);

	struct hm_fence_request base = request("off", &ok, 1000);
	struct {
		const char *what;
		struct hm_fence_request req;
		const char *param;	/* replaces the last param if set */
		int err;
	} cases[] = {
		{ "no agent", base, NULL, -EINVAL },
		{ "empty agent", base, NULL, -EINVAL },
		{ "relative agent", base, NULL, -EINVAL },
		{ "no action", base, NULL, -EINVAL },
		{ "empty action", base, NULL, -EINVAL },
		{ "unknown action", base, NULL, -EINVAL },
		{ "upper-case action", base, NULL, -EINVAL },
		{ "action with a newline", base, NULL, -EINVAL },
		{ "param without =", base, "nokey", -EINVAL },
		{ "param with an empty key", base, "=value", -EINVAL },
		{ "param with a newline", base, "password=a\nb", -EINVAL },
		{ "param that injects a line", base, "ip=1\naction=reboot", -EINVAL },
		{ "param with a CR", base, "password=a\rb", -EINVAL },
		{ "comment param", base, "#ip=1", -EINVAL },
		{ "action as a param", base, "action=reboot", -EINVAL },
		{ "option as a param", base, "Option=reboot", -EINVAL },
		{ "key with a blank", base, "ip addr=1", -EINVAL },
		{ "timeout 0", base, NULL, -EINVAL },
		{ "timeout too long", base, NULL, -EINVAL },
		{ "retry delay too long", base, NULL, -EINVAL },
		{ "stdin too big", base, big, -E2BIG },
		{ "NULL param", base, NULL, -EINVAL },
		{ "params NULL, n_params 1", base, NULL, -EINVAL },
	};

	memset(big, 'x', sizeof(big) - 1);
	big[0] = 'k';
	big[1] = '=';
	big[sizeof(big) - 1] = '\0';
	cases[0].req.agent_path = NULL;
	cases[1].req.agent_path = "";
	cases[2].req.agent_path = "tests/unit/fence_fake_agent";
	cases[3].req.action = NULL;
	cases[4].req.action = "";
	cases[5].req.action = "destroy";
	cases[6].req.action = "OFF";
	cases[7].req.action = "off\n";
	cases[17].req.timeout_ms = 0;
	cases[18].req.timeout_ms = HM_FENCE_MS_MAX + 1;
	cases[19].req.retry_delay_ms = HM_FENCE_MS_MAX + 1;
	cases[21].req.params = nul_params;
	cases[21].req.n_params = 2;
	cases[22].req.params = NULL;
	cases[22].req.n_params = 1;

	ck_assert_int_eq(hm_fence_request_validate(NULL), -EINVAL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct params ps = ok;
		struct hm_fence_request req = cases[i].req;

		ps.p[0] = ps.s[0];
		ps.p[1] = cases[i].param != NULL ? cases[i].param : ps.s[1];
		if (req.params == ok.p)
			req.params = ps.p;
		ck_assert_msg(hm_fence_request_validate(&req) == cases[i].err,
			      "validate: %s", cases[i].what);
		e = sentinel;
		ck_assert_msg(hm_fence_exec_start(loop, &req, on_never, &called, &e) ==
			      cases[i].err, "start: %s", cases[i].what);
		ck_assert_msg(e == sentinel, "start touched *ret: %s", cases[i].what);
	}
	/* the API's own arguments */
	e = sentinel;
	ck_assert_int_eq(hm_fence_exec_start(NULL, &base, on_never, &called, &e), -EINVAL);
	ck_assert_int_eq(hm_fence_exec_start(loop, &base, NULL, &called, &e), -EINVAL);
	ck_assert_int_eq(hm_fence_exec_start(loop, &base, on_never, &called, NULL), -EINVAL);
	ck_assert_int_eq(hm_fence_exec_start(loop, NULL, on_never, &called, &e), -EINVAL);
	ck_assert_ptr_eq(e, sentinel);

	/* nothing ran, nothing will be called */
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, 300 * QB_TIME_NS_IN_MSEC, NULL,
					   stop_loop, &t), 0);
	qb_loop_run(loop);
	ck_assert(!called);
	ck_assert_int_eq(access(record, F_OK), -1);
	hm_fence_exec_cancel(NULL);
}
END_TEST

START_TEST(test_arithmetic)
{
	ck_assert_uint_eq(hm_fence_deadline(1000, 500), 1500);
	ck_assert_uint_eq(hm_fence_time_left(1200, 1500), 300);
	ck_assert_uint_eq(hm_fence_time_left(1500, 1500), 0);
	ck_assert_uint_eq(hm_fence_time_left(1600, 1500), 0);
	ck_assert_uint_eq(hm_fence_attempt_budget(300, 0), 300);
	ck_assert_uint_eq(hm_fence_attempt_budget(300, 100), 100);
	ck_assert_uint_eq(hm_fence_attempt_budget(300, 500), 300);
	ck_assert_uint_eq(hm_fence_retry_expected(200, 5), 200);
	ck_assert_uint_eq(hm_fence_retry_expected(0, 250), 250);
	ck_assert_uint_eq(hm_fence_retry_expected(0, 0), 1);
	ck_assert(hm_fence_retry_fits(1000, 100, 900));
	ck_assert(!hm_fence_retry_fits(1000, 100, 901));
	ck_assert(!hm_fence_retry_fits(100, 100, 1));
	ck_assert(!hm_fence_retry_fits(0, 0, 1));
	ck_assert(hm_fence_retry_counted(1, 1));
	ck_assert(!hm_fence_retry_counted(2, 1));
	ck_assert(!hm_fence_retry_counted(1, 0));
	ck_assert_uint_eq(hm_fence_kill_grace(0), HM_FENCE_KILL_GRACE_MS_DEFAULT);
	ck_assert_uint_eq(hm_fence_kill_grace(7), 7);
}
END_TEST

START_TEST(test_proof_table)
{
	static const char *const actions[] = {
		"off", "on", "reboot", "status", "monitor", "list", "metadata", "validate-all",
	};
	static const int exits[] = { -1, 0, 1, 2, 3 };
	size_t a, x;
	int s;

	for (a = 0; a < sizeof(actions) / sizeof(actions[0]); a++)
		for (x = 0; x < sizeof(exits) / sizeof(exits[0]); x++)
			for (s = HM_FENCE_EXEC_DONE; s <= HM_FENCE_EXEC_ERROR_INTERNAL; s++) {
				bool want = s == HM_FENCE_EXEC_DONE &&
					    ((strcmp(actions[a], "off") == 0 && exits[x] == 0) ||
					     (strcmp(actions[a], "status") == 0 && exits[x] == 2));

				ck_assert_msg(hm_fence_is_proof_of_off(actions[a], s, exits[x]) == want,
					      "%s %d %d", actions[a], s, exits[x]);
			}
	ck_assert(!hm_fence_is_proof_of_off(NULL, HM_FENCE_EXEC_DONE, 0));
	for (s = HM_FENCE_EXEC_DONE; s <= HM_FENCE_EXEC_ERROR_INTERNAL; s++)
		ck_assert_str_ne(hm_fence_exec_status_to_str(s), "unknown");
	ck_assert_str_eq(hm_fence_exec_status_to_str((enum hm_fence_exec_status)99), "unknown");
}
END_TEST

/* ------------------------------------------------------------------ */
/* agents that cannot run */

START_TEST(test_missing_binary)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req = request("off", &ps, 5000);
	struct outcome oc;

	req.agent_path = "/nonexistent/fence_nothing";
	req.retries = 3;	/* an agent that is not there is not retried */
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_ERROR_EXEC);
	ck_assert_int_eq(oc.res.exit_status, -1);
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "No such file"));
	ck_assert_uint_lt(oc.res.duration_ms, 2000);
	outcome_free(&oc);
}
END_TEST

START_TEST(test_not_executable)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req = request("off", &ps, 5000);
	char copy[PATH_MAX], *text = slurp(agent);
	struct outcome oc;
	FILE *f;

	path_in_dir(copy, sizeof(copy), "fence_noexec");
	ck_assert_ptr_nonnull(text);
	f = fopen(copy, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(text);
	ck_assert_int_eq(chmod(copy, 0644), 0);
	req.agent_path = copy;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_ERROR_EXEC);
	ck_assert_int_eq(oc.res.exit_status, -1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "Permission denied"));
	outcome_free(&oc);

	/* a directory is not an agent either */
	req.agent_path = dir;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_ERROR_EXEC);
	outcome_free(&oc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the protocol, and what counts as proof */

START_TEST(test_pass_off_is_proof)
{
	struct params ps = { .n = 0 };
	char record[PATH_MAX], marker[PATH_MAX], secret[64], line[PATH_MAX + 16], *rec;
	struct hm_fence_request req;
	struct outcome oc;
	unsigned fds_before;
	int marker_fd;
	long pid;

	/* a secret of ours in the environment, and a descriptor without
	 * O_CLOEXEC: neither may reach the agent */
	snprintf(secret, sizeof(secret), "s3cret-%d", (int)getpid());
	setenv("HM_TEST_SECRET", secret, 1);
	path_in_dir(marker, sizeof(marker), "leaked-fd-marker");
	marker_fd = open(marker, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(marker_fd, 0);
	fds_before = fd_count();

	path_in_dir(record, sizeof(record), "record");
	padd(&ps, "mode=pass");
	padd(&ps, "ip=127.0.0.1");
	padd(&ps, "username=admin");
	padd(&ps, "password=%s", secret);
	padd(&ps, "record=%s", record);
	req = request("off", &ps, 5000);
	run(&req, &oc);

	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 0);
	ck_assert(oc.res.proof_of_off);
	ck_assert_str_eq(oc.res.reason, "");
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_str_eq(oc.res.out, "Success: Powered OFF\n");
	ck_assert_uint_eq(oc.res.out_len, strlen("Success: Powered OFF\n"));
	ck_assert_uint_eq(fd_count(), fds_before);
	outcome_free(&oc);

	rec = slurp(record);
	ck_assert_ptr_nonnull(rec);
	/* the secret came on stdin, the action last */
	snprintf(line, sizeof(line), "stdin: password=%s\n", secret);
	ck_assert_ptr_nonnull(strstr(rec, line));
	ck_assert_ptr_nonnull(strstr(rec, "stdin: username=admin\nstdin: password="));
	ck_assert_ptr_nonnull(strstr(rec, "stdin: action=off\nargv: "));
	ck_assert_uint_eq(count_prefix(rec, "stdin: action="), 1);
	/* no argument: only the interpreter and the script (the kernel's
	 * rewrite of "#!/bin/sh"), nothing secret */
	ck_assert_uint_eq(count_prefix(rec, "argv: "), 2);
	ck_assert_ptr_nonnull(strstr(rec, "argv: /bin/sh\n"));
	snprintf(line, sizeof(line), "argv: %s\n", agent);
	ck_assert_ptr_nonnull(strstr(rec, line));
	/* the environment is PATH and nothing else */
	ck_assert_uint_eq(count_prefix(rec, "env: "), 1);
	ck_assert_ptr_nonnull(strstr(rec, "env: " HM_FENCE_AGENT_PATH_ENV "\n"));
	/* the secret appears once: on the stdin line */
	ck_assert_ptr_eq(strstr(strstr(rec, secret) + 1, secret), NULL);
	/* its own session and process group, cwd /, no fd of ours */
	pid = strtol(strstr(rec, "pid: ") + 5, NULL, 10);
	ck_assert_int_eq(strtol(strstr(rec, "pgrp: ") + 6, NULL, 10), pid);
	ck_assert_int_eq(strtol(strstr(rec, "session: ") + 9, NULL, 10), pid);
	ck_assert_ptr_nonnull(strstr(rec, "cwd: /\n"));
	ck_assert_ptr_null(strstr(rec, marker));
	ck_assert_ptr_nonnull(strstr(rec, "fd: 0 pipe:"));
	free(rec);
	close(marker_fd);
	unsetenv("HM_TEST_SECRET");
}
END_TEST

START_TEST(test_status_off_is_proof)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;

	padd(&ps, "mode=pass");
	padd(&ps, "rc=2");
	req = request("status", &ps, 5000);
	req.retries = 2;	/* 2 is an answer, not a failure: no retry */
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 2);
	ck_assert(oc.res.proof_of_off);
	ck_assert_str_eq(oc.res.reason, "");
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_str_eq(oc.res.out, "Status: OFF\n");
	outcome_free(&oc);

	/* status ON is not proof */
	ps.n = 0;
	padd(&ps, "mode=pass");
	req = request("status", &ps, 5000);
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 0);
	ck_assert(!oc.res.proof_of_off);
	outcome_free(&oc);
}
END_TEST

START_TEST(test_reboot_is_not_proof)
{
	static const char *const actions[] = { "reboot", "on", "monitor", "list" };
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;
	size_t i;

	padd(&ps, "mode=pass");
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		req = request(actions[i], &ps, 5000);
		run(&req, &oc);
		ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
		ck_assert_int_eq(oc.res.exit_status, 0);
		ck_assert_msg(!oc.res.proof_of_off, "%s exit 0 taken as proof", actions[i]);
		outcome_free(&oc);
	}
	/* an off that fails is not proof either (below), nor is status 0 */
}
END_TEST

START_TEST(test_fail_reason)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;

	padd(&ps, "mode=fail");
	req = request("off", &ps, 5000);
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_str_eq(oc.res.reason,
			 "Failed: Unable to obtain correct plug status or plug is not available");
	ck_assert_ptr_nonnull(strstr(oc.res.err, "DeprecationWarning"));
	ck_assert_ptr_nonnull(strstr(oc.res.err, "trailing noise on stderr\n"));
	outcome_free(&oc);
}
END_TEST

START_TEST(test_signal)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;

	padd(&ps, "mode=signal");
	req = request("off", &ps, 5000);
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_ERROR_SIGNAL);
	ck_assert_int_eq(oc.res.term_signal, SIGSEGV);
	ck_assert_int_eq(oc.res.exit_status, -1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "signal 11"));
	outcome_free(&oc);
}
END_TEST

START_TEST(test_garbage)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;
	const char *marker = "[hamon: 134464 bytes truncated]\n";

	padd(&ps, "mode=garbage");
	req = request("off", &ps, 10000);
	run(&req, &oc);
	/* junk is no error: the exit status decides */
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 0);
	ck_assert(oc.res.proof_of_off);
	ck_assert_str_eq(oc.res.reason, "");
	/* 200000 bytes: the last 64 KiB are kept, behind a marker */
	ck_assert_uint_eq(oc.res.out_len, strlen(marker) + HM_FENCE_CAPTURE_MAX);
	ck_assert_int_eq(strncmp(oc.res.out, marker, strlen(marker)), 0);
	ck_assert_uint_eq(oc.res.err_len, 3000);
	outcome_free(&oc);

	/* and junk with a failure code is a failure */
	padd(&ps, "rc=1");
	req = request("off", &ps, 10000);
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_ptr_nonnull(oc.res.reason);
	ck_assert_uint_gt(strlen(oc.res.reason), 0);
	outcome_free(&oc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* deadlines */

START_TEST(test_hang_timeout_kills_group)
{
	struct params ps = { .n = 0 };
	char pidf[PATH_MAX], childf[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;
	long pid, child;

	path_in_dir(pidf, sizeof(pidf), "pid");
	path_in_dir(childf, sizeof(childf), "child");
	padd(&ps, "mode=spawn-child-and-hang");
	padd(&ps, "pid_file=%s", pidf);
	padd(&ps, "child_pid_file=%s", childf);
	req = request("off", &ps, 300);
	req.retries = 3;	/* no time left for any */
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_TIMEOUT);
	ck_assert_int_eq(oc.res.exit_status, -1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_uint_ge(oc.res.duration_ms, 300);
	ck_assert_uint_lt(oc.res.duration_ms, 300 + 300 + 1500);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "timed out"));
	pid = read_number(pidf);
	child = read_number(childf);
	ck_assert_int_ne(pid, child);
	assert_group_gone((pid_t)pid);
	ck_assert(proc_dead((pid_t)child));
	outcome_free(&oc);
}
END_TEST

START_TEST(test_hang_ignoring_term_needs_kill)
{
	struct params ps = { .n = 0 };
	char pidf[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;

	path_in_dir(pidf, sizeof(pidf), "pid");
	padd(&ps, "mode=hang-ignore-term");
	padd(&ps, "pid_file=%s", pidf);
	req = request("off", &ps, 300);
	req.kill_grace_ms = 300;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_TIMEOUT);
	ck_assert_int_eq(oc.res.exit_status, -1);
	/* SIGTERM was ignored: only the SIGKILL a grace later ended it */
	ck_assert_uint_ge(oc.res.duration_ms, 300 + 300 - 5);
	ck_assert_uint_lt(oc.res.duration_ms, 300 + 300 + 2000);
	assert_group_gone((pid_t)read_number(pidf));
	outcome_free(&oc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* retries */

START_TEST(test_retry_fail_twice_then_pass)
{
	struct params ps = { .n = 0 };
	char counter[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;

	path_in_dir(counter, sizeof(counter), "counter");
	padd(&ps, "mode=flaky");
	padd(&ps, "fail_times=2");
	padd(&ps, "counter=%s", counter);
	req = request("off", &ps, 10000);
	req.retries = 3;
	req.retry_delay_ms = 50;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 0);
	ck_assert(oc.res.proof_of_off);
	ck_assert_uint_eq(oc.res.attempts, 3);
	ck_assert_int_eq(read_number(counter), 3);
	ck_assert_str_eq(oc.res.reason, "");
	/* the result is the last attempt's */
	ck_assert_str_eq(oc.res.err, "");
	outcome_free(&oc);
}
END_TEST

START_TEST(test_retry_bounded_by_count)
{
	struct params ps = { .n = 0 };
	char counter[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;

	path_in_dir(counter, sizeof(counter), "counter");
	padd(&ps, "mode=flaky");
	padd(&ps, "fail_times=5");
	padd(&ps, "counter=%s", counter);
	req = request("off", &ps, 10000);
	req.retries = 2;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_uint_eq(oc.res.attempts, 3);
	ck_assert_int_eq(read_number(counter), 3);
	ck_assert_str_eq(oc.res.reason,
			 "Failed: Unable to obtain correct plug status or plug is not available");
	outcome_free(&oc);
}
END_TEST

START_TEST(test_retry_bounded_by_deadline)
{
	struct params ps = { .n = 0 };
	char counter[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;

	/* each attempt fails after ~300 ms; with 1150 ms in all, a retry is
	 * started only while as long as the last attempt remains: 2 or 3
	 * attempts, never a 4th, and never one cut by the deadline */
	path_in_dir(counter, sizeof(counter), "counter");
	padd(&ps, "mode=flaky");
	padd(&ps, "fail_times=100");
	padd(&ps, "delay=0.3");
	padd(&ps, "counter=%s", counter);
	req = request("off", &ps, 1150);
	req.retries = 10;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 1);
	ck_assert_uint_ge(oc.res.attempts, 2);
	ck_assert_uint_le(oc.res.attempts, 3);
	ck_assert_int_eq(read_number(counter), (long)oc.res.attempts);
	ck_assert_uint_lt(oc.res.duration_ms, 1150);
	outcome_free(&oc);
}
END_TEST

START_TEST(test_retry_after_attempt_timeout)
{
	struct params ps = { .n = 0 };
	char counter[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;

	/* attempts of 200 ms inside 1000 ms: each hangs and is killed, a new
	 * one starts only while a full 200 ms remain */
	path_in_dir(counter, sizeof(counter), "counter");
	padd(&ps, "mode=flaky");
	padd(&ps, "fail_times=0");
	padd(&ps, "delay=100");
	padd(&ps, "counter=%s", counter);
	req = request("off", &ps, 1000);
	req.attempt_timeout_ms = 200;
	req.kill_grace_ms = 200;
	req.retries = 10;
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_TIMEOUT);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_uint_ge(oc.res.attempts, 2);
	ck_assert_uint_le(oc.res.attempts, 5);
	ck_assert_int_eq(read_number(counter), (long)oc.res.attempts);
	ck_assert_uint_lt(oc.res.duration_ms, 1000 + 200 + 1500);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "timed out"));
	outcome_free(&oc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* cancel */

static struct hm_fence_exec *to_cancel;

static void cancel_now(void *data)
{
	(void)data;
	hm_fence_exec_cancel(to_cancel);
	hm_fence_exec_cancel(to_cancel);	/* a second time: no-op */
}

START_TEST(test_cancel_running)
{
	struct params ps = { .n = 0 };
	char pidf[PATH_MAX], childf[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;
	qb_loop_timer_handle t;

	memset(&oc, 0, sizeof(oc));
	path_in_dir(pidf, sizeof(pidf), "pid");
	path_in_dir(childf, sizeof(childf), "child");
	padd(&ps, "mode=spawn-child-and-hang");
	padd(&ps, "pid_file=%s", pidf);
	padd(&ps, "child_pid_file=%s", childf);
	req = request("off", &ps, 10000);
	req.retries = 5;
	ck_assert_int_eq(start(&req, &oc, &to_cancel), 0);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_MED, 300 * QB_TIME_NS_IN_MSEC, NULL,
					   cancel_now, &t), 0);
	wait_done(&oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_CANCELLED);
	ck_assert_int_eq(oc.res.exit_status, -1);
	ck_assert(!oc.res.proof_of_off);
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_uint_lt(oc.res.duration_ms, 5000);
	ck_assert_str_eq(oc.res.reason, "cancelled");
	assert_group_gone((pid_t)read_number(pidf));
	ck_assert(proc_dead((pid_t)read_number(childf)));
	outcome_free(&oc);
}
END_TEST

START_TEST(test_cancel_between_attempts)
{
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;
	qb_loop_timer_handle t;

	memset(&oc, 0, sizeof(oc));
	padd(&ps, "mode=fail");
	req = request("off", &ps, 20000);
	req.retries = 3;
	req.retry_delay_ms = 5000;
	ck_assert_int_eq(start(&req, &oc, &to_cancel), 0);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_MED, 500 * QB_TIME_NS_IN_MSEC, NULL,
					   cancel_now, &t), 0);
	wait_done(&oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_CANCELLED);
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_uint_lt(oc.res.duration_ms, 4000);
	outcome_free(&oc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* without pidfd, and resources */

START_TEST(test_without_pidfd)
{
	struct params ps = { .n = 0 };
	char pidf[PATH_MAX];
	struct hm_fence_request req;
	struct outcome oc;

	no_pidfd = true;
	padd(&ps, "mode=pass");
	req = request("off", &ps, 5000);
	run(&req, &oc);
	ck_assert_uint_gt(pidfd_refused, 0);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert(oc.res.proof_of_off);
	outcome_free(&oc);

	ps.n = 0;
	path_in_dir(pidf, sizeof(pidf), "pid");
	padd(&ps, "mode=hang");
	padd(&ps, "pid_file=%s", pidf);
	req = request("off", &ps, 300);
	run(&req, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_TIMEOUT);
	assert_group_gone((pid_t)read_number(pidf));
	outcome_free(&oc);
}
END_TEST

START_TEST(test_no_fd_leak)
{
	static const char *const modes[] = { "mode=pass", "mode=fail", "mode=hang", "mode=garbage" };
	struct params ps = { .n = 0 };
	struct hm_fence_request req;
	struct outcome oc;
	unsigned before = fd_count();
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ps.n = 0;
		padd(&ps, "%s", modes[i]);
		req = request("off", &ps, 300);
		req.retries = 1;
		run(&req, &oc);
		outcome_free(&oc);
		ck_assert_msg(fd_count() == before, "%s leaked %u fds", modes[i],
			      fd_count() - before);
	}
	req.agent_path = "/nonexistent/fence_nothing";
	run(&req, &oc);
	outcome_free(&oc);
	ck_assert_uint_eq(fd_count(), before);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a command with arguments (the Pacemaker backend's stonith_admin) */

START_TEST(test_command_invalid)
{
	const char *relative[] = { "bin/sh", NULL };
	const char *newline[] = { "/bin/sh", "-c", "echo\nreboot", NULL };
	const char *empty[] = { NULL };
	const char *ok[] = { "/bin/true", NULL };
	const char *many[HM_FENCE_ARGV_MAX + 2];
	char long_arg[HM_FENCE_ARG_MAX + 2];
	struct hm_fence_command cmd = { .argv = ok, .timeout_ms = 1000 };
	struct hm_fence_exec *sentinel = (struct hm_fence_exec *)&cmd, *e = sentinel;
	bool called = false;
	qb_loop_timer_handle t;
	size_t i;

	ck_assert_int_eq(hm_fence_command_validate(NULL), -EINVAL);
	ck_assert_int_eq(hm_fence_command_validate(&cmd), 0);
	cmd.argv = NULL;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	cmd.argv = empty;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	cmd.argv = relative;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	cmd.argv = newline;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	memset(long_arg, 'a', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = '\0';
	many[0] = "/bin/true";
	many[1] = long_arg;
	many[2] = NULL;
	cmd.argv = many;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	long_arg[HM_FENCE_ARG_MAX] = '\0';
	ck_assert_int_eq(hm_fence_command_validate(&cmd), 0);
	for (i = 1; i <= HM_FENCE_ARGV_MAX; i++)
		many[i] = "x";
	many[HM_FENCE_ARGV_MAX] = NULL;		/* exactly the most */
	ck_assert_int_eq(hm_fence_command_validate(&cmd), 0);
	many[HM_FENCE_ARGV_MAX] = "x";
	many[HM_FENCE_ARGV_MAX + 1] = NULL;	/* one too many */
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	cmd.argv = ok;
	cmd.timeout_ms = 0;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	cmd.timeout_ms = HM_FENCE_MS_MAX + 1;
	ck_assert_int_eq(hm_fence_command_validate(&cmd), -EINVAL);
	cmd.timeout_ms = 1000;
	cmd.kill_grace_ms = HM_FENCE_MS_MAX + 1;
	ck_assert_int_eq(hm_fence_command_start(loop, &cmd, on_never, &called, &e), -EINVAL);
	cmd.kill_grace_ms = 0;
	ck_assert_int_eq(hm_fence_command_start(NULL, &cmd, on_never, &called, &e), -EINVAL);
	ck_assert_int_eq(hm_fence_command_start(loop, &cmd, NULL, &called, &e), -EINVAL);
	ck_assert_int_eq(hm_fence_command_start(loop, &cmd, on_never, &called, NULL), -EINVAL);
	ck_assert_ptr_eq(e, sentinel);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, 200 * QB_TIME_NS_IN_MSEC, NULL,
					   stop_loop, &t), 0);
	qb_loop_run(loop);
	ck_assert(!called);
}
END_TEST

static void run_command(const char *const *argv, uint64_t timeout_ms, struct outcome *oc)
{
	struct hm_fence_command cmd = { .argv = argv, .timeout_ms = timeout_ms,
					 .kill_grace_ms = 200 };
	struct hm_fence_exec *e = NULL;

	memset(oc, 0, sizeof(*oc));
	in_start = true;
	ck_assert_int_eq(hm_fence_command_start(loop, &cmd, on_done, oc, &e), 0);
	in_start = false;
	ck_assert_ptr_nonnull(e);
	wait_done(oc);
}

START_TEST(test_command_runs)
{
	const char *args[] = { "/bin/sh", "-c",
			       "printf 'arg:%s\\n' \"$@\"; env | sed 's/^/env:/'; "
			       "cat | sed 's/^/stdin:/'; echo bye >&2; exit 124",
			       "sh", "--fence", "node 2", NULL };
	const char *hang[] = { "/bin/sleep", "100", NULL };
	const char *missing[] = { "/nonexistent/stonith_admin", "--fence", "n", NULL };
	struct outcome oc;

	setenv("HM_EXEC_TEST_LEAK", "1", 1);
	run_command(args, 5000, &oc);
	unsetenv("HM_EXEC_TEST_LEAK");
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_DONE);
	ck_assert_int_eq(oc.res.exit_status, 124);
	ck_assert(!oc.res.proof_of_off);	/* a command is never proof */
	ck_assert_uint_eq(oc.res.attempts, 1);
	ck_assert_ptr_nonnull(strstr(oc.res.out, "arg:--fence\narg:node 2\n"));
	ck_assert_ptr_nonnull(strstr(oc.res.out, "env:PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	ck_assert_ptr_null(strstr(oc.res.out, "HM_EXEC_TEST_LEAK"));
	ck_assert_ptr_null(strstr(oc.res.out, "stdin:"));	/* stdin: empty */
	ck_assert_str_eq(oc.res.err, "bye\n");
	ck_assert_str_eq(oc.res.reason, "agent exited with status 124");
	outcome_free(&oc);

	run_command(hang, 300, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_TIMEOUT);
	ck_assert_int_eq(oc.res.exit_status, -1);
	ck_assert_uint_lt(oc.res.duration_ms, 300 + 2 * 200 + 1500);
	outcome_free(&oc);

	run_command(missing, 1000, &oc);
	ck_assert_int_eq(oc.res.status, HM_FENCE_EXEC_ERROR_EXEC);
	ck_assert_ptr_nonnull(strstr(oc.res.reason, "cannot execute /nonexistent/stonith_admin"));
	outcome_free(&oc);
}
END_TEST

static Suite *fence_exec_suite(void)
{
	Suite *s = suite_create("fence_exec");

	/* invalid input first */
	add_tcase_slow(s, test_invalid_requests, setup, teardown);
	add_tcase(s, test_arithmetic);
	add_tcase(s, test_proof_table);
	add_tcase_slow(s, test_missing_binary, setup, teardown);
	add_tcase_slow(s, test_not_executable, setup, teardown);
	add_tcase_slow(s, test_pass_off_is_proof, setup, teardown);
	add_tcase_slow(s, test_status_off_is_proof, setup, teardown);
	add_tcase_slow(s, test_reboot_is_not_proof, setup, teardown);
	add_tcase_slow(s, test_fail_reason, setup, teardown);
	add_tcase_slow(s, test_signal, setup, teardown);
	add_tcase_slow(s, test_garbage, setup, teardown);
	add_tcase_slow(s, test_hang_timeout_kills_group, setup, teardown);
	add_tcase_slow(s, test_hang_ignoring_term_needs_kill, setup, teardown);
	add_tcase_slow(s, test_retry_fail_twice_then_pass, setup, teardown);
	add_tcase_slow(s, test_retry_bounded_by_count, setup, teardown);
	add_tcase_slow(s, test_retry_bounded_by_deadline, setup, teardown);
	add_tcase_slow(s, test_retry_after_attempt_timeout, setup, teardown);
	add_tcase_slow(s, test_cancel_running, setup, teardown);
	add_tcase_slow(s, test_cancel_between_attempts, setup, teardown);
	add_tcase_slow(s, test_without_pidfd, setup, teardown);
	add_tcase_slow(s, test_no_fd_leak, setup, teardown);
	add_tcase_slow(s, test_command_invalid, setup, teardown);
	add_tcase_slow(s, test_command_runs, setup, teardown);
	return s;
}

int main(void)
{
	return hm_check_run(fence_exec_suite());
}
