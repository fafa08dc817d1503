/*
 * it_wallet_keys.c: the TOSE api-keys routes of the wallet plugin in a real
 * apache2 with the auth plugin (its "auth.apikeys" service) and Redis:
 *   api_keys_create_list_revoke: the admin key creates a key ("tose_sk_",
 *     shown once with its display prefix), the key then opens the wallet
 *     routes in X-API-Key, the listing shows it without its secret, a
 *     plain key may not manage keys, bad input (name missing or too long,
 *     expires_in_days out of range or not a whole number, an unknown id) is
 *     refused in the TOSE dialect, and a revoked key stops working.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define ADMIN_KEY IT_ADMIN_KEY
#define ADMIN "X-API-Key: " ADMIN_KEY
#define KEYS "/api/workspaces/demo/api-keys"
#define WALLET "/api/workspaces/demo/wallet"

static void start(void)
{
    const char *site;
    it_setup();
    site = it_auth_site("  session_cache_ttl 200ms\n", "<CloudBasePlugin wallet>\n"
                                                        "  currency VND\n"
                                                        "</CloudBasePlugin>\n");
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* A request with one header line; checks the status, returns the JSON and
 * (when raw is given) the body as received. */
static json_t *call(const char *method, const char *path, const char *header, const char *body,
                    long expect, char **raw)
{
    const char *headers[3] = {"Content-Type: application/json", header, NULL};
    it_response r;
    json_t *v;
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status == expect, "%s %s %s: %ld, expected %ld: %s", method, path,
                  body ? body : "", r.status, expect, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r.body);
    if (raw)
        *raw = strdup(r.body);
    it_free(&r);
    return v;
}

static void expect_error(const char *method, const char *path, const char *header,
                         const char *body, long status, const char *words)
{
    json_t *v = call(method, path, header, body, status, NULL);
    const char *error = json_string_value(json_object_get(v, "error"));
    ck_assert_msg(json_is_false(json_object_get(v, "success")), "%s: not a TOSE error", body);
    ck_assert_msg(error && strstr(error, words), "%s %s: error '%s' lacks '%s'", path,
                  body ? body : "", error, words);
    json_decref(v);
}

static long status_of(const char *path, const char *header)
{
    const char *headers[2] = {header, NULL};
    it_response r;
    long status;
    it_request("GET", path, headers, NULL, &r);
    status = r.status;
    it_free(&r);
    return status;
}

START_TEST(api_keys_create_list_revoke)
{
    json_t *v, *data, *list;
    char header[160], *raw, name101[128], body[256];
    const char *key, *prefix, *id;
    int found = 0, refused_in_a_row = 0;
    long long deadline;
    start();

    /* Created once, by the admin key: the whole key, its display prefix. */
    v = call("POST", KEYS, ADMIN, "{\"name\":\"ci\",\"expires_in_days\":90}", 201, NULL);
    data = json_object_get(v, "data");
    ck_assert(json_is_true(json_object_get(v, "success")));
    key = json_string_value(json_object_get(data, "key"));
    prefix = json_string_value(json_object_get(data, "key_prefix"));
    id = json_string_value(json_object_get(data, "id"));
    ck_assert_msg(key && strncmp(key, "tose_sk_", 8) == 0 && strlen(key) == 8 + 32, "key %s", key);
    ck_assert_msg(prefix && strlen(prefix) < strlen(key) && strncmp(key, prefix, strlen(prefix)) == 0 &&
                  strncmp(prefix, "tose_sk_", 8) == 0, "prefix %s of %s", prefix, key);
    ck_assert_msg(id && strlen(id) == 32, "id %s", id);
    ck_assert_msg(json_is_string(json_object_get(data, "expires_at")), "no expiry");
    snprintf(header, sizeof(header), "X-API-Key: %s", key);
    id = strdup(id);

    /* The key opens the wallet's routes, but does not manage keys. */
    json_decref(call("GET", WALLET, header, NULL, 200, NULL));
    expect_error("POST", KEYS, header, "{\"name\":\"more\"}", 403, "admin key");
    expect_error("GET", KEYS, header, NULL, 403, "admin key");
    expect_error("GET", KEYS, NULL, NULL, 401, "");
    expect_error("GET", "/api/workspaces/other/api-keys", ADMIN, NULL, 403, "workspace");

    /* Listed, never with its secret. */
    list = json_object_get(call("GET", KEYS, ADMIN, NULL, 200, &raw), "data");
    ck_assert_msg(strstr(raw, key + 8) == NULL, "the listing shows the secret: %s", raw);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *k = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(k, "id")), id) == 0) {
            found = 1;
            ck_assert_str_eq(json_string_value(json_object_get(k, "key_prefix")), prefix);
            ck_assert_str_eq(json_string_value(json_object_get(k, "name")), "ci");
            ck_assert(json_object_get(k, "key") == NULL);
        }
    }
    ck_assert_msg(found, "the new key is not listed: %s", raw);
    free(raw);

    /* Bad input, in the TOSE dialect; nothing is created. */
    memset(name101, 'n', 101);
    name101[101] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name101);
    expect_error("POST", KEYS, ADMIN, "{}", 400, "name is required");
    expect_error("POST", KEYS, ADMIN, "{\"name\":\"\"}", 400, "name is required");
    expect_error("POST", KEYS, ADMIN, "{\"name\":7}", 400, "name is required");
    expect_error("POST", KEYS, ADMIN, body, 400, "1 to 100 characters");
    expect_error("POST", KEYS, ADMIN, "{\"name\":\"x\",\"expires_in_days\":0}", 400,
                 "expires_in_days");
    expect_error("POST", KEYS, ADMIN, "{\"name\":\"x\",\"expires_in_days\":3651}", 400,
                 "expires_in_days");
    expect_error("POST", KEYS, ADMIN, "{\"name\":\"x\",\"expires_in_days\":-1}", 400,
                 "expires_in_days");
    expect_error("POST", KEYS, ADMIN, "{\"name\":\"x\",\"expires_in_days\":1.5}", 400,
                 "expires_in_days");
    expect_error("POST", KEYS, ADMIN, "{\"name\":\"x\",\"expires_in_days\":\"90\"}", 400,
                 "expires_in_days");
    v = call("GET", KEYS, ADMIN, NULL, 200, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(v, "data")), 1);
    json_decref(v);
    expect_error("DELETE", KEYS "/0123456789abcdef0123456789abcdef", ADMIN, NULL, 404,
                 "no API key");
    expect_error("DELETE", KEYS "/not-an-id", ADMIN, NULL, 404, "no API key");
    expect_error("DELETE", KEYS "/x", header, NULL, 403, "admin key");

    /* Revoked: gone from the listing, and refused by every process once
     * the staleness bound (200ms here) has passed. */
    {
        char path[128];
        snprintf(path, sizeof(path), KEYS "/%s", id);
        v = call("DELETE", path, ADMIN, NULL, 200, NULL);
        ck_assert(json_is_true(json_object_get(json_object_get(v, "data"), "revoked")));
        json_decref(v);
        expect_error("DELETE", path, ADMIN, NULL, 404, "no API key");
    }
    v = call("GET", KEYS, ADMIN, NULL, 200, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(v, "data")), 0);
    json_decref(v);
    deadline = it_now_ms() + 5000;
    while (refused_in_a_row < 20 && it_now_ms() < deadline) {
        long status = status_of(WALLET, header);
        ck_assert_msg(status == 401 || status == 200, "revoked key: %ld", status);
        refused_in_a_row = status == 401 ? refused_in_a_row + 1 : 0;
    }
    ck_assert_msg(refused_in_a_row == 20, "the revoked key still opens the wallet");
    free((char *)id);
    it_teardown();
}
END_TEST

Suite *wallet_keys_suite(void)
{
    Suite *s = suite_create("wallet_keys");
    TCase *keys = tcase_create("api_keys");
    tcase_set_timeout(keys, 60);
    tcase_add_test(keys, api_keys_create_list_revoke);
    suite_add_tcase(s, keys);
    return s;
}
