/*
 * it_model_cache.c: the model plugin's Redis read cache (issue 12 point 5)
 * in real apache2 gateways with a real Redis and, where nodes share data,
 * a real PostgreSQL (tests/common/postgres.c), with testplug's fake
 * identities (Bearer test-user-NAME, test-admin):
 *   - two nodes, one Redis, one PostgreSQL: after every acknowledged write
 *     on one node, the other node's next list and get show it (never an
 *     older cached answer), while repeated reads are HITs;
 *   - local copies: a node whose processes read one list hard answers from
 *     memory (few MGETs) and still shows another node's write at once;
 *   - the key covers the caller's scope: a PRIVATE list cached for alice is
 *     not served to bob; an everyone-reads list is shared;
 *   - X-Cache-Status MISS, HIT, BYPASS (cache=off) and STALE (past its TTL
 *     while the filler is held up by a table lock taken with psql);
 *   - the stampede guard: 200 concurrent list misses on one key over both
 *     nodes, counted at the database (PostgreSQL log_statement=all into its
 *     log, SELECTs on the model's table), against a cache=off model whose
 *     200 requests give 200 SELECTs (the count's positive control);
 *   - Redis stopped: reads BYPASS, writes succeed and are counted
 *     (X-Cache-Invalidation: failed, bumpFailures, a rate-limited warning);
 *   - the purge route needs the admin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "postgres.h"
#include "../common/servers.h"

#define PG_BIN "/usr/lib/postgresql/15/bin/"

static const char *schema =
    "{\"fields\": {\"title\": {\"type\": \"string\", \"required\": true, \"maxLength\": 50},"
    " \"views\": {\"type\": \"number\"}}}\n";

static srv_pg pg;
static int use_pg;
static int node_b;   /* the second gateway's port, 0 without one */

/* The gateway site: every model on one schema; cache options as given. */
static const char *site_with(const char *cache_lines)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s"
             "<CloudBasePlugin model>\n"
             "  model post schema=file:%s/post.json\n"
             "  model diary schema=file:%s/post.json permission=PRIVATE\n"
             "  model plain schema=file:%s/post.json cache=off\n"
             "  model hot schema=file:%s/post.json\n"
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, it.dir, it.dir, cache_lines);
    return site;
}

/* it_setup, PostgreSQL (with_pg) or SQLite, one gateway, and a second one
 * on the same Redis and database (two_nodes). */
static void start(int with_pg, int two_nodes, const char *cache_lines)
{
    char line[512];
    const char *site;
    use_pg = with_pg;
    node_b = 0;
    if (with_pg)
        ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    it_setup();
    if (with_pg)
        snprintf(it.database, sizeof(it.database), "%s",
                 srv_pg_database_line(&pg, "timeout=10s", line, sizeof(line)));
    it_write_file("post.json", schema);
    site = site_with(cache_lines);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
    if (two_nodes) {
        node_b = srv_free_port();
        ck_assert_msg(it_second_httpd_start(site, node_b), "the second httpd did not start");
    }
}

static void stop(void)
{
    it_teardown();
    if (use_pg)
        srv_pg_destroy(&pg);
    use_pg = 0;
}

/* A request to the gateway on port (0: the first). */
static void call_on(int port, const char *method, const char *path, const char *user,
                    const char *body, it_response *r)
{
    char auth[128];
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    int first = it.http_port;
    if (user) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer test-%s", user);
        headers[1] = auth;
    }
    if (port)
        it.http_port = port;   /* it_request talks to it.http_port */
    it_request(method, path, headers, body, r);
    it.http_port = first;
}

static const char *cache_status(const it_response *r)
{
    const char *s = it_header(r, "X-Cache-Status");
    return s ? s : "(none)";
}

/* The number after "name": in a body; fails the test when absent. */
static long number_in(const char *body, const char *name)
{
    char key[64];
    const char *at;
    snprintf(key, sizeof(key), "\"%s\":", name);
    at = strstr(body, key);
    ck_assert_msg(at != NULL, "no %s in %s", name, body);
    return strtol(at + strlen(key), NULL, 10);
}

static const char *id_of(const char *body)
{
    static char id[64];
    const char *at = strstr(body, "\"id\":\"");
    ck_assert_msg(at != NULL, "%s", body);
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(at + 6, "\""), at + 6);
    return id;
}

/* Runs one psql command on the test database; its first output line. */
static char *psql(const char *sql)
{
    static char out[512];
    char cmd[1024];
    FILE *p;
    snprintf(cmd, sizeof(cmd), PG_BIN "psql -X -q -tA -h '%s' -p %d -U cb -d cbtest -c \"%s\" "
             "2>&1", pg.dir, pg.port, sql);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
    return out;
}

/* How many lines of the PostgreSQL log hold all of the given needles. */
static int pg_log_count(const char *a, const char *b)
{
    char path[128], line[8192];
    FILE *f;
    int n = 0;
    snprintf(path, sizeof(path), "%s/log", pg.dir);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no PostgreSQL log at %s", path);
    while (fgets(line, sizeof(line), f))
        if (strstr(line, a) && strstr(line, b))
            n++;
    fclose(f);
    return n;
}

/* log_statement=all from now on: every statement the server receives is a
 * line of its log (the way the test counts database queries). */
static void log_every_statement(void)
{
    int changed = 0;
    psql("ALTER SYSTEM SET log_statement = 'all'");
    psql("SELECT pg_reload_conf()");
    for (int i = 0; i < 200 && !changed; i++) {
        changed = pg_log_count("\"log_statement\"", "changed to \"all\"") > 0;
        if (!changed)
            usleep(50 * 1000);
    }
    ck_assert_msg(changed, "PostgreSQL did not take log_statement=all");
}

/* The table of a model (unquoted), as PostgreSQL lists it. */
static const char *table_of(const char *model)
{
    static char name[128];
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT tablename FROM pg_tables WHERE tablename LIKE "
             "'cbm_%s_prod_%%'", model);
    snprintf(name, sizeof(name), "%s", psql(sql));
    ck_assert_msg(strncmp(name, "cbm_", 4) == 0, "no table for %s: %s", model, name);
    return name;
}

/* The acknowledged-write rule across two nodes: each round reads on one
 * node (twice: the second is a HIT), writes on the other, then reads again
 * on the first node and must see the write. */
START_TEST(acknowledged_write_never_older_across_nodes)
{
    enum { ROUNDS = 30 };
    it_response r;
    char body[512], id[64];
    const char *list = "{\"filter\":{\"where\":{\"title\":{\"$eq\":\"tally\"}}},\"getCount\":true}";
    int hits = 0;
    start(1, 1, "  cache_ttl 60s\n");
    call_on(0, "POST", "/v1/model/prod/post/create", "user-alice",
            "{\"data\":{\"title\":\"counter\",\"views\":0}}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    snprintf(id, sizeof(id), "%s", id_of(r.body));
    it_free(&r);
    for (int i = 1; i <= ROUNDS; i++) {
        int writer = i % 2 ? 0 : node_b, reader = i % 2 ? node_b : 0;
        char get[256];
        snprintf(get, sizeof(get), "{\"filter\":{\"where\":{\"_id\":{\"$eq\":\"%s\"}}}}", id);
        for (int twice = 0; twice < 2; twice++) {
            call_on(reader, "POST", "/v1/model/prod/post/get", NULL, get, &r);
            ck_assert_msg(r.status == 200 && number_in(r.body, "views") == i - 1,
                          "round %d: before the write: %s", i, r.body);
            hits += strcmp(cache_status(&r), "HIT") == 0;
            it_free(&r);
            call_on(reader, "POST", "/v1/model/prod/post/list", NULL, list, &r);
            ck_assert_msg(r.status == 200 && number_in(r.body, "total") == i - 1,
                          "round %d: before the write: %s", i, r.body);
            hits += strcmp(cache_status(&r), "HIT") == 0;
            it_free(&r);
        }
        snprintf(body, sizeof(body), "{\"filter\":{\"where\":{\"_id\":{\"$eq\":\"%s\"}}},"
                 "\"data\":{\"views\":%d}}", id, i);
        call_on(writer, "PUT", "/v1/model/prod/post/update", "user-alice", body, &r);
        ck_assert_msg(r.status == 200, "round %d: update: %s", i, r.body);
        it_free(&r);
        call_on(writer, "POST", "/v1/model/prod/post/create", "user-alice",
                "{\"data\":{\"title\":\"tally\"}}", &r);
        ck_assert_msg(r.status == 200, "round %d: create: %s", i, r.body);
        it_free(&r);
        /* acknowledged: no node may answer from before these writes */
        for (int node = 0; node < 2; node++) {
            int port = node ? writer : reader;
            call_on(port, "POST", "/v1/model/prod/post/get", NULL, get, &r);
            ck_assert_msg(r.status == 200 && number_in(r.body, "views") == i,
                          "round %d: an answer from before the update (%s): %s", i,
                          cache_status(&r), r.body);
            it_free(&r);
            call_on(port, "POST", "/v1/model/prod/post/list", NULL, list, &r);
            ck_assert_msg(r.status == 200 && number_in(r.body, "total") == i,
                          "round %d: an answer from before the create (%s): %s", i,
                          cache_status(&r), r.body);
            it_free(&r);
        }
    }
    call_on(node_b, "POST", "/v1/model/prod/post/deleteMany", "user-alice",
            "{\"filter\":{\"where\":{\"title\":{\"$eq\":\"tally\"}}}}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/list", NULL, list, &r);
    ck_assert_msg(r.status == 200 && number_in(r.body, "total") == 0, "%s", r.body);
    it_free(&r);
    /* the cache was in play: the repeated reads were answered from Redis */
    ck_assert_msg(hits >= ROUNDS, "only %d HITs in %d rounds", hits, ROUNDS);
    stop();
}
END_TEST

/* Local copies (cache_local_lease): node B's processes read one list hard
 * (120 requests, 8 at a time: past 16 reads within a lease, so they take
 * leases and answer from their own copies, without Redis), then node A
 * writes; B's next reads show the write. The lease is long (3 s, renewed
 * every 120 ms) so that a write that did not wait for B's processes would
 * be seen: B's reads right after it would be copies from before it (so
 * each write here waits up to 3 s for B's quiet processes). Most of the
 * hard reads asked Redis nothing (MGETs counted by Redis). */
START_TEST(hot_reads_from_local_copies_never_older)
{
    enum { ROUNDS = 3, BURST = 120 };
    const char *headers[] = {"Content-Type: application/json", NULL};
    const char *list = "{\"filter\":{\"where\":{\"title\":{\"$eq\":\"warm\"}}},\"getCount\":true}";
    long statuses[BURST], mgets;
    int ports[1];
    it_response r;
    start(0, 1, "  cache_local_lease 3s\n");
    ports[0] = node_b;
    mgets = it_redis_calls("mget");
    for (int i = 1; i <= ROUNDS; i++) {
        it_parallel(ports, 1, "POST", "/v1/model/prod/hot/list", headers, list, BURST, 8,
                    statuses);
        for (int k = 0; k < BURST; k++)
            ck_assert_msg(statuses[k] == 200, "round %d: hot read %d: %ld", i, k, statuses[k]);
        call_on(0, "POST", "/v1/model/prod/hot/create", "user-alice",
                "{\"data\":{\"title\":\"warm\"}}", &r);
        ck_assert_msg(r.status == 200, "round %d: create: %s", i, r.body);
        it_free(&r);
        for (int k = 0; k < 4; k++) {
            call_on(node_b, "POST", "/v1/model/prod/hot/list", NULL, list, &r);
            ck_assert_msg(r.status == 200 && number_in(r.body, "total") == i,
                          "round %d: an answer from before the write (%s): %s", i,
                          cache_status(&r), r.body);
            it_free(&r);
        }
    }
    mgets = it_redis_calls("mget") - mgets;
    ck_assert_msg(mgets * 2 < ROUNDS * BURST, "%ld MGETs for %d hot reads: no local copies",
                  mgets, ROUNDS * BURST);
    stop();
}
END_TEST

/* The scope is in the key: alice's cached PRIVATE list is not bob's. */
START_TEST(key_covers_the_callers_scope)
{
    it_response r;
    const char *all = "{\"pageSize\":50}";
    start(0, 0, "");
    call_on(0, "POST", "/v1/model/prod/diary/create", "user-alice",
            "{\"data\":{\"title\":\"alice-secret\"}}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/diary/create", "user-bob",
            "{\"data\":{\"title\":\"bob-note\"}}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    it_free(&r);
    for (int i = 0; i < 2; i++) {
        call_on(0, "POST", "/v1/model/prod/diary/list", "user-alice", all, &r);
        ck_assert_msg(r.status == 200 && strstr(r.body, "alice-secret") &&
                      !strstr(r.body, "bob-note"), "%s", r.body);
        ck_assert_str_eq(cache_status(&r), i ? "HIT" : "MISS");
        it_free(&r);
    }
    call_on(0, "POST", "/v1/model/prod/diary/list", "user-bob", all, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "bob-note") &&
                  !strstr(r.body, "alice-secret"), "bob got: %s", r.body);
    ck_assert_str_eq(cache_status(&r), "MISS");
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/diary/list", NULL, all, &r);
    ck_assert_msg(r.status == 401 && !strstr(r.body, "alice-secret"), "%s", r.body);
    ck_assert_ptr_null(it_header(&r, "X-Cache-Status"));
    it_free(&r);
    /* everyone reads post: one cached answer for all callers */
    call_on(0, "POST", "/v1/model/prod/post/create", "user-alice",
            "{\"data\":{\"title\":\"public\"}}", &r);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/list", "user-alice", all, &r);
    ck_assert_str_eq(cache_status(&r), "MISS");
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/list", "user-bob", all, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "public"), "%s", r.body);
    ck_assert_str_eq(cache_status(&r), "HIT");
    it_free(&r);
    /* cache=off: BYPASS every time */
    for (int i = 0; i < 2; i++) {
        call_on(0, "POST", "/v1/model/prod/plain/list", NULL, all, &r);
        ck_assert_msg(r.status == 200, "%s", r.body);
        ck_assert_str_eq(cache_status(&r), "BYPASS");
        it_free(&r);
    }
    stop();
}
END_TEST

/* POST .../cache/purge: 401 without a credential, 403 for a user; the
 * admin's purge makes the next read a MISS. */
START_TEST(purge_needs_the_admin)
{
    it_response r;
    start(0, 0, "");
    for (int i = 0; i < 2; i++) {
        call_on(0, "POST", "/v1/model/prod/post/list", NULL, "{}", &r);
        ck_assert_str_eq(cache_status(&r), i ? "HIT" : "MISS");
        it_free(&r);
    }
    call_on(0, "POST", "/v1/model/prod/post/cache/purge", NULL, NULL, &r);
    ck_assert_msg(r.status == 401, "%ld %s", r.status, r.body);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/cache/purge", "user-alice", NULL, &r);
    ck_assert_msg(r.status == 403, "%ld %s", r.status, r.body);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/list", NULL, "{}", &r);
    ck_assert_str_eq(cache_status(&r), "HIT");
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/cache/purge", "admin", NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"purged\":true"), "%ld %s", r.status,
                  r.body);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/list", NULL, "{}", &r);
    ck_assert_str_eq(cache_status(&r), "MISS");
    it_free(&r);
    stop();
}
END_TEST

/* Redis stopped: reads BYPASS and see the writes; writes succeed, are
 * marked and counted; the warning is rate-limited; Redis back: cached. */
START_TEST(redis_down_bypass_and_writes_succeed)
{
    enum { WRITES = 20 };
    it_response r;
    char *log;
    int warnings = 0, cached = 0;
    start(0, 0, "");
    call_on(0, "POST", "/v1/model/prod/post/list", NULL, "{\"getCount\":true}", &r);
    ck_assert_str_eq(cache_status(&r), "MISS");
    it_free(&r);
    it_redis_kill();
    for (int i = 0; i < WRITES; i++) {
        call_on(0, "POST", "/v1/model/prod/post/create", "user-alice",
                "{\"data\":{\"title\":\"while-down\"}}", &r);
        ck_assert_msg(r.status == 200, "write %d with Redis down: %ld %s", i, r.status, r.body);
        ck_assert_msg(it_header(&r, "X-Cache-Invalidation") &&
                      strcmp(it_header(&r, "X-Cache-Invalidation"), "failed") == 0,
                      "write %d not marked", i);
        it_free(&r);
    }
    call_on(0, "POST", "/v1/model/prod/post/list", NULL, "{\"getCount\":true}", &r);
    ck_assert_msg(r.status == 200 && number_in(r.body, "total") == WRITES, "%s", r.body);
    ck_assert_str_eq(cache_status(&r), "BYPASS");
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/post/cache/purge", "admin", NULL, &r);
    ck_assert_msg(r.status == 503, "purge with Redis down: %ld %s", r.status, r.body);
    it_free(&r);
    log = it_error_log();
    for (const char *at = log; (at = strstr(at, "the read cache could not be told")); at++)
        warnings++;
    free(log);
    ck_assert_msg(warnings >= 1 && warnings < WRITES, "%d warnings for %d writes", warnings,
                  WRITES);
    it_redis_restart();
    /* the Redis client's breaker retries within its retry interval */
    for (int i = 0; i < 100 && !cached; i++) {
        call_on(0, "POST", "/v1/model/prod/post/list", NULL, "{\"getCount\":true}", &r);
        cached = strcmp(cache_status(&r), "BYPASS") != 0;
        it_free(&r);
        if (!cached)
            usleep(100 * 1000);
    }
    ck_assert_msg(cached, "still BYPASS after Redis came back");
    /* each worker process has its own breaker: poll until a purge answers */
    cached = 0;
    for (int i = 0; i < 100 && !cached; i++) {
        call_on(0, "POST", "/v1/model/prod/post/cache/purge", "admin", NULL, &r);
        if ((cached = r.status == 200))
            ck_assert_msg(number_in(r.body, "bumpFailures") >= WRITES, "%s", r.body);
        else
            ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
        it_free(&r);
        if (!cached)
            usleep(100 * 1000);
    }
    ck_assert_msg(cached, "the purge still failed after Redis came back");
    stop();
}
END_TEST

/* 200 concurrent misses on one key over both nodes: a bounded number of
 * SELECTs reach PostgreSQL; the same on a cache=off model reaches it 200
 * times (so the count sees every query). */
START_TEST(stampede_bounded_database_queries)
{
    enum { TOTAL = 200 };
    long statuses[TOTAL];
    int ports[2], before, plain_queries, hot_queries;
    char from_plain[160], from_hot[160];
    it_response r;
    const char *body = "{\"filter\":{\"where\":{\"views\":{\"$gte\":0}}},\"pageSize\":5}";
    const char *headers[] = {"Content-Type: application/json", NULL};
    start(1, 1, "  cache_wait 5s\n");
    for (int i = 0; i < 3; i++) {
        call_on(0, "POST", "/v1/model/prod/hot/create", "user-alice",
                "{\"data\":{\"title\":\"hot\",\"views\":1}}", &r);
        ck_assert_msg(r.status == 200, "%s", r.body);
        it_free(&r);
        call_on(0, "POST", "/v1/model/prod/plain/create", "user-alice",
                "{\"data\":{\"title\":\"plain\",\"views\":1}}", &r);
        it_free(&r);
    }
    snprintf(from_plain, sizeof(from_plain), "FROM \"%s\"", table_of("plain"));
    snprintf(from_hot, sizeof(from_hot), "FROM \"%s\"", table_of("hot"));
    log_every_statement();
    ports[0] = it.http_port;
    ports[1] = node_b;
    before = pg_log_count(from_plain, "LIMIT");
    it_parallel(ports, 2, "POST", "/v1/model/prod/plain/list", headers, body, TOTAL, TOTAL,
                statuses);
    for (int i = 0; i < TOTAL; i++)
        ck_assert_msg(statuses[i] == 200, "plain request %d: %ld", i, statuses[i]);
    plain_queries = pg_log_count(from_plain, "LIMIT") - before;
    before = pg_log_count(from_hot, "LIMIT");
    it_parallel(ports, 2, "POST", "/v1/model/prod/hot/list", headers, body, TOTAL, TOTAL,
                statuses);
    for (int i = 0; i < TOTAL; i++)
        ck_assert_msg(statuses[i] == 200, "hot request %d: %ld", i, statuses[i]);
    hot_queries = pg_log_count(from_hot, "LIMIT") - before;
    fprintf(stderr, "stampede: %d concurrent lists: %d SELECTs uncached, %d cached\n", TOTAL,
            plain_queries, hot_queries);
    ck_assert_msg(plain_queries >= TOTAL, "the count saw %d of %d uncached queries",
                  plain_queries, TOTAL);
    ck_assert_msg(hot_queries >= 1 && hot_queries <= 2,
                  "%d SELECTs for %d concurrent misses on one key", hot_queries, TOTAL);
    stop();
}
END_TEST

/* Past its TTL, while the one refilling request is held up (psql holds an
 * ACCESS EXCLUSIVE lock on the table), the others get the stale copy. */
START_TEST(stale_while_one_request_refills)
{
    enum { TOTAL = 8 };
    it_response r, out[TOTAL];
    const char *bodies[TOTAL], *body = "{\"pageSize\":5}";
    char cmd[1024], sql[256], first[4096];
    int stale = 0, miss = 0, held = 0;
    start(1, 0, "  cache_ttl 1s\n  cache_wait 200ms\n");
    call_on(0, "POST", "/v1/model/prod/hot/create", "user-alice",
            "{\"data\":{\"title\":\"before\"}}", &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    it_free(&r);
    call_on(0, "POST", "/v1/model/prod/hot/list", NULL, body, &r);
    ck_assert_str_eq(cache_status(&r), "MISS");
    ck_assert_msg(strstr(r.body, "\"records\"") != NULL, "%s", r.body);
    snprintf(first, sizeof(first), "%s", strstr(r.body, "\"records\""));
    first[strcspn(first, "}")] = '\0';   /* the first record, up to its end */
    it_free(&r);
    usleep(1300 * 1000);   /* past cache_ttl: the entry is stale from now on */
    snprintf(cmd, sizeof(cmd), PG_BIN "psql -X -h '%s' -p %d -U cb -d cbtest -c 'LOCK TABLE "
             "\"%s\" IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3)'", pg.dir, pg.port,
             table_of("hot"));
    it_spawn_helper(it.dir, cmd, "lock.log");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_locks WHERE granted AND mode = "
             "'AccessExclusiveLock' AND relation = '%s'::regclass", table_of("hot"));
    for (int i = 0; i < 200 && !held; i++) {
        held = strcmp(psql(sql), "1") == 0;
        if (!held)
            usleep(20 * 1000);
    }
    ck_assert_msg(held, "psql did not take the table lock");
    for (int i = 0; i < TOTAL; i++)
        bodies[i] = body;
    {
        const char *headers[] = {"Content-Type: application/json", NULL};
        it_parallel_each(NULL, "POST", "/v1/model/prod/hot/list", headers, bodies, TOTAL, TOTAL,
                         out);
    }
    for (int i = 0; i < TOTAL; i++) {
        ck_assert_msg(out[i].status == 200, "%ld %s", out[i].status, out[i].body);
        stale += strcmp(cache_status(&out[i]), "STALE") == 0;
        miss += strcmp(cache_status(&out[i]), "MISS") == 0;
        ck_assert_msg(strstr(out[i].body, first) != NULL, "%s", out[i].body);
        it_free(&out[i]);
    }
    ck_assert_msg(stale >= TOTAL - 1 && miss <= 1, "%d STALE, %d MISS of %d", stale, miss,
                  TOTAL);
    stop();
}
END_TEST

Suite *model_cache_suite(void)
{
    Suite *s = suite_create("model_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, acknowledged_write_never_older_across_nodes);
    tcase_add_test(tc, hot_reads_from_local_copies_never_older);
    tcase_add_test(tc, key_covers_the_callers_scope);
    tcase_add_test(tc, purge_needs_the_admin);
    tcase_add_test(tc, redis_down_bypass_and_writes_succeed);
    tcase_add_test(tc, stampede_bounded_database_queries);
    tcase_add_test(tc, stale_while_one_request_refills);
    suite_add_tcase(s, tc);
    return s;
}
