# Helpers shared by exec.bats and cgroups.bats (loaded after helpers.bash,
# which has the runtime-call, waiting and cleanup helpers).
#
# Every runtime call is bounded (HUSK_TIMEOUT, see husk() in helpers.bash: a
# hang detector, not a speed limit; these files also run under ASan and in the
# emulated cgroup v2 guest, and bats' per-test limit is 300 s);
# containers are found from the host through /proc/<init pid>/cgroup joined
# with the hierarchy's mount point (never by a guessed path), so the same
# tests run on cgroup v1 and on a pure v2 host.

HUSK_TIMEOUT=${HUSK_TIMEOUT:-60}

# pid_gone PID: PID is gone, or goes within 5 s (unlike helpers.bash's, which
# checks once: here a killed process may still be on its way out).
pid_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		pid_alive "$1" || return 0
		sleep 0.05
	done
	echo "process $1 is still alive"
	return 1
}

# --- cgroup layout ------------------------------------------------------------

# cg_layout: v1 (tmpfs of hierarchies at /sys/fs/cgroup) or v2 (cgroup2fs).
cg_layout() {
	case $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) in
	tmpfs) echo v1 ;;
	cgroup2fs) echo v2 ;;
	*) echo none ;;
	esac
}

skip_unless_cgroups() {
	CG=$(cg_layout)
	[ "$CG" != none ] || skip "no cgroup hierarchy at /sys/fs/cgroup"
}

# cg_mount CONTROLLER: "ROOT MOUNTPOINT" of the v1 hierarchy holding it (or
# of the v2 hierarchy at /sys/fs/cgroup); nothing when there is none.
cg_mount() {
	local line pre post fstype super opt
	while IFS= read -r line; do
		pre=${line%% - *}
		post=${line#* - }
		read -r fstype _ super <<<"$post"
		read -r _ _ _ root mnt _ <<<"$pre"
		if [ "$CG" = v2 ]; then
			if [ "$fstype" = cgroup2 ] && [ "$mnt" = /sys/fs/cgroup ]; then
				echo "$root $mnt"
				return 0
			fi
			continue
		fi
		[ "$fstype" = cgroup ] || continue
		for opt in ${super//,/ }; do
			if [ "$opt" = "$1" ]; then
				echo "$root $mnt"
				return 0
			fi
		done
	done </proc/self/mountinfo
	return 1
}

# cg_has CONTROLLER: the controller exists on this host (v1: a mounted
# hierarchy; v2: listed in the root's cgroup.controllers).
cg_has() {
	if [ "$CG" = v1 ]; then
		[ -n "$(cg_mount "$1")" ]
	elif [ "$1" = freezer ]; then
		# v2 freezes through the core file cgroup.freeze (kernel >= 5.2)
		cg_probe_has freezer cgroup.freeze >/dev/null
	else
		grep -qw -- "$1" /sys/fs/cgroup/cgroup.controllers
	fi
}

# cg_probe_has CONTROLLER FILE...: whether a new child cgroup of the
# hierarchy root gets one of these files (some exist only below the root,
# some only with an I/O scheduler or kernel option). Prints the first found.
cg_probe_has() {
	local m dir f rc=1 c=$1
	shift
	m=$(cg_mount "$c") || return 1
	dir=${m#* }/husk-probe-$$-${BATS_TEST_NUMBER:-0}
	mkdir "$dir" || return 1
	for f; do
		if [ -e "$dir/$f" ]; then
			echo "$f"
			rc=0
			break
		fi
	done
	rmdir "$dir"
	return $rc
}

# skip_unless_controller CONTROLLER...
skip_unless_controller() {
	local c
	for c; do
		[ "$CG" = v2 ] && [ "$c" = blkio ] && c=io
		cg_has "$c" || skip "no $c controller"
	done
}

# cg_path PID CONTROLLER: PID's cgroup in that hierarchy, from /proc/PID/cgroup.
cg_path() {
	local id ctrls path c
	while IFS=: read -r id ctrls path; do
		if [ "$CG" = v2 ]; then
			[ "$id" = 0 ] && [ -z "$ctrls" ] && echo "$path" && return 0
			continue
		fi
		for c in ${ctrls//,/ }; do
			[ "$c" = "$2" ] && echo "$path" && return 0
		done
	done <"/proc/$1/cgroup"
	echo "no $2 cgroup for pid $1: $(cat "/proc/$1/cgroup" 2>&1)" >&2
	return 1
}

# cg_dir PID CONTROLLER: the directory of PID's cgroup for CONTROLLER on the
# host (v2: the unified directory whatever the controller).
cg_dir() {
	local m root mnt path
	m=$(cg_mount "$2") || {
		echo "no hierarchy for $2" >&2
		return 1
	}
	read -r root mnt <<<"$m"
	path=$(cg_path "$1" "$2") || return 1
	# a mount of a sub-tree: /proc/PID/cgroup paths are from the hierarchy root
	[ "$root" != / ] && path=${path#"$root"}
	echo "$mnt$path"
}

# cg_read PID CONTROLLER FILE: one file of PID's cgroup.
cg_read() {
	local d
	d=$(cg_dir "$1" "$2") || return 1
	cat "$d/$3"
}

# cg_pick V1-NAME V2-NAME: the name for this layout.
cg_pick() { if [ "$CG" = v2 ]; then echo "$2"; else echo "$1"; fi; }

# cg_all_dirs NAME: every cgroup directory named NAME, at any depth (v1's
# memory hierarchy nests relative cgroups below the runtime's own).
cg_all_dirs() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d -name "$1" 2>/dev/null
}

# cg_remove_all NAME-GLOB: rmdir every cgroup directory matching (teardown).
cg_remove_all() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -depth -type d -name "$1" \
		-exec rmdir {} \; 2>/dev/null
	return 0
}
