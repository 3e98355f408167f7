#!/bin/sh
# Quantscope's developer entry point, the two README Quick start commands:
#   sh build-aux/quantscope-dev.sh run    install what is missing, build, open the sample model
#   sh build-aux/quantscope-dev.sh test   install what is missing, build, run every test suite
#   sh build-aux/quantscope-dev.sh fuzz      every libFuzzer harness for 20 s (clang build)
#   sh build-aux/quantscope-dev.sh sanitize  the core and gui suites under ASan + UBSan in
#                                            build-asan/ (slow; not part of `test`)
# Packages come from apt (through sudo when not root) and only when missing. The build goes
# to build/; nothing of Quantscope is installed system-wide.
set -eu

cd "$(dirname "$0")/.."
mode=${1:-run}
shift 2>/dev/null || true

packages="gcc meson ninja-build pkg-config libgtk-4-dev libadwaita-1-dev libhdf5-dev
  libjson-glib-dev libzip-dev libgdk-pixbuf-2.0-dev libcairo2-dev libpango1.0-dev gettext appstream appstream-util
  desktop-file-utils libglib2.0-bin libglib2.0-dev-bin xvfb xauth imagemagick hdf5-tools jq json-glib-tools
  libgtk-4-bin dbus-x11 at-spi2-core python3-pyatspi python3-dogtail groff-base man-db
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev python3-onnx libseccomp-dev
  libflatbuffers-dev flatbuffers-compiler poppler-utils
  libxnnpack-dev libpthreadpool-dev libdnnl-dev"
# Node.js and npm run the export tests' runtimes. A machine with Node.js from elsewhere
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm) keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages="$packages nodejs npm"
fi
# 32-bit builds of the `c` export's generated code (tests/test-export-c.c; amd64 only)
if [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ]; then
  packages="$packages gcc-multilib"
fi

# The runtimes that consume our exports (ONNX Runtime, LiteRT), from npm into a cache folder
# outside the source tree. Tests find them through QS_NODE_MODULES and skip, saying why,
# when they are missing (no registry).
node_dir=${QS_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quantscope/node}
node_packages="onnxruntime-node@1.30.0 @litertjs/core@2.5.3"

install_missing () {
  missing=""
  for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing="$missing $p"
    fi
  done
  [ -z "$missing" ] && return 0
  echo "== installing:$missing"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 $missing
}

install_node_runtimes () {
  stamp="$node_dir/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$node_packages" ]; then
    return 0
  fi
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{"private": true}' > "$node_dir/package.json"
  echo "== installing into $node_dir: $node_packages"
  # --ignore-scripts: onnxruntime-node's install script would fetch GPU binaries.
  # shellcheck disable=SC2086
  if (cd "$node_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
        $node_packages); then
    echo "$node_packages" > "$stamp"
  else
    echo "== npm registry not reachable: the export runtime tests will skip" >&2
  fi
}

build () {
  if [ ! -f build/build.ninja ]; then
    meson setup build
  fi
  ninja -C build
}

case "$mode" in
  run)
    install_missing
    build
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      exec ./build/app/gui/quantscope --sample "$@"
    fi
    echo "No display found; showing the sample model in the CLI instead." >&2
    exec ./build/app/quantscope-cli info data/models/fmnist-cnn.h5 "$@"
    ;;
  test)
    install_missing
    install_node_runtimes
    export QS_NODE_MODULES="$node_dir/node_modules"
    build
    rc=0
    xvfb-run -a -s "-screen 0 1280x800x24" \
      meson test -C build --no-suite bench --print-errorlogs "$@" || rc=$?
    sh build-aux/test-summary.sh build/meson-logs/testlog.json || rc=1
    exit $rc
    ;;
  sanitize)
    # docs/HACKING.md, "Sanitizers": gcc, ASan + UBSan, LSan suppressions for leaks whose
    # whole stack is in system libraries (build-aux/lsan.supp).
    install_missing
    if [ ! -f build-asan/build.ninja ]; then
      CC=gcc meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
    else
      meson configure build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dgui=auto
    fi
    ninja -C build-asan
    export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:print_stacktrace=1:allocator_may_return_null=1"
    export LSAN_OPTIONS="suppressions=$(pwd)/build-aux/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    rc=0
    xvfb-run -a -s "-screen 0 1280x800x24" \
      meson test -C build-asan --suite gui --suite core --no-suite bench --print-errorlogs \
        --timeout-multiplier 4 "$@" || rc=$?
    sh build-aux/test-summary.sh build-asan/meson-logs/testlog.json || rc=1
    exit $rc
    ;;
  fuzz)
    # docs/HACKING.md, "Fuzzing": every libFuzzer harness for 20 s (the "fuzz" suite), on a
    # clang build of the core with ASan + UBSan and coverage over the whole library.
    packages="$packages clang libclang-rt-14-dev"
    install_missing
    if [ ! -f build-fuzz/build.ninja ]; then
      CC=clang CXX=clang++ meson setup build-fuzz -Dgui=disabled -Db_lundef=false \
        -Db_sanitize=address,undefined -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
    fi
    ninja -C build-fuzz
    export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
    export LSAN_OPTIONS="suppressions=$(pwd)/build-aux/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    rc=0
    meson test -C build-fuzz --suite fuzz --print-errorlogs "$@" || rc=$?
    sh build-aux/test-summary.sh build-fuzz/meson-logs/testlog.json || rc=1
    exit $rc
    ;;
  *)
    echo "usage: sh build-aux/quantscope-dev.sh run|test|sanitize|fuzz [ARGS…]" >&2
    exit 2
    ;;
esac
