/*
 * it_wallet_tokens.c: AI token pricing (`meter /v1/ai/(any) 5/1k-tokens
 * cap=50`) through the functions plugin's AI proxy, in a real apache2 with
 * the auth and wallet plugins, Redis and the test upstream as an
 * OpenAI-compatible provider:
 *   tokens_read_from_usage: each call reserves the cap and settles the
 *     tokens of the answer's usage, refunding the rest: a JSON answer
 *     (1234 tokens: 7), a stream whose last chunk carries usage (2000
 *     tokens: 10; its chunks still arrive as they are sent), a stream
 *     without usage (the cap); then a balance short of the cap answers 402
 *     and the provider is never called. The ledger's sum equals the
 *     balance, and GET wallet/usage totals the three calls by plugin
 *     (functions: 67) and by route, from the ledger's copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define ADMIN_KEY "it-admin-key-0123456789abcdef"
#define ADMIN "X-API-Key: " ADMIN_KEY
#define WALLET "/api/workspaces/demo/wallet"
#define CHAT "/v1/ai/openai/chat/completions"

static void start(void)
{
    static char site[4096];
    it_setup();
    it_write_file("jwt.key", "it-jwt-secret-0123456789abcdefghijklmnop\n");
    it_write_file("admin.key", ADMIN_KEY "\n");
    it_write_file("provider.key", "sk-test-provider-key-123\n");
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  admin_key file:%s/admin.key\n"
             "</CloudBasePlugin>\n"
             "<CloudBasePlugin functions>\n"
             "  ai_provider openai http://127.0.0.1:%d/v1 key=file:%s/provider.key auth=none\n"
             "</CloudBasePlugin>\n"
             "<CloudBasePlugin wallet>\n"
             "  currency VND\n"
             "  meter /v1/ai/* 5/1k-tokens cap=50\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, it.upstream_port, it.dir);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static json_t *wallet_call(const char *method, const char *path, const char *body, long expect)
{
    const char *headers[] = {"Content-Type: application/json", ADMIN, NULL};
    it_response r;
    json_t *v;
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status == expect, "%s %s: %ld: %s", method, path, r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %s", r.body);
    it_free(&r);
    return v;
}

static long long balance(void)
{
    json_t *v = wallet_call("GET", WALLET, NULL, 200);
    long long b = json_integer_value(json_object_get(json_object_get(v, "data"), "balance"));
    json_decref(v);
    return b;
}

/* Settlement runs after the answer went out: poll to a deadline. */
static void expect_balance(long long want)
{
    long long deadline = it_now_ms() + 5000, got;
    while ((got = balance()) != want && it_now_ms() < deadline)
        usleep(20000);
    ck_assert_msg(got == want, "balance %lld, expected %lld", got, want);
}

/* The newest ledger entry's type and amount. */
static void expect_newest(const char *type, long long amount, const char *second_type,
                          long long second_amount)
{
    json_t *v = wallet_call("GET", WALLET "/transactions?limit=2", NULL, 200);
    json_t *list = json_object_get(json_object_get(v, "data"), "transactions");
    json_t *a = json_array_get(list, 0), *b = json_array_get(list, 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "type")), type);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "amount")), amount);
    ck_assert_str_eq(json_string_value(json_object_get(b, "type")), second_type);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "amount")), second_amount);
    json_decref(v);
}

static void chat(const char *marker, const char *body, long expect, it_response *r)
{
    char header[64];
    const char *headers[] = {"Content-Type: application/json", header, NULL};
    snprintf(header, sizeof(header), "X-Marker: %s", marker);
    it_request("POST", CHAT, headers, body, r);
    ck_assert_msg(r->status == expect, "%s: %ld: %s", body, r->status, r->body);
}

START_TEST(tokens_read_from_usage)
{
    it_response r;
    json_t *v;
    start();
    json_decref(wallet_call("POST", WALLET "/topup", "{\"amount\": 100}", 201));

    /* JSON answer: 1234 tokens at 5 per 1k = 6.17, rounded up to 7. */
    chat("ai-json", "{\"model\":\"m\",\"messages\":[],\"x_tokens\":1234}", 200, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"total_tokens\": 1234"));
    it_free(&r);
    expect_balance(93);
    expect_newest("refund", 43, "usage", -50);

    /* A stream, usage in its last chunk: 2000 tokens cost 10, and the
     * chunks arrived as they were sent (300 ms apart upstream). */
    chat("ai-stream", "{\"model\":\"m\",\"messages\":[],\"stream\":true,\"x_tokens\":2000,"
         "\"stream_options\":{\"include_usage\":true}}", 200, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"total_tokens\": 2000"));
    ck_assert_ptr_nonnull(strstr(r.body, "[DONE]"));
    ck_assert_msg(r.chunks >= 3 && r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] > 450,
                  "the stream was held back: %d chunks over %.0f ms", r.chunks,
                  r.chunks ? r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] : 0.0);
    it_free(&r);
    expect_balance(83);
    expect_newest("refund", 40, "usage", -50);

    /* A stream that reports no usage costs its cap (no refund entry). */
    chat("ai-nousage", "{\"model\":\"m\",\"messages\":[],\"stream\":true}", 200, &r);
    it_free(&r);
    expect_balance(33);
    expect_newest("usage", -50, "refund", 40);

    /* Short of the cap: 402, and the provider never sees the call. */
    chat("ai-broke", "{\"model\":\"m\",\"messages\":[],\"x_tokens\":1}", 402, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "WALLET_INSUFFICIENT_BALANCE"));
    it_free(&r);
    ck_assert(it_upstream_saw("marker:ai-json"));
    ck_assert(!it_upstream_saw("marker:ai-broke"));
    expect_balance(33);

    /* Usage by plugin and by route, once the copier has the entries. */
    {
        long long deadline = it_now_ms() + 5000;
        json_t *plugins = NULL, *routes = NULL;
        const char *text = NULL;
        v = NULL;
        while (it_now_ms() < deadline) {
            if (v)
                json_decref(v);
            v = wallet_call("GET", WALLET "/usage", NULL, 200);
            plugins = json_object_get(json_object_get(v, "data"), "by_plugin");
            if (json_integer_value(json_object_get(json_object_get(v, "data"), "cost")) == 67)
                break;
            usleep(50000);
        }
        routes = json_object_get(json_object_get(v, "data"), "by_route");
        text = json_dumps(json_object_get(v, "data"), JSON_COMPACT);
        ck_assert_msg(json_array_size(plugins) == 1 && json_array_size(routes) == 1, "%s", text);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(plugins, 0), "plugin")),
                         "functions");
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(plugins, 0), "cost")), 67);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(plugins, 0), "calls")), 3);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(routes, 0), "route")),
                         CHAT);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(routes, 0), "cost")), 67);
        free((void *)text);
        json_decref(v);
    }

    v = wallet_call("GET", WALLET "/reconcile", NULL, 200);
    ck_assert_msg(json_is_true(json_object_get(json_object_get(v, "data"), "ok")),
                  "the ledger does not add up");
    json_decref(v);
    it_teardown();
}
END_TEST

Suite *wallet_tokens_suite(void)
{
    Suite *s = suite_create("wallet_tokens");
    TCase *ai = tcase_create("ai");
    tcase_set_timeout(ai, 60);
    tcase_add_test(ai, tokens_read_from_usage);
    suite_add_tcase(s, ai);
    return s;
}
