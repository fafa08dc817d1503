/*
 * ai.c: the AI proxy. POST /v1/ai/{provider}/chat/completions (and the
 * seed's /chat/completion) goes to the provider's base URL with the
 * provider key injected from its secret; the caller's own Authorization
 * never reaches the provider and the key never reaches the caller.
 * POST /v1/aibot/openai/chat/completions goes to the agent named by the
 * body's "model" field. Streams (stream: true) pass through unbuffered,
 * as every proxy route does.
 */
#include <string.h>

#include <apr_strings.h>

#include "functions.h"

/* Reads the OpenAI-style body (a JSON object) and, with model not NULL,
 * the agent its "model" names. Anything else is answered with 400 here:
 * then it returns the status the handler returns, else CB_OK. */
static cb_status read_chat_body(cb_req *req, int64_t max_body, const char **model)
{
    const char *body;
    size_t len;
    if (cb_req_read_body(req, (size_t)max_body, &body, &len) != CB_OK)
        return CB_DONE;
    switch (fn_chat_body(cb_req_pool(req), body, len, model)) {
    case FN_CHAT_OK:
        return CB_OK;
    case FN_CHAT_NOT_OBJECT:
        cb_req_send_error(req, 400, "INVALID_PARAM",
                          "the body must be a JSON object such as "
                          "{\"model\":\"...\",\"messages\":[...]}");
        return CB_DONE;
    default:
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "\"model\" must name an agent: 1-64 of letters, digits, '_', "
                                 "'.', '$' and '-'");
    }
}

static void inject_key(cb_req *req, const fn_service *svc)
{
    cb_req_unset_upstream_header(req, "Authorization");
    cb_req_unset_upstream_header(req, "X-Api-Key");
    if (svc->key)
        cb_req_set_upstream_header(req, "Authorization",
                                   apr_pstrcat(cb_req_pool(req), "Bearer ", svc->key, NULL));
}

/* fn_forward checks auth and capacity; then the provider key replaces any
 * credential of the caller, whatever strip_credentials says. */
static cb_status send_chat(cb_req *req, fn_state *st, const fn_service *svc, const char *url)
{
    cb_status rc = fn_forward(req, st, svc, url, FN_AUTH_CHECKED);
    if (rc == CB_OK)
        inject_key(req, svc);
    return rc;
}

cb_status fn_ai_chat(cb_req *req, void *state)
{
    fn_state *st = state;
    const char *name = cb_req_param(req, "provider");
    const fn_service *svc = fn_find(req, st->providers, name, NULL, "AI provider");
    if (!svc)
        return CB_DONE;
    /* Auth before the body is read: strangers do not get to upload it. */
    if (cb_req_require_auth(req, svc->auth) != CB_OK)
        return CB_DONE;
    if (read_chat_body(req, svc->max_body, NULL) != CB_OK)
        return CB_DONE;
    return send_chat(req, st, svc, apr_pstrcat(cb_req_pool(req), svc->url, "/chat/completions",
                                               NULL));
}

cb_status fn_agent_chat(cb_req *req, void *state)
{
    fn_state *st = state;
    const fn_service *svc;
    const char *model;
    size_t body_len;
    const char *body;
    cb_status rc;
    /* No agent at all: nothing to authorise against, so the answer is the
     * same 404 a missing agent gets (not the admin level's 403). */
    if (apr_hash_count(st->agents) == 0)
        return cb_req_send_error(req, 404, "SERVICE_NOT_FOUND", "no agent is configured");
    if (cb_req_require_auth(req, st->agents_min_auth) != CB_OK)
        return CB_DONE;
    if ((rc = read_chat_body(req, st->default_max_body, &model)) != CB_OK)
        return rc;
    svc = apr_hash_get(st->agents, model, APR_HASH_KEY_STRING);
    if (!svc) {
        const char *message = apr_psprintf(cb_req_pool(req), "agent %s is not configured", model);
        return cb_req_send_error(req, 404, "SERVICE_NOT_FOUND", message);
    }
    if (cb_req_require_auth(req, svc->auth) != CB_OK)
        return CB_DONE;
    /* The body was read under the default cap; the agent's own applies. */
    if (cb_req_read_body(req, (size_t)svc->max_body, &body, &body_len) != CB_OK)
        return CB_DONE;
    return send_chat(req, st, svc, svc->url);
}
