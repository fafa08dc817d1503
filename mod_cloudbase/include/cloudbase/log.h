/*
 * log.h: logging for plugins and the core, into the host's error log
 * (httpd's ErrorLog through ap_log_rerror / ap_log_error).
 *
 * A request line carries the request id; a configuration line names the
 * environment and the plugin. cb_log works anywhere, background tasks
 * included. Every line is scrubbed of the values of secret options
 * (CB_OPT_SECRET) before it is written; still, never pass a password, token
 * or key to these functions.
 */
#ifndef CLOUDBASE_LOG_H
#define CLOUDBASE_LOG_H

#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The syslog severities httpd uses (APLOG_*). */
typedef enum {
    CB_LOG_ERR = 3,
    CB_LOG_WARNING = 4,
    CB_LOG_NOTICE = 5,
    CB_LOG_INFO = 6,
    CB_LOG_DEBUG = 7
} cb_log_level;

typedef struct cb_req cb_req;
typedef struct cb_plugin_ctx cb_plugin_ctx;

/* "[req ID] message", logged against the request. */
CB_API void cb_log_req(cb_req *req, cb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "[env ENV, plugin NAME] message", from create() and other set-up code. */
CB_API void cb_log_ctx(cb_plugin_ctx *ctx, cb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A process-wide line, for background tasks and code without a request. */
CB_API void cb_log(cb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
