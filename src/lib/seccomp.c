/* SPDX-License-Identifier: MIT */
/* linux.seccomp: validated and compiled to BPF in the runtime, installed in the
 * container process, its notify fd handed to the listener. */
#define _GNU_SOURCE
/* This library's seccomp.h, and through it libseccomp's (see there). */
#include <seccomp.h>

#include "seccomp_filter.h"
#include "seccomp_cache.h"

#include <ctype.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define MAX_ARGS 6
/* Bounds the rules one entry can expand to (see add_rule_alternatives). */
#define MAX_ALTERNATIVES 256

struct husk_seccomp {
	struct sock_filter *insns;
	unsigned short n_insns;
	unsigned int flags; /* SECCOMP_FILTER_FLAG_*, only those this kernel knows */
	bool notify;
	bool from_cache;
	char *listener_path;
	char *listener_metadata;
};

/* State while the filter is built. */
struct compile {
	scmp_filter_ctx ctx;
	uint32_t default_action;
	bool notify;
};

static void scmp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL)
		seccomp_release(*ctx);
}
#define cleanup_scmp __attribute__((cleanup(scmp_releasep)))

#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* Errors name the field: "linux.seccomp.syscalls[3].action: ...". */
#define field_error(err, fmt, ...)                                                                 \
	husk_error_fail(err, HUSK_ERR_INVALID, "linux.seccomp." fmt, ##__VA_ARGS__)

struct name_value {
	const char *name;
	uint32_t value;
};

static const struct name_value action_table[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
};

static const struct name_value op_table[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct name_value flag_table[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

/* Every architecture the runtime-spec or libseccomp names; which of them this
 * libseccomp can filter is asked at run time. */
static const char *const arch_names[] = {
    "SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",		"SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",	"SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",	 "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",	 "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	"SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",	 "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	"SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",	 "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

static bool lookup(const struct name_value *table, size_t n, const char *name, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0) {
			*ret = table[i].value;
			return true;
		}
	}
	return false;
}

static bool action_takes_errno(uint32_t action)
{
	return action == SCMP_ACT_ERRNO(0) || action == SCMP_ACT_TRACE(0);
}

/* The action named by obj[key], with obj[errno_key] as its errno (EPERM when
 * absent) for the actions that carry one. `where` prefixes obj's fields. */
static int parse_action(json_t *obj, const char *where, const char *key, const char *errno_key,
			uint32_t *ret, husk_error **err)
{
	json_t *v = json_object_get(obj, key), *e = json_object_get(obj, errno_key);
	json_int_t errnum = EPERM;
	uint32_t action;

	if (!json_is_string(v))
		return field_error(err, "%s%s: is required and must be a string", where, key);
	if (!lookup(action_table, ARRAY_SIZE(action_table), json_string_value(v), &action))
		return field_error(err, "%s%s: unknown action `%s`", where, key,
				   json_string_value(v));
	if (e != NULL && !json_is_null(e)) {
		if (!action_takes_errno(action))
			return field_error(err, "%s%s: `%s` takes no errno", where, errno_key,
					   json_string_value(v));
		errnum = json_is_integer(e) ? json_integer_value(e) : -1;
		if (errnum < 0 || errnum > 0xffff)
			return field_error(err, "%s%s: must be an integer between 0 and 65535",
					   where, errno_key);
	}
	*ret = action_takes_errno(action) ? action | (uint32_t)errnum : action;
	return 0;
}

static int parse_flags(json_t *cfg, unsigned int *ret, husk_error **err)
{
	json_t *v = json_object_get(cfg, "flags"), *e;
	uint32_t flag;
	size_t i;

	*ret = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "flags: must be an array of strings");
	json_array_foreach (v, i, e) {
		if (!json_is_string(e) ||
		    !lookup(flag_table, ARRAY_SIZE(flag_table), json_string_value(e), &flag))
			return field_error(err, "flags[%zu]: unknown flag `%s`", i,
					   json_is_string(e) ? json_string_value(e)
							     : "(not a string)");
		*ret |= flag;
	}
	return 0;
}

static int parse_listener(json_t *cfg, struct husk_seccomp *s, husk_error **err)
{
	json_t *path = json_object_get(cfg, "listenerPath");
	json_t *meta = json_object_get(cfg, "listenerMetadata");
	struct sockaddr_un sun;

	if (path != NULL && !json_is_null(path)) {
		if (!json_is_string(path) || json_string_length(path) == 0)
			return field_error(err, "listenerPath: must be a non-empty string");
		if (json_string_length(path) >= sizeof(sun.sun_path))
			return field_error(err,
					   "listenerPath: longer than a unix socket path (%zu)",
					   sizeof(sun.sun_path) - 1);
		s->listener_path = strdup(json_string_value(path));
		if (s->listener_path == NULL)
			return husk_error_set(err, ENOMEM, "linux.seccomp.listenerPath");
	}
	if (meta == NULL || json_is_null(meta))
		return 0;
	if (!json_is_string(meta))
		return field_error(err, "listenerMetadata: must be a string");
	if (s->listener_path == NULL)
		return field_error(err, "listenerMetadata: must not be set without listenerPath");
	s->listener_metadata = strdup(json_string_value(meta));
	return s->listener_metadata ? 0 : husk_error_set(err, ENOMEM, "linux.seccomp");
}

/* libseccomp names architectures like the runtime-spec, lowercase and without
 * the prefix: SCMP_ARCH_X86_64 is "x86_64". 0 when this libseccomp does not
 * know the architecture. */
static uint32_t arch_token(const char *oci_name)
{
	const char *s = oci_name + strlen("SCMP_ARCH_");
	char lower[32];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static bool arch_is_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
		if (strcmp(arch_names[i], name) == 0)
			return true;
	return false;
}

static int add_architectures(scmp_filter_ctx ctx, json_t *cfg, husk_error **err)
{
	json_t *v = json_object_get(cfg, "architectures"), *e;
	uint32_t token;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "architectures: must be an array of strings");
	json_array_foreach (v, i, e) {
		if (!json_is_string(e) || !arch_is_known(json_string_value(e)))
			return field_error(err, "architectures[%zu]: unknown architecture `%s`", i,
					   json_is_string(e) ? json_string_value(e)
							     : "(not a string)");
		/* An architecture this libseccomp cannot filter next to the native
		 * one (unknown to it, or of the other endianness) is left out:
		 * its syscalls then meet the bad-architecture action and fail.
		 * EEXIST is the native architecture, always in the filter. */
		token = arch_token(json_string_value(e));
		if (token != 0 && seccomp_arch_add(ctx, token) == -ENOMEM)
			return husk_error_set(err, ENOMEM, "linux.seccomp.architectures");
	}
	return 0;
}

static int parse_arg(json_t *a, const char *where, struct scmp_arg_cmp *ret, husk_error **err)
{
	json_t *index = json_object_get(a, "index"), *value = json_object_get(a, "value");
	json_t *value2 = json_object_get(a, "valueTwo"), *op = json_object_get(a, "op");
	uint32_t cmp;

	if (!json_is_object(a))
		return field_error(err, "%s: must be an object", where);
	if (!json_is_integer(index) || json_integer_value(index) < 0 ||
	    json_integer_value(index) >= MAX_ARGS)
		return field_error(err, "%s.index: must be an integer between 0 and %d", where,
				   MAX_ARGS - 1);
	if (!json_is_integer(value))
		return field_error(err, "%s.value: is required and must be an integer", where);
	if (value2 != NULL && !json_is_null(value2) && !json_is_integer(value2))
		return field_error(err, "%s.valueTwo: must be an integer", where);
	if (!json_is_string(op))
		return field_error(err, "%s.op: is required and must be a string", where);
	if (!lookup(op_table, ARRAY_SIZE(op_table), json_string_value(op), &cmp))
		return field_error(err, "%s.op: unknown operator `%s`", where,
				   json_string_value(op));
	/* JSON parsers stop at INT64_MAX: a negative value stands for its
	 * two's complement, so that the whole uint64 range can be written. */
	*ret = (struct scmp_arg_cmp){
	    .arg = (unsigned int)json_integer_value(index),
	    .op = (enum scmp_compare)cmp,
	    .datum_a = (uint64_t)json_integer_value(value),
	    .datum_b = (uint64_t)json_integer_value(value2),
	};
	return 0;
}

/* The number of rules add_rule_alternatives() makes of these comparisons. */
static size_t count_alternatives(const struct scmp_arg_cmp *cmps, size_t n)
{
	size_t per_arg[MAX_ARGS] = {0}, total = 1;

	for (size_t i = 0; i < n; i++)
		per_arg[cmps[i].arg]++;
	for (size_t a = 0; a < MAX_ARGS && total <= MAX_ALTERNATIVES; a++)
		total *= per_arg[a] ? per_arg[a] : 1;
	return total;
}

static int parse_args(json_t *entry, const char *where, struct scmp_arg_cmp **ret, size_t *ret_n,
		      husk_error **err)
{
	json_t *v = json_object_get(entry, "args"), *a;
	cleanup_free struct scmp_arg_cmp *cmps = NULL;
	char arg_where[80];
	size_t i;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "%sargs: must be an array", where);
	cmps = calloc(json_array_size(v), sizeof(*cmps));
	if (cmps == NULL)
		return husk_error_set(err, ENOMEM, "linux.seccomp.%sargs", where);
	json_array_foreach (v, i, a) {
		snprintf(arg_where, sizeof(arg_where), "%sargs[%zu]", where, i);
		r = parse_arg(a, arg_where, &cmps[i], err);
		if (r < 0)
			return r;
	}
	if (count_alternatives(cmps, i) > MAX_ALTERNATIVES)
		return field_error(err, "%sargs: more than %d combinations of alternatives", where,
				   MAX_ALTERNATIVES);
	*ret = steal_pointer(&cmps);
	*ret_n = i;
	return 0;
}

static void sort_by_arg(struct scmp_arg_cmp *cmps, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct scmp_arg_cmp c = cmps[i];
		size_t j = i;

		for (; j > 0 && cmps[j - 1].arg > c.arg; j--)
			cmps[j] = cmps[j - 1];
		cmps[j] = c;
	}
}

/* libseccomp rejects two comparisons of one argument in a rule. runc and crun
 * then add every comparison as a rule of its own, which makes those of one
 * argument alternatives but also turns the AND across arguments into an OR.
 * Here comparisons of one argument are alternatives and those of different
 * arguments must all hold: one rule per choice of one comparison for each
 * argument. Returns a negative errno from libseccomp. */
static int add_rule_alternatives(scmp_filter_ctx ctx, uint32_t action, int nr,
				 struct scmp_arg_cmp *cmps, size_t n)
{
	size_t first[MAX_ARGS] = {0}, count[MAX_ARGS] = {0}, pick[MAX_ARGS] = {0}, a;
	struct scmp_arg_cmp rule[MAX_ARGS];

	sort_by_arg(cmps, n);
	for (size_t i = 0; i < n; i++)
		if (count[cmps[i].arg]++ == 0)
			first[cmps[i].arg] = i;
	for (;;) {
		unsigned int k = 0;
		int r;

		for (a = 0; a < MAX_ARGS; a++)
			if (count[a] > 0)
				rule[k++] = cmps[first[a] + pick[a]];
		r = seccomp_rule_add_array(ctx, action, nr, k, rule);
		if (r < 0)
			return r;
		/* The next combination, like an odometer. */
		for (a = 0; a < MAX_ARGS; a++) {
			if (count[a] == 0)
				continue;
			if (++pick[a] < count[a])
				break;
			pick[a] = 0;
		}
		if (a == MAX_ARGS)
			return 0;
	}
}

static int check_names(json_t *names, const char *where, husk_error **err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(names) || json_array_size(names) == 0)
		return field_error(err, "%snames: is required and must be a non-empty array",
				   where);
	json_array_foreach (names, i, e)
		if (!json_is_string(e))
			return field_error(err, "%snames[%zu]: must be a string", where, i);
	return 0;
}

static int add_syscall_entry(struct compile *c, json_t *entry, size_t index, husk_error **err)
{
	cleanup_free struct scmp_arg_cmp *cmps = NULL;
	json_t *names = json_object_get(entry, "names"), *name;
	char where[48];
	uint32_t action;
	size_t n, i;
	int nr, r;

	snprintf(where, sizeof(where), "syscalls[%zu].", index);
	if (!json_is_object(entry))
		return field_error(err, "syscalls[%zu]: must be an object", index);
	if ((r = check_names(names, where, err)) < 0 ||
	    (r = parse_action(entry, where, "action", "errnoRet", &action, err)) < 0 ||
	    (r = parse_args(entry, where, &cmps, &n, err)) < 0)
		return r;
	/* libseccomp refuses a rule that repeats the default action. */
	if (action == c->default_action)
		return 0;
	json_array_foreach (names, i, name) {
		/* A syscall this libseccomp does not know is left to the default
		 * action, as in runc and crun: profiles name newer syscalls. */
		nr = seccomp_syscall_resolve_name(json_string_value(name));
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = add_rule_alternatives(c->ctx, action, nr, cmps, n);
		if (r < 0)
			return husk_error_set(err, -r, "linux.seccomp.syscalls[%zu]: rule for `%s`",
					      index, json_string_value(name));
		c->notify |= action == SCMP_ACT_NOTIFY;
	}
	return 0;
}

static int add_syscalls(struct compile *c, json_t *cfg, husk_error **err)
{
	json_t *v = json_object_get(cfg, "syscalls"), *e;
	size_t i;
	int r;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "syscalls: must be an array");
	json_array_foreach (v, i, e) {
		r = add_syscall_entry(c, e, i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int new_filter(uint32_t default_action, scmp_filter_ctx *ret, husk_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(default_action);

	/* NULL for an action this kernel lacks (KILL_PROCESS and LOG need
	 * 4.14, NOTIFY 5.0) as well as for ENOMEM. */
	if (ctx == NULL)
		return field_error(err,
				   "defaultAction: not supported by this kernel or libseccomp");
	/* Errors are then real errnos, and a long allow-list becomes a binary
	 * search instead of a linear scan; both are best-effort. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	*ret = ctx;
	return 0;
}

/* Compiles the filter now, in the runtime, so that the container process only
 * has to hand the program to the kernel. */
static int export_program(scmp_filter_ctx ctx, struct husk_seccomp *s, husk_error **err)
{
	cleanup_close int fd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	struct stat st;
	ssize_t got;
	size_t n;
	int r;

	if (fd < 0)
		return husk_error_set(err, errno, "linux.seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return husk_error_set(err, -r, "linux.seccomp: compile the filter");
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return husk_error_set(err, errno, "linux.seccomp: read the compiled filter");
	n = (size_t)st.st_size / sizeof(struct sock_filter);
	if (n == 0 || (size_t)st.st_size % sizeof(struct sock_filter) != 0)
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "linux.seccomp: libseccomp produced no valid filter");
	if (n > BPF_MAXINSNS)
		return field_error(err,
				   "syscalls: the filter needs %zu BPF instructions, the "
				   "kernel allows %d",
				   n, BPF_MAXINSNS);
	s->insns = malloc((size_t)st.st_size);
	if (s->insns == NULL)
		return husk_error_set(err, ENOMEM, "linux.seccomp");
	got = read_all(fd, s->insns, (size_t)st.st_size);
	if (got != st.st_size)
		return husk_error_set(err, got < 0 ? errno : EIO, "linux.seccomp: read the filter");
	s->n_insns = (unsigned short)n;
	return 0;
}

/* seccomp(2) checks the flags before it reads the program: EFAULT for a NULL
 * program means this kernel knows the flags. */
static bool kernel_has_filter_flags(unsigned int flags)
{
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT;
}

static unsigned int supported_flags(unsigned int requested, bool notify)
{
	unsigned int flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;

	/* Only means something with a listener, and the kernel refuses it without one. */
	if (!notify)
		requested &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	for (unsigned int bit = 1; bit != 0 && bit <= requested; bit <<= 1) {
		unsigned int probe = bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
					 ? bit | SECCOMP_FILTER_FLAG_NEW_LISTENER
					 : bit;

		if ((requested & bit) && kernel_has_filter_flags(probe))
			flags |= bit;
	}
	/* With a listener the kernel wants TSYNC_ESRCH (5.7) next to TSYNC.
	 * Without it TSYNC goes: the container process installs the filter
	 * while it is single-threaded, so there is nothing to synchronize. */
	if (notify && (flags & SECCOMP_FILTER_FLAG_TSYNC)) {
		if (kernel_has_filter_flags(flags | SECCOMP_FILTER_FLAG_TSYNC_ESRCH))
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
		else
			flags &= ~SECCOMP_FILTER_FLAG_TSYNC;
	}
	return flags;
}

/* A filter compiled before from the same key: the profile was valid then,
 * with this libseccomp, program and kernel, so it is now. */
static bool take_cached(struct husk_seccomp *s, const char *cache_dir, const char *key)
{
	struct husk_bpf bpf = {0};

	if (cache_dir == NULL || key == NULL ||
	    husk_seccomp_cache_lookup(cache_dir, key, &bpf) != 1)
		return false;
	s->insns = bpf.insns;
	s->n_insns = bpf.n_insns;
	s->notify = bpf.notify;
	s->from_cache = true;
	return true;
}

static int compile(json_t *cfg, uint32_t default_action, struct husk_seccomp *s, husk_error **err)
{
	cleanup_scmp scmp_filter_ctx ctx = NULL;
	struct compile c = {.default_action = default_action};
	int r;

	if ((r = new_filter(c.default_action, &ctx, err)) < 0 ||
	    (r = add_architectures(ctx, cfg, err)) < 0)
		return r;
	c.ctx = ctx;
	c.notify = c.default_action == SCMP_ACT_NOTIFY;
	r = add_syscalls(&c, cfg, err);
	if (r < 0)
		return r;
	r = export_program(ctx, s, err);
	if (r < 0)
		return r;
	s->notify = c.notify;
	return 0;
}

/*
 * libseccomp 2.5.4 can loop for ever inside seccomp_rule_add_array on some
 * rule shapes (tests/fuzz/README.md), and a runtime must not hang on a bad
 * profile. So the compile runs in a child process with a deadline, and the
 * program comes back over a pipe: a header, then the instructions or the
 * error text. Only a cache miss pays for the fork.
 */
struct compiled_header {
	int32_t failed;
	int32_t code; /* husk_error code and kind when failed */
	int32_t kind;
	uint32_t notify;
	uint32_t n_insns;
};

static __attribute__((noreturn)) void compile_child(json_t *cfg, uint32_t default_action, int out)
{
	struct husk_seccomp s = {0};
	struct compiled_header h = {0};
	husk_error *e = NULL;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (compile(cfg, default_action, &s, &e) < 0) {
		const char *msg = e && e->msg ? e->msg : "linux.seccomp: compile failed";
		h.failed = 1;
		h.code = e ? e->code : 0;
		h.kind = e ? (int)e->kind : HUSK_ERR_SYSTEM;
		_exit(write_all(out, &h, sizeof(h)) < 0 || write_all(out, msg, strlen(msg)) < 0);
	}
	h.notify = s.notify;
	h.n_insns = s.n_insns;
	_exit(write_all(out, &h, sizeof(h)) < 0 ||
	      write_all(out, s.insns, s.n_insns * sizeof(*s.insns)) < 0);
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Reads the child's whole answer, or gives up at the deadline (-ETIMEDOUT). */
static ssize_t read_answer(int fd, int timeout_ms, char **ret)
{
	struct timespec deadline;
	size_t len = 0, cap = 0;
	cleanup_free char *buf = NULL;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = ms_left(&deadline);
		ssize_t n;
		if (left <= 0)
			return -ETIMEDOUT;
		int ready = poll(&p, 1, (int)left);
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready <= 0)
			continue; /* the deadline is checked at the top */
		if (len == cap) {
			char *grown = realloc(buf, cap = cap ? cap * 2 : 4096);
			if (grown == NULL)
				return -ENOMEM;
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = steal_pointer(&buf);
	return (ssize_t)len;
}

static int take_answer(const char *buf, size_t len, struct husk_seccomp *s, husk_error **err)
{
	struct compiled_header h;
	size_t size;

	if (len < sizeof(h))
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "linux.seccomp: the filter compiler died");
	memcpy(&h, buf, sizeof(h));
	if (h.failed) {
		/* the text is whole already: keep its kind and code */
		cleanup_free char *msg = strndup(buf + sizeof(h), len - sizeof(h));
		return husk_error_restore(err, (enum husk_error_kind)h.kind, h.code, msg);
	}
	size = (size_t)h.n_insns * sizeof(*s->insns);
	if (h.n_insns == 0 || len - sizeof(h) != size)
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "linux.seccomp: the filter compiler died");
	s->insns = malloc(size);
	if (s->insns == NULL)
		return husk_error_set(err, ENOMEM, "linux.seccomp");
	memcpy(s->insns, buf + sizeof(h), size);
	s->n_insns = (unsigned short)h.n_insns;
	s->notify = h.notify;
	return 0;
}

static int compile_within(json_t *cfg, uint32_t default_action, int timeout_ms,
			  struct husk_seccomp *s, husk_error **err)
{
	cleanup_close int rd = -1, wr = -1;
	cleanup_free char *answer = NULL;
	int fds[2], status;
	ssize_t len;
	pid_t pid;

	if (timeout_ms < 0)
		return compile(cfg, default_action, s, err);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "linux.seccomp: pipe");
	rd = fds[0];
	wr = fds[1];
	pid = fork();
	if (pid < 0)
		return husk_error_set(err, errno, "linux.seccomp: fork the filter compiler");
	if (pid == 0)
		compile_child(cfg, default_action, wr);
	close(steal_fd(&wr));
	len = read_answer(rd, timeout_ms, &answer);
	if (len < 0) /* timed out, or the answer is lost: the child must not outlive it */
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (len == -ETIMEDOUT)
		return husk_error_fail(
		    err, HUSK_ERR_SYSTEM,
		    "linux.seccomp: libseccomp did not finish compiling the filter in %d ms "
		    "(libseccomp "
		    "2.5 can loop for ever when one syscall has rules comparing the same argument "
		    "both with a range and with EQ/NE/MASKED_EQ, or with EQ and NE, and another "
		    "argument too)",
		    timeout_ms);
	if (len < 0)
		return husk_error_set(err, (int)-len, "linux.seccomp: read the compiled filter");
	return take_answer(answer, (size_t)len, s, err);
}

int husk_seccomp_prepare(json_t *cfg, const char *cache_dir, struct husk_seccomp **ret,
			 husk_error **err)
{
	return husk_seccomp_prepare_within(cfg, cache_dir, HUSK_SECCOMP_COMPILE_TIMEOUT_MS, ret,
					   err);
}

int husk_seccomp_prepare_within(json_t *cfg, const char *cache_dir, int timeout_ms,
				struct husk_seccomp **ret, husk_error **err)
{
	cleanup_seccomp struct husk_seccomp *s = NULL;
	cleanup_free char *key = NULL;
	uint32_t default_action;
	unsigned int flags;
	int r;

	if (!json_is_object(cfg))
		return husk_error_fail(err, HUSK_ERR_INVALID, "linux.seccomp: must be an object");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return husk_error_set(err, ENOMEM, "linux.seccomp");
	if ((r = parse_action(cfg, "", "defaultAction", "defaultErrnoRet", &default_action, err)) <
		0 ||
	    (r = parse_flags(cfg, &flags, err)) < 0 || (r = parse_listener(cfg, s, err)) < 0)
		return r;
	if (cache_dir)
		key = husk_seccomp_cache_key(cfg);
	if (!take_cached(s, cache_dir, key) &&
	    (r = compile_within(cfg, default_action, timeout_ms, s, err)) < 0)
		return r;
	/* Fail now rather than leave the container blocked on a listener
	 * nobody can reach. */
	if (s->notify && s->listener_path == NULL)
		return field_error(err, "listenerPath: is required when an action is "
					"SCMP_ACT_NOTIFY");
	if (key && !s->from_cache)
		husk_seccomp_cache_store(cache_dir, key,
					 &(struct husk_bpf){.insns = s->insns,
							    .n_insns = s->n_insns,
							    .notify = s->notify});
	s->flags = supported_flags(flags, s->notify);
	*ret = steal_pointer(&s);
	return 0;
}

bool husk_seccomp_from_cache(const struct husk_seccomp *s)
{
	return s->from_cache;
}

int husk_seccomp_load(struct husk_seccomp *s, int *ret_notify_fd, husk_error **err)
{
	struct sock_fprog prog = {.len = s->n_insns, .filter = s->insns};
	long r;

	r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, s->flags, &prog);
	/* Kernels before 3.17 lack seccomp(2); prctl installs a filter without flags. */
	if (r < 0 && errno == ENOSYS && s->flags == 0)
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	if (r < 0 && errno == EACCES)
		return husk_error_set(err, errno,
				      "install the seccomp filter (it needs "
				      "no_new_privs or CAP_SYS_ADMIN)");
	if (r < 0)
		return husk_error_set(err, errno, "install the seccomp filter");
	/* Without a listener, a positive value is a thread TSYNC could not move
	 * to the filter; nothing was installed. */
	if (!s->notify && r > 0)
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "install the seccomp filter: thread %ld cannot be "
				       "synchronized",
				       r);
	/* The kernel creates the listener O_CLOEXEC: no fcntl, which the filter
	 * might deny, is needed. */
	if (ret_notify_fd != NULL)
		*ret_notify_fd = s->notify ? (int)r : -1;
	else if (s->notify)
		close((int)r);
	return 0;
}

bool husk_seccomp_uses_notify(const struct husk_seccomp *s)
{
	return s->notify;
}

const char *husk_seccomp_listener_path(const struct husk_seccomp *s)
{
	return s->listener_path;
}

/* The runtime-spec "container process state". */
static json_t *process_state(const struct husk_seccomp *s, pid_t pid, json_t *state)
{
	json_t *version = json_object_get(state, "ociVersion");
	json_t *msg;

	msg = json_pack("{s:s, s:[s], s:I, s:O}", "ociVersion",
			json_is_string(version) ? json_string_value(version) : "1.0.2", "fds",
			"seccompFd", "pid", (json_int_t)pid, "state", state);
	if (msg != NULL && s->listener_metadata != NULL &&
	    json_object_set_new(msg, "metadata", json_string(s->listener_metadata)) < 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

static int connect_unix(const char *path, int *ret_fd, husk_error **err)
{
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (fd < 0)
		return husk_error_set(err, errno, "seccomp listener: socket");
	/* prepare() checked that the path fits. */
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return husk_error_set(err, errno, "connect to the seccomp listener `%s`", path);
	*ret_fd = steal_fd(&fd);
	return 0;
}

int husk_seccomp_send_listener(const struct husk_seccomp *s, int notify_fd, pid_t pid,
			       json_t *state, husk_error **err)
{
	cleanup_json json_t *msg = NULL;
	cleanup_free char *text = NULL;
	cleanup_close int fd = -1;
	int r;

	if (s->listener_path == NULL)
		return field_error(err, "listenerPath: is not set");
	if (!json_is_object(state))
		return husk_error_set(err, EINVAL, "seccomp listener: no container state");
	msg = process_state(s, pid, state);
	text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	if (text == NULL)
		return husk_error_set(err, ENOMEM, "seccomp listener message");
	r = connect_unix(s->listener_path, &fd, err);
	if (r < 0)
		return r;
	/* One sendmsg with the fd: agents read the state with one recvmsg. */
	if (send_fd(fd, notify_fd, text, strlen(text)) < 0)
		return husk_error_set(err, errno, "send the seccomp fd to `%s`", s->listener_path);
	return 0;
}

void husk_seccomp_free(struct husk_seccomp *s)
{
	if (s == NULL)
		return;
	free(s->insns);
	free(s->listener_path);
	free(s->listener_metadata);
	free(s);
}
