/*
 * it_model.c: the model plugin in a real apache2 with testplug's fake
 * identities (Bearer test-user-NAME, test-anonymous, test-admin), on
 * SQLite and on a real PostgreSQL (tests/common/postgres.c): the official
 * @cloudbase/js-sdk (tests/sdk/model-sdk-test.js) runs every op, the
 * errors with their originError shape, injection attempts, the 1000-deep
 * filter and the 100k $in, then bob's writes touch only his rows, alice's
 * rows are unchanged and an anonymous write is refused; curl checks the
 * GET form of list, DELETE .../{id}/delete, the PRIVATE preset, non-JSON
 * bodies, a body over max_body, the wrong method, an unknown model and
 * envType, each error as {code, message, requestId} with its status;
 * PostgreSQL stopped (503, nothing written) and started again; and
 * configtest errors that name the fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "postgres.h"

static const char *database_line;   /* NULL: SQLite in the test directory */

static const char *post_schema =
    "{\"fields\": {\"title\": {\"type\": \"string\", \"required\": true, \"maxLength\": 50},"
    " \"views\": {\"type\": \"number\", \"index\": true}, \"published\": {\"type\": \"boolean\"},"
    " \"tags\": {\"type\": \"array\"}}}\n";

static void start(void)
{
    static char site[8192];
    char db[512];
    it_setup();
    it_write_file("post.json", post_schema);
    it_write_file("top.sql", "SELECT title, views FROM {{table:post}}\n"
                             "WHERE views >= {{min}} AND title <> {{skip}} ORDER BY views DESC\n");
    if (database_line)
        snprintf(db, sizeof(db), "%s", database_line);
    else
        snprintf(db, sizeof(db), "sqlite3:%s/model.db", it.dir);
    snprintf(site, sizeof(site),
             "%s"
             "CloudBaseDatabase %s\n"
             "<CloudBasePlugin model>\n"
             "  model post schema=file:%s/post.json\n"
             "  model diary schema=file:%s/post.json permission=PRIVATE\n"
             "  sql_template top_posts file:%s/top.sql auth=user\n"
             "  max_body 2m\n"
             "</CloudBasePlugin>\n",
             it_default_site(), db, it.dir, it.dir, it.dir);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void run_sdk(const char *role)
{
    const char *sdk_dir = getenv("CB_SDK_DIR");
    char cmd[1024], line[1024], *all = calloc(1, 65536), last[512] = "";
    FILE *p;
    int status;
    ck_assert_msg(sdk_dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    snprintf(cmd, sizeof(cmd), "cd '%s' && timeout 180 node model-sdk-test.js 127.0.0.1:%d demo %s 2>&1",
             sdk_dir, it.http_port, role);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        /* only what failed, so the message stays within Check's limit */
        if (strncmp(line, "ok - ", 5) != 0 && strlen(all) + strlen(line) < 3000)
            strcat(all, line);
        snprintf(last, sizeof(last), "%s", line);
    }
    status = pclose(p);
    ck_assert_msg(status == 0 && strstr(last, "model-sdk: ") && !strstr(all, "not ok"),
                  "the SDK run (%s) failed:\n%.3000s", role, all);
    free(all);
}

static void call(const char *method, const char *path, const char *user, const char *body,
                 it_response *r)
{
    char auth[128];
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    if (user) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer test-%s", user);
        headers[1] = auth;
    }
    it_request(method, path, headers, body, r);
}

/* An error answer: status, {code, message, requestId} and nothing else. */
static void expect_error(const it_response *r, long status, const char *code)
{
    char want[128];
    ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status, r->body);
    snprintf(want, sizeof(want), "{\"code\":\"%s\",\"message\":\"", code);
    ck_assert_msg(strncmp(r->body, want, strlen(want)) == 0 && strstr(r->body, "\"requestId\":\""),
                  "%s", r->body);
    ck_assert_msg(strstr(it_header(r, "Content-Type"), "application/json"), "not JSON");
}

/* The value of "id":"..." in an answer (static). */
static const char *id_of(const char *body)
{
    static char id[64];
    const char *at = strstr(body, "\"id\":\"");
    ck_assert_msg(at != NULL, "%s", body);
    snprintf(id, sizeof(id), "%.32s", at + 6);
    return id;
}

static void curl_checks(void)
{
    it_response r;
    char path[256], *big;
    const char *id;
    call("POST", "/v1/model/prod/post/create", "user-alice", "{\"data\":{\"title\":\"c1\"}}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "{\"data\":{\"id\":\""), "%s", r.body);
    id = id_of(r.body);
    it_free(&r);
    /* the GET form of list */
    /* the GET form of list: the newest record first, one per page, the
     * SDK runs' 6 records and c1 in total */
    call("GET", "/v1/model/prod/post/list?pageSize=1&pageNumber=1&getCount=true", NULL, NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"total\":7") &&
                  strstr(r.body, "\"title\":\"c1\""), "%s", r.body);
    ck_assert_msg(strstr(strstr(r.body, "\"_id\"") + 1, "\"_id\"") == NULL, "%s", r.body);
    it_free(&r);
    call("GET", "/v1/model/prod/post/list?pageSize=1&pageNumber=2", NULL, NULL, &r);
    ck_assert_msg(r.status == 200 && !strstr(r.body, "\"c1\"") && !strstr(r.body, "total"),
                  "%s", r.body);
    it_free(&r);
    call("GET", "/v1/model/prod/post/list?pageSize=201", NULL, NULL, &r);
    expect_error(&r, 400, "INVALID_PARAM");
    it_free(&r);
    /* DELETE .../{id}/delete: not bob's to delete, then alice's */
    snprintf(path, sizeof(path), "/v1/model/prod/post/%s/delete", id);
    call("DELETE", path, "user-bob", NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "{\"data\":{\"count\":0}"), "%s", r.body);
    it_free(&r);
    call("DELETE", path, "user-alice", NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "{\"data\":{\"count\":1}"), "%s", r.body);
    it_free(&r);
    /* PRIVATE: bob does not see alice's diary; nobody signed in is 401 */
    call("POST", "/v1/model/prod/diary/create", "user-alice", "{\"data\":{\"title\":\"d\"}}", &r);
    ck_assert_int_eq(r.status, 200);
    it_free(&r);
    call("POST", "/v1/model/prod/diary/list", "user-bob", "{\"getCount\":true}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"total\":0"), "%s", r.body);
    it_free(&r);
    call("POST", "/v1/model/prod/diary/list", "user-alice", "{\"getCount\":true}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"total\":1"), "%s", r.body);
    it_free(&r);
    call("POST", "/v1/model/prod/diary/list", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    /* writes need a sign-in */
    call("POST", "/v1/model/prod/post/create", NULL, "{\"data\":{\"title\":\"x\"}}", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    /* bad input, each a clear error */
    call("POST", "/v1/model/prod/post/list", "user-alice", "not json", &r);
    expect_error(&r, 400, "INVALID_REQUEST");
    it_free(&r);
    call("POST", "/v1/model/prod/post/list", "user-alice", "{\"pageSize\":1e999}", &r);
    expect_error(&r, 400, "INVALID_REQUEST");
    it_free(&r);
    call("POST", "/v1/model/prod/post/list", "user-alice",
         "{\"filter\":{\"where\":{\"views\":{\"$gt\":1.8e308}}}}", &r);
    ck_assert_msg(r.status == 200 || r.status == 400, "%ld %s", r.status, r.body);
    it_free(&r);
    call("POST", "/v1/model/prod/post/update", "user-alice", "{\"filter\":{\"where\":{}}}", &r);
    expect_error(&r, 405, "METHOD_NOT_ALLOWED");
    it_free(&r);
    call("POST", "/v1/model/prod/nosuch/list", "user-alice", "{}", &r);
    expect_error(&r, 404, "RESOURCE_NOT_FOUND");
    it_free(&r);
    call("POST", "/v1/model/test/post/list", "user-alice", "{}", &r);
    expect_error(&r, 404, "RESOURCE_NOT_FOUND");
    it_free(&r);
    call("POST", "/v1/model/prod/post/count", "user-alice", "{}", &r);
    expect_error(&r, 404, "RESOURCE_NOT_FOUND");
    it_free(&r);
    call("PUT", "/v1/model/prod/post/update", "user-alice", "{\"data\":{\"title\":\"x\"}}", &r);
    expect_error(&r, 400, "INVALID_PARAM");
    it_free(&r);
    /* runSQLTemplate: the SDK's answer shape, and errors in both shapes */
    call("POST", "/v1/sql/prod/top_posts/run", "user-alice",
         "{\"parameter\":[{\"key\":\"min\",\"type\":\"NUMBER\",\"value\":\"0\"},"
         "{\"key\":\"skip\",\"type\":\"STRING\",\"value\":\"x\"}]}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "{\"Response\":{\"Data\":{\"executeResultList\":[{"),
                  "%s", r.body);
    it_free(&r);
    call("POST", "/v1/sql/prod/top_posts/run", "user-alice",
         "{\"parameter\":[{\"key\":\"min\",\"type\":\"NUMBER\",\"value\":\"1 OR 1=1\"}]}", &r);
    ck_assert_msg(r.status == 400 && strstr(r.body, "\"code\":\"INVALID_PARAM\"") &&
                  strstr(r.body, "\"Error\":{\"Code\":\"INVALID_PARAM\""), "%s", r.body);
    it_free(&r);
    call("POST", "/v1/sql/prod/top_posts/run", NULL, "{}", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    call("POST", "/v1/sql/prod/nosuch/run", "user-alice", "{}", &r);
    ck_assert_int_eq(r.status, 404);
    it_free(&r);
    big = malloc(3 * 1024 * 1024);
    memset(big, ' ', 3 * 1024 * 1024 - 3);
    memcpy(big, "{}", 2);
    big[3 * 1024 * 1024 - 3] = '\0';
    call("POST", "/v1/model/prod/post/list", "user-alice", big, &r);
    expect_error(&r, 413, "PAYLOAD_TOO_LARGE");
    it_free(&r);
    free(big);
}

static void every_op(void)
{
    start();
    run_sdk("alice");
    run_sdk("bob");
    run_sdk("verify");
    run_sdk("anonymous");
    curl_checks();
    it_teardown();
}

START_TEST(sdk_on_sqlite)
{
    database_line = NULL;
    every_op();
}
END_TEST

START_TEST(sdk_on_postgresql)
{
    srv_pg pg;
    char line[512];
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    database_line = srv_pg_database_line(&pg, "timeout=5s", line, sizeof(line));
    every_op();
    database_line = NULL;
    srv_pg_destroy(&pg);
}
END_TEST

/* PostgreSQL stopped: reads and writes answer 503 SERVICE_UNAVAILABLE and
 * write nothing; started again, writes and reads work and the refused
 * write is not there. */
START_TEST(database_down_then_back)
{
    srv_pg pg;
    char line[512];
    it_response r;
    int answered = 0;
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    database_line = srv_pg_database_line(&pg, "timeout=1s connect_timeout=1s", line,
                                         sizeof(line));
    start();
    call("POST", "/v1/model/prod/post/create", "user-alice", "{\"data\":{\"title\":\"kept\"}}",
         &r);
    ck_assert_msg(r.status == 200, "%s", r.body);
    it_free(&r);
    srv_pg_stop(&pg);
    call("POST", "/v1/model/prod/post/list", "user-alice", "{}", &r);
    expect_error(&r, 503, "SERVICE_UNAVAILABLE");
    it_free(&r);
    call("POST", "/v1/model/prod/post/create", "user-alice", "{\"data\":{\"title\":\"lost\"}}",
         &r);
    expect_error(&r, 503, "SERVICE_UNAVAILABLE");
    it_free(&r);
    ck_assert_int_eq(srv_pg_start(&pg), 0);
    /* the breaker lets a probe through within its retry interval (the test
     * server runs with synchronous_commit=off, so "kept" may not have
     * survived the immediate stop: only what was refused is checked) */
    for (int i = 0; i < 100 && !answered; i++) {
        call("POST", "/v1/model/prod/post/create", "user-alice",
             "{\"data\":{\"title\":\"after\"}}", &r);
        answered = r.status == 200;
        it_free(&r);
        if (!answered)
            usleep(100 * 1000);
    }
    ck_assert_msg(answered, "the model did not answer after PostgreSQL came back");
    /* each worker process has its own breaker: poll until one reads */
    answered = 0;
    for (int i = 0; i < 100 && !answered; i++) {
        call("POST", "/v1/model/prod/post/list", "user-alice", "{\"getCount\":true}", &r);
        if ((answered = r.status == 200))
            ck_assert_msg(strstr(r.body, "\"after\"") && !strstr(r.body, "\"lost\""), "%s",
                          r.body);
        else
            expect_error(&r, 503, "SERVICE_UNAVAILABLE");
        it_free(&r);
        if (!answered)
            usleep(100 * 1000);
    }
    ck_assert(answered);
    it_teardown();
    database_line = NULL;
    srv_pg_destroy(&pg);
}
END_TEST

static char output[8192];

static void expect_configtest_error(const char *plugin_lines, const char *needle)
{
    char site[8192];
    snprintf(site, sizeof(site), "%sCloudBaseDatabase sqlite3:%s/c.db\n<CloudBasePlugin model>\n%s"
             "</CloudBasePlugin>\n", it_default_site(), it.dir, plugin_lines);
    ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", site), output,
                                   sizeof(output)), 0);
    ck_assert_msg(strstr(output, needle), "expected '%s' in:\n%s", needle, output);
}

START_TEST(configtest_names_the_fix)
{
    char lines[2048];
    it_setup();
    it_write_file("post.json", post_schema);
    it_write_file("bad.json", "{\"fields\": {\"owner\": {\"type\": \"string\"}}}");
    it_write_file("typo.json", "{\"fields\": {\"a\": {\"type\": \"text\"}}}");
    expect_configtest_error("  model post\n", "schema=file:/absolute/path.json is missing");
    snprintf(lines, sizeof(lines), "  model post schema=file:%s/bad.json\n", it.dir);
    expect_configtest_error(lines, "field 'owner' is a system field");
    snprintf(lines, sizeof(lines), "  model post schema=file:%s/typo.json\n", it.dir);
    expect_configtest_error(lines, "type must be string, number, boolean");
    snprintf(lines, sizeof(lines), "  model post schema=file:%s/post.json permission=OPEN\n",
             it.dir);
    expect_configtest_error(lines, "permission=OPEN is unknown");
    snprintf(lines, sizeof(lines), "  model post schema=file:%s/nosuch.json\n", it.dir);
    expect_configtest_error(lines, "cannot read file");
    snprintf(lines, sizeof(lines), "  model post schema=file:%s/post.json\n"
             "  model post schema=file:%s/post.json\n", it.dir, it.dir);
    expect_configtest_error(lines, "model post is declared twice");
    it_write_file("q.sql", "SELECT * FROM {{table:nosuch}} WHERE a = ?");
    snprintf(lines, sizeof(lines), "  sql_template q file:%s/q.sql\n", it.dir);
    expect_configtest_error(lines, "no model nosuch is declared");
    it_teardown();
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("sdk");
    TCase *cfg = tcase_create("config");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sdk_on_sqlite);
    tcase_add_test(tc, sdk_on_postgresql);
    tcase_add_test(tc, database_down_then_back);
    suite_add_tcase(s, tc);
    tcase_set_timeout(cfg, 120);
    tcase_add_test(cfg, configtest_names_the_fix);
    suite_add_tcase(s, cfg);
    return s;
}
