/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamon.conf parsing: every error class with its exact line and key, then
 * every key, then the shipped example and doc/hamon.conf.md against the
 * list of keys and defaults below (the contract of the issue).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check_common.h"
#include "config.h"

#define SRC "t.conf"

/* every key and its default, as the issue states them */
static const struct {
	const char *key;
	const char *def;
} spec[] = {
	{ "cpg_group", "hamon" },
	{ "ipc_name", "hamon" },
	{ "database", "/var/lib/hamon/hamon.db" },
	{ "pid_file", "/run/hamon/hamond.pid" },
	{ "libvirt_uri", "qemu:///system" },
	{ "log_file", "/var/log/hamon/hamond.log" },
	{ "log_to_syslog", "yes" },
	{ "log_to_stderr", "no" },
	{ "log_level", "info" },
	{ "syslog_facility", "daemon" },
	{ "ipc_read_group", "haclient" },
	{ "boot_id_file", "/proc/sys/kernel/random/boot_id" },
	{ "blackbox_dir", "/var/lib/hamon/blackbox" },
	{ "stall_timeout", "30" },
};

#define N_SPEC (sizeof(spec) / sizeof(spec[0]))

/* a value other than the default for every key */
static const char nondefault_text[] =
	"cpg_group = blue.cluster-1\n"
	"ipc_name = hamon_test\n"
	"database = /srv/hamon/n1.db\n"
	"pid_file = /tmp/n1/hamond.pid\n"
	"libvirt_uri = qemu:///system?socket=/run/n1/libvirt-sock\n"
	"log_file = none\n"
	"log_to_syslog = off\n"
	"log_to_stderr = on\n"
	"log_level = debug\n"
	"syslog_facility = local3\n"
	"ipc_read_group = hamon-ro\n"
	"boot_id_file = /run/n1/boot_id\n"
	"blackbox_dir = /srv/hamon/bb\n"
	"stall_timeout = 7\n";

static struct hm_config cfg;
static struct hm_config saved;
static char err[HM_CONFIG_ERR_MAX];
static char tmpdir[64];

static void setup(void)
{
	/* garbage first, so that a field the code forgets to set shows */
	memset(&cfg, 0xa5, sizeof(cfg));
	hm_config_defaults(&cfg);
	memcpy(&saved, &cfg, sizeof(saved));
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
}

/*
 * The scratch directory is an unchecked fixture: made and removed by the
 * parent, so that a failing test (its child exits early) leaves nothing.
 */
static void setup_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/check_config.XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void teardown_tmpdir(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(tmpdir);

	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

static int parse_len(const char *text, size_t len)
{
	return hm_config_parse(&cfg, text, len, SRC, err, sizeof(err));
}

static int parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static void assert_unchanged(void)
{
	ck_assert_msg(memcmp(&cfg, &saved, sizeof(cfg)) == 0, "config changed by a failed call");
}

static void assert_fails(const char *text, const char *msg)
{
	ck_assert_int_eq(parse(text), -EINVAL);
	ck_assert_str_eq(err, msg);
	assert_unchanged();
}

static char *tmp_file(const char *name, const char *data, size_t len)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* the test's source directory: $srcdir under automake, else this file's */
static void top_path(char *buf, size_t len, const char *rel)
{
	const char *srcdir = getenv("srcdir");
	const char *slash = strrchr(__FILE__, '/');

	if (srcdir)
		snprintf(buf, len, "%s/../../%s", srcdir, rel);
	else if (slash)
		snprintf(buf, len, "%.*s/../../%s", (int)(slash - __FILE__), __FILE__, rel);
	else
		snprintf(buf, len, "../../%s", rel);
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

/* ---- invalid input ---- */

START_TEST(test_bad_arguments)
{
	ck_assert_int_eq(hm_config_parse(NULL, "a = b", 5, SRC, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_config_parse(&cfg, NULL, 5, SRC, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf: invalid arguments");
	ck_assert_int_eq(hm_config_load(NULL, "/etc/hamon/hamon.conf", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_config_load(&cfg, NULL, err, sizeof(err)), -EINVAL);
	/* no error buffer, no source: still refused, nothing written */
	ck_assert_int_eq(hm_config_parse(&cfg, "foo = 1", 7, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(hm_config_parse(&cfg, "foo = 1", 7, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "(config):1: 'foo': unknown key");
	assert_unchanged();
}
END_TEST

START_TEST(test_unknown_key)
{
	ck_assert_int_eq(hm_config_parse(&cfg, "\n# x\nfoo = 1\n", 12, "hamon.conf", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "hamon.conf:3: 'foo': unknown key");
	assert_fails("Log_Level = info\n", "t.conf:1: 'Log_Level': unknown key");
	assert_fails("log level = info\n", "t.conf:1: 'log level': unknown key");
	/* cluster policy is not a node-local key */
	assert_fails("log_level = info\nfence_timeout = 60\n", "t.conf:2: 'fence_timeout': unknown key");
}
END_TEST

START_TEST(test_repeated_key)
{
	assert_fails("log_level = info\ncpg_group = a\n\nlog_level = info\n",
		     "t.conf:4: log_level: repeated (first set on line 1)");
}
END_TEST

START_TEST(test_missing_equals)
{
	assert_fails("\n\nlog_level info\n",
		     "t.conf:3: 'log_level info': missing '=' between key and value");
	assert_fails("; not a comment\n", "t.conf:1: '; not a comment': missing '=' between key and value");
}
END_TEST

START_TEST(test_empty_key)
{
	assert_fails("cpg_group = a\n   = info\n", "t.conf:2: '= info': no key before '='");
}
END_TEST

START_TEST(test_empty_value)
{
	assert_fails("database =\n", "t.conf:1: database: empty value");
	assert_fails("cpg_group = \"\"\n", "t.conf:1: cpg_group: empty value");
	assert_fails("log_file = \t \n", "t.conf:1: log_file: empty value");
	assert_fails("log_level =\n", "t.conf:1: log_level: '' is not one of error, warning, notice, info, debug");
}
END_TEST

/* each string field at its limit, then one byte over */
static const struct {
	const char *key;
	size_t offset;
	size_t max;
	const char *prefix;
} limits[] = {
	{ "cpg_group", offsetof(struct hm_config, cpg_group), 127, "g" },
	{ "ipc_name", offsetof(struct hm_config, ipc_name), 99, "i" },
	{ "libvirt_uri", offsetof(struct hm_config, libvirt_uri), 511, "qemu:///" },
	{ "ipc_read_group", offsetof(struct hm_config, ipc_read_group), 63, "h" },
};

START_TEST(test_value_too_long)
{
	char value[600], text[700], msg[256];
	size_t max = limits[_i].max, p = strlen(limits[_i].prefix);

	memcpy(value, limits[_i].prefix, p);
	memset(value + p, 'a', max + 1 - p);
	value[max + 1] = '\0';
	snprintf(text, sizeof(text), "\n%s = %s\n", limits[_i].key, value);
	snprintf(msg, sizeof(msg), "t.conf:2: %s: value is %zu bytes long, the limit is %zu",
		 limits[_i].key, max + 1, max);
	assert_fails(text, msg);

	value[max] = '\0';
	snprintf(text, sizeof(text), "\n%s = %s\n", limits[_i].key, value);
	ck_assert_int_eq(parse(text), 0);
	ck_assert_str_eq((const char *)&cfg + limits[_i].offset, value);
}
END_TEST

static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "cpg_group = a/b", "cpg_group: 'a/b': only letters, digits, '_', '.' and '-' are allowed" },
	{ "cpg_group = a b", "cpg_group: 'a b': only letters, digits, '_', '.' and '-' are allowed" },
	{ "ipc_name = x:y", "ipc_name: 'x:y': only letters, digits, '_', '.' and '-' are allowed" },
	{ "ipc_name = h\xc3\xa9", "ipc_name: 'h?\?': only letters, digits, '_', '.' and '-' are allowed" },
	{ "database = var/lib/hamon.db", "database: 'var/lib/hamon.db' is not an absolute path" },
	{ "database = \" /x\"", "database: ' /x' is not an absolute path" },
	{ "pid_file = hamond.pid", "pid_file: 'hamond.pid' is not an absolute path" },
	{ "libvirt_uri = qemu", "libvirt_uri: 'qemu' is not a URI of the form scheme://..." },
	{ "libvirt_uri = ://x", "libvirt_uri: '://x' is not a URI of the form scheme://..." },
	{ "libvirt_uri = 9p://x", "libvirt_uri: '9p://x' is not a URI of the form scheme://..." },
	{ "libvirt_uri = qemu:/system", "libvirt_uri: 'qemu:/system' is not a URI of the form scheme://..." },
	{ "libvirt_uri = qemu:///system x", "libvirt_uri: 'qemu:///system x' contains white space" },
	{ "log_file = hamond.log", "log_file: 'hamond.log' is neither an absolute path nor 'none'" },
	{ "log_to_syslog = maybe", "log_to_syslog: 'maybe' is not one of yes, no, true, false, on, off, 1, 0" },
	{ "log_to_stderr = 2", "log_to_stderr: '2' is not one of yes, no, true, false, on, off, 1, 0" },
	{ "log_level = loud", "log_level: 'loud' is not one of error, warning, notice, info, debug" },
	{ "log_level = info # trailing comments are not comments",
	  "log_level: 'info # trailing comments are not comment...' is not one of error, warning, notice, info, debug" },
	{ "log_level = crit", "log_level: 'crit' is not one of error, warning, notice, info, debug" },
	{ "syslog_facility = local8",
	  "syslog_facility: 'local8' is not one of daemon, local0, local1, local2, local3, local4, local5, local6, local7" },
	{ "syslog_facility = user",
	  "syslog_facility: 'user' is not one of daemon, local0, local1, local2, local3, local4, local5, local6, local7" },
	{ "ipc_read_group = -wheel",
	  "ipc_read_group: '-wheel' is not a portable group name (letters, digits, '_', '.', '-', not starting with '-')" },
	{ "ipc_read_group = ha client",
	  "ipc_read_group: 'ha client' is not a portable group name (letters, digits, '_', '.', '-', not starting with '-')" },
	{ "boot_id_file = boot_id", "boot_id_file: 'boot_id' is not an absolute path" },
	{ "blackbox_dir = ~/bb", "blackbox_dir: '~/bb' is not an absolute path" },
	{ "stall_timeout = 5s", "stall_timeout: '5s' is not a whole number of seconds from 0 to 3600" },
	{ "stall_timeout = 3601", "stall_timeout: '3601' is not a whole number of seconds from 0 to 3600" },
	{ "stall_timeout = -1", "stall_timeout: '-1' is not a whole number of seconds from 0 to 3600" },
	{ "cpg_group = \"hamon", "cpg_group: missing closing '\"'" },
	{ "cpg_group = \"", "cpg_group: missing closing '\"'" },
	{ "database = /a\tb", "database: value contains a control character (0x09)" },
	{ "database = /a\rb", "database: value contains a control character (0x0d)" },
	{ "database = /a\x7f", "database: value contains a control character (0x7f)" },
};

/* each bad value on line 5, after comments and blank lines */
START_TEST(test_bad_value)
{
	char text[512], msg[512];

	snprintf(text, sizeof(text), "# header\n\r\n\n   # indented\n%s\nlog_level = debug\n",
		 bad[_i].text);
	snprintf(msg, sizeof(msg), "t.conf:5: %s", bad[_i].msg);
	assert_fails(text, msg);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char t1[] = "log_level = info\ncpg_group = a\0b\nipc_name = x\n";
	static const char t2[] = "\n\nfo\0o = 1\n";

	ck_assert_int_eq(parse_len(t1, sizeof(t1) - 1), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: cpg_group: line contains a NUL byte");
	assert_unchanged();
	ck_assert_int_eq(parse_len(t2, sizeof(t2) - 1), -EINVAL);
	ck_assert_str_eq(err, "t.conf:3: 'fo?o = 1': line contains a NUL byte");
	assert_unchanged();
}
END_TEST

START_TEST(test_line_too_long)
{
	char *text = malloc(8192);
	size_t n;

	ck_assert_ptr_nonnull(text);

	/* a comment line of 4097 bytes on line 2 */
	n = (size_t)sprintf(text, "log_level = info\n#");
	memset(text + n, 'c', 4096);
	strcpy(text + n + 4096, "\n");
	assert_fails(text, "t.conf:2: '#ccccccccccccccccccccccccccccccccccccccc...': "
		     "line is longer than 4096 bytes");

	/* named by its key when the key is known */
	n = (size_t)sprintf(text, "\n\n\ndatabase = /");
	memset(text + n, 'd', 4096);
	text[n + 4096] = '\0';
	assert_fails(text, "t.conf:4: database: line is longer than 4096 bytes");

	/* exactly 4096 bytes is fine, also with CRLF (the line end is not counted) */
	n = (size_t)sprintf(text, "database = /");
	memset(text + n, 'd', 4096 - n);
	strcpy(text + 4096, "\r\n");
	ck_assert_int_eq(parse(text), 0);
	ck_assert_uint_eq(strlen(cfg.database), 4096 - strlen("database = "));
	free(text);
}
END_TEST

START_TEST(test_error_at_last_line_without_newline)
{
	assert_fails("log_level = info\r\n\r\ncpg_group = a b", "t.conf:3: cpg_group: 'a b': only letters, "
		     "digits, '_', '.' and '-' are allowed");
}
END_TEST

START_TEST(test_error_leaves_config)
{
	/* the first lines are valid and are not applied either */
	assert_fails("cpg_group = other\nlog_level = debug\nlog_file = none\nbogus\n",
		     "t.conf:4: 'bogus': missing '=' between key and value");
	ck_assert_str_eq(cfg.cpg_group, "hamon");
}
END_TEST

START_TEST(test_error_buffer_small)
{
	char small[16];

	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(hm_config_parse(&cfg, "foo = 1", 7, SRC, small, sizeof(small)), -EINVAL);
	ck_assert_str_eq(small, "t.conf:1: 'foo'");
	ck_assert_int_eq(hm_config_parse(&cfg, "foo = 1", 7, SRC, small, 0), -EINVAL);
	ck_assert_int_eq(hm_config_parse(&cfg, "foo = 1", 7, SRC, NULL, 100), -EINVAL);
}
END_TEST

START_TEST(test_load_missing)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
	ck_assert_int_eq(hm_config_load(&cfg, path, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(strrchr(err, ':'), ": No such file or directory");
	ck_assert_int_eq(strncmp(err, path, strlen(path)), 0);
	assert_unchanged();
}
END_TEST

START_TEST(test_load_directory)
{
	ck_assert_int_eq(hm_config_load(&cfg, tmpdir, err, sizeof(err)), -EISDIR);
	ck_assert_str_eq(strrchr(err, ':'), ": Is a directory");
	assert_unchanged();
}
END_TEST

START_TEST(test_load_too_big)
{
	size_t max = 1024 * 1024;
	char *text = malloc(max + 1);
	char *path;
	char msg[256];

	ck_assert_ptr_nonnull(text);
	memset(text, '\n', max + 1);
	text[0] = '#';
	path = tmp_file("big.conf", text, max + 1);
	ck_assert_int_eq(hm_config_load(&cfg, path, err, sizeof(err)), -EFBIG);
	snprintf(msg, sizeof(msg), "%s: larger than 1048576 bytes", path);
	ck_assert_str_eq(err, msg);
	assert_unchanged();

	/* exactly 1 MiB is allowed */
	path = tmp_file("max.conf", text, max);
	ck_assert_int_eq(hm_config_load(&cfg, path, err, sizeof(err)), 0);
	free(text);
}
END_TEST

START_TEST(test_load_parse_error)
{
	static const char text[] = "log_level = debug\nlog_level = loud\n";
	char *path = tmp_file("bad.conf", text, sizeof(text) - 1);
	char msg[256];

	ck_assert_int_eq(hm_config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:2: log_level: repeated (first set on line 1)", path);
	ck_assert_str_eq(err, msg);
	assert_unchanged();
}
END_TEST

START_TEST(test_log_level_bad_names)
{
	ck_assert_int_eq(hm_config_log_level_from_str(NULL), -EINVAL);
	ck_assert_int_eq(hm_config_log_level_from_str(""), -EINVAL);
	ck_assert_int_eq(hm_config_log_level_from_str("loud"), -EINVAL);
	ck_assert_int_eq(hm_config_log_level_from_str("err"), -EINVAL);
	ck_assert_int_eq(hm_config_log_level_from_str("info "), -EINVAL);
	ck_assert_int_eq(hm_config_log_level_from_str("infodebug"), -EINVAL);
	ck_assert_ptr_null(hm_config_log_level_to_str(LOG_EMERG));
	ck_assert_ptr_null(hm_config_log_level_to_str(LOG_CRIT));
	ck_assert_ptr_null(hm_config_log_level_to_str(-1));
	ck_assert_ptr_null(hm_config_log_level_to_str(LOG_DEBUG + 1));
}
END_TEST

/* ---- valid input ---- */

START_TEST(test_defaults)
{
	ck_assert_str_eq(cfg.cpg_group, "hamon");
	ck_assert_str_eq(cfg.ipc_name, "hamon");
	ck_assert_str_eq(cfg.database, "/var/lib/hamon/hamon.db");
	ck_assert_str_eq(cfg.pid_file, "/run/hamon/hamond.pid");
	ck_assert_str_eq(cfg.libvirt_uri, "qemu:///system");
	ck_assert_str_eq(cfg.log_file, "/var/log/hamon/hamond.log");
	ck_assert(cfg.log_to_syslog);
	ck_assert(!cfg.log_to_stderr);
	ck_assert_int_eq(cfg.log_level, LOG_INFO);
	ck_assert_int_eq(cfg.syslog_facility, LOG_DAEMON);
	ck_assert_str_eq(cfg.ipc_read_group, "haclient");
	ck_assert_str_eq(cfg.boot_id_file, "/proc/sys/kernel/random/boot_id");
	ck_assert_str_eq(cfg.blackbox_dir, "/var/lib/hamon/blackbox");
	ck_assert_uint_eq(cfg.stall_timeout_s, 30);
}
END_TEST

/* the spec's defaults, written as a file, give exactly hm_config_defaults() */
START_TEST(test_defaults_as_text)
{
	struct hm_config def;
	char text[2048];
	size_t i, n = 0;

	for (i = 0; i < N_SPEC; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s = %s\n", spec[i].key, spec[i].def);
	ck_assert_int_eq(parse(nondefault_text), 0);
	ck_assert_int_eq(parse(text), 0);
	memset(&def, 0, sizeof(def));
	hm_config_defaults(&def);
	ck_assert(memcmp(&cfg, &def, sizeof(def)) == 0);
}
END_TEST

START_TEST(test_every_key)
{
	ck_assert_int_eq(parse(nondefault_text), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.cpg_group, "blue.cluster-1");
	ck_assert_str_eq(cfg.ipc_name, "hamon_test");
	ck_assert_str_eq(cfg.database, "/srv/hamon/n1.db");
	ck_assert_str_eq(cfg.pid_file, "/tmp/n1/hamond.pid");
	ck_assert_str_eq(cfg.libvirt_uri, "qemu:///system?socket=/run/n1/libvirt-sock");
	ck_assert_str_eq(cfg.log_file, "");
	ck_assert(!cfg.log_to_syslog);
	ck_assert(cfg.log_to_stderr);
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert_int_eq(cfg.syslog_facility, LOG_LOCAL3);
	ck_assert_str_eq(cfg.ipc_read_group, "hamon-ro");
	ck_assert_str_eq(cfg.boot_id_file, "/run/n1/boot_id");
	ck_assert_str_eq(cfg.blackbox_dir, "/srv/hamon/bb");
	ck_assert_uint_eq(cfg.stall_timeout_s, 7);
}
END_TEST

START_TEST(test_quotes)
{
	ck_assert_int_eq(parse("cpg_group = \"blue\"\n"
			       "database=\"/var/lib/a b/h.db\"\n"
			       "log_file = \"NONE\"\n"
			       "pid_file = \"/run/\"x\".pid\"\n"
			       "blackbox_dir = /bb\"\n"), 0);
	ck_assert_str_eq(cfg.cpg_group, "blue");
	ck_assert_str_eq(cfg.database, "/var/lib/a b/h.db");
	ck_assert_str_eq(cfg.log_file, "");
	/* one outer pair is removed, no escapes */
	ck_assert_str_eq(cfg.pid_file, "/run/\"x\".pid");
	ck_assert_str_eq(cfg.blackbox_dir, "/bb\"");
}
END_TEST

START_TEST(test_comments_and_blanks)
{
	ck_assert_int_eq(parse("# comment = with equals\n"
			       "\t# indented comment\n"
			       "#log_level = debug\n"
			       "\n \t \n"
			       "   database   =   /srv/a#b.db   \n"
			       "#\n"), 0);
	ck_assert_str_eq(cfg.database, "/srv/a#b.db");
	ck_assert_int_eq(cfg.log_level, LOG_INFO);
}
END_TEST

START_TEST(test_empty_text)
{
	ck_assert_int_eq(parse_len(NULL, 0), 0);
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(parse("\n\n\r\n"), 0);
	ck_assert_int_eq(parse("\xef\xbb\xbf"), 0);
	assert_unchanged();
}
END_TEST

START_TEST(test_crlf)
{
	ck_assert_int_eq(parse("# windows\r\n"
			       "log_level = debug\r\n"
			       "\r\n"
			       "database = \"/srv/h.db\"\r\n"
			       "cpg_group = c1\r\n"), 0);
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert_str_eq(cfg.database, "/srv/h.db");
	ck_assert_str_eq(cfg.cpg_group, "c1");

	/* line numbers still count \n, and only one \r is a line end */
	memcpy(&saved, &cfg, sizeof(saved));
	assert_fails("\r\n\r\n# x\r\nipc_name = a\r\r\n",
		     "t.conf:4: ipc_name: value contains a control character (0x0d)");
	/* old Mac line ends are not line ends */
	assert_fails("log_level = debug\rcpg_group = a\r",
		     "t.conf:1: log_level: value contains a control character (0x0d)");
}
END_TEST

START_TEST(test_bom)
{
	ck_assert_int_eq(parse("\xef\xbb\xbflog_level = notice\n"), 0);
	ck_assert_int_eq(cfg.log_level, LOG_NOTICE);
	/* only at the start of the text */
	memcpy(&saved, &cfg, sizeof(saved));
	assert_fails("\n\xef\xbb\xbflog_level = notice\n", "t.conf:2: '???log_level': unknown key");
}
END_TEST

START_TEST(test_booleans)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
		{ "yes", true }, { "no", false }, { "true", true }, { "false", false },
		{ "on", true }, { "off", false }, { "1", true }, { "0", false },
		{ "YES", true }, { "No", false }, { "True", true }, { "OFF", false },
	};
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		snprintf(text, sizeof(text), "log_to_syslog = %s\nlog_to_stderr = \"%s\"\n",
			 words[i].word, words[i].word);
		cfg.log_to_syslog = !words[i].value;
		cfg.log_to_stderr = !words[i].value;
		ck_assert_int_eq(parse(text), 0);
		ck_assert_msg(cfg.log_to_syslog == words[i].value, "%s", words[i].word);
		ck_assert_msg(cfg.log_to_stderr == words[i].value, "%s", words[i].word);
	}
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		ck_assert_int_eq(hm_config_log_level_from_str(levels[i].name), levels[i].level);
		ck_assert_str_eq(hm_config_log_level_to_str(levels[i].level), levels[i].name);
		snprintf(text, sizeof(text), "log_level = %s", levels[i].name);
		ck_assert_int_eq(parse(text), 0);
		ck_assert_int_eq(cfg.log_level, levels[i].level);
	}
	ck_assert_int_eq(hm_config_log_level_from_str("DEBUG"), LOG_DEBUG);
	ck_assert_int_eq(hm_config_log_level_from_str("Warning"), LOG_WARNING);
}
END_TEST

START_TEST(test_facilities)
{
	static const int fac[] = {
		LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
		LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7,
	};
	char text[64];
	int i;

	for (i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "syslog_facility = local%d", i);
		ck_assert_int_eq(parse(text), 0);
		ck_assert_int_eq(cfg.syslog_facility, fac[i]);
	}
	ck_assert_int_eq(parse("syslog_facility = DAEMON"), 0);
	ck_assert_int_eq(cfg.syslog_facility, LOG_DAEMON);
}
END_TEST

START_TEST(test_libvirt_uris)
{
	static const char *const ok[] = {
		"qemu:///system", "qemu:///session", "test:///default",
		"qemu+ssh://root@node2/system", "qemu+unix:///system?socket=/run/n1/libvirt-sock",
		"qemu+tls://node2.example.org:16514/system?no_verify=1",
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "libvirt_uri = %s\n", ok[i]);
		ck_assert_int_eq(parse(text), 0);
		ck_assert_str_eq(cfg.libvirt_uri, ok[i]);
	}
}
END_TEST

START_TEST(test_names_and_groups)
{
	ck_assert_int_eq(parse("cpg_group = A-z_0.9\nipc_name = -x\nipc_read_group = _grp.1-x\n"), 0);
	ck_assert_str_eq(cfg.cpg_group, "A-z_0.9");
	ck_assert_str_eq(cfg.ipc_name, "-x");
	ck_assert_str_eq(cfg.ipc_read_group, "_grp.1-x");
}
END_TEST

START_TEST(test_log_file_none)
{
	ck_assert_int_eq(parse("log_file = none"), 0);
	ck_assert_str_eq(cfg.log_file, "");
	ck_assert_int_eq(parse("log_file = /none"), 0);
	ck_assert_str_eq(cfg.log_file, "/none");
	ck_assert_int_eq(parse("log_file = None"), 0);
	ck_assert_str_eq(cfg.log_file, "");
}
END_TEST

/* parse() layers on top: a second text may set a key again */
START_TEST(test_parse_layers)
{
	ck_assert_int_eq(parse("log_level = debug\ncpg_group = one\n"), 0);
	ck_assert_int_eq(parse("log_level = error\n"), 0);
	ck_assert_int_eq(cfg.log_level, LOG_ERR);
	ck_assert_str_eq(cfg.cpg_group, "one");
	/* a shorter value leaves no tail of the longer one */
	ck_assert_int_eq(parse("cpg_group = on\n"), 0);
	ck_assert(memcmp(cfg.cpg_group, "on\0\0\0", 5) == 0);
}
END_TEST

START_TEST(test_load_ok)
{
	static const char text[] = "log_level = debug\nlibvirt_uri = test:///default\n";
	char *path = tmp_file("ok.conf", text, sizeof(text) - 1);

	/* load starts from the defaults, not from what cfg held */
	ck_assert_int_eq(parse("cpg_group = other\n"), 0);
	ck_assert_int_eq(hm_config_load(&cfg, path, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.cpg_group, "hamon");
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert_str_eq(cfg.libvirt_uri, "test:///default");
	ck_assert_str_eq(cfg.database, "/var/lib/hamon/hamon.db");

	path = tmp_file("empty.conf", "", 0);
	ck_assert_int_eq(hm_config_load(&cfg, path, err, sizeof(err)), 0);
	ck_assert(memcmp(&cfg, &saved, sizeof(cfg)) == 0);
}
END_TEST

/*
 * The shipped hamon/hamon.conf: valid as it is and setting nothing, and each
 * key appears once, commented out as "#key = default".
 */
START_TEST(test_example_file)
{
	char path[PATH_MAX];
	char *text, *uncommented, *line, *save = NULL;
	size_t len, n = 0, keys = 0, i;

	top_path(path, sizeof(path), "hamon/hamon.conf");
	text = slurp(path, &len);

	ck_assert_int_eq(parse(nondefault_text), 0);
	memcpy(&saved, &cfg, sizeof(saved));
	ck_assert_int_eq(hm_config_parse(&cfg, text, len, path, err, sizeof(err)), 0);
	assert_unchanged();

	uncommented = calloc(1, len + 1);
	ck_assert_ptr_nonnull(uncommented);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' || !strstr(line, " = "))
			continue;
		n += (size_t)sprintf(uncommented + n, "%s\n", line + 1);
		keys++;
	}
	/* a repeated or unknown key would fail here */
	ck_assert_int_eq(hm_config_parse(&cfg, uncommented, n, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(keys, N_SPEC);
	for (i = 0; i < N_SPEC; i++) {
		char want[256];

		snprintf(want, sizeof(want), "%s = %s\n", spec[i].key, spec[i].def);
		ck_assert_msg(strstr(uncommented, want), "hamon.conf lacks '#%s'", want);
	}
	memcpy(&saved, &cfg, sizeof(saved));
	hm_config_defaults(&cfg);
	assert_unchanged();
	free(uncommented);
	free(text);
}
END_TEST

/* doc/hamon.conf.md: one row per key, "| `key` | type | `default` | ..." */
START_TEST(test_doc_file)
{
	char path[PATH_MAX];
	char *text, *line, *save = NULL;
	size_t len, rows = 0, i;

	top_path(path, sizeof(path), "doc/hamon.conf.md");
	text = slurp(path, &len);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *col[4], *p = line;
		int c;

		if (strncmp(line, "| `", 3) != 0)
			continue;
		rows++;
		/* columns 1..3, split at '|' */
		for (c = 0; c < 4 && p; c++) {
			col[c] = p;
			p = strchr(p + 1, '|');
		}
		ck_assert_msg(c == 4 && p, "short row: %s", line);
		for (i = 0; i < N_SPEC; i++) {
			char key[64], def[128];

			snprintf(key, sizeof(key), "| `%s` |", spec[i].key);
			if (strncmp(col[0], key, strlen(key)) != 0)
				continue;
			snprintf(def, sizeof(def), "| `%s` |", spec[i].def);
			ck_assert_msg(strncmp(col[2], def, strlen(def)) == 0,
				      "doc default of %s differs: %s", spec[i].key, line);
			break;
		}
		ck_assert_msg(i < N_SPEC, "doc row for an unknown key: %s", line);
	}
	ck_assert_uint_eq(rows, N_SPEC);
	free(text);
}
END_TEST

static void add_fixture(Suite *s, const char *name, const TTest *test)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

static void add_loop(Suite *s, const char *name, const TTest *test, int n)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test, 0, n);
	suite_add_tcase(s, tc);
}

#define add(s, f) add_fixture((s), #f, (f))

int main(void)
{
	Suite *s = suite_create("config");

	/* invalid input first */
	add(s, test_bad_arguments);
	add(s, test_unknown_key);
	add(s, test_repeated_key);
	add(s, test_missing_equals);
	add(s, test_empty_key);
	add(s, test_empty_value);
	add_loop(s, "test_value_too_long", test_value_too_long, (int)(sizeof(limits) / sizeof(limits[0])));
	add_loop(s, "test_bad_value", test_bad_value, (int)(sizeof(bad) / sizeof(bad[0])));
	add(s, test_nul_byte);
	add(s, test_line_too_long);
	add(s, test_error_at_last_line_without_newline);
	add(s, test_error_leaves_config);
	add(s, test_error_buffer_small);
	add(s, test_load_missing);
	add(s, test_load_directory);
	add(s, test_load_too_big);
	add(s, test_load_parse_error);
	add(s, test_log_level_bad_names);

	add(s, test_defaults);
	add(s, test_defaults_as_text);
	add(s, test_every_key);
	add(s, test_quotes);
	add(s, test_comments_and_blanks);
	add(s, test_empty_text);
	add(s, test_crlf);
	add(s, test_bom);
	add(s, test_booleans);
	add(s, test_log_levels);
	add(s, test_facilities);
	add(s, test_libvirt_uris);
	add(s, test_names_and_groups);
	add(s, test_log_file_none);
	add(s, test_parse_layers);
	add(s, test_load_ok);
	add(s, test_example_file);
	add(s, test_doc_file);

	return hm_check_run(s);
}
