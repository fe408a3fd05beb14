/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamonctl's command line, request and reply codecs, exit codes and text
 * rendering.  Pure: the only output goes to the FILE * a caller passes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl_cli.h"
#include "params.h"
#include "status.h"

_Static_assert(HM_CTL_IPC_NAME_MAX == sizeof(((struct hm_config *)0)->ipc_name),
	       "--socket takes what hamon.conf's ipc_name takes");

#define PROG "hamonctl"
#define STR_(x) #x
#define STR(x) STR_(x)
#define ARG_SHOW_MAX 40		/* an argument quoted in a message is cut here */
#define LABEL_WIDTH 18		/* "Cluster name:     " as corosync-quorumtool */
#define NAME_WIDTH_MAX 40	/* a longer node name pushes its row, not all */

/* ---- text helpers ------------------------------------------------------ */

/*
 * Copy s for a message: control bytes become '?' so that an argument or a
 * server string cannot drive the terminal, and long ones are cut.
 */
static void text_clean(const char *s, size_t max, char *buf, size_t len)
{
	size_t i, n = 0;

	if (len == 0)
		return;
	for (i = 0; s[i] && n + 1 < len; i++) {
		if (i == max) {
			snprintf(buf + n, len - n, "...");
			return;
		}
		buf[n++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	}
	buf[n] = '\0';
}

static void put_clean(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s, out);
}

/* columns a UTF-8 string takes, near enough: continuation bytes take none */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void put_pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

/* ---- reading a reply that may be anything --------------------------- */

/* the member, or NULL when absent or JSON null */
static json_object *field(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static bool has_field(json_object *obj, const char *key)
{
	return json_object_object_get_ex(obj, key, NULL);
}

/* a non-empty string, or NULL */
static const char *field_str(json_object *obj, const char *key)
{
	json_object *v = field(obj, key);
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return s && *s ? s : NULL;
}

static bool field_int(json_object *obj, const char *key, int64_t min, int64_t max,
		      int64_t *ret)
{
	json_object *v = field(obj, key);
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return false;
	i = json_object_get_int64(v);
	if (i < min || i > max)
		return false;
	*ret = i;
	return true;
}

static bool field_nodeid(json_object *obj, const char *key, uint32_t *ret)
{
	int64_t i;

	if (!field_int(obj, key, 1, UINT32_MAX, &i))
		return false;
	*ret = (uint32_t)i;
	return true;
}

static const char *field_yes_no(json_object *obj, const char *key)
{
	json_object *v = field(obj, key);

	if (!json_object_is_type(v, json_type_boolean))
		return "?";
	return json_object_get_boolean(v) ? "yes" : "no";
}

static void put_label(FILE *out, const char *label)
{
	fprintf(out, "%-*s", LABEL_WIDTH, label);
}

static void put_str_line(FILE *out, const char *label, const char *s)
{
	put_label(out, label);
	put_clean(out, s ? s : "?");
	fputc('\n', out);
}

/* "2 (node2)", "2", "? (node2)" or "?" */
static void put_node_ref(FILE *out, json_object *ref)
{
	const char *name = field_str(ref, "name");
	uint32_t id;

	if (field_nodeid(ref, "nodeid", &id))
		fprintf(out, "%" PRIu32, id);
	else
		fputc('?', out);
	if (name) {
		fputs(" (", out);
		put_clean(out, name);
		fputc(')', out);
	}
}

/* ---- renderers --------------------------------------------------------- */

void hm_ctl_duration_format(uint64_t s, char *buf, size_t len)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

	if (d)
		snprintf(buf, len, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
			 d, h, m, sec);
	else if (h)
		snprintf(buf, len, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", h, m, sec);
	else if (m)
		snprintf(buf, len, "%" PRIu64 "m %02" PRIu64 "s", m, sec);
	else
		snprintf(buf, len, "%" PRIu64 "s", sec);
}

static const char *member_name(json_object *member)
{
	const char *name = field_str(member, "name");

	return name ? name : "?";
}

static void render_members(FILE *out, json_object *reply)
{
	json_object *members = field(reply, "members"), *m;
	uint32_t local = 0, coord = 0, id;
	size_t i, n, w, width = strlen("Name");
	bool is_local, is_coord;

	fputs("Membership information\n----------------------\n", out);
	if (!json_object_is_type(members, json_type_array)) {
		fputs("    ?\n", out);
		return;
	}
	n = json_object_array_length(members);
	if (n == 0) {
		fputs("    (no members)\n", out);
		return;
	}
	/* 0 is no node id: an unknown local or coordinator marks nobody */
	if (!field_nodeid(field(reply, "local"), "nodeid", &local))
		local = 0;
	if (!field_nodeid(field(reply, "coordinator"), "nodeid", &coord))
		coord = 0;
	for (i = 0; i < n; i++) {
		w = text_width(member_name(json_object_array_get_idx(members, i)));
		if (w > width)
			width = w > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : w;
	}

	fprintf(out, "%10s  %-*s  %s\n", "Nodeid", (int)width, "Name", "hamond");
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(members, i);
		if (field_nodeid(m, "nodeid", &id)) {
			fprintf(out, "%10" PRIu32 "  ", id);
		} else {
			id = 0;
			fprintf(out, "%10s  ", "?");
		}
		put_clean(out, member_name(m));
		w = text_width(member_name(m));
		put_pad(out, w < width ? width - w : 0);
		fputs("  ", out);

		is_local = id && id == local;
		is_coord = id && id == coord;
		if (!is_local && !is_coord) {
			fprintf(out, "%s\n", field_yes_no(m, "hamond"));
			continue;
		}
		fprintf(out, "%-6s  %s%s%s\n", field_yes_no(m, "hamond"),
			is_local ? "local" : "", is_local && is_coord ? ", " : "",
			is_coord ? "coordinator" : "");
	}
}

/* whether this partition acts, and whether the replicas agree (shown
 * only when hamond reports them) */
static void render_replica(FILE *out, json_object *reply)
{
	json_object *r = field(reply, "replica"), *differs, *v;
	int64_t seq, needed;
	size_t i, n;

	if (has_field(reply, "acting")) {
		put_label(out, "Acting:");
		fputs(field_yes_no(reply, "acting"), out);
		if (field_int(reply, "hamonds_needed", 0, INT64_MAX, &needed))
			fprintf(out, " (needs %" PRId64 " running hamonds)", needed);
		fputc('\n', out);
	}
	if (!r)
		return;
	put_label(out, "Replicas:");
	differs = field(r, "differs");
	v = field(r, "agree");
	if (v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v)) {
		fputs("agree", out);
	} else if (differs && json_object_is_type(differs, json_type_array) &&
		   (n = json_object_array_length(differs)) > 0) {
		fputs("DIFFER on ", out);
		for (i = 0; i < n; i++) {
			if (i)
				fputs(", ", out);
			put_node_ref(out, json_object_array_get_idx(differs, i));
		}
	} else {
		fputs("no checkpoint yet", out);
	}
	if (field_int(r, "applied_seq", 0, INT64_MAX, &seq))
		fprintf(out, " (applied seq %" PRId64 ")", seq);
	fputc('\n', out);
}

static void render_status_cluster(FILE *out, json_object *reply);

static void render_status(FILE *out, json_object *args, json_object *reply)
{
	json_object *v;
	char buf[64];
	int64_t i;

	(void)args;
	fputs("Cluster information\n-------------------\n", out);
	put_str_line(out, "Cluster name:", field_str(reply, "cluster_name"));

	put_label(out, "This node:");
	put_node_ref(out, field(reply, "local"));
	fputc('\n', out);

	put_str_line(out, "Corosync:", field_str(reply, "corosync"));
	put_str_line(out, "Quorum:", field_str(reply, "quorum"));

	/* null is a known "none yet"; absent or ill-typed is unknown */
	v = field(reply, "ring_id");
	if (!v && has_field(reply, "ring_id"))
		put_str_line(out, "Ring ID:", "none");
	else
		put_str_line(out, "Ring ID:", field_str(reply, "ring_id"));

	put_str_line(out, "Synced:", field_yes_no(reply, "synced"));

	put_label(out, "Coordinator:");
	v = field(reply, "coordinator");
	if (!v && has_field(reply, "coordinator"))
		fputs("none", out);
	else
		put_node_ref(out, v);
	fputc('\n', out);
	render_replica(out, reply);

	fputs("\nhamond\n------\n", out);
	put_str_line(out, "Version:", field_str(reply, "version"));
	put_label(out, "PID:");
	if (field_int(reply, "pid", 1, INT64_MAX, &i))
		fprintf(out, "%" PRId64 "\n", i);
	else
		fputs("?\n", out);
	put_label(out, "Uptime:");
	if (field_int(reply, "uptime_s", 0, INT64_MAX, &i)) {
		hm_ctl_duration_format((uint64_t)i, buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	} else {
		fputs("?\n", out);
	}
	put_str_line(out, "Boot ID:", field_str(reply, "boot_id"));

	fputc('\n', out);
	render_members(out, reply);
	render_status_cluster(out, reply);
}

static void render_log_level(FILE *out, json_object *args, json_object *reply)
{
	/* hamond's word first; what was asked for only if it said nothing */
	const char *level = field_str(reply, "level");

	if (!level)
		level = field_str(args, "level");
	fputs("hamond log level: ", out);
	put_clean(out, level ? level : "?");
	fputc('\n', out);
}

/* "key = value", and where the value comes from */
static void render_config_entry(FILE *out, json_object *e)
{
	json_object *v;
	int64_t version;

	put_clean(out, field_str(e, "key") ? field_str(e, "key") : "?");
	fputs(" = ", out);
	put_clean(out, field_str(e, "value") ? field_str(e, "value") : "?");
	if (json_object_object_get_ex(e, "default", &v) && json_object_get_boolean(v))
		fputs("  (default)", out);
	else if (field_int(e, "version", 0, INT64_MAX, &version))
		fprintf(out, "  (set at policy version %lld)", (long long)version);
	fputc('\n', out);
}

static void render_config_set(FILE *out, json_object *args, json_object *reply)
{
	int64_t version;

	put_clean(out, field_str(args, "key") ? field_str(args, "key") : "?");
	fputs(" = ", out);
	put_clean(out, field_str(args, "value") ? field_str(args, "value") : "?");
	fputs(": accepted by a majority", out);
	if (field_int(reply, "policy_version", 0, INT64_MAX, &version))
		fprintf(out, " (policy version %lld)", (long long)version);
	fputc('\n', out);
}

static void render_config_get(FILE *out, json_object *args, json_object *reply)
{
	(void)args;
	render_config_entry(out, reply);
}

static void render_config_list(FILE *out, json_object *args, json_object *reply)
{
	json_object *keys = field(reply, "keys");
	int64_t version;
	size_t i, n;

	(void)args;
	if (field_int(reply, "policy_version", 0, INT64_MAX, &version))
		fprintf(out, "Cluster policy, version %lld\n", (long long)version);
	if (!keys || !json_object_is_type(keys, json_type_array)) {
		fputs("?\n", out);
		return;
	}
	n = json_object_array_length(keys);
	for (i = 0; i < n; i++)
		render_config_entry(out, json_object_array_get_idx(keys, i));
}

/* ---- tables of objects (host-list, list, show, jobs, history) ----------- */

void hm_ctl_time_format(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	/* past year 9999 strftime's %Y no longer fits the format */
	if (ms < 0 || ms > INT64_C(253402300799999)) {
		snprintf(buf, len, "?");
		return;
	}
	t = (time_t)(ms / 1000);
	if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03d", (int)(ms % 1000));
}

enum cell_kind {
	CELL_TEXT = 0,		/* strings, integers, yes/no */
	CELL_TIME,		/* milliseconds since the epoch, shown in local time */
};

struct column {
	const char *header;
	const char *key;
	const char *alt;	/* shown when key is null or absent (a name's id) */
	enum cell_kind kind;
};

/* a cut in the middle of a UTF-8 sequence leaves none of it */
static void utf8_trim(char *buf)
{
	size_t n = strlen(buf), lead = n, need;
	unsigned char c;

	while (lead > 0 && ((unsigned char)buf[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)buf[lead - 1];
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n - (lead - 1) < need)
		buf[lead - 1] = '\0';
}

/* a value as text: strings as they are, numbers, booleans as yes/no, null
 * or absent as "-", anything else "?" */
static void value_text(json_object *v, enum cell_kind kind, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "-");
	else if (kind == CELL_TIME && json_object_is_type(v, json_type_int))
		hm_ctl_time_format(json_object_get_int64(v), buf, len);
	else if (kind == CELL_TIME)
		snprintf(buf, len, "?");
	else if (json_object_is_type(v, json_type_boolean))
		snprintf(buf, len, "%s", json_object_get_boolean(v) ? "yes" : "no");
	else if (json_object_is_type(v, json_type_int))
		snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
	else if (json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
	else
		snprintf(buf, len, "?");
	utf8_trim(buf);
}

static void cell_text(json_object *row, const struct column *col, char *buf, size_t len)
{
	json_object *v = field(row, col->key);

	if (!v && col->alt)
		v = field(row, col->alt);
	value_text(v, col->kind, buf, len);
}

#define TABLE_COLS_MAX 16
#define CELL_MAX 1024

static void render_table(FILE *out, json_object *rows, const struct column *cols, size_t n_cols)
{
	size_t width[TABLE_COLS_MAX], i, c, n, w;
	char buf[CELL_MAX];

	if (!rows || !json_object_is_type(rows, json_type_array)) {
		fputs("?\n", out);
		return;
	}
	if (n_cols > TABLE_COLS_MAX)
		n_cols = TABLE_COLS_MAX;
	n = json_object_array_length(rows);
	for (c = 0; c < n_cols; c++) {
		width[c] = strlen(cols[c].header);
		for (i = 0; i < n; i++) {
			cell_text(json_object_array_get_idx(rows, i), &cols[c], buf, sizeof(buf));
			w = text_width(buf);
			if (w > width[c])
				width[c] = w > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : w;
		}
	}
	for (c = 0; c < n_cols; c++)
		fprintf(out, "%s%-*s", c ? "  " : "", c + 1 < n_cols ? (int)width[c] : 0, cols[c].header);
	fputc('\n', out);
	for (i = 0; i < n; i++) {
		for (c = 0; c < n_cols; c++) {
			cell_text(json_object_array_get_idx(rows, i), &cols[c], buf, sizeof(buf));
			if (c)
				fputs("  ", out);
			put_clean(out, buf);
			w = text_width(buf);
			if (c + 1 < n_cols)
				put_pad(out, w < width[c] ? width[c] - w : 0);
		}
		fputc('\n', out);
	}
	if (n == 0)
		fputs("(none)\n", out);
}

#define N_COLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* a column of text; one showing alt when key is missing; one of times */
#define COL(header, key) { (header), (key), NULL, CELL_TEXT }
#define COL_ALT(header, key, alt) { (header), (key), (alt), CELL_TEXT }
#define COL_TIME(header, key) { (header), (key), NULL, CELL_TIME }

static const struct column host_columns[] = {
	COL("Nodeid", "nodeid"), COL("Name", "name"), COL("State", "state"),
	COL("Maintenance", "maintenance"), COL("Disabled", "disabled"), COL("Reserved", "reserved"),
	COL("vCPUs used/total", "vcpus_used"), COL("MiB used/total", "memory_used"),
	COL("Instances", "instances"),
};

static const struct column instance_columns[] = {
	COL("Name", "name"), COL("Host", "host"), COL("State", "state"),
	COL("Requested", "requested"), COL("Policy", "ha_policy"), COL("Storage", "storage"),
	COL("vCPUs", "vcpus"), COL("MiB", "memory_mib"), COL("UUID", "uuid"),
};

static const struct column job_columns[] = {
	COL("ID", "id"), COL("Kind", "kind"), COL("State", "state"),
	COL_ALT("Host", "host", "target_host"), COL_ALT("Instance", "instance_name", "instance"),
	COL_TIME("Created", "created_ms"), COL_TIME("Updated", "updated_ms"),
	COL("Steps", "step_count"), COL("Reason", "reason"),
};

static const struct column step_columns[] = {
	COL("Seq", "seq"), COL("Action", "action"), COL_ALT("Instance", "instance_name", "instance"),
	COL("UUID", "instance"), COL_ALT("Host", "host", "host_id"),
	COL_ALT("Target", "target", "target_id"), COL("State", "state"),
	COL_TIME("Time", "updated_ms"), COL("Result", "result"),
};

static const struct column event_columns[] = {
	COL_TIME("Time", "ts_ms"), COL("Kind", "kind"), COL_ALT("Host", "host", "host_id"),
	COL_ALT("Instance", "instance_name", "instance"), COL("Job", "job"),
	COL("Message", "message"),
};

static const struct column status_host_columns[] = {
	COL("Nodeid", "nodeid"), COL("Name", "name"), COL("State", "state"),
	COL("Maintenance", "maintenance"), COL("Disabled", "disabled"),
	COL("Fence devices", "fence_devices"), COL("Fencing", "fencing"),
};

static const struct column status_job_columns[] = {
	COL("ID", "id"), COL("Kind", "kind"), COL("State", "state"),
	COL_ALT("Host", "host", "target_host"), COL("Instance", "instance"),
};

/* the hosts with their fencing, the open jobs and the headroom */
static void render_status_cluster(FILE *out, json_object *reply)
{
	json_object *hosts = field(reply, "hosts"), *jobs = field(reply, "jobs");
	json_object *head = field(reply, "headroom"), *h;
	const char *f, *name;
	int64_t n, placed, pending;
	size_t i;

	if (json_object_is_type(hosts, json_type_array)) {
		fputs("\nHosts\n-----\n", out);
		render_table(out, hosts, status_host_columns, N_COLS(status_host_columns));
		for (i = 0; i < json_object_array_length(hosts); i++) {
			h = json_object_array_get_idx(hosts, i);
			f = field_str(h, "fencing");
			name = field_str(h, "name");
			if (f && !strcmp(f, "UNPROTECTED")) {
				fputs("WARNING: ", out);
				put_clean(out, name ? name : "?");
				fputs(" is UNPROTECTED: no level of its fence devices answers its monitor "
				      "(hamonctl fence test; fence list)\n", out);
			}
		}
	}
	if (json_object_is_type(jobs, json_type_array)) {
		fputs("\nJobs running\n------------\n", out);
		if (json_object_array_length(jobs))
			render_table(out, jobs, status_job_columns, N_COLS(status_job_columns));
		else
			fputs("none\n", out);
	}
	if (has_field(reply, "headroom")) {
		fputs("\nHeadroom\n--------\n", out);
		if (!head) {
			fputs("no host runs HA instances\n", out);
		} else if (field_int(head, "instances", 0, INT64_MAX, &n) &&
			   field_int(head, "placed", 0, INT64_MAX, &placed) &&
			   field_int(head, "pending", 0, INT64_MAX, &pending)) {
			fputs("if ", out);
			put_clean(out, field_str(head, "host") ? field_str(head, "host") : "?");
			fprintf(out, " (the largest) failed now: %" PRId64 " of its %" PRId64
				" HA instance%s could be rebuilt%s\n", placed, n, n == 1 ? "" : "s",
				pending ? ": NOT ENOUGH ROOM" : "");
		} else {
			fputs("?\n", out);
		}
	}
}

static void render_host_list(FILE *out, json_object *args, json_object *reply)
{
	(void)args;
	render_table(out, field(reply, "hosts"), host_columns, N_COLS(host_columns));
}

static void render_list(FILE *out, json_object *args, json_object *reply)
{
	(void)args;
	render_table(out, field(reply, "instances"), instance_columns, N_COLS(instance_columns));
}

/* one object, "key: value" per line, in hamond's order */
static void render_show(FILE *out, json_object *args, json_object *reply)
{
	char buf[CELL_MAX], label[64];

	(void)args;
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		fputs("?\n", out);
		return;
	}
	json_object_object_foreach(reply, key, val) {
		if (!strcmp(key, "domain_xml"))
			continue;	/* long: --json has it */
		value_text(val, CELL_TEXT, buf, sizeof(buf));
		snprintf(label, sizeof(label), "%s:", key);
		put_label(out, label);
		put_clean(out, buf);
		fputc('\n', out);
	}
}

static void render_job_list(FILE *out, json_object *args, json_object *reply)
{
	int64_t hidden;

	(void)args;
	render_table(out, field(reply, "jobs"), job_columns, N_COLS(job_columns));
	if (field_int(reply, "hidden", 1, INT64_MAX, &hidden))
		fprintf(out, "(%" PRId64 " older finished job%s not shown: hamonctl job list --all)\n",
			hidden, hidden == 1 ? "" : "s");
}

/* "label  name (id)": either may be missing; "-" when both are */
static void put_named_line(FILE *out, const char *label, json_object *obj, const char *name_key,
			   const char *id_key)
{
	char name[CELL_MAX], id[64];
	json_object *n = field(obj, name_key), *i = field(obj, id_key);

	put_label(out, label);
	value_text(n ? n : i, CELL_TEXT, name, sizeof(name));
	put_clean(out, name);
	if (n && i) {
		value_text(i, CELL_TEXT, id, sizeof(id));
		fputs(" (", out);
		put_clean(out, id);
		fputc(')', out);
	}
	fputc('\n', out);
}

static void put_value_line(FILE *out, const char *label, json_object *obj, const char *key,
			   enum cell_kind kind)
{
	char buf[CELL_MAX];

	put_label(out, label);
	value_text(field(obj, key), kind, buf, sizeof(buf));
	put_clean(out, buf);
	fputc('\n', out);
}

static void render_job_show(FILE *out, json_object *args, json_object *reply)
{
	json_object *steps = field(reply, "steps");

	(void)args;
	put_value_line(out, "Job:", reply, "id", CELL_TEXT);
	put_value_line(out, "Kind:", reply, "kind", CELL_TEXT);
	put_value_line(out, "State:", reply, "state", CELL_TEXT);
	put_named_line(out, "Host:", reply, "host", "target_host");
	put_named_line(out, "Instance:", reply, "instance_name", "instance");
	put_value_line(out, "Created:", reply, "created_ms", CELL_TIME);
	put_value_line(out, "Updated:", reply, "updated_ms", CELL_TIME);
	put_value_line(out, "Reason:", reply, "reason", CELL_TEXT);
	put_label(out, "Steps:");
	if (json_object_is_type(steps, json_type_array))
		fprintf(out, "%zu\n", json_object_array_length(steps));
	else
		fputs("?\n", out);
	fputc('\n', out);
	render_table(out, steps, step_columns, N_COLS(step_columns));
}

static void render_history(FILE *out, json_object *args, json_object *reply)
{
	(void)args;
	render_table(out, field(reply, "events"), event_columns, N_COLS(event_columns));
}

/* "host node2 (2): disabled: accepted by a majority" */
static void render_host_flags(FILE *out, json_object *args, json_object *reply)
{
	static const struct { const char *key, *on, *off; } flags[] = {
		{ "disabled", "disabled", "enabled" }, { "reserved", "reserved", "unreserved" },
	};
	json_object *v;
	const char *name = field_str(reply, "host");
	int64_t id;
	size_t i;
	bool any = false;

	fputs("host ", out);
	put_clean(out, name ? name : field_str(args, "host") ? field_str(args, "host") : "?");
	if (name && field_int(reply, "nodeid", 1, UINT32_MAX, &id))
		fprintf(out, " (%" PRId64 ")", id);
	fputs(": ", out);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		v = field(reply, flags[i].key);
		if (!json_object_is_type(v, json_type_boolean))
			v = field(args, flags[i].key);	/* what was asked for */
		if (!json_object_is_type(v, json_type_boolean))
			continue;
		fprintf(out, "%s%s", any ? ", " : "", json_object_get_boolean(v) ? flags[i].on : flags[i].off);
		any = true;
	}
	fprintf(out, "%s: accepted by a majority\n", any ? "" : "?");
}

/* ---- argument parsers -------------------------------------------------- */

static int parse_none(const char *cmd, int argc, char *const argv[], char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];

	if (argc == 0)
		return 0;
	text_clean(argv[0], ARG_SHOW_MAX, shown, sizeof(shown));
	if (argv[0][0] == '-' && argv[0][1])
		snprintf(err, errlen, "%s: unknown option '%s'", cmd, shown);
	else
		snprintf(err, errlen, "%s: unexpected argument '%s' (it takes none)", cmd, shown);
	return -EINVAL;
}

static int parse_status(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	(void)args;
	return parse_none("status", argc, argv, err, errlen);
}

/* the names hamon.conf's log_level takes, any case; hamond checks again */
#define LOG_LEVELS_TEXT "error, warning, notice, info, debug"

static int parse_log_level(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	json_object *v;
	int level;

	if (argc == 0) {
		snprintf(err, errlen, "log-level: missing level (one of " LOG_LEVELS_TEXT ")");
		return -EINVAL;
	}
	text_clean(argv[0], ARG_SHOW_MAX, shown, sizeof(shown));
	if (argv[0][0] == '-' && argv[0][1]) {
		snprintf(err, errlen, "log-level: unknown option '%s'", shown);
		return -EINVAL;
	}
	level = hm_config_log_level_from_str(argv[0]);
	if (level < 0) {
		snprintf(err, errlen, "log-level: unknown level '%s' (one of " LOG_LEVELS_TEXT ")",
			 shown);
		return -EINVAL;
	}
	if (argc > 1) {
		text_clean(argv[1], ARG_SHOW_MAX, shown, sizeof(shown));
		snprintf(err, errlen, "log-level: unexpected argument '%s' (it takes one level)",
			 shown);
		return -EINVAL;
	}
	/* the canonical name: "DEBUG" goes out as "debug" */
	v = json_object_new_string(hm_config_log_level_to_str(level));
	if (!v || json_object_object_add(args, "level", v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* ---- the command table ------------------------------------------------- */

/* exactly the operands named, as strings in args */
static int parse_operands(const char *cmd, const char *const *names, int want, int argc,
			  char *const argv[], json_object *args, char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	json_object *v;
	int i;

	for (i = 0; i < argc && i < want; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			text_clean(argv[i], ARG_SHOW_MAX, shown, sizeof(shown));
			snprintf(err, errlen, "%s: unknown option '%s'", cmd, shown);
			return -EINVAL;
		}
		if (!argv[i][0]) {
			snprintf(err, errlen, "%s: empty %s", cmd, names[i]);
			return -EINVAL;
		}
		v = json_object_new_string(argv[i]);
		if (!v || json_object_object_add(args, names[i], v) != 0) {
			json_object_put(v);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	if (argc < want) {
		snprintf(err, errlen, "%s: missing %s", cmd, names[argc]);
		return -EINVAL;
	}
	if (argc > want) {
		text_clean(argv[want], ARG_SHOW_MAX, shown, sizeof(shown));
		snprintf(err, errlen, "%s: unexpected argument '%s'", cmd, shown);
		return -EINVAL;
	}
	return 0;
}

static const char *const key_value[] = { "key", "value" };

static int parse_config_set(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_operands("config set", key_value, 2, argc, argv, args, err, errlen);
}

static int parse_config_get(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_operands("config get", key_value, 1, argc, argv, args, err, errlen);
}

static int parse_config_list(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	(void)args;
	return parse_none("config list", argc, argv, err, errlen);
}

static int parse_host_list(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	(void)args;
	return parse_none("host-list", argc, argv, err, errlen);
}

static int parse_list(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	(void)args;
	return parse_none("list", argc, argv, err, errlen);
}

static const char *const name_only[] = { "name" };

static int parse_show(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_operands("show", name_only, 1, argc, argv, args, err, errlen);
}

/* ---- jobs, history, host flags ------------------------------------------ */

/* a positive decimal integer that JSON carries (at most INT64_MAX) */
static bool positive_int(const char *s, int64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (!s[0] || s[0] == '0')
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (uint64_t)(INT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = (int64_t)v;
	return true;
}

/* at most 100 years: no one means more, and seconds * 1000 stays small */
#define DURATION_MAX_S (100ULL * 366 * 86400)

int hm_ctl_duration_parse(const char *s, uint64_t *ret_seconds)
{
	uint64_t total = 0, n, unit;
	const char *p = s;
	bool bare = true;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (n = 0; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > DURATION_MAX_S)
				return -ERANGE;
		}
		switch (*p) {
		case '\0':
			/* a bare number is seconds, but only on its own */
			if (!bare)
				return -EINVAL;
			unit = 1;
			break;
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default:
			return -EINVAL;
		}
		if (*p)
			p++;
		bare = false;
		total += n * unit;
		if (total > DURATION_MAX_S)
			return -ERANGE;
	}
	*ret_seconds = total;
	return 0;
}

static int args_add(json_object *args, const char *key, json_object *v, char *err, size_t errlen)
{
	if (!v || json_object_object_add(args, key, v) != 0) {
		json_object_put(v);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int parse_job_list(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	bool all = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			all = true;
			continue;
		}
		text_clean(argv[i], ARG_SHOW_MAX, shown, sizeof(shown));
		if (argv[i][0] == '-' && argv[i][1])
			snprintf(err, errlen, "job list: unknown option '%s' (it takes --all)", shown);
		else
			snprintf(err, errlen, "job list: unexpected argument '%s' (hamonctl job show "
				 "<id> shows one job)", shown);
		return -EINVAL;
	}
	return all ? args_add(args, "all", json_object_new_boolean(true), err, errlen) : 0;
}

static int parse_job_show(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	int64_t id;

	if (argc == 0) {
		snprintf(err, errlen, "job show: missing job id (hamonctl job list shows them)");
		return -EINVAL;
	}
	text_clean(argv[0], ARG_SHOW_MAX, shown, sizeof(shown));
	if (argv[0][0] == '-' && argv[0][1]) {
		snprintf(err, errlen, "job show: unknown option '%s'", shown);
		return -EINVAL;
	}
	if (!positive_int(argv[0], &id)) {
		snprintf(err, errlen, "job show: '%s' is not a job id (a positive integer, "
			 "see hamonctl job list)", shown);
		return -EINVAL;
	}
	if (argc > 1) {
		text_clean(argv[1], ARG_SHOW_MAX, shown, sizeof(shown));
		snprintf(err, errlen, "job show: unexpected argument '%s' (it takes one job id)", shown);
		return -EINVAL;
	}
	return args_add(args, "id", json_object_new_int64(id), err, errlen);
}

/* history's options: --instance, --job, --since, --limit */
struct history_opt {
	const char *name;
	const char *what;	/* what its value is, for a message */
};

static const struct history_opt history_opts[] = {
	{ "--instance", "an instance name or uuid" },
	{ "--job", "a job id" },
	{ "--since", "a duration, e.g. 90s, 15m, 2h, 7d, 1h30m" },
	{ "--limit", "how many of the latest events" },
};

/* the value of history option o, checked, into args */
static int history_opt_set(const struct history_opt *o, const char *value, json_object *args,
			   char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	uint64_t seconds;
	int64_t n;

	text_clean(value, ARG_SHOW_MAX, shown, sizeof(shown));
	if (!strcmp(o->name, "--instance")) {
		if (!value[0]) {
			snprintf(err, errlen, "history: --instance: empty name");
			return -EINVAL;
		}
		return args_add(args, "instance", json_object_new_string(value), err, errlen);
	}
	if (!strcmp(o->name, "--since")) {
		if (hm_ctl_duration_parse(value, &seconds) < 0) {
			snprintf(err, errlen, "history: --since '%s' is not a duration "
				 "(e.g. 90s, 15m, 2h, 7d, 1h30m; at most 100 years)", shown);
			return -EINVAL;
		}
		return args_add(args, "since_s", json_object_new_int64((int64_t)seconds), err, errlen);
	}
	if (!positive_int(value, &n)) {
		snprintf(err, errlen, "history: %s '%s' is not %s (a positive integer)", o->name, shown,
			 !strcmp(o->name, "--job") ? "a job id" : "a count");
		return -EINVAL;
	}
	return args_add(args, !strcmp(o->name, "--job") ? "job" : "last", json_object_new_int64(n),
			err, errlen);
}

static int parse_history(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	const struct history_opt *o;
	const char *a, *value;
	bool seen[sizeof(history_opts) / sizeof(history_opts[0])] = { false };
	size_t k, len;
	int i, r;

	for (i = 0; i < argc; i++) {
		a = argv[i];
		text_clean(a, ARG_SHOW_MAX, shown, sizeof(shown));
		if (a[0] != '-' || !a[1]) {
			if (json_object_object_get_ex(args, "host", NULL)) {
				snprintf(err, errlen, "history: unexpected argument '%s' (it takes one host)",
					 shown);
				return -EINVAL;
			}
			if (!a[0]) {
				snprintf(err, errlen, "history: empty host");
				return -EINVAL;
			}
			r = args_add(args, "host", json_object_new_string(a), err, errlen);
			if (r < 0)
				return r;
			continue;
		}
		for (k = 0; k < sizeof(history_opts) / sizeof(history_opts[0]); k++) {
			len = strlen(history_opts[k].name);
			if (!strncmp(a, history_opts[k].name, len) && (!a[len] || a[len] == '='))
				break;
		}
		if (k == sizeof(history_opts) / sizeof(history_opts[0])) {
			snprintf(err, errlen, "history: unknown option '%s'", shown);
			return -EINVAL;
		}
		o = &history_opts[k];
		if (seen[k]) {
			snprintf(err, errlen, "history: option %s given twice", o->name);
			return -EINVAL;
		}
		seen[k] = true;
		if (a[len] == '=') {
			value = a + len + 1;
		} else if (i + 1 < argc && (argv[i + 1][0] != '-' || !argv[i + 1][1])) {
			value = argv[++i];
		} else {
			snprintf(err, errlen, "history: option %s needs a value (%s)", o->name, o->what);
			return -EINVAL;
		}
		r = history_opt_set(o, value, args, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}


/* ---- fence ---- */

/*
 * fence add HOST AGENT [--level N] [key=value ...] [--params-from FILE|-]:
 * a secret on the command line is refused (every user sees argv); it comes
 * from --params-from, which hamonctl reads (hm_ctl_params_merge).
 */
static int parse_fence_add(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	static const char *const names[] = { "host", "agent" };
	json_object *params = json_object_new_object();
	char shown[ARG_SHOW_MAX + 4];
	const char *eq;
	int64_t level;
	int i, r;

	if (!params || args_add(args, "params", params, err, errlen) < 0)
		return -ENOMEM;
	if (argc < 2) {
		snprintf(err, errlen, "fence add: missing %s", names[argc]);
		return -EINVAL;
	}
	r = parse_operands("fence add", names, 2, 2, argv, args, err, errlen);
	if (r < 0)
		return r;
	for (i = 2; i < argc; i++) {
		text_clean(argv[i], ARG_SHOW_MAX, shown, sizeof(shown));
		if (!strcmp(argv[i], "--level") || !strcmp(argv[i], "--params-from")) {
			if (i + 1 == argc) {
				snprintf(err, errlen, "fence add: %s needs a value", argv[i]);
				return -EINVAL;
			}
			if (!strcmp(argv[i], "--params-from")) {
				r = args_add(args, "params_from", json_object_new_string(argv[++i]),
					     err, errlen);
			} else if ((!positive_int(argv[++i], &level) || level > UINT32_MAX)) {
				text_clean(argv[i], ARG_SHOW_MAX, shown, sizeof(shown));
				snprintf(err, errlen, "fence add: --level must be 1 or more, not '%s'", shown);
				return -EINVAL;
			} else {
				r = args_add(args, "level", json_object_new_int64(level), err, errlen);
			}
			if (r < 0)
				return r;
			continue;
		}
		eq = strchr(argv[i], '=');
		if (argv[i][0] == '-' || !eq || eq == argv[i]) {
			snprintf(err, errlen, "fence add: '%s' is not key=value", shown);
			return -EINVAL;
		}
		r = hm_ctl_params_add(params, argv[i], eq - argv[i], eq + 1, true, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int hm_ctl_params_add(json_object *params, const char *key, size_t key_len, const char *value,
		      bool from_argv, char *err, size_t errlen)
{
	char name[128];

	if (key_len == 0 || key_len >= sizeof(name)) {
		snprintf(err, errlen, "a fence parameter name must be 1 to %zu characters", sizeof(name) - 1);
		return -EINVAL;
	}
	memcpy(name, key, key_len);
	name[key_len] = '\0';
	if (from_argv && hm_fence_param_is_secret(name)) {
		snprintf(err, errlen, "fence add: '%s' is a secret: never on the command line (every user "
			 "sees it in ps); put it in a file for --params-from (key=value lines)", name);
		return -EINVAL;
	}
	if (json_object_object_add(params, name, json_object_new_string(value)) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int hm_ctl_params_merge(json_object *args, const char *text, char *err, size_t errlen)
{
	json_object *params = field(args, "params");
	const char *line = text, *end, *eq;
	char value[4096];
	size_t n;
	int r;

	if (!params)
		return -EINVAL;
	for (; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		n = (size_t)(end - line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (!n || *line == '#')
			continue;
		eq = memchr(line, '=', n);
		if (!eq || eq == line || n - (size_t)(eq + 1 - line) >= sizeof(value)) {
			snprintf(err, errlen, "--params-from: a line is not key=value (or is too long)");
			return -EINVAL;
		}
		memcpy(value, eq + 1, n - (size_t)(eq + 1 - line));
		value[n - (size_t)(eq + 1 - line)] = '\0';
		r = hm_ctl_params_add(params, line, (size_t)(eq - line), value, false, err, errlen);
		if (r < 0)
			return r;
	}
	json_object_object_del(args, "params_from");
	return 0;
}

static int parse_fence_remove(int argc, char *const argv[], json_object *args, char *err,
			      size_t errlen)
{
	int64_t id;

	if (argc != 1 || !positive_int(argv[0], &id) || id > UINT32_MAX) {
		snprintf(err, errlen, "fence remove: give one device id (hamonctl fence list)");
		return -EINVAL;
	}
	return args_add(args, "id", json_object_new_int64(id), err, errlen);
}

static int parse_fence_list(int argc, char *const argv[], json_object *args, char *err,
			    size_t errlen)
{
	static const char *const host_only[] = { "host" };

	return argc ? parse_operands("fence list", host_only, 1, argc, argv, args, err, errlen) : 0;
}

/* fence confirm HOST --yes-i-am-sure HOST: the name twice, on purpose */
static int parse_fence_confirm(int argc, char *const argv[], json_object *args, char *err,
			       size_t errlen)
{
	if (argc != 3 || strcmp(argv[1], "--yes-i-am-sure") || strcmp(argv[0], argv[2])) {
		snprintf(err, errlen, "fence confirm: the operator swears the host is off: give its "
			 "name twice, 'fence confirm HOST --yes-i-am-sure HOST'");
		return -EINVAL;
	}
	if (args_add(args, "host", json_object_new_string(argv[0]), err, errlen) < 0)
		return -ENOMEM;
	return args_add(args, "sure", json_object_new_boolean(true), err, errlen);
}

static void render_fence_change(FILE *out, json_object *args, json_object *reply)
{
	const char *what = field_str(reply, "done");

	(void)args;
	put_clean(out, what ? what : "done");
	fputc('\n', out);
}

static const struct column fence_columns[] = {
	{ "ID", "id", NULL, CELL_TEXT }, { "HOST", "host", NULL, CELL_TEXT },
	{ "LEVEL", "level", NULL, CELL_TEXT }, { "AGENT", "agent", NULL, CELL_TEXT },
	{ "PARAMS", "params", NULL, CELL_TEXT },
};

static void render_fence_list(FILE *out, json_object *args, json_object *reply)
{
	(void)args;
	render_table(out, field(reply, "devices"), fence_columns, N_COLS(fence_columns));
}

static int parse_host_flag(const char *cmd, const char *flag, bool on, int argc,
			   char *const argv[], json_object *args, char *err, size_t errlen)
{
	static const char *const host_only[] = { "host" };
	int r;

	if (argc == 0) {
		snprintf(err, errlen, "%s: missing host (a name or node id, see hamonctl host-list)", cmd);
		return -EINVAL;
	}
	r = parse_operands(cmd, host_only, 1, argc, argv, args, err, errlen);
	if (r < 0)
		return r;
	return args_add(args, flag, json_object_new_boolean(on), err, errlen);
}

static int parse_host_disable(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_host_flag("host disable", "disabled", true, argc, argv, args, err, errlen);
}

static int parse_host_enable(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_host_flag("host enable", "disabled", false, argc, argv, args, err, errlen);
}

static int parse_host_reserve(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_host_flag("host reserve", "reserved", true, argc, argv, args, err, errlen);
}

static int parse_host_unreserve(int argc, char *const argv[], json_object *args, char *err, size_t errlen)
{
	return parse_host_flag("host unreserve", "reserved", false, argc, argv, args, err, errlen);
}

/* ---- operators' jobs: fence HOST, maintenance, migrate, evacuate ---- */

/*
 * The words of a command: options from opts (a flag, or with a value when
 * value is not NULL) anywhere, the rest operands, at most max_operands.
 */
struct word_opt {
	const char *name;
	bool *set;
	const char **value;
};

static int parse_words(const char *cmd, int argc, char *const argv[], const struct word_opt *opts,
		       size_t n_opts, const char **operands, int max_operands, int *n_operands,
		       char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	size_t k;
	int i;

	*n_operands = 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		text_clean(a, ARG_SHOW_MAX, shown, sizeof(shown));
		if (a[0] != '-' || !a[1]) {
			if (!a[0]) {
				snprintf(err, errlen, "%s: empty argument", cmd);
				return -EINVAL;
			}
			if (*n_operands == max_operands) {
				snprintf(err, errlen, "%s: unexpected argument '%s'", cmd, shown);
				return -EINVAL;
			}
			operands[(*n_operands)++] = a;
			continue;
		}
		for (k = 0; k < n_opts && strcmp(a, opts[k].name); k++)
			;
		if (k == n_opts) {
			snprintf(err, errlen, "%s: unknown option '%s'", cmd, shown);
			return -EINVAL;
		}
		if (*opts[k].set) {
			snprintf(err, errlen, "%s: option %s given twice", cmd, opts[k].name);
			return -EINVAL;
		}
		*opts[k].set = true;
		if (opts[k].value) {
			if (i + 1 == argc || !argv[i + 1][0] || argv[i + 1][0] == '-') {
				snprintf(err, errlen, "%s: option %s needs a value", cmd, opts[k].name);
				return -EINVAL;
			}
			*opts[k].value = argv[++i];
		}
	}
	return 0;
}

/* hamonctl's own: wait for the job to end (hm_ctl_parse takes it out) */
static int want_wait(bool wait, json_object *args, char *err, size_t errlen)
{
	return wait ? args_add(args, HM_CTL_ARG_WAIT, json_object_new_boolean(true), err, errlen) : 0;
}

/* fence HOST [--yes] [--wait]: without --yes hamonctl asks for the name */
static int parse_fence_host(int argc, char *const argv[], json_object *args, char *err,
			    size_t errlen)
{
	bool yes = false, wait = false;
	const struct word_opt opts[] = { { "--yes", &yes, NULL }, { "--wait", &wait, NULL } };
	const char *host[1];
	int n, r;

	r = parse_words("fence", argc, argv, opts, 2, host, 1, &n, err, errlen);
	if (r == 0 && n != 1) {
		snprintf(err, errlen, "fence: give the host to power off (hamonctl fence HOST "
			 "[--yes] [--wait]), or a subcommand: add, remove, list, test, history, "
			 "confirm");
		r = -EINVAL;
	}
	if (r == 0)
		r = args_add(args, "host", json_object_new_string(host[0]), err, errlen);
	if (r == 0 && !yes)
		r = args_add(args, HM_CTL_ARG_CONFIRM, json_object_new_string(host[0]), err, errlen);
	if (r == 0)
		r = want_wait(wait, args, err, errlen);
	return r;
}

/* fence test HOST | fence test --id N */
static int parse_fence_test(int argc, char *const argv[], json_object *args, char *err,
			    size_t errlen)
{
	bool id_set = false;
	const char *id_s = NULL, *host[1];
	const struct word_opt opts[] = { { "--id", &id_set, &id_s } };
	int64_t id;
	int n, r;

	r = parse_words("fence test", argc, argv, opts, 1, host, 1, &n, err, errlen);
	if (r < 0)
		return r;
	if ((n == 1) == id_set) {
		snprintf(err, errlen, "fence test: give a host, or --id DEVICE (hamonctl fence list)");
		return -EINVAL;
	}
	if (id_set) {
		if (!positive_int(id_s, &id) || id > UINT32_MAX) {
			snprintf(err, errlen, "fence test: --id needs a device id (1 or more)");
			return -EINVAL;
		}
		return args_add(args, "id", json_object_new_int64(id), err, errlen);
	}
	return args_add(args, "host", json_object_new_string(host[0]), err, errlen);
}

static const struct column fence_test_columns[] = {
	COL("ID", "id"), COL("Level", "level"), COL("Agent", "agent"), COL("Power", "power"),
	COL("ms", "ms"), COL("Reason", "reason"),
};

static void render_fence_test(FILE *out, json_object *args, json_object *reply)
{
	json_object *devs = field(reply, "devices"), *d;
	size_t i, bad = 0;
	int64_t from;

	(void)args;
	render_table(out, devs, fence_test_columns, N_COLS(fence_test_columns));
	for (i = 0; json_object_is_type(devs, json_type_array) && i < json_object_array_length(devs);
	     i++) {
		d = json_object_array_get_idx(devs, i);
		bad += !json_object_get_boolean(field(d, "ok"));
	}
	if (field_int(reply, "from", 1, UINT32_MAX, &from))
		fprintf(out, "(asked from node %" PRId64 "; %zu device%s did not answer)\n", from, bad,
			bad == 1 ? "" : "s");
}

/* fence history [HOST]: the fencing part of the timeline */
static int parse_fence_history(int argc, char *const argv[], json_object *args, char *err,
			       size_t errlen)
{
	static const char *const host_only[] = { "host" };
	json_object *kinds = json_object_new_array();
	int r;

	r = argc ? parse_operands("fence history", host_only, 1, argc, argv, args, err, errlen) : 0;
	if (r == 0 && (!kinds ||
		       json_object_array_add(kinds, json_object_new_string("fence.")) != 0 ||
		       json_object_array_add(kinds, json_object_new_string("host.fenced")) != 0)) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (r < 0) {
		json_object_put(kinds);
		return r;
	}
	return args_add(args, "kinds", kinds, err, errlen);
}

/* maintenance on|off HOST [--no-drain] [--strict] [--wait] */
static int parse_maintenance(int argc, char *const argv[], json_object *args, char *err,
			     size_t errlen)
{
	bool no_drain = false, strict = false, wait = false;
	const struct word_opt opts[] = {
		{ "--no-drain", &no_drain, NULL }, { "--strict", &strict, NULL },
		{ "--wait", &wait, NULL },
	};
	const char *w[2];
	bool on;
	int n, r;

	r = parse_words("maintenance", argc, argv, opts, 3, w, 2, &n, err, errlen);
	if (r < 0)
		return r;
	if (n != 2 || (strcmp(w[0], "on") && strcmp(w[0], "off"))) {
		snprintf(err, errlen, "maintenance: give on or off, then the host "
			 "(hamonctl maintenance on HOST [--no-drain] [--strict] [--wait])");
		return -EINVAL;
	}
	on = !strcmp(w[0], "on");
	if (!on && (no_drain || strict)) {
		snprintf(err, errlen, "maintenance off: --no-drain and --strict are for 'on'");
		return -EINVAL;
	}
	r = args_add(args, "host", json_object_new_string(w[1]), err, errlen);
	if (r == 0)
		r = args_add(args, "on", json_object_new_boolean(on), err, errlen);
	if (r == 0 && no_drain)
		r = args_add(args, "drain", json_object_new_boolean(false), err, errlen);
	if (r == 0 && strict)
		r = args_add(args, "strict", json_object_new_boolean(true), err, errlen);
	if (r == 0)
		r = want_wait(wait, args, err, errlen);
	return r;
}

/* migrate INSTANCE [HOST] [--wait] */
static int parse_migrate(int argc, char *const argv[], json_object *args, char *err,
			 size_t errlen)
{
	bool wait = false;
	const struct word_opt opts[] = { { "--wait", &wait, NULL } };
	const char *w[2];
	int n, r;

	r = parse_words("migrate", argc, argv, opts, 1, w, 2, &n, err, errlen);
	if (r == 0 && n == 0) {
		snprintf(err, errlen, "migrate: missing instance (a name or uuid, see hamonctl list)");
		r = -EINVAL;
	}
	if (r == 0)
		r = args_add(args, "instance", json_object_new_string(w[0]), err, errlen);
	if (r == 0 && n == 2)
		r = args_add(args, "host", json_object_new_string(w[1]), err, errlen);
	if (r == 0)
		r = want_wait(wait, args, err, errlen);
	return r;
}

/* evacuate HOST [--target HOST] [--dry-run] [--wait] */
static int parse_evacuate(int argc, char *const argv[], json_object *args, char *err,
			  size_t errlen)
{
	bool dry = false, wait = false, target_set = false;
	const char *target = NULL, *w[1];
	const struct word_opt opts[] = {
		{ "--dry-run", &dry, NULL }, { "--wait", &wait, NULL },
		{ "--target", &target_set, &target },
	};
	int n, r;

	r = parse_words("evacuate", argc, argv, opts, 3, w, 1, &n, err, errlen);
	if (r == 0 && n == 0) {
		snprintf(err, errlen, "evacuate: missing host (the host that is down)");
		r = -EINVAL;
	}
	if (r == 0 && dry && wait) {
		snprintf(err, errlen, "evacuate: --dry-run changes nothing: there is nothing to wait for");
		r = -EINVAL;
	}
	if (r == 0)
		r = args_add(args, "host", json_object_new_string(w[0]), err, errlen);
	if (r == 0 && target)
		r = args_add(args, "target", json_object_new_string(target), err, errlen);
	if (r == 0 && dry)
		r = args_add(args, "dry_run", json_object_new_boolean(true), err, errlen);
	if (r == 0)
		r = want_wait(wait, args, err, errlen);
	return r;
}

static const struct column plan_columns[] = {
	COL("Instance", "name"), COL("vCPUs", "vcpus"), COL("MiB", "memory_mib"),
	COL("Outcome", "outcome"), COL("To", "to"), COL("Reason", "reason"),
};

static void render_plan(FILE *out, json_object *plan)
{
	int64_t placed = 0, pending = 0, lost = 0, stays = 0;

	render_table(out, field(plan, "instances"), plan_columns, N_COLS(plan_columns));
	field_int(plan, "placed", 0, INT64_MAX, &placed);
	field_int(plan, "pending", 0, INT64_MAX, &pending);
	field_int(plan, "lost", 0, INT64_MAX, &lost);
	field_int(plan, "stays", 0, INT64_MAX, &stays);
	fprintf(out, "%" PRId64 " placed, %" PRId64 " cannot be placed now, %" PRId64 " lost, %"
		PRId64 " stay\n", placed, pending, lost, stays);
}

/* a job an operator started: what it is, and its id; a dry run: the plan */
static void render_job_started(FILE *out, json_object *args, json_object *reply)
{
	const char *done = field_str(reply, "done"), *warning = field_str(reply, "warning");
	int64_t job;

	(void)args;
	if (field(reply, "dry_run")) {
		fputs("dry run: nothing is changed\n", out);
		render_plan(out, reply);
		return;
	}
	if (field(reply, "plan"))
		render_plan(out, field(reply, "plan"));
	if (warning) {
		fputs("WARNING: ", out);
		put_clean(out, warning);
		fputc('\n', out);
	}
	put_clean(out, done ? done : "accepted");
	if (field_int(reply, "job", 1, INT64_MAX, &job))
		fprintf(out, " (job %" PRId64 ": hamonctl job show %" PRId64 ")", job, job);
	fputc('\n', out);
}

const struct hm_ctl_command hm_ctl_commands[] = {
	{
		.name = "status",
		.id = HM_REQ_STATUS,
		.needs_write = false,
		.args_usage = "",
		.summary = "show the cluster, quorum, coordinator and members as this node sees them",
		.parse = parse_status,
		.render = render_status,
	},
	{
		.name = "log-level",
		.id = HM_REQ_LOG_LEVEL,
		.needs_write = true,
		.args_usage = "<error|warning|notice|info|debug>",
		.summary = "change the log level of this node's hamond",
		.parse = parse_log_level,
		.render = render_log_level,
	},
	{
		.name = "host-list",
		.id = HM_REQ_HOST_LIST,
		.needs_write = false,
		.args_usage = "",
		.summary = "list the hosts: state, maintenance, capacity used and free, instances",
		.parse = parse_host_list,
		.render = render_host_list,
	},
	{
		.name = "list",
		.id = HM_REQ_LIST,
		.needs_write = false,
		.args_usage = "",
		.summary = "list the instances: host, state, HA policy, storage",
		.parse = parse_list,
		.render = render_list,
		.rows_key = "instances",
	},
	{
		.name = "show",
		.id = HM_REQ_SHOW,
		.needs_write = false,
		.args_usage = "<instance|host>",
		.summary = "show one instance (by name or UUID) or one host (by name)",
		.parse = parse_show,
		.render = render_show,
	},
	{
		.name = "config set",
		.id = HM_REQ_CONFIG_SET,
		.needs_write = true,
		.args_usage = "<key> <value>",
		.summary = "change a cluster policy key (replicated; accepted once a majority has it)",
		.parse = parse_config_set,
		.render = render_config_set,
	},
	{
		.name = "config get",
		.id = HM_REQ_CONFIG_GET,
		.needs_write = false,
		.args_usage = "<key>",
		.summary = "show one cluster policy key (this node's replica)",
		.parse = parse_config_get,
		.render = render_config_get,
	},
	{
		.name = "config list",
		.id = HM_REQ_CONFIG_LIST,
		.needs_write = false,
		.args_usage = "",
		.summary = "show every cluster policy key, with defaults",
		.parse = parse_config_list,
		.render = render_config_list,
	},
	{
		.name = "job list",
		.id = HM_REQ_JOB_LIST,
		.needs_write = false,
		.args_usage = "[--all]",
		.summary = "list the unfinished jobs and the " STR(HM_JOBS_RECENT) " latest finished "
			   "ones (--all: every job)",
		.details = "  --all               every job, finished or not\n",
		.parse = parse_job_list,
		.render = render_job_list,
		.rows_key = "jobs",
	},
	{
		.name = "job show",
		.id = HM_REQ_JOB_SHOW,
		.needs_write = false,
		.args_usage = "<id>",
		.summary = "show one job and every step of it",
		.parse = parse_job_show,
		.render = render_job_show,
		.rows_key = "steps",
	},
	{
		.name = "history",
		.id = HM_REQ_HISTORY,
		.needs_write = false,
		.args_usage = "[<host>] [--instance <name|uuid>] [--job <id>] [--since <duration>] "
			      "[--limit <n>]",
		.summary = "the timeline of what hamon saw and did, oldest first",
		.details = "  <host>              only the events of this host (a name or node id)\n"
			   "  --instance NAME     only those of this instance (a name; the uuid of one\n"
			   "                      that is gone)\n"
			   "  --job ID            only those of this job\n"
			   "  --since DURATION    only those newer: 90s, 15m, 2h, 7d, 1w, 1h30m\n"
			   "  --limit N           only the N newest (still oldest first)\n",
		.parse = parse_history,
		.render = render_history,
		.rows_key = "events",
	},
	{
		.name = "fence add",
		.id = HM_REQ_FENCE_ADD,
		.needs_write = true,
		.args_usage = "<host> <agent> [--level N] [key=value ...] [--params-from FILE|-]",
		.summary = "add a fence device of a host, checked against the agent's metadata (replicated)",
		.parse = parse_fence_add,
		.render = render_fence_change,
	},
	{
		.name = "fence remove",
		.id = HM_REQ_FENCE_REMOVE,
		.needs_write = true,
		.args_usage = "<id>",
		.summary = "remove a fence device (replicated)",
		.parse = parse_fence_remove,
		.render = render_fence_change,
	},
	{
		.name = "fence list",
		.id = HM_REQ_FENCE_LIST,
		.args_usage = "[<host>]",
		.summary = "list the fence devices by host and level, secrets hidden",
		.parse = parse_fence_list,
		.render = render_fence_list,
	},
	{
		.name = "fence confirm",
		.id = HM_REQ_FENCE_CONFIRM,
		.needs_write = true,
		.args_usage = "<host> --yes-i-am-sure <host>",
		.summary = "swear that a lost host is off: its instances may be rebuilt (replicated)",
		.parse = parse_fence_confirm,
		.render = render_fence_change,
	},
	{
		.name = "fence test",
		.id = HM_REQ_FENCE_TEST,
		.needs_write = true,
		.args_usage = "<host> | --id <device>",
		.summary = "ask every fence device of a host (status) from this node, now",
		.parse = parse_fence_test,
		.render = render_fence_test,
	},
	{
		.name = "fence history",
		.id = HM_REQ_HISTORY,
		.needs_write = false,
		.args_usage = "[<host>]",
		.summary = "every fence attempt, fence and confirmation, oldest first",
		.parse = parse_fence_history,
		.render = render_history,
		.rows_key = "events",
	},
	{
		.name = "fence",
		.id = HM_REQ_FENCE,
		.needs_write = true,
		.args_usage = "<host> [--yes] [--wait]",
		.summary = "power a host off through its fence devices, now (asks for its name "
			   "unless --yes)",
		.details = "  --yes               do not ask for the host's name\n"
			   "  --wait              wait until the fence job ends; exit 0 only if the\n"
			   "                      host is proven off\n",
		.parse = parse_fence_host,
		.render = render_job_started,
	},
	{
		.name = "maintenance",
		.id = HM_REQ_MAINTENANCE,
		.needs_write = true,
		.args_usage = "on|off <host> [--no-drain] [--strict] [--wait]",
		.summary = "take a host out of placement and live-migrate its guests away "
			   "(on), or give it back (off)",
		.details = "  --no-drain          only the flag: its guests stay\n"
			   "  --strict            refuse if some guest cannot be placed now\n"
			   "  --wait              wait until the drain ends; exit 0 only if every\n"
			   "                      guest moved\n",
		.parse = parse_maintenance,
		.render = render_job_started,
	},
	{
		.name = "migrate",
		.id = HM_REQ_MIGRATE,
		.needs_write = true,
		.args_usage = "<instance> [<host>] [--wait]",
		.summary = "live-migrate one instance (placement chooses the host if none given)",
		.details = "  --wait              wait until the migration ends\n",
		.parse = parse_migrate,
		.render = render_job_started,
	},
	{
		.name = "evacuate",
		.id = HM_REQ_EVACUATE,
		.needs_write = true,
		.args_usage = "<host> [--dry-run [--target <host>]] [--wait]",
		.summary = "rebuild the guests of a fenced host elsewhere (--dry-run: the plan only)",
		.details = "  --dry-run           print what would go where, change nothing\n"
			   "  --target HOST       plan onto this host only (with --dry-run)\n"
			   "  --wait              wait until the evacuation ends\n",
		.parse = parse_evacuate,
		.render = render_job_started,
	},
	{
		.name = "host disable",
		.id = HM_REQ_HOST_FLAGS,
		.needs_write = true,
		.args_usage = "<host>",
		.summary = "place no instance on a host (replicated)",
		.parse = parse_host_disable,
		.render = render_host_flags,
	},
	{
		.name = "host enable",
		.id = HM_REQ_HOST_FLAGS,
		.needs_write = true,
		.args_usage = "<host>",
		.summary = "let a host take instances again (replicated)",
		.parse = parse_host_enable,
		.render = render_host_flags,
	},
	{
		.name = "host reserve",
		.id = HM_REQ_HOST_FLAGS,
		.needs_write = true,
		.args_usage = "<host>",
		.summary = "keep a host for rebuilds (reserved_hosts_order says when; replicated)",
		.parse = parse_host_reserve,
		.render = render_host_flags,
	},
	{
		.name = "host unreserve",
		.id = HM_REQ_HOST_FLAGS,
		.needs_write = true,
		.args_usage = "<host>",
		.summary = "make a reserved host an ordinary one again (replicated)",
		.parse = parse_host_unreserve,
		.render = render_host_flags,
	},
	{ .name = NULL }
};

/* "config" names a group of commands ("config set", ...) */
static bool command_group(const char *word)
{
	const struct hm_ctl_command *c;
	size_t n = strlen(word);

	for (c = hm_ctl_commands; c->name; c++)
		if (strncmp(c->name, word, n) == 0 && c->name[n] == ' ')
			return true;
	return false;
}

const struct hm_ctl_command *hm_ctl_command_find(const char *name)
{
	const struct hm_ctl_command *c;

	if (!name)
		return NULL;
	for (c = hm_ctl_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* ---- the command line -------------------------------------------------- */

void hm_ctl_invocation_free(struct hm_ctl_invocation *inv)
{
	if (!inv)
		return;
	json_object_put(inv->args);
	free(inv);
}

/*
 * What hamon.conf's ipc_name takes.  A separate value that looks like an
 * option means the value was forgotten ("-s -j status"); an attached one
 * ("--socket=-x") is taken as it is.
 */
static int ipc_name_set(struct hm_ctl_invocation *inv, const char *name, bool attached,
			char *err, size_t errlen)
{
	char shown[ARG_SHOW_MAX + 4];
	size_t i, len = strlen(name);

	if (len == 0 || (!attached && name[0] == '-')) {
		snprintf(err, errlen, "option --socket needs a value (hamond's IPC service name)");
		return -EINVAL;
	}
	text_clean(name, ARG_SHOW_MAX, shown, sizeof(shown));
	if (len >= sizeof(inv->ipc_name)) {
		snprintf(err, errlen, "--socket '%s': name too long (at most %zu characters)",
			 shown, sizeof(inv->ipc_name) - 1);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
			snprintf(err, errlen, "--socket '%s': a name may hold only letters, digits, "
				 "'-', '_' and '.'", shown);
			return -EINVAL;
		}
	}
	memcpy(inv->ipc_name, name, len + 1);
	return 0;
}

/* what a parser left for hamonctl itself, not for hamond */
static void client_args_take(struct hm_ctl_invocation *inv)
{
	json_object *v;

	if (json_object_object_get_ex(inv->args, HM_CTL_ARG_WAIT, &v)) {
		inv->wait = true;
		json_object_object_del(inv->args, HM_CTL_ARG_WAIT);
	}
	if (json_object_object_get_ex(inv->args, HM_CTL_ARG_CONFIRM, &v)) {
		snprintf(inv->confirm, sizeof(inv->confirm), "%s", json_object_get_string(v));
		json_object_object_del(inv->args, HM_CTL_ARG_CONFIRM);
	}
}

int hm_ctl_parse(int argc, char *const argv[], struct hm_ctl_invocation **ret_inv,
		 char *err, size_t errlen)
{
	struct hm_ctl_invocation *inv;
	char shown[ARG_SHOW_MAX + 4];
	char **rest = NULL;
	const char *cmd_name = NULL, *a, *value;
	bool end_of_options = false, socket_given = false, attached;
	int i, n_rest = 0, r;

	*ret_inv = NULL;
	err[0] = '\0';
	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	inv->args = json_object_new_object();
	rest = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*rest));
	if (!inv->args || !rest) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(inv->ipc_name, HM_IPC_DEFAULT_NAME, sizeof(HM_IPC_DEFAULT_NAME));

	for (i = 1; i < argc; i++) {
		a = argv[i];
		/* "-" alone is an operand, as for most tools */
		if (end_of_options || a[0] != '-' || a[1] == '\0') {
			if (!cmd_name)
				cmd_name = a;
			else
				rest[n_rest++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			end_of_options = true;
		} else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
			inv->json = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			inv->help = true;
		} else if (strcmp(a, "--version") == 0) {
			inv->version = true;
		} else if (strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0 ||
			   strncmp(a, "--socket=", 9) == 0 || strncmp(a, "-s", 2) == 0) {
			attached = true;
			if (strncmp(a, "--socket=", 9) == 0) {
				value = a + 9;
			} else if (strncmp(a, "--", 2) != 0 && a[2]) {
				value = a + 2;		/* -sNAME */
			} else if (i + 1 < argc) {
				value = argv[++i];
				attached = false;
			} else {
				value = "";
			}
			if (socket_given) {
				snprintf(err, errlen, "option --socket given twice");
				r = -EINVAL;
				goto fail;
			}
			socket_given = true;
			r = ipc_name_set(inv, value, attached, err, errlen);
			if (r < 0)
				goto fail;
		} else if (cmd_name) {
			rest[n_rest++] = argv[i];	/* the command's own option */
		} else {
			text_clean(a, ARG_SHOW_MAX, shown, sizeof(shown));
			snprintf(err, errlen, "unknown option '%s'", shown);
			r = -EINVAL;
			goto fail;
		}
	}

	if (cmd_name) {
		/* a two-word command first ("fence add"), then one word ("fence
		 * node2") */
		if (n_rest > 0) {
			char two[2 * ARG_SHOW_MAX];

			snprintf(two, sizeof(two), "%s %s", cmd_name, rest[0]);
			inv->command = hm_ctl_command_find(two);
			if (inv->command)
				memmove(rest, rest + 1, (size_t)--n_rest * sizeof(*rest));
		}
		if (!inv->command)
			inv->command = hm_ctl_command_find(cmd_name);
		if (!inv->command && command_group(cmd_name)) {
			text_clean(cmd_name, ARG_SHOW_MAX, shown, sizeof(shown));
			snprintf(err, errlen, "'%s' needs a subcommand (see hamonctl --help)", shown);
			r = -EINVAL;
			goto fail;
		}
		if (!inv->command) {
			text_clean(cmd_name, ARG_SHOW_MAX, shown, sizeof(shown));
			snprintf(err, errlen, "unknown command '%s'", shown);
			r = -EINVAL;
			goto fail;
		}
	}
	/* help and version send nothing, so the operands do not matter */
	if (inv->help || inv->version)
		goto done;
	if (!inv->command) {
		snprintf(err, errlen, "no command given");
		r = -EINVAL;
		goto fail;
	}
	r = inv->command->parse(n_rest, rest, inv->args, err, errlen);
	if (r < 0)
		goto fail;
	client_args_take(inv);
done:
	free(rest);
	*ret_inv = inv;
	return 0;
fail:
	free(rest);
	hm_ctl_invocation_free(inv);
	return r;
}

void hm_ctl_usage(FILE *out, const struct hm_ctl_command *cmd)
{
	const struct hm_ctl_command *c;

	if (cmd) {
		fprintf(out, "Usage: " PROG " [options] %s%s%s\n\n  %s\n\n%s%s%s\n", cmd->name,
			cmd->args_usage[0] ? " " : "", cmd->args_usage, cmd->summary,
			cmd->details ? cmd->details : "", cmd->details ? "\n" : "",
			cmd->needs_write ? "It changes hamond: only root may run it." :
			"It only reads: root and members of hamond's ipc_read_group may run it.");
		return;
	}
	fprintf(out,
		"Usage: " PROG " [options] <command> [arguments]\n"
		"\n"
		"Ask this node's hamond about the cluster, or tell it what to do.\n"
		"\n"
		"Options:\n"
		"  -j, --json          print hamond's reply as JSON, for scripts\n"
		"  -s, --socket NAME   hamond's IPC service name (default: " HM_IPC_DEFAULT_NAME ")\n"
		"  -h, --help          show this help, or with a command, its help\n"
		"      --version       show " PROG "'s version\n"
		"\n"
		"Commands:\n");
	for (c = hm_ctl_commands; c->name; c++)
		fprintf(out, "  %-14s %s%s\n", c->name, c->summary,
			c->needs_write ? " (root)" : "");
	fprintf(out,
		"\n"
		"Exit codes: 0 done, 1 refused or failed, 2 bad command line,\n"
		"3 hamond not running, 4 permission denied, 5 outcome unknown.\n");
}

/* ---- request and reply ------------------------------------------------- */

int hm_ctl_request_build(const struct hm_ctl_invocation *inv, void **ret_buf, size_t *ret_len)
{
	struct qb_ipc_request_header hdr = { 0 };
	const char *text;
	size_t tlen, len;
	char *buf;

	*ret_buf = NULL;
	*ret_len = 0;
	if (!inv || !inv->command)
		return -EINVAL;
	text = inv->args ? json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN) : "{}";
	if (!text)
		return -ENOMEM;
	tlen = strlen(text);
	if (tlen + 1 > HM_IPC_MAX_MSG - sizeof(hdr))
		return -EMSGSIZE;
	len = sizeof(hdr) + tlen + 1;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	hdr.id = inv->command->id;
	hdr.size = (int32_t)len;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), text, tlen + 1);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int hm_ctl_reply_parse(const void *buf, size_t len, int32_t *ret_error,
		       json_object **ret_obj, char *err, size_t errlen)
{
	struct qb_ipc_response_header hdr;
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	const char *payload;
	json_object *obj;
	size_t plen, end;

	*ret_error = 0;
	*ret_obj = NULL;
	if (!buf || len < sizeof(hdr)) {
		snprintf(err, errlen, "reply of %zu bytes is shorter than its %zu-byte header",
			 buf ? len : 0, sizeof(hdr));
		return -EBADMSG;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.size < 0 || (size_t)hdr.size != len) {
		snprintf(err, errlen, "reply header says %" PRId32 " bytes but %zu arrived",
			 hdr.size, len);
		return -EBADMSG;
	}
	if (hdr.error > 0) {
		snprintf(err, errlen, "reply header has error %" PRId32 " (expected 0 or -errno)",
			 hdr.error);
		return -EBADMSG;
	}
	payload = (const char *)buf + sizeof(hdr);
	plen = len - sizeof(hdr);
	if (plen == 0) {
		snprintf(err, errlen, "reply has no payload (expected a JSON object)");
		return -EBADMSG;
	}
	if (payload[plen - 1] != '\0') {
		snprintf(err, errlen, "reply payload is not NUL-terminated");
		return -EBADMSG;
	}
	if (strlen(payload) != plen - 1) {
		snprintf(err, errlen, "reply payload has a NUL byte inside it");
		return -EBADMSG;
	}
	if (plen > INT32_MAX) {
		snprintf(err, errlen, "reply payload is too large");
		return -EBADMSG;
	}

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	/* strict: one value and nothing after it */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, payload, (int)plen);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		snprintf(err, errlen, "reply payload is not JSON: %s", json_tokener_error_desc(jerr));
		return -EBADMSG;
	}
	/* json-c stops after one value even when strict */
	while (end < plen - 1 && strchr(" \t\r\n", payload[end]))
		end++;
	if (end < plen - 1) {
		json_object_put(obj);
		snprintf(err, errlen, "reply payload has bytes after its JSON object");
		return -EBADMSG;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		snprintf(err, errlen, "reply payload is JSON but not an object");
		return -EBADMSG;
	}
	*ret_error = hdr.error;
	*ret_obj = obj;
	return 0;
}

void hm_ctl_reply_error_message(json_object *reply, int32_t error, char *buf, size_t len)
{
	const char *msg = field_str(reply, "error");

	if (msg)
		text_clean(msg, HM_CTL_ERR_MAX, buf, len);
	else
		snprintf(buf, len, "hamond refused the request: %s (and gave no reason)",
			 strerror(error < 0 ? -error : EIO));
}

int hm_ctl_exit_for_reply(int32_t error)
{
	if (error == 0)
		return HM_EXIT_OK;
	if (error == -EACCES || error == -EPERM)
		return HM_EXIT_DENIED;
	if (error == -ECONNRESET)
		return HM_EXIT_UNKNOWN;
	return HM_EXIT_FAILED;
}

int hm_ctl_exit_for_connect(int err, const char *ipc_name, char *msg, size_t len)
{
	switch (err) {
	case EACCES:
	case EPERM:
		/* hamond's connection_accept refused our uid/gid */
		snprintf(msg, len, "permission denied: hamond accepts only root, and members of "
			 "its ipc_read_group for read-only commands");
		return HM_EXIT_DENIED;
	case ECONNREFUSED:	/* abstract socket: nobody listens */
	case ENOENT:		/* filesystem socket: none there */
	case ENOTCONN:		/* closed during the handshake */
	case ECONNRESET:
	case EPIPE:
	case ESHUTDOWN:
		snprintf(msg, len, "cannot connect to hamond (IPC '%s'): is hamond running?",
			 ipc_name);
		return HM_EXIT_NO_DAEMON;
	case ETIMEDOUT:
		snprintf(msg, len, "cannot connect to hamond (IPC '%s'): no answer within %d s; "
			 "is hamond stalled?", ipc_name, HM_CTL_TIMEOUT_MS / 1000);
		return HM_EXIT_NO_DAEMON;
	case EAGAIN:
		snprintf(msg, len, "cannot connect to hamond (IPC '%s'): it is not ready, "
			 "try again", ipc_name);
		return HM_EXIT_NO_DAEMON;
	default:
		snprintf(msg, len, "cannot connect to hamond (IPC '%s'): %s", ipc_name,
			 strerror(err));
		return HM_EXIT_NO_DAEMON;
	}
}

int hm_ctl_exit_for_lost_reply(const struct hm_ctl_command *cmd, int err, char *msg, size_t len)
{
	char why[128];

	switch (err) {
	case ETIMEDOUT:
	case EAGAIN:
		snprintf(why, sizeof(why), "no reply from hamond within %d s",
			 HM_CTL_TIMEOUT_MS / 1000);
		break;
	case ENOTCONN:
	case ECONNRESET:
	case EPIPE:
	case ESHUTDOWN:
		snprintf(why, sizeof(why), "hamond closed the connection without replying");
		break;
	default:
		snprintf(why, sizeof(why), "no reply from hamond: %s", strerror(err));
		break;
	}
	if (cmd && cmd->needs_write) {
		snprintf(msg, len, "%s: the outcome of '%s' is unknown; check before retrying",
			 why, cmd->name);
		return HM_EXIT_UNKNOWN;
	}
	snprintf(msg, len, "%s", why);
	return HM_EXIT_FAILED;
}

/* whether cursor b comes after a: both strings or both integers */
static bool cursor_after(json_object *a, json_object *b)
{
	if (json_object_is_type(a, json_type_string) && json_object_is_type(b, json_type_string))
		return strcmp(json_object_get_string(b), json_object_get_string(a)) > 0;
	if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
		return json_object_get_int64(b) > json_object_get_int64(a);
	return false;
}

/* keep the first n rows of arr */
static void rows_truncate(json_object *arr, size_t n)
{
	size_t len = json_object_array_length(arr);

	if (len > n)
		json_object_array_del_idx(arr, n, len - n);
}

int hm_ctl_page_merge(struct hm_ctl_invocation *inv, json_object **acc, json_object *page,
		      char *err, size_t errlen)
{
	const char *key = inv->command ? inv->command->rows_key : NULL;
	json_object *rows, *next, *after, *all, *v;
	int64_t last = 0;
	size_t i, n;
	bool first = *acc == NULL;

	if (!key) {
		json_object_put(*acc);
		*acc = page;
		return 0;
	}
	rows = field(page, key);
	next = field(page, "next");
	after = field(inv->args, "after");
	field_int(inv->args, "last", 1, INT64_MAX, &last);
	/* one reply that says nothing of pages: the renderer copes with it */
	if (first && !next && !json_object_is_type(rows, json_type_array)) {
		json_object_object_del(page, "next");
		*acc = page;
		return 0;
	}
	if (!json_object_is_type(rows, json_type_array)) {
		snprintf(err, errlen, "a page of hamond's reply has no '%s' array", key);
		goto bad;
	}
	n = json_object_array_length(rows);
	if (next && (n == 0 || (!json_object_is_type(next, json_type_string) &&
				!json_object_is_type(next, json_type_int)) ||
		     (after && !cursor_after(after, next)))) {
		snprintf(err, errlen, "hamond's paging does not move on (next %.64s after %.64s, %zu rows)",
			 json_object_to_json_string(next), after ? json_object_to_json_string(after) : "none", n);
		goto bad;
	}
	if (first) {
		*acc = json_object_get(page);
	} else {
		all = field(*acc, key);
		for (i = 0; i < n; i++) {
			v = json_object_get(json_object_array_get_idx(rows, i));
			if (json_object_array_add(all, v) != 0) {
				json_object_put(v);
				goto nomem;
			}
		}
	}
	all = field(*acc, key);
	if (last > 0 && json_object_array_length(all) >= (size_t)last) {
		rows_truncate(all, (size_t)last);
		next = NULL;
	}
	if (next && json_object_object_add(inv->args, "after", json_object_get(next)) != 0) {
		json_object_put(next);
		goto nomem;
	}
	json_object_object_del(*acc, "next");
	json_object_put(page);
	return next ? 1 : 0;

nomem:
	snprintf(err, errlen, "out of memory");
	json_object_put(page);
	json_object_put(*acc);
	*acc = NULL;
	return -ENOMEM;
bad:
	json_object_put(page);
	json_object_put(*acc);
	*acc = NULL;
	return -EBADMSG;
}

void hm_ctl_render(FILE *out, const struct hm_ctl_invocation *inv, json_object *reply)
{
	if (inv->json) {
		fprintf(out, "%s\n", json_object_to_json_string_ext(reply,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	inv->command->render(out, inv->args, reply);
}

int hm_ctl_wait_invocation(const struct hm_ctl_invocation *inv, json_object *started,
			   struct hm_ctl_invocation **ret, char *msg, size_t len)
{
	struct hm_ctl_invocation *show;
	int64_t job;

	*ret = NULL;
	if (!field_int(started, "job", 1, INT64_MAX, &job)) {
		snprintf(msg, len, "--wait: hamond's reply names no job to wait for");
		return HM_EXIT_FAILED;
	}
	show = calloc(1, sizeof(*show));
	if (!show || !(show->args = json_object_new_object()) ||
	    json_object_object_add(show->args, "id", json_object_new_int64(job)) != 0) {
		hm_ctl_invocation_free(show);
		snprintf(msg, len, "out of memory");
		return HM_EXIT_FAILED;
	}
	show->json = inv->json;
	memcpy(show->ipc_name, inv->ipc_name, sizeof(show->ipc_name));
	show->command = hm_ctl_command_find("job show");
	*ret = show;
	return HM_EXIT_OK;
}

int hm_ctl_job_outcome(json_object *job_show_reply)
{
	const char *state = field_str(job_show_reply, "state");

	if (!state)
		return HM_EXIT_FAILED;	/* not a job: do not wait forever */
	if (!strcmp(state, "accepted") || !strcmp(state, "running"))
		return -1;
	return strcmp(state, "done") ? HM_EXIT_FAILED : HM_EXIT_OK;
}
