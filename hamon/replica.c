/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ops.h"
#include "replica.h"

#define SEND_RETRY_MS 20		/* CPG flow control: try again soon */
#define SYNC_CHUNK_MAX (HM_WIRE_MAX_MSG - 256)	/* rows per SYNC_DATA, with room for the header */
#define MSG_MAX_LEN 256

struct held_msg {
	uint32_t sender;
	size_t len;
	uint8_t *data;
};

struct pending_req {
	uint64_t request_id;
	uint64_t seq;			/* 0 until our own UPDATE came back */
	hm_replica_done_fn done;
	void *data;
};

struct out_msg {
	size_t len;
	uint8_t *data;
	bool sync;			/* part of a sync: dropped when the group changes */
};

struct node_seq {
	uint32_t nodeid;
	uint64_t seq;
	uint8_t checksum[HM_WIRE_CHECKSUM_LEN];
};

struct hm_replica {
	const struct hm_seam *seam;
	struct hm_membership *m;
	struct hm_store *store;
	struct hm_store_pos pos;
	bool in_txn;
	bool broken;			/* a local apply failed: waiting to rejoin */
	uint64_t last_ack_sent;
	uint32_t warned_refused;	/* the refused node we last said we ignore */

	/* acknowledgements received, per node */
	struct node_seq acked[HM_MAX_NODES];
	size_t n_acked;

	/* changes submitted here */
	uint64_t next_request;
	struct pending_req *pending;
	size_t n_pending, cap_pending;

	/* messages delivered while a sync is in progress */
	struct held_msg *held;
	size_t n_held, cap_held;

	/* what we multicast, in order, across CPG flow control */
	struct out_msg *out;
	size_t n_out, cap_out;
	bool retry_armed;
	hm_timer_t retry_timer;

	/* updates submitted in this turn of the main loop: one UPDATES */
	uint8_t *batch;			/* HM_WIRE_MAX_MSG bytes of entries */
	size_t batch_len;
	uint32_t batch_count;
	bool batch_armed;
	hm_timer_t batch_timer;

	/* the data transfer of the current sync */
	bool xfer;			/* a transfer is running in this epoch */
	bool xfer_need;			/* and we are one of those who need it */
	bool xfer_loading;		/* our load transaction is open */
	struct hm_sync_epoch xfer_epoch;
	uint32_t xfer_source;
	bool xfer_tables[HM_TABLE_MAX];	/* ours that differ from the source's */
	/* the source: bucket digests still to come, the buckets to send */
	size_t digests_due;
	bool send_table[HM_TABLE_MAX];
	uint8_t send_buckets[HM_TABLE_MAX][HM_WIRE_BUCKET_MAP];
	struct hm_store_digest *dig;	/* ours, at the start of the sync */

	/* checkpoints: one soon after changes, and one every period */
	hm_timer_t cp_timer, cp_period_timer;
	bool cp_armed, cp_period_armed;
	uint64_t cp_period_ms;
	uint64_t cp_next;
	uint64_t cp_id;
	uint64_t cp_seq;
	struct node_seq digests[HM_MAX_NODES];
	size_t n_digests;
};

static void log_msg(struct hm_replica *r, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cp_request(struct hm_replica *r);

static void log_msg(struct hm_replica *r, int prio, const char *fmt, ...)
{
	va_list ap;

	if (!r->seam->log)
		return;
	va_start(ap, fmt);
	r->seam->log(r->seam->ctx, prio, fmt, ap);
	va_end(ap);
}

/* grow a dynamic array by one element; -ENOMEM */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* outgoing queue                                                      */

static void out_retry_fire(void *data);

static void out_pump(struct hm_replica *r)
{
	size_t sent = 0;
	int rc = 0;

	while (sent < r->n_out) {
		rc = r->seam->send(r->seam->ctx, r->out[sent].data, r->out[sent].len);
		if (rc < 0)
			break;
		free(r->out[sent].data);
		sent++;
	}
	if (sent) {
		memmove(r->out, r->out + sent, (r->n_out - sent) * sizeof(*r->out));
		r->n_out -= sent;
	}
	if (r->n_out && !r->retry_armed &&
	    r->seam->timer_start(r->seam->ctx, SEND_RETRY_MS, out_retry_fire, r, &r->retry_timer) == 0)
		r->retry_armed = true;
	if (rc < 0 && rc != -EAGAIN)
		log_msg(r, LOG_DEBUG, "replica: send failed (%s), %zu message(s) queued",
			strerror(-rc), r->n_out);
}

static void out_retry_fire(void *data)
{
	struct hm_replica *r = data;

	r->retry_armed = false;
	out_pump(r);
}

static int batch_flush(struct hm_replica *r);

/* queue a message and send what flow control allows; what we submitted
 * before it goes first, so our messages keep their order */
static int out_send(struct hm_replica *r, const struct hm_msg *msg, bool sync)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (r->batch_count && msg->type != HM_MSG_UPDATES && msg->type != HM_MSG_UPDATE) {
		rc = batch_flush(r);
		if (rc < 0)
			return rc;
	}
	buf = malloc(HM_WIRE_MAX_MSG);
	if (!buf)
		return -ENOMEM;
	rc = hm_wire_encode(msg, buf, HM_WIRE_MAX_MSG, &len);
	if (rc < 0)
		goto free_buf;
	rc = grow((void **)&r->out, &r->cap_out, r->n_out, sizeof(*r->out));
	if (rc < 0)
		goto free_buf;
	r->out[r->n_out++] = (struct out_msg){ .len = len, .data = buf, .sync = sync };
	if (r->n_out == 1)
		out_pump(r);
	return 0;

free_buf:
	free(buf);
	return rc;
}

/* the updates of this turn go out as one message (a single one as an
 * UPDATE); -errno, and those updates are lost: their submitters hear
 * "outcome unknown" when the group changes, or at stop */
static int batch_flush(struct hm_replica *r)
{
	struct hm_msg msg = { .type = HM_MSG_UPDATES };
	size_t pos = 0;
	int rc;

	if (r->batch_armed)
		r->seam->timer_stop(r->seam->ctx, r->batch_timer);
	r->batch_armed = false;
	if (!r->batch_count)
		return 0;
	msg.u.updates.count = r->batch_count;
	msg.u.updates.entries = r->batch;
	msg.u.updates.entries_len = (uint32_t)r->batch_len;
	if (r->batch_count == 1) {
		msg.type = HM_MSG_UPDATE;
		hm_wire_updates_next(&msg.u.updates, &pos, &msg.u.update);
	}
	r->batch_count = 0;
	r->batch_len = 0;
	rc = out_send(r, &msg, false);
	if (rc < 0)
		log_msg(r, LOG_ERR, "replica: cannot send %u submitted change(s): %s",
			msg.type == HM_MSG_UPDATE ? 1 : msg.u.updates.count, strerror(-rc));
	return rc;
}

static void batch_fire(void *data)
{
	struct hm_replica *r = data;

	r->batch_armed = false;
	batch_flush(r);
}

/* 0, -EMSGSIZE (too large for an UPDATES alone), -ENOMEM */
static int batch_add(struct hm_replica *r, const struct hm_msg_update *u)
{
	int rc;

	if (!r->batch) {
		r->batch = malloc(HM_WIRE_MAX_MSG);
		if (!r->batch)
			return -ENOMEM;
	}
	rc = hm_wire_updates_add(r->batch, HM_WIRE_MAX_MSG, &r->batch_len, u);
	if (rc == -EMSGSIZE && r->batch_count) {
		/* full: send what we have, start another */
		batch_flush(r);
		rc = hm_wire_updates_add(r->batch, HM_WIRE_MAX_MSG, &r->batch_len, u);
	}
	if (rc < 0)
		return rc;
	r->batch_count++;
	/* at the end of this turn of the main loop */
	if (!r->batch_armed &&
	    r->seam->timer_start(r->seam->ctx, 0, batch_fire, r, &r->batch_timer) == 0)
		r->batch_armed = true;
	if (!r->batch_armed)
		return batch_flush(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* applying updates                                                    */

int hm_replica_validate(uint16_t op, const char *payload, size_t len, char *err, size_t errlen)
{
	json_object *o;
	int rc;

	rc = hm_ops_parse(op, payload, len, &o, err, errlen);
	if (rc < 0)
		return rc;
	json_object_put(o);
	return 0;
}

/* 0, -EINVAL (refused the same way on every member), or another -errno:
 * the store failed here, and this replica can no longer be trusted */
static int apply_update(struct hm_replica *r, uint32_t sender, const struct hm_msg_update *u,
			char *err, size_t errlen)
{
	json_object *o;
	int rc;

	rc = hm_ops_parse(u->op, (const char *)u->payload, u->payload_len, &o, err, errlen);
	if (rc < 0)
		return rc;
	rc = hm_ops_apply(r->store, u->op, o, sender, u->ts_ms, err, errlen);
	json_object_put(o);
	return rc;
}

static struct pending_req *pending_find(struct hm_replica *r, uint64_t request_id)
{
	size_t i;

	for (i = 0; i < r->n_pending; i++)
		if (r->pending[i].request_id == request_id)
			return &r->pending[i];
	return NULL;
}

static void pending_finish(struct hm_replica *r, size_t idx, int rc, const char *msg)
{
	struct pending_req p = r->pending[idx];

	memmove(&r->pending[idx], &r->pending[idx + 1], (r->n_pending - idx - 1) * sizeof(p));
	r->n_pending--;
	p.done(p.data, rc, p.seq, msg);
}

/* our replica failed: never serve it, and get a fresh copy through a sync */
static void replica_broken(struct hm_replica *r, const char *why)
{
	if (r->broken)
		return;
	r->broken = true;
	if (r->in_txn)
		hm_store_rollback(r->store);
	r->in_txn = false;
	log_msg(r, LOG_ERR, "replica: %s; leaving the group to resync", why);
	if (r->seam->rejoin)
		r->seam->rejoin(r->seam->ctx, why);
}

static void on_update(struct hm_replica *r, uint32_t sender, const struct hm_msg_update *u)
{
	char err[MSG_MAX_LEN] = "";
	struct pending_req *p;
	int rc;

	if (r->broken)
		return;
	if (!r->in_txn) {
		rc = hm_store_begin(r->store);
		if (rc < 0) {
			replica_broken(r, "cannot begin a transaction");
			return;
		}
		r->in_txn = true;
	}
	rc = apply_update(r, sender, u, err, sizeof(err));
	if (rc < 0 && rc != -EINVAL) {
		replica_broken(r, err);
		return;
	}
	r->pos.applied_seq++;
	if (rc == -EINVAL)
		log_msg(r, LOG_NOTICE, "replica: %s from node %u refused at seq %llu: %s",
			hm_update_op_to_str(u->op), sender, (unsigned long long)r->pos.applied_seq, err);
	if (sender != hm_membership_local_nodeid(r->m))
		return;
	p = pending_find(r, u->request_id);
	if (!p)
		return;
	if (rc == -EINVAL) {
		pending_finish(r, (size_t)(p - r->pending), -EINVAL, err);
		return;
	}
	p->seq = r->pos.applied_seq;
}

/* accepted once the acknowledging members hold the votes needed */
static void check_accepted(struct hm_replica *r)
{
	const uint32_t *group;
	size_t n = hm_membership_group_members(r->m, &group), i, j, k, votes;

	for (i = 0; i < r->n_pending;) {
		struct pending_req *p = &r->pending[i];

		if (!p->seq) {
			i++;
			continue;
		}
		votes = 0;
		for (j = 0; j < n; j++)
			for (k = 0; k < r->n_acked; k++)
				if (r->acked[k].nodeid == group[j] && r->acked[k].seq >= p->seq)
					votes++;
		if (votes >= hm_membership_votes_needed(r->m))
			pending_finish(r, i, 0, "accepted");
		else
			i++;
	}
}

static void on_ack(struct hm_replica *r, uint32_t sender, const struct hm_msg_ack *a)
{
	size_t k;

	for (k = 0; k < r->n_acked; k++)
		if (r->acked[k].nodeid == sender)
			break;
	if (k == r->n_acked) {
		if (k == HM_MAX_NODES)
			return;
		r->acked[r->n_acked++].nodeid = sender;
	}
	if (a->applied_seq > r->acked[k].seq)
		r->acked[k].seq = a->applied_seq;
	check_accepted(r);
}

void hm_replica_flush(struct hm_replica *r)
{
	struct hm_msg ack = { .type = HM_MSG_ACK };
	struct hm_ring_id lq = hm_membership_last_quorate(r->m);
	int rc;

	if (r->broken)
		return;
	/* the membership advanced how new our data is: make it durable too */
	if (!hm_ring_id_equal(&lq, &r->pos.last_quorate)) {
		r->pos.last_quorate = lq;
		if (!r->in_txn && hm_store_begin(r->store) == 0)
			r->in_txn = true;
	}
	if (!r->in_txn)
		goto ack;
	rc = hm_store_pos_set(r->store, &r->pos);
	if (rc == 0)
		rc = hm_store_commit(r->store);
	else
		hm_store_rollback(r->store);
	r->in_txn = false;
	if (rc < 0) {
		replica_broken(r, "cannot commit applied changes");
		return;
	}
	cp_request(r);
ack:
	if (r->broken || r->pos.applied_seq <= r->last_ack_sent)
		return;
	ack.u.ack.applied_seq = r->pos.applied_seq;
	if (out_send(r, &ack, false) == 0)
		r->last_ack_sent = r->pos.applied_seq;
}

/* ------------------------------------------------------------------ */
/* checkpoints                                                         */

static void on_checkpoint(struct hm_replica *r, const struct hm_msg_checkpoint *cp)
{
	struct hm_msg dg = { .type = HM_MSG_DIGEST };

	/* everyone digests at this same point of the total order */
	hm_replica_flush(r);
	if (r->broken)
		return;
	r->cp_id = cp->id;
	r->cp_seq = r->pos.applied_seq;
	r->n_digests = 0;
	dg.u.digest.checkpoint = cp->id;
	dg.u.digest.applied_seq = r->pos.applied_seq;
	if (hm_store_checksum(r->store, dg.u.digest.checksum) < 0) {
		replica_broken(r, "cannot compute the store checksum");
		return;
	}
	out_send(r, &dg, false);
}

static void on_digest(struct hm_replica *r, uint32_t sender, const struct hm_msg_digest *d)
{
	if (d->checkpoint != r->cp_id || r->n_digests == HM_MAX_NODES)
		return;
	r->digests[r->n_digests++] = (struct node_seq){ .nodeid = sender, .seq = d->applied_seq };
	memcpy(r->digests[r->n_digests - 1].checksum, d->checksum, HM_WIRE_CHECKSUM_LEN);
}

static bool is_coordinator(const struct hm_replica *r)
{
	return hm_membership_coordinator(r->m) == hm_membership_local_nodeid(r->m);
}

static void cp_send(struct hm_replica *r)
{
	struct hm_msg cp = { .type = HM_MSG_CHECKPOINT };

	if (!is_coordinator(r))
		return;
	cp.u.checkpoint.id = ++r->cp_next;
	out_send(r, &cp, false);
}

static void cp_fire(void *data)
{
	struct hm_replica *r = data;

	r->cp_armed = false;
	cp_send(r);
}

/* something changed: the coordinator asks for a checkpoint soon (changes
 * in between share it) */
static void cp_request(struct hm_replica *r)
{
	if (!is_coordinator(r) || r->cp_armed)
		return;
	if (r->seam->timer_start(r->seam->ctx, HM_CHECKPOINT_DELAY_MS, cp_fire, r, &r->cp_timer) == 0)
		r->cp_armed = true;
}

static void cp_period_fire(void *data)
{
	struct hm_replica *r = data;

	r->cp_period_armed = false;
	cp_send(r);
	if (r->cp_period_ms &&
	    r->seam->timer_start(r->seam->ctx, r->cp_period_ms, cp_period_fire, r,
				 &r->cp_period_timer) == 0)
		r->cp_period_armed = true;
}

void hm_replica_set_checkpoint_period(struct hm_replica *r, uint64_t period_ms)
{
	if (r->cp_period_armed)
		r->seam->timer_stop(r->seam->ctx, r->cp_period_timer);
	r->cp_period_armed = false;
	r->cp_period_ms = period_ms;
	if (period_ms && r->seam->timer_start(r->seam->ctx, period_ms, cp_period_fire, r,
					      &r->cp_period_timer) == 0)
		r->cp_period_armed = true;
}

/* ------------------------------------------------------------------ */
/* sync: data transfer                                                 */

struct chunker {
	struct hm_replica *r;
	struct hm_msg msg;
	uint8_t *buf;
	size_t len;
	int rc;
};

static int chunk_send(struct chunker *c)
{
	c->msg.u.sync_data.payload = c->buf;
	c->msg.u.sync_data.payload_len = (uint32_t)c->len;
	c->rc = out_send(c->r, &c->msg, true);
	/* the next chunks of these buckets name none */
	c->msg.u.sync_data.flags = 0;
	memset(c->msg.u.sync_data.buckets, 0, sizeof(c->msg.u.sync_data.buckets));
	c->len = 0;
	return c->rc;
}

static int chunk_row(const char *row, size_t len, void *data)
{
	struct chunker *c = data;

	if (len + 1 > SYNC_CHUNK_MAX)
		return -EMSGSIZE;
	if (c->len + len + 1 > SYNC_CHUNK_MAX && chunk_send(c) < 0)
		return c->rc;
	memcpy(c->buf + c->len, row, len);
	c->len += len;
	c->buf[c->len++] = '\n';
	return 0;
}

static bool map_empty(const uint8_t *map)
{
	size_t i;

	for (i = 0; i < HM_WIRE_BUCKET_MAP; i++)
		if (map[i])
			return false;
	return true;
}

/* the source sends the buckets someone lacks, then SYNC_END */
static int send_buckets(struct hm_replica *r)
{
	struct chunker c = { .r = r, .msg = { .type = HM_MSG_SYNC_DATA } };
	struct hm_msg end = { .type = HM_MSG_SYNC_END };
	int t, rc = 0;
	size_t n_buckets = 0, b;

	c.buf = malloc(SYNC_CHUNK_MAX);
	if (!c.buf)
		return -ENOMEM;
	c.msg.u.sync_data.epoch = r->xfer_epoch;
	for (t = 0; t < HM_TABLE_MAX && rc == 0; t++) {
		if (!r->send_table[t] || map_empty(r->send_buckets[t]))
			continue;
		for (b = 0; b < HM_WIRE_SYNC_BUCKETS; b++)
			n_buckets += (r->send_buckets[t][b / 8] >> (b % 8)) & 1;
		c.msg.u.sync_data.table = (uint16_t)t;
		c.msg.u.sync_data.flags = HM_SYNC_DATA_FIRST;
		memcpy(c.msg.u.sync_data.buckets, r->send_buckets[t], HM_WIRE_BUCKET_MAP);
		c.len = 0;
		rc = hm_store_table_dump_buckets(r->store, (enum hm_store_table)t, r->send_buckets[t],
						 chunk_row, &c);
		/* the buckets end with a chunk, an empty one if they hold no row */
		if (rc == 0 && (c.len || c.msg.u.sync_data.flags))
			rc = chunk_send(&c);
	}
	free(c.buf);
	if (rc < 0)
		return rc;
	log_msg(r, LOG_NOTICE, "replica: sync: sending %zu bucket(s) that differ (of %d a table)",
		n_buckets, HM_WIRE_SYNC_BUCKETS);
	end.u.sync_end.epoch = r->xfer_epoch;
	end.u.sync_end.last_quorate = r->pos.last_quorate;
	end.u.sync_end.applied_seq = r->pos.applied_seq;
	rc = hm_store_policy_version(r->store, &end.u.sync_end.policy_version);
	if (rc == 0)
		rc = hm_store_checksum(r->store, end.u.sync_end.checksum);
	if (rc == 0)
		rc = out_send(r, &end, true);
	return rc;
}

_Static_assert(HM_WIRE_SYNC_TABLES == HM_TABLE_MAX, "SYNC_STATE has a checksum per table");
_Static_assert(HM_WIRE_SYNC_BUCKETS == HM_STORE_SYNC_BUCKETS, "digests of the store's buckets");
_Static_assert(HM_WIRE_CHECKSUM_LEN == HM_STORE_CHECKSUM_LEN, "the store's digests");

/* our digest, from one pass over the store (tables not written since the
 * last one are not read again); NULL if the store failed */
static const struct hm_store_digest *our_digest(struct hm_replica *r)
{
	if (!r->dig) {
		r->dig = malloc(sizeof(*r->dig));
		if (!r->dig)
			return NULL;
	}
	return hm_store_digest(r->store, r->dig) == 0 ? r->dig : NULL;
}

static void local_position(void *data, struct hm_msg_sync_state *st)
{
	struct hm_replica *r = data;
	const struct hm_store_digest *d = NULL;

	hm_replica_flush(r);
	if (!r->broken)
		d = our_digest(r);
	if (d) {
		memcpy(st->checksum, d->checksum, HM_WIRE_CHECKSUM_LEN);
		memcpy(st->table_sums, d->tables, sizeof(st->table_sums));
		st->applied_seq = r->pos.applied_seq;
		return;
	}
	/* a broken replica claims no data and impossible checksums: it is
	 * never the source and always takes every table */
	r->broken = true;
	st->last_quorate = (struct hm_ring_id){ 0, 0 };
	st->applied_seq = 0;
	memset(st->checksum, 0xff, sizeof(st->checksum));
	memset(st->table_sums, 0xff, sizeof(st->table_sums));
}

static bool same_state(const struct hm_msg_sync_state *a, const struct hm_msg_sync_state *b)
{
	return a->applied_seq == b->applied_seq &&
	       memcmp(a->checksum, b->checksum, HM_WIRE_CHECKSUM_LEN) == 0;
}

/* we differ from the source: our bucket digests of each table that differs
 * (impossible ones if our store cannot say: then we take every bucket) */
static int send_digests(struct hm_replica *r)
{
	const struct hm_store_digest *d = r->broken ? NULL : our_digest(r);
	struct hm_msg *msg = calloc(1, sizeof(*msg));
	int t, rc = 0;

	if (!msg)
		return -ENOMEM;
	msg->type = HM_MSG_SYNC_DIGESTS;
	msg->u.sync_digests.epoch = r->xfer_epoch;
	for (t = 0; t < HM_TABLE_MAX && rc == 0; t++) {
		if (!r->xfer_tables[t])
			continue;
		msg->u.sync_digests.table = (uint16_t)t;
		if (d)
			memcpy(msg->u.sync_digests.digests, d->buckets[t], sizeof(d->buckets[t]));
		else
			memset(msg->u.sync_digests.digests, 0xff, sizeof(msg->u.sync_digests.digests));
		rc = out_send(r, msg, true);
	}
	free(msg);
	return rc;
}

/*
 * Digest first: every member whose state differs from the source's states
 * its bucket digests of each table whose checksum differs (SYNC_DIGESTS);
 * once the source has them all it sends the rows of every bucket that
 * differs for someone, and SYNC_END.  Who states what follows from the
 * states every member has, so the source knows how many to wait for.
 */
static bool collected(void *data, const struct hm_sync_epoch *epoch, const uint32_t *group,
		      const struct hm_msg_sync_state *states, size_t n, size_t source)
{
	struct hm_replica *r = data;
	uint32_t local = hm_membership_local_nodeid(r->m);
	bool any = false;
	size_t i, t, n_tables = 0;

	r->xfer_need = false;
	r->digests_due = 0;
	memset(r->xfer_tables, 0, sizeof(r->xfer_tables));
	memset(r->send_table, 0, sizeof(r->send_table));
	memset(r->send_buckets, 0, sizeof(r->send_buckets));
	for (i = 0; i < n; i++) {
		if (same_state(&states[i], &states[source]))
			continue;
		any = true;
		if (group[i] == local)
			r->xfer_need = true;
		for (t = 0; t < HM_TABLE_MAX; t++) {
			if (memcmp(states[i].table_sums[t], states[source].table_sums[t],
				   HM_WIRE_CHECKSUM_LEN) == 0)
				continue;
			r->digests_due++;
			if (!r->send_table[t])
				n_tables++;
			r->send_table[t] = true;
			if (group[i] == local)
				r->xfer_tables[t] = true;
		}
	}
	if (!any)
		return false;
	r->xfer = true;
	r->xfer_epoch = *epoch;
	r->xfer_source = group[source];
	log_msg(r, LOG_NOTICE, "replica: sync from node %u (seq %llu, %zu table(s) differ)%s",
		group[source], (unsigned long long)states[source].applied_seq, n_tables,
		r->xfer_need ? ": our data differs, taking the source's" : "");
	if (r->xfer_need && send_digests(r) < 0)
		replica_broken(r, "cannot state our digests to the sync's source");
	/* only the positions differ: nothing to wait for */
	if (group[source] == local && r->digests_due == 0 && send_buckets(r) < 0)
		replica_broken(r, "cannot send our data to the members that need it");
	return true;
}

static bool xfer_ours(const struct hm_replica *r, uint32_t sender, const struct hm_sync_epoch *e)
{
	return r->xfer && sender == r->xfer_source && e->leader == r->xfer_epoch.leader &&
	       e->counter == r->xfer_epoch.counter;
}

static void xfer_abort(struct hm_replica *r)
{
	if (r->xfer_loading)
		hm_store_rollback(r->store);
	r->xfer_loading = false;
	r->xfer = false;
	r->xfer_need = false;
	r->digests_due = 0;
}

/* the source: a member's bucket digests; the buckets that differ go */
static void on_sync_digests(struct hm_replica *r, uint32_t sender,
			    const struct hm_msg_sync_digests *sg)
{
	const struct hm_store_digest *d;
	size_t b;

	if (!r->xfer || r->xfer_source != hm_membership_local_nodeid(r->m) ||
	    sg->epoch.leader != r->xfer_epoch.leader || sg->epoch.counter != r->xfer_epoch.counter ||
	    !r->digests_due)
		return;
	d = r->broken ? NULL : our_digest(r);
	if (!d) {
		replica_broken(r, "cannot digest our data for a sync");
		return;
	}
	for (b = 0; b < HM_WIRE_SYNC_BUCKETS; b++)
		if (memcmp(sg->digests[b], d->buckets[sg->table][b], HM_WIRE_CHECKSUM_LEN) != 0)
			r->send_buckets[sg->table][b / 8] |= (uint8_t)(1u << (b % 8));
	log_msg(r, LOG_DEBUG, "replica: node %u states its digests of %s", sender,
		hm_store_table_to_str((enum hm_store_table)sg->table));
	if (--r->digests_due == 0 && send_buckets(r) < 0)
		replica_broken(r, "cannot send our data to the members that need it");
}

static void on_sync_data(struct hm_replica *r, uint32_t sender, const struct hm_msg_sync_data *sd)
{
	const char *p = (const char *)sd->payload, *end = p + sd->payload_len, *nl;
	int rc = 0;

	/* decoding refused an unknown table; ours equal to the source's stay */
	if (!xfer_ours(r, sender, &sd->epoch) || !r->xfer_need || !r->xfer_tables[sd->table])
		return;
	if (!r->xfer_loading) {
		/* what was applied before the sync is ours to keep, never undone */
		hm_replica_flush(r);
		rc = hm_store_sync_begin(r->store);
		if (rc < 0)
			goto broken;
		r->xfer_loading = true;
	}
	if (sd->flags & HM_SYNC_DATA_FIRST) {
		rc = hm_store_table_load_buckets_begin(r->store, (enum hm_store_table)sd->table,
						       sd->buckets);
		if (rc < 0)
			goto broken;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			rc = -EBADMSG;
			goto broken;
		}
		rc = hm_store_table_load_row(r->store, (enum hm_store_table)sd->table, p, (size_t)(nl - p));
		if (rc < 0)
			goto broken;
	}
	return;

broken:
	xfer_abort(r);
	log_msg(r, LOG_ERR, "replica: loading %s from node %u failed: %s",
		hm_store_table_to_str((enum hm_store_table)sd->table), sender, strerror(-rc));
	replica_broken(r, "a sync transfer could not be loaded");
}

static void on_sync_end(struct hm_replica *r, uint32_t sender, const struct hm_msg_sync_end *se)
{
	uint8_t sum[HM_WIRE_CHECKSUM_LEN];
	struct hm_sync_epoch epoch = se->epoch;
	int rc = 0;

	if (!xfer_ours(r, sender, &se->epoch))
		return;
	if (r->xfer_need) {
		struct hm_store_pos pos = { .last_quorate = se->last_quorate, .applied_seq = se->applied_seq };

		if (!r->xfer_loading) {
			/* no bucket of ours differed: only the position (and
			 * the policy version) are the source's */
			hm_replica_flush(r);
			rc = hm_store_sync_begin(r->store);
			r->xfer_loading = rc == 0;
		}
		if (rc == 0)
			rc = hm_store_policy_version_set(r->store, se->policy_version);
		if (rc == 0)
			rc = hm_store_pos_set(r->store, &pos);
		if (rc == 0)
			rc = hm_store_commit(r->store);
		else if (r->xfer_loading)
			hm_store_rollback(r->store);
		r->xfer_loading = false;
		if (rc == 0)
			rc = hm_store_checksum(r->store, sum);
		if (rc == 0 && memcmp(sum, se->checksum, sizeof(sum)) != 0)
			rc = -EILSEQ;
		if (rc < 0) {
			xfer_abort(r);
			replica_broken(r, rc == -EILSEQ ? "our checksum differs from the source's after a sync" :
				       "the synced data could not be stored");
			return;
		}
		r->pos = pos;
		r->last_ack_sent = 0;
		r->broken = false;
		log_msg(r, LOG_NOTICE, "replica: synced from node %u at seq %llu",
			sender, (unsigned long long)se->applied_seq);
	}
	r->xfer = false;
	r->xfer_need = false;
	hm_membership_transfer_done(r->m, &epoch);
}

/* ------------------------------------------------------------------ */
/* membership hooks                                                    */

static void fail_pending_unknown(struct hm_replica *r)
{
	while (r->n_pending)
		pending_finish(r, 0, -ECONNRESET,
			       "the membership changed before a majority confirmed the change: "
			       "its outcome is unknown; check it with hamonctl config get");
}

static void group_changed(void *data)
{
	struct hm_replica *r = data;
	size_t i, kept = 0;

	hm_replica_flush(r);
	xfer_abort(r);
	fail_pending_unknown(r);
	/* a sync being sent is void in the new group */
	for (i = 0; i < r->n_out; i++) {
		if (r->out[i].sync) {
			free(r->out[i].data);
			continue;
		}
		r->out[kept++] = r->out[i];
	}
	r->n_out = kept;
}

static int deliver_msg(struct hm_replica *r, uint32_t sender, const struct hm_msg *msg);
static bool drop_refused(struct hm_replica *r, uint32_t sender, const struct hm_msg *msg);

/* messages held during the sync, applied now, in order */
static void synced(void *data)
{
	struct hm_replica *r = data;
	struct hm_msg msg;
	size_t i;

	for (i = 0; i < r->n_held; i++) {
		if (hm_wire_decode(r->held[i].data, r->held[i].len, &msg, NULL) == 0)
			deliver_msg(r, r->held[i].sender, &msg);
		free(r->held[i].data);
	}
	r->n_held = 0;
	hm_replica_flush(r);
	cp_request(r);
}

static int hold(struct hm_replica *r, uint32_t sender, const void *data, size_t len)
{
	uint8_t *copy;

	if (grow((void **)&r->held, &r->cap_held, r->n_held, sizeof(*r->held)) < 0)
		return -ENOMEM;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	r->held[r->n_held++] = (struct held_msg){ .sender = sender, .len = len, .data = copy };
	return 0;
}

/* ------------------------------------------------------------------ */

static int deliver_msg(struct hm_replica *r, uint32_t sender, const struct hm_msg *msg)
{
	/* held during a sync that then refused its sender */
	if (drop_refused(r, sender, msg))
		return 0;
	switch (msg->type) {
	case HM_MSG_SYNC_START:
	case HM_MSG_SYNC_STATE:
		hm_membership_deliver_msg(r->m, sender, msg);
		break;
	case HM_MSG_SYNC_DATA:
		on_sync_data(r, sender, &msg->u.sync_data);
		break;
	case HM_MSG_SYNC_END:
		on_sync_end(r, sender, &msg->u.sync_end);
		break;
	case HM_MSG_SYNC_DIGESTS:
		on_sync_digests(r, sender, &msg->u.sync_digests);
		break;
	case HM_MSG_UPDATE:
		on_update(r, sender, &msg->u.update);
		break;
	case HM_MSG_UPDATES: {
		struct hm_msg_update u;
		size_t pos = 0;

		/* each takes its own sequence number, in order */
		while (hm_wire_updates_next(&msg->u.updates, &pos, &u) == 0)
			on_update(r, sender, &u);
		break;
	}
	case HM_MSG_ACK:
		on_ack(r, sender, &msg->u.ack);
		break;
	case HM_MSG_CHECKPOINT:
		on_checkpoint(r, &msg->u.checkpoint);
		break;
	case HM_MSG_DIGEST:
		on_digest(r, sender, &msg->u.digest);
		break;
	}
	return 0;
}

static bool is_sync_type(uint16_t type)
{
	return type == HM_MSG_SYNC_START || type == HM_MSG_SYNC_STATE ||
	       type == HM_MSG_SYNC_DATA || type == HM_MSG_SYNC_END || type == HM_MSG_SYNC_DIGESTS;
}

/* a refused member's messages (but its sync state) are never used */
static bool drop_refused(struct hm_replica *r, uint32_t sender, const struct hm_msg *msg)
{
	if (msg->type == HM_MSG_SYNC_START || msg->type == HM_MSG_SYNC_STATE)
		return false;
	if (!hm_membership_refused(r->m, sender))
		return false;
	if (r->warned_refused != sender) {
		log_msg(r, LOG_NOTICE, "replica: dropping what node %u sends: its protocol is refused",
			sender);
		r->warned_refused = sender;
	}
	return true;
}

int hm_replica_deliver(struct hm_replica *r, uint32_t sender, const void *data, size_t len)
{
	struct hm_msg msg;
	size_t i;
	int rc;

	rc = hm_wire_decode(data, len, &msg, NULL);
	if (rc < 0)
		return rc;
	if (drop_refused(r, sender, &msg))
		return 0;
	/* refused ourselves: we take no part, not even later */
	if (hm_membership_sync_state(r->m) == HM_SYNC_REFUSED && !is_sync_type(msg.type)) {
		for (i = 0; i < r->n_held; i++)
			free(r->held[i].data);
		r->n_held = 0;
		return 0;
	}
	/* normal messages wait until the sync is done, then apply in order */
	if (!is_sync_type(msg.type) && !hm_membership_synced(r->m)) {
		if (hold(r, sender, data, len) < 0)
			replica_broken(r, "out of memory holding messages during a sync");
		return 0;
	}
	return deliver_msg(r, sender, &msg);
}

int hm_replica_submit(struct hm_replica *r, uint16_t op, const char *payload,
		      hm_replica_done_fn done, void *data, char *err, size_t errlen)
{
	struct hm_msg msg = { .type = HM_MSG_UPDATE };
	int rc;

	if (!hm_membership_acting(r->m)) {
		snprintf(err, errlen, "this node's partition is %s: changes are refused, reads still work",
			 hm_membership_quorum(r->m) != HM_QUORUM_QUORATE ? "not quorate" :
			 !hm_membership_synced(r->m) ? "still syncing" :
			 "quorate but has too few running hamonds to act");
		return -EROFS;
	}
	if (r->broken) {
		snprintf(err, errlen, "this node's replica is resyncing: try again shortly");
		return -EAGAIN;
	}
	rc = hm_replica_validate(op, payload, strlen(payload), err, errlen);
	if (rc < 0)
		return rc;
	rc = grow((void **)&r->pending, &r->cap_pending, r->n_pending, sizeof(*r->pending));
	if (rc < 0)
		goto nomem;
	msg.u.update.request_id = ++r->next_request;
	msg.u.update.ts_ms = r->seam->wall_ms ? r->seam->wall_ms(r->seam->ctx) : 0;
	msg.u.update.op = op;
	msg.u.update.payload = (const uint8_t *)payload;
	msg.u.update.payload_len = (uint32_t)strlen(payload);
	/* several changes of one turn in one message, once everyone reads it */
	rc = -EMSGSIZE;
	if (hm_membership_cluster_proto(r->m) >= HM_WIRE_VERSION_UPDATES)
		rc = batch_add(r, &msg.u.update);
	if (rc == -EMSGSIZE)
		rc = out_send(r, &msg, false);
	if (rc == -EMSGSIZE) {
		snprintf(err, errlen, "the change is too large to replicate");
		return -EINVAL;
	}
	if (rc < 0)
		goto nomem;
	r->pending[r->n_pending++] = (struct pending_req){
		.request_id = msg.u.update.request_id, .done = done, .data = data,
	};
	return 0;

nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void hm_replica_get_status(const struct hm_replica *r, struct hm_replica_status *ret)
{
	size_t i, j, best = 0, best_count = 0, count;

	memset(ret, 0, sizeof(*ret));
	ret->applied_seq = r->pos.applied_seq;
	ret->pending = r->n_pending;
	ret->checkpoint = r->cp_id;
	ret->checkpoint_seq = r->cp_seq;
	ret->n_digests = r->n_digests;
	/* the checksum most members reported is the reference */
	for (i = 0; i < r->n_digests; i++) {
		for (count = 0, j = 0; j < r->n_digests; j++)
			if (memcmp(r->digests[i].checksum, r->digests[j].checksum, HM_WIRE_CHECKSUM_LEN) == 0 &&
			    r->digests[i].seq == r->digests[j].seq)
				count++;
		if (count > best_count) {
			best_count = count;
			best = i;
		}
	}
	for (i = 0; i < r->n_digests; i++)
		if (memcmp(r->digests[i].checksum, r->digests[best].checksum, HM_WIRE_CHECKSUM_LEN) != 0 ||
		    r->digests[i].seq != r->digests[best].seq)
			ret->differs[ret->n_differs++] = r->digests[i].nodeid;
	ret->agree = r->n_digests > 0 && ret->n_differs == 0;
}

struct hm_replica *hm_replica_new(const struct hm_seam *seam, struct hm_membership *m,
				  struct hm_store *store)
{
	struct hm_replica *r = calloc(1, sizeof(*r));
	struct hm_membership_hooks hooks;

	if (!r)
		return NULL;
	r->seam = seam;
	r->m = m;
	r->store = store;
	if (hm_store_pos_get(store, &r->pos) < 0) {
		free(r);
		return NULL;
	}
	/* checkpoint ids from a restarted coordinator must not repeat */
	r->cp_next = seam->now_ms ? seam->now_ms(seam->ctx) << 8 : 0;
	hooks = (struct hm_membership_hooks){
		.data = r,
		.local_position = local_position,
		.collected = collected,
		.group_changed = group_changed,
		.synced = synced,
	};
	hm_membership_set_hooks(m, &hooks);
	hm_membership_set_data_position(m, &r->pos.last_quorate);
	return r;
}

void hm_replica_free(struct hm_replica *r)
{
	size_t i;

	if (!r)
		return;
	if (r->in_txn || r->xfer_loading)
		hm_store_rollback(r->store);
	if (r->retry_armed)
		r->seam->timer_stop(r->seam->ctx, r->retry_timer);
	if (r->batch_armed)
		r->seam->timer_stop(r->seam->ctx, r->batch_timer);
	if (r->cp_armed)
		r->seam->timer_stop(r->seam->ctx, r->cp_timer);
	if (r->cp_period_armed)
		r->seam->timer_stop(r->seam->ctx, r->cp_period_timer);
	for (i = 0; i < r->n_pending; i++)
		r->pending[i].done(r->pending[i].data, -ECONNRESET, r->pending[i].seq,
				   "hamond is stopping: outcome unknown");
	for (i = 0; i < r->n_held; i++)
		free(r->held[i].data);
	for (i = 0; i < r->n_out; i++)
		free(r->out[i].data);
	free(r->pending);
	free(r->held);
	free(r->out);
	free(r->batch);
	free(r->dig);
	free(r);
}
