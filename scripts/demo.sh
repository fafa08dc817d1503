#!/usr/bin/env bash
# demo.sh: installs what is missing, builds, and runs a demo gateway on
# 127.0.0.1:8080 (DEMO_PORT to change): apache2 with mod_cloudbase, a
# redis-server and a sample upstream, all on loopback in a temporary
# directory, with the configuration of scripts/demo-config.sh (request
# timeouts, worker sizing). Ctrl-C stops it all.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8080}
cd "$top"
bash scripts/install-deps.sh
echo "demo: building (first run takes a minute)"
bash scripts/build.sh "$top/build" >/dev/null

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
  echo "demo: port $port is in use; set DEMO_PORT to another port" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/cloudbase-demo-XXXXXX)
chmod 755 "$dir"
redis_port=$(free_port)
upstream_port=$(free_port)
pids=()

cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  if [[ -f "$dir/httpd.conf" ]]; then
    apache2 -f "$dir/httpd.conf" -k stop >/dev/null 2>&1 || true
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes \
  --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
python3 "$top/tests/integration/upstream.py" "$upstream_port" >"$dir/upstream.log" 2>&1 &
pids+=($!)

mkdir -p "$dir/docroot" "$dir/plugins" "$dir/data"
# The SQLite database (and its WAL files) is written by httpd's workers.
if [[ $(id -u) -eq 0 ]]; then
  chown www-data:www-data "$dir/data"
fi
cp "$top/conf/demo/index.html" "$dir/docroot/"
ln -s "$top"/build/plugins/auth/.libs/auth.so "$top"/build/plugins/functions/.libs/functions.so \
  "$top"/build/tests/plugins/.libs/testplug.so "$dir/plugins/"
# Secrets for the auth plugin, made fresh for this run.
# httpd reads them while it reads its configuration (as the user starting
# it), never from a worker: owner-only, as in production.
(umask 077; openssl rand -hex 32 >"$dir/jwt.key"; openssl rand -hex 24 >"$dir/admin.key")
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
echo "demo-password" | "$top/build/plugins/auth/cloudbase-user" \
  --redis "redis://127.0.0.1:$redis_port" --env demo create demo >/dev/null
source "$top/scripts/demo-config.sh"
demo_httpd_conf "$dir" "$port" "$redis_port" "$upstream_port" "$top/build/.libs/mod_cloudbase.so" \
  "$dir/plugins" >"$dir/httpd.conf"

apache2 -f "$dir/httpd.conf" -t >/dev/null
apache2 -f "$dir/httpd.conf" -k start
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

mod_cloudbase demo gateway on http://127.0.0.1:$port  (files in $dir)
Demo user: demo / demo-password. Admin key: $(cat "$dir/admin.key")

  curl -i http://127.0.0.1:$port/                         # the static site, untouched
  curl -s http://127.0.0.1:$port/health                   # readiness: plugins, Redis
  curl -s -X POST http://127.0.0.1:$port/auth/v1/signin -H 'x-device-id: demo' \\
       -d '{"username":"demo","password":"demo-password"}'  # sign in (seeded user)
  curl -s -X POST http://127.0.0.1:$port/auth/v1/signin/anonymously -H 'x-device-id: demo'
  curl -s http://127.0.0.1:$port/auth/v1/user/me -H "Authorization: Bearer \$ACCESS_TOKEN"
  curl -s http://127.0.0.1:$port/v1/test/private -H "Authorization: Bearer \$ACCESS_TOKEN"  # needs a user
  curl -si -X POST http://127.0.0.1:$port/v1/functions/hello -d '{"a":1}'  # a function (RateLimit-* headers)
  curl -s -X POST http://127.0.0.1:$port/v1/functions/private -d '{}'     # 401: needs a user
  curl -si 'http://127.0.0.1:$port/v1/cloudrun/web/orders/42?x=1'         # Cloud Run (Content-Disposition)
  curl -s http://127.0.0.1:$port/api/orders/42                            # an HTTP access route
  curl -s http://127.0.0.1:$port/v1/test/items/42         # a plugin route
  curl -s 'http://127.0.0.1:$port/v1/test/proxy/hello?x=1' # proxied to the sample upstream
  curl -sN http://127.0.0.1:$port/v1/test/proxy/sse       # server-sent events, streamed
  curl -i -H 'Origin: https://evil.example' http://127.0.0.1:$port/v1/test/items/1   # 403
  curl -i -X OPTIONS -H 'Origin: http://localhost:$port' \\
       -H 'Access-Control-Request-Method: POST' http://127.0.0.1:$port/v1/test/echo  # preflight

Press Ctrl-C to stop.
MSG

while kill -0 "${pids[0]}" 2>/dev/null; do
  sleep 1
done
echo "demo: redis-server exited; see $dir/redis.log" >&2
