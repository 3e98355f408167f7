#!/bin/sh
# Sharded sensitivity sweeps (issue 12): the slices merged are the unsharded table exactly;
# merge refuses slices of another sweep, a missing and a duplicate slice, naming the file;
# search --sensitivities builds the front from a merged table; --max-act-bytes is met; the
# disk cache is reused on an identical run and not when what is measured changes.
set -u
cli=${QS_CLI:?QS_CLI not set}
export QS_CLI_QUIET=1
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
command -v jq >/dev/null || { echo "1..0 # SKIP jq is not installed"; exit 77; }
model="$(dirname "$0")/../../data/models/fmnist-cnn.h5"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
run () { "$cli" sensitivity "$model" -d sample -n 200 -f int8,int4,int2 "$@"; }
table () { jq -S 'del(.seconds)' "$1"; }

# Shards: 3 slices (in any order) equal the whole sweep.
run --no-cache -o "$tmp/full.json" 2>/dev/null; rc=$?
check "sensitivity -o exits 0" '[ $rc -eq 0 ] && [ "$(jq ".layers | length" "$tmp/full.json")" = 4 ]'
for k in 0 1 2; do run --no-cache --shard $k/3 -o "$tmp/s$k.json" 2>/dev/null; done
check "a slice measures only its share (null elsewhere)" \
  '[ "$(jq "[.layers[].formats[].drop_points | select(. == null)] | length" "$tmp/s1.json")" = 8 ] && [ "$(jq -c .shard "$tmp/s1.json")" = "{\"index\":1,\"count\":3}" ]'
"$cli" merge "$tmp/s2.json" "$tmp/s0.json" "$tmp/s1.json" -o "$tmp/merged.json" >/dev/null; rc=$?
check "merge exits 0" '[ $rc -eq 0 ]'
check "the merged table equals the unsharded one exactly" '[ "$(table "$tmp/merged.json")" = "$(table "$tmp/full.json")" ]'
"$cli" search "$model" -d sample -n 200 -f int8,int4,int2 --shard 1/3 -o "$tmp/q1.json" 2>/dev/null; rc=$?
check "search --shard writes the same slice as sensitivity --shard" '[ $rc -eq 0 ] && [ "$(table "$tmp/q1.json")" = "$(table "$tmp/s1.json")" ]'

# Refusals name the file.
"$cli" merge "$tmp/s0.json" "$tmp/s1.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a missing slice: exit 1, the slice named" '[ $rc -eq 1 ] && grep -q "Slice 2/3" "$tmp/err"'
"$cli" merge "$tmp/s0.json" "$tmp/s1.json" "$tmp/s1.json" "$tmp/s2.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a duplicate slice: exit 1, the file named" '[ $rc -eq 1 ] && grep -q "s1.json and .*s1.json are both slice 1/3" "$tmp/err"'
run --no-cache -n 150 --shard 2/3 -o "$tmp/other.json" 2>/dev/null
"$cli" merge "$tmp/s0.json" "$tmp/s1.json" "$tmp/other.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a slice of another sweep (image count): exit 1, the file named" '[ $rc -eq 1 ] && grep -q "other.json belongs to another sweep" "$tmp/err"'
run --no-cache -f int8,int4,int3 --shard 2/3 -o "$tmp/other.json" 2>/dev/null
"$cli" merge "$tmp/s0.json" "$tmp/s1.json" "$tmp/other.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a slice of another sweep (formats): exit 1" '[ $rc -eq 1 ] && grep -q "other.json belongs to another sweep" "$tmp/err"'
"$cli" merge "$tmp/full.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a whole table is no slice: exit 1" '[ $rc -eq 1 ] && grep -q "full.json is not a slice" "$tmp/err"'
echo '{"images": 3}' > "$tmp/bad.json"
"$cli" merge "$tmp/bad.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a broken file: exit 1 naming the file and field" '[ $rc -eq 1 ] && grep -q "bad.json: “labelled”" "$tmp/err"'
run --shard 3/3 >/dev/null 2>&1; rc=$?
check "--shard 3/3 is a usage error" '[ $rc -eq 2 ]'

# search --sensitivities: the front from the merged table, each point measured.
"$cli" search "$model" -d sample --sensitivities "$tmp/merged.json" --max-drop 1 --json > "$tmp/a.json" 2>/dev/null; rc=$?
"$cli" search "$model" -d sample -n 200 -f int8,int4,int2 --no-cache --max-drop 1 --json > "$tmp/b.json" 2>/dev/null
check "search --sensitivities gives the front of the unsharded search" \
  '[ $rc -eq 0 ] && [ "$(jq -c "[.front[] | [.kernel_bytes, .measured_drop, .chosen]]" "$tmp/a.json")" = "$(jq -c "[.front[] | [.kernel_bytes, .measured_drop, .chosen]]" "$tmp/b.json")" ]'
"$cli" search "$model" -d sample --sensitivities "$tmp/s0.json" --max-drop 1 >/dev/null 2>"$tmp/err"; rc=$?
check "search --sensitivities refuses a slice" '[ $rc -eq 2 ] && grep -q "merge the slices first" "$tmp/err"'
"$cli" search "$(dirname "$0")/../../data/models/fmnist-mlp.h5" -d sample --sensitivities "$tmp/merged.json" --max-drop 1 >/dev/null 2>"$tmp/err"; rc=$?
check "search --sensitivities refuses another model's table" '[ $rc -eq 1 ] && grep -q "merged.json was measured on another model" "$tmp/err"'

# --max-act-bytes: fp16 layers keep float activations, so the budget binds.
"$cli" search "$model" -d sample -n 200 -f int2,fp16 --max-act-bytes 100000000 --json > "$tmp/act.json" 2>/dev/null
lo=$(jq "[.front[].peak_activation_bytes] | min" "$tmp/act.json")
hi=$(jq "[.front[].peak_activation_bytes] | max" "$tmp/act.json")
check "the front's peaks differ (float layers cost more)" '[ "$lo" -lt "$hi" ]'
check "without a binding budget the least drop is chosen" '[ "$(jq "[.front[] | select(.chosen) | .measured_drop][0] == ([.front[].measured_drop] | min)" "$tmp/act.json")" = true ]'
"$cli" search "$model" -d sample -n 200 -f int2,fp16 --max-act-bytes "$lo" --json > "$tmp/act2.json" 2>/dev/null; rc=$?
check "--max-act-bytes: the chosen point meets the budget" \
  '[ $rc -eq 0 ] && [ "$(jq "[.front[] | select(.chosen) | .peak_activation_bytes][0] <= $lo" "$tmp/act2.json")" = true ]'
"$cli" search "$model" -d sample -n 200 -f int2,fp16 --max-act-bytes 100 >/dev/null 2>"$tmp/err"; rc=$?
check "an impossible --max-act-bytes: exit 1 with the smallest peak" '[ $rc -eq 1 ] && grep -q "smallest peak is $lo bytes" "$tmp/err"'

# The disk cache.
rm -rf "$tmp/cache"
run -o "$tmp/c1.json" 2>"$tmp/err1"; run -o "$tmp/c2.json" 2>"$tmp/err2"
check "a first run measures" '! grep -q "reused" "$tmp/err1"'
check "a second identical run reuses every format and says so" 'grep -q "3 of 3 formats reused from the sensitivity cache" "$tmp/err2"'
check "the cached table equals the measured one" '[ "$(table "$tmp/c1.json")" = "$(table "$tmp/c2.json")" ]'
check "a cached table equals an uncached one" '[ "$(table "$tmp/c2.json")" = "$(table "$tmp/full.json")" ]'
run -n 150 >/dev/null 2>"$tmp/err"
check "another image count misses the cache" '! grep -q "reused" "$tmp/err"'
run --reverse >/dev/null 2>"$tmp/err"
check "the reverse sweep misses the forward cache" '! grep -q "reused" "$tmp/err"'
run -f int8,int6 >/dev/null 2>"$tmp/err"
check "another format list reuses only the formats measured" 'grep -q "1 of 2 formats reused" "$tmp/err"'
run --no-cache >/dev/null 2>"$tmp/err"
check "--no-cache measures again" '! grep -q "reused" "$tmp/err"'
for f in "$tmp"/cache/quantscope/sensitivity/*; do echo garbage > "$f"; done
run -o "$tmp/c3.json" 2>"$tmp/err"
check "a corrupt cache file is measured again, never trusted" '! grep -q "reused" "$tmp/err" && [ "$(table "$tmp/c3.json")" = "$(table "$tmp/full.json")" ]'
exit $fail
