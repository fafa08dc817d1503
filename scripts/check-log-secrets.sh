#!/usr/bin/env bash
# check-log-secrets.sh: fails when a secret the tests use reaches a log.
#
# Usage: scripts/check-log-secrets.sh LOG_DIR
#        scripts/check-log-secrets.sh --self-test
# LOG_DIR holds the error logs of an integration run (the harness copies
# them there when CB_IT_LOG_DIR is set; scripts/test.sh does this). Each
# line of tests/integration/test-secrets.txt is a secret; the check fails
# when one appears in any log, when the directory holds no log at all, or
# when a listed secret no longer appears in the tests (a stale list would
# check nothing). --self-test plants a secret in a copy of a clean log and
# requires the check to catch it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
list="$top/tests/integration/test-secrets.txt"

secrets() { grep -v '^#' "$list" | grep -v '^$'; }

check() {
    local dir=$1 logs found=0 secret
    logs=$(find "$dir" -type f -name '*.log' | wc -l)
    if [[ $logs -eq 0 ]]; then
        echo "check-log-secrets: no error logs in $dir" >&2
        return 1
    fi
    while IFS= read -r secret; do
        if ! grep -rqF --exclude=test-secrets.txt -- "$secret" "$top/tests/integration" \
             "$top/tests/sdk"/*.js; then
            echo "check-log-secrets: '$secret' is no longer used by the tests; update $list" >&2
            found=1
        fi
        if grep -rlF -- "$secret" "$dir" >/dev/null; then
            echo "check-log-secrets: a test secret reached these logs:" >&2
            grep -rnF -- "$secret" "$dir" | sed "s/$(printf '%s' "$secret" | sed 's/[]\/$*.^[]/\\&/g')/<SECRET>/g" >&2
            found=1
        fi
    done < <(secrets)
    [[ $found -eq 0 ]] && echo "check-log-secrets: $logs error logs, $(secrets | wc -l) secrets, none found"
    return $found
}

if [[ "${1:-}" == --self-test ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "[Tue Dec 01 00:00:00 2026] [cloudbase:warn] [req 1] nothing secret" > "$tmp/clean-error.log"
    check "$tmp" >/dev/null || { echo "self-test: a clean log was refused" >&2; exit 1; }
    echo "[cloudbase:warn] [req 2] leaked $(secrets | sed -n 3p)" > "$tmp/planted-error.log"
    if check "$tmp" 2>/dev/null; then
        echo "self-test: a planted secret was not caught" >&2
        exit 1
    fi
    rm -f "$tmp"/*.log
    if check "$tmp" 2>/dev/null; then
        echo "self-test: an empty log directory passed" >&2
        exit 1
    fi
    echo "check-log-secrets: self-test caught the planted secret and the empty directory"
    exit 0
fi

check "${1:?usage: check-log-secrets.sh LOG_DIR | --self-test}"
