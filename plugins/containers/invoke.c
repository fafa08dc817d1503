/*
 * invoke.c: POST /invoke/stdout (Cloud Coding). Each task of the body
 * (invoke_body.c) runs in its own container of the first agent type of
 * the engine driver,
 * whose /workspace is the task's workspace on the host (clone.c: the repo
 * cloned there first; a later call with the same thread_id continues in
 * it). The agent command runs as an engine exec with the prompt as its
 * last argument, and the answer is one event stream: `updates` events
 * {run_id, messages, stream_events} when a task starts and ends and when
 * the run is complete, `custom` events {task_name, stdout} for each line
 * a task writes (stdout and stderr), as they happen. The handler's thread
 * drives every task's exec stream at once on one libcurl multi set, with
 * heartbeats while all are quiet. When the client leaves, every task's
 * container is removed at once (force: its processes are killed); when
 * the run ends they are removed too. The containers are in the registry
 * (owner the caller, non-persistent, a day's timeout) while they run, so
 * the reaper never takes them for orphans, and removes them a day later
 * if the gateway dies mid-run.
 */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "cloudbase/http_stream.h"
#include "cloudbase/log.h"
#include "cloudbase/sse.h"
#include "containers.h"

#define MAX_INVOKE_BODY (2 * 1024 * 1024)
#define HEARTBEAT_MS 15000
#define TICK_MS 250
#define CONTAINER_TIMEOUT_MS 86400000 /* the reaper's bound if the gateway dies */

typedef struct invoke_run invoke_run;

typedef struct task_run {
    invoke_run *run;
    const ct_invoke_task *task;
    const char *dir;           /* the workspace on the host */
    ct_record record;
    const char *exec_id;
    ct_frames frames;
    ct_lines lines;
    int finished;
} task_run;

struct invoke_run {
    cb_req *req;
    ct_plugin *ct;
    apr_pool_t *pool;
    const ct_invoke *body;
    const char *owner, *run_id, *thread_id, *thread_dir;
    task_run *tasks;
    int ntasks;
    cb_sse_writer *sse;
    int client_gone;
};

static void send_event(invoke_run *run, const char *event, const cb_json *data)
{
    const char *text = cb_json_dump(run->pool, data);
    if (!run->client_gone && cb_sse_send(run->sse, event, NULL, text, strlen(text)) != CB_OK)
        run->client_gone = 1;
}

/* {run_id, thread_id, messages:[message], stream_events:[stream_event]} */
static void send_update(invoke_run *run, cb_json *message, cb_json *stream_event)
{
    apr_pool_t *p = run->pool;
    cb_json *o = cb_json_new_object(p), *messages = cb_json_new_array(p);
    cb_json *events = cb_json_new_array(p);
    cb_json_set_string(o, "run_id", run->run_id);
    cb_json_set_string(o, "thread_id", run->thread_id);
    if (message)
        cb_json_append(messages, message);
    cb_json_append(events, stream_event);
    cb_json_set(o, "messages", messages);
    cb_json_set(o, "stream_events", events);
    send_event(run, "updates", o);
}

static cb_json *named(apr_pool_t *p, const char *key, const char *value, const char *task_name)
{
    cb_json *o = cb_json_new_object(p);
    cb_json_set_string(o, key, value);
    if (task_name)
        cb_json_set_string(o, "task_name", task_name);
    return o;
}

static int on_line(void *baton, int stream, const char *data, size_t len)
{
    task_run *t = baton;
    apr_pool_t *p = t->run->pool;
    cb_json *o = named(p, "task_name", t->task->name, NULL);
    (void)stream;
    cb_json_set_string(o, "stdout", apr_pstrmemdup(p, data, len));
    send_event(t->run, "custom", o);
    return t->run->client_gone;
}

static int on_data(void *baton, int stream, const char *data, size_t len)
{
    task_run *t = baton;
    (void)stream;
    return ct_frames_feed(&t->frames, data, len) != 0 || t->run->client_gone;
}

/* A task's stream ended: its last partial lines, then an update with its
 * exit code (null when the engine cannot tell). */
static void on_done(void *baton, int stream, long status, const char *error)
{
    task_run *t = baton;
    invoke_run *run = t->run;
    apr_pool_t *p = run->pool;
    cb_json *message, *event, *inspect;
    ct_engine_reply reply;
    int64_t exit_code;
    (void)stream;
    t->finished = 1;
    if (run->client_gone || cb_req_aborted(run->req))
        return;
    ct_lines_flush(&t->lines);
    message = named(p, "type", "ai", t->task->name);
    event = named(p, "type", "task_completed", t->task->name);
    if (status != 200 || error) {
        cb_log_req(run->req, CB_LOG_WARNING, "containers: invoke task %s exec %s: %ld (%s)",
                   t->task->name, t->exec_id, status, error ? error : "");
        cb_json_set_string(message, "content", "the task's output stream broke off");
        cb_json_set_null(event, "exit_code");
        send_update(run, message, event);
        return;
    }
    ct_engine_call(&run->ct->engine, p, "GET",
                   apr_pstrcat(p, "/exec/", t->exec_id, "/json", NULL), NULL, &reply);
    inspect = reply.status == 200 ? cb_json_parse(p, reply.body, reply.body_len, NULL) : NULL;
    if (inspect && cb_json_get_int(inspect, "ExitCode", &exit_code)) {
        cb_json_set_string(message, "content",
                           apr_psprintf(p, "task %s finished with exit code %" APR_INT64_T_FMT,
                                        t->task->name, exit_code));
        cb_json_set_int(event, "exit_code", exit_code);
    } else {
        cb_json_set_string(message, "content", "task finished");
        cb_json_set_null(event, "exit_code");
    }
    send_update(run, message, event);
}

static int on_tick(void *baton)
{
    invoke_run *run = baton;
    if (run->client_gone || cb_req_aborted(run->req) || cb_sse_heartbeat(run->sse) != CB_OK)
        run->client_gone = 1;
    return run->client_gone;
}

static int clone_should_stop(void *baton)
{
    return cb_req_aborted(baton);
}

/* Every container made so far: out of the engine (at once) and the
 * registry. */
static void remove_containers(invoke_run *run)
{
    apr_array_header_t *ids = apr_array_make(run->pool, run->ntasks, sizeof(const char *));
    for (int i = 0; i < run->ntasks; i++)
        if (run->tasks[i].record.engine_id && *run->tasks[i].record.engine_id)
            APR_ARRAY_PUSH(ids, const char *) = run->tasks[i].record.engine_id;
    if (ids->nelts)
        ct_engine_remove_now(&run->ct->engine, run->pool, ids);
    for (int i = 0; i < run->ntasks; i++)
        if (run->tasks[i].record.id)
            ct_registry_delete(run->ct->db, run->pool, run->ct->env, run->tasks[i].record.id);
}

/* The task's workspace: kept from an earlier call of the thread, else
 * made, the repo cloned into it. NULL, or the answer was sent. */
static cb_status prepare_workspace(invoke_run *run, task_run *t)
{
    apr_pool_t *p = run->pool;
    ct_clone_spec c = {0};
    const char *err, *detail;
    t->dir = apr_pstrcat(p, run->thread_dir, "/", t->task->name, NULL);
    if (ct_dir_exists(p, t->dir))
        return CB_OK;
    if (!run->body->repo_url) {
        if (apr_dir_make(t->dir, APR_FPROT_OS_DEFAULT, p) == APR_SUCCESS)
            return CB_OK;
        cb_log_req(run->req, CB_LOG_ERR, "containers: invoke: cannot make %s", t->dir);
        return cb_req_send_error(run->req, 503, "SERVICE_UNAVAILABLE",
                                 "the task's workspace could not be made; try again shortly");
    }
    c.git = run->ct->git_program;
    c.url = run->body->repo_url;
    c.branch = run->body->branch;
    c.token = run->body->github_token;
    c.home = run->thread_dir;
    c.timeout_ms = run->ct->clone_timeout_ms;
    c.stop = clone_should_stop;
    c.stop_baton = run->req;
    if (!(err = ct_git_clone(p, &c, t->dir, &detail)))
        return CB_OK;
    cb_log_req(run->req, CB_LOG_WARNING, "containers: invoke: clone for task %s failed: %s",
               t->task->name, detail);
    return cb_req_send_error(run->req, 502, "BAD_GATEWAY", err);
}

/* The task's container and exec. CB_OK, or the answer was sent. */
static cb_status start_task(invoke_run *run, task_run *t, const ct_agent_type *type)
{
    apr_pool_t *p = run->pool;
    ct_record *r = &t->record;
    ct_engine_reply reply;
    apr_array_header_t *argv, *env = apr_array_make(p, 5, sizeof(const char *));
    r->id = cb_random_hex(p, CT_ID_HEX / 2);
    r->owner = run->owner;
    r->agent_type = type->name;
    r->engine_id = "";
    r->status = "creating";
    r->workspace = "/workspace";
    r->region = "invoke";
    r->model = run->body->haiku ? "haiku" : NULL;
    r->timeout_ms = CONTAINER_TIMEOUT_MS;
    r->created_ms = apr_time_as_msec(apr_time_now());
    if (ct_registry_insert(run->ct->db, p, run->ct->env, r) != APR_SUCCESS) {
        r->id = NULL;
        cb_log_req(run->req, CB_LOG_WARNING, "containers: registry: %s",
                   cb_db_last_error(run->ct->db));
        return cb_req_send_error(run->req, 503, "SERVICE_UNAVAILABLE",
                                 "the container registry is unavailable; try again shortly");
    }
    ct_engine_run_bound(&run->ct->engine, p, type, run->ct->env, run->owner, r->id, t->dir,
                        &r->engine_id, &reply);
    if (!r->engine_id)
        r->engine_id = "";
    if (reply.status != 204 && reply.status != 304)
        return ct_send_engine_error(run->req, &reply, "creating a task's container");
    ct_registry_set_engine(run->ct->db, p, run->ct->env, r->id, r->engine_id, "running");
    argv = apr_array_copy(p, type->command);
    APR_ARRAY_PUSH(argv, const char *) = t->task->prompt;
    APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(p, "CB_TASK_NAME=", t->task->name, NULL);
    APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(p, "CB_RUN_ID=", run->run_id, NULL);
    APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(p, "CB_THREAD_ID=", run->thread_id, NULL);
    APR_ARRAY_PUSH(env, const char *) = run->body->haiku ? "CB_MODEL=haiku" : "CB_MODEL=default";
    ct_engine_exec_create(&run->ct->engine, p, r->engine_id, argv, env, &t->exec_id, &reply);
    if (!t->exec_id)
        return ct_send_engine_error(run->req, &reply, "starting a task");
    ct_lines_init(&t->lines, p, on_line, t);
    ct_frames_init(&t->frames, ct_lines_feed_frame, &t->lines);
    return CB_OK;
}

static int repo_allowed(const ct_plugin *ct, const char *url)
{
    for (int i = 0; i < ct->repo_prefixes->nelts; i++) {
        const char *prefix = APR_ARRAY_IDX(ct->repo_prefixes, i, const char *);
        if (strncmp(url, prefix, strlen(prefix)) == 0)
            return !strstr(url, "/../") && !strchr(url, '\n');
    }
    return 0;
}

/* Owner, body, thread: CB_OK, or the answer was sent. */
static cb_status read_request(invoke_run *run, ct_invoke *body)
{
    cb_req *req = run->req;
    apr_pool_t *p = run->pool;
    const char *err;
    cb_json *json;
    cb_status st;
    if (!(run->owner = ct_owner(req)))
        return cb_req_send_error(req, 401, "UNAUTHENTICATED", "an API key is required");
    if (!*run->ct->invoke_workspaces)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "/invoke/stdout is not set up on this gateway");
    if ((st = cb_req_read_json_object(req, MAX_INVOKE_BODY, &json)) != CB_OK)
        return st;
    if ((err = ct_invoke_parse(p, json, body)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (body->repo_url && !repo_allowed(run->ct, body->repo_url))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "repo_url is not a repository this gateway may clone");
    run->body = body;
    run->run_id = cb_random_hex(p, 12);
    run->thread_id = body->thread_id ? body->thread_id : cb_random_hex(p, 12);
    run->thread_dir = ct_thread_dir(p, run->ct->invoke_workspaces, run->ct->env, run->owner,
                                    run->thread_id);
    /* held to the end of the request: the workspace reaper leaves it alone */
    if (body->thread_id && (!ct_dir_exists(p, run->thread_dir) ||
                            !ct_thread_hold(p, run->thread_dir)))
        return cb_req_send_error(req, 404, "NOT_FOUND",
                                 apr_psprintf(p, "thread %s was not found", body->thread_id));
    if (!body->thread_id &&
        (apr_dir_make_recursive(run->thread_dir, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS ||
         !ct_thread_hold(p, run->thread_dir))) {
        cb_log_req(req, CB_LOG_ERR, "containers: invoke: cannot make %s", run->thread_dir);
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the workspace could not be made; try again shortly");
    }
    return CB_OK;
}

cb_status ct_invoke_stdout(cb_req *req, void *state)
{
    static const cb_http_stream_handlers handlers = {.on_data = on_data, .on_done = on_done};
    invoke_run run = {.req = req, .ct = state, .pool = cb_req_pool(req)};
    apr_pool_t *p = run.pool;
    const ct_agent_type *type = run.ct->invoke_type ? apr_hash_get(run.ct->types,
                                                   run.ct->invoke_type, APR_HASH_KEY_STRING)
                                                   : NULL;
    cb_http_streams *set;
    ct_invoke body;
    cb_status st;
    if (!type)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "/invoke/stdout needs an agent type of the engine driver; "
                                 "none is configured");
    if ((st = read_request(&run, &body)) != CB_OK)
        return st;
    run.tasks = apr_pcalloc(p, sizeof(task_run) * (size_t)body.tasks->nelts);
    for (int i = 0; i < body.tasks->nelts; i++) {
        task_run *t = &run.tasks[run.ntasks++];
        t->run = &run;
        t->task = &APR_ARRAY_IDX(body.tasks, i, ct_invoke_task);
        if ((st = prepare_workspace(&run, t)) != CB_OK ||
            (st = start_task(&run, t, type)) != CB_OK) {
            remove_containers(&run);
            return st;
        }
    }
    run.sse = cb_sse_start(req, HEARTBEAT_MS);
    set = cb_http_streams_create(p);
    for (int i = 0; i < run.ntasks; i++) {
        task_run *t = &run.tasks[i];
        cb_http_request *start = apr_pcalloc(p, sizeof(*start));
        cb_json *message = named(p, "type", "human", t->task->name);
        apr_table_t *headers = apr_table_make(p, 1);
        cb_json_set_string(message, "content", t->task->prompt);
        send_update(&run, message, named(p, "type", "task_started", t->task->name));
        start->method = "POST";
        start->url = apr_pstrcat(p, "http://engine/v1.41/exec/", t->exec_id, "/start", NULL);
        apr_table_setn(headers, "Content-Type", "application/json");
        start->headers = headers;
        start->body = "{\"Detach\":false,\"Tty\":false}";
        start->body_len = strlen(start->body);
        start->connect_timeout_ms = 1000;
        start->timeout_ms = 0; /* a task runs as long as it runs; the client may leave */
        start->max_response_bytes = (size_t)1 << 40;
        cb_http_streams_add_unix(set, start, run.ct->engine.socket_path, NULL, &handlers, t);
    }
    if (!run.client_gone)
        cb_http_streams_run(set, TICK_MS, on_tick, &run);
    if (run.client_gone || cb_req_aborted(req)) {
        cb_log_req(req, CB_LOG_INFO, "containers: the client left invoke run %s; stopping %d "
                   "task(s)", run.run_id, run.ntasks);
        remove_containers(&run);
        return CB_OK;
    }
    send_update(&run, NULL, named(p, "type", "run_completed", NULL));
    remove_containers(&run);
    return CB_OK;
}
