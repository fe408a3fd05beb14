/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fence agent metadata: parse, look up, validate a device's params
 * (metadata.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "metadata.h"
#include "params.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ACTIONS_MAX 64
#define OPTIONS_MAX 256

static const char *const type_names[] = { "string", "integer", "second", "boolean", "select" };

const char *hm_fence_param_type_to_str(enum hm_fence_param_type t)
{
	return (unsigned int)t < ARRAY_SIZE(type_names) ? type_names[t] : "invalid";
}

static void __attribute__((format(printf, 3, 4)))
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* parse */

static void param_clear(struct hm_fence_param *p)
{
	size_t i;

	free(p->name);
	free(p->obsoletes);
	free(p->def);
	for (i = 0; i < p->n_options; i++)
		free(p->options[i]);
	free(p->options);
}

void hm_fence_metadata_free(struct hm_fence_metadata *md)
{
	size_t i;

	if (md == NULL)
		return;
	for (i = 0; i < md->n_params; i++)
		param_clear(&md->params[i]);
	free(md->params);
	for (i = 0; i < md->n_actions; i++)
		free(md->actions[i]);
	free(md->actions);
	free(md->agent);
	free(md);
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *)name);
}

static const xmlNode *child_element(const xmlNode *parent, const char *name)
{
	const xmlNode *n;

	for (n = parent->children; n != NULL; n = n->next)
		if (is_element(n, name))
			return n;
	return NULL;
}

/* the attribute, malloc'd (NULL if absent); *oom on a failed copy */
static char *attr(const xmlNode *n, const char *name, bool *oom)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *s;

	if (v == NULL)
		return NULL;
	s = strdup((const char *)v);
	xmlFree(v);
	if (s == NULL)
		*oom = true;
	return s;
}

static bool attr_is_one(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	bool one = v != NULL && (xmlStrEqual(v, (const xmlChar *)"1") ||
				 xmlStrEqual(v, (const xmlChar *)"true"));

	xmlFree(v);
	return one;
}

static enum hm_fence_param_type type_of(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < ARRAY_SIZE(type_names); i++)
		if (strcmp(s, type_names[i]) == 0)
			return (enum hm_fence_param_type)i;
	return HM_FENCE_PARAM_STRING;	/* unknown types are taken as text */
}

static int parse_content(const xmlNode *content, struct hm_fence_param *p, char *err,
			 size_t errlen)
{
	const xmlNode *o;
	bool oom = false;
	char *type;

	type = attr(content, "type", &oom);
	p->type = type_of(type);
	free(type);
	p->def = attr(content, "default", &oom);
	if (oom)
		return -ENOMEM;
	if (p->type != HM_FENCE_PARAM_SELECT)
		return 0;
	for (o = content->children; o != NULL; o = o->next) {
		char *v;

		if (!is_element(o, "option"))
			continue;
		v = attr(o, "value", &oom);
		if (oom)
			return -ENOMEM;
		if (v == NULL)
			continue;
		if (p->n_options >= OPTIONS_MAX) {
			free(v);
			say(err, errlen, "parameter '%s': more than %d options", p->name,
			    OPTIONS_MAX);
			return -EINVAL;
		}
		if (p->options == NULL) {
			p->options = calloc(OPTIONS_MAX, sizeof(*p->options));
			if (p->options == NULL) {
				free(v);
				return -ENOMEM;
			}
		}
		p->options[p->n_options++] = v;
	}
	return 0;
}

static int parse_parameters(const xmlNode *parameters, struct hm_fence_metadata *md, char *err,
			    size_t errlen)
{
	const xmlNode *n, *content;
	struct hm_fence_param *p;
	bool oom = false;
	size_t i;
	int rc;

	for (n = parameters->children; n != NULL; n = n->next) {
		if (!is_element(n, "parameter"))
			continue;
		if (md->n_params >= HM_FENCE_METADATA_PARAMS_MAX) {
			say(err, errlen, "more than %d parameters", HM_FENCE_METADATA_PARAMS_MAX);
			return -EINVAL;
		}
		p = &md->params[md->n_params];
		p->name = attr(n, "name", &oom);
		if (oom)
			return -ENOMEM;
		if (p->name == NULL || p->name[0] == '\0') {
			say(err, errlen, "line %ld: a parameter without a name", xmlGetLineNo(n));
			free(p->name);
			p->name = NULL;
			return -EINVAL;
		}
		md->n_params++;
		for (i = 0; i + 1 < md->n_params; i++)
			if (strcmp(md->params[i].name, p->name) == 0) {
				say(err, errlen, "parameter '%s' is listed twice", p->name);
				return -EINVAL;
			}
		p->required = attr_is_one(n, "required");
		p->deprecated = attr_is_one(n, "deprecated");
		p->obsoletes = attr(n, "obsoletes", &oom);
		if (oom)
			return -ENOMEM;
		content = child_element(n, "content");
		if (content != NULL) {
			rc = parse_content(content, p, err, errlen);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int parse_actions(const xmlNode *actions, struct hm_fence_metadata *md)
{
	const xmlNode *n;
	bool oom = false;
	char *name;

	for (n = actions->children; n != NULL; n = n->next) {
		if (!is_element(n, "action"))
			continue;
		name = attr(n, "name", &oom);
		if (oom)
			return -ENOMEM;
		if (name == NULL)
			continue;
		if (md->n_actions >= ACTIONS_MAX) {
			free(name);
			continue;	/* more than any agent has: ignore the rest */
		}
		md->actions[md->n_actions++] = name;
	}
	return 0;
}

static void xml_error(xmlParserCtxtPtr ctxt, char *err, size_t errlen)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	char msg[200] = "unknown error";
	size_t n;

	if (e != NULL && e->message != NULL) {
		snprintf(msg, sizeof(msg), "%s", e->message);
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
	}
	say(err, errlen, "not XML: line %d: %s", e != NULL ? e->line : 0, msg);
}

int hm_fence_metadata_parse(const char *xml, size_t len, struct hm_fence_metadata **ret,
			    char *err, size_t errlen)
{
	struct hm_fence_metadata *md = NULL;
	xmlParserCtxtPtr ctxt;
	const xmlNode *root, *n;
	xmlDocPtr doc = NULL;
	bool oom = false;
	int rc = -EINVAL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (xml == NULL || ret == NULL) {
		say(err, errlen, "no metadata");
		return -EINVAL;
	}
	if (len == 0 || len > HM_FENCE_METADATA_MAX) {
		say(err, errlen, "metadata of %zu bytes (1..%u)", len, HM_FENCE_METADATA_MAX);
		return -EINVAL;
	}
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return -ENOMEM;
	/* no network, no entity substitution, no messages on stderr */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "metadata.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		xml_error(ctxt, err, errlen);
		goto free_ctxt;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is_element(root, "resource-agent")) {
		say(err, errlen, "not fence agent metadata: the root element is '%.40s', not "
		    "'resource-agent'", root != NULL ? (const char *)root->name : "");
		goto free_doc;
	}
	md = calloc(1, sizeof(*md));
	if (md == NULL)
		goto oom;
	md->params = calloc(HM_FENCE_METADATA_PARAMS_MAX, sizeof(*md->params));
	md->actions = calloc(ACTIONS_MAX, sizeof(*md->actions));
	md->agent = attr(root, "name", &oom);
	if (md->params == NULL || md->actions == NULL || oom)
		goto oom;
	if (md->agent == NULL || md->agent[0] == '\0') {
		say(err, errlen, "not fence agent metadata: the resource-agent has no name");
		goto free_md;
	}
	for (n = root->children; n != NULL; n = n->next) {
		if (is_element(n, "parameters"))
			rc = parse_parameters(n, md, err, errlen);
		else if (is_element(n, "actions"))
			rc = parse_actions(n, md);
		else
			continue;
		if (rc < 0)
			goto free_md;
	}
	if (md->n_actions == 0) {
		say(err, errlen, "not fence agent metadata: no actions");
		rc = -EINVAL;
		goto free_md;
	}
	*ret = md;
	md = NULL;
	rc = 0;
	goto free_doc;

oom:
	rc = -ENOMEM;
free_md:
	hm_fence_metadata_free(md);
free_doc:
	xmlFreeDoc(doc);
free_ctxt:
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* ------------------------------------------------------------------ */
/* lookup */

/* equal with '-' and '_' alike */
static bool same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return false;
	return *a == *b;
}

const struct hm_fence_param *hm_fence_metadata_param(const struct hm_fence_metadata *md,
						     const char *name)
{
	size_t i;

	if (md == NULL || name == NULL)
		return NULL;
	for (i = 0; i < md->n_params; i++)
		if (same_name(md->params[i].name, name))
			return &md->params[i];
	for (i = 0; i < md->n_params; i++)
		if (md->params[i].obsoletes != NULL && same_name(md->params[i].obsoletes, name))
			return &md->params[i];
	return NULL;
}

bool hm_fence_metadata_has_action(const struct hm_fence_metadata *md, const char *action)
{
	size_t i;

	for (i = 0; md != NULL && action != NULL && i < md->n_actions; i++)
		if (strcmp(md->actions[i], action) == 0)
			return true;
	return false;
}

/* the parameter that replaces p (its obsoletes is p's name), or p */
static const struct hm_fence_param *canonical(const struct hm_fence_metadata *md,
					      const struct hm_fence_param *p)
{
	size_t i;

	for (i = 0; i < md->n_params; i++)
		if (md->params[i].obsoletes != NULL && same_name(md->params[i].obsoletes, p->name))
			return &md->params[i];
	return p;
}

/* ------------------------------------------------------------------ */
/* validate */

/* set by hamon itself, or fatal to a fence: "version" and "help" make
 * fencing.py print and exit 0 before it does anything, whatever the value
 * (a flag is tested by presence), and exit 0 of off would be taken as
 * proof that the host is off */
static const struct {
	const char *name;
	const char *why;
} forbidden[] = {
	{ "action", "hamon sets the action itself" },
	{ "option", "it is another name of action, which hamon sets itself" },
	{ "nodename", "hamon sets it to the host's name itself" },
	{ "help", "the agent would print its help and exit 0 without fencing" },
	{ "version", "the agent would print its version and exit 0 without fencing" },
};

static const char *forbidden_why(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(forbidden); i++)
		if (same_name(forbidden[i].name, name) || strcasecmp(forbidden[i].name, name) == 0)
			return forbidden[i].why;
	return NULL;
}

/* Levenshtein distance, '-' and '_' alike; names are short */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp, cost;
	size_t row[HM_FENCE_PARAM_NAME_MAX + 1];

	if (la > HM_FENCE_PARAM_NAME_MAX || lb > HM_FENCE_PARAM_NAME_MAX)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			cost = a[i - 1] == b[j - 1] ||
			       ((a[i - 1] == '-' || a[i - 1] == '_') && (b[j - 1] == '-' || b[j - 1] == '_'))
				       ? 0 : 1;
			row[j] = prev + cost;
			if (row[j] > row[j - 1] + 1)
				row[j] = row[j - 1] + 1;
			if (row[j] > tmp + 1)
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/* the agent's name closest to an unknown one: the smallest distance, at
 * most a third of the longer name (and at least 2), or a name that
 * contains it; deprecated and forbidden names are never suggested */
static const char *closest(const struct hm_fence_metadata *md, const char *name)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, d, i, len, limit;

	for (i = 0; i < md->n_params; i++) {
		const struct hm_fence_param *p = &md->params[i];

		if (p->deprecated || forbidden_why(p->name) != NULL)
			continue;
		d = distance(name, p->name);
		len = strlen(name) > strlen(p->name) ? strlen(name) : strlen(p->name);
		limit = len / 3 > 2 ? len / 3 : 2;
		if (d > limit && !(strlen(name) >= 4 && strstr(p->name, name) != NULL))
			continue;
		if (d < best_d) {
			best = p->name;
			best_d = d;
		}
	}
	return best;
}

static bool is_integer(const char *v)
{
	const char *p = v + (*v == '-');
	size_t n = strlen(p);

	return n > 0 && n <= 18 && strspn(p, "0123456789") == n;
}

static const char *const bool_words[] = { "1", "0", "yes", "no", "on", "off", "true", "false" };

static bool is_boolean(const char *v)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bool_words); i++)
		if (strcasecmp(v, bool_words[i]) == 0)
			return true;
	return false;
}

/* fencing.py compares choices upper-cased */
static bool is_option(const struct hm_fence_param *p, const char *v)
{
	size_t i;

	for (i = 0; i < p->n_options; i++)
		if (strcasecmp(v, p->options[i]) == 0)
			return true;
	return false;
}

static int bad_value(const struct hm_fence_metadata *md, const char *key,
		     const struct hm_fence_param *p, const char *v, char *err, size_t errlen)
{
	char shown[48];
	size_t n, i;

	if (hm_fence_param_is_secret(key))
		snprintf(shown, sizeof(shown), "its value");
	else
		snprintf(shown, sizeof(shown), "'%.32s%s'", v, strlen(v) > 32 ? "..." : "");
	switch (p->type) {
	case HM_FENCE_PARAM_INTEGER:
	case HM_FENCE_PARAM_SECOND:
		say(err, errlen, "%s: parameter '%s': %s is not %s", md->agent, key, shown,
		    p->type == HM_FENCE_PARAM_SECOND ? "a whole number of seconds" : "an integer");
		break;
	case HM_FENCE_PARAM_BOOLEAN:
		say(err, errlen, "%s: parameter '%s': %s is not a boolean "
		    "(1, 0, yes, no, on, off, true, false)", md->agent, key, shown);
		break;
	case HM_FENCE_PARAM_SELECT:
		say(err, errlen, "%s: parameter '%s': %s is not one of ", md->agent, key, shown);
		n = err != NULL ? strlen(err) : 0;
		for (i = 0; err != NULL && i < p->n_options && n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? ", " : "",
					      p->options[i]);
		break;
	default:
		break;
	}
	return -EINVAL;
}

static int check_value(const struct hm_fence_metadata *md, const char *key,
		       const struct hm_fence_param *p, const char *v, char *err, size_t errlen)
{
	bool ok = true;

	switch (p->type) {
	case HM_FENCE_PARAM_INTEGER:
	case HM_FENCE_PARAM_SECOND:
		ok = is_integer(v);
		break;
	case HM_FENCE_PARAM_BOOLEAN:
		ok = is_boolean(v);
		break;
	case HM_FENCE_PARAM_SELECT:
		/* a select without options says nothing about its values */
		ok = p->n_options == 0 || is_option(p, v);
		break;
	case HM_FENCE_PARAM_STRING:
		break;
	}
	return ok ? 0 : bad_value(md, key, p, v, err, errlen);
}

/* given: the params' names, each with the canonical parameter it means */
struct given {
	const char *key;
	const struct hm_fence_param *param;
};

static bool covered(const struct given *g, size_t n, const struct hm_fence_param *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g[i].param == p)
			return true;
	return false;
}

static int check_required(const struct hm_fence_metadata *md, const struct given *g, size_t n,
			  char *err, size_t errlen)
{
	size_t i, missing = 0, len = 0;

	for (i = 0; i < md->n_params; i++) {
		const struct hm_fence_param *p = &md->params[i];

		/* a deprecated name is required only through the one that
		 * replaced it; what hamon sets is never the device's */
		if (!p->required || canonical(md, p) != p || forbidden_why(p->name) != NULL)
			continue;
		if (covered(g, n, p))
			continue;
		if (missing++ == 0)
			say(err, errlen, "%s: missing required parameter", md->agent);
		if (err != NULL && errlen > 0) {
			len = strlen(err);
			if (len < errlen)
				snprintf(err + len, errlen - len, "%s '%s'",
					 missing == 1 ? "" : ",", p->name);
		}
	}
	return missing ? -EINVAL : 0;
}

int hm_fence_metadata_validate(const struct hm_fence_metadata *md,
			       const struct json_object *params, char *err, size_t errlen)
{
	struct json_object *obj = (struct json_object *)params;
	struct given g[HM_FENCE_PARAMS_MAX];
	const struct hm_fence_param *p;
	const char *why, *hint;
	size_t n = 0, i;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (md == NULL) {
		say(err, errlen, "no metadata");
		return -EINVAL;
	}
	rc = hm_fence_params_check(params, err, errlen);
	if (rc < 0)
		return rc;
	if (!hm_fence_metadata_has_action(md, "off")) {
		say(err, errlen, "%s has no 'off' action: hamon fences with off only", md->agent);
		return -ENOTSUP;
	}
	json_object_object_foreach(obj, key, val) {
		why = forbidden_why(key);
		if (why != NULL) {
			say(err, errlen, "%s: parameter '%s' is not allowed: %s", md->agent, key, why);
			return -EPERM;
		}
		p = hm_fence_metadata_param(md, key);
		if (p == NULL) {
			hint = closest(md, key);
			if (hint != NULL)
				say(err, errlen, "%s has no parameter '%s' (did you mean '%s'?)",
				    md->agent, key, hint);
			else
				say(err, errlen, "%s has no parameter '%s' (`%s -o metadata` "
				    "lists them)", md->agent, key, md->agent);
			return -ENOENT;
		}
		p = canonical(md, p);
		for (i = 0; i < n; i++)
			if (g[i].param == p) {
				say(err, errlen, "%s: '%s' and '%s' are the same parameter (%s): "
				    "give it once", md->agent, g[i].key, key, p->name);
				return -EINVAL;
			}
		rc = check_value(md, key, hm_fence_metadata_param(md, key),
				 json_object_get_string(val), err, errlen);
		if (rc < 0)
			return rc;
		g[n].key = key;
		g[n].param = p;
		n++;
	}
	return check_required(md, g, n, err, errlen);
}
