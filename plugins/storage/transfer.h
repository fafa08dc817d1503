/*
 * transfer.h: receiving an object's bytes, shared by the PUT upload
 * (transfer.c), the POST form upload (form_upload.c) and the S3 endpoint's
 * PutObject (s3_endpoint.c).
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
    const char *owner;       /* owner of a new object; NULL: none (or its claimed one) */
    /* Answers a refusal (NULL: cb_req_send_error in the route's dialect)
     * given the status, the CloudBase code and the client's message. */
    cb_status (*fail)(cb_req *req, void *baton, int status, const char *code,
                      const char *message);
    /* Answers the stored object (NULL: success_status with "{}"). */
    cb_status (*stored)(cb_req *req, void *baton, const char *etag);
} st_receive_opts;

/* Content-Length as a number, -1 when absent or not one. */
int64_t st_declared_length(cb_req *req);

/* Streams the object to a temp file within the bucket's limits, then
 * fsync, rename, metadata; answers the request either way. */
cb_status st_receive_object(cb_req *req, const st_state *st, const st_bucket *b,
                            const char *path, const st_receive_opts *o);

#endif
