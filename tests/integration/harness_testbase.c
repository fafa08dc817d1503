/*
 * harness_testbase.c: helpers for tests of the TestBase-style API: keys,
 * checked JSON calls and the error shape (see harness_testbase.h).
 */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "harness_testbase.h"

void it_testbase_key(const char *admin_key, const char *name, char *header, size_t size)
{
    char admin[200], body[128];
    const char *headers[] = {admin, NULL};
    it_response r;
    json_t *v;
    const char *key;
    snprintf(admin, sizeof(admin), "Authorization: Bearer %s", admin_key);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"prefix\":\"tb\"}", name);
    it_request("POST", "/auth/v1/admin/apikeys", headers, body, &r);
    ck_assert_msg(r.status == 201, "key: %ld %s", r.status, r.body);
    v = json_loads(r.body, 0, NULL);
    key = json_string_value(json_object_get(v, "key"));
    ck_assert_msg(key && strncmp(key, "tb_demo_", 8) == 0 && strlen(key) == 8 + 32,
                  "not a TestBase key: %s", r.body);
    snprintf(header, size, "Authorization: Bearer %s", key);
    json_decref(v);
    it_free(&r);
}

json_t *it_testbase_call(const char *method, const char *path, const char *auth,
                         const char *body, long expect)
{
    const char *headers[3] = {"Content-Type: application/json", auth, NULL};
    it_response r;
    json_t *v;
    it_request(method, path, headers, body, &r);
    ck_assert_msg(r.status == expect, "%s %s: %ld, expected %ld: %s", method, path, r.status,
                  expect, r.body);
    v = json_loads(r.body, 0, NULL);
    ck_assert_msg(v != NULL, "%s %s: not JSON: %s", method, path, r.body);
    it_free(&r);
    return v;
}

void it_testbase_expect_error(json_t *v, const char *code)
{
    json_t *error = json_object_get(v, "error");
    const char *got = json_string_value(json_object_get(error, "code"));
    ck_assert_msg(json_is_object(error) && got && strcmp(got, code) == 0 &&
                      json_is_string(json_object_get(error, "message")) &&
                      json_is_object(json_object_get(error, "details")),
                  "expected {error:{code:%s, message, details}}, got %s", code,
                  json_dumps(v, 0));
    json_decref(v);
}
