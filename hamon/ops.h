/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The operations an UPDATE carries, each one validated and applied the same
 * way on every member: a pure function of (store, payload, sender, time).
 *
 *   policy-set       {"key", "value"}                    any acting member
 *   policy-delete    {"key"}                             any acting member
 *   host-publish     a host's own observations           that host only
 *   instance-publish an instance as its host's libvirt   the host that runs it,
 *                    sees it                             or the first to see it
 *   instance-gone    {"uuid"}: undefined on its owner     its owner only
 *   job-create       {"id", "kind", "target_host"?,       any acting member; one
 *                    "reason"?}                           open job per kind+host
 *   step-intent      {"job", "seq", "action", "host",     the coordinator; a start
 *                    "instance"?}                         moves ownership to host
 *   step-result      {"job", "seq", "state", "result"?}   the step's host, or
 *                                                         anyone saying "unknown"
 *   job-end          {"id", "state", "reason"?}           no step in flight
 *   host-flags       {"nodeid", "maintenance"?,           an operator
 *                    "disabled"?, "reserved"?}
 *   host-state       {"nodeid", "state": lost|fenced}     the coordinator, or an
 *                                                         operator's confirm
 *   history          {"id", "kind", "host"?, ...}         anyone: the timeline
 *   fence-device-set {"id", "host", "level", "agent",     an operator (params
 *                    "params": {...}}                     checked at the origin)
 *   fence-device-delete {"id"}
 *
 * A host's observations have exactly one writer, that host (DESIGN.md):
 * host-publish and instance-publish from anyone else are refused.  An
 * observation never moves ownership: a domain reported by a host that does
 * not own it is refused and named ("double run suspected" when running).
 * While a host's libvirt is unreachable its instances are *unknown*, never
 * stopped.
 */
#ifndef HM_OPS_H
#define HM_OPS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "wire.h"

/*
 * Parse and check an UPDATE's payload for op: its fields, and whatever can
 * be told without the store (a policy key and value).  The origin runs it
 * before sending, every member before applying.  0 and *ret_obj (the caller
 * puts it), or -EINVAL with err saying what was wrong.
 */
int hm_ops_parse(uint16_t op, const char *payload, size_t len, json_object **ret_obj,
		 char *err, size_t errlen);

/*
 * Apply a payload hm_ops_parse() accepted, inside the caller's transaction.  0; -EINVAL when
 * refused (the same on every member: err says why, nothing was changed);
 * any other -errno when the local store failed.
 */
int hm_ops_apply(struct hm_store *store, uint16_t op, json_object *obj, uint32_t sender,
		 uint64_t ts_ms, char *err, size_t errlen);

#endif
