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
for d in ('keras-config', 'loader-stream', 'keras-file', 'config', 'idx'):
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
