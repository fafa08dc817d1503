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

#include "cloudbase/export.h"

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "cloudbase/redis.h"
#include "cloudbase/db.h"
#include "cloudbase/json.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The plugin ABI (docs/plugin-api.md, "ABI rules"). MAJOR changes when
 * anything a built plugin relies on changes incompatibly: a function's
 * signature or meaning, a field's offset, the layout of cb_option_def or
 * cb_route_def (arrays: their stride is frozen within a major). MINOR
 * changes when something is added: a new function, or a new member at the
 * end of cb_plugin. The loader refuses another major and a newer minor than
 * its own, and accepts an older minor: members past the plugin's
 * descriptor size read as zero (NULL hooks). */
#define CB_PLUGIN_ABI_MAJOR 3
#define CB_PLUGIN_ABI_MINOR 1   /* 3.0: opaque Redis replies and JSON values, after_response
                                 * gets the response record (docs/plugin-api.md, "ABI 3.0");
                                 * 3.1: new public functions only ("ABI 3.1") */
#define CB_PLUGIN_SYMBOL "cloudbase_plugin"
/* The first members of every descriptor; write it first:
 *   const cb_plugin cloudbase_plugin = { CB_PLUGIN_HEADER, .name = "x", ... }; */
#define CB_PLUGIN_HEADER \
    .abi_major = CB_PLUGIN_ABI_MAJOR, .abi_minor = CB_PLUGIN_ABI_MINOR, \
    .descriptor_size = sizeof(cb_plugin)

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
    CB_OPT_LIST,      /* repeatable; each line's whole text, parsed by the plugin */
    CB_OPT_ENUM       /* one of .choices (case-insensitive); read with cb_opt_string */
} cb_option_type;

/* One option of a plugin's table. Fill it with designated initialisers;
 * the table ends with a {0} entry. The table is the only place an option's
 * default and bounds are written: the core checks them at configtest, and
 * the getters return the default when the option is not configured. */
typedef struct cb_option_def {
    const char *name;
    cb_option_type type;
    int required;
    const char *default_value; /* parsed like a configured value; NULL = none */
    const char *help;          /* one line, used in errors and docs */
    /* INT, DURATION (ms) and SIZE (bytes): inclusive bounds, checked only
     * when has_min / has_max is set (use CB_OPT_MIN / CB_OPT_MAX). */
    unsigned char has_min, has_max;
    int64_t min, max;
    const char *const *choices; /* ENUM: the allowed words, NULL-terminated */
} cb_option_def;
#define CB_OPT_MIN(v) .has_min = 1, .min = (v)
#define CB_OPT_MAX(v) .has_max = 1, .max = (v)

typedef struct cb_options cb_options;

/* Typed getters: the configured value, else the table's default, else
 * NULL / 0 (cb_opt_is_set tells "not configured" apart). The name must be
 * in the plugin's table and the getter must match its type: anything else
 * is a programming error that aborts with a message naming the option. */
CB_API int cb_opt_is_set(const cb_options *o, const char *name);
CB_API const char *cb_opt_string(const cb_options *o, const char *name); /* STRING, URL, ENUM */
CB_API int cb_opt_bool(const cb_options *o, const char *name);
CB_API int64_t cb_opt_int(const cb_options *o, const char *name);
CB_API int64_t cb_opt_duration_ms(const cb_options *o, const char *name);
CB_API int64_t cb_opt_size(const cb_options *o, const char *name);
/* ENUM: the index of the configured (or default) word in .choices; -1
 * when the option has neither. */
CB_API int cb_opt_enum(const cb_options *o, const char *name);
/* A secret's resolved value (file contents without trailing newline). */
CB_API const char *cb_opt_secret(const cb_options *o, const char *name);

/* One line of a CB_OPT_LIST option, with where it was configured. */
typedef struct cb_option_item {
    const char *text;   /* the words after the option name, as written */
    const char *file;
    int line;
} cb_option_item;
/* The lines of a list option in configuration order (never NULL). */
CB_API const apr_array_header_t *cb_opt_list(const cb_options *o, const char *name);

/* ---------------------------------------------------------------- requests */

typedef struct cb_req cb_req;

typedef enum {
    CB_AUTH_NONE = 0,   /* anyone, identity not looked up unless offered */
    CB_AUTH_ANY,        /* any valid credential, anonymous included */
    CB_AUTH_USER,       /* a signed-in user or an API key */
    CB_AUTH_ADMIN       /* the admin key */
} cb_auth_level;

/* An auth= value: none, any, user or admin; with allow_switch also on (any)
 * and off (none), as a route's switch. NULL, or the message for configtest. */
CB_API const char *cb_parse_auth_level(const char *text, int allow_switch, cb_auth_level *out);

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

CB_API const char *cb_req_method(const cb_req *req);
CB_API const char *cb_req_path(const cb_req *req);   /* decoded-free: as received */
CB_API const char *cb_req_query(const cb_req *req);  /* without '?', or "" */
CB_API const char *cb_req_header(const cb_req *req, const char *name);
/* The first value of query parameter name, percent-decoded with '+' read
 * as a space (as browsers send forms); "" for a bare "name"; NULL when the
 * parameter is absent or its value is badly encoded. */
CB_API const char *cb_req_query_param(const cb_req *req, const char *name);
CB_API const apr_table_t *cb_req_headers(const cb_req *req);
CB_API const char *cb_req_client_ip(const cb_req *req);
CB_API const char *cb_req_param(const cb_req *req, const char *name); /* route {param} */
CB_API const char *cb_req_id(const cb_req *req);
CB_API const char *cb_req_env(const cb_req *req);
/* The name of the plugin whose route matched, or NULL (a core route, none). */
CB_API const char *cb_req_route_plugin(const cb_req *req);
CB_API apr_pool_t *cb_req_pool(const cb_req *req);
/* The environment's Redis client, or NULL when CloudBaseRedis is not set. */
CB_API cb_redis *cb_req_redis(const cb_req *req);
/* The environment's database (cloudbase/db.h), or NULL without
 * CloudBaseDatabase. */
CB_API cb_db *cb_req_db(const cb_req *req);
CB_API const cb_identity *cb_req_identity(const cb_req *req);
/* For handlers whose auth level depends on what they serve (a route
 * registered with CB_AUTH_NONE still looks up offered credentials): CB_OK
 * when the caller's identity meets level, else records 401 or 403 like the
 * route's own level would and returns CB_DONE. */
CB_API cb_status cb_req_require_auth(cb_req *req, cb_auth_level level);
CB_API void cb_req_set_identity(cb_req *req, const cb_identity *id);

/* Reads the whole body, refusing more than max_bytes with 413 (set as the
 * request's error). Returns CB_OK with *data NUL-terminated. */
CB_API cb_status cb_req_read_body(cb_req *req, size_t max_bytes, const char **data, size_t *len);
/* The body as a JSON object (cloudbase/json.h), owned by the request's
 * pool, whatever the Content-Type; an empty body is {}. On failure returns
 * CB_ERROR with the error answered in the route's dialect: 413
 * PAYLOAD_TOO_LARGE past max_bytes, 400 INVALID_REQUEST for a body that is
 * not JSON (the message names line, column and problem) or not an object. */
CB_API cb_status cb_req_read_json_object(cb_req *req, size_t max_bytes, cb_json **out);

/* Response. Headers may be set until the first write. A Content-Length
 * header declares the answer's exact length to the host (sent once, and
 * the answer is not chunked however it is written). */
CB_API void cb_req_set_status(cb_req *req, int status);
CB_API void cb_req_set_header(cb_req *req, const char *name, const char *value);
CB_API void cb_req_add_header(cb_req *req, const char *name, const char *value);
CB_API cb_status cb_req_write(cb_req *req, const void *data, size_t len);
CB_API cb_status cb_req_flush(cb_req *req);
/* 1 once the client has gone away (the connection was closed or a write or
 * flush to it failed): a streaming handler stops its work. */
CB_API int cb_req_aborted(const cb_req *req);
/* Convenience: status + Content-Type: application/json + body. */
CB_API cb_status cb_req_send_json(cb_req *req, int status, const char *json);

/* An error in the route's dialect: status, a CloudBase-style code such as
 * "INVALID_PARAM" (mapped for other dialects) and a human message. Called
 * from a phase hook or a proxy route's handler, it records the error and
 * the gateway answers it; the hook then returns CB_DONE. */
CB_API cb_status cb_req_send_error(cb_req *req, int status, const char *code, const char *message);

/* Proxy routes: the handler names the upstream and edits upstream headers,
 * then returns CB_OK; the host's own reverse proxy does the rest. */
CB_API void cb_req_proxy_to(cb_req *req, const char *url);
CB_API void cb_req_set_upstream_header(cb_req *req, const char *name, const char *value);
CB_API void cb_req_unset_upstream_header(cb_req *req, const char *name);

/* An upstream declared with cb_ctx_upstream: its own connection pool and
 * timeout in the host. url is the full upstream URL of this request. A
 * body read with cb_req_read_body before the hand-off is sent upstream as
 * it was read. */
typedef struct cb_upstream cb_upstream;
CB_API void cb_req_proxy_via(cb_req *req, const cb_upstream *up, const char *url);
/* Caps the request body streamed upstream (413 past it). */
CB_API void cb_req_proxy_limit_body(cb_req *req, int64_t max_bytes);

#define CB_PROXY_ATTACHMENT 0x1 /* Content-Disposition: attachment on answers to GET
                                 * and on non-text answers; never on SSE or 101 */
CB_API void cb_req_proxy_flags(cb_req *req, unsigned flags);

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
CB_API const cb_options *cb_ctx_options(const cb_plugin_ctx *ctx);
CB_API apr_pool_t *cb_ctx_pool(const cb_plugin_ctx *ctx);
CB_API const char *cb_ctx_env(const cb_plugin_ctx *ctx);
CB_API cb_redis *cb_ctx_redis(const cb_plugin_ctx *ctx);
/* The environment's database, or NULL without CloudBaseDatabase. */
CB_API cb_db *cb_ctx_db(const cb_plugin_ctx *ctx);
/* Registers the plugin's schema steps (cloudbase/db.h), applied in each
 * process before its first query; count < 0: up to a {0, NULL} entry. Fails
 * start-up when the environment has no database. */
CB_API void cb_ctx_db_migrations(cb_plugin_ctx *ctx, const cb_db_migration *steps, int count);
/* Records a configuration error that fails start-up (configtest). */
CB_API void cb_ctx_error(cb_plugin_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds a route at run time of create(), for routes that depend on options. */
CB_API void cb_ctx_add_route(cb_plugin_ctx *ctx, const cb_route_def *route);

/* Names an upstream base URL that proxy routes send to, so the host keeps a
 * pool of keep-alive connections for it (a mod_proxy worker in httpd). */
CB_API void cb_ctx_declare_upstream(cb_plugin_ctx *ctx, const char *base_url);

/* An upstream origin with its own keep-alive pool and timeout: upstreams
 * with the same scheme://host:port, timeout and flags share one. timeout_ms
 * 0 takes the host's default. Returns NULL (and records an error) for a URL
 * that is not absolute http(s). */
#define CB_UPSTREAM_WEBSOCKET 0x1 /* pass WebSocket upgrades through */
CB_API const cb_upstream *cb_ctx_upstream(cb_plugin_ctx *ctx, const char *url, int64_t timeout_ms,
                                   unsigned flags);

/* count counters shared by every process of this node (zeroed), for
 * per-node limits such as concurrent requests; use apr_atomic_*32. */
CB_API apr_uint32_t *cb_ctx_shared_counters(cb_plugin_ctx *ctx, int count);

/* A background task run every interval in one process of each node. */
typedef void (*cb_task_fn)(void *plugin_state, apr_pool_t *scratch);
CB_API void cb_ctx_add_task(cb_plugin_ctx *ctx, const char *name, apr_interval_time_t interval,
                     cb_task_fn fn);

/* What happened to one request, for accounting: after_response receives it
 * (cb_req_response_record reads it too; before after_response it is
 * incomplete). Sizes are body bytes as sent on the wire's payload (no
 * headers). */
typedef struct cb_response_record {
    int status;                     /* the status the client got */
    int64_t bytes_in;               /* request body bytes read from the client */
    int64_t bytes_out;              /* response body bytes sent to the client */
    apr_interval_time_t duration;   /* from the request line to the end of the response */
    const char *route_pattern;      /* the matched route ("/v1/functions/{name}"), or NULL */
    const char *method;
    cb_identity_kind identity_kind; /* CB_IDENTITY_NONE when none was established */
    const char *uid;                /* NULL without an identity */
    int proxied;                    /* 1 for a proxy route handed to the host's proxy */
    /* Proxy routes: from the hand-off until the upstream's response headers
     * arrived (its time to first byte); -1 when not proxied or unknown. */
    apr_interval_time_t upstream_time;
} cb_response_record;

/* The descriptor a plugin exports as CB_PLUGIN_SYMBOL. Start it with
 * CB_PLUGIN_HEADER and name the other members (designated initialisers).
 * New members are only ever appended, with a minor bump; the core copies a
 * descriptor of descriptor_size bytes into a zeroed cb_plugin, so it never
 * reads past an older plugin's struct. */
typedef struct cb_plugin {
    int abi_major;               /* CB_PLUGIN_ABI_MAJOR */
    int abi_minor;               /* CB_PLUGIN_ABI_MINOR */
    size_t descriptor_size;      /* sizeof(cb_plugin) where the plugin was built */
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
    /* Once the answer went out: what it was (status, bytes, duration, route,
     * identity, upstream time). The record lives as long as the request. */
    void (*after_response)(cb_req *req, void *plugin_state, const cb_response_record *record);
    /* After every instance of the environment ran create(), look up the
     * services other plugins published (cb_service_lookup). */
    cb_status (*resolve)(cb_plugin_ctx *ctx, void *plugin_state);
    /* ABI 3.0 ends here; members added later go below, each with the
     * minor that introduced it. */
} cb_plugin;

/* ---------------------------------------------------------------- services */

/* Services between plugins, like httpd's providers. A plugin publishes a
 * named, versioned struct of function pointers from create(); api must live
 * as long as the plugin (a static const struct). A version only grows, and
 * a newer version only adds members at the end of the struct. Returns
 * CB_ERROR (and records a configuration error) when the name is taken in
 * this environment. */
CB_API cb_status cb_service_register(cb_plugin_ctx *ctx, const char *name, int version,
                              const void *api);
/* Declares from create() that the plugin cannot work without a service: the
 * configuration fails (configtest) when no plugin of the environment
 * publishes name at min_version or newer. */
CB_API void cb_ctx_require_service(cb_plugin_ctx *ctx, const char *name, int min_version);
/* From resolve() (whatever order the plugins were loaded in): the service's
 * struct, or NULL when nobody publishes name at min_version or newer. Called
 * from create() it records a configuration error and returns NULL. */
CB_API const void *cb_service_lookup(cb_plugin_ctx *ctx, const char *name, int min_version);
/* The version a service was published at, 0 when it was not. */
CB_API int cb_service_version(cb_plugin_ctx *ctx, const char *name);

/* ---------------------------------------------------------------- metering */

CB_API const cb_response_record *cb_req_response_record(const cb_req *req);

/* A per-request slot for each plugin instance: what the plugin's
 * access_policy stores (a reservation, say) its after_response reads back.
 * Only the calling plugin sees its slot; call from its own hooks or
 * handlers (elsewhere set does nothing and get returns NULL). data lives
 * as long as the caller makes it (use cb_req_pool). */
CB_API void cb_req_plugin_data_set(cb_req *req, void *data);
CB_API void *cb_req_plugin_data_get(const cb_req *req);
/* AI token usage. From access_policy: asks the host to read the answer's
 * OpenAI-style `usage` object as the answer passes (a JSON body, or the
 * last data chunk of an SSE stream), without holding any of it back. From
 * after_response: 1 and *tokens (usage.total_tokens, else prompt_tokens +
 * completion_tokens) when the answer carried one, else 0. */
CB_API void cb_req_scan_token_usage(cb_req *req);
CB_API int cb_req_token_usage(const cb_req *req, int64_t *tokens);

/* ---------------------------------------------------------------- error codes */

/* A plugin's own error code, registered from create(): its status and its
 * words in the dialects that name codes (NULL: the code in lower case). */
typedef struct cb_error_code_def {
    const char *code;      /* CloudBase dialect, e.g. "INSUFFICIENT_BALANCE" */
    int status;            /* e.g. 402 */
    const char *oauth;     /* OAuth dialect "error", e.g. "access_denied" */
    const char *testbase;  /* TestBase dialect error.code, e.g. "payment_required" */
    const char *message;   /* default message, written for the client */
} cb_error_code_def;

/* Records a configuration error (and returns CB_ERROR) for a malformed
 * definition or a code the core or another plugin of the environment
 * already defines differently. def must outlive the plugin (static). */
CB_API cb_status cb_ctx_register_error(cb_plugin_ctx *ctx, const cb_error_code_def *def);
/* cb_req_send_error with a registered code's status and, when message is
 * NULL, its default message. An unknown code answers 500 SYS_ERR. */
CB_API cb_status cb_req_send_error_code(cb_req *req, const char *code, const char *message);
/* Adds key: value to the details of the errors this request answers from
 * now on (the TestBase dialect's error.details, beside requestId; other
 * dialects have no details and ignore it), e.g. ("containerId", id). A
 * second call with the same key replaces the value. (ABI 3.1) */
CB_API void cb_req_set_error_detail(cb_req *req, const char *key, const char *value);

#ifdef __cplusplus
}
#endif
#endif
