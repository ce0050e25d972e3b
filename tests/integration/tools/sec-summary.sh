#!/bin/bash
# SPDX-License-Identifier: MIT
# sec-summary.sh [BATS-ARGS...]: runs tests/integration/security.bats and
# prints the attacks and their outcomes as a Markdown table, then the tests
# that failed. Exits with bats' status.
#
# The table is made of the "# attack: WHAT | default: X | privileged: Y"
# lines each test prints on fd 3 (before its assertions, so failing tests
# report too).
set -u
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

bats "$@" "$dir/security.bats" >"$out" 2>&1
rc=$?

echo "| attack | default profile | privileged |"
echo "| --- | --- | --- |"
awk '
	index($0, "# attack: ") == 1 {
		line = substr($0, 11)
		d = index(line, " | default: ")
		p = index(line, " | privileged: ")
		if (d == 0 || p == 0)
			next
		what = substr(line, 1, d - 1)
		def = substr(line, d + 12, p - d - 12)
		priv = substr(line, p + 15)
		gsub(/\|/, "\\|", what); gsub(/\|/, "\\|", def); gsub(/\|/, "\\|", priv)
		printf "| %s | %s | %s |\n", what, def, priv
	}' "$out"
echo
pass=$(grep -c '^ok ' "$out")
fail=$(grep -c '^not ok ' "$out")
echo "tests: $pass passed, $fail failed"
grep '^not ok ' "$out" | sed 's/^not ok [0-9]* /  FAILED: /'
exit $rc
