/* SPDX-License-Identifier: MIT */
/* uidMappings/gidMappings arithmetic. The input is an array of native-endian
 * uint32 triples (containerID, hostID, size); a partial triple at the end is
 * ignored. */
#include <inttypes.h>

#include "fuzz.h"
#include "spec.h"

/* What validated maps promise: every container id of a range maps into that
 * range's host ids, and the kernel text reads back as the same triples. */
static void check_valid_maps(const struct husk_idmap *maps, size_t n)
{
	char *text = husk_idmap_format(maps, n);
	const char *p = text;
	uint32_t host;

	FUZZ_ASSERT(text != NULL);
	for (size_t i = 0; i < n; i++) {
		const struct husk_idmap *m = &maps[i];
		uint32_t probes[3] = {0, m->size / 2, m->size - 1};
		unsigned c, h, sz;
		int used;

		for (int k = 0; k < 3; k++) {
			FUZZ_ASSERT(
			    husk_idmap_to_host(maps, n, m->container_id + probes[k], &host) == 0);
			FUZZ_ASSERT(host == m->host_id + probes[k]);
			FUZZ_ASSERT(husk_idmap_contains(maps, n, m->container_id + probes[k]));
		}
		FUZZ_ASSERT(sscanf(p, "%u %u %u\n%n", &c, &h, &sz, &used) == 3);
		FUZZ_ASSERT(c == m->container_id && h == m->host_id && sz == m->size);
		p += used;
	}
	FUZZ_ASSERT(*p == '\0');
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct husk_idmap);
	struct husk_idmap *maps = calloc(n ? n : 1, sizeof(*maps));
	husk_error *err = NULL;
	uint32_t host;
	char *text;
	int r;

	if (maps == NULL)
		abort();
	memcpy(maps, data, n * sizeof(*maps));
	r = husk_idmap_validate(maps, n, "uidMappings", &err);
	FUZZ_ASSERT(r < 0 ? err != NULL && err->msg != NULL : err == NULL);
	if (r == 0)
		check_valid_maps(maps, n);
	/* Lookups and formatting must be safe on maps that failed validation. */
	for (size_t i = 0; i < n; i++) {
		(void)husk_idmap_to_host(maps, n, maps[i].host_id, &host);
		(void)husk_idmap_contains(maps, n, maps[i].size);
	}
	text = husk_idmap_format(maps, n);
	FUZZ_ASSERT(text != NULL);
	FUZZ_ASSERT(strlen(text) <= n * 36);
	free(text);
	husk_error_free(&err);
	free(maps);
	return 0;
}
