/*
 * remote.c: buckets kept by an object store (backend=s3|cos): the bucket
 * line's settings, the store's object keys, and the calls the gateway makes
 * itself (HEAD to learn an uploaded object, DELETE, copy) over the core's
 * HTTP client, signed by s3_backend.c or cos_backend.c. A store that is
 * down or refuses is one item's STORAGE_REQUEST_FAIL, never the batch's.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/log.h"
#include "remote.h"

#define REMOTE_TIMEOUT_DEFAULT_MS 10000
#define REMOTE_RESPONSE_MAX (64 * 1024)

static const char *const s3_keys[] = {"endpoint", "region", "bucket_name", "access_key",
                                      "secret_key", "session_token", "prefix", "timeout", NULL};
static const char *const cos_keys[] = {"endpoint", "region", "bucket_name", "secret_id",
                                       "secret_key", "security_token", "prefix", "timeout",
                                       NULL};

int st_remote_knows(st_remote_kind kind, const char *key)
{
    for (const char *const *k = kind == ST_REMOTE_S3 ? s3_keys : cos_keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

static int only_of(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* A secret that must come from a file or the environment. */
static const char *secret_setting(apr_pool_t *p, const cb_option_line *line, const char *key,
                                  int required, const char **out)
{
    const char *v = cb_option_line_get(line, key), *err;
    *out = NULL;
    if (!v)
        return required ? apr_psprintf(p, "%s= is missing: add %s=file:/path or %s=env:NAME",
                                       key, key, key)
                        : NULL;
    if (strncmp(v, "file:", 5) != 0 && strncmp(v, "env:", 4) != 0)
        return apr_psprintf(p, "%s= must be file:/path or env:NAME (a secret is never written "
                               "in the configuration)", key);
    if ((err = cb_parse_secret(p, v, out)))
        return apr_psprintf(p, "%s=: %s", key, err);
    if (!*out || !**out)
        return apr_psprintf(p, "%s= is empty", key);
    return NULL;
}

/* scheme://host[:port] without a path; sets r->scheme and the host. */
static const char *endpoint_setting(apr_pool_t *p, const char *v, st_remote *r,
                                    const char **host)
{
    cb_url u;
    const char *err = cb_parse_url(p, v, &u), *rest;
    if (err)
        return apr_psprintf(p, "endpoint=%s: %s", v, err);
    if (strcmp(u.path, "/") != 0 || strchr(v, '?'))
        return apr_psprintf(p, "endpoint=%s must be scheme://host[:port] without a path", v);
    r->scheme = u.scheme;
    rest = v + strlen(u.scheme) + 3;
    *host = apr_pstrndup(p, rest, strcspn(rest, "/"));
    r->endpoint = apr_pstrcat(p, u.scheme, "://", *host, NULL);
    return NULL;
}

static const char *common_settings(apr_pool_t *p, const cb_option_line *line, st_remote *r)
{
    const char *v;
    int64_t ms;
    r->timeout_ms = REMOTE_TIMEOUT_DEFAULT_MS;
    if ((v = cb_option_line_get(line, "timeout"))) {
        const char *err = cb_parse_duration_ms(v, &ms);
        if (err || ms < 100 || ms > 300000)
            return apr_psprintf(p, "timeout=%s: %s", v, err ? err : "must be 100ms to 5m");
        r->timeout_ms = ms;
    }
    r->prefix = "";
    if ((v = cb_option_line_get(line, "prefix")) && *v) {
        if (!only_of(v, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_./") || v[0] == '/' ||
            strstr(v, "//") || strstr(v, ".."))
            return apr_psprintf(p, "prefix=%s may hold letters, digits, '-', '_', '.' and '/' "
                                   "(no leading '/', no '//' or '..')", v);
        r->prefix = v[strlen(v) - 1] == '/' ? v : apr_pstrcat(p, v, "/", NULL);
    }
    if (!(v = cb_option_line_get(line, "region")) || !only_of(v, LOWER_DIGITS "-"))
        return v ? apr_psprintf(p, "region=%s may only hold lower-case letters, digits and '-'",
                                v)
                 : "region= is missing (e.g. region=us-east-1, or ap-guangzhou for COS)";
    r->region = v;
    return NULL;
}

static const char *parse_s3(apr_pool_t *p, const cb_option_line *line, st_remote *r)
{
    const char *v, *err, *host;
    int path_style = 0;
    r->kind = ST_REMOTE_S3;
    for (int i = 1; i < line->word_count; i++) {
        if (strcmp(line->words[i], "path_style") == 0)
            path_style = 1;
        else if (strcmp(line->words[i], "virtual_host") == 0)
            r->virtual_hosted = 1;
        else
            return apr_psprintf(p, "unexpected word '%s' (use path_style, virtual_host or "
                                   "default)", line->words[i]);
    }
    if (path_style && r->virtual_hosted)
        return "path_style and virtual_host exclude each other: keep one";
    if ((err = common_settings(p, line, r)))
        return err;
    if (!(v = cb_option_line_get(line, "endpoint")))
        return "backend=s3 needs endpoint=https://host[:port] (e.g. "
               "https://s3.us-east-1.amazonaws.com or http://127.0.0.1:9000)";
    if ((err = endpoint_setting(p, v, r, &host)))
        return err;
    v = cb_option_line_get(line, "bucket_name");
    if (!v || strlen(v) < 3 || strlen(v) > 63 || !only_of(v, LOWER_DIGITS ".-") ||
        v[0] == '.' || v[0] == '-')
        return "backend=s3 needs bucket_name= of 3-63 lower-case letters, digits, '.' and '-'";
    r->bucket_name = v;
    if (r->virtual_hosted && (strchr(v, '.') || host[0] == '[' ||
                              only_of(apr_pstrndup(p, host, strcspn(host, ":")), "0123456789.")))
        return "virtual_host needs a host name endpoint and a bucket_name without '.': "
               "use path_style";
    r->host = r->virtual_hosted ? apr_pstrcat(p, v, ".", host, NULL) : host;
    if (!(v = cb_option_line_get(line, "access_key")) ||
        !only_of(v, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_."))
        return "backend=s3 needs access_key= (letters, digits, '-', '_', '.')";
    r->access_key = v;
    if ((err = secret_setting(p, line, "secret_key", 1, &r->secret_key)) ||
        (err = secret_setting(p, line, "session_token", 0, &r->session_token)))
        return err;
    return NULL;
}

static const char *parse_cos(apr_pool_t *p, const cb_option_line *line, st_remote *r)
{
    const char *v, *err, *dash, *host;
    r->kind = ST_REMOTE_COS;
    if (line->word_count > 1)
        return apr_psprintf(p, "unexpected word '%s' (did you mean 'default'?)", line->words[1]);
    if ((err = common_settings(p, line, r)))
        return err;
    v = cb_option_line_get(line, "bucket_name");
    dash = v ? strrchr(v, '-') : NULL;
    if (!v || !dash || dash == v || !only_of(dash + 1, "0123456789") ||
        !only_of(v, LOWER_DIGITS "-") || strlen(v) > 63)
        return "backend=cos needs bucket_name=NAME-APPID (e.g. examplebucket-1250000000)";
    r->bucket_name = v;
    if ((v = cb_option_line_get(line, "endpoint"))) {
        if ((err = endpoint_setting(p, v, r, &host)))
            return err;
        r->host = host;
    } else {
        r->scheme = "https";
        r->host = apr_psprintf(p, "%s.cos.%s.myqcloud.com", r->bucket_name, r->region);
        r->endpoint = apr_pstrcat(p, "https://", r->host, NULL);
    }
    if (!(v = cb_option_line_get(line, "secret_id")) ||
        !only_of(v, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"))
        return "backend=cos needs secret_id= (the SecretId: letters and digits)";
    r->access_key = v;
    if ((err = secret_setting(p, line, "secret_key", 1, &r->secret_key)) ||
        (err = secret_setting(p, line, "security_token", 0, &r->session_token)))
        return err;
    return NULL;
}

const char *st_remote_parse(apr_pool_t *p, const cb_option_line *line, st_remote **out)
{
    const char *backend = cb_option_line_get(line, "backend"), *err;
    st_remote *r = apr_pcalloc(p, sizeof(*r));
    *out = NULL;
    if (backend && strcmp(backend, "s3") == 0)
        err = parse_s3(p, line, r);
    else if (backend && strcmp(backend, "cos") == 0)
        err = parse_cos(p, line, r);
    else
        return "backend= must be local, s3 or cos";
    if (err)
        return err;
    for (int i = 0; i < line->setting_count; i++)
        if (strcmp(line->keys[i], "backend") && strcmp(line->keys[i], "acl") &&
            strcmp(line->keys[i], "max_object") && strcmp(line->keys[i], "quota") &&
            !st_remote_knows(r->kind, line->keys[i]))
            return apr_psprintf(p, "unknown setting %s= for backend=%s (see "
                                   "docs/plugins/storage.md)", line->keys[i], backend);
    *out = r;
    return NULL;
}

const char *st_remote_key(apr_pool_t *p, const st_remote *r, const char *path)
{
    if (path[0] != '~' && only_of(path, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.~/"))
        return apr_pstrcat(p, r->prefix, path, NULL);
    return apr_pstrcat(p, r->prefix, "~",
                       cb_base64url_encode(p, (const unsigned char *)path, strlen(path)), NULL);
}

const char *st_remote_unescape(apr_pool_t *p, const char *url)
{
    static const char raw[] = "/;=";          /* %2F %3B %3D */
    static const char *const escaped[] = {"2F", "3B", "3D"};
    char *out = apr_palloc(p, strlen(url) + 1), *o = out;
    for (const char *c = url; *c; c++) {
        int i = 3;   /* none */
        if (c[0] == '%' && c[1] && c[2])
            for (i = 0; i < 3; i++)
                if (c[1] == escaped[i][0] && (c[2] == escaped[i][1] ||
                                              c[2] == escaped[i][1] - 'A' + 'a'))
                    break;
        if (i < 3) {
            *o++ = raw[i];
            c += 2;
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

void st_remote_sign_upload(apr_pool_t *p, const st_remote *r, const char *path,
                           const st_upload_grant *g, const char *fileid, int64_t expires_s,
                           st_remote_upload *out)
{
    const char *key = st_remote_key(p, r, path);
    if (r->kind == ST_REMOTE_S3)
        st_s3_sign_upload(p, r, key, g, expires_s, out);
    else
        st_cos_sign_upload(p, r, key, g, fileid, expires_s, out);
}

const char *st_remote_download_url(apr_pool_t *p, const st_remote *r, const char *path,
                                   int64_t expires_s)
{
    const char *key = st_remote_key(p, r, path);
    return r->kind == ST_REMOTE_S3 ? st_s3_download_url(p, r, key, expires_s)
                                   : st_cos_download_url(p, r, key, expires_s);
}

static apr_table_t *signed_headers(apr_pool_t *p, const st_remote *r, const char *method,
                                   const char *key, const cb_sign_pair *extra, size_t n_extra,
                                   const char **url)
{
    return r->kind == ST_REMOTE_S3 ? st_s3_signed_headers(p, r, method, key, extra, n_extra, url)
                                   : st_cos_signed_headers(p, r, method, key, extra, n_extra, url);
}

/* The <Code> of an S3 or COS XML error, or "". */
static const char *error_code(apr_pool_t *p, const cb_http_response *resp)
{
    const char *start = resp->body ? strstr(resp->body, "<Code>") : NULL, *end;
    if (!start)
        return "";
    start += 6;
    end = strstr(start, "</Code>");
    if (!end || end - start > 64)
        return "";
    return apr_pstrndup(p, start, (apr_size_t)(end - start));
}

st_remote_result st_remote_send(cb_req *req, const st_remote *r, const char *method,
                                const char *url, apr_table_t *headers, int ok_404,
                                long *status, cb_http_response *resp)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *error = NULL, *code;
    cb_http_request call = {.method = method, .url = url, .headers = headers,
                            .timeout_ms = r->timeout_ms,
                            .connect_timeout_ms = r->timeout_ms < 2000 ? r->timeout_ms : 2000,
                            .max_response_bytes = REMOTE_RESPONSE_MAX};
    if (strcmp(method, "PUT") == 0) {
        call.body = "";   /* Content-Length: 0 */
        apr_table_set(headers, "Content-Type", "");
    }
    *status = 0;
    if (cb_http_fetch(r->http, p, &call, resp, &error) != APR_SUCCESS) {
        cb_log_req(req, CB_LOG_ERR, "storage: %s %s: the object store could not be reached: %s",
                   method, r->endpoint, error ? error : "?");
        return "the object store could not be reached; retry later";
    }
    *status = resp->status;
    if ((resp->status >= 200 && resp->status < 300) || (ok_404 && resp->status == 404))
        return NULL;
    code = error_code(p, resp);
    cb_log_req(req, CB_LOG_ERR, "storage: %s %s/...: the object store answered %ld %s", method,
               r->endpoint, resp->status, code);
    return *code ? apr_psprintf(p, "the object store refused the request (%s)", code)
                 : apr_psprintf(p, "the object store refused the request (HTTP %ld)",
                                resp->status);
}

st_remote_result st_remote_head_object(cb_req *req, const st_remote *r, const char *path,
                                       st_remote_head *out)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *url, *problem, *length;
    apr_table_t *h = signed_headers(p, r, "HEAD", st_remote_key(p, r, path), NULL, 0, &url);
    cb_http_response resp;
    long status;
    memset(out, 0, sizeof(*out));
    if ((problem = st_remote_send(req, r, "HEAD", url, h, 1, &status, &resp)))
        return problem;
    if (status == 404)
        return NULL;
    out->exists = 1;
    length = apr_table_get(resp.headers, "content-length");
    out->size = length ? apr_atoi64(length) : 0;
    out->etag = apr_table_get(resp.headers, "etag");
    out->type = apr_table_get(resp.headers, "content-type");
    return NULL;
}

st_remote_result st_remote_delete(cb_req *req, const st_remote *r, const char *path)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *url;
    apr_table_t *h = signed_headers(p, r, "DELETE", st_remote_key(p, r, path), NULL, 0, &url);
    cb_http_response resp;
    long status;
    return st_remote_send(req, r, "DELETE", url, h, 1, &status, &resp);
}

int st_remote_same_store(const st_remote *a, const st_remote *b)
{
    return a && b && a->kind == b->kind && strcmp(a->endpoint, b->endpoint) == 0 &&
           strcmp(a->region, b->region) == 0 && strcmp(a->access_key, b->access_key) == 0 &&
           (a->kind == ST_REMOTE_S3 || strcmp(a->bucket_name, b->bucket_name) == 0);
}

st_remote_result st_remote_copy(cb_req *req, const st_remote *src, const char *src_path,
                                const st_remote *dst, const char *dst_path)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *url, *source, *src_key = st_remote_key(p, src, src_path), *problem;
    cb_sign_pair extra;
    apr_table_t *h;
    cb_http_response resp;
    long status;
    /* keys need no escaping (st_remote_key), bucket names neither */
    if (dst->kind == ST_REMOTE_S3) {
        source = apr_pstrcat(p, "/", src->bucket_name, "/", src_key, NULL);
        extra = (cb_sign_pair){"x-amz-copy-source", source};
    } else {
        source = apr_pstrcat(p, src->host, "/", src_key, NULL);
        extra = (cb_sign_pair){"x-cos-copy-source", source};
    }
    h = signed_headers(p, dst, "PUT", st_remote_key(p, dst, dst_path), &extra, 1, &url);
    if ((problem = st_remote_send(req, dst, "PUT", url, h, 0, &status, &resp)))
        return problem;
    /* S3 may answer a failed copy 200 with an <Error> body */
    if (resp.body && strstr(resp.body, "<Error>")) {
        cb_log_req(req, CB_LOG_ERR, "storage: copy in %s failed: %s", dst->endpoint,
                   error_code(p, &resp));
        return "the object store could not copy the object";
    }
    return NULL;
}
