#!/bin/sh
# Deployment targets: check flags exactly the layers a target cannot run (text and JSON), exit 0
# with a summary count; bad targets are usage errors; search --target keeps to its formats.
set -u
cli=${QS_CLI:?QS_CLI not set}
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
model="$(dirname "$0")/../../data/models/fmnist-cnn.h5"
out=$(mktemp -d)
"$cli" check "$model" --target tflite-int8 --preset w8a8 > "$out/clean"; rc=$?
check "a clean config: exit 0, nothing flagged" '[ $rc -eq 0 ] && grep -q "^0 layers flagged for TFLite int8" "$out/clean"'
"$cli" check "$model" --target tflite-int8 --preset w4a4 > "$out/w4a4"; rc=$?
check "w4a4: exit 0, every layer flagged with the reason" '[ $rc -eq 0 ] && grep -q "^4 layers flagged" "$out/w4a4" && grep -q "^conv2 .*int4 activations: TFLite int8 needs 8-bit activations" "$out/w4a4"'
"$cli" check "$model" --target tflite-int8 --preset w8a8-tensor --json > "$out/j"; rc=$?
check "--json lists exactly the per-tensor convolutions" '[ $rc -eq 0 ] && python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d[\"flagged_layers\"]==2 and sorted({i[\"layer\"] for i in d[\"issues\"]})==[\"conv1\",\"conv2\"], d
assert all(\"per-channel\" in i[\"reason\"] for i in d[\"issues\"])" "$out/j"'
"$cli" check "$model" --target cmsis-nn --preset w4a8 --requant cmsis-nn --json > "$out/c"
check "CMSIS-NN runs int4 weights with int8 activations" 'grep -q "\"flagged_layers\" : 0" "$out/c"'
"$cli" check "$model" --target tflite-int9 --preset w8a8 2>"$out/err"; rc=$?
check "unknown target exits 2 naming the known ones" '[ $rc -eq 2 ] && grep -q "tflite-int8" "$out/err"'
echo '{"name": "x", "weights": [{"format": "int", "bits": [99]}]}' > "$out/bad.json"
"$cli" check "$model" --target "$out/bad.json" --preset w8a8 2>"$out/err"; rc=$?
check "a bad target file exits 1 naming the field" '[ $rc -eq 1 ] && grep -q "weights\[0\].bits\[0\]" "$out/err"'
"$cli" check --list --json | python3 -c "import json,sys; n=[t['name'] for t in json.load(sys.stdin)]; assert {'tflite-int8','tflite-16x8','cmsis-nn','onnxruntime-qdq','fixed-point','fp16-gpu'} <= set(n), n"
check "check --list names the bundled targets" '[ $? -eq 0 ]'
"$cli" search "$model" -d sample -n 50 --target fixed-point --max-drop 100 --json > "$out/s" 2>/dev/null
check "search --target fixed-point picks power-of-two formats only" 'python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
fs={f[\"format\"] for l in d[\"layers\"] for f in l[\"formats\"]}
assert fs and all(f.endswith(\"-pow2\") for f in fs), fs" "$out/s"'
rm -rf "$out"
exit $fail
