#!/bin/sh
# eval --per-sample (issue 11): every image's answers and per-layer errors in the JSON.
set -u
cli=${QS_CLI:?QS_CLI not set}
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
if ! command -v python3 >/dev/null 2>&1; then
  echo "1..0 # SKIP python3 is needed to read the JSON"
  exit 77
fi
model="$(dirname "$0")/../../data/models/fmnist-cnn.h5"
out=$(mktemp -d)

"$cli" eval "$model" -d sample --per-sample --limit 5 >/dev/null 2>&1; rc=$?
check "--per-sample without a config exits 2" '[ $rc -eq 2 ]'

"$cli" eval "$model" -d sample -p w4a4 --calib 100 --limit 40 --per-sample --json >"$out/q.json" 2>/dev/null; rc=$?
check "eval --per-sample --json exits 0" '[ $rc -eq 0 ]'
python3 - "$out/q.json" <<'PY'; rc=$?
import json, sys
d = json.load(open(sys.argv[1]))
s = d["samples"]
assert len(s) == d["images"] == 40, (len(s), d["images"])
changed = 0
for i, x in enumerate(s):
    assert x["index"] == i
    assert len(x["float_top5"]) == 5 and len(x["quant_top5"]) == 5
    assert x["float_class"] == x["float_top5"][0]["class"]
    assert x["quant_class"] == x["quant_top5"][0]["class"]
    assert x["changed"] == (x["float_class"] != x["quant_class"])
    p = [c["prob"] for c in x["quant_top5"]]
    assert p == sorted(p, reverse=True), p
    names = [l["value"] for l in x["layers"]]
    assert names[-1] == "dense_1" or x["layers"][-1]["layer"] == names[-1].split("#")[0]
    ints = [l for l in x["layers"] if l["integer"]]
    assert ints and all(l["sqnr_db"] is not None and l["rel_l2"] > 0 for l in ints), ints
    assert x["worst_value"] in names
    changed += x["changed"]
# the per-image answers are the evaluation's: agreement = unchanged / images
assert abs(d["agreement"] - (40 - changed) / 40) < 1e-9, (d["agreement"], changed)
PY
check "per-sample answers and layers are consistent with the evaluation" '[ $rc -eq 0 ]'

"$cli" eval "$model" -d sample -p fp32 --limit 5 --per-sample --json >"$out/f.json" 2>/dev/null; rc=$?
python3 - "$out/f.json" <<'PY'; rc2=$?
import json, sys
d = json.load(open(sys.argv[1]))
for x in d["samples"]:
    assert not x["changed"] and x["worst_value"] is None
    assert all(l["sqnr_db"] is None and l["rel_l2"] == 0 for l in x["layers"])
PY
check "fp32: every layer exact, nothing changed" '[ $rc -eq 0 ] && [ $rc2 -eq 0 ]'

"$cli" eval "$model" -d sample -p w8a8 --calib 100 --limit 3 --per-sample >"$out/t.txt" 2>/dev/null; rc=$?
check "text output lists the images" '[ $rc -eq 0 ] && grep -q "Largest error added at" "$out/t.txt"'
rm -rf "$out"
exit $fail
