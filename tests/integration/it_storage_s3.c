/*
 * it_storage_s3.c: the storage plugin's S3-compatible endpoint in a real
 * apache2 with SQLite metadata: the official @aws-sdk/client-s3 and its
 * presigner (tests/sdk/s3-endpoint-test.js) put, get, head, list (prefix,
 * delimiter, pagination), presign and delete, and are refused with the
 * right S3 error, nothing written, for a wrong key or secret, a tampered,
 * expired or replayed presigned URL, 16 minutes of clock skew and a body
 * not matching x-amz-content-sha256; the same objects are seen by the
 * CloudBase SDK's routes. On PostgreSQL the listing is in byte order, and
 * with the database stopped writes, deletes and listings are 503 while
 * public reads go on. Also: S3 XML errors for unsigned and malformed
 * requests, no endpoint with s3_prefix off, and configtest errors that
 * name the fix.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "harness.h"
#include "postgres.h"

#define ACCESS_KEY "AKIDITS3TEST"

/* The next start's CloudBaseDatabase value (NULL: SQLite in the test
 * directory). */
static const char *database_line;

static const char *s3_site(const char *s3_lines)
{
    static char site[8192];
    char db[512];
    if (database_line)
        snprintf(db, sizeof(db), "%s", database_line);
    else
        snprintf(db, sizeof(db), "sqlite3:%s/storage.db", it.dir);
    snprintf(site, sizeof(site),
             "%s"
             "CloudBaseDatabase %s\n"
             "<CloudBasePlugin storage>\n"
             "  signing_key file:%s/storage.key\n"
             "  bucket files backend=local dir=%s/files default\n"
             "  bucket admin backend=local dir=%s/admin acl=ADMINONLY\n"
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), db, it.dir, it.dir, it.dir, s3_lines);
    return site;
}

static void make_dir(const char *name)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", it.dir, name);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    chmod(path, 0777);
}

static const char *default_keys(void)
{
    static char lines[1024];
    snprintf(lines, sizeof(lines),
             "  s3_key " ACCESS_KEY " secret=file:%s/s3.secret bucket=files\n"
             "  s3_key AKIDITS3ADMIN secret=file:%s/s3admin.secret admin\n",
             it.dir, it.dir);
    return lines;
}

/* Starts httpd with the S3 lines: options (may be NULL), then the two
 * access keys when with_keys. */
static void start(const char *options, int with_keys)
{
    char lines[2048];
    it_setup();
    it_write_file("storage.key", "it-storage-signing-key-0123456789abcdef\n");
    it_write_file("s3.secret", "it-s3-secret-access-key/0123456789+abc\n");
    it_write_file("s3admin.secret", "it-s3-admin-secret-0123456789\n");
    make_dir("files");
    make_dir("admin");
    snprintf(lines, sizeof(lines), "%s%s", options ? options : "",
             with_keys ? default_keys() : "");
    if (!it_httpd_start(it_write_config("httpd.conf", "event", s3_site(lines)))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* Files left in a bucket's temp directory (an upload that did not finish
 * must leave none). */
static int temp_files(const char *bucket)
{
    char path[400];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s/.tmp", it.dir, bucket);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Runs tests/sdk/s3-endpoint-test.js in mode against the running httpd;
 * fails the test with its output unless every check passed. */
static void run_sdk(const char *mode)
{
    const char *sdk_dir = getenv("CB_SDK_DIR");
    char cmd[1024], line[1024], all[32768] = "", last[512] = "";
    FILE *p;
    int status;
    ck_assert_msg(sdk_dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 180 node s3-endpoint-test.js 127.0.0.1:%d /s3 demo files "
             ACCESS_KEY " '%s/s3.secret' %s 2>&1", sdk_dir, it.http_port, it.dir, mode);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        if (strlen(all) + strlen(line) < sizeof(all))
            strcat(all, line);
        snprintf(last, sizeof(last), "%s", line);
    }
    status = pclose(p);
    ck_assert_msg(status == 0 && strstr(last, "s3-endpoint: ") && !strstr(all, "not ok"),
                  "the S3 SDK run (%s) failed:\n%s", mode, all);
}

START_TEST(official_aws_sdk)
{
    start(NULL, 1);
    run_sdk("all");
    ck_assert_int_eq(temp_files("files"), 0);
    it_teardown();
}
END_TEST

/* PostgreSQL as the metadata store: the listing is in byte order there
 * too; stopped: writes, deletes and listings are 503, public reads go on. */
START_TEST(postgres_then_database_down)
{
    static srv_pg pg;
    static char line[512];
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    database_line = srv_pg_database_line(&pg, "timeout=1s connect_timeout=1s", line,
                                         sizeof(line));
    start(NULL, 1);
    run_sdk("db-up");
    srv_pg_stop(&pg);
    run_sdk("db-down");
    ck_assert_int_eq(temp_files("files"), 0);
    it_teardown();
    srv_pg_destroy(&pg);
    database_line = NULL;
}
END_TEST

/* An S3 XML error with code (status checked by the caller). */
static void expect_s3_error(const it_response *r, long status, const char *code)
{
    char want[128];
    const char *type = it_header(r, "Content-Type");
    snprintf(want, sizeof(want), "<Error><Code>%s</Code>", code);
    ck_assert_msg(r->status == status, "%ld (want %ld): %s", r->status, status, r->body);
    ck_assert_msg(r->body && strstr(r->body, want), "want %s in: %s", code, r->body);
    ck_assert_msg(strstr(r->body, "<RequestId>") && strstr(r->body, "<Resource>"), "%s", r->body);
    ck_assert_msg(type && strstr(type, "application/xml"), "Content-Type %s", type);
}

START_TEST(errors_are_s3_xml)
{
    it_response r;
    const char *malformed[] = {"Authorization: AWS4-HMAC-SHA256 Credential=x", NULL};
    const char *foreign[] = {
        "Authorization: AWS4-HMAC-SHA256 Credential=" ACCESS_KEY "/20250101/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature="
        "0000000000000000000000000000000000000000000000000000000000000000",
        "x-amz-date: 20250101T000000Z", NULL};
    start(NULL, 1);
    it_request("GET", "/s3/files/some/key.txt", NULL, NULL, &r);
    expect_s3_error(&r, 403, "AccessDenied");
    it_free(&r);
    it_request("PUT", "/s3/files/some/key.txt", NULL, "body", &r);
    expect_s3_error(&r, 403, "AccessDenied");
    it_free(&r);
    it_request("GET", "/s3/files?list-type=2", malformed, NULL, &r);
    expect_s3_error(&r, 400, "AuthorizationHeaderMalformed");
    it_free(&r);
    /* a well-formed signature from 2025: the clock check refuses it first */
    it_request("DELETE", "/s3/files/some/key.txt", foreign, NULL, &r);
    expect_s3_error(&r, 403, "RequestTimeTooSkewed");
    it_free(&r);
    it_request("GET", "/s3/files/X-Amz-Signature?X-Amz-Signature=zz", NULL, NULL, &r);
    expect_s3_error(&r, 400, "AuthorizationQueryParametersError");
    it_free(&r);
    ck_assert_int_eq(temp_files("files"), 0);
    it_teardown();
}
END_TEST

/* No endpoint without an s3_key, none with s3_prefix off, and one at
 * another prefix. */
static void expect_no_route(const char *path)
{
    it_response r;
    it_request("GET", path, NULL, NULL, &r);
    ck_assert_msg(r.status == 404 && !strstr(r.body, "<Error>"), "%ld %s", r.status, r.body);
    it_free(&r);
}

START_TEST(no_endpoint_without_keys)
{
    start(NULL, 0);
    expect_no_route("/s3/files?list-type=2");
    it_teardown();
}
END_TEST

START_TEST(no_endpoint_when_off)
{
    start("  s3_prefix off\n", 1);
    expect_no_route("/s3/files?list-type=2");
    it_teardown();
}
END_TEST

START_TEST(endpoint_at_another_prefix)
{
    it_response r;
    start("  s3_prefix /objects/v1\n", 1);
    expect_no_route("/s3/files?list-type=2");
    it_request("GET", "/objects/v1/files?list-type=2", NULL, NULL, &r);
    expect_s3_error(&r, 403, "AccessDenied");
    it_free(&r);
    it_teardown();
}
END_TEST

static char output[8192];

static void expect_configtest_error(const char *s3_lines, const char *needle)
{
    ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", s3_site(s3_lines)),
                                   output, sizeof(output)), 0);
    ck_assert_msg(strstr(output, needle), "expected '%s' in:\n%s", needle, output);
}

START_TEST(configtest_names_the_fix)
{
    char lines[1024];
    it_setup();
    it_write_file("storage.key", "it-storage-signing-key-0123456789abcdef\n");
    it_write_file("s3.secret", "a-secret-that-must-not-be-logged\n");
    make_dir("files");
    make_dir("admin");
    expect_configtest_error("  s3_key AKIDLITERAL secret=plain-text-secret\n",
                            "not file:PATH or env:NAME");
    ck_assert(!strstr(output, "plain-text-secret"));
    snprintf(lines, sizeof(lines), "  s3_key AKIDX secret=file:%s/s3.secret bucket=nosuch\n",
             it.dir);
    expect_configtest_error(lines, "bucket=nosuch is not a configured bucket");
    snprintf(lines, sizeof(lines), "  s3_key AKIDX root secret=file:%s/s3.secret\n", it.dir);
    expect_configtest_error(lines, "did you mean 'admin'?");
    snprintf(lines, sizeof(lines), "  s3_key AKIDX secret=file:%s/none.secret\n", it.dir);
    expect_configtest_error(lines, "s3_key at ");
    snprintf(lines, sizeof(lines), "  s3_prefix s3/\n  s3_key AKIDX secret=file:%s/s3.secret\n",
             it.dir);
    expect_configtest_error(lines, "s3_prefix must start with '/'");
    snprintf(lines, sizeof(lines), "  s3_key AKIDX secret=file:%s/s3.secret\n"
             "  s3_key AKIDX secret=file:%s/s3.secret\n", it.dir, it.dir);
    expect_configtest_error(lines, "access key AKIDX is configured twice");
    ck_assert(!strstr(output, "a-secret-that-must-not-be-logged"));
    it_teardown();
}
END_TEST

Suite *storage_s3_suite(void)
{
    Suite *s = suite_create("storage_s3");
    TCase *tc = tcase_create("s3_endpoint");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, official_aws_sdk);
    tcase_add_test(tc, postgres_then_database_down);
    tcase_add_test(tc, errors_are_s3_xml);
    tcase_add_test(tc, no_endpoint_without_keys);
    tcase_add_test(tc, no_endpoint_when_off);
    tcase_add_test(tc, endpoint_at_another_prefix);
    tcase_add_test(tc, configtest_names_the_fix);
    suite_add_tcase(s, tc);
    return s;
}
