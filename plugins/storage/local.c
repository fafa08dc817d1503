/*
 * local.c: files of the local backend. An object lives at
 * {dir}/{hash[0..1]}/{hash} (hash: st_object_hash), so a path never
 * reaches the filesystem and two objects never collide. Every write goes
 * to a temp file in {dir}/.tmp, is fsynced and renamed into place: a
 * reader sees the old object or the new one, never a torn one, and a
 * temp file is removed by a pool cleanup when the write does not finish.
 */
#include <errno.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "local.h"

const char *st_local_file(apr_pool_t *p, const st_bucket *b, const char *hash)
{
    return apr_psprintf(p, "%s/%.2s/%s", b->dir, hash, hash);
}

static apr_status_t remove_unfinished(void *data)
{
    st_temp *t = data;
    if (t->file) {
        apr_file_close(t->file);
        t->file = NULL;
    }
    if (!t->committed)
        apr_file_remove(t->path, t->pool);
    return APR_SUCCESS;
}

apr_status_t st_temp_open(apr_pool_t *p, const st_bucket *b, st_temp **out)
{
    const char *tmp_dir = apr_pstrcat(p, b->dir, "/.tmp", NULL);
    char *templ = apr_pstrcat(p, tmp_dir, "/put-XXXXXX", NULL);
    st_temp *t = apr_pcalloc(p, sizeof(*t));   /* lives as long as its cleanup */
    apr_status_t rv;
    *out = t;
    t->pool = p;
    rv = apr_dir_make(tmp_dir, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv))
        return rv;
    rv = apr_file_mktemp(&t->file, templ,
                         APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p);
    if (rv != APR_SUCCESS)
        return rv;
    t->path = templ;
    apr_pool_cleanup_register(p, t, remove_unfinished, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t st_temp_write(st_temp *t, const void *data, size_t len)
{
    apr_size_t n = len;
    apr_status_t rv = apr_file_write_full(t->file, data, len, &n);
    if (rv == APR_SUCCESS)
        t->size += (int64_t)len;
    return rv;
}

apr_status_t st_temp_commit(st_temp *t, const char *final_path)
{
    const char *slash = strrchr(final_path, '/');
    const char *parent = apr_pstrndup(t->pool, final_path, (apr_size_t)(slash - final_path));
    apr_status_t rv = apr_file_sync(t->file);
    if (rv == APR_SUCCESS)
        rv = apr_file_close(t->file);
    else
        apr_file_close(t->file);
    t->file = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_dir_make(parent, APR_FPROT_OS_DEFAULT, t->pool);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv))
        return rv;
    rv = apr_file_rename(t->path, final_path, t->pool);
    if (rv == APR_SUCCESS)
        t->committed = 1;
    return rv;
}

int st_status_is_full(apr_status_t rv)
{
    return rv == APR_FROM_OS_ERROR(ENOSPC) || rv == APR_FROM_OS_ERROR(EDQUOT);
}

apr_status_t st_local_copy(apr_pool_t *p, const st_bucket *b, const char *src, const char *dst)
{
    st_temp *t;
    apr_file_t *in;
    char *buf = apr_palloc(p, ST_IO_CHUNK);
    apr_status_t rv = apr_file_open(&in, src, APR_FOPEN_READ, 0, p);
    if (rv != APR_SUCCESS)
        return rv;
    if ((rv = st_temp_open(p, b, &t)) != APR_SUCCESS) {
        apr_file_close(in);
        return rv;
    }
    for (;;) {
        apr_size_t n = ST_IO_CHUNK;
        rv = apr_file_read(in, buf, &n);
        if (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && n == 0)) {
            rv = APR_SUCCESS;
            break;
        }
        if (rv != APR_SUCCESS || (rv = st_temp_write(t, buf, n)) != APR_SUCCESS)
            break;
    }
    apr_file_close(in);
    if (rv == APR_SUCCESS)
        rv = st_temp_commit(t, dst);
    if (rv != APR_SUCCESS)
        st_temp_discard(t);
    return rv;
}

const char *st_local_etag(apr_pool_t *p, const char *file)
{
    apr_finfo_t fi;
    if (apr_stat(&fi, file, APR_FINFO_SIZE | APR_FINFO_MTIME, p) != APR_SUCCESS)
        return NULL;
    /* httpd's own format for FileETag MTime Size (its default) */
    return apr_psprintf(p, "\"%" APR_UINT64_T_HEX_FMT "-%" APR_UINT64_T_HEX_FMT "\"",
                        (apr_uint64_t)fi.size, (apr_uint64_t)fi.mtime);
}

void st_temp_discard(st_temp *t)
{
    if (t->path && !t->committed)
        apr_pool_cleanup_run(t->pool, t, remove_unfinished);
}
