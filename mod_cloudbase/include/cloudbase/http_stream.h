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

#ifdef __cplusplus
}
#endif
#endif
