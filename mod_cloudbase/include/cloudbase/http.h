/*
 * http.h: the outbound HTTP client (libcurl) for the core and plugins.
 *
 * Connections are reused through a per-process pool of handles; every call
 * has a connect and a total timeout and a cap on the response size; for URLs
 * that users supply (monitors, webhooks, runners) set untrusted_url and the
 * client refuses to connect to link-local and cloud metadata addresses,
 * checked on the resolved address so DNS tricks do not get around it.
 */
#ifndef CLOUDBASE_HTTP_H
#define CLOUDBASE_HTTP_H

#include "cloudbase/export.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <apr_pools.h>
#include <apr_tables.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_http_client cb_http_client;

typedef struct cb_http_request {
    const char *method;            /* default GET */
    const char *url;
    const apr_table_t *headers;    /* may be NULL */
    const char *body;
    size_t body_len;
    int64_t connect_timeout_ms;    /* default 2000 */
    int64_t timeout_ms;            /* default 10000 */
    size_t max_response_bytes;     /* default 1 MiB */
    int untrusted_url;             /* refuse link-local and metadata addresses */
} cb_http_request;

typedef struct cb_http_response {
    long status;
    apr_table_t *headers;          /* lower-case names */
    const char *body;              /* NUL-terminated */
    size_t body_len;
    double total_seconds;
    long new_connections;          /* 0 when a pooled connection was reused */
} cb_http_response;

CB_API cb_http_client *cb_http_client_create(apr_pool_t *p, int max_idle_handles);
/* APR_SUCCESS with *resp filled, or an error with *error set to a message
 * (timeout, refused address, response too large, connection failure). */
CB_API apr_status_t cb_http_fetch(cb_http_client *c, apr_pool_t *p, const cb_http_request *req,
                           cb_http_response *resp, const char **error);
/* 1 for link-local, metadata and unspecified addresses. */
CB_API int cb_address_forbidden(const struct sockaddr *sa);

#ifdef __cplusplus
}
#endif
#endif
