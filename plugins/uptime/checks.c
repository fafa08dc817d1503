/*
 * checks.c: the checks in flight, without a thread per check: HTTP(S)
 * checks as streams on the core's libcurl-multi client (cb_http_streams,
 * with the outbound URL guard on every address and every redirect hop,
 * redirects up to the monitor's max_redirects, the peer certificate read
 * for an expiry warning), TCP port checks as connect-only streams on the
 * same multi, and push monitors judged from their last push (push.c). One
 * set of streams serves the task thread for its life: the scheduler starts
 * a check as soon as it falls due, while others run (a check that hangs
 * until its timeout holds back nobody), and each finished check is handed
 * back to the scheduler as soon as it is done.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/http_stream.h"
#include "uptime.h"

#define UP_MAX_BODY (1024 * 1024)

typedef struct up_check {
    struct up_checks *owner;
    apr_pool_t *pool;          /* the check's memory, freed once it is recorded */
    const up_monitor *monitor;
    up_pending pending;
    up_result result;
    apr_time_t started;
    char *body;
    size_t body_len;
    struct up_check *next_done;
} up_check;

struct up_checks {
    up_plugin *up;
    apr_pool_t *pool;
    cb_http_streams *streams;
    up_check_done_fn done;
    up_check *finished;        /* done, not yet handed back */
    int running;               /* streams in flight */
};

int up_body_matches(const up_monitor *m, const char *body)
{
    int found;
    if (!m->keyword)
        return 1;
    found = strstr(body ? body : "", m->keyword) != NULL;
    return m->invert_keyword ? !found : found;
}

up_checks *up_checks_create(up_plugin *up, apr_pool_t *p, up_check_done_fn done)
{
    up_checks *c = apr_pcalloc(p, sizeof(*c));
    c->up = up;
    c->pool = p;
    c->done = done;
    c->streams = cb_http_streams_create(p);
    /* a stepped set: each stream is released once done, so the set lasts */
    cb_http_streams_step(c->streams, 0);
    return c;
}

static void mark_finished(up_check *check)
{
    check->next_done = check->owner->finished;
    check->owner->finished = check;
}

static int on_http_data(void *baton, int stream, const char *data, size_t len)
{
    up_check *c = baton;
    (void)stream;
    if (!c->monitor->keyword)
        return 0;
    if (c->body_len + len > UP_MAX_BODY)
        len = UP_MAX_BODY - c->body_len;
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
    return 0;
}

/* The certificate, while the stream's info is there (only within on_done). */
static void keep_certificate(up_check *c, int stream)
{
    const cb_http_stream_info *info = cb_http_streams_info(c->owner->streams, stream);
    if (!info || !info->cert_not_after)
        return;
    c->result.cert_expires_ms = (int64_t)apr_time_as_msec(info->cert_not_after);
    c->result.cert_id = apr_psprintf(c->pool, "%s|%s|%" APR_INT64_T_FMT,
                                     info->cert_issuer ? info->cert_issuer : "",
                                     info->cert_serial ? info->cert_serial : "",
                                     c->result.cert_expires_ms);
    c->result.cert_subject = info->cert_subject ? apr_pstrdup(c->pool, info->cert_subject)
                                                : NULL;
}

static void judge_http(up_check *c, long status, const char *error)
{
    up_result *r = &c->result;
    r->status_code = status;
    if (error) {
        r->ok = 0;
        r->message = c->monitor->kind == UP_KIND_TCP && strcmp(error, "timed out") == 0
                         ? "connect timed out"
                         : apr_pstrdup(c->pool, error);
        return;
    }
    if (c->monitor->kind == UP_KIND_TCP) {
        r->ok = 1;
        r->message = "";
        return;
    }
    if (!up_code_accepted(&c->monitor->accepted, status)) {
        r->ok = 0;
        r->message = apr_psprintf(c->pool, "status %ld is not accepted", status);
        return;
    }
    if (c->monitor->keyword) {
        c->body[c->body_len] = '\0';
        if (!up_body_matches(c->monitor, c->body)) {
            r->ok = 0;
            r->message = apr_psprintf(c->pool, c->monitor->invert_keyword
                                                   ? "keyword '%s' found"
                                                   : "keyword '%s' not found",
                                      c->monitor->keyword);
            return;
        }
    }
    r->ok = 1;
    r->message = "";
}

static void on_http_done(void *baton, int stream, long status, const char *error)
{
    up_check *c = baton;
    c->result.latency_ms = (int64_t)apr_time_as_msec(apr_time_now() - c->started);
    keep_certificate(c, stream);
    judge_http(c, status, error);
    mark_finished(c);
}

static const cb_http_stream_handlers http_handlers = {
    .on_data = on_http_data, .on_done = on_http_done};

/* A TCP check's URL for a connect-only stream. */
static const char *tcp_url(apr_pool_t *p, const up_monitor *m)
{
    return strchr(m->host, ':') ? apr_psprintf(p, "http://[%s]:%d/", m->host, m->port)
                                : apr_psprintf(p, "http://%s:%d/", m->host, m->port);
}

static void start_stream(up_checks *checks, up_check *c)
{
    const up_monitor *m = c->monitor;
    cb_http_request *req = apr_pcalloc(c->pool, sizeof(*req));
    cb_http_stream_options *o = apr_pcalloc(c->pool, sizeof(*o));
    req->untrusted_url = 1;
    req->allowed_private = checks->up->allowed_private;
    req->timeout_ms = m->timeout_ms;
    req->connect_timeout_ms = m->timeout_ms < 5000 ? m->timeout_ms : 5000;
    if (m->kind == UP_KIND_TCP) {
        req->url = tcp_url(c->pool, m);
        req->connect_timeout_ms = m->timeout_ms;
        o->connect_only = 1;
    } else {
        if (m->keyword)
            c->body = apr_palloc(c->pool, UP_MAX_BODY + 1);
        req->method = m->method;
        req->url = m->url;
        req->headers = apr_is_empty_table(m->headers) ? NULL : m->headers;
        req->max_response_bytes = UP_MAX_BODY;
        o->max_redirects = m->max_redirects;
        o->want_certificate = m->expiry_warning_count > 0;
        o->ca_file = m->ca_file;
        o->insecure_tls = m->ignore_tls;
    }
    checks->running++;
    /* refused at once: on_http_done has run already */
    if (cb_http_streams_add_with(checks->streams, req, o, &http_handlers, c) < 0)
        checks->running--;
}

void up_checks_start(up_checks *checks, const up_monitor *m, const up_pending *pending)
{
    apr_pool_t *p;
    up_check *c;
    apr_pool_create(&p, checks->pool);
    c = apr_pcalloc(p, sizeof(*c));
    c->owner = checks;
    c->pool = p;
    c->monitor = m;
    c->pending = *pending;
    c->started = apr_time_now();
    c->result.message = "check did not run";
    if (m->kind == UP_KIND_PUSH) {
        up_push_evaluate(checks->up, p, m, pending->at_ms, &c->result);
        mark_finished(c);
        return;
    }
    start_stream(checks, c);
}

/* Hands the finished checks back, oldest first, and frees them. */
static void hand_back(up_checks *checks, apr_pool_t *scratch)
{
    up_check *list = NULL;
    while (checks->finished) {
        up_check *c = checks->finished;
        checks->finished = c->next_done;
        c->next_done = list;
        list = c;
    }
    while (list) {
        up_check *c = list;
        list = c->next_done;
        checks->done(checks->up, scratch, c->monitor, &c->pending, &c->result);
        apr_pool_destroy(c->pool);
    }
}

int up_checks_drive(up_checks *checks, apr_pool_t *scratch, int64_t wait_ms)
{
    if (checks->running > 0)
        checks->running = cb_http_streams_step(checks->streams,
                                               checks->finished ? 0 : wait_ms);
    hand_back(checks, scratch);
    return checks->running;
}
