/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fencer (fencer.h): one host through its levels, with the executor.
 *
 * One fence is a loop of two steps, each run from the loop:
 *
 *   advance (a loop job): hm_fence_plan() on the results so far
 *       RUN        → start the executor on the next device, "off"
 *       PROVEN_OFF / EXHAUSTED, or cancelled → done(), free
 *   device_done (the executor's callback): record the call, report it,
 *       its result (proof → OK, anything else → FAILED) → advance
 *
 * A device whose params or agent cannot be used fails like any other
 * device: its level fails and the next one is tried.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qb/qblog.h>

#include "executor.h"
#include "fencer.h"
#include "params.h"

#define dbg(fmt, ...) qb_log(LOG_DEBUG, "fencer: " fmt, ##__VA_ARGS__)
#define METADATA_TIMEOUT_MS 10000u

struct hm_fencer {
	qb_loop_t *loop;
	struct hm_fencer_config cfg;
	char *agent_dir;
	uint32_t host;
	char *host_name;
	hm_fencer_attempt_fn on_attempt;
	hm_fencer_done_fn done;
	void *data;

	struct hm_fence_device *devices;	/* the host's, copied */
	size_t n_devices;
	struct hm_fence_device_result *results;
	size_t n_results;
	struct hm_fence_attempt *attempts;
	size_t n_attempts;

	/* the device running now */
	const struct hm_fence_device *cur;
	uint32_t cur_level;
	struct json_object *cur_params;
	struct hm_fence_exec *exec;
	int64_t cur_start_ms;

	bool cancelled;
	int64_t start_ms;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const outcome_names[] = { "proven-off", "exhausted", "cancelled" };

const char *hm_fencer_outcome_to_str(enum hm_fencer_outcome o)
{
	return (unsigned int)o < sizeof(outcome_names) / sizeof(outcome_names[0])
		       ? outcome_names[o] : "invalid";
}

bool hm_fencer_agent_name_valid(const char *agent)
{
	size_t len;

	if (agent == NULL || agent[0] == '-' || agent[0] == '\0')
		return false;
	len = strlen(agent);
	return len <= HM_FENCE_AGENT_MAX &&
	       strspn(agent, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
		       len;
}

int hm_fencer_config_validate(const struct hm_fencer_config *cfg)
{
	if (cfg == NULL || cfg->call_timeout_ms == 0 || cfg->call_timeout_ms > HM_FENCE_MS_MAX ||
	    cfg->retries > 100 || cfg->retry_delay_ms > HM_FENCE_MS_MAX ||
	    cfg->kill_grace_ms > HM_FENCE_MS_MAX)
		return -EINVAL;
	if (hm_fencer_device_timeout_ms(cfg->call_timeout_ms, cfg->retries, cfg->retry_delay_ms) >
	    HM_FENCE_MS_MAX)
		return -EINVAL;
	if (cfg->agent_dir != NULL &&
	    (cfg->agent_dir[0] != '/' || strlen(cfg->agent_dir) + HM_FENCE_AGENT_MAX + 2 > PATH_MAX))
		return -EINVAL;
	return 0;
}

static const char *agent_dir(const struct hm_fencer_config *cfg)
{
	return cfg->agent_dir != NULL ? cfg->agent_dir : HM_FENCER_AGENT_DIR;
}

/* ------------------------------------------------------------------ */
/* a device call: its request and its record */

/* the executor's request for one call of `action` on device d: stdin is
 * the device's params, then nodename= (after them: the last value wins) */
struct call {
	char path[PATH_MAX];
	char **lines;		/* params, then nodename */
	size_t n_lines;
	struct json_object *params;
	char why[HM_FENCE_WHY_MAX];	/* why it cannot run */
};

static void call_free(struct call *c)
{
	hm_fence_params_lines_free(c->lines, c->n_lines);
	c->lines = NULL;
	c->n_lines = 0;
	json_object_put(c->params);
	c->params = NULL;
}

/* 0, or -EINVAL with why (the device cannot be run), -ENOMEM */
static int call_prepare(struct call *c, const char *dir, const struct hm_fence_device *d,
			const char *host_name)
{
	char **lines;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!hm_fencer_agent_name_valid(d->agent)) {
		snprintf(c->why, sizeof(c->why), "the agent name is not valid");
		return -EINVAL;
	}
	snprintf(c->path, sizeof(c->path), "%s/%s", dir, d->agent);
	rc = hm_fence_params_parse(d->params, &c->params, c->why, sizeof(c->why));
	if (rc < 0)
		return rc;
	rc = hm_fence_params_lines(c->params, &c->lines, &c->n_lines);
	if (rc < 0)
		goto fail;
	if (host_name != NULL) {
		lines = realloc(c->lines, (c->n_lines + 1) * sizeof(*lines));
		if (lines == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		c->lines = lines;
		if (asprintf(&c->lines[c->n_lines], "nodename=%s", host_name) < 0) {
			rc = -ENOMEM;
			goto fail;
		}
		c->n_lines++;
	}
	return 0;
fail:
	call_free(c);
	return rc;
}

static struct hm_fence_request call_request(const struct call *c, const char *action,
					    const struct hm_fencer_config *cfg, unsigned retries)
{
	struct hm_fence_request req = {
		.agent_path = c->path,
		.action = action,
		.params = (const char *const *)c->lines,
		.n_params = c->n_lines,
		.timeout_ms = hm_fencer_device_timeout_ms(cfg->call_timeout_ms, retries,
							  cfg->retry_delay_ms),
		.attempt_timeout_ms = cfg->call_timeout_ms,
		.retries = retries,
		.retry_delay_ms = cfg->retry_delay_ms,
		.kill_grace_ms = cfg->kill_grace_ms,
	};

	return req;
}

static void record_start(struct hm_fence_attempt *a, uint32_t host,
			 const struct hm_fence_device *d, uint32_t level, const char *action)
{
	memset(a, 0, sizeof(*a));
	a->host = host;
	a->device = d->id;
	a->level = level;
	snprintf(a->agent, sizeof(a->agent), "%s", d->agent ? d->agent : "");
	snprintf(a->action, sizeof(a->action), "%s", action);
	a->start_ms = wall_ms();
	a->exit_status = -1;
}

/* the device could not be run at all */
static void record_unusable(struct hm_fence_attempt *a, const char *why)
{
	a->end_ms = a->start_ms;
	snprintf(a->status, sizeof(a->status), "error-device");
	snprintf(a->reason, sizeof(a->reason), "%s", why);
}

static void record_result(struct hm_fence_attempt *a, const struct hm_fence_result *res,
			  const struct json_object *params)
{
	a->end_ms = a->start_ms + (int64_t)res->duration_ms;
	a->exit_status = res->exit_status;
	snprintf(a->status, sizeof(a->status), "%s", hm_fence_exec_status_to_str(res->status));
	a->tries = res->attempts;
	a->proof = res->proof_of_off;
	snprintf(a->reason, sizeof(a->reason), "%s", res->reason);
	/* an agent may quote its password in an error line */
	hm_fence_redact_text(a->reason, sizeof(a->reason), params);
}

/* ------------------------------------------------------------------ */
/* one host through its levels */

static void fencer_free(struct hm_fencer *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n_devices; i++) {
		free((char *)f->devices[i].agent);
		if (f->devices[i].params != NULL) {
			explicit_bzero((char *)f->devices[i].params, strlen(f->devices[i].params));
			free((char *)f->devices[i].params);
		}
	}
	json_object_put(f->cur_params);
	free(f->devices);
	free(f->results);
	free(f->attempts);
	free(f->host_name);
	free(f->agent_dir);
	free(f);
}

static void exhausted_reason(const struct hm_fencer *f, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < f->n_attempts && n < len; i++) {
		const struct hm_fence_attempt *a = &f->attempts[i];

		if (a->proof)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%slevel %u: device %u (%s): %s",
				      n ? "; " : "", a->level, a->device, a->agent,
				      a->reason[0] ? a->reason : a->status);
	}
}

static void finish(struct hm_fencer *f, enum hm_fencer_outcome outcome,
		   const struct hm_fence_plan *plan)
{
	struct hm_fencer_result res;

	memset(&res, 0, sizeof(res));
	res.host = f->host;
	res.outcome = outcome;
	res.attempts = f->attempts;
	res.n_attempts = f->n_attempts;
	res.start_ms = f->start_ms;
	res.end_ms = wall_ms();
	if (outcome == HM_FENCER_PROVEN_OFF) {
		res.level = plan->level;
		res.device = plan->devices[plan->n_devices - 1];
	} else if (outcome == HM_FENCER_EXHAUSTED) {
		exhausted_reason(f, res.reason, sizeof(res.reason));
	} else {
		snprintf(res.reason, sizeof(res.reason), "cancelled");
	}
	dbg("node %u: %s after %zu device calls", f->host, hm_fencer_outcome_to_str(outcome),
	    f->n_attempts);
	f->done(&res, f->data);
	fencer_free(f);
}

static void advance(void *data);

static int queue_advance(struct hm_fencer *f)
{
	return qb_loop_job_add(f->loop, QB_LOOP_MED, f, advance);
}

static const struct hm_fence_device *device_by_id(const struct hm_fencer *f, uint32_t id)
{
	size_t i;

	for (i = 0; i < f->n_devices; i++)
		if (f->devices[i].id == id)
			return &f->devices[i];
	return NULL;
}

/* the call is over: report it, note the device's result */
static void device_end(struct hm_fencer *f, struct hm_fence_attempt *a)
{
	f->results[f->n_results].device = a->device;
	f->results[f->n_results].outcome = a->proof ? HM_FENCE_DEVICE_OK : HM_FENCE_DEVICE_FAILED;
	f->n_results++;
	f->n_attempts++;
	f->cur = NULL;
	json_object_put(f->cur_params);
	f->cur_params = NULL;
	if (f->on_attempt != NULL)
		f->on_attempt(a, f->data);
	if (queue_advance(f) != 0)
		advance(f);	/* no memory for a job: go on from here */
}

static void device_done(const struct hm_fence_result *res, void *data)
{
	struct hm_fencer *f = data;
	struct hm_fence_attempt *a = &f->attempts[f->n_attempts];

	f->exec = NULL;
	record_result(a, res, f->cur_params);
	dbg("node %u: device %u %s: %s exit=%d proof=%d", f->host, a->device, a->action,
	    a->status, a->exit_status, a->proof);
	device_end(f, a);
}

static void device_run(struct hm_fencer *f, const struct hm_fence_device *d, uint32_t level)
{
	struct hm_fence_attempt *a = &f->attempts[f->n_attempts];
	struct hm_fence_request req;
	struct call c;
	int rc;

	record_start(a, f->host, d, level, "off");
	rc = call_prepare(&c, f->agent_dir, d, f->host_name);
	if (rc < 0) {
		record_unusable(a, rc == -ENOMEM ? "out of memory" : c.why);
		device_end(f, a);
		return;
	}
	req = call_request(&c, "off", &f->cfg, f->cfg.retries);
	rc = hm_fence_exec_start(f->loop, &req, device_done, f, &f->exec);
	if (rc < 0) {
		record_unusable(a, rc == -E2BIG ? "the params are too long for the agent's stdin"
				   : rc == -ENOMEM ? "out of memory"
				   : "the params cannot be sent to the agent (a reserved name?)");
		call_free(&c);
		device_end(f, a);
		return;
	}
	f->cur = d;
	f->cur_level = level;
	f->cur_params = c.params;	/* kept to redact what the agent says */
	c.params = NULL;
	call_free(&c);
}

static void advance(void *data)
{
	struct hm_fencer *f = data;
	struct hm_fence_plan plan;
	const struct hm_fence_device *d;

	if (f->cancelled) {
		finish(f, HM_FENCER_CANCELLED, NULL);
		return;
	}
	if (hm_fence_plan(f->host, f->devices, f->n_devices, f->results, f->n_results, &plan) < 0) {
		finish(f, HM_FENCER_EXHAUSTED, NULL);	/* cannot happen: checked at start */
		return;
	}
	switch (plan.kind) {
	case HM_FENCE_PLAN_RUN:
		d = device_by_id(f, plan.next);
		if (d != NULL && f->n_attempts < f->n_devices) {
			device_run(f, d, plan.level);
			return;
		}
		finish(f, HM_FENCER_EXHAUSTED, NULL);
		return;
	case HM_FENCE_PLAN_PROVEN_OFF:
		finish(f, HM_FENCER_PROVEN_OFF, &plan);
		return;
	case HM_FENCE_PLAN_EXHAUSTED:
	case HM_FENCE_PLAN_UNPROTECTED:
		finish(f, HM_FENCER_EXHAUSTED, NULL);
		return;
	}
}

static int copy_devices(struct hm_fencer *f, const struct hm_fence_device *devices, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (devices[i].host == f->host)
			k++;
	f->devices = calloc(k ? k : 1, sizeof(*f->devices));
	f->results = calloc(k ? k : 1, sizeof(*f->results));
	f->attempts = calloc(k ? k : 1, sizeof(*f->attempts));
	if (f->devices == NULL || f->results == NULL || f->attempts == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct hm_fence_device *d = &f->devices[f->n_devices];

		if (devices[i].host != f->host)
			continue;
		*d = devices[i];
		d->agent = devices[i].agent ? strdup(devices[i].agent) : NULL;
		d->params = devices[i].params ? strdup(devices[i].params) : NULL;
		f->n_devices++;
		if ((devices[i].agent && d->agent == NULL) || (devices[i].params && d->params == NULL))
			return -ENOMEM;
	}
	return 0;
}

int hm_fencer_start(qb_loop_t *loop, const struct hm_fencer_config *cfg, uint32_t host,
		    const char *host_name, const struct hm_fence_device *devices, size_t n_devices,
		    hm_fencer_attempt_fn on_attempt, hm_fencer_done_fn done, void *data,
		    struct hm_fencer **ret)
{
	struct hm_fence_plan plan;
	struct hm_fencer *f;
	int rc;

	if (loop == NULL || done == NULL || ret == NULL || hm_fencer_config_validate(cfg) < 0)
		return -EINVAL;
	if (host_name != NULL && (host_name[0] == '\0' || strpbrk(host_name, "\r\n") != NULL))
		return -EINVAL;
	rc = hm_fence_plan(host, devices, n_devices, NULL, 0, &plan);
	if (rc < 0)
		return rc;
	if (plan.kind == HM_FENCE_PLAN_UNPROTECTED)
		return -ENODEV;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->loop = loop;
	f->cfg = *cfg;
	f->host = host;
	f->on_attempt = on_attempt;
	f->done = done;
	f->data = data;
	f->start_ms = wall_ms();
	f->agent_dir = strdup(agent_dir(cfg));
	f->host_name = host_name ? strdup(host_name) : NULL;
	if (f->agent_dir == NULL || (host_name && f->host_name == NULL)) {
		rc = -ENOMEM;
		goto free_fencer;
	}
	f->cfg.agent_dir = f->agent_dir;
	rc = copy_devices(f, devices, n_devices);
	if (rc < 0)
		goto free_fencer;
	rc = queue_advance(f);
	if (rc != 0) {
		rc = -ENOMEM;
		goto free_fencer;
	}
	dbg("node %u: fencing through %u level(s)", host, plan.levels);
	*ret = f;
	return 0;

free_fencer:
	fencer_free(f);
	return rc;
}

void hm_fencer_cancel(struct hm_fencer *f)
{
	if (f == NULL || f->cancelled)
		return;
	f->cancelled = true;
	if (f->exec != NULL)
		hm_fence_exec_cancel(f->exec);	/* device_done follows, then advance */
}

/* ------------------------------------------------------------------ */
/* one call: a check (monitor, status) or the metadata */

struct hm_fencer_op {
	struct hm_fence_exec *exec;
	struct json_object *params;
	struct hm_fence_attempt rec;
	hm_fencer_attempt_fn check_done;
	hm_fencer_metadata_fn metadata_done;
	void *data;
	bool cancelled;
};

static void op_free(struct hm_fencer_op *op)
{
	json_object_put(op->params);
	free(op);
}

static void check_done(const struct hm_fence_result *res, void *data)
{
	struct hm_fencer_op *op = data;

	record_result(&op->rec, res, op->params);
	op->check_done(&op->rec, op->data);
	op_free(op);
}

/* a device that cannot be run is reported from the loop, like any other */
static void check_unusable_job(void *data)
{
	struct hm_fencer_op *op = data;

	op->check_done(&op->rec, op->data);
	op_free(op);
}

int hm_fencer_check_start(qb_loop_t *loop, const struct hm_fencer_config *cfg,
			  const struct hm_fence_device *device, const char *host_name,
			  const char *action, hm_fencer_attempt_fn done, void *data,
			  struct hm_fencer_op **ret)
{
	struct hm_fence_request req;
	struct hm_fencer_op *op;
	struct call c;
	int rc;

	if (loop == NULL || done == NULL || ret == NULL || device == NULL || action == NULL ||
	    hm_fencer_config_validate(cfg) < 0)
		return -EINVAL;
	if (strcmp(action, "monitor") != 0 && strcmp(action, "status") != 0)
		return -EINVAL;
	if (host_name != NULL && (host_name[0] == '\0' || strpbrk(host_name, "\r\n") != NULL))
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		return -ENOMEM;
	op->check_done = done;
	op->data = data;
	record_start(&op->rec, device->host, device, 0, action);
	rc = call_prepare(&c, agent_dir(cfg), device, host_name);
	if (rc == -ENOMEM)
		goto free_op;
	if (rc < 0) {
		record_unusable(&op->rec, c.why);
		goto unusable;
	}
	req = call_request(&c, action, cfg, 0);
	rc = hm_fence_exec_start(loop, &req, check_done, op, &op->exec);
	if (rc < 0) {
		call_free(&c);
		if (rc == -ENOMEM)
			goto free_op;
		record_unusable(&op->rec, "the params cannot be sent to the agent (a reserved name?)");
		goto unusable;
	}
	op->params = c.params;
	c.params = NULL;
	call_free(&c);
	*ret = op;
	return 0;

unusable:
	if (qb_loop_job_add(loop, QB_LOOP_MED, op, check_unusable_job) != 0) {
		rc = -ENOMEM;
		goto free_op;
	}
	*ret = op;
	return 0;
free_op:
	op_free(op);
	return rc;
}

static void metadata_done(const struct hm_fence_result *res, void *data)
{
	struct hm_fencer_op *op = data;
	const char *xml = res->out;
	size_t len = res->out_len;
	int rc = 0;

	if (res->status == HM_FENCE_EXEC_ERROR_EXEC)
		rc = -ENOENT;
	else if (res->status == HM_FENCE_EXEC_TIMEOUT)
		rc = -ETIMEDOUT;
	else if (res->status == HM_FENCE_EXEC_CANCELLED)
		rc = -ECANCELED;
	else if (res->status != HM_FENCE_EXEC_DONE || res->exit_status != 0 || len == 0 ||
		 strncmp(xml, "[hamon:", 7) == 0)
		rc = -EIO;	/* failed, or more than the capture holds */
	op->metadata_done(rc, rc == 0 ? xml : NULL, rc == 0 ? len : 0,
			  rc == 0 ? "" : (res->reason[0] ? res->reason : "no metadata printed"),
			  op->data);
	op_free(op);
}

int hm_fencer_metadata_start(qb_loop_t *loop, const struct hm_fencer_config *cfg,
			     const char *agent, hm_fencer_metadata_fn done, void *data,
			     struct hm_fencer_op **ret)
{
	struct hm_fence_request req;
	struct hm_fencer_op *op;
	char path[PATH_MAX];
	int rc;

	if (loop == NULL || done == NULL || ret == NULL || !hm_fencer_agent_name_valid(agent) ||
	    hm_fencer_config_validate(cfg) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", agent_dir(cfg), agent);
	memset(&req, 0, sizeof(req));
	req.agent_path = path;
	req.action = "metadata";
	req.timeout_ms = METADATA_TIMEOUT_MS;
	req.kill_grace_ms = cfg->kill_grace_ms;
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		return -ENOMEM;
	op->metadata_done = done;
	op->data = data;
	rc = hm_fence_exec_start(loop, &req, metadata_done, op, &op->exec);
	if (rc < 0) {
		op_free(op);
		return rc;
	}
	*ret = op;
	return 0;
}

void hm_fencer_op_cancel(struct hm_fencer_op *op)
{
	if (op == NULL || op->cancelled)
		return;
	op->cancelled = true;
	hm_fence_exec_cancel(op->exec);	/* NULL (an unusable device's job): no-op */
}
