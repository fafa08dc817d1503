/*
 * cos_sign.c: Tencent COS's q-sign-algorithm=sha1 authorization
 * (cloudbase/sign.h), computed as cos-nodejs-sdk-v5's getAuthorization does:
 * SignKey = HMAC-SHA1(SecretKey, KeyTime); the format string
 * "method\npath\nparams\nheaders\n"; StringToSign = "sha1\nKeyTime\n
 * SHA1(format string)\n"; Signature = HMAC-SHA1(SignKey, StringToSign).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"
#include "cloudbase/sign.h"

/* The standard headers COS signs besides x-cos-* and x-ci-*. */
static const char *const signed_standard[] = {
    "cache-control", "content-disposition", "content-encoding", "content-length", "content-md5",
    "content-type", "expect", "expires", "host", "if-match", "if-modified-since", "if-none-match",
    "if-unmodified-since", "origin", "range", "transfer-encoding", "pic-operations",
};

static char *ascii_lower(char *s)
{
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return s;
}

static int cos_signs_header(apr_pool_t *p, const char *name)
{
    char *l = ascii_lower(apr_pstrdup(p, name));
    if (strstr(l, "x-cos-") || strstr(l, "x-ci-"))
        return 1;
    for (size_t i = 0; i < sizeof signed_standard / sizeof *signed_standard; i++)
        if (!strcmp(l, signed_standard[i]))
            return 1;
    return 0;
}

typedef struct {
    const char *sort_key; /* the raw name, lower-cased: the SDK sorts the format string by it */
    const char *list_key; /* the encoded name, lower-cased: the header and parameter lists */
    const char *value;    /* encoded */
} cos_item;

static int by_sort_key(const void *a, const void *b)
{
    return strcmp(((const cos_item *)a)->sort_key, ((const cos_item *)b)->sort_key);
}

static int by_list_key(const void *a, const void *b)
{
    return strcmp(((const cos_item *)a)->list_key, ((const cos_item *)b)->list_key);
}

/* "k=v&k=v" (sorted by raw name) into *pairs, "k;k" (sorted by encoded
 * name) into *list. */
static void cos_encode(apr_pool_t *p, const cb_sign_pair *in, size_t n, int headers, const char **pairs,
                       const char **list)
{
    cos_item *it = apr_palloc(p, sizeof *it * (n ? n : 1));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (headers && !cos_signs_header(p, in[i].name))
            continue;
        const char *v = in[i].value ? in[i].value : "";
        it[k].sort_key = ascii_lower(apr_pstrdup(p, in[i].name));
        it[k].list_key = ascii_lower(apr_pstrdup(p, cb_percent_encode(p, in[i].name, strlen(in[i].name), 0)));
        it[k].value = cb_percent_encode(p, v, strlen(v), 0);
        k++;
    }
    qsort(it, k, sizeof *it, by_sort_key);
    char *s = "";
    for (size_t i = 0; i < k; i++)
        s = apr_pstrcat(p, s, i ? "&" : "", it[i].list_key, "=", it[i].value, NULL);
    *pairs = s;
    qsort(it, k, sizeof *it, by_list_key);
    s = "";
    for (size_t i = 0; i < k; i++)
        s = apr_pstrcat(p, s, i ? ";" : "", it[i].list_key, NULL);
    *list = s;
}

static int valid_pairs(const cb_sign_pair *v, size_t n)
{
    if (n && !v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!v[i].name || !*v[i].name)
            return 0;
    return 1;
}

const char *cb_cos_authorization(apr_pool_t *p, const cb_cos_request *req)
{
    unsigned char key_mac[CB_SHA1_LEN], digest[CB_SHA1_LEN], sig[CB_SHA1_LEN];
    const char *params, *param_list, *headers, *header_list;
    if (!req || !req->secret_id || !*req->secret_id || !req->secret_key || !*req->secret_key ||
        !req->method || !req->key || req->end < req->start || !valid_pairs(req->query, req->n_query) ||
        !valid_pairs(req->headers, req->n_headers))
        return NULL;
    const char *key_time = apr_psprintf(p, "%" APR_INT64_T_FMT ";%" APR_INT64_T_FMT, req->start, req->end);
    cos_encode(p, req->query, req->n_query, 0, &params, &param_list);
    cos_encode(p, req->headers, req->n_headers, 1, &headers, &header_list);
    const char *path = req->key[0] == '/' ? req->key : apr_pstrcat(p, "/", req->key, NULL);
    const char *format = apr_pstrcat(p, ascii_lower(apr_pstrdup(p, req->method)), "\n", path, "\n", params,
                                     "\n", headers, "\n", NULL);
    if (cb_hmac_sha1(req->secret_key, strlen(req->secret_key), key_time, strlen(key_time), key_mac) ||
        cb_sha1(format, strlen(format), digest))
        return NULL;
    const char *sign_key = cb_hex_encode(p, key_mac, sizeof key_mac);
    const char *to_sign = apr_pstrcat(p, "sha1\n", key_time, "\n", cb_hex_encode(p, digest, sizeof digest),
                                      "\n", NULL);
    if (cb_hmac_sha1(sign_key, strlen(sign_key), to_sign, strlen(to_sign), sig))
        return NULL;
    return apr_pstrcat(p, "q-sign-algorithm=sha1&q-ak=", req->secret_id, "&q-sign-time=", key_time,
                       "&q-key-time=", key_time, "&q-header-list=", header_list,
                       "&q-url-param-list=", param_list, "&q-signature=", cb_hex_encode(p, sig, sizeof sig),
                       NULL);
}
