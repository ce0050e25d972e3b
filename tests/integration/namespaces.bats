#!/usr/bin/env bats
# Each namespace in linux.namespaces isolates what config-linux.md says it
# does, observed from inside the container; a namespace that is not listed is
# shared with the host.
load helpers

setup() {
	skip_unless_root
	setup_bundle
	NETNS=
	IPC_QUEUE=
}

# A created container's init that never got started is killed here, before
# cleanup_containers deletes it; it is ours when it sits in our cgroup.
kill_created_inits() {
	local f pid
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		grep -q "/$CGROUP_NAME\$" "/proc/$pid/cgroup" 2>/dev/null && kill -9 "$pid"
	done
	return 0
}

teardown() {
	kill_created_inits
	cleanup_containers
	[ -n "$NETNS" ] && ip netns del "$NETNS" 2>/dev/null
	[ -n "$IPC_QUEUE" ] && ipcrm -q "$IPC_QUEUE" 2>/dev/null
	return 0
}

# husk_t: husk with a time limit, so a hung runtime fails the test instead of
# hanging the run.
husk_t() { timeout 20 "$HUSK_RUNTIME" --root "$HUSK_ROOT" "$@"; }

# run_bg ID ARG...: run the bundle detached (run -d); the container's output
# goes to $BATS_TEST_TMPDIR/ID.out.
run_bg() {
	local id=$1
	shift
	set_args "$@"
	husk_t run -d -b "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/$id.out" 2>&1
}

ctr_pid() { husk_t state "$1" | jq -r .pid; }

# wait_file PATH: up to 5 s for PATH to exist.
wait_file() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_lines FILE N: up to 5 s for FILE to have N lines.
wait_lines() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# A user namespace's root must be able to reach the bundle: let others
# search every directory above it (bats makes them 0700).
open_path_to_bundle() {
	local d=$BUNDLE
	while [ "$d" != / ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# (without its own network namespace, the default ping_group_range sysctl
# would be the host's: it goes too)
without_ns() {
	update_config ".linux.namespaces |= map(select(.type != \"$1\"))"
	[ "$1" != network ] || update_config 'del(.linux.sysctl)'
}

@test "uts: hostname and domainname come from the config; the host's stay" {
	local host_name host_domain
	host_name=$(hostname)
	host_domain=$(cat /proc/sys/kernel/domainname)
	update_config '.hostname = "husk-box" | .domainname = "husk.example"'
	run_ctr uts sh -c 'hostname; cat /proc/sys/kernel/domainname'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = husk-box ]
	[ "${lines[1]}" = husk.example ]
	[ "$(hostname)" = "$host_name" ]
	[ "$(cat /proc/sys/kernel/domainname)" = "$host_domain" ]
}

@test "pid: the process is pid 1 and sees only the container's processes" {
	run_ctr pid sh -c 'echo $$; ls /proc | grep -c "^[0-9][0-9]*$"; ps -o pid'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	# sh, ls and grep at most.
	[ "${lines[1]}" -le 3 ]
	# ps is the last command, which sh execs: it is pid 1 and alone.
	[ "${lines[2]}" = PID ]
	[ "$(echo ${lines[3]})" = 1 ]
	[ "${#lines[@]}" -eq 4 ]
	# the host sees the container's processes under other pids
	[ "$(echo "$output" | grep -c .)" -eq 4 ]
}

@test "ipc: a message queue created on the host is invisible inside" {
	command -v ipcmk >/dev/null || skip "util-linux ipcmk not installed"
	IPC_QUEUE=$(ipcmk -Q | grep -o '[0-9]*$')
	[ -n "$IPC_QUEUE" ]
	# /proc/sysvipc/msg lists the queues of the reader's IPC namespace (the
	# busybox here has no ipcs).
	awk 'NR > 1 {print $2}' /proc/sysvipc/msg | grep -qx "$IPC_QUEUE"
	run_ctr ipc cat /proc/sysvipc/msg
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *msqid* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "network: only lo exists in a new network namespace" {
	run_ctr net sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	[ "$status" -eq 0 ]
	[ "$output" = lo ]
}

@test "network: without a network namespace the host's interfaces are visible" {
	local host_ifs
	host_ifs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort)
	[ "$(echo "$host_ifs" | wc -l)" -ge 2 ] || skip "the host has only lo"
	without_ns network
	run_ctr hostnet sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort'
	[ "$status" -eq 0 ]
	[ "$output" = "$host_ifs" ]
}

@test "network: joining a namespace by path sees its interfaces" {
	command -v ip >/dev/null || skip "iproute2 not installed"
	NETNS=husk-test-$$-$BATS_TEST_NUMBER
	ip netns add "$NETNS"
	# a veth pair with both ends inside (the dummy driver may be missing);
	# without veth, an address on the namespace's lo marks it
	local dev=husk-v0
	if ! ip -n "$NETNS" link add husk-v0 type veth peer name husk-v1 2>/dev/null; then
		dev=lo
	fi
	ip -n "$NETNS" addr add 10.199.77.1/24 dev "$dev"
	ip -n "$NETNS" link set "$dev" up
	update_config ".linux.namespaces |= map(if .type == \"network\" then .path = \"/run/netns/$NETNS\" else . end)"
	run_ctr joinnet sh -c 'ip -4 addr show; readlink /proc/self/ns/net'
	[ "$status" -eq 0 ]
	[[ "$output" == *"$dev"* ]]
	[[ "$output" == *10.199.77.1/24* ]]
	[ "${lines[-1]}" = "net:[$(stat -L -c %i "/run/netns/$NETNS")]" ]
	# the host does not have it
	! ip -4 addr show | grep -q 10.199.77.1 || false
}

@test "mount: a mount made inside does not appear on the host" {
	local tag=husk-probe-$$-$BATS_TEST_NUMBER pid
	update_config '.root.readonly = false | del(.linux.seccomp)
		| .process.capabilities.bounding += ["CAP_SYS_ADMIN"]
		| .process.capabilities.effective += ["CAP_SYS_ADMIN"]
		| .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	run_bg mnt sh -c "mkdir -p /mnt/probe && mount -t tmpfs $tag /mnt/probe && touch /ready; sleep 60"
	wait_file "$BUNDLE/rootfs/ready"
	pid=$(ctr_pid mnt)
	grep -q " $tag " "/proc/$pid/mountinfo"
	! grep -q "$tag" /proc/self/mountinfo || false
	! grep -q "$tag" /proc/1/mountinfo || false
}

@test "cgroup: /proc/self/cgroup shows the container's cgroup as /" {
	run_ctr cgns cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -gt 0 ]
	local l
	for l in "${lines[@]}"; do
		[[ "$l" == *:/ ]] || {
			echo "not at the root: $l"
			return 1
		}
	done
}

@test "cgroup: without a cgroup namespace the host path of the cgroup shows" {
	without_ns cgroup
	run_ctr nocgns cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[[ "$output" == *"/$CGROUP_NAME"* ]]
}

@test "user: uid 0 inside is the mapped host uid outside" {
	local pid
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	open_path_to_bundle
	run_bg userns sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; sleep 60'
	pid=$(ctr_pid userns)
	wait_lines "$BATS_TEST_TMPDIR/userns.out" 4
	run cat "$BATS_TEST_TMPDIR/userns.out"
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "$(echo ${lines[2]})" = "0 100000 65536" ]
	[ "$(echo ${lines[3]})" = "0 200000 65536" ]
	[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" = "100000 100000 100000 100000" ]
	[ "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" = "200000 200000 200000 200000" ]
	[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ]
}

@test "user: after create, state's pid is the init and it runs as the mapped uid" {
	local pid
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	open_path_to_bundle
	set_args sleep 60
	husk_t create -b "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/ucreate.pid" ucreate \
		</dev/null >"$BATS_TEST_TMPDIR/ucreate.out" 2>&1
	run husk_t state ucreate
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = created ]
	pid=$(echo "$output" | jq -r .pid)
	[ "$pid" = "$(cat "$BATS_TEST_TMPDIR/ucreate.pid")" ]
	[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" = "100000 100000 100000 100000" ]
	[ "$(cat "/proc/$pid/uid_map" | xargs)" = "0 100000 65536" ]
	husk_t start ucreate
	wait_status ucreate running
	[ "$(cat "/proc/$pid/comm")" = sleep ]
}

@test "time: timeOffsets shift the boottime and monotonic clocks inside" {
	[ -e /proc/self/ns/time ] || skip "the kernel has no time namespaces"
	local host_up
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0},
					"monotonic": {"secs": 432000, "nanosecs": 0}}'
	host_up=$(cut -d. -f1 /proc/uptime)
	run_ctr timens sh -c 'cut -d. -f1 /proc/uptime; cat /proc/self/timens_offsets'
	[ "$status" -eq 0 ]
	# uptime is boottime: 10 days more than the host's.
	[ "${lines[0]}" -ge $((host_up + 864000)) ]
	[ "${lines[0]}" -le $((host_up + 864000 + 30)) ]
	[ "$(echo ${lines[1]})" = "monotonic 432000 0" ]
	[ "$(echo ${lines[2]})" = "boottime 864000 0" ]
	[ "$(cut -d. -f1 /proc/uptime)" -lt $((host_up + 100)) ]
}

@test "namespaces not listed are shared with the host" {
	local pid ns
	update_config 'del(.hostname) | del(.linux.sysctl) | .linux.namespaces = [{"type": "mount"}]'
	run_bg shared sleep 60
	pid=$(ctr_pid shared)
	for ns in pid ipc uts net cgroup user; do
		[ "$(readlink "/proc/$pid/ns/$ns")" = "$(readlink /proc/self/ns/$ns)" ] || {
			echo "$ns namespace is not the host's"
			return 1
		}
	done
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
}

@test "namespaces listed get a new one each" {
	local pid ns
	run_bg fresh sleep 60
	pid=$(ctr_pid fresh)
	for ns in pid ipc uts net cgroup mnt; do
		[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink /proc/self/ns/$ns)" ] || {
			echo "$ns namespace is the host's"
			return 1
		}
	done
}

@test "no namespace at all: every one is the host's, the process chrooted into the rootfs, nothing mounted" {
	local pid ns mounts_before
	mounts_before=$(grep -c . /proc/self/mountinfo)
	update_config 'del(.hostname) | del(.linux.sysctl) | .linux.namespaces = []'
	run_bg hostns sleep 60
	pid=$(ctr_pid hostns)
	for ns in mnt pid ipc uts net cgroup user; do
		[ "$(readlink "/proc/$pid/ns/$ns")" = "$(readlink /proc/self/ns/$ns)" ] || {
			echo "$ns namespace is not the host's"
			return 1
		}
	done
	# chrooted: its root is the bundle's rootfs
	[ "$(readlink "/proc/$pid/root")" = "$(readlink -f "$BUNDLE/rootfs")" ]
	# and nothing of the config's mounts landed in the host's mount table
	[ "$(grep -c . /proc/self/mountinfo)" = "$mounts_before" ]
	! grep -qF "$BUNDLE" /proc/self/mountinfo || false
	husk delete -f hostns
	[ "$(grep -c . /proc/self/mountinfo)" = "$mounts_before" ]
}

@test "no namespace at all: a terminal is refused (its console is a mount)" {
	update_config 'del(.hostname) | del(.linux.sysctl) | .linux.namespaces = [] | .process.terminal = true'
	run husk run -b "$BUNDLE" hostnst
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.terminal: needs a mount namespace"* ]]
	assert_gone hostnst
}

@test "user: a bind source below a directory only the host's root may enter is mounted" {
	# runc and crun open every bind source before the container enters its
	# user namespace; its mapped root could not reach this one.
	local secret=$BATS_TEST_TMPDIR/secret
	mkdir -p "$secret/vol"
	echo from-host >"$secret/vol/file"
	chmod 700 "$secret"
	chmod 755 "$secret/vol"
	chmod 644 "$secret/vol/file"
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .mounts += [{"destination": "/home", "type": "bind", "source": "'"$secret/vol"'", "options": ["rbind", "ro"]},
			{"destination": "/tmp/one", "type": "bind", "source": "'"$secret/vol/file"'", "options": ["bind"]}]'
	open_path_to_bundle
	# (destinations the mapped root may create or find in the rootfs)
	run_ctr usecret sh -c 'cat /home/file /tmp/one; touch /home/x 2>&1; awk "\$5 == \"/home\" {print \$6}" /proc/self/mountinfo'
	echo "$output"
	[ "${lines[0]}" = from-host ]
	[ "${lines[1]}" = from-host ]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
	[[ "${lines[3]}" == ro,* ]]
	[ ! -e "$secret/vol/x" ]
	assert_gone
}

@test "user: a bind source that does not exist fails before anything is created" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .mounts += [{"destination": "/vol", "type": "bind", "source": "/no/such/source", "options": ["rbind"]}]'
	open_path_to_bundle
	run hcmd run -b "$BUNDLE" unosrc
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"mounts["*"/no/such/source"*"No such file or directory"* ]]
	assert_gone
}
