/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamonctl: one request to this node's hamond over libqb IPC, one reply,
 * printed (a paged reply: a request per page, on one connection).
 * Everything that decides lives in ctl_cli.c; this is the socket.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbipcc.h>

#include "ctl_cli.h"

#ifndef HM_VERSION
#define HM_VERSION "unknown"
#endif

/* recv in slices so that a hamond that died is noticed before the deadline */
#define RECV_SLICE_MS 1000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *msg)
{
	fprintf(stderr, "hamonctl: %s\n", msg);
}

/*
 * qb_ipcc_connect() waits for hamond's answer with no limit, and a stalled
 * hamond accepts on its listen backlog but never answers; so connect
 * asynchronously and wait at most HM_CTL_TIMEOUT_MS.  0 or -errno.
 */
static int ipc_connect(const char *name, qb_ipcc_connection_t **ret_conn)
{
	qb_ipcc_connection_t *c;
	struct pollfd pfd = { .events = POLLIN };
	int64_t deadline = now_ms() + HM_CTL_TIMEOUT_MS, left;
	int fd = -1, n;

	*ret_conn = NULL;
	c = qb_ipcc_connect_async(name, HM_IPC_MAX_MSG, &fd);
	if (!c)
		return errno ? -errno : -ECONNREFUSED;
	pfd.fd = fd;
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			/* half-connected: libqb frees the handle, the fd is ours */
			qb_ipcc_disconnect(c);
			close(fd);
			return -ETIMEDOUT;
		}
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR) {
			n = -errno;
			qb_ipcc_disconnect(c);
			close(fd);
			return n;
		}
	}
	/* reads hamond's verdict: its connection_accept's -errno comes back here */
	n = qb_ipcc_connect_continue(c);
	if (n != 0)
		return n < 0 ? n : -ECONNREFUSED;	/* c is freed */
	*ret_conn = c;
	return 0;
}

/* the reply's length, or -errno (ETIMEDOUT past the deadline) */
static ssize_t ipc_recv(qb_ipcc_connection_t *c, void *buf, size_t len)
{
	int64_t deadline = now_ms() + HM_CTL_TIMEOUT_MS, left;
	ssize_t n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = qb_ipcc_recv(c, buf, len, left < RECV_SLICE_MS ? (int32_t)left : RECV_SLICE_MS);
		if (n >= 0)
			return n;
		if (n != -ETIMEDOUT && n != -EAGAIN)
			return n;
		if (!qb_ipcc_is_connected(c))
			return -ENOTCONN;
	}
}

/*
 * One request on the open connection and its reply: HM_EXIT_OK and
 * *ret_reply, or the exit code (the reason said).
 */
static int exchange(qb_ipcc_connection_t *conn, const struct hm_ctl_invocation *inv,
		    void *res, size_t res_max, json_object **ret_reply)
{
	char msg[HM_CTL_ERR_MAX];
	void *req = NULL;
	size_t req_len;
	int32_t error;
	ssize_t n;
	int r, code;

	*ret_reply = NULL;
	r = hm_ctl_request_build(inv, &req, &req_len);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot build the request: %s", strerror(-r));
		say(msg);
		return HM_EXIT_FAILED;
	}
	n = qb_ipcc_send(conn, req, req_len);
	free(req);
	if (n != (ssize_t)req_len) {
		snprintf(msg, sizeof(msg), "cannot send the request to hamond: %s",
			 strerror(n < 0 ? (int)-n : EIO));
		say(msg);
		return HM_EXIT_FAILED;
	}
	n = ipc_recv(conn, res, res_max);
	if (n < 0) {
		code = hm_ctl_exit_for_lost_reply(inv->command, (int)-n, msg, sizeof(msg));
		say(msg);
		return code;
	}
	if (hm_ctl_reply_parse(res, (size_t)n, &error, ret_reply, msg, sizeof(msg)) < 0) {
		say(msg);
		return HM_EXIT_FAILED;
	}
	code = hm_ctl_exit_for_reply(error);
	if (code != HM_EXIT_OK) {
		hm_ctl_reply_error_message(*ret_reply, error, msg, sizeof(msg));
		say(msg);
		json_object_put(*ret_reply);
		*ret_reply = NULL;
	}
	return code;
}

/* send the request, a page at a time for a paged command; *ret_reply is
 * the whole reply; returns the exit code */
static int fetch(qb_ipcc_connection_t *conn, struct hm_ctl_invocation *inv, void *res,
		 size_t res_max, json_object **ret_reply)
{
	json_object *reply = NULL, *page;
	char msg[HM_CTL_ERR_MAX];
	int r, code;

	*ret_reply = NULL;
	do {
		code = exchange(conn, inv, res, res_max, &page);
		if (code != HM_EXIT_OK) {
			json_object_put(reply);
			return code;
		}
		r = hm_ctl_page_merge(inv, &reply, page, msg, sizeof(msg));
		if (r < 0) {
			say(msg);
			json_object_put(reply);
			return HM_EXIT_FAILED;
		}
	} while (r > 0);
	*ret_reply = reply;
	return HM_EXIT_OK;
}

/* --wait: ask for the job until it ends, then show it; the exit code says
 * how it ended */
static int wait_job(qb_ipcc_connection_t *conn, struct hm_ctl_invocation *inv, void *res,
		    size_t res_max, json_object *started)
{
	struct hm_ctl_invocation *show = NULL;
	json_object *reply = NULL;
	char msg[HM_CTL_ERR_MAX];
	int code;

	code = hm_ctl_wait_invocation(inv, started, &show, msg, sizeof(msg));
	if (code != HM_EXIT_OK) {
		say(msg);
		return code;
	}
	if (!inv->json)
		fprintf(stderr, "hamonctl: waiting for the job to end (Ctrl-C stops waiting, "
			"not the job)\n");
	for (;;) {
		code = fetch(conn, show, res, res_max, &reply);
		if (code != HM_EXIT_OK)
			break;
		code = hm_ctl_job_outcome(reply);
		if (code >= 0) {
			hm_ctl_render(stdout, show, reply);
			break;
		}
		json_object_put(reply);
		reply = NULL;
		usleep(HM_CTL_WAIT_POLL_MS * 1000);
	}
	json_object_put(reply);
	hm_ctl_invocation_free(show);
	return code;
}

/* the operator types the host's name before a host is powered off */
static int confirm(const struct hm_ctl_invocation *inv)
{
	char line[300];
	size_t len;

	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "hamonctl: %s: refused without --yes: nobody at a terminal to "
			"confirm\n", inv->command->name);
		return HM_EXIT_USAGE;
	}
	fprintf(stderr, "This powers %s off now, with everything running on it.\n"
		"Type the host's name to go on: ", inv->confirm);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[--len] = '\0';
	if (strcmp(line, inv->confirm)) {
		fprintf(stderr, "hamonctl: not confirmed: nothing was done\n");
		return HM_EXIT_FAILED;
	}
	return HM_EXIT_OK;
}

/* send the request and print the reply (then follow the job with
 * --wait); returns the exit code */
static int run(struct hm_ctl_invocation *inv)
{
	qb_ipcc_connection_t *conn = NULL;
	json_object *reply = NULL;
	char msg[HM_CTL_ERR_MAX];
	void *res = NULL;
	size_t res_max;
	int32_t buf_size;
	int r, code;

	if (inv->confirm[0]) {
		code = confirm(inv);
		if (code != HM_EXIT_OK)
			return code;
	}
	r = ipc_connect(inv->ipc_name, &conn);
	if (r < 0) {
		code = hm_ctl_exit_for_connect(-r, inv->ipc_name, msg, sizeof(msg));
		say(msg);
		return code;
	}
	/* the size hamond agreed to; a reply cannot be larger */
	buf_size = qb_ipcc_get_buffer_size(conn);
	res_max = buf_size > HM_IPC_MAX_MSG ? (size_t)buf_size : HM_IPC_MAX_MSG;
	res = malloc(res_max);
	if (!res) {
		say("out of memory");
		code = HM_EXIT_FAILED;
		goto disconnect;
	}
	code = fetch(conn, inv, res, res_max, &reply);
	if (code == HM_EXIT_OK) {
		hm_ctl_render(stdout, inv, reply);
		if (inv->wait) {
			fflush(stdout);
			code = wait_job(conn, inv, res, res_max, reply);
		}
	}
	json_object_put(reply);
	free(res);
disconnect:
	qb_ipcc_disconnect(conn);
	return code;
}

/* fence add --params-from FILE|-: the secrets come from a file or stdin,
 * never from argv; read here (the parser does no I/O) */
static int read_params_from(struct hm_ctl_invocation *inv, char *err, size_t errlen)
{
	json_object *v = NULL;
	const char *path;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int r;

	if (!inv->args || !json_object_object_get_ex(inv->args, "params_from", &v))
		return 0;
	path = json_object_get_string(v);
	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		snprintf(err, errlen, "--params-from %.200s: %s", path, strerror(errno));
		return -EINVAL;
	}
	do {
		if (len + 4096 + 1 > cap) {
			char *p = realloc(text, cap + 8192);

			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			text = p;
			cap += 8192;
		}
		n = fread(text + len, 1, 4096, f);
		len += n;
	} while (n > 0 && len < 65536);
	text[len] = '\0';
	r = hm_ctl_params_merge(inv->args, text, err, errlen);
out:
	if (f != stdin)
		fclose(f);
	free(text);
	return r;
}

int main(int argc, char *argv[])
{
	struct hm_ctl_invocation *inv = NULL;
	char err[HM_CTL_ERR_MAX];
	int r, code;

	r = hm_ctl_parse(argc, argv, &inv, err, sizeof(err));
	if (r == -ENOMEM) {
		say("out of memory");
		return HM_EXIT_FAILED;
	}
	if (r < 0) {
		say(err);
		fprintf(stderr, "Try 'hamonctl --help' for more information.\n");
		return HM_EXIT_USAGE;
	}

	if (!inv->help && !inv->version && read_params_from(inv, err, sizeof(err)) < 0) {
		say(err);
		hm_ctl_invocation_free(inv);
		return HM_EXIT_USAGE;
	}
	if (inv->help)
		hm_ctl_usage(stdout, inv->command);
	else if (inv->version)
		printf("hamonctl %s\n", HM_VERSION);
	code = (inv->help || inv->version) ? HM_EXIT_OK : run(inv);
	hm_ctl_invocation_free(inv);

	/* a reply nobody could read (full disk, closed pipe) is a failure */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (code == HM_EXIT_OK) {
			snprintf(err, sizeof(err), "cannot write the output: %s", strerror(errno));
			say(err);
			code = HM_EXIT_FAILED;
		}
	}
	return code;
}
