/*
 * json.h: JSON values for plugins, owned by APR pools. A cb_json is opaque
 * (the core keeps it in jansson, which no public header names).
 *
 * Ownership: every value a function here creates or parses belongs to the
 * pool it was given and is released when that pool is cleared; a plugin
 * never frees one. Putting a value into an object or array shares it (the
 * container keeps it alive as long as it needs it, across pools too), so
 * a value put in two places and then changed changes in both. A value read
 * out of a container (cb_json_get, cb_json_array_get, cb_json_object_next)
 * is borrowed: it lives as long as its container.
 *
 * Reading never needs a type check first: getters given NULL or a value of
 * another type answer NULL / 0, so cb_json_get_string(body, "name") is the
 * whole test for "name is a string".
 *
 * Example: read {"name": "...", "tags": [...]} and answer an object.
 *
 *   const char *err;
 *   cb_json *body = cb_json_parse(p, data, len, &err), *answer, *tags;
 *   const char *name = cb_json_get_string(body, "name");
 *   if (!name)
 *       return cb_req_send_error(req, 400, "INVALID_PARAM", err ? err : "name is required");
 *   answer = cb_json_new_object(p);
 *   cb_json_set_string(answer, "name", name);
 *   cb_json_set_int(answer, "tags", (int64_t)cb_json_array_size(cb_json_get(body, "tags")));
 *   return cb_req_send_json(req, 200, cb_json_dump(p, answer));
 *
 * For a request body use cb_req_read_json_object (cloudbase.h), which caps
 * its size and answers 413 / 400 itself. To only check or skim JSON
 * without building values, see json_scan.h.
 */
#ifndef CLOUDBASE_JSON_H
#define CLOUDBASE_JSON_H

#include "cloudbase/export.h"

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_json cb_json;

typedef enum {
    CB_JSON_ABSENT,   /* no value: NULL, e.g. a missing member */
    CB_JSON_OBJECT,
    CB_JSON_ARRAY,
    CB_JSON_STRING,
    CB_JSON_INTEGER,  /* a number without fraction or exponent, in int64 */
    CB_JSON_REAL,
    CB_JSON_BOOL,
    CB_JSON_NULL
} cb_json_type;

/* Texts longer than this are refused by cb_json_parse. */
#define CB_JSON_MAX_TEXT (64 * 1024 * 1024)

/* ---- text ---- */

/* Parses len bytes of JSON text (no NUL needed): one object or array,
 * strictly (UTF-8 checked, no \u0000, no key twice in an object, numbers
 * within int64 / double, nesting up to 2048, at most CB_JSON_MAX_TEXT
 * bytes). On failure returns NULL and, when error is given, a message for
 * the client naming line, column and the problem in plain words. */
CB_API cb_json *cb_json_parse(apr_pool_t *p, const char *data, size_t len, const char **error);
/* Compact text of value (members in the order they were set), from p;
 * "null" for NULL. */
CB_API const char *cb_json_dump(apr_pool_t *p, const cb_json *value);

/* ---- new values, owned by p ---- */

CB_API cb_json *cb_json_new_object(apr_pool_t *p);
CB_API cb_json *cb_json_new_array(apr_pool_t *p);
/* JSON null when s is NULL; NULL when s is not valid UTF-8. */
CB_API cb_json *cb_json_new_string(apr_pool_t *p, const char *s);
CB_API cb_json *cb_json_new_int(apr_pool_t *p, int64_t value);
CB_API cb_json *cb_json_new_real(apr_pool_t *p, double value);
CB_API cb_json *cb_json_new_bool(apr_pool_t *p, int value);
CB_API cb_json *cb_json_new_null(apr_pool_t *p);

/* ---- types and scalar values ---- */

CB_API cb_json_type cb_json_typeof(const cb_json *value);
CB_API int cb_json_is_object(const cb_json *value);
CB_API int cb_json_is_array(const cb_json *value);
CB_API int cb_json_is_string(const cb_json *value);
/* A string's text (NUL-terminated; *len, when given, its length: a string
 * may hold no NUL since cb_json_parse refuses \u0000), or NULL. */
CB_API const char *cb_json_string_value(const cb_json *value, size_t *len);
/* 1 and *out for an integer, else 0. */
CB_API int cb_json_int_value(const cb_json *value, int64_t *out);
/* 1 and *out for an integer or a real, else 0. */
CB_API int cb_json_number_value(const cb_json *value, double *out);
/* 1 and *out (0 or 1) for true or false, else 0. */
CB_API int cb_json_bool_value(const cb_json *value, int *out);

/* ---- objects ---- */

/* The member key of object, or NULL (absent, or object is not one). */
CB_API cb_json *cb_json_get(const cb_json *object, const char *key);
/* The member key when it is a string, else NULL. */
CB_API const char *cb_json_get_string(const cb_json *object, const char *key);
/* 1 and *out when the member key is an integer, else 0. */
CB_API int cb_json_get_int(const cb_json *object, const char *key, int64_t *out);
/* Members of an object (0 for anything else). */
CB_API size_t cb_json_object_size(const cb_json *object);

/* Setters add or replace the member key. cb_json_set_string with a NULL
 * string sets null. They return 0, or -1 when object is not an object,
 * key or (cb_json_set) value is NULL, or a string is not valid UTF-8 (then
 * the object is unchanged). */
CB_API int cb_json_set(cb_json *object, const char *key, cb_json *value);
CB_API int cb_json_set_string(cb_json *object, const char *key, const char *value);
CB_API int cb_json_set_int(cb_json *object, const char *key, int64_t value);
CB_API int cb_json_set_bool(cb_json *object, const char *key, int value);
CB_API int cb_json_set_real(cb_json *object, const char *key, double value);
CB_API int cb_json_set_null(cb_json *object, const char *key);

/* Walks an object's members in order:
 *   cb_json_iter it = {0};
 *   while (cb_json_object_next(object, &it, &key, &value)) ...
 * The object must not change during the walk. */
typedef struct cb_json_iter {
    void *position;
    int started;
} cb_json_iter;
CB_API int cb_json_object_next(const cb_json *object, cb_json_iter *it, const char **key,
                               cb_json **value);

/* ---- arrays ---- */

/* Elements of an array (0 for anything else). */
CB_API size_t cb_json_array_size(const cb_json *array);
/* Element i, or NULL past the end or when array is not one. */
CB_API cb_json *cb_json_array_get(const cb_json *array, size_t i);
/* Append to an array (a NULL string appends null): 0, or -1 as for the
 * setters. */
CB_API int cb_json_append(cb_json *array, cb_json *value);
CB_API int cb_json_append_string(cb_json *array, const char *value);
CB_API int cb_json_append_int(cb_json *array, int64_t value);

#ifdef __cplusplus
}
#endif
#endif
