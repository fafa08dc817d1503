/*
 * it_model_browser.c: the model plugin driven by the official SDK's browser
 * build in headless Chromium (issue 12 point 7). A real apache2 with the
 * auth plugin and the model plugin on SQLite; a user made with
 * cloudbase-user signs in with a password on a page of the gateway's own
 * origin, which lists, creates, updates and deletes `post` records through
 * app.models, and sees refused writes (an ADMINWRITE model, an anonymous
 * sign-in) rejected with the gateway's code (tests/sdk/model-browser-
 * test.js checks each op against the SQLite file). The access log then
 * shows the gateway answered those calls as the page saw them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define USERNAME "browser-alice"
#define PASSWORD "browser password 1"

static const char *sdk_dir(void)
{
    const char *dir = getenv("CB_SDK_DIR");
    ck_assert_msg(dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    return dir;
}

static void start(void)
{
    static char site[8192];
    char cmd[2400];
    const char *cli = getenv("CB_USER_CLI");
    ck_assert_msg(cli != NULL, "CB_USER_CLI is not set (scripts/test.sh sets it)");
    it_setup();
    it_write_file("jwt.key", "it-model-browser-jwt-secret-0123456789abcdefghij\n");
    it_write_file("post.json",
                  "{\"fields\": {\"title\": {\"type\": \"string\", \"required\": true},"
                  " \"views\": {\"type\": \"number\", \"index\": true},"
                  " \"tags\": {\"type\": \"array\"}}}\n");
    it_write_file("notice.json", "{\"fields\": {\"title\": {\"type\": \"string\"}}}\n");
    snprintf(site, sizeof(site),
             "%s"
             "CustomLog %s/access.log \"%%m %%U %%>s\"\n"
             "<CloudBasePlugin auth>\n"
             "  jwt_secret file:%s/jwt.key\n"
             "  scrypt_n 1024\n"
             "</CloudBasePlugin>\n"
             "<CloudBasePlugin model>\n"
             "  model post schema=file:%s/post.json\n"
             "  model notice schema=file:%s/notice.json permission=ADMINWRITE\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, it.dir, it.dir);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
    snprintf(cmd, sizeof(cmd),
             "echo '" PASSWORD "' | '%s' --database '%s' --env demo --scrypt-n 1024 "
             "create " USERNAME " >/dev/null",
             cli, it_database_value());
    ck_assert_msg(system(cmd) == 0, "could not create the user: %s", cmd);
    /* The page and the SDK's files on the gateway's own origin. */
    snprintf(cmd, sizeof(cmd),
             "cp '%s/../../conf/demo/text-encoding.js' '%s/docroot/' && "
             "ln -s '%s/node_modules' '%s/docroot/sdk'",
             sdk_dir(), it.dir, sdk_dir(), it.dir);
    ck_assert_msg(system(cmd) == 0, "could not set up the page: %s", cmd);
}

static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *at = text; (at = strstr(at, line)); at += len)
        if ((at == text || at[-1] == '\n') && (at[len] == '\n' || at[len] == '\0'))
            n++;
    return n;
}

START_TEST(browser_sdk_list_create_update_delete_and_refusals)
{
    char cmd[2400], line[1024], *log;
    static char output[65536];
    size_t used = 0;
    FILE *p;
    int rc;
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 150 node model-browser-test.js http://127.0.0.1:%d '%s' "
             "'%s/site.db' '" USERNAME "' '" PASSWORD "' 2>&1",
             sdk_dir(), it.http_port, it.dir, it.dir);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    output[0] = '\0';
    while (fgets(line, sizeof(line), p)) {
        fputs(line, stderr);
        used += (size_t)snprintf(output + used, sizeof(output) - used, "%s", line);
        if (used >= sizeof(output))
            used = sizeof(output) - 1;
    }
    rc = pclose(p);
    ck_assert_msg(strstr(output, "ok - ") != NULL, "the browser test ran no check:\n%s", output);
    ck_assert_msg(rc == 0 && strstr(output, "not ok") == NULL, "browser test failed (%d):\n%s",
                  rc, output);
    /* At the gateway: the ops the page made, answered as the page saw them. */
    log = it_read_file("access.log");
    ck_assert_msg(count_lines(log, "POST /auth/v1/signin 200") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /v1/model/prod/post/create 200") == 3, "%s", log);
    ck_assert_msg(count_lines(log, "PUT /v1/model/prod/post/update 200") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /v1/model/prod/post/delete 200") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /v1/model/prod/notice/create 403") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "POST /v1/model/prod/post/create 403") == 1, "%s", log);
    ck_assert_msg(count_lines(log, "PUT /v1/model/prod/post/update 403") == 1, "%s", log);
    free(log);
}
END_TEST

Suite *model_browser_suite(void)
{
    Suite *s = suite_create("model_browser");
    TCase *tc = tcase_create("chromium");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, browser_sdk_list_create_update_delete_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
