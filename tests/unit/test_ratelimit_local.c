/*
 * test_ratelimit_local.c: the "rules" and "local" tcases of the ratelimit
 * suite (test_ratelimit.c). The rule parser (ratelimit_rule.c): valid and
 * invalid rules, the bucket layout and the stable rule id, the per-request
 * rule cap. The per-node fallback counters (ratelimit_local.c): the limit,
 * all-or-nothing across keys, window resets, remaining and reset values,
 * slot collisions, and sharing across processes.
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

#include "ratelimit.h"
#include "test_ratelimit.h"

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

void ratelimit_add_rule_and_local_cases(Suite *s)
{
    TCase *rules = tcase_create("rules");
    TCase *local = tcase_create("local");
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
}
