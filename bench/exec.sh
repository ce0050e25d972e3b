#!/bin/bash
# bench/exec.sh [--json] - paired exec-latency benchmark: husk vs crun vs runc
#
# Starts, for each runtime, one long-running container (busybox-static rootfs, process
# `sleep 1000000`, started with `X create` + `X start`) and times, in interleaved rounds
# (every runtime once per round, random order each round):
#   exec     `X exec ID /bin/true`  into that runtime's own running container
#   nsenter  `nsenter -t PID -a -r -w /bin/true` into one of the containers: joining the
#            namespaces and spawning, without any runtime (a floor for exec)
#   floor    a bare /bin/true exec from the same shell
# and reports median and min wall time, the median of per-round ratios husk/crun and
# husk/runc, and peak RSS (GNU time %M) of `X exec`. A runtime whose container cannot be
# started, or whose exec fails the probe, is skipped with a line saying so.
# See bench/README.md.
#
# Environment:
#   PAIRS=30 WARMUP=3   timed / untimed rounds        RSS_RUNS=5   extra runs under /usr/bin/time
#   RUNTIMES="husk crun runc"   which to compare
#   HUSK_RUNTIME=PATH   husk binary (default <repo>/build/src/runtime/husk-runtime)
#   CRUN=crun RUNC=runc BUSYBOX=<busybox on PATH>  SPEC_FROM=<crun|runc|husk>  TMPDIR=/tmp
#   SEED=<pid>          seed of the per-round random order
#   PROBE_TIMEOUT=20    seconds before a probe command is considered hung
#   HB_NO_NS=1          don't enter a private mount namespace (see README)
# Exit status: 0 when the benchmark ran (timings are never asserted), 2 on setup errors
# or a runtime command failing during the timed rounds; 130 on Ctrl-C.
set -u
export LC_ALL=C
HB_NAME="husk-bench-exec"
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
  local o
  if [ "$HB_JSON" = 1 ]; then
    printf '{"benchmark": "exec", "error": %s}\n' "$(hb_json_str "$1")"
  else
    for o in crun runc; do echo "ratio husk/$o exec median=NA (error: $1)"; done
  fi
}

PAIRS=${PAIRS:-30}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-5}
SEED=${SEED:-$$}
for v in PAIRS WARMUP RSS_RUNS SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || hb_die "$v must be a non-negative integer"
done
[ "$PAIRS" -ge 1 ] || hb_die "PAIRS must be >= 1"

hb_enter_ns "$@"
hb_setup
hb_find_time
hb_pick_runtimes
[ ${#HB_LABELS[@]} -gt 0 ] || hb_die "no runtime to benchmark"

ROOTFS=$HB_TMP/rootfs
hb_build_rootfs "$ROOTFS"
ERR=$HB_TMP/err

fail_cmd() { # $1 what failed, $2 rc
  [ -s "$ERR" ] && sed 's/^/  | /' "$ERR" >&2
  hb_die "$1 (exit $2)"
}

# --- one running container per runtime (own bundle, own cgroup) --------------------------
declare -A CID=() CPID=()
EX=()   # runtimes that pass
start_ctr() { # $1 label
  local l=$1 bin=${HB_BIN[$1]} b=$HB_TMP/bundle-$1 id=$HB_CG-$1 out pid rc
  hb_make_bundle "$b" "$ROOTFS" '["/bin/sleep","1000000"]' "/$HB_CG/$l"
  hb_live_add "$bin" "$id" "/$HB_CG/$l"
  hb_probe_run "$bin" create -b "$b" "$id" </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 0 ]; then
    hb_skip "$l" "\`create\` of the long-running container failed ($(hb_why $rc "$ERR"))"; return 1
  fi
  hb_probe_run "$bin" start "$id" </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 0 ]; then
    hb_skip "$l" "\`start\` of the long-running container failed ($(hb_why $rc "$ERR"))"; return 1
  fi
  out=$(hb_probe_run "$bin" state "$id" </dev/null 2>"$ERR"); rc=$?
  [ $rc = 0 ] || { hb_skip "$l" "\`state\` after start failed ($(hb_why $rc "$ERR"))"; return 1; }
  case $out in *'"running"'*) ;; *)
    hb_skip "$l" "\`state\` does not say \"running\" after start: $(printf '%s' "$out" | tr '\n' ' ' | head -c 300)"; return 1 ;;
  esac
  pid=$(printf '%s' "$out" | sed -n 's/.*"pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
  CID[$l]=$id CPID[$l]=${pid:-}
  # probe: exec must run in the container (its /proc/1 is our sleep) and return the exit code
  hb_probe_run "$bin" exec "$id" /bin/sh -c '[ "$(cat /proc/1/comm)" = sleep ] && exit 7; exit 3' \
    </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 7 ]; then
    hb_skip "$l" "exec probe: \`exec ID sh -c '[ \$(cat /proc/1/comm) = sleep ] && exit 7'\` should return 7 ($(hb_why $rc "$ERR"))"
    return 1
  fi
  hb_probe_run "$bin" exec "$id" /bin/true </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 0 ]; then
    hb_skip "$l" "\`exec ID /bin/true\` failed ($(hb_why $rc "$ERR"))"; return 1
  fi
  EX+=("$l")
}
stop_ctr() { # $1 label: delete -f the container (if that fails, cleanup retries at exit)
  local bin=${HB_BIN[$1]} id=$HB_CG-$1
  hb_force_delete "$bin" "$id" "/$HB_CG/$1" && hb_live_del "$id"
  return 0
}
for l in "${HB_LABELS[@]}"; do start_ctr "$l" || stop_ctr "$l"; done
[ ${#EX[@]} -gt 0 ] || hb_die "no runtime could exec into a container"

# nsenter floor: join the namespaces of the first measured container
NSPID=
if command -v nsenter >/dev/null; then
  for l in "${EX[@]}"; do [ -n "${CPID[$l]}" ] && { NSPID=${CPID[$l]}; NSOF=$l; break; }; done
  if [ -n "$NSPID" ] && ! nsenter -t "$NSPID" -a -r -w /bin/true </dev/null >/dev/null 2>"$ERR"; then
    hb_log "note: nsenter row skipped: $(hb_errtxt "$ERR")"; NSPID=
  fi
fi

# --- timed rounds ---------------------------------------------------------------------------
declare -A T=()
ITEMS=(floor "${EX[@]}")
[ -n "$NSPID" ] && ITEMS+=(nsenter)
ROWS=(floor); [ -n "$NSPID" ] && ROWS+=(nsenter); ROWS+=("${EX[@]}")
RANDOM=$SEED
shuffle() {
  local i j t
  for ((i = ${#ITEMS[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1))); t=${ITEMS[i]}; ITEMS[i]=${ITEMS[j]}; ITEMS[j]=$t
  done
}
t_one() { # $1 item -> US
  local t0 t1 rc
  case $1 in
    floor)
      t0=${EPOCHREALTIME/./}
      /bin/true </dev/null >/dev/null 2>"$ERR"; rc=$?
      t1=${EPOCHREALTIME/./} ;;
    nsenter)
      t0=${EPOCHREALTIME/./}
      nsenter -t "$NSPID" -a -r -w /bin/true </dev/null >/dev/null 2>"$ERR"; rc=$?
      t1=${EPOCHREALTIME/./} ;;
    *)
      local bin=${HB_BIN[$1]} id=${CID[$1]}
      t0=${EPOCHREALTIME/./}
      "$bin" exec "$id" /bin/true </dev/null >/dev/null 2>"$ERR"; rc=$?
      t1=${EPOCHREALTIME/./} ;;
  esac
  [ $rc = 0 ] || fail_cmd "$1: exec of /bin/true failed" $rc
  US=$((t1 - t0))
}
hb_log "exec: ${EX[*]} (+ floor${NSPID:+, nsenter}), $WARMUP warm-up + $PAIRS timed rounds ..."
for ((i = -WARMUP; i < PAIRS; i++)); do
  shuffle
  for it in "${ITEMS[@]}"; do
    t_one "$it"
    [ $i -ge 0 ] && T[$it,$i]=$US
  done
done

# --- peak RSS -------------------------------------------------------------------------------
declare -A RSS=()
if [ -n "$HB_TIME" ] && [ "$RSS_RUNS" -gt 0 ]; then
  for ((i = 0; i < RSS_RUNS; i++)); do
    hb_rss /bin/true </dev/null >/dev/null 2>"$ERR"
    RSS[floor]=$(hb_max "${RSS[floor]:-NA}" "$HB_RSS")
    if [ -n "$NSPID" ]; then
      hb_rss nsenter -t "$NSPID" -a -r -w /bin/true </dev/null >/dev/null 2>"$ERR"
      RSS[nsenter]=$(hb_max "${RSS[nsenter]:-NA}" "$HB_RSS")
    fi
    for l in "${EX[@]}"; do
      hb_rss "${HB_BIN[$l]}" exec "${CID[$l]}" /bin/true </dev/null >/dev/null 2>"$ERR" \
        || fail_cmd "$l: exec under $HB_TIME failed" $?
      RSS[$l]=$(hb_max "${RSS[$l]:-NA}" "$HB_RSS")
    done
  done
fi
for l in "${EX[@]}"; do stop_ctr "$l"; done

# --- statistics -------------------------------------------------------------------------------
col() { local i; for ((i = 0; i < PAIRS; i++)); do [ -n "${T[$1,$i]:-}" ] && echo "${T[$1,$i]}"; done; }
declare -A ST=()
for r in "${ROWS[@]}"; do ST[$r]=$(col "$r" | awk '{printf "%.4f\n", $1/1000}' | hb_stats); done
has() { local x; for x in "${EX[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
declare -A RT=()
RATIO_LINES=()
for o in crun runc; do
  if ! has husk; then why="husk not measured"
  elif ! has "$o"; then why="$o not measured"
  else why=; fi
  if [ -n "$why" ]; then
    RT[$o]="0 NA NA NA"
    RATIO_LINES+=("ratio husk/$o exec median=NA ($why)")
  else
    RT[$o]=$(for ((i = 0; i < PAIRS; i++)); do echo "${T[husk,$i]} ${T[$o,$i]}"; done \
             | awk '$2 > 0 {printf "%.6f\n", $1/$2}' | hb_stats)
    read -r n md lo hi <<< "${RT[$o]}"
    RATIO_LINES+=("$(printf 'ratio husk/%s exec median=%.2f (per-round min-max %.2f-%.2f, %d rounds)' "$o" "$md" "$lo" "$hi" "$n")")
  fi
done

# --- report -------------------------------------------------------------------------------------
if [ "$HB_JSON" = 1 ]; then
  jstat() {
    local n md lo hi; read -r n md lo hi <<< "$1"
    if [ "$n" = 0 ]; then printf null; return; fi
    printf '{"n": %s, "median": %s, "min": %s, "max": %s}' "$n" "$(hb_json_num "$md")" "$(hb_json_num "$lo")" "$(hb_json_num "$hi")"
  }
  printf '{\n  "benchmark": "exec",\n  "pairs": %d,\n  "warmup": %d,\n  "rss_runs": %d,\n  "seed": %d,\n' "$PAIRS" "$WARMUP" "$RSS_RUNS" "$SEED"
  printf '  "cgroup_view": %s,\n  "spec_from": %s,\n  "exec_process": ["/bin/true"],\n' "$(hb_json_str "$HB_CGVIEW")" "$(hb_json_str "$HB_SPEC_FROM")"
  printf '  "units": {"time": "ms", "samples": "us", "rss": "KB"},\n  "rows": {'
  sep=
  for r in "${ROWS[@]}"; do
    case $r in
      floor) bin=/bin/true ;;
      nsenter) bin="nsenter -t PID -a -r -w /bin/true (PID of the $NSOF container)" ;;
      *) bin=${HB_BIN[$r]} ;;
    esac
    printf '%s\n    %s: {"bin": %s, "exec_ms": %s, "rss_kb": %s, "samples_us": [%s]}' "$sep" "$(hb_json_str "$r")" \
      "$(hb_json_str "$bin")" "$(jstat "${ST[$r]}")" "$(hb_json_num "${RSS[$r]:-NA}")" "$(col "$r" | paste -sd, -)"
    sep=,
  done
  printf '\n  },\n  "ratios": {"husk/crun": {"exec": %s}, "husk/runc": {"exec": %s}},\n' "$(jstat "${RT[crun]}")" "$(jstat "${RT[runc]}")"
  printf '  "skipped": ['
  sep=
  for s in "${HB_SKIPPED[@]}"; do printf '%s%s' "$sep" "$(hb_json_str "$s")"; sep=', '; done
  printf '],\n  "summary": ['
  sep=
  for s in "${RATIO_LINES[@]}"; do printf '%s\n    %s' "$sep" "$(hb_json_str "$s")"; sep=,; done
  printf '\n  ]\n}\n'
  exit 0
fi

echo
echo "exec latency: \`X exec ID /bin/true\` into a running busybox container; $PAIRS paired rounds after $WARMUP warm-up"
echo "cgroups: $HB_CGVIEW; config.json from \`$HB_SPEC_FROM spec\`; order: random per round (SEED=$SEED)"
for l in "${EX[@]}"; do printf '  %-7s = %s\n' "$l" "${HB_BIN[$l]}"; done
[ -n "$NSPID" ] && printf '  %-7s = %s\n' nsenter "nsenter -t PID -a -r -w /bin/true into the $NSOF container (no runtime)"
printf '  %-7s = %s\n' floor "/bin/true, spawned from this shell"
echo
printf '%-8s  %-26s   %12s\n' "" "exec (ms)" "peak RSS"
printf '%-8s %8s %8s %8s   %12s\n' runtime median min max KB
for r in "${ROWS[@]}"; do
  read -r n md lo hi <<< "${ST[$r]}"
  printf '%-8s %8s %8s %8s   %12s\n' "$r" "$(hb_fmt "$md" %.2f)" "$(hb_fmt "$lo" %.2f)" "$(hb_fmt "$hi" %.2f)" "$(hb_fmt "${RSS[$r]:-NA}" %d)"
done
echo
for s in "${HB_SKIPPED[@]}"; do echo "skipped: $s"; done
for s in "${RATIO_LINES[@]}"; do echo "$s"; done
exit 0
