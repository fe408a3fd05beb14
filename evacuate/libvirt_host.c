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
 *
 * h->lock guards: stop, conn (written by the worker, read by the event
 * callbacks to drop those of an old connection), conn_lost, close_reason,
 * the pending uuids and the outbox.  No libvirt call is ever made with
 * h->lock held.
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

enum msg_type { MSG_HOST, MSG_DOMAIN, MSG_GONE, MSG_DONE };

struct msg {
	struct msg *next;
	enum msg_type type;
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

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
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

static void msg_free(struct msg *m)
{
	if (m == NULL)
		return;
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
	*h->out_tail = m;
	h->out_tail = &m->next;
	pthread_mutex_unlock(&h->lock);
	/* cannot fail short of a counter overflow: the loop drains it */
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

static void cond_wait_until(struct hm_lv_host *h, uint64_t at_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(at_ms / 1000u);
	ts.tv_nsec = (long)(at_ms % 1000u) * 1000000L;
	pthread_cond_timedwait(&h->cond, &h->lock, &ts);
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
				cond_wait_until(h, retry_at);
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
	return NULL;
}

/* loop thread */
static void deliver(struct hm_lv_host *h, struct msg *m)
{
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

int hm_lv_host_new(qb_loop_t *loop, const char *uri, const char *shared_path,
		   const struct hm_lv_host_callbacks *cb, void *data, struct hm_lv_host **ret)
{
	struct hm_lv_host *h;
	pthread_condattr_t ca;
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
	h->uri = strdup(uri);
	h->shared_path = shared_path != NULL ? strdup(shared_path) : NULL;
	if (h->uri == NULL || (shared_path != NULL && h->shared_path == NULL)) {
		rc = -ENOMEM;
		goto free_host;
	}

	rc = -pthread_condattr_init(&ca);
	if (rc < 0)
		goto free_host;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = -pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc < 0)
		goto free_host;
	rc = -pthread_mutex_init(&h->lock, NULL);
	if (rc < 0) {
		pthread_cond_destroy(&h->cond);
		goto free_host;
	}
	h->sync_init = true;

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

	rc = thread_start(&h->worker, worker_main, h);
	if (rc < 0)
		goto free_host;
	h->worker_started = true;
	*ret = h;
	return 0;

free_host:
	hm_lv_host_free(h);
	return rc;
}

void hm_lv_host_free(struct hm_lv_host *h)
{
	struct msg *m, *next;

	if (h == NULL)
		return;
	if (h->worker_started) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->worker, NULL);	/* it closes the connection */
	}
	if (h->ev_acquired)
		hm_lv_event_loop_release();
	if (h->polling)
		qb_loop_poll_del(h->loop, h->efd);
	if (h->efd >= 0)
		close(h->efd);
	if (h->sync_init) {
		for (m = take_out(h); m != NULL; m = next) {
			next = m->next;
			msg_free(m);
		}
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
	}
	set_free(&h->pending);
	set_free(&h->known);
	free(h->uri);
	free(h->shared_path);
	free(h);
}
