/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamonctl <-> hamond over libqb IPC (one local socket, service name from
 * hamon.conf's ipc_name, default "hamon").
 *
 * A request is a struct qb_ipc_request_header followed by a NUL-terminated
 * JSON object (the arguments, "{}" when there are none).  Every request gets
 * exactly one reply: a struct qb_ipc_response_header (error = 0 or -errno)
 * followed by a NUL-terminated JSON object.  On error the object is
 * {"error": "<what was wrong, for a human>"}.  hdr.size counts header and
 * payload; the server refuses a request whose size disagrees with what it
 * received or whose payload is not a NUL-terminated JSON object.
 */
#ifndef HM_IPC_PROTO_H
#define HM_IPC_PROTO_H

#include <qb/qbipc_common.h>

#define HM_IPC_DEFAULT_NAME "hamon"
#define HM_IPC_MAX_MSG (1024 * 1024)

/*
 * Paged replies (list, job list, job show, history): a request may carry
 * "after" (the cursor of the last row it has: an instance uuid, a job id, a
 * step seq, an event id) and "limit" (rows wanted, 1..HM_IPC_PAGE_ROWS, the
 * default).  The reply holds the rows that follow, in order, at most
 * "limit" of them and at most HM_IPC_PAGE_BYTES of row JSON (at least one
 * row, whatever its size: a row is bounded by CPG's 64 KiB message), and,
 * only when more remain, "next": the cursor to ask from.  The rest of the
 * reply (a job's own fields, counts) stays well under the other half of
 * HM_IPC_MAX_MSG.
 */
#define HM_IPC_PAGE_ROWS 1000
#define HM_IPC_PAGE_BYTES (HM_IPC_MAX_MSG / 2)

/* request ids; QB_IPC_MSG_USER_START keeps clear of libqb's own */
enum hm_ipc_request {
	HM_REQ_STATUS = QB_IPC_MSG_USER_START + 1,	/* read */
	HM_REQ_LOG_LEVEL,				/* write: {"level": "debug"} */
	HM_REQ_CONFIG_SET,				/* write: {"key", "value"} */
	HM_REQ_CONFIG_GET,				/* read: {"key"} */
	HM_REQ_CONFIG_LIST,				/* read: {} */
	HM_REQ_HOST_LIST,				/* read: {} */
	HM_REQ_LIST,					/* read: {"after"?, "limit"?} (instances, paged) */
	HM_REQ_SHOW,					/* read: {"name"} */
	HM_REQ_JOB_LIST,				/* read: {"all"?, "after"?, "limit"?} (paged) */
	HM_REQ_JOB_SHOW,				/* read: {"id", "after"?, "limit"?} (steps paged) */
	HM_REQ_HISTORY,					/* read: {"host"?, "instance"?, "job"?,
							 * "since_s"?, "last"?, "kinds"?, "after"?,
							 * "limit"?} (paged) */
	HM_REQ_HOST_FLAGS,				/* write: {"host", "disabled"?, "reserved"?} */
	HM_REQ_FENCE_ADD,				/* write: {"host", "agent", "level"?, "id"?,
							 * "params"} */
	HM_REQ_FENCE_REMOVE,				/* write: {"id"} */
	HM_REQ_FENCE_LIST,				/* read: {"host"?} (params redacted) */
	HM_REQ_FENCE_CONFIRM,				/* write: {"host", "sure"} */
	HM_REQ_FENCE_TEST,				/* write: {"host"} or {"id"}: monitor and
							 * status of devices from this node */
	HM_REQ_FENCE,					/* write: {"host", "sure"?}: a job of kind fence */
	HM_REQ_MAINTENANCE,				/* write: {"host", "on", "drain"?, "strict"?} */
	HM_REQ_MIGRATE,					/* write: {"instance", "host"?} */
	HM_REQ_EVACUATE,				/* write: {"host", "dry_run"?, "target"?} */
	HM_REQ_MAX
};

/* hamonctl exit codes, documented in doc/hamonctl.md */
enum hm_ctl_exit {
	HM_EXIT_OK = 0,
	HM_EXIT_FAILED = 1,		/* hamond refused or failed the request */
	HM_EXIT_USAGE = 2,		/* bad command line */
	HM_EXIT_NO_DAEMON = 3,		/* hamond is not running (cannot connect) */
	HM_EXIT_DENIED = 4,		/* not root and not in ipc_read_group */
	HM_EXIT_UNKNOWN = 5,		/* outcome unknown: see hamonctl job show */
};

#endif
