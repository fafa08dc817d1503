#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages mod_cloudbase needs to
# build, test and run (idempotent: only what is missing, one apt-get run).
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(
  build-essential autoconf automake libtool pkg-config
  apache2 apache2-dev libapr1-dev libaprutil1-dev
  libcurl4-openssl-dev libssl-dev libjansson-dev libhiredis-dev check
  redis-server curl python3 openssl clang libclang-rt-14-dev chromium
  libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql postgresql sqlite3
  python3-aiosmtpd
  podman runc conmon catatonit busybox-static git
  "$@"
)

# Node.js (20 or newer) runs the official SDK tests; the machine image
# ships it, Debian's nodejs/npm are the fallback.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts the services it installs where it can; the project starts
# its own on free ports, so stop the packaged ones if they came up.
for svc in apache2 redis-server nginx; do
  if command -v service >/dev/null 2>&1; then
    "${sudo_cmd[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
done
