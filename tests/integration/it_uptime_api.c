/*
 * it_uptime_api.c: the uptime plugin's TOSE-style API in a real apache2
 * with the auth plugin (a real API key, X-API-Key), SQLite and Redis:
 * GET/PUT /api/workspaces/{slug}/projects/{project}/uptime in the
 * {success, data} envelope; no key (401) and a signed-in user (403)
 * refused; bad bodies refused with a clear error (metadata and link-local
 * check URLs, a CRLF in the URL, intervals of 0 or below, a Discord webhook
 * that is not https, a bad e-mail, not JSON); a project enabled through
 * the API is checked by the scheduler (counted at the upstream), reports
 * status, last check and uptime from the roll-ups, and stops being checked
 * when disabled.
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
#define PROJECT_PATH "/api/workspaces/acme/projects/shop/uptime"

static char api_key[128];

static void start(void)
{
    const char *site;
    it_setup();
    site = it_auth_site(NULL, "<CloudBasePlugin uptime>\n"
                              "  allow_private 127.0.0.0/8\n"
                              "  tick 100ms\n"
                              "  api_reload 500ms\n"
                              "</CloudBasePlugin>\n");
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* A request with `header` (or none); checks the status, returns the JSON. */
static json_t *call(const char *method, const char *header, const char *body, long expect)
{
    const char *headers[3] = {"Content-Type: application/json", header, NULL};
    it_response r;
    json_t *v;
    it_request(method, PROJECT_PATH, headers, body, &r);
    ck_assert_msg(r.status == expect, "%s %s: %ld, expected %ld: %s", method, body ? body : "",
                  r.status, expect, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r.body);
    it_free(&r);
    return v;
}

static void create_api_key(void)
{
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, "X-Device-Id: it-device",
                             NULL};
    it_response r;
    json_t *v;
    it_request("POST", "/auth/v1/admin/apikeys", headers, "{\"name\":\"uptime\"}", &r);
    ck_assert_msg(r.status == 201, "key: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    snprintf(api_key, sizeof(api_key), "X-API-Key: %s",
             json_string_value(json_object_get(v, "key")));
    json_decref(v);
    it_free(&r);
}

static void expect_refused(const char *body, const char *words)
{
    json_t *v = call("PUT", api_key, body, 400);
    const char *error = json_string_value(json_object_get(v, "error"));
    ck_assert(json_is_false(json_object_get(v, "success")));
    ck_assert_msg(error && strstr(error, words), "%s: error '%s' lacks '%s'", body, error, words);
    json_decref(v);
}

static int upstream_count(const char *needle)
{
    char *log = it_read_file("upstream.log");
    int n = 0;
    for (const char *s = log; (s = strstr(s, needle)); s += strlen(needle))
        n++;
    free(log);
    return n;
}

START_TEST(settings_round_trip_and_checks)
{
    json_t *v, *data;
    char body[512];
    long long deadline;
    int seen;
    start();
    create_api_key();
    /* who may call */
    json_decref(call("GET", NULL, NULL, 401));
    v = call("GET", "Authorization: Bearer test-user-bob", NULL, 403);
    ck_assert_str_eq(json_string_value(json_object_get(v, "error")),
                     "this API takes an API key in the X-API-Key header");
    json_decref(v);
    /* nothing configured yet */
    v = call("GET", api_key, NULL, 200);
    ck_assert(json_is_true(json_object_get(v, "success")));
    data = json_object_get(v, "data");
    ck_assert(json_is_false(json_object_get(data, "enabled")));
    ck_assert(json_is_null(json_object_get(data, "check_url")));
    json_decref(v);
    /* bad input, each with an error that names it */
    expect_refused("{\"enabled\":true,\"check_url\":\"http://169.254.169.254/latest/\"}",
                   "check_url: the URL's host 169.254.169.254 is");
    expect_refused("{\"enabled\":true,\"check_url\":\"http://[fe80::1]/\"}",
                   "the URL's host fe80::1 is");
    expect_refused("{\"enabled\":true,\"check_url\":\"http://127.0.0.1/a\\r\\nX-Evil: 1\"}",
                   "control character");
    expect_refused("{\"enabled\":true,\"check_url\":\"http://127.0.0.1/\","
                   "\"check_interval_sec\":0}", "check_interval_sec must be from 1 to 86400");
    expect_refused("{\"enabled\":true,\"check_url\":\"http://127.0.0.1/\","
                   "\"check_interval_sec\":-5}", "check_interval_sec must be from 1 to 86400");
    expect_refused("{\"discord_webhook_url\":\"http://discord.com/api/webhooks/1/x\"}",
                   "must be an https:// URL");
    expect_refused("{\"notify_email\":\"not an address\"}", "notify_email");
    expect_refused("{\"enabled\":true}", "check_url is required");
    expect_refused("[1,2]", "JSON object");
    expect_refused("{oops", "JSON object");
    /* nothing of that was stored */
    v = call("GET", api_key, NULL, 200);
    ck_assert(json_is_false(json_object_get(json_object_get(v, "data"), "enabled")));
    json_decref(v);
    /* a good one */
    snprintf(body, sizeof(body),
             "{\"enabled\":true,\"check_interval_sec\":1,"
             "\"check_url\":\"http://127.0.0.1:%d/count?tag=api\","
             "\"discord_webhook_url\":\"https://discord.com/api/webhooks/1/abc\","
             "\"notify_email\":\"ops@example.com\"}", it.upstream_port);
    v = call("PUT", api_key, body, 200);
    data = json_object_get(v, "data");
    ck_assert(json_is_true(json_object_get(data, "enabled")));
    ck_assert_int_eq(json_integer_value(json_object_get(data, "check_interval_sec")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(data, "notify_email")), "ops@example.com");
    json_decref(v);
    /* the scheduler picks it up and checks it every second */
    deadline = it_now_ms() + 8000;
    while (upstream_count("count api ") < 3 && it_now_ms() < deadline)
        usleep(100 * 1000);
    ck_assert_msg(upstream_count("count api ") >= 3, "checked %d times",
                  upstream_count("count api "));
    usleep(300 * 1000);
    v = call("GET", api_key, NULL, 200);
    data = json_object_get(v, "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "status")), "up");
    ck_assert(json_is_string(json_object_get(data, "last_checked_at")));
    ck_assert(json_is_integer(json_object_get(data, "last_response_ms")));
    ck_assert_msg(json_number_value(json_object_get(json_object_get(data, "uptime"), "24h")) ==
                      100.0,
                  "uptime: %s", json_dumps(json_object_get(data, "uptime"), 0));
    ck_assert(json_number_value(json_object_get(json_object_get(data, "uptime"), "90d")) ==
              100.0);
    json_decref(v);
    /* a partial PUT keeps the rest; disabled stops the checks */
    v = call("PUT", api_key, "{\"enabled\":false}", 200);
    data = json_object_get(v, "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "status")), "paused");
    ck_assert_str_eq(json_string_value(json_object_get(data, "notify_email")), "ops@example.com");
    json_decref(v);
    sleep(2); /* api_reload 500ms and a slot in flight */
    seen = upstream_count("count api ");
    sleep(2);
    ck_assert_int_eq(upstream_count("count api "), seen);
    it_teardown();
}
END_TEST

Suite *uptime_api_suite(void)
{
    Suite *s = suite_create("uptime_api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, settings_round_trip_and_checks);
    suite_add_tcase(s, tc);
    return s;
}
