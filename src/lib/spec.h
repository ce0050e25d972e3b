/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The OCI runtime configuration (config.json), parsed and validated into plain
 * C structures. Subsystems that own a larger subtree (seccomp, cgroup
 * resources) keep reading it from the JSON tree kept in `json`.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <husk/error.h>
#include <husk/spec.h>

enum husk_ns_type {
	HUSK_NS_MOUNT,
	HUSK_NS_UTS,
	HUSK_NS_IPC,
	HUSK_NS_PID,
	HUSK_NS_NET,
	HUSK_NS_USER,
	HUSK_NS_CGROUP,
	HUSK_NS_TIME,
	HUSK_NS_COUNT
};

struct husk_namespace {
	bool enabled;
	char *path; /* join this namespace (setns) instead of creating one */
};

struct husk_idmap {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct husk_mount {
	char *destination;
	char *source;
	char *type;
	char **options;
	/* from options */
	unsigned long flags;	   /* MS_* set */
	unsigned long clear_flags; /* MS_* named with their negation (rw, suid, ...) */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) */
	bool bind;
	char *data; /* comma-separated options passed to mount(2) */
};

struct husk_rlimit {
	int resource;
	uint64_t soft;
	uint64_t hard;
};

struct husk_hook {
	char *path;
	char **args;
	char **env;
	int timeout; /* seconds; 0 for none */
};

enum husk_hook_kind {
	HUSK_HOOK_PRESTART,
	HUSK_HOOK_CREATE_RUNTIME,
	HUSK_HOOK_CREATE_CONTAINER,
	HUSK_HOOK_START_CONTAINER,
	HUSK_HOOK_POSTSTART,
	HUSK_HOOK_POSTSTOP,
	HUSK_HOOK_KIND_COUNT
};

struct husk_device {
	char *path;
	char type; /* c, u, b or p */
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct husk_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct husk_process {
	bool terminal;
	bool has_console_size;
	unsigned short console_rows, console_cols;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	mode_t umask;
	char **args;
	char **env;
	char *cwd;
	bool has_caps;
	struct husk_caps caps;
	struct husk_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile;
	char *selinux_label;
	/* What was ignored, one line each, for the caller to report (an
	 * unknown capability: the spec says warn and go on). */
	char **warnings;
};

struct husk_kv {
	char *key;
	char *value;
};

struct husk_spec {
	json_t *json; /* the whole document, owned */
	char *bundle; /* absolute bundle directory */
	char *oci_version;
	char *root_path; /* absolute */
	bool root_readonly;
	bool has_hostname, has_domainname;
	char *hostname;
	char *domainname;
	bool has_process;
	struct husk_process process;
	struct husk_mount *mounts;
	size_t n_mounts;
	struct husk_hook *hooks[HUSK_HOOK_KIND_COUNT];
	size_t n_hooks[HUSK_HOOK_KIND_COUNT];
	struct husk_kv *annotations;
	size_t n_annotations;

	/* linux */
	struct husk_namespace ns[HUSK_NS_COUNT];
	struct husk_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct husk_device *devices;
	size_t n_devices;
	char *cgroups_path;
	struct husk_kv *sysctl;
	size_t n_sysctl;
	char **masked_paths;
	char **readonly_paths;
	unsigned long rootfs_propagation; /* 0: default */
	char *mount_label;
	bool has_time_offsets;
	int64_t time_offsets[2][2]; /* [monotonic, boottime][secs, nanosecs] */
	json_t *resources;	    /* linux.resources, borrowed from json */
	json_t *seccomp;	    /* linux.seccomp, borrowed from json */
	bool has_personality;
	unsigned long personality;
};

/* The public half (load, parse, from_json, free): <husk/spec.h>. */
/* The "hooks" object alone (also used for the copy kept in a container's state). */
int husk_spec_parse_hooks(struct husk_spec *s, json_t *hooks, husk_error **err);

/* process.json for exec, and the "process" object of config.json. `where` is
 * the prefix used in errors ("process"). */
int husk_process_parse(json_t *obj, const char *where, struct husk_process *ret, husk_error **err);
void husk_process_clear(struct husk_process *p);

/* Name tables */
const char *husk_ns_name(enum husk_ns_type t);
int husk_ns_from_name(const char *name); /* -1 when unknown */
int husk_ns_clone_flag(enum husk_ns_type t);
int husk_cap_from_name(const char *name);    /* "CAP_SYS_ADMIN" -> 21; -1 when unknown */
const char *husk_cap_name(int cap);	     /* 21 -> "CAP_SYS_ADMIN"; NULL when out of range */
int husk_cap_last(void);		     /* highest capability this build knows */
int husk_rlimit_from_name(const char *name); /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 */
const char *husk_rlimit_name(int resource);

/* Mount options: parses one option into the mount (flags, propagation or data). */
int husk_mount_parse_options(struct husk_mount *m, char *const *options, husk_error **err);

/* Id maps */
bool husk_idmap_contains(const struct husk_idmap *maps, size_t n, uint32_t container_id);
int husk_idmap_to_host(const struct husk_idmap *maps, size_t n, uint32_t container_id,
		       uint32_t *ret_host);
/* Checks size > 0, no overflow, and no overlap of container or host ranges. */
int husk_idmap_validate(const struct husk_idmap *maps, size_t n, const char *where,
			husk_error **err);
/* Formats maps as the kernel's uid_map text ("0 1000 1\n..."). */
char *husk_idmap_format(const struct husk_idmap *maps, size_t n);
