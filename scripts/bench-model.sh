# shellcheck shell=bash disable=SC2154,SC2034,SC2153  # sourced by bench.sh: shares its variables
# bench-model.sh: the model plugin's targets of scripts/bench.sh (issue 12
# point 9), sourced by it; uses its T, ROOT, BUILD_DIR, P_* ports, start(),
# die(), note(), URL/HEADER/EXPECT and TOKEN.
#
#   model_static   httpd serving, as a static file, the very bytes of one
#                  cached answer of the list below (model-list.json)
#   model_hit      POST /v1/model/prod/mlist/list, answered from the read
#                  cache (X-Cache-Status: HIT): {"filter":{"where":{"category":
#                  {"$eq":"c7"}}},"pageSize":20,"getCount":true} over 100,000
#                  rows in SQLite; category is not indexed, 100 rows match
#                  (the first page of 20, newest first, and their total)
#   model_redis1   the same bytes, read from Redis with one GET per request
#                  by the test plugin (POST /v1/test/redis-bytes): what any
#                  answer that must be asked of Redis costs at the least, so
#                  the floor of a HIT without local copies. model_hit, a
#                  hot list, is answered from the process's local copy
#                  under a lease (cache_local_lease, docs/plugins/model.md)
#   model_nocache  the same list of the same rows, of a model with cache=off
#                  (X-Cache-Status: BYPASS): every request queries SQLite
#   model_create_sqlite  POST .../mwrite/create, a signed-in user's token, on
#                  the main server (SQLite, WAL, the core's default
#                  synchronous=FULL)
#   model_create_pg  the same create on a virtual host of the same httpd
#                  whose CloudBaseDatabase is a PostgreSQL started here
#                  (initdb in the temp dir, a free loopback port, default
#                  durability settings), with its own user and token
# Targets: model_hit >= 0.9x model_static; model_hit >= 10x model_nocache.
# model_hit against model_redis1 is reported too: what local copies save
# over one Redis round trip per answer.
# Writes are reported as they are.

MODEL_ROWS=100000
MODEL_LIST_BODY='{"filter":{"where":{"category":{"$eq":"c7"}}},"pageSize":20,"getCount":true}'
MODEL_CREATE_BODY='{"data":{"title":"bench write","category":"w","views":1}}'
PG_BIN=/usr/lib/postgresql/15/bin
[[ -x $PG_BIN/postgres ]] || PG_BIN=$(dirname "$(command -v postgres || echo /usr/bin/postgres)")

# Model targets are set up (PostgreSQL, 100k rows) only when measured.
model_wanted() {
    [[ -z ${BENCH_TARGETS:-} || " $BENCH_TARGETS " == *" model_"* ]]
}

# Runs a PostgreSQL command as an unprivileged user when root (initdb and
# postgres refuse root).
pg_as_user() {
    if ((EUID == 0)); then
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        "$@"
    fi
}

# initdb in $T/pg, postgres on 127.0.0.1:$P_PG (its socket in $T/pg), the
# database "bench". Started through start(), so cleanup stops it.
model_pg_start() {
    local i
    mkdir -p "$T/pg"
    if ((EUID == 0)); then chown postgres:postgres "$T/pg"; fi
    pg_as_user "$PG_BIN/initdb" -D "$T/pg/data" -A trust -U cb -E UTF8 --no-instructions \
        >"$T/pg/initdb.log" 2>&1 || { cat "$T/pg/initdb.log" >&2; die "initdb failed"; }
    if ((EUID == 0)); then
        start "$T/pg/server.log" setpriv --reuid=postgres --regid=postgres --init-groups -- \
            "$PG_BIN/postgres" -D "$T/pg/data" -p "$P_PG" -k "$T/pg" -c listen_addresses=127.0.0.1
    else
        start "$T/pg/server.log" "$PG_BIN/postgres" -D "$T/pg/data" -p "$P_PG" -k "$T/pg" \
            -c listen_addresses=127.0.0.1
    fi
    for ((i = 0; i < 200; i++)); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$P_PG" -U cb && break
        sleep 0.1
    done
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$P_PG" -U cb bench 2>"$T/pg/createdb.log" \
        || { cat "$T/pg/server.log" "$T/pg/createdb.log" >&2; die "PostgreSQL did not start"; }
}

# The schemas, and the configuration lines for bench.sh's httpd.conf: the
# models in the main server (SQLite) and a virtual host on PostgreSQL.
model_conf() {
    mkdir -p "$T/model"
    cat >"$T/model/list.json" <<'EOF'
{"fields": {"title": {"type": "string", "required": true},
            "category": {"type": "string"},
            "views": {"type": "number", "index": true}}}
EOF
    chmod -R 755 "$T/model"
    cat <<EOF
# the model targets: a cached and an uncached model over the same 100k rows,
# and a model to write to (all in the main server's SQLite database)
<CloudBasePlugin model>
  model mlist schema=file:$T/model/list.json
  model mlist_nc schema=file:$T/model/list.json cache=off
  model mwrite schema=file:$T/model/list.json
  cache_ttl 1h
</CloudBasePlugin>
# the same writes on PostgreSQL, with its own auth plugin data
Listen 127.0.0.1:$P_HTTPD3
<VirtualHost 127.0.0.1:$P_HTTPD3>
  CloudBaseEnv demo
  CloudBaseRedis $REDIS_URL
  CloudBaseDatabase "pgsql:host=127.0.0.1 port=$P_PG user=cb dbname=bench"
  <CloudBasePlugin auth>
    jwt_secret file:$T/jwt.key
  </CloudBasePlugin>
  <CloudBasePlugin model>
    model mwrite schema=file:$T/model/list.json
  </CloudBasePlugin>
</VirtualHost>
EOF
}

model_post() {   # url body [curl args...]: prints the answer's body
    local url=$1 body=$2; shift 2
    curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' "$@" \
        --data-binary "$body" "$url"
}

# A user of the PostgreSQL host (its own database), signed in: prints the token.
model_pg_token() {
    local i token=""
    for ((i = 0; i < 50; i++)); do
        echo "bench-password-1" | "$BUILD_DIR/plugins/auth/cloudbase-user" \
            --database "pgsql:host=127.0.0.1 port=$P_PG user=cb dbname=bench" --env demo \
            --scrypt-n 1024 create bench >/dev/null 2>&1 && break
        # the auth plugin's tables come with its first request there
        curl -s -o /dev/null "http://127.0.0.1:$P_HTTPD3/health" || true
        sleep 0.2
    done
    token=$(model_post "http://127.0.0.1:$P_HTTPD3/auth/v1/signin" \
        '{"username":"bench","password":"bench-password-1"}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' 2>/dev/null) \
        || die "could not sign the bench user in on the PostgreSQL host"
    printf '%s\n' "$token"
}

# After start: the tables (made by a first request), 100k rows in each list
# table, the cached answer as a static file, the tokens; sets URL, HEADER,
# EXPECT for the model targets.
model_setup() {
    local base="http://127.0.0.1:$P_HTTPD/v1/model/prod" suffix t m cols
    local pg_token body
    for m in mlist mlist_nc; do
        model_post "$base/$m/list" '{"pageSize":1}' -o /dev/null || die "model $m does not answer"
    done
    suffix=$(printf demo | sha256sum | cut -c1-8)
    t="\"cbm_mlist_prod_$suffix\""
    cols='_id, "createdAt", "updatedAt", owner, "createBy", "updateBy", _openid, title, category, views'
    note "model: seeding $MODEL_ROWS rows into mlist and mlist_nc (sqlite3)"
    sqlite3 -cmd '.timeout 10000' "$T/data/site.db" >"$T/model/seed.log" 2>&1 <<EOF || { cat "$T/model/seed.log" >&2; die "could not seed the model tables"; }
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $MODEL_ROWS)
INSERT INTO $t ($cols)
SELECT printf('%032x', i), 1700000000000 + i * 1000, 1700000000000 + i * 1000,
       'seed-user', 'seed-user', 'seed-user', 'seed-user',
       'post number ' || i, 'c' || (i % 1000), i % 500
FROM n;
INSERT INTO "cbm_mlist_nc_prod_$suffix" ($cols) SELECT $cols FROM $t;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
    if ((EUID == 0)); then chown -R www-data:www-data "$T/data"; fi
    # The bench list, twice: the second is a HIT, saved as the static twin.
    model_post "$base/mlist/list" "$MODEL_LIST_BODY" -o /dev/null
    model_post "$base/mlist/list" "$MODEL_LIST_BODY" -o "$T/httpd/docroot/model-list.json"
    chmod 644 "$T/httpd/docroot/model-list.json"
    python3 - "$T/httpd/docroot/model-list.json" <<'EOF' || die "the model list answer is not the expected page"
import json, sys
d = json.load(open(sys.argv[1]))["data"]
assert d["total"] == 100 and len(d["records"]) == 20, d
assert all(r["category"] == "c7" for r in d["records"])
EOF
    # The floor's bytes: the same answer, stored where the test plugin reads it.
    redis-cli -p "$P_REDIS" -c -x SET "cb:{demo}:testplug:bytes" \
        <"$T/httpd/docroot/model-list.json" >/dev/null || die "could not store the floor's bytes in Redis"
    pg_token=$(model_pg_token) || exit 1
    URL[model_static]="http://127.0.0.1:$P_HTTPD/model-list.json"
    URL[model_hit]="$base/mlist/list"
    URL[model_redis1]="http://127.0.0.1:$P_HTTPD/v1/test/redis-bytes"
    URL[model_nocache]="$base/mlist_nc/list"
    URL[model_create_sqlite]="$base/mwrite/create"
    URL[model_create_pg]="http://127.0.0.1:$P_HTTPD3/v1/model/prod/mwrite/create"
    HEADER[model_create_sqlite]="Authorization: Bearer $TOKEN"
    HEADER[model_create_pg]="Authorization: Bearer $pg_token"
    EXPECT[model_static]="$T/httpd/docroot/model-list.json"
    # (the bodies have no single quote)
    local f
    for f in list create; do
        [[ $f == list ]] && body=$MODEL_LIST_BODY || body=$MODEL_CREATE_BODY
        cat >"$T/model-$f.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
EOF
    done
}

model_is_post() { [[ $1 == model_hit || $1 == model_redis1 || $1 == model_nocache || $1 == model_create_* ]]; }
model_body() { if [[ $1 == model_create_* ]]; then printf '%s' "$MODEL_CREATE_BODY"; else printf '%s' "$MODEL_LIST_BODY"; fi; }
model_lua() { if [[ $1 == model_create_* ]]; then printf '%s' "$T/model-create.lua"; else printf '%s' "$T/model-list.lua"; fi; }

# Checks a model target's answer before it is measured: the lists give the
# static twin's bytes (but the requestId) with the cache status they are
# about, the creates an id.
model_verify() {   # target
    local n=$1 code status hargs=()
    mapfile -t hargs < <(header_args "$n")
    code=$(curl -sS --max-time 10 -D "$T/model.headers" -o "$T/got" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' "${hargs[@]}" --data-binary "$(model_body "$n")" \
        "${URL[$n]}" 2>"$T/curl.err") || code="curl failed: $(cat "$T/curl.err")"
    status=$(tr -d '\r' <"$T/model.headers" | awk -F': ' 'tolower($1) == "x-cache-status" { print $2 }')
    if [[ $n == model_create_* ]]; then
        [[ $code == 200 ]] && grep -q '^{"data":{"id":"[0-9a-f]\{32\}"}' "$T/got" \
            || die "target '$n' answered '$code': $(head -c 300 "$T/got")"
        return
    fi
    if [[ $n == model_redis1 ]]; then
        [[ $code == 200 ]] && cmp -s "$T/got" "$T/httpd/docroot/model-list.json" \
            || die "target '$n' answered '$code', not the bytes of model-list.json: $(head -c 300 "$T/got")"
        return
    fi
    local want=HIT
    [[ $n == model_nocache ]] && want=BYPASS
    [[ $code == 200 && $status == "$want" ]] \
        || die "target '$n' answered '$code' with X-Cache-Status '$status', not $want: $(head -c 300 "$T/got")"
    cmp -s <(sed 's/"requestId":"[^"]*"//' "$T/got") \
        <(sed 's/"requestId":"[^"]*"//' "$T/httpd/docroot/model-list.json") \
        || die "target '$n' does not answer the bytes of model-list.json: $(head -c 300 "$T/got")"
}

# After model_create_sqlite: concurrent SQLite write transactions in one
# httpd process can stall for a long time (the threads wait on apr-util's
# SQLite driver lock while another one waits for the database's write lock),
# and stalled requests would slow the targets measured next. Waits until a
# database read of the main server answers within a second again.
model_settle() {   # target just measured
    local i
    [[ $1 == model_create_sqlite ]] || return 0
    for ((i = 0; i < 180; i++)); do
        curl -sf -o /dev/null --max-time 1 -X POST -H 'Content-Type: application/json' \
            --data-binary '{"pageSize":1}' "http://127.0.0.1:$P_HTTPD/v1/model/prod/mlist_nc/list" && return 0
        sleep 0.5
    done
    warnings+=("model_create_sqlite: the gateway's SQLite reads still stalled 2 minutes after the run")
}

# The verdict lines.
model_report() {
    model_wanted || return 0
    if measured model_hit model_static; then
        awk -v a="${RPS[model_hit]}" -v b="${RPS[model_static]}" 'BEGIN { exit !(b > 0 && a / b >= 0.9) }' && v=PASS || v=FAIL
        echo "model list from the read cache (HIT) >= 0.9x httpd serving the same JSON bytes statically: $v" \
             "($(ratio "${RPS[model_hit]}" "${RPS[model_static]}"); p99 $(num "${P99[model_hit]}" %.2f) ms vs $(num "${P99[model_static]}" %.2f) ms)"
    fi
    if measured model_hit model_redis1; then
        echo "  the same bytes with one Redis GET per request (model_redis1, the floor of a HIT that asks Redis): $(ratio "${RPS[model_redis1]}" "${RPS[model_static]}") static;" \
             "the HIT (from the process's local copy) is $(ratio "${RPS[model_hit]}" "${RPS[model_redis1]}") that"
    fi
    if measured model_hit model_nocache; then
        awk -v a="${RPS[model_hit]}" -v b="${RPS[model_nocache]}" 'BEGIN { exit !(b > 0 && a / b >= 10) }' && v=PASS || v=FAIL
        echo "model list cached >= 10x the same list uncached (SQLite, $MODEL_ROWS rows, a filter on a non-indexed field): $v" \
             "($(ratio "${RPS[model_hit]}" "${RPS[model_nocache]}"); uncached $(num "${RPS[model_nocache]}" %.0f) req/s, p99 $(num "${P99[model_nocache]}" %.2f) ms)"
    fi
    if measured model_create_sqlite model_create_sqlite || measured model_create_pg model_create_pg; then
        echo "model create throughput (a signed-in user, one record per request): SQLite $(num "${RPS[model_create_sqlite]:-?}" %.0f) req/s," \
             "PostgreSQL $(num "${RPS[model_create_pg]:-?}" %.0f) req/s"
    fi
}
