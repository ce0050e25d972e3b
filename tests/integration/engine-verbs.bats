#!/usr/bin/env bats
# The engine's verbs on a container's processes and files: top, stats,
# export, diff, commit, cp. As root, with a private store and run root
# (HUSK_STORAGE_ROOT, HUSK_RUN_ROOT); every container is removed and
# nothing may be left (mounts, dirs, holds, state, cgroups) after each test.
load helpers
bats_require_minimum_version 1.5.0

load engine-helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }

setup() { skip_unless_root; }

teardown() {
	[ "$(id -u)" = 0 ] || return 0
	remove_all_and_check
}

# started NAME [CMD...]: a detached busybox container (sleep by default).
started() {
	local name=$1
	shift
	[ $# -gt 0 ] || set -- sleep 1000
	hk run -d --name "$name" busybox "$@" >/dev/null
}

@test "top: the container's processes as ps -ef shows them" {
	started t1
	hk exec -d t1 sleep 999
	run hk top t1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]]
	[ "${#lines[@]}" -eq 3 ]
	local pid
	pid=$(hk inspect t1 | jq -r '.[0].State.Pid')
	[[ "$output" =~ root\ +$pid\ +[0-9]+\ +[0-9]+\ +[0-9:A-Za-z]+\ +\?\ +00:00:0[0-9]\ +sleep\ 1000 ]]
	[[ "$output" == *"sleep 999"* ]]
}

@test "top: with ps options, ps's columns for the container's pids only" {
	ps --version 2>/dev/null | grep -q procps || skip "no procps ps"
	started t2
	run hk top t2 -o pid,comm
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^\ *PID\ COMMAND$ ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" =~ ^\ *[0-9]+\ sleep$ ]]
	run hk top t2 -o comm
	one_line_125
	[[ "$output" == *"no PID column"* ]]
}

@test "top: a stopped or unknown container, a flag before it: 125, one line" {
	hk create --name t3 busybox true >/dev/null
	run hk top t3
	one_line_125
	[[ "$output" == *"not running"* ]]
	run hk top nosuch
	one_line_125
	run hk top --bogus t3
	one_line_125
	run hk top
	one_line_125
}

@test "stats --no-stream: the container's row with its memory and pids" {
	started s1
	run hk stats --no-stream s1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]]
	[ "${#lines[@]}" -eq 2 ]
	local id
	id=$(hk ps -q -f name=s1)
	[[ "${lines[1]}" =~ ^$id\ +s1\ +[0-9]+\.[0-9]{2}%\ +[0-9.]+(B|KiB|MiB|GiB)\ /\ [0-9.]+(KiB|MiB|GiB|TiB)\ +[0-9]+\.[0-9]{2}%\ +.*\ 1$ ]]
	run hk stats --no-stream --format json s1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Name)" = s1 ]
	[ "$(echo "$output" | jq -r .PIDs)" = 1 ]
	[[ "$(echo "$output" | jq -r .MemUsage)" != 0B\ /* ]]
}

@test "stats --no-stream: without names, the running containers; -a all" {
	started s2
	hk create --name s3 busybox true >/dev/null
	run hk stats --no-stream
	[ "$status" -eq 0 ]
	[[ "$output" == *" s2 "* ]]
	[[ "$output" != *" s3 "* ]]
	run hk stats --no-stream -a --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r 'select(.Name == "s3") | .PIDs')" = 0 ]
	run hk stats --no-stream nosuch
	one_line_125
	run hk stats --no-stream --bogus
	one_line_125
	run hk stats --no-stream --format yaml
	one_line_125
}

@test "export: a running container's filesystem as a tar" {
	started e1
	hk exec e1 sh -c 'echo made > /made'
	hk export e1 >"$BATS_TEST_TMPDIR/e1.tar"
	run tar tf "$BATS_TEST_TMPDIR/e1.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nbin/busybox\n'* ]]
	[[ "$output" == *$'\nmade'* ]]
	[ "$(tar xOf "$BATS_TEST_TMPDIR/e1.tar" made)" = made ]
	# a symlink is in the tar as a symlink
	run tar tvf "$BATS_TEST_TMPDIR/e1.tar" bin/sh
	[[ "$output" == *"bin/sh -> /bin/busybox"* ]]
}

@test "export -o: a stopped container, mounted for it alone and unmounted after" {
	hk run --name e2 busybox sh -c 'echo gone > /left-behind'
	run hk export -o "$BATS_TEST_TMPDIR/e2.tar" e2
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(tar xOf "$BATS_TEST_TMPDIR/e2.tar" left-behind)" = gone ]
	[ -z "$(grep -F "$HUSK_STORAGE_ROOT" /proc/self/mountinfo)" ]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep tmp-)" ]
	# still startable: its rootfs was left as it was
	hk start e2
	run hk export -o "$BATS_TEST_TMPDIR/x.tar" nosuch
	one_line_125
	[ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
	run hk export e2 e2
	one_line_125
}

@test "diff: added, changed and deleted, in path order" {
	started d1
	hk exec d1 sh -c 'touch /new; echo x >> /etc/passwd; rm /bin/rm; mkdir /tmp/d'
	run hk diff d1
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' 'C /bin' 'D /bin/rm' 'C /etc' 'C /etc/passwd' \
		'A /new' 'C /tmp' 'A /tmp/d')" ]
}

@test "diff: a directory removed and made again hides all it had" {
	# (not /etc: /etc/hosts and the like are mount points, which rm cannot remove)
	local f expected='C /usr'$'\n''C /usr/sbin'
	for f in $(hk run --rm busybox ls /usr/sbin); do
		[ "$f" = chroot ] && expected+=$'\n''C /usr/sbin/chroot' || expected+=$'\n'"D /usr/sbin/$f"
	done
	hk run --name d2 busybox sh -c 'rm -rf /usr/sbin; mkdir /usr/sbin; echo new > /usr/sbin/chroot'
	run hk diff d2
	[ "$status" -eq 0 ]
	[ "$output" = "$expected" ]
	hk create --name d3 busybox true >/dev/null
	run hk diff d3
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run hk diff nosuch
	one_line_125
	run hk diff -x d3
	one_line_125
}

@test "commit: the new image has the added file, not the deleted one" {
	started c1
	hk exec c1 sh -c 'echo hello > /file; rm /bin/rm; rm -rf /usr/sbin; mkdir /usr/sbin; echo h > /usr/sbin/only'
	run hk commit -m "a message" -a "an author" c1 committed:v1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	local id=${output#sha256:}
	run hk images
	[[ "$output" =~ committed\ +v1\ +${id:0:12} ]]
	run hk run --rm committed:v1 cat /file
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	run hk run --rm committed:v1 ls /bin/rm
	[ "$status" -ne 0 ]
	run hk run --rm committed:v1 ls -A /usr/sbin
	[ "$output" = only ]
	# the layer says so as OCI does (whiteout files), not as overlay does
	local config=$HUSK_STORAGE_ROOT/blobs/sha256/$id layer
	layer=$(jq -r '.rootfs.diff_ids[-1]' "$config")
	run tar tf "$HUSK_STORAGE_ROOT/blobs/sha256/${layer#sha256:}"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nbin/.wh.rm\n'* ]]
	[[ "$output" == *$'\nusr/sbin/.wh..wh..opq\n'* ]]
	[[ "$output" == *$'\nfile'* ]]
	# its config: the container's command, and the history entry
	[ "$(jq -c .config.Cmd "$config")" = '["sleep","1000"]' ]
	[ "$(jq -r '.history[-1].comment' "$config")" = "a message" ]
	[ "$(jq -r '.history[-1].author' "$config")" = "an author" ]
	[ "$(jq -r '.history[-1].created_by' "$config")" = "sleep 1000" ]
	[ "$(jq '.rootfs.diff_ids | length' "$config")" = 2 ]
	# paused for the commit, running after it
	run hk exec c1 echo alive
	[ "$output" = alive ]
}

@test "commit -c: CMD, ENV, WORKDIR applied; a stopped container; no name" {
	hk run --name c2 busybox sh -c 'echo data > /data'
	run hk commit -c 'CMD ["sh", "-c", "echo $A $(pwd) $(cat /data)"]' -c 'ENV A=1' \
		-c 'WORKDIR /tmp' c2 changed
	[ "$status" -eq 0 ]
	run hk run --rm changed
	[ "$status" -eq 0 ]
	[ "$output" = "1 /tmp data" ]
	run hk commit c2
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run hk images
	[[ "$output" == *"<none>"* ]]
}

@test "commit: bad input is refused before anything is made" {
	hk create --name c3 busybox true >/dev/null
	local before
	before=$(hk images | wc -l)
	run hk commit c3 'Bad Name'
	one_line_125
	run hk commit -c 'FROB x' c3
	one_line_125
	run hk commit -c 'CMD [oops' c3
	one_line_125
	run hk commit --pause=maybe c3
	one_line_125
	run hk commit nosuch
	one_line_125
	run hk commit
	one_line_125
	[ "$(hk images | wc -l)" = "$before" ]
}

@test "cp: host to container and back, files and directories" {
	started p1
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/dir/sub"
	echo one >"$t/file"
	chmod 640 "$t/file"
	echo two >"$t/dir/sub/two"
	ln -s /etc/passwd "$t/dir/link"
	hk cp "$t/file" p1:/tmp/
	hk cp "$t/file" p1:/tmp/renamed
	hk cp "$t/dir" p1:/tmp
	hk cp "$t/dir" p1:/newdir
	run hk exec p1 sh -c 'cat /tmp/file /tmp/renamed /tmp/dir/sub/two /newdir/sub/two;
		stat -c "%a %u" /tmp/file; readlink /tmp/dir/link'
	[ "$output" = "$(printf '%s\n' one one two two '640 0' /etc/passwd)" ]
	# and back
	hk exec p1 sh -c 'mkdir -p /out/deep && echo inside > /out/deep/f'
	hk cp p1:/out "$t/back"
	[ "$(cat "$t/back/deep/f")" = inside ]
	hk cp p1:/out/deep/f "$t/back/"
	[ "$(cat "$t/back/f")" = inside ]
	hk cp p1:/out/. "$t"
	[ "$(cat "$t/deep/f")" = inside ]
	# a symlink as a symlink, -L the file it names
	hk cp p1:/bin/sh "$t/sh-link"
	[ "$(readlink "$t/sh-link")" = /bin/busybox ]
	hk cp -L p1:/etc/../bin/sh "$t/sh-file"
	[ -f "$t/sh-file" ]
	[ ! -L "$t/sh-file" ]
}

@test "cp: a stopped container's files, both ways" {
	hk run --name p2 busybox sh -c 'echo before > /f'
	echo after >"$BATS_TEST_TMPDIR/g"
	hk cp "$BATS_TEST_TMPDIR/g" p2:/g
	hk cp p2:/f "$BATS_TEST_TMPDIR/f"
	[ "$(cat "$BATS_TEST_TMPDIR/f")" = before ]
	[ -z "$(grep -F "$HUSK_STORAGE_ROOT" /proc/self/mountinfo)" ]
	run hk start -a p2
	run hk diff p2
	[[ "$output" == *"A /g"* ]]
	hk rm p2 >/dev/null
	hk run --name p3 busybox true
	hk cp "$BATS_TEST_TMPDIR/g" p3:/g
	run hk start -a p3
	hk commit p3 withg >/dev/null
	run hk run --rm withg cat /g
	[ "$output" = after ]
}

@test "cp: the container's symlinks never lead out of its rootfs" {
	started p4
	local t=$BATS_TEST_TMPDIR
	echo host > "$t/victim"
	echo payload > "$t/payload"
	hk exec p4 sh -c "ln -s / /tmp/root; ln -s ../../../../../../..$t /tmp/up;
		ln -s $t/victim /tmp/vlink"
	# an absolute link is the container's root
	hk cp "$t/payload" p4:/tmp/root/landed
	[ ! -e /landed ]
	run hk exec p4 cat /landed
	[ "$output" = payload ]
	# .. stops at the root: the host's directory is not reached
	run hk cp "$t/payload" p4:/tmp/up/victim
	one_line_125
	run hk cp p4:/tmp/up/victim "$t/stolen"
	one_line_125
	[ ! -e "$t/stolen" ]
	# a link as the destination is followed inside the container only
	run hk cp "$t/payload" p4:/tmp/vlink
	one_line_125
	[ "$(cat "$t/victim")" = host ]
}

@test "cp: bad input is one line and 125" {
	started p5
	local t=$BATS_TEST_TMPDIR
	echo x >"$t/f"
	mkdir "$t/d"
	run hk cp "$t/f" "$t/g"
	one_line_125
	run hk cp p5:/a p5:/b
	one_line_125
	run hk cp nosuch:/a "$t"
	one_line_125
	run hk cp p5:/nothing "$t"
	one_line_125
	run hk cp "$t/f" p5:/no/such/dir/
	one_line_125
	run hk cp "$t/d" p5:/etc/passwd
	one_line_125
	run hk cp p5:/etc/passwd/ "$t"
	one_line_125
	run hk cp -z "$t/f" p5:/
	one_line_125
	run hk cp "$t/f"
	one_line_125
}
