/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fence device's params: secrets, redaction, stdin lines (params.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* compared with the name lower-cased and '-' turned into '_' */
static const char *const secret_words[] = {
	"password", "passwd", "secret", "community", "token", "apikey", "api_key", "access_key",
};

bool hm_fence_param_is_secret(const char *name)
{
	char norm[HM_FENCE_PARAM_NAME_MAX + 1];
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; name[i] && i < HM_FENCE_PARAM_NAME_MAX; i++)
		norm[i] = name[i] == '-' ? '_' : (char)tolower((unsigned char)name[i]);
	norm[i] = '\0';
	for (i = 0; i < ARRAY_SIZE(secret_words); i++)
		if (strstr(norm, secret_words[i]) != NULL)
			return true;
	return false;
}

static bool name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= HM_FENCE_PARAM_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

int hm_fence_params_check(const struct json_object *params, char *err, size_t errlen)
{
	struct json_object *obj = (struct json_object *)params;
	char scratch[8];
	size_t n = 0;

	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "params: not a JSON object");
		return -EINVAL;
	}
	json_object_object_foreach(obj, key, val) {
		const char *s;
		size_t len;

		if (++n > HM_FENCE_PARAMS_MAX) {
			snprintf(err, errlen, "params: more than %d", HM_FENCE_PARAMS_MAX);
			return -EINVAL;
		}
		if (!name_valid(key)) {
			snprintf(err, errlen, "param '%.*s%s': a name is 1..%d characters of "
				 "A-Z a-z 0-9 _ -", HM_FENCE_PARAM_NAME_MAX, key,
				 strlen(key) > HM_FENCE_PARAM_NAME_MAX ? "..." : "",
				 HM_FENCE_PARAM_NAME_MAX);
			return -EINVAL;
		}
		if (!json_object_is_type(val, json_type_string)) {
			snprintf(err, errlen, "param '%s': the value is not a string", key);
			return -EINVAL;
		}
		s = json_object_get_string(val);
		len = (size_t)json_object_get_string_len(val);
		if (len > HM_FENCE_PARAM_VALUE_MAX) {
			snprintf(err, errlen, "param '%s': the value is longer than %d bytes", key,
				 HM_FENCE_PARAM_VALUE_MAX);
			return -EINVAL;
		}
		/* one line on the agent's stdin: a newline would let a value
		 * inject another param (or action=reboot) */
		if (strlen(s) != len || strpbrk(s, "\r\n") != NULL) {
			snprintf(err, errlen, "param '%s': the value holds a newline, CR or NUL", key);
			return -EINVAL;
		}
	}
	return 0;
}

int hm_fence_params_parse(const char *params_json, struct json_object **ret, char *err,
			  size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t len;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (params_json == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "params: none");
		return -EINVAL;
	}
	len = strlen(params_json);
	tok = json_tokener_new();
	if (tok == NULL)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, params_json, (int)len);
	if (obj == NULL || json_tokener_get_parse_end(tok) != len) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "params: not valid JSON (%s)",
				 obj == NULL ? json_tokener_error_desc(json_tokener_get_error(tok))
					     : "trailing text");
		json_object_put(obj);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	rc = hm_fence_params_check(obj, err, errlen);
	if (rc < 0 || ret == NULL)
		json_object_put(obj);
	else
		*ret = obj;
	return rc;
}

int hm_fence_params_redact(const struct json_object *params, struct json_object **ret)
{
	struct json_object *obj = (struct json_object *)params, *copy, *v;

	if (ret == NULL || obj == NULL || !json_object_is_type(obj, json_type_object))
		return -EINVAL;
	copy = json_object_new_object();
	if (copy == NULL)
		return -ENOMEM;
	json_object_object_foreach(obj, key, val) {
		v = NULL;
		if (hm_fence_param_is_secret(key))
			v = json_object_new_string(HM_FENCE_SECRET_MASK);
		else if (val != NULL && json_object_deep_copy(val, &v, NULL) < 0)
			v = NULL;
		if ((v == NULL && (val != NULL || hm_fence_param_is_secret(key))) ||
		    json_object_object_add(copy, key, v) < 0) {
			json_object_put(v);
			json_object_put(copy);
			return -ENOMEM;
		}
	}
	*ret = copy;
	return 0;
}

int hm_fence_params_redact_json(const char *params_json, char **ret)
{
	struct json_object *obj, *copy = NULL;
	int rc;

	if (ret == NULL || params_json == NULL)
		return -EINVAL;
	obj = json_tokener_parse(params_json);
	rc = hm_fence_params_redact(obj, &copy);
	json_object_put(obj);
	if (rc < 0)
		return rc;
	*ret = strdup(json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN));
	json_object_put(copy);
	return *ret ? 0 : -ENOMEM;
}

/* replace every occurrence of secret (len > 0) in text; where the mask
 * would not fit, the secret's own bytes become '*' */
static void mask_value(char *text, size_t size, const char *secret, size_t len)
{
	const size_t mlen = strlen(HM_FENCE_SECRET_MASK);
	char *p = text, *hit;
	size_t tlen;

	while ((hit = strstr(p, secret)) != NULL) {
		tlen = strlen(text);
		if (tlen - len + mlen < size) {
			memmove(hit + mlen, hit + len, tlen - (size_t)(hit - text) - len + 1);
			memcpy(hit, HM_FENCE_SECRET_MASK, mlen);
			p = hit + mlen;
		} else {
			memset(hit, '*', len);
			p = hit + len;
		}
	}
}

void hm_fence_redact_text(char *text, size_t size, const struct json_object *params)
{
	struct json_object *obj = (struct json_object *)params;

	if (text == NULL || size == 0 || obj == NULL || !json_object_is_type(obj, json_type_object))
		return;
	text[size - 1] = '\0';
	json_object_object_foreach(obj, key, val) {
		const char *s;

		if (!hm_fence_param_is_secret(key) || !json_object_is_type(val, json_type_string))
			continue;
		s = json_object_get_string(val);
		if (s[0] != '\0')
			mask_value(text, size, s, strlen(s));
	}
}

void hm_fence_params_lines_free(char **lines, size_t n)
{
	size_t i;

	if (lines == NULL)
		return;
	for (i = 0; i < n; i++)
		if (lines[i] != NULL) {
			explicit_bzero(lines[i], strlen(lines[i]));
			free(lines[i]);
		}
	free(lines);
}

int hm_fence_params_lines(const struct json_object *params, char ***ret_lines, size_t *ret_n)
{
	struct json_object *obj = (struct json_object *)params;
	char **lines;
	size_t n = 0, cap;
	int rc;

	if (ret_lines == NULL || ret_n == NULL || hm_fence_params_check(params, NULL, 0) < 0)
		return -EINVAL;
	cap = (size_t)json_object_object_length(obj);
	lines = calloc(cap ? cap : 1, sizeof(*lines));
	if (lines == NULL)
		return -ENOMEM;
	json_object_object_foreach(obj, key, val) {
		rc = asprintf(&lines[n], "%s=%s", key, json_object_get_string(val));
		if (rc < 0) {
			lines[n] = NULL;
			hm_fence_params_lines_free(lines, n);
			return -ENOMEM;
		}
		n++;
	}
	*ret_lines = lines;
	*ret_n = n;
	return 0;
}
