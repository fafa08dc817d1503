/*
 * json.h: small helpers over jansson that tie JSON values to APR pools.
 */
#ifndef CLOUDBASE_JSON_H
#define CLOUDBASE_JSON_H

#include "cloudbase/export.h"

#include <stddef.h>
#include <apr_pools.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compact serialisation, allocated from p. Never NULL for a valid value. */
CB_API const char *cb_json_dump(apr_pool_t *p, const json_t *value);
/* Parses data; the value is released when p is cleared. On failure returns
 * NULL and, when error is given, a message for the client naming line,
 * column and the problem in plain words (no parser internals). */
CB_API json_t *cb_json_parse(apr_pool_t *p, const char *data, size_t len, const char **error);
/* The string member key of object, or NULL. */
CB_API const char *cb_json_string(const json_t *object, const char *key);

#ifdef __cplusplus
}
#endif
#endif
