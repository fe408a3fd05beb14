/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fence agent metadata (fencing/metadata.c): parsing and the validation of
 * a device's params.  Invalid input first.  The real metadata of
 * fence_ipmilan and fence_apc (fence-agents 4.12.1) are fixtures under
 * tests/unit/fixtures/, so the test needs no package; when fence_ipmilan is
 * installed its live metadata is parsed too.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_common.h"
#include "metadata.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	ck_assert_msg(f != NULL, "%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fread(s, 1, (size_t)n, f), n);
	fclose(f);
	*len = (size_t)n;
	return s;
}

/* tests/unit/fixtures/<name>, found from $srcdir or from this file */
static char *fixture(const char *name, size_t *len)
{
	const char *srcdir = getenv("srcdir");
	char path[PATH_MAX + 64], dir[PATH_MAX];

	if (srcdir != NULL) {
		snprintf(path, sizeof(path), "%s/fixtures/%s", srcdir, name);
		if (access(path, R_OK) == 0)
			return slurp(path, len);
	}
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	*(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = '\0';
	snprintf(path, sizeof(path), "%s/fixtures/%s", dir[0] ? dir : ".", name);
	return slurp(path, len);
}

static struct hm_fence_metadata *load(const char *name)
{
	struct hm_fence_metadata *md = NULL;
	char err[HM_FENCE_METADATA_ERR_MAX];
	size_t len;
	char *xml = fixture(name, &len);

	ck_assert_msg(hm_fence_metadata_parse(xml, len, &md, err, sizeof(err)) == 0, "%s: %s",
		      name, err);
	free(xml);
	return md;
}

static struct hm_fence_metadata *parse_str(const char *xml)
{
	struct hm_fence_metadata *md = NULL;
	char err[HM_FENCE_METADATA_ERR_MAX];

	ck_assert_msg(hm_fence_metadata_parse(xml, strlen(xml), &md, err, sizeof(err)) == 0, "%s",
		      err);
	return md;
}

static int validate(const struct hm_fence_metadata *md, const char *json, char *err,
		    size_t errlen)
{
	struct json_object *o = json_tokener_parse(json);
	int rc;

	ck_assert_msg(o != NULL, "test JSON: %s", json);
	rc = hm_fence_metadata_validate(md, o, err, errlen);
	json_object_put(o);
	return rc;
}

/* ------------------------------------------------------------------ */
/* parse: invalid first */

START_TEST(test_parse_invalid)
{
	static const struct {
		const char *xml;
		const char *err;
	} cases[] = {
		{ "Traceback (most recent call last):\n  File \"/usr/sbin/fence_x\"",
		  "not XML: line 1: " },
		{ "<resource-agent name=\"fence_x\"><parameters>", "not XML: line 1: " },
		{ "<?xml version=\"1.0\" ?>\n<resource-agent name=\"fence_x\">\n<parameters>\n"
		  "<parameter name=\"ip\">\n</parameters></resource-agent>", "not XML: line " },
		{ "<resource-agent name=\"x\"></resource-agent><second/>", "not XML: line 1: " },
		{ "<pacemaker-result/>", "not fence agent metadata: the root element is "
		  "'pacemaker-result', not 'resource-agent'" },
		{ "<resource-agent><actions><action name=\"off\"/></actions></resource-agent>",
		  "not fence agent metadata: the resource-agent has no name" },
		{ "<resource-agent name=\"\"><actions><action name=\"off\"/></actions>"
		  "</resource-agent>", "not fence agent metadata: the resource-agent has no name" },
		{ "<resource-agent name=\"fence_x\"><parameters><parameter required=\"1\"/>"
		  "</parameters><actions><action name=\"off\"/></actions></resource-agent>",
		  "line 1: a parameter without a name" },
		{ "<resource-agent name=\"fence_x\"><parameters><parameter name=\"ip\"/>"
		  "<parameter name=\"ip\"/></parameters><actions><action name=\"off\"/></actions>"
		  "</resource-agent>", "parameter 'ip' is listed twice" },
		{ "<resource-agent name=\"fence_x\"><parameters><parameter name=\"ip\"/>"
		  "</parameters></resource-agent>", "not fence agent metadata: no actions" },
	};
	struct hm_fence_metadata *md = (struct hm_fence_metadata *)&cases;
	char err[HM_FENCE_METADATA_ERR_MAX];
	char *big;
	size_t i;

	ck_assert_int_eq(hm_fence_metadata_parse(NULL, 10, &md, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no metadata");
	ck_assert_int_eq(hm_fence_metadata_parse("<x/>", 4, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(hm_fence_metadata_parse("", 0, &md, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "metadata of 0 bytes (1..262144)");
	big = calloc(1, HM_FENCE_METADATA_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', HM_FENCE_METADATA_MAX + 1);
	ck_assert_int_eq(hm_fence_metadata_parse(big, HM_FENCE_METADATA_MAX + 1, &md, err,
						 sizeof(err)), -EINVAL);
	free(big);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_msg(hm_fence_metadata_parse(cases[i].xml, strlen(cases[i].xml), &md, err,
						      sizeof(err)) == -EINVAL, "%zu", i);
		ck_assert_msg(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0,
			      "case %zu: '%s', wanted '%s'", i, err, cases[i].err);
	}
	/* *ret is left alone on an error, and err may be NULL */
	ck_assert_ptr_eq(md, (struct hm_fence_metadata *)&cases);
	ck_assert_int_eq(hm_fence_metadata_parse("<x", 2, &md, NULL, 0), -EINVAL);
	hm_fence_metadata_free(NULL);
}
END_TEST

/* an external entity is never fetched: no network, no file */
START_TEST(test_parse_no_entities)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE resource-agent [<!ENTITY leak SYSTEM \"file:///etc/passwd\">]>\n"
		"<resource-agent name=\"fence_x\"><parameters>"
		"<parameter name=\"ip\"><content type=\"string\" default=\"&leak;\"/></parameter>"
		"</parameters><actions><action name=\"off\"/></actions></resource-agent>";
	struct hm_fence_metadata *md = NULL;
	char err[HM_FENCE_METADATA_ERR_MAX];
	const struct hm_fence_param *p;

	if (hm_fence_metadata_parse(xml, strlen(xml), &md, err, sizeof(err)) != 0)
		return;	/* refusing it is fine too */
	p = hm_fence_metadata_param(md, "ip");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->def == NULL || strstr(p->def, "root:") == NULL);
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_parse_ipmilan)
{
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	const struct hm_fence_param *p;

	ck_assert_str_eq(md->agent, "fence_ipmilan");
	ck_assert_uint_eq(md->n_params, 41);
	ck_assert_uint_eq(md->n_actions, 9);
	ck_assert(hm_fence_metadata_has_action(md, "off"));
	ck_assert(hm_fence_metadata_has_action(md, "status"));
	ck_assert(hm_fence_metadata_has_action(md, "monitor"));
	ck_assert(hm_fence_metadata_has_action(md, "diag"));
	ck_assert(!hm_fence_metadata_has_action(md, "list"));
	ck_assert(!hm_fence_metadata_has_action(md, NULL));
	ck_assert(!hm_fence_metadata_has_action(NULL, "off"));

	p = hm_fence_metadata_param(md, "action");
	ck_assert(p->required);
	ck_assert_str_eq(p->def, "reboot");
	p = hm_fence_metadata_param(md, "ip");
	ck_assert_str_eq(p->name, "ip");
	ck_assert_str_eq(p->obsoletes, "ipaddr");
	ck_assert(!p->required && !p->deprecated);
	ck_assert_int_eq(p->type, HM_FENCE_PARAM_STRING);
	p = hm_fence_metadata_param(md, "ipaddr");
	ck_assert_str_eq(p->name, "ipaddr");
	ck_assert(p->deprecated);
	p = hm_fence_metadata_param(md, "ipport");
	ck_assert_int_eq(p->type, HM_FENCE_PARAM_INTEGER);
	ck_assert_str_eq(p->def, "623");
	p = hm_fence_metadata_param(md, "lanplus");
	ck_assert_int_eq(p->type, HM_FENCE_PARAM_BOOLEAN);
	ck_assert_str_eq(p->def, "0");
	p = hm_fence_metadata_param(md, "power-wait");	/* '-' and '_' alike */
	ck_assert_str_eq(p->name, "power_wait");
	ck_assert_int_eq(p->type, HM_FENCE_PARAM_SECOND);
	ck_assert_str_eq(p->def, "2");
	p = hm_fence_metadata_param(md, "method");
	ck_assert_int_eq(p->type, HM_FENCE_PARAM_SELECT);
	ck_assert_uint_eq(p->n_options, 2);
	ck_assert_str_eq(p->options[0], "onoff");
	ck_assert_str_eq(p->options[1], "cycle");
	p = hm_fence_metadata_param(md, "privlvl");
	ck_assert_uint_eq(p->n_options, 4);
	ck_assert_str_eq(p->options[3], "administrator");
	ck_assert_ptr_null(hm_fence_metadata_param(md, "pasword"));
	ck_assert_ptr_null(hm_fence_metadata_param(md, NULL));
	ck_assert_ptr_null(hm_fence_metadata_param(NULL, "ip"));
	ck_assert_str_eq(hm_fence_param_type_to_str(HM_FENCE_PARAM_SELECT), "select");
	ck_assert_str_eq(hm_fence_param_type_to_str((enum hm_fence_param_type)9), "invalid");
	hm_fence_metadata_free(md);
}
END_TEST

/* an obsoleted name that the metadata does not list means the new one; an
 * unknown content type is text; a missing <content> is text */
START_TEST(test_parse_aliases_and_types)
{
	struct hm_fence_metadata *md = parse_str(
		"<resource-agent name=\"fence_y\"><parameters>"
		"<parameter name=\"username\" required=\"1\" obsoletes=\"login\">"
		"<content type=\"string\"/></parameter>"
		"<parameter name=\"zone\"><content type=\"uuid\"/></parameter>"
		"<parameter name=\"bare\"/>"
		"</parameters><actions><action name=\"off\"/><action name=\"on\"/></actions>"
		"</resource-agent>");
	const struct hm_fence_param *p;

	p = hm_fence_metadata_param(md, "login");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "username");
	ck_assert_int_eq(hm_fence_metadata_param(md, "zone")->type, HM_FENCE_PARAM_STRING);
	ck_assert_int_eq(hm_fence_metadata_param(md, "bare")->type, HM_FENCE_PARAM_STRING);
	ck_assert_ptr_null(hm_fence_metadata_param(md, "bare")->def);
	hm_fence_metadata_free(md);
}
END_TEST

/* the installed agent, when there is one: its live metadata parses */
START_TEST(test_parse_live_agent)
{
	struct hm_fence_metadata *md = NULL;
	char err[HM_FENCE_METADATA_ERR_MAX], *xml;
	size_t len = 0, cap = 1 << 16, n;
	FILE *p;

	if (access("/usr/sbin/fence_ipmilan", X_OK) != 0) {
		fprintf(stderr, "check_fence_metadata: no /usr/sbin/fence_ipmilan: live metadata "
			"not checked (the fixture was)\n");
		return;
	}
	p = popen("/usr/sbin/fence_ipmilan -o metadata 2>/dev/null", "r");
	ck_assert_ptr_nonnull(p);
	xml = malloc(cap);
	ck_assert_ptr_nonnull(xml);
	while ((n = fread(xml + len, 1, cap - len, p)) > 0)
		len += n;
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_eq(hm_fence_metadata_parse(xml, len, &md, err, sizeof(err)), 0);
	ck_assert_str_eq(md->agent, "fence_ipmilan");
	ck_assert(hm_fence_metadata_has_action(md, "off"));
	ck_assert_ptr_nonnull(hm_fence_metadata_param(md, "password"));
	ck_assert_int_eq(validate(md, "{\"ip\": \"127.0.0.1\", \"password\": \"x\", "
				  "\"lanplus\": \"1\", \"cipher\": \"3\"}", err, sizeof(err)), 0);
	hm_fence_metadata_free(md);
	free(xml);
}
END_TEST

/* ------------------------------------------------------------------ */
/* validate: invalid first */

START_TEST(test_validate_bad_arguments)
{
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];
	struct json_object *arr = json_tokener_parse("[]");

	ck_assert_int_eq(hm_fence_metadata_validate(NULL, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no metadata");
	ck_assert_int_eq(hm_fence_metadata_validate(md, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "params: not a JSON object");
	ck_assert_int_eq(hm_fence_metadata_validate(md, arr, NULL, 0), -EINVAL);
	ck_assert_int_eq(validate(md, "{\"ip\": 10}", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'ip': the value is not a string");
	ck_assert_int_eq(validate(md, "{\"password\": \"a\\nip=1\"}", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "param 'password': the value holds a newline, CR or NUL");
	ck_assert_int_eq(validate(md, "{\"ip\": \"1\\r\"}", err, sizeof(err)), -EINVAL);
	json_object_put(arr);
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_unknown)
{
	static const struct {
		const char *json;
		const char *err;
	} cases[] = {
		{ "{\"pasword\": \"x\"}",
		  "fence_ipmilan has no parameter 'pasword' (did you mean 'password'?)" },
		{ "{\"usernme\": \"x\"}",
		  "fence_ipmilan has no parameter 'usernme' (did you mean 'username'?)" },
		{ "{\"lan_plus\": \"1\"}",
		  "fence_ipmilan has no parameter 'lan_plus' (did you mean 'lanplus'?)" },
		{ "{\"power_timout\": \"5\"}",
		  "fence_ipmilan has no parameter 'power_timout' (did you mean 'power_timeout'?)" },
		{ "{\"ipmitool\": \"/bin/true\"}",
		  "fence_ipmilan has no parameter 'ipmitool' (did you mean 'ipmitool_path'?)" },
		{ "{\"frobnicate\": \"1\"}",
		  "fence_ipmilan has no parameter 'frobnicate' (`fence_ipmilan -o metadata` "
		  "lists them)" },
		{ "{\"Password\": \"x\"}",
		  "fence_ipmilan has no parameter 'Password' (did you mean 'password'?)" },
	};
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_int_eq(validate(md, cases[i].json, err, sizeof(err)), -ENOENT);
		ck_assert_str_eq(err, cases[i].err);
	}
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_forbidden)
{
	static const struct {
		const char *json;
		const char *err;
	} cases[] = {
		{ "{\"action\": \"reboot\"}",
		  "fence_ipmilan: parameter 'action' is not allowed: hamon sets the action itself" },
		{ "{\"option\": \"off\"}", "fence_ipmilan: parameter 'option' is not allowed" },
		{ "{\"nodename\": \"node2\"}",
		  "fence_ipmilan: parameter 'nodename' is not allowed: hamon sets it to the host's "
		  "name itself" },
		{ "{\"version\": \"0\"}",
		  "fence_ipmilan: parameter 'version' is not allowed: the agent would print its "
		  "version and exit 0 without fencing" },
		{ "{\"help\": \"1\"}", "fence_ipmilan: parameter 'help' is not allowed" },
		{ "{\"ACTION\": \"off\"}", "fence_ipmilan: parameter 'ACTION' is not allowed" },
	};
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_int_eq(validate(md, cases[i].json, err, sizeof(err)), -EPERM);
		ck_assert_msg(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0, "'%s'", err);
	}
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_types)
{
	static const struct {
		const char *json;
		const char *err;
	} cases[] = {
		{ "{\"ipport\": \"abc\"}",
		  "fence_ipmilan: parameter 'ipport': 'abc' is not an integer" },
		{ "{\"ipport\": \"\"}", "fence_ipmilan: parameter 'ipport': '' is not an integer" },
		{ "{\"ipport\": \"62 3\"}", "is not an integer" },
		{ "{\"ipport\": \"0x26f\"}", "is not an integer" },
		{ "{\"power_wait\": \"1.5\"}",
		  "fence_ipmilan: parameter 'power_wait': '1.5' is not a whole number of seconds" },
		{ "{\"delay\": \"5s\"}", "is not a whole number of seconds" },
		{ "{\"lanplus\": \"maybe\"}",
		  "fence_ipmilan: parameter 'lanplus': 'maybe' is not a boolean (1, 0, yes, no, on, "
		  "off, true, false)" },
		{ "{\"lanplus\": \"\"}", "is not a boolean" },
		{ "{\"method\": \"cycle2\"}",
		  "fence_ipmilan: parameter 'method': 'cycle2' is not one of onoff, cycle" },
		{ "{\"privlvl\": \"root\"}",
		  "fence_ipmilan: parameter 'privlvl': 'root' is not one of callback, user, "
		  "operator, administrator" },
	};
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_int_eq(validate(md, cases[i].json, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, cases[i].err) != NULL, "'%s', wanted '%s'", err,
			      cases[i].err);
	}
	hm_fence_metadata_free(md);
}
END_TEST

/* a secret of the wrong type: the message never shows the value */
START_TEST(test_validate_secret_value_not_shown)
{
	struct hm_fence_metadata *md = parse_str(
		"<resource-agent name=\"fence_snmpish\"><parameters>"
		"<parameter name=\"community\"><content type=\"integer\"/></parameter>"
		"<parameter name=\"snmp_priv_passwd\"><content type=\"select\">"
		"<option value=\"a\"/><option value=\"b\"/></content></parameter>"
		"</parameters><actions><action name=\"off\"/></actions></resource-agent>");
	char err[HM_FENCE_METADATA_ERR_MAX];

	ck_assert_int_eq(validate(md, "{\"community\": \"publ1c\"}", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "fence_snmpish: parameter 'community': its value is not an integer");
	ck_assert_int_eq(validate(md, "{\"snmp_priv_passwd\": \"s3cr3t\"}", err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
	ck_assert_ptr_nonnull(strstr(err, "its value is not one of a, b"));
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_same_parameter_twice)
{
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];

	ck_assert_int_eq(validate(md, "{\"ip\": \"1\", \"ipaddr\": \"2\"}", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "fence_ipmilan: 'ip' and 'ipaddr' are the same parameter (ip): "
			 "give it once");
	ck_assert_int_eq(validate(md, "{\"power_wait\": \"1\", \"power-wait\": \"2\"}", err,
				  sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "are the same parameter (power_wait)"));
	ck_assert_int_eq(validate(md, "{\"password\": \"a\", \"passwd\": \"b\"}", err,
				  sizeof(err)), -EINVAL);
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_required)
{
	struct hm_fence_metadata *md = load("fence_apc.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];

	ck_assert_int_eq(validate(md, "{}", err, sizeof(err)), -EINVAL);
	/* the deprecated names (ipaddr, login, port) and action are not asked */
	ck_assert_str_eq(err, "fence_apc: missing required parameter 'ip', 'plug', 'username'");
	ck_assert_int_eq(validate(md, "{\"ip\": \"10.0.0.9\", \"username\": \"apc\"}", err,
				  sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "fence_apc: missing required parameter 'plug'");
	/* the old names count for the new ones */
	ck_assert_int_eq(validate(md, "{\"ipaddr\": \"10.0.0.9\", \"login\": \"apc\", "
				  "\"port\": \"3\", \"passwd\": \"x\"}", err, sizeof(err)), 0);
	ck_assert_int_eq(validate(md, "{\"ip\": \"10.0.0.9\", \"username\": \"apc\", "
				  "\"plug\": \"3\", \"password\": \"x\", \"ssh\": \"1\"}", err,
				  sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_good)
{
	struct hm_fence_metadata *md = load("fence_ipmilan.metadata.xml");
	char err[HM_FENCE_METADATA_ERR_MAX];

	ck_assert_int_eq(validate(md, "{}", err, sizeof(err)), 0);
	ck_assert_int_eq(validate(md, "{\"ip\": \"127.0.0.1\", \"ipport\": \"16231\", "
				  "\"username\": \"admin\", \"password\": \"secret\", "
				  "\"lanplus\": \"1\", \"cipher\": \"3\", \"power-wait\": \"0\", "
				  "\"privlvl\": \"ADMINISTRATOR\", \"method\": \"onoff\", "
				  "\"delay\": \"5\", \"use_sudo\": \"no\", "
				  "\"login\": \"admin2\"}", err, sizeof(err)), -EINVAL);
	/* (username and login are one parameter); without login: */
	ck_assert_int_eq(validate(md, "{\"ip\": \"127.0.0.1\", \"ipport\": \"16231\", "
				  "\"username\": \"admin\", \"password\": \"secret\", "
				  "\"lanplus\": \"1\", \"cipher\": \"3\", \"power-wait\": \"0\", "
				  "\"privlvl\": \"ADMINISTRATOR\", \"method\": \"onoff\", "
				  "\"delay\": \"5\", \"use_sudo\": \"no\", \"password_script\": "
				  "\"/etc/hamon/bmc-pw\"}", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	hm_fence_metadata_free(md);
}
END_TEST

START_TEST(test_validate_no_off)
{
	struct hm_fence_metadata *md = parse_str(
		"<resource-agent name=\"fence_onlyreboot\"><parameters/><actions>"
		"<action name=\"reboot\"/><action name=\"status\"/></actions></resource-agent>");
	char err[HM_FENCE_METADATA_ERR_MAX];

	ck_assert_int_eq(validate(md, "{}", err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "fence_onlyreboot has no 'off' action: hamon fences with off only");
	hm_fence_metadata_free(md);
}
END_TEST

static Suite *fence_metadata_suite(void)
{
	Suite *s = suite_create("fence_metadata");

	add_tcase(s, test_parse_invalid);
	add_tcase(s, test_parse_no_entities);
	add_tcase(s, test_parse_ipmilan);
	add_tcase(s, test_parse_aliases_and_types);
	add_tcase(s, test_parse_live_agent);
	add_tcase(s, test_validate_bad_arguments);
	add_tcase(s, test_validate_unknown);
	add_tcase(s, test_validate_forbidden);
	add_tcase(s, test_validate_types);
	add_tcase(s, test_validate_secret_value_not_shown);
	add_tcase(s, test_validate_same_parameter_twice);
	add_tcase(s, test_validate_required);
	add_tcase(s, test_validate_good);
	add_tcase(s, test_validate_no_off);
	return s;
}

int main(void)
{
	return hm_check_run(fence_metadata_suite());
}
