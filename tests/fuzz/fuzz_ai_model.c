/*
 * fuzz_ai_model.c: libFuzzer target for the AI routes' chat bodies
 * (fn_chat_body in plugins/functions/parse.c): the body must be a JSON
 * object, and for /v1/aibot its "model" names the agent the request goes to.
 *
 * Properties, against jansson read independently here:
 *  - the body is refused as not an object exactly when it is not a JSON
 *    object (a raw NUL byte always refuses it; jansson skips one after a
 *    number);
 *  - a model is returned exactly when "model" is a string of 1 to 64 of
 *    [A-Za-z0-9_.$-] (checked here character by character), and it is
 *    that string;
 *  - the input turned into such a string and put into
 *    {"model": ..., "messages": []} comes back as the model (round trip).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "functions.h"

#define FUZZ_TARGET_NAME "fuzz_ai_model"
#include "fuzz_support.h"

static int agent_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '$' || c == '-';
}

static int agent_id_expected(const char *s)
{
    size_t len = strlen(s);
    if (len < 1 || len > 64)
        return 0;
    for (; *s; s++)
        if (!agent_char(*s))
            return 0;
    return 1;
}

/* The input's bytes mapped onto the agent id alphabet, 1 to 64 of them. */
static const char *agent_id_from(apr_pool_t *p, const uint8_t *data, size_t size)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-";
    size_t len = size ? (size > 64 ? 64 : size) : 1;
    char *out = apr_palloc(p, len + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[(size ? data[i] : 0) % (sizeof(alphabet) - 1)];
    out[len] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    const char *model = NULL, *expected_model, *built_model, *body;
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    int is_object = doc && json_is_object(doc);
    fn_chat_result plain = fn_chat_body(p, (const char *)data, size, NULL);
    fn_chat_result with_model = fn_chat_body(p, (const char *)data, size, &model);
    json_t *built;

    if (memchr(data, '\0', size)) {
        /* jansson skips a raw NUL after a number ({"a":6<NUL>}); a raw NUL
         * is never JSON, and the scanner always refuses it. */
        require(plain == FN_CHAT_NOT_OBJECT, "a body with a raw NUL was accepted", text);
        is_object = 0;
    }
    require((plain == FN_CHAT_NOT_OBJECT) == !is_object, "object check disagrees with jansson",
            text);
    require(plain == FN_CHAT_OK || plain == FN_CHAT_NOT_OBJECT, "a model refused when not asked",
            text);
    if (is_object) {
        expected_model = json_string_value(json_object_get(doc, "model"));
        if (expected_model && agent_id_expected(expected_model)) {
            require(with_model == FN_CHAT_OK && model && strcmp(model, expected_model) == 0,
                    "a valid model was not returned as it is", text);
        } else {
            require(with_model == FN_CHAT_BAD_MODEL, "an invalid model was accepted", text);
        }
    } else {
        require(with_model == FN_CHAT_NOT_OBJECT, "a non-object passed with a model", text);
    }
    json_decref(doc);

    built_model = agent_id_from(p, data, size);
    built = json_pack("{s:s, s:[]}", "model", built_model, "messages");
    body = json_dumps(built, JSON_COMPACT);
    model = NULL;
    require(fn_chat_body(p, body, strlen(body), &model) == FN_CHAT_OK && model &&
                strcmp(model, built_model) == 0,
            "a built body does not give its model back", body);
    free((void *)body);
    json_decref(built);
    apr_pool_clear(iteration_pool);
    return 0;
}
