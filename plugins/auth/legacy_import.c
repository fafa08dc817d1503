/*
 * legacy_import.c: moves users and API keys of the old Redis-only layout
 * into the database on start-up.
 *
 * The old layout: a user is a hash cb:{env}:user:UID (uid, username,
 * password, groups, created, updated) with cb:{env}:username:NAME -> UID;
 * a key is a hash cb:{env}:apikey:SHA256 (id, name, prefix, scopes,
 * created, expires) listed in the hash cb:{env}:apikeys:index (id -> hash).
 * Each record is inserted if absent (ON CONFLICT DO NOTHING, so a row the
 * database already has wins) and then deleted from Redis, so a key revoked
 * later is never brought back by a second import. One process at a time
 * imports, under the cb_lease "auth-legacy-import"; a marker key then says
 * the environment has nothing left to import, so later starts skip the scan.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/lease.h"
#include "auth.h"

#define IMPORT_LEASE_MS 120000
#define SCAN_COUNT "500"

static const char *field(const cb_redis_reply *r, size_t i, apr_pool_t *p)
{
    return cb_redis_reply_strdup(p, cb_redis_reply_element(r, i));
}

static apr_status_t redis_call(auth_state *st, apr_pool_t *p, int argc, const char *const *argv,
                               const cb_redis_reply **reply)
{
    apr_status_t rv = cb_redis_command(st->redis, p, argc, argv, NULL, reply);
    if (rv == APR_SUCCESS && cb_redis_reply_kind(*reply) == CB_REDIS_REPLY_ERROR)
        return APR_EGENERAL;
    return rv;
}

/* One old user hash: into the database, then out of Redis. */
static apr_status_t import_user(auth_state *st, apr_pool_t *p, const char *key)
{
    const cb_redis_reply *reply;
    auth_user u;
    apr_status_t rv = auth_user_from_hash(st, p, key, &u);
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS; /* not a whole user (no password): left alone */
    if (rv != APR_SUCCESS || (rv = auth_user_insert(st, p, &u, NULL)) != APR_SUCCESS)
        return rv;
    {
        const char *del[] = {"DEL", key, auth_key(p, st, "username",
                                                  auth_username_lower(p, u.username))};
        return redis_call(st, p, 3, del, &reply);
    }
}

static apr_status_t import_users(auth_state *st, apr_pool_t *p, int *count)
{
    const char *cursor = "0";
    const char *pattern = auth_key(p, st, "user", "*");
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
        const cb_redis_reply *reply, *keys;
        apr_pool_t *batch;
        apr_status_t rv = redis_call(st, p, 6, argv, &reply);
        if (rv != APR_SUCCESS)
            return rv;
        if (cb_redis_reply_count(reply) != 2)
            return APR_EGENERAL;
        cursor = field(reply, 0, p);
        keys = cb_redis_reply_element(reply, 1);
        apr_pool_create(&batch, p);
        for (size_t i = 0; i < cb_redis_reply_count(keys); i++) {
            rv = import_user(st, batch, field(keys, i, batch));
            if (rv != APR_SUCCESS) {
                apr_pool_destroy(batch);
                return rv;
            }
            (*count)++;
        }
        apr_pool_destroy(batch);
    } while (cursor && strcmp(cursor, "0") != 0);
    return APR_SUCCESS;
}

/* One old key (id -> hash in the index): into the database, then out of
 * Redis. An index entry whose hash expired is just dropped. */
static apr_status_t import_key(auth_state *st, apr_pool_t *p, const char *index,
                               const char *id, const char *hash, int *count)
{
    const char *key = auth_key(p, st, "apikey", hash);
    const cb_redis_reply *reply;
    auth_apikey k;
    apr_status_t rv = auth_apikey_from_hash(st, p, key, &k);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return rv;
    if (rv == APR_SUCCESS && strcmp(k.id, id) == 0) {
        if ((rv = auth_apikey_insert(st, p, &k, hash, NULL)) != APR_SUCCESS)
            return rv;
        (*count)++;
    }
    {
        const char *del[] = {"DEL", key};
        const char *hdel[] = {"HDEL", index, id};
        if ((rv = redis_call(st, p, 2, del, &reply)) != APR_SUCCESS)
            return rv;
        return redis_call(st, p, 3, hdel, &reply);
    }
}

static apr_status_t import_keys(auth_state *st, apr_pool_t *p, int *count)
{
    const char *index = auth_key(p, st, "apikeys", "index");
    const char *argv[] = {"HGETALL", index};
    const cb_redis_reply *reply;
    apr_status_t rv = redis_call(st, p, 2, argv, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    for (size_t i = 0; i + 1 < cb_redis_reply_count(reply); i += 2) {
        const char *id = field(reply, i, p), *hash = field(reply, i + 1, p);
        if (!id || !hash)
            continue;
        if ((rv = import_key(st, p, index, id, hash, count)) != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

apr_status_t auth_legacy_import(auth_state *st, apr_pool_t *p, int *users, int *keys)
{
    const char *marker = auth_key(p, st, "auth", "legacy-imported");
    const char *get[] = {"EXISTS", marker};
    const char *set[] = {"SET", marker, "1"};
    const cb_redis_reply *reply;
    cb_lease lease;
    apr_status_t rv;
    *users = *keys = 0;
    if ((rv = redis_call(st, p, 2, get, &reply)) != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_integer(reply) == 1)
        return APR_SUCCESS;
    cb_lease_init(&lease, st->env, "auth-legacy-import", cb_lease_holder_id(p));
    if ((rv = cb_lease_acquire(st->redis, p, &lease, IMPORT_LEASE_MS)) != APR_SUCCESS)
        return rv; /* APR_EBUSY: another process is importing */
    rv = import_users(st, p, users);
    if (rv == APR_SUCCESS)
        rv = import_keys(st, p, keys);
    if (rv == APR_SUCCESS)
        rv = redis_call(st, p, 3, set, &reply);
    cb_lease_release(st->redis, p, &lease);
    return rv;
}
