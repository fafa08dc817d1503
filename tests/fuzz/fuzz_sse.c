/*
 * fuzz_sse.c: libFuzzer target for the event-stream parser and the SSE
 * framing (core/sse.c).
 *
 * The input is an upstream's event stream. Invariants:
 *  - chunking does not matter: the events from feeding the input whole
 *    equal those from feeding it split at a point the input chooses (its
 *    first byte) and byte by byte;
 *  - framing round-trips: the input as an event's data, framed with
 *    cb_sse_format and parsed back, gives the input with every line end
 *    (CR, LF, CRLF) turned into LF and NULs dropped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cloudbase/sse.h"

static apr_pool_t *iteration_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&iteration_pool, NULL);
    return 0;
}

typedef struct transcript {
    char *text;
    size_t len, cap;
    int events;
} transcript;

static void append(transcript *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->text = realloc(t->text, t->cap);
        if (!t->text)
            abort();
    }
    memcpy(t->text + t->len, s, n);
    t->len += n;
}

static int record(void *baton, const cb_sse_event *ev)
{
    transcript *t = baton;
    char retry[32];
    append(t, ev->event, strlen(ev->event));
    append(t, "\x01", 1);
    append(t, ev->id, strlen(ev->id));
    append(t, "\x01", 1);
    append(t, ev->data, ev->data_len);
    snprintf(retry, sizeof(retry), "\x01%lld\x02", (long long)ev->retry_ms);
    append(t, retry, strlen(retry));
    t->events++;
    return 0;
}

static int run(const uint8_t *data, size_t size, size_t step, size_t split, transcript *t)
{
    cb_sse_parser *ps = cb_sse_parser_create(iteration_pool, 4096, record, t);
    size_t at = 0;
    int rc = 0;
    if (split && split < size) {
        rc = cb_sse_parser_feed(ps, (const char *)data, split);
        at = split;
    }
    while (!rc && at < size) {
        size_t n = step && step < size - at ? step : size - at;
        rc = cb_sse_parser_feed(ps, (const char *)data + at, n);
        at += n;
    }
    return rc;
}

static void require(int condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "fuzz_sse invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    transcript whole = {0}, split = {0}, bytes = {0}, trip = {0};
    int rc_whole = run(data, size, 0, 0, &whole);
    int rc_split = run(data, size, 0, size ? data[0] % (size + 1) : 0, &split);
    int rc_bytes = run(data, size, 1, 0, &bytes);
    size_t frame_len, expect_len = 0;
    const char *frame;
    char *expect = malloc(size + 1);
    require(rc_whole == rc_split && rc_whole == rc_bytes, "chunking changed the outcome");
    require(whole.len == split.len && whole.len == bytes.len &&
                (!whole.len || (memcmp(whole.text, split.text, whole.len) == 0 &&
                                memcmp(whole.text, bytes.text, whole.len) == 0)),
            "chunking changed the events");
    /* Round trip of the input as data. */
    for (size_t i = 0; i < size; i++) {
        char c = (char)data[i];
        if (c == '\r') {
            if (i + 1 < size && data[i + 1] == '\n')
                i++;
            c = '\n';
        }
        if (c)
            expect[expect_len++] = c;
    }
    frame = cb_sse_format(iteration_pool, "e", "1", (const char *)data, size, &frame_len);
    require(frame != NULL, "plain event and id refused");
    if (size < 4000) {
        cb_sse_parser *ps = cb_sse_parser_create(iteration_pool, 8192, record, &trip);
        require(cb_sse_parser_feed(ps, frame, frame_len) == 0, "a framed event did not parse");
        require(trip.events == 1, "a framed event did not give exactly one event");
        require(trip.len >= expect_len + 4 && memcmp(trip.text + 4, expect, expect_len) == 0 &&
                    trip.text[4 + expect_len] == '\x01',
                "the data did not round-trip");
    }
    free(expect);
    free(whole.text);
    free(split.text);
    free(bytes.text);
    free(trip.text);
    apr_pool_clear(iteration_pool);
    return 0;
}
