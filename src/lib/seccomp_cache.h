/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Compiled seccomp filters kept in files, keyed by everything the compilation
 * depends on (seccomp_cache.c). Best-effort: a lookup that finds nothing
 * usable and a store that fails are silent, and the filter is compiled as if
 * there were no cache.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sock_filter;

struct husk_bpf {
	struct sock_filter *insns; /* malloc'd */
	unsigned short n_insns;
	bool notify; /* a rule returns SCMP_ACT_NOTIFY */
};

/* The cache key of linux.seccomp: this program, libseccomp's version, the
 * kernel and the profile itself. NULL when out of memory. */
char *husk_seccomp_cache_key(json_t *linux_seccomp);

/* 1 and *ret filled when DIR holds an entry for exactly KEY, else 0. */
int husk_seccomp_cache_lookup(const char *dir, const char *key, struct husk_bpf *ret);

/* Keeps BPF as the entry for KEY in DIR (created 0700 if missing). */
void husk_seccomp_cache_store(const char *dir, const char *key, const struct husk_bpf *bpf);
