/*
 * parse.c: the functions plugin's pure parsers: function names, qualifiers,
 * safe path tails, auth levels, the webfn query flag, the service and
 * HttpRoute configuration lines, upstream URL joining and the chat body's
 * "model". No I/O except resolving key= secrets. Fuzzed by
 * tests/fuzz/fuzz_functions.c, fuzz_upstream_url.c and fuzz_ai_model.c.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/json_scan.h"
#include "functions.h"

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

int fn_name_is_valid(const char *name)
{
    size_t len;
    if (!name || !is_alpha(name[0]))
        return 0;
    len = strlen(name);
    if (len < 2 || len > 60)
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(name[i]) && !is_digit(name[i]) && name[i] != '_' && name[i] != '-')
            return 0;
    return is_alpha(name[len - 1]) || is_digit(name[len - 1]);
}

int fn_qualifier_is_valid(const char *q)
{
    size_t len = q ? strlen(q) : 0;
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_alpha(q[i]) && !is_digit(q[i]) && !strchr("_.$-", q[i]))
            return 0;
    return 1;
}

/* The segment [s, end) is "." or "..", literally or percent-encoded. */
static int is_dot_segment(const char *s, const char *end)
{
    int dots = 0;
    while (s < end) {
        if (*s == '.')
            s++;
        else if (end - s >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E'))
            s += 3;
        else
            return 0;
        dots++;
    }
    return dots == 1 || dots == 2;
}

int fn_path_is_safe(const char *rest)
{
    const char *seg = rest;
    if (!rest)
        return 1;
    for (const char *c = rest;; c++) {
        if (*c == '/' || *c == '\0') {
            if (is_dot_segment(seg, c))
                return 0;
            if (*c == '\0')
                return 1;
            seg = c + 1;
            continue;
        }
        if (*c == '\\' || *c == '\r' || *c == '\n' || (unsigned char)*c < 0x20)
            return 0;
        if (*c == '%') {
            char a = c[1], b = a ? c[2] : '\0';
            if (!a || !b)
                return 0;
            /* %2F, %5C, %00 and other control bytes never go upstream. */
            if ((a == '2' && (b == 'f' || b == 'F')) || (a == '5' && (b == 'c' || b == 'C')) ||
                a == '0' || a == '1' || (a == '7' && (b == 'f' || b == 'F')))
                return 0;
        }
    }
}

int fn_query_has_webfn(const char *query)
{
    const char *q = query;
    while (q && *q) {
        size_t len = strcspn(q, "&");
        if (len == 10 && strncasecmp(q, "webfn=true", 10) == 0)
            return 1;
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}

static const char *parse_setting(apr_pool_t *p, fn_kind kind, const char *key, const char *value,
                                 fn_service *out)
{
    const char *err = NULL;
    int flag;
    if (strcmp(key, "auth") == 0)
        return cb_parse_auth_level(value, 0, &out->auth);
    if (strcmp(key, "timeout") == 0) {
        if ((err = cb_parse_duration_ms(value, &out->timeout_ms)))
            return apr_pstrcat(p, "timeout=: ", err, NULL);
        return out->timeout_ms < 1 ? "timeout= must be positive" : NULL;
    }
    if (strcmp(key, "max_body") == 0) {
        if ((err = cb_parse_size(value, &out->max_body)))
            return apr_pstrcat(p, "max_body=: ", err, NULL);
        return out->max_body < 1 ? "max_body= must be at least 1 byte" : NULL;
    }
    if (strcmp(key, "max_concurrency") == 0) {
        if ((err = cb_parse_int(value, &out->max_concurrency)) || out->max_concurrency < 0 ||
            out->max_concurrency > 1000000)
            return "max_concurrency= takes 0 (unlimited) to 1000000";
        return NULL;
    }
    if (kind == FN_FUNCTION && strcmp(key, "qualifier") == 0) {
        if (!fn_qualifier_is_valid(value))
            return "qualifier= takes 1-64 of letters, digits, '_', '.', '$' and '-'";
        out->qualifier = apr_pstrdup(p, value);
        return NULL;
    }
    if (kind == FN_CLOUDRUN && (strcmp(key, "attachment") == 0 || strcmp(key, "websocket") == 0)) {
        if ((err = cb_parse_bool(value, &flag)))
            return apr_psprintf(p, "%s=: %s", key, err);
        *(strcmp(key, "attachment") == 0 ? &out->attachment : &out->websocket) = flag;
        return NULL;
    }
    if ((kind == FN_AI_PROVIDER || kind == FN_AGENT) && strcmp(key, "key") == 0) {
        if ((err = cb_parse_secret(p, value, &out->key)))
            return apr_pstrcat(p, "key=: ", err, NULL);
        return NULL;
    }
    return apr_psprintf(p, "unknown setting '%s'", key);
}

const char *fn_parse_service(apr_pool_t *p, fn_kind kind, const char *line,
                             const fn_defaults *defaults, fn_service *out)
{
    cb_option_line parsed_line;
    const char *name, *url, *err;
    cb_url parsed;
    size_t len;
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    out->auth = defaults->auth;
    out->timeout_ms = defaults->timeout_ms;
    out->max_body = defaults->max_body;
    out->max_concurrency = defaults->max_concurrency;
    out->attachment = 1;
    out->websocket = 1;
    if ((err = cb_option_line_parse(p, line, 2, 2, &parsed_line)))
        return parsed_line.word_count < 2 ? "write NAME URL [setting=value ...]" : err;
    name = parsed_line.words[0];
    url = parsed_line.words[1];
    if (kind == FN_AGENT ? !fn_qualifier_is_valid(name) : !fn_name_is_valid(name))
        return kind == FN_AGENT
                   ? "an agent id is 1-64 of letters, digits, '_', '.', '$' and '-'"
                   : "a name must match ^[a-zA-Z][a-zA-Z0-9_-]{0,58}[a-zA-Z0-9]$";
    out->name = apr_pstrdup(p, name);
    if ((err = cb_parse_url(p, url, &parsed)))
        return apr_pstrcat(p, "URL: ", err, NULL);
    if (strchr(url, '?') || strchr(url, '#'))
        return "the URL must not carry a query or fragment";
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    out->url = apr_pstrmemdup(p, url, len);
    for (int i = 0; i < parsed_line.setting_count; i++)
        if ((err = parse_setting(p, kind, parsed_line.keys[i], parsed_line.values[i], out)))
            return err;
    if ((kind == FN_AI_PROVIDER) && !out->key)
        return "an AI provider needs key=file:PATH or key=env:NAME";
    return NULL;
}

const char *fn_parse_http_route(apr_pool_t *p, const char *line, fn_http_route *out)
{
    cb_option_line parsed_line;
    const char *prefix, *err;
    size_t len;
    memset(out, 0, sizeof(*out));
    out->auth = CB_AUTH_NONE;
    out->pass_path = 1;
    if ((err = cb_option_line_parse(p, line, 1, 1, &parsed_line)))
        return parsed_line.word_count < 1
                   ? "write PATH function=NAME|cloudrun=NAME [auth=on|off] [pass_path=on|off]"
                   : err;
    prefix = parsed_line.words[0];
    len = strlen(prefix);
    while (len > 1 && prefix[len - 1] == '/')
        len--;
    if (prefix[0] != '/' || len < 2 || strpbrk(prefix, "{}?#%\\*") ||
        !fn_path_is_safe(prefix) || strstr(prefix, "//"))
        return "the path must be a literal absolute prefix such as /api/orders";
    out->prefix = apr_pstrmemdup(p, prefix, len);
    for (int i = 0; i < parsed_line.setting_count; i++) {
        const char *key = parsed_line.keys[i], *value = parsed_line.values[i];
        int flag;
        if (strcmp(key, "function") == 0 || strcmp(key, "cloudrun") == 0) {
            if (out->target_name)
                return "name one target: function= or cloudrun=";
            if (!fn_name_is_valid(value))
                return "the target name must match ^[a-zA-Z][a-zA-Z0-9_-]{0,58}[a-zA-Z0-9]$";
            out->target_kind = key[0] == 'f' ? FN_TARGET_FUNCTION : FN_TARGET_CLOUDRUN;
            out->target_name = apr_pstrdup(p, value);
        }
        else if (strcmp(key, "auth") == 0) {
            if ((err = cb_parse_auth_level(value, 1, &out->auth)))
                return err;
        }
        else if (strcmp(key, "pass_path") == 0) {
            if ((err = cb_parse_bool(value, &flag)))
                return apr_pstrcat(p, "pass_path=: ", err, NULL);
            out->pass_path = flag;
        }
        else
            return apr_psprintf(p, "unknown setting '%s'", key);
    }
    if (!out->target_name)
        return "name the target: function=NAME or cloudrun=NAME";
    return NULL;
}

const char *fn_url_with_query(apr_pool_t *p, const char *url, const char *query)
{
    return query && *query ? apr_pstrcat(p, url, "?", query, NULL) : url;
}

const char *fn_url_join(apr_pool_t *p, const char *base, const char *rest, const char *query)
{
    return fn_url_with_query(p, apr_pstrcat(p, base, "/", rest ? rest : "", NULL), query);
}

/* The scanner's visitor for fn_chat_body: the last "model" member wins, as
 * in a JSON library that lets a later key replace an earlier one. */
static int find_model(void *baton, const cb_json_span *key, const cb_json_span *value)
{
    if (cb_json_span_is(key, "model"))
        *(cb_json_span *)baton = *value;
    return 0;
}

fn_chat_result fn_chat_body(apr_pool_t *p, const char *body, size_t len, const char **model)
{
    cb_json_span found = {NULL, 0, CB_JSON_SCAN_NULL, 0};
    cb_json_scan_options options = {
        .flags = CB_JSON_SCAN_NUMBER_LIMITS,
        .on_member = model ? find_model : NULL,
        .baton = &found,
    };
    char name[66]; /* an agent id has at most 64 characters */
    if (!cb_json_scan_object(body, len, &options))
        return FN_CHAT_NOT_OBJECT;
    if (!model)
        return FN_CHAT_OK;
    if (!found.text || cb_json_span_decode(&found, name, sizeof(name)) == (size_t)-1
        || !fn_qualifier_is_valid(name))
        return FN_CHAT_BAD_MODEL;
    *model = apr_pstrdup(p, name);
    return FN_CHAT_OK;
}
