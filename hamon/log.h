/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Daemon logging through qb_log.  Each file names its subsystem before
 * including this header (#define HM_SUBSYS "cpg"), and every line says where
 * it comes from.  Extra detail for developers goes after HM_XS.
 */
#ifndef HM_LOG_H
#define HM_LOG_H

#include <qb/qblog.h>

#ifndef HM_SUBSYS
#define HM_SUBSYS "hamond"
#endif

#define HM_XS " | "

#define hm_log(prio, fmt, ...) qb_log((prio), HM_SUBSYS ": " fmt, ##__VA_ARGS__)
#define hm_log_crit(fmt, ...) hm_log(LOG_CRIT, fmt, ##__VA_ARGS__)
#define hm_log_err(fmt, ...) hm_log(LOG_ERR, fmt, ##__VA_ARGS__)
#define hm_log_warn(fmt, ...) hm_log(LOG_WARNING, fmt, ##__VA_ARGS__)
#define hm_log_notice(fmt, ...) hm_log(LOG_NOTICE, fmt, ##__VA_ARGS__)
#define hm_log_info(fmt, ...) hm_log(LOG_INFO, fmt, ##__VA_ARGS__)
#define hm_log_debug(fmt, ...) hm_log(LOG_DEBUG, fmt, ##__VA_ARGS__)

#endif
