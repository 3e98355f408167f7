#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A catalogue is complete: no untranslated or fuzzy entry (fuzzy ones are not used at run
# time), and every message of the committed template po/quantscope.pot is translated in it
# (a catalogue not merged after the template was regenerated fails here).
# Usage: test-po-complete.sh LANG.po TEMPLATE.pot; exit 77 (skip) without msgfmt.
po=$1
pot=$2
if ! command -v msgfmt >/dev/null 2>&1; then
  echo "SKIP: msgfmt is not installed (gettext)"
  exit 77
fi
stats=$(LC_ALL=C msgfmt --statistics -o /dev/null "$po" 2>&1) || { echo "$stats"; exit 1; }
echo "$po: $stats"
status=0
case $stats in
  *fuzzy*|*untranslated*)
    echo "FAIL: $po has fuzzy or untranslated entries; translate them (docs/HACKING.md, Translations):"
    msgattrib --only-fuzzy --no-obsolete "$po" | grep -c '^msgid ' | sed 's/^/  fuzzy entries (incl. header): /'
    msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid ' | sed 's/^/  untranslated entries (incl. header): /'
    status=1 ;;
esac
if [ -n "$pot" ] && command -v msgcmp >/dev/null 2>&1; then
  out=$(mktemp)
  # msgcmp counts untranslated and fuzzy entries of $po as missing
  if ! msgcmp "$po" "$pot" >"$out" 2>&1; then
    echo "FAIL: messages of $pot not translated in $po (run ninja -C build quantscope-update-po):"
    head -20 "$out"
    status=1
  fi
  rm -f "$out"
fi
exit $status
