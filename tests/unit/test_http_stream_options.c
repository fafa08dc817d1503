/*
 * test_http_stream_options.c: what cb_http_streams_add_with adds to the
 * streaming client, against the real test upstream and a real TLS server
 * (openssl s_server): redirects followed hop by hop with every hop's URL
 * through the address guard, a cap on them, 303 as GET and credentials
 * dropped across origins; response headers kept; a connect-only port
 * check; a HEAD request that ends at the headers; the peer certificate's expiry read; and a set driven with
 * cb_http_streams_step that takes new streams while others run (a slow
 * one does not hold back a fast one added after it) and reuses released
 * slots. Also the certificate date parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <check.h>

#include "cb_core.h"
#include "cloudbase/http_stream.h"
#include "servers.h"
#include "tls_server.h"

static apr_pool_t *pool;
static int port;
static pid_t upstream;
static cb_cidr_list *loopback;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    port = srv_free_port();
    upstream = srv_start_upstream(port, NULL);
    ck_assert_msg(srv_wait_port(port, 10000), "upstream did not start");
    ck_assert_ptr_null(cb_cidr_list_parse(pool, "127.0.0.0/8 ::1", &loopback));
}

static void teardown(void)
{
    srv_stop(upstream);
    apr_pool_destroy(pool);
}

#define MAX_STREAMS 8

typedef struct seen {
    cb_http_streams *set;
    int done[MAX_STREAMS];
    long status[MAX_STREAMS];
    const char *error[MAX_STREAMS];
    char body[MAX_STREAMS][512];
    int redirects[MAX_STREAMS];
    const char *final_url[MAX_STREAMS];
    const char *hops_header[MAX_STREAMS];
    apr_time_t not_after[MAX_STREAMS];
    const char *subject[MAX_STREAMS];
    int finished[MAX_STREAMS]; /* order of completion */
    int finished_count;
} seen;

static int on_data(void *baton, int stream, const char *data, size_t len)
{
    seen *s = baton;
    size_t have = strlen(s->body[stream]);
    if (have + len < sizeof(s->body[stream]))
        memcpy(s->body[stream] + have, data, len);
    return 0;
}

static void on_done(void *baton, int stream, long status, const char *error)
{
    seen *s = baton;
    const cb_http_stream_info *info = cb_http_streams_info(s->set, stream);
    s->done[stream]++;
    s->status[stream] = status;
    s->error[stream] = error ? apr_pstrdup(pool, error) : NULL;
    s->redirects[stream] = info->redirects;
    s->final_url[stream] = apr_pstrdup(pool, info->final_url);
    if (info->headers && apr_table_get(info->headers, "x-hops"))
        s->hops_header[stream] = apr_pstrdup(pool, apr_table_get(info->headers, "x-hops"));
    s->not_after[stream] = info->cert_not_after;
    s->subject[stream] = info->cert_subject ? apr_pstrdup(pool, info->cert_subject) : NULL;
    s->finished[s->finished_count++] = stream;
}

static const cb_http_stream_handlers handlers = {.on_data = on_data, .on_done = on_done};

/* An untrusted request to the upstream that may reach loopback. */
static cb_http_request request(const char *path)
{
    cb_http_request req;
    memset(&req, 0, sizeof(req));
    req.url = apr_psprintf(pool, "http://127.0.0.1:%d%s", port, path);
    req.untrusted_url = 1;
    req.allowed_private = loopback;
    req.timeout_ms = 5000;
    return req;
}

static int add(seen *s, const char *path, int max_redirects)
{
    cb_http_request req = request(path);
    cb_http_stream_options o = {.max_redirects = max_redirects, .keep_headers = 1};
    return cb_http_streams_add_with(s->set, &req, &o, &handlers, s);
}

START_TEST(redirects_followed_and_guarded)
{
    seen s;
    int chain, capped, metadata, private_hop, not_followed;
    memset(&s, 0, sizeof(s));
    s.set = cb_http_streams_create(pool);
    chain = add(&s, "/hops?n=3", 5);
    capped = add(&s, "/hops?n=3", 2);
    metadata = add(&s, "/redirect?to=http://169.254.169.254/latest/meta-data/", 5);
    private_hop = add(&s, "/redirect?to=http://10.255.255.1/", 5);
    not_followed = add(&s, "/hops?n=1", 0);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    /* three hops to the answer: only its body and headers are seen */
    ck_assert_int_eq(s.status[chain], 200);
    ck_assert_ptr_null(s.error[chain]);
    ck_assert_int_eq(s.redirects[chain], 3);
    ck_assert_str_eq(s.body[chain], "arrived");
    ck_assert_ptr_nonnull(strstr(s.final_url[chain], "/hops?n=0"));
    ck_assert_str_eq(s.hops_header[chain], "done");
    /* more than the cap */
    ck_assert_str_eq(s.error[capped], "too many redirects (more than 2)");
    ck_assert_int_eq(s.redirects[capped], 2);
    /* a hop to a metadata or unlisted private address never connects */
    ck_assert_msg(strstr(s.error[metadata], "a redirect was refused") &&
                      strstr(s.error[metadata], "link-local or metadata"),
                  "%s", s.error[metadata]);
    ck_assert_msg(strstr(s.error[private_hop], "a redirect was refused") &&
                      strstr(s.error[private_hop], "private"),
                  "%s", s.error[private_hop]);
    ck_assert_int_eq(s.redirects[metadata], 0);
    /* max_redirects 0: the redirect is the answer */
    ck_assert_int_eq(s.status[not_followed], 302);
    ck_assert_ptr_null(s.error[not_followed]);
    ck_assert_int_eq(s.redirects[not_followed], 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(s.done[i], 1);
}
END_TEST

START_TEST(see_other_continues_as_get_without_credentials_elsewhere)
{
    seen s;
    apr_table_t *headers = apr_table_make(pool, 2);
    cb_http_request req = request(apr_psprintf(
        pool, "/redirect?code=303&to=http://localhost:%d/echo", port));
    cb_http_stream_options o = {.max_redirects = 3};
    memset(&s, 0, sizeof(s));
    s.set = cb_http_streams_create(pool);
    apr_table_set(headers, "Authorization", "Bearer secret-token");
    apr_table_set(headers, "X-Kept", "yes");
    req.method = "POST";
    req.body = "{\"a\":1}";
    req.body_len = strlen(req.body);
    req.headers = headers;
    ck_assert_int_eq(cb_http_streams_add_with(s.set, &req, &o, &handlers, &s), 0);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    ck_assert_msg(s.status[0] == 200 && !s.error[0], "%ld %s", s.status[0], s.error[0]);
    ck_assert_ptr_nonnull(strstr(s.body[0], "\"method\": \"GET\""));
    ck_assert_ptr_nonnull(strstr(s.body[0], "\"bodyLength\": 0"));
    ck_assert_ptr_nonnull(strstr(s.body[0], "\"x-kept\": \"yes\""));
    ck_assert_ptr_null(strstr(s.body[0], "secret-token"));
}
END_TEST

START_TEST(connect_only_port_check)
{
    seen s;
    cb_http_request open_port = request("/"), closed_port = request("/");
    cb_http_stream_options o = {.connect_only = 1};
    memset(&s, 0, sizeof(s));
    s.set = cb_http_streams_create(pool);
    closed_port.url = apr_psprintf(pool, "http://127.0.0.1:%d/", srv_free_port());
    cb_http_streams_add_with(s.set, &open_port, &o, &handlers, &s);
    cb_http_streams_add_with(s.set, &closed_port, &o, &handlers, &s);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    ck_assert_msg(s.status[0] == 0 && !s.error[0], "%ld %s", s.status[0], s.error[0]);
    ck_assert_str_eq(s.error[1], "connection refused");
}
END_TEST

START_TEST(head_request_ends_at_the_headers)
{
    seen s;
    cb_http_request req = request("/big?bytes=100");
    memset(&s, 0, sizeof(s));
    s.set = cb_http_streams_create(pool);
    req.method = "HEAD";
    req.timeout_ms = 3000;
    cb_http_streams_add_with(s.set, &req, NULL, &handlers, &s);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    /* not waiting for the 100 bytes Content-Length announces */
    ck_assert_msg(s.status[0] == 200 && !s.error[0], "%ld %s", s.status[0], s.error[0]);
    ck_assert_str_eq(s.body[0], "");
}
END_TEST

START_TEST(peer_certificate_read)
{
    char dir[] = "/tmp/cb-unit-tls-XXXXXX";
    int tls_port = srv_free_port();
    pid_t server;
    seen s;
    cb_http_request req = request("/");
    cb_http_stream_options trusted = {.want_certificate = 1}, untrusted = {.want_certificate = 1},
                           insecure = {.want_certificate = 1, .insecure_tls = 1};
    apr_time_t now = apr_time_now();
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert(tls_make_certificate(dir, "short", 3));
    ck_assert_int_gt(server = tls_start_server(dir, "short", tls_port), 0);
    memset(&s, 0, sizeof(s));
    s.set = cb_http_streams_create(pool);
    req.url = apr_psprintf(pool, "https://127.0.0.1:%d/", tls_port);
    trusted.ca_file = apr_psprintf(pool, "%s/short.crt", dir);
    /* s_server -www serves one connection at a time: one after the other */
    cb_http_streams_add_with(s.set, &req, &trusted, &handlers, &s);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    cb_http_streams_add_with(s.set, &req, &untrusted, &handlers, &s);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    cb_http_streams_add_with(s.set, &req, &insecure, &handlers, &s);
    ck_assert_int_eq(cb_http_streams_run(s.set, 50, NULL, NULL), APR_SUCCESS);
    srv_stop(server);
    {
        char rm[128];
        snprintf(rm, sizeof(rm), "rm -r %s", dir);
        ck_assert_int_eq(system(rm), 0);
    }
    ck_assert_msg(s.status[0] == 200 && !s.error[0], "%ld %s", s.status[0], s.error[0]);
    /* valid for 3 days from when it was made, just now */
    ck_assert_msg(s.not_after[0] > now + apr_time_from_sec(3 * 86400 - 120) &&
                      s.not_after[0] < now + apr_time_from_sec(3 * 86400 + 120),
                  "not after %" APR_TIME_T_FMT " now %" APR_TIME_T_FMT, s.not_after[0], now);
    ck_assert_ptr_nonnull(strstr(s.subject[0], "127.0.0.1"));
    /* the system's CAs do not trust it */
    ck_assert_msg(s.error[1] && strstr(s.error[1], "not trusted"), "%s", s.error[1]);
    /* insecure_tls: not verified, still read */
    ck_assert_msg(s.status[2] == 200 && !s.error[2], "%ld %s", s.status[2], s.error[2]);
    ck_assert_int_eq(s.not_after[2], s.not_after[0]);
}
END_TEST

START_TEST(stepped_set_takes_streams_while_others_run)
{
    seen s;
    int slow, fast, later, running;
    memset(&s, 0, sizeof(s));
    s.set = cb_http_streams_create(pool);
    slow = add(&s, "/slow?ms=1500", 0);
    ck_assert_int_eq(cb_http_streams_step(s.set, 100), 1);
    /* added while the slow one runs, and done long before it */
    fast = add(&s, "/status?code=204", 0);
    while (!s.done[fast])
        running = cb_http_streams_step(s.set, 100);
    ck_assert_int_eq(s.done[slow], 0);
    ck_assert_int_eq(s.status[fast], 204);
    /* the fast one's slot was released and goes to the next stream */
    later = add(&s, "/status?code=200", 0);
    ck_assert_int_eq(later, fast);
    s.done[later] = 0;
    do
        running = cb_http_streams_step(s.set, 100);
    while (running > 0);
    ck_assert_int_eq(s.done[slow], 1);
    ck_assert_int_eq(s.status[slow], 200);
    ck_assert_int_eq(s.status[later], 200);
    ck_assert_int_eq(s.finished_count, 3);
    ck_assert_int_eq(s.finished[0], fast);
    ck_assert_int_eq(s.finished[2], slow);
    ck_assert_int_eq(cb_http_streams_count(s.set), 3);
}
END_TEST

START_TEST(certificate_dates)
{
    /* 2026-12-04 18:11:13 UTC */
    ck_assert_int_eq(cb_cert_time_parse("Dec  4 18:11:13 2026 GMT"),
                     apr_time_from_sec(1796407873));
    ck_assert_int_eq(cb_cert_time_parse("Feb 29 00:00:00 2028 GMT"),
                     apr_time_from_sec(1835395200));
    ck_assert_int_eq(cb_cert_time_parse("Jan  1 00:00:01.5 1970 GMT"), apr_time_from_sec(1));
    ck_assert_int_eq(cb_cert_time_parse("Jan  2 00:00:00 1970 GMT"), apr_time_from_sec(86400));
    ck_assert_int_eq(cb_cert_time_parse("Dez  4 18:11:13 2026 GMT"), 0);
    ck_assert_int_eq(cb_cert_time_parse("Dec 32 18:11:13 2026 GMT"), 0);
    ck_assert_int_eq(cb_cert_time_parse("Dec  4 18:11 2026 GMT"), 0);
    ck_assert_int_eq(cb_cert_time_parse("Dec  4 18:11:13 2026"), 0);
    ck_assert_int_eq(cb_cert_time_parse(""), 0);
}
END_TEST

Suite *http_stream_options_suite(void)
{
    Suite *s = suite_create("http_stream_options");
    TCase *tc = tcase_create("options");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, redirects_followed_and_guarded);
    tcase_add_test(tc, see_other_continues_as_get_without_credentials_elsewhere);
    tcase_add_test(tc, connect_only_port_check);
    tcase_add_test(tc, head_request_ends_at_the_headers);
    tcase_add_test(tc, peer_certificate_read);
    tcase_add_test(tc, stepped_set_takes_streams_while_others_run);
    tcase_add_test(tc, certificate_dates);
    suite_add_tcase(s, tc);
    return s;
}
