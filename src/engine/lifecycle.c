/* SPDX-License-Identifier: MIT */
/* A container's record made from an image, and removed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "lifecycle.h"
#include "userns_auto.h"
#include "net.h"
#include "remains.h"
#include "rootfs.h"
#include "signals.h"
#include "volumes.h"
#include "util.h"

static int new_id(char id[65], husk_error **err)
{
	unsigned char bytes[32];

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return husk_error_set(err, errno, "container id");
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

static bool name_valid(const char *name)
{
	static const char more[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_.-";

	/* Docker's: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	return name[0] != '\0' && strchr(more, name[0]) && strchr("_.-", name[0]) == NULL &&
	       strspn(name, more) == strlen(name) && strlen(name) <= 253;
}

/* flock on names/ itself: every removal of a name file is made under it,
 * so that a stale name is never taken over once someone else took it. */
static int names_lock(const struct engine *e, husk_error **err)
{
	int fd = open(e->paths.names, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", e->paths.names);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e1 = errno;
			close(fd);
			return husk_error_set(err, e1, "lock `%s`", e->paths.names);
		}
	return fd;
}

/* names/<name> appears whole, holding the id: written in the container's
 * dir, then link(2)ed, which fails when the name is taken. */
static int name_link(const struct engine *e, const char *id, const char *name, husk_error **err)
{
	cleanup_free char *tmp = engine_container_path(&e->paths, id, "name.tmp"), *path = NULL;
	cleanup_close int fd = -1;
	int r = 0;

	if (tmp == NULL || asprintf(&path, "%s/%s", e->paths.names, name) < 0)
		return husk_error_set(err, ENOMEM, "name");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, id, strlen(id)) < 0)
		r = husk_error_set(err, errno, "write the name `%s`", name);
	else if (link(tmp, path) < 0)
		r = errno == EEXIST ? -EEXIST
				    : husk_error_set(err, errno, "claim the name `%s`", name);
	unlink(tmp);
	return r;
}

/* Removes names/<name> if it is stale (remains.h): what it names is no
 * container, or not by that name, and nobody is at work on it. */
static bool name_drop_stale(const struct engine *e, const char *name)
{
	cleanup_close int lock = names_lock(e, NULL);
	cleanup_free char *path = NULL, *data = NULL;

	if (lock < 0 || asprintf(&path, "%s/%s", e->paths.names, name) < 0)
		return false;
	if (read_file_at(AT_FDCWD, path, &data, NULL, NULL) < 0)
		return errno == ENOENT; /* released meanwhile */
	if (ctr_id_valid(data) && !name_stale(e, name, data))
		return false;
	return unlink(path) == 0 || errno == ENOENT;
}

int name_claim(const struct engine *e, const char *id, const char *name, husk_error **err)
{
	int r;

	if (!name_valid(name))
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "invalid container name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
		    "are allowed",
		    name);
	r = name_link(e, id, name, err);
	if (r == -EEXIST && name_drop_stale(e, name))
		r = name_link(e, id, name, err);
	if (r == -EEXIST)
		return husk_error_fail(err, HUSK_ERR_EXISTS,
				       "the container name `%s` is already in use", name);
	return r;
}

/* Removes names/<name> if it still names this container. */
int name_release(const struct engine *e, const char *id, const char *name, husk_error **err)
{
	cleanup_free char *path = NULL, *data = NULL;
	cleanup_close int lock = -1;

	if (name == NULL)
		return 0;
	if (asprintf(&path, "%s/%s", e->paths.names, name) < 0)
		return husk_error_set(err, ENOMEM, "name");
	lock = names_lock(e, err);
	if (lock < 0)
		return -1;
	if (read_file_at(AT_FDCWD, path, &data, NULL, NULL) < 0 || strcmp(data, id) != 0)
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "remove the name `%s`", name);
	return 0;
}

/* Docker's made-up names: an adjective and a famous scientist. */
static int name_generate(const struct engine *e, const char *id, char **ret, husk_error **err)
{
	static const char *const adjectives[] = {
	    "brave", "calm",  "clever", "eager", "gentle", "happy", "jolly",  "keen",
	    "lucid", "merry", "nifty",	"quiet", "sharp",  "swift", "tender", "witty",
	};
	static const char *const names[] = {
	    "babbage",	"curie",   "darwin", "euler",	"fermat",  "gauss",    "hopper", "kepler",
	    "lovelace", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wirth",
	};
	uint32_t r;

	for (int attempt = 0; attempt < 8; attempt++) {
		husk_error *e1 = NULL;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return husk_error_set(err, errno, "random");
		if (asprintf(ret, "%s_%s%s%.*s", adjectives[r % 16], names[(r >> 4) % 16],
			     attempt ? "_" : "", attempt ? 4 : 0, id) < 0)
			return husk_error_set(err, ENOMEM, "name");
		if (name_claim(e, id, *ret, &e1) == 0)
			return 0;
		free(*ret);
		*ret = NULL;
		if (!husk_error_is(e1, HUSK_ERR_EXISTS)) {
			*err = e1;
			return -1;
		}
		husk_error_free(&e1);
	}
	return husk_error_fail(err, HUSK_ERR_EXISTS, "no free name found");
}

/* Holds the image for the container, then reads it: gc cannot take its
 * layers from under the overlay. */
static int image_hold_and_get(struct engine *e, const char *ref, const char *id, bool *held,
			      struct husk_image **ret, husk_error **err)
{
	struct husk_store *s = NULL;
	cleanup_free char *digest = NULL;
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = engine_image_resolve(s, ref, &digest, err);
	if (r == 0)
		r = husk_store_hold(s, id, digest, err);
	if (r == 0) {
		*held = true;
		r = husk_store_image_get(s, digest, ret, err);
	}
	husk_store_close(s);
	return r;
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *healthcheck_json(const struct husk_image_config *ic, const struct run_options *o)
{
	const struct husk_healthcheck *h = ic->healthcheck;
	json_t *hc;

	if (o->no_healthcheck)
		return NULL;
	if (o->health_cmd)
		hc = json_pack("{s:[s,s]}", "Test", "CMD-SHELL", o->health_cmd);
	else if (h && h->test && h->test[0] && strcmp(h->test[0], "NONE") != 0)
		hc =
		    json_pack("{s:o, s:I, s:I, s:I, s:i}", "Test", strv_json(h->test), "Interval",
			      (json_int_t)h->interval_ns, "Timeout", (json_int_t)h->timeout_ns,
			      "StartPeriod", (json_int_t)h->start_period_ns, "Retries", h->retries);
	else
		return NULL;
	if (hc == NULL)
		return NULL;
	if (o->health_interval)
		json_object_set_new(hc, "Interval", json_integer(o->health_interval));
	if (o->health_timeout)
		json_object_set_new(hc, "Timeout", json_integer(o->health_timeout));
	if (o->health_start_period)
		json_object_set_new(hc, "StartPeriod", json_integer(o->health_start_period));
	if (o->health_retries)
		json_object_set_new(hc, "Retries", json_integer(o->health_retries));
	return hc;
}

static const char *restart_name(enum restart_policy p)
{
	static const char *const names[] = {"no", "on-failure", "always", "unless-stopped"};

	return names[p];
}

static const char *stop_signal_name(const struct husk_image_config *ic, const struct run_options *o)
{
	int sig;

	if (o->stop_signal && husk_signal_parse(o->stop_signal, &sig) == 0)
		return husk_signal_name(sig);
	if (ic->stop_signal && husk_signal_parse(ic->stop_signal, &sig) == 0)
		return husk_signal_name(sig);
	return "TERM";
}

static const char *network_mode(const struct run_options *o, char buf[300])
{
	switch (o->network) {
	case RUN_NETWORK_HOST:
		return "host";
	case RUN_NETWORK_BRIDGE:
		return o->network_name;
	case RUN_NETWORK_CONTAINER:
		snprintf(buf, 300, "container:%s", o->network_name);
		return buf;
	default:
		return "none";
	}
}

/* HostConfig's NetworkMode, PortBindings and PublishAllPorts, Config's
 * ExposedPorts (the image's and -p's), and NetworkSettings.Networks: the
 * networks it joins at each start (net.h). */
static int doc_add_network(json_t *doc, const struct husk_image_config *ic,
			   const struct run_options *o)
{
	json_t *hc = json_object_get(doc, "HostConfig");
	json_t *bindings = json_object(), *exposed = json_object(), *nets = json_object();
	char buf[300], key[16], hp[8];

	if (!bindings || !exposed || !nets)
		goto fail;
	for (size_t i = 0; ic->exposed_ports && ic->exposed_ports[i]; i++)
		json_object_set_new(exposed, ic->exposed_ports[i], json_object());
	for (size_t i = 0; i < o->n_ports; i++) {
		const struct net_port *p = &o->ports[i];
		json_t *list;
		snprintf(key, sizeof(key), "%d/%s", p->port, p->proto);
		snprintf(hp, sizeof(hp), "%d", p->host_port);
		list = json_object_get(bindings, key);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(bindings, key, list);
		}
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", p->host_ip,
						      "HostPort", p->host_port ? hp : ""));
		json_object_set_new(exposed, key, json_object());
	}
	if (o->network == RUN_NETWORK_BRIDGE)
		json_object_set_new(nets, o->network_name, json_object());
	json_object_set_new(hc, "NetworkMode", json_string(network_mode(o, buf)));
	json_object_set_new(hc, "PortBindings", bindings);
	json_object_set_new(hc, "PublishAllPorts", json_boolean(o->publish_all));
	json_object_set_new(json_object_get(doc, "Config"), "ExposedPorts", exposed);
	json_object_set_new(doc, "NetworkSettings", json_pack("{s:o}", "Networks", nets));
	return 0;
fail:
	json_decref(bindings);
	json_decref(exposed);
	json_decref(nets);
	return -1;
}

/* container.json: Docker's inspect fields, as far as they mean the same. */
static json_t *doc_build(const char *id, const char *name, const char *ref,
			 const struct husk_image *img, const struct run_options *o, json_t *oci)
{
	const struct husk_image_config *ic = &img->config;
	json_t *process = json_object_get(oci, "process");
	json_t *args = json_object_get(process, "args");
	char now[64], sig[16];
	json_t *doc, *config, *hc;

	rfc3339_now(now);
	snprintf(sig, sizeof(sig), "SIG%s", stop_signal_name(ic, o));
	config = json_pack(
	    "{s:O, s:s, s:O, s:o, s:o, s:O, s:b, s:b, s:s, s:o, s:s, s:i}", "Hostname",
	    json_object_get(oci, "hostname"), "User",
	    o->user ? o->user : (ic->user ? ic->user : ""), "Env", json_object_get(process, "env"),
	    "Cmd", strv_json(o->args && o->args[0] ? o->args : ic->cmd), "Entrypoint",
	    o->entrypoint_set ? json_pack("[s]", o->entrypoint) : strv_json(ic->entrypoint),
	    "WorkingDir", json_object_get(process, "cwd"), "Tty", o->tty, "OpenStdin",
	    o->interactive, "Image", ref, "Labels", json_object(), "StopSignal", sig, "StopTimeout",
	    o->stop_timeout_set ? o->stop_timeout : 10);
	if (config == NULL)
		return NULL;
	hc = healthcheck_json(ic, o);
	if (hc)
		json_object_set_new(config, "Healthcheck", hc);
	doc =
	    json_pack("{s:s, s:s+, s:s, s:s, s:s, s:O, s:o, s:o, s:{s:b, s:{s:s, s:i}, s:I, "
		      "s:s}, s:[]}",
		      "Id", id, "Name", "/", name, "Created", now, "Image", img->id, "ImageDigest",
		      img->manifest_digest, "Path", json_array_get(args, 0), "Args", json_array(),
		      "Config", config, "HostConfig", "AutoRemove", o->rm, "RestartPolicy", "Name",
		      restart_name(o->restart), "MaximumRetryCount", o->restart_max, "LogMaxSize",
		      (json_int_t)(o->log_max_size_set ? o->log_max_size : 10 * 1024 * 1024),
		      "NetworkMode", "none", "Mounts");
	for (size_t i = 1; doc && i < json_array_size(args); i++)
		json_array_append(json_object_get(doc, "Args"), json_array_get(args, i));
	if (doc && json_object_set_new(json_object_get(doc, "HostConfig"), "UsernsMode",
				       json_string(o->security.userns_keep_id ? "keep-id"
						   : o->security.userns_size  ? "auto"
									      : "")) < 0) {
		json_decref(doc);
		return NULL;
	}
	if (doc && doc_add_network(doc, ic, o) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int write_config(const char *dir, json_t *oci, husk_error **err)
{
	cleanup_free char *text = json_dumps(oci, JSON_COMPACT);
	cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (text == NULL)
		return husk_error_set(err, ENOMEM, "config.json");
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dirfd, "config.json", text, strlen(text), 0600, err);
}

/* The record, once everything it names exists: container.json last, so a
 * dir without it is a creation that did not finish. */
static int write_record(struct engine *e, struct ctr *c, const struct husk_image *img,
			const char *ref, const struct run_options *o, const char *name,
			husk_error **err)
{
	cleanup_json json_t *oci = NULL;

	if (container_config_generate(&e->paths, img, o, c->id, c->dir, &oci, err) < 0 ||
	    write_config(c->dir, oci, err) < 0)
		return -1;
	c->config = json_incref(oci);
	c->doc = doc_build(c->id, name, ref, img, o, oci);
	if (c->doc == NULL)
		return husk_error_set(err, ENOMEM, "container.json");
	c->st.status = CTR_CREATED;
	if (ctr_save_state(c, err) < 0)
		return -1;
	return ctr_save_doc(c, err);
}

/* containers/<id>, made under a name that says who makes it and renamed
 * with its lock taken (held until the caller frees c): a dir left by a
 * husk killed at any point is told from one being made (remains.h). */
static int dir_make(const struct engine *e, struct ctr *c, husk_error **err)
{
	cleanup_free char *transit = ctr_transit_path(e, "creating", c->id), *lock = NULL;

	if (transit == NULL || asprintf(&lock, "%s/lock", transit) < 0)
		return husk_error_set(err, ENOMEM, "container dir");
	if (mkdir(transit, 0700) < 0)
		return husk_error_set(err, errno, "mkdir `%s`", transit);
	c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX) < 0 || rename(transit, c->dir) < 0) {
		int e1 = errno;
		ctr_unlock(c);
		rm_rf_at(AT_FDCWD, transit);
		return husk_error_set(err, e1, "make `%s`", c->dir);
	}
	return 0;
}

static int release_image(struct engine *e, const char *id, husk_error **err)
{
	struct husk_store *s = NULL;
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_release(s, id, err);
	husk_store_close(s);
	return r;
}

/* The dir renamed away (to .removing-<id>-<pid>-<start>), the image
 * released, then the dir removed: a removal killed at any point leaves
 * what system prune recognizes and finishes (remains.h). */
static int dir_remove(struct engine *e, const char *id, const char *dir, husk_error **err)
{
	cleanup_free char *doomed = ctr_transit_path(e, "removing", id);
	const char *target = doomed;

	if (doomed == NULL)
		return husk_error_set(err, ENOMEM, "remove `%s`", dir);
	if (rename(dir, doomed) < 0) {
		if (errno != ENOENT)
			return husk_error_set(err, errno, "remove `%s`", dir);
		target = NULL; /* gone already */
	}
	if (release_image(e, id, err) < 0)
		return -1;
	if (target && rm_rf_at(AT_FDCWD, target) < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "remove `%s`", target);
	return 0;
}

int ctr_create(struct engine *e, const char *image_ref, const struct run_options *o,
	       struct ctr **ret, husk_error **err)
{
	cleanup_ctr struct ctr *c = calloc(1, sizeof(*c));
	struct husk_image *img = NULL;
	cleanup_free char *name = NULL;
	bool held = false;
	int r;

	if (c == NULL)
		return husk_error_set(err, ENOMEM, "container");
	c->lock_fd = -1;
	if (net_check_options(e, o, err) < 0)
		return -1;
	if (o->security.userns_keep_id && !in_user_namespace())
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "--userns keep-id: only rootless (as root the container's "
				       "ids are the host's already: use -u, or --userns auto)");
	if (new_id(c->id, err) < 0)
		return -1;
	c->dir = engine_container_path(&e->paths, c->id, NULL);
	if (c->dir == NULL)
		return husk_error_set(err, ENOMEM, "container dir");
	if (dir_make(e, c, err) < 0)
		return -1;
	r = o->name ? name_claim(e, c->id, o->name, err) : name_generate(e, c->id, &name, err);
	if (r == 0 && o->name)
		name = strdup(o->name);
	if (r == 0 && o->security.userns_size)
		r = userns_auto_allocate(e->paths.containers, c->dir, o->security.userns_size, err);
	if (r == 0 && o->security.userns_keep_id)
		r = userns_keep_id_record(c->dir, o->security.keep_uid, o->security.keep_gid, err);
	if (r == 0)
		r = image_hold_and_get(e, image_ref, c->id, &held, &img, err);
	if (r == 0)
		r = write_record(e, c, img, image_ref, o, name, err);
	if (r < 0) {
		husk_image_free(img);
		/* what there is to undo, by hand: there is no record yet */
		if (name)
			name_release(e, c->id, name, NULL);
		volumes_release(e->paths.storage_root, c->id, true, NULL);
		dir_remove(e, c->id, c->dir, NULL);
		return -1;
	}
	c->img = img;
	*ret = steal_pointer(&c);
	return 0;
}

/* Keeps the first error; later ones are dropped. */
static void keep_first(husk_error **first, husk_error **e)
{
	if (*first == NULL)
		*first = steal_pointer(e);
	husk_error_free(e);
}

int ctr_remove(struct engine *e, struct ctr *c, bool remove_volumes, husk_error **err)
{
	husk_error *first = NULL, *e1 = NULL;
	cleanup_free char *doomed = NULL;

	if (husk_container_delete(&e->rt, c->id, true, &e1) < 0 &&
	    !husk_error_is(e1, HUSK_ERR_NOT_FOUND))
		keep_first(&first, &e1);
	husk_error_free(&e1);
	net_container_down(e, c->id);
	if (rootfs_unmount(c->dir, &e1) < 0) {
		/* never remove through a mount that is still there */
		keep_first(&first, &e1);
		*err = first;
		return -1;
	}
	/* container.json goes first: a half-removed container is no longer
	 * listed, and the rest is removed by name from here on. */
	if (asprintf(&doomed, "%s/container.json", c->dir) >= 0)
		unlink(doomed);
	if (name_release(e, c->id, c->name, &e1) < 0)
		keep_first(&first, &e1);
	/* --rm and rm -v: its anonymous volumes go with it */
	if (volumes_release(e->paths.storage_root, c->id, remove_volumes, &e1) < 0)
		keep_first(&first, &e1);
	if (dir_remove(e, c->id, c->dir, &e1) < 0)
		keep_first(&first, &e1);
	if (first == NULL)
		return 0;
	*err = first;
	return -1;
}

int ctr_remove_remains(struct engine *e, const char *id, husk_error **err)
{
	struct ctr c = {.lock_fd = -1};
	cleanup_strv char **names = NULL;
	int r;

	memcpy(c.id, id, 65);
	c.dir = engine_container_path(&e->paths, id, NULL);
	if (c.dir == NULL || names_of(e, id, &names, err) < 0) {
		free(c.dir);
		return c.dir ? -1 : husk_error_set(err, ENOMEM, "container");
	}
	for (size_t i = 0; names[i]; i++)
		name_release(e, id, names[i], NULL);
	/* its anonymous volumes are kept: volume prune decides */
	r = ctr_remove(e, &c, false, err);
	free(c.dir);
	return r;
}

int ctr_transit_remove(struct engine *e, const char *name, husk_error **err)
{
	cleanup_free char *dir = NULL;
	const char *what;
	char id[65];
	bool alive;

	if (!ctr_transit_parse(name, &what, id, &alive) || alive)
		return husk_error_fail(err, HUSK_ERR_BUSY, "`%s` is no abandoned container dir",
				       name);
	if (asprintf(&dir, "%s/%s", e->paths.containers, name) < 0)
		return husk_error_set(err, ENOMEM, "%s", name);
	if (rootfs_unmount(dir, err) < 0)
		return -1;
	/* A removal's: its image may still be held (a creation's holds
	 * nothing yet: the hold comes after the rename). */
	if (strcmp(what, "removing") == 0 && release_image(e, id, err) < 0)
		return -1;
	if (rm_rf_at(AT_FDCWD, dir) < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "remove `%s`", dir);
	return 0;
}
