/*
 * testplug.c: a test-only plugin that exercises the whole plugin ABI: every
 * option type, plain, parameterised, rest, streaming, body-reading, auth
 * and proxy routes, an identity hook, a policy hook, after-response
 * accounting and a background task. Used by the unit and integration tests.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/json.h"
#include "cloudbase/log.h"

typedef struct testplug {
    const char *greeting;
    const char *upstream;
    int64_t max_body;
    int fake_identity;
    const char *task_file;
    const char *secret;
    const char *deny_header;
    int64_t after_count;     /* after_response calls in this process */
    int last_status;         /* the status after_response last saw */
    int child_pid;           /* set by child_init in each worker process */
} testplug;

static const cb_option_def options[] = {
    {"greeting", CB_OPT_STRING, 1, NULL, "text the echo route returns"},
    {"upstream", CB_OPT_URL, 0, NULL, "base URL of the proxy route's upstream"},
    {"max_body", CB_OPT_SIZE, 0, "1k", "largest body the body route accepts"},
    {"timeout", CB_OPT_DURATION, 0, "5s", "an unused duration, for parser tests"},
    {"fake_identity", CB_OPT_BOOL, 0, "off", "accept 'Bearer test-user-NAME' tokens"},
    {"deny_header", CB_OPT_STRING, 0, NULL, "refuse requests that carry this header"},
    {"task_file", CB_OPT_STRING, 0, NULL, "file the background task appends to"},
    {"task_interval", CB_OPT_DURATION, 0, "200ms", "how often the task runs"},
    {"secret", CB_OPT_SECRET, 0, NULL, "a secret, for loader tests"},
    {"workers", CB_OPT_INT, 0, "1", "an unused integer, for parser tests"},
    {NULL, 0, 0, NULL, NULL}
};



static cb_status echo(cb_req *req, void *state)
{
    testplug *t = state;
    const cb_identity *id = cb_req_identity(req);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:I, s:i, s:i}",
                             "greeting", t->greeting, "method", cb_req_method(req),
                             "path", cb_req_path(req), "query", cb_req_query(req),
                             "id", cb_req_param(req, "id"), "rest", cb_req_param(req, "rest"),
                             "uid", id->uid, "env", cb_req_env(req),
                             "requestId", cb_req_id(req),
                             "childInitRan", t->child_pid == (int)getpid(),
                             "afterCount", (json_int_t)__atomic_load_n(&t->after_count, __ATOMIC_RELAXED),
                             "lastStatus", __atomic_load_n(&t->last_status, __ATOMIC_RELAXED),
                             "pid", (int)getpid());
    cb_status rc = cb_req_send_json(req, 200, cb_json_dump(cb_req_pool(req), body));
    json_decref(body);
    return rc;
}

static cb_status body_route(cb_req *req, void *state)
{
    testplug *t = state;
    const char *data;
    size_t len;
    if (cb_req_read_body(req, (size_t)t->max_body, &data, &len) != CB_OK)
        return CB_ERROR;
    return cb_req_send_json(req, 200, apr_psprintf(cb_req_pool(req), "{\"length\":%" APR_SIZE_T_FMT "}", len));
}

static cb_status fail_route(cb_req *req, void *state)
{
    testplug *t = state;
    /* A careless line on purpose: the core must scrub the secret out. */
    cb_log_req(req, CB_LOG_WARNING, "testplug failing as asked (secret %s)",
               t->secret ? t->secret : "unset");
    return cb_req_send_error(req, 400, "INVALID_PARAM", "the test route always fails");
}

static cb_status stream_route(cb_req *req, void *state)
{
    (void)state;
    cb_req_set_header(req, "Content-Type", "text/event-stream");
    cb_req_set_header(req, "Cache-Control", "no-cache");
    for (int i = 0; i < 3; i++) {
        char event[64];
        int n = snprintf(event, sizeof(event), "data: event %d\n\n", i);
        if (cb_req_write(req, event, (size_t)n) != CB_OK || cb_req_flush(req) != CB_OK)
            return CB_ERROR;
        if (i < 2)
            usleep(300 * 1000);
    }
    return CB_OK;
}

static cb_status proxy_route(cb_req *req, void *state)
{
    testplug *t = state;
    const char *rest = cb_req_param(req, "rest");
    const char *query = cb_req_query(req);
    if (!t->upstream)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "no upstream configured");
    cb_req_set_upstream_header(req, "X-Test-Plugin", "testplug");
    cb_req_unset_upstream_header(req, "X-Drop-Me");
    cb_req_proxy_to(req, apr_pstrcat(cb_req_pool(req), t->upstream, rest ? rest : "",
                                     *query ? "?" : "", query, NULL));
    return CB_OK;
}

static cb_status identify(cb_req *req, void *state, cb_identity *out)
{
    testplug *t = state;
    const char *auth = cb_req_header(req, "Authorization");
    if (!t->fake_identity || !auth)
        return CB_DECLINED;
    if (strncmp(auth, "Bearer test-user-", 17) == 0 && auth[17]) {
        out->kind = CB_IDENTITY_USER;
        out->uid = auth + 17;
        return CB_OK;
    }
    if (strcmp(auth, "Bearer test-anonymous") == 0) {
        out->kind = CB_IDENTITY_ANONYMOUS;
        out->uid = "anon";
        return CB_OK;
    }
    if (strcmp(auth, "Bearer test-admin") == 0) {
        out->kind = CB_IDENTITY_ADMIN;
        out->uid = "admin";
        return CB_OK;
    }
    /* Refuse only its own kind of token; others belong to other plugins. */
    return strncmp(auth, "Bearer test-", 12) == 0 ? CB_ERROR : CB_DECLINED;
}

static cb_status policy(cb_req *req, void *state)
{
    testplug *t = state;
    if (t->deny_header && cb_req_header(req, t->deny_header)) {
        cb_req_send_error(req, 429, "RATE_LIMITED", "denied by the test policy");
        return CB_DONE;
    }
    return CB_OK;
}

static void after_response(cb_req *req, void *state, int status)
{
    testplug *t = state;
    (void)req;
    __atomic_store_n(&t->last_status, status, __ATOMIC_RELAXED);
    __atomic_add_fetch(&t->after_count, 1, __ATOMIC_RELAXED);
}

static void task(void *state, apr_pool_t *scratch)
{
    testplug *t = state;
    FILE *f;
    (void)scratch;
    if (!t->task_file || !(f = fopen(t->task_file, "a")))
        return;
    fprintf(f, "tick %d\n", (int)getpid());
    fclose(f);
}

static cb_status create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    testplug *t = apr_pcalloc(cb_ctx_pool(ctx), sizeof(*t));
    t->greeting = cb_opt_string(o, "greeting");
    t->upstream = cb_opt_string(o, "upstream");
    t->max_body = cb_opt_size(o, "max_body", 1024);
    t->fake_identity = cb_opt_bool(o, "fake_identity", 0);
    t->task_file = cb_opt_string(o, "task_file");
    t->secret = cb_opt_secret(o, "secret");
    t->deny_header = cb_opt_string(o, "deny_header");
    if (strcmp(t->greeting, "fail") == 0) {
        cb_ctx_error(ctx, "greeting 'fail' asks create() to fail");
        return CB_ERROR;
    }
    if (t->upstream)
        cb_ctx_declare_upstream(ctx, t->upstream);
    if (t->task_file)
        cb_ctx_add_task(ctx, "testplug-tick", apr_time_from_msec(cb_opt_duration_ms(o, "task_interval", 200)),
                        task);
    *state = t;
    return CB_OK;
}

static cb_status child_init(void *state, apr_pool_t *child_pool)
{
    testplug *t = state;
    (void)child_pool;
    t->child_pid = (int)getpid();
    return CB_OK;
}

static const cb_route_def routes[] = {
    {"GET", "/v1/test/echo", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"POST", "/v1/test/echo", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"GET", "/v1/test/items/{id}", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"GET", "/v1/test/files/{rest*}", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"POST", "/v1/test/body", body_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"GET", "/v1/test/fail", fail_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"GET", "/v1/test/oauth-fail", fail_route, CB_AUTH_NONE, CB_DIALECT_OAUTH, 0},
    {"GET", "/v1/test/tose-fail", fail_route, CB_AUTH_NONE, CB_DIALECT_TOSE, 0},
    {"GET", "/v1/test/testbase-fail", fail_route, CB_AUTH_NONE, CB_DIALECT_TESTBASE, 0},
    {"GET", "/v1/test/stream", stream_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0},
    {"GET", "/v1/test/private", echo, CB_AUTH_USER, CB_DIALECT_CLOUDBASE, 0},
    {"GET", "/v1/test/admin", echo, CB_AUTH_ADMIN, CB_DIALECT_OAUTH, 0},
    {"*", "/v1/test/proxy/{rest*}", proxy_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE,
     CB_ROUTE_PROXY},
    {NULL, NULL, NULL, 0, 0, 0}
};

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_ABI_VERSION, "testplug", "1.0.0", "test-only plugin",
    options, routes, create, child_init, policy, identify, after_response
};
