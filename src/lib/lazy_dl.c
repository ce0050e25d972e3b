/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy_dl.h"

static void lazy_dl_open_once(struct husk_lazy_dl *lib)
{
	const char *why;

	pthread_mutex_lock(&lib->lock);
	if (!lib->tried) {
		lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (lib->handle == NULL) {
			/* kept: dlerror() answers only the first time it is asked */
			why = dlerror();
			lib->why = strdup(why ? why : "unknown error");
		}
		__atomic_store_n(&lib->tried, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lib->lock);
}

int husk_lazy_dl_load(struct husk_lazy_dl *lib, husk_error **err)
{
	if (!__atomic_load_n(&lib->tried, __ATOMIC_ACQUIRE))
		lazy_dl_open_once(lib);
	if (lib->handle == NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "cannot load %s: %s", lib->soname,
				       lib->why ? lib->why : "out of memory");
	return 0;
}

void *husk_lazy_dl_symbol(struct husk_lazy_dl *lib, const char *name)
{
	void *f;

	if (husk_lazy_dl_load(lib, NULL) < 0)
		return NULL;
	f = dlsym(lib->handle, name);
	if (f == NULL) {
		/* a function its soname has always had: this library is not it */
		fprintf(stderr, "husk: %s has no %s\n", lib->soname, name);
		abort();
	}
	return f;
}
