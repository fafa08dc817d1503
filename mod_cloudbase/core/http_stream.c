/*
 * http_stream.c: streaming outbound HTTP on libcurl multi (see
 * cloudbase/http_stream.h). Each stream is a fresh easy handle (streams
 * are long-lived; the per-call pool of cb_http_fetch is for short calls),
 * guarded like cb_http_fetch for untrusted URLs.
 */
#include <string.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "cloudbase/http_stream.h"

typedef struct stream {
    struct cb_http_streams *set;
    int index;
    CURL *easy;
    struct curl_slist *headers;
    const cb_http_stream_handlers *handlers;
    void *baton;
    cb_sse_parser *parser;
    size_t received, max;
    const cb_cidr_list *allowed_private;
    const char *refused;      /* the address guard's reason */
    const char *stop_reason;  /* set when a callback cancelled it */
    int done;
} stream;

struct cb_http_streams {
    apr_pool_t *pool;
    CURLM *multi;
    apr_array_header_t *streams;  /* stream * */
};

static apr_status_t streams_cleanup(void *data)
{
    cb_http_streams *s = data;
    for (int i = 0; i < s->streams->nelts; i++) {
        stream *st = APR_ARRAY_IDX(s->streams, i, stream *);
        if (st->easy) {
            curl_multi_remove_handle(s->multi, st->easy);
            curl_easy_cleanup(st->easy);
            st->easy = NULL;
        }
        curl_slist_free_all(st->headers);
        st->headers = NULL;
    }
    if (s->multi)
        curl_multi_cleanup(s->multi);
    s->multi = NULL;
    return APR_SUCCESS;
}

cb_http_streams *cb_http_streams_create(apr_pool_t *p)
{
    cb_http_streams *s = apr_pcalloc(p, sizeof(*s));
    /* curl_global_init ran when the first cb_http_client was made; do it
     * here too for a process that streams only (idempotent in libcurl >= 7.84). */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s->pool = p;
    s->multi = curl_multi_init();
    s->streams = apr_array_make(p, 4, sizeof(stream *));
    apr_pool_cleanup_register(p, s, streams_cleanup, apr_pool_cleanup_null);
    return s;
}

int cb_http_streams_count(const cb_http_streams *s)
{
    return s->streams->nelts;
}

static int deliver_event(void *baton, const cb_sse_event *event)
{
    stream *st = baton;
    return st->handlers->on_event(st->baton, st->index, event);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
    stream *st = data;
    size_t n = size * nmemb;
    st->received += n;
    if (st->max && st->received > st->max) {
        st->stop_reason = apr_psprintf(st->set->pool, "response larger than %" APR_SIZE_T_FMT
                                       " bytes", st->max);
        return 0;
    }
    if (st->handlers->on_data && st->handlers->on_data(st->baton, st->index, ptr, n)) {
        st->stop_reason = "cancelled";
        return 0;
    }
    if (st->parser) {
        int rc = cb_sse_parser_feed(st->parser, ptr, n);
        if (rc) {
            st->stop_reason = rc < 0 ? "the event stream broke its size limits" : "cancelled";
            return 0;
        }
    }
    return n;
}

static curl_socket_t open_guarded(void *data, curlsocktype purpose, struct curl_sockaddr *addr)
{
    stream *st = data;
    (void)purpose;
    if ((st->refused = cb_url_guard_address(&addr->addr, st->allowed_private)))
        return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype, addr->protocol);
}

static void finish(stream *st, long status, const char *error)
{
    if (st->done)
        return;
    st->done = 1;
    if (st->handlers->on_done)
        st->handlers->on_done(st->baton, st->index, status, error);
}

int cb_http_streams_add(cb_http_streams *s, const cb_http_request *req,
                        const cb_http_stream_handlers *handlers, void *baton)
{
    stream *st = apr_pcalloc(s->pool, sizeof(*st));
    const char *method = req->method ? req->method : "GET";
    const char *refused;
    st->set = s;
    st->index = s->streams->nelts;
    st->handlers = handlers;
    st->baton = baton;
    st->max = req->max_response_bytes;
    st->allowed_private = req->allowed_private;
    APR_ARRAY_PUSH(s->streams, stream *) = st;
    if (req->untrusted_url && (refused = cb_url_guard_url(req->url))) {
        finish(st, 0, refused);
        return -1;
    }
    if (!(st->easy = curl_easy_init())) {
        finish(st, 0, "cannot create an HTTP handle");
        return -1;
    }
    if (handlers->on_event)
        st->parser = cb_sse_parser_create(s->pool, 1024 * 1024, deliver_event, st);
    if (req->headers) {
        const apr_array_header_t *arr = apr_table_elts(req->headers);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        for (int i = 0; i < arr->nelts; i++)
            st->headers = curl_slist_append(st->headers,
                                            apr_pstrcat(s->pool, e[i].key, ": ", e[i].val, NULL));
    }
    curl_easy_setopt(st->easy, CURLOPT_URL, req->url);
    curl_easy_setopt(st->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(st->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(st->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(req->connect_timeout_ms ? req->connect_timeout_ms : 2000));
    if (req->timeout_ms)
        curl_easy_setopt(st->easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(st->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(st->easy, CURLOPT_WRITEDATA, st);
    curl_easy_setopt(st->easy, CURLOPT_PRIVATE, st);
    curl_easy_setopt(st->easy, CURLOPT_FOLLOWLOCATION, 0L);
    if (req->untrusted_url) {
        curl_easy_setopt(st->easy, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
        curl_easy_setopt(st->easy, CURLOPT_OPENSOCKETDATA, st);
        curl_easy_setopt(st->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(st->easy, CURLOPT_FORBID_REUSE, 1L);
    }
    if (st->headers)
        curl_easy_setopt(st->easy, CURLOPT_HTTPHEADER, st->headers);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(st->easy, CURLOPT_CUSTOMREQUEST, method);
    if (req->body) {
        curl_easy_setopt(st->easy, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(st->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (curl_multi_add_handle(s->multi, st->easy) != CURLM_OK) {
        finish(st, 0, "cannot start the HTTP stream");
        return -1;
    }
    return st->index;
}

static void complete(cb_http_streams *s, CURL *easy, CURLcode rc)
{
    stream *st = NULL;
    long status = 0;
    const char *error = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&st);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (st->refused)
        error = st->refused;
    else if (st->stop_reason)
        error = st->stop_reason;
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        error = "timed out";
    else if (rc != CURLE_OK)
        error = curl_easy_strerror(rc);
    curl_multi_remove_handle(s->multi, easy);
    curl_easy_cleanup(easy);
    st->easy = NULL;
    finish(st, status, error);
}

static void cancel_all(cb_http_streams *s)
{
    for (int i = 0; i < s->streams->nelts; i++) {
        stream *st = APR_ARRAY_IDX(s->streams, i, stream *);
        if (!st->easy)
            continue;
        curl_multi_remove_handle(s->multi, st->easy);
        curl_easy_cleanup(st->easy);   /* closes the upstream connection */
        st->easy = NULL;
        finish(st, 0, "cancelled");
    }
}

apr_status_t cb_http_streams_run(cb_http_streams *s, int64_t tick_ms,
                                 int (*on_tick)(void *baton), void *baton)
{
    int running = 1;
    if (tick_ms <= 0)
        tick_ms = 1000;
    while (running) {
        CURLMsg *msg;
        int queued;
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            cancel_all(s);
            return APR_EGENERAL;
        }
        while ((msg = curl_multi_info_read(s->multi, &queued)))
            if (msg->msg == CURLMSG_DONE)
                complete(s, msg->easy_handle, msg->data.result);
        if (on_tick && on_tick(baton)) {
            cancel_all(s);
            return APR_ECONNABORTED;
        }
        if (running)
            curl_multi_poll(s->multi, NULL, 0, (int)tick_ms, NULL);
    }
    return APR_SUCCESS;
}
