#!/bin/sh
# The manual pages: each formats without a warning (man --warnings, groff -ww), and
# quantscope-cli.1 documents every command and every option the CLI's --help lists.
# Usage: test-man.sh QUANTSCOPE-CLI PAGE.1…   (TAP; exits 77, skipped, without man and groff)
set -u
cli=$1
shift
n=0
fail=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

have_man=0; have_groff=0
command -v man >/dev/null 2>&1 && have_man=1
command -v groff >/dev/null 2>&1 && have_groff=1
if [ $have_man -eq 0 ] && [ $have_groff -eq 0 ]; then
  echo "1..0 # SKIP neither man nor groff is installed"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for page in "$@"; do
  name=$(basename "$page")
  if [ $have_groff -eq 1 ]; then
    # -ww: every warning; -z: no output. groff prints warnings on stderr.
    groff -man -ww -z "$page" 2>"$tmp/err"
    if [ $? -eq 0 ] && [ ! -s "$tmp/err" ]; then ok "$name: groff -man -ww"; else
      not_ok "$name: groff -man -ww"; sed 's/^/# /' "$tmp/err"; fi
  fi
  if [ $have_man -eq 0 ]; then
    continue
  fi
  # man: also runs the page through the pre-processors and the terminal device.
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err"
  if [ $? -eq 0 ] && [ ! -s "$tmp/err" ] && [ -s "$tmp/out" ]; then ok "$name: man --warnings"; else
    not_ok "$name: man --warnings"; sed 's/^/# /' "$tmp/err"; fi
done

page=""
for p in "$@"; do
  case "$p" in *quantscope-cli.1) page=$p ;; esac
done
if [ -z "$page" ]; then
  not_ok "quantscope-cli.1 given"
  echo "1..$n"
  exit 1
fi

# The commands, from the untranslated --help: the lines between "Commands:" and "Options:".
commands=$(LC_ALL=C LANGUAGE= "$cli" --help | sed -n '/^Commands:/,/^Options:/p' | awk 'NF && !/:$/ { print $1 }')
if [ -z "$commands" ]; then
  not_ok "quantscope-cli --help lists commands"
fi
for c in $commands; do
  # Each command has a subsection heading: .SS "COMMAND …"
  if grep -q "^\.SS \"$c[ \"]" "$page"; then ok "command $c has a section"; else not_ok "command $c has a section"; fi
  # ... and each of its options (roff writes a hyphen as \-).
  for opt in $(LC_ALL=C LANGUAGE= "$cli" "$c" --help | sed -n 's/^ *\(-[a-z], \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
    [ "$opt" = help ] && continue
    esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    if grep -q -- "\\\\-\\\\-$esc" "$page"; then ok "$c --$opt documented"; else not_ok "$c --$opt documented"; fi
  done
done
for word in "EXIT STATUS" QS_KERNELS QS_CLI_QUIET autosave; do
  if grep -q "$word" "$page"; then ok "page has $word"; else not_ok "page has $word"; fi
done
echo "1..$n"
exit $fail
