/* SPDX-License-Identifier: MIT */
/* Capabilities, seccomp and no-new-privileges of the container's config. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "config_internal.h"
#include "read_bounded.h"
#include "spec.h"
#include "spec_default.h"
#include "util.h"

#define PROFILE_MAX (4 << 20)

static uint64_t caps_of(char *const *names)
{
	uint64_t set = 0;

	for (size_t i = 0; names && names[i]; i++) {
		int cap = husk_cap_from_name(names[i]);
		if (cap >= 0)
			set |= 1ULL << cap;
	}
	return set;
}

/* Docker's rules: ALL in --cap-add is every capability but the dropped
 * ones; ALL in --cap-drop is only the added ones; else the default set less
 * the dropped plus the added. */
int config_capabilities(const struct run_security *s, uint64_t *ret, husk_error **err)
{
	uint64_t add = caps_of(s->cap_add), drop = caps_of(s->cap_drop);

	(void)err;
	if (strv_contains(s->cap_add, "ALL"))
		*ret = husk_caps_all() & ~drop;
	else if (strv_contains(s->cap_drop, "ALL"))
		*ret = add;
	else
		*ret = (husk_caps_default() & ~drop) | add;
	return 0;
}

/* This host as docker's profiles name it: "amd64" and SCMP_ARCH_X86_64. */
static void host_arch(const char **ret_docker, const char **ret_scmp)
{
	static const struct {
		const char *machine, *docker, *scmp;
	} arches[] = {
	    {"x86_64", "amd64", "SCMP_ARCH_X86_64"},
	    {"aarch64", "arm64", "SCMP_ARCH_AARCH64"},
	    {"i686", "386", "SCMP_ARCH_X86"},
	    {"armv7l", "arm", "SCMP_ARCH_ARM"},
	    {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE"},
	    {"s390x", "s390x", "SCMP_ARCH_S390X"},
	    {"riscv64", "riscv64", "SCMP_ARCH_RISCV64"},
	};
	struct utsname u;

	*ret_docker = *ret_scmp = "";
	if (uname(&u) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (strcmp(u.machine, arches[i].machine) == 0) {
			*ret_docker = arches[i].docker;
			*ret_scmp = arches[i].scmp;
		}
}

static bool kernel_at_least(const char *version)
{
	struct utsname u;
	unsigned a = 0, b = 0, x = 0, y = 0;

	if (uname(&u) < 0 || sscanf(version, "%u.%u", &a, &b) < 1 ||
	    sscanf(u.release, "%u.%u", &x, &y) < 1)
		return true;
	return x > a || (x == a && y >= b);
}

static bool all_caps_in(json_t *names, uint64_t caps)
{
	size_t i;
	json_t *n;

	json_array_foreach (names, i, n) {
		int cap = json_is_string(n) ? husk_cap_from_name(json_string_value(n)) : -1;
		if (cap < 0 || !(caps & (1ULL << cap)))
			return false;
	}
	return true;
}

static bool any_cap_in(json_t *names, uint64_t caps)
{
	size_t i;
	json_t *n;

	json_array_foreach (names, i, n) {
		int cap = json_is_string(n) ? husk_cap_from_name(json_string_value(n)) : -1;
		if (cap >= 0 && (caps & (1ULL << cap)))
			return true;
	}
	return false;
}

static bool arch_in(json_t *arches, const char *arch)
{
	size_t i;
	json_t *a;

	json_array_foreach (arches, i, a)
		if (json_is_string(a) && strcmp(json_string_value(a), arch) == 0)
			return true;
	return false;
}

/* A rule of docker's profile applies here: its includes all hold, none of
 * its excludes does. */
static bool rule_applies(json_t *rule, uint64_t caps, const char *arch)
{
	json_t *inc = json_object_get(rule, "includes"), *exc = json_object_get(rule, "excludes");
	json_t *v;

	if ((v = json_object_get(inc, "caps")) && !all_caps_in(v, caps))
		return false;
	if ((v = json_object_get(inc, "arches")) && json_array_size(v) && !arch_in(v, arch))
		return false;
	if ((v = json_object_get(inc, "minKernel")) && json_is_string(v) &&
	    !kernel_at_least(json_string_value(v)))
		return false;
	if ((v = json_object_get(exc, "caps")) && any_cap_in(v, caps))
		return false;
	if ((v = json_object_get(exc, "arches")) && arch_in(v, arch))
		return false;
	return true;
}

static json_t *oci_rule(json_t *rule)
{
	json_t *r = json_deep_copy(rule), *name = json_object_get(rule, "name");

	if (r == NULL)
		return NULL;
	json_object_del(r, "includes");
	json_object_del(r, "excludes");
	json_object_del(r, "comment");
	json_object_del(r, "name");
	/* the old one-name form */
	if (json_is_string(name) && json_object_get(r, "names") == NULL)
		json_object_set_new(r, "names", json_pack("[O]", name));
	return r;
}

static int convert_syscalls(json_t *profile, json_t *out, uint64_t caps, const char *arch,
			    husk_error **err)
{
	json_t *rules = json_object_get(profile, "syscalls"), *rule, *list = json_array();
	size_t i;

	if (list == NULL)
		return husk_error_set(err, ENOMEM, "seccomp");
	json_array_foreach (rules, i, rule) {
		if (!json_is_object(rule) || !rule_applies(rule, caps, arch))
			continue;
		if (json_array_append_new(list, oci_rule(rule)) < 0) {
			json_decref(list);
			return husk_error_set(err, ENOMEM, "seccomp");
		}
	}
	return json_object_set_new(out, "syscalls", list) < 0
		   ? husk_error_set(err, ENOMEM, "seccomp")
		   : 0;
}

/* archMap: this host's architecture and its sub-architectures. */
static int convert_arches(json_t *profile, json_t *out, const char *scmp_arch, husk_error **err)
{
	json_t *map = json_object_get(profile, "archMap"), *e, *arches;
	size_t i;

	json_object_del(out, "archMap");
	if (map == NULL)
		return 0;
	arches = json_array();
	if (arches == NULL)
		return husk_error_set(err, ENOMEM, "seccomp");
	json_array_foreach (map, i, e) {
		json_t *a = json_object_get(e, "architecture");
		if (!json_is_string(a) || strcmp(json_string_value(a), scmp_arch) != 0)
			continue;
		json_array_append(arches, a);
		json_array_extend(arches, json_object_get(e, "subArchitectures"));
	}
	return json_object_set_new(out, "architectures", arches) < 0
		   ? husk_error_set(err, ENOMEM, "seccomp")
		   : 0;
}

int config_seccomp_from_profile(json_t *profile, uint64_t caps, json_t **ret, husk_error **err)
{
	cleanup_json json_t *out = NULL;
	const char *arch, *scmp_arch;

	if (!json_is_object(profile))
		return husk_error_fail(err, HUSK_ERR_INVALID, "a seccomp profile is a JSON object");
	if (json_object_get(profile, "syscalls") &&
	    !json_is_array(json_object_get(profile, "syscalls")))
		return husk_error_fail(err, HUSK_ERR_INVALID, "syscalls: must be an array");
	host_arch(&arch, &scmp_arch);
	out = json_deep_copy(profile);
	if (out == NULL)
		return husk_error_set(err, ENOMEM, "seccomp");
	if (convert_arches(profile, out, scmp_arch, err) < 0 ||
	    (json_object_get(profile, "syscalls") &&
	     convert_syscalls(profile, out, caps, arch, err) < 0))
		return -1;
	*ret = steal_pointer(&out);
	return 0;
}

static int load_profile(const char *path, uint64_t caps, json_t **ret, husk_error **err)
{
	cleanup_free char *text = NULL;
	cleanup_json json_t *profile = NULL;
	json_error_t jerr;
	size_t len;

	if (read_file_bounded(path, PROFILE_MAX, &text, &len, err) < 0)
		return husk_error_wrap(err, "--security-opt seccomp=%s", path);
	profile = json_loadb(text, len, 0, &jerr);
	if (profile == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--security-opt seccomp=%s: not JSON (line %d: %s)", path,
				       jerr.line, jerr.text);
	if (config_seccomp_from_profile(profile, caps, ret, err) < 0)
		return husk_error_wrap(err, "--security-opt seccomp=%s", path);
	return 0;
}

int config_apply_security(struct config_ctx *c, uint64_t caps, husk_error **err)
{
	const struct run_security *s = &c->o->security;
	json_t *linux_ = json_object_get(c->config, "linux");
	json_t *process = json_object_get(c->config, "process");
	json_t *profile = NULL;

	/* --privileged: the core's default has no seccomp, as docker's */
	if (s->seccomp_unconfined || s->privileged) {
		json_object_del(linux_, "seccomp");
	} else if (s->seccomp_profile) {
		if (load_profile(s->seccomp_profile, caps, &profile, err) < 0)
			return -1;
		json_object_set_new(linux_, "seccomp", profile);
	}
	if (s->no_new_privileges_set &&
	    json_object_set_new(process, "noNewPrivileges", json_boolean(s->no_new_privileges)) < 0)
		return husk_error_set(err, ENOMEM, "process");
	return 0;
}
