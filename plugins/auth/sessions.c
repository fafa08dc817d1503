/*
 * sessions.c: sign-in sessions in Redis, rotating refresh tokens with reuse
 * detection, and the per-process cache of verified sessions.
 *
 * A session is a hash cb:{env}:sess:SID (uid, kind, scope, groups and the
 * SHA-256 of the current refresh secret) that lives as long as a refresh
 * token. A refresh token is "SID.SECRET"; only the secret's hash is stored.
 * Rotation is one Lua script: the presented hash must be the current one; it
 * moves to the session's set of used hashes and a new hash replaces it. A
 * hash found in the used set means a stolen-and-replayed token: the whole
 * session is deleted. Access tokens name their session (sid), so deleting a
 * session ends them too, within the cache's staleness bound.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

const char *auth_key(apr_pool_t *p, const auth_state *st, const char *kind, const char *id)
{
    return cb_redis_key(p, st->env, kind, id, NULL);
}



/* ---------------------------------------------------------------- cache */

/* What was found in Redis, kept for the staleness bound (a cb_cache). */
auth_activity auth_cache_lookup(auth_state *st, const char *key)
{
    char active;
    size_t len = sizeof(active);
    if (cb_cache_get(st->cache, key, strlen(key), &active, &len) != APR_SUCCESS)
        return AUTH_UNKNOWN;
    return active ? AUTH_ACTIVE : AUTH_INACTIVE;
}

void auth_cache_store(auth_state *st, const char *key, int active)
{
    char value = active ? 1 : 0;
    /* A key too long, or a bound of 0, is simply not cached. */
    cb_cache_set(st->cache, key, strlen(key), &value, sizeof(value), st->cache_bound);
}

void auth_cache_forget(auth_state *st, const char *key)
{
    cb_cache_remove(st->cache, key, strlen(key));
}

/* ---------------------------------------------------------------- sessions */

static const char *new_refresh_secret(apr_pool_t *p, const char *sid, const char **hash)
{
    const char *secret = cb_random_hex(p, 32);
    if (!secret)
        return NULL;
    *hash = cb_sha256_hex(p, secret, strlen(secret));
    return apr_pstrcat(p, sid, ".", secret, NULL);
}

const char auth_script_create_session[] =
        "redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'kind', ARGV[2], 'scope', ARGV[3], "
        "'groups', ARGV[4], 'refresh', ARGV[5], 'created', ARGV[6]) "
        "redis.call('EXPIRE', KEYS[1], ARGV[7]) return 1";

apr_status_t auth_session_create(auth_state *st, apr_pool_t *p, const char *uid,
                                 const char *kind, const char *scope,
                                 const char *groups_json, auth_session *out,
                                 const char **refresh_token)
{
    const char *sid = cb_random_hex(p, AUTH_ID_LENGTH / 2), *hash, *token, *key;
    char ttl[32];
    const cb_redis_reply *reply;
    apr_status_t rv;
    if (!sid || !(token = new_refresh_secret(p, sid, &hash)))
        return APR_EGENERAL;
    key = auth_key(p, st, "sess", sid);
    apr_snprintf(ttl, sizeof(ttl), "%" APR_INT64_T_FMT, st->refresh_ttl);
    {
        const char *argv[] = {key, uid, kind, scope, groups_json, hash,
                              apr_itoa(p, (int)apr_time_sec(apr_time_now())), ttl};
        rv = cb_redis_eval(st->redis, p, &st->scripts.create_session, 1, 8, argv, NULL, &reply);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        return APR_EGENERAL;
    out->sid = sid;
    out->uid = uid;
    out->kind = kind;
    out->scope = scope;
    out->groups_json = groups_json;
    *refresh_token = token;
    auth_cache_store(st, apr_pstrcat(p, "s:", sid, NULL), 1);
    return APR_SUCCESS;
}

const char auth_script_rotate[] =
    "local current = redis.call('HGET', KEYS[1], 'refresh') "
    "if not current then return {0} end "
    "if current == ARGV[1] then "
    "  redis.call('HSET', KEYS[1], 'refresh', ARGV[2]) "
    "  redis.call('SADD', KEYS[2], ARGV[1]) "
    "  redis.call('EXPIRE', KEYS[1], ARGV[3]) "
    "  redis.call('EXPIRE', KEYS[2], ARGV[3]) "
    "  return {1, redis.call('HMGET', KEYS[1], 'uid', 'kind', 'scope', 'groups')} "
    "end "
    "if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then "
    "  redis.call('DEL', KEYS[1], KEYS[2]) return {2} "
    "end "
    "return {0}";

static const char *element_string(const cb_redis_reply *array, size_t i, apr_pool_t *p)
{
    return cb_redis_reply_strdup(p, cb_redis_reply_element(array, i));
}

auth_refresh_result auth_session_refresh(auth_state *st, apr_pool_t *p, const char *token,
                                         auth_session *out, const char **new_refresh)
{
    const char *sid = auth_refresh_token_sid(p, token), *presented, *hash, *fresh;
    const char *session_key, *used_key;
    char ttl[32];
    const cb_redis_reply *reply;
    if (!sid)
        return AUTH_REFRESH_INVALID;
    presented = cb_sha256_hex(p, token + AUTH_ID_LENGTH + 1, 64);
    if (!(fresh = new_refresh_secret(p, sid, &hash)))
        return AUTH_REFRESH_DOWN;
    session_key = auth_key(p, st, "sess", sid);
    used_key = apr_pstrcat(p, session_key, ":used", NULL);
    apr_snprintf(ttl, sizeof(ttl), "%" APR_INT64_T_FMT, st->refresh_ttl);
    {
        const char *argv[] = {session_key, used_key, presented, hash, ttl};
        if (cb_redis_eval(st->redis, p, &st->scripts.rotate, 2, 5, argv, NULL, &reply) != APR_SUCCESS ||
            cb_redis_reply_kind(cb_redis_reply_element(reply, 0)) != CB_REDIS_REPLY_INTEGER)
            return AUTH_REFRESH_DOWN;
    }
    switch (cb_redis_reply_integer(cb_redis_reply_element(reply, 0))) {
    case 1: {
        const cb_redis_reply *fields = cb_redis_reply_element(reply, 1);
        if (cb_redis_reply_kind(fields) != CB_REDIS_REPLY_ARRAY)
            return AUTH_REFRESH_DOWN;
        out->sid = sid;
        out->uid = element_string(fields, 0, p);
        out->kind = element_string(fields, 1, p);
        out->scope = element_string(fields, 2, p);
        out->groups_json = element_string(fields, 3, p);
        if (!out->uid || !out->kind)
            return AUTH_REFRESH_INVALID;
        if (!out->scope)
            out->scope = out->kind;
        if (!out->groups_json)
            out->groups_json = "[]";
        *new_refresh = fresh;
        return AUTH_REFRESH_OK;
    }
    case 2:
        auth_cache_store(st, apr_pstrcat(p, "s:", sid, NULL), 0);
        return AUTH_REFRESH_REUSED;
    default:
        return AUTH_REFRESH_INVALID;
    }
}

apr_status_t auth_session_revoke(auth_state *st, apr_pool_t *p, const char *sid)
{
    const char *session_key = auth_key(p, st, "sess", sid);
    const char *argv[] = {"DEL", session_key, apr_pstrcat(p, session_key, ":used", NULL)};
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_command(st->redis, p, 3, argv, NULL, &reply);
    if (rv == APR_SUCCESS)
        auth_cache_store(st, apr_pstrcat(p, "s:", sid, NULL), 0);
    return rv;
}

auth_activity auth_session_active(auth_state *st, apr_pool_t *p, const char *sid)
{
    const char *cache_key = apr_pstrcat(p, "s:", sid, NULL);
    const char *argv[2];
    const cb_redis_reply *reply;
    auth_activity cached = auth_cache_lookup(st, cache_key);
    if (cached != AUTH_UNKNOWN)
        return cached;
    argv[0] = "EXISTS";
    argv[1] = auth_key(p, st, "sess", sid);
    if (cb_redis_command(st->redis, p, 2, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER)
        return AUTH_UNKNOWN;
    auth_cache_store(st, cache_key, cb_redis_reply_integer(reply) == 1);
    return cb_redis_reply_integer(reply) == 1 ? AUTH_ACTIVE : AUTH_INACTIVE;
}
