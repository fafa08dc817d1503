/*
 * test_http_stream_unix.c: cb_http_streams_add_unix, a stream over a local
 * unix socket (how the containers plugin reaches a container engine): a
 * real listener on a socket in a temporary directory gets the request
 * (method, path, Host, body) and its answer arrives as a stream's body; a
 * socket nobody listens on ends the stream with an error and status 0; an
 * untrusted URL or redirects are refused before any connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_strings.h>
#include <check.h>

#include "cloudbase/http_stream.h"

typedef struct listener {
    int fd;
    char request[2048];
} listener;

typedef struct outcome {
    char body[256];
    long status;
    const char *error;
    int done;
} outcome;

static char socket_dir[64], socket_path[96];

/* Accepts one connection, keeps what it read up to the end of a 4-byte
 * body, answers 200 "hello". */
static void *serve_once(void *arg)
{
    listener *l = arg;
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                 "Connection: close\r\n\r\nhello";
    int c = accept(l->fd, NULL, NULL);
    size_t have = 0;
    if (c < 0)
        return NULL;
    while (have < sizeof(l->request) - 1) {
        ssize_t n = read(c, l->request + have, sizeof(l->request) - 1 - have);
        char *end;
        if (n <= 0)
            break;
        have += (size_t)n;
        l->request[have] = '\0';
        if ((end = strstr(l->request, "\r\n\r\n")) && strlen(end + 4) >= 4)
            break;
    }
    if (write(c, answer, sizeof(answer) - 1) < 0)
        perror("write");
    close(c);
    return NULL;
}

static int on_data(void *baton, int stream, const char *data, size_t len)
{
    outcome *o = baton;
    size_t have = strlen(o->body);
    (void)stream;
    if (have + len < sizeof(o->body))
        memcpy(o->body + have, data, len);
    return 0;
}

static void on_done(void *baton, int stream, long status, const char *error)
{
    outcome *o = baton;
    (void)stream;
    o->done++;
    o->status = status;
    o->error = error;
}

static const cb_http_stream_handlers handlers = {.on_data = on_data, .on_done = on_done};

static void setup(void)
{
    snprintf(socket_dir, sizeof(socket_dir), "/tmp/cb-unix-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(socket_dir));
    snprintf(socket_path, sizeof(socket_path), "%s/engine.sock", socket_dir);
}

static void teardown(void)
{
    unlink(socket_path);
    rmdir(socket_dir);
}

START_TEST(request_over_unix_socket)
{
    apr_pool_t *p;
    listener l = {0};
    outcome o = {0};
    pthread_t server;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cb_http_request req = {.method = "POST", .url = "http://engine/v1.41/containers/create",
                           .body = "{\"a\"", .body_len = 4, .timeout_ms = 5000};
    apr_pool_create(&p, NULL);
    l.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(l.fd, 0);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
    ck_assert_int_eq(bind(l.fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(l.fd, 1), 0);
    ck_assert_int_eq(pthread_create(&server, NULL, serve_once, &l), 0);
    {
        cb_http_streams *set = cb_http_streams_create(p);
        ck_assert_int_ge(cb_http_streams_add_unix(set, &req, socket_path, NULL, &handlers, &o), 0);
        ck_assert_int_eq(cb_http_streams_run(set, 100, NULL, NULL), APR_SUCCESS);
    }
    pthread_join(server, NULL);
    close(l.fd);
    ck_assert_int_eq(o.done, 1);
    ck_assert_msg(o.error == NULL, "error: %s", o.error);
    ck_assert_int_eq(o.status, 200);
    ck_assert_str_eq(o.body, "hello");
    ck_assert_msg(strncmp(l.request, "POST /v1.41/containers/create HTTP/1.1\r\n", 40) == 0,
                  "request: %s", l.request);
    ck_assert_msg(strstr(l.request, "\r\nHost: engine\r\n") != NULL, "request: %s", l.request);
    ck_assert_msg(strstr(l.request, "\r\n\r\n{\"a\"") != NULL, "request: %s", l.request);
    apr_pool_destroy(p);
}
END_TEST

START_TEST(nobody_listening_or_refused)
{
    apr_pool_t *p;
    outcome down = {0}, untrusted = {0}, redirects = {0};
    cb_http_request req = {.url = "http://engine/v1.41/_ping", .timeout_ms = 5000};
    cb_http_stream_options follow = {.max_redirects = 3};
    cb_http_streams *set;
    apr_pool_create(&p, NULL);
    set = cb_http_streams_create(p);
    ck_assert_int_ge(cb_http_streams_add_unix(set, &req, socket_path, NULL, &handlers, &down), 0);
    cb_http_streams_run(set, 100, NULL, NULL);
    ck_assert_int_eq(down.done, 1);
    ck_assert_int_eq(down.status, 0);
    ck_assert_ptr_nonnull(down.error);

    set = cb_http_streams_create(p);
    req.untrusted_url = 1;
    ck_assert_int_eq(cb_http_streams_add_unix(set, &req, socket_path, NULL, &handlers, &untrusted),
                     -1);
    ck_assert_int_eq(untrusted.done, 1);
    ck_assert_ptr_nonnull(untrusted.error);
    req.untrusted_url = 0;
    ck_assert_int_eq(cb_http_streams_add_unix(set, &req, socket_path, &follow, &handlers,
                                              &redirects), -1);
    ck_assert_int_eq(redirects.done, 1);
    ck_assert_int_eq(cb_http_streams_add_unix(set, &req, NULL, NULL, &handlers, &redirects), -1);
    ck_assert_int_eq(redirects.done, 2);
    apr_pool_destroy(p);
}
END_TEST

Suite *http_stream_unix_suite(void);
Suite *http_stream_unix_suite(void)
{
    Suite *s = suite_create("http_stream_unix");
    TCase *tc = tcase_create("unix_socket");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, request_over_unix_socket);
    tcase_add_test(tc, nobody_listening_or_refused);
    suite_add_tcase(s, tc);
    return s;
}
