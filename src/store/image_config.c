/* SPDX-License-Identifier: MIT */
/* The image config (OCI's and Docker's, which share their field names). */
#define _GNU_SOURCE
#include "store_internal.h"

#include <string.h>

void image_config_clear(struct husk_image_config *c)
{
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	strv_free(c->exposed_ports);
	strv_free(c->volumes);
	free(c->stop_signal);
	strv_free(c->labels);
	if (c->healthcheck != NULL) {
		strv_free(c->healthcheck->test);
		free(c->healthcheck);
	}
	*c = (struct husk_image_config){NULL};
}

/* A JSON array of strings; null or absent is NULL. */
static int strv_from_array(json_t *a, const char *field, char ***ret, husk_error **err)
{
	cleanup_strv char **v = NULL;
	json_t *item;
	size_t i;

	*ret = NULL;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return husk_error_fail(err, HUSK_ERR_INVALID, "config: %s is not an array", field);
	v = calloc(json_array_size(a) + 1, sizeof(char *));
	if (v == NULL)
		return husk_error_set(err, ENOMEM, "config");
	json_array_foreach (a, i, item) {
		if (!json_is_string(item))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "config: %s holds a non-string", field);
		v[i] = strdup(json_string_value(item));
		if (v[i] == NULL)
			return husk_error_set(err, ENOMEM, "config");
	}
	*ret = steal_pointer(&v);
	return 0;
}

/* The keys of an object ({"80/tcp": {}}), sorted; with_values: "key=value". */
static int strv_from_object(json_t *o, const char *field, bool with_values, char ***ret,
			    husk_error **err)
{
	cleanup_strv char **v = NULL;
	const char *key;
	json_t *value;
	size_t i = 0;

	*ret = NULL;
	if (o == NULL || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return husk_error_fail(err, HUSK_ERR_INVALID, "config: %s is not an object", field);
	v = calloc(json_object_size(o) + 1, sizeof(char *));
	if (v == NULL)
		return husk_error_set(err, ENOMEM, "config");
	json_object_foreach (o, key, value) {
		int r;
		if (with_values && !json_is_string(value))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "config: %s: `%s` is not a string", field, key);
		r = with_values ? asprintf(&v[i], "%s=%s", key, json_string_value(value))
				: ((v[i] = strdup(key)) ? 0 : -1);
		if (r < 0) {
			v[i] = NULL;
			return husk_error_set(err, ENOMEM, "config");
		}
		i++;
	}
	store_strv_sort(v);
	*ret = steal_pointer(&v);
	return 0;
}

static int string_field(json_t *o, const char *field, char **ret, husk_error **err)
{
	json_t *v = json_object_get(o, field);

	*ret = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return husk_error_fail(err, HUSK_ERR_INVALID, "config: %s is not a string", field);
	if (json_string_length(v) == 0)
		return 0;
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : husk_error_set(err, ENOMEM, "config");
}

static int64_t duration_field(json_t *o, const char *field)
{
	json_t *v = json_object_get(o, field);

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

static int healthcheck_parse(json_t *h, struct husk_healthcheck **ret, husk_error **err)
{
	struct husk_healthcheck *hc;

	*ret = NULL;
	if (h == NULL || json_is_null(h))
		return 0;
	if (!json_is_object(h))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "config: Healthcheck is not an object");
	hc = calloc(1, sizeof(*hc));
	if (hc == NULL)
		return husk_error_set(err, ENOMEM, "config");
	if (strv_from_array(json_object_get(h, "Test"), "Healthcheck.Test", &hc->test, err) < 0) {
		free(hc);
		return -1;
	}
	hc->interval_ns = duration_field(h, "Interval");
	hc->timeout_ns = duration_field(h, "Timeout");
	hc->start_period_ns = duration_field(h, "StartPeriod");
	hc->start_interval_ns = duration_field(h, "StartInterval");
	hc->retries = (int)duration_field(h, "Retries");
	*ret = hc;
	return 0;
}

static int config_object_parse(json_t *c, struct husk_image_config *out, husk_error **err)
{
	if (c == NULL || json_is_null(c))
		return 0;
	if (!json_is_object(c))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "config: \"config\" is not an object");
	if (strv_from_array(json_object_get(c, "Entrypoint"), "Entrypoint", &out->entrypoint, err) <
		0 ||
	    strv_from_array(json_object_get(c, "Cmd"), "Cmd", &out->cmd, err) < 0 ||
	    strv_from_array(json_object_get(c, "Env"), "Env", &out->env, err) < 0 ||
	    string_field(c, "WorkingDir", &out->working_dir, err) < 0 ||
	    string_field(c, "User", &out->user, err) < 0 ||
	    strv_from_object(json_object_get(c, "ExposedPorts"), "ExposedPorts", false,
			     &out->exposed_ports, err) < 0 ||
	    strv_from_object(json_object_get(c, "Volumes"), "Volumes", false, &out->volumes, err) <
		0 ||
	    string_field(c, "StopSignal", &out->stop_signal, err) < 0 ||
	    strv_from_object(json_object_get(c, "Labels"), "Labels", true, &out->labels, err) < 0)
		return -1;
	return healthcheck_parse(json_object_get(c, "Healthcheck"), &out->healthcheck, err);
}

/* rootfs.diff_ids, one per layer of the manifest, in order. */
static int diff_ids_parse(json_t *rootfs, struct husk_image *img, husk_error **err)
{
	json_t *ids = json_object_get(rootfs, "diff_ids");
	const char *type = json_string_value(json_object_get(rootfs, "type"));

	if (type == NULL || strcmp(type, "layers") != 0 || !json_is_array(ids))
		return husk_error_fail(err, HUSK_ERR_INVALID, "config: no rootfs of type layers");
	if (json_array_size(ids) != img->n_layers)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "config lists %zu layers, the manifest %zu",
				       json_array_size(ids), img->n_layers);
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		if (digest_check(id, "config: rootfs.diff_ids", err) < 0)
			return -1;
		img->layers[i].diff_id = strdup(id);
		if (img->layers[i].diff_id == NULL)
			return husk_error_set(err, ENOMEM, "config");
	}
	return 0;
}

int image_config_load(struct husk_store *s, const char *config_digest, struct husk_image *img,
		      husk_error **err)
{
	json_t *j = NULL;

	if (blob_read_json(s, config_digest, CONFIG_MAX, &j, err) < 0)
		return husk_error_wrap(err, "image config");
	img->config_json = j;
	img->id = strdup(config_digest);
	if (img->id == NULL)
		return husk_error_set(err, ENOMEM, "config");
	if (string_field(j, "created", &img->created, err) < 0 ||
	    string_field(j, "os", &img->os, err) < 0 ||
	    string_field(j, "architecture", &img->architecture, err) < 0 ||
	    config_object_parse(json_object_get(j, "config"), &img->config, err) < 0 ||
	    diff_ids_parse(json_object_get(j, "rootfs"), img, err) < 0)
		return husk_error_wrap(err, "image config %s", config_digest);
	return 0;
}
