/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the cgroup interface (cgroup.h) and its backends, in TAP:
 * state written before backends existed still loads (and is deleted by what
 * it names), the none backend's answers, who moves a new init in, and that
 * each backend reads and writes its own files (directories, freezer, OOM
 * counter, pids), on plain files under /tmp. As root on a cgroupfs host, a
 * real cgroup below a directory that existed before: destroy removes only
 * what create made. Every directory made here is removed at exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_backend.h"
#include "util.h"
#include "tap.h"

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

static char fake_root[] = "/tmp/husk-test-cgroup-XXXXXX";

/* FAKE/NAME, made. */
static char *fake_dir(const char *name)
{
	char *d = NULL;

	if (asprintf(&d, "%s/%s", fake_root, name) < 0 || mkdir_p(d, 0755, NULL) < 0)
		TAP_BAIL_OUT("make %s", name);
	return d;
}

/* Sets DIR/FILE to text (empty: the file exists, empty). */
static void put(const char *dir, const char *file, const char *text)
{
	cleanup_free char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/%s", dir, file) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    write_all(fd, text, strlen(text)) < 0)
		TAP_BAIL_OUT("write %s: %s", file, strerror(errno));
	close(fd);
}

static char *get(const char *dir, const char *file)
{
	cleanup_free char *path = NULL;
	char *text = NULL;

	if (asprintf(&path, "%s/%s", dir, file) < 0 ||
	    read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

/* ---- the state ---- */

static void expect_state(const char *json, const struct husk_cgroup_ops *ops, size_t n,
			 const char *desc)
{
	json_t *o = j(json);
	struct husk_cgroup cg;
	husk_error *err = NULL;

	if (CHECK_INT_EQ(husk_cgroup_from_json(o, &cg, &err), 0, "%s: loads", desc)) {
		CHECK(cg.ops == ops, "%s: the %s backend", desc, ops->name);
		CHECK_INT_EQ(cg.n, n, "%s: %zu directories", desc, n);
	} else {
		tap_diag_str("error", err ? err->msg : NULL);
	}
	husk_error_free(&err);
	husk_cgroup_clear(&cg);
	json_decref(o);
}

static void test_state(void)
{
	static const char old_v1[] =
	    "{'version': 1, 'dirs': [{'name': 'cpu,cpuacct', 'dir': '/sys/fs/cgroup/cpu,cpuacct/"
	    "husk-a', 'created': 1}, {'name': 'memory', 'dir': '/sys/fs/cgroup/memory/husk-a', "
	    "'created': 1}, {'name': 'unified', 'dir': '/sys/fs/cgroup/unified/husk-a', 'created': "
	    "1}]}";
	json_t *o = j(old_v1), *o2, *back;
	struct husk_cgroup cg;
	husk_error *err = NULL;

	/* What husk wrote before there were backends. */
	expect_state(old_v1, &husk_cgroup_v1_ops, 3, "old v1 state");
	expect_state("{'version': 2, 'dirs': [{'name': 'unified', 'dir': "
		     "'/sys/fs/cgroup/husk-a', 'created': 1}]}",
		     &husk_cgroup_v2_ops, 1, "old v2 state");
	expect_state("{'version': 0, 'dirs': []}", &husk_cgroup_none_ops, 0, "old state, none");
	expect_state("{}", &husk_cgroup_none_ops, 0, "no version: none");
	expect_state("{'backend': 'cgroupfs-v2', 'version': 2, 'dirs': [{'name': 'unified', "
		     "'dir': '/x', 'created': 0}]}",
		     &husk_cgroup_v2_ops, 1, "by backend name");
	expect_state("{'backend': 'none', 'version': 0}", &husk_cgroup_none_ops, 0, "none by name");
	static const char *const bad[] = {
	    "{'backend': 'systemd', 'version': 2, 'dirs': []}",
	    "{'backend': 7}",
	    "{'version': 3, 'dirs': []}",
	    "{'version': 1, 'dirs': [{'name': 'memory'}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *b = j(bad[i]);
		CHECK(husk_cgroup_from_json(b, &cg, &err) < 0 && cg.ops == NULL && cg.n == 0,
		      "refused: %s", bad[i]);
		CHECK_STR_CONTAINS(err ? err->msg : NULL, "state.json: corrupt cgroup entry",
				   "the message for %s", bad[i]);
		husk_error_free(&err);
		json_decref(b);
	}

	/* Written back: the backend's name, and what older husk reads. */
	if (CHECK_INT_EQ(husk_cgroup_from_json(o, &cg, NULL), 0, "old v1 state loads")) {
		back = husk_cgroup_to_json(&cg);
		CHECK_STR_EQ(json_string_value(json_object_get(back, "backend")), "cgroupfs-v1",
			     "saved with the backend's name");
		CHECK_INT_EQ(json_integer_value(json_object_get(back, "version")), 1,
			     "saved with the version older husk reads");
		CHECK(json_equal(json_object_get(back, "dirs"), json_object_get(o, "dirs")),
		      "the directories saved as they were read");
		json_decref(back);
	}
	husk_cgroup_clear(&cg);
	back = husk_cgroup_to_json(&cg);
	o2 = j("{'backend': 'none', 'version': 0}");
	CHECK(json_equal(back, o2), "a cleared cgroup saves as none");
	json_decref(back);
	json_decref(o2);
	json_decref(o);
}

/* ---- none ---- */

static void test_none(void)
{
	struct husk_cgroup zeroed = {0}, none = {.ops = &husk_cgroup_none_ops};
	const struct husk_cgroup *all[] = {&zeroed, &none};
	cleanup_free pid_t *pids = NULL;
	husk_error *err = NULL;
	json_t *stats = NULL;
	uint64_t ooms = 42;
	size_t n = 7;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		const struct husk_cgroup *cg = all[i];
		const char *what = i == 0 ? "zeroed" : "none";
		CHECK(husk_cgroup_is_none(cg), "%s: is none", what);
		CHECK(husk_cgroup_dir_for(cg, "memory") == NULL && husk_cgroup_v2_dir(cg) == NULL &&
			  husk_cgroup_unified_dir(cg) == NULL,
		      "%s: no directory", what);
		CHECK(husk_cgroup_enter(cg, getpid(), &err) == 0 &&
			  husk_cgroup_enter_child(cg, getpid(), false, &err) == 0 &&
			  husk_cgroup_enter_as_init(cg, false, &err) == 0 &&
			  husk_cgroup_enter_self(cg, false, &err) == 0 && err == NULL,
		      "%s: nothing to join", what);
		CHECK(husk_cgroup_pids(cg, &pids, &n, &err) < 0 && pids == NULL && n == 0 &&
			  husk_error_is(err, HUSK_ERR_UNSUPPORTED),
		      "%s: no pids to list", what);
		CHECK_STR_EQ(err ? err->msg : NULL, "the container has no cgroup", "%s: pids",
			     what);
		husk_error_free(&err);
		CHECK(husk_cgroup_stats(cg, &stats, &err) < 0 && stats == NULL, "%s: no stats",
		      what);
		CHECK_STR_EQ(err ? err->msg : NULL, "the container has no cgroup", "%s: stats",
			     what);
		husk_error_free(&err);
		CHECK(husk_cgroup_freeze(cg, true, &err) < 0 && !husk_cgroup_is_frozen(cg),
		      "%s: no freezer", what);
		CHECK_STR_EQ(err ? err->msg : NULL, "the container has no freezer cgroup",
			     "%s: freeze", what);
		husk_error_free(&err);
		CHECK_INT_EQ(husk_cgroup_kill(cg), -ENOTSUP, "%s: no cgroup.kill", what);
		CHECK(husk_cgroup_oom_count(cg, &ooms) == -ENOENT && ooms == 42,
		      "%s: no OOM counter", what);
		CHECK_INT_EQ(husk_cgroup_destroy(cg, &err), 0, "%s: nothing to remove", what);
	}
}

/* ---- who moves a new init in ---- */

static void test_enter(void)
{
	cleanup_free char *mem = fake_dir("enter/memory"), *uni = fake_dir("enter/unified");
	cleanup_free char *v2 = fake_dir("enter/v2");
	struct husk_cgroup_dir d1[] = {{.name = "memory", .dir = mem},
				       {.name = "unified", .dir = uni}};
	struct husk_cgroup_dir d2[] = {{.name = "unified", .dir = v2}};
	struct husk_cgroup hybrid = {.ops = &husk_cgroup_v1_ops, .n = 2, .dirs = d1};
	struct husk_cgroup unified = {.ops = &husk_cgroup_v2_ops, .n = 1, .dirs = d2};
	char self[24];
	husk_error *err = NULL;

	snprintf(self, sizeof(self), "%d", (int)getpid());
#define RESET()                                                                                    \
	do {                                                                                       \
		put(mem, "tasks", "");                                                             \
		put(mem, "cgroup.procs", "");                                                      \
		put(uni, "cgroup.procs", "");                                                      \
		put(v2, "cgroup.procs", "");                                                       \
	} while (0)
#define EXPECT(dir, file, text, ...)                                                               \
	do {                                                                                       \
		cleanup_free char *got_ = get(dir, file);                                          \
		CHECK_STR_EQ(got_, text, __VA_ARGS__);                                             \
	} while (0)

	CHECK(husk_cgroup_v1_ops.init_joins_itself && !husk_cgroup_v2_ops.init_joins_itself,
	      "the v1 init moves itself, the v2 one is moved");

	RESET();
	CHECK_INT_EQ(husk_cgroup_enter_child(&hybrid, 4242, false, &err), 0, "v1: parent's part");
	EXPECT(mem, "cgroup.procs", "", "v1: the runtime moves nobody");
	EXPECT(uni, "cgroup.procs", "", "v1: not into the unified dir either");
	CHECK_INT_EQ(husk_cgroup_enter_as_init(&hybrid, false, &err), 0, "v1: init's part");
	EXPECT(mem, "tasks", "0", "v1: the init writes 0 to tasks");
	EXPECT(uni, "cgroup.procs", "0", "v1: and 0 to the unified cgroup.procs");
	RESET();
	CHECK_INT_EQ(husk_cgroup_enter_as_init(&hybrid, true, &err), 0, "v1 born in: init's part");
	EXPECT(mem, "tasks", "0", "v1 born in: tasks still written");
	EXPECT(uni, "cgroup.procs", "", "v1 born in: not the unified dir it was cloned into");
	RESET();
	CHECK_INT_EQ(husk_cgroup_enter_self(&hybrid, false, &err), 0, "v1: exec joins");
	EXPECT(mem, "tasks", "0", "v1: exec writes 0 to tasks");

	RESET();
	CHECK_INT_EQ(husk_cgroup_enter_as_init(&unified, false, &err), 0, "v2: init's part");
	EXPECT(v2, "cgroup.procs", "", "v2: the init moves nothing");
	CHECK_INT_EQ(husk_cgroup_enter_child(&unified, 4242, false, &err), 0, "v2: parent's part");
	EXPECT(v2, "cgroup.procs", "4242", "v2: the runtime writes the init's pid");
	RESET();
	CHECK_INT_EQ(husk_cgroup_enter_child(&unified, 4242, true, &err), 0, "v2 born in");
	EXPECT(v2, "cgroup.procs", "", "v2 born in: nothing to move");
	CHECK_INT_EQ(husk_cgroup_enter_self(&unified, false, &err), 0, "v2: exec joins");
	EXPECT(v2, "cgroup.procs", self, "v2: exec writes its own pid");
	RESET();
	CHECK_INT_EQ(husk_cgroup_enter(&hybrid, 4242, &err), 0, "v1: enter from outside");
	EXPECT(mem, "cgroup.procs", "4242", "v1: enter writes cgroup.procs");
	EXPECT(uni, "cgroup.procs", "4242", "v1: of every directory");
	husk_error_free(&err);
#undef RESET
#undef EXPECT
}

/* ---- each backend's files ---- */

static void test_dirs(void)
{
	struct husk_cgroup_dir d1[] = {{.name = "cpu,cpuacct", .dir = "/a/cpu"},
				       {.name = "memory", .dir = "/a/memory"}};
	struct husk_cgroup_dir d2[] = {{.name = "unified", .dir = "/b"}};
	struct husk_cgroup v1 = {.ops = &husk_cgroup_v1_ops, .n = 2, .dirs = d1};
	struct husk_cgroup v2 = {.ops = &husk_cgroup_v2_ops, .n = 1, .dirs = d2};

	CHECK_STR_EQ(husk_cgroup_dir_for(&v1, "cpuacct"), "/a/cpu", "v1: cpuacct's hierarchy");
	CHECK_STR_EQ(husk_cgroup_dir_for(&v1, "memory"), "/a/memory", "v1: memory's hierarchy");
	CHECK(husk_cgroup_dir_for(&v1, "cpuset") == NULL, "v1: no cpuset hierarchy");
	CHECK(husk_cgroup_dir_for(&v1, "cpu,cpuacct") == NULL, "v1: one controller at a time");
	CHECK(husk_cgroup_dir_for(&v1, NULL) == NULL, "v1: no directory of core files");
	CHECK(husk_cgroup_v2_dir(&v1) == NULL && husk_cgroup_unified_dir(&v1) == NULL,
	      "v1 without a unified mount: no cgroup2 directory");
	CHECK(!husk_cgroup_is_none(&v1), "v1: not none");
	CHECK_STR_EQ(husk_cgroup_dir_for(&v2, "memory"), "/b", "v2: memory in the one directory");
	CHECK_STR_EQ(husk_cgroup_dir_for(&v2, NULL), "/b", "v2: core files too");
	CHECK_STR_EQ(husk_cgroup_v2_dir(&v2), "/b", "v2: the cgroup2 directory");
	CHECK_STR_EQ(husk_cgroup_unified_dir(&v2), "/b", "v2: the container's whole cgroup");
	d1[1].name = "unified";
	CHECK_STR_EQ(husk_cgroup_v2_dir(&v1), "/a/memory", "hybrid: the unified directory");
	CHECK(husk_cgroup_unified_dir(&v1) == NULL, "hybrid: still a set of hierarchies");
}

static void test_freezer(void)
{
	cleanup_free char *frz = fake_dir("freeze/freezer"), *uni = fake_dir("freeze/unified");
	struct husk_cgroup_dir d1[] = {{.name = "freezer", .dir = frz},
				       {.name = "unified", .dir = uni}};
	struct husk_cgroup v1 = {.ops = &husk_cgroup_v1_ops, .n = 2, .dirs = d1};
	struct husk_cgroup hybrid_only = {.ops = &husk_cgroup_v1_ops, .n = 1, .dirs = d1 + 1};
	struct husk_cgroup v2 = {.ops = &husk_cgroup_v2_ops, .n = 1, .dirs = d1 + 1};
	husk_error *err = NULL;

	/* A plain file reads back what was written; cgroup.events is the
	 * kernel's report, set here to "frozen". */
	put(frz, "freezer.state", "THAWED\n");
	put(uni, "cgroup.freeze", "0\n");
	put(uni, "cgroup.events", "populated 1\nfrozen 1\n");
	CHECK_INT_EQ(husk_cgroup_freeze(&v1, true, &err), 0, "v1: frozen");
	{
		cleanup_free char *a = get(frz, "freezer.state"), *b = get(uni, "cgroup.freeze");
		CHECK_STR_EQ(a, "FROZEN\n", "v1: through freezer.state");
		CHECK_STR_EQ(b, "0\n", "v1: not through cgroup.freeze");
	}
	CHECK(husk_cgroup_is_frozen(&v1) && !husk_cgroup_is_frozen(&v2),
	      "v1 reads freezer.state, v2 cgroup.freeze");
	CHECK_INT_EQ(husk_cgroup_freeze(&hybrid_only, true, &err), 0,
		     "hybrid without a v1 freezer: frozen");
	{
		cleanup_free char *b = get(uni, "cgroup.freeze");
		CHECK_STR_EQ(b, "1\n", "hybrid without a v1 freezer: through cgroup.freeze");
	}
	CHECK(husk_cgroup_is_frozen(&v2), "v2: frozen");
	put(uni, "cgroup.events", "populated 1\nfrozen 0\n");
	CHECK_INT_EQ(husk_cgroup_freeze(&v2, false, &err), 0, "v2: thawed");
	CHECK(!husk_cgroup_is_frozen(&v2), "v2: through cgroup.freeze");
	husk_error_free(&err);
}

static void test_counters(void)
{
	cleanup_free char *mem = fake_dir("count/memory"), *pids = fake_dir("count/pids");
	struct husk_cgroup_dir d1[] = {{.name = "memory", .dir = mem},
				       {.name = "pids", .dir = pids}};
	struct husk_cgroup_dir d2[] = {{.name = "unified", .dir = mem}};
	struct husk_cgroup v1 = {.ops = &husk_cgroup_v1_ops, .n = 2, .dirs = d1};
	struct husk_cgroup v2 = {.ops = &husk_cgroup_v2_ops, .n = 1, .dirs = d2};
	cleanup_free pid_t *p = NULL;
	uint64_t ooms = 0;
	size_t n = 0;

	/* Both counters in one directory: each backend reads its own. */
	put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	put(mem, "memory.events", "low 0\nhigh 0\nmax 9\noom 5\noom_kill 5\n");
	CHECK(husk_cgroup_oom_count(&v1, &ooms) == 0 && ooms == 3, "v1: memory.oom_control");
	CHECK(husk_cgroup_oom_count(&v2, &ooms) == 0 && ooms == 5, "v2: memory.events");
	put(mem, "cgroup.procs", "99\n");
	put(pids, "cgroup.procs", "11\n12\n");
	if (CHECK(husk_cgroup_pids(&v1, &p, &n, NULL) == 0 && n == 2, "v1: pids listed"))
		CHECK(p[0] == 11 && p[1] == 12, "v1: from the pids hierarchy");
	free(p);
	p = NULL;
	if (CHECK(husk_cgroup_pids(&v2, &p, &n, NULL) == 0 && n == 1, "v2: pids listed"))
		CHECK(p[0] == 99, "v2: from the one directory");
	CHECK_INT_EQ(husk_cgroup_kill(&v1), -ENOTSUP, "v1 without a unified dir: no cgroup.kill");
	CHECK_INT_EQ(husk_cgroup_kill(&v2), -ENOTSUP, "no cgroup.kill file: not supported");
	put(mem, "cgroup.kill", "");
	CHECK_INT_EQ(husk_cgroup_kill(&v2), 0, "v2: cgroup.kill");
	{
		cleanup_free char *k = get(mem, "cgroup.kill");
		CHECK_STR_EQ(k, "1", "v2: cgroup.kill written");
	}
}

/* ---- only what was created is removed ---- */

static void test_destroy_created(void)
{
	cleanup_free char *keep = fake_dir("destroy/keep"), *made = fake_dir("destroy/keep/made");
	cleanup_free char *other = fake_dir("destroy/other");
	struct husk_cgroup_dir d[] = {{.name = "memory", .dir = made, .created = 1},
				      {.name = "pids", .dir = other, .created = 0}};
	struct husk_cgroup cg = {.ops = &husk_cgroup_v1_ops, .n = 2, .dirs = d};
	husk_error *err = NULL;

	if (!CHECK_INT_EQ(husk_cgroup_destroy(&cg, &err), 0, "destroy"))
		tap_diag_str("error", err ? err->msg : NULL);
	husk_error_free(&err);
	CHECK(access(made, F_OK) < 0 && errno == ENOENT, "the component it made is removed");
	CHECK(access(keep, F_OK) == 0, "its parent, which it did not make, stays");
	CHECK(access(other, F_OK) == 0, "a directory it made nothing of stays");
}

/* ---- a real cgroup (root) ---- */

static char pre[128];

static void remove_pre(void)
{
	if (pre[0])
		rmdir(pre);
}

static void on_signal(int sig)
{
	remove_pre();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Below a directory that existed before, in one hierarchy: destroy removes
 * the container's own directories and keeps that one. */
static void test_real_created(void)
{
	struct husk_cgroup cg;
	husk_error *err = NULL;
	char path[64];
	const char *dir;

	if (geteuid() != 0 || husk_cgroup_layout() == HUSK_CGROUP_NONE) {
		tap_count++;
		printf("ok %u - real cgroup # SKIP %s\n", tap_count,
		       geteuid() != 0 ? "not root" : "no cgroups");
		return;
	}
	snprintf(path, sizeof(path), "/husk-unit-cg-%d", (int)getpid());
	snprintf(pre, sizeof(pre), "%s%s%s", HUSK_CGROUP_ROOT,
		 husk_cgroup_layout() == HUSK_CGROUP_V1 ? "/pids" : "", path);
	atexit(remove_pre);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (mkdir(pre, 0755) < 0)
		TAP_BAIL_OUT("mkdir %s: %s", pre, strerror(errno));
	strcat(path, "/c");
	if (!CHECK_INT_EQ(husk_cgroup_create(path, "unit", false, &cg, &err), 0, "real: created")) {
		tap_diag_str("error", err ? err->msg : NULL);
		husk_error_free(&err);
		return;
	}
	CHECK(!husk_cgroup_is_none(&cg), "real: a cgroupfs backend");
	dir = husk_cgroup_dir_for(&cg, "pids");
	CHECK(dir && strncmp(dir, pre, strlen(pre)) == 0, "real: the pids directory is below");
	for (size_t i = 0; i < cg.n; i++)
		CHECK_INT_EQ(cg.dirs[i].created, strncmp(cg.dirs[i].dir, pre, strlen(pre)) ? 2 : 1,
			     "real: %s: created counts what was made", cg.dirs[i].name);
	CHECK_INT_EQ(husk_cgroup_destroy(&cg, &err), 0, "real: destroyed");
	husk_error_free(&err);
	CHECK(dir && access(dir, F_OK) < 0, "real: the container's directory is gone");
	CHECK(access(pre, F_OK) == 0, "real: the one that existed before stays");
	husk_cgroup_clear(&cg);
}

int main(void)
{
	if (mkdtemp(fake_root) == NULL)
		TAP_BAIL_OUT("temporary directory: %s", strerror(errno));
	test_state();
	test_none();
	test_enter();
	test_dirs();
	test_freezer();
	test_counters();
	test_destroy_created();
	rm_rf_at(AT_FDCWD, fake_root);
	test_real_created();
	return tap_done();
}
