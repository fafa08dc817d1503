/*
 * test_gateway_rules.c: the host-neutral rules the adapters share
 * (gateway_rules.c, env_assemble.c): how an error the host made is
 * described, when a proxied answer is an attachment, which answer headers
 * the gateway owns, and assembling an environment from a host's spec.
 */
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "test_host.h"
#include "ratelimit.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

typedef struct error_case {
    int status, proxied, timed_out;
    int64_t timeout_ms, body_limit;
    const char *path;
    int want_status;
    const char *want_code, *want_message;
} error_case;

static const error_case error_cases[] = {
    {502, 1, 0, 0, 0, "/v1/a", 502, "BAD_GATEWAY",
     "the upstream closed the connection or sent an invalid answer"},
    {502, 1, 1, 0, 0, "/v1/a", 504, "SERVICE_TIMEOUT", "the upstream did not answer in time"},
    {502, 1, 1, 1500, 0, "/v1/a", 504, "SERVICE_TIMEOUT",
     "the upstream did not answer within 1500 ms"},
    {502, 0, 1, 0, 0, "/v1/a", 502, "BAD_GATEWAY", NULL}, /* a timeout note without a proxy */
    {503, 1, 0, 0, 0, "/v1/a", 502, "BAD_GATEWAY",
     "the upstream refused the connection or could not be reached"},
    {503, 0, 0, 0, 0, "/v1/a", 503, "SERVICE_UNAVAILABLE", "the service is unavailable"},
    {504, 1, 0, 250, 0, "/v1/a", 504, "SERVICE_TIMEOUT",
     "the upstream did not answer within 250 ms"},
    {413, 1, 0, 0, 1024, "/v1/a", 413, "PAYLOAD_TOO_LARGE",
     "request body is larger than 1024 bytes"},
    {413, 1, 0, 0, 0, "/v1/a", 413, "PAYLOAD_TOO_LARGE", "request body is too large"},
    {400, 0, 0, 0, 0, "/v1/a", 400, "INVALID_REQUEST", "the request is malformed"},
    {414, 0, 0, 0, 0, NULL, 414, "INVALID_REQUEST", "the URL is too long"},
    {501, 0, 0, 0, 0, "/v1/a", 501, "INVALID_REQUEST", "this method is not supported"},
    {505, 0, 0, 0, 0, "/v1/a", 505, "INVALID_REQUEST", "this HTTP version is not supported"},
    {408, 0, 0, 0, 0, "/v1/a", 408, "INVALID_REQUEST", "the request body did not arrive in time"},
    {404, 0, 0, 0, 0, "/v1/a%2Fb", 400, "INVALID_PARAM",
     "the path contains an encoded NUL or slash"},
    {404, 0, 0, 0, 0, "/v1/a%2fb", 400, "INVALID_PARAM", NULL},
    {404, 0, 0, 0, 0, "/v1/a%00", 400, "INVALID_PARAM", NULL},
    {404, 0, 0, 0, 0, "/v1/a%20b", 404, "RESOURCE_NOT_FOUND", "not found"},
    {404, 0, 0, 0, 0, NULL, 404, "RESOURCE_NOT_FOUND", "not found"},
    {403, 0, 0, 0, 0, "/v1/a", 403, "PERMISSION_DENIED", "forbidden"},
    {411, 0, 0, 0, 0, "/v1/a", 411, "INVALID_REQUEST", "the request was refused"},
    {500, 0, 0, 0, 0, "/v1/a", 500, "SYS_ERR", "the gateway failed to answer"},
};

START_TEST(host_errors_are_described_for_the_client)
{
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const error_case *c = &error_cases[i];
        cb_host_error_facts f = {c->status, c->proxied, c->timed_out, c->timeout_ms,
                                 c->body_limit, c->path};
        cb_host_error e = cb_describe_host_error(pool, &f);
        ck_assert_msg(e.status == c->want_status && strcmp(e.code, c->want_code) == 0,
                      "case %zu (%d): got %d %s, want %d %s", i, c->status, e.status, e.code,
                      c->want_status, c->want_code);
        if (c->want_message)
            ck_assert_msg(strcmp(e.message, c->want_message) == 0, "case %zu: %s", i,
                          e.message);
    }
}
END_TEST

START_TEST(attachment_rule)
{
    const unsigned a = CB_PROXY_ATTACHMENT;
    /* Only when the route asked for it. */
    ck_assert_int_eq(cb_proxy_answer_is_attachment(0, 200, "GET", "image/png"), 0);
    /* Every answer to GET or HEAD, text or not. */
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "GET", "text/html"), 1);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "HEAD", "text/html"), 1);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 404, "GET", NULL), 1);
    /* Other methods: non-text answers only. */
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", "application/json"), 0);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", "Application/JSON; charset=utf-8"), 0);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", "application/problem+json"), 0);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", "text/plain"), 0);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", "application/octet-stream"), 1);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", NULL), 1);
    /* Never an upgrade or an event stream. */
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 101, "GET", NULL), 0);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "GET", "text/event-stream"), 0);
    ck_assert_int_eq(cb_proxy_answer_is_attachment(a, 200, "POST", "TEXT/EVENT-STREAM; x=1"), 0);
}
END_TEST

START_TEST(gateway_owns_its_answer_headers)
{
    const char *const *h = cb_gateway_answer_headers();
    const char *want[] = {"X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining",
                          "RateLimit-Reset", "Access-Control-Allow-Origin",
                          "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"};
    int n = 0;
    while (h[n])
        n++;
    ck_assert_int_eq(n, (int)(sizeof(want) / sizeof(want[0])));
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(h[i], want[i]);
}
END_TEST

static apr_array_header_t *rules_of(const char *const *texts)
{
    apr_array_header_t *rules = apr_array_make(pool, 4, sizeof(cb_rl_rule));
    for (int i = 0; texts[i]; i++)
        ck_assert_ptr_null(cb_rl_rule_parse(pool, texts[i], apr_array_push(rules)));
    return rules;
}

START_TEST(assemble_checks_redis_down_and_rule_caps)
{
    static const char *const closed[] = {"/v1 10/1s redis_down=closed", NULL};
    static const char *const local[] = {"/v1 10/1s", NULL};
    cb_env_spec spec;
    cb_env *env;
    const char *err;
    memset(&spec, 0, sizeof(spec));
    spec.id = "demo";
    spec.health_path = "/health";
    spec.rate_rules = rules_of(closed);
    err = cb_env_assemble(pool, &spec, &env);
    ck_assert_msg(err && strstr(err, "redis_down=closed needs CloudBaseRedis"), "%s",
                  err ? err : "(none)");
    ck_assert_ptr_null(env);
    spec.rate_rules = rules_of(local);
    ck_assert_ptr_null(cb_env_assemble(pool, &spec, &env));
    ck_assert_ptr_nonnull(env->ratelimit);
    ck_assert_str_eq(env->id, "demo");
    /* More than 16 rules on one path fail here too. */
    {
        apr_array_header_t *many = apr_array_make(pool, 20, sizeof(cb_rl_rule));
        for (int i = 0; i < 17; i++)
            ck_assert_ptr_null(cb_rl_rule_parse(pool, apr_psprintf(pool, "/v1 %d/1m", i + 1),
                                                apr_array_push(many)));
        spec.rate_rules = many;
        err = cb_env_assemble(pool, &spec, &env);
        ck_assert_msg(err && strstr(err, "17 rules can apply to one request"), "%s",
                      err ? err : "(none)");
    }
}
END_TEST

START_TEST(assemble_gives_each_environment_its_instances)
{
    static const char *const opts[] = {"greeting", "hi", NULL};
    cb_env *shared = th_env_create(pool, "template");
    cb_env_spec spec;
    cb_env *a, *b;
    ck_assert_ptr_null(th_env_add_plugin(shared, pool, "testplug", opts));
    memset(&spec, 0, sizeof(spec));
    spec.health_path = "";
    spec.instances = shared->instances;
    spec.id = "a";
    ck_assert_ptr_null(cb_env_assemble(pool, &spec, &a));
    spec.id = "b";
    ck_assert_ptr_null(cb_env_assemble(pool, &spec, &b));
    ck_assert_int_eq(a->instances->nelts, 1);
    ck_assert_ptr_ne(APR_ARRAY_IDX(a->instances, 0, cb_instance *),
                     APR_ARRAY_IDX(b->instances, 0, cb_instance *));
    ck_assert_ptr_ne(APR_ARRAY_IDX(a->instances, 0, cb_instance *)->state,
                     APR_ARRAY_IDX(b->instances, 0, cb_instance *)->state);
    ck_assert_ptr_eq(APR_ARRAY_IDX(a->instances, 0, cb_instance *)->env, a);
}
END_TEST

Suite *gateway_rules_suite(void)
{
    Suite *s = suite_create("gateway_rules");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, host_errors_are_described_for_the_client);
    tcase_add_test(tc, attachment_rule);
    tcase_add_test(tc, gateway_owns_its_answer_headers);
    tcase_add_test(tc, assemble_checks_redis_down_and_rule_caps);
    tcase_add_test(tc, assemble_gives_each_environment_its_instances);
    suite_add_tcase(s, tc);
    return s;
}
