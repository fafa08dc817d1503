/*
 * allowlist.c: the secure-domain allowlist (CloudBaseSecureDomains).
 *
 * Entries are exact origins ("https://app.example.com", "http://127.0.0.1:8080")
 * or wildcard hosts ("*.example.com" after the scheme, which matches any subdomain at any
 * depth but not example.com itself). An Origin header is compared only after
 * strict parsing into scheme, host and port: anything that is not exactly a
 * serialised origin ("null", a path, user info, a trailing dot, odd bytes) is
 * refused. Exact entries are looked up in a hash; wildcards are checked
 * label by label, so "example.com.evil.com" and "evil-example.com" fail.
 * Also here: the same-origin test against the Host header, and the check
 * of a preflight's requested header list before it is echoed.
 */
#include <ctype.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "cb_core.h"

#define MAX_ORIGIN_LENGTH 512

typedef struct wildcard {
    const char *scheme;
    const char *suffix;   /* ".example.com" */
    size_t suffix_len;
    int port;
} wildcard;

struct cb_allowlist {
    apr_hash_t *exact;             /* normalised origin -> "" */
    apr_array_header_t *wildcards; /* wildcard */
};

typedef struct origin_parts {
    const char *scheme;
    char host[MAX_ORIGIN_LENGTH];
    int port;
    int host_is_wildcard;
} origin_parts;

cb_allowlist *cb_allowlist_create(apr_pool_t *p)
{
    cb_allowlist *a = apr_pcalloc(p, sizeof(*a));
    a->exact = apr_hash_make(p);
    a->wildcards = apr_array_make(p, 4, sizeof(wildcard));
    return a;
}

static int host_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.';
}

/* Parses "scheme://host[:port]" with nothing after it. With allow_wildcard,
 * the host may start with "*.". Returns 0 when the text is not an origin. */
static int parse_origin(const char *text, int allow_wildcard, origin_parts *out)
{
    const char *s, *host_start;
    size_t host_len, i;
    if (!text || strlen(text) >= MAX_ORIGIN_LENGTH)
        return 0;
    if (strncasecmp(text, "https://", 8) == 0) {
        out->scheme = "https"; out->port = 443; s = text + 8;
    } else if (strncasecmp(text, "http://", 7) == 0) {
        out->scheme = "http"; out->port = 80; s = text + 7;
    } else {
        return 0;
    }
    out->host_is_wildcard = 0;
    host_start = s;
    if (*s == '[') {
        /* IPv6 literal: hex digits, colons and dots inside brackets. */
        const char *close = strchr(s, ']');
        if (!close || close == s + 1)
            return 0;
        for (const char *c = s + 1; c < close; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                return 0;
        s = close + 1;
    } else {
        if (allow_wildcard && s[0] == '*' && s[1] == '.') {
            out->host_is_wildcard = 1;
            s += 2;
            host_start = s;
        }
        while (*s && *s != ':')
            if (!host_char_ok(*s++))
                return 0;
    }
    host_len = (size_t)(s - host_start);
    if (host_len == 0 || host_start[0] == '.' || host_start[host_len - 1] == '.')
        return 0;
    for (i = 0; i + 1 < host_len; i++)
        if (host_start[i] == '.' && host_start[i + 1] == '.')
            return 0;
    for (i = 0; i < host_len; i++)
        out->host[i] = (char)tolower((unsigned char)host_start[i]);
    out->host[host_len] = '\0';
    if (*s == ':') {
        int port = 0, digits = 0;
        s++;
        while (*s >= '0' && *s <= '9' && digits < 6) {
            port = port * 10 + (*s++ - '0');
            digits++;
        }
        if (!digits || port < 1 || port > 65535)
            return 0;
        out->port = port;
    }
    return *s == '\0';
}

static int default_port(const char *scheme)
{
    return strcmp(scheme, "https") == 0 ? 443 : 80;
}

static const char *serialise(apr_pool_t *p, const origin_parts *o)
{
    if (o->port == default_port(o->scheme))
        return apr_pstrcat(p, o->scheme, "://", o->host, NULL);
    return apr_psprintf(p, "%s://%s:%d", o->scheme, o->host, o->port);
}

const char *cb_origin_normalize(apr_pool_t *p, const char *origin)
{
    origin_parts o;
    if (!parse_origin(origin, 0, &o))
        return NULL;
    return serialise(p, &o);
}

const char *cb_allowlist_add(cb_allowlist *a, apr_pool_t *p, const char *entry)
{
    origin_parts o;
    if (!parse_origin(entry, 1, &o))
        return apr_psprintf(p, "'%s' is not an origin: write scheme://host[:port] with no path, "
                            "e.g. https://app.example.com or https://*.example.com", entry);
    if (o.host_is_wildcard) {
        wildcard *w;
        if (!strchr(o.host, '.'))
            return apr_psprintf(p, "'%s' is too broad: a wildcard needs at least a domain and "
                                "a top-level domain (https://*.example.com)", entry);
        w = apr_array_push(a->wildcards);
        w->scheme = o.scheme;
        w->suffix = apr_pstrcat(p, ".", o.host, NULL);
        w->suffix_len = strlen(w->suffix);
        w->port = o.port;
        return NULL;
    }
    apr_hash_set(a->exact, serialise(p, &o), APR_HASH_KEY_STRING, "");
    return NULL;
}

int cb_allowlist_count(const cb_allowlist *a)
{
    return (int)apr_hash_count(a->exact) + a->wildcards->nelts;
}

int cb_allowlist_allows(const cb_allowlist *a, const char *origin)
{
    origin_parts o;
    char key[MAX_ORIGIN_LENGTH + 16];
    size_t host_len;
    if (!a || !parse_origin(origin, 0, &o))
        return 0;
    if (o.port == default_port(o.scheme))
        apr_snprintf(key, sizeof(key), "%s://%s", o.scheme, o.host);
    else
        apr_snprintf(key, sizeof(key), "%s://%s:%d", o.scheme, o.host, o.port);
    if (apr_hash_get(a->exact, key, APR_HASH_KEY_STRING))
        return 1;
    host_len = strlen(o.host);
    for (int i = 0; i < a->wildcards->nelts; i++) {
        const wildcard *w = &((const wildcard *)a->wildcards->elts)[i];
        if (strcmp(w->scheme, o.scheme) != 0 || w->port != o.port)
            continue;
        /* At least one label before the suffix, and the suffix starts at a
         * label boundary (it begins with '.'). */
        if (host_len > w->suffix_len &&
            strcmp(o.host + host_len - w->suffix_len, w->suffix) == 0)
            return 1;
    }
    return 0;
}

int cb_origin_is_own(apr_pool_t *p, const char *scheme, const char *host, const char *origin)
{
    const char *own, *normalized;
    if (!scheme || !host || !origin)
        return 0;
    own = cb_origin_normalize(p, apr_pstrcat(p, scheme, "://", host, NULL));
    normalized = cb_origin_normalize(p, origin);
    return own && normalized && strcmp(own, normalized) == 0;
}

int cb_cors_header_list_ok(const char *list)
{
    for (const char *s = list; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == ',' || *s == ' '))
            return 0;
    return 1;
}
