/* SPDX-License-Identifier: MIT */
/*
 * libnftables, loaded the first time it is called (dlopen), as the store
 * does with libarchive (archive_dl.c): linked, it and the libraries it
 * brings (libnftnl, libxtables, libgmp) were loaded at every start of every
 * husk command, ~1 ms each on a small VM, and only the bridge networks use
 * it. Each function net_nft.c calls is defined here with libnftables' own
 * name and prototype and calls the library's. nft_ctx_new() returns NULL
 * when it cannot be loaded, which its callers already handle.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define LIBNFTABLES_SONAME "libnftables.so.1"

static void *handle;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	handle = dlopen(LIBNFTABLES_SONAME, RTLD_NOW | RTLD_LOCAL);
}

/* The library's function, once it is loaded (it is, by then: every call
 * is on a context that nft_ctx_new() made). */
static void *fn(const char *name)
{
	void *f;

	pthread_once(&once, load);
	f = handle ? dlsym(handle, name) : NULL;
	if (f == NULL) {
		/* libnftables.so.1 has had all of these since its first release */
		fprintf(stderr, "husk: %s has no %s\n", LIBNFTABLES_SONAME, name);
		abort();
	}
	return f;
}

#define FORWARD(ret, name, params, args)                                                           \
	ret name params                                                                            \
	{                                                                                          \
		static ret(*real) params;                                                          \
		if (real == NULL)                                                                  \
			real = (ret(*) params)fn(#name);                                           \
		return real args;                                                                  \
	}

struct nft_ctx *nft_ctx_new(uint32_t flags)
{
	static struct nft_ctx *(*real)(uint32_t);

	pthread_once(&once, load);
	if (handle == NULL)
		return NULL;
	if (real == NULL)
		real = (struct nft_ctx * (*)(uint32_t)) fn("nft_ctx_new");
	return real(flags);
}

typedef struct nft_ctx C;

FORWARD(void, nft_ctx_free, (C * ctx), (ctx))
FORWARD(int, nft_ctx_buffer_output, (C * ctx), (ctx))
FORWARD(int, nft_ctx_buffer_error, (C * ctx), (ctx))
FORWARD(const char *, nft_ctx_get_output_buffer, (C * ctx), (ctx))
FORWARD(const char *, nft_ctx_get_error_buffer, (C * ctx), (ctx))
FORWARD(int, nft_run_cmd_from_buffer, (C * nft, const char *buf), (nft, buf))
