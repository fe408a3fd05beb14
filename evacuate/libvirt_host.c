/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt host adapter (see libvirt_host.h and doc/inventory.md).
 *
 * Threads and who touches what:
 *
 *   qb_loop thread   hm_lv_host_new/free, on_wakeup → the owner's callbacks.
 *                    Never calls libvirt.
 *   worker thread    one per adapter: owns h->conn, makes every libvirt call,
 *                    posts struct msg to h->out and writes the eventfd.
 *   event thread     one per process (hm_lv_event_loop_*): runs
 *                    virEventRunDefaultImpl; on_lifecycle/on_close only queue
 *                    work for the worker under h->lock.
 *   action threads   up to HM_LV_ACTIONS_MAX per adapter, started on demand:
 *                    each takes actions from h->queue (one per domain uuid
 *                    at a time), runs them on its own virConnectPtr, posts
 *                    the result to the same outbox.
 *
 * h->lock guards: stop, conn (written by the worker, read by the event
 * callbacks to drop those of an old connection), conn_lost, close_reason,
 * the pending uuids, the outbox, the action queue, the actors' current
 * actions and exit flags, and refs.  No libvirt call is ever made with
 * h->lock held.
 *
 * Lifetimes.  h has a reference count: the owner's and one per thread.
 * hm_lv_host_free drops the owner's after it stopped every delivery (poll
 * removed, timers deleted) and waited a bounded time for the threads; a
 * thread still blocked in libvirt is detached and the last reference frees
 * h.  An action has two references: the loop's (until answered) and the
 * thread side's (queue → actor → result message).  Its deadline is a
 * qb_loop timer: whichever of the timer and the result reaches the loop
 * first answers; the other is dropped.
 *
 * The worker's connection state machine:
 *
 *   state          event                        action / next
 *   DOWN           retry time reached           open, register close cb and
 *                                               lifecycle events, read host,
 *                                               report CONNECTED, full read,
 *                                               inventory_done → UP
 *                  open/read failed             report UNREACHABLE (once per
 *                                               outage), retry in 1 s → DOWN
 *   UP             lifecycle event (uuid)       lookup + read → domain() or,
 *                                               on "no such domain", gone()
 *                  close callback               close, report UNREACHABLE,
 *                                               retry at once → DOWN
 *                  libvirt error (not NO_DOMAIN) same as the close callback
 *   any            stop                         close → exit
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <qb/qbutil.h>

#include "libvirt_host.h"

/* ------------------------------------------------------------------ */
/* names */

const char *hm_lv_host_state_to_str(enum hm_lv_host_state s)
{
	switch (s) {
	case HM_LV_CONNECTED: return "connected";
	case HM_LV_UNREACHABLE: return "unreachable";
	}
	return "unknown";
}

const char *hm_lv_dom_state_to_str(enum hm_lv_dom_state s)
{
	switch (s) {
	case HM_LV_DOM_RUNNING: return "running";
	case HM_LV_DOM_PAUSED: return "paused";
	case HM_LV_DOM_SHUTOFF: return "shutoff";
	case HM_LV_DOM_CRASHED: return "crashed";
	case HM_LV_DOM_OTHER: return "other";
	}
	return "unknown";
}

const char *hm_lv_policy_to_str(enum hm_lv_policy p)
{
	switch (p) {
	case HM_LV_POLICY_NONE: return "none";
	case HM_LV_POLICY_HA: return "ha";
	}
	return "unknown";
}

const char *hm_lv_storage_to_str(enum hm_lv_storage s)
{
	switch (s) {
	case HM_LV_STORAGE_SHARED: return "shared";
	case HM_LV_STORAGE_VOLUME: return "volume";
	case HM_LV_STORAGE_LOCAL: return "local";
	}
	return "unknown";
}

const char *hm_lv_outcome_to_str(enum hm_lv_outcome o)
{
	switch (o) {
	case HM_LV_DONE: return "done";
	case HM_LV_FAILED: return "failed";
	case HM_LV_UNKNOWN: return "unknown";
	}
	return "invalid";
}

enum hm_lv_dom_state hm_lv_dom_state_from_virt(int virstate)
{
	switch (virstate) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:	/* being shut down: QEMU still runs */
		return HM_LV_DOM_RUNNING;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:	/* guest suspended to RAM: QEMU still runs */
		return HM_LV_DOM_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
		return HM_LV_DOM_SHUTOFF;
	case VIR_DOMAIN_CRASHED:
		return HM_LV_DOM_CRASHED;
	default:
		return HM_LV_DOM_OTHER;
	}
}

/* ------------------------------------------------------------------ */
/* pure helpers: XML */

/* copy a value for a message: at most 40 bytes, printable ASCII only */
static void quote_value(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < n && i < 40 && src[i] != '\0'; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static int parse_doc(const char *xml, size_t len, xmlDocPtr *ret)
{
	const xmlError *err;
	xmlDocPtr doc;

	if (xml == NULL || len == 0)
		return -EINVAL;
	if (len > HM_LV_XML_MAX)
		return -E2BIG;
	xmlResetLastError();
	/* no network, no entity substitution, no DTD, nothing printed */
	doc = xmlReadMemory(xml, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		err = xmlGetLastError();
		return (err != NULL && err->code == XML_ERR_NO_MEMORY) ? -ENOMEM : -EINVAL;
	}
	*ret = doc;
	return 0;
}

/* an element of libvirt's own vocabulary: the name, no namespace */
static bool is_elem(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr child_elem(const xmlNode *parent, const char *name)
{
	xmlNodePtr c;

	for (c = parent->children; c != NULL; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* a clean absolute path: starts with '/', no empty, "." or ".." component
 * (a trailing '/' is allowed) */
static bool path_clean(const char *p)
{
	const char *c;
	size_t n;

	if (p == NULL || p[0] != '/')
		return false;
	for (c = p + 1; *c != '\0'; c++) {
		n = strcspn(c, "/");
		if (n == 0)
			return false;	/* "//" */
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '\0')
			break;
	}
	return true;
}

/* the shared path without its trailing slashes ("/" gives length 0) */
static size_t shared_len(const char *shared)
{
	size_t n = strlen(shared);

	while (n > 0 && shared[n - 1] == '/')
		n--;
	return n;
}

static enum hm_lv_storage classify_path(const char *path, const char *shared)
{
	size_t n;

	if (shared == NULL || !path_clean(path) || path[strlen(path) - 1] == '/')
		return HM_LV_STORAGE_LOCAL;
	n = shared_len(shared);
	if (strncmp(path, shared, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
		return HM_LV_STORAGE_SHARED;
	return HM_LV_STORAGE_LOCAL;
}

static enum hm_lv_storage worst(enum hm_lv_storage a, enum hm_lv_storage b)
{
	return a > b ? a : b;
}

/*
 * The storage of one <disk> or <backingStore>: 0 and *ret, or 1 when it has
 * no media (an empty CD-ROM, the end of a backing chain), or -ENOMEM.
 *   file, dir       the path under the shared path → shared, else local
 *   block, network  → volume
 *   volume (pool), nvme, vhostuser, anything else → local
 */
static int classify_source(const xmlNode *node, bool is_disk, const char *shared,
			   enum hm_lv_storage *ret)
{
	xmlChar *type = xmlGetNoNsProp(node, BAD_CAST "type");
	xmlNodePtr src = child_elem(node, "source");
	const char *t;
	xmlChar *path = NULL;
	int rc = 0;

	if (type == NULL && !is_disk)
		return 1;	/* <backingStore/>: the chain ends */
	/* libvirt's default for a disk without a type is a file */
	t = type != NULL ? (const char *)type : "file";
	if (strcmp(t, "file") == 0 || strcmp(t, "dir") == 0) {
		if (src != NULL)
			path = xmlGetNoNsProp(src, BAD_CAST(strcmp(t, "file") == 0 ? "file" : "dir"));
		if (path == NULL)
			rc = 1;
		else
			*ret = classify_path((const char *)path, shared);
	} else if (strcmp(t, "block") == 0 || strcmp(t, "network") == 0) {
		if (src == NULL)
			rc = 1;
		else
			*ret = HM_LV_STORAGE_VOLUME;
	} else if (strcmp(t, "volume") == 0) {
		/* a pool is a host's own definition: nothing says it exists, and
		 * holds the same data, elsewhere */
		if (src == NULL)
			rc = 1;
		else
			*ret = HM_LV_STORAGE_LOCAL;
	} else {
		*ret = HM_LV_STORAGE_LOCAL;	/* nvme, vhostuser, unknown */
	}
	xmlFree(path);
	xmlFree(type);
	return rc;
}

static enum hm_lv_storage infer_storage(const xmlNode *domain, const char *shared)
{
	enum hm_lv_storage s = HM_LV_STORAGE_SHARED, d;
	xmlNodePtr devices = child_elem(domain, "devices"), disk, bs;

	if (devices == NULL)
		return s;
	for (disk = devices->children; disk != NULL; disk = disk->next) {
		if (!is_elem(disk, "disk"))
			continue;
		if (classify_source(disk, true, shared, &d) != 0)
			continue;	/* no media */
		s = worst(s, d);
		/* a backing chain (in live XML): every layer counts */
		for (bs = child_elem(disk, "backingStore"); bs != NULL;
		     bs = child_elem(bs, "backingStore")) {
			if (classify_source(bs, false, shared, &d) != 0)
				break;
			s = worst(s, d);
		}
	}
	return s;
}

static bool group_valid(const char *g)
{
	size_t n = strlen(g);

	if (n == 0 || n > HM_LV_GROUP_MAX)
		return false;
	return strspn(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static bool priority_parse(const char *s, unsigned *ret)
{
	size_t n = strlen(s);
	unsigned long v;

	if (n == 0 || n > 4 || strspn(s, "0123456789") != n)
		return false;
	v = strtoul(s, NULL, 10);
	if (v > HM_LV_PRIORITY_MAX)
		return false;
	*ret = (unsigned)v;
	return true;
}

static void ha_defaults(struct hm_lv_ha *ha)
{
	ha->policy = HM_LV_POLICY_NONE;
	ha->priority = 0;
	ha->anti_affinity[0] = '\0';
	ha->storage = ha->storage_inferred;
	ha->storage_explicit = false;
}

/* find our element among <metadata>'s children: NULL, or -EEXIST when
 * there is more than one */
static int find_ha(const xmlNode *domain, xmlNodePtr *ret)
{
	xmlNodePtr md = child_elem(domain, "metadata"), c;

	*ret = NULL;
	if (md == NULL)
		return 0;
	for (c = md->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || c->ns == NULL || c->ns->href == NULL ||
		    !xmlStrEqual(c->ns->href, BAD_CAST HM_LV_NS) ||
		    !xmlStrEqual(c->name, BAD_CAST HM_LV_HA_ELEMENT))
			continue;
		if (*ret != NULL)
			return -EEXIST;
		*ret = c;
	}
	return 0;
}

/* the attributes of <hamon:ha>: 0, -EINVAL (ha->error says why), -ENOMEM */
static int ha_read_attrs(const xmlNode *el, struct hm_lv_ha *ha)
{
	xmlAttrPtr a;
	xmlChar *v;
	const char *name, *val;
	char q[48];
	bool have_policy = false, seen_pri = false, seen_aff = false, seen_sto = false;
	int rc = 0;

	for (a = el->properties; a != NULL && rc == 0; a = a->next) {
		name = (const char *)a->name;
		v = xmlNodeListGetString(el->doc, a->children, 1);
		val = v != NULL ? (const char *)v : "";
		quote_value(q, sizeof(q), val);
		if (strcmp(name, "policy") == 0) {
			if (have_policy) {
				snprintf(ha->error, sizeof(ha->error), "policy is given twice");
				rc = -EINVAL;
			} else if (strcmp(val, "ha") == 0) {
				ha->policy = HM_LV_POLICY_HA;
			} else if (strcmp(val, "none") == 0) {
				ha->policy = HM_LV_POLICY_NONE;
			} else {
				snprintf(ha->error, sizeof(ha->error),
					 "policy \"%s\" is neither \"ha\" nor \"none\"", q);
				rc = -EINVAL;
			}
			have_policy = true;
		} else if (strcmp(name, "priority") == 0) {
			if (seen_pri || !priority_parse(val, &ha->priority)) {
				snprintf(ha->error, sizeof(ha->error),
					 "priority \"%s\" is not one integer 0..%u", q,
					 HM_LV_PRIORITY_MAX);
				rc = -EINVAL;
			}
			seen_pri = true;
		} else if (strcmp(name, "anti-affinity") == 0) {
			if (seen_aff || !group_valid(val)) {
				snprintf(ha->error, sizeof(ha->error),
					 "anti-affinity \"%s\" is not one name of 1..%d of [A-Za-z0-9_.-]",
					 q, HM_LV_GROUP_MAX);
				rc = -EINVAL;
			} else {
				snprintf(ha->anti_affinity, sizeof(ha->anti_affinity), "%s", val);
			}
			seen_aff = true;
		} else if (strcmp(name, "storage") == 0) {
			if (!seen_sto && strcmp(val, "shared") == 0) {
				ha->storage = HM_LV_STORAGE_SHARED;
			} else if (!seen_sto && strcmp(val, "volume") == 0) {
				ha->storage = HM_LV_STORAGE_VOLUME;
			} else if (!seen_sto && strcmp(val, "local") == 0) {
				ha->storage = HM_LV_STORAGE_LOCAL;
			} else {
				snprintf(ha->error, sizeof(ha->error),
					 "storage \"%s\" is not one of shared, volume, local", q);
				rc = -EINVAL;
			}
			ha->storage_explicit = true;
			seen_sto = true;
		} else if (ha->warning[0] == '\0') {
			quote_value(q, sizeof(q), name);
			snprintf(ha->warning, sizeof(ha->warning),
				 "unknown attribute \"%s\" of <%s:%s> ignored", q, HM_LV_NS_PREFIX,
				 HM_LV_HA_ELEMENT);
		}
		xmlFree(v);
	}
	if (rc == 0 && !have_policy) {
		snprintf(ha->error, sizeof(ha->error), "policy is missing (\"ha\" or \"none\")");
		rc = -EINVAL;
	}
	return rc;
}

int hm_lv_ha_parse(const char *xml, size_t len, const char *shared_path, struct hm_lv_ha *ret)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, el;
	struct hm_lv_ha ha;
	int rc;

	if (ret == NULL || (shared_path != NULL && !path_clean(shared_path)))
		return -EINVAL;
	rc = parse_doc(xml, len, &doc);
	if (rc < 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "domain")) {
		rc = -EINVAL;
		goto free_doc;
	}
	memset(&ha, 0, sizeof(ha));
	ha.storage_inferred = infer_storage(root, shared_path);
	ha_defaults(&ha);
	if (find_ha(root, &el) < 0) {
		ha.metadata_present = true;
		snprintf(ha.error, sizeof(ha.error), "more than one <%s:%s> element",
			 HM_LV_NS_PREFIX, HM_LV_HA_ELEMENT);
	} else if (el != NULL) {
		ha.metadata_present = true;
		if (ha_read_attrs(el, &ha) < 0)
			ha_defaults(&ha);	/* refused: not protected */
	}
	*ret = ha;
	rc = 0;
free_doc:
	xmlFreeDoc(doc);
	return rc;
}

static int uuid_take(const char *s, char ret[HM_LV_UUID_LEN + 1])
{
	char u[HM_LV_UUID_LEN + 1];
	size_t i;
	bool zero = true;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	for (i = 0; i < HM_LV_UUID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
		} else if (c >= '0' && c <= '9') {
			zero = zero && c == '0';
		} else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			c = (char)(c | 0x20);
			zero = false;
		} else {
			return -EINVAL;
		}
		u[i] = c;
	}
	u[HM_LV_UUID_LEN] = '\0';
	s += HM_LV_UUID_LEN;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s != '\0')
		return -EINVAL;
	if (zero)
		return -ENOENT;	/* "no UUID", as libvirt treats it */
	memcpy(ret, u, sizeof(u));
	return 0;
}

static int uuid_of_node(const xmlNode *n, char ret[HM_LV_UUID_LEN + 1])
{
	xmlChar *t = xmlNodeGetContent(n);
	int rc;

	if (t == NULL)
		return -ENOMEM;
	rc = uuid_take((const char *)t, ret);
	xmlFree(t);
	return rc;
}

int hm_lv_host_uuid_from_caps(const char *xml, size_t len, char ret[HM_LV_UUID_LEN + 1])
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, host, uuid;
	int rc;

	if (ret == NULL)
		return -EINVAL;
	rc = parse_doc(xml, len, &doc);
	if (rc < 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "capabilities")) {
		rc = -EINVAL;
		goto free_doc;
	}
	host = child_elem(root, "host");
	uuid = host != NULL ? child_elem(host, "uuid") : NULL;
	rc = uuid != NULL ? uuid_of_node(uuid, ret) : -ENOENT;
free_doc:
	xmlFreeDoc(doc);
	return rc;
}

int hm_lv_host_uuid_from_sysinfo(const char *xml, size_t len, char ret[HM_LV_UUID_LEN + 1])
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, sys, e;
	xmlChar *name;
	int rc = -ENOENT;
	bool match;

	if (ret == NULL)
		return -EINVAL;
	rc = parse_doc(xml, len, &doc);
	if (rc < 0)
		return rc;
	rc = -ENOENT;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "sysinfo")) {
		rc = -EINVAL;
		goto free_doc;
	}
	sys = child_elem(root, "system");
	for (e = sys != NULL ? sys->children : NULL; e != NULL; e = e->next) {
		if (!is_elem(e, "entry"))
			continue;
		name = xmlGetNoNsProp(e, BAD_CAST "name");
		match = name != NULL && xmlStrEqual(name, BAD_CAST "uuid");
		xmlFree(name);
		if (match) {
			rc = uuid_of_node(e, ret);
			break;
		}
	}
free_doc:
	xmlFreeDoc(doc);
	return rc;
}

int hm_lv_domain_uuid_of_xml(const char *xml, size_t len, char ret[HM_LV_UUID_LEN + 1])
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, uuid;
	int rc;

	if (ret == NULL)
		return -EINVAL;
	rc = parse_doc(xml, len, &doc);
	if (rc < 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "domain")) {
		rc = -EINVAL;
		goto free_doc;
	}
	uuid = child_elem(root, "uuid");
	rc = uuid != NULL ? uuid_of_node(uuid, ret) : -ENOENT;
	if (rc == -ENOENT && uuid != NULL)
		rc = -EINVAL;	/* all zero: not a domain's */
free_doc:
	xmlFreeDoc(doc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* process-wide: libvirt init and the event loop thread */

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static int lv_once_rc;

static void lv_quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static void lv_init_once(void)
{
	xmlInitParser();
	if (virInitialize() < 0) {
		lv_once_rc = -EIO;
		return;
	}
	/* libvirt prints every error to stderr without this; we read them
	 * with virGetLastError and the owner logs what matters */
	virSetErrorFunc(NULL, lv_quiet);
	/* idempotent in libvirt >= 6 (g_once); before any connection */
	if (virEventRegisterDefaultImpl() < 0)
		lv_once_rc = -EIO;
}

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned ev_users;
static pthread_t ev_thread;
static int ev_quit;

static void *ev_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&ev_quit, __ATOMIC_ACQUIRE))
		if (virEventRunDefaultImpl() < 0)
			usleep(10000);	/* not a busy loop if it ever fails */
	return NULL;
}

/* our threads take no signals: the qb_loop thread handles them */
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

int hm_lv_event_loop_acquire(void)
{
	int rc = 0;

	pthread_once(&lv_once, lv_init_once);
	if (lv_once_rc < 0)
		return lv_once_rc;
	pthread_mutex_lock(&ev_lock);
	if (ev_users == 0) {
		__atomic_store_n(&ev_quit, 0, __ATOMIC_RELEASE);
		rc = thread_start(&ev_thread, ev_main, NULL);
	}
	if (rc == 0)
		ev_users++;
	pthread_mutex_unlock(&ev_lock);
	return rc;
}

/*
 * Stopping the loop: libvirt's GLib implementation frees removed handles and
 * timeouts (and unrefs what they hold, e.g. a closed connection's socket)
 * from idle callbacks, run by a later iteration.  So the stop is itself a
 * removal: a timeout that removes itself, whose free function — run by the
 * idle queued after every earlier one — tells the thread to end.
 */
static void ev_stop_fire(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

static void ev_stop_free(void *opaque)
{
	(void)opaque;
	__atomic_store_n(&ev_quit, 1, __ATOMIC_RELEASE);
}

void hm_lv_event_loop_release(void)
{
	pthread_mutex_lock(&ev_lock);
	if (ev_users > 0 && --ev_users == 0) {
		if (virEventAddTimeout(0, ev_stop_fire, NULL, ev_stop_free) >= 0) {
			pthread_join(ev_thread, NULL);
		} else {
			/* cannot wake it: it ends at its next wakeup */
			__atomic_store_n(&ev_quit, 1, __ATOMIC_RELEASE);
			pthread_detach(ev_thread);
		}
	}
	pthread_mutex_unlock(&ev_lock);
}

/* ------------------------------------------------------------------ */
/* the adapter */

enum msg_type { MSG_HOST, MSG_DOMAIN, MSG_GONE, MSG_DONE, MSG_ACTION, MSG_PROGRESS };

struct action;

struct msg {
	struct msg *next;
	enum msg_type type;
	struct action *act;		/* MSG_ACTION, MSG_PROGRESS: holds a reference */
	struct hm_lv_migrate_progress prog;	/* MSG_PROGRESS */
	enum hm_lv_host_state state;	/* MSG_HOST */
	struct hm_lv_host_info host;	/* MSG_HOST */
	struct hm_lv_domain dom;	/* MSG_DOMAIN; dom.uuid for MSG_GONE */
	char *name;
	char *xml;			/* from libvirt (malloc) */
};

typedef char uuid_str[HM_LV_UUID_LEN + 1];

struct uuid_set {
	uuid_str *v;
	size_t n, cap;
};

/* a libvirt error, taken right after the call that failed; room is left
 * in a message for the step and a second error */
struct lv_error {
	int code;
	int domain;
	char text[HM_LV_ACTION_MSG_MAX / 2];
};

enum action_type { ACT_START, ACT_REMOVE, ACT_LOOKUP, ACT_MIGRATE };

/* a migration's own state, beside its action */
struct migration {
	struct hm_lv_migrate_params p;	/* the strings point below */
	char *dest_uri;
	char *migrate_uri;
	hm_lv_migrate_progress_fn progress;	/* loop thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool sync_init;
	/* under lock: the helper thread blocked in the migration call */
	bool finished;
	int rc;
	struct lv_error err;
	/* under lock: from the job-completed event (event thread) */
	bool completed;
	uint64_t completed_elapsed_ms;
	uint64_t completed_downtime_ms;
	/* the actor's */
	virDomainPtr dom;
	virTypedParameterPtr params;
	int nparams;
	unsigned long flags;
};

/*
 * One action.  Two references: the loop's (until its callback ran, or was
 * dropped by free) and the thread side's (the queue's, then the actor's,
 * then its result message's, until the loop consumed that).
 */
struct action {
	struct hm_lv_host *h;
	struct action *next;		/* h->queue, under h->lock */
	struct action *loop_next;	/* h->actions: not yet answered (loop thread) */
	enum action_type type;
	char uuid[HM_LV_UUID_LEN + 1];
	char *xml;			/* ACT_START */
	struct migration *mig;		/* ACT_MIGRATE */
	uint64_t timeout_ms;
	uint64_t deadline;		/* CLOCK_MONOTONIC ms */
	unsigned refs;			/* atomic */
	bool abandoned;			/* atomic: answered or freed: no further step */
	bool taken;			/* under h->lock: an actor runs it */
	struct msg *result;		/* preallocated: posting cannot fail */
	/* loop thread only */
	hm_lv_action_fn cb;
	void *data;
	qb_loop_timer_handle timer;
	bool answered;
	/* written by the actor before it posts the result */
	enum hm_lv_outcome outcome;
	char message[HM_LV_ACTION_MSG_MAX];
};

/* an action thread with its own connection */
struct actor {
	struct hm_lv_host *h;
	pthread_t thread;
	bool started;			/* loop thread */
	bool exited, detached;		/* under h->lock */
	struct action *cur;		/* under h->lock: its uuid is busy */
	virConnectPtr conn;		/* the actor thread's own */
};

struct hm_lv_host {
	qb_loop_t *loop;
	char *uri;
	char *shared_path;
	struct hm_lv_host_callbacks cb;
	void *data;
	int efd;
	bool polling;
	bool ev_acquired;
	bool sync_init;
	bool worker_started;
	pthread_t worker;
	struct action *actions;		/* not yet answered (loop thread) */

	pthread_mutex_t lock;
	pthread_cond_t cond;		/* the worker waits on it */
	pthread_cond_t act_cond;	/* idle actors wait on it */
	pthread_cond_t end_cond;	/* free waits on it for threads to end */
	/* under lock */
	unsigned refs;			/* the owner's and one per thread not ended */
	bool worker_exited, worker_detached;
	struct actor actors[HM_LV_ACTIONS_MAX];
	unsigned n_actors, idle_actors;
	struct action *queue, **queue_tail;
	unsigned queued;
	bool stop;
	virConnectPtr conn;
	bool conn_lost;
	int close_reason;
	struct uuid_set pending;
	bool pending_overflow;		/* no memory for an event: re-read all */
	struct msg *out;
	struct msg **out_tail;

	/* the worker's own */
	bool close_cb;
	int lifecycle_id;
	bool reported;			/* any host state reported yet */
	enum hm_lv_host_state state;	/* the last one reported */
	struct hm_lv_host_info info;	/* last known host info */
	struct uuid_set known;		/* domains reported and not gone */
	char why[HM_LV_MSG_MAX];	/* the current failure */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool set_has(const struct uuid_set *s, const char *u)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], u) == 0)
			return true;
	return false;
}

static int set_add(struct uuid_set *s, const char *u)
{
	uuid_str *v;
	size_t cap;

	if (set_has(s, u))
		return 0;
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	snprintf(s->v[s->n++], sizeof(uuid_str), "%s", u);
	return 0;
}

static void set_del_at(struct uuid_set *s, size_t i)
{
	s->n--;
	if (i != s->n)
		memcpy(s->v[i], s->v[s->n], sizeof(uuid_str));
}

static bool set_del(struct uuid_set *s, const char *u)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], u) == 0) {
			set_del_at(s, i);
			return true;
		}
	}
	return false;
}

static void set_free(struct uuid_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void action_unref(struct action *a);

static void msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->act != NULL)
		action_unref(m->act);
	free(m->name);
	free(m->xml);
	free(m);
}

/* worker → loop */
static void post(struct hm_lv_host *h, struct msg *m)
{
	uint64_t one = 1;
	ssize_t n;

	m->next = NULL;
	pthread_mutex_lock(&h->lock);
	if (h->stop) {
		/* freed: nobody reads it any more */
		pthread_mutex_unlock(&h->lock);
		msg_free(m);
		return;
	}
	*h->out_tail = m;
	h->out_tail = &m->next;
	pthread_mutex_unlock(&h->lock);
	/* the eventfd lives as long as h, which this thread holds; cannot
	 * fail short of a counter overflow: the loop drains it */
	do
		n = write(h->efd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

/* a message without payload; NULL only without memory, and then the event
 * is lost: the next full read repairs the owner's view */
static int post_simple(struct hm_lv_host *h, enum msg_type type, const char *uuid)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	m->type = type;
	if (uuid != NULL)
		snprintf(m->dom.uuid, sizeof(m->dom.uuid), "%s", uuid);
	post(h, m);
	return 0;
}

static void set_why(struct hm_lv_host *h, const char *what)
{
	snprintf(h->why, sizeof(h->why), "%s: %s", what, virGetLastErrorMessage());
}

static void report_state(struct hm_lv_host *h, enum hm_lv_host_state state)
{
	struct msg *m;

	if (h->reported && h->state == state)
		return;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;	/* reported at the next change */
	h->reported = true;
	h->state = state;
	m->type = MSG_HOST;
	m->state = state;
	m->host = h->info;
	if (state == HM_LV_UNREACHABLE)
		snprintf(m->host.reason, sizeof(m->host.reason), "%s", h->why);
	else
		m->host.reason[0] = '\0';
	post(h, m);
}

/* event thread */
static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct hm_lv_host *h = opaque;

	pthread_mutex_lock(&h->lock);
	if (conn == h->conn) {
		h->conn_lost = true;
		h->close_reason = reason;
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

/* event thread */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct hm_lv_host *h = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	(void)event;
	(void)detail;
	if (virDomainGetUUIDString(dom, uuid) < 0)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (conn == h->conn) {
		if (set_add(&h->pending, uuid) < 0)
			h->pending_overflow = true;
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static const char *close_reason_str(int reason)
{
	switch (reason) {
	case VIR_CONNECT_CLOSE_REASON_ERROR: return "connection closed: socket error";
	case VIR_CONNECT_CLOSE_REASON_EOF: return "connection closed: end of file (libvirt daemon gone)";
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "connection closed: keepalive timeout";
	case VIR_CONNECT_CLOSE_REASON_CLIENT: return "connection closed by the client";
	default: return "connection closed";
	}
}

static void conn_close(struct hm_lv_host *h)
{
	virConnectPtr c;

	pthread_mutex_lock(&h->lock);
	c = h->conn;
	h->conn = NULL;		/* callbacks of this connection are dropped from now */
	h->conn_lost = false;
	h->pending.n = 0;
	h->pending_overflow = false;
	pthread_mutex_unlock(&h->lock);
	if (c == NULL)
		return;
	if (h->lifecycle_id >= 0)
		virConnectDomainEventDeregisterAny(c, h->lifecycle_id);
	h->lifecycle_id = -1;
	if (h->close_cb)
		virConnectUnregisterCloseCallback(c, on_close);
	h->close_cb = false;
	virConnectClose(c);
}

/* the connection is no longer trusted: close it and say so */
static void conn_fail(struct hm_lv_host *h)
{
	conn_close(h);
	report_state(h, HM_LV_UNREACHABLE);
}

static int err_of_last(void)
{
	return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? -ENOENT : -EIO;
}

/* 0 and *ret, -ENOENT (no such domain), -EIO (h->why says), -ENOMEM */
static int read_domain(struct hm_lv_host *h, virDomainPtr d, struct msg **ret)
{
	struct msg *m = calloc(1, sizeof(*m));
	virDomainInfo info;
	const char *name;
	int st, reason, active, persistent, autostart = 0, rc;

	if (m == NULL)
		return -ENOMEM;
	m->type = MSG_DOMAIN;
	if (virDomainGetUUIDString(d, m->dom.uuid) < 0 || (name = virDomainGetName(d)) == NULL) {
		rc = err_of_last();
		set_why(h, "virDomainGetUUIDString");
		goto free_msg;
	}
	m->name = strdup(name);
	if (m->name == NULL) {
		rc = -ENOMEM;
		goto free_msg;
	}
	rc = -EIO;
	if (virDomainGetState(d, &st, &reason, 0) < 0) {
		set_why(h, "virDomainGetState");
		goto libvirt_error;
	}
	if (virDomainGetInfo(d, &info) < 0) {
		set_why(h, "virDomainGetInfo");
		goto libvirt_error;
	}
	if ((active = virDomainIsActive(d)) < 0) {
		set_why(h, "virDomainIsActive");
		goto libvirt_error;
	}
	if ((persistent = virDomainIsPersistent(d)) < 0) {
		set_why(h, "virDomainIsPersistent");
		goto libvirt_error;
	}
	if (virDomainGetAutostart(d, &autostart) < 0) {
		set_why(h, "virDomainGetAutostart");
		goto libvirt_error;
	}
	m->xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	if (m->xml == NULL) {
		set_why(h, "virDomainGetXMLDesc");
		goto libvirt_error;
	}
	m->dom.name = m->name;
	m->dom.state = hm_lv_dom_state_from_virt(st);
	m->dom.active = active == 1;
	m->dom.vcpus = info.nrVirtCpu;
	m->dom.memory_mib = ((uint64_t)info.maxMem + 1023u) / 1024u;
	m->dom.persistent = persistent == 1;
	m->dom.autostart = autostart != 0;
	m->dom.xml = m->xml;
	m->dom.xml_len = strlen(m->xml);
	rc = hm_lv_ha_parse(m->xml, m->dom.xml_len, h->shared_path, &m->dom.ha);
	if (rc == -ENOMEM)
		goto free_msg;
	if (rc < 0) {
		/* libvirt's own XML that we cannot read: not protected, and
		 * nothing is assumed about its disks */
		memset(&m->dom.ha, 0, sizeof(m->dom.ha));
		m->dom.ha.storage = m->dom.ha.storage_inferred = HM_LV_STORAGE_LOCAL;
		snprintf(m->dom.ha.error, sizeof(m->dom.ha.error),
			 "the domain XML could not be read (%s)", strerror(-rc));
	}
	*ret = m;
	return 0;

libvirt_error:
	rc = err_of_last();
free_msg:
	msg_free(m);
	return rc;
}

/* a domain libvirt says does not exist: gone, if we had reported it */
static int domain_gone(struct hm_lv_host *h, const char *uuid)
{
	if (!set_has(&h->known, uuid))
		return 0;
	if (post_simple(h, MSG_GONE, uuid) < 0)
		return -ENOMEM;
	set_del(&h->known, uuid);
	return 0;
}

static int domain_publish(struct hm_lv_host *h, struct msg *m)
{
	if (set_add(&h->known, m->dom.uuid) < 0) {
		msg_free(m);
		return -ENOMEM;
	}
	post(h, m);
	return 0;
}

static int read_host(struct hm_lv_host *h)
{
	struct hm_lv_host_info info;
	virNodeInfo ni;
	char *s;
	int rc = -ENOENT;

	memset(&info, 0, sizeof(info));
	if (virNodeGetInfo(h->conn, &ni) < 0) {
		set_why(h, "virNodeGetInfo");
		return -EIO;
	}
	info.cpus = ni.cpus;
	info.memory_mib = (uint64_t)ni.memory / 1024u;
	s = virConnectGetCapabilities(h->conn);
	if (s == NULL) {
		set_why(h, "virConnectGetCapabilities");
		return -EIO;
	}
	rc = hm_lv_host_uuid_from_caps(s, strlen(s), info.uuid);
	free(s);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		/* not every driver has one in its capabilities */
		s = virConnectGetSysinfo(h->conn, 0);
		rc = s != NULL ? hm_lv_host_uuid_from_sysinfo(s, strlen(s), info.uuid) : -ENOENT;
		free(s);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			info.uuid[0] = '\0';
	}
	s = virConnectGetHostname(h->conn);
	if (s != NULL)
		snprintf(info.hostname, sizeof(info.hostname), "%s", s);
	free(s);
	h->info = info;
	return 0;
}

/* every domain, then the gone ones, then inventory_done */
static int full_read(struct hm_lv_host *h)
{
	virDomainPtr *doms = NULL;
	struct uuid_set seen = { 0 };
	struct msg *m;
	int n, i, rc = 0;
	size_t k;

	n = virConnectListAllDomains(h->conn, &doms, 0);
	if (n < 0) {
		set_why(h, "virConnectListAllDomains");
		return -EIO;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			rc = read_domain(h, doms[i], &m);
			if (rc == -ENOENT) {
				rc = 0;		/* went away since the list: gone below */
			} else if (rc == 0) {
				rc = set_add(&seen, m->dom.uuid);
				if (rc == 0)
					rc = domain_publish(h, m);
				else
					msg_free(m);
			}
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	for (k = h->known.n; rc == 0 && k-- > 0;) {
		if (set_has(&seen, h->known.v[k]))
			continue;
		rc = post_simple(h, MSG_GONE, h->known.v[k]);
		if (rc == 0)
			set_del_at(&h->known, k);
	}
	set_free(&seen);
	if (rc == 0)
		rc = post_simple(h, MSG_DONE, NULL);
	if (rc == -ENOMEM)
		snprintf(h->why, sizeof(h->why), "out of memory while reading the inventory");
	return rc;
}

static int process_events(struct hm_lv_host *h, const struct uuid_set *uuids)
{
	virDomainPtr d;
	struct msg *m;
	size_t i;
	int rc = 0;

	for (i = 0; i < uuids->n && rc == 0; i++) {
		d = virDomainLookupByUUIDString(h->conn, uuids->v[i]);
		if (d == NULL) {
			rc = err_of_last();
			set_why(h, "virDomainLookupByUUIDString");
		} else {
			rc = read_domain(h, d, &m);
			virDomainFree(d);
			if (rc == 0)
				rc = domain_publish(h, m);
		}
		if (rc == -ENOENT)
			rc = domain_gone(h, uuids->v[i]);
	}
	if (rc == -ENOMEM)
		snprintf(h->why, sizeof(h->why), "out of memory while reading a domain");
	return rc;
}

static int conn_open(struct hm_lv_host *h)
{
	virConnectPtr c;
	int rc;

	c = virConnectOpen(h->uri);
	if (c == NULL) {
		set_why(h, "cannot connect");
		report_state(h, HM_LV_UNREACHABLE);
		return -EIO;
	}
	pthread_mutex_lock(&h->lock);
	h->conn = c;
	h->conn_lost = false;
	pthread_mutex_unlock(&h->lock);

	/* not supported by every driver (1 = unsupported): a silent daemon
	 * then goes unnoticed until a call fails, but EOF is still seen */
	(void)virConnectSetKeepAlive(c, HM_LV_KEEPALIVE_INTERVAL_S, HM_LV_KEEPALIVE_COUNT);
	if (virConnectRegisterCloseCallback(c, on_close, h, NULL) < 0) {
		set_why(h, "virConnectRegisterCloseCallback");
		goto fail;
	}
	h->close_cb = true;
	h->lifecycle_id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							   VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
							   h, NULL);
	if (h->lifecycle_id < 0) {
		set_why(h, "virConnectDomainEventRegisterAny");
		goto fail;
	}
	/* events from now on are covered by the full read that follows */
	pthread_mutex_lock(&h->lock);
	h->pending.n = 0;
	h->pending_overflow = false;
	pthread_mutex_unlock(&h->lock);

	rc = read_host(h);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(h->why, sizeof(h->why), "out of memory while reading the host");
		goto fail;
	}
	report_state(h, HM_LV_CONNECTED);
	if (full_read(h) < 0)
		goto fail;
	return 0;

fail:
	conn_fail(h);
	return -EIO;
}

static void cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t at_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(at_ms / 1000u);
	ts.tv_nsec = (long)(at_ms % 1000u) * 1000000L;
	pthread_cond_timedwait(cond, lock, &ts);
}

static void host_destroy(struct hm_lv_host *h);

static unsigned lingering;	/* atomic: hm_lv_threads_lingering */

unsigned hm_lv_threads_lingering(void)
{
	return __atomic_load_n(&lingering, __ATOMIC_ACQUIRE);
}

/* the last thing an adapter thread does: drop its reference (h may be gone
 * after it) */
static void thread_end(struct hm_lv_host *h, bool *exited, const bool *detached)
{
	bool last, was_detached;

	pthread_mutex_lock(&h->lock);
	*exited = true;
	was_detached = *detached;
	pthread_cond_broadcast(&h->end_cond);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (was_detached)
		__atomic_sub_fetch(&lingering, 1, __ATOMIC_RELEASE);
	if (last)
		host_destroy(h);
}

static void *worker_main(void *arg)
{
	struct hm_lv_host *h = arg;
	struct uuid_set work = { 0 };
	uint64_t retry_at = 0;
	bool overflow;
	int rc;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		if (h->conn == NULL) {
			if (now_ms() < retry_at) {
				cond_wait_until(&h->cond, &h->lock, retry_at);
				continue;
			}
			pthread_mutex_unlock(&h->lock);
			rc = conn_open(h);
			pthread_mutex_lock(&h->lock);
			if (rc < 0)
				retry_at = now_ms() + HM_LV_RETRY_MS;
			continue;
		}
		if (h->conn_lost) {
			snprintf(h->why, sizeof(h->why), "%s", close_reason_str(h->close_reason));
			pthread_mutex_unlock(&h->lock);
			conn_fail(h);
			pthread_mutex_lock(&h->lock);
			retry_at = 0;	/* once at once, then every second */
			continue;
		}
		if (h->pending.n > 0 || h->pending_overflow) {
			struct uuid_set t = h->pending;

			h->pending = work;
			work = t;
			overflow = h->pending_overflow;
			h->pending_overflow = false;
			pthread_mutex_unlock(&h->lock);
			rc = overflow ? full_read(h) : process_events(h, &work);
			work.n = 0;
			if (rc < 0)
				conn_fail(h);
			pthread_mutex_lock(&h->lock);
			if (rc < 0)
				retry_at = 0;
			continue;
		}
		pthread_cond_wait(&h->cond, &h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	conn_close(h);
	set_free(&work);
	thread_end(h, &h->worker_exited, &h->worker_detached);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* actions, on the action threads */

static void migration_free(struct migration *m);

static void action_free(struct action *a)
{
	migration_free(a->mig);
	free(a->xml);
	free(a->result);	/* not posted */
	free(a);
}

static void action_unref(struct action *a)
{
	if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
		action_free(a);
}

/* past its deadline, or answered already: take no further step */
static bool action_expired(const struct action *a)
{
	return __atomic_load_n(&a->abandoned, __ATOMIC_ACQUIRE) || now_ms() >= a->deadline;
}

/* messages go to logs: printable ASCII only (libvirt's span lines) */
static void printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = ' ';
}

static void __attribute__((format(printf, 3, 4)))
action_set(struct action *a, enum hm_lv_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	va_end(ap);
	printable(a->message);
	a->outcome = outcome;
}

/* QEMU's errors quote its command line first and say what failed last:
 * a long one keeps a third of its start and the rest of its end */
static void elide(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src), head, tail;

	if (len < n) {
		memcpy(dst, src, len + 1);
		return;
	}
	head = (n - 1) / 3;
	tail = n - 1 - head - 5;
	snprintf(dst, n, "%.*s ... %s", (int)head, src, src + len - tail);
}

static void lv_error_take(struct lv_error *e)
{
	virErrorPtr v = virGetLastError();

	e->code = v != NULL ? v->code : VIR_ERR_INTERNAL_ERROR;
	e->domain = v != NULL ? v->domain : VIR_FROM_NONE;
	elide(e->text, sizeof(e->text),
	      v != NULL && v->message != NULL ? v->message : "unknown libvirt error");
}

/*
 * libvirt's answer, as opposed to "could not get one": the connection is
 * alive and the error is neither the transport's nor a wait for another
 * job that timed out (that job may be doing what we asked)
 */
static bool lv_error_definite(const struct lv_error *e, virConnectPtr c)
{
	switch (e->code) {
	case VIR_ERR_RPC:
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_INVALID_CONN:
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_AUTH_FAILED:
	case VIR_ERR_AUTH_CANCELLED:
		return false;
	default:
		break;
	}
	if (e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE)
		return false;
	return virConnectIsAlive(c) == 1;
}

enum presence { ABSENT, INACTIVE, ACTIVE };

static const char *presence_str(enum presence p)
{
	switch (p) {
	case ABSENT: return "absent";
	case INACTIVE: return "inactive";
	case ACTIVE: return "active";
	}
	return "unknown";
}

/*
 * Look the domain up: 0 and *ret (and *ret_dom when asked and not absent,
 * else NULL), or -EIO and *e.  Only libvirt's "no such domain" is absent.
 */
static int look(virConnectPtr c, const char *uuid, enum presence *ret, virDomainPtr *ret_dom,
		struct lv_error *e)
{
	virDomainPtr d;
	int active;

	if (ret_dom != NULL)
		*ret_dom = NULL;
	d = virDomainLookupByUUIDString(c, uuid);
	if (d == NULL) {
		if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
			lv_error_take(e);
			return -EIO;
		}
		*ret = ABSENT;
		return 0;
	}
	active = virDomainIsActive(d);
	if (active < 0) {
		/* a transient domain that just stopped is gone */
		if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
			lv_error_take(e);
			virDomainFree(d);
			return -EIO;
		}
		virDomainFree(d);
		*ret = ABSENT;
		return 0;
	}
	*ret = active == 1 ? ACTIVE : INACTIVE;
	if (ret_dom != NULL)
		*ret_dom = d;
	else
		virDomainFree(d);
	return 0;
}

static void actor_disconnect(struct actor *ac)
{
	if (ac->conn != NULL)
		virConnectClose(ac->conn);
	ac->conn = NULL;
}

/* the actor's connection, opened or reopened when it died: 0, or -EIO
 * with the action's answer set */
static int actor_connect(struct actor *ac, struct action *a)
{
	if (ac->conn != NULL && virConnectIsAlive(ac->conn) == 1)
		return 0;
	actor_disconnect(ac);
	ac->conn = virConnectOpen(ac->h->uri);
	if (ac->conn == NULL) {
		struct lv_error e;

		lv_error_take(&e);
		action_set(a, HM_LV_UNKNOWN, "cannot connect to libvirt: %s", e.text);
		return -EIO;
	}
	/* a daemon that hangs in a call is noticed (unsupported: 1) */
	(void)virConnectSetKeepAlive(ac->conn, HM_LV_KEEPALIVE_INTERVAL_S, HM_LV_KEEPALIVE_COUNT);
	return 0;
}

/*
 * A start step failed with e.  What is true now?  Only a definite refusal
 * followed by a lookup that shows the domain not active is FAILED; a
 * definition this start made is then undefined again, so that a failed
 * start leaves the host as it was.
 */
static void start_refused(struct actor *ac, struct action *a, const char *step,
			  const struct lv_error *e, bool defined_here)
{
	struct lv_error e2;
	enum presence p;
	virDomainPtr d;

	if (!lv_error_definite(e, ac->conn)) {
		action_set(a, HM_LV_UNKNOWN, "%s: %s (no definite answer from libvirt)", step,
			   e->text);
		return;
	}
	if (look(ac->conn, a->uuid, &p, &d, &e2) < 0) {
		action_set(a, HM_LV_UNKNOWN, "%s: %s; then the lookup failed: %s", step, e->text,
			   e2.text);
		return;
	}
	if (p == ACTIVE) {
		action_set(a, HM_LV_DONE, "running (%s reported: %s)", step, e->text);
	} else if (p == INACTIVE && defined_here && virDomainUndefine(d) < 0) {
		lv_error_take(&e2);
		action_set(a, HM_LV_FAILED, "%s: %s (its definition stays: %s)", step, e->text,
			   e2.text);
	} else {
		action_set(a, HM_LV_FAILED, "%s: %s", step, e->text);
	}
	if (d != NULL)
		virDomainFree(d);
}

static void run_start(struct actor *ac, struct action *a)
{
	struct lv_error e;
	enum presence p;
	virDomainPtr d;
	const char *step;
	bool defined_here;
	int autostart = 0, saved;

	if (look(ac->conn, a->uuid, &p, NULL, &e) < 0) {
		action_set(a, HM_LV_UNKNOWN, "lookup: %s", e.text);
		return;
	}
	if (p == ACTIVE) {
		action_set(a, HM_LV_DONE, "already running");
		return;
	}
	if (action_expired(a)) {
		action_set(a, HM_LV_UNKNOWN, "deadline passed before the define");
		return;
	}
	defined_here = p == ABSENT;
	step = "define";
	d = virDomainDefineXML(ac->conn, a->xml);
	if (d == NULL)
		goto refused;
	/* a redefinition keeps the old autostart; a host that boots again
	 * must not start what may run elsewhere by then */
	step = "autostart off";
	if (virDomainGetAutostart(d, &autostart) < 0 ||
	    (autostart != 0 && virDomainSetAutostart(d, 0) < 0))
		goto refused;
	/* a managed-save image here is an old memory state: never resume it */
	step = "managed-save removal";
	saved = virDomainHasManagedSaveImage(d, 0);
	if (saved < 0 || (saved > 0 && virDomainManagedSaveRemove(d, 0) < 0))
		goto refused;
	if (action_expired(a)) {
		action_set(a, HM_LV_UNKNOWN, "deadline passed before the start (defined, not started)");
		goto free_dom;
	}
	step = "start";
	if (virDomainCreate(d) < 0)
		goto refused;
	action_set(a, HM_LV_DONE, "started");
	goto free_dom;

refused:
	lv_error_take(&e);
	start_refused(ac, a, step, &e, defined_here);
free_dom:
	if (d != NULL)
		virDomainFree(d);
}

/*
 * Undefine with whatever else must go for it to succeed: the managed-save
 * image, snapshot and checkpoint metadata; NVRAM and TPM state are kept
 * (they may be on shared storage, the instance's own).  A driver that does
 * not know a flag refuses it with VIR_ERR_INVALID_ARG: then fewer flags.
 */
static int undefine(virDomainPtr d)
{
	static const unsigned flags[] = {
		VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |
			VIR_DOMAIN_UNDEFINE_KEEP_TPM,
		/* before libvirt 8.9 */
		VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
		/* drivers without checkpoints or NVRAM (test) */
		VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
	};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (virDomainUndefineFlags(d, flags[i]) == 0)
			return 0;
		if (virGetLastErrorCode() != VIR_ERR_INVALID_ARG)
			break;
	}
	return -EIO;
}

#define REMOVE_ROUNDS 4

/*
 * Observe, then act, until libvirt says "no such domain": destroy while
 * active, undefine while defined.  A step that failed and whose reason is
 * still there (still active after a destroy, still defined after an
 * undefine) is FAILED; one overtaken by events (it stopped by itself) is
 * not.  Bounded, against a domain someone keeps recreating.
 */
static void run_remove(struct actor *ac, struct action *a)
{
	struct lv_error e, last = { 0 };
	const char *step = NULL;
	enum presence p;
	virDomainPtr d;
	unsigned round;
	int rc;

	for (round = 0; round < REMOVE_ROUNDS; round++) {
		if (look(ac->conn, a->uuid, &p, &d, &e) < 0) {
			if (step != NULL)
				action_set(a, HM_LV_UNKNOWN, "lookup after %s: %s", step, e.text);
			else
				action_set(a, HM_LV_UNKNOWN, "lookup: %s", e.text);
			return;
		}
		if (p == ABSENT) {
			action_set(a, HM_LV_DONE, round == 0 ? "absent" : "removed");
			return;
		}
		if (step != NULL && last.text[0] != '\0' &&
		    (strcmp(step, "destroy") == 0) == (p == ACTIVE)) {
			action_set(a, HM_LV_FAILED, "%s: %s (still %s)", step, last.text,
				   p == ACTIVE ? "active" : "defined");
			goto free_dom;
		}
		if (action_expired(a)) {
			action_set(a, HM_LV_UNKNOWN, "deadline passed before the %s",
				   p == ACTIVE ? "destroy" : "undefine");
			goto free_dom;
		}
		step = p == ACTIVE ? "destroy" : "undefine";
		rc = p == ACTIVE ? virDomainDestroy(d) : undefine(d);
		last.text[0] = '\0';
		if (rc < 0) {
			lv_error_take(&last);
			if (!lv_error_definite(&last, ac->conn)) {
				action_set(a, HM_LV_UNKNOWN, "%s: %s (no definite answer from libvirt)",
					   step, last.text);
				goto free_dom;
			}
		}
		virDomainFree(d);
	}
	action_set(a, HM_LV_FAILED, "still there after %u rounds of destroy and undefine",
		   REMOVE_ROUNDS);
	return;

free_dom:
	virDomainFree(d);
}

static void run_lookup(struct actor *ac, struct action *a)
{
	struct lv_error e;
	enum presence p;

	if (look(ac->conn, a->uuid, &p, NULL, &e) < 0)
		action_set(a, HM_LV_UNKNOWN, "lookup: %s", e.text);
	else
		action_set(a, HM_LV_DONE, "%s", presence_str(p));
}

/* ------------------------------------------------------------------ */
/* live migration, on an action thread and a helper */

static void wake_loop(struct hm_lv_host *h)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(h->efd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

static void migration_free(struct migration *m)
{
	if (m == NULL)
		return;
	if (m->sync_init) {
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->cond);
	}
	free(m->dest_uri);
	free(m->migrate_uri);
	free(m);
}

/* the helper: blocked in the migration call until it ends */
static void *migrate_call(void *arg)
{
	struct migration *m = arg;
	struct lv_error e = { 0 };
	int rc;

	rc = virDomainMigrateToURI3(m->dom, m->dest_uri, m->params, (unsigned)m->nparams, m->flags);
	if (rc < 0)
		lv_error_take(&e);	/* errors are per thread */
	pthread_mutex_lock(&m->lock);
	m->rc = rc;
	m->err = e;
	m->finished = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* event thread: the completed job's statistics, about when the call
 * returns; opaque is the action, held by the registration */
static void on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
			     int nparams, void *opaque)
{
	struct action *a = opaque;
	struct migration *m = a->mig;
	unsigned long long elapsed = 0, downtime = 0;

	(void)conn;
	(void)dom;
	(void)virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &elapsed);
	(void)virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &downtime);
	pthread_mutex_lock(&m->lock);
	m->completed = true;
	m->completed_elapsed_ms = elapsed;
	m->completed_downtime_ms = downtime;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* libvirt drops a callback's registration only once no dispatch of it
 * runs any more: then this */
static void job_completed_free(void *opaque)
{
	action_unref(opaque);
}

static int migrate_params(struct migration *m)
{
	int max = 0;
	int rc = 0;

	m->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
		   VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_ABORT_ON_ERROR;
	if (m->p.unsafe)
		m->flags |= VIR_MIGRATE_UNSAFE;
	if (m->p.auto_converge)
		m->flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (m->p.completion_timeout_ms > 0 && m->p.on_timeout == HM_LV_MIGRATE_POSTCOPY)
		m->flags |= VIR_MIGRATE_POSTCOPY;
	if (m->migrate_uri != NULL)
		rc = virTypedParamsAddString(&m->params, &m->nparams, &max, VIR_MIGRATE_PARAM_URI,
					     m->migrate_uri);
	if (rc == 0 && m->p.bandwidth_mibs > 0)
		rc = virTypedParamsAddULLong(&m->params, &m->nparams, &max,
					     VIR_MIGRATE_PARAM_BANDWIDTH, m->p.bandwidth_mibs);
	if (rc == 0 && m->p.auto_converge && m->p.auto_converge_initial > 0)
		rc = virTypedParamsAddInt(&m->params, &m->nparams, &max,
					  VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL,
					  (int)m->p.auto_converge_initial);
	if (rc == 0 && m->p.auto_converge && m->p.auto_converge_increment > 0)
		rc = virTypedParamsAddInt(&m->params, &m->nparams, &max,
					  VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT,
					  (int)m->p.auto_converge_increment);
	return rc < 0 ? -ENOMEM : 0;
}

#define HM_LV_MIGRATE_EVENT_WAIT_MS 500u

/* QEMU's own max downtime when nobody set one */
#define HM_LV_QEMU_DOWNTIME_MS 300u

/* the controls' state, on the actor */
struct migrate_watch {
	uint64_t converging_at;		/* last seen converging (or the last step) */
	bool running;			/* the job was seen */
	bool fallback;			/* completion timeout acted */
	bool aborted;			/* we aborted it (timeout or deadline) */
	bool postcopy;
	uint64_t downtime;		/* the setting now */
	unsigned step;
	char note[128];			/* what the controls did, for the answer */
};

static uint64_t param_ull(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v = 0;

	(void)virTypedParamsGetULLong(p, n, name, &v);
	return v;
}

/* the downtime allowed at step k of n, from the first setting to the limit */
static uint64_t downtime_at_step(const struct hm_lv_migrate_params *p, unsigned k, unsigned n)
{
	return p->max_downtime_ms + (p->max_downtime_limit_ms - p->max_downtime_ms) * k / n;
}

static void migrate_post_progress(struct hm_lv_host *h, struct action *a,
				  const struct hm_lv_migrate_progress *prog)
{
	struct msg *m;
	bool posted;

	if (a->mig->progress == NULL || __atomic_load_n(&a->abandoned, __ATOMIC_ACQUIRE))
		return;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;		/* one progress report less */
	m->type = MSG_PROGRESS;
	m->prog = *prog;
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_ACQ_REL);
	m->act = a;
	pthread_mutex_lock(&h->lock);
	posted = !h->stop;
	if (posted) {
		*h->out_tail = m;
		h->out_tail = &m->next;
	}
	pthread_mutex_unlock(&h->lock);
	if (posted)
		wake_loop(h);
	else
		msg_free(m);
}

/* one poll while the call runs: statistics, controls, progress */
static void migrate_poll(struct actor *ac, struct action *a, struct migrate_watch *w)
{
	struct migration *m = a->mig;
	const struct hm_lv_migrate_params *p = &m->p;
	struct hm_lv_migrate_progress prog;
	virTypedParameterPtr params = NULL;
	int nparams = 0, type = VIR_DOMAIN_JOB_NONE, throttle = 0;
	unsigned steps = p->max_downtime_steps > 0 ? p->max_downtime_steps : 1;
	uint64_t stall = p->stall_ms > 0 ? p->stall_ms : HM_LV_MIGRATE_STALL_MS, now = now_ms();

	if (virDomainGetJobStats(m->dom, &type, &params, &nparams, 0) < 0 ||
	    (type != VIR_DOMAIN_JOB_BOUNDED && type != VIR_DOMAIN_JOB_UNBOUNDED)) {
		virTypedParamsFree(params, nparams);
		return;		/* not started yet, or over (completed, failed, cancelled) */
	}
	memset(&prog, 0, sizeof(prog));
	prog.elapsed_ms = param_ull(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED);
	prog.data_total = param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_TOTAL);
	prog.data_processed = param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED);
	prog.data_remaining = param_ull(params, nparams, VIR_DOMAIN_JOB_DATA_REMAINING);
	prog.memory_bps = param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_BPS);
	prog.dirty_rate = param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE);
	prog.iteration = param_ull(params, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION);
	prog.expected_downtime_ms = param_ull(params, nparams, VIR_DOMAIN_JOB_DOWNTIME);
	(void)virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, &throttle);
	prog.throttle_percent = throttle;
	virTypedParamsFree(params, nparams);

	if (!w->running) {
		w->running = true;
		w->converging_at = now;
		/* settable only while the job runs */
		if (p->max_downtime_ms > 0 &&
		    virDomainMigrateSetMaxDowntime(m->dom, p->max_downtime_ms, 0) == 0)
			w->downtime = p->max_downtime_ms;
	}
	/*
	 * Converging: still in the setup or the first pass (everything is
	 * sent once), or QEMU expects to fit the rest into the allowed
	 * downtime.  A guest that dirties its memory faster than the link
	 * carries stays above it pass after pass: then one step up.
	 */
	if (prog.data_total == 0 || prog.iteration < 2 ||
	    prog.expected_downtime_ms <= (w->downtime > 0 ? w->downtime : HM_LV_QEMU_DOWNTIME_MS)) {
		w->converging_at = now;
	} else if (!w->postcopy && p->max_downtime_limit_ms > 0 && w->step < steps &&
		   now - w->converging_at >= stall) {
		uint64_t next = downtime_at_step(p, w->step + 1, steps);

		if (virDomainMigrateSetMaxDowntime(m->dom, next, 0) == 0) {
			w->step++;
			w->downtime = next;
			snprintf(w->note, sizeof(w->note), "max downtime raised to %llu ms",
				 (unsigned long long)next);
		}
		w->converging_at = now;
	}

	/* the job's time includes its setup (the destination's QEMU starts):
	 * QEMU refuses post-copy before its stream began */
	if (p->completion_timeout_ms > 0 && !w->fallback &&
	    prog.elapsed_ms >= p->completion_timeout_ms &&
	    (p->on_timeout == HM_LV_MIGRATE_ABORT || prog.data_total > 0)) {
		w->fallback = true;
		if (p->on_timeout == HM_LV_MIGRATE_POSTCOPY &&
		    virDomainMigrateStartPostCopy(m->dom, 0) == 0) {
			w->postcopy = true;
			snprintf(w->note, sizeof(w->note),
				 "switched to post-copy at the completion timeout");
		} else if (p->on_timeout == HM_LV_MIGRATE_POSTCOPY) {
			/* the timeout ends the pre-copy one way or the other */
			struct lv_error e;

			lv_error_take(&e);
			if (virDomainAbortJob(m->dom) == 0)
				w->aborted = true;
			snprintf(w->note, sizeof(w->note), "post-copy refused (%.40s), %s", e.text,
				 w->aborted ? "aborted" : "abort failed");
		} else if (virDomainAbortJob(m->dom) == 0) {
			w->aborted = true;
			snprintf(w->note, sizeof(w->note), "aborted at the completion timeout (%llu ms)",
				 (unsigned long long)p->completion_timeout_ms);
		}
	}
	/* answered UNKNOWN already: do not leave it running if it can still
	 * be undone */
	if (action_expired(a) && !w->postcopy && !w->aborted && virDomainAbortJob(m->dom) == 0) {
		w->aborted = true;
		snprintf(w->note, sizeof(w->note), "aborted at the deadline");
	}
	prog.max_downtime_ms = w->downtime;
	prog.downtime_step = w->step;
	prog.postcopy = w->postcopy;
	migrate_post_progress(ac->h, a, &prog);
}

/* after the call failed: where does the domain run? */
static void migrate_failed(struct actor *ac, struct action *a, const struct migrate_watch *w)
{
	struct migration *m = a->mig;
	struct lv_error e2;
	enum presence p;
	virDomainPtr d;
	int st = 0, reason = 0;
	const char *note = w->note[0] != '\0' ? w->note : "migration";

	if (w->postcopy) {
		/* both ends may hold half of the running state */
		action_set(a, HM_LV_UNKNOWN, "%s, then: %s", note, m->err.text);
		return;
	}
	if (!lv_error_definite(&m->err, ac->conn)) {
		action_set(a, HM_LV_UNKNOWN, "%s: %s (no definite answer from libvirt)", note,
			   m->err.text);
		return;
	}
	if (look(ac->conn, a->uuid, &p, &d, &e2) < 0) {
		action_set(a, HM_LV_UNKNOWN, "%s: %s; then the lookup failed: %s", note, m->err.text,
			   e2.text);
		return;
	}
	if (p == ACTIVE && virDomainGetState(d, &st, &reason, 0) == 0 && st == VIR_DOMAIN_PAUSED &&
	    reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) {
		action_set(a, HM_LV_UNKNOWN, "%s: %s (post-copy failed: paused here)", note,
			   m->err.text);
	} else if (p == ACTIVE) {
		action_set(a, HM_LV_FAILED, "%s: %s (still running here)", note, m->err.text);
	} else {
		action_set(a, HM_LV_UNKNOWN, "%s: %s (%s here now: look on the destination)", note,
			   m->err.text, presence_str(p));
	}
	if (d != NULL)
		virDomainFree(d);
}

static void run_migrate(struct actor *ac, struct action *a)
{
	struct migration *m = a->mig;
	struct migrate_watch w;
	struct lv_error e;
	enum presence p;
	pthread_t helper;
	uint64_t poll_ms = m->p.progress_interval_ms > 0 ? m->p.progress_interval_ms :
							    HM_LV_MIGRATE_POLL_MS;
	int event_id = -1, rc;

	memset(&w, 0, sizeof(w));
	if (look(ac->conn, a->uuid, &p, &m->dom, &e) < 0) {
		action_set(a, HM_LV_UNKNOWN, "lookup: %s", e.text);
		return;
	}
	if (p == ABSENT) {
		/* a retry after a migration that completed looks like this */
		action_set(a, HM_LV_UNKNOWN, "not on this host: look on the destination");
		return;
	}
	if (p == INACTIVE) {
		action_set(a, HM_LV_FAILED, "not running here: nothing to migrate live");
		goto free_dom;
	}
	if (migrate_params(m) < 0) {
		action_set(a, HM_LV_FAILED, "out of memory for the migration parameters");
		goto free_dom;
	}
	if (action_expired(a)) {
		action_set(a, HM_LV_UNKNOWN, "deadline passed before the migration");
		goto free_dom;
	}
	/* the elapsed time and real downtime come with this event */
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_ACQ_REL);
	event_id = virConnectDomainEventRegisterAny(ac->conn, m->dom, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
						    VIR_DOMAIN_EVENT_CALLBACK(on_job_completed),
						    a, job_completed_free);
	if (event_id < 0)
		action_unref(a);	/* not registered: no free function */
	rc = thread_start(&helper, migrate_call, m);
	if (rc < 0) {
		action_set(a, HM_LV_FAILED, "cannot start the migration thread: %s", strerror(-rc));
		goto unregister;
	}
	pthread_mutex_lock(&m->lock);
	while (!m->finished) {
		cond_wait_until(&m->cond, &m->lock, now_ms() + poll_ms);
		if (m->finished)
			break;
		pthread_mutex_unlock(&m->lock);
		migrate_poll(ac, a, &w);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	pthread_join(helper, NULL);

	if (m->rc < 0) {
		migrate_failed(ac, a, &w);
		goto unregister;
	}
	pthread_mutex_lock(&m->lock);
	/* the event is dispatched by the event thread, about when the call
	 * returns */
	if (!m->completed && event_id >= 0)
		cond_wait_until(&m->cond, &m->lock, now_ms() + HM_LV_MIGRATE_EVENT_WAIT_MS);
	if (m->completed)
		action_set(a, HM_LV_DONE, "migrated in %llu ms, downtime %llu ms%s%s",
			   (unsigned long long)m->completed_elapsed_ms,
			   (unsigned long long)m->completed_downtime_ms, w.note[0] ? "; " : "", w.note);
	else
		action_set(a, HM_LV_DONE, "migrated%s%s", w.note[0] ? "; " : "", w.note);
	pthread_mutex_unlock(&m->lock);

unregister:
	if (event_id >= 0)
		virConnectDomainEventDeregisterAny(ac->conn, event_id);
free_dom:
	virTypedParamsFree(m->params, m->nparams);
	m->params = NULL;
	m->nparams = 0;
	if (m->dom != NULL)
		virDomainFree(m->dom);
	m->dom = NULL;
}

static void action_run(struct actor *ac, struct action *a)
{
	if (action_expired(a)) {
		action_set(a, HM_LV_UNKNOWN, "deadline passed before it began");
		return;
	}
	if (actor_connect(ac, a) < 0)
		return;
	switch (a->type) {
	case ACT_START:
		run_start(ac, a);
		break;
	case ACT_REMOVE:
		run_remove(ac, a);
		break;
	case ACT_LOOKUP:
		run_lookup(ac, a);
		break;
	case ACT_MIGRATE:
		run_migrate(ac, a);
		break;
	}
	if (virConnectIsAlive(ac->conn) != 1)
		actor_disconnect(ac);	/* reopened by the next action */
}

/* under h->lock: may a run now?  Not while an actor is busy with its
 * domain, nor before an earlier queued action of its domain (one action per
 * domain at a time, in order), nor as one migration too many (a thread
 * stays free for starts and removes) */
static bool action_may_run(const struct hm_lv_host *h, const struct action *a)
{
	const struct action *q;
	unsigned i, migrating = 0;

	for (i = 0; i < h->n_actors; i++) {
		q = h->actors[i].cur;
		if (q == NULL)
			continue;
		if (strcmp(q->uuid, a->uuid) == 0)
			return false;
		migrating += q->type == ACT_MIGRATE;
	}
	if (a->type == ACT_MIGRATE && migrating >= HM_LV_MIGRATIONS_MAX)
		return false;
	for (q = h->queue; q != a; q = q->next)
		if (strcmp(q->uuid, a->uuid) == 0)
			return false;
	return true;
}

/* under h->lock: the first queued action that may run */
static struct action *queue_take(struct hm_lv_host *h)
{
	struct action **pp, *a;

	for (pp = &h->queue; (a = *pp) != NULL; pp = &a->next) {
		if (!action_may_run(h, a))
			continue;
		*pp = a->next;
		if (h->queue_tail == &a->next)
			h->queue_tail = pp;
		h->queued--;
		a->next = NULL;
		a->taken = true;
		return a;
	}
	return NULL;
}

/* under h->lock: an action not yet taken leaves the queue */
static void queue_unlink(struct hm_lv_host *h, struct action *a)
{
	struct action **pp;

	for (pp = &h->queue; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != a)
			continue;
		*pp = a->next;
		if (h->queue_tail == &a->next)
			h->queue_tail = pp;
		h->queued--;
		a->next = NULL;
		return;
	}
}

static void *actor_main(void *arg)
{
	struct actor *ac = arg;
	struct hm_lv_host *h = ac->h;
	struct action *a;
	struct msg *m;
	bool posted;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		a = queue_take(h);
		if (a == NULL) {
			h->idle_actors++;
			pthread_cond_wait(&h->act_cond, &h->lock);
			h->idle_actors--;
			continue;
		}
		ac->cur = a;
		pthread_mutex_unlock(&h->lock);

		action_run(ac, a);
		/* the actor's reference moves to the message */
		m = a->result;
		a->result = NULL;
		m->type = MSG_ACTION;
		m->act = a;
		m->next = NULL;

		pthread_mutex_lock(&h->lock);
		/* the domain is free for the next action once its result is
		 * queued: results of one domain arrive in order */
		ac->cur = NULL;
		posted = !h->stop;
		if (posted) {
			*h->out_tail = m;
			h->out_tail = &m->next;
		}
		if (h->queue != NULL)
			pthread_cond_broadcast(&h->act_cond);
		pthread_mutex_unlock(&h->lock);
		if (posted)
			wake_loop(h);
		else
			msg_free(m);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	actor_disconnect(ac);
	thread_end(h, &ac->exited, &ac->detached);
	return NULL;
}

/* under h->lock */
static int actor_spawn(struct hm_lv_host *h)
{
	struct actor *ac = &h->actors[h->n_actors];
	int rc;

	memset(ac, 0, sizeof(*ac));
	ac->h = h;
	h->refs++;
	rc = thread_start(&ac->thread, actor_main, ac);
	if (rc < 0) {
		h->refs--;
		return rc;
	}
	ac->started = true;
	h->n_actors++;
	return 0;
}

/* loop thread: the answer, once */
static void action_answer(struct hm_lv_host *h, struct action *a, enum hm_lv_outcome outcome,
			  const char *message)
{
	struct action **pp;

	for (pp = &h->actions; *pp != NULL; pp = &(*pp)->loop_next) {
		if (*pp == a) {
			*pp = a->loop_next;
			break;
		}
	}
	a->answered = true;
	__atomic_store_n(&a->abandoned, true, __ATOMIC_RELEASE);
	a->cb(a->data, outcome, message);
	action_unref(a);	/* the loop's */
}

/* loop thread: the deadline passed before the result came */
static void on_deadline(void *data)
{
	struct action *a = data;
	struct hm_lv_host *h = a->h;
	char message[HM_LV_ACTION_MSG_MAX];
	bool queued;

	pthread_mutex_lock(&h->lock);
	__atomic_store_n(&a->abandoned, true, __ATOMIC_RELEASE);
	queued = !a->taken;
	if (queued)
		queue_unlink(h, a);
	pthread_mutex_unlock(&h->lock);
	if (queued) {
		snprintf(message, sizeof(message),
			 "no answer within %llu ms: still queued behind other actions, nothing done",
			 (unsigned long long)a->timeout_ms);
		action_unref(a);	/* the queue's */
	} else {
		snprintf(message, sizeof(message),
			 "no answer within %llu ms: a libvirt call is in progress and may still take effect",
			 (unsigned long long)a->timeout_ms);
	}
	action_answer(h, a, HM_LV_UNKNOWN, message);
}

/* mig: the migration's state (ACT_MIGRATE), taken over even on an error */
static int action_submit(struct hm_lv_host *h, enum action_type type, const char *uuid,
			 const char *xml, struct migration *mig, uint64_t timeout_ms,
			 hm_lv_action_fn cb, void *data)
{
	char u[HM_LV_UUID_LEN + 1], x[HM_LV_UUID_LEN + 1];
	struct action *a;
	int rc;

	rc = -EINVAL;
	if (h == NULL || uuid == NULL || strlen(uuid) != HM_LV_UUID_LEN || uuid_take(uuid, u) < 0 ||
	    cb == NULL || timeout_ms == 0 || timeout_ms > HM_LV_ACTION_TIMEOUT_MAX_MS)
		goto free_mig;
	if (type == ACT_START) {
		if (xml == NULL)
			goto free_mig;
		/* the XML must be the domain asked for: libvirt would start
		 * whatever it describes, or make up a uuid for it */
		rc = hm_lv_domain_uuid_of_xml(xml, strlen(xml), x);
		if (rc == -E2BIG || rc == -ENOMEM)
			goto free_mig;
		if (rc < 0 || strcmp(x, u) != 0) {
			rc = -EINVAL;
			goto free_mig;
		}
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		rc = -ENOMEM;
		goto free_mig;
	}
	a->mig = mig;
	a->h = h;
	a->type = type;
	memcpy(a->uuid, u, sizeof(u));
	a->timeout_ms = timeout_ms;
	a->deadline = now_ms() + timeout_ms;
	a->cb = cb;
	a->data = data;
	a->refs = 2;
	a->result = calloc(1, sizeof(*a->result));
	a->xml = xml != NULL ? strdup(xml) : NULL;
	if (a->result == NULL || (xml != NULL && a->xml == NULL)) {
		rc = -ENOMEM;
		goto free_action;
	}
	/* before it is queued: it cannot fire before the loop runs again */
	rc = qb_loop_timer_add(h->loop, QB_LOOP_MED, timeout_ms * QB_TIME_NS_IN_MSEC, a,
			       on_deadline, &a->timer);
	if (rc < 0)
		goto free_action;

	pthread_mutex_lock(&h->lock);
	rc = 0;
	if (h->queued >= HM_LV_ACTIONS_QUEUED)
		rc = -EBUSY;
	else if (h->idle_actors == 0 && h->n_actors < HM_LV_ACTIONS_MAX)
		rc = actor_spawn(h);
	if (rc < 0 && (rc == -EBUSY || h->n_actors == 0)) {
		pthread_mutex_unlock(&h->lock);
		qb_loop_timer_del(h->loop, a->timer);
		goto free_action;
	}
	/* no new thread, but one exists: it will get there */
	a->next = NULL;
	*h->queue_tail = a;
	h->queue_tail = &a->next;
	h->queued++;
	pthread_cond_signal(&h->act_cond);
	pthread_mutex_unlock(&h->lock);

	a->loop_next = h->actions;
	h->actions = a;
	return 0;

free_action:
	action_free(a);	/* and mig */
	return rc;
free_mig:
	migration_free(mig);
	return rc;
}

int hm_lv_host_start_domain(struct hm_lv_host *h, const char *uuid, const char *xml,
			    uint64_t timeout_ms, hm_lv_action_fn cb, void *data)
{
	if (xml == NULL)
		return -EINVAL;
	return action_submit(h, ACT_START, uuid, xml, NULL, timeout_ms, cb, data);
}

int hm_lv_host_remove_domain(struct hm_lv_host *h, const char *uuid, uint64_t timeout_ms,
			     hm_lv_action_fn cb, void *data)
{
	return action_submit(h, ACT_REMOVE, uuid, NULL, NULL, timeout_ms, cb, data);
}

int hm_lv_host_lookup_domain(struct hm_lv_host *h, const char *uuid, uint64_t timeout_ms,
			     hm_lv_action_fn cb, void *data)
{
	return action_submit(h, ACT_LOOKUP, uuid, NULL, NULL, timeout_ms, cb, data);
}

static bool migrate_params_valid(const struct hm_lv_migrate_params *p)
{
	return p->dest_uri != NULL && p->dest_uri[0] != '\0' &&
	       (p->migrate_uri == NULL || p->migrate_uri[0] != '\0') &&
	       p->auto_converge_initial <= 100 && p->auto_converge_increment <= 100 &&
	       (p->max_downtime_limit_ms == 0 || p->max_downtime_limit_ms >= p->max_downtime_ms) &&
	       (p->progress_interval_ms == 0 || p->progress_interval_ms >= HM_LV_MIGRATE_POLL_MIN_MS) &&
	       p->max_downtime_limit_ms <= HM_LV_ACTION_TIMEOUT_MAX_MS &&
	       (p->on_timeout == HM_LV_MIGRATE_ABORT || p->on_timeout == HM_LV_MIGRATE_POSTCOPY);
}

int hm_lv_host_migrate_domain(struct hm_lv_host *h, const char *uuid,
			      const struct hm_lv_migrate_params *p,
			      hm_lv_migrate_progress_fn progress, hm_lv_action_fn done, void *data)
{
	struct migration *m;
	pthread_condattr_t ca;
	int rc;

	if (p == NULL || !migrate_params_valid(p))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->p = *p;
	m->progress = progress;
	m->dest_uri = strdup(p->dest_uri);
	m->migrate_uri = p->migrate_uri != NULL ? strdup(p->migrate_uri) : NULL;
	m->p.dest_uri = m->dest_uri;
	m->p.migrate_uri = m->migrate_uri;
	if (m->dest_uri == NULL || (p->migrate_uri != NULL && m->migrate_uri == NULL)) {
		migration_free(m);
		return -ENOMEM;
	}
	rc = -pthread_condattr_init(&ca);
	if (rc < 0) {
		migration_free(m);
		return rc;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = -pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc == 0) {
		rc = -pthread_mutex_init(&m->lock, NULL);
		if (rc < 0)
			pthread_cond_destroy(&m->cond);
	}
	if (rc < 0) {
		migration_free(m);
		return rc;
	}
	m->sync_init = true;
	return action_submit(h, ACT_MIGRATE, uuid, NULL, m, p->timeout_ms, done, data);
}

/* loop thread */
static void deliver(struct hm_lv_host *h, struct msg *m)
{
	struct action *a;

	switch (m->type) {
	case MSG_HOST:
		h->cb.host_state(h->data, m->state, &m->host);
		break;
	case MSG_DOMAIN:
		h->cb.domain(h->data, &m->dom);
		break;
	case MSG_GONE:
		h->cb.domain_gone(h->data, m->dom.uuid);
		break;
	case MSG_DONE:
		h->cb.inventory_done(h->data);
		break;
	case MSG_PROGRESS:
		a = m->act;
		if (!a->answered)
			a->mig->progress(a->data, &m->prog);
		break;
	case MSG_ACTION:
		a = m->act;
		if (a->answered)
			break;	/* the deadline came first: dropped */
		qb_loop_timer_del(h->loop, a->timer);
		action_answer(h, a, a->outcome, a->message);
		break;
	}
}

static struct msg *take_out(struct hm_lv_host *h)
{
	struct msg *list;

	pthread_mutex_lock(&h->lock);
	list = h->out;
	h->out = NULL;
	h->out_tail = &h->out;
	pthread_mutex_unlock(&h->lock);
	return list;
}

static int32_t on_wakeup(int32_t fd, int32_t revents, void *data)
{
	struct hm_lv_host *h = data;
	struct msg *list, *m;
	uint64_t v;
	ssize_t n;

	(void)revents;
	do
		n = read(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	list = take_out(h);
	while (list != NULL) {
		m = list;
		list = m->next;
		deliver(h, m);
		msg_free(m);
	}
	return 0;
}

static int sync_init(struct hm_lv_host *h)
{
	pthread_condattr_t ca;
	pthread_cond_t *conds[] = { &h->cond, &h->act_cond, &h->end_cond };
	size_t i, n = 0;
	int rc;

	rc = -pthread_condattr_init(&ca);
	if (rc < 0)
		return rc;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (n = 0; n < sizeof(conds) / sizeof(conds[0]); n++) {
		rc = -pthread_cond_init(conds[n], &ca);
		if (rc < 0)
			break;
	}
	pthread_condattr_destroy(&ca);
	if (rc == 0)
		rc = -pthread_mutex_init(&h->lock, NULL);
	if (rc < 0) {
		for (i = 0; i < n; i++)
			pthread_cond_destroy(conds[i]);
		return rc;
	}
	h->sync_init = true;
	return 0;
}

int hm_lv_host_new(qb_loop_t *loop, const char *uri, const char *shared_path,
		   const struct hm_lv_host_callbacks *cb, void *data, struct hm_lv_host **ret)
{
	struct hm_lv_host *h;
	int rc;

	if (loop == NULL || uri == NULL || uri[0] == '\0' || cb == NULL || ret == NULL ||
	    cb->host_state == NULL || cb->domain == NULL || cb->domain_gone == NULL ||
	    cb->inventory_done == NULL)
		return -EINVAL;
	if (shared_path != NULL && !path_clean(shared_path))
		return -EINVAL;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->loop = loop;
	h->cb = *cb;
	h->data = data;
	h->efd = -1;
	h->lifecycle_id = -1;
	h->out_tail = &h->out;
	h->queue_tail = &h->queue;
	h->refs = 1;		/* the owner's */
	h->uri = strdup(uri);
	h->shared_path = shared_path != NULL ? strdup(shared_path) : NULL;
	if (h->uri == NULL || (shared_path != NULL && h->shared_path == NULL)) {
		rc = -ENOMEM;
		goto free_host;
	}
	rc = sync_init(h);
	if (rc < 0)
		goto free_host;

	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		rc = -errno;
		goto free_host;
	}
	rc = qb_loop_poll_add(loop, QB_LOOP_MED, h->efd, POLLIN, h, on_wakeup);
	if (rc < 0)
		goto free_host;
	h->polling = true;

	rc = hm_lv_event_loop_acquire();
	if (rc < 0)
		goto free_host;
	h->ev_acquired = true;

	h->refs++;		/* the worker's */
	rc = thread_start(&h->worker, worker_main, h);
	if (rc < 0) {
		h->refs--;
		goto free_host;
	}
	h->worker_started = true;
	*ret = h;
	return 0;

free_host:
	hm_lv_host_free(h);
	return rc;
}

/* every thread, or the last reference: nothing else uses h */
static void host_destroy(struct hm_lv_host *h)
{
	struct msg *m, *next;
	struct action *a;

	if (h->sync_init) {
		for (m = take_out(h); m != NULL; m = next) {
			next = m->next;
			msg_free(m);
		}
		while ((a = h->queue) != NULL) {
			h->queue = a->next;
			action_unref(a);	/* the queue's */
		}
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		pthread_cond_destroy(&h->act_cond);
		pthread_cond_destroy(&h->end_cond);
	}
	/* after every connection of h was closed */
	if (h->ev_acquired)
		hm_lv_event_loop_release();
	if (h->efd >= 0)
		close(h->efd);
	set_free(&h->pending);
	set_free(&h->known);
	free(h->uri);
	free(h->shared_path);
	free(h);
}

/* under h->lock */
static bool threads_ended(const struct hm_lv_host *h)
{
	unsigned i;

	if (h->worker_started && !h->worker_exited)
		return false;
	for (i = 0; i < h->n_actors; i++)
		if (!h->actors[i].exited)
			return false;
	return true;
}

/* after the wait: join a thread that ended, leave one that did not */
static void thread_release(pthread_t t, bool ended)
{
	if (ended)
		pthread_join(t, NULL);
	else
		pthread_detach(t);
}

void hm_lv_host_free(struct hm_lv_host *h)
{
	struct action *a;
	uint64_t until;
	bool ended[HM_LV_ACTIONS_MAX + 1];
	unsigned i, n_actors;
	bool last;

	if (h == NULL)
		return;
	if (!h->sync_init) {
		host_destroy(h);
		return;
	}
	/* no answer any more; running actions stop at their next step */
	while ((a = h->actions) != NULL) {
		h->actions = a->loop_next;
		qb_loop_timer_del(h->loop, a->timer);
		a->answered = true;
		__atomic_store_n(&a->abandoned, true, __ATOMIC_RELEASE);
		action_unref(a);	/* the loop's */
	}
	if (h->polling)
		qb_loop_poll_del(h->loop, h->efd);
	h->polling = false;

	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_broadcast(&h->cond);
	pthread_cond_broadcast(&h->act_cond);
	until = now_ms() + HM_LV_FREE_WAIT_MS;
	while (!threads_ended(h) && now_ms() < until)
		cond_wait_until(&h->end_cond, &h->lock, until);
	/* a thread still in a libvirt call ends by itself, and h with it if
	 * it is the last */
	ended[0] = h->worker_exited;
	if (h->worker_started && !h->worker_exited) {
		h->worker_detached = true;
		__atomic_add_fetch(&lingering, 1, __ATOMIC_RELEASE);
	}
	n_actors = h->n_actors;
	for (i = 0; i < n_actors; i++) {
		ended[i + 1] = h->actors[i].exited;
		if (!h->actors[i].exited) {
			h->actors[i].detached = true;
			__atomic_add_fetch(&lingering, 1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&h->lock);

	/* h stays: the owner's reference is dropped below */
	if (h->worker_started)
		thread_release(h->worker, ended[0]);
	for (i = 0; i < n_actors; i++)
		thread_release(h->actors[i].thread, ended[i + 1]);

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (last)
		host_destroy(h);
}
