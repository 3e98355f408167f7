#!/bin/sh
# The data options (--dataset, --labels, --preprocess, --calibration) on quantize and qat,
# on the user's own data: a generated .npz (labelled), a bare .npy with a labels .npy, and a
# PNG folder with one sub-folder per class.
set -u
cli=${QS_CLI:?QS_CLI not set}
export QS_CLI_QUIET=1
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mlp="${G_TEST_SRCDIR:?}/../data/models/fmnist-mlp.h5"

if ! command -v python3 >/dev/null || ! command -v jq >/dev/null; then
  echo "1..0 # SKIP python3 and jq are needed to write and read the fixtures"
  exit 0
fi

# The first 300 test images of the bundled Fashion-MNIST sample: an .npz as np.savez writes
# it, the images alone as .npy with their labels in another .npy, and 40 of them as PNG files
# in class folders (zlib + struct, no numpy, no imaging library).
python3 - "${G_TEST_SRCDIR}/../data/sample/fashion-mnist" "$tmp" <<'PY'
import gzip, os, struct, sys, zipfile, zlib
src, out = sys.argv[1], sys.argv[2]
x = gzip.open(src + "/t10k-images-idx3-ubyte.gz").read()[16:16 + 300 * 784]
y = gzip.open(src + "/t10k-labels-idx1-ubyte.gz").read()[8:8 + 300]
def npy(descr, shape, data):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data
with zipfile.ZipFile(out + "/own.npz", "w") as z:
    z.writestr("x_train.npy", npy("|u1", "(300, 28, 28)", x))
    z.writestr("y_train.npy", npy("<i8", "(300,)", b"".join(struct.pack("<q", v) for v in y)))
open(out + "/images.npy", "wb").write(npy("|u1", "(300, 28, 28)", x))
open(out + "/labels.npy", "wb").write(npy("<i8", "(300,)", b"".join(struct.pack("<q", v) for v in y)))
def png(path, pixels):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\0" + pixels[r * 28:(r + 1) * 28] for r in range(28))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
names = ["0-tshirt", "1-trouser", "2-pullover", "3-dress", "4-coat", "5-sandal", "6-shirt", "7-sneaker", "8-bag", "9-boot"]
for i in range(40):
    d = os.path.join(out, "png", names[y[i]])
    os.makedirs(d, exist_ok=True)
    png(os.path.join(d, "%03d.png" % i), x[i * 784:(i + 1) * 784])
for n in names:
    os.makedirs(os.path.join(out, "png", n), exist_ok=True)
PY

# --- quantize ---
"$cli" quantize "$mlp" --preset w8a8 --labels "$tmp/labels.npy" >/dev/null 2>"$tmp/err"; rc=$?
check "quantize: data options without --dataset exit 2" '[ $rc -eq 2 ] && grep -q -- --dataset "$tmp/err"'
"$cli" quantize "$mlp" --preset w8a8 --dataset "$tmp/missing.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "quantize: a missing dataset exits 1 naming it" '[ $rc -eq 1 ] && grep -q missing.npz "$tmp/err"'
"$cli" quantize "$mlp" --preset w8a8 --dataset "$tmp/own.npz" --preprocess "resize=big" >/dev/null 2>"$tmp/err"; rc=$?
check "quantize: a bad --preprocess exits 2 naming the key" '[ $rc -eq 2 ] && grep -q resize "$tmp/err"'

"$cli" quantize "$mlp" --preset w8a8 --dataset "$tmp/own.npz" --calib 200 --save-config "$tmp/cal.json" --json > "$tmp/q.json"; rc=$?
check "quantize --dataset FILE.npz exits 0" '[ $rc -eq 0 ]'
check "it calibrates on the .npz, 200 images" '[ "$(jq -r ".calibration.source, .calibration.images" "$tmp/q.json" | tr "\n" " ")" = "$tmp/own.npz 200 " ]'
check "every integer value of the MLP has a range, the input (the first) within [0, 1]" \
  '[ "$(jq ".calibration.activation_ranges[0] | .lo >= 0 and .hi <= 1" "$tmp/q.json")" = true ] && [ "$(jq ".calibration.activation_ranges | length" "$tmp/q.json")" -ge 3 ]'
check "--save-config keeps the ranges, the preprocessing and the source" \
  '[ "$(jq "(.activation_ranges | length) > 0" "$tmp/cal.json")" = true ] && grep -q own.npz "$tmp/cal.json"'

# The calibration set can differ from --dataset; the same images give the same ranges
"$cli" quantize "$mlp" --preset w8a8 --dataset "$tmp/png" --calibration "$tmp/own.npz" --calib 200 --json > "$tmp/q2.json"; rc=$?
check "quantize --dataset DIR --calibration FILE.npz exits 0" '[ $rc -eq 0 ]'
check "the ranges come from --calibration: equal to calibrating on the .npz itself" \
  '[ "$(jq -c .calibration.activation_ranges "$tmp/q2.json")" = "$(jq -c .calibration.activation_ranges "$tmp/q.json")" ]'
"$cli" quantize "$mlp" --preset w8a8 --dataset "$tmp/images.npy" --labels "$tmp/labels.npy" --preprocess=-1..1 --calib 200 --json > "$tmp/q3.json"; rc=$?
check "quantize --dataset FILE.npy --labels --preprocess exits 0" '[ $rc -eq 0 ] && jq -r .calibration.preprocessing "$tmp/q3.json" | grep -q "offset=-1"'
check "the preprocessing reaches the calibration: the input range becomes [-1, 1]" \
  '[ "$(jq "[.calibration.activation_ranges[0] | .lo < -0.9 and .hi > 0.9] | all" "$tmp/q3.json")" = true ] && [ "$(jq ".calibration.activation_ranges[0].lo >= 0" "$tmp/q.json")" = true ]'
"$cli" quantize "$mlp" --preset w8a8 --dataset "$tmp/own.npz" --calib 50 > "$tmp/q.txt"; rc=$?
check "quantize --dataset prints the ranges" '[ $rc -eq 0 ] && grep -q "Activation ranges calibrated on" "$tmp/q.txt"'

# --- qat ---
"$cli" qat "$mlp" --preset w8a8 --dataset "$tmp/images.npy" --epochs 1 -o "$tmp/u.h5" >/dev/null 2>"$tmp/err"; rc=$?
check "qat on unlabelled images exits 1" '[ $rc -eq 1 ] && [ ! -e "$tmp/u.h5" ]'
check "the message names the dataset and asks for labels" 'grep -q images.npy "$tmp/err" && grep -q -- --labels "$tmp/err"'
"$cli" qat "$mlp" --preset w8a8 --dataset "$tmp/own.npz" --epochs 1 --limit 200 -o "$tmp/a.h5" --json > "$tmp/a.out"; rc=$?
check "qat --dataset FILE.npz exits 0 and writes the model and config" '[ $rc -eq 0 ] && [ -f "$tmp/a.h5" ] && [ -f "$tmp/a.json" ]'
check "it trains on the .npz's 200 images and calibrates on it" \
  '[ "$(jq -r ".images, .calibration" "$tmp/a.out" | tr "\n" " ")" = "200 $tmp/own.npz " ]'
"$cli" qat "$mlp" --preset w8a8 --dataset "$tmp/images.npy" --labels "$tmp/labels.npy" --epochs 1 --limit 200 --seed 1 -o "$tmp/b.h5" --json > "$tmp/b.out"; rc=$?
check "qat --dataset FILE.npy --labels FILE.npy exits 0" '[ $rc -eq 0 ] && [ "$(jq .images "$tmp/b.out")" -eq 200 ]'
"$cli" qat "$mlp" --preset w8a8 --dataset "$tmp/own.npz" --epochs 1 --limit 200 --seed 1 --calibration "$tmp/images.npy" -o "$tmp/c.h5" --json > "$tmp/c.out"; rc=$?
check "the same images, labels and calibration give the same training" \
  '[ $rc -eq 0 ] && [ "$(jq -c "[.train_loss, .qat_accuracy]" "$tmp/b.out")" = "$(jq -c "[.train_loss, .qat_accuracy]" "$tmp/c.out")" ]'
"$cli" qat "$mlp" --preset w8a8 --dataset "$tmp/png" --epochs 1 -o "$tmp/d.h5" --json > "$tmp/d.out"; rc=$?
check "qat --dataset DIR (PNG class folders) trains on its 40 images" '[ $rc -eq 0 ] && [ "$(jq .images "$tmp/d.out")" -eq 40 ]'
"$cli" qat "$mlp" --preset w8a8 --dataset "$tmp/own.npz" --preprocess torch --epochs 1 --limit 100 -o "$tmp/e.h5" --json > "$tmp/e.out"; rc=$?
check "qat --preprocess goes into the written config" \
  '[ $rc -eq 0 ] && [ "$(jq -r .preprocessing "$tmp/e.out")" = "$(jq -r .preprocessing "$tmp/e.json")" ] && jq -r .preprocessing "$tmp/e.json" | grep -q "mean=0.485"'
exit $fail
