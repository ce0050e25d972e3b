#!/usr/bin/env bats
# The container's filesystem as config.md and config-linux.md describe it:
# root.readonly, mounts and their options and propagation, the default kernel
# filesystems and /dev, linux.devices, maskedPaths, readonlyPaths, sysctl, and
# mount destinations that try to leave the rootfs through symlinks.
load helpers
load tools/host-cgroups

setup() {
	skip_unless_root
	setup_bundle
	HOST_MOUNTS=()
	ESCAPE_DIRS=()
}

teardown() {
	local m d i
	# Host mounts a test made, and anything a broken runtime let propagate
	# onto them (hence the loop).
	for m in "${HOST_MOUNTS[@]}"; do
		for ((i = 0; i < 10; i++)); do
			mountpoint -q "$m" || break
			umount -R -l "$m" 2>/dev/null || break
		done
	done
	cleanup_containers
	for d in "${ESCAPE_DIRS[@]}"; do
		rm -rf "$d"
	done
	return 0
}

# host_mount ARGS... DIR: mount on the host, undone in teardown.
host_mount() {
	local dir=${*: -1}
	mkdir -p "$dir"
	HOST_MOUNTS+=("$dir")
	mount "$@"
}

# add_mount DEST TYPE SOURCE OPTION...: append to config.json mounts.
add_mount() {
	local dest=$1 type=$2 src=$3 opts
	shift 3
	opts=$(printf '%s\n' "$@" | jq -R . | jq -sc 'map(select(. != ""))')
	update_config ".mounts += [{\"destination\": \"$dest\", \"type\": \"$type\", \"source\": \"$src\", \"options\": $opts}]"
}

# mount_line PATH: the container's /proc/self/mountinfo line for PATH, from
# $output of a run that printed mountinfo.
mount_line() {
	echo "$output" | awk -v p="$1" '$5 == p' | tail -n 1
}

# optional fields of a mountinfo line (between field 6 and " - ")
optional_fields() {
	echo "$1" | sed -E 's/^([^ ]+ ){6}//; s/(^| )- .*//'
}

@test "root.readonly: / is read-only; a tmpfs on /tmp stays writable" {
	add_mount /tmp tmpfs tmpfs nosuid nodev mode=1777
	run_ctr rro sh -c 'touch /probe; echo "rc=$?"; touch /tmp/probe && echo tmp-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *tmp-ok* ]]
	[ ! -e "$BUNDLE/rootfs/probe" ]
}

@test "root.readonly false: / is writable and writes land in the bundle's rootfs" {
	update_config '.root.readonly = false'
	run_ctr rrw sh -c 'echo hi > /probe && grep " / " /proc/mounts'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *" rw,"* ]]
	[ "$(cat "$BUNDLE/rootfs/probe")" = hi ]
}

@test "bind mounts: rw writes reach the host; ro fails with EROFS" {
	mkdir -p "$BATS_TEST_TMPDIR/rw" "$BATS_TEST_TMPDIR/ro"
	echo from-host >"$BATS_TEST_TMPDIR/ro/file"
	add_mount /data/rw bind "$BATS_TEST_TMPDIR/rw" rbind rw
	add_mount /data/ro bind "$BATS_TEST_TMPDIR/ro" rbind ro
	run_ctr binds sh -c 'echo from-ctr > /data/rw/new && cat /data/ro/file;
		echo x > /data/ro/file; echo "rc=$?"; touch /data/ro/new'
	[ "$status" -ne 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/rw/new")" = from-ctr ]
	[ "${lines[0]}" = from-host ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *"rc=1"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/ro/file")" = from-host ]
	[ ! -e "$BATS_TEST_TMPDIR/ro/new" ]
}

@test "bind mounts: a single file, and a relative source resolved against the bundle" {
	echo one >"$BATS_TEST_TMPDIR/one"
	mkdir -p "$BUNDLE/shared"
	echo rel >"$BUNDLE/shared/x"
	add_mount /etc/one bind "$BATS_TEST_TMPDIR/one" bind ro
	add_mount /rel bind shared rbind ro
	run_ctr bindfile sh -c 'cat /etc/one /rel/x; stat -c %F /etc/one'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = one ]
	[ "${lines[1]}" = rel ]
	[ "${lines[2]}" = "regular file" ]
}

@test "bind mounts: nosuid, nodev and noexec show in /proc/mounts and take effect" {
	mkdir -p "$BATS_TEST_TMPDIR/vol"
	cp "$BUNDLE/rootfs/bin/busybox" "$BATS_TEST_TMPDIR/vol/bb"
	add_mount /vol bind "$BATS_TEST_TMPDIR/vol" rbind rw nosuid nodev noexec
	run_ctr bindopts sh -c 'grep " /vol " /proc/mounts; /vol/bb true; echo "rc=$?"'
	[ "$status" -eq 0 ]
	local opts
	opts=$(echo "${lines[0]}" | awk '{print $4}')
	[[ ",$opts," == *,rw,* ]]
	[[ ",$opts," == *,nosuid,* ]]
	[[ ",$opts," == *,nodev,* ]]
	[[ ",$opts," == *,noexec,* ]]
	[[ "$output" == *"Permission denied"* ]]
	[[ "$output" == *"rc=126"* ]]
}

@test "tmpfs: size=, mode= and nosuid,nodev,noexec" {
	add_mount /scratch tmpfs tmpfs size=4m mode=1750 nosuid nodev noexec
	run_ctr tmpfs sh -c 'stat -c %a /scratch; df -k /scratch | tail -n 1;
		grep " /scratch " /proc/mounts; cp /bin/busybox /scratch/bb && /scratch/bb true; echo "rc=$?"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1750 ]
	[ "$(echo "${lines[1]}" | awk '{print $2}')" = 4096 ]
	local opts
	opts=$(echo "${lines[2]}" | awk '{print $3, $4}')
	[[ "$opts" == "tmpfs "* ]]
	[[ "$opts" == *nosuid* && "$opts" == *nodev* && "$opts" == *noexec* ]]
	[[ "$opts" == *size=4096k* ]]
	[[ "$output" == *"rc=126"* ]]
}

@test "mount propagation: rslave, rshared, rprivate show in mountinfo" {
	local src=$BATS_TEST_TMPDIR/propsrc l
	host_mount -t tmpfs husk-prop "$src"
	mount --make-shared "$src"
	add_mount /p/slave bind "$src" rbind rslave
	add_mount /p/shared bind "$src" rbind rshared
	add_mount /p/private bind "$src" rbind rprivate
	run_ctr prop cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	l=$(optional_fields "$(mount_line /p/slave)")
	[[ "$l" == *master:* && "$l" != *shared:* ]]
	l=$(optional_fields "$(mount_line /p/shared)")
	[[ "$l" == *shared:* ]]
	l=$(optional_fields "$(mount_line /p/private)")
	[ -z "$l" ]
}

@test "mount propagation: a host mount under an rslave bind shows inside, not under rprivate" {
	local src=$BATS_TEST_TMPDIR/propsrc
	host_mount -t tmpfs husk-prop "$src"
	mount --make-shared "$src"
	mkdir "$src/sub"
	add_mount /p/slave bind "$src" rbind rslave
	add_mount /p/private bind "$src" rbind rprivate
	update_config '.root.readonly = false'
	set_args sh -c 'touch /ready; while [ ! -e /p/slave/sub/late ]; do sleep 0.1; done;
		{ ls -A /p/private/sub; echo done; } > /result; sleep 60'
	timeout 20 "$HUSK_RUNTIME" --root "$HUSK_ROOT" run -d -b "$BUNDLE" prop2 </dev/null >/dev/null 2>&1
	local i
	for ((i = 0; i < 100; i++)); do [ -e "$BUNDLE/rootfs/ready" ] && break; sleep 0.05; done
	host_mount -t tmpfs husk-late "$src/sub"
	touch "$src/sub/late"
	for ((i = 0; i < 100; i++)); do [ -e "$BUNDLE/rootfs/result" ] && break; sleep 0.05; done
	[ "$(cat "$BUNDLE/rootfs/result")" = "done" ]
	umount "$src/sub"
}

@test "rootfsPropagation: private leaves / without peers" {
	update_config '.linux.rootfsPropagation = "private"'
	run_ctr rpriv cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	[ -z "$(optional_fields "$(mount_line /)")" ]
}

@test "rootfsPropagation: shared makes / a shared mount" {
	update_config '.linux.rootfsPropagation = "shared"'
	run_ctr rshared cat /proc/self/mountinfo
	echo "$output" | grep -v '^[0-9]' || true
	[ "$status" -eq 0 ]
	[[ "$(optional_fields "$(mount_line /)")" == *shared:* ]]
}

@test "rootfsPropagation: slave/private with a rootfs on a shared host mount start and leak nothing" {
	local before prop
	host_mount --bind "$BUNDLE/rootfs" "$BUNDLE/rootfs"
	mount --make-shared "$BUNDLE/rootfs"
	before=$(grep -c "$BUNDLE" /proc/self/mountinfo)
	for prop in slave private; do
		update_config ".linux.rootfsPropagation = \"$prop\""
		run_ctr "rp-$prop" cat /proc/self/mountinfo
		echo "$prop: status $status: $(echo "$output" | grep -v '^[0-9]' | head -n 3)"
		# none of the container's mounts propagated back to the host
		[ "$(grep -c "$BUNDLE" /proc/self/mountinfo)" -eq "$before" ] || {
			echo "leaked onto the host:"
			grep "$BUNDLE" /proc/self/mountinfo | awk '{print $5}' | sort | uniq -c | head
			return 1
		}
		[ "$status" -eq 0 ]
		if [ "$prop" = slave ]; then
			[[ "$(optional_fields "$(mount_line /)")" == *master:* ]]
		else
			[ -z "$(optional_fields "$(mount_line /)")" ]
		fi
	done
}

@test "default mounts: proc, sysfs read-only, mqueue, devpts newinstance with ptmxmode" {
	run_ctr kfs cat /proc/self/mounts
	[ "$status" -eq 0 ]
	local l
	l=$(echo "$output" | awk '$2 == "/proc"')
	[[ "$l" == "proc /proc proc rw"* ]]
	l=$(echo "$output" | awk '$2 == "/sys"')
	[[ "$l" == "sysfs /sys sysfs ro,"* ]]
	[[ "$l" == *nosuid* && "$l" == *nodev* && "$l" == *noexec* ]]
	l=$(echo "$output" | awk '$2 == "/dev/mqueue"')
	[[ "$l" == "mqueue /dev/mqueue mqueue rw,"* ]]
	l=$(echo "$output" | awk '$2 == "/dev/pts"')
	[[ "$l" == "devpts /dev/pts devpts "* ]]
	[[ "$l" == *ptmxmode=666* && "$l" == *mode=620* && "$l" == *gid=5* ]]
	l=$(echo "$output" | awk '$2 == "/dev/shm"')
	[[ "$l" == *nosuid* && "$l" == *nodev* && "$l" == *noexec* && "$l" == *size=65536k* ]]
}

@test "devpts is a new instance: no host ptys; /dev/ptmx is pts/ptmx" {
	run_ctr pts sh -c 'ls -A /dev/pts; readlink /dev/ptmx; stat -c %a /dev/pts/ptmx'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ptmx ]
	[ "${lines[1]}" = pts/ptmx ]
	[ "${lines[2]}" = 666 ]
}

@test "/dev: the standard devices and links exist and work" {
	run_ctr dev sh -c '
		for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done
		for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
		echo x > /dev/null && echo null-ok
		head -c 4 /dev/urandom | wc -c
		head -c 4 /dev/zero | od -An -tx1
		echo x > /dev/full; echo "full=$?"
		ls /dev/fd/ >/dev/null && echo fd-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"/dev/null character special file 1:3"* ]]
	[[ "$output" == *"/dev/zero character special file 1:5"* ]]
	[[ "$output" == *"/dev/full character special file 1:7"* ]]
	[[ "$output" == *"/dev/random character special file 1:8"* ]]
	[[ "$output" == *"/dev/urandom character special file 1:9"* ]]
	[[ "$output" == *"/dev/tty character special file 5:0"* ]]
	[[ "$output" == *"fd -> /proc/self/fd"* ]]
	[[ "$output" == *"stdin -> /proc/self/fd/0"* ]]
	[[ "$output" == *"stdout -> /proc/self/fd/1"* ]]
	[[ "$output" == *"stderr -> /proc/self/fd/2"* ]]
	[[ "$output" == *"ptmx -> pts/ptmx"* ]]
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *$'\n4\n'* ]]
	[[ "$output" == *" 00 00 00 00"* ]]
	[[ "$output" == *"No space left on device"* ]]
	[[ "$output" == *full=1* ]]
	[[ "$output" == *fd-ok* ]]
}

@test "linux.devices: a char device with the given major/minor/mode/uid/gid" {
	update_config '.linux.devices = [
		{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 1000, "gid": 1001},
		{"path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 420}]'
	run_ctr devices sh -c 'stat -c "%F %t:%T %a %u %g" /dev/mynull /dev/sub/myzero;
		echo x > /dev/mynull && echo write-ok; head -c 2 /dev/sub/myzero | od -An -tx1'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "character special file 1:3 600 1000 1001" ]
	[ "${lines[1]}" = "character special file 1:5 644 0 0" ]
	[ "${lines[2]}" = write-ok ]
	[ "$(echo ${lines[3]})" = "00 00" ]
}

@test "maskedPaths: masked files read empty, masked directories are empty" {
	local f
	for f in /proc/kcore /proc/timer_list /proc/keys; do
		[ -e "$f" ] && break
	done
	[ -e "$f" ] || skip "none of /proc/kcore, /proc/timer_list, /proc/keys here"
	[ -n "$(ls -A /sys/firmware)" ] || skip "/sys/firmware is empty on the host"
	update_config ".linux.maskedPaths = [\"$f\", \"/sys/firmware\", \"/does/not/exist\"]"
	run_ctr masked sh -c "head -c 64 $f | wc -c; ls -A /sys/firmware | wc -l; touch /sys/firmware/x"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[[ "$output" == *"Read-only file system"* ]]
}

@test "readonlyPaths: /proc/sys is read-only inside" {
	local v
	v=$(cat /proc/sys/vm/overcommit_memory)
	# writes the host's own value, so a broken runtime changes nothing
	run_ctr ropaths sh -c "echo $v > /proc/sys/vm/overcommit_memory; echo rc=\$?; grep ' /proc/sys ' /proc/mounts"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *rc=1* ]]
	[[ "$(echo "$output" | grep ' /proc/sys ')" == *" ro,"* ]]
}

@test "symlink escape: an absolute symlink as mount destination stays inside the rootfs" {
	local evil=/tmp/husk-escape-$$-$BATS_TEST_NUMBER
	ESCAPE_DIRS+=("$evil" "$evil-file" "$evil-deep")
	mkdir -p "$evil" "$BATS_TEST_TMPDIR/src" "$BUNDLE/rootfs/mnt"
	echo marker >"$BATS_TEST_TMPDIR/src/m"
	ln -s "$evil" "$BUNDLE/rootfs/mnt/evil"
	ln -s "$evil-file/f" "$BUNDLE/rootfs/mnt/evilfile"
	ln -s "$evil-deep" "$BUNDLE/rootfs/mnt/evildeep"
	add_mount /mnt/evil bind "$BATS_TEST_TMPDIR/src" rbind ro
	add_mount /mnt/evilfile bind "$BATS_TEST_TMPDIR/src/m" bind ro
	add_mount /mnt/evildeep/a/b tmpfs tmpfs size=1m
	run_ctr escape sh -c "cat /mnt/evil/m $evil/m /mnt/evilfile $evil-file/f; grep -c husk-escape /proc/self/mountinfo"
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "marker marker marker marker 3" ]
	# the host paths are untouched: nothing created, nothing mounted
	[ -z "$(ls -A "$evil")" ]
	[ ! -e "$evil-file" ]
	[ ! -e "$evil-deep" ]
	! grep -q husk-escape /proc/self/mountinfo || false
	# the mounts landed inside the rootfs
	[ -d "$BUNDLE/rootfs/$evil" ]
	[ -f "$BUNDLE/rootfs/$evil-file/f" ]
	[ -d "$BUNDLE/rootfs/$evil-deep/a/b" ]
}

@test "symlink escape: a relative ../ symlink as mount destination stays inside the rootfs" {
	local evil=/tmp/husk-escape-$$-$BATS_TEST_NUMBER
	ESCAPE_DIRS+=("$evil")
	mkdir -p "$evil" "$BUNDLE/rootfs/mnt/a"
	ln -s "../../../../../../../../..$evil" "$BUNDLE/rootfs/mnt/a/rel"
	add_mount /mnt/a/rel/sub tmpfs tmpfs size=1m
	add_mount /mnt/dotdot/../../../../../..$evil/direct tmpfs tmpfs size=1m
	run_ctr relescape sh -c "grep husk-escape /proc/self/mountinfo | awk '{print \$5}'"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$evil/sub" ]
	[ "${lines[1]}" = "$evil/direct" ]
	[ -z "$(ls -A "$evil")" ]
	[ -d "$BUNDLE/rootfs/$evil/sub" ]
	! grep -q husk-escape /proc/self/mountinfo || false
}

@test "linux.sysctl: set inside (with the default readonlyPaths), the host's unchanged" {
	local host_shm host_fwd
	host_shm=$(cat /proc/sys/kernel/shm_rmid_forced)
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	update_config ".linux.sysctl = {\"kernel.shm_rmid_forced\": \"$((1 - host_shm))\",
		\"net.ipv4.ip_forward\": \"$((1 - host_fwd))\"}"
	run_ctr sysctl cat /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_forward
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = $((1 - host_shm)) ]
	[ "${lines[1]}" = $((1 - host_fwd)) ]
	[ "$(cat /proc/sys/kernel/shm_rmid_forced)" = "$host_shm" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]
}

@test "linux.sysctl: without readonlyPaths the values are applied" {
	update_config 'del(.linux.readonlyPaths) | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	run_ctr sysctl2 cat /proc/sys/net/ipv4/ip_forward
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

@test "cgroup mount: /sys/fs/cgroup shows the container's own cgroup, read-only" {
	local layout fs name dirs=() types=() d l wfile
	layout=$(host_cgroup_layout)
	[ "$layout" != none ] || skip "no cgroup filesystem at /sys/fs/cgroup on the host"
	# what the container must see, by the host's layout (see cgroup_mounts):
	# v2: its own cgroup2 directory at /sys/fs/cgroup; v1 and hybrid: one
	# directory per hierarchy, named by its controllers, and a hybrid's unified
	if [ "$layout" = v2 ]; then
		dirs=(/sys/fs/cgroup) types=(cgroup2)
	else
		while read -r fs name _ _; do
			dirs+=("/sys/fs/cgroup/$name")
			types+=("$fs")
		done < <(cgroup_mounts)
	fi
	[ ${#dirs[@]} -gt 0 ] || skip "no cgroup hierarchy below /sys/fs/cgroup on the host"
	# a file to write and a directory to create in the first: every v1
	# cgroup has notify_on_release, every cgroup2 one cgroup.max.descendants
	wfile=${dirs[0]}/notify_on_release
	[ "${types[0]}" = cgroup ] || wfile=${dirs[0]}/cgroup.max.descendants
	run_ctr cgmnt sh -c "grep ' /sys/fs/cgroup' /proc/mounts
		for d in ${dirs[*]}; do grep -qx 1 \$d/cgroup.procs && echo own=\$d; done
		echo 0 > $wfile; echo write-rc=\$?
		mkdir ${dirs[0]}/x; echo mkdir-rc=\$?
		[ ! -e ${dirs[0]}/x ] || echo x-created"
	echo "$output"
	[ "$status" -eq 0 ]
	for d in "${dirs[@]}"; do
		# mounted, and pid 1 (the shell) is in the cgroup it sees there
		echo "$output" | awk -v d="$d" '$2 == d {f = 1} END {exit !f}'
		grep -qx "own=$d" <<<"$output"
	done
	while read -r l; do
		[[ "$(echo "$l" | awk '{print $4}')" == ro,* ]] || {
			echo "not read-only: $l"
			return 1
		}
	done < <(echo "$output" | awk '$2 ~ /^\/sys\/fs\/cgroup/')
	[[ "$output" == *"write-rc=1"* ]]
	[[ "$output" == *"$wfile: Read-only file system"* ]]
	[[ "$output" == *"mkdir-rc=1"* ]]
	[[ "$output" == *"can't create directory"*"Read-only file system"* ]]
	[[ "$output" != *x-created* ]]
}

# propagation_src: $SRC, a shared tmpfs on the host holding in/ and out/.
propagation_src() {
	SRC=$BATS_TEST_TMPDIR/propsrc
	host_mount -t tmpfs husk-prop "$SRC"
	mount --make-shared "$SRC"
	mkdir "$SRC/in" "$SRC/out"
}

# propagation_ctr ID VOLPROP: a running container with $SRC at /vol with
# VOLPROP. Once the host has mounted a tmpfs on out/ and touched out/late
# there, the container records what it sees in /vol/out in $SEEN, mounts a
# tmpfs on /vol/in and writes /vol/in/made-inside.
propagation_ctr() {
	local r=$BUNDLE/rootfs
	rm -f "$r/ready" "$r/done" "$r/seen"
	update_config '.mounts |= map(select(.destination != "/vol"))'
	add_mount /vol bind "$SRC" rbind "$2"
	update_config 'del(.linux.seccomp) | .root.readonly = false
		| .process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
	set_args sh -c 'touch /ready; i=0; while [ ! -e /vol/out/late ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
		ls -A /vol/out > /seen.new; mv /seen.new /seen
		mount -t tmpfs husk-inner /vol/in && touch /vol/in/made-inside; touch /done; sleep 600'
	hrun_detached -b "$BUNDLE" "$1"
	wait_file "$r/ready"
	host_mount -t tmpfs husk-late "$SRC/out"
	touch "$SRC/out/late"
	wait_file "$r/done" 300
	SEEN=$(cat "$r/seen")
	echo "$1 ($2): sees [$SEEN] in /vol/out"
}

@test "mount propagation: rshared volume with rootfsPropagation rshared goes both ways (Bidirectional)" {
	update_config '.linux.rootfsPropagation = "rshared"'
	propagation_src
	propagation_ctr bidi rshared
	# host -> container
	[ "$SEEN" = late ]
	# container -> host: the mount made inside is on the host
	mountpoint -q "$SRC/in"
	[ -e "$SRC/in/made-inside" ]
	husk delete -f bidi
	# nothing else of the container reached the host
	[ -z "$(grep -F "$BUNDLE" /proc/self/mountinfo)" ]
}

@test "mount propagation: rslave and rprivate volumes keep the container's mounts from the host" {
	local prop
	update_config '.linux.rootfsPropagation = "rshared"'
	for prop in rslave rprivate; do
		propagation_src
		propagation_ctr "p-$prop" "$prop"
		if [ "$prop" = rslave ]; then [ "$SEEN" = late ]; else [ -z "$SEEN" ]; fi
		if mountpoint -q "$SRC/in"; then
			echo "$prop: the container's mount reached the host"
			return 1
		fi
		husk delete -f "p-$prop"
		umount -R -l "$SRC"
	done
}

@test "mount propagation: an rshared volume without rootfsPropagation rshared stays a one-way slave" {
	propagation_src
	propagation_ctr oneway rshared
	[ "$SEEN" = late ]
	if mountpoint -q "$SRC/in"; then
		echo "the container's mount reached the host"
		return 1
	fi
}

@test "rootfsPropagation: rshared on a host whose / is rshared leaves the host's mounts alone" {
	# As on a systemd host: a mount namespace of the test's own whose / is
	# rshared. The container's old root holds peers of the host's mounts;
	# detaching it must not unmount the host's /proc, /sys, /dev, ...
	local prop marker=$BATS_TEST_TMPDIR/marker
	mkdir -p "$marker"
	for prop in rshared shared rslave; do
		update_config ".linux.rootfsPropagation = \"$prop\""
		set_args true
		run unshare -m --propagation unchanged bash -c '
			mount --make-rshared / && mount -t tmpfs husk-marker "$4" || exit 20
			"$0" --root "$1" run -b "$2" "ns-$3" </dev/null || exit 21
			for m in /proc /sys /dev "$4"; do
				mountpoint -q "$m" || { echo "$m was unmounted"; exit 22; }
			done' "$HUSK_RUNTIME" "$HUSK_ROOT" "$BUNDLE" "$prop" "$marker"
		echo "$prop: status $status: $output"
		[ "$status" -eq 0 ]
	done
	assert_gone
}
