/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The replicated operations against a real sqlite store: who may write
 * what, and what an observation may never do. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_common.h"
#include "ops.h"

static char dir[64], path[128];
static struct hm_store *st;
static char err[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_ops.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ops.db", dir);
	ck_assert_int_eq(hm_store_open(path, &st), 0);
	ck_assert_int_eq(hm_store_begin(st), 0);
}

static void teardown(void)
{
	char more[160];

	hm_store_rollback(st);
	hm_store_close(st);
	unlink(path);
	snprintf(more, sizeof(more), "%s-wal", path);
	unlink(more);
	snprintf(more, sizeof(more), "%s-shm", path);
	unlink(more);
	rmdir(dir);
}

/* parse + apply, as a member applies a delivered UPDATE */
static int apply(uint16_t op, uint32_t sender, const char *payload)
{
	json_object *o;
	int rc;

	err[0] = '\0';
	rc = hm_ops_parse(op, payload, strlen(payload), &o, err, sizeof(err));
	if (rc < 0)
		return rc;
	rc = hm_ops_apply(st, op, o, sender, 1700000000000ull, err, sizeof(err));
	json_object_put(o);
	return rc;
}

static const char *host(int id, const char *libvirt, const char *uuid)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"nodeid\":%d,\"name\":\"node%d\",\"boot_id\":\"b%d\",\"libvirt\":\"%s\","
		 "\"libvirt_uuid\":\"%s\",\"vcpus\":8,\"memory_mib\":16384}", id, id, id, libvirt, uuid);
	return buf;
}

static const char *inst(const char *uuid, const char *name, const char *observed)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"uuid\":\"%s\",\"name\":\"%s\",\"xml\":\"<domain/>\",\"vcpus\":1,\"memory_mib\":64,"
		 "\"storage\":\"shared\",\"ha_policy\":\"ha\",\"priority\":0,\"observed\":\"%s\"}",
		 uuid, name, observed);
	return buf;
}

#define U1 "11111111-1111-1111-1111-111111111111"
#define U2 "22222222-2222-2222-2222-222222222222"

START_TEST(test_malformed_payloads)
{
	json_object *o = NULL;

	ck_assert_int_eq(hm_ops_parse(0, "{}", 2, &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_ops_parse(HM_OP_MAX, "{}", 2, &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 1, "{\"key\":\"cpu_overcommit\"}"), -EINVAL);
	ck_assert_str_eq(err, "'value' is missing");
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 1, "{\"key\":\"cpu_overcommit\",\"value\":2}"), -EINVAL);
	ck_assert_str_eq(err, "'value' must be a string");
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 1,
			       "{\"key\":\"cpu_overcommit\",\"value\":\"2\",\"x\":1}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 1, "[]"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 1, "{} trailing"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1,
			       "{\"nodeid\":-1,\"name\":\"n\",\"boot_id\":\"b\",\"libvirt\":\"connected\","
			       "\"vcpus\":1,\"memory_mib\":1}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 1, inst(U1, "vm1", "levitating")), -EINVAL);
	ck_assert_str_eq(err, "observed: 'levitating' is not a valid value");
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 1, "{\"key\":\"cpu_overcommit\",\"value\":\"0.5\"}"),
			 -EINVAL);
}
END_TEST

START_TEST(test_host_publishes_only_itself)
{
	struct hm_host *h = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 2, host(1, "connected", U1)), -EINVAL);
	ck_assert_str_eq(err, "node 2 cannot publish node 1's observations");
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	ck_assert_int_eq(h->state, HM_HOST_ONLINE);
	ck_assert_uint_eq(h->vcpus, 8);
	ck_assert_str_eq(h->boot_id, "b1");
	free(h);
	/* a second host with the same libvirt host UUID is refused */
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 2, host(2, "connected", U1)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "duplicate libvirt host_uuid"));
}
END_TEST

START_TEST(test_operator_flags_survive_a_publish)
{
	struct hm_host *h = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	h->maintenance = true;
	ck_assert_int_eq(hm_store_host_upsert(st, h), 0);
	free(h);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	ck_assert(h->maintenance);
	free(h);
}
END_TEST

START_TEST(test_unreachable_libvirt_is_unknown_not_stopped)
{
	struct hm_instance *i = NULL;
	struct hm_host *h = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 1, inst(U2, "vm1", "running")), 0);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "unreachable", "")), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	ck_assert_int_eq(h->state, HM_HOST_DEGRADED);
	ck_assert_uint_eq(h->vcpus, 8);		/* the last known capacity stays */
	ck_assert_str_eq(h->libvirt_uuid, U1);
	free(h);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &i), 0);
	ck_assert_int_eq(i->observed, HM_OBSERVED_UNKNOWN);
	ck_assert_int_eq(i->requested, HM_REQUESTED_STARTED);
	free(i);
}
END_TEST

START_TEST(test_observation_never_moves_ownership)
{
	struct hm_instance *i = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 2, host(2, "connected", U2)), 0);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 1, inst(U2, "vm1", "running")), 0);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 2, inst(U2, "vm1", "running")), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "double run suspected"));
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 2, inst(U2, "vm1", "shutoff")), -EINVAL);
	ck_assert_ptr_null(strstr(err, "double run"));
	ck_assert_int_eq(apply(HM_OP_INSTANCE_GONE, 2, "{\"uuid\":\"" U2 "\"}"), -EINVAL);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &i), 0);
	ck_assert_uint_eq(i->owner, 1);
	free(i);
	/* its owner undefines it: gone; gone twice is done */
	ck_assert_int_eq(apply(HM_OP_INSTANCE_GONE, 1, "{\"uuid\":\"" U2 "\"}"), 0);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &i), -ENOENT);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_GONE, 1, "{\"uuid\":\"" U2 "\"}"), 0);
}
END_TEST

START_TEST(test_first_sight_sets_requested)
{
	struct hm_instance *i = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 1, inst(U2, "vm1", "shutoff")), 0);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &i), 0);
	ck_assert_int_eq(i->requested, HM_REQUESTED_STOPPED);
	free(i);
	/* started through libvirt: that is what its operator wants */
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 1, inst(U2, "vm1", "running")), 0);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &i), 0);
	ck_assert_int_eq(i->requested, HM_REQUESTED_STARTED);
	ck_assert_int_eq(i->observed, HM_OBSERVED_RUNNING);
	free(i);
	/* a crash says nothing of what is wanted: still started */
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 1, inst(U2, "vm1", "crashed")), 0);
	ck_assert_int_eq(hm_store_instance_get(st, U2, &i), 0);
	ck_assert_int_eq(i->requested, HM_REQUESTED_STARTED);
	free(i);
}
END_TEST

START_TEST(test_policy_ops)
{
	struct hm_policy_entry *e = NULL;

	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 3, "{\"key\":\"nope\",\"value\":\"1\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_POLICY_SET, 3, "{\"key\":\"cpu_overcommit\",\"value\":\"2\"}"), 0);
	ck_assert_int_eq(hm_store_policy_get(st, "cpu_overcommit", &e), 0);
	ck_assert_str_eq(e->value, "2");
	free(e);
	ck_assert_int_eq(apply(HM_OP_POLICY_DELETE, 3, "{\"key\":\"cpu_overcommit\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_POLICY_DELETE, 3, "{\"key\":\"cpu_overcommit\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_POLICY_DELETE, 3, "{\"key\":\"nope\"}"), -EINVAL);
}
END_TEST


static struct hm_instance *instance_row(const char *uuid)
{
	struct hm_instance *i = NULL;

	ck_assert_int_eq(hm_store_instance_get(st, uuid, &i), 0);
	return i;
}

static struct hm_job_step *step_row(uint64_t job, uint32_t seq)
{
	struct hm_job_step *p = NULL;

	ck_assert_int_eq(hm_store_job_step_get(st, job, seq, &p), 0);
	return p;
}

/* two hosts, an instance owned by node 2, and a recovery job of node 2 */
static void recovery_setup(void)
{
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 2, host(2, "connected", U2)), 0);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 2, inst(U1, "vm1", "running")), 0);
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 1,
			       "{\"id\":7,\"kind\":\"recovery\",\"target_host\":2,\"reason\":\"lost\"}"), 0);
}

START_TEST(test_job_lifecycle)
{
	struct hm_instance *i;
	struct hm_job_step *p;
	struct hm_host *h = NULL;
	struct hm_job *j = NULL;

	recovery_setup();
	/* one open recovery per host; ids are unique; kinds are known */
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 3, "{\"id\":8,\"kind\":\"recovery\",\"target_host\":2}"),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "job 7 (recovery of node 2) is still open"));
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 3, "{\"id\":7,\"kind\":\"drain\",\"target_host\":1}"),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "job id 7 is taken"));
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 3, "{\"id\":9,\"kind\":\"party\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 3, "{\"id\":0,\"kind\":\"drain\"}"), -EINVAL);

	/* the fence intent; only its executor says done; it fences node 2 */
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1,
			       "{\"job\":7,\"seq\":0,\"action\":\"fence\",\"host\":1}"), 0);
	ck_assert_int_eq(hm_store_job_get(st, 7, &j), 0);
	ck_assert_int_eq(j->state, HM_JOB_RUNNING);
	free(j);
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1,
			       "{\"job\":7,\"seq\":0,\"action\":\"fence\",\"host\":1}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_JOB_END, 1, "{\"id\":7,\"state\":\"done\"}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "1 step in flight"));
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 3, "{\"job\":7,\"seq\":0,\"state\":\"done\"}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "may only call its outcome unknown"));
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 1,
			       "{\"job\":7,\"seq\":0,\"state\":\"done\",\"result\":\"off\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 1, "{\"job\":7,\"seq\":0,\"state\":\"failed\"}"),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "already done"));
	ck_assert_int_eq(hm_store_host_get(st, 2, &h), 0);
	ck_assert_int_eq(h->state, HM_HOST_FENCED);
	ck_assert(h->disabled);
	free(h);

	/* ownership moves at the start intent, only from the job's host */
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1,
			       "{\"job\":7,\"seq\":1,\"action\":\"start\",\"host\":1}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "names its instance"));
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1, "{\"job\":7,\"seq\":1,\"action\":\"start\",\"host\":1,"
			       "\"instance\":\"" U1 "\"}"), 0);
	i = instance_row(U1);
	ck_assert_uint_eq(i->owner, 1);
	free(i);
	/* a retry on the same target is fine; another target is not */
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1, "{\"job\":7,\"seq\":2,\"action\":\"start\",\"host\":1,"
			       "\"instance\":\"" U1 "\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1, "{\"job\":7,\"seq\":3,\"action\":\"start\",\"host\":3,"
			       "\"instance\":\"" U1 "\"}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "belongs to node 1, not to the job's node 2"));
	/* the coordinator may say unknown for an executor that left */
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 3, "{\"job\":7,\"seq\":1,\"state\":\"unknown\","
			       "\"result\":\"node 1 left\"}"), 0);
	p = step_row(7, 1);
	ck_assert_int_eq(p->state, HM_STEP_UNKNOWN);
	ck_assert_str_eq(p->result, "node 1 left");
	free(p);
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 1, "{\"job\":7,\"seq\":2,\"state\":\"done\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 1, "{\"job\":7,\"seq\":2,\"state\":\"intent\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_JOB_END, 1, "{\"id\":7,\"state\":\"running\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_JOB_END, 1, "{\"id\":7,\"state\":\"done\",\"reason\":\"ok\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_JOB_END, 1, "{\"id\":7,\"state\":\"failed\"}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "already done"));
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1,
			       "{\"job\":7,\"seq\":9,\"action\":\"fence\",\"host\":1}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1,
			       "{\"job\":70,\"seq\":9,\"action\":\"fence\",\"host\":1}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "there is no job 70"));
	/* an ended job frees its kind and host for a new one */
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 3, "{\"id\":8,\"kind\":\"recovery\",\"target_host\":2}"), 0);
}
END_TEST

START_TEST(test_host_flags_state_history_fence_devices)
{
	struct hm_fence_device *d = NULL;
	struct hm_history_event *ev = NULL;
	struct hm_host *h = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(apply(HM_OP_HOST_FLAGS, 9, "{\"nodeid\":1}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_HOST_FLAGS, 9, "{\"nodeid\":1,\"disabled\":2}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_HOST_FLAGS, 9, "{\"nodeid\":4,\"disabled\":1}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no host with node id 4"));
	ck_assert_int_eq(apply(HM_OP_HOST_FLAGS, 9, "{\"nodeid\":1,\"disabled\":1,\"reserved\":1}"), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	ck_assert(h->disabled && h->reserved && !h->maintenance);
	free(h);
	ck_assert_int_eq(apply(HM_OP_HOST_STATE, 9, "{\"nodeid\":1,\"state\":\"online\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_HOST_STATE, 9, "{\"nodeid\":1,\"state\":\"lost\"}"), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	ck_assert_int_eq(h->state, HM_HOST_LOST);
	free(h);

	ck_assert_int_eq(apply(HM_OP_HISTORY, 2, "{\"id\":5,\"kind\":\"host.lost\",\"host\":1,"
			       "\"message\":\"node1 left the membership\"}"), 0);
	ck_assert_int_eq(hm_store_history_get(st, 5, &ev), 0);
	ck_assert_str_eq(ev->message, "node1 left the membership");
	ck_assert_int_eq(ev->ts_ms, 1700000000000ll);
	free(ev);
	ck_assert_int_eq(apply(HM_OP_HISTORY, 2, "{\"id\":6,\"kind\":\"Bad Kind\",\"message\":\"x\"}"),
			 -EINVAL);
	/* a fact kept while its member could not submit keeps its own time */
	ck_assert_int_eq(apply(HM_OP_HISTORY, 2, "{\"id\":7,\"kind\":\"host.fenced\",\"host\":1,"
			       "\"message\":\"off\",\"at_ms\":1699999997600}"), 0);
	ck_assert_int_eq(hm_store_history_get(st, 7, &ev), 0);
	ck_assert_int_eq(ev->ts_ms, 1699999997600ll);
	free(ev);
	/* not after the change's own time, not more than a day before */
	ck_assert_int_eq(apply(HM_OP_HISTORY, 2, "{\"id\":8,\"kind\":\"host.fenced\","
			       "\"message\":\"x\",\"at_ms\":1700000000001}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "at_ms"));
	ck_assert_int_eq(apply(HM_OP_HISTORY, 2, "{\"id\":8,\"kind\":\"host.fenced\","
			       "\"message\":\"x\",\"at_ms\":1600000000000}"), -EINVAL);

	ck_assert_int_eq(apply(HM_OP_FENCE_DEVICE_SET, 9, "{\"id\":1,\"host\":1,\"level\":1,"
			       "\"agent\":\"fence_ipmilan\",\"params\":\"ip=1\"}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'params' must be an object"));
	ck_assert_int_eq(apply(HM_OP_FENCE_DEVICE_SET, 9, "{\"id\":1,\"host\":1,\"level\":0,"
			       "\"agent\":\"fence_ipmilan\",\"params\":{}}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_FENCE_DEVICE_SET, 9, "{\"id\":1,\"host\":1,\"level\":1,"
			       "\"agent\":\"fence_ipmilan\",\"params\":{\"ip\":\"10.0.0.1\"}}"), 0);
	ck_assert_int_eq(hm_store_fence_device_get(st, 1, &d), 0);
	ck_assert_str_eq(d->params, "{\"ip\":\"10.0.0.1\"}");
	free(d);
	ck_assert_int_eq(apply(HM_OP_FENCE_DEVICE_DELETE, 9, "{\"id\":1}"), 0);
	ck_assert_int_eq(apply(HM_OP_FENCE_DEVICE_DELETE, 9, "{\"id\":1}"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no fence device 1"));
}
END_TEST

START_TEST(test_fence_view_published_and_kept)
{
	struct hm_host *h = NULL;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1,
			       "{\"nodeid\":1,\"name\":\"node1\",\"boot_id\":\"b\",\"libvirt\":\"connected\","
			       "\"vcpus\":8,\"memory_mib\":1024,\"fence_view\":{\"3\":{\"ok\":true}}}"), 0);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(hm_store_host_get(st, 1, &h), 0);
	ck_assert_str_eq(h->fence_view, "{\"3\":{\"ok\":true}}");
	free(h);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1,
			       "{\"nodeid\":1,\"name\":\"node1\",\"boot_id\":\"b\",\"libvirt\":\"connected\","
			       "\"vcpus\":8,\"memory_mib\":1024,\"fence_view\":[]}"), -EINVAL);
}
END_TEST

START_TEST(test_migration_owned_by_both_ends)
{
	struct hm_instance *i;

	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 1, host(1, "connected", U1)), 0);
	ck_assert_int_eq(apply(HM_OP_HOST_PUBLISH, 2, host(2, "connected", U2)), 0);
	ck_assert_int_eq(apply(HM_OP_INSTANCE_PUBLISH, 2, inst(U1, "vm1", "running")), 0);
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 1,
			       "{\"id\":3,\"kind\":\"migrate\",\"instance\":\"" U1 "\"}"), 0);
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 1,
			       "{\"id\":4,\"kind\":\"migrate\",\"instance\":\"" U1 "\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_JOB_CREATE, 1, "{\"id\":4,\"kind\":\"migrate\"}"), -EINVAL);
	/* from the owner only, to another host */
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1, "{\"job\":3,\"seq\":0,\"action\":\"migrate\","
			       "\"host\":1,\"target\":2,\"instance\":\"" U1 "\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1, "{\"job\":3,\"seq\":0,\"action\":\"migrate\","
			       "\"host\":2,\"target\":2,\"instance\":\"" U1 "\"}"), -EINVAL);
	ck_assert_int_eq(apply(HM_OP_STEP_INTENT, 1, "{\"job\":3,\"seq\":0,\"action\":\"migrate\","
			       "\"host\":2,\"target\":1,\"instance\":\"" U1 "\"}"), 0);
	/* the source's libvirt undefines it on success: that is no deletion */
	ck_assert_int_eq(apply(HM_OP_INSTANCE_GONE, 2, "{\"uuid\":\"" U1 "\"}"), 0);
	i = NULL;
	ck_assert_int_eq(hm_store_instance_get(st, U1, &i), 0);
	ck_assert_uint_eq(i->owner, 2);
	free(i);
	/* the recorded end moves it */
	ck_assert_int_eq(apply(HM_OP_STEP_RESULT, 2, "{\"job\":3,\"seq\":0,\"state\":\"done\"}"), 0);
	ck_assert_int_eq(hm_store_instance_get(st, U1, &i), 0);
	ck_assert_uint_eq(i->owner, 1);
	free(i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ops");

	add_tcase_fixture(s, test_malformed_payloads, setup, teardown);
	add_tcase_fixture(s, test_host_publishes_only_itself, setup, teardown);
	add_tcase_fixture(s, test_operator_flags_survive_a_publish, setup, teardown);
	add_tcase_fixture(s, test_unreachable_libvirt_is_unknown_not_stopped, setup, teardown);
	add_tcase_fixture(s, test_observation_never_moves_ownership, setup, teardown);
	add_tcase_fixture(s, test_first_sight_sets_requested, setup, teardown);
	add_tcase_fixture(s, test_policy_ops, setup, teardown);
	add_tcase_fixture(s, test_job_lifecycle, setup, teardown);
	add_tcase_fixture(s, test_migration_owned_by_both_ends, setup, teardown);
	add_tcase_fixture(s, test_fence_view_published_and_kept, setup, teardown);
	add_tcase_fixture(s, test_host_flags_state_history_fence_devices, setup, teardown);
	return hm_check_run(s);
}
