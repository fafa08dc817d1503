/*
 * engine.c: the container engine client: the Docker Engine API v1.41 over
 * the engine's unix socket (Docker and Podman both serve it), through the
 * core's streaming client (cb_http_streams_add_unix). Create and start a
 * labelled container (Init, resource limits, network), remove it, list by
 * label, read its logs (demultiplexed, frames.c), create execs and run a
 * short one to its exit code. Each call is bounded by the engine timeout.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/http_stream.h"
#include "containers.h"

#define API_BASE "http://engine/v1.41"
#define MAX_REPLY (4 * 1024 * 1024)

typedef struct call_state {
    apr_pool_t *pool;
    char *buf;
    size_t len, cap;
    int too_big;
    long status;
    const char *error;
} call_state;

static int collect(void *baton, int stream, const char *data, size_t len)
{
    call_state *cs = baton;
    (void)stream;
    if (cs->len + len > MAX_REPLY) {
        cs->too_big = 1;
        return 1;
    }
    if (cs->len + len + 1 > cs->cap) {
        size_t cap = (cs->cap ? cs->cap * 2 : 4096);
        char *grown;
        while (cap < cs->len + len + 1)
            cap *= 2;
        grown = apr_palloc(cs->pool, cap);
        if (cs->len)
            memcpy(grown, cs->buf, cs->len);
        cs->buf = grown;
        cs->cap = cap;
    }
    memcpy(cs->buf + cs->len, data, len);
    cs->len += len;
    return 0;
}

static void done(void *baton, int stream, long status, const char *error)
{
    call_state *cs = baton;
    (void)stream;
    cs->status = status;
    cs->error = error;
}

void ct_engine_call(const ct_engine *e, apr_pool_t *p, const char *method, const char *path,
                    const char *json_body, ct_engine_reply *out)
{
    ct_engine_send(e, p, method, path, json_body ? "application/json" : NULL, json_body,
                   json_body ? strlen(json_body) : 0, out);
}

void ct_engine_send(const ct_engine *e, apr_pool_t *p, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len,
                    ct_engine_reply *out)
{
    static const cb_http_stream_handlers handlers = {.on_data = collect, .on_done = done};
    cb_http_streams *set = cb_http_streams_create(p);
    call_state cs = {.pool = p};
    apr_table_t *headers = apr_table_make(p, 2);
    cb_http_request req = {0};
    memset(out, 0, sizeof(*out));
    req.method = method;
    req.url = apr_pstrcat(p, API_BASE, path, NULL);
    req.connect_timeout_ms = 1000;
    req.timeout_ms = e->timeout_ms;
    req.max_response_bytes = MAX_REPLY;
    if (body) {
        apr_table_setn(headers, "Content-Type", content_type);
        req.body = body;
        req.body_len = body_len;
    }
    req.headers = headers;
    if (cb_http_streams_add_unix(set, &req, e->socket_path, NULL, &handlers, &cs) >= 0)
        cb_http_streams_run(set, 1000, NULL, NULL);
    out->status = cs.too_big ? 0 : cs.status;
    out->error = cs.too_big ? "the engine's answer was too large" : cs.error;
    if (!cs.buf)
        cs.buf = apr_pcalloc(p, 1);
    cs.buf[cs.len] = '\0';
    out->body = cs.buf;
    out->body_len = cs.len;
}

static cb_json *string_array(apr_pool_t *p, const apr_array_header_t *items)
{
    cb_json *a = cb_json_new_array(p);
    for (int i = 0; items && i < items->nelts; i++)
        cb_json_append_string(a, APR_ARRAY_IDX(items, i, const char *));
    return a;
}

/* The container's main process: it says it is ready (the first log line)
 * and then waits; tasks run as execs beside it. Init reaps and forwards
 * the stop signal, so a stop takes no timeout. */
static cb_json *keepalive_command(apr_pool_t *p, const char *id, const char *type)
{
    apr_array_header_t *argv = apr_array_make(p, 3, sizeof(const char *));
    APR_ARRAY_PUSH(argv, const char *) = "/bin/sh";
    APR_ARRAY_PUSH(argv, const char *) = "-c";
    APR_ARRAY_PUSH(argv, const char *) = apr_psprintf(
        p, "echo 'container %s ready (agent type %s)'; while :; do sleep 3600; done", id, type);
    return string_array(p, argv);
}

static const char *create_body(apr_pool_t *p, const ct_agent_type *t, const char *env,
                               const char *owner, const char *id, const char *workspace_dir)
{
    cb_json *body = cb_json_new_object(p), *labels = cb_json_new_object(p);
    cb_json *host = cb_json_new_object(p);
    cb_json_set_string(body, "Image", t->image);
    cb_json_set(body, "Cmd", keepalive_command(p, id, t->name));
    cb_json_set_string(body, "WorkingDir", "/workspace");
    cb_json_set_string(labels, CT_LABEL_ENV, env);
    cb_json_set_string(labels, CT_LABEL_OWNER, owner);
    cb_json_set_string(labels, CT_LABEL_ID, id);
    cb_json_set(body, "Labels", labels);
    cb_json_set_bool(host, "Init", 1);
    if (workspace_dir) {
        cb_json *binds = cb_json_new_array(p);
        cb_json_append_string(binds, apr_pstrcat(p, workspace_dir, ":/workspace", NULL));
        cb_json_set(host, "Binds", binds);
    }
    cb_json_set_string(host, "NetworkMode", t->host_network ? "host" : "none");
    if (t->memory_bytes)
        cb_json_set_int(host, "Memory", t->memory_bytes);
    if (t->nano_cpus)
        cb_json_set_int(host, "NanoCpus", t->nano_cpus);
    cb_json_set(body, "HostConfig", host);
    return cb_json_dump(p, body);
}

void ct_engine_run(const ct_engine *e, apr_pool_t *p, const ct_agent_type *t, const char *env,
                   const char *owner, const char *id, const char **engine_id,
                   ct_engine_reply *out)
{
    ct_engine_run_bound(e, p, t, env, owner, id, NULL, engine_id, out);
}

void ct_engine_run_bound(const ct_engine *e, apr_pool_t *p, const ct_agent_type *t,
                         const char *env, const char *owner, const char *id,
                         const char *workspace_dir, const char **engine_id, ct_engine_reply *out)
{
    const char *name = apr_pstrcat(p, "cb-", env, "-", id, NULL);
    cb_json *reply;
    *engine_id = NULL;
    ct_engine_call(e, p, "POST",
                   apr_pstrcat(p, "/containers/create?name=",
                               cb_percent_encode(p, name, strlen(name), 0), NULL),
                   create_body(p, t, env, owner, id, workspace_dir), out);
    if (out->status != 201)
        return;
    reply = cb_json_parse(p, out->body, out->body_len, NULL);
    if (!(*engine_id = reply ? cb_json_get_string(reply, "Id") : NULL)) {
        out->status = 0;
        out->error = "the engine's create answer holds no Id";
        return;
    }
    ct_engine_call(e, p, "POST", apr_pstrcat(p, "/containers/", *engine_id, "/start", NULL),
                   NULL, out);
}

void ct_engine_remove(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                      ct_engine_reply *out)
{
    ct_engine_call(e, p, "POST", apr_pstrcat(p, "/containers/", engine_id, "/stop?t=2", NULL),
                   NULL, out);
    if (out->status == 0)
        return;
    ct_engine_call(e, p, "DELETE",
                   apr_pstrcat(p, "/containers/", engine_id, "?force=1&v=1", NULL), NULL, out);
}

static void ignore_done(void *baton, int stream, long status, const char *error)
{
    (void)baton;
    (void)stream;
    (void)status;
    (void)error;
}

void ct_engine_remove_now(const ct_engine *e, apr_pool_t *p, const apr_array_header_t *engine_ids)
{
    static const cb_http_stream_handlers handlers = {.on_done = ignore_done};
    cb_http_streams *set = cb_http_streams_create(p);
    for (int i = 0; i < engine_ids->nelts; i++) {
        cb_http_request *req = apr_pcalloc(p, sizeof(*req));
        req->method = "DELETE";
        req->url = apr_pstrcat(p, API_BASE "/containers/",
                               APR_ARRAY_IDX(engine_ids, i, const char *), "?force=1&v=1", NULL);
        req->headers = apr_table_make(p, 1);
        req->connect_timeout_ms = 1000;
        req->timeout_ms = e->timeout_ms;
        req->max_response_bytes = MAX_REPLY;
        cb_http_streams_add_unix(set, req, e->socket_path, NULL, &handlers, NULL);
    }
    cb_http_streams_run(set, 1000, NULL, NULL);
}

static int to_text(void *baton, int stream, const char *data, size_t len)
{
    return collect(baton, stream, data, len);
}

void ct_engine_logs(const ct_engine *e, apr_pool_t *p, const char *engine_id, int lines,
                    const char **text, size_t *len, ct_engine_reply *out)
{
    call_state sink = {.pool = p};
    ct_frames frames;
    *text = "";
    *len = 0;
    ct_engine_call(e, p, "GET",
                   apr_psprintf(p, "/containers/%s/logs?stdout=1&stderr=1&tail=%d", engine_id,
                                lines),
                   NULL, out);
    if (out->status != 200)
        return;
    ct_frames_init(&frames, to_text, &sink);
    if (ct_frames_feed(&frames, out->body, out->body_len) != 0) {
        out->status = 0;
        out->error = "the engine's log stream is malformed";
        return;
    }
    if (sink.buf)
        sink.buf[sink.len] = '\0'; /* collect keeps a byte spare */
    *text = sink.buf ? sink.buf : "";
    *len = sink.len;
}

void ct_engine_exec_create(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                           const apr_array_header_t *argv, const apr_array_header_t *env,
                           const char **exec_id, ct_engine_reply *out)
{
    cb_json *body = cb_json_new_object(p), *reply;
    *exec_id = NULL;
    cb_json_set(body, "Cmd", string_array(p, argv));
    if (env)
        cb_json_set(body, "Env", string_array(p, env));
    cb_json_set_bool(body, "AttachStdout", 1);
    cb_json_set_bool(body, "AttachStderr", 1);
    cb_json_set_string(body, "WorkingDir", "/workspace");
    ct_engine_call(e, p, "POST", apr_pstrcat(p, "/containers/", engine_id, "/exec", NULL),
                   cb_json_dump(p, body), out);
    if (out->status != 201)
        return;
    reply = cb_json_parse(p, out->body, out->body_len, NULL);
    if (!(*exec_id = reply ? cb_json_get_string(reply, "Id") : NULL)) {
        out->status = 0;
        out->error = "the engine's exec answer holds no Id";
    }
}

void ct_engine_list(const ct_engine *e, apr_pool_t *p, const char *label, const char *value,
                    cb_json **containers, ct_engine_reply *out)
{
    cb_json *filters = cb_json_new_object(p), *labels = cb_json_new_array(p);
    const char *text;
    *containers = NULL;
    cb_json_append_string(labels, apr_pstrcat(p, label, "=", value, NULL));
    cb_json_set(filters, "label", labels);
    text = cb_json_dump(p, filters);
    ct_engine_call(e, p, "GET",
                   apr_pstrcat(p, "/containers/json?all=1&filters=",
                               cb_percent_encode(p, text, strlen(text), 0), NULL),
                   NULL, out);
    if (out->status != 200)
        return;
    *containers = cb_json_parse(p, out->body, out->body_len, NULL);
    if (!*containers || !cb_json_is_array(*containers)) {
        out->status = 0;
        out->error = "the engine's list is not a JSON array";
    }
}

void ct_engine_exec_run(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                        const apr_array_header_t *argv, int64_t *exit_code, ct_engine_reply *out)
{
    ct_engine_exec_run_env(e, p, engine_id, argv, NULL, exit_code, out);
}

void ct_engine_exec_run_env(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                            const apr_array_header_t *argv, const apr_array_header_t *env,
                            int64_t *exit_code, ct_engine_reply *out)
{
    const char *exec_id;
    cb_json *inspect;
    *exit_code = -1;
    ct_engine_exec_create(e, p, engine_id, argv, env, &exec_id, out);
    if (!exec_id)
        return;
    ct_engine_call(e, p, "POST", apr_pstrcat(p, "/exec/", exec_id, "/start", NULL),
                   "{\"Detach\":false,\"Tty\":false}", out);
    if (out->status != 200)
        return;
    ct_engine_call(e, p, "GET", apr_pstrcat(p, "/exec/", exec_id, "/json", NULL), NULL, out);
    inspect = out->status == 200 ? cb_json_parse(p, out->body, out->body_len, NULL) : NULL;
    if (!inspect || !cb_json_get_int(inspect, "ExitCode", exit_code)) {
        out->status = 0;
        out->error = "the engine's exec inspection holds no exit code";
    }
}
