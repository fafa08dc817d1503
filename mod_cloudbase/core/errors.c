/*
 * errors.c: error bodies in the dialect of the API a route mirrors, and
 * request ids.
 *
 * CloudBase {code, message, requestId}; OAuth {error, error_description};
 * TOSE {success:false, error}; TestBase {error:{code, message, details}}.
 * The CloudBase-style code is the one vocabulary handlers use; the other
 * dialects map it to their own words.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include "cb_core.h"
#include "cloudbase/json.h"

#define MAX_REQUEST_ID_LENGTH 64

typedef struct code_map {
    const char *cloudbase;
    const char *oauth;
    const char *testbase;
} code_map;

static const code_map codes[] = {
    {"INVALID_PARAM", "invalid_request", "validation_error"},
    {"FUNCTION_PARAM_INVALID", "invalid_request", "validation_error"},
    {"INVALID_REQUEST", "invalid_request", "validation_error"},
    {"UNAUTHENTICATED", "unauthenticated", "unauthorized"},
    {"PERMISSION_DENIED", "access_denied", "forbidden"},
    {"ORIGIN_NOT_ALLOWED", "access_denied", "forbidden"},
    {"EXCEED_AUTHORITY", "access_denied", "forbidden"},
    {"RESOURCE_NOT_FOUND", "not_found", "not_found"},
    {"SERVICE_NOT_FOUND", "not_found", "not_found"},
    {"METHOD_NOT_ALLOWED", "invalid_request", "method_not_allowed"},
    {"PAYLOAD_TOO_LARGE", "invalid_request", "payload_too_large"},
    {"RATE_LIMITED", "slow_down", "rate_limited"},
    {"SERVICE_TIMEOUT", "temporarily_unavailable", "timeout"},
    {"SERVICE_UNAVAILABLE", "temporarily_unavailable", "unavailable"},
    {"BAD_GATEWAY", "temporarily_unavailable", "bad_gateway"},
    {"SYS_ERR", "server_error", "internal_error"},
    {NULL, NULL, NULL}
};

static const code_map *find_code(const char *code)
{
    for (const code_map *c = codes; c->cloudbase; c++)
        if (strcmp(c->cloudbase, code) == 0)
            return c;
    return NULL;
}

static char *lower_copy(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return out;
}

/* The details' entries into the TestBase details object (a value that is
 * not valid UTF-8 is left out; requestId is never replaced). */
static void add_details(json_t *object, const apr_table_t *details)
{
    const apr_array_header_t *entries = apr_table_elts(details);
    const apr_table_entry_t *e = (const apr_table_entry_t *)entries->elts;
    for (int i = 0; i < entries->nelts; i++) {
        json_t *value;
        if (!e[i].key || !e[i].val || strcmp(e[i].key, "requestId") == 0)
            continue;
        if ((value = json_string(e[i].val)))
            json_object_set_new(object, e[i].key, value);
    }
}

int cb_error_code_is_core(const char *code)
{
    return code && find_code(code) != NULL;
}

const char *cb_error_body_with(apr_pool_t *p, cb_dialect dialect, const char *code,
                               const char *message, const char *request_id,
                               const char *oauth, const char *testbase,
                               const apr_table_t *details)
{
    json_t *body;
    const char *out;
    if (!code)
        code = "SYS_ERR";
    if (!message)
        message = "internal error";
    switch (dialect) {
    case CB_DIALECT_OAUTH:
        body = json_pack("{s:s, s:s}", "error", oauth ? oauth : lower_copy(p, code),
                         "error_description", message);
        break;
    case CB_DIALECT_TOSE:
        body = json_pack("{s:b, s:s}", "success", 0, "error", message);
        break;
    case CB_DIALECT_TESTBASE:
        body = json_pack("{s:{s:s, s:s, s:{s:s}}}", "error",
                         "code", testbase ? testbase : lower_copy(p, code),
                         "message", message, "details", "requestId",
                         request_id ? request_id : "");
        if (body && details)
            add_details(json_object_get(json_object_get(body, "error"), "details"), details);
        break;
    case CB_DIALECT_CLOUDBASE:
    default:
        body = json_pack("{s:s, s:s, s:s}", "code", code, "message", message,
                         "requestId", request_id ? request_id : "");
        break;
    }
    if (!body) /* only when message is not valid UTF-8 */
        return apr_psprintf(p, "{\"code\":\"%s\",\"message\":\"invalid error text\"}", "SYS_ERR");
    out = cb_json_dump(p, (const cb_json *)body); /* the core's values are jansson's */
    json_decref(body);
    return out;
}

const char *cb_error_body_details(apr_pool_t *p, cb_dialect dialect, const char *code,
                                  const char *message, const char *request_id,
                                  const apr_table_t *details)
{
    const code_map *mapped = code ? find_code(code) : find_code("SYS_ERR");
    return cb_error_body_with(p, dialect, code, message, request_id,
                              mapped ? mapped->oauth : NULL, mapped ? mapped->testbase : NULL,
                              details);
}

const char *cb_error_body(apr_pool_t *p, cb_dialect dialect, int status,
                          const char *code, const char *message, const char *request_id)
{
    (void)status;
    return cb_error_body_details(p, dialect, code, message, request_id, NULL);
}

int cb_request_id_is_sane(const char *value)
{
    size_t len = 0;
    if (!value)
        return 0;
    for (const char *c = value; *c; c++, len++) {
        if (len >= MAX_REQUEST_ID_LENGTH)
            return 0;
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' || *c == ':'))
            return 0;
    }
    return len > 0;
}

/* Fresh ids: a random per-process prefix and a counter, so ids are unique
 * without a system call per request (they are not secrets). A forked child
 * draws a new prefix in the atfork handler. */
static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static unsigned char id_prefix[8];
static uint64_t id_counter;

static void id_new_prefix(void)
{
    if (apr_generate_random_bytes(id_prefix, sizeof(id_prefix)) != APR_SUCCESS) {
        uint64_t t = (uint64_t)apr_time_now() ^ ((uint64_t)getpid() << 32);
        memcpy(id_prefix, &t, sizeof(id_prefix));
    }
}

static void id_init(void)
{
    id_new_prefix();
    pthread_atfork(NULL, NULL, id_new_prefix);
}

const char *cb_request_id(apr_pool_t *p, const char *client_value)
{
    static const char hex[] = "0123456789abcdef";
    char *out;
    uint64_t n;
    if (cb_request_id_is_sane(client_value))
        return client_value;
    pthread_once(&id_once, id_init);
    n = __atomic_add_fetch(&id_counter, 1, __ATOMIC_RELAXED);
    out = apr_palloc(p, 33);
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[id_prefix[i] >> 4];
        out[2 * i + 1] = hex[id_prefix[i] & 15];
    }
    for (int i = 0; i < 16; i++)
        out[16 + i] = hex[(n >> (60 - 4 * i)) & 15];
    out[32] = '\0';
    return out;
}
