/*
 * testplug_notify.c: the test plugin's notifier trigger (testplug_notify.h),
 * so the integration suite notify can make the core notifier send to its
 * receivers. Test-only.
 */
#include <string.h>

#include "testplug_notify.h"

cb_notifier *testplug_notify_create(cb_plugin_ctx *ctx)
{
    const cb_options *o = cb_ctx_options(ctx);
    cb_notifier_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.channels = cb_opt_list(o, "notify");
    cfg.group_window_ms = cb_opt_duration_ms(o, "notify_group_window");
    cfg.visibility_ms = cb_opt_duration_ms(o, "notify_visibility");
    cfg.max_per_source = (int)cb_opt_int(o, "notify_cap");
    cfg.backoff_base_ms = 200;
    cfg.max_attempts = 4;
    cfg.require_https = cb_opt_bool(o, "notify_require_https");
    return cb_notifier_create(ctx, "testplug", &cfg);
}

cb_status testplug_notify_route(cb_req *req, cb_notifier *n)
{
    cb_json *body;
    cb_notify_message m;
    cb_notify_outcome outcome;
    const char *kind;
    apr_status_t rv;
    if (!n)
        return cb_req_send_error(req, 404, "NOT_FOUND", "no notify lines configured");
    if (cb_req_read_json_object(req, 64 * 1024, &body) != CB_OK)
        return CB_ERROR;
    memset(&m, 0, sizeof(m));
    kind = cb_json_get_string(body, "kind");
    m.kind = !kind ? 0 : strcmp(kind, "down") == 0 ? CB_NOTIFY_DOWN
                       : strcmp(kind, "up") == 0 ? CB_NOTIFY_UP
                       : strcmp(kind, "info") == 0 ? CB_NOTIFY_INFO : 0;
    m.source = cb_json_get_string(body, "source");
    m.title = cb_json_get_string(body, "title");
    m.url = cb_json_get_string(body, "url");
    m.detail = cb_json_get_string(body, "detail");
    m.idempotency_key = cb_json_get_string(body, "key");
    if (!cb_json_get_int(body, "ping_ms", &m.ping_ms))
        m.ping_ms = -1;
    rv = cb_notify(n, cb_req_pool(req), &m, &outcome);
    if (rv == APR_EINVAL)
        return cb_req_send_error(req, 400, "INVALID_PARAM", "kind, source and key are required");
    if (rv != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "notifier unavailable");
    return cb_req_send_json(req, 200, outcome == CB_NOTIFY_QUEUED ? "{\"outcome\":\"queued\"}"
                                      : outcome == CB_NOTIFY_DUPLICATE ? "{\"outcome\":\"duplicate\"}"
                                      : "{\"outcome\":\"capped\"}");
}
