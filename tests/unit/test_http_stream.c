/*
 * test_http_stream.c: the curl-multi streaming client against the real test
 * upstream: two event streams driven at once by one thread deliver all
 * their events and finish; a tick that asks to stop cancels the rest; an
 * untrusted URL to a refused address ends at once with the guard's reason.
 */
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cloudbase/http_stream.h"
#include "servers.h"

static apr_pool_t *pool;
static int port;
static pid_t upstream;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    port = srv_free_port();
    upstream = srv_start_upstream(port, NULL);
    ck_assert_msg(srv_wait_port(port, 10000), "upstream did not start");
}

static void teardown(void)
{
    srv_stop(upstream);
    apr_pool_destroy(pool);
}

typedef struct seen {
    int events[4];
    int done[4];
    long status[4];
    const char *error[4];
    int order[16];
    int total;
    int ticks;
    int stop_after_events;
} seen;

static int on_event(void *baton, int stream, const cb_sse_event *ev)
{
    seen *s = baton;
    ck_assert(strncmp(ev->data, "event ", 6) == 0 || strncmp(ev->data, "tick ", 5) == 0);
    s->events[stream]++;
    if (s->total < 16)
        s->order[s->total] = stream;
    s->total++;
    return 0;
}

static void on_done(void *baton, int stream, long status, const char *error)
{
    seen *s = baton;
    s->done[stream]++;
    s->status[stream] = status;
    s->error[stream] = error;
}

static int on_tick(void *baton)
{
    seen *s = baton;
    s->ticks++;
    return s->stop_after_events && s->total >= s->stop_after_events;
}

static const cb_http_stream_handlers handlers = {NULL, on_event, on_done};

static void add(cb_http_streams *set, const char *path, int untrusted, seen *s)
{
    cb_http_request req;
    memset(&req, 0, sizeof(req));
    req.url = apr_psprintf(pool, "http://127.0.0.1:%d%s", port, path);
    req.untrusted_url = untrusted;
    cb_http_streams_add(set, &req, &handlers, s);
}

START_TEST(two_streams_at_once)
{
    seen s;
    cb_http_streams *set = cb_http_streams_create(pool);
    memset(&s, 0, sizeof(s));
    add(set, "/sse", 0, &s);
    add(set, "/sse", 0, &s);
    ck_assert_int_eq(cb_http_streams_run(set, 50, on_tick, &s), APR_SUCCESS);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s.events[i], 3);
        ck_assert_int_eq(s.done[i], 1);
        ck_assert_int_eq(s.status[i], 200);
        ck_assert_ptr_null(s.error[i]);
    }
    /* Both streams were open together: stream 1's first event came before
     * stream 0's last (events are 300 ms apart on each). */
    ck_assert_int_eq(s.total, 6);
    {
        int first_of_1 = -1, last_of_0 = -1;
        for (int i = 0; i < 6; i++) {
            if (s.order[i] == 1 && first_of_1 < 0)
                first_of_1 = i;
            if (s.order[i] == 0)
                last_of_0 = i;
        }
        ck_assert_int_lt(first_of_1, last_of_0);
    }
    ck_assert_int_gt(s.ticks, 0);
}
END_TEST

START_TEST(tick_cancels_the_rest)
{
    seen s;
    cb_http_streams *set = cb_http_streams_create(pool);
    memset(&s, 0, sizeof(s));
    s.stop_after_events = 2;
    add(set, "/sse-forever?tag=unit-0", 0, &s);
    add(set, "/sse-forever?tag=unit-1", 0, &s);
    ck_assert_int_eq(cb_http_streams_run(set, 50, on_tick, &s), APR_ECONNABORTED);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s.done[i], 1);
        ck_assert_str_eq(s.error[i], "cancelled");
    }
}
END_TEST

START_TEST(untrusted_refused_address_ends_at_once)
{
    seen s;
    cb_http_streams *set = cb_http_streams_create(pool);
    cb_http_request req;
    memset(&s, 0, sizeof(s));
    add(set, "/sse", 1, &s);          /* loopback, no allowed range */
    memset(&req, 0, sizeof(req));
    req.url = "http://metadata.google.internal/";
    req.untrusted_url = 1;
    ck_assert_int_eq(cb_http_streams_add(set, &req, &handlers, &s), -1);
    ck_assert_int_eq(s.done[1], 1);
    ck_assert_ptr_nonnull(strstr(s.error[1], "metadata"));
    ck_assert_int_eq(cb_http_streams_run(set, 50, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(s.done[0], 1);
    ck_assert_int_eq(s.events[0], 0);
    ck_assert_ptr_nonnull(strstr(s.error[0], "private"));
}
END_TEST

Suite *http_stream_suite(void)
{
    Suite *s = suite_create("http_stream");
    TCase *tc = tcase_create("multi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, two_streams_at_once);
    tcase_add_test(tc, tick_cancels_the_rest);
    tcase_add_test(tc, untrusted_refused_address_ends_at_once);
    suite_add_tcase(s, tc);
    return s;
}
