/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hamond: the hamon cluster daemon.  One qb_loop; corosync, IPC, timers and
 * signals all dispatch from it, and only its thread touches the core.
 * It runs in the foreground (systemd or the test harness supervise it).
 */
#define HM_SUBSYS "hamond"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

#define HM_BLACKBOX_SIZE (8 * 1024 * 1024)
/* replicas compare digests this often even when nothing changes */
#define HM_CHECKPOINT_PERIOD_MS 30000

static struct hm_daemon daemon_state;
static char crash_dump_path[PATH_MAX];

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hamond [options]\n"
		"  -c, --config FILE   configuration file (default " HM_DEFAULT_CONFIG ")\n"
		"  -t, --test-config   check the configuration and exit\n"
		"  -d, --debug         log at debug level, also to stderr\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this help\n");
}

static int log_targets[4];
static size_t n_log_targets;

void hm_daemon_set_log_level(struct hm_daemon *d, int level)
{
	size_t i;

	d->cfg.log_level = level;
	for (i = 0; i < n_log_targets; i++) {
		qb_log_filter_ctl(log_targets[i], QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", 0);
		qb_log_filter_ctl(log_targets[i], QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", level);
	}
}

static int log_setup(struct hm_daemon *d)
{
	const char *fmt = "%t [%P] %p %b";
	int t;

	qb_log_init("hamond", d->cfg.syslog_facility, d->cfg.log_level);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, d->cfg.log_to_syslog);
	if (d->cfg.log_to_syslog)
		log_targets[n_log_targets++] = QB_LOG_SYSLOG;
	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, d->cfg.log_to_stderr);
	if (d->cfg.log_to_stderr) {
		qb_log_format_set(QB_LOG_STDERR, fmt);
		log_targets[n_log_targets++] = QB_LOG_STDERR;
	}
	if (d->cfg.log_file[0]) {
		t = qb_log_file_open(d->cfg.log_file);
		if (t < 0) {
			fprintf(stderr, "hamond: cannot open log file %s: %s\n", d->cfg.log_file,
				strerror(-t));
			return t;
		}
		qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE);
		qb_log_format_set(t, fmt);
		log_targets[n_log_targets++] = t;
	}
	/* the blackbox records everything, whatever the level, for post-mortems */
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_SIZE, HM_BLACKBOX_SIZE);
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(QB_LOG_BLACKBOX, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
	hm_daemon_set_log_level(d, d->cfg.log_level);
	return 0;
}

/* mkdir -p of the directory part of path (or of path itself) */
static int make_dirs(const char *path, bool is_file)
{
	char buf[PATH_MAX];
	char *p, *end;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	if (is_file) {
		end = strrchr(buf, '/');
		if (!end || end == buf)
			return 0;
		*end = '\0';
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int read_boot_id(struct hm_daemon *d)
{
	FILE *f = fopen(d->cfg.boot_id_file, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(d->boot_id, 1, sizeof(d->boot_id) - 1, f);
	fclose(f);
	d->boot_id[n] = '\0';
	while (n > 0 && (d->boot_id[n - 1] == '\n' || d->boot_id[n - 1] == ' '))
		d->boot_id[--n] = '\0';
	return n > 0 ? 0 : -ENODATA;
}

/* a locked pid file: a second hamond with the same paths refuses to start */
static int pid_file_take(struct hm_daemon *d)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32];
	int fd, n, rc;

	fd = open(d->cfg.pid_file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		rc = errno == EACCES || errno == EAGAIN ? -EALREADY : -errno;
		goto close_fd;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		rc = -errno;
		goto close_fd;
	}
	d->pid_fd = fd;
	return 0;

close_fd:
	close(fd);
	return rc;
}

static void pid_file_release(struct hm_daemon *d)
{
	if (d->pid_fd < 0)
		return;
	unlink(d->cfg.pid_file);
	close(d->pid_fd);
	d->pid_fd = -1;
}

static void blackbox_dump(struct hm_daemon *d, const char *why)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/hamond-%ld-%ld.blackbox", d->cfg.blackbox_dir,
		     (long)getpid(), (long)time(NULL)) >= (int)sizeof(path)) {
		hm_log_warn("blackbox_dir is too long for a dump file name");
		return;
	}
	if (qb_log_blackbox_write_to_file(path) < 0)
		hm_log_warn("cannot write the blackbox to %s", path);
	else
		hm_log_notice("blackbox written to %s (%s)", path, why);
}

/* SIGSEGV and friends: write the blackbox, then die as we would have */
static void crash_handler(int sig)
{
	qb_log_blackbox_write_to_file(crash_dump_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handlers(struct hm_daemon *d)
{
	static const int sigs[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
	struct sigaction sa = { .sa_handler = crash_handler };
	size_t i;

	if (snprintf(crash_dump_path, sizeof(crash_dump_path), "%s/hamond-%ld-crash.blackbox",
		     d->cfg.blackbox_dir, (long)getpid()) >= (int)sizeof(crash_dump_path))
		hm_log_warn("blackbox_dir is too long: no dump on a crash");
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void dump_state(struct hm_daemon *d)
{
	struct hm_ring_id ring = { 0, 0 };
	const uint32_t *g;
	size_t ng = hm_membership_group_members(d->membership, &g);

	hm_membership_have_ring(d->membership, &ring);
	hm_log_notice("state: node %u, corosync %s, %s, ring %x.%llx, sync %s, %zu hamonds, coordinator %u",
		      d->local_nodeid, hm_membership_is_connected(d->membership) ? "up" : "down",
		      hm_quorum_to_str(hm_membership_quorum(d->membership)), ring.nodeid,
		      (unsigned long long)ring.seq,
		      hm_sync_state_to_str(hm_membership_sync_state(d->membership)), ng,
		      hm_membership_coordinator(d->membership));
}

static int32_t on_stop_signal(int32_t sig, void *data)
{
	struct hm_daemon *d = data;

	hm_log_notice("%s received, shutting down", strsignal(sig));
	qb_loop_stop(d->loop);
	return 0;
}

static int32_t on_sigusr2(int32_t sig, void *data)
{
	struct hm_daemon *d = data;

	(void)sig;
	dump_state(d);
	blackbox_dump(d, "SIGUSR2");
	return 0;
}

static void on_corosync_up(void *data)
{
	struct hm_daemon *d = data;

	hm_log_notice("this is node %u (%s) of cluster '%s'", d->local_nodeid,
		      hm_nodelist_name(&d->nodelist, d->local_nodeid), d->cluster_name);
	hm_membership_connected(d->membership, d->local_nodeid);
	hm_membership_set_votes_needed(d->membership, d->votes_needed);
	hm_log_info("a partition needs %u running hamond(s) to act", d->votes_needed);
}

static void on_corosync_lost(void *data)
{
	struct hm_daemon *d = data;

	hm_membership_disconnected(d->membership);
}

static int parse_args(struct hm_daemon *d, int argc, char **argv, bool *ret_test, bool *ret_debug)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test-config", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	d->config_path = HM_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:tdVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 't':
			*ret_test = true;
			break;
		case 'd':
			*ret_debug = true;
			break;
		case 'V':
			printf("hamond %s\n", HM_VERSION);
			exit(EXIT_SUCCESS);
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hamond: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int prepare_paths(struct hm_daemon *d)
{
	const struct { const char *path; bool is_file; } dirs[] = {
		{ d->cfg.pid_file, true },
		{ d->cfg.database, true },
		{ d->cfg.log_file, true },
		{ d->cfg.blackbox_dir, false },
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i].path[0])
			continue;
		rc = make_dirs(dirs[i].path, dirs[i].is_file);
		if (rc < 0) {
			fprintf(stderr, "hamond: cannot create the directory of %s: %s\n",
				dirs[i].path, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct hm_daemon *d = &daemon_state;
	static struct hm_cs_service *services[] = { &hm_cmap_service, &hm_quorum_service, &hm_cpg_service };
	char err[HM_CONFIG_ERR_MAX];
	bool test_only = false, debug = false;
	qb_loop_signal_handle sig_handles[4];
	int rc, exit_code = EXIT_FAILURE;
	size_t i;

	d->pid_fd = -1;
	if (parse_args(d, argc, argv, &test_only, &debug) < 0)
		return 2;
	rc = hm_config_load(&d->cfg, d->config_path, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hamond: %s\n", err);
		return 2;
	}
	if (test_only) {
		printf("hamond: %s: configuration OK\n", d->config_path);
		return EXIT_SUCCESS;
	}
	if (debug) {
		d->cfg.log_level = LOG_DEBUG;
		d->cfg.log_to_stderr = true;
	}
	if (prepare_paths(d) < 0 || log_setup(d) < 0)
		return EXIT_FAILURE;
	rc = read_boot_id(d);
	if (rc < 0) {
		hm_log_err("cannot read the boot id from %s: %s", d->cfg.boot_id_file, strerror(-rc));
		goto log_fini;
	}
	rc = pid_file_take(d);
	if (rc < 0) {
		hm_log_err("%s: %s", d->cfg.pid_file,
			   rc == -EALREADY ? "locked: another hamond is running with this pid file" :
			   strerror(-rc));
		goto log_fini;
	}
	install_crash_handlers(d);
	signal(SIGPIPE, SIG_IGN);
	d->started_ms = hm_daemon_now_ms();

	d->loop = qb_loop_create();
	if (!d->loop) {
		hm_log_err("cannot create the main loop");
		goto release_pid;
	}
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGTERM, d, on_stop_signal, &sig_handles[0]);
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGINT, d, on_stop_signal, &sig_handles[1]);
	qb_loop_signal_add(d->loop, QB_LOOP_HIGH, SIGUSR2, d, on_sigusr2, &sig_handles[2]);

	hm_daemon_seam_init(d);
	d->membership = hm_membership_new(&d->seam);
	if (!d->membership) {
		hm_log_err("out of memory");
		goto destroy_loop;
	}
	/* tests only: speak an older protocol (doc/design.md "Protocol versions") */
	if (getenv("HAMOND_TEST_PROTO_MAX") &&
	    hm_membership_set_proto_max(d->membership, getenv("HAMOND_TEST_PROTO_MAX")) < 0) {
		hm_log_err("HAMOND_TEST_PROTO_MAX=%s: not a protocol version from 1 to %d",
			   getenv("HAMOND_TEST_PROTO_MAX"), HM_WIRE_VERSION);
		goto free_membership;
	}
	rc = hm_store_open(d->cfg.database, &d->store);
	if (rc < 0) {
		hm_log_err("cannot open the database %s: %s", d->cfg.database,
			   rc == -EPROTO ? "it was written by a newer hamon, or is not a hamon database" :
			   strerror(-rc));
		goto free_membership;
	}
	d->replica = hm_replica_new(&d->seam, d->membership, d->store);
	if (!d->replica) {
		hm_log_err("cannot read the replica position from %s", d->cfg.database);
		goto close_store;
	}
	hm_replica_set_checkpoint_period(d->replica, HM_CHECKPOINT_PERIOD_MS);
	d->jobs = hm_jobs_new(&d->seam, d->membership, d->store, d->replica);
	if (!d->jobs) {
		hm_log_err("out of memory");
		goto free_replica;
	}
	rc = hm_ipc_server_start(d);
	if (rc < 0) {
		hm_log_err("cannot start the IPC server '%s': %s", d->cfg.ipc_name, strerror(-rc));
		goto free_replica;
	}
	rc = hm_inventory_start(d);
	if (rc < 0) {
		hm_log_err("cannot start watching libvirt %s: %s", d->cfg.libvirt_uri, strerror(-rc));
		goto stop_ipc;
	}
	rc = hm_fence_monitor_start(d);
	if (rc < 0)
		hm_log_warn("no fence monitor: %s", strerror(-rc));
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		services[i]->ctx = d;
	d->cs = (struct hm_cs_set){
		.loop = d->loop,
		.services = services,
		.n = sizeof(services) / sizeof(services[0]),
		.retry_ms = HM_CS_RETRY_MS,
		.on_up = on_corosync_up,
		.on_lost = on_corosync_lost,
		.data = d,
	};
	hm_log_notice("hamond %s starting (pid %ld, boot id %s, config %s)", HM_VERSION,
		      (long)getpid(), d->boot_id, d->config_path);
	hm_stall_failpoint_install(d);
	rc = hm_stall_start(d);
	if (rc < 0)
		hm_log_warn("no stall detector: %s", strerror(-rc));
	hm_cs_set_start(&d->cs);

	qb_loop_run(d->loop);

	exit_code = EXIT_SUCCESS;
	hm_stall_stop();
	hm_cs_set_stop(&d->cs);
	/* pending hamonctl changes hear "outcome unknown" before IPC closes;
	 * jobs stop submitting, then hear theirs */
	hm_jobs_close(d->jobs);
	hm_fence_monitor_stop(d);
	hm_replica_free(d->replica);
	d->replica = NULL;
	hm_inventory_stop(d);
stop_ipc:
	hm_ipc_server_stop(d);
	hm_log_notice("hamond stopped");
free_replica:
	hm_jobs_close(d->jobs);
	hm_replica_free(d->replica);
	hm_jobs_free(d->jobs);
close_store:
	hm_store_close(d->store);
free_membership:
	hm_membership_free(d->membership);
destroy_loop:
	qb_loop_destroy(d->loop);
release_pid:
	pid_file_release(d);
log_fini:
	qb_log_fini();
	return exit_code;
}
