/*
 * crypto.c: SHA-1, SHA-256 and their HMACs over OpenSSL's one-shot EVP and
 * HMAC calls, and SHA-256 over a stream with an EVP digest context
 * (cloudbase/crypto.h).
 */
#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"

static int digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
    return EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : -1;
}

static int mac(const EVP_MD *md, const void *key, size_t key_len, const void *data, size_t len,
               unsigned char *out)
{
    static const unsigned char empty = 0;
    if (key_len > 0x7fffffff)
        return -1;
    return HMAC(md, key_len ? key : &empty, (int)key_len, data, len, out, NULL) ? 0 : -1;
}

int cb_sha1(const void *data, size_t len, unsigned char out[CB_SHA1_LEN])
{
    return digest(EVP_sha1(), data, len, out);
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
/* OpenSSL 3 looks EVP_sha256()'s implementation up in the provider
 * registry on every EVP_Digest (an "implicit fetch": name lookups, locks,
 * a reference count); fetched once, the digest is used as it is. The read
 * cache hashes a key on every request. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_fetched;

static void fetch_sha256(void)
{
    sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_md(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_fetched ? sha256_fetched : EVP_sha256();
}
#else
static const EVP_MD *sha256_md(void) { return EVP_sha256(); }
#endif

int cb_sha256(const void *data, size_t len, unsigned char out[CB_SHA256_LEN])
{
    return digest(sha256_md(), data, len, out);
}

int cb_hmac_sha1(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[CB_SHA1_LEN])
{
    return mac(EVP_sha1(), key, key_len, data, len, out);
}

int cb_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[CB_SHA256_LEN])
{
    return mac(EVP_sha256(), key, key_len, data, len, out);
}

const char *cb_sha256_hex(apr_pool_t *p, const void *data, size_t len)
{
    unsigned char d[CB_SHA256_LEN];
    return cb_sha256(data, len, d) == 0 ? cb_hex_encode(p, d, sizeof(d)) : NULL;
}

struct cb_sha256_stream {
    EVP_MD_CTX *ctx;   /* NULL once finished */
};

static apr_status_t free_stream(void *data)
{
    cb_sha256_stream *s = data;
    if (s->ctx)
        EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
    return APR_SUCCESS;
}

cb_sha256_stream *cb_sha256_stream_new(apr_pool_t *p)
{
    cb_sha256_stream *s = apr_pcalloc(p, sizeof(*s));
    if (!(s->ctx = EVP_MD_CTX_new()))
        return NULL;
    apr_pool_cleanup_register(p, s, free_stream, apr_pool_cleanup_null);
    return EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) == 1 ? s : NULL;
}

int cb_sha256_stream_update(cb_sha256_stream *s, const void *data, size_t len)
{
    return s && s->ctx && EVP_DigestUpdate(s->ctx, data, len) == 1 ? 0 : -1;
}

const char *cb_sha256_stream_hex(apr_pool_t *p, cb_sha256_stream *s)
{
    unsigned char d[CB_SHA256_LEN];
    int ok;
    if (!s || !s->ctx)
        return NULL;
    ok = EVP_DigestFinal_ex(s->ctx, d, NULL) == 1;
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
    return ok ? cb_hex_encode(p, d, sizeof(d)) : NULL;
}
