/*
 * http.h: the outbound HTTP client (libcurl) for the core and plugins.
 *
 * Connections are reused through a per-process pool of handles; every call
 * has a connect and a total timeout and a cap on the response size; for URLs
 * that users supply (monitors, webhooks, runners) set untrusted_url and the
 * client refuses to connect to link-local and cloud metadata addresses and
 * metadata host names, and to loopback and private addresses unless the
 * service lists their range in allowed_private (cb_cidr_list_parse); the
 * check is on the resolved address, so DNS tricks and odd IP spellings
 * (decimal, octal, IPv4-mapped IPv6) do not get around it.
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

/* A list of address ranges ("10.0.0.0/8, 192.168.1.10 fd00::/8"). */
typedef struct cb_cidr_list cb_cidr_list;

typedef struct cb_http_request {
    const char *method;            /* default GET */
    const char *url;
    const apr_table_t *headers;    /* may be NULL */
    const char *body;
    size_t body_len;
    int64_t connect_timeout_ms;    /* default 2000 */
    int64_t timeout_ms;            /* default 10000 */
    size_t max_response_bytes;     /* default 1 MiB */
    int untrusted_url;             /* apply the address guard (see above) */
    const cb_cidr_list *allowed_private; /* private ranges this service may reach */
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
/* 1 for loopback and private ranges (RFC 1918, CGNAT, 198.18/15, fc00::/7). */
CB_API int cb_address_private(const struct sockaddr *sa);

/* Parses ranges separated by commas or spaces: an address or
 * address/prefix, IPv4 or IPv6, host bits zero. NULL and *out on success,
 * else a message saying what to fix. */
CB_API const char *cb_cidr_list_parse(apr_pool_t *p, const char *text, cb_cidr_list **out);
CB_API int cb_cidr_list_contains(const cb_cidr_list *list, const struct sockaddr *sa);
CB_API int cb_cidr_list_count(const cb_cidr_list *list);
/* The guard itself: NULL when an untrusted URL may connect to sa, else
 * why not; and the same for a host name (metadata services by name). */
CB_API const char *cb_url_guard_address(const struct sockaddr *sa, const cb_cidr_list *allowed_private);
CB_API const char *cb_url_guard_host(const char *host);
/* The guard on a host as written in a URL: a literal IPv4 or IPv6 address
 * through cb_url_guard_address (so configtest names a link-local, metadata
 * or unlisted private address), a name through cb_url_guard_host (names are
 * checked again on what they resolve to, at connect time). */
CB_API const char *cb_url_guard_host_as_written(const char *host,
                                                const cb_cidr_list *allowed_private);
/* cb_url_guard_host on a URL's host, or why the URL cannot be read. */
CB_API const char *cb_url_guard_url(const char *url);

#ifdef __cplusplus
}
#endif
#endif
