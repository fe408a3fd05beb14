/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fence agent's own description of itself (`fence_X -o metadata`, or
 * action=metadata on stdin) and the validation of a device's params against
 * it, so that an unknown or missing parameter is refused when the device is
 * added, not discovered when a host must be fenced.
 *
 * Pure: parsing (libxml2, from memory, no network, no entities) and
 * checking; running the agent is the caller's (hm_fencer_metadata_start()).
 * The metadata shape is fence-agents' (fencing.py metadata(), verified on
 * 4.12.1): <resource-agent name=..><parameters><parameter name required
 * deprecated obsoletes><content type default><option value/>..</content>
 * </parameter>..</parameters><actions><action name/>..</actions>.
 * doc/fencing.md, "Devices and levels".
 */
#ifndef HM_FENCE_METADATA_H
#define HM_FENCE_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define HM_FENCE_METADATA_MAX (256u * 1024u)	/* bytes of XML */
#define HM_FENCE_METADATA_PARAMS_MAX 512
#define HM_FENCE_METADATA_ERR_MAX 512

enum hm_fence_param_type {
	HM_FENCE_PARAM_STRING = 0,	/* also any type this code does not know */
	HM_FENCE_PARAM_INTEGER,		/* [-]digits */
	HM_FENCE_PARAM_SECOND,		/* [-]digits, seconds (fencing.py int()s it) */
	HM_FENCE_PARAM_BOOLEAN,		/* 1 0 yes no on off true false */
	HM_FENCE_PARAM_SELECT,		/* one of options, any case */
};

struct hm_fence_param {
	char *name;
	enum hm_fence_param_type type;
	bool required;
	bool deprecated;
	char *obsoletes;	/* the old name this one replaces ("ipaddr" for "ip"), or NULL */
	char *def;		/* the default, or NULL */
	char **options;		/* SELECT: the allowed values */
	size_t n_options;
};

struct hm_fence_metadata {
	char *agent;		/* <resource-agent name=...> */
	struct hm_fence_param *params;
	size_t n_params;
	char **actions;		/* <action name=...>, in order */
	size_t n_actions;
};

/*
 * Parse metadata XML (len bytes, at most HM_FENCE_METADATA_MAX).  0 and
 * *ret, to free with hm_fence_metadata_free(); -EINVAL with err saying what
 * is wrong (not XML, not a resource-agent, a parameter without a name or
 * listed twice, ...); -ENOMEM.  err may be NULL.
 */
int hm_fence_metadata_parse(const char *xml, size_t len, struct hm_fence_metadata **ret,
			    char *err, size_t errlen);
/* NULL and half-built ones are fine */
void hm_fence_metadata_free(struct hm_fence_metadata *md);

/*
 * The parameter a name means, the way fencing.py reads stdin: '-' and '_'
 * alike, and an obsoleted name ("ipaddr", "login", "passwd", "port") means
 * the parameter that obsoletes it.  NULL if none.
 */
const struct hm_fence_param *hm_fence_metadata_param(const struct hm_fence_metadata *md,
						     const char *name);
bool hm_fence_metadata_has_action(const struct hm_fence_metadata *md, const char *action);

/*
 * May a device of this agent have these params?  params: a JSON object of
 * string values (hm_fence_params_check()).  0, or:
 *  -ENOENT  a parameter the agent does not have (err names it and the
 *           closest name the agent has);
 *  -EPERM   a parameter hamon sets itself (action, option, nodename) or
 *           one that makes the agent exit 0 without fencing (help,
 *           version);
 *  -EINVAL  a required parameter missing (err names every one), a value
 *           of the wrong type (err names the parameter, the type and, for
 *           a select, the choices; never the value of a secret), the same
 *           parameter given under two names, or a malformed object;
 *  -ENOTSUP the agent has no "off" action (hamon fences with off only).
 * err may be NULL.
 */
int hm_fence_metadata_validate(const struct hm_fence_metadata *md,
			       const struct json_object *params, char *err, size_t errlen);

/* "string", "integer", "second", "boolean", "select"; "invalid" */
const char *hm_fence_param_type_to_str(enum hm_fence_param_type t);

#endif
