/* SPDX-License-Identifier: MIT */
/* Where the engine keeps things: the image store and the containers' dirs
 * under the storage root, the core library's state under the run root. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine.h"
#include "util.h"

#define DEFAULT_STORAGE_ROOT "/var/lib/husk"
/* Not /run/husk: that is husk-runtime's state root, one directory per container id. */
#define DEFAULT_RUN_ROOT "/run/husk-engine"

/* An absolute path from the environment, or the default. */
static int root_from_env(const char *var, const char *def, char **ret, husk_error **err)
{
	const char *v = getenv(var);

	if (v == NULL || *v == '\0')
		v = def;
	if (v[0] != '/')
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: `%s` is not an absolute path",
				       var, v);
	*ret = strdup(v);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "%s", var);
}

static int join(char **ret, const char *a, const char *b, husk_error **err)
{
	if (asprintf(ret, "%s/%s", a, b) < 0) {
		*ret = NULL;
		return husk_error_set(err, ENOMEM, "path");
	}
	return 0;
}

int engine_paths_init(struct engine_paths *p, husk_error **err)
{
	if (root_from_env("HUSK_STORAGE_ROOT", DEFAULT_STORAGE_ROOT, &p->storage_root, err) < 0 ||
	    root_from_env("HUSK_RUN_ROOT", DEFAULT_RUN_ROOT, &p->run_root, err) < 0 ||
	    join(&p->containers, p->storage_root, "containers", err) < 0 ||
	    join(&p->names, p->storage_root, "names", err) < 0 ||
	    join(&p->runtime_root, p->run_root, "runtime", err) < 0 ||
	    /* beside the containers' state dirs; ids cannot start with a dot */
	    join(&p->seccomp_cache, p->runtime_root, ".seccomp-cache", err) < 0)
		goto fail;
	if (mkdir_p(p->containers, 0700, err) < 0 || mkdir_p(p->names, 0700, err) < 0 ||
	    mkdir_p(p->runtime_root, 0700, err) < 0)
		goto fail;
	return 0;
fail:
	engine_paths_clear(p);
	return -1;
}

void engine_paths_clear(struct engine_paths *p)
{
	free(p->storage_root);
	free(p->containers);
	free(p->names);
	free(p->run_root);
	free(p->runtime_root);
	free(p->seccomp_cache);
	memset(p, 0, sizeof(*p));
}

char *engine_container_path(const struct engine_paths *p, const char *id, const char *name)
{
	char *path = NULL;
	int r = name ? asprintf(&path, "%s/%s/%s", p->containers, id, name)
		     : asprintf(&path, "%s/%s", p->containers, id);

	return r < 0 ? NULL : path;
}
