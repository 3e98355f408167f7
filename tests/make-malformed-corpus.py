#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Malformed and hostile inputs for quantscope-cli (standard library only).

    make-malformed-corpus.py OUTDIR                 writes the corpus
    make-malformed-corpus.py OUTDIR --check CLI MODEL
                                                    writes it, then runs CLI on every case and
                                                    expects exit status 1, the expected words in
                                                    the message, and an answer within 30 s

MODEL is a valid Keras .h5 (data/models/fmnist-mlp.h5): the model the dataset and config
cases run against, and the weights packed into the .keras cases. HDF5 cases (nested groups,
unknown filters, NaN labels, extra weights) need h5py, which Debian's python3 may lack: they
are written by tests/test-hostile.c with the HDF5 C library instead.
"""

import gzip
import json
import os
import struct
import subprocess
import sys
import zipfile


def idx(dims, payload):
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def npy(descr, shape, payload, fortran=False):
    """A .npy file as numpy.lib.format writes it (version 1.0)."""
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + payload


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def keras_zip(path, weights, compress):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.1.0"}))
        z.writestr("model.weights.h5", weights,
                   compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED,
                   compresslevel=9 if compress else None)


def flip_crc(path, member):
    """Flips a bit of the CRC-32 of `member` in its local and its central header."""
    data = bytearray(open(path, "rb").read())
    name = member.encode()
    for sig, name_at, crc_at in ((b"PK\x03\x04", 30, 14), (b"PK\x01\x02", 46, 16)):
        at = data.find(sig)
        while at >= 0:
            if data[at + name_at:at + name_at + len(name)] == name:
                data[at + crc_at] ^= 0x5A
            at = data.find(sig, at + 1)
    write(path, bytes(data))


def make(out, model):
    """Writes the corpus; returns the cases as (name, argv template, words expected)."""
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    cases = []

    # Quantization configs.
    write(p("config-deep.json"), b'{"schema_version": 1, "layers": ' + b"[" * 200000 + b"]" * 200000 + b"}")
    cases.append(("config nested 200,000 deep", ["quantize", model, "--config", p("config-deep.json")],
                  ["config-deep.json", "64 levels"]))
    write(p("config-preset.json"), b'{"schema_version": 1, "preset": "w9a9"}')
    cases.append(("config with an unknown preset", ["quantize", model, "--config", p("config-preset.json")],
                  ["config-preset.json", "$.preset", "w9a9"]))
    write(p("config-key.json"), b'{"schema_version": 1, "preset": "w8", "calibraton_images": 3}')
    cases.append(("config with an unknown key", ["quantize", model, "--config", p("config-key.json")],
                  ["config-key.json", "$.calibraton_images"]))

    # IDX datasets: the labels file goes beside the images.
    write(p("zero-images-idx3-ubyte"), idx([0, 28, 28], b""))
    write(p("zero-labels-idx1-ubyte"), idx([0], b""))
    cases.append(("IDX with 0 images", ["predict", model, "--dataset", p("zero-images-idx3-ubyte")],
                  ["zero-images-idx3-ubyte", "0 images"]))
    write(p("bomb-images-idx3-ubyte.gz"), gzip.compress(idx([2, 28, 28], bytes(2 * 784 + (64 << 20))), 9))
    write(p("bomb-labels-idx1-ubyte.gz"), gzip.compress(idx([2], b"\x00\x01")))
    cases.append(("gzip IDX inflating past its header", ["predict", model, "--dataset", p("bomb-images-idx3-ubyte.gz")],
                  ["bomb-images-idx3-ubyte.gz", "decompresses to more than"]))
    write(p("long-images-idx3-ubyte"), idx([1, 28, 28], bytes(785)))
    write(p("long-labels-idx1-ubyte"), idx([1], b"\x00"))
    # NumPy files: the header parser names the file and the field.
    write(p("truncated.npy"), npy("|u1", "(10, 28, 28)", bytes(784)))
    cases.append((".npy shorter than its shape", ["predict", model, "--dataset", p("truncated.npy")],
                  ["truncated.npy", "shape", "truncated"]))
    write(p("overflow.npy"), npy("<f8", "(4294967296, 4294967296, 4294967296)", bytes(8)))
    cases.append((".npy shape product overflowing", ["predict", model, "--dataset", p("overflow.npy")],
                  ["overflow.npy", "shape"]))
    write(p("complex.npy"), npy("<c16", "(1, 28, 28)", bytes(16 * 784)))
    cases.append((".npy of an unsupported dtype", ["predict", model, "--dataset", p("complex.npy")],
                  ["complex.npy", "descr"]))
    write(p("garbage.npy"), b"\x93NUMPY\x01\x00\x10\x00{'descr': <f4}\n" + bytes(4))
    cases.append((".npy with a malformed header", ["predict", model, "--dataset", p("garbage.npy")],
                  ["garbage.npy", "header"]))
    with zipfile.ZipFile(p("bad.npz"), "w") as z:
        z.writestr("x_test.npy", npy("|u1", "(3, 28, 28)", bytes(784)), compress_type=zipfile.ZIP_DEFLATED)
    cases.append((".npz member shorter than its shape", ["predict", model, "--dataset", p("bad.npz")],
                  ["bad.npz", "x_test.npy", "truncated"]))
    write(p("good.npy"), npy("|u1", "(1, 28, 28)", bytes(784)))
    write(p("labels.npy"), npy("<f4", "(1,)", struct.pack("<f", 0.5)))
    cases.append(("labels that are not whole numbers", ["predict", model, "--dataset", p("good.npy"),
                                                         "--labels", p("labels.npy")],
                  ["labels.npy", "whole numbers"]))
    cases.append(("IDX longer than its header", ["predict", model, "--dataset", p("long-images-idx3-ubyte")],
                  ["long-images-idx3-ubyte", "longer than"]))

    # .keras archives.
    weights = open(model, "rb").read()
    keras_zip(p("crc.keras"), weights, False)
    flip_crc(p("crc.keras"), "model.weights.h5")
    cases.append((".keras member with a wrong CRC", ["info", p("crc.keras")], ["crc.keras", "CRC"]))
    keras_zip(p("bomb.keras"), bytes(64 << 20), True)
    cases.append((".keras zip bomb", ["info", p("bomb.keras")], ["bomb.keras", "zip bomb"]))

    # Files that are not files.
    fifo = p("fifo.h5")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    cases.append(("FIFO as model", ["info", fifo], ["fifo.h5", "not a regular file"]))
    cases.append(("FIFO as architecture", ["info", model, "--architecture", fifo], ["fifo.h5", "not a regular file"]))
    cases.append(("FIFO as dataset", ["predict", model, "--dataset", fifo], ["fifo.h5", "not a regular file"]))
    cases.append(("/dev/zero as dataset", ["predict", model, "--dataset", "/dev/zero"], ["/dev/zero", "not a regular file"]))
    cases.append(("FIFO as output", ["quantize", model, "--preset", "w8", "-o", fifo], ["fifo.h5", "not a regular file"]))
    return cases


def check(cases, cli):
    failed = 0
    env = dict(os.environ, QS_CLI_QUIET="1", LANG="C.UTF-8")
    for n, (name, args, words) in enumerate(cases, 1):
        try:
            r = subprocess.run([cli] + args, capture_output=True, text=True, timeout=30, env=env)
            ok = r.returncode == 1 and all(w in r.stderr for w in words)
            why = "" if ok else " # exit %d: %s" % (r.returncode, r.stderr.strip()[:300])
        except subprocess.TimeoutExpired:
            ok, why = False, " # no answer in 30 s"
        print("%s %d - %s%s" % ("ok" if ok else "not ok", n, name, why))
        failed += not ok
    print("1..%d" % len(cases))
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2:
        cases = make(argv[1], os.devnull)
        return 0 if cases else 1
    if len(argv) == 5 and argv[2] == "--check":
        return check(make(argv[1], argv[4]), argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
