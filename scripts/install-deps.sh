#!/bin/bash
# Installs what husk needs on Debian 12: `--build` (compile and run),
# `--test` (also everything the test suite drives) or `--bench` (also what
# bench/ compares husk with: the test suite's engines and docker.io, whose
# dockerd bench/engine.sh starts privately). Installs only what is missing.
set -euo pipefail
BUILD_PKGS=(meson ninja-build pkg-config gcc libjansson-dev libseccomp-dev busybox-static jq uidmap libarchive-dev libssl-dev libmnl-dev libnftables-dev nftables passt musl-tools)
TEST_PKGS=(bats python3 iproute2 util-linux procps passwd podman conmon containerd crun runc
	qemu-system-x86 cpio xz-utils zstd kmod time clang libclang-rt-14-dev skopeo strace fuse-overlayfs curl slirp4netns)
# bench/: docker.io (bench/engine.sh's private dockerd), iperf3 (bench/net-throughput.sh)
BENCH_PKGS=(docker.io iperf3)

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = --test ] && want+=("${TEST_PKGS[@]}")
[ "${1:-}" = --bench ] && want+=("${TEST_PKGS[@]}" "${BENCH_PKGS[@]}")
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
# docker.io's own dockerd service is never wanted (it would make docker0
# and iptables rules): not started by the install (policy-rc.d, unless the
# machine has one), and disabled where systemd runs.
if [[ " ${missing[*]} " == *" docker.io "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" docker.io "* ]] && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
fi
