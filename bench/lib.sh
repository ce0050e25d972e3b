# bench/lib.sh - shared helpers for bench/startup.sh and bench/exec.sh (sourced, not run).
#
# The caller sets HB_NAME (a short name used for temp dirs, cgroups and container ids)
# before sourcing, and defines nothing else; everything here is prefixed hb_ or HB_.
#
# What this file provides:
#   hb_enter_ns "$@"      re-exec the calling script in a private mount namespace with the
#                         hybrid cgroup2 mount (/sys/fs/cgroup/unified) detached, if present
#   hb_setup              temp dir, traps, cleanup on EXIT/INT/TERM/HUP
#   hb_pick_runtimes      resolve husk/crun/runc binaries -> HB_LABELS, HB_BIN[label]
#   hb_build_rootfs DIR   busybox-static rootfs
#   hb_make_bundle DIR ROOTFS ARGS_JSON CGPATH   config.json from `X spec`, edited
#   hb_live_add BIN ID [CG] / hb_live_del ID   track containers so that cleanup can
#                         `delete -f` them (CG: their cgroupsPath, default /$HB_CG)
#   hb_force_delete BIN ID CG   delete -f under a timeout; if that fails, SIGKILL the
#                         processes left in the container's own cgroup, and retry
#   hb_probe_run CMD...   CMD under timeout(1) (probes and cleanup, never timed commands)
#   hb_stats              read numbers (one per line) -> "n median min max"
#   hb_log / hb_die       messages (stderr in --json mode), exit 2 on setup errors
#   hb_dockerd_start DIR / hb_dockerd_stop   a private dockerd (socket DIR/docker.sock)

HB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HB_JSON=${HB_JSON:-0}
declare -A HB_BIN=() HB_LIVE=() HB_LIVECG=()
HB_LABELS=()
HB_SKIPPED=()

hb_log() { if [ "$HB_JSON" = 1 ]; then echo "$*" >&2; else echo "$*"; fi; }
hb_die() { # also calls hb_on_die MESSAGE if the script defines it (summary lines / JSON)
  echo "error: $*" >&2
  if declare -F hb_on_die >/dev/null; then hb_on_die "$*"; fi
  exit 2
}
hb_skip() { # $1 label, $2... reason
  local l=$1; shift
  hb_log "skip $l: $*"
  HB_SKIPPED+=("$l: $*")
}

# ---------------------------------------------------------------------------
# Mount namespace: this host is cgroup v1 with a cgroup2 mount at
# /sys/fs/cgroup/unified that carries controllers (hugetlb); crun 1.8 refuses such a
# "hybrid" host. Re-run the whole script in a private mount namespace with that mount
# lazily detached, so that every runtime sees the same pure-v1 view. The host's mounts
# are untouched. HB_NO_NS=1 skips this (crun will then probably fail its probe).
# The script execs itself, so nothing stays behind in the host's namespace; every cgroup
# directory a runtime creates is visible from inside, where the cleanup runs.
hb_need_ns() {
  [ "$(id -u)" = 0 ] \
    && [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] \
    && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] \
    && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]
}

hb_rm_cgroups() { # remove every directory named $HB_CG under /sys/fs/cgroup/*/ (and v2 root)
  local d
  [ -n "${HB_CG:-}" ] || return 0
  for d in /sys/fs/cgroup/*/"$HB_CG" /sys/fs/cgroup/"$HB_CG"; do
    [ -d "$d" ] || continue
    # With /sys/fs/cgroup/unified detached, that path is a plain directory of the
    # /sys/fs/cgroup tmpfs, and runtimes (crun 1.8 does) still mkdir there and write
    # cgroup.procs as regular files. Hidden under the host's cgroup2 mount, such
    # leftovers would never be seen again: remove them with rm -rf.
    if [ "$(stat -f -c %T "$d" 2>/dev/null)" = tmpfs ]; then
      rm -rf -- "$d"; continue
    fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      find "$d" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
      rmdir "$d" 2>/dev/null && break
      sleep 0.1
    done
    [ -d "$d" ] && echo "warning: could not remove cgroup $d" >&2
  done
  return 0
}

hb_enter_ns() { # "$@" = the script's own arguments
  HB_CG=$HB_NAME-$$     # exec keeps the PID, so the re-executed script gets the same name
  HB_CGVIEW="host"
  [ -n "${HB_NO_NS:-}" ] && HB_CGVIEW="host (HB_NO_NS=1)"
  if [ -n "${HB_IN_NS:-}" ]; then
    HB_CGVIEW="private mount ns, /sys/fs/cgroup/unified detached"
    return 0
  fi
  if [ -z "${HB_NO_NS:-}" ] && hb_need_ns; then
    command -v unshare >/dev/null || hb_die "unshare (util-linux) is needed to hide /sys/fs/cgroup/unified"
    export HB_IN_NS=1
    exec unshare -m --propagation private /bin/sh -c \
      'umount -l /sys/fs/cgroup/unified || exit 2; exec "$@"' hb /bin/bash "$0" "$@"
  fi
}

# ---------------------------------------------------------------------------
hb_cleanup() {
  local id
  trap - EXIT
  trap '' INT TERM HUP   # finish cleaning up even if Ctrl-C is pressed again
  for id in "${!HB_LIVE[@]}"; do
    hb_force_delete "${HB_LIVE[$id]}" "$id" "${HB_LIVECG[$id]}" \
      || echo "warning: could not delete container $id (${HB_LIVE[$id]})" >&2
  done
  hb_cg_kill "/$HB_CG"
  hb_rm_cgroups
  [ -n "${HB_TMP:-}" ] && [ -d "$HB_TMP" ] && rm -rf -- "$HB_TMP"
}

hb_setup() {
  [ "$(id -u)" = 0 ] || hb_die "must run as root (rootless bundles are not supported)"
  [ -n "${EPOCHREALTIME:-}" ] || hb_die "bash >= 5 needed (EPOCHREALTIME)"
  HB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$HB_NAME.XXXXXX") || hb_die "mktemp failed"
  trap hb_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

hb_errtxt() { # $1 file -> its first 300 bytes on one line
  head -c 300 "$1" 2>/dev/null | tr '\n\t' '  ' | sed 's/ *$//'
}
hb_why() { # $1 exit status of hb_probe_run, $2 stderr file -> short reason
  case $1 in
    124|137) printf 'hung, killed after %ss' "$HB_PROBE_TIMEOUT" ;;
    *) printf 'exit %s: %s' "$1" "$(hb_errtxt "$2")" ;;
  esac
}

# Probes run under timeout(1) so that a hanging runtime ends the probe (exit 124).
HB_PROBE_TIMEOUT=${PROBE_TIMEOUT:-20}
hb_probe_run() {
  if command -v timeout >/dev/null; then timeout -k 5 "$HB_PROBE_TIMEOUT" "$@"; else "$@"; fi
}

hb_live_add() { HB_LIVE[$2]=$1; HB_LIVECG[$2]=${3:-/$HB_CG}; }
hb_live_del() { unset 'HB_LIVE[$1]' 'HB_LIVECG[$1]'; }

# SIGKILL every process still in cgroup $1 (which must be /$HB_CG or below it: only
# containers this script started live there) in every real cgroup hierarchy. Regular
# files named cgroup.procs on the tmpfs (see hb_rm_cgroups) hold stale PIDs: skipped.
hb_cg_kill() {
  local cg=$1 f p n=0
  case $cg in "/$HB_CG"|"/$HB_CG"/*) ;; *) return 0 ;; esac
  while IFS= read -r f; do
    case $(stat -f -c %T "$f" 2>/dev/null) in cgroupfs|cgroup2fs) ;; *) continue ;; esac
    while read -r p; do
      [ -n "$p" ] || continue
      kill -KILL "$p" 2>/dev/null && { n=$((n + 1)); echo "warning: killed leftover container process $p (in $cg)" >&2; }
    done < "$f"
  done < <(find /sys/fs/cgroup/*"$cg" /sys/fs/cgroup"$cg" -name cgroup.procs 2>/dev/null)
  [ $n = 0 ] || sleep 0.2
  return 0
}

hb_force_delete() { # $1 bin, $2 id, $3 cgroupsPath
  local t=$HB_PROBE_TIMEOUT
  HB_PROBE_TIMEOUT=10
  local rc=0
  if ! hb_probe_run "$1" delete -f "$2" </dev/null >/dev/null 2>&1; then
    hb_cg_kill "$3"
    if ! hb_probe_run "$1" delete -f "$2" </dev/null >/dev/null 2>&1; then
      # fine if the container does not exist (e.g. a failed `run` left nothing behind)
      hb_probe_run "$1" state "$2" </dev/null >/dev/null 2>&1
      case $? in 0|124|137) rc=1 ;; esac   # exists, or `state` hung
    fi
  fi
  HB_PROBE_TIMEOUT=$t
  return $rc
}

# ---------------------------------------------------------------------------
hb_abs() { # resolve a command name or path to an absolute executable path
  local p
  p=$(command -v -- "$1" 2>/dev/null) || return 1
  [ -x "$p" ] || return 1
  case $p in /*) ;; *) p=$PWD/$p ;; esac
  printf '%s\n' "$p"
}

hb_pick_runtimes() { # fills HB_LABELS and HB_BIN from $RUNTIMES (default "husk crun runc")
  local l p want=${RUNTIMES:-husk crun runc} husk=${HUSK_RUNTIME:-$HB_REPO/build/src/runtime/husk-runtime}
  for l in $want; do
    case $l in
      husk) p=$(hb_abs "$husk") || { hb_skip husk "not found ($husk; set HUSK_RUNTIME or build it)"; continue; } ;;
      crun) p=$(hb_abs "${CRUN:-crun}") || { hb_skip crun "not found (${CRUN:-crun})"; continue; } ;;
      runc) p=$(hb_abs "${RUNC:-runc}") || { hb_skip runc "not found (${RUNC:-runc})"; continue; } ;;
      *) hb_die "unknown runtime '$l' in RUNTIMES (known: husk crun runc)" ;;
    esac
    HB_BIN[$l]=$p
    HB_LABELS+=("$l")
  done
}

# ---------------------------------------------------------------------------
hb_build_rootfs() { # $1 = rootfs dir
  local r=$1 bb a
  bb=${BUSYBOX:-$(command -v busybox)} || hb_die "busybox not found (apt-get install busybox-static)"
  if ldd "$bb" >/dev/null 2>&1; then hb_die "$bb is not statically linked (apt-get install busybox-static)"; fi
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,run} || hb_die "mkdir $r"
  cp "$bb" "$r/bin/busybox" || hb_die "copy busybox"
  for a in $("$bb" --list-full); do
    [ -e "$r/$a" ] || [ -L "$r/$a" ] || ln -s /bin/busybox "$r/$a"
  done
  chmod 1777 "$r/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$r/etc/group"
}

# The config template comes from `X spec` of $SPEC_FROM (default: crun, else runc, else
# husk), generated once; every bundle is a copy of it with args, terminal=false, an
# absolute root.path and an absolute linux.cgroupsPath.
hb_spec_template() {
  local src=${SPEC_FROM:-} d=$HB_TMP/spec l
  if [ -z "$src" ]; then
    for l in crun runc husk; do
      [ -n "${HB_BIN[$l]:-}" ] && { src=${HB_BIN[$l]}; break; }
    done
    [ -n "$src" ] || src=$(hb_abs crun) || src=$(hb_abs runc) || hb_die "no runtime available to generate config.json (set SPEC_FROM)"
  else
    src=$(hb_abs "$src") || hb_die "SPEC_FROM=$SPEC_FROM not found"
  fi
  mkdir -p "$d" && ( cd "$d" && "$src" spec </dev/null >/dev/null 2>"$d/err" ) \
    || { cat "$d/err" >&2; hb_die "$src spec failed"; }
  [ -s "$d/config.json" ] || hb_die "$src spec wrote no config.json"
  HB_SPEC=$d/config.json
  HB_SPEC_FROM=$src
}

hb_make_bundle() { # $1 bundle dir, $2 rootfs (absolute), $3 args JSON array, $4 cgroupsPath
  local b=$1 root=$2 args=$3 cg=$4
  [ -n "${HB_SPEC:-}" ] || hb_spec_template
  mkdir -p "$b" || hb_die "mkdir $b"
  if command -v jq >/dev/null; then
    jq --argjson a "$args" --arg r "$root" --arg c "$cg" \
      '.process.args=$a | .process.terminal=false | .root.path=$r | .linux.cgroupsPath=$c' \
      "$HB_SPEC" > "$b/config.json" || hb_die "jq failed"
  else
    python3 - "$HB_SPEC" "$args" "$root" "$cg" > "$b/config.json" <<'EOF' || hb_die "need jq or python3 to edit config.json"
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = json.loads(sys.argv[2])
c["process"]["terminal"] = False
c["root"]["path"] = sys.argv[3]
c.setdefault("linux", {})["cgroupsPath"] = sys.argv[4]
json.dump(c, sys.stdout, indent=2)
EOF
  fi
}

# ---------------------------------------------------------------------------
# Peak RSS: GNU time's %M is ru_maxrss from wait4() of the runtime process, which covers
# the process itself and every descendant it reaped (for `run`: the runtime's helper
# processes such as `runc init`, and the container process).
HB_TIME=
hb_find_time() {
  if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null /bin/true 2>/dev/null; then
    HB_TIME=/usr/bin/time
  else
    hb_log "note: /usr/bin/time (GNU time) not found; peak RSS not measured (apt-get install time)"
  fi
}
hb_rss() { # "$@" = command; sets HB_RSS to its max RSS in KB (or NA); returns its status.
  # The caller redirects the command's stdio (it is inherited unchanged).
  local rc l
  HB_RSS=NA
  if [ -z "$HB_TIME" ]; then "$@"; return $?; fi
  "$HB_TIME" -f %M -o "$HB_TMP/rss" "$@"; rc=$?
  while IFS= read -r l; do case $l in *[!0-9]*|'') ;; *) HB_RSS=$l ;; esac; done < "$HB_TMP/rss"
  return $rc
}
hb_max() { # $1 $2 -> larger, NA-aware
  case $1 in NA|'') echo "$2" ;; *) case $2 in NA|'') echo "$1" ;; *) echo $(( $1 > $2 ? $1 : $2 )) ;; esac ;; esac
}

# ---------------------------------------------------------------------------
# Stats: stdin = numbers, one per line -> "n median min max" (NA if no numbers)
# (bash's clock, read with no fork: $(date) around CMD would add its own
# fork, exec and exit, several ms on a VM, to every figure)
hb_timed_ms() { # CMD... -> milliseconds CMD took (it must succeed), output dropped
  local t0 t1
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>&1 || return 1
  t1=${EPOCHREALTIME/./}
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)/1e3}'
}
hb_stats() {
  sort -g | awk '{v[NR]=$1}
    END{ if (NR==0) { print "0 NA NA NA"; exit }
         m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2
         printf "%d %.6g %.6g %.6g\n", NR, m, v[1], v[NR] }'
}
hb_fmt() { # $1 number or NA, $2 printf format
  case $1 in NA|'') printf '%s' '-' ;; *) printf "$2" "$1" ;; esac
}
hb_json_num() { case $1 in NA|'') printf null ;; *) printf '%s' "$1" ;; esac; }
hb_json_str() { # minimal JSON string escaping (backslash, quote, control chars dropped)
  local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/ }; s=${s//$'\t'/ }
  printf '"%s"' "$s"
}

# ---------------------------------------------------------------------------
HB_DOCKERD_PID=
# hb_dockerd_start DIR: a dockerd of the bench's own (socket DIR/docker.sock,
# pid HB_DOCKERD_PID), in a mount namespace of its own where its data root
# is a tmpfs, /run is one too (containerd's shim sockets and dockerd's
# plugin dir go there, never to the host's /run) and the cgroup2 mount of a
# hybrid host is detached (dockerd 20.10 wants pure v1 or pure v2): all of
# it goes with the daemon's last process. No iptables rules, no docker0,
# no live restore, its own containerd (under its exec root); the config
# file keeps its key out of /etc/docker.
hb_dockerd_start() {
	HB_DK=$1
	mkdir -p "$HB_DK/data" "$HB_DK/exec"
	printf '{"deprecated-key-path": "%s/key.json"}\n' "$HB_DK" >"$HB_DK/daemon.json"
	unshare -m --propagation private /bin/sh -c '
		mount -t tmpfs -o mode=0700 tmpfs "$1/data" || exit 2
		mount -t tmpfs -o mode=0755 tmpfs /run || exit 2
		if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
			umount -l /sys/fs/cgroup/unified || exit 2
		fi
		exec dockerd --config-file "$1/daemon.json" --data-root "$1/data" \
			--exec-root "$1/exec" --pidfile "$1/dockerd.pid" -H "unix://$1/docker.sock" \
			--iptables=false --ip6tables=false --bridge=none' \
		dockerd "$HB_DK" >"$HB_DK/dockerd.log" 2>&1 &
	HB_DOCKERD_PID=$!
	for _ in $(seq 300); do
		docker -H "unix://$HB_DK/docker.sock" info >/dev/null 2>&1 && return 0
		kill -0 "$HB_DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
# hb_dockerd_stop: TERM (it stops its containerd), KILL after 20 s; then
# its containerd, by the pid file it wrote under our exec root, were it left.
hb_dockerd_stop() {
	local cpid
	[ -n "$HB_DOCKERD_PID" ] || return 0
	cpid=$(cat "$HB_DK/exec/containerd/containerd.pid" 2>/dev/null)
	kill -TERM "$HB_DOCKERD_PID" 2>/dev/null
	for _ in $(seq 200); do kill -0 "$HB_DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$HB_DOCKERD_PID" 2>/dev/null
	wait "$HB_DOCKERD_PID" 2>/dev/null
	if [ -n "$cpid" ] && grep -qF "$HB_DK/exec" "/proc/$cpid/cmdline" 2>/dev/null; then
		kill -KILL "$cpid" 2>/dev/null
	fi
	HB_DOCKERD_PID=
}
