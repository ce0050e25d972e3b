/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * A shared library loaded the first time one of its functions is called
 * (dlopen), not at every start of every program that links its caller: a
 * library and its chain of dependencies cost each command milliseconds to
 * load, and most commands never call it. The caller defines each function
 * it uses with the library's own name and prototype (HUSK_LAZY_DL_FORWARD),
 * and that definition calls the library's.
 */
#include <pthread.h>
#include <stdbool.h>

#include "error.h"

struct husk_lazy_dl {
	const char *soname;
	pthread_mutex_t lock;
	bool tried;
	void *handle;
	char *why; /* dlerror() of the one attempt, when it failed */
};

#define HUSK_LAZY_DL_INIT(name)                                                                    \
	{                                                                                          \
		.soname = (name), .lock = PTHREAD_MUTEX_INITIALIZER                                \
	}

/* Loads the library once (later calls return the first answer): 0, or an
 * HUSK_ERR_UNSUPPORTED error that says why it cannot be loaded. */
int husk_lazy_dl_load(struct husk_lazy_dl *lib, husk_error **err);

/* The library's function called name, or NULL when the library cannot be
 * loaded. A loaded library without it aborts: the callers name only
 * functions the soname has always had. */
void *husk_lazy_dl_symbol(struct husk_lazy_dl *lib, const char *name);

/* Defines the function name (ret name params) to call the library's one. */
#define HUSK_LAZY_DL_FORWARD(lib, ret, name, params, args)                                         \
	ret name params                                                                            \
	{                                                                                          \
		static ret(*real) params;                                                          \
		if (real == NULL)                                                                  \
			real = (ret(*) params)husk_lazy_dl_symbol(&(lib), #name);                  \
		return real args;                                                                  \
	}

/* The same for a constructor: it returns NULL when the library cannot be
 * loaded, which is how its callers learn that it cannot. */
#define HUSK_LAZY_DL_CONSTRUCTOR(lib, ret, name, params, args)                                     \
	ret name params                                                                            \
	{                                                                                          \
		static ret(*real) params;                                                          \
		if (real == NULL && husk_lazy_dl_load(&(lib), NULL) < 0)                           \
			return NULL;                                                               \
		if (real == NULL)                                                                  \
			real = (ret(*) params)husk_lazy_dl_symbol(&(lib), #name);                  \
		return real args;                                                                  \
	}
