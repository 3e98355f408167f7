#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Quantscope's engines next to ONNX Runtime's CPU build on the same networks, by hand (not
# a test; numbers go into docs/BENCHMARKS.md):
#
#   sh build-aux/bench-ort.sh [BUILD_DIR] [IMAGES] [THREADS]     (defaults: build 64 2)
#
# 1. quantscope-cli bench --write-models writes the synthetic ResNet-18 and MobileNetV2
#    (224x224x3, seeded weights, BatchNorm settled on synthetic images) as Keras .h5;
# 2. each is exported to ONNX twice with quantscope-cli export: w8a8 in fp32-rne (the QDQ
#    graph ONNX Runtime fuses into QLinearConv / QLinearMatMul) and fp32 (the all-float
#    lowering: plain Conv / Gemm);
# 3. tests/bench-ort.mjs runs both in onnxruntime-node with THREADS intra-op threads on
#    IMAGES synthetic images (batch 16), and quantscope-cli bench --only engine --model runs
#    the .h5 through Quantscope's float and int8 engines on as many images, 2 threads.
# Needs node and onnxruntime-node (QS_NODE_MODULES, or the cache folder
# build-aux/quantscope-dev.sh installs into).
set -eu

build=${1:-build}
images=${2:-64}
threads=${3:-2}
src=$(cd "$(dirname "$0")/.." && pwd)
cli="$build/app/quantscope-cli"
modules=${QS_NODE_MODULES:-${XDG_CACHE_HOME:-$HOME/.cache}/quantscope/node/node_modules}

if [ ! -x "$cli" ]; then
  echo "bench-ort: $cli not found (build first, or pass the build folder)" >&2
  exit 1
fi
if [ ! -f "$modules/onnxruntime-node/package.json" ]; then
  echo "bench-ort: no onnxruntime-node in $modules (sh build-aux/quantscope-dev.sh installs it)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

QS_CLI_QUIET=1 "$cli" bench --write-models "$work" >/dev/null
# the w8a8 export calibrates: 32 random 224x224x3 byte images as a .npy (x / 255, the
# distribution of the benchmark's inputs), named by a config
python3 - "$work/calib.npy" <<'PY'
import random, struct, sys
n = 32
hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 224, 224, 3), }" % n
hdr += " " * (63 - (10 + len (hdr)) % 64) + "\n"
r = random.Random (5)
with open (sys.argv[1], "wb") as f:
    f.write (b"\x93NUMPY\x01\x00" + struct.pack ("<H", len (hdr)) + hdr.encode ())
    f.write (r.randbytes (n * 224 * 224 * 3))
PY
printf '{ "schema_version": 1, "preset": "w8a8", "calibration_source": "%s", "calibration_images": 32 }\n' \
  "$work/calib.npy" >"$work/w8a8.json"
for m in resnet18 mobilenetv2; do
  QS_CLI_QUIET=1 "$cli" export "$work/$m.h5" --config "$work/w8a8.json" --requant fp32-rne --format onnx \
    -o "$work/$m-w8a8.onnx" >/dev/null
  fp32="$work/$m-fp32.onnx"
  if ! QS_CLI_QUIET=1 "$cli" export "$work/$m.h5" --preset fp32 --format onnx -o "$fp32" \
       >/dev/null 2>"$work/err"; then
    echo "bench-ort: no fp32 ONNX for $m: $(cat "$work/err")" >&2
    fp32=
  fi
  ort_int=$(NODE_PATH="$modules" node "$src/tests/bench-ort.mjs" "$work/$m-w8a8.onnx" "$images" 16 "$threads")
  ort_float=
  if [ -n "$fp32" ]; then
    ort_float=$(NODE_PATH="$modules" node "$src/tests/bench-ort.mjs" "$fp32" "$images" 16 "$threads")
  fi
  ours=$(QS_CLI_QUIET=1 "$cli" bench --json --only engine --model "$work/$m.h5" --images "$images")
  python3 - "$m" "$ort_int" "$ort_float" "$ours" <<'PY'
import json, sys
m, ort_int, ort_float, ours = sys.argv[1:5]
rates = {r["name"]: r.get("images_per_s") for r in json.loads(ours)["results"]}
def get(prefix):
    for k, v in rates.items():
        if k == prefix:
            return v
    return float("nan")
oi = json.loads(ort_int)["images_per_s"]
of = json.loads(ort_float)["images_per_s"] if ort_float else float("nan")
qi, qr, qf = get("engine-int-w8a8-" + m), get("engine-int-w8a8-" + m + "-fp32-rne"), get("engine-float-" + m)
print(f"{m:12s} ORT int8 {oi:7.1f} img/s | Quantscope int8 gemmlowp {qi:7.1f}, fp32-rne {qr:7.1f} "
      f"({qr / oi:.2f}x ORT) | ORT fp32 {of:7.1f} | Quantscope float {qf:7.1f} ({qf / of:.2f}x ORT)")
PY
done
