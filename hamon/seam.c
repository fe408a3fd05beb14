/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "seam.h"

void hm_seam_log(const struct hm_seam *seam, int prio, const char *fmt, ...)
{
	va_list ap;

	if (!seam || !seam->log)
		return;
	va_start(ap, fmt);
	seam->log(seam->ctx, prio, fmt, ap);
	va_end(ap);
}
