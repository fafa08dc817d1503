/*
 * packages.c: POST /api/v1/containers/{id}/packages {package, env?}:
 * installs an npm package inside the caller's container (an exec of
 * `npm install -g -- PACKAGE` with env), so local MCP servers can launch.
 * The name is checked against npm's rules first, so nothing but a package
 * name reaches the command line (it is passed as an argument, never
 * through a shell).
 */
#include <string.h>

#include <apr_strings.h>

#include "containers.h"

#define MAX_PACKAGE_BODY (16 * 1024)

/* npm's name rules: [@scope/]name[@version], lower case, at most 214,
 * no leading . or _, a version of safe characters. */
const char *ct_package_name_problem(const char *text)
{
    const char *c = text, *name_start;
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len > 214)
        return "package is 1 to 214 characters";
    if (*c == '@') {
        const char *slash = strchr(c, '/');
        if (!slash || slash == c + 1)
            return "a scoped package is @scope/name";
        for (c++; c < slash; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                  *c == '.' || *c == '_'))
                return "the scope holds a character npm does not allow";
        c++;
    }
    name_start = c;
    if (*c == '.' || *c == '_' || *c == '\0' || *c == '@')
        return "the name starts with a character npm does not allow";
    for (; *c && *c != '@'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' ||
              *c == '_' || *c == '~'))
            return "the name holds a character npm does not allow (lower case letters, digits, "
                   "- . _ ~)";
    if (c == name_start)
        return "the name is empty";
    if (*c == '@') {
        if (!c[1])
            return "the version after @ is empty";
        for (c++; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  *c == '-' || *c == '.' || *c == '^' || *c == '~' || *c == '+'))
                return "the version holds a character npm does not allow";
    }
    return NULL;
}

cb_status ct_api_packages(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    cb_json *body, *env_json, *v, *out;
    const char *package, *err, *key;
    cb_json_iter it = {0};
    apr_array_header_t *argv = apr_array_make(p, 5, sizeof(const char *));
    apr_array_header_t *env = apr_array_make(p, 4, sizeof(const char *));
    ct_engine_reply reply;
    int64_t exit_code;
    cb_status st = ct_own_engine_container(req, state, &r, "packages");
    if (st != CB_OK)
        return st;
    if ((st = cb_req_read_json_object(req, MAX_PACKAGE_BODY, &body)) != CB_OK)
        return st;
    package = cb_json_get_string(body, "package");
    if ((err = ct_package_name_problem(package)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", apr_pstrcat(p, "package: ", err, NULL));
    if ((env_json = cb_json_get(body, "env"))) {
        if (!cb_json_is_object(env_json))
            return cb_req_send_error(req, 400, "INVALID_PARAM", "env is an object of strings");
        while (cb_json_object_next(env_json, &it, &key, &v)) {
            const char *value = cb_json_is_string(v) ? cb_json_string_value(v, NULL) : NULL;
            if (!value || !*key || strchr(key, '=') || strlen(key) > 128)
                return cb_req_send_error(req, 400, "INVALID_PARAM",
                                         "env is an object of strings with names without '='");
            APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(p, key, "=", value, NULL);
        }
    }
    APR_ARRAY_PUSH(argv, const char *) = "npm";
    APR_ARRAY_PUSH(argv, const char *) = "install";
    APR_ARRAY_PUSH(argv, const char *) = "-g";
    APR_ARRAY_PUSH(argv, const char *) = "--";
    APR_ARRAY_PUSH(argv, const char *) = package;
    ct_engine_exec_run_env(&ct->engine, p, r.engine_id, argv, env, &exit_code, &reply);
    if (reply.status != 200)
        return ct_send_engine_error(req, &reply, "installing the package");
    if (exit_code != 0)
        return cb_req_send_error(req, 502, "BAD_GATEWAY",
                                 apr_psprintf(p, "the package could not be installed in the "
                                                 "container (npm exit code %" APR_INT64_T_FMT
                                                 "; does the image have npm?)", exit_code));
    out = cb_json_new_object(p);
    cb_json_set_string(out, "package", package);
    cb_json_set_bool(out, "installed", 1);
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}
