#!/usr/bin/env bash
# readme-curl.sh: runs README.md's curl upload (the sh block after the line
# "<!-- tests/integration/readme-curl.sh runs this block ... -->") against a
# demo gateway on 127.0.0.1:PORT, with 127.0.0.1:8080 replaced by that
# address, and compares what it prints, line by line, with the "# ..."
# comments that end the block's commands. Exits 1 (saying why) when the
# block is missing, a command fails or an output differs.
#
# Usage: readme-curl.sh PORT README.md   (tests/integration/it_demo.c runs it)
set -euo pipefail
port=$1 readme=$2

block=$(awk '/^<!-- tests\/integration\/readme-curl.sh runs this block/ { marked = 1; next }
             marked && /^```sh$/ { inside = 1; next }
             inside && /^```$/ { exit }
             inside { print }' "$readme")
if [[ -z $block ]]; then
  echo "readme-curl: no marked sh block in $readme" >&2
  exit 1
fi
# The expected outputs: each command's trailing comment, in order.
expected=$(sed -n 's/.*[[:space:]]#[[:space:]]\(.*\)$/\1/p' <<<"$block")
script=${block//127.0.0.1:8080/127.0.0.1:$port}
if [[ $script == "$block" ]]; then
  echo "readme-curl: the block does not use http://127.0.0.1:8080" >&2
  exit 1
fi
if ! actual=$(bash -euo pipefail -c "$script" 2>&1); then
  printf 'readme-curl: the block failed:\n%s\n' "$actual" >&2
  exit 1
fi
if [[ $actual != "$expected" ]]; then
  printf 'readme-curl: the block printed\n%s\ninstead of\n%s\n' "$actual" "$expected" >&2
  exit 1
fi
printf 'readme-curl: %d outputs as the README says:\n%s\n' "$(wc -l <<<"$expected")" "$actual"
