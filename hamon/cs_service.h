/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restartable corosync services (the pmxcfs loop.c pattern).
 *
 * Each service connects in init() and returns an fd to poll, handles events
 * in dispatch() (a negative return means the connection is lost), and
 * disconnects in finalize(), which must accept a half-connected service.
 * The services of one set live and die together: corosync is one daemon, so
 * when one connection is lost every one is closed, on_lost() is called (the
 * node then reports "not quorate"), and the whole set is retried every
 * retry_ms until corosync answers again, when on_up() is called.
 */
#ifndef HM_CS_SERVICE_H
#define HM_CS_SERVICE_H

#include <qb/qbloop.h>
#include <stdbool.h>

struct hm_cs_service {
	const char *name;
	int (*init)(void *ctx, int *ret_fd);	/* 0, or -errno */
	int (*dispatch)(void *ctx);		/* 0, or -errno when lost */
	void (*finalize)(void *ctx);
	void *ctx;
	/* state, owned by the set */
	struct hm_cs_set *set;
	int fd;
	bool up;
};

struct hm_cs_set {
	qb_loop_t *loop;
	struct hm_cs_service **services;
	size_t n;
	unsigned retry_ms;
	void (*on_up)(void *data);
	void (*on_lost)(void *data);
	void *data;
	bool connected;
	bool stopping;
	qb_loop_timer_handle retry_timer;
	unsigned failures;	/* consecutive failed attempts, to log once */
};

/* try to connect now; on failure retry from a timer */
void hm_cs_set_start(struct hm_cs_set *set);
/* drop every connection now and connect again (our replica must resync) */
void hm_cs_set_restart(struct hm_cs_set *set, const char *why);
/* close everything and stop retrying */
void hm_cs_set_stop(struct hm_cs_set *set);

#endif
