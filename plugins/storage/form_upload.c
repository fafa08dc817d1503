/*
 * form_upload.c: the SDK's POST form upload (uploadFile with method:'post'):
 * a multipart/form-data body with the fields key, signature,
 * x-cos-meta-fileid, success_action_status, x-cos-security-token, key again
 * and last the file. The fields are read first (each at most 8 KiB); the
 * signature (the upload info's authorization, which binds no length or
 * type) must allow this object, and key must name it. The file part then
 * streams into the same temp-file path as a PUT, and success answers 201
 * (the SDK accepts nothing else). The multipart reader keeps one window of
 * the body in memory, never the whole file.
 */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/files.h"
#include "local.h"
#include "storage.h"
#include "transfer.h"

#define FIELD_MAX 8192
#define HEADERS_MAX 8192

typedef struct form_reader {
    cb_req *req;
    char *buf;
    size_t len, cap;       /* pending bytes buf[0..len) */
    int eof;
    const char *delim;     /* "\r\n--" boundary */
    size_t delim_len;
    int part_done;         /* the current part reached its delimiter */
} form_reader;

/* Reads more of the body: 1 when bytes came, 0 at its end, -1 on error. */
static int fill(form_reader *f)
{
    size_t n = f->cap - f->len;
    if (f->eof || n == 0)
        return 0;
    if (cb_req_read_chunk(f->req, f->buf + f->len, &n) != CB_OK)
        return -1;
    if (n == 0) {
        f->eof = 1;
        return 0;
    }
    f->len += n;
    return 1;
}

static void consume(form_reader *f, size_t n)
{
    memmove(f->buf, f->buf + n, f->len - n);
    f->len -= n;
}

/* The next bytes of the current part (*n = 0 at its end). */
static cb_status part_read(form_reader *f, char *out, size_t cap, size_t *n)
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

static cb_status read_file_part(void *baton, char *buf, size_t *len)
{
    return part_read(baton, buf, *len, len);
}

/* After a delimiter: the next part's name (and type), or NULL at the end.
 * CB_ERROR for a malformed body. */
static cb_status next_part(form_reader *f, apr_pool_t *p, const char **name, const char **type)
{
    const char *end, *line;
    char *headers;
    *name = *type = NULL;
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

/* The whole value of a small field. */
static const char *field_value(form_reader *f, apr_pool_t *p)
{
    char *value = apr_palloc(p, FIELD_MAX + 1);
    size_t used = 0, n;
    do {
        if (part_read(f, value + used, FIELD_MAX - used, &n) != CB_OK)
            return NULL;
        used += n;
        if (used == FIELD_MAX && !f->part_done)
            return NULL;
    } while (n > 0);
    value[used] = '\0';
    return value;
}

/* The boundary of a multipart/form-data Content-Type, or NULL. */
static const char *form_boundary(apr_pool_t *p, const char *content_type)
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

static cb_status bad_form(cb_req *req, const char *message)
{
    return cb_req_send_error(req, 400, "INVALID_PARAM", message);
}

cb_status st_post_object(cb_req *req, void *state)
{
    const st_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const st_bucket *b = apr_hash_get(st->buckets, cb_req_param(req, "bucket"),
                                      APR_HASH_KEY_STRING);
    const char *path = b ? st_path_of_url_key(p, cb_req_param(req, "key")) : NULL;
    const char *boundary = form_boundary(p, cb_req_header(req, "Content-Type"));
    const char *key = NULL, *signature = NULL, *name, *type, *problem;
    form_reader f = {0};
    st_upload_grant g = {0};
    st_receive_opts o = {0};
    size_t ignored;
    if (!path)
        return cb_req_send_error(req, 404, "STORAGE_FILE_NONEXIST", "no such object URL");
    if (!boundary)
        return bad_form(req, "the upload must be multipart/form-data with a boundary");
    f.req = req;
    f.cap = 2 * ST_IO_CHUNK;
    f.buf = apr_palloc(p, f.cap);
    f.delim = apr_pstrcat(p, "\r\n--", boundary, NULL);
    f.delim_len = strlen(f.delim);
    memcpy(f.buf, "\r\n", 2);   /* the first delimiter has no CRLF before it */
    f.len = 2;
    do {                        /* the preamble */
        char skip[256];
        if (part_read(&f, skip, sizeof(skip), &ignored) != CB_OK)
            return bad_form(req, "the multipart body has no parts");
    } while (ignored > 0);
    for (;;) {
        if (next_part(&f, p, &name, &type) != CB_OK)
            return bad_form(req, "the multipart body is malformed");
        if (!name)
            return bad_form(req, "the form has no file field");
        if (strcmp(name, "file") == 0)
            break;
        if (strcmp(name, "key") == 0 || strcmp(name, "signature") == 0) {
            const char *value = field_value(&f, p);
            if (!value)
                return bad_form(req, "a form field is malformed or longer than 8 KiB");
            *(strcmp(name, "key") == 0 ? &key : &signature) = value;
        }
        else {
            char skip[256];
            do {
                if (part_read(&f, skip, sizeof(skip), &ignored) != CB_OK)
                    return bad_form(req, "the multipart body is malformed");
            } while (ignored > 0);
        }
    }
    if (!key || strcmp(key, path) != 0)
        return bad_form(req, "the form's key must be the object path of the upload URL");
    g.env = st->env;
    g.bucket = b->name;
    g.path = path;
    g.length = -1;
    problem = st_verify_upload(p, st->signing_key, st->signing_key_len, signature, &g,
                               apr_time_sec(apr_time_now()));
    if (problem)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED", problem);
    o.declared = -1;
    o.type = type;
    o.success_status = 201;
    o.read = read_file_part;
    o.baton = &f;
    return st_receive_object(req, st, b, path, &o);
}
