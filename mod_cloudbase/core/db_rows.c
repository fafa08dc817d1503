/*
 * db_rows.c: typed access to a cb_db_result (text, NULL, 64-bit integers,
 * columns by name). Values are the drivers' text forms.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cloudbase/db.h"

static const char *cell(const cb_db_result *res, int r, int c)
{
    if (!res || r < 0 || c < 0 || r >= res->rows || c >= res->columns)
        return NULL;
    return res->cells[(apr_size_t)r * (apr_size_t)res->columns + (apr_size_t)c];
}

int cb_db_is_null(const cb_db_result *res, int r, int c) { return cell(res, r, c) == NULL; }
const char *cb_db_text(const cb_db_result *res, int r, int c) { return cell(res, r, c); }

apr_status_t cb_db_int64(const cb_db_result *res, int r, int c, int64_t *out)
{
    const char *v = cell(res, r, c);
    char *end;
    long long n;
    if (!v)
        return APR_ENOENT;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (end == v || *end || errno)
        return APR_EINVAL;
    *out = (int64_t)n;
    return APR_SUCCESS;
}

int cb_db_column(const cb_db_result *res, const char *name)
{
    for (int c = 0; res && c < res->columns; c++)
        if (strcmp(res->names[c], name) == 0)
            return c;
    return -1;
}
