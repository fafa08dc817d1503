/*
 * token_cache.c: a per-process cache of access tokens whose signature was
 * verified, so a token seen again skips base64, HMAC/ECDSA and claim
 * parsing. It is a cb_cache (cloudbase/cache.h) keyed by the whole token:
 * a hit requires the byte-for-byte same token, so nothing forged can ever
 * match; the entry lives until the token's expiry plus the leeway it was
 * verified with, checked on every hit, and the session's liveness is still
 * checked by the session cache. Tokens of AUTH_TOKEN_CACHE_MAX bytes or
 * more, or with unusually long claims, are simply not cached.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

/* The claims the gateway needs from a verified token. */
typedef struct token_entry {
    int64_t exp;
    char sub[80], sid[40], kind[16], scope[64];
} token_entry;

cb_cache *auth_token_cache_create(apr_pool_t *p)
{
    return cb_cache_create(p, AUTH_TOKEN_CACHE_SLOTS, AUTH_TOKEN_CACHE_MAX - 1,
                           sizeof(token_entry));
}

static int copy_field(char *dst, size_t size, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= size)
        return 0;
    memcpy(dst, src ? src : "", len + 1);
    return 1;
}

int auth_token_cache_get(auth_state *st, apr_pool_t *p, const char *token, size_t len,
                         cb_jwt_claims *out)
{
    token_entry entry;
    size_t size = sizeof(entry);
    if (cb_cache_get(st->token_cache, token, len, &entry, &size) != APR_SUCCESS ||
        size != sizeof(entry))
        return 0;
    memset(out, 0, sizeof(*out));
    out->sub = apr_pstrdup(p, entry.sub);
    out->sid = apr_pstrdup(p, entry.sid);
    out->kind = apr_pstrdup(p, entry.kind);
    out->scope = apr_pstrdup(p, entry.scope);
    out->env = st->env;
    out->exp = entry.exp;
    return 1;
}

void auth_token_cache_put(auth_state *st, const char *token, size_t len,
                          const cb_jwt_claims *claims, int64_t leeway)
{
    token_entry entry;
    apr_interval_time_t ttl = apr_time_from_sec(claims->exp + leeway) - apr_time_now();
    memset(&entry, 0, sizeof(entry));
    if (!copy_field(entry.sub, sizeof(entry.sub), claims->sub) ||
        !copy_field(entry.sid, sizeof(entry.sid), claims->sid) ||
        !copy_field(entry.kind, sizeof(entry.kind), claims->kind) ||
        !copy_field(entry.scope, sizeof(entry.scope), claims->scope))
        return; /* unusually long claims: verify every time */
    entry.exp = claims->exp;
    if (ttl > 0)
        cb_cache_set(st->token_cache, token, len, &entry, sizeof(entry), ttl);
}
