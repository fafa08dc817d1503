/*
 * api_body.c: the shapes of the TestBase-style container API: who owns a
 * container (the caller's identity), a container as the API shows it, and
 * the create body (`agentType`, `workspace`, `region`, `model`,
 * `reasoningEffort`, `persistContainer`, `timeout`) and the PATCH body
 * (`model`, `reasoningEffort`) checked into a record.
 */
#include <string.h>

#include <apr_strings.h>

#include "containers.h"

const char *ct_owner(const cb_req *req)
{
    const cb_identity *id = cb_req_identity(req);
    return id && id->uid && *id->uid ? id->uid : NULL;
}

static void set_or_null(cb_json *o, const char *key, const char *value)
{
    if (value)
        cb_json_set_string(o, key, value);
    else
        cb_json_set_null(o, key);
}

cb_json *ct_record_json(apr_pool_t *p, const ct_record *r)
{
    cb_json *o = cb_json_new_object(p);
    cb_json_set_string(o, "id", r->id);
    cb_json_set_string(o, "status", r->status);
    cb_json_set_string(o, "agentType", r->agent_type);
    cb_json_set_string(o, "workspace", r->workspace);
    set_or_null(o, "region", r->region);
    set_or_null(o, "model", r->model);
    set_or_null(o, "reasoningEffort", r->reasoning_effort);
    cb_json_set_bool(o, "persistContainer", r->persist);
    cb_json_set_int(o, "timeout", r->timeout_ms);
    cb_json_set_int(o, "createdAt", r->created_ms);
    cb_json_set_null(o, "cloudRunServiceUrl"); /* tasks go through POST .../execute */
    cb_json_set(o, "mcpServers", ct_mcp_public_list(p, r));
    return o;
}

/* A short printable string field, or NULL when absent; *err when wrong. */
static const char *text_field(apr_pool_t *p, const cb_json *body, const char *key, size_t max,
                              const char **err)
{
    cb_json *v = cb_json_get(body, key);
    const char *s;
    size_t len;
    if (!v || cb_json_typeof(v) == CB_JSON_NULL)
        return NULL;
    if (!cb_json_is_string(v) || !(s = cb_json_string_value(v, &len)) || len == 0 || len > max ||
        strlen(s) != len) {
        *err = apr_psprintf(p, "%s must be a non-empty string of at most %zu characters", key,
                            max);
        return NULL;
    }
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20) {
            *err = apr_psprintf(p, "%s holds a control character", key);
            return NULL;
        }
    return s;
}

static const char *effort_problem(const char *effort)
{
    static const char *const efforts[] = {"minimal", "low", "medium", "high", NULL};
    for (int i = 0; effort && efforts[i]; i++)
        if (strcmp(effort, efforts[i]) == 0)
            return NULL;
    return effort ? "reasoningEffort must be minimal, low, medium or high" : NULL;
}

const char *ct_parse_patch_body(apr_pool_t *p, const cb_json *body, ct_record *r)
{
    const char *err = NULL, *model, *effort;
    cb_json_iter it;
    const char *key;
    cb_json *value;
    memset(&it, 0, sizeof(it));
    while (cb_json_object_next(body, &it, &key, &value))
        if (strcmp(key, "model") != 0 && strcmp(key, "reasoningEffort") != 0)
            return apr_psprintf(p, "%s cannot be changed (model and reasoningEffort can)", key);
    model = text_field(p, body, "model", 128, &err);
    effort = text_field(p, body, "reasoningEffort", 32, &err);
    if (err)
        return err;
    if (!model && !effort)
        return "give model or reasoningEffort";
    if ((err = effort_problem(effort)))
        return err;
    if (model)
        r->model = model;
    if (effort)
        r->reasoning_effort = effort;
    return NULL;
}

const char *ct_parse_create_body(apr_pool_t *p, const cb_json *body, const char *default_type,
                                 ct_record *r)
{
    const char *err = NULL;
    cb_json *v;
    r->agent_type = text_field(p, body, "agentType", 48, &err);
    r->workspace = text_field(p, body, "workspace", 512, &err);
    r->region = text_field(p, body, "region", 64, &err);
    r->model = text_field(p, body, "model", 128, &err);
    r->reasoning_effort = text_field(p, body, "reasoningEffort", 32, &err);
    if (err)
        return err;
    if (!r->agent_type)
        r->agent_type = default_type;
    if (!r->workspace)
        r->workspace = "/workspace";
    else if (strcmp(r->workspace, "/workspace") != 0 &&
             strncmp(r->workspace, "/workspace/", 11) != 0)
        return "workspace must be /workspace or a directory under it";
    if ((err = effort_problem(r->reasoning_effort)))
        return err;
    if ((v = cb_json_get(body, "persistContainer")) && !cb_json_bool_value(v, &r->persist))
        return "persistContainer must be true or false";
    r->timeout_ms = 300000;
    if ((v = cb_json_get(body, "timeout")) &&
        (!cb_json_int_value(v, &r->timeout_ms) || r->timeout_ms < 1000 ||
         r->timeout_ms > 24LL * 3600 * 1000))
        return "timeout must be a number of milliseconds from 1000 to 86400000";
    return NULL;
}
