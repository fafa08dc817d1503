/*
 * apikeys.c: API keys for server-to-server and enterprise callers.
 *
 * A key is "cbk_ENV_" followed by 32 random hex digits, or, asked for
 * with prefix "tb", TestBase's tb_{env}_{32hex}; it is shown once, at
 * creation. The database
 * keeps only its SHA-256 (table auth_apikeys: id, name, display prefix,
 * scopes, expiry; schema.c). Redis caches a verified key as a hash
 * cb:{env}:apikey-cache:HASH for AUTH_KEY_CACHE_TTL (never past the key's
 * expiry), and each process remembers the verdict for the staleness bound,
 * like sessions. Revoking deletes the row first, then the Redis entry and
 * this process's verdict; other processes stop accepting the key within
 * the staleness bound, and a cache fill that raced the revocation within
 * AUTH_KEY_CACHE_TTL.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

#define DISPLAY_PREFIX_EXTRA 4     /* random digits shown after "cbk_ENV_" */
#define KEY_COLUMNS "id, name, prefix, scopes_json, created_at, expires_at"

static const char *key_prefix(apr_pool_t *p, const auth_state *st, const char *word)
{
    return apr_pstrcat(p, word ? word : "cbk", "_", st->env, "_", NULL);
}

apr_status_t auth_apikey_insert(auth_state *st, apr_pool_t *p, const auth_apikey *k,
                                const char *hash, int *inserted)
{
    const char *args[] = {st->env, k->id, hash, k->name, k->prefix,
                          k->scopes_json ? k->scopes_json : "[]",
                          apr_ltoa(p, (long)k->created_at), apr_ltoa(p, (long)k->expires_at)};
    return auth_db_insert(st, p, "INSERT INTO auth_apikeys (env, id, secret_hash, name, prefix, "
                          "scopes_json, created_at, expires_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          8, args, inserted);
}

apr_status_t auth_apikey_create(auth_state *st, apr_pool_t *p, const char *name,
                                int64_t expires_in, const char *scopes_json, const char *prefix,
                                auth_apikey *out, const char **secret)
{
    return auth_apikey_create_prefixed(st, p, key_prefix(p, st, prefix), name, expires_in,
                                       scopes_json, out, secret);
}

apr_status_t auth_apikey_create_prefixed(auth_state *st, apr_pool_t *p, const char *prefix,
                                         const char *name, int64_t expires_in,
                                         const char *scopes_json, auth_apikey *out,
                                         const char **secret)
{
    const char *random = cb_random_hex(p, AUTH_KEY_RANDOM_HEX / 2);
    const char *id = cb_random_hex(p, AUTH_ID_LENGTH / 2), *key;
    int64_t now = apr_time_sec(apr_time_now());
    int inserted;
    apr_status_t rv;
    if (!random || !id)
        return APR_EGENERAL;
    if (!prefix)
        prefix = key_prefix(p, st, NULL);
    key = apr_pstrcat(p, prefix, random, NULL);
    out->id = id;
    out->name = name;
    out->prefix = apr_pstrndup(p, key, strlen(prefix) + DISPLAY_PREFIX_EXTRA);
    out->scopes_json = scopes_json ? scopes_json : "[]";
    out->created_at = now;
    out->expires_at = expires_in > 0 ? now + expires_in : 0;
    rv = auth_apikey_insert(st, p, out, cb_sha256_hex(p, key, strlen(key)), &inserted);
    if (rv != APR_SUCCESS)
        return rv;
    if (!inserted)
        return APR_EGENERAL; /* 128 random bits collided: never in practice */
    *secret = key;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ verify */

apr_status_t auth_apikey_from_hash(auth_state *st, apr_pool_t *p, const char *key,
                                   auth_apikey *out)
{
    static const char *const fields[] = {"id", "name", "prefix", "scopes", "created", "expires"};
    const char *v[6];
    apr_status_t rv = auth_hash_fields(st, p, key, 6, fields, v);
    if (rv != APR_SUCCESS)
        return rv;
    if (!v[0])
        return APR_NOTFOUND;
    out->id = v[0];
    out->name = v[1] ? v[1] : "";
    out->prefix = v[2] ? v[2] : "";
    out->scopes_json = v[3] ? v[3] : "[]";
    out->created_at = v[4] ? apr_atoi64(v[4]) : 0;
    out->expires_at = v[5] ? apr_atoi64(v[5]) : 0;
    return APR_SUCCESS;
}

/* Best effort, and never past the key's own expiry. */
static void cache_fill(auth_state *st, apr_pool_t *p, const char *key, const auth_apikey *k)
{
    const cb_redis_reply *reply;
    int64_t until = apr_time_sec(apr_time_now()) + AUTH_KEY_CACHE_TTL;
    const char *argv[15];
    if (k->expires_at && k->expires_at < until)
        until = k->expires_at;
    argv[0] = key; argv[1] = "at"; argv[2] = apr_ltoa(p, (long)until);
    argv[3] = "id"; argv[4] = k->id; argv[5] = "name"; argv[6] = k->name;
    argv[7] = "prefix"; argv[8] = k->prefix; argv[9] = "scopes"; argv[10] = k->scopes_json;
    argv[11] = "created"; argv[12] = apr_ltoa(p, (long)k->created_at);
    argv[13] = "expires"; argv[14] = apr_ltoa(p, (long)k->expires_at);
    cb_redis_eval(st->redis, p, &st->scripts.cache_fill, 1,
                  (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL, &reply);
}

static apr_status_t db_read(auth_state *st, apr_pool_t *p, const char *hash, auth_apikey *out)
{
    const char *args[] = {st->env, hash};
    cb_db_result *res;
    int64_t created = 0, expires = 0;
    apr_status_t rv = cb_db_select(st->db, p, "SELECT " KEY_COLUMNS " FROM auth_apikeys "
                                   "WHERE env = ? AND secret_hash = ?", 2, args, &res);
    if (rv != APR_SUCCESS)
        return AUTH_EDOWN; /* never "no such key" */
    if (res->rows == 0)
        return APR_NOTFOUND;
    out->id = cb_db_text(res, 0, 0);
    out->name = cb_db_text(res, 0, 1);
    out->prefix = cb_db_text(res, 0, 2);
    out->scopes_json = cb_db_text(res, 0, 3) ? cb_db_text(res, 0, 3) : "[]";
    cb_db_int64(res, 0, 4, &created);
    cb_db_int64(res, 0, 5, &expires);
    out->created_at = created;
    out->expires_at = expires;
    return out->id ? APR_SUCCESS : APR_EGENERAL;
}

/* This process's copy of a verified key's record, kept for cache_bound
 * like the verdict: a key checked again within it needs no Redis round
 * trip. The fields are stored NUL-separated: id, name, prefix, scopes,
 * created, expires. */
static void remember_key(auth_state *st, apr_pool_t *p, const char *verdict_key,
                         const auth_apikey *k)
{
    const char *fields[] = {k->id ? k->id : "", k->name ? k->name : "",
                            k->prefix ? k->prefix : "", k->scopes_json ? k->scopes_json : "[]",
                            apr_off_t_toa(p, (apr_off_t)k->created_at),
                            apr_off_t_toa(p, (apr_off_t)k->expires_at)};
    char value[AUTH_KEY_CACHE_VALUE_MAX];
    size_t used = 0;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        size_t n = strlen(fields[i]) + 1;
        if (used + n > sizeof(value))
            return; /* too large to keep: Redis answers each time */
        memcpy(value + used, fields[i], n);
        used += n;
    }
    cb_cache_set(st->key_cache, verdict_key, strlen(verdict_key), value, used, st->cache_bound);
}

static int recall_key(auth_state *st, apr_pool_t *p, const char *verdict_key, auth_apikey *out)
{
    char value[AUTH_KEY_CACHE_VALUE_MAX];
    const char *fields[6];
    size_t len = sizeof(value), at = 0;
    if (cb_cache_get(st->key_cache, verdict_key, strlen(verdict_key), value, &len) != APR_SUCCESS)
        return 0;
    for (int i = 0; i < 6; i++) {
        const char *end = at < len ? memchr(value + at, '\0', len - at) : NULL;
        if (!end)
            return 0;
        fields[i] = apr_pstrmemdup(p, value + at, (apr_size_t)(end - (value + at)));
        at = (size_t)(end - value) + 1;
    }
    out->id = fields[0];
    out->name = fields[1];
    out->prefix = fields[2];
    out->scopes_json = fields[3];
    out->created_at = apr_atoi64(fields[4]);
    out->expires_at = apr_atoi64(fields[5]);
    return 1;
}

auth_key_result auth_apikey_verify(auth_state *st, apr_pool_t *p, const char *secret,
                                   auth_apikey *out)
{
    const char *hash, *verdict_key, *redis_key;
    auth_activity cached;
    apr_status_t rv;
    if (!auth_apikey_shape(st, secret))
        return AUTH_KEY_INVALID;
    hash = cb_sha256_hex(p, secret, strlen(secret));
    verdict_key = apr_pstrcat(p, "k:", hash, NULL);
    cached = auth_cache_lookup(st, verdict_key);
    if (cached == AUTH_INACTIVE)
        return AUTH_KEY_INVALID;
    if (cached == AUTH_ACTIVE && recall_key(st, p, verdict_key, out) &&
        (!out->expires_at || out->expires_at > apr_time_sec(apr_time_now())))
        return AUTH_KEY_OK;
    redis_key = auth_key(p, st, "apikey-cache", hash); /* only past this process's copy */
    /* A miss, or Redis away: the database answers. */
    if (auth_apikey_from_hash(st, p, redis_key, out) == APR_SUCCESS)
        rv = APR_SUCCESS;
    else if ((rv = db_read(st, p, hash, out)) == APR_SUCCESS)
        cache_fill(st, p, redis_key, out);
    if (rv == APR_NOTFOUND) {
        auth_cache_store(st, verdict_key, 0);
        return AUTH_KEY_INVALID;
    }
    if (rv != APR_SUCCESS) {
        if (cached != AUTH_ACTIVE)
            return AUTH_KEY_DOWN;
        /* Verified within the staleness bound: details are not needed to
         * keep serving it while the stores are away. */
        out->id = out->name = out->prefix = NULL;
        out->scopes_json = "[]";
        out->created_at = out->expires_at = 0;
        return AUTH_KEY_OK;
    }
    if (out->expires_at && out->expires_at <= apr_time_sec(apr_time_now())) {
        auth_cache_store(st, verdict_key, 0);
        return AUTH_KEY_INVALID;
    }
    auth_cache_store(st, verdict_key, 1);
    remember_key(st, p, verdict_key, out);
    return AUTH_KEY_OK;
}

/* ------------------------------------------------------------- list, revoke */

apr_status_t auth_apikey_list(auth_state *st, apr_pool_t *p, cb_json **out)
{
    const char *args[] = {st->env, apr_ltoa(p, (long)apr_time_sec(apr_time_now()))};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(st->db, p, "SELECT " KEY_COLUMNS " FROM auth_apikeys "
                                   "WHERE env = ? AND (expires_at = 0 OR expires_at > ?) "
                                   "ORDER BY created_at, id", 2, args, &res);
    if (rv != APR_SUCCESS)
        return auth_db_status(rv);
    *out = cb_json_new_array(p);
    for (int r = 0; r < res->rows; r++) {
        cb_json *entry = cb_json_new_object(p);
        int64_t created = 0, expires = 0;
        cb_db_int64(res, r, 4, &created);
        cb_db_int64(res, r, 5, &expires);
        cb_json_set_string(entry, "id", cb_db_text(res, r, 0));
        cb_json_set_string(entry, "name", cb_db_text(res, r, 1));
        cb_json_set_string(entry, "prefix", cb_db_text(res, r, 2));
        cb_json_set(entry, "scopes", auth_stored_array(p, cb_db_text(res, r, 3)));
        cb_json_set_int(entry, "created_at", created);
        cb_json_set_int(entry, "expires_at", expires);
        cb_json_append(*out, entry);
    }
    return APR_SUCCESS;
}

apr_status_t auth_apikey_revoke(auth_state *st, apr_pool_t *p, const char *id)
{
    const char *args[] = {st->env, id};
    const cb_redis_reply *reply;
    cb_db_result *res;
    const char *hash;
    int affected = 0;
    apr_status_t rv = cb_db_select(st->db, p, "SELECT secret_hash FROM auth_apikeys "
                                   "WHERE env = ? AND id = ?", 2, args, &res);
    if (rv != APR_SUCCESS)
        return auth_db_status(rv);
    if (res->rows == 0 || !(hash = cb_db_text(res, 0, 0)))
        return APR_NOTFOUND;
    rv = cb_db_exec(st->db, p, "DELETE FROM auth_apikeys WHERE env = ? AND id = ?", 2, args,
                    &affected);
    if (rv != APR_SUCCESS)
        return auth_db_status(rv);
    if (affected == 0)
        return APR_NOTFOUND; /* revoked at the same moment elsewhere */
    {
        const char *argv[] = {"DEL", auth_key(p, st, "apikey-cache", hash)};
        /* A failure leaves the entry until AUTH_KEY_CACHE_TTL at most. */
        cb_redis_command(st->redis, p, 2, argv, NULL, &reply);
    }
    {
        const char *verdict_key = apr_pstrcat(p, "k:", hash, NULL);
        auth_cache_store(st, verdict_key, 0);
        cb_cache_remove(st->key_cache, verdict_key, strlen(verdict_key));
    }
    return APR_SUCCESS;
}
