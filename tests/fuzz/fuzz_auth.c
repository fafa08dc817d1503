/*
 * fuzz_auth.c: libFuzzer target for the auth plugin's request and storage
 * parsers (plugins/auth/parse.c): usernames, device ids, HTTP Basic
 * credentials, Bearer tokens, refresh tokens, API-key shapes and stored
 * password records. (Request bodies: fuzz_auth_body.c.)
 *
 * The whole input, as a NUL-terminated string, goes to every parser; it is
 * also used to build well-formed values that must be accepted. Properties:
 *  - usernames and device ids are accepted exactly when they are made of
 *    the allowed characters at an allowed length (checked here
 *    independently, both ways);
 *  - Basic: an accepted header's id has no ':', and re-encoding id:secret
 *    gives the same pair back; the input itself, base64-encoded with a
 *    ':' in it, parses to the text before and after the first ':';
 *  - Bearer: the token is the tail of an accepted header after "Bearer "
 *    (any case) and spaces, and "Bearer " + token gives it back;
 *  - refresh tokens and API keys are accepted exactly in their documented
 *    shapes, and a shape built from the input's bytes is accepted;
 *  - stored password records have scrypt parameters within bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "auth.h"

#define FUZZ_TARGET_NAME "fuzz_auth"
#define FUZZ_HAS_SETUP
#include "fuzz_support.h"

static auth_state state;

static void fuzz_setup(void)
{
    state.env = "demo";
}

static int all_of(const char *s, int (*ok)(unsigned char))
{
    for (; *s; s++)
        if (!ok((unsigned char)*s))
            return 0;
    return 1;
}

static int username_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '@' || c == '-';
}

static int device_id_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

static int lower_hex_char(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* 2 * n lower hex digits from the input's bytes (cycled; zeros if empty). */
static const char *hex_from(apr_pool_t *p, const char *text, size_t size, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, 2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = size ? (unsigned char)text[i % size] : 0;
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static const char *basic_header(apr_pool_t *p, const char *plain, size_t len)
{
    char *encoded = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)len));
    apr_base64_encode(encoded, plain, (int)len);
    return apr_pstrcat(p, "Basic ", encoded, NULL);
}

static void check_names(const char *text)
{
    size_t len = strlen(text);
    require((auth_username_problem(text) == NULL) ==
                (len >= 2 && len <= 48 && all_of(text, username_char)),
            "username accepted or refused against its character set", text);
    require(auth_device_id_ok(text) == (len >= 1 && len <= 128 && all_of(text, device_id_char)),
            "device id accepted or refused against its character set", text);
}

static void check_basic(apr_pool_t *p, const char *text)
{
    const char *id, *secret, *id2, *secret2, *colon = strchr(text, ':');
    size_t len = strlen(text);
    if (auth_parse_basic(p, text, &id, &secret)) {
        const char *plain = apr_pstrcat(p, id, ":", secret, NULL);
        require(strchr(id, ':') == NULL, "Basic id contains ':'", text);
        require(auth_parse_basic(p, basic_header(p, plain, strlen(plain)), &id2, &secret2) &&
                    strcmp(id, id2) == 0 && strcmp(secret, secret2) == 0,
                "Basic credentials do not round-trip", text);
    }
    /* Encoded, the input is a Basic header if it has a ':' (and fits). */
    if (colon && len <= 700) {
        require(auth_parse_basic(p, basic_header(p, text, len), &id, &secret),
                "an encoded id:secret was refused", text);
        require(strlen(id) == (size_t)(colon - text) && strncmp(id, text, strlen(id)) == 0 &&
                    strcmp(secret, colon + 1) == 0,
                "Basic did not split at the first ':'", text);
    }
}

static void check_bearer(apr_pool_t *p, const char *text)
{
    const char *token = auth_bearer_token(text);
    const char *again;
    require((token != NULL) == (strncasecmp(text, "Bearer ", 7) == 0),
            "Bearer scheme recognised wrongly", text);
    if (!token)
        return;
    require(token >= text + 7 && token <= text + strlen(text) && *token != ' ',
            "Bearer token is not the tail after the spaces", text);
    for (const char *c = text + 7; c < token; c++)
        require(*c == ' ', "Bearer skipped more than spaces", text);
    again = auth_bearer_token(apr_pstrcat(p, "Bearer ", token, NULL));
    require(again && strcmp(again, token) == 0, "Bearer token does not round-trip", text);
}

static void check_shapes(apr_pool_t *p, const char *text, size_t size)
{
    const char *sid = auth_refresh_token_sid(p, text);
    const char *built;
    if (sid)
        require(strlen(sid) == AUTH_ID_LENGTH && strncmp(sid, text, AUTH_ID_LENGTH) == 0 &&
                    strlen(text) == AUTH_ID_LENGTH + 1 + 64 && all_of(text + AUTH_ID_LENGTH + 1, lower_hex_char),
                "refresh token accepted outside its shape", text);
    built = apr_pstrcat(p, hex_from(p, text, size, AUTH_ID_LENGTH / 2), ".",
                        hex_from(p, text, size, 32), NULL);
    sid = auth_refresh_token_sid(p, built);
    require(sid && strncmp(sid, built, AUTH_ID_LENGTH) == 0, "a well-formed refresh token was refused",
            built);

    if (auth_apikey_shape(&state, text)) {
        size_t head = strncmp(text, "tb_demo_", 8) == 0 || strncmp(text, "tose_sk_", 8) == 0 ? 8 : 9;
        require((head == 8 || strncmp(text, "cbk_demo_", 9) == 0) &&
                    strlen(text) == head + AUTH_KEY_RANDOM_HEX && all_of(text + head, lower_hex_char),
                "API key accepted outside its shape", text);
    }
    for (int i = 0; i < 3; i++) {
        static const char *const heads[] = {"cbk_demo_", "tb_demo_", "tose_sk_"};
        built = apr_pstrcat(p, heads[i], hex_from(p, text, size, AUTH_KEY_RANDOM_HEX / 2), NULL);
        require(auth_apikey_shape(&state, built), "a well-formed API key was refused", built);
        require(!auth_apikey_shape(&state, apr_pstrcat(p, built, "0", NULL)),
                "an API key one digit too long was accepted", built);
        require(!auth_apikey_shape(&state, apr_pstrndup(p, built, strlen(built) - 1)),
                "an API key one digit too short was accepted", built);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    auth_password_record record;

    check_names(text);
    check_basic(p, text);
    check_bearer(p, text);
    check_shapes(p, text, size);
    if (auth_password_parse(p, text, &record))
        require(record.params.n >= 2 && record.params.n <= (1u << 20) &&
                (record.params.n & (record.params.n - 1)) == 0 && record.params.r <= 32 &&
                record.params.p <= 16, "scrypt parameters out of bounds", text);
    apr_pool_clear(iteration_pool);
    return 0;
}
