/*
 * it_tenants.c: two environments, one per virtual host of one apache2,
 * sharing one redis-server and even one JWT secret (the worst case an
 * operator can configure). Nothing made in environment A is visible or
 * usable in B: access and refresh tokens, API keys, users, the sign-in
 * throttle, rate-limit counters. A wrong Host header lands on the default
 * virtual host and gains nothing; a request that names the other
 * environment (a spoofed X-Cloudbase-Env, a key of the other environment)
 * is refused. Every Redis key either environment wrote carries its own
 * environment's hash tag, and no other. The same tests run again with both
 * environments on one three-master Redis Cluster ("two_environments_cluster"),
 * where each environment's keys must all sit on the master of its slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "harness_cluster.h"

#define ADMIN_A "it-admin-key-tenant-a-0123456789"
#define ADMIN_B "it-admin-key-tenant-b-0123456789"
#define HOST_A "Host: a.tenants.test"
#define HOST_B "Host: b.tenants.test"

static void vhost(char *out, size_t size, const char *name, const char *env,
                  const char *admin_file)
{
    snprintf(out, size,
             "<VirtualHost 127.0.0.1:%d>\n"
             "  ServerName %s\n"
             "  CloudBaseEnv %s\n"
             "  CloudBaseRedis %s connect_timeout=100ms timeout=500ms\n"
             /* One database for both: the env column keeps them apart. */
             "  CloudBaseDatabase %s\n"
             "  CloudBaseRateLimit /v1/test/items 3/1h by=ip\n"
             "  <CloudBasePlugin testplug>\n"
             "    greeting \"%s\"\n"
             "    upstream http://127.0.0.1:%d/\n"
             "  </CloudBasePlugin>\n"
             "  <CloudBasePlugin auth>\n"
             "    jwt_secret file:%s/jwt.key\n"
             "    admin_key file:%s/%s\n"
             "    scrypt_n 1024\n"
             "    signin_max_failures 3\n"
             "  </CloudBasePlugin>\n"
             "</VirtualHost>\n",
             it.http_port, name, env, it_redis_url(), it_database_value(), env,
             it.upstream_port, it.dir, it.dir,
             admin_file);
}

static void start(void)
{
    char site[8192], a[2048], b[2048];
    it_setup();
    /* One secret for both: the env claim alone must keep tokens apart. */
    it_write_file("jwt.key", "it-jwt-secret-shared-by-both-tenants-0123\n");
    it_write_file("admin-a.key", ADMIN_A "\n");
    it_write_file("admin-b.key", ADMIN_B "\n");
    vhost(a, sizeof(a), "a.tenants.test", "tenant-a", "admin-a.key");
    vhost(b, sizeof(b), "b.tenants.test", "tenant-b", "admin-b.key");
    /* A first: httpd's default for a Host it does not know. */
    snprintf(site, sizeof(site), "CloudBasePluginDir %s\n%s%s", it_plugin_dir(), a, b);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* One request to the virtual host named by host_header; the answer's JSON. */
static json_t *call(const char *host_header, const char *method, const char *path,
                    const char *credential, const char *body, long expect_status)
{
    char auth[4200];
    const char *headers[5] = {host_header, "X-Device-Id: it-device",
                              "Content-Type: application/json", NULL, NULL};
    it_response r;
    json_t *v;
    if (credential) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", credential);
        headers[3] = auth;
    }
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status == expect_status, "%s %s %s: %ld, expected %ld: %s", host_header,
                  method, path, r.status, expect_status, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "%s %s: not JSON: %s", method, path, r.body);
    it_free(&r);
    return v;
}

static const char *str(json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    ck_assert_msg(s != NULL, "no string member %s in %s", key, json_dumps(v, 0));
    return s;
}

static json_t *create_user(const char *host, const char *admin, const char *username,
                           const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username,
             password);
    return call(host, "POST", "/auth/v1/admin/users", admin, body, 201);
}

static json_t *sign_in(const char *host, const char *username, const char *password,
                       long expect)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username,
             password);
    return call(host, "POST", "/auth/v1/signin", NULL, body, expect);
}

static json_t *refresh(const char *host, const char *refresh_token, long expect)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
             refresh_token);
    return call(host, "POST", "/auth/v1/token", NULL, body, expect);
}

START_TEST(tokens_and_refresh_tokens_stay_home)
{
    json_t *t = call(HOST_A, "POST", "/auth/v1/signin/anonymously", NULL, "{}", 200), *me;
    me = call(HOST_A, "GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 200);
    json_decref(me);
    /* The same secret signs both, yet B refuses A's token... */
    json_decref(call(HOST_B, "GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 401));
    json_decref(call(HOST_B, "GET", "/v1/test/private", str(t, "access_token"), NULL, 401));
    /* ...and A's refresh token, without spending it at home. */
    json_decref(refresh(HOST_B, str(t, "refresh_token"), 400));
    json_decref(refresh(HOST_A, str(t, "refresh_token"), 200));
    /* An unknown Host lands on A (the first virtual host): B's token gains
     * nothing there either. */
    {
        json_t *tb = call(HOST_B, "POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
        json_decref(call("Host: nobody.example", "GET", "/auth/v1/user/me",
                         str(tb, "access_token"), NULL, 401));
        json_decref(call(HOST_B, "GET", "/auth/v1/user/me", str(tb, "access_token"), NULL, 200));
        json_decref(tb);
    }
    json_decref(t);
}
END_TEST

START_TEST(users_and_the_throttle_are_per_environment)
{
    json_t *t;
    /* Alice of A does not exist in B: same name, same password, refused. */
    json_decref(create_user(HOST_A, ADMIN_A, "alice", "alice password a"));
    json_decref(sign_in(HOST_B, "alice", "alice password a", 400));
    /* B may have its own alice, with her own password; neither reaches the other. */
    json_decref(create_user(HOST_B, ADMIN_B, "alice", "alice password b"));
    json_decref(sign_in(HOST_A, "alice", "alice password b", 400));
    json_decref(sign_in(HOST_B, "alice", "alice password a", 400));
    /* Lock alice out of A (the one failure above and two more make 3;
     * then even her right password gets 429): alice of B still signs in. */
    json_decref(sign_in(HOST_A, "alice", "wrong password", 400));
    json_decref(sign_in(HOST_A, "alice", "wrong password", 400));
    json_decref(sign_in(HOST_A, "alice", "alice password a", 429));
    t = sign_in(HOST_B, "alice", "alice password b", 200);
    /* Her token names B: A refuses it. */
    json_decref(call(HOST_A, "GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 401));
    json_decref(t);
    /* Admin keys are per environment too. */
    json_decref(call(HOST_B, "POST", "/auth/v1/admin/users", ADMIN_A,
                     "{\"username\":\"mallory\",\"password\":\"mallory password\"}", 401));
}
END_TEST

START_TEST(api_keys_stay_home)
{
    json_t *key = call(HOST_A, "POST", "/auth/v1/admin/apikeys", ADMIN_A, "{\"name\":\"ci\"}",
                       201), *list;
    const char *secret = str(key, "key");
    char header[256];
    const char *with_key[] = {HOST_B, header, NULL};
    it_response r;
    ck_assert_ptr_nonnull(strstr(secret, "cbk_tenant-a_"));
    json_decref(call(HOST_A, "GET", "/auth/v1/user/me", secret, NULL, 200));
    json_decref(call(HOST_B, "GET", "/auth/v1/user/me", secret, NULL, 401));
    snprintf(header, sizeof(header), "X-API-Key: %s", secret);
    it_request("GET", "/v1/test/private", with_key, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    /* B's admin lists no key of A's, and cannot revoke it. */
    list = call(HOST_B, "GET", "/auth/v1/admin/apikeys", ADMIN_B, NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(list, "data")), 0);
    json_decref(list);
    {
        char path[160];
        snprintf(path, sizeof(path), "/auth/v1/admin/apikeys/%s", str(key, "id"));
        json_decref(call(HOST_B, "DELETE", path, ADMIN_B, NULL, 404));
    }
    json_decref(call(HOST_A, "GET", "/auth/v1/user/me", secret, NULL, 200));
    json_decref(key);
}
END_TEST

START_TEST(rate_limit_counters_and_spoofed_env)
{
    json_t *v;
    /* A's three requests exhaust A's counter only. */
    for (int i = 0; i < 3; i++)
        json_decref(call(HOST_A, "GET", "/v1/test/items/1", NULL, NULL, 200));
    json_decref(call(HOST_A, "GET", "/v1/test/items/1", NULL, NULL, 429));
    v = call(HOST_B, "GET", "/v1/test/items/1", NULL, NULL, 200);
    ck_assert_str_eq(str(v, "env"), "tenant-b");
    json_decref(v);
    /* Naming the other environment in a header changes nothing: the
     * gateway's own X-Cloudbase-* replace the client's. */
    {
        const char *spoof[] = {HOST_B, "X-Cloudbase-Env: tenant-a", "X_Cloudbase_Env: tenant-a",
                               NULL};
        it_response r;
        it_request("GET", "/v1/test/items/2", spoof, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"env\":\"tenant-b\""));
        it_free(&r);
    }
}
END_TEST

/* The keys of one Redis server ("--scan"), each checked: cb:{tenant-a}:...
 * or cb:{tenant-b}:..., never naming the other environment. Counts them. */
static void scan_keys(int port, int *a, int *b)
{
    char cmd[256], line[1024];
    FILE *p;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d --scan 2>&1", port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "cb:{tenant-a}:", 14) == 0 && !strstr(line + 14, "tenant-b"))
            (*a)++;
        else if (strncmp(line, "cb:{tenant-b}:", 14) == 0 && !strstr(line + 14, "tenant-a"))
            (*b)++;
        else
            ck_abort_msg("Redis key without its environment's hash tag: %s", line);
    }
    pclose(p);
}

/* Every key in Redis after traffic to both: cb:{tenant-a}:... or
 * cb:{tenant-b}:..., so one environment's keys share a slot and never
 * another environment's. On a cluster, each environment's keys are all on
 * the master that serves its slot. */
START_TEST(every_redis_key_carries_its_environment_tag)
{
    int a = 0, b = 0;
    json_t *t;
    json_decref(create_user(HOST_A, ADMIN_A, "carol", "carol password"));
    json_decref(create_user(HOST_B, ADMIN_B, "carol", "carol password"));
    t = sign_in(HOST_A, "carol", "carol password", 200);
    json_decref(refresh(HOST_A, str(t, "refresh_token"), 200));
    json_decref(t);
    json_decref(sign_in(HOST_B, "carol", "wrong password", 400));
    json_decref(call(HOST_B, "POST", "/auth/v1/admin/apikeys", ADMIN_B, "{\"name\":\"k\"}", 201));
    json_decref(call(HOST_A, "GET", "/v1/test/items/1", NULL, NULL, 200));
    json_decref(call(HOST_B, "GET", "/v1/test/items/1", NULL, NULL, 200));
    if (it_cluster_mode()) {
        int port_a = it_redis_port_for_env("tenant-a"), port_b = it_redis_port_for_env("tenant-b");
        const srv_cluster *c = it_cluster();
        for (int i = 0; i < SRV_CLUSTER_NODES; i++) {
            int on_a = 0, on_b = 0;
            scan_keys(c->ports[i], &on_a, &on_b);
            ck_assert_msg(c->ports[i] == port_a || on_a == 0,
                          "%d keys of tenant-a on a master that does not serve its slot", on_a);
            ck_assert_msg(c->ports[i] == port_b || on_b == 0,
                          "%d keys of tenant-b on a master that does not serve its slot", on_b);
            a += on_a;
            b += on_b;
        }
    }
    else
        scan_keys(it.redis_port, &a, &b);
    ck_assert_int_gt(a, 3);
    ck_assert_int_gt(b, 3);
}
END_TEST

static void add_tenant_tests(TCase *tc)
{
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tokens_and_refresh_tokens_stay_home);
    tcase_add_test(tc, users_and_the_throttle_are_per_environment);
    tcase_add_test(tc, api_keys_stay_home);
    tcase_add_test(tc, rate_limit_counters_and_spoofed_env);
    tcase_add_test(tc, every_redis_key_carries_its_environment_tag);
}

Suite *tenants_suite(void)
{
    Suite *s = suite_create("tenants");
    TCase *tc = tcase_create("two_environments");
    add_tenant_tests(tc);
    suite_add_tcase(s, tc);
    tc = tcase_create("two_environments_cluster");
    tcase_add_checked_fixture(tc, it_use_cluster, it_use_single_redis);
    add_tenant_tests(tc);
    suite_add_tcase(s, tc);
    return s;
}
