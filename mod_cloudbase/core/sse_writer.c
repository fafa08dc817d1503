/*
 * sse_writer.c: the SSE response writer (include/cloudbase/sse.h): headers,
 * one flushed write per event, ':' heartbeat comments when idle, and
 * CB_ERROR for good once the client has gone.
 */
#include <apr_strings.h>
#include <apr_time.h>

#include "cb_core.h"
#include "cloudbase/sse.h"

struct cb_sse_writer {
    cb_req *req;
    int64_t heartbeat_ms;
    apr_time_t last_write;
    int heartbeats;
    int failed;
};

static cb_status checked(cb_sse_writer *w, cb_status rc)
{
    if (rc != CB_OK || cb_req_aborted(w->req))
        w->failed = 1;
    w->last_write = apr_time_now();
    return w->failed ? CB_ERROR : CB_OK;
}

cb_sse_writer *cb_sse_start(cb_req *req, int64_t heartbeat_ms)
{
    cb_sse_writer *w = apr_pcalloc(cb_req_pool(req), sizeof(*w));
    w->req = req;
    w->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 0;
    cb_req_set_status(req, 200);
    cb_req_set_header(req, "Content-Type", "text/event-stream");
    cb_req_set_header(req, "Cache-Control", "no-cache");
    cb_req_set_header(req, "X-Accel-Buffering", "no");
    checked(w, cb_req_flush(req));
    return w;
}

cb_status cb_sse_send(cb_sse_writer *w, const char *event, const char *id,
                      const char *data, size_t data_len)
{
    apr_pool_t *scratch;
    const char *frame;
    size_t len;
    cb_status rc;
    if (w->failed)
        return CB_ERROR;
    apr_pool_create(&scratch, cb_req_pool(w->req));
    frame = cb_sse_format(scratch, event, id, data ? data : "", data ? data_len : 0, &len);
    if (!frame) {
        apr_pool_destroy(scratch);
        return CB_ERROR;
    }
    rc = cb_req_write(w->req, frame, len);
    if (rc == CB_OK)
        rc = cb_req_flush(w->req);
    apr_pool_destroy(scratch);
    return checked(w, rc);
}

int64_t cb_sse_heartbeat_wait_ms(const cb_sse_writer *w)
{
    apr_time_t due;
    apr_time_t now = apr_time_now();
    if (!w->heartbeat_ms)
        return -1;
    due = w->last_write + apr_time_from_msec(w->heartbeat_ms);
    return now >= due ? 0 : apr_time_as_msec(due - now) + 1;
}

cb_status cb_sse_heartbeat(cb_sse_writer *w)
{
    static const char comment[] = ": keep-alive\n\n";
    cb_status rc;
    if (w->failed)
        return CB_ERROR;
    if (cb_req_aborted(w->req)) {
        w->failed = 1;
        return CB_ERROR;
    }
    if (cb_sse_heartbeat_wait_ms(w) != 0)
        return CB_OK;
    rc = cb_req_write(w->req, comment, sizeof(comment) - 1);
    if (rc == CB_OK)
        rc = cb_req_flush(w->req);
    w->heartbeats++;
    return checked(w, rc);
}

int cb_sse_heartbeats_sent(const cb_sse_writer *w)
{
    return w->heartbeats;
}
