/*
 * metering.c: what httpd knows about a gateway request for the response
 * record (cb_response_record) that after_response hooks read: body bytes
 * in, counted by an input filter above the de-chunking one (so a body
 * streamed to mod_proxy counts too), body bytes out (httpd's bytes_sent),
 * and the request's start. The upstream's time is taken around the proxy
 * hand-off (proxy_handoff.c). When a policy asked for the answer's token
 * usage (cb_req_scan_token_usage), an output filter shows every piece of
 * the answer to the core's scanner (usage_scan.c) and passes it on at once.
 */
#include "httpd.h"
#include "http_request.h"
#include "util_filter.h"

#include "adapter.h"
#include "usage_scan.h"

#define BYTES_IN_FILTER "CB_BYTES_IN"
#define USAGE_FILTER "CB_TOKEN_USAGE"

static ap_filter_rec_t *bytes_in_handle, *usage_handle;

typedef struct bytes_in_ctx {
    apr_off_t seen;
} bytes_in_ctx;

apr_status_t cb_apache_read_counted(ap_filter_t *f, apr_bucket_brigade *bb,
                                    ap_input_mode_t mode, apr_read_type_e block,
                                    apr_off_t readbytes, apr_off_t *seen)
{
    apr_off_t len = 0;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (rv != APR_SUCCESS || mode != AP_MODE_READBYTES)
        return rv;
    apr_brigade_length(bb, 0, &len);
    *seen += len > 0 ? len : 0;
    return APR_SUCCESS;
}

static apr_status_t bytes_in_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                    ap_input_mode_t mode, apr_read_type_e block,
                                    apr_off_t readbytes)
{
    bytes_in_ctx *ctx = f->ctx;
    return cb_apache_read_counted(f, bb, mode, block, readbytes, &ctx->seen);
}

void cb_apache_metering_start(request_rec *r, cb_req *req)
{
    bytes_in_ctx *ctx;
    req->started = r->request_time;
    if (!req->env->after_hooks->nelts)
        return; /* nobody reads the record: no filter */
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    req->host_metering = ctx;
    ap_add_input_filter_handle(bytes_in_handle, ctx, r, r->connection);
}

void cb_apache_metering_body_was_read(request_rec *r)
{
    /* The record takes the length the plugin read (metering_finish), so the
     * replay to the upstream need not pass through a counter. */
    ap_remove_input_filter_byhandle(r->input_filters, BYTES_IN_FILTER);
}

void cb_apache_metering_finish(request_rec *r, cb_req *req)
{
    const bytes_in_ctx *ctx = req->host_metering;
    /* A body a plugin read before a hand-off is replayed upstream through
     * the counter again: the client sent it once. */
    if (req->body_read)
        req->record.bytes_in = (int64_t)req->body_len;
    else
        req->record.bytes_in = ctx ? (int64_t)ctx->seen : 0;
    req->record.bytes_out = r->header_only ? 0 : (int64_t)r->bytes_sent;
}

/* Reads each data bucket (as the next filter would) and passes the
 * brigade on unchanged: nothing is held back, so a stream flows. */
static apr_status_t usage_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    cb_usage_scan *scan = f->ctx;
    for (apr_bucket *b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;
        if (APR_BUCKET_IS_METADATA(b))
            continue;
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS)
            break; /* the next filter meets the same error */
        cb_usage_scan_feed(scan, data, len);
    }
    return ap_pass_brigade(f->next, bb);
}

void cb_apache_metering_watch_usage(request_rec *r, cb_req *req)
{
    if (req->usage_scan && !r->header_only)
        ap_add_output_filter_handle(usage_handle, req->usage_scan, r, r->connection);
}

void cb_apache_metering_register_hooks(void)
{
    usage_handle = ap_register_output_filter(USAGE_FILTER, usage_filter, NULL,
                                             AP_FTYPE_RESOURCE);
    bytes_in_handle = ap_register_input_filter(BYTES_IN_FILTER, bytes_in_filter, NULL,
                                               AP_FTYPE_RESOURCE);
}
