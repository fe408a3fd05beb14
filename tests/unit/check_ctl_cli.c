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
			ck_assert_int_ne(c->id, d->id);
		}
	}
	ck_assert_int_eq(c - hm_ctl_commands, 8);
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
		     " \"maintenance\": false, \"disabled\": false, \"vcpus_used\": \"2/8\","
		     " \"memory_used\": \"128/16384\", \"instances\": 2},"
		     " {\"nodeid\": 22, \"name\": \"a-much-longer-name\", \"state\": 5}]}");
	hm_ctl_render(out, inv, reply);
	ck_assert_str_eq(text(),
		"Nodeid  Name                State   Maintenance  Disabled  vCPUs used/total  MiB used/total  Instances\n"
		"1       node1               online  no           no        2/8               128/16384       2\n"
		"22      a-much-longer-name  5       -            -         -                 -               -\n");
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
	return s;
}

int main(void)
{
	return hm_check_run(ctl_cli_suite());
}
