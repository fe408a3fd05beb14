/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "snapshot.h"

/* the row's strings point into the item itself: again after a move */
static void inst_point(struct hm_snap_instance *p)
{
	p->row.uuid = p->uuid;
	p->row.name = p->name;
	p->row.affinity_group = p->affinity[0] ? p->affinity : NULL;
}

static int collect_inst(const struct hm_instance *row, void *data)
{
	struct hm_snap_instances *l = data;
	struct hm_snap_instance *p;
	size_t i;

	if (l->n == l->cap) {
		if (hm_array_grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 32) < 0) {
			l->rc = -ENOMEM;
			return 1;
		}
		for (i = 0; i < l->n; i++)
			inst_point(&l->v[i]);
	}
	p = &l->v[l->n++];
	snprintf(p->uuid, sizeof(p->uuid), "%s", row->uuid);
	snprintf(p->name, sizeof(p->name), "%s", row->name);
	p->row = *row;
	p->row.domain_xml = NULL;
	snprintf(p->affinity, sizeof(p->affinity), "%s", row->affinity_group ? row->affinity_group : "");
	inst_point(p);
	return 0;
}

int hm_snap_instances_load(struct hm_store *s, struct hm_snap_instances *l)
{
	int rc = hm_store_instance_list(s, collect_inst, l);

	return rc < 0 ? rc : l->rc;
}

void hm_snap_instances_free(struct hm_snap_instances *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int collect_host(const struct hm_host *row, void *data)
{
	struct hm_snap_hosts *l = data;
	char *view = NULL;
	size_t i;

	if (l->n == l->cap) {
		size_t cap = l->cap;

		if (hm_array_grow((void **)&l->v, &cap, l->n, sizeof(*l->v), 16) < 0 ||
		    hm_array_grow((void **)&l->names, &l->cap, l->n, sizeof(*l->names), 16) < 0) {
			l->rc = -ENOMEM;
			return 1;
		}
		for (i = 0; i < l->n; i++)
			l->v[i].name = l->names[i];
	}
	if (row->fence_view && !(view = strdup(row->fence_view))) {
		l->rc = -ENOMEM;
		return 1;
	}
	l->v[l->n] = *row;
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", row->name);
	l->v[l->n].name = l->names[l->n];
	l->v[l->n].libvirt_uri = l->v[l->n].migration_uri = NULL;
	l->v[l->n].libvirt_uuid = l->v[l->n].boot_id = NULL;
	l->v[l->n].fence_view = view;
	l->n++;
	return 0;
}

int hm_snap_hosts_load(struct hm_store *s, struct hm_snap_hosts *l)
{
	int rc = hm_store_host_list(s, collect_host, l);

	return rc < 0 ? rc : l->rc;
}

void hm_snap_hosts_free(struct hm_snap_hosts *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free((char *)l->v[i].fence_view);
	free(l->v);
	free(l->names);
	l->v = NULL;
	l->names = NULL;
	l->n = l->cap = 0;
}
