/*
 * values.c: parsers for configured values (durations, sizes, booleans,
 * integers, URLs, secrets). One parser per kind; see cloudbase/values.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "cloudbase/values.h"

/* Reads an unsigned decimal prefix; returns the end, or NULL on overflow or
 * when there are no digits. */
static const char *read_decimal(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = s;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return NULL;
        v = v * 10 + d;
        s++;
    }
    if (s == start)
        return NULL;
    *out = v;
    return s;
}

static int multiply_checked(uint64_t v, uint64_t factor, int64_t *out)
{
    if (factor && v > (uint64_t)INT64_MAX / factor)
        return 0;
    *out = (int64_t)(v * factor);
    return 1;
}

const char *cb_parse_duration_ms(const char *text, int64_t *out_ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
        {"", 1000}, {NULL, 0}
    };
    uint64_t v;
    const char *end;
    if (!text || !*text)
        return "empty duration: write a number with a unit, e.g. 500ms, 30s, 5m, 2h or 1d";
    end = read_decimal(text, &v);
    if (!end)
        return "a duration must start with digits, e.g. 500ms, 30s, 5m, 2h or 1d";
    for (int i = 0; units[i].unit; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            if (!multiply_checked(v, units[i].ms, out_ms))
                return "duration too large";
            return NULL;
        }
    }
    return "unknown duration unit: use ms, s, m, h or d (e.g. 30s)";
}

const char *cb_parse_size(const char *text, int64_t *out_bytes)
{
    uint64_t v, factor = 1;
    const char *end;
    if (!text || !*text)
        return "empty size: write a number with an optional unit, e.g. 512, 64k, 1m or 2g";
    end = read_decimal(text, &v);
    if (!end)
        return "a size must start with digits, e.g. 512, 64k, 1m or 2g";
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'k': factor = 1024ULL; end++; break;
    case 'm': factor = 1024ULL * 1024; end++; break;
    case 'g': factor = 1024ULL * 1024 * 1024; end++; break;
    case 'b': break;
    default: return "unknown size unit: use k, m or g (e.g. 64k, 1m)";
    }
    if (tolower((unsigned char)*end) == 'b')
        end++;
    if (*end)
        return "unexpected characters after the size unit (e.g. 64k, 1m)";
    if (!multiply_checked(v, factor, out_bytes))
        return "size too large";
    return NULL;
}

const char *cb_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1", NULL};
    static const char *const no[] = {"off", "false", "no", "0", NULL};
    if (text) {
        for (int i = 0; yes[i]; i++)
            if (strcasecmp(text, yes[i]) == 0) { *out = 1; return NULL; }
        for (int i = 0; no[i]; i++)
            if (strcasecmp(text, no[i]) == 0) { *out = 0; return NULL; }
    }
    return "expected a boolean: on or off";
}

const char *cb_parse_int(const char *text, int64_t *out)
{
    uint64_t v;
    int negative = 0;
    const char *s = text, *end;
    if (!s || !*s)
        return "expected an integer";
    if (*s == '-') { negative = 1; s++; }
    end = read_decimal(s, &v);
    if (!end || *end)
        return "expected an integer (digits only)";
    if (v > (uint64_t)INT64_MAX)
        return "integer too large";
    *out = negative ? -(int64_t)v : (int64_t)v;
    return NULL;
}

static int valid_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

const char *cb_parse_url(apr_pool_t *p, const char *text, cb_url *out)
{
    const char *rest, *host_start, *host_end, *after_host;
    int default_port;
    if (!text || !*text)
        return "empty URL: write an absolute URL such as http://127.0.0.1:9000/";
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return "a URL must not contain spaces or control characters";
    if (strncasecmp(text, "http://", 7) == 0) {
        out->scheme = "http"; rest = text + 7; default_port = 80;
    } else if (strncasecmp(text, "https://", 8) == 0) {
        out->scheme = "https"; rest = text + 8; default_port = 443;
    } else {
        return "a URL must start with http:// or https://";
    }
    after_host = rest + strcspn(rest, "/?#");
    if (memchr(rest, '@', (size_t)(after_host - rest)))
        return "user info (user:password@) is not allowed in a URL; use a secret option instead";
    if (*rest == '[') {
        host_start = rest + 1;
        host_end = memchr(host_start, ']', (size_t)(after_host - host_start));
        if (!host_end || host_end == host_start)
            return "unterminated IPv6 address in URL (write http://[::1]:9000/)";
        for (const char *c = host_start; c < host_end; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return "invalid IPv6 address in URL";
        rest = host_end + 1;
    } else {
        host_start = rest;
        host_end = rest + strcspn(rest, ":/?#");
        if (host_end == host_start)
            return "a URL needs a host (e.g. http://127.0.0.1:9000/)";
        for (const char *c = host_start; c < host_end; c++)
            if (!valid_host_char(*c))
                return "invalid character in URL host";
        rest = host_end;
    }
    out->host = apr_pstrmemdup(p, host_start, (size_t)(host_end - host_start));
    for (char *c = (char *)out->host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    out->port = default_port;
    if (*rest == ':') {
        int64_t port;
        const char *port_end = rest + 1 + strcspn(rest + 1, "/?#");
        char *digits = apr_pstrmemdup(p, rest + 1, (size_t)(port_end - rest - 1));
        if (cb_parse_int(digits, &port) || port < 1 || port > 65535 || digits[0] == '-')
            return "invalid port in URL: use 1-65535";
        out->port = (int)port;
        rest = port_end;
    } else if (rest != after_host) {
        return "unexpected characters after the URL host";
    }
    if (strchr(rest, '#'))
        return "a URL must not contain a fragment (#...)";
    out->path = *rest == '/' ? apr_pstrdup(p, rest) : apr_pstrcat(p, "/", rest, NULL);
    return NULL;
}

const char *cb_parse_secret(apr_pool_t *p, const char *text, const char **out)
{
    if (!text || !*text)
        return "empty secret: write file:/path/to/secret, env:NAME or the value";
    if (strncmp(text, "env:", 4) == 0) {
        const char *value;
        if (!text[4])
            return "env: needs a variable name, e.g. env:CLOUDBASE_ADMIN_KEY";
        value = getenv(text + 4);
        if (!value || !*value)
            return apr_psprintf(p, "environment variable %s is not set or empty "
                                "(export it for httpd, e.g. in /etc/apache2/envvars)", text + 4);
        *out = apr_pstrdup(p, value);
        return NULL;
    }
    if (strncmp(text, "file:", 5) == 0) {
        apr_file_t *f;
        apr_finfo_t info;
        apr_size_t len;
        char *buf;
        const char *path = text + 5;
        if (!*path)
            return "file: needs a path, e.g. file:/etc/apache2/cloudbase-admin.key";
        if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
            return apr_psprintf(p, "cannot read secret file %s (check it exists and httpd may read it)", path);
        if (apr_file_info_get(&info, APR_FINFO_SIZE, f) != APR_SUCCESS || info.size > 65536) {
            apr_file_close(f);
            return apr_psprintf(p, "secret file %s is unreadable or larger than 64 KiB", path);
        }
        len = (apr_size_t)info.size;
        buf = apr_palloc(p, len + 1);
        if (len && apr_file_read_full(f, buf, len, &len) != APR_SUCCESS) {
            apr_file_close(f);
            return apr_psprintf(p, "cannot read secret file %s", path);
        }
        apr_file_close(f);
        buf[len] = '\0';
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (!len)
            return apr_psprintf(p, "secret file %s is empty", path);
        *out = buf;
        return NULL;
    }
    *out = apr_pstrdup(p, text);
    return NULL;
}
