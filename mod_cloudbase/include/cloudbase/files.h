/*
 * files.h: request calls for plugins that move files rather than JSON: the
 * request body read piece by piece (never whole in memory), a file handed
 * to the host's own static-file path (in httpd, the default handler: Range,
 * ETag, If-None-Match/304, HEAD and sendfile as for any file), and the
 * scheme the client used, to build absolute URLs.
 */
#ifndef CLOUDBASE_FILES_H
#define CLOUDBASE_FILES_H

#include <stddef.h>

#include "cloudbase/export.h"
#include "cloudbase/cloudbase.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the next piece of the request body into buf (at most *len bytes);
 * *len = 0 at the end. CB_ERROR when the body cannot be read (the client
 * went away, a bad chunk) or when cb_req_read_body already read it. */
CB_API cb_status cb_req_read_chunk(cb_req *req, char *buf, size_t *len);

/* Answers the request with the file at path (absolute), served by the
 * host's static-file path with content_type (NULL: the host guesses).
 * Call it from a route's handler, write nothing else, and return CB_DONE.
 * CB_ERROR (and a 501 recorded) when the host cannot serve files. */
CB_API cb_status cb_req_serve_file(cb_req *req, const char *path, const char *content_type);

/* "http" or "https", as the client connected to the host. */
CB_API const char *cb_req_scheme(const cb_req *req);

#ifdef __cplusplus
}
#endif
#endif
