/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence-agent executor (see executor.h and doc/fencing.md).
 *
 * One request is a small state machine driven by the caller's qb_loop:
 *
 *   RUNNING --attempt deadline--> TERM --grace--> KILL --grace--> ORPHAN
 *      |                           |               |        (done delivered,
 *      |                           |               |         reaped later)
 *      +------ agent exits --------+---------------+
 *                     |
 *          retry allowed and fits? --yes--> DELAY --timer--> RUNNING
 *                     | no
 *                   done()
 *
 * cancel: RUNNING/TERM --> KILL (SIGKILL now); DELAY --> done(CANCELLED)
 * on the next loop cycle.  A spawn that fails reports ERROR_EXEC through a
 * loop job (PENDING), never from inside hm_fence_exec_start().
 *
 * Child exit is watched through a pidfd (Linux >= 5.3) polled on the loop,
 * so no SIGCHLD handler exists and nothing global is touched; if pidfd_open
 * is unavailable (old kernel, seccomp) the child is polled with
 * waitid(WNOHANG) every REAP_POLL_MS.  Exit is peeked with WNOWAIT first, so
 * the process group is killed (stragglers) while its leader is still an
 * unreaped zombie and its id cannot have been reused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qb/qblog.h>
#include <qb/qbutil.h>

#include "executor.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define REAP_POLL_MS 20u	/* child polling without a pidfd */
#define READ_CHUNK 16384u
#define READS_PER_DISPATCH 4	/* fairness: 64 KiB per wakeup at most */
#define DRAIN_READS_MAX 64	/* after the exit: what is left in the pipe */

#define dbg(fmt, ...) qb_log(LOG_DEBUG, "fence-exec: " fmt, ##__VA_ARGS__)

enum exec_state {
	ST_RUNNING,	/* agent running, attempt deadline armed */
	ST_TERM,	/* SIGTERM sent to the group, grace armed */
	ST_KILL,	/* SIGKILL sent to the group, grace armed */
	ST_DELAY,	/* between two attempts, retry timer armed */
	ST_PENDING,	/* outcome known, done() queued as a loop job */
	ST_ORPHAN,	/* done() delivered; the agent outlived SIGKILL, reap it later */
};

struct capture {
	char *buf;	/* the last len bytes the agent wrote, HM_FENCE_CAPTURE_MAX */
	size_t len;
	uint64_t total;	/* bytes written by the agent in this attempt */
	int fd;		/* our read end, -1 once closed */
};

struct hm_fence_exec {
	qb_loop_t *loop;
	hm_fence_done_fn done;
	void *data;

	/* the request, copied */
	char *agent_path;
	char *action;
	char **argv;	/* a command's arguments (argv[0] is agent_path); NULL for an agent */
	char *input;	/* what goes to stdin; holds secrets, wiped before free */
	size_t input_len;
	uint64_t timeout_ms;
	uint64_t attempt_timeout_ms;
	uint64_t retry_delay_ms;
	uint64_t kill_grace_ms;
	unsigned retries;

	enum exec_state state;
	uint64_t start_ms;
	uint64_t deadline_ms;
	uint64_t attempt_start_ms;
	uint64_t end_ms;
	unsigned attempts;
	bool cancelled;
	bool timed_out;		/* this attempt hit a deadline */
	bool overall_timeout;	/* ... and it was the request's */
	bool unkillable;	/* survived SIGKILL for a grace */

	pid_t pid;		/* the agent, 0 when none */
	int pidfd;		/* -1: reap_timer polls instead */
	qb_loop_timer_handle timer;	/* deadline, grace or retry delay */
	bool timer_armed;
	qb_loop_timer_handle reap_timer;
	bool reap_armed;

	struct capture out;
	struct capture err;

	/* the last attempt's outcome */
	enum hm_fence_exec_status status;
	int exit_status;
	int term_signal;
	int exec_errno;
};

/* ------------------------------------------------------------------ */
/* small helpers */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t ms_to_ns(uint64_t ms)
{
	return ms * QB_TIME_NS_IN_MSEC;
}

static const char *const allowed_actions[] = {
	"off", "on", "reboot", "status", "monitor", "list", "metadata", "validate-all",
};

static bool action_allowed(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof(allowed_actions) / sizeof(allowed_actions[0]); i++)
		if (strcmp(action, allowed_actions[i]) == 0)
			return true;
	return false;
}

/* did the agent answer (as opposed to fail)?  status and monitor say "off"
 * with 2 (fence-agents FenceAgentAPI.md), everything else succeeds with 0 */
static bool exit_is_answer(const char *action, int exit_status)
{
	if (exit_status == 0)
		return true;
	return exit_status == 2 && (strcmp(action, "status") == 0 || strcmp(action, "monitor") == 0);
}

bool hm_fence_is_proof_of_off(const char *action, enum hm_fence_exec_status status,
			      int exit_status)
{
	if (action == NULL || status != HM_FENCE_EXEC_DONE)
		return false;
	if (strcmp(action, "off") == 0)
		return exit_status == 0;
	if (strcmp(action, "status") == 0)
		return exit_status == 2;
	return false;	/* reboot, on, monitor, ...: never */
}

const char *hm_fence_exec_status_to_str(enum hm_fence_exec_status s)
{
	switch (s) {
	case HM_FENCE_EXEC_DONE: return "done";
	case HM_FENCE_EXEC_TIMEOUT: return "timeout";
	case HM_FENCE_EXEC_ERROR_EXEC: return "error-exec";
	case HM_FENCE_EXEC_ERROR_SIGNAL: return "error-signal";
	case HM_FENCE_EXEC_CANCELLED: return "cancelled";
	case HM_FENCE_EXEC_ERROR_INTERNAL: return "error-internal";
	}
	return "unknown";
}

/* a param line: key=value, no CR/LF, key not empty, without blanks, not a
 * comment, never the action (a later action= line would override ours) */
static bool param_valid(const char *p)
{
	const char *eq;
	size_t klen;

	if (p == NULL || strpbrk(p, "\r\n") != NULL)
		return false;
	eq = strchr(p, '=');
	if (eq == NULL || eq == p || p[0] == '#')
		return false;
	klen = (size_t)(eq - p);
	if (strcspn(p, " \t\v\f") < klen)
		return false;
	if ((klen == 6 && strncasecmp(p, "action", 6) == 0) ||
	    (klen == 6 && strncasecmp(p, "option", 6) == 0))
		return false;
	return true;
}

static size_t input_size(const struct hm_fence_request *req)
{
	size_t n = strlen("action=\n") + strlen(req->action);
	size_t i;

	for (i = 0; i < req->n_params; i++)
		n += strlen(req->params[i]) + 1;
	return n;
}

int hm_fence_request_validate(const struct hm_fence_request *req)
{
	size_t i;

	if (req == NULL || req->agent_path == NULL || req->action == NULL)
		return -EINVAL;
	if (req->agent_path[0] != '/' || strlen(req->agent_path) >= PATH_MAX)
		return -EINVAL;
	if (!action_allowed(req->action))
		return -EINVAL;
	if (req->n_params > 0 && req->params == NULL)
		return -EINVAL;
	for (i = 0; i < req->n_params; i++)
		if (!param_valid(req->params[i]))
			return -EINVAL;
	if (req->timeout_ms == 0 || req->timeout_ms > HM_FENCE_MS_MAX ||
	    req->attempt_timeout_ms > HM_FENCE_MS_MAX || req->retry_delay_ms > HM_FENCE_MS_MAX ||
	    req->kill_grace_ms > HM_FENCE_MS_MAX)
		return -EINVAL;
	if (input_size(req) > HM_FENCE_STDIN_MAX)
		return -E2BIG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* output capture: keep the tail */

static void capture_append(struct capture *c, const char *p, size_t n)
{
	size_t keep = n < HM_FENCE_CAPTURE_MAX ? n : HM_FENCE_CAPTURE_MAX;
	size_t drop;

	c->total += n;
	p += n - keep;	/* more than fits: only its tail matters */
	if (c->len + keep > HM_FENCE_CAPTURE_MAX) {
		drop = c->len + keep - HM_FENCE_CAPTURE_MAX;
		memmove(c->buf, c->buf + drop, c->len - drop);
		c->len -= drop;
	}
	memcpy(c->buf + c->len, p, keep);
	c->len += keep;
}

/* NUL-terminated copy, with a marker in front when the head was dropped */
static char *capture_render(const struct capture *c, size_t *ret_len)
{
	char marker[64] = "";
	size_t mlen = 0;
	char *s;

	if (c->total > c->len)
		mlen = (size_t)snprintf(marker, sizeof(marker), "[hamon: %llu bytes truncated]\n",
					(unsigned long long)(c->total - c->len));
	s = malloc(mlen + c->len + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, marker, mlen);
	if (c->len > 0)
		memcpy(s + mlen, c->buf, c->len);
	s[mlen + c->len] = '\0';
	*ret_len = mlen + c->len;
	return s;
}

/* the text of the last line of buf holding `tag`, from the tag on
 * ("... ERROR: Failed: x" -> "Failed: x" for tag "ERROR: ") */
static bool last_tagged_line(const char *buf, size_t len, const char *tag, bool skip_tag,
			     char *out, size_t out_size)
{
	const char *line = buf, *end = buf + len, *found = NULL, *found_end = NULL;
	size_t tlen = strlen(tag);

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		const char *p;

		for (p = line; p + tlen <= le; p++)
			if (memcmp(p, tag, tlen) == 0) {
				found = skip_tag ? p + tlen : p;
				found_end = le;
			}
		line = nl ? nl + 1 : end;
	}
	if (found == NULL)
		return false;
	{
		size_t i = 0;

		while (found < found_end && (*found == ' ' || *found == '\t'))
			found++;
		for (; found < found_end && i + 1 < out_size; found++, i++)
			out[i] = (*found >= 0x20 && *found != 0x7f) ? *found : '?';
		while (i > 0 && out[i - 1] == ' ')
			i--;
		out[i] = '\0';
	}
	return out[0] != '\0';
}

/* the agent's own words: fence-agents log "<date> ERROR: <msg>" on stderr,
 * and failure texts start with "Failed:" */
static bool agent_reason(const struct hm_fence_exec *e, char *out, size_t size)
{
	return last_tagged_line(e->err.buf, e->err.len, "ERROR:", true, out, size) ||
	       last_tagged_line(e->err.buf, e->err.len, "Failed:", false, out, size) ||
	       last_tagged_line(e->out.buf, e->out.len, "Failed:", false, out, size);
}

/* ------------------------------------------------------------------ */
/* loop sources */

static void timer_stop(struct hm_fence_exec *e)
{
	if (e->timer_armed)
		qb_loop_timer_del(e->loop, e->timer);
	e->timer_armed = false;
}

static int timer_arm(struct hm_fence_exec *e, uint64_t ms, qb_loop_timer_dispatch_fn fn)
{
	int rc;

	timer_stop(e);
	rc = qb_loop_timer_add(e->loop, QB_LOOP_MED, ms_to_ns(ms), e, fn, &e->timer);
	if (rc == 0)
		e->timer_armed = true;
	return rc;
}

static void capture_close(struct hm_fence_exec *e, struct capture *c)
{
	if (c->fd < 0)
		return;
	qb_loop_poll_del(e->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

/* read what is there; false at EOF or on an error */
static bool capture_read(struct capture *c, int max_reads)
{
	char chunk[READ_CHUNK];
	ssize_t n;
	int i;

	for (i = 0; i < max_reads; i++) {
		n = read(c->fd, chunk, sizeof(chunk));
		if (n > 0) {
			capture_append(c, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return true;
		return false;	/* EOF, or an error: stop reading */
	}
	return true;
}

static int32_t on_output(int32_t fd, int32_t revents, void *data)
{
	struct hm_fence_exec *e = data;
	struct capture *c = fd == e->out.fd ? &e->out : &e->err;

	(void)revents;
	if (c->fd < 0)
		return 0;
	if (!capture_read(c, READS_PER_DISPATCH))
		capture_close(e, c);
	return 0;
}

static void watch_stop(struct hm_fence_exec *e)
{
	if (e->pidfd >= 0) {
		qb_loop_poll_del(e->loop, e->pidfd);
		close(e->pidfd);
		e->pidfd = -1;
	}
	if (e->reap_armed)
		qb_loop_timer_del(e->loop, e->reap_timer);
	e->reap_armed = false;
}

static void kill_group(const struct hm_fence_exec *e, int sig)
{
	if (e->pid > 0)
		kill(-e->pid, sig);
}

static void exec_free(struct hm_fence_exec *e)
{
	if (e == NULL)
		return;
	timer_stop(e);
	watch_stop(e);
	capture_close(e, &e->out);
	capture_close(e, &e->err);
	if (e->pid > 0) {
		/* only on a failure path right after the spawn: nothing else
		 * can watch it, so take it down now */
		kill_group(e, SIGKILL);
		while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (e->input != NULL)
		explicit_bzero(e->input, e->input_len);
	free(e->input);
	if (e->argv != NULL) {
		char **a;

		for (a = e->argv + 1; *a != NULL; a++)
			free(*a);
		free(e->argv);
	}
	free(e->agent_path);
	free(e->action);
	free(e->out.buf);
	free(e->err.buf);
	free(e);
}

/* ------------------------------------------------------------------ */
/* the end */

static void build_reason(const struct hm_fence_exec *e, char *reason, size_t size)
{
	char said[HM_FENCE_REASON_MAX] = "";
	bool has_said = agent_reason(e, said, sizeof(said));
	int n = 0;

	switch (e->status) {
	case HM_FENCE_EXEC_DONE:
		if (exit_is_answer(e->action, e->exit_status))
			reason[0] = '\0';
		else if (has_said)
			n = snprintf(reason, size, "%s", said);
		else
			n = snprintf(reason, size, "agent exited with status %d", e->exit_status);
		break;
	case HM_FENCE_EXEC_TIMEOUT:
		n = snprintf(reason, size, "%s after %llu ms%s%s",
			     e->overall_timeout ? "timed out" : "attempt timed out",
			     (unsigned long long)(e->end_ms - (e->overall_timeout ? e->start_ms
									: e->attempt_start_ms)),
			     has_said ? "; agent: " : "", has_said ? said : "");
		break;
	case HM_FENCE_EXEC_ERROR_EXEC:
		n = snprintf(reason, size, "cannot execute %s: %s", e->agent_path,
			     strerror(e->exec_errno));
		break;
	case HM_FENCE_EXEC_ERROR_SIGNAL:
		n = snprintf(reason, size, "agent killed by signal %d (%s)", e->term_signal,
			     strsignal(e->term_signal));
		break;
	case HM_FENCE_EXEC_CANCELLED:
		n = snprintf(reason, size, "cancelled");
		break;
	case HM_FENCE_EXEC_ERROR_INTERNAL:
		n = snprintf(reason, size, "agent's exit status lost: %s", strerror(e->exec_errno));
		break;
	}
	if (e->unkillable && n >= 0 && (size_t)n < size)
		snprintf(reason + n, size - (size_t)n, " (agent pid %d survived SIGKILL)", (int)e->pid);
}

static void finish(struct hm_fence_exec *e)
{
	struct hm_fence_result res;
	char *out, *err;
	size_t out_len = 0, err_len = 0;

	memset(&res, 0, sizeof(res));
	res.status = e->status;
	res.exit_status = e->exit_status;
	res.term_signal = e->term_signal;
	build_reason(e, res.reason, sizeof(res.reason));
	out = capture_render(&e->out, &out_len);
	err = capture_render(&e->err, &err_len);
	res.out = out ? out : "";
	res.out_len = out ? out_len : 0;
	res.err = err ? err : "";
	res.err_len = err ? err_len : 0;
	if (e->end_ms == 0)
		e->end_ms = now_ms();
	res.duration_ms = e->end_ms - e->start_ms;
	res.attempts = e->attempts;
	res.proof_of_off = hm_fence_is_proof_of_off(e->action, e->status, e->exit_status);
	dbg("%s %s: %s exit=%d attempts=%u %llu ms proof=%d", e->agent_path, e->action,
	    hm_fence_exec_status_to_str(res.status), res.exit_status, res.attempts,
	    (unsigned long long)res.duration_ms, res.proof_of_off);

	e->done(&res, e->data);

	free(out);
	free(err);
	if (e->state == ST_ORPHAN)
		return;	/* freed once the agent is reaped */
	exec_free(e);
}

static void pending_job(void *data)
{
	finish(data);
}

/* report an outcome known outside any loop callback of ours */
static int finish_later(struct hm_fence_exec *e)
{
	e->state = ST_PENDING;
	if (e->end_ms == 0)
		e->end_ms = now_ms();
	return qb_loop_job_add(e->loop, QB_LOOP_MED, e, pending_job);
}

/* ------------------------------------------------------------------ */
/* one attempt */

/* move a fd to >= 3, so the child's dup2 onto 0/1/2 cannot clobber one
 * another; keeps O_CLOEXEC */
static int fd_above_stdio(int fd)
{
	int nfd;

	if (fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

static int pipe_cloexec(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	p[0] = fd_above_stdio(p[0]);
	p[1] = fd_above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return -EMFILE;
	}
	return 0;
}

static void close_pipe(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

static void close_fds_from(int lowfd, int keep)
{
	struct rlimit rl;
	int fd, max = 65536;

	if (keep > lowfd && close_range((unsigned)lowfd, (unsigned)keep - 1, 0) == 0 &&
	    close_range((unsigned)keep + 1, ~0u, 0) == 0)
		return;
	if (keep == lowfd && close_range((unsigned)keep + 1, ~0u, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (int)rl.rlim_cur;
	for (fd = lowfd; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

/* in the child, after fork(): async-signal-safe calls only */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd,
	   int err_fd, int report_fd)
{
	struct sigaction sa;
	sigset_t none;
	int sig, err;

	/* own session and process group: the whole group is killed at a
	 * deadline, and the agent has no controlling terminal */
	if (setsid() < 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);	/* SIGPIPE ignored by hamond, etc. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_fd, STDERR_FILENO) < 0)
		goto fail;
	/* everything else the daemon holds stays with the daemon; report_fd
	 * is O_CLOEXEC and goes at exec */
	close_fds_from(STDERR_FILENO + 1, report_fd);
	if (chdir("/") < 0)
		goto fail;
	execve(path, argv, envp);
fail:
	err = errno;
	while (write(report_fd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

static int32_t on_pidfd(int32_t fd, int32_t revents, void *data);
static void reap_tick(void *data);

static int watch_start(struct hm_fence_exec *e)
{
	int fd, rc;

	fd = (int)syscall(SYS_pidfd_open, e->pid, 0);
	if (fd >= 0) {
		rc = qb_loop_poll_add(e->loop, QB_LOOP_HIGH, fd, POLLIN, e, on_pidfd);
		if (rc == 0) {
			e->pidfd = fd;
			return 0;
		}
		close(fd);
	}
	/* no pidfd here: poll the child */
	rc = qb_loop_timer_add(e->loop, QB_LOOP_HIGH, ms_to_ns(REAP_POLL_MS), e, reap_tick,
			       &e->reap_timer);
	if (rc == 0)
		e->reap_armed = true;
	return rc;
}

static void on_deadline(void *data);

/* 0: running; -errno: this attempt could not be started (nothing runs) */
static int attempt_start(struct hm_fence_exec *e)
{
	/* an agent gets no arguments, ever: it would ignore its stdin */
	char *const agent_argv[] = { e->agent_path, NULL };
	char *const *argv = e->argv != NULL ? e->argv : agent_argv;
	char *const envp[] = { (char *)HM_FENCE_AGENT_PATH_ENV, NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
	uint64_t budget;
	ssize_t n;
	int child_errno = 0, rc, status;

	e->attempts++;
	e->attempt_start_ms = now_ms();
	e->end_ms = 0;
	e->timed_out = false;
	e->overall_timeout = false;
	e->out.len = e->err.len = 0;
	e->out.total = e->err.total = 0;
	e->exit_status = -1;
	e->term_signal = 0;
	e->exec_errno = 0;

	if (e->out.buf == NULL)
		e->out.buf = malloc(HM_FENCE_CAPTURE_MAX);
	if (e->err.buf == NULL)
		e->err.buf = malloc(HM_FENCE_CAPTURE_MAX);
	if (e->out.buf == NULL || e->err.buf == NULL)
		return -ENOMEM;

	rc = pipe_cloexec(in);
	if (rc < 0)
		goto close_pipes;
	rc = pipe_cloexec(out);
	if (rc < 0)
		goto close_pipes;
	rc = pipe_cloexec(errp);
	if (rc < 0)
		goto close_pipes;
	rc = pipe_cloexec(rep);
	if (rc < 0)
		goto close_pipes;

	/* all of stdin goes into the pipe's buffer before the agent exists:
	 * no partial writes to track, and no SIGPIPE (the read end is ours) */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto close_pipes;
	}
	n = write(in[1], e->input, e->input_len);
	if (n < 0 || (size_t)n != e->input_len) {
		rc = n < 0 ? -errno : -ENOBUFS;	/* a pipe shrunk by pipe-user-pages-soft */
		goto close_pipes;
	}
	close(in[1]);
	in[1] = -1;

	e->pid = fork();
	if (e->pid < 0) {
		e->pid = 0;
		rc = -errno;
		goto close_pipes;
	}
	if (e->pid == 0)
		child_exec(e->agent_path, argv, envp, in[0], out[1], errp[1], rep[1]);

	close(in[0]);
	in[0] = -1;
	close(out[1]);
	out[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	close(rep[1]);
	rep[1] = -1;

	/* EOF: execve worked (the report pipe is close-on-exec); an int: it
	 * failed with that errno.  Blocks only until the exec is done. */
	do
		n = read(rep[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	rep[0] = -1;
	if (n == (ssize_t)sizeof(child_errno)) {
		while (waitpid(e->pid, &status, 0) < 0 && errno == EINTR)
			;
		e->pid = 0;
		rc = child_errno > 0 ? -child_errno : -EIO;
		goto close_pipes;
	}

	e->out.fd = out[0];
	e->err.fd = errp[0];
	out[0] = errp[0] = -1;
	if (fcntl(e->out.fd, F_SETFL, O_NONBLOCK) < 0 || fcntl(e->err.fd, F_SETFL, O_NONBLOCK) < 0)
		goto kill_it;
	if (qb_loop_poll_add(e->loop, QB_LOOP_MED, e->out.fd, POLLIN, e, on_output) != 0)
		goto kill_it;
	if (qb_loop_poll_add(e->loop, QB_LOOP_MED, e->err.fd, POLLIN, e, on_output) != 0) {
		qb_loop_poll_del(e->loop, e->out.fd);
		goto kill_it;
	}
	if (watch_start(e) != 0)
		goto unpoll;
	budget = hm_fence_attempt_budget(hm_fence_time_left(e->attempt_start_ms, e->deadline_ms),
					 e->attempt_timeout_ms);
	if (timer_arm(e, budget, on_deadline) != 0)
		goto unwatch;
	e->state = ST_RUNNING;
	dbg("%s %s: attempt %u, pid %d, %llu ms", e->agent_path, e->action, e->attempts,
	    (int)e->pid, (unsigned long long)budget);
	return 0;

unwatch:
	watch_stop(e);
unpoll:
	qb_loop_poll_del(e->loop, e->out.fd);
	qb_loop_poll_del(e->loop, e->err.fd);
kill_it:
	kill_group(e, SIGKILL);
	while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR)
		;
	e->pid = 0;
	close(e->out.fd);
	close(e->err.fd);
	e->out.fd = e->err.fd = -1;
	rc = -ENOMEM;
close_pipes:
	close_pipe(in);
	close_pipe(out);
	close_pipe(errp);
	close_pipe(rep);
	return rc;
}

static void retry_fire(void *data);

/* the attempt is over (or could not start): retry, or report */
static void attempt_end(struct hm_fence_exec *e)
{
	uint64_t left, expected;
	bool failed;

	if (e->end_ms == 0)
		e->end_ms = now_ms();
	failed = (e->status == HM_FENCE_EXEC_DONE && !exit_is_answer(e->action, e->exit_status)) ||
		 e->status == HM_FENCE_EXEC_ERROR_SIGNAL || e->status == HM_FENCE_EXEC_TIMEOUT;
	if (failed && !e->cancelled && hm_fence_retry_counted(e->attempts, e->retries)) {
		left = hm_fence_time_left(e->end_ms, e->deadline_ms);
		expected = hm_fence_retry_expected(e->attempt_timeout_ms,
						   e->end_ms - e->attempt_start_ms);
		if (hm_fence_retry_fits(left, e->retry_delay_ms, expected) &&
		    timer_arm(e, e->retry_delay_ms, retry_fire) == 0) {
			dbg("%s %s: attempt %u %s, retry in %llu ms (%llu ms left)", e->agent_path,
			    e->action, e->attempts, hm_fence_exec_status_to_str(e->status),
			    (unsigned long long)e->retry_delay_ms, (unsigned long long)left);
			e->state = ST_DELAY;
			return;
		}
	}
	finish(e);
}

static void retry_fire(void *data)
{
	struct hm_fence_exec *e = data;
	int rc;

	e->timer_armed = false;
	rc = attempt_start(e);
	if (rc == 0)
		return;
	e->status = HM_FENCE_EXEC_ERROR_EXEC;
	e->exec_errno = -rc;
	e->end_ms = now_ms();
	finish(e);
}

/* the leader has exited (a zombie, not reaped): kill what is left of its
 * group, reap it, collect the output, conclude the attempt */
static void child_exited(struct hm_fence_exec *e)
{
	int wstatus = 0;
	pid_t r;

	kill_group(e, SIGKILL);
	do
		r = waitpid(e->pid, &wstatus, 0);
	while (r < 0 && errno == EINTR);
	watch_stop(e);
	timer_stop(e);
	e->end_ms = now_ms();
	if (e->out.fd >= 0)
		capture_read(&e->out, DRAIN_READS_MAX);
	if (e->err.fd >= 0)
		capture_read(&e->err, DRAIN_READS_MAX);
	capture_close(e, &e->out);
	capture_close(e, &e->err);

	if (r < 0) {
		e->status = HM_FENCE_EXEC_ERROR_INTERNAL;
		e->exec_errno = errno;
	} else if (e->cancelled) {
		e->status = HM_FENCE_EXEC_CANCELLED;
	} else if (e->timed_out) {
		e->status = HM_FENCE_EXEC_TIMEOUT;
	} else if (WIFEXITED(wstatus)) {
		e->status = HM_FENCE_EXEC_DONE;
		e->exit_status = WEXITSTATUS(wstatus);
	} else {
		e->status = HM_FENCE_EXEC_ERROR_SIGNAL;
		e->term_signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
	}
	e->pid = 0;
	attempt_end(e);
}

/* has the agent exited?  peek without reaping (WNOWAIT) */
static bool child_gone(struct hm_fence_exec *e, bool *lost)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	*lost = false;
	if (waitid(P_PID, (id_t)e->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		*lost = errno == ECHILD;	/* reaped by someone else */
		return *lost;
	}
	return si.si_pid == e->pid;
}

static void orphan_reaped(struct hm_fence_exec *e)
{
	while (waitpid(e->pid, NULL, WNOHANG) < 0 && errno == EINTR)
		;
	e->pid = 0;
	watch_stop(e);
	dbg("%s: the agent that outlived SIGKILL is gone", e->agent_path);
	exec_free(e);
}

/* the agent is gone (lost: reaped by someone else, status unknown) */
static void child_gone_handle(struct hm_fence_exec *e, bool lost)
{
	if (e->state == ST_ORPHAN) {
		orphan_reaped(e);
		return;
	}
	if (lost) {
		watch_stop(e);
		timer_stop(e);
		capture_close(e, &e->out);
		capture_close(e, &e->err);
		e->pid = 0;
		e->status = HM_FENCE_EXEC_ERROR_INTERNAL;
		e->exec_errno = ECHILD;
		e->end_ms = now_ms();
		finish(e);
		return;
	}
	child_exited(e);
}

static int32_t on_pidfd(int32_t fd, int32_t revents, void *data)
{
	struct hm_fence_exec *e = data;
	bool lost;

	(void)fd;
	(void)revents;
	if (child_gone(e, &lost))
		child_gone_handle(e, lost);
	return 0;
}

static void reap_tick(void *data)
{
	struct hm_fence_exec *e = data;
	bool lost;

	e->reap_armed = false;
	if (child_gone(e, &lost)) {
		child_gone_handle(e, lost);
		return;
	}
	if (qb_loop_timer_add(e->loop, QB_LOOP_HIGH, ms_to_ns(REAP_POLL_MS), e, reap_tick,
			      &e->reap_timer) == 0)
		e->reap_armed = true;
}

static void on_stuck(void *data)
{
	struct hm_fence_exec *e = data;

	/* SIGKILL was sent a grace ago and the agent is still there (stuck
	 * in the kernel): report now, reap it whenever it goes */
	e->timer_armed = false;
	e->unkillable = true;
	e->end_ms = now_ms();
	capture_close(e, &e->out);
	capture_close(e, &e->err);
	if (e->cancelled)
		e->status = HM_FENCE_EXEC_CANCELLED;
	else
		e->status = HM_FENCE_EXEC_TIMEOUT;
	e->state = ST_ORPHAN;
	finish(e);
}

static void on_grace(void *data)
{
	struct hm_fence_exec *e = data;

	e->timer_armed = false;
	kill_group(e, SIGKILL);
	e->state = ST_KILL;
	timer_arm(e, hm_fence_kill_grace(e->kill_grace_ms), on_stuck);
}

static void on_deadline(void *data)
{
	struct hm_fence_exec *e = data;

	e->timer_armed = false;
	e->timed_out = true;
	e->overall_timeout = hm_fence_time_left(now_ms(), e->deadline_ms) == 0;
	dbg("%s %s: pid %d past its deadline, SIGTERM to its group", e->agent_path, e->action,
	    (int)e->pid);
	kill_group(e, SIGTERM);
	e->state = ST_TERM;
	timer_arm(e, hm_fence_kill_grace(e->kill_grace_ms), on_grace);
}

/* ------------------------------------------------------------------ */
/* API */

static int build_input(struct hm_fence_exec *e, const struct hm_fence_request *req)
{
	size_t size = input_size(req) + 1, off = 0, i;
	int n;

	e->input = malloc(size);
	if (e->input == NULL)
		return -ENOMEM;
	for (i = 0; i < req->n_params; i++) {
		n = snprintf(e->input + off, size - off, "%s\n", req->params[i]);
		off += (size_t)n;
	}
	/* the action goes last: with fence-agents the last value wins */
	n = snprintf(e->input + off, size - off, "action=%s\n", req->action);
	off += (size_t)n;
	e->input_len = off;
	return 0;
}

int hm_fence_exec_start(qb_loop_t *loop, const struct hm_fence_request *req,
			hm_fence_done_fn done, void *data, struct hm_fence_exec **ret)
{
	struct hm_fence_exec *e;
	int rc;

	if (loop == NULL || done == NULL || ret == NULL)
		return -EINVAL;
	rc = hm_fence_request_validate(req);
	if (rc < 0)
		return rc;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->loop = loop;
	e->done = done;
	e->data = data;
	e->pidfd = -1;
	e->out.fd = e->err.fd = -1;
	e->exit_status = -1;
	e->timeout_ms = req->timeout_ms;
	e->attempt_timeout_ms = req->attempt_timeout_ms;
	e->retry_delay_ms = req->retry_delay_ms;
	e->kill_grace_ms = req->kill_grace_ms;
	e->retries = req->retries;
	e->agent_path = strdup(req->agent_path);
	e->action = strdup(req->action);
	if (e->agent_path == NULL || e->action == NULL) {
		rc = -ENOMEM;
		goto free_exec;
	}
	rc = build_input(e, req);
	if (rc < 0)
		goto free_exec;

	e->start_ms = now_ms();
	e->deadline_ms = hm_fence_deadline(e->start_ms, e->timeout_ms);
	rc = attempt_start(e);
	if (rc < 0) {
		/* missing, not executable, no resources: reported through done,
		 * from the loop; an agent that cannot be run is not retried */
		e->status = HM_FENCE_EXEC_ERROR_EXEC;
		e->exec_errno = -rc;
		rc = finish_later(e);
		if (rc < 0)
			goto free_exec;
	}
	*ret = e;
	return 0;

free_exec:
	exec_free(e);
	return rc;
}

int hm_fence_command_validate(const struct hm_fence_command *cmd)
{
	size_t i;

	if (cmd == NULL || cmd->argv == NULL || cmd->argv[0] == NULL)
		return -EINVAL;
	if (cmd->argv[0][0] != '/' || strlen(cmd->argv[0]) >= PATH_MAX)
		return -EINVAL;
	for (i = 1; cmd->argv[i] != NULL; i++)
		if (i >= HM_FENCE_ARGV_MAX || strlen(cmd->argv[i]) > HM_FENCE_ARG_MAX ||
		    strpbrk(cmd->argv[i], "\r\n") != NULL)
			return -EINVAL;
	if (cmd->timeout_ms == 0 || cmd->timeout_ms > HM_FENCE_MS_MAX ||
	    cmd->kill_grace_ms > HM_FENCE_MS_MAX)
		return -EINVAL;
	return 0;
}

int hm_fence_command_start(qb_loop_t *loop, const struct hm_fence_command *cmd,
			   hm_fence_done_fn done, void *data, struct hm_fence_exec **ret)
{
	struct hm_fence_exec *e;
	size_t n, i;
	int rc;

	if (loop == NULL || done == NULL || ret == NULL)
		return -EINVAL;
	rc = hm_fence_command_validate(cmd);
	if (rc < 0)
		return rc;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->loop = loop;
	e->done = done;
	e->data = data;
	e->pidfd = -1;
	e->out.fd = e->err.fd = -1;
	e->exit_status = -1;
	e->timeout_ms = cmd->timeout_ms;
	e->kill_grace_ms = cmd->kill_grace_ms;
	for (n = 0; cmd->argv[n] != NULL; n++)
		;
	e->argv = calloc(n + 1, sizeof(*e->argv));
	e->agent_path = strdup(cmd->argv[0]);
	e->action = strdup("command");	/* never proof, 0 is its answer */
	e->input = strdup("");		/* stdin: at once at its end */
	if (e->argv == NULL || e->agent_path == NULL || e->action == NULL || e->input == NULL) {
		rc = -ENOMEM;
		goto free_exec;
	}
	e->argv[0] = e->agent_path;
	for (i = 1; i < n; i++) {
		e->argv[i] = strdup(cmd->argv[i]);
		if (e->argv[i] == NULL) {
			rc = -ENOMEM;
			goto free_exec;
		}
	}

	e->start_ms = now_ms();
	e->deadline_ms = hm_fence_deadline(e->start_ms, e->timeout_ms);
	rc = attempt_start(e);
	if (rc < 0) {
		e->status = HM_FENCE_EXEC_ERROR_EXEC;
		e->exec_errno = -rc;
		rc = finish_later(e);
		if (rc < 0)
			goto free_exec;
	}
	*ret = e;
	return 0;

free_exec:
	exec_free(e);
	return rc;
}

void hm_fence_exec_cancel(struct hm_fence_exec *e)
{
	if (e == NULL || e->cancelled)
		return;
	switch (e->state) {
	case ST_RUNNING:
	case ST_TERM:
		e->cancelled = true;
		dbg("%s %s: cancelled, SIGKILL to pid %d's group", e->agent_path, e->action,
		    (int)e->pid);
		kill_group(e, SIGKILL);
		e->state = ST_KILL;
		timer_arm(e, hm_fence_kill_grace(e->kill_grace_ms), on_stuck);
		break;
	case ST_KILL:
		e->cancelled = true;	/* already going: report it as cancelled */
		break;
	case ST_DELAY:
		e->cancelled = true;
		timer_stop(e);
		e->status = HM_FENCE_EXEC_CANCELLED;
		e->exit_status = -1;
		e->term_signal = 0;
		e->end_ms = now_ms();
		if (finish_later(e) < 0)
			finish(e);	/* no memory for a job: better now than never */
		break;
	case ST_PENDING:
	case ST_ORPHAN:
		break;	/* the outcome is already known */
	}
}
