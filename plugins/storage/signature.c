/*
 * signature.c: the local backend's gateway signatures, HMAC-SHA256 under
 * the plugin's signing_key (docs/plugins/storage.md, "Signatures").
 *
 *   upload   authorization: CB-HMAC-SHA256 Expires=E, SignedHeaders=H,
 *            Signature=hex(HMAC(key, "CB-UPLOAD\n" env "\n" bucket "\n"
 *            path "\n" E "\n" H "\n" length "\n" type))
 *   download ?expires=E&sign=hex(HMAC(key, "CB-DOWNLOAD\n" env "\n"
 *            bucket "\n" path "\n" E))
 *
 * H is "", "content-length", "content-type" or both joined by ';'; a value
 * not in H is signed as "". Paths, env and bucket hold no '\n' (the id
 * parser refuses control characters), so the fields cannot run together.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"
#include "storage.h"

#define UPLOAD_SCHEME "CB-HMAC-SHA256 Expires="

static const char *signed_headers(unsigned binds)
{
    switch (binds & (ST_SIGN_LENGTH | ST_SIGN_TYPE)) {
    case ST_SIGN_LENGTH: return "content-length";
    case ST_SIGN_TYPE: return "content-type";
    case ST_SIGN_LENGTH | ST_SIGN_TYPE: return "content-length;content-type";
    default: return "";
    }
}

static const char *hmac_hex(apr_pool_t *p, const char *key, size_t key_len, const char *text)
{
    unsigned char mac[CB_SHA256_LEN];
    if (cb_hmac_sha256(key, key_len, text, strlen(text), mac) != 0)
        return NULL;
    return cb_hex_encode(p, mac, sizeof(mac));
}

static const char *upload_mac(apr_pool_t *p, const char *key, size_t key_len,
                              const st_upload_grant *g)
{
    const char *text = apr_psprintf(
        p, "CB-UPLOAD\n%s\n%s\n%s\n%" APR_INT64_T_FMT "\n%s\n%s\n%s", g->env, g->bucket, g->path,
        g->expires, signed_headers(g->binds),
        (g->binds & ST_SIGN_LENGTH) ? apr_psprintf(p, "%" APR_INT64_T_FMT, g->length) : "",
        (g->binds & ST_SIGN_TYPE) && g->type ? g->type : "");
    return hmac_hex(p, key, key_len, text);
}

const char *st_sign_upload(apr_pool_t *p, const char *key, size_t key_len,
                           const st_upload_grant *grant)
{
    const char *mac = upload_mac(p, key, key_len, grant);
    if (!mac)
        return NULL;
    return apr_psprintf(p, UPLOAD_SCHEME "%" APR_INT64_T_FMT ", SignedHeaders=%s, Signature=%s",
                        grant->expires, signed_headers(grant->binds), mac);
}

/* Digits only, no sign, no leading zero, at most 12 of them. */
static int parse_expires(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    if (len == 0 || len > 12 || (len > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 2 * CB_SHA256_LEN;
}

const char *st_verify_upload(apr_pool_t *p, const char *key, size_t key_len,
                             const char *authorization, st_upload_grant *grant, int64_t now)
{
    const char *rest, *comma, *headers, *sig;
    size_t headers_len;
    if (!authorization || strncmp(authorization, UPLOAD_SCHEME, sizeof(UPLOAD_SCHEME) - 1) != 0)
        return "the upload needs the authorization from get-objects-upload-info";
    rest = authorization + sizeof(UPLOAD_SCHEME) - 1;
    if (!(comma = strchr(rest, ',')) || !parse_expires(rest, (size_t)(comma - rest),
                                                        &grant->expires))
        return "the upload authorization is malformed";
    if (strncmp(comma, ", SignedHeaders=", 16) != 0)
        return "the upload authorization is malformed";
    headers = comma + 16;
    if (!(sig = strstr(headers, ", Signature=")))
        return "the upload authorization is malformed";
    headers_len = (size_t)(sig - headers);
    sig += 12;
    grant->binds = 0;
    for (unsigned b = 0; b < 4; b++)
        if (strlen(signed_headers(b)) == headers_len &&
            strncmp(signed_headers(b), headers, headers_len) == 0) {
            grant->binds = b;
            break;
        }
    if (strlen(signed_headers(grant->binds)) != headers_len || !is_hex64(sig))
        return "the upload authorization is malformed";
    {
        const char *expected = upload_mac(p, key, key_len, grant);
        if (!expected || !cb_equal_secret_str(expected, sig))
            return "the upload authorization does not match this object, length and type";
    }
    if (now > grant->expires)
        return "the upload authorization has expired";
    return NULL;
}

static const char *download_text(apr_pool_t *p, const char *env, const char *bucket,
                                 const char *path, int64_t expires)
{
    return apr_psprintf(p, "CB-DOWNLOAD\n%s\n%s\n%s\n%" APR_INT64_T_FMT, env, bucket, path,
                        expires);
}

const char *st_sign_download(apr_pool_t *p, const char *key, size_t key_len, const char *env,
                             const char *bucket, const char *path, int64_t expires)
{
    return hmac_hex(p, key, key_len, download_text(p, env, bucket, path, expires));
}

const char *st_verify_download(apr_pool_t *p, const char *key, size_t key_len, const char *env,
                               const char *bucket, const char *path, const char *expires,
                               const char *signature, int64_t now)
{
    int64_t e;
    const char *expected;
    if (!expires || !signature || !parse_expires(expires, strlen(expires), &e) ||
        !is_hex64(signature))
        return "the download URL is not signed";
    expected = st_sign_download(p, key, key_len, env, bucket, path, e);
    if (!expected || !cb_equal_secret_str(expected, signature))
        return "the download URL's signature does not match this object";
    if (now > e)
        return "the download URL has expired";
    return NULL;
}
