/*
 * it_wallet.c: the wallet plugin in a real apache2 with the auth plugin
 * (a real API key and the admin key in X-API-Key), Redis and the test
 * upstream:
 *   api_and_bad_input: the TOSE routes (balance and currency, top-up once
 *     per Idempotency-Key, 409 for the key with another amount, a manual
 *     charge, the alert threshold, transactions newest first with paging),
 *     every bad input refused with a clear {success:false, error} and the
 *     balance unchanged, a metered call reserving and settling (a refused
 *     answer refunded), 402 when short with the upstream never called, and
 *     with Redis down 503 on metered routes while free routes still answer;
 *     the sum of the ledger equals the balance throughout, and every
 *     script declares the keys it touches (the MONITOR audit);
 *   usage_and_sweeper: N/MiB and N/s prices settled from the metering
 *     record (reserved at the cap, the rest refunded), and a reservation
 *     past hold_timeout settled at its cap by the sweeper while the call
 *     still runs, the call's own late settlement then doing nothing;
 *   durable_and_reconciled: with appendonly yes and appendfsync always,
 *     Redis killed with SIGKILL and restarted loses no entry; the copier
 *     puts every entry in the database; the reconcile route and the
 *     cloudbase-wallet CLI agree, and name the differences made by hand
 *     (a balance moved without an entry, an entry lost from Redis); usage
 *     totals by day and route from the copy, and bad ranges refused;
 *   ledger_trimmed_once_copied: with redis_ledger_keep 10, Redis keeps
 *     only the newest 10 entries once the database has them; the
 *     transactions pages are whole across the cut (old entries read back
 *     from the database, fields intact) and the reconciliation reads the
 *     trimmed part from the database and still agrees;
 *   lost_answer_voided: Redis kept busy (a script that runs 450 ms) past
 *     the gateway's command timeout while a metered call reserves: the
 *     call answers 503 and never reaches the upstream; Redis then runs the
 *     late reserve, which charges it, and the gateway's void gives the
 *     credit back (a refund entry carrying the usage entry's decision), so
 *     the balance is unchanged;
 *   low_balance_alerts_once_per_crossing: a Discord receiver gets one
 *     alert when a charge takes the balance below the threshold, none for
 *     the debits while it stays below, and one more only after a top-up
 *     lifted it and a metered call took it below again;
 *   exact_across_two_nodes: two gateways on one Redis, many concurrent
 *     metered calls of cost 1 (all with one client X-Request-Id) against a
 *     balance of 1,000: exactly 1,000 reach the upstream (counted there),
 *     the rest get 402, the balance ends at 0 and equals the ledger's sum.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "harness.h"
#include "notify_receivers.h"
#include "script_audit.h"
#include "servers.h"

#define ADMIN_KEY "it-admin-key-0123456789abcdef"
#define WALLET "/api/workspaces/demo/wallet"
#define ADMIN "X-API-Key: " ADMIN_KEY

static char api_key[128];

#define PER_CALL_METER "  meter /v1/test/proxy/* 1/call\n"
#define USAGE_METERS \
    "  meter /v1/test/proxy/big 1/MiB cap=10\n" \
    "  meter /v1/test/proxy/slow 1/s cap=5\n" \
    "  hold_timeout 1s\n" \
    "  sweep_interval 100ms\n"

static const char *wallet_site(const char *meters)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  admin_key file:%s/admin.key\n"
             "</CloudBasePlugin>\n"
             "<CloudBasePlugin wallet>\n"
             "  currency VND\n"
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, meters);
    return site;
}

/* patient: Redis commands may take 2 s instead of the harness's 200 ms
 * (with appendfsync always, a write waits for the disk, which a loaded
 * machine can make slower than 200 ms: a 503 there is right, but it is not
 * what a durability test is about). */
static void start_with(const char *meters, int patient)
{
    static char site[8400];
    const char *base, *timeout;
    it_setup();
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    base = wallet_site(meters);
    timeout = strstr(base, " timeout=200ms ");
    ck_assert_ptr_nonnull(timeout);
    if (patient)
        snprintf(site, sizeof(site), "%.*s timeout=2000ms%s", (int)(timeout - base), base,
                 timeout + strlen(" timeout=200ms"));
    else
        snprintf(site, sizeof(site), "%s", base);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(const char *meters)
{
    start_with(meters, 0);
}

/* A request with up to two header lines; checks the status, returns the JSON. */
static json_t *call(const char *method, const char *path, const char *h1, const char *h2,
                    const char *body, long expect)
{
    const char *headers[4] = {"Content-Type: application/json", h1, h1 ? h2 : NULL, NULL};
    it_response r;
    json_t *v;
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status == expect, "%s %s %s: %ld, expected %ld: %s", method, path,
                  body ? body : "", r.status, expect, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r.body);
    it_free(&r);
    return v;
}

/* A TOSE error: success false and an error that says `words`. */
static void expect_error(const char *method, const char *path, const char *h1, const char *h2,
                         const char *body, long status, const char *words)
{
    json_t *v = call(method, path, h1, h2, body, status);
    const char *error = json_string_value(json_object_get(v, "error"));
    ck_assert_msg(json_is_false(json_object_get(v, "success")), "%s: not a TOSE error", body);
    ck_assert_msg(error && strstr(error, words), "%s %s: error '%s' lacks '%s'", path,
                  body ? body : "", error, words);
    json_decref(v);
}

/* The balance, once the wallet answers: a process whose Redis breaker is
 * still open after a test made Redis slow answers 503 for a moment. */
static long long balance(void)
{
    const char *headers[] = {api_key, NULL};
    long long deadline = it_now_ms() + 5000, b;
    json_t *v, *data;
    it_response r;
    for (;;) {
        it_request("GET", WALLET, headers, NULL, &r);
        if (r.status != 503 || it_now_ms() >= deadline)
            break;
        it_free(&r);
        usleep(50000);
    }
    ck_assert_msg(r.status == 200, "GET " WALLET ": %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    it_free(&r);
    data = json_object_get(v, "data");
    ck_assert_msg(json_is_true(json_object_get(v, "success")), "not a balance");
    ck_assert_str_eq(json_string_value(json_object_get(data, "currency")), "VND");
    b = json_integer_value(json_object_get(data, "balance"));
    json_decref(v);
    return b;
}

/* Settlement runs after the answer went out (after_response), so a client
 * may read the balance before it: poll to a deadline. */
static void expect_balance(long long want)
{
    long long deadline = it_now_ms() + 5000, got;
    while ((got = balance()) != want && it_now_ms() < deadline)
        usleep(20000);
    ck_assert_msg(got == want, "balance %lld, expected %lld", got, want);
}

static void create_api_key(void)
{
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, "X-Device-Id: it-device",
                             NULL};
    it_response r;
    json_t *v;
    it_request("POST", "/auth/v1/admin/apikeys", headers, "{\"name\":\"wallet\"}", &r);
    ck_assert_msg(r.status == 201, "key: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    snprintf(api_key, sizeof(api_key), "X-API-Key: %s",
             json_string_value(json_object_get(v, "key")));
    json_decref(v);
    it_free(&r);
}

/* Straight from Redis: the balance, the sum of every ledger entry, the
 * number of entries and of open reservations. */
static void ledger_totals(long long *bal, long long *sum, long long *entries, long long *holds)
{
    redisContext *c = redisConnect("127.0.0.1", it.redis_port);
    redisReply *r;
    ck_assert_msg(c && !c->err, "cannot reach Redis");
    r = redisCommand(c, "HGET cb:{demo}:wallet balance");
    ck_assert_msg(r->type != REDIS_REPLY_ERROR, "HGET balance: %s", r->str);
    *bal = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    freeReplyObject(r);
    r = redisCommand(c, "XRANGE cb:{demo}:wallet:ledger - +");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    *sum = 0;
    *entries = (long long)r->elements;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *fields = r->element[i]->element[1];
        for (size_t j = 0; j + 1 < fields->elements; j += 2)
            if (strcmp(fields->element[j]->str, "amount") == 0)
                *sum += atoll(fields->element[j + 1]->str);
    }
    freeReplyObject(r);
    r = redisCommand(c, "HLEN cb:{demo}:wallet:holds");
    *holds = r->integer;
    freeReplyObject(r);
    redisFree(c);
}

/* Polled to a deadline: the last calls' settlements may still be running. */
static void assert_ledger_matches(long long expect_balance)
{
    long long bal, sum, entries, holds, deadline = it_now_ms() + 5000;
    ledger_totals(&bal, &sum, &entries, &holds);
    while ((bal != expect_balance || sum != bal || holds != 0) && it_now_ms() < deadline) {
        usleep(20000);
        ledger_totals(&bal, &sum, &entries, &holds);
    }
    ck_assert_msg(bal == expect_balance && sum == bal && holds == 0,
                  "balance %lld (expected %lld), ledger sum %lld over %lld entries, %lld open "
                  "holds", bal, expect_balance, sum, entries, holds);
}

static void topup(const char *idem, long long amount, long expect, long long expect_balance)
{
    char body[64], header[128];
    json_t *v;
    snprintf(body, sizeof(body), "{\"amount\": %lld}", amount);
    snprintf(header, sizeof(header), "Idempotency-Key: %s", idem);
    v = call("POST", WALLET "/topup", ADMIN, header, body, expect);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "balance")),
                     expect_balance);
    json_decref(v);
}

static void bad_input(void)
{
    static const struct { const char *body, *words; } amounts[] = {
        {"{\"amount\": -5}", "positive"},
        {"{\"amount\": 0}", "at least 1"},
        {"{\"amount\": 1.5}", "whole number"},
        {"{\"amount\": 1e3}", "whole number"},
        {"{\"amount\": 9007199254740992}", "at most 9007199254740991"},
        {"{\"amount\": 99999999999999999999999}", "at most 9007199254740991"},
        {"{\"amount\": \"100\"}", "not a string"},
        {"{\"amount\": null}", "must be a number"},
        {"{\"amount\": 007}", "one JSON object"},
        {"{\"amount\": 5, \"amount\": 6}", "each key once"},
        {"{}", "amount is required"},
        {"[100]", "one JSON object"},
        {"amount=100", "one JSON object"},
    };
    long long before = balance();
    for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
        expect_error("POST", WALLET "/topup", ADMIN, "Idempotency-Key: bad-input",
                     amounts[i].body, 400, amounts[i].words);
        expect_error("POST", WALLET "/charge", ADMIN, NULL, amounts[i].body, 400,
                     amounts[i].words);
    }
    expect_error("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 1, \"description\": 7}",
                 400, "description must be a string");
    expect_error("PUT", WALLET "/alert", api_key, NULL, "{\"threshold\": -1}", 400, "positive");
    expect_error("PUT", WALLET "/alert", api_key, NULL, "{\"threshold\": \"10\"}", 400,
                 "not a string");
    /* who may move money, and where */
    expect_error("POST", WALLET "/topup", api_key, NULL, "{\"amount\": 5}", 403, "admin key");
    expect_error("POST", WALLET "/charge", api_key, NULL, "{\"amount\": 5}", 403, "admin key");
    expect_error("GET", WALLET "/reconcile", api_key, NULL, NULL, 403, "admin key");
    expect_error("POST", "/api/workspaces/other/wallet/topup", ADMIN, NULL, "{\"amount\": 5}",
                 403, "workspace");
    expect_error("GET", "/api/workspaces/other/wallet", api_key, NULL, NULL, 403, "workspace");
    expect_error("GET", WALLET, "Authorization: Bearer test-user-bob", NULL, NULL, 403,
                 "X-API-Key");
    expect_error("GET", WALLET, NULL, NULL, NULL, 401, "");
    expect_error("POST", WALLET "/topup", ADMIN, "Idempotency-Key: has space", "{\"amount\": 5}",
                 400, "Idempotency-Key");
    /* paging */
    expect_error("GET", WALLET "/transactions?limit=0", api_key, NULL, NULL, 400, "limit");
    expect_error("GET", WALLET "/transactions?limit=51", api_key, NULL, NULL, 400,
                 "from 1 to 50");
    expect_error("GET", WALLET "/transactions?limit=abc", api_key, NULL, NULL, 400, "limit");
    expect_error("GET", WALLET "/transactions?limit=", api_key, NULL, NULL, 400, "limit");
    expect_error("GET", WALLET "/transactions?page=0", api_key, NULL, NULL, 400, "page");
    expect_error("GET", WALLET "/transactions?page=-1&limit=5", api_key, NULL, NULL, 400,
                 "page");
    ck_assert_int_eq(balance(), before);
    assert_ledger_matches(before);
}

static json_t *newest_entries(const char *query)
{
    char path[256];
    json_t *v;
    snprintf(path, sizeof(path), WALLET "/transactions%s", query);
    v = call("GET", path, api_key, NULL, NULL, 200);
    return v;
}

static void check_entry(json_t *list, size_t i, const char *type, long long amount,
                        long long after, const char *route)
{
    json_t *e = json_array_get(list, i);
    ck_assert_msg(e, "no entry %zu", i);
    ck_assert_str_eq(json_string_value(json_object_get(e, "type")), type);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "amount")), amount);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "balance_after")), after);
    ck_assert_str_eq(json_string_value(json_object_get(e, "route")), route);
    ck_assert(json_string_length(json_object_get(e, "request_id")) > 0);
    ck_assert_msg(strlen(json_string_value(json_object_get(e, "created_at"))) == 24,
                  "created_at: %s", json_string_value(json_object_get(e, "created_at")));
}

START_TEST(api_and_bad_input)
{
    json_t *v, *list;
    it_response r;
    srv_audit *audit;
    char why[512];
    int scripts, commands, violations;
    start(PER_CALL_METER);
    create_api_key();
    ck_assert_ptr_nonnull(audit = srv_audit_start(it.redis_port));
    expect_balance(0);
    /* a top-up counts once per Idempotency-Key; the key with another amount: 409 */
    topup("topup-1", 500, 201, 500);
    topup("topup-1", 500, 200, 500);
    expect_error("POST", WALLET "/topup", ADMIN, "Idempotency-Key: topup-1", "{\"amount\": 600}",
                 409, "Idempotency-Key");
    expect_balance(500);
    bad_input();
    /* a manual charge, with a description; one larger than the balance: 402 */
    v = call("POST", WALLET "/charge", ADMIN, "Idempotency-Key: charge-1",
             "{\"amount\": 200, \"description\": \"support fee\"}", 201);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "balance")),
                     300);
    json_decref(v);
    expect_error("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 301}", 402, "balance");
    expect_error("POST", WALLET "/charge", ADMIN, "Idempotency-Key: topup-1", "{\"amount\": 500}",
                 409, "Idempotency-Key");
    /* the alert threshold is kept */
    json_decref(call("PUT", WALLET "/alert", api_key, NULL, "{\"threshold\": 100}", 200));
    v = call("GET", WALLET, api_key, NULL, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"),
                                                        "alert_threshold")), 100);
    json_decref(v);
    /* a metered call: reserved, settled at 1; a refused answer is refunded */
    json_decref(call("GET", "/v1/test/proxy/echo?m=paid", NULL, NULL, NULL, 200));
    expect_balance(299);
    it_request("GET", "/v1/test/proxy/status?code=404", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    it_free(&r);
    expect_balance(299);
    json_decref(call("GET", "/v1/test/echo", NULL, NULL, NULL, 200)); /* free */
    expect_balance(299);
    /* newest first: refund +1, usage -1, paid usage -1, charge, top-up */
    v = newest_entries("?limit=3");
    list = json_object_get(json_object_get(v, "data"), "transactions");
    ck_assert_int_eq(json_array_size(list), 3);
    check_entry(list, 0, "refund", 1, 299, "/v1/test/proxy/status");
    check_entry(list, 1, "usage", -1, 298, "/v1/test/proxy/status");
    check_entry(list, 2, "usage", -1, 299, "/v1/test/proxy/echo");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "total")), 5);
    json_decref(v);
    v = newest_entries("?limit=3&page=2");
    list = json_object_get(json_object_get(v, "data"), "transactions");
    ck_assert_int_eq(json_array_size(list), 2);
    check_entry(list, 0, "charge", -200, 300, WALLET "/charge");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "description")),
                     "support fee");
    check_entry(list, 1, "topup", 500, 500, WALLET "/topup");
    json_decref(v);
    v = newest_entries("?page=3&limit=3");
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(v, "data"),
                                                     "transactions")), 0);
    json_decref(v);
    assert_ledger_matches(299);
    /* short: 402 in the route's dialect, the upstream never called */
    json_decref(call("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 299}", 201));
    v = call("GET", "/v1/test/proxy/echo?marker=broke1", NULL, NULL, NULL, 402);
    ck_assert_str_eq(json_string_value(json_object_get(v, "code")),
                     "WALLET_INSUFFICIENT_BALANCE");
    json_decref(v);
    topup("topup-2", 1, 201, 1);
    it_upstream_control("marker=ok1", "GET", "/v1/test/proxy/echo?marker=ok1", NULL, NULL);
    it_assert_upstream_never_saw("marker=broke1");
    expect_balance(0);
    assert_ledger_matches(0);
    /* every script declared the keys it touched (reserve, settle, post) */
    violations = srv_audit_finish(audit, &scripts, &commands, why, sizeof(why));
    ck_assert_msg(violations == 0, "%d undeclared keys: %s", violations, why);
    ck_assert_int_ge(scripts, 10);
    /* Redis down: metered routes fail closed with 503, free routes answer */
    it_redis_kill();
    v = call("GET", "/v1/test/proxy/echo?marker=down1", NULL, NULL, NULL, 503);
    ck_assert_msg(strstr(json_string_value(json_object_get(v, "message")),
                         "wallet, which cannot be reached"), "message: %s",
                  json_string_value(json_object_get(v, "message")));
    json_decref(v);
    json_decref(call("GET", "/v1/test/echo", NULL, NULL, NULL, 200));
    expect_error("GET", WALLET, api_key, NULL, NULL, 503, "cannot be reached");
    it_teardown();
}
END_TEST

/* Usage prices settled from the metering record, and the sweeper. */
START_TEST(usage_and_sweeper)
{
    it_response r;
    json_t *v, *list;
    start(USAGE_METERS);
    create_api_key();
    topup("usage", 100, 201, 100);
    /* 3 MiB out at 1/MiB: 10 reserved, 3 paid, 7 refunded */
    it_request("GET", "/v1/test/proxy/big?bytes=3145728", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.body_len, 3145728);
    it_free(&r);
    expect_balance(97);
    /* 0.3 s at 1/s: rounded up to 1 */
    it_request("GET", "/v1/test/proxy/slow?ms=300", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    expect_balance(96);
    /* 3 s against hold_timeout 1s: the sweeper settles the whole cap (5)
     * while the call runs, and the call's own settlement (3 s: 3, a refund
     * of 2) then finds nothing to do */
    it_request("GET", "/v1/test/proxy/slow?ms=3000", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    expect_balance(91);
    v = newest_entries("?limit=2");
    list = json_object_get(json_object_get(v, "data"), "transactions");
    check_entry(list, 0, "usage", -5, 91, "/v1/test/proxy/slow");
    check_entry(list, 1, "refund", 4, 96, "/v1/test/proxy/slow");
    json_decref(v);
    assert_ledger_matches(91);
    it_teardown();
}
END_TEST

/* A Redis command's reply as text (integers and status too). */
static char *redis_text(const char *command)
{
    redisContext *c = redisConnect("127.0.0.1", it.redis_port);
    redisReply *r;
    char *out, number[32];
    ck_assert_msg(c && !c->err, "cannot reach Redis");
    r = redisCommand(c, command);
    ck_assert_msg(r && r->type != REDIS_REPLY_ERROR, "%s: %s", command, r ? r->str : "?");
    snprintf(number, sizeof(number), "%lld", r->type == REDIS_REPLY_INTEGER ? r->integer : 0);
    out = r->type == REDIS_REPLY_INTEGER ? strdup(number) : strdup(r->str ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
    return out;
}

/* appendonly yes and appendfsync always on the running Redis, once its
 * first rewrite is done (before it, writes are not yet in the file). */
static void redis_persist_every_write(void)
{
    long long deadline = it_now_ms() + 10000;
    free(redis_text("CONFIG SET appendfsync always"));
    free(redis_text("CONFIG SET appendonly yes"));
    for (;;) {
        char *info = redis_text("INFO persistence");
        int done = strstr(info, "aof_enabled:1") && strstr(info, "aof_rewrite_in_progress:0") &&
                   strstr(info, "aof_rewrite_scheduled:0");
        free(info);
        if (done)
            break;
        ck_assert_msg(it_now_ms() < deadline, "Redis did not finish its AOF rewrite");
        usleep(20000);
    }
}

/* SIGKILL, then the same port and directory with the AOF loaded. */
static void redis_kill9_and_restart(void)
{
    char port[16];
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "yes", "--appendfsync", "always", "--dir", it.dir, NULL};
    char log[400];
    snprintf(port, sizeof(port), "%d", it.redis_port);
    snprintf(log, sizeof(log), "%s/redis-restarted.log", it.dir);
    long long deadline = it_now_ms() + 10000;
    it_redis_kill(); /* SIGKILL: no shutdown, no last write */
    it.redis_pid = srv_spawn(argv, log);
    ck_assert_msg(srv_wait_port(it.redis_port, 5000), "redis-server did not come back");
    /* it takes connections while it loads the AOF, answering -LOADING */
    for (;;) {
        redisContext *c = redisConnect("127.0.0.1", it.redis_port);
        redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
        int loaded = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (loaded)
            return;
        ck_assert_msg(it_now_ms() < deadline, "redis-server did not finish loading its AOF");
        usleep(20000);
    }
}

/* The reconciliation through the admin route, polled until the copier has
 * caught up with `entries` entries (or the deadline); right after Redis
 * came back the gateway may still answer 503 for a moment (its breaker). */
static json_t *reconciled(long long entries)
{
    const char *headers[] = {ADMIN, NULL};
    long long deadline = it_now_ms() + 10000;
    for (;;) {
        it_response r;
        json_t *v = NULL, *data;
        it_request("GET", WALLET "/reconcile", headers, NULL, &r);
        ck_assert_msg(r.status == 200 || (r.status == 503 && it_now_ms() < deadline),
                      "reconcile: %ld %s", r.status, r.body);
        if (r.status == 200)
            v = json_loads(r.body, 0, NULL);
        it_free(&r);
        data = json_object_get(v, "data");
        if (v && ((json_integer_value(json_object_get(data, "copied")) == entries &&
                   json_integer_value(json_object_get(data, "entries")) == entries) ||
                  it_now_ms() > deadline))
            return v;
        json_decref(v);
        usleep(50000);
    }
}

/* The CLI's report and exit status. */
static int run_cli(char *out, size_t size)
{
    const char *cli = getenv("CB_WALLET_CLI");
    char command[2048];
    FILE *f;
    size_t n;
    ck_assert_msg(cli && *cli, "CB_WALLET_CLI is not set (scripts/test.sh sets it)");
    snprintf(command, sizeof(command),
             "'%s' --redis redis://127.0.0.1:%d --database '%s' --env demo reconcile 2>&1",
             cli, it.redis_port, it_database_value());
    f = popen(command, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    return WEXITSTATUS(pclose(f));
}

/* Entries written, Redis killed with SIGKILL (AOF, fsync always) and
 * restarted: nothing lost; the database's copy agrees; a difference made
 * by hand is named by the route and the CLI. */
START_TEST(durable_and_reconciled)
{
    const char *headers[] = {NULL};
    long statuses[40];
    int ports[1] = {it.http_port};
    long long bal, sum, entries, holds;
    char report[8192];
    json_t *v, *data;
    start_with(PER_CALL_METER "  copy_interval 100ms\n", 1);
    ports[0] = it.http_port;
    create_api_key();
    redis_persist_every_write();
    topup("durable", 1000, 201, 1000);
    it_parallel(ports, 1, "GET", "/v1/test/proxy/echo?durable=1", headers, NULL, 40, 8,
                statuses);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(statuses[i], 200);
    json_decref(call("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 10}", 201));
    assert_ledger_matches(950);
    redis_kill9_and_restart();
    ledger_totals(&bal, &sum, &entries, &holds);
    ck_assert_msg(bal == 950 && sum == 950 && entries == 42 && holds == 0,
                  "after SIGKILL: balance %lld, ledger sum %lld over %lld entries, %lld holds",
                  bal, sum, entries, holds);
    /* every entry reached the database, and it agrees with Redis */
    v = reconciled(42);
    data = json_object_get(v, "data");
    ck_assert_msg(json_is_true(json_object_get(data, "ok")) &&
                      json_integer_value(json_object_get(data, "copied")) == 42 &&
                      json_integer_value(json_object_get(data, "not_yet_copied")) == 0 &&
                      json_integer_value(json_object_get(data, "ledger_sum")) == 950,
                  "reconcile: %s", json_dumps(data, 0));
    json_decref(v);
    ck_assert_msg(run_cli(report, sizeof(report)) == 0 && strstr(report, "\"ok\":true"),
                  "cli: %s", report);
    /* usage over the copy: today's 40 calls on one route */
    v = call("GET", WALLET "/usage", api_key, NULL, NULL, 200);
    data = json_object_get(v, "data");
    ck_assert_msg(json_integer_value(json_object_get(data, "cost")) == 40 &&
                      json_integer_value(json_object_get(data, "calls")) == 40 &&
                      json_array_size(json_object_get(data, "by_day")) == 1 &&
                      json_integer_value(json_object_get(json_array_get(
                          json_object_get(data, "by_route"), 0), "cost")) == 40 &&
                      strcmp(json_string_value(json_object_get(json_array_get(
                          json_object_get(data, "by_route"), 0), "route")),
                          "/v1/test/proxy/echo") == 0,
                  "usage: %s", json_dumps(data, 0));
    json_decref(v);
    v = call("GET", WALLET "/usage?from=2020-01-01&to=2020-01-31", api_key, NULL, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "calls")), 0);
    json_decref(v);
    expect_error("GET", WALLET "/usage?from=2026-02-30", api_key, NULL, NULL, 400, "YYYY-MM-DD");
    expect_error("GET", WALLET "/usage?from=2026-03-02&to=2026-03-01", api_key, NULL, NULL, 400,
                 "after to");
    expect_error("GET", WALLET "/usage?from=1/2/2026", api_key, NULL, NULL, 400, "YYYY-MM-DD");
    /* differences made by hand are named: a balance moved without an
     * entry, and the last entry lost from Redis but kept in the database */
    free(redis_text("HINCRBY cb:{demo}:wallet balance 5"));
    free(redis_text("XDEL cb:{demo}:wallet:ledger 0-42"));
    v = call("GET", WALLET "/reconcile", ADMIN, NULL, NULL, 200);
    data = json_object_get(v, "data");
    {
        char *text = json_dumps(json_object_get(data, "differences"), 0);
        ck_assert_msg(json_is_false(json_object_get(data, "ok")) &&
                          strstr(text, "the balance is 955 but the ledger sums to 960 "
                                       "(difference -5)") &&
                          strstr(text, "entry 42 (charge -10) is in the database but not in "
                                       "Redis: Redis lost it"),
                      "reconcile: %s", text);
        free(text);
    }
    json_decref(v);
    ck_assert_msg(run_cli(report, sizeof(report)) == 1 && strstr(report, "Redis lost it"),
                  "cli: %s", report);
    it_teardown();
}
END_TEST

/* The ids of a transactions page, newest first, as "40,39,..."; checks
 * every entry has its fields. */
static void page_ids(int page, int limit, char *out, size_t size)
{
    char path[128];
    json_t *v, *list, *e;
    size_t i, used = 0;
    snprintf(path, sizeof(path), WALLET "/transactions?page=%d&limit=%d", page, limit);
    v = call("GET", path, api_key, NULL, NULL, 200);
    list = json_object_get(json_object_get(v, "data"), "transactions");
    out[0] = '\0';
    json_array_foreach(list, i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        ck_assert_msg(type && json_is_integer(json_object_get(e, "amount")) &&
                          json_is_integer(json_object_get(e, "balance_after")) &&
                          json_string_value(json_object_get(e, "created_at")) &&
                          json_string_value(json_object_get(e, "request_id")),
                      "entry lacks a field: %s", json_dumps(e, 0));
        if (strcmp(type, "usage") == 0)
            ck_assert_msg(json_string_value(json_object_get(e, "route")) &&
                              strcmp(json_string_value(json_object_get(e, "route")),
                                     "/v1/test/proxy/echo") == 0 &&
                              json_integer_value(json_object_get(e, "amount")) == -1,
                          "usage entry: %s", json_dumps(e, 0));
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "",
                                 json_string_value(json_object_get(e, "id")));
    }
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "data"), "total")),
                     40);
    json_decref(v);
}

/* Copied entries leave Redis but for the newest redis_ledger_keep; pages
 * and the reconciliation read the rest from the database. */
START_TEST(ledger_trimmed_once_copied)
{
    const char *headers[] = {NULL};
    long statuses[39];
    int ports[1];
    long long deadline;
    char *text;
    char ids[512];
    json_t *v, *data;
    start(PER_CALL_METER "  copy_interval 100ms\n  redis_ledger_keep 10\n");
    ports[0] = it.http_port;
    create_api_key();
    topup("trim", 1000, 201, 1000);
    it_parallel(ports, 1, "GET", "/v1/test/proxy/echo?trim=1", headers, NULL, 39, 4, statuses);
    for (int i = 0; i < 39; i++)
        ck_assert_int_eq(statuses[i], 200);
    /* 40 entries: once all are copied, 1..30 leave Redis */
    deadline = it_now_ms() + 10000;
    while (((text = redis_text("HGET cb:{demo}:wallet trimmed")) == NULL ||
            strcmp(text, "30") != 0) && it_now_ms() < deadline) {
        free(text);
        usleep(50000);
    }
    ck_assert_msg(text && strcmp(text, "30") == 0, "trimmed through %s, not 30",
                  text ? text : "(nothing)");
    free(text);
    text = redis_text("XLEN cb:{demo}:wallet:ledger");
    ck_assert_msg(text && strcmp(text, "10") == 0, "Redis keeps %s entries, not 10", text);
    free(text);
    /* a page across the cut, a page wholly in the database, the last page */
    page_ids(1, 15, ids, sizeof(ids));
    ck_assert_str_eq(ids, "40,39,38,37,36,35,34,33,32,31,30,29,28,27,26");
    page_ids(2, 15, ids, sizeof(ids));
    ck_assert_str_eq(ids, "25,24,23,22,21,20,19,18,17,16,15,14,13,12,11");
    page_ids(3, 15, ids, sizeof(ids));
    ck_assert_str_eq(ids, "10,9,8,7,6,5,4,3,2,1");
    v = reconciled(40);
    data = json_object_get(v, "data");
    ck_assert_msg(json_is_true(json_object_get(data, "ok")) &&
                      json_integer_value(json_object_get(data, "entries")) == 40 &&
                      json_integer_value(json_object_get(data, "trimmed_from_redis")) == 30 &&
                      json_integer_value(json_object_get(data, "ledger_sum")) == 961 &&
                      json_integer_value(json_object_get(data, "balance")) == 961,
                  "reconcile: %s", json_dumps(data, 0));
    json_decref(v);
    it_teardown();
}
END_TEST

/* The newest two ledger entries' type, amount and decision, as
 * "usage -1 D / refund 1 D" (newest last). */
static void last_two_entries(char *out, size_t size)
{
    redisContext *c = redisConnect("127.0.0.1", it.redis_port);
    redisReply *r;
    size_t used = 0;
    ck_assert_msg(c && !c->err, "cannot reach Redis");
    r = redisCommand(c, "XREVRANGE cb:{demo}:wallet:ledger + - COUNT 2");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    out[0] = '\0';
    for (size_t i = r->elements; i-- > 0;) {
        redisReply *fields = r->element[i]->element[1];
        const char *type = "?", *amount = "?", *decision = "?";
        for (size_t j = 0; j + 1 < fields->elements; j += 2) {
            const char *k = fields->element[j]->str, *v = fields->element[j + 1]->str;
            if (strcmp(k, "type") == 0)
                type = v;
            else if (strcmp(k, "amount") == 0)
                amount = v;
            else if (strcmp(k, "decision") == 0)
                decision = v;
        }
        used += (size_t)snprintf(out + used, size - used, "%s%s %s %s", used ? " / " : "",
                                 type, amount, decision);
    }
    freeReplyObject(r);
    redisFree(c);
}

/* Keeps Redis busy for `arg` (a string of microseconds) with one script. */
static void *redis_busy(void *arg)
{
    redisContext *c = redisConnect("127.0.0.1", it.redis_port);
    redisReply *r;
    if (!c || c->err)
        return NULL;
    r = redisCommand(c, "EVAL %s 0 %s",
                     "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] "
                     "while true do local n = redis.call('TIME') "
                     "if n[1] * 1000000 + n[2] - s > tonumber(ARGV[1]) then break end end "
                     "return 1", (const char *)arg);
    freeReplyObject(r);
    redisFree(c);
    return NULL;
}

/* A reserve whose answer is lost: 503, and its credit comes back. */
START_TEST(lost_answer_voided)
{
    const char *headers[] = {NULL};
    it_response r;
    char entries[512], usage_decision[64] = "", *log;
    long long deadline;
    pthread_t busy;
    start(PER_CALL_METER "  sweep_interval 100ms\n");
    create_api_key();
    topup("lost", 10, 201, 10);
    it_request("GET", "/v1/test/proxy/echo?warm=1", headers, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    expect_balance(9);
    /* Redis busy 450 ms: the gateway gives up after its 200 ms timeout,
     * and Redis runs the reserve when the busy script ends; the gateway's
     * breaker (retry=300ms) holds the void back until after that */
    ck_assert_int_eq(pthread_create(&busy, NULL, redis_busy, "450000"), 0);
    usleep(50000);
    it_request("GET", "/v1/test/proxy/echo?lost=1", headers, NULL, &r);
    ck_assert_msg(r.status == 503 && strstr(r.body, "wallet"), "lost answer: %ld %s", r.status,
                  r.body);
    it_free(&r);
    pthread_join(busy, NULL);
    /* the late script charged it; the void gives it back (retried by the
     * process's next requests: the balance asked for through the gateway) */
    deadline = it_now_ms() + 10000;
    for (;;) {
        const char *key_headers[] = {api_key, NULL};
        it_request("GET", WALLET, key_headers, NULL, &r); /* 503 while the breaker is open */
        it_free(&r);
        last_two_entries(entries, sizeof(entries));
        if ((strncmp(entries, "usage -1 ", 9) == 0 && strstr(entries, " / refund 1 ")) ||
            it_now_ms() > deadline)
            break;
        usleep(50000);
    }
    if (!(sscanf(entries, "usage -1 %63s", usage_decision) == 1 &&
          strlen(usage_decision) == 32 && strstr(entries, " / refund 1 ") &&
          strcmp(strstr(entries, " / refund 1 ") + 12, usage_decision) == 0)) {
        char *error_log = it_error_log();
        ck_abort_msg("the newest entries are not the lost call's usage and its refund: %s\n%s",
                     entries, error_log);
    }
    assert_ledger_matches(9);
    log = it_read_file("upstream.log");
    ck_assert_msg(!strstr(log, "lost=1"), "the refused call reached the upstream");
    free(log);
    /* the wallet works on, once each process's Redis breaker closed again
     * (a 503 until then costs nothing) */
    deadline = it_now_ms() + 5000;
    do {
        it_request("GET", "/v1/test/proxy/echo?after=1", headers, NULL, &r);
        it_free(&r);
    } while (r.status == 503 && it_now_ms() < deadline && usleep(50000) == 0);
    ck_assert_int_eq(r.status, 200);
    expect_balance(8);
    assert_ledger_matches(8);
    it_teardown();
}
END_TEST

/* Low-balance alerts to Discord: one when the balance goes below the
 * threshold (by a charge, then by a metered call), none while it stays
 * below, again only after a top-up lifted it. */
START_TEST(low_balance_alerts_once_per_crossing)
{
    char meters[1024];
    const char *low = "below the alert threshold";
    it_setup();
    nr_start_receivers();
    snprintf(meters, sizeof(meters),
             PER_CALL_METER
             "  notify discord ops http://127.0.0.1:%d/discord/ops private=127.0.0.0/8\n"
             "  notify_group_window 100ms\n", nr_receiver_port);
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    ck_assert_msg(it_httpd_start(it_write_config("httpd.conf", "event", wallet_site(meters))),
                  "httpd did not start:\n%s", it_error_log());
    create_api_key();
    json_decref(call("PUT", WALLET "/alert", api_key, NULL, "{\"threshold\": 100}", 200));
    topup("alerts", 150, 201, 150);
    json_decref(call("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 30}", 201)); /* 120 */
    json_decref(call("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 30}", 201)); /* 90 */
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", NULL,
                                        (const char *const[]){"The balance is 90 VND", NULL}, 1),
                     1);
    /* still below: no more alerts */
    json_decref(call("POST", WALLET "/charge", ADMIN, NULL, "{\"amount\": 10}", 201)); /* 80 */
    json_decref(call("GET", "/v1/test/proxy/echo?alerts=1", NULL, NULL, NULL, 200));   /* 79 */
    /* lifted to 101, then metered calls take it to 100 (not below) and 99 */
    topup("alerts-2", 22, 201, 101);
    json_decref(call("GET", "/v1/test/proxy/echo?alerts=2", NULL, NULL, NULL, 200));
    json_decref(call("GET", "/v1/test/proxy/echo?alerts=3", NULL, NULL, NULL, 200));
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", NULL,
                                        (const char *const[]){"The balance is 99 VND", NULL}, 1),
                     1);
    ck_assert_int_eq(nr_occurrences("/discord/ops", low), 2);
    ck_assert_int_eq(nr_occurrences("/discord/ops", "threshold of 100 VND"), 2);
    it_teardown();
}
END_TEST

/* Many calls at once, fewer than the balance allows, across two nodes. */
START_TEST(exact_across_two_nodes)
{
    const char *total_text = getenv("CB_IT_WALLET_CALLS");
    int total = total_text ? atoi(total_text) : 10000;
    const char *headers[] = {"X-Request-Id: one-id-for-every-call", NULL};
    long *statuses;
    int ports[2], paid = 0, refused = 0;
    char *log;
    int reached = 0;
    start(PER_CALL_METER);
    create_api_key();
    ck_assert_msg(total >= 1000, "CB_IT_WALLET_CALLS must be at least 1000");
    statuses = calloc((size_t)total, sizeof(*statuses));
    topup("burst", 1000, 201, 1000);
    ports[0] = it.http_port;
    ports[1] = srv_free_port();
    ck_assert_msg(it_second_httpd_start(wallet_site(PER_CALL_METER), ports[1]), "second httpd did not start");
    it_parallel(ports, 2, "GET", "/v1/test/proxy/echo?burst=1", headers, NULL, total, 64,
                statuses);
    for (int i = 0; i < total; i++) {
        paid += statuses[i] == 200;
        refused += statuses[i] == 402;
    }
    log = it_read_file("upstream.log");
    for (const char *s = log; (s = strstr(s, "burst=1")); s += 7)
        reached++;
    free(log);
    free(statuses);
    ck_assert_msg(paid == 1000 && refused == total - 1000 && reached == 1000,
                  "%d answered 200, %d answered 402, %d reached the upstream, of %d", paid,
                  refused, reached, total);
    expect_balance(0);
    assert_ledger_matches(0);
    it_teardown();
}
END_TEST

Suite *wallet_suite(void)
{
    Suite *s = suite_create("wallet");
    TCase *api = tcase_create("api"), *usage = tcase_create("usage");
    TCase *exact = tcase_create("exact"), *lost = tcase_create("lost");
    tcase_set_timeout(api, 120);
    tcase_add_test(api, api_and_bad_input);
    tcase_set_timeout(usage, 120);
    tcase_add_test(usage, usage_and_sweeper);
    tcase_add_test(usage, durable_and_reconciled);
    tcase_add_test(usage, ledger_trimmed_once_copied);
    tcase_add_test(usage, low_balance_alerts_once_per_crossing);
    suite_add_tcase(s, usage);
    tcase_set_timeout(lost, 60);
    tcase_add_test(lost, lost_answer_voided);
    suite_add_tcase(s, lost);
    tcase_set_timeout(exact, 300);
    tcase_add_test(exact, exact_across_two_nodes);
    suite_add_tcase(s, api);
    suite_add_tcase(s, exact);
    return s;
}
