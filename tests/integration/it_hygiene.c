/*
 * it_hygiene.c: what a client can send that the gateway must never pass on
 * or answer badly, on every proxy route type in a real apache2 (the test
 * plugin's proxy route, functions, Cloud Run, HTTP access routes, the AI
 * proxy and agents):
 *
 *   - gateway-owned headers (X-Cloudbase-*, X-Request-Id and the headers a
 *     route sets upstream) in any spelling, X_Cloudbase_Uid included, never
 *     reach the upstream, while ordinary headers do;
 *   - a Transfer-Encoding other than "chunked" alone is a 400 in the
 *     route's dialect and never reaches the upstream;
 *   - errors httpd raises while reading the request (a URL too long, a
 *     malformed request line, a header too large) carry X-Request-Id, and
 *     JSON in the route's dialect when the path names a gateway route;
 *   - messages about malformed JSON bodies are the gateway's own words.
 *
 * Raw sockets (it_raw_request) send what libcurl would rewrite or refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>

#include "harness.h"

#define PROVIDER_KEY "sk-test-provider-key-123" /* upstream.py checks it */

static void start(void)
{
    static char site[8192];
    it_setup();
    it_write_file("provider.key", PROVIDER_KEY "\n");
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    snprintf(site, sizeof(site),
             "AllowEncodedSlashes NoDecode\n"
             "%s"
             "<CloudBasePlugin auth>\n  jwt_secret file:%s/jwt.key\n</CloudBasePlugin>\n"
             "<CloudBasePlugin functions>\n"
             "  function echo-fn http://127.0.0.1:%d/fn auth=none\n"
             "  cloudrun web http://127.0.0.1:%d/base auth=none attachment=off\n"
             "  http_route /api/fn function=echo-fn auth=off\n"
             "  http_route /api/run cloudrun=web auth=off\n"
             "  ai_provider openai http://127.0.0.1:%d/v1 key=file:%s/provider.key auth=none\n"
             "  agent agent-1 http://127.0.0.1:%d/agent/v1/chat/completions auth=none\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.upstream_port, it.upstream_port, it.upstream_port,
             it.dir, it.upstream_port);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* One route of each proxy type, with a body it accepts. Requests carry an
 * X-Marker header, which upstream.py logs (not every route passes the
 * query on), to show whether they arrived. */
typedef struct proxy_route {
    const char *name;
    const char *method;
    const char *path;   /* without query */
    const char *body;
} proxy_route;

static const proxy_route proxy_routes[] = {
    {"testplug proxy", "POST", "/v1/test/proxy/echo", "{}"},
    {"function", "POST", "/v1/functions/echo-fn", "{}"},
    {"Cloud Run", "POST", "/v1/cloudrun/web/echo", "{}"},
    {"HTTP access (function)", "POST", "/api/fn/echo", "{}"},
    {"HTTP access (Cloud Run)", "POST", "/api/run/echo", "{}"},
    {"AI proxy", "POST", "/v1/ai/openai/chat/completions", "{\"model\":\"m1\",\"messages\":[]}"},
    {"agent", "POST", "/v1/aibot/openai/chat/completions",
     "{\"model\":\"agent-1\",\"messages\":[]}"},
};
#define PROXY_ROUTE_COUNT (sizeof(proxy_routes) / sizeof(proxy_routes[0]))

/* ------------------------------------------------------------ identity */

/* Every gateway-owned name in spellings an upstream folds together. The
 * dash spellings of X-Request-Id are left out: a sane client id is the
 * request's id by design. X-Test-Plugin is set by the test plugin's route
 * only, so elsewhere it is an ordinary header (and is not checked). */
static const char *spoofs[] = {
    "X-Marker: set per request",
    "X-Cloudbase-Uid: forged-1",     "X_Cloudbase_Uid: forged-2",
    "x_cloudbase_uid: forged-3",     "X-CLOUDBASE_UID: forged-4",
    "X-Cloudbase-Env: forged-5",     "X_Cloudbase_Env: forged-6",
    "x-cloudbase_env: forged-7",     "X-Cloudbase-Role: forged-8",
    "X_Cloudbase_Role: forged-9",    "X_Request_Id: forged-10",
    "x_request-ID: forged-11",       "X-Normal-Header: arrives",
    "X_Normal_Underscore: arrives-too",
    "Authorization: Bearer test-user-carol",
    "Content-Type: application/json", NULL};

START_TEST(gateway_headers_in_any_spelling_never_reach_the_upstream)
{
    it_response r;
    for (size_t i = 0; i < PROXY_ROUTE_COUNT; i++) {
        const proxy_route *route = &proxy_routes[i];
        char header[64], marker[64], expected_id[128];
        snprintf(header, sizeof(header), "X-Marker: spoof%zu", i);
        snprintf(marker, sizeof(marker), " marker:spoof%zu\n", i);
        spoofs[0] = header;
        it_request(route->method, route->path, spoofs, route->body, &r);
        ck_assert_msg(r.status == 200, "%s: %ld %s", route->name, r.status, r.body);
        /* The positive control: the request and an ordinary header (in
         * either spelling) arrived. */
        ck_assert_msg(it_upstream_saw(marker), "%s: never reached the upstream", route->name);
        ck_assert_msg(strstr(r.body, "\"x-normal-header\": \"arrives\""), "%s: %s", route->name,
                      r.body);
        ck_assert_msg(strstr(r.body, "\"x_normal_underscore\": \"arrives-too\""), "%s: %s",
                      route->name, r.body);
        /* The gateway's own values, and nothing forged. */
        ck_assert_msg(!strstr(r.body, "forged"), "%s: a spoofed header arrived: %s", route->name,
                      r.body);
        ck_assert_msg(strstr(r.body, "\"x-cloudbase-uid\": \"carol\""), "%s: %s", route->name,
                      r.body);
        ck_assert_msg(strstr(r.body, "\"x-cloudbase-env\": \"demo\""), "%s: %s", route->name,
                      r.body);
        ck_assert_ptr_nonnull(it_header(&r, "X-Request-Id"));
        snprintf(expected_id, sizeof(expected_id), "\"x-request-id\": \"%s\"",
                 it_header(&r, "X-Request-Id"));
        ck_assert_msg(strstr(r.body, expected_id), "%s: %s", route->name, r.body);
        it_free(&r);
    }
}
END_TEST

/* A header a route sets upstream (the test plugin's X-Test-Plugin) is the
 * gateway's too: a client's other spelling of it is dropped. */
START_TEST(route_set_headers_in_any_spelling_are_dropped)
{
    static const char *const spoof[] = {"X_Test_Plugin: forged-route", "x-drop_me: forged-drop",
                                        NULL};
    it_response r;
    it_request("GET", "/v1/test/proxy/echo?marker=route-set", spoof, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(it_upstream_saw("marker=route-set"));
    ck_assert_msg(strstr(r.body, "\"x-test-plugin\": \"testplug\""), "%s", r.body);
    ck_assert_msg(!strstr(r.body, "forged"), "a spoofed header arrived: %s", r.body);
    it_free(&r);
}
END_TEST

/* ------------------------------------------------------------ framing */

static char *send_with_encoding(const char *method, const char *path, const char *marker,
                                const char *encoding, const char *body)
{
    char request[1024];
    int n = snprintf(request, sizeof(request),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "X-Marker: %s\r\nTransfer-Encoding: %s\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
                     method, path, marker, encoding, strlen(body), body);
    ck_assert(n > 0 && (size_t)n < sizeof(request));
    return it_raw_request(request, (size_t)n);
}

START_TEST(unsupported_transfer_encoding_is_a_400_on_every_route)
{
    static const char *const encodings[] = {"chunked, chunked", "identity, chunked"};
    for (size_t i = 0; i < PROXY_ROUTE_COUNT; i++) {
        const proxy_route *route = &proxy_routes[i];
        char name[32], marker[64];
        char *answer;
        for (size_t e = 0; e < 2; e++) {
            snprintf(name, sizeof(name), "te%zu-%zu", i, e);
            snprintf(marker, sizeof(marker), " marker:%s\n", name);
            answer = send_with_encoding(route->method, route->path, name, encodings[e],
                                        route->body);
            ck_assert_msg(strncmp(answer, "HTTP/1.1 400", 12) == 0, "%s, %s: %.400s",
                          route->name, encodings[e], answer);
            ck_assert_msg(strstr(answer, "\"code\":\"INVALID_REQUEST\"") &&
                          strstr(answer, "Transfer-Encoding must be"), "%s: %.600s",
                          route->name, answer);
            ck_assert_msg(strcasestr(answer, "\r\nX-Request-Id: "), "%s: %.600s", route->name,
                          answer);
            free(answer);
            ck_assert_msg(!it_upstream_saw(marker), "%s, %s reached the upstream", route->name,
                          encodings[e]);
        }
        /* The positive control: plain chunked on the same route arrives. */
        snprintf(name, sizeof(name), "te%zu-ok", i);
        snprintf(marker, sizeof(marker), " marker:%s\n", name);
        answer = send_with_encoding(route->method, route->path, name, "chunked", route->body);
        ck_assert_msg(strncmp(answer, "HTTP/1.1 200", 12) == 0, "%s, chunked: %.400s",
                      route->name, answer);
        free(answer);
        ck_assert_msg(it_upstream_saw(marker), "%s: chunked never reached the upstream",
                      route->name);
    }
    {
        char *log = it_error_log();
        ck_assert_msg(!strstr(log, "AH01093"), "mod_proxy refused an encoding:\n%s", log);
        free(log);
    }
}
END_TEST

/* A route in another dialect (OAuth, the auth plugin's) answers in it. */
START_TEST(unsupported_transfer_encoding_speaks_the_route_dialect)
{
    char *answer = send_with_encoding("POST", "/auth/v1/token", "oauth", "identity, chunked",
                                      "{\"grant_type\":\"password\"}");
    ck_assert_msg(strncmp(answer, "HTTP/1.1 400", 12) == 0, "%.400s", answer);
    ck_assert_msg(strstr(answer, "\"error\":\"invalid_request\""), "%.600s", answer);
    ck_assert_msg(strstr(answer, "Transfer-Encoding must be"), "%.600s", answer);
    ck_assert_msg(strcasestr(answer, "\r\nConnection: close\r\n"), "%.600s", answer);
    free(answer);
}
END_TEST

/* ------------------------------------------------------------ httpd's errors */

/* The answer of a raw request: the status and, for JSON, the code. */
static void assert_gateway_error(const char *what, const char *answer, const char *status,
                                 const char *json_fragment)
{
    char line[32];
    snprintf(line, sizeof(line), "HTTP/1.1 %s", status);
    ck_assert_msg(strncmp(answer, line, strlen(line)) == 0, "%s: %.300s", what, answer);
    ck_assert_msg(strcasestr(answer, "\r\nX-Request-Id: "), "%s: no request id: %.600s", what,
                  answer);
    if (json_fragment) {
        ck_assert_msg(strcasestr(answer, "\r\nContent-Type: application/json"), "%s: %.600s",
                      what, answer);
        ck_assert_msg(strstr(answer, json_fragment), "%s: %.600s", what, answer);
        if (strstr(json_fragment, "\"code\""))  /* the CloudBase dialect names the id */
            ck_assert_msg(strstr(answer, "\"requestId\":\""), "%s: %.600s", what, answer);
    }
}

static char *long_request(const char *prefix, size_t filler, const char *rest)
{
    size_t len = strlen(prefix) + filler + strlen(rest);
    char *request = malloc(len + 1), *answer;
    ck_assert_ptr_nonnull(request);
    memcpy(request, prefix, strlen(prefix));
    memset(request + strlen(prefix), 'a', filler);
    memcpy(request + strlen(prefix) + filler, rest, strlen(rest) + 1);
    answer = it_raw_request(request, len);
    free(request);
    return answer;
}

START_TEST(url_too_long_has_a_request_id)
{
    char *answer;
    /* Past LimitRequestLine (8190) in the query and in the path. */
    answer = long_request("GET /v1/test/echo?q=", 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_gateway_error("long query", answer, "414", "\"code\":\"INVALID_REQUEST\"");
    free(answer);
    answer = long_request("POST /v1/functions/", 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_gateway_error("long path", answer, "414", "\"code\":\"INVALID_REQUEST\"");
    free(answer);
    /* The route's dialect: the auth plugin's routes speak OAuth. */
    answer = long_request("POST /auth/v1/token?q=", 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_gateway_error("long OAuth URL", answer, "414", "\"error\":\"invalid_request\"");
    free(answer);
    /* Outside the gateway, httpd's page is left alone. */
    answer = long_request("GET /index.html?q=", 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_msg(strncmp(answer, "HTTP/1.1 414", 12) == 0, "%.300s", answer);
    ck_assert_msg(!strcasestr(answer, "application/json"), "%.600s", answer);
    free(answer);
}
END_TEST

START_TEST(malformed_request_lines_have_a_request_id)
{
    static const char *const lines[] = {
        "GET /v1/test/echo HTTP/1.1 trailing\r\nHost: x\r\n\r\n",
        "GET /v1/test/echo HTTP/1.1\t\r\nHost: x\r\n\r\n",
        "GET /v1/test/echo  HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/test/echo\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v1/test/echo HTTP/1.1\r\n\r\n", /* HTTP/1.1 without Host */
        "POST /v1/test/echo\r\n\r\n",          /* HTTP/0.9 allows GET only */
        NULL};
    char *answer;
    for (int i = 0; lines[i]; i++) {
        answer = it_raw_request(lines[i], strlen(lines[i]));
        assert_gateway_error(lines[i], answer, "400", "\"code\":\"INVALID_REQUEST\"");
        free(answer);
    }
    /* No path at all: nothing says it was meant for the gateway or which
     * dialect the client speaks, so httpd's page stays, with an id. */
    answer = it_raw_request("\x01garbage\r\n\r\n", 11);
    assert_gateway_error("garbage line", answer, "400", NULL);
    free(answer);
}
END_TEST

START_TEST(oversized_headers_have_a_request_id)
{
    char *answer;
    size_t used;
    char *many;
    /* One field past LimitRequestFieldSize (8190). */
    answer = long_request("GET /v1/test/echo HTTP/1.1\r\nHost: x\r\nX-Big: ", 9000, "\r\n\r\n");
    assert_gateway_error("large header", answer, "400", "\"code\":\"INVALID_REQUEST\"");
    free(answer);
    /* More fields than LimitRequestFields (100). */
    many = malloc(200 * 16 + 128);
    ck_assert_ptr_nonnull(many);
    used = (size_t)sprintf(many, "GET /v1/test/echo HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 200; i++)
        used += (size_t)sprintf(many + used, "X-F%d: %d\r\n", i, i);
    used += (size_t)sprintf(many + used, "\r\n");
    answer = it_raw_request(many, used);
    assert_gateway_error("too many headers", answer, "400", "\"code\":\"INVALID_REQUEST\"");
    free(answer);
    free(many);
}
END_TEST

/* ------------------------------------------------------------ messages */

/* jansson's own words that must not reach a client. */
static const char *const library_words[] = {"JSON_ALLOW_NUL", "jansson", "JSON_", "near '",
                                            "expected near", "'[' or '{'", NULL};

START_TEST(json_errors_are_worded_for_the_client)
{
    static const char *const json_header[] = {"Content-Type: application/json", NULL};
    static const struct {
        const char *body;
        const char *problem;
    } bodies[] = {
        {"{\"username\":\"a\\u0000b\",\"password\":\"x\"}", "NUL character"},
        {"{\"username\":\"ab", "ends too early"},
        {"{\"username\":\"ab\",\"username\":\"cd\"}", "same key twice"},
        {"{\"a\":1} trailing", "more text after"},
        {"[1,]", "unexpected text"},
        {"{\"a\":\"\xff\"}", "UTF-8"},
    };
    it_response r;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        it_request("POST", "/auth/v1/signin", json_header, bodies[i].body, &r);
        ck_assert_msg(r.status == 400, "%s: %ld %s", bodies[i].body, r.status, r.body);
        ck_assert_msg(strstr(r.body, "the body is not valid JSON"), "%s", r.body);
        ck_assert_msg(strstr(r.body, bodies[i].problem), "%s: %s", bodies[i].problem, r.body);
        for (int w = 0; library_words[w]; w++)
            ck_assert_msg(!strstr(r.body, library_words[w]), "'%s' in %s", library_words[w],
                          r.body);
        it_free(&r);
    }
}
END_TEST

Suite *hygiene_suite(void)
{
    Suite *s = suite_create("hygiene");
    TCase *tc = tcase_create("hygiene");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, gateway_headers_in_any_spelling_never_reach_the_upstream);
    tcase_add_test(tc, route_set_headers_in_any_spelling_are_dropped);
    tcase_add_test(tc, unsupported_transfer_encoding_is_a_400_on_every_route);
    tcase_add_test(tc, unsupported_transfer_encoding_speaks_the_route_dialect);
    tcase_add_test(tc, url_too_long_has_a_request_id);
    tcase_add_test(tc, malformed_request_lines_have_a_request_id);
    tcase_add_test(tc, oversized_headers_have_a_request_id);
    tcase_add_test(tc, json_errors_are_worded_for_the_client);
    suite_add_tcase(s, tc);
    return s;
}
