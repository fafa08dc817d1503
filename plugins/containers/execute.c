/*
 * execute.c: POST /api/v1/containers/{id}/execute {task}: runs the agent
 * type's command in the caller's container as an engine exec, with the
 * task as its last argument, and streams its output as server-sent
 * events while it runs: one `stdout` or `stderr` event per line as the
 * engine sends it (demultiplexed, frames.c), heartbeats while it is
 * quiet, and a final `done` event {exitCode}. The handler's thread drives
 * the engine stream on libcurl multi. The task's processes carry a random
 * tag in their environment (CB_TASK=TAG, inherited by their children); a
 * client that goes away cancels the stream and a second exec kills every
 * process of the container carrying the tag (the engine API has no way to
 * kill an exec). The live state counts the task from its start to its end.
 * A container of a static agent type runs the task on its endpoint
 * instead (static_driver.c), with the same events.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/http_stream.h"
#include "cloudbase/log.h"
#include "cloudbase/sse.h"
#include "containers.h"

#define MAX_TASK_BODY (256 * 1024)
#define HEARTBEAT_MS 15000

typedef struct exec_stream {
    cb_req *req;
    cb_sse_writer *sse;
    ct_frames frames;
    ct_lines lines;
    int failed;                  /* the client went away or the stream was malformed */
    long status;
    const char *error;
} exec_stream;

static int send_line(void *baton, int stream, const char *data, size_t len)
{
    exec_stream *x = baton;
    const char *event = stream == CT_FRAME_STDERR ? "stderr" : "stdout";
    if (cb_sse_send(x->sse, event, NULL, data, len) != CB_OK) {
        x->failed = 1;
        return 1;
    }
    return 0;
}

static int on_data(void *baton, int stream, const char *data, size_t len)
{
    exec_stream *x = baton;
    (void)stream;
    if (ct_frames_feed(&x->frames, data, len) != 0) {
        if (!x->failed)
            x->error = "the engine's stream is malformed";
        x->failed = 1;
        return 1;
    }
    return 0;
}

static void on_done(void *baton, int stream, long status, const char *error)
{
    exec_stream *x = baton;
    (void)stream;
    x->status = status;
    if (!x->error)
        x->error = error;
}

static int on_tick(void *baton)
{
    exec_stream *x = baton;
    if (x->failed || cb_req_aborted(x->req) || cb_sse_heartbeat(x->sse) != CB_OK)
        return 1;
    return 0;
}

/* The task from the body: a non-empty string. */
static const char *read_task(cb_req *req, cb_status *st)
{
    cb_json *body;
    const char *task;
    size_t len = 0;
    if ((*st = cb_req_read_json_object(req, MAX_TASK_BODY, &body)) != CB_OK)
        return NULL;
    task = cb_json_get(body, "task") ? cb_json_string_value(cb_json_get(body, "task"), &len)
                                     : NULL;
    if (!task || len == 0 || strlen(task) != len) {
        *st = cb_req_send_error(req, 400, "INVALID_PARAM",
                                "task (a non-empty string without NUL characters) is required");
        return NULL;
    }
    return task;
}

/* Kills, inside the container, every process whose environment holds
 * CB_TASK=tag: the task and whatever it started. The engine answers once
 * the killer has finished. */
static void kill_task(const ct_plugin *ct, apr_pool_t *p, const char *engine_id,
                      const char *tag)
{
    apr_array_header_t *argv = apr_array_make(p, 3, sizeof(const char *));
    const char *exec_id;
    ct_engine_reply reply;
    APR_ARRAY_PUSH(argv, const char *) = "/bin/sh";
    APR_ARRAY_PUSH(argv, const char *) = "-c";
    APR_ARRAY_PUSH(argv, const char *) = apr_psprintf(
        p, "for d in /proc/[0-9]*; do "
           "if tr '\\0' '\\n' < $d/environ 2>/dev/null | grep -qx 'CB_TASK=%s'; then "
           "kill -9 ${d#/proc/} 2>/dev/null; fi; done", tag);
    ct_engine_exec_create(&ct->engine, p, engine_id, argv, NULL, &exec_id, &reply);
    if (exec_id)
        ct_engine_call(&ct->engine, p, "POST", apr_pstrcat(p, "/exec/", exec_id, "/start", NULL),
                       "{\"Detach\":false,\"Tty\":false}", &reply);
    if (reply.status != 200 && reply.status != 204)
        cb_log(CB_LOG_WARNING, "containers: the task tagged %s in %s was not stopped: %ld (%s)",
               tag, engine_id, reply.status, reply.error ? reply.error : "");
}

static void finish_events(exec_stream *x, const ct_plugin *ct, apr_pool_t *p,
                          const char *exec_id)
{
    ct_engine_reply reply;
    cb_json *done = cb_json_new_object(p), *inspect;
    int64_t exit_code;
    const char *text;
    if (ct_lines_flush(&x->lines))
        return;
    ct_engine_call(&ct->engine, p, "GET", apr_pstrcat(p, "/exec/", exec_id, "/json", NULL), NULL,
                   &reply);
    inspect = reply.status == 200 ? cb_json_parse(p, reply.body, reply.body_len, NULL) : NULL;
    if (inspect && cb_json_get_int(inspect, "ExitCode", &exit_code))
        cb_json_set_int(done, "exitCode", exit_code);
    else
        cb_json_set_null(done, "exitCode");
    text = cb_json_dump(p, done);
    cb_sse_send(x->sse, "done", NULL, text, strlen(text));
}

cb_status ct_api_execute(cb_req *req, void *state)
{
    static const cb_http_stream_handlers handlers = {.on_data = on_data, .on_done = on_done};
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    const ct_agent_type *type;
    const char *task, *exec_id, *tag = cb_random_hex(p, 8);
    apr_array_header_t *argv, *env = apr_array_make(p, 1, sizeof(const char *));
    ct_engine_reply reply;
    exec_stream x;
    cb_http_streams *set;
    cb_http_request start = {0};
    apr_table_t *headers = apr_table_make(p, 2);
    ct_record r;
    cb_status st = ct_own_container(req, &r);
    if (st != CB_OK)
        return st;
    if (!(task = read_task(req, &st)))
        return st;
    if (!(type = apr_hash_get(ct->types, r.agent_type, APR_HASH_KEY_STRING)))
        return cb_req_send_error(req, 409, "INVALID_REQUEST",
                                 "the container's agent type is no longer configured");
    if (type->driver == CT_DRIVER_STATIC)
        return ct_static_execute(req, ct, type, &r, task);
    argv = apr_array_copy(p, type->command);
    APR_ARRAY_PUSH(argv, const char *) = task;
    APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(p, "CB_TASK=", tag, NULL);
    ct_engine_exec_create(&ct->engine, p, r.engine_id, argv, env, &exec_id, &reply);
    if (reply.status == 404 || reply.status == 409)
        return cb_req_send_error_code(req, "CONTAINER_NOT_FOUND",
                                      apr_psprintf(p, "Container %s is not running", r.id));
    if (!exec_id)
        return ct_send_engine_error(req, &reply, "starting the task");

    memset(&x, 0, sizeof(x));
    x.req = req;
    ct_lines_init(&x.lines, p, send_line, &x);
    ct_frames_init(&x.frames, ct_lines_feed_frame, &x.lines);
    apr_table_setn(headers, "Content-Type", "application/json");
    start.method = "POST";
    start.url = apr_pstrcat(p, "http://engine/v1.41/exec/", exec_id, "/start", NULL);
    start.headers = headers;
    start.body = "{\"Detach\":false,\"Tty\":false}";
    start.body_len = strlen(start.body);
    start.connect_timeout_ms = 1000;
    start.timeout_ms = 0; /* a task runs as long as it runs; the client may leave */
    start.max_response_bytes = (size_t)1 << 40;
    x.sse = cb_sse_start(req, HEARTBEAT_MS);
    set = cb_http_streams_create(p);
    ct_live_task(ct, p, &r, 1);
    if (cb_http_streams_add_unix(set, &start, ct->engine.socket_path, NULL, &handlers, &x) >= 0)
        cb_http_streams_run(set, 250, on_tick, &x);
    ct_live_task(ct, p, &r, 0);
    if (cb_req_aborted(req)) {
        cb_log_req(req, CB_LOG_INFO, "containers: the client left task %s of container %s",
                   exec_id, r.id);
        kill_task(ct, p, r.engine_id, tag);
        return CB_OK;
    }
    if (x.status != 200 || x.error) {
        const char *why = "{\"error\":{\"code\":\"unavailable\",\"message\":\"the task's output "
                          "stream from the container engine broke off\"}}";
        cb_log_req(req, CB_LOG_WARNING, "containers: exec %s: %ld (%s)", exec_id, x.status,
                   x.error ? x.error : "");
        cb_sse_send(x.sse, "error", NULL, why, strlen(why));
        return CB_OK;
    }
    finish_events(&x, ct, p, exec_id);
    return CB_OK;
}
