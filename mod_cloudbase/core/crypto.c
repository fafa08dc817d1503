/*
 * crypto.c: SHA-1, SHA-256 and their HMACs over OpenSSL's one-shot EVP and
 * HMAC calls (cloudbase/crypto.h).
 */
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

int cb_sha256(const void *data, size_t len, unsigned char out[CB_SHA256_LEN])
{
    return digest(EVP_sha256(), data, len, out);
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
