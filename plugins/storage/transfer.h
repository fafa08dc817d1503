/*
 * transfer.h: receiving an object's bytes, shared by the PUT upload
 * (transfer.c) and the POST form upload (form_upload.c).
 */
#ifndef CB_STORAGE_TRANSFER_H
#define CB_STORAGE_TRANSFER_H

#include "storage.h"

typedef struct st_receive_opts {
    int64_t declared;        /* the body's length when known, else -1 */
    const char *type;        /* the object's Content-Type, or NULL */
    int success_status;      /* 200 for PUT, 201 for the form POST */
    /* The next piece of the object (*len = 0 at its end). */
    cb_status (*read)(void *baton, char *buf, size_t *len);
    void *baton;
} st_receive_opts;

/* Streams the object to a temp file within the bucket's limits, then
 * fsync, rename, metadata; answers the request either way. */
cb_status st_receive_object(cb_req *req, const st_state *st, const st_bucket *b,
                            const char *path, const st_receive_opts *o);

#endif
