/*
 * gateway_rules.c: host-neutral rules about a gateway request's answer,
 * which every host adapter applies the same way:
 *
 *   - describing an error the host itself produced (an upstream that
 *     refused or timed out, a body too large, a malformed request) as a
 *     status, a CloudBase code and a message written for the client;
 *   - when a proxied answer gets Content-Disposition: attachment;
 *   - which answer headers the gateway owns, so an upstream's copies give
 *     way to the gateway's own.
 */
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"

/* 1 when needle (lower case) occurs in s, ignoring ASCII case. */
static int contains_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
}

cb_host_error cb_describe_host_error(apr_pool_t *p, const cb_host_error_facts *f)
{
    cb_host_error e = {f->status, "SYS_ERR", "the gateway failed to answer"};
    /* A proxy that notes a read timeout answers 502: it was a timeout. */
    if (f->proxied && f->upstream_timed_out)
        e.status = 504;
    switch (e.status) {
    case 502:
        e.code = "BAD_GATEWAY";
        e.message = "the upstream closed the connection or sent an invalid answer";
        break;
    case 503:
        if (f->proxied) {
            /* A proxy's own 503 means it could not connect. */
            e.status = 502;
            e.code = "BAD_GATEWAY";
            e.message = "the upstream refused the connection or could not be reached";
        }
        else {
            e.code = "SERVICE_UNAVAILABLE";
            e.message = "the service is unavailable";
        }
        break;
    case 504:
        e.code = "SERVICE_TIMEOUT";
        e.message = f->upstream_timeout_ms
                        ? apr_psprintf(p, "the upstream did not answer within %" APR_INT64_T_FMT
                                       " ms", f->upstream_timeout_ms)
                        : "the upstream did not answer in time";
        break;
    case 413:
        e.code = "PAYLOAD_TOO_LARGE";
        e.message = f->body_limit
                        ? apr_psprintf(p, "request body is larger than %" APR_INT64_T_FMT
                                       " bytes", f->body_limit)
                        : "request body is too large";
        break;
    case 400:
        e.code = "INVALID_REQUEST";
        e.message = "the request is malformed";
        break;
    case 414:
        e.code = "INVALID_REQUEST";
        e.message = "the URL is too long";
        break;
    case 501:
        e.code = "INVALID_REQUEST";
        e.message = "this method is not supported";
        break;
    case 505:
        e.code = "INVALID_REQUEST";
        e.message = "this HTTP version is not supported";
        break;
    case 408:
        e.code = "INVALID_REQUEST";
        e.message = "the request body did not arrive in time";
        break;
    case 404:
        /* An encoded NUL or slash refused by the host (unless it is
         * allowed) before any route runs. */
        if (f->path && (contains_nocase(f->path, "%00") || contains_nocase(f->path, "%2f"))) {
            e.status = 400;
            e.code = "INVALID_PARAM";
            e.message = "the path contains an encoded NUL or slash";
        }
        else {
            e.code = "RESOURCE_NOT_FOUND";
            e.message = "not found";
        }
        break;
    case 403:
        e.code = "PERMISSION_DENIED";
        e.message = "forbidden";
        break;
    default:
        if (e.status < 500) {
            e.code = "INVALID_REQUEST";
            e.message = "the request was refused";
        }
        break;
    }
    return e;
}

int cb_is_text_type(const char *type)
{
    if (!type)
        return 0;
    return strncasecmp(type, "text/", 5) == 0 || strncasecmp(type, "application/json", 16) == 0 ||
           contains_nocase(type, "+json");
}

int cb_proxy_answer_is_attachment(unsigned proxy_flags, int status, const char *method,
                                  const char *content_type)
{
    int is_sse = content_type && strncasecmp(content_type, "text/event-stream", 17) == 0;
    if (!(proxy_flags & CB_PROXY_ATTACHMENT) || status == 101 || is_sse)
        return 0;
    /* HEAD answers as GET would, so it gets the same headers. */
    return (method && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) ||
           !cb_is_text_type(content_type);
}

/* Set by the gateway on every answer it owns; an upstream's copy gives way. */
static const char *const gateway_answer_headers[] = {
    "X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers", NULL};

const char *const *cb_gateway_answer_headers(void)
{
    return gateway_answer_headers;
}
