/*
 * http_stream.h: streaming outbound HTTP on libcurl multi. One thread
 * drives N upstream requests at once and gets each one's body bytes, or
 * its server-sent events, through callbacks as they arrive, so a handler
 * can fan out (parallel tasks, several model streams) and write what comes
 * back at once. Requests take the same options as cb_http_fetch (timeouts,
 * response cap, untrusted_url with the address guard and allowed_private);
 * timeout_ms 0 means no total time limit for a stream.
 *
 *   cb_http_streams *s = cb_http_streams_create(pool);
 *   cb_http_streams_add(s, &req_a, &handlers, baton);
 *   cb_http_streams_add(s, &req_b, &handlers, baton);
 *   cb_http_streams_run(s, 100, on_tick, baton);  // returns when all are done
 *
 * cb_http_streams_add_with takes more per stream (following redirects, each
 * hop through the address guard; a connect-only port check; the peer
 * certificate and the response headers, read with cb_http_streams_info
 * from on_done on; a CA file). A long-running driver (a scheduler) adds
 * streams whenever it likes and drives the set with cb_http_streams_step.
 */
#ifndef CLOUDBASE_HTTP_STREAM_H
#define CLOUDBASE_HTTP_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#include "cloudbase/export.h"
#include "cloudbase/http.h"
#include "cloudbase/sse.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_http_streams cb_http_streams;

typedef struct cb_http_stream_handlers {
    /* Body bytes as they arrive (may be NULL); nonzero cancels the stream. */
    int (*on_data)(void *baton, int stream, const char *data, size_t len);
    /* With on_event set the body is parsed as an event stream and each
     * complete event is delivered; nonzero cancels the stream. */
    int (*on_event)(void *baton, int stream, const cb_sse_event *event);
    /* Once per stream: the HTTP status (0 without a response) and NULL or
     * an error (refused address, timeout, cancelled, too large, ...). */
    void (*on_done)(void *baton, int stream, long status, const char *error);
} cb_http_stream_handlers;

/* The set's handles are freed with p. */
CB_API cb_http_streams *cb_http_streams_create(apr_pool_t *p);
/* Adds a stream (request strings must live as long as the set); returns
 * its index, or -1 when the request was refused at once (on_done is then
 * called with the reason). */
CB_API int cb_http_streams_add(cb_http_streams *s, const cb_http_request *req,
                        const cb_http_stream_handlers *handlers, void *baton);
/* Drives every stream until all are done. on_tick (may be NULL) runs
 * after each round of callbacks and at least every tick_ms; when it
 * returns nonzero the remaining streams are cancelled (their upstream
 * connections closed, on_done called with "cancelled") and run returns
 * APR_ECONNABORTED. */
CB_API apr_status_t cb_http_streams_run(cb_http_streams *s, int64_t tick_ms,
                                 int (*on_tick)(void *baton), void *baton);
/* Streams added so far. */
CB_API int cb_http_streams_count(const cb_http_streams *s);

/* What cb_http_streams_add_with asks for beyond the request; all zero is
 * cb_http_streams_add. Its layout is fixed within ABI major 3 (plugins
 * pass it in): what later needs more gets a new function. */
typedef struct cb_http_stream_options {
    /* Follow up to N redirects (301, 302, 303, 307, 308; 303, and 301/302
     * after a POST, continue as GET without the body; Authorization and
     * Cookie headers are dropped when the origin changes). Each hop's URL
     * must be http(s) and, for an untrusted_url, passes the address guard
     * as written and again on the resolved address, like the first.
     * Past N the stream ends with "too many redirects (more than N)";
     * 0: a redirect is the answer. */
    int max_redirects;
    /* Connect (and for https:// complete the TLS handshake), then finish
     * with status 0 and no error: a TCP port check. */
    int connect_only;
    /* https: read the peer certificate (cb_http_stream_info.cert_*). */
    int want_certificate;
    /* Keep the last response's headers (cb_http_stream_info.headers). */
    int keep_headers;
    /* A PEM file of the CAs to trust instead of the system's, or NULL. */
    const char *ca_file;
    /* 1: do not verify the peer's certificate or name (the certificate is
     * still read with want_certificate). */
    int insecure_tls;
} cb_http_stream_options;

/* What a stream learnt besides its status, from on_done on. */
typedef struct cb_http_stream_info {
    int redirects;                /* redirects followed */
    const char *final_url;        /* the URL of the last request made */
    apr_table_t *headers;         /* keep_headers: the last response's (lower-case
                                   * names); NULL otherwise */
    /* want_certificate: the leaf certificate of the first https hop; 0 and
     * NULL when none was read (plain http, a failed handshake) */
    apr_time_t cert_not_after;
    const char *cert_subject;
    const char *cert_issuer;
    const char *cert_serial;
} cb_http_stream_info;

/* cb_http_streams_add with options (NULL: none). */
CB_API int cb_http_streams_add_with(cb_http_streams *s, const cb_http_request *req,
                                    const cb_http_stream_options *options,
                                    const cb_http_stream_handlers *handlers, void *baton);
/* The stream's info (valid from its on_done until the set's pool goes;
 * in a set driven by cb_http_streams_step, only within its on_done). */
CB_API const cb_http_stream_info *cb_http_streams_info(const cb_http_streams *s, int stream);
/* Drives the set once without blocking longer than wait_ms: runs what is
 * ready, calls the callbacks of streams that finished, and when some are
 * still running waits up to wait_ms for activity and runs that. Returns
 * the streams still running. Streams may be added between steps. A set
 * driven by step releases each stream once its on_done returned (its
 * memory is freed and its index may go to a later stream), so one set can
 * serve a scheduler for the life of the process; do not mix it with
 * cb_http_streams_run. */
CB_API int cb_http_streams_step(cb_http_streams *s, int64_t wait_ms);

/* cb_http_streams_add_with over a local unix socket (a container engine's
 * API socket): the URL's host only names the Host header, the connection
 * goes to socket_path. untrusted_url and redirects make no sense here and
 * are refused. */
CB_API int cb_http_streams_add_unix(cb_http_streams *s, const cb_http_request *req,
                                    const char *socket_path,
                                    const cb_http_stream_options *options,
                                    const cb_http_stream_handlers *handlers, void *baton);

#ifdef __cplusplus
}
#endif
#endif
