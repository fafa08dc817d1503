/*
 * it_services.c: the functions plugin's other routes in a real apache2:
 * Cloud Run services (path and query pass-through, Content-Disposition,
 * SSE event by event, WebSocket through a real `ws` server), HTTP access
 * routes, the AI proxy (provider key injected, never shown; streams end
 * with [DONE]) and agents; then the official @cloudbase/functions-framework
 * (tcb-ff) behind the gateway, called with the official @cloudbase/js-sdk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>

#include "harness.h"
#include "../common/servers.h"

#define PROVIDER_KEY "sk-test-provider-key-123" /* upstream.py checks it */

static int ws_port;

static void start_httpd(const char *site)
{
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(void)
{
    static char site[8192];
    const char *sdk_dir = getenv("CB_SDK_DIR");
    char command[512];
    it_setup();
    it_write_file("provider.key", PROVIDER_KEY "\n");
    ws_port = srv_free_port();
    ck_assert_msg(sdk_dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    snprintf(command, sizeof(command), "node ws-echo-server.js %d", ws_port);
    it_spawn_helper(sdk_dir, command, "ws.log");
    snprintf(site, sizeof(site),
             "AllowEncodedSlashes NoDecode\n"
             "%s"
             "<CloudBasePlugin functions>\n"
             "  function orders-fn http://127.0.0.1:%d/fn\n"
             "  cloudrun web http://127.0.0.1:%d/base auth=none\n"
             "  cloudrun plain http://127.0.0.1:%d auth=none attachment=off\n"
             "  cloudrun chat http://127.0.0.1:%d auth=none\n"
             "  http_route /api/orders function=orders-fn auth=off\n"
             "  http_route /api/private cloudrun=web auth=on pass_path=off\n"
             "  ai_provider openai http://127.0.0.1:%d/v1 key=file:%s/provider.key auth=none\n"
             "  ai_provider members http://127.0.0.1:%d/v1 key=file:%s/provider.key auth=user\n"
             "  agent agent-1 http://127.0.0.1:%d/agent/v1/chat/completions auth=none\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.upstream_port, it.upstream_port, it.upstream_port, ws_port,
             it.upstream_port, it.dir, it.upstream_port, it.dir, it.upstream_port);
    start_httpd(site);
    ck_assert_msg(srv_wait_port(ws_port, 10000), "ws-echo-server did not start");
}

START_TEST(cloudrun_passes_path_query_and_guards_downloads)
{
    static const char *const custom[] = {"X-Custom-Header: hello", NULL};
    it_response r;
    it_request("GET", "/v1/cloudrun/web/orders/42?x=1&y=2", custom, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/base/orders/42\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"query\": \"x=1&y=2\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-custom-header\": \"hello\""));
    /* GET answers are downloads, so function HTML never runs on the site. */
    ck_assert_str_eq(it_header(&r, "Content-Disposition"), "attachment");
    it_free(&r);
    it_request("POST", "/v1/cloudrun/web/orders", NULL, "{\"a\":1}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(it_header(&r, "Content-Disposition")); /* JSON to POST */
    it_free(&r);
    it_request("POST", "/v1/cloudrun/web/bin", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "Content-Disposition"), "attachment"); /* not text */
    it_free(&r);
    it_request("GET", "/v1/cloudrun/plain/page", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(it_header(&r, "Content-Disposition")); /* switched off */
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/page\""));
    it_free(&r);
    it_request("GET", "/v1/cloudrun/web", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/base/\""));
    it_free(&r);
}
END_TEST

START_TEST(cloudrun_streams_sse_without_attachment)
{
    it_response r;
    it_request("GET", "/v1/cloudrun/web/sse", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(it_header(&r, "Content-Disposition"));
    ck_assert_int_ge(r.chunks, 3);
    ck_assert_msg(r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] > 450,
                  "events arrived together (%.0f ms apart)",
                  r.chunk_ms[r.chunks - 1] - r.chunk_ms[0]);
    it_free(&r);
}
END_TEST

START_TEST(cloudrun_refuses_bad_paths_and_methods)
{
    static const char *const paths[] = {"/v1/cloudrun/web/a/../../etc/passwd?marker=p1",
                                        "/v1/cloudrun/web/a/%2e%2e/x?marker=p2",
                                        "/v1/cloudrun/web/a%2Fb?marker=p3",
                                        "/v1/cloudrun/web/a%5cb?marker=p4",
                                        "/v1/cloudrun/web/a%00b?marker=p5", NULL};
    it_response r;
    for (int i = 0; paths[i]; i++) {
        it_request("GET", paths[i], NULL, NULL, &r);
        ck_assert_msg(r.status == 400 && strstr(r.body, "INVALID_PARAM"), "%s: %ld %s",
                      paths[i], r.status, r.body);
        it_free(&r);
    }
    it_request("PROPFIND", "/v1/cloudrun/web/x?marker=p6", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_ptr_nonnull(strstr(r.body, "METHOD_NOT_ALLOWED"));
    it_free(&r);
    it_request("GET", "/v1/cloudrun/nosuch/x?marker=p7", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "SERVICE_NOT_FOUND"));
    it_free(&r);
    it_upstream_control("marker=ok-p", "GET", "/v1/cloudrun/web/x?marker=ok-p", NULL, NULL);
    for (int i = 1; i <= 7; i++) {
        char marker[32];
        snprintf(marker, sizeof(marker), "marker=p%d", i);
        it_assert_upstream_never_saw(marker);
    }
}
END_TEST

START_TEST(cloudrun_passes_websocket_upgrades)
{
    char cmd[1024], line[512], last[512] = "";
    FILE *p;
    int status;
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 30 node ws-client-check.js ws://127.0.0.1:%d/v1/cloudrun/chat/ws 2>&1",
             getenv("CB_SDK_DIR"), it.http_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p))
        snprintf(last, sizeof(last), "%s", line);
    status = pclose(p);
    ck_assert_msg(status == 0 && strstr(last, "ok -"), "WebSocket through the gateway: %s", last);
}
END_TEST

/* Headers the gateway answers itself are not doubled by an upstream's. */
static int count_header(const it_response *r, const char *name)
{
    int n = 0;
    size_t len = strlen(name);
    for (const char *line = r->headers; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncasecmp(line, name, len) == 0 && line[len] == ':')
            n++;
    }
    return n;
}

START_TEST(gateway_headers_win_over_the_upstream)
{
    static const char *const origin[] = {"Origin: https://app.example.com",
                                         "X-Request-Id: it-gw-1", NULL};
    it_response r;
    it_request("GET", "/v1/cloudrun/plain/x?upstream_headers=1", origin, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(count_header(&r, "x-request-id"), 1);
    ck_assert_str_eq(it_header(&r, "X-Request-Id"), "it-gw-1");
    ck_assert_int_eq(count_header(&r, "access-control-allow-origin"), 1);
    ck_assert_str_eq(it_header(&r, "Access-Control-Allow-Origin"), "https://app.example.com");
    it_free(&r);
}
END_TEST

START_TEST(http_access_routes)
{
    static const char *const user[] = {"Authorization: Bearer test-user-erin", NULL};
    it_response r;
    /* auth=off opens the route even though orders-fn itself needs auth. */
    it_request("POST", "/v1/functions/orders-fn", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    it_request("GET", "/api/orders/42?y=2", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/fn/42\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"query\": \"y=2\""));
    it_free(&r);
    it_request("POST", "/api/orders", NULL, "any body, not JSON", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/fn/\""));
    it_free(&r);
    it_request("GET", "/api/private/deep/path?marker=private-anon", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    it_upstream_control("marker=private-ok", "GET", "/api/private/deep/path?marker=private-ok", user,
                        NULL);
    it_assert_upstream_never_saw("marker=private-anon");
    it_request("GET", "/api/private/deep/path", user, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/base\""));  /* pass_path=off */
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-cloudbase-uid\": \"erin\""));
    it_free(&r);
    /* The rest of the site is untouched. */
    it_request("GET", "/index.html", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}
END_TEST

START_TEST(ai_proxy_injects_the_provider_key)
{
    static const char *const caller[] = {"Authorization: Bearer test-user-dave",
                                         "Content-Type: application/json", NULL};
    static const char *const paths[] = {"/v1/ai/openai/chat/completions",
                                        "/v1/ai/openai/chat/completion", NULL};
    it_response r;
    for (int i = 0; paths[i]; i++) {
        it_request("POST", paths[i], caller, "{\"model\":\"m1\",\"messages\":[]}", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"sawKey\": true"));
        ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/v1/chat/completions\""));
        ck_assert_ptr_null(strstr(r.body, "sk-test"));
        ck_assert_ptr_null(strstr(r.headers, "sk-test"));
        it_free(&r);
    }
    it_request("POST", "/v1/ai/nosuch/chat/completions", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "SERVICE_NOT_FOUND"));
    it_free(&r);
    it_request("POST", "/v1/ai/openai/chat/completions", NULL, "nope", &r);
    ck_assert_int_eq(r.status, 400);
    it_free(&r);
    /* Auth is checked before the body is read. */
    it_request("POST", "/v1/ai/members/chat/completions", NULL, "nope", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    {
        char *log = it_error_log();
        ck_assert_msg(!strstr(log, "sk-test"), "the provider key reached the error log");
        free(log);
    }
}
END_TEST

START_TEST(ai_stream_arrives_unbuffered_and_ends_with_done)
{
    static const char *const sse[] = {"Accept: text/event-stream",
                                      "Content-Type: application/json", NULL};
    it_response r;
    it_request("POST", "/v1/ai/openai/chat/completions", sse,
               "{\"model\":\"m1\",\"stream\":true,\"messages\":[]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type"), "text/event-stream"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"sawKey\": true"));
    ck_assert_ptr_nonnull(strstr(r.body, "data: [DONE]"));
    ck_assert_int_ge(r.chunks, 3);
    ck_assert_msg(r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] > 450,
                  "chunks arrived together (%.0f ms apart)",
                  r.chunk_ms[r.chunks - 1] - r.chunk_ms[0]);
    it_free(&r);
}
END_TEST

START_TEST(agents_route_by_model)
{
    it_response r;
    it_request("POST", "/v1/aibot/openai/chat/completions", NULL,
               "{\"model\":\"agent-1\",\"messages\":[]}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/agent/v1/chat/completions\""));
    it_free(&r);
    it_request("POST", "/v1/aibot/openai/chat/completions", NULL,
               "{\"model\":\"agent-9\",\"messages\":[]}", &r);
    ck_assert_int_eq(r.status, 404);
    it_free(&r);
    it_request("POST", "/v1/aibot/openai/chat/completions", NULL, "{\"messages\":[]}", &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "INVALID_PARAM"));
    it_free(&r);
}
END_TEST

/* ------------------------------------------------------------ real peers */

static void start_with_functions_framework(void)
{
    static char site[8192];
    const char *sdk_dir = getenv("CB_SDK_DIR");
    char command[768], dir[512];
    int fn_port, run_port;
    it_setup();
    ck_assert_msg(sdk_dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    fn_port = srv_free_port();
    run_port = srv_free_port();
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof(dir), "%s/functions/%s", sdk_dir, i == 0 ? "add-two" : "echo");
        snprintf(command, sizeof(command), "%s/node_modules/.bin/tcb-ff --port=%d --logDirname=%s/tcb-logs",
                 sdk_dir, i == 0 ? fn_port : run_port, it.dir);
        it_spawn_helper(dir, command, i == 0 ? "tcb-add-two.log" : "tcb-echo.log");
    }
    snprintf(site, sizeof(site),
             "%s"
             "<CloudBasePlugin auth>\n  jwt_secret file:%s/jwt.key\n</CloudBasePlugin>\n"
             "<CloudBasePlugin functions>\n"
             "  function add-two http://127.0.0.1:%d/ auth=any\n"
             "  cloudrun echo http://127.0.0.1:%d auth=any\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, fn_port, run_port);
    start_httpd(site);
    ck_assert_msg(srv_wait_port(fn_port, 20000) && srv_wait_port(run_port, 20000),
                  "tcb-ff did not start");
}

START_TEST(functions_framework_with_official_sdk)
{
    char cmd[1024], line[512], last[512] = "";
    FILE *p;
    int status;
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 120 node functions-sdk-test.js 127.0.0.1:%d demo 2>&1",
             getenv("CB_SDK_DIR"), it.http_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        fputs(line, stderr);
        if (strncmp(line, "functions-sdk: ", 15) == 0)
            snprintf(last, sizeof(last), "%s", line);
    }
    status = pclose(p);
    ck_assert_msg(status == 0 && last[0], "the SDK test failed (exit %d): %s", status, last);
}
END_TEST

Suite *services_suite(void)
{
    Suite *s = suite_create("services");
    TCase *tc = tcase_create("services");
    TCase *peers = tcase_create("functions-framework");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cloudrun_passes_path_query_and_guards_downloads);
    tcase_add_test(tc, cloudrun_streams_sse_without_attachment);
    tcase_add_test(tc, cloudrun_refuses_bad_paths_and_methods);
    tcase_add_test(tc, cloudrun_passes_websocket_upgrades);
    tcase_add_test(tc, http_access_routes);
    tcase_add_test(tc, gateway_headers_win_over_the_upstream);
    tcase_add_test(tc, ai_proxy_injects_the_provider_key);
    tcase_add_test(tc, ai_stream_arrives_unbuffered_and_ends_with_done);
    tcase_add_test(tc, agents_route_by_model);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(peers, start_with_functions_framework, it_teardown);
    tcase_set_timeout(peers, 180);
    tcase_add_test(peers, functions_framework_with_official_sdk);
    suite_add_tcase(s, peers);
    return s;
}
