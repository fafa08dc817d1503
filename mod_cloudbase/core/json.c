/*
 * json.c: jansson helpers bound to APR pools (see cloudbase/json.h). Parse
 * errors are worded for the client, never in jansson's terms.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/json.h"

const char *cb_json_dump(apr_pool_t *p, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *out;
    if (!text)
        return "null";
    out = apr_pstrdup(p, text);
    free(text);
    return out;
}

static apr_status_t decref_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* What went wrong, in the client's words: jansson's own text names its
 * flags and internals (JSON_ALLOW_NUL, "'[' or '{' expected"). */
static const char *parse_problem(const json_error_t *err)
{
    switch (json_error_code(err)) {
    case json_error_invalid_utf8: return "the text is not valid UTF-8";
    case json_error_premature_end_of_input: return "the text ends too early";
    case json_error_end_of_input_expected: return "there is more text after the JSON value";
    case json_error_null_character: return "a string contains a NUL character (\\u0000)";
    case json_error_null_byte_in_key: return "a key contains a NUL character (\\u0000)";
    case json_error_duplicate_key: return "an object has the same key twice";
    case json_error_numeric_overflow: return "a number is too large";
    case json_error_stack_overflow: return "the value is nested too deeply";
    case json_error_out_of_memory: return "the value is too large";
    default: return "unexpected text";
    }
}

json_t *cb_json_parse(apr_pool_t *p, const char *data, size_t len, const char **error)
{
    json_error_t err;
    json_t *value = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!value) {
        if (error)
            *error = apr_psprintf(p, "the body is not valid JSON (line %d, column %d): %s",
                                  err.line, err.column, parse_problem(&err));
        return NULL;
    }
    apr_pool_cleanup_register(p, value, decref_cleanup, apr_pool_cleanup_null);
    return value;
}

const char *cb_json_string(const json_t *object, const char *key)
{
    const json_t *v = json_object_get(object, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
