#!/usr/bin/env bash
# demo.sh: installs what is missing, builds, and runs a demo gateway on
# 127.0.0.1:8080 (DEMO_PORT to change): apache2 with mod_cloudbase, a
# redis-server and a sample upstream, all on loopback in a temporary
# directory, with an embedded default configuration. Ctrl-C stops it all.
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

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
python3 "$top/tests/integration/upstream.py" "$upstream_port" >"$dir/upstream.log" 2>&1 &
pids+=($!)

mkdir -p "$dir/docroot" "$dir/plugins"
cp "$top/conf/demo/index.html" "$dir/docroot/"
ln -s "$top"/build/plugins/auth/.libs/auth.so "$top"/build/plugins/functions/.libs/functions.so \
  "$top"/build/tests/plugins/.libs/testplug.so "$dir/plugins/"
# Secrets for the auth plugin, made fresh for this run.
openssl rand -hex 32 >"$dir/jwt.key"
openssl rand -hex 24 >"$dir/admin.key"
chmod 644 "$dir/jwt.key" "$dir/admin.key"
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
echo "demo-password" | "$top/build/plugins/auth/cloudbase-user" \
  --redis "redis://127.0.0.1:$redis_port" --env demo create demo >/dev/null
user_lines=""
if [[ $(id -u) -eq 0 ]]; then
  user_lines=$'User www-data\nGroup www-data'
fi

cat >"$dir/httpd.conf" <<CONF
# The demo's embedded configuration (see docs/configuration.md).
ServerRoot /etc/apache2
ServerName 127.0.0.1
PidFile $dir/httpd.pid
ErrorLog $dir/error.log
LogLevel warn
$user_lines
Listen 127.0.0.1:$port
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule cloudbase_module $top/build/.libs/mod_cloudbase.so
TypesConfig /etc/mime.types
DocumentRoot $dir/docroot
DirectoryIndex index.html
<Directory $dir/docroot>
  Require all granted
</Directory>

CloudBaseEnv demo
CloudBasePluginDir $dir/plugins
CloudBaseRedis redis://127.0.0.1:$redis_port connect_timeout=100ms timeout=250ms
CloudBaseSecureDomains http://localhost:$port
# Encoded slashes reach the gateway, which refuses them with a JSON error.
AllowEncodedSlashes NoDecode
# 60 function calls a minute per caller (user, else address).
CloudBaseRateLimit /v1/functions/ 60/1m by=user
<CloudBasePlugin auth>
  jwt_secret file:$dir/jwt.key
  admin_key file:$dir/admin.key
</CloudBasePlugin>
# Functions, a Cloud Run service and an HTTP access route, all served by the
# sample upstream (it echoes what it receives).
<CloudBasePlugin functions>
  function hello http://127.0.0.1:$upstream_port/hello auth=none
  function private http://127.0.0.1:$upstream_port/private auth=user
  cloudrun web http://127.0.0.1:$upstream_port/web auth=none
  http_route /api/orders function=hello auth=off
</CloudBasePlugin>
# The test plugin's echo and proxy routes (used by the walkthrough below).
<CloudBasePlugin testplug>
  greeting "hello from the demo gateway"
  upstream http://127.0.0.1:$upstream_port/
</CloudBasePlugin>
CONF

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
