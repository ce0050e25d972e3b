#!/usr/bin/env bats
# Bad input: every mistake gets a one-line error that names the field (or the
# program, option or command), a non-zero exit, and leaves nothing behind: no
# state directory, no cgroup, no mount of the bundle on the host. Each config
# error is tried with both `create` and `run`.
load helpers
bats_require_minimum_version 1.5.0

# --- local helpers ----------------------------------------------------------

# Every runtime call is bounded (husk() in helpers.bash): a hung runtime
# fails the test (status 124) instead of hanging the whole run. A hang
# detector, not a speed limit: far above what a call takes on a slow or
# loaded machine, under ASan or in the emulated guest, and far below bats'
# per-test limit (HUSK_TEST_TIMEOUT, 300 s in tests/run.sh).
HUSK_TIMEOUT=${HUSK_TIMEOUT:-60}

# one_line_error WORD...: the last `run` failed (not by our timeout) and
# printed exactly one line containing every WORD.
one_line_error() {
	local w
	echo "status $status: $output"
	assert_failed || return 1
	if [ "${#lines[@]}" -ne 1 ]; then
		echo "expected one line, got ${#lines[@]}"
		return 1
	fi
	for w in "$@"; do
		if [[ "$output" != *"$w"* ]]; then
			echo "the error does not mention [$w]"
			return 1
		fi
	done
}

# expect_error WORD...: create and run of $BUNDLE both fail that way, and
# leave nothing behind.
expect_error() {
	local cmd
	for cmd in create run; do
		run hcmd "$cmd" -b "$BUNDLE" bad
		one_line_error "$@"
		assert_gone
	done
}

# expect_bad_config JQ-FILTER WORD...
expect_bad_config() {
	update_config "$1"
	shift
	expect_error "$@"
}

setup() {
	skip_unless_root
	setup_bundle
}

teardown() {
	cleanup_containers
	# the cgroupsPath test may leave "pids/$CGROUP_NAME" in each hierarchy
	if [ -n "${PRE_PIDS_DIRS+set}" ] && [ -n "${CGROUP_NAME:-}" ]; then
		local d
		for d in /sys/fs/cgroup/*/pids/"$CGROUP_NAME" /sys/fs/cgroup/"$CGROUP_NAME"; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
		for d in /sys/fs/cgroup/*/pids; do
			[ -d "$d" ] && ! grep -qxF "$d" <<<"$PRE_PIDS_DIRS" && rmdir "$d" 2>/dev/null
		done
	fi
	kill_strays "${HUSK_ROOT:-}"
}

# --- the bundle ---------------------------------------------------------------

@test "errors: missing config.json" {
	rm "$BUNDLE/config.json"
	expect_error config.json "No such file or directory"
}

@test "errors: bundle directory that does not exist" {
	BUNDLE=$BATS_TEST_TMPDIR/no-such-bundle
	expect_error no-such-bundle
}

@test "errors: malformed JSON" {
	head -c 200 "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
	expect_error config.json "invalid JSON" line
}

@test "errors: missing ociVersion" {
	expect_bad_config 'del(.ociVersion)' ociVersion
}

@test "errors: rootfs that does not exist" {
	expect_bad_config '.root.path = "no-such-rootfs"' root.path no-such-rootfs
}

@test "errors: no process" {
	expect_bad_config 'del(.process)' process
}

# --- process ------------------------------------------------------------------

@test "errors: empty process.args" {
	expect_bad_config '.process.args = []' process.args
}

@test "errors: process.args of the wrong type" {
	expect_bad_config '.process.args = "sh"' process.args
}

@test "errors: relative process.cwd" {
	expect_bad_config '.process.cwd = "relative/dir"' process.cwd relative/dir
}

@test "errors: process.terminal of the wrong type" {
	expect_bad_config '.process.terminal = "yes"' process.terminal
}

@test "errors: process.env entry without =" {
	expect_bad_config '.process.env += ["NOEQUALS"]' process.env NOEQUALS
}

@test "errors: negative process.user.uid" {
	expect_bad_config '.process.user.uid = -1' process.user.uid
}


@test "errors: entrypoint not found in \$PATH" {
	expect_bad_config '.process.args = ["no-such-program"]' no-such-program 'executable file not found in $PATH'
}

@test "errors: entrypoint path that does not exist" {
	expect_bad_config '.process.args = ["/no/such/program"]' /no/such/program "no such file or directory"
}

@test "errors: entrypoint that is not executable" {
	printf '#!/bin/sh\necho hi\n' >"$BUNDLE/rootfs/not-exec"
	chmod 644 "$BUNDLE/rootfs/not-exec"
	expect_bad_config '.process.args = ["/not-exec"]' /not-exec "permission denied"
	# found on $PATH but not executable: the same
	cp -a "$BUNDLE/rootfs/not-exec" "$BUNDLE/rootfs/bin/not-exec"
	expect_bad_config '.process.args = ["not-exec"]' not-exec "permission denied"
}

@test "errors: an rlimit above the hard limit without CAP_SYS_RESOURCE" {
	capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
	if (((0x$capeff >> 24) & 1)); then
		skip "this runtime has CAP_SYS_RESOURCE: raising a hard limit works"
	fi
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "RLIMIT_NOFILE has no hard limit here"
	expect_bad_config ".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard + 1)), \"hard\": $((hard + 1))}]" \
		RLIMIT_NOFILE CAP_SYS_RESOURCE
}

# --- linux --------------------------------------------------------------------

@test "errors: unknown namespace type" {
	expect_bad_config '.linux.namespaces += [{"type": "bogus"}]' linux.namespaces bogus
}

@test "errors: duplicate namespace" {
	expect_bad_config '.linux.namespaces += [{"type": "pid"}]' linux.namespaces duplicate pid
}

@test "errors: uidMappings without a user namespace" {
	expect_bad_config '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000}]' uidMappings "user namespace"
}

@test "errors: overlapping id mappings" {
	expect_bad_config '.linux.namespaces += [{"type": "user"}] |
		.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000},
			{"containerID": 500, "hostID": 300000, "size": 10}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000}]' uidMappings overlaps
}

@test "errors: overlapping host ids in the mappings" {
	expect_bad_config '.linux.namespaces += [{"type": "user"}] |
		.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 1000},
			{"containerID": 2000, "hostID": 100500, "size": 10}]' gidMappings overlaps
}

@test "errors: hostname without a uts namespace" {
	expect_bad_config 'del(.linux.namespaces[] | select(.type == "uts")) | .hostname = "box"' hostname uts
}

@test "errors: namespace path that does not exist" {
	expect_bad_config '.linux.namespaces |= map(select(.type != "network")) + [{"type": "network", "path": "/no/such/netns"}]' \
		linux.namespaces /no/such/netns
}

@test "errors: unknown sysctl" {
	expect_bad_config '.linux.sysctl = {"kernel.no_such_sysctl": "1"}' linux.sysctl kernel.no_such_sysctl
}

@test "errors: resources of the wrong type" {
	expect_bad_config '.linux.resources.memory.limit = "lots"' linux.resources.memory.limit
}

@test "errors: a linux.cgroupsPath with .. cannot leave the cgroup hierarchies" {
	# runc cleans the path lexically ("/../pids/x" is "/pids/x" in every
	# hierarchy); rejecting it is fine too. Joined as given, "/sys/fs/cgroup/
	# cpu/../pids/x" puts the container in the pids hierarchy's cgroup for
	# every controller and leaves it in the root cgroup of all the others
	# (cpu, memory, devices, ...): no limits, no device allowlist.
	grep -q ' - cgroup cgroup ' /proc/self/mountinfo || skip "needs cgroup v1 hierarchies"
	[ -d /sys/fs/cgroup/pids ] || skip "needs the v1 pids hierarchy"
	PRE_PIDS_DIRS=$(ls -d /sys/fs/cgroup/*/pids 2>/dev/null || true)
	update_config ".linux.cgroupsPath = \"/../pids/$CGROUP_NAME\""
	set_args sleep 100
	run hcmd run -d -b "$BUNDLE" esc
	if [ "$status" -ne 0 ]; then
		one_line_error linux.cgroupsPath
		assert_gone
		return
	fi
	pid=$(husk state esc | jq -r .pid)
	cat "/proc/$pid/cgroup"
	# every v1 controller hierarchy: the same, cleaned path
	grep -E '^[0-9]+:[a-z_,]+:' "/proc/$pid/cgroup" | while IFS=: read -r _ ctl path; do
		if [ "$path" != "/pids/$CGROUP_NAME" ]; then
			echo "controller $ctl: cgroup $path, not /pids/$CGROUP_NAME"
			exit 1
		fi
	done
	run husk delete -f esc
	[ "$status" -eq 0 ]
}

@test "errors: device with a bad type" {
	expect_bad_config '.linux.devices = [{"path": "/dev/bogus", "type": "x", "major": 1, "minor": 3}]' linux.devices type
}

@test "errors: device with a relative path" {
	expect_bad_config '.linux.devices = [{"path": "dev/null2", "type": "c", "major": 1, "minor": 3}]' linux.devices path dev/null2
}

# --- mounts and hooks -----------------------------------------------------------

@test "errors: mount with a relative destination" {
	expect_bad_config '.mounts += [{"destination": "relative/mnt", "type": "tmpfs", "source": "tmpfs"}]' \
		destination relative/mnt
}

@test "errors: bind mount whose source does not exist" {
	expect_bad_config '.mounts += [{"destination": "/mnt", "type": "none", "source": "/no/such/source", "options": ["rbind"]}]' \
		mounts /no/such/source
}

@test "errors: hook with a relative path" {
	expect_bad_config '.hooks.prestart = [{"path": "relative/hook"}]' hooks.prestart path relative/hook
}

# --- the command line -----------------------------------------------------------

@test "errors: kill with a bad signal name leaves the container alone" {
	set_args sleep 100
	run hcmd run -d -b "$BUNDLE" k1
	[ "$status" -eq 0 ]
	for sig in FOO SIGFOO 99 -9 ''; do
		run husk kill k1 "$sig"
		one_line_error signal "$sig"
	done
	run husk state k1
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = running ]
}

@test "errors: unknown global option" {
	run husk --bogus-option list
	one_line_error --bogus-option
}

@test "errors: unknown command" {
	run husk frobnicate
	one_line_error frobnicate
	run "$HUSK_RUNTIME"
	[ "$status" -ne 0 ]
}

@test "errors: unknown option of a command" {
	run husk create --bogus-flag -b "$BUNDLE" x
	one_line_error --bogus-flag
	assert_gone
}

@test "errors: commands given no container id" {
	for cmd in create start state kill delete; do
		run husk $cmd
		one_line_error
	done
	assert_gone
}

@test "errors: operations on a container that does not exist" {
	for cmd in start state kill delete; do
		run husk $cmd ghost
		one_line_error ghost "does not exist"
	done
}

@test "errors: a seccomp profile libseccomp never finishes compiling fails after the deadline, leaving nothing" {
	# libseccomp 2.5.4 loops for ever on this shape (tests/fuzz/README.md);
	# a libseccomp without the bug compiles it, and the container runs
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [
			{"index": 3, "value": 1, "op": "SCMP_CMP_GE"},
			{"index": 3, "value": 3, "op": "SCMP_CMP_NE"},
			{"index": 1, "value": 3, "op": "SCMP_CMP_GT"}]}]}'
	set_args true
	# without the runtime's own deadline (3 s) the run hangs until
	# HUSK_TIMEOUT: status 124, which one_line_error refuses
	run hcmd run -b "$BUNDLE" hang
	if [ "$status" -eq 0 ]; then
		skip "this libseccomp ($(dpkg-query -W -f '${Version}' libseccomp2 2>/dev/null)) compiles the shape"
	fi
	one_line_error linux.seccomp "did not finish compiling the filter"
	assert_gone
}
