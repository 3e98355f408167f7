#!/bin/sh
# The model CLI contract: info and predict (JSON shapes, exit codes), on the real Keras files
# in ../shared/models when present.
set -u
cli=${QS_CLI:?QS_CLI not set}
export QS_CLI_QUIET=1
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Usage and load errors.
"$cli" info >/dev/null 2>&1; rc=$?; check "info without MODEL exits 2" '[ $rc -eq 2 ]'
"$cli" info /nonexistent.h5 >/dev/null 2>"$tmp/err"; rc=$?
check "info on a missing file exits 1" '[ $rc -eq 1 ]'
check "the message names the file" 'grep -q nonexistent.h5 "$tmp/err"'
echo "not a model" > "$tmp/text.h5"
"$cli" info "$tmp/text.h5" >/dev/null 2>&1; rc=$?; check "info on a text file exits 1" '[ $rc -eq 1 ]'
"$cli" predict "$tmp/text.h5" >/dev/null 2>&1; rc=$?; check "predict without --dataset exits 2" '[ $rc -eq 2 ]'
"$cli" predict "$tmp/text.h5" --dataset sample --limit -3 >/dev/null 2>&1; rc=$?
check "predict with a bad --limit exits 2" '[ $rc -eq 2 ]'

# Outputs: a regular file or a new path, never an input of the same command.
mlp="${G_TEST_SRCDIR:?}/../data/models/fmnist-mlp.h5"

# Your own data: the first 300 sample images as an .npz written the way np.savez writes it
# (python3's zipfile, no numpy), labelled and not; eval on them matches eval on "sample".
if command -v python3 >/dev/null; then
  python3 - "${G_TEST_SRCDIR}/../data/sample/fashion-mnist" "$tmp" <<'PY'
import gzip, struct, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
x = gzip.open(src + "/t10k-images-idx3-ubyte.gz").read()[16:16 + 300 * 784]
y = gzip.open(src + "/t10k-labels-idx1-ubyte.gz").read()[8:8 + 300]
def npy(descr, shape, data):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data
with zipfile.ZipFile(out + "/own.npz", "w") as z:
    z.writestr("x_test.npy", npy("|u1", "(300, 28, 28)", x))
    z.writestr("y_test.npy", npy("<i8", "(300,)", b"".join(struct.pack("<q", v) for v in y)))
open(out + "/own.npy", "wb").write(npy("|u1", "(300, 28, 28)", x))
PY
  "$cli" eval "$mlp" --dataset "$tmp/own.npz" --json > "$tmp/own.json"; rc=$?
  "$cli" eval "$mlp" --dataset sample --limit 300 --json > "$tmp/ref.json"
  check "eval on an .npz exits 0" '[ $rc -eq 0 ]'
  check "npz accuracy equals the sample's" '[ "$(jq .float_accuracy "$tmp/own.json")" = "$(jq .float_accuracy "$tmp/ref.json")" ]'
  check "labelled classification has a confusion matrix" '[ "$(jq ".labelled, (.float_confusion | length)" "$tmp/own.json" | tr "\n" " ")" = "true 10 " ]'
  "$cli" eval "$mlp" --dataset sample --limit 200 --preset w8a8 --no-layer-stats --json > "$tmp/cm.json"
  check "eval --json: both confusion matrices count every image, their diagonals are the accuracies" \
    '[ "$(jq -c "[(.quant_confusion | length), ([.quant_confusion[][]] | add), ([.float_confusion[][]] | add), ([range(10) as \$i | .quant_confusion[\$i][\$i]] | add) / .images == .quant_accuracy, ([range(10) as \$i | .float_confusion[\$i][\$i]] | add) / .images == .float_accuracy]" "$tmp/cm.json")" = "[10,200,200,true,true]" ]'
  "$cli" eval "$mlp" --dataset "$tmp/own.npy" --preset w8a8 --no-layer-stats --json > "$tmp/un.json"; rc=$?
  check "unlabelled eval exits 0" '[ $rc -eq 0 ]'
  check "unlabelled: no accuracy, agreement and output errors" '[ "$(jq -c "[.labelled, .float_accuracy, (.agreement > 0.9), (.output_errors.sqnr_db > 10)]" "$tmp/un.json")" = "[false,null,true,true]" ]'
  "$cli" eval "$mlp" --dataset "$tmp/own.npy" --preprocess "resize=big" >/dev/null 2>"$tmp/err"; rc=$?
  check "a bad --preprocess exits 2 naming the key" '[ $rc -eq 2 ] && grep -q resize "$tmp/err"'
fi
cp "$mlp" "$tmp/in.h5"
sum=$(cksum < "$tmp/in.h5")
"$cli" quantize "$tmp/in.h5" --preset w8 -o "$tmp/in.h5" >/dev/null 2>"$tmp/err"; rc=$?
check "quantize -o INPUT exits 1" '[ $rc -eq 1 ]'
check "the message says it is an input" 'grep -q "also an input" "$tmp/err"'
check "the input is unchanged" '[ "$(cksum < "$tmp/in.h5")" = "$sum" ]'
ln -s "$tmp/in.h5" "$tmp/link.h5"
"$cli" quantize "$tmp/in.h5" --preset w8 -o "$tmp/link.h5" >/dev/null 2>&1; rc=$?
check "quantize -o a link to INPUT exits 1" '[ $rc -eq 1 ] && [ "$(cksum < "$tmp/in.h5")" = "$sum" ]'
echo '{"schema_version": 1, "preset": "w8"}' > "$tmp/c.json"
"$cli" quantize "$tmp/in.h5" --config "$tmp/c.json" -o "$tmp/c.json" >/dev/null 2>&1; rc=$?
check "quantize -o CONFIG exits 1" '[ $rc -eq 1 ] && grep -q w8 "$tmp/c.json"'
mkfifo "$tmp/fifo.h5"
"$cli" quantize "$tmp/in.h5" --preset w8 -o "$tmp/fifo.h5" >/dev/null 2>"$tmp/err"; rc=$?
check "quantize -o FIFO exits 1" '[ $rc -eq 1 ] && [ -p "$tmp/fifo.h5" ]'
check "the message says not a regular file" 'grep -q "not a regular file" "$tmp/err"'
"$cli" quantize "$tmp/in.h5" --preset w8 -o "$tmp/out.h5" >/dev/null 2>&1; rc=$?
check "quantize -o a new file exits 0" '[ $rc -eq 0 ] && [ -f "$tmp/out.h5" ]'

# The cost of a config and the lowering: the MLP at w8a8 by hand (int8 codes, a 32-bit scale
# and bias per output; peak = the float image and its int8 copy).
"$cli" quantize "$mlp" --preset w8a8 --lowering --json > "$tmp/q.json"; rc=$?
check "quantize --lowering --json exits 0" '[ $rc -eq 0 ]'
check "stored weight bytes" '[ "$(jq .quant_bytes "$tmp/q.json")" -eq 237904 ]'
check "peak activation bytes" '[ "$(jq .peak_activation_bytes "$tmp/q.json")" -eq 3920 ]'
check "MACs and bit-operations" '[ "$(jq .macs "$tmp/q.json")" -eq 234752 ] && [ "$(jq .bit_ops "$tmp/q.json")" -eq 15024128 ]'
check "the lowering names the groups" 'jq -r .lowering "$tmp/q.json" | grep -qx "conv int fc1 (input~q) -> fc1"'
"$cli" quantize "$mlp" --preset w8a8 --lowering > "$tmp/q.txt"; rc=$?
check "quantize --lowering prints the listing and the cost" '[ $rc -eq 0 ] && grep -q "^activation float predictions" "$tmp/q.txt" && grep -q "Peak activation memory" "$tmp/q.txt"'
"$cli" quantize "$tmp/in.h5" --preset w8 -o "$tmp/out.h5" >/dev/null 2>&1; rc=$?
check "quantize -o over a regular file exits 0" '[ $rc -eq 0 ]'

# Requantization modes: --requant on quantize, eval and predict.
check "the default mode is gemmlowp" '[ "$(jq -r .requantization "$tmp/q.json")" = gemmlowp ]'
"$cli" quantize "$mlp" --preset w8a8 --requant fp32-rne --lowering --json > "$tmp/qr.json"; rc=$?
check "quantize --requant fp32-rne" '[ $rc -eq 0 ] && [ "$(jq -r .requantization "$tmp/qr.json")" = fp32-rne ]'
"$cli" quantize "$mlp" --preset w8a8 --requant cmsis-nn --lowering > "$tmp/qr.txt"; rc=$?
check "quantize --lowering shows the mode" '[ $rc -eq 0 ] && grep -q "^Requantization: cmsis-nn" "$tmp/qr.txt"'
"$cli" quantize "$mlp" --preset w8a8 --requant round-up >/dev/null 2>"$tmp/err"; rc=$?
check "an unknown mode exits 2 and lists the modes" '[ $rc -eq 2 ] && grep -q "single-rounding" "$tmp/err"'
"$cli" eval "$mlp" --dataset sample --limit 50 --calib 50 --preset w8a8 --requant single-rounding --json > "$tmp/er.json"; rc=$?
check "eval --requant single-rounding" '[ $rc -eq 0 ] && [ "$(jq -r .requantization "$tmp/er.json")" = single-rounding ]'
"$cli" eval "$mlp" --dataset sample --limit 50 --requant fp32-rne >/dev/null 2>&1; rc=$?
check "eval --requant without a config exits 2" '[ $rc -eq 2 ]'
"$cli" predict "$mlp" --dataset sample --limit 20 --preset w8a8 --requant fp32-rne --json > "$tmp/pr.json"; rc=$?
check "predict --preset --requant runs the integer engine" '[ $rc -eq 0 ] && [ "$(jq -r .requantization "$tmp/pr.json")" = fp32-rne ] && [ "$(jq ".predictions | length" "$tmp/pr.json")" -eq 20 ]'
"$cli" info --json "$tmp/fifo.h5" >/dev/null 2>"$tmp/err"; rc=$?
check "info on a FIFO exits 1 at once" '[ $rc -eq 1 ] && grep -q "not a regular file" "$tmp/err"'

# Sensitivity and mixed-precision search on the bundled MLP.
"$cli" sensitivity "$mlp" --dataset sample --images 200 --formats int8,int2 --json > "$tmp/sens.json"; rc=$?
check "sensitivity exits 0" '[ $rc -eq 0 ]'
check "sensitivity lists every layer with both formats" '[ "$(jq "[.layers[].formats | length] | add" "$tmp/sens.json")" -eq 6 ]'
"$cli" sensitivity "$mlp" --dataset sample --formats int9 >/dev/null 2>"$tmp/err"; rc=$?
check "sensitivity with an unknown format exits 2 naming it" '[ $rc -eq 2 ] && grep -q int9 "$tmp/err"'
"$cli" search "$mlp" --dataset sample >/dev/null 2>&1; rc=$?
check "search without a budget exits 2" '[ $rc -eq 2 ]'
"$cli" search "$mlp" --dataset sample --images 200 --formats int8,int4,int2 --max-drop 1 -o "$tmp/mp.json" --json > "$tmp/search.json"; rc=$?
check "search --max-drop exits 0 and writes a config" '[ $rc -eq 0 ] && [ -f "$tmp/mp.json" ]'
check "the chosen point is measured within the limit" '[ "$(jq "[.front[] | select(.chosen) | .measured_drop <= 1] | .[0]" "$tmp/search.json")" = true ]'
"$cli" quantize "$mlp" --config "$tmp/mp.json" --json > "$tmp/mpq.json"; rc=$?
check "the written config quantizes" '[ $rc -eq 0 ] && [ "$(jq .quant_bytes "$tmp/mpq.json")" -lt "$(jq .float_bytes "$tmp/mpq.json")" ]'
"$cli" search "$mlp" --dataset sample --images 200 --max-bytes 100 >/dev/null 2>"$tmp/err"; rc=$?
check "an impossible budget exits 1 and says so" '[ $rc -eq 1 ] && grep -q "No mix" "$tmp/err"'

models=${QS_SHARED_DIR:-/nonexistent}/models
if [ ! -d "$models" ] || ! command -v jq >/dev/null; then
  echo "ok - # SKIP shared models or jq not available"
  exit $fail
fi

cnn="$models/Muhtashim009__Fashion_mnist_cnn__fashion_mnist_model.h5"
"$cli" info "$cnn" --json > "$tmp/info.json"; rc=$?
check "info --json exits 0" '[ $rc -eq 0 ]'
check "format keras2-model" '[ "$(jq -r .format "$tmp/info.json")" = keras2-model ]'
check "keras_version" '[ "$(jq -r .keras_version "$tmp/info.json")" = 2.4.0 ]'
check "input shape" '[ "$(jq -c .input_shape "$tmp/info.json")" = "[28,28,1]" ]'
check "can infer" '[ "$(jq -r .can_infer "$tmp/info.json")" = true ]'
check "layer fields" '[ "$(jq -c ".layers[1] | [.name, .class, .params, .output_shape, .weights[0].name, .weights[0].shape]" "$tmp/info.json")" = "[\"conv2d\",\"Conv2D\",160,[26,26,16],\"conv2d/kernel\",[3,3,1,16]]" ]'
check "totals add up" '[ "$(jq "[.layers[].params] | add" "$tmp/info.json")" = "$(jq .total_params "$tmp/info.json")" ]'
check "float32 bytes" '[ "$(jq ".total_params * 4" "$tmp/info.json")" = "$(jq .float32_bytes "$tmp/info.json")" ]'

"$cli" info "$models/saikatbsk__MNIST-CNN__mnist_cnn_weights.h5" --json > "$tmp/k1.json"
check "keras1 weights format" '[ "$(jq -r .format "$tmp/k1.json")" = keras1-weights ]'
check "weights-only cannot infer and says why" '[ "$(jq -r ".can_infer, (.why_not | length > 0)" "$tmp/k1.json" | tr "\n" " ")" = "false true " ]'
"$cli" info "$models/ShreyanshGupta28__mnist_classification_app__model.weights.h5" \
  --architecture "$models/ShreyanshGupta28__mnist_classification_app__model.keras" --json > "$tmp/k3.json"
check "keras3 weights + architecture" '[ "$(jq -r ".format, .can_infer" "$tmp/k3.json" | tr "\n" " ")" = "keras3-weights true " ]'
"$cli" info "$models/ShreyanshGupta28__mnist_classification_app__model.keras" --json > "$tmp/zip.json"
check "keras3 zip" '[ "$(jq -r ".format, .keras_version" "$tmp/zip.json" | tr "\n" " ")" = "keras3-zip 3.14.0 " ]'

"$cli" predict "$cnn" --dataset sample --limit 7 --json > "$tmp/pred.json"; rc=$?
check "predict --json exits 0" '[ $rc -eq 0 ]'
check "images count" '[ "$(jq .images "$tmp/pred.json")" = 7 ]'
check "predictions in dataset order" '[ "$(jq -c "[.predictions[].index]" "$tmp/pred.json")" = "[0,1,2,3,4,5,6]" ]'
check "labels" '[ "$(jq -c "[.predictions[].label]" "$tmp/pred.json")" = "[9,2,1,1,6,1,4]" ]'
check "ten probabilities summing to 1" '[ "$(jq "[.predictions[] | (.probabilities | length == 10 and (add - 1 | fabs) < 1e-4)] | all" "$tmp/pred.json")" = true ]'
golden="$QS_SHARED_DIR/models/golden-outputs.json"
want=$(jq -c '.models["Muhtashim009__Fashion_mnist_cnn__fashion_mnist_model.h5"].argmax[0:7]' "$golden")
check "argmax matches the golden outputs" '[ "$(jq -c "[.predictions[].argmax]" "$tmp/pred.json")" = "$want" ]'
"$cli" predict "$models/saikatbsk__MNIST-CNN__mnist_cnn_weights.h5" --dataset sample >/dev/null 2>"$tmp/err"; rc=$?
check "predict on weights only exits 1" '[ $rc -eq 1 ]'
exit $fail
