/*
 * token_cache.c: a per-process cache of access tokens whose signature was
 * verified, so a token seen again skips base64, HMAC/ECDSA and claim
 * parsing. A hit requires the byte-for-byte same token (compared in full),
 * so nothing forged can ever match; expiry is checked again on every hit,
 * and the session's liveness is still checked by the session cache. Tokens
 * longer than AUTH_TOKEN_CACHE_MAX are simply not cached.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

/* Hashes only the signature (the last bytes): it already varies per token. */
static unsigned slot_for(const char *token, size_t len)
{
    size_t start = len > 48 ? len - 48 : 0;
    return (unsigned)(cb_fnv1a(CB_FNV1A_INIT, token + start, len - start) % AUTH_TOKEN_CACHE_SLOTS);
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
                         int64_t now, cb_jwt_claims *out)
{
    unsigned index;
    auth_token_slot *slot;
    int hit = 0;
    if (len >= AUTH_TOKEN_CACHE_MAX)
        return 0;
    index = slot_for(token, len);
    slot = &st->token_cache[index];
    apr_thread_rwlock_rdlock(st->token_locks[index % AUTH_CACHE_LOCKS]);
    if (slot->len == len && slot->exp > now && memcmp(slot->token, token, len) == 0) {
        memset(out, 0, sizeof(*out));
        out->sub = apr_pstrdup(p, slot->sub);
        out->sid = apr_pstrdup(p, slot->sid);
        out->kind = apr_pstrdup(p, slot->kind);
        out->scope = apr_pstrdup(p, slot->scope);
        out->env = st->env;
        out->exp = slot->exp;
        hit = 1;
    }
    apr_thread_rwlock_unlock(st->token_locks[index % AUTH_CACHE_LOCKS]);
    return hit;
}

void auth_token_cache_put(auth_state *st, const char *token, size_t len,
                          const cb_jwt_claims *claims)
{
    unsigned index;
    auth_token_slot *slot, fresh;
    if (len >= AUTH_TOKEN_CACHE_MAX)
        return;
    memset(&fresh, 0, sizeof(fresh));
    if (!copy_field(fresh.sub, sizeof(fresh.sub), claims->sub) ||
        !copy_field(fresh.sid, sizeof(fresh.sid), claims->sid) ||
        !copy_field(fresh.kind, sizeof(fresh.kind), claims->kind) ||
        !copy_field(fresh.scope, sizeof(fresh.scope), claims->scope))
        return; /* unusually long claims: verify every time */
    memcpy(fresh.token, token, len);
    fresh.len = len;
    fresh.exp = claims->exp;
    index = slot_for(token, len);
    slot = &st->token_cache[index];
    apr_thread_rwlock_wrlock(st->token_locks[index % AUTH_CACHE_LOCKS]);
    *slot = fresh;
    apr_thread_rwlock_unlock(st->token_locks[index % AUTH_CACHE_LOCKS]);
}
