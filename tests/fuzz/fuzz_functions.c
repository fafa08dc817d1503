/*
 * fuzz_functions.c: libFuzzer target for the functions plugin's pure
 * parsers (plugins/functions/parse.c). Every input goes to each of them.
 *
 * Differential checks: fn_name_is_valid against POSIX regcomp/regexec of
 * ^[a-zA-Z][a-zA-Z0-9_-]{0,58}[a-zA-Z0-9]$, and fn_qualifier_is_valid,
 * cb_parse_auth_level and fn_query_has_webfn against straightforward references.
 * Invariants: an accepted path tail has no encoded '/', '\' or NUL, no
 * backslash, CR, LF or other control byte, and no "." or ".." segment
 * (literal or percent-encoded); an accepted service line has a valid name
 * for its kind, a URL without a trailing '/', query or fragment that still
 * parses, a positive timeout and, for AI providers, a key; an accepted
 * HttpRoute has a literal, safe prefix without a trailing '/' and a valid
 * target name. Service lines containing "file:" are skipped so the fuzzer
 * never reads files.
 *
 * The check that a function's body is a JSON object is the core's scanner,
 * fuzzed against jansson by fuzz_json_scan.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr; apr-1's flags usually define it */
#endif
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "functions.h"

#define FUZZ_TARGET_NAME "fuzz_functions"
#define FUZZ_HAS_SETUP
#include "fuzz_support.h"

static regex_t name_regex;
static const fn_defaults defaults = {CB_AUTH_ANY, 5000, 1048576, 0};

static void fuzz_setup(void)
{
    if (regcomp(&name_regex, "^[a-zA-Z][a-zA-Z0-9_-]{0,58}[a-zA-Z0-9]$",
                REG_EXTENDED | REG_NOSUB) != 0) {
        fprintf(stderr, "fuzz_functions: regcomp failed\n");
        abort();
    }
}

static int qualifier_reference(const char *q)
{
    size_t len = strlen(q);
    if (len < 1 || len > 64)
        return 0;
    return strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-") == len;
}

static int webfn_reference(apr_pool_t *p, const char *query)
{
    char *copy = apr_pstrdup(p, query), *state = NULL, *part;
    /* apr_strtok skips empty parts, which never match anyway. */
    for (part = apr_strtok(copy, "&", &state); part; part = apr_strtok(NULL, "&", &state))
        if (strcasecmp(part, "webfn=true") == 0)
            return 1;
    return 0;
}

/* The segment [s, end) once %2e/%2E are decoded is "." or "..". */
static int decodes_to_dots(const char *s, const char *end)
{
    size_t dots = 0;
    while (s < end) {
        if (*s == '.')
            s++;
        else if (end - s >= 3 && s[0] == '%' && s[1] == '2' && (s[2] | 0x20) == 'e')
            s += 3;
        else
            return 0;
        dots++;
    }
    return dots == 1 || dots == 2;
}

static void check_safe_path(const char *path)
{
    const char *seg = path;
    require(!strcasestr(path, "%2f"), "safe path has an encoded '/'", path);
    require(!strcasestr(path, "%5c"), "safe path has an encoded '\\'", path);
    require(!strstr(path, "%00"), "safe path has an encoded NUL", path);
    require(!strchr(path, '\\'), "safe path has a backslash", path);
    for (const char *c = path;; c++) {
        if (*c == '/' || *c == '\0') {
            require(!decodes_to_dots(seg, c), "safe path has a '.' or '..' segment", path);
            if (!*c)
                break;
            seg = c + 1;
            continue;
        }
        require((unsigned char)*c >= 0x20, "safe path has a control byte (CR, LF...)", path);
        if (*c == '%') {
            require(c[1] && c[2], "safe path ends in a truncated escape", path);
            require(c[1] != '0' && c[1] != '1', "safe path has an encoded control byte", path);
        }
    }
}

static void check_service(apr_pool_t *p, fn_kind kind, const char *line)
{
    fn_service s;
    cb_url parsed;
    size_t len;
    const char *err = fn_parse_service(p, kind, line, &defaults, &s);
    if (err) {
        require(*err != '\0', "empty service error", line);
        return;
    }
    require(s.kind == kind, "service kind", line);
    require(kind == FN_AGENT ? fn_qualifier_is_valid(s.name) : fn_name_is_valid(s.name),
            "service name does not match its kind's rule", line);
    len = strlen(s.url);
    require(len > 0 && s.url[len - 1] != '/', "service URL is empty or ends in '/'", line);
    require(!strchr(s.url, '?') && !strchr(s.url, '#'), "service URL has a query or fragment",
            line);
    require(cb_parse_url(p, s.url, &parsed) == NULL, "service URL no longer parses", line);
    require(s.timeout_ms > 0, "service timeout not positive", line);
    require(s.max_body >= 0, "service max_body negative", line);
    require(s.max_concurrency >= 0 && s.max_concurrency <= 1000000,
            "service max_concurrency out of range", line);
    require(s.attachment == 0 || s.attachment == 1, "attachment not a flag", line);
    require(s.websocket == 0 || s.websocket == 1, "websocket not a flag", line);
    require(!s.qualifier || (kind == FN_FUNCTION && fn_qualifier_is_valid(s.qualifier)),
            "qualifier on a non-function or invalid", line);
    require(kind != FN_AI_PROVIDER || (s.key && *s.key), "AI provider without a key", line);
    require(!s.key || kind == FN_AI_PROVIDER || kind == FN_AGENT, "key on a non-AI service",
            line);
}

static void check_http_route(apr_pool_t *p, const char *line)
{
    fn_http_route r;
    size_t len;
    const char *err = fn_parse_http_route(p, line, &r);
    if (err) {
        require(*err != '\0', "empty HttpRoute error", line);
        return;
    }
    len = strlen(r.prefix);
    require(r.prefix[0] == '/' && len >= 2, "HttpRoute prefix not absolute", line);
    require(r.prefix[len - 1] != '/', "HttpRoute prefix ends in '/'", line);
    require(!strstr(r.prefix, "//"), "HttpRoute prefix has '//'", line);
    require(!strpbrk(r.prefix, "{}?#%\\* \t"), "HttpRoute prefix not literal", line);
    require(fn_path_is_safe(r.prefix), "HttpRoute prefix not a safe path", line);
    require(r.target_name && fn_name_is_valid(r.target_name), "HttpRoute target name", line);
    require(r.target_kind == FN_TARGET_FUNCTION || r.target_kind == FN_TARGET_CLOUDRUN,
            "HttpRoute target kind", line);
    require(r.pass_path == 0 || r.pass_path == 1, "pass_path not a flag", line);
    require(r.auth == CB_AUTH_NONE || r.auth == CB_AUTH_ANY || r.auth == CB_AUTH_USER ||
                r.auth == CB_AUTH_ADMIN, "HttpRoute auth level", line);
}

static void check_auth(const char *text, int allow_switch)
{
    static const struct { const char *text; int switch_only; cb_auth_level level; } levels[] = {
        {"none", 0, CB_AUTH_NONE}, {"any", 0, CB_AUTH_ANY}, {"user", 0, CB_AUTH_USER},
        {"admin", 0, CB_AUTH_ADMIN}, {"off", 1, CB_AUTH_NONE}, {"on", 1, CB_AUTH_ANY},
        {NULL, 0, CB_AUTH_NONE}};
    cb_auth_level level = (cb_auth_level)-1;
    const char *err = cb_parse_auth_level(text, allow_switch, &level);
    int expected = -1;
    for (int i = 0; levels[i].text; i++)
        if (strcmp(text, levels[i].text) == 0 && (allow_switch || !levels[i].switch_only))
            expected = (int)levels[i].level;
    require((err == NULL) == (expected >= 0), "cb_parse_auth_level accepts the wrong words", text);
    require(err != NULL || (int)level == expected, "cb_parse_auth_level gives the wrong level", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    int has_nul = memchr(data, '\0', size) != NULL;

    /* Differential: the hand-written name check against the regex it
     * documents. Inputs with a NUL would be cut at it for both. */
    if (!has_nul)
        require(fn_name_is_valid(text) == (regexec(&name_regex, text, 0, NULL, 0) == 0),
                "fn_name_is_valid disagrees with the regex", text);
    require(fn_qualifier_is_valid(text) == qualifier_reference(text),
            "fn_qualifier_is_valid disagrees with the reference", text);
    if (fn_path_is_safe(text))
        check_safe_path(text);
    check_auth(text, 0);
    check_auth(text, 1);
    require(fn_query_has_webfn(text) == webfn_reference(p, text),
            "fn_query_has_webfn disagrees with the reference", text);
    if (!strstr(text, "file:")) {
        check_service(p, FN_FUNCTION, text);
        check_service(p, FN_CLOUDRUN, text);
        check_service(p, FN_AI_PROVIDER, text);
        check_service(p, FN_AGENT, text);
    }
    check_http_route(p, text);
    apr_pool_clear(iteration_pool);
    return 0;
}
