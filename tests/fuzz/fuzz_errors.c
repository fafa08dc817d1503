/*
 * fuzz_errors.c: libFuzzer target for the request-id check and the error
 * renderers. The input is offered as a client's X-Request-Id (kept only when
 * sane, else replaced by 32 fresh hex digits) and as the code, message and
 * request id of an error body in every dialect, which must always be valid
 * JSON whatever bytes it carries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cb_core.h"

static apr_pool_t *iteration_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    apr_pool_create(&iteration_pool, NULL);
    return 0;
}

static void require(int condition, const char *what, const char *input)
{
    if (!condition) {
        fprintf(stderr, "invariant broken: %s (input \"%s\")\n", what, input);
        abort();
    }
}

static int is_lower_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    const char *id = cb_request_id(iteration_pool, text);
    static const cb_dialect dialects[] = {CB_DIALECT_CLOUDBASE, CB_DIALECT_OAUTH,
                                          CB_DIALECT_TOSE, CB_DIALECT_TESTBASE};

    if (cb_request_id_is_sane(text))
        require(strcmp(id, text) == 0, "a sane id was not kept", text);
    else
        require(is_lower_hex(id, 32), "a refused id was not replaced by 32 hex", text);
    require(strpbrk(id, "\r\n\"<>") == NULL, "request id carries unsafe characters", text);

    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++) {
        const char *body = cb_error_body(iteration_pool, dialects[i], 400, text, text, text);
        json_t *parsed = json_loads(body, 0, NULL);
        require(parsed != NULL, "error body is not JSON", text);
        json_decref(parsed);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
