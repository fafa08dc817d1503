/*
 * mcp.c: the MCP servers of a caller's container: POST, GET and DELETE
 * /api/v1/containers/{id}/mcp-servers[/{name}]. A hosted server is
 * {type:"hosted", name, url, bearerToken?}: an http(s) URL whose host
 * passes the outbound guard (no metadata, link-local, loopback or private
 * address). A local one is {type:"local", name, package?, command?,
 * args?, env?}, launched by the agent inside the container (npx -y PACKAGE
 * when only a package is given). The set is kept in the registry row and
 * written into the container as /workspace/.mcp.json ({"mcpServers":
 * {...}}, the agents' project format) through the archive API; a token is
 * never shown back. Writing the file failing is mcp_failure.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "cloudbase/http.h"
#include "cloudbase/log.h"
#include "cloudbase/values.h"
#include "containers.h"

#define MAX_MCP_BODY (64 * 1024)
#define MAX_SERVERS 32
#define CONFIG_DIR "/workspace"
#define CONFIG_NAME ".mcp.json"

static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static int strings_only(const cb_json *v, int object)
{
    cb_json_iter it = {0};
    const char *key;
    cb_json *item;
    if (!v)
        return 1;
    if (object) {
        if (!cb_json_is_object(v))
            return 0;
        while (cb_json_object_next(v, &it, &key, &item))
            if (!cb_json_is_string(item))
                return 0;
        return 1;
    }
    if (!cb_json_is_array(v))
        return 0;
    for (size_t i = 0; i < cb_json_array_size(v); i++)
        if (!cb_json_is_string(cb_json_array_get(v, i)))
            return 0;
    return 1;
}

const char *ct_mcp_server_parse(apr_pool_t *p, const cb_json *server, const char **name)
{
    const char *type = cb_json_get_string(server, "type");
    *name = cb_json_get_string(server, "name");
    if (!name_ok(*name))
        return "server.name is 1 to 64 letters, digits, '-' or '_'";
    if (type && strcmp(type, "hosted") == 0) {
        const char *url = cb_json_get_string(server, "url"), *err;
        cb_url parsed;
        cb_json *token = cb_json_get(server, "bearerToken");
        if (!url || (err = cb_parse_url(p, url, &parsed)))
            return "server.url must be an absolute http(s) URL";
        if ((err = cb_url_guard_host_as_written(parsed.host, NULL)))
            return apr_pstrcat(p, "server.url is refused: ", err, NULL);
        if (token && !cb_json_is_string(token))
            return "server.bearerToken must be a string";
        return NULL;
    }
    if (type && strcmp(type, "local") == 0) {
        const char *command = cb_json_get_string(server, "command");
        const char *package = cb_json_get_string(server, "package");
        if ((!command || !*command) && (!package || !*package))
            return "a local server needs command or package";
        if (!strings_only(cb_json_get(server, "args"), 0) ||
            !strings_only(cb_json_get(server, "env"), 1))
            return "server.args is an array of strings and server.env an object of strings";
        return NULL;
    }
    return "server.type is hosted or local";
}

/* The server as the agent's config names it. */
static cb_json *config_entry(apr_pool_t *p, const cb_json *s)
{
    cb_json *out = cb_json_new_object(p);
    const char *type = cb_json_get_string(s, "type");
    if (strcmp(type, "hosted") == 0) {
        const char *token = cb_json_get_string(s, "bearerToken");
        cb_json_set_string(out, "type", "http");
        cb_json_set_string(out, "url", cb_json_get_string(s, "url"));
        if (token) {
            cb_json *headers = cb_json_new_object(p);
            cb_json_set_string(headers, "Authorization", apr_pstrcat(p, "Bearer ", token, NULL));
            cb_json_set(out, "headers", headers);
        }
        return out;
    }
    if (cb_json_get_string(s, "command")) {
        cb_json_set_string(out, "command", cb_json_get_string(s, "command"));
        cb_json_set(out, "args", cb_json_get(s, "args") ? cb_json_get(s, "args")
                                                         : cb_json_new_array(p));
    } else {
        cb_json *args = cb_json_new_array(p);
        cb_json_append_string(args, "-y");
        cb_json_append_string(args, cb_json_get_string(s, "package"));
        cb_json_set_string(out, "command", "npx");
        cb_json_set(out, "args", args);
    }
    if (cb_json_get(s, "env"))
        cb_json_set(out, "env", cb_json_get(s, "env"));
    return out;
}

/* The server as the API shows it: without its token. */
static cb_json *public_entry(apr_pool_t *p, const cb_json *s)
{
    cb_json *out = cb_json_new_object(p);
    cb_json_iter it = {0};
    const char *key;
    cb_json *v;
    while (cb_json_object_next(s, &it, &key, &v)) {
        if (strcmp(key, "bearerToken") == 0)
            cb_json_set_bool(out, "hasBearerToken", 1);
        else if (strcmp(key, "env") != 0)
            cb_json_set(out, key, v);
    }
    return out;
}

static cb_json *stored_servers(apr_pool_t *p, const ct_record *r)
{
    cb_json *s = r->mcp_json ? cb_json_parse(p, r->mcp_json, strlen(r->mcp_json), NULL) : NULL;
    return s && cb_json_is_object(s) ? s : cb_json_new_object(p);
}

/* Writes the config into the container, then the registry: CB_OK, or the
 * answer was sent. */
static cb_status save(cb_req *req, ct_plugin *ct, ct_record *r, cb_json *servers)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *config = cb_json_new_object(p), *entries = cb_json_new_object(p);
    cb_json_iter it = {0};
    const char *key, *text, *archive;
    cb_json *v;
    size_t archive_len;
    ct_engine_reply reply;
    while (cb_json_object_next(servers, &it, &key, &v))
        cb_json_set(entries, key, config_entry(p, v));
    cb_json_set(config, "mcpServers", entries);
    text = cb_json_dump(p, config);
    archive = ct_tar_one_file(p, CONFIG_NAME, text, strlen(text), apr_time_sec(apr_time_now()),
                              &archive_len);
    ct_engine_send(&ct->engine, p, "PUT",
                   apr_pstrcat(p, "/containers/", r->engine_id, "/archive?path=" CONFIG_DIR,
                               NULL),
                   "application/x-tar", archive, archive_len, &reply);
    if (reply.status != 200) {
        cb_log_req(req, CB_LOG_WARNING, "containers: MCP configuration of %s not written: "
                   "engine %ld (%s)", r->id, reply.status, reply.error ? reply.error : "");
        return cb_req_send_error_code(req, "MCP_FAILURE",
                                      "the MCP configuration could not be written into the "
                                      "container");
    }
    r->mcp_json = cb_json_dump(p, servers);
    if (ct_registry_set_mcp(ct->db, p, ct->env, r->id, r->mcp_json) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the container registry is unavailable; try again shortly");
    return CB_OK;
}

cb_status ct_api_mcp_add(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    cb_json *body, *server, *servers;
    const char *name, *err;
    cb_status st = ct_own_engine_container(req, state, &r, "MCP servers");
    if (st != CB_OK)
        return st;
    if ((st = cb_req_read_json_object(req, MAX_MCP_BODY, &body)) != CB_OK)
        return st;
    server = cb_json_get(body, "server");
    if (!server || !cb_json_is_object(server))
        return cb_req_send_error(req, 400, "INVALID_PARAM", "server (an object) is required");
    if ((err = ct_mcp_server_parse(p, server, &name)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    servers = stored_servers(p, &r);
    if (!cb_json_get(servers, name) && cb_json_object_size(servers) >= MAX_SERVERS)
        return cb_req_send_error(req, 400, "INVALID_PARAM", "at most 32 MCP servers");
    cb_json_set(servers, name, server);
    if ((st = save(req, state, &r, servers)) != CB_OK)
        return st;
    return cb_req_send_json(req, 201, cb_json_dump(p, public_entry(p, server)));
}

cb_json *ct_mcp_public_list(apr_pool_t *p, const ct_record *r)
{
    cb_json *servers = stored_servers(p, r), *list = cb_json_new_array(p), *v;
    cb_json_iter it = {0};
    const char *key;
    while (cb_json_object_next(servers, &it, &key, &v))
        cb_json_append(list, public_entry(p, v));
    return list;
}

cb_status ct_api_mcp_list(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    cb_json *out = cb_json_new_object(p);
    cb_status st = ct_own_container(req, &r);
    (void)state;
    if (st != CB_OK)
        return st;
    cb_json_set(out, "servers", ct_mcp_public_list(p, &r));
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}

cb_status ct_api_mcp_delete(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    cb_json *servers, *kept = cb_json_new_object(p), *v, *out;
    cb_json_iter it = {0};
    const char *key, *name = cb_req_param(req, "name");
    int found = 0;
    cb_status st = ct_own_engine_container(req, state, &r, "MCP servers");
    if (st != CB_OK)
        return st;
    servers = stored_servers(p, &r);
    while (cb_json_object_next(servers, &it, &key, &v)) {
        if (strcmp(key, name) == 0)
            found = 1;
        else
            cb_json_set(kept, key, v);
    }
    if (!found)
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND",
                                 apr_pstrcat(p, "no MCP server named ", name, NULL));
    if ((st = save(req, state, &r, kept)) != CB_OK)
        return st;
    out = cb_json_new_object(p);
    cb_json_set_string(out, "name", name);
    cb_json_set_bool(out, "deleted", 1);
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}
