/*
 * lines.c: splits a task's demultiplexed output (frames.c) into lines, by
 * stream, so each complete line goes out as its own event the moment it
 * arrives (execute.c, invoke.c). A line longer than CT_LINE_MAX goes out
 * in pieces; flush sends the unfinished lines at the end.
 */
#include <string.h>

#include <apr_pools.h>

#include "containers.h"

void ct_lines_init(ct_lines *l, apr_pool_t *p, ct_line_fn on_line, void *baton)
{
    memset(l, 0, sizeof(*l));
    l->pool = p;
    l->on_line = on_line;
    l->baton = baton;
}

int ct_lines_feed_frame(void *lines, int stream, const char *data, size_t len)
{
    ct_lines *l = lines;
    int s = stream == CT_FRAME_STDERR ? 2 : 1;
    if (!l->data[s])
        l->data[s] = apr_palloc(l->pool, CT_LINE_MAX);
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t piece = nl ? (size_t)(nl - data) : len;
        int rc;
        if (l->len[s] + piece > CT_LINE_MAX)
            piece = CT_LINE_MAX - l->len[s];
        memcpy(l->data[s] + l->len[s], data, piece);
        l->len[s] += piece;
        data += piece;
        len -= piece;
        if (nl && len > 0 && *data == '\n') {
            data++;
            len--;
        } else if (l->len[s] < CT_LINE_MAX) {
            continue;
        }
        rc = l->on_line(l->baton, s, l->data[s], l->len[s]);
        l->len[s] = 0;
        if (rc)
            return rc;
    }
    return 0;
}

int ct_lines_flush(ct_lines *l)
{
    for (int s = 1; s <= 2; s++) {
        if (l->len[s]) {
            int rc = l->on_line(l->baton, s, l->data[s], l->len[s]);
            l->len[s] = 0;
            if (rc)
                return rc;
        }
    }
    return 0;
}
