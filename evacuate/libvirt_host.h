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
 *   - the worker posts results to the owner's qb_loop through an eventfd;
 *     the callbacks below run in the qb_loop thread only, in the order the
 *     worker observed things.
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
 * Stop: closes the connection, joins the worker, drops what was not yet
 * delivered; no callback runs after it returns.  NULL-safe.  Call from the
 * loop's thread (not from a callback).  It waits for a libvirt call in
 * progress: bounded by libvirt (keepalive for an open connection, the TCP
 * connect timeout for a remote URI being opened), instant for a unix socket.
 */
void hm_lv_host_free(struct hm_lv_host *h);

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

/* virDomainState (an int, so that this header needs no libvirt) */
enum hm_lv_dom_state hm_lv_dom_state_from_virt(int virstate);

const char *hm_lv_host_state_to_str(enum hm_lv_host_state s);
const char *hm_lv_dom_state_to_str(enum hm_lv_dom_state s);
const char *hm_lv_policy_to_str(enum hm_lv_policy p);
const char *hm_lv_storage_to_str(enum hm_lv_storage s);

#endif
