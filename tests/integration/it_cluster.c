/*
 * it_cluster.c: the gateway on a real three-master Redis Cluster
 * (harness_cluster.h). A slot migration during traffic: while clients sign
 * in, call a rate-limited route (redis_down=closed, so a Redis failure
 * would answer 503) and read their identity, the environment's slot moves
 * to another master the way redis-cli --cluster reshard moves it (SETSLOT
 * IMPORTING / MIGRATING, MIGRATE in small batches, SETSLOT NODE); no
 * request fails. A master killed: a second environment (a second virtual
 * host) whose keys live on another master keeps working while the first
 * environment's routes answer as their redis_down policy says (closed:
 * 503, local: per-node counters), quickly. Bad redis-cluster:// addresses
 * fail configtest.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_cluster.h"

static const char *const device[] = {"X-Device-Id: it-device",
                                     "Content-Type: text/plain;charset=UTF-8", NULL};

/* The default site plus auth and two rate-limited routes (leases=off: every request is decided in Redis). `extra` is
 * appended (a second virtual host). */
static const char *cluster_site(const char *extra)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  admin_key file:%s/admin.key\n"
             "  scrypt_n 1024\n"
             "</CloudBasePlugin>\n"
             "CloudBaseRateLimit /v1/test/items 100000/1h by=ip redis_down=closed leases=off\n"
             "CloudBaseRateLimit /v1/test/echo 100000/1h by=ip redis_down=local leases=off\n"
             "%s",
             it_default_site(), it.dir, it.dir, extra ? extra : "");
    return site;
}

static void start_gateway(const char *extra)
{
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", "it-admin-key-0123456789abcdef\n");
    if (!it_httpd_start(it_write_config("httpd.conf", "event", cluster_site(extra)))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(void)
{
    it_setup();
    ck_assert_ptr_nonnull(it_cluster());
}

typedef struct traffic {
    volatile int stop;
    int requests, failures;
    long failed_status;
    char failed_what[256];
} traffic;

static void note(traffic *t, const char *what, const it_response *r, long expect)
{
    t->requests++;
    if (r->status == expect)
        return;
    if (t->failures++ == 0) {
        t->failed_status = r->status;
        snprintf(t->failed_what, sizeof(t->failed_what), "%s: %.200s", what, r->body);
    }
}

/* One client: anonymous sign-in (a session script), the closed rate-limited
 * route (the window script), and `me` with the new token. */
static void *client_loop(void *arg)
{
    traffic *t = arg;
    while (!t->stop) {
        it_response r;
        char bearer[4200];
        const char *auth[] = {bearer, NULL};
        const char *token;
        it_request("POST", "/auth/v1/signin/anonymously", device, NULL, &r);
        note(t, "sign-in", &r, 200);
        token = r.status == 200 ? strstr(r.body, "\"access_token\":\"") : NULL;
        if (token) {
            token += strlen("\"access_token\":\"");
            snprintf(bearer, sizeof(bearer), "Authorization: Bearer %.*s",
                     (int)strcspn(token, "\""), token);
        }
        it_free(&r);
        it_request("GET", "/v1/test/items/1", NULL, NULL, &r);
        note(t, "rate-limited route", &r, 200);
        it_free(&r);
        if (token) {
            it_request("GET", "/auth/v1/user/me", auth, NULL, &r);
            note(t, "me", &r, 200);
            it_free(&r);
        }
    }
    return NULL;
}

typedef struct migration_pace {
    traffic *t;
    int batches;
    int requests_at_first_batch;
} migration_pace;

/* Between MIGRATE batches: let some requests through in each state. */
static void between_batches(void *arg)
{
    migration_pace *pace = arg;
    int seen = pace->t->requests;
    if (pace->batches++ == 0)
        pace->requests_at_first_batch = seen;
    for (int i = 0; i < 100 && pace->t->requests < seen + 3; i++)
        usleep(5 * 1000);
}

START_TEST(slot_migration_during_traffic)
{
    enum { CLIENTS = 4 };
    srv_cluster *c = it_cluster();
    traffic t[CLIENTS];
    pthread_t threads[CLIENTS];
    migration_pace pace = {0};
    int from, to, total = 0, failures = 0;
    char slot_text[32];
    start_gateway(NULL);
    ck_assert_int_eq(srv_cluster_cli(c, 0, slot_text, sizeof(slot_text), "CLUSTER", "KEYSLOT",
                                     "{demo}", NULL), 0);
    from = srv_cluster_slot_owner(c, atoi(slot_text));
    ck_assert_int_ge(from, 0);
    to = (from + 1) % SRV_CLUSTER_NODES;
    memset(t, 0, sizeof(t));
    for (int i = 0; i < CLIENTS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, client_loop, &t[i]), 0);
    /* Keys to move: wait until the clients made some. */
    for (int i = 0; i < 200 && t[0].requests < 30; i++)
        usleep(10 * 1000);
    pace.t = &t[0];
    ck_assert_int_eq(srv_cluster_migrate_slot(c, atoi(slot_text), from, to, 20, between_batches,
                                              &pace), 0);
    {
        int seen = t[0].requests;
        for (int i = 0; i < 200 && t[0].requests < seen + 10; i++)
            usleep(10 * 1000);
    }
    for (int i = 0; i < CLIENTS; i++) {
        t[i].stop = 1;
        pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < CLIENTS; i++) {
        total += t[i].requests;
        failures += t[i].failures;
        ck_assert_msg(t[i].failures == 0, "%d of %d requests failed; first: %ld %s",
                      t[i].failures, t[i].requests, t[i].failed_status, t[i].failed_what);
    }
    ck_assert_int_eq(srv_cluster_slot_owner(c, atoi(slot_text)), to);
    ck_assert_int_ge(pace.batches, 4);
    ck_assert_int_gt(t[0].requests, pace.requests_at_first_batch + 3 * pace.batches);
    fprintf(stderr, "slot migration: %d requests, %d failed, %d MIGRATE batches\n", total,
            failures, pace.batches);
}
END_TEST

/* The first candidate environment whose keys live on another master than
 * demo's. */
static const char *env_elsewhere(int demo_port)
{
    static const char *const candidates[] = {"other", "tenant-b", "env2", "beta", "gamma",
                                             "delta", "epsilon", "zeta", NULL};
    for (int i = 0; candidates[i]; i++)
        if (it_redis_port_for_env(candidates[i]) != demo_port)
            return candidates[i];
    return NULL;
}

static long timed_status(const char *path, const char *const *headers, double *ms)
{
    it_response r;
    long status;
    it_request("GET", path, headers, NULL, &r);
    status = r.status;
    *ms = r.total_ms;
    it_free(&r);
    return status;
}

START_TEST(killed_master_fails_only_its_slots)
{
    srv_cluster *c = it_cluster();
    int demo_port = it_redis_port_for_env("demo"), victim = -1;
    const char *other = env_elsewhere(demo_port);
    char vhosts[1024], host[128];
    const char *other_host[] = {host, NULL};
    double ms;
    ck_assert_ptr_nonnull(other);
    /* The first virtual host is the default (demo, inherited); the second
     * serves `other`, whose keys live on another master. */
    snprintf(vhosts, sizeof(vhosts),
             "<VirtualHost 127.0.0.1:%d>\n  ServerName 127.0.0.1\n</VirtualHost>\n"
             "<VirtualHost 127.0.0.1:%d>\n  ServerName other.test\n  CloudBaseEnv %s\n"
             "</VirtualHost>\n", it.http_port, it.http_port, other);
    snprintf(host, sizeof(host), "Host: other.test");
    start_gateway(vhosts);
    ck_assert_int_eq(timed_status("/v1/test/items/1", NULL, &ms), 200);
    ck_assert_int_eq(timed_status("/v1/test/items/1", other_host, &ms), 200);
    for (int i = 0; i < SRV_CLUSTER_NODES; i++)
        if (c->ports[i] == demo_port)
            victim = i;
    ck_assert_int_ge(victim, 0);
    srv_cluster_kill_node(c, victim);
    /* demo: closed answers 503, local serves from per-node counters; both
     * well within the Redis timeout once the breaker is open. */
    ck_assert_int_eq(timed_status("/v1/test/items/1", NULL, &ms), 503);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(timed_status("/v1/test/items/1", NULL, &ms), 503);
        ck_assert_msg(ms < 150, "a fast failure took %.0f ms", ms);
        ck_assert_int_eq(timed_status("/v1/test/echo", NULL, &ms), 200);
    }
    /* other: its master is alive, so it keeps counting in Redis. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(timed_status("/v1/test/items/1", other_host, &ms), 200);
    {
        it_response r;
        it_request("POST", "/auth/v1/signin/anonymously", (const char *const[]){
                       "X-Device-Id: it-device", host, NULL}, NULL, &r);
        ck_assert_msg(r.status == 200, "sign-in on the live master: %ld %s", r.status, r.body);
        it_free(&r);
        it_request("POST", "/auth/v1/signin/anonymously", device, NULL, &r);
        ck_assert_int_eq(r.status, 503);
        it_free(&r);
    }
}
END_TEST

static int configtest_redis(const char *address, char *output, size_t size)
{
    char site[1024];
    snprintf(site, sizeof(site), "CloudBaseEnv demo\nCloudBasePluginDir %s\nCloudBaseRedis %s\n",
             it_plugin_dir(), address);
    return it_configtest(it_write_config("test.conf", "event", site), output, size);
}

/* redis-cluster:// addresses are checked at configtest, with the fix in
 * the message. */
START_TEST(cluster_address_checked_at_configtest)
{
    static const struct {
        const char *address, *needle;
    } bad[] = {
        {"redis-cluster://127.0.0.1", "the port is required"},
        {"redis-cluster://127.0.0.1:7000,", "separated by single commas"},
        {"redis-cluster://127.0.0.1:7000/0", "database 0"},
        {"redis-cluster://127.0.0.1:0", "from 1 to 65535"},
        {"rediscluster://127.0.0.1:7000", "redis-cluster://HOST:PORT,HOST:PORT"},
    };
    char output[8192];
    ck_assert_msg(configtest_redis("redis-cluster://127.0.0.1:7000,[::1]:7001 timeout=150ms",
                                   output, sizeof(output)) == 0, "%s", output);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(configtest_redis(bad[i].address, output, sizeof(output)) != 0,
                      "%s passed configtest", bad[i].address);
        ck_assert_msg(strstr(output, bad[i].needle) && strstr(output, "test.conf"),
                      "%s: no '%s' in:\n%s", bad[i].address, bad[i].needle, output);
    }
}
END_TEST

Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("failover");
    tcase_add_checked_fixture(tc, it_use_cluster, it_use_single_redis);
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, slot_migration_during_traffic);
    tcase_add_test(tc, killed_master_fails_only_its_slots);
    suite_add_tcase(s, tc);
    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_add_test(tc, cluster_address_checked_at_configtest);
    suite_add_tcase(s, tc);
    return s;
}
