/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a husk killed half-way leaves in the storage root, told apart from
 * work under way by whoever is doing it, never by age:
 *
 *   containers/.creating-<id>-<pid>-<start>  a dir being made: its maker is
 *       in its name (pid and start time), so one whose maker is gone is
 *       garbage. Renamed to containers/<id> once its lock is taken.
 *   containers/<id> without container.json   being made or removed while
 *       its lock is held (the maker holds it until the record is written,
 *       a remover until the dir is renamed away); abandoned once it is free.
 *   containers/.removing-<id>-<pid>-<start>  a dir being removed, its image
 *       hold released just after the rename: garbage once the remover is gone.
 *   names/<name> naming an id with no record that nobody works on: stale.
 *   holds/<id> with neither containers/<id> nor a .removing-<id>-* dir: stale.
 *
 * Nothing here prints.
 */

#include <stdbool.h>

#include "engine.h"

enum ctr_remains {
	REMAINS_NONE,	   /* no containers/<id> */
	REMAINS_RECORD,	   /* a container (container.json) */
	REMAINS_BUSY,	   /* no record; its maker or remover holds its lock */
	REMAINS_ABANDONED, /* no record and nobody at work on it */
};

/* Which of those containers/<id> is. With ret_lock_fd, an abandoned one's
 * lock is kept (its fd there, -1 when it has no lock file) for the caller
 * to clean it up under; otherwise *ret_lock_fd is -1. */
enum ctr_remains ctr_remains_of(const struct engine *e, const char *id, int *ret_lock_fd);

/* containers/.<what>-<id>-<pid>-<start> of this process (what: "creating"
 * or "removing"); NULL when out of memory. */
char *ctr_transit_path(const struct engine *e, const char *what, const char *id);
/* Whether name (an entry of containers/) is such a dir: its what (static
 * string), its id, and whether the process named still lives. */
bool ctr_transit_parse(const char *name, const char **ret_what, char ret_id[65], bool *ret_alive);

/* Whether names/<name>, naming id, is stale: it names no container (any
 * more), or one that has another name now (a rename killed half-way), and
 * nobody is at work on it. */
bool name_stale(const struct engine *e, const char *name, const char *id);
/* The names (names/<name>) that name id, sorted as found. */
int names_of(const struct engine *e, const char *id, char ***ret, husk_error **err);
/* Every container id (64 hex digits) among a directory's entries. */
int ids_in_dir(const char *dir, char ***ret, husk_error **err);
bool ctr_id_valid(const char *id);
