/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "alloc-count.h"

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_COUNT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define ALLOC_COUNT 0
#endif
#endif
#ifndef ALLOC_COUNT
#define ALLOC_COUNT 1
#endif

#if ALLOC_COUNT
/* glibc's own allocator, under the names it exports for this purpose. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

/* The tests are single-threaded. */
static long live;

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	if (p != NULL)
		live++;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	if (p != NULL)
		live++;
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p;

	if (old == NULL)
		return malloc(size);
	p = __libc_realloc(old, size);
	/* realloc(p, 0) frees p and returns NULL. */
	if (p == NULL && size == 0)
		live--;
	return p;
}

void free(void *p)
{
	if (p != NULL)
		live--;
	__libc_free(p);
}

bool alloc_count_enabled(void)
{
	return true;
}

long alloc_count_live(void)
{
	return live;
}
#else
bool alloc_count_enabled(void)
{
	return false;
}

long alloc_count_live(void)
{
	return 0;
}
#endif
