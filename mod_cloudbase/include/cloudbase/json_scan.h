/*
 * json_scan.h: one strict RFC 8259 reader that allocates nothing, for the
 * places where building a JSON tree (cloudbase/json.h) costs too much: is a
 * request body a JSON object, which claims does a JWT payload hold.
 *
 * cb_json_scan_object checks that a text is exactly one JSON object, with
 * optional whitespace around it, and calls a visitor for each member of
 * that top-level object with the member's key and value as spans of the
 * text. By default it accepts exactly what jansson's json_loadb accepts as
 * an object (UTF-8 checked, raw control characters, bad escapes, \u0000 and
 * lone surrogates refused, nesting up to CB_JSON_SCAN_MAX_DEPTH), except
 * numbers too large for jansson's types, which are valid JSON; with
 * CB_JSON_SCAN_NUMBER_LIMITS it refuses those too, and with
 * CB_JSON_SCAN_UNIQUE_KEYS an object that has a key twice at any level
 * (keys compared after decoding escapes), which is json_loadb with
 * JSON_REJECT_DUPLICATES.
 *
 * Example: read "model" out of a body, without allocating.
 *
 *   static int find_model(void *baton, const cb_json_span *key, const cb_json_span *value)
 *   {
 *       if (cb_json_span_is(key, "model") && value->type == CB_JSON_SCAN_STRING)
 *           *(cb_json_span *)baton = *value;
 *       return 0;
 *   }
 *   ...
 *   cb_json_span model = {0};
 *   cb_json_scan_options o = {.on_member = find_model, .baton = &model};
 *   char name[64];
 *   if (cb_json_scan_object(body, len, &o) && model.text
 *       && cb_json_span_decode(&model, name, sizeof(name)) != (size_t)-1)
 *       ... name is the model, NUL-terminated ...
 */
#ifndef CLOUDBASE_JSON_SCAN_H
#define CLOUDBASE_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of objects and arrays accepted by default (jansson's
 * JSON_PARSER_MAX_DEPTH); the top-level object is level 1. */
#define CB_JSON_SCAN_MAX_DEPTH 2048

/* Refuse an object that has the same key twice, at any level. */
#define CB_JSON_SCAN_UNIQUE_KEYS 0x1u
/* Refuse integers outside int64 and reals whose value overflows a double,
 * as jansson does. Without it any RFC 8259 number is accepted. */
#define CB_JSON_SCAN_NUMBER_LIMITS 0x2u

typedef enum {
    CB_JSON_SCAN_OBJECT,
    CB_JSON_SCAN_ARRAY,
    CB_JSON_SCAN_STRING,
    CB_JSON_SCAN_NUMBER,
    CB_JSON_SCAN_TRUE,
    CB_JSON_SCAN_FALSE,
    CB_JSON_SCAN_NULL
} cb_json_scan_type;

/* A key or value inside the scanned text (which must outlive it). For a
 * string, text..text+len is what lies between the quotes, escapes
 * undecoded, and escaped says whether it holds a backslash (only then
 * does it differ from the string's value). For anything else it is the
 * whole value: a number's digits, an object from '{' to '}'. */
typedef struct cb_json_span {
    const char *text;
    size_t len;
    cb_json_scan_type type;
    int escaped;
} cb_json_span;

/* Called for each member of the top-level object, in the order of the
 * text, once its value has been checked. A non-zero return stops the scan,
 * which then refuses the text. A later part of the text may still be
 * invalid: act on what was seen only once cb_json_scan_object returned 1. */
typedef int (*cb_json_member_fn)(void *baton, const cb_json_span *key, const cb_json_span *value);

typedef struct cb_json_scan_options {
    unsigned flags;              /* CB_JSON_SCAN_UNIQUE_KEYS | CB_JSON_SCAN_NUMBER_LIMITS */
    unsigned max_depth;          /* 0: CB_JSON_SCAN_MAX_DEPTH */
    cb_json_member_fn on_member; /* may be NULL */
    void *baton;                 /* passed to on_member */
    /* With CB_JSON_SCAN_UNIQUE_KEYS the keys of the open objects are kept
     * on the stack; past CB_JSON_SCAN_INLINE_KEYS of them they move to this
     * pool, and without a pool such a text is refused. */
    apr_pool_t *pool;
} cb_json_scan_options;

#define CB_JSON_SCAN_INLINE_KEYS 64

/* 1 when text[0..len) is one JSON object (no NUL needed after it), 0 when
 * it is not or the visitor stopped the scan. options may be NULL: check
 * only, with the defaults. */
CB_API int cb_json_scan_object(const char *text, size_t len, const cb_json_scan_options *options);

/* The value of a string span, NUL-terminated, into buf of size bytes
 * (span->len + 1 always suffice: decoding never lengthens). Returns its
 * length, or (size_t)-1 when the span is not a string or buf is too
 * small. The span must come from an accepted scan. */
CB_API size_t cb_json_span_decode(const cb_json_span *string, char *buf, size_t size);

/* 1 when the string span's value is exactly text (a C string), escapes
 * decoded; 0 otherwise or when the span is not a string. */
CB_API int cb_json_span_is(const cb_json_span *string, const char *text);

/* 1 when the span is a number with neither fraction nor exponent that fits
 * int64, with *out its value; 0 otherwise. */
CB_API int cb_json_span_int64(const cb_json_span *number, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
