/*
 * fuzz_auth.c: libFuzzer target for the auth plugin's request and storage
 * parsers (plugins/auth/parse.c): usernames, device ids, HTTP Basic
 * credentials, refresh tokens, API-key shapes and stored password records.
 * Invariants: accepted values have the documented shape.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "auth.h"

static apr_pool_t *iteration_pool;
static auth_state state;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    apr_pool_create(&iteration_pool, NULL);
    state.env = "demo";
    return 0;
}

static void require(int condition, const char *what, const char *input)
{
    if (!condition) {
        fprintf(stderr, "fuzz_auth invariant broken: %s (input \"%s\")\n", what, input);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    const char *id, *secret, *sid;
    auth_password_record record;

    if (!auth_username_problem(text))
        require(strlen(text) >= 2 && strlen(text) <= 48, "username length", text);
    if (auth_device_id_ok(text))
        require(strlen(text) >= 1 && strlen(text) <= 128, "device id length", text);
    if (auth_parse_basic(p, text, &id, &secret))
        require(strchr(id, ':') == NULL, "Basic id contains ':'", text);
    sid = auth_refresh_token_sid(p, text);
    if (sid)
        require(strlen(sid) == AUTH_ID_LENGTH && strncmp(sid, text, AUTH_ID_LENGTH) == 0,
                "refresh token sid", text);
    if (auth_apikey_shape(&state, text))
        require(strncmp(text, "cbk_demo_", 9) == 0 && strlen(text) == 9 + AUTH_KEY_RANDOM_HEX,
                "API key shape", text);
    if (auth_password_parse(p, text, &record))
        require(record.params.n >= 2 && record.params.n <= (1u << 20) &&
                (record.params.n & (record.params.n - 1)) == 0 && record.params.r <= 32 &&
                record.params.p <= 16, "scrypt parameters out of bounds", text);
    apr_pool_clear(iteration_pool);
    return 0;
}
