/*
 * it_gateway.c: a real apache2 + redis-server + upstream: static files fall
 * through untouched, 404/405 in the CloudBase dialect, request ids, the
 * secure-domain allowlist and preflights, proxy routes (headers, query,
 * identity stripping, server-sent events arriving event by event) and
 * streaming from a plugin handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <curl/curl.h>

#include "harness.h"

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data; (void)userdata;
    return size * nmemb;
}

static void start(void)
{
    it_start_gateway("event");
}

START_TEST(static_files_fall_through)
{
    it_response r;
    it_request("GET", "/index.html", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "<h1>static site</h1>\n");
    ck_assert_ptr_null(it_header(&r, "X-Request-Id"));
    it_free(&r);
    it_request("GET", "/", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    /* Outside every gateway prefix: httpd's own 404, not ours. */
    it_request("GET", "/v1/not-a-gateway-prefix", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_null(strstr(r.body, "requestId"));
    it_free(&r);
}
END_TEST

START_TEST(not_found_and_method_not_allowed)
{
    it_response r;
    it_request("GET", "/v1/test/nothing-here", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"RESOURCE_NOT_FOUND\""));
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type"), "application/json"));
    ck_assert_ptr_nonnull(it_header(&r, "X-Request-Id"));
    it_free(&r);
    it_request("DELETE", "/v1/test/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(it_header(&r, "Allow"), "GET, HEAD, POST");
    ck_assert_ptr_nonnull(strstr(r.body, "METHOD_NOT_ALLOWED"));
    it_free(&r);
    it_request("GET", "/v1/test/oauth-fail", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"invalid_request\""));
    it_free(&r);
}
END_TEST

/* cb_log_req lines reach httpd's error log with the request id, and the
 * test plugin's secret option, which its failing route logs on purpose,
 * arrives as [redacted]. ap_log_rerror writes before the answer is sent. */
START_TEST(log_lines_carry_the_request_id_and_no_secret)
{
    static const char *const id[] = {"X-Request-Id: log-line-0001", NULL};
    it_response r;
    char *log;
    it_request("GET", "/v1/test/fail", id, NULL, &r);
    ck_assert_int_eq(r.status, 400);
    it_free(&r);
    log = it_error_log();
    ck_assert_msg(strstr(log, "[req log-line-0001] testplug failing as asked (secret [redacted])"),
                  "no scrubbed request line in:\n%s", log);
    ck_assert_msg(!strstr(log, "it-testplug-secret-"), "the secret reached the log:\n%s", log);
    free(log);
}
END_TEST

START_TEST(request_ids)
{
    static const char *const sane[] = {"X-Request-Id: 0f8fad5b-d9cb-469f", NULL};
    static const char *const insane[] = {"X-Request-Id: <script>alert(1)</script>", NULL};
    it_response r;
    it_request("GET", "/v1/test/echo", sane, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "X-Request-Id"), "0f8fad5b-d9cb-469f");
    ck_assert_ptr_nonnull(strstr(r.body, "\"requestId\":\"0f8fad5b-d9cb-469f\""));
    it_free(&r);
    it_request("GET", "/v1/test/echo", insane, NULL, &r);
    ck_assert_int_eq(strlen(it_header(&r, "X-Request-Id")), 32);
    it_free(&r);
    it_request("GET", "/v1/test/nothing", insane, NULL, &r);
    ck_assert_int_eq(strlen(it_header(&r, "X-Request-Id")), 32);
    it_free(&r);
}
END_TEST

START_TEST(allowlist_and_preflight)
{
    static const char *const allowed[] = {"Origin: https://app.example.com", NULL};
    static const char *const wildcard[] = {"Origin: https://shop.apps.example.org", NULL};
    static const char *const spoofs[] = {"Origin: https://app.example.com.evil.com",
                                         "Origin: https://evil-example.com", "Origin: null",
                                         "Origin: http://app.example.com",
                                         "Origin: https://apps.example.org", NULL};
    static const char *const preflight[] = {"Origin: https://app.example.com",
                                            "Access-Control-Request-Method: POST",
                                            "Access-Control-Request-Headers: content-type", NULL};
    it_response r;
    char same[128];
    const char *same_origin[] = {same, NULL};
    it_request("GET", "/v1/test/echo", allowed, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "Access-Control-Allow-Origin"), "https://app.example.com");
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Vary"), "Origin"));
    it_free(&r);
    it_request("GET", "/v1/test/echo", wildcard, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    for (int i = 0; spoofs[i]; i++) {
        const char *one[] = {spoofs[i], NULL};
        char path[64];
        it_request("GET", "/v1/test/echo", one, NULL, &r);
        ck_assert_msg(r.status == 403, "%s got %ld", spoofs[i], r.status);
        ck_assert_ptr_nonnull(strstr(r.body, "ORIGIN_NOT_ALLOWED"));
        ck_assert_ptr_null(it_header(&r, "Access-Control-Allow-Origin"));
        it_free(&r);
        /* The refusal also holds for proxy routes: nothing reaches upstream. */
        snprintf(path, sizeof(path), "/v1/test/proxy/echo?marker=spoof%d", i);
        it_request("POST", path, one, "{}", &r);
        ck_assert_int_eq(r.status, 403);
        it_free(&r);
    }
    snprintf(same, sizeof(same), "Origin: http://127.0.0.1:%d", it.http_port);
    it_request("POST", "/v1/test/echo", same_origin, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    it_request("OPTIONS", "/v1/test/echo", preflight, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(it_header(&r, "Access-Control-Allow-Origin"), "https://app.example.com");
    ck_assert_str_eq(it_header(&r, "Access-Control-Allow-Methods"), "GET, HEAD, POST");
    ck_assert_str_eq(it_header(&r, "Access-Control-Allow-Headers"), "content-type");
    it_free(&r);
    /* A preflight for a proxy route is answered by the gateway itself. */
    it_request("OPTIONS", "/v1/test/proxy/echo?marker=preflight", preflight, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_ptr_null(strstr(r.body, "headers"));
    it_free(&r);
    /* The same proxy route with an allowed origin does reach the upstream. */
    it_upstream_control("marker=ok-origin", "POST", "/v1/test/proxy/echo?marker=ok-origin", allowed, "{}");
    for (int i = 0; spoofs[i]; i++) {
        char marker[32];
        snprintf(marker, sizeof(marker), "marker=spoof%d", i);
        it_assert_upstream_never_saw(marker);
    }
    it_assert_upstream_never_saw("marker=preflight");
}
END_TEST

START_TEST(proxy_route)
{
    static const char *const hdrs[] = {"X-Cloudbase-Uid: forged", "X-Drop-Me: 1",
                                       "Authorization: Bearer test-user-carol",
                                       "X-Request-Id: rid-proxy-1", NULL};
    it_response r;
    it_request("POST", "/v1/test/proxy/fn/echo?a=1&b=%20x", hdrs, "{\"x\":1}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/fn/echo\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"query\": \"a=1&b=%20x\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-cloudbase-uid\": \"carol\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-request-id\": \"rid-proxy-1\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-test-plugin\": \"testplug\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"bodyLength\": 7"));
    ck_assert_ptr_null(strstr(r.body, "forged"));
    ck_assert_ptr_null(strstr(r.body, "x-drop-me"));
    ck_assert_str_eq(it_header(&r, "X-Request-Id"), "rid-proxy-1");
    it_free(&r);
    /* Upstream statuses pass through untouched. */
    it_request("GET", "/v1/test/proxy/status?code=418", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 418);
    it_free(&r);
}
END_TEST

START_TEST(proxy_streams_sse_event_by_event)
{
    it_response r;
    it_request("GET", "/v1/test/proxy/sse", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data: event 2"));
    /* Three events sent 300 ms apart must arrive as three chunks spread
     * over ~600 ms, not as one buffered block at the end. */
    ck_assert_int_ge(r.chunks, 3);
    ck_assert_msg(r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] > 450,
                  "events arrived together (%.0f ms apart)", r.chunk_ms[r.chunks - 1] - r.chunk_ms[0]);
    it_free(&r);
}
END_TEST

START_TEST(plugin_handler_streams)
{
    it_response r;
    it_request("GET", "/v1/test/stream", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type"), "text/event-stream"));
    ck_assert_int_ge(r.chunks, 3);
    ck_assert(r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] > 450);
    it_free(&r);
}
END_TEST

START_TEST(auth_levels_and_body_cap)
{
    static const char *const user[] = {"Authorization: Bearer test-user-dave", NULL};
    it_response r;
    char big[4096];
    it_request("GET", "/v1/test/private", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(it_header(&r, "WWW-Authenticate"));
    it_free(&r);
    it_request("GET", "/v1/test/private", user, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"uid\":\"dave\""));
    it_free(&r);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    it_request("POST", "/v1/test/body", NULL, big, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "PAYLOAD_TOO_LARGE"));
    it_free(&r);
    it_request("POST", "/v1/test/body", NULL, "{\"small\":true}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}
END_TEST

/* Many requests at once over the event MPM's threads: plugin routes, proxy
 * routes and Redis-backed /health, all answered correctly. */
START_TEST(concurrent_requests)
{
    static const char *const paths[] = {"/v1/test/items/1", "/v1/test/proxy/echo",
                                         "/health", "/v1/test/nothing"};
    static const long expected[] = {200, 200, 200, 404};
    enum { TOTAL = 400, PARALLEL = 48 };
    CURLM *multi = curl_multi_init();
    CURL *handles[TOTAL];
    long statuses[TOTAL];
    int started = 0, running = 0, done = 0;
    memset(statuses, 0, sizeof(statuses));
    while (done < TOTAL) {
        CURLMsg *msg;
        int left;
        while (started < TOTAL && started - done < PARALLEL) {
            char url[256];
            CURL *h = curl_easy_init();
            snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", it.http_port,
                     paths[started % 4]);
            curl_easy_setopt(h, CURLOPT_URL, url);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)(long)started);
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
            curl_multi_add_handle(multi, h);
            handles[started++] = h;
        }
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
        while ((msg = curl_multi_info_read(multi, &left))) {
            void *index;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &index);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &statuses[(long)index]);
            curl_multi_remove_handle(multi, msg->easy_handle);
            done++;
        }
    }
    for (int i = 0; i < TOTAL; i++) {
        ck_assert_msg(statuses[i] == expected[i % 4], "request %d (%s) got %ld", i,
                      paths[i % 4], statuses[i]);
        curl_easy_cleanup(handles[i]);
    }
    curl_multi_cleanup(multi);
}
END_TEST

Suite *gateway_suite(void)
{
    Suite *s = suite_create("gateway");
    TCase *tc = tcase_create("event-mpm");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, static_files_fall_through);
    tcase_add_test(tc, not_found_and_method_not_allowed);
    tcase_add_test(tc, request_ids);
    tcase_add_test(tc, log_lines_carry_the_request_id_and_no_secret);
    tcase_add_test(tc, allowlist_and_preflight);
    tcase_add_test(tc, proxy_route);
    tcase_add_test(tc, proxy_streams_sse_event_by_event);
    tcase_add_test(tc, plugin_handler_streams);
    tcase_add_test(tc, auth_levels_and_body_cap);
    tcase_add_test(tc, concurrent_requests);
    suite_add_tcase(s, tc);
    return s;
}
