#!/bin/sh
# Installs the build into a temporary DESTDIR and checks what a user or a distribution gets:
# the programs (the installed CLI runs on the installed sample model and data), the manual
# pages, the message catalogs and, with the GUI, the desktop file, metainfo, icons and
# GSettings schema, each validated where the validator is installed. TAP output.
# Usage: test-install.sh BUILDDIR PREFIX BINDIR DATADIR MANDIR LOCALEDIR GUI APP_ID
set -u
build=$1 prefix=$2 bindir=$3 datadir=$4 mandir=$5 localedir=$6 gui=$7 app_id=$8
n=0
fail=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check () { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
has () { command -v "$1" >/dev/null 2>&1; }

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
log="$dest.log"

# --no-rebuild: meson test has built everything already; --destdir keeps the real prefix
# out of it (and skips the post-install cache updates).
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$log" 2>&1
rc=$?
check "meson install --destdir" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || { sed 's/^/# /' "$log"; rm -f "$log"; echo "1..$n"; exit 1; }
rm -f "$log"

# Relative option values are under the prefix; absolute ones (e.g. /etc) stand alone.
under () { case "$1" in /*) echo "$dest$1" ;; *) echo "$dest$prefix/$1" ;; esac; }
bin=$(under "$bindir")
share=$(under "$datadir")
man1="$(under "$mandir")/man1"
locale=$(under "$localedir")
pkgdata="$share/quantscope"
cli="$bin/quantscope-cli"
model="$pkgdata/models/fmnist-cnn.h5"

check "quantscope-cli installed in $bindir" '[ -x "$cli" ]'
check "installed CLI --version" '"$cli" --version | grep -q "^quantscope-cli [0-9]"'
for m in fmnist-mlp fmnist-cnn fmnist-resnet fmnist-mobilenet; do
  check "sample model $m.h5 installed" '[ -s "$pkgdata/models/$m.h5" ]'
done
check "Fashion-MNIST sample installed" '[ -d "$pkgdata/sample" ] && [ -n "$(ls "$pkgdata/sample")" ]'

out=$(LC_ALL=C LANGUAGE= "$cli" info "$model" 2>&1); rc=$?
check "installed CLI: info on the installed sample model" '[ $rc -eq 0 ] && echo "$out" | grep -q "^conv2 .*Conv2D"'
[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /'
# The installed data, not the source tree's: QUANTSCOPE_DATADIR is searched first.
out=$(QUANTSCOPE_DATADIR="$pkgdata" QS_CLI_QUIET=1 LC_ALL=C LANGUAGE= \
      "$cli" eval "$model" --dataset sample --limit 200 --preset w8a8 --calib 50 --no-layer-stats --json \
      2>"$dest.err"); rc=$?
check "installed CLI: eval w8a8 on the installed sample dataset" \
  '[ $rc -eq 0 ] && echo "$out" | grep -q "\"images\" : 200" && echo "$out" | grep -q "\"quant_accuracy\" : 0\.[5-9]"'
[ $rc -eq 0 ] || sed 's/^/# /' "$dest.err"
rm -f "$dest.err"

# Manual pages (plain or compressed by a packager's hook).
for page in quantscope-cli.1 $( [ "$gui" = true ] && echo quantscope.1 ); do
  f="$man1/$page"
  check "man page $page installed" '[ -s "$f" ] || [ -s "$f.gz" ]'
  if has man && [ -s "$f" ]; then
    check "man -l renders the installed $page" 'MANWIDTH=80 man -l "$f" 2>/dev/null | grep -q "^NAME"'
  fi
done

# Message catalogs: every language of po/LINGUAS, with the French translation inside.
for lang in de fr; do
  check "$lang message catalog installed" '[ -s "$locale/$lang/LC_MESSAGES/quantscope.mo" ]'
done
if has msgunfmt; then
  check "French catalog translates the CLI" \
    'msgunfmt "$locale/fr/LC_MESSAGES/quantscope.mo" | grep -q "Lister les préréglages de quantification nommés"'
fi

if [ "$gui" = true ]; then
  check "quantscope installed in $bindir" '[ -x "$bin/quantscope" ]'
  desktop="$share/applications/$app_id.desktop"
  metainfo="$share/metainfo/$app_id.metainfo.xml"
  check "desktop file installed" '[ -s "$desktop" ]'
  check "desktop file runs the installed program" 'grep -q "^Exec=quantscope " "$desktop"'
  check "desktop file's icon installed" \
    'grep -q "^Icon=$app_id\$" "$desktop" && [ -s "$share/icons/hicolor/scalable/apps/$app_id.svg" ]'
  check "symbolic icon installed" '[ -s "$share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg" ]'
  check "desktop file translated into French" 'grep -q "^Comment\[fr\]=" "$desktop"'
  if has desktop-file-validate; then
    check "desktop-file-validate" 'desktop-file-validate "$desktop" >/dev/null'
  fi
  check "metainfo installed" '[ -s "$metainfo" ]'
  check "metainfo has release notes and a screenshot" \
    'grep -q "<release version=" "$metainfo" && grep -q "<screenshot" "$metainfo"'
  check "metainfo translated into French" 'grep -q "xml:lang=\"fr\"" "$metainfo"'
  if has appstreamcli; then
    check "appstreamcli validate --no-net" 'appstreamcli validate --no-net "$metainfo" >/dev/null 2>&1'
  fi
  schemas="$share/glib-2.0/schemas"
  check "GSettings schema installed" '[ -s "$schemas/$app_id.gschema.xml" ]'
  if has glib-compile-schemas; then
    check "installed schema compiles" 'glib-compile-schemas --strict --targetdir "$dest" "$schemas" && [ -s "$dest/gschemas.compiled" ]'
  fi
fi

echo "1..$n"
exit $fail
