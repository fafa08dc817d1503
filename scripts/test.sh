#!/usr/bin/env bash
# test.sh: installs what is missing, builds with -Wall -Wextra -Werror and
# runs every test: Check unit tests, integration tests against real apache2
# and redis-server on loopback, the libFuzzer targets (briefly), then the
# unit and integration tests again in an ASan+UBSan build (the unit tests
# with LeakSanitizer too). scripts/valgrind.sh is the slower memcheck run of
# the integration tests, kept out of this script.
#
# It ends with three totals, kept apart: "build steps: N ok, M failed",
# "fuzz targets: N ran clean, M failed", and last "tests: N passed, M
# failed", where N and M count distinct Check tests (suite:tcase:test, from
# the XML log of every run): a test that runs in both builds is counted
# once, and passes only if it passed in both. Exits non-zero when anything
# failed, including a test program that ran no test at all.
#
# Environment: FUZZ_SECONDS (per fuzz target, default 10),
# CB_SKIP_SANITIZERS=1 to skip the sanitizer pass (it doubles the run time),
# IT_JOBS (integration suites run side by side, default 2; 1 = one by one).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh

# Check reads CK_* from the environment (CK_RUN_SUITE, CK_RUN_CASE,
# CK_FORK, CK_VERBOSITY, ...): a leftover filter would quietly run a part of
# the suite and still report success.
while read -r ck_variable; do
  unset "$ck_variable"
done < <(compgen -e | grep '^CK_' || true)

steps_failed=()
build_ok=0
build_failed=0
fuzz_clean=0
fuzz_failed=0
work=$(mktemp -d)
step_log=$work/step.log
test_results=$work/tests.txt
: >"$test_results"
trap 'rm -rf "$work"' EXIT

# run_step KIND NAME COMMAND...: runs one step and keeps going on failure.
# KIND is build (counted as a build step), fuzz (scripts/fuzz.sh, whose
# "fuzz targets: N ran clean, M failed" line is added up) or check (only
# its exit status counts).
run_step() {
  local kind=$1 name=$2 rc=0 counted started=$SECONDS
  shift 2
  echo "==> $name"
  "$@" 2>&1 | tee "$step_log" || rc=$?
  echo "<== $name: $((SECONDS - started)) s"
  case $kind in
    build)
      if ((rc == 0)); then build_ok=$((build_ok + 1)); else build_failed=$((build_failed + 1)); fi
      ;;
    fuzz)
      counted=$(sed -n 's/^fuzz targets: \([0-9]*\) ran clean, \([0-9]*\) failed$/\1 \2/p' "$step_log" | tail -n 1)
      if [[ -n $counted ]]; then
        read -r clean failed <<<"$counted"
        fuzz_clean=$((fuzz_clean + clean))
        fuzz_failed=$((fuzz_failed + failed))
      else
        fuzz_failed=$((fuzz_failed + 1))
        if ((rc == 0)); then rc=1; fi
      fi
      ;;
  esac
  if ((rc != 0)); then
    steps_failed+=("$name")
    echo "FAILED: $name"
  fi
}

# run_tests LABEL NAME COMMAND...: runs a Check program with an XML log and
# records each test's result under LABEL:suite:tcase:test (LABEL tells the
# unit programs from the integration ones; the builds share it, so a test
# run in the normal and the ASan build is one test). A program that ran no
# test at all, or whose log cannot be read, fails the step.
run_tests() {
  local label=$1 name=$2 rc=0 xml started=$SECONDS
  shift 2
  xml=$work/check-$((++test_runs)).xml
  echo "==> $name"
  CK_XML_LOG_FILE_NAME=$xml "$@" 2>&1 || rc=$?
  echo "<== $name: $((SECONDS - started)) s"
  if ! python3 "$top/scripts/check_tally.py" list "$label" "$xml" >>"$test_results"; then
    rc=1
  fi
  if ((rc != 0)); then
    steps_failed+=("$name")
    echo "FAILED: $name"
  fi
}
test_runs=0

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
  CB_WALLET_CLI="$dir/plugins/wallet/cloudbase-wallet" \
  CB_APACHE_PRELOAD="$preload" \
  CB_MODULE="$dir/.libs/mod_cloudbase.so" \
  CB_PLUGIN_DIRS="$dir/tests/plugins/.libs:$dir/plugins/auth/.libs:$dir/plugins/functions/.libs:$dir/plugins/storage/.libs:$dir/plugins/model/.libs:$dir/plugins/uptime/.libs:$dir/plugins/wallet/.libs:$dir/plugins/containers/.libs" \
  CB_TEST_UPSTREAM="$top/tests/integration/upstream.py" \
    "$dir/tests/integration/integration_tests"
}

# run_integration_suites NAME DIR [PRELOAD]: the integration suites of DIR
# as separate processes, IT_JOBS at a time (longest first, as
# `integration_tests --list` orders them), each with its own XML log; then
# records every suite's tests as run_tests does. A suite that ran no test,
# or whose log cannot be read, fails the step. Most of an integration test's
# time is spent waiting on servers, so two suites side by side on two cores
# finish in well under the time of one after the other.
run_integration_suites() {
  local name=$1 dir=$2 preload=${3:-} rc=0 started=$SECONDS running=0 suite run
  local -a suites
  echo "==> $name"
  mapfile -t suites < <("$dir/tests/integration/integration_tests" --list)
  if ((${#suites[@]} == 0)); then
    steps_failed+=("$name")
    echo "FAILED: $name (the program listed no suite)"
    return
  fi
  run=$((++test_runs))
  for suite in "${suites[@]}"; do
    while ((running >= IT_JOBS)); do
      wait -n || true
      running=$((running - 1))
    done
    (
      out=$work/it-$run-$suite.out status=0
      CK_RUN_SUITE=$suite CK_XML_LOG_FILE_NAME=$work/it-$run-$suite.xml \
        run_integration "$dir" "$preload" >"$out" 2>&1 || status=$?
      echo "exit status $status" >>"$out"
      cat "$out"
    ) &
    running=$((running + 1))
  done
  wait
  for suite in "${suites[@]}"; do
    if ! python3 "$top/scripts/check_tally.py" list integration "$work/it-$run-$suite.xml" >>"$test_results" ||
      ! grep -qx 'exit status 0' "$work/it-$run-$suite.out"; then
      rc=1
      echo "FAILED: suite $suite"
    fi
  done
  echo "<== $name: $((SECONDS - started)) s"
  if ((rc != 0)); then
    steps_failed+=("$name")
    echo "FAILED: $name"
  fi
}
IT_JOBS=${IT_JOBS:-2}

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

run_step build "npm ci (tests/sdk)" install_sdk
run_step build "build (-Werror)" bash scripts/build.sh "$top/build" --enable-werror
run_step build "make install (staged)" check_install
run_tests unit "unit tests" run_unit "$top/build"
# Every error log of the run is kept (CB_IT_LOG_DIR) and searched for the
# tests' secrets; the self-test shows the search catches a planted one.
mkdir -p "$work/it-logs" "$work/it-logs-asan"
CB_IT_LOG_DIR=$work/it-logs run_integration_suites "integration tests" "$top/build"
run_step check "no secret in the error logs (self-test)" bash scripts/check-log-secrets.sh --self-test
run_step check "no secret in the error logs" bash scripts/check-log-secrets.sh "$work/it-logs"
run_step fuzz "fuzzers" env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" bash scripts/fuzz.sh

if [[ "${CB_SKIP_SANITIZERS:-0}" != 1 ]]; then
  asan_lib=$(gcc -print-file-name=libasan.so)
  ubsan_lib=$(gcc -print-file-name=libubsan.so)
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_step build "build (ASan+UBSan)" bash scripts/build.sh "$top/build-asan" --enable-werror --enable-sanitizers
  # The unit tests also run under LeakSanitizer (a leak fails the test it
  # happened in); httpd is not built for it, so the integration run is not.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1" \
    run_tests unit "unit tests (ASan+UBSan+LeakSanitizer)" run_unit "$top/build-asan"
  # httpd itself is not instrumented: preload the runtimes the module needs.
  CB_IT_LOG_DIR=$work/it-logs-asan \
    run_integration_suites "integration tests (ASan+UBSan)" "$top/build-asan" "$asan_lib:$ubsan_lib"
  run_step check "no secret in the error logs (ASan+UBSan)" bash scripts/check-log-secrets.sh "$work/it-logs-asan"
fi

read -r tests_passed tests_failed < <(python3 "$top/scripts/check_tally.py" total "$test_results") ||
  steps_failed+=("tally")
tests_passed=${tests_passed:-0} tests_failed=${tests_failed:-0}
echo
if ((${#steps_failed[@]})); then
  printf 'failed step: %s\n' "${steps_failed[@]}"
fi
echo "build steps: $build_ok ok, $build_failed failed"
echo "fuzz targets: $fuzz_clean ran clean, $fuzz_failed failed"
echo "tests: $tests_passed passed, $tests_failed failed"
((${#steps_failed[@]} == 0 && build_failed == 0 && fuzz_failed == 0 && tests_failed == 0))
