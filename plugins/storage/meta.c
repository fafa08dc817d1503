/*
 * meta.c: object metadata of the storage plugin in the database service
 * (owner, type, size, ETag, created), one row per object, keyed by the
 * SHA-256 of env, bucket and path (which also names the local file). A
 * row with size -1 is pending: its upload was signed (the owner is
 * recorded then) but no object arrived yet.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/db.h"
#include "storage.h"

/* (env, hash) as the key: usage sums per environment read its prefix. */
const cb_db_migration st_migrations[] = {
    {.number = 1,
     .sql = "CREATE TABLE cb_storage_objects ("
            "env VARCHAR(64) NOT NULL, hash CHAR(64) NOT NULL, "
            "bucket VARCHAR(64) NOT NULL, path VARCHAR(1024) NOT NULL, owner VARCHAR(256), "
            "content_type VARCHAR(256), size BIGINT NOT NULL, etag VARCHAR(80), "
            "created BIGINT NOT NULL, PRIMARY KEY (env, hash))"},
    {0, NULL}
};

const char *st_object_hash(apr_pool_t *p, const char *env, const char *bucket, const char *path)
{
    const char *text = apr_pstrcat(p, env, "\n", bucket, "\n", path, NULL);
    return cb_sha256_hex(p, text, strlen(text));
}

apr_status_t st_meta_get(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                         const char *path, st_meta *out)
{
    const char *args[] = {st_object_hash(p, env, bucket, path)};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(db, p,
                                   "SELECT owner, content_type, size, etag, created "
                                   "FROM cb_storage_objects WHERE hash = ?",
                                   1, args, &res);
    memset(out, 0, sizeof(*out));
    out->size = -1;
    if (rv != APR_SUCCESS || res->rows == 0)
        return rv;
    out->exists = 1;
    out->owner = cb_db_text(res, 0, 0);
    out->type = cb_db_text(res, 0, 1);
    if (cb_db_int64(res, 0, 2, &out->size) != APR_SUCCESS)
        out->size = -1;
    out->etag = cb_db_text(res, 0, 3);
    if (cb_db_int64(res, 0, 4, &out->created) != APR_SUCCESS)
        out->created = 0;
    return APR_SUCCESS;
}

static const char *now_text(apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (int64_t)apr_time_sec(apr_time_now()));
}

apr_status_t st_meta_claim(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                           const char *path, const char *owner)
{
    const char *args[] = {st_object_hash(p, env, bucket, path), env, bucket, path, owner,
                          now_text(p)};
    st_meta m;
    apr_status_t rv = st_meta_get(db, p, env, bucket, path, &m);
    if (rv != APR_SUCCESS || m.exists)
        return rv;
    rv = cb_db_exec(db, p,
                    "INSERT INTO cb_storage_objects (hash, env, bucket, path, owner, size, created) "
                    "VALUES (?, ?, ?, ?, ?, -1, ?)",
                    6, args, NULL);
    /* Another request claimed it at the same moment: its row stands. */
    return rv == CB_DB_ESQL ? APR_SUCCESS : rv;
}

apr_status_t st_meta_complete(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                              const char *path, const char *owner, const char *type,
                              int64_t size, const char *etag)
{
    const char *hash = st_object_hash(p, env, bucket, path);
    const char *size_text = apr_psprintf(p, "%" APR_INT64_T_FMT, size), *now = now_text(p);
    const char *update[] = {type, size_text, etag, now, hash};
    const char *insert[] = {hash, env, bucket, path, owner, type, size_text, etag, now};
    int affected = 0;
    apr_status_t rv = cb_db_exec(db, p,
                                 "UPDATE cb_storage_objects SET content_type = ?, size = ?, "
                                 "etag = ?, created = ? WHERE hash = ?",
                                 5, update, &affected);
    if (rv != APR_SUCCESS || affected > 0)
        return rv;
    rv = cb_db_exec(db, p,
                    "INSERT INTO cb_storage_objects (hash, env, bucket, path, owner, "
                    "content_type, size, etag, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    9, insert, NULL);
    if (rv == CB_DB_ESQL)   /* inserted meanwhile: update that row */
        rv = cb_db_exec(db, p,
                        "UPDATE cb_storage_objects SET content_type = ?, size = ?, etag = ?, "
                        "created = ? WHERE hash = ?",
                        5, update, NULL);
    return rv;
}

apr_status_t st_meta_delete(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                            const char *path)
{
    const char *args[] = {st_object_hash(p, env, bucket, path)};
    return cb_db_exec(db, p, "DELETE FROM cb_storage_objects WHERE hash = ?", 1, args, NULL);
}

apr_status_t st_meta_usage(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                           int64_t *out)
{
    const char *args[] = {env, bucket};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(db, p,
                                   bucket ? "SELECT COALESCE(SUM(size), 0) FROM cb_storage_objects "
                                            "WHERE env = ? AND bucket = ? AND size >= 0"
                                          : "SELECT COALESCE(SUM(size), 0) FROM cb_storage_objects "
                                            "WHERE env = ? AND size >= 0",
                                   bucket ? 2 : 1, args, &res);
    *out = 0;
    if (rv != APR_SUCCESS)
        return rv;
    if (res->rows > 0 && cb_db_int64(res, 0, 0, out) != APR_SUCCESS)
        *out = 0;
    return APR_SUCCESS;
}
