#!/usr/bin/env bash
# bench.sh: loopback throughput/latency benchmark of the mod_cloudbase proxy
# route against plain httpd mod_proxy (ProxyPass), nginx proxy_pass, a static
# file and the upstream itself, all measured with wrk in one run.
#
# Targets (all on 127.0.0.1, free ports, in a fresh temp dir):
#   upstream      nginx (worker_processes 1) answering GET /hello -> "hello\n"
#   static        httpd serving a static file with the same 6-byte body
#   nginx_proxy   a second nginx: proxy_pass to the upstream (keepalive pool)
#   mod_proxy     httpd: ProxyPass /plain/ http://127.0.0.1:UPSTREAM/
#   gateway       the same httpd: mod_cloudbase route /v1/test/proxy/hello
#                 (testplug, upstream http://127.0.0.1:UPSTREAM2/)
#   auth_off/auth_on  the same echo handler without auth / needing a user token
#   auth_key      the auth_on route with an API key (X-Api-Key) instead of a token:
#                 the key check, through the plugin's caches (keys live in the
#                 database)
#   fn_mod_proxy  POST {"a":1,"b":101} with a bearer token through ProxyPass
#   fn_nginx      the same POST through nginx proxy_pass
#   function      the same POST as an authenticated, rate-limited function call:
#                 POST /v1/functions/bench (auth=user, JWT verified, one Redis
#                 rate-limit decision per request, body checked as JSON)
#   function_10k  the same call on a virtual host of the same httpd that has
#                 10,000 configured functions instead of 10
#   function_nolimit  the same call to a function no rate limit applies to
#                 (shows what the Redis decision costs)
#   function_metered  the same call to a function the wallet meters at
#                 1/call (one Redis script per call: check, debit, ledger
#                 entry); the target is >= 0.9x function_nolimit
#   function_redis1  the same call as function_nolimit with one trivial
#                 Redis script ("return 1") run by the test plugin's policy
#                 before it: the floor of any call that takes one atomic
#                 Redis decision, reported beside function_metered
#   signin        POST /auth/v1/signin for a username that does not exist
#                 (the decoy hash at the default scrypt cost, N=16384, through
#                 the per-process hash bound; the throttle is raised so that
#                 it never refuses): password sign-in throughput
#   signin_rss    not a wrk run: the gateway httpd's resident memory (main
#                 process and children, from ps) before and after 2,000
#                 parallel sign-ins with made-up usernames (curl --parallel,
#                 200 at a time); the target is growth < 100 MiB
#   static_4k/static_1m  httpd serving a 4 KiB / 1 MiB file statically
#   dl_4k/dl_1m   the same bytes as an object of the storage plugin's local
#                 bucket, fetched with its signed download URL (signature
#                 checked, metadata read, then httpd's own static-file path);
#                 the target is >= 0.9x static_4k / static_1m
#   upload_rss    not a wrk run: the httpd's resident memory (as signin_rss)
#                 before and after one signed 100 MiB PUT upload into the
#                 local bucket; the target is growth < 10 MiB
#   presign       not a wrk run: presigned SigV4 URLs per second on one core
#                 (tests/bench/sign_bench), shown in the table's req/s
#                 column; the target is >= 100k/s
#   status_static/status_page  the uptime plugin's status page (3 monitors)
#                 as a static file of the same bytes, and served by the
#                 gateway from its cache; the target is >= 0.9x status_static
#   monitors_1k   not a wrk run: 1,000 HTTP monitors at interval=10s on a
#                 second httpd for BENCH_MONITOR_SECONDS; the gateway's added
#                 CPU (target < 10% of one core) and the p99 lateness of a
#                 check's start (target < 500 ms); see scripts/bench-uptime.sh
#   model_static/model_hit/model_nocache/model_create_sqlite/model_create_pg
#                 the model plugin (scripts/bench-model.sh, which says what
#                 each one sends): a list answered from the read cache
#                 against httpd serving the same JSON bytes statically
#                 (target >= 0.9x), the same list uncached over 100,000
#                 SQLite rows (the cached one >= 10x), and create throughput
#                 on SQLite and on a PostgreSQL started here
#   containers_create/containers_sse  opt-in (they need Podman, set up in the
#                 temp dir): container create+start through the gateway
#                 against the same engine calls (target >= 0.9x), and the
#                 latency 100 concurrent task SSE streams add per event
#                 against the engine's own stream (target <= 5 ms); see
#                 scripts/bench-containers.sh
# static, mod_proxy and gateway are served by ONE httpd instance (event MPM,
# same settings), so the only difference between them is the route.
#
# The gateway's upstream is a second listen port of the same nginx server
# block by default, so mod_proxy cannot hand the gateway the worker (and its
# connection pool) that ProxyPass defined for http://127.0.0.1:UPSTREAM/:
# the gateway has to pool its own upstream connections, as it would in a
# deployment without ProxyPass. Set BENCH_SHARED_UPSTREAM=1 to point the
# gateway at the very same URL as ProxyPass instead.
#
# The "up-conns" column is the number of TCP connections the upstream nginx
# accepted during the measured run (from stub_status): close to the wrk
# connection count (or the pool size) means upstream connections are reused,
# close to the request count means one connection per request.
#
# The "httpd us" and "upstr us" columns are the CPU time (user + system, from
# /proc/PID/stat of the main process and its children) that the bench httpd and
# the upstream nginx spent per request of the measured run: unlike req/s, other
# load on the machine barely moves them, so they show where a ratio comes from.
#
# Usage: scripts/bench.sh            (as root: installs wrk/nginx/apache2 if
#                                     missing, builds the module in build/)
# Environment:
#   BENCH_SECONDS=8       length of each measured wrk run (warm-up is 2s)
#   BENCH_CONNECTIONS=8   wrk -c (keep-alive connections); on 2 cores more
#                         connections mostly measure queueing in every p99
#   BENCH_THREADS=2       wrk -t
#   BENCH_ROUNDS=3        measure every target N times, round-robin (so slow
#                         drift hits all targets alike), report the medians
#   BENCH_TARGETS="..."  measure only these targets (of upstream static
#                         nginx_proxy mod_proxy gateway auth_off auth_on auth_key
#                         fn_mod_proxy fn_nginx function function_10k
#                         function_nolimit function_metered function_redis1
#                         signin signin_rss
#                         static_4k dl_4k static_1m dl_1m upload_rss presign
#                         status_static status_page monitors_1k model_static
#                         model_hit model_redis1 model_nocache model_create_sqlite
#                         model_create_pg; opt-in only: containers_create
#                         containers_sse), e.g.
#                         "auth_off auth_on" with more rounds to judge a 5% gap
#   BENCH_SHARED_UPSTREAM=0  1: gateway uses the same upstream URL as ProxyPass
#   BENCH_KEEP=0          1: keep the temp dir (configs, logs) for inspection
#   BENCH_MONITORS=1000   monitors of the monitors_1k target
#   BENCH_MONITOR_SECONDS=60  its measured window (after every monitor was checked once)
#   BENCH_REDIS=single    cluster: the gateway uses a three-master Redis
#                         Cluster on loopback (redis-cluster://) instead of one
#                         redis-server
# Exit status: 0 when every target was measured (even if the targets below
# FAIL: this is a report), non-zero when something could not be measured.
set -euo pipefail

SECONDS_RUN=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-8}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
SHARED=${BENCH_SHARED_UPSTREAM:-0}
KEEP=${BENCH_KEEP:-0}
WARMUP=2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$ROOT/build
MODULE=$BUILD_DIR/.libs/mod_cloudbase.so
PLUGIN_DIR=$BUILD_DIR/tests/plugins/.libs
APACHE_MODULES=/usr/lib/apache2/modules
BODY=$'hello\n'

die() { echo "bench: error: $*" >&2; exit 1; }
# shellcheck source=scripts/bench-uptime.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-uptime.sh"
note() { echo "bench: $*" >&2; }
# The head of an extra bench httpd's httpd.conf (the monitors' and the
# containers' gateways): DIR its server root, PORT, THREADS per child of
# its two event-MPM children, mod_cloudbase MODULE loaded.
extra_httpd_conf_head() {
    local dir=$1 port=$2 threads=$3 module=$4
    cat <<EOF
ServerRoot $dir
ServerName 127.0.0.1
DefaultRuntimeDir $dir/run
PidFile $dir/run/httpd.pid
ErrorLog $dir/error.log
LogLevel warn
$HTTPD_USER
Listen 127.0.0.1:$port
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule cloudbase_module $module
StartServers 2
ServerLimit 2
ThreadsPerChild $threads
ThreadLimit $threads
MaxRequestWorkers $((2 * threads))
MinSpareThreads $threads
MaxSpareThreads $((2 * threads))
EOF
}
# shellcheck source=scripts/bench-model.sh
source "$ROOT/scripts/bench-model.sh"
# shellcheck source=scripts/bench-containers.sh
source "$ROOT/scripts/bench-containers.sh"

for v in SECONDS_RUN CONNS THREADS ROUNDS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
((CONNS >= THREADS)) || die "BENCH_CONNECTIONS must be >= BENCH_THREADS"

# --- prerequisites ----------------------------------------------------------
need_install=0
for c in wrk nginx apache2 apxs curl python3; do
    command -v "$c" >/dev/null 2>&1 || [[ -x /usr/sbin/$c ]] || need_install=1
done
if ((need_install)); then
    ((EUID == 0)) || die "wrk/nginx/apache2/apxs/curl/python3 missing and not root: install them"
    note "installing missing tools (wrk nginx-light apache2 apache2-dev curl python3)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk nginx-light apache2 apache2-dev curl python3
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HTTPD=$(command -v apache2 || echo /usr/sbin/apache2)
[[ -x $NGINX && -x $HTTPD ]] || die "nginx or apache2 not found after install"

# The same optimised build the tests use (incremental: quick when up to date).
note "building mod_cloudbase in $BUILD_DIR"
bash "$ROOT/scripts/build.sh" "$BUILD_DIR" --enable-werror || die "build failed"
make -C "$BUILD_DIR" tests/bench/jwt_bench tests/bench/sign_bench >/dev/null || die "could not build jwt_bench and sign_bench"
[[ -f $MODULE && -f $PLUGIN_DIR/testplug.so && -f $BUILD_DIR/plugins/storage/.libs/storage.so ]] \
    || die "build did not produce $MODULE, testplug.so and storage.so"
stale_warning=""
MODULE_BUILT=$(date -r "$MODULE" '+%Y-%m-%d %H:%M:%S')

# --- temp dir, process tracking, cleanup -------------------------------------
T=$(mktemp -d /tmp/cb-bench.XXXXXX)
chmod 755 "$T"              # httpd/nginx workers (www-data) read the docroot
PIDS=()                     # each is also a process group id (started by setsid)
WRK_PID=""

stop_all() {
    local pid i
    [[ -n $WRK_PID ]] && kill -TERM "$WRK_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            pgrep -g "$pid" >/dev/null 2>&1 || kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    done
    PIDS=()
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    containers_cleanup
    stop_all
    containers_stop_conmons
    if [[ $KEEP == 1 ]]; then note "kept $T"; else rm -rf "$T"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Starts a foreground server in its own process group; records its pid.
start() {
    local log=$1; shift
    setsid "$@" >"$log" 2>&1 </dev/null &
    PIDS+=("$!")
}

# --- ports ------------------------------------------------------------------
read -r P_UP P_UP2 P_NGXPROXY P_HTTPD P_REDIS P_HTTPD2 P_HTTPD3 P_PG P_MON < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(9):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*[s.getsockname()[1] for s in socks])
EOF
) || die "could not pick free ports"
[[ $SHARED == 1 ]] && GW_UP=$P_UP || GW_UP=$P_UP2
REDIS_MODE=${BENCH_REDIS:-single}
REDIS_URL="redis://127.0.0.1:$P_REDIS"
if [[ $REDIS_MODE == cluster ]]; then
    # Three nodes whose cluster bus ports (port + 10000) are free too.
    read -r P_REDIS P_REDIS2 P_REDIS3 < <(python3 - <<'EOF'
import socket
found, held = [], []
for port in range(21000, 55000, 13):
    pair = []
    for p in (port, port + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            pair.append(s)
        except OSError:
            break
    held += pair
    if len(pair) == 2:
        found.append(port)
    if len(found) == 3:
        break
print(*found)
EOF
) || die "could not pick free cluster ports"
    REDIS_URL="redis-cluster://127.0.0.1:$P_REDIS,127.0.0.1:$P_REDIS2,127.0.0.1:$P_REDIS3"
elif [[ $REDIS_MODE != single ]]; then
    die "BENCH_REDIS is single or cluster"
fi
# redis-server for one node of the cluster (or the single one): PORT LOG.
redis_node() {
    local cluster_flags=()
    if [[ $REDIS_MODE == cluster ]]; then
        cluster_flags=(--cluster-enabled yes --cluster-config-file "nodes-$1.conf"
                       --cluster-require-full-coverage no)
    fi
    start "$2" redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
        "${cluster_flags[@]}"
}

# --- configs ------------------------------------------------------------------
mkdir -p "$T"/{up,ngxproxy,httpd/run,httpd/docroot}
chmod -R 755 "$T"
printf '%s' "$BODY" >"$T/httpd/docroot/hello"
chmod 644 "$T/httpd/docroot/hello"
NGX_USER=""
HTTPD_USER=""
if ((EUID == 0)); then
    NGX_USER="user www-data www-data;"
    HTTPD_USER=$'User www-data\nGroup www-data'
fi

nginx_conf() {   # prefix workers body
    local prefix=$1 workers=$2
    cat <<EOF
$NGX_USER
worker_processes $workers;
daemon off;
master_process on;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $prefix/client_body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    default_type text/plain;
$3
}
EOF
}

nginx_conf "$T/up" 1 "$(cat <<EOF
    log_format checks '\$msec \$arg_m';
    server {
        listen 127.0.0.1:$P_UP;
        listen 127.0.0.1:$P_UP2;
        location = /hello { return 200 "hello\n"; }
        # the monitors_1k target's checks: arrival time and monitor name
        location = /mon { access_log $T/up/mon.log checks; return 200 "ok\n"; }
        location = /nginx_status { stub_status; }
    }
EOF
)" >"$T/up/nginx.conf"

nginx_conf "$T/ngxproxy" 2 "$(cat <<EOF
    upstream hello_up {
        server 127.0.0.1:$P_UP;
        keepalive 32;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$P_NGXPROXY;
        location /plain/ {
            proxy_pass http://hello_up/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
EOF
)" >"$T/ngxproxy/nginx.conf"

# N function lines: "bench" plus fillers, all on the gateway's upstream.
functions_block() {
    echo "  function bench http://127.0.0.1:$GW_UP/hello auth=user"
    echo "  function nolimit http://127.0.0.1:$GW_UP/hello auth=user"
    for ((f = 2; f < $1; f++)); do
        echo "  function fn-$f http://127.0.0.1:$GW_UP/fn-$f auth=user"
    done
}

cat >"$T/httpd/httpd.conf" <<EOF
ServerRoot $T/httpd
ServerName 127.0.0.1
DefaultRuntimeDir $T/httpd/run
PidFile $T/httpd/run/httpd.pid
ErrorLog $T/httpd/error.log
LogLevel warn
$HTTPD_USER
Listen 127.0.0.1:$P_HTTPD
Listen 127.0.0.1:$P_HTTPD2

LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule proxy_module $APACHE_MODULES/mod_proxy.so
LoadModule proxy_http_module $APACHE_MODULES/mod_proxy_http.so
LoadModule cloudbase_module $MODULE

# event MPM sized for 2 cores
StartServers 2
ServerLimit 2
ThreadsPerChild 32
ThreadLimit 32
MaxRequestWorkers 64
MinSpareThreads 32
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 65
EnableSendfile Off
# mmap()ing a tiny file per request in a threaded child costs TLB
# shootdowns: with it on, the static target runs at about half speed.
EnableMMAP Off

TypesConfig /etc/mime.types
DocumentRoot $T/httpd/docroot
<Directory $T/httpd/docroot>
    Require all granted
</Directory>

# plain httpd reverse proxy (pooled worker for http://127.0.0.1:$P_UP/)
ProxyPass /plain/ http://127.0.0.1:$P_UP/

# the gateway (the proxy route has no policies; auth serves the auth targets)
CloudBasePluginDir $T/plugins
CloudBaseEnv demo
CloudBaseRedis $REDIS_URL
# users and API keys of the auth plugin
CloudBaseDatabase sqlite3:$T/data/site.db
<CloudBasePlugin testplug>
  greeting hi
  upstream http://127.0.0.1:$GW_UP/
  # function_redis1: one trivial Redis script before each call (the floor
  # of a metered call); model_redis1 reads POST /v1/test/redis-bytes
  redis_trip_path /v1/functions/redis1
</CloudBasePlugin>
<CloudBasePlugin auth>
  jwt_secret file:$T/jwt.key
  admin_key file:$T/admin.key
  # the default scrypt cost for new hashes and the decoy; the throttle never
  # refuses the signin targets
  signin_max_failures 1000000000
  signin_max_ip_failures 1000000000
</CloudBasePlugin>
# the storage targets: a local bucket (metadata in the same SQLite database)
<CloudBasePlugin storage>
  signing_key file:$T/storage.key
  bucket bench backend=local dir=$T/data/bucket default max_object=200m
  download_expires 7d
</CloudBasePlugin>
# the status_page target: the uptime plugin's page, served from its cache;
# its monitors check this httpd's static file (not the upstream nginx, whose
# accepted connections are counted)
<CloudBasePlugin uptime>
  allow_private 127.0.0.0/8
  status_title "Bench status"
  monitor web http://127.0.0.1:$P_HTTPD/hello interval=2s
  monitor api http://127.0.0.1:$P_HTTPD/hello interval=2s
  monitor shop http://127.0.0.1:$P_HTTPD/hello interval=2s
</CloudBasePlugin>
# an authenticated, rate-limited function call (10 functions here)
CloudBaseRateLimit /v1/functions/bench 1000000000/1h by=user
<CloudBasePlugin functions>
$(functions_block 10)
  function metered http://127.0.0.1:$GW_UP/hello auth=user
  function redis1 http://127.0.0.1:$GW_UP/hello auth=user
</CloudBasePlugin>
# the wallet: one function paid per call (reserve and settle in Redis)
<CloudBasePlugin wallet>
  meter /v1/functions/metered 1/call
</CloudBasePlugin>
# the same with 10,000 functions, in a virtual host of the same httpd
<VirtualHost 127.0.0.1:$P_HTTPD2>
  CloudBaseEnv demo
  CloudBaseRedis $REDIS_URL
  CloudBaseRateLimit /v1/functions/bench 1000000000/1h by=user
  <CloudBasePlugin functions>
$(functions_block 10000)
  </CloudBasePlugin>
</VirtualHost>
EOF
if model_wanted; then model_conf >>"$T/httpd/httpd.conf"; fi
mkdir -p "$T/plugins" "$T/data"
chmod 777 "$T/data"   # the SQLite database is written by httpd's workers
ln -s "$PLUGIN_DIR/testplug.so" "$BUILD_DIR/plugins/auth/.libs/auth.so" \
    "$BUILD_DIR/plugins/functions/.libs/functions.so" \
    "$BUILD_DIR/plugins/storage/.libs/storage.so" "$BUILD_DIR/plugins/uptime/.libs/uptime.so" \
    "$BUILD_DIR/plugins/model/.libs/model.so" "$BUILD_DIR/plugins/wallet/.libs/wallet.so" \
    "$T/plugins/"
openssl rand -hex 32 >"$T/jwt.key"
openssl rand -hex 32 >"$T/admin.key"
openssl rand -hex 32 >"$T/storage.key"
chmod 644 "$T/jwt.key" "$T/admin.key" "$T/storage.key"
# The storage targets' bucket (written by httpd's workers) and the same
# objects as static files.
mkdir -p "$T/data/bucket"
chmod 777 "$T/data/bucket"
head -c 4096 /dev/urandom >"$T/httpd/docroot/obj-4k"
head -c 1048576 /dev/urandom >"$T/httpd/docroot/obj-1m"
chmod 644 "$T/httpd/docroot/obj-4k" "$T/httpd/docroot/obj-1m"

# --- start ------------------------------------------------------------------
"$NGINX" -t -p "$T/up" -c "$T/up/nginx.conf" >"$T/up/test.log" 2>&1 \
    || { cat "$T/up/test.log" >&2; die "upstream nginx config rejected"; }
"$NGINX" -t -p "$T/ngxproxy" -c "$T/ngxproxy/nginx.conf" >"$T/ngxproxy/test.log" 2>&1 \
    || { cat "$T/ngxproxy/test.log" >&2; die "proxy nginx config rejected"; }
"$HTTPD" -t -f "$T/httpd/httpd.conf" >"$T/httpd/test.log" 2>&1 \
    || { cat "$T/httpd/test.log" >&2; die "httpd config rejected"; }

if model_wanted; then model_pg_start; fi
redis_node "$P_REDIS" "$T/redis.log"
start "$T/up/stdout.log" "$NGINX" -p "$T/up" -c "$T/up/nginx.conf"
start "$T/ngxproxy/stdout.log" "$NGINX" -p "$T/ngxproxy" -c "$T/ngxproxy/nginx.conf"
start "$T/httpd/stdout.log" "$HTTPD" -DFOREGROUND -f "$T/httpd/httpd.conf"

wait_port() {   # port name pid logfile
    local i
    for ((i = 0; i < 100; i++)); do
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; then return 0; fi
        kill -0 "$3" 2>/dev/null || { tail -n 20 "$4" >&2 || true; die "$2 exited during start-up"; }
        sleep 0.1
    done
    tail -n 20 "$4" >&2 || true
    die "$2 did not start listening on 127.0.0.1:$1"
}
# PIDS: [PostgreSQL,] redis, nginx, nginx, httpd
wait_port "$P_UP" "upstream nginx" "${PIDS[-3]}" "$T/up/error.log"
wait_port "$P_NGXPROXY" "proxy nginx" "${PIDS[-2]}" "$T/ngxproxy/error.log"
wait_port "$P_HTTPD" "httpd" "${PIDS[-1]}" "$T/httpd/error.log"

# A signed-in user for the auth targets (created with the project's CLI).
if [[ $REDIS_MODE == cluster ]]; then
    redis_node "$P_REDIS2" "$T/redis2.log"
    redis_node "$P_REDIS3" "$T/redis3.log"
fi
for port in $P_REDIS ${P_REDIS2:-} ${P_REDIS3:-}; do
    for ((i = 0; i < 50; i++)); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
done
if [[ $REDIS_MODE == cluster ]]; then
    redis-cli --cluster create "127.0.0.1:$P_REDIS" "127.0.0.1:$P_REDIS2" "127.0.0.1:$P_REDIS3" \
        --cluster-replicas 0 --cluster-yes >"$T/cluster-create.log" 2>&1 \
        || { cat "$T/cluster-create.log" >&2; die "could not create the Redis Cluster"; }
    for ((i = 0; i < 300; i++)); do
        ok=0
        for port in $P_REDIS $P_REDIS2 $P_REDIS3; do
            redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' && ok=$((ok + 1))
        done
        ((ok == 3)) && break
        sleep 0.05
    done
    ((ok == 3)) || die "the Redis Cluster did not reach cluster_state:ok"
    # httpd started before the cluster existed: wait until it sees the
    # cluster (its breaker and slot map recover on their own).
    for ((i = 0; i < 100; i++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_HTTPD/health") == 200 ]] && break
        sleep 0.1
    done
fi
echo "bench-password-1" | "$BUILD_DIR/plugins/auth/cloudbase-user" \
    --database "sqlite3:$T/data/site.db" --env demo --scrypt-n 1024 create bench >/dev/null \
    || die "could not create the bench user in the database"
for ((i = 0; i < 50; i++)); do
    TOKEN=$(curl -s -X POST "http://127.0.0.1:$P_HTTPD/auth/v1/signin" \
        -d '{"username":"bench","password":"bench-password-1"}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' 2>/dev/null) && break
    sleep 0.2
done
[[ -n ${TOKEN:-} ]] || die "could not sign the bench user in"
note "signed in after $i retries"
API_KEY=$(curl -s -X POST "http://127.0.0.1:$P_HTTPD/auth/v1/admin/apikeys" \
    -H "Authorization: Bearer $(cat "$T/admin.key")" -d '{"name":"bench"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])') \
    || die "could not create the bench API key"
# Credit for the metered function: more than any run can spend.
code=$(curl -s -o "$T/topup.out" -w '%{http_code}' -X POST \
    "http://127.0.0.1:$P_HTTPD/api/workspaces/demo/wallet/topup" \
    -H "X-API-Key: $(cat "$T/admin.key")" -H 'Idempotency-Key: bench' -d '{"amount": 9000000000000000}')
[[ $code == 201 || $code == 200 ]] || die "could not top the wallet up: $code $(head -c 300 "$T/topup.out")"

# --- targets ------------------------------------------------------------------
# auth_off / auth_on: the same echo handler without auth, and behind a
# route that needs a signed-in user (JWT verified, session from the cache).
NAMES=(upstream static nginx_proxy mod_proxy gateway auth_off auth_on auth_key
       fn_mod_proxy fn_nginx function function_10k function_nolimit function_metered
       function_redis1 signin static_4k dl_4k static_1m dl_1m status_static status_page
       model_static model_hit model_redis1 model_nocache model_create_sqlite model_create_pg)
declare -A URL=(
    [fn_mod_proxy]="http://127.0.0.1:$P_HTTPD/plain/hello"
    [fn_nginx]="http://127.0.0.1:$P_NGXPROXY/plain/hello"
    [function]="http://127.0.0.1:$P_HTTPD/v1/functions/bench"
    [function_10k]="http://127.0.0.1:$P_HTTPD2/v1/functions/bench"
    [function_nolimit]="http://127.0.0.1:$P_HTTPD/v1/functions/nolimit"
    [function_metered]="http://127.0.0.1:$P_HTTPD/v1/functions/metered"
    [function_redis1]="http://127.0.0.1:$P_HTTPD/v1/functions/redis1"
    [upstream]="http://127.0.0.1:$P_UP/hello"
    [static]="http://127.0.0.1:$P_HTTPD/hello"
    [nginx_proxy]="http://127.0.0.1:$P_NGXPROXY/plain/hello"
    [mod_proxy]="http://127.0.0.1:$P_HTTPD/plain/hello"
    [gateway]="http://127.0.0.1:$P_HTTPD/v1/test/proxy/hello"
    [auth_off]="http://127.0.0.1:$P_HTTPD/v1/test/echo"
    [auth_on]="http://127.0.0.1:$P_HTTPD/v1/test/private"
    [auth_key]="http://127.0.0.1:$P_HTTPD/v1/test/private"
    [signin]="http://127.0.0.1:$P_HTTPD/auth/v1/signin"
    [static_4k]="http://127.0.0.1:$P_HTTPD/obj-4k"
    [static_1m]="http://127.0.0.1:$P_HTTPD/obj-1m"
    [status_static]="http://127.0.0.1:$P_HTTPD/status-copy.html"
    [status_page]="http://127.0.0.1:$P_HTTPD/status"
)
# The body each target must answer (the hello body unless named here).
declare -A EXPECT=([static_4k]="$T/httpd/docroot/obj-4k" [dl_4k]="$T/httpd/docroot/obj-4k"
                   [static_1m]="$T/httpd/docroot/obj-1m" [dl_1m]="$T/httpd/docroot/obj-1m")
# Uploads FILE as OBJECT into the bench bucket as a client does (the upload
# info, then the signed PUT, streamed by curl -T); prints the object's signed
# download URL.
storage_upload() {   # object file
    local info fields code
    info=$(curl -s -X POST "http://127.0.0.1:$P_HTTPD/v1/storages/get-objects-upload-info" \
        -H "Authorization: Bearer $TOKEN" -d "[{\"objectId\":\"$1\"}]")
    mapfile -t fields < <(python3 -c 'import json, sys
item = json.load(sys.stdin)[0]
print(item["uploadUrl"]); print(item["authorization"]); print(item["downloadUrl"])' <<<"$info" 2>/dev/null)
    ((${#fields[@]} == 3)) || die "storage: no upload info for $1: $(head -c 300 <<<"$info")"
    code=$(curl -s -o "$T/upload.out" -w '%{http_code}' -T "$2" -H "Authorization: ${fields[1]}" \
        -H 'Content-Type: application/octet-stream' "${fields[0]}") || code="curl failed"
    [[ $code == 200 ]] || die "storage: the PUT of $1 answered '$code': $(head -c 300 "$T/upload.out")"
    printf '%s\n' "${fields[2]}"
}
URL[dl_4k]=$(storage_upload bench/obj-4k "$T/httpd/docroot/obj-4k") || exit 1
URL[dl_1m]=$(storage_upload bench/obj-1m "$T/httpd/docroot/obj-1m") || exit 1
# auth_off carries a header of the same size, so both requests cost httpd
# the same to read and only the authentication differs.
declare -A HEADER=([auth_on]="Authorization: Bearer $TOKEN" [auth_key]="X-Api-Key: $API_KEY"
                   [auth_off]="X-Padding: Bearer ${TOKEN//?/x}")
# The function targets and their baselines send the same POST.
FN_BODY='{"a":1,"b":101}'
cat >"$T/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$FN_BODY'
wrk.headers["Content-Type"] = "application/json"
EOF
for n in fn_mod_proxy fn_nginx function function_10k function_nolimit function_metered function_redis1; do HEADER[$n]="Authorization: Bearer $TOKEN"; done
# The signin target: a wrong password for a user that does not exist.
SIGNIN_BODY='{"username":"nobody-bench","password":"not the password"}'
# Its answers are all 400 by design: count them by status instead.
cat >"$T/signin.lua" <<EOF
wrk.method = "POST"
wrk.body = '$SIGNIN_BODY'
wrk.headers["Content-Type"] = "application/json"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
    local total, words = {}, {}
    for _, t in ipairs(threads) do
        for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
    end
    for code, n in pairs(total) do table.insert(words, code .. "=" .. n) end
    table.sort(words)
    io.write("statuses: " .. table.concat(words, " ") .. "\n")
end
EOF
is_post() { [[ $1 == fn_* || $1 == function* || $1 == signin ]] || model_is_post "$1"; }
post_body() {
    if [[ $1 == signin ]]; then printf '%s' "$SIGNIN_BODY"
    elif [[ $1 == model_* ]]; then model_body "$1"
    else printf '%s' "$FN_BODY"; fi
}
post_lua() {
    if [[ $1 == signin ]]; then printf '%s' "$T/signin.lua"
    elif [[ $1 == model_* ]]; then model_lua "$1"
    else printf '%s' "$T/post.lua"; fi
}
if model_wanted; then model_setup; fi
MEASURE_RSS=1 MEASURE_UPLOAD_RSS=1 MEASURE_PRESIGN=1 MEASURE_MONITORS=1
if [[ -n ${BENCH_TARGETS:-} ]]; then
    read -r -a requested <<<"$BENCH_TARGETS"
    NAMES=()
    MEASURE_RSS=0 MEASURE_UPLOAD_RSS=0 MEASURE_PRESIGN=0 MEASURE_MONITORS=0
    for n in "${requested[@]}"; do
        if [[ $n == monitors_1k ]]; then MEASURE_MONITORS=1; continue; fi
        if [[ $n == signin_rss ]]; then MEASURE_RSS=1; continue; fi
        if [[ $n == upload_rss ]]; then MEASURE_UPLOAD_RSS=1; continue; fi
        if [[ $n == presign ]]; then MEASURE_PRESIGN=1; continue; fi
        if containers_target "$n"; then continue; fi
        [[ -n ${URL[$n]:-} ]] || die "unknown target '$n' in BENCH_TARGETS"
        NAMES+=("$n")
    done
fi
# Request headers for curl and wrk, per target.
header_args() { [[ -n ${HEADER[$1]:-} ]] && printf '%s\n' -H "${HEADER[$1]}"; true; }
curl_args() {
    header_args "$1"
    if is_post "$1"; then printf '%s\n' -X POST -H "Content-Type: application/json" --data-binary "$(post_body "$1")"; fi
}
wrk_args() {
    header_args "$1"
    if is_post "$1"; then printf '%s\n' -s "$(post_lua "$1")"; fi
}
printf '%s' "$BODY" >"$T/expected"
# The status page's bytes as a static file, once its monitors were checked
# (the page is rendered again every few seconds: same size, another time).
for ((i = 0; i < 100; i++)); do
    curl -s "http://127.0.0.1:$P_HTTPD/uptime/status.json" | grep -q '"status":"pending"' || break
    sleep 0.1
done
curl -sf -o "$T/httpd/docroot/status-copy.html" "http://127.0.0.1:$P_HTTPD/status" \
    || die "the status page does not answer"
chmod 644 "$T/httpd/docroot/status-copy.html"
for n in "${NAMES[@]}"; do
    if model_is_post "$n"; then model_verify "$n"; continue; fi
    mapfile -t hargs < <(curl_args "$n")
    code=$(curl -sS --max-time 5 "${hargs[@]}" -o "$T/got" -w '%{http_code}' "${URL[$n]}" 2>"$T/curl.err") || code="curl failed: $(cat "$T/curl.err")"
    if [[ $n == auth_* ]]; then
        if [[ $code != 200 ]] || ! grep -q '"greeting":"hi"' "$T/got"; then
            die "target '$n' (${URL[$n]}) answered '$code': $(head -c 300 "$T/got")"
        fi
        continue
    fi
    if [[ $n == status_* ]]; then
        [[ $code == 200 ]] && grep -q '<h1>Bench status</h1>' "$T/got" \
            || die "target '$n' (${URL[$n]}) answered '$code': $(head -c 300 "$T/got")"
        continue
    fi
    if [[ $n == signin ]]; then
        if [[ $code != 400 ]] || ! grep -q '"error":"invalid_grant"' "$T/got"; then
            die "target '$n' (${URL[$n]}) answered '$code', not 400 invalid_grant: $(head -c 300 "$T/got")"
        fi
        continue
    fi
    if [[ $code != 200 ]] || ! cmp -s "${EXPECT[$n]:-$T/expected}" "$T/got"; then
        echo "bench: target '$n' (${URL[$n]}) answered '$code' with body:" >&2
        head -c 500 "$T/got" >&2 2>/dev/null || true
        echo >&2
        tail -n 5 "$T/httpd/error.log" >&2 2>/dev/null || true
        die "target '$n' is not answering 200 with $(basename "${EXPECT[$n]:-hello}"); nothing measured"
    fi
done

# --- signin_rss: memory after a burst of unknown-user sign-ins ---------------
httpd_rss_kib() {   # the bench httpd's main process and its children
    local main
    main=$(cat "$T/httpd/run/httpd.pid" 2>/dev/null) || return 1
    ps -o rss= -p "$main" --ppid "$main" | awk '{ s += $1 } END { print s + 0 }'
}
RSS_IDLE="" RSS_AFTER="" RSS_ANSWERS=""
if ((MEASURE_RSS)); then
    RSS_COUNT=2000 RSS_PARALLEL=200
    for ((i = 0; i < RSS_COUNT; i++)); do
        ((i == 0)) || printf 'next\n'
        printf 'url = "%s"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "http://127.0.0.1:$P_HTTPD/auth/v1/signin"
        printf 'data = "{\\"username\\":\\"ghost-%d\\",\\"password\\":\\"guess\\"}"\n' "$i"
        printf 'max-time = 120\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{exitcode}\\n"\n'
    done >"$T/burst.curl"
    sleep 1
    RSS_IDLE=$(httpd_rss_kib) || die "could not read the httpd pid file"
    note "signin_rss: $RSS_COUNT sign-ins with made-up usernames, $RSS_PARALLEL at a time (idle RSS ${RSS_IDLE} KiB)"
    curl -s --parallel --parallel-immediate --parallel-max "$RSS_PARALLEL" \
        --config "$T/burst.curl" >"$T/burst.out" 2>"$T/burst.err" || true
    RSS_AFTER=$(httpd_rss_kib) || die "could not read the httpd pid file"
    # "STATUS CURL-EXIT" per request: 000 with an exit code is no answer
    RSS_ANSWERS=$(awk '{ n[$2 == 0 ? $1 : "curl-exit-" $2]++ }
        END { for (k in n) printf "%s=%d\n", k, n[k] }' "$T/burst.out" | sort | paste -sd' ')
    [[ $(grep -c '^400 ' "$T/burst.out") -gt 0 ]] || die "signin_rss: no sign-in was checked ($RSS_ANSWERS)"
fi

# --- upload_rss: memory after one 100 MiB upload --------------------------------
UP_IDLE="" UP_AFTER="" UP_SIZE=$((100 * 1024 * 1024))
if ((MEASURE_UPLOAD_RSS)); then
    head -c "$UP_SIZE" /dev/urandom >"$T/upload-100m"
    sleep 1
    UP_IDLE=$(httpd_rss_kib) || die "could not read the httpd pid file"
    note "upload_rss: one signed PUT of 100 MiB into the local bucket (idle RSS ${UP_IDLE} KiB)"
    up_url=$(storage_upload bench/upload-100m "$T/upload-100m") || exit 1
    UP_AFTER=$(httpd_rss_kib) || die "could not read the httpd pid file"
    got=$(curl -s -o /dev/null -w '%{size_download}' "$up_url")
    [[ $got == "$UP_SIZE" ]] || die "upload_rss: the uploaded object downloads as $got bytes, not $UP_SIZE"
    rm -f "$T/upload-100m"
fi

# --- measure ------------------------------------------------------------------
# wrk runs in the background so that a TERM/INT trap fires at once.
run_wrk() {   # outfile wrk-args...
    local out=$1 rc=0; shift
    wrk "$@" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return "$rc"
}
cpu_busy_pct() {   # share of all CPUs busy over one second, from /proc/stat
    local a b
    a=$(head -n1 /proc/stat); sleep 1; b=$(head -n1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x); split(b, y); t = 0; idle = 0
        for (i = 2; i <= 9; i++) t += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%d", (t > 0 ? 100 * (t - idle) / t : 0) }'
}
to_ms() {   # "123.45us" | "1.2ms" | "0.5s" | "2m" -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (match(v, /^[0-9.]+/) == 0) { print "nan"; exit 1 }
        n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
        if (u == "us") f = 0.001; else if (u == "ms") f = 1; else if (u == "s") f = 1000;
        else if (u == "m") f = 60000; else if (u == "h") f = 3600000; else { print "nan"; exit 1 }
        printf "%.3f", n * f }'
}
cpu_ticks() {   # CPU time (user+system clock ticks) of a main process and its children
    local main
    main=$(cat "$1" 2>/dev/null) || { echo "?"; return; }
    { cat "/proc/$main/stat"; for c in $(cat "/proc/$main/task/$main/children" 2>/dev/null); do cat "/proc/$c/stat"; done; } 2>/dev/null |
        sed 's/^.*) //' | awk '{ s += $12 + $13 } END { print s + 0 }'
}
us_per_request() {   # ticks-before ticks-after requests -> microseconds of CPU per request
    awk -v a="$1" -v b="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else print "?" }'
}
upstream_accepted() {
    { curl -s --max-time 2 "http://127.0.0.1:$P_UP/nginx_status" | awk 'NR == 3 { print $1 }'; } || true
}

declare -A RPS P50 P99 UPC REQS RUNS HCPU UCPU   # space-separated per-round values
for n in "${!URL[@]}"; do RPS[$n]="?"; P50[$n]="?"; P99[$n]="?"; UPC[$n]="?"; REQS[$n]="?"; HCPU[$n]="?"; UCPU[$n]="?"; done
for n in "${NAMES[@]}"; do RPS[$n]=""; P50[$n]=""; P99[$n]=""; UPC[$n]=""; REQS[$n]=""; HCPU[$n]=""; UCPU[$n]=""; done
warnings=()
[[ -z $stale_warning ]] || warnings+=("$stale_warning")
busy=$(cpu_busy_pct)
if ((busy > 15)); then
    hogs=$(ps -eo pcpu=,comm= --sort=-pcpu | head -n 3 | awk '{ printf "%s%s %s%%", (NR > 1 ? ", " : ""), $2, $1 }')
    warnings+=("machine was ${busy}% busy before the runs (load $(cut -d' ' -f1-3 /proc/loadavg); biggest CPU users (ps %CPU): $hogs): other processes compete with wrk and the servers, numbers are unreliable")
    note "WARNING: machine is ${busy}% busy before the runs; results will be noisy"
fi
for ((round = 1; round <= ROUNDS; round++)); do
  for n in "${NAMES[@]}"; do
    tag=$n; ((ROUNDS > 1)) && tag="$n (round $round/$ROUNDS)"
    note "$tag: warm-up ${WARMUP}s, then ${SECONDS_RUN}s (wrk -t$THREADS -c$CONNS) ${URL[$n]}"
    out=$T/wrk-$n-$round.txt
    mapfile -t hargs < <(wrk_args "$n")
    run_wrk "$T/warm-$n.txt" -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${hargs[@]}" "${URL[$n]}" \
        || die "wrk warm-up failed for $n: $(tail -n 3 "$T/warm-$n.txt")"
    before=$(upstream_accepted)
    httpd_ticks=$(cpu_ticks "$T/httpd/run/httpd.pid"); up_ticks=$(cpu_ticks "$T/up/nginx.pid")
    run_wrk "$out" -t"$THREADS" -c"$CONNS" -d"${SECONDS_RUN}s" --latency "${hargs[@]}" "${URL[$n]}" \
        || die "wrk failed for $n: $(tail -n 3 "$out")"
    httpd_ticks_after=$(cpu_ticks "$T/httpd/run/httpd.pid"); up_ticks_after=$(cpu_ticks "$T/up/nginx.pid")
    after=$(upstream_accepted)
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    reqs=$(awk '/requests in/ { print $1 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    [[ -n $rps && -n $p50 && -n $p99 ]] || { cat "$out" >&2; die "could not parse wrk output for $n"; }
    p50=$(to_ms "$p50") || die "unknown latency unit '$p50' for $n"
    p99=$(to_ms "$p99") || die "unknown latency unit '$p99' for $n"
    upc="?"
    if [[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ ]]; then
        upc=$((after - before - 1))   # minus the status query's own connection
    fi
    RPS[$n]+="$rps "; P50[$n]+="$p50 "; P99[$n]+="$p99 "; UPC[$n]+="$upc "; REQS[$n]+="$reqs "
    HCPU[$n]+="$(us_per_request "$httpd_ticks" "$httpd_ticks_after" "$reqs") "
    UCPU[$n]+="$(us_per_request "$up_ticks" "$up_ticks_after" "$reqs") "
    ((ROUNDS > 1)) && note "  $rps req/s, p50 $p50 ms, p99 $p99 ms"
    if [[ $reqs == 0 ]]; then warnings+=("$tag: no request completed within wrk's timeout"); fi
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    sockerr=$(grep -E '^ *Socket errors:' "$out" || true)
    if [[ $n == signin ]]; then
        statuses=$(sed -n 's/^statuses: //p' "$out")
        [[ $statuses =~ ^400=[0-9]+$ ]] || warnings+=("$tag: answers other than 400: $statuses")
    elif [[ -n $non2xx && $non2xx != 0 ]]; then
        warnings+=("$tag: $non2xx non-2xx/3xx responses")
    fi
    if [[ -n $sockerr ]]; then
        warnings+=("$tag: ${sockerr#"${sockerr%%[![:space:]]*}"}")
    fi
    model_settle "$n"
  done
done
median() {   # numbers... ("?" counts as missing)
    # (grep finds nothing when no round measured a value: not an error)
    printf '%s\n' "$@" | { grep -E '^-?[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "?"; else if (NR % 2) print v[(NR + 1) / 2];
              else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for n in "${NAMES[@]}"; do
    ((ROUNDS > 1)) && RUNS[$n]="req/s ${RPS[$n]}| p99 ${P99[$n]}"
    # shellcheck disable=SC2086  # word splitting of the per-round lists is intended
    { RPS[$n]=$(median ${RPS[$n]}); P50[$n]=$(median ${P50[$n]}); P99[$n]=$(median ${P99[$n]})
      UPC[$n]=$(median ${UPC[$n]}); REQS[$n]=$(median ${REQS[$n]})
      HCPU[$n]=$(median ${HCPU[$n]}); UCPU[$n]=$(median ${UCPU[$n]}); }
done
if grep -qE '\[(proxy|proxy_http|cloudbase):(error|crit|alert|emerg)' "$T/httpd/error.log" 2>/dev/null; then
    warnings+=("httpd error log has proxy/cloudbase errors (first: $(grep -m1 -E '\[(proxy|proxy_http|cloudbase):(error|crit|alert|emerg)' "$T/httpd/error.log" | cut -c1-200))")
fi

# 1,000 monitors on a second httpd (after the wrk runs, with the bench httpd idle).
if ((MEASURE_MONITORS)); then
    bench_uptime_monitors
fi
if containers_wanted; then bench_containers; fi

# Object-store signer microbenchmark (one thread's CPU time, no server): its
# presign rate is a row of the table.
sign_out="" presign=""
if ((MEASURE_PRESIGN)) && [[ -x $BUILD_DIR/tests/bench/sign_bench ]]; then
    sign_out=$("$BUILD_DIR/tests/bench/sign_bench" 2>&1) || warnings+=("sign_bench failed: $sign_out")
    presign=$(sed -n 's/.*s3_presign_per_sec=\([0-9]*\).*/\1/p' <<<"$sign_out")
fi

# --- report -----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v ~ /^-?[0-9.]+$/) printf f, v; else print v }'; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", a - b }'; }

echo
echo "mod_cloudbase bench: wrk -t$THREADS -c$CONNS -d${SECONDS_RUN}s (warm-up ${WARMUP}s)$( ((ROUNDS > 1)) && echo " x $ROUNDS rounds, medians"), loopback, $(nproc) CPUs;" \
     "httpd event MPM 2x32 threads; gateway upstream $([[ $SHARED == 1 ]] && echo "= ProxyPass URL (shared worker)" || echo "on its own port")"
echo "module: $MODULE (built $MODULE_BUILT)"
fmt='%-19s %10s %8s %8s %9s %10s %9s %9s %9s %9s %9s %9s\n'
printf "$fmt" target "req/s" "p50 ms" "p99 ms" "x modprx" "p99 d ms" "x upstr" "x ngxprx" "x static" "up-conns" "httpd us" "upstr us"
for n in "${NAMES[@]}"; do
    printf "$fmt" "$n" "$(num "${RPS[$n]}" %.0f)" "$(num "${P50[$n]}" %.2f)" "$(num "${P99[$n]}" %.2f)" \
        "$(ratio "${RPS[$n]}" "${RPS[mod_proxy]}")" "$(delta "${P99[$n]}" "${P99[mod_proxy]}")" \
        "$(ratio "${RPS[$n]}" "${RPS[upstream]}")" "$(ratio "${RPS[$n]}" "${RPS[nginx_proxy]}")" \
        "$(ratio "${RPS[$n]}" "${RPS[static]}")" "$(num "${UPC[$n]}" %.0f)" \
        "$(num "${HCPU[$n]}" %.1f)" "$(num "${UCPU[$n]}" %.1f)"
done
if [[ -n $presign ]]; then
    printf "$fmt" presign "$presign" - - - - - - - - - -
fi
echo "(x = req/s ratio; p99 d = p99 minus mod_proxy's p99; up-conns = TCP connections the upstream"
echo " accepted during the measured run, for $(num "${REQS[gateway]}" %.0f) gateway / $(num "${REQS[mod_proxy]}" %.0f) mod_proxy requests;"
echo " httpd us / upstr us = CPU time (user+system, from /proc) the bench httpd / the upstream nginx spent"
echo " per request: other load on the machine barely moves these, unlike req/s;"
echo " presign = presigned SigV4 URLs per second on one core, no server)"
if ((ROUNDS > 1)); then
    echo "per round:"
    for n in "${NAMES[@]}"; do printf '  %-19s %s\n' "$n" "${RUNS[$n]}"; done
fi
echo

measured() { [[ ${RPS[$1]} != "?" && ${RPS[$2]} != "?" ]]; }
if measured gateway mod_proxy; then
    gw_ratio=$(ratio "${RPS[gateway]}" "${RPS[mod_proxy]}")
    gw_delta=$(delta "${P99[gateway]}" "${P99[mod_proxy]}")
    # decide on the unrounded numbers
    awk -v a="${RPS[gateway]}" -v b="${RPS[mod_proxy]}" 'BEGIN { exit !(b > 0 && a / b >= 0.95) }' && v1=PASS || v1=FAIL
    awk -v a="${P99[gateway]}" -v b="${P99[mod_proxy]}" 'BEGIN { exit !(a - b <= 0.3) }' && v2=PASS || v2=FAIL
    echo "gateway route >= 0.95x mod_proxy throughput: $v1 ($gw_ratio)"
    echo "gateway p99 within 0.3 ms of mod_proxy: $v2 ($gw_delta ms)"
fi
if measured auth_on auth_off; then
    au_ratio=$(ratio "${RPS[auth_on]}" "${RPS[auth_off]}")
    awk -v a="${RPS[auth_on]}" -v b="${RPS[auth_off]}" 'BEGIN { exit !(b > 0 && a / b >= 0.95) }' && v3=PASS || v3=FAIL
    echo "route needing a user token >= 0.95x the same route without auth: $v3 ($au_ratio)"
fi

if measured function fn_mod_proxy; then
    fn_ratio=$(ratio "${RPS[function]}" "${RPS[fn_mod_proxy]}")
    fn_delta=$(delta "${P99[function]}" "${P99[fn_mod_proxy]}")
    awk -v a="${RPS[function]}" -v b="${RPS[fn_mod_proxy]}" 'BEGIN { exit !(b > 0 && a / b >= 0.95) }' && v6=PASS || v6=FAIL
    awk -v a="${P99[function]}" -v b="${P99[fn_mod_proxy]}" 'BEGIN { exit !(a - b <= 0.5) }' && v7=PASS || v7=FAIL
    echo "authenticated, rate-limited function call >= 0.95x mod_proxy (same POST): $v6 ($fn_ratio; nginx proxy_pass $(ratio "${RPS[fn_nginx]}" "${RPS[fn_mod_proxy]}"))"
    echo "function call p99 within 0.5 ms of mod_proxy: $v7 ($fn_delta ms)"
fi
# function_nolimit is the same call, authenticated, without rate limit or meter.
if measured function_metered function_nolimit; then
    awk -v a="${RPS[function_metered]}" -v b="${RPS[function_nolimit]}" 'BEGIN { exit !(b > 0 && a / b >= 0.9) }' && v11=PASS || v11=FAIL
    echo "metered function call (wallet reserve and settle) >= 0.9x the same call unmetered: $v11" \
         "($(ratio "${RPS[function_metered]}" "${RPS[function_nolimit]}"); p99 $(num "${P99[function_metered]}" %.2f) ms vs $(num "${P99[function_nolimit]}" %.2f) ms)"
fi
# function_redis1 is function_nolimit plus one trivial Redis script per call:
# the floor of any call that takes one atomic Redis decision (issue 14 point 3).
if measured function_metered function_redis1; then
    echo "  its floor, the same call with one trivial Redis script per call (function_redis1):" \
         "$(ratio "${RPS[function_redis1]}" "${RPS[function_nolimit]}") unmetered; the metered call is" \
         "$(ratio "${RPS[function_metered]}" "${RPS[function_redis1]}") its floor"
fi
if measured signin signin; then
    echo "password sign-in, unknown user (decoy scrypt N=16384, hash bound 2/process): $(num "${RPS[signin]}" %.0f) req/s"
fi
# "LABEL: PASS|FAIL (idle, after, growth MiB[EXTRA])" for two RSS readings in
# KiB and a growth limit in MiB.
rss_verdict() {   # label idle-kib after-kib limit-mib [extra]
    local growth verdict
    growth=$(awk -v a="$3" -v b="$2" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
    awk -v g="$growth" -v l="$4" 'BEGIN { exit !(g < l) }' && verdict=PASS || verdict=FAIL
    echo "$1: $verdict (idle $(awk -v k="$2" 'BEGIN { printf "%.1f", k / 1024 }') MiB," \
         "after $(awk -v k="$3" 'BEGIN { printf "%.1f", k / 1024 }') MiB, growth $growth MiB${5:-})"
}
if [[ -n $RSS_IDLE && -n $RSS_AFTER ]]; then
    rss_verdict "gateway RSS after $RSS_COUNT parallel unknown-user sign-ins grows < 100 MiB" \
        "$RSS_IDLE" "$RSS_AFTER" 100 "; answers $RSS_ANSWERS"
fi
for size in 4k 1m; do
    if measured "dl_$size" "static_$size"; then
        awk -v a="${RPS[dl_$size]}" -v b="${RPS[static_$size]}" 'BEGIN { exit !(b > 0 && a / b >= 0.9) }' && v=PASS || v=FAIL
        echo "signed download of a $size object >= 0.9x httpd serving the same file statically: $v" \
             "($(ratio "${RPS[dl_$size]}" "${RPS[static_$size]}"); p99 $(num "${P99[dl_$size]}" %.2f) ms vs $(num "${P99[static_$size]}" %.2f) ms)"
    fi
done
if measured status_page status_static; then
    awk -v a="${RPS[status_page]}" -v b="${RPS[status_static]}" 'BEGIN { exit !(b > 0 && a / b >= 0.9) }' && v=PASS || v=FAIL
    echo "status page from the cache ($(stat -c %s "$T/httpd/docroot/status-copy.html") bytes) >= 0.9x httpd serving the same bytes statically: $v" \
         "($(ratio "${RPS[status_page]}" "${RPS[status_static]}"); p99 $(num "${P99[status_page]}" %.2f) ms vs $(num "${P99[status_static]}" %.2f) ms)"
fi
if ((MEASURE_MONITORS)); then
    uptime_monitors_report
fi
model_report
containers_report
if [[ -n $UP_IDLE && -n $UP_AFTER ]]; then
    rss_verdict "a 100 MiB upload raises httpd's RSS by < 10 MiB" "$UP_IDLE" "$UP_AFTER" 10
fi
if measured function_10k function; then
    awk -v a="${RPS[function_10k]}" -v b="${RPS[function]}" 'BEGIN { exit !(b > 0 && a / b >= 0.95) }' && v8=PASS || v8=FAIL
    echo "10,000 functions within 5% of 10 functions: $v8 ($(ratio "${RPS[function_10k]}" "${RPS[function]}"))"
fi

# JWT verification microbenchmark (one thread, no server).
if [[ -x $BUILD_DIR/tests/bench/jwt_bench ]]; then
    jwt_out=$("$BUILD_DIR/tests/bench/jwt_bench" 2>&1) || warnings+=("jwt_bench failed: $jwt_out")
    hs=$(sed -n 's/.*hs256_verify_per_sec=\([0-9]*\).*/\1/p' <<<"$jwt_out")
    es=$(sed -n 's/.*es256_verify_per_sec=\([0-9]*\).*/\1/p' <<<"$jwt_out")
    [[ ${hs:-0} -ge 300000 ]] && v4=PASS || v4=FAIL
    es_all=$(sed -n 's/.*es256_verify_per_sec_all_cores=\([0-9]*\).*/\1/p' <<<"$jwt_out")
    [[ ${es_all:-0} -ge 20000 ]] && v5=PASS || v5=FAIL
    echo "HS256 verify >= 300k/s on one core: $v4 (${hs:-?}/s)"
    echo "ES256 verify >= 20k/s (all $(nproc) cores): $v5 (${es_all:-?}/s; one core ${es:-?}/s, bound by OpenSSL's P-256)"
    echo "$jwt_out" | sed 's/^/  /'
fi

if [[ -n $sign_out ]]; then
    [[ ${presign:-0} -ge 100000 ]] && v10=PASS || v10=FAIL
    echo "presigned SigV4 URLs >= 100k/s on one core: $v10 (${presign:-?}/s)"
    echo "$sign_out" | sed 's/^/  /'
fi

if ((${#warnings[@]})); then
    echo
    for w in "${warnings[@]}"; do echo "WARNING: $w"; done
fi
exit 0
