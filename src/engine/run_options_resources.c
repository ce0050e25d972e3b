/* SPDX-License-Identifier: MIT */
/* `run`'s resource options: memory, CPU, pids, ulimits, devices. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "run_parsers.h"
#include "units.h"
#include "util.h"

#define CPU_PERIOD 100000    /* microseconds, docker's for --cpus */
#define MIN_MEMORY (6 << 20) /* docker's minimum: less cannot even start a shell */

static int bad(husk_error **err, const char *flag, const char *v, const char *why)
{
	return husk_error_fail(err, HUSK_ERR_INVALID, "%s `%s`: %s", flag, v, why);
}

int run_parse_memory(struct run_options *o, const char *v, husk_error **err)
{
	int64_t n;

	if (parse_size_bytes(v, &n) < 0)
		return bad(err, "--memory", v, "not a size (e.g. 512m, 1g)");
	if (n < MIN_MEMORY)
		return bad(err, "--memory", v, "the minimum is 6m");
	o->resources.memory = n;
	return 0;
}

int run_parse_memory_swap(struct run_options *o, const char *v, husk_error **err)
{
	int64_t n;

	if (strcmp(v, "-1") == 0) {
		o->resources.memory_swap = -1;
		return 0;
	}
	if (parse_size_bytes(v, &n) < 0 || n == 0)
		return bad(err, "--memory-swap", v, "not a size (e.g. 1g) nor -1 (unlimited)");
	o->resources.memory_swap = n;
	return 0;
}

int run_check_resources(const struct run_options *o, husk_error **err)
{
	const struct run_resources *r = &o->resources;

	if (r->memory_swap != 0 && r->memory == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--memory-swap needs --memory: it is memory and swap "
				       "together");
	if (r->memory_swap > 0 && r->memory_swap < r->memory)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--memory-swap (%" PRId64
				       " bytes) must be at least --memory "
				       "(%" PRId64 " bytes): it is memory and swap together",
				       r->memory_swap, r->memory);
	return 0;
}

int run_parse_cpus(struct run_options *o, const char *v, husk_error **err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char *end;
	double cpus;

	errno = 0;
	cpus = strtod(v, &end);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || !isfinite(cpus))
		return bad(err, "--cpus", v, "not a number of CPUs (e.g. 1.5)");
	if (ncpu < 1)
		ncpu = 1;
	if (cpus < 0.01 || cpus > (double)ncpu) {
		char why[80];
		snprintf(why, sizeof(why), "must be from 0.01 to %ld (the CPUs available)", ncpu);
		return bad(err, "--cpus", v, why);
	}
	o->resources.cpu_period = CPU_PERIOD;
	o->resources.cpu_quota = (int64_t)(cpus * CPU_PERIOD + 0.5); /* cpus > 0: rounded */
	return 0;
}

int run_parse_cpu_shares(struct run_options *o, const char *v, husk_error **err)
{
	int64_t n;

	/* The kernel's range; 0 is docker's "not set". */
	if (parse_int64(v, 0, 262144, &n) < 0 || (n != 0 && n < 2))
		return bad(err, "--cpu-shares", v, "must be a number from 2 to 262144");
	o->resources.cpu_shares = n;
	return 0;
}

/* "N" or "N-M" (N <= M); *ret_max the highest CPU named. */
static int cpu_range(const char *s, size_t len, int *ret_max)
{
	char buf[24], *dash;
	int64_t lo, hi;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_int64(buf, 0, 8191, &lo) < 0)
		return -1;
	hi = lo;
	if (dash && (parse_int64(dash + 1, lo, 8191, &hi) < 0))
		return -1;
	if (hi > *ret_max)
		*ret_max = (int)hi;
	return 0;
}

int run_cpu_list_check(const char *s, int *ret_max)
{
	int max = -1;

	if (*s == '\0')
		return -1;
	for (;;) {
		size_t len = strcspn(s, ",");
		if (!isdigit((unsigned char)s[0]) || cpu_range(s, len, &max) < 0)
			return -1;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	if (ret_max)
		*ret_max = max;
	return 0;
}

/* Whether each CPU of list is online here (the cgroup write would fail). */
static bool cpus_online(const char *list)
{
	cleanup_free char *online = NULL;
	size_t len;
	int max = -1, online_max = -1;

	if (read_file_at(AT_FDCWD, "/sys/devices/system/cpu/online", &online, &len, NULL) < 0)
		return true; /* cannot tell: the kernel will */
	online[strcspn(online, "\n")] = '\0';
	if (run_cpu_list_check(list, &max) < 0 || run_cpu_list_check(online, &online_max) < 0)
		return true;
	/* Online CPUs are one range on every machine husk runs on; a gap
	 * (hot-unplugged CPU) is left to the kernel. */
	return max <= online_max;
}

int run_parse_cpuset_cpus(struct run_options *o, const char *v, husk_error **err)
{
	char *copy;

	if (run_cpu_list_check(v, NULL) < 0)
		return bad(err, "--cpuset-cpus", v, "not a CPU list (e.g. 0-2,4)");
	if (!cpus_online(v))
		return bad(err, "--cpuset-cpus", v, "names a CPU this host does not have online");
	copy = strdup(v);
	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "--cpuset-cpus");
	free(o->resources.cpuset_cpus);
	o->resources.cpuset_cpus = copy;
	return 0;
}

int run_parse_pids_limit(struct run_options *o, const char *v, husk_error **err)
{
	int64_t n;

	if (parse_int64(v, -1, INT64_MAX, &n) < 0)
		return bad(err, "--pids-limit", v, "must be a number (0 or -1: unlimited)");
	o->resources.pids_limit = n <= 0 ? -1 : n;
	return 0;
}

/* Docker's ulimit names. */
static const struct {
	const char *name;
	int resource;
} ulimit_names[] = {
    {"core", RLIMIT_CORE},	   {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},	   {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},	   {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},	   {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},	   {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},	   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static int ulimit_resource(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(ulimit_names); i++)
		if (strlen(ulimit_names[i].name) == len &&
		    strncmp(ulimit_names[i].name, name, len) == 0)
			return ulimit_names[i].resource;
	return -1;
}

static int ulimit_value(const char *s, int64_t *ret)
{
	return parse_int64(s, -1, INT64_MAX, ret);
}

static int ulimit_set(struct run_options *o, const struct run_ulimit *u, husk_error **err)
{
	struct run_ulimit *n;

	for (size_t i = 0; i < o->n_ulimits; i++)
		if (o->ulimits[i].resource == u->resource) {
			o->ulimits[i] = *u; /* the last one wins, as docker's */
			return 0;
		}
	n = realloc(o->ulimits, (o->n_ulimits + 1) * sizeof(*n));
	if (n == NULL)
		return husk_error_set(err, ENOMEM, "--ulimit");
	n[o->n_ulimits++] = *u;
	o->ulimits = n;
	return 0;
}

/* -1 is unlimited: above any other value. */
static bool ulimit_above(int64_t a, int64_t b)
{
	return b != -1 && (a == -1 || a > b);
}

int run_parse_ulimit(struct run_options *o, const char *v, husk_error **err)
{
	size_t name_len = strcspn(v, "=");
	struct run_ulimit u;
	cleanup_free char *values = NULL;
	char *colon;

	if (v[name_len] != '=')
		return bad(err, "--ulimit", v, "must be NAME=SOFT[:HARD] (e.g. nofile=1024:2048)");
	u.resource = ulimit_resource(v, name_len);
	if (u.resource < 0)
		return bad(err, "--ulimit", v,
			   "unknown limit (core, cpu, data, fsize, locks, memlock, msgqueue, nice, "
			   "nofile, nproc, rss, rtprio, rttime, sigpending, stack)");
	values = strdup(v + name_len + 1);
	if (values == NULL)
		return husk_error_set(err, ENOMEM, "--ulimit");
	colon = strchr(values, ':');
	if (colon)
		*colon++ = '\0';
	if (ulimit_value(values, &u.soft) < 0 || (colon && ulimit_value(colon, &u.hard) < 0))
		return bad(err, "--ulimit", v, "the limits must be numbers (-1: unlimited)");
	if (colon == NULL)
		u.hard = u.soft;
	if (ulimit_above(u.soft, u.hard))
		return bad(err, "--ulimit", v, "the soft limit is above the hard one");
	return ulimit_set(o, &u, err);
}

static bool access_valid(const char *s)
{
	const char *order = "rwm";
	size_t len = strlen(s);

	if (len == 0 || len > 3)
		return false;
	for (size_t i = 0; i < len; i++)
		if (strchr(order, s[i]) == NULL || memchr(s, s[i], i) != NULL)
			return false;
	return true;
}

/* The access letters in their usual order ("mr" → "rm"). */
static void access_normalize(const char *s, char ret[4])
{
	size_t n = 0;

	for (const char *c = "rwm"; *c; c++)
		if (strchr(s, *c))
			ret[n++] = *c;
	ret[n] = '\0';
}

static int device_fields(const char *v, char *parts[3], size_t *ret_n, husk_error **err)
{
	char *copy = strdup(v), *p = copy;
	size_t n = 0;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "--device");
	while (p && n < 3) {
		char *colon = strchr(p, ':');
		if (colon)
			*colon++ = '\0';
		parts[n] = strdup(p);
		if (parts[n++] == NULL) {
			free(copy);
			return husk_error_set(err, ENOMEM, "--device");
		}
		p = colon;
	}
	free(copy);
	*ret_n = n;
	if (p != NULL)
		return bad(err, "--device", v, "must be HOST[:CONTAINER][:PERMISSIONS]");
	return 0;
}

static int device_add(struct run_options *o, struct run_device *d, husk_error **err)
{
	struct run_device *n = realloc(o->devices, (o->n_devices + 1) * sizeof(*n));

	if (n == NULL)
		return husk_error_set(err, ENOMEM, "--device");
	n[o->n_devices++] = *d;
	o->devices = n;
	return 0;
}

int run_parse_device(struct run_options *o, const char *v, husk_error **err)
{
	char *parts[3] = {NULL, NULL, NULL};
	struct run_device d = {.access = "rwm"};
	const char *perms = NULL, *ctr = NULL;
	size_t n = 0;
	int r = device_fields(v, parts, &n, err);

	if (r == 0) {
		/* HOST:PERMISSIONS when the second part is not a path */
		if (n == 2 && parts[1][0] != '/')
			perms = parts[1];
		else if (n >= 2)
			ctr = parts[1];
		if (n == 3)
			perms = parts[2];
		if (perms && !access_valid(perms))
			r = bad(err, "--device", v, "the permissions must be some of r, w and m");
		else if (parts[0][0] != '/' || (ctr && ctr[0] != '/'))
			r = bad(err, "--device", v, "the device paths must be absolute");
	}
	if (r == 0) {
		if (perms)
			access_normalize(perms, d.access);
		d.host = run_path_clean(parts[0]);
		d.container = run_path_clean(ctr ? ctr : parts[0]);
		if (d.host == NULL || d.container == NULL)
			r = husk_error_set(err, ENOMEM, "--device");
	}
	if (r == 0)
		r = device_add(o, &d, err);
	if (r < 0) {
		free(d.host);
		free(d.container);
	}
	for (size_t i = 0; i < 3; i++)
		free(parts[i]);
	return r;
}
