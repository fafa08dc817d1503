/*
 * fuzz_json_scan.c: libFuzzer target for the core's strict JSON object
 * scanner (core/json_scan.c, cloudbase/json_scan.h), against jansson.
 *
 * Differential, default options: cb_json_scan_object accepts exactly what
 * json_loadb(0) accepts as an object, except numbers too large for
 * jansson's types (valid JSON that jansson refuses) and raw NUL bytes
 * (jansson skips one after a number; a raw NUL is never JSON).
 * Differential, CB_JSON_SCAN_UNIQUE_KEYS | CB_JSON_SCAN_NUMBER_LIMITS:
 * exactly json_loadb(JSON_REJECT_DUPLICATES), raw NUL bytes aside.
 * Visitor: on an accepted text it sees each top-level member once, in
 * jansson's order, with the same key (cb_json_span_decode, cb_json_span_is),
 * type, string value and integer value (cb_json_span_int64).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cloudbase/json_scan.h"

#define FUZZ_TARGET_NAME "fuzz_json_scan"
#include "fuzz_support.h"

typedef struct {
    json_t *doc;           /* jansson's reading of the same text */
    void *iter;            /* its next member */
    const char *input;
} compare_state;

static int same_type(const cb_json_span *v, const json_t *j)
{
    switch (v->type) {
    case CB_JSON_SCAN_OBJECT: return json_is_object(j);
    case CB_JSON_SCAN_ARRAY: return json_is_array(j);
    case CB_JSON_SCAN_STRING: return json_is_string(j);
    case CB_JSON_SCAN_NUMBER: return json_is_number(j);
    case CB_JSON_SCAN_TRUE: return json_is_true(j);
    case CB_JSON_SCAN_FALSE: return json_is_false(j);
    case CB_JSON_SCAN_NULL: return json_is_null(j);
    }
    return 0;
}

/* The visitor: the member must be jansson's next one, the same in every way. */
static int compare_member(void *baton, const cb_json_span *key, const cb_json_span *value)
{
    compare_state *st = baton;
    const char *jkey;
    json_t *jvalue;
    char *decoded = apr_palloc(iteration_pool, key->len + 1);
    size_t len;
    int64_t n;
    require(st->iter != NULL, "the visitor saw more members than jansson", st->input);
    jkey = json_object_iter_key(st->iter);
    jvalue = json_object_iter_value(st->iter);
    st->iter = json_object_iter_next(st->doc, st->iter);
    len = cb_json_span_decode(key, decoded, key->len + 1);
    require(len != (size_t)-1 && len == strlen(jkey) && !memcmp(decoded, jkey, len),
            "a key decodes differently", st->input);
    require(cb_json_span_is(key, jkey), "cb_json_span_is does not match the key", st->input);
    require(same_type(value, jvalue), "a member's type differs", st->input);
    if (value->type == CB_JSON_SCAN_STRING) {
        char *text = apr_palloc(iteration_pool, value->len + 1);
        len = cb_json_span_decode(value, text, value->len + 1);
        require(len == json_string_length(jvalue) && !memcmp(text, json_string_value(jvalue), len),
                "a string value decodes differently", st->input);
        if (len > 0)
            require(cb_json_span_decode(value, text, len) == (size_t)-1,
                    "a string decoded into too small a buffer", st->input);
    }
    if (value->type == CB_JSON_SCAN_NUMBER)
        require(cb_json_span_int64(value, &n) == json_is_integer(jvalue)
                    && (!json_is_integer(jvalue) || n == (int64_t)json_integer_value(jvalue)),
                "an integer reads differently", st->input);
    return 0;
}

static void check_default(const char *data, size_t size, const char *text, int has_nul)
{
    json_error_t error;
    json_t *doc = json_loadb(data, size, 0, &error);
    int jansson_says = doc && json_is_object(doc);
    int ours = cb_json_scan_object(data, size, NULL);
    json_decref(doc);
    if (has_nul) {
        require(!ours, "the scanner accepts a raw NUL", text);
        return;
    }
    if (ours && !jansson_says && (strstr(error.text, "too big") || strstr(error.text, "overflow")))
        return; /* a number jansson cannot hold: still valid JSON */
    require(ours == jansson_says, ours ? "the scanner accepts what jansson refuses"
                                       : "the scanner refuses what jansson accepts", text);
}

static void check_strict(const char *data, size_t size, const char *text, int has_nul)
{
    json_t *doc = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
    int jansson_says = doc && json_is_object(doc);
    compare_state st = {doc, jansson_says ? json_object_iter(doc) : NULL, text};
    cb_json_scan_options options = {
        .flags = CB_JSON_SCAN_UNIQUE_KEYS | CB_JSON_SCAN_NUMBER_LIMITS,
        .on_member = jansson_says && !has_nul ? compare_member : NULL,
        .baton = &st,
        .pool = iteration_pool,
    };
    int ours = cb_json_scan_object(data, size, &options);
    if (has_nul)
        require(!ours, "the strict scanner accepts a raw NUL", text);
    else {
        require(ours == jansson_says, ours ? "the strict scanner accepts what jansson refuses"
                                           : "the strict scanner refuses what jansson accepts",
                text);
        if (ours)
            require(st.iter == NULL, "the visitor saw fewer members than jansson", text);
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    int has_nul = memchr(data, '\0', size) != NULL;
    check_default((const char *)data, size, text, has_nul);
    check_strict((const char *)data, size, text, has_nul);
    apr_pool_clear(iteration_pool);
    return 0;
}
