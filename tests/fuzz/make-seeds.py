#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed corpora for the libFuzzer harnesses in tests/fuzz, from the bundled models and
../shared/models (when present), through the sandboxed loader's own stream.

usage: tests/fuzz/make-seeds.py BUILD_DIR OUT_DIR
Writes OUT_DIR/{keras-config,loader-stream,keras-file,config,idx}/; then, e.g.
  BUILD_DIR/tests/fuzz/fuzz-loader-stream -max_total_time=3600 OUT_DIR/loader-stream
"""
import glob
import json
import os
import shutil
import struct
import subprocess
import sys

build, out = sys.argv[1], sys.argv[2]
src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for d in ('keras-config', 'loader-stream', 'keras-file', 'config', 'idx', 'npy', 'aimet'):
    os.makedirs(os.path.join(out, d), exist_ok=True)

models = sorted(glob.glob(os.path.join(src, 'data', 'models', '*.h5')))
models += sorted(p for p in glob.glob(os.path.join(src, '..', 'shared', 'models', '*'))
                 if p.endswith(('.h5', '.keras')))
loader = os.path.join(build, 'app', 'quantscope-loader')
for i, m in enumerate(models):
    if os.path.getsize(m) < (8 << 20):
        shutil.copy(m, os.path.join(out, 'keras-file', f'{i}{os.path.splitext(m)[1]}'))
    stream = subprocess.run([loader, '--', m], capture_output=True).stdout
    if stream[:8] != b'QSLOADR1' or struct.unpack('<I', stream[8:12])[0] != 0:
        continue
    length = struct.unpack('<Q', stream[12:20])[0]
    header = stream[20:20 + length]
    architecture = json.loads(header).get('architecture')
    if architecture:
        with open(os.path.join(out, 'keras-config', f'{i}.json'), 'w') as f:
            f.write(architecture)
    with open(os.path.join(out, 'loader-stream', f'{i}.bin'), 'wb') as f:
        f.write((b'#' + stream[12:])[:1 << 20])
    with open(os.path.join(out, 'loader-stream', f'{i}-header.json'), 'wb') as f:
        f.write(header)

presets = json.loads(subprocess.run([os.path.join(build, 'app', 'quantscope-cli'), 'presets',
                                     '--json'], capture_output=True, check=True).stdout)
items = presets if isinstance(presets, list) else list(presets.get('presets', presets).values())
for i, p in enumerate(items):
    if isinstance(p, dict) and p.get('config'):
        with open(os.path.join(out, 'config', f'{i}.json'), 'w') as f:
            json.dump(p['config'], f)

# fuzz-idx: the first byte * 4 is the labels file's length, then labels, then images.
labels = struct.pack('>II', 0x801, 2) + bytes([3, 7]) + b'\0\0'
images = struct.pack('>IIII', 0x803, 2, 28, 28) + bytes(range(256)) * 6 + bytes(32)
with open(os.path.join(out, 'idx', '0.bin'), 'wb') as f:
    f.write(bytes([len(labels) // 4]) + labels + images)

# fuzz-npy: the first byte picks .npy (even) or .npz (odd); numpy when installed.
try:
    import io
    import numpy as np
    rng = np.random.default_rng(7)
    x = rng.integers(0, 255, (3, 28, 28), dtype=np.uint8)
    y = np.array([1, 2, 3], dtype=np.int64)
    for i, arr in enumerate([x, x.astype('>f4') / 255, np.asfortranarray(x.astype('<f8')),
                             x.astype(np.int16), y]):
        b = io.BytesIO()
        np.save(b, arr)
        with open(os.path.join(out, 'npy', f'{i}.bin'), 'wb') as f:
            f.write(b'\0' + b.getvalue())
    for i, saver in enumerate([np.savez, np.savez_compressed]):
        b = io.BytesIO()
        saver(b, x_test=x, y_test=y)
        with open(os.path.join(out, 'npy', f'z{i}.bin'), 'wb') as f:
            f.write(b'\1' + b.getvalue())
except ImportError:
    print('numpy not installed: no .npy seeds', file=sys.stderr)

# fuzz-aimet: the exports of the sample CNN in both AIMET layouts and the config export.
cli = os.path.join(build, 'app', 'quantscope-cli')
model = os.path.join(src, 'data', 'models', 'fmnist-cnn.h5')
for fmt in ('aimet', 'aimet-0.6.1', 'config'):
    target = os.path.join(out, 'aimet', fmt + '.json')
    subprocess.run([cli, 'export', model, '--preset', 'w8a8', '--format', fmt, '-o', target],
                   capture_output=True)
