#!/usr/bin/env bash
# demo.sh: installs what is missing, builds, and runs a demo gateway on
# 127.0.0.1:8080 (DEMO_PORT to change): apache2 with mod_cloudbase, a
# redis-server, the function add-two and the Cloud Run service helloworld
# (on the pinned @cloudbase/functions-framework, tests/sdk) and a sample
# OpenAI-compatible server (scripts/demo-sample-ai.py, also the flapping
# service of the uptime monitor "flapping") and a local storage bucket, two
# uptime monitors with their status page at /status, a wallet, and (when
# Podman can run here, scripts/demo-podman.sh) agent containers with one
# sample container and /invoke/stdout on a sample repository, all on
# loopback in a temporary directory, with the configuration of
# scripts/demo-config.sh.
# Seed 000's quick start runs against it with only the host changed; the
# front page uses the official @cloudbase/js-sdk. Ctrl-C stops it all.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8080}
cd "$top"
bash scripts/install-deps.sh
echo "demo: building (first run takes a minute)"
bash scripts/build.sh "$top/build" >/dev/null
# The pinned @cloudbase/functions-framework and @cloudbase/js-sdk.
sdk=$top/tests/sdk
if [[ ! -f $sdk/node_modules/.package-lock.json || $sdk/package-lock.json -nt $sdk/node_modules/.package-lock.json ]]; then
  echo "demo: npm ci (tests/sdk)"
  (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error)
fi

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
function_port=$(free_port)
cloudrun_port=$(free_port)
ai_port=$(free_port)
pids=()

cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  if [[ -f "$dir/httpd.conf" ]]; then
    apache2 -f "$dir/httpd.conf" -k stop >/dev/null 2>&1 || true
  fi
  demo_podman_stop "$dir"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

source "$top/scripts/demo-podman.sh"
echo "demo: starting Podman for the agent containers"
demo_podman_start "$dir"
if [[ -n $DEMO_ENGINE_SOCKET ]]; then demo_sample_repo "$dir"; fi

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes \
  --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
# Secrets for the auth plugin and the AI provider key, made fresh for this
# run. httpd reads them while it reads its configuration (as the user
# starting it), never from a worker: owner-only, as in production.
(umask 077; openssl rand -hex 32 >"$dir/jwt.key"; openssl rand -hex 24 >"$dir/admin.key"
 openssl rand -hex 32 >"$dir/storage.key"
 echo "sk-demo-$(openssl rand -hex 16)" >"$dir/ai.key")
python3 "$top/scripts/demo-sample-ai.py" "$ai_port" "$dir/ai.key" >"$dir/sample-ai.log" 2>&1 &
pids+=($!)
for fn in add-two:$function_port helloworld:$cloudrun_port; do
  (cd "$top/conf/demo/functions/${fn%%:*}" &&
     exec "$sdk/node_modules/.bin/tcb-ff" --port="${fn##*:}" --logDirname="$dir/tcb-logs") \
    >"$dir/${fn%%:*}.log" 2>&1 &
  pids+=($!)
done

mkdir -p "$dir/docroot" "$dir/plugins" "$dir/data/files" "$dir/data/private"
cp "$top"/conf/demo/*.html "$top"/conf/demo/*.js "$top"/conf/demo/*.css "$dir/docroot/"
ln -s "$top"/build/plugins/auth/.libs/auth.so "$top"/build/plugins/functions/.libs/functions.so \
  "$top"/build/plugins/storage/.libs/storage.so "$top"/build/plugins/model/.libs/model.so \
  "$top"/build/plugins/uptime/.libs/uptime.so "$top"/build/plugins/wallet/.libs/wallet.so \
  "$top"/build/plugins/containers/.libs/containers.so "$dir/plugins/"
for _ in $(seq 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
# The demo user goes into the site's database (the auth plugin's tables).
echo "demo-password" | "$top/build/plugins/auth/cloudbase-user" \
  --database "sqlite3:$dir/data/cloudbase.db" --env demo create demo >/dev/null
# The SQLite database (and its WAL files) and the bucket's files are written
# by httpd's workers.
if [[ $(id -u) -eq 0 ]]; then
  chown -R www-data:www-data "$dir/data"
fi
source "$top/scripts/demo-config.sh"
demo_httpd_conf "$dir" "$port" "$redis_port" "$function_port" "$cloudrun_port" "$ai_port" \
  "$top/build/.libs/mod_cloudbase.so" "$dir/plugins" "$sdk/node_modules" >"$dir/httpd.conf"
demo_containers_conf "$dir" "$DEMO_ENGINE_SOCKET" >>"$dir/httpd.conf"
for p in "$function_port" "$cloudrun_port" "$ai_port"; do
  for _ in $(seq 100); do
    python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$p))!=0)" && break
    sleep 0.1
  done
done

apache2 -f "$dir/httpd.conf" -t >/dev/null
apache2 -f "$dir/httpd.conf" -k start
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
# Sample rows of the data model post (once).
bash "$top/scripts/demo-seed-models.sh" "$port"
# Five calls of add-two-paid in the wallet (once per run: Idempotency-Key).
curl -fs -X POST "http://127.0.0.1:$port/api/workspaces/demo/wallet/topup" \
  -H "X-API-Key: $(cat "$dir/admin.key")" -H 'Idempotency-Key: demo-credit' \
  -d '{"amount": 5}' >/dev/null || echo "demo: could not top the wallet up" >&2

# One sample agent container, with a TestBase key (tb_demo_...) to drive it.
containers_msg="  (no agent containers: Podman could not run here, see above)"
if [[ -n $DEMO_ENGINE_SOCKET ]]; then
  tb_key=$(curl -fs -X POST "http://127.0.0.1:$port/auth/v1/admin/apikeys" \
    -H "Authorization: Bearer $(cat "$dir/admin.key")" -H 'Content-Type: application/json' \
    -d '{"name":"demo-agents","prefix":"tb"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') || tb_key=
  container_id=$(curl -fs -X POST "http://127.0.0.1:$port/api/v1/containers" \
    -H "Authorization: Bearer $tb_key" -H 'Content-Type: application/json' \
    -d '{"agentType":"shell","persistContainer":true}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || container_id=
  if [[ -n $container_id ]]; then
    echo "demo: sample agent container $container_id is running"
    containers_msg="  curl -sN -X POST http://127.0.0.1:$port/api/v1/containers/$container_id/execute \\
       -H 'Authorization: Bearer $tb_key' -H 'Content-Type: application/json' \\
       -d '{\"task\":\"for i in 1 2 3; do echo step \$i; sleep 1; done\"}'   # SSE, line by line
  curl -s http://127.0.0.1:$port/api/v1/containers -H 'Authorization: Bearer $tb_key'
  curl -sN --no-buffer -X POST http://127.0.0.1:$port/invoke/stdout -H 'x-api-key: $tb_key' \\
       -H 'Content-Type: application/json' -d '{\"repo_url\":\"file://$dir/repos/demo-app.git\",
       \"parallel_tasks\":[{\"task_name\":\"readme\",\"prompt\":\"cat README\"},
                        {\"task_name\":\"count\",\"prompt\":\"for i in 1 2 3; do echo \$i; sleep 1; done\"}]}'"
  else
    containers_msg="  (the sample agent container could not be created; see $dir/error.log)"
  fi
fi

cat <<MSG

mod_cloudbase demo gateway on http://127.0.0.1:$port  (files in $dir)
Open http://127.0.0.1:$port/ in a browser: sign in, call add-two, upload a file.
Status page: http://127.0.0.1:$port/status (monitors gateway, up, and flapping,
up 20 s / down 20 s; refreshed in place every 5 s).
Demo user: demo / demo-password. Admin key: $(cat "$dir/admin.key")
Seed 000's quick start works with https://\${env}.api.tcloudbasegateway.com
replaced by http://127.0.0.1:$port: function add-two, Cloud Run service
helloworld, AI provider deepseek, agent id demo-agent (a sample AI server),
storage buckets files and private (local, in $dir/data; README.md shows a curl upload).

  curl -s http://127.0.0.1:$port/health                   # readiness: plugins, Redis
  TOKEN=\$(curl -s -X POST http://127.0.0.1:$port/auth/v1/signin/anonymously \\
       -H 'x-device-id: demo' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST http://127.0.0.1:$port/auth/v1/signin -H 'x-device-id: demo' \\
       -d '{"username":"demo","password":"demo-password"}'  # sign in (seeded user)
  curl -si -X POST http://127.0.0.1:$port/v1/functions/add-two -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' -d '{"a":1,"b":101}'   # 102 (RateLimit-* headers)
  curl -s http://127.0.0.1:$port/v1/cloudrun/helloworld -H "Authorization: Bearer \$TOKEN"
  curl -s -X POST http://127.0.0.1:$port/v1/ai/deepseek/chat/completion -H "Authorization: Bearer \$TOKEN" \\
       -d '{"model":"deepseek-v3","messages":[{"role":"user","content":"hi"}]}'
  curl -sN -X POST http://127.0.0.1:$port/v1/aibot/openai/chat/completions -H "Authorization: Bearer \$TOKEN" \\
       -H 'Accept: text/event-stream' -d '{"model":"demo-agent","stream":true,"messages":[{"role":"user","content":"hi"}]}'
  curl -s -X POST http://127.0.0.1:$port/v1/functions/add-two -d '{}'   # 401: sign in first
  curl -s "http://127.0.0.1:$port/v1/model/prod/post/list?getCount=true"  # the data model post
  curl -s http://127.0.0.1:$port/uptime/status.json      # the monitors gateway and flapping
  curl -s -X POST http://127.0.0.1:$port/v1/functions/add-two-paid -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' -d '{"a":1,"b":2}'   # 1 VND a call; the 6th: 402
  curl -s http://127.0.0.1:$port/api/workspaces/demo/wallet -H "X-API-Key: $(cat "$dir/admin.key")"
  curl -s "http://127.0.0.1:$port/api/workspaces/demo/wallet/transactions?limit=3" \\
       -H "X-API-Key: $(cat "$dir/admin.key")"            # the wallet's newest entries
Agent containers (docs/plugins/containers.md):
$containers_msg

Press Ctrl-C to stop.
MSG

while kill -0 "${pids[0]}" 2>/dev/null; do
  sleep 1
done
echo "demo: redis-server exited; see $dir/redis.log" >&2
