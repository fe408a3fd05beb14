/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt host adapter: watches ONE local libvirt daemon (this node's
 * own, hamon.conf's libvirt_uri) and reports its inventory to the owner
 * (hamond), which publishes it through the replicated store.
 *
 * What it reports (doc/inventory.md has the formats):
 *   - the host: libvirt host UUID (capabilities <host><uuid>, else the
 *     SMBIOS system uuid of virConnectGetSysinfo; "" when the driver has
 *     none), capacity (logical CPUs, memory MiB), hostname for display only;
 *   - every domain, defined or transient: uuid, name, state, vCPUs, memory,
 *     persistent, autostart, the HA settings of its <hamon:ha> metadata
 *     element (namespace HM_LV_NS) and its inactive XML (never log it).
 *
 * Threading.  libvirt blocks, so the qb_loop thread never calls it:
 *   - one worker thread per adapter owns the virConnectPtr and makes every
 *     libvirt call (connect, list, read);
 *   - one process-wide thread runs libvirt's default event loop
 *     (virEventRunDefaultImpl), shared by every libvirt user of the process
 *     through hm_lv_event_loop_acquire/release (refcounted); it delivers
 *     the lifecycle events and the close callback, which only queue work
 *     for the worker;
 *   - up to HM_LV_ACTIONS_MAX action threads per adapter, each with its
 *     own connection, run the actions (start, remove, lookup; below);
 *   - the worker and the action threads post results to the owner's
 *     qb_loop through one eventfd; the callbacks below run in the qb_loop
 *     thread only, in the order the worker observed things.
 *   - each thread holds a reference on the adapter: one still blocked in
 *     libvirt when hm_lv_host_free gives up waiting frees it at its end.
 *
 * The contract, for the owner:
 *   - host_state(CONNECTED) comes after every (re)connection, then domain()
 *     for every domain present, domain_gone() for every domain this adapter
 *     reported earlier that is no longer defined, then inventory_done().
 *     In between, and after inventory_done(), domain()/domain_gone() follow
 *     libvirt's lifecycle events (no polling).  Domains the owner knows from
 *     elsewhere (its store, after a restart of hamond) and that were not
 *     reported between host_state(CONNECTED) and inventory_done() are not
 *     on this host any more: the owner reconciles them at inventory_done().
 *   - host_state(UNREACHABLE) comes at once when a connection is lost (close
 *     callback: EOF, keepalive, error) or cannot be made, once per outage
 *     (the adapter retries every HM_LV_RETRY_MS silently).  **Unknown is not
 *     stopped**: while unreachable nothing is reported at all — no domain is
 *     ever reported shut off or gone because libvirt could not be asked.
 *     The owner keeps its last view and marks the host degraded.
 *   - domain_gone() means libvirt answered "no such domain" for that uuid
 *     (undefined, or a transient domain that stopped), never "could not ask".
 *   - any other libvirt error while reading ends the connection: the host is
 *     reported UNREACHABLE and re-read in full once it reconnects.
 *
 * Library code: it never logs above debug (it does not log at all); state
 * changes and their reasons reach the owner, which logs them once.  It
 * installs a no-op libvirt error function for the process (libvirt would
 * print every error to stderr otherwise); errors are read per thread with
 * virGetLastError.  All functions return 0 or -errno.
 */
#ifndef HM_LIBVIRT_HOST_H
#define HM_LIBVIRT_HOST_H

#include <qb/qbloop.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the namespace of hamon's domain metadata (doc/inventory.md) */
#define HM_LV_NS "https://hamon.dev/xmlns/ha/1"
#define HM_LV_NS_PREFIX "hamon"
#define HM_LV_HA_ELEMENT "ha"

#define HM_LV_UUID_LEN 36		/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define HM_LV_GROUP_MAX 63		/* anti-affinity group: 1..63 of [A-Za-z0-9_.-] */
#define HM_LV_PRIORITY_MAX 1000		/* priority: 0 (default) .. 1000, higher first */
#define HM_LV_MSG_MAX 192		/* error/warning/reason strings, NUL included */
#define HM_LV_HOSTNAME_MAX 256
#define HM_LV_XML_MAX (16u * 1024u * 1024u)	/* a larger domain XML is refused */

#define HM_LV_RETRY_MS 1000u		/* reconnect this often while unreachable */
#define HM_LV_KEEPALIVE_INTERVAL_S 5	/* virConnectSetKeepAlive: a silent daemon */
#define HM_LV_KEEPALIVE_COUNT 3		/* is declared dead after ~20 s */

enum hm_lv_host_state {
	HM_LV_CONNECTED = 0,
	HM_LV_UNREACHABLE,
};

/*
 * Our domain states, from virDomainState (hm_lv_dom_state_from_virt):
 *   RUNNING  <- RUNNING, BLOCKED, SHUTDOWN (being shut down: QEMU still runs)
 *   PAUSED   <- PAUSED, PMSUSPENDED (guest S3/S4-to-RAM: QEMU still runs)
 *   SHUTOFF  <- SHUTOFF
 *   CRASHED  <- CRASHED (QEMU may still exist: on_crash=preserve)
 *   OTHER    <- NOSTATE and anything unknown
 * Whether a QEMU process exists is hm_lv_domain.active (virDomainIsActive):
 * that, not the state, is what the one-copy rule counts.
 */
enum hm_lv_dom_state {
	HM_LV_DOM_RUNNING = 0,
	HM_LV_DOM_PAUSED,
	HM_LV_DOM_SHUTOFF,
	HM_LV_DOM_CRASHED,
	HM_LV_DOM_OTHER,
};

enum hm_lv_policy {
	HM_LV_POLICY_NONE = 0,		/* not protected (the default) */
	HM_LV_POLICY_HA,		/* rebuilt elsewhere when its host is lost */
};

/* ordered from the most to the least evacuable: a domain's storage is the
 * worst of its disks' */
enum hm_lv_storage {
	HM_LV_STORAGE_SHARED = 0,	/* files on the cluster's shared path */
	HM_LV_STORAGE_VOLUME,		/* network or block volumes */
	HM_LV_STORAGE_LOCAL,		/* tied to this host: never rebuilt elsewhere */
};

/* the HA settings of one domain, from its XML */
struct hm_lv_ha {
	enum hm_lv_policy policy;
	unsigned priority;
	char anti_affinity[HM_LV_GROUP_MAX + 1];	/* "" = none */
	/* what placement uses: the explicit storage= when given, else inferred */
	enum hm_lv_storage storage;
	/* always inferred from the disks, so the owner can flag a mismatch */
	enum hm_lv_storage storage_inferred;
	bool storage_explicit;
	bool metadata_present;		/* a <hamon:ha> element was found */
	/* "" or why the metadata was refused: then policy is NONE and every
	 * other setting is its default (the owner alerts: not protected) */
	char error[HM_LV_MSG_MAX];
	/* "" or what was ignored (unknown attributes) */
	char warning[HM_LV_MSG_MAX];
};

struct hm_lv_host_info {
	char uuid[HM_LV_UUID_LEN + 1];	/* lower case; "" = the driver has none */
	char hostname[HM_LV_HOSTNAME_MAX];	/* display only, never identity */
	unsigned cpus;			/* logical CPUs, virNodeGetInfo */
	uint64_t memory_mib;		/* virNodeGetInfo */
	/* UNREACHABLE: why (libvirt's message, or the close reason); the info
	 * above is the last one known (zero before the first connection) */
	char reason[HM_LV_MSG_MAX];
};

struct hm_lv_domain {
	char uuid[HM_LV_UUID_LEN + 1];
	const char *name;
	enum hm_lv_dom_state state;
	bool active;			/* a QEMU process exists */
	unsigned vcpus;			/* current vCPUs */
	uint64_t memory_mib;		/* maximum memory (<memory>), rounded up */
	bool persistent;
	bool autostart;
	struct hm_lv_ha ha;
	/* virDomainGetXMLDesc(VIR_DOMAIN_XML_INACTIVE): what a rebuild defines.
	 * Without VIR_DOMAIN_XML_SECURE, so graphics passwords are not in it.
	 * Never log it. */
	const char *xml;
	size_t xml_len;
};

/* every pointer and struct is owned by the adapter and valid only during
 * the call; called from the qb_loop thread only; hm_lv_host_free() must not
 * be called from inside them */
struct hm_lv_host_callbacks {
	void (*host_state)(void *data, enum hm_lv_host_state state,
			   const struct hm_lv_host_info *info);
	void (*domain)(void *data, const struct hm_lv_domain *dom);	/* upsert */
	void (*domain_gone)(void *data, const char *uuid);		/* undefined */
	void (*inventory_done)(void *data);
};

struct hm_lv_host;

/*
 * Start watching the libvirt daemon at uri.  shared_path: the absolute path
 * of the cluster's shared storage (files under it are "shared"), or NULL.
 * Returns at once (nothing is reported from inside): the first report comes
 * through the loop.  0 and *ret, or -EINVAL (a bad argument or a missing
 * callback), -ENOMEM, -errno of a thread or eventfd.  Call from the loop's
 * thread.
 */
int hm_lv_host_new(qb_loop_t *loop, const char *uri, const char *shared_path,
		   const struct hm_lv_host_callbacks *cb, void *data,
		   struct hm_lv_host **ret);

/*
 * Stop: the inventory worker and the action threads close their
 * connections and end; what was not yet delivered is dropped, actions not
 * yet answered never are; no callback runs after it returns.  NULL-safe.
 * Call from the loop's thread (not from a callback).  It waits at most
 * HM_LV_FREE_WAIT_MS for threads in a libvirt call (instant on a live unix
 * socket); a thread still blocked then is left to end by itself when its
 * call returns (hm_lv_threads_lingering), touching nothing of the owner's.
 */
void hm_lv_host_free(struct hm_lv_host *h);

/* ------------------------------------------------------------------ */
/*
 * Actions: make something true on this host's libvirt (doc/inventory.md,
 * "Actions").  Asynchronous: the call returns at once and the result comes
 * through the loop, to cb, exactly once — or never when the call returned
 * an error or the adapter was freed first.
 *
 * Threads.  Actions run on a pool of at most HM_LV_ACTIONS_MAX action
 * threads per adapter, each with its own connection to the adapter's URI
 * (opened at its first action, kept, reopened when it died), never on the
 * inventory worker: a slow start does not stall the inventory.  Beyond
 * that, actions wait in a queue (at most HM_LV_ACTIONS_QUEUED).  Actions on
 * the same domain uuid run one at a time, in the order they were asked
 * for, including one whose deadline passed while its libvirt call still
 * runs: a retry looks only after that call returned.
 *
 * Outcomes:
 *   DONE     the effect is there, already or made now (the message says
 *            which);
 *   FAILED   libvirt refused for certain (an answer on a live connection,
 *            not a timeout) AND a lookup after the refusal shows the effect
 *            absent: for a start, the domain is not active here (and a
 *            definition the start made is undefined again); for a remove,
 *            the domain is still there.  The message is libvirt's;
 *   UNKNOWN  the deadline passed, the connection was lost, libvirt timed
 *            out waiting for another job, or the lookup after an error
 *            failed.  Nothing may be assumed: look again, here.
 *
 * Deadline: timeout_ms bounds the whole action, queueing included.  When it
 * passes, cb gets UNKNOWN at once.  A libvirt call cannot be interrupted:
 * the call in progress completes on its thread (a late start does make the
 * domain run), its result is dropped, and the action takes no further step.
 * The inventory reports what it did through the domain's lifecycle events,
 * and a retry on this host first looks (a late start is then "already
 * running").
 *
 * The inventory reports the effects of actions as of any other change (one
 * domain() per lifecycle event): the action callback may come before or
 * after those reports.  Messages are printable ASCII, at most
 * HM_LV_ACTION_MSG_MAX - 1 bytes (a long libvirt message keeps its start and
 * its end); a message about a refused XML may quote the line libvirt could
 * not parse.
 */
#define HM_LV_ACTION_MSG_MAX 512
#define HM_LV_ACTIONS_MAX 4		/* action threads per adapter */
#define HM_LV_MIGRATIONS_MAX (HM_LV_ACTIONS_MAX - 1)	/* of them migrating at once */
#define HM_LV_ACTIONS_QUEUED 1024	/* waiting actions, beyond: -EBUSY */
#define HM_LV_ACTION_TIMEOUT_MAX_MS (24u * 3600u * 1000u)
#define HM_LV_FREE_WAIT_MS 2000u	/* hm_lv_host_free waits this long for threads */

enum hm_lv_outcome {
	HM_LV_DONE = 0,
	HM_LV_FAILED,
	HM_LV_UNKNOWN,
};

/* called in the loop thread; message is valid during the call only */
typedef void (*hm_lv_action_fn)(void *data, enum hm_lv_outcome outcome, const char *message);

/*
 * Make domain uuid run on this host.  Look it up first: active → DONE
 * "already running".  Else define xml (persistent; it replaces an inactive
 * definition of the same uuid), turn autostart off, drop a managed-save
 * image (a stale memory image must never be resumed), start it → DONE
 * "started".  xml must be a <domain> whose <uuid> is uuid.
 * 0, or -EINVAL (a bad argument: uuid not canonical or all zero, xml not a
 * domain of that uuid, timeout 0 or above the maximum, cb NULL), -E2BIG
 * (xml above HM_LV_XML_MAX), -EBUSY (the queue is full), -ENOMEM, -errno of
 * a thread: then nothing was started and cb is never called.
 */
int hm_lv_host_start_domain(struct hm_lv_host *h, const char *uuid, const char *xml,
			    uint64_t timeout_ms, hm_lv_action_fn cb, void *data);

/*
 * Make domain uuid absent from this host: destroy it when active, undefine
 * it when persistent (with its managed-save image and its snapshot and
 * checkpoint metadata; NVRAM and TPM state files are kept: they may be on
 * shared storage and belong to the instance that runs elsewhere), then look:
 * DONE "absent" (it was not there) or "removed" only when libvirt says "no
 * such domain".  Errors as for start.
 */
int hm_lv_host_remove_domain(struct hm_lv_host *h, const char *uuid, uint64_t timeout_ms,
			     hm_lv_action_fn cb, void *data);

/* look domain uuid up: DONE with the message "active", "inactive" or
 * "absent", else UNKNOWN.  Errors as for start. */
int hm_lv_host_lookup_domain(struct hm_lv_host *h, const char *uuid, uint64_t timeout_ms,
			     hm_lv_action_fn cb, void *data);

/*
 * Live migration of a domain of this host to another one: peer-to-peer
 * (this host's libvirtd talks to the destination's), live, persistent on
 * the destination, undefined here when it completed (VIR_MIGRATE_LIVE |
 * PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE | ABORT_ON_ERROR).  It runs
 * on an action thread (plus a helper thread blocked in the migration call)
 * and follows the ordering rules of actions; at most HM_LV_MIGRATIONS_MAX
 * run at once (more wait in the queue), so a thread stays free for starts,
 * removes and lookups.
 *
 * Controls, applied by polling the job's statistics every
 * progress_interval_ms while it runs:
 *   - max downtime: set to max_downtime_ms when the job started; when,
 *     after the first pass over memory, QEMU's expected downtime has stayed
 *     above the allowed one for stall_ms (the guest dirties memory faster
 *     than the link carries it: no convergence), raised one step toward
 *     max_downtime_limit_ms (max_downtime_steps equal steps);
 *   - completion timeout: when the job has run completion_timeout_ms,
 *     abort it (the domain keeps running here) or switch to post-copy
 *     (it completes, but a failure from then on loses the running state:
 *     only for domains that can afford it);
 *   - the deadline (timeout_ms): the answer is UNKNOWN, and a migration
 *     still in pre-copy is aborted at the next poll; so is one whose
 *     adapter is freed (its controller goes away: nothing would enforce
 *     the completion timeout any more);
 *   - bandwidth cap, auto-converge, VIR_MIGRATE_UNSAFE (disk files on a
 *     plain shared directory, which libvirt does not count as shared).
 *
 * Outcomes: DONE "migrated ..." (libvirt reported success: the domain runs
 * on the destination, persistent; the message has the elapsed time and
 * downtime when the job-completed event came); FAILED (a definite error and
 * the domain still runs here, e.g. aborted at the completion timeout, or it
 * was not running here); UNKNOWN (no definite answer, the deadline, a
 * failure after the switch to post-copy, or it is not running here any
 * more after an error: look on both hosts).  progress (may be NULL) is
 * called in the loop thread with each poll, before the answer.
 */
enum hm_lv_migrate_fallback {
	HM_LV_MIGRATE_ABORT = 0,
	HM_LV_MIGRATE_POSTCOPY,
};

struct hm_lv_migrate_params {
	/* the destination's libvirtd as THIS host's libvirtd reaches it (the
	 * p2p dconnuri), e.g. "qemu+tcp://node3/system"; required */
	const char *dest_uri;
	/* NULL (the destination's migration_host) or the stream's URI,
	 * e.g. "tcp://10.0.0.3" */
	const char *migrate_uri;
	bool unsafe;
	uint64_t bandwidth_mibs;		/* MiB/s, 0: no cap */
	bool auto_converge;
	unsigned auto_converge_initial;		/* percent 1..100, 0: libvirt's */
	unsigned auto_converge_increment;	/* percent 1..100, 0: libvirt's */
	uint64_t max_downtime_ms;		/* 0: libvirt's default (300 ms) */
	uint64_t max_downtime_limit_ms;		/* 0: never raised */
	unsigned max_downtime_steps;		/* 0: one step */
	uint64_t stall_ms;			/* not converging this long: a step; 0: HM_LV_MIGRATE_STALL_MS */
	uint64_t completion_timeout_ms;		/* 0: none */
	enum hm_lv_migrate_fallback on_timeout;
	uint64_t progress_interval_ms;		/* 0: HM_LV_MIGRATE_POLL_MS */
	uint64_t timeout_ms;			/* the whole action; required */
};
#define HM_LV_MIGRATE_STALL_MS 5000u
#define HM_LV_MIGRATE_POLL_MS 1000u
#define HM_LV_MIGRATE_POLL_MIN_MS 50u

struct hm_lv_migrate_progress {
	uint64_t elapsed_ms;
	uint64_t data_total;			/* bytes */
	uint64_t data_processed;
	uint64_t data_remaining;
	uint64_t memory_bps;			/* transfer rate, bytes/s */
	uint64_t dirty_rate;			/* pages/s */
	uint64_t iteration;			/* pre-copy passes over memory */
	uint64_t expected_downtime_ms;
	uint64_t max_downtime_ms;		/* the setting now, 0: libvirt's default */
	unsigned downtime_step;			/* steps taken */
	int throttle_percent;			/* auto-converge's CPU throttle */
	bool postcopy;				/* switched to post-copy */
};

typedef void (*hm_lv_migrate_progress_fn)(void *data, const struct hm_lv_migrate_progress *p);

/* 0 or -errno as for start (-EINVAL: dest_uri missing, timeout_ms 0 or
 * above the maximum, a limit below max_downtime_ms, a percent above 100,
 * a poll interval below HM_LV_MIGRATE_POLL_MIN_MS); done is the answer */
int hm_lv_host_migrate_domain(struct hm_lv_host *h, const char *uuid,
			      const struct hm_lv_migrate_params *p,
			      hm_lv_migrate_progress_fn progress, hm_lv_action_fn done, void *data);

/* adapter threads (inventory worker, action threads) that hm_lv_host_free
 * left behind, still blocked in a libvirt call, in this process; each ends
 * by itself when its call returns */
unsigned hm_lv_threads_lingering(void);

/*
 * The process's libvirt event loop (default implementation, one thread),
 * for every libvirt user of the process: acquire before opening a
 * connection that registers events, release after closing it.  The thread
 * stops with the last release, after libvirt's deferred cleanups ran.
 * 0 or -errno.
 */
int hm_lv_event_loop_acquire(void);
void hm_lv_event_loop_release(void);

/* ------------------------------------------------------------------ */
/* pure helpers: no libvirt, no I/O (libxml2 only), thread-safe */

/*
 * Read the HA settings and infer the storage of a domain XML.  shared_path
 * as for hm_lv_host_new (NULL: no file counts as shared).  0 when the XML
 * is a <domain> (then *ret is filled, its metadata possibly refused through
 * ret->error), -EINVAL when it is not XML or not a domain, -E2BIG above
 * HM_LV_XML_MAX, -ENOMEM.
 */
int hm_lv_ha_parse(const char *xml, size_t len, const char *shared_path,
		   struct hm_lv_ha *ret);

/* the host UUID of a capabilities XML (<capabilities><host><uuid>) or of a
 * sysinfo XML (<sysinfo><system><entry name='uuid'>), lower-cased: 0,
 * -ENOENT (none), -EINVAL (not that XML, or not a UUID) */
int hm_lv_host_uuid_from_caps(const char *xml, size_t len, char ret[HM_LV_UUID_LEN + 1]);
int hm_lv_host_uuid_from_sysinfo(const char *xml, size_t len, char ret[HM_LV_UUID_LEN + 1]);

/* the <uuid> of a domain XML, lower-cased: 0, -ENOENT (none: libvirt
 * would make one up), -EINVAL (not a domain, or not a UUID), -E2BIG */
int hm_lv_domain_uuid_of_xml(const char *xml, size_t len, char ret[HM_LV_UUID_LEN + 1]);

/* "done", "failed", "unknown" */
const char *hm_lv_outcome_to_str(enum hm_lv_outcome o);

/* virDomainState (an int, so that this header needs no libvirt) */
enum hm_lv_dom_state hm_lv_dom_state_from_virt(int virstate);

const char *hm_lv_host_state_to_str(enum hm_lv_host_state s);
const char *hm_lv_dom_state_to_str(enum hm_lv_dom_state s);
const char *hm_lv_policy_to_str(enum hm_lv_policy p);
const char *hm_lv_storage_to_str(enum hm_lv_storage s);

#endif
