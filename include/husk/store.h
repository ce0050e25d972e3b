/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The image store: content-addressed blobs, layers unpacked once and shared,
 * and an index of image names. The engine runs containers from it on
 * overlayfs; registry pulls, `load`, `import`, `commit` and `build` write
 * into it.
 *
 * Layout under the root (/var/lib/husk for root, ~/.local/share/husk for
 * other users, see husk_store_default_root()):
 *
 *   lock                    flock: shared by every handle that has written
 *                           (until it is closed), exclusive for gc
 *   index.lock              flock: exclusive around each change of images.json
 *   images.json             the index: {"version":1,
 *                             "images":{"sha256:<manifest>":{"config":"sha256:..",
 *                                       "created":"..","size":N}},
 *                             "tags":{"busybox:latest":"sha256:<manifest>"}}
 *   blobs/sha256/<hex>      layers (tar, tar+gzip, tar+zstd), image configs,
 *                           manifests and indexes, named by the sha256 of
 *                           their bytes
 *   layers/<diffid-hex>/    a layer unpacked: an overlay lowerdir holding
 *                           that layer's own entries (OCI whiteouts turned into
 *                           overlay ones). Named by the layer's DiffID (the
 *                           sha256 of its uncompressed tar), so every image
 *                           that has the layer shares one directory, whatever
 *                           the layers below it and its compression.
 *   holds/<holder>          a file naming a manifest digest that something
 *                           (a container) uses: gc keeps that image's blobs
 *                           and layers even once it has no name
 *
 * All-or-nothing: every file and directory is written under a `.tmp-*` name
 * in its final directory, flushed (fsync, or syncfs for a layer directory)
 * and renamed into place, then the directory is fsync'd. A writer killed at
 * any point leaves the old state or the new one plus `.tmp-*` garbage, which
 * husk_store_open() (when no other handle is writing) and husk_store_gc()
 * remove. Blobs and layer directories are named by their content, so two
 * processes writing the same one both succeed and leave one copy. An image
 * exists once images.json names it, which is the last step of every write.
 *
 * A handle is for one process: do not use it across fork(). Its `lock` is
 * an flock, which a forked child that does not exec keeps holding (all fds are
 * O_CLOEXEC): close the store before forking a long-lived child such as a
 * container monitor, or gc waits for that child. For the same reason keep
 * handles short-lived: gc waits for every handle that has written (a hold is
 * a write) until it is closed.
 *
 * Image ids are config digests (as Docker's and Podman's); images.json keys
 * images by manifest digest, which is what a pull or a `load` verifies.
 *
 * Rootless (a user namespace): device nodes are refused, the opaque-directory
 * xattr is user.overlay.opaque (for overlay's "userxattr" mount option) and
 * whiteouts are 0/0 character devices, which the kernel lets anyone create
 * since 5.8. Ownership is applied when the caller is root in its namespace.
 *
 * Nothing here prints. Errors come back in a husk_error of a kind:
 * HUSK_ERR_NOT_FOUND (no such image, blob, layer), HUSK_ERR_INVALID (a bad
 * name, a digest mismatch, a hostile or corrupt archive, an ambiguous id),
 * HUSK_ERR_BUSY (an image in use), HUSK_ERR_UNSUPPORTED (a digest algorithm,
 * a manifest type), HUSK_ERR_SYSTEM and the errno kinds.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <husk/error.h>

struct husk_store;

struct husk_store_opts {
	const char *root; /* NULL: husk_store_default_root() */
	/* No device nodes in layers, user.overlay.* xattrs. Implied when not
	 * root, or root in a user namespace other than the initial one. */
	bool rootless;
};

/* /var/lib/husk for root, $XDG_DATA_HOME/husk or $HOME/.local/share/husk
 * otherwise. */
int husk_store_default_root(char **ret, husk_error **err);

/* Opens (creating it if needed) the store, and removes `.tmp-*` leftovers when
 * no other handle is writing. */
int husk_store_open(const struct husk_store_opts *opts, struct husk_store **ret, husk_error **err);
void husk_store_close(struct husk_store *s);
const char *husk_store_root(const struct husk_store *s);

/* "sha256:" and 64 lowercase hex digits. */
#define HUSK_DIGEST_LEN 71
bool husk_digest_valid(const char *digest);

/* --- Blobs --------------------------------------------------------------- */

/*
 * A blob written as a stream: the sha256 is computed as the bytes come, and
 * the blob appears under its digest only when husk_blob_writer_commit()
 * verified it. expected_digest NULL: whatever the content's digest is.
 * expected_size < 0: unknown; otherwise a write past it fails at once (a
 * registry or an archive sending more than the manifest said) and a commit
 * short of it fails too. A failed or freed writer leaves nothing.
 */
struct husk_blob_writer;
int husk_blob_writer_new(struct husk_store *s, const char *expected_digest, int64_t expected_size,
			 struct husk_blob_writer **ret, husk_error **err);
int husk_blob_writer_write(struct husk_blob_writer *w, const void *buf, size_t len,
			   husk_error **err);
/* ret_digest (may be NULL) receives "sha256:<hex>"; ret_size may be NULL. */
int husk_blob_writer_commit(struct husk_blob_writer *w, char **ret_digest, int64_t *ret_size,
			    husk_error **err);
void husk_blob_writer_free(struct husk_blob_writer *w);

/* Reads fd to its end into a blob (a writer's whole life). */
int husk_store_write_blob_fd(struct husk_store *s, int fd, const char *expected_digest,
			     int64_t expected_size, char **ret_digest, int64_t *ret_size,
			     husk_error **err);
int husk_store_write_blob(struct husk_store *s, const void *data, size_t len,
			  const char *expected_digest, char **ret_digest, husk_error **err);
bool husk_store_has_blob(struct husk_store *s, const char *digest);
/* A read-only fd on the blob. */
int husk_store_open_blob(struct husk_store *s, const char *digest, int *ret_fd, husk_error **err);
/* The whole blob, NUL-terminated; refused if longer than max_len. */
int husk_store_read_blob(struct husk_store *s, const char *digest, size_t max_len, char **ret,
			 size_t *ret_len, husk_error **err);

/* --- Layers -------------------------------------------------------------- */

struct husk_layer {
	char *digest;	  /* of the blob, as the manifest names it */
	char *diff_id;	  /* of the uncompressed tar, as the config names it */
	char *media_type; /* of the blob */
	int64_t size;	  /* of the blob */
	char *path;	  /* the unpacked directory (an overlay lowerdir), or NULL */
};
void husk_layer_clear(struct husk_layer *l);

/*
 * Unpacks a layer blob (tar, tar+gzip, tar+zstd, ...) into layers/<diffid>/,
 * once: an existing directory of that DiffID is reused without reading the
 * blob (it was verified when it was made, and the DiffID is what the image's
 * config, hence its id, names). The DiffID is computed while
 * unpacking and must equal diff_id when that is given (NULL: not known yet,
 * e.g. `import`). Hostile entries are refused: `..` or absolute paths,
 * writing through a symlink, hardlinks out of the layer, device nodes when
 * rootless, data beyond an entry's declared size. ret_diff_id, ret_path may be
 * NULL.
 */
int husk_store_unpack_layer(struct husk_store *s, const char *blob_digest, const char *diff_id,
			    char **ret_diff_id, char **ret_path, husk_error **err);
/* layers/<hex of diff_id>, whether it exists or not. */
char *husk_store_layer_path(struct husk_store *s, const char *diff_id);

/* One run of a user namespace's id map: inner ids [inner, inner + count)
 * are outer ids [outer, outer + count). */
struct husk_id_extent {
	unsigned long inner, outer, count;
};

#define HUSK_OVERFLOW_ID 65534UL

/* The inner id of outer through the n extents (n 0: outer itself), or
 * HUSK_OVERFLOW_ID when no extent holds it. */
unsigned long husk_id_inner(const struct husk_id_extent *e, size_t n, unsigned long outer);
/* The outer id of inner through the n extents (n 0: inner itself), or the
 * outer id of HUSK_OVERFLOW_ID (itself when unmapped) when none holds it. */
unsigned long husk_id_outer(const struct husk_id_extent *e, size_t n, unsigned long inner);

struct husk_pack_opts {
	/* The directory is an overlay upper dir (`commit`): 0/0 character
	 * devices become `.wh.NAME` and opaque directories get `.wh..wh..opq`. */
	bool overlay_upper;
	/* >= 0: every entry gets this mtime (reproducible layers); < 0: kept. */
	int64_t mtime;
	/* A tree of a container with a user namespace of its own: owners
	 * are written as the container sees them (through its id maps),
	 * those it does not map as its overflow id 65534. n_uids 0: written
	 * as they are. */
	const struct husk_id_extent *uids, *gids;
	size_t n_uids, n_gids;
};

/*
 * Packs the tree under dirfd into an uncompressed tar layer blob: entries
 * sorted by name (a directory before what it holds), numeric owners, xattrs
 * except overlay's own, hardlinks kept. Fills ret (digest = diff_id, media
 * type application/vnd.oci.image.layer.v1.tar); does not unpack it.
 */
int husk_store_pack_dir(struct husk_store *s, int dirfd, const struct husk_pack_opts *opts,
			struct husk_layer *ret, husk_error **err);
/* The same walk, written as a plain tar stream to fd (`export`): entry
 * names relative to dirfd ("bin/sh"), symlinks stored as such, never
 * followed. Needs no store. */
int husk_tar_dir(int dirfd, int fd, const struct husk_pack_opts *opts, husk_error **err);

/* --- Overlay upper dirs ------------------------------------------------- */

/*
 * What commit and diff read in a container's upper dir, in either driver's
 * format. The kernel's overlay marks an entry NAME deleted with a 0/0
 * character device NAME, and a directory opaque (hiding all the layers
 * below have there) with the xattr trusted.overlay.opaque, or
 * user.overlay.opaque in a user namespace. fuse-overlayfs makes the same
 * device where it may, else an empty file `.wh.NAME`; it marks a directory
 * opaque with trusted.overlay.opaque or user.fuseoverlayfs.opaque and a
 * `.wh..wh..opq` file, which it hides from itself with a whiteout named
 * `.wh..opq`.
 */
enum husk_upper_entry {
	HUSK_UPPER_PLAIN,    /* a file, dir, ... the container made or changed */
	HUSK_UPPER_WHITEOUT, /* deletes the entry *ret_name from the layers */
	HUSK_UPPER_INTERNAL, /* the driver's own bookkeeping */
};

/* The kind of the entry name (st: its lstat) of an upper dir; for a
 * whiteout, *ret_name is the name it deletes (within name). */
enum husk_upper_entry husk_upper_entry_kind(const char *name, const struct stat *st,
					    const char **ret_name);
/* Whether the directory (an fd open for reading, not O_PATH) is opaque. */
bool husk_upper_dir_opaque(int dirfd);
/* An xattr of overlay's or fuse-overlayfs's own, never packed in a layer. */
bool husk_overlay_xattr(const char *name);

/* --- Images -------------------------------------------------------------- */

struct husk_healthcheck {
	char **test; /* ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"] */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
	int retries;
};

/* The image config's "config" object (Docker's field names). Absent fields
 * are NULL. */
struct husk_image_config {
	char **entrypoint;
	char **cmd;
	char **env; /* "NAME=value" */
	char *working_dir;
	char *user;
	char **exposed_ports; /* "80/tcp", sorted */
	char **volumes;	      /* "/data", sorted */
	char *stop_signal;
	char **labels; /* "key=value", sorted by key */
	struct husk_healthcheck *healthcheck;
};

struct husk_image {
	char *id;	       /* the config digest */
	char *manifest_digest; /* what images.json names */
	char *media_type;      /* of the manifest */
	char **tags;	       /* "name:tag", sorted */
	char *created;	       /* RFC 3339, or NULL */
	char *os, *architecture;
	int64_t size; /* the layer blobs' sizes added up */
	struct husk_image_config config;
	size_t n_layers;
	struct husk_layer *layers; /* bottom first; path set when unpacked */
	json_t *config_json;	   /* the whole config document (owned) */
	json_t *manifest_json;	   /* owned */
};
void husk_image_free(struct husk_image *img);

/* "busybox" → "busybox:latest"; refuses names Docker would refuse. */
int husk_store_normalize_name(const char *name, char **ret, husk_error **err);

/*
 * What a reference names, as a manifest digest: a name[:tag], a
 * name@sha256:<hex>, "sha256:<hex>" or a prefix of an image id (the config
 * digest's hex, or a manifest digest's); a name wins over an id prefix. An
 * id prefix that fits two images is HUSK_ERR_INVALID.
 */
int husk_store_resolve(struct husk_store *s, const char *ref, char **ret_manifest_digest,
		       husk_error **err);

/* The image with its config and layers (paths set for unpacked layers). */
int husk_store_image_get(struct husk_store *s, const char *ref, struct husk_image **ret,
			 husk_error **err);

struct husk_image_summary {
	char *id;
	char *manifest_digest;
	char **tags; /* sorted; NULL for an image without a name */
	char *created;
	int64_t size;
};
/* Every image, sorted by id. */
int husk_store_list_images(struct husk_store *s, struct husk_image_summary **ret, size_t *ret_n,
			   husk_error **err);
void husk_image_summaries_free(struct husk_image_summary *list, size_t n);

/* Points name (normalized) at what ref names; the tag moves if it existed. */
int husk_store_tag(struct husk_store *s, const char *ref, const char *name, husk_error **err);

/*
 * `rmi`. A name removes that name, and the image with it when it was its
 * last one. An id removes the image and all its names; without force it is
 * refused (HUSK_ERR_BUSY) when the image has several names. Either way an
 * image held by a container is refused without force; with force it loses
 * its names but stays, nameless (Docker's dangling image), until it is
 * released and removed by id. The blobs and layers of a removed image become
 * garbage for husk_store_gc(). ret_deleted (may be NULL): whether the image
 * itself went, not only a name.
 */
int husk_store_remove_image(struct husk_store *s, const char *ref, bool force, bool *ret_deleted,
			    husk_error **err);

/* What a removal did, for `rmi` to report as Docker does. */
struct husk_removal {
	char **untagged;  /* the names removed, sorted; NULL when none */
	char *deleted_id; /* the image's id when the image itself went; else NULL */
};
void husk_removal_clear(struct husk_removal *r);
/* husk_store_remove_image(), telling what went. */
int husk_store_rmi(struct husk_store *s, const char *ref, bool force, struct husk_removal *ret,
		   husk_error **err);

/*
 * Records an image whose blobs are in the store (a pull, a `load`): reads the
 * manifest (OCI or Docker schema 2; an index or a manifest list picks
 * linux/<this arch>), checks the config and every layer blob are there and
 * agree, unpacks the layers, then adds it to images.json, named name when
 * that is not NULL. An image is its config, as Docker's: when the index has
 * its id already (with a manifest whose layers are compressed otherwise),
 * that manifest stays and the name goes to it. ret_manifest_digest (may be
 * NULL): the manifest the index names the image by.
 */
int husk_store_record_image(struct husk_store *s, const char *manifest_digest, const char *name,
			    char **ret_manifest_digest, husk_error **err);

struct husk_image_create {
	const char *base; /* an image reference whose layers come first; NULL: none */
	const struct husk_layer *layers; /* new layers on top (their blobs stored) */
	size_t n_layers;
	/* The "config" object (Cmd, Env, ...); NULL: the base's, or empty. */
	json_t *config;
	const char *created;	/* RFC 3339; NULL: 1970-01-01T00:00:00Z */
	const char *created_by; /* the history entry's; may be NULL */
	const char *author;	/* the config's and the history entry's; may be NULL */
	const char *comment; /* the history entry's (`import`: "Imported from -", `commit -m`); may
				be NULL */
	const char *name;    /* NULL: an image without a name */
};

/* Writes a config and an OCI manifest for the layers and records the image. */
int husk_store_create_image(struct husk_store *s, const struct husk_image_create *c,
			    char **ret_manifest_digest, husk_error **err);

/* `import` of a directory: one layer packed from dirfd, then an image of it. */
int husk_store_import_dir(struct husk_store *s, int dirfd, const struct husk_pack_opts *pack,
			  const struct husk_image_create *c, char **ret_manifest_digest,
			  husk_error **err);

/* `import` of a rootfs tar (plain, gzip or zstd) read from fd to its end. */
int husk_store_import_tar(struct husk_store *s, int fd, const struct husk_image_create *c,
			  char **ret_manifest_digest, husk_error **err);

/* --- Archives: `save` and `load` ---------------------------------------- */

enum husk_archive_format {
	HUSK_ARCHIVE_DOCKER, /* `docker save`'s: manifest.json, <config>.json, <layer>/layer.tar */
	HUSK_ARCHIVE_OCI,    /* an OCI image layout in a tar: oci-layout, index.json, blobs/ */
};
/* "docker-archive" or "oci-archive". */
int husk_archive_format_parse(const char *name, enum husk_archive_format *ret, husk_error **err);

/*
 * `save`: the images refs name, as a tar written to fd. A ref that is a name
 * gives the image that name in the archive (RepoTags, or an index entry's
 * org.opencontainers.image.ref.name); one that is an id, no name. Every blob
 * is checked against its digest as it is copied. A docker-archive holds the
 * layers uncompressed (their DiffIDs name them); an oci-archive, the blobs as
 * stored. The store's `lock` is held shared meanwhile: gc waits.
 */
int husk_store_save(struct husk_store *s, const char *const *refs, size_t n_refs,
		    enum husk_archive_format format, int fd, husk_error **err);

struct husk_load_result {
	char **names; /* the names the archive gave, sorted; NULL when none */
	char **ids;   /* the ids of the images loaded without a name; NULL when none */
};
void husk_load_result_clear(struct husk_load_result *r);

/*
 * `load`: a docker-archive or an oci-archive (tar, possibly compressed) read
 * from fd to its end, whichever it is. Every file is streamed into a blob and
 * verified (an OCI blob against the digest that names it, a config against
 * the id, a layer against its DiffID), every image is checked and its layers
 * unpacked, and only then are all the images and their names recorded, in
 * one change of images.json: a corrupt archive or a killed load records
 * nothing (its blobs are garbage for husk_store_gc()). Names such as
 * docker.io/library/busybox:latest are recorded as busybox:latest.
 */
int husk_store_load(struct husk_store *s, int fd, struct husk_load_result *ret, husk_error **err);

/* --- Holds, garbage, checks ---------------------------------------------- */

/* holder ([A-Za-z0-9_.-]+, e.g. a container id) uses the image ref names:
 * gc keeps its blobs and layers until husk_store_release(). */
int husk_store_hold(struct husk_store *s, const char *holder, const char *ref, husk_error **err);
int husk_store_release(struct husk_store *s, const char *holder, husk_error **err);

struct husk_store_gc_stats {
	unsigned blobs, layers, temps; /* removed */
	uint64_t bytes;		       /* of the blobs removed */
};
/*
 * Removes `.tmp-*` leftovers, and the blobs and layers that no image in
 * images.json and no hold references, each all-or-nothing (a layer directory
 * is first renamed to a `.tmp-*` name). Waits for the other writers to close
 * their handles. Refuses to remove anything when a referenced manifest or
 * config cannot be read. ret may be NULL.
 */
int husk_store_gc(struct husk_store *s, struct husk_store_gc_stats *ret, husk_error **err);

/*
 * `system check`: every blob's content matches its name, every image's
 * manifest, config and layer blobs are there, and its layers are unpacked.
 * ret_problems: one line per problem, NULL when none.
 */
int husk_store_check(struct husk_store *s, char ***ret_problems, husk_error **err);

/* --- The built-in image -------------------------------------------------- */

/*
 * Makes `busybox:latest` from the host's static busybox (/bin/busybox) if it
 * is not in the store: one layer with /bin/busybox, a symlink per applet,
 * /etc/passwd (root, nobody) and /etc/group (root, nogroup), /tmp (1777),
 * /root (0700), /home, /var, and empty
 * /proc, /sys and /dev; Cmd ["sh"] and the usual PATH. Reproducible: the
 * same busybox gives the same digests. ret_manifest_digest may be NULL.
 */
int husk_store_ensure_busybox(struct husk_store *s, char **ret_manifest_digest, husk_error **err);
