/*
 * it_containers.c: the containers plugin's TestBase-style API on a real
 * Podman engine (harness_podman.c) behind a real apache2 with the auth
 * plugin's TestBase keys (tb_{env}_{32hex}), SQLite and Redis: a container
 * is created, found in the engine with its labels, Init, limits and no
 * network, takes a new model and reasoning effort (PATCH), reports health
 * and logs, runs a task whose output arrives as
 * one SSE event per line as it is written (arrival times at the client),
 * refuses a huge task body, stops a task (and what it started) within 2 s
 * of its client leaving, round-trips a file (upload, list, download,
 * delete; traversal refused, missing paths 404), keeps MCP servers in a
 * config file in the container (tokens never listed, bad URLs refused),
 * checks package names before running npm in the container, and once
 * deleted is gone from the engine; another owner sees none of it (container_not_found, the engine
 * untouched); no key is unauthorized; an unknown agent type is a
 * validation_error; with the engine's socket down the API answers a clear
 * 503 in the TestBase dialect. The reaper removes, at start-up, an orphan
 * with this environment's label (not another environment's), and a
 * non-persistent container past its timeout (not a persistent one, nor
 * one within its timeout); after a gateway restart the registry is intact
 * and a new orphan is reaped; an engine that never answers is
 * container_timeout after engine_timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "harness_podman.h"
#include "harness_testbase.h"

#define ADMIN_KEY IT_ADMIN_KEY
#define API "/api/v1/containers"

static char owner_a[128], owner_b[128];

/* The gateway on the engine at sock, with extra lines in the containers
 * block. */
static void start_gateway(const char *sock, const char *extra)
{
    char blocks[4096];
    snprintf(blocks, sizeof(blocks),
             "<CloudBasePlugin containers>\n"
             "  engine_socket %s\n"
             "  agent_type worker image=" IT_PODMAN_IMAGE " command=/bin/sh,-c "
             "memory=64m cpus=0.5 network=none\n"
             "%s"
             "</CloudBasePlugin>\n",
             sock, extra);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", it_auth_site(NULL, blocks)))) {
        char *log = it_error_log();
        it_podman_stop();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(void)
{
    const char *sock;
    it_setup();
    sock = it_podman_start();
    start_gateway(sock, "  engine_timeout 20s\n");
}

static void create_key(const char *name, char *header, size_t size)
{
    it_testbase_key(ADMIN_KEY, name, header, size);
}

#define call it_testbase_call
#define expect_error it_testbase_expect_error

/* The engine's containers labelled with our id, as JSON. */
static json_t *engine_list(const char *id)
{
    char path[400], filter[200];
    char *escaped;
    it_response r;
    json_t *v;
    CURL *h = curl_easy_init();
    snprintf(filter, sizeof(filter), "{\"label\":[\"cloudbase.container=%s\"]}", id);
    escaped = curl_easy_escape(h, filter, 0);
    snprintf(path, sizeof(path), "/v1.41/containers/json?all=1&filters=%s", escaped);
    curl_free(escaped);
    curl_easy_cleanup(h);
    it_podman_request("GET", path, NULL, &r);
    ck_assert_msg(r.status == 200, "engine list: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(json_is_array(v), "engine list: %s", r.body);
    it_free(&r);
    return v;
}

static void check_in_engine(const char *id, const char *engine_id)
{
    char path[300];
    it_response r;
    json_t *v, *labels, *host;
    snprintf(path, sizeof(path), "/v1.41/containers/%s/json", engine_id);
    it_podman_request("GET", path, NULL, &r);
    ck_assert_msg(r.status == 200, "inspect: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    labels = json_object_get(json_object_get(v, "Config"), "Labels");
    host = json_object_get(v, "HostConfig");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "cloudbase.container")), id);
    ck_assert_str_eq(json_string_value(json_object_get(labels, "cloudbase.env")), "demo");
    ck_assert_msg(strncmp(json_string_value(json_object_get(labels, "cloudbase.owner")), "key:",
                          4) == 0, "owner label: %s", r.body);
    ck_assert(json_is_true(json_object_get(json_object_get(v, "State"), "Running")));
    ck_assert(json_is_true(json_object_get(host, "Init")));
    ck_assert_int_eq(json_integer_value(json_object_get(host, "Memory")), 64 * 1024 * 1024);
    ck_assert_int_eq(json_integer_value(json_object_get(host, "NanoCpus")), 500000000);
    ck_assert_str_eq(json_string_value(json_object_get(host, "NetworkMode")), "none");
    json_decref(v);
    it_free(&r);
}

/* GET logs until the container's ready line is there (deadline 10 s). */
static void expect_ready_line(const char *id)
{
    char path[200], want[200];
    const char *headers[] = {owner_a, NULL};
    struct timespec pause = {0, 50 * 1000 * 1000};
    it_response r = {0};
    snprintf(path, sizeof(path), API "/%s/logs?lines=10", id);
    snprintf(want, sizeof(want), "container %s ready (agent type worker)", id);
    for (int i = 0; i < 200; i++) {
        it_request("GET", path, headers, NULL, &r);
        ck_assert_msg(r.status == 200, "logs: %ld %s", r.status, r.body);
        if (strstr(r.body, want))
            break;
        it_free(&r);
        nanosleep(&pause, NULL);
    }
    ck_assert_msg(r.body && strstr(r.body, want), "logs never showed '%s'", want);
    ck_assert_msg(strstr(it_header(&r, "Content-Type"), "text/plain") != NULL,
                  "logs are plain text");
    ck_assert_msg(memchr(r.body, '\0', r.body_len) == NULL && r.body[0] == 'c',
                  "logs hold stream headers: %s", r.body);
    it_free(&r);
}

/* A task's output as SSE: one event per line, in order, each sent as the
 * exec wrote it (arrival times at the client spread over the task's
 * pauses), then done with the exit code; a huge task body is refused. */
static void check_execute(const char *id)
{
    char path[200];
    const char *headers[] = {owner_a, "Content-Type: application/json", NULL};
    const char *one, *two, *three, *done;
    char *huge;
    it_response r;
    snprintf(path, sizeof(path), API "/%s/execute", id);
    it_request("POST", path, headers,
               "{\"task\":\"echo one; sleep 0.4; echo two >&2; sleep 0.4; echo three; exit 3\"}",
               &r);
    ck_assert_msg(r.status == 200, "execute: %ld %s", r.status, r.body);
    ck_assert_msg(strstr(it_header(&r, "Content-Type"), "text/event-stream") != NULL,
                  "not an event stream");
    one = strstr(r.body, "event: stdout\ndata: one\n\n");
    two = strstr(r.body, "event: stderr\ndata: two\n\n");
    three = strstr(r.body, "event: stdout\ndata: three\n\n");
    done = strstr(r.body, "event: done\ndata: {\"exitCode\":3}\n\n");
    ck_assert_msg(one && two && three && done && one < two && two < three && three < done,
                  "events out of shape or order: %s", r.body);
    ck_assert_msg(r.chunks >= 3 && r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] >= 600,
                  "the lines were buffered: %d chunks over %.0f ms", r.chunks,
                  r.chunks ? r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] : 0.0);
    it_free(&r);
    expect_error(call("POST", path, owner_a, "{}", 400), "validation_error");
    huge = malloc(300 * 1024 + 32);
    ck_assert_ptr_nonnull(huge);
    strcpy(huge, "{\"task\":\"");
    memset(huge + 9, 'x', 300 * 1024);
    strcpy(huge + 9 + 300 * 1024, "\"}");
    expect_error(call("POST", path, owner_a, huge, 413), "payload_too_large");
    free(huge);
}

/* The container's processes: `ps` run in it by the engine (with a TTY, so
 * the output comes unframed). */
static char *engine_top(const char *engine_id)
{
    char path[300], exec_id[80];
    it_response r;
    json_t *v;
    snprintf(path, sizeof(path), "/v1.41/containers/%s/exec", engine_id);
    it_podman_request("POST", path, "{\"Cmd\":[\"ps\"],\"AttachStdout\":true,\"Tty\":true}", &r);
    ck_assert_msg(r.status == 201, "exec ps: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    snprintf(exec_id, sizeof(exec_id), "%s", json_string_value(json_object_get(v, "Id")));
    json_decref(v);
    it_free(&r);
    snprintf(path, sizeof(path), "/v1.41/exec/%s/start", exec_id);
    it_podman_request("POST", path, "{\"Detach\":false,\"Tty\":true}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "PID"), "ps: %ld %s", r.status, r.body);
    return r.body;
}

typedef struct leaving_client {
    const char *engine_id;
    char seen[4096];
    size_t len;
    int task_was_running; /* the positive control, taken before leaving */
    struct timespec left;
} leaving_client;

/* Reads the event stream until the task said it started, checks that its
 * processes run, then hangs up (returning 0 makes libcurl close). */
static size_t read_then_leave(char *data, size_t size, size_t nmemb, void *baton)
{
    leaving_client *c = baton;
    size_t len = size * nmemb, room = sizeof(c->seen) - 1 - c->len;
    memcpy(c->seen + c->len, data, len < room ? len : room);
    c->len += len < room ? len : room;
    c->seen[c->len] = '\0';
    if (!strstr(c->seen, "data: started"))
        return len;
    {
        char *top = engine_top(c->engine_id);
        c->task_was_running = strstr(top, "sleep 31") != NULL;
        free(top);
    }
    clock_gettime(CLOCK_MONOTONIC, &c->left);
    return 0;
}

/* A client that leaves a running task: the task and the process it
 * started are gone from the container within 2 s. */
static void check_disconnect_stops_task(const char *id, const char *engine_id)
{
    char url[300];
    struct curl_slist *headers = NULL;
    leaving_client c = {.engine_id = engine_id};
    struct timespec pause = {0, 50 * 1000 * 1000}, now;
    CURL *h = curl_easy_init();
    double waited = 0;
    int gone = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d" API "/%s/execute", it.http_port, id);
    headers = curl_slist_append(headers, owner_a);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     "{\"task\":\"sleep 31 & echo started; wait; echo finished\"}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, read_then_leave);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_WRITE_ERROR);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    ck_assert_msg(c.task_was_running, "the task's sleep was not running before the client left");
    while (!gone && waited < 2.0) {
        char *top = engine_top(engine_id);
        gone = strstr(top, "sleep 31") == NULL;
        free(top);
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited = (double)(now.tv_sec - c.left.tv_sec) + (now.tv_nsec - c.left.tv_nsec) / 1e9;
        if (!gone)
            nanosleep(&pause, NULL);
    }
    ck_assert_msg(gone, "the task still runs %.1f s after the client left", waited);
}

/* A request with a raw body (or none); returns the response. */
static void raw_call(const char *method, const char *path, const char *auth, const char *body,
                     it_response *r)
{
    const char *headers[3] = {auth, "Content-Type: application/octet-stream", NULL};
    it_request(method, path, headers, body, r);
}

/* Files round trip through the archive API, confined to the workspace. */
static void check_files(const char *id)
{
    char path[300];
    it_response r;
    json_t *v, *files;
    int found = 0;
    snprintf(path, sizeof(path), API "/%s/files?path=/workspace/hello.txt", id);
    raw_call("PUT", path, owner_a, "hi there\n", &r);
    ck_assert_msg(r.status == 200, "upload: %ld %s", r.status, r.body);
    it_free(&r);

    snprintf(path, sizeof(path), API "/%s/files?path=/workspace", id);
    v = call("GET", path, owner_a, NULL, 200);
    files = json_object_get(v, "files");
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        if (strcmp(json_string_value(json_object_get(f, "name")), "hello.txt") == 0) {
            found = 1;
            ck_assert_str_eq(json_string_value(json_object_get(f, "type")), "file");
            ck_assert_int_eq(json_integer_value(json_object_get(f, "size")), 9);
        }
    }
    ck_assert_msg(found, "hello.txt not listed: %s", json_dumps(v, 0));
    json_decref(v);

    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace//hello.txt", id);
    raw_call("GET", path, owner_a, NULL, &r);
    ck_assert_msg(r.status == 200 && r.body_len == 9 && memcmp(r.body, "hi there\n", 9) == 0,
                  "download: %ld %s", r.status, r.body);
    it_free(&r);

    /* confined to the workspace; missing paths are 404 */
    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace/../etc/passwd", id);
    expect_error(call("GET", path, owner_a, NULL, 400), "validation_error");
    snprintf(path, sizeof(path), API "/%s/files/download?path=/etc/passwd", id);
    expect_error(call("GET", path, owner_a, NULL, 400), "validation_error");
    snprintf(path, sizeof(path), API "/%s/files?path=/workspace/a/%%2e%%2e/%%2e%%2e/etc", id);
    expect_error(call("PUT", path, owner_a, "x", 400), "validation_error");
    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace/nope.txt", id);
    expect_error(call("GET", path, owner_a, NULL, 404), "not_found");
    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace/hello.txt", id);
    expect_error(call("GET", path, owner_b, NULL, 404), "container_not_found");

    snprintf(path, sizeof(path), API "/%s/files?path=/workspace/hello.txt", id);
    v = call("DELETE", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(v, "deleted")));
    json_decref(v);
    expect_error(call("DELETE", path, owner_a, NULL, 404), "not_found");
    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace/hello.txt", id);
    expect_error(call("GET", path, owner_a, NULL, 404), "not_found");
}

/* MCP servers: added (hosted, local), listed without tokens, written into
 * the container as /workspace/.mcp.json, removed; bad URLs refused. */
static void check_mcp(const char *id)
{
    char path[300];
    it_response r;
    json_t *v, *config, *servers;
    snprintf(path, sizeof(path), API "/%s/mcp-servers", id);
    v = call("POST", path, owner_a,
             "{\"server\":{\"type\":\"hosted\",\"name\":\"github\","
             "\"url\":\"https://github-mcp.example.com/mcp\",\"bearerToken\":\"ghp_it_token_1\"}}",
             201);
    ck_assert_ptr_null(json_object_get(v, "bearerToken"));
    json_decref(v);
    json_decref(call("POST", path, owner_a,
                     "{\"server\":{\"type\":\"local\",\"name\":\"slack\","
                     "\"package\":\"@modelcontextprotocol/server-slack\","
                     "\"env\":{\"SLACK_TOKEN\":\"xoxb-it\"}}}", 201));
    expect_error(call("POST", path, owner_a,
                      "{\"server\":{\"type\":\"hosted\",\"name\":\"meta\","
                      "\"url\":\"http://169.254.169.254/latest\"}}", 400), "validation_error");
    expect_error(call("POST", path, owner_a,
                      "{\"server\":{\"type\":\"hosted\",\"name\":\"ftp\","
                      "\"url\":\"ftp://example.com/x\"}}", 400), "validation_error");
    expect_error(call("POST", path, owner_a,
                      "{\"server\":{\"type\":\"hosted\",\"name\":\"../x\","
                      "\"url\":\"https://example.com/\"}}", 400), "validation_error");
    expect_error(call("POST", path, owner_b, "{}", 404), "container_not_found");

    v = call("GET", path, owner_a, NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(v, "servers")), 2);
    json_decref(v);
    snprintf(path, sizeof(path), API "/%s", id);
    v = call("GET", path, owner_a, NULL, 200); /* the container shows them too */
    ck_assert_int_eq(json_array_size(json_object_get(v, "mcpServers")), 2);
    ck_assert_msg(!strstr(json_dumps(v, 0), "ghp_it_token_1") && !strstr(json_dumps(v, 0), "xoxb"),
                  "a secret is listed: %s", json_dumps(v, 0));
    json_decref(v);

    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace/.mcp.json", id);
    raw_call("GET", path, owner_a, NULL, &r);
    ck_assert_msg(r.status == 200, "config: %ld %s", r.status, r.body);
    config = json_loads(r.body, 0, NULL);
    servers = json_object_get(config, "mcpServers");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(servers, "github"), "url")),
                     "https://github-mcp.example.com/mcp");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(servers,
                         "github"), "headers"), "Authorization")), "Bearer ghp_it_token_1");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(servers, "slack"),
                                                       "command")), "npx");
    json_decref(config);
    it_free(&r);

    snprintf(path, sizeof(path), API "/%s/mcp-servers/github", id);
    json_decref(call("DELETE", path, owner_a, NULL, 200));
    expect_error(call("DELETE", path, owner_a, NULL, 404), "not_found");
    snprintf(path, sizeof(path), API "/%s/files/download?path=/workspace/.mcp.json", id);
    raw_call("GET", path, owner_a, NULL, &r);
    ck_assert_msg(r.status == 200 && !strstr(r.body, "github") && strstr(r.body, "slack"),
                  "config after delete: %ld %s", r.status, r.body);
    it_free(&r);
}

/* Packages: names are checked before anything runs; the busybox image has
 * no npm, so a good name reaches the container and fails there, clearly. */
static void check_packages(const char *id)
{
    char path[200];
    json_t *v;
    const char *message;
    snprintf(path, sizeof(path), API "/%s/packages", id);
    expect_error(call("POST", path, owner_a, "{\"package\":\"x; rm -rf /\"}", 400),
                 "validation_error");
    expect_error(call("POST", path, owner_a, "{\"package\":\"../evil\"}", 400),
                 "validation_error");
    expect_error(call("POST", path, owner_a, "{\"package\":\"Left Pad\"}", 400),
                 "validation_error");
    expect_error(call("POST", path, owner_b, "{\"package\":\"left-pad\"}", 404),
                 "container_not_found");
    v = call("POST", path, owner_a,
             "{\"package\":\"@modelcontextprotocol/server-slack@1.0.0\","
             "\"env\":{\"SLACK_TOKEN\":\"xoxb-it\"}}", 502);
    message = json_string_value(json_object_get(json_object_get(v, "error"), "message"));
    ck_assert_msg(message && strstr(message, "could not be installed") &&
                      strstr(message, "exit code 127"), "message: %s", message);
    expect_error(v, "bad_gateway");
}

START_TEST(container_lifecycle_on_podman)
{
    json_t *v, *list, *inspect_by_name;
    char id[64], path[200], engine_path[300];
    const char *engine_id;
    it_response r;
    start();
    create_key("a", owner_a, sizeof(owner_a));
    create_key("b", owner_b, sizeof(owner_b));

    expect_error(call("POST", API, NULL, "{}", 401), "unauthorized");
    expect_error(call("POST", API, owner_a, "{\"agentType\":\"nope\"}", 400), "validation_error");
    expect_error(call("POST", API, owner_a, "{\"timeout\":\"soon\"}", 400), "validation_error");

    v = call("POST", API, owner_a,
             "{\"agentType\":\"worker\",\"workspace\":\"/workspace\",\"region\":\"us-central1\","
             "\"model\":\"gpt-4o-mini\",\"reasoningEffort\":\"low\",\"persistContainer\":false,"
             "\"timeout\":300000}", 201);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(v, "id")));
    ck_assert_int_eq(strlen(id), 24);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "running");
    ck_assert_str_eq(json_string_value(json_object_get(v, "model")), "gpt-4o-mini");
    json_decref(v);

    /* in the engine: one container with our labels, running, limited */
    list = engine_list(id);
    ck_assert_int_eq(json_array_size(list), 1);
    engine_id = json_string_value(json_object_get(json_array_get(list, 0), "Id"));
    ck_assert_ptr_nonnull(engine_id);
    snprintf(engine_path, sizeof(engine_path), "/v1.41/containers/%s/json", engine_id);
    check_in_engine(id, engine_id);

    snprintf(path, sizeof(path), API "/%s", id);
    v = call("GET", path, owner_a, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "id")), id);
    json_decref(v);
    v = call("GET", API, owner_a, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "total")), 1);
    json_decref(v);

    /* PATCH: model and reasoning effort, nothing else */
    v = call("PATCH", path, owner_a, "{\"model\":\"gpt-5-mini\",\"reasoningEffort\":\"medium\"}",
             200);
    json_decref(v);
    v = call("GET", path, owner_a, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "model")), "gpt-5-mini");
    ck_assert_str_eq(json_string_value(json_object_get(v, "reasoningEffort")), "medium");
    json_decref(v);
    expect_error(call("PATCH", path, owner_a, "{\"agentType\":\"worker\"}", 400),
                 "validation_error");
    expect_error(call("PATCH", path, owner_a, "{\"reasoningEffort\":\"max\"}", 400),
                 "validation_error");
    expect_error(call("PATCH", path, owner_b, "{\"model\":\"x\"}", 404), "container_not_found");

    /* another owner sees nothing and touches nothing */
    v = call("GET", API, owner_b, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "total")), 0);
    json_decref(v);
    expect_error(call("GET", path, owner_b, NULL, 404), "container_not_found");
    expect_error(call("DELETE", path, owner_b, NULL, 404), "container_not_found");
    snprintf(path, sizeof(path), API "/%s/logs", id);
    expect_error(call("GET", path, owner_b, NULL, 404), "container_not_found");
    it_podman_request("GET", engine_path, NULL, &r);
    ck_assert_msg(r.status == 200, "another owner's delete reached the engine: %ld", r.status);
    it_free(&r);

    snprintf(path, sizeof(path), API "/%s/health", id);
    v = call("GET", path, owner_a, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "running");
    ck_assert(json_is_true(json_object_get(v, "healthy")));
    json_decref(v);
    expect_ready_line(id);
    check_execute(id);
    check_files(id);
    check_mcp(id);
    check_packages(id);
    check_disconnect_stops_task(id, engine_id);

    /* delete: gone from the engine and from the registry */
    snprintf(path, sizeof(path), API "/%s", id);
    v = call("DELETE", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(v, "deleted")));
    json_decref(v);
    it_podman_request("GET", engine_path, NULL, &r);
    ck_assert_msg(r.status == 404, "still in the engine after delete: %ld %s", r.status, r.body);
    it_free(&r);
    inspect_by_name = engine_list(id);
    ck_assert_int_eq(json_array_size(inspect_by_name), 0);
    json_decref(inspect_by_name);
    json_decref(list);
    expect_error(call("GET", path, owner_a, NULL, 404), "container_not_found");

    /* the engine's socket down: a clear 503 in the dialect */
    it_podman_stop_service();
    v = call("POST", API, owner_a, "{}", 503);
    ck_assert_msg(strstr(json_string_value(json_object_get(json_object_get(v, "error"),
                                                           "message")),
                         "container engine is not reachable") != NULL,
                  "503 message: %s", json_dumps(v, 0));
    expect_error(v, "unavailable");
    it_podman_stop();
    it_teardown();
}
END_TEST

/* A container made in the engine directly, labelled as the gateway would
 * (environment env, id), running sleep. */
static void engine_container(const char *name, const char *env, const char *id)
{
    char path[200], body[600];
    it_response r;
    snprintf(path, sizeof(path), "/v1.41/containers/create?name=%s", name);
    snprintf(body, sizeof(body),
             "{\"Image\":\"" IT_PODMAN_IMAGE "\",\"Cmd\":[\"sleep\",\"300\"],"
             "\"Labels\":{\"cloudbase.env\":\"%s\",\"cloudbase.container\":\"%s\"},"
             "\"HostConfig\":{\"Init\":true,\"NetworkMode\":\"none\"}}", env, id);
    it_podman_request("POST", path, body, &r);
    ck_assert_msg(r.status == 201, "engine create: %ld %s", r.status, r.body);
    it_free(&r);
    snprintf(path, sizeof(path), "/v1.41/containers/%s/start", name);
    it_podman_request("POST", path, NULL, &r);
    ck_assert_msg(r.status == 204, "engine start: %ld %s", r.status, r.body);
    it_free(&r);
}

/* The engine's answer to inspecting a container by name or id. */
static long engine_status(const char *name)
{
    char path[200];
    it_response r;
    long status;
    snprintf(path, sizeof(path), "/v1.41/containers/%s/json", name);
    it_podman_request("GET", path, NULL, &r);
    status = r.status;
    it_free(&r);
    return status;
}

/* Polls (deadline 30 s: a loaded CI machine removes slowly) until the
 * engine no longer has the container. */
static void expect_gone_from_engine(const char *name)
{
    struct timespec pause = {0, 100 * 1000 * 1000};
    for (int i = 0; i < 300 && engine_status(name) != 404; i++)
        nanosleep(&pause, NULL);
    ck_assert_msg(engine_status(name) == 404, "%s is still in the engine", name);
}

START_TEST(reaper_removes_orphans_and_expired)
{
    json_t *v;
    char temporary[64], persistent[64], lasting[64], path[200];
    struct timespec pause = {0, 100 * 1000 * 1000};
    long status = 0;
    it_setup();
    {
        const char *sock = it_podman_start();
        engine_container("orphan", "demo", "0123456789abcdef01234567");
        engine_container("foreign", "other", "89abcdef0123456789abcdef");
        /* engine_timeout leaves room for a slow create on a loaded machine */
        start_gateway(sock, "  reap_interval 200ms\n  engine_timeout 10s\n");
    }
    /* at start-up: this environment's orphan goes, another's stays */
    expect_gone_from_engine("orphan");
    ck_assert_int_eq(engine_status("foreign"), 200);

    create_key("a", owner_a, sizeof(owner_a));
    /* made first, so every reaper pass that sees the others sees it */
    v = call("POST", API, owner_a, "{\"timeout\":300000}", 201);
    snprintf(lasting, sizeof(lasting), "%s", json_string_value(json_object_get(v, "id")));
    json_decref(v);
    v = call("POST", API, owner_a, "{\"timeout\":1000}", 201);
    snprintf(temporary, sizeof(temporary), "%s", json_string_value(json_object_get(v, "id")));
    json_decref(v);
    v = call("POST", API, owner_a, "{\"timeout\":1000,\"persistContainer\":true}", 201);
    snprintf(persistent, sizeof(persistent), "%s", json_string_value(json_object_get(v, "id")));
    json_decref(v);

    /* past its timeout the non-persistent one is removed, engine and registry */
    snprintf(path, sizeof(path), API "/%s", temporary);
    for (int i = 0; i < 300; i++) {
        it_response r;
        const char *headers[] = {owner_a, NULL};
        it_request("GET", path, headers, NULL, &r);
        status = r.status;
        it_free(&r);
        if (status == 404)
            break;
        nanosleep(&pause, NULL);
    }
    ck_assert_msg(status == 404, "the expired container is still registered (%ld)", status);
    v = engine_list(temporary);
    ck_assert_int_eq(json_array_size(v), 0);
    json_decref(v);
    /* the persistent one and the one within its timeout stay, running,
     * after several passes of the reaper */
    snprintf(path, sizeof(path), API "/%s/health", persistent);
    v = call("GET", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(v, "healthy")));
    json_decref(v);
    snprintf(path, sizeof(path), API "/%s/health", lasting);
    v = call("GET", path, owner_a, NULL, 200);
    ck_assert_msg(json_is_true(json_object_get(v, "healthy")),
                  "a container within its timeout was reaped: %s", json_dumps(v, 0));
    json_decref(v);

    /* a gateway restart: the registry is intact, a new orphan is reaped */
    engine_container("orphan2", "demo", "fedcba9876543210fedcba98");
    {
        char conf[400];
        snprintf(conf, sizeof(conf), "%s", it_gateway_conf_path());
        it_httpd_stop(conf);
        ck_assert_msg(it_httpd_start(conf), "httpd did not start again");
    }
    expect_gone_from_engine("orphan2");
    v = call("GET", API, owner_a, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "total")), 2);
    json_decref(v);
    snprintf(path, sizeof(path), API "/%s/health", persistent);
    v = call("GET", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(v, "healthy")));
    json_decref(v);

    /* an engine that takes the connection and never answers: the call ends
     * at engine_timeout as container_timeout */
    it_podman_pause(1);
    v = call("GET", path, owner_a, NULL, 504);
    it_podman_pause(0);
    expect_error(v, "container_timeout");
    it_podman_stop();
    it_teardown();
}
END_TEST

Suite *containers_suite(void)
{
    Suite *s = suite_create("containers");
    TCase *tc = tcase_create("podman");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, container_lifecycle_on_podman);
    tcase_add_test(tc, reaper_removes_orphans_and_expired);
    suite_add_tcase(s, tc);
    return s;
}
