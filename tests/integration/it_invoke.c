/*
 * it_invoke.c: POST /invoke/stdout (Cloud Coding) on a real Podman engine
 * (harness_podman.c) behind a real apache2 with the auth plugin's API keys
 * (x-api-key): a local bare git repository (file://, inside the test's
 * directory) is cloned into each task's workspace; three parallel_tasks
 * run at once, their lines arriving interleaved as `custom` events by
 * task_name, each task ending with an `updates` task_completed (exit 0)
 * and the run with run_completed; a later call with the same thread_id
 * continues in the same workspace (another caller's key cannot reach the
 * thread); the github_token reaches neither the
 * error log nor the workspace (also when the clone fails); a bad body,
 * a repo_url outside the allowed prefixes and an unknown thread are
 * refused; `messages` runs one task named main; a client that leaves
 * stops its three tasks (their containers gone from the engine) within
 * 2 s.
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

#define ADMIN_KEY IT_ADMIN_KEY
#define GITHUB_TOKEN "ghp_it_invoke_token_7f3a91c2"

static char api_key[200], other_key[200];

/* A bare repository DIR/repos/app.git (branch main, README) owned by
 * www-data, the user httpd's children clone as. */
static void make_repository(void)
{
    char cmd[2000];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd %s; mkdir -p repos ws; git init -q -b main src; cd src; "
             "echo 'hello from the repo' > README; git add README; "
             "git -c user.name=it -c user.email=it@example.invalid commit -q -m first; cd ..; "
             "git clone -q --bare src repos/app.git; "
             "if [ $(id -u) = 0 ]; then chown -R www-data:www-data repos ws; fi",
             it.dir);
    ck_assert_msg(system(cmd) == 0, "could not make the test repository");
}

/* An API key of the auth plugin, as an x-api-key header line. */
static void create_key(const char *name, char *header, size_t size)
{
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, NULL};
    char body[100];
    it_response r;
    json_t *v;
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    it_request("POST", "/auth/v1/admin/apikeys", headers, body, &r);
    ck_assert_msg(r.status == 201, "key: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    snprintf(header, size, "x-api-key: %s", json_string_value(json_object_get(v, "key")));
    json_decref(v);
    it_free(&r);
}

static void start(void)
{
    char blocks[4096];
    const char *sock;
    it_setup();
    sock = it_podman_start();
    make_repository();
    snprintf(blocks, sizeof(blocks),
             "<CloudBasePlugin containers>\n"
             "  engine_socket %s\n"
             "  engine_timeout 20s\n"
             "  agent_type worker image=" IT_PODMAN_IMAGE " command=/bin/sh,-c "
             "memory=64m cpus=0.5 network=none\n"
             "  invoke_workspaces %s/ws\n"
             "  invoke_repo_prefix file://%s/repos/\n"
             "</CloudBasePlugin>\n",
             sock, it.dir, it.dir);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", it_auth_site(NULL, blocks)))) {
        char *log = it_error_log();
        it_podman_stop();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
    create_key("cloud-coding", api_key, sizeof(api_key));
    create_key("someone-else", other_key, sizeof(other_key));
}

static void invoke_as(const char *key, const char *body, it_response *r)
{
    const char *headers[] = {key, "Content-Type: application/json", NULL};
    it_request("POST", "/invoke/stdout", headers, body, r);
}

static void invoke(const char *body, it_response *r)
{
    invoke_as(api_key, body, r);
}

/* The events of a finished stream: [{event, data}], data parsed. */
static json_t *events_of(const char *text)
{
    json_t *out = json_array();
    const char *at = text;
    while (at && *at) {
        const char *end = strstr(at, "\n\n");
        char *block = end ? strndup(at, (size_t)(end - at)) : strdup(at);
        char *event = strstr(block, "event: "), *data = strstr(block, "data: ");
        if (event && data) {
            char *nl = strchr(event, '\n');
            json_t *parsed = json_loads(data + 6, 0, NULL);
            if (nl)
                *nl = '\0';
            ck_assert_msg(parsed != NULL, "event data is not JSON: %s", data + 6);
            json_array_append_new(out, json_pack("{s:s, s:o}", "event", event + 7, "data",
                                                 parsed));
        }
        free(block);
        at = end ? end + 2 : NULL;
    }
    return out;
}

/* The index of the first custom event of task whose stdout is line, -1. */
static int find_line(json_t *events, const char *task, const char *line)
{
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *e = json_array_get(events, i), *d = json_object_get(e, "data");
        if (strcmp(json_string_value(json_object_get(e, "event")), "custom") == 0 &&
            strcmp(json_string_value(json_object_get(d, "task_name")), task) == 0 &&
            strcmp(json_string_value(json_object_get(d, "stdout")), line) == 0)
            return (int)i;
    }
    return -1;
}

/* The index of the updates event whose stream event has type (and
 * task_name, unless NULL), -1. */
static int find_update(json_t *events, const char *type, const char *task)
{
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *e = json_array_get(events, i), *d = json_object_get(e, "data");
        json_t *se = json_array_get(json_object_get(d, "stream_events"), 0);
        if (strcmp(json_string_value(json_object_get(e, "event")), "updates") == 0 && se &&
            strcmp(json_string_value(json_object_get(se, "type")), type) == 0 &&
            (!task || strcmp(json_string_value(json_object_get(se, "task_name")), task) == 0))
            return (int)i;
    }
    return -1;
}

/* Three tasks at once: each one's lines in order, interleaved with the
 * others' (every task's first line before any task's third), the cloned
 * README, task_completed with exit code 0, run_completed last. Returns
 * the thread id. */
static char *check_parallel_tasks(void)
{
    static const char *names[] = {"alpha", "beta", "gamma"};
    char body[2000];
    int first_max = -1, third_min = 1 << 30;
    it_response r;
    json_t *events, *done;
    char *thread;
    snprintf(body, sizeof(body),
             "{\"repo_url\":\"file://%s/repos/app.git\",\"github_token\":\"" GITHUB_TOKEN "\","
             "\"branch\":\"main\",\"parallel_tasks\":["
             "{\"task_name\":\"alpha\",\"prompt\":\"%s\"},"
             "{\"task_name\":\"beta\",\"prompt\":\"%s\"},"
             "{\"task_name\":\"gamma\",\"prompt\":\"%s\"}]}",
             it.dir, "for i in 1 2 3; do echo $CB_TASK_NAME line $i; sleep 0.4; done; "
                     "cat README; echo $CB_TASK_NAME was here > marker",
             "for i in 1 2 3; do echo $CB_TASK_NAME line $i; sleep 0.4; done; "
             "cat README; echo $CB_TASK_NAME was here > marker",
             "for i in 1 2 3; do echo $CB_TASK_NAME line $i; sleep 0.4; done; "
             "cat README; echo $CB_TASK_NAME was here > marker");
    invoke(body, &r);
    ck_assert_msg(r.status == 200, "invoke: %ld %s", r.status, r.body);
    ck_assert_msg(strstr(it_header(&r, "Content-Type"), "text/event-stream") != NULL,
                  "not an event stream");
    events = events_of(r.body);
    for (int t = 0; t < 3; t++) {
        char line[64];
        int at[3], readme, completed;
        json_t *se;
        for (int i = 0; i < 3; i++) {
            snprintf(line, sizeof(line), "%s line %d", names[t], i + 1);
            at[i] = find_line(events, names[t], line);
            ck_assert_msg(at[i] >= 0, "no '%s' in %s", line, r.body);
        }
        readme = find_line(events, names[t], "hello from the repo");
        completed = find_update(events, "task_completed", names[t]);
        ck_assert_msg(at[0] < at[1] && at[1] < at[2] && at[2] < readme && readme < completed,
                      "task %s out of order: %s", names[t], r.body);
        se = json_array_get(json_object_get(json_object_get(json_array_get(events, (size_t)
                                                                           completed), "data"),
                                            "stream_events"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(se, "exit_code")), 0);
        ck_assert(find_update(events, "task_started", names[t]) < at[0]);
        if (at[0] > first_max)
            first_max = at[0];
        if (at[2] < third_min)
            third_min = at[2];
    }
    ck_assert_msg(first_max < third_min, "the tasks ran one after another: %s", r.body);
    done = json_array_get(events, json_array_size(events) - 1);
    ck_assert_int_eq(find_update(events, "run_completed", NULL),
                     (int)json_array_size(events) - 1);
    thread = strdup(json_string_value(json_object_get(json_object_get(done, "data"),
                                                      "thread_id")));
    ck_assert_msg(strlen(thread) > 0 &&
                  json_is_string(json_object_get(json_object_get(done, "data"), "run_id")),
                  "no thread or run id: %s", r.body);
    json_decref(events);
    it_free(&r);
    return thread;
}

/* A later call with the thread continues in the task's workspace;
 * another caller cannot reach the thread. */
static void check_thread_continues(const char *thread)
{
    char body[600];
    it_response r;
    json_t *events;
    snprintf(body, sizeof(body),
             "{\"thread_id\":\"%s\",\"parallel_tasks\":[{\"task_name\":\"beta\","
             "\"prompt\":\"cat marker; git status 2>/dev/null; ls README\"}]}",
             thread);
    invoke(body, &r);
    ck_assert_msg(r.status == 200, "invoke again: %ld %s", r.status, r.body);
    events = events_of(r.body);
    ck_assert_msg(find_line(events, "beta", "beta was here") >= 0 &&
                      find_line(events, "beta", "README") >= 0,
                  "the thread's workspace was not kept: %s", r.body);
    json_decref(events);
    it_free(&r);
    invoke_as(other_key, body, &r);
    ck_assert_msg(r.status == 404, "another caller's thread: %ld %s", r.status, r.body);
    it_free(&r);
    invoke("{\"thread_id\":\"no-such-thread\",\"messages\":[{\"type\":\"human\","
           "\"content\":\"ls\"}]}", &r);
    ck_assert_msg(r.status == 404, "unknown thread: %ld %s", r.status, r.body);
    it_free(&r);
}

/* `messages` is one task named main, the last message's content its
 * prompt; without repo_url its workspace starts empty. */
static void check_messages(void)
{
    it_response r;
    json_t *events;
    invoke("{\"messages\":[{\"type\":\"human\",\"content\":\"echo not me\"},"
           "{\"type\":\"human\",\"content\":\"echo hi from main; ls -A | wc -l\"}]}", &r);
    ck_assert_msg(r.status == 200, "messages: %ld %s", r.status, r.body);
    events = events_of(r.body);
    ck_assert_msg(find_line(events, "main", "hi from main") >= 0 &&
                      find_line(events, "main", "not me") < 0 &&
                      find_line(events, "main", "0") >= 0 &&
                      find_update(events, "task_completed", "main") >= 0,
                  "messages did not run as one task: %s", r.body);
    json_decref(events);
    it_free(&r);
}

/* Refusals: no key, no messages nor parallel_tasks, a bad task, a repo
 * outside the prefixes; a clone that fails is 502 and logged without the
 * token. */
static void check_refusals(void)
{
    const char *no_key[] = {"Content-Type: application/json", NULL};
    char body[600];
    it_response r;
    json_t *v;
    it_request("POST", "/invoke/stdout", no_key, "{\"messages\":[]}", &r);
    ck_assert_msg(r.status == 401, "no key: %ld %s", r.status, r.body);
    it_free(&r);
    invoke("{\"repo_url\":\"https://github.com/a/b\",\"branch\":\"main\"}", &r);
    ck_assert_msg(r.status == 400, "no tasks: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(json_is_string(json_object_get(v, "code")) &&
                      strstr(json_string_value(json_object_get(v, "message")), "messages"),
                  "not a clear 400: %s", r.body);
    json_decref(v);
    it_free(&r);
    invoke("{\"parallel_tasks\":[{\"task_name\":\"../x\",\"prompt\":\"ls\"}]}", &r);
    ck_assert_msg(r.status == 400, "bad task name: %ld %s", r.status, r.body);
    it_free(&r);
    invoke("{\"repo_url\":\"file:///etc/\",\"messages\":[{\"type\":\"human\",\"content\":\"ls\"}]}",
           &r);
    ck_assert_msg(r.status == 400, "repo outside the prefixes: %ld %s", r.status, r.body);
    it_free(&r);
    snprintf(body, sizeof(body),
             "{\"repo_url\":\"file://%s/repos/missing.git\",\"github_token\":\"" GITHUB_TOKEN
             "\",\"messages\":[{\"type\":\"human\",\"content\":\"ls\"}]}", it.dir);
    invoke(body, &r);
    ck_assert_msg(r.status == 502, "failed clone: %ld %s", r.status, r.body);
    ck_assert_msg(strstr(r.body, GITHUB_TOKEN) == NULL, "the token is in the answer");
    it_free(&r);
}

/* The token is in no log line and nowhere in the workspaces (the README
 * is: the search looks in the right place). */
static void check_token_kept_out(void)
{
    char cmd[600];
    char *log = it_error_log();
    ck_assert_msg(strstr(log, "clone for task main failed") != NULL,
                  "the failed clone was not logged:\n%s", log);
    ck_assert_msg(strstr(log, GITHUB_TOKEN) == NULL, "the token reached the error log");
    free(log);
    snprintf(cmd, sizeof(cmd), "grep -rq 'hello from the repo' %s/ws", it.dir);
    ck_assert_msg(system(cmd) == 0, "the workspaces hold no clone");
    snprintf(cmd, sizeof(cmd), "grep -rqF '" GITHUB_TOKEN "' %s/ws", it.dir);
    ck_assert_msg(system(cmd) != 0, "the token was stored in a workspace");
}

/* This test's engine's containers (all of them are ours): those that run,
 * or with all=1 every one it still has, in any state. */
static int engine_containers(int all)
{
    it_response r;
    json_t *v;
    int n;
    it_podman_request("GET", all ? "/v1.41/containers/json?all=1" : "/v1.41/containers/json",
                      NULL, &r);
    ck_assert_msg(r.status == 200, "engine list: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    n = (int)json_array_size(v);
    json_decref(v);
    it_free(&r);
    return n;
}

typedef struct leaving_client {
    char seen[8192];
    size_t len;
    int running_before;   /* the positive control, taken before leaving */
    struct timespec left;
} leaving_client;

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *at = strstr(text, what); at; at = strstr(at + 1, what))
        n++;
    return n;
}

/* Reads until all three tasks said they started, counts the running
 * containers, then hangs up (returning 0 makes libcurl close). */
static size_t read_then_leave(char *data, size_t size, size_t nmemb, void *baton)
{
    leaving_client *c = baton;
    size_t len = size * nmemb, room = sizeof(c->seen) - 1 - c->len;
    memcpy(c->seen + c->len, data, len < room ? len : room);
    c->len += len < room ? len : room;
    c->seen[c->len] = '\0';
    if (count(c->seen, "\"stdout\":\"started\"") < 3)
        return len;
    c->running_before = engine_containers(0);
    clock_gettime(CLOCK_MONOTONIC, &c->left);
    return 0;
}

static void check_disconnect_stops_tasks(void)
{
    char url[200];
    struct curl_slist *headers = NULL;
    leaving_client c = {0};
    struct timespec pause = {0, 50 * 1000 * 1000}, now;
    CURL *h = curl_easy_init();
    double waited = 0;
    int running = -1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/invoke/stdout", it.http_port);
    headers = curl_slist_append(headers, api_key);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     "{\"parallel_tasks\":["
                     "{\"task_name\":\"a\",\"prompt\":\"sleep 31 & echo started; wait\"},"
                     "{\"task_name\":\"b\",\"prompt\":\"sleep 31 & echo started; wait\"},"
                     "{\"task_name\":\"c\",\"prompt\":\"sleep 31 & echo started; wait\"}]}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, read_then_leave);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    ck_assert_msg(curl_easy_perform(h) == CURLE_WRITE_ERROR, "the tasks never started: %s",
                  c.seen);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    ck_assert_msg(c.running_before == 3, "%d task containers ran before the client left",
                  c.running_before);
    while (running != 0 && waited < 2.0) {
        running = engine_containers(1);
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited = (double)(now.tv_sec - c.left.tv_sec) + (now.tv_nsec - c.left.tv_nsec) / 1e9;
        if (running != 0)
            nanosleep(&pause, NULL);
    }
    ck_assert_msg(running == 0, "%d task containers are still there %.1f s after the client left",
                  running, waited);
    fprintf(stderr, "invoke: the tasks were gone %.2f s after the client left\n", waited);
}

START_TEST(invoke_stdout_on_podman)
{
    char *thread;
    start();
    check_refusals();
    check_messages();
    thread = check_parallel_tasks();
    ck_assert_int_eq(engine_containers(1), 0); /* removed once the run ended */
    check_thread_continues(thread);
    free(thread);
    check_token_kept_out();
    check_disconnect_stops_tasks();
    it_podman_stop();
    it_teardown();
}
END_TEST

Suite *invoke_suite(void)
{
    Suite *s = suite_create("invoke");
    TCase *tc = tcase_create("podman");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, invoke_stdout_on_podman);
    suite_add_tcase(s, tc);
    return s;
}
