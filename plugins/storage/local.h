/*
 * local.h: the local backend's temp files (write, fsync, rename), shared
 * by the upload and copy paths.
 */
#ifndef CB_STORAGE_LOCAL_H
#define CB_STORAGE_LOCAL_H

#include <apr_file_io.h>

#include "storage.h"

#define ST_IO_CHUNK (64 * 1024)

typedef struct st_temp {
    apr_pool_t *pool;
    apr_file_t *file;
    const char *path;
    int64_t size;
    int committed;
} st_temp;

/* A new temp file in {dir}/.tmp, removed with p unless committed. */
apr_status_t st_temp_open(apr_pool_t *p, const st_bucket *b, st_temp **out);
apr_status_t st_temp_write(st_temp *t, const void *data, size_t len);
/* fsync, close and rename to final_path (its directory made if needed). */
apr_status_t st_temp_commit(st_temp *t, const char *final_path);
/* Removes an unfinished temp file now (not only when the pool goes). */
void st_temp_discard(st_temp *t);
/* 1 for "no space left" (ENOSPC, EDQUOT). */
int st_status_is_full(apr_status_t rv);

#endif
