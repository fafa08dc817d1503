/*
 * it_signin.c: password sign-in under parallel load, in a real apache2 with
 * a real redis-server: the throttle holds against bursts (one user from one
 * address, many users from one address) and checks nothing without Redis;
 * the per-process bound on password hashes answers 503 + Retry-After when
 * full; and a burst of sign-ins with made-up usernames does not leave the
 * gateway's memory grown. The throttle's burst tests run again on a
 * three-master Redis Cluster ("throttle_cluster").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_cluster.h"

#define ADMIN_KEY "it-admin-key-0123456789abcdef"
#define PAIR_LIMIT 5
#define ADDRESS_LIMIT 50
#define MIB 1024L

static const char *const signin_headers[] = {"X-Device-Id: it-device",
                                             "Content-Type: text/plain;charset=UTF-8", NULL};

/* httpd with `mpm_lines` and the auth plugin with `auth_lines` added. */
static void start_gateway(const char *mpm_lines, const char *auth_lines)
{
    static char site[8192];
    it_setup();
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    snprintf(site, sizeof(site),
             "%s%s<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  admin_key file:%s/admin.key\n"
             "%s"
             "</CloudBasePlugin>\n",
             mpm_lines, it_default_site(), it.dir, it.dir, auth_lines);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* Two processes, so a burst races across processes as well as threads. */
#define TWO_PROCESSES "StartServers 2\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n" \
                      "MinSpareThreads 32\nMaxSpareThreads 32\n"

static void start_throttled(void)
{
    char lines[256];
    snprintf(lines, sizeof(lines), "  scrypt_n 1024\n  signin_max_failures %d\n"
             "  signin_max_ip_failures %d\n", PAIR_LIMIT, ADDRESS_LIMIT);
    start_gateway(TWO_PROCESSES, lines);
}

static long sign_in(const char *username, const char *password)
{
    char body[256];
    it_response r;
    long status;
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    it_request("POST", "/auth/v1/signin", signin_headers, body, &r);
    status = r.status;
    it_free(&r);
    return status;
}

static void create_user(const char *username, const char *password)
{
    char body[256];
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, NULL};
    it_response r;
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    it_request("POST", "/auth/v1/admin/users", headers, body, &r);
    ck_assert_msg(r.status == 201, "creating %s: %ld %s", username, r.status, r.body);
    it_free(&r);
}

/* Every request body is its own string in one buffer of `total` slots. */
static char **bodies_new(int total)
{
    char **bodies = calloc((size_t)total, sizeof(char *));
    ck_assert_ptr_nonnull(bodies);
    for (int i = 0; i < total; i++)
        ck_assert_ptr_nonnull(bodies[i] = malloc(128));
    return bodies;
}

static void bodies_free(char **bodies, int total)
{
    for (int i = 0; i < total; i++)
        free(bodies[i]);
    free(bodies);
}

typedef struct tally {
    int ok, wrong, throttled, busy, other;
} tally;

static tally count(const it_response *r, int total)
{
    tally t = {0, 0, 0, 0, 0};
    for (int i = 0; i < total; i++) {
        switch (r[i].status) {
        case 200: t.ok++; break;
        case 400: t.wrong++; break;
        case 429: t.throttled++; break;
        case 503: t.busy++; break;
        default:
            if (t.other++ == 0)
                fprintf(stderr, "answer %d: %ld %s\n", i, r[i].status, r[i].body);
        }
    }
    return t;
}

static void free_all(it_response *r, int total)
{
    for (int i = 0; i < total; i++)
        it_free(&r[i]);
    free(r);
}

/* 80 guesses at once for one user from one address, the right password at
 * a random place among them: at most PAIR_LIMIT wrong passwords are ever
 * checked, everything past the limit is refused (429), and the right one
 * only gets through when it was among the first attempts. */
START_TEST(parallel_guesses_cannot_pass_the_throttle)
{
    enum { TOTAL = 80 };
    const char *right = "the right password 1";
    char **bodies = bodies_new(TOTAL);
    it_response *r = calloc(TOTAL, sizeof(*r));
    int position;
    tally t;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    position = rand() % TOTAL;
    create_user("victim", right);
    /* Successful sign-ins give their slot back: more than the limit in a row
     * all succeed. */
    for (int i = 0; i < PAIR_LIMIT + 2; i++)
        ck_assert_int_eq(sign_in("victim", right), 200);
    for (int i = 0; i < TOTAL; i++)
        snprintf(bodies[i], 128, "{\"username\":\"victim\",\"password\":\"%s\"}",
                 i == position ? right : "a wrong guess");
    it_parallel_each(NULL, "POST", "/auth/v1/signin", signin_headers,
                     (const char *const *)bodies, TOTAL, TOTAL, r);
    t = count(r, TOTAL);
    fprintf(stderr, "right password at %d: answered %ld; %d wrong checked, %d refused\n",
            position, r[position].status, t.wrong, t.throttled);
    ck_assert_int_eq(t.other + t.busy, 0);
    ck_assert_msg(t.wrong <= PAIR_LIMIT, "%d wrong passwords were checked (limit %d)", t.wrong,
                  PAIR_LIMIT);
    ck_assert_int_eq(t.wrong + t.ok + t.throttled, TOTAL);
    ck_assert_int_ne(r[position].status, 400);
    ck_assert_int_le(t.ok, 1);
    if (t.ok == 0) {
        /* The limit was reached by wrong guesses: the right password is
         * refused for the rest of the window. */
        ck_assert_int_eq(t.wrong, PAIR_LIMIT);
        ck_assert_int_eq(sign_in("victim", right), 429);
    }
    free_all(r, TOTAL);
    bodies_free(bodies, TOTAL);
}
END_TEST

/* 300 attempts at once for 300 different (unknown) users from one address:
 * no more than the per-address limit are checked. */
START_TEST(address_limit_holds_under_parallel_attempts)
{
    enum { TOTAL = 300 };
    char **bodies = bodies_new(TOTAL);
    it_response *r = calloc(TOTAL, sizeof(*r));
    tally t;
    for (int i = 0; i < TOTAL; i++)
        snprintf(bodies[i], 128, "{\"username\":\"nobody%03d\",\"password\":\"guess\"}", i);
    it_parallel_each(NULL, "POST", "/auth/v1/signin", signin_headers,
                     (const char *const *)bodies, TOTAL, TOTAL, r);
    t = count(r, TOTAL);
    fprintf(stderr, "%d of %d checked, %d refused\n", t.wrong, TOTAL, t.throttled);
    ck_assert_int_eq(t.other + t.busy + t.ok, 0);
    ck_assert_int_eq(t.wrong + t.throttled, TOTAL);
    ck_assert_int_gt(t.wrong, 0);
    ck_assert_msg(t.wrong <= ADDRESS_LIMIT, "%d passwords were checked (limit %d)", t.wrong,
                  ADDRESS_LIMIT);
    /* Another address is not affected. */
    {
        it_response one;
        it_request_from("127.0.0.2", "POST", "/auth/v1/signin", signin_headers,
                        "{\"username\":\"nobody000\",\"password\":\"guess\"}", &one);
        ck_assert_int_eq(one.status, 400);
        it_free(&one);
    }
    free_all(r, TOTAL);
    bodies_free(bodies, TOTAL);
}
END_TEST

/* Without Redis no attempt can be counted, so none is checked: 503
 * temporarily_unavailable with Retry-After, as documented. */
START_TEST(redis_down_checks_no_password)
{
    it_response r;
    create_user("carol", "carols password 1");
    it_redis_kill();
    it_request("POST", "/auth/v1/signin", signin_headers,
               "{\"username\":\"carol\",\"password\":\"carols password 1\"}", &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"temporarily_unavailable\""));
    ck_assert_ptr_nonnull(it_header(&r, "Retry-After"));
    it_free(&r);
}
END_TEST

/* One hash at a time, a 20 ms queue and hashes that take longer: a burst
 * gets 503 + Retry-After in the OAuth dialect for what did not fit, and
 * attempts refused that way are not counted by the throttle. */
START_TEST(full_hash_bound_answers_503)
{
    enum { TOTAL = 40 };
    char **bodies = bodies_new(TOTAL);
    it_response *r = calloc(TOTAL, sizeof(*r));
    tally t;
    char lines[256];
    snprintf(lines, sizeof(lines), "  scrypt_n 16384\n  max_concurrent_hashes 1\n"
             "  hash_queue_wait 20ms\n  signin_max_ip_failures %d\n", TOTAL);
    start_gateway("ServerLimit 1\nStartServers 1\nThreadsPerChild 16\nMaxRequestWorkers 16\n",
                  lines);
    for (int i = 0; i < TOTAL; i++)
        snprintf(bodies[i], 128, "{\"username\":\"made-up-%d\",\"password\":\"guess\"}", i);
    it_parallel_each(NULL, "POST", "/auth/v1/signin", signin_headers,
                     (const char *const *)bodies, TOTAL, TOTAL, r);
    t = count(r, TOTAL);
    fprintf(stderr, "%d checked, %d answered 503\n", t.wrong, t.busy);
    ck_assert_int_eq(t.other + t.ok + t.throttled, 0);
    ck_assert_int_gt(t.wrong, 0);
    ck_assert_int_gt(t.busy, 0);
    for (int i = 0; i < TOTAL; i++) {
        const char *retry = it_header(&r[i], "Retry-After");
        if (r[i].status != 503)
            continue;
        ck_assert_msg(retry && atoi(retry) >= 1, "503 without Retry-After: %s", r[i].headers);
        ck_assert_msg(strstr(r[i].body, "\"error\":\"temporarily_unavailable\"") &&
                      strstr(r[i].body, "\"error_description\""), "%s", r[i].body);
    }
    /* The per-address limit is TOTAL: the 503s gave their slots back, so
     * the address can still be checked. */
    ck_assert_int_eq(sign_in("made-up-x", "guess"), 400);
    free_all(r, TOTAL);
    bodies_free(bodies, TOTAL);
    it_teardown();
}
END_TEST

/* 2,000 sign-ins with made-up usernames, 200 at a time, at the default
 * scrypt cost (16 MiB a hash) and hash bound, on two processes of 25
 * threads: the gateway's resident memory grows by less than 100 MiB. */
START_TEST(unknown_user_burst_leaves_memory_bounded)
{
    enum { TOTAL = 2000 };
    char **bodies = bodies_new(TOTAL);
    it_response *r = calloc(TOTAL, sizeof(*r));
    long idle, after;
    tally t;
    const char *preload = getenv("CB_APACHE_PRELOAD");
    if (preload && *preload) {
        /* Under the sanitizers, httpd allocates with ASan's allocator, whose
         * quarantine holds up to 256 MiB of freed memory by design; without
         * it, what stays is what the module keeps. */
        char options[1024];
        const char *asan = getenv("ASAN_OPTIONS");
        snprintf(options, sizeof(options), "%s%squarantine_size_mb=0", asan ? asan : "",
                 asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", options, 1);
    }
    start_gateway("StartServers 2\nServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 50\n"
                  "MinSpareThreads 50\nMaxSpareThreads 50\n",
                  "  signin_max_failures 100000\n  signin_max_ip_failures 100000\n");
    for (int i = 0; i < 4; i++) /* every process has served a sign-in */
        ck_assert_int_eq(sign_in("warm-up", "guess"), 400);
    idle = it_httpd_rss_kib();
    ck_assert_int_gt(idle, 0);
    for (int i = 0; i < TOTAL; i++)
        snprintf(bodies[i], 128, "{\"username\":\"ghost-%d\",\"password\":\"guess %d\"}", i, i);
    it_parallel_each(NULL, "POST", "/auth/v1/signin", signin_headers,
                     (const char *const *)bodies, TOTAL, 200, r);
    after = it_httpd_rss_kib();
    t = count(r, TOTAL);
    fprintf(stderr, "gateway RSS idle %ld KiB, after %ld KiB (growth %.1f MiB); %d checked, "
            "%d answered 503\n", idle, after, (after - idle) / 1024.0, t.wrong, t.busy);
    ck_assert_int_eq(t.other + t.ok + t.throttled, 0);
    ck_assert_int_gt(t.wrong, 0);
    ck_assert_msg(after - idle < 100 * MIB, "RSS grew by %ld KiB", after - idle);
    free_all(r, TOTAL);
    bodies_free(bodies, TOTAL);
    it_teardown();
}
END_TEST

Suite *signin_suite(void)
{
    Suite *s = suite_create("signin");
    TCase *throttle = tcase_create("throttle");
    TCase *hashes = tcase_create("hash_bound");
    tcase_add_checked_fixture(throttle, start_throttled, it_teardown);
    tcase_set_timeout(throttle, 120);
    tcase_add_test(throttle, parallel_guesses_cannot_pass_the_throttle);
    tcase_add_test(throttle, address_limit_holds_under_parallel_attempts);
    tcase_add_test(throttle, redis_down_checks_no_password);
    suite_add_tcase(s, throttle);
    /* The throttle's scripts on a three-master Redis Cluster. */
    throttle = tcase_create("throttle_cluster");
    tcase_add_checked_fixture(throttle, it_use_cluster, it_use_single_redis);
    tcase_add_checked_fixture(throttle, start_throttled, it_teardown);
    tcase_set_timeout(throttle, 120);
    tcase_add_test(throttle, parallel_guesses_cannot_pass_the_throttle);
    tcase_add_test(throttle, address_limit_holds_under_parallel_attempts);
    suite_add_tcase(s, throttle);
    tcase_set_timeout(hashes, 300);
    tcase_add_test(hashes, full_hash_bound_answers_503);
    tcase_add_test(hashes, unknown_user_burst_leaves_memory_bounded);
    suite_add_tcase(s, hashes);
    return s;
}
