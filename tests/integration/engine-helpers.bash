# Shared by the engine's bats files (load engine-helpers after helpers):
# a private store and run root per file, the engine bounded in time, and
# the check that nothing of this file's containers is left.

HUSK_ENGINE=${HUSK_ENGINE:-$REPO/build/src/engine/husk}

engine_setup_file() {
	export HUSK_STORAGE_ROOT="$BATS_FILE_TMPDIR/storage"
	export HUSK_RUN_ROOT="$BATS_FILE_TMPDIR/run"
	# husk turns ip_forward on with a bridge: put back as it was after the file
	IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || true)
	export IP_FORWARD
}

# engine_net_remove: as root, this root's networks removed (a bridge
# network is the default: its containers have left their endpoints), the
# default one's bridge and chains by hand (`bridge` is never removed by
# husk); only this root's, never husk0 nor the table while another root's
# chains are in it.
engine_net_remove() {
	local n br c
	# a private root only: never the system's networks
	[ "$(id -u)" = 0 ] && [ -n "${HUSK_STORAGE_ROOT:-}" ] && [ -n "${HUSK_RUN_ROOT:-}" ] || return 0
	for n in $("$HUSK_ENGINE" network ls 2>/dev/null | awk 'NR > 1 {print $2}'); do
		[ "$n" = bridge ] || timeout 20 "$HUSK_ENGINE" network rm "$n" >/dev/null 2>&1 || true
	done
	br=$(jq -r '.Options["com.docker.network.bridge.name"] // empty' \
		"$HUSK_STORAGE_ROOT/networks/bridge.json" 2>/dev/null || true)
	[ -n "$br" ] && [ "$br" != husk0 ] || return 0
	ip link del "$br" 2>/dev/null || true
	for c in pre out post fwd in; do
		nft list chain ip husk "$br-$c" >/dev/null 2>&1 &&
			{ nft "flush chain ip husk $br-$c; delete chain ip husk $br-$c" 2>/dev/null || true; }
	done
	# the table once it has no chain (as husk itself does)
	nft list table ip husk 2>/dev/null | grep -q 'chain ' ||
		nft delete table ip husk 2>/dev/null || true
}

# engine_teardown_file: the networks of the file's root removed, ip_forward
# as it was before the file.
engine_teardown_file() {
	[ "$(id -u)" = 0 ] || return 0
	engine_net_remove
	[ -z "${IP_FORWARD:-}" ] || echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
	return 0
}

# hk ARGS...: the engine, bounded in time so that a hang fails the test.
# The ids of the containers there are after each call are noted: the
# cgroup check below looks for theirs only (other runs may have their own).
hk() {
	local rc=0
	timeout -k 1 60 "$HUSK_ENGINE" "$@" || rc=$?
	ls "$HUSK_STORAGE_ROOT/containers" >>"$BATS_FILE_TMPDIR/ids" 2>/dev/null || true
	return $rc
}

# hk_bg OUT ARGS...: the engine in the background (no timeout(1) between: a
# signal sent to $! must reach husk itself), its output in OUT.
hk_bg() {
	local out=$1
	shift
	"$HUSK_ENGINE" "$@" </dev/null >"$out" 2>&1 3>&- &
}

# one_line_125: the last `run` failed as a verb must on bad input.
one_line_125() {
	[ "$status" -eq 125 ] || { echo "status $status: $output"; return 1; }
	[ "${#lines[@]}" -eq 1 ] || { echo "not one line: $output"; return 1; }
	[[ "$output" == husk:* ]]
}

# wait_for SECONDS CMD...: until CMD succeeds (polling every 0.1 s).
wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

# Fails (naming it) if anything of a container is left: an overlay mount
# under the storage root, a container dir, a name, an image hold, the core's
# state, a cgroup of one of this file's containers.
nothing_left() {
	local left
	left=$(grep -F "$HUSK_STORAGE_ROOT" /proc/self/mountinfo || true)
	[ -z "$left" ] || { echo "mount left: $left"; return 1; }
	left=$(ls -A "$HUSK_STORAGE_ROOT/containers" "$HUSK_STORAGE_ROOT/names" 2>/dev/null |
		grep -v -e ':$' -e '^$' || true)
	[ -z "$left" ] || { echo "dirs left: $left"; return 1; }
	left=$(ls -A "$HUSK_STORAGE_ROOT/holds" 2>/dev/null || true)
	[ -z "$left" ] || { echo "holds left: $left"; return 1; }
	left=$(ls -A "$HUSK_RUN_ROOT/runtime" 2>/dev/null | grep -v '^\.seccomp-cache$' || true)
	[ -z "$left" ] || { echo "runtime state left: $left"; return 1; }
	left=$(find /sys/fs/cgroup -maxdepth 4 -type d -regextype egrep \
		-regex '.*/husk-[0-9a-f]{64}' 2>/dev/null |
		grep -F -f <(sort -u "$BATS_FILE_TMPDIR/ids" 2>/dev/null | grep . || echo none) || true)
	[ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
}

# Removes every container of the store (teardown), then checks.
remove_all_and_check() {
	local ids
	ids=$("$HUSK_ENGINE" ps -aq --no-trunc 2>/dev/null || true)
	[ -z "$ids" ] || timeout 60 "$HUSK_ENGINE" rm -f $ids >/dev/null 2>&1 || true
	nothing_left
}

# rootless_user_make NAME SUBID_START: an ordinary user NAME with its own
# /etc/subuid and /etc/subgid range from SUBID_START, a home and copies of
# husk and husk-monitor in RL_DIR (the checkout may be below a directory it
# cannot search). Sets and exports RL_USER, RL_DIR, RL_START.
rootless_user_make() {
	export RL_USER=$1 RL_START=$2 RL_DIR
	RL_DIR=$(mktemp -d /tmp/husk-rl.XXXXXX)
	chmod 755 "$RL_DIR"
	useradd -M -U -d "$RL_DIR/home" -s /bin/sh "$RL_USER"
	# ours alone (useradd may have given it one: husk takes the first)
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	echo "$RL_USER:$RL_START:65536" >>/etc/subuid
	echo "$RL_USER:$RL_START:65536" >>/etc/subgid
	mkdir -p "$RL_DIR/home" "$RL_DIR/bin"
	install -m 755 "$HUSK_ENGINE" "$(dirname "$HUSK_ENGINE")/husk-monitor" "$RL_DIR/bin/"
	chown "$RL_USER:$RL_USER" "$RL_DIR/home"
	# An ordinary user opens /dev/fuse (fuse-overlayfs) and /dev/net/tun
	# (pasta, slirp4netns) where udev made them 0666, Debian's default; a
	# machine without udev leaves them 0600: opened up while the file
	# runs, their modes put back after.
	export RL_DEV_MODES=
	local dev
	for dev in /dev/fuse /dev/net/tun; do
		[ -c "$dev" ] || continue
		RL_DEV_MODES+="$dev=$(stat -c %a "$dev") "
		chmod 666 "$dev"
	done
}

# as_user ARGS...: husk as RL_USER, with a clean environment (PATH: RL_PATH
# when set).
as_user() {
	timeout -k 1 60 setpriv --reuid "$RL_USER" --regid "$RL_USER" --init-groups \
		env -i HOME="$RL_DIR/home" PATH="${RL_PATH:-/usr/sbin:/usr/bin:/sbin:/bin}" \
		${RL_OVERLAY:+HUSK_OVERLAY=$RL_OVERLAY} "$RL_DIR/bin/husk" "$@"
}

# Its containers, its processes (the pause process: all of them are the
# test's), its files, the user itself and its ranges, removed.
rootless_user_remove() {
	local pid i m
	for m in ${RL_DEV_MODES:-}; do chmod "${m#*=}" "${m%%=*}"; done
	RL_DEV_MODES=
	[ -n "${RL_USER:-}" ] || return 0
	as_user rm -f $(as_user ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1 || true
	for pid in $(pgrep -u "$RL_USER"); do kill -9 "$pid" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		pgrep -u "$RL_USER" >/dev/null || break
		sleep 0.1
	done
	rm -rf "$RL_DIR" "/tmp/husk-engine-$(id -u "$RL_USER" 2>/dev/null)"
	userdel "$RL_USER" 2>/dev/null
	getent group "$RL_USER" >/dev/null && groupdel "$RL_USER" 2>/dev/null
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	RL_USER=
	return 0
}

# helper_killer HELPER RECORD [MATCH]: a PATH (printed) whose HELPER (pasta
# or slirp4netns), run with arguments that match MATCH (a shell pattern:
# any by default), kills the husk that forked it, and the husk run in front
# of that, as soon as a helper's pid is saved in RECORD (a glob of files;
# within 5 s: a husk that never does is killed anyway, and the test sees
# the helper unrecorded), then runs the real one. Needs RL_DIR.
helper_killer() {
	local dir=$RL_DIR/killer-$1 p real
	real=$(command -v "$1")
	mkdir -p "$dir"
	for p in newuidmap newgidmap; do ln -sf "$(command -v $p)" "$dir/"; done
	cat >"$dir/$1" <<-SH
		#!/bin/sh
		PATH=/usr/sbin:/usr/bin:/sbin:/bin
		case "\$*" in ${3:-*}) ;; *) exec $real "\$@" ;; esac
		i=0
		while [ \$i -lt 50 ] && ! grep -qs '"Pasta":' $2; do
			sleep 0.1
			i=\$((i + 1))
		done
		front=\$(awk '{print \$4}' /proc/\$PPID/stat)
		[ "\$(cat /proc/\$front/comm)" != husk ] || kill -9 \$front
		kill -9 \$PPID
		exec $real "\$@"
	SH
	chmod 755 "$dir/$1"
	echo "$dir"
}

# Every container of the file's store removed (a teardown's first step).
engine_rm_all() {
	local ids
	ids=$("$HUSK_ENGINE" ps -aq --no-trunc 2>/dev/null || true)
	[ -z "$ids" ] || timeout 60 "$HUSK_ENGINE" rm -f $ids >/dev/null 2>&1 || true
}
