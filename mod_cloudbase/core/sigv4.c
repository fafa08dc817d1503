/*
 * sigv4.c: AWS Signature Version 4 (cloudbase/sign.h): the canonical request,
 * the string to sign, the signing key, header signing and presigned query
 * strings, and the S3 presigned URL. Verification of incoming requests is in
 * sigv4_verify.c; both build the canonical request with sigv4_canonical().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/sign.h"
#include "sigv4_internal.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
static const char empty_sha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const char *sigv4_empty_payload_hash(void)
{
    return empty_sha256;
}

void sigv4_amz_date(int64_t when, char out[17])
{
    struct tm tm;
    time_t t = (time_t)when;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static const char *scope_string(apr_pool_t *p, const cb_sigv4_scope *scope)
{
    char date[17];
    sigv4_amz_date(scope->when, date);
    return apr_psprintf(p, "%.8s/%s/%s/aws4_request", date, scope->region, scope->service);
}

/* The last signing key each thread derived: it changes once a day per
 * secret, region and service, and deriving it is four HMACs, most of the
 * cost of a presigned URL. */
typedef struct {
    char secret[128];
    char date[9];
    char region[32];
    char service[32];
    unsigned char key[CB_SHA256_LEN];
    int valid;
} signing_key_cache;

static __thread signing_key_cache key_cache;

static int cache_fits(const char *s, size_t cap)
{
    return strlen(s) < cap;
}

int cb_sigv4_signing_key(const char *secret_key, const cb_sigv4_scope *scope,
                         unsigned char out[CB_SHA256_LEN])
{
    char date[17], first[128];
    unsigned char k[CB_SHA256_LEN];
    signing_key_cache *c = &key_cache;
    if (!secret_key || !scope || !scope->region || !scope->service)
        return -1;
    sigv4_amz_date(scope->when, date);
    date[8] = '\0';
    if (c->valid && !strcmp(c->date, date) && !strcmp(c->region, scope->region) &&
        !strcmp(c->service, scope->service) && cb_equal_secret_str(c->secret, secret_key)) {
        memcpy(out, c->key, CB_SHA256_LEN);
        return 0;
    }
    int n = snprintf(first, sizeof first, "AWS4%s", secret_key);
    if (n < 0 || (size_t)n >= sizeof first)
        return -1;
    int failed = cb_hmac_sha256(first, (size_t)n, date, 8, k) ||
                 cb_hmac_sha256(k, sizeof k, scope->region, strlen(scope->region), k) ||
                 cb_hmac_sha256(k, sizeof k, scope->service, strlen(scope->service), k) ||
                 cb_hmac_sha256(k, sizeof k, "aws4_request", 12, out);
    memset(first, 0, sizeof first);
    if (failed)
        return -1;
    c->valid = 0;
    if (cache_fits(secret_key, sizeof c->secret) && cache_fits(scope->region, sizeof c->region) &&
        cache_fits(scope->service, sizeof c->service)) {
        strcpy(c->secret, secret_key);
        strcpy(c->date, date);
        strcpy(c->region, scope->region);
        strcpy(c->service, scope->service);
        memcpy(c->key, out, CB_SHA256_LEN);
        c->valid = 1;
    }
    return 0;
}

/* Lower-case copy of a header name. */
static char *lower(apr_pool_t *p, const char *s)
{
    char *r = apr_pstrdup(p, s);
    for (char *c = r; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return r;
}

/* A header value trimmed, every run of white space inside it one space. */
static const char *canonical_value(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) + 1), *o = out;
    int space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
            space = o != out;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = *v;
    }
    *o = '\0';
    return out;
}

typedef struct {
    const char *name;
    const char *value;
    size_t order;
} sorted_pair;

static int by_name_then_order(const void *a, const void *b)
{
    const sorted_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static int by_name_then_value(const void *a, const void *b)
{
    const sorted_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

int sigv4_headers(apr_pool_t *p, const cb_sign_pair *h, size_t n, sigv4_canon_headers *out)
{
    sorted_pair *s = apr_palloc(p, sizeof *s * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name || !h[i].value || !*h[i].name)
            return -1;
        s[i] = (sorted_pair){ lower(p, h[i].name), canonical_value(p, h[i].value), i };
    }
    qsort(s, n, sizeof *s, by_name_then_order);
    char *canon = apr_pstrdup(p, ""), *list = apr_pstrdup(p, "");
    for (size_t i = 0; i < n;) {
        const char *value = s[i].value;
        size_t j = i + 1;
        for (; j < n && !strcmp(s[j].name, s[i].name); j++)    /* repeated: joined by ',' */
            value = apr_pstrcat(p, value, ",", s[j].value, NULL);
        canon = apr_pstrcat(p, canon, s[i].name, ":", value, "\n", NULL);
        list = apr_pstrcat(p, list, *list ? ";" : "", s[i].name, NULL);
        i = j;
    }
    out->canonical = canon;
    out->signed_list = list;
    return 0;
}

const char *sigv4_query(apr_pool_t *p, const cb_sign_pair *q, size_t n, const cb_sign_pair *extra,
                        size_t n_extra)
{
    size_t total = n + n_extra;
    sorted_pair *s = apr_palloc(p, sizeof *s * (total ? total : 1));
    for (size_t i = 0; i < total; i++) {
        const cb_sign_pair *x = i < n ? &q[i] : &extra[i - n];
        if (!x->name)
            return NULL;
        const char *v = x->value ? x->value : "";
        s[i] = (sorted_pair){ cb_percent_encode(p, x->name, strlen(x->name), 0),
                              cb_percent_encode(p, v, strlen(v), 0), i };
    }
    qsort(s, total, sizeof *s, by_name_then_value);
    size_t len = 0;
    for (size_t i = 0; i < total; i++)
        len += strlen(s[i].name) + strlen(s[i].value) + 2;
    char *out = apr_palloc(p, len + 1), *o = out;
    for (size_t i = 0; i < total; i++) {
        if (i)
            *o++ = '&';
        o = stpcpy(o, s[i].name);
        *o++ = '=';
        o = stpcpy(o, s[i].value);
    }
    *o = '\0';
    return out;
}

/* '.' and '..' resolved, empty segments dropped; a trailing '/' kept. */
static const char *normalized_path(apr_pool_t *p, const char *path)
{
    size_t len = strlen(path);
    char *out = apr_palloc(p, len + 2), *o = out;
    const char *s = path;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* nothing */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > out && *--o != '/')
                ;
        } else {
            *o++ = '/';
            memcpy(o, s, n);
            o += n;
        }
        s += n;
    }
    if (o == out || (len && path[len - 1] == '/'))
        *o++ = '/';
    *o = '\0';
    return out;
}

const char *sigv4_canonical(apr_pool_t *p, const char *method, const char *encoded_path,
                            const char *canonical_query, const sigv4_canon_headers *h,
                            const char *payload_hash)
{
    return apr_pstrcat(p, method, "\n", encoded_path, "\n", canonical_query, "\n", h->canonical,
                       "\n", h->signed_list, "\n", payload_hash, NULL);
}

const char *sigv4_encoded_path(apr_pool_t *p, const char *path, int flags)
{
    if (flags & CB_SIGV4_NORMALIZE_PATH)
        path = normalized_path(p, path);
    return cb_percent_encode(p, path, strlen(path), CB_PERCENT_KEEP_SLASH);
}

/* The headers req signs: host, req's own, then those the signer adds. */
static cb_sign_pair *headers_with(apr_pool_t *p, const cb_sigv4_request *req, const cb_sign_pair *add,
                                  size_t n_add, size_t *n)
{
    cb_sign_pair *h = apr_palloc(p, sizeof *h * (req->n_headers + n_add + 1));
    h[0] = (cb_sign_pair){ "host", req->host };
    if (req->n_headers)
        memcpy(h + 1, req->headers, sizeof *h * req->n_headers);
    if (n_add)
        memcpy(h + 1 + req->n_headers, add, sizeof *h * n_add);
    *n = req->n_headers + n_add + 1;
    return h;
}

static int valid_request(const cb_sigv4_request *req)
{
    return req && req->method && req->host && req->path && req->path[0] == '/' &&
           (req->n_headers == 0 || req->headers) && (req->n_query == 0 || req->query);
}

static int valid_scope(const cb_sigv4_scope *s)
{
    return s && s->region && s->service && *s->region && *s->service;
}

const char *cb_sigv4_canonical_request(apr_pool_t *p, const cb_sigv4_request *req,
                                       const cb_sign_pair *extra_query, size_t n_extra,
                                       const char **signed_headers)
{
    sigv4_canon_headers h;
    size_t n;
    if (!valid_request(req))
        return NULL;
    cb_sign_pair *all = headers_with(p, req, NULL, 0, &n);
    const char *q = sigv4_query(p, req->query, req->n_query, extra_query, n_extra);
    if (!q || sigv4_headers(p, all, n, &h))
        return NULL;
    if (signed_headers)
        *signed_headers = h.signed_list;
    return sigv4_canonical(p, req->method, sigv4_encoded_path(p, req->path, req->flags), q, &h,
                           req->payload_hash ? req->payload_hash : CB_SIGV4_UNSIGNED_PAYLOAD);
}

const char *cb_sigv4_string_to_sign(apr_pool_t *p, const cb_sigv4_scope *scope,
                                    const char *canonical_request)
{
    char date[17];
    if (!valid_scope(scope) || !canonical_request)
        return NULL;
    sigv4_amz_date(scope->when, date);
    return apr_pstrcat(p, ALGORITHM "\n", date, "\n", scope_string(p, scope), "\n",
                       cb_sha256_hex(p, canonical_request, strlen(canonical_request)), NULL);
}

const char *sigv4_signature(apr_pool_t *p, const unsigned char key[CB_SHA256_LEN], const char *sts)
{
    unsigned char mac[CB_SHA256_LEN];
    if (!sts || cb_hmac_sha256(key, CB_SHA256_LEN, sts, strlen(sts), mac))
        return NULL;
    return cb_hex_encode(p, mac, sizeof mac);
}

/* Canonical request, string to sign and signature of req with the given
 * headers and presigning parameters; 0 or -1. */
static int sign(apr_pool_t *p, const cb_sigv4_credentials *cred, const cb_sigv4_scope *scope,
                const cb_sigv4_request *req, const sigv4_canon_headers *h, const char *query,
                cb_sigv4_signed *out)
{
    unsigned char key[CB_SHA256_LEN];
    const char *payload = req->payload_hash ? req->payload_hash : CB_SIGV4_UNSIGNED_PAYLOAD;
    out->canonical_request = sigv4_canonical(p, req->method, sigv4_encoded_path(p, req->path, req->flags),
                                             query, h, payload);
    out->string_to_sign = cb_sigv4_string_to_sign(p, scope, out->canonical_request);
    if (cb_sigv4_signing_key(cred->secret_key, scope, key))
        return -1;
    out->signature = sigv4_signature(p, key, out->string_to_sign);
    return out->signature ? 0 : -1;
}

static int valid_credentials(const cb_sigv4_credentials *c)
{
    return c && c->access_key && c->secret_key && *c->access_key && !strchr(c->access_key, '/');
}

int cb_sigv4_sign_headers(apr_pool_t *p, const cb_sigv4_credentials *cred, const cb_sigv4_scope *scope,
                          const cb_sigv4_request *req, cb_sigv4_signed *out)
{
    char date[17];
    cb_sign_pair add[3];
    size_t n_add = 0, n;
    sigv4_canon_headers h;
    if (!valid_credentials(cred) || !valid_scope(scope) || !valid_request(req) || !out)
        return -1;
    memset(out, 0, sizeof *out);
    sigv4_amz_date(scope->when, date);
    out->amz_date = apr_pstrdup(p, date);
    add[n_add++] = (cb_sign_pair){ "x-amz-date", out->amz_date };
    if (req->flags & CB_SIGV4_CONTENT_SHA256_HEADER) {
        out->content_sha256 = req->payload_hash ? req->payload_hash : CB_SIGV4_UNSIGNED_PAYLOAD;
        add[n_add++] = (cb_sign_pair){ "x-amz-content-sha256", out->content_sha256 };
    }
    if (cred->session_token && *cred->session_token) {
        out->security_token = cred->session_token;
        add[n_add++] = (cb_sign_pair){ "x-amz-security-token", cred->session_token };
    }
    cb_sign_pair *all = headers_with(p, req, add, n_add, &n);
    const char *q = sigv4_query(p, req->query, req->n_query, NULL, 0);
    if (!q || sigv4_headers(p, all, n, &h) || sign(p, cred, scope, req, &h, q, out))
        return -1;
    out->authorization = apr_pstrcat(p, ALGORITHM " Credential=", cred->access_key, "/",
                                     scope_string(p, scope), ", SignedHeaders=", h.signed_list,
                                     ", Signature=", out->signature, NULL);
    return 0;
}

const char *cb_sigv4_presign_query(apr_pool_t *p, const cb_sigv4_credentials *cred,
                                   const cb_sigv4_scope *scope, const cb_sigv4_request *req,
                                   int expires, cb_sigv4_signed *out)
{
    char date[17], exp[16];
    cb_sign_pair x[8];
    size_t nx = 0, n;
    sigv4_canon_headers h;
    cb_sigv4_signed local;
    if (!out)
        out = &local;
    if (!valid_credentials(cred) || !valid_scope(scope) || !valid_request(req) || expires < 1 ||
        expires > CB_SIGV4_MAX_EXPIRES)
        return NULL;
    memset(out, 0, sizeof *out);
    cb_sign_pair *all = headers_with(p, req, NULL, 0, &n);
    if (sigv4_headers(p, all, n, &h))
        return NULL;
    sigv4_amz_date(scope->when, date);
    snprintf(exp, sizeof exp, "%d", expires);
    out->amz_date = apr_pstrdup(p, date);
    x[nx++] = (cb_sign_pair){ "X-Amz-Algorithm", ALGORITHM };
    if (req->flags & CB_SIGV4_CONTENT_SHA256_QUERY)
        x[nx++] = (cb_sign_pair){ "X-Amz-Content-Sha256",
                                  req->payload_hash ? req->payload_hash : CB_SIGV4_UNSIGNED_PAYLOAD };
    x[nx++] = (cb_sign_pair){ "X-Amz-Credential",
                              apr_pstrcat(p, cred->access_key, "/", scope_string(p, scope), NULL) };
    x[nx++] = (cb_sign_pair){ "X-Amz-Date", out->amz_date };
    x[nx++] = (cb_sign_pair){ "X-Amz-Expires", apr_pstrdup(p, exp) };
    if (cred->session_token && *cred->session_token)
        x[nx++] = (cb_sign_pair){ "X-Amz-Security-Token", cred->session_token };
    x[nx++] = (cb_sign_pair){ "X-Amz-SignedHeaders", h.signed_list };
    const char *q = sigv4_query(p, req->query, req->n_query, x, nx);
    if (!q || sign(p, cred, scope, req, &h, q, out))
        return NULL;
    /* The URL carries the same parameters plus the signature, all sorted
     * (the SDK's query builder sorts too). */
    x[nx++] = (cb_sign_pair){ "X-Amz-Signature", out->signature };
    return sigv4_query(p, req->query, req->n_query, x, nx);
}

const char *cb_s3_presign_url(apr_pool_t *p, const cb_sigv4_credentials *cred, const char *region,
                              const cb_s3_object *obj, int64_t when, int expires)
{
    if (!obj || !obj->endpoint || !obj->bucket || !*obj->bucket || !obj->key || !obj->method)
        return NULL;
    const char *ep = obj->endpoint;
    size_t scheme = !strncmp(ep, "https://", 8) ? 8 : !strncmp(ep, "http://", 7) ? 7 : 0;
    if (!scheme)
        return NULL;
    const char *host = apr_pstrndup(p, ep + scheme, strcspn(ep + scheme, "/?#"));
    if (!*host || (ep[scheme + strlen(host)] && strcmp(ep + scheme + strlen(host), "/")))
        return NULL;                     /* an endpoint with a path is not supported */
    const char *path;
    if (obj->virtual_hosted) {
        host = apr_pstrcat(p, obj->bucket, ".", host, NULL);
        path = apr_pstrcat(p, "/", obj->key, NULL);
    } else {
        path = apr_pstrcat(p, "/", obj->bucket, "/", obj->key, NULL);
    }
    cb_sigv4_scope scope = { .region = region, .service = "s3", .when = when };
    cb_sigv4_request req = {
        .method = obj->method, .host = host, .path = path,
        .query = obj->query, .n_query = obj->n_query,
        .payload_hash = CB_SIGV4_UNSIGNED_PAYLOAD, .flags = CB_SIGV4_CONTENT_SHA256_QUERY,
    };
    const char *q = cb_sigv4_presign_query(p, cred, &scope, &req, expires, NULL);
    if (!q)
        return NULL;
    return apr_pstrcat(p, apr_pstrndup(p, ep, scheme), host, sigv4_encoded_path(p, path, 0), "?", q, NULL);
}
