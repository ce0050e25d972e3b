#!/usr/bin/env bats
# The engine's `run` options that shape the container's config: resources,
# capabilities and security, mounts and volumes, /etc/hosts and friends,
# users by name, --env-file, --label, --network, --init; `husk volume`. Each
# is checked from inside the container. Every bad value: one line naming the
# flag and the value, 125, nothing left behind. A private store and run root
# per file (HUSK_STORAGE_ROOT, HUSK_RUN_ROOT), as engine.bats.
load helpers
load tools/host-cgroups
load engine-helpers
bats_require_minimum_version 1.5.0

HUSK_ENGINE=${HUSK_ENGINE:-$REPO/build/src/engine/husk}
MKIMAGE=${MKIMAGE:-$REPO/build/tests/integration/tools/store-mkimage}

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() { skip_unless_root; }

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	nothing_left
	# the named volumes a test made
	"$HUSK_ENGINE" volume prune -a -f >/dev/null 2>&1 || true
}

hk() { timeout -k 1 60 "$HUSK_ENGINE" "$@"; }

hk_bg() {
	local out=$1
	shift
	"$HUSK_ENGINE" "$@" </dev/null >"$out" 2>&1 3>&- &
}

# The containers' cgroups still there. Other test runs may share this
# machine: where the memory controller nests our containers under our own
# cgroup, only those are ours.
cgroups_left() {
	local left mem ids
	left=$(find /sys/fs/cgroup -maxdepth 4 -type d -regextype egrep \
		-regex '.*/husk-[0-9a-f]{64}' 2>/dev/null || true)
	mem=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
	if [ -n "$left" ] && [ -n "$mem" ] && [ "$mem" != / ]; then
		ids=$(find "/sys/fs/cgroup/memory$mem" -maxdepth 1 -type d -name 'husk-*' \
			-printf '%f\n' 2>/dev/null || true)
		[ -n "$ids" ] || return 0
		left=$(echo "$left" | grep -F "$ids" || true)
	fi
	echo "$left"
}

# As engine.bats's, and no anonymous volume left (run --rm removes them).
nothing_left() {
	local left
	left=$(grep -F "$HUSK_STORAGE_ROOT" /proc/self/mountinfo || true)
	[ -z "$left" ] || { echo "mount left: $left"; return 1; }
	left=$(ls -A "$HUSK_STORAGE_ROOT/containers" "$HUSK_STORAGE_ROOT/names" 2>/dev/null || true)
	[ -z "$(echo "$left" | grep -v -e ':$' -e '^$')" ] || { echo "dirs left: $left"; return 1; }
	left=$(ls -A "$HUSK_STORAGE_ROOT/holds" 2>/dev/null || true)
	[ -z "$left" ] || { echo "holds left: $left"; return 1; }
	left=$(ls -A "$HUSK_RUN_ROOT/runtime" 2>/dev/null | grep -v '^\.seccomp-cache$' || true)
	[ -z "$left" ] || { echo "runtime state left: $left"; return 1; }
	left=$(cgroups_left)
	[ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
	left=$(grep -l '"Anonymous": true' "$HUSK_STORAGE_ROOT"/volumes/*/volume.json 2>/dev/null || true)
	[ -z "$left" ] || { echo "anonymous volumes left: $left"; return 1; }
	left=$(find "$HUSK_STORAGE_ROOT/volumes" -path '*/users/*' 2>/dev/null || true)
	[ -z "$left" ] || { echo "volume users left: $left"; return 1; }
}

# bad FLAGS... -- MESSAGE: `run --rm FLAGS busybox true` fails with 125 and
# exactly "husk: run: MESSAGE" (or "husk: MESSAGE" for config errors).
bad() {
	local args=() msg
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	msg=$2
	run hk run --rm "${args[@]}" busybox true
	[ "$status" -eq 125 ] || { echo "status $status for ${args[*]}: $output"; return 1; }
	[ "${#lines[@]}" -eq 1 ] || { echo "not one line: $output"; return 1; }
	[ "$output" = "husk: run: $msg" ] || [ "$output" = "husk: $msg" ] ||
		{ echo "got: $output"; echo "expected: $msg"; return 1; }
}

# In the container: its cgroup's file for v1 FILE or v2 FILE2.
cg_read='f() { if [ -e /sys/fs/cgroup/$2 ]; then cat /sys/fs/cgroup/$2; else cat /sys/fs/cgroup/$1; fi; }'

@test "options: -m and --memory-swap set the memory cgroup (swap twice memory by default)" {
	[ "$(host_cgroup_layout)" != none ] || skip "no cgroups"
	run hk run --rm -m 64m --memory-swap 96m busybox sh -c "$cg_read
		f memory/memory.limit_in_bytes memory.max
		f memory/memory.memsw.limit_in_bytes memory.swap.max"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 67108864 ]
	# v1: memory+swap; v2: swap alone
	[ "${lines[1]}" = 100663296 ] || [ "${lines[1]}" = 33554432 ]
	[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] || skip "no swap accounting"
	run hk run --rm -m 64m busybox cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes
	[ "$status" -eq 0 ]
	[ "$output" = 134217728 ]
	run hk run --rm -m 64m --memory-swap -1 busybox cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes
	[ "$status" -eq 0 ]
	[ "$output" -gt 1000000000000 ]
}

@test "options: --cpus, --cpu-shares, --cpuset-cpus and --pids-limit reach the cgroup" {
	[ "$(host_cgroup_layout)" != none ] || skip "no cgroups"
	run hk run --rm --cpus 1.5 --cpu-shares 512 --cpuset-cpus 0 --pids-limit 50 busybox \
		sh -c "$cg_read
		f cpu/cpu.cfs_quota_us cpu.max; f cpu/cpu.cfs_period_us cpu.max
		f cpu/cpu.shares cpu.weight; f cpuset/cpuset.cpus cpuset.cpus; f pids/pids.max pids.max"
	[ "$status" -eq 0 ]
	if [ "${lines[0]}" = "150000 100000" ]; then # v2
		[ "${lines[3]}" = 0 ] && [ "${lines[4]}" = 50 ]
	else
		[ "${lines[0]}" = 150000 ]
		[ "${lines[1]}" = 100000 ]
		[ "${lines[2]}" = 512 ]
		[ "${lines[3]}" = 0 ]
		[ "${lines[4]}" = 50 ]
	fi
}

@test "options: --ulimit sets the process's limits" {
	run hk run --rm --ulimit nofile=100:200 --ulimit core=0 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '100\n200\n0')" ]
}

@test "options: --device gives a host device, with its cgroup rule" {
	[ -c /dev/net/tun ] || skip "no /dev/net/tun on this host"
	run hk run --rm --device /dev/net/tun busybox sh -c 'ls -l /dev/net/tun; exec 3<>/dev/net/tun && echo opened'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == c*" 10, "*200*/dev/net/tun ]]
	[ "${lines[1]}" = opened ]
	# read-only, elsewhere: opening it read-write is refused by the cgroup
	run hk run --rm --device /dev/net/tun:/dev/tun0:r busybox sh -c \
		'(exec 3</dev/tun0) && echo read; (exec 3<>/dev/tun0) 2>&1 || echo refused'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = read ]
	[[ "${lines[1]}" == *"Operation not permitted"* ]]
	[ "${lines[2]}" = refused ]
}

@test "options: --cap-add and --cap-drop (names with or without CAP_, ALL)" {
	run hk run --rm --cap-add net_admin --cap-drop CAP_CHOWN busybox grep CapBnd /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = "CapBnd:	00000000800415fa" ] # the default + NET_ADMIN - CHOWN
	run hk run --rm --cap-drop ALL --cap-add KILL busybox grep -E 'Cap(Bnd|Eff)' /proc/self/status
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "CapEff:	0000000000000020" ]
	[ "${lines[1]}" = "CapBnd:	0000000000000020" ]
	# a capability the container gets opens the syscalls the default
	# seccomp profile keeps for it (SYS_ADMIN: mount)
	run hk run --rm --cap-add SYS_ADMIN busybox sh -c 'mount -t tmpfs t /tmp && echo mounted'
	[ "$status" -eq 0 ]
	[ "$output" = mounted ]
}

@test "options: --privileged: all capabilities, no seccomp, no masks, the host's devices" {
	local bnd
	bnd=$(grep CapBnd /proc/self/status)
	run hk run --rm --privileged busybox sh -c 'grep -E "^(CapBnd|Seccomp|NoNewPrivs):" /proc/self/status
		grep -c " /proc/kcore " /proc/self/mountinfo; test -c /dev/kmsg && echo kmsg'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$bnd" ]
	[ "${lines[1]}" = "NoNewPrivs:	0" ]
	[ "${lines[2]}" = "Seccomp:	0" ]
	[ "${lines[3]}" = 0 ]
	[ "${lines[4]}" = kmsg ]
}

@test "options: --security-opt seccomp=unconfined, no-new-privileges, label=disable" {
	run hk run --rm busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'NoNewPrivs:\t1\nSeccomp:\t2')" ]
	run hk run --rm --security-opt seccomp=unconfined --security-opt no-new-privileges=false \
		--security-opt label=disable busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'NoNewPrivs:\t0\nSeccomp:\t0')" ]
}

@test "options: --security-opt seccomp=FILE takes docker's profile format" {
	local p="$BATS_TEST_TMPDIR/profile.json"
	# mkdir refused; rmdir refused only with SYS_ADMIN (which the container
	# lacks: the rule is left out); the one-name form of old profiles
	cat >"$p" <<-'EOF'
	{"defaultAction": "SCMP_ACT_ALLOW",
	 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
	             {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []}],
	 "syscalls": [
	  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "comment": "no mkdir"},
	  {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
	  {"name": "symlinkat", "action": "SCMP_ACT_ERRNO"}]}
	EOF
	run hk run --rm --security-opt "seccomp=$p" busybox sh -c \
		'mkdir /tmp/a || echo no-mkdir; rmdir /tmp && echo no; rmdir /mnt && echo rmdir; ln -s x /tmp/l || echo no-symlink'
	[ "$status" -eq 0 ]
	[[ "$output" == *no-mkdir* ]]
	[[ "$output" == *rmdir* ]]
	[[ "$output" == *no-symlink* ]]
	echo '{"defaultAction": ' >"$p"
	run hk run --rm --security-opt "seccomp=$p" busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "husk: --security-opt seccomp=$p: not JSON (line 2: "* ]]
}

@test "options: --read-only: the root is read-only, mounts and /etc files are not" {
	run hk run --rm --read-only --tmpfs /scratch busybox sh -c 'touch /x || echo ro
		touch /scratch/y && echo scratch; echo "1.2.3.4 x" >> /etc/hosts && echo hosts'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *ro*scratch*hosts* ]]
}

@test "options: --userns=host is accepted" {
	run hk run --rm --userns=host busybox readlink /proc/self/ns/user
	[ "$status" -eq 0 ]
	[ "$output" = "$(readlink /proc/self/ns/user)" ]
	bad --userns private -- "--userns \`private\`: unknown mode (host, auto, auto:size=N, keep-id, keep-id:uid=N,gid=N)"
}

@test "options: --init: a reaper as PID 1 in front of the command" {
	run hk run --rm --init busybox sh -c 'tr "\0" " " </proc/1/cmdline; echo; echo $$; exit 3'
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "/dev/init -- sh -c tr \"\\0\" \" \" </proc/1/cmdline; echo; echo \$\$; exit 3 " ]
	[ "${lines[1]}" != 1 ]
	# an orphan is reaped by the init: it does not stay a zombie
	run hk run --rm --init busybox sh -c '(sh -c "echo \$\$ >/tmp/orphan" &); 
		for i in $(seq 100); do p=$(cat /tmp/orphan 2>/dev/null) && [ -n "$p" ] && [ ! -e /proc/$p ] && break; sleep 0.1; done
		test -e /proc/$p && cat /proc/$p/status | grep State; echo gone'
	[ "$status" -eq 0 ]
	[ "$output" = gone ]
	run -127 hk run --rm --init busybox /no/such
	[ "$status" -eq 127 ]
	[[ "$output" == *"husk-init: exec \`/no/such\`: No such file or directory"* ]]
}

@test "options: --init forwards husk's signals to the command" {
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm --init busybox \
		sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
	local pid=$! rc=0
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 7 ]
}

@test "options: -v binds a host path (ro), makes a missing one; --mount bind refuses it" {
	local h="$BATS_TEST_TMPDIR/host"
	mkdir -p "$h"
	echo data >"$h/f"
	run hk run --rm -v "$h:/b:ro" -v "$h/new/dir:/n" busybox sh -c \
		'cat /b/f; touch /b/x 2>&1; touch /n/made && echo made; grep " /b " /proc/self/mountinfo'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = data ]
	[[ "${lines[1]}" == *"Read-only file system"* ]]
	[ "${lines[2]}" = made ]
	[[ "${lines[3]}" == *" /b ro,"* ]]
	[ -f "$h/new/dir/made" ]
	run hk run --rm --mount "type=bind,source=$h,target=/m,readonly" busybox cat /m/f
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	bad --mount "type=bind,source=$h/missing,target=/m" -- \
		"--mount \`type=bind,source=$h/missing,target=/m\`: bind source \`$h/missing\`: No such file or directory"
}

@test "options: --tmpfs and --mount type=tmpfs (noexec, nosuid, nodev unless asked)" {
	run hk run --rm --tmpfs /t1 --tmpfs /t2:size=2m,exec,mode=1777 \
		--mount type=tmpfs,target=/t3,tmpfs-size=1m,tmpfs-mode=700 busybox \
		sh -c 'grep -E " /t[123] " /proc/self/mountinfo | sed "s/^[^ ]* [^ ]* [^ ]* [^ ]* \([^ ]* [^ ]*\).* - /\1 /"'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "/t1 rw,nosuid,nodev,noexec,"*" tmpfs tmpfs rw"* ]]
	[[ "${lines[1]}" == "/t2 rw,nosuid,nodev,relatime tmpfs tmpfs rw,size=2048k"* ]] # 1777 is the default
	[[ "${lines[2]}" == "/t3 rw,nosuid,nodev,noexec,"*"size=1024k,mode=700"* ]]
}

@test "options: a named volume is made on first use and keeps its data" {
	run hk run --rm -v vol1:/data busybox sh -c 'echo kept >/data/f'
	[ "$status" -eq 0 ]
	run hk run --rm --mount type=volume,source=vol1,target=/v,readonly busybox sh -c 'cat /v/f; touch /v/x 2>&1; true'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = kept ]
	[[ "${lines[1]}" == *"Read-only file system"* ]]
	run hk volume ls -q
	[ "$output" = vol1 ]
	[ -f "$HUSK_STORAGE_ROOT/volumes/vol1/_data/f" ]
}

@test "options: anonymous volumes (-v /path, the image's Volumes) go with run --rm" {
	local img="$BATS_TEST_TMPDIR/img"
	mkdir -p "$img/etc"
	"$MKIMAGE" "$HUSK_STORAGE_ROOT" volimg "$img" '{"Volumes": {"/data": {}, "/logs": {}}, "Cmd": ["sh"]}' busybox
	run hk run --rm -v /anon -v "$BATS_TEST_TMPDIR:/logs" volimg sh -c \
		'grep -E " /(anon|data|logs) " /proc/self/mountinfo | cut -d" " -f4,5 | sort -k2'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == */volumes/*/_data" /anon" ]]
	[[ "${lines[1]}" == */volumes/*/_data" /data" ]]
	[[ "${lines[2]}" == "$BATS_TEST_TMPDIR /logs" ]]
	# gone (nothing_left checks no anonymous volume is left)
	run hk volume ls -q
	[ -z "$output" ]
}

@test "options: volume create, ls, inspect, rm, prune as docker's" {
	run hk volume create v1
	[ "$status" -eq 0 ]
	[ "$output" = v1 ]
	run hk volume create v1 # exists: no error
	[ "$status" -eq 0 ]
	run hk volume create
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	local anon=$output
	run hk volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[[ "$output" == *"local     v1"* ]]
	run hk volume inspect v1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].Name, .[0].Driver, .[0].Mountpoint')" = \
		"$(printf 'v1\nlocal\n%s' "$HUSK_STORAGE_ROOT/volumes/v1/_data")" ]
	run hk volume inspect nosuch
	[ "$status" -eq 125 ]
	[[ "$output" == *"husk: no such volume: nosuch"* ]]
	run hk volume create 'bad/name'
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	# prune: the unused anonymous one only, then all with -a
	run hk volume prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Volumes:"*"$anon"* ]]
	[[ "$output" != *v1* ]]
	run hk volume rm v1
	[ "$status" -eq 0 ]
	[ "$output" = v1 ]
	run hk volume rm v1
	[ "$status" -eq 125 ]
	[ "$output" = "husk: no such volume: v1" ]
	run hk volume rm -f v1
	[ "$status" -eq 0 ]
}

@test "options: volume prune -a spares a volume a container uses" {
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm -v busy:/data busybox \
		sh -c 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	local pid=$!
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	run hk volume prune -a -f
	local pruned=$output
	kill -TERM "$pid"
	wait "$pid" || true
	run hk volume rm busy
	[ "$status" -eq 0 ]
	[[ "$pruned" != *busy* ]]
}

@test "options: volume rm refused in use: the message" {
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm -v busy2:/data busybox \
		sh -c 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	local pid=$! rc
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	run hk volume rm busy2
	rc=$status
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$rc" -eq 125 ]
	[[ "$output" =~ ^husk:\ volume\ \`busy2\`\ is\ in\ use\ by\ container\ [0-9a-f]{12}$ ]]
}

@test "options: /etc/hosts, /etc/hostname, /etc/resolv.conf; --add-host, --dns" {
	# (on a bridge network, its names follow: engine-network.bats)
	run hk run --rm --network none -h box --add-host db:192.0.2.7 busybox sh -c \
		'cat /etc/hosts; echo; cat /etc/hostname; grep -cE " /etc/(hosts|hostname|resolv.conf) " /proc/self/mountinfo'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "127.0.0.1	localhost" ]
	[ "${lines[1]}" = "::1	localhost ip6-localhost ip6-loopback" ]
	[ "${lines[2]}" = "127.0.0.1	box" ]
	[ "${lines[3]}" = "192.0.2.7	db" ]
	[ "${lines[4]}" = box ]
	[ "${lines[5]}" = 3 ]
	# the host's resolv.conf without its loopback nameservers
	run hk run --rm busybox cat /etc/resolv.conf
	[ "$status" -eq 0 ]
	[ "$output" = "$(grep -vE '^nameserver[[:space:]]+(127\.|::1)' /etc/resolv.conf || true)" ]
	run hk run --rm --dns 192.0.2.53 --dns 2001:db8::1 busybox grep nameserver /etc/resolv.conf
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'nameserver 192.0.2.53\nnameserver 2001:db8::1')" ]
	# a mount of the user's on /etc/hosts wins
	echo "10.9.9.9 mine" >"$BATS_TEST_TMPDIR/hosts"
	run hk run --rm -v "$BATS_TEST_TMPDIR/hosts:/etc/hosts:ro" busybox cat /etc/hosts
	[ "$output" = "10.9.9.9 mine" ]
}

@test "options: --network host: the host's namespace, hostname and /etc/hosts" {
	run hk run --rm --network host --add-host extra:192.0.2.9 busybox sh -c \
		'readlink /proc/self/ns/net; hostname; cat /etc/hosts'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(readlink /proc/self/ns/net)" ]
	[ "${lines[1]}" = "$(hostname)" ]
	[ "$(printf '%s\n' "${lines[@]:2}")" = "$(grep -v '^$' /etc/hosts; echo "192.0.2.9	extra")" ] ||
		[ "$(printf '%s\n' "${lines[@]:2}")" = "$(cat /etc/hosts; echo "192.0.2.9	extra")" ]
	bad --network nosuch -- "network \`nosuch\` not found"
}

@test "options: -u by name: the image's /etc/passwd and /etc/group, its User" {
	local img="$BATS_TEST_TMPDIR/img"
	mkdir -p "$img/etc"
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$img/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\nwheel:x:10:root,app\nstaff:x:50:other,app\n' >"$img/etc/group"
	"$MKIMAGE" "$HUSK_STORAGE_ROOT" userimg "$img" '{"User": "app", "Cmd": ["id"]}' busybox
	run hk run --rm userimg
	[ "$status" -eq 0 ]
	[ "$output" = "uid=1000(app) gid=1000(app) groups=10(wheel),50(staff)" ]
	run hk run --rm -u app:staff userimg
	[ "$output" = "uid=1000(app) gid=50(staff)" ]
	run hk run --rm -u 0 userimg
	[ "$output" = "uid=0(root) gid=0(root) groups=10(wheel)" ]
	run hk run --rm -u 1000:wheel userimg
	[ "$output" = "uid=1000(app) gid=10(wheel)" ]
	run hk run --rm -u app:nogroup_here userimg
	[ "$status" -eq 125 ]
	[ "$output" = "husk: user \`app:nogroup_here\`: no group \`nogroup_here\` in the image's /etc/group" ]
}

@test "options: -u: the image's /etc/passwd cannot lead out of its layer" {
	local img="$BATS_TEST_TMPDIR/img"
	mkdir -p "$img/etc"
	# a user only the host's file has, behind a symlink out of the image
	ln -s ../../../../../../../../../../../etc/passwd "$img/etc/passwd"
	"$MKIMAGE" "$HUSK_STORAGE_ROOT" evilimg "$img" '' busybox
	run hk run --rm -u root evilimg id
	[ "$status" -eq 125 ]
	[ "$output" = "husk: the image's \`/etc/passwd\` is not a regular file" ]
	# a FIFO is never opened
	rm "$img/etc/passwd"
	mkfifo "$img/etc/passwd"
	"$MKIMAGE" "$HUSK_STORAGE_ROOT" fifoimg "$img" '' busybox
	run hk run --rm -u root fifoimg id
	[ "$status" -eq 125 ]
	[ "$output" = "husk: the image's \`/etc/passwd\` is not a regular file" ]
}

@test "options: --env-file (before -e) and --label (config annotations)" {
	printf '# comment\nA=1\n  B=from file\nFROM_HOST\n' >"$BATS_TEST_TMPDIR/env"
	FROM_HOST=yes run hk run --rm --env-file "$BATS_TEST_TMPDIR/env" -e A=2 busybox \
		sh -c 'echo "$A|$B|$FROM_HOST"'
	[ "$status" -eq 0 ]
	[ "$output" = "2|from file|yes" ]
	hk_bg "$BATS_TEST_TMPDIR/out" run --rm --label com.example.a=b --label flag busybox \
		sh -c 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	local pid=$! annotations
	wait_until 400 grep -q ready "$BATS_TEST_TMPDIR/out"
	annotations=$(jq -c .annotations "$HUSK_RUN_ROOT"/runtime/*/state.json)
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$annotations" = '{"com.example.a":"b","flag":""}' ]
	bad --env-file /no/such/file -- "--env-file: open \`/no/such/file\`: No such file or directory"
}

@test "options: bad values: one line naming the flag and the value, 125, nothing left" {
	bad -m lots -- "--memory \`lots\`: not a size (e.g. 512m, 1g)"
	bad --memory 1k -- "--memory \`1k\`: the minimum is 6m"
	bad --memory-swap 1g -- "--memory-swap needs --memory: it is memory and swap together"
	bad --cpus 0 -- "--cpus \`0\`: must be from 0.01 to $(getconf _NPROCESSORS_ONLN) (the CPUs available)"
	bad --cpu-shares x -- "--cpu-shares \`x\`: must be a number from 2 to 262144"
	bad --cpuset-cpus 4095 -- "--cpuset-cpus \`4095\`: names a CPU this host does not have online"
	bad --pids-limit -3 -- "--pids-limit \`-3\`: must be a number (0 or -1: unlimited)"
	bad --ulimit nofile=2:1 -- "--ulimit \`nofile=2:1\`: the soft limit is above the hard one"
	bad --device /dev/nope -- "--device \`/dev/nope\`: No such file or directory"
	bad --device /etc/passwd -- "--device \`/etc/passwd\`: not a device"
	bad --cap-add NOPE -- "--cap-add \`NOPE\`: unknown capability"
	bad --security-opt bogus -- "--security-opt \`bogus\`: unknown option (seccomp=unconfined|FILE, no-new-privileges[=true|false], label=disable)"
	bad -v 'no/pe:/x' -- "-v \`no/pe:/x\`: \`no/pe\` is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+) nor an absolute host path"
	bad -v /a:/b:xx -- "-v \`/a:/b:xx\`: unknown mode \`xx\`"
	bad --mount type=x,target=/y -- "--mount \`type=x,target=/y\`: unknown type \`x\` (bind, volume or tmpfs)"
	bad --tmpfs /t:bogus -- "--tmpfs \`/t:bogus\`: unknown option \`bogus\`"
	bad -v /a:/same --tmpfs /same -- "duplicate mount point \`/same\`"
	bad --add-host nocolon -- "--add-host \`nocolon\`: must be NAME:IP"
	bad --dns x.y -- "--dns \`x.y\`: not an IP address"
	bad --label = -- "--label \`=\`: no key"
	# nothing of the failed runs: no volume made, no host dir
	run hk volume ls -q
	[ -z "$output" ]
}
