/* SPDX-License-Identifier: MIT */
/* Device rules: checked, merged with the defaults, and translated into v1
 * devices.allow/deny lines or the eBPF device filter (loaded and attached
 * here for the backends that use it). */
#define _GNU_SOURCE
#include "cgroup_resources.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "util.h"

#define DEV "linux.resources.devices"

/* Access bits as the kernel passes them to the program (BPF_DEVCG_ACC_*). */
#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* One programs' worth of rules: more would not fit the 16-bit jumps. */
#define MAX_RULES 2000

struct dev_rule {
	bool allow;
	char type;	      /* 'a', 'b', 'c' */
	int64_t major, minor; /* -1: any */
	unsigned access;      /* BPF_DEVCG_ACC_* bits */
};

static int parse_access(const char *s, unsigned *ret)
{
	unsigned acc = 0;

	if (s[0] == '\0')
		return -1;
	for (; *s; s++) {
		if (*s == 'r')
			acc |= BPF_DEVCG_ACC_READ;
		else if (*s == 'w')
			acc |= BPF_DEVCG_ACC_WRITE;
		else if (*s == 'm')
			acc |= BPF_DEVCG_ACC_MKNOD;
		else
			return -1;
	}
	*ret = acc;
	return 0;
}

/* major or minor: absent, null or -1 mean any. */
static int parse_number(json_t *e, const char *prefix, const char *key, int64_t *ret,
			husk_error **err)
{
	json_t *v = json_object_get(e, key);

	*ret = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	/* INT32_MAX: the program compares with 32-bit immediates. */
	if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > INT32_MAX)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s.%s: must be -1 (any) or a device number", prefix, key);
	*ret = json_integer_value(v);
	return 0;
}

static int parse_rule(json_t *e, const char *prefix, struct dev_rule *r, husk_error **err)
{
	json_t *allow = json_object_get(e, "allow"), *type = json_object_get(e, "type");
	json_t *access = json_object_get(e, "access");
	const char *t;

	if (!json_is_object(e))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: must be an object", prefix);
	if (!json_is_boolean(allow))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.allow: required, true or false",
				       prefix);
	r->allow = json_is_true(allow);
	t = json_is_null(type) || type == NULL ? "a" : json_string_value(type);
	if (t == NULL || strlen(t) != 1 || strchr("abc", t[0]) == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.type: must be a, b or c", prefix);
	r->type = t[0];
	if (parse_number(e, prefix, "major", &r->major, err) < 0 ||
	    parse_number(e, prefix, "minor", &r->minor, err) < 0)
		return -1;
	r->access = ACC_ALL;
	if (access && !json_is_null(access) &&
	    (!json_is_string(access) || parse_access(json_string_value(access), &r->access) < 0))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.access: must be letters of rwm",
				       prefix);
	return 0;
}

static int parse_rules(json_t *rules, struct dev_rule **ret, size_t *ret_n, husk_error **err)
{
	cleanup_free struct dev_rule *r = NULL;
	size_t n = json_array_size(rules);
	json_t *e;
	size_t i;

	if (rules && !json_is_array(rules))
		return husk_error_fail(err, HUSK_ERR_INVALID, DEV ": must be an array");
	if (n > MAX_RULES)
		return husk_error_fail(err, HUSK_ERR_INVALID, DEV ": more than %d rules",
				       MAX_RULES);
	r = calloc(n + 1, sizeof(*r));
	if (r == NULL)
		return husk_error_set(err, ENOMEM, "device rules");
	json_array_foreach (rules, i, e) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), DEV "[%zu]", i);
		if (parse_rule(e, prefix, &r[i], err) < 0)
			return -1;
	}
	*ret = steal_pointer(&r);
	*ret_n = n;
	return 0;
}

static bool is_everything(const struct dev_rule *r)
{
	return r->type == 'a' && r->major < 0 && r->minor < 0 && r->access == ACC_ALL;
}

/* ---- v1 ---- */

static void v1_line(const struct dev_rule *r, char *buf, size_t size)
{
	char major[24] = "*", minor[24] = "*", access[4];
	size_t k = 0;

	if (r->major >= 0)
		snprintf(major, sizeof(major), "%" PRId64, r->major);
	if (r->minor >= 0)
		snprintf(minor, sizeof(minor), "%" PRId64, r->minor);
	if (r->access & BPF_DEVCG_ACC_READ)
		access[k++] = 'r';
	if (r->access & BPF_DEVCG_ACC_WRITE)
		access[k++] = 'w';
	if (r->access & BPF_DEVCG_ACC_MKNOD)
		access[k++] = 'm';
	access[k] = '\0';
	snprintf(buf, size, "%c %s:%s %s", r->type, major, minor, access);
}

int husk_cgroup_devices_v1_plan(json_t *rules, bool default_deny, struct husk_cgroup_write **ret,
				size_t *ret_n, husk_error **err)
{
	cleanup_free struct dev_rule *r = NULL;
	struct husk_cgroup_write *w = NULL;
	size_t n = 0, nw = 0;
	int fail = 0;

	if (parse_rules(rules, &r, &n, err) < 0)
		return -1;
	/* An "a" line empties the exception list and sets the default: the
	 * first rule may already be that (runc's specs start with it). */
	if (default_deny && !(n > 0 && !r[0].allow && r[0].type == 'a'))
		fail = husk_cgroup_write_append(&w, &nw, "devices", "devices.deny", DEV, 0,
						"a *:* rwm");
	for (size_t i = 0; i < n && fail == 0; i++) {
		char line[64], field[64];
		v1_line(&r[i], line, sizeof(line));
		snprintf(field, sizeof(field), DEV "[%zu]", i);
		fail = husk_cgroup_write_append(&w, &nw, "devices",
						r[i].allow ? "devices.allow" : "devices.deny",
						field, 0, line);
	}
	if (fail < 0) {
		husk_cgroup_writes_free(w, nw);
		return husk_error_set(err, ENOMEM, "device rules");
	}
	*ret = w;
	*ret_n = nw;
	return 0;
}

/* ---- the eBPF program ---- */

/* Registers of the program. */
enum { R0, R1_CTX, R2_ACCESS, R3_TYPE, R4_MAJOR, R5_MINOR, R6_TMP };

struct prog {
	struct bpf_insn *insn;
	size_t n, cap;
	bool oom;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct bpf_insn *ni = realloc(p->insn, cap * sizeof(*ni));
		if (ni == NULL) {
			p->oom = true;
			return;
		}
		p->insn = ni;
		p->cap = cap;
	}
	p->insn[p->n++] =
	    (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static void emit_verdict(struct prog *p, bool allow)
{
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* ctx is struct bpf_cgroup_dev_ctx {access_type, major, minor}, access_type
 * being (access << 16) | device type. */
static void emit_prologue(struct prog *p)
{
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R2_ACCESS, R1_CTX, 0, 0);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R3_TYPE, R2_ACCESS, 0, 0);
	emit(p, BPF_ALU64 | BPF_AND | BPF_K, R3_TYPE, 0, 0, 0xffff);
	emit(p, BPF_ALU64 | BPF_RSH | BPF_K, R2_ACCESS, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R4_MAJOR, R1_CTX, 4, 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, R5_MINOR, R1_CTX, 8, 0);
}

/*
 * One rule, skipped (jumping past its end) when it does not match. R2 holds
 * the access bits not decided yet by later rules: a deny rule denies when it
 * covers any of them, an allow rule takes its bits out and allows once none
 * are left. So each bit gets the verdict of the last rule that covers it.
 */
static void emit_rule(struct prog *p, const struct dev_rule *r)
{
	size_t jumps[4], nj = 0;

	if (r->type != 'a') {
		jumps[nj++] = p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R3_TYPE, 0, 0,
		     r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	}
	if (r->major >= 0) {
		jumps[nj++] = p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R4_MAJOR, 0, 0, (int32_t)r->major);
	}
	if (r->minor >= 0) {
		jumps[nj++] = p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R5_MINOR, 0, 0, (int32_t)r->minor);
	}
	if (r->allow) {
		emit(p, BPF_ALU64 | BPF_AND | BPF_K, R2_ACCESS, 0, 0, ~(int32_t)r->access);
		jumps[nj++] = p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, R2_ACCESS, 0, 0, 0);
	} else {
		emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R6_TMP, R2_ACCESS, 0, 0);
		emit(p, BPF_ALU64 | BPF_AND | BPF_K, R6_TMP, 0, 0, (int32_t)r->access);
		jumps[nj++] = p->n;
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, R6_TMP, 0, 0, 0);
	}
	emit_verdict(p, r->allow);
	for (size_t i = 0; i < nj && !p->oom; i++)
		p->insn[jumps[i]].off = (int16_t)(p->n - jumps[i] - 1);
}

int husk_cgroup_devices_bpf(json_t *rules, bool default_deny, struct bpf_insn **ret, size_t *ret_n,
			    husk_error **err)
{
	cleanup_free struct dev_rule *r = NULL;
	struct prog p = {0};
	bool decided = false;
	size_t n = 0;

	if (parse_rules(rules, &r, &n, err) < 0)
		return -1;
	emit_prologue(&p);
	/* Last match wins: test the rules from the last one back. */
	for (size_t i = n; i-- > 0 && !decided;) {
		if (is_everything(&r[i])) {
			/* Covers everything: what comes before is unreachable. */
			emit_verdict(&p, r[i].allow);
			decided = true;
		} else {
			emit_rule(&p, &r[i]);
		}
	}
	if (!decided)
		emit_verdict(&p, !default_deny);
	if (p.oom) {
		free(p.insn);
		return husk_error_set(err, ENOMEM, "device rules");
	}
	*ret = p.insn;
	*ret_n = p.n;
	return 0;
}

/* ---- loading and attaching it ---- */

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insn, size_t n, husk_error **err)
{
	static const char license[] = "MIT";
	union bpf_attr attr;
	char log[4096];
	int fd, e;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insn;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)license;
	fd = bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0 || errno == EPERM)
		return fd < 0 ? -EPERM : fd;
	/* Load again with the verifier's log, for the message. */
	e = errno;
	log[0] = '\0';
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	log[sizeof(log) - 1] = '\0';
	log[strcspn(log, "\n")] = '\0';
	return husk_error_set(err, e, "load the device filter (eBPF)%s%s", log[0] ? ": " : "", log);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The programs attached to the directory before (update replaces them). */
static int query_attached(int dirfd, int *fds, size_t cap, size_t *ret_n, husk_error **err)
{
	uint32_t ids[64];
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)dirfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = (uint32_t)(cap < ARRAY_SIZE(ids) ? cap : ARRAY_SIZE(ids));
	if (bpf(BPF_PROG_QUERY, &attr) < 0)
		return husk_error_set(err, errno, "query the device filters of the cgroup");
	*ret_n = 0;
	for (uint32_t i = 0; i < attr.query.prog_cnt; i++) {
		union bpf_attr get;
		memset(&get, 0, sizeof(get));
		get.prog_id = ids[i];
		fds[*ret_n] = bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fds[*ret_n] >= 0)
			(*ret_n)++;
	}
	return 0;
}

static int prog_attach(int dirfd, int prog_fd, int replace_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)dirfd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (replace_fd >= 0) {
		attr.attach_flags |= BPF_F_REPLACE;
		attr.replace_bpf_fd = (uint32_t)replace_fd;
	}
	return bpf(BPF_PROG_ATTACH, &attr);
}

static void prog_detach(int dirfd, int prog_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)dirfd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	bpf(BPF_PROG_DETACH, &attr);
}

/* Attaches the new program, then takes the old ones off: the cgroup is
 * never without a filter. With exactly one old program, swaps atomically. */
static int attach_replacing(const char *dir, int prog_fd, husk_error **err)
{
	cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int old[64];
	size_t n_old = 0;
	bool replaced = false;
	int r;

	if (dirfd < 0)
		return husk_error_set(err, errno, "open cgroup `%s`", dir);
	if (query_attached(dirfd, old, ARRAY_SIZE(old), &n_old, err) < 0)
		return -1;
	r = prog_attach(dirfd, prog_fd, n_old == 1 ? old[0] : -1);
	if (r < 0 && n_old == 1 && errno == EINVAL)
		r = prog_attach(dirfd, prog_fd, -1); /* no BPF_F_REPLACE before 5.6 */
	else if (r == 0 && n_old == 1)
		replaced = true;
	if (r < 0) {
		r = husk_error_set(err, errno, "attach the device filter to `%s`", dir);
		close_all(old, n_old);
		return r;
	}
	for (size_t i = 0; i < n_old && !replaced; i++)
		prog_detach(dirfd, old[i]);
	close_all(old, n_old);
	return 0;
}

/* Loading eBPF needs CAP_BPF/CAP_SYS_ADMIN in the initial user namespace. */
static bool privileged(void)
{
	cleanup_free char *map = NULL;
	unsigned long inside, outside, count;

	if (geteuid() != 0)
		return false;
	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", &map, NULL, NULL) < 0)
		return true;
	return sscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
	       outside == 0 && count == 4294967295UL;
}

int husk_cgroup_devices_bpf_attach(const char *dir, json_t *rules, bool default_deny,
				   husk_error **err)
{
	cleanup_free struct bpf_insn *insn = NULL;
	cleanup_close int prog_fd = -1;
	size_t n = 0;

	if (husk_cgroup_devices_bpf(rules, default_deny, &insn, &n, err) < 0)
		return -1;
	prog_fd = prog_load(insn, n, err);
	if (prog_fd == -EPERM && !privileged())
		return 0; /* rootless: the user namespace limits devices already */
	if (prog_fd == -EPERM)
		return husk_error_set(err, EPERM, "load the device filter (eBPF)");
	if (prog_fd < 0)
		return -1;
	return attach_replacing(dir, prog_fd, err);
}

bool husk_cgroup_devices_bpf_attached(const char *dir)
{
	cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fds[64];
	size_t n = 0;

	if (dirfd < 0 || query_attached(dirfd, fds, ARRAY_SIZE(fds), &n, NULL) < 0)
		return true;
	close_all(fds, n);
	return n > 0;
}

/* ---- the default list ---- */

static json_t *device_rule(bool allow, const char *type, int64_t major, int64_t minor,
			   const char *access)
{
	json_t *o = json_pack("{s:b, s:s}", "allow", allow, "access", access);

	if (o && type)
		json_object_set_new(o, "type", json_string(type));
	if (o && major >= 0)
		json_object_set_new(o, "major", json_integer(major));
	if (o && minor >= 0)
		json_object_set_new(o, "minor", json_integer(minor));
	return o;
}

static json_t *default_rules(bool deny_first)
{
	static const struct {
		const char *type;
		int64_t major, minor;
		const char *access;
	} allow[] = {
	    {"c", -1, -1, "m"},	   /* mknod of any char device */
	    {"b", -1, -1, "m"},	   /* and any block device */
	    {"c", 1, 3, "rwm"},	   /* /dev/null */
	    {"c", 1, 5, "rwm"},	   /* /dev/zero */
	    {"c", 1, 7, "rwm"},	   /* /dev/full */
	    {"c", 1, 8, "rwm"},	   /* /dev/random */
	    {"c", 1, 9, "rwm"},	   /* /dev/urandom */
	    {"c", 5, 0, "rwm"},	   /* /dev/tty */
	    {"c", 5, 1, "rwm"},	   /* /dev/console */
	    {"c", 5, 2, "rwm"},	   /* /dev/ptmx */
	    {"c", 136, -1, "rwm"}, /* /dev/pts/N */
	};
	cleanup_json json_t *a = json_array();

	if (a && deny_first && json_array_append_new(a, device_rule(false, NULL, -1, -1, "rwm")))
		return NULL;
	for (size_t i = 0; a && i < ARRAY_SIZE(allow); i++)
		if (json_array_append_new(a, device_rule(true, allow[i].type, allow[i].major,
							 allow[i].minor, allow[i].access)) < 0)
			return NULL;
	return steal_pointer(&a);
}

json_t *husk_cgroup_default_device_rules(void)
{
	return default_rules(true);
}

json_t *husk_cgroup_device_rules_for_nodes(json_t *linux_devices)
{
	cleanup_json json_t *a = json_array();
	json_t *e;
	size_t i;

	json_array_foreach (linux_devices, i, e) {
		const char *t = json_string_value(json_object_get(e, "type"));
		json_t *major = json_object_get(e, "major"), *minor = json_object_get(e, "minor");
		if (a == NULL || t == NULL || t[0] == '\0' || strchr("bcu", t[0]) == NULL ||
		    !json_is_integer(major) || !json_is_integer(minor) ||
		    json_integer_value(major) < 0 || json_integer_value(minor) < 0)
			continue;
		/* "u" (unbuffered) is a char device. */
		if (json_array_append_new(a, device_rule(true, t[0] == 'b' ? "b" : "c",
							 json_integer_value(major),
							 json_integer_value(minor), "rwm")) < 0)
			return NULL;
	}
	return steal_pointer(&a);
}

json_t *husk_cgroup_device_rules_with_defaults(json_t *rules, husk_error **err)
{
	cleanup_free struct dev_rule *r = NULL;
	cleanup_json json_t *all = NULL;
	cleanup_json json_t *defaults = NULL;
	size_t n = 0, cut = 0;
	bool tail_denies = false;
	int failed;

	if (parse_rules(rules, &r, &n, err) < 0)
		return NULL;
	/* The tail: the rules after the last deny-all one. */
	for (size_t i = 0; i < n; i++)
		if (!r[i].allow && is_everything(&r[i]))
			cut = i + 1;
	for (size_t i = cut; i < n; i++)
		tail_denies |= !r[i].allow;
	/* The spec's rules in their order, then the defaults; when the tail
	 * denies something, the tail once more, so that its denials still win
	 * over the defaults: the same verdicts as the defaults right after the
	 * deny-all, but devices.list shows the spec's rules first. */
	all = json_array();
	defaults = default_rules(false);
	failed = all == NULL || defaults == NULL || json_array_extend(all, rules) < 0 ||
		 json_array_extend(all, defaults) < 0;
	for (size_t i = cut; !failed && tail_denies && i < n; i++)
		failed = json_array_append(all, json_array_get(rules, i)) < 0;
	if (failed) {
		husk_error_set(err, ENOMEM, "device rules");
		return NULL;
	}
	if (json_array_size(all) > MAX_RULES) {
		husk_error_fail(err, HUSK_ERR_INVALID,
				DEV ": more than %d rules with the default ones", MAX_RULES);
		return NULL;
	}
	return steal_pointer(&all);
}
