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

passed=0
failed=0
failures=()

# run_step NAME COMMAND...: runs a step, counting it, and keeps going.
run_step() {
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAILED: $name"
  fi
}

# run_tests BUILD_DIR: the unit and integration programs of one build.
run_unit() {
  local dir=$1
  CB_TEST_PLUGIN_DIR="$dir/tests/plugins/.libs" \
  CB_TEST_UPSTREAM="$top/tests/integration/upstream.py" \
    "$dir/tests/unit/unit_tests"
}

run_integration() {
  local dir=$1
  CB_MODULE="$dir/.libs/mod_cloudbase.so" \
  CB_TEST_PLUGIN_DIR="$dir/tests/plugins/.libs" \
  CB_TEST_UPSTREAM="$top/tests/integration/upstream.py" \
    "$dir/tests/integration/integration_tests"
}

run_step "build (-Werror)" bash scripts/build.sh "$top/build" --enable-werror
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
  run_step "integration tests (ASan+UBSan)" \
    env CB_APACHE_PRELOAD="$asan_lib:$ubsan_lib" bash -c "$(declare -f run_integration); top='$top'; run_integration '$top/build-asan'"
fi

echo
if ((failed)); then
  printf 'failed steps: %s\n' "${failures[*]}"
fi
echo "test steps: $passed passed, $failed failed"
((failed == 0))
