/*
 * sigv4_verify.c: verification of an incoming SigV4-signed request
 * (cloudbase/sign.h), in the Authorization header or presigned in the query:
 * parses the credential, scope and signed headers, refuses expired URLs and
 * clock skew past fifteen minutes, rebuilds the canonical request and compares
 * the signature in constant time.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/sign.h"
#include "sigv4_internal.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

/* What the two forms carry, read before the signature is checked. */
typedef struct {
    const char *credential; /* AK/YYYYMMDD/region/service/aws4_request */
    const char *signed_headers;
    const char *signature;
    const char *amz_date;
    const char *expires;    /* presigned only */
    const char *token;
    const char *payload_hash;
} sigv4_fields;

static int digits(const char *s, int n)
{
    int v = 0;
    while (n--)
        v = v * 10 + (*s++ - '0');
    return v;
}

/* YYYYMMDD'T'HHMMSS'Z' to seconds, or -1. */
static int64_t parse_amz_date(const char *s)
{
    struct tm tm = { 0 };
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    tm.tm_year = digits(s, 4) - 1900;
    tm.tm_mon = digits(s + 4, 2) - 1;
    tm.tm_mday = digits(s + 6, 2);
    tm.tm_hour = digits(s + 9, 2);
    tm.tm_min = digits(s + 11, 2);
    tm.tm_sec = digits(s + 13, 2);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    char back[17];
    int64_t t = (int64_t)timegm(&tm);
    sigv4_amz_date(t, back);                 /* refuses 31 February and the like */
    return strcmp(back, s) ? -1 : t;
}

static int is_lower_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* The query split into decoded pairs; the presigner's own fields are
 * recorded in f (X-Amz-Signature is left out of the pairs). -1 on a bad
 * escape. */
static int parse_query(apr_pool_t *p, const char *query, cb_sign_pair **out, size_t *n, sigv4_fields *f)
{
    size_t cap = 1;
    for (const char *c = query; *c; c++)
        cap += *c == '&';
    cb_sign_pair *q = apr_palloc(p, sizeof *q * cap);
    *n = 0;
    char *copy = apr_pstrdup(p, query), *save = NULL;
    for (char *part = apr_strtok(copy, "&", &save); part; part = apr_strtok(NULL, "&", &save)) {
        char *eq = strchr(part, '='), *name, *value;
        size_t nl, vl;
        if (eq)
            *eq = '\0';
        if (cb_percent_decode(p, part, strlen(part), &name, &nl) ||
            cb_percent_decode(p, eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0, &value, &vl) ||
            strlen(name) != nl || strlen(value) != vl)
            return -1;
        if (!strcmp(name, "X-Amz-Signature")) {
            f->signature = value;
            continue;
        }
        if (!strcmp(name, "X-Amz-Credential"))
            f->credential = value;
        else if (!strcmp(name, "X-Amz-SignedHeaders"))
            f->signed_headers = value;
        else if (!strcmp(name, "X-Amz-Date"))
            f->amz_date = value;
        else if (!strcmp(name, "X-Amz-Expires"))
            f->expires = value;
        else if (!strcmp(name, "X-Amz-Security-Token"))
            f->token = value;
        else if (!strcmp(name, "X-Amz-Content-Sha256"))
            f->payload_hash = value;
        else if (!strcmp(name, "X-Amz-Algorithm") && strcmp(value, ALGORITHM))
            return -1;
        q[(*n)++] = (cb_sign_pair){ name, value };
    }
    *out = q;
    return 0;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
static int parse_authorization(apr_pool_t *p, const char *auth, sigv4_fields *f)
{
    size_t alg = strlen(ALGORITHM);
    if (strncmp(auth, ALGORITHM, alg) || auth[alg] != ' ')
        return -1;
    char *copy = apr_pstrdup(p, auth + alg + 1), *save = NULL;
    for (char *part = apr_strtok(copy, ",", &save); part; part = apr_strtok(NULL, ",", &save)) {
        while (*part == ' ')
            part++;
        char *eq = strchr(part, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        const char **slot = !strcmp(part, "Credential") ? &f->credential
                            : !strcmp(part, "SignedHeaders") ? &f->signed_headers
                            : !strcmp(part, "Signature") ? &f->signature : NULL;
        if (!slot || *slot)
            return -1;
        char *v = eq + 1, *end = v + strlen(v);
        while (end > v && end[-1] == ' ')
            *--end = '\0';
        *slot = v;
    }
    return f->credential && f->signed_headers && f->signature ? 0 : -1;
}

typedef struct {
    apr_pool_t *p;
    const char *joined;
} header_join;

static int join_value(void *ctx, const char *key, const char *value)
{
    header_join *j = ctx;
    (void)key;
    j->joined = j->joined ? apr_pstrcat(j->p, j->joined, ",", value, NULL) : value;
    return 1;
}

/* The signed headers, from the request, in the order listed; -1 when the
 * list is not lower-case and sorted, lacks host, or names a header the
 * request does not have. */
static int signed_header_values(apr_pool_t *p, apr_table_t *headers, const char *list, cb_sign_pair **out,
                                size_t *n)
{
    size_t cap = 1, have_host = 0;
    for (const char *c = list; *c; c++) {
        cap += *c == ';';
        if (*c >= 'A' && *c <= 'Z')
            return -1;
    }
    cb_sign_pair *h = apr_palloc(p, sizeof *h * cap);
    char *copy = apr_pstrdup(p, list), *save = NULL, *prev = NULL;
    *n = 0;
    for (char *name = apr_strtok(copy, ";", &save); name; name = apr_strtok(NULL, ";", &save)) {
        if (prev && strcmp(prev, name) >= 0)
            return -1;
        header_join j = { p, NULL };
        if (headers)
            apr_table_do(join_value, &j, headers, name, NULL);
        if (!j.joined)
            return -1;
        have_host |= !strcmp(name, "host");
        h[(*n)++] = (cb_sign_pair){ name, j.joined };
        prev = name;
    }
    *out = h;
    return have_host && *n ? 0 : -1;
}

cb_sigv4_status cb_sigv4_verify(apr_pool_t *p, const cb_sigv4_incoming *in, cb_sigv4_verified *out)
{
    sigv4_fields f = { 0 };
    cb_sign_pair *query, *headers;
    size_t n_query, n_headers;
    const char *auth = in->headers ? apr_table_get(in->headers, "Authorization") : NULL;
    memset(out, 0, sizeof *out);
    if (!in->method || !in->path || in->path[0] != '/' || !in->service)
        return CB_SIGV4_MALFORMED;
    if (parse_query(p, in->query ? in->query : "", &query, &n_query, &f))
        return f.signature || auth ? CB_SIGV4_MALFORMED : CB_SIGV4_MISSING;
    out->presigned = f.signature != NULL;
    if (!auth && !out->presigned)
        return CB_SIGV4_MISSING;
    if (auth && out->presigned)
        return CB_SIGV4_MALFORMED;           /* one or the other, never both */
    if (!out->presigned) {
        if (parse_authorization(p, auth, &f))
            return CB_SIGV4_MALFORMED;
        f.amz_date = apr_table_get(in->headers, "x-amz-date");
        f.token = apr_table_get(in->headers, "x-amz-security-token");
        f.payload_hash = apr_table_get(in->headers, "x-amz-content-sha256");
    }
    if (!f.payload_hash)
        f.payload_hash = out->presigned && !strcmp(in->service, "s3") ? CB_SIGV4_UNSIGNED_PAYLOAD
                                                                       : sigv4_empty_payload_hash();
    if (!f.credential || !f.signed_headers || !f.amz_date || !is_lower_hex64(f.signature))
        return CB_SIGV4_MALFORMED;

    /* Credential: AK/YYYYMMDD/region/service/aws4_request */
    char *parts[5], *save = NULL, *cred = apr_pstrdup(p, f.credential);
    int np = 0;
    for (char *s = apr_strtok(cred, "/", &save); s && np < 5; s = apr_strtok(NULL, "/", &save))
        parts[np++] = s;
    if (np != 5 || apr_strtok(NULL, "/", &save) || strcmp(parts[4], "aws4_request"))
        return CB_SIGV4_MALFORMED;
    out->access_key = parts[0];
    out->session_token = f.token;
    out->payload_hash = f.payload_hash;
    int64_t at = parse_amz_date(f.amz_date);
    if (at < 0)
        return CB_SIGV4_MALFORMED;
    out->signed_at = at;
    if (strncmp(parts[1], f.amz_date, 8) || strlen(parts[1]) != 8 || strcmp(parts[3], in->service) ||
        (in->region && strcmp(parts[2], in->region)))
        return CB_SIGV4_WRONG_SCOPE;

    if (out->presigned) {
        char *end;
        if (!f.expires || !*f.expires)
            return CB_SIGV4_MALFORMED;
        long expires = strtol(f.expires, &end, 10);
        if (*end || expires < 1 || expires > CB_SIGV4_MAX_EXPIRES || f.expires[0] == '0')
            return CB_SIGV4_MALFORMED;
        out->expires_at = at + expires;
        if (at > in->now + CB_SIGV4_MAX_SKEW)
            return CB_SIGV4_SKEWED;
        if (in->now > out->expires_at)
            return CB_SIGV4_EXPIRED;
    } else if (at > in->now + CB_SIGV4_MAX_SKEW || at < in->now - CB_SIGV4_MAX_SKEW) {
        return CB_SIGV4_SKEWED;
    }
    if (signed_header_values(p, in->headers, f.signed_headers, &headers, &n_headers))
        return CB_SIGV4_MALFORMED;

    /* S3 signs the path as it decodes; other services encode it again. */
    const char *path = in->path;
    if (!(in->flags & CB_SIGV4_NORMALIZE_PATH)) {
        char *decoded;
        size_t len;
        if (cb_percent_decode(p, in->path, strlen(in->path), &decoded, &len) || strlen(decoded) != len)
            return CB_SIGV4_MALFORMED;
        path = decoded;
    }
    sigv4_canon_headers h;
    const char *q = sigv4_query(p, query, n_query, NULL, 0);
    if (!q || sigv4_headers(p, headers, n_headers, &h))
        return CB_SIGV4_MALFORMED;
    const char *secret = in->secret ? in->secret(in->secret_ctx, out->access_key) : NULL;
    if (!secret)
        return CB_SIGV4_UNKNOWN_KEY;
    cb_sigv4_scope scope = { .region = parts[2], .service = parts[3], .when = at };
    unsigned char key[CB_SHA256_LEN];
    const char *canonical = sigv4_canonical(p, in->method, sigv4_encoded_path(p, path, in->flags), q, &h,
                                            f.payload_hash);
    const char *sig = cb_sigv4_signing_key(secret, &scope, key)
                          ? NULL
                          : sigv4_signature(p, key, cb_sigv4_string_to_sign(p, &scope, canonical));
    memset(key, 0, sizeof key);
    if (!sig || !cb_equal_secret_str(sig, f.signature))
        return CB_SIGV4_BAD_SIGNATURE;
    return CB_SIGV4_OK;
}

const char *cb_sigv4_status_s3_code(cb_sigv4_status st)
{
    switch (st) {
    case CB_SIGV4_OK: return "OK";
    case CB_SIGV4_MISSING: return "AccessDenied";
    case CB_SIGV4_MALFORMED: return "AuthorizationHeaderMalformed";
    case CB_SIGV4_WRONG_SCOPE: return "AuthorizationHeaderMalformed";
    case CB_SIGV4_UNKNOWN_KEY: return "InvalidAccessKeyId";
    case CB_SIGV4_BAD_SIGNATURE: return "SignatureDoesNotMatch";
    case CB_SIGV4_EXPIRED: return "AccessDenied";
    case CB_SIGV4_SKEWED: return "RequestTimeTooSkewed";
    }
    return "AccessDenied";
}

const char *cb_sigv4_status_message(cb_sigv4_status st)
{
    switch (st) {
    case CB_SIGV4_OK: return "OK";
    case CB_SIGV4_MISSING: return "The request is not signed.";
    case CB_SIGV4_MALFORMED: return "The request signature is malformed.";
    case CB_SIGV4_WRONG_SCOPE: return "The credential scope does not match this service, region or date.";
    case CB_SIGV4_UNKNOWN_KEY: return "The access key does not exist.";
    case CB_SIGV4_BAD_SIGNATURE: return "The request signature does not match.";
    case CB_SIGV4_EXPIRED: return "Request has expired.";
    case CB_SIGV4_SKEWED: return "The difference between the request time and the current time is too large.";
    }
    return "Access denied.";
}
