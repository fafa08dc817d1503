/*
 * test_ratelimit.c: rate limits (CloudBaseRateLimit). The rule parser
 * (ratelimit_rule.c): valid and invalid rules, the bucket layout and the
 * stable rule id. The per-node fallback counters (ratelimit_local.c): the
 * limit, all-or-nothing across keys, window resets, remaining and reset
 * values, slot collisions, and sharing across processes. The policy phase
 * (ratelimit.c) through the in-memory test host against a real
 * redis-server: exactly the limit accepted, sequentially and from several
 * processes at once, refused requests counted nowhere, the key's TTL, a
 * short window freeing capacity, RateLimit-* headers, 429 with Retry-After,
 * counter scopes, and each redis_down policy while Redis is unreachable.
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
#include <hiredis.h>
#include <jansson.h>

#include "ratelimit.h"
#include "servers.h"
#include "test_host.h"

/* ================================================================ rules */

static apr_pool_t *rule_pool;

static void rule_setup(void) { apr_pool_create(&rule_pool, NULL); }
static void rule_teardown(void) { apr_pool_destroy(rule_pool); }

static cb_rl_rule parse_ok(const char *text)
{
    cb_rl_rule rule;
    const char *err = cb_rl_rule_parse(rule_pool, text, &rule);
    ck_assert_msg(err == NULL, "'%s' refused: %s", text, err);
    return rule;
}

static void parse_refused(const char *text)
{
    cb_rl_rule rule;
    const char *err = cb_rl_rule_parse(rule_pool, text, &rule);
    ck_assert_msg(err != NULL, "'%s' was accepted", text);
    ck_assert_msg(*err != '\0', "'%s' refused with an empty message", text);
}

START_TEST(rule_defaults)
{
    cb_rl_rule r = parse_ok("/v1/functions/ 100/1m");
    ck_assert_str_eq(r.prefix, "/v1/functions/");
    ck_assert_uint_eq(r.prefix_len, strlen("/v1/functions/"));
    ck_assert_str_eq(r.text, "/v1/functions/ 100/1m");
    ck_assert_int_eq(r.limit, 100);
    ck_assert_int_eq(r.window_ms, 60000);
    ck_assert_uint_eq(r.by, CB_RL_BY_IP);
    ck_assert_int_eq(r.redis_down, CB_RL_DOWN_LOCAL);
    ck_assert_int_eq(r.bucket_ms, 1000);
    ck_assert_int_eq(r.buckets, 62);
    ck_assert_uint_eq(strlen(r.id), 16);
    ck_assert_uint_eq(strspn(r.id, "0123456789abcdef"), 16);
}
END_TEST

START_TEST(rule_settings)
{
    cb_rl_rule r = parse_ok("/v1/ 5/1s by=user+route redis_down=closed");
    ck_assert_uint_eq(r.by, CB_RL_BY_USER | CB_RL_BY_ROUTE);
    ck_assert_int_eq(r.redis_down, CB_RL_DOWN_CLOSED);
    ck_assert_int_eq(r.limit, 5);
    ck_assert_int_eq(r.window_ms, 1000);

    r = parse_ok("/v1/ai\t10000/30d\tby=env redis_down=open");
    ck_assert_str_eq(r.prefix, "/v1/ai");
    ck_assert_uint_eq(r.by, CB_RL_BY_ENV);
    ck_assert_int_eq(r.redis_down, CB_RL_DOWN_OPEN);
    ck_assert_int_eq(r.window_ms, 30LL * 24 * 3600 * 1000);

    r = parse_ok("/ 1/250ms by=key+ip+route+user+env redis_down=local");
    ck_assert_uint_eq(r.by, CB_RL_BY_KEY | CB_RL_BY_IP | CB_RL_BY_ROUTE | CB_RL_BY_USER |
                                CB_RL_BY_ENV);
    ck_assert_int_eq(r.redis_down, CB_RL_DOWN_LOCAL);
    ck_assert_int_eq(r.window_ms, 250);

    r = parse_ok("/x 7/10 by=ip by=key");  /* a bare number is seconds; the last by= wins */
    ck_assert_int_eq(r.window_ms, 10000);
    ck_assert_uint_eq(r.by, CB_RL_BY_KEY);

    r = parse_ok("  /edge   1000000000/366d  ");
    ck_assert_int_eq(r.limit, 1000000000);
    ck_assert_int_eq(r.window_ms, 366LL * 24 * 3600 * 1000);
    r = parse_ok("/edge 1/1ms");
    ck_assert_int_eq(r.window_ms, 1);
    ck_assert_int_eq(r.bucket_ms, 1);
    ck_assert_int_eq(r.buckets, 3);
}
END_TEST

START_TEST(rule_errors)
{
    static const char *const refused[] = {
        "", "   ", "/v1/", "v1/ 1/1m", "* 1/1m",
        "/v1/{id} 1/1m", "/v1/x?y 1/1m", "/v1/x#y 1/1m", "/v1/%2e 1/1m", "/v1\\x 1/1m",
        "/v1/../x 1/1m", "/v1//x 1/1m",
        "/v1/ 100", "/v1/ /1m", "/v1/ 1/", "/v1/ x/1m", "/v1/ 1x/1m", "/v1/ -1/1m",
        "/v1/ 0/1m", "/v1/ 1000000001/1m", "/v1/ 99999999999999999999999/1m",
        "/v1/ 1/0s", "/v1/ 1/0", "/v1/ 1/1w", "/v1/ 1/-1s", "/v1/ 1/367d",
        "/v1/ 1/99999999999999999d", "/v1/ 123456789012345678901234567890123/1s",
        "/v1/ 1/1m by=", "/v1/ 1/1m by=bogus", "/v1/ 1/1m by=user+bogus",
        "/v1/ 1/1m by=+user", "/v1/ 1/1m by=user++ip", "/v1/ 1/1m by=USER",
        "/v1/ 1/1m redis_down=maybe", "/v1/ 1/1m redis_down=", "/v1/ 1/1m color=blue",
        "/v1/ 1/1m extra", NULL};
    for (int i = 0; refused[i]; i++)
        parse_refused(refused[i]);
}
END_TEST

START_TEST(rule_error_messages_name_the_fix)
{
    cb_rl_rule r;
    const char *err = cb_rl_rule_parse(rule_pool, "/v1/ 1/1m color=blue", &r);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "color=blue"));
    err = cb_rl_rule_parse(rule_pool, "/v1/ 0/1m", &r);
    ck_assert_ptr_nonnull(strstr(err, "between 1 and 1000000000"));
    err = cb_rl_rule_parse(rule_pool, "/v1/ 1/367d", &r);
    ck_assert_ptr_nonnull(strstr(err, "366d"));
    err = cb_rl_rule_parse(rule_pool, "/v1/", &r);
    ck_assert_ptr_nonnull(strstr(err, "LIMIT/WINDOW"));
}
END_TEST

START_TEST(rate_parser)
{
    int64_t limit = 0, window = 0;
    ck_assert_ptr_null(cb_rl_parse_rate("100/1m", &limit, &window));
    ck_assert_int_eq(limit, 100);
    ck_assert_int_eq(window, 60000);
    ck_assert_ptr_null(cb_rl_parse_rate("10000/30d", &limit, &window));
    ck_assert_int_eq(window, 30LL * 86400000);
    ck_assert_ptr_null(cb_rl_parse_rate("1/1ms", &limit, &window));
    ck_assert_int_eq(window, 1);
    ck_assert_ptr_null(cb_rl_parse_rate("3/2H", &limit, &window));
    ck_assert_int_eq(window, 2LL * 3600000);
    ck_assert_ptr_nonnull(cb_rl_parse_rate("", &limit, &window));
    ck_assert_ptr_nonnull(cb_rl_parse_rate("/", &limit, &window));
    ck_assert_ptr_nonnull(cb_rl_parse_rate("1/1m/2", &limit, &window));
    ck_assert_ptr_nonnull(cb_rl_parse_rate("1 /1m", &limit, &window));
    ck_assert_ptr_nonnull(cb_rl_parse_rate("01234567890123456789012345678901/1s", &limit, &window));
}
END_TEST

/* Every window: whole buckets covering at least the window even when the
 * current bucket has just begun and a lease lives a whole bucket, at most
 * 62 of them (the script keeps one hash field per bucket). */
START_TEST(rule_buckets_cover_the_window)
{
    static const char *const windows[] = {
        "1ms", "2ms", "59ms", "60ms", "61ms", "90ms", "119ms", "120ms", "121ms", "250ms",
        "999ms", "1s", "7s", "59s", "60s", "61s", "90s", "119s", "1m", "61m", "1h", "25h",
        "1d", "30d", "365d", "366d", "1000ms", "1001ms", "3599999ms", NULL};
    for (int i = 0; windows[i]; i++) {
        cb_rl_rule r = parse_ok(apr_psprintf(rule_pool, "/v1/ 10/%s", windows[i]));
        ck_assert_int_ge(r.bucket_ms, 1);
        ck_assert_msg((r.buckets - 2) * r.bucket_ms >= r.window_ms,
                      "window %s: %lld buckets of %lld ms do not cover %lld ms", windows[i],
                      (long long)r.buckets, (long long)r.bucket_ms, (long long)r.window_ms);
        ck_assert_msg(r.buckets >= 3 && r.buckets <= 62,
                      "window %s (%lld ms): %lld buckets of %lld ms, at most 62 expected",
                      windows[i], (long long)r.window_ms, (long long)r.buckets,
                      (long long)r.bucket_ms);
    }
}
END_TEST

START_TEST(rule_id_is_stable)
{
    cb_rl_rule a = parse_ok("/v1/functions/ 100/1m by=user");
    cb_rl_rule same = parse_ok("/v1/functions/ 100/1m by=user");
    cb_rl_rule spelled = parse_ok("/v1/functions/\t100/60s   by=user redis_down=open");
    ck_assert_str_eq(a.id, same.id);
    ck_assert_str_eq(a.id, spelled.id);
    ck_assert_str_ne(a.id, parse_ok("/v1/functions/ 101/1m by=user").id);
    ck_assert_str_ne(a.id, parse_ok("/v1/functions/ 100/2m by=user").id);
    ck_assert_str_ne(a.id, parse_ok("/v1/functions/ 100/1m by=ip").id);
    ck_assert_str_ne(a.id, parse_ok("/v1/functions 100/1m by=user").id);
    ck_assert_str_ne(a.id, parse_ok("/v1/function/ 100/1m by=user").id);
    /* By value, not by text: '/' then 100 vs '/1' then 00 must differ. */
    ck_assert_str_ne(parse_ok("/a 11/1s").id, parse_ok("/a1 1/1s").id);
}
END_TEST

/* ================================================== local fallback counters */

#define W 1000  /* window, ms */
#define T0 1700000000000LL  /* a window start: a multiple of W */

static apr_pool_t *local_pool;

static void local_setup(void) { apr_pool_create(&local_pool, NULL); }
static void local_teardown(void) { apr_pool_destroy(local_pool); }

static cb_rl_verdict decide1(cb_rl_local *t, const char *key, int64_t limit, int64_t window_ms,
                             int64_t now_ms)
{
    cb_rl_verdict v;
    const char *keys[1] = {key};
    int64_t limits[1] = {limit}, windows[1] = {window_ms};
    memset(&v, 0x5a, sizeof(v));
    cb_rl_local_decide(t, 1, keys, limits, windows, now_ms, &v);
    return v;
}

START_TEST(local_limit_and_values)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 64);
    cb_rl_verdict v;
    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < 5; i++) {
        v = decide1(t, "ip=1.2.3.4", 5, W, T0 + 100 + i);
        ck_assert_int_eq(v.allowed, 1);
        ck_assert_int_eq(v.limit, 5);
        ck_assert_int_eq(v.remaining, 4 - i);
        ck_assert_int_eq(v.reset_ms, W - 100 - i);
    }
    v = decide1(t, "ip=1.2.3.4", 5, W, T0 + 500);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_int_eq(v.remaining, 0);
    ck_assert_int_eq(v.limit, 5);
    ck_assert_int_eq(v.reset_ms, 500);
    /* Another key has its own counter. */
    v = decide1(t, "ip=5.6.7.8", 5, W, T0 + 500);
    ck_assert_int_eq(v.allowed, 1);
    ck_assert_int_eq(v.remaining, 4);
    /* The next window starts from zero. */
    v = decide1(t, "ip=1.2.3.4", 5, W, T0 + W);
    ck_assert_int_eq(v.allowed, 1);
    ck_assert_int_eq(v.remaining, 4);
    ck_assert_int_eq(v.reset_ms, W);
    v = decide1(t, "ip=1.2.3.4", 5, W, T0 + 2 * W + 999);
    ck_assert_int_eq(v.allowed, 1);
    ck_assert_int_eq(v.remaining, 4);
    ck_assert_int_eq(v.reset_ms, 1);
}
END_TEST

START_TEST(local_all_or_nothing)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 64);
    const char *keys[2] = {"wide", "narrow"};
    int64_t limits[2] = {5, 2}, windows[2] = {W, W};
    cb_rl_verdict v;
    for (int i = 0; i < 2; i++) {
        cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 10, &v);
        ck_assert_int_eq(v.allowed, 1);
    }
    /* The tightest key speaks for the verdict. */
    ck_assert_int_eq(v.limit, 2);
    ck_assert_int_eq(v.remaining, 0);
    for (int i = 0; i < 4; i++) {
        cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 20, &v);
        ck_assert_int_eq(v.allowed, 0);
        ck_assert_int_eq(v.remaining, 0);
        ck_assert_int_eq(v.limit, 2);
    }
    /* The refused requests counted on neither key: "wide" has 3 left. */
    for (int i = 0; i < 3; i++) {
        v = decide1(t, "wide", 5, W, T0 + 30);
        ck_assert_int_eq(v.allowed, 1);
        ck_assert_int_eq(v.remaining, 2 - i);
    }
    ck_assert_int_eq(decide1(t, "wide", 5, W, T0 + 30).allowed, 0);
    /* A refusal by the first key does not count on the second either. */
    keys[0] = "wide";
    keys[1] = "fresh";
    limits[1] = 10;
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 40, &v);
    ck_assert_int_eq(v.allowed, 0);
    ck_assert_int_eq(decide1(t, "fresh", 10, W, T0 + 40).remaining, 9);
    /* Different windows per key: each resets on its own. */
    keys[0] = "second";
    keys[1] = "minute";
    limits[0] = 1;
    limits[1] = 3;
    windows[1] = 60 * W;
    cb_rl_local_decide(t, 2, keys, limits, windows, T0, &v);
    ck_assert_int_eq(v.allowed, 1);
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 1, &v);
    ck_assert_int_eq(v.allowed, 0);
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + W, &v);
    ck_assert_int_eq(v.allowed, 1);
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 2 * W, &v);
    ck_assert_int_eq(v.allowed, 1);
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 3 * W, &v);
    ck_assert_int_eq(v.allowed, 0);  /* "minute" has had its 3 */
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 60 * W, &v);
    ck_assert_int_eq(v.allowed, 1);
}
END_TEST

/* A refusal reports the key that refused, so Retry-After is when a request
 * can pass, not when some other key's window restarts. */
START_TEST(local_refusal_reports_the_refusing_key)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 64);
    const char *keys[2] = {"per-second", "per-minute"};
    int64_t limits[2] = {1, 1}, windows[2] = {W, 60 * W};
    cb_rl_verdict v;
    cb_rl_local_decide(t, 2, keys, limits, windows, T0, &v);
    ck_assert_int_eq(v.allowed, 1);
    cb_rl_local_decide(t, 2, keys, limits, windows, T0 + 3 * W, &v);
    ck_assert_int_eq(v.allowed, 0);
    {
        /* Local windows are fixed, aligned to the epoch. */
        int64_t now = T0 + 3 * W, minute_end = (now / (60 * W) + 1) * 60 * W;
        ck_assert_msg(v.limit == 1 && v.reset_ms == minute_end - now,
                      "refused by per-minute (reset in %lld ms) but the verdict says reset in "
                      "%lld ms", (long long)(minute_end - now), (long long)v.reset_ms);
    }
}
END_TEST

START_TEST(local_without_table_or_too_many_keys)
{
    enum { KEYS = 12 };
    const char *keys[KEYS] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
    int64_t limits[KEYS], windows[KEYS];
    cb_rl_local *t = cb_rl_local_create(local_pool, 64);
    cb_rl_verdict v;
    for (int i = 0; i < KEYS; i++) {
        limits[i] = 1;
        windows[i] = W;
    }
    /* Without its table the fallback refuses: it cannot count. */
    cb_rl_local_decide(NULL, 1, keys, limits, windows, T0, &v);
    ck_assert_int_eq(v.allowed, 0);
    /* More than eight keys at once are all counted: each has its one
     * request, so the second is refused. */
    cb_rl_local_decide(t, KEYS, keys, limits, windows, T0, &v);
    ck_assert_int_eq(v.allowed, 1);
    cb_rl_local_decide(t, KEYS, keys, limits, windows, T0, &v);
    ck_assert_int_eq(v.allowed, 0);
    /* ...and the last key alone, too. */
    cb_rl_local_decide(t, 1, keys + KEYS - 1, limits, windows, T0, &v);
    ck_assert_int_eq(v.allowed, 0);
}
END_TEST

/* Rules past the per-request cap fail configtest instead of being skipped. */
START_TEST(rules_past_the_cap_fail_configtest)
{
    apr_pool_t *p;
    apr_array_header_t *rules;
    const char *err;
    apr_pool_create(&p, NULL);
    rules = apr_array_make(p, 20, sizeof(cb_rl_rule));
    /* Nested prefixes: all of them apply to /v1/a/.../q. */
    for (int i = 0; i <= CB_RL_MAX_RULES_PER_REQUEST; i++) {
        char path[64] = "/v1";
        for (int j = 0; j < i; j++)
            strcat(path, "/a");
        ck_assert_ptr_null(cb_rl_rule_parse(p, apr_psprintf(p, "%s %d/1m", path, 10 + i),
                                            apr_array_push(rules)));
    }
    ck_assert_int_eq(cb_ratelimit_max_rules_per_path(rules), CB_RL_MAX_RULES_PER_REQUEST + 1);
    err = cb_ratelimit_check_rules(p, rules);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "17 rules") && strstr(err, "at most 16"), "%s", err);
    /* One fewer is accepted; so are many rules on separate prefixes and a
     * rule written twice (it counts once). */
    rules->nelts--;
    ck_assert_ptr_null(cb_ratelimit_check_rules(p, rules));
    rules->nelts = 0;
    for (int i = 0; i < 40; i++)
        ck_assert_ptr_null(cb_rl_rule_parse(p, apr_psprintf(p, "/v1/s%d 5/1s", i),
                                            apr_array_push(rules)));
    for (int i = 0; i < CB_RL_MAX_RULES_PER_REQUEST - 1; i++)
        ck_assert_ptr_null(cb_rl_rule_parse(p, apr_psprintf(p, "/v1/s7 %d/1m", i + 1),
                                            apr_array_push(rules)));
    ck_assert_ptr_null(cb_rl_rule_parse(p, "/v1/s7 5/1s", apr_array_push(rules)));
    ck_assert_int_eq(cb_ratelimit_max_rules_per_path(rules), CB_RL_MAX_RULES_PER_REQUEST);
    ck_assert_ptr_null(cb_ratelimit_check_rules(p, rules));
    /* A prefix boundary: /v1/s1 does not apply to /v1/s10. */
    rules->nelts = 0;
    ck_assert_ptr_null(cb_rl_rule_parse(p, "/v1/s1 5/1s", apr_array_push(rules)));
    ck_assert_ptr_null(cb_rl_rule_parse(p, "/v1/s10 5/1s", apr_array_push(rules)));
    ck_assert_int_eq(cb_ratelimit_max_rules_per_path(rules), 1);
    apr_pool_destroy(p);
}
END_TEST

/* More keys than slots: keys share slots, which may only refuse early. */
START_TEST(local_full_table_never_lets_more_through)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 4);
    int accepted[32] = {0};
    for (int round = 0; round < 10; round++)
        for (int k = 0; k < 32; k++)
            if (decide1(t, apr_psprintf(local_pool, "key-%d", k), 3, W, T0 + round).allowed)
                accepted[k]++;
    for (int k = 0; k < 32; k++)
        ck_assert_int_le(accepted[k], 3);
}
END_TEST

/* A key whose slot is not the first in its probe chain must keep its count
 * when an earlier slot in the chain (another key's) expires. With two slots
 * "ka" and "kc" start their chains in the same slot (FNV-1a keeps the
 * parity of the sum of the bytes' low bits). */
START_TEST(local_collision_keeps_count)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 2);
    ck_assert_int_eq(decide1(t, "ka", 100, 100, T0).allowed, 1);   /* short window, first slot */
    ck_assert_int_eq(decide1(t, "kc", 2, 60 * W, T0).allowed, 1);  /* long window, second slot */
    ck_assert_int_eq(decide1(t, "kc", 2, 60 * W, T0 + 1).allowed, 1);
    ck_assert_int_eq(decide1(t, "kc", 2, 60 * W, T0 + 2).allowed, 0);
    /* "ka"'s window has passed; "kc" is still in its first minute. */
    ck_assert_msg(!decide1(t, "kc", 2, 60 * W, T0 + 200).allowed,
                  "a third request in kc's window (limit 2) was accepted once the slot "
                  "before it expired");
}
END_TEST

START_TEST(local_shared_across_processes)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 64);
    int status = 0;
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        int ok = 1;
        for (int i = 0; i < 4; i++)
            ok &= decide1(t, "ip=9.9.9.9", 4, W, T0 + i).allowed;
        ok &= !decide1(t, "ip=9.9.9.9", 4, W, T0 + 5).allowed;
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_eq(decide1(t, "ip=9.9.9.9", 4, W, T0 + 6).allowed, 0);
    ck_assert_int_eq(decide1(t, "ip=9.9.9.9", 4, W, T0 + W).allowed, 1);
}
END_TEST

/* A process that dies holding the lock does not wedge the others. */
START_TEST(local_survives_a_dead_lock_holder)
{
    cb_rl_local *t = cb_rl_local_create(local_pool, 64);
    int status = 0;
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* The table starts with its mutex (ratelimit_local.c). */
        pthread_mutex_lock((pthread_mutex_t *)(void *)t);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_eq(decide1(t, "ip=1.1.1.1", 2, W, T0).allowed, 1);
    ck_assert_int_eq(decide1(t, "ip=1.1.1.1", 2, W, T0).allowed, 1);
    ck_assert_int_eq(decide1(t, "ip=1.1.1.1", 2, W, T0).allowed, 0);
}
END_TEST

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

static redisReply *redis_run(int argc, const char *const *argv)
{
    redisReply *reply;
    ck_assert_int_eq(cb_redis_command(env->redis, pool, argc, argv, NULL, &reply), APR_SUCCESS);
    return reply;
}

/* The "t" field of a counter: requests in the window, -1 when absent. */
static long long counted(const char *key)
{
    const char *argv[] = {"HGET", key, "t"};
    redisReply *reply = redis_run(3, argv);
    if (reply->type == REDIS_REPLY_NIL)
        return -1;
    ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
    return atoll(reply->str);
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
    redisReply *reply;
    ck_assert_int_eq(accepted_of(2, "/v1/test/echo", NULL), 2);
    reply = redis_run(2, argv);
    ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
    ck_assert_int_gt(reply->integer, 0);
    ck_assert_int_le(reply->integer, rule->buckets * rule->bucket_ms + rule->bucket_ms);
    ck_assert_int_ge(reply->integer, rule->window_ms - 5000);
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
            env->redis = redis_client(child_pool, port);
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
    redisReply *reply = redis_run(2, argv);
    const char *line = strstr(reply->str, "cmdstat_evalsha:calls=");
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

Suite *ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *rules = tcase_create("rules");
    TCase *local = tcase_create("local");
    TCase *redis = tcase_create("redis");
    TCase *down = tcase_create("redis_down");
    tcase_add_checked_fixture(rules, rule_setup, rule_teardown);
    tcase_add_test(rules, rule_defaults);
    tcase_add_test(rules, rule_settings);
    tcase_add_test(rules, rule_errors);
    tcase_add_test(rules, rule_error_messages_name_the_fix);
    tcase_add_test(rules, rate_parser);
    tcase_add_test(rules, rule_buckets_cover_the_window);
    tcase_add_test(rules, rule_id_is_stable);
    tcase_add_test(rules, rules_past_the_cap_fail_configtest);
    suite_add_tcase(s, rules);

    tcase_add_checked_fixture(local, local_setup, local_teardown);
    tcase_add_test(local, local_limit_and_values);
    tcase_add_test(local, local_all_or_nothing);
    tcase_add_test(local, local_refusal_reports_the_refusing_key);
    tcase_add_test(local, local_without_table_or_too_many_keys);
    tcase_add_test(local, local_full_table_never_lets_more_through);
    tcase_add_test(local, local_collision_keeps_count);
    tcase_add_test(local, local_shared_across_processes);
    tcase_add_test(local, local_survives_a_dead_lock_holder);
    suite_add_tcase(s, local);

    tcase_add_checked_fixture(redis, redis_setup, redis_teardown);
    tcase_set_timeout(redis, 30);
    tcase_add_test(redis, redis_exact_limit_and_refusals_uncounted);
    tcase_add_test(redis, redis_headers_and_429);
    tcase_add_test(redis, redis_key_has_ttl);
    tcase_add_test(redis, redis_short_window_frees_capacity);
    tcase_add_test(redis, redis_sliding_window_holds_the_limit);
    tcase_add_test(redis, redis_refused_by_one_rule_counts_on_none);
    tcase_add_test(redis, redis_scopes);
    tcase_add_test(redis, leases_cut_round_trips_and_stay_exact);
    tcase_add_test(redis, leases_off_decides_each_request);
    tcase_add_test(redis, dead_lease_units_are_given_back);
    tcase_add_test(redis, redis_env_scope_and_prefix_boundary);
    tcase_add_test(redis, redis_limit_holds_under_concurrency);
    tcase_add_test(redis, preflight_is_not_limited);
    suite_add_tcase(s, redis);

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
