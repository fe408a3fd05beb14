/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure part of hamonctl: the command line, the request and reply bytes,
 * the exit codes, and the text shown to a human.  No I/O except writing to a
 * FILE * the caller gives; hamonctl.c owns the socket.
 *
 * Commands are rows of a table (hm_ctl_commands[]): name, request id,
 * whether hamond treats it as a write, an argument parser and a renderer.
 * A new command is a new row, plus its parser and renderer.
 */
#ifndef HM_CTL_CLI_H
#define HM_CTL_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ipc_proto.h"

/* longest IPC service name + 1, as hamon.conf's ipc_name */
#define HM_CTL_IPC_NAME_MAX 100
/* messages built here fit in this, NUL included */
#define HM_CTL_ERR_MAX 512
/* how long hamonctl waits for hamond: connecting, and for each reply */
#define HM_CTL_TIMEOUT_MS 30000

struct hm_ctl_command {
	const char *name;
	enum hm_ipc_request id;
	bool needs_write;		/* hamond accepts it from root only */
	const char *args_usage;		/* "" or e.g. "<error|warning|...>" */
	const char *summary;		/* one line for --help */
	const char *details;		/* its options, for its own --help; NULL = none */
	/*
	 * Fill args (an empty JSON object) from the command's own operands
	 * and options, argv[0..argc).  -EINVAL with err naming what was wrong.
	 */
	int (*parse)(int argc, char *const argv[], json_object *args,
		     char *err, size_t errlen);
	/* Text for a human from a successful reply; must cope with any JSON. */
	void (*render)(FILE *out, json_object *args, json_object *reply);
	/* a paged reply (ipc_proto.h): the key of its rows; NULL = one reply */
	const char *rows_key;
};

/* NULL-name terminated */
extern const struct hm_ctl_command hm_ctl_commands[];

/* the row named name, or NULL */
const struct hm_ctl_command *hm_ctl_command_find(const char *name);

/* keys a parser leaves in args for hamonctl itself (hm_ctl_parse moves
 * them into the invocation) */
#define HM_CTL_ARG_WAIT "_wait"
#define HM_CTL_ARG_CONFIRM "_confirm"

struct hm_ctl_invocation {
	bool json;				/* print the reply as JSON */
	bool wait;				/* --wait: follow the job the reply names */
	char confirm[256];			/* ask the operator to type this first ("" no) */
	bool help;				/* print usage, send nothing */
	bool version;				/* print the version, send nothing */
	char ipc_name[HM_CTL_IPC_NAME_MAX];
	const struct hm_ctl_command *command;	/* NULL only with help/version */
	json_object *args;			/* the request's arguments; owned */
};

/*
 * Parse argv (argv[0] is the program).  Global options may come before or
 * after the command; "--" ends options.  Returns 0, -EINVAL with err
 * saying what was wrong (exit HM_EXIT_USAGE), or -ENOMEM.
 */
int hm_ctl_parse(int argc, char *const argv[], struct hm_ctl_invocation **ret_inv,
		 char *err, size_t errlen);
void hm_ctl_invocation_free(struct hm_ctl_invocation *inv);

/* --help text, for the whole program or for one command */
void hm_ctl_usage(FILE *out, const struct hm_ctl_command *cmd);

/*
 * The request: a qb_ipc_request_header then the arguments as NUL-terminated
 * JSON.  *ret_buf is malloc()ed.  -EMSGSIZE past HM_IPC_MAX_MSG.
 */
int hm_ctl_request_build(const struct hm_ctl_invocation *inv, void **ret_buf, size_t *ret_len);

/*
 * Check and decode len bytes of reply.  On success *ret_error is the
 * header's error (0 or -errno) and *ret_obj the payload object (caller puts
 * it).  -EBADMSG, with err naming the problem, for anything malformed.
 */
int hm_ctl_reply_parse(const void *buf, size_t len, int32_t *ret_error,
		       json_object **ret_obj, char *err, size_t errlen);

/* the message of an error reply, made printable; a fallback from error */
void hm_ctl_reply_error_message(json_object *reply, int32_t error, char *buf, size_t len);

/* exit code for a reply whose header says error (0 or -errno) */
int hm_ctl_exit_for_reply(int32_t error);

/*
 * qb_ipcc_connect() failed with errno err (positive): the exit code, and in
 * msg what to tell the user (without the "hamonctl: " prefix).
 */
int hm_ctl_exit_for_connect(int err, const char *ipc_name, char *msg, size_t len);

/*
 * The request was sent but no reply came (err: ETIMEDOUT, ENOTCONN, ...).
 * A write may have been applied: its outcome is unknown.
 */
int hm_ctl_exit_for_lost_reply(const struct hm_ctl_command *cmd, int err,
			       char *msg, size_t len);

/*
 * A paged command's reply comes a page at a time, all on one connection.
 * Merge page (taken) into *acc: the first page becomes *acc, a later one
 * adds its rows to *acc's.  1: ask for another page (inv->args' "after" is
 * now hamond's "next"); 0: *acc is complete, "next" removed, the shape of
 * an unpaged reply; -EBADMSG with err when the paging makes no sense (rows
 * that are not an array, a "next" that does not move on) or -ENOMEM, and
 * *acc is put either way.  With "last" in the arguments (history --limit)
 * at most that many rows are kept.  An unpaged command's reply simply
 * becomes *acc.
 */
int hm_ctl_page_merge(struct hm_ctl_invocation *inv, json_object **acc, json_object *page,
		      char *err, size_t errlen);

/* print the reply: pretty JSON with --json, else the command's renderer */
void hm_ctl_render(FILE *out, const struct hm_ctl_invocation *inv, json_object *reply);

/* a fence parameter into params; from_argv: a secret is refused (ps shows
 * argv).  hm_ctl_params_merge() adds the key=value lines of a
 * --params-from text (what hamonctl read) and drops "params_from". */
int hm_ctl_params_add(json_object *params, const char *key, size_t key_len, const char *value,
		      bool from_argv, char *err, size_t errlen);
int hm_ctl_params_merge(json_object *args, const char *text, char *err, size_t errlen);

/* "1h 02m 03s"; "3d 04h 05m 06s"; "2m 03s"; "7s" */
void hm_ctl_duration_format(uint64_t seconds, char *buf, size_t len);

/*
 * "90", "90s", "15m", "2h", "7d", "1w", "1h30m" in seconds.  -EINVAL when it
 * is none of those (a bare number only alone), -ERANGE past 100 years.
 */
int hm_ctl_duration_parse(const char *s, uint64_t *ret_seconds);

/* milliseconds since the epoch as local time, ISO 8601 with milliseconds:
 * "2024-05-01T12:34:56.789"; "?" when out of range */
void hm_ctl_time_format(int64_t ms, char *buf, size_t len);

/* --wait: how often hamonctl asks for the job */
#define HM_CTL_WAIT_POLL_MS 250

/*
 * --wait: the "job show" invocation for the job that started (the reply
 * of the command that made it); HM_EXIT_OK, or an exit code with msg
 * (the reply names no job).
 */
int hm_ctl_wait_invocation(const struct hm_ctl_invocation *inv, json_object *started,
			   struct hm_ctl_invocation **ret, char *msg, size_t len);

/* a "job show" reply: -1 while the job runs, else the exit code for how it
 * ended (done 0, failed or cancelled HM_EXIT_FAILED) */
int hm_ctl_job_outcome(json_object *job_show_reply);

#endif
