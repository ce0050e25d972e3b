#!/usr/bin/env bats
# podman as a real client of husk-runtime: a busybox image imported into a
# private podman store, run with --runtime husk-runtime. Everything podman
# keeps (storage, run state, tmp, network config) lives under one directory
# that teardown_file resets and removes.
load helpers
bats_require_minimum_version 1.5.0

# podman with the private store; cgroupfs and file events need no systemd.
pm() {
	timeout 120 podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" --tmpdir "$PM_DIR/tmp" \
		--network-config-dir "$PM_DIR/net" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file "$@"
}

# What every `podman run` here gets: no network (no test needs one, and the
# default bridge would go through CNI, iptables and the host's bridge and veth
# support: a host where that is broken would fail the runc probe and skip
# every test, and each run leaves the bridge and NAT rules behind), and
# explicit ulimits (the defaults need CAP_SYS_RESOURCE, which this machine's
# root lacks, and would fail with any runtime).
RUN_OPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# pm_run RUNTIME ARGS...: `podman run --rm` of the imported image with RUN_OPTS.
pm_run() {
	local rt=$1
	shift
	pm --runtime "$rt" run --rm "${RUN_OPTS[@]}" "$@"
}

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v podman >/dev/null || return 0
	export PM_DIR=$BATS_FILE_TMPDIR/podman
	mkdir -p "$PM_DIR/tmp" "$PM_DIR/net"
	# cgroups podman makes for itself, removed in teardown_file if they are new
	PM_CGROUPS_BEFORE=$(find /sys/fs/cgroup -maxdepth 3 -type d -path '*libpod_parent*' 2>/dev/null | sort)
	export PM_CGROUPS_BEFORE
	# podman's host-wide caches and network state: removed after if new
	PM_HOST_DIRS_NEW=
	local d
	for d in /var/lib/containers/cache /run/containers /run/libpod; do
		[ -e "$d" ] || PM_HOST_DIRS_NEW+=" $d"
	done
	export PM_HOST_DIRS_NEW
	tar -C "$(shared_rootfs)" -c . | pm import - localhost/husk-busybox >/dev/null 2>"$PM_DIR/import.err" ||
		export PM_BROKEN="podman import failed: $(tail -n 1 "$PM_DIR/import.err")"
	if [ -z "${PM_BROKEN:-}" ] && command -v runc >/dev/null; then
		# podman itself must work with a reference runtime, or the tests
		# below would blame husk for podman's problems.
		local out
		out=$(pm_run runc localhost/husk-busybox echo hello 2>&1) ||
			export PM_BROKEN="podman fails with runc too: $(echo "$out" | tail -n 1)"
	fi
}

teardown_file() {
	[ -n "${PM_DIR:-}" ] && [ -d "$PM_DIR" ] || return 0
	local id d
	for id in $(pm ps -aq 2>/dev/null); do
		pm rm -f "$id" >/dev/null 2>&1
	done
	pm system reset -f >/dev/null 2>&1
	# anything still mounted under the store (vfs needs none, but be sure)
	grep -o " ${PM_DIR}[^ ]*" /proc/self/mountinfo | sort -r | while read -r d; do
		umount -l "$d" 2>/dev/null
	done
	rm -rf "$PM_DIR"
	for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -path '*libpod_parent*' 2>/dev/null | sort -r); do
		echo "$PM_CGROUPS_BEFORE" | grep -qx "$d" || rmdir "$d" 2>/dev/null
	done
	for d in ${PM_HOST_DIRS_NEW:-}; do
		rm -rf "$d"
	done
	return 0
}

setup() {
	skip_unless_root
	command -v podman >/dev/null || skip "podman not installed"
	[ -z "${PM_BROKEN:-}" ] || skip "$PM_BROKEN"
}

@test "podman run: echo hello comes back" {
	run pm_run "$HUSK_RUNTIME" localhost/husk-busybox echo hello
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
}

@test "podman run: the exit code of the container process comes back" {
	run pm_run "$HUSK_RUNTIME" localhost/husk-busybox sh -c 'exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
}

@test "podman run: a nonexistent entrypoint exits 127" {
	run -127 pm_run "$HUSK_RUNTIME" localhost/husk-busybox /does/not/exist
	echo "$output"
	[ "$status" -eq 127 ]
	[[ "$output" == */does/not/exist* ]]
	run -127 pm_run "$HUSK_RUNTIME" localhost/husk-busybox no-such-command
	echo "$output"
	[ "$status" -eq 127 ]
}

@test "podman run: env, workdir, user and hostname reach the process" {
	run pm_run "$HUSK_RUNTIME" -e FOO=bar -w /tmp --user 1000:1000 --hostname husk-pm \
		localhost/husk-busybox sh -c 'echo $FOO; pwd; id -u; id -g; hostname'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "bar /tmp 1000 1000 husk-pm" ]
}

@test "podman run -d, logs, stop and rm go through create/start/state/kill/delete" {
	local id
	id=$(pm --runtime "$HUSK_RUNTIME" run -d "${RUN_OPTS[@]}" \
		localhost/husk-busybox sh -c 'echo started; sleep 100')
	[ -n "$id" ]
	[ "$(pm inspect -f '{{.State.Status}}' "$id")" = running ]
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(pm logs "$id")" = started ] && break
		sleep 0.1
	done
	[ "$(pm logs "$id")" = started ]
	pm --runtime "$HUSK_RUNTIME" stop -t 1 "$id"
	[ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 137" ]
	pm --runtime "$HUSK_RUNTIME" rm "$id"
	[ -z "$(pm ps -aq)" ]
}
