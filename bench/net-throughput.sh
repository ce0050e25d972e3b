#!/bin/bash
# bench/net-throughput.sh - TCP throughput of a container to the host, by
# iperf3 (package iperf3), SECS seconds a transfer, the median of ROUNDS:
#   1. root: a client in a container on a bridge network (veth, bridge) to
#      a server on the host bound to the gateway, against the same client
#      and server on the host's loopback, side by side in the same rounds;
#      Gbit/s and the ratio of the medians (issue 16's target: >= 0.8):
#      husk's defaults (links of 65520, a default route of 1500: see
#      NET_LINK_MTU_AUTO in src/engine/net.h), husk with `network create
#      -o mtu=N` for each N of MTUS (1500: Docker's defaults), and Docker's bridge network (a dockerd of the bench's own, no
#      iptables) and podman's (CNI bridge, no firewall plugin: nothing left
#      in iptables) with the same client, where they run here;
#   2. rootless (a test user made here and removed after): pasta against
#      slirp4netns, the server in the container published on the host, the
#      host's client in reverse mode (-R: the container sends) over
#      127.0.0.1.
# The container's iperf3 is the host's: it and its libraries (ldd) are
# imported as a tiny image. Rounds interleave the ways, so that the noise
# of a shared machine hits all. Traffic goes to loopback and to the
# bench's containers only. A private store, run root and networks; the
# test user, its /etc/subuid and /etc/subgid lines and the device modes put
# back after. Asserts nothing: exit 0 means it ran, 2 that setup failed.
#   SECS=5 ROUNDS=5 MTUS="1500 9000 65520" DOCKER=1 PODMAN=1 ROOTLESS=1 bench/net-throughput.sh
set -u
HB_NAME=net-throughput
. "$(dirname "$0")/lib.sh"
# podman's crun refuses this VM's hybrid cgroups: a private mount namespace
# with /sys/fs/cgroup/unified detached, as engine.sh
hb_enter_ns "$@"
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-5}
ROOTLESS=${ROOTLESS:-1}
MTUS=${MTUS:-1500 9000 65520}
DOCKER=${DOCKER:-1}
PODMAN=${PODMAN:-1}
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
DK=$TMP/docker
PD=(podman --root "$TMP/podman" --runroot "$TMP/podman-run" --network-config-dir "$TMP/cni"
	--cgroup-manager cgroupfs --storage-driver overlay)
# this VM's hard rlimits are below podman's defaults
PD_RUN=(run --rm --network hkthr --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
PODMAN_USED=
PD_BRIDGE=hkthrpd$$
cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
	"$HUSK" rm -f $("$HUSK" ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1
	"$HUSK" network ls 2>/dev/null | awk -v p="$NET-" 'index($2, p) == 1 {print $2}' |
		xargs -r "$HUSK" network rm >/dev/null 2>&1
	# a dockerd leaves its networks' bridges behind
	[ -z "$HB_DOCKERD_PID" ] || docker -H "unix://$DK/docker.sock" network rm hkthr >/dev/null 2>&1
	hb_dockerd_stop
	if [ -n "$PODMAN_USED" ]; then
		"${PD[@]}" rm -af -t 0 >/dev/null 2>&1
		"${PD[@]}" system reset -f >/dev/null 2>&1
		# the CNI bridge plugin leaves its bridge
		ip link del "$PD_BRIDGE" 2>/dev/null
	fi
	rootless_user_remove >/dev/null 2>&1
	grep -F "$TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | hb_stats | awk '{print $2}'; }
gbits() { jq -r '.end.sum_received.bits_per_second / 1e9' 2>/dev/null | awk '{printf "%.2f", $1} END {if (NR == 0) printf "NA"}'; }
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

# serve ADDR PORT: a one-shot iperf3 server on the host (ended when no
# client came).
serve() {
	timeout $((SECS + 60)) "$IPERF" -s -1 -B "$1" -p "$2" >/dev/null 2>&1 &
	SERVER=$!
	for _ in $(seq 50); do ss -ltn | grep -q "$1:$2 " && return 0; sleep 0.05; done
	return 1
}
unserve() { wait "$SERVER" 2>/dev/null; SERVER=; }

# free_subnet: a /24 of 10.231.0.0/16 that no route of the host's is on
# (Docker's and podman's networks).
free_subnet() {
	local i
	for i in $(seq 100 250); do
		ip -4 route | grep -q "^10\.231\.$i\." || { echo "10.231.$i.0/24"; return 0; }
	done
	return 1
}

# docker_way: Docker's bridge network, its defaults (MTU 1500), as a row.
docker_way() {
	local sub dk=(docker -H "unix://$DK/docker.sock")
	[ "$DOCKER" = 1 ] || return 0
	if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
		echo "docker: skipped (docker.io is not installed)"
		return 0
	fi
	if ! hb_dockerd_start "$DK"; then
		echo "docker: skipped (its dockerd did not start: $(tail -n 1 "$DK/dockerd.log"))"
		return 0
	fi
	if ! sub=$(free_subnet) || ! "${dk[@]}" import "$TMP/iperf.tar" iperf:bench >/dev/null ||
		! "${dk[@]}" network create --subnet "$sub" hkthr >/dev/null; then
		echo "docker: skipped (no image or network)"
		return 0
	fi
	GW[docker]=${sub%0/24}1
	LABEL[docker]="root: docker $("${dk[@]}" version -f '{{.Server.Version}}'), defaults"
	WAYS+=(docker)
}

# podman_way: podman's bridge with its CNI bridge plugin and host-local
# addresses (netavark is not in Debian 12), in a config dir of the bench's:
# no firewall plugin, so nothing is left in iptables; MTU 1500.
podman_way() {
	local sub
	[ "$PODMAN" = 1 ] || return 0
	if ! command -v podman >/dev/null; then
		echo "podman: skipped (not installed)"
		return 0
	fi
	if [ "$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)" != cni ] ||
		! [ -x /usr/lib/cni/bridge ] || ! sub=$(free_subnet); then
		echo "podman: skipped (its network backend is not CNI with /usr/lib/cni/bridge)"
		return 0
	fi
	mkdir -p "$TMP/cni"
	cat >"$TMP/cni/hkthr.conflist" <<-EOF
	{"cniVersion": "0.4.0", "name": "hkthr", "plugins": [{"type": "bridge",
	 "bridge": "$PD_BRIDGE", "isGateway": true, "ipMasq": false,
	 "ipam": {"type": "host-local", "dataDir": "$TMP/cni-ipam",
	  "ranges": [[{"subnet": "$sub", "gateway": "${sub%0/24}1"}]]}}]}
	EOF
	PODMAN_USED=1
	# the first run makes the bridge, where the server binds
	if ! "${PD[@]}" import "$TMP/iperf.tar" iperf:bench >/dev/null 2>&1 ||
		! "${PD[@]}" "${PD_RUN[@]}" iperf:bench /usr/bin/iperf3 -v >/dev/null 2>&1; then
		echo "podman: skipped (it cannot run a container on its bridge here)"
		return 0
	fi
	GW[podman]=${sub%0/24}1
	LABEL[podman]="root: podman $(podman version -f '{{.Client.Version}}') (CNI)"
	WAYS+=(podman)
}

# ---- root: veth and bridge against loopback ----
iperf_image "$TMP/iperf.tar"
"$HUSK" import "$TMP/iperf.tar" iperf:bench >/dev/null || hb_die "husk import failed"
# WAYS: the rows; GW[WAY]: the address its server binds, its client's
# target; husk's ways: their network in HNET[WAY]
declare -A GW=() T=() LABEL=() HNET=()
WAYS=(lo)
GW[lo]=127.0.0.1
LABEL[lo]="root: host loopback"
# run_way WAY PORT: one transfer's Gbit/s (NA when it failed)
run_way() {
	local w=$1 client=(/usr/bin/iperf3 -c "${GW[$1]}" -p "$2" -t "$SECS" -J)
	case $w in
	lo) "$IPERF" "${client[@]:1}" ;;
	docker) docker -H "unix://$DK/docker.sock" run --rm --network hkthr iperf:bench "${client[@]}" ;;
	podman) "${PD[@]}" "${PD_RUN[@]}" iperf:bench "${client[@]}" ;;
	*) "$HUSK" run --rm --network "${HNET[$w]}" iperf:bench "${client[@]}" ;;
	esac | gbits
}
# husk_way WAY LABEL [network create's options]: husk's network of a setting
husk_way() {
	local way=$1
	HNET[$way]=$NET-$way
	LABEL[$way]=$2
	shift 2
	"$HUSK" network create "$@" "${HNET[$way]}" >/dev/null || hb_die "network create $* failed"
	GW[$way]=$("$HUSK" network inspect "${HNET[$way]}" | jq -r '.[0].IPAM.Config[0].Gateway')
	WAYS+=("$way")
}
husk_way husk "root: husk, defaults (65520, route 1500)"
for m in $MTUS; do
	husk_way "husk$m" "root: husk, -o mtu=$m" -o "mtu=$m"
done
docker_way
podman_way

for r in $(seq "$ROUNDS"); do
	for w in "${WAYS[@]}"; do
		serve "${GW[$w]}" 15201 || hb_die "no server on ${GW[$w]}"
		T[$w]+="$(run_way "$w" 15201 || echo NA) "
		unserve
	done
done
m_lo=$(echo "${T[lo]}" | median)
for w in "${WAYS[@]}"; do
	m=$(echo "${T[$w]}" | median | awk '{printf "%.2f", $1}')
	printf '%-40s %6s Gbit/s  ratio %s  (%s)\n' "${LABEL[$w]}" "${m:-NA}" \
		"$(ratio "${m:-0}" "$m_lo")" "${T[$w]% }"
done
echo "ratio: the container's median / loopback's (target >= 0.8); $ROUNDS rounds of $SECS s"

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
