/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cgroup_resources.c, cgroup_devices.c and cgroup_stats.c, in
 * TAP: the plan of writes of the v1 and v2 backends field by field (each its
 * own files; none plans nothing), the conversions,
 * errors naming fields, device rules (v1 lines; the eBPF program run through
 * a small interpreter), the executor on plain files, and, as root, real
 * cgroups: v1 hierarchies on a v1 host (with the device filter on the
 * cgroup2 mount of a hybrid one), or v2 (the qemu lane). Every cgroup made
 * here is removed at exit, also on a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_backend.h"
#include "cgroup_resources.h"
#include "util.h"
#include "tap.h"

static void skip(const char *why, const char *desc)
{
	tap_count++;
	printf("ok %u - %s # SKIP %s\n", tap_count, desc, why);
	fflush(stdout);
}

/* Test JSON is written with ' for " to stay readable. */
static json_t *j(const char *text)
{
	cleanup_free char *s = strdup(text);
	json_error_t jerr;
	json_t *v;

	for (char *c = s; c && *c; c++)
		if (*c == '\'')
			*c = '"';
	v = s ? json_loads(s, 0, &jerr) : NULL;
	if (v == NULL)
		TAP_BAIL_OUT("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* One line per write: "controller file=value" plus flags. */
static char *render(const struct husk_cgroup_write *w, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (size_t i = 0; f && i < n; i++)
		fprintf(f, "%s%s %s=%s%s%s%s%s%s", i ? "\n" : "",
			w[i].controller ? w[i].controller : "-", w[i].file, w[i].value,
			w[i].flags & HUSK_CGW_RETRY_AFTER_NEXT ? " +retry" : "",
			w[i].flags & HUSK_CGW_OPTIONAL ? " +optional" : "",
			w[i].flags & HUSK_CGW_CHECK_USAGE ? " +check" : "",
			w[i].alt_file ? " | " : "", w[i].alt_file ? w[i].alt_file : "");
	if (f)
		fclose(f);
	return out;
}

/* The backend whose files a test version means. */
static const struct husk_cgroup_ops *backend(int version)
{
	return version == 1 ? &husk_cgroup_v1_ops : &husk_cgroup_v2_ops;
}

/* The version a real cgroup's backend has, for the descriptions. */
static int vers(const struct husk_cgroup *cg)
{
	return cg->ops == &husk_cgroup_v2_ops ? 2 : 1;
}

static void expect_plan(int version, const char *json, const char *expected, const char *desc)
{
	json_t *res = j(json);
	struct husk_cgroup_write *w = NULL;
	husk_error *err = NULL;
	size_t n = 0;

	if (CHECK_INT_EQ(husk_cgroup_plan(backend(version), res, &w, &n, &err), 0, "v%d %s: plans",
			 version, desc)) {
		cleanup_free char *got = render(w, n);
		CHECK_STR_EQ(got, expected, "v%d %s: the writes", version, desc);
	} else {
		tap_diag_str("error", err ? err->msg : NULL);
	}
	husk_cgroup_writes_free(w, n);
	husk_error_free(&err);
	json_decref(res);
}

static void expect_error(int version, const char *json, const char *message, const char *desc)
{
	json_t *res = j(json);
	struct husk_cgroup_write *w = (void *)1;
	husk_error *err = NULL;
	size_t n = 4242;

	CHECK(husk_cgroup_plan(backend(version), res, &w, &n, &err) < 0, "v%d %s: refused", version,
	      desc);
	CHECK_STR_CONTAINS(err ? err->msg : NULL, message, "v%d %s: the message", version, desc);
	CHECK(w == (void *)1 && n == 4242, "v%d %s: results untouched", version, desc);
	husk_error_free(&err);
	json_decref(res);
}

/* ---- the plan ---- */

static void test_plan_empty(void)
{
	struct husk_cgroup_write *w = (void *)1;
	husk_error *err = NULL;
	size_t n = 1;

	CHECK_INT_EQ(husk_cgroup_plan(backend(1), NULL, &w, &n, &err), 0, "NULL resources plan");
	CHECK(w == NULL && n == 0, "NULL resources: no writes");
	expect_plan(1, "{}", "", "empty");
	expect_plan(2, "{}", "", "empty");
	expect_plan(2, "{'devices': [{'allow': false}], 'memory': null}", "",
		    "devices not planned");
	expect_error(1, "[]", "linux.resources: must be an object", "not an object");
	expect_error(1, "{'memory': 3}", "linux.resources.memory: must be an object",
		     "memory not an object");
	w = (void *)1;
	CHECK(husk_cgroup_plan(&husk_cgroup_none_ops, NULL, &w, &n, &err) < 0 && w == (void *)1,
	      "the none backend has no files to plan");
	CHECK_STR_CONTAINS(err ? err->msg : NULL, "the none backend has no cgroup files",
			   "the none backend: the message");
	husk_error_free(&err);
}

/* What decides the rootless "runs without resource limits" warning. */
static void test_limit_anything(void)
{
	static const struct {
		const char *json;
		bool any;
	} cases[] = {
	    {"{}", false},
	    {"{'devices': [{'allow': false, 'access': 'rwm'}]}", false},
	    {"{'memory': {'limit': 0}, 'cpu': {'shares': 0, 'quota': 0}}", false},
	    {"{'pids': {'limit': 50}}", true},
	    {"{'memory': {'limit': 33554432}}", true},
	    {"{'cpu': {'cpus': '0'}}", true},
	    {"{'unified': {'memory.high': '1M'}}", true},
	    {"{'memory': 3}", true},
	};

	CHECK(!husk_cgroup_resources_limit_anything(NULL), "no resources: no limit");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = j(cases[i].json);
		CHECK(husk_cgroup_resources_limit_anything(r) == cases[i].any, "%s: %s",
		      cases[i].json, cases[i].any ? "a limit" : "no limit");
		json_decref(r);
	}
}

static void test_plan_memory(void)
{
	expect_plan(1, "{'memory': {'limit': 1048576, 'swap': 2097152}}",
		    "memory memory.limit_in_bytes=1048576 +retry\n"
		    "memory memory.memsw.limit_in_bytes=2097152",
		    "memory limit and swap");
	expect_plan(1, "{'memory': {'limit': 1048576}}", "memory memory.limit_in_bytes=1048576",
		    "memory limit alone");
	expect_plan(1, "{'memory': {'limit': -1}}",
		    "memory memory.limit_in_bytes=-1 +retry\n"
		    "memory memory.memsw.limit_in_bytes=-1 +optional",
		    "unlimited memory: swap too");
	expect_plan(1, "{'memory': {'limit': 0, 'swap': 0, 'reservation': 0}}", "",
		    "zeros are unset");
	expect_plan(1, "{'memory': {'swap': -1}}", "memory memory.memsw.limit_in_bytes=-1",
		    "swap alone");
	expect_plan(1,
		    "{'memory': {'limit': 4096, 'reservation': 2048, 'kernel': 1, 'kernelTCP': "
		    "8192, 'swappiness': 10, 'disableOOMKiller': true, 'useHierarchy': true, "
		    "'checkBeforeUpdate': true}}",
		    "memory memory.limit_in_bytes=4096 +check\n"
		    "memory memory.soft_limit_in_bytes=2048\n"
		    "memory memory.kmem.tcp.limit_in_bytes=8192\n"
		    "memory memory.swappiness=10\n"
		    "memory memory.oom_control=1\n"
		    "memory memory.use_hierarchy=1",
		    "every memory field");
	expect_plan(1, "{'memory': {'swappiness': -1, 'disableOOMKiller': false}}",
		    "memory memory.oom_control=0", "swappiness -1 is unset");

	expect_plan(2, "{'memory': {'limit': 1048576, 'swap': 3145728}}",
		    "memory memory.max=1048576\nmemory memory.swap.max=2097152",
		    "swap.max = swap - limit");
	expect_plan(2, "{'memory': {'limit': 1048576, 'swap': 1048576}}",
		    "memory memory.max=1048576\nmemory memory.swap.max=0", "no swap at all");
	expect_plan(2, "{'memory': {'limit': -1}}",
		    "memory memory.max=max\nmemory memory.swap.max=max +optional",
		    "unlimited memory: swap too");
	expect_plan(2, "{'memory': {'limit': 1048576, 'swap': -1}}",
		    "memory memory.max=1048576\nmemory memory.swap.max=max", "unlimited swap");
	expect_plan(2,
		    "{'memory': {'limit': 4096, 'reservation': 2048, 'kernel': 1, 'kernelTCP': "
		    "8192, 'swappiness': 10, 'disableOOMKiller': true, 'useHierarchy': true, "
		    "'checkBeforeUpdate': true}}",
		    "memory memory.max=4096 +check\nmemory memory.low=2048",
		    "v1-only memory fields ignored");
	expect_plan(2, "{'memory': {'reservation': -1}}", "memory memory.low=max",
		    "unlimited reservation");

	expect_error(1, "{'memory': {'limit': -2}}",
		     "linux.resources.memory.limit: must be -1 (unlimited) or a number of bytes",
		     "limit below -1");
	expect_error(2, "{'memory': {'limit': '1g'}}",
		     "linux.resources.memory.limit: must be an integer", "limit a string");
	expect_error(1, "{'memory': {'limit': 2048, 'swap': 1024}}",
		     "linux.resources.memory.swap: must be at least memory.limit",
		     "swap below limit");
	expect_error(2, "{'memory': {'swap': 1024}}",
		     "linux.resources.memory.swap: a swap limit needs a memory limit",
		     "v2 swap without limit");
	expect_error(1, "{'memory': {'swappiness': 101}}", "linux.resources.memory.swappiness",
		     "swappiness above 100");
	expect_error(1, "{'memory': {'disableOOMKiller': 1}}",
		     "linux.resources.memory.disableOOMKiller: must be true or false",
		     "disableOOMKiller not a boolean");
}

static void test_plan_cpu(void)
{
	expect_plan(1,
		    "{'cpu': {'shares': 512, 'quota': 50000, 'period': 100000, 'burst': 1000, "
		    "'realtimeRuntime': 950, 'realtimePeriod': 1000, 'idle': 0, 'cpus': '0-1', "
		    "'mems': '0'}}",
		    "cpu cpu.cfs_period_us=100000 +retry\n"
		    "cpu cpu.cfs_quota_us=50000\n"
		    "cpu cpu.cfs_burst_us=1000\n"
		    "cpu cpu.rt_period_us=1000 +retry\n"
		    "cpu cpu.rt_runtime_us=950\n"
		    "cpu cpu.shares=512 +retry\n"
		    "cpu cpu.idle=0\n"
		    "cpuset cpuset.cpus=0-1\n"
		    "cpuset cpuset.mems=0",
		    "every cpu field");
	expect_plan(1, "{'cpu': {'quota': -1}}", "cpu cpu.cfs_quota_us=-1", "unlimited quota");
	expect_plan(1, "{'cpu': {'period': 20000, 'shares': 0, 'cpus': ''}}",
		    "cpu cpu.cfs_period_us=20000", "period alone; zero and empty unset");

	expect_plan(2,
		    "{'cpu': {'shares': 1024, 'quota': 50000, 'period': 200000, 'burst': 1000, "
		    "'idle': 1, 'cpus': '0-1', 'mems': '0'}}",
		    "cpu cpu.max=50000 200000\n"
		    "cpu cpu.max.burst=1000\n"
		    "cpu cpu.weight=39 +retry\n"
		    "cpu cpu.idle=1\n"
		    "cpuset cpuset.cpus=0-1\n"
		    "cpuset cpuset.mems=0",
		    "every cpu field");
	expect_plan(2, "{'cpu': {'quota': -1}}", "cpu cpu.max=max 100000", "unlimited quota");
	expect_plan(2, "{'cpu': {'quota': 25000}}", "cpu cpu.max=25000 100000",
		    "quota with the default period");
	expect_plan(2, "{'cpu': {'period': 50000}}", "cpu cpu.max=max 50000", "period alone");
	expect_plan(2, "{'cpu': {'shares': 2}}", "cpu cpu.weight=1", "minimum shares");
	expect_plan(2, "{'cpu': {'shares': 262144}}", "cpu cpu.weight=10000", "maximum shares");

	expect_error(2, "{'cpu': {'realtimeRuntime': 950}}",
		     "linux.resources.cpu.realtimeRuntime: not supported on cgroup v2",
		     "realtime on v2");
	expect_error(2, "{'cpu': {'realtimePeriod': 1000}}",
		     "linux.resources.cpu.realtimePeriod: not supported on cgroup v2",
		     "realtime period on v2");
	expect_error(1, "{'cpu': {'shares': 1}}", "linux.resources.cpu.shares: must be between 2",
		     "shares 1");
	expect_error(2, "{'cpu': {'shares': 300000}}",
		     "linux.resources.cpu.shares: must be between 2 and 262144",
		     "shares above the kernel's maximum");
	expect_error(1, "{'cpu': {'quota': -5}}", "linux.resources.cpu.quota: must be -1",
		     "quota below -1");
	expect_error(1, "{'cpu': {'cpus': '0;rm'}}", "linux.resources.cpu.cpus:", "bad cpu list");
	expect_error(2, "{'cpu': {'mems': 7}}", "linux.resources.cpu.mems: must be a string",
		     "mems not a string");
	expect_error(1, "{'cpu': {'idle': 2}}", "linux.resources.cpu.idle: must be 0 or 1",
		     "idle 2");
}

static void test_plan_pids(void)
{
	expect_plan(1, "{'pids': {'limit': 42}}", "pids pids.max=42", "pids limit");
	expect_plan(2, "{'pids': {'limit': 42}}", "pids pids.max=42", "pids limit");
	expect_plan(1, "{'pids': {'limit': -1}}", "pids pids.max=max", "pids unlimited");
	expect_plan(2, "{'pids': {'limit': 0}}", "pids pids.max=max", "pids 0 is unlimited");
	expect_plan(2, "{'pids': {}}", "", "pids without limit");
	expect_error(1, "{'pids': {'limit': 1.5}}",
		     "linux.resources.pids.limit: must be an integer", "pids limit not an integer");
}

static void test_plan_blkio(void)
{
	expect_plan(1,
		    "{'blockIO': {'weight': 500, 'leafWeight': 300, 'weightDevice': [{'major': 8, "
		    "'minor': 0, 'weight': 600, 'leafWeight': 200}, {'major': 8, 'minor': 16, "
		    "'weight': 0}], 'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': "
		    "1048576}], 'throttleWriteBpsDevice': [{'major': 8, 'minor': 0, 'rate': 0}], "
		    "'throttleReadIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 100}], "
		    "'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 50}]}}",
		    "blkio blkio.weight=500 | blkio.bfq.weight\n"
		    "blkio blkio.leaf_weight=300\n"
		    "blkio blkio.weight_device=8:0 600 | blkio.bfq.weight_device\n"
		    "blkio blkio.leaf_weight_device=8:0 200\n"
		    "blkio blkio.weight_device=8:16 0 | blkio.bfq.weight_device\n"
		    "blkio blkio.throttle.read_bps_device=8:0 1048576\n"
		    "blkio blkio.throttle.write_bps_device=8:0 0\n"
		    "blkio blkio.throttle.read_iops_device=8:0 100\n"
		    "blkio blkio.throttle.write_iops_device=8:0 50",
		    "every blockIO field");
	expect_plan(2,
		    "{'blockIO': {'weight': 500, 'weightDevice': [{'major': 8, 'minor': 0, "
		    "'weight': 1000}, {'major': 8, 'minor': 16, 'weight': 0}], "
		    "'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}], "
		    "'throttleWriteBpsDevice': [{'major': 8, 'minor': 0, 'rate': 0}], "
		    "'throttleReadIOPSDevice': [{'major': 254, 'minor': 0, 'rate': 100}], "
		    "'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 50}]}}",
		    "io io.weight=4950\n"
		    "io io.weight=8:0 10000\n"
		    "io io.weight=8:16 default\n"
		    "io io.max=8:0 rbps=1048576\n"
		    "io io.max=8:0 wbps=max\n"
		    "io io.max=254:0 riops=100\n"
		    "io io.max=8:0 wiops=50",
		    "every blockIO field");
	expect_plan(2, "{'blockIO': {'weight': 10}}", "io io.weight=1", "minimum weight");
	expect_error(2, "{'blockIO': {'leafWeight': 100}}",
		     "linux.resources.blockIO.leafWeight: not supported on cgroup v2",
		     "leafWeight on v2");
	expect_error(2,
		     "{'blockIO': {'weightDevice': [{'major': 8, 'minor': 0, 'leafWeight': 100}]}}",
		     "linux.resources.blockIO.weightDevice[0].leafWeight: not supported",
		     "device leafWeight on v2");
	expect_error(1, "{'blockIO': {'weight': 5}}",
		     "linux.resources.blockIO.weight: must be between 10 and 1000", "weight 5");
	expect_error(1, "{'blockIO': {'throttleReadBpsDevice': [{'major': 8, 'rate': 1}]}}",
		     "linux.resources.blockIO.throttleReadBpsDevice[0].minor: required",
		     "throttle without minor");
	expect_error(2, "{'blockIO': {'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0}]}}",
		     "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: required",
		     "throttle without rate");
	expect_error(1, "{'blockIO': {'weightDevice': {'major': 8}}}",
		     "linux.resources.blockIO.weightDevice: must be an array",
		     "weightDevice not an array");
}

static void test_plan_others(void)
{
	expect_plan(1, "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 209715200}]}",
		    "hugetlb hugetlb.2MB.limit_in_bytes=209715200\n"
		    "hugetlb hugetlb.2MB.rsvd.limit_in_bytes=209715200 +optional",
		    "hugepageLimits");
	expect_plan(2, "{'hugepageLimits': [{'pageSize': '1GB', 'limit': 0}]}",
		    "hugetlb hugetlb.1GB.max=0\nhugetlb hugetlb.1GB.rsvd.max=0 +optional",
		    "hugepageLimits");
	expect_error(2, "{'hugepageLimits': [{'pageSize': '2MB/../x', 'limit': 1}]}",
		     "linux.resources.hugepageLimits[0].pageSize: must be a size",
		     "pageSize with a path");
	expect_error(1, "{'hugepageLimits': [{'pageSize': '2MB'}]}",
		     "linux.resources.hugepageLimits[0].limit: required", "hugepage without limit");

	expect_plan(1,
		    "{'network': {'classID': 1048577, 'priorities': [{'name': 'eth0', 'priority': "
		    "5}, {'name': 'lo', 'priority': 2}]}}",
		    "net_cls net_cls.classid=1048577\n"
		    "net_prio net_prio.ifpriomap=eth0 5\n"
		    "net_prio net_prio.ifpriomap=lo 2",
		    "network");
	expect_plan(2, "{'network': {'priorities': []}}", "", "empty network");
	expect_error(2, "{'network': {'classID': 1}}",
		     "linux.resources.network.classID: not supported on cgroup v2",
		     "network on v2");
	expect_error(1, "{'network': {'priorities': [{'name': 'a b', 'priority': 1}]}}",
		     "linux.resources.network.priorities[0].name", "interface name with a blank");

	expect_plan(1, "{'rdma': {'mlx5_1': {'hcaHandles': 3, 'hcaObjects': 10000}}}",
		    "rdma rdma.max=mlx5_1 hca_handle=3 hca_object=10000", "rdma");
	expect_plan(2, "{'rdma': {'mlx4_0': {'hcaObjects': 1000}, 'x': {}}}",
		    "rdma rdma.max=mlx4_0 hca_object=1000", "rdma");
	expect_error(2, "{'rdma': {'mlx4_0': {'hcaHandles': -1}}}",
		     "linux.resources.rdma.mlx4_0.hcaHandles", "negative rdma count");

	expect_plan(2,
		    "{'memory': {'limit': 4096}, 'unified': {'memory.high': '2048', "
		    "'cgroup.max.descendants': '5', 'io.latency': '8:0 target=10'}}",
		    "memory memory.max=4096\n"
		    "memory memory.high=2048\n"
		    "- cgroup.max.descendants=5\n"
		    "io io.latency=8:0 target=10",
		    "unified last, as given");
	expect_error(1, "{'unified': {'memory.high': '1'}}",
		     "linux.resources.unified: needs cgroup v2", "unified on v1");
	expect_plan(1, "{'unified': {}}", "", "empty unified on v1");
	expect_error(2, "{'unified': {'../memory.max': '1'}}",
		     "linux.resources.unified.../memory.max: not a cgroup file name",
		     "unified key with a path");
	expect_error(2, "{'unified': {'memory': '1'}}",
		     "linux.resources.unified.memory: not a cgroup file name",
		     "unified key without a dot");
	expect_error(2, "{'unified': {'memory.high': 1}}",
		     "linux.resources.unified.memory.high: must be a string",
		     "unified value not a string");
}

static void test_plan_fields(void)
{
	json_t *res = j("{'memory': {'limit': 4096}, 'blockIO': {'throttleReadBpsDevice': "
			"[{'major': 8, 'minor': 0, 'rate': 1}]}}");
	struct husk_cgroup_write *w = NULL;
	size_t n = 0;

	if (CHECK_INT_EQ(husk_cgroup_plan(backend(1), res, &w, &n, NULL), 0, "plan for fields") &&
	    CHECK_INT_EQ(n, 2, "two writes")) {
		CHECK_STR_EQ(w[0].field, "linux.resources.memory.limit", "field of memory.limit");
		CHECK_STR_EQ(w[1].field, "linux.resources.blockIO.throttleReadBpsDevice[0].rate",
			     "field of a throttle");
	}
	husk_cgroup_writes_free(w, n);
	json_decref(res);
}

/* One spec, planned by each backend: each writes its own hierarchy's files,
 * and refuses by its own name what its hierarchy lacks. */
static void test_backends_plan_own_files(void)
{
	static const char spec[] =
	    "{'memory': {'limit': 1048576, 'reservation': 524288}, 'cpu': {'shares': 1024, "
	    "'quota': 50000}, 'pids': {'limit': 10}, 'blockIO': {'weight': 500, "
	    "'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1}]}, "
	    "'hugepageLimits': [{'pageSize': '2MB', 'limit': 0}]}";

	expect_plan(1, spec,
		    "memory memory.limit_in_bytes=1048576\n"
		    "memory memory.soft_limit_in_bytes=524288\n"
		    "cpu cpu.cfs_quota_us=50000\n"
		    "cpu cpu.shares=1024\n"
		    "pids pids.max=10\n"
		    "blkio blkio.weight=500 | blkio.bfq.weight\n"
		    "blkio blkio.throttle.read_bps_device=8:0 1\n"
		    "hugetlb hugetlb.2MB.limit_in_bytes=0\n"
		    "hugetlb hugetlb.2MB.rsvd.limit_in_bytes=0 +optional",
		    "one spec: the v1 backend's files");
	expect_plan(2, spec,
		    "memory memory.max=1048576\n"
		    "memory memory.low=524288\n"
		    "cpu cpu.max=50000 100000\n"
		    "cpu cpu.weight=39\n"
		    "pids pids.max=10\n"
		    "io io.weight=4950\n"
		    "io io.max=8:0 rbps=1\n"
		    "hugetlb hugetlb.2MB.max=0\n"
		    "hugetlb hugetlb.2MB.rsvd.max=0 +optional",
		    "one spec: the v2 backend's files");
	CHECK(husk_cgroup_v1_ops.planner != husk_cgroup_v2_ops.planner &&
		  husk_cgroup_none_ops.planner == NULL,
	      "v1 and v2 have planners of their own, none has none");
	CHECK_STR_EQ(husk_cgroup_v1_ops.planner->memory_usage, "memory.usage_in_bytes",
		     "v1 checks memory usage in its own file");
	CHECK_STR_EQ(husk_cgroup_v2_ops.planner->memory_usage, "memory.current",
		     "v2 checks memory usage in its own file");
	expect_plan(1, "{'network': {'priorities': [{'name': 'eth0', 'priority': 1}]}}",
		    "net_prio net_prio.ifpriomap=eth0 1", "net_prio: a v1 file");
	expect_error(2, "{'network': {'priorities': [{'name': 'eth0', 'priority': 1}]}}",
		     "linux.resources.network.priorities: not supported on cgroup v2",
		     "net_prio: none on v2");
	expect_error(2, "{'network': {'priorities': [{'name': 'a b', 'priority': 1}]}}",
		     "linux.resources.network.priorities: not supported on cgroup v2",
		     "net_prio refused before its entries are read");
	expect_error(1, "{'unified': {'cgroup.max.depth': '3'}}",
		     "linux.resources.unified: needs cgroup v2 (this host has v1)",
		     "unified: not v1 files");
	expect_plan(2, "{'unified': {'cgroup.max.depth': '3'}}", "- cgroup.max.depth=3",
		    "unified: v2 core files, no controller");
}

static void test_conversions(void)
{
	int64_t v = 0;
	husk_error *err = NULL;

	CHECK_UINT_EQ(husk_cgroup_cpu_shares_to_weight(0), 0, "shares 0: unset");
	CHECK_UINT_EQ(husk_cgroup_cpu_shares_to_weight(2), 1, "shares 2 → weight 1");
	CHECK_UINT_EQ(husk_cgroup_cpu_shares_to_weight(1024), 39, "shares 1024 → weight 39");
	CHECK_UINT_EQ(husk_cgroup_cpu_shares_to_weight(262144), 10000,
		      "shares 262144 → weight 10000");
	CHECK_UINT_EQ(husk_cgroup_cpu_shares_to_weight(1), 1, "shares 1 clamped, no underflow");
	CHECK_UINT_EQ(husk_cgroup_cpu_shares_to_weight(1u << 20), 10000, "huge shares clamped");
	CHECK_UINT_EQ(husk_cgroup_blkio_weight_to_io_weight(10), 1, "blkio 10 → io 1");
	CHECK_UINT_EQ(husk_cgroup_blkio_weight_to_io_weight(500), 4950, "blkio 500 → io 4950");
	CHECK_UINT_EQ(husk_cgroup_blkio_weight_to_io_weight(1000), 10000, "blkio 1000 → 10000");
	CHECK_UINT_EQ(husk_cgroup_blkio_weight_to_io_weight(0), 0, "blkio 0: unset");

	CHECK(husk_cgroup_swap_to_v2(3000, 1000, &v, NULL) == 0 && v == 2000, "swap 3000-1000");
	CHECK(husk_cgroup_swap_to_v2(0, -1, &v, NULL) == 0 && v == -1,
	      "unlimited memory, swap unset: unlimited swap");
	CHECK(husk_cgroup_swap_to_v2(-1, 1000, &v, NULL) == 0 && v == -1, "unlimited swap");
	CHECK(husk_cgroup_swap_to_v2(0, 1000, &v, NULL) == 0 && v == 0, "swap unset");
	CHECK(husk_cgroup_swap_to_v2(500, 1000, &v, &err) < 0, "swap below limit refused");
	husk_error_free(&err);
	CHECK(husk_cgroup_swap_to_v2(500, -1, &v, &err) < 0, "swap with unlimited memory refused");
	CHECK_STR_CONTAINS(err ? err->msg : NULL, "linux.resources.memory.swap",
			   "swap error names the field");
	husk_error_free(&err);
}

/* ---- devices ---- */

static char *v1_lines(json_t *rules, bool default_deny, husk_error **err)
{
	struct husk_cgroup_write *w = NULL;
	size_t n = 0;
	char *s;

	if (husk_cgroup_devices_v1_plan(rules, default_deny, &w, &n, err) < 0)
		return NULL;
	s = render(w, n);
	husk_cgroup_writes_free(w, n);
	return s;
}

static void test_devices_v1(void)
{
	json_t *def = husk_cgroup_default_device_rules();
	json_t *rules = j("[{'allow': true, 'type': 'c', 'major': 10, 'minor': 200, 'access': "
			  "'rw'}, {'allow': false, 'type': 'b', 'major': 8, 'access': 'm'}]");
	husk_error *err = NULL;
	cleanup_free char *a = v1_lines(def, true, NULL);
	cleanup_free char *b = v1_lines(rules, true, NULL);
	cleanup_free char *c = v1_lines(rules, false, NULL);

	CHECK_INT_EQ(json_array_size(def), 12, "12 default rules");
	CHECK_STR_EQ(a,
		     "devices devices.deny=a *:* rwm\n"
		     "devices devices.allow=c *:* m\n"
		     "devices devices.allow=b *:* m\n"
		     "devices devices.allow=c 1:3 rwm\n"
		     "devices devices.allow=c 1:5 rwm\n"
		     "devices devices.allow=c 1:7 rwm\n"
		     "devices devices.allow=c 1:8 rwm\n"
		     "devices devices.allow=c 1:9 rwm\n"
		     "devices devices.allow=c 5:0 rwm\n"
		     "devices devices.allow=c 5:1 rwm\n"
		     "devices devices.allow=c 5:2 rwm\n"
		     "devices devices.allow=c 136:* rwm",
		     "the default rules: their deny-all first, once");
	CHECK_STR_EQ(b,
		     "devices devices.deny=a *:* rwm\n"
		     "devices devices.allow=c 10:200 rw\n"
		     "devices devices.deny=b 8:* m",
		     "default deny: a deny-all line first");
	CHECK_STR_EQ(c, "devices devices.allow=c 10:200 rw\ndevices devices.deny=b 8:* m",
		     "no default: the rules only");

	static const struct {
		const char *json, *message;
	} bad[] = {
	    {"[{'allow': true, 'type': 'x'}]",
	     "linux.resources.devices[0].type: must be a, b or c"},
	    {"[{'allow': true}, {'allow': true, 'access': 'rwx'}]",
	     "linux.resources.devices[1].access: must be letters of rwm"},
	    {"[{'allow': true, 'access': ''}]", "linux.resources.devices[0].access"},
	    {"[{'type': 'c'}]", "linux.resources.devices[0].allow: required"},
	    {"[{'allow': true, 'major': -2}]", "linux.resources.devices[0].major"},
	    {"[{'allow': true, 'minor': 4294967296}]", "linux.resources.devices[0].minor"},
	    {"{'allow': true}", "linux.resources.devices: must be an array"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *r = j(bad[i].json);
		cleanup_free char *s = v1_lines(r, true, &err);
		CHECK(s == NULL, "bad device rules refused: %s", bad[i].json);
		CHECK_STR_CONTAINS(err ? err->msg : NULL, bad[i].message, "message for %s",
				   bad[i].json);
		husk_error_free(&err);
		json_decref(r);
	}
	json_decref(def);
	json_decref(rules);
}

/* Runs the program on one access, as the kernel would; -1 for an
 * instruction this interpreter (and the generator) does not know. */
static int run_bpf(const struct bpf_insn *p, size_t n, char type, const char *access,
		   uint32_t major, uint32_t minor)
{
	uint32_t acc = 0, ctx[3];
	uint64_t r[11] = {0};

	for (const char *a = access; *a; a++)
		acc |= *a == 'r'   ? BPF_DEVCG_ACC_READ
		       : *a == 'w' ? BPF_DEVCG_ACC_WRITE
				   : BPF_DEVCG_ACC_MKNOD;
	ctx[0] = (acc << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	ctx[1] = major;
	ctx[2] = minor;
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		uint64_t imm = (uint64_t)(int64_t)i->imm;
		bool jump = false;
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (i->src_reg != 1 || i->off < 0 || i->off > 8 || i->off % 4)
				return -1;
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
			r[i->dst_reg] = r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_AND | BPF_K:
			r[i->dst_reg] &= imm;
			break;
		case BPF_ALU64 | BPF_RSH | BPF_K:
			r[i->dst_reg] >>= i->imm;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			jump = r[i->dst_reg] == imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			jump = r[i->dst_reg] != imm;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			return -1;
		}
		if (jump && (i->off < 0 || pc + 1 + (size_t)i->off >= n))
			return -1;
		if (jump)
			pc += (size_t)i->off;
	}
	return -1;
}

struct access_case {
	char type;
	const char *access;
	uint32_t major, minor;
	int verdict;
};

static void check_bpf(const char *desc, json_t *rules, bool default_deny,
		      const struct access_case *cases, size_t n_cases)
{
	struct bpf_insn *p = NULL;
	size_t n = 0;

	if (!CHECK_INT_EQ(husk_cgroup_devices_bpf(rules, default_deny, &p, &n, NULL), 0,
			  "%s: program built", desc))
		return;
	for (size_t i = 0; i < n_cases; i++)
		CHECK_INT_EQ(
		    run_bpf(p, n, cases[i].type, cases[i].access, cases[i].major, cases[i].minor),
		    cases[i].verdict, "%s: %c %u:%u %s", desc, cases[i].type, cases[i].major,
		    cases[i].minor, cases[i].access);
	free(p);
}

static void test_devices_bpf(void)
{
	json_t *def = husk_cgroup_default_device_rules();
	static const struct access_case def_cases[] = {
	    {'c', "r", 1, 3, 1},    {'c', "rw", 1, 3, 1},   {'c', "rwm", 1, 9, 1},
	    {'c', "r", 10, 200, 0}, {'c', "m", 10, 200, 1}, {'c', "rm", 10, 200, 0},
	    {'b', "m", 8, 0, 1},    {'b', "r", 8, 0, 0},    {'c', "rw", 136, 5, 1},
	    {'c', "w", 5, 1, 1},    {'c', "w", 5, 3, 0},    {'b', "r", 1, 3, 0},
	    {'c', "r", 137, 5, 0},  {'c', "r", 1, 4, 0},
	};
	json_t *narrow = j("[{'allow': true, 'access': 'rwm'}, {'allow': false, 'type': 'c', "
			   "'major': 1, 'minor': 3, 'access': 'w'}]");
	static const struct access_case narrow_cases[] = {
	    {'c', "r", 1, 3, 1}, {'c', "w", 1, 3, 0},  {'c', "rw", 1, 3, 0},
	    {'c', "w", 1, 5, 1}, {'b', "rw", 1, 3, 1},
	};
	json_t *widen = j("[{'allow': false, 'type': 'c', 'major': 1, 'minor': 3}, {'allow': "
			  "true, 'type': 'c', 'major': 1, 'access': 'r'}]");
	static const struct access_case widen_cases[] = {
	    {'c', "r", 1, 3, 1}, {'c', "rw", 1, 3, 0}, {'c', "w", 1, 3, 0},
	    {'c', "r", 1, 8, 1}, {'c', "m", 1, 8, 0},
	};
	static const struct access_case allow_by_default[] = {
	    {'c', "r", 1, 3, 1},
	    {'c', "w", 1, 3, 0},
	    {'c', "w", 4, 3, 1},
	    {'b', "m", 7, 0, 1},
	};
	json_t *empty = json_array();
	static const struct access_case deny_all[] = {{'c', "r", 1, 3, 0}, {'b', "m", 8, 0, 0}};
	static const struct access_case allow_all[] = {{'c', "r", 1, 3, 1}, {'b', "m", 8, 0, 1}};
	json_t *split = j("[{'allow': true, 'type': 'c', 'major': 4, 'access': 'r'}, {'allow': "
			  "true, 'type': 'c', 'minor': 7, 'access': 'w'}]");
	static const struct access_case split_cases[] = {
	    {'c', "rw", 4, 7, 1},
	    {'c', "rw", 4, 6, 0},
	    {'c', "w", 5, 7, 1},
	    {'c', "r", 5, 7, 0},
	};
	struct bpf_insn *p = NULL;
	size_t n = 0;

	check_bpf("default rules", def, true, def_cases, ARRAY_SIZE(def_cases));
	check_bpf("later deny narrows", narrow, true, narrow_cases, ARRAY_SIZE(narrow_cases));
	check_bpf("later allow widens", widen, true, widen_cases, ARRAY_SIZE(widen_cases));
	json_array_remove(narrow, 0);
	check_bpf("default allow", narrow, false, allow_by_default, ARRAY_SIZE(allow_by_default));
	check_bpf("no rules, default deny", empty, true, deny_all, ARRAY_SIZE(deny_all));
	check_bpf("no rules, default allow", empty, false, allow_all, ARRAY_SIZE(allow_all));
	check_bpf("access bits from two rules", split, true, split_cases, ARRAY_SIZE(split_cases));
	/* The leading deny-all of the defaults is where the program ends. */
	if (CHECK_INT_EQ(husk_cgroup_devices_bpf(def, true, &p, &n, NULL), 0, "default program"))
		CHECK(n < 120 && p[n - 1].code == (BPF_JMP | BPF_EXIT),
		      "default program: %zu instructions, ends with exit", n);
	free(p);
	json_decref(def);
	json_decref(narrow);
	json_decref(widen);
	json_decref(empty);
	json_decref(split);
}

static void test_devices_merge(void)
{
	json_t *deny_all = j("[{'allow': false, 'access': 'rwm'}]");
	json_t *deny_full =
	    j("[{'allow': true, 'type': 'c', 'major': 4}, {'allow': false, "
	      "'type': 'a'}, {'allow': false, 'type': 'c', 'major': 1, 'minor': 7}]");
	json_t *allow_one = j("[{'allow': true, 'type': 'c', 'major': 10, 'minor': 200}]");
	json_t *bad = j("[{'allow': false}, {'allow': 1}]");
	json_t *def = husk_cgroup_default_device_rules();
	json_t *m1 = husk_cgroup_device_rules_with_defaults(deny_all, NULL);
	json_t *m2 = husk_cgroup_device_rules_with_defaults(deny_full, NULL);
	json_t *m3 = husk_cgroup_device_rules_with_defaults(allow_one, NULL);
	static const struct access_case full_cases[] = {
	    {'c', "rw", 1, 7, 0}, {'c', "rw", 1, 3, 1}, {'c', "r", 4, 1, 0}, {'c', "m", 9, 9, 1}};
	static const struct access_case one_cases[] = {
	    {'c', "rw", 10, 200, 1}, {'c', "rw", 1, 3, 1}, {'c', "r", 10, 201, 0}};
	husk_error *err = NULL;

	CHECK(json_equal(m1, def), "a spec denying all gets exactly the default rules");
	CHECK_INT_EQ(json_array_size(m2), 3 + 11 + 1,
		     "the spec's rules, the defaults, the denying tail again");
	CHECK(json_equal(json_array_get(m2, 2), json_array_get(deny_full, 2)) &&
		  json_equal(json_array_get(m2, 3), json_array_get(def, 1)) &&
		  json_equal(json_array_get(m2, 14), json_array_get(deny_full, 2)),
	      "the spec's rules first, in their order; its denial last");
	check_bpf("spec denies a default device", m2, true, full_cases, ARRAY_SIZE(full_cases));
	CHECK_INT_EQ(json_array_size(m3), 1 + 11, "a tail that only allows is not repeated");
	CHECK(json_equal(json_array_get(m3, 0), json_array_get(allow_one, 0)),
	      "without a deny-all: the spec's rules first, the defaults after");
	check_bpf("spec allows one more device", m3, true, one_cases, ARRAY_SIZE(one_cases));
	CHECK(husk_cgroup_device_rules_with_defaults(bad, &err) == NULL, "bad rules: no merge");
	CHECK_STR_CONTAINS(err ? err->msg : NULL, "linux.resources.devices[1].allow",
			   "bad rules: the field");
	husk_error_free(&err);
	{
		json_t *nodes = j("[{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229}, "
				  "{'path': '/dev/p', 'type': 'p'}, {'path': '/dev/loop9', 'type': "
				  "'b', 'major': 7, 'minor': 9}, {'path': '/dev/u', 'type': 'u', "
				  "'major': 4, 'minor': 1}]");
		json_t *want = j("[{'allow': true, 'type': 'c', 'major': 10, 'minor': 229, "
				 "'access': 'rwm'}, {'allow': true, 'type': 'b', 'major': 7, "
				 "'minor': 9, 'access': 'rwm'}, {'allow': true, 'type': 'c', "
				 "'major': 4, 'minor': 1, 'access': 'rwm'}]");
		json_t *got = husk_cgroup_device_rules_for_nodes(nodes);
		CHECK(json_equal(got, want), "allow rules for the nodes of linux.devices");
		json_decref(nodes);
		json_decref(want);
		json_decref(got);
	}
	json_decref(deny_all);
	json_decref(deny_full);
	json_decref(allow_one);
	json_decref(bad);
	json_decref(def);
	json_decref(m1);
	json_decref(m2);
	json_decref(m3);
}

/* ---- the executor on plain files ---- */

static char fake_root[] = "/tmp/husk-test-cgres-XXXXXX";

static char *read_back(const char *dir, const char *file)
{
	cleanup_free char *path = NULL;
	char *text = NULL;

	if (asprintf(&path, "%s/%s", dir, file) < 0 ||
	    read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static void touch(const char *dir, const char *file)
{
	cleanup_free char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/%s", dir, file) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		TAP_BAIL_OUT("create %s: %s", file, strerror(errno));
	close(fd);
}

static void test_exec_fake(void)
{
	struct husk_cgroup_dir dirs[2] = {{.name = "memory"}, {.name = "blkio"}};
	struct husk_cgroup cg = {.ops = &husk_cgroup_v1_ops, .n = 2, .dirs = dirs};
	cleanup_free char *mem = NULL, *blk = NULL;
	husk_error *err = NULL;
	json_t *res;

	if (mkdtemp(fake_root) == NULL || asprintf(&mem, "%s/memory", fake_root) < 0 ||
	    asprintf(&blk, "%s/blkio", fake_root) < 0 || mkdir(mem, 0755) < 0 ||
	    mkdir(blk, 0755) < 0)
		TAP_BAIL_OUT("temporary directories: %s", strerror(errno));
	dirs[0].dir = mem;
	dirs[1].dir = blk;
	touch(mem, "memory.limit_in_bytes");
	touch(mem, "memory.swappiness");
	touch(blk, "blkio.bfq.weight");

	/* memsw is optional (swap accounting off) and blkio.weight falls back. */
	res = j("{'memory': {'limit': -1, 'swappiness': 0}, 'blockIO': {'weight': 300}}");
	if (!CHECK_INT_EQ(husk_cgroup_apply(&cg, res, &err), 0, "fake v1: applied"))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	json_decref(res);
	{
		cleanup_free char *a = read_back(mem, "memory.limit_in_bytes");
		cleanup_free char *b = read_back(mem, "memory.swappiness");
		cleanup_free char *c = read_back(blk, "blkio.bfq.weight");
		CHECK_STR_EQ(a, "-1", "fake v1: memory.limit_in_bytes written");
		CHECK_STR_EQ(b, "0", "fake v1: memory.swappiness written");
		CHECK_STR_EQ(c, "300", "fake v1: blkio.bfq.weight for blockIO.weight");
	}

	res = j("{'network': {'classID': 7}}");
	CHECK(husk_cgroup_apply(&cg, res, &err) < 0, "fake v1: no net_cls hierarchy");
	CHECK_STR_CONTAINS(err ? err->msg : NULL,
			   "linux.resources.network.classID: the net_cls controller is not "
			   "available on this host",
			   "fake v1: the message names the field and the controller");
	husk_error_free(&err);
	json_decref(res);

	res = j("{'memory': {'kernelTCP': 4096}}");
	CHECK(husk_cgroup_apply(&cg, res, &err) < 0, "fake v1: missing file refused");
	CHECK_STR_CONTAINS(err ? err->msg : NULL,
			   "linux.resources.memory.kernelTCP: not supported here (no `",
			   "fake v1: missing file message");
	husk_error_free(&err);
	json_decref(res);

	res = j("{'memory': {'limit': 4096}, 'devices': [{'allow': 'yes'}]}");
	CHECK(husk_cgroup_apply(&cg, res, &err) < 0, "fake v1: bad device rule refused");
	CHECK_STR_CONTAINS(err ? err->msg : NULL, "linux.resources.devices[0].allow",
			   "fake v1: device rule message");
	husk_error_free(&err);
	json_decref(res);
	{
		cleanup_free char *a = read_back(mem, "memory.limit_in_bytes");
		CHECK_STR_EQ(a, "-1", "fake v1: nothing written before the device rules failed");
	}
	rm_rf_at(AT_FDCWD, fake_root);
}

static char fake_v2_root[] = "/tmp/husk-test-cgres-v2-XXXXXX";

/* The same executor on a v2 cgroup: every write, core files too, goes into
 * the one directory, and v2 enables a write's controller in the ancestors
 * first (refused here, outside /sys/fs/cgroup, before anything is written). */
static void test_exec_fake_v2(void)
{
	struct husk_cgroup_dir d = {.name = "unified"};
	struct husk_cgroup cg = {.ops = &husk_cgroup_v2_ops, .n = 1, .dirs = &d};
	struct husk_cgroup_dir v1d = {.name = "memory"};
	struct husk_cgroup v1 = {.ops = &husk_cgroup_v1_ops, .n = 1, .dirs = &v1d};
	struct husk_cgroup_write *w = NULL;
	husk_error *err = NULL;
	size_t n = 0;
	json_t *res;

	if (mkdtemp(fake_v2_root) == NULL)
		TAP_BAIL_OUT("temporary directory: %s", strerror(errno));
	d.dir = v1d.dir = fake_v2_root;
	touch(fake_v2_root, "memory.max");
	touch(fake_v2_root, "cgroup.max.depth");

	if (husk_cgroup_write_append(&w, &n, "memory", "memory.max", "f.memory", 0, "4096") < 0 ||
	    husk_cgroup_write_append(&w, &n, NULL, "cgroup.max.depth", "f.depth", 0, "3") < 0)
		TAP_BAIL_OUT("out of memory");
	if (!CHECK_INT_EQ(husk_cgroup_writes_exec(&cg, w, n, &err), 0,
			  "fake v2: writes carried out"))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	{
		cleanup_free char *a = read_back(fake_v2_root, "memory.max");
		cleanup_free char *b = read_back(fake_v2_root, "cgroup.max.depth");
		CHECK_STR_EQ(a, "4096", "fake v2: memory.max in the one directory");
		CHECK_STR_EQ(b, "3", "fake v2: a core file in the one directory");
	}
	CHECK(husk_cgroup_writes_exec(&v1, w + 1, 1, &err) < 0,
	      "fake v1: a core file has no hierarchy");
	CHECK_STR_CONTAINS(err ? err->msg : NULL,
			   "f.depth: the cgroup controller is not available on this host",
			   "fake v1: the message");
	husk_error_free(&err);
	husk_cgroup_writes_free(w, n);

	res = j("{'unified': {'cgroup.max.depth': '7'}}");
	if (!CHECK_INT_EQ(husk_cgroup_apply(&cg, res, &err), 0, "fake v2: a core file applied"))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	json_decref(res);
	res = j("{'memory': {'limit': 8192}, 'unified': {'cgroup.max.depth': '9'}}");
	CHECK(husk_cgroup_apply(&cg, res, &err) < 0,
	      "fake v2: the memory controller is enabled first");
	CHECK_STR_CONTAINS(err ? err->msg : NULL, "is not below /sys/fs/cgroup",
			   "fake v2: enabling it is what failed");
	husk_error_free(&err);
	json_decref(res);
	{
		cleanup_free char *a = read_back(fake_v2_root, "memory.max");
		cleanup_free char *b = read_back(fake_v2_root, "cgroup.max.depth");
		CHECK_STR_EQ(a, "4096", "fake v2: memory.max not written");
		CHECK_STR_EQ(b, "7", "fake v2: nothing written when enabling failed");
	}
	rm_rf_at(AT_FDCWD, fake_v2_root);
}

/* Without a cgroup (the none backend, or a zeroed struct) there is nothing
 * to apply: not even bad device rules are looked at. */
static void test_apply_none(void)
{
	struct husk_cgroup zeroed = {0}, none = {.ops = &husk_cgroup_none_ops};
	json_t *res = j("{'memory': {'limit': 4096}, 'devices': [{'allow': 'yes'}]}");
	husk_error *err = NULL;

	CHECK_INT_EQ(husk_cgroup_apply(&zeroed, res, &err), 0, "none (zeroed): nothing applied");
	CHECK_INT_EQ(husk_cgroup_apply(&none, res, &err), 0, "none: nothing applied");
	CHECK_INT_EQ(husk_cgroup_apply_devices(&none, json_object_get(res, "devices"), true, &err),
		     0, "none: no device rules applied");
	CHECK(err == NULL, "none: no error");
	CHECK(husk_cgroup_devices_restricted(&none), "none: counts as restricted");
	json_decref(res);
}

/* ---- real cgroups (root) ---- */

/* Directories to remove at exit, deepest last in the list; signal-safe. */
static char cleanup_dirs[32][256];
static int n_cleanup_dirs;
static pid_t cleanup_child = -1;

static void remove_cgroups(void)
{
	if (cleanup_child > 0) {
		kill(cleanup_child, SIGKILL);
		waitpid(cleanup_child, NULL, 0);
	}
	for (int i = n_cleanup_dirs - 1; i >= 0; i--)
		for (int tries = 0; tries < 100 && rmdir(cleanup_dirs[i]) < 0 && errno == EBUSY;
		     tries++)
			usleep(10000);
	n_cleanup_dirs = 0;
}

static void on_signal(int sig)
{
	remove_cgroups();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void remember_dir(const char *dir)
{
	if (n_cleanup_dirs < 32)
		snprintf(cleanup_dirs[n_cleanup_dirs++], 256, "%s", dir);
}

static void remember_cgroup(const struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s", cg->dirs[i].dir);
		/* Parents first, so that children are removed before them. */
		for (int up = cg->dirs[i].created - 1; up >= 0; up--) {
			char q[256];
			snprintf(q, sizeof(q), "%s", p);
			for (int k = 0; k < up; k++)
				*strrchr(q, '/') = '\0';
			remember_dir(q);
		}
	}
}

static void install_cleanup(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGSEGV, SIGABRT, SIGBUS, SIGHUP};

	atexit(remove_cgroups);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], on_signal);
}

static void expect_file(const struct husk_cgroup *cg, const char *controller, const char *file,
			const char *expected)
{
	cleanup_free char *got = read_back(husk_cgroup_dir_for(cg, controller), file);

	CHECK_STR_EQ(got, expected, "real v%d: %s", vers(cg), file);
}

static void apply_ok(const struct husk_cgroup *cg, const char *json, const char *desc)
{
	json_t *res = j(json);
	husk_error *err = NULL;

	if (!CHECK_INT_EQ(husk_cgroup_apply(cg, res, &err), 0, "real v%d: %s", vers(cg), desc))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	json_decref(res);
}

/* A child in the cgroup, with a few MB of its own charged there. */
static pid_t start_member(const struct husk_cgroup *cg)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		size_t len = 4 << 20;
		volatile char *mem;
		if (husk_cgroup_enter(cg, getpid(), NULL) < 0)
			_exit(1);
		/* volatile: the compiler must not drop the allocation. */
		mem = malloc(len);
		for (size_t i = 0; mem && i < len; i += 1024)
			mem[i] = 1;
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	cleanup_child = pid;
	return pid;
}

static void stop_member(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	cleanup_child = -1;
}

/* json_object_get along "a.b.c". */
static json_t *json_object_path_get(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o && (dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o ? json_object_get(o, path) : NULL;
}

static void check_stats(const struct husk_cgroup *cg, int64_t mem_limit)
{
	json_t *s = NULL;
	husk_error *err = NULL;
	uint64_t ooms = 99;

	if (!CHECK_INT_EQ(husk_cgroup_stats(cg, &s, &err), 0, "real v%d: stats", vers(cg))) {
		tap_diag_str("error", err ? err->msg : NULL);
		husk_error_free(&err);
		return;
	}
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(s, "pids"), "current")), 1,
		     "real v%d: stats pids.current", vers(cg));
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(s, "pids"), "limit")), 42,
		     "real v%d: stats pids.limit", vers(cg));
	CHECK_INT_EQ(json_integer_value(json_object_path_get(s, "memory.usage.limit")), mem_limit,
		     "real v%d: stats memory.usage.limit", vers(cg));
	CHECK(json_integer_value(json_object_path_get(s, "memory.usage.usage")) >= (4 << 20),
	      "real v%d: stats memory.usage.usage counts the member's 4 MB", vers(cg));
	CHECK(json_is_integer(json_object_path_get(s, "cpu.usage.user")),
	      "real v%d: stats cpu.usage.user", vers(cg));
	CHECK(json_is_object(json_object_path_get(s, "memory.raw")), "real v%d: stats memory.raw",
	      vers(cg));
	CHECK(json_is_object(json_object_get(s, "blkio")), "real v%d: stats blkio", vers(cg));
	CHECK(husk_cgroup_oom_count(cg, &ooms) == 0 && ooms == 0, "real v%d: no OOM kill",
	      vers(cg));
	json_decref(s);
}

static void check_usage_refused(const struct husk_cgroup *cg)
{
	json_t *res = j("{'memory': {'limit': 1048576, 'checkBeforeUpdate': true}}");
	husk_error *err = NULL;

	CHECK(husk_cgroup_apply(cg, res, &err) < 0, "real v%d: checkBeforeUpdate refuses",
	      vers(cg));
	CHECK_STR_CONTAINS(err ? err->msg : NULL, "below the current usage",
			   "real v%d: checkBeforeUpdate message", vers(cg));
	husk_error_free(&err);
	json_decref(res);
}

static void check_devices_list(const struct husk_cgroup *cg, bool with_rule, const char *when)
{
	const char *dir = husk_cgroup_dir_for(cg, "devices");
	cleanup_free char *list = NULL, *lp = NULL;

	if (dir == NULL) {
		skip("no devices hierarchy", when);
		return;
	}
	if (asprintf(&lp, "%s/devices.list", dir) >= 0)
		read_file_at(AT_FDCWD, lp, &list, NULL, NULL);
	CHECK(list && (strstr(list, "c 10:200 rw\n") != NULL) == with_rule,
	      "real v1, %s: c 10:200 %s", when, with_rule ? "allowed" : "not allowed");
	CHECK_STR_CONTAINS(list, "c 1:3 rwm\n", "real v1, %s: the defaults", when);
	CHECK(list && strstr(list, "a *:* rwm") == NULL, "real v1, %s: not everything", when);
}

static void test_real_v1(void)
{
	struct husk_cgroup cg = {0};
	husk_error *err = NULL;
	char path[64];
	pid_t member;
	json_t *res;

	snprintf(path, sizeof(path), "/husk-unit-%d", (int)getpid());
	if (husk_cgroup_create(path, "unit", false, &cg, &err) < 0) {
		CHECK(false, "real v1: create %s: %s", path, err ? err->msg : "");
		husk_error_free(&err);
		return;
	}
	remember_cgroup(&cg);
	apply_ok(&cg, "{'pids': {'limit': 40}}", "without device rules");
	check_devices_list(&cg, false, "a new cgroup gets the defaults");
	apply_ok(&cg,
		 "{'memory': {'limit': 67108864, 'swap': 134217728}, 'cpu': {'shares': 512, "
		 "'quota': 50000, 'period': 100000, 'cpus': '0'}, 'pids': {'limit': 42}, "
		 "'devices': [{'allow': false, 'access': 'rwm'}, {'allow': true, 'type': 'c', "
		 "'major': 10, 'minor': 200, 'access': 'rw'}]}",
		 "memory, cpu, pids, devices");
	expect_file(&cg, "memory", "memory.limit_in_bytes", "67108864");
	expect_file(&cg, "cpu", "cpu.cfs_quota_us", "50000");
	expect_file(&cg, "cpu", "cpu.cfs_period_us", "100000");
	expect_file(&cg, "cpu", "cpu.shares", "512");
	expect_file(&cg, "cpuset", "cpuset.cpus", "0");
	expect_file(&cg, "pids", "pids.max", "42");
	check_devices_list(&cg, true, "after rules of the spec");
	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0) {
		expect_file(&cg, "memory", "memory.memsw.limit_in_bytes", "134217728");
		/* Raising needs memsw first, lowering the limit first. */
		apply_ok(&cg, "{'memory': {'limit': 268435456, 'swap': 536870912}}",
			 "raise memory and memory+swap");
		expect_file(&cg, "memory", "memory.limit_in_bytes", "268435456");
		expect_file(&cg, "memory", "memory.memsw.limit_in_bytes", "536870912");
		apply_ok(&cg, "{'memory': {'limit': 33554432, 'swap': 50331648}}",
			 "lower memory and memory+swap");
		expect_file(&cg, "memory", "memory.memsw.limit_in_bytes", "50331648");
	} else {
		skip("no swap accounting", "real v1: memory+swap ordering");
		apply_ok(&cg, "{'memory': {'limit': 33554432}}", "lower memory");
	}
	expect_file(&cg, "memory", "memory.limit_in_bytes", "33554432");
	check_devices_list(&cg, true, "an update without rules keeps them");
	res = j("{'hugepageLimits': [{'pageSize': '2MB', 'limit': 0}]}");
	if (husk_cgroup_dir_for(&cg, "hugetlb") == NULL) {
		CHECK(husk_cgroup_apply(&cg, res, &err) < 0, "real v1: no hugetlb hierarchy");
		CHECK_STR_CONTAINS(err ? err->msg : NULL,
				   "linux.resources.hugepageLimits[0].limit: the hugetlb "
				   "controller is not available",
				   "real v1: the missing controller is named");
		husk_error_free(&err);
	}
	json_decref(res);

	member = start_member(&cg);
	if (CHECK(member > 0, "real v1: a member process")) {
		check_stats(&cg, 33554432);
		check_usage_refused(&cg);
	}
	stop_member(member);
	CHECK_INT_EQ(husk_cgroup_destroy(&cg, &err), 0, "real v1: cgroup removed");
	husk_error_free(&err);
	husk_cgroup_clear(&cg);
}

/* A child that joins the cgroup (v2 dir) and opens two devices: exit status
 * bit 0 = /dev/null opened, bit 1 = /dev/full opened. */
static int try_devices(const char *dir)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		char path[300];
		int fd, bits = 0;
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(100);
		close(fd);
		if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
			bits |= 1;
			close(fd);
		}
		if ((fd = open("/dev/full", O_RDWR | O_CLOEXEC)) >= 0) {
			bits |= 2;
			close(fd);
		}
		_exit(bits);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int attached_programs(const char *dir)
{
	uint32_t ids[8];
	union bpf_attr attr;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = 8;
	r = (int)syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr));
	close(fd);
	return r < 0 ? -1 : (int)attr.query.prog_cnt;
}

/* The eBPF filter on a real cgroup2 directory: dir must exist. */
static void test_bpf_filter(const char *dir, const char *where)
{
	struct husk_cgroup_dir d = {.name = "unified", .dir = (char *)dir};
	struct husk_cgroup cg = {.ops = &husk_cgroup_v2_ops, .n = 1, .dirs = &d};
	json_t *rules = husk_cgroup_default_device_rules();
	json_t *deny_null = j("{'allow': false, 'type': 'c', 'major': 1, 'minor': 3}");
	husk_error *err = NULL;

	if (!CHECK_INT_EQ(husk_cgroup_apply_devices(&cg, rules, true, &err), 0,
			  "%s: device filter attached", where))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	CHECK_INT_EQ(try_devices(dir), 3, "%s: /dev/null and /dev/full open", where);
	json_array_remove(rules, 5); /* c 1:7, /dev/full */
	json_array_append(rules, deny_null);
	if (!CHECK_INT_EQ(husk_cgroup_apply_devices(&cg, rules, true, &err), 0,
			  "%s: device filter replaced", where))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	CHECK_INT_EQ(try_devices(dir), 0, "%s: then neither opens", where);
	CHECK_INT_EQ(attached_programs(dir), 1, "%s: one program attached", where);
	json_decref(rules);
	json_decref(deny_null);
}

static void test_hybrid_bpf(void)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/unified/husk-unit-%d", (int)getpid());
	if (mkdir(dir, 0755) < 0) {
		skip(strerror(errno), "eBPF device filter on the hybrid cgroup2 mount");
		return;
	}
	remember_dir(dir);
	test_bpf_filter(dir, "hybrid cgroup2");
	remove_cgroups();
}

static void test_real_v2(void)
{
	struct husk_cgroup cg = {0};
	husk_error *err = NULL;
	char path[64];
	pid_t member;

	/* Two levels: the middle one needs controllers enabled too. */
	snprintf(path, sizeof(path), "/husk-unit-%d/a", (int)getpid());
	if (husk_cgroup_create(path, "unit", false, &cg, &err) < 0) {
		CHECK(false, "real v2: create %s: %s", path, err ? err->msg : "");
		husk_error_free(&err);
		return;
	}
	remember_cgroup(&cg);
	apply_ok(&cg, "{}", "without device rules");
	CHECK_INT_EQ(attached_programs(cg.dirs[0].dir), 1, "real v2: a new cgroup gets a filter");
	CHECK_INT_EQ(try_devices(cg.dirs[0].dir), 3, "real v2: the defaults allow null and full");
	apply_ok(&cg,
		 "{'memory': {'limit': 67108864, 'swap': 134217728}, 'cpu': {'shares': 1024, "
		 "'quota': 50000, 'cpus': '0'}, 'pids': {'limit': 42}, 'unified': {'memory.high': "
		 "'60000000'}}",
		 "memory, cpu, pids, unified");
	expect_file(&cg, "memory", "memory.max", "67108864");
	expect_file(&cg, "memory", "memory.high", "59998208");
	expect_file(&cg, "cpu", "cpu.max", "50000 100000");
	expect_file(&cg, "cpu", "cpu.weight", "39");
	expect_file(&cg, "cpuset", "cpuset.cpus", "0");
	expect_file(&cg, "pids", "pids.max", "42");
	{
		cleanup_free char *swap = read_back(cg.dirs[0].dir, "memory.swap.max");
		if (swap)
			CHECK_STR_EQ(swap, "67108864", "real v2: memory.swap.max = swap - limit");
		else
			skip("no swap accounting", "real v2: memory.swap.max");
	}
	if (getenv("HUSK_VM_BLOCKDEV")) {
		apply_ok(&cg,
			 "{'blockIO': {'throttleReadBpsDevice': [{'major': 254, 'minor': 0, "
			 "'rate': 1048576}]}}",
			 "throttle on the lane's disk");
		cleanup_free char *io = read_back(cg.dirs[0].dir, "io.max");
		CHECK_STR_CONTAINS(io, "254:0 rbps=1048576", "real v2: io.max");
	}
	test_bpf_filter(cg.dirs[0].dir, "real v2");
	apply_ok(&cg, "{'pids': {'limit': 42}}", "an update without device rules");
	CHECK_INT_EQ(try_devices(cg.dirs[0].dir), 0, "real v2: the device filter stays");
	member = start_member(&cg);
	if (CHECK(member > 0, "real v2: a member process")) {
		check_stats(&cg, 67108864);
		check_usage_refused(&cg);
	}
	stop_member(member);
	CHECK_INT_EQ(husk_cgroup_destroy(&cg, &err), 0, "real v2: cgroup removed");
	husk_error_free(&err);
	husk_cgroup_clear(&cg);
}

static void test_real(void)
{
	int layout = husk_cgroup_layout();

	if (geteuid() != 0) {
		skip("not root", "real cgroups");
		return;
	}
	install_cleanup();
	if (layout == HUSK_CGROUP_V1) {
		test_real_v1();
		remove_cgroups();
		if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
			test_hybrid_bpf();
		else
			skip("no cgroup2 mount", "eBPF device filter on a hybrid host");
	} else if (layout == HUSK_CGROUP_UNIFIED) {
		test_real_v2();
	} else {
		skip("no cgroups", "real cgroups");
	}
	remove_cgroups();
}

int main(void)
{
	test_plan_empty();
	test_limit_anything();
	test_plan_memory();
	test_plan_cpu();
	test_plan_pids();
	test_plan_blkio();
	test_plan_others();
	test_plan_fields();
	test_backends_plan_own_files();
	test_conversions();
	test_devices_v1();
	test_devices_bpf();
	test_devices_merge();
	test_exec_fake();
	test_exec_fake_v2();
	test_apply_none();
	test_real();
	return tap_done();
}
