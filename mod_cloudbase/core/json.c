/*
 * json.c: the opaque, pool-owned JSON values of cloudbase/json.h, kept in
 * jansson (a cb_json is a json_t). Each value the API creates or parses
 * holds one reference that a cleanup on its pool drops; containers take
 * their own references. Parse errors are worded for the client, never in
 * jansson's terms.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "cloudbase/json.h"

#define J(value) ((json_t *)(value))

static apr_status_t decref_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* Gives the new value's reference to p; NULL stays NULL. */
static cb_json *pool_owned(apr_pool_t *p, json_t *value)
{
    if (value)
        apr_pool_cleanup_register(p, value, decref_cleanup, apr_pool_cleanup_null);
    return (cb_json *)value;
}

/* ---- text ---- */

const char *cb_json_dump(apr_pool_t *p, const cb_json *value)
{
    char *text = value ? json_dumps(J(value), JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    const char *out;
    if (!text)
        return "null";
    out = apr_pstrdup(p, text);
    free(text);
    return out;
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

cb_json *cb_json_parse(apr_pool_t *p, const char *data, size_t len, const char **error)
{
    json_error_t err;
    json_t *value;
    if (len > CB_JSON_MAX_TEXT) {
        if (error)
            *error = apr_psprintf(p, "the body is not valid JSON: it is larger than %d bytes",
                                  CB_JSON_MAX_TEXT);
        return NULL;
    }
    value = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!value) {
        if (error)
            *error = apr_psprintf(p, "the body is not valid JSON (line %d, column %d): %s",
                                  err.line, err.column, parse_problem(&err));
        return NULL;
    }
    return pool_owned(p, value);
}

/* ---- new values ---- */

cb_json *cb_json_new_object(apr_pool_t *p) { return pool_owned(p, json_object()); }
cb_json *cb_json_new_array(apr_pool_t *p) { return pool_owned(p, json_array()); }
cb_json *cb_json_new_int(apr_pool_t *p, int64_t value)
{
    return pool_owned(p, json_integer((json_int_t)value));
}
cb_json *cb_json_new_real(apr_pool_t *p, double value) { return pool_owned(p, json_real(value)); }
cb_json *cb_json_new_bool(apr_pool_t *p, int value) { return pool_owned(p, json_boolean(value)); }
cb_json *cb_json_new_null(apr_pool_t *p) { return pool_owned(p, json_null()); }
cb_json *cb_json_new_string(apr_pool_t *p, const char *s)
{
    return pool_owned(p, s ? json_string(s) : json_null());
}

/* ---- types and scalar values ---- */

cb_json_type cb_json_typeof(const cb_json *value)
{
    if (!value)
        return CB_JSON_ABSENT;
    switch (json_typeof(J(value))) {
    case JSON_OBJECT: return CB_JSON_OBJECT;
    case JSON_ARRAY: return CB_JSON_ARRAY;
    case JSON_STRING: return CB_JSON_STRING;
    case JSON_INTEGER: return CB_JSON_INTEGER;
    case JSON_REAL: return CB_JSON_REAL;
    case JSON_TRUE: case JSON_FALSE: return CB_JSON_BOOL;
    default: return CB_JSON_NULL;
    }
}

int cb_json_is_object(const cb_json *value) { return json_is_object(J(value)); }
int cb_json_is_array(const cb_json *value) { return json_is_array(J(value)); }
int cb_json_is_string(const cb_json *value) { return json_is_string(J(value)); }

const char *cb_json_string_value(const cb_json *value, size_t *len)
{
    if (!json_is_string(J(value)))
        return NULL;
    if (len)
        *len = json_string_length(J(value));
    return json_string_value(J(value));
}

int cb_json_int_value(const cb_json *value, int64_t *out)
{
    if (!json_is_integer(J(value)))
        return 0;
    *out = (int64_t)json_integer_value(J(value));
    return 1;
}

int cb_json_number_value(const cb_json *value, double *out)
{
    if (!json_is_number(J(value)))
        return 0;
    *out = json_number_value(J(value));
    return 1;
}

int cb_json_bool_value(const cb_json *value, int *out)
{
    if (!json_is_boolean(J(value)))
        return 0;
    *out = json_is_true(J(value));
    return 1;
}

/* ---- objects ---- */

cb_json *cb_json_get(const cb_json *object, const char *key)
{
    return json_is_object(J(object)) && key ? (cb_json *)json_object_get(J(object), key) : NULL;
}

const char *cb_json_get_string(const cb_json *object, const char *key)
{
    return cb_json_string_value(cb_json_get(object, key), NULL);
}

int cb_json_get_int(const cb_json *object, const char *key, int64_t *out)
{
    return cb_json_int_value(cb_json_get(object, key), out);
}

size_t cb_json_object_size(const cb_json *object)
{
    return json_is_object(J(object)) ? json_object_size(J(object)) : 0;
}

int cb_json_set(cb_json *object, const char *key, cb_json *value)
{
    if (!json_is_object(J(object)) || !key || !value)
        return -1;
    return json_object_set(J(object), key, J(value)) == 0 ? 0 : -1;
}

/* Sets a member to a value made here (NULL when it could not be made). */
static int set_new(cb_json *object, const char *key, json_t *value)
{
    if (!json_is_object(J(object)) || !key || !value) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(J(object), key, value) == 0 ? 0 : -1;
}

int cb_json_set_string(cb_json *object, const char *key, const char *value)
{
    return set_new(object, key, value ? json_string(value) : json_null());
}
int cb_json_set_int(cb_json *object, const char *key, int64_t value)
{
    return set_new(object, key, json_integer((json_int_t)value));
}
int cb_json_set_bool(cb_json *object, const char *key, int value)
{
    return set_new(object, key, json_boolean(value));
}
int cb_json_set_real(cb_json *object, const char *key, double value)
{
    return set_new(object, key, json_real(value));
}
int cb_json_set_null(cb_json *object, const char *key)
{
    return set_new(object, key, json_null());
}

int cb_json_object_next(const cb_json *object, cb_json_iter *it, const char **key,
                        cb_json **value)
{
    if (!json_is_object(J(object)))
        return 0;
    it->position = it->started ? json_object_iter_next(J(object), it->position)
                               : json_object_iter(J(object));
    it->started = 1;
    if (!it->position)
        return 0;
    if (key)
        *key = json_object_iter_key(it->position);
    if (value)
        *value = (cb_json *)json_object_iter_value(it->position);
    return 1;
}

/* ---- arrays ---- */

size_t cb_json_array_size(const cb_json *array)
{
    return json_is_array(J(array)) ? json_array_size(J(array)) : 0;
}

cb_json *cb_json_array_get(const cb_json *array, size_t i)
{
    return json_is_array(J(array)) ? (cb_json *)json_array_get(J(array), i) : NULL;
}

/* Appends a value made here (NULL when it could not be made). */
static int append_new(cb_json *array, json_t *value)
{
    if (!json_is_array(J(array)) || !value) {
        json_decref(value);
        return -1;
    }
    return json_array_append_new(J(array), value) == 0 ? 0 : -1;
}

int cb_json_append(cb_json *array, cb_json *value)
{
    if (!json_is_array(J(array)) || !value)
        return -1;
    return json_array_append(J(array), J(value)) == 0 ? 0 : -1;
}
int cb_json_append_string(cb_json *array, const char *value)
{
    return append_new(array, value ? json_string(value) : json_null());
}
int cb_json_append_int(cb_json *array, int64_t value)
{
    return append_new(array, json_integer((json_int_t)value));
}
