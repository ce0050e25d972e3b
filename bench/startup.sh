#!/bin/bash
# bench/startup.sh [--json] - paired container start-up benchmark: husk vs crun vs runc
#
# Builds a throw-away busybox-static bundle whose process is /bin/true and times, in
# interleaved rounds (every runtime once per round, in a random order each round):
#   run   `X run -b BUNDLE ID`                    (create+start+wait+delete in one command)
#   c/s   `X create -b BUNDLE ID; X start ID; poll `X state ID` until "stopped"; X delete ID`
#   floor a bare /bin/true exec from the same shell (the cost of spawning any command)
# and reports, per runtime, median and min wall time, the median of per-round ratios
# husk/crun and husk/runc, and peak RSS (GNU time %M) of the runtime's processes.
# See bench/README.md.
#
# Environment:
#   PAIRS=30 WARMUP=3   timed / untimed rounds        RSS_RUNS=5   extra runs under /usr/bin/time
#   RUNTIMES="husk crun runc"   which to compare (missing ones are skipped with a line)
#   HUSK_RUNTIME=PATH   husk binary (default <repo>/build/src/runtime/husk-runtime)
#   CRUN=crun RUNC=runc BUSYBOX=<busybox on PATH>  SPEC_FROM=<crun|runc|husk>  TMPDIR=/tmp
#   POLL_TIMEOUT=10     seconds to wait for "stopped" after start
#   PROBE_TIMEOUT=20    seconds before a probe command is considered hung
#   SEED=<pid>          seed of the per-round random order   SETTLE=0  seconds of sleep before each item
#   HB_NO_NS=1          don't enter a private mount namespace (see README)
# Exit status: 0 when the benchmark ran (timings are never asserted), 2 on setup errors,
# a failed probe or a failing runtime command; 130 on Ctrl-C.
set -u
export LC_ALL=C
HB_NAME="husk-bench"
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
  local o m
  if [ "$HB_JSON" = 1 ]; then
    printf '{"benchmark": "startup", "error": %s}\n' "$(hb_json_str "$1")"
  else
    for o in crun runc; do for m in run create-start; do
      echo "ratio husk/$o $m median=NA (error: $1)"
    done; done
  fi
}

PAIRS=${PAIRS:-30}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-5}
POLL_TIMEOUT=${POLL_TIMEOUT:-10}
SEED=${SEED:-$$}
SETTLE=${SETTLE:-0}
for v in PAIRS WARMUP RSS_RUNS POLL_TIMEOUT SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || hb_die "$v must be a non-negative integer"
done
[[ $SETTLE =~ ^[0-9]*\.?[0-9]+$ ]] || hb_die "SETTLE must be a number of seconds"
[ "$PAIRS" -ge 1 ] || hb_die "PAIRS must be >= 1"

hb_enter_ns "$@"
hb_setup
hb_find_time
hb_pick_runtimes
[ ${#HB_LABELS[@]} -gt 0 ] || hb_die "no runtime to benchmark"

# --- bundles: B runs /bin/true, P is the probe. Same rootfs, same cgroupsPath; the
# containers run strictly one after the other, each deleted before the next starts.
ROOTFS=$HB_TMP/rootfs
hb_build_rootfs "$ROOTFS"
CGPATH=/$HB_CG/ctr
B=$HB_TMP/bundle P=$HB_TMP/probe
hb_make_bundle "$B" "$ROOTFS" '["/bin/true"]' "$CGPATH"
hb_make_bundle "$P" "$ROOTFS" '["/bin/sh","-c","[ $$ = 1 ] && exit 42; exit 3"]' "$CGPATH"
ERR=$HB_TMP/err
SEQ=0
newid() { SEQ=$((SEQ + 1)); ID=$HB_CG-$1-$SEQ; }

fail_cmd() { # $1 what failed, $2 rc
  [ -s "$ERR" ] && sed 's/^/  | /' "$ERR" >&2
  hb_die "$1 (exit $2)"
}

# --- probes -----------------------------------------------------------------------------
declare -A CS_OK=()
cs_skip() { # $1 label, $2 bin, $3 id, $4 reason: skip the create/start mode of a runtime
  hb_skip "$1 create/start" "$4"
  hb_force_delete "$2" "$3" "$CGPATH" && hb_live_del "$3"
  return 0
}
probe() { # $1 label: run must return the container's exit code and delete the state
  local l=$1 bin=${HB_BIN[$1]} rc out n
  newid "$l-probe"
  hb_live_add "$bin" "$ID"
  hb_probe_run "$bin" run -b "$P" "$ID" </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 42 ]; then
    [ $rc = 124 ] && echo "timed out after ${HB_PROBE_TIMEOUT}s" >> "$ERR"
    [ -s "$ERR" ] && sed 's/^/  | /' "$ERR" >&2
    hb_die "$l probe: \`$bin run\` of a container running sh -c '[ \$\$ = 1 ] && exit 42' returned $rc, expected 42"
  fi
  if hb_probe_run "$bin" state "$ID" </dev/null >/dev/null 2>&1; then
    hb_die "$l probe: container state still present after run exited (run must delete it)"
  fi
  hb_live_del "$ID"

  # create/start path: optional (skipped with a line when it does not work)
  newid "$l-probe-cs"
  hb_live_add "$bin" "$ID"
  hb_probe_run "$bin" create -b "$B" "$ID" </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 0 ]; then
    cs_skip "$l" "$bin" "$ID" "\`create\` failed ($(hb_why $rc "$ERR"))"; return 0
  fi
  out=$(hb_probe_run "$bin" state "$ID" </dev/null 2>"$ERR"); rc=$?
  [ $rc = 124 ] && { cs_skip "$l" "$bin" "$ID" "\`state\` of a created container hung (killed after ${HB_PROBE_TIMEOUT}s)"; return 0; }
  case $out in *'"created"'*) ;; *)
    cs_skip "$l" "$bin" "$ID" "\`state\` after create does not say \"created\": $(printf '%s' "$out" | tr '\n' ' ' | head -c 300)"; return 0 ;;
  esac
  hb_probe_run "$bin" start "$ID" </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 0 ]; then
    cs_skip "$l" "$bin" "$ID" "\`start\` failed ($(hb_why $rc "$ERR"))"; return 0
  fi
  if ! wait_stopped "$bin" "$ID" hb_probe_run; then
    cs_skip "$l" "$bin" "$ID" "\`state\` never said \"stopped\" within ${POLL_TIMEOUT}s"; return 0
  fi
  hb_probe_run "$bin" delete "$ID" </dev/null >/dev/null 2>"$ERR"; rc=$?
  if [ $rc != 0 ]; then
    cs_skip "$l" "$bin" "$ID" "\`delete\` failed ($(hb_why $rc "$ERR"))"; return 0
  fi
  if hb_probe_run "$bin" state "$ID" </dev/null >/dev/null 2>&1; then
    cs_skip "$l" "$bin" "$ID" "container state still present after delete"; return 0
  fi
  hb_live_del "$ID"
  CS_OK[$l]=1
}

wait_stopped() { # $1 bin, $2 id [, $3 wrapper]; polls `state` until it says "stopped" (no sleep)
  local out deadline=$(( ${EPOCHREALTIME/./} + POLL_TIMEOUT * 1000000 ))
  POLLS=0
  while :; do
    out=$(${3:-} "$1" state "$2" </dev/null 2>/dev/null)
    POLLS=$((POLLS + 1))
    case $out in *'"stopped"'*) return 0 ;; esac
    [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
  done
}

for l in "${HB_LABELS[@]}"; do probe "$l"; done

# --- timed primitives (each sets microsecond results; any failure ends the benchmark) ---
t_floor() {
  local t0 t1
  t0=${EPOCHREALTIME/./}
  /bin/true </dev/null >/dev/null 2>"$ERR"
  t1=${EPOCHREALTIME/./}
  US=$((t1 - t0))
}
t_run() { # $1 label
  local bin=${HB_BIN[$1]} t0 t1 rc
  newid "$1-run"; hb_live_add "$bin" "$ID"
  t0=${EPOCHREALTIME/./}
  "$bin" run -b "$B" "$ID" </dev/null >/dev/null 2>"$ERR"; rc=$?
  t1=${EPOCHREALTIME/./}
  [ $rc = 0 ] || fail_cmd "$1: $bin run -b $B $ID failed" $rc
  hb_live_del "$ID"
  US=$((t1 - t0))
}
t_cs() { # $1 label -> US (total) and UC US_ UW UD (create, start, wait, delete)
  local bin=${HB_BIN[$1]} t0 t1 t2 t3 t4 rc
  newid "$1-cs"; hb_live_add "$bin" "$ID"
  t0=${EPOCHREALTIME/./}
  "$bin" create -b "$B" "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$1: $bin create -b $B $ID failed" $?
  t1=${EPOCHREALTIME/./}
  "$bin" start "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$1: $bin start $ID failed" $?
  t2=${EPOCHREALTIME/./}
  wait_stopped "$bin" "$ID" || hb_die "$1: $bin state $ID never said \"stopped\" within ${POLL_TIMEOUT}s"
  t3=${EPOCHREALTIME/./}
  "$bin" delete "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$1: $bin delete $ID failed" $?
  t4=${EPOCHREALTIME/./}
  hb_live_del "$ID"
  US=$((t4 - t0)) UC=$((t1 - t0)) US_=$((t2 - t1)) UW=$((t3 - t2)) UD=$((t4 - t3))
}

# --- rounds -----------------------------------------------------------------------------
declare -A RUN=() CS=() CSC=() CSS=() CSW=() CSD=() POLLN=()
PART=(floor "${HB_LABELS[@]}")   # rows of the report
# Each round runs every (mode, runtime) item once, in a fresh random order: what ran just
# before affects a command's time (probably the previous container's asynchronous
# teardown), and a rotated order measurably favoured whoever did not follow runc.
ITEMS=(floor)
for l in "${HB_LABELS[@]}"; do
  ITEMS+=("run:$l")
  [ -n "${CS_OK[$l]:-}" ] && ITEMS+=("cs:$l")
done
RANDOM=$SEED
shuffle() { # shuffles ITEMS in place (Fisher-Yates)
  local i j t
  for ((i = ${#ITEMS[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1))); t=${ITEMS[i]}; ITEMS[i]=${ITEMS[j]}; ITEMS[j]=$t
  done
}
settle() { [ "$SETTLE" = 0 ] || sleep "$SETTLE"; }
hb_log "startup: ${HB_LABELS[*]} (+ floor), $WARMUP warm-up + $PAIRS timed rounds of ${#ITEMS[@]} items ..."
for ((i = -WARMUP; i < PAIRS; i++)); do
  shuffle
  for it in "${ITEMS[@]}"; do
    settle
    case $it in
      floor) t_floor; [ $i -ge 0 ] && RUN[floor,$i]=$US ;;
      run:*) l=${it#run:}; t_run "$l"; [ $i -ge 0 ] && RUN[$l,$i]=$US ;;
      cs:*)
        l=${it#cs:}; t_cs "$l"
        if [ $i -ge 0 ]; then
          CS[$l,$i]=$US CSC[$l,$i]=$UC CSS[$l,$i]=$US_ CSW[$l,$i]=$UW CSD[$l,$i]=$UD POLLN[$l,$i]=$POLLS
        fi ;;
    esac
  done
done

# --- peak RSS (separate, untimed runs under GNU time) -----------------------------------
declare -A RSS_RUN=() RSS_CS=()
RSS_RUN[floor]=NA
if [ -n "$HB_TIME" ] && [ "$RSS_RUNS" -gt 0 ]; then
  for ((i = 0; i < RSS_RUNS; i++)); do
    hb_rss /bin/true </dev/null >/dev/null 2>"$ERR"
    RSS_RUN[floor]=$(hb_max "${RSS_RUN[floor]}" "$HB_RSS")
    for l in "${HB_LABELS[@]}"; do
      bin=${HB_BIN[$l]}
      newid "$l-rss"; hb_live_add "$bin" "$ID"
      hb_rss "$bin" run -b "$B" "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$l: run under $HB_TIME failed" $?
      hb_live_del "$ID"
      RSS_RUN[$l]=$(hb_max "${RSS_RUN[$l]:-NA}" "$HB_RSS")
      [ -n "${CS_OK[$l]:-}" ] || continue
      newid "$l-rss-cs"; hb_live_add "$bin" "$ID"
      hb_rss "$bin" create -b "$B" "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$l: create under $HB_TIME failed" $?
      RSS_CS[$l]=$(hb_max "${RSS_CS[$l]:-NA}" "$HB_RSS")
      hb_rss "$bin" start "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$l: start under $HB_TIME failed" $?
      RSS_CS[$l]=$(hb_max "${RSS_CS[$l]}" "$HB_RSS")
      wait_stopped "$bin" "$ID" || hb_die "$l: never stopped"
      hb_rss "$bin" delete "$ID" </dev/null >/dev/null 2>"$ERR" || fail_cmd "$l: delete under $HB_TIME failed" $?
      RSS_CS[$l]=$(hb_max "${RSS_CS[$l]}" "$HB_RSS")
      hb_live_del "$ID"
    done
  done
fi

# --- statistics ---------------------------------------------------------------------------
col() { # $1 array name, $2 label -> the PAIRS samples, one per line (µs)
  local -n a=$1; local i
  for ((i = 0; i < PAIRS; i++)); do [ -n "${a[$2,$i]:-}" ] && echo "${a[$2,$i]}"; done
}
ms() { awk '{printf "%.4f\n", $1/1000}'; }
declare -A ST=()   # ST[mode,label] = "n median min max" in ms
for l in "${PART[@]}"; do
  ST[run,$l]=$(col RUN "$l" | ms | hb_stats)
  for m in CS CSC CSS CSW CSD; do
    ST[$m,$l]=$(col $m "$l" | ms | hb_stats)
  done
  ST[POLLN,$l]=$(col POLLN "$l" | hb_stats)
done
ratio() { # $1 array name, $2 label a, $3 label b -> "n median min max" of per-round a/b
  local -n a=$1; local i
  for ((i = 0; i < PAIRS; i++)); do
    [ -n "${a[$2,$i]:-}" ] && [ -n "${a[$3,$i]:-}" ] && echo "${a[$2,$i]} ${a[$3,$i]}"
  done | awk '$2 > 0 {printf "%.6f\n", $1/$2}' | hb_stats
}
declare -A RT=()   # RT[mode,other] = ratio stats husk/other
RATIO_LINES=()
for o in crun runc; do
  for m in run cs; do
    name=$m; [ $m = cs ] && name=create-start
    arr=RUN; [ $m = cs ] && arr=CS
    if [ -z "${HB_BIN[husk]:-}" ]; then why="husk not measured"
    elif [ -z "${HB_BIN[$o]:-}" ]; then why="$o not measured"
    elif [ $m = cs ] && [ -z "${CS_OK[husk]:-}" ]; then why="husk create/start skipped"
    elif [ $m = cs ] && [ -z "${CS_OK[$o]:-}" ]; then why="$o create/start skipped"
    else why=; fi
    if [ -n "$why" ]; then
      RT[$m,$o]="0 NA NA NA"
      RATIO_LINES+=("ratio husk/$o $name median=NA ($why)")
    else
      RT[$m,$o]=$(ratio $arr husk "$o")
      read -r n md lo hi <<< "${RT[$m,$o]}"
      RATIO_LINES+=("$(printf 'ratio husk/%s %s median=%.2f (per-round min-max %.2f-%.2f, %d rounds)' "$o" "$name" "$md" "$lo" "$hi" "$n")")
    fi
  done
done

# --- report -------------------------------------------------------------------------------
if [ "$HB_JSON" = 1 ]; then
  jstat() { # "n median min max" -> JSON object
    local n md lo hi; read -r n md lo hi <<< "$1"
    if [ "$n" = 0 ]; then printf null; return; fi
    printf '{"n": %s, "median": %s, "min": %s, "max": %s}' "$n" "$(hb_json_num "$md")" "$(hb_json_num "$lo")" "$(hb_json_num "$hi")"
  }
  samples() { local s; s=$(col "$1" "$2" | paste -sd, -); printf '[%s]' "$s"; }
  {
    printf '{\n  "benchmark": "startup",\n  "pairs": %d,\n  "warmup": %d,\n  "rss_runs": %d,\n' "$PAIRS" "$WARMUP" "$RSS_RUNS"
    printf '  "seed": %d,\n  "settle_s": %s,\n' "$SEED" "$(awk -v s="$SETTLE" 'BEGIN{print s+0}')"
    printf '  "cgroup_view": %s,\n  "spec_from": %s,\n  "bundle_process": ["/bin/true"],\n' "$(hb_json_str "$HB_CGVIEW")" "$(hb_json_str "$HB_SPEC_FROM")"
    printf '  "units": {"time": "ms", "samples": "us", "rss": "KB"},\n'
    printf '  "floor": {"bin": "/bin/true", "run_ms": %s, "rss_kb": %s, "samples_us": %s},\n' \
      "$(jstat "${ST[run,floor]}")" "$(hb_json_num "${RSS_RUN[floor]}")" "$(samples RUN floor)"
    printf '  "runtimes": {'
    sep=
    for l in "${HB_LABELS[@]}"; do
      printf '%s\n    %s: {\n      "bin": %s,\n' "$sep" "$(hb_json_str "$l")" "$(hb_json_str "${HB_BIN[$l]}")"
      printf '      "run_ms": %s,\n' "$(jstat "${ST[run,$l]}")"
      if [ -n "${CS_OK[$l]:-}" ]; then
        printf '      "create_start_ms": %s,\n' "$(jstat "${ST[CS,$l]}")"
        printf '      "create_start_phases_ms": {"create": %s, "start": %s, "wait_stopped": %s, "delete": %s},\n' \
          "$(jstat "${ST[CSC,$l]}")" "$(jstat "${ST[CSS,$l]}")" "$(jstat "${ST[CSW,$l]}")" "$(jstat "${ST[CSD,$l]}")"
        printf '      "state_polls": %s,\n' "$(jstat "${ST[POLLN,$l]}")"
      else
        printf '      "create_start_ms": null,\n'
      fi
      printf '      "rss_kb": {"run": %s, "create_start": %s},\n' "$(hb_json_num "${RSS_RUN[$l]:-NA}")" "$(hb_json_num "${RSS_CS[$l]:-NA}")"
      printf '      "samples_us": {"run": %s, "create_start": %s}\n    }' "$(samples RUN "$l")" "$(samples CS "$l")"
      sep=,
    done
    printf '\n  },\n  "ratios": {'
    sep=
    for o in crun runc; do
      printf '%s\n    "husk/%s": {"run": %s, "create_start": %s}' "$sep" "$o" "$(jstat "${RT[run,$o]}")" "$(jstat "${RT[cs,$o]}")"
      sep=,
    done
    printf '\n  },\n  "skipped": ['
    sep=
    for s in "${HB_SKIPPED[@]}"; do printf '%s%s' "$sep" "$(hb_json_str "$s")"; sep=', '; done
    printf '],\n  "summary": ['
    sep=
    for s in "${RATIO_LINES[@]}"; do printf '%s\n    %s' "$sep" "$(hb_json_str "$s")"; sep=,; done
    printf '\n  ]\n}\n'
  }
  exit 0
fi

med() { local n md lo hi; read -r n md lo hi <<< "$1"; printf '%s' "$md"; }
mn() { local n md lo hi; read -r n md lo hi <<< "$1"; printf '%s' "$lo"; }
echo
echo "container start-up, busybox-static bundle running /bin/true; $PAIRS paired rounds after $WARMUP warm-up"
echo "cgroups: $HB_CGVIEW; config.json from \`$HB_SPEC_FROM spec\`; order: random per round (SEED=$SEED)"
[ "$SETTLE" = 0 ] || echo "SETTLE=$SETTLE s of sleep before each timed command"
for l in "${HB_LABELS[@]}"; do printf '  %-5s = %s\n' "$l" "${HB_BIN[$l]}"; done
printf '  %-5s = %s\n' floor "/bin/true, spawned from this shell (the floor under every number)"
echo
printf '%-8s  %-17s   %-17s   %-31s    %-17s\n' "" "run (ms)" "c/s total (ms)" "c/s phases, median (ms)" "peak RSS (KB)"
printf '%-8s %8s %8s   %8s %8s   %7s %7s %7s %7s   %8s %8s\n' runtime median min median min create start wait delete run c/s
for l in "${PART[@]}"; do
  printf '%-8s %8s %8s   %8s %8s   %7s %7s %7s %7s   %8s %8s\n' "$l" \
    "$(hb_fmt "$(med "${ST[run,$l]}")" %.2f)" "$(hb_fmt "$(mn "${ST[run,$l]}")" %.2f)" \
    "$(hb_fmt "$(med "${ST[CS,$l]}")" %.2f)" "$(hb_fmt "$(mn "${ST[CS,$l]}")" %.2f)" \
    "$(hb_fmt "$(med "${ST[CSC,$l]}")" %.2f)" "$(hb_fmt "$(med "${ST[CSS,$l]}")" %.2f)" \
    "$(hb_fmt "$(med "${ST[CSW,$l]}")" %.2f)" "$(hb_fmt "$(med "${ST[CSD,$l]}")" %.2f)" \
    "$(hb_fmt "${RSS_RUN[$l]:-NA}" %d)" "$(hb_fmt "${RSS_CS[$l]:-NA}" %d)"
done
echo
for s in "${HB_SKIPPED[@]}"; do echo "skipped: $s"; done
for s in "${RATIO_LINES[@]}"; do echo "$s"; done
exit 0
