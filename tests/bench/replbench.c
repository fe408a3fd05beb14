/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replbench: replicated updates through a real hamond, the way hamonctl
 * sends them, but many at once.  Each request is a `config set` (an UPDATE
 * multicast through CPG, applied and fsynced on every member, answered once
 * a majority acknowledged it).
 *
 *   replbench [-s IPC] [-n COUNT] [-w WINDOW] [-r RATE]
 *
 * -w: requests in flight at once (throughput); -r: requests per second,
 * paced, one at a time unless a reply is late (latency at a given load).
 * Prints the rate achieved and latency percentiles from submit to accepted.
 */
#include <errno.h>
#include <getopt.h>
#include <qb/qbipcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc_proto.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 0, -EAGAIN (hamond's queue is full: read replies first), or -errno */
static int send_one(qb_ipcc_connection_t *c, unsigned i)
{
	char buf[512];
	struct qb_ipc_request_header *hdr = (void *)buf;
	int n;

	/* alternate values so every update really changes the row */
	n = snprintf(buf + sizeof(*hdr), sizeof(buf) - sizeof(*hdr),
		     "{\"key\":\"migration_bandwidth_mibs\",\"value\":\"%u\"}", i % 1000 + 1);
	hdr->id = HM_REQ_CONFIG_SET;
	hdr->size = (int32_t)(sizeof(*hdr) + (size_t)n + 1);
	n = (int)qb_ipcc_send(c, buf, (size_t)hdr->size);
	return n < 0 ? n : 0;
}

/* one reply; its error, or -ETIMEDOUT */
static int recv_one(qb_ipcc_connection_t *c)
{
	char buf[HM_IPC_MAX_MSG];
	struct qb_ipc_response_header *hdr = (void *)buf;
	ssize_t n = qb_ipcc_recv(c, buf, sizeof(buf), 30000);

	if (n < (ssize_t)sizeof(*hdr))
		return n < 0 ? (int)n : -EBADMSG;
	if (hdr->error)
		fprintf(stderr, "replbench: refused: %s\n", buf + sizeof(*hdr));
	return hdr->error;
}

int main(int argc, char **argv)
{
	const char *ipc = HM_IPC_DEFAULT_NAME;
	unsigned count = 2000, window = 64, rate = 0, sent = 0, done = 0, failed = 0, c;
	uint64_t *t_sent, *lat, t0, t1, next;
	qb_ipcc_connection_t *conn;
	int opt, rc;

	while ((opt = getopt(argc, argv, "s:n:w:r:")) != -1) {
		switch (opt) {
		case 's': ipc = optarg; break;
		case 'n': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': rate = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: replbench [-s IPC] [-n COUNT] [-w WINDOW] [-r RATE]\n");
			return 2;
		}
	}
	if (!count || !window) {
		fprintf(stderr, "replbench: -n and -w must be positive\n");
		return 2;
	}
	t_sent = calloc(count, sizeof(*t_sent));
	lat = calloc(count, sizeof(*lat));
	conn = qb_ipcc_connect(ipc, HM_IPC_MAX_MSG);
	if (!t_sent || !lat || !conn) {
		fprintf(stderr, "replbench: cannot connect to hamond (IPC '%s'): %s\n", ipc, strerror(errno));
		return 1;
	}
	t0 = now_us();
	next = t0;
	while (done < count) {
		/* send while the window and the pace allow */
		while (sent < count && sent - done < window && (!rate || now_us() >= next)) {
			t_sent[sent] = now_us();
			rc = send_one(conn, sent);
			if (rc == -EAGAIN)
				break;
			if (rc < 0) {
				fprintf(stderr, "replbench: send failed: %s\n", strerror(-rc));
				return 1;
			}
			sent++;
			next += rate ? 1000000 / rate : 0;
		}
		if (sent == done) {
			/* paced and nothing in flight: wait for the next slot */
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
			continue;
		}
		rc = recv_one(conn);
		if (rc == -ETIMEDOUT || rc == -EAGAIN) {
			fprintf(stderr, "replbench: no reply within 30 s\n");
			return 1;
		}
		/* replies come in order: each change is answered when accepted */
		lat[done] = now_us() - t_sent[done];
		if (rc)
			failed++;
		done++;
	}
	t1 = now_us();
	qb_ipcc_disconnect(conn);
	qsort(lat, count, sizeof(*lat), cmp_u64);
	c = count;
	printf("replbench: %u updates (%u refused), window %u, %s%u/s asked: %.0f updates/s; "
	       "latency submit->accepted ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
	       count, failed, window, rate ? "" : "unpaced ", rate,
	       (double)count * 1e6 / (double)(t1 - t0),
	       lat[c / 2] / 1000.0, lat[c * 9 / 10] / 1000.0, lat[c * 99 / 100] / 1000.0,
	       lat[c - 1] / 1000.0);
	free(t_sent);
	free(lat);
	return failed ? 1 : 0;
}
