/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <husk/error.h>
#include <husk/store.h>

enum restart_policy {
	RESTART_NO,
	RESTART_ON_FAILURE,
	RESTART_ALWAYS,
	RESTART_UNLESS_STOPPED,
};

/* -m, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit. 0
 * (NULL) is "not set" for each. */
struct run_resources {
	int64_t memory;	     /* bytes */
	int64_t memory_swap; /* memory + swap in bytes, -1: unlimited (docker's) */
	int64_t cpu_quota;   /* --cpus as microseconds per cpu_period */
	int64_t cpu_period;
	int64_t cpu_shares;
	char *cpuset_cpus;  /* "0-2,4" */
	int64_t pids_limit; /* -1: unlimited */
};

/* --ulimit NAME=SOFT[:HARD] */
struct run_ulimit {
	int resource;	    /* RLIMIT_* */
	int64_t soft, hard; /* -1: unlimited */
};

/* --device HOST[:CONTAINER][:PERMISSIONS] */
struct run_device {
	char *host;	 /* absolute */
	char *container; /* absolute */
	char access[4];	 /* some of "rwm", in that order */
};

/* --cap-add, --cap-drop, --privileged, --security-opt, --read-only,
 * --userns, --init */
struct run_security {
	char **cap_add, **cap_drop; /* "CAP_NET_ADMIN" or "ALL" */
	bool privileged;
	bool seccomp_unconfined;
	char *seccomp_profile;	/* a JSON file: docker's format or the OCI one */
	bool no_new_privileges; /* when set: else on unless privileged */
	bool no_new_privileges_set;
	bool read_only;		   /* the rootfs */
	bool init;		   /* husk-init as PID 1 */
	unsigned long userns_size; /* --userns auto: ids mapped, 0: the host's */
	bool userns_keep_id;	   /* --userns keep-id (rootless) */
	long keep_uid, keep_gid;   /* keep-id:uid=,gid=; -1: the user's own */
};

enum run_mount_type {
	RUN_MOUNT_BIND,
	RUN_MOUNT_VOLUME,
	RUN_MOUNT_TMPFS,
};

/* One of -v, --mount, --tmpfs. */
struct run_mount {
	enum run_mount_type type;
	char *source; /* bind: an absolute host path; volume: its name (NULL:
			 anonymous); tmpfs: NULL */
	char *target; /* absolute, in the container */
	bool readonly;
	bool create_source;   /* -v: a missing host directory is made (mkdir -p) */
	char *propagation;    /* bind: "rprivate" unless asked otherwise */
	char **tmpfs_options; /* tmpfs: mount options ("size=64m", "mode=1777", "exec") */
};

enum run_network {
	RUN_NETWORK_NONE,      /* a network namespace with only lo (rootless: the default) */
	RUN_NETWORK_HOST,      /* the host's */
	RUN_NETWORK_BRIDGE,    /* network_name's bridge (net.h); as root, "bridge" is the default */
	RUN_NETWORK_CONTAINER, /* the netns of container network_name */
};

/* -p: one published port. host_port 0: a free one is picked at start. */
struct net_port {
	char proto[4];	  /* "tcp" or "udp" */
	char host_ip[16]; /* "" for every address of the host */
	int host_port, port;
};

/* What `run` was asked for, on top of the image's config. */
struct run_options {
	bool detach, rm, tty, interactive;
	const char *name;
	char **env; /* -e: "NAME=value", or "NAME" to take the host's value */
	const char *workdir;
	const char *hostname;
	const char *user; /* USER[:GROUP], names or ids */
	const char *entrypoint;
	bool entrypoint_set; /* --entrypoint "" clears the image's */
	char **args;	     /* the command after the image, may be empty */

	enum restart_policy restart;
	int restart_max;	 /* on-failure:N (0: no limit) */
	const char *stop_signal; /* NULL: the image's, else SIGTERM */
	int stop_timeout;	 /* seconds (-1: wait for ever) */
	bool stop_timeout_set;
	const char *health_cmd; /* --health-cmd, run with /bin/sh -c */
	int64_t health_interval, health_timeout, health_start_period; /* ns, 0: default */
	int health_retries;					      /* 0: default */
	bool no_healthcheck;
	int64_t log_max_size; /* bytes, 0: never rotated */
	bool log_max_size_set;

	/* The container's environment and labels (--env-file, --label). */
	char **env_file; /* "NAME=value" or "NAME" read from --env-file, before -e */
	char **labels;	 /* "key=value", later ones win; config annotations */

	struct run_resources resources;
	struct run_ulimit *ulimits; /* process.rlimits */
	size_t n_ulimits;
	struct run_device *devices; /* --device */
	size_t n_devices;

	struct run_security security;

	struct run_mount *mounts; /* -v, --mount and --tmpfs, in order */
	size_t n_mounts;

	enum run_network network;
	const char *network_name; /* BRIDGE: the network; CONTAINER: the container */
	struct net_port *ports;	  /* -p */
	size_t n_ports;
	bool publish_all;  /* -P: the image's exposed ports on free host ports */
	char **add_hosts;  /* --add-host: "NAME IP" */
	char **dns;	   /* --dns: nameserver addresses */
	char **dns_search; /* --dns-search: search domains */
};

extern const char run_usage[];
/* Returns the index of the image argument, -1 after an error (reported),
 * 0 after --help. */
int run_options_parse(struct run_options *o, int argc, char **argv);
void run_options_clear(struct run_options *o);

struct engine_paths;

/*
 * The container's OCI config, in memory: the core's default (podman's
 * capabilities, the default seccomp profile, masked and read-only paths, a
 * network namespace of its own with nothing in it but lo) with the image's
 * Entrypoint, Cmd, Env, WorkingDir, User, Volumes and Labels and the options
 * applied. dir is the container's directory (containers/<id>, made before):
 * the root is dir/rootfs.
 *
 * Besides the config, it makes what the config points at:
 *  - dir/hostname, dir/hosts, dir/resolv.conf (bound on the container's
 *    /etc files) and dir/init (--init), removed with dir;
 *  - -v's missing host directories (mkdir -p, as docker does);
 *  - the volumes the container mounts: named ones that are missing, and
 *    anonymous ones (-v /path, --mount type=volume without a source, the
 *    image's Volumes), with the container recorded as a user of each. The
 *    caller undoes that with volumes_release() (volumes.h) when it removes
 *    the container, even after a failed create.
 */
int container_config_generate(const struct engine_paths *paths, const struct husk_image *img,
			      const struct run_options *o, const char *id, const char *dir,
			      json_t **ret, husk_error **err);
