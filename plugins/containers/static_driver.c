/*
 * static_driver.c: the containers plugin's `static` driver: agent types
 * (`agent_type NAME driver=static url=...`) whose container already runs
 * somewhere and serves, under its URL, POST /execute, GET /status and
 * GET /logs. A container of such a type is a registry row only (no engine
 * call, engine_id ""): its status and health come from GET /status
 * ({status, healthy}), its logs from GET /logs?lines=, and a task goes to
 * POST /execute {task, model?, reasoningEffort?}, whose event stream
 * (`stdout`, `stderr`, `done` events) is relayed event by event on the
 * handler's thread (libcurl multi), as the same events the engine driver
 * sends: one `stdout`/`stderr` event per line, a final `done`
 * {exitCode}, an `error` event when the stream breaks off, heartbeats
 * while it is quiet. A client that leaves cancels the upstream request.
 * Every request goes through the outbound address guard (`allow_private`
 * lists the loopback/private ranges endpoints may be in). Operations that
 * need the engine (files, packages, MCP servers) are refused in the
 * dialect. See docs/plugins/containers.md, "The static driver".
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/http_stream.h"
#include "cloudbase/log.h"
#include "cloudbase/sse.h"
#include "cloudbase/values.h"
#include "containers.h"

#define HEARTBEAT_MS 15000
#define TICK_MS 250
#define MAX_STATUS_BODY (64 * 1024)
#define MAX_LOGS_BODY (8 * 1024 * 1024)
#define MAX_STATUS_TEXT 64
#define CONNECT_TIMEOUT_MS 5000

const char *ct_static_check_url(apr_pool_t *p, const ct_agent_type *t,
                                const cb_cidr_list *allowed_private)
{
    cb_url parsed;
    const char *err;
    if ((err = cb_parse_url(p, t->url, &parsed)))
        return apr_psprintf(p, "url=: not an absolute http(s) URL: %s", err);
    if ((err = cb_url_guard_host_as_written(parsed.host, allowed_private)))
        return apr_psprintf(p, "url=: the host %s is %s (allow_private lists the loopback and "
                               "private ranges static endpoints may be in)", parsed.host, err);
    return NULL;
}

const ct_agent_type *ct_static_type(const ct_plugin *ct, const ct_record *r)
{
    const ct_agent_type *t = apr_hash_get(ct->types, r->agent_type, APR_HASH_KEY_STRING);
    return t && t->driver == CT_DRIVER_STATIC ? t : NULL;
}

cb_status ct_own_engine_container(cb_req *req, const ct_plugin *ct, ct_record *r,
                                  const char *what)
{
    cb_status st = ct_own_container(req, r);
    if (st != CB_OK)
        return st;
    if (ct_static_type(ct, r))
        return cb_req_send_error(
            req, 400, "INVALID_PARAM",
            apr_psprintf(cb_req_pool(req), "container %s is of agent type %s, served by the "
                         "static driver, which does not support %s (they need the container "
                         "engine)", r->id, r->agent_type, what));
    return CB_OK;
}

/* A request to the endpoint: base URL + path, guarded. */
static void endpoint_request(const ct_plugin *ct, const ct_agent_type *t, apr_pool_t *p,
                             const char *method, const char *path, cb_http_request *out)
{
    memset(out, 0, sizeof(*out));
    out->method = method;
    out->url = apr_pstrcat(p, t->url, path, NULL);
    out->connect_timeout_ms = CONNECT_TIMEOUT_MS < ct->engine.timeout_ms
                                  ? CONNECT_TIMEOUT_MS : ct->engine.timeout_ms;
    out->timeout_ms = ct->engine.timeout_ms;
    out->untrusted_url = 1;
    out->allowed_private = ct->allowed_private;
}

/* Why a call to the endpoint failed, for the log (the URL is the
 * operator's, not a secret). */
static void log_failure(const ct_agent_type *t, const char *doing, long status,
                        const char *error)
{
    cb_log(CB_LOG_WARNING, "containers: static agent type %s (%s): %s: %ld (%s)", t->name,
           t->url, doing, status, error ? error : "");
}

void ct_static_status(const ct_plugin *ct, apr_pool_t *p, const ct_agent_type *t,
                      const char **status, int *healthy)
{
    cb_http_request req;
    cb_http_response resp;
    const char *error = NULL, *text;
    cb_json *body, *v;
    size_t len;
    *status = "unreachable";
    *healthy = 0;
    endpoint_request(ct, t, p, "GET", "/status", &req);
    req.max_response_bytes = MAX_STATUS_BODY;
    if (cb_http_fetch(ct->http, p, &req, &resp, &error) != APR_SUCCESS) {
        log_failure(t, "GET /status", 0, error);
        return;
    }
    if (resp.status != 200) {
        log_failure(t, "GET /status", resp.status, NULL);
        return;
    }
    body = cb_json_parse(p, resp.body, resp.body_len, NULL);
    if (!body || !cb_json_is_object(body)) {
        log_failure(t, "GET /status", resp.status, "the answer is not a JSON object");
        *status = "unknown";
        return;
    }
    text = (v = cb_json_get(body, "status")) && cb_json_is_string(v)
               ? cb_json_string_value(v, &len) : NULL;
    *status = "unknown";
    if (text && len > 0 && len <= MAX_STATUS_TEXT && strlen(text) == len) {
        int printable = 1;
        for (const char *c = text; *c; c++)
            printable &= (unsigned char)*c >= ' ' && *c != 0x7f;
        if (printable)
            *status = text;
    }
    if ((v = cb_json_get(body, "healthy")))
        cb_json_bool_value(v, healthy);
}

cb_status ct_static_health(cb_req *req, const ct_plugin *ct, const ct_agent_type *t)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *out = cb_json_new_object(p);
    const char *status;
    int healthy;
    ct_static_status(ct, p, t, &status, &healthy);
    cb_json_set_string(out, "status", status);
    cb_json_set_bool(out, "healthy", healthy);
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}

cb_status ct_static_logs(cb_req *req, const ct_plugin *ct, const ct_agent_type *t, int lines)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_http_request call;
    cb_http_response resp;
    const char *error = NULL;
    endpoint_request(ct, t, p, "GET", apr_psprintf(p, "/logs?lines=%d", lines), &call);
    call.max_response_bytes = MAX_LOGS_BODY;
    if (cb_http_fetch(ct->http, p, &call, &resp, &error) != APR_SUCCESS) {
        log_failure(t, "GET /logs", 0, error);
        if (error && strstr(error, "timed out"))
            return cb_req_send_error_code(req, "CONTAINER_TIMEOUT",
                                          "the container's endpoint did not answer in time while "
                                          "reading the logs");
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the container's endpoint is not reachable; try again shortly");
    }
    if (resp.status != 200) {
        log_failure(t, "GET /logs", resp.status, NULL);
        return cb_req_send_error(req, 502, "BAD_GATEWAY",
                                 "the container's endpoint refused reading the logs");
    }
    cb_req_set_status(req, 200);
    cb_req_set_header(req, "Content-Type", "text/plain; charset=utf-8");
    return cb_req_write(req, resp.body, resp.body_len);
}

/* ---- POST /execute, relayed */

typedef struct relay {
    cb_req *req;
    apr_pool_t *pool;
    cb_sse_writer *sse;
    int client_gone;
    int done_sent;
    long status;
    const char *error;
} relay;

/* One event per line of data, as the engine driver sends them. */
static int relay_lines(relay *x, const char *event, const char *data, size_t len)
{
    const char *end = data + len;
    while (!x->client_gone) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        size_t n = (size_t)((nl ? nl : end) - data);
        if (cb_sse_send(x->sse, event, NULL, data, n) != CB_OK)
            x->client_gone = 1;
        if (!nl)
            break;
        data = nl + 1;
    }
    return x->client_gone;
}

/* done's data is {exitCode: integer}; anything else is a null exit code. */
static void send_done(relay *x, const char *data, size_t len)
{
    cb_json *in = data ? cb_json_parse(x->pool, data, len, NULL) : NULL;
    cb_json *out = cb_json_new_object(x->pool);
    int64_t exit_code;
    const char *text;
    if (in && cb_json_is_object(in) && cb_json_get_int(in, "exitCode", &exit_code))
        cb_json_set_int(out, "exitCode", exit_code);
    else
        cb_json_set_null(out, "exitCode");
    text = cb_json_dump(x->pool, out);
    if (cb_sse_send(x->sse, "done", NULL, text, strlen(text)) != CB_OK)
        x->client_gone = 1;
    x->done_sent = 1;
}

static int on_event(void *baton, int stream, const cb_sse_event *ev)
{
    relay *x = baton;
    (void)stream;
    if (strcmp(ev->event, "stdout") == 0 || strcmp(ev->event, "stderr") == 0)
        return relay_lines(x, ev->event, ev->data, ev->data_len);
    if (strcmp(ev->event, "done") == 0) {
        send_done(x, ev->data, ev->data_len);
        return 1; /* the task is over: what follows is not relayed */
    }
    return x->client_gone; /* other events are the endpoint's own */
}

static void on_done(void *baton, int stream, long status, const char *error)
{
    relay *x = baton;
    (void)stream;
    x->status = status;
    x->error = error;
}

static int on_tick(void *baton)
{
    relay *x = baton;
    return x->client_gone || cb_req_aborted(x->req) || cb_sse_heartbeat(x->sse) != CB_OK;
}

cb_status ct_static_execute(cb_req *req, const ct_plugin *ct, const ct_agent_type *t,
                            const ct_record *r, const char *task)
{
    static const cb_http_stream_handlers handlers = {.on_event = on_event, .on_done = on_done};
    apr_pool_t *p = cb_req_pool(req);
    apr_table_t *headers = apr_table_make(p, 2);
    cb_json *body = cb_json_new_object(p);
    cb_http_request call;
    cb_http_streams *set;
    relay x;
    cb_json_set_string(body, "task", task);
    if (r->model)
        cb_json_set_string(body, "model", r->model);
    if (r->reasoning_effort)
        cb_json_set_string(body, "reasoningEffort", r->reasoning_effort);
    endpoint_request(ct, t, p, "POST", "/execute", &call);
    apr_table_setn(headers, "Content-Type", "application/json");
    apr_table_setn(headers, "Accept", "text/event-stream");
    call.headers = headers;
    call.body = cb_json_dump(p, body);
    call.body_len = strlen(call.body);
    call.timeout_ms = 0; /* a task runs as long as it runs; the client may leave */
    call.max_response_bytes = (size_t)1 << 40;
    memset(&x, 0, sizeof(x));
    x.req = req;
    x.pool = p;
    x.sse = cb_sse_start(req, HEARTBEAT_MS);
    set = cb_http_streams_create(p);
    if (cb_http_streams_add(set, &call, &handlers, &x) >= 0)
        cb_http_streams_run(set, TICK_MS, on_tick, &x);
    if (x.client_gone || cb_req_aborted(req)) {
        cb_log_req(req, CB_LOG_INFO, "containers: the client left a task of static container %s; "
                   "its request to %s was cancelled", r->id, t->url);
        return CB_OK;
    }
    if (x.done_sent)
        return CB_OK;
    if (x.status != 200 || x.error) {
        const char *why = "{\"error\":{\"code\":\"unavailable\",\"message\":\"the task's output "
                          "stream from the container's endpoint broke off\"}}";
        log_failure(t, "POST /execute", x.status, x.error);
        cb_sse_send(x.sse, "error", NULL, why, strlen(why));
        return CB_OK;
    }
    send_done(&x, NULL, 0); /* the stream ended without done: the exit code is unknown */
    return CB_OK;
}
