/*
 * uptime.c: the uptime plugin's descriptor: its options (`monitor` lines,
 * the private ranges checks may reach, the tick, the history kept, the
 * status paths and their cache, the API, the notification channels), the monitors parsed at
 * configtest, the notifier, the push route,
 * the TOSE-style API's routes (with a database) and the background task
 * that schedules the checks. See docs/plugins/uptime.md.
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "cloudbase/log.h"
#include "uptime.h"

static const char *const auth_levels[] = {"none", "any", "user", "admin", NULL};

static const cb_option_def options[] = {
    {.name = "monitor", .type = CB_OPT_LIST,
     .help = "NAME http(s)://URL|tcp://HOST:PORT|push://TOKEN [interval=60s] [timeout=48s] "
             "[method=GET] [accept=200-299] [keyword=WORD] [invert_keyword=on] "
             "[headers=Name:Value;...] [retries=0] [up_retries=0] [resend=0] [maintenance=on] "
             "[discord_webhook_url=URL] [notify_email=ADDRESS] [max_redirects=10] "
             "[expiry_warning=DAYS,...] [ca_file=PEM] [ignore_tls=on]"},
    {.name = "notify", .type = CB_OPT_LIST,
     .help = "a notification channel: discord NAME URL | webhook NAME URL secret=... | "
             "email NAME smtp://HOST:PORT from=... to=... (docs/notifications.md)"},
    {.name = "notify_group_window", .type = CB_OPT_DURATION, .default_value = "2s",
     CB_OPT_MIN(100), CB_OPT_MAX(60000),
     .help = "transitions of one kind within this window go out as one message"},
    {.name = "allow_private", .type = CB_OPT_STRING,
     .help = "address ranges (CIDR) of loopback or private addresses checks may reach; "
             "none by default"},
    {.name = "tick", .type = CB_OPT_DURATION, .default_value = "250ms", CB_OPT_MIN(50),
     CB_OPT_MAX(5000), .help = "how often the scheduler looks for due checks"},
    {.name = "history", .type = CB_OPT_INT, .default_value = "1440", CB_OPT_MIN(10),
     CB_OPT_MAX(100000), .help = "recent checks kept per monitor in Redis"},
    {.name = "api_reload", .type = CB_OPT_DURATION, .default_value = "5s", CB_OPT_MIN(500),
     CB_OPT_MAX(600000),
     .help = "how often the scheduler reloads the monitors set through the API"},
    {.name = "api", .type = CB_OPT_BOOL, .default_value = "on",
     .help = "serve GET/PUT /api/workspaces/{slug}/projects/{project}/uptime (needs "
             "CloudBaseDatabase)"},
    {.name = "status_page", .type = CB_OPT_STRING, .default_value = "/status",
     .help = "path of the HTML status page (with PATH/style.css and PATH/badge/NAME.svg), or off"},
    {.name = "status_cache", .type = CB_OPT_DURATION, .default_value = "5s", CB_OPT_MIN(0),
     CB_OPT_MAX(300000),
     .help = "how long a rendered status page, JSON or badge is served from memory (0: off)"},
    {.name = "status_refresh", .type = CB_OPT_DURATION, .default_value = "30s", CB_OPT_MIN(1000),
     CB_OPT_MAX(3600000), .help = "how often the status page's script refreshes it in place"},
    {.name = "status_title", .type = CB_OPT_STRING, .default_value = "Service status",
     .help = "the status page's title"},
    {.name = "status_auth", .type = CB_OPT_ENUM, .default_value = "none", .choices = auth_levels,
     .help = "who may see the status page, its badges and the status JSON"},
    {.name = "status_json", .type = CB_OPT_STRING, .default_value = "/uptime/status.json",
     .help = "path of the public status JSON, or off"},
    {0}
};

#define UP_API_PATTERN "/api/workspaces/{slug}/projects/{project}/uptime"

static const cb_route_def routes[] = {
    {.method = "GET", .pattern = "/api/push/{token}", .handler = up_push_route,
     .auth = CB_AUTH_NONE, .dialect = CB_DIALECT_CLOUDBASE},
    {0}
};

static int load_monitors(cb_plugin_ctx *ctx, up_plugin *up)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "monitor");
    apr_hash_t *names = apr_hash_make(up->pool), *tokens = apr_hash_make(up->pool);
    int ok = 1;
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        up_monitor m;
        const char *err = up_parse_monitor(up->pool, item->text, up->allowed_private, &m);
        if (!err && apr_hash_get(names, m.name, APR_HASH_KEY_STRING))
            err = apr_psprintf(up->pool, "monitor %s is configured twice", m.name);
        if (!err && m.kind == UP_KIND_PUSH &&
            apr_hash_get(tokens, m.push_token, APR_HASH_KEY_STRING))
            err = "two push monitors have the same token";
        if (err) {
            cb_ctx_error(ctx, "monitor at %s:%d: %s", item->file ? item->file : "?", item->line,
                         err);
            ok = 0;
            continue;
        }
        apr_hash_set(names, m.name, APR_HASH_KEY_STRING, "");
        if (m.kind == UP_KIND_PUSH)
            apr_hash_set(tokens, m.push_token, APR_HASH_KEY_STRING, "");
        APR_ARRAY_PUSH(up->monitors, up_monitor) = m;
    }
    return ok;
}

/* The notifier: for the `notify` lines, and for the destinations of
 * monitors of their own (monitor lines, the API). Without any of these,
 * transitions are only logged and kept in Redis. */
static int create_notifier(cb_plugin_ctx *ctx, up_plugin *up, int api_on)
{
    const cb_options *o = cb_ctx_options(ctx);
    cb_notifier_config cfg = {0};
    int own_destinations = 0;
    cfg.channels = cb_opt_list(o, "notify");
    for (int i = 0; i < up->monitors->nelts; i++) {
        const up_monitor *m = &APR_ARRAY_IDX(up->monitors, i, up_monitor);
        own_destinations |= m->discord_webhook_url || m->notify_email;
    }
    if ((!cfg.channels || cfg.channels->nelts == 0) && !own_destinations &&
        !(api_on && up->redis))
        return 1;
    cfg.group_window_ms = cb_opt_duration_ms(o, "notify_group_window");
    up->notifier = cb_notifier_create(ctx, "uptime", &cfg);
    return up->notifier != NULL;
}

static int path_ok(cb_plugin_ctx *ctx, const char *option, const char *path)
{
    if (path[0] == '/' && !strpbrk(path, "{}?#\"") && strlen(path) < 200)
        return 1;
    cb_ctx_error(ctx, "%s: a path starting with / (no {, }, ?, #), or off", option);
    return 0;
}

/* The status JSON, page, style sheet and badges at their paths. */
static int add_status_routes(cb_plugin_ctx *ctx, up_plugin *up, const char *json_path,
                             const char *page_path, cb_auth_level auth)
{
    apr_pool_t *p = cb_ctx_pool(ctx);
    cb_route_def route = {.method = "GET", .auth = auth, .dialect = CB_DIALECT_CLOUDBASE};
    if (strcmp(json_path, "off") != 0) {
        if (!path_ok(ctx, "status_json", json_path))
            return 0;
        route.pattern = json_path;
        route.handler = up_status_json;
        cb_ctx_add_route(ctx, &route);
    }
    if (strcmp(page_path, "off") != 0) {
        if (!path_ok(ctx, "status_page", page_path))
            return 0;
        while (strlen(page_path) > 1 && page_path[strlen(page_path) - 1] == '/')
            page_path = apr_pstrndup(p, page_path, strlen(page_path) - 1);
        up->status_page = strcmp(page_path, "/") == 0 ? "" : page_path;
        route.pattern = page_path;
        route.handler = up_status_page;
        cb_ctx_add_route(ctx, &route);
        route.pattern = apr_pstrcat(p, up->status_page, "/style.css", NULL);
        route.handler = up_status_css;
        route.auth = CB_AUTH_NONE;
        cb_ctx_add_route(ctx, &route);
        route.pattern = apr_pstrcat(p, up->status_page, "/status.js", NULL);
        route.handler = up_status_script;
        cb_ctx_add_route(ctx, &route);
        route.pattern = apr_pstrcat(p, up->status_page, "/badge/{file}", NULL);
        route.handler = up_status_badge;
        route.auth = auth;
        cb_ctx_add_route(ctx, &route);
    }
    return 1;
}

static cb_status uptime_create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    up_plugin *up = apr_pcalloc(p, sizeof(*up));
    const char *ranges = cb_opt_string(o, "allow_private");
    const char *status_json = cb_opt_string(o, "status_json");
    const char *status_page = cb_opt_string(o, "status_page");
    cb_auth_level status_auth;
    up->pool = p;
    up->env = cb_ctx_env(ctx);
    up->redis = cb_ctx_redis(ctx);
    up->history_len = cb_opt_int(o, "history");
    up->page_title = cb_opt_string(o, "status_title");
    up->status_refresh_s = cb_opt_duration_ms(o, "status_refresh") / 1000;
    up->status_cache = up_status_cache_create(p, cb_opt_duration_ms(o, "status_cache"));
    if (!up->status_cache) {
        cb_ctx_error(ctx, "uptime: cannot create the status cache's lock");
        return CB_ERROR;
    }
    up->monitors = apr_array_make(p, 8, sizeof(up_monitor));
    if (ranges) {
        cb_cidr_list *list;
        const char *err = cb_cidr_list_parse(p, ranges, &list);
        if (err) {
            cb_ctx_error(ctx, "allow_private: %s", err);
            return CB_ERROR;
        }
        up->allowed_private = list;
        up->allow_private_text = ranges;
    }
    if (!load_monitors(ctx, up))
        return CB_ERROR;
    up->api_reload_ms = cb_opt_duration_ms(o, "api_reload");
    up->tick_ms = cb_opt_duration_ms(o, "tick");
    up->db = cb_ctx_db(ctx);
    if (up->db) {
        cb_ctx_db_migrations(ctx, up_migrations, -1);
        if (cb_opt_bool(o, "api")) {
            cb_route_def get = {.method = "GET", .pattern = UP_API_PATTERN,
                                .handler = up_api_get, .auth = CB_AUTH_USER,
                                .dialect = CB_DIALECT_TOSE};
            cb_route_def put = get;
            put.method = "PUT";
            put.handler = up_api_put;
            cb_ctx_add_route(ctx, &get);
            cb_ctx_add_route(ctx, &put);
        }
    } else if (cb_opt_bool(o, "api") && cb_opt_is_set(o, "api")) {
        cb_ctx_error(ctx, "uptime: api on needs CloudBaseDatabase (the settings live there)");
        return CB_ERROR;
    }
    if (!create_notifier(ctx, up, up->db && cb_opt_bool(o, "api")))
        return CB_ERROR;
    if (cb_parse_auth_level(cb_opt_string(o, "status_auth"), 0, &status_auth))
        return CB_ERROR; /* the option table's choices make this unreachable */
    if (!add_status_routes(ctx, up, status_json, status_page, status_auth))
        return CB_ERROR;
    if (!up->redis && up->monitors->nelts)
        cb_log_ctx(ctx, CB_LOG_WARNING, "uptime: no CloudBaseRedis: every node checks every "
                                        "monitor and push monitors cannot work");
    if (up->monitors->nelts || up->db)
        cb_ctx_add_task(ctx, "uptime", apr_time_from_msec(cb_opt_duration_ms(o, "tick")), up_tick);
    *state = up;
    return CB_OK;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "uptime",
    .version = "1.0.0",
    .description = "uptime monitors: HTTP(S), TCP and push checks, anti-flapping states",
    .options = options,
    .routes = routes,
    .create = uptime_create,
};
