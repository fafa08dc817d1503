/*
 * it_containers_static.c: the containers plugin's static driver, behind a
 * real apache2 with TestBase keys, SQLite and Redis, against a real
 * endpoint on loopback (static_agent.py: /execute, /status, /logs under a
 * path prefix) and with the engine's socket absent, so that any engine
 * call would fail. A container of a static agent type is registered
 * (status from GET /status), found by its owner only (another owner gets
 * container_not_found and its task never reaches the endpoint), reports
 * health and logs from the endpoint, runs a task whose events arrive one by
 * one (arrival times at the client) as the engine driver's events (one per
 * line, the endpoint's own events dropped, done {exitCode}), refuses files,
 * packages and MCP servers with a clear validation_error, and is deleted
 * from the registry. An endpoint that is down makes the status
 * "unreachable", health unhealthy, logs a 503 and a task an `error` event.
 * A client that leaves a task closes the request to the endpoint within
 * 2 s; a non-persistent static container is removed by the reaper after
 * its timeout without the engine. Bad static agent_type lines fail
 * configtest with what to fix.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "../common/servers.h"
#include "harness.h"
#include "harness_testbase.h"

#define ADMIN_KEY IT_ADMIN_KEY
#define API "/api/v1/containers"

static char owner_a[128], owner_b[128];

/* The auth plugin and a containers block with `lines`. */
static const char *site_with(const char *lines)
{
    char blocks[4096];
    snprintf(blocks, sizeof(blocks),
             "<CloudBasePlugin containers>\n"
             "  engine_socket %s/no-engine.sock\n"
             "%s"
             "</CloudBasePlugin>\n",
             it.dir, lines);
    return it_auth_site(NULL, blocks);
}

/* The endpoint on a free port, its paths under /agent; the gateway with a
 * static type `remote` (the default) on it, `down` on a port nobody
 * listens on, and an engine type. */
static void start(void)
{
    char command[1200], lines[1024], script[600];
    int agent_port, dead_port;
    it_setup();
    agent_port = srv_free_port();
    dead_port = srv_free_port();
    snprintf(script, sizeof(script), "%s", getenv("CB_TEST_UPSTREAM"));
    snprintf(command, sizeof(command), "python3 '%s/static_agent.py' %d /agent", dirname(script),
             agent_port);
    it_spawn_helper(it.dir, command, "static-agent.log");
    ck_assert_msg(srv_wait_port(agent_port, 10000), "the static agent did not start");
    snprintf(lines, sizeof(lines),
             "  engine_timeout 3s\n"
             "  reap_interval 200ms\n"
             "  allow_private 127.0.0.0/8\n"
             "  agent_type remote driver=static url=http://127.0.0.1:%d/agent/\n"
             "  agent_type down driver=static url=http://127.0.0.1:%d\n"
             "  agent_type worker image=localhost/cb-busybox:latest command=/bin/sh,-c\n",
             agent_port, dead_port);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site_with(lines))))
        ck_abort_msg("httpd did not start:\n%s", it_error_log());
    it_testbase_key(ADMIN_KEY, "static-a", owner_a, sizeof(owner_a));
    it_testbase_key(ADMIN_KEY, "static-b", owner_b, sizeof(owner_b));
}

static int agent_saw(const char *text)
{
    char *log = it_read_file("static-agent.log");
    int seen = strstr(log, text) != NULL;
    free(log);
    return seen;
}

/* Creates a container of agent type `type` as owner a; returns its id
 * (static storage) and checks the answer's status. */
static const char *create(const char *body, const char *expect_status)
{
    static char id[64];
    json_t *v = it_testbase_call("POST", API, owner_a, body, 201);
    const char *status = json_string_value(json_object_get(v, "status"));
    ck_assert_msg(status && strcmp(status, expect_status) == 0, "created: %s",
                  json_dumps(v, 0));
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(v, "id")));
    ck_assert_int_eq(strlen(id), 24);
    json_decref(v);
    return id;
}

static void path_of(char *out, size_t size, const char *id, const char *tail)
{
    snprintf(out, size, API "/%s%s", id, tail);
}

/* Health as owner a: {status, healthy}. */
static void expect_health(const char *id, const char *status, int healthy)
{
    char path[200];
    json_t *v;
    path_of(path, sizeof(path), id, "/health");
    v = it_testbase_call("GET", path, owner_a, NULL, 200);
    ck_assert_msg(json_is_string(json_object_get(v, "status")) &&
                      strcmp(json_string_value(json_object_get(v, "status")), status) == 0 &&
                      json_is_boolean(json_object_get(v, "healthy")) &&
                      json_is_true(json_object_get(v, "healthy")) == healthy,
                  "health: %s", json_dumps(v, 0));
    json_decref(v);
}

/* The task's events as the engine driver sends them: one per line, in
 * order, the endpoint's own `progress` event dropped, then done with the
 * exit code; each sent as it came (arrival times spread over the
 * endpoint's pauses). */
static void check_execute(const char *id)
{
    char path[200];
    const char *headers[] = {owner_a, "Content-Type: application/json", NULL};
    const char *one, *one_b, *two, *three, *done;
    it_response r;
    path_of(path, sizeof(path), id, "/execute");
    it_request("POST", path, headers, "{\"task\":\"hello\"}", &r);
    ck_assert_msg(r.status == 200, "execute: %ld %s", r.status, r.body);
    ck_assert_msg(strstr(it_header(&r, "Content-Type"), "text/event-stream") != NULL,
                  "not an event stream");
    one = strstr(r.body, "event: stdout\ndata: one\n\n");
    one_b = strstr(r.body, "event: stdout\ndata: one-b\n\n");
    two = strstr(r.body, "event: stderr\ndata: two\n\n");
    three = strstr(r.body, "event: stdout\ndata: three\n\n");
    done = strstr(r.body, "event: done\ndata: {\"exitCode\":3}\n\n");
    ck_assert_msg(one && one_b && two && three && done && one < one_b && one_b < two &&
                      two < three && three < done,
                  "events out of shape or order: %s", r.body);
    ck_assert_msg(!strstr(r.body, "progress") && !strstr(r.body, "50%"),
                  "the endpoint's own event was relayed: %s", r.body);
    ck_assert_msg(r.chunks >= 3 && r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] >= 600,
                  "the events were buffered: %d chunks over %.0f ms", r.chunks,
                  r.chunks ? r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] : 0.0);
    it_free(&r);
    ck_assert_msg(agent_saw("POST /agent/execute {\"task\":\"hello\",\"model\":\"m-1\"}"),
                  "the endpoint did not get the task and model");
    it_testbase_expect_error(it_testbase_call("POST", path, owner_a, "{}", 400),
                             "validation_error");
}

/* Files, packages and MCP servers need the engine: a clear
 * validation_error naming the static driver. */
static void check_engine_only_refused(const char *id)
{
    static const struct {
        const char *method, *tail, *body;
    } calls[] = {
        {"GET", "/files?path=/workspace", NULL},
        {"PUT", "/files?path=/workspace/a.txt", "hi"},
        {"GET", "/files/download?path=/workspace/a.txt", NULL},
        {"DELETE", "/files?path=/workspace/a.txt", NULL},
        {"POST", "/packages", "{\"package\":\"left-pad\"}"},
        {"POST", "/mcp-servers", "{\"server\":{\"name\":\"m\",\"type\":\"local\","
                                 "\"command\":\"x\"}}"},
        {"DELETE", "/mcp-servers/m", NULL},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        char path[300];
        json_t *v;
        const char *message;
        path_of(path, sizeof(path), id, calls[i].tail);
        v = it_testbase_call(calls[i].method, path, owner_a, calls[i].body, 400);
        message = json_string_value(json_object_get(json_object_get(v, "error"), "message"));
        ck_assert_msg(message && strstr(message, "static driver") &&
                          strstr(message, "does not support"),
                      "%s %s: %s", calls[i].method, path, json_dumps(v, 0));
        it_testbase_expect_error(v, "validation_error");
    }
}

/* Another owner sees none of it, and its task never reaches the endpoint. */
static void check_other_owner(const char *id)
{
    static const struct {
        const char *method, *tail, *body;
    } calls[] = {
        {"GET", "", NULL},           {"GET", "/health", NULL},
        {"GET", "/logs", NULL},      {"POST", "/execute", "{\"task\":\"from-b\"}"},
        {"DELETE", "", NULL},        {"GET", "/files?path=/workspace", NULL},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        char path[300];
        path_of(path, sizeof(path), id, calls[i].tail);
        it_testbase_expect_error(it_testbase_call(calls[i].method, path, owner_b,
                                                  calls[i].body, 404),
                                 "container_not_found");
    }
    ck_assert_msg(!agent_saw("from-b"), "another owner's task reached the endpoint");
}

START_TEST(static_container_api)
{
    char path[200];
    const char *id;
    json_t *v;
    it_response r;
    const char *headers[] = {owner_a, NULL};
    start();
    id = create("{\"persistContainer\":true}", "running"); /* remote: the default type */
    ck_assert_msg(agent_saw("GET /agent/status"), "the status was not asked of the endpoint");
    path_of(path, sizeof(path), id, "");
    v = it_testbase_call("GET", path, owner_a, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "agentType")), "remote");
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "running");
    json_decref(v);
    v = it_testbase_call("PATCH", path, owner_a, "{\"model\":\"m-1\"}", 200);
    json_decref(v);
    v = it_testbase_call("GET", API, owner_a, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "total")), 1);
    json_decref(v);

    expect_health(id, "running", 1);
    path_of(path, sizeof(path), id, "/logs?lines=2");
    it_request("GET", path, headers, NULL, &r);
    ck_assert_msg(r.status == 200 && r.body &&
                      strcmp(r.body, "agent log line 4\nagent log line 5\n") == 0,
                  "logs: %ld %s", r.status, r.body);
    ck_assert_msg(strstr(it_header(&r, "Content-Type"), "text/plain") != NULL,
                  "logs are not plain text");
    it_free(&r);
    ck_assert(agent_saw("GET /agent/logs?lines=2"));

    check_execute(id);
    check_engine_only_refused(id);
    check_other_owner(id);

    path_of(path, sizeof(path), id, "");
    v = it_testbase_call("DELETE", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(v, "deleted")));
    json_decref(v);
    it_testbase_expect_error(it_testbase_call("GET", path, owner_a, NULL, 404),
                             "container_not_found");
    ck_assert_msg(!agent_saw("DELETE"), "delete reached the endpoint");
    it_teardown();
}
END_TEST

START_TEST(static_endpoint_down)
{
    char path[200];
    const char *id;
    json_t *v;
    it_response r;
    const char *headers[] = {owner_a, "Content-Type: application/json", NULL};
    start();
    id = create("{\"agentType\":\"down\",\"persistContainer\":true}", "unreachable");
    path_of(path, sizeof(path), id, "");
    v = it_testbase_call("GET", path, owner_a, NULL, 200);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "unreachable");
    json_decref(v);
    expect_health(id, "unreachable", 0);
    path_of(path, sizeof(path), id, "/logs");
    it_testbase_expect_error(it_testbase_call("GET", path, owner_a, NULL, 503), "unavailable");
    path_of(path, sizeof(path), id, "/execute");
    it_request("POST", path, headers, "{\"task\":\"hello\"}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "event: error\ndata: {\"error\":") &&
                      !strstr(r.body, "event: done"),
                  "execute on a down endpoint: %ld %s", r.status, r.body);
    it_free(&r);
    path_of(path, sizeof(path), id, "");
    json_decref(it_testbase_call("DELETE", path, owner_a, NULL, 200));
    it_teardown();
}
END_TEST

typedef struct leaving_client {
    char seen[4096];
    size_t len;
    long long left_ms;
} leaving_client;

/* Reads the event stream until the first tick, then hangs up. */
static size_t read_then_leave(char *data, size_t size, size_t nmemb, void *baton)
{
    leaving_client *c = baton;
    size_t len = size * nmemb, room = sizeof(c->seen) - 1 - c->len;
    memcpy(c->seen + c->len, data, len < room ? len : room);
    c->len += len < room ? len : room;
    c->seen[c->len] = '\0';
    if (!strstr(c->seen, "event: stdout\ndata: tick\n\n"))
        return len;
    c->left_ms = it_now_ms();
    return 0;
}

START_TEST(static_client_leaves_and_timeout)
{
    char url[300], path[200], persistent[64];
    const char *id;
    leaving_client c = {0};
    struct curl_slist *headers = NULL;
    CURL *h;
    int closed = 0, gone = 0;
    long long deadline;
    start();
    snprintf(persistent, sizeof(persistent), "%s", create("{\"persistContainer\":true}",
                                                          "running"));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d" API "/%s/execute", it.http_port,
             persistent);
    h = curl_easy_init();
    headers = curl_slist_append(headers, owner_a);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"task\":\"forever\"}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, read_then_leave);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_WRITE_ERROR);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    ck_assert_msg(c.left_ms > 0, "no tick arrived: %s", c.seen);
    while (!(closed = agent_saw("execute closed")) && it_now_ms() - c.left_ms < 2000)
        usleep(50 * 1000);
    ck_assert_msg(closed, "the endpoint's request still runs 2 s after the client left");

    /* a non-persistent one goes after its timeout (the engine is absent:
     * the reaper only removes its row); the persistent one stays */
    id = create("{\"timeout\":1000}", "running");
    path_of(path, sizeof(path), id, "");
    deadline = it_now_ms() + 10000;
    while (!gone && it_now_ms() < deadline) {
        const char *headers_a[] = {owner_a, NULL};
        it_response r;
        it_request("GET", path, headers_a, NULL, &r);
        gone = r.status == 404;
        it_free(&r);
        if (!gone)
            usleep(100 * 1000);
    }
    ck_assert_msg(gone, "the expired static container was not reaped");
    path_of(path, sizeof(path), persistent, "");
    json_decref(it_testbase_call("GET", path, owner_a, NULL, 200));
    it_teardown();
}
END_TEST

/* Bad static agent_type lines fail configtest with what to fix. */
START_TEST(static_lines_checked_at_configtest)
{
    static const struct {
        const char *lines, *says;
    } bad[] = {
        {"  allow_private 127.0.0.0/8\n  agent_type x driver=static\n",
         "driver=static needs url="},
        {"  allow_private 127.0.0.0/8\n"
         "  agent_type x driver=static url=http://127.0.0.1:9 image=a\n",
         "image= belongs to driver=engine"},
        {"  allow_private 127.0.0.0/8\n"
         "  agent_type x image=a command=/bin/sh url=http://127.0.0.1:9\n",
         "url= belongs to driver=static"},
        {"  agent_type x driver=docker image=a command=/bin/sh\n", "driver=engine|static"},
        {"  agent_type x driver=static url=ftp://127.0.0.1/\n", "not an absolute http(s) URL"},
        {"  allow_private 127.0.0.0/8\n  agent_type x driver=static url=http://h/a?b=c\n",
         "query"},
        {"  allow_private 127.0.0.0/8\n"
         "  agent_type x driver=static url=http://169.254.169.254/\n",
         "169.254.169.254"},
        {"  agent_type x driver=static url=http://127.0.0.1:9\n", "allow_private"},
    };
    char output[8192];
    it_setup();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(it_configtest(it_write_config("test.conf", "event", site_with(bad[i].lines)),
                                    output, sizeof(output)) != 0,
                      "passed configtest: %s", bad[i].lines);
        ck_assert_msg(strstr(output, bad[i].says) && strstr(output, "agent_type"),
                      "configtest of %s does not say '%s': %s", bad[i].lines, bad[i].says,
                      output);
    }
    /* the positive control: a good static line next to an engine one */
    ck_assert_msg(it_configtest(it_write_config("test.conf", "event",
                                                site_with("  allow_private 127.0.0.0/8\n"
                                                          "  agent_type x driver=static "
                                                          "url=http://127.0.0.1:9/agent\n"
                                                          "  agent_type w image=a "
                                                          "command=/bin/sh\n")),
                                output, sizeof(output)) == 0,
                  "a good static line failed configtest: %s", output);
    it_teardown();
}
END_TEST

Suite *containers_static_suite(void)
{
    Suite *s = suite_create("containers_static");
    TCase *tc = tcase_create("static");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, static_container_api);
    tcase_add_test(tc, static_endpoint_down);
    tcase_add_test(tc, static_client_leaves_and_timeout);
    tcase_add_test(tc, static_lines_checked_at_configtest);
    suite_add_tcase(s, tc);
    return s;
}
