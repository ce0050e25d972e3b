/* SPDX-License-Identifier: MIT */
#pragma once

/* husk system check | prune | df (system.c dispatches; check.c, prune.c). */

#include "engine.h"

/* The problems system check finds (one line each; NULL when none). */
int system_check(struct engine *e, char ***ret_problems, husk_error **err);

int cmd_system_prune(struct engine *e, int argc, char **argv);
int cmd_system_df(struct engine *e, int argc, char **argv);
