/*
 * error_codes.c: plugins' own error codes (cb_ctx_register_error), kept per
 * environment with their status and their words in each dialect, and
 * cb_req_send_error_code, which answers one of them in the route's dialect.
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "cb_core.h"

/* Upper-case letters, digits and '_', starting with a letter, as the
 * core's own codes are. */
static int code_is_well_formed(const char *code)
{
    if (!code || !(*code >= 'A' && *code <= 'Z'))
        return 0;
    for (const char *c = code; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return 0;
    return strlen(code) <= 64;
}

static int same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

cb_status cb_ctx_register_error(cb_plugin_ctx *ctx, const cb_error_code_def *def)
{
    cb_env *env = ctx->instance->env;
    const cb_error_code_def *known;
    if (!def || !code_is_well_formed(def->code) || def->status < 400 || def->status > 599 ||
        !def->message) {
        cb_ctx_error(ctx, "error code '%s': a code is upper-case letters, digits and '_', "
                     "with a status from 400 to 599 and a default message",
                     def && def->code ? def->code : "(none)");
        return CB_ERROR;
    }
    if (cb_error_code_is_core(def->code)) {
        cb_ctx_error(ctx, "error code '%s' is one of the gateway's own; use it as it is "
                     "(cb_req_send_error) or choose another name", def->code);
        return CB_ERROR;
    }
    if (!env->error_codes)
        env->error_codes = apr_hash_make(ctx->pool);
    known = apr_hash_get(env->error_codes, def->code, APR_HASH_KEY_STRING);
    if (known) {
        if (known->status == def->status && same_text(known->oauth, def->oauth) &&
            same_text(known->testbase, def->testbase))
            return CB_OK; /* the same plugin twice, or two that agree */
        cb_ctx_error(ctx, "error code '%s' is already registered with status %d by another "
                     "plugin of this environment", def->code, known->status);
        return CB_ERROR;
    }
    apr_hash_set(env->error_codes, def->code, APR_HASH_KEY_STRING, def);
    return CB_OK;
}

const cb_error_code_def *cb_env_error_code(const cb_env *env, const char *code)
{
    if (!env || !env->error_codes || !code)
        return NULL;
    return apr_hash_get(env->error_codes, code, APR_HASH_KEY_STRING);
}

cb_status cb_req_send_error_code(cb_req *req, const char *code, const char *message)
{
    const cb_error_code_def *def = cb_env_error_code(req->env, code);
    if (!def)
        return cb_req_send_error(req, 500, "SYS_ERR", "the gateway failed to answer");
    return cb_req_send_error(req, def->status, def->code, message ? message : def->message);
}
