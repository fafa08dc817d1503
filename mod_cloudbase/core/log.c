/*
 * log.c: cb_log_req, cb_log_ctx and cb_log (cloudbase/log.h). Formats the
 * line, scrubs the values of secret options out of it and hands it to the
 * host's log sink (cb_log_set_host); without a host, lines go to stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"
#include "cloudbase/log.h"

/* Secret values shorter than this are not scrubbed: they would match
 * ordinary words. Secret options should be far longer anyway. */
#define MIN_SCRUBBED_SECRET 8
#define MAX_SECRETS 64
#define REDACTED "[redacted]"

static const cb_log_host *host;
/* Registered at configuration time, before worker threads start; read
 * afterwards. Copies live for the process (a restart registers the same
 * values again, which are found and not added twice). */
static char *secrets[MAX_SECRETS];
static int secret_count;

void cb_log_set_host(const cb_log_host *h)
{
    host = h;
}

void cb_log_register_secret(const char *value)
{
    if (!value || strlen(value) < MIN_SCRUBBED_SECRET)
        return;
    for (int i = 0; i < secret_count; i++)
        if (strcmp(secrets[i], value) == 0)
            return;
    if (secret_count == MAX_SECRETS) {
        /* Fail safe: drop the oldest rather than leave this one unscrubbed. */
        free(secrets[0]);
        memmove(secrets, secrets + 1, sizeof(*secrets) * (MAX_SECRETS - 1));
        secret_count--;
    }
    secrets[secret_count] = strdup(value);
    if (secrets[secret_count])
        secret_count++;
}

const char *cb_log_scrub(apr_pool_t *p, const char *line)
{
    for (int i = 0; i < secret_count; i++) {
        const char *hit = strstr(line, secrets[i]);
        size_t len = strlen(secrets[i]);
        while (hit) {
            line = apr_pstrcat(p, apr_pstrmemdup(p, line, (apr_size_t)(hit - line)), REDACTED,
                               hit + len, NULL);
            hit = strstr(line, secrets[i]);
        }
    }
    return line;
}

static void emit(cb_req *req, cb_log_level level, const char *line)
{
    if (req && host && host->request)
        host->request(req, (int)level, line);
    else if (host && host->process)
        host->process((int)level, line);
    else
        fprintf(stderr, "cloudbase: %s\n", line);
}

void cb_log_req(cb_req *req, cb_log_level level, const char *fmt, ...)
{
    va_list ap;
    const char *msg;
    va_start(ap, fmt);
    msg = apr_pvsprintf(req->pool, fmt, ap);
    va_end(ap);
    emit(req, level, cb_log_scrub(req->pool, apr_pstrcat(req->pool, "[req ",
                                  req->request_id ? req->request_id : "-", "] ", msg, NULL)));
}

void cb_log_ctx(cb_plugin_ctx *ctx, cb_log_level level, const char *fmt, ...)
{
    va_list ap;
    const char *msg, *env = "-", *plugin = "-";
    va_start(ap, fmt);
    msg = apr_pvsprintf(ctx->pool, fmt, ap);
    va_end(ap);
    if (ctx->instance) {
        if (ctx->instance->env && ctx->instance->env->id)
            env = ctx->instance->env->id;
        if (ctx->instance->plugin && ctx->instance->plugin->desc)
            plugin = ctx->instance->plugin->desc->name;
    }
    emit(NULL, level, cb_log_scrub(ctx->pool, apr_pstrcat(ctx->pool, "[env ", env, ", plugin ",
                                                          plugin, "] ", msg, NULL)));
}

void cb_log(cb_log_level level, const char *fmt, ...)
{
    va_list ap;
    apr_pool_t *p;
    const char *msg;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return;
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    emit(NULL, level, cb_log_scrub(p, msg));
    apr_pool_destroy(p);
}
