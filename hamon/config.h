/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamon.conf: node-local settings only (paths, libvirt URI, IPC socket,
 * logging).  Cluster policy lives in the replicated store, never here.
 *
 * Format: one "key = value" per line; '#' starts a comment line; blank lines
 * are ignored; surrounding white space is trimmed; a value may be wrapped in
 * double quotes.  An unknown key, a repeated key or a bad value is an error
 * naming the file, the line and the key.  Every key has a default.
 */
#ifndef HM_CONFIG_H
#define HM_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define HM_CONFIG_ERR_MAX 512

struct hm_config {
	char cpg_group[128];		/* CPG group joined by every hamond */
	char ipc_name[100];		/* libqb IPC service name hamonctl connects to */
	char database[PATH_MAX];	/* sqlite database (absolute path) */
	char pid_file[PATH_MAX];	/* absolute path */
	char libvirt_uri[512];		/* local libvirt daemon */
	char log_file[PATH_MAX];	/* absolute path, or empty for none ("none") */
	bool log_to_syslog;
	bool log_to_stderr;
	int log_level;			/* syslog LOG_ERR..LOG_DEBUG */
	int syslog_facility;		/* LOG_DAEMON, LOG_LOCAL0..7 */
	char ipc_read_group[64];	/* members may run read-only hamonctl commands */
	char boot_id_file[PATH_MAX];	/* this host's boot id; tests point it at a file */
	char blackbox_dir[PATH_MAX];	/* where blackbox dumps are written */
	unsigned stall_timeout_s;	/* leave if the main loop stalls this long; 0 = never */
};

/* Fill every field with its documented default. */
void hm_config_defaults(struct hm_config *cfg);

/*
 * Parse text (len bytes, need not be NUL-terminated) on top of what cfg
 * holds.  source names the file in messages.  On error returns -EINVAL (or
 * -ENOMEM) and writes "source:line: key: what is wrong" into err.
 */
int hm_config_parse(struct hm_config *cfg, const char *text, size_t len,
		    const char *source, char *err, size_t errlen);

/* Defaults, then the file at path.  A missing file is an error (-ENOENT). */
int hm_config_load(struct hm_config *cfg, const char *path, char *err, size_t errlen);

/* "debug" -> LOG_DEBUG; -EINVAL for an unknown name */
int hm_config_log_level_from_str(const char *s);
const char *hm_config_log_level_to_str(int level);

#endif
