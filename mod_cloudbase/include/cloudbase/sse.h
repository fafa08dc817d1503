/*
 * sse.h: Server-Sent Events, both ways.
 *
 * Writing: cb_sse_start sets the event-stream headers; cb_sse_send frames
 * one event (event:, id:, one data: line per line of the data, whatever its
 * line ends) and flushes it; cb_sse_heartbeat writes a ':' comment when the
 * stream has been idle for the heartbeat interval, so proxies and browsers
 * keep it open. The writer is used from the handler's own thread: a loop
 * that waits (cb_http_streams_run, a queue, a timer) wakes at least every
 * cb_sse_heartbeat_wait_ms and calls cb_sse_heartbeat. Every call returns
 * CB_ERROR once the client has gone (cb_req_aborted), so the loop stops.
 *
 * Reading: cb_sse_parser turns an upstream's event-stream bytes, fed in
 * chunks of any size, into events, per the WHATWG parsing rules.
 */
#ifndef CLOUDBASE_SSE_H
#define CLOUDBASE_SSE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#include "cloudbase/export.h"
#include "cloudbase/cloudbase.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One event's wire form, or NULL when event or id holds a CR, LF or NUL
 * (they cannot be framed). event and id may be NULL. */
CB_API const char *cb_sse_format(apr_pool_t *p, const char *event, const char *id,
                          const char *data, size_t data_len, size_t *out_len);

typedef struct cb_sse_writer cb_sse_writer;

/* Sets status 200, Content-Type: text/event-stream, Cache-Control:
 * no-cache and X-Accel-Buffering: no, and sends the headers. heartbeat_ms
 * 0 means no heartbeats. */
CB_API cb_sse_writer *cb_sse_start(cb_req *req, int64_t heartbeat_ms);
/* Writes one event and flushes it. */
CB_API cb_status cb_sse_send(cb_sse_writer *w, const char *event, const char *id,
                      const char *data, size_t data_len);
/* Writes ": keep-alive" and flushes when nothing was written for the
 * heartbeat interval; CB_OK when nothing was due. */
CB_API cb_status cb_sse_heartbeat(cb_sse_writer *w);
/* Milliseconds until the next heartbeat is due (0 when due; -1 when the
 * writer has no heartbeat). */
CB_API int64_t cb_sse_heartbeat_wait_ms(const cb_sse_writer *w);
/* Heartbeat comments written so far. */
CB_API int cb_sse_heartbeats_sent(const cb_sse_writer *w);

typedef struct cb_sse_event {
    const char *event;  /* "message" when the stream named none */
    const char *id;     /* the last event id seen, "" if none */
    const char *data;   /* data lines joined with "\n" */
    size_t data_len;
    int64_t retry_ms;   /* the last retry: field, -1 if none */
} cb_sse_event;

/* Return nonzero to stop parsing (cb_sse_parser_feed then returns it). */
typedef int (*cb_sse_event_fn)(void *baton, const cb_sse_event *event);

typedef struct cb_sse_parser cb_sse_parser;

/* A parser whose buffers live in p; a line longer than max_line_bytes, or
 * an event's data longer than max_event_bytes, is an error (-1). */
CB_API cb_sse_parser *cb_sse_parser_create(apr_pool_t *p, size_t max_event_bytes,
                                    cb_sse_event_fn on_event, void *baton);
/* 0, a callback's nonzero result, or -1 when a limit was exceeded. */
CB_API int cb_sse_parser_feed(cb_sse_parser *parser, const char *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
