#!/bin/bash
# bench/network.sh - what a bridge network costs:
#   1. `husk run --rm busybox true` on a bridge network vs --network none
#      (paired, interleaved rounds; the median of each and the difference);
#   2. TCP throughput of a container to the host over its veth and bridge
#      (busybox dd | nc to a listener on the gateway, timed in the container)
#      vs the host's loopback (the same dd | nc to 127.0.0.1), as MB/s and
#      their ratio (both bound by busybox nc's small buffers: a floor, not
#      the veth's limit).
# A private store, run root and network (10.90.200.0/24); nothing is left
# after. Asserts nothing: exit 0 means the benchmark ran, 2 that setup failed.
#   PAIRS=20 WARMUP=3 MB=256 bench/network.sh
set -u
HB_NAME=network-bench
. "$(dirname "$0")/lib.sh"
hb_enter_ns "$@"
PAIRS=${PAIRS:-20}
WARMUP=${WARMUP:-3}
MB=${MB:-256}
HUSK=${HUSK_ENGINE:-$HB_REPO/build/src/engine/husk}
[ "$(id -u)" = 0 ] || hb_die "run as root"
[ -x "$HUSK" ] || hb_die "no husk at $HUSK (build first)"
command -v busybox >/dev/null || hb_die "busybox (package busybox-static) is needed"

TMP=$(mktemp -d /tmp/network-bench.XXXXXX)
export HUSK_STORAGE_ROOT=$TMP/husk HUSK_RUN_ROOT=$TMP/husk-run
NET=hkbench$$
LISTENER=
cleanup() {
	[ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null
	"$HUSK" rm -f $("$HUSK" ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1
	"$HUSK" network rm "$NET" >/dev/null 2>&1
	grep -F "$TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | hb_stats | awk '{print $2}'; }

"$HUSK" network create --subnet 10.90.200.0/24 "$NET" >/dev/null || hb_die "network create failed"
run_none() { "$HUSK" run --rm --network none busybox true; }
run_bridge() { "$HUSK" run --rm --network "$NET" busybox true; }
run_bridge || hb_die "husk run on a bridge network failed"
for _ in $(seq "$WARMUP"); do run_none; run_bridge; done >/dev/null 2>&1
T_NONE= T_BRIDGE=
for _ in $(seq "$PAIRS"); do
	T_NONE+="$(hb_timed_ms run_none || echo NA) "
	T_BRIDGE+="$(hb_timed_ms run_bridge || echo NA) "
done
m_none=$(echo "$T_NONE" | median)
m_bridge=$(echo "$T_BRIDGE" | median)

# listen PORT: a busybox nc listener on the host, for one connection. Its
# stdin is a FIFO held open (on EOF of its stdin busybox nc quits at once);
# unlisten closes it.
listen() {
	rm -f "$TMP/fifo"
	mkfifo "$TMP/fifo"
	busybox nc -l -p "$1" <"$TMP/fifo" >/dev/null &
	LISTENER=$!
	exec 8>"$TMP/fifo"
	for _ in $(seq 50); do ss -ltn | grep -q ":$1 " && return 0; sleep 0.05; done
	return 1
}
unlisten() {
	exec 8>&-
	wait "$LISTENER" 2>/dev/null
	LISTENER=
}
# real_s: the seconds of a transfer alone, from busybox time -p run where
# it runs (in the container: its start is not counted)
real_s() { awk '/^real/ {print $2}'; }
listen 15001 || hb_die "no listener on the gateway"
t_veth=$("$HUSK" run --rm --network "$NET" busybox sh -c \
	"time -p sh -c 'dd if=/dev/zero bs=1M count=$MB 2>/dev/null | nc 10.90.200.1 15001' 2>&1" | real_s)
unlisten
listen 15002 || hb_die "no listener on 127.0.0.1"
t_lo=$(busybox time -p sh -c "dd if=/dev/zero bs=1M count=$MB 2>/dev/null | busybox nc 127.0.0.1 15002" 2>&1 | real_s)
unlisten
mbps() { awk -v mb="$MB" -v s="$1" 'BEGIN{printf "%.0f", (s > 0 ? mb / s : 0)}'; }

printf '%-34s %10s\n' "husk run --rm, --network none" "$m_none ms"
printf '%-34s %10s\n' "husk run --rm, bridge network" "$m_bridge ms"
echo "added by the bridge: $(awk -v a="$m_bridge" -v b="$m_none" 'BEGIN{printf "%.2f", a-b}') ms" \
	"(ratio $(awk -v a="$m_bridge" -v b="$m_none" 'BEGIN{printf "%.3f", a/b}'); target < 5 ms)"
if [ -n "$t_veth" ] && [ -n "$t_lo" ]; then
	echo "TCP ${MB} MB container->host (veth, bridge): $(mbps "$t_veth") MB/s ($t_veth s);" \
		"host loopback: $(mbps "$t_lo") MB/s ($t_lo s);" \
		"veth/loopback $(awk -v a="$t_lo" -v b="$t_veth" 'BEGIN{printf "%.3f", a/b}')"
else
	echo "TCP throughput: a transfer failed"
fi
echo "$PAIRS rounds (median), $WARMUP warm-up"
