/*
 * test_sse.c: Server-Sent Events: the framing (event, id, one data: line per
 * line whatever the line end, unframeable names refused), the writer over a
 * fake host (a flush per event, heartbeat comments only when idle, nothing
 * more once the client has gone), and the incremental parser (chunks of any
 * size, CR/LF/CRLF, comments, ids, retry, limits, round trip with the
 * framing).
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <check.h>

#include "cb_core.h"
#include "cloudbase/sse.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(format_frames_events)
{
    size_t len;
    const char *out = cb_sse_format(pool, "update", "7", "one\ntwo\r\nthree\rfour", 19, &len);
    ck_assert_str_eq(out, "event: update\nid: 7\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
    ck_assert_uint_eq(len, strlen(out));
    out = cb_sse_format(pool, NULL, NULL, "", 0, &len);
    ck_assert_str_eq(out, "data: \n\n");
    out = cb_sse_format(pool, NULL, NULL, "a\n", 2, &len);
    ck_assert_str_eq(out, "data: a\ndata: \n\n");
    out = cb_sse_format(pool, NULL, NULL, "a\0b", 3, &len);
    ck_assert_str_eq(out, "data: ab\n\n");
    ck_assert_ptr_null(cb_sse_format(pool, "bad\nevent", NULL, "x", 1, &len));
    ck_assert_ptr_null(cb_sse_format(pool, NULL, "bad\rid", "x", 1, &len));
}
END_TEST

/* ---------------------------------------------------------------- writer */

typedef struct fake_req {
    cb_req req;
    char out[4096];
    size_t out_len;
    int flushes, gone;
    const char *content_type;
} fake_req;

static apr_status_t fake_read(cb_req *req, char *buf, apr_size_t *len)
{
    (void)req, (void)buf;
    *len = 0;
    return APR_SUCCESS;
}

static apr_status_t fake_write(cb_req *req, const void *data, apr_size_t len)
{
    fake_req *f = (fake_req *)req;
    if (f->gone)
        return APR_ECONNRESET;
    ck_assert_uint_lt(f->out_len + len, sizeof(f->out));
    memcpy(f->out + f->out_len, data, len);
    f->out_len += len;
    f->out[f->out_len] = '\0';
    return APR_SUCCESS;
}

static apr_status_t fake_flush(cb_req *req)
{
    fake_req *f = (fake_req *)req;
    if (f->gone)
        return APR_ECONNRESET;
    f->flushes++;
    return APR_SUCCESS;
}

static void fake_content_type(cb_req *req, const char *type)
{
    ((fake_req *)req)->content_type = type;
}

static int fake_aborted(const cb_req *req)
{
    return ((const fake_req *)req)->gone;
}

static const cb_req_ops fake_ops = {fake_read, fake_write, fake_flush, fake_content_type,
                                    fake_aborted, NULL, NULL};

static fake_req *fake_create(void)
{
    fake_req *f = apr_pcalloc(pool, sizeof(*f));
    cb_req_init(&f->req, pool, NULL);
    f->req.ops = &fake_ops;
    f->req.headers_out = apr_table_make(pool, 4);
    f->req.in_content_phase = 1;
    return f;
}

START_TEST(writer_flushes_each_event)
{
    fake_req *f = fake_create();
    cb_sse_writer *w = cb_sse_start(&f->req, 0);
    int flushes;
    ck_assert_str_eq(f->content_type, "text/event-stream");
    ck_assert_str_eq(apr_table_get(f->req.headers_out, "Cache-Control"), "no-cache");
    flushes = f->flushes;
    ck_assert_int_eq(cb_sse_send(w, "tick", "1", "a\nb", 3), CB_OK);
    ck_assert_int_eq(f->flushes, flushes + 1);
    ck_assert_int_eq(cb_sse_send(w, NULL, NULL, "c", 1), CB_OK);
    ck_assert_int_eq(f->flushes, flushes + 2);
    ck_assert_str_eq(f->out, "event: tick\nid: 1\ndata: a\ndata: b\n\ndata: c\n\n");
    /* No heartbeat configured: never one. */
    ck_assert_int_eq(cb_sse_heartbeat_wait_ms(w), -1);
    ck_assert_int_eq(cb_sse_heartbeat(w), CB_OK);
    ck_assert_int_eq(cb_sse_heartbeats_sent(w), 0);
    ck_assert_int_eq(cb_sse_send(w, "bad\n", NULL, "x", 1), CB_ERROR);
}
END_TEST

START_TEST(writer_heartbeats_only_when_idle)
{
    fake_req *f = fake_create();
    cb_sse_writer *w = cb_sse_start(&f->req, 50);
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(10);
    size_t before;
    ck_assert_int_eq(cb_sse_send(w, NULL, NULL, "x", 1), CB_OK);
    before = f->out_len;
    /* Right after a write nothing is due (50 ms is far longer than the
     * two calls apart); the wait says how long. */
    if (cb_sse_heartbeat_wait_ms(w) > 0) {
        ck_assert_int_eq(cb_sse_heartbeat(w), CB_OK);
        ck_assert_int_eq(cb_sse_heartbeats_sent(w), 0);
        ck_assert_uint_eq(f->out_len, before);
    }
    while (cb_sse_heartbeat_wait_ms(w) > 0 && apr_time_now() < deadline)
        apr_sleep(5000);
    ck_assert_int_eq(cb_sse_heartbeat_wait_ms(w), 0);
    ck_assert_int_eq(cb_sse_heartbeat(w), CB_OK);
    ck_assert_int_eq(cb_sse_heartbeats_sent(w), 1);
    ck_assert_str_eq(f->out + before, ": keep-alive\n\n");
    ck_assert_int_gt(cb_sse_heartbeat_wait_ms(w), 0);
}
END_TEST

START_TEST(writer_stops_when_client_gone)
{
    fake_req *f = fake_create();
    cb_sse_writer *w = cb_sse_start(&f->req, 1);
    size_t before;
    ck_assert_int_eq(cb_sse_send(w, NULL, NULL, "x", 1), CB_OK);
    ck_assert(!cb_req_aborted(&f->req));
    f->gone = 1;
    ck_assert(cb_req_aborted(&f->req));
    before = f->out_len;
    ck_assert_int_eq(cb_sse_send(w, NULL, NULL, "y", 1), CB_ERROR);
    ck_assert_int_eq(cb_sse_heartbeat(w), CB_ERROR);
    ck_assert_uint_eq(f->out_len, before);
}
END_TEST

START_TEST(failed_flush_marks_request_aborted)
{
    fake_req *f = fake_create();
    static const cb_req_ops no_abort_ops = {fake_read, fake_write, fake_flush,
                                            fake_content_type, NULL, NULL, NULL};
    f->req.ops = &no_abort_ops;
    ck_assert(!cb_req_aborted(&f->req));
    f->gone = 1; /* the host cannot tell, but the next flush fails */
    ck_assert(!cb_req_aborted(&f->req));
    ck_assert_int_eq(cb_req_flush(&f->req), CB_ERROR);
    ck_assert(cb_req_aborted(&f->req));
}
END_TEST

/* ---------------------------------------------------------------- parser */

typedef struct collected {
    int count;
    char text[2048];
} collected;

static int collect(void *baton, const cb_sse_event *ev)
{
    collected *c = baton;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof(c->text) - used, "[%s|%s|%.*s|%lld]", ev->event, ev->id,
             (int)ev->data_len, ev->data, (long long)ev->retry_ms);
    c->count++;
    return 0;
}

static const char stream[] =
    "\xEF\xBB\xBF" "event: add\r\n: a comment\r\nid: 1\r\ndata: first\r\ndata:second\r\n\r\n"
    "data: plain\n\n"
    "retry: 1500\rdata: cr\r\r"
    "id\ndata\n\n"
    "event: empty-no-data\n\n"
    "data: unterminated";

static const char expected[] =
    "[add|1|first\nsecond|-1][message|1|plain|-1][message|1|cr|1500][message|||1500]";

START_TEST(parser_whole_and_byte_by_byte)
{
    collected whole = {0, ""}, bytes = {0, ""};
    cb_sse_parser *ps = cb_sse_parser_create(pool, 1024, collect, &whole);
    ck_assert_int_eq(cb_sse_parser_feed(ps, stream, sizeof(stream) - 1), 0);
    ck_assert_str_eq(whole.text, expected);
    ck_assert_int_eq(whole.count, 4);
    ps = cb_sse_parser_create(pool, 1024, collect, &bytes);
    for (size_t i = 0; i < sizeof(stream) - 1; i++)
        ck_assert_int_eq(cb_sse_parser_feed(ps, stream + i, 1), 0);
    ck_assert_str_eq(bytes.text, expected);
}
END_TEST

START_TEST(parser_round_trips_the_framing)
{
    collected c = {0, ""};
    cb_sse_parser *ps = cb_sse_parser_create(pool, 1024, collect, &c);
    size_t len;
    const char *frame = cb_sse_format(pool, "multi", "42", "l1\r\nl2\rl3\n", 10, &len);
    ck_assert_int_eq(cb_sse_parser_feed(ps, frame, len), 0);
    ck_assert_str_eq(c.text, "[multi|42|l1\nl2\nl3\n|-1]");
}
END_TEST

static int stop_after_one(void *baton, const cb_sse_event *ev)
{
    (void)ev;
    ++*(int *)baton;
    return 7;
}

START_TEST(parser_limits_and_stop)
{
    collected c = {0, ""};
    int seen = 0;
    char big[300];
    cb_sse_parser *ps = cb_sse_parser_create(pool, 100, collect, &c);
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(cb_sse_parser_feed(ps, "data: ", 6), 0);
    ck_assert_int_eq(cb_sse_parser_feed(ps, big, sizeof(big)), -1);
    ck_assert_int_eq(cb_sse_parser_feed(ps, "\n\n", 2), -1); /* stays failed */
    ck_assert_int_eq(c.count, 0);
    ps = cb_sse_parser_create(pool, 100, stop_after_one, &seen);
    ck_assert_int_eq(cb_sse_parser_feed(ps, "data: a\n\ndata: b\n\n", 18), 7);
    ck_assert_int_eq(seen, 1);
}
END_TEST

Suite *sse_suite(void)
{
    Suite *s = suite_create("sse");
    TCase *tc = tcase_create("sse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, format_frames_events);
    tcase_add_test(tc, writer_flushes_each_event);
    tcase_add_test(tc, writer_heartbeats_only_when_idle);
    tcase_add_test(tc, writer_stops_when_client_gone);
    tcase_add_test(tc, failed_flush_marks_request_aborted);
    tcase_add_test(tc, parser_whole_and_byte_by_byte);
    tcase_add_test(tc, parser_round_trips_the_framing);
    tcase_add_test(tc, parser_limits_and_stop);
    suite_add_tcase(s, tc);
    return s;
}
