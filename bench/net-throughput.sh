#!/bin/bash
# bench/net-throughput.sh - TCP throughput of a container to the host, by
# iperf3 (package iperf3), SECS seconds a transfer, the median of ROUNDS:
#   1. root: a client in a container on a bridge network (veth, bridge) to
#      a server on the host bound to the gateway, against the same client
#      and server on the host's loopback; Gbit/s and their ratio;
#   2. rootless (a test user made here and removed after): pasta against
#      slirp4netns, the server in the container published on the host, the
#      host's client in reverse mode (-R: the container sends) over
#      127.0.0.1.
# The container's iperf3 is the host's: it and its libraries (ldd) are
# imported as a tiny image. Rounds interleave the two ways, so that the
# noise of a shared machine hits both. Traffic goes to loopback and to the
# bench's containers only. A private store, run root and network; the test
# user, its /etc/subuid and /etc/subgid lines and the device modes put
# back after. Asserts nothing: exit 0 means it ran, 2 that setup failed.
#   SECS=5 ROUNDS=3 ROOTLESS=1 bench/net-throughput.sh
set -u
HB_NAME=net-throughput
. "$(dirname "$0")/lib.sh"
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
ROOTLESS=${ROOTLESS:-1}
HUSK=${HUSK_ENGINE:-$HB_REPO/build/src/engine/husk}
export HUSK_ENGINE=$HUSK
[ "$(id -u)" = 0 ] || hb_die "run as root"
[ -x "$HUSK" ] || hb_die "no husk at $HUSK (build first)"
IPERF=$(command -v iperf3) || hb_die "iperf3 (package iperf3) is needed"
command -v jq >/dev/null || hb_die "jq is needed"
# rootless_user_make, as_user, rootless_user_remove: as the tests do
. "$HB_REPO/tests/integration/engine-helpers.bash"

TMP=$(mktemp -d /tmp/net-throughput.XXXXXX)
chmod 755 "$TMP"
export HUSK_STORAGE_ROOT=$TMP/husk HUSK_RUN_ROOT=$TMP/husk-run
NET=hkthr$$
SERVER=
cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
	"$HUSK" rm -f $("$HUSK" ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1
	"$HUSK" network rm "$NET" >/dev/null 2>&1
	rootless_user_remove >/dev/null 2>&1
	grep -F "$TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | hb_stats | awk '{print $2}'; }
gbits() { jq -r '.end.sum_received.bits_per_second / 1e9' 2>/dev/null | awk '{printf "%.2f", $1}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", (b > 0 ? a / b : 0)}'; }

# iperf_image TAR: a root file system of the host's iperf3 and what ldd
# says it loads, at the same paths, as a tar.
iperf_image() {
	local root=$TMP/rootfs f
	mkdir -p "$root/usr/bin" "$root/tmp"
	chmod 1777 "$root/tmp"
	cp -L "$IPERF" "$root/usr/bin/iperf3"
	for f in $(ldd "$IPERF" | grep -oE '/[^ ]+'); do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
	tar -C "$root" -cf "$1" .
	chmod 644 "$1"
}

# serve ADDR PORT: a one-shot iperf3 server on the host.
serve() {
	"$IPERF" -s -1 -B "$1" -p "$2" >/dev/null 2>&1 &
	SERVER=$!
	for _ in $(seq 50); do ss -ltn | grep -q "$1:$2 " && return 0; sleep 0.05; done
	return 1
}
unserve() { wait "$SERVER" 2>/dev/null; SERVER=; }

# ---- root: veth and bridge against loopback ----
iperf_image "$TMP/iperf.tar"
"$HUSK" import "$TMP/iperf.tar" iperf:bench >/dev/null || hb_die "husk import failed"
"$HUSK" network create "$NET" >/dev/null || hb_die "network create failed"
GW=$("$HUSK" network inspect "$NET" | jq -r '.[0].IPAM.Config[0].Gateway')
T_VETH= T_LO=
for r in $(seq "$ROUNDS"); do
	serve "$GW" 15201 || hb_die "no server on $GW"
	T_VETH+="$("$HUSK" run --rm --network "$NET" iperf:bench /usr/bin/iperf3 -c "$GW" -p 15201 \
		-t "$SECS" -J | gbits || echo NA) "
	unserve
	serve 127.0.0.1 15202 || hb_die "no server on 127.0.0.1"
	T_LO+="$("$IPERF" -c 127.0.0.1 -p 15202 -t "$SECS" -J | gbits || echo NA) "
	unserve
done
m_veth=$(echo "$T_VETH" | median)
m_lo=$(echo "$T_LO" | median)
printf '%-44s %8s Gbit/s   (%s)\n' "root: container -> host, veth and bridge" "$m_veth" "$T_VETH"
printf '%-44s %8s Gbit/s   (%s)\n' "root: host loopback" "$m_lo" "$T_LO"
echo "veth/loopback: $(ratio "$m_veth" "$m_lo") (target >= 0.8)"

# ---- rootless: pasta against slirp4netns ----
[ "$ROOTLESS" = 1 ] || exit 0
if ! command -v useradd >/dev/null || ! command -v newuidmap >/dev/null; then
	echo "rootless: skipped (useradd or newuidmap missing)"
	exit 0
fi
rootless_user_make hkthr$$ $((1500000000 + ($$ % 1000) * 1000000))
cp "$TMP/iperf.tar" "$RL_DIR/iperf.tar"
chmod 644 "$RL_DIR/iperf.tar"
as_user import "$RL_DIR/iperf.tar" iperf:bench >/dev/null || hb_die "rootless husk import failed"
# a PATH with no pasta: husk falls back to slirp4netns
mkdir "$RL_DIR/nopasta"
for p in newuidmap newgidmap slirp4netns; do ln -s "$(command -v $p)" "$RL_DIR/nopasta/"; done
# rootless_rate WAY PORT: one transfer, the server in a container published
# on PORT, the host's client receiving (-R).
rootless_rate() {
	local path=/usr/sbin:/usr/bin:/sbin:/bin out=NA
	[ "$1" = pasta ] || path=$RL_DIR/nopasta
	RL_PATH=$path as_user run -d --name thr --network bridge -p "$2:5201" iperf:bench \
		/usr/bin/iperf3 -s >/dev/null || { echo NA; return; }
	# the port is forwarded before the server listens: retried until it answers
	for _ in $(seq 25); do
		out=$("$IPERF" -c 127.0.0.1 -p "$2" -R -t "$SECS" -J 2>/dev/null | gbits) && [ -n "$out" ] &&
			[ "$out" != 0.00 ] && break
		out=NA
		sleep 0.2
	done
	as_user rm -f thr >/dev/null 2>&1
	echo "$out"
}
T_PASTA= T_SLIRP=
command -v pasta >/dev/null || echo "rootless: no pasta (package passt)"
command -v slirp4netns >/dev/null || echo "rootless: no slirp4netns"
for r in $(seq "$ROUNDS"); do
	! command -v pasta >/dev/null || T_PASTA+="$(rootless_rate pasta 15203) "
	! command -v slirp4netns >/dev/null || T_SLIRP+="$(rootless_rate slirp4netns 15204) "
done
m_pasta=$(echo "$T_PASTA" | median)
m_slirp=$(echo "$T_SLIRP" | median)
printf '%-44s %8s Gbit/s   (%s)\n' "rootless: container -> host, pasta" "${m_pasta:-NA}" "$T_PASTA"
printf '%-44s %8s Gbit/s   (%s)\n' "rootless: container -> host, slirp4netns" "${m_slirp:-NA}" "$T_SLIRP"
[ -z "$m_pasta" ] || [ -z "$m_slirp" ] || echo "pasta/slirp4netns: $(ratio "$m_pasta" "$m_slirp")"
echo "$ROUNDS rounds of $SECS s (median)"
