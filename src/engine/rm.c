/* SPDX-License-Identifier: MIT */
/* husk rm [-f] CONTAINER..., husk rename OLD NEW. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "lifecycle.h"
#include "util.h"

static int rm_one(struct engine *e, struct ctr *c, bool force, bool volumes, husk_error **err)
{
	husk_error *e1 = NULL;
	bool stopped_here = false;

	if (ctr_heal(e, c, err) < 0)
		return -1;
	if (ctr_status_now(c, NULL) == CTR_RUNNING || c->st.status == CTR_RESTARTING) {
		if (!force)
			return husk_error_fail(err, HUSK_ERR_BUSY,
					       "container %s is running: stop it first, or use "
					       "rm -f",
					       c->name ? c->name : c->id);
		if (ctr_mark(c, "stop-requested", true, err) < 0)
			return -1;
		if (husk_container_kill(&e->rt, c->id, SIGKILL, true, &e1) < 0)
			husk_error_free(&e1);
		if (ctr_wait_stopped(c, -1, err) < 0)
			return -1;
		stopped_here = true;
	}
	/* --rm containers are removed by their monitor as they stop */
	if ((stopped_here && ctr_heal(e, c, &e1) < 0) || ctr_lock(c, &e1) < 0) {
		if (husk_error_is(e1, HUSK_ERR_NOT_FOUND)) {
			husk_error_free(&e1);
			return 0;
		}
		*err = e1;
		return -1;
	}
	return ctr_remove(e, c, volumes, err);
}

int cmd_rm(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"volumes", no_argument, NULL, 'v'},
	    {0},
	};
	bool force = false, volumes = false;
	int c, status = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":fv", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'v')
			volumes = true;
		else
			return engine_flag_error("rm", c, argv);
	}
	if (optind >= argc) {
		engine_error("rm: a container is required");
		return EXIT_ENGINE;
	}
	for (int i = optind; i < argc; i++) {
		cleanup_ctr struct ctr *ct = NULL;
		husk_error *err = NULL;
		if (ctr_lookup(e, argv[i], &ct, &err) < 0 ||
		    rm_one(e, ct, force, volumes, &err) < 0) {
			status = engine_fail(err);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return status;
}

int cmd_rename(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	cleanup_free char *old = NULL, *new_name = NULL;

	if (argc != 3) {
		engine_error("rename: usage: husk rename CONTAINER NEW_NAME");
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[1], &c, &err) < 0 || ctr_lock(c, &err) < 0 ||
	    name_claim(e, c->id, argv[2], &err) < 0)
		return engine_fail(err);
	old = c->name ? strdup(c->name) : NULL;
	if (asprintf(&new_name, "/%s", argv[2]) < 0 ||
	    json_object_set_new(c->doc, "Name", json_string(new_name)) < 0 ||
	    ctr_save_doc(c, &err) < 0) {
		name_release(e, c->id, argv[2], NULL);
		return err ? engine_fail(err) : EXIT_ENGINE;
	}
	if (name_release(e, c->id, old, &err) < 0)
		return engine_fail(err);
	return 0;
}
