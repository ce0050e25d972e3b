# Shared helpers for the bats integration tests.
#
# Each test gets a private state root ($HUSK_ROOT) and bundle dir ($BUNDLE)
# under $BATS_TEST_TMPDIR; teardown deletes every container left in that root
# so nothing leaks onto the machine (mounts, cgroups, state).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HUSK_RUNTIME=${HUSK_RUNTIME:-$REPO/build/src/runtime/husk-runtime}
BUSYBOX=${BUSYBOX:-$(command -v busybox || echo /bin/busybox)}
# A read-only busybox rootfs shared by all tests of a run (built once).
ROOTFS_CACHE=${ROOTFS_CACHE:-${BATS_RUN_TMPDIR:-/tmp}/husk-rootfs}

skip_unless_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# build_rootfs DIR: a busybox-static rootfs with an applet link per command.
build_rootfs() {
	local d=$1 a
	mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,home,var/tmp}
	cp "$BUSYBOX" "$d/bin/busybox"
	for a in $("$BUSYBOX" --list-full); do
		[ -e "$d/$a" ] || ln -s /bin/busybox "$d/$a"
	done
	chmod 1777 "$d/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"$d/etc/group"
}

shared_rootfs() {
	if [ ! -x "$ROOTFS_CACHE/bin/busybox" ]; then
		local tmp
		tmp=$(mktemp -d "${ROOTFS_CACHE}.XXXXXX")
		build_rootfs "$tmp"
		chmod 755 "$tmp"
		mv -T "$tmp" "$ROOTFS_CACHE" 2>/dev/null || rm -rf "$tmp"
	fi
	echo "$ROOTFS_CACHE"
}

husk() { "$HUSK_RUNTIME" --root "$HUSK_ROOT" "$@"; }

# setup_bundle [--rootless]: $BUNDLE/config.json from `husk-runtime spec`, with
# a private copy of the rootfs (tests may write into it), terminal off, and a
# unique cgroupsPath so tests can find their cgroup.
setup_bundle() {
	HUSK_ROOT=$BATS_TEST_TMPDIR/state
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	mkdir -p "$BUNDLE" "$HUSK_ROOT"
	cp -a "$(shared_rootfs)" "$BUNDLE/rootfs"
	(cd "$BUNDLE" && "$HUSK_RUNTIME" spec "$@") || return 1
	CGROUP_NAME=husk-test-$$-$BATS_TEST_NUMBER
	update_config '.process.terminal = false | .process.args = ["/bin/true"]'
	if [ "$(id -u)" = 0 ]; then
		update_config ".linux.cgroupsPath = \"/$CGROUP_NAME\""
	fi
}

# update_config JQ-FILTER: edit $BUNDLE/config.json in place.
update_config() {
	jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARG...: process.args
set_args() {
	local json='[]' a
	# one --arg per element: jq 1.6 mis-parses option-like positional args
	# and stops raw input at a NUL byte
	for a in "$@"; do json=$(jq -c --arg a "$a" '. + [$a]' <<<"$json"); done
	update_config ".process.args = $json"
}

# run_ctr ID ARG...: run the bundle in the foreground with the given args.
run_ctr() {
	local id=$1
	shift
	set_args "$@"
	run husk run -b "$BUNDLE" "$id"
}

# wait_status ID STATUS [TRIES]
wait_status() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		[ "$(husk state "$1" 2>/dev/null | jq -r .status)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

cleanup_containers() {
	[ -n "${HUSK_ROOT:-}" ] && [ -d "$HUSK_ROOT" ] || return 0
	local id
	for id in $(ls "$HUSK_ROOT" 2>/dev/null); do
		"$HUSK_RUNTIME" --root "$HUSK_ROOT" delete -f "$id" >/dev/null 2>&1
	done
	if [ -n "${CGROUP_NAME:-}" ]; then
		local d
		for d in /sys/fs/cgroup/*/"$CGROUP_NAME" /sys/fs/cgroup/"$CGROUP_NAME"; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
	fi
	return 0
}

# cgroup_dirs: every cgroup directory named $CGROUP_NAME on this machine.
cgroup_dirs() {
	find /sys/fs/cgroup -maxdepth 3 -type d -name "$CGROUP_NAME" 2>/dev/null
}

teardown() { cleanup_containers; }
