# SPDX-License-Identifier: MIT
# Sourced by tests/run.sh and tests/sanitize.sh.

# count_tap FILE: adds a TAP stream's results to the totals PASS, SKIP, FAIL.
count_tap() {
	local p s f
	p=$(grep -cE '^ok ' "$1")
	s=$(grep -cE '^ok .*# (SKIP|skip)' "$1")
	f=$(grep -cE '^not ok ' "$1")
	PASS=$((PASS + p - s))
	SKIP=$((SKIP + s))
	FAIL=$((FAIL + f))
}
