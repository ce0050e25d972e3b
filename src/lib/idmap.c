/* SPDX-License-Identifier: MIT */
/* uidMappings / gidMappings arithmetic. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "spec.h"
#include "util.h"

bool husk_idmap_contains(const struct husk_idmap *maps, size_t n, uint32_t container_id)
{
	uint32_t unused;

	return husk_idmap_to_host(maps, n, container_id, &unused) == 0;
}

int husk_idmap_to_host(const struct husk_idmap *maps, size_t n, uint32_t container_id,
		       uint32_t *ret_host)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = maps[i].container_id, hi = lo + maps[i].size;
		if (container_id >= lo && container_id < hi) {
			*ret_host = maps[i].host_id + (container_id - maps[i].container_id);
			return 0;
		}
	}
	return -1;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int husk_idmap_validate(const struct husk_idmap *maps, size_t n, const char *where,
			husk_error **err)
{
	/* The kernel accepts at most 340 lines (4.15+); older ones 5. */
	if (n > 340)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s: too many ranges (%zu, at most 340)", where, n);
	for (size_t i = 0; i < n; i++) {
		if (maps[i].size == 0)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "%s[%zu].size: must be greater than 0", where, i);
		/* The kernel refuses id 4294967295 ((uid_t)-1) and wrapping ranges. */
		if ((uint64_t)maps[i].container_id + maps[i].size > (uint64_t)UINT32_MAX ||
		    (uint64_t)maps[i].host_id + maps[i].size > (uint64_t)UINT32_MAX)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "%s[%zu]: range overflows 32-bit ids", where, i);
		for (size_t j = 0; j < i; j++) {
			if (ranges_overlap(maps[i].container_id, maps[i].size, maps[j].container_id,
					   maps[j].size))
				return husk_error_fail(
				    err, HUSK_ERR_INVALID,
				    "%s[%zu]: containerID range overlaps %s[%zu]", where, i, where,
				    j);
			if (ranges_overlap(maps[i].host_id, maps[i].size, maps[j].host_id,
					   maps[j].size))
				return husk_error_fail(err, HUSK_ERR_INVALID,
						       "%s[%zu]: hostID range overlaps %s[%zu]",
						       where, i, where, j);
		}
	}
	return 0;
}

char *husk_idmap_format(const struct husk_idmap *maps, size_t n)
{
	size_t cap = n * 36 + 1, len = 0;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%u %u %u\n", maps[i].container_id,
					maps[i].host_id, maps[i].size);
	return s;
}
