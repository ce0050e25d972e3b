#!/usr/bin/env bats
# The engine's image verbs, as root: tag, rmi, history, image inspect, save and
# load (docker-archive and oci-archive, both ways, and with skopeo), import.
# Bad input gives one line, 125 and no image recorded. A private store and run
# root per file (HUSK_STORAGE_ROOT, HUSK_RUN_ROOT), as engine.bats.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() { skip_unless_root; }

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	# a fresh store's default network is its own
	[ "$HUSK_STORAGE_ROOT" = "$BATS_FILE_TMPDIR/storage" ] || engine_net_remove
	nothing_left
}

# image_id REF: the full id, from inspect.
image_id() { hk image inspect "$1" | jq -r '.[0].Id'; }

# fresh_store NAME: this test's own store from here on (teardown checks it).
fresh_store() { export HUSK_STORAGE_ROOT="$BATS_TEST_TMPDIR/$1"; }

# expect_load_refused FILE MESSAGE: one line naming the problem, 125, and the
# index as it was.
expect_load_refused() {
	local before
	before=$(cat "$HUSK_STORAGE_ROOT/images.json")
	run hk load -i "$1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "husk: load: "*"$2"* ]]
	[ "$(cat "$HUSK_STORAGE_ROOT/images.json")" = "$before" ]
}

# --- tag ------------------------------------------------------------------

@test "images: tag gives an image another name (busybox made on first use)" {
	fresh_store tag
	run hk tag busybox mybox:v1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	hk tag mybox:v1 registry.local:5000/team/box
	run hk images
	[[ "$output" =~ mybox\ +v1\ +([0-9a-f]{12}) ]]
	local id=${BASH_REMATCH[1]}
	[[ "$output" =~ registry.local:5000/team/box\ +latest\ +$id ]]
	[[ "$output" =~ busybox\ +latest\ +$id ]]
	[ "$(image_id mybox:v1)" = "$(image_id busybox)" ]
	# a name that exists moves to the image tagged last
	mkdir -p "$BATS_TEST_TMPDIR/root/etc" && echo x >"$BATS_TEST_TMPDIR/root/etc/x"
	tar -C "$BATS_TEST_TMPDIR/root" -cf - . | hk import - other
	[ "$(image_id other)" != "$(image_id busybox)" ]
	hk tag busybox other
	[ "$(image_id other)" = "$(image_id busybox)" ]
}

@test "images: tag refuses an unknown image, a bad name, a wrong count, unknown flags" {
	run hk tag nosuchimage x
	[ "$status" -eq 125 ]
	[ "$output" = "husk: no such image: nosuchimage" ]
	run hk tag busybox 'Bad/Name'
	[ "$status" -eq 125 ]
	[ "$output" = "husk: invalid image name \`Bad/Name\`" ]
	run hk tag busybox
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	run hk tag --zz busybox x
	[ "$status" -eq 125 ]
	[ "$output" = "husk: tag: unknown flag \`--zz\`" ]
}

# --- rmi ------------------------------------------------------------------

@test "images: rmi untags a name, and deletes the image with its last name" {
	fresh_store rmi
	hk tag busybox one
	hk tag busybox two
	local id
	id=$(image_id busybox)
	run hk rmi one
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: one:latest" ]
	# by id with two names left: refused without -f
	run hk rmi "${id#sha256:}"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"has 2 names"* ]]
	run hk rmi two busybox
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Untagged: two:latest" ]
	[ "${lines[1]}" = "Untagged: busybox:latest" ]
	[ "${lines[2]}" = "Deleted: $id" ]
	# the blobs and layers went too
	[ -z "$(ls -A "$HUSK_STORAGE_ROOT/blobs/sha256" "$HUSK_STORAGE_ROOT/layers" | grep -v -e ':$' -e '^$')" ]
}

@test "images: rmi -f by id removes every name; unknown images fail, the others still go" {
	fresh_store rmif
	hk tag busybox a
	hk tag busybox b
	local id
	id=$(image_id a)
	run hk rmi -f "$id"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Untagged: a:latest" ]
	[ "${lines[1]}" = "Untagged: b:latest" ]
	[ "${lines[2]}" = "Untagged: busybox:latest" ]
	[ "${lines[3]}" = "Deleted: $id" ]
	hk tag busybox c
	run hk rmi nosuchimage c
	[ "$status" -eq 125 ]
	[[ "$output" == *"husk: no such image: nosuchimage"* ]]
	[[ "$output" == *"Untagged: c:latest"* ]]
	run hk rmi --force -z x
	[ "$status" -eq 125 ]
	[ "$output" = "husk: rmi: unknown flag \`-z\`" ]
	run hk rmi
	[ "$status" -eq 125 ]
}

@test "images: rmi refuses an image a running container holds; -f only untags it" {
	fresh_store held
	hk tag busybox held
	local id pid rc=0
	id=$(image_id held)
	hk rmi busybox
	"$HUSK_ENGINE" run --rm held sh -c 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done' \
		</dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	run hk rmi held
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^husk:\ image\ held\ is\ in\ use\ by\ container\ [0-9a-f]{64}$ ]]
	run hk rmi -f held
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: held:latest" ]
	# nameless, still there (Docker's dangling image) while the container runs
	run hk images
	[[ "$output" =~ \<none\>\ +\<none\>\ +${id:7:12} ]]
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	run hk rmi "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "Deleted: $id" ]
}

# --- history --------------------------------------------------------------

@test "images: history shows Docker's columns, newest first" {
	run hk history busybox
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^IMAGE\ +CREATED\ +CREATED\ BY\ +SIZE\ +COMMENT$ ]]
	local id
	id=$(image_id busybox)
	[[ "${lines[1]}" =~ ^${id:7:12}\ +[0-9]+\ years\ ago\ +husk:\ the\ built-in\ busybox.*…\ +[0-9.]+MB$ ]]
	run hk history --no-trunc busybox
	[[ "${lines[1]}" == "$id "*"husk: the built-in busybox, from the host's /bin/busybox "* ]]
	run hk history -q busybox
	[ "$output" = "${id:7:12}" ]
}

@test "images: history of an import has its comment; bad input is refused" {
	fresh_store hist
	mkdir -p "$BATS_TEST_TMPDIR/root/etc"
	echo hi >"$BATS_TEST_TMPDIR/root/etc/hi"
	tar -C "$BATS_TEST_TMPDIR/root" -cf - . | hk import - imp:1
	run hk history imp:1
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ +[0-9]+\ seconds?\ ago\ +[0-9.]+kB\ +Imported\ from\ -$ ]]
	run hk history nosuchimage
	[ "$status" -eq 125 ]
	[ "$output" = "husk: no such image: nosuchimage" ]
	run hk history
	[ "$status" -eq 125 ]
	run hk history --bad busybox
	[ "$status" -eq 125 ]
	[ "$output" = "husk: history: unknown flag \`--bad\`" ]
}

# --- image inspect --------------------------------------------------------

@test "images: image inspect prints Docker's shape" {
	run --separate-stderr hk image inspect busybox
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '
		length == 1 and (.[0] |
		(.Id | test("^sha256:[0-9a-f]{64}$")) and .RepoTags == ["busybox:latest"] and
		.RepoDigests == [] and .Created == "1970-01-01T00:00:00Z" and
		.Config.Cmd == ["sh"] and (.Config.Env[0] | startswith("PATH=")) and
		.Config.Entrypoint == null and .Config.WorkingDir == "" and .Config.User == "" and
		(.Config | has("ExposedPorts") and has("Volumes") and has("Labels") and
			has("StopSignal") and has("Healthcheck")) and
		.Os == "linux" and (.Architecture | length > 0) and .Size > 0 and
		.RootFS.Type == "layers" and (.RootFS.Layers | length == 1))'
}

@test "images: image inspect of found and missing images: the found ones, an error line each, 1" {
	run --separate-stderr hk image inspect busybox nosuchimage
	[ "$status" -eq 1 ]
	[ "$stderr" = "husk: no such image: nosuchimage" ]
	[ "$(echo "$output" | jq -r '.[].RepoTags[0]')" = busybox:latest ]
	run --separate-stderr hk image inspect nosuchimage
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -c .)" = "[]" ]
	run hk image inspect
	[ "$status" -eq 125 ]
	run hk image frobnicate
	[ "$status" -eq 125 ]
	[ "$output" = "husk: image: unknown command \`frobnicate\` (see husk image --help)" ]
	run hk image ls
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^REPOSITORY ]]
}

# --- save and load --------------------------------------------------------

# round_trip FORMAT: busybox saved under a new name, loaded into an empty
# store, and run from there.
round_trip() {
	hk tag busybox "rt:$1"
	hk save --format "$1" -o "$BATS_TEST_TMPDIR/rt.tar" "rt:$1"
	[ -s "$BATS_TEST_TMPDIR/rt.tar" ]
	ls "$BATS_TEST_TMPDIR" | grep -q husk-tmp && return 1
	fresh_store loaded
	run hk load -i "$BATS_TEST_TMPDIR/rt.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: rt:$1" ]
	run hk run --rm "rt:$1" echo "loaded from $1"
	[ "$status" -eq 0 ]
	[ "$output" = "loaded from $1" ]
	# only the loaded image: busybox was not made meanwhile
	[ "$(hk images | wc -l)" -eq 2 ]
}

@test "images: save and load round trip, docker-archive (docker save's layout)" {
	round_trip docker-archive
	tar -tf "$BATS_TEST_TMPDIR/rt.tar" >"$BATS_TEST_TMPDIR/list"
	grep -qx manifest.json "$BATS_TEST_TMPDIR/list"
	grep -qE '^[0-9a-f]{64}/layer.tar$' "$BATS_TEST_TMPDIR/list"
	grep -qE '^[0-9a-f]{64}\.json$' "$BATS_TEST_TMPDIR/list"
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/rt.tar" manifest.json | jq -r '.[0].RepoTags[0]')" = rt:docker-archive ]
}

@test "images: save and load round trip, oci-archive" {
	round_trip oci-archive
	tar -tf "$BATS_TEST_TMPDIR/rt.tar" >"$BATS_TEST_TMPDIR/list"
	grep -qx oci-layout "$BATS_TEST_TMPDIR/list"
	grep -qx index.json "$BATS_TEST_TMPDIR/list"
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/rt.tar" index.json |
		jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]')" = rt:oci-archive ]
}

@test "images: save to stdout, load from stdin (gzip'd too); several images, ids and names" {
	fresh_store pipe
	hk tag busybox p1
	mkdir -p "$BATS_TEST_TMPDIR/root/bin"
	cp "$(command -v busybox)" "$BATS_TEST_TMPDIR/root/bin/"
	local imp
	imp=$(tar -C "$BATS_TEST_TMPDIR/root" -cf - . | hk import -)
	hk save p1 busybox "$imp" >"$BATS_TEST_TMPDIR/all.tar"
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/all.tar" manifest.json | jq -c '[.[].RepoTags]')" = '[["p1:latest","busybox:latest"],null]' ]
	hk rmi p1 busybox "$imp" >/dev/null
	run bash -c "gzip -c '$BATS_TEST_TMPDIR/all.tar' | '$HUSK_ENGINE' load"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Loaded image: busybox:latest" ]
	[ "${lines[1]}" = "Loaded image: p1:latest" ]
	[ "${lines[2]}" = "Loaded image ID: $imp" ]
	run hk run --rm "${imp:7:12}" /bin/busybox echo imported
	[ "$output" = imported ]
	# the same through oci-archive
	hk save --format oci-archive busybox "$imp" >"$BATS_TEST_TMPDIR/all-oci.tar"
	hk rmi busybox p1 "$imp" >/dev/null
	run bash -c "'$HUSK_ENGINE' load -q <'$BATS_TEST_TMPDIR/all-oci.tar'"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Loaded image: busybox:latest" ]
	[ "${lines[1]}" = "Loaded image ID: $imp" ]
}

@test "images: save refuses unknown images (no file made), bad formats and flags" {
	run hk save -o "$BATS_TEST_TMPDIR/x.tar" busybox nosuchimage
	[ "$status" -eq 125 ]
	[ "$output" = "husk: no such image: nosuchimage" ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
	run hk save --format tarball -o "$BATS_TEST_TMPDIR/x.tar" busybox
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: save: unknown archive format \`tarball\`"* ]]
	run hk save -o
	[ "$status" -eq 125 ]
	[ "$output" = "husk: save: flag \`-o\` needs a value" ]
	run hk save -o "$BATS_TEST_TMPDIR/x.tar"
	[ "$status" -eq 125 ]
	run hk save -o /nonexistent/dir/x.tar busybox
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
	run hk load --what
	[ "$status" -eq 125 ]
	[ "$output" = "husk: load: unknown flag \`--what\`" ]
	run hk load -i "$BATS_TEST_TMPDIR/missing.tar"
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: load: open"*"No such file or directory" ]]
}

@test "images: load refuses a corrupt, truncated or foreign archive: one line, 125, nothing recorded" {
	hk save -o "$BATS_TEST_TMPDIR/ok.tar" busybox
	head -c 100000 "$BATS_TEST_TMPDIR/ok.tar" >"$BATS_TEST_TMPDIR/short.tar"
	expect_load_refused "$BATS_TEST_TMPDIR/short.tar" "corrupt or truncated"
	echo "not a tar" >"$BATS_TEST_TMPDIR/junk.tar"
	expect_load_refused "$BATS_TEST_TMPDIR/junk.tar" "corrupt or truncated"
	: >"$BATS_TEST_TMPDIR/empty.tar"
	expect_load_refused "$BATS_TEST_TMPDIR/empty.tar" "not an image archive"
	tar -C /etc -cf "$BATS_TEST_TMPDIR/other.tar" hostname
	expect_load_refused "$BATS_TEST_TMPDIR/other.tar" "not an image archive"
}

@test "images: load checks digests: an OCI blob, a docker-archive layer's DiffID" {
	local d=$BATS_TEST_TMPDIR/x config layer
	hk save --format oci-archive -o "$BATS_TEST_TMPDIR/oci.tar" busybox
	mkdir "$d" && tar -C "$d" -xf "$BATS_TEST_TMPDIR/oci.tar"
	config=$(image_id busybox)
	echo '{"tampered":true}' >"$d/blobs/sha256/${config#sha256:}"
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/bad-oci.tar" .
	expect_load_refused "$BATS_TEST_TMPDIR/bad-oci.tar" "$config: digest mismatch"

	rm -rf "$d" && mkdir "$d"
	hk save -o "$BATS_TEST_TMPDIR/docker.tar" busybox
	tar -C "$d" -xf "$BATS_TEST_TMPDIR/docker.tar"
	layer=$(ls "$d"/*/layer.tar)
	tar -C /etc -cf "$layer" hostname
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/bad-docker.tar" .
	expect_load_refused "$BATS_TEST_TMPDIR/bad-docker.tar" "layer.tar\`: digest mismatch"
}

# hostile_second_image DIR: the second image of the docker-archive unpacked
# in DIR replaced by one whose layer (its DiffID right) holds `../escape`:
# refused only when its layer is unpacked, after the first image's was.
hostile_second_image() {
	python3 - "$1" <<'PY'
import hashlib, io, json, os, sys, tarfile
d = sys.argv[1]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    info = tarfile.TarInfo("../escape")
    info.size = 1
    t.addfile(info, io.BytesIO(b"x"))
layer = buf.getvalue()
os.mkdir(os.path.join(d, "evil"))
open(os.path.join(d, "evil/layer.tar"), "wb").write(layer)
config = {"architecture": "amd64", "os": "linux", "config": {},
          "rootfs": {"type": "layers",
                     "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
json.dump(config, open(os.path.join(d, "evil.json"), "w"))
m = json.load(open(os.path.join(d, "manifest.json")))
m[1] = {"Config": "evil.json", "RepoTags": ["second:latest"], "Layers": ["evil/layer.tar"]}
json.dump(m, open(os.path.join(d, "manifest.json"), "w"))
PY
}

@test "images: an archive whose second image is broken records neither" {
	fresh_store two
	local d=$BATS_TEST_TMPDIR/x imp
	hk tag busybox first
	mkdir -p "$BATS_TEST_TMPDIR/root/etc" && echo 2 >"$BATS_TEST_TMPDIR/root/etc/two"
	imp=$(tar -C "$BATS_TEST_TMPDIR/root" -cf - . | hk import - second)
	hk save -o "$BATS_TEST_TMPDIR/both.tar" first second
	hk rmi first second busybox >/dev/null
	mkdir "$d" && tar -C "$d" -xf "$BATS_TEST_TMPDIR/both.tar"
	# a layer file missing
	jq -c '.[1].Layers = ["missing/layer.tar"]' "$d/manifest.json" >"$BATS_TEST_TMPDIR/m"
	cp "$d/manifest.json" "$BATS_TEST_TMPDIR/m.orig"
	cp "$BATS_TEST_TMPDIR/m" "$d/manifest.json"
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/broken.tar" .
	expect_load_refused "$BATS_TEST_TMPDIR/broken.tar" "\`missing/layer.tar\` is not in the archive"
	# a layer refused as it is unpacked, the first image's layer unpacked already
	cp "$BATS_TEST_TMPDIR/m.orig" "$d/manifest.json"
	hostile_second_image "$d"
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/hostile.tar" .
	expect_load_refused "$BATS_TEST_TMPDIR/hostile.tar" "escape"
	run hk images
	[ "${#lines[@]}" -eq 1 ]
	[ ! -e "$HUSK_STORAGE_ROOT/escape" ] && [ ! -e "$HUSK_STORAGE_ROOT/layers/escape" ]
	# the intact archive loads both
	run hk load -i "$BATS_TEST_TMPDIR/both.tar"
	[ "$status" -eq 0 ]
	[ "$(image_id second)" = "$imp" ]
	[ "$(hk images | wc -l)" -eq 3 ]
}

@test "images: a load killed half-way records nothing and its leftovers go" {
	hk save -o "$BATS_TEST_TMPDIR/a.tar" busybox
	local before pid
	before=$(cat "$HUSK_STORAGE_ROOT/images.json")
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	"$HUSK_ENGINE" load -i "$BATS_TEST_TMPDIR/fifo" </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	exec 4>"$BATS_TEST_TMPDIR/fifo"
	head -c 600000 "$BATS_TEST_TMPDIR/a.tar" >&4
	# the layer's blob is being written
	wait_until 400 compgen -G "$HUSK_STORAGE_ROOT/blobs/sha256/.tmp-*"
	kill -KILL "$pid"
	wait "$pid" || true
	exec 4>&-
	[ "$(cat "$HUSK_STORAGE_ROOT/images.json")" = "$before" ]
	# the next handle, alone, removes the temporary files
	hk images >/dev/null
	! compgen -G "$HUSK_STORAGE_ROOT/blobs/sha256/.tmp-*"
}

# --- skopeo interop -------------------------------------------------------

skopeo_() {
	command -v skopeo >/dev/null || skip "skopeo not installed"
	timeout 60 skopeo --insecure-policy "$@"
}

@test "images: skopeo reads what husk saves, in both formats" {
	command -v skopeo >/dev/null || skip "skopeo not installed"
	local id
	id=$(image_id busybox)
	hk save -o "$BATS_TEST_TMPDIR/d.tar" busybox
	hk save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" busybox
	run skopeo_ inspect --config "docker-archive:$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c .config.Cmd)" = '["sh"]' ]
	run skopeo_ inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar:busybox:latest"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.Layers | length')" = 1 ]
	skopeo_ copy -q "docker-archive:$BATS_TEST_TMPDIR/d.tar" "oci:$BATS_TEST_TMPDIR/layout:sk"
	[ -f "$BATS_TEST_TMPDIR/layout/index.json" ]
	# the config skopeo copied is the image husk saved
	run skopeo_ inspect --raw "oci:$BATS_TEST_TMPDIR/layout:sk"
	[ "$(echo "$output" | jq -r .config.digest)" != null ]
	run skopeo_ inspect --config "oci:$BATS_TEST_TMPDIR/layout:sk"
	[ "$(echo "$output" | jq -c .rootfs.diff_ids)" = "$(hk image inspect busybox | jq -c '.[0].RootFS.Layers')" ]
}

@test "images: husk loads what skopeo writes (its docker-archive symlinks, its gzip'd OCI layers)" {
	command -v skopeo >/dev/null || skip "skopeo not installed"
	hk save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" busybox
	hk save -o "$BATS_TEST_TMPDIR/d.tar" busybox
	skopeo_ copy -q "oci-archive:$BATS_TEST_TMPDIR/o.tar:busybox:latest" \
		"docker-archive:$BATS_TEST_TMPDIR/sk-d.tar:skbox:docker"
	skopeo_ copy -q "docker-archive:$BATS_TEST_TMPDIR/d.tar" \
		"oci-archive:$BATS_TEST_TMPDIR/sk-o.tar:skbox:oci"
	fresh_store from-skopeo
	run hk load -i "$BATS_TEST_TMPDIR/sk-d.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: skbox:docker" ]
	run hk load -i "$BATS_TEST_TMPDIR/sk-o.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: skbox:oci" ]
	run hk run --rm skbox:docker echo from-docker-archive
	[ "$output" = from-docker-archive ]
	run hk run --rm skbox:oci echo from-oci-archive
	[ "$output" = from-oci-archive ]
}

# --- import ---------------------------------------------------------------

@test "images: import a rootfs tar (file or stdin) as a one-layer image that runs" {
	fresh_store import
	local root=$BATS_TEST_TMPDIR/root id
	mkdir -p "$root/bin" "$root/etc"
	cp "$(command -v busybox)" "$root/bin/"
	echo imported >"$root/etc/motd"
	tar -C "$root" -czf "$BATS_TEST_TMPDIR/root.tgz" .
	run hk import "$BATS_TEST_TMPDIR/root.tgz" myroot:v1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	[ "$(image_id myroot:v1)" = "$id" ]
	[ "$(hk image inspect myroot:v1 | jq -r '.[0].RootFS.Layers | length')" = 1 ]
	run hk run --rm myroot:v1 /bin/busybox cat /etc/motd
	[ "$output" = imported ]
	run bash -c "tar -C '$root' -cf - . | '$HUSK_ENGINE' import -m 'from a pipe' -"
	[ "$status" -eq 0 ]
	run hk history -q "${output:7:12}"
	[ "$status" -eq 0 ]
	run hk history "$(hk images | awk '$1 == "<none>" {print $3}')"
	[[ "$output" == *"from a pipe"* ]]
}

@test "images: import refuses a bad name before reading, a missing file, a URL, a non-tar" {
	fresh_store import-bad
	run hk import /nonexistent.tar 'Bad:Name:x'
	[ "$status" -eq 125 ]
	[ "$output" = "husk: invalid image name \`Bad:Name:x\`" ]
	run hk import /nonexistent.tar
	[ "$status" -eq 125 ]
	[[ "$output" == "husk: import: open \`/nonexistent.tar\`: No such file or directory" ]]
	run hk import http://example.invalid/root.tar
	[ "$status" -eq 125 ]
	[[ "$output" == *"URLs are not supported"* ]]
	echo "not a tar" >"$BATS_TEST_TMPDIR/junk"
	run hk import "$BATS_TEST_TMPDIR/junk" junk
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	run hk images
	[ "${#lines[@]}" -eq 1 ]
	run hk import
	[ "$status" -eq 125 ]
	run hk import --nope x
	[ "$status" -eq 125 ]
	[ "$output" = "husk: import: unknown flag \`--nope\`" ]
}
