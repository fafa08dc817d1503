/*
 * it_lifecycle.c: httpd's life cycle with the module: graceful and full
 * restarts succeed, replace every child process (the answers come from new
 * ones), reload plugins and keep serving with no crash; background tasks
 * run on mod_watchdog; the prefork MPM works as well as event.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

static void start_event(void)
{
    it_start_gateway("event");
}

static void start_prefork(void)
{
    it_start_gateway("prefork");
}

/* httpd's processes: the parent (from the pid file) and its children. */
typedef struct generation {
    pid_t parent;
    pid_t children[128];
    int count;
} generation;

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* The parent of pid, from /proc/PID/stat, or 0. */
static pid_t parent_of(pid_t pid)
{
    char path[64], stat[512], *close_paren;
    int ppid = 0;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    if (fgets(stat, sizeof(stat), f) && (close_paren = strrchr(stat, ')')) &&
        sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
        ppid = 0;
    fclose(f);
    return (pid_t)ppid;
}

static void snapshot(generation *g)
{
    char *text = it_read_file("httpd.pid");
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    memset(g, 0, sizeof(*g));
    g->parent = (pid_t)atoi(text);
    free(text);
    ck_assert_ptr_nonnull(proc);
    while ((entry = readdir(proc)) && g->count < 128) {
        pid_t pid = (pid_t)atoi(entry->d_name);
        if (pid > 0 && g->parent > 0 && parent_of(pid) == g->parent)
            g->children[g->count++] = pid;
    }
    closedir(proc);
}

static int in_generation(const generation *g, pid_t pid)
{
    for (int i = 0; i < g->count; i++)
        if (g->children[i] == pid)
            return 1;
    return 0;
}

/* The children of `before` still alive. */
static int survivors(const generation *before)
{
    int alive = 0;
    for (int i = 0; i < before->count; i++)
        if (parent_of(before->children[i]) == before->parent)
            alive++;
    return alive;
}

/* The pid of the process that answered the echo route. */
static pid_t serving_pid(void)
{
    it_response r;
    json_t *body;
    pid_t pid;
    it_request("GET", "/v1/test/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    body = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(body);
    pid = (pid_t)json_integer_value(json_object_get(body, "pid"));
    json_decref(body);
    it_free(&r);
    return pid;
}

static void expect_serving(void)
{
    it_response r;
    generation now;
    pid_t pid;
    it_request("GET", "/v1/test/items/7", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"id\":\"7\""));
    /* The plugin's child_init ran in the process that answered. */
    ck_assert_ptr_nonnull(strstr(r.body, "\"childInitRan\":true"));
    it_free(&r);
    /* ... and that process is a child of the running parent. */
    pid = serving_pid();
    snapshot(&now);
    ck_assert_msg(parent_of(pid) == now.parent, "answered by %d, not a child of httpd %d",
                  (int)pid, (int)now.parent);
    it_request("GET", "/v1/test/proxy/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    it_request("GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
}

static void expect_no_crash(void)
{
    char *log = it_error_log();
    ck_assert_msg(strstr(log, "Segmentation fault") == NULL && strstr(log, "exit signal") == NULL
                  && strstr(log, "AddressSanitizer") == NULL, "crash in error log:\n%s", log);
    free(log);
}

static int task_ticks(void)
{
    char path[400], line[128];
    int n = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/task.log", it.dir);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        n++;
    fclose(f);
    return n;
}

/* apache2 -k ACTION must succeed; then, polling to a deadline, every child
 * of the old generation must be gone and the answers must come from new
 * children of the same parent, so that an old process answering the
 * readiness check cannot pass for a restart. */
static void reload(const char *action)
{
    generation before, after;
    double deadline;
    pid_t pid;
    int rc;
    snapshot(&before);
    ck_assert_int_gt(before.parent, 0);
    ck_assert_int_gt(before.count, 0);
    rc = it_httpd_signal(it_gateway_conf(), action);
    ck_assert_msg(rc == 0, "apache2 -k %s exited with %d", action, rc);
    deadline = now_ms() + 15000;
    while (survivors(&before) > 0 && now_ms() < deadline)
        usleep(50 * 1000);
    ck_assert_msg(survivors(&before) == 0, "%d old children still alive 15 s after -k %s",
                  survivors(&before), action);
    ck_assert(it_httpd_ready(10000));
    pid = serving_pid();
    snapshot(&after);
    ck_assert_msg(after.parent == before.parent && kill(after.parent, 0) == 0,
                  "parent changed from %d to %d", (int)before.parent, (int)after.parent);
    ck_assert_msg(!in_generation(&before, pid) && parent_of(pid) == after.parent,
                  "after -k %s the answer came from %d, not a new child", action, (int)pid);
}

START_TEST(graceful_restart)
{
    expect_serving();
    for (int i = 0; i < 3; i++) {
        reload("graceful");
        expect_serving();
    }
    expect_no_crash();
}
END_TEST

/* Redis clients connected now, from `redis-cli info clients`. */
static int redis_clients(void)
{
    char cmd[128], line[256];
    int clients = -1;
    FILE *p;
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d info clients", it.redis_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p))
        if (sscanf(line, "connected_clients:%d", &clients) == 1)
            break;
    pclose(p);
    return clients;
}

START_TEST(graceful_reloads_plugins_and_releases_connections)
{
    it_response r;
    char site[4096];
    int baseline;
    for (int i = 0; i < 20; i++) {
        it_request("GET", "/health", NULL, NULL, &r);
        it_free(&r);
    }
    baseline = redis_clients();
    ck_assert_int_ge(baseline, 1);
    /* A changed plugin option takes effect after a graceful restart. */
    snprintf(site, sizeof(site), "%s", it_default_site());
    memcpy(strstr(site, "hello from the gateway"), "HELLO FROM THE GATEWAY", 22);
    it_write_config("httpd.conf", "event", site);
    for (int round = 0; round < 3; round++) {
        reload("graceful");
        for (int i = 0; i < 20; i++) {
            it_request("GET", "/health", NULL, NULL, &r);
            ck_assert_int_eq(r.status, 200);
            it_free(&r);
        }
    }
    it_request("GET", "/v1/test/echo", NULL, NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "HELLO FROM THE GATEWAY"));
    it_free(&r);
    /* Old generations' connections were closed, not leaked. */
    ck_assert_int_le(redis_clients(), baseline + 4);
    expect_no_crash();
}
END_TEST

START_TEST(full_restart)
{
    expect_serving();
    for (int i = 0; i < 3; i++) {
        reload("restart");
        expect_serving();
    }
    expect_no_crash();
}
END_TEST

START_TEST(background_task_runs)
{
    int before;
    for (int i = 0; i < 40 && task_ticks() < 3; i++)
        usleep(100 * 1000);
    ck_assert_int_ge(task_ticks(), 3);
    reload("graceful");
    before = task_ticks();
    for (int i = 0; i < 100 && task_ticks() <= before; i++)
        usleep(100 * 1000);
    ck_assert_int_gt(task_ticks(), before);
    expect_no_crash();
}
END_TEST

START_TEST(prefork_serves)
{
    it_response r;
    expect_serving();
    it_request("GET", "/v1/test/proxy/sse", NULL, NULL, &r);
    ck_assert_int_ge(r.chunks, 3);
    it_free(&r);
    reload("graceful");
    expect_serving();
    expect_no_crash();
}
END_TEST

Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *event = tcase_create("event");
    TCase *prefork = tcase_create("prefork");
    tcase_add_checked_fixture(event, start_event, it_teardown);
    tcase_set_timeout(event, 90);
    tcase_add_test(event, graceful_restart);
    tcase_add_test(event, full_restart);
    tcase_add_test(event, graceful_reloads_plugins_and_releases_connections);
    tcase_add_test(event, background_task_runs);
    tcase_add_checked_fixture(prefork, start_prefork, it_teardown);
    tcase_set_timeout(prefork, 90);
    tcase_add_test(prefork, prefork_serves);
    suite_add_tcase(s, event);
    suite_add_tcase(s, prefork);
    return s;
}
