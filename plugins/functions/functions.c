/*
 * functions.c: the functions plugin's descriptor: options, fixed routes, and
 * create(), which parses every configured function, Cloud Run service,
 * HTTP access route, AI provider and agent, declares their upstreams and
 * gives each capped service a per-node in-flight counter.
 * See docs/plugins/functions.md.
 */
#include <string.h>

#include <apr_strings.h>

#include "functions.h"

static const char *const auth_levels[] = {"none", "any", "user", "admin", NULL};

/* Defaults and bounds live here only (entries' own k=v overrides are
 * checked by parse.c). */
static const cb_option_def options[] = {
    {.name = "function", .type = CB_OPT_LIST,
     .help = "NAME URL [auth=none|any|user|admin] [timeout=15s] [max_body=6m] [max_concurrency=N] "
             "[qualifier=VERSION]"},
    {.name = "cloudrun", .type = CB_OPT_LIST,
     .help = "NAME URL [auth=...] [timeout=...] [max_body=...] [max_concurrency=N] "
             "[attachment=on|off] [websocket=on|off]"},
    {.name = "http_route", .type = CB_OPT_LIST,
     .help = "PATH function=NAME|cloudrun=NAME [auth=on|off|none|any|user|admin] [pass_path=on|off]"},
    {.name = "ai_provider", .type = CB_OPT_LIST,
     .help = "NAME BASE_URL key=file:PATH|env:NAME [auth=...] [timeout=...] [max_concurrency=N]"},
    {.name = "agent", .type = CB_OPT_LIST,
     .help = "AGENT_ID URL [key=file:PATH|env:NAME] [auth=...] [timeout=...] [max_concurrency=N]"},
    {.name = "default_auth", .type = CB_OPT_ENUM, .default_value = "any", .choices = auth_levels,
     .help = "auth level of entries without auth="},
    {.name = "default_timeout", .type = CB_OPT_DURATION, .default_value = "15s", CB_OPT_MIN(1),
     .help = "upstream timeout of entries without timeout="},
    {.name = "default_max_body", .type = CB_OPT_SIZE, .default_value = "6m", CB_OPT_MIN(1),
     .help = "body cap of entries without max_body="},
    {.name = "default_max_concurrency", .type = CB_OPT_INT, .default_value = "100", CB_OPT_MIN(0),
     .help = "concurrent requests per entry and node without max_concurrency= (0 = unlimited)"},
    {.name = "strip_credentials", .type = CB_OPT_BOOL, .default_value = "on",
     .help = "remove the caller's Authorization/X-Api-Key once the gateway verified them"},
    {0}
};

#define PROXY_ROUTE(method_, pattern_, handler_) \
    {.method = method_, .pattern = pattern_, .handler = handler_, .auth = CB_AUTH_NONE, \
     .dialect = CB_DIALECT_CLOUDBASE, .flags = CB_ROUTE_PROXY}

static const char *const service_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                              "OPTIONS", NULL};

static const cb_route_def routes[] = {
    PROXY_ROUTE("POST", "/v1/functions/{name}", fn_call_function),
    PROXY_ROUTE("POST", "/v1/ai/{provider}/chat/completions", fn_ai_chat),
    PROXY_ROUTE("POST", "/v1/ai/{provider}/chat/completion", fn_ai_chat),
    PROXY_ROUTE("POST", "/v1/aibot/openai/chat/completions", fn_agent_chat),
    {0}
};

/* Every method of a service, at PREFIX and PREFIX/{path*}. */
static void add_service_routes(cb_plugin_ctx *ctx, const char *prefix, cb_handler_fn handler)
{
    for (int i = 0; service_methods[i]; i++) {
        cb_route_def route = PROXY_ROUTE(service_methods[i], prefix, handler);
        cb_ctx_add_route(ctx, &route);
        route.pattern = apr_pstrcat(cb_ctx_pool(ctx), prefix, "/{path*}", NULL);
        cb_ctx_add_route(ctx, &route);
    }
}

static apr_hash_t *table_of(fn_state *st, fn_kind kind)
{
    switch (kind) {
    case FN_FUNCTION: return st->functions;
    case FN_CLOUDRUN: return st->cloudruns;
    case FN_AI_PROVIDER: return st->providers;
    case FN_AGENT: return st->agents;
    }
    return NULL;
}

/* Parses every line of one list option into its table. */
static int load_services(cb_plugin_ctx *ctx, fn_state *st, const char *option, fn_kind kind,
                         const fn_defaults *defaults, apr_array_header_t *capped)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), option);
    apr_pool_t *p = cb_ctx_pool(ctx);
    apr_hash_t *table = table_of(st, kind);
    int ok = 1;
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        fn_service *svc = apr_palloc(p, sizeof(*svc));
        const char *err = fn_parse_service(p, kind, item->text, defaults, svc);
        const char *key;
        if (err) {
            cb_ctx_error(ctx, "%s at %s:%d: %s", option, item->file ? item->file : "?",
                         item->line, err);
            ok = 0;
            continue;
        }
        key = svc->qualifier ? apr_pstrcat(p, svc->name, "@", svc->qualifier, NULL) : svc->name;
        if (apr_hash_get(table, key, APR_HASH_KEY_STRING)) {
            cb_ctx_error(ctx, "%s at %s:%d: %s is configured twice", option,
                         item->file ? item->file : "?", item->line, key);
            ok = 0;
            continue;
        }
        svc->upstream = cb_ctx_upstream(ctx, svc->url, svc->timeout_ms,
                                        kind == FN_CLOUDRUN && svc->websocket
                                            ? CB_UPSTREAM_WEBSOCKET : 0);
        if (!svc->upstream) {
            ok = 0;
            continue;
        }
        if (svc->max_concurrency > 0)
            APR_ARRAY_PUSH(capped, fn_service *) = svc;
        apr_hash_set(table, key, APR_HASH_KEY_STRING, svc);
    }
    return ok;
}

static int load_http_routes(cb_plugin_ctx *ctx, fn_state *st)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "http_route");
    apr_pool_t *p = cb_ctx_pool(ctx);
    int ok = 1;
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        fn_http_route *route = apr_palloc(p, sizeof(*route));
        const char *err = fn_parse_http_route(p, item->text, route);
        apr_hash_t *targets;
        if (!err && apr_hash_get(st->http_routes, route->prefix, APR_HASH_KEY_STRING))
            err = apr_psprintf(p, "%s is configured twice", route->prefix);
        if (!err) {
            targets = route->target_kind == FN_TARGET_FUNCTION ? st->functions : st->cloudruns;
            route->target = apr_hash_get(targets, route->target_name, APR_HASH_KEY_STRING);
            if (!route->target)
                err = apr_psprintf(p, "%s %s is not configured in this block",
                                   route->target_kind == FN_TARGET_FUNCTION ? "function"
                                                                            : "cloudrun",
                                   route->target_name);
        }
        if (err) {
            cb_ctx_error(ctx, "http_route at %s:%d: %s", item->file ? item->file : "?",
                         item->line, err);
            ok = 0;
            continue;
        }
        apr_hash_set(st->http_routes, route->prefix, APR_HASH_KEY_STRING, route);
        add_service_routes(ctx, route->prefix, fn_call_http_route);
    }
    return ok;
}

static cb_status functions_create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    fn_state *st = apr_pcalloc(p, sizeof(*st));
    apr_array_header_t *capped = apr_array_make(p, 16, sizeof(fn_service *));
    fn_defaults defaults;
    const char *err;
    int ok;
    if ((err = cb_parse_auth_level(cb_opt_string(o, "default_auth"), 0, &defaults.auth))) {
        cb_ctx_error(ctx, "default_auth: %s", err);
        return CB_ERROR;
    }
    defaults.timeout_ms = cb_opt_duration_ms(o, "default_timeout");
    defaults.max_body = cb_opt_size(o, "default_max_body");
    defaults.max_concurrency = cb_opt_int(o, "default_max_concurrency");
    st->strip_credentials = cb_opt_bool(o, "strip_credentials");
    st->default_max_body = defaults.max_body;
    st->functions = apr_hash_make(p);
    st->cloudruns = apr_hash_make(p);
    st->providers = apr_hash_make(p);
    st->agents = apr_hash_make(p);
    st->http_routes = apr_hash_make(p);

    ok = load_services(ctx, st, "function", FN_FUNCTION, &defaults, capped);
    ok &= load_services(ctx, st, "cloudrun", FN_CLOUDRUN, &defaults, capped);
    ok &= load_services(ctx, st, "ai_provider", FN_AI_PROVIDER, &defaults, capped);
    ok &= load_services(ctx, st, "agent", FN_AGENT, &defaults, capped);
    ok &= load_http_routes(ctx, st);
    if (!ok)
        return CB_ERROR;
    if (capped->nelts) {
        apr_uint32_t *counters = cb_ctx_shared_counters(ctx, capped->nelts);
        if (!counters)
            return CB_ERROR;
        for (int i = 0; i < capped->nelts; i++)
            APR_ARRAY_IDX(capped, i, fn_service *)->in_flight = &counters[i];
    }
    st->agents_min_auth = CB_AUTH_ADMIN;
    for (apr_hash_index_t *hi = apr_hash_first(p, st->agents); hi; hi = apr_hash_next(hi)) {
        const fn_service *agent = apr_hash_this_val(hi);
        if (agent->auth < st->agents_min_auth)
            st->agents_min_auth = agent->auth;
    }
    if (apr_hash_count(st->cloudruns))
        add_service_routes(ctx, "/v1/cloudrun/{name}", fn_call_cloudrun);
    *state = st;
    return CB_OK;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "functions",
    .version = "1.0.0",
    .description = "functions, Cloud Run services, HTTP access routes and the AI proxy",
    .options = options,
    .routes = routes,
    .create = functions_create,
};
