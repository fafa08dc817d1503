/*
 * sse.c: Server-Sent Events (include/cloudbase/sse.h): the framing of one
 * event and the incremental parser for upstream event streams. Pure text
 * work; the writer over a request is sse_writer.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/sse.h"

/* ------------------------------------------------------------- writing */

static int frameable(const char *s)
{
    return !s || !s[strcspn(s, "\r\n")];
}

const char *cb_sse_format(apr_pool_t *p, const char *event, const char *id,
                          const char *data, size_t data_len, size_t *out_len)
{
    /* Worst case: every byte a line end that becomes "\ndata: ". */
    size_t cap, n = 0;
    char *out;
    if (!frameable(event) || !frameable(id))
        return NULL;
    cap = (event ? strlen(event) + 8 : 0) + (id ? strlen(id) + 5 : 0) + 8 + data_len * 7 + 2;
    out = apr_palloc(p, cap + 1);
    if (event) {
        n += (size_t)sprintf(out + n, "event: %s\n", event);
    }
    if (id) {
        n += (size_t)sprintf(out + n, "id: %s\n", id);
    }
    memcpy(out + n, "data: ", 6);
    n += 6;
    for (size_t i = 0; i < data_len; i++) {
        char c = data[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < data_len && data[i + 1] == '\n')
                i++;
            memcpy(out + n, "\ndata: ", 7);
            n += 7;
        }
        else if (c == '\0') {
            /* A NUL cannot travel in an event stream's text: drop it. */
        }
        else {
            out[n++] = c;
        }
    }
    out[n++] = '\n';
    out[n++] = '\n';
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* ------------------------------------------------------------- parsing */

typedef struct growbuf {
    char *data;
    size_t len, cap;
} growbuf;

struct cb_sse_parser {
    size_t max_event;
    cb_sse_event_fn on_event;
    void *baton;
    growbuf line, data, event, id;
    int64_t retry_ms;
    int skip_lf;        /* the previous chunk ended in CR */
    int started;        /* past a possible byte-order mark */
    int bom_seen;       /* bytes of it matched so far */
    int failed;
};

static int grow_append(growbuf *b, const char *s, size_t n, size_t max)
{
    if (b->len + n > max)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        char *data;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(data = realloc(b->data, cap)))
            return -1;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static void grow_set(growbuf *b, const char *s, size_t n)
{
    b->len = 0;
    grow_append(b, s, n, (size_t)-1 / 2);
}

static apr_status_t parser_cleanup(void *data)
{
    cb_sse_parser *ps = data;
    free(ps->line.data);
    free(ps->data.data);
    free(ps->event.data);
    free(ps->id.data);
    return APR_SUCCESS;
}

cb_sse_parser *cb_sse_parser_create(apr_pool_t *p, size_t max_event_bytes,
                                    cb_sse_event_fn on_event, void *baton)
{
    cb_sse_parser *ps = apr_pcalloc(p, sizeof(*ps));
    ps->max_event = max_event_bytes ? max_event_bytes : 1024 * 1024;
    ps->on_event = on_event;
    ps->baton = baton;
    ps->retry_ms = -1;
    grow_set(&ps->id, "", 0);
    apr_pool_cleanup_register(p, ps, parser_cleanup, apr_pool_cleanup_null);
    return ps;
}

static int dispatch(cb_sse_parser *ps)
{
    cb_sse_event ev;
    int rc;
    if (!ps->data.len) {
        ps->event.len = 0;
        return 0;
    }
    ps->data.data[--ps->data.len] = '\0'; /* the last "\n" */
    ev.event = ps->event.len ? ps->event.data : "message";
    ev.id = ps->id.data ? ps->id.data : "";
    ev.data = ps->data.data;
    ev.data_len = ps->data.len;
    ev.retry_ms = ps->retry_ms;
    rc = ps->on_event(ps->baton, &ev);
    ps->data.len = 0;
    ps->event.len = 0;
    return rc;
}

static int all_digits(const char *s, size_t n)
{
    if (!n || n > 15)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int process_line(cb_sse_parser *ps, const char *line, size_t n)
{
    const char *colon, *value;
    size_t name_len, value_len;
    if (!n)
        return dispatch(ps);
    if (line[0] == ':')
        return 0;
    colon = memchr(line, ':', n);
    name_len = colon ? (size_t)(colon - line) : n;
    value = colon ? colon + 1 : line + n;
    value_len = colon ? n - name_len - 1 : 0;
    if (value_len && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        grow_set(&ps->event, value, value_len);
    }
    else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (grow_append(&ps->data, value, value_len, ps->max_event) != 0 ||
            grow_append(&ps->data, "\n", 1, ps->max_event + 1) != 0)
            return -1;
    }
    else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(value, '\0', value_len))
            grow_set(&ps->id, value, value_len);
    }
    else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
        if (all_digits(value, value_len))
            ps->retry_ms = (int64_t)strtoll(value, NULL, 10); /* digits to the line's NUL */
    }
    return 0;
}

int cb_sse_parser_feed(cb_sse_parser *ps, const char *data, size_t len)
{
    size_t i = 0;
    if (ps->failed)
        return -1;
    for (; i < len; i++) {
        static const char bom[] = "\xEF\xBB\xBF";
        char c = data[i];
        int rc;
        if (!ps->started) {
            /* A UTF-8 byte-order mark may open the stream, split or not. */
            if (c == bom[ps->bom_seen]) {
                ps->started = ++ps->bom_seen == 3;
                continue;
            }
            ps->started = 1;
            if (ps->bom_seen && grow_append(&ps->line, bom, (size_t)ps->bom_seen,
                                            ps->max_event + 64) != 0) {
                ps->failed = 1;
                return -1;
            }
        }
        if (ps->skip_lf) {
            ps->skip_lf = 0;
            if (c == '\n')
                continue;
        }
        if (c != '\r' && c != '\n') {
            if (grow_append(&ps->line, &c, 1, ps->max_event + 64) != 0) {
                ps->failed = 1;
                return -1;
            }
            continue;
        }
        ps->skip_lf = c == '\r';
        rc = process_line(ps, ps->line.data ? ps->line.data : "", ps->line.len);
        ps->line.len = 0;
        if (rc < 0)
            ps->failed = 1;
        if (rc)
            return rc;
    }
    return 0;
}
