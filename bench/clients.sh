#!/bin/bash
# bench/clients.sh [--json] - paired benchmark through real clients: husk vs crun vs runc
#
# Starts a private containerd (own root, state and socket under a temp dir, CRI off) and
# uses a private podman store (vfs, cgroupfs, file events), loads the same busybox-static
# image into both, and times, in interleaved rounds (every item once per round, random
# order each round):
#   ctr     `ctr run --rm --runc-binary X --runc-root DIR IMAGE ID /bin/true`
#           (containerd 1.6, runc v2 shim: create, start, wait, delete through the shim)
#   podman  `podman --runtime X run --rm --network none IMAGE /bin/true`
#           (conmon: create, start, delete --force; plus podman's own bookkeeping)
#   floor   a bare /bin/true exec from the same shell
# and reports, per client and runtime, median and min wall time and the median of
# per-round ratios husk/crun and husk/runc. Most of each number is the client's own cost
# (gRPC, shim start, conmon, podman's database); the ratio says how much the runtime
# changes what a user of the client waits for. See bench/README.md.
#
# Environment:
#   PAIRS=10 WARMUP=1   timed / untimed rounds
#   RUNTIMES="husk crun runc"   which runtimes     CLIENTS="ctr podman"   which clients
#   HUSK_RUNTIME=PATH   husk binary (default <repo>/build/src/runtime/husk-runtime)
#   CRUN=crun RUNC=runc BUSYBOX=<busybox on PATH>  TMPDIR=/tmp
#   SEED=<pid>          seed of the per-round random order
#   PROBE_TIMEOUT=60    seconds before a probe (or cleanup) command counts as hung
#   HB_NO_NS=1          don't enter a private mount namespace (see README; crun then fails)
# Exit status: 0 when the benchmark ran (timings are never asserted), 2 on setup errors
# or a client command failing during the timed rounds; 130 on Ctrl-C.
set -u
export LC_ALL=C
HB_NAME="husk-bench-clients"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 2

for a in "$@"; do
  case $a in
    --json) HB_JSON=1 ;;
    -h|--help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "usage: $0 [--json]" >&2; exit 2 ;;
  esac
done
export HB_JSON
hb_on_die() { # keep the output parseable when the benchmark cannot run
  local o c
  if [ "$HB_JSON" = 1 ]; then
    printf '{"benchmark": "clients", "error": %s}\n' "$(hb_json_str "$1")"
  else
    for c in ctr podman; do for o in crun runc; do
      echo "ratio husk/$o $c median=NA (error: $1)"
    done; done
  fi
}

PAIRS=${PAIRS:-10}
WARMUP=${WARMUP:-1}
SEED=${SEED:-$$}
CLIENTS=${CLIENTS:-ctr podman}
HB_PROBE_TIMEOUT=${PROBE_TIMEOUT:-60}
for v in PAIRS WARMUP SEED HB_PROBE_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || hb_die "$v must be a non-negative integer"
done
[ "$PAIRS" -ge 1 ] || hb_die "PAIRS must be >= 1"
for c in $CLIENTS; do
  case $c in ctr|podman) ;; *) hb_die "unknown client '$c' in CLIENTS (known: ctr podman)" ;; esac
done

hb_enter_ns "$@"
hb_setup
hb_pick_runtimes
[ ${#HB_LABELS[@]} -gt 0 ] || hb_die "no runtime to benchmark"

IMAGE=localhost/husk-bench-busybox:latest
ERR=$HB_TMP/err
SEQ=0

# --- cleanup: containerd, its shims and mounts, the podman store, host dirs made new -----
CD_PID='' CD_SOCK=$HB_TMP/c.sock CD_NS=$HB_CG
PM_DIR=$HB_TMP/podman
NEW_DIRS=
for d in /run/containerd /run/containers /run/libpod /var/lib/containers /var/lib/containers/cache /run/husk; do
  [ -e "$d" ] || NEW_DIRS+=" $d"
done
cl_cleanup() {
  local pid d i
  trap '' INT TERM HUP
  if [ -n "$CD_PID" ] && kill -0 "$CD_PID" 2>/dev/null; then
    for i in $(hb_probe_run ctr -a "$CD_SOCK" -n "$CD_NS" task ls -q 2>/dev/null); do
      hb_probe_run ctr -a "$CD_SOCK" -n "$CD_NS" task kill -a -s KILL "$i" >/dev/null 2>&1
      hb_probe_run ctr -a "$CD_SOCK" -n "$CD_NS" task rm -f "$i" >/dev/null 2>&1
    done
    for i in $(hb_probe_run ctr -a "$CD_SOCK" -n "$CD_NS" containers ls -q 2>/dev/null); do
      hb_probe_run ctr -a "$CD_SOCK" -n "$CD_NS" containers rm "$i" >/dev/null 2>&1
    done
    kill -TERM "$CD_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CD_PID" 2>/dev/null
  fi
  # shims outlive containerd; the ones started for our socket are ours
  for pid in $(pgrep -f -- "-address $CD_SOCK( |\$)"); do kill -KILL "$pid" 2>/dev/null; done
  TMO=(timeout -k 5 "$HB_PROBE_TIMEOUT")
  if [ -d "$PM_DIR" ]; then
    pm ps -aq 2>/dev/null | while read -r i; do pm rm -f -t 0 "$i" >/dev/null 2>&1; done
    pm system reset -f >/dev/null 2>&1
  fi
  grep -o " $HB_TMP/[^ ]*" /proc/self/mountinfo | sort -r | while read -r d; do umount -l "$d" 2>/dev/null; done
  for d in $NEW_DIRS; do
    case $d in /run/husk) rmdir "$d" 2>/dev/null ;; *) rm -rf "$d" ;; esac
  done
  # podman's default cgroupfs parent (libpod_parent), when this run made it: empty dirs only
  if [ -z "$LIBPOD_PARENT_OLD" ]; then
    for d in /sys/fs/cgroup/*/libpod_parent; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  hb_cleanup
}
LIBPOD_PARENT_OLD=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null | head -n 1)
trap cl_cleanup EXIT

# --- image: a busybox-static rootfs as an OCI archive (ctr) and a tarball (podman) ------
ROOTFS=$HB_TMP/rootfs
hb_build_rootfs "$ROOTFS"
MKIMAGE=$HB_REPO/tests/integration/tools/ctr-mkimage

want_client() { case " $CLIENTS " in *" $1 "*) return 0 ;; esac; return 1; }

# --- containerd ----------------------------------------------------------------------
start_containerd() {
  command -v containerd >/dev/null && command -v ctr >/dev/null \
    || { hb_skip ctr "containerd/ctr not installed (apt-get install containerd)"; return 1; }
  cat > "$HB_TMP/containerd.toml" <<EOF
version = 2
root = "$HB_TMP/cd-root"
state = "$HB_TMP/cd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
EOF
  containerd --config "$HB_TMP/containerd.toml" </dev/null >"$HB_TMP/containerd.log" 2>&1 &
  CD_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    ctr -a "$CD_SOCK" version >/dev/null 2>&1 && break
    kill -0 "$CD_PID" 2>/dev/null || break
    sleep 0.1
  done
  ctr -a "$CD_SOCK" version >/dev/null 2>&1 \
    || hb_die "containerd did not start: $(tail -n 1 "$HB_TMP/containerd.log")"
  "$MKIMAGE" "$ROOTFS" "$IMAGE" "$HB_TMP/image.tar" || hb_die "ctr-mkimage failed"
  hb_probe_run ctr -a "$CD_SOCK" -n "$CD_NS" images import "$HB_TMP/image.tar" >/dev/null 2>"$ERR" \
    || hb_die "ctr images import failed: $(hb_errtxt "$ERR")"
  mkdir -p "$HB_TMP/fifo"
}

# --- podman ----------------------------------------------------------------------------
TMO=()   # timeout(1) prefix for probes and cleanup; empty for the timed commands
pm() {
  "${TMO[@]}" podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" --tmpdir "$PM_DIR/tmp" \
    --network-config-dir "$PM_DIR/net" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file "$@"
}
setup_podman() {
  command -v podman >/dev/null || { hb_skip podman "podman not installed"; return 1; }
  mkdir -p "$PM_DIR/tmp" "$PM_DIR/net"
  TMO=(timeout -k 5 "$HB_PROBE_TIMEOUT")
  tar -C "$ROOTFS" -c . | pm import - "$IMAGE" >/dev/null 2>"$ERR" \
    || hb_die "podman import failed: $(hb_errtxt "$ERR")"
  TMO=()
}

# --- the timed commands (one per client) ----------------------------------------------
# The containers' cgroups go below /$HB_CG (ctr: /NS/ID with NS=$HB_CG; podman: an
# explicit --cgroup-parent), so the cleanup finds them. The podman ulimits are explicit:
# its defaults need CAP_SYS_RESOURCE, which this VM's root lacks.
c_ctr() { # $1 bin, $2 id, $3... command
  local bin=$1 id=$2; shift 2
  "${TMO[@]}" ctr -a "$CD_SOCK" -n "$CD_NS" run --rm --fifo-dir "$HB_TMP/fifo" --runc-binary "$bin" \
    --runc-root "$HB_TMP/runc-root" "$IMAGE" "$id" "$@"
}
c_podman() { # $1 bin, $2 id (container name), $3... command
  local bin=$1 id=$2; shift 2
  pm --runtime "$bin" run --rm --name "$id" --network none --cgroup-parent "/$HB_CG/podman" \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" "$@"
}

declare -A OK=()   # OK[client,label]=1 when the probe passed
probe() { # $1 client, $2 label: the exit code of the container must come back
  local c=$1 l=$2 rc
  SEQ=$((SEQ + 1))
  TMO=(timeout -k 5 "$HB_PROBE_TIMEOUT")
  "c_$c" "${HB_BIN[$l]}" "$HB_CG-probe-$l-$SEQ" sh -c 'exit 42' </dev/null >/dev/null 2>"$ERR"; rc=$?
  TMO=()
  if [ $rc = 42 ]; then OK[$c,$l]=1; else hb_skip "$c+$l" "probe returned $(hb_why $rc "$ERR"), expected 42"; fi
}

ACTIVE=()
if want_client ctr && start_containerd; then ACTIVE+=(ctr); fi
if want_client podman && setup_podman; then ACTIVE+=(podman); fi
[ ${#ACTIVE[@]} -gt 0 ] || hb_die "no client to benchmark"
for c in "${ACTIVE[@]}"; do for l in "${HB_LABELS[@]}"; do probe "$c" "$l"; done; done

t_item() { # $1 item -> US (µs); a failing command ends the benchmark
  local c=${1%%:*} l=${1#*:} t0 t1 rc
  SEQ=$((SEQ + 1))
  if [ "$1" = floor ]; then
    t0=${EPOCHREALTIME/./}; /bin/true </dev/null >/dev/null 2>"$ERR"; t1=${EPOCHREALTIME/./}
  else
    t0=${EPOCHREALTIME/./}
    "c_$c" "${HB_BIN[$l]}" "$HB_CG-$l-$SEQ" /bin/true </dev/null >/dev/null 2>"$ERR"; rc=$?
    t1=${EPOCHREALTIME/./}
    if [ $rc != 0 ]; then
      sed 's/^/  | /' "$ERR" >&2
      hb_die "$c run with $l (${HB_BIN[$l]}) failed (exit $rc)"
    fi
  fi
  US=$((t1 - t0))
}

ITEMS=(floor)
for c in "${ACTIVE[@]}"; do for l in "${HB_LABELS[@]}"; do
  [ -n "${OK[$c,$l]:-}" ] && ITEMS+=("$c:$l")
done; done
RANDOM=$SEED
shuffle() {
  local i j t
  for ((i = ${#ITEMS[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1))); t=${ITEMS[i]}; ITEMS[i]=${ITEMS[j]}; ITEMS[j]=$t
  done
}
declare -A S=()   # S[item,round] = µs
hb_log "clients: ${ACTIVE[*]} x ${HB_LABELS[*]}, $WARMUP warm-up + $PAIRS timed rounds of ${#ITEMS[@]} items ..."
for ((i = -WARMUP; i < PAIRS; i++)); do
  shuffle
  for it in "${ITEMS[@]}"; do
    t_item "$it"
    [ $i -ge 0 ] && S[$it,$i]=$US
  done
done

# --- statistics --------------------------------------------------------------------------
col() { local i; for ((i = 0; i < PAIRS; i++)); do [ -n "${S[$1,$i]:-}" ] && echo "${S[$1,$i]}"; done; }
ms() { awk '{printf "%.4f\n", $1/1000}'; }
ratio() { # $1 item a, $2 item b -> "n median min max" of per-round a/b
  local i
  for ((i = 0; i < PAIRS; i++)); do
    [ -n "${S[$1,$i]:-}" ] && [ -n "${S[$2,$i]:-}" ] && echo "${S[$1,$i]} ${S[$2,$i]}"
  done | awk '$2 > 0 {printf "%.6f\n", $1/$2}' | hb_stats
}
declare -A ST=() RT=()
for it in "${ITEMS[@]}"; do ST[$it]=$(col "$it" | ms | hb_stats); done
RATIO_LINES=()
for c in ctr podman; do
  for o in crun runc; do
    if ! want_client "$c" || [[ " ${ACTIVE[*]} " != *" $c "* ]]; then why="$c not measured"
    elif [ -z "${OK[$c,husk]:-}" ]; then why="husk not measured with $c"
    elif [ -z "${OK[$c,$o]:-}" ]; then why="$o not measured with $c"
    else why=; fi
    if [ -n "$why" ]; then
      RT[$c,$o]="0 NA NA NA"
      RATIO_LINES+=("ratio husk/$o $c median=NA ($why)")
    else
      RT[$c,$o]=$(ratio "$c:husk" "$c:$o")
      read -r n md lo hi <<< "${RT[$c,$o]}"
      RATIO_LINES+=("$(printf 'ratio husk/%s %s median=%.2f (per-round min-max %.2f-%.2f, %d rounds)' "$o" "$c" "$md" "$lo" "$hi" "$n")")
    fi
  done
done

# --- report --------------------------------------------------------------------------------
jstat() {
  local n md lo hi; read -r n md lo hi <<< "$1"
  if [ "$n" = 0 ]; then printf null; return; fi
  printf '{"n": %s, "median": %s, "min": %s, "max": %s}' "$n" "$(hb_json_num "$md")" "$(hb_json_num "$lo")" "$(hb_json_num "$hi")"
}
if [ "$HB_JSON" = 1 ]; then
  printf '{\n  "benchmark": "clients",\n  "pairs": %d,\n  "warmup": %d,\n  "seed": %d,\n' "$PAIRS" "$WARMUP" "$SEED"
  printf '  "cgroup_view": %s,\n  "process": ["/bin/true"],\n  "units": {"time": "ms", "samples": "us"},\n' "$(hb_json_str "$HB_CGVIEW")"
  printf '  "versions": {"containerd": %s, "podman": %s},\n' \
    "$(hb_json_str "$(containerd --version 2>/dev/null | awk '{print $3}')")" "$(hb_json_str "$(podman --version 2>/dev/null | awk '{print $3}')")"
  printf '  "floor": {"run_ms": %s, "samples_us": [%s]},\n' "$(jstat "${ST[floor]}")" "$(col floor | paste -sd, -)"
  printf '  "runs": {'
  sep=
  for it in "${ITEMS[@]}"; do
    [ "$it" = floor ] && continue
    printf '%s\n    %s: {"client": %s, "runtime": %s, "bin": %s, "run_ms": %s, "samples_us": [%s]}' "$sep" \
      "$(hb_json_str "$it")" "$(hb_json_str "${it%%:*}")" "$(hb_json_str "${it#*:}")" \
      "$(hb_json_str "${HB_BIN[${it#*:}]}")" "$(jstat "${ST[$it]}")" "$(col "$it" | paste -sd, -)"
    sep=,
  done
  printf '\n  },\n  "ratios": {'
  sep=
  for c in ctr podman; do
    printf '%s\n    %s: {"husk/crun": %s, "husk/runc": %s}' "$sep" "$(hb_json_str "$c")" "$(jstat "${RT[$c,crun]}")" "$(jstat "${RT[$c,runc]}")"
    sep=,
  done
  printf '\n  },\n  "skipped": ['
  sep=
  for s in "${HB_SKIPPED[@]}"; do printf '%s%s' "$sep" "$(hb_json_str "$s")"; sep=', '; done
  printf '],\n  "summary": ['
  sep=
  for s in "${RATIO_LINES[@]}"; do printf '%s\n    %s' "$sep" "$(hb_json_str "$s")"; sep=,; done
  printf '\n  ]\n}\n'
  exit 0
fi

med() { local n md lo hi; read -r n md lo hi <<< "$1"; printf '%s' "$md"; }
mn() { local n md lo hi; read -r n md lo hi <<< "$1"; printf '%s' "$lo"; }
echo
echo "clients running a busybox-static /bin/true container; $PAIRS paired rounds after $WARMUP warm-up"
echo "cgroups: $HB_CGVIEW; order: random per round (SEED=$SEED)"
echo "  ctr    = $(command -v ctr) ($(containerd --version 2>/dev/null | awk '{print $3}')), ctr run --rm --runc-binary X"
echo "  podman = $(command -v podman) ($(podman --version 2>/dev/null | awk '{print $3}')), podman --runtime X run --rm --network none"
for l in "${HB_LABELS[@]}"; do printf '  %-6s = %s\n' "$l" "${HB_BIN[$l]}"; done
echo
printf '%-8s %-8s %10s %10s\n' client runtime "median ms" "min ms"
printf '%-8s %-8s %10s %10s\n' - floor "$(hb_fmt "$(med "${ST[floor]}")" %.2f)" "$(hb_fmt "$(mn "${ST[floor]}")" %.2f)"
for it in "${ITEMS[@]}"; do
  [ "$it" = floor ] && continue
  printf '%-8s %-8s %10s %10s\n' "${it%%:*}" "${it#*:}" "$(hb_fmt "$(med "${ST[$it]}")" %.2f)" "$(hb_fmt "$(mn "${ST[$it]}")" %.2f)"
done | sort -k1,1 -k2,2
echo
for s in "${HB_SKIPPED[@]}"; do echo "skipped: $s"; done
for s in "${RATIO_LINES[@]}"; do echo "$s"; done
exit 0
