/* SPDX-License-Identifier: MIT */
/* linux.resources: reading and checking it, planning it through a backend's
 * planner, and carrying the plan out on cgroupfs. */
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

#include "cgroup_backend.h"
#include "util.h"

#define RES HUSK_RES

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

struct husk_cgroup_plan *husk_plan_at(struct husk_cgroup_plan *p, const char *prefix,
				      const char *key)
{
	if (key)
		snprintf(p->field, sizeof(p->field), "%s.%s", prefix, key);
	else
		snprintf(p->field, sizeof(p->field), "%s", prefix);
	return p;
}

int husk_plan_add(struct husk_cgroup_plan *p, const char *controller, const char *file,
		  unsigned flags, const char *fmt, ...)
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

int husk_plan_add_alt(struct husk_cgroup_plan *p, const char *alt)
{
	struct husk_cgroup_write *w = &p->w[p->n - 1];

	w->alt_file = strdup(alt);
	return w->alt_file ? 0 : husk_error_set(p->err, ENOMEM, "cgroup plan");
}

const char *husk_plan_limit(char buf[32], int64_t v, const char *unlimited)
{
	if (v < 0)
		return unlimited;
	snprintf(buf, 32, "%" PRId64, v);
	return buf;
}

int husk_plan_unsupported(struct husk_cgroup_plan *p, const char *prefix, const char *key)
{
	if (key)
		return husk_error_fail(p->err, HUSK_ERR_UNSUPPORTED, "%s.%s: not supported on %s",
				       prefix, key, p->planner->name);
	return husk_error_fail(p->err, HUSK_ERR_UNSUPPORTED, "%s: not supported on %s", prefix,
			       p->planner->name);
}

/* -- memory -- */

#define MEM	  HUSK_RES_MEMORY
#define BYTES	  "-1 (unlimited) or a number of bytes"
#define SWAPPINSS "between 0 and 100 (or -1: unset)"

static int read_memory(json_t *o, struct husk_res_memory *m, husk_error **err)
{
	*m = (struct husk_res_memory){.swappiness = -1, .disable_oom = -1, .use_hierarchy = -1};
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

static int plan_memory(struct husk_cgroup_plan *p, json_t *resources)
{
	struct husk_res_memory m;
	json_t *o;
	int r = get_typed(resources, RES, "memory", false, &o, p->err);

	if (r <= 0)
		return r;
	if (read_memory(o, &m, p->err) < 0)
		return -1;
	return p->planner->memory(p, &m);
}

/* -- cpu, cpuset -- */

#define CPU    HUSK_RES_CPU
#define USECS  "a number of microseconds"
#define SHARES "between 2 and 262144 (0: unset)"

static int check_cpu_list(const char *s, const char *key, husk_error **err)
{
	for (const char *c = s; *c; c++)
		if (!isdigit((unsigned char)*c) && *c != ',' && *c != '-')
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       CPU ".%s: `%s` is not a list like 0-3,5", key, s);
	return 0;
}

static int read_cpu(json_t *o, struct husk_res_cpu *c, husk_error **err)
{
	int r1, r2;

	*c = (struct husk_res_cpu){0};
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

static int plan_cpuset(struct husk_cgroup_plan *p, const struct husk_res_cpu *c)
{
	if (c->cpus && c->cpus[0] &&
	    husk_plan_add(husk_plan_at(p, CPU, "cpus"), "cpuset", "cpuset.cpus", 0, "%s", c->cpus) <
		0)
		return -1;
	if (c->mems && c->mems[0] &&
	    husk_plan_add(husk_plan_at(p, CPU, "mems"), "cpuset", "cpuset.mems", 0, "%s", c->mems) <
		0)
		return -1;
	return 0;
}

/* The kernel refuses cpu.shares/cpu.weight while cpu.idle is 1: weight is
 * written first, and retried after idle when that fails. */
int husk_plan_cpu_weight_idle(struct husk_cgroup_plan *p, const struct husk_res_cpu *c,
			      const char *weight_file, uint64_t weight)
{
	unsigned retry = c->has_idle ? HUSK_CGW_RETRY_AFTER_NEXT : 0;

	if (c->shares != 0 && husk_plan_add(husk_plan_at(p, CPU, "shares"), "cpu", weight_file,
					    retry, "%" PRIu64, weight) < 0)
		return -1;
	if (c->has_idle && husk_plan_add(husk_plan_at(p, CPU, "idle"), "cpu", "cpu.idle", 0,
					 "%" PRId64, c->idle) < 0)
		return -1;
	return 0;
}

static int plan_cpu(struct husk_cgroup_plan *p, json_t *resources)
{
	struct husk_res_cpu c;
	json_t *o;
	int r = get_typed(resources, RES, "cpu", false, &o, p->err);

	if (r <= 0)
		return r;
	if (read_cpu(o, &c, p->err) < 0)
		return -1;
	r = p->planner->cpu(p, &c);
	return r < 0 ? r : plan_cpuset(p, &c);
}

/* -- pids -- */

static int plan_pids(struct husk_cgroup_plan *p, json_t *resources)
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
		return husk_plan_add(husk_plan_at(p, RES ".pids", "limit"), "pids", "pids.max", 0,
				     "max");
	return husk_plan_add(husk_plan_at(p, RES ".pids", "limit"), "pids", "pids.max", 0,
			     "%" PRId64, limit);
}

/* -- blockIO -- */

#define BLKIO  HUSK_RES_BLKIO
#define WEIGHT "between 10 and 1000 (0: unset)"

static int check_weight(int64_t w, const char *field, husk_error **err)
{
	if (w != 0 && w < 10)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s: must be " WEIGHT ", not %" PRId64, field, w);
	return 0;
}

static int plan_blkio_weight(struct husk_cgroup_plan *p, json_t *o)
{
	int64_t weight = 0, leaf = 0;

	if (get_int(o, BLKIO, "weight", 0, 1000, WEIGHT, &weight, p->err) < 0 ||
	    get_int(o, BLKIO, "leafWeight", 0, 1000, WEIGHT, &leaf, p->err) < 0 ||
	    check_weight(weight, BLKIO ".weight", p->err) < 0 ||
	    check_weight(leaf, BLKIO ".leafWeight", p->err) < 0)
		return -1;
	return p->planner->blkio_weight(p, weight, leaf);
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

static int plan_weight_device(struct husk_cgroup_plan *p, json_t *e, const char *prefix, size_t arg)
{
	struct husk_res_weight_device d = {0};
	int rw, rl;

	(void)arg;
	if (read_dev(e, prefix, &d.major, &d.minor, p->err) < 0)
		return -1;
	rw = get_int(e, prefix, "weight", 0, 1000, WEIGHT, &d.weight, p->err);
	rl = get_int(e, prefix, "leafWeight", 0, 1000, WEIGHT, &d.leaf, p->err);
	if (rw < 0 || rl < 0)
		return -1;
	d.has_weight = rw > 0;
	d.has_leaf = rl > 0;
	return p->planner->blkio_weight_device(p, prefix, &d);
}

static const char *const throttle_keys[] = {
    [HUSK_THROTTLE_READ_BPS] = "throttleReadBpsDevice",
    [HUSK_THROTTLE_WRITE_BPS] = "throttleWriteBpsDevice",
    [HUSK_THROTTLE_READ_IOPS] = "throttleReadIOPSDevice",
    [HUSK_THROTTLE_WRITE_IOPS] = "throttleWriteIOPSDevice",
};

static int plan_throttle(struct husk_cgroup_plan *p, json_t *e, const char *prefix, size_t t)
{
	int64_t major = 0, minor = 0, rate = 0;

	if (read_dev(e, prefix, &major, &minor, p->err) < 0 ||
	    need_int(e, prefix, "rate", 0, INT64_MAX, "a rate (0: no limit)", &rate, p->err) < 0)
		return -1;
	return p->planner->blkio_throttle(husk_plan_at(p, prefix, "rate"),
					  (enum husk_res_throttle)t, major, minor, rate);
}

/* Calls fn for each element of the array o.key, with its field name. */
static int each_elem(struct husk_cgroup_plan *p, json_t *o, const char *prefix, const char *key,
		     int (*fn)(struct husk_cgroup_plan *, json_t *, const char *, size_t),
		     size_t arg)
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

static int plan_blkio(struct husk_cgroup_plan *p, json_t *resources)
{
	json_t *o;
	int r = get_typed(resources, RES, "blockIO", false, &o, p->err);

	if (r <= 0)
		return r;
	if (plan_blkio_weight(p, o) < 0 ||
	    each_elem(p, o, BLKIO, "weightDevice", plan_weight_device, 0) < 0)
		return -1;
	for (size_t t = 0; t < ARRAY_SIZE(throttle_keys); t++)
		if (each_elem(p, o, BLKIO, throttle_keys[t], plan_throttle, t) < 0)
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

static int plan_hugepage(struct husk_cgroup_plan *p, json_t *e, const char *prefix, size_t arg)
{
	const char *size = NULL;
	int64_t limit = 0;

	(void)arg;
	if (!json_is_object(e))
		return husk_error_fail(p->err, HUSK_ERR_INVALID, "%s: must be an object", prefix);
	if (get_string(e, prefix, "pageSize", &size, p->err) < 0 ||
	    need_int(e, prefix, "limit", 0, INT64_MAX, "a number of bytes", &limit, p->err) < 0)
		return -1;
	if (size == NULL || !valid_page_size(size))
		return husk_error_fail(p->err, HUSK_ERR_INVALID,
				       "%s.pageSize: must be a size like 2MB or 1GB", prefix);
	return p->planner->hugepage(husk_plan_at(p, prefix, "limit"), size, limit);
}

/* -- network -- */

#define NET HUSK_RES_NETWORK

static int plan_net_priority(struct husk_cgroup_plan *p, json_t *e, const char *prefix, size_t arg)
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
	return p->planner->net_priority(husk_plan_at(p, prefix, NULL), name, prio);
}

static int plan_network(struct husk_cgroup_plan *p, json_t *resources)
{
	const struct husk_cgroup_planner *pl = p->planner;
	int64_t classid = 0;
	json_t *o, *prios = NULL;
	int r = get_typed(resources, RES, "network", false, &o, p->err), rc;
	bool no_classid, no_prio;

	if (r <= 0)
		return r;
	rc = get_int(o, NET, "classID", 0, UINT32_MAX, "a 32-bit class id", &classid, p->err);
	if (rc < 0 || get_typed(o, NET, "priorities", true, &prios, p->err) < 0)
		return -1;
	/* Refused before the entries are read: the hierarchy has no such files. */
	no_classid = rc > 0 && pl->net_classid == NULL;
	no_prio = json_array_size(prios) > 0 && pl->net_priority == NULL;
	if (no_classid || no_prio)
		return husk_plan_unsupported(p, NET, no_classid ? "classID" : "priorities");
	if (rc > 0 && pl->net_classid(husk_plan_at(p, NET, "classID"), classid) < 0)
		return -1;
	return each_elem(p, o, NET, "priorities", plan_net_priority, 0);
}

/* -- rdma -- */

static int plan_rdma(struct husk_cgroup_plan *p, json_t *resources)
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
		if ((handles[0] || objects[0]) &&
		    husk_plan_add(husk_plan_at(p, prefix, NULL), "rdma", "rdma.max", 0, "%s%s%s",
				  dev, handles, objects) < 0)
			return -1;
	}
	return 0;
}

/* -- unified -- */

static int plan_unified(struct husk_cgroup_plan *p, json_t *resources)
{
	json_t *o;
	int r = get_typed(resources, RES, "unified", false, &o, p->err);

	if (r <= 0)
		return r;
	return p->planner->unified(p, o);
}

int husk_cgroup_plan(const struct husk_cgroup_ops *backend, json_t *resources,
		     struct husk_cgroup_write **ret, size_t *ret_n, husk_error **err)
{
	struct husk_cgroup_plan p = {.planner = backend->planner, .err = err};
	int r = 0;

	if (p.planner == NULL)
		return husk_error_set(
		    err, EINVAL, "cgroup plan: the %s backend has no cgroup files", backend->name);
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
	if (husk_cgroup_plan(&husk_cgroup_v1_ops, resources, &w, &n, &e) < 0) {
		husk_error_free(&e);
		return true;
	}
	any = n > 0;
	husk_cgroup_writes_free(w, n);
	return any;
}

/* ---- carrying the plan out ---- */

static int check_usage(const struct husk_cgroup *cg, const char *dir,
		       const struct husk_cgroup_write *w, husk_error **err)
{
	const struct husk_cgroup_planner *pl = cg->ops ? cg->ops->planner : NULL;
	cleanup_free char *path = NULL, *text = NULL;
	int64_t limit, usage;

	if (pl == NULL || parse_int64(w->value, 0, INT64_MAX, &limit) < 0)
		return 0; /* unlimited */
	if (asprintf(&path, "%s/%s", dir, pl->memory_usage) < 0)
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
	const char *dir = husk_cgroup_dir_for(cg, w->controller);
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
	if ((w->flags & HUSK_CGW_CHECK_USAGE) && check_usage(cg, dir, w, err) < 0)
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

/* ---- applying ---- */

int husk_cgroupfs_apply(const struct husk_cgroup *cg, json_t *resources,
			int (*prepare)(const struct husk_cgroup *cg,
				       const struct husk_cgroup_write *w, size_t n,
				       husk_error **err),
			husk_error **err)
{
	struct husk_cgroup_write *w = NULL;
	json_t *devices = json_object_get(resources, "devices");
	cleanup_json json_t *dev = NULL;
	cleanup_json json_t *empty = NULL;
	size_t n = 0;
	int r;

	if (cg->n == 0)
		return 0;
	if (devices && !json_is_null(devices) && !json_is_array(devices))
		return husk_error_fail(err, HUSK_ERR_INVALID, RES ".devices: must be an array");
	if (husk_cgroup_plan(cg->ops, resources, &w, &n, err) < 0)
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
	r = prepare ? prepare(cg, w, n, err) : 0;
	if (r == 0)
		r = husk_cgroup_writes_exec(cg, w, n, err);
	husk_cgroup_writes_free(w, n);
	if (r == 0 && dev)
		r = husk_cgroup_apply_devices(cg, dev, true, err);
	return r;
}
