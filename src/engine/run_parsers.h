/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The value parsers of `husk run`'s options (run_options_*.c). Each takes
 * one option's value, fills its part of run_options and, for a bad value,
 * returns -1 with an error naming the flag and the value ("--memory `x`:
 * ..."); run_options_parse() prints it. Nothing here touches the host but
 * reading what a value names (an --env-file, the online CPUs).
 */

#include "container_config.h"

/* Resources (run_options_resources.c) */
int run_parse_memory(struct run_options *o, const char *v, husk_error **err);
int run_parse_memory_swap(struct run_options *o, const char *v, husk_error **err);
int run_parse_cpus(struct run_options *o, const char *v, husk_error **err);
int run_parse_cpu_shares(struct run_options *o, const char *v, husk_error **err);
int run_parse_cpuset_cpus(struct run_options *o, const char *v, husk_error **err);
int run_parse_pids_limit(struct run_options *o, const char *v, husk_error **err);
int run_parse_ulimit(struct run_options *o, const char *v, husk_error **err);
int run_parse_device(struct run_options *o, const char *v, husk_error **err);
/* The CPU list syntax ("0-3,5"); ret_max (may be NULL): the highest CPU. */
int run_cpu_list_check(const char *s, int *ret_max);
/* --memory-swap without -m, or below it. */
int run_check_resources(const struct run_options *o, husk_error **err);

/* Security (run_options_security.c) */
int run_parse_cap(char ***list, const char *flag, const char *v, husk_error **err);
int run_parse_security_opt(struct run_options *o, const char *v, husk_error **err);
int run_parse_userns(struct run_options *o, const char *v, husk_error **err);

/* Mounts (run_options_mounts.c) */
int run_parse_volume(struct run_options *o, const char *v, husk_error **err);
int run_parse_mount(struct run_options *o, const char *v, husk_error **err);
int run_parse_tmpfs(struct run_options *o, const char *v, husk_error **err);
/* Two mounts on one target. */
int run_check_mounts(const struct run_options *o, husk_error **err);
/* Docker's volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool run_volume_name_valid(const char *name);
/* An absolute path made canonical: no "//", ".", ".." or trailing "/".
 * NULL (errno EINVAL) when path is not absolute, ENOMEM. */
char *run_path_clean(const char *path);

/* Environment, labels, network (run_options_env.c) */
int run_parse_env_file(struct run_options *o, const char *path, husk_error **err);
int run_parse_label(struct run_options *o, const char *v, husk_error **err);
int run_parse_network(struct run_options *o, const char *v, husk_error **err);
int run_parse_add_host(struct run_options *o, const char *v, husk_error **err);
int run_parse_dns(struct run_options *o, const char *v, husk_error **err);
int run_parse_dns_search(struct run_options *o, const char *v, husk_error **err);
int run_parse_publish(struct run_options *o, const char *v, husk_error **err);

void run_mount_clear(struct run_mount *m);
