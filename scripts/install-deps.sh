#!/bin/bash
# Installs what husk needs on Debian 12: `--build` (compile and run) or
# `--test` (also everything the test suite drives). Installs only what is missing.
set -euo pipefail
BUILD_PKGS=(meson ninja-build pkg-config gcc libjansson-dev libseccomp-dev busybox-static jq uidmap libarchive-dev libssl-dev libmnl-dev libnftables-dev nftables passt)
TEST_PKGS=(bats python3 iproute2 util-linux procps passwd podman conmon containerd crun runc
	qemu-system-x86 cpio xz-utils zstd kmod time clang libclang-rt-14-dev skopeo strace fuse-overlayfs curl slirp4netns
	iperf3) # iperf3: bench/net-throughput.sh

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = --test ] && want+=("${TEST_PKGS[@]}")
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
