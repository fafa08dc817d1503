/*
 * containers.c: the containers plugin's descriptor: its options (the
 * engine's API socket, the engine timeout, the `agent_type` lines, the
 * private ranges static agent types may be in), the
 * agent types parsed at configtest, its error codes, the TestBase-style
 * container API's routes under /api/v1/ (the registry needs
 * CloudBaseDatabase) and the reaper task. See docs/plugins/containers.md.
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "cloudbase/log.h"
#include "containers.h"

static const cb_option_def options[] = {
    {.name = "engine_socket", .type = CB_OPT_STRING, .default_value = "/run/podman/podman.sock",
     .help = "the container engine's API socket (Docker Engine API v1.41: Podman's "
             "`podman system service` or Docker's /var/run/docker.sock)"},
    {.name = "engine_timeout", .type = CB_OPT_DURATION, .default_value = "30s", CB_OPT_MIN(500),
     CB_OPT_MAX(600000), .help = "the longest one engine call (create, start, stop, ...) may take"},
    {.name = "reap_interval", .type = CB_OPT_DURATION, .default_value = "10s", CB_OPT_MIN(100),
     CB_OPT_MAX(3600000),
     .help = "how often containers past their timeout are removed (non-persistent ones)"},
    {.name = "agent_type", .type = CB_OPT_LIST,
     .help = "NAME [driver=engine] image=IMAGE command=PROGRAM[,ARG...] [memory=SIZE] [cpus=N] "
             "[network=none|host], or NAME driver=static url=http(s)://... (a container that "
             "already runs); the first line is the default agentType"},
    {.name = "allow_private", .type = CB_OPT_STRING,
     .help = "address ranges (CIDR) of loopback or private addresses static agent types' urls "
             "may be in; none by default"},
    {.name = "invoke_workspaces", .type = CB_OPT_STRING, .default_value = "",
     .help = "the host directory holding /invoke/stdout's workspaces (bound into the task "
             "containers at /workspace); empty: /invoke/stdout answers 503"},
    {.name = "invoke_repo_prefix", .type = CB_OPT_LIST,
     .help = "a start repo_url must have to be cloned (one per line); none: https://github.com/"},
    {.name = "git_program", .type = CB_OPT_STRING, .default_value = "/usr/bin/git",
     .help = "the git that clones /invoke/stdout's repositories on the gateway's host"},
    {.name = "clone_timeout", .type = CB_OPT_DURATION, .default_value = "120s", CB_OPT_MIN(1000),
     CB_OPT_MAX(3600000), .help = "the longest one repository clone may take"},
    {.name = "invoke_workspace_ttl", .type = CB_OPT_DURATION, .default_value = "7d",
     CB_OPT_MIN(0), .help = "an /invoke/stdout thread's workspace idle this long is removed "
                            "by the reaper (its thread_id then answers 404); 0: kept forever"},
    {0}
};

#define API "/api/v1/containers"

static const cb_route_def routes[] = {
    {.method = "POST", .pattern = API, .handler = ct_api_create, .auth = CB_AUTH_USER,
     .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API, .handler = ct_api_list, .auth = CB_AUTH_USER,
     .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API "/{id}", .handler = ct_api_get, .auth = CB_AUTH_USER,
     .dialect = CB_DIALECT_TESTBASE},
    {.method = "DELETE", .pattern = API "/{id}", .handler = ct_api_delete, .auth = CB_AUTH_USER,
     .dialect = CB_DIALECT_TESTBASE},
    {.method = "PATCH", .pattern = API "/{id}", .handler = ct_api_patch, .auth = CB_AUTH_USER,
     .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API "/{id}/health", .handler = ct_api_health,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API "/{id}/logs", .handler = ct_api_logs, .auth = CB_AUTH_USER,
     .dialect = CB_DIALECT_TESTBASE},
    {.method = "POST", .pattern = API "/{id}/execute", .handler = ct_api_execute,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "POST", .pattern = API "/{id}/mcp-servers", .handler = ct_api_mcp_add,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API "/{id}/mcp-servers", .handler = ct_api_mcp_list,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "DELETE", .pattern = API "/{id}/mcp-servers/{name}", .handler = ct_api_mcp_delete,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "POST", .pattern = API "/{id}/packages", .handler = ct_api_packages,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API "/{id}/files", .handler = ct_api_files_list,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "GET", .pattern = API "/{id}/files/download", .handler = ct_api_files_download,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "PUT", .pattern = API "/{id}/files", .handler = ct_api_files_put,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "DELETE", .pattern = API "/{id}/files", .handler = ct_api_files_delete,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TESTBASE},
    {.method = "POST", .pattern = "/invoke/stdout", .handler = ct_invoke_stdout,
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_CLOUDBASE},
    {0}
};

static const cb_error_code_def container_not_found = {
    .code = "CONTAINER_NOT_FOUND", .status = 404, .oauth = "not_found",
    .testbase = "container_not_found", .message = "the container was not found"};
static const cb_error_code_def mcp_failure = {
    .code = "MCP_FAILURE", .status = 502, .oauth = "temporarily_unavailable",
    .testbase = "mcp_failure", .message = "the MCP configuration could not be applied"};
static const cb_error_code_def container_timeout = {
    .code = "CONTAINER_TIMEOUT", .status = 504, .oauth = "temporarily_unavailable",
    .testbase = "container_timeout", .message = "the container did not answer in time"};

static int load_agent_types(cb_plugin_ctx *ctx, ct_plugin *ct)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "agent_type");
    int ok = 1;
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        ct_agent_type *t = apr_pcalloc(ct->pool, sizeof(*t));
        const char *err = ct_agent_type_parse(ct->pool, item->text, t);
        if (!err && apr_hash_get(ct->types, t->name, APR_HASH_KEY_STRING))
            err = apr_psprintf(ct->pool, "agent type %s is configured twice", t->name);
        if (!err && t->driver == CT_DRIVER_STATIC)
            err = ct_static_check_url(ct->pool, t, ct->allowed_private);
        if (err) {
            cb_ctx_error(ctx, "agent_type at %s:%d: %s", item->file ? item->file : "?",
                         item->line, err);
            ok = 0;
            continue;
        }
        apr_hash_set(ct->types, t->name, APR_HASH_KEY_STRING, t);
        if (t->driver == CT_DRIVER_STATIC && !ct->http)
            ct->http = cb_http_client_create(ct->pool, 8);
        if (!ct->default_type)
            ct->default_type = t->name;
        if (!ct->invoke_type && t->driver == CT_DRIVER_ENGINE)
            ct->invoke_type = t->name;
    }
    return ok;
}

static int load_invoke_options(cb_plugin_ctx *ctx, ct_plugin *ct)
{
    const cb_options *o = cb_ctx_options(ctx);
    const apr_array_header_t *lines = cb_opt_list(o, "invoke_repo_prefix");
    apr_array_header_t *prefixes = apr_array_make(ct->pool, 2, sizeof(const char *));
    ct->invoke_workspaces = cb_opt_string(o, "invoke_workspaces");
    ct->git_program = cb_opt_string(o, "git_program");
    ct->clone_timeout_ms = cb_opt_duration_ms(o, "clone_timeout");
    ct->invoke_workspace_ttl_ms = cb_opt_duration_ms(o, "invoke_workspace_ttl");
    if (*ct->invoke_workspaces && ct->invoke_workspaces[0] != '/') {
        cb_ctx_error(ctx, "invoke_workspaces: an absolute directory");
        return 0;
    }
    if (ct->git_program[0] != '/') {
        cb_ctx_error(ctx, "git_program: an absolute path");
        return 0;
    }
    for (int i = 0; i < lines->nelts; i++)
        APR_ARRAY_PUSH(prefixes, const char *) =
            APR_ARRAY_IDX(lines, i, cb_option_item).text;
    if (!prefixes->nelts)
        APR_ARRAY_PUSH(prefixes, const char *) = "https://github.com/";
    ct->repo_prefixes = prefixes;
    return 1;
}

static cb_status containers_create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    ct_plugin *ct = apr_pcalloc(cb_ctx_pool(ctx), sizeof(*ct));
    const char *socket_path = cb_opt_string(o, "engine_socket");
    ct->pool = cb_ctx_pool(ctx);
    ct->env = cb_ctx_env(ctx);
    ct->types = apr_hash_make(ct->pool);
    if (!socket_path || socket_path[0] != '/' || strlen(socket_path) > 100) {
        cb_ctx_error(ctx, "engine_socket: an absolute path of at most 100 characters "
                          "(a unix socket's limit)");
        return CB_ERROR;
    }
    ct->engine.socket_path = socket_path;
    ct->engine.timeout_ms = cb_opt_duration_ms(o, "engine_timeout");
    if (cb_opt_string(o, "allow_private")) {
        cb_cidr_list *ranges;
        const char *err = cb_cidr_list_parse(ct->pool, cb_opt_string(o, "allow_private"), &ranges);
        if (err) {
            cb_ctx_error(ctx, "allow_private: %s", err);
            return CB_ERROR;
        }
        ct->allowed_private = ranges;
    }
    if (!load_invoke_options(ctx, ct) || !load_agent_types(ctx, ct))
        return CB_ERROR;
    if (!ct->default_type) {
        cb_ctx_error(ctx, "containers: add at least one agent_type line (e.g. agent_type worker "
                          "image=docker.io/library/node:20 command=/usr/local/bin/agent)");
        return CB_ERROR;
    }
    if (!cb_ctx_db(ctx)) {
        cb_ctx_error(ctx, "containers: the registry lives in a database: add CloudBaseDatabase");
        return CB_ERROR;
    }
    ct->db = cb_ctx_db(ctx);
    ct->redis = cb_ctx_redis(ctx); /* the live state; without it the fields are null */
    ct_live_init();
    cb_ctx_db_migrations(ctx, ct_migrations, -1);
    cb_ctx_add_task(ctx, "containers", apr_time_from_msec(cb_opt_duration_ms(o, "reap_interval")),
                    ct_reap);
    if (cb_ctx_register_error(ctx, &container_not_found) != CB_OK ||
        cb_ctx_register_error(ctx, &container_timeout) != CB_OK ||
        cb_ctx_register_error(ctx, &mcp_failure) != CB_OK)
        return CB_ERROR;
    *state = ct;
    return CB_OK;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "containers",
    .version = "0.1.0",
    .description = "agent containers on a Docker Engine API (Podman, Docker): TestBase API",
    .options = options,
    .routes = routes,
    .create = containers_create,
};
