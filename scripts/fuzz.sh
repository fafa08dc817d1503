#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets in tests/fuzz/ with clang (ASan +
# UBSan), then runs each one for FUZZ_SECONDS seconds (default 20) on a copy
# of its seed corpus. Exits non-zero when a target does not build or finds a
# crash, a leak or a hang.
#
# The code under test comes from the same convenience libraries the module
# and the unit tests link (libcbcore.la, plugins/*/lib*.la; Makefile.am):
# the tree is configured a second time in FUZZ_BUILD_DIR/tree with clang and
# -fsanitize=fuzzer-no-link,address,undefined, those libraries are built
# there, and each target links their static archives. No source list here.
#
# Usage, from anywhere in the repository:
#   bash scripts/fuzz.sh                     # build and run every target
#   FUZZ_SECONDS=5 bash scripts/fuzz.sh      # shorter runs
#   bash scripts/fuzz.sh fuzz_router         # only the named targets
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (default build-fuzz/), CC (clang).
# The first run configures and builds the libraries (a minute or two);
# later runs rebuild only what changed.
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
             fuzz_ai_model fuzz_redis_info fuzz_request_line fuzz_cidr fuzz_sse
             fuzz_db_config fuzz_encoding fuzz_option_line fuzz_json_scan
             fuzz_redis_cluster fuzz_sigv4 fuzz_storage fuzz_storage_form
             fuzz_storage_bucket fuzz_storage_s3 fuzz_readcache_entry fuzz_model
             fuzz_notify fuzz_uptime fuzz_wallet fuzz_containers
             fuzz_usage_scan)

# The convenience libraries every target links, in link order (a plugin's
# library before the core it calls).
libraries=(plugins/auth/libauth.la plugins/functions/libfunctions.la plugins/storage/libstorage.la
           plugins/model/libmodel.la plugins/uptime/libuptime.la plugins/wallet/libwallet.la
           plugins/containers/libcontainers.la
           libcbcore.la)

is_target() {
    local target
    for target in "${all_targets[@]}"; do
        [ "$target" = "$1" ] && return 0
    done
    echo "fuzz.sh: unknown target '$1'" >&2
    return 1
}

if ! command -v "$cc" >/dev/null; then
    echo "fuzz.sh: $cc not found (install clang)" >&2
    exit 1
fi

library_cflags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
read -r -a sanitizer_flags <<< "-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
read -r -a warning_flags <<< "-Wall -Wextra -Werror"
read -r -a include_flags <<< "-Imod_cloudbase/include -Imod_cloudbase/core -Iplugins/auth -Iplugins/functions -Iplugins/storage -Iplugins/model -Iplugins/uptime -Iplugins/wallet -Iplugins/containers"
library_flags_text="$(pkg-config --cflags --libs apr-1 apr-util-1 jansson hiredis openssl libcurl)"
read -r -a library_flags <<< "$library_flags_text"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi

for target in "${targets[@]}"; do
    is_target "$target"
done

mkdir -p "$build_dir"

# Configures the tree in $build_dir/tree for clang and the fuzzer's
# sanitizers (again only when the flags change) and builds the libraries.
build_libraries() {
    local tree="$build_dir/tree" flags
    flags="CC=$cc CFLAGS=$library_cflags --enable-werror"
    if [ -f config.status ]; then
        echo "fuzz.sh: the source tree has an in-tree build; run 'make distclean' first" >&2
        return 1
    fi
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        ./autogen.sh > /dev/null 2>&1
    fi
    mkdir -p "$tree"
    if [ ! -f "$tree/config.status" ] || [ "$(cat "$tree/.configure-flags" 2>/dev/null)" != "$flags" ]; then
        echo "== configuring $tree for $cc"
        (cd "$tree" && "$repo_root/configure" CC="$cc" CFLAGS="$library_cflags" --enable-werror \
            > configure.log 2>&1) || { tail -n 20 "$tree/configure.log" >&2; return 1; }
        echo "$flags" > "$tree/.configure-flags"
    fi
    echo "== building ${libraries[*]}"
    make -C "$tree" -j"$(nproc)" "${libraries[@]}" > "$tree/make.log" 2>&1 ||
        { tail -n 40 "$tree/make.log" >&2; return 1; }
}

# Stack traces for UBSan reports too (ASan prints them anyway).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

build_target() {
    local target="$1" archives=() library
    for library in "${libraries[@]}"; do
        archives+=("$build_dir/tree/$(dirname "$library")/.libs/$(basename "$library" .la).a")
    done
    echo "== building $target"
    "$cc" "${sanitizer_flags[@]}" "${warning_flags[@]}" "${include_flags[@]}" \
        -o "$build_dir/$target" "tests/fuzz/$target.c" "${archives[@]}" "${library_flags[@]}"
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
libraries_built=1
build_libraries || libraries_built=0
for target in "${targets[@]}"; do
    if [ "$libraries_built" = 1 ] && build_target "$target"; then
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
