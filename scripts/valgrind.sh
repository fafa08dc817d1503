#!/usr/bin/env bash
# valgrind.sh: runs the integration tests with every apache2 under valgrind's
# memcheck (one child process per httpd), then reports what memcheck found
# in the gateway: definite leaks, invalid reads and writes, uses of
# uninitialised memory. Not part of scripts/test.sh: it takes a long time,
# and tests with sub-second deadlines can fail under valgrind's slowdown
# (their failures are printed but are not what this script judges).
#
# Usage: scripts/valgrind.sh [SUITE...]   (default: every integration suite)
# Exit status: 0 when no memcheck finding names mod_cloudbase, its core or a
# plugin; 1 otherwise. Logs stay in the printed directory.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh valgrind
(cd tests/sdk && [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error)
bash scripts/build.sh "$top/build" --enable-werror

logs=$(mktemp -d /tmp/cb-valgrind.XXXXXX)
chmod 1777 "$logs"   # httpd children write their logs as the User of the config
dir=$top/build
suites=("$@")
if ((${#suites[@]} == 0)); then
  mapfile -t suites < <(sed -n 's/.*suite_create("\([^"]*\)").*/\1/p' tests/integration/it_*.c)
fi

export CB_APACHE_WRAPPER="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
--errors-for-leak-kinds=definite --trace-children=yes --num-callers=40 --log-file=$logs/vg-%p.log"
export CB_APACHE_ONE_CHILD=1 CK_DEFAULT_TIMEOUT=900
for suite in "${suites[@]}"; do
  echo "==> $suite (under memcheck)"
  CK_RUN_SUITE=$suite CB_SDK_DIR="$top/tests/sdk" CB_USER_CLI="$dir/plugins/auth/cloudbase-user" \
  CB_MODULE="$dir/.libs/mod_cloudbase.so" \
  CB_PLUGIN_DIRS="$dir/tests/plugins/.libs:$dir/plugins/auth/.libs:$dir/plugins/functions/.libs" \
  CB_TEST_UPSTREAM="$top/tests/integration/upstream.py" \
    "$dir/tests/integration/integration_tests" 2>&1 | grep -E '^[0-9]+%|:[EF]:' || true
done

# A finding counts when one of its stack frames is in our code.
findings=0
for log in "$logs"/vg-*.log; do
  if awk '/(definitely lost in loss record|Invalid (read|write|free)|uninitialised|Conditional jump|Mismatched free|Syscall param)/ {block=1; text=""}
          block {text = text $0 "\n"}
          block && /^==[0-9]+== *$/ {if (text ~ /(mod_cloudbase|libcbcore|plugins\/|\/cloudbase\/|core\/[a-z_]+\.c|apache\/[a-z_]+\.c)/) {printf "%s", text; found=1} block=0}
          END {exit found ? 0 : 1}' "$log"; then
    echo "    (in $log)"
    findings=$((findings + 1))
  fi
done
anywhere=$(grep -L 'ERROR SUMMARY: 0 errors' "$logs"/vg-*.log | wc -l)
echo "memcheck: $(ls "$logs" | wc -l) process logs in $logs; $findings with findings in the gateway," \
  "$anywhere with any error at all (httpd, APR and libraries included)"
((findings == 0))
