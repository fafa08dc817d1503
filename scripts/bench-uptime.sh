# bench-uptime.sh: the uptime plugin's part of scripts/bench.sh (sourced by
# it; uses its start, cpu_ticks, note and die, and its T, PIDS and ports).
#
#   status_page / status_static  wrk targets: the status page served from the
#       plugin's cache (3 monitors, a few seconds of history) and the same
#       bytes as a static file of the same httpd (target >= 0.9x).
#   monitors_1k  not a wrk run: a second httpd (same MPM settings) with
#       BENCH_MONITORS (1000) HTTP monitors at interval=10s against the
#       upstream nginx (location /mon, which logs the arrival time of each
#       check, $msec, and the monitor's name). After a warm-up that ends
#       when every monitor was checked once (a monitor's first check comes
#       at its first slot after start-up, up to an interval, and waits for
#       its lease, up to 2 s more), for BENCH_MONITOR_SECONDS (60) it measures
#       the CPU time of that httpd (main process and children, /proc) minus
#       the CPU time the idle bench httpd spent over the same window, as %
#       of one core (target < 10%), and the lateness of each check: its
#       arrival at the upstream minus the start of its slot (the plugin's
#       slot formula: a multiple of the interval shifted by FNV-1a of the
#       name modulo the interval, docs/plugins/uptime.md "Scheduling");
#       target p99 < 500 ms.

# The httpd.conf of the monitors' gateway: DIR PORT UPSTREAM_PORT REDIS_URL
# MODULE PLUGIN_DIR COUNT
uptime_monitors_conf() {
    local dir=$1 port=$2 up_port=$3 redis=$4 module=$5 plugins=$6 count=$7 i
    extra_httpd_conf_head "$dir" "$port" 32 "$module"
    cat <<EOF
CloudBasePluginDir $plugins
CloudBaseEnv benchmon
CloudBaseRedis $redis
CloudBaseDatabase sqlite3:$dir/data/mon.db
<CloudBasePlugin uptime>
  allow_private 127.0.0.0/8
EOF
    for ((i = 0; i < count; i++)); do
        printf '  monitor m%04d http://127.0.0.1:%d/mon?m=m%04d interval=10s\n' "$i" "$up_port" "$i"
    done
    echo "</CloudBasePlugin>"
}

# "CHECKS P50 P99 MAX" (lateness in ms) of the checks logged in LOG
# ("SECONDS.MILLIS NAME" lines) that arrived in [FROM_MS, TO_MS).
uptime_lateness() {
    python3 - "$1" "$2" "$3" 10000 <<'EOF'
import sys
log, start, end, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def fnv1a(text):
    h = 14695981039346656037
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h
late = []
for line in open(log):
    parts = line.split()
    if len(parts) != 2 or not parts[1].startswith("m"):
        continue
    at = int(round(float(parts[0]) * 1000))
    if not start <= at < end:
        continue
    offset = fnv1a(parts[1]) % interval
    late.append(at - ((at - offset) // interval * interval + offset))
late.sort()
if not late:
    print("0 ? ? ?")
else:
    pick = lambda q: late[min(len(late) - 1, max(0, (len(late) * q + 99) // 100 - 1))]
    print(len(late), pick(50), pick(99), late[-1])
EOF
}

# Runs the monitors_1k measurement; sets MON_COUNT MON_SECONDS MON_CPU_PCT
# MON_CHECKS MON_P50 MON_P99 MON_MAX (or dies).
bench_uptime_monitors() {
    local d=$T/mon hz idle_a idle_b mon_a mon_b from_ms to_ms
    MON_COUNT=${BENCH_MONITORS:-1000}
    MON_SECONDS=${BENCH_MONITOR_SECONDS:-60}
    [[ $MON_COUNT =~ ^[1-9][0-9]*$ && $MON_SECONDS =~ ^[1-9][0-9]*$ ]] \
        || die "BENCH_MONITORS and BENCH_MONITOR_SECONDS must be positive integers"
    mkdir -p "$d/run" "$d/data"
    chmod -R 777 "$d/data"
    uptime_monitors_conf "$d" "$P_MON" "$P_UP" "$REDIS_URL" "$MODULE" "$T/plugins" "$MON_COUNT" \
        >"$d/httpd.conf"
    "$HTTPD" -t -f "$d/httpd.conf" >"$d/test.log" 2>&1 \
        || { cat "$d/test.log" >&2; die "monitors httpd config rejected"; }
    start "$d/stdout.log" "$HTTPD" -DFOREGROUND -f "$d/httpd.conf"
    note "monitors_1k: $MON_COUNT HTTP monitors at interval=10s; warm-up until each was checked once, then ${MON_SECONDS}s"
    local seen=0 i
    for ((i = 0; i < 300 && seen < MON_COUNT; i++)); do
        sleep 0.2
        seen=$(awk '$2 ~ /^m[0-9]+$/ { print $2 }' "$T/up/mon.log" 2>/dev/null | sort -u | wc -l)
    done
    [[ -f $d/run/httpd.pid ]] || { tail -n 20 "$d/error.log" >&2; die "monitors httpd did not start"; }
    ((seen >= MON_COUNT)) || { tail -n 20 "$d/error.log" >&2; die "monitors_1k: only $seen of $MON_COUNT monitors were checked within 60 s"; }
    hz=$(getconf CLK_TCK)
    from_ms=$(date +%s%3N)
    idle_a=$(cpu_ticks "$T/httpd/run/httpd.pid"); mon_a=$(cpu_ticks "$d/run/httpd.pid")
    sleep "$MON_SECONDS"
    idle_b=$(cpu_ticks "$T/httpd/run/httpd.pid"); mon_b=$(cpu_ticks "$d/run/httpd.pid")
    to_ms=$(date +%s%3N)
    [[ $idle_a$idle_b$mon_a$mon_b =~ ^[0-9]+$ ]] || die "monitors_1k: could not read the httpd CPU times"
    MON_CPU_PCT=$(awk -v m=$((mon_b - mon_a)) -v i=$((idle_b - idle_a)) -v hz="$hz" \
        -v ms=$((to_ms - from_ms)) 'BEGIN { printf "%.1f", (m - i) * 100000 / hz / ms }')
    MON_IDLE_PCT=$(awk -v i=$((idle_b - idle_a)) -v hz="$hz" -v ms=$((to_ms - from_ms)) \
        'BEGIN { printf "%.1f", i * 100000 / hz / ms }')
    read -r MON_CHECKS MON_P50 MON_P99 MON_MAX < <(uptime_lateness "$T/up/mon.log" "$from_ms" "$to_ms")
    MON_EXPECTED=$((MON_COUNT * (to_ms - from_ms) / 10000))
    ((MON_CHECKS > 0)) || { tail -n 20 "$d/error.log" >&2; die "monitors_1k: no check reached the upstream"; }
}

# The PASS/FAIL line of monitors_1k.
uptime_monitors_report() {
    local v1 v2
    awk -v c="$MON_CPU_PCT" 'BEGIN { exit !(c < 10) }' && v1=PASS || v1=FAIL
    awk -v p="$MON_P99" 'BEGIN { exit !(p ~ /^[0-9]+$/ && p < 500) }' && v2=PASS || v2=FAIL
    echo "$MON_COUNT monitors at 10s on one node: added CPU < 10% of one core: $v1 ($MON_CPU_PCT%;" \
         "idle httpd $MON_IDLE_PCT%); p99 lateness of a check < 500 ms: $v2 (p50 $MON_P50 ms," \
         "p99 $MON_P99 ms, max $MON_MAX ms; $MON_CHECKS checks in ${MON_SECONDS}s, $MON_EXPECTED due)"
}
