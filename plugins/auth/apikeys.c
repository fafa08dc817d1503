/*
 * apikeys.c: API keys for server-to-server and enterprise callers.
 *
 * A key is "cbk_ENV_" followed by 32 random hex digits (in the spirit of
 * TestBase's tb_{env}_{32hex}); it is shown once, at creation. Redis keeps
 * only its SHA-256 (cb:{env}:apikey:HASH: id, name, display prefix, scopes,
 * expiry) and an index cb:{env}:apikeys (id -> hash) for listing and
 * revoking. Verified keys are cached per process within the staleness bound,
 * like sessions, so a revoked key stops working within that bound.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

#define DISPLAY_PREFIX_EXTRA 4     /* random digits shown after "cbk_ENV_" */

static const char *key_prefix(apr_pool_t *p, const auth_state *st)
{
    return apr_pstrcat(p, "cbk_", st->env, "_", NULL);
}


const char auth_script_key_create[] =
        "redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'prefix', ARGV[3], "
        "'scopes', ARGV[4], 'created', ARGV[5], 'expires', ARGV[6]) "
        "redis.call('HSET', KEYS[2], ARGV[1], ARGV[7]) "
        "if tonumber(ARGV[6]) > 0 then redis.call('EXPIREAT', KEYS[1], ARGV[6]) end "
        "return 1";

apr_status_t auth_apikey_create(auth_state *st, apr_pool_t *p, const char *name,
                                int64_t expires_in, const char *scopes_json,
                                auth_apikey *out, const char **secret)
{
    const char *random = cb_random_hex(p, AUTH_KEY_RANDOM_HEX / 2);
    const char *id = cb_random_hex(p, AUTH_ID_LENGTH / 2), *key, *hash;
    int64_t now = apr_time_sec(apr_time_now());
    const cb_redis_reply *reply;
    apr_status_t rv;
    if (!random || !id)
        return APR_EGENERAL;
    key = apr_pstrcat(p, key_prefix(p, st), random, NULL);
    hash = cb_sha256_hex(p, key, strlen(key));
    out->id = id;
    out->name = name;
    out->prefix = apr_pstrndup(p, key, strlen(key_prefix(p, st)) + DISPLAY_PREFIX_EXTRA);
    out->scopes_json = scopes_json ? scopes_json : "[]";
    out->created_at = now;
    out->expires_at = expires_in > 0 ? now + expires_in : 0;
    {
        const char *argv[] = {auth_key(p, st, "apikey", hash), auth_key(p, st, "apikeys", "index"),
                              id, name, out->prefix, out->scopes_json,
                              apr_ltoa(p, (long)now), apr_ltoa(p, (long)out->expires_at), hash};
        rv = cb_redis_eval(st->redis, p, &st->scripts.key_create, 2, 9, argv, NULL, &reply);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        return APR_EGENERAL;
    *secret = key;
    return APR_SUCCESS;
}

static const char *field(const cb_redis_reply *r, size_t i, apr_pool_t *p)
{
    return cb_redis_reply_strdup(p, cb_redis_reply_element(r, i));
}

auth_key_result auth_apikey_verify(auth_state *st, apr_pool_t *p, const char *secret,
                                   auth_apikey *out)
{
    const char *hash, *cache_key;
    const char *argv[8];
    const cb_redis_reply *reply;
    auth_activity cached;
    if (!auth_apikey_shape(st, secret))
        return AUTH_KEY_INVALID;
    hash = cb_sha256_hex(p, secret, strlen(secret));
    cache_key = apr_pstrcat(p, "k:", hash, NULL);
    argv[0] = "HMGET";
    argv[1] = auth_key(p, st, "apikey", hash);
    argv[2] = "id"; argv[3] = "name"; argv[4] = "prefix"; argv[5] = "scopes";
    argv[6] = "created"; argv[7] = "expires";
    cached = auth_cache_lookup(st, cache_key);
    if (cached == AUTH_INACTIVE)
        return AUTH_KEY_INVALID;
    if (cb_redis_command(st->redis, p, 8, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY) {
        if (cached != AUTH_ACTIVE)
            return AUTH_KEY_DOWN;
        /* Verified within the staleness bound: details are not needed to
         * keep serving it while Redis is away. */
        out->id = out->name = out->prefix = NULL;
        out->scopes_json = "[]";
        out->created_at = out->expires_at = 0;
        return AUTH_KEY_OK;
    }
    out->id = field(reply, 0, p);
    out->name = field(reply, 1, p);
    out->prefix = field(reply, 2, p);
    out->scopes_json = field(reply, 3, p);
    out->created_at = field(reply, 4, p) ? apr_atoi64(field(reply, 4, p)) : 0;
    out->expires_at = field(reply, 5, p) ? apr_atoi64(field(reply, 5, p)) : 0;
    if (!out->id || (out->expires_at && out->expires_at <= apr_time_sec(apr_time_now()))) {
        auth_cache_store(st, cache_key, 0);
        return AUTH_KEY_INVALID;
    }
    if (!out->scopes_json)
        out->scopes_json = "[]";
    auth_cache_store(st, cache_key, 1);
    return AUTH_KEY_OK;
}

/* KEYS: the index, then the key hash of each listed id. ARGV: the ids, in
 * the same order. Every key comes in KEYS (Redis Cluster); an id whose
 * hash is gone leaves the index. */
const char auth_script_key_list[] =
        "local out = {} "
        "for i = 1, #ARGV do "
        "  local v = redis.call('HMGET', KEYS[i + 1], 'id', 'name', 'prefix', 'scopes', 'created', 'expires') "
        "  if v[1] then table.insert(out, v) else redis.call('HDEL', KEYS[1], ARGV[i]) end "
        "end return out";

apr_status_t auth_apikey_list(auth_state *st, apr_pool_t *p, cb_json **out)
{
    const char *index_key = auth_key(p, st, "apikeys", "index");
    const char *get_index[] = {"HGETALL", index_key};
    const char **argv;
    int ids;
    const cb_redis_reply *index, *reply;
    apr_status_t rv;
    /* The index names the key hashes, which the script must be given as
     * KEYS: read it first. */
    rv = cb_redis_command(st->redis, p, 2, get_index, NULL, &index);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(index) != CB_REDIS_REPLY_ARRAY)
        return APR_EGENERAL;
    ids = (int)(cb_redis_reply_count(index) / 2);
    argv = apr_palloc(p, sizeof(char *) * (size_t)(1 + 2 * ids));
    argv[0] = index_key;
    for (int i = 0; i < ids; i++) {
        const char *id = field(index, (size_t)(2 * i), p);
        const char *hash = field(index, (size_t)(2 * i + 1), p);
        if (!id || !hash)
            return APR_EGENERAL;
        argv[1 + i] = auth_key(p, st, "apikey", hash);
        argv[1 + ids + i] = id;
    }
    rv = cb_redis_eval(st->redis, p, &st->scripts.key_list, 1 + ids, 1 + 2 * ids, argv, NULL,
                       &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return APR_EGENERAL;
    *out = cb_json_new_array(p);
    for (size_t i = 0; i < cb_redis_reply_count(reply); i++) {
        const cb_redis_reply *k = cb_redis_reply_element(reply, i);
        cb_json *entry = cb_json_new_object(p);
        cb_json_set_string(entry, "id", field(k, 0, p));
        cb_json_set_string(entry, "name", field(k, 1, p));
        cb_json_set_string(entry, "prefix", field(k, 2, p));
        cb_json_set(entry, "scopes", auth_stored_array(p, field(k, 3, p)));
        cb_json_set_int(entry, "created_at", apr_atoi64(field(k, 4, p) ? field(k, 4, p) : "0"));
        cb_json_set_int(entry, "expires_at", apr_atoi64(field(k, 5, p) ? field(k, 5, p) : "0"));
        cb_json_append(*out, entry);
    }
    return APR_SUCCESS;
}

/* KEYS: the index, the key hash. ARGV: the id, its hash (as read from the
 * index). Revokes only while the index still maps the id to that hash. */
const char auth_script_key_revoke[] =
        "if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end "
        "redis.call('DEL', KEYS[2]) redis.call('HDEL', KEYS[1], ARGV[1]) "
        "return ARGV[2]";

apr_status_t auth_apikey_revoke(auth_state *st, apr_pool_t *p, const char *id)
{
    const char *index_key = auth_key(p, st, "apikeys", "index");
    const char *get_hash[] = {"HGET", index_key, id};
    const char *hash;
    const cb_redis_reply *reply;
    apr_status_t rv;
    /* The key hash comes in KEYS, so read it from the index first. */
    rv = cb_redis_command(st->redis, p, 3, get_hash, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    hash = cb_redis_reply_strdup(p, reply);
    if (!hash)
        return APR_NOTFOUND;
    {
        const char *argv[] = {index_key, auth_key(p, st, "apikey", hash), id, hash};
        rv = cb_redis_eval(st->redis, p, &st->scripts.key_revoke, 2, 4, argv, NULL, &reply);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_STRING)
        return APR_NOTFOUND;
    auth_cache_store(st, apr_pstrcat(p, "k:", cb_redis_reply_strdup(p, reply), NULL), 0);
    return APR_SUCCESS;
}
