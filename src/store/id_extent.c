/* SPDX-License-Identifier: MIT */
/* Ids across a user namespace's map. */
#include <husk/store.h>

unsigned long husk_id_inner(const struct husk_id_extent *e, size_t n, unsigned long outer)
{
	if (n == 0)
		return outer;
	for (size_t i = 0; i < n; i++)
		if (outer >= e[i].outer && outer - e[i].outer < e[i].count)
			return e[i].inner + (outer - e[i].outer);
	return HUSK_OVERFLOW_ID;
}

unsigned long husk_id_outer(const struct husk_id_extent *e, size_t n, unsigned long inner)
{
	if (n == 0)
		return inner;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++)
			if (inner >= e[i].inner && inner - e[i].inner < e[i].count)
				return e[i].outer + (inner - e[i].inner);
		inner = HUSK_OVERFLOW_ID;
	}
	return HUSK_OVERFLOW_ID;
}
