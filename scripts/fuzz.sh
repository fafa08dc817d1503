#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets in tests/fuzz/ with clang (ASan +
# UBSan) straight from the core sources they need, then runs each one for
# FUZZ_SECONDS seconds (default 20) on a copy of its seed corpus. Exits
# non-zero when a target does not build or finds a crash, a leak or a hang.
#
# Usage, from anywhere in the repository:
#   bash scripts/fuzz.sh                     # build and run every target
#   FUZZ_SECONDS=5 bash scripts/fuzz.sh      # shorter runs
#   bash scripts/fuzz.sh fuzz_router         # only the named targets
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (default build-fuzz/), CC (clang).
set -euo pipefail

caller_dir="$PWD"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

fuzz_seconds="${FUZZ_SECONDS:-20}"
cc="${CC:-clang}"
# A relative FUZZ_BUILD_DIR is taken from where the script was started.
build_dir="${FUZZ_BUILD_DIR:-$repo_root/build-fuzz}"
case "$build_dir" in
    /*) ;;
    *) build_dir="$caller_dir/$build_dir" ;;
esac

all_targets=(fuzz_router fuzz_values fuzz_allowlist fuzz_errors fuzz_auth fuzz_jwt fuzz_functions
             fuzz_ratelimit fuzz_cors fuzz_directives fuzz_auth_body fuzz_upstream_url
             fuzz_ai_model fuzz_redis_info fuzz_request_line fuzz_encoding)

# The core sources each target links.
core_sources_for() {
    case "$1" in
        fuzz_router) echo "router.c" ;;
        fuzz_values) echo "values.c options.c redis.c log.c" ;;
        fuzz_allowlist) echo "allowlist.c" ;;
        fuzz_errors) echo "errors.c json.c" ;;
        fuzz_auth) echo "../../plugins/auth/parse.c json.c" ;;
        fuzz_auth_body) echo "../../plugins/auth/parse.c json.c" ;;
        fuzz_jwt) echo "../../plugins/auth/jwt.c ../../plugins/auth/jwt_claims.c encoding.c crypto.c" ;;
        fuzz_functions) echo "../../plugins/functions/parse.c ../../plugins/functions/json_check.c values.c" ;;
        fuzz_ratelimit) echo "ratelimit_rule.c values.c encoding.c" ;;
        fuzz_redis_info) echo "redis_durability.c redis.c values.c log.c" ;;
        fuzz_cors) echo "allowlist.c" ;;
        fuzz_request_line) echo "request_line.c" ;;
        fuzz_upstream_url) echo "../../plugins/functions/parse.c values.c" ;;
        fuzz_ai_model) echo "../../plugins/functions/parse.c values.c" ;;
        fuzz_directives) echo "directives.c values.c" ;;
        fuzz_encoding) echo "encoding.c" ;;
        *) echo "fuzz.sh: unknown target '$1'" >&2; return 1 ;;
    esac
}

if ! command -v "$cc" >/dev/null; then
    echo "fuzz.sh: $cc not found (install clang)" >&2
    exit 1
fi

read -r -a sanitizer_flags <<< "-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
read -r -a warning_flags <<< "-Wall -Wextra -Werror"
read -r -a include_flags <<< "-Imod_cloudbase/include -Imod_cloudbase/core -Iplugins/auth -Iplugins/functions"
library_flags_text="$(pkg-config --cflags --libs apr-1 apr-util-1 jansson hiredis openssl libcurl)"
read -r -a library_flags <<< "$library_flags_text"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi

mkdir -p "$build_dir"
# Stack traces for UBSan reports too (ASan prints them anyway).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

build_target() {
    local target="$1" sources=() source
    for source in $(core_sources_for "$target"); do
        sources+=("mod_cloudbase/core/$source")
    done
    echo "== building $target"
    "$cc" "${sanitizer_flags[@]}" "${warning_flags[@]}" "${include_flags[@]}" \
        -o "$build_dir/$target" "tests/fuzz/$target.c" "${sources[@]}" "${library_flags[@]}"
}

# Prints "runs exec/s" from a libFuzzer log with -print_final_stats=1.
final_stats() {
    local log="$1" runs exec_per_sec
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    exec_per_sec="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    echo "${runs:-?} ${exec_per_sec:-?}"
}

run_target() {
    local target="$1"
    local corpus="$build_dir/corpus/$target"
    local artifacts="$build_dir/artifacts/$target"
    local log="$build_dir/$target.log"
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    cp -f "tests/fuzz/corpus/$target"/* "$corpus"/
    echo "== running $target for ${fuzz_seconds}s (log: $log)"
    "$build_dir/$target" -max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1
}

failed=()
built=()
for target in "${targets[@]}"; do
    core_sources_for "$target" > /dev/null
    if build_target "$target"; then
        built+=("$target")
    else
        failed+=("$target (build)")
    fi
done

summary=()
ran_clean=0
for target in "${built[@]}"; do
    if run_target "$target"; then
        result="ok"
        ran_clean=$((ran_clean + 1))
    else
        result="FAILED"
        failed+=("$target")
        echo "-- $target failed; the end of its log:" >&2
        tail -n 40 "$build_dir/$target.log" >&2
        echo "-- reproducer(s) in $build_dir/artifacts/$target/:" >&2
        ls "$build_dir/artifacts/$target"/ >&2
    fi
    read -r runs exec_per_sec <<< "$(final_stats "$build_dir/$target.log")"
    summary+=("$(printf '%-16s %-6s %12s runs %10s exec/s' "$target" "$result" "$runs" "$exec_per_sec")")
done

echo "== summary"
if [ "${#summary[@]}" -gt 0 ]; then
    printf '%s\n' "${summary[@]}"
fi
# scripts/test.sh adds this line up: keep its wording.
echo "fuzz targets: $ran_clean ran clean, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: all targets ran ${fuzz_seconds}s without a crash"
