/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence-agent executor: runs ONE fence-agents program for one action,
 * inside the caller's qb_loop, without ever blocking it.
 *
 * The agent is spawned the way fence-agents want to be called by a cluster
 * (fence-agents doc/FenceAgentAPI.md, pacemaker lib/services): no argv at
 * all, "key=value\n" lines on stdin, its own session and process group, a
 * clean environment, stdout and stderr captured.  The request's deadline
 * covers every attempt; at the deadline the whole process group is killed
 * (SIGTERM, then SIGKILL after a grace).  Failed attempts are retried,
 * bounded by count and by the time left.  doc/fencing.md has the protocol,
 * the arithmetic and what counts as proof.
 *
 * Threading: everything runs in the loop's thread; the callback is called
 * from the loop, never from inside hm_fence_exec_start() or
 * hm_fence_exec_cancel().
 */
#ifndef HM_FENCE_EXECUTOR_H
#define HM_FENCE_EXECUTOR_H

#include <qb/qbloop.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bounded capture: at most this many bytes of stdout and of stderr are
 * kept (the tail, which holds the agent's last words) */
#define HM_FENCE_CAPTURE_MAX (64u * 1024u)
/* all of stdin is written before the agent starts, into the pipe's buffer */
#define HM_FENCE_STDIN_MAX (16u * 1024u)
#define HM_FENCE_REASON_MAX 256
/* SIGTERM → SIGKILL grace when kill_grace_ms is 0 */
#define HM_FENCE_KILL_GRACE_MS_DEFAULT 2000u
/* every millisecond field of a request is at most this (one day) */
#define HM_FENCE_MS_MAX (24ull * 3600ull * 1000ull)
/* the only environment an agent gets */
#define HM_FENCE_AGENT_PATH_ENV "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

struct hm_fence_request {
	/* absolute path of the agent, e.g. /usr/sbin/fence_ipmilan */
	const char *agent_path;
	/* off | on | reboot | status | monitor | list | metadata | validate-all */
	const char *action;
	/* "key=value" strings, secrets included: written to stdin only, never
	 * to argv, the environment or a log.  No newline or CR, a key that is
	 * not empty, has no blank and does not start with '#', and never
	 * "action" or "option" (the action is the field above). */
	const char *const *params;
	size_t n_params;
	/* overall deadline of the request, every attempt and retry delay
	 * included; 0 < timeout_ms <= HM_FENCE_MS_MAX */
	uint64_t timeout_ms;
	/* deadline of one attempt; 0 = an attempt may use all the time left */
	uint64_t attempt_timeout_ms;
	/* attempts after the first one, on failure only */
	unsigned retries;
	/* pause between a failed attempt and the next one */
	uint64_t retry_delay_ms;
	/* SIGTERM → SIGKILL of the process group at a deadline; 0 = default */
	uint64_t kill_grace_ms;
};

enum hm_fence_exec_status {
	HM_FENCE_EXEC_DONE = 0,		/* the agent ran and exited: see exit_status */
	HM_FENCE_EXEC_TIMEOUT,		/* killed at a deadline */
	HM_FENCE_EXEC_ERROR_EXEC,	/* could not be run: missing, not executable, spawn failed */
	HM_FENCE_EXEC_ERROR_SIGNAL,	/* died of a signal nobody here sent */
	HM_FENCE_EXEC_CANCELLED,	/* hm_fence_exec_cancel() */
	HM_FENCE_EXEC_ERROR_INTERNAL,	/* the outcome is unknown (exit status lost) */
};

struct hm_fence_result {
	/* the agent's exit code (0..255), -1 if it was killed or never ran */
	int exit_status;
	enum hm_fence_exec_status status;
	/* the termination signal for ERROR_SIGNAL, else 0 */
	int term_signal;
	/* why it failed, NUL-terminated, "" on success: the agent's own last
	 * error line ("ERROR: ..." / "Failed: ..."), else what the executor
	 * knows (deadline, signal, exec errno) */
	char reason[HM_FENCE_REASON_MAX];
	/* the last attempt's output, NUL-terminated, never NULL; at most
	 * HM_FENCE_CAPTURE_MAX bytes of the tail, prefixed by a
	 * "[hamon: N bytes truncated]\n" marker when cut.  The agent may print
	 * NULs: *_len is the true length of the buffer. */
	const char *out;
	size_t out_len;
	const char *err;
	size_t err_len;
	/* from start to the end of the last attempt, every attempt included */
	uint64_t duration_ms;
	/* attempts made, the one that could not be executed included */
	unsigned attempts;
	/* true only for "off" exiting 0 or "status" exiting 2 */
	bool proof_of_off;
};

struct hm_fence_exec;

/*
 * The deadline and retry arithmetic, one line each (sanlock timeouts.c
 * style).  All in milliseconds of the monotonic clock.  Every attempt and
 * every retry delay fits inside [start, start + timeout_ms]; an attempt is
 * given min(attempt_timeout_ms, time left); a retry is started only if the
 * count allows it AND the time left covers the delay plus what the retry is
 * expected to take: a full attempt_timeout_ms when one is set, else as long
 * as the attempt that just failed.
 */
static inline uint64_t hm_fence_deadline(uint64_t start, uint64_t timeout) { return start + timeout; }
static inline uint64_t hm_fence_time_left(uint64_t now, uint64_t deadline) { return now < deadline ? deadline - now : 0; }
static inline uint64_t hm_fence_attempt_budget(uint64_t left, uint64_t attempt_timeout) { return (attempt_timeout && attempt_timeout < left) ? attempt_timeout : left; }
static inline uint64_t hm_fence_retry_expected(uint64_t attempt_timeout, uint64_t last_attempt) { return attempt_timeout ? attempt_timeout : (last_attempt ? last_attempt : 1); }
static inline bool hm_fence_retry_fits(uint64_t left, uint64_t delay, uint64_t expected) { return left > delay && left - delay >= expected; }
static inline bool hm_fence_retry_counted(unsigned attempts_made, unsigned retries) { return attempts_made <= retries; }
static inline uint64_t hm_fence_kill_grace(uint64_t grace) { return grace ? grace : HM_FENCE_KILL_GRACE_MS_DEFAULT; }

/*
 * Called once per started request, from the loop, when it is over.  The
 * result and its strings live until the callback returns; the handle is
 * freed right after it returns (do not cancel it from inside).
 */
typedef void (*hm_fence_done_fn)(const struct hm_fence_result *res, void *data);

/* 0 if the request is well-formed, else -EINVAL (-E2BIG if its stdin would
 * exceed HM_FENCE_STDIN_MAX) */
int hm_fence_request_validate(const struct hm_fence_request *req);

/*
 * Start the request.  0: the agent is running (or its failure to run will be
 * reported through done), *ret is the handle, done will be called exactly
 * once.  -errno: nothing was spawned, done will never be called, *ret is
 * left untouched.  The request and its strings are copied: the caller may
 * free them on return.
 */
int hm_fence_exec_start(qb_loop_t *loop, const struct hm_fence_request *req,
			hm_fence_done_fn done, void *data, struct hm_fence_exec **ret);

/*
 * Stop a running request: SIGKILL to the agent's whole process group, no
 * further retry.  done is still called, later and from the loop, with
 * HM_FENCE_EXEC_CANCELLED once the agent has been reaped (if the outcome was
 * already known, e.g. the agent could not be run, that outcome is reported).
 * NULL and a second cancel are no-ops.  Not allowed from inside done or
 * after it.
 */
void hm_fence_exec_cancel(struct hm_fence_exec *e);

/*
 * A command with arguments, run once with the same machinery (own process
 * group, clean environment, empty stdin, bounded capture, deadline that
 * kills the group): for the Pacemaker backend's stonith_admin, which takes
 * its request on argv.  argv is world-readable in /proc: never a secret in
 * it.  A fence agent is never run this way (it would ignore its stdin).
 */
#define HM_FENCE_ARGV_MAX 16		/* arguments, argv[0] included */
#define HM_FENCE_ARG_MAX 1024		/* bytes of one argument */

struct hm_fence_command {
	/* NULL-terminated; argv[0] is the absolute path of the program; no
	 * argument is NULL, longer than HM_FENCE_ARG_MAX or holds CR/LF */
	const char *const *argv;
	/* 0 < timeout_ms <= HM_FENCE_MS_MAX */
	uint64_t timeout_ms;
	/* SIGTERM → SIGKILL of the process group at the deadline; 0 = default */
	uint64_t kill_grace_ms;
};

/* 0 if the command is well-formed, else -EINVAL */
int hm_fence_command_validate(const struct hm_fence_command *cmd);

/*
 * Start the command, as hm_fence_exec_start() starts a request: one
 * attempt, no retry; done gets exit_status, the capture and a reason
 * ("agent exited with status N" unless it printed an ERROR line);
 * proof_of_off is always false (the caller knows what an exit means).
 * Cancel it with hm_fence_exec_cancel().
 */
int hm_fence_command_start(qb_loop_t *loop, const struct hm_fence_command *cmd,
			   hm_fence_done_fn done, void *data, struct hm_fence_exec **ret);

/* is this action's result, with this exit status, proof that the target is
 * off?  Only off→0 and status→2. */
bool hm_fence_is_proof_of_off(const char *action, enum hm_fence_exec_status status,
			      int exit_status);

const char *hm_fence_exec_status_to_str(enum hm_fence_exec_status s);

#endif
