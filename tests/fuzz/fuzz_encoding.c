/*
 * fuzz_encoding.c: libFuzzer target for the core's decoders
 * (core/encoding.c): hex, base64, base64url and RFC 3986 percent-decoding.
 *
 * The whole input is fed to every decoder and also encoded by every encoder.
 * Invariants:
 *  - encoding any bytes and decoding the result gives the bytes back
 *    (for percent-encoding, with and without '/' kept);
 *  - the base64 and base64url decoders are strict: whatever they accept is
 *    the one canonical encoding of what they return (encode(decode(x)) == x);
 *  - the hex decoder accepts exactly the even-length strings of hex digits,
 *    and its result encodes back to the input in lower case;
 *  - the percent decoder, when it accepts, returns bytes whose encoding
 *    decodes back to them, and never returns more bytes than it read;
 *  - percent-encoded text holds only unreserved characters and %XX;
 *  - a query parameter whose value is the percent-encoding of the input is
 *    read back as the input (up to its first NUL), also behind the input
 *    itself used as a query string.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cloudbase/encoding.h"

static apr_pool_t *iteration_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&iteration_pool, NULL);
    return 0;
}

static void require(int condition, const char *what)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz_encoding invariant broken: %s\n", what);
    abort();
}

static int same(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

typedef const char *(*encoder)(apr_pool_t *, const unsigned char *, size_t);
typedef int (*decoder)(apr_pool_t *, const char *, size_t, unsigned char **, size_t *);

static void check_base64(const uint8_t *data, size_t size, encoder enc, decoder dec)
{
    const char *text = enc(iteration_pool, data, size), *again;
    unsigned char *out;
    size_t len;
    require(dec(iteration_pool, text, strlen(text), &out, &len) == 0, "own encoding refused");
    require(same(out, len, data, size), "encode then decode changed the bytes");
    if (dec(iteration_pool, (const char *)data, size, &out, &len) == 0) {
        again = enc(iteration_pool, out, len);
        require(same(again, strlen(again), data, size), "accepted a non-canonical encoding");
    }
}

static int hex_shaped(const uint8_t *data, size_t size)
{
    if (size % 2)
        return 0;
    for (size_t i = 0; i < size; i++)
        if (!isxdigit(data[i]))
            return 0;
    return 1;
}

static void check_hex(const uint8_t *data, size_t size)
{
    const char *text = cb_hex_encode(iteration_pool, data, size);
    unsigned char *out;
    size_t len;
    int ok;
    require(cb_hex_decode(iteration_pool, text, strlen(text), &out, &len) == 0, "own hex refused");
    require(same(out, len, data, size), "hex encode then decode changed the bytes");
    ok = cb_hex_decode(iteration_pool, (const char *)data, size, &out, &len) == 0;
    require(ok == hex_shaped(data, size), "hex decoder disagrees with the hex shape");
    if (ok) {
        const char *again = cb_hex_encode(iteration_pool, out, len);
        for (size_t i = 0; i < size; i++)
            require(again[i] == tolower(data[i]), "hex does not encode back");
    }
}

static void check_percent(const uint8_t *data, size_t size, int flags)
{
    const char *text = cb_percent_encode(iteration_pool, (const char *)data, size, flags);
    char *out;
    size_t len;
    for (const char *c = text; *c; c++) {
        if (*c == '%') {
            require(isxdigit((unsigned char)c[1]) && isxdigit((unsigned char)c[2])
                    && !islower((unsigned char)c[1]) && !islower((unsigned char)c[2]),
                    "'%' not followed by two upper-case hex digits");
            c += 2;
        } else {
            require(isalnum((unsigned char)*c) || strchr("-._~", *c)
                    || (*c == '/' && (flags & CB_PERCENT_KEEP_SLASH)), "reserved byte left as is");
        }
    }
    require(cb_percent_decode(iteration_pool, text, strlen(text), &out, &len) == 0,
            "own percent-encoding refused");
    require(same(out, len, data, size), "percent encode then decode changed the bytes");
    if (cb_percent_decode(iteration_pool, (const char *)data, size, &out, &len) == 0) {
        char *back;
        size_t back_len;
        const char *re = cb_percent_encode(iteration_pool, out, len, flags);
        require(len <= size, "decoded text longer than its input");
        require(cb_percent_decode(iteration_pool, re, strlen(re), &back, &back_len) == 0
                && same(back, back_len, out, len), "decoded bytes do not round-trip");
    }
}

static void check_query(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    const char *value = cb_percent_encode(iteration_pool, text, strlen(text), 0);
    const char *query = apr_pstrcat(iteration_pool, "zz_fuzz_param=", value, "&", text, NULL);
    const char *got = cb_query_param(iteration_pool, query, "zz_fuzz_param");
    require(got && strcmp(got, text) == 0, "a query parameter did not read back");
    (void)cb_query_param(iteration_pool, text, "a");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_base64(data, size, cb_base64_encode, cb_base64_decode);
    check_base64(data, size, cb_base64url_encode, cb_base64url_decode);
    check_hex(data, size);
    check_percent(data, size, 0);
    check_percent(data, size, CB_PERCENT_KEEP_SLASH);
    check_query(data, size);
    apr_pool_clear(iteration_pool);
    return 0;
}
