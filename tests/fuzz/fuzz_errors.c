/*
 * fuzz_errors.c: libFuzzer target for the request-id check and the error
 * renderers (core/errors.c).
 *
 * The input is offered as a client's X-Request-Id and as the code, message
 * and request id of an error body in every dialect. Properties:
 *  - a client id is kept exactly when it is 1 to 64 of [A-Za-z0-9._:-]
 *    (checked here independently); otherwise it is replaced by 32 lower
 *    hex digits, and two replacements differ;
 *  - every error body is valid JSON whatever bytes it carries, and carries
 *    them back unchanged (round trip): when the input is valid UTF-8 the
 *    parsed body holds exactly the input as message and request id, and
 *    as the code (CloudBase; for OAuth and TestBase the code lowered to
 *    the dialect's own vocabulary); otherwise it is the fixed SYS_ERR body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cb_core.h"

#define FUZZ_TARGET_NAME "fuzz_errors"
#include "fuzz_support.h"

static int is_lower_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int sane_id_expected(const char *s)
{
    size_t len = strlen(s);
    if (len < 1 || len > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.' || *s == ':'))
            return 0;
    return 1;
}

static const char *field(json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

static int equals(const char *got, const char *want)
{
    return got && strcmp(got, want) == 0;
}

static void check_request_id(const char *text)
{
    int sane = cb_request_id_is_sane(text);
    const char *id = cb_request_id(iteration_pool, text);
    require(sane == sane_id_expected(text), "request id check disagrees with its character set",
            text);
    if (sane) {
        require(strcmp(id, text) == 0, "a sane id was not kept", text);
        return;
    }
    require(is_lower_hex(id, 32), "a refused id was not replaced by 32 hex", text);
    require(strcmp(id, cb_request_id(iteration_pool, text)) != 0, "two fresh ids are equal",
            text);
}

static void check_bodies(const char *text)
{
    static const cb_dialect dialects[] = {CB_DIALECT_CLOUDBASE, CB_DIALECT_OAUTH,
                                          CB_DIALECT_TOSE, CB_DIALECT_TESTBASE};
    /* The renderer sees the C string: representable when valid UTF-8. */
    json_t *probe = json_string(text);
    int representable = probe != NULL;
    json_decref(probe);

    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++) {
        const char *body = cb_error_body(iteration_pool, dialects[i], 400, text, text, text);
        json_t *parsed = json_loads(body, 0, NULL), *error;
        require(parsed != NULL && json_is_object(parsed), "error body is not a JSON object", text);
        if (!representable) {
            require(equals(field(parsed, "code"), "SYS_ERR"), "unrepresentable text without SYS_ERR",
                    text);
            json_decref(parsed);
            continue;
        }
        switch (dialects[i]) {
        case CB_DIALECT_CLOUDBASE:
            require(equals(field(parsed, "code"), text) && equals(field(parsed, "message"), text) &&
                        equals(field(parsed, "requestId"), text),
                    "CloudBase body does not carry its fields back", text);
            break;
        case CB_DIALECT_OAUTH:
            require(field(parsed, "error") && equals(field(parsed, "error_description"), text),
                    "OAuth body does not carry its description back", text);
            break;
        case CB_DIALECT_TOSE:
            require(json_is_false(json_object_get(parsed, "success")) &&
                        equals(field(parsed, "error"), text),
                    "TOSE body does not carry its error back", text);
            break;
        case CB_DIALECT_TESTBASE:
            error = json_object_get(parsed, "error");
            require(field(error, "code") && equals(field(error, "message"), text) &&
                        equals(field(json_object_get(error, "details"), "requestId"), text),
                    "TestBase body does not carry its fields back", text);
            break;
        }
        json_decref(parsed);
    }
}

/* Details (cb_req_set_error_detail): text as a detail's key and value
 * is carried back when it is UTF-8 and not requestId, the body is always
 * JSON, and requestId is never replaced. */
static void check_details(const char *text)
{
    apr_table_t *details = apr_table_make(iteration_pool, 2);
    json_t *probe = json_string(text), *parsed, *d;
    int representable = probe != NULL;
    const char *body;
    json_decref(probe);
    apr_table_set(details, text, text);
    apr_table_set(details, "containerId", text);
    body = cb_error_body_details(iteration_pool, CB_DIALECT_TESTBASE, "SERVICE_UNAVAILABLE",
                                 "m", "rid", details);
    parsed = json_loads(body, 0, NULL);
    require(parsed != NULL, "an error body with details is not JSON", text);
    d = json_object_get(json_object_get(parsed, "error"), "details");
    require(equals(field(d, "requestId"), "rid"), "a detail replaced requestId", text);
    if (representable && strcmp(text, "requestId") != 0)
        require(equals(field(d, "containerId"), text) && equals(field(d, text), text),
                "a detail was not carried back", text);
    if (!representable)
        require(field(d, "containerId") == NULL, "a non-UTF-8 detail reached the body", text);
    json_decref(parsed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_request_id(text);
    check_bodies(text);
    check_details(text);
    apr_pool_clear(iteration_pool);
    return 0;
}
