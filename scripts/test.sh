#!/usr/bin/env bash
# test.sh: installs what is missing, builds with -Wall -Wextra -Werror and
# runs every test: Check unit tests, integration tests against real apache2
# and redis-server on loopback, the libFuzzer targets (briefly), then the
# unit and integration tests again in an ASan+UBSan build.
#
# Environment: FUZZ_SECONDS (per fuzz target, default 10),
# CB_SKIP_SANITIZERS=1 to skip the sanitizer pass (it doubles the run time).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh

steps_failed=()
tests_passed=0
tests_failed=0
step_log=$(mktemp)
trap 'rm -f "$step_log"' EXIT

# run_step NAME COMMAND...: runs a step and keeps going on failure. Check's
# "Checks: N, Failures: F, Errors: E" lines are added to the test totals; a
# step without them (build, fuzzers) counts as one test.
run_step() {
  local name=$1 rc=0 counted
  shift
  echo "==> $name"
  "$@" 2>&1 | tee "$step_log" || rc=$?
  counted=$(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$step_log")
  if [[ -n "$counted" ]]; then
    while read -r checks failures errors; do
      tests_passed=$((tests_passed + checks - failures - errors))
      tests_failed=$((tests_failed + failures + errors))
    done <<<"$counted"
  elif ((rc == 0)); then
    tests_passed=$((tests_passed + 1))
  else
    tests_failed=$((tests_failed + 1))
  fi
  if ((rc != 0)); then
    steps_failed+=("$name")
    echo "FAILED: $name"
  fi
}

# The unit and integration programs of one build directory.
run_unit() {
  local dir=$1
  CB_TEST_PLUGIN_DIR="$dir/tests/plugins/.libs" \
  CB_TEST_UPSTREAM="$top/tests/integration/upstream.py" \
    "$dir/tests/unit/unit_tests"
}

run_integration() {
  local dir=$1 preload=${2:-}
  CB_SDK_DIR="$top/tests/sdk" \
  CB_USER_CLI="$dir/plugins/auth/cloudbase-user" \
  CB_APACHE_PRELOAD="$preload" \
  CB_MODULE="$dir/.libs/mod_cloudbase.so" \
  CB_PLUGIN_DIRS="$dir/tests/plugins/.libs:$dir/plugins/auth/.libs:$dir/plugins/functions/.libs" \
  CB_TEST_UPSTREAM="$top/tests/integration/upstream.py" \
    "$dir/tests/integration/integration_tests"
}

# make install into a staging root, serve from it, make uninstall: see
# scripts/check-install.sh.
check_install() {
  bash "$top/scripts/check-install.sh" "$top/build"
}

# The official JavaScript SDK, pinned by tests/sdk/package-lock.json.
install_sdk() {
  local sdk=$top/tests/sdk
  if [[ ! -f $sdk/node_modules/.package-lock.json || $sdk/package-lock.json -nt $sdk/node_modules/.package-lock.json ]]; then
    (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

run_step "npm ci (tests/sdk)" install_sdk
run_step "build (-Werror)" bash scripts/build.sh "$top/build" --enable-werror
run_step "make install (staged)" check_install
run_step "unit tests" run_unit "$top/build"
run_step "integration tests" run_integration "$top/build"
run_step "fuzzers" env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" bash scripts/fuzz.sh

if [[ "${CB_SKIP_SANITIZERS:-0}" != 1 ]]; then
  asan_lib=$(gcc -print-file-name=libasan.so)
  ubsan_lib=$(gcc -print-file-name=libubsan.so)
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_step "build (ASan+UBSan)" bash scripts/build.sh "$top/build-asan" --enable-werror --enable-sanitizers
  run_step "unit tests (ASan+UBSan)" run_unit "$top/build-asan"
  # httpd itself is not instrumented: preload the runtimes the module needs.
  run_step "integration tests (ASan+UBSan)" run_integration "$top/build-asan" "$asan_lib:$ubsan_lib"
fi

echo
if ((${#steps_failed[@]})); then
  printf 'failed steps: %s\n' "${steps_failed[*]}"
fi
echo "tests: $tests_passed passed, $tests_failed failed"
((${#steps_failed[@]} == 0 && tests_failed == 0))
