/*
 * s3_list.c: ListObjectsV2 over the storage plugin's metadata rows. Keys
 * come in byte order (S3's order: the column compared as bytes on every
 * driver), read in batches from a lower bound; keys that share a common
 * prefix (up to the delimiter) become one CommonPrefixes entry, and the
 * scan jumps past them. A page holds at most max-keys keys and prefixes;
 * its continuation token names where it ended.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/db.h"
#include "s3.h"

#define BATCH 256

/* The path column as bytes, per driver (PostgreSQL and MySQL would sort
 * by their collation otherwise). */
static const char *path_expr(cb_db *db)
{
    const char *driver = cb_db_driver(db);
    if (driver && !strcmp(driver, "pgsql"))
        return "path COLLATE \"C\"";
    if (driver && !strcmp(driver, "mysql"))
        return "BINARY path";
    return "path";
}

static apr_status_t select_batch(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                                 const char *owner, const char *bound, int inclusive,
                                 cb_db_result **res)
{
    const char *col = path_expr(db);
    const char *args[] = {env, bucket, bound, owner};
    const char *sql = apr_psprintf(p,
                                   "SELECT path, size, etag, created FROM cb_storage_objects "
                                   "WHERE env = ? AND bucket = ? AND size >= 0 AND %s %s ?%s "
                                   "ORDER BY %s LIMIT %d",
                                   col, inclusive ? ">=" : ">", owner ? " AND owner = ?" : "",
                                   col, BATCH);
    return cb_db_select(db, p, sql, owner ? 4 : 3, args, res);
}

/* The least string above every string that starts with prefix, when its
 * last byte is ASCII (so the bound stays valid text); else NULL. */
static const char *past_prefix(apr_pool_t *p, const char *prefix)
{
    size_t len = strlen(prefix);
    char *out;
    if (!len || (unsigned char)prefix[len - 1] >= 0x7f)
        return NULL;
    out = apr_pstrdup(p, prefix);
    out[len - 1]++;
    return out;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

apr_status_t st_s3_list(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                        const char *owner, const st_s3_list_query *q, st_s3_list_page *page)
{
    size_t plen = strlen(q->prefix);
    const char *bound = q->prefix, *skip = q->skip_prefix, *last = NULL, *jump;
    int inclusive = 1, last_is_prefix = 0, count = 0, done = 0;
    memset(page, 0, sizeof(*page));
    page->bucket = bucket;
    page->contents = apr_array_make(p, 16, sizeof(st_s3_entry));
    page->common_prefixes = apr_array_make(p, 4, sizeof(const char *));
    if (q->max_keys == 0)
        return APR_SUCCESS;
    if (q->after && strcmp(q->after, bound) >= 0) {
        bound = q->after;
        inclusive = 0;
    }
    if (skip && (jump = past_prefix(p, skip)) && strcmp(jump, bound) > 0) {
        bound = jump;
        inclusive = 1;
    }
    while (!done) {
        cb_db_result *res;
        int requery = 0;
        apr_status_t rv = select_batch(db, p, env, bucket, owner, bound, inclusive, &res);
        if (rv != APR_SUCCESS)
            return rv;
        for (int r = 0; r < res->rows && !done && !requery; r++) {
            const char *path = cb_db_text(res, r, 0), *cp = NULL, *d;
            if (!path)
                continue;
            bound = path;
            inclusive = 0;
            if (!starts_with(path, q->prefix)) {
                done = 1;   /* in byte order, past every key with the prefix */
                break;
            }
            if (skip && starts_with(path, skip))
                continue;
            if (q->delimiter && (d = strstr(path + plen, q->delimiter)))
                cp = apr_pstrndup(p, path, (apr_size_t)(d - path) + strlen(q->delimiter));
            if (count == q->max_keys) {
                page->truncated = 1;
                done = 1;
                break;
            }
            count++;
            last_is_prefix = cp != NULL;
            if (cp) {
                APR_ARRAY_PUSH(page->common_prefixes, const char *) = cp;
                last = skip = cp;
                if ((jump = past_prefix(p, cp))) {
                    bound = jump;
                    inclusive = 1;
                    requery = 1;
                }
                continue;
            }
            st_s3_entry *e = apr_array_push(page->contents);
            last = e->key = path;
            if (cb_db_int64(res, r, 1, &e->size) != APR_SUCCESS)
                e->size = 0;
            e->etag = cb_db_text(res, r, 2);
            if (cb_db_int64(res, r, 3, &e->modified) != APR_SUCCESS)
                e->modified = 0;
        }
        if (!requery && res->rows < BATCH)
            done = 1;
    }
    if (page->truncated && last)
        page->next_token = st_s3_continuation_token(p, last, last_is_prefix);
    return APR_SUCCESS;
}
