/* SPDX-License-Identifier: MIT */
/* linux.resources: the plan of cgroupfs writes, and carrying it out (v1, v2). */
#define _GNU_SOURCE
#include "cgroup_resources.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define RES	    "linux.resources"
#define CGROUP_ROOT "/sys/fs/cgroup"

/* ---- the list of writes ---- */

void husk_cgroup_writes_free(struct husk_cgroup_write *w, size_t n)
{
	for (size_t i = 0; w && i < n; i++) {
		free(w[i].controller);
		free(w[i].file);
		free(w[i].alt_file);
		free(w[i].value);
		free(w[i].field);
	}
	free(w);
}

static char *strdup_or_null(const char *s, bool *failed)
{
	char *d = s ? strdup(s) : NULL;

	if (s && d == NULL)
		*failed = true;
	return d;
}

int husk_cgroup_write_append(struct husk_cgroup_write **w, size_t *n, const char *controller,
			     const char *file, const char *field, unsigned flags, const char *value)
{
	struct husk_cgroup_write *nw = realloc(*w, (*n + 1) * sizeof(**w)), *e;
	bool failed = false;

	if (nw == NULL)
		return -ENOMEM;
	*w = nw;
	e = &nw[*n];
	*e = (struct husk_cgroup_write){
	    .controller = strdup_or_null(controller, &failed),
	    .file = strdup_or_null(file, &failed),
	    .value = strdup_or_null(value, &failed),
	    .field = strdup_or_null(field, &failed),
	    .flags = flags,
	};
	(*n)++;
	return failed ? -ENOMEM : 0;
}

/* ---- conversions ---- */

uint64_t husk_cgroup_cpu_shares_to_weight(uint64_t shares)
{
	/* [2, 262144] onto [1, 10000], linearly, as runc and crun do. */
	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t husk_cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
	/* [10, 1000] onto [1, 10000]. */
	if (weight == 0)
		return 0;
	if (weight <= 10)
		return 1;
	if (weight >= 1000)
		return 10000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int husk_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, husk_error **err)
{
	/* An unlimited memory with swap left unset means both unlimited, as on v1. */
	if (limit == -1 && swap == 0) {
		*ret = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*ret = swap;
		return 0;
	}
	if (limit == 0 || limit == -1)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       RES ".memory.swap: a swap limit needs a memory limit "
					   "(it limits memory+swap)");
	if (swap < limit)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       RES ".memory.swap: must be at least memory.limit "
					   "(it limits memory+swap)");
	*ret = swap - limit;
	return 0;
}

/* ---- reading linux.resources ---- */

/* An optional integer member: 0 when absent or null, 1 when read, -1 on error. */
static int get_int(json_t *o, const char *prefix, const char *key, int64_t min, int64_t max,
		   const char *expect, int64_t *ret, husk_error **err)
{
	json_t *v = json_object_get(o, key);
	int64_t x;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.%s: must be an integer", prefix,
				       key);
	x = json_integer_value(v);
	if (x < min || x > max)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.%s: must be %s, not %" PRId64,
				       prefix, key, expect, x);
	*ret = x;
	return 1;
}

/* Like get_int, for a member that must be there. */
static int need_int(json_t *o, const char *prefix, const char *key, int64_t min, int64_t max,
		    const char *expect, int64_t *ret, husk_error **err)
{
	int r = get_int(o, prefix, key, min, max, expect, ret, err);

	if (r == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.%s: required", prefix, key);
	return r;
}

/* 0 absent, 1 read, -1 error; *ret is -1/0/1 style: left alone when absent. */
static int get_bool(json_t *o, const char *prefix, const char *key, int *ret, husk_error **err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.%s: must be true or false",
				       prefix, key);
	*ret = json_is_true(v);
	return 1;
}

static int get_string(json_t *o, const char *prefix, const char *key, const char **ret,
		      husk_error **err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.%s: must be a string", prefix,
				       key);
	*ret = json_string_value(v);
	return 1;
}

/* A member that, when present, must be an object (or an array). */
static int get_typed(json_t *o, const char *prefix, const char *key, bool array, json_t **ret,
		     husk_error **err)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (array ? !json_is_array(v) : !json_is_object(v))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s.%s: must be %s", prefix, key,
				       array ? "an array" : "an object");
	*ret = v;
	return 1;
}

/* ---- building the plan ---- */

struct plan {
	int version;
	struct husk_cgroup_write *w;
	size_t n;
	char field[256];
	husk_error **err;
};

/* Sets the field the next writes come from. */
static struct plan *at(struct plan *p, const char *prefix, const char *key)
{
	if (key)
		snprintf(p->field, sizeof(p->field), "%s.%s", prefix, key);
	else
		snprintf(p->field, sizeof(p->field), "%s", prefix);
	return p;
}

__attribute__((format(printf, 5, 6))) static int
add(struct plan *p, const char *controller, const char *file, unsigned flags, const char *fmt, ...)
{
	cleanup_free char *value = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (r < 0 ||
	    husk_cgroup_write_append(&p->w, &p->n, controller, file, p->field, flags, value) < 0)
		return husk_error_set(p->err, ENOMEM, "cgroup plan");
	return 0;
}

/* The last write gets a fallback file name (v1 blkio.weight → blkio.bfq.weight). */
static int add_alt(struct plan *p, const char *alt)
{
	struct husk_cgroup_write *w = &p->w[p->n - 1];

	w->alt_file = strdup(alt);
	return w->alt_file ? 0 : husk_error_set(p->err, ENOMEM, "cgroup plan");
}

static const char *limit_str(char buf[32], int64_t v, const char *unlimited)
{
	if (v < 0)
		return unlimited;
	snprintf(buf, 32, "%" PRId64, v);
	return buf;
}

static int unsupported_v2(struct plan *p, const char *prefix, const char *key)
{
	if (key)
		return husk_error_fail(p->err, HUSK_ERR_UNSUPPORTED,
				       "%s.%s: not supported on cgroup v2", prefix, key);
	return husk_error_fail(p->err, HUSK_ERR_UNSUPPORTED, "%s: not supported on cgroup v2",
			       prefix);
}

/* -- memory -- */

#define MEM	  RES ".memory"
#define BYTES	  "-1 (unlimited) or a number of bytes"
#define SWAPPINSS "between 0 and 100 (or -1: unset)"

struct memory {
	int64_t limit, reservation, swap, kernel_tcp, swappiness;
	int disable_oom, use_hierarchy, check; /* -1: absent */
};

static int read_memory(json_t *o, struct memory *m, husk_error **err)
{
	*m = (struct memory){.swappiness = -1, .disable_oom = -1, .use_hierarchy = -1};
	/* "kernel" (kmem) is deprecated and ignored, as by runc and the kernel. */
	if (get_int(o, MEM, "limit", -1, INT64_MAX, BYTES, &m->limit, err) < 0 ||
	    get_int(o, MEM, "reservation", -1, INT64_MAX, BYTES, &m->reservation, err) < 0 ||
	    get_int(o, MEM, "swap", -1, INT64_MAX, BYTES, &m->swap, err) < 0 ||
	    get_int(o, MEM, "kernelTCP", -1, INT64_MAX, BYTES, &m->kernel_tcp, err) < 0 ||
	    get_int(o, MEM, "swappiness", -1, 100, SWAPPINSS, &m->swappiness, err) < 0 ||
	    get_bool(o, MEM, "disableOOMKiller", &m->disable_oom, err) < 0 ||
	    get_bool(o, MEM, "useHierarchy", &m->use_hierarchy, err) < 0 ||
	    get_bool(o, MEM, "checkBeforeUpdate", &m->check, err) < 0)
		return -1;
	if (m->swap > 0 && m->limit > 0 && m->swap < m->limit)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       MEM ".swap: must be at least memory.limit (it limits "
					   "memory+swap)");
	return 0;
}

static int plan_memory_v1(struct plan *p, const struct memory *m)
{
	unsigned check = m->check == 1 ? HUSK_CGW_CHECK_USAGE : 0;
	bool memsw = m->swap != 0 || m->limit == -1;

	/* memsw must stay >= the limit: the plan writes the limit first and,
	 * when that raises it above the old memsw, memsw before it. */
	if (m->limit != 0 &&
	    add(at(p, MEM, "limit"), "memory", "memory.limit_in_bytes",
		check | (memsw ? HUSK_CGW_RETRY_AFTER_NEXT : 0), "%" PRId64, m->limit) < 0)
		return -1;
	if (m->swap != 0 && add(at(p, MEM, "swap"), "memory", "memory.memsw.limit_in_bytes", 0,
				"%" PRId64, m->swap) < 0)
		return -1;
	/* Unlimited memory with swap unset: memory+swap unlimited too, where
	 * swap accounting exists. */
	if (m->swap == 0 && m->limit == -1 &&
	    add(at(p, MEM, "limit"), "memory", "memory.memsw.limit_in_bytes", HUSK_CGW_OPTIONAL,
		"-1") < 0)
		return -1;
	if (m->reservation != 0 &&
	    add(at(p, MEM, "reservation"), "memory", "memory.soft_limit_in_bytes", 0, "%" PRId64,
		m->reservation) < 0)
		return -1;
	if (m->kernel_tcp != 0 &&
	    add(at(p, MEM, "kernelTCP"), "memory", "memory.kmem.tcp.limit_in_bytes", 0, "%" PRId64,
		m->kernel_tcp) < 0)
		return -1;
	if (m->swappiness >= 0 && add(at(p, MEM, "swappiness"), "memory", "memory.swappiness", 0,
				      "%" PRId64, m->swappiness) < 0)
		return -1;
	if (m->disable_oom >= 0 && add(at(p, MEM, "disableOOMKiller"), "memory",
				       "memory.oom_control", 0, "%d", m->disable_oom) < 0)
		return -1;
	if (m->use_hierarchy >= 0 && add(at(p, MEM, "useHierarchy"), "memory",
					 "memory.use_hierarchy", 0, "%d", m->use_hierarchy) < 0)
		return -1;
	return 0;
}

/* v2 has no kmem/tcp limit, swappiness, OOM-killer switch or hierarchy
 * switch: like runc, those are ignored. */
static int plan_memory_v2(struct plan *p, const struct memory *m)
{
	unsigned check = m->check == 1 ? HUSK_CGW_CHECK_USAGE : 0;
	int64_t swap = 0;
	char buf[32];

	if (husk_cgroup_swap_to_v2(m->swap, m->limit, &swap, p->err) < 0)
		return -1;
	if (m->limit != 0 && add(at(p, MEM, "limit"), "memory", "memory.max", check, "%s",
				 limit_str(buf, m->limit, "max")) < 0)
		return -1;
	/* swap == limit gives memory.swap.max 0: no swap at all. */
	if ((m->swap != 0 || m->limit == -1) &&
	    add(at(p, MEM, m->swap ? "swap" : "limit"), "memory", "memory.swap.max",
		m->swap ? 0 : HUSK_CGW_OPTIONAL, "%s", limit_str(buf, swap, "max")) < 0)
		return -1;
	if (m->reservation != 0 && add(at(p, MEM, "reservation"), "memory", "memory.low", 0, "%s",
				       limit_str(buf, m->reservation, "max")) < 0)
		return -1;
	return 0;
}

static int plan_memory(struct plan *p, json_t *resources)
{
	struct memory m;
	json_t *o;
	int r = get_typed(resources, RES, "memory", false, &o, p->err);

	if (r <= 0)
		return r;
	if (read_memory(o, &m, p->err) < 0)
		return -1;
	return p->version == 1 ? plan_memory_v1(p, &m) : plan_memory_v2(p, &m);
}

/* -- cpu, cpuset -- */

#define CPU    RES ".cpu"
#define USECS  "a number of microseconds"
#define SHARES "between 2 and 262144 (0: unset)"

struct cpu {
	int64_t shares, quota, period, burst, rt_runtime, rt_period, idle;
	bool has_burst, has_idle;
	const char *cpus, *mems;
};

static int check_cpu_list(const char *s, const char *key, husk_error **err)
{
	for (const char *c = s; *c; c++)
		if (!isdigit((unsigned char)*c) && *c != ',' && *c != '-')
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       CPU ".%s: `%s` is not a list like 0-3,5", key, s);
	return 0;
}

static int read_cpu(json_t *o, struct cpu *c, husk_error **err)
{
	int r1, r2;

	*c = (struct cpu){0};
	if (get_int(o, CPU, "shares", 0, 262144, SHARES, &c->shares, err) < 0 ||
	    get_int(o, CPU, "quota", -1, INT64_MAX, "-1 (unlimited) or " USECS, &c->quota, err) <
		0 ||
	    get_int(o, CPU, "period", 0, INT64_MAX, USECS, &c->period, err) < 0 ||
	    get_int(o, CPU, "realtimeRuntime", -1, INT64_MAX, "-1 or " USECS, &c->rt_runtime, err) <
		0 ||
	    get_int(o, CPU, "realtimePeriod", 0, INT64_MAX, USECS, &c->rt_period, err) < 0 ||
	    get_string(o, CPU, "cpus", &c->cpus, err) < 0 ||
	    get_string(o, CPU, "mems", &c->mems, err) < 0)
		return -1;
	if (c->shares == 1)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       CPU ".shares: must be " SHARES ", not 1");
	r1 = get_int(o, CPU, "burst", 0, INT64_MAX, USECS, &c->burst, err);
	r2 = get_int(o, CPU, "idle", 0, 1, "0 or 1", &c->idle, err);
	if (r1 < 0 || r2 < 0)
		return -1;
	c->has_burst = r1 > 0;
	c->has_idle = r2 > 0;
	if ((c->cpus && check_cpu_list(c->cpus, "cpus", err) < 0) ||
	    (c->mems && check_cpu_list(c->mems, "mems", err) < 0))
		return -1;
	return 0;
}

static int plan_cpuset(struct plan *p, const struct cpu *c)
{
	if (c->cpus && c->cpus[0] &&
	    add(at(p, CPU, "cpus"), "cpuset", "cpuset.cpus", 0, "%s", c->cpus) < 0)
		return -1;
	if (c->mems && c->mems[0] &&
	    add(at(p, CPU, "mems"), "cpuset", "cpuset.mems", 0, "%s", c->mems) < 0)
		return -1;
	return 0;
}

/* The kernel refuses cpu.shares/cpu.weight while cpu.idle is 1: weight is
 * written first, and retried after idle when that fails. */
static int plan_cpu_weight_idle(struct plan *p, const struct cpu *c)
{
	unsigned retry = c->has_idle ? HUSK_CGW_RETRY_AFTER_NEXT : 0;

	if (c->shares != 0 && p->version == 1 &&
	    add(at(p, CPU, "shares"), "cpu", "cpu.shares", retry, "%" PRId64, c->shares) < 0)
		return -1;
	if (c->shares != 0 && p->version == 2 &&
	    add(at(p, CPU, "shares"), "cpu", "cpu.weight", retry, "%" PRIu64,
		husk_cgroup_cpu_shares_to_weight((uint64_t)c->shares)) < 0)
		return -1;
	if (c->has_idle && add(at(p, CPU, "idle"), "cpu", "cpu.idle", 0, "%" PRId64, c->idle) < 0)
		return -1;
	return 0;
}

static int plan_cpu_v1(struct plan *p, const struct cpu *c)
{
	/* Period before quota (and rt period before rt runtime) like runc; a
	 * period the kernel refuses with the old quota is retried after it. */
	if (c->period != 0 &&
	    add(at(p, CPU, "period"), "cpu", "cpu.cfs_period_us",
		c->quota ? HUSK_CGW_RETRY_AFTER_NEXT : 0, "%" PRId64, c->period) < 0)
		return -1;
	if (c->quota != 0 &&
	    add(at(p, CPU, "quota"), "cpu", "cpu.cfs_quota_us", 0, "%" PRId64, c->quota) < 0)
		return -1;
	if (c->has_burst &&
	    add(at(p, CPU, "burst"), "cpu", "cpu.cfs_burst_us", 0, "%" PRId64, c->burst) < 0)
		return -1;
	if (c->rt_period != 0 &&
	    add(at(p, CPU, "realtimePeriod"), "cpu", "cpu.rt_period_us",
		c->rt_runtime ? HUSK_CGW_RETRY_AFTER_NEXT : 0, "%" PRId64, c->rt_period) < 0)
		return -1;
	if (c->rt_runtime != 0 && add(at(p, CPU, "realtimeRuntime"), "cpu", "cpu.rt_runtime_us", 0,
				      "%" PRId64, c->rt_runtime) < 0)
		return -1;
	return plan_cpu_weight_idle(p, c);
}

static int plan_cpu_v2(struct plan *p, const struct cpu *c)
{
	char buf[32];

	if (c->rt_runtime != 0 || c->rt_period != 0)
		return unsupported_v2(p, CPU, c->rt_runtime ? "realtimeRuntime" : "realtimePeriod");
	if ((c->quota != 0 || c->period != 0) &&
	    add(at(p, CPU, c->quota ? "quota" : "period"), "cpu", "cpu.max", 0, "%s %" PRId64,
		limit_str(buf, c->quota > 0 ? c->quota : -1, "max"),
		c->period ? c->period : 100000) < 0)
		return -1;
	if (c->has_burst &&
	    add(at(p, CPU, "burst"), "cpu", "cpu.max.burst", 0, "%" PRId64, c->burst) < 0)
		return -1;
	return plan_cpu_weight_idle(p, c);
}

static int plan_cpu(struct plan *p, json_t *resources)
{
	struct cpu c;
	json_t *o;
	int r = get_typed(resources, RES, "cpu", false, &o, p->err);

	if (r <= 0)
		return r;
	if (read_cpu(o, &c, p->err) < 0)
		return -1;
	r = p->version == 1 ? plan_cpu_v1(p, &c) : plan_cpu_v2(p, &c);
	return r < 0 ? r : plan_cpuset(p, &c);
}

/* -- pids -- */

static int plan_pids(struct plan *p, json_t *resources)
{
	int64_t limit = 0;
	json_t *o;
	int r = get_typed(resources, RES, "pids", false, &o, p->err);

	if (r <= 0)
		return r;
	r = get_int(o, RES ".pids", "limit", INT64_MIN, INT64_MAX, "an integer", &limit, p->err);
	if (r <= 0)
		return r;
	/* 0 or negative: no limit (the runtime spec's historical wording). */
	if (limit <= 0)
		return add(at(p, RES ".pids", "limit"), "pids", "pids.max", 0, "max");
	return add(at(p, RES ".pids", "limit"), "pids", "pids.max", 0, "%" PRId64, limit);
}

/* -- blockIO -- */

#define BLKIO  RES ".blockIO"
#define WEIGHT "between 10 and 1000 (0: unset)"

static int check_weight(int64_t w, const char *field, husk_error **err)
{
	if (w != 0 && w < 10)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s: must be " WEIGHT ", not %" PRId64, field, w);
	return 0;
}

static int plan_blkio_weight(struct plan *p, json_t *o)
{
	int64_t weight = 0, leaf = 0;

	if (get_int(o, BLKIO, "weight", 0, 1000, WEIGHT, &weight, p->err) < 0 ||
	    get_int(o, BLKIO, "leafWeight", 0, 1000, WEIGHT, &leaf, p->err) < 0 ||
	    check_weight(weight, BLKIO ".weight", p->err) < 0 ||
	    check_weight(leaf, BLKIO ".leafWeight", p->err) < 0)
		return -1;
	if (p->version == 2) {
		if (leaf != 0)
			return unsupported_v2(p, BLKIO, "leafWeight");
		if (weight != 0 && add(at(p, BLKIO, "weight"), "io", "io.weight", 0, "%" PRIu64,
				       husk_cgroup_blkio_weight_to_io_weight((uint64_t)weight)) < 0)
			return -1;
		return 0;
	}
	/* Without CFQ (kernels >= 5.0) only BFQ's file is there. */
	if (weight != 0 &&
	    (add(at(p, BLKIO, "weight"), "blkio", "blkio.weight", 0, "%" PRId64, weight) < 0 ||
	     add_alt(p, "blkio.bfq.weight") < 0))
		return -1;
	if (leaf != 0 &&
	    add(at(p, BLKIO, "leafWeight"), "blkio", "blkio.leaf_weight", 0, "%" PRId64, leaf) < 0)
		return -1;
	return 0;
}

/* major and minor of one device entry; `prefix` names it ("...[2]"). */
static int read_dev(json_t *e, const char *prefix, int64_t *major, int64_t *minor, husk_error **err)
{
	if (!json_is_object(e))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: must be an object", prefix);
	if (need_int(e, prefix, "major", 0, UINT32_MAX, "a device major number", major, err) < 0 ||
	    need_int(e, prefix, "minor", 0, UINT32_MAX, "a device minor number", minor, err) < 0)
		return -1;
	return 0;
}

static int plan_weight_device(struct plan *p, json_t *e, const char *prefix)
{
	int64_t major = 0, minor = 0, weight = 0, leaf = 0;
	int rw, rl;

	if (read_dev(e, prefix, &major, &minor, p->err) < 0)
		return -1;
	rw = get_int(e, prefix, "weight", 0, 1000, WEIGHT, &weight, p->err);
	rl = get_int(e, prefix, "leafWeight", 0, 1000, WEIGHT, &leaf, p->err);
	if (rw < 0 || rl < 0)
		return -1;
	if (p->version == 2) {
		if (rl > 0)
			return unsupported_v2(p, prefix, "leafWeight");
		if (rw == 0)
			return 0;
		if (weight == 0)
			return add(at(p, prefix, "weight"), "io", "io.weight", 0,
				   "%" PRId64 ":%" PRId64 " default", major, minor);
		return add(at(p, prefix, "weight"), "io", "io.weight", 0,
			   "%" PRId64 ":%" PRId64 " %" PRIu64, major, minor,
			   husk_cgroup_blkio_weight_to_io_weight((uint64_t)weight));
	}
	if (rw > 0 && (add(at(p, prefix, "weight"), "blkio", "blkio.weight_device", 0,
			   "%" PRId64 ":%" PRId64 " %" PRId64, major, minor, weight) < 0 ||
		       add_alt(p, "blkio.bfq.weight_device") < 0))
		return -1;
	if (rl > 0 && add(at(p, prefix, "leafWeight"), "blkio", "blkio.leaf_weight_device", 0,
			  "%" PRId64 ":%" PRId64 " %" PRId64, major, minor, leaf) < 0)
		return -1;
	return 0;
}

static const struct {
	const char *key, *v1_file, *v2_key;
} throttles[] = {
    {"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
    {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
    {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
    {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"},
};

static int plan_throttle(struct plan *p, json_t *e, const char *prefix, size_t t)
{
	int64_t major = 0, minor = 0, rate = 0;

	if (read_dev(e, prefix, &major, &minor, p->err) < 0 ||
	    need_int(e, prefix, "rate", 0, INT64_MAX, "a rate (0: no limit)", &rate, p->err) < 0)
		return -1;
	at(p, prefix, "rate");
	if (p->version == 1)
		return add(p, "blkio", throttles[t].v1_file, 0, "%" PRId64 ":%" PRId64 " %" PRId64,
			   major, minor, rate);
	if (rate == 0)
		return add(p, "io", "io.max", 0, "%" PRId64 ":%" PRId64 " %s=max", major, minor,
			   throttles[t].v2_key);
	return add(p, "io", "io.max", 0, "%" PRId64 ":%" PRId64 " %s=%" PRId64, major, minor,
		   throttles[t].v2_key, rate);
}

/* Calls fn for each element of the array o.key, with its field name. */
static int each_elem(struct plan *p, json_t *o, const char *prefix, const char *key,
		     int (*fn)(struct plan *, json_t *, const char *, size_t), size_t arg)
{
	json_t *a, *e;
	size_t i;
	int r = get_typed(o, prefix, key, true, &a, p->err);

	if (r <= 0)
		return r;
	json_array_foreach (a, i, e) {
		char name[160];
		snprintf(name, sizeof(name), "%s.%s[%zu]", prefix, key, i);
		if (fn(p, e, name, arg) < 0)
			return -1;
	}
	return 0;
}

static int weight_device_cb(struct plan *p, json_t *e, const char *name, size_t arg)
{
	(void)arg;
	return plan_weight_device(p, e, name);
}

static int plan_blkio(struct plan *p, json_t *resources)
{
	json_t *o;
	int r = get_typed(resources, RES, "blockIO", false, &o, p->err);

	if (r <= 0)
		return r;
	if (plan_blkio_weight(p, o) < 0 ||
	    each_elem(p, o, BLKIO, "weightDevice", weight_device_cb, 0) < 0)
		return -1;
	for (size_t t = 0; t < ARRAY_SIZE(throttles); t++)
		if (each_elem(p, o, BLKIO, throttles[t].key, plan_throttle, t) < 0)
			return -1;
	return 0;
}

/* -- hugepageLimits -- */

static bool valid_page_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	/* "2MB", "1GB", "64KB": what the kernel names its hugetlb files. */
	return digits > 0 && s[0] != '0' && strchr("KMGTP", s[digits]) && s[digits] != '\0' &&
	       strcmp(s + digits + 1, "B") == 0;
}

static int plan_hugepage(struct plan *p, json_t *e, const char *prefix, size_t arg)
{
	const char *size = NULL;
	int64_t limit = 0;
	char file[96], rsvd[96];
	bool v1 = p->version == 1;

	(void)arg;
	if (!json_is_object(e))
		return husk_error_fail(p->err, HUSK_ERR_INVALID, "%s: must be an object", prefix);
	if (get_string(e, prefix, "pageSize", &size, p->err) < 0 ||
	    need_int(e, prefix, "limit", 0, INT64_MAX, "a number of bytes", &limit, p->err) < 0)
		return -1;
	if (size == NULL || !valid_page_size(size))
		return husk_error_fail(p->err, HUSK_ERR_INVALID,
				       "%s.pageSize: must be a size like 2MB or 1GB", prefix);
	snprintf(file, sizeof(file), "hugetlb.%s.%s", size, v1 ? "limit_in_bytes" : "max");
	snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.%s", size, v1 ? "limit_in_bytes" : "max");
	at(p, prefix, "limit");
	/* Reservations are limited alike where the kernel has them (5.7+). */
	if (add(p, "hugetlb", file, 0, "%" PRId64, limit) < 0 ||
	    add(p, "hugetlb", rsvd, HUSK_CGW_OPTIONAL, "%" PRId64, limit) < 0)
		return -1;
	return 0;
}

/* -- network (v1 only) -- */

#define NET RES ".network"

static int plan_net_priority(struct plan *p, json_t *e, const char *prefix, size_t arg)
{
	const char *name = NULL;
	int64_t prio = 0;

	(void)arg;
	if (!json_is_object(e))
		return husk_error_fail(p->err, HUSK_ERR_INVALID, "%s: must be an object", prefix);
	if (get_string(e, prefix, "name", &name, p->err) < 0 ||
	    need_int(e, prefix, "priority", 0, UINT32_MAX, "a priority", &prio, p->err) < 0)
		return -1;
	if (name == NULL || name[0] == '\0' || strpbrk(name, " \t\n/") != NULL)
		return husk_error_fail(p->err, HUSK_ERR_INVALID,
				       "%s.name: must be an interface name", prefix);
	return add(at(p, prefix, NULL), "net_prio", "net_prio.ifpriomap", 0, "%s %" PRId64, name,
		   prio);
}

static int plan_network(struct plan *p, json_t *resources)
{
	int64_t classid = 0;
	json_t *o, *prios = NULL;
	int r = get_typed(resources, RES, "network", false, &o, p->err), rc;

	if (r <= 0)
		return r;
	rc = get_int(o, NET, "classID", 0, UINT32_MAX, "a 32-bit class id", &classid, p->err);
	if (rc < 0 || get_typed(o, NET, "priorities", true, &prios, p->err) < 0)
		return -1;
	if (p->version == 2 && (rc > 0 || json_array_size(prios) > 0))
		return unsupported_v2(p, NET, rc > 0 ? "classID" : "priorities");
	if (rc > 0 &&
	    add(at(p, NET, "classID"), "net_cls", "net_cls.classid", 0, "%" PRId64, classid) < 0)
		return -1;
	return each_elem(p, o, NET, "priorities", plan_net_priority, 0);
}

/* -- rdma -- */

static int plan_rdma(struct plan *p, json_t *resources)
{
	const char *dev;
	json_t *o, *e;
	int r = get_typed(resources, RES, "rdma", false, &o, p->err);

	if (r <= 0)
		return r;
	json_object_foreach (o, dev, e) {
		char prefix[160], handles[40] = "", objects[40] = "";
		int64_t v = 0;
		snprintf(prefix, sizeof(prefix), RES ".rdma.%s", dev);
		if (dev[0] == '\0' || strpbrk(dev, " \t\n=") != NULL)
			return husk_error_fail(p->err, HUSK_ERR_INVALID, "%s: not a device name",
					       prefix);
		if (!json_is_object(e))
			return husk_error_fail(p->err, HUSK_ERR_INVALID, "%s: must be an object",
					       prefix);
		if ((r = get_int(e, prefix, "hcaHandles", 0, UINT32_MAX, "a count", &v, p->err)) <
		    0)
			return -1;
		if (r > 0)
			snprintf(handles, sizeof(handles), " hca_handle=%" PRId64, v);
		if ((r = get_int(e, prefix, "hcaObjects", 0, UINT32_MAX, "a count", &v, p->err)) <
		    0)
			return -1;
		if (r > 0)
			snprintf(objects, sizeof(objects), " hca_object=%" PRId64, v);
		if ((handles[0] || objects[0]) && add(at(p, prefix, NULL), "rdma", "rdma.max", 0,
						      "%s%s%s", dev, handles, objects) < 0)
			return -1;
	}
	return 0;
}

/* -- unified (v2 only) -- */

static bool valid_unified_key(const char *k)
{
	const char *dot = strchr(k, '.');

	return dot != NULL && dot != k && dot[1] != '\0' && strchr(k, '/') == NULL &&
	       strstr(k, "..") == NULL;
}

static int plan_unified(struct plan *p, json_t *resources)
{
	const char *key;
	json_t *o, *v;
	int r = get_typed(resources, RES, "unified", false, &o, p->err);

	if (r <= 0)
		return r;
	if (p->version == 1 && json_object_size(o) > 0)
		return husk_error_fail(p->err, HUSK_ERR_UNSUPPORTED,
				       RES ".unified: needs cgroup v2 (this host has v1)");
	json_object_foreach (o, key, v) {
		char controller[64];
		size_t len = strcspn(key, ".");
		if (!valid_unified_key(key) || len >= sizeof(controller))
			return husk_error_fail(p->err, HUSK_ERR_INVALID,
					       RES ".unified.%s: not a cgroup file name", key);
		if (!json_is_string(v))
			return husk_error_fail(p->err, HUSK_ERR_INVALID,
					       RES ".unified.%s: must be a string", key);
		memcpy(controller, key, len);
		controller[len] = '\0';
		/* Core files (cgroup.*) need no controller. */
		if (add(at(p, RES ".unified", key),
			strcmp(controller, "cgroup") == 0 ? NULL : controller, key, 0, "%s",
			json_string_value(v)) < 0)
			return -1;
	}
	return 0;
}

int husk_cgroup_plan(int version, json_t *resources, struct husk_cgroup_write **ret, size_t *ret_n,
		     husk_error **err)
{
	struct plan p = {.version = version, .err = err};
	int r = 0;

	if (version != 1 && version != 2)
		return husk_error_set(err, EINVAL, "cgroup plan: no cgroup version %d", version);
	if (resources && !json_is_object(resources))
		return husk_error_fail(err, HUSK_ERR_INVALID, RES ": must be an object");
	if (resources) {
		/* The unified settings go last: they override the rest. */
		if (plan_memory(&p, resources) < 0 || plan_cpu(&p, resources) < 0 ||
		    plan_pids(&p, resources) < 0 || plan_blkio(&p, resources) < 0 ||
		    each_elem(&p, resources, RES, "hugepageLimits", plan_hugepage, 0) < 0 ||
		    plan_network(&p, resources) < 0 || plan_rdma(&p, resources) < 0 ||
		    plan_unified(&p, resources) < 0)
			r = -1;
	}
	if (r < 0) {
		husk_cgroup_writes_free(p.w, p.n);
		return -1;
	}
	*ret = p.w;
	*ret_n = p.n;
	return 0;
}

bool husk_cgroup_resources_limit_anything(json_t *resources)
{
	struct husk_cgroup_write *w = NULL;
	husk_error *e = NULL;
	size_t n = 0;
	bool any;

	/* v1 has a file for every field but `unified`, whose refusal counts
	 * as a limit too: the answer errs towards saying so. */
	if (husk_cgroup_plan(1, resources, &w, &n, &e) < 0) {
		husk_error_free(&e);
		return true;
	}
	any = n > 0;
	husk_cgroup_writes_free(w, n);
	return any;
}

/* ---- carrying the plan out ---- */

static const char *write_dir(const struct husk_cgroup *cg, const struct husk_cgroup_write *w)
{
	if (cg->version == 2)
		return cg->n > 0 ? cg->dirs[0].dir : NULL;
	return w->controller ? husk_cgroup_dir_for(cg, w->controller) : NULL;
}

static int check_usage(const char *dir, int version, const struct husk_cgroup_write *w,
		       husk_error **err)
{
	cleanup_free char *path = NULL, *text = NULL;
	int64_t limit, usage;

	if (parse_int64(w->value, 0, INT64_MAX, &limit) < 0)
		return 0; /* unlimited */
	if (asprintf(&path, "%s/%s", dir,
		     version == 2 ? "memory.current" : "memory.usage_in_bytes") < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	if (parse_int64(text, 0, INT64_MAX, &usage) == 0 && usage > limit)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "%s: %" PRId64 " is below the current usage of %" PRId64
				       " bytes (memory.checkBeforeUpdate)",
				       w->field, limit, usage);
	return 0;
}

/* One write: 0 (also when an optional file is missing) or -errno with *err set. */
static int write_one(const struct husk_cgroup *cg, const struct husk_cgroup_write *w,
		     husk_error **err)
{
	const char *dir = write_dir(cg, w);
	cleanup_free char *path = NULL;
	int r;

	if (dir == NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "%s: the %s controller is not available on this host",
				       w->field, w->controller ? w->controller : "cgroup");
	if (asprintf(&path, "%s/%s", dir, w->file) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	if (w->alt_file && access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		if (asprintf(&path, "%s/%s", dir, w->alt_file) < 0)
			return husk_error_set(err, ENOMEM, "cgroup");
	}
	if ((w->flags & HUSK_CGW_CHECK_USAGE) && check_usage(dir, cg->version, w, err) < 0)
		return -1;
	r = write_file_at(AT_FDCWD, path, w->value, strlen(w->value), NULL);
	if (r == -ENOENT && (w->flags & HUSK_CGW_OPTIONAL))
		return 0;
	if (r == -ENOENT)
		return husk_error_set(err, ENOENT, "%s: not supported here (no `%s`)", w->field,
				      path);
	if (r < 0)
		return husk_error_set(err, -r, "%s: write `%s` to `%s`", w->field, w->value, path);
	return 0;
}

int husk_cgroup_writes_exec(const struct husk_cgroup *cg, const struct husk_cgroup_write *w,
			    size_t n, husk_error **err)
{
	for (size_t i = 0; i < n; i++) {
		husk_error *first = NULL;
		int r;

		if (!(w[i].flags & HUSK_CGW_RETRY_AFTER_NEXT) || i + 1 == n) {
			if (write_one(cg, &w[i], err) < 0)
				return -1;
			continue;
		}
		r = write_one(cg, &w[i], &first);
		if (r == -EINVAL) {
			/* The order that works depends on the values in place. */
			husk_error_free(&first);
			if (write_one(cg, &w[i + 1], err) < 0 || write_one(cg, &w[i], err) < 0)
				return -1;
			i++;
		} else if (r < 0) {
			if (err && *err == NULL)
				*err = steal_pointer(&first);
			husk_error_free(&first);
			return -1;
		}
	}
	return 0;
}

/* ---- v2: controllers in the parents' cgroup.subtree_control ---- */

struct need {
	const char *controller, *field; /* field NULL: best effort */
};

static bool word_in(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *s = list; s && *s;) {
		s += strspn(s, " \t\n");
		size_t n = strcspn(s, " \t\n");
		if (n == len && strncmp(s, word, n) == 0)
			return true;
		s += n;
	}
	return false;
}

static int read_in(const char *dir, const char *file, char **ret, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	return read_file_at(AT_FDCWD, path, ret, NULL, err);
}

/* Enables in `dir` the needed controllers it does not enable yet. Best
 * effort entries (field NULL) are skipped when missing and their failure
 * ignored. */
static int enable_in(const char *dir, const struct need *need, size_t n, bool best_effort,
		     husk_error **err)
{
	cleanup_free char *enabled = NULL, *available = NULL, *path = NULL;
	const char *field = NULL;
	char buf[256] = "";
	size_t len = 0;
	int r;

	if (read_in(dir, "cgroup.subtree_control", &enabled, best_effort ? NULL : err) < 0 ||
	    read_in(dir, "cgroup.controllers", &available, best_effort ? NULL : err) < 0)
		return best_effort ? 0 : -1;
	for (size_t i = 0; i < n; i++) {
		if (word_in(enabled, need[i].controller))
			continue;
		if (!word_in(available, need[i].controller)) {
			if (best_effort)
				continue;
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       "%s: the %s controller is not available in `%s`",
					       need[i].field, need[i].controller, dir);
		}
		r = snprintf(buf + len, sizeof(buf) - len, "%s+%s", len ? " " : "",
			     need[i].controller);
		if (r < 0 || (size_t)r >= sizeof(buf) - len)
			return husk_error_set(err, E2BIG, "cgroup.subtree_control");
		len += (size_t)r;
		if (field == NULL)
			field = need[i].field;
	}
	if (len == 0)
		return 0;
	if (asprintf(&path, "%s/cgroup.subtree_control", dir) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	r = write_file_at(AT_FDCWD, path, buf, len, NULL);
	if (r < 0 && !best_effort)
		return husk_error_set(err, -r, "enable controllers (%s) for %s in `%s`%s", buf,
				      field, path,
				      r == -EBUSY ? " (it has processes of its own, which cgroup "
						    "v2 allows only without controllers)"
						  : "");
	return 0;
}

/* Calls enable_in for the hierarchy root and every ancestor below it. */
static int enable_in_ancestors(const char *dir, const struct need *need, size_t n, bool best_effort,
			       husk_error **err)
{
	cleanup_free char *p = strdup(dir);
	size_t root = strlen(CGROUP_ROOT);
	char *last;

	if (p == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	last = strrchr(p, '/');
	if (strncmp(p, CGROUP_ROOT "/", root + 1) != 0 || last == NULL || last < p + root)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "cgroup `%s` is not below " CGROUP_ROOT, dir);
	for (char *s = p + root; s && s <= last; s = strchr(s + 1, '/')) {
		*s = '\0';
		int r = enable_in(p, need, n, best_effort, err);
		*s = '/';
		if (r < 0)
			return -1;
	}
	return 0;
}

static int v2_enable_controllers(const struct husk_cgroup *cg, const struct husk_cgroup_write *w,
				 size_t n, husk_error **err)
{
	/* Enabled whether limited or not, so that `events --stats` has
	 * memory.current, pids.current and io.stat; best effort. */
	static const struct need stats[] = {
	    {"cpu", NULL}, {"io", NULL}, {"memory", NULL}, {"pids", NULL}};
	cleanup_free struct need *need = calloc(n + 1, sizeof(*need));
	size_t k = 0;

	if (need == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	for (size_t i = 0; i < n; i++) {
		bool seen = w[i].controller == NULL;
		for (size_t j = 0; !seen && j < k; j++)
			seen = strcmp(need[j].controller, w[i].controller) == 0;
		if (!seen)
			need[k++] = (struct need){w[i].controller, w[i].field};
	}
	if (k > 0 && enable_in_ancestors(cg->dirs[0].dir, need, k, false, err) < 0)
		return -1;
	enable_in_ancestors(cg->dirs[0].dir, stats, ARRAY_SIZE(stats), true, NULL);
	return 0;
}

int husk_cgroup_apply(const struct husk_cgroup *cg, json_t *resources, husk_error **err)
{
	struct husk_cgroup_write *w = NULL;
	json_t *devices = json_object_get(resources, "devices");
	cleanup_json json_t *dev = NULL;
	cleanup_json json_t *empty = NULL;
	size_t n = 0;
	int r;

	if (cg->version == 0 || cg->n == 0)
		return 0;
	if (devices && !json_is_null(devices) && !json_is_array(devices))
		return husk_error_fail(err, HUSK_ERR_INVALID, RES ".devices: must be an array");
	if (husk_cgroup_plan(cg->version, resources, &w, &n, err) < 0)
		return -1;
	/* A new container gets the default rules even without any of its own:
	 * with CAP_MKNOD it could otherwise make and open any device. An
	 * update without rules leaves the ones in place alone. */
	if (!json_is_array(devices) && !husk_cgroup_devices_restricted(cg))
		devices = empty = json_array();
	/* Bad device rules are refused before anything is written. */
	if (json_is_array(devices) &&
	    (dev = husk_cgroup_device_rules_with_defaults(devices, err)) == NULL) {
		husk_cgroup_writes_free(w, n);
		return -1;
	}
	r = cg->version == 2 ? v2_enable_controllers(cg, w, n, err) : 0;
	if (r == 0)
		r = husk_cgroup_writes_exec(cg, w, n, err);
	husk_cgroup_writes_free(w, n);
	if (r == 0 && dev)
		r = husk_cgroup_apply_devices(cg, dev, true, err);
	return r;
}
