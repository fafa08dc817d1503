/*
 * it_functions.c: the functions plugin's function calls in a real apache2
 * with the Python test upstream: the answer passes through untouched,
 * identity and request id reach the upstream (client copies stripped),
 * versions, per-function auth, JSON-object bodies and web functions, and
 * the failures: a refused connection (502), a timeout (504), the
 * concurrency cap (503), and bad input that must never reach the upstream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"
#include "../common/servers.h"

static int dead_port;

static void start(void)
{
    static char site[8192];
    it_setup();
    dead_port = srv_free_port();
    snprintf(site, sizeof(site),
             "AllowEncodedSlashes NoDecode\n"
             "%s"
             "<CloudBasePlugin functions>\n"
             "  function echo-fn http://127.0.0.1:%d/fn auth=none\n"
             "  function echo-fn http://127.0.0.1:%d/fn-v2 auth=none qualifier=2\n"
             "  function private-fn http://127.0.0.1:%d/private auth=user\n"
             "  function teapot http://127.0.0.1:%d/status auth=none\n"
             "  function slow-fn http://127.0.0.1:%d/slow auth=none timeout=500ms\n"
             "  function capped-fn http://127.0.0.1:%d/slow auth=none max_concurrency=2\n"
             "  function dead-fn http://127.0.0.1:%d/ auth=none\n"
             "  function small-fn http://127.0.0.1:%d/fn auth=none max_body=1k\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.upstream_port, it.upstream_port, it.upstream_port,
             it.upstream_port, it.upstream_port, it.upstream_port, dead_port, it.upstream_port);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void assert_error(const it_response *r, long status, const char *code)
{
    char expected[128];
    ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status,
                  r->body ? r->body : "");
    snprintf(expected, sizeof(expected), "\"code\":\"%s\"", code);
    ck_assert_msg(r->body && strstr(r->body, expected), "expected %s in %s", expected,
                  r->body ? r->body : "(no body)");
    ck_assert_ptr_nonnull(strstr(it_header(r, "Content-Type"), "application/json"));
    ck_assert_ptr_nonnull(strstr(r->body, "\"requestId\""));
}

START_TEST(call_passes_through_with_identity)
{
    static const char *const spoof[] = {"Content-Type: application/json",
                                        "X-Cloudbase-Uid: evil", "X-Request-Id: it-call-1",
                                        NULL};
    static const char *const user[] = {"Content-Type: application/json",
                                       "Authorization: Bearer test-user-dave", NULL};
    it_response r;
    it_request("POST", "/v1/functions/echo-fn?x=1", spoof, "{\"a\":1}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/fn\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"query\": \"x=1\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"bodyLength\": 7"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-request-id\": \"it-call-1\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-cloudbase-env\": \"demo\""));
    ck_assert_ptr_null(strstr(r.body, "evil"));
    ck_assert_str_eq(it_header(&r, "X-Request-Id"), "it-call-1");
    it_free(&r);

    /* A verified caller: uid upstream, the credential itself is not. */
    it_request("POST", "/v1/functions/private-fn", user, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"x-cloudbase-uid\": \"dave\""));
    ck_assert_ptr_null(strstr(r.body, "authorization"));
    it_free(&r);
    it_request("POST", "/v1/functions/private-fn?marker=private-anon", NULL, "{}", &r);
    assert_error(&r, 401, "UNAUTHENTICATED");
    it_free(&r);
    it_upstream_control("marker=private-ok", "POST", "/v1/functions/private-fn?marker=private-ok",
                        user, "{}");
    it_assert_upstream_never_saw("marker=private-anon");

    /* Status, headers and body of the upstream pass through untouched. */
    it_request("POST", "/v1/functions/teapot?code=418", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 418);
    ck_assert_str_eq(r.body, "{\"status\":true}");
    it_free(&r);
}
END_TEST

START_TEST(versions_and_unknown_functions)
{
    static const char *const v2[] = {"X-Qualifier: 2", NULL};
    static const char *const v3[] = {"X-Qualifier: 3", NULL};
    static const char *const bad[] = {"X-Qualifier: a/b", NULL};
    it_response r;
    it_request("POST", "/v1/functions/echo-fn", v2, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\": \"/fn-v2\""));
    it_free(&r);
    it_request("POST", "/v1/functions/echo-fn", v3, "{}", &r);
    assert_error(&r, 404, "SERVICE_NOT_FOUND");
    it_free(&r);
    it_request("POST", "/v1/functions/echo-fn", bad, "{}", &r);
    assert_error(&r, 400, "INVALID_PARAM");
    it_free(&r);
    it_request("POST", "/v1/functions/no-such-fn", NULL, "{}", &r);
    assert_error(&r, 404, "SERVICE_NOT_FOUND");
    it_free(&r);
}
END_TEST

/* This site configures no agent: the agent route answers as for an unknown
 * agent (it used to demand the admin level and answer 403), signed in or not. */
START_TEST(agent_route_without_agents_is_not_found)
{
    static const char *const user[] = {"Authorization: Bearer test-user-carol", NULL};
    it_response r;
    it_request("POST", "/v1/aibot/openai/chat/completions", NULL,
               "{\"model\":\"agent-1\",\"messages\":[]}", &r);
    assert_error(&r, 404, "SERVICE_NOT_FOUND");
    it_free(&r);
    it_request("POST", "/v1/aibot/openai/chat/completions", user,
               "{\"model\":\"agent-1\",\"messages\":[]}", &r);
    assert_error(&r, 404, "SERVICE_NOT_FOUND");
    it_free(&r);
}
END_TEST

START_TEST(bodies_and_web_functions)
{
    static const char *const webfn[] = {"X-Tcb-Webfn: true", "Content-Type: text/plain", NULL};
    char big[4096];
    it_response r;
    it_request("POST", "/v1/functions/echo-fn?marker=notjson", NULL, "not json", &r);
    assert_error(&r, 400, "FUNCTION_PARAM_INVALID");
    it_free(&r);
    it_request("POST", "/v1/functions/echo-fn?marker=array", NULL, "[1,2]", &r);
    assert_error(&r, 400, "FUNCTION_PARAM_INVALID");
    it_free(&r);
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    it_request("POST", "/v1/functions/small-fn?marker=big", NULL, big, &r);
    assert_error(&r, 413, "PAYLOAD_TOO_LARGE");
    it_free(&r);
    /* Web functions take any body, as it is. */
    it_request("POST", "/v1/functions/echo-fn?webfn=true", NULL, "plain text", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"bodyLength\": 10"));
    it_free(&r);
    it_request("POST", "/v1/functions/echo-fn", webfn, "plain", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"bodyLength\": 5"));
    it_free(&r);
    /* An empty body is a call without parameters. */
    it_request("POST", "/v1/functions/echo-fn", NULL, "", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    it_upstream_control("marker=ok-body", "POST", "/v1/functions/echo-fn?marker=ok-body", NULL, "{}");
    it_assert_upstream_never_saw("marker=notjson");
    it_assert_upstream_never_saw("marker=array");
    it_assert_upstream_never_saw("marker=big");
}
END_TEST

START_TEST(bad_names_methods_and_paths)
{
    static const char *const paths[] = {
        "/v1/functions/1abc?marker=n1", "/v1/functions/a%0d%0aX-Evil:%201?marker=n2",
        "/v1/functions/a%00b?marker=n3", "/v1/functions/ab-?marker=n4",
        "/v1/functions/a%2Fb?marker=n5", NULL};
    it_response r;
    for (int i = 0; paths[i]; i++) {
        it_request("POST", paths[i], NULL, "{}", &r);
        assert_error(&r, 400, "INVALID_PARAM");
        it_free(&r);
    }
    it_request("GET", "/v1/functions/echo-fn?marker=n6", NULL, NULL, &r);
    assert_error(&r, 405, "METHOD_NOT_ALLOWED");
    ck_assert_str_eq(it_header(&r, "Allow"), "POST");
    it_free(&r);
    it_request("POST", "/v1/functions/echo-fn/../../etc/passwd?marker=n7", NULL, "{}", &r);
    ck_assert_int_ge(r.status, 400);
    ck_assert_int_lt(r.status, 500);
    it_free(&r);
    it_upstream_control("marker=ok-name", "POST", "/v1/functions/echo-fn?marker=ok-name", NULL, "{}");
    for (int i = 1; i <= 7; i++) {
        char marker[32];
        snprintf(marker, sizeof(marker), "marker=n%d", i);
        it_assert_upstream_never_saw(marker);
    }
}
END_TEST

/* Control characters in header values: httpd refuses them while reading
 * the request; the gateway still answers in its dialect. */
START_TEST(control_characters_in_headers)
{
    static const char cr[] = "POST /v1/functions/echo-fn?marker=h1 HTTP/1.1\r\nHost: x\r\n"
                             "X-Qualifier: 2\rX-Evil: 1\r\nContent-Length: 2\r\n\r\n{}";
    static const char nul[] = "POST /v1/functions/echo-fn?marker=h2 HTTP/1.1\r\nHost: x\r\n"
                              "X-Qualifier: a\0b\r\nContent-Length: 2\r\n\r\n{}";
    const char *const requests[] = {cr, nul};
    const size_t sizes[] = {sizeof(cr) - 1, sizeof(nul) - 1};
    for (int i = 0; i < 2; i++) {
        char *answer = it_raw_request(requests[i], sizes[i]);
        ck_assert_msg(strncmp(answer, "HTTP/1.1 400", 12) == 0, "answer: %.200s", answer);
        ck_assert_msg(strstr(answer, "\"code\":\"INVALID_REQUEST\"") ||
                      strstr(answer, "\"code\":\"INVALID_PARAM\""), "answer: %.400s", answer);
        ck_assert_msg(strstr(answer, "application/json"), "answer: %.400s", answer);
        free(answer);
    }
    it_upstream_control("marker=ok-h", "POST", "/v1/functions/echo-fn?marker=ok-h", NULL, "{}");
    it_assert_upstream_never_saw("marker=h1");
    it_assert_upstream_never_saw("marker=h2");
}
END_TEST

START_TEST(refused_connection_is_a_fast_502)
{
    it_response r;
    char command[600], *log;
    for (int i = 0; i < 3; i++) {
        it_request("POST", "/v1/functions/dead-fn", NULL, "{}", &r);
        assert_error(&r, 502, "BAD_GATEWAY");
        ck_assert_msg(r.total_ms < 1000, "502 took %.0f ms", r.total_ms);
        it_free(&r);
    }
    /* Other upstreams are not affected: a live one works at once. */
    it_request("POST", "/v1/functions/echo-fn", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    /* The dead upstream is not parked in an error state either (mod_proxy
     * would refuse it for `retry` seconds): once it is back, the very next
     * call reaches it. */
    snprintf(command, sizeof(command), "python3 '%s' %d", getenv("CB_TEST_UPSTREAM"), dead_port);
    it_spawn_helper(it.dir, command, "revived-upstream.log");
    ck_assert_msg(srv_wait_port(dead_port, 10000), "the revived upstream did not start");
    it_request("POST", "/v1/functions/dead-fn?marker=revived", NULL, "{}", &r);
    ck_assert_msg(r.status == 200, "revived upstream: %ld %s", r.status, r.body ? r.body : "");
    it_free(&r);
    log = it_read_file("revived-upstream.log");
    ck_assert_msg(strstr(log, "marker=revived") != NULL, "revived upstream's log: %s", log);
    free(log);
}
END_TEST

START_TEST(slow_upstream_times_out_with_504)
{
    it_response r;
    it_request("POST", "/v1/functions/slow-fn?ms=3000", NULL, "{}", &r);
    assert_error(&r, 504, "SERVICE_TIMEOUT");
    ck_assert_msg(r.total_ms < 2000, "the timeout of 500 ms took %.0f ms", r.total_ms);
    it_free(&r);
    it_request("POST", "/v1/functions/slow-fn?ms=50", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}
END_TEST

START_TEST(concurrency_cap_answers_503)
{
    enum { TOTAL = 6 };
    long statuses[TOTAL];
    int ok = 0, refused = 0;
    it_response r;
    it_parallel(&it.http_port, 1, "POST", "/v1/functions/capped-fn?ms=1500", NULL, "{}", TOTAL,
                TOTAL, statuses);
    for (int i = 0; i < TOTAL; i++) {
        ok += statuses[i] == 200;
        refused += statuses[i] == 503;
    }
    ck_assert_msg(ok == 2 && refused == TOTAL - 2, "%d answered, %d refused", ok, refused);
    /* The slots come back when the calls end. */
    it_request("POST", "/v1/functions/capped-fn?ms=10", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    /* Other functions were never starved. */
    it_request("POST", "/v1/functions/echo-fn", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}
END_TEST

START_TEST(bad_function_lines_fail_configtest)
{
    static const char *const bad_lines[] = {
        "function 9bad http://127.0.0.1:1/",
        "function ok-fn ftp://127.0.0.1/",
        "function ok-fn http://127.0.0.1:1/ timeout=soon",
        "function ok-fn http://127.0.0.1:1/ auth=maybe",
        "function ok-fn http://127.0.0.1:1/ max_body=0",
        "http_route /api function=missing-fn",
        "ai_provider openai http://127.0.0.1:1/v1",
        NULL};
    char site[4096], output[4096];
    for (int i = 0; bad_lines[i]; i++) {
        snprintf(site, sizeof(site), "%s<CloudBasePlugin functions>\n  %s\n</CloudBasePlugin>\n",
                 it_default_site(), bad_lines[i]);
        ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", site), output,
                                       sizeof(output)), 0);
        ck_assert_msg(strstr(output, "bad.conf:"), "no file:line for '%s': %s", bad_lines[i],
                      output);
    }
}
END_TEST

Suite *functions_suite(void)
{
    Suite *s = suite_create("functions");
    TCase *tc = tcase_create("functions");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, call_passes_through_with_identity);
    tcase_add_test(tc, versions_and_unknown_functions);
    tcase_add_test(tc, agent_route_without_agents_is_not_found);
    tcase_add_test(tc, bodies_and_web_functions);
    tcase_add_test(tc, bad_names_methods_and_paths);
    tcase_add_test(tc, control_characters_in_headers);
    tcase_add_test(tc, refused_connection_is_a_fast_502);
    tcase_add_test(tc, slow_upstream_times_out_with_504);
    tcase_add_test(tc, concurrency_cap_answers_503);
    tcase_add_test(tc, bad_function_lines_fail_configtest);
    suite_add_tcase(s, tc);
    return s;
}
