/*
 * it_auth_durable.c: users and API keys of the auth plugin are durable in
 * the database service, Redis only caches them. A Redis FLUSHALL signs
 * everyone out but every user signs in again and every key still works;
 * users and keys of the old Redis-only layout are moved to the database on
 * start-up; with the database down, sign-in and key checks that the caches
 * cannot answer get 503 (never a crash, never an allow) while requests with
 * a token go on; configtest asks for a database. The same cases run on
 * SQLite and on a real PostgreSQL.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "postgres.h"

#define ADMIN_KEY "it-admin-key-0123456789abcdef"
#define CACHE_BOUND_MS 300

static srv_pg pg;
static int use_pg;

static const char *conf_path(void)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  admin_key file:%s/admin.key\n"
             "  session_cache_ttl %dms\n"
             "  scrypt_n 1024\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, CACHE_BOUND_MS);
    return it_write_config("httpd.conf", "event", site);
}

static void start_httpd(void)
{
    if (!it_httpd_start(conf_path())) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* Redis, upstream and (for the postgres case) PostgreSQL; no httpd yet. */
static void setup_stores(void)
{
    char line[512];
    it_setup();
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    if (use_pg) {
        ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
        snprintf(it.database, sizeof(it.database), "%s",
                 srv_pg_database_line(&pg, "timeout=1s connect_timeout=1s", line, sizeof(line)));
    }
}

static void teardown_stores(void)
{
    it_teardown();
    if (use_pg)
        srv_pg_destroy(&pg);
}

static json_t *call(const char *method, const char *path, const char *bearer,
                    const char *body, long expect_status)
{
    char auth[4200];
    const char *headers[3] = {"X-Device-Id: it-device", NULL, NULL};
    it_response r;
    json_t *v;
    if (bearer) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        headers[1] = auth;
    }
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status == expect_status, "%s %s: %ld, expected %ld: %s", method, path,
                  r.status, expect_status, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "%s %s: not JSON: %s", method, path, r.body);
    it_free(&r);
    return v;
}

static const char *str(json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

static json_t *sign_in(const char *username, const char *password, long expect)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    return call("POST", "/auth/v1/signin", NULL, body, expect);
}

static void redis_cli(const char *args, char *out, size_t size)
{
    char cmd[600];
    FILE *p;
    size_t n;
    snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %d %s 2>&1", it.redis_port, args);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
}

static void flush_redis(void)
{
    char out[64];
    redis_cli("FLUSHALL", out, sizeof(out));
    ck_assert_msg(strncmp(out, "OK", 2) == 0, "FLUSHALL: %s", out);
}

static void restart_httpd(void)
{
    it_httpd_stop(it_gateway_conf_path());
    start_httpd();
}

/* A user and a key made through the admin routes survive FLUSHALL: the
 * old access token is refused once the session cache bound passes, the
 * user signs in again, the key still works, and a revocation after the
 * flush still takes the key away. */
START_TEST(flush_signs_out_but_keeps_users_and_keys)
{
    json_t *user, *key, *t, *again, *me;
    char path[128];
    setup_stores();
    start_httpd();
    user = call("POST", "/auth/v1/admin/users", ADMIN_KEY,
                "{\"username\":\"Dora\",\"password\":\"dora password 1\","
                "\"groups\":[\"ops\"]}", 201);
    key = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY, "{\"name\":\"ci\"}", 201);
    t = sign_in("dora", "dora password 1", 200);
    json_decref(call("GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 200));
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));

    flush_redis();
    usleep((CACHE_BOUND_MS + 200) * 1000);
    /* Sessions were Redis state: signed out. */
    json_decref(call("GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 401));
    /* Users and keys were not. */
    again = sign_in("DORA", "dora password 1", 200);
    ck_assert_str_eq(str(again, "sub"), str(user, "user_id"));
    me = call("GET", "/auth/v1/user/me", str(again, "access_token"), NULL, 200);
    ck_assert_str_eq(str(me, "username"), "Dora");
    json_decref(sign_in("dora", "wrong password", 400));
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));
    /* A restart without persistence changes nothing either. */
    flush_redis();
    restart_httpd();
    json_decref(sign_in("dora", "dora password 1", 200));
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));
    /* Revoking writes the database, then drops the cached key. */
    snprintf(path, sizeof(path), "/auth/v1/admin/apikeys/%s", str(key, "id"));
    json_decref(call("DELETE", path, ADMIN_KEY, NULL, 200));
    usleep((CACHE_BOUND_MS + 200) * 1000);
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 401));
    flush_redis();
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 401));
    json_decref(me);
    json_decref(again);
    json_decref(t);
    json_decref(key);
    json_decref(user);
    teardown_stores();
}
END_TEST

/* Polls until the old records are gone from Redis (the import deleted
 * them after copying); 1 when that happened within ms. */
static int legacy_records_gone(const char *alice_uid, int ms)
{
    char args[200], out[64];
    snprintf(args, sizeof(args), "EXISTS cb:{demo}:user:%s cb:{demo}:apikeys:index", alice_uid);
    for (int waited = 0; waited <= ms; waited += 100) {
        redis_cli(args, out, sizeof(out));
        if (atoi(out) == 0)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* Users and a key written the old way, straight into Redis, are moved to
 * the database on start-up: after FLUSHALL and a restart they sign in and
 * the key works, and the key is in the admin listing. */
START_TEST(redis_only_records_are_imported)
{
    char cmd[900], copy[512], line[400], uid[64], secret[128], id[64];
    const char *upstream = getenv("CB_TEST_UPSTREAM");
    json_t *list, *t;
    FILE *p;
    setup_stores();
    ck_assert_msg(upstream != NULL, "CB_TEST_UPSTREAM is not set (scripts/test.sh sets it)");
    snprintf(copy, sizeof(copy), "%s", upstream);
    snprintf(cmd, sizeof(cmd), "python3 '%s/legacy_auth_writer.py' %d demo", dirname(copy),
             it.redis_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_int_eq(sscanf(line, "%63s %127s %63s", uid, secret, id), 3);

    start_httpd();
    ck_assert_msg(legacy_records_gone(uid, 10000), "the old records were not imported");
    flush_redis();
    restart_httpd();
    t = sign_in("alice", "alice password 1", 200);
    ck_assert_str_eq(str(t, "sub"), uid);
    json_decref(t);
    json_decref(sign_in("bob", "bob password 1", 200));
    json_decref(sign_in("alice", "bob password 1", 400));
    json_decref(call("GET", "/auth/v1/user/me", secret, NULL, 200));
    list = call("GET", "/auth/v1/admin/apikeys", ADMIN_KEY, NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(list, "data")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(list, "data"), 0), "id"), id);
    ck_assert_str_eq(str(json_array_get(json_object_get(list, "data"), 0), "name"), "old-key");
    json_decref(list);
    /* A second start finds nothing more to import and changes nothing. */
    restart_httpd();
    json_decref(sign_in("alice", "alice password 1", 200));
    ck_assert_ptr_null(strstr(it_error_log(), "could not be moved"));
    teardown_stores();
}
END_TEST

/* The database down (PostgreSQL stopped): what the Redis cache holds still
 * answers, what it does not gets 503 in the route's dialect, and requests
 * with an access token do not touch the database at all. */
START_TEST(database_down)
{
    json_t *key, *t, *cached;
    it_response r;
    const char *dev[] = {"X-Device-Id: d", NULL};
    char auth[4200], cmd[300];
    const char *with_token[] = {auth, NULL};
    setup_stores();
    start_httpd();
    json_decref(call("POST", "/auth/v1/admin/users", ADMIN_KEY,
                     "{\"username\":\"erin\",\"password\":\"erin password 1\"}", 201));
    json_decref(call("POST", "/auth/v1/admin/users", ADMIN_KEY,
                     "{\"username\":\"fred\",\"password\":\"fred password 1\"}", 201));
    key = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY, "{\"name\":\"ci\"}", 201);
    t = sign_in("erin", "erin password 1", 200);  /* erin is now cached */
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", str(t, "access_token"));

    /* The test server runs with synchronous_commit=off and stops with an
     * immediate shutdown: write what was committed first. */
    snprintf(cmd, sizeof(cmd), "psql -q -h '%s' -p %d -U cb -d cbtest -c CHECKPOINT", pg.dir,
             pg.port);
    ck_assert_int_eq(system(cmd), 0);
    srv_pg_stop(&pg);
    /* Not cached: 503 in the OAuth dialect, for sign-in... */
    it_request("POST", "/auth/v1/signin", dev,
               "{\"username\":\"fred\",\"password\":\"fred password 1\"}", &r);
    ck_assert_msg(r.status == 503, "%ld: %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "temporarily_unavailable"));
    it_free(&r);
    /* ...and for a key nobody has checked (it has the key's shape). */
    it_request("GET", "/auth/v1/user/me", (const char *[]){
                   "Authorization: Bearer cbk_demo_0123456789abcdef0123456789abcdef", NULL},
               NULL, &r);
    ck_assert_msg(r.status == 503, "%ld: %s", r.status, r.body);
    it_free(&r);
    /* Cached in Redis: still served. */
    cached = sign_in("erin", "erin password 1", 200);
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));
    /* The per-request path: token and session only. */
    it_request("GET", "/v1/test/proxy/echo", with_token, NULL, &r);
    ck_assert_msg(r.status == 200, "%ld: %s", r.status, r.body);
    it_free(&r);
    /* Back up: the uncached user signs in once the breaker lets a probe by. */
    ck_assert_int_eq(srv_pg_start(&pg), 0);
    for (int waited = 0;; waited += 200) {
        it_request("POST", "/auth/v1/signin", dev,
                   "{\"username\":\"fred\",\"password\":\"fred password 1\"}", &r);
        if (r.status == 200 || waited > 10000)
            break;
        it_free(&r);
        usleep(200 * 1000);
    }
    ck_assert_msg(r.status == 200, "%ld: %s", r.status, r.body);
    it_free(&r);
    ck_assert_ptr_null(strstr(it_error_log(), "exit signal"));
    json_decref(cached);
    json_decref(t);
    json_decref(key);
    teardown_stores();
}
END_TEST

/* Without CloudBaseDatabase the plugin fails configtest and says what to
 * add; with it the same site passes. */
START_TEST(configtest_needs_a_database)
{
    char site[2048], output[8192];
    const char *auth_block;
    setup_stores();
    auth_block = "<CloudBasePlugin auth>\n  jwt_secret file:%s/jwt.key\n</CloudBasePlugin>\n";
    snprintf(site, sizeof(site),
             "CloudBaseEnv demo\nCloudBasePluginDir %s\nCloudBaseRedis redis://127.0.0.1:%d\n",
             it_plugin_dir(), it.redis_port);
    snprintf(site + strlen(site), sizeof(site) - strlen(site), auth_block, it.dir);
    ck_assert_int_ne(it_configtest(it_write_config("test.conf", "event", site), output,
                                   sizeof(output)), 0);
    ck_assert_msg(strstr(output, "keeps users and API keys in a database: add CloudBaseDatabase"),
                  "%s", output);
    ck_assert_msg(strstr(output, "CloudBaseDatabase sqlite3:/var/lib/cloudbase/site.db"), "%s",
                  output);
    snprintf(site, sizeof(site), "%s", it_default_site());
    snprintf(site + strlen(site), sizeof(site) - strlen(site), auth_block, it.dir);
    ck_assert_msg(it_configtest(it_write_config("test.conf", "event", site), output,
                                sizeof(output)) == 0, "%s", output);
    teardown_stores();
}
END_TEST

static void sqlite_case(void) { use_pg = 0; }
static void postgres_case(void) { use_pg = 1; }

Suite *auth_durable_suite(void)
{
    Suite *s = suite_create("auth-durable");
    TCase *sqlite = tcase_create("sqlite");
    TCase *postgres = tcase_create("postgres");
    tcase_set_timeout(sqlite, 180);
    tcase_set_timeout(postgres, 240);
    tcase_add_checked_fixture(sqlite, sqlite_case, NULL);
    tcase_add_checked_fixture(postgres, postgres_case, NULL);
    tcase_add_test(sqlite, flush_signs_out_but_keeps_users_and_keys);
    tcase_add_test(sqlite, redis_only_records_are_imported);
    tcase_add_test(sqlite, configtest_needs_a_database);
    tcase_add_test(postgres, flush_signs_out_but_keeps_users_and_keys);
    tcase_add_test(postgres, redis_only_records_are_imported);
    tcase_add_test(postgres, database_down);
    suite_add_tcase(s, sqlite);
    suite_add_tcase(s, postgres);
    return s;
}
