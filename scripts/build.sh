#!/usr/bin/env bash
# build.sh: configures and builds mod_cloudbase out of tree.
# Usage: scripts/build.sh BUILD_DIR [configure options...]
# The module, plugins and test programs end up under BUILD_DIR (the module
# at BUILD_DIR/.libs/mod_cloudbase.so, test plugins in
# BUILD_DIR/tests/plugins/.libs). Runs autoreconf when configure is missing
# or older than configure.ac / Makefile.am.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:?usage: scripts/build.sh BUILD_DIR [configure options]}
shift

cd "$top"
if [[ -f config.status ]]; then
  # An in-tree build blocks out-of-tree ones; clear it (only build products).
  echo "build: removing the in-tree build (make distclean)"
  make distclean >/dev/null 2>&1 || rm -f config.status
fi
if [[ ! -x configure || configure.ac -nt configure || Makefile.am -nt Makefile.in ]]; then
  ./autogen.sh >/dev/null 2>&1
fi

mkdir -p "$build_dir"
cd "$build_dir"
flags="$*"
if [[ ! -f config.status || "$(cat .configure-flags 2>/dev/null)" != "$flags" ]]; then
  "$top/configure" "$@" >/dev/null
  echo "$flags" > .configure-flags
fi
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" check TESTS= >/dev/null
