/*
 * test_host.h: an in-memory host for the plugin API, so the core and
 * plugins can be unit-tested without a web server. It plays the part of the
 * Apache adapter: builds an environment from plugin blocks and runs one
 * request through every dispatch phase, capturing the response.
 */
#ifndef CB_TEST_HOST_H
#define CB_TEST_HOST_H

#include "cb_core.h"

typedef struct th_response {
    int status;
    cb_dispatch_action action;     /* PROXY when handed to the host's proxy */
    apr_table_t *headers;          /* response headers, with Content-Type */
    const char *body;
    size_t body_len;
    int flushes;
    const char *proxy_url;
    apr_table_t *upstream_headers; /* request headers as sent upstream */
    cb_req *req;
} th_response;

/* When > 0, cb_req_aborted reports the client gone once a request has
 * been flushed this many times (a client that hangs up mid-stream). */
extern int th_client_gone_after_flushes;

/* The directory the test plugins were built into (CB_TEST_PLUGIN_DIR). */
const char *th_plugin_dir(void);
cb_env *th_env_create(apr_pool_t *p, const char *env_id);
/* Loads a plugin and applies "name", "value", ... NULL options. */
const char *th_env_add_plugin(cb_env *env, apr_pool_t *p, const char *plugin,
                              const char *const *options);
/* method, "path?query", headers as "name", "value", ... NULL, body or NULL. */
void th_request(cb_env *env, apr_pool_t *p, const char *method, const char *target,
                const char *const *headers, const char *body, th_response *out);

/* Records cb_log_* lines instead of printing them: "LEVEL R|P line\n" per
 * line (R from cb_log_req, P otherwise), until th_log_stop. */
void th_log_start(void);
const char *th_log_text(apr_pool_t *p);
void th_log_stop(void);

#endif
