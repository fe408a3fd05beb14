/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fence device's params: the JSON object of string values that the store
 * keeps (struct hm_fence_device.params), which of them are secrets, the
 * redacted copy that every view, log and history event shows, and the
 * "key=value" lines that go to the agent's stdin and nowhere else.
 *
 * Pure: no I/O, no libxml2 (hamonctl, the simulator and ops may link it).
 * doc/fencing.md, "Secrets".
 */
#ifndef HM_FENCE_PARAMS_H
#define HM_FENCE_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* what a secret value looks like in every view */
#define HM_FENCE_SECRET_MASK "********"
#define HM_FENCE_PARAM_NAME_MAX 64	/* bytes of a param name */
#define HM_FENCE_PARAM_VALUE_MAX 4096	/* bytes of a param value */
#define HM_FENCE_PARAMS_MAX 64		/* params of one device */

/*
 * Is a param with this name a secret?  By name, case-insensitively, '-'
 * and '_' alike: every name that contains "password", "passwd", "secret",
 * "community", "token", "apikey", "api_key" or "access_key"
 * (password, passwd, snmp_priv_passwd, password_script, secret_key, ...).
 * A path to a secret (password_script, token_file) is redacted too: a view
 * loses nothing it needs.
 */
bool hm_fence_param_is_secret(const char *name);

/*
 * The params object as the store keeps it: a JSON object, at most
 * HM_FENCE_PARAMS_MAX members, every name 1..HM_FENCE_PARAM_NAME_MAX bytes
 * of [A-Za-z0-9_-], every value a string of at most HM_FENCE_PARAM_VALUE_MAX
 * bytes without NUL, CR or LF.  0, or -EINVAL with err naming the culprit
 * (never its value: it may be a password).  err may be NULL.
 */
int hm_fence_params_check(const struct json_object *params, char *err, size_t errlen);
/* the same, from the JSON text; *ret (may be NULL) gets the parsed object */
int hm_fence_params_parse(const char *params_json, struct json_object **ret, char *err,
			  size_t errlen);

/*
 * A redacted copy: every secret's value replaced by HM_FENCE_SECRET_MASK,
 * everything else as it was.  Any object is accepted (a bad one is
 * redacted as well as can be: a non-string secret is masked too).
 * 0, -EINVAL (not an object), -ENOMEM.
 */
int hm_fence_params_redact(const struct json_object *params, struct json_object **ret);
/* the same on JSON text; *ret is a malloc'd JSON text.  Text that does not
 * parse as an object gives -EINVAL: show nothing rather than a secret. */
int hm_fence_params_redact_json(const char *params_json, char **ret);

/*
 * Replace, in place, every occurrence in text of the value of a secret
 * param of params by HM_FENCE_SECRET_MASK (cut to fit the buffer: text is
 * NUL-terminated, size bytes).  For what an agent says: an agent that
 * echoes its password in an error line must not put it in a record.
 */
void hm_fence_redact_text(char *text, size_t size, const struct json_object *params);

/*
 * The agent's stdin lines, "name=value", in the object's order, for
 * struct hm_fence_request.params.  params must pass hm_fence_params_check.
 * The lines hold secrets: free them with hm_fence_params_lines_free(),
 * which wipes them.  0, -EINVAL, -ENOMEM.
 */
int hm_fence_params_lines(const struct json_object *params, char ***ret_lines, size_t *ret_n);
void hm_fence_params_lines_free(char **lines, size_t n);

#endif
