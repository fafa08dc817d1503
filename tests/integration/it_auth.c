/*
 * it_auth.c: the auth plugin in a real apache2 with a real redis-server:
 * anonymous and password sign-in, `me`, refresh rotation and reuse
 * detection, revoke and sign-out (a revoked token stops within the cache
 * bound), the sign-in throttle (an attacker on another loopback address
 * cannot lock the user out), API keys through the admin routes, identity
 * headers for proxied routes, ES256 with key rotation, and Redis going away.
 * The Redis-backed tests run again on a three-master Redis Cluster
 * ("plugin_cluster"). A MONITOR audit checks that every auth script declares the keys it
 * touches in KEYS (so it runs on a Redis Cluster, also while its slot
 * migrates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "harness_cluster.h"
#include "script_audit.h"

#define ADMIN_KEY "it-admin-key-0123456789abcdef"
#define CACHE_BOUND_MS 1000

/* The default site plus the auth plugin; `jwt_lines` chooses the keys. */
static const char *auth_site(const char *jwt_lines)
{
    static char site[8192];
    /* One worker process, so "verified within the bound" (a per-process
     * cache) is deterministic in the Redis-down test. */
    snprintf(site, sizeof(site),
             "ServerLimit 1\nStartServers 1\nThreadsPerChild 16\nMaxRequestWorkers 16\n"
             "%s<CloudBasePlugin auth>\n%s"
             "  admin_key file:%s/admin.key\n"
             "  session_cache_ttl %dms\n"
             "  scrypt_n 1024\n"
             "  signin_max_failures 3\n"
             "</CloudBasePlugin>\n",
             it_default_site(), jwt_lines, it.dir, CACHE_BOUND_MS);
    return site;
}

static void start_with(const char *jwt_lines)
{
    if (!it_httpd_start(it_write_config("httpd.conf", "event", auth_site(jwt_lines)))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(void)
{
    char lines[512];
    it_setup();
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    snprintf(lines, sizeof(lines), "  jwt_secret file:%s/jwt.key\n", it.dir);
    start_with(lines);
}

static json_t *call(const char *method, const char *path, const char *bearer,
                    const char *body, long expect_status)
{
    char auth[4200];
    const char *headers[4] = {"X-Device-Id: it-device", "Content-Type: text/plain;charset=UTF-8",
                              NULL, NULL};
    it_response r;
    json_t *v;
    if (bearer) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        headers[2] = auth;
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

static json_t *create_user(const char *username, const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\",\"groups\":[\"staff\"]}",
             username, password);
    return call("POST", "/auth/v1/admin/users", ADMIN_KEY, body, 201);
}

static json_t *sign_in(const char *username, const char *password, long expect)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    return call("POST", "/auth/v1/signin", NULL, body, expect);
}

START_TEST(anonymous_sign_in_and_me)
{
    json_t *t = call("POST", "/auth/v1/signin/anonymously", NULL, NULL, 200), *me;
    ck_assert_str_eq(str(t, "token_type"), "Bearer");
    ck_assert_str_eq(str(t, "scope"), "anonymous");
    ck_assert_ptr_nonnull(str(t, "refresh_token"));
    ck_assert_int_eq(json_integer_value(json_object_get(t, "expires_in")), 7200);
    ck_assert(json_is_array(json_object_get(t, "groups")));
    me = call("GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 200);
    ck_assert_str_eq(str(me, "name"), "anonymous");
    ck_assert_str_eq(str(me, "sub"), str(t, "sub"));
    json_decref(me);
    json_decref(t);
    /* No device id: refused. Malformed and foreign tokens: 401. */
    {
        it_response r;
        it_request("POST", "/auth/v1/signin/anonymously", NULL, "{}", &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"invalid_request\""));
        it_free(&r);
    }
    json_decref(call("GET", "/auth/v1/user/me", "not.a.token", NULL, 401));
    json_decref(call("GET", "/auth/v1/user/me", NULL, NULL, 401));
}
END_TEST

/* The routes read their bodies with cb_req_read_json_object: 413 past the
 * 64 KiB cap, 400 for what is not one JSON object, in the OAuth dialect;
 * an empty body is {}. */
START_TEST(bodies_capped_and_checked)
{
    size_t big_len = 64 * 1024 + 16;
    char *big = malloc(big_len + 1);
    json_t *v;
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    big[big_len] = '\0';
    v = call("POST", "/auth/v1/signin", NULL, big, 413);
    ck_assert_ptr_nonnull(str(v, "error"));
    ck_assert_ptr_nonnull(strstr(str(v, "error_description"), "larger than 65536 bytes"));
    json_decref(v);
    free(big);
    v = call("POST", "/auth/v1/token", NULL, "[\"grant_type\",\"password\"]", 400);
    ck_assert_str_eq(str(v, "error"), "invalid_request");
    ck_assert_str_eq(str(v, "error_description"), "the request body must be a JSON object");
    json_decref(v);
    v = call("POST", "/auth/v1/token", NULL,
             "{\"grant_type\":\"password\",\"grant_type\":\"refresh_token\"}", 400);
    ck_assert_str_eq(str(v, "error"), "invalid_request");
    ck_assert_ptr_nonnull(strstr(str(v, "error_description"), "same key twice"));
    json_decref(v);
    v = call("POST", "/auth/v1/token", NULL, "{\"grant_type\":", 400);
    ck_assert_ptr_nonnull(strstr(str(v, "error_description"), "not valid JSON (line 1, column"));
    json_decref(v);
    /* empty: {}, so the answer is about the missing grant_type */
    v = call("POST", "/auth/v1/token", NULL, NULL, 400);
    ck_assert_str_eq(str(v, "error_description"), "grant_type is required");
    json_decref(v);
}
END_TEST

START_TEST(password_sign_in_refresh_and_reuse)
{
    json_t *u = create_user("alice", "correct horse battery"), *t, *t2, *me;
    char body[512];
    json_decref(u);
    json_decref(call("POST", "/auth/v1/admin/users", ADMIN_KEY,
                     "{\"username\":\"alice\",\"password\":\"another one\"}", 409));
    t = sign_in("alice", "correct horse battery", 200);
    ck_assert_str_eq(str(t, "scope"), "user");
    me = call("GET", "/auth/v1/user/me", str(t, "access_token"), NULL, 200);
    ck_assert_str_eq(str(me, "username"), "alice");
    ck_assert(json_is_true(json_object_get(me, "has_password")));
    ck_assert_str_eq(str(json_array_get(json_object_get(me, "groups"), 0), "id"), "staff");
    json_decref(me);
    /* Rotation: a new pair; the old refresh token is spent. */
    snprintf(body, sizeof(body), "{\"client_id\":\"demo\",\"client_secret\":\"\","
             "\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}", str(t, "refresh_token"));
    t2 = call("POST", "/auth/v1/token", NULL, body, 200);
    ck_assert_str_ne(str(t2, "refresh_token"), str(t, "refresh_token"));
    ck_assert_str_ne(str(t2, "access_token"), str(t, "access_token"));
    json_decref(call("GET", "/auth/v1/user/me", str(t2, "access_token"), NULL, 200));
    /* Reuse of the spent token revokes the whole session. */
    json_decref(call("POST", "/auth/v1/token", NULL, body, 400));
    usleep((CACHE_BOUND_MS + 200) * 1000);
    json_decref(call("GET", "/auth/v1/user/me", str(t2, "access_token"), NULL, 401));
    snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
             str(t2, "refresh_token"));
    json_decref(call("POST", "/auth/v1/token", NULL, body, 400));
    /* The password grant on /token. */
    json_decref(call("POST", "/auth/v1/token", NULL,
                     "{\"grant_type\":\"password\",\"username\":\"alice\","
                     "\"password\":\"correct horse battery\"}", 200));
    json_decref(call("POST", "/auth/v1/token", NULL, "{\"grant_type\":\"magic\"}", 400));
    json_decref(t);
    json_decref(t2);
}
END_TEST

START_TEST(revoke_and_sign_out)
{
    json_t *a = call("POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
    json_t *b = call("POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
    char body[4300];
    /* The SDK's signOut: POST /auth/v1/revoke {token} without Authorization. */
    snprintf(body, sizeof(body), "{\"token\":\"%s\"}", str(a, "access_token"));
    json_decref(call("POST", "/auth/v1/revoke", NULL, body, 200));
    usleep((CACHE_BOUND_MS + 200) * 1000);
    json_decref(call("GET", "/auth/v1/user/me", str(a, "access_token"), NULL, 401));
    json_decref(call("POST", "/auth/v1/revoke", NULL, "{\"token\":\"unknown\"}", 200));
    json_decref(call("POST", "/auth/v1/user/signout", str(b, "access_token"), "{}", 200));
    usleep((CACHE_BOUND_MS + 200) * 1000);
    json_decref(call("GET", "/auth/v1/user/me", str(b, "access_token"), NULL, 401));
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(throttle_cannot_lock_the_user_out)
{
    const char *attacker[] = {"X-Device-Id: x", NULL};
    const char *body = "{\"username\":\"bob\",\"password\":\"wrong password\"}";
    it_response r;
    json_decref(create_user("bob", "bobs password 1"));
    for (int i = 0; i < 3; i++) {
        it_request_from("127.0.0.2", "POST", "/auth/v1/signin", attacker, body, &r);
        ck_assert_int_eq(r.status, 400);
        it_free(&r);
    }
    it_request_from("127.0.0.2", "POST", "/auth/v1/signin", attacker, body, &r);
    ck_assert_int_eq(r.status, 429);
    ck_assert_ptr_nonnull(it_header(&r, "Retry-After"));
    ck_assert_int_gt(atoi(it_header(&r, "Retry-After")), 0);
    it_free(&r);
    /* The real user, from another address, still signs in. */
    json_decref(sign_in("bob", "bobs password 1", 200));
}
END_TEST

START_TEST(api_keys)
{
    json_t *key = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY,
                       "{\"name\":\"ci\",\"scopes\":[\"functions\"]}", 201), *list, *me;
    const char *secret = str(key, "key");
    char header[256], path[128];
    const char *with_header[] = {header, NULL};
    it_response r;
    ck_assert_ptr_nonnull(strstr(secret, "cbk_demo_"));
    ck_assert_int_eq(strlen(secret), strlen("cbk_demo_") + 32);
    list = call("GET", "/auth/v1/admin/apikeys", ADMIN_KEY, NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(list, "data")), 1);
    ck_assert_ptr_null(strstr(json_dumps(list, 0), secret)); /* shown once only */
    json_decref(list);
    me = call("GET", "/auth/v1/user/me", secret, NULL, 200);
    ck_assert_ptr_nonnull(strstr(str(me, "sub"), "key:"));
    json_decref(me);
    snprintf(header, sizeof(header), "x-api-key: %s", secret);
    it_request("GET", "/auth/v1/user/me", with_header, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    snprintf(header, sizeof(header), "X-API-Key: %s", secret);
    it_request("GET", "/v1/test/private", with_header, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    /* Admin routes are for the admin key only. */
    json_decref(call("GET", "/auth/v1/admin/apikeys", secret, NULL, 403));
    json_decref(call("GET", "/auth/v1/admin/apikeys", NULL, NULL, 401));
    snprintf(path, sizeof(path), "/auth/v1/admin/apikeys/%s", str(key, "id"));
    json_decref(call("DELETE", path, ADMIN_KEY, NULL, 200));
    json_decref(call("DELETE", path, ADMIN_KEY, NULL, 404));
    usleep((CACHE_BOUND_MS + 200) * 1000);
    json_decref(call("GET", "/auth/v1/user/me", secret, NULL, 401));
    json_decref(key);
}
END_TEST

START_TEST(client_credentials_and_key_expiry)
{
    json_t *key = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY, "{\"name\":\"cc\"}", 201);
    json_t *short_lived = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY,
                               "{\"name\":\"short\",\"expires_in\":3}", 201), *t;
    char basic[512], raw[256], encoded[400];
    const char *headers[] = {basic, NULL};
    it_response r;
    FILE *b64;
    /* HTTP Basic "KEY_ID:API_KEY": a key token, no refresh token. */
    snprintf(raw, sizeof(raw), "printf '%%s' '%s:%s' | base64 -w0", str(key, "id"), str(key, "key"));
    b64 = popen(raw, "r");
    ck_assert_ptr_nonnull(fgets(encoded, sizeof(encoded), b64));
    pclose(b64);
    snprintf(basic, sizeof(basic), "Authorization: Basic %s", encoded);
    it_request("POST", "/auth/v1/token/clientCredential", headers,
               "{\"grant_type\":\"client_credentials\"}", &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_null(strstr(r.body, "refresh_token"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"scope\":\"key\""));
    it_free(&r);
    /* The SDK's public client: Basic base64("demo:") gives an anonymous token. */
    snprintf(basic, sizeof(basic), "Authorization: Basic ZGVtbzo=");
    it_request("POST", "/auth/v1/token", headers, "{\"grant_type\":\"client_credentials\"}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"scope\":\"anonymous\""));
    it_free(&r);
    /* A wrong secret is refused. */
    snprintf(basic, sizeof(basic), "Authorization: Basic Zm9vOmJhcg==");
    it_request("POST", "/auth/v1/token/clientCredential", headers, "{}", &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.body, "invalid_client"));
    it_free(&r);
    /* A key expires after expires_in. */
    t = call("GET", "/auth/v1/user/me", str(short_lived, "key"), NULL, 200);
    json_decref(t);
    sleep(4);
    usleep((CACHE_BOUND_MS + 200) * 1000);
    json_decref(call("GET", "/auth/v1/user/me", str(short_lived, "key"), NULL, 401));
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));
    json_decref(short_lived);
    json_decref(key);
}
END_TEST

/* The command-line tool writes users the plugin can sign in. */
START_TEST(cli_creates_users)
{
    const char *cli = getenv("CB_USER_CLI");
    char cmd[1024];
    ck_assert_msg(cli != NULL, "CB_USER_CLI is not set (scripts/test.sh sets it)");
    snprintf(cmd, sizeof(cmd), "echo 'cli password 1' | '%s' --database '%s' "
             "--env demo --scrypt-n 1024 create carol --groups a,b >/dev/null", cli,
             it_database_value());
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_ne(system(cmd), 0); /* the name is taken now */
    json_decref(sign_in("carol", "cli password 1", 200));
    json_decref(sign_in("carol", "wrong password", 400));
}
END_TEST

START_TEST(identity_reaches_upstreams)
{
    json_t *t = call("POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
    char auth[4200], expect[128];
    const char *headers[] = {auth, "X-Cloudbase-Uid: forged-uid", "x-cloudbase-env: other", NULL};
    it_response r;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", str(t, "access_token"));
    it_request("GET", "/v1/test/proxy/echo", headers, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    snprintf(expect, sizeof(expect), "\"x-cloudbase-uid\": \"%s\"", str(t, "sub"));
    ck_assert_msg(strstr(r.body, expect) != NULL, "%s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-cloudbase-env\": \"demo\""));
    ck_assert_ptr_null(strstr(r.body, "forged-uid"));
    it_free(&r);
    json_decref(t);
}
END_TEST

START_TEST(redis_down)
{
    json_t *t = call("POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
    const char *token = str(t, "access_token");
    it_response r;
    const char *dev[] = {"X-Device-Id: d", NULL};
    json_decref(call("GET", "/auth/v1/user/me", token, NULL, 200));
    it_redis_kill();
    /* Verified just now: keeps working within the bound. */
    json_decref(call("GET", "/auth/v1/user/me", token, NULL, 200));
    /* Sign-in needs Redis: a clear 503, fast. */
    it_request("POST", "/auth/v1/signin/anonymously", dev, "{}", &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strstr(r.body, "temporarily_unavailable"));
    ck_assert(r.total_ms < 500);
    it_free(&r);
    usleep((CACHE_BOUND_MS + 200) * 1000);
    /* Refresh and sign-out need Redis too. */
    {
        char body[256];
        snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
                 str(t, "refresh_token"));
        json_decref(call("POST", "/auth/v1/token", NULL, body, 503));
        json_decref(call("POST", "/auth/v1/user/signout", token, "{}", 503));
    }
    /* Past the bound: fails closed. */
    json_decref(call("GET", "/auth/v1/user/me", token, NULL, 503));
    it_redis_restart();
    for (int i = 0; i < 40; i++) {
        it_request("POST", "/auth/v1/signin/anonymously", dev, "{}", &r);
        it_free(&r);
        if (r.status == 200)
            break;
        usleep(100 * 1000);
    }
    ck_assert_int_eq(r.status, 200);
    json_decref(t);
}
END_TEST

START_TEST(es256_with_rotation)
{
    char lines[1024], cmd[1024];
    json_t *old_token, *new_token;
    it_httpd_stop(it_gateway_conf_path());
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && openssl ecparam -name prime256v1 -genkey -noout -out old.pem 2>/dev/null"
             " && openssl ec -in old.pem -pubout -out old.pub 2>/dev/null"
             " && openssl ecparam -name prime256v1 -genkey -noout -out new.pem 2>/dev/null"
             " && chmod 644 *.pem *.pub", it.dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(lines, sizeof(lines), "  jwt_algorithm ES256\n  jwt_key_id old\n"
             "  jwt_private_key %s/old.pem\n", it.dir);
    start_with(lines);
    old_token = call("POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
    /* Rotate: the new key signs, the old public key still verifies. */
    it_httpd_stop(it_gateway_conf_path());
    snprintf(lines, sizeof(lines), "  jwt_algorithm ES256\n  jwt_key_id new\n"
             "  jwt_private_key %s/new.pem\n  jwt_previous_key_id old\n"
             "  jwt_previous_public_key %s/old.pub\n", it.dir, it.dir);
    start_with(lines);
    json_decref(call("GET", "/auth/v1/user/me", str(old_token, "access_token"), NULL, 200));
    new_token = call("POST", "/auth/v1/signin/anonymously", NULL, "{}", 200);
    json_decref(call("GET", "/auth/v1/user/me", str(new_token, "access_token"), NULL, 200));
    /* Without the previous key, old tokens stop verifying. */
    it_httpd_stop(it_gateway_conf_path());
    snprintf(lines, sizeof(lines), "  jwt_algorithm ES256\n  jwt_key_id new\n"
             "  jwt_private_key %s/new.pem\n", it.dir);
    start_with(lines);
    json_decref(call("GET", "/auth/v1/user/me", str(old_token, "access_token"), NULL, 401));
    json_decref(call("GET", "/auth/v1/user/me", str(new_token, "access_token"), NULL, 200));
    json_decref(old_token);
    json_decref(new_token);
}
END_TEST

/* The official @cloudbase/js-sdk (tests/sdk, npm ci) against this gateway:
 * anonymous sign-in, me, a forced refresh (the old refresh token refused),
 * sign-out (the old access token refused), password sign-in. */
START_TEST(official_js_sdk)
{
    const char *sdk_dir = getenv("CB_SDK_DIR");
    char cmd[1024], line[512], last[512] = "";
    FILE *p;
    int status;
    ck_assert_msg(sdk_dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    json_decref(create_user("sdk_user", "sdk_password_1"));
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && GATEWAY=127.0.0.1:%d CLOUDBASE_ENV=demo SDK_USERNAME=sdk_user "
             "SDK_PASSWORD=sdk_password_1 SDK_CACHE_WAIT_MS=%d timeout 120 node auth-sdk-test.js 2>&1",
             sdk_dir, it.http_port, CACHE_BOUND_MS + 200);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        fputs(line, stderr);
        if (strncmp(line, "sdk: ", 5) == 0)
            snprintf(last, sizeof(last), "%s", line);
    }
    status = pclose(p);
    ck_assert_msg(strstr(last, " 0 failed") != NULL && status == 0,
                  "the SDK test failed (exit %d): %s", status, last);
}
END_TEST

/* Every auth script, through the routes that run it, under the audit:
 * create a user, a failed and a good sign-in (throttle reserve and
 * refund, session), refresh rotation and reuse, API key create, list and
 * revoke. */
START_TEST(scripts_declare_their_keys)
{
    srv_audit *audit = srv_audit_start(it.redis_port);
    json_t *t, *key;
    char body[512], path[128], why[512];
    int scripts, commands, violations;
    ck_assert_ptr_nonnull(audit);
    json_decref(create_user("carol", "carols password 1"));
    json_decref(sign_in("carol", "wrong password", 400));
    t = sign_in("carol", "carols password 1", 200);
    snprintf(body, sizeof(body), "{\"client_id\":\"demo\",\"client_secret\":\"\","
             "\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}", str(t, "refresh_token"));
    json_decref(call("POST", "/auth/v1/token", NULL, body, 200));
    json_decref(call("POST", "/auth/v1/token", NULL, body, 400));
    key = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY, "{\"name\":\"audit\"}", 201);
    json_decref(call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY, "{\"name\":\"other\"}", 201));
    json_decref(call("GET", "/auth/v1/admin/apikeys", ADMIN_KEY, NULL, 200));
    snprintf(path, sizeof(path), "/auth/v1/admin/apikeys/%s", str(key, "id"));
    json_decref(call("DELETE", path, ADMIN_KEY, NULL, 200));
    json_decref(call("GET", "/auth/v1/admin/apikeys", ADMIN_KEY, NULL, 200));
    violations = srv_audit_finish(audit, &scripts, &commands, why, sizeof(why));
    ck_assert_msg(violations == 0, "%d undeclared keys: %s", violations, why);
    ck_assert_int_ge(scripts, 9);
    ck_assert_int_ge(commands, 9);
    json_decref(key);
    json_decref(t);
}
END_TEST

/* The tests that run on one Redis and again on a cluster. */
/* Commands the test's Redis has processed so far (INFO stats). */
static long redis_commands_processed(void)
{
    char cmd[256], line[256];
    long n = -1;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d INFO stats 2>&1", it.redis_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, "total_commands_processed:", 25) == 0)
            n = atol(line + 25);
    pclose(p);
    ck_assert_int_ge(n, 0);
    return n;
}

/* A key this process verified within session_cache_ttl answers from the
 * process's own copy of its record: checking it again costs no Redis round
 * trip, and the identity is whole. */
START_TEST(verified_key_checks_need_no_redis)
{
    json_t *key = call("POST", "/auth/v1/admin/apikeys", ADMIN_KEY, "{\"name\":\"kept\"}", 201);
    char sub[128];
    long before;
    snprintf(sub, sizeof(sub), "key:%s", str(key, "id"));
    json_decref(call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200));
    before = redis_commands_processed();
    for (int i = 0; i < 20; i++) {
        json_t *me = call("GET", "/auth/v1/user/me", str(key, "key"), NULL, 200);
        ck_assert_str_eq(str(me, "sub"), sub);
        json_decref(me);
    }
    /* The INFO call itself is one command. */
    ck_assert_int_le(redis_commands_processed() - before, 2);
    json_decref(key);
}
END_TEST

static void add_redis_backed_tests(TCase *tc)
{
    tcase_add_test(tc, anonymous_sign_in_and_me);
    tcase_add_test(tc, bodies_capped_and_checked);
    tcase_add_test(tc, password_sign_in_refresh_and_reuse);
    tcase_add_test(tc, revoke_and_sign_out);
    tcase_add_test(tc, throttle_cannot_lock_the_user_out);
    tcase_add_test(tc, api_keys);
    tcase_add_test(tc, client_credentials_and_key_expiry);
    tcase_add_test(tc, cli_creates_users);
    tcase_add_test(tc, identity_reaches_upstreams);
}

Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("plugin");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 90);
    add_redis_backed_tests(tc);
    tcase_add_test(tc, redis_down);
    tcase_add_test(tc, verified_key_checks_need_no_redis);
    tcase_add_test(tc, scripts_declare_their_keys);
    tcase_add_test(tc, es256_with_rotation);
    tcase_add_test(tc, official_js_sdk);
    suite_add_tcase(s, tc);
    tc = tcase_create("plugin_cluster");
    tcase_add_checked_fixture(tc, it_use_cluster, it_use_single_redis);
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 90);
    add_redis_backed_tests(tc);
    suite_add_tcase(s, tc);
    return s;
}
