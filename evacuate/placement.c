/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placement (placement.h, doc/placement.md): sort the hosts by node id and
 * the instances by rank, count the load once, then for each instance scan
 * the eligible hosts keeping the best by one fixed key.  O(instances x
 * eligible hosts) with a few compares each; affinity groups are interned
 * to small ids and "group g is on host h" is one lookup in a hash set.
 * No floating point past the capacity: fractions are compared exactly, so
 * every build on every architecture gives the same answer.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

#define NONE ((size_t)-1)
/* room kept at the end of a reason for ", and N more)" */
#define REASON_TAIL 32
/* a host's name in a reason is cut to this */
#define NAME_SHOWN 32

struct slot {
	const struct hm_host *host;
	uint32_t nodeid;
	const char *ineligible;		/* NULL: takes placements; else why not */
	uint64_t free_cpu;		/* vCPUs, overcommit included */
	uint64_t free_mem;		/* MiB */
	uint64_t cap_cpu, cap_mem;	/* the same, on an empty host */
};

/* one instance to place, in the order they are placed */
struct rank {
	const struct hm_instance *inst;
	size_t idx;			/* in in->want and res */
	long gid;			/* its interned affinity group; -1 = none */
};

/* "group gid has an instance on slot s": open addressing, key + 1 (0 = empty) */
struct group_set {
	uint64_t *keys;
	size_t mask;
	unsigned shift;
};

struct work {
	struct slot *slots;		/* every host, by node id */
	size_t n_slots;
	size_t *eligible;		/* slots that take placements, by node id */
	size_t n_eligible;
	uint32_t *members;		/* sorted copies */
	uint32_t *excluded;
	struct rank *ranks;
	const char **names;		/* uuids (for the duplicate check), then groups */
	size_t n_groups;
	struct group_set occupied;
};

bool hm_place_counts(const struct hm_instance *inst)
{
	return inst && inst->owner != 0 &&
	       (inst->observed == HM_OBSERVED_RUNNING || inst->observed == HM_OBSERVED_PAUSED ||
		inst->observed == HM_OBSERVED_UNKNOWN);
}

/* ---- small pure helpers -------------------------------------------------- */

static uint64_t sub_floor0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* floor(vcpus x overcommit), forgiving the binary rounding of a decimal
 * ratio (100 x 1.15 is 114.99999999999999 in a double: 115 is meant).
 * At most 2^32 x 1024: exact enough in a double, far from overflow. */
static uint64_t cpu_capacity(uint32_t vcpus, double overcommit)
{
	double x = (double)vcpus * overcommit;	/* >= 0: a cast is floor() */
	uint64_t near = (uint64_t)(x + 0.5);

	return (double)near - x < 1e-6 && x - (double)near < 1e-6 ? near : (uint64_t)x;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_slot(const void *a, const void *b)
{
	return cmp_u32(&((const struct slot *)a)->nodeid, &((const struct slot *)b)->nodeid);
}

/* priority descending, then memory, then vCPUs descending (the big ones
 * while there is room), then uuid: a total order, uuids being distinct */
static int cmp_rank(const void *a, const void *b)
{
	const struct hm_instance *x = ((const struct rank *)a)->inst;
	const struct hm_instance *y = ((const struct rank *)b)->inst;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->memory_mib != y->memory_mib)
		return x->memory_mib > y->memory_mib ? -1 : 1;
	if (x->vcpus != y->vcpus)
		return x->vcpus > y->vcpus ? -1 : 1;
	return strcmp(x->uuid, y->uuid);
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t id)
{
	return n && bsearch(&id, v, n, sizeof(*v), cmp_u32);
}

static size_t slot_of(const struct work *w, uint32_t nodeid)
{
	size_t lo = 0, hi = w->n_slots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->slots[mid].nodeid == nodeid)
			return mid;
		if (w->slots[mid].nodeid < nodeid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

static long group_of(const struct work *w, const char *group)
{
	const char **hit;

	if (!group || !w->n_groups)
		return -1;
	hit = bsearch(&group, w->names, w->n_groups, sizeof(*w->names), cmp_str_ptr);
	return hit ? (long)(hit - w->names) : -1;
}

/* ---- the group set ------------------------------------------------------- */

static size_t group_hash(const struct group_set *g, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> g->shift);
}

static uint64_t group_key(long gid, size_t slot)
{
	return ((uint64_t)gid << 32 | (uint64_t)slot) + 1;
}

static bool group_on(const struct group_set *g, long gid, size_t slot)
{
	uint64_t key = group_key(gid, slot);
	size_t i;

	for (i = group_hash(g, key);; i = (i + 1) & g->mask) {
		if (g->keys[i] == key)
			return true;
		if (!g->keys[i])
			return false;
	}
}

/* sized for every insert the call can make: never full */
static void group_add(struct group_set *g, long gid, size_t slot)
{
	uint64_t key = group_key(gid, slot);
	size_t i;

	for (i = group_hash(g, key); g->keys[i]; i = (i + 1) & g->mask)
		if (g->keys[i] == key)
			return;
	g->keys[i] = key;
}

/* ---- checks -------------------------------------------------------------- */

static bool counted_ok(size_t n, const void *v)
{
	return n == 0 || v != NULL;
}

static int check_input(const struct hm_place_input *in, const struct hm_place_result *res)
{
	size_t i;

	/* a group id and a slot index share one 64-bit key */
	if (in && (in->n_hosts > UINT32_MAX || in->n_want > UINT32_MAX))
		return -EINVAL;
	if (!in || !counted_ok(in->n_hosts, in->hosts) || !counted_ok(in->n_members, in->members) ||
	    !counted_ok(in->n_load, in->load) || !counted_ok(in->n_want, in->want) ||
	    !counted_ok(in->n_want, res) || !counted_ok(in->n_exclude_hosts, in->exclude_hosts))
		return -EINVAL;
	if (!isfinite(in->cpu_overcommit) || in->cpu_overcommit < 1.0 ||
	    in->cpu_overcommit > HM_PLACE_OVERCOMMIT_MAX)
		return -EINVAL;
	if ((unsigned)in->reserved_order >= HM_PLACE_RESERVED_ORDER_MAX ||
	    (unsigned)in->affinity >= HM_PLACE_AFFINITY_MAX)
		return -EINVAL;
	for (i = 0; i < in->n_hosts; i++)
		if (in->hosts[i].nodeid == 0)
			return -EINVAL;
	for (i = 0; i < in->n_load; i++)
		if (!in->load[i])
			return -EINVAL;
	for (i = 0; i < in->n_want; i++)
		if (!in->want[i].instance || !in->want[i].instance->uuid)
			return -EINVAL;
	return 0;
}

/* ---- the working set: one allocation ------------------------------------- */

static void *carve(char **p, size_t size)
{
	void *r = *p;

	*p += (size + 7) & ~(size_t)7;
	return r;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

static unsigned log2_of(size_t pow2)
{
	unsigned l = 0;

	while (pow2 >>= 1)
		l++;
	return l;
}

#define ROUND8(x) (((x) + 7) & ~(size_t)7)

static int work_alloc(const struct hm_place_input *in, struct work *w, void **ret_block)
{
	size_t n_set, size;
	char *block, *p;

	/* counts that large cannot be arrays the caller holds; below them no
	 * sum or product here wraps */
	if (in->n_load > SIZE_MAX / 256 || in->n_want > SIZE_MAX / 256 ||
	    in->n_hosts > SIZE_MAX / 256 || in->n_members > SIZE_MAX / 256 ||
	    in->n_exclude_hosts > SIZE_MAX / 256)
		return -ENOMEM;
	n_set = pow2_at_least(2 * (in->n_load + in->n_want) + 1);
	size = ROUND8(in->n_hosts * sizeof(struct slot)) + ROUND8(in->n_hosts * sizeof(size_t)) +
	       ROUND8(in->n_members * sizeof(uint32_t)) +
	       ROUND8(in->n_exclude_hosts * sizeof(uint32_t)) +
	       ROUND8(in->n_want * sizeof(struct rank)) + ROUND8(in->n_want * sizeof(char *)) +
	       n_set * sizeof(uint64_t);
	block = p = calloc(1, size);
	if (!block)
		return -ENOMEM;
	w->slots = carve(&p, in->n_hosts * sizeof(struct slot));
	w->eligible = carve(&p, in->n_hosts * sizeof(size_t));
	w->members = carve(&p, in->n_members * sizeof(uint32_t));
	w->excluded = carve(&p, in->n_exclude_hosts * sizeof(uint32_t));
	w->ranks = carve(&p, in->n_want * sizeof(struct rank));
	w->names = carve(&p, in->n_want * sizeof(char *));
	w->occupied.keys = carve(&p, n_set * sizeof(uint64_t));
	w->occupied.mask = n_set - 1;
	w->occupied.shift = 64 - log2_of(n_set);
	*ret_block = block;
	return 0;
}

/* ---- building the working set -------------------------------------------- */

/* sorted copies of the membership and the excluded hosts */
static void copy_sets(const struct hm_place_input *in, struct work *w)
{
	if (in->n_members) {
		memcpy(w->members, in->members, in->n_members * sizeof(uint32_t));
		qsort(w->members, in->n_members, sizeof(uint32_t), cmp_u32);
	}
	if (in->n_exclude_hosts) {
		memcpy(w->excluded, in->exclude_hosts, in->n_exclude_hosts * sizeof(uint32_t));
		qsort(w->excluded, in->n_exclude_hosts, sizeof(uint32_t), cmp_u32);
	}
}

/* the hosts by node id, each with what keeps it from taking placements;
 * -EINVAL for a node id twice */
static int build_slots(const struct hm_place_input *in, struct work *w)
{
	size_t i;

	for (i = 0; i < in->n_hosts; i++) {
		const struct hm_host *h = &in->hosts[i];
		struct slot *s = &w->slots[i];

		s->host = h;
		s->nodeid = h->nodeid;
		if (h->state != HM_HOST_ONLINE)
			s->ineligible = hm_host_state_to_str(h->state);
		else if (h->maintenance)
			s->ineligible = "in maintenance";
		else if (h->disabled)
			s->ineligible = "disabled";
		else if (!in_sorted(w->members, in->n_members, h->nodeid))
			s->ineligible = "not a member";
		else if (in_sorted(w->excluded, in->n_exclude_hosts, h->nodeid))
			s->ineligible = "excluded";
		s->free_cpu = cpu_capacity(h->vcpus, in->cpu_overcommit);
		s->free_mem = h->memory_mib;
		s->cap_cpu = s->free_cpu;
		s->cap_mem = s->free_mem;
	}
	w->n_slots = in->n_hosts;
	if (w->n_slots)
		qsort(w->slots, w->n_slots, sizeof(*w->slots), cmp_slot);
	for (i = 0; i < w->n_slots; i++) {
		if (i && w->slots[i].nodeid == w->slots[i - 1].nodeid)
			return -EINVAL;
		if (!w->slots[i].ineligible)
			w->eligible[w->n_eligible++] = i;
	}
	return 0;
}

/* the instances in the order they are placed, their groups interned;
 * -EINVAL for a uuid twice */
static int build_ranks(const struct hm_place_input *in, struct work *w)
{
	size_t i, n = 0;

	for (i = 0; i < in->n_want; i++)
		w->names[i] = in->want[i].instance->uuid;
	if (in->n_want)
		qsort(w->names, in->n_want, sizeof(*w->names), cmp_str_ptr);
	for (i = 1; i < in->n_want; i++)
		if (strcmp(w->names[i - 1], w->names[i]) == 0)
			return -EINVAL;
	/* the same array now holds the distinct groups, sorted */
	for (i = 0; i < in->n_want; i++)
		if (in->want[i].instance->affinity_group)
			w->names[n++] = in->want[i].instance->affinity_group;
	if (n)
		qsort(w->names, n, sizeof(*w->names), cmp_str_ptr);
	for (i = 0; i < n; i++)
		if (!w->n_groups || strcmp(w->names[w->n_groups - 1], w->names[i]) != 0)
			w->names[w->n_groups++] = w->names[i];
	for (i = 0; i < in->n_want; i++) {
		w->ranks[i].inst = in->want[i].instance;
		w->ranks[i].idx = i;
		w->ranks[i].gid = group_of(w, in->want[i].instance->affinity_group);
	}
	if (in->n_want)
		qsort(w->ranks, in->n_want, sizeof(*w->ranks), cmp_rank);
	return 0;
}

/* what the load uses, and where the groups being placed already run */
static void count_load(const struct hm_place_input *in, struct work *w)
{
	size_t i;

	for (i = 0; i < in->n_load; i++) {
		const struct hm_instance *inst = in->load[i];
		size_t s;
		long gid;

		if (!hm_place_counts(inst))
			continue;
		s = slot_of(w, inst->owner);
		if (s == NONE)
			continue;	/* not a known host: none of our capacity */
		w->slots[s].free_cpu = sub_floor0(w->slots[s].free_cpu, inst->vcpus);
		w->slots[s].free_mem = sub_floor0(w->slots[s].free_mem, inst->memory_mib);
		gid = group_of(w, inst->affinity_group);
		if (gid >= 0)
			group_add(&w->occupied, gid, s);
	}
}

/* ---- reasons ------------------------------------------------------------- */

struct text {
	char *buf;
	size_t len, max;
	size_t items, skipped;
};

__attribute__((format(printf, 2, 3)))
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len >= t->max - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->max - t->len, fmt, ap);
	va_end(ap);
	t->len = n < 0 ? t->len : t->len + (size_t)n;
	if (t->len >= t->max)
		t->len = t->max - 1;
}

/* one "host: why" of a list, whole or not at all, keeping room for the tail */
__attribute__((format(printf, 2, 3)))
static void text_item(struct text *t, const char *fmt, ...)
{
	char item[HM_PLACE_REASON_MAX];
	const char *sep = t->items ? ", " : "";
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	n = strlen(sep) + strlen(item);
	if (t->skipped || t->len + n + REASON_TAIL >= t->max) {
		t->skipped++;
		return;
	}
	text_add(t, "%s%s", sep, item);
	t->items++;
}

static void text_end_list(struct text *t)
{
	if (t->skipped)
		text_add(t, ", and %zu more)", t->skipped);
	else
		text_add(t, ")");
}

static const char *vcpus_word(uint64_t n)
{
	return n == 1 ? "vCPU" : "vCPUs";
}

static const char *name_of(const struct slot *s)
{
	return s->host->name ? s->host->name : "?";
}

/* why this host does not take this instance now; NULL: it would */
static const char *refusal(const struct hm_place_input *in, const struct work *w,
			   const struct rank *r, size_t si, char *buf, size_t len)
{
	const struct slot *s = &w->slots[si];
	const struct hm_instance *inst = r->inst;
	bool cpu_short = s->free_cpu < inst->vcpus, mem_short = s->free_mem < inst->memory_mib;

	if (s->ineligible)
		return s->ineligible;
	if (s->nodeid == inst->owner)
		return "its current host";
	if (s->nodeid == in->want[r->idx].exclude)
		return "failed there";
	if (cpu_short && mem_short)
		snprintf(buf, len, "%llu %s and %llu MiB free", (unsigned long long)s->free_cpu,
			 vcpus_word(s->free_cpu), (unsigned long long)s->free_mem);
	else if (cpu_short)
		snprintf(buf, len, "%llu %s free", (unsigned long long)s->free_cpu,
			 vcpus_word(s->free_cpu));
	else if (mem_short)
		snprintf(buf, len, "%llu MiB free", (unsigned long long)s->free_mem);
	else if (r->gid >= 0 && in->affinity == HM_PLACE_AFFINITY_STRICT &&
		 group_on(&w->occupied, r->gid, si))
		snprintf(buf, len, "group %.64s is there", inst->affinity_group);
	else
		return NULL;
	return buf;
}

static void explain_pending(const struct hm_place_input *in, const struct work *w,
			    const struct rank *r, char *reason)
{
	struct text t = { .buf = reason, .max = HM_PLACE_REASON_MAX };
	char why[HM_PLACE_REASON_MAX];
	const char *no;
	size_t i;
	int pass;

	text_add(&t, "needs %u %s and %llu MiB: ", r->inst->vcpus, vcpus_word(r->inst->vcpus),
		 (unsigned long long)r->inst->memory_mib);
	if (in->target) {
		i = slot_of(w, in->target);
		if (i == NONE) {
			text_add(&t, "target node %u: no such host", in->target);
			return;
		}
		no = refusal(in, w, r, i, why, sizeof(why));
		text_add(&t, "target %.*s: %s", NAME_SHOWN, name_of(&w->slots[i]),
			 no ? no : "refused");
		return;
	}
	if (!w->n_slots) {
		text_add(&t, "no hosts");
		return;
	}
	text_add(&t, w->n_eligible ? "no eligible host has room (" : "no eligible host (");
	/* the hosts that take placements first: their room is what matters */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < w->n_slots; i++) {
			if ((pass == 0) != !w->slots[i].ineligible)
				continue;
			if (t.skipped) {
				t.skipped++;	/* the list is full: count, don't format */
				continue;
			}
			no = refusal(in, w, r, i, why, sizeof(why));
			text_item(&t, "%.*s: %s", NAME_SHOWN, name_of(&w->slots[i]),
				  no ? no : "refused");
		}
	text_end_list(&t);
}

static void explain_placed(const struct slot *s, const struct rank *r, bool conflict,
			   char *reason)
{
	struct text t = { .buf = reason, .max = HM_PLACE_REASON_MAX };

	reason[0] = '\0';
	if (s->host->reserved)
		text_add(&t, "a reserved host");
	if (conflict)
		text_add(&t, "%sgroup %.64s is there too (soft anti-affinity)",
			 s->host->reserved ? "; " : "", r->inst->affinity_group);
}

/* ---- the round ----------------------------------------------------------- */

/* n/d, exact: compared by cross products in 128 bits */
struct frac {
	uint64_t n, d;
};

/* a x b as (hi, lo), portable to targets without a 128-bit type */
static void mul_wide(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);

	*lo = mid << 32 | (ll & 0xffffffffu);
	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static inline int cmp_frac(struct frac a, struct frac b)
{
	uint64_t ahi, alo, bhi, blo;

	if ((a.n | a.d | b.n | b.d) <= UINT32_MAX) {
		/* the common case, sizes in MiB below 4 PiB: one multiply each */
		alo = a.n * b.d;
		blo = b.n * a.d;
		return alo < blo ? -1 : alo > blo;
	}
	mul_wide(a.n, b.d, &ahi, &alo);
	mul_wide(b.n, a.d, &bhi, &blo);
	if (ahi != bhi)
		return ahi < bhi ? -1 : 1;
	return alo < blo ? -1 : alo > blo;
}

/* What a host would have left, after taking the instance, of whichever
 * resource it has less of (dominant-resource balance: a host short of
 * vCPUs and one short of memory are both "full").  A resource the host
 * has none of doesn't count (the instance needs none of it). */
static struct frac left_after(const struct slot *s, const struct hm_instance *inst)
{
	struct frac cpu = { s->free_cpu - inst->vcpus, s->cap_cpu };
	struct frac mem = { s->free_mem - inst->memory_mib, s->cap_mem };

	if (!cpu.d)
		return mem.d ? mem : (struct frac){ 0, 1 };
	if (!mem.d)
		return cpu;
	return cmp_frac(cpu, mem) <= 0 ? cpu : mem;
}

/* how good a host is for one instance; lexicographic, first field first */
struct choice {
	size_t slot;
	unsigned tier;			/* 0: the preferred tier (reserved or not) */
	bool conflict;			/* its group is there (soft) */
	struct frac left;		/* more is better */
	uint64_t free_mem, free_cpu;	/* more is better */
};

/* 0 for the preferred tier of hosts, 1 for the other */
static unsigned tier_of(const struct hm_place_input *in, const struct slot *s)
{
	return s->host->reserved != (in->reserved_order == HM_PLACE_RESERVED_FIRST);
}

/* strictly better only: candidates come by node id, so a tie stays with
 * the lower one */
static bool better(const struct choice *a, const struct choice *b)
{
	int c;

	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->conflict != b->conflict)
		return !a->conflict;
	c = cmp_frac(a->left, b->left);
	if (c)
		return c > 0;
	if (a->free_mem != b->free_mem)
		return a->free_mem > b->free_mem;
	return a->free_cpu > b->free_cpu;
}

static bool place_one(const struct hm_place_input *in, struct work *w, const struct rank *r,
		      struct hm_place_result *res)
{
	const struct hm_instance *inst = r->inst;
	uint32_t exclude = in->want[r->idx].exclude;
	const size_t *cand = w->eligible;
	size_t n_cand = w->n_eligible, k, target_slot;
	struct choice best = { .slot = NONE }, c;

	if (inst->storage == HM_STORAGE_LOCAL) {
		res->target = 0;
		if (inst->owner)
			snprintf(res->reason, sizeof(res->reason),
				 "local disk: it runs only where its disk is (node %u)", inst->owner);
		else
			snprintf(res->reason, sizeof(res->reason),
				 "local disk: it runs only where its disk is");
		return false;
	}
	if (in->target) {
		target_slot = slot_of(w, in->target);
		cand = &target_slot;
		n_cand = target_slot != NONE && !w->slots[target_slot].ineligible;
	}
	for (k = 0; k < n_cand; k++) {
		const struct slot *s = &w->slots[cand[k]];

		if (s->free_cpu < inst->vcpus || s->free_mem < inst->memory_mib ||
		    s->nodeid == inst->owner || s->nodeid == exclude)
			continue;
		c.conflict = r->gid >= 0 && group_on(&w->occupied, r->gid, cand[k]);
		if (c.conflict && in->affinity == HM_PLACE_AFFINITY_STRICT)
			continue;
		c.tier = tier_of(in, s);
		if (best.slot != NONE &&
		    (c.tier > best.tier || (c.tier == best.tier && c.conflict > best.conflict)))
			continue;	/* worse already: spare the fractions */
		c.slot = cand[k];
		c.left = left_after(s, inst);
		c.free_mem = s->free_mem;
		c.free_cpu = s->free_cpu;
		if (best.slot == NONE || better(&c, &best))
			best = c;
	}
	if (best.slot == NONE) {
		res->target = 0;
		explain_pending(in, w, r, res->reason);
		return false;
	}
	w->slots[best.slot].free_cpu -= inst->vcpus;
	w->slots[best.slot].free_mem -= inst->memory_mib;
	if (r->gid >= 0)
		group_add(&w->occupied, r->gid, best.slot);
	res->target = w->slots[best.slot].nodeid;
	explain_placed(&w->slots[best.slot], r, best.conflict, res->reason);
	return true;
}

int hm_place(const struct hm_place_input *in, struct hm_place_result *res, size_t *ret_placed)
{
	struct work w = { 0 };
	void *block = NULL;
	size_t i, placed = 0;
	int rc;

	rc = check_input(in, res);
	if (rc < 0)
		return rc;
	rc = work_alloc(in, &w, &block);
	if (rc < 0)
		return rc;
	copy_sets(in, &w);
	rc = build_slots(in, &w);
	if (rc < 0)
		goto free_block;
	rc = build_ranks(in, &w);
	if (rc < 0)
		goto free_block;
	count_load(in, &w);
	for (i = 0; i < in->n_want; i++)
		placed += place_one(in, &w, &w.ranks[i], &res[w.ranks[i].idx]);
	if (ret_placed)
		*ret_placed = placed;
free_block:
	free(block);
	return rc;
}
