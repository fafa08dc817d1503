/*
 * it_token_expiry.c: an access token past its expiry, in the SDK's terms
 * (issue 12 point 6). The auth plugin with a short access_token_ttl and
 * token_leeway 0s in a real apache2: once the token has expired, function
 * and storage routes answer 401 {code:"ACCESS_TOKEN_EXPIRED"} (never
 * forwarded upstream), a forged token stays UNAUTHENTICATED, and the refresh
 * token gets a working one. Then the official SDK's browser build in
 * headless Chromium goes through an expiry (tests/sdk/token-expiry-browser-
 * test.js): it refreshes once on that answer and the call succeeds; the
 * gateway's access log counts the refresh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define ACCESS_TTL_SECONDS 3
/* The SDK refreshes on its own within 30 s of the expiry it computed, so
 * with a shorter lifetime it would refresh before every call and never send
 * an expired token: the browser case uses a lifetime past that margin. */
#define BROWSER_ACCESS_TTL_SECONDS 35

static const char *sdk_dir(void)
{
    const char *dir = getenv("CB_SDK_DIR");
    ck_assert_msg(dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    return dir;
}

static void start_with_ttl(int access_ttl_seconds)
{
    static char site[8192];
    char path[400];
    it_setup();
    it_write_file("jwt.key", "it-expiry-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("storage.key", "it-expiry-storage-signing-key-0123456789\n");
    snprintf(path, sizeof(path), "%s/files", it.dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    chmod(path, 0777);
    snprintf(site, sizeof(site),
             "%s"
             "CustomLog %s/access.log \"%%m %%U %%>s\"\n"
             "<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  access_token_ttl %ds\n"
             "  token_leeway 0s\n"
             "</CloudBasePlugin>\n"
             "<CloudBasePlugin functions>\n"
             "  function echo-fn http://127.0.0.1:%d/fn auth=none\n"
             "</CloudBasePlugin>\n"
             "<CloudBasePlugin storage>\n"
             "  signing_key file:%s/storage.key\n"
             "  bucket files backend=local dir=%s/files default\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, access_ttl_seconds, it.upstream_port, it.dir,
             it.dir);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(void) { start_with_ttl(ACCESS_TTL_SECONDS); }
static void start_browser(void) { start_with_ttl(BROWSER_ACCESS_TTL_SECONDS); }

static void post(const char *path, const char *token, const char *body, it_response *r)
{
    char auth[4200];
    const char *headers[4] = {"Content-Type: application/json", "X-Device-Id: it-expiry", NULL,
                              NULL};
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[2] = auth;
    }
    it_request("POST", path, headers, body, r);
}

static json_t *post_json(const char *path, const char *token, const char *body, long expect)
{
    it_response r;
    json_t *v;
    post(path, token, body, &r);
    ck_assert_msg(r.status == expect, "POST %s: %ld, expected %ld: %s", path, r.status, expect,
                  r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "POST %s: not JSON: %s", path, r.body);
    it_free(&r);
    return v;
}

static char *field(json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    ck_assert_msg(s != NULL, "no %s in the answer", key);
    return strdup(s);
}

static void assert_expired(const it_response *r, const char *what)
{
    json_t *v = json_loads(r->body ? r->body : "", 0, NULL);
    ck_assert_msg(r->status == 401, "%s: %ld, expected 401: %s", what, r->status, r->body);
    ck_assert_msg(v != NULL, "%s: not JSON: %s", what, r->body);
    ck_assert_str_eq(json_string_value(json_object_get(v, "code")), "ACCESS_TOKEN_EXPIRED");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(v, "message")));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(v, "requestId")));
    ck_assert_ptr_nonnull(strstr(it_header(r, "Content-Type"), "application/json"));
    json_decref(v);
}

/* Calls echo-fn with the token until it stops answering 200 (the token
 * expired), to a deadline well past the lifetime; leaves that answer in r. */
static void call_until_refused(const char *token, it_response *r)
{
    time_t deadline = time(NULL) + ACCESS_TTL_SECONDS + 30;
    for (;;) {
        post("/v1/functions/echo-fn", token, "{}", r);
        if (r->status != 200 || time(NULL) > deadline)
            return;
        it_free(r);
        usleep(200 * 1000);
    }
}

START_TEST(expired_token_answers_access_token_expired)
{
    json_t *t = post_json("/auth/v1/signin/anonymously", NULL, "{}", 200), *fresh;
    char *token = field(t, "access_token"), *refresh = field(t, "refresh_token");
    char *forged, body[4400];
    it_response r;
    json_decref(t);
    /* Fresh: the same call goes through (the positive control). */
    post("/v1/functions/echo-fn?marker=fresh", token, "{}", &r);
    ck_assert_msg(r.status == 200, "fresh token: %ld %s", r.status, r.body);
    it_free(&r);

    call_until_refused(token, &r);
    assert_expired(&r, "functions");
    it_free(&r);
    post("/v1/functions/echo-fn?marker=expired", token, "{}", &r);
    assert_expired(&r, "functions, again");
    it_free(&r);
    post("/v1/storages/get-objects-download-info", token,
         "[{\"cloudObjectId\":\"cloud://files/a.txt\"}]", &r);
    assert_expired(&r, "storage download info");
    it_free(&r);
    post("/v1/storages/get-objects-upload-info", token, "[{\"objectId\":\"a.txt\"}]", &r);
    assert_expired(&r, "storage upload info");
    it_free(&r);
    it_upstream_control("marker=control", "POST", "/v1/functions/echo-fn?marker=control", NULL,
                        "{}");
    it_assert_upstream_never_saw("marker=expired");

    /* A forged signature on the same expired token is not "expired": the
     * SDK must not refresh on it. */
    forged = strdup(token);
    forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
    post("/v1/functions/echo-fn", forged, "{}", &r);
    ck_assert_msg(r.status == 401 && strstr(r.body, "\"UNAUTHENTICATED\""), "forged: %ld %s",
                  r.status, r.body);
    it_free(&r);

    /* What the SDK then does: refresh, and the new token works. */
    snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
             refresh);
    fresh = post_json("/auth/v1/token", NULL, body, 200);
    free(token);
    token = field(fresh, "access_token");
    json_decref(fresh);
    post("/v1/functions/echo-fn", token, "{}", &r);
    ck_assert_msg(r.status == 200, "refreshed token: %ld %s", r.status, r.body);
    it_free(&r);
    free(token);
    free(refresh);
    free(forged);
    it_teardown();
}
END_TEST

static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *at = text; (at = strstr(at, line)); at += len)
        if (at == text || at[-1] == '\n')
            n++;
    return n;
}

START_TEST(browser_sdk_refreshes_on_expiry)
{
    char cmd[2400], line[1024], *log;
    static char output[65536];
    size_t used = 0;
    FILE *p;
    int rc;
    /* The page and the SDK's files on the gateway's own origin. */
    snprintf(cmd, sizeof(cmd),
             "cp '%s/token-expiry.html' '%s/../../conf/demo/text-encoding.js' '%s/docroot/' && "
             "ln -s '%s/node_modules' '%s/docroot/sdk'",
             sdk_dir(), sdk_dir(), it.dir, sdk_dir(), it.dir);
    ck_assert_msg(system(cmd) == 0, "could not set up the page: %s", cmd);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 120 node token-expiry-browser-test.js "
             "http://127.0.0.1:%d/token-expiry.html %d 2>&1",
             sdk_dir(), it.http_port, BROWSER_ACCESS_TTL_SECONDS * 1000);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    output[0] = '\0';
    while (fgets(line, sizeof(line), p)) {
        fputs(line, stderr);
        used += (size_t)snprintf(output + used, sizeof(output) - used, "%s", line);
        if (used >= sizeof(output))
            used = sizeof(output) - 1;
    }
    rc = pclose(p);
    ck_assert_msg(strstr(output, "ok - ") != NULL, "the browser test ran no check:\n%s", output);
    ck_assert_msg(rc == 0 && strstr(output, "not ok") == NULL, "browser test failed (%d):\n%s",
                  rc, output);
    /* At the gateway: one sign-in, one refresh, one refused call. */
    log = it_read_file("access.log");
    ck_assert_msg(count_lines(log, "POST /auth/v1/signin/anonymously 200") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /auth/v1/token 200") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /v1/functions/echo-fn 401") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /v1/functions/echo-fn 200") == 2, "%s", log);
    free(log);
    it_teardown();
}
END_TEST

Suite *token_expiry_suite(void)
{
    Suite *s = suite_create("token_expiry");
    TCase *tc = tcase_create("routes");
    tcase_add_checked_fixture(tc, start, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, expired_token_answers_access_token_expired);
    suite_add_tcase(s, tc);
    tc = tcase_create("browser");
    tcase_add_checked_fixture(tc, start_browser, NULL);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, browser_sdk_refreshes_on_expiry);
    suite_add_tcase(s, tc);
    return s;
}
