/*
 * fuzz_auth_body.c: libFuzzer target for the auth routes' request bodies
 * (cb_body_json_object in core/request.c, behind
 * cb_req_read_json_object, over core/json.c), and the field reads the
 * handlers make from them.
 *
 * Properties:
 *  - an empty body is {}; otherwise an accepted body is a JSON object, and
 *    a refused one comes with a non-empty message;
 *  - an accepted body round-trips: dumped, parsed again and dumped, the
 *    text is the same;
 *  - the string fields the handlers read (username, password, grant_type,
 *    refresh_token, token, client_id, ...) never hold a NUL byte, so no
 *    password or token can be cut short where C strings take over;
 *  - the validators applied to those fields take any of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "auth.h"
#include "cb_core.h"
#include "cloudbase/json.h"

#define FUZZ_TARGET_NAME "fuzz_auth_body"
#include "fuzz_support.h"

static const char *const fields_read[] = {"username", "password", "grant_type", "refresh_token",
                                          "token", "client_id", "client_secret", "name",
                                          "provider_token", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    const char *problem = NULL, *key, *dumped, *string;
    cb_json *body = cb_body_json_object(p, (const char *)data, size, &problem), *value, *again;
    cb_json_iter it = {0};
    size_t len;

    if (!body) {
        require(size > 0, "an empty body was refused", text);
        require(problem && *problem, "a refused body without a message", text);
        apr_pool_clear(iteration_pool);
        return 0;
    }
    require(cb_json_is_object(body), "an accepted body is not an object", text);
    if (size == 0)
        require(cb_json_object_size(body) == 0, "an empty body is not {}", text);

    dumped = cb_json_dump(p, body);
    again = cb_json_parse(p, dumped, strlen(dumped), NULL);
    require(again && !strcmp(cb_json_dump(p, again), dumped), "the body does not round-trip",
            text);

    while (cb_json_object_next(body, &it, &key, &value))
        if ((string = cb_json_string_value(value, &len)))
            require(strlen(string) == len, "a string field holds a NUL byte", text);
    for (int i = 0; fields_read[i]; i++) {
        const char *field = cb_json_get_string(body, fields_read[i]);
        if (!field)
            continue;
        auth_username_problem(field);
        auth_refresh_token_sid(p, field);
        auth_bearer_token(field);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
