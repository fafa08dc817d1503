/*
 * functions.h: what the functions plugin's files share: the configured
 * services (functions, Cloud Run services, AI providers, agents), HTTP
 * access routes, the pure parsers of parse.c and the handlers.
 */
#ifndef CB_FUNCTIONS_H
#define CB_FUNCTIONS_H

#include <apr_hash.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/values.h"

typedef enum {
    FN_FUNCTION = 0,
    FN_CLOUDRUN,
    FN_AI_PROVIDER,
    FN_AGENT
} fn_kind;

/* Defaults from the plugin's options, applied to each service line. */
typedef struct fn_defaults {
    cb_auth_level auth;
    int64_t timeout_ms;
    int64_t max_body;
    int64_t max_concurrency;   /* 0 = unlimited */
} fn_defaults;

typedef struct fn_service {
    fn_kind kind;
    const char *name;          /* function, service or provider name; agent id */
    const char *qualifier;     /* functions: the X-Qualifier version; NULL = default */
    const char *url;           /* upstream URL without a trailing '/' */
    cb_auth_level auth;
    int64_t timeout_ms;
    int64_t max_body;
    int64_t max_concurrency;
    int attachment;            /* Cloud Run: Content-Disposition guard (default on) */
    int websocket;             /* Cloud Run: pass WebSocket upgrades (default on) */
    const char *key;           /* AI: the provider key, injected upstream; never logged */
    const cb_upstream *upstream;
    apr_uint32_t *in_flight;   /* shared per-node counter; NULL = unlimited */
} fn_service;

typedef enum {
    FN_TARGET_FUNCTION = 0,
    FN_TARGET_CLOUDRUN
} fn_target_kind;

/* HttpRoute PATH function=NAME|cloudrun=NAME [auth=...] [pass_path=on|off] */
typedef struct fn_http_route {
    const char *prefix;        /* "/api/orders", no trailing '/' */
    fn_target_kind target_kind;
    const char *target_name;
    cb_auth_level auth;
    int pass_path;
    const fn_service *target;  /* resolved in create() */
} fn_http_route;

typedef struct fn_state {
    apr_hash_t *functions;     /* "name" or "name@qualifier" -> fn_service * */
    apr_hash_t *cloudruns;     /* name -> fn_service * */
    apr_hash_t *providers;     /* name -> fn_service * */
    apr_hash_t *agents;        /* agent id -> fn_service * */
    apr_hash_t *http_routes;   /* prefix -> fn_http_route * */
    int strip_credentials;     /* drop the caller's verified credentials upstream */
    int64_t default_max_body;  /* agents: the body is read before the agent is known */
    cb_auth_level agents_min_auth; /* the least any agent needs: checked before reading */
} fn_state;

/* ---- parse.c: pure parsers (fuzzed by tests/fuzz/fuzz_functions.c) ---- */

/* ^[a-zA-Z][a-zA-Z0-9_-]{0,58}[a-zA-Z0-9]$ */
int fn_name_is_valid(const char *name);
/* An X-Qualifier value: 1-64 of [A-Za-z0-9_.$-]. */
int fn_qualifier_is_valid(const char *q);
/* A path tail safe to append upstream: no "." or ".." segments (also
 * percent-encoded), no encoded '/' or '\', no NUL, CR or LF. */
int fn_path_is_safe(const char *rest);
/* 1 when the query has webfn=true (case-insensitive value). */
int fn_query_has_webfn(const char *query);
/* One service line: "NAME URL [key=value ...]". */
const char *fn_parse_service(apr_pool_t *p, fn_kind kind, const char *line,
                             const fn_defaults *defaults, fn_service *out);
/* One HttpRoute line. */
const char *fn_parse_http_route(apr_pool_t *p, const char *line, fn_http_route *out);
/* url + "?" + query, or url itself when the query is empty. */
const char *fn_url_with_query(apr_pool_t *p, const char *url, const char *query);
/* base + "/" + rest (a tail that passed fn_path_is_safe; NULL is "") + the
 * query as fn_url_with_query adds it. Fuzzed by fuzz_upstream_url.c. */
const char *fn_url_join(apr_pool_t *p, const char *base, const char *rest, const char *query);

typedef enum fn_chat_result { FN_CHAT_OK, FN_CHAT_NOT_OBJECT, FN_CHAT_BAD_MODEL } fn_chat_result;
/* An OpenAI-style chat body, which must be a JSON object. With model not
 * NULL, its "model" must also be a string naming an agent (the shape of
 * fn_qualifier_is_valid); *model is a pool copy. Fuzzed by
 * fuzz_ai_model.c. */
fn_chat_result fn_chat_body(apr_pool_t *p, const char *body, size_t len, const char **model);

/* ---- proxy.c: functions, Cloud Run and HTTP access routes ---- */
/* The entry `key` (the name itself when NULL) of table, after checking the
 * name: NULL with 400 INVALID_PARAM or 404 SERVICE_NOT_FOUND recorded.
 * label names the kind in messages ("function", "AI provider"). */
const fn_service *fn_find(cb_req *req, apr_hash_t *table, const char *name, const char *key,
                          const char *label);
cb_status fn_call_function(cb_req *req, void *state);
cb_status fn_call_cloudrun(cb_req *req, void *state);
cb_status fn_call_http_route(cb_req *req, void *state);
/* How fn_forward treats a request. */
#define FN_JSON_OBJECT 0x1   /* the body must be a JSON object (read and checked) */
#define FN_AUTH_CHECKED 0x2  /* the caller already checked the auth level */

/* Sends the request to a service: auth, body cap, concurrency, credentials. */
cb_status fn_forward(cb_req *req, fn_state *st, const fn_service *svc, const char *url,
                     unsigned how);

/* ---- ai.c: AI providers and agents ---- */
cb_status fn_ai_chat(cb_req *req, void *state);
cb_status fn_agent_chat(cb_req *req, void *state);

#endif
