#!/bin/bash
# bench/engine.sh - the engine against podman and Docker, side by side in
# one run, as ratios:
#   1. `husk run --rm busybox true` vs `podman run --rm` of the same busybox
#      rootfs imported into podman (paired, interleaved rounds);
#   2. the same, 10 at once (wall time for the 10);
#   3. the monitor's resident size vs conmon's, each beside a running
#      `sleep` container (VmRSS and VmHWM of the monitor process).
# Every engine runs with no network (--network none) and a private store
# under a temp dir; nothing of them is left after. Docker (docker.io) gets a
# dockerd of the bench's own, started and stopped here (hb_dockerd_start):
# no daemon need run, and none that runs is used. Asserts nothing:
# exit 0 means the benchmark ran, 2 that setup failed.
#   PAIRS=20 WARMUP=3 bench/engine.sh
set -u
HB_NAME=engine-bench
. "$(dirname "$0")/lib.sh"
hb_enter_ns "$@"
PAIRS=${PAIRS:-20}
WARMUP=${WARMUP:-3}
HUSK=${HUSK_ENGINE:-$HB_REPO/build/src/engine/husk}
[ "$(id -u)" = 0 ] || hb_die "run as root"
[ -x "$HUSK" ] || hb_die "no husk at $HUSK (build first)"

TMP=$(mktemp -d /tmp/engine-bench.XXXXXX)
# Both engines' run roots live under /run by default, a tmpfs on most
# systems (not on every VM): here both get one, in the private mount
# namespace hb_enter_ns gave this script (or unmounted at the exit). The
# stores stay on disk.
mkdir "$TMP/run"
if [ "$(stat -f -c %T /run)" != tmpfs ]; then
	mount -t tmpfs -o mode=0755 tmpfs "$TMP/run" || hb_die "cannot mount a tmpfs for the run roots"
fi
export HUSK_STORAGE_ROOT=$TMP/husk HUSK_RUN_ROOT=$TMP/run/husk
PODMAN=(podman --root "$TMP/podman" --runroot "$TMP/run/podman" --cgroup-manager cgroupfs
	--storage-driver overlay)
# this VM's hard rlimits are below podman's defaults (no CAP_SYS_RESOURCE)
PODMAN_RUN=(run --network none --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
DK=$TMP/docker
DOCKER=(docker -H "unix://$DK/docker.sock")
cleanup() {
	"$HUSK" rm -f $("$HUSK" ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1
	command -v podman >/dev/null && "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
	command -v podman >/dev/null && "${PODMAN[@]}" system reset -f >/dev/null 2>&1
	hb_dockerd_stop
	grep -F "$TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# parallel N CMD...: ms for N copies of CMD started at once, until all end
parallel() {
	local n=$1 t0 t1 pids=() i
	shift
	t0=${EPOCHREALTIME/./}
	for i in $(seq "$n"); do "$@" >/dev/null 2>&1 & pids+=($!); done
	for i in "${pids[@]}"; do wait "$i" || return 1; done
	t1=${EPOCHREALTIME/./}
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)/1e3}'
}

husk_run() { "$HUSK" run --rm --network none busybox /bin/true; }
podman_run() { "${PODMAN[@]}" "${PODMAN_RUN[@]}" --rm bench-busybox /bin/true; }
docker_run() { "${DOCKER[@]}" run --rm --network none bench-busybox /bin/true; }

ENGINES=(husk)
hb_log "husk: $HUSK"
husk_run || hb_die "husk run failed"
if command -v podman >/dev/null; then
	hb_build_rootfs "$TMP/rootfs"
	tar -C "$TMP/rootfs" -cf "$TMP/busybox.tar" .
	if "${PODMAN[@]}" import "$TMP/busybox.tar" bench-busybox >/dev/null 2>&1 && podman_run; then
		ENGINES+=(podman)
	else
		hb_log "skip podman: it cannot run a container here"
	fi
else
	hb_log "skip podman: not installed"
fi
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
	hb_log "skip docker: docker.io is not installed"
elif ! hb_dockerd_start "$DK"; then
	hb_log "skip docker: its dockerd did not start: $(tail -n 3 "$DK/dockerd.log" 2>/dev/null)"
	hb_dockerd_stop
elif "$HUSK" save busybox | "${DOCKER[@]}" load >/dev/null &&
	"${DOCKER[@]}" tag busybox:latest bench-busybox && docker_run; then
	ENGINES+=(docker)
	hb_log "docker: a dockerd of its own, $("${DOCKER[@]}" version -f '{{.Server.Version}}' 2>/dev/null)"
else
	hb_log "skip docker: its dockerd cannot run a container here"
fi

for _ in $(seq "$WARMUP"); do for e in "${ENGINES[@]}"; do ${e}_run >/dev/null 2>&1; done; done
declare -A T P
for _ in $(seq "$PAIRS"); do
	for e in "${ENGINES[@]}"; do T[$e]+="$(hb_timed_ms ${e}_run || echo NA) "; done
done
for e in "${ENGINES[@]}"; do P[$e]=$(parallel 10 ${e}_run || echo NA); done

# the monitor beside a running container
"$HUSK" run -d --name rss --network none busybox sleep 1000 >/dev/null
sleep 1.5 # the monitor drops its start-up pages after a second
mpid=$("$HUSK" inspect rss | jq -r '.[0].State.MonitorPid')
hm_rss=$(awk '/VmRSS/{print $2}' /proc/$mpid/status)
hm_hwm=$(awk '/VmHWM/{print $2}' /proc/$mpid/status)
cm_rss=NA cm_hwm=NA
if [[ " ${ENGINES[*]} " == *" podman "* ]]; then
	"${PODMAN[@]}" "${PODMAN_RUN[@]}" -d --name rss bench-busybox sleep 1000 >/dev/null
	sleep 1.5
	cpid=$("${PODMAN[@]}" inspect --format '{{.State.ConmonPid}}' rss)
	cm_rss=$(awk '/VmRSS/{print $2}' /proc/$cpid/status)
	cm_hwm=$(awk '/VmHWM/{print $2}' /proc/$cpid/status)
fi

median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | hb_stats | awk '{print $2}'; }
hm=$(echo "${T[husk]}" | median)
printf '%-8s %12s %14s %14s\n' engine "run --rm ms" "10 at once ms" "vs husk (run)"
for e in "${ENGINES[@]}"; do
	m=$(echo "${T[$e]}" | median)
	printf '%-8s %12s %14s %14s\n' "$e" "$m" "${P[$e]}" \
		"$(awk -v a="$hm" -v b="$m" 'BEGIN{printf "%.3f", a/b}')"
done
echo "cgroups: $HB_CGVIEW; $PAIRS rounds (median), $WARMUP warm-up"
echo "monitor RSS: husk-monitor ${hm_rss} KB (peak ${hm_hwm} KB), conmon ${cm_rss} KB (peak ${cm_hwm} KB)"
for e in "${ENGINES[@]}"; do
	[ "$e" = husk ] && continue
	m=$(echo "${T[$e]}" | median)
	echo "ratio husk/$e: run $(awk -v a="$hm" -v b="$m" 'BEGIN{printf "%.3f", a/b}')," \
		"10 at once $(awk -v a="${P[husk]}" -v b="${P[$e]}" 'BEGIN{printf "%.3f", a/b}')"
done
