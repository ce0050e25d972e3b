/* SPDX-License-Identifier: MIT */
/* Subordinate id ranges: /etc/subuid and /etc/subgid. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subid.h"

bool subid_range(const char *file, const char *name, uid_t id, unsigned long *start,
		 unsigned long *count)
{
	FILE *f = fopen(file, "re");
	char line[512], ids[16];
	bool found = false;

	if (f == NULL)
		return false;
	snprintf(ids, sizeof(ids), "%u", (unsigned)id);
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *who = strtok_r(line, ":", &save),
		     *s = strtok_r(NULL, ":", &save), *n = strtok_r(NULL, ":\n", &save);
		if (who && s && n && (strcmp(who, name) == 0 || strcmp(who, ids) == 0)) {
			*start = strtoul(s, NULL, 10);
			*count = strtoul(n, NULL, 10);
			found = *count > 0;
		}
	}
	fclose(f);
	return found;
}
