/*
 * api_body.c: the TOSE-style uptime API's pure parts: a workspace slug or
 * project name from the path, a PUT body (seed 003's fields: enabled,
 * check_interval_sec, check_url, discord_webhook_url, notify_email) laid
 * over the current settings with every value checked (the check URL
 * through the outbound guard, the Discord webhook https only, the e-mail
 * address's shape), and the monitor a project's settings become.
 * fuzz_uptime drives up_api_parse_body.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/json.h"
#include "uptime.h"

const char *up_api_name_ok(const char *segment)
{
    size_t len = segment ? strlen(segment) : 0;
    if (len == 0 || len > 64)
        return "a workspace or project name is 1 to 64 characters";
    for (const char *c = segment; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return "a workspace or project name holds only letters, digits, '-' and '_'";
    return NULL;
}

const char *up_check_email(const char *text)
{
    const char *at = strchr(text, '@');
    if (strlen(text) > 254 || !at || at == text || strchr(at + 1, '@') || !strchr(at + 1, '.') ||
        at[1] == '.' || text[strlen(text) - 1] == '.')
        return "notify_email is not an e-mail address (name@example.com)";
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '<' || *c == '>' || *c == ',' ||
            *c == ';' || *c == '"' || *c == '\\' || *c == '(' || *c == ')' || *c == '[' ||
            *c == ']')
            return "notify_email is not an e-mail address (name@example.com)";
    return NULL;
}

/* A string member: *out keeps its value when absent; null or "" clears. */
static const char *string_member(apr_pool_t *p, const cb_json *body, const char *key,
                                 const char **out)
{
    cb_json *v = cb_json_get(body, key);
    size_t len;
    const char *s;
    if (!v)
        return NULL;
    if (cb_json_typeof(v) == CB_JSON_NULL) {
        *out = NULL;
        return NULL;
    }
    if (!cb_json_is_string(v))
        return apr_psprintf(p, "%s must be a string", key);
    s = cb_json_string_value(v, &len);
    if (strlen(s) != len)
        return apr_psprintf(p, "%s holds a NUL byte", key);
    if (len > 2048)
        return apr_psprintf(p, "%s is longer than 2048 characters", key);
    *out = len ? s : NULL;
    return NULL;
}

const char *up_api_parse_body(apr_pool_t *p, const char *body, size_t len,
                              const cb_cidr_list *allowed_private, up_api_settings *s)
{
    const char *err;
    cb_json *json = cb_json_parse(p, body, len, &err), *v;
    if (!json || !cb_json_is_object(json))
        return "the body must be a JSON object";
    /* other members (status, last_checked_at, ... as GET answers them)
     * are read-only and ignored */
    if ((v = cb_json_get(json, "enabled")) && !cb_json_bool_value(v, &s->enabled))
        return "enabled must be true or false";
    if ((v = cb_json_get(json, "check_interval_sec"))) {
        int64_t n;
        if (!cb_json_int_value(v, &n))
            return "check_interval_sec must be a whole number of seconds";
        if (n < 1 || n > 86400)
            return "check_interval_sec must be from 1 to 86400";
        s->check_interval_sec = n;
    }
    if ((err = string_member(p, json, "check_url", &s->check_url)) ||
        (err = string_member(p, json, "discord_webhook_url", &s->discord_webhook_url)) ||
        (err = string_member(p, json, "notify_email", &s->notify_email)))
        return err;
    if (s->check_url && (err = up_check_url(p, s->check_url, allowed_private)))
        return apr_pstrcat(p, "check_url: ", err, NULL);
    if (s->discord_webhook_url) {
        if (strncmp(s->discord_webhook_url, "https://", 8) != 0)
            return "discord_webhook_url must be an https:// URL";
        if ((err = up_check_url(p, s->discord_webhook_url, NULL)))
            return apr_pstrcat(p, "discord_webhook_url: ", err, NULL);
    }
    if (s->notify_email && (err = up_check_email(s->notify_email)))
        return err;
    if (s->enabled && !s->check_url)
        return "check_url is required while enabled is true";
    return NULL;
}

void up_api_monitor(apr_pool_t *p, const char *workspace, const char *project,
                    const up_api_settings *s, up_monitor *m)
{
    memset(m, 0, sizeof(*m));
    m->name = apr_pstrcat(p, "api:", workspace, "/", project, NULL);
    m->url = s->check_url;
    m->kind = UP_KIND_HTTP;
    m->interval_ms = s->check_interval_sec * 1000;
    m->timeout_ms = m->interval_ms * 8 / 10 > 48000 ? 48000 : m->interval_ms * 8 / 10;
    if (m->timeout_ms < 100)
        m->timeout_ms = 100;
    m->method = "GET";
    m->headers = apr_table_make(p, 1);
    m->accepted.count = 1;
    m->accepted.low[0] = 200;
    m->accepted.high[0] = 299;
    m->max_redirects = UP_DEFAULT_MAX_REDIRECTS;
    m->discord_webhook_url = s->discord_webhook_url;
    m->notify_email = s->notify_email;
    m->from_api = 1;
}
