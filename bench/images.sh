#!/bin/bash
# bench/images.sh - the engine's image store against skopeo + umoci, side by
# side in one run, as ratios. A 5-layer test image is generated offline
# (deterministic content, gzip'd layers, packed by umoci) and saved as a
# docker-archive and an oci-archive; then, in paired, interleaved rounds, each
# from an empty store:
#   husk load -i ARCHIVE   (stores the blobs and unpacks the layers)
#   husk run --rm IMG /bin/true, the first run after that load
#   skopeo copy ARCHIVE oci:DIR:bench + umoci unpack --image DIR:bench BUNDLE
#   floor: tar -xf of the same 5 gzip'd layers into an empty directory
# Asserts nothing about times: exit 0 means the benchmark ran, 2 that setup
# (or a command mid-run) failed.   apt-get install skopeo umoci
#   ROUNDS=5 WARMUP=1 LAYERS=5 FILES=2000 BIG_MB=4 bench/images.sh
# shellcheck disable=SC2317 # items and cleanup are called indirectly
set -u
HB_NAME=images-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
hb_enter_ns "$@"
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
LAYERS=${LAYERS:-5}
FILES=${FILES:-2000}   # small files per layer
BIG_MB=${BIG_MB:-4}    # MB of larger files per layer
HUSK=${HUSK_ENGINE:-$HB_REPO/build/src/engine/husk}
IMG=bench/img:latest
[ "$(id -u)" = 0 ] || hb_die "run as root"
[ -x "$HUSK" ] || hb_die "no husk at $HUSK (build first)"
for c in skopeo umoci jq python3 tar; do
	command -v "$c" >/dev/null || hb_die "$c not found (apt-get install skopeo umoci jq python3)"
done

TMP=$(mktemp -d /tmp/images-bench.XXXXXX) || hb_die "mktemp failed"
R=$TMP/round # every timed item starts with an empty $R and leaves it empty
export TMPDIR=$TMP # skopeo's temporary files (oci-archive extraction) stay inside
cleanup() {
	if [ -d "$R/husk" ]; then
		export HUSK_STORAGE_ROOT=$R/husk HUSK_RUN_ROOT=$R/husk-run
		# shellcheck disable=SC2046
		"$HUSK" rm -f $("$HUSK" ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1
	fi
	grep -F "$TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the test image --------------------------------------------------------
# Layer n: FILES small files (100 B - 8 KB of text-like lines: gzip shrinks them
# as it does real files) under /data/ln, and BIG_MB of larger files, half of
# their bytes random; every layer also overwrites /etc/layer (as upgrades do).
# Layer 1 also holds a static busybox, so that the image runs /bin/true.
gen_layer() { # $1 dir, $2 layer number
	python3 - "$1" "$2" "$FILES" "$BIG_MB" <<'EOF'
import os, random, sys
root, n, files, big_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(1000 + n)
words = [''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rnd.randint(2, 9)))
         for _ in range(500)]
base = os.path.join(root, 'data', 'l%d' % n)
for i in range(files):
    d = os.path.join(base, 'd%02d' % (i % 40))
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(100, 8000)
    text, line = [], []
    while sum(map(len, text)) < size:
        line.append(rnd.choice(words))
        if len(line) == 12:
            text.append(' '.join(line) + '\n'); line = []
    with open(os.path.join(d, 'f%05d.txt' % i), 'w') as f:
        f.write(''.join(text)[:size])
for i in range(2):
    half = big_mb * 1024 * 1024 // 4
    with open(os.path.join(base, 'big%d.bin' % i), 'wb') as f:
        f.write(rnd.randbytes(half))
        f.write(bytes(range(256)) * (half // 256))
os.makedirs(os.path.join(root, 'etc'), exist_ok=True)
with open(os.path.join(root, 'etc', 'layer'), 'w') as f:
    f.write('%d\n' % n)
EOF
}

build_image() {
	local L=$TMP/img/oci n man cfg blobs=() d
	mkdir -p "$TMP/img/src" || hb_die "mkdir"
	for n in $(seq "$LAYERS"); do
		d=$TMP/img/src/l$n
		mkdir -p "$d"
		[ "$n" = 1 ] && hb_build_rootfs "$d"
		gen_layer "$d" "$n" || hb_die "generating layer $n failed"
		tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
			-C "$d" -cf "$TMP/img/l$n.tar" . || hb_die "tar of layer $n failed"
		rm -rf "$d"
	done
	(
		umoci init --layout "$L" &&
			umoci new --image "$L:latest" &&
			umoci config --image "$L:latest" --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				--config.cmd /bin/sh &&
			for n in $(seq "$LAYERS"); do
				umoci raw add-layer --image "$L:latest" "$TMP/img/l$n.tar" || exit 1
			done &&
			umoci gc --layout "$L"
	) >"$TMP/err" 2>&1 || { cat "$TMP/err" >&2; hb_die "umoci could not build the OCI layout"; }
	rm -f "$TMP"/img/l*.tar
	man=$(jq -r '.manifests[0].digest' "$L/index.json") || hb_die "no manifest in index.json"
	man=$L/blobs/${man/://}
	cfg=blobs/$(jq -r '.config.digest' "$man" | tr : /)
	mapfile -t blobs < <(jq -r '.layers[].digest | "blobs/" + sub(":"; "/")' "$man")
	[ "${#blobs[@]}" = "$LAYERS" ] || hb_die "the layout has ${#blobs[@]} layers, not $LAYERS"
	if jq -r '.layers[].mediaType' "$man" | grep -qv 'tar+gzip$'; then
		hb_die "umoci wrote layers that are not gzip'd"
	fi
	LAYER_FILES=("${blobs[@]/#/$L/}")
	# docker-archive: Docker's manifest.json naming the same (gzip'd) blobs
	mkdir -p "$TMP/img/docker" "$TMP/img/ocix"
	jq -n --arg c "$cfg" --arg t "$IMG" '[{Config: $c, RepoTags: [$t], Layers: $ARGS.positional}]' \
		--args "${blobs[@]}" >"$TMP/img/docker/manifest.json" || hb_die "jq failed"
	tar -cf "$TMP/docker.tar" -C "$TMP/img/docker" manifest.json -C "$L" "$cfg" "${blobs[@]}" ||
		hb_die "tar of the docker-archive failed"
	# oci-archive: the layout, its index naming the image (ref.name stays "latest")
	jq --arg n "docker.io/$IMG" '.manifests[0].annotations["io.containerd.image.name"] = $n' \
		"$L/index.json" >"$TMP/img/ocix/index.json" || hb_die "jq failed"
	tar -cf "$TMP/oci.tar" -C "$TMP/img/ocix" index.json -C "$L" oci-layout blobs ||
		hb_die "tar of the oci-archive failed"
}

# --- the timed items ---------------------------------------------------------
ms_since() { # $1 = an earlier $EPOCHREALTIME -> milliseconds since then
	local d=$((${EPOCHREALTIME/./} - ${1/./}))
	printf '%d.%03d' $((d / 1000)) $((d % 1000))
}
must() { # CMD...: run it, quietly; on failure show its stderr and stop (exit 2)
	"$@" >/dev/null 2>"$TMP/err" && return 0
	cat "$TMP/err" >&2
	hb_die "failed: $*"
}
fresh() { rm -rf "$R" && mkdir -p "$R" && sync; }
declare -A T=()
REUNPACK=0
add() { T[$1]+="$2 "; } # $1 key, $2 ms

item_husk() { # $1 docker|oci
	local t0 a b
	fresh
	export HUSK_STORAGE_ROOT=$R/husk HUSK_RUN_ROOT=$R/husk-run
	t0=$EPOCHREALTIME
	must "$HUSK" load -i "$TMP/$1.tar"
	a=$(ms_since "$t0")
	sync
	touch "$TMP/marker"
	t0=$EPOCHREALTIME
	must "$HUSK" run --rm --network none "$IMG" /bin/true
	b=$(ms_since "$t0")
	# a layer directory created or written to by `run`: it unpacked again
	[ -z "$(find "$R/husk" -maxdepth 3 -path '*/layers/*' -newer "$TMP/marker" -print -quit)" ] ||
		REUNPACK=$((REUNPACK + 1))
	unset HUSK_STORAGE_ROOT HUSK_RUN_ROOT
	add "husk_load_$1" "$a"
	add "husk_run_$1" "$b"
}
item_skopeo() { # $1 docker|oci
	local t0 a b src=docker-archive:$TMP/docker.tar
	[ "$1" = oci ] && src=oci-archive:$TMP/oci.tar:latest
	fresh
	t0=$EPOCHREALTIME
	must skopeo --insecure-policy copy --quiet "$src" "oci:$R/oci:bench"
	a=$(ms_since "$t0")
	t0=$EPOCHREALTIME
	must umoci unpack --image "$R/oci:bench" "$R/bundle"
	b=$(ms_since "$t0")
	add "skopeo_$1" "$a"
	add "umoci_$1" "$b"
	add "su_$1" "$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a+b}')"
}
floor_extract() {
	local f
	mkdir -p "$R/floor" || return 1
	for f in "${LAYER_FILES[@]}"; do tar -xf "$f" -C "$R/floor" || return 1; done
}
item_floor() {
	local t0
	fresh
	t0=$EPOCHREALTIME
	must floor_extract
	add floor "$(ms_since "$t0")"
}

# --- run ---------------------------------------------------------------------
hb_log "husk: $HUSK"
hb_log "skopeo: $(skopeo --version 2>/dev/null), umoci: $(umoci --version 2>/dev/null)"
hb_log "building the test image ($LAYERS layers, $FILES small files + $BIG_MB MB each)..."
build_image
hb_log "docker-archive $(du -k "$TMP/docker.tar" | cut -f1) KB, oci-archive $(du -k "$TMP/oci.tar" | cut -f1) KB," \
	"unpacked $(for f in "${LAYER_FILES[@]}"; do gzip -dc "$f"; done | wc -c | awk '{printf "%d", $1/1024}') KB of tar"
ITEMS=("husk docker" "skopeo docker" "husk oci" "skopeo oci" "floor")
for ((r = 0; r < WARMUP + ROUNDS; r++)); do
	# rotate the order every round, so that no item always runs first
	for ((i = 0; i < ${#ITEMS[@]}; i++)); do
		# shellcheck disable=SC2086
		set -- ${ITEMS[(i + r) % ${#ITEMS[@]}]}
		"item_$1" "${2:-}"
	done
	rm -rf "$R"
	[ "$r" -lt "$WARMUP" ] && { T=(); REUNPACK=0; hb_log "warm-up round done"; }
done

median() { tr ' ' '\n' | grep -v '^$' | hb_stats | awk '{print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "NA" }'; }
declare -A M=()
for k in "${!T[@]}"; do M[$k]=$(printf '%.1f' "$(echo "${T[$k]}" | median)"); done
echo
printf '%-15s %10s %10s %10s %10s %10s %9s %9s\n' "(median ms)" "husk load" "husk run1" \
	"skopeo" "umoci" "sk+umoci" "ratio" "ratio+run"
for f in docker oci; do
	printf '%-15s %10s %10s %10s %10s %10s %9s %9s\n' "$f-archive" "${M[husk_load_$f]}" \
		"${M[husk_run_$f]}" "${M[skopeo_$f]}" "${M[umoci_$f]}" "${M[su_$f]}" \
		"$(ratio "${M[husk_load_$f]}" "${M[su_$f]}")" \
		"$(ratio "$(awk -v a="${M[husk_load_$f]}" -v b="${M[husk_run_$f]}" 'BEGIN{print a+b}')" "${M[su_$f]}")"
done
printf '%-15s %10s   (tar -xf of the %d gzip layers into an empty dir)\n' floor "${M[floor]}" "$LAYERS"
spread() { echo "${T[$1]}" | tr ' ' '\n' | grep -v '^$' | hb_stats | awk '{printf "%.0f-%.0f", $3, $4}'; }
echo "min-max ms: floor $(spread floor);" "$(for f in docker oci; do
	printf '%s: load %s, run1 %s, sk+umoci %s; ' "$f" "$(spread "husk_load_$f")" \
		"$(spread "husk_run_$f")" "$(spread "su_$f")"
done | sed "s/; $//")"
echo "$ROUNDS rounds (median; $WARMUP warm-up), each item from an empty store, order rotated per round"
echo "ratio = husk load / (skopeo copy + umoci unpack); ratio+run adds husk's first run (umoci: nothing)"
for f in docker oci; do
	echo "ratio husk/(skopeo+umoci) $f-archive: $(ratio "${M[husk_load_$f]}" "${M[su_$f]}")," \
		"vs floor: husk load $(ratio "${M[husk_load_$f]}" "${M[floor]}"), skopeo+umoci $(ratio "${M[su_$f]}" "${M[floor]}")"
done
if [ "$REUNPACK" = 0 ]; then
	echo "first run after load: no layer unpacked again"
else
	echo "warning: in $REUNPACK of $((2 * ROUNDS)) runs, the first run wrote into the store's layers"
fi
exit 0
