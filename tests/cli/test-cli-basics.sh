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
exit $fail
