#!/usr/bin/env bash
# check-install.sh: checks `make install` and `make uninstall` of a built
# tree in a staging root (DESTDIR), as scripts/test.sh's "make install
# (staged)" step:
#   1. make install puts the module, both plugins, the CLI, the headers and
#      the a2enmod files in place, and no libtool .la file;
#   2. the installed files serve: apache2 on a free 127.0.0.1 port loads the
#      staged module and plugin directory and the staged cloudbase.conf,
#      and /health answers 200 listing the functions plugin;
#   3. make uninstall leaves no file behind, also when an older install left
#      the .la files (restored from the build's .libs/*.lai).
# Usage: scripts/check-install.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: scripts/check-install.sh BUILD_DIR}
root=$(mktemp -d)
chmod 755 "$root"
failures=0
fail() { echo "check-install: $*"; failures=$((failures + 1)); }
trap 'rm -rf "$root"' EXIT

moddir=$root/usr/lib/apache2/modules
make -C "$build" install DESTDIR="$root" >/dev/null || fail "make install failed"
for f in "$moddir/mod_cloudbase.so" "$moddir/cloudbase/auth.so" "$moddir/cloudbase/functions.so" \
         "$moddir/cloudbase/storage.so" "$moddir/cloudbase/model.so" "$moddir/cloudbase/uptime.so" "$moddir/cloudbase/wallet.so" \
         "$moddir/cloudbase/containers.so" \
         "$root/usr/local/bin/cloudbase-user" "$root/usr/local/bin/cloudbase-wallet" \
         "$root/usr/local/include/cloudbase/cloudbase.h" \
         "$root/etc/apache2/mods-available/cloudbase.conf"; do
  [[ -f $f ]] || fail "make install did not install ${f#"$root"}"
done
grep -q '^LoadModule cloudbase_module /usr/lib/apache2/modules/mod_cloudbase.so' \
  "$root/etc/apache2/mods-available/cloudbase.load" || fail "cloudbase.load has no LoadModule line"
grep -q '^# Depends: reqtimeout' "$root/etc/apache2/mods-available/cloudbase.load" ||
  fail "cloudbase.load does not make a2enmod enable mod_reqtimeout"
# A plugin built outside the tree needs only the installed headers.
for header in "$root"/usr/local/include/cloudbase/*.h; do
  printf '#include <cloudbase/%s>\n' "$(basename "$header")" |
    cc -fsyntax-only -Wall -Werror -I"$root/usr/local/include" \
      $(pkg-config --cflags apr-1 apr-util-1 jansson libcurl) -x c - ||
    fail "the installed header cloudbase/$(basename "$header") does not compile on its own"
done
left=$(find "$root" -name '*.la')
[[ -z $left ]] || fail "make install left libtool files: $left"

# 2. Serve from the staged files.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$root/httpd.conf" <<CONF
ServerRoot /etc/apache2
ServerName 127.0.0.1
PidFile $root/httpd.pid
ErrorLog $root/error.log
Listen 127.0.0.1:$port
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule reqtimeout_module /usr/lib/apache2/modules/mod_reqtimeout.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule cloudbase_module $moddir/mod_cloudbase.so
Include $root/etc/apache2/mods-available/cloudbase.conf
DocumentRoot $root
CloudBaseEnv install-check
CloudBasePluginDir $moddir/cloudbase
<CloudBasePlugin functions>
  function hello http://127.0.0.1:9/
</CloudBasePlugin>
CONF
if apache2 -f "$root/httpd.conf" -k start; then
  health=""
  for _ in $(seq 50); do
    health=$(curl -fs "http://127.0.0.1:$port/health") && break
    sleep 0.1
  done
  [[ $health == *'"name":"functions"'* ]] || fail "the staged install did not serve /health: '$health'"
  grep -q 'mod_cloudbase .* started; environment install-check (plugins functions' "$root/error.log" ||
    fail "no start-up line in the error log"
  pid=$(cat "$root/httpd.pid" 2>/dev/null)
  apache2 -f "$root/httpd.conf" -k stop
  for _ in $(seq 100); do
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
else
  fail "apache2 did not start from the staged install: $(cat "$root/error.log" 2>/dev/null)"
fi
rm -f "$root/httpd.conf" "$root/httpd.pid" "$root/error.log"

# 3. Uninstall, then again over an install that kept its .la files.
make -C "$build" uninstall DESTDIR="$root" >/dev/null || fail "make uninstall failed"
left=$(find "$root" ! -type d)
[[ -z $left ]] || fail "make uninstall left: $left"
make -C "$build" install DESTDIR="$root" >/dev/null 2>&1 || fail "make install (again) failed"
cp "$build/.libs/mod_cloudbase.lai" "$moddir/mod_cloudbase.la" &&
  cp "$build/plugins/auth/.libs/auth.lai" "$moddir/cloudbase/auth.la" || fail "cannot restore .la files"
make -C "$build" uninstall DESTDIR="$root" >/dev/null || fail "make uninstall (with .la files) failed"
left=$(find "$root" ! -type d)
[[ -z $left ]] || fail "make uninstall (with .la files) left: $left"

if ((failures)); then
  echo "check-install: $failures problem(s)"
  exit 1
fi
echo "check-install: install, serve and uninstall are clean"
