#!/bin/sh
# Fails the build when core/ includes GTK, GDK or libadwaita: libquantscope-core stays GTK-free.
# usage: check-core-gtk-free.sh CORE_DIR STAMP
set -eu
dir=$1
stamp=$2
if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](gtk/|gdk/|adwaita\.h|gsk/|gtk\.h)' \
     "$dir"/*.c "$dir"/*.h; then
  echo "error: core/ must not include GTK, GDK or libadwaita headers (see lines above)" >&2
  exit 1
fi
: > "$stamp"
