/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The local IPC server hamonctl talks to (libqb IPC, see ipc_proto.h).
 * Root may change things; members of ipc_read_group may read; anyone else is
 * refused at connect.  Requests go through one handler table; each gets
 * exactly one reply.
 */
#define HM_SUBSYS "ipc"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "ipc_proto.h"
#include "log.h"

enum access_level {
	ACCESS_READ = 1,
	ACCESS_WRITE = 2,
};

/* libqb's poll handlers carry no context: one server per process */
static struct hm_daemon *ipc_daemon;

struct ipc_handler {
	int32_t id;
	const char *name;
	bool needs_write;
	/* 0 and *ret_reply, or -errno and a message in err */
	int (*fn)(struct hm_daemon *d, json_object *args, json_object **ret_reply,
		  char *err, size_t errlen);
};

static int handle_status(struct hm_daemon *d, json_object *args, json_object **ret_reply,
			 char *err, size_t errlen)
{
	struct hm_status_info info = {
		.membership = d->membership,
		.nodelist = &d->nodelist,
		.cluster_name = d->cluster_name,
		.boot_id = d->boot_id,
		.version = HM_VERSION,
		.uptime_s = (hm_daemon_now_ms() - d->started_ms) / 1000,
		.pid = (long)getpid(),
	};

	(void)args;
	*ret_reply = hm_status_to_json(&info);
	if (!*ret_reply) {
		snprintf(err, errlen, "out of memory building the status");
		return -ENOMEM;
	}
	return 0;
}

static int handle_log_level(struct hm_daemon *d, json_object *args, json_object **ret_reply,
			    char *err, size_t errlen)
{
	json_object *v;
	int level;

	if (!json_object_object_get_ex(args, "level", &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "log-level: 'level' must be a string");
		return -EINVAL;
	}
	level = hm_config_log_level_from_str(json_object_get_string(v));
	if (level < 0) {
		snprintf(err, errlen, "log-level: '%.64s' is not one of error, warning, notice, info, debug",
			 json_object_get_string(v));
		return -EINVAL;
	}
	hm_daemon_set_log_level(d, level);
	hm_log_notice("log level set to %s by hamonctl", hm_config_log_level_to_str(level));
	*ret_reply = json_object_new_object();
	if (!*ret_reply ||
	    json_object_object_add(*ret_reply, "level",
				   json_object_new_string(hm_config_log_level_to_str(level))) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const struct ipc_handler handlers[] = {
	{ HM_REQ_STATUS, "status", false, handle_status },
	{ HM_REQ_LOG_LEVEL, "log-level", true, handle_log_level },
};

static const struct ipc_handler *handler_find(int32_t id)
{
	size_t i;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].id == id)
			return &handlers[i];
	return NULL;
}

/* primary group, or a supplementary one of the user (local NSS lookup) */
static bool user_in_group(uid_t uid, gid_t primary, gid_t want)
{
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (primary == want)
		return true;
	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, primary, groups, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

static int32_t ipc_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
	struct hm_daemon *d = ipc_daemon;
	enum access_level level;

	if (uid == 0) {
		level = ACCESS_WRITE;
	} else if (d->have_read_gid && user_in_group(uid, gid, d->read_gid)) {
		level = ACCESS_READ;
	} else {
		hm_log_notice("refused a hamonctl connection from uid %u gid %u (not root, not in group '%s')",
			      (unsigned)uid, (unsigned)gid, d->cfg.ipc_read_group);
		return -EACCES;
	}
	/* let the client open the connection's files */
	qb_ipcs_connection_auth_set(c, -1, d->have_read_gid ? d->read_gid : 0, 0660);
	qb_ipcs_context_set(c, (void *)(intptr_t)level);
	return 0;
}

static void ipc_reply(qb_ipcs_connection_t *c, int32_t id, int error, json_object *body)
{
	struct qb_ipc_response_header hdr;
	struct iovec iov[2];
	const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text) + 1;
	ssize_t rc;

	hdr.id = id;
	hdr.error = error;
	hdr.size = (int32_t)(sizeof(hdr) + len);
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	iov[1] = (struct iovec){ .iov_base = (void *)text, .iov_len = len };
	rc = qb_ipcs_response_sendv(c, iov, 2);
	if (rc < 0)
		hm_log_warn("cannot send a reply to hamonctl: %s", strerror((int)-rc));
}

static void ipc_reply_error(qb_ipcs_connection_t *c, int32_t id, int error, const char *msg)
{
	json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "error", json_object_new_string(msg));
	ipc_reply(c, id, error, o ? o : NULL);
	json_object_put(o);
}

static int32_t ipc_process(qb_ipcs_connection_t *c, void *data, size_t size)
{
	struct hm_daemon *d = ipc_daemon;
	struct qb_ipc_request_header hdr;
	const struct ipc_handler *h;
	const char *payload;
	json_object *args = NULL, *reply = NULL;
	char err[512];
	size_t plen;
	int rc;

	if (size < sizeof(hdr)) {
		ipc_reply_error(c, 0, -EBADMSG, "request shorter than its header");
		return 0;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.size < 0 || (size_t)hdr.size != size) {
		ipc_reply_error(c, hdr.id, -EBADMSG, "request size field disagrees with what was received");
		return 0;
	}
	payload = (const char *)data + sizeof(hdr);
	plen = size - sizeof(hdr);
	if (plen == 0 || payload[plen - 1] != '\0' || strlen(payload) != plen - 1) {
		ipc_reply_error(c, hdr.id, -EBADMSG, "request arguments are not one NUL-terminated string");
		return 0;
	}
	args = json_tokener_parse(payload);
	if (!args || !json_object_is_type(args, json_type_object)) {
		ipc_reply_error(c, hdr.id, -EBADMSG, "request arguments are not a JSON object");
		goto free_args;
	}
	h = handler_find(hdr.id);
	if (!h) {
		snprintf(err, sizeof(err), "unknown request %d (is hamonctl newer than hamond %s?)",
			 hdr.id, HM_VERSION);
		ipc_reply_error(c, hdr.id, -EOPNOTSUPP, err);
		goto free_args;
	}
	if (h->needs_write && (intptr_t)qb_ipcs_context_get(c) != ACCESS_WRITE) {
		snprintf(err, sizeof(err), "permission denied: '%s' changes hamond and needs root",
			 h->name);
		ipc_reply_error(c, hdr.id, -EACCES, err);
		goto free_args;
	}
	err[0] = '\0';
	rc = h->fn(d, args, &reply, err, sizeof(err));
	if (rc < 0)
		ipc_reply_error(c, hdr.id, rc, err[0] ? err : strerror(-rc));
	else
		ipc_reply(c, hdr.id, 0, reply);
	json_object_put(reply);
free_args:
	json_object_put(args);
	return 0;
}

static int32_t ipc_closed(qb_ipcs_connection_t *c)
{
	(void)c;
	return 0;
}

static void ipc_destroyed(qb_ipcs_connection_t *c)
{
	(void)c;
}

static int32_t job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn)
{
	return qb_loop_job_add(ipc_daemon->loop, p, data, fn);
}

static int32_t dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
			    qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_add(ipc_daemon->loop, p, fd, events, data, fn);
}

static int32_t dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
			    qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_mod(ipc_daemon->loop, p, fd, events, data, fn);
}

static int32_t dispatch_del(int32_t fd)
{
	return qb_loop_poll_del(ipc_daemon->loop, fd);
}

int hm_ipc_server_start(struct hm_daemon *d)
{
	static struct qb_ipcs_service_handlers sh = {
		.connection_accept = ipc_accept,
		.msg_process = ipc_process,
		.connection_closed = ipc_closed,
		.connection_destroyed = ipc_destroyed,
	};
	static struct qb_ipcs_poll_handlers ph = {
		.job_add = job_add,
		.dispatch_add = dispatch_add,
		.dispatch_mod = dispatch_mod,
		.dispatch_del = dispatch_del,
	};
	struct group *gr;
	int rc;

	ipc_daemon = d;
	gr = getgrnam(d->cfg.ipc_read_group);
	if (gr) {
		d->read_gid = gr->gr_gid;
		d->have_read_gid = true;
	} else {
		hm_log_warn("ipc_read_group '%s' does not exist: only root may use hamonctl",
			    d->cfg.ipc_read_group);
	}
	d->ipcs = qb_ipcs_create(d->cfg.ipc_name, 0, QB_IPC_SOCKET, &sh);
	if (!d->ipcs)
		return -errno ? -errno : -ENOMEM;
	qb_ipcs_poll_handlers_set(d->ipcs, &ph);
	rc = qb_ipcs_run(d->ipcs);
	if (rc < 0) {
		qb_ipcs_unref(d->ipcs);
		d->ipcs = NULL;
		return rc;
	}
	return 0;
}

void hm_ipc_server_stop(struct hm_daemon *d)
{
	if (!d || !d->ipcs)
		return;
	qb_ipcs_destroy(d->ipcs);
	d->ipcs = NULL;
}
