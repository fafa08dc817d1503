/*
 * encoding.c: hex, base64, base64url, RFC 3986 percent-encoding, FNV-1a,
 * constant-time comparison and random tokens (cloudbase/encoding.h). The one
 * copy of each; plugins call these rather than carrying their own.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cloudbase/encoding.h"

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";
static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *cb_hex_encode(apr_pool_t *p, const unsigned char *data, size_t len)
{
    char *out = apr_palloc(p, len * 2 + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_lower[data[i] >> 4];
        out[2 * i + 1] = hex_lower[data[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

int cb_hex_decode(apr_pool_t *p, const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    unsigned char *buf;
    if (len % 2)
        return -1;
    buf = apr_palloc(p, len / 2 + 1);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value((unsigned char)in[i]), lo = hex_value((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        buf[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    buf[len / 2] = '\0';
    *out = buf;
    *out_len = len / 2;
    return 0;
}

/* ---------------------------------------------------------------- base64 */

/* Each alphabet's value of an ASCII character, -1 outside it. */
static const signed char b64_std_values[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
};

static const signed char b64_url_values[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
};

static int b64_value(const char *alphabet, unsigned char c)
{
    if (c >= 128)
        return -1;
    return alphabet == b64_url ? b64_url_values[c] : b64_std_values[c];
}

static size_t b64_unpadded_len(size_t len)
{
    return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

static void b64_encode_into(const char *alphabet, const unsigned char *in, size_t len, char *out)
{
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < len) {                               /* 1 or 2 bytes left */
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        if (i + 1 < len)
            *out = alphabet[(v >> 6) & 63];
    }
}

/* Strict decode of unpadded text into out (cap bytes): the length or -1. */
static long b64_decode_into(const char *alphabet, const char *in, size_t len,
                            unsigned char *out, size_t cap)
{
    size_t full = len / 4, rest = len % 4, n = full * 3 + (rest ? rest - 1 : 0), i;
    const unsigned char *s = (const unsigned char *)in;
    if (rest == 1 || n > cap)
        return -1;
    for (i = 0; i < full; i++, s += 4) {
        int a = b64_value(alphabet, s[0]), b = b64_value(alphabet, s[1]);
        int c = b64_value(alphabet, s[2]), d = b64_value(alphabet, s[3]);
        if ((a | b | c | d) < 0)
            return -1;
        *out++ = (unsigned char)(a << 2 | b >> 4);
        *out++ = (unsigned char)((b & 15) << 4 | c >> 2);
        *out++ = (unsigned char)((c & 3) << 6 | d);
    }
    if (rest) {                                  /* 2 or 3 characters left */
        int a = b64_value(alphabet, s[0]), b = b64_value(alphabet, s[1]);
        int c = rest == 3 ? b64_value(alphabet, s[2]) : 0;
        if ((a | b | c) < 0 || (rest == 2 ? b & 15 : c & 3))
            return -1;                           /* or non-zero unused bits */
        *out++ = (unsigned char)(a << 2 | b >> 4);
        if (rest == 3)
            *out = (unsigned char)((b & 15) << 4 | c >> 2);
    }
    return (long)n;
}

static int b64_decode(apr_pool_t *p, const char *alphabet, const char *in, size_t len,
                      unsigned char **out, size_t *out_len)
{
    size_t cap = len / 4 * 3 + 2;
    unsigned char *buf = apr_palloc(p, cap + 1);
    long n = b64_decode_into(alphabet, in, len, buf, cap);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    *out = buf;
    *out_len = (size_t)n;
    return 0;
}

size_t cb_base64url_encoded_len(size_t len)
{
    return b64_unpadded_len(len);
}

void cb_base64url_encode_into(const unsigned char *in, size_t len, char *out)
{
    b64_encode_into(b64_url, in, len, out);
}

long cb_base64url_decode_into(const char *in, size_t len, unsigned char *out, size_t cap)
{
    return b64_decode_into(b64_url, in, len, out, cap);
}

const char *cb_base64url_encode(apr_pool_t *p, const unsigned char *data, size_t len)
{
    size_t n = b64_unpadded_len(len);
    char *out = apr_palloc(p, n + 1);
    b64_encode_into(b64_url, data, len, out);
    out[n] = '\0';
    return out;
}

int cb_base64url_decode(apr_pool_t *p, const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    return b64_decode(p, b64_url, in, len, out, out_len);
}

const char *cb_base64_encode(apr_pool_t *p, const unsigned char *data, size_t len)
{
    size_t n = b64_unpadded_len(len), padded = (len + 2) / 3 * 4;
    char *out = apr_palloc(p, padded + 1);
    b64_encode_into(b64_std, data, len, out);
    memset(out + n, '=', padded - n);
    out[padded] = '\0';
    return out;
}

int cb_base64_decode(apr_pool_t *p, const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    size_t pad = 0;
    if (len % 4)
        return -1;
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
        pad++;
    return b64_decode(p, b64_std, in, len - pad, out, out_len);
}

/* ---------------------------------------------------------------- RFC 3986 */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_' || c == '~';
}

const char *cb_percent_encode(apr_pool_t *p, const char *in, size_t len, int flags)
{
    char *out = apr_palloc(p, len * 3 + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (unreserved(c) || (c == '/' && (flags & CB_PERCENT_KEEP_SLASH))) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex_upper[c >> 4];
            *o++ = hex_upper[c & 15];
        }
    }
    *o = '\0';
    return out;
}

int cb_percent_decode(apr_pool_t *p, const char *in, size_t len, char **out, size_t *out_len)
{
    char *buf = apr_palloc(p, len + 1), *o = buf;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            *o++ = in[i];
            continue;
        }
        if (len - i < 3)
            return -1;
        int hi = hex_value((unsigned char)in[i + 1]), lo = hex_value((unsigned char)in[i + 2]);
        if (hi < 0 || lo < 0)
            return -1;
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = '\0';
    *out = buf;
    *out_len = (size_t)(o - buf);
    return 0;
}

/* Decodes one piece of a query string: '+' is a space, then %XX. */
static const char *query_piece(apr_pool_t *p, const char *s, size_t len)
{
    char *plus = apr_pstrmemdup(p, s, len), *out;
    size_t out_len;
    for (char *c = plus; *c; c++)
        if (*c == '+')
            *c = ' ';
    return cb_percent_decode(p, plus, len, &out, &out_len) == 0 ? out : NULL;
}

const char *cb_query_param(apr_pool_t *p, const char *query, const char *name)
{
    const char *q = query;
    while (q && *q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t name_len = eq ? (size_t)(eq - q) : len;
        const char *key = query_piece(p, q, name_len);
        if (key && strcmp(key, name) == 0)
            return eq ? query_piece(p, eq + 1, len - name_len - 1) : "";
        q += len;
        if (*q == '&')
            q++;
    }
    return NULL;
}

/* ---------------------------------------------------------------- hashing, secrets */

uint64_t cb_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

int cb_equal_secret(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && CRYPTO_memcmp(a, b, a_len) == 0;
}

int cb_equal_secret_str(const char *a, const char *b)
{
    return cb_equal_secret(a, strlen(a), b, strlen(b));
}

int cb_random_bytes(unsigned char *out, size_t len)
{
    return len <= (size_t)0x7fffffff && RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

const char *cb_random_hex(apr_pool_t *p, size_t bytes)
{
    unsigned char buf[64];
    if (bytes > sizeof(buf) || cb_random_bytes(buf, bytes) != 0)
        return NULL;
    return cb_hex_encode(p, buf, bytes);
}

const char *cb_random_token(apr_pool_t *p, size_t bytes)
{
    unsigned char buf[64];
    if (bytes > sizeof(buf) || cb_random_bytes(buf, bytes) != 0)
        return NULL;
    return cb_base64url_encode(p, buf, bytes);
}
