/*
 * user_store.c: where users live. The database service holds them (table
 * auth_users, schema.c); Redis only caches them, so a Redis flush loses no
 * user. A lookup reads the Redis cache (one HMGET), then the database, and
 * fills the cache; a user is cached twice, by lower-case username (sign-in)
 * and by uid (`me`), each a hash with AUTH_USER_CACHE_TTL. The cache is
 * never negative: a user created on another node (or by cloudbase-user)
 * can sign in at once. Nothing here runs on the per-request path.
 *
 * When Redis is down the database answers alone; when the database is down
 * a cached user still signs in and an uncached one gets AUTH_EDOWN (503).
 */
#include <ctype.h>
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

#define USER_COLUMNS "uid, username, password_hash, groups_json, created_at, updated_at"

/* KEYS[1]: the cache hash. ARGV[1]: "in" (seconds) or "at" (a Unix time),
 * ARGV[2]: the number, then field/value pairs. Replaces the hash. */
const char auth_script_cache_fill[] =
    "redis.call('DEL', KEYS[1]) "
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3)) "
    "if ARGV[1] == 'at' then redis.call('EXPIREAT', KEYS[1], ARGV[2]) "
    "else redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
    "return 1";

apr_status_t auth_db_status(apr_status_t rv)
{
    if (rv == CB_DB_EDOWN || rv == CB_DB_ETIMEOUT)
        return AUTH_EDOWN;
    return rv;
}

apr_status_t auth_db_insert(auth_state *st, apr_pool_t *p, const char *sql, int nargs,
                            const char *const *args, int *inserted)
{
    int affected = 0;
    apr_status_t rv = cb_db_exec(st->db, p, sql, nargs, args, &affected);
    if (inserted)
        *inserted = affected > 0;
    return auth_db_status(rv);
}

apr_status_t auth_hash_fields(auth_state *st, apr_pool_t *p, const char *key, int n,
                              const char *const *fields, const char **values)
{
    const char **argv = apr_palloc(p, sizeof(*argv) * (size_t)(n + 2));
    const cb_redis_reply *reply;
    apr_status_t rv;
    argv[0] = "HMGET";
    argv[1] = key;
    memcpy(argv + 2, fields, sizeof(*argv) * (size_t)n);
    rv = cb_redis_command(st->redis, p, n + 2, argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_count(reply) != (size_t)n)
        return APR_EGENERAL;
    for (int i = 0; i < n; i++)
        values[i] = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, (size_t)i));
    return APR_SUCCESS;
}

const char *auth_username_lower(apr_pool_t *p, const char *username)
{
    char *lower = apr_pstrdup(p, username);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return lower;
}

apr_status_t auth_user_insert(auth_state *st, apr_pool_t *p, const auth_user *u, int *inserted)
{
    const char *args[] = {st->env, u->uid, u->username, auth_username_lower(p, u->username),
                          u->password_hash, u->groups_json ? u->groups_json : "[]",
                          apr_ltoa(p, (long)u->created_at), apr_ltoa(p, (long)u->updated_at)};
    return auth_db_insert(st, p, "INSERT INTO auth_users (env, uid, username, username_lower, "
                          "password_hash, groups_json, created_at, updated_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          8, args, inserted);
}

apr_status_t auth_user_create(auth_state *st, apr_pool_t *p, const char *username,
                              const char *password, const char *groups_json,
                              auth_user *out)
{
    const char *uid = cb_random_hex(p, AUTH_ID_LENGTH / 2);
    const char *hash = auth_password_hash(p, &st->scrypt, password);
    int inserted;
    apr_status_t rv;
    if (!uid || !hash)
        return APR_EGENERAL;
    out->uid = uid;
    out->username = username;
    out->password_hash = hash;
    out->groups_json = groups_json ? groups_json : "[]";
    out->created_at = out->updated_at = apr_time_sec(apr_time_now());
    /* The cache holds no negative entries, so there is nothing to
     * invalidate: the new user is found in the database on first use. */
    rv = auth_user_insert(st, p, out, &inserted);
    if (rv != APR_SUCCESS)
        return rv;
    return inserted ? APR_SUCCESS : APR_EEXIST;
}

/* ------------------------------------------------------------------ cache */

/* 1 and *out on a cache hit; 0 on a miss or when Redis is away. */
apr_status_t auth_user_from_hash(auth_state *st, apr_pool_t *p, const char *key,
                                 auth_user *out)
{
    static const char *const fields[] = {"uid", "username", "password", "groups", "created",
                                         "updated"};
    const char *v[6];
    apr_status_t rv = auth_hash_fields(st, p, key, 6, fields, v);
    if (rv != APR_SUCCESS)
        return rv;
    if (!v[0] || !v[1] || !v[2])
        return APR_NOTFOUND;
    out->uid = v[0];
    out->username = v[1];
    out->password_hash = v[2];
    out->groups_json = v[3] ? v[3] : "[]";
    out->created_at = v[4] ? apr_atoi64(v[4]) : 0;
    out->updated_at = v[5] ? apr_atoi64(v[5]) : out->created_at;
    return APR_SUCCESS;
}

/* Best effort: a user that is not cached is read from the database. */
static void cache_fill(auth_state *st, apr_pool_t *p, const char *key, const auth_user *u)
{
    const cb_redis_reply *reply;
    const char *argv[] = {key, "in", apr_ltoa(p, AUTH_USER_CACHE_TTL),
                          "uid", u->uid, "username", u->username, "password", u->password_hash,
                          "groups", u->groups_json, "created", apr_ltoa(p, (long)u->created_at),
                          "updated", apr_ltoa(p, (long)u->updated_at)};
    cb_redis_eval(st->redis, p, &st->scripts.cache_fill, 1,
                      (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL, &reply);
}

/* ------------------------------------------------------------------ lookups */

static apr_status_t db_read(auth_state *st, apr_pool_t *p, const char *sql, const char *value,
                            auth_user *out)
{
    const char *args[] = {st->env, value};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(st->db, p, sql, 2, args, &res);
    int64_t created = 0, updated = 0;
    /* Any failure to read (a server still starting answers with an SQL
     * error) is "unavailable", never "no such user". */
    if (rv != APR_SUCCESS) {
        if (rv != CB_DB_EDOWN)
            cb_log(CB_LOG_WARNING, "auth: reading a user failed: %s", cb_db_last_error(st->db));
        return AUTH_EDOWN;
    }
    if (res->rows == 0)
        return APR_NOTFOUND;
    out->uid = cb_db_text(res, 0, 0);
    out->username = cb_db_text(res, 0, 1);
    out->password_hash = cb_db_text(res, 0, 2);
    out->groups_json = cb_db_text(res, 0, 3) ? cb_db_text(res, 0, 3) : "[]";
    cb_db_int64(res, 0, 4, &created);
    cb_db_int64(res, 0, 5, &updated);
    out->created_at = created;
    out->updated_at = updated;
    return out->uid && out->username && out->password_hash ? APR_SUCCESS : AUTH_EDOWN;
}

static apr_status_t lookup(auth_state *st, apr_pool_t *p, const char *kind, const char *sql,
                           const char *value, auth_user *out)
{
    const char *key = auth_key(p, st, kind, value);
    apr_status_t rv;
    /* A miss, or Redis away: the database answers. */
    if (auth_user_from_hash(st, p, key, out) == APR_SUCCESS)
        return APR_SUCCESS;
    rv = db_read(st, p, sql, value, out);
    if (rv == APR_SUCCESS)
        cache_fill(st, p, key, out);
    return rv;
}

apr_status_t auth_user_by_id(auth_state *st, apr_pool_t *p, const char *uid, auth_user *out)
{
    return lookup(st, p, "user-by-id", "SELECT " USER_COLUMNS " FROM auth_users "
                  "WHERE env = ? AND uid = ?", uid, out);
}

apr_status_t auth_user_by_name(auth_state *st, apr_pool_t *p, const char *username,
                               auth_user *out)
{
    return lookup(st, p, "user-by-name", "SELECT " USER_COLUMNS " FROM auth_users "
                  "WHERE env = ? AND username_lower = ?", auth_username_lower(p, username), out);
}
