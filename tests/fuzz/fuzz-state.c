/* SPDX-License-Identifier: MIT */
/*
 * ROOT/ID/state.json, as every verb after create reads it: the input is the
 * file. After husk_state_read the target goes on as the verbs do with what it
 * returned: the cgroup (kill, delete, pause, exec), the hooks saved in
 * "config" (start, delete), the saved process (exec) and the state object
 * (state, and the stdin of hooks).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "cgroup.h"
#include "fuzz.h"
#include "spec.h"
#include "state.h"

static int state_dirfd = -1;
static int state_filefd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fuzz_tmpdir();

	state_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	state_filefd = openat(state_dirfd, "state.json", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (state_dirfd < 0 || state_filefd < 0)
		abort();
	free(dir);
	return 0;
}

/* What the state records of a cgroup, read back, is that cgroup. */
static void saved_reads_back(const struct husk_cgroup *cg)
{
	json_t *saved = husk_cgroup_to_json(cg);
	struct husk_cgroup again;

	FUZZ_ASSERT(saved != NULL && husk_cgroup_from_json(saved, &again, NULL) == 0);
	FUZZ_ASSERT(again.ops == cg->ops && again.n == cg->n &&
		    husk_cgroup_is_none(&again) == husk_cgroup_is_none(cg));
	for (size_t i = 0; i < cg->n; i++)
		FUZZ_ASSERT(strcmp(again.dirs[i].name, cg->dirs[i].name) == 0 &&
			    strcmp(again.dirs[i].dir, cg->dirs[i].dir) == 0 &&
			    again.dirs[i].created == cg->dirs[i].created);
	husk_cgroup_clear(&again);
	json_decref(saved);
}

static void use_cgroup(json_t *o)
{
	struct husk_cgroup cg;
	husk_error *err = NULL;

	if (husk_cgroup_from_json(o, &cg, &err) == 0) {
		FUZZ_ASSERT(err == NULL);
		for (size_t i = 0; i < cg.n; i++)
			FUZZ_ASSERT(cg.dirs[i].name != NULL && cg.dirs[i].dir != NULL);
		(void)husk_cgroup_dir_for(&cg, "memory");
		(void)husk_cgroup_dir_for(&cg, "freezer");
		(void)husk_cgroup_v2_dir(&cg);
		(void)husk_cgroup_unified_dir(&cg);
		saved_reads_back(&cg);
	} else {
		FUZZ_ASSERT(err != NULL && cg.n == 0 && cg.dirs == NULL);
	}
	husk_cgroup_clear(&cg);
	husk_error_free(&err);
}

static void use_config(json_t *config)
{
	struct husk_spec *s = calloc(1, sizeof(*s));
	struct husk_process p;
	husk_error *err = NULL;

	if (s == NULL)
		abort();
	(void)husk_spec_parse_hooks(s, json_object_get(config, "hooks"), &err);
	husk_spec_free(s);
	husk_error_free(&err);
	if (json_is_object(json_object_get(config, "process"))) {
		(void)husk_process_parse(json_object_get(config, "process"), "process", &p, &err);
		husk_process_clear(&p);
		husk_error_free(&err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_state st;
	husk_error *err = NULL;
	json_t *o;

	if (ftruncate(state_filefd, 0) < 0 || pwrite(state_filefd, data, size, 0) != (ssize_t)size)
		abort();
	if (husk_state_read(state_dirfd, &st, &err) == 0) {
		FUZZ_ASSERT(err == NULL && st.id != NULL);
		(void)husk_id_validate(st.id, &err);
		husk_error_free(&err);
		use_cgroup(st.cgroup);
		use_config(st.config);
		o = husk_state_to_json(&st, HUSK_STATUS_RUNNING);
		free(o ? json_dumps(o, JSON_COMPACT) : NULL);
		json_decref(o);
		o = husk_state_to_json(&st, HUSK_STATUS_STOPPED);
		json_decref(o);
	} else {
		FUZZ_ASSERT(err != NULL && err->msg != NULL);
	}
	/* husk_state_read leaves partial results on failure: clear them. */
	husk_state_clear(&st);
	husk_error_free(&err);
	return 0;
}
