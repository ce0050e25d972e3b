/* SPDX-License-Identifier: MIT */
/* `run`'s security options: capabilities, --security-opt, --userns. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_parsers.h"
#include "userns_auto.h"
#include "spec.h"
#include "util.h"

/* "net_admin", "CAP_NET_ADMIN", "all": "CAP_NET_ADMIN", "ALL". */
static char *cap_normalize(const char *v)
{
	char *s = NULL;

	if (strncasecmp(v, "CAP_", 4) == 0 || strcasecmp(v, "ALL") == 0)
		s = strdup(v);
	else if (asprintf(&s, "CAP_%s", v) < 0)
		s = NULL;
	for (char *c = s; c && *c; c++)
		*c = (char)toupper((unsigned char)*c);
	return s;
}

int run_parse_cap(char ***list, const char *flag, const char *v, husk_error **err)
{
	char *name = cap_normalize(v);

	if (name == NULL)
		return husk_error_set(err, ENOMEM, "%s", flag);
	if (strcmp(name, "ALL") != 0 && husk_cap_from_name(name) < 0) {
		free(name);
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s `%s`: unknown capability", flag,
				       v);
	}
	if (strv_contains(*list, name)) {
		free(name);
		return 0;
	}
	return strv_append(list, name) < 0 ? husk_error_set(err, ENOMEM, "%s", flag) : 0;
}

/* "true", "false", or nothing (true). */
static int parse_bool_value(const char *s, bool *ret)
{
	if (s == NULL || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*ret = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*ret = false;
	else
		return -1;
	return 0;
}

static int seccomp_opt(struct run_options *o, const char *opt, const char *value, husk_error **err)
{
	struct run_security *s = &o->security;

	if (value == NULL || value[0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--security-opt `%s`: seccomp needs unconfined or a profile "
				       "file",
				       opt);
	free(s->seccomp_profile);
	s->seccomp_profile = NULL;
	s->seccomp_unconfined = strcmp(value, "unconfined") == 0;
	if (s->seccomp_unconfined)
		return 0;
	s->seccomp_profile = strdup(value);
	return s->seccomp_profile ? 0 : husk_error_set(err, ENOMEM, "--security-opt");
}

int run_parse_security_opt(struct run_options *o, const char *v, husk_error **err)
{
	/* docker takes KEY=VALUE, and KEY:VALUE from older versions */
	size_t key_len = strcspn(v, "=:");
	const char *value = v[key_len] ? v + key_len + 1 : NULL;
	bool b;

	if (strncmp(v, "seccomp", key_len) == 0 && key_len == 7)
		return seccomp_opt(o, v, value, err);
	if (strncmp(v, "no-new-privileges", key_len) == 0 && key_len == 17) {
		if (parse_bool_value(value, &b) < 0)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--security-opt `%s`: no-new-privileges is true "
					       "or false",
					       v);
		o->security.no_new_privileges = b;
		o->security.no_new_privileges_set = true;
		return 0;
	}
	/* No SELinux or AppArmor here: turning them off is what there is. */
	if (strcmp(v, "label=disable") == 0 || strcmp(v, "label:disable") == 0 ||
	    strcmp(v, "apparmor=unconfined") == 0 || strcmp(v, "apparmor:unconfined") == 0)
		return 0;
	if ((strncmp(v, "label", key_len) == 0 && key_len == 5) ||
	    (strncmp(v, "apparmor", key_len) == 0 && key_len == 8))
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "--security-opt `%s`: husk has no SELinux or AppArmor "
				       "support (label=disable and apparmor=unconfined are "
				       "accepted)",
				       v);
	return husk_error_fail(err, HUSK_ERR_INVALID,
			       "--security-opt `%s`: unknown option (seccomp=unconfined|FILE, "
			       "no-new-privileges[=true|false], label=disable)",
			       v);
}

/* keep-id's options: uid=N,gid=N, either or both. */
static int parse_keep_id(struct run_options *o, const char *v, const char *opts, husk_error **err)
{
	cleanup_free char *copy = strdup(opts);
	char *save = NULL;
	int64_t n;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "--userns");
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		bool is_uid = strncmp(kv, "uid=", 4) == 0, is_gid = strncmp(kv, "gid=", 4) == 0;
		if ((!is_uid && !is_gid) || parse_int64(kv + 4, 0, 4294967294L, &n) < 0)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--userns `%s`: keep-id takes uid=N,gid=N", v);
		*(is_uid ? &o->security.keep_uid : &o->security.keep_gid) = (long)n;
	}
	return 0;
}

/* --userns host (the default) | auto[:size=N] | keep-id[:uid=N,gid=N] */
int run_parse_userns(struct run_options *o, const char *v, husk_error **err)
{
	int64_t size = USERNS_AUTO_DEFAULT_SIZE;

	o->security.userns_size = 0;
	o->security.userns_keep_id = false;
	o->security.keep_uid = o->security.keep_gid = -1;
	if (strcmp(v, "host") == 0 || v[0] == '\0')
		return 0;
	if (strncmp(v, "keep-id", 7) == 0 && (v[7] == '\0' || v[7] == ':')) {
		o->security.userns_keep_id = true;
		return v[7] == ':' ? parse_keep_id(o, v, v + 8, err) : 0;
	}
	if (strncmp(v, "auto", 4) != 0 || (v[4] != '\0' && v[4] != ':'))
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "--userns `%s`: unknown mode (host, auto, auto:size=N, keep-id, "
		    "keep-id:uid=N,gid=N)",
		    v);
	if (v[4] == ':' &&
	    (strncmp(v + 5, "size=", 5) != 0 || parse_int64(v + 10, 1, 1L << 32, &size) < 0))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--userns `%s`: auto takes size=N, N from 1 to 4294967296",
				       v);
	o->security.userns_size = (unsigned long)size;
	return 0;
}
