/*
 * auth.h: what the auth plugin's files share: the plugin state, and the
 * entry points of users.c (passwords, sign-in throttle), user_store.c and
 * apikeys.c (users and keys in the database, cached in Redis), sessions.c
 * (sessions, refresh tokens, the verified-session cache), apikeys.c and
 * tokens.c (issuing the token answer).
 */
#ifndef CB_AUTH_H
#define CB_AUTH_H


#include "cloudbase/cache.h"
#include "cloudbase/cloudbase.h"
#include "cloudbase/crypto.h"
#include "cloudbase/db.h"
#include "cloudbase/encoding.h"
#include "cloudbase/log.h"
#include "jwt.h"

#define AUTH_SESSION_CACHE_SLOTS 4096
#define AUTH_SESSION_CACHE_KEY_MAX 71   /* "s:SID" and "k:SHA256HEX" */
#define AUTH_ID_LENGTH 32          /* hex characters of a uid, sid or key id */
#define AUTH_KEY_RANDOM_HEX 32     /* hex characters after "cbk_ENV_" */
#define AUTH_SALT_BYTES 16
#define AUTH_HASH_BYTES 32

/* How long Redis caches a user (there is no route that changes one) and a
 * key (bounds a cache fill that raced a revocation). Seconds. */
#define AUTH_USER_CACHE_TTL 600
#define AUTH_KEY_CACHE_TTL 60

/* A store (Redis or the database) is unavailable: callers answer 503. */
#define AUTH_EDOWN CB_REDIS_EDOWN

#define AUTH_TOKEN_CACHE_SLOTS 1024
#define AUTH_KEY_CACHE_SLOTS 1024
#define AUTH_KEY_CACHE_VALUE_MAX 1024 /* a key's fields; a larger record is not cached */
#define AUTH_TOKEN_CACHE_MAX 640        /* longer tokens are not cached */

typedef struct auth_scrypt_params {
    uint64_t n;
    uint64_t r;
    uint64_t p;
} auth_scrypt_params;

/* The per-process bound on concurrent password hashes (hash_gate.c). */
typedef struct auth_hash_gate auth_hash_gate;

/* The Lua scripts, each one atomic decision in one round trip. */
typedef struct auth_scripts {
    cb_redis_script create_session, rotate, throttle_reserve, throttle_refund, cache_fill;
} auth_scripts;

extern const char auth_script_create_session[], auth_script_rotate[],
    auth_script_throttle_reserve[], auth_script_throttle_refund[], auth_script_cache_fill[];

/* schema.c: the tables, as migration steps ending with {0, NULL}. */
extern const cb_db_migration auth_migrations[];

typedef struct auth_state {
    const char *env;
    cb_redis *redis;
    cb_db *db;                       /* users and API keys */
    cb_jwt_keyring *keys;
    const char *admin_key;           /* NULL: admin routes refuse everyone */
    int64_t access_ttl;              /* seconds */
    int64_t token_leeway;            /* seconds of clock skew allowed on exp */
    int64_t refresh_ttl;             /* seconds */
    apr_interval_time_t cache_bound; /* staleness bound of the cache */
    int allow_anonymous;
    int64_t max_failures;            /* per username and client address */
    int64_t max_ip_failures;         /* per client address */
    int64_t failure_window;          /* seconds */
    int64_t password_min_length;
    int64_t max_concurrent_hashes;   /* per process */
    int64_t hash_queue_wait;         /* milliseconds */
    auth_scrypt_params scrypt;
    const char *decoy_hash;          /* checked when a username does not exist */
    auth_hash_gate *hash_gate;       /* bounds concurrent password hashes */
    auth_scripts scripts;
    cb_cache *token_cache;           /* verified access tokens (token_cache.c) */
    cb_cache *cache;                 /* "s:SID"/"k:HASH" -> active, for cache_bound */
    cb_cache *key_cache;             /* "k:HASH" -> the key's record, for cache_bound */
} auth_state;

/* ---- parse.c: one parser per kind of value, no I/O */
/* A username: 2-48 of [A-Za-z0-9._@-]; NULL when fine, else why not. */
const char *auth_username_problem(const char *username);
/* x-device-id: 1-128 printable ASCII characters. */
int auth_device_id_ok(const char *id);
/* "Basic base64(id:secret)" -> id and secret (secret may be empty). */
int auth_parse_basic(apr_pool_t *p, const char *header, const char **id, const char **secret);
/* The sid a refresh token "SID.SECRET" belongs to, or NULL when malformed. */
const char *auth_refresh_token_sid(apr_pool_t *p, const char *token);
/* The length of the other key prefix text starts with ("tose_sk_"), 0 for none. */
int auth_apikey_other_prefix(const char *text);
/* 1 when text has the shape of one of this environment's API keys:
 * "cbk_ENV_" or "tb_ENV_" (TestBase) or another prefix, then 32 lower-case
 * hex digits. */
int auth_apikey_shape(const auth_state *st, const char *text);
/* The token of an Authorization value "Bearer TOKEN" (the scheme in any
 * case, spaces before the token skipped), or NULL for other schemes. */
const char *auth_bearer_token(const char *authorization);
/* A JSON array the plugin stored (a user's groups, a key's scopes), owned
 * by p; an empty array when text is NULL or not an array. */
cb_json *auth_stored_array(apr_pool_t *p, const char *text);

typedef struct auth_password_record {
    auth_scrypt_params params;
    unsigned char salt[AUTH_SALT_BYTES];
    unsigned char hash[AUTH_HASH_BYTES];
} auth_password_record;
/* "scrypt$N$r$p$SALT$HASH" with sane bounds on N, r and p. */
int auth_password_parse(apr_pool_t *p, const char *stored, auth_password_record *out);

/* ---- users.c */
/* "scrypt$N$r$p$salt$hash" for a password, with a fresh random salt. */
const char *auth_password_hash(apr_pool_t *p, const auth_scrypt_params *params,
                               const char *password);
/* 1 when password matches the stored hash (constant-time comparison). */
int auth_password_verify(apr_pool_t *p, const char *stored, const char *password);
typedef struct auth_user {
    const char *uid;
    const char *username;
    const char *password_hash;
    const char *groups_json;         /* JSON array of strings */
    int64_t created_at;
    int64_t updated_at;
} auth_user;

/* ---- user_store.c: users in the database, cached in Redis */
/* AUTH_EDOWN for a database that is down or timed out, else rv. */
apr_status_t auth_db_status(apr_status_t rv);
/* Runs an INSERT ... ON CONFLICT DO NOTHING (*inserted: 1 when a row was
 * added); AUTH_EDOWN when the database is unavailable. */
apr_status_t auth_db_insert(auth_state *st, apr_pool_t *p, const char *sql, int nargs,
                            const char *const *args, int *inserted);
/* HMGET of n fields of a Redis hash into values (NULL for a missing one). */
apr_status_t auth_hash_fields(auth_state *st, apr_pool_t *p, const char *key, int n,
                              const char *const *fields, const char **values);
/* APR_SUCCESS and *out when the Redis hash at key holds a user (the
 * cache's layout, and the Redis-only releases' one), APR_NOTFOUND when it
 * does not, or the Redis error. */
apr_status_t auth_user_from_hash(auth_state *st, apr_pool_t *p, const char *key,
                                 auth_user *out);
/* The username as stored for uniqueness and lookup. */
const char *auth_username_lower(apr_pool_t *p, const char *username);
/* Inserts a user unless its uid or username exists (*inserted: 1 when it
 * did not). */
apr_status_t auth_user_insert(auth_state *st, apr_pool_t *p, const auth_user *u, int *inserted);
/* Creates a user; APR_EEXIST when the username is taken. */
apr_status_t auth_user_create(auth_state *st, apr_pool_t *p, const char *username,
                              const char *password, const char *groups_json,
                              auth_user *out);
/* APR_SUCCESS and *out, APR_NOTFOUND, or AUTH_EDOWN. */
apr_status_t auth_user_by_name(auth_state *st, apr_pool_t *p, const char *username,
                               auth_user *out);
apr_status_t auth_user_by_id(auth_state *st, apr_pool_t *p, const char *uid, auth_user *out);

/* Sign-in throttle. Before checking a password, reserve the attempt in the
 * (username, address) and address counters in one atomic step: *retry_after
 * is 0 when reserved, else the seconds to wait (nothing was counted).
 * APR_EGENERAL on an unexpected answer, CB_REDIS_EDOWN when Redis is down. */
apr_status_t auth_throttle_reserve(auth_state *st, apr_pool_t *p, const char *username,
                                   const char *client_ip, int64_t *retry_after);
/* Gives a reserved attempt back: the password was right, or never checked. */
void auth_throttle_refund(auth_state *st, apr_pool_t *p, const char *username,
                          const char *client_ip);

/* ---- hash_gate.c: at most `limit` password hashes at once per process */
/* NULL when the lock cannot be created. */
auth_hash_gate *auth_hash_gate_create(apr_pool_t *p, int limit, apr_interval_time_t max_wait);
/* 1 once a slot is taken, waiting at most max_wait; 0 when none was free
 * in time. A taken slot is given back with auth_hash_gate_leave. */
int auth_hash_gate_enter(auth_hash_gate *gate);
void auth_hash_gate_leave(auth_hash_gate *gate);
/* Once per worker process: freed hash buffers go back to the system. */
void auth_hash_memory_setup(void);

/* ---- sessions.c */
typedef struct auth_session {
    const char *sid;
    const char *uid;
    const char *kind;                /* "anonymous" or "user" */
    const char *scope;
    const char *groups_json;
} auth_session;

typedef enum {
    AUTH_REFRESH_OK = 0,
    AUTH_REFRESH_INVALID,            /* unknown, expired or malformed */
    AUTH_REFRESH_REUSED,             /* an already rotated token: session revoked */
    AUTH_REFRESH_DOWN                /* Redis unavailable */
} auth_refresh_result;

/* Creates a session and its first refresh token. */
apr_status_t auth_session_create(auth_state *st, apr_pool_t *p, const char *uid,
                                 const char *kind, const char *scope,
                                 const char *groups_json, auth_session *out,
                                 const char **refresh_token);
/* Rotates a refresh token: the old one stops working; presenting an old one
 * again revokes the whole session. */
auth_refresh_result auth_session_refresh(auth_state *st, apr_pool_t *p, const char *token,
                                         auth_session *out, const char **new_refresh);
apr_status_t auth_session_revoke(auth_state *st, apr_pool_t *p, const char *sid);
/* Whether a session is still active: from the per-process cache when it was
 * checked within the staleness bound, else from Redis. */
typedef enum { AUTH_ACTIVE, AUTH_INACTIVE, AUTH_UNKNOWN } auth_activity;
auth_activity auth_session_active(auth_state *st, apr_pool_t *p, const char *sid);
/* Forgets the cached state of a session in this process. */
void auth_cache_forget(auth_state *st, const char *key);
auth_activity auth_cache_lookup(auth_state *st, const char *key);
void auth_cache_store(auth_state *st, const char *key, int active);

/* "cb:{env}:" + suffix pieces. */
const char *auth_key(apr_pool_t *p, const auth_state *st, const char *kind, const char *id);

/* ---- apikeys.c */
typedef struct auth_apikey {
    const char *id;
    const char *name;
    const char *prefix;              /* shown in listings */
    const char *scopes_json;         /* JSON array */
    int64_t created_at;
    int64_t expires_at;              /* 0 = never */
} auth_apikey;

/* Inserts a key with the SHA-256 hex of its secret unless its id or hash
 * exists (*inserted: 1 when it did not). */
apr_status_t auth_apikey_insert(auth_state *st, apr_pool_t *p, const auth_apikey *k,
                                const char *hash, int *inserted);
/* APR_SUCCESS and *out when the Redis hash at key holds a key (the
 * cache's layout, and the Redis-only releases' one), APR_NOTFOUND when it
 * does not, or the Redis error. */
apr_status_t auth_apikey_from_hash(auth_state *st, apr_pool_t *p, const char *key,
                                   auth_apikey *out);
/* The word a key starts with: "cbk" (CloudBase) or "tb" (TestBase's
 * tb_{env}_{32hex}); 1 when word is one of them. */
int auth_apikey_prefix_ok(const char *word);
/* Creates a key "PREFIX_ENV_32HEX" (prefix NULL: "cbk"); *secret is the
 * whole key, shown once. */
apr_status_t auth_apikey_create(auth_state *st, apr_pool_t *p, const char *name,
                                int64_t expires_in, const char *scopes_json, const char *prefix,
                                auth_apikey *out, const char **secret);
/* The same with another key prefix than "cbk_ENV_" (NULL: that one); the
 * prefix must be one auth_apikey_shape accepts. */
apr_status_t auth_apikey_create_prefixed(auth_state *st, apr_pool_t *p, const char *prefix,
                                         const char *name, int64_t expires_in,
                                         const char *scopes_json, auth_apikey *out,
                                         const char **secret);
/* Looks a presented key up (cached within the staleness bound). */
typedef enum { AUTH_KEY_OK, AUTH_KEY_INVALID, AUTH_KEY_DOWN } auth_key_result;
auth_key_result auth_apikey_verify(auth_state *st, apr_pool_t *p, const char *secret,
                                   auth_apikey *out);
/* JSON array of the keys (no secrets). */
apr_status_t auth_apikey_list(auth_state *st, apr_pool_t *p, cb_json **out);
/* APR_NOTFOUND when there is no such key. */
apr_status_t auth_apikey_revoke(auth_state *st, apr_pool_t *p, const char *id);

/* ---- apikey_service.c: publishes "auth.apikeys" (apikey_service.h) from create() */
cb_status auth_apikey_service_publish(cb_plugin_ctx *ctx, auth_state *st);

/* ---- legacy_import.c: users and keys of the Redis-only layout */
/* Copies every user and key of the old Redis layout into the database
 * (insert if absent), then deletes the old records. Idempotent, and safe
 * when several processes and nodes run it at once. *users and *keys: how
 * many were found. */
apr_status_t auth_legacy_import(auth_state *st, apr_pool_t *p, int *users, int *keys);

/* ---- token_cache.c: verified access tokens, per process (a cb_cache) */
/* NULL when it cannot be made. */
cb_cache *auth_token_cache_create(apr_pool_t *p);
/* 1 and *out when this exact token was verified before and has not expired
 * (its exp plus the leeway it was verified with). */
int auth_token_cache_get(auth_state *st, apr_pool_t *p, const char *token, size_t len,
                         cb_jwt_claims *out);
void auth_token_cache_put(auth_state *st, const char *token, size_t len,
                          const cb_jwt_claims *claims, int64_t leeway);

/* ---- identity.c */
cb_status auth_identify(cb_req *req, void *state, cb_identity *out);
/* Verifies an access token (signature, expiry, env, live session). */
typedef enum {
    AUTH_TOKEN_OK,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_EXPIRED, /* well signed, past exp + leeway: the SDK refreshes on this */
    AUTH_TOKEN_DOWN
} auth_token_result;
auth_token_result auth_verify_access_token(auth_state *st, apr_pool_t *p, const char *token,
                                           int64_t leeway, cb_jwt_claims *claims,
                                           const char **why);

/* ---- tokens.c: /auth/v1 sign-in, token, revoke, sign-out and me routes */
cb_status auth_signin_anonymously(cb_req *req, void *state);
cb_status auth_signin(cb_req *req, void *state);
cb_status auth_token(cb_req *req, void *state);
cb_status auth_client_credential(cb_req *req, void *state);
cb_status auth_revoke(cb_req *req, void *state);
cb_status auth_signout(cb_req *req, void *state);
cb_status auth_me(cb_req *req, void *state);
/* 503 when Redis is down. */
cb_status auth_unavailable(cb_req *req);
/* 503 when no password-hash slot came free in time. */
cb_status auth_hashing_busy(cb_req *req);

/* ---- admin.c: /auth/v1/admin routes (admin key) */
cb_status auth_admin_create_user(cb_req *req, void *state);
cb_status auth_admin_create_key(cb_req *req, void *state);
cb_status auth_admin_list_keys(cb_req *req, void *state);
cb_status auth_admin_revoke_key(cb_req *req, void *state);

#endif
