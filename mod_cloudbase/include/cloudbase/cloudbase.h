/*
 * cloudbase.h: the public plugin API of mod_cloudbase.
 *
 * This is the only header a plugin includes (it pulls in APR, which is the
 * portable runtime underneath every host; never httpd or nginx headers).
 * A plugin exports one symbol, CB_PLUGIN_SYMBOL, of type cb_plugin, that
 * describes its options, routes and phase hooks. Everything a plugin does with
 * a request goes through the opaque cb_req and the cb_req_* functions below,
 * which each host (the Apache adapter, the in-memory test host) implements.
 */
#ifndef CLOUDBASE_CLOUDBASE_H
#define CLOUDBASE_CLOUDBASE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "cloudbase/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever cb_plugin or any function below changes incompatibly.
 * The loader refuses a plugin built against another version. */
#define CB_PLUGIN_ABI_VERSION 1
#define CB_PLUGIN_SYMBOL "cloudbase_plugin"

typedef enum {
    CB_OK = 0,          /* carry on */
    CB_DONE = 1,        /* the response has been produced; stop */
    CB_DECLINED = 2,    /* this hook has nothing to say */
    CB_ERROR = -1       /* failure; an error response was set */
} cb_status;

/* ---------------------------------------------------------------- options */

typedef enum {
    CB_OPT_STRING,
    CB_OPT_BOOL,      /* on/off, true/false, yes/no, 1/0 */
    CB_OPT_INT,       /* decimal integer */
    CB_OPT_DURATION,  /* 250ms, 30s, 5m, 2h, 1d; stored in milliseconds */
    CB_OPT_SIZE,      /* 512, 64k, 1m, 2g; stored in bytes */
    CB_OPT_URL,       /* absolute http:// or https:// URL */
    CB_OPT_SECRET,    /* file:PATH, env:NAME or a literal; never logged */
    CB_OPT_LIST       /* repeatable; each line's whole text, parsed by the plugin */
} cb_option_type;

typedef struct cb_option_def {
    const char *name;
    cb_option_type type;
    int required;
    const char *default_value; /* parsed like a configured value; NULL = none */
    const char *help;          /* one line, used in errors and docs */
} cb_option_def;

typedef struct cb_options cb_options;

/* Typed getters. A missing optional option without default yields the
 * fallback (or NULL for strings). Names must appear in the option table. */
const char *cb_opt_string(const cb_options *o, const char *name);
int cb_opt_bool(const cb_options *o, const char *name, int fallback);
int64_t cb_opt_int(const cb_options *o, const char *name, int64_t fallback);
int64_t cb_opt_duration_ms(const cb_options *o, const char *name, int64_t fallback);
int64_t cb_opt_size(const cb_options *o, const char *name, int64_t fallback);
/* A secret's resolved value (file contents without trailing newline). */
const char *cb_opt_secret(const cb_options *o, const char *name);

/* One line of a CB_OPT_LIST option, with where it was configured. */
typedef struct cb_option_item {
    const char *text;   /* the words after the option name, as written */
    const char *file;
    int line;
} cb_option_item;
/* The lines of a list option in configuration order (never NULL). */
const apr_array_header_t *cb_opt_list(const cb_options *o, const char *name);

/* ---------------------------------------------------------------- requests */

typedef struct cb_req cb_req;

typedef enum {
    CB_AUTH_NONE = 0,   /* anyone, identity not looked up unless offered */
    CB_AUTH_ANY,        /* any valid credential, anonymous included */
    CB_AUTH_USER,       /* a signed-in user or an API key */
    CB_AUTH_ADMIN       /* the admin key */
} cb_auth_level;

typedef enum {
    CB_DIALECT_CLOUDBASE = 0, /* {code, message, requestId} */
    CB_DIALECT_OAUTH,         /* {error, error_description} */
    CB_DIALECT_TOSE,          /* {success:false, error} */
    CB_DIALECT_TESTBASE       /* {error:{code, message, details}} */
} cb_dialect;

typedef enum {
    CB_IDENTITY_NONE = 0,
    CB_IDENTITY_ANONYMOUS,
    CB_IDENTITY_USER,
    CB_IDENTITY_KEY,
    CB_IDENTITY_ADMIN
} cb_identity_kind;

typedef struct cb_identity {
    cb_identity_kind kind;
    const char *uid;
    const char *env;
    const char *session_id;           /* sign-in session, when there is one */
    const apr_array_header_t *scopes; /* of const char * */
    const apr_array_header_t *groups; /* of const char * */
} cb_identity;

const char *cb_req_method(const cb_req *req);
const char *cb_req_path(const cb_req *req);   /* decoded-free: as received */
const char *cb_req_query(const cb_req *req);  /* without '?', or "" */
const char *cb_req_header(const cb_req *req, const char *name);
/* The first value of query parameter name, percent-decoded with '+' read
 * as a space (as browsers send forms); "" for a bare "name"; NULL when the
 * parameter is absent or its value is badly encoded. */
const char *cb_req_query_param(const cb_req *req, const char *name);
const apr_table_t *cb_req_headers(const cb_req *req);
const char *cb_req_client_ip(const cb_req *req);
const char *cb_req_param(const cb_req *req, const char *name); /* route {param} */
const char *cb_req_id(const cb_req *req);
const char *cb_req_env(const cb_req *req);
apr_pool_t *cb_req_pool(const cb_req *req);
/* The environment's Redis client, or NULL when CloudBaseRedis is not set. */
cb_redis *cb_req_redis(const cb_req *req);
const cb_identity *cb_req_identity(const cb_req *req);
/* For handlers whose auth level depends on what they serve (a route
 * registered with CB_AUTH_NONE still looks up offered credentials): CB_OK
 * when the caller's identity meets level, else records 401 or 403 like the
 * route's own level would and returns CB_DONE. */
cb_status cb_req_require_auth(cb_req *req, cb_auth_level level);
void cb_req_set_identity(cb_req *req, const cb_identity *id);

/* Reads the whole body, refusing more than max_bytes with 413 (set as the
 * request's error). Returns CB_OK with *data NUL-terminated. */
cb_status cb_req_read_body(cb_req *req, size_t max_bytes, const char **data, size_t *len);

/* Response. Headers may be set until the first write. */
void cb_req_set_status(cb_req *req, int status);
void cb_req_set_header(cb_req *req, const char *name, const char *value);
void cb_req_add_header(cb_req *req, const char *name, const char *value);
cb_status cb_req_write(cb_req *req, const void *data, size_t len);
cb_status cb_req_flush(cb_req *req);
/* Convenience: status + Content-Type: application/json + body. */
cb_status cb_req_send_json(cb_req *req, int status, const char *json);

/* An error in the route's dialect: status, a CloudBase-style code such as
 * "INVALID_PARAM" (mapped for other dialects) and a human message. Called
 * from a phase hook or a proxy route's handler, it records the error and
 * the gateway answers it; the hook then returns CB_DONE. */
cb_status cb_req_send_error(cb_req *req, int status, const char *code, const char *message);

/* Proxy routes: the handler names the upstream and edits upstream headers,
 * then returns CB_OK; the host's own reverse proxy does the rest. */
void cb_req_proxy_to(cb_req *req, const char *url);
void cb_req_set_upstream_header(cb_req *req, const char *name, const char *value);
void cb_req_unset_upstream_header(cb_req *req, const char *name);

/* An upstream declared with cb_ctx_upstream: its own connection pool and
 * timeout in the host. url is the full upstream URL of this request. A
 * body read with cb_req_read_body before the hand-off is sent upstream as
 * it was read. */
typedef struct cb_upstream cb_upstream;
void cb_req_proxy_via(cb_req *req, const cb_upstream *up, const char *url);
/* Caps the request body streamed upstream (413 past it). */
void cb_req_proxy_limit_body(cb_req *req, int64_t max_bytes);

#define CB_PROXY_ATTACHMENT 0x1 /* Content-Disposition: attachment on answers to GET
                                 * and on non-text answers; never on SSE or 101 */
void cb_req_proxy_flags(cb_req *req, unsigned flags);

/* ---------------------------------------------------------------- routes */

typedef cb_status (*cb_handler_fn)(cb_req *req, void *plugin_state);

#define CB_ROUTE_PROXY 0x1  /* handler names an upstream with cb_req_proxy_to */

typedef struct cb_route_def {
    const char *method;   /* "GET", "POST", ... or "*" for any */
    const char *pattern;  /* "/v1/functions/{name}", "/v1/cloudrun/{name}/{rest*}" */
    cb_handler_fn handler;
    cb_auth_level auth;
    cb_dialect dialect;
    unsigned flags;
} cb_route_def;

/* ---------------------------------------------------------------- plugins */

typedef struct cb_plugin_ctx cb_plugin_ctx;

/* What a plugin may ask of its host during create(). */
const cb_options *cb_ctx_options(const cb_plugin_ctx *ctx);
apr_pool_t *cb_ctx_pool(const cb_plugin_ctx *ctx);
const char *cb_ctx_env(const cb_plugin_ctx *ctx);
cb_redis *cb_ctx_redis(const cb_plugin_ctx *ctx);
/* Records a configuration error that fails start-up (configtest). */
void cb_ctx_error(cb_plugin_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds a route at run time of create(), for routes that depend on options. */
void cb_ctx_add_route(cb_plugin_ctx *ctx, const cb_route_def *route);

/* Names an upstream base URL that proxy routes send to, so the host keeps a
 * pool of keep-alive connections for it (a mod_proxy worker in httpd). */
void cb_ctx_declare_upstream(cb_plugin_ctx *ctx, const char *base_url);

/* An upstream origin with its own keep-alive pool and timeout: upstreams
 * with the same scheme://host:port, timeout and flags share one. timeout_ms
 * 0 takes the host's default. Returns NULL (and records an error) for a URL
 * that is not absolute http(s). */
#define CB_UPSTREAM_WEBSOCKET 0x1 /* pass WebSocket upgrades through */
const cb_upstream *cb_ctx_upstream(cb_plugin_ctx *ctx, const char *url, int64_t timeout_ms,
                                   unsigned flags);

/* count counters shared by every process of this node (zeroed), for
 * per-node limits such as concurrent requests; use apr_atomic_*32. */
apr_uint32_t *cb_ctx_shared_counters(cb_plugin_ctx *ctx, int count);

/* A background task run every interval in one process of each node. */
typedef void (*cb_task_fn)(void *plugin_state, apr_pool_t *scratch);
void cb_ctx_add_task(cb_plugin_ctx *ctx, const char *name, apr_interval_time_t interval,
                     cb_task_fn fn);

typedef struct cb_plugin {
    int abi_version;             /* CB_PLUGIN_ABI_VERSION */
    const char *name;
    const char *version;
    const char *description;
    const cb_option_def *options; /* ends with a {NULL} entry */
    const cb_route_def *routes;   /* ends with a {NULL} entry; may be NULL */

    /* After configuration, once per instance (per environment). */
    cb_status (*create)(cb_plugin_ctx *ctx, void **plugin_state);
    /* Once in each worker process (open sockets here, not in create). */
    cb_status (*child_init)(void *plugin_state, apr_pool_t *child_pool);

    /* Phase hooks, all optional. */
    cb_status (*access_policy)(cb_req *req, void *plugin_state);
    /* Fill *out from the request's credentials; CB_DECLINED if none. */
    cb_status (*identify)(cb_req *req, void *plugin_state, cb_identity *out);
    void (*after_response)(cb_req *req, void *plugin_state, int status);
} cb_plugin;

#ifdef __cplusplus
}
#endif
#endif
