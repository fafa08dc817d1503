/*
 * http_stream.c: streaming outbound HTTP on libcurl multi (see
 * cloudbase/http_stream.h). Each stream is a fresh easy handle (streams
 * are long-lived; the per-call pool of cb_http_fetch is for short calls),
 * guarded like cb_http_fetch for untrusted URLs. Redirects are followed
 * here, hop by hop, rather than by libcurl, so that every hop's URL passes
 * the address guard before anything connects; the peer certificate comes
 * from libcurl's certificate info (http_cert.c reads its dates).
 */
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "cb_core.h"
#include "cloudbase/http_stream.h"
#include "cloudbase/values.h"

typedef struct stream {
    struct cb_http_streams *set;
    int index;
    apr_pool_t *pool;         /* this stream's memory */
    CURL *easy;
    struct curl_slist *headers;
    const cb_http_stream_handlers *handlers;
    void *baton;
    cb_sse_parser *parser;
    size_t received, max;
    const cb_cidr_list *allowed_private;
    int untrusted;
    const apr_table_t *request_headers;
    int max_redirects;
    int keep_headers;
    int want_certificate;
    int posting;              /* the current hop sends the request body */
    int hop_has_location;     /* the current response carries Location */
    int skip_body;            /* the current response is a redirect being followed */
    cb_http_stream_info info;
    const char *refused;      /* the address guard's reason */
    const char *stop_reason;  /* set when a callback cancelled it */
    int done;
} stream;

struct cb_http_streams {
    apr_pool_t *pool;
    CURLM *multi;
    apr_array_header_t *streams;  /* stream * */
    apr_array_header_t *free;     /* int: released indexes (stepped sets) */
    int added;
    int active;                   /* streams not done */
    int recycle;                  /* driven by cb_http_streams_step */
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
    s->free = apr_array_make(p, 4, sizeof(int));
    apr_pool_cleanup_register(p, s, streams_cleanup, apr_pool_cleanup_null);
    return s;
}

int cb_http_streams_count(const cb_http_streams *s)
{
    return s->added;
}

const cb_http_stream_info *cb_http_streams_info(const cb_http_streams *s, int index)
{
    if (index < 0 || index >= s->streams->nelts)
        return NULL;
    return &APR_ARRAY_IDX(s->streams, index, stream *)->info;
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
    if (st->skip_body)
        return n;
    st->received += n;
    if (st->max && st->received > st->max) {
        st->stop_reason = apr_psprintf(st->pool, "response larger than %" APR_SIZE_T_FMT
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

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* One header line: a status line starts a response (1xx, a redirect hop,
 * the final one), the blank line ends its headers. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *data)
{
    stream *st = data;
    size_t n = size * nmemb, len = n;
    const char *colon;
    while (len > 0 && (ptr[len - 1] == '\n' || ptr[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        st->hop_has_location = 0;
        st->skip_body = 0;
        if (st->info.headers)
            apr_table_clear(st->info.headers);
        return n;
    }
    if (len == 0) {
        long status = 0;
        curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &status);
        st->skip_body = st->max_redirects > 0 && st->hop_has_location && is_redirect(status);
        return n;
    }
    if ((colon = memchr(ptr, ':', len)) == NULL || colon == ptr)
        return n;
    if ((size_t)(colon - ptr) == 8 && strncasecmp(ptr, "location", 8) == 0)
        st->hop_has_location = 1;
    if (st->info.headers) {
        char *name = apr_pstrmemdup(st->pool, ptr, (apr_size_t)(colon - ptr));
        const char *value = colon + 1;
        while (value < ptr + len && (*value == ' ' || *value == '\t'))
            value++;
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        apr_table_addn(st->info.headers, name,
                       apr_pstrmemdup(st->pool, value, (apr_size_t)(ptr + len - value)));
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

/* Calls on_done once; a stepped set then releases the stream. */
static void finish(stream *st, long status, const char *error)
{
    cb_http_streams *s = st->set;
    if (st->done)
        return;
    st->done = 1;
    s->active--;
    if (st->handlers->on_done)
        st->handlers->on_done(st->baton, st->index, status, error);
    if (s->recycle) {
        curl_slist_free_all(st->headers);
        st->headers = NULL;
        apr_pool_destroy(st->pool);
        st->pool = NULL;
        APR_ARRAY_PUSH(s->free, int) = st->index;
    }
}

/* A stream slot: a released one of a stepped set, else a new one. */
static stream *new_stream(cb_http_streams *s)
{
    stream *st;
    if (s->free->nelts > 0) {
        int index = *(int *)apr_array_pop(s->free);
        st = APR_ARRAY_IDX(s->streams, index, stream *);
        memset(st, 0, sizeof(*st));
        st->index = index;
    } else {
        st = apr_pcalloc(s->pool, sizeof(*st));
        st->index = s->streams->nelts;
        APR_ARRAY_PUSH(s->streams, stream *) = st;
    }
    st->set = s;
    apr_pool_create(&st->pool, s->pool);
    s->added++;
    s->active++;
    return st;
}

static void set_headers(stream *st, const apr_table_t *headers, int same_origin)
{
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    curl_slist_free_all(st->headers);
    st->headers = NULL;
    if (!headers)
        return;
    arr = apr_table_elts(headers);
    e = (const apr_table_entry_t *)arr->elts;
    for (int i = 0; i < arr->nelts; i++) {
        if (!same_origin && (strcasecmp(e[i].key, "Authorization") == 0 ||
                             strcasecmp(e[i].key, "Cookie") == 0 ||
                             strcasecmp(e[i].key, "Proxy-Authorization") == 0))
            continue;
        st->headers = curl_slist_append(st->headers,
                                        apr_pstrcat(st->pool, e[i].key, ": ", e[i].val, NULL));
    }
    curl_easy_setopt(st->easy, CURLOPT_HTTPHEADER, st->headers);
}

static int add_stream(cb_http_streams *s, const cb_http_request *req,
                      const char *socket_path, const cb_http_stream_options *options,
                      const cb_http_stream_handlers *handlers, void *baton)
{
    static const cb_http_stream_options none = {0};
    stream *st = new_stream(s);
    const char *method = req->method ? req->method : "GET";
    const char *refused;
    const cb_http_stream_options *o = options ? options : &none;
    int index = st->index;
    st->handlers = handlers;
    st->baton = baton;
    st->max = req->max_response_bytes;
    st->allowed_private = req->allowed_private;
    st->untrusted = req->untrusted_url;
    st->max_redirects = o->connect_only ? 0 : o->max_redirects;
    st->want_certificate = o->want_certificate;
    st->info.final_url = req->url;
    if (o->keep_headers)
        st->info.headers = apr_table_make(st->pool, 8);
    if (req->untrusted_url && (refused = cb_url_guard_url(req->url))) {
        finish(st, 0, refused);
        return -1;
    }
    if (!(st->easy = curl_easy_init())) {
        finish(st, 0, "cannot create an HTTP handle");
        return -1;
    }
    if (handlers->on_event)
        st->parser = cb_sse_parser_create(st->pool, 1024 * 1024, deliver_event, st);
    curl_easy_setopt(st->easy, CURLOPT_URL, req->url);
    if (socket_path)
        curl_easy_setopt(st->easy, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(st->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(st->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(st->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(req->connect_timeout_ms ? req->connect_timeout_ms : 2000));
    if (req->timeout_ms)
        curl_easy_setopt(st->easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(st->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(st->easy, CURLOPT_WRITEDATA, st);
    curl_easy_setopt(st->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(st->easy, CURLOPT_HEADERDATA, st);
    curl_easy_setopt(st->easy, CURLOPT_PRIVATE, st);
    curl_easy_setopt(st->easy, CURLOPT_FOLLOWLOCATION, 0L);
    if (o->connect_only)
        curl_easy_setopt(st->easy, CURLOPT_CONNECT_ONLY, 1L);
    if (o->want_certificate)
        curl_easy_setopt(st->easy, CURLOPT_CERTINFO, 1L);
    if (o->ca_file)
        curl_easy_setopt(st->easy, CURLOPT_CAINFO, o->ca_file);
    if (o->insecure_tls) {
        curl_easy_setopt(st->easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(st->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req->untrusted_url) {
        curl_easy_setopt(st->easy, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
        curl_easy_setopt(st->easy, CURLOPT_OPENSOCKETDATA, st);
        curl_easy_setopt(st->easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(st->easy, CURLOPT_FORBID_REUSE, 1L);
    }
    st->request_headers = req->headers;
    set_headers(st, req->headers, 1);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(st->easy, CURLOPT_NOBODY, 1L); /* no body follows the headers */
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(st->easy, CURLOPT_CUSTOMREQUEST, method);
    if (req->body) {
        curl_easy_setopt(st->easy, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(st->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        st->posting = 1;
    }
    if (curl_multi_add_handle(s->multi, st->easy) != CURLM_OK) {
        finish(st, 0, "cannot start the HTTP stream");
        return -1;
    }
    return index;
}

int cb_http_streams_add_with(cb_http_streams *s, const cb_http_request *req,
                             const cb_http_stream_options *options,
                             const cb_http_stream_handlers *handlers, void *baton)
{
    return add_stream(s, req, NULL, options, handlers, baton);
}

int cb_http_streams_add_unix(cb_http_streams *s, const cb_http_request *req,
                             const char *socket_path, const cb_http_stream_options *options,
                             const cb_http_stream_handlers *handlers, void *baton)
{
    if (!socket_path || req->untrusted_url || (options && options->max_redirects)) {
        stream *st = new_stream(s);
        st->handlers = handlers;
        st->baton = baton;
        finish(st, 0, "a unix-socket stream takes a socket path, no untrusted URL, no redirects");
        return -1;
    }
    return add_stream(s, req, socket_path, options, handlers, baton);
}

int cb_http_streams_add(cb_http_streams *s, const cb_http_request *req,
                        const cb_http_stream_handlers *handlers, void *baton)
{
    return cb_http_streams_add_with(s, req, NULL, handlers, baton);
}

/* The leaf certificate of this hop, once (the first https hop's). */
static void read_certificate(stream *st)
{
    struct curl_certinfo *ci = NULL;
    if (!st->want_certificate || st->info.cert_not_after ||
        curl_easy_getinfo(st->easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
        ci->num_of_certs < 1)
        return;
    for (struct curl_slist *f = ci->certinfo[0]; f; f = f->next) {
        const char *colon = strchr(f->data, ':');
        if (!colon)
            continue;
        if (strncmp(f->data, "Expire date:", 12) == 0)
            st->info.cert_not_after = cb_cert_time_parse(colon + 1);
        else if (strncmp(f->data, "Subject:", 8) == 0)
            st->info.cert_subject = apr_pstrdup(st->pool, colon + 1);
        else if (strncmp(f->data, "Issuer:", 7) == 0)
            st->info.cert_issuer = apr_pstrdup(st->pool, colon + 1);
        else if (strncmp(f->data, "Serial Number:", 14) == 0)
            st->info.cert_serial = apr_pstrdup(st->pool, colon + 1);
    }
}

/* Why a redirect to url cannot be followed, or NULL. */
static const char *redirect_refusal(stream *st, const char *url, cb_url *parsed)
{
    const char *err;
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return "a redirect was refused: its URL holds a control character";
    if (cb_parse_url(st->pool, url, parsed))
        return "a redirect was refused: it does not lead to an http(s) URL";
    if (st->untrusted && (err = cb_url_guard_host_as_written(parsed->host, st->allowed_private)))
        return apr_pstrcat(st->pool, "a redirect was refused: ",
                           strncmp(err, "refused: ", 9) == 0 ? err + 9 : err, NULL);
    return NULL;
}

/* Follows a redirect when the stream does: 1 when the next hop started,
 * else 0 (this response is the answer, or *error says why the stream
 * ends here). */
static int follow(cb_http_streams *s, stream *st, long status, const char **error)
{
    char *location = NULL;
    const char *refused;
    cb_url next, current;
    int same_origin;
    if (st->max_redirects <= 0 || !is_redirect(status) ||
        curl_easy_getinfo(st->easy, CURLINFO_REDIRECT_URL, &location) != CURLE_OK || !location)
        return 0;
    if (st->info.redirects >= st->max_redirects) {
        *error = apr_psprintf(st->pool, "too many redirects (more than %d)", st->max_redirects);
        return 0;
    }
    location = apr_pstrdup(st->pool, location);
    if ((refused = redirect_refusal(st, location, &next))) {
        *error = refused;
        return 0;
    }
    same_origin = !cb_parse_url(st->pool, st->info.final_url, &current) &&
                  strcmp(current.scheme, next.scheme) == 0 &&
                  strcasecmp(current.host, next.host) == 0 && current.port == next.port;
    curl_multi_remove_handle(s->multi, st->easy);
    st->info.redirects++;
    st->info.final_url = location;
    st->received = 0;
    st->refused = NULL;
    curl_easy_setopt(st->easy, CURLOPT_URL, location);
    if (!same_origin)
        set_headers(st, st->request_headers, 0);
    if (status == 303 || ((status == 301 || status == 302) && st->posting)) {
        /* continue as GET (HEAD stays HEAD) without the body */
        char *method = NULL;
        curl_easy_getinfo(st->easy, CURLINFO_EFFECTIVE_METHOD, &method);
        st->posting = 0;
        curl_easy_setopt(st->easy, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(st->easy, CURLOPT_HTTPGET, 1L);
        if (method && strcmp(method, "HEAD") == 0)
            curl_easy_setopt(st->easy, CURLOPT_NOBODY, 1L);
        else
            curl_easy_setopt(st->easy, CURLOPT_CUSTOMREQUEST, NULL);
    }
    if (curl_multi_add_handle(s->multi, st->easy) != CURLM_OK) {
        *error = "cannot start the HTTP stream";
        return 0;
    }
    return 1;
}

static const char *transfer_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return NULL;
    case CURLE_OPERATION_TIMEDOUT: return "timed out";
    case CURLE_COULDNT_RESOLVE_HOST: return "the host name does not resolve";
    case CURLE_COULDNT_CONNECT: return "connection refused";
    case CURLE_PEER_FAILED_VERIFICATION: return "the TLS certificate is not trusted or does not "
                                                "match the host name";
    case CURLE_SSL_CONNECT_ERROR: return "the TLS handshake failed";
    default: return curl_easy_strerror(rc);
    }
}

static void complete(cb_http_streams *s, CURL *easy, CURLcode rc)
{
    stream *st = NULL;
    long status = 0;
    const char *error = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&st);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    read_certificate(st);
    if (st->refused && rc != CURLE_OK) /* else another address was allowed */
        error = st->refused;
    else if (st->stop_reason)
        error = st->stop_reason;
    else
        error = transfer_error(rc);
    if (!error && follow(s, st, status, &error))
        return;
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

/* Runs what is ready and completes what finished; 0, or -1 when the
 * multi handle failed (every stream is then cancelled). */
static int perform(cb_http_streams *s)
{
    CURLMsg *msg;
    int running, queued;
    if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
        cancel_all(s);
        return -1;
    }
    while ((msg = curl_multi_info_read(s->multi, &queued)))
        if (msg->msg == CURLMSG_DONE)
            complete(s, msg->easy_handle, msg->data.result);
    return 0;
}

apr_status_t cb_http_streams_run(cb_http_streams *s, int64_t tick_ms,
                                 int (*on_tick)(void *baton), void *baton)
{
    if (tick_ms <= 0)
        tick_ms = 1000;
    /* until every stream is done: a redirect's next hop, or a stream that
     * on_tick added, keeps the loop going */
    while (s->active > 0) {
        if (perform(s))
            return APR_EGENERAL;
        if (on_tick && on_tick(baton)) {
            cancel_all(s);
            return APR_ECONNABORTED;
        }
        if (s->active > 0)
            curl_multi_poll(s->multi, NULL, 0, (int)tick_ms, NULL);
    }
    return APR_SUCCESS;
}

int cb_http_streams_step(cb_http_streams *s, int64_t wait_ms)
{
    s->recycle = 1;
    if (perform(s))
        return 0;
    if (s->active > 0 && wait_ms > 0) {
        curl_multi_poll(s->multi, NULL, 0, (int)wait_ms, NULL);
        if (perform(s))
            return 0;
    }
    return s->active;
}
