/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Growing arrays, the one way: room for one more element. */
#ifndef HM_ARRAY_H
#define HM_ARRAY_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/*
 * Make room for element n of *v (elements of size bytes, *cap allocated):
 * doubles the allocation when full, from `first`.  0 or -ENOMEM (then *v
 * and *cap are unchanged).  *v may move: pointers into it must be redone.
 */
static inline int hm_array_grow(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t want = *cap ? *cap * 2 : first;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*v, want * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = want;
	return 0;
}

#endif
