#!/bin/sh
# eval --json (issue 11): the confusion matrices are there, each row sums to the images of
# that class (counted by the CLI from the labels), and the per-class accuracy is the row's
# diagonal share.
set -u
cli=${QS_CLI:?QS_CLI not set}
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

if ! command -v python3 >/dev/null 2>&1; then
  echo "1..0 # SKIP python3 is needed to read the JSON"
  exit 0
fi
model="$(dirname "$0")/../../data/models/fmnist-cnn.h5"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
XDG_CACHE_HOME="$out/cache" "$cli" eval "$model" --dataset sample --preset w8a8 --limit 600 \
  --no-layer-stats --json >"$out/eval.json" 2>"$out/err"; rc=$?
check "eval --json exits 0" '[ $rc -eq 0 ]'
python3 - "$out/eval.json" >"$out/check" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = r["images"]
assert n == 600, n
names = [c["name"] for c in r["per_class"]]
assert names[0] == "T-shirt/top", names
for key, acc in (("float_confusion", "float_accuracy"), ("quant_confusion", "quant_accuracy")):
    m = r[key]
    assert len(m) == len(r["per_class"]) == 10, (key, len(m))
    assert sum(map(sum, m)) == n, (key, sum(map(sum, m)))
    for c, (row, pc) in enumerate(zip(m, r["per_class"])):
        assert len(row) == 10
        assert sum(row) == pc["images"], (key, c, sum(row), pc["images"])
        if pc["images"]:
            assert abs(row[c] / pc["images"] - pc[acc]) < 1e-12, (key, c, row[c], pc[acc])
# top-1 from the diagonals
assert abs(sum(r["float_confusion"][c][c] for c in range(10)) / n - r["float_accuracy"]) < 1e-12
assert abs(sum(r["quant_confusion"][c][c] for c in range(10)) / n - r["quant_accuracy"]) < 1e-12
print("checked")
PY
rc=$?
check "confusion rows sum to the per-class image counts" '[ $rc -eq 0 ] && grep -q checked "$out/check"'
[ $rc -eq 0 ] || cat "$out/check"
exit $fail
