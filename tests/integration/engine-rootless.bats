#!/usr/bin/env bats
# The engine as an ordinary user with its own /etc/subuid range: every
# command runs as root in the user's own user namespace, joined through the
# pause process that holds it with the mount namespace of the overlays.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v useradd >/dev/null || return 0
	command -v newuidmap >/dev/null || return 0
	rootless_user_make hkeng$$ $((1300000000 + ($$ % 1000) * 1000000))
}

teardown_file() { rootless_user_remove; }

setup() {
	skip_unless_root
	[ -n "${RL_USER:-}" ] || skip "useradd or newuidmap (package uidmap) is not installed"
}

pause_pid() { cut -d' ' -f1 "/tmp/husk-engine-$(id -u "$RL_USER")/pause.pid"; }

@test "rootless engine: run --rm as an ordinary user, root in its own user namespace" {
	run as_user run --rm busybox sh -c 'echo hello; id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hello ]
	[ "${lines[1]}" = 0 ]
	# uid 0 is the user, 1.. its subordinate range
	local map
	map=$(echo "$output" | awk 'NF == 3 {print $1, $2, $3}')
	[ "$map" = "$(printf '0 %s 1\n1 %s 65536' "$(id -u "$RL_USER")" "$RL_START")" ]
	# the store is the user's own
	[ -f "$RL_DIR/home/.local/share/husk/images.json" ]
	[ "$(stat -c %U "$RL_DIR/home/.local/share/husk/images.json")" = "$RL_USER" ]
}

@test "rootless engine: run -d, ps, logs, exec, stop, rm, with a non-root user inside" {
	run as_user run -d -u 1000 --name bg busybox sh -c 'trap "exit 3" TERM; echo up; touch /tmp/mine; while true; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	run as_user ps
	[[ "${lines[1]}" == *"Up "*"bg" ]]
	run as_user exec bg id -u
	[ "$output" = 1000 ]
	run as_user logs bg
	[ "$output" = up ]
	# the file the container's uid 1000 made is the subordinate uid's on the host
	local id
	id=$(as_user inspect bg | jq -r '.[0].Id')
	[ "$(stat -c %u "$RL_DIR/home/.local/share/husk/containers/$id/upper/tmp/mine")" = $((RL_START + 999)) ]
	# another command signals it: the same user namespace
	run as_user stop bg
	[ "$status" -eq 0 ]
	[ "$(as_user inspect bg | jq -r '.[0].State.ExitCode')" = 3 ]
	run as_user rm bg
	[ "$status" -eq 0 ]
	[ -z "$(as_user ps -aq)" ]
	[ ! -e "$RL_DIR/home/.local/share/husk/containers/$id" ]
}

@test "rootless engine: one pause process holds the namespaces; overlays live in its mount namespace" {
	as_user run -d --name ov busybox sleep 1000
	local pid id
	pid=$(pause_pid)
	[ "$(ps -o user= -p "$pid")" = "$RL_USER" ]
	[[ "$(ps -o args= -p "$pid")" == *"husk-monitor pause" ]]
	id=$(as_user inspect ov | jq -r '.[0].Id')
	# the overlay is in the user's mount namespace, not the host's
	grep -q "$id" "/proc/$pid/mountinfo"
	! grep -q "$id" /proc/self/mountinfo
	# a second command joins the same one
	as_user run --rm busybox true
	[ "$(pause_pid)" = "$pid" ]
	as_user rm -f ov
	! grep -q "$id" "/proc/$pid/mountinfo"
}

@test "rootless engine: limits without a delegated cgroup: a warning, not a failure" {
	run --separate-stderr as_user run --rm -m 64m busybox true
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"runs without resource limits"* ]]
}

# The user's fuse-overlayfs daemons (live ones: a zombie has no command line).
user_fuse_daemons() { pgrep -a -u "$RL_USER" -f '^fuse-overlayfs ' || true; }
no_user_fuse_daemon() { [ -z "$(user_fuse_daemons)" ]; }
user_has_no_container() { [ -z "$(as_user ps -aq)" ]; }

@test "rootless engine on fuse-overlayfs: run --rm, run -d, exec, stop, rm, commit a deletion, info" {
	[ -c /dev/fuse ] && command -v fuse-overlayfs >/dev/null || skip "no /dev/fuse or fuse-overlayfs is not installed (Debian: fuse-overlayfs)"
	local RL_OVERLAY=fuse id pid
	run as_user run --rm busybox echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run as_user info
	[[ "$output" == *$'\n'" Storage Driver: fuse-overlayfs"$'\n'* ]]
	id=$(as_user run -d --name fu busybox sleep 1000)
	pid=$(pause_pid)
	# fuse-overlayfs's mount, in the user's mount namespace
	grep "$id/rootfs" "/proc/$pid/mountinfo" | grep -q ' - fuse.fuse-overlayfs '
	[ -n "$(user_fuse_daemons)" ]
	run as_user exec -u 1000 fu sh -c 'echo mine > /tmp/u && cat /tmp/u'
	[ "$output" = mine ]
	as_user exec fu sh -c 'rm /bin/rm; rm -rf /usr/sbin; mkdir /usr/sbin; echo h > /usr/sbin/only'
	run as_user diff fu
	[[ "$output" == *$'\n''D /bin/rm'$'\n'* ]]
	[[ "$output" != *.wh.* ]]
	run as_user commit fu fused:v1
	[ "$status" -eq 0 ]
	run as_user run --rm fused:v1 ls /bin/rm
	[ "$status" -ne 0 ]
	run as_user run --rm fused:v1 ls -A /usr/sbin
	[ "$output" = only ]
	as_user stop -t 1 fu
	wait_until 100 no_user_fuse_daemon
	as_user rm fu
	! grep -q "$id" "/proc/$pid/mountinfo"
	# --rm -d: its monitor removes it
	as_user run --rm -d busybox true >/dev/null
	wait_until 200 user_has_no_container
	wait_until 100 no_user_fuse_daemon
	! grep -q 'fuse-overlayfs' "/proc/$pid/mountinfo"
}

# ns_of PID KIND: the inode of a process's namespace.
ns_of() { stat -L -c %i "/proc/$1/ns/$2"; }

@test "rootless engine on fuse-overlayfs: a killed pause process: the next command takes its namespaces back" {
	[ -c /dev/fuse ] && command -v fuse-overlayfs >/dev/null || skip "no /dev/fuse or fuse-overlayfs is not installed (Debian: fuse-overlayfs)"
	local RL_OVERLAY=fuse id pid monitor
	id=$(as_user run -d --name kp busybox sh -c 'echo kept > /kept; exec sleep 1000')
	monitor=$(jq -r .MonitorPid "$RL_DIR/home/.local/share/husk/containers/$id/state.json")
	pid=$(pause_pid)
	kill -KILL "$pid"
	# the container, its mount and its daemon live on in the old
	# namespaces: the new pause process holds them again
	run as_user exec kp cat /kept
	[ "$status" -eq 0 ]
	[ "$output" = kept ]
	[ "$(pause_pid)" != "$pid" ]
	[ "$(ns_of "$(pause_pid)" user)" = "$(ns_of "$monitor" user)" ]
	[ "$(ns_of "$(pause_pid)" mnt)" = "$(ns_of "$monitor" mnt)" ]
	grep "$id/rootfs" "/proc/$(pause_pid)/mountinfo" | grep -q ' - fuse.fuse-overlayfs '
	run as_user ps
	[[ "${lines[1]}" == *"Up "*"kp" ]]
	as_user rm -f kp
	wait_until 100 no_user_fuse_daemon
	user_has_no_container
}

@test "rootless engine on fuse-overlayfs: pause, monitor and init killed: ps -a and prune heal, no daemon left" {
	[ -c /dev/fuse ] && command -v fuse-overlayfs >/dev/null || skip "no /dev/fuse or fuse-overlayfs is not installed (Debian: fuse-overlayfs)"
	local RL_OVERLAY=fuse id state cmd mnt
	for cmd in ps prune; do
		id=$(as_user run -d busybox sleep 1000)
		state=$RL_DIR/home/.local/share/husk/containers/$id/state.json
		[ -n "$(user_fuse_daemons)" ]
		# the daemon is recorded by pid and start time, in the namespaces
		# of the pause process
		mnt=$(ns_of "$(cut -d' ' -f1 "${state%/*}/fuse-overlayfs.pid")" mnt)
		[ "$mnt" = "$(ns_of "$(pause_pid)" mnt)" ]
		# only the fuse-overlayfs daemon is left of the namespaces
		kill -KILL "$(pause_pid)" "$(jq -r .MonitorPid "$state")" "$(jq -r .Pid "$state")"
		if [ $cmd = ps ]; then
			run as_user ps -a
			[ "$status" -eq 0 ]
			[[ "${lines[1]}" == *"Exited (255) "* ]]
			no_user_fuse_daemon
			[ "$(as_user inspect "$id" | jq -r '.[0].State.Error')" = "its monitor was killed: the exit code is unknown" ]
			as_user rm "$id"
		else
			run as_user system prune -f
			[ "$status" -eq 0 ]
			[[ "$output" == *"$id"* ]]
			no_user_fuse_daemon
		fi
		user_has_no_container
		# the next command took the namespaces back through the daemon
		[ "$(ns_of "$(pause_pid)" mnt)" = "$mnt" ]
		! grep -q fuse-overlayfs "/proc/$(pause_pid)/mountinfo"
	done
}

@test "rootless engine: info tells the overlay driver and why; a bad HUSK_OVERLAY is one line" {
	run as_user info
	[ "$status" -eq 0 ]
	[[ "$output" == *" Storage Driver: overlay"$'\n'"  Driver Chosen Because: kernel overlay in a user namespace: works"$'\n'* ]]
	[ "$(sed -n 1p "$RL_DIR/home/.local/share/husk/overlay-driver")" = kernel ]
	local RL_OVERLAY=nfs
	run as_user ps
	[ "$status" -eq 125 ]
	[ "$output" = 'husk: HUSK_OVERLAY=`nfs`: expected `kernel` or `fuse`' ]
}

# as_user_in DIR ARGS...: as_user with DIR as the working directory.
as_user_in() {
	local dir=$1
	shift
	(cd "$dir" && as_user "$@")
}

@test "rootless engine: volumes, binds, tmpfs, restart policy, healthcheck, start/restart/kill/wait/rename" {
	local data=$RL_DIR/home/data
	mkdir -p "$data" && echo from-host >"$data/in" && chown -R "$RL_USER:$RL_USER" "$data"
	run as_user volume create vol
	[ "$status" -eq 0 ]
	run as_user run --rm -v vol:/v -v "$data:/h:ro" --tmpfs /scratch busybox \
		sh -c 'echo kept >/v/f; cat /h/in; touch /h/x 2>/dev/null || echo ro; grep -q " /scratch tmpfs" /proc/mounts && echo tmpfs'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'from-host\nro\ntmpfs')" ]
	run as_user run --rm -v vol:/v busybox cat /v/f
	[ "$output" = kept ]
	# on-failure:2 restarts twice, then stays exited
	as_user run -d --name flaky --restart on-failure:2 busybox sh -c 'exit 4'
	wait_until 300 sh -c "[ \"\$($(declare -f as_user); as_user inspect flaky | jq -r '.[0].RestartCount,.[0].State.Status' | tr '\n' ' ')\" = '2 exited ' ]"
	# the healthcheck is run by the monitor: healthy without any daemon
	as_user run -d --name hc --health-cmd 'test -e /tmp' --health-interval 1s busybox \
		sh -c 'trap "exit 7" USR1; while true; do sleep 0.1; done'
	wait_until 200 sh -c "$(declare -f as_user); as_user ps | grep -q '(healthy)'"
	as_user rename hc hc2
	run as_user kill -s USR1 hc2
	[ "$status" -eq 0 ]
	run as_user wait hc2
	[ "$output" = 7 ]
	as_user start hc2
	as_user restart -t 1 hc2
	[ "$(as_user inspect hc2 | jq -r '.[0].State.Status')" = running ]
	as_user rm -f flaky hc2
	as_user volume rm vol
	[ -z "$(as_user ps -aq)" ]
}

@test "rootless engine: commit, diff, save/load, export/import, cp, tag/rmi, system check and df" {
	local w=$RL_DIR/home/work
	mkdir -p "$w" && chown "$RL_USER:$RL_USER" "$w"
	as_user run --name src busybox sh -c 'echo made >/made; rm /bin/vi'
	run as_user diff src
	[[ "$output" == *"A /made"* ]]
	[[ "$output" == *"D /bin/vi"* ]]
	as_user commit src mine:1
	run as_user run --rm mine:1 sh -c 'cat /made; test -e /bin/vi || echo gone'
	[ "$output" = "$(printf 'made\ngone')" ]
	as_user_in "$w" save -o img.tar mine:1
	as_user rmi mine:1
	as_user_in "$w" load -i img.tar
	run as_user run --rm mine:1 cat /made
	[ "$output" = made ]
	as_user tag mine:1 mine:2
	as_user rmi mine:2
	as_user_in "$w" export -o fs.tar src
	as_user_in "$w" import fs.tar flat
	run as_user run --rm flat cat /made
	[ "$output" = made ]
	echo copied >"$w/f" && chown "$RL_USER:$RL_USER" "$w/f"
	as_user_in "$w" cp f src:/tmp/f
	as_user_in "$w" cp src:/tmp/f back
	[ "$(cat "$w/back")" = copied ]
	run as_user system check
	[ "$status" -eq 0 ]
	run as_user system df
	[ "$status" -eq 0 ]
	[[ "$output" == *Images* ]]
	as_user rm src
	as_user rmi mine:1 flat
	[ -z "$(as_user ps -aq)" ]
}

# monitor_of NAME: the pid of a rootless container's monitor.
monitor_of() {
	jq -r .MonitorPid "$RL_DIR/home/.local/share/husk/containers/$(as_user inspect "$1" | jq -r '.[0].Id')/state.json"
}

@test "rootless engine: the pause process killed twice: the containers of both starts stay in reach" {
	local m1 m2 mnt pid
	as_user run -d --name g1 busybox sh -c 'echo one > /g; exec sleep 1000'
	m1=$(monitor_of g1)
	mnt=$(ns_of "$m1" mnt)
	kill -KILL "$(pause_pid)"
	# started under the second pause process, which took the first one's
	# namespaces back through g1's monitor
	as_user run -d --name g2 busybox sh -c 'echo two > /g; exec sleep 1000'
	m2=$(monitor_of g2)
	[ "$(ns_of "$m2" mnt)" = "$mnt" ]
	pid=$(pause_pid)
	kill -KILL "$pid"
	run as_user exec g1 cat /g
	[ "$output" = one ]
	run as_user exec g2 cat /g
	[ "$output" = two ]
	[ "$(pause_pid)" != "$pid" ]
	[ "$(ns_of "$(pause_pid)" mnt)" = "$mnt" ]
	[ "$(ns_of "$(pause_pid)" user)" = "$(ns_of "$m1" user)" ]
	as_user stop -t 1 g1
	as_user rm -f g1 g2
	user_has_no_container
}

# init_of NAME: the pid of a rootless container's init.
init_of() { as_user inspect "$1" | jq -r '.[0].State.Pid'; }

@test "rootless engine: pause and monitor killed: a second generation of namespaces; exec, stop, rm reach both" {
	local i1 pid
	as_user run -d --name g1 -u 1000 busybox sh -c 'echo one > /tmp/g; exec sleep 1000'
	i1=$(init_of g1)
	# nothing is left to take the namespaces back from but g1's init, in a
	# mount namespace of its own: the next command makes new ones
	kill -KILL "$(pause_pid)" "$(monitor_of g1)"
	as_user run -d --name g2 -u 1000 busybox sh -c 'echo two > /tmp/g; exec sleep 1000'
	[ "$(ns_of "$(pause_pid)" user)" != "$(ns_of "$i1" user)" ]
	[ "$(ns_of "$(init_of g2)" user)" = "$(ns_of "$(pause_pid)" user)" ]
	# each command joins the generation of the container it names
	run as_user exec g1 cat /tmp/g
	[ "$status" -eq 0 ]
	[ "$output" = one ]
	run as_user exec g2 cat /tmp/g
	[ "$output" = two ]
	# the second pause process killed too: g2's monitor gives its
	# namespaces back, g1 stays in reach through its init
	pid=$(pause_pid)
	kill -KILL "$pid"
	run as_user exec g1 cat /tmp/g
	[ "$output" = one ]
	run as_user exec g2 cat /tmp/g
	[ "$output" = two ]
	[ "$(ns_of "$(pause_pid)" user)" = "$(ns_of "$(init_of g2)" user)" ]
	# a uid other than the user's own: signalled from its own user namespace only
	run as_user stop -t 1 g1
	[ "$status" -eq 0 ]
	[ "$(as_user inspect g1 | jq -r '.[0].State.Status')" = exited ]
	! kill -0 "$i1" 2>/dev/null
	as_user rm g1
	as_user rm -f g2
	user_has_no_container
}
