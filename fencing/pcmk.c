/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Pacemaker backend (pcmk.h): stonith_admin as a child process, its
 * XML history parsed with libxml2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <qb/qblog.h>

#include "executor.h"
#include "pcmk.h"

#define dbg(fmt, ...) qb_log(LOG_DEBUG, "fence-pcmk: " fmt, ##__VA_ARGS__)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TIMEOUT_S_MAX 3600u	/* fence_timeout_s at most */
#define EVENTS_MAX 100000u

static const char *const outcome_names[] = { "proven-off", "timeout", "failed", "cancelled" };
static const char *const state_names[] = { "success", "failed", "pending" };

const char *hm_pcmk_outcome_to_str(enum hm_pcmk_outcome o)
{
	return (unsigned int)o < ARRAY_SIZE(outcome_names) ? outcome_names[o] : "invalid";
}

const char *hm_pcmk_state_to_str(enum hm_pcmk_state s)
{
	return (unsigned int)s < ARRAY_SIZE(state_names) ? state_names[s] : "invalid";
}

static void __attribute__((format(printf, 3, 4)))
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool hm_pcmk_host_valid(const char *host)
{
	size_t len;

	if (host == NULL || host[0] == '\0' || host[0] == '-')
		return false;
	len = strlen(host);
	return len <= HM_PCMK_HOST_MAX &&
	       strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
		       len;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the last non-blank line of stderr ("stonith_admin: Couldn't fence
 * node2: No data available"), control characters made '?' */
static bool last_line(const char *text, size_t len, char *out, size_t size)
{
	size_t end = len, start, n, i;

	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
		end--;
	if (end == 0)
		return false;
	start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	n = end - start < size - 1 ? end - start : size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[start + i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[n] = '\0';
	return true;
}

/* ------------------------------------------------------------------ */
/* running stonith_admin */

struct hm_pcmk_op {
	struct hm_fence_exec *exec;
	uint32_t host_id;
	char host[HM_PCMK_HOST_MAX + 1];
	int64_t start_ms;
	void (*fence_done)(enum hm_pcmk_outcome outcome, const struct hm_fence_attempt *a,
			   void *data);
	hm_pcmk_history_fn history_done;
	void *data;
	bool cancelled;
};

static const struct hm_pcmk_config defaults;

static int config_ok(const struct hm_pcmk_config *cfg)
{
	if (cfg->kill_grace_ms > HM_FENCE_MS_MAX ||
	    cfg->deadline_slack_ms > HM_FENCE_MS_MAX - (uint64_t)TIMEOUT_S_MAX * 1000u)
		return -EINVAL;
	if (cfg->stonith_admin != NULL && cfg->stonith_admin[0] != '/')
		return -EINVAL;
	return 0;
}

static const char *stonith_admin(const struct hm_pcmk_config *cfg)
{
	return cfg->stonith_admin != NULL ? cfg->stonith_admin : HM_PCMK_STONITH_ADMIN;
}

static int run(qb_loop_t *loop, const struct hm_pcmk_config *cfg, const char *const *argv,
	       unsigned timeout_s, hm_fence_done_fn done, struct hm_pcmk_op *op)
{
	struct hm_fence_command cmd = {
		.argv = argv,
		.timeout_ms = (uint64_t)timeout_s * 1000u +
			      (cfg->deadline_slack_ms ? cfg->deadline_slack_ms
						      : HM_PCMK_DEADLINE_SLACK_MS),
		.kill_grace_ms = cfg->kill_grace_ms,
	};

	op->start_ms = wall_ms();
	return hm_fence_command_start(loop, &cmd, done, op, &op->exec);
}

static void fence_done(const struct hm_fence_result *res, void *data)
{
	struct hm_pcmk_op *op = data;
	enum hm_pcmk_outcome outcome;
	struct hm_fence_attempt a;

	memset(&a, 0, sizeof(a));
	a.host = op->host_id;
	snprintf(a.agent, sizeof(a.agent), "stonith_admin");
	snprintf(a.action, sizeof(a.action), "off");
	a.start_ms = op->start_ms;
	a.end_ms = op->start_ms + (int64_t)res->duration_ms;
	a.exit_status = res->exit_status;
	a.tries = res->attempts;
	snprintf(a.status, sizeof(a.status), "%s", hm_fence_exec_status_to_str(res->status));

	if (res->status == HM_FENCE_EXEC_DONE && res->exit_status == 0)
		outcome = HM_PCMK_PROVEN_OFF;
	else if (res->status == HM_FENCE_EXEC_CANCELLED)
		outcome = HM_PCMK_CANCELLED;
	else if (res->status == HM_FENCE_EXEC_TIMEOUT ||
		 (res->status == HM_FENCE_EXEC_DONE && res->exit_status == HM_PCMK_EXIT_TIMEOUT))
		outcome = HM_PCMK_TIMEOUT;
	else
		outcome = HM_PCMK_FAILED;
	a.proof = outcome == HM_PCMK_PROVEN_OFF;
	if (outcome != HM_PCMK_PROVEN_OFF &&
	    !(res->status == HM_FENCE_EXEC_DONE && last_line(res->err, res->err_len, a.reason,
							      sizeof(a.reason))))
		snprintf(a.reason, sizeof(a.reason), "%s", res->reason);
	dbg("fence %s: %s exit=%d", op->host, hm_pcmk_outcome_to_str(outcome), a.exit_status);
	op->fence_done(outcome, &a, op->data);
	free(op);
}

int hm_pcmk_fence_start(qb_loop_t *loop, const struct hm_pcmk_config *cfg, uint32_t host_id,
			const char *host, unsigned timeout_s,
			void (*done)(enum hm_pcmk_outcome outcome, const struct hm_fence_attempt *a,
				     void *data),
			void *data, struct hm_pcmk_op **ret)
{
	char timeout[16];
	const char *argv[] = { NULL, "--fence", host, "--timeout", timeout, NULL };
	struct hm_pcmk_op *op;
	int rc;

	if (cfg == NULL)
		cfg = &defaults;
	if (loop == NULL || done == NULL || ret == NULL || config_ok(cfg) < 0 ||
	    !hm_pcmk_host_valid(host) || timeout_s == 0 || timeout_s > TIMEOUT_S_MAX)
		return -EINVAL;
	snprintf(timeout, sizeof(timeout), "%u", timeout_s);
	argv[0] = stonith_admin(cfg);
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		return -ENOMEM;
	op->host_id = host_id;
	snprintf(op->host, sizeof(op->host), "%s", host);
	op->fence_done = done;
	op->data = data;
	rc = run(loop, cfg, argv, timeout_s, fence_done, op);
	if (rc < 0) {
		free(op);
		return rc;
	}
	*ret = op;
	return 0;
}

/* ------------------------------------------------------------------ */
/* history: parsing */

/* "YYYY-MM-DD HH:MM:SS" then "Z" or " +HH:MM" / " -HH:MM" → ms since the
 * epoch; -1 if it is not that */
static int64_t parse_completed(const char *s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	char sign = '+';
	struct tm tm;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return -1;
	s += n;
	if (strcmp(s, "Z") == 0) {
		/* UTC */
	} else if (sscanf(s, " %c%2d:%2d%n", &sign, &oh, &om, &n) == 3 && s[n] == '\0' &&
		   (sign == '+' || sign == '-') && oh <= 23 && om <= 59) {
		/* an offset from UTC */
	} else {
		return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	t -= (sign == '-' ? -1 : 1) * (time_t)(oh * 3600 + om * 60);
	return (int64_t)t * 1000;
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)name);
}

/* copy an attribute, "" when absent; false when too long */
static bool attr_copy(const xmlNode *n, const char *name, char *out, size_t size)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	bool fits = true;

	out[0] = '\0';
	if (v == NULL)
		return true;
	if (strlen((const char *)v) >= size)
		fits = false;
	else
		snprintf(out, size, "%s", (const char *)v);
	xmlFree(v);
	return fits;
}

static int parse_event(const xmlNode *n, struct hm_pcmk_event *ev, char *err, size_t errlen)
{
	char status[32], completed[64];

	memset(ev, 0, sizeof(*ev));
	if (!attr_copy(n, "target", ev->target, sizeof(ev->target)) ||
	    !attr_copy(n, "action", ev->action, sizeof(ev->action)) ||
	    !attr_copy(n, "delegate", ev->delegate, sizeof(ev->delegate)) ||
	    !attr_copy(n, "origin", ev->origin, sizeof(ev->origin)) ||
	    !attr_copy(n, "status", status, sizeof(status)) ||
	    !attr_copy(n, "completed", completed, sizeof(completed))) {
		say(err, errlen, "line %ld: a fence_event attribute is too long", xmlGetLineNo(n));
		return -EINVAL;
	}
	/* the client and the reason are for people: cut, never refused */
	{
		xmlChar *v = xmlGetProp(n, (const xmlChar *)"client");

		snprintf(ev->client, sizeof(ev->client), "%s", v ? (const char *)v : "");
		xmlFree(v);
		v = xmlGetProp(n, (const xmlChar *)"exit-reason");
		snprintf(ev->reason, sizeof(ev->reason), "%s", v ? (const char *)v : "");
		xmlFree(v);
	}
	if (ev->target[0] == '\0' || ev->action[0] == '\0') {
		say(err, errlen, "line %ld: a fence_event without a target or an action",
		    xmlGetLineNo(n));
		return -EINVAL;
	}
	if (strcmp(status, "success") == 0)
		ev->state = HM_PCMK_STATE_SUCCESS;
	else if (strcmp(status, "failed") == 0)
		ev->state = HM_PCMK_STATE_FAILED;
	else if (strcmp(status, "pending") == 0)
		ev->state = HM_PCMK_STATE_PENDING;
	else {
		say(err, errlen, "line %ld: fence_event status '%s' is not success, failed or "
		    "pending", xmlGetLineNo(n), status);
		return -EINVAL;
	}
	if (ev->state == HM_PCMK_STATE_PENDING)
		return 0;
	ev->completed_ms = parse_completed(completed);
	if (ev->completed_ms < 0) {
		say(err, errlen, "line %ld: fence_event completed '%s' is not a time",
		    xmlGetLineNo(n), completed);
		return -EINVAL;
	}
	return 0;
}

/* every fence_event under n, depth first (they sit in <list>) */
static int collect(const xmlNode *n, struct hm_pcmk_event *ev, size_t *k, size_t cap,
		   char *err, size_t errlen)
{
	const xmlNode *c;
	int rc;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_element(c, "fence_event")) {
			if (*k >= cap) {
				say(err, errlen, "more than %u fence events", EVENTS_MAX);
				return -EINVAL;
			}
			rc = parse_event(c, &ev[*k], err, errlen);
			if (rc < 0)
				return rc;
			(*k)++;
		} else {
			rc = collect(c, ev, k, cap, err, errlen);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static size_t count_events(const xmlNode *n)
{
	const xmlNode *c;
	size_t k = 0;

	for (c = n->children; c != NULL; c = c->next)
		if (is_element(c, "fence_event"))
			k++;
		else if (c->type == XML_ELEMENT_NODE)
			k += count_events(c);
	return k;
}

/* <status code="0" message="OK"/> directly under the root; <fence_history
 * status="N"/> when the history itself could not be read */
static int result_status(const xmlNode *root, char *err, size_t errlen)
{
	const xmlNode *c;
	xmlChar *code, *msg;
	bool seen = false;
	int rc = 0;

	for (c = root->children; c != NULL && rc == 0; c = c->next) {
		if (is_element(c, "status")) {
			seen = true;
			code = xmlGetProp(c, (const xmlChar *)"code");
			msg = xmlGetProp(c, (const xmlChar *)"message");
			if (code == NULL || strcmp((const char *)code, "0") != 0) {
				say(err, errlen, "stonith_admin reports status %s: %s",
				    code ? (const char *)code : "?", msg ? (const char *)msg : "");
				rc = -EIO;
			}
			xmlFree(code);
			xmlFree(msg);
		} else if (is_element(c, "fence_history")) {
			code = xmlGetProp(c, (const xmlChar *)"status");
			say(err, errlen, "the fencer could not give its history (status %s)",
			    code ? (const char *)code : "?");
			xmlFree(code);
			rc = -EIO;
		}
	}
	if (rc == 0 && !seen) {
		say(err, errlen, "no <status> in stonith_admin's answer");
		rc = -EINVAL;
	}
	return rc;
}

int hm_pcmk_history_parse(const char *xml, size_t len, struct hm_pcmk_event **ret, size_t *n,
			  char *err, size_t errlen)
{
	struct hm_pcmk_event *ev = NULL;
	xmlParserCtxtPtr ctxt;
	const xmlNode *root;
	xmlDocPtr doc;
	size_t k = 0, cap;
	int rc = -EINVAL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (xml == NULL || ret == NULL || n == NULL || len == 0 || len > INT32_MAX) {
		say(err, errlen, "no history document");
		return -EINVAL;
	}
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return -ENOMEM;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "history.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		say(err, errlen, "not XML: line %d: %.120s", e ? e->line : 0,
		    e && e->message ? e->message : "unknown error");
		if (err != NULL && errlen > 0 && strchr(err, '\n'))
			*strchr(err, '\n') = '\0';
		goto free_ctxt;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is_element(root, "pacemaker-result")) {
		say(err, errlen, "not stonith_admin's XML: the root element is '%.40s'",
		    root ? (const char *)root->name : "");
		goto free_doc;
	}
	rc = result_status(root, err, errlen);
	if (rc < 0)
		goto free_doc;
	cap = count_events(root);
	if (cap > EVENTS_MAX) {
		say(err, errlen, "more than %u fence events", EVENTS_MAX);
		rc = -EINVAL;
		goto free_doc;
	}
	ev = calloc(cap ? cap : 1, sizeof(*ev));
	if (ev == NULL) {
		rc = -ENOMEM;
		goto free_doc;
	}
	rc = collect(root, ev, &k, cap, err, errlen);
	if (rc < 0) {
		free(ev);
		goto free_doc;
	}
	*ret = ev;
	*n = k;
free_doc:
	xmlFreeDoc(doc);
free_ctxt:
	xmlFreeParserCtxt(ctxt);
	return rc;
}

bool hm_pcmk_history_proof(const struct hm_pcmk_event *ev, size_t n, const char *host,
			   int64_t since_ms, int64_t *when_ms)
{
	int64_t best = -1;
	size_t i;

	if (ev == NULL || host == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (ev[i].state == HM_PCMK_STATE_SUCCESS && strcmp(ev[i].action, "off") == 0 &&
		    strcmp(ev[i].target, host) == 0 && ev[i].completed_ms >= since_ms &&
		    ev[i].completed_ms > best)
			best = ev[i].completed_ms;
	if (best < 0)
		return false;
	if (when_ms != NULL)
		*when_ms = best;
	return true;
}

/* ------------------------------------------------------------------ */
/* history: running */

static void history_done(const struct hm_fence_result *res, void *data)
{
	struct hm_pcmk_op *op = data;
	struct hm_pcmk_event *ev = NULL;
	char reason[HM_FENCE_WHY_MAX] = "";
	size_t n = 0;
	int rc;

	if (res->status == HM_FENCE_EXEC_ERROR_EXEC) {
		rc = -ENOENT;
		snprintf(reason, sizeof(reason), "%s", res->reason);
	} else if (res->status == HM_FENCE_EXEC_CANCELLED) {
		rc = -ECANCELED;
		snprintf(reason, sizeof(reason), "cancelled");
	} else if (res->status == HM_FENCE_EXEC_TIMEOUT ||
		   (res->status == HM_FENCE_EXEC_DONE && res->exit_status == HM_PCMK_EXIT_TIMEOUT)) {
		rc = -ETIMEDOUT;
		if (!last_line(res->err, res->err_len, reason, sizeof(reason)))
			snprintf(reason, sizeof(reason), "%s", res->reason);
	} else if (res->status != HM_FENCE_EXEC_DONE || res->exit_status != 0) {
		rc = -EIO;
		if (!last_line(res->err, res->err_len, reason, sizeof(reason)))
			snprintf(reason, sizeof(reason), "%s", res->reason[0] ? res->reason :
				 "stonith_admin failed");
	} else {
		rc = hm_pcmk_history_parse(res->out, res->out_len, &ev, &n, reason,
					   sizeof(reason));
	}
	dbg("history %s: rc=%d, %zu events", op->host, rc, n);
	op->history_done(rc, rc == 0 ? ev : NULL, rc == 0 ? n : 0, reason, op->data);
	free(ev);
	free(op);
}

int hm_pcmk_history_start(qb_loop_t *loop, const struct hm_pcmk_config *cfg, const char *host,
			  unsigned timeout_s, hm_pcmk_history_fn done, void *data,
			  struct hm_pcmk_op **ret)
{
	char timeout[16];
	/* --verbose: every event, not only the latest success (pcmk_fence.c) */
	const char *argv[] = { NULL, "--history", host ? host : "*", "--verbose",
			       "--output-as=xml", "--timeout", timeout, NULL };
	struct hm_pcmk_op *op;
	int rc;

	if (cfg == NULL)
		cfg = &defaults;
	if (loop == NULL || done == NULL || ret == NULL || config_ok(cfg) < 0 ||
	    (host != NULL && !hm_pcmk_host_valid(host)) || timeout_s == 0 ||
	    timeout_s > TIMEOUT_S_MAX)
		return -EINVAL;
	snprintf(timeout, sizeof(timeout), "%u", timeout_s);
	argv[0] = stonith_admin(cfg);
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		return -ENOMEM;
	snprintf(op->host, sizeof(op->host), "%s", host ? host : "*");
	op->history_done = done;
	op->data = data;
	rc = run(loop, cfg, argv, timeout_s, history_done, op);
	if (rc < 0) {
		free(op);
		return rc;
	}
	*ret = op;
	return 0;
}

void hm_pcmk_cancel(struct hm_pcmk_op *op)
{
	if (op == NULL || op->cancelled)
		return;
	op->cancelled = true;
	hm_fence_exec_cancel(op->exec);
}
