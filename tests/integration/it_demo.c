/*
 * it_demo.c: the demo as scripts/demo.sh runs it: its httpd configuration
 * (scripts/demo-config.sh, written by the same function), its front page
 * (conf/demo/), the seeded user demo, the functions add-two and helloworld
 * on the pinned @cloudbase/functions-framework and the sample AI server
 * (scripts/demo-sample-ai.py). Then:
 *  - seed 000's quick start snippets 1, 2, 3, 4, 6 and 7, as written with only
 *    the host changed (tests/sdk/quickstart-snippets.mjs);
 *  - seed 000's storage snippet (4) likewise, into the demo's local bucket;
 *  - README.md's curl upload (tests/integration/readme-curl.sh);
 *  - the official SDK's storage round trip (tests/sdk/storage-sdk-test.js)
 *    with the demo's real sign-ins, a PRIVATE object refused to another
 *    user;
 *  - the front page in headless Chromium (tests/sdk/demo-page-test.js):
 *    sign in, call add-two, 102 and a request id on the page; upload,
 *    download and delete a file through its storage panel;
 *  - storage from a page in Chromium (tests/sdk/storage-browser-test.js),
 *    same-origin, from an allowed second origin (another port) with the
 *    PUT's preflight, and from a refused origin;
 *  - the wallet: add-two-paid at 1 a call takes the balance down and
 *    answers 402 once it is spent, add-two stays free;
 *  - a slowloris attack on loopback: 450 connections that send their
 *    headers a byte a second and never finish. Other clients must still be
 *    answered within a few seconds while the 450 are open, and
 *    mod_reqtimeout must close the slow connections (header=10 s there)
 *    well before a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "../common/servers.h"

#define SLOW_CONNECTIONS 450
/* A normal request must be answered within this while they are open. */
#define ANSWER_WITHIN_MS 3000
/* mod_reqtimeout closes them after 10 s (they send far below MinRate). */
#define CLOSED_WITHIN_MS 25000

static double clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* The source tree: found from the test upstream's path (CB_TEST_UPSTREAM is
 * TOP/tests/integration/upstream.py). */
static const char *source_top(void)
{
    static char top[600];
    const char *upstream = getenv("CB_TEST_UPSTREAM");
    char copy[512];
    ck_assert_msg(upstream != NULL, "CB_TEST_UPSTREAM is not set (scripts/test.sh sets it)");
    snprintf(copy, sizeof(copy), "%s", upstream);
    snprintf(top, sizeof(top), "%s/../..", dirname(copy));
    return top;
}

/* scripts/demo-config.sh, unless CB_DEMO_CONFIG names another. */
static const char *demo_config_script(void)
{
    static char path[700];
    const char *explicit = getenv("CB_DEMO_CONFIG");
    if (explicit)
        return explicit;
    snprintf(path, sizeof(path), "%s/scripts/demo-config.sh", source_top());
    ck_assert_msg(access(path, R_OK) == 0, "cannot read %s", path);
    return path;
}

static const char *sdk_dir(void)
{
    const char *dir = getenv("CB_SDK_DIR");
    ck_assert_msg(dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    return dir;
}

static void run_or_fail(const char *cmd)
{
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "failed (%d): %s", rc, cmd);
}

static void write_secret(const char *name, const char *value)
{
    char path[400];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", it.dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(value, f);
    fclose(f);
    chmod(path, 0600);
}

/* Appends the second origin (see start_demo_two_origins) to CONF. */
static void add_second_origin(const char *conf)
{
    FILE *f = fopen(conf, "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "\n# it_demo.c: a second origin, and an access log of the preflights\n"
            "Listen 127.0.0.1:%d\n"
            "CloudBaseSecureDomains http://127.0.0.1:%d\n"
            "CustomLog %s/access.log \"%%m %%U %%{Origin}i %%>s\"\n",
            it.site_port, it.site_port, it.dir);
    fclose(f);
}

/* What scripts/demo.sh starts, on this test's ports and directory; with
 * SECOND_ORIGIN, add_second_origin's lines too. */
static void start_demo_with(int second_origin)
{
    char cmd[3072], conf[400], output[4096];
    const char *module = getenv("CB_MODULE"), *user_cli = getenv("CB_USER_CLI");
    int function_port, cloudrun_port, ai_port;
    it_setup();
    ck_assert_msg(user_cli != NULL, "CB_USER_CLI is not set (scripts/test.sh sets it)");
    write_secret("jwt.key", "it-demo-jwt-secret-0123456789abcdefghijklmnop\n");
    write_secret("admin.key", "it-demo-admin-key-0123456789abcdef\n");
    write_secret("ai.key", "sk-it-demo-ai-key-0123456789\n");
    write_secret("storage.key", "it-demo-storage-signing-key-0123456789abcdef\n");
    /* The front page, as demo.sh copies it. */
    snprintf(cmd, sizeof(cmd), "cp '%s'/conf/demo/*.html '%s'/conf/demo/*.js '%s'/conf/demo/*.css '%s/docroot/'",
             source_top(), source_top(), source_top(), it.dir);
    run_or_fail(cmd);
    function_port = srv_free_port();
    cloudrun_port = srv_free_port();
    ai_port = srv_free_port();
    snprintf(cmd, sizeof(cmd), "python3 '%s/scripts/demo-sample-ai.py' %d '%s/ai.key'", source_top(),
             ai_port, it.dir);
    it_spawn_helper(it.dir, cmd, "sample-ai.log");
    for (int i = 0; i < 2; i++) {
        char dir[800];
        snprintf(dir, sizeof(dir), "%s/conf/demo/functions/%s", source_top(),
                 i == 0 ? "add-two" : "helloworld");
        snprintf(cmd, sizeof(cmd), "'%s/node_modules/.bin/tcb-ff' --port=%d --logDirname='%s/tcb-logs'",
                 sdk_dir(), i == 0 ? function_port : cloudrun_port, it.dir);
        it_spawn_helper(dir, cmd, i == 0 ? "add-two.log" : "helloworld.log");
    }
    /* The demo's SQLite database, written by the workers (www-data); the
     * demo user goes into it first, as demo.sh does. */
    snprintf(conf, sizeof(conf), "%s/data", it.dir);
    ck_assert_int_eq(mkdir(conf, 0777), 0);
    chmod(conf, 0777);
    /* The local buckets' directories, as demo.sh makes them. */
    for (int i = 0; i < 2; i++) {
        snprintf(conf, sizeof(conf), "%s/data/%s", it.dir, i ? "private" : "files");
        ck_assert_int_eq(mkdir(conf, 0777), 0);
        chmod(conf, 0777);
    }
    snprintf(cmd, sizeof(cmd),
             "echo demo-password | '%s' --database 'sqlite3:%s/data/cloudbase.db' --env demo "
             "create demo >/dev/null && chmod 0666 '%s/data/cloudbase.db'",
             user_cli, it.dir, it.dir);
    run_or_fail(cmd);
    snprintf(conf, sizeof(conf), "%s/httpd.conf", it.dir);
    snprintf(cmd, sizeof(cmd),
             "bash -c '. \"$0\" && demo_httpd_conf \"$@\"' '%s' '%s' %d %d %d %d %d '%s' '%s' "
             "'%s/node_modules' >'%s'",
             demo_config_script(), it.dir, it.http_port, it.redis_port, function_port,
             cloudrun_port, ai_port, module ? module : ".libs/mod_cloudbase.so", it_plugin_dir(),
             sdk_dir(), conf);
    run_or_fail(cmd);
    if (second_origin)
        add_second_origin(conf);
    /* No "WARNING: ... decreasing to" (a worker setting httpd cut down). */
    ck_assert_int_eq(it_configtest(conf, output, sizeof(output)), 0);
    ck_assert_msg(strstr(output, "WARNING") == NULL, "apache2 -t: %s", output);
    ck_assert_msg(srv_wait_port(ai_port, 10000), "the sample AI server did not start");
    ck_assert_msg(srv_wait_port(function_port, 30000), "tcb-ff (add-two) did not start");
    ck_assert_msg(srv_wait_port(cloudrun_port, 30000), "tcb-ff (helloworld) did not start");
    if (!it_httpd_start(conf)) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("the demo configuration did not start:\n%s", log);
    }
}

static void start_demo(void)
{
    start_demo_with(0);
}

/* The demo, also listening on a second loopback port (site_port) whose
 * origin http://127.0.0.1:site_port is a secure domain; http://localhost:
 * site_port is the same server under an origin that is not. An access log
 * shows the browser's preflights. */
static void start_demo_two_origins(void)
{
    start_demo_with(1);
}

/* Runs COMMAND (a node script of tests/sdk and its arguments, maybe with
 * environment assignments before it) in tests/sdk; fails the test, with
 * its output, unless it exits 0 after at least one "ok - " line. */
static void run_in_sdk_dir(const char *command)
{
    char cmd[4096], line[1024];
    size_t used = 0;
    static char output[65536];
    FILE *p;
    int rc;
    snprintf(cmd, sizeof(cmd), "cd '%s' && %s 2>&1", sdk_dir(), command);
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
    ck_assert_msg(strstr(output, "ok - ") != NULL, "%s ran no check:\n%s", command, output);
    ck_assert_msg(rc == 0 && strstr(output, "not ok") == NULL, "%s failed (%d):\n%s", command,
                  rc, output);
}

/* Runs a node script of tests/sdk against the demo (its origin the first
 * argument). */
static void run_sdk_script(const char *script, const char *args)
{
    char command[2048];
    snprintf(command, sizeof(command), "timeout 150 node %s http://127.0.0.1:%d %s", script,
             it.http_port, args);
    run_in_sdk_dir(command);
}

/* The sample rows, as demo.sh writes them after the start. */
static void seed_models(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s/scripts/demo-seed-models.sh' %d", source_top(),
             it.http_port);
    run_or_fail(cmd);
}

START_TEST(quickstart_snippets_run_as_written)
{
    seed_models();
    run_sdk_script("quickstart-snippets.mjs", "");
}
END_TEST

/* CB_DEMO_SCREENSHOT names a PNG to write (docs/images/demo.png is made so). */
START_TEST(front_page_signs_in_and_calls_add_two)
{
    char args[700];
    const char *shot = getenv("CB_DEMO_SCREENSHOT");
    snprintf(args, sizeof(args), "'%s'", shot ? shot : "");
    if (!shot)
        snprintf(args, sizeof(args), "'%s/demo.png'", it.dir);
    run_sdk_script("demo-page-test.js", args);
}
END_TEST

/* README.md's curl upload, run as written against the demo
 * (tests/integration/readme-curl.sh compares each output with the README). */
START_TEST(readme_curl_upload_runs_as_written)
{
    char cmd[1600], line[512], output[4096];
    size_t used = 0;
    FILE *p;
    int rc;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/integration/readme-curl.sh' %d '%s/README.md' 2>&1",
             source_top(), it.http_port, source_top());
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    output[0] = '\0';
    while (fgets(line, sizeof(line), p) && used < sizeof(output) - 1)
        used += (size_t)snprintf(output + used, sizeof(output) - used, "%s", line);
    rc = pclose(p);
    fputs(output, stderr);
    ck_assert_msg(rc == 0, "README's curl upload failed (%d):\n%s", rc, output);
    ck_assert_msg(strstr(output, "Hello from curl\n"), "%s", output);
}
END_TEST

/* An access token of the demo's auth plugin (malloc'd): signs in with
 * BODY at PATH. */
static char *demo_access_token(const char *path, const char *body)
{
    const char *headers[] = {"x-device-id: it-demo-sdk", NULL};
    it_response r;
    json_t *answer;
    char *token;
    it_request("POST", path, headers, body, &r);
    ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body);
    answer = json_loads(r.body, 0, NULL);
    ck_assert_msg(answer && json_is_string(json_object_get(answer, "access_token")), "%s", r.body);
    token = strdup(json_string_value(json_object_get(answer, "access_token")));
    json_decref(answer);
    it_free(&r);
    return token;
}

/* The official SDK's storage round trip (tests/sdk/storage-sdk-test.js) on
 * the demo's buckets with real sign-ins: the user demo uploads, reads,
 * copies, deletes and posts a form; an anonymous user is refused demo's
 * object in the PRIVATE bucket. */
START_TEST(official_sdk_storage_round_trip)
{
    char command[4096];
    char *owner = demo_access_token("/auth/v1/signin",
                                    "{\"username\":\"demo\",\"password\":\"demo-password\"}");
    char *other = demo_access_token("/auth/v1/signin/anonymously", NULL);
    for (int run = 0; run < 2; run++) {
        snprintf(command, sizeof(command),
                 "CB_TOKEN_%s='%s' timeout 150 node storage-sdk-test.js 127.0.0.1:%d demo files "
                 "private %s", run ? "BOB" : "ALICE", run ? other : owner, it.http_port,
                 run ? "bob" : "alice");
        run_in_sdk_dir(command);
    }
    free(owner);
    free(other);
}
END_TEST

/* Storage from a page in Chromium: same-origin, from the allowed second
 * origin (with the PUT's preflight) and from a refused one. */
START_TEST(browser_uploads_and_downloads_across_origins)
{
    char args[900];
    snprintf(args, sizeof(args), "http://127.0.0.1:%d http://localhost:%d '%s'",
             it.site_port, it.site_port, it.dir);
    run_sdk_script("storage-browser-test.js", args);
}
END_TEST

/* The demo loads the plugins it shows, and no test plugin; the uptime
 * plugin serves its two monitors and the status page. */
START_TEST(demo_loads_no_test_plugin)
{
    it_response r;
    it_request("GET", "/health", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"auth\"") && strstr(r.body, "\"functions\"") &&
                      strstr(r.body, "\"storage\"") && strstr(r.body, "\"model\""),
                  "%s", r.body);
    ck_assert_msg(strstr(r.body, "testplug") == NULL, "%s", r.body);
    ck_assert_msg(strstr(r.body, "\"uptime\""), "%s", r.body);
    it_free(&r);
    /* the uptime plugin's two monitors and their status page */
    it_request("GET", "/uptime/status.json", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"name\":\"gateway\"") && strstr(r.body, "\"name\":\"flapping\""),
                  "%s", r.body);
    it_free(&r);
    it_request("GET", "/status", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "<h1>Demo status</h1>"));
    it_free(&r);
}
END_TEST

/* The balance of the demo's wallet, read with the admin key. */
static long long demo_balance(void)
{
    const char *headers[] = {"X-API-Key: it-demo-admin-key-0123456789abcdef", NULL};
    it_response r;
    json_t *v;
    long long b;
    it_request("GET", "/api/workspaces/demo/wallet", headers, NULL, &r);
    ck_assert_msg(r.status == 200, "wallet: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    b = json_integer_value(json_object_get(json_object_get(v, "data"), "balance"));
    json_decref(v);
    it_free(&r);
    return b;
}

/* The paid function: topped up with 3 as demo.sh does (with 5), each call
 * takes 1 off the balance, the fourth answers 402; add-two itself stays
 * free. */
START_TEST(demo_meters_add_two_paid)
{
    const char *admin[] = {"X-API-Key: it-demo-admin-key-0123456789abcdef",
                           "Idempotency-Key: demo-credit", NULL};
    const char *json_type[] = {"Content-Type: application/json", NULL};
    it_response r;
    char auth[2048];
    const char *headers[3];
    json_t *v;
    it_request("POST", "/api/workspaces/demo/wallet/topup", admin, "{\"amount\": 3}", &r);
    ck_assert_msg(r.status == 201, "top-up: %ld %s", r.status, r.body);
    it_free(&r);
    it_request("POST", "/auth/v1/signin/anonymously", (const char *const[]){
                   "x-device-id: it-demo", NULL}, NULL, &r);
    ck_assert_msg(r.status == 200, "sign-in: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
             json_string_value(json_object_get(v, "access_token")));
    json_decref(v);
    it_free(&r);
    headers[0] = auth;
    headers[1] = json_type[0];
    headers[2] = NULL;
    for (int i = 1; i <= 4; i++) {
        it_request("POST", "/v1/functions/add-two-paid", headers, "{\"a\":1,\"b\":101}", &r);
        if (i <= 3) {
            ck_assert_msg(r.status == 200 && strstr(r.body, "102"), "call %d: %ld %s", i,
                          r.status, r.body);
            ck_assert_int_eq(demo_balance(), 3 - i);
        } else {
            ck_assert_msg(r.status == 402 && strstr(r.body, "WALLET_INSUFFICIENT_BALANCE"),
                          "call %d: %ld %s", i, r.status, r.body);
        }
        it_free(&r);
    }
    it_request("POST", "/v1/functions/add-two", headers, "{\"a\":1,\"b\":101}", &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "102"), "add-two: %ld %s", r.status, r.body);
    it_free(&r);
    ck_assert_int_eq(demo_balance(), 0);
}
END_TEST

/* The data model post with its sample rows (scripts/demo-seed-models.sh,
 * run twice: the second run adds nothing); anyone reads, nobody signed in
 * writes. */
START_TEST(demo_serves_post_model)
{
    it_response r;
    seed_models();
    seed_models();
    it_request("GET", "/v1/model/prod/post/list?getCount=true", NULL, NULL, &r);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"total\":3") &&
                  strstr(r.body, "\"title\":\"Welcome to mod_cloudbase\"") &&
                  strstr(r.body, "\"owner\":\"") && strstr(r.body, "\"requestId\":\""),
                  "%s", r.body);
    it_free(&r);
    it_request("POST", "/v1/model/prod/post/create", NULL, "{\"data\":{\"title\":\"x\"}}", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
}
END_TEST

/* Opens a connection and sends the start of a request, never its end. */
static int open_slow_connection(void)
{
    static const char start[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    struct sockaddr_in addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)it.http_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ck_assert_int_eq(send(fd, start, sizeof(start) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(start) - 1);
    return fd;
}

/* Sends one more header byte on every open connection and closes those the
 * server closed; returns how many are still open. */
static int trickle(int *fds)
{
    int open_count = 0;
    for (int i = 0; i < SLOW_CONNECTIONS; i++) {
        char byte;
        ssize_t n;
        if (fds[i] < 0)
            continue;
        n = recv(fds[i], &byte, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0 ||
            send(fds[i], "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            /* Closed, reset, or answered (a 408): the server gave it up. */
            close(fds[i]);
            fds[i] = -1;
            continue;
        }
        open_count++;
    }
    return open_count;
}

START_TEST(demo_answers_during_slowloris)
{
    int fds[SLOW_CONNECTIONS], still_open;
    double opened_at, deadline;
    for (int i = 0; i < SLOW_CONNECTIONS; i++)
        fds[i] = open_slow_connection();
    opened_at = clock_ms();
    /* Let httpd accept them all and hand them to workers. */
    for (int i = 0; i < 2; i++) {
        usleep(500 * 1000);
        trickle(fds);
    }
    for (int round = 0; round < 3; round++) {
        it_response r;
        it_request("GET", "/health", NULL, NULL, &r);
        still_open = trickle(fds);
        fprintf(stderr, "demo: /health answered %ld in %.0f ms with %d slow connections open\n",
                r.status, r.total_ms, still_open);
        ck_assert_msg(r.status == 200 && r.total_ms < ANSWER_WITHIN_MS,
                      "/health: status %ld after %.0f ms with %d slow connections open: %s",
                      r.status, r.total_ms, still_open, r.body);
        ck_assert_msg(strstr(r.body, "\"driver\":\"sqlite3\",\"reachable\":true"), "%s", r.body);
        /* The attack was really on: nearly all slow connections still open. */
        ck_assert_int_ge(still_open, SLOW_CONNECTIONS - 10);
        it_free(&r);
        it_request("GET", "/index.html", NULL, NULL, &r);
        ck_assert_msg(r.status == 200 && r.total_ms < ANSWER_WITHIN_MS,
                      "/index.html: status %ld after %.0f ms", r.status, r.total_ms);
        it_free(&r);
        usleep(500 * 1000);
    }
    /* mod_reqtimeout gives every slow connection up. */
    deadline = opened_at + CLOSED_WITHIN_MS;
    do {
        usleep(1000 * 1000);
        still_open = trickle(fds);
    } while (still_open > 0 && clock_ms() < deadline);
    fprintf(stderr, "demo: slow connections closed by the server after %.0f ms (%d left)\n",
            clock_ms() - opened_at, still_open);
    for (int i = 0; i < SLOW_CONNECTIONS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    ck_assert_msg(still_open == 0, "%d slow connections still open after %d ms", still_open,
                  CLOSED_WITHIN_MS);
}
END_TEST

Suite *demo_suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("slowloris");
    tcase_add_checked_fixture(tc, start_demo, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, demo_answers_during_slowloris);
    suite_add_tcase(s, tc);
    tc = tcase_create("quickstart");
    tcase_add_checked_fixture(tc, start_demo, it_teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, demo_loads_no_test_plugin);
    tcase_add_test(tc, demo_serves_post_model);
    tcase_add_test(tc, quickstart_snippets_run_as_written);
    tcase_add_test(tc, readme_curl_upload_runs_as_written);
    tcase_add_test(tc, official_sdk_storage_round_trip);
    tcase_add_test(tc, front_page_signs_in_and_calls_add_two);
    suite_add_tcase(s, tc);
    tc = tcase_create("wallet");
    tcase_add_checked_fixture(tc, start_demo, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, demo_meters_add_two_paid);
    suite_add_tcase(s, tc);
    tc = tcase_create("storage_browser");
    tcase_add_checked_fixture(tc, start_demo_two_origins, it_teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, browser_uploads_and_downloads_across_origins);
    suite_add_tcase(s, tc);
    return s;
}
