/*
 * it_streaming.c: streaming through a real httpd. The test plugin's fan-out
 * route drives N upstream event streams at once with the curl-multi client
 * and writes each event as it arrives (the arrival times of the body's
 * chunks show it was not buffered, and the events of different streams
 * interleave), with ':' heartbeat comments while idle; when the client hangs
 * up, the handler notices and closes its upstream streams (the upstream
 * logs each close).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

static void start(void)
{
    it_start_gateway("event");
}

START_TEST(fanout_streams_interleave_as_they_arrive)
{
    it_response r;
    int per_stream[3] = {0, 0, 0}, events = 0;
    char first_ids[4] = "";
    it_request("GET", "/v1/test/fanout?n=3&hb=100", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.headers, "text/event-stream"));
    for (const char *at = r.body; (at = strstr(at, "event: upstream\nid: ")); at++) {
        int id = at[20] - '0';
        ck_assert_int_ge(id, 0);
        ck_assert_int_le(id, 2);
        per_stream[id]++;
        if (events < 3)
            first_ids[events] = at[20];
        events++;
    }
    ck_assert_msg(events == 9, "expected 9 events, got %d in:\n%s", events, r.body);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(per_stream[i], 3);
    /* The first three events come from different upstreams, not stream 0's
     * three events first (which one stream after another would give). */
    ck_assert_msg(!(first_ids[0] == first_ids[1] && first_ids[1] == first_ids[2]),
                  "no interleaving: %s", r.body);
    /* Each upstream spaces its events 300 ms apart: written as they arrive,
     * the body comes in several chunks spread over that time, not at once
     * at the end. */
    ck_assert_int_ge(r.chunks, 3);
    ck_assert_msg(r.chunk_ms[r.chunks - 1] - r.chunk_ms[0] >= 400,
                  "chunks arrived within %.0f ms", r.chunk_ms[r.chunks - 1] - r.chunk_ms[0]);
    /* Idle gaps of 300 ms with a 100 ms heartbeat carry comments. */
    ck_assert_ptr_nonnull(strstr(r.body, "\n: keep-alive\n\n"));
    it_free(&r);
}
END_TEST

START_TEST(client_disconnect_stops_the_fanout)
{
    static const char request[] =
        "GET /v1/test/fanout?n=2&forever=1&tag=77&hb=50 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    struct sockaddr_in addr;
    char buf[8192];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)it.http_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(write(fd, request, sizeof(request) - 1), (ssize_t)(sizeof(request) - 1));
    /* Read until both upstreams' events are flowing. */
    while (got + 1 < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "id: 0\ndata: tick 2") && strstr(buf, "id: 1\ndata: tick 2"))
            break;
    }
    ck_assert_ptr_nonnull(strstr(buf, "id: 1\ndata: tick 2"));
    /* Still streaming: nobody has closed an upstream yet. */
    ck_assert(!it_upstream_saw("sse-forever closed 77-"));
    close(fd);
    for (int i = 0; i < 200 && !(it_upstream_saw("sse-forever closed 77-0") &&
                                 it_upstream_saw("sse-forever closed 77-1")); i++)
        usleep(50 * 1000);
    ck_assert_msg(it_upstream_saw("sse-forever closed 77-0"), "upstream 0 kept streaming");
    ck_assert_msg(it_upstream_saw("sse-forever closed 77-1"), "upstream 1 kept streaming");
}
END_TEST

Suite *streaming_suite(void)
{
    Suite *s = suite_create("streaming");
    TCase *tc = tcase_create("fanout");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, fanout_streams_interleave_as_they_arrive);
    tcase_add_test(tc, client_disconnect_stops_the_fanout);
    suite_add_tcase(s, tc);
    return s;
}
