/*
 * it_containers_live.c: the containers plugin's live state in Redis, its
 * error details and the end of idle /invoke/stdout workspaces, on a real
 * Podman engine (harness_podman.c) behind a real apache2 with Redis and
 * SQLite. Live state: a new container shows its status and no tasks; a
 * task running in it counts while it runs and leaves its start and end
 * times; a health check is kept as lastHealthCheck; the hash is in
 * Redis under the environment's hash tag with an expiry from the
 * container's timeout; all of it survives a gateway restart; with Redis
 * stopped the API still answers from the registry and the engine, the
 * live fields null. Errors about a container carry details.containerId
 * (not found, another owner's, container_timeout, engine down).
 * Workspaces: a thread idle past invoke_workspace_ttl (its mtime set
 * back) is removed and its thread_id then answers 404, a fresh one stays
 * and continues, a thread held by a run (its lock taken) stays until it
 * is released, and links inside or beside threads are never followed out
 * of the base directory.
 */
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "harness_podman.h"
#include "harness_testbase.h"

#define ADMIN_KEY IT_ADMIN_KEY
#define API "/api/v1/containers"

static char owner_a[200], owner_b[200], invoke_key[200];

static void start(void)
{
    char blocks[4096];
    const char *sock;
    char cmd[600];
    it_setup();
    sock = it_podman_start();
    snprintf(cmd, sizeof(cmd), "set -e; mkdir -p %s/ws; "
             "if [ $(id -u) = 0 ]; then chown www-data:www-data %s/ws; fi", it.dir, it.dir);
    ck_assert_msg(system(cmd) == 0, "could not make the workspace base");
    snprintf(blocks, sizeof(blocks),
             "<CloudBasePlugin containers>\n"
             "  engine_socket %s\n"
             "  engine_timeout 10s\n"
             "  reap_interval 200ms\n"
             "  agent_type worker image=" IT_PODMAN_IMAGE " command=/bin/sh,-c "
             "memory=64m cpus=0.5 network=none\n"
             "  invoke_workspaces %s/ws\n"
             "  invoke_workspace_ttl 1h\n"
             "</CloudBasePlugin>\n",
             sock, it.dir);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", it_auth_site(NULL, blocks)))) {
        char *log = it_error_log();
        it_podman_stop();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* An auth API key (prefix "" or "tb") as a header line "NAME: ...". */
static void create_key(const char *name, const char *prefix, const char *header_name,
                       char *header, size_t size)
{
    const char *headers[] = {"Authorization: Bearer " ADMIN_KEY, NULL};
    char body[128];
    it_response r;
    json_t *v;
    snprintf(body, sizeof(body), "{\"name\":\"%s\"%s%s%s}", name, *prefix ? ",\"prefix\":\"" : "",
             prefix, *prefix ? "\"" : "");
    it_request("POST", "/auth/v1/admin/apikeys", headers, body, &r);
    ck_assert_msg(r.status == 201, "key: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    snprintf(header, size, "%s%s", header_name, json_string_value(json_object_get(v, "key")));
    json_decref(v);
    it_free(&r);
}

/* a JSON call that checks the status (harness_podman.c) */
#define call it_testbase_call

/* {error:{code, message, details:{containerId: id, requestId}}} */
static void expect_container_error(json_t *v, const char *code, const char *id)
{
    json_t *error = json_object_get(v, "error");
    json_t *details = json_object_get(error, "details");
    const char *got = json_string_value(json_object_get(error, "code"));
    const char *cid = json_string_value(json_object_get(details, "containerId"));
    char *text = json_dumps(v, 0);
    ck_assert_msg(got && strcmp(got, code) == 0 && cid && strcmp(cid, id) == 0 &&
                      json_is_string(json_object_get(error, "message")) &&
                      json_is_string(json_object_get(details, "requestId")),
                  "expected %s with details.containerId %s, got %s", code, id, text);
    free(text);
    json_decref(v);
}

static json_t *get_container(const char *id)
{
    char path[200];
    snprintf(path, sizeof(path), API "/%s", id);
    return call("GET", path, owner_a, NULL, 200);
}

static long long number(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "%s is not a number", key);
    return json_integer_value(v);
}

/* ---- live state */

typedef struct task_call {
    char path[200];
    long status;
    int done_seen;
} task_call;

static void *run_task(void *baton)
{
    task_call *t = baton;
    const char *headers[] = {owner_a, "Content-Type: application/json", NULL};
    it_response r;
    it_request("POST", t->path, headers, "{\"task\":\"echo start; sleep 2; echo end\"}", &r);
    t->status = r.status;
    t->done_seen = r.body && strstr(r.body, "event: done") != NULL;
    it_free(&r);
    return NULL;
}

/* The key's remaining life in Redis (ms), by redis-cli; -2 when absent. */
static long long redis_pttl(const char *id)
{
    char cmd[300], out[64] = "";
    FILE *f;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d PTTL 'cb:{demo}:containers:live:%s'",
             it.redis_port, id);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    if (!fgets(out, sizeof(out), f))
        out[0] = '\0';
    pclose(f);
    return atoll(out);
}

/* A new container: status, no health check yet, no tasks. */
static void check_fresh(json_t *c)
{
    json_t *tasks = json_object_get(c, "tasks");
    char *text = json_dumps(c, 0);
    ck_assert_msg(strcmp(json_string_value(json_object_get(c, "status")), "running") == 0 &&
                      json_is_integer(json_object_get(c, "statusUpdatedAt")) &&
                      json_is_null(json_object_get(c, "lastHealthCheck")) &&
                      json_is_object(tasks) &&
                      json_integer_value(json_object_get(tasks, "running")) == 0 &&
                      json_is_null(json_object_get(tasks, "lastStartedAt")) &&
                      json_is_null(json_object_get(tasks, "lastEndedAt")),
                  "a new container's live state: %s", text);
    free(text);
}

/* A task counts while it runs and leaves its times. */
static void check_task_counted(const char *id)
{
    task_call t = {.status = 0};
    pthread_t thread;
    json_t *c, *tasks;
    long long deadline = it_now_ms() + 10000, running = 0;
    snprintf(t.path, sizeof(t.path), API "/%s/execute", id);
    ck_assert_int_eq(pthread_create(&thread, NULL, run_task, &t), 0);
    while (running != 1 && it_now_ms() < deadline) {
        c = get_container(id);
        running = json_integer_value(json_object_get(json_object_get(c, "tasks"), "running"));
        json_decref(c);
        if (running != 1)
            usleep(100 * 1000);
    }
    pthread_join(thread, NULL);
    ck_assert_msg(running == 1, "the running task was not counted");
    ck_assert_msg(t.status == 200 && t.done_seen, "execute: %ld", t.status);
    c = get_container(id);
    tasks = json_object_get(c, "tasks");
    ck_assert_int_eq(number(tasks, "running"), 0);
    ck_assert_msg(number(tasks, "lastStartedAt") > 0 &&
                      number(tasks, "lastEndedAt") >= number(tasks, "lastStartedAt") + 1500,
                  "the task's times are wrong");
    json_decref(c);
}

/* The same live fields in two answers. */
static void expect_same_live(json_t *a, json_t *b)
{
    const char *keys[] = {"status", "statusUpdatedAt", "lastHealthCheck", "tasks", NULL};
    for (int i = 0; keys[i]; i++) {
        char *x = json_dumps(json_object_get(a, keys[i]), JSON_ENCODE_ANY | JSON_SORT_KEYS);
        char *y = json_dumps(json_object_get(b, keys[i]), JSON_ENCODE_ANY | JSON_SORT_KEYS);
        ck_assert_msg(x && y && strcmp(x, y) == 0, "%s: %s then %s", keys[i], x, y);
        free(x);
        free(y);
    }
}

/* Errors about a container name it in details.containerId. */
static void check_error_details(const char *id)
{
    char path[200];
    const char *unknown = "0123456789abcdef01234567";
    snprintf(path, sizeof(path), API "/%s", unknown);
    expect_container_error(call("GET", path, owner_a, NULL, 404), "container_not_found",
                           unknown);
    snprintf(path, sizeof(path), API "/%s/health", id);
    expect_container_error(call("GET", path, owner_b, NULL, 404), "container_not_found", id);
    /* an engine that never answers: container_timeout after engine_timeout */
    it_podman_pause(1);
    {
        json_t *v = call("GET", path, owner_a, NULL, 504);
        it_podman_pause(0);
        expect_container_error(v, "container_timeout", id);
    }
    snprintf(path, sizeof(path), API "/%s/execute", id);
    expect_container_error(call("POST", path, owner_a, "{}", 400), "validation_error", id);
}

START_TEST(live_state_in_redis)
{
    char path[200], id[64], other[64];
    json_t *c, *before, *after, *list, *health;
    long long ttl;
    start();
    create_key("a", "tb", "Authorization: Bearer ", owner_a, sizeof(owner_a));
    create_key("b", "tb", "Authorization: Bearer ", owner_b, sizeof(owner_b));

    c = call("POST", API, owner_a, "{\"timeout\":600000}", 201);
    check_fresh(c);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(c, "id")));
    json_decref(c);
    c = get_container(id);
    check_fresh(c);
    json_decref(c);
    /* in Redis under the environment's hash tag, expiring after the
     * container's timeout (600 s) plus the reaper's grace (1 h) */
    ttl = redis_pttl(id);
    ck_assert_msg(ttl > 3600000 && ttl <= 3600000 + 600000, "the live key's PTTL: %lld", ttl);

    check_task_counted(id);

    snprintf(path, sizeof(path), API "/%s/health", id);
    health = call("GET", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(health, "healthy")));
    json_decref(health);
    before = get_container(id);
    ck_assert_msg(json_is_true(json_object_get(json_object_get(before, "lastHealthCheck"),
                                               "healthy")) &&
                      number(json_object_get(before, "lastHealthCheck"), "checkedAt") >=
                          number(before, "createdAt"),
                  "the health check was not kept");
    /* the list shows the same */
    list = call("GET", API, owner_a, NULL, 200);
    ck_assert_int_eq(json_array_size(json_object_get(list, "containers")), 1);
    expect_same_live(before, json_array_get(json_object_get(list, "containers"), 0));
    json_decref(list);

    /* a gateway restart keeps it all (Redis outlives httpd) */
    {
        char conf[400];
        snprintf(conf, sizeof(conf), "%s", it_gateway_conf_path());
        it_httpd_stop(conf);
        ck_assert_msg(it_httpd_start(conf), "httpd did not start again");
    }
    after = get_container(id);
    expect_same_live(before, after);
    json_decref(after);
    json_decref(before);

    check_error_details(id);

    /* Redis stopped: the registry and the engine still answer, the live
     * fields null */
    it_redis_kill();
    c = get_container(id);
    {
        char *text = json_dumps(c, 0);
        ck_assert_msg(strcmp(json_string_value(json_object_get(c, "status")), "running") == 0 &&
                          json_is_null(json_object_get(c, "statusUpdatedAt")) &&
                          json_is_null(json_object_get(c, "lastHealthCheck")) &&
                          json_is_null(json_object_get(c, "tasks")),
                      "with Redis down: %s", text);
        free(text);
    }
    json_decref(c);
    list = call("GET", API, owner_a, NULL, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "total")), 1);
    ck_assert(json_is_null(json_object_get(json_array_get(json_object_get(list, "containers"), 0),
                                           "tasks")));
    json_decref(list);
    health = call("GET", path, owner_a, NULL, 200);
    ck_assert(json_is_true(json_object_get(health, "healthy")));
    json_decref(health);
    c = call("POST", API, owner_a, "{}", 201);
    snprintf(other, sizeof(other), "%s", json_string_value(json_object_get(c, "id")));
    ck_assert(json_is_null(json_object_get(c, "lastHealthCheck")));
    json_decref(c);
    snprintf(path, sizeof(path), API "/%s", other);
    json_decref(call("DELETE", path, owner_a, NULL, 200));

    /* the engine's socket gone: a 503 naming the container */
    it_podman_stop_service();
    snprintf(path, sizeof(path), API "/%s/health", id);
    expect_container_error(call("GET", path, owner_a, NULL, 503), "unavailable", id);
    it_podman_stop();
    it_teardown();
}
END_TEST

/* ---- idle workspaces */

/* Runs `echo hi` as a new thread (NULL) or in thread; returns the HTTP
 * status and copies the thread_id of the answer into out. */
static long invoke_in(const char *thread, char *out, size_t size)
{
    const char *headers[] = {invoke_key, "Content-Type: application/json", NULL};
    char body[300];
    const char *at;
    it_response r;
    long status;
    snprintf(body, sizeof(body), "{%s%s%s\"messages\":[{\"type\":\"human\",\"content\":"
             "\"echo hi > note\"}]}", thread ? "\"thread_id\":\"" : "", thread ? thread : "",
             thread ? "\"," : "");
    it_request("POST", "/invoke/stdout", headers, body, &r);
    status = r.status;
    if (out && status == 200) {
        ck_assert_msg((at = strstr(r.body, "\"thread_id\":\"")) != NULL, "no thread: %s",
                      r.body);
        at += strlen("\"thread_id\":\"");
        snprintf(out, size, "%.*s", (int)(strchr(at, '"') - at), at);
    }
    it_free(&r);
    return status;
}

/* The directory of thread on the host (one owner here). */
static void thread_dir(const char *thread, char *out, size_t size)
{
    char pattern[400];
    glob_t g;
    snprintf(pattern, sizeof(pattern), "%s/ws/demo/*/%s", it.dir, thread);
    ck_assert_msg(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1, "no directory %s", pattern);
    snprintf(out, size, "%s", g.gl_pathv[0]);
    globfree(&g);
}

static void set_old(const char *path)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 2 * 3600;
    tv[1] = tv[0];
    ck_assert_msg(lutimes(path, tv) == 0, "could not age %s", path);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Polls (10 s) until path is gone. */
static int gone_soon(const char *path)
{
    long long deadline = it_now_ms() + 10000;
    while (exists(path) && it_now_ms() < deadline)
        usleep(100 * 1000);
    return !exists(path);
}

START_TEST(idle_workspaces_removed)
{
    char old[64], fresh[64], old_dir[600], fresh_dir[600], held_dir[700], owner_dir[600];
    char outside[600], path[900], cmd[8192];
    int lock_fd;
    start();
    create_key("coder", "", "x-api-key: ", invoke_key, sizeof(invoke_key));
    ck_assert_int_eq(invoke_in(NULL, old, sizeof(old)), 200);
    ck_assert_int_eq(invoke_in(NULL, fresh, sizeof(fresh)), 200);
    thread_dir(old, old_dir, sizeof(old_dir));
    thread_dir(fresh, fresh_dir, sizeof(fresh_dir));
    snprintf(owner_dir, sizeof(owner_dir), "%.*s", (int)(strrchr(old_dir, '/') - old_dir),
             old_dir);

    /* outside the base: a directory that links point to */
    snprintf(outside, sizeof(outside), "%s/outside", it.dir);
    snprintf(cmd, sizeof(cmd),
             "set -e; mkdir -p %s/inner; echo keep > %s/keep.txt; echo keep > %s/inner/k; "
             "ln -s %s %s/main/escape; ln -s %s %s/linked-thread; "
             "mkdir %s/held-thread; touch %s/held-thread/.cb-lock; "
             /* httpd's children could remove all of it if they went there */
             "if [ $(id -u) = 0 ]; then chown -hR www-data:www-data %s %s; fi",
             outside, outside, outside, outside, old_dir, outside, owner_dir, owner_dir,
             owner_dir, outside, owner_dir);
    ck_assert_msg(system(cmd) == 0, "could not lay out the traps");
    snprintf(held_dir, sizeof(held_dir), "%s/held-thread", owner_dir);
    snprintf(path, sizeof(path), "%s/.cb-lock", held_dir);
    lock_fd = open(path, O_RDONLY);
    ck_assert_msg(lock_fd >= 0 && flock(lock_fd, LOCK_SH) == 0, "could not hold %s", path);
    snprintf(path, sizeof(path), "%s/linked-thread", owner_dir);
    set_old(path);
    set_old(held_dir);
    set_old(old_dir);

    ck_assert_msg(gone_soon(old_dir), "the idle thread %s stayed", old_dir);
    ck_assert_msg(exists(fresh_dir), "the fresh thread was removed");
    ck_assert_msg(exists(held_dir), "a thread held by a run was removed");
    ck_assert_msg(exists(path), "a link beside the threads was removed");
    snprintf(path, sizeof(path), "%s/keep.txt", outside);
    ck_assert_msg(exists(path), "a file outside the base was removed through a link");
    snprintf(path, sizeof(path), "%s/inner/k", outside);
    ck_assert_msg(exists(path), "a file outside the base was removed through a link");

    /* released, the held thread goes too */
    close(lock_fd);
    ck_assert_msg(gone_soon(held_dir), "the released idle thread stayed");

    /* the removed thread is unknown now; the fresh one continues */
    ck_assert_int_eq(invoke_in(old, NULL, 0), 404);
    ck_assert_int_eq(invoke_in(fresh, NULL, 0), 200);
    snprintf(path, sizeof(path), "%s/main/note", fresh_dir);
    ck_assert_msg(exists(path), "the fresh thread's workspace is not there");
    it_podman_stop();
    it_teardown();
}
END_TEST

Suite *containers_live_suite(void)
{
    Suite *s = suite_create("containers_live");
    TCase *tc = tcase_create("podman");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, live_state_in_redis);
    tcase_add_test(tc, idle_workspaces_removed);
    suite_add_tcase(s, tc);
    return s;
}
