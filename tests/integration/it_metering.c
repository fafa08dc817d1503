/*
 * it_metering.c: the response record that after_response hooks read, under
 * a real apache2 with mod_proxy: the test plugin writes each record to a
 * file, and the test compares it with what the client sent and got, for a
 * handler route and for a proxy route to a slow upstream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

static void start(void)
{
    char site[4096];
    const char *base, *end;
    it_setup(); /* picks the ports and directory the default site names */
    base = it_default_site();
    end = strstr(base, "</CloudBasePlugin>");
    ck_assert_ptr_nonnull(end);
    snprintf(site, sizeof(site), "%.*s  record_file %s/records.log\n%s", (int)(end - base), base,
             it.dir, end);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* The record of a request id: after_response runs once the answer went
 * out, so poll for it (up to 5 s). A new reference. */
static json_t *record_for(const char *request_id)
{
    for (int tries = 0; tries < 500; tries++) {
        char *text = it_read_file("records.log");
        char *line = text, *next;
        json_t *found = NULL;
        for (; line && *line && !found; line = next) {
            json_t *v;
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            v = json_loads(line, 0, NULL);
            ck_assert_msg(v != NULL, "not JSON: %s", line);
            if (strcmp(json_string_value(json_object_get(v, "requestId")), request_id) == 0)
                found = v;
            else
                json_decref(v);
        }
        free(text);
        if (found)
            return found;
        usleep(10 * 1000);
    }
    ck_abort_msg("no record for %s", request_id);
    return NULL;
}

static long long jint(json_t *v, const char *key)
{
    return (long long)json_integer_value(json_object_get(v, key));
}

static const char *jstr(json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

START_TEST(handler_route_record)
{
    static const char *const headers[] = {"Authorization: Bearer test-user-ada",
                                          "X-Request-Id: metering-handler-1",
                                          "Content-Type: text/plain", NULL};
    it_response r;
    json_t *rec;
    it_request("POST", "/v1/test/body", headers, "0123456789ab", &r);
    ck_assert_int_eq(r.status, 200);
    rec = record_for("metering-handler-1");
    ck_assert_int_eq(jint(rec, "status"), 200);
    ck_assert_int_eq(jint(rec, "bytesIn"), 12);
    ck_assert_int_eq(jint(rec, "bytesOut"), (long long)r.body_len);
    ck_assert_str_eq(jstr(rec, "route"), "/v1/test/body");
    ck_assert_str_eq(jstr(rec, "method"), "POST");
    ck_assert_str_eq(jstr(rec, "kind"), "user");
    ck_assert_str_eq(jstr(rec, "uid"), "ada");
    ck_assert(!json_is_true(json_object_get(rec, "proxied")));
    ck_assert_int_eq(jint(rec, "upstreamUs"), -1);
    ck_assert_int_gt(jint(rec, "durationUs"), 0);
    /* The reservation the policy hook stored reached after_response. */
    ck_assert_str_eq(jstr(rec, "reservation"), "reserved-metering-handler-1");
    json_decref(rec);
    it_free(&r);
}
END_TEST

START_TEST(proxy_route_record)
{
    static const char *const echo_headers[] = {"Authorization: Bearer test-admin",
                                               "X-Request-Id: metering-proxy-1", NULL};
    static const char *const slow_headers[] = {"Authorization: Bearer test-anonymous",
                                               "X-Request-Id: metering-proxy-2", NULL};
    static const char body[] = "{\"payload\":\"0123456789\"}";
    it_response r;
    json_t *rec;
    /* A body streamed to the upstream, and the echo's answer. */
    it_request("POST", "/v1/test/proxy/echo", echo_headers, body, &r);
    ck_assert_int_eq(r.status, 200);
    rec = record_for("metering-proxy-1");
    ck_assert_int_eq(jint(rec, "status"), 200);
    ck_assert_int_eq(jint(rec, "bytesIn"), (long long)strlen(body));
    ck_assert_int_eq(jint(rec, "bytesOut"), (long long)r.body_len);
    ck_assert_int_gt(jint(rec, "bytesOut"), 0);
    ck_assert_str_eq(jstr(rec, "route"), "/v1/test/proxy/{rest*}");
    ck_assert_str_eq(jstr(rec, "kind"), "admin");
    ck_assert(json_is_true(json_object_get(rec, "proxied")));
    ck_assert_int_ge(jint(rec, "upstreamUs"), 0);
    json_decref(rec);
    it_free(&r);
    /* An upstream that takes 400 ms before its headers: the record says so. */
    it_request("GET", "/v1/test/proxy/slow?ms=400", slow_headers, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    rec = record_for("metering-proxy-2");
    ck_assert_int_eq(jint(rec, "bytesIn"), 0);
    ck_assert_int_eq(jint(rec, "bytesOut"), (long long)strlen("{\"slow\":true}"));
    ck_assert_str_eq(jstr(rec, "kind"), "anonymous");
    ck_assert_msg(jint(rec, "upstreamUs") >= 400000, "upstream time %lld us",
                  jint(rec, "upstreamUs"));
    ck_assert_int_ge(jint(rec, "durationUs"), jint(rec, "upstreamUs"));
    json_decref(rec);
    it_free(&r);
}
END_TEST

START_TEST(plugin_error_code_over_http)
{
    it_response r;
    it_request("GET", "/v1/test/oauth-quota", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 402);
    ck_assert_msg(strstr(r.body, "\"error\":\"quota_exceeded\""), "%s", r.body);
    it_free(&r);
}
END_TEST

Suite *metering_suite(void)
{
    Suite *s = suite_create("metering");
    TCase *tc = tcase_create("record");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handler_route_record);
    tcase_add_test(tc, proxy_route_record);
    tcase_add_test(tc, plugin_error_code_over_http);
    suite_add_tcase(s, tc);
    return s;
}
