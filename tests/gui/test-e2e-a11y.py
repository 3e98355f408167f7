#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end: drive the real app through the accessibility bus.

Starts `quantscope --sample`, selects a Dense layer in the layer list, sets its weights to
4 bits, checks that the layer SQNR and the model's weighted SQNR drop, presses Undo and checks
that everything is back. Run under a display (Xvfb) inside dbus-run-session; exits 77 (skip)
when there is no display or no pyatspi.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    print("no display: skipped")
    sys.exit(SKIP)
try:
    import pyatspi
except ImportError:
    print("pyatspi not available: skipped")
    sys.exit(SKIP)

APP = os.environ["QS_APP"]
SAMPLE = os.environ.get("QS_SAMPLE_MODEL")
if SAMPLE and not os.path.exists(SAMPLE):
    print("sample model %s missing: skipped" % SAMPLE)
    sys.exit(SKIP)
TIMEOUT = 30.0


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    raise SystemExit(1)


def wait_for(what, predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # the tree changes under us while the app updates
            value = None
        if value:
            return value
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def find_all(root, predicate):
    """Accessibles under root that match, skipping hidden subtrees (other stack pages,
    closed popovers), which keeps each walk short."""
    found = []

    def walk(acc):
        try:
            if acc is not root and not acc.getState().contains(pyatspi.STATE_VISIBLE):
                return
            if predicate(acc):
                found.append(acc)
            for child in acc:
                if child is not None:
                    walk(child)
        except Exception:
            pass

    walk(root)
    return found


def find_one(root, predicate):
    matches = find_all(root, predicate)
    return matches[0] if matches else None


def the_app():
    for acc in pyatspi.Registry.getDesktop(0):
        if acc is not None and acc.name == "quantscope":
            return acc
    return None


def described(root, description):
    """The label a value is shown in: values carry their caption as accessible description."""
    return find_one(root, lambda a: a.getRoleName() == "label" and a.description == description)


def db(label):
    match = re.match(r"(-?[0-9.]+) dB", label.name)
    return float(match.group(1)) if match else None


def main():
    tmp = tempfile.mkdtemp(prefix="quantscope-e2e-")
    env = dict(os.environ,
               GTK_A11Y="atspi",
               GSETTINGS_BACKEND="memory",
               XDG_CONFIG_HOME=os.path.join(tmp, "config"),
               XDG_DATA_HOME=os.path.join(tmp, "data"),
               XDG_CACHE_HOME=os.path.join(tmp, "cache"))
    env.pop("NO_AT_BRIDGE", None)
    proc = subprocess.Popen([APP, "--sample"], env=env)
    try:
        run()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def run():
    app = wait_for("the app on the accessibility bus", the_app)
    layers = wait_for("the layer list",
                      lambda: find_one(app, lambda a: a.getRoleName() == "list" and a.name == "Layers"))

    # The list item of the first Dense layer (its details label reads "Dense · … params").
    def dense_index():
        for i, item in enumerate(layers):
            if find_one(item, lambda a: a.getRoleName() == "label" and a.name.startswith("Dense")):
                return i + 1  # 0 is falsy: shift by one
        return None

    index = wait_for("a Dense layer in the list", dense_index) - 1
    name = find_all(layers[index], lambda a: a.getRoleName() == "label")[0].name
    # Like a click: the layer alone (selectChild adds to the selection, like a Ctrl+click).
    selection = layers.querySelection()
    selection.clearSelection()
    if not selection.selectChild(index):
        fail("could not select layer " + name)

    # The page shows the layer once its subtitle reads "Dense · kernel [...] · N parameters".
    wait_for("the page of " + name,
             lambda: find_one(app, lambda a: a.getRoleName() == "label"
                              and a.name.startswith("Dense · kernel")))

    def value_in_db(description):
        label = described(app, description)
        return label if label is not None and db(label) is not None else None

    layer_sqnr = wait_for("the layer SQNR", lambda: value_in_db("Layer SQNR"))
    summary_sqnr = wait_for("the weighted SQNR", lambda: value_in_db("Weighted SQNR"))
    before_layer, before_summary = db(layer_sqnr), db(summary_sqnr)
    print("int8: %s %.1f dB, model %.1f dB" % (name, before_layer, before_summary))

    bits = find_one(app, lambda a: a.getRoleName() == "spin button" and a.name.startswith("Weight bits"))
    if bits is None:
        fail("no weight bits spin button")
    value = bits.queryValue()
    if value.currentValue != 8:
        fail("expected 8 bits to start with, got %s" % value.currentValue)
    value.currentValue = 4.0

    # About 6 dB per bit: four bits fewer cost the layer well over 15 dB.
    after_layer = wait_for("the layer SQNR at 4 bits",
                           lambda: db(layer_sqnr) if db(layer_sqnr) < before_layer - 15 else None)
    after_summary = wait_for("the weighted SQNR at 4 bits",
                             lambda: db(summary_sqnr) if db(summary_sqnr) < before_summary - 1 else None)
    print("int4: %s %.1f dB, model %.1f dB" % (name, after_layer, after_summary))

    undo = find_one(app, lambda a: a.getRoleName() == "push button" and a.name == "Undo")
    if undo is None:
        fail("no Undo button")
    undo.queryAction().doAction(0)

    wait_for("the layer SQNR back at int8", lambda: db(layer_sqnr) == before_layer)
    wait_for("the weighted SQNR back at int8", lambda: db(summary_sqnr) == before_summary)
    wait_for("the bits spin button back at 8", lambda: value.currentValue == 8)
    print("undo: %s %.1f dB, model %.1f dB" % (name, db(layer_sqnr), db(summary_sqnr)))


if __name__ == "__main__":
    main()
