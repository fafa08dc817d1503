/*
 * test_ratelimit.c: rate limits (CloudBaseRateLimit), suite "ratelimit".
 * The rule parser and the per-node counters are in test_ratelimit_local.c
 * (tcases "rules" and "local"). Here: the policy phase
 * (ratelimit.c) through the in-memory test host against a real
 * redis-server: exactly the limit accepted, sequentially and from several
 * processes at once, refused requests counted nowhere, the key's TTL, a
 * short window freeing capacity, RateLimit-* headers, 429 with Retry-After,
 * counter scopes, and each redis_down policy while Redis is unreachable.
 * The Redis tests run again on a three-master Redis Cluster (tcase
 * "redis_cluster", one cluster for the tcase, flushed before each test).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <check.h>
#include <jansson.h>

#include "ratelimit.h"
#include "test_ratelimit.h"
#include "cluster_servers.h"
#include "servers.h"
#include "test_host.h"

/* ===================================================== policy with Redis */

static apr_pool_t *pool;
static char dir[] = "/tmp/cb-ratelimit-test-XXXXXX";
static int port;
static pid_t redis_pid;
static cb_env *env;

static cb_redis *redis_client(apr_pool_t *p, int redis_port)
{
    cb_redis_config cfg;
    cb_redis_config_defaults(&cfg);
    cfg.port = redis_port;
    cfg.retry_interval_ms = 200;
    cfg.command_timeout_ms = 500;
    cfg.connect_timeout_ms = 100;
    return cb_redis_create(p, &cfg);
}

static void build_env(void)
{
    static const char *const opts[] = {"greeting", "hello", "fake_identity", "on", NULL};
    const char *err;
    env = th_env_create(pool, "demo");
    ck_assert_ptr_null(th_env_add_plugin(env, pool, "testplug", opts));
    err = cb_env_build(env, pool);
    ck_assert_msg(err == NULL, "%s", err);
}

static void redis_setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    port = srv_free_port();
    redis_pid = srv_start_redis(port, dir, NULL);
    ck_assert_msg(srv_wait_port(port, 5000), "redis-server did not start");
    build_env();
    env->redis = redis_client(pool, port);
}

/* The same tests on a Redis Cluster: one cluster per tcase (started in the
 * runner), emptied before each test. */
static srv_cluster cluster;

static void cluster_start(void)
{
    ck_assert_msg(srv_cluster_start(&cluster) == 0, "the Redis Cluster did not start");
}

static void cluster_stop(void)
{
    srv_cluster_stop(&cluster);
}

static void cluster_setup(void)
{
    cb_redis_config cfg;
    char url[256];
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(srv_cluster_flush(&cluster), 0);
    build_env();
    cb_redis_config_defaults(&cfg);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, srv_cluster_url(&cluster, url,
                                                                       sizeof(url)), &cfg));
    cfg.retry_interval_ms = 200;
    cfg.command_timeout_ms = 500;
    cfg.connect_timeout_ms = 100;
    env->redis = cb_redis_create(pool, &cfg);
}

static void cluster_teardown(void)
{
    apr_pool_destroy(pool);
}

static void redis_teardown(void)
{
    srv_stop(redis_pid);
    apr_pool_destroy(pool);
    rmdir(dir);
    strcpy(dir, "/tmp/cb-ratelimit-test-XXXXXX");
}

/* Installs the rules ("PATH RATE ...", NULL-terminated) for env. */
static const cb_rl_rule *use_rules(const char *const *texts, int nodes)
{
    apr_array_header_t *rules = apr_array_make(pool, 4, sizeof(cb_rl_rule));
    for (int i = 0; texts[i]; i++) {
        cb_rl_rule *r = apr_array_push(rules);
        const char *err = cb_rl_rule_parse(pool, texts[i], r);
        ck_assert_msg(err == NULL, "%s: %s", texts[i], err);
    }
    env->ratelimit = cb_ratelimit_create(pool, rules, nodes);
    ck_assert_ptr_nonnull(env->ratelimit);
    return &APR_ARRAY_IDX(env->ratelimit->rules, 0, cb_rl_rule);
}

static const char *counter_key(const cb_rl_rule *r, const char *scope)
{
    return apr_pstrcat(pool, "cb:{demo}:rl:", r->id, scope, NULL);
}

static const cb_redis_reply *redis_run(int argc, const char *const *argv)
{
    const cb_redis_reply *reply;
    ck_assert_int_eq(cb_redis_command(env->redis, pool, argc, argv, NULL, &reply), APR_SUCCESS);
    return reply;
}

/* The "t" field of a counter: requests in the window, -1 when absent. */
static long long counted(const char *key)
{
    const char *argv[] = {"HGET", key, "t"};
    const cb_redis_reply *reply = redis_run(3, argv);
    if (cb_redis_reply_kind(reply) == CB_REDIS_REPLY_NIL)
        return -1;
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_STRING);
    return atoll(cb_redis_reply_bytes(reply, NULL));
}

static int get(const char *target, const char *authorization, th_response *r)
{
    const char *headers[] = {"Authorization", authorization, NULL};
    th_request(env, pool, "GET", target, authorization ? headers : NULL, NULL, r);
    return r->status;
}

static int accepted_of(int n, const char *target, const char *authorization)
{
    int accepted = 0;
    th_response r;
    for (int i = 0; i < n; i++) {
        int status = get(target, authorization, &r);
        ck_assert_msg(status == 200 || status == 429, "status %d", status);
        accepted += status == 200;
    }
    return accepted;
}

static const char *header(const th_response *r, const char *name)
{
    return apr_table_get(r->headers, name);
}

START_TEST(redis_exact_limit_and_refusals_uncounted)
{
    static const char *const rules[] = {"/v1/test/ 5/1m", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    const char *key = counter_key(rule, ":ip=127.0.0.1");
    ck_assert_int_eq(accepted_of(12, "/v1/test/echo", NULL), 5);
    ck_assert_int_eq(counted(key), 5);
    ck_assert_int_eq(accepted_of(3, "/v1/test/echo", NULL), 0);
    ck_assert_int_eq(counted(key), 5);
}
END_TEST

START_TEST(redis_headers_and_429)
{
    static const char *const rules[] = {"/v1/test/ 3/1m", NULL};
    th_response r;
    json_t *body;
    use_rules(rules, 1);
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 200);
    ck_assert_str_eq(header(&r, "RateLimit-Limit"), "3");
    ck_assert_str_eq(header(&r, "RateLimit-Remaining"), "2");
    ck_assert_int_ge(atoi(header(&r, "RateLimit-Reset")), 1);
    ck_assert_int_le(atoi(header(&r, "RateLimit-Reset")), 62); /* window + 2 buckets */
    ck_assert_ptr_null(header(&r, "Retry-After"));
    get("/v1/test/echo", NULL, &r);
    ck_assert_str_eq(header(&r, "RateLimit-Remaining"), "1");
    get("/v1/test/echo", NULL, &r);
    ck_assert_str_eq(header(&r, "RateLimit-Remaining"), "0");
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 429);
    ck_assert_str_eq(header(&r, "RateLimit-Limit"), "3");
    ck_assert_str_eq(header(&r, "RateLimit-Remaining"), "0");
    ck_assert_ptr_nonnull(header(&r, "Retry-After"));
    ck_assert_int_ge(atoi(header(&r, "Retry-After")), 1);
    ck_assert_int_le(atoi(header(&r, "Retry-After")), 62);
    ck_assert_str_eq(header(&r, "Retry-After"), header(&r, "RateLimit-Reset"));
    body = json_loadb(r.body, r.body_len, 0, NULL);
    ck_assert_msg(body != NULL, "not JSON: %s", r.body);
    ck_assert_str_eq(json_string_value(json_object_get(body, "code")), "RATE_LIMITED");
    json_decref(body);
    /* Paths outside the prefix are not limited. */
    ck_assert_int_eq(get("/health", NULL, &r), 200);
    ck_assert_ptr_null(header(&r, "RateLimit-Limit"));
}
END_TEST

START_TEST(redis_key_has_ttl)
{
    static const char *const rules[] = {"/v1/test/ 5/1m", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    const char *argv[] = {"PTTL", counter_key(rule, ":ip=127.0.0.1")};
    const cb_redis_reply *reply;
    ck_assert_int_eq(accepted_of(2, "/v1/test/echo", NULL), 2);
    reply = redis_run(2, argv);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_INTEGER);
    ck_assert_int_gt(cb_redis_reply_integer(reply), 0);
    ck_assert_int_le(cb_redis_reply_integer(reply), rule->buckets * rule->bucket_ms + rule->bucket_ms);
    ck_assert_int_ge(cb_redis_reply_integer(reply), rule->window_ms - 5000);
}
END_TEST

/* Sleeps until at least `ms` after `since`: for waits on the window itself,
 * where a late wake-up only makes the wait longer. */
static void sleep_until_past(apr_time_t since, int64_t ms)
{
    apr_time_t until = since + apr_time_from_msec(ms);
    for (apr_time_t now = apr_time_now(); now < until; now = apr_time_now())
        usleep((useconds_t)(until - now));
}

START_TEST(redis_short_window_frees_capacity)
{
    static const char *const rules[] = {"/v1/test/ 3/300ms", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    const char *key = counter_key(rule, ":ip=127.0.0.1");
    /* Everything counted has left the window: the window, the two extra
     * buckets counted, and a bucket of rounding. */
    const int64_t window_passed_ms = rule->window_ms + 3 * rule->bucket_ms;
    th_response r;
    apr_time_t last;
    ck_assert_int_eq(accepted_of(5, "/v1/test/echo", NULL), 3);
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 429);
    ck_assert_str_eq(header(&r, "Retry-After"), "1");
    sleep_until_past(apr_time_now(), window_passed_ms);
    ck_assert_int_eq(accepted_of(5, "/v1/test/echo", NULL), 3);
    last = apr_time_now();
    ck_assert_int_eq(counted(key), 3);
    sleep_until_past(last, window_passed_ms);
    ck_assert_int_eq(accepted_of(1, "/v1/test/echo", NULL), 1);
    ck_assert_int_eq(counted(key), 1);
}
END_TEST

/* Requests spread over the window: the sliding window never lets more than
 * the limit into any window-long span. Each accepted request is bracketed
 * by the time before it was sent and the time its answer came back; the
 * decision lies in between, so a slow or stalled machine can only widen
 * the measured span, never narrow it. */
START_TEST(redis_sliding_window_holds_the_limit)
{
    enum { ACCEPTED = 12 };
    static const char *const rules[] = {"/v1/test/ 4/600ms", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    apr_time_t sent[ACCEPTED], answered[ACCEPTED];
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(30);
    int n = 0;
    th_response r;
    while (n < ACCEPTED && apr_time_now() < deadline) {
        apr_time_t before = apr_time_now();
        if (get("/v1/test/echo", NULL, &r) == 200) {
            sent[n] = before;
            answered[n++] = apr_time_now();
        }
        usleep(25 * 1000);
    }
    ck_assert_int_eq(n, ACCEPTED);
    /* The 5th accepted request after any one was decided at least a window
     * (less one bucket of resolution) later. */
    for (int i = 0; i + 4 < n; i++)
        ck_assert_msg(answered[i + 4] - sent[i] >= apr_time_from_msec(rule->window_ms - rule->bucket_ms),
                      "5 requests accepted within %lld us",
                      (long long)(answered[i + 4] - sent[i]));
}
END_TEST

START_TEST(redis_refused_by_one_rule_counts_on_none)
{
    static const char *const rules[] = {"/v1/test/ 5/1m", "/v1/test/items/ 2/1m", NULL};
    const cb_rl_rule *wide = use_rules(rules, 1);
    const cb_rl_rule *narrow = wide + 1;
    th_response r;
    ck_assert_int_eq(accepted_of(4, "/v1/test/items/1", NULL), 2);
    ck_assert_int_eq(counted(counter_key(wide, ":ip=127.0.0.1")), 2);
    ck_assert_int_eq(counted(counter_key(narrow, ":ip=127.0.0.1")), 2);
    get("/v1/test/items/1", NULL, &r);
    ck_assert_int_eq(r.status, 429);
    ck_assert_str_eq(header(&r, "RateLimit-Limit"), "2");
    /* Only the wide rule applies here: its 3 remaining requests. */
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 200);
    ck_assert_str_eq(header(&r, "RateLimit-Limit"), "5");
    ck_assert_str_eq(header(&r, "RateLimit-Remaining"), "2");
    ck_assert_int_eq(accepted_of(4, "/v1/test/echo", NULL), 2);
    ck_assert_int_eq(counted(counter_key(wide, ":ip=127.0.0.1")), 5);
}
END_TEST

START_TEST(redis_scopes)
{
    static const char *const rules[] = {"/v1/test/ 2/1m by=user+route", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    ck_assert_int_eq(accepted_of(3, "/v1/test/items/1", "Bearer test-user-bob"), 2);
    ck_assert_int_eq(accepted_of(3, "/v1/test/items/1", "Bearer test-user-alice"), 2);
    ck_assert_int_eq(accepted_of(3, "/v1/test/items/2", "Bearer test-user-bob"), 2);
    /* Without a user: the client address. */
    ck_assert_int_eq(accepted_of(3, "/v1/test/items/1", NULL), 2);
    /* A {rest*} tail stays a pattern: one counter for every file. */
    ck_assert_int_eq(accepted_of(1, "/v1/test/files/a", "Bearer test-user-bob"), 1);
    ck_assert_int_eq(accepted_of(2, "/v1/test/files/b/c", "Bearer test-user-bob"), 1);
    ck_assert_int_eq(counted(counter_key(rule, ":r=/v1/test/items/1:u=bob")), 2);
    ck_assert_int_eq(counted(counter_key(rule, ":r=/v1/test/items/1:u=alice")), 2);
    ck_assert_int_eq(counted(counter_key(rule, ":r=/v1/test/items/2:u=bob")), 2);
    ck_assert_int_eq(counted(counter_key(rule, ":r=/v1/test/items/1:ip=127.0.0.1")), 2);
    ck_assert_int_eq(counted(counter_key(rule, ":r=/v1/test/files/{rest*}:u=bob")), 2);
}
END_TEST

START_TEST(redis_env_scope_and_prefix_boundary)
{
    static const char *const rules[] = {"/v1/test/items 3/1m by=env", "/v1/test/ech 1/1m",
                                        NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    th_response r;
    ck_assert_int_eq(accepted_of(2, "/v1/test/items/1", "Bearer test-user-bob"), 2);
    ck_assert_int_eq(accepted_of(2, "/v1/test/items/2", NULL), 1);
    ck_assert_int_eq(counted(counter_key(rule, "")), 3);
    /* A prefix without a trailing '/' covers whole segments only:
     * "/v1/test/ech" does not cover "/v1/test/echo". */
    ck_assert_int_eq(accepted_of(3, "/v1/test/echo", NULL), 3);
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 200);
    ck_assert_ptr_null(header(&r, "RateLimit-Limit"));
}
END_TEST

/* Several processes, each with its own connection, race for one counter. */
START_TEST(redis_limit_holds_under_concurrency)
{
    static const char *const rules[] = {"/v1/test/ 25/1m", NULL};
    enum { WORKERS = 5, EACH = 20 };
    const cb_rl_rule *rule = use_rules(rules, 1);
    pid_t children[WORKERS];
    int total = 0;
    for (int w = 0; w < WORKERS; w++) {
        children[w] = fork();
        ck_assert_int_ge(children[w], 0);
        if (children[w] == 0) {
            apr_pool_t *child_pool;
            int accepted = 0;
            apr_pool_create(&child_pool, NULL);
            env->redis = cb_redis_create(child_pool, cb_redis_get_config(env->redis));
            for (int i = 0; i < EACH; i++) {
                th_response r;
                th_request(env, child_pool, "GET", "/v1/test/echo", NULL, NULL, &r);
                if (r.status == 200)
                    accepted++;
                else if (r.status != 429)
                    _exit(200);
            }
            _exit(accepted);
        }
    }
    for (int w = 0; w < WORKERS; w++) {
        int status = 0;
        ck_assert_int_eq(waitpid(children[w], &status, 0), children[w]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_ne(WEXITSTATUS(status), 200);
        total += WEXITSTATUS(status);
    }
    ck_assert_int_eq(total, 25);
    ck_assert_int_eq(counted(counter_key(rule, ":ip=127.0.0.1")), 25);
}
END_TEST

/* EVALSHA calls Redis has served so far. */
static long long evalsha_calls(void)
{
    const char *argv[] = {"INFO", "commandstats"};
    const cb_redis_reply *reply = redis_run(2, argv);
    const char *line = strstr(cb_redis_reply_bytes(reply, NULL), "cmdstat_evalsha:calls=");
    return line ? atoll(line + strlen("cmdstat_evalsha:calls=")) : 0;
}

/* A busy key with room takes leases: far fewer round trips than requests,
 * and still exactly the limit, with single-unit decisions near the end. */
START_TEST(leases_cut_round_trips_and_stay_exact)
{
    static const char *const rules[] = {"/v1/test/ 1000/1m", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    const char *key = counter_key(rule, ":ip=127.0.0.1");
    long long before = evalsha_calls(), calls;
    ck_assert_int_eq(accepted_of(600, "/v1/test/echo", NULL), 600);
    calls = evalsha_calls() - before;
    ck_assert_msg(calls < 150, "%lld round trips for 600 requests", calls);
    /* Leased units are counted before they are spent. */
    ck_assert_int_ge(counted(key), 600);
    ck_assert_int_le(counted(key), 1000);
    ck_assert_int_eq(accepted_of(700, "/v1/test/echo", NULL), 400);
    ck_assert_int_eq(counted(key), 1000);
}
END_TEST

/* leases=off: every request is one decision in Redis. */
START_TEST(leases_off_decides_each_request)
{
    static const char *const rules[] = {"/v1/test/ 1000/1m leases=off", NULL};
    const cb_rl_rule *rule = use_rules(rules, 1);
    long long before = evalsha_calls();
    ck_assert_int_eq(accepted_of(50, "/v1/test/echo", NULL), 50);
    ck_assert_int_eq(evalsha_calls() - before, 50);
    ck_assert_int_eq(counted(counter_key(rule, ":ip=127.0.0.1")), 50);
}
END_TEST

/* Units of a lease that died unspent go back with the key's next decision. */
START_TEST(dead_lease_units_are_given_back)
{
    static const char *const rules[] = {"/v1/test/ 6400/6s", NULL}; /* 100 ms buckets */
    const cb_rl_rule *rule = use_rules(rules, 1);
    const char *key = counter_key(rule, ":ip=127.0.0.1");
    ck_assert_int_eq(accepted_of(1, "/v1/test/echo", NULL), 1);
    ck_assert_int_eq(counted(key), 64); /* one spent, 63 leased */
    usleep(150 * 1000);                  /* the lease (one bucket) has died */
    ck_assert_int_eq(accepted_of(1, "/v1/test/echo", NULL), 1);
    /* 63 given back, then a fresh lease of 64 for this request. */
    ck_assert_int_eq(counted(key), 65);
}
END_TEST

START_TEST(preflight_is_not_limited)
{
    static const char *const rules[] = {"/v1/test/ 1/1m", NULL};
    static const char *const preflight[] = {"Origin", "https://app.example.com",
                                            "Access-Control-Request-Method", "GET", NULL};
    th_response r;
    use_rules(rules, 1);
    ck_assert_ptr_null(cb_allowlist_add(env->allowlist, pool, "https://app.example.com"));
    for (int i = 0; i < 3; i++) {
        th_request(env, pool, "OPTIONS", "/v1/test/echo", preflight, NULL, &r);
        ck_assert_int_ne(r.status, 429);
    }
    ck_assert_int_eq(accepted_of(2, "/v1/test/echo", NULL), 1);
}
END_TEST

/* ================================================ policy without Redis */

static void down_setup(void)
{
    apr_pool_create(&pool, NULL);
    build_env();
    /* Nobody listens there: every call fails, then the breaker opens. */
    env->redis = redis_client(pool, srv_free_port());
}

static void down_teardown(void) { apr_pool_destroy(pool); }

START_TEST(down_local_divides_by_nodes)
{
    static const char *const rules[] = {"/v1/test/ 7/1m", NULL};
    th_response r;
    use_rules(rules, 3);
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 200);
    ck_assert_str_eq(header(&r, "RateLimit-Limit"), "2");
    ck_assert_str_eq(header(&r, "RateLimit-Remaining"), "1");
    ck_assert_int_eq(accepted_of(5, "/v1/test/echo", NULL), 1);
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 429);
    ck_assert_ptr_nonnull(header(&r, "Retry-After"));
    ck_assert_str_eq(header(&r, "RateLimit-Limit"), "2");
}
END_TEST

START_TEST(down_local_at_least_one)
{
    static const char *const rules[] = {"/v1/test/ 2/1m", NULL};
    use_rules(rules, 5);
    ck_assert_int_eq(accepted_of(4, "/v1/test/echo", NULL), 1);
}
END_TEST

START_TEST(down_local_without_a_client)
{
    static const char *const rules[] = {"/v1/test/ 4/1m", NULL};
    env->redis = NULL;
    use_rules(rules, 2);
    ck_assert_int_eq(accepted_of(5, "/v1/test/echo", NULL), 2);
}
END_TEST

START_TEST(down_open_and_closed)
{
    static const char *const open_rules[] = {"/v1/test/ 1/1m redis_down=open", NULL};
    static const char *const closed_rules[] = {"/v1/test/ 100/1m redis_down=closed", NULL};
    static const char *const mixed_rules[] = {"/v1/test/ 1/1m redis_down=open",
                                              "/v1/test/items/ 2/1m", NULL};
    th_response r;
    use_rules(open_rules, 1);
    ck_assert_int_eq(accepted_of(5, "/v1/test/echo", NULL), 5);
    use_rules(closed_rules, 1);
    ck_assert_int_eq(get("/v1/test/echo", NULL, &r), 503);
    use_rules(mixed_rules, 1);
    ck_assert_int_eq(accepted_of(4, "/v1/test/items/1", NULL), 2);
    ck_assert_int_eq(accepted_of(3, "/v1/test/echo", NULL), 3);
}
END_TEST

/* Redis comes back: the shared counter takes over again. */
START_TEST(down_then_back)
{
    static const char *const rules[] = {"/v1/test/ 3/1m", NULL};
    char tmp[] = "/tmp/cb-ratelimit-back-XXXXXX";
    int back_port = srv_free_port();
    pid_t pid;
    env->redis = redis_client(pool, back_port);
    use_rules(rules, 3);
    ck_assert_int_eq(accepted_of(3, "/v1/test/echo", NULL), 1);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    pid = srv_start_redis(back_port, tmp, NULL);
    ck_assert(srv_wait_port(back_port, 5000));
    /* The client is back once its breaker lets a probe through. */
    for (apr_time_t deadline = apr_time_now() + apr_time_from_sec(10);
         !cb_redis_ping(env->redis, pool) && apr_time_now() < deadline;)
        usleep(20 * 1000);
    ck_assert(cb_redis_available(env->redis));
    ck_assert_int_eq(accepted_of(5, "/v1/test/echo", NULL), 3);
    srv_stop(pid);
    rmdir(tmp);
}
END_TEST

/* The tests that run on one Redis and again on a cluster. */
static void add_redis_tests(TCase *tc)
{
    tcase_add_test(tc, redis_exact_limit_and_refusals_uncounted);
    tcase_add_test(tc, redis_headers_and_429);
    tcase_add_test(tc, redis_key_has_ttl);
    tcase_add_test(tc, redis_short_window_frees_capacity);
    tcase_add_test(tc, redis_sliding_window_holds_the_limit);
    tcase_add_test(tc, redis_refused_by_one_rule_counts_on_none);
    tcase_add_test(tc, redis_scopes);
    tcase_add_test(tc, leases_cut_round_trips_and_stay_exact);
    tcase_add_test(tc, leases_off_decides_each_request);
    tcase_add_test(tc, dead_lease_units_are_given_back);
    tcase_add_test(tc, redis_env_scope_and_prefix_boundary);
    tcase_add_test(tc, redis_limit_holds_under_concurrency);
}

Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *redis = tcase_create("redis");
    TCase *down = tcase_create("redis_down");
    ratelimit_add_rule_and_local_cases(s);

    tcase_add_checked_fixture(redis, redis_setup, redis_teardown);
    tcase_set_timeout(redis, 30);
    add_redis_tests(redis);
    tcase_add_test(redis, preflight_is_not_limited);
    suite_add_tcase(s, redis);

    {
        TCase *cluster_tc = tcase_create("redis_cluster");
        tcase_add_unchecked_fixture(cluster_tc, cluster_start, cluster_stop);
        tcase_add_checked_fixture(cluster_tc, cluster_setup, cluster_teardown);
        tcase_set_timeout(cluster_tc, 30);
        add_redis_tests(cluster_tc);
        suite_add_tcase(s, cluster_tc);
    }

    tcase_add_checked_fixture(down, down_setup, down_teardown);
    tcase_set_timeout(down, 30);
    tcase_add_test(down, down_local_divides_by_nodes);
    tcase_add_test(down, down_local_at_least_one);
    tcase_add_test(down, down_local_without_a_client);
    tcase_add_test(down, down_open_and_closed);
    tcase_add_test(down, down_then_back);
    suite_add_tcase(s, down);
    return s;
}
