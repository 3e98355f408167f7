#!/bin/sh
# Prints "N passed, N failed, N skipped" over one or more meson testlog.json files.
# A missing log counts as one failure, so a build that never ran its tests cannot pass.
set -u
passed=0 failed=0 skipped=0
for log in "$@"; do
  if [ ! -s "$log" ]; then
    echo "missing test log: $log" >&2
    failed=$((failed + 1))
    continue
  fi
  p=$(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")
  f=$(jq -s '[.[] | select(.result == "FAIL" or .result == "ERROR" or .result == "TIMEOUT" or .result == "UNEXPECTEDPASS")] | length' "$log")
  s=$(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
