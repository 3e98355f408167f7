#!/bin/sh
# The export and import contract (issue 13): formats listed, files written and read back,
# usage errors exit 2, bad files exit 1 naming the file and the layer, the model is never
# overwritten.
set -u
cli=${QS_CLI:?QS_CLI not set}
export QS_CLI_QUIET=1
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cnn="${G_TEST_SRCDIR:?}/../data/models/fmnist-cnn.h5"
cp "$cnn" "$tmp/cnn.h5"
sum=$(cksum < "$tmp/cnn.h5")

"$cli" export --list > "$tmp/list"; rc=$?
check "export --list exits 0" '[ $rc -eq 0 ]'
for f in config aimet aimet-0.6.1 h5-fake; do
  check "--list shows $f" 'grep -q "^$f " "$tmp/list"'
done

"$cli" export "$tmp/cnn.h5" --preset w8a8 -o "$tmp/x.json" >/dev/null 2>&1; rc=$?
check "export without --format exits 2" '[ $rc -eq 2 ]'
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format nope -o "$tmp/x.json" >/dev/null 2>"$tmp/err"; rc=$?
check "an unknown format exits 2 and names it" '[ $rc -eq 2 ] && grep -q nope "$tmp/err"'
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format config --requant nope -o "$tmp/x.json" >/dev/null 2>&1; rc=$?
check "an unknown --requant exits 2" '[ $rc -eq 2 ]'
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format h5-fake -o "$tmp/cnn.h5" >/dev/null 2>&1; rc=$?
check "export -o MODEL exits 1, the model unchanged" '[ $rc -eq 1 ] && [ "$(cksum < "$tmp/cnn.h5")" = "$sum" ]'

"$cli" export "$tmp/cnn.h5" --preset w8a8 --format config --requant single-rounding --calibration 50 \
  -o "$tmp/cnn-export.json" > "$tmp/out"; rc=$?
check "export config exits 0" '[ $rc -eq 0 ] && [ -s "$tmp/cnn-export.json" ]'
check "it prints what it wrote" 'grep -q "Exported fmnist-cnn (config)" "$tmp/out" && grep -q "single-rounding" "$tmp/out"'
check "the export records the requantization" 'grep -q "\"requantization\" : \"single-rounding\"" "$tmp/cnn-export.json"'
"$cli" quantize "$tmp/cnn.h5" --config "$tmp/cnn-export.json" >/dev/null 2>&1; rc=$?
check "plain commands refuse the export wrapper (it is not a config)" '[ $rc -ne 0 ]'
"$cli" import "$tmp/cnn.h5" "$tmp/cnn-export.json" -o "$tmp/cnn-config.json" >/dev/null; rc=$?
check "import of a config export exits 0" '[ $rc -eq 0 ] && grep -q activation_ranges "$tmp/cnn-config.json"'
"$cli" quantize "$tmp/cnn.h5" --config "$tmp/cnn-config.json" >/dev/null; rc=$?
check "the imported config is a config" '[ $rc -eq 0 ]'
"$cli" export "$tmp/cnn.h5" --config "$tmp/cnn-export.json" --format aimet-0.6.1 -o "$tmp/a061.encodings" >/dev/null; rc=$?
check "export --config takes a config export (no calibration: its ranges are fixed)" '[ $rc -eq 0 ] && grep -q "\"is_symmetric\" : \"True\"" "$tmp/a061.encodings"'

"$cli" export "$tmp/cnn.h5" --preset w8a8 --format aimet --calibration 50 -o "$tmp/cnn.encodings" >/dev/null; rc=$?
check "export aimet exits 0" '[ $rc -eq 0 ] && grep -q "\"version\" : \"1.0.0\"" "$tmp/cnn.encodings"'
check "parameters are named as Keras variables" 'grep -q "\"conv1/kernel:0\"" "$tmp/cnn.encodings"'
"$cli" import "$tmp/cnn.h5" "$tmp/cnn.encodings" -o "$tmp/from-aimet.json" > "$tmp/out"; rc=$?
check "import aimet exits 0" '[ $rc -eq 0 ] && grep -q "4 parameter encodings" "$tmp/out"'
"$cli" quantize "$tmp/cnn.h5" --config "$tmp/from-aimet.json" --json > "$tmp/q.json"; rc=$?
check "the imported config quantizes every kernel in int8" '[ $rc -eq 0 ] && [ "$(grep -c "\"int8 ch\"" "$tmp/q.json")" -eq 4 ]'

sed 's/"conv1\/kernel:0"/"conv9\/kernel:0"/; s/"name" : "fc1"/"name" : "fc7"/' "$tmp/cnn.encodings" > "$tmp/bad.encodings"
"$cli" import "$tmp/cnn.h5" "$tmp/bad.encodings" -o "$tmp/bad.json" >/dev/null 2>"$tmp/err"; rc=$?
check "import of bad encodings exits 1 and writes nothing" '[ $rc -eq 1 ] && [ ! -e "$tmp/bad.json" ]'
check "the message names the file and every unknown layer" 'grep -q bad.encodings "$tmp/err" && grep -q conv9 "$tmp/err" && grep -q fc7 "$tmp/err"'
echo '{"version": "0.6.1", "param_encodings": {"fc1/kernel:0": [{"bitwidth": 8, "dtype": "int", "is_symmetric": "True", "offset": -128, "scale": -1}]}}' > "$tmp/neg.encodings"
"$cli" import "$tmp/cnn.h5" "$tmp/neg.encodings" -o "$tmp/neg.json" >/dev/null 2>"$tmp/err"; rc=$?
check "a negative scale exits 1 naming the tensor" '[ $rc -eq 1 ] && grep -q "fc1/kernel:0" "$tmp/err"'

"$cli" export "$tmp/cnn.h5" --preset w4g32 --format h5-fake -o "$tmp/fake.h5" >/dev/null; rc=$?
check "export h5-fake exits 0" '[ $rc -eq 0 ]'
"$cli" info "$tmp/fake.h5" >/dev/null; rc=$?
check "the fake-quantized model loads" '[ $rc -eq 0 ]'

# the report (libquantscope-report, registered by the CLI at startup)
for f in report-html report-pdf; do
  check "--list shows $f" 'grep -q "^$f " "$tmp/list"'
done
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format report-html --data sample --images 100 -o "$tmp/r.html" > "$tmp/out"; rc=$?
check "export report-html exits 0" '[ $rc -eq 0 ] && head -c 15 "$tmp/r.html" | grep -q "<!DOCTYPE html>"'
check "it says how many images it evaluated" 'grep -q "Evaluated on 100 images of sample" "$tmp/out"'
for layer in conv1 pool1 conv2 pool2 flatten fc1 predictions; do
  check "the HTML names layer $layer" 'grep -q "<code>$layer</code>" "$tmp/r.html"'
done
check "the HTML fetches nothing" '! grep -q "https\?://" "$tmp/r.html"'
check "the HTML keeps the config's requantization (gemmlowp)" 'grep -q "requantization gemmlowp" "$tmp/r.html"'
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format report-pdf --images 0 -o "$tmp/r.pdf" > "$tmp/out"; rc=$?
check "export report-pdf --images 0 exits 0 and says it did not evaluate" '[ $rc -eq 0 ] && head -c 5 "$tmp/r.pdf" | grep -q "%PDF-" && grep -q "Not evaluated" "$tmp/out"'
if command -v pdfinfo >/dev/null; then
  check "the PDF has the 5 pages it reports" 'pdfinfo "$tmp/r.pdf" | grep -q "^Pages: *5$" && grep -q "5 pages" "$tmp/out"'
fi
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format report-pdf --images -3 -o "$tmp/r2.pdf" >/dev/null 2>&1; rc=$?
check "a negative --images exits 2" '[ $rc -eq 2 ]'
"$cli" export "$tmp/cnn.h5" --preset w8a8 --format report-html --images 0 -o "$tmp/cnn.h5" >/dev/null 2>&1; rc=$?
check "report -o MODEL exits 1, the model unchanged" '[ $rc -eq 1 ] && [ "$(cksum < "$tmp/cnn.h5")" = "$sum" ]'

[ $fail -eq 0 ]
