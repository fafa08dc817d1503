/*
 * checks.c: runs one batch of due checks without a thread per check: HTTP(S)
 * checks as streams on the core's libcurl-multi client (cb_http_streams,
 * with the outbound URL guard), TCP port checks as non-blocking connects
 * polled together (the guard applied to each resolved address), and push
 * monitors judged from their last push (push.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/http_stream.h"
#include "uptime.h"

#define UP_MAX_BODY (1024 * 1024)

typedef struct http_check {
    const up_monitor *monitor;
    up_result *result;
    apr_time_t started;
    char *body;
    size_t body_len;
    apr_pool_t *pool;
} http_check;

int up_body_matches(const up_monitor *m, const char *body)
{
    int found;
    if (!m->keyword)
        return 1;
    found = strstr(body ? body : "", m->keyword) != NULL;
    return m->invert_keyword ? !found : found;
}

static int on_http_data(void *baton, int stream, const char *data, size_t len)
{
    http_check *c = &((http_check *)baton)[stream];
    (void)stream;
    if (!c->monitor->keyword)
        return 0;
    if (c->body_len + len > UP_MAX_BODY)
        len = UP_MAX_BODY - c->body_len;
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
    return 0;
}

static void on_http_done(void *baton, int stream, long status, const char *error)
{
    http_check *c = &((http_check *)baton)[stream];
    up_result *r = c->result;
    r->latency_ms = (int64_t)apr_time_as_msec(apr_time_now() - c->started);
    r->status_code = status;
    if (error) {
        r->ok = 0;
        r->message = apr_pstrdup(c->pool, error);
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

static const cb_http_stream_handlers http_handlers = {
    .on_data = on_http_data, .on_done = on_http_done};

typedef struct tcp_check {
    int fd;
    apr_time_t started, deadline;
    up_result *result;
} tcp_check;

/* Starts a non-blocking connect; returns the socket, or -1 with r filled. */
static int tcp_start(apr_pool_t *p, up_plugin *up, const up_monitor *m, up_result *r)
{
    struct addrinfo hints, *ai = NULL;
    char port[8];
    const char *refused;
    int fd;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", m->port);
    if (getaddrinfo(m->host, port, &hints, &ai) != 0 || !ai) {
        r->message = "the host name does not resolve";
        return -1;
    }
    if ((refused = cb_url_guard_address(ai->ai_addr, up->allowed_private))) {
        r->message = apr_psprintf(p, "address refused: %s", refused);
        freeaddrinfo(ai);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        r->message = "connection refused";
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void tcp_run(apr_pool_t *p, tcp_check *checks, int count)
{
    struct pollfd *fds = apr_pcalloc(p, sizeof(*fds) * (size_t)(count ? count : 1));
    int open_count = 0;
    for (int i = 0; i < count; i++)
        open_count += checks[i].fd >= 0;
    while (open_count > 0) {
        apr_time_t now = apr_time_now(), next = 0;
        int n = 0, *index = apr_pcalloc(p, sizeof(int) * (size_t)count);
        for (int i = 0; i < count; i++) {
            if (checks[i].fd < 0)
                continue;
            if (now >= checks[i].deadline) {
                checks[i].result->message = "connect timed out";
                close(checks[i].fd);
                checks[i].fd = -1;
                open_count--;
                continue;
            }
            if (!next || checks[i].deadline < next)
                next = checks[i].deadline;
            fds[n].fd = checks[i].fd;
            fds[n].events = POLLOUT;
            fds[n].revents = 0;
            index[n++] = i;
        }
        if (n == 0)
            break;
        if (poll(fds, (nfds_t)n, (int)apr_time_as_msec(next - now) + 1) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n; k++) {
            tcp_check *c = &checks[index[k]];
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            if (!fds[k].revents)
                continue;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            c->result->latency_ms = (int64_t)apr_time_as_msec(apr_time_now() - c->started);
            c->result->ok = soerr == 0;
            c->result->message = soerr == 0 ? "" : "connection refused";
            close(c->fd);
            c->fd = -1;
            open_count--;
        }
    }
}

void up_run_checks(up_plugin *up, apr_pool_t *p, const up_monitor *const *monitors, int count,
                   int64_t now_ms, up_result *results)
{
    cb_http_streams *streams = cb_http_streams_create(p);
    http_check *http = apr_pcalloc(p, sizeof(*http) * (size_t)(count ? count : 1));
    tcp_check *tcp = apr_pcalloc(p, sizeof(*tcp) * (size_t)(count ? count : 1));
    int tcp_count = 0;
    for (int i = 0; i < count; i++) {
        const up_monitor *m = monitors[i];
        up_result *r = &results[i];
        memset(r, 0, sizeof(*r));
        r->message = "check did not run";
        if (m->kind == UP_KIND_PUSH) {
            up_push_evaluate(up, p, m, now_ms, r);
        } else if (m->kind == UP_KIND_TCP) {
            tcp_check *c = &tcp[tcp_count++];
            c->result = r;
            c->started = apr_time_now();
            c->deadline = c->started + apr_time_from_msec(m->timeout_ms);
            c->fd = tcp_start(p, up, m, r);
        } else {
            cb_http_request *req = apr_pcalloc(p, sizeof(*req));
            int index = cb_http_streams_count(streams);
            http_check *c = &http[index];
            c->monitor = m;
            c->result = r;
            c->pool = p;
            c->started = apr_time_now();
            if (m->keyword)
                c->body = apr_palloc(p, UP_MAX_BODY + 1);
            req->method = m->method;
            req->url = m->url;
            req->headers = apr_is_empty_table(m->headers) ? NULL : m->headers;
            req->timeout_ms = m->timeout_ms;
            req->connect_timeout_ms = m->timeout_ms < 5000 ? m->timeout_ms : 5000;
            req->max_response_bytes = UP_MAX_BODY;
            req->untrusted_url = 1;
            req->allowed_private = up->allowed_private;
            cb_http_streams_add(streams, req, &http_handlers, http);
        }
    }
    tcp_run(p, tcp, tcp_count);
    if (cb_http_streams_count(streams) > 0)
        cb_http_streams_run(streams, 200, NULL, NULL);
}
