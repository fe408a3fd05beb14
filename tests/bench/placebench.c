/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * placebench: hm_place() at scale (doc/placement.md).  A seeded cluster of
 * hosts of mixed sizes, a few in maintenance, degraded or reserved, already
 * running some load; a round of instances of mixed sizes, priorities and
 * anti-affinity groups to place.  Each run times one hm_place() call with
 * CLOCK_MONOTONIC (the input is built once, outside the timing) and checks
 * that it gave the same answer as the first run.  It also reads the
 * thread's CPU clock around the call: on a shared machine the wall time
 * includes waiting for a CPU, the CPU time does not.
 *
 *   placebench [-n INSTANCES] [-H HOSTS] [-l LOAD] [-r RUNS] [-s SEED]
 *              [-f FILL] [-a strict|soft]
 *
 * -l: instances already running (counted, not placed); -f: how full the
 * round makes the cluster, in percent of its memory (above 100, many are
 * pending and each gets its reason).  Prints placed/pending, the median,
 * p99 and max wall time of a call, and its median and p99 CPU time.  Exit
 * 1 if the answers differ.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "placement.h"

#define GOAL_MS 100.0

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* xorshift32: the same cluster for the same seed, on every machine */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t pick(uint32_t *s, const uint32_t *v, size_t n)
{
	return v[rnd(s) % n];
}

struct cluster {
	struct hm_host *hosts;
	char (*host_names)[16];
	uint32_t *members;
	size_t n_hosts;
	struct hm_instance *insts;	/* the load, then the round */
	char (*uuids)[37];
	char (*groups)[16];
	const struct hm_instance **load;
	size_t n_load;
	struct hm_place_request *want;
	size_t n_want;
};

static void cluster_free(struct cluster *c)
{
	free(c->hosts);
	free(c->host_names);
	free(c->members);
	free(c->insts);
	free(c->uuids);
	free(c->groups);
	free(c->load);
	free(c->want);
}

static void make_instance(struct cluster *c, size_t i, uint32_t owner, uint32_t *seed)
{
	static const uint32_t vcpus[] = { 1, 1, 1, 1, 2, 2, 2, 2, 4, 8 };
	static const uint32_t gib[] = { 1, 2, 2, 4, 4, 4, 8, 8, 16, 32 };
	struct hm_instance *in = &c->insts[i];

	snprintf(c->uuids[i], sizeof(c->uuids[i]), "%08x-%04x-4%03x-8%03x-%012zx", rnd(seed),
		 rnd(seed) & 0xffff, rnd(seed) & 0xfff, rnd(seed) & 0xfff, i);
	*in = (struct hm_instance){ .uuid = c->uuids[i], .name = c->uuids[i],
				    .domain_xml = "<domain/>", .owner = owner,
				    .storage = rnd(seed) % 50 ? HM_STORAGE_SHARED : HM_STORAGE_LOCAL,
				    .vcpus = pick(seed, vcpus, sizeof(vcpus) / sizeof(vcpus[0])),
				    .memory_mib = 1024ull * pick(seed, gib, sizeof(gib) / sizeof(gib[0])),
				    .requested = HM_REQUESTED_STARTED, .ha_policy = HM_HA_POLICY_HA,
				    .priority = rnd(seed) % 4, .observed = HM_OBSERVED_RUNNING };
	/* one in five in an anti-affinity group of about five */
	if (rnd(seed) % 5 == 0) {
		snprintf(c->groups[i], sizeof(c->groups[i]), "group-%zu", (size_t)(rnd(seed) % 480));
		in->affinity_group = c->groups[i];
	}
}

/* hosts of mixed sizes; the round sized to fill fill_pct of the memory
 * left after the load */
static int cluster_make(struct cluster *c, size_t n_hosts, size_t n_load, size_t n_want,
			unsigned fill_pct, uint32_t seed)
{
	static const uint32_t cpus[] = { 32, 48, 64, 96, 128 };
	static const uint32_t gib[] = { 256, 384, 512, 768, 1024 };
	size_t i, n = n_load + n_want;

	c->hosts = calloc(n_hosts, sizeof(*c->hosts));
	c->host_names = calloc(n_hosts, sizeof(*c->host_names));
	c->members = calloc(n_hosts, sizeof(*c->members));
	c->insts = calloc(n, sizeof(*c->insts));
	c->uuids = calloc(n, sizeof(*c->uuids));
	c->groups = calloc(n, sizeof(*c->groups));
	c->load = calloc(n_load + 1, sizeof(*c->load));
	c->want = calloc(n_want + 1, sizeof(*c->want));
	if (!c->hosts || !c->host_names || !c->members || !c->insts || !c->uuids || !c->groups ||
	    !c->load || !c->want)
		return -ENOMEM;
	for (i = 0; i < n_hosts; i++) {
		struct hm_host *h = &c->hosts[i];

		snprintf(c->host_names[i], sizeof(c->host_names[i]), "node%zu", i + 1);
		*h = (struct hm_host){ .nodeid = (uint32_t)i + 1, .name = c->host_names[i],
				       .state = HM_HOST_ONLINE,
				       .vcpus = pick(&seed, cpus, sizeof(cpus) / sizeof(cpus[0])),
				       .memory_mib = 1024ull * pick(&seed, gib, sizeof(gib) / sizeof(gib[0])) };
		if (i % 32 == 5)
			h->maintenance = true;
		else if (i % 64 == 9)
			h->state = HM_HOST_DEGRADED;
		else if (i % 32 == 17)
			h->reserved = true;
		c->members[i] = h->nodeid;
	}
	c->n_hosts = n_hosts;
	for (i = 0; i < n_load; i++) {
		make_instance(c, i, (uint32_t)(rnd(&seed) % n_hosts) + 1, &seed);
		c->load[c->n_load++] = &c->insts[i];
	}
	for (i = n_load; i < n; i++) {
		make_instance(c, i, 0, &seed);
		c->want[c->n_want++].instance = &c->insts[i];
	}
	/* scale the round's memory to the fill asked for */
	{
		unsigned long long room = 0, used = 0, asked = 0;

		for (i = 0; i < n_hosts; i++)
			if (c->hosts[i].state == HM_HOST_ONLINE && !c->hosts[i].maintenance)
				room += c->hosts[i].memory_mib;
		for (i = 0; i < n_load; i++)
			used += c->insts[i].memory_mib;
		for (i = n_load; i < n; i++)
			asked += c->insts[i].memory_mib;
		for (i = n_load; i < n && asked && room > used; i++) {
			uint64_t m = c->insts[i].memory_mib * ((room - used) / 100 * fill_pct) / asked;

			c->insts[i].memory_mib = m < 256 ? 256 : m / 256 * 256;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: placebench [-n INSTANCES] [-H HOSTS] [-l LOAD] [-r RUNS] "
		"[-s SEED] [-f FILL%%] [-a strict|soft]\n");
}

int main(int argc, char **argv)
{
	size_t n_want = 10000, n_hosts = 128, n_load = 2000, runs = 200, i, placed = 0, p;
	size_t local = 0;
	unsigned fill = 90;
	uint32_t seed = 1;
	enum hm_place_affinity affinity = HM_PLACE_AFFINITY_STRICT;
	struct cluster c = { 0 };
	struct hm_place_result *res = NULL, *first = NULL;
	struct hm_place_input in;
	uint64_t *t = NULL, *cpu = NULL, t0, c0;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "n:H:l:r:s:f:a:h")) != -1) {
		switch (opt) {
		case 'n': n_want = strtoul(optarg, NULL, 10); break;
		case 'H': n_hosts = strtoul(optarg, NULL, 10); break;
		case 'l': n_load = strtoul(optarg, NULL, 10); break;
		case 'r': runs = strtoul(optarg, NULL, 10); break;
		case 's': seed = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': fill = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'a':
			if (strcmp(optarg, "strict") && strcmp(optarg, "soft")) {
				fprintf(stderr, "placebench: -a: '%s' is not strict or soft\n", optarg);
				return 2;
			}
			affinity = strcmp(optarg, "soft") ? HM_PLACE_AFFINITY_STRICT
							  : HM_PLACE_AFFINITY_SOFT;
			break;
		default: usage(); return 2;
		}
	}
	if (!n_hosts || !runs || !seed || n_hosts > 100000 || n_want > 10000000 ||
	    n_load > 10000000 || fill > 1000) {
		fprintf(stderr, "placebench: need 1..100000 hosts, at most 10^7 instances, "
			"runs > 0, seed > 0, fill <= 1000\n");
		return 2;
	}
	if (cluster_make(&c, n_hosts, n_load, n_want, fill, seed) < 0)
		goto oom;
	res = calloc(n_want + 1, sizeof(*res));
	first = calloc(n_want + 1, sizeof(*first));
	t = calloc(runs, sizeof(*t));
	cpu = calloc(runs, sizeof(*cpu));
	if (!res || !first || !t || !cpu)
		goto oom;
	in = (struct hm_place_input){ .hosts = c.hosts, .n_hosts = c.n_hosts,
				      .members = c.members, .n_members = c.n_hosts,
				      .load = c.load, .n_load = c.n_load,
				      .want = c.want, .n_want = c.n_want,
				      .cpu_overcommit = 4.0,
				      .reserved_order = HM_PLACE_RESERVED_LAST,
				      .affinity = affinity };
	for (i = 0; i < runs; i++) {
		c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		t0 = now_ns(CLOCK_MONOTONIC);
		rc = hm_place(&in, res, &p);
		t[i] = now_ns(CLOCK_MONOTONIC) - t0;
		cpu[i] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (rc < 0) {
			fprintf(stderr, "placebench: hm_place: %s\n", strerror(-rc));
			rc = 1;
			goto out;
		}
		if (i == 0) {
			memcpy(first, res, n_want * sizeof(*res));
			placed = p;
		} else if (p != placed || memcmp(first, res, n_want * sizeof(*res))) {
			fprintf(stderr, "placebench: run %zu gave another answer than run 1\n", i + 1);
			rc = 1;
			goto out;
		}
	}
	qsort(t, runs, sizeof(*t), cmp_u64);
	qsort(cpu, runs, sizeof(*cpu), cmp_u64);
	printf("placebench: %zu instances over %zu hosts (%zu running), %s anti-affinity, "
	       "fill %u%%, seed %u\n", n_want, n_hosts, n_load,
	       affinity == HM_PLACE_AFFINITY_STRICT ? "strict" : "soft", fill, seed);
	for (i = 0; i < n_want; i++)
		local += !first[i].target && c.want[i].instance->storage == HM_STORAGE_LOCAL;
	printf("  placed %zu, pending %zu (%zu on local disk); %zu runs: median %.2f ms, "
	       "p99 %.2f ms, max %.2f ms (goal <= %.0f ms: %s)\n", placed, n_want - placed, local,
	       runs, t[runs / 2] / 1e6,
	       t[(runs * 99 + 99) / 100 - 1] / 1e6, t[runs - 1] / 1e6, GOAL_MS,
	       t[(runs * 99 + 99) / 100 - 1] / 1e6 <= GOAL_MS ? "met" : "missed");
	/* on a shared machine the wall clock includes waiting for a CPU */
	printf("  CPU time of the call: median %.2f ms, p99 %.2f ms\n", cpu[runs / 2] / 1e6,
	       cpu[(runs * 99 + 99) / 100 - 1] / 1e6);
	for (i = 0; i < n_want; i++)
		if (!first[i].target && c.want[i].instance->storage != HM_STORAGE_LOCAL) {
			printf("  e.g. pending: %s\n", first[i].reason);
			break;
		}
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "placebench: out of memory\n");
	rc = 1;
out:
	free(cpu);
	free(t);
	free(first);
	free(res);
	cluster_free(&c);
	return rc;
}
