# The host's cgroup layout, for test files that look at a container's cgroup
# from outside without loading tools/cg-lib.bash (which bounds every runtime
# call with its HUSK_TIMEOUT). Nothing here guesses a path: directories come
# from /proc/self/mountinfo and /proc/PID/cgroup, so a test asserts the right
# thing on a pure v2 host, a v1 host and a hybrid one (v1 hierarchies plus a
# cgroup2 mount at /sys/fs/cgroup/unified), as the runtime sees them.

# host_cgroup_layout: v2, hybrid, v1 or none.
host_cgroup_layout() {
	case $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) in
	cgroup2fs) echo v2 ;;
	tmpfs)
		if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
			echo hybrid
		else
			echo v1
		fi
		;;
	*) echo none ;;
	esac
}

# cgroup_mounts: "FSTYPE NAME ROOT MOUNTPOINT" for every cgroup mount at or
# below /sys/fs/cgroup that the runtime uses. NAME is what it names the
# hierarchy, and the container's directory for it below its /sys/fs/cgroup:
# a v1 hierarchy's controllers from its super options ("cpu,cpuacct"; named
# hierarchies such as name=systemd are left out), "unified" for cgroup2.
cgroup_mounts() {
	awk '{
		for (i = 7; i <= NF && $i != "-"; i++)
			;
		fs = $(i + 1)
		if (fs != "cgroup" && fs != "cgroup2")
			next
		if ($5 != "/sys/fs/cgroup" && index($5, "/sys/fs/cgroup/") != 1)
			next
		name = "unified"
		if (fs == "cgroup") {
			name = $(i + 3)
			if (sub(/^[^,]*,/, "", name) == 0 || name ~ /(^|,)name=/)
				next
		}
		print fs, name, $4, $5
	}' /proc/self/mountinfo
}

# pid_cgroup_dir PID CONTROLLER: the host directory of PID's cgroup for
# CONTROLLER: in the v1 hierarchy holding it where the host has one, else in
# the cgroup2 hierarchy (pure v2, or the unified one of a hybrid host, where
# the runtime then looks too). CONTROLLER "" asks for the cgroup2 directory.
# Fails with a message on stderr when there is neither.
pid_cgroup_dir() {
	local pid=$1 c=$2 fs name root mnt ctrls path
	local v2_root="" v2_mnt=""
	while read -r fs name root mnt; do
		if [ "$fs" = cgroup2 ]; then
			v2_root=$root v2_mnt=$mnt
			continue
		fi
		if [ -z "$c" ] || [[ ",$name," != *",$c,"* ]]; then
			continue
		fi
		while IFS=: read -r _ ctrls path; do
			[ "$ctrls" = "$name" ] || continue
			# a mount of a sub-tree: /proc/PID/cgroup is from the hierarchy's root
			[ "$root" = / ] || path=${path#"$root"}
			echo "$mnt${path%/}"
			return 0
		done <"/proc/$pid/cgroup"
		echo "pid $pid is in no $name cgroup: $(cat "/proc/$pid/cgroup" 2>&1)" >&2
		return 1
	done < <(cgroup_mounts)
	if [ -n "$v2_mnt" ]; then
		path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
		if [ -n "$path" ]; then
			[ "$v2_root" = / ] || path=${path#"$v2_root"}
			echo "$v2_mnt${path%/}"
			return 0
		fi
	fi
	echo "no cgroup of pid $pid for ${c:-cgroup2}: $(cat "/proc/$pid/cgroup" 2>&1)" >&2
	return 1
}

# freezer_state DIR: the freezer state of the cgroup directory DIR: v1's
# freezer.state (THAWED, FREEZING, FROZEN), or the same words from cgroup2's
# cgroup.freeze (asked for) and cgroup.events (reached). Fails when DIR has
# neither (a hierarchy's root, or a container's cgroup gone).
freezer_state() {
	if [ -e "$1/freezer.state" ]; then
		cat "$1/freezer.state"
	elif [ ! -e "$1/cgroup.freeze" ]; then
		echo "no freezer file in $1" >&2
		return 1
	elif grep -qx 'frozen 1' "$1/cgroup.events"; then
		echo FROZEN
	elif [ "$(cat "$1/cgroup.freeze")" = 1 ]; then
		echo FREEZING
	else
		echo THAWED
	fi
}

# wait_freezer_state DIR STATE: until freezer_state DIR is STATE (5 s).
wait_freezer_state() {
	local i s
	for ((i = 0; i < 50; i++)); do
		s=$(freezer_state "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	echo "freezer of $1: $s, not $2"
	return 1
}
