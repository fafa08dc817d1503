/*
 * cb_core.h: the host-neutral core's internal interface, shared by the core
 * files, the host adapters (Apache, the test host) and the tests. Plugins do
 * not include it; they see only include/cloudbase/.
 */
#ifndef CB_CORE_H
#define CB_CORE_H

#include <apr_hash.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/values.h"
#include "cloudbase/redis.h"

/* ------------------------------------------------------------- options */

typedef struct cb_option_value {
    const cb_option_def *def;
    const char *text;      /* as configured (never logged for secrets) */
    int64_t number;        /* bool, int, duration (ms), size (bytes) */
    const char *string;    /* string, url, resolved secret */
    apr_array_header_t *items; /* list options: cb_option_item */
    int set_explicitly;
} cb_option_value;

struct cb_options {
    const cb_option_def *defs;
    apr_hash_t *values;    /* name -> cb_option_value */
};

cb_options *cb_options_create(apr_pool_t *p, const cb_option_def *defs);
/* Parses and stores one configured option; returns an error with a fix. */
const char *cb_options_set(cb_options *o, apr_pool_t *p, const char *name, const char *value);
/* The same, remembering where the line was configured (list items keep it). */
const char *cb_options_set_at(cb_options *o, apr_pool_t *p, const char *name, const char *value,
                              const char *file, int line);
/* 1 when name is a CB_OPT_LIST option: its value is the rest of the line. */
int cb_options_is_list(const cb_options *o, const char *name);
/* Applies defaults and checks required options. */
const char *cb_options_finish(cb_options *o, apr_pool_t *p);
const char *cb_option_type_name(cb_option_type t);

/* ------------------------------------------------------------- plugins */

typedef struct cb_loaded_plugin {
    const cb_plugin *desc;   /* the core's copy, zero past the plugin's own size */
    const char *path;
    void *handle;            /* dlopen handle, closed by the pool's cleanup */
} cb_loaded_plugin;

/* Loads NAME.so from dir (or dir/NAME.so when name has no slash) once per
 * pool; checks the symbol and ABI version. Returns an error message. */
const char *cb_plugin_load(apr_pool_t *p, const char *dir, const char *name,
                           cb_loaded_plugin **out);
/* Why a descriptor cannot be loaded by a core of ABI core_major.core_minor
 * (naming both versions and the fix), or NULL when it can. */
const char *cb_plugin_abi_refusal(apr_pool_t *p, const char *path, const cb_plugin *desc,
                                  int core_major, int core_minor);

typedef struct cb_task {
    const char *name;
    apr_interval_time_t interval;
    cb_task_fn fn;
    struct cb_instance *instance;
    void *state;       /* what fn gets: NULL = the instance's plugin state */
} cb_task;

/* A core service's task (the notifier's delivery): like cb_ctx_add_task,
 * but fn gets state instead of the plugin's state. */
void cb_ctx_add_core_task(cb_plugin_ctx *ctx, const char *name, apr_interval_time_t interval,
                          cb_task_fn fn, void *state);

/* Background tasks, each on its own thread and schedule (task_runner.c).
 * stop wakes every thread and joins it (a running task finishes first). */
typedef struct cb_task_runner cb_task_runner;
apr_status_t cb_task_runner_start(apr_pool_t *p, const apr_array_header_t *tasks /* cb_task */,
                                  cb_task_runner **out);
void cb_task_runner_stop(cb_task_runner *runner);

typedef struct cb_env cb_env;

/* One configured plugin in one environment. */
typedef struct cb_instance {
    const cb_loaded_plugin *plugin;
    cb_options *options;
    void *state;
    cb_env *env;
    const char *config_file;
    int config_line;
    apr_array_header_t *extra_routes; /* cb_route_def, from cb_ctx_add_route */
    int created;                 /* create() succeeded in cb_env_build */
} cb_instance;

struct cb_plugin_ctx {
    cb_instance *instance;
    apr_pool_t *pool;
    apr_array_header_t *errors;  /* const char * */
    apr_array_header_t *tasks;   /* cb_task */
    int resolving;               /* in resolve(): services may be looked up */
};

/* ------------------------------------------------------------- router */

typedef struct cb_route {
    cb_route_def def;
    cb_instance *instance;       /* NULL for core routes */
} cb_route;

typedef struct cb_router cb_router;

typedef enum {
    CB_MATCH_NONE = 0,       /* not a gateway path: fall through to the site */
    CB_MATCH_FOUND,
    CB_MATCH_NO_METHOD,      /* 405; allow lists the methods */
    CB_MATCH_NOT_FOUND       /* 404 under a gateway prefix */
} cb_match_kind;

typedef struct cb_match {
    cb_match_kind kind;
    const cb_route *route;
    apr_table_t *params;     /* NULL when the route has none */
    const char *allow;
} cb_match;

cb_router *cb_router_create(apr_pool_t *p);
/* Adds a route; returns an error for a malformed pattern or a duplicate. */
const char *cb_router_add(cb_router *r, const cb_route_def *def, cb_instance *inst);
/* Looks a request up; params are allocated from p. */
void cb_router_match(const cb_router *r, apr_pool_t *p, const char *method,
                     const char *path, cb_match *out);
int cb_router_route_count(const cb_router *r);

/* ------------------------------------------------------------- allowlist */

typedef struct cb_allowlist cb_allowlist;

cb_allowlist *cb_allowlist_create(apr_pool_t *p);
/* Adds "https://app.example.com", "http://localhost:8080" or
 * a wildcard host such as *.example.com after the scheme; returns an error
 * message with the fix. */
const char *cb_allowlist_add(cb_allowlist *a, apr_pool_t *p, const char *entry);
int cb_allowlist_count(const cb_allowlist *a);
/* 1 when the Origin header value (exactly scheme://host[:port]) is allowed. */
int cb_allowlist_allows(const cb_allowlist *a, const char *origin);
/* Normalises an origin ("https://A.com:443" -> "https://a.com"); NULL when
 * the value is not a serialised origin. */
const char *cb_origin_normalize(apr_pool_t *p, const char *origin);
/* 1 when `origin` is the request's own: the same origin as scheme + "://" +
 * the Host header's value, both normalised. */
int cb_origin_is_own(apr_pool_t *p, const char *scheme, const char *host, const char *origin);
/* 1 when an Access-Control-Request-Headers value may be echoed back: header
 * name characters (token letters, digits, '-', '_'), ',' and ' ' only. */
int cb_cors_header_list_ok(const char *list);

/* ------------------------------------------------------------- directives */

/* CloudBaseEnv's id: NULL when good, else the message for configtest. */
const char *cb_directive_env_id(const char *arg);
/* CloudBaseHealthPath: a literal path, or "off" (*path = ""). */
const char *cb_directive_health_path(const char *arg, const char **path);
/* CloudBaseNodeCount: 1 to 10000. */
const char *cb_directive_node_count(const char *arg, int *count);

/* ------------------------------------------------------------- errors */

/* The core's own codes: 1 when code is one (error_codes.c refuses them). */
int cb_error_code_is_core(const char *code);
/* Like cb_error_body with a plugin's renderings for the OAuth and TestBase
 * dialects (NULL: the code in lower case) and extra TestBase details
 * (NULL: none; requestId always). */
const char *cb_error_body_with(apr_pool_t *p, cb_dialect dialect, const char *code,
                               const char *message, const char *request_id,
                               const char *oauth, const char *testbase,
                               const apr_table_t *details);
/* cb_error_body with extra TestBase details (NULL: none). */
const char *cb_error_body_details(apr_pool_t *p, cb_dialect dialect, const char *code,
                                  const char *message, const char *request_id,
                                  const apr_table_t *details);
/* Renders an error body in the dialect (never NULL). */
const char *cb_error_body(apr_pool_t *p, cb_dialect dialect, int status,
                          const char *code, const char *message, const char *request_id);
/* A request id: a sane client value (1-64 of [A-Za-z0-9._:-]) or fresh. */
const char *cb_request_id(apr_pool_t *p, const char *client_value);
int cb_request_id_is_sane(const char *value);

/* ------------------------------------------------------------- upstreams */

/* A pooled upstream origin (cb_ctx_upstream); the host keeps one keep-alive
 * pool per entry (a mod_proxy worker in httpd). */
struct cb_upstream {
    const char *origin;        /* scheme://host:port */
    int64_t timeout_ms;        /* 0 = the host's default */
    unsigned flags;            /* CB_UPSTREAM_* */
    int index;                 /* position in env->upstreams */
};

/* ------------------------------------------------------------- rate limits */

typedef struct cb_ratelimit cb_ratelimit;  /* ratelimit.c */

/* ------------------------------------------------------------- redis durability */

/* Per process: whether Redis persists (AOF) and never evicts, asked with
 * INFO at most once a minute (redis_durability.c). */
typedef struct cb_redis_durability cb_redis_durability;

cb_redis_durability *cb_redis_durability_create(apr_pool_t *p);
/* Warnings (const char *) for /health: empty when Redis is durable, or when
 * its INFO could not be read. May ask Redis (rarely); call only while Redis
 * answers. */
apr_array_header_t *cb_redis_durability_warnings(cb_redis_durability *d, cb_redis *r,
                                                 apr_pool_t *p);
/* What /health needs from an INFO answer. */
typedef struct cb_redis_info {
    int known;                /* both fields were found */
    int aof_enabled;          /* aof_enabled:1 */
    char eviction_policy[32]; /* maxmemory_policy, cut to fit; "" unless known */
} cb_redis_info;

/* Parses an INFO answer (NUL-terminated); fuzzed by tests/fuzz/fuzz_redis_info.c. */
void cb_redis_info_parse(const char *info, cb_redis_info *out);

/* ------------------------------------------------------------- environment */

/* Per virtual host: everything the dispatcher needs. Built at start-up,
 * read-only while serving. */
struct cb_env {
    const char *id;                /* CloudBaseEnv */
    const char *health_path;
    cb_allowlist *allowlist;
    apr_array_header_t *instances; /* cb_instance * */
    cb_router *router;
    cb_redis *redis;               /* may be NULL */
    cb_redis_durability *durability; /* with redis: what /health warns about */
    /* Hooks precomputed so plugins without them cost nothing. */
    apr_array_header_t *policy_hooks;   /* cb_instance * */
    apr_array_header_t *identity_hooks; /* cb_instance * */
    apr_array_header_t *after_hooks;    /* cb_instance * */
    apr_array_header_t *tasks;          /* cb_task */
    int has_proxy_routes;
    apr_array_header_t *upstreams;      /* cb_upstream *, cb_ctx_upstream */
    cb_ratelimit *ratelimit;            /* NULL when no CloudBaseRateLimit applies */
    cb_db *db;                          /* CloudBaseDatabase, or NULL */
    apr_hash_t *services;               /* name -> cb_service (services.c) */
    apr_array_header_t *service_needs;  /* cb_service_need, cb_ctx_require_service */
    apr_hash_t *error_codes;            /* code -> cb_error_code_def *, plugins' own */
};

/* ------------------------------------------------------------- services */

typedef struct cb_service {
    const char *name;
    int version;
    const void *api;
    const cb_instance *owner;
} cb_service;

typedef struct cb_service_need {
    const char *name;
    int min_version;
    const cb_instance *instance;
} cb_service_need;

/* Once every create() ran: the unmet cb_ctx_require_service declarations
 * as configtest messages joined with "; ", or NULL. */
const char *cb_services_check_needs(cb_env *env, apr_pool_t *p);

/* The start-up log line: version, environments and their plugins
 * (summary.c). */
const char *cb_startup_summary(apr_pool_t *p, const char *version, cb_env *const *envs,
                               int count);

/* What a host read in its configuration for one environment. */
typedef struct cb_env_spec {
    const char *id;                      /* CloudBaseEnv */
    const char *health_path;             /* "" = off */
    cb_allowlist *allowlist;             /* NULL = empty */
    const cb_redis_config *redis;        /* NULL without CloudBaseRedis */
    const struct cb_db_config *db;       /* NULL without CloudBaseDatabase */
    const apr_array_header_t *rate_rules; /* cb_rl_rule, may be NULL */
    int node_count;                      /* CloudBaseNodeCount, 0 = 1 */
    const apr_array_header_t *instances; /* cb_instance *, copied per environment */
} cb_env_spec;

/* Checks the spec (redis_down policies, rate-limit caps) and builds the
 * environment (env_assemble.c); returns the configtest error. */
const char *cb_env_assemble(apr_pool_t *p, const cb_env_spec *spec, cb_env **out);

/* Builds routers and runs each instance's create(); returns errors joined. */
const char *cb_env_build(cb_env *env, apr_pool_t *p);
void cb_env_child_init(cb_env *env, apr_pool_t *pchild);
/* Opens the database pool and applies migrations (env_db.c); NULL or what
 * to log. Call before cb_env_child_init. */
const char *cb_env_db_child_init(cb_env *env, apr_pool_t *pchild);

/* ------------------------------------------------------------- logging */

/* Where cb_log_* lines go (log.c): set once by the host. request() gets
 * lines of cb_log_req, process() every other line. level is a syslog
 * severity (cb_log_level). */
typedef struct cb_log_host {
    void (*request)(cb_req *req, int level, const char *line);
    void (*process)(int level, const char *line);
} cb_log_host;
void cb_log_set_host(const cb_log_host *host);
/* Remembers a secret option's value; every later log line has it replaced
 * by "[redacted]". Values under 8 bytes are not scrubbed. */
void cb_log_register_secret(const char *value);
/* line with every registered secret replaced. */
const char *cb_log_scrub(apr_pool_t *p, const char *line);

/* ------------------------------------------------------------- requests */

typedef struct cb_req_ops {
    /* Reads up to *len bytes; *len = 0 at the end. */
    apr_status_t (*read)(cb_req *req, char *buf, apr_size_t *len);
    apr_status_t (*write)(cb_req *req, const void *data, apr_size_t len);
    apr_status_t (*flush)(cb_req *req);
    void (*set_content_type)(cb_req *req, const char *type);
    /* 1 when the host knows the client has gone (may be NULL). */
    int (*aborted)(const cb_req *req);
    /* 1 when the host serves req->serve_path itself after the handler
     * (request_files.c); NULL: it cannot. */
    int (*can_serve_files)(const cb_req *req);
    /* Declares the answer's length, so the host sends it as
     * Content-Length instead of chunking (may be NULL). */
    void (*set_content_length)(cb_req *req, apr_off_t length);
} cb_req_ops;

struct cb_req {
    const cb_req_ops *ops;
    void *host;                    /* request_rec * or the test host's */
    apr_pool_t *pool;
    cb_env *env;
    const char *method, *path, *query, *client_ip, *scheme, *request_id;
    apr_table_t *headers_in;
    apr_table_t *headers_out;
    int status;
    int body_started;              /* first write happened */
    int preflight;                 /* answer an OPTIONS/CORS preflight */
    int in_content_phase;          /* writes allowed; before it errors are recorded */
    int close_connection;          /* the host must not reuse the connection */
    cb_match match;
    cb_identity identity;
    /* Proxy routes. */
    const char *proxy_url;
    const cb_upstream *upstream;   /* cb_req_proxy_via, else NULL */
    int64_t proxy_body_limit;      /* 0 = none */
    unsigned proxy_flags;          /* CB_PROXY_* */
    const char *body;              /* read before a proxy hand-off: replayed upstream */
    apr_size_t body_len;
    int body_read;
    apr_table_t *upstream_set;
    apr_array_header_t *upstream_unset; /* const char * */
    /* A failure produced by a phase, written by the host's handler. */
    int error_status;
    const char *error_code, *error_message;
    apr_table_t *error_details;    /* cb_req_set_error_detail; NULL: none */
    int client_gone;               /* a write or flush to the client failed */
    /* Metering (response.c). The host sets started (default: at match),
     * record.bytes_in, record.bytes_out and, for proxy routes,
     * upstream_sent / upstream_first_byte; cb_dispatch_after fills the rest. */
    apr_time_t started;
    apr_time_t upstream_sent, upstream_first_byte; /* 0 = unknown */
    cb_response_record record;
    const cb_instance *active;     /* the instance whose hook or handler runs */
    apr_array_header_t *plugin_data; /* per-instance slots (response.c), lazily */
    void *host_metering;           /* the host's own counters, if any */
    /* cb_req_scan_token_usage: the answer's usage, read as it passes
     * (usage_scan.c, fed by the host's output filter). */
    struct cb_usage_scan *usage_scan;
    /* cb_req_serve_file: the file the host serves once the handler returned. */
    const char *serve_path, *serve_type;
};

/* Completes req->record at the end of the request (cb_dispatch_after). */
void cb_req_finish_record(cb_req *req);
/* A plugin error code registered in the environment, or NULL. */
const cb_error_code_def *cb_env_error_code(const cb_env *env, const char *code);

/* Fills common fields; the host sets ops, host, headers and the request line. */
void cb_req_init(cb_req *req, apr_pool_t *p, cb_env *env);

/* What the host must do after the early phases. */
typedef enum {
    CB_DISPATCH_DECLINE = 0, /* not ours: leave the request alone */
    CB_DISPATCH_RESPOND,     /* run cb_dispatch_respond in the content handler */
    CB_DISPATCH_PROXY        /* hand req->proxy_url to the host's proxy */
} cb_dispatch_action;

/* Early: match the route (sets req->match). DECLINE falls through. */
cb_dispatch_action cb_dispatch_match(cb_req *req);
/* Phases allowlist/CORS -> identity -> policies; for proxy routes also the
 * handler. An error leaves req->error_* set and returns RESPOND. */
cb_dispatch_action cb_dispatch_policies(cb_req *req);
/* Content: writes the pending error, the preflight answer or runs the
 * handler. Returns the final status. */
int cb_dispatch_respond(cb_req *req);
/* After the response: accounting hooks. */
void cb_dispatch_after(cb_req *req);
/* Records an error to be answered in the route's dialect. */
void cb_req_fail(cb_req *req, int status, const char *code, const char *message);
/* A request body as a JSON object (request.c): {} when empty; else
 * NULL with *problem worded for the client. Fuzzed by fuzz_auth_body. */
cb_json *cb_body_json_object(apr_pool_t *p, const char *data, size_t len, const char **problem);

/* Header names compared case-insensitively with '_' and '-' alike, as many
 * upstream stacks (CGI, PHP, WSGI) read them. */
int cb_header_names_match(const char *a, const char *b);
int cb_header_name_has_prefix(const char *name, const char *prefix);
/* Removes every header whose name matches name (or, with as_prefix, starts
 * with it) under that comparison. */
void cb_header_unset_folded(apr_table_t *headers, const char *name, int as_prefix);

/* The method and path of a raw request line ("GET /a?b HTTP/1.1"), read
 * when httpd refused the line before parsing it (a 414 leaves it cut at
 * LimitRequestLine). The target must be an absolute path; APR's URI parser
 * reads it. Returns 0 when the line names no path. */
int cb_request_line_target(apr_pool_t *p, const char *line, const char **method,
                           const char **path);

/* Removes and sets the headers a proxy route asked for (upstream side);
 * a client's copies under any spelling of those names are removed. */
void cb_req_apply_upstream_headers(const cb_req *req, apr_table_t *headers);

/* ------------------------------------------------------------- host rules */

/* What the host knows about an error it produced itself for a gateway
 * request (gateway_rules.c). */
typedef struct cb_host_error_facts {
    int status;                /* the host's status */
    int proxied;               /* the request was handed to the host's proxy */
    int upstream_timed_out;    /* the proxy noted a read timeout */
    int64_t upstream_timeout_ms; /* the route's upstream timeout, 0 = default */
    int64_t body_limit;        /* the route's body cap, 0 = none */
    const char *path;          /* the raw request path, or NULL */
} cb_host_error_facts;

typedef struct cb_host_error {
    int status;
    const char *code, *message; /* CloudBase code; a message for the client */
} cb_host_error;

/* The answer in the route's dialect for an error the host made. */
cb_host_error cb_describe_host_error(apr_pool_t *p, const cb_host_error_facts *f);
/* text/..., application/json or a +json type. */
int cb_is_text_type(const char *type);
/* The Content-Disposition rule: 1 when a proxied answer must carry
 * "attachment" (CB_PROXY_ATTACHMENT; answers to GET or HEAD and non-text
 * answers; never an upgrade or an event stream). */
int cb_proxy_answer_is_attachment(unsigned proxy_flags, int status, const char *method,
                                  const char *content_type);
/* Answer headers the gateway sets itself (NULL-terminated); when the
 * gateway set one, an upstream's copy is dropped. */
const char *const *cb_gateway_answer_headers(void);

/* The core's own GET {health_path} route. */
cb_status cb_health_handler(cb_req *req, void *unused);

/* http_cert.c: a certificate date as libcurl's certificate info writes
 * it ("Dec  4 18:11:13 2026 GMT"); 0 when text is not one. */
apr_time_t cb_cert_time_parse(const char *text);

#endif
