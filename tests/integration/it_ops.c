/*
 * it_ops.c: what an operator relies on, against a real apache2 and
 * redis-server: `cloudbase-user --help`, the one start-up notice line in
 * the error log (version, environment, plugins; not repeated by httpd's
 * double configuration pass), and /health's warnings when Redis would lose
 * the gateway's data (no AOF, an evicting maxmemory-policy), asked of Redis
 * at most once a minute per process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

/* Two worker processes: each asks Redis's INFO once per minute. */
#define PROCESSES 2

static const char *user_cli(void)
{
    const char *cli = getenv("CB_USER_CLI");
    ck_assert_msg(cli != NULL, "CB_USER_CLI is not set (scripts/test.sh sets it)");
    return cli;
}

/* Runs a shell command; returns its exit status, its output in out. */
static int run(const char *cmd, char *out, size_t out_size)
{
    FILE *p = popen(cmd, "r");
    size_t used = 0;
    int status;
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    while (used + 1 < out_size) {
        size_t n = fread(out + used, 1, out_size - used - 1, p);
        if (!n)
            break;
        used += n;
    }
    out[used] = '\0';
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(user_cli_help_exits_zero)
{
    char cmd[600], out[4096];
    snprintf(cmd, sizeof(cmd), "'%s' --help 2>/dev/null", user_cli());
    ck_assert_int_eq(run(cmd, out, sizeof(out)), 0);
    ck_assert_msg(strncmp(out, "usage: cloudbase-user", 21) == 0, "stdout: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "--redis URL"));
    /* A usage error still fails, with the usage on stderr only. */
    snprintf(cmd, sizeof(cmd), "'%s' --bogus 2>/dev/null", user_cli());
    ck_assert_int_eq(run(cmd, out, sizeof(out)), 2);
    ck_assert_str_eq(out, "");
}
END_TEST

/* Lines of the error log containing text. */
static int log_lines_with(const char *text)
{
    char *log = it_error_log(), *state;
    int n = 0;
    for (char *line = strtok_r(log, "\n", &state); line; line = strtok_r(NULL, "\n", &state))
        n += strstr(line, text) != NULL;
    free(log);
    return n;
}

START_TEST(one_startup_notice)
{
    char *log;
    it_start_gateway("event");
    ck_assert_int_eq(log_lines_with(" started; environment demo (plugins testplug"), 1);
    ck_assert_int_eq(log_lines_with("mod_cloudbase " CB_EXPECTED_VERSION " started"), 1);
    log = it_error_log();
    ck_assert_msg(strstr(log, ":notice] ") != NULL && strstr(strstr(log, ":notice] "), "started"),
                  "%s", log);
    free(log);
    /* A graceful restart reads the configuration once more: one more line. */
    it_httpd_signal(it_gateway_conf_path(), "graceful");
    for (int i = 0; i < 100 && log_lines_with(" started; environment demo") < 2; i++)
        usleep(50 * 1000);
    ck_assert_int_eq(log_lines_with(" started; environment demo"), 2);
}
END_TEST

static void redis_cli(const char *args)
{
    char cmd[512], out[1024];
    snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %d %s 2>&1", it.redis_port, args);
    ck_assert_msg(run(cmd, out, sizeof(out)) == 0 && strncmp(out, "OK", 2) == 0,
                  "redis-cli %s: %s", args, out);
}

/* Starts the gateway after setting Redis's configuration. */
static void start_with_redis(const char *const *config_sets)
{
    char site[4096];
    it_setup();
    for (int i = 0; config_sets[i]; i++)
        redis_cli(config_sets[i]);
    snprintf(site, sizeof(site),
             "StartServers %d\nServerLimit %d\nThreadsPerChild 8\nMaxRequestWorkers %d\n%s",
             PROCESSES, PROCESSES, 8 * PROCESSES, it_default_site());
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* GET /health: 200 with status ok; returns redis.warnings (new reference). */
static json_t *health_warnings(void)
{
    it_response r;
    json_t *body, *warnings;
    it_request("GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    body = json_loads(r.body, 0, NULL);
    ck_assert_msg(body != NULL, "%s", r.body);
    ck_assert_str_eq(json_string_value(json_object_get(body, "status")), "ok");
    warnings = json_object_get(json_object_get(body, "redis"), "warnings");
    ck_assert_msg(json_is_array(warnings), "no redis.warnings array: %s", r.body);
    json_incref(warnings);
    json_decref(body);
    it_free(&r);
    return warnings;
}

static int any_warning_mentions(const json_t *warnings, const char *text)
{
    for (size_t i = 0; i < json_array_size(warnings); i++)
        if (strstr(json_string_value(json_array_get(warnings, i)), text))
            return 1;
    return 0;
}

START_TEST(health_warns_without_persistence)
{
    static const char *const sets[] = {"CONFIG SET appendonly no", "CONFIG SET save ''", NULL};
    json_t *w;
    long before, after;
    start_with_redis(sets);
    w = health_warnings();
    ck_assert_int_eq(json_array_size(w), 1);
    ck_assert(any_warning_mentions(w, "appendonly"));
    json_decref(w);
    /* Cached: 40 more /health requests ask INFO at most once per process. */
    before = it_redis_calls("info");
    for (int i = 0; i < 40; i++)
        json_decref(health_warnings());
    after = it_redis_calls("info");
    ck_assert_msg(after - before <= PROCESSES + 1, "INFO ran %ld times for 40 /health requests",
                  after - before);
}
END_TEST

START_TEST(health_quiet_with_aof_and_noeviction)
{
    static const char *const sets[] = {"CONFIG SET appendonly yes",
                                       "CONFIG SET maxmemory-policy noeviction", NULL};
    json_t *w;
    start_with_redis(sets);
    for (int i = 0; i < 2 * PROCESSES + 2; i++) {
        w = health_warnings();
        ck_assert_int_eq(json_array_size(w), 0);
        json_decref(w);
    }
}
END_TEST

START_TEST(health_warns_about_an_evicting_policy)
{
    static const char *const sets[] = {"CONFIG SET appendonly yes",
                                       "CONFIG SET maxmemory-policy allkeys-lru", NULL};
    json_t *w;
    start_with_redis(sets);
    w = health_warnings();
    ck_assert_int_eq(json_array_size(w), 1);
    ck_assert(any_warning_mentions(w, "maxmemory-policy is allkeys-lru"));
    json_decref(w);
}
END_TEST

Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("cli");
    tcase_add_test(tc, user_cli_help_exits_zero);
    suite_add_tcase(s, tc);
    tc = tcase_create("startup");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, one_startup_notice);
    suite_add_tcase(s, tc);
    tc = tcase_create("durability");
    tcase_add_checked_fixture(tc, NULL, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, health_warns_without_persistence);
    tcase_add_test(tc, health_quiet_with_aof_and_noeviction);
    tcase_add_test(tc, health_warns_about_an_evicting_policy);
    suite_add_tcase(s, tc);
    return s;
}
