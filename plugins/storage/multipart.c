/*
 * multipart.c: a streaming multipart/form-data reader (RFC 7578) for the
 * form upload: one window of the body in memory (two 64 KiB chunks), part
 * headers up to 8 KiB, the part bodies handed out piece by piece up to
 * the next delimiter. Fuzzed by tests/fuzz/fuzz_storage_form.c.
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "local.h"
#include "multipart.h"

#define FIELD_MAX 8192
#define HEADERS_MAX 8192

struct st_form {
    st_form_read_fn read;
    void *baton;
    int started;           /* the preamble was skipped */
    char *buf;
    size_t len, cap;       /* pending bytes buf[0..len) */
    int eof;
    const char *delim;     /* "\r\n--" boundary */
    size_t delim_len;
    int part_done;         /* the current part reached its delimiter */
};

/* Reads more of the body: 1 when bytes came, 0 at its end, -1 on error. */
static int fill(st_form *f)
{
    size_t n = f->cap - f->len;
    if (f->eof || n == 0)
        return 0;
    if (f->read(f->baton, f->buf + f->len, &n) != CB_OK)
        return -1;
    if (n == 0) {
        f->eof = 1;
        return 0;
    }
    f->len += n;
    return 1;
}

static void consume(st_form *f, size_t n)
{
    memmove(f->buf, f->buf + n, f->len - n);
    f->len -= n;
}

cb_status st_form_read(st_form *f, char *out, size_t cap, size_t *n)
{
    *n = 0;
    if (f->part_done)
        return CB_OK;
    for (;;) {
        const char *hit = memmem(f->buf, f->len, f->delim, f->delim_len);
        size_t avail = hit ? (size_t)(hit - f->buf)
                           : (f->len >= f->delim_len ? f->len - (f->delim_len - 1) : 0);
        if (hit && avail == 0) {
            consume(f, f->delim_len);
            f->part_done = 1;
            return CB_OK;
        }
        if (avail > 0) {
            *n = avail < cap ? avail : cap;
            memcpy(out, f->buf, *n);
            consume(f, *n);
            return CB_OK;
        }
        if (fill(f) <= 0)
            return CB_ERROR;   /* the body ended inside a part */
    }
}

cb_status st_form_next_part(st_form *f, apr_pool_t *p, const char **name, const char **type)
{
    const char *end, *line;
    char *headers;
    *name = *type = NULL;
    if (!f->started) {
        f->started = 1;
        if (st_form_skip_part(f) != CB_OK)
            return CB_ERROR;   /* no delimiter at all */
    }
    else if (!f->part_done && st_form_skip_part(f) != CB_OK)
        return CB_ERROR;
    while (f->len < 2)
        if (fill(f) <= 0)
            return CB_ERROR;
    if (f->buf[0] == '-' && f->buf[1] == '-')
        return CB_OK;   /* the closing delimiter */
    if (f->buf[0] != '\r' || f->buf[1] != '\n')
        return CB_ERROR;
    consume(f, 2);
    while (!(end = memmem(f->buf, f->len, "\r\n\r\n", 4))) {
        if (f->len >= HEADERS_MAX || fill(f) <= 0)
            return CB_ERROR;
    }
    headers = apr_pstrmemdup(p, f->buf, (apr_size_t)(end - f->buf));
    consume(f, (size_t)(end - f->buf) + 4);
    f->part_done = 0;
    for (line = headers; line && *line; line = strstr(line, "\r\n") ? strstr(line, "\r\n") + 2
                                                                   : NULL) {
        size_t line_len = strcspn(line, "\r");
        if (strncasecmp(line, "Content-Disposition:", 20) == 0) {
            const char *at = strstr(line, "name=\"");
            while (at && at > line && at[-1] != ' ' && at[-1] != ';')
                at = strstr(at + 1, "name=\"");   /* not filename= */
            if (at && (size_t)(at - line) < line_len) {
                const char *close = strchr(at + 6, '"');
                if (close && (size_t)(close - line) < line_len)
                    *name = apr_pstrmemdup(p, at + 6, (apr_size_t)(close - at - 6));
            }
        }
        else if (strncasecmp(line, "Content-Type:", 13) == 0) {
            const char *v = line + 13;
            while (*v == ' ')
                v++;
            *type = apr_pstrmemdup(p, v, (apr_size_t)(line_len - (size_t)(v - line)));
        }
    }
    if (!*name)
        return CB_ERROR;
    return CB_OK;
}

const char *st_form_field_value(st_form *f, apr_pool_t *p)
{
    char *value = apr_palloc(p, FIELD_MAX + 1);
    size_t used = 0, n;
    do {
        if (st_form_read(f, value + used, FIELD_MAX - used, &n) != CB_OK)
            return NULL;
        used += n;
        if (used == FIELD_MAX && !f->part_done)
            return NULL;
    } while (n > 0);
    value[used] = '\0';
    return value;
}

const char *st_form_boundary(apr_pool_t *p, const char *content_type)
{
    const char *at;
    size_t len;
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0 ||
        !(at = strstr(content_type, "boundary=")))
        return NULL;
    at += 9;
    if (*at == '"') {
        len = strcspn(++at, "\"");
        if (at[len] != '"')
            return NULL;
    }
    else
        len = strcspn(at, "; \t");
    return len >= 1 && len <= 70 ? apr_pstrmemdup(p, at, len) : NULL;
}

cb_status st_form_skip_part(st_form *f)
{
    char skip[256];
    size_t n;
    do {
        if (st_form_read(f, skip, sizeof(skip), &n) != CB_OK)
            return CB_ERROR;
    } while (n > 0);
    return CB_OK;
}

st_form *st_form_create(apr_pool_t *p, const char *boundary, st_form_read_fn read, void *baton)
{
    st_form *f = apr_pcalloc(p, sizeof(*f));
    f->read = read;
    f->baton = baton;
    f->cap = 2 * ST_IO_CHUNK;
    f->buf = apr_palloc(p, f->cap);
    f->delim = apr_pstrcat(p, "\r\n--", boundary, NULL);
    f->delim_len = strlen(f->delim);
    memcpy(f->buf, "\r\n", 2);   /* the first delimiter has no CRLF before it */
    f->len = 2;
    return f;
}
