/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamon.conf parser.  Every key is one row of keys[] below: name, setter
 * (its type and validation), field, and default.  A default is stored as the
 * text a user would write and goes through the same setter as the file, so
 * no default can be a value the parser would refuse, and nothing about a key
 * is written twice.
 *
 * Decisions (doc/hamon.conf.md is the user's version):
 * - A line ends with "\n"; one "\r" before it is dropped (CRLF files from
 *   other editors work); any other control character is an error.
 * - A UTF-8 byte order mark at the very start is skipped.
 * - '#' starts a comment only as the first non-blank character of a line;
 *   inside a value it is data ("log_level = info # x" is a bad value).
 * - The value is everything after the first '=', so a libvirt URI may carry
 *   "?socket=/path".  One pair of surrounding double quotes is removed;
 *   there are no escapes.
 * - Keys are case-sensitive; keywords (booleans, levels, facilities,
 *   "none") are not.
 * - Parsing stops at the first error, and cfg is written only on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

#define HM_CONFIG_LINE_MAX	4096		/* bytes, without the line end */
#define HM_CONFIG_FILE_MAX	(1024 * 1024)
#define HM_CONFIG_WHY_MAX	384
#define HM_CONFIG_SHOW_MAX	40		/* bytes of user text quoted in a message */

struct hm_config_word {
	const char *name;
	int value;
};

struct hm_config_key;

/*
 * Validate val (len bytes, NUL-terminated, no control characters) and store
 * it in field; on failure return -EINVAL and say what is wrong in why.
 */
typedef int (*hm_config_set_fn)(const struct hm_config_key *key, void *field,
				const char *val, size_t len, char *why, size_t whylen);

struct hm_config_key {
	const char *name;
	hm_config_set_fn set;
	size_t offset;
	size_t size;
	const char *def;			/* as written in hamon.conf */
	const struct hm_config_word *words;	/* keyword types only */
};

static const struct hm_config_word booleans[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
	{ NULL, 0 }
};

/* the order is the order of severity, and of the error message */
static const struct hm_config_word log_levels[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	{ NULL, 0 }
};

static const struct hm_config_word facilities[] = {
	{ "daemon", LOG_DAEMON },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	{ NULL, 0 }
};

static void __attribute__((format(printf, 3, 4)))
say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ASCII only, so that the locale cannot change what a keyword means */
static bool word_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
		char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static const struct hm_config_word *word_find(const struct hm_config_word *w, const char *s)
{
	for (; w->name; w++)
		if (word_eq(w->name, s))
			return w;
	return NULL;
}

static void word_join(const struct hm_config_word *w, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; w->name && used < len; w++) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", w->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/*
 * Quote user text for a message: bounded, and with anything that is not
 * printable ASCII shown as '?', so a bad file cannot garble the log.
 */
static const char *show(char *buf, size_t buflen, const char *s, size_t n)
{
	size_t i, o = 0;
	bool cut = n > HM_CONFIG_SHOW_MAX;

	if (cut)
		n = HM_CONFIG_SHOW_MAX;
	buf[o++] = '\'';
	for (i = 0; i < n && o + 5 < buflen; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (cut && o + 5 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

#define SHOW_BUF (HM_CONFIG_SHOW_MAX + 8)

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static int store_string(const struct hm_config_key *key, void *field,
			const char *val, size_t len, char *why, size_t whylen)
{
	if (len == 0) {
		say(why, whylen, "empty value");
		return -EINVAL;
	}
	if (len >= key->size) {
		say(why, whylen, "value is %zu bytes long, the limit is %zu", len, key->size - 1);
		return -EINVAL;
	}
	/* zero the tail too: two equal configs are equal byte for byte */
	memset(field, 0, key->size);
	memcpy(field, val, len);
	return 0;
}

/* CPG group and IPC service names: they end up in socket and group names */
static int set_name(const struct hm_config_key *key, void *field,
		    const char *val, size_t len, char *why, size_t whylen)
{
	char b[SHOW_BUF];
	size_t i;

	for (i = 0; i < len; i++) {
		char c = val[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
			say(why, whylen, "%s: only letters, digits, '_', '.' and '-' are allowed",
			    show(b, sizeof(b), val, len));
			return -EINVAL;
		}
	}
	return store_string(key, field, val, len, why, whylen);
}

/* POSIX portable user/group name; whether it exists is the daemon's business */
static int set_group(const struct hm_config_key *key, void *field,
		     const char *val, size_t len, char *why, size_t whylen)
{
	char b[SHOW_BUF];
	size_t i;

	for (i = 0; i < len; i++) {
		char c = val[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      (c == '-' && i > 0))) {
			say(why, whylen, "%s is not a portable group name "
			    "(letters, digits, '_', '.', '-', not starting with '-')",
			    show(b, sizeof(b), val, len));
			return -EINVAL;
		}
	}
	return store_string(key, field, val, len, why, whylen);
}

/* absolute, so that the daemon's working directory never matters */
static int set_path(const struct hm_config_key *key, void *field,
		    const char *val, size_t len, char *why, size_t whylen)
{
	char b[SHOW_BUF];

	if (len > 0 && val[0] != '/') {
		say(why, whylen, "%s is not an absolute path", show(b, sizeof(b), val, len));
		return -EINVAL;
	}
	return store_string(key, field, val, len, why, whylen);
}

static int set_path_or_none(const struct hm_config_key *key, void *field,
			    const char *val, size_t len, char *why, size_t whylen)
{
	char b[SHOW_BUF];

	if (word_eq(val, "none")) {
		memset(field, 0, key->size);
		return 0;
	}
	if (len > 0 && val[0] != '/') {
		say(why, whylen, "%s is neither an absolute path nor 'none'",
		    show(b, sizeof(b), val, len));
		return -EINVAL;
	}
	return store_string(key, field, val, len, why, whylen);
}

/*
 * scheme://rest (RFC 3986 scheme).  libvirt's URI aliases are refused: the
 * daemon must say exactly which libvirt it drives.
 */
static int set_uri(const struct hm_config_key *key, void *field,
		   const char *val, size_t len, char *why, size_t whylen)
{
	char b[SHOW_BUF];
	size_t i;

	if (memchr(val, ' ', len)) {
		say(why, whylen, "%s contains white space", show(b, sizeof(b), val, len));
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = val[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-'))
			continue;
		break;
	}
	if (len > 0 && (i == 0 || strncmp(val + i, "://", 3) != 0)) {
		say(why, whylen, "%s is not a URI of the form scheme://...",
		    show(b, sizeof(b), val, len));
		return -EINVAL;
	}
	return store_string(key, field, val, len, why, whylen);
}

static int bad_word(const struct hm_config_key *key, const char *val, size_t len,
		    char *why, size_t whylen)
{
	char b[SHOW_BUF];
	char list[160];

	word_join(key->words, list, sizeof(list));
	say(why, whylen, "%s is not one of %s", show(b, sizeof(b), val, len), list);
	return -EINVAL;
}

static int set_bool(const struct hm_config_key *key, void *field,
		    const char *val, size_t len, char *why, size_t whylen)
{
	const struct hm_config_word *w = word_find(key->words, val);
	bool v;

	if (!w)
		return bad_word(key, val, len, why, whylen);
	v = w->value != 0;
	memcpy(field, &v, sizeof(v));
	return 0;
}

static int set_word(const struct hm_config_key *key, void *field,
		    const char *val, size_t len, char *why, size_t whylen)
{
	const struct hm_config_word *w = word_find(key->words, val);

	if (!w)
		return bad_word(key, val, len, why, whylen);
	memcpy(field, &w->value, sizeof(w->value));
	return 0;
}

#define HM_STALL_TIMEOUT_MAX 3600

/* whole seconds, 0..HM_STALL_TIMEOUT_MAX */
static int set_seconds(const struct hm_config_key *key, void *field,
		       const char *val, size_t len, char *why, size_t whylen)
{
	char b[SHOW_BUF];
	unsigned v = 0;
	size_t i;

	(void)key;
	for (i = 0; i < len && val[i] >= '0' && val[i] <= '9' && v <= HM_STALL_TIMEOUT_MAX; i++)
		v = v * 10 + (unsigned)(val[i] - '0');
	if (len == 0 || i != len || v > HM_STALL_TIMEOUT_MAX) {
		say(why, whylen, "%s is not a whole number of seconds from 0 to %d",
		    show(b, sizeof(b), val, len), HM_STALL_TIMEOUT_MAX);
		return -EINVAL;
	}
	memcpy(field, &v, sizeof(v));
	return 0;
}

#define FIELD(f) offsetof(struct hm_config, f), sizeof(((struct hm_config *)0)->f)

/* Keep in step with hamon/hamon.conf and doc/hamon.conf.md (check_config tests both). */
static const struct hm_config_key keys[] = {
	{ "cpg_group",       set_name,         FIELD(cpg_group),       "hamon",                          NULL },
	{ "ipc_name",        set_name,         FIELD(ipc_name),        "hamon",                          NULL },
	{ "database",        set_path,         FIELD(database),        "/var/lib/hamon/hamon.db",        NULL },
	{ "pid_file",        set_path,         FIELD(pid_file),        "/run/hamon/hamond.pid",          NULL },
	{ "libvirt_uri",     set_uri,          FIELD(libvirt_uri),     "qemu:///system",                 NULL },
	{ "log_file",        set_path_or_none, FIELD(log_file),        "/var/log/hamon/hamond.log",      NULL },
	{ "log_to_syslog",   set_bool,         FIELD(log_to_syslog),   "yes",                            booleans },
	{ "log_to_stderr",   set_bool,         FIELD(log_to_stderr),   "no",                             booleans },
	{ "log_level",       set_word,         FIELD(log_level),       "info",                           log_levels },
	{ "syslog_facility", set_word,         FIELD(syslog_facility), "daemon",                         facilities },
	{ "ipc_read_group",  set_group,        FIELD(ipc_read_group),  "haclient",                       NULL },
	{ "boot_id_file",    set_path,         FIELD(boot_id_file),    "/proc/sys/kernel/random/boot_id", NULL },
	{ "blackbox_dir",    set_path,         FIELD(blackbox_dir),    "/var/lib/hamon/blackbox",        NULL },
	{ "stall_timeout",   set_seconds,      FIELD(stall_timeout_s), "30",                             NULL },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct hm_config_key *key_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

void hm_config_defaults(struct hm_config *cfg)
{
	char why[HM_CONFIG_WHY_MAX];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	/* cannot fail: check_config parses every default through the same setters */
	for (i = 0; i < N_KEYS; i++)
		(void)keys[i].set(&keys[i], (char *)cfg + keys[i].offset, keys[i].def,
				  strlen(keys[i].def), why, sizeof(why));
}

/*
 * Name a line that failed before it was split: by its key when that is a
 * known one, else by its (quoted, bounded) text.
 */
static const char *line_label(const char *s, size_t n, char *buf, size_t buflen)
{
	const char *eq = memchr(s, '=', n);
	const struct hm_config_key *key;
	const char *k = s;
	size_t klen = eq ? (size_t)(eq - s) : n;

	trim(&k, &klen);
	key = key_find(k, klen);
	if (key)
		return key->name;
	trim(&s, &n);
	return show(buf, buflen, s, n);
}

/* one line, NUL-terminated, without its line end and without NUL bytes */
static int parse_line(struct hm_config *work, char *line, size_t lineno,
		      size_t *seen, const char *source, char *err, size_t errlen)
{
	const struct hm_config_key *key;
	char why[HM_CONFIG_WHY_MAX];
	char b[SHOW_BUF];
	const char *s = line, *k, *v, *eq;
	size_t n = strlen(line), klen, vlen, i;
	int ret;

	trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return 0;

	eq = memchr(s, '=', n);
	if (!eq) {
		say(err, errlen, "%s:%zu: %s: missing '=' between key and value",
		    source, lineno, show(b, sizeof(b), s, n));
		return -EINVAL;
	}
	k = s;
	klen = (size_t)(eq - s);
	trim(&k, &klen);
	if (klen == 0) {
		say(err, errlen, "%s:%zu: %s: no key before '='",
		    source, lineno, show(b, sizeof(b), s, n));
		return -EINVAL;
	}
	key = key_find(k, klen);
	if (!key) {
		say(err, errlen, "%s:%zu: %s: unknown key",
		    source, lineno, show(b, sizeof(b), k, klen));
		return -EINVAL;
	}
	if (seen[key - keys]) {
		say(err, errlen, "%s:%zu: %s: repeated (first set on line %zu)",
		    source, lineno, key->name, seen[key - keys]);
		return -EINVAL;
	}

	v = eq + 1;
	vlen = n - (size_t)(v - s);
	trim(&v, &vlen);
	if (vlen > 0 && v[0] == '"') {
		if (vlen < 2 || v[vlen - 1] != '"') {
			say(err, errlen, "%s:%zu: %s: missing closing '\"'",
			    source, lineno, key->name);
			return -EINVAL;
		}
		v++;
		vlen -= 2;
	}
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f) {
			say(err, errlen, "%s:%zu: %s: value contains a control character (0x%02x)",
			    source, lineno, key->name, c);
			return -EINVAL;
		}
	}
	/* v points into line, which is ours to cut */
	line[(v - line) + vlen] = '\0';

	ret = key->set(key, (char *)work + key->offset, v, vlen, why, sizeof(why));
	if (ret < 0) {
		say(err, errlen, "%s:%zu: %s: %s", source, lineno, key->name, why);
		return ret;
	}
	seen[key - keys] = lineno;
	return 0;
}

int hm_config_parse(struct hm_config *cfg, const char *text, size_t len,
		    const char *source, char *err, size_t errlen)
{
	size_t seen[N_KEYS] = { 0 };	/* line that set each key, 0: not yet */
	char line[HM_CONFIG_LINE_MAX + 1];
	char b[SHOW_BUF];
	struct hm_config *work;
	size_t pos = 0, lineno = 0;
	int ret = 0;

	say(err, errlen, "%s", "");
	if (!source)
		source = "(config)";
	if (!cfg || (!text && len > 0)) {
		say(err, errlen, "%s: invalid arguments", source);
		return -EINVAL;
	}

	/* a copy, so that a bad file leaves the caller's config as it was */
	work = malloc(sizeof(*work));
	if (!work) {
		say(err, errlen, "%s: %s", source, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(work, cfg, sizeof(*work));

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > HM_CONFIG_LINE_MAX) {
			say(err, errlen, "%s:%zu: %s: line is longer than %d bytes", source, lineno,
			    line_label(start, HM_CONFIG_LINE_MAX, b, sizeof(b)), HM_CONFIG_LINE_MAX);
			ret = -EINVAL;
			goto out_free;
		}
		if (memchr(start, '\0', n)) {
			say(err, errlen, "%s:%zu: %s: line contains a NUL byte", source, lineno,
			    line_label(start, n, b, sizeof(b)));
			ret = -EINVAL;
			goto out_free;
		}
		memcpy(line, start, n);
		line[n] = '\0';
		ret = parse_line(work, line, lineno, seen, source, err, errlen);
		if (ret < 0)
			goto out_free;
	}
	memcpy(cfg, work, sizeof(*cfg));

out_free:
	free(work);
	return ret;
}

/* read up to max bytes; *len > max-1 tells the caller there is more */
static int read_bounded(int fd, char *buf, size_t max, size_t *len)
{
	size_t got = 0;

	while (got < max) {
		ssize_t r = read(fd, buf + got, max - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*len = got;
	return 0;
}

int hm_config_load(struct hm_config *cfg, const char *path, char *err, size_t errlen)
{
	struct hm_config *work = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	say(err, errlen, "%s", "");
	if (!cfg || !path) {
		say(err, errlen, "%s: invalid arguments", path ? path : "(config)");
		return -EINVAL;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		say(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	/* one byte more than allowed, to tell "exactly the limit" from "too big" */
	text = malloc(HM_CONFIG_FILE_MAX + 1);
	work = malloc(sizeof(*work));
	if (!text || !work) {
		ret = -ENOMEM;
		say(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto out_free;
	}
	ret = read_bounded(fd, text, HM_CONFIG_FILE_MAX + 1, &len);
	if (ret < 0) {
		say(err, errlen, "%s: %s", path, strerror(-ret));
		goto out_free;
	}
	if (len > HM_CONFIG_FILE_MAX) {
		ret = -EFBIG;
		say(err, errlen, "%s: larger than %d bytes", path, HM_CONFIG_FILE_MAX);
		goto out_free;
	}

	hm_config_defaults(work);
	ret = hm_config_parse(work, text, len, path, err, errlen);
	if (ret == 0)
		memcpy(cfg, work, sizeof(*cfg));

out_free:
	free(work);
	free(text);
	close(fd);
	return ret;
}

int hm_config_log_level_from_str(const char *s)
{
	const struct hm_config_word *w;

	if (!s)
		return -EINVAL;
	w = word_find(log_levels, s);
	return w ? w->value : -EINVAL;
}

/* NULL for a level hamon.conf cannot name (LOG_EMERG..LOG_CRIT, junk) */
const char *hm_config_log_level_to_str(int level)
{
	const struct hm_config_word *w;

	for (w = log_levels; w->name; w++)
		if (w->value == level)
			return w->name;
	return NULL;
}
