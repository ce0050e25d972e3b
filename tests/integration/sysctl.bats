#!/usr/bin/env bats
# linux.sysctl writes through the container's /proc/sys, which is the host's
# for every key outside a namespace the container has of its own. Such
# configs are refused before anything is created (as runc and crun refuse
# them); every test reads the host's values from the host, before and after.
load helpers
bats_require_minimum_version 1.5.0

# Every runtime call is bounded (husk() in helpers.bash): a hung runtime
# fails the test (status 124). A hang detector, not a speed limit (bats'
# per-test limit is HUSK_TEST_TIMEOUT, 300 s in tests/run.sh).
HUSK_TIMEOUT=${HUSK_TIMEOUT:-60}

setup() {
	skip_unless_root
	setup_bundle
	HOLDER=
}

teardown() {
	if [ -n "${HOLDER:-}" ]; then
		kill "$HOLDER" 2>/dev/null
		wait "$HOLDER" 2>/dev/null
	fi
	cleanup_containers
}

without_ns() { update_config ".linux.namespaces |= map(select(.type != \"$1\"))"; }

# host_value KEY: the host's value, read on the host.
host_value() { cat "/proc/sys/${1//.//}"; }

# refused KEY VALUE WORD...: create and run both fail with one line naming
# the key and every WORD, leave nothing behind, and the host's KEY (and its
# hostname and domainname) are unchanged.
refused() {
	local key=$1 value=$2 before host dom cmd
	shift 2
	before=$(host_value "$key")
	host=$(hostname)
	dom=$(cat /proc/sys/kernel/domainname)
	update_config ".linux.sysctl = {\"$key\": \"$value\"}"
	set_args true
	for cmd in create run; do
		run hcmd "$cmd" -b "$BUNDLE" bad
		echo "$cmd: status $status: $output"
		assert_failed
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"linux.sysctl: \`$key\`"* ]]
		local w
		for w in "$@"; do [[ "$output" == *"$w"* ]]; done
		assert_gone
	done
	[ "$(host_value "$key")" = "$before" ]
	[ "$(hostname)" = "$host" ]
	[ "$(cat /proc/sys/kernel/domainname)" = "$dom" ]
}

@test "sysctl: net.* without a network namespace is refused; the host's value stays" {
	without_ns network
	refused net.ipv4.ping_group_range "0 2147483647" "network namespace"
	# the slash form too
	update_config '.linux.sysctl = {"net/ipv4/ping_group_range": "0 2147483647"}'
	run hcmd run -b "$BUNDLE" bad2
	assert_failed
	[[ "$output" == *"network namespace"* ]]
}

@test "sysctl: fs.mqueue.* and kernel.msg*/sem/shm* without an IPC namespace are refused" {
	without_ns ipc
	refused fs.mqueue.queues_max "$(($(host_value fs.mqueue.queues_max) + 7))" "IPC namespace"
	refused kernel.msgmax "$(($(host_value kernel.msgmax) + 7))" "IPC namespace"
	refused kernel.shm_rmid_forced "$((1 - $(host_value kernel.shm_rmid_forced)))" "IPC namespace"
	refused kernel.sem "250 32000 32 129" "IPC namespace"
}

@test "sysctl: kernel.hostname and kernel.domainname are refused, even with a UTS namespace" {
	refused kernel.hostname husk-sysctl-name "hostname"
	refused kernel.domainname husk-sysctl-domain "domainname"
	without_ns uts
	update_config 'del(.hostname) | del(.domainname)'
	refused kernel.hostname husk-sysctl-name "hostname"
}

@test "sysctl: a key of no namespace is refused" {
	refused vm.swappiness "$(($(host_value vm.swappiness) == 7 ? 8 : 7))" "belongs to no namespace"
	refused kernel.pid_max "$(($(host_value kernel.pid_max) - 1))" "belongs to no namespace"
}

@test "sysctl: joining the host's own namespace by path is refused" {
	update_config ".linux.namespaces |= map(if .type == \"network\" then .path = \"/proc/$$/ns/net\" else . end)"
	refused net.ipv4.ping_group_range "0 2147483647" "is the host's"
	update_config ".linux.namespaces |= map(if .type == \"ipc\" then .path = \"/proc/$$/ns/ipc\" else . end)"
	refused fs.mqueue.msg_max "$(($(host_value fs.mqueue.msg_max) + 1))" "is the host's"
}

@test "sysctl: a joined network namespace of the container's own takes the value" {
	local before
	unshare -n sleep 600 </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	holder_ready() {
		[ "$(cat "/proc/$HOLDER/comm" 2>/dev/null)" = sleep ] &&
			[ "$(readlink "/proc/$HOLDER/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	}
	wait_until 100 holder_ready
	before=$(host_value net.ipv4.ping_group_range)
	update_config ".linux.namespaces |= map(if .type == \"network\" then .path = \"/proc/$HOLDER/ns/net\" else . end)
		| .linux.sysctl = {\"net.ipv4.ping_group_range\": \"0 4242\"}"
	update_config 'del(.linux.readonlyPaths)'
	run_ctr joined cat /proc/sys/net/ipv4/ping_group_range
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 4242" ]
	[ "$(nsenter -t "$HOLDER" -n cat /proc/sys/net/ipv4/ping_group_range | xargs)" = "0 4242" ]
	[ "$(host_value net.ipv4.ping_group_range)" = "$before" ]
}

@test "sysctl: keys of the container's own namespaces are set inside only, dotted and slashed" {
	local ping mq
	ping=$(host_value net.ipv4.ping_group_range)
	mq=$(host_value fs.mqueue.msg_max)
	update_config 'del(.linux.readonlyPaths)
		| .linux.sysctl = {"net.ipv4.ping_group_range": "0 4243", "fs/mqueue/msg_max": "17"}'
	run_ctr own cat /proc/sys/net/ipv4/ping_group_range /proc/sys/fs/mqueue/msg_max
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 4243 17" ]
	[ "$(host_value net.ipv4.ping_group_range)" = "$ping" ]
	[ "$(host_value fs.mqueue.msg_max)" = "$mq" ]
}
