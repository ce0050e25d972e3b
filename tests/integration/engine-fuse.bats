#!/usr/bin/env bats
# The engine on fuse-overlayfs (HUSK_OVERLAY=fuse, or where the kernel's
# overlay fails its probe), as root: the mount, its daemon gone with the
# container, commit and diff of its upper dir, and the driver's choice.
# The same as an ordinary user: engine-rootless.bats.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() {
	skip_unless_root
	[ -e /dev/fuse ] || skip "no /dev/fuse (modprobe fuse)"
	command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs is not installed (Debian: fuse-overlayfs)"
	export HUSK_OVERLAY=fuse
}

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	remove_all_and_check
	# a fresh store's default network is its own
	[ "$HUSK_STORAGE_ROOT" = "$BATS_FILE_TMPDIR/storage" ] || engine_net_remove
	wait_for 5 no_fuse_daemon || { echo "fuse-overlayfs left: $(fuse_daemons)"; return 1; }
	# the overlay the last test put the store on, were it to fail half-way
	[ -z "${OVL_MOUNT:-}" ] || umount "$OVL_MOUNT" 2>/dev/null || true
}

# The fuse-overlayfs daemons of this file's store (a zombie has no
# command line: only live ones match).
fuse_daemons() { pgrep -a -f "^fuse-overlayfs .*$HUSK_STORAGE_ROOT/" || true; }
no_fuse_daemon() { [ -z "$(fuse_daemons)" ]; }

# rootfs_fs ID: the file system type of the container's rootfs mount.
rootfs_fs() {
	awk -v m="$HUSK_STORAGE_ROOT/containers/$1/rootfs" '$5 == m {
		for (i = 6; $i != "-"; i++) {}
		print $(i + 1) }' /proc/self/mountinfo
}

@test "fuse: run --rm echo; info names fuse-overlayfs and why" {
	run hk run --rm busybox echo hello
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run hk info
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'" Storage Driver: fuse-overlayfs"$'\n'"  Driver Chosen Because: HUSK_OVERLAY=fuse"$'\n'* ]]
}

@test "fuse: run -d, exec, stop, start, rm: the mount is fuse-overlayfs's, nothing left after" {
	local id
	id=$(hk run -d --name f1 busybox sh -c 'echo data > /made; exec sleep 1000')
	[ "$(rootfs_fs "$id")" = fuse.fuse-overlayfs ]
	[ -n "$(fuse_daemons)" ]
	run hk exec f1 cat /made
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	# a non-root user in the container reads and writes through it too
	run hk exec -u 1000 f1 sh -c 'echo mine > /tmp/u; cat /tmp/u; ls /bin/sh'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = mine ]
	hk stop -t 1 f1
	wait_for 5 no_fuse_daemon
	[ -z "$(rootfs_fs "$id")" ]
	hk start f1
	[ "$(rootfs_fs "$id")" = fuse.fuse-overlayfs ]
	run hk exec f1 cat /made
	[ "$output" = data ]
	hk rm -f f1
	wait_for 5 no_fuse_daemon
	nothing_left
}

@test "fuse: diff and commit of a deleted file and a remade dir; the image runs on fuse" {
	hk run -d --name c1 busybox sleep 1000 >/dev/null
	hk exec c1 sh -c 'echo hello > /file; rm /bin/rm; rm -rf /usr/sbin; mkdir /usr/sbin; echo h > /usr/sbin/only'
	run hk diff c1
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n''D /bin/rm'$'\n'* ]]
	[[ "$output" == *$'\n''A /file'$'\n'* ]]
	[[ "$output" == *$'\n''A /usr/sbin/only'* ]]
	[[ "$output" == *'D /usr/sbin/chroot'* ]]
	[[ "$output" != *.wh.* ]]
	run hk commit c1 fused:v1
	[ "$status" -eq 0 ]
	local id=${output#sha256:} layer
	layer=$(jq -r '.rootfs.diff_ids[-1]' "$HUSK_STORAGE_ROOT/blobs/sha256/$id")
	run tar tf "$HUSK_STORAGE_ROOT/blobs/sha256/${layer#sha256:}"
	[ "$status" -eq 0 ]
	# OCI's whiteouts, once each; none of fuse-overlayfs's bookkeeping
	[ "$(grep -cx 'bin/.wh.rm' <<<"$output")" = 1 ]
	[ "$(grep -cx 'usr/sbin/.wh..wh..opq' <<<"$output")" = 1 ]
	[ "$(grep -c 'wh\.\.wh\.' <<<"$output")" = 1 ]
	run hk run --rm fused:v1 cat /file
	[ "$output" = hello ]
	run hk run --rm fused:v1 ls /bin/rm
	[ "$status" -ne 0 ]
	run hk run --rm fused:v1 ls -A /usr/sbin
	[ "$output" = only ]
	hk rm -f c1
	hk rmi fused:v1 >/dev/null
}

@test "fuse: a killed fuse-overlayfs: rm -f cleans up; a stopped one starts again" {
	local id pid
	id=$(hk run -d --name k1 busybox sleep 1000)
	pid=$(pgrep -f "^fuse-overlayfs .*$HUSK_STORAGE_ROOT/containers/$id/")
	kill -KILL "$pid"
	hk stop -t 1 k1
	[ -z "$(rootfs_fs "$id")" ]
	hk start k1
	run hk exec k1 echo back
	[ "$output" = back ]
	pid=$(pgrep -f "^fuse-overlayfs .*$HUSK_STORAGE_ROOT/containers/$id/")
	kill -KILL "$pid"
	hk rm -f k1
	nothing_left
}

@test "fuse: a busy rootfs, detached at rm: its daemon is ended with it, not left serving the holder" {
	local id holder
	id=$(hk run -d --name b1 busybox sleep 1000)
	# a process of the host with its working directory in the rootfs:
	# umount fails EBUSY, the mount is detached
	(cd "$HUSK_STORAGE_ROOT/containers/$id/rootfs" && exec sleep 1000) 3>&- &
	holder=$!
	hk rm -f b1
	no_fuse_daemon || { echo "left: $(fuse_daemons)"; kill "$holder"; return 1; }
	run ls "/proc/$holder/cwd/"
	kill "$holder"
	[[ "$output" == *"not connected"* ]]
	nothing_left
}

@test "fuse: cp out of a stopped container mounts and unmounts it" {
	hk run --name s1 busybox sh -c 'echo kept > /kept' >/dev/null
	hk cp s1:/kept "$BATS_TEST_TMPDIR/kept"
	[ "$(cat "$BATS_TEST_TMPDIR/kept")" = kept ]
	[ -z "$(rootfs_fs "$(hk inspect s1 | jq -r '.[0].Id')")" ]
	wait_for 5 no_fuse_daemon
}

@test "HUSK_OVERLAY: a bad value is one line and exit 125, nothing made" {
	HUSK_OVERLAY=zfs run hk run --rm busybox true
	one_line_125
	[ "$output" = 'husk: HUSK_OVERLAY=`zfs`: expected `kernel` or `fuse`' ]
	HUSK_OVERLAY=zfs run hk ps
	one_line_125
	nothing_left
}

@test "overlay driver: probed once per kernel release, cached; a container keeps its driver" {
	unset HUSK_OVERLAY
	local cache=$HUSK_STORAGE_ROOT/overlay-driver id
	rm -f "$cache"
	run hk info
	[ "$status" -eq 0 ]
	# this kernel's overlay works (the probe mounts one)
	[[ "$output" == *" Storage Driver: overlay"$'\n'"  Driver Chosen Because: kernel overlay: works"$'\n'* ]]
	[ "$(sed -n 1p "$cache")" = kernel ]
	[ "$(sed -n 2p "$cache")" = "$(uname -r)" ]
	[ -z "$(ls "$HUSK_STORAGE_ROOT" | grep overlay-probe)" ]
	# the cached verdict is taken as it is for this release...
	printf 'fuse\n%s\nsaid so\n' "$(uname -r)" >"$cache"
	run hk info
	[[ "$output" == *" Storage Driver: fuse-overlayfs"$'\n'"  Driver Chosen Because: said so"$'\n'* ]]
	id=$(hk run -d busybox sleep 1000)
	[ "$(rootfs_fs "$id")" = fuse.fuse-overlayfs ]
	# ...and probed again for another
	printf 'fuse\n0.0-old\nsaid so\n' >"$cache"
	run hk info
	[[ "$output" == *" Storage Driver: overlay"$'\n'* ]]
	# the container stays on the driver its upper dir was written by
	hk stop -t 1 "$id"
	hk start "$id"
	[ "$(rootfs_fs "$id")" = fuse.fuse-overlayfs ]
	id=$(hk run -d busybox sleep 1000)
	[ "$(rootfs_fs "$id")" = overlay ]
}

@test "overlay driver: a storage root on overlayfs (husk in a container): fuse-overlayfs, chosen alone" {
	unset HUSK_OVERLAY
	# the kernel refuses an overlayfs as an overlay's upper dir, and 0/0
	# devices and trusted.overlay.* xattrs on it: the layers get
	# fuse-overlayfs's whiteout files instead
	local base=$BATS_TEST_TMPDIR/ovl id
	mkdir -p "$base"/{lower,upper,work,merged}
	mount -t overlay overlay -o "lowerdir=$base/lower,upperdir=$base/upper,workdir=$base/work" \
		"$base/merged" || skip "cannot mount an overlay here"
	export OVL_MOUNT=$base/merged
	export HUSK_STORAGE_ROOT=$base/merged/storage
	run hk info
	[[ "$output" == *" Storage Driver: fuse-overlayfs"$'\n'"  Driver Chosen Because: kernel overlay: mount the overlay at"*"Invalid argument"$'\n'* ]]
	id=$(hk run -d busybox sleep 1000)
	[ "$(rootfs_fs "$id")" = fuse.fuse-overlayfs ]
	hk exec "$id" sh -c 'rm /bin/ls; rm -rf /usr/sbin; mkdir /usr/sbin; touch /usr/sbin/x'
	hk commit "$id" inovl:v1 >/dev/null
	hk rm -f "$id"
	run hk run --rm inovl:v1 test -e /bin/ls
	[ "$status" -eq 1 ]
	run hk run --rm inovl:v1 busybox ls -A /usr/sbin
	[ "$output" = x ]
	id=$(hk create inovl:v1 sh -c 'echo back > /bin/ls')
	hk start -a "$id"
	run hk diff "$id"
	[ "$output" = "$(printf '%s\n' 'C /bin' 'A /bin/ls')" ]
	hk rm -f "$id"
	hk rmi inovl:v1 >/dev/null
	remove_all_and_check
	wait_for 5 no_fuse_daemon
	umount "$base/merged"
	unset OVL_MOUNT
}
