/*
 * json.c: jansson helpers bound to APR pools (see cloudbase/json.h).
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

json_t *cb_json_parse(apr_pool_t *p, const char *data, size_t len, const char **error)
{
    json_error_t err;
    json_t *value = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!value) {
        if (error)
            *error = apr_psprintf(p, "invalid JSON at line %d column %d: %s",
                                  err.line, err.column, err.text);
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
