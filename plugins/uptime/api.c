/*
 * api.c: the TOSE-style uptime API, GET and PUT
 * /api/workspaces/{slug}/projects/{project}/uptime, answered in the
 * {success, data} envelope. Callers present an API key (X-API-Key, which
 * the auth plugin turns into a key identity) or the admin key; a signed-in
 * user is refused. Settings live in the database service (store.c); the
 * scheduler picks changes up within api_reload. The answer adds the live
 * state from Redis (status, last_checked_at, last_response_ms) and the
 * uptime over 24 h, 7 d, 30 d and 90 d from the roll-ups.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/json.h"
#include "cloudbase/log.h"
#include "cloudbase/values.h"
#include "uptime.h"

#define UP_API_MAX_BODY 16384

static const char *lower_status(apr_pool_t *p, const char *number)
{
    int64_t n;
    const char *name = "PENDING";
    if (number && !cb_parse_int(number, &n) && n >= 0 && n <= UP_STATUS_MAINTENANCE)
        name = up_status_name((up_status)n);
    {
        char *out = apr_pstrdup(p, name);
        for (char *c = out; *c; c++)
            *c = (char)(*c - 'A' + 'a');
        return out;
    }
}

static void set_string_or_null(cb_json *o, const char *key, const char *value)
{
    if (value)
        cb_json_set_string(o, key, value);
    else
        cb_json_set_null(o, key);
}

static cb_json *uptime_windows(up_plugin *up, apr_pool_t *p, const char *monitor, int64_t now_ms)
{
    static const struct { const char *key; int64_t days; } windows[] = {
        {"24h", 1}, {"7d", 7}, {"30d", 30}, {"90d", 90}};
    cb_json *o = cb_json_new_object(p);
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        double pct = up_store_uptime(up, p, monitor, now_ms - windows[i].days * 86400000LL,
                                     now_ms);
        if (pct < 0)
            cb_json_set_null(o, windows[i].key);
        else
            cb_json_set_real(o, windows[i].key, pct);
    }
    return o;
}

static cb_status send_settings(cb_req *req, up_plugin *up, const char *workspace,
                               const char *project, const up_api_settings *s)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *root = cb_json_new_object(p), *data = cb_json_new_object(p);
    up_monitor m;
    const char *v;
    int64_t n, now_ms = (int64_t)apr_time_as_msec(apr_time_now());
    up_api_monitor(p, workspace, project, s, &m);
    cb_json_set_bool(data, "enabled", s->enabled);
    cb_json_set_int(data, "check_interval_sec", s->check_interval_sec);
    set_string_or_null(data, "check_url", s->check_url);
    set_string_or_null(data, "discord_webhook_url", s->discord_webhook_url);
    set_string_or_null(data, "notify_email", s->notify_email);
    cb_json_set_string(data, "status", s->enabled ? lower_status(p, up_state_field(
                                                        up, p, m.name, "status"))
                                                  : "paused");
    if ((v = up_state_field(up, p, m.name, "last_checked_at")) && !cb_parse_int(v, &n)) {
        char iso[APR_RFC822_DATE_LEN + 8];
        apr_time_exp_t t;
        apr_time_exp_gmt(&t, apr_time_from_msec(n));
        apr_snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                     t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, t.tm_usec / 1000);
        cb_json_set_string(data, "last_checked_at", iso);
    } else {
        cb_json_set_null(data, "last_checked_at");
    }
    if ((v = up_state_field(up, p, m.name, "last_response_ms")) && !cb_parse_int(v, &n))
        cb_json_set_int(data, "last_response_ms", n);
    else
        cb_json_set_null(data, "last_response_ms");
    cb_json_set(data, "uptime", uptime_windows(up, p, m.name, now_ms));
    cb_json_set_bool(root, "success", 1);
    cb_json_set(root, "data", data);
    return cb_req_send_json(req, 200, cb_json_dump(p, root));
}

/* CB_OK when the caller may use the API; else the refusal sent. */
static cb_status check_caller(cb_req *req, const char **workspace, const char **project)
{
    const cb_identity *id = cb_req_identity(req);
    const char *err;
    if (!id || (id->kind != CB_IDENTITY_KEY && id->kind != CB_IDENTITY_ADMIN))
        return cb_req_send_error(req, 403, "PERMISSION_DENIED",
                                 "this API takes an API key in the X-API-Key header");
    *workspace = cb_req_param(req, "slug");
    *project = cb_req_param(req, "project");
    if ((err = up_api_name_ok(*workspace)) || (err = up_api_name_ok(*project)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    return CB_OK;
}

cb_status up_api_get(cb_req *req, void *plugin_state)
{
    up_plugin *up = plugin_state;
    up_api_settings s;
    const char *workspace, *project;
    int found;
    cb_status st;
    if ((st = check_caller(req, &workspace, &project)) != CB_OK)
        return st;
    if (up_store_get(up, cb_req_pool(req), workspace, project, &s, &found) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the uptime settings cannot be read right now; try again");
    return send_settings(req, up, workspace, project, &s);
}

cb_status up_api_put(cb_req *req, void *plugin_state)
{
    up_plugin *up = plugin_state;
    apr_pool_t *p = cb_req_pool(req);
    up_api_settings s;
    const char *workspace, *project, *body, *err;
    size_t len;
    int found;
    cb_status st;
    if ((st = check_caller(req, &workspace, &project)) != CB_OK)
        return st;
    if ((st = cb_req_read_body(req, UP_API_MAX_BODY, &body, &len)) != CB_OK)
        return st;
    if (up_store_get(up, p, workspace, project, &s, &found) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the uptime settings cannot be read right now; try again");
    if ((err = up_api_parse_body(p, body, len, up->allowed_private, &s)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (up_store_put(up, p, workspace, project, &s) != APR_SUCCESS) {
        cb_log_req(req, CB_LOG_WARNING, "uptime: settings of %s/%s not stored: %s", workspace,
                   project, cb_db_last_error(up->db));
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the uptime settings cannot be saved right now; try again");
    }
    return send_settings(req, up, workspace, project, &s);
}
