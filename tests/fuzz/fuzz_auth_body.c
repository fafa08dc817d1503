/*
 * fuzz_auth_body.c: libFuzzer target for the auth routes' request bodies
 * (auth_parse_body in plugins/auth/parse.c, over core/json.c), and the
 * field reads the handlers make from them.
 *
 * Properties:
 *  - an empty body is {}; otherwise an accepted body is a JSON object, and
 *    a refused one comes with a non-empty message;
 *  - an accepted body round-trips: dumped and parsed again, it is equal;
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
#include <jansson.h>

#include "auth.h"
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
    const char *problem = NULL, *key;
    json_t *body = auth_parse_body(p, (const char *)data, size, &problem);
    json_t *value, *again;
    char *dumped;

    if (!body) {
        require(size > 0, "an empty body was refused", text);
        require(problem && *problem, "a refused body without a message", text);
        apr_pool_clear(iteration_pool);
        return 0;
    }
    require(json_is_object(body), "an accepted body is not an object", text);
    if (size == 0)
        require(json_object_size(body) == 0, "an empty body is not {}", text);

    dumped = json_dumps(body, JSON_COMPACT);
    require(dumped != NULL, "an accepted body cannot be written back", text);
    again = json_loads(dumped, JSON_REJECT_DUPLICATES, NULL);
    require(again && json_equal(body, again), "the body does not round-trip", text);
    json_decref(again);
    free(dumped);

    json_object_foreach(body, key, value)
        if (json_is_string(value))
            require(strlen(json_string_value(value)) == json_string_length(value),
                    "a string field holds a NUL byte", text);
    for (int i = 0; fields_read[i]; i++) {
        const char *field = cb_json_string(body, fields_read[i]);
        if (!field)
            continue;
        auth_username_problem(field);
        auth_refresh_token_sid(p, field);
        auth_bearer_token(field);
    }
    json_decref(body);
    apr_pool_clear(iteration_pool);
    return 0;
}
