/*
 * testplug.c: a test-only plugin that exercises the whole plugin ABI: every
 * option type, plain, parameterised, rest, streaming, body-reading, auth
 * and proxy routes, an identity hook, a policy hook, after-response
 * accounting and a background task; with queue_file, a second task that
 * consumes a cb_queue (POST /v1/test/jobs enqueues, GET shows the counts),
 * logging each job it starts and finishes to that file, and holding every
 * job while queue_block_file exists; GET /v1/test/fanout streams N upstream
 * event streams at once with the curl-multi client into one SSE response,
 * with heartbeats, and stops when the client goes away; with notify lines,
 * POST /v1/test/notify hands a message to the core notifier
 * (testplug_notify.c); with db_hold_file, a task that holds a database
 * transaction for 1.5 s at a time (writing "holding" to that file), to
 * show the child's exit waits for it; Redis round trips for the benchmark's
 * floors (testplug_redis.c). Used by the unit and integration tests and
 * scripts/bench.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/db.h"
#include "cloudbase/json.h"
#include "cloudbase/queue.h"
#include "cloudbase/http_stream.h"
#include "cloudbase/sse.h"
#include "cloudbase/log.h"
#include "testplug_notify.h"
#include "testplug_redis.h"

typedef struct testplug {
    const char *greeting;
    const char *upstream;
    int64_t max_body;
    int fake_identity;
    const char *task_file;
    const char *secret;
    const char *deny_header;
    const char *redis_trip_path; /* the policy asks Redis once under it */
    int64_t after_count;     /* after_response calls in this process */
    int last_status;         /* the status after_response last saw */
    int child_pid;           /* set by child_init in each worker process */
    const char *queue_file;  /* job log of the queue task */
    const char *queue_block_file;
    const char *db_hold_file;
    cb_db *db;
    cb_queue *queue;
    const char *record_file; /* after_response appends each response record */
    cb_notifier *notifier;   /* with notify lines */
} testplug;

static const char *const modes[] = {"plain", "loud", NULL};

static const cb_option_def options[] = {
    {.name = "greeting", .type = CB_OPT_STRING, .required = 1, .help = "text the echo route returns"},
    {.name = "upstream", .type = CB_OPT_URL, .help = "base URL of the proxy route's upstream"},
    {.name = "max_body", .type = CB_OPT_SIZE, .default_value = "1k", CB_OPT_MIN(1), CB_OPT_MAX(1 << 20),
     .help = "largest body the body route accepts"},
    {.name = "timeout", .type = CB_OPT_DURATION, .default_value = "5s",
     .help = "an unused duration, for parser tests"},
    {.name = "fake_identity", .type = CB_OPT_BOOL, .default_value = "off",
     .help = "accept 'Bearer test-user-NAME' tokens"},
    {.name = "deny_header", .type = CB_OPT_STRING, .help = "refuse requests that carry this header"},
    {.name = "redis_trip_path", .type = CB_OPT_STRING,
     .help = "the policy runs one trivial Redis script before each request under this path"},
    {.name = "task_file", .type = CB_OPT_STRING, .help = "file the background task appends to"},
    {.name = "task_interval", .type = CB_OPT_DURATION, .default_value = "200ms", CB_OPT_MIN(10),
     .help = "how often the task runs"},
    {.name = "secret", .type = CB_OPT_SECRET, .help = "a secret, for loader tests"},
    {.name = "workers", .type = CB_OPT_INT, .default_value = "1", .help = "an unused integer, for parser tests"},
    {.name = "mode", .type = CB_OPT_ENUM, .default_value = "plain", .choices = modes,
     .help = "an unused enum, for parser tests"},
    {.name = "queue_file", .type = CB_OPT_STRING, .help = "consume the test job queue, logging jobs here"},
    {.name = "queue_block_file", .type = CB_OPT_STRING, .help = "jobs are held while this file exists"},
    {.name = "db_hold_file", .type = CB_OPT_STRING,
     .help = "a task holds a database transaction 1.5 s at a time, noting it here"},
    {.name = "queue_visibility", .type = CB_OPT_DURATION, .default_value = "1s",
     .help = "in-flight deadline of a test job"},
    {.name = "record_file", .type = CB_OPT_STRING,
     .help = "file after_response appends response records to"},
    {.name = "notify", .type = CB_OPT_LIST, .help = "a notifier channel line (docs/notifications.md)"},
    {.name = "notify_group_window", .type = CB_OPT_DURATION, .default_value = "300ms",
     .help = "the test notifier's grouping window"},
    {.name = "notify_visibility", .type = CB_OPT_DURATION, .default_value = "2s", CB_OPT_MIN(100),
     .help = "in-flight deadline of a test notification delivery"},
    {.name = "notify_cap", .type = CB_OPT_INT, .default_value = "10", CB_OPT_MIN(1),
     .help = "messages per source per hour"},
    {.name = "notify_require_https", .type = CB_OPT_BOOL, .default_value = "off",
     .help = "refuse http:// notification webhooks"},
    {0}
};



static cb_status echo(cb_req *req, void *state)
{
    testplug *t = state;
    const cb_identity *id = cb_req_identity(req);
    apr_pool_t *p = cb_req_pool(req);
    cb_json *body = cb_json_new_object(p);
    cb_json_set_string(body, "greeting", t->greeting);
    cb_json_set_string(body, "method", cb_req_method(req));
    cb_json_set_string(body, "path", cb_req_path(req));
    cb_json_set_string(body, "query", cb_req_query(req));
    cb_json_set_string(body, "id", cb_req_param(req, "id"));
    cb_json_set_string(body, "rest", cb_req_param(req, "rest"));
    cb_json_set_string(body, "uid", id->uid);
    cb_json_set_string(body, "env", cb_req_env(req));
    cb_json_set_string(body, "requestId", cb_req_id(req));
    cb_json_set_bool(body, "childInitRan", t->child_pid == (int)getpid());
    cb_json_set_int(body, "afterCount", __atomic_load_n(&t->after_count, __ATOMIC_RELAXED));
    cb_json_set_int(body, "lastStatus", __atomic_load_n(&t->last_status, __ATOMIC_RELAXED));
    cb_json_set_int(body, "pid", (int)getpid());
    return cb_req_send_json(req, 200, cb_json_dump(p, body));
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

/* The body as a JSON object (cb_req_read_json_object, capped at max_body):
 * how many members it has and its "name", written back. */
static cb_status json_route(cb_req *req, void *state)
{
    testplug *t = state;
    apr_pool_t *p = cb_req_pool(req);
    cb_json *body, *answer;
    if (cb_req_read_json_object(req, (size_t)t->max_body, &body) != CB_OK)
        return CB_ERROR;
    answer = cb_json_new_object(p);
    cb_json_set_int(answer, "members", (int64_t)cb_json_object_size(body));
    cb_json_set_string(answer, "name", cb_json_get_string(body, "name"));
    return cb_req_send_json(req, 200, cb_json_dump(p, answer));
}

static cb_status fail_route(cb_req *req, void *state)
{
    testplug *t = state;
    /* A careless line on purpose: the core must scrub the secret out. */
    cb_log_req(req, CB_LOG_WARNING, "testplug failing as asked (secret %s)",
               t->secret ? t->secret : "unset");
    return cb_req_send_error(req, 400, "INVALID_PARAM", "the test route always fails");
}

/* A plugin's own error code, in every dialect. */
static const cb_error_code_def quota_code = {
    .code = "TEST_QUOTA_EXCEEDED", .status = 402, .oauth = "quota_exceeded",
    .testbase = "payment_required", .message = "the test quota is used up"};

static cb_status quota_route(cb_req *req, void *state)
{
    (void)state;
    return cb_req_send_error_code(req, "TEST_QUOTA_EXCEEDED", NULL);
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
    /* A "reservation" that after_response must get back. */
    cb_req_plugin_data_set(req, apr_pstrcat(cb_req_pool(req), "reserved-", cb_req_id(req), NULL));
    if (t->deny_header && cb_req_header(req, t->deny_header)) {
        cb_req_send_error(req, 429, "RATE_LIMITED", "denied by the test policy");
        return CB_DONE;
    }
    if (t->redis_trip_path &&
        strncmp(cb_req_path(req), t->redis_trip_path, strlen(t->redis_trip_path)) == 0 &&
        !testplug_redis_round_trip(req)) {
        cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "Redis cannot be reached");
        return CB_DONE;
    }
    return CB_OK;
}

/* One JSON line per response, written with one append. */
static void write_record(cb_req *req, const cb_response_record *rec, const char *file)
{
    const char *slot = cb_req_plugin_data_get(req);
    static const char *const kinds[] = {"none", "anonymous", "user", "key", "admin"};
    apr_pool_t *p = cb_req_pool(req);
    cb_json *line = cb_json_new_object(p);
    const char *text;
    FILE *f;
    cb_json_set_string(line, "requestId", cb_req_id(req));
    cb_json_set_int(line, "status", rec->status);
    cb_json_set_int(line, "bytesIn", rec->bytes_in);
    cb_json_set_int(line, "bytesOut", rec->bytes_out);
    cb_json_set_int(line, "durationUs", rec->duration);
    cb_json_set_string(line, "route", rec->route_pattern);
    cb_json_set_string(line, "method", rec->method);
    cb_json_set_string(line, "kind", kinds[rec->identity_kind]);
    cb_json_set_string(line, "uid", rec->uid);
    cb_json_set_bool(line, "proxied", rec->proxied);
    cb_json_set_int(line, "upstreamUs", rec->upstream_time);
    cb_json_set_string(line, "reservation", slot);
    text = apr_pstrcat(p, cb_json_dump(p, line), "\n", NULL);
    if ((f = fopen(file, "a"))) {
        fputs(text, f);
        fclose(f);
    }
}

static void after_response(cb_req *req, void *state, const cb_response_record *record)
{
    testplug *t = state;
    __atomic_store_n(&t->last_status, record->status, __ATOMIC_RELAXED);
    __atomic_add_fetch(&t->after_count, 1, __ATOMIC_RELAXED);
    if (t->record_file)
        write_record(req, record, t->record_file);
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

static void log_job(const testplug *t, const char *what, const cb_job *job)
{
    FILE *f = fopen(t->queue_file, "a");
    if (!f)
        return;
    fprintf(f, "%s %s attempt %d pid %d\n", what, job->payload, job->attempt, (int)getpid());
    fclose(f);
}

static void queue_task(void *state, apr_pool_t *scratch)
{
    testplug *t = state;
    cb_job job;
    while (cb_queue_reserve(t->queue, scratch, &job) == APR_SUCCESS) {
        log_job(t, "started", &job);
        while (t->queue_block_file && access(t->queue_block_file, F_OK) == 0)
            usleep(10 * 1000);
        log_job(t, "processed", &job);
        if (cb_queue_ack(t->queue, scratch, &job) == APR_SUCCESS)
            log_job(t, "acked", &job);
    }
}

/* Holds a database connection (an open transaction) for 1.5 s. */
static void db_hold_task(void *state, apr_pool_t *scratch)
{
    testplug *t = state;
    cb_db_tx *tx;
    cb_db_result *res;
    FILE *f;
    if (cb_db_begin(t->db, scratch, &tx) != APR_SUCCESS)
        return;
    if (cb_db_tx_select(tx, "SELECT 1", 0, NULL, &res) == APR_SUCCESS &&
        (f = fopen(t->db_hold_file, "a"))) {
        fprintf(f, "holding %d\n", (int)getpid());
        fclose(f);
    }
    usleep(1500 * 1000);
    cb_db_commit(tx);
}

static cb_status jobs_route(cb_req *req, void *state)
{
    testplug *t = state;
    apr_pool_t *p = cb_req_pool(req);
    cb_queue_counts counts;
    const char *data, *id;
    size_t len;
    if (!t->queue)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "no queue configured");
    if (strcmp(cb_req_method(req), "POST") == 0) {
        if (cb_req_read_body(req, 1024, &data, &len) != CB_OK)
            return CB_ERROR;
        if (cb_queue_enqueue(t->queue, p, data, len, NULL, 0, &id, NULL) != APR_SUCCESS)
            return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "queue unavailable");
        return cb_req_send_json(req, 200, apr_psprintf(p, "{\"id\":\"%s\"}", id));
    }
    if (cb_queue_counts_get(t->queue, p, &counts) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "queue unavailable");
    return cb_req_send_json(req, 200, apr_psprintf(p,
        "{\"ready\":%" APR_INT64_T_FMT ",\"delayed\":%" APR_INT64_T_FMT ",\"inflight\":%"
        APR_INT64_T_FMT ",\"dead\":%" APR_INT64_T_FMT "}", (apr_int64_t)counts.ready,
        (apr_int64_t)counts.delayed, (apr_int64_t)counts.inflight, (apr_int64_t)counts.dead));
}

/* A number from the query string ("n=3"), or fallback. */
static long query_number(cb_req *req, const char *name, long fallback)
{
    const char *q = cb_req_query(req);
    size_t n = strlen(name);
    for (const char *at = q; at && *at; at = strchr(at, '&') ? strchr(at, '&') + 1 : NULL)
        if (strncmp(at, name, n) == 0 && at[n] == '=')
            return strtol(at + n + 1, NULL, 10);
    return fallback;
}

typedef struct fanout {
    cb_req *req;
    cb_sse_writer *writer;
} fanout;

static int fanout_event(void *baton, int stream, const cb_sse_event *event)
{
    fanout *f = baton;
    char id[16];
    snprintf(id, sizeof(id), "%d", stream);
    return cb_sse_send(f->writer, "upstream", id, event->data, event->data_len) != CB_OK;
}

static int fanout_tick(void *baton)
{
    fanout *f = baton;
    return cb_sse_heartbeat(f->writer) != CB_OK || cb_req_aborted(f->req);
}

static cb_status fanout_route(cb_req *req, void *state)
{
    testplug *t = state;
    apr_pool_t *p = cb_req_pool(req);
    static const cb_http_stream_handlers handlers = {NULL, fanout_event, NULL};
    long streams = query_number(req, "n", 3), forever = query_number(req, "forever", 0);
    long tag = query_number(req, "tag", 0);
    cb_http_streams *set;
    fanout f;
    if (!t->upstream || streams < 1 || streams > 16)
        return cb_req_send_error(req, 400, "INVALID_PARAM", "n must be 1 to 16");
    f.req = req;
    f.writer = cb_sse_start(req, query_number(req, "hb", 100));
    set = cb_http_streams_create(p);
    for (long i = 0; i < streams; i++) {
        cb_http_request up;
        memset(&up, 0, sizeof(up));
        up.url = forever ? apr_psprintf(p, "%ssse-forever?tag=%ld-%ld", t->upstream, tag, i)
                         : apr_pstrcat(p, t->upstream, "sse", NULL);
        cb_http_streams_add(set, &up, &handlers, &f);
    }
    cb_http_streams_run(set, 50, fanout_tick, &f);
    return CB_OK;
}

static cb_status notify_route(cb_req *req, void *state)
{
    return testplug_notify_route(req, ((testplug *)state)->notifier);
}

static cb_status create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    testplug *t = apr_pcalloc(cb_ctx_pool(ctx), sizeof(*t));
    t->greeting = cb_opt_string(o, "greeting");
    t->upstream = cb_opt_string(o, "upstream");
    t->max_body = cb_opt_size(o, "max_body");
    t->fake_identity = cb_opt_bool(o, "fake_identity");
    t->task_file = cb_opt_string(o, "task_file");
    t->secret = cb_opt_secret(o, "secret");
    t->deny_header = cb_opt_string(o, "deny_header");
    t->redis_trip_path = cb_opt_string(o, "redis_trip_path");
    testplug_redis_init();
    t->record_file = cb_opt_string(o, "record_file");
    if (cb_ctx_register_error(ctx, &quota_code) != CB_OK)
        return CB_ERROR;
    if (strcmp(t->greeting, "fail") == 0) {
        cb_ctx_error(ctx, "greeting 'fail' asks create() to fail");
        return CB_ERROR;
    }
    if (t->upstream)
        cb_ctx_declare_upstream(ctx, t->upstream);
    if (t->task_file)
        cb_ctx_add_task(ctx, "testplug-tick", apr_time_from_msec(cb_opt_duration_ms(o, "task_interval")),
                        task);
    t->queue_file = cb_opt_string(o, "queue_file");
    t->queue_block_file = cb_opt_string(o, "queue_block_file");
    if (t->queue_file && cb_ctx_redis(ctx)) {
        cb_queue_config qc;
        cb_queue_config_defaults(&qc);
        qc.visibility_ms = cb_opt_duration_ms(o, "queue_visibility");
        qc.backoff_base_ms = 100;
        t->queue = cb_queue_create(cb_ctx_pool(ctx), cb_ctx_redis(ctx), cb_ctx_env(ctx),
                                   "testjobs", &qc);
        cb_ctx_add_task(ctx, "testplug-queue", apr_time_from_msec(20), queue_task);
    }
    t->db_hold_file = cb_opt_string(o, "db_hold_file");
    if (t->db_hold_file && (t->db = cb_ctx_db(ctx)))
        cb_ctx_add_task(ctx, "testplug-db-hold", apr_time_from_msec(100), db_hold_task);
    if (cb_opt_list(o, "notify")->nelts && !(t->notifier = testplug_notify_create(ctx)))
        return CB_ERROR;
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

#define ROUTE(m, p, h, level, dialect_, flags_) \
    {.method = m, .pattern = p, .handler = h, .auth = level, .dialect = dialect_, .flags = flags_}

static const cb_route_def routes[] = {
    ROUTE("GET", "/v1/test/echo", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/echo", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/items/{id}", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/files/{rest*}", echo, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/body", body_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/json", json_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/oauth-json", json_route, CB_AUTH_NONE, CB_DIALECT_OAUTH, 0),
    ROUTE("GET", "/v1/test/fail", fail_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/oauth-fail", fail_route, CB_AUTH_NONE, CB_DIALECT_OAUTH, 0),
    ROUTE("GET", "/v1/test/tose-fail", fail_route, CB_AUTH_NONE, CB_DIALECT_TOSE, 0),
    ROUTE("GET", "/v1/test/testbase-fail", fail_route, CB_AUTH_NONE, CB_DIALECT_TESTBASE, 0),
    ROUTE("GET", "/v1/test/quota", quota_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/oauth-quota", quota_route, CB_AUTH_NONE, CB_DIALECT_OAUTH, 0),
    ROUTE("GET", "/v1/test/testbase-quota", quota_route, CB_AUTH_NONE, CB_DIALECT_TESTBASE, 0),
    ROUTE("GET", "/v1/test/fanout", fanout_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/jobs", jobs_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/notify", notify_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/jobs", jobs_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("POST", "/v1/test/redis-bytes", testplug_redis_bytes_route, CB_AUTH_NONE,
          CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/stream", stream_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/private", echo, CB_AUTH_USER, CB_DIALECT_CLOUDBASE, 0),
    ROUTE("GET", "/v1/test/admin", echo, CB_AUTH_ADMIN, CB_DIALECT_OAUTH, 0),
    ROUTE("*", "/v1/test/proxy/{rest*}", proxy_route, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, CB_ROUTE_PROXY),
    {0}
};

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "testplug",
    .version = "1.0.0",
    .description = "test-only plugin",
    .options = options,
    .routes = routes,
    .create = create,
    .child_init = child_init,
    .access_policy = policy,
    .identify = identify,
    .after_response = after_response,
};
