/*
 * test_functions_parse.c: the functions plugin's pure parsers
 * (plugins/functions/parse.c): function names, X-Qualifier values, safe
 * path tails (literal and percent-encoded dot segments, encoded '/', '\',
 * NUL and control bytes), auth levels, the webfn query flag, service lines
 * for each kind (every setting, bad URLs, unknown settings, AI keys) and
 * HttpRoute lines.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <check.h>

#include "functions.h"

static apr_pool_t *pool;
static const fn_defaults defaults = {CB_AUTH_ANY, 5000, 1048576, 0};

static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

/* A string of len characters: first, then middle repeated, then last. */
static const char *made(char first, char middle, char last, size_t len)
{
    char *s = apr_palloc(pool, len + 1);
    memset(s, middle, len);
    s[0] = first;
    if (len > 1)
        s[len - 1] = last;
    s[len] = '\0';
    return s;
}

START_TEST(names)
{
    static const char *const valid[] = {"ab", "a1", "A9", "hello", "hello-world", "my_fn2",
                                        "a-b", "a_b", "Z--z", "x__1", "a-1-b", NULL};
    static const char *const invalid[] = {"", "a", "Z", "1a", "_a", "-a", "a-", "a_",
                                          "ab-", "ab_", "a.b", "a b", "a/b", "a\tb", "ab\n",
                                          "a%62", "\xc3\xa9t\xc3\xa9", "a\xff", NULL};
    for (int i = 0; valid[i]; i++)
        ck_assert_msg(fn_name_is_valid(valid[i]), "'%s' refused", valid[i]);
    for (int i = 0; invalid[i]; i++)
        ck_assert_msg(!fn_name_is_valid(invalid[i]), "'%s' accepted", invalid[i]);
    ck_assert(!fn_name_is_valid(NULL));
    /* Lengths 2 and 60 are the bounds; 1 and 61 are out. */
    ck_assert(fn_name_is_valid(made('a', 'b', 'c', 2)));
    ck_assert(fn_name_is_valid(made('a', '-', '0', 60)));
    ck_assert(fn_name_is_valid(made('a', '_', 'Z', 59)));
    ck_assert(!fn_name_is_valid(made('a', 'b', 'c', 61)));
    ck_assert(!fn_name_is_valid(made('a', 'b', 'c', 200)));
    ck_assert(!fn_name_is_valid(made('a', 'b', '-', 60)));
    ck_assert(!fn_name_is_valid(made('a', 'b', '_', 60)));
}
END_TEST

START_TEST(qualifiers)
{
    static const char *const valid[] = {"1", "$LATEST", "v1.2.3", "prod_blue-2", "a", "-", ".",
                                        "..", NULL};
    static const char *const invalid[] = {"", "v 1", "v/1", "v1?", "v1#", "v1\n", "v%31",
                                          "v1\\", "v:1", "\xc3\xa9", NULL};
    for (int i = 0; valid[i]; i++)
        ck_assert_msg(fn_qualifier_is_valid(valid[i]), "'%s' refused", valid[i]);
    for (int i = 0; invalid[i]; i++)
        ck_assert_msg(!fn_qualifier_is_valid(invalid[i]), "'%s' accepted", invalid[i]);
    ck_assert(!fn_qualifier_is_valid(NULL));
    ck_assert(fn_qualifier_is_valid(made('v', '1', '$', 64)));
    ck_assert(!fn_qualifier_is_valid(made('v', '1', '$', 65)));
}
END_TEST

START_TEST(safe_paths)
{
    static const char *const safe[] = {
        "", "a", "a/b", "a/b/", "/a", "a//b", "...", "a/.../b", "a..b", ".a", "a.", "..a",
        ".hidden/x", "a%20b", "a%41", "%2e%2e%2e", "%2ea", "a%2e", "a%3Fb", "x/%E2%82%AC",
        "a%2/b" /* '%', '2', '/': not %2F */, "a%7e", "a?b", "a;b", NULL};
    static const char *const unsafe[] = {
        ".", "..", "./a", "../a", "a/.", "a/..", "a/./b", "a/../b", "a/../../etc/passwd",
        "%2e", "%2E", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "a/%2e%2e/b", "a/%2E./b", "a/.%2E",
        "a%2Fb", "a%2fb", "%2F", "a%5cb", "a%5Cb", "a\\b", "\\", "a%00b", "%00", "a%0d%0ab",
        "a%0Ab", "a%0D", "a%1f", "a%7f", "a%7F", "a\rb", "a\nb", "a\tb", "a\x01", "a\x1f",
        "a%", "%", "a%a", "a%2", NULL};
    for (int i = 0; safe[i]; i++)
        ck_assert_msg(fn_path_is_safe(safe[i]), "'%s' refused", safe[i]);
    for (int i = 0; unsafe[i]; i++)
        ck_assert_msg(!fn_path_is_safe(unsafe[i]), "'%s' accepted", unsafe[i]);
    ck_assert(fn_path_is_safe(NULL));
}
END_TEST

START_TEST(auth_levels)
{
    cb_auth_level level = CB_AUTH_ADMIN;
    ck_assert_ptr_null(cb_parse_auth_level("none", 0, &level));
    ck_assert_int_eq(level, CB_AUTH_NONE);
    ck_assert_ptr_null(cb_parse_auth_level("any", 0, &level));
    ck_assert_int_eq(level, CB_AUTH_ANY);
    ck_assert_ptr_null(cb_parse_auth_level("user", 0, &level));
    ck_assert_int_eq(level, CB_AUTH_USER);
    ck_assert_ptr_null(cb_parse_auth_level("admin", 0, &level));
    ck_assert_int_eq(level, CB_AUTH_ADMIN);
    /* on/off only for HTTP access routes. */
    level = CB_AUTH_ADMIN;
    ck_assert_ptr_nonnull(cb_parse_auth_level("off", 0, &level));
    ck_assert_ptr_nonnull(cb_parse_auth_level("on", 0, &level));
    ck_assert_int_eq(level, CB_AUTH_ADMIN);
    ck_assert_ptr_null(cb_parse_auth_level("off", 1, &level));
    ck_assert_int_eq(level, CB_AUTH_NONE);
    ck_assert_ptr_null(cb_parse_auth_level("on", 1, &level));
    ck_assert_int_eq(level, CB_AUTH_ANY);
    ck_assert_ptr_null(cb_parse_auth_level("user", 1, &level));
    ck_assert_int_eq(level, CB_AUTH_USER);
    ck_assert_ptr_nonnull(cb_parse_auth_level("", 1, &level));
    ck_assert_ptr_nonnull(cb_parse_auth_level("Admin", 1, &level));
    ck_assert_ptr_nonnull(cb_parse_auth_level("true", 1, &level));
    ck_assert_ptr_nonnull(cb_parse_auth_level("user ", 0, &level));
    ck_assert_ptr_nonnull(strstr(cb_parse_auth_level("x", 1, &level), "on, off"));
    ck_assert_ptr_null(strstr(cb_parse_auth_level("x", 0, &level), "on, off"));
}
END_TEST

START_TEST(webfn_flag)
{
    static const char *const yes[] = {"webfn=true", "WEBFN=TRUE", "webfn=True", "a=1&webfn=true",
                                      "webfn=true&a=1", "&&webfn=true&&", "x=webfn&webfn=true",
                                      NULL};
    static const char *const no[] = {"", "webfn", "webfn=", "webfn=false", "webfn=1",
                                     "webfn=trueX", "xwebfn=true", "webfn=true ", " webfn=true",
                                     "a=webfn=true", "webfn=tru", "webfn%3Dtrue", "webfn=true;",
                                     NULL};
    for (int i = 0; yes[i]; i++)
        ck_assert_msg(fn_query_has_webfn(yes[i]), "'%s' not seen", yes[i]);
    for (int i = 0; no[i]; i++)
        ck_assert_msg(!fn_query_has_webfn(no[i]), "'%s' taken for webfn=true", no[i]);
    ck_assert(!fn_query_has_webfn(NULL));
}
END_TEST

static fn_service service_ok(fn_kind kind, const char *line)
{
    fn_service s;
    const char *err = fn_parse_service(pool, kind, line, &defaults, &s);
    ck_assert_msg(err == NULL, "'%s' refused: %s", line, err);
    return s;
}

static const char *service_error(fn_kind kind, const char *line)
{
    fn_service s;
    const char *err = fn_parse_service(pool, kind, line, &defaults, &s);
    ck_assert_msg(err != NULL && *err, "'%s' accepted", line);
    return err;
}

START_TEST(service_defaults)
{
    fn_service s = service_ok(FN_FUNCTION, "hello http://127.0.0.1:9000/");
    ck_assert_int_eq(s.kind, FN_FUNCTION);
    ck_assert_str_eq(s.name, "hello");
    ck_assert_str_eq(s.url, "http://127.0.0.1:9000");
    ck_assert_ptr_null(s.qualifier);
    ck_assert_int_eq(s.auth, CB_AUTH_ANY);
    ck_assert_int_eq(s.timeout_ms, 5000);
    ck_assert_int_eq(s.max_body, 1048576);
    ck_assert_int_eq(s.max_concurrency, 0);
    ck_assert_int_eq(s.attachment, 1);
    ck_assert_int_eq(s.websocket, 1);
    ck_assert_ptr_null(s.key);
    /* Trailing slashes go; the path stays. */
    s = service_ok(FN_CLOUDRUN, "web\thttps://run.example.com/base///");
    ck_assert_str_eq(s.url, "https://run.example.com/base");
    s = service_ok(FN_FUNCTION, "  hello   http://[::1]:8080  ");
    ck_assert_str_eq(s.url, "http://[::1]:8080");
}
END_TEST

START_TEST(service_settings)
{
    fn_service s = service_ok(FN_FUNCTION, "hello http://127.0.0.1:9000 auth=user timeout=30s "
                                           "max_body=64k max_concurrency=10 qualifier=$LATEST");
    ck_assert_int_eq(s.auth, CB_AUTH_USER);
    ck_assert_int_eq(s.timeout_ms, 30000);
    ck_assert_int_eq(s.max_body, 65536);
    ck_assert_int_eq(s.max_concurrency, 10);
    ck_assert_str_eq(s.qualifier, "$LATEST");
    s = service_ok(FN_FUNCTION, "hello http://h auth=none timeout=1ms max_concurrency=1000000");
    ck_assert_int_eq(s.auth, CB_AUTH_NONE);
    ck_assert_int_eq(s.timeout_ms, 1);
    ck_assert_int_eq(s.max_concurrency, 1000000);
    s = service_ok(FN_FUNCTION, "hello http://h max_concurrency=0");
    ck_assert_int_eq(s.max_concurrency, 0);
    /* A setting given twice is a mistake, not "the last one wins". */
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h auth=user auth=none"),
                                 "auth= is given twice"));
    s = service_ok(FN_CLOUDRUN, "web http://h attachment=off websocket=no auth=admin");
    ck_assert_int_eq(s.attachment, 0);
    ck_assert_int_eq(s.websocket, 0);
    ck_assert_int_eq(s.auth, CB_AUTH_ADMIN);
    s = service_ok(FN_CLOUDRUN, "web http://h attachment=on websocket=true");
    ck_assert_int_eq(s.attachment, 1);
    ck_assert_int_eq(s.websocket, 1);
}
END_TEST

START_TEST(service_setting_errors)
{
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h timeout=0"),
                                 "positive"));
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h timeout=0ms"),
                                 "positive"));
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h timeout=soon"),
                                 "timeout="));
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h max_body=1x"),
                                 "max_body="));
    service_error(FN_FUNCTION, "hello http://h max_concurrency=-1");
    service_error(FN_FUNCTION, "hello http://h max_concurrency=1000001");
    service_error(FN_FUNCTION, "hello http://h max_concurrency=ten");
    service_error(FN_FUNCTION, "hello http://h auth=on");
    service_error(FN_FUNCTION, "hello http://h auth=everyone");
    service_error(FN_FUNCTION, "hello http://h qualifier=v/1");
    service_error(FN_FUNCTION, "hello http://h qualifier=" "v123456789012345678901234567890"
                               "1234567890123456789012345678901234");
    ck_assert_ptr_nonnull(strstr(service_error(FN_CLOUDRUN, "web http://h attachment=maybe"),
                                 "attachment="));
    /* Settings of another kind are unknown. */
    ck_assert_ptr_nonnull(strstr(service_error(FN_CLOUDRUN, "web http://h qualifier=v1"),
                                 "unknown setting 'qualifier'"));
    service_error(FN_FUNCTION, "hello http://h attachment=off");
    service_error(FN_FUNCTION, "hello http://h websocket=off");
    service_error(FN_FUNCTION, "hello http://h key=abc");
    service_error(FN_CLOUDRUN, "web http://h key=abc");
    service_error(FN_AGENT, "agent1 http://h qualifier=v1");
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h color=blue"),
                                 "unknown setting 'color'"));
    /* Not setting=value pairs. */
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h extra"),
                                 "'extra' is not a setting=value pair"));
    service_error(FN_FUNCTION, "hello http://h =x");
    service_error(FN_FUNCTION, "hello http://h auth=");
}
END_TEST

START_TEST(service_names_and_urls)
{
    service_error(FN_FUNCTION, "");
    service_error(FN_FUNCTION, "   ");
    service_error(FN_FUNCTION, "hello");
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "1hello http://h"), "^[a-zA-Z]"));
    service_error(FN_FUNCTION, "a http://h");
    service_error(FN_FUNCTION, "hello- http://h");
    service_error(FN_CLOUDRUN, "web.app http://h");
    service_error(FN_AI_PROVIDER, "open.ai http://h key=k");
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello ftp://h"), "URL: "));
    service_error(FN_FUNCTION, "hello h:9000");
    service_error(FN_FUNCTION, "hello http://");
    service_error(FN_FUNCTION, "hello http://user:pw@h/");
    service_error(FN_FUNCTION, "hello http://h:0/");
    service_error(FN_FUNCTION, "hello http://h/#frag");
    ck_assert_ptr_nonnull(strstr(service_error(FN_FUNCTION, "hello http://h/?a=1"), "query"));
    service_error(FN_FUNCTION, "hello http://h?");
    /* Agents are named like qualifiers. */
    ck_assert_str_eq(service_ok(FN_AGENT, "agent.v1$ http://h").name, "agent.v1$");
    ck_assert_str_eq(service_ok(FN_AGENT, "1 http://h").name, "1");
    ck_assert_ptr_nonnull(strstr(service_error(FN_AGENT, "agent/1 http://h"), "agent id"));
}
END_TEST

START_TEST(service_ai_keys)
{
    char path[] = "/tmp/cb-fn-key-XXXXXX";
    int fd = mkstemp(path);
    fn_service s;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "sk-from-file\n", 13), 13);
    close(fd);
    ck_assert_ptr_nonnull(strstr(service_error(FN_AI_PROVIDER, "openai https://api.openai.com/v1"),
                                 "key="));
    s = service_ok(FN_AI_PROVIDER, "openai https://api.openai.com/v1/ key=sk-literal");
    ck_assert_str_eq(s.key, "sk-literal");
    ck_assert_str_eq(s.url, "https://api.openai.com/v1");
    s = service_ok(FN_AI_PROVIDER, apr_pstrcat(pool, "openai https://h key=file:", path, NULL));
    ck_assert_str_eq(s.key, "sk-from-file");
    unlink(path);
    service_error(FN_AI_PROVIDER, apr_pstrcat(pool, "openai https://h key=file:", path, NULL));
    setenv("CB_TEST_FN_KEY", "sk-from-env", 1);
    s = service_ok(FN_AI_PROVIDER, "openai https://h key=env:CB_TEST_FN_KEY");
    ck_assert_str_eq(s.key, "sk-from-env");
    unsetenv("CB_TEST_FN_KEY");
    ck_assert_ptr_nonnull(strstr(service_error(FN_AI_PROVIDER, "openai https://h "
                                               "key=env:CB_TEST_FN_KEY"), "key="));
    service_error(FN_AI_PROVIDER, "openai https://h key=");
    /* An agent may have a key, and needs none. */
    ck_assert_ptr_null(service_ok(FN_AGENT, "helper http://h").key);
    ck_assert_str_eq(service_ok(FN_AGENT, "helper http://h key=abc").key, "abc");
    /* An error never shows the secret. */
    ck_assert_ptr_null(strstr(service_error(FN_AI_PROVIDER, "openai ftp://h key=sk-hidden"),
                              "sk-hidden"));
}
END_TEST

static fn_http_route route_ok(const char *line)
{
    fn_http_route r;
    const char *err = fn_parse_http_route(pool, line, &r);
    ck_assert_msg(err == NULL, "'%s' refused: %s", line, err);
    return r;
}

static const char *route_error(const char *line)
{
    fn_http_route r;
    const char *err = fn_parse_http_route(pool, line, &r);
    ck_assert_msg(err != NULL && *err, "'%s' accepted", line);
    return err;
}

START_TEST(http_routes)
{
    fn_http_route r = route_ok("/api/orders function=orders");
    ck_assert_str_eq(r.prefix, "/api/orders");
    ck_assert_int_eq(r.target_kind, FN_TARGET_FUNCTION);
    ck_assert_str_eq(r.target_name, "orders");
    ck_assert_int_eq(r.auth, CB_AUTH_NONE);
    ck_assert_int_eq(r.pass_path, 1);
    ck_assert_ptr_null(r.target);
    r = route_ok("/api/orders/ cloudrun=web auth=on pass_path=off");
    ck_assert_str_eq(r.prefix, "/api/orders");
    ck_assert_int_eq(r.target_kind, FN_TARGET_CLOUDRUN);
    ck_assert_str_eq(r.target_name, "web");
    ck_assert_int_eq(r.auth, CB_AUTH_ANY);
    ck_assert_int_eq(r.pass_path, 0);
    r = route_ok("\t/x\tauth=admin\tfunction=ab\tpass_path=yes");
    ck_assert_str_eq(r.prefix, "/x");
    ck_assert_int_eq(r.auth, CB_AUTH_ADMIN);
    ck_assert_int_eq(r.pass_path, 1);
    ck_assert_int_eq(route_ok("/x function=ab auth=off").auth, CB_AUTH_NONE);
    ck_assert_int_eq(route_ok("/x function=ab auth=user").auth, CB_AUTH_USER);
    ck_assert_str_eq(route_ok("/a.b/c-d_e~ function=ab").prefix, "/a.b/c-d_e~");
}
END_TEST

START_TEST(http_route_errors)
{
    static const char *const bad_paths[] = {
        "/", "//", "///", "api/orders", "/api/{id}", "/api/orders?x=1", "/api#x", "/api%2forders",
        "/api/%2e%2e", "/api\\x", "/api/*", "/api//orders", "/api/../x", "/api/..", "/api/.",
        "/./api", "/api\r", NULL};
    route_error("");
    route_error("   ");
    for (int i = 0; bad_paths[i]; i++)
        ck_assert_ptr_nonnull(strstr(route_error(apr_pstrcat(pool, bad_paths[i], " function=ab",
                                                              NULL)),
                                     "literal absolute prefix"));
    ck_assert_ptr_nonnull(strstr(route_error("/api"), "function=NAME"));
    ck_assert_ptr_nonnull(strstr(route_error("/api auth=on"), "name the target"));
    ck_assert_ptr_nonnull(strstr(route_error("/api function=ab cloudrun=cd"), "one target"));
    route_error("/api function=ab function=cd");
    route_error("/api function=1ab");
    route_error("/api function=a");
    route_error("/api cloudrun=ab-");
    route_error("/api function=");
    route_error("/api function");
    route_error("/api =ab");
    route_error("/api function=ab auth=maybe");
    ck_assert_ptr_nonnull(strstr(route_error("/api function=ab pass_path=sometimes"),
                                 "pass_path="));
    ck_assert_ptr_nonnull(strstr(route_error("/api function=ab timeout=5s"),
                                 "unknown setting 'timeout'"));
    route_error("/api Function=ab");
}
END_TEST

Suite *functions_parse_suite(void)
{
    Suite *s = suite_create("functions_parse");
    TCase *tc = tcase_create("parsers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, names);
    tcase_add_test(tc, qualifiers);
    tcase_add_test(tc, safe_paths);
    tcase_add_test(tc, auth_levels);
    tcase_add_test(tc, webfn_flag);
    tcase_add_test(tc, service_defaults);
    tcase_add_test(tc, service_settings);
    tcase_add_test(tc, service_setting_errors);
    tcase_add_test(tc, service_names_and_urls);
    tcase_add_test(tc, service_ai_keys);
    tcase_add_test(tc, http_routes);
    tcase_add_test(tc, http_route_errors);
    suite_add_tcase(s, tc);
    return s;
}
