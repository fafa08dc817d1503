/*
 * it_database.c: CloudBaseDatabase in a real apache2. /health reports the
 * database next to Redis: SQLite (a file the children create), and a real
 * PostgreSQL that is stopped (503, reachable false) and started again (200
 * once the breaker lets a probe through). configtest names a bad line.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "postgres.h"

static srv_pg pg;

static void start_with(const char *database_line)
{
    char site[4096];
    it_setup();
    snprintf(site, sizeof(site), "%sCloudBaseDatabase %s\n", it_default_site(),
             database_line);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static long health(it_response *r)
{
    it_request("GET", "/health", NULL, NULL, r);
    return r->status;
}

/* Polls /health until it answers `status`; 1 when it did within ms. */
static int health_becomes(long status, int ms, it_response *r)
{
    for (int waited = 0; waited <= ms; waited += 100) {
        if (health(r) == status)
            return 1;
        it_free(r);
        usleep(100 * 1000);
    }
    return 0;
}

START_TEST(health_reports_sqlite)
{
    it_response r;
    char path[128], line[512];
    snprintf(path, sizeof(path), "/tmp/cb-it-db-%d.db", (int)getpid());
    snprintf(line, sizeof(line), "sqlite3:%s timeout=1s", path);
    start_with(line);
    ck_assert_int_eq(health(&r), 200);
    ck_assert_msg(strstr(r.body, "\"database\":{\"configured\":true,\"driver\":\"sqlite3\","
                                 "\"reachable\":true}"), "%s", r.body);
    it_free(&r);
    it_teardown();
    ck_assert_int_eq(remove(path), 0);   /* the workers made it */
    snprintf(line, sizeof(line), "%s-wal", path);
    remove(line);
    snprintf(line, sizeof(line), "%s-shm", path);
    remove(line);
}
END_TEST

START_TEST(health_follows_postgres)
{
    it_response r;
    char line[512];
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    start_with(srv_pg_database_line(&pg, "timeout=1s connect_timeout=1s", line, sizeof(line)));
    ck_assert_int_eq(health(&r), 200);
    ck_assert_msg(strstr(r.body, "\"driver\":\"pgsql\",\"reachable\":true"), "%s", r.body);
    it_free(&r);

    srv_pg_stop(&pg);
    ck_assert_msg(health_becomes(503, 10000, &r), "still healthy with PostgreSQL stopped");
    ck_assert_msg(strstr(r.body, "\"reachable\":false"), "%s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"degraded\""));
    it_free(&r);

    ck_assert_int_eq(srv_pg_start(&pg), 0);
    /* The breaker's window is capped at 1 s: slack for a loaded machine. */
    ck_assert_msg(health_becomes(200, 10000, &r), "not healthy after PostgreSQL came back");
    it_free(&r);
    it_teardown();
    srv_pg_destroy(&pg);
}
END_TEST

START_TEST(configtest_names_bad_database)
{
    char site[4096], output[8192];
    it_setup();
    snprintf(site, sizeof(site), "%sCloudBaseDatabase oracle:scott\n", it_default_site());
    ck_assert_int_ne(it_configtest(it_write_config("test.conf", "event", site), output,
                                   sizeof(output)), 0);
    ck_assert_msg(strstr(output, "CloudBaseDatabase: unknown driver 'oracle'"), "%s", output);
    snprintf(site, sizeof(site), "%sCloudBaseDatabase sqlite3:relative.db\n", it_default_site());
    ck_assert_int_ne(it_configtest(it_write_config("test.conf", "event", site), output,
                                   sizeof(output)), 0);
    ck_assert_msg(strstr(output, "absolute file path"), "%s", output);
    it_teardown();
}
END_TEST

Suite *database_suite(void)
{
    Suite *s = suite_create("database");
    TCase *tc = tcase_create("health");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, health_reports_sqlite);
    tcase_add_test(tc, health_follows_postgres);
    tcase_add_test(tc, configtest_names_bad_database);
    suite_add_tcase(s, tc);
    return s;
}
