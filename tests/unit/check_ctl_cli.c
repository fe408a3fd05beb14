/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamonctl's pure part: every bad command line is refused with a message
 * naming what was wrong, the reply codec refuses what is malformed, and the
 * renderers print "?" rather than crash on whatever hamond sends.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_common.h"
#include "ctl_cli.h"

/* ---- fixture: a parsed invocation, its error text, and a memory FILE ---- */

static struct hm_ctl_invocation *inv;
static char err[HM_CTL_ERR_MAX];
static FILE *out;
static char *out_buf;
static size_t out_len;

static void setup(void)
{
	/* times are shown in local time: make it one the tests know */
	setenv("TZ", "UTC", 1);
	tzset();
	inv = NULL;
	err[0] = '\0';
	out_buf = NULL;
	out_len = 0;
	out = open_memstream(&out_buf, &out_len);
	ck_assert_ptr_nonnull(out);
}

static void teardown(void)
{
	hm_ctl_invocation_free(inv);
	inv = NULL;
	if (out)
		fclose(out);
	out = NULL;
	free(out_buf);
	out_buf = NULL;
}

/* what was written to out so far */
static const char *text(void)
{
	ck_assert_int_eq(fflush(out), 0);
	return out_buf ? out_buf : "";
}

static int parse_argv(int argc, char **argv)
{
	hm_ctl_invocation_free(inv);
	inv = NULL;
	return hm_ctl_parse(argc, argv, &inv, err, sizeof(err));
}

/* PARSE("status", "--json") parses "hamonctl status --json" */
#define PARSE(...) ({							\
	char *argv_[] = { "hamonctl", __VA_ARGS__ };			\
	parse_argv((int)(sizeof(argv_) / sizeof(argv_[0])), argv_);	\
})

#define assert_usage_error(rc, expect) do {				\
	ck_assert_int_eq((rc), -EINVAL);				\
	ck_assert_ptr_null(inv);					\
	ck_assert_str_eq(err, (expect));				\
} while (0)

#define assert_contains(haystack, needle) \
	ck_assert_msg(strstr((haystack), (needle)) != NULL, \
		      "'%s' not found in:\n%s", (needle), (haystack))

static json_object *json(const char *s)
{
	json_object *o = json_tokener_parse(s);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", s);
	return o;
}

/* ---- invalid command lines --------------------------------------------- */

START_TEST(test_no_command)
{
	char *argv[] = { "hamonctl" };

	assert_usage_error(parse_argv(1, argv), "no command given");
	assert_usage_error(PARSE("--json"), "no command given");
	assert_usage_error(PARSE("-s", "other"), "no command given");
	assert_usage_error(PARSE("--"), "no command given");
	/* no argv at all (execve with an empty argv) */
	assert_usage_error(parse_argv(0, argv), "no command given");
}
END_TEST

START_TEST(test_unknown_command)
{
	assert_usage_error(PARSE("stat"), "unknown command 'stat'");
	assert_usage_error(PARSE("STATUS"), "unknown command 'STATUS'");
	assert_usage_error(PARSE(""), "unknown command ''");
	assert_usage_error(PARSE("-j", "loglevel", "debug"), "unknown command 'loglevel'");
	/* "-" alone is an operand, so a command name, and not a known one */
	assert_usage_error(PARSE("-"), "unknown command '-'");
	/* even with --help: asking for help on nothing is a mistake */
	assert_usage_error(PARSE("--help", "bogus"), "unknown command 'bogus'");
}
END_TEST

START_TEST(test_unknown_option)
{
	assert_usage_error(PARSE("-x", "status"), "unknown option '-x'");
	assert_usage_error(PARSE("--bogus", "status"), "unknown option '--bogus'");
	assert_usage_error(PARSE("--json=yes", "status"), "unknown option '--json=yes'");
	assert_usage_error(PARSE("--jsonx", "status"), "unknown option '--jsonx'");
	assert_usage_error(PARSE("-V"), "unknown option '-V'");
	/* after the command, the command judges its own options */
	assert_usage_error(PARSE("status", "--bogus"), "status: unknown option '--bogus'");
	assert_usage_error(PARSE("log-level", "--bogus"), "log-level: unknown option '--bogus'");
}
END_TEST

START_TEST(test_extra_arguments)
{
	assert_usage_error(PARSE("status", "now"),
			   "status: unexpected argument 'now' (it takes none)");
	assert_usage_error(PARSE("status", "-j", "now"),
			   "status: unexpected argument 'now' (it takes none)");
	assert_usage_error(PARSE("log-level", "debug", "info"),
			   "log-level: unexpected argument 'info' (it takes one level)");
}
END_TEST

START_TEST(test_log_level_missing)
{
	assert_usage_error(PARSE("log-level"),
			   "log-level: missing level (one of error, warning, notice, info, debug)");
	assert_usage_error(PARSE("log-level", "--json"),
			   "log-level: missing level (one of error, warning, notice, info, debug)");
}
END_TEST

START_TEST(test_log_level_bad)
{
	assert_usage_error(PARSE("log-level", "verbose"),
			   "log-level: unknown level 'verbose' (one of error, warning, notice, info, debug)");
	assert_usage_error(PARSE("log-level", "warn"),
			   "log-level: unknown level 'warn' (one of error, warning, notice, info, debug)");
	assert_usage_error(PARSE("log-level", "crit"),
			   "log-level: unknown level 'crit' (one of error, warning, notice, info, debug)");
	assert_usage_error(PARSE("log-level", ""),
			   "log-level: unknown level '' (one of error, warning, notice, info, debug)");
	assert_usage_error(PARSE("log-level", "debug "),
			   "log-level: unknown level 'debug ' (one of error, warning, notice, info, debug)");
	assert_usage_error(PARSE("log-level", "7"),
			   "log-level: unknown level '7' (one of error, warning, notice, info, debug)");
}
END_TEST

START_TEST(test_socket_without_value)
{
	const char *expect = "option --socket needs a value (hamond's IPC service name)";

	assert_usage_error(PARSE("status", "--socket"), expect);
	assert_usage_error(PARSE("status", "-s"), expect);
	assert_usage_error(PARSE("--socket=", "status"), expect);
	/* the next option is not a name */
	assert_usage_error(PARSE("--socket", "--json", "status"), expect);
	assert_usage_error(PARSE("-s", "-j", "status"), expect);
}
END_TEST

START_TEST(test_socket_bad_name)
{
	assert_usage_error(PARSE("-s", "a/b", "status"),
			   "--socket 'a/b': a name may hold only letters, digits, '-', '_' and '.'");
	assert_usage_error(PARSE("-s", "a b", "status"),
			   "--socket 'a b': a name may hold only letters, digits, '-', '_' and '.'");
	assert_usage_error(PARSE("-s", "x", "-s", "y", "status"), "option --socket given twice");
}
END_TEST

START_TEST(test_overlong_names)
{
	char name[HM_CTL_IPC_NAME_MAX + 1];
	char huge[4096];

	/* the longest name hamon.conf's ipc_name holds is accepted ... */
	memset(name, 'n', HM_CTL_IPC_NAME_MAX - 1);
	name[HM_CTL_IPC_NAME_MAX - 1] = '\0';
	ck_assert_int_eq(PARSE("-s", name, "status"), 0);
	ck_assert_str_eq(inv->ipc_name, name);

	/* ... one more is not, and the message shows only its start */
	memset(name, 'n', HM_CTL_IPC_NAME_MAX);
	name[HM_CTL_IPC_NAME_MAX] = '\0';
	assert_usage_error(PARSE("-s", name, "status"),
			   "--socket 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...': "
			   "name too long (at most 99 characters)");

	/* a huge command name or level: refused, message stays bounded */
	memset(huge, 'c', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert_int_eq(PARSE(huge), -EINVAL);
	ck_assert_str_eq(err, "unknown command 'cccccccccccccccccccccccccccccccccccccccc...'");
	ck_assert_int_eq(PARSE("log-level", huge), -EINVAL);
	ck_assert_uint_lt(strlen(err), 200);
	ck_assert_int_eq(PARSE("--socket", huge, "status"), -EINVAL);
	ck_assert_uint_lt(strlen(err), 200);
}
END_TEST

START_TEST(test_control_bytes_not_echoed)
{
	/* an argument cannot drive the terminal through an error message */
	ck_assert_int_eq(PARSE("\033[2J"), -EINVAL);
	ck_assert_str_eq(err, "unknown command '?[2J'");
	ck_assert_int_eq(PARSE("log-level", "de\nbug"), -EINVAL);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* ---- valid command lines ----------------------------------------------- */

START_TEST(test_parse_status_defaults)
{
	ck_assert_int_eq(PARSE("status"), 0);
	ck_assert_ptr_nonnull(inv);
	ck_assert_ptr_eq(inv->command, hm_ctl_command_find("status"));
	ck_assert_int_eq(inv->command->id, HM_REQ_STATUS);
	ck_assert(!inv->command->needs_write);
	ck_assert(!inv->json);
	ck_assert(!inv->help);
	ck_assert(!inv->version);
	ck_assert_str_eq(inv->ipc_name, HM_IPC_DEFAULT_NAME);
	ck_assert_str_eq(json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN), "{}");
}
END_TEST

START_TEST(test_parse_global_options_anywhere)
{
	ck_assert_int_eq(PARSE("-j", "status"), 0);
	ck_assert(inv->json);
	ck_assert_int_eq(PARSE("status", "--json"), 0);
	ck_assert(inv->json);
	ck_assert_int_eq(PARSE("--json", "-j", "status"), 0);
	ck_assert(inv->json);

	ck_assert_int_eq(PARSE("--socket", "hamon-node2", "status"), 0);
	ck_assert_str_eq(inv->ipc_name, "hamon-node2");
	ck_assert_int_eq(PARSE("--socket=hamon_2.test", "status"), 0);
	ck_assert_str_eq(inv->ipc_name, "hamon_2.test");
	ck_assert_int_eq(PARSE("-s", "n2", "status"), 0);
	ck_assert_str_eq(inv->ipc_name, "n2");
	ck_assert_int_eq(PARSE("-sn3", "status"), 0);
	ck_assert_str_eq(inv->ipc_name, "n3");
	ck_assert_int_eq(PARSE("status", "-s", "n4", "-j"), 0);
	ck_assert_str_eq(inv->ipc_name, "n4");
	ck_assert(inv->json);
	ck_assert_int_eq(PARSE("log-level", "-s", "n5", "info"), 0);
	ck_assert_str_eq(inv->ipc_name, "n5");
	/* attached, a value may start with '-' as hamon.conf allows */
	ck_assert_int_eq(PARSE("--socket=-n6", "status"), 0);
	ck_assert_str_eq(inv->ipc_name, "-n6");
	ck_assert_int_eq(PARSE("-s-n7", "status"), 0);
	ck_assert_str_eq(inv->ipc_name, "-n7");

	/* "--" ends the options */
	ck_assert_int_eq(PARSE("-j", "--", "status"), 0);
	ck_assert(inv->json);
	ck_assert_int_eq(PARSE("--", "-j"), -EINVAL);
	ck_assert_str_eq(err, "unknown command '-j'");
}
END_TEST

START_TEST(test_parse_log_level)
{
	const char *levels[] = { "error", "warning", "notice", "info", "debug" };
	char expect[64];
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		char *level = (char *)levels[i];

		ck_assert_int_eq(PARSE("log-level", level), 0);
		ck_assert_int_eq(inv->command->id, HM_REQ_LOG_LEVEL);
		ck_assert(inv->command->needs_write);
		snprintf(expect, sizeof(expect), "{\"level\":\"%s\"}", levels[i]);
		ck_assert_str_eq(json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN),
				 expect);
	}
	/* any case, as in hamon.conf; the canonical name is sent */
	ck_assert_int_eq(PARSE("log-level", "DEBUG"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN),
			 "{\"level\":\"debug\"}");
	ck_assert_int_eq(PARSE("log-level", "Warning"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN),
			 "{\"level\":\"warning\"}");
}
END_TEST

START_TEST(test_parse_help_and_version)
{
	ck_assert_int_eq(PARSE("--help"), 0);
	ck_assert(inv->help);
	ck_assert_ptr_null(inv->command);
	ck_assert_int_eq(PARSE("-h"), 0);
	ck_assert(inv->help);

	/* a command's help needs none of its arguments, and ignores extras */
	ck_assert_int_eq(PARSE("log-level", "--help"), 0);
	ck_assert(inv->help);
	ck_assert_ptr_eq(inv->command, hm_ctl_command_find("log-level"));
	ck_assert_int_eq(PARSE("-h", "status", "extra"), 0);
	ck_assert_ptr_eq(inv->command, hm_ctl_command_find("status"));

	ck_assert_int_eq(PARSE("--version"), 0);
	ck_assert(inv->version);
	ck_assert_ptr_null(inv->command);
}
END_TEST

START_TEST(test_command_table)
{
	const struct hm_ctl_command *c, *d;

	ck_assert_ptr_null(hm_ctl_command_find(NULL));
	ck_assert_ptr_null(hm_ctl_command_find(""));
	for (c = hm_ctl_commands; c->name; c++) {
		ck_assert_ptr_nonnull(c->parse);
		ck_assert_ptr_nonnull(c->render);
		ck_assert_ptr_nonnull(c->summary);
		ck_assert_ptr_nonnull(c->args_usage);
		ck_assert_int_gt(c->id, QB_IPC_MSG_USER_START);
		ck_assert_int_lt(c->id, HM_REQ_MAX);
		ck_assert_ptr_eq(hm_ctl_command_find(c->name), c);
		for (d = c + 1; d->name; d++) {
			ck_assert_str_ne(c->name, d->name);
			/* the host flag commands share one request, their
			 * arguments differ */
			if (c->id != HM_REQ_HOST_FLAGS && c->id != HM_REQ_HISTORY)
				ck_assert_int_ne(c->id, d->id);
		}
		/* a paged command reads; a write never is */
		ck_assert(!(c->rows_key && c->needs_write));
	}
	ck_assert_int_eq(c - hm_ctl_commands, 25);
	ck_assert_str_eq(hm_ctl_command_find("list")->rows_key, "instances");
	ck_assert_str_eq(hm_ctl_command_find("history")->rows_key, "events");
	ck_assert_ptr_null(hm_ctl_command_find("host-list")->rows_key);
}
END_TEST

START_TEST(test_usage)
{
	const struct hm_ctl_command *c;

	hm_ctl_usage(out, NULL);
	for (c = hm_ctl_commands; c->name; c++)
		assert_contains(text(), c->name);
	assert_contains(text(), "--socket NAME");
	assert_contains(text(), "default: " HM_IPC_DEFAULT_NAME);
	assert_contains(text(), "4 permission denied");

	hm_ctl_usage(out, hm_ctl_command_find("log-level"));
	assert_contains(text(), "Usage: hamonctl [options] log-level <error|warning|notice|info|debug>\n");
	assert_contains(text(), "only root may run it");
	hm_ctl_usage(out, hm_ctl_command_find("status"));
	assert_contains(text(), "Usage: hamonctl [options] status\n");
	assert_contains(text(), "ipc_read_group");
	hm_ctl_usage(out, hm_ctl_command_find("history"));
	assert_contains(text(), "Usage: hamonctl [options] history [<host>] [--instance <name|uuid>]");
	assert_contains(text(), "  --since DURATION    only those newer: 90s, 15m, 2h, 7d, 1w, 1h30m\n"
			"  --limit N           only the N newest (still oldest first)\n\nIt only reads");
	hm_ctl_usage(out, hm_ctl_command_find("job list"));
	assert_contains(text(), "list the unfinished jobs and the 20 latest finished ones");
}
END_TEST

/* ---- request and reply bytes ------------------------------------------- */

/* a reply as hamond would send it, with the header's size set to len */
static size_t make_reply(char *buf, size_t cap, int32_t error, const char *payload, size_t plen)
{
	struct qb_ipc_response_header hdr = { .id = HM_REQ_STATUS, .error = error };
	size_t len = sizeof(hdr) + plen;

	ck_assert_uint_le(len, cap);
	hdr.size = (int32_t)len;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), payload, plen);
	return len;
}

#define REPLY(buf, error, lit) make_reply((buf), sizeof(buf), (error), (lit), sizeof(lit))
#define REPLY_NO_NUL(buf, error, lit) make_reply((buf), sizeof(buf), (error), (lit), sizeof(lit) - 1)

static void assert_reply_refused(const void *buf, size_t len, const char *expect)
{
	json_object *obj = (json_object *)&obj;	/* must be reset */
	int32_t error = 99;

	ck_assert_int_eq(hm_ctl_reply_parse(buf, len, &error, &obj, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_null(obj);
	ck_assert_int_eq(error, 0);
	ck_assert_str_eq(err, expect);
}

START_TEST(test_reply_malformed)
{
	struct qb_ipc_response_header hdr;
	char buf[256];
	size_t len;

	assert_reply_refused(NULL, 100, "reply of 0 bytes is shorter than its 24-byte header");
	assert_reply_refused(buf, 0, "reply of 0 bytes is shorter than its 24-byte header");
	len = REPLY(buf, 0, "{}");
	assert_reply_refused(buf, sizeof(hdr) - 1, "reply of 23 bytes is shorter than its 24-byte header");

	/* the header's size disagrees with what arrived */
	assert_reply_refused(buf, len - 1, "reply header says 27 bytes but 26 arrived");
	hdr.size = -1;
	memcpy(buf + offsetof(struct qb_ipc_response_header, size), &hdr.size, sizeof(hdr.size));
	assert_reply_refused(buf, len, "reply header says -1 bytes but 27 arrived");

	len = REPLY(buf, 5, "{}");
	assert_reply_refused(buf, len, "reply header has error 5 (expected 0 or -errno)");
	len = make_reply(buf, sizeof(buf), 0, "", 0);
	assert_reply_refused(buf, len, "reply has no payload (expected a JSON object)");
	len = REPLY_NO_NUL(buf, 0, "{}");
	assert_reply_refused(buf, len, "reply payload is not NUL-terminated");
	len = REPLY(buf, 0, "{}\0{}");
	assert_reply_refused(buf, len, "reply payload has a NUL byte inside it");
	len = REPLY(buf, 0, "");
	assert_reply_refused(buf, len, "reply payload is not JSON: unexpected end of data");
	len = REPLY(buf, 0, "{\"a\":");
	assert_reply_refused(buf, len, "reply payload is not JSON: unexpected end of data");
	len = REPLY(buf, 0, "{\"a\" 1}");
	assert_reply_refused(buf, len, "reply payload is not JSON: object property name separator ':' expected");
	len = REPLY(buf, 0, "{} {}");
	assert_reply_refused(buf, len, "reply payload is not JSON: unexpected character");
	len = REPLY(buf, 0, "{}x");
	assert_reply_refused(buf, len, "reply payload is not JSON: unexpected character");
	len = REPLY(buf, 0, "[1, 2]");
	assert_reply_refused(buf, len, "reply payload is JSON but not an object");
	len = REPLY(buf, 0, "\"ok\"");
	assert_reply_refused(buf, len, "reply payload is JSON but not an object");
	len = REPLY(buf, 0, "null");
	assert_reply_refused(buf, len, "reply payload is JSON but not an object");
}
END_TEST

START_TEST(test_reply_ok)
{
	char buf[256];
	json_object *obj;
	int32_t error;
	size_t len;

	len = REPLY(buf, 0, "{\"quorum\": \"quorate\"}");
	ck_assert_int_eq(hm_ctl_reply_parse(buf, len, &error, &obj, err, sizeof(err)), 0);
	ck_assert_int_eq(error, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "quorum")), "quorate");
	json_object_put(obj);

	len = REPLY(buf, -EACCES, "{\"error\": \"log-level needs root\"}\n");
	ck_assert_int_eq(hm_ctl_reply_parse(buf, len, &error, &obj, err, sizeof(err)), 0);
	ck_assert_int_eq(error, -EACCES);
	json_object_put(obj);
}
END_TEST

START_TEST(test_request_build)
{
	struct qb_ipc_request_header hdr;
	void *buf;
	size_t len;

	ck_assert_int_eq(PARSE("log-level", "debug"), 0);
	ck_assert_int_eq(hm_ctl_request_build(inv, &buf, &len), 0);
	ck_assert_uint_eq(len, sizeof(hdr) + sizeof("{\"level\":\"debug\"}"));
	memcpy(&hdr, buf, sizeof(hdr));
	ck_assert_int_eq(hdr.id, HM_REQ_LOG_LEVEL);
	ck_assert_int_eq(hdr.size, (int32_t)len);
	ck_assert_str_eq((char *)buf + sizeof(hdr), "{\"level\":\"debug\"}");
	free(buf);

	ck_assert_int_eq(PARSE("status"), 0);
	ck_assert_int_eq(hm_ctl_request_build(inv, &buf, &len), 0);
	memcpy(&hdr, buf, sizeof(hdr));
	ck_assert_int_eq(hdr.id, HM_REQ_STATUS);
	ck_assert_uint_eq(len, sizeof(hdr) + 3);
	ck_assert_mem_eq((char *)buf + sizeof(hdr), "{}", 3);
	free(buf);

	/* --help parses to no command, which has no request */
	ck_assert_int_eq(PARSE("--help"), 0);
	ck_assert_int_eq(hm_ctl_request_build(inv, &buf, &len), -EINVAL);
	ck_assert_ptr_null(buf);
}
END_TEST

/* ---- exit codes and messages ------------------------------------------- */

START_TEST(test_exit_for_reply)
{
	ck_assert_int_eq(hm_ctl_exit_for_reply(0), HM_EXIT_OK);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EACCES), HM_EXIT_DENIED);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EPERM), HM_EXIT_DENIED);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EINVAL), HM_EXIT_FAILED);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EAGAIN), HM_EXIT_FAILED);
}
END_TEST

START_TEST(test_exit_for_connect)
{
	char msg[HM_CTL_ERR_MAX];

	/* libqb hands connection_accept's -EACCES back as errno EACCES */
	ck_assert_int_eq(hm_ctl_exit_for_connect(EACCES, "hamon", msg, sizeof(msg)), HM_EXIT_DENIED);
	ck_assert_str_eq(msg, "permission denied: hamond accepts only root, and members of its "
			 "ipc_read_group for read-only commands");
	ck_assert_int_eq(hm_ctl_exit_for_connect(ECONNREFUSED, "hamon", msg, sizeof(msg)),
			 HM_EXIT_NO_DAEMON);
	ck_assert_str_eq(msg, "cannot connect to hamond (IPC 'hamon'): is hamond running?");
	ck_assert_int_eq(hm_ctl_exit_for_connect(ENOENT, "n2", msg, sizeof(msg)), HM_EXIT_NO_DAEMON);
	ck_assert_str_eq(msg, "cannot connect to hamond (IPC 'n2'): is hamond running?");
	ck_assert_int_eq(hm_ctl_exit_for_connect(ENOTCONN, "n2", msg, sizeof(msg)), HM_EXIT_NO_DAEMON);
	ck_assert_int_eq(hm_ctl_exit_for_connect(ETIMEDOUT, "n2", msg, sizeof(msg)), HM_EXIT_NO_DAEMON);
	assert_contains(msg, "no answer within 30 s");
	ck_assert_int_eq(hm_ctl_exit_for_connect(EMFILE, "n2", msg, sizeof(msg)), HM_EXIT_NO_DAEMON);
	assert_contains(msg, strerror(EMFILE));
}
END_TEST

START_TEST(test_exit_for_lost_reply)
{
	char msg[HM_CTL_ERR_MAX];

	/* a read that got no answer simply failed ... */
	ck_assert_int_eq(hm_ctl_exit_for_lost_reply(hm_ctl_command_find("status"), ETIMEDOUT,
						    msg, sizeof(msg)), HM_EXIT_FAILED);
	ck_assert_str_eq(msg, "no reply from hamond within 30 s");
	ck_assert_int_eq(hm_ctl_exit_for_lost_reply(hm_ctl_command_find("status"), ENOTCONN,
						    msg, sizeof(msg)), HM_EXIT_FAILED);
	ck_assert_str_eq(msg, "hamond closed the connection without replying");
	/* ... a write may have happened */
	ck_assert_int_eq(hm_ctl_exit_for_lost_reply(hm_ctl_command_find("log-level"), ECONNRESET,
						    msg, sizeof(msg)), HM_EXIT_UNKNOWN);
	ck_assert_str_eq(msg, "hamond closed the connection without replying: the outcome of "
			 "'log-level' is unknown; check before retrying");
}
END_TEST

START_TEST(test_reply_error_message)
{
	json_object *r;
	char msg[64];

	r = json("{\"error\": \"level 'x' is unknown\"}");
	hm_ctl_reply_error_message(r, -EINVAL, msg, sizeof(msg));
	ck_assert_str_eq(msg, "level 'x' is unknown");
	json_object_put(r);

	/* control bytes from the server do not reach the terminal */
	r = json("{\"error\": \"bad\\u001b[2J\\nthing\"}");
	hm_ctl_reply_error_message(r, -EINVAL, msg, sizeof(msg));
	ck_assert_str_eq(msg, "bad?[2J?thing");
	json_object_put(r);

	/* no message, or not a string: say what the errno says */
	r = json("{\"error\": 42}");
	hm_ctl_reply_error_message(r, -EBUSY, msg, sizeof(msg));
	assert_contains(msg, strerror(EBUSY));
	json_object_put(r);
	hm_ctl_reply_error_message(NULL, -EINVAL, msg, sizeof(msg));
	assert_contains(msg, strerror(EINVAL));

	/* a long message is cut to the buffer */
	r = json("{\"error\": \"0123456789012345678901234567890123456789012345678901234567890123456789\"}");
	hm_ctl_reply_error_message(r, -EINVAL, msg, sizeof(msg));
	ck_assert_uint_eq(strlen(msg), sizeof(msg) - 1);
	json_object_put(r);
}
END_TEST

/* ---- renderers --------------------------------------------------------- */

START_TEST(test_duration_format)
{
	char buf[64];

	hm_ctl_duration_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0s");
	hm_ctl_duration_format(59, buf, sizeof(buf));
	ck_assert_str_eq(buf, "59s");
	hm_ctl_duration_format(60, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1m 00s");
	hm_ctl_duration_format(3599, buf, sizeof(buf));
	ck_assert_str_eq(buf, "59m 59s");
	hm_ctl_duration_format(3723, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1h 02m 03s");
	hm_ctl_duration_format(86400, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1d 00h 00m 00s");
	hm_ctl_duration_format(90061, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1d 01h 01m 01s");
	hm_ctl_duration_format(UINT64_MAX, buf, sizeof(buf));
	ck_assert_str_eq(buf, "213503982334601d 07h 00m 15s");
	hm_ctl_duration_format(3723, buf, 4);
	ck_assert_str_eq(buf, "1h ");
}
END_TEST

static const char full_status[] =
	"{\"version\": \"0.1.0\", \"cluster_name\": \"prod\","
	" \"local\": {\"nodeid\": 2, \"name\": \"node2\"},"
	" \"corosync\": \"connected\", \"quorum\": \"quorate\", \"ring_id\": \"1.2c\","
	" \"synced\": true,"
	" \"members\": [{\"nodeid\": 1, \"name\": \"node1\", \"hamond\": true},"
	"  {\"nodeid\": 2, \"name\": \"node2\", \"hamond\": true},"
	"  {\"nodeid\": 3, \"name\": \"node3\", \"hamond\": false}],"
	" \"coordinator\": {\"nodeid\": 1, \"name\": \"node1\"},"
	" \"uptime_s\": 3723, \"boot_id\": \"9f0c7e1a-5b7d-4c1e-8d2f-0a1b2c3d4e5f\", \"pid\": 4242}";

static void render_status(const char *reply_text)
{
	json_object *reply = reply_text ? json(reply_text) : NULL;

	ck_assert_int_eq(PARSE("status"), 0);
	hm_ctl_render(out, inv, reply);
	json_object_put(reply);
}

START_TEST(test_render_status_empty_object)
{
	render_status("{}");
	ck_assert_str_eq(text(),
		"Cluster information\n"
		"-------------------\n"
		"Cluster name:     ?\n"
		"This node:        ?\n"
		"Corosync:         ?\n"
		"Quorum:           ?\n"
		"Ring ID:          ?\n"
		"Synced:           ?\n"
		"Coordinator:      ?\n"
		"\n"
		"hamond\n"
		"------\n"
		"Version:          ?\n"
		"PID:              ?\n"
		"Uptime:           ?\n"
		"Boot ID:          ?\n"
		"\n"
		"Membership information\n"
		"----------------------\n"
		"    ?\n");
}
END_TEST

START_TEST(test_render_status_not_an_object)
{
	const char *unknown = "Cluster name:     ?\n";

	render_status(NULL);
	assert_contains(text(), unknown);
	render_status("[1, 2, 3]");
	assert_contains(text(), unknown);
	render_status("\"status\"");
	assert_contains(text(), unknown);
	render_status("17");
	assert_contains(text(), unknown);
}
END_TEST

START_TEST(test_render_status_wrong_types)
{
	render_status("{\"version\": 1, \"cluster_name\": [], \"local\": \"node2\","
		      " \"corosync\": true, \"quorum\": {}, \"ring_id\": 44, \"synced\": \"yes\","
		      " \"members\": {\"nodeid\": 1}, \"coordinator\": 1,"
		      " \"uptime_s\": \"3723\", \"boot_id\": null, \"pid\": 1.5}");
	ck_assert_str_eq(text(),
		"Cluster information\n"
		"-------------------\n"
		"Cluster name:     ?\n"
		"This node:        ?\n"
		"Corosync:         ?\n"
		"Quorum:           ?\n"
		"Ring ID:          ?\n"
		"Synced:           ?\n"
		"Coordinator:      ?\n"
		"\n"
		"hamond\n"
		"------\n"
		"Version:          ?\n"
		"PID:              ?\n"
		"Uptime:           ?\n"
		"Boot ID:          ?\n"
		"\n"
		"Membership information\n"
		"----------------------\n"
		"    ?\n");
}
END_TEST

START_TEST(test_render_status_out_of_range)
{
	render_status("{\"local\": {\"nodeid\": 0, \"name\": \"\"}, \"pid\": 0, \"uptime_s\": -5,"
		      " \"coordinator\": {\"nodeid\": 4294967296, \"name\": \"big\"},"
		      " \"members\": [{\"nodeid\": -1, \"name\": \"neg\", \"hamond\": true}]}");
	assert_contains(text(), "This node:        ?\n");
	assert_contains(text(), "Coordinator:      ? (big)\n");
	assert_contains(text(), "PID:              ?\n");
	assert_contains(text(), "Uptime:           ?\n");
	assert_contains(text(), "         ?  neg   yes\n");
}
END_TEST

START_TEST(test_render_status_full)
{
	render_status(full_status);
	ck_assert_str_eq(text(),
		"Cluster information\n"
		"-------------------\n"
		"Cluster name:     prod\n"
		"This node:        2 (node2)\n"
		"Corosync:         connected\n"
		"Quorum:           quorate\n"
		"Ring ID:          1.2c\n"
		"Synced:           yes\n"
		"Coordinator:      1 (node1)\n"
		"\n"
		"hamond\n"
		"------\n"
		"Version:          0.1.0\n"
		"PID:              4242\n"
		"Uptime:           1h 02m 03s\n"
		"Boot ID:          9f0c7e1a-5b7d-4c1e-8d2f-0a1b2c3d4e5f\n"
		"\n"
		"Membership information\n"
		"----------------------\n"
		"    Nodeid  Name   hamond\n"
		"         1  node1  yes     coordinator\n"
		"         2  node2  yes     local\n"
		"         3  node3  no\n");
}
END_TEST

START_TEST(test_render_status_nulls)
{
	/* null is "none yet", which is not the same as unknown */
	render_status("{\"cluster_name\": \"\", \"local\": {\"nodeid\": 1, \"name\": \"\"},"
		      " \"corosync\": \"disconnected\", \"quorum\": \"quorum-unknown\","
		      " \"ring_id\": null, \"synced\": false, \"members\": [],"
		      " \"coordinator\": null, \"uptime_s\": 0, \"pid\": 77}");
	ck_assert_str_eq(text(),
		"Cluster information\n"
		"-------------------\n"
		"Cluster name:     ?\n"
		"This node:        1\n"
		"Corosync:         disconnected\n"
		"Quorum:           quorum-unknown\n"
		"Ring ID:          none\n"
		"Synced:           no\n"
		"Coordinator:      none\n"
		"\n"
		"hamond\n"
		"------\n"
		"Version:          ?\n"
		"PID:              77\n"
		"Uptime:           0s\n"
		"Boot ID:          ?\n"
		"\n"
		"Membership information\n"
		"----------------------\n"
		"    (no members)\n");
}
END_TEST

START_TEST(test_render_members_malformed)
{
	render_status("{\"local\": {\"nodeid\": 1}, \"coordinator\": {\"nodeid\": 1},"
		      " \"members\": [null, 7, \"x\", [],"
		      "  {\"nodeid\": \"2\", \"name\": 2, \"hamond\": \"yes\"},"
		      "  {\"nodeid\": 1, \"name\": \"a-rather-long-node-name\", \"hamond\": false},"
		      "  {\"nodeid\": 3, \"name\": \"evil\\u001b[2J\\n\", \"hamond\": true}]}");
	assert_contains(text(),
		"    Nodeid  Name                     hamond\n"
		"         ?  ?                        ?\n"
		"         ?  ?                        ?\n"
		"         ?  ?                        ?\n"
		"         ?  ?                        ?\n"
		"         ?  ?                        ?\n"
		"         1  a-rather-long-node-name  no      local, coordinator\n"
		"         3  evil?[2J?                yes\n");
	ck_assert_ptr_null(strchr(text(), '\033'));
}
END_TEST

START_TEST(test_render_members_width)
{
	char reply[512];
	const char *t;

	/* a very long name pushes its own row, not the whole table */
	snprintf(reply, sizeof(reply),
		 "{\"members\": [{\"nodeid\": 1, \"name\": \"%0100d\", \"hamond\": true},"
		 " {\"nodeid\": 2, \"name\": \"n\\u00e9\", \"hamond\": true}]}", 0);
	render_status(reply);
	t = text();
	assert_contains(t, "    Nodeid  Name                                      hamond\n");
	/* "né" is two columns wide though three bytes long */
	assert_contains(t, "         2  n\xc3\xa9                                        yes\n");
}
END_TEST

START_TEST(test_render_json)
{
	json_object *reply = json(full_status), *back;
	const char *t;

	ck_assert_int_eq(PARSE("--json", "status"), 0);
	hm_ctl_render(out, inv, reply);
	t = text();
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	/* pretty: one member per line */
	assert_contains(t, "\n  \"cluster_name\": \"prod\",\n");
	back = json_tokener_parse(t);
	ck_assert_ptr_nonnull(back);
	ck_assert(json_object_equal(reply, back));
	json_object_put(back);
	json_object_put(reply);

	/* whatever came back is shown as it is, even an empty object */
	reply = json("{}");
	ck_assert_int_eq(PARSE("log-level", "info", "-j"), 0);
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "{\n}\n");
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_status_replicas)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("status"), 0);
	reply = json("{\"acting\": true, \"hamonds_needed\": 2,"
		     " \"replica\": {\"agree\": false, \"applied_seq\": 12,"
		     " \"differs\": [{\"nodeid\": 3, \"name\": \"node3\"}]}}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "Acting:           yes (needs 2 running hamonds)\n");
	assert_contains(text(), "Replicas:         DIFFER on 3 (node3) (applied seq 12)\n");
	json_object_put(reply);
	reply = json("{\"replica\": {\"agree\": true, \"applied_seq\": 4, \"differs\": []}}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "Replicas:         agree (applied seq 4)\n");
	json_object_put(reply);
	reply = json("{\"replica\": 7}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "Replicas:         no checkpoint yet\n");
	json_object_put(reply);
}
END_TEST

START_TEST(test_inventory_commands)
{
	json_object *reply;

	assert_usage_error(PARSE("show"), "show: missing name");
	assert_usage_error(PARSE("show", "a", "b"), "show: unexpected argument 'b'");
	assert_usage_error(PARSE("list", "x"), "list: unexpected argument 'x' (it takes none)");
	assert_usage_error(PARSE("host-list", "--all"), "host-list: unknown option '--all'");

	ck_assert_int_eq(PARSE("host-list"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_HOST_LIST);
	reply = json("{\"hosts\": [{\"nodeid\": 1, \"name\": \"node1\", \"state\": \"online\","
		     " \"maintenance\": false, \"disabled\": false, \"reserved\": true, \"vcpus_used\": \"2/8\","
		     " \"memory_used\": \"128/16384\", \"instances\": 2},"
		     " {\"nodeid\": 22, \"name\": \"a-much-longer-name\", \"state\": 5}]}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(),
		"Nodeid  Name                State   Maintenance  Disabled  Reserved  vCPUs used/total  MiB used/total  Instances\n"
		"1       node1               online  no           no        yes       2/8               128/16384       2\n"
		"22      a-much-longer-name  5       -            -         -         -                 -               -\n");
	json_object_put(reply);

	ck_assert_int_eq(PARSE("list"), 0);
	reply = json("{\"instances\": []}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "Name  Host  State");
	assert_contains(text(), "(none)\n");
	json_object_put(reply);

	ck_assert_int_eq(PARSE("show", "vm1"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN),
			 "{\"name\":\"vm1\"}");
	reply = json("{\"name\": \"vm1\", \"state\": \"unknown\", \"domain_xml\": \"<domain/>\","
		     " \"affinity_group\": null}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "name:");
	assert_contains(text(), "unknown\n");
	assert_contains(text(), "affinity_group:");
	ck_assert_ptr_null(strstr(text(), "<domain/>"));
	json_object_put(reply);
}
END_TEST

START_TEST(test_config_invalid)
{
	assert_usage_error(PARSE("config"), "'config' needs a subcommand (see hamonctl --help)");
	assert_usage_error(PARSE("config", "frob"), "'config' needs a subcommand (see hamonctl --help)");
	assert_usage_error(PARSE("config", "set"), "config set: missing key");
	assert_usage_error(PARSE("config", "set", "cpu_overcommit"), "config set: missing value");
	assert_usage_error(PARSE("config", "set", "a", "b", "c"), "config set: unexpected argument 'c'");
	assert_usage_error(PARSE("config", "set", "", "b"), "config set: empty key");
	assert_usage_error(PARSE("config", "get", "--frob"), "config get: unknown option '--frob'");
	assert_usage_error(PARSE("config", "list", "x"),
			   "config list: unexpected argument 'x' (it takes none)");
}
END_TEST

START_TEST(test_config_parse)
{
	ck_assert_int_eq(PARSE("config", "set", "cpu_overcommit", "2.5", "--json"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_CONFIG_SET);
	ck_assert(inv->command->needs_write);
	ck_assert(inv->json);
	ck_assert_str_eq(json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN),
			 "{\"key\":\"cpu_overcommit\",\"value\":\"2.5\"}");
	ck_assert_int_eq(PARSE("config", "get", "cpu_overcommit"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_CONFIG_GET);
	ck_assert(!inv->command->needs_write);
	ck_assert_int_eq(PARSE("config", "list"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_CONFIG_LIST);
	/* outcome unknown has its own exit code */
	ck_assert_int_eq(hm_ctl_exit_for_reply(-ECONNRESET), HM_EXIT_UNKNOWN);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EROFS), HM_EXIT_FAILED);
}
END_TEST

START_TEST(test_render_config)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("config", "set", "cpu_overcommit", "2.5"), 0);
	reply = json("{\"key\": \"cpu_overcommit\", \"policy_version\": 7}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(), "cpu_overcommit = 2.5: accepted by a majority (policy version 7)\n");
	json_object_put(reply);

	ck_assert_int_eq(PARSE("config", "list"), 0);
	reply = json("{\"policy_version\": 7, \"keys\": ["
		     "{\"key\": \"a\", \"value\": \"1\", \"default\": true},"
		     "{\"key\": \"b\", \"value\": \"2\", \"default\": false, \"version\": 3},"
		     "{\"key\": 5}, 7]}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "Cluster policy, version 7\na = 1  (default)\n"
			"b = 2  (set at policy version 3)\n? = ?\n? = ?\n");
	json_object_put(reply);

	reply = json("{}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "?\n");
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_log_level)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("log-level", "debug"), 0);

	reply = json("{\"level\": \"info\"}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(), "hamond log level: info\n");
	json_object_put(reply);

	/* hamond said nothing: what was asked for */
	reply = json("{}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "hamond log level: debug\n");
	json_object_put(reply);

	reply = json("{\"level\": 3}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(), "hamond log level: info\nhamond log level: debug\n"
			 "hamond log level: debug\n");
	json_object_put(reply);

	/* neither */
	json_object_object_del(inv->args, "level");
	hm_ctl_render(out, inv, NULL);
	assert_contains(text(), "hamond log level: ?\n");
}
END_TEST


/* ---- paging ------------------------------------------------------------ */

/* merge a page given as text; the return of hm_ctl_page_merge */
static int merge(json_object **acc, const char *page)
{
	return hm_ctl_page_merge(inv, acc, json(page), err, sizeof(err));
}

static const char *args_text(void)
{
	return json_object_to_json_string_ext(inv->args, JSON_C_TO_STRING_PLAIN);
}

START_TEST(test_page_merge_malformed)
{
	json_object *acc = NULL;

	ck_assert_int_eq(PARSE("list"), 0);
	/* a "next" with nothing to move on from */
	ck_assert_int_eq(merge(&acc, "{\"instances\": [], \"next\": \"a\"}"), -EBADMSG);
	ck_assert_ptr_null(acc);
	ck_assert_str_eq(err, "hamond's paging does not move on (next \"a\" after none, 0 rows)");
	/* rows that are not an array, but more promised */
	ck_assert_int_eq(merge(&acc, "{\"instances\": 7, \"next\": \"a\"}"), -EBADMSG);
	ck_assert_str_eq(err, "a page of hamond's reply has no 'instances' array");
	/* a cursor of the wrong kind */
	ck_assert_int_eq(merge(&acc, "{\"instances\": [1], \"next\": [\"a\"]}"), -EBADMSG);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [1], \"next\": 1.5}"), -EBADMSG);

	/* the second page goes backwards: refused, everything dropped */
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"b\"}], \"next\": \"b\"}"), 1);
	ck_assert_str_eq(args_text(), "{\"after\":\"b\"}");
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"c\"}], \"next\": \"a\"}"), -EBADMSG);
	ck_assert_ptr_null(acc);
	ck_assert_str_eq(err, "hamond's paging does not move on (next \"a\" after \"b\", 1 rows)");
	/* ... or stands still, or changes the kind of cursor */
	ck_assert_int_eq(PARSE("list"), 0);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [1], \"next\": \"b\"}"), 1);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [2], \"next\": \"b\"}"), -EBADMSG);
	ck_assert_int_eq(PARSE("list"), 0);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [1], \"next\": \"b\"}"), 1);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [2], \"next\": 5}"), -EBADMSG);
	/* a later page without its rows */
	ck_assert_int_eq(PARSE("list"), 0);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [1], \"next\": \"b\"}"), 1);
	ck_assert_int_eq(merge(&acc, "{\"hosts\": []}"), -EBADMSG);
	ck_assert_ptr_null(acc);
}
END_TEST

START_TEST(test_page_merge)
{
	json_object *acc = NULL;

	/* one page, complete: the reply as it is */
	ck_assert_int_eq(PARSE("list"), 0);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"a\"}]}"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(acc, JSON_C_TO_STRING_PLAIN),
			 "{\"instances\":[{\"uuid\":\"a\"}]}");
	ck_assert_str_eq(args_text(), "{}");
	json_object_put(acc);
	acc = NULL;

	/* three pages: one array, in order, no "next"; each request asks
	 * after the previous page's cursor */
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"a\"}, {\"uuid\": \"b\"}],"
			       " \"next\": \"b\"}"), 1);
	ck_assert_str_eq(args_text(), "{\"after\":\"b\"}");
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"c\"}], \"next\": \"c\","
			       " \"other\": 1}"), 1);
	ck_assert_str_eq(args_text(), "{\"after\":\"c\"}");
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"d\"}]}"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(acc, JSON_C_TO_STRING_PLAIN),
			 "{\"instances\":[{\"uuid\":\"a\"},{\"uuid\":\"b\"},{\"uuid\":\"c\"},{\"uuid\":\"d\"}]}");
	/* and the table shows them all */
	hm_ctl_render(out, inv, acc);
	ck_assert_str_eq(text(),
		"Name  Host  State  Requested  Policy  Storage  vCPUs  MiB  UUID\n"
		"-     -     -      -          -       -        -      -    a\n"
		"-     -     -      -          -       -        -      -    b\n"
		"-     -     -      -          -       -        -      -    c\n"
		"-     -     -      -          -       -        -      -    d\n");
	json_object_put(acc);
	acc = NULL;

	/* a reply that knows nothing of pages: shown as it is, "?" */
	ck_assert_int_eq(PARSE("list"), 0);
	ck_assert_int_eq(merge(&acc, "{\"instances\": \"many\"}"), 0);
	ck_assert_ptr_nonnull(acc);
	json_object_put(acc);
	acc = NULL;
	/* a last page with "next": null is complete */
	ck_assert_int_eq(merge(&acc, "{\"instances\": [], \"next\": null}"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(acc, JSON_C_TO_STRING_PLAIN),
			 "{\"instances\":[]}");
	json_object_put(acc);
	acc = NULL;

	/* an unpaged command: the reply, whatever it holds */
	ck_assert_int_eq(PARSE("status"), 0);
	ck_assert_int_eq(merge(&acc, "{\"next\": \"x\"}"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(acc, JSON_C_TO_STRING_PLAIN),
			 "{\"next\":\"x\"}");
	json_object_put(acc);
}
END_TEST

START_TEST(test_page_merge_json_shape)
{
	json_object *acc = NULL, *back;

	/* --json prints the merged reply: the shape of one reply */
	ck_assert_int_eq(PARSE("list", "--json"), 0);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"1\"}], \"next\": \"1\"}"), 1);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"2\"}], \"next\": \"2\"}"), 1);
	ck_assert_int_eq(merge(&acc, "{\"instances\": [{\"uuid\": \"3\"}]}"), 0);
	hm_ctl_render(out, inv, acc);
	back = json_tokener_parse(text());
	ck_assert_ptr_nonnull(back);
	ck_assert(json_object_equal(acc, back));
	ck_assert_int_eq(json_object_array_length(json_object_object_get(back, "instances")), 3);
	ck_assert(!json_object_object_get_ex(back, "next", NULL));
	json_object_put(back);
	json_object_put(acc);
}
END_TEST
/* ---- jobs, history, host flags: invalid command lines ------------------ */

START_TEST(test_job_invalid)
{
	assert_usage_error(PARSE("job"), "'job' needs a subcommand (see hamonctl --help)");
	assert_usage_error(PARSE("job", "frob"), "'job' needs a subcommand (see hamonctl --help)");
	assert_usage_error(PARSE("job", "list", "--frob"),
			   "job list: unknown option '--frob' (it takes --all)");
	assert_usage_error(PARSE("job", "list", "7"),
			   "job list: unexpected argument '7' (hamonctl job show <id> shows one job)");
	assert_usage_error(PARSE("job", "show"),
			   "job show: missing job id (hamonctl job list shows them)");
	assert_usage_error(PARSE("job", "show", "abc"),
			   "job show: 'abc' is not a job id (a positive integer, see hamonctl job list)");
	assert_usage_error(PARSE("job", "show", "0"),
			   "job show: '0' is not a job id (a positive integer, see hamonctl job list)");
	assert_usage_error(PARSE("job", "show", "012"),
			   "job show: '012' is not a job id (a positive integer, see hamonctl job list)");
	assert_usage_error(PARSE("job", "show", "12x"),
			   "job show: '12x' is not a job id (a positive integer, see hamonctl job list)");
	assert_usage_error(PARSE("job", "show", ""),
			   "job show: '' is not a job id (a positive integer, see hamonctl job list)");
	/* one past what JSON's integers carry */
	assert_usage_error(PARSE("job", "show", "9223372036854775808"),
			   "job show: '9223372036854775808' is not a job id (a positive integer, "
			   "see hamonctl job list)");
	assert_usage_error(PARSE("job", "show", "--all"), "job show: unknown option '--all'");
	assert_usage_error(PARSE("job", "show", "1", "2"),
			   "job show: unexpected argument '2' (it takes one job id)");
}
END_TEST

START_TEST(test_duration_parse)
{
	uint64_t s = 77;

	/* invalid first: nothing is written */
	ck_assert_int_eq(hm_ctl_duration_parse(NULL, &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("h", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("5x", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("-5m", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("5 m", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("1h30", &s), -EINVAL);	/* 30 what? */
	ck_assert_int_eq(hm_ctl_duration_parse("1.5h", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("5mm", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("99999999999999999999999s", &s), -ERANGE);
	ck_assert_int_eq(hm_ctl_duration_parse("101y", &s), -EINVAL);
	ck_assert_int_eq(hm_ctl_duration_parse("36601d", &s), -ERANGE);
	ck_assert_int_eq(hm_ctl_duration_parse("36600d1s", &s), -ERANGE);
	ck_assert_uint_eq(s, 77);

	ck_assert_int_eq(hm_ctl_duration_parse("0", &s), 0);
	ck_assert_uint_eq(s, 0);
	ck_assert_int_eq(hm_ctl_duration_parse("90", &s), 0);
	ck_assert_uint_eq(s, 90);
	ck_assert_int_eq(hm_ctl_duration_parse("90s", &s), 0);
	ck_assert_uint_eq(s, 90);
	ck_assert_int_eq(hm_ctl_duration_parse("15m", &s), 0);
	ck_assert_uint_eq(s, 900);
	ck_assert_int_eq(hm_ctl_duration_parse("2h", &s), 0);
	ck_assert_uint_eq(s, 7200);
	ck_assert_int_eq(hm_ctl_duration_parse("7d", &s), 0);
	ck_assert_uint_eq(s, 604800);
	ck_assert_int_eq(hm_ctl_duration_parse("1w", &s), 0);
	ck_assert_uint_eq(s, 604800);
	ck_assert_int_eq(hm_ctl_duration_parse("1h30m", &s), 0);
	ck_assert_uint_eq(s, 5400);
	ck_assert_int_eq(hm_ctl_duration_parse("1d2h3m4s", &s), 0);
	ck_assert_uint_eq(s, 93784);
	ck_assert_int_eq(hm_ctl_duration_parse("36600d", &s), 0);
	ck_assert_uint_eq(s, 36600ULL * 86400);
}
END_TEST

START_TEST(test_history_invalid)
{
	assert_usage_error(PARSE("history", "node1", "node2"),
			   "history: unexpected argument 'node2' (it takes one host)");
	assert_usage_error(PARSE("history", ""), "history: empty host");
	assert_usage_error(PARSE("history", "--frob"), "history: unknown option '--frob'");
	assert_usage_error(PARSE("history", "--instances", "x"), "history: unknown option '--instances'");
	assert_usage_error(PARSE("history", "--instance"),
			   "history: option --instance needs a value (an instance name or uuid)");
	assert_usage_error(PARSE("history", "--instance", "--job", "5"),
			   "history: option --instance needs a value (an instance name or uuid)");
	assert_usage_error(PARSE("history", "--instance="), "history: --instance: empty name");
	assert_usage_error(PARSE("history", "--job", "x"),
			   "history: --job 'x' is not a job id (a positive integer)");
	assert_usage_error(PARSE("history", "--job=0"),
			   "history: --job '0' is not a job id (a positive integer)");
	assert_usage_error(PARSE("history", "--limit", "-3"),
			   "history: option --limit needs a value (how many of the latest events)");
	assert_usage_error(PARSE("history", "--limit", "ten"),
			   "history: --limit 'ten' is not a count (a positive integer)");
	assert_usage_error(PARSE("history", "--since", "yesterday"),
			   "history: --since 'yesterday' is not a duration (e.g. 90s, 15m, 2h, 7d, "
			   "1h30m; at most 100 years)");
	assert_usage_error(PARSE("history", "--since"),
			   "history: option --since needs a value (a duration, e.g. 90s, 15m, 2h, 7d, 1h30m)");
	assert_usage_error(PARSE("history", "--job", "1", "--job", "2"),
			   "history: option --job given twice");
	assert_usage_error(PARSE("history", "--since=1h", "--since", "2h"),
			   "history: option --since given twice");
}
END_TEST

START_TEST(test_host_flags_invalid)
{
	assert_usage_error(PARSE("host"), "'host' needs a subcommand (see hamonctl --help)");
	assert_usage_error(PARSE("host", "node2"), "'host' needs a subcommand (see hamonctl --help)");
	assert_usage_error(PARSE("host", "disable"),
			   "host disable: missing host (a name or node id, see hamonctl host-list)");
	assert_usage_error(PARSE("host", "enable", "--json"),
			   "host enable: missing host (a name or node id, see hamonctl host-list)");
	assert_usage_error(PARSE("host", "reserve", "a", "b"), "host reserve: unexpected argument 'b'");
	assert_usage_error(PARSE("host", "unreserve", "--force", "a"),
			   "host unreserve: unknown option '--force'");
	assert_usage_error(PARSE("host", "disable", ""), "host disable: empty host");
	/* host-list is still one word */
	assert_usage_error(PARSE("host-list", "x"), "host-list: unexpected argument 'x' (it takes none)");
}
END_TEST

/* ---- jobs, history, host flags: valid command lines -------------------- */

START_TEST(test_job_parse)
{
	ck_assert_int_eq(PARSE("job", "list"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_JOB_LIST);
	ck_assert(!inv->command->needs_write);
	ck_assert_str_eq(args_text(), "{}");
	ck_assert_int_eq(PARSE("job", "list", "--all", "-j"), 0);
	ck_assert_str_eq(args_text(), "{\"all\":true}");
	ck_assert(inv->json);

	ck_assert_int_eq(PARSE("job", "show", "7241234567890123"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_JOB_SHOW);
	ck_assert_str_eq(args_text(), "{\"id\":7241234567890123}");
	ck_assert_int_eq(PARSE("--json", "job", "show", "9223372036854775807"), 0);
	ck_assert_str_eq(args_text(), "{\"id\":9223372036854775807}");
}
END_TEST

START_TEST(test_history_parse)
{
	ck_assert_int_eq(PARSE("history"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_HISTORY);
	ck_assert(!inv->command->needs_write);
	ck_assert_str_eq(args_text(), "{}");

	ck_assert_int_eq(PARSE("history", "node2", "--instance", "vm1", "--job", "42",
			       "--since", "1h30m", "--limit", "20"), 0);
	ck_assert_str_eq(args_text(), "{\"host\":\"node2\",\"instance\":\"vm1\",\"job\":42,"
			 "\"since_s\":5400,\"last\":20}");
	/* attached values, options before the host, "-" is a host */
	ck_assert_int_eq(PARSE("history", "--limit=5", "--instance=-odd-", "2"), 0);
	ck_assert_str_eq(args_text(), "{\"last\":5,\"instance\":\"-odd-\",\"host\":\"2\"}");
	ck_assert_int_eq(PARSE("-j", "history", "--since", "0"), 0);
	ck_assert_str_eq(args_text(), "{\"since_s\":0}");
	ck_assert(inv->json);
}
END_TEST

START_TEST(test_host_flags_parse)
{
	static const struct {
		const char *sub, *expect;
	} cases[] = {
		{ "disable", "{\"host\":\"node2\",\"disabled\":true}" },
		{ "enable", "{\"host\":\"node2\",\"disabled\":false}" },
		{ "reserve", "{\"host\":\"node2\",\"reserved\":true}" },
		{ "unreserve", "{\"host\":\"node2\",\"reserved\":false}" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(PARSE("host", (char *)cases[i].sub, "node2"), 0);
		ck_assert_int_eq(inv->command->id, HM_REQ_HOST_FLAGS);
		ck_assert(inv->command->needs_write);
		ck_assert_str_eq(args_text(), cases[i].expect);
	}
	/* by node id */
	ck_assert_int_eq(PARSE("host", "disable", "3", "--json"), 0);
	ck_assert_str_eq(args_text(), "{\"host\":\"3\",\"disabled\":true}");
	/* a write: no reply means the outcome is unknown (exit 5), and a
	 * membership change before a majority confirmed it too */
	ck_assert_int_eq(hm_ctl_exit_for_lost_reply(inv->command, ETIMEDOUT, err, sizeof(err)),
			 HM_EXIT_UNKNOWN);
	ck_assert_str_eq(err, "no reply from hamond within 30 s: the outcome of 'host disable' is "
			 "unknown; check before retrying");
	ck_assert_int_eq(hm_ctl_exit_for_reply(-ECONNRESET), HM_EXIT_UNKNOWN);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EROFS), HM_EXIT_FAILED);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-ENOENT), HM_EXIT_FAILED);
	ck_assert_int_eq(hm_ctl_exit_for_reply(-EACCES), HM_EXIT_DENIED);
}
END_TEST

/* ---- jobs, history, host flags: renderers ------------------------------ */

START_TEST(test_time_format)
{
	char buf[64];

	hm_ctl_time_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000");
	hm_ctl_time_format(1714566896789, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2024-05-01T12:34:56.789");
	hm_ctl_time_format(253402300799999, buf, sizeof(buf));
	ck_assert_str_eq(buf, "9999-12-31T23:59:59.999");
	hm_ctl_time_format(253402300800000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "?");
	hm_ctl_time_format(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "?");
	hm_ctl_time_format(INT64_MAX, buf, sizeof(buf));
	ck_assert_str_eq(buf, "?");
	/* local time */
	setenv("TZ", "EST5", 1);
	tzset();
	hm_ctl_time_format(1714566896789, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2024-05-01T07:34:56.789");
	/* too small a buffer: "?" or cut, never past it */
	hm_ctl_time_format(0, buf, 5);
	ck_assert_uint_lt(strlen(buf), 5);
}
END_TEST

static const char job_page[] =
	"{\"jobs\": [{\"id\": 7, \"kind\": \"recovery\", \"state\": \"running\", \"target_host\": 2,"
	"  \"host\": \"node2\", \"instance\": null, \"instance_name\": null,"
	"  \"created_ms\": 1714566896789, \"updated_ms\": 1714566900000,"
	"  \"reason\": \"node 2 left\", \"step_count\": 3},"
	" {\"id\": 9, \"kind\": \"migrate\", \"state\": \"done\", \"target_host\": 5, \"host\": null,"
	"  \"instance\": \"00000001-0000-4000-8000-000000000001\", \"instance_name\": null,"
	"  \"created_ms\": 0, \"updated_ms\": 1000, \"reason\": null, \"step_count\": 1}],"
	" \"hidden\": 4}";

START_TEST(test_render_job_list)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("job", "list"), 0);
	reply = json(job_page);
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(),
		"ID  Kind      State    Host   Instance                              "
		"Created                  Updated                  Steps  Reason\n"
		"7   recovery  running  node2  -                                     "
		"2024-05-01T12:34:56.789  2024-05-01T12:35:00.000  3      node 2 left\n"
		"9   migrate   done     5      00000001-0000-4000-8000-000000000001  "
		"1970-01-01T00:00:00.000  1970-01-01T00:00:01.000  1      -\n"
		"(4 older finished jobs not shown: hamonctl job list --all)\n");
	json_object_put(reply);

	/* --all: no "hidden", no line about it; none at all */
	reply = json("{\"jobs\": []}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "Reason\n(none)\n");
	ck_assert_ptr_null(strstr(text() + strlen(text()) - 10, "--all"));
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_job_show)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("job", "show", "7"), 0);
	reply = json("{\"id\": 7, \"kind\": \"recovery\", \"state\": \"running\", \"target_host\": 2,"
		     " \"host\": \"node2\", \"instance\": \"00000001-0000-4000-8000-000000000001\","
		     " \"instance_name\": \"vm1\", \"created_ms\": 1714566896789,"
		     " \"updated_ms\": 1714566900000, \"reason\": \"node 2 left\","
		     " \"steps\": [{\"seq\": 0, \"action\": \"fence\", \"instance\": null,"
		     "  \"instance_name\": null, \"host_id\": 1, \"host\": \"node1\", \"target_id\": null,"
		     "  \"target\": null, \"state\": \"done\", \"result\": \"off\", \"updated_ms\": 1714566897000},"
		     " {\"seq\": 1, \"action\": \"start\", \"instance\": \"00000001-0000-4000-8000-000000000001\","
		     "  \"instance_name\": \"vm1\", \"host_id\": 3, \"host\": \"node3\", \"target_id\": null,"
		     "  \"target\": null, \"state\": \"intent\", \"result\": null, \"updated_ms\": 1714566898000}]}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(),
		"Job:              7\n"
		"Kind:             recovery\n"
		"State:            running\n"
		"Host:             node2 (2)\n"
		"Instance:         vm1 (00000001-0000-4000-8000-000000000001)\n"
		"Created:          2024-05-01T12:34:56.789\n"
		"Updated:          2024-05-01T12:35:00.000\n"
		"Reason:           node 2 left\n"
		"Steps:            2\n"
		"\n"
		"Seq  Action  Instance  UUID                                  Host   Target  State   "
		"Time                     Result\n"
		"0    fence   -         -                                     node1  -       done    "
		"2024-05-01T12:34:57.000  off\n"
		"1    start   vm1       00000001-0000-4000-8000-000000000001  node3  -       intent  "
		"2024-05-01T12:34:58.000  -\n");
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_history)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("history"), 0);
	reply = json("{\"events\": [{\"id\": 11, \"ts_ms\": 1714566896789, \"kind\": \"host.lost\","
		     " \"host_id\": 2, \"host\": \"node2\", \"instance\": null, \"instance_name\": null,"
		     " \"job\": null, \"message\": \"node 2 left the corosync membership\"},"
		     " {\"id\": 12, \"ts_ms\": 1714566900000, \"kind\": \"instance.started\","
		     " \"host_id\": 3, \"host\": null, \"instance\": \"00000001-0000-4000-8000-000000000001\","
		     " \"instance_name\": \"vm1\", \"job\": 7, \"message\": \"started\"}]}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(),
		"Time                     Kind              Host   Instance  Job  Message\n"
		"2024-05-01T12:34:56.789  host.lost         node2  -         -    "
		"node 2 left the corosync membership\n"
		"2024-05-01T12:35:00.000  instance.started  3      vm1       7    started\n");
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_host_flags)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("host", "disable", "node2"), 0);
	reply = json("{\"host\": \"node2\", \"nodeid\": 2, \"disabled\": true, \"seq\": 40}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(), "host node2 (2): disabled: accepted by a majority\n");
	json_object_put(reply);

	/* hamond said nothing: what was asked for */
	ck_assert_int_eq(PARSE("host", "unreserve", "3"), 0);
	reply = json("{}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "host 3: unreserved: accepted by a majority\n");
	json_object_put(reply);

	ck_assert_int_eq(PARSE("host", "enable", "n\033x"), 0);
	reply = json("{\"host\": 5, \"nodeid\": \"x\", \"disabled\": \"no\"}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "host n?x: enabled: accepted by a majority\n");
	json_object_put(reply);
}
END_TEST

/* any JSON at all: "?" or "-", never a crash, never a control byte */
START_TEST(test_render_new_commands_odd_json)
{
	static const char *const replies[] = {
		"{}", "[]", "null", "17", "\"x\"",
		"{\"jobs\": 5, \"steps\": {}, \"events\": \"x\", \"hidden\": \"many\"}",
		"{\"jobs\": [null, 1, [], \"x\", {\"id\": \"7\", \"created_ms\": \"now\","
		" \"updated_ms\": -5, \"step_count\": 1.5, \"reason\": \"\\u001b[2J\"}],"
		" \"steps\": [null, {\"seq\": -1, \"updated_ms\": 1e300}],"
		" \"events\": [[], {\"ts_ms\": true, \"message\": \"a\\nb\"}],"
		" \"id\": {}, \"host\": [], \"target_host\": {}, \"instance_name\": 5,"
		" \"created_ms\": 99999999999999999, \"hidden\": 0}",
	};
	static const char *const cmds[][3] = {
		{ "job", "list", NULL }, { "job", "show", "1" }, { "history", NULL, NULL },
		{ "host", "disable", "x" },
	};
	json_object *reply;
	size_t i, c;

	for (c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		char *argv[] = { "hamonctl", (char *)cmds[c][0], (char *)cmds[c][1],
				 (char *)cmds[c][2] };

		ck_assert_int_eq(parse_argv(cmds[c][2] ? 4 : cmds[c][1] ? 3 : 2, argv), 0);
		for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
			reply = json_tokener_parse(replies[i]);
			hm_ctl_render(out, inv, reply);
			json_object_put(reply);
		}
	}
	ck_assert_ptr_null(strchr(text(), '\033'));
	assert_contains(text(), "Job:              ?\n");
	assert_contains(text(), "Created:          ?\n");
	assert_contains(text(), "Steps:            ?\n");
	assert_contains(text(), "Time  Kind  Host  Instance  Job  Message\n"
			"-     -     -     -         -    -\n"
			"?     -     -     -         -    a?b\n");
}
END_TEST

START_TEST(test_fence_commands)
{
	json_object *params;

	/* a secret on the command line is refused, and says where it goes */
	ck_assert_int_eq(PARSE("fence", "add", "node2", "fence_ipmilan", "passwd=x"), -EINVAL);
	assert_contains(err, "'passwd' is a secret");
	assert_contains(err, "--params-from");
	ck_assert_int_eq(PARSE("fence", "add", "node2"), -EINVAL);
	assert_contains(err, "missing agent");
	ck_assert_int_eq(PARSE("fence", "add", "node2", "fence_ipmilan", "ip"), -EINVAL);
	assert_contains(err, "'ip' is not key=value");
	ck_assert_int_eq(PARSE("fence", "add", "node2", "fence_ipmilan", "--level", "0"), -EINVAL);
	ck_assert_int_eq(PARSE("fence", "add", "node2", "fence_ipmilan", "--level"), -EINVAL);
	ck_assert_int_eq(PARSE("fence", "add", "node2", "fence_ipmilan", "ip=10.0.0.2",
			       "--level", "2", "--params-from", "-"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(inv->args, "params_from")), "-");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(inv->args, "level")), 2);
	/* what --params-from read: comments, blanks, spaces; secrets welcome */
	ck_assert_int_eq(hm_ctl_params_merge(inv->args, "# the BMC\n\n password=s3cret \r\n"
					     "ipport=623\n", err, sizeof(err)), 0);
	params = json_object_object_get(inv->args, "params");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(params, "password")), "s3cret");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(params, "ip")), "10.0.0.2");
	ck_assert_ptr_null(json_object_object_get(inv->args, "params_from"));
	ck_assert_int_eq(hm_ctl_params_merge(inv->args, "no equals sign\n", err, sizeof(err)), -EINVAL);
	assert_contains(err, "not key=value");
	/* confirm: the host's name twice, the same */
	ck_assert_int_eq(PARSE("fence", "confirm", "node2"), -EINVAL);
	assert_contains(err, "give its name twice");
	ck_assert_int_eq(PARSE("fence", "confirm", "node2", "--yes-i-am-sure", "node3"), -EINVAL);
	ck_assert_int_eq(PARSE("fence", "confirm", "node2", "--yes-i-am-sure", "node2"), 0);
	ck_assert(inv->command->needs_write);
	ck_assert_int_eq(PARSE("fence", "remove", "x"), -EINVAL);
	ck_assert_int_eq(PARSE("fence", "remove", "3"), 0);
	ck_assert_int_eq(PARSE("fence", "list"), 0);
	ck_assert(!inv->command->needs_write);
}
END_TEST

START_TEST(test_operator_job_commands)
{
	json_object *reply;

	/* fence HOST: a one-word command beside the fence group */
	ck_assert_int_eq(PARSE("fence", "node2"), 0);
	ck_assert_str_eq(inv->command->name, "fence");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(inv->args, "host")), "node2");
	ck_assert_str_eq(inv->confirm, "node2");	/* asks unless --yes */
	ck_assert(!inv->wait);
	ck_assert_int_eq(PARSE("fence", "node2", "--yes", "--wait"), 0);
	ck_assert_str_eq(inv->confirm, "");
	ck_assert(inv->wait);
	/* hamonctl's own keys never reach hamond */
	ck_assert_ptr_null(json_object_object_get(inv->args, HM_CTL_ARG_WAIT));
	ck_assert_ptr_null(json_object_object_get(inv->args, HM_CTL_ARG_CONFIRM));
	ck_assert_int_eq(PARSE("fence", "node2", "--yes", "--yes"), -EINVAL);
	assert_contains(err, "--yes given twice");
	ck_assert_int_eq(PARSE("fence", "node2", "node3"), -EINVAL);
	assert_contains(err, "unexpected argument 'node3'");
	ck_assert_int_eq(PARSE("fence", "--yes"), -EINVAL);
	assert_contains(err, "give the host");
	ck_assert_int_eq(PARSE("fence", "add", "node2", "fence_ipmilan"), 0);
	ck_assert_str_eq(inv->command->name, "fence add");
	/* fence test HOST | --id N */
	ck_assert_int_eq(PARSE("fence", "test", "node2"), 0);
	ck_assert_str_eq(inv->command->name, "fence test");
	ck_assert_int_eq(PARSE("fence", "test", "--id", "3"), 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(inv->args, "id")), 3);
	ck_assert_int_eq(PARSE("fence", "test", "--id", "0"), -EINVAL);
	ck_assert_int_eq(PARSE("fence", "test", "node2", "--id", "3"), -EINVAL);
	ck_assert_int_eq(PARSE("fence", "test"), -EINVAL);
	/* fence history: the history, fencing kinds only */
	ck_assert_int_eq(PARSE("fence", "history", "node2"), 0);
	ck_assert_int_eq(inv->command->id, HM_REQ_HISTORY);
	ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(inv->args, "kinds"),
							JSON_C_TO_STRING_PLAIN),
			 "[\"fence.\",\"host.fenced\"]");
	/* maintenance on|off HOST */
	ck_assert_int_eq(PARSE("maintenance", "on", "node2", "--strict", "--wait"), 0);
	ck_assert(json_object_get_boolean(json_object_object_get(inv->args, "on")));
	ck_assert(json_object_get_boolean(json_object_object_get(inv->args, "strict")));
	ck_assert(inv->wait);
	ck_assert_int_eq(PARSE("maintenance", "on", "node2", "--no-drain"), 0);
	ck_assert(!json_object_get_boolean(json_object_object_get(inv->args, "drain")));
	ck_assert_int_eq(PARSE("maintenance", "off", "node2", "--strict"), -EINVAL);
	ck_assert_int_eq(PARSE("maintenance", "node2"), -EINVAL);
	assert_contains(err, "give on or off");
	ck_assert_int_eq(PARSE("maintenance", "up", "node2"), -EINVAL);
	/* migrate INSTANCE [HOST] */
	ck_assert_int_eq(PARSE("migrate", "vm1"), 0);
	ck_assert_ptr_null(json_object_object_get(inv->args, "host"));
	ck_assert_int_eq(PARSE("migrate", "vm1", "node3", "--wait"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(inv->args, "host")), "node3");
	ck_assert_int_eq(PARSE("migrate"), -EINVAL);
	ck_assert_int_eq(PARSE("migrate", "vm1", "node3", "node1"), -EINVAL);
	/* evacuate HOST [--dry-run] [--target HOST] */
	ck_assert_int_eq(PARSE("evacuate", "node2", "--dry-run", "--target", "node3"), 0);
	ck_assert(json_object_get_boolean(json_object_object_get(inv->args, "dry_run")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(inv->args, "target")), "node3");
	ck_assert_int_eq(PARSE("evacuate", "node2", "--target"), -EINVAL);
	assert_contains(err, "--target needs a value");
	ck_assert_int_eq(PARSE("evacuate", "node2", "--dry-run", "--wait"), -EINVAL);
	ck_assert_int_eq(PARSE("evacuate"), -EINVAL);

	/* --wait: the job the reply names; its end decides the exit code */
	ck_assert_int_eq(PARSE("fence", "node2", "--yes", "--wait"), 0);
	reply = json("{\"job\": 77, \"done\": \"fencing node2\"}");
	{
		struct hm_ctl_invocation *show = NULL;

		ck_assert_int_eq(hm_ctl_wait_invocation(inv, reply, &show, err, sizeof(err)), 0);
		ck_assert_str_eq(show->command->name, "job show");
		ck_assert_int_eq(json_object_get_int(json_object_object_get(show->args, "id")), 77);
		hm_ctl_invocation_free(show);
	}
	json_object_put(reply);
	reply = json("{\"done\": \"x\"}");
	{
		struct hm_ctl_invocation *show = NULL;

		ck_assert_int_ne(hm_ctl_wait_invocation(inv, reply, &show, err, sizeof(err)), 0);
		ck_assert_ptr_null(show);
	}
	json_object_put(reply);
	reply = json("{\"state\": \"running\"}");
	ck_assert_int_eq(hm_ctl_job_outcome(reply), -1);
	json_object_put(reply);
	reply = json("{\"state\": \"done\"}");
	ck_assert_int_eq(hm_ctl_job_outcome(reply), HM_EXIT_OK);
	json_object_put(reply);
	reply = json("{\"state\": \"failed\"}");
	ck_assert_int_eq(hm_ctl_job_outcome(reply), HM_EXIT_FAILED);
	json_object_put(reply);
	reply = json("[1]");
	ck_assert_int_eq(hm_ctl_job_outcome(reply), HM_EXIT_FAILED);
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_operator_jobs)
{
	json_object *reply;

	ck_assert_int_eq(PARSE("evacuate", "node2", "--dry-run"), 0);
	reply = json("{\"kind\": \"evacuate\", \"host\": \"node2\", \"dry_run\": true, "
		     "\"instances\": [{\"name\": \"vm1\", \"vcpus\": 1, \"memory_mib\": 64, "
		     "\"outcome\": \"placed\", \"to\": \"node3\", \"reason\": null}, "
		     "{\"name\": \"vm2\", \"outcome\": \"lost\", \"to\": null, "
		     "\"reason\": \"local disk\"}], \"placed\": 1, \"pending\": 0, \"lost\": 1, "
		     "\"stays\": 0}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "dry run: nothing is changed");
	assert_contains(text(), "node3");
	assert_contains(text(), "local disk");
	assert_contains(text(), "1 placed, 0 cannot be placed now, 1 lost, 0 stay");
	json_object_put(reply);
	/* odd replies do not crash */
	reply = json("{\"dry_run\": 3, \"instances\": 5, \"placed\": \"x\"}");
	hm_ctl_render(out, inv, reply);
	json_object_put(reply);
	ck_assert_int_eq(PARSE("fence", "node2", "--yes"), 0);
	reply = json("{\"done\": \"fencing node2: a job of kind fence\", \"job\": 12}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "fencing node2: a job of kind fence (job 12: hamonctl job show 12)");
	json_object_put(reply);
	/* status: an unprotected host is said loudly */
	ck_assert_int_eq(PARSE("status"), 0);
	reply = json("{\"hosts\": [{\"nodeid\": 2, \"name\": \"node2\", \"state\": \"online\", "
		     "\"fence_devices\": 0, \"fencing\": \"UNPROTECTED\"}], \"jobs\": [], "
		     "\"headroom\": {\"host\": \"node2\", \"instances\": 3, \"placed\": 2, "
		     "\"pending\": 1}}");
	hm_ctl_render(out, inv, reply);
	assert_contains(text(), "node2 is UNPROTECTED");
	assert_contains(text(), "2 of its 3 HA instances could be rebuilt: NOT ENOUGH ROOM");
	json_object_put(reply);
}
END_TEST

START_TEST(test_render_cell_utf8_cut)
{
	char reply[2600], *p;
	json_object *o;
	size_t i;

	/* a message of 1200 two-byte characters: the cell is cut, not mid-way */
	p = reply + sprintf(reply, "{\"events\": [{\"message\": \"");
	for (i = 0; i < 1200; i++)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "\"}]}");
	ck_assert_int_eq(PARSE("history"), 0);
	o = json(reply);
	hm_ctl_render(out, inv, o);
	json_object_put(o);
	p = strstr(text(), "\xc3\xa9");
	ck_assert_ptr_nonnull(p);
	/* every byte after it comes in pairs up to the newline */
	for (i = 0; p[i] != '\n'; i += 2)
		ck_assert_msg((unsigned char)p[i] == 0xc3 && (unsigned char)p[i + 1] == 0xa9,
			      "split at byte %zu", i);
}
END_TEST

START_TEST(test_page_merge_history_and_steps)
{
	json_object *acc = NULL;

	/* history --limit 3: at most 3 rows kept, then it stops */
	ck_assert_int_eq(PARSE("history", "--limit", "3"), 0);
	ck_assert_int_eq(merge(&acc, "{\"events\": [{\"id\": 5}, {\"id\": 6}], \"next\": 6}"), 1);
	ck_assert_str_eq(args_text(), "{\"last\":3,\"after\":6}");
	ck_assert_int_eq(merge(&acc, "{\"events\": [{\"id\": 7}, {\"id\": 8}], \"next\": 8}"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(acc, JSON_C_TO_STRING_PLAIN),
			 "{\"events\":[{\"id\":5},{\"id\":6},{\"id\":7}]}");
	json_object_put(acc);
	acc = NULL;

	/* job show: the job's own fields from the first page, every step;
	 * a step's seq may be 0 */
	ck_assert_int_eq(PARSE("job", "show", "7"), 0);
	ck_assert_int_eq(merge(&acc, "{\"id\": 7, \"state\": \"running\", \"steps\": [{\"seq\": 0}],"
			       " \"next\": 0}"), 1);
	ck_assert_str_eq(args_text(), "{\"id\":7,\"after\":0}");
	ck_assert_int_eq(merge(&acc, "{\"id\": 7, \"state\": \"done\", \"steps\": [{\"seq\": 1}]}"), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(acc, JSON_C_TO_STRING_PLAIN),
			 "{\"id\":7,\"state\":\"running\",\"steps\":[{\"seq\":0},{\"seq\":1}]}");
	json_object_put(acc);
	acc = NULL;

	/* job list: integer cursors move up */
	ck_assert_int_eq(PARSE("job", "list", "--all"), 0);
	ck_assert_int_eq(merge(&acc, "{\"jobs\": [{\"id\": 10}], \"next\": 10}"), 1);
	ck_assert_int_eq(merge(&acc, "{\"jobs\": [{\"id\": 9}], \"next\": 9}"), -EBADMSG);
	ck_assert_ptr_null(acc);
}
END_TEST

static Suite *ctl_cli_suite(void)
{
	Suite *s = suite_create("ctl_cli");

	/* invalid input first */
	add_tcase_fixture(s, test_no_command, setup, teardown);
	add_tcase_fixture(s, test_unknown_command, setup, teardown);
	add_tcase_fixture(s, test_unknown_option, setup, teardown);
	add_tcase_fixture(s, test_extra_arguments, setup, teardown);
	add_tcase_fixture(s, test_log_level_missing, setup, teardown);
	add_tcase_fixture(s, test_log_level_bad, setup, teardown);
	add_tcase_fixture(s, test_socket_without_value, setup, teardown);
	add_tcase_fixture(s, test_socket_bad_name, setup, teardown);
	add_tcase_fixture(s, test_overlong_names, setup, teardown);
	add_tcase_fixture(s, test_control_bytes_not_echoed, setup, teardown);
	add_tcase_fixture(s, test_reply_malformed, setup, teardown);
	add_tcase_fixture(s, test_page_merge_malformed, setup, teardown);
	add_tcase_fixture(s, test_job_invalid, setup, teardown);
	add_tcase_fixture(s, test_duration_parse, setup, teardown);
	add_tcase_fixture(s, test_history_invalid, setup, teardown);
	add_tcase_fixture(s, test_host_flags_invalid, setup, teardown);
	add_tcase_fixture(s, test_render_new_commands_odd_json, setup, teardown);
	/* then valid */
	add_tcase_fixture(s, test_parse_status_defaults, setup, teardown);
	add_tcase_fixture(s, test_parse_global_options_anywhere, setup, teardown);
	add_tcase_fixture(s, test_parse_log_level, setup, teardown);
	add_tcase_fixture(s, test_parse_help_and_version, setup, teardown);
	add_tcase_fixture(s, test_command_table, setup, teardown);
	add_tcase_fixture(s, test_usage, setup, teardown);
	add_tcase_fixture(s, test_reply_ok, setup, teardown);
	add_tcase_fixture(s, test_request_build, setup, teardown);
	add_tcase_fixture(s, test_exit_for_reply, setup, teardown);
	add_tcase_fixture(s, test_exit_for_connect, setup, teardown);
	add_tcase_fixture(s, test_exit_for_lost_reply, setup, teardown);
	add_tcase_fixture(s, test_reply_error_message, setup, teardown);
	/* renderers: malformed replies first */
	add_tcase_fixture(s, test_duration_format, setup, teardown);
	add_tcase_fixture(s, test_render_status_empty_object, setup, teardown);
	add_tcase_fixture(s, test_render_status_not_an_object, setup, teardown);
	add_tcase_fixture(s, test_render_status_wrong_types, setup, teardown);
	add_tcase_fixture(s, test_render_status_out_of_range, setup, teardown);
	add_tcase_fixture(s, test_render_members_malformed, setup, teardown);
	add_tcase_fixture(s, test_render_status_full, setup, teardown);
	add_tcase_fixture(s, test_render_status_nulls, setup, teardown);
	add_tcase_fixture(s, test_render_members_width, setup, teardown);
	add_tcase_fixture(s, test_render_json, setup, teardown);
	add_tcase_fixture(s, test_render_log_level, setup, teardown);
	add_tcase_fixture(s, test_config_invalid, setup, teardown);
	add_tcase_fixture(s, test_inventory_commands, setup, teardown);
	add_tcase_fixture(s, test_render_status_replicas, setup, teardown);
	add_tcase_fixture(s, test_config_parse, setup, teardown);
	add_tcase_fixture(s, test_render_config, setup, teardown);
	add_tcase_fixture(s, test_page_merge, setup, teardown);
	add_tcase_fixture(s, test_page_merge_json_shape, setup, teardown);
	add_tcase_fixture(s, test_page_merge_history_and_steps, setup, teardown);
	add_tcase_fixture(s, test_job_parse, setup, teardown);
	add_tcase_fixture(s, test_history_parse, setup, teardown);
	add_tcase_fixture(s, test_host_flags_parse, setup, teardown);
	add_tcase_fixture(s, test_time_format, setup, teardown);
	add_tcase_fixture(s, test_render_job_list, setup, teardown);
	add_tcase_fixture(s, test_render_job_show, setup, teardown);
	add_tcase_fixture(s, test_render_history, setup, teardown);
	add_tcase_fixture(s, test_render_host_flags, setup, teardown);
	add_tcase_fixture(s, test_render_cell_utf8_cut, setup, teardown);
	add_tcase_fixture(s, test_fence_commands, setup, teardown);
	add_tcase_fixture(s, test_operator_job_commands, setup, teardown);
	add_tcase_fixture(s, test_render_operator_jobs, setup, teardown);
	return s;
}

int main(void)
{
	return hm_check_run(ctl_cli_suite());
}
