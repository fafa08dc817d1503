# bench-containers.sh: the containers plugin's part of scripts/bench.sh
# (sourced by it; uses its start, note, die, T, HTTPD, HTTPD_USER,
# APACHE_MODULES, MODULE, BUILD_DIR, REDIS_URL and ROOT). Opt-in by name,
# since they need Podman: BENCH_TARGETS="containers_create containers_sse".
#
# Podman is set up the way tests/integration/harness_podman.c does it, in
# $T/podman only (never the machine's default storage): a containers.conf
# (runc, cgroupfs, ulimits, netns none), an image imported offline from a
# busybox rootfs (plus tests/bench/ct_stamp, built statically here), and
# `podman system service` on $T/podman/engine.sock. A second httpd (event
# MPM, 2 processes x 64 threads, so that 100 streams fit) serves the auth
# and containers plugins on that engine; the client is
# scripts/bench-containers.py.
#
#   containers_create  BENCH_CT_CREATE (20) containers created and started
#       through the gateway (POST /api/v1/containers with a tb_ key) and as
#       many with the same create + start calls straight on the engine's
#       socket, alternating; containers/s both ways (target gateway >= 0.9x).
#   containers_sse  BENCH_CT_STREAMS (100) concurrent tasks, each printing
#       BENCH_CT_LINES (20) lines every 100 ms with the time it wrote them
#       (tests/bench/ct_stamp.c), as the engine's own exec attach streams and
#       as the gateway's
#       SSE streams (POST /api/v1/containers/{id}/execute), in the order
#       engine, gateway, gateway, engine (BENCH_CT_ROUNDS=2 rounds each), all
#       due to start BENCH_CT_LEAD (10) s after they are launched. The
#       latency of an event is its arrival at the client minus the time in
#       its line; the gateway's added latency is its p50/p99 minus the
#       engine's (target p99 added <= 5 ms). Each task stays
#       BENCH_CT_LINGER_MS (300) after its last line, so that the verdict
#       measures the gateway, not the engine's exit path: the last line of
#       a task that exits at once comes late from the engine itself (traced
#       inside the gateway: p50 23 ms, p99 82 ms after it was written), on
#       both paths, and the difference of two such tails is noise (-3 ms to
#       +63 ms from run to run). Then the same runs with tasks that exit at
#       once are reported beside it (see docs/plugins/containers.md
#       "Benchmark").
# Every container is removed afterwards; on exit the engine's containers
# are removed, the service stopped and its conmon processes killed by PID.

CT_IMAGE=localhost/cb-busybox-bench:latest
CT_CREATE_WANTED=0 CT_SSE_WANTED=0
CT_CREATE_OUT="" CT_SSE_OUT="" CT_SSE_EXIT_OUT=""

# Takes a BENCH_TARGETS name if it is one of ours.
containers_target() {
    case $1 in
        containers_create) CT_CREATE_WANTED=1 ;;
        containers_sse) CT_SSE_WANTED=1 ;;
        *) return 1 ;;
    esac
}
containers_wanted() { ((CT_CREATE_WANTED || CT_SSE_WANTED)); }

source "$(dirname "${BASH_SOURCE[0]}")/podman-local.sh"
ct_podman() { "${PODMAN_LOCAL[@]}" "$@"; }

# The engine in $T/podman; sets CT_SOCKET.
containers_podman_start() {
    local d=$T/podman
    podman_local_available || die "containers targets need podman, runc and busybox-static (scripts/install-deps.sh)"
    mkdir -p "$d"
    cc -static -O2 -Wall -Wextra -Werror -o "$d/ct_stamp" "$ROOT/tests/bench/ct_stamp.c" \
        || die "could not build tests/bench/ct_stamp.c statically"
    podman_local_prepare "$d" "$CT_IMAGE" "$d/ct_stamp" || die "podman import failed"
    CT_SOCKET=$d/engine.sock
    start "$d/service.log" "${PODMAN_LOCAL[@]}" system service --time=0 "unix://$CT_SOCKET"
    podman_local_wait "$CT_SOCKET" \
        || { tail -n 5 "$d/service.log" >&2; die "the podman service did not answer on $CT_SOCKET"; }
}

# The containers' gateway: its own httpd on P_CT.
containers_gateway_start() {
    local d=$T/ct i code
    mkdir -p "$d/run" "$d/data" "$d/plugins"
    chmod 777 "$d/data"
    ln -s "$BUILD_DIR/plugins/auth/.libs/auth.so" "$BUILD_DIR/plugins/containers/.libs/containers.so" \
        "$d/plugins/"
    openssl rand -hex 32 >"$d/jwt.key"
    openssl rand -hex 32 >"$d/admin.key"
    chmod 644 "$d/jwt.key" "$d/admin.key"
    {
        extra_httpd_conf_head "$d" "$P_CT" 64 "$MODULE"
        cat <<EOF
KeepAlive On
CloudBasePluginDir $d/plugins
CloudBaseEnv benchct
CloudBaseRedis $REDIS_URL
CloudBaseDatabase sqlite3:$d/data/ct.db
<CloudBasePlugin auth>
  jwt_secret file:$d/jwt.key
  admin_key file:$d/admin.key
</CloudBasePlugin>
<CloudBasePlugin containers>
  engine_socket $CT_SOCKET
  engine_timeout 60s
  agent_type bench image=$CT_IMAGE command=/bin/sh,-c memory=64m cpus=0.5 network=none
</CloudBasePlugin>
EOF
    } >"$d/httpd.conf"
    "$HTTPD" -t -f "$d/httpd.conf" >"$d/test.log" 2>&1 \
        || { cat "$d/test.log" >&2; die "containers httpd config rejected"; }
    start "$d/stdout.log" "$HTTPD" -DFOREGROUND -f "$d/httpd.conf"
    for ((i = 0; i < 100; i++)); do
        code=$(curl -s -o "$d/key.json" -w '%{http_code}' -X POST "http://127.0.0.1:$P_CT/auth/v1/admin/apikeys" \
            -H "Authorization: Bearer $(cat "$d/admin.key")" -d '{"name":"bench","prefix":"tb"}') || true
        [[ $code == 201 ]] && break
        sleep 0.1
    done
    [[ $code == 201 ]] || { tail -n 20 "$d/error.log" >&2; die "containers gateway: no tb_ key ($code)"; }
    CT_KEY=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["key"])' "$d/key.json")
    [[ $CT_KEY == tb_benchct_* ]] || die "containers gateway: not a TestBase key: $CT_KEY"
}

# Runs the wanted containers targets (after the wrk runs).
bench_containers() {
    local client=$ROOT/scripts/bench-containers.py gw
    read -r P_CT < <(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    containers_podman_start
    containers_gateway_start
    gw=http://127.0.0.1:$P_CT
    if ((CT_CREATE_WANTED)); then
        note "containers_create: ${BENCH_CT_CREATE:-20} containers through the gateway and as many on the engine, alternating"
        CT_CREATE_OUT=$(python3 "$client" create "$gw" "$CT_KEY" "$CT_SOCKET" "${BENCH_CT_CREATE:-20}" "$CT_IMAGE") \
            || die "containers_create failed"
    fi
    if ((CT_SSE_WANTED)); then
        note "containers_sse: ${BENCH_CT_STREAMS:-100} concurrent task streams on the engine, then through the gateway"
        CT_SSE_OUT=$(BENCH_CT_LINGER_MS=${BENCH_CT_LINGER_MS:-300} python3 "$client" sse "$gw" "$CT_KEY" \
            "$CT_SOCKET" "${BENCH_CT_STREAMS:-100}" "${BENCH_CT_LINES:-20}" 100 "${BENCH_CT_LEAD:-10}" \
            "${BENCH_CT_ROUNDS:-2}") || die "containers_sse failed"
        note "containers_sse: the same with tasks that exit right after their last line"
        CT_SSE_EXIT_OUT=$(BENCH_CT_LINGER_MS=0 python3 "$client" sse "$gw" "$CT_KEY" "$CT_SOCKET" \
            "${BENCH_CT_STREAMS:-100}" "${BENCH_CT_LINES:-20}" 100 "${BENCH_CT_LEAD:-10}" \
            "${BENCH_CT_ROUNDS:-2}") || die "containers_sse (tasks that exit at once) failed"
    fi
    [[ -z $(ct_podman ps -aq 2>/dev/null) ]] || warnings+=("containers: the engine still held containers after the runs")
}

# The value of NAME=VALUE in a client output line.
ct_field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }

# The gateway's p50 or p99 less the engine's, in a client output line.
ct_added() {   # output p50|p99
    awk -v a="$(ct_field "$1" "gateway_$2_ms")" -v b="$(ct_field "$1" "direct_$2_ms")" 'BEGIN { printf "%.2f", a - b }'
}
# Both paths' percentiles and the event counts of a client output line.
ct_sse_figures() {   # output
    echo "gateway p50 $(ct_field "$1" gateway_p50_ms) / p99 $(ct_field "$1" gateway_p99_ms) ms," \
         "engine's own stream p50 $(ct_field "$1" direct_p50_ms) / p99 $(ct_field "$1" direct_p99_ms) ms;" \
         "$(ct_field "$1" events) events each way; streams started late engine/gateway $(ct_field "$1" late_streams)"
}

# The PASS/FAIL lines of the containers targets.
containers_report() {
    local gw direct added50 added99 v
    if [[ -n $CT_CREATE_OUT ]]; then
        gw=$(ct_field "$CT_CREATE_OUT" gateway_per_s); direct=$(ct_field "$CT_CREATE_OUT" direct_per_s)
        awk -v a="$gw" -v b="$direct" 'BEGIN { exit !(b > 0 && a / b >= 0.9) }' && v=PASS || v=FAIL
        echo "container create+start through the gateway >= 0.9x the same engine calls: $v" \
             "($(ratio "$gw" "$direct"); $gw vs $direct containers/s, $(ct_field "$CT_CREATE_OUT" N) each;" \
             "p50 $(ct_field "$CT_CREATE_OUT" gateway_ms_p50) ms vs $(ct_field "$CT_CREATE_OUT" direct_ms_p50) ms)"
    fi
    if [[ -n $CT_SSE_OUT ]]; then
        added50=$(ct_added "$CT_SSE_OUT" p50); added99=$(ct_added "$CT_SSE_OUT" p99)
        awk -v d="$added99" 'BEGIN { exit !(d <= 5) }' && v=PASS || v=FAIL
        echo "SSE fan-out, $(ct_field "$CT_SSE_OUT" streams) concurrent task streams: the gateway adds <= 5 ms per event (p99): $v" \
             "(tasks staying ${BENCH_CT_LINGER_MS:-300} ms after their last line; added p50 $added50 ms, p99 $added99 ms;" \
             "$(ct_sse_figures "$CT_SSE_OUT"))"
    fi
    if [[ -n $CT_SSE_EXIT_OUT ]]; then
        echo "  the same with tasks that exit right after their last line (whose last line comes late from the engine" \
             "itself): added p50 $(ct_added "$CT_SSE_EXIT_OUT" p50) ms, p99 $(ct_added "$CT_SSE_EXIT_OUT" p99) ms;" \
             "$(ct_sse_figures "$CT_SSE_EXIT_OUT"); p99 without each stream's last line: gateway" \
             "$(ct_field "$CT_SSE_EXIT_OUT" gateway_p99_ms_but_last) ms, engine $(ct_field "$CT_SSE_EXIT_OUT" direct_p99_ms_but_last) ms"
    fi
}

# On exit, before bench.sh stops its processes: the engine's containers go,
# and (after the service stops) the conmon processes of our storage root.
containers_cleanup() {
    [[ -n ${CT_SOCKET:-} && -f $T/podman/containers.conf ]] || return 0
    ct_podman rm --all --force --time 0 >>"$T/podman/podman-cli.log" 2>&1 || true
}
containers_stop_conmons() {
    [[ -n ${CT_SOCKET:-} ]] || return 0
    podman_local_stop_conmons "$T/podman"
}
