/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fence decisions, pure (fence_policy.h, doc/fencing.md "Policy").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fence_policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void __attribute__((format(printf, 3, 4)))
say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* the storm guard */

static bool counted_before(const uint32_t *v, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (v[j] == v[i])
			return true;
	return false;
}

/* a storm: k of n hosts is more than the fraction; the guard applies from
 * 3 configured nodes on */
static bool storm(unsigned configured, size_t k, double max_fraction)
{
	return configured >= 3 && (double)k / (double)configured > max_fraction;
}

int hm_fence_storm_check(unsigned configured_nodes, const uint32_t *incident, size_t n_incident,
			 uint32_t candidate, double max_fraction, char *why, size_t whylen)
{
	size_t k = 1, i;	/* the candidate */

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (configured_nodes == 0 || candidate == 0 || (incident == NULL && n_incident > 0) ||
	    !(max_fraction >= 0.0 && max_fraction <= 1.0))
		return -EINVAL;
	for (i = 0; i < n_incident; i++) {
		if (incident[i] == 0)
			return -EINVAL;
		if (incident[i] != candidate && !counted_before(incident, i))
			k++;
	}
	if (k > configured_nodes)
		return -EINVAL;
	if (configured_nodes < 3) {
		say(why, whylen, "node %u: the storm guard does not apply to a %u-node cluster",
		    candidate, configured_nodes);
		return HM_FENCE_NOW;
	}
	if (storm(configured_nodes, k, max_fraction)) {
		say(why, whylen, "node %u: %zu of %u configured hosts are lost in this incident, "
		    "%.2f > max_fence_fraction %.2f: fencing none (a network fault?)",
		    candidate, k, configured_nodes, (double)k / configured_nodes, max_fraction);
		return HM_FENCE_REFUSED;
	}
	say(why, whylen, "node %u: %zu of %u configured hosts are lost in this incident, "
	    "%.2f <= max_fence_fraction %.2f", candidate, k, configured_nodes,
	    (double)k / configured_nodes, max_fraction);
	return HM_FENCE_NOW;
}

/* ------------------------------------------------------------------ */
/* the no-fence window */

int hm_fence_window_check(int64_t window_start_ms, int64_t window_ms, int64_t now_ms,
			  int64_t *until_ms)
{
	int64_t end;

	if (window_ms < 0 || until_ms == NULL)
		return -EINVAL;
	*until_ms = 0;
	if (window_start_ms < 0 || window_ms == 0)
		return HM_FENCE_NOW;
	end = window_start_ms > INT64_MAX - window_ms ? INT64_MAX : window_start_ms + window_ms;
	if (now_ms >= end)
		return HM_FENCE_NOW;
	*until_ms = end;
	return HM_FENCE_WAIT;
}

/* ------------------------------------------------------------------ */
/* the per-host delay */

int64_t hm_fence_host_delay_ms(unsigned configured_nodes, uint32_t target, uint32_t self,
			       int64_t delay_ms, int64_t race_delay_ms)
{
	int64_t d = delay_ms > 0 ? delay_ms : 0;

	if (configured_nodes == 2 && target < self && race_delay_ms > 0)
		d = d > INT64_MAX - race_delay_ms ? INT64_MAX : d + race_delay_ms;
	return d;
}

/* ------------------------------------------------------------------ */
/* the whole decision */

static const char *const verdict_names[] = {
	"now", "wait", "refused", "not-coordinator", "no-quorum",
};

const char *hm_fence_verdict_to_str(enum hm_fence_verdict v)
{
	return (unsigned int)v < ARRAY_SIZE(verdict_names) ? verdict_names[v] : "invalid";
}

int hm_fence_decide(const struct hm_fence_situation *s, struct hm_fence_decision *d)
{
	int64_t window_end, delay, ready;
	int rc;

	if (s == NULL || d == NULL)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	if (s->target == 0 || s->self == 0 || s->target == s->self || s->window_ms < 0 ||
	    s->delay_ms < 0 || s->race_delay_ms < 0)
		return -EINVAL;
	if (!s->coordinator) {
		d->verdict = HM_FENCE_NOT_COORDINATOR;
		say(d->why, sizeof(d->why), "node %u: only the coordinator fences", s->target);
		return 0;
	}
	if (!s->quorate) {
		d->verdict = HM_FENCE_NO_QUORUM;
		say(d->why, sizeof(d->why), "node %u: no fencing without quorum", s->target);
		return 0;
	}
	rc = hm_fence_storm_check(s->configured_nodes, s->incident, s->n_incident, s->target,
				  s->max_fraction, d->why, sizeof(d->why));
	if (rc < 0)
		return rc;
	if (rc == HM_FENCE_REFUSED) {
		d->verdict = HM_FENCE_REFUSED;
		return 0;
	}
	rc = hm_fence_window_check(s->window_start_ms, s->window_ms, s->now_ms, &window_end);
	if (rc < 0)
		return rc;
	delay = hm_fence_host_delay_ms(s->configured_nodes, s->target, s->self, s->delay_ms,
				       s->race_delay_ms);
	ready = s->lost_ms > INT64_MAX - delay ? INT64_MAX : s->lost_ms + delay;
	if (rc == HM_FENCE_WAIT && window_end >= ready) {
		d->verdict = HM_FENCE_WAIT;
		d->until_ms = window_end;
		say(d->why, sizeof(d->why), "node %u: queued until the no-fence window ends "
		    "(%lld ms from now)", s->target, (long long)(window_end - s->now_ms));
		return 0;
	}
	if (s->now_ms < ready) {
		d->verdict = HM_FENCE_WAIT;
		d->until_ms = ready;
		say(d->why, sizeof(d->why), "node %u: fence delay of %lld ms after its loss%s "
		    "(%lld ms from now)", s->target, (long long)delay,
		    delay > (s->delay_ms > 0 ? s->delay_ms : 0) ? ", the 2-node race delay included"
								 : "",
		    (long long)(ready - s->now_ms));
		return 0;
	}
	d->verdict = HM_FENCE_NOW;
	return 0;
}

/* ------------------------------------------------------------------ */
/* levels */

static const char *const plan_names[] = { "run", "proven-off", "exhausted", "unprotected" };

const char *hm_fence_plan_kind_to_str(enum hm_fence_plan_kind k)
{
	return (unsigned int)k < ARRAY_SIZE(plan_names) ? plan_names[k] : "invalid";
}

static const char *const protection_names[] = { "protected", "degraded", "unprotected" };

const char *hm_fence_protection_to_str(enum hm_fence_protection p)
{
	return (unsigned int)p < ARRAY_SIZE(protection_names) ? protection_names[p] : "invalid";
}

/* the host's devices, sorted by (level, id) */
struct host_devices {
	const struct hm_fence_device **v;
	size_t n;
};

static int by_level_id(const void *a, const void *b)
{
	const struct hm_fence_device *x = *(const struct hm_fence_device *const *)a;
	const struct hm_fence_device *y = *(const struct hm_fence_device *const *)b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int host_devices_get(uint32_t host, const struct hm_fence_device *devices, size_t n,
			    struct host_devices *hd)
{
	size_t i, j, in_level;

	hd->v = NULL;
	hd->n = 0;
	if (host == 0 || (devices == NULL && n > 0))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (devices[i].id == 0 || devices[i].host == 0 || devices[i].level == 0)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (devices[j].id == devices[i].id)
				return -EINVAL;
	}
	hd->v = calloc(n ? n : 1, sizeof(*hd->v));
	if (hd->v == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (devices[i].host == host)
			hd->v[hd->n++] = &devices[i];
	qsort(hd->v, hd->n, sizeof(*hd->v), by_level_id);
	for (i = 0; i < hd->n; i = j) {
		for (j = i, in_level = 0; j < hd->n && hd->v[j]->level == hd->v[i]->level; j++)
			in_level++;
		if (in_level > HM_FENCE_LEVEL_DEVICES_MAX) {
			free(hd->v);
			hd->v = NULL;
			return -EINVAL;
		}
	}
	return 0;
}

/* the device's last result: -1 none, else its outcome */
static int last_result(const struct hm_fence_device_result *results, size_t n, uint32_t device)
{
	int r = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (results[i].device == device)
			r = (int)results[i].outcome;
	return r;
}

static int results_check(const struct host_devices *hd, const struct hm_fence_device_result *r,
			 size_t n)
{
	size_t i, j;
	bool found;

	if (r == NULL && n > 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (r[i].outcome != HM_FENCE_DEVICE_OK && r[i].outcome != HM_FENCE_DEVICE_FAILED)
			return -EINVAL;
		for (j = 0, found = false; j < hd->n && !found; j++)
			found = hd->v[j]->id == r[i].device;
		if (!found)
			return -EINVAL;
	}
	return 0;
}

static unsigned count_levels(const struct host_devices *hd)
{
	unsigned levels = 0;
	size_t i;

	for (i = 0; i < hd->n; i++)
		if (i == 0 || hd->v[i]->level != hd->v[i - 1]->level)
			levels++;
	return levels;
}

int hm_fence_plan(uint32_t host, const struct hm_fence_device *devices, size_t n_devices,
		  const struct hm_fence_device_result *results, size_t n_results,
		  struct hm_fence_plan *plan)
{
	struct host_devices hd;
	size_t i, j;
	int rc, r;

	if (plan == NULL)
		return -EINVAL;
	memset(plan, 0, sizeof(*plan));
	rc = host_devices_get(host, devices, n_devices, &hd);
	if (rc < 0)
		return rc;
	rc = results_check(&hd, results, n_results);
	if (rc < 0)
		goto free_hd;
	plan->levels = count_levels(&hd);
	if (hd.n == 0) {
		plan->kind = HM_FENCE_PLAN_UNPROTECTED;
		goto free_hd;
	}
	for (i = 0; i < hd.n; i = j) {
		bool failed = false;
		uint32_t next = 0;

		plan->n_devices = 0;
		for (j = i; j < hd.n && hd.v[j]->level == hd.v[i]->level; j++) {
			plan->devices[plan->n_devices++] = hd.v[j]->id;
			r = last_result(results, n_results, hd.v[j]->id);
			if (r == HM_FENCE_DEVICE_FAILED)
				failed = true;
			else if (r < 0 && next == 0)
				next = hd.v[j]->id;
		}
		if (failed)
			continue;	/* one device failed: the level failed */
		plan->level = hd.v[i]->level;
		if (next != 0) {
			plan->kind = HM_FENCE_PLAN_RUN;
			plan->next = next;
		} else {
			plan->kind = HM_FENCE_PLAN_PROVEN_OFF;
		}
		goto free_hd;
	}
	plan->kind = HM_FENCE_PLAN_EXHAUSTED;
	plan->level = 0;
	plan->n_devices = 0;
free_hd:
	free(hd.v);
	return rc;
}

int hm_fence_protection(uint32_t host, const struct hm_fence_device *devices, size_t n_devices,
			const struct hm_fence_device_result *monitor, size_t n_monitor)
{
	struct host_devices hd;
	unsigned good = 0, bad = 0;
	size_t i, j;
	int rc;

	rc = host_devices_get(host, devices, n_devices, &hd);
	if (rc < 0)
		return rc;
	rc = results_check(&hd, monitor, n_monitor);
	if (rc < 0)
		goto free_hd;
	for (i = 0; i < hd.n; i = j) {
		bool level_ok = true;

		for (j = i; j < hd.n && hd.v[j]->level == hd.v[i]->level; j++)
			if (last_result(monitor, n_monitor, hd.v[j]->id) != HM_FENCE_DEVICE_OK)
				level_ok = false;
		if (level_ok)
			good++;
		else
			bad++;
	}
	if (good == 0)
		rc = HM_FENCE_UNPROTECTED;
	else if (bad > 0)
		rc = HM_FENCE_DEGRADED;
	else
		rc = HM_FENCE_PROTECTED;
free_hd:
	free(hd.v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* records */

int hm_fence_attempt_format(const struct hm_fence_attempt *a, char *buf, size_t len)
{
	char who[128], exit_s[32];

	if (a == NULL || buf == NULL || len == 0)
		return -EINVAL;
	if (a->device != 0)
		snprintf(who, sizeof(who), "device %u (%s, level %u)", a->device, a->agent,
			 a->level);
	else
		snprintf(who, sizeof(who), "%s", a->agent[0] ? a->agent : "fencer");
	if (a->exit_status >= 0)
		snprintf(exit_s, sizeof(exit_s), "exit %d", a->exit_status);
	else
		snprintf(exit_s, sizeof(exit_s), "%s", a->status[0] ? a->status : "no exit");
	snprintf(buf, len, "node %u: %s %s: %s, %u %s, %lld ms, %s%s%s", a->host, who,
		 a->action, exit_s, a->tries, a->tries == 1 ? "try" : "tries",
		 (long long)(a->end_ms - a->start_ms), a->proof ? "proof of off" : "not proof",
		 a->reason[0] ? ": " : "", a->reason);
	return 0;
}
