#!/bin/sh
# The CLI contract: --version, --help, exit status 2 on usage errors, bench --json shape.
set -u
cli=${QS_CLI:?QS_CLI not set}
fail=0
check () { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }

"$cli" --version | grep -q '^quantscope-cli [0-9]' ; check "version" '[ $? -eq 0 ]'
"$cli" --help | grep -q 'bench' ; check "help lists commands" '[ $? -eq 0 ]'
"$cli" no-such-command 2>/dev/null; rc=$?; check "unknown command exits 2" '[ $rc -eq 2 ]'
"$cli" 2>/dev/null; rc=$?; check "no command exits 2" '[ $rc -eq 2 ]'
"$cli" bench --no-such-flag 2>/dev/null; rc=$?; check "bad flag exits 2" '[ $rc -eq 2 ]'
"$cli" bench --only live --synthetic-params lots 2>/dev/null; rc=$?; check "bad --synthetic-params exits 2" '[ $rc -eq 2 ]'
"$cli" bench --help | grep -q 'synthetic-params' ; check "bench --help documents --synthetic-params" '[ $? -eq 0 ]'
"$cli" bench --per-layer 2>/dev/null; rc=$?; check "--per-layer without --model exits 2" '[ $rc -eq 2 ]'
"$cli" bench --help | grep -q 'per-layer' ; check "bench --help documents --per-layer" '[ $? -eq 0 ]'
# German from the build tree's catalogs (only the C and POSIX locales exist: use LANGUAGE)
LANG=C.UTF-8 LANGUAGE=de "$cli" presets | grep -q 'Überall Float32' ; check "German messages" '[ $? -eq 0 ]'
LANG=C.UTF-8 LANGUAGE=fr "$cli" presets | grep -q 'Float32 partout' ; check "French messages" '[ $? -eq 0 ]'
LANG=C.UTF-8 LANGUAGE=fr "$cli" no-such-command 2>&1 | grep -q 'commande inconnue' ; check "French usage error" '[ $? -eq 0 ]'
# plot's channel check: a clear error (exit 1), and a usage error for a silly font scale
model="$(dirname "$0")/../../data/models/fmnist-cnn.h5"
out=$(mktemp -d)
"$cli" plot "$model" --layer conv2 --kind histogram --preset w8a8 --channel 99 -o "$out/p.png" 2>"$out/err"; rc=$?
check "plot --channel 99 exits 1 naming the channels" '[ $rc -eq 1 ] && grep -q "32 output channels" "$out/err"'
"$cli" plot "$model" --layer conv2 --kind histogram --preset w8a8 --font-scale 9 -o "$out/p.png" 2>/dev/null; rc=$?
check "plot --font-scale 9 exits 2" '[ $rc -eq 2 ]'
rm -rf "$out"
exit $fail
