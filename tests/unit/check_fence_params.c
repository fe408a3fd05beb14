/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fence device's params (fencing/params.c): shape, secrets, redaction,
 * stdin lines.  Invalid input first.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_common.h"
#include "params.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct json_object *obj(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", text);
	return o;
}

START_TEST(test_check_invalid)
{
	static const struct {
		const char *json;
		const char *err;	/* a part of the message */
	} cases[] = {
		{ "[]", "not a JSON object" },
		{ "\"ip=1\"", "not a JSON object" },
		{ "{\"ip\": 1}", "param 'ip': the value is not a string" },
		{ "{\"lanplus\": true}", "param 'lanplus': the value is not a string" },
		{ "{\"ip\": null}", "param 'ip': the value is not a string" },
		{ "{\"ip\": {\"a\": \"b\"}}", "the value is not a string" },
		{ "{\"\": \"x\"}", "param '': a name is" },
		{ "{\"ip addr\": \"x\"}", "param 'ip addr': a name is" },
		{ "{\"ip=1\": \"x\"}", "param 'ip=1': a name is" },
		{ "{\"#ip\": \"x\"}", "param '#ip'" },
		{ "{\"password\": \"a\\nb\"}", "param 'password': the value holds a newline" },
		{ "{\"ip\": \"1\\naction=reboot\"}", "param 'ip': the value holds a newline" },
		{ "{\"password\": \"a\\rb\"}", "the value holds a newline, CR or NUL" },
		{ "{\"password\": \"a\\u0000b\"}", "the value holds a newline, CR or NUL" },
	};
	char err[256];
	size_t i;

	ck_assert_int_eq(hm_fence_params_check(NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "params: not a JSON object");
	ck_assert_int_eq(hm_fence_params_check(NULL, NULL, 0), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_object *o = obj(cases[i].json);

		ck_assert_msg(hm_fence_params_check(o, err, sizeof(err)) == -EINVAL, "%s",
			      cases[i].json);
		ck_assert_msg(strstr(err, cases[i].err) != NULL, "%s: '%s'", cases[i].json, err);
		/* never the value: it may be a password */
		ck_assert_ptr_null(strstr(err, "a\nb"));
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_check_limits)
{
	struct json_object *o = json_object_new_object();
	char name[HM_FENCE_PARAM_NAME_MAX + 2], *value, err[256];
	int i;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';	/* one too long */
	json_object_object_add(o, name, json_object_new_string("x"));
	ck_assert_int_eq(hm_fence_params_check(o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "a name is 1..64 characters"));
	json_object_object_del(o, name);
	name[HM_FENCE_PARAM_NAME_MAX] = '\0';	/* just fits */
	json_object_object_add(o, name, json_object_new_string("x"));
	ck_assert_int_eq(hm_fence_params_check(o, err, sizeof(err)), 0);
	json_object_put(o);

	value = malloc(HM_FENCE_PARAM_VALUE_MAX + 2);
	ck_assert_ptr_nonnull(value);
	memset(value, 'v', HM_FENCE_PARAM_VALUE_MAX + 1);
	value[HM_FENCE_PARAM_VALUE_MAX + 1] = '\0';
	o = json_object_new_object();
	json_object_object_add(o, "ip", json_object_new_string(value));
	ck_assert_int_eq(hm_fence_params_check(o, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'ip': the value is longer than 4096 bytes");
	json_object_put(o);
	free(value);

	o = json_object_new_object();
	for (i = 0; i <= HM_FENCE_PARAMS_MAX; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		json_object_object_add(o, name, json_object_new_string("x"));
		ck_assert_int_eq(hm_fence_params_check(o, err, sizeof(err)),
				 i < HM_FENCE_PARAMS_MAX ? 0 : -EINVAL);
	}
	ck_assert_str_eq(err, "params: more than 64");
	json_object_put(o);
}
END_TEST

START_TEST(test_parse)
{
	struct json_object *o = NULL;
	char err[256];

	ck_assert_int_eq(hm_fence_params_parse(NULL, &o, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "params: none");
	ck_assert_int_eq(hm_fence_params_parse("", &o, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "params: not valid JSON"));
	ck_assert_int_eq(hm_fence_params_parse("{\"ip\": \"1\"", &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_fence_params_parse("{\"ip\": \"1\"} x", &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_fence_params_parse("{'ip': '1'}", &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_fence_params_parse("{\"ip\": 1}", &o, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'ip': the value is not a string");
	ck_assert_ptr_null(o);
	ck_assert_int_eq(hm_fence_params_parse("{\"ip\": \"1\"}", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(hm_fence_params_parse("{}", &o, NULL, 0), 0);
	ck_assert_int_eq(json_object_object_length(o), 0);
	json_object_put(o);
	ck_assert_int_eq(hm_fence_params_parse(" {\"ip\": \"10.0.0.1\", \"password\": \"s3\"} ",
					       &o, err, sizeof(err)), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "password")), "s3");
	json_object_put(o);
}
END_TEST

START_TEST(test_is_secret)
{
	static const char *const secret[] = {
		"password", "passwd", "Password", "PASSWD", "password_script", "password-script",
		"passwd_script", "snmp_priv_passwd", "snmp-priv-passwd", "snmp_priv_passwd_script",
		"community", "secret_key", "client_secret", "token", "token_file", "apikey",
		"api_key", "api-key", "access_key",
	};
	static const char *const plain[] = {
		"ip", "ipaddr", "ipport", "username", "login", "plug", "port", "privlvl", "auth",
		"lanplus", "cipher", "key", "snmp_auth_prot", "tlscert", "pass", "",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(secret); i++)
		ck_assert_msg(hm_fence_param_is_secret(secret[i]), "%s", secret[i]);
	for (i = 0; i < ARRAY_SIZE(plain); i++)
		ck_assert_msg(!hm_fence_param_is_secret(plain[i]), "%s", plain[i]);
	ck_assert(!hm_fence_param_is_secret(NULL));
}
END_TEST

START_TEST(test_redact)
{
	struct json_object *o, *r = NULL, *bad;
	const char *text;
	char *s = NULL;

	ck_assert_int_eq(hm_fence_params_redact(NULL, &r), -EINVAL);
	bad = obj("[\"password\"]");
	ck_assert_int_eq(hm_fence_params_redact(bad, &r), -EINVAL);
	json_object_put(bad);
	ck_assert_int_eq(hm_fence_params_redact_json(NULL, &s), -EINVAL);
	ck_assert_int_eq(hm_fence_params_redact_json("{\"password\": \"s3cr", &s), -EINVAL);
	ck_assert_int_eq(hm_fence_params_redact_json("42", &s), -EINVAL);
	ck_assert_ptr_null(s);

	o = obj("{\"ip\": \"10.0.0.1\", \"username\": \"admin\", \"password\": \"s3cr3t\", "
		"\"snmp-priv-passwd\": \"pr1v\", \"community\": \"publ1c\", "
		"\"passwd\": 7}");
	ck_assert_int_eq(hm_fence_params_redact(o, NULL), -EINVAL);
	ck_assert_int_eq(hm_fence_params_redact(o, &r), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "ip")), "10.0.0.1");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "username")), "admin");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "password")), "********");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "snmp-priv-passwd")),
			 "********");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "community")), "********");
	/* a secret that is not a string is masked too */
	ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "passwd")), "********");
	/* the original is untouched */
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "password")), "s3cr3t");
	text = json_object_to_json_string(r);
	ck_assert_ptr_null(strstr(text, "s3cr3t"));
	ck_assert_ptr_null(strstr(text, "pr1v"));
	ck_assert_ptr_null(strstr(text, "publ1c"));
	json_object_put(r);
	json_object_put(o);

	ck_assert_int_eq(hm_fence_params_redact_json("{\"ip\":\"1.2.3.4\",\"password\":\"s3cr3t\"}",
						     &s), 0);
	ck_assert_str_eq(s, "{\"ip\":\"1.2.3.4\",\"password\":\"********\"}");
	free(s);
}
END_TEST

START_TEST(test_redact_text)
{
	struct json_object *p = obj("{\"ip\": \"10.0.0.1\", \"password\": \"hunter2\", "
				    "\"token\": \"\", \"community\": \"x\"}");
	char buf[128], small[15];

	hm_fence_redact_text(NULL, 10, p);
	snprintf(buf, sizeof(buf), "untouched");
	hm_fence_redact_text(buf, sizeof(buf), NULL);
	ck_assert_str_eq(buf, "untouched");
	hm_fence_redact_text(buf, 0, p);
	ck_assert_str_eq(buf, "untouched");

	/* the ip is not a secret; an empty token masks nothing; x is */
	snprintf(buf, sizeof(buf), "ipmitool -H 10.0.0.1 -P hunter2 failed (hunter2)");
	hm_fence_redact_text(buf, sizeof(buf), p);
	ck_assert_str_eq(buf, "ipmitool -H 10.0.0.1 -P ******** failed (********)");

	snprintf(buf, sizeof(buf), "box x");
	hm_fence_redact_text(buf, sizeof(buf), p);
	ck_assert_str_eq(buf, "bo******** ********");

	/* no room for the mask: the secret's own bytes become '*' */
	snprintf(small, sizeof(small), "pw hunter2 end");
	hm_fence_redact_text(small, sizeof(small), p);
	ck_assert_str_eq(small, "pw ******* end");
	ck_assert_ptr_null(strstr(small, "hunter2"));
	json_object_put(p);
}
END_TEST

START_TEST(test_lines)
{
	struct json_object *p;
	char **lines = NULL;
	size_t n = 99;

	ck_assert_int_eq(hm_fence_params_lines(NULL, &lines, &n), -EINVAL);
	p = obj("{\"ip\": \"1\\nx\"}");
	ck_assert_int_eq(hm_fence_params_lines(p, &lines, &n), -EINVAL);
	json_object_put(p);
	p = obj("{\"ip\": \"10.0.0.1\", \"password\": \"a=b c\", \"lanplus\": \"1\"}");
	ck_assert_int_eq(hm_fence_params_lines(p, NULL, &n), -EINVAL);
	ck_assert_int_eq(hm_fence_params_lines(p, &lines, NULL), -EINVAL);
	ck_assert_ptr_null(lines);
	ck_assert_int_eq(hm_fence_params_lines(p, &lines, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(lines[0], "ip=10.0.0.1");
	ck_assert_str_eq(lines[1], "password=a=b c");
	ck_assert_str_eq(lines[2], "lanplus=1");
	hm_fence_params_lines_free(lines, n);
	hm_fence_params_lines_free(NULL, 0);
	json_object_put(p);

	p = obj("{}");
	ck_assert_int_eq(hm_fence_params_lines(p, &lines, &n), 0);
	ck_assert_uint_eq(n, 0);
	hm_fence_params_lines_free(lines, n);
	json_object_put(p);
}
END_TEST

static Suite *fence_params_suite(void)
{
	Suite *s = suite_create("fence_params");

	add_tcase(s, test_check_invalid);
	add_tcase(s, test_check_limits);
	add_tcase(s, test_parse);
	add_tcase(s, test_is_secret);
	add_tcase(s, test_redact);
	add_tcase(s, test_redact_text);
	add_tcase(s, test_lines);
	return s;
}

int main(void)
{
	return hm_check_run(fence_params_suite());
}
