/*
 * auth.c: the auth plugin's descriptor: options, routes, and create(),
 * which validates the options and builds the signing keyring.
 *
 * Sign-in (anonymous, username/password), tokens (JWT access tokens signed
 * by the gateway, rotating opaque refresh tokens), sign-out, `me`, API keys
 * and the admin routes: users and keys in the database (CloudBaseDatabase),
 * sessions in Redis. The identity hook serves
 * every route of the environment. See docs/plugins/auth.md.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

static const char *const jwt_algorithms[] = {"HS256", "ES256", NULL};
enum { JWT_HS256, JWT_ES256 }; /* indexes of jwt_algorithms */

/* Defaults and bounds live here only; create() keeps the checks a table
 * cannot say (a power of two, one option against another). */
static const cb_option_def options[] = {
    {.name = "jwt_algorithm", .type = CB_OPT_ENUM, .default_value = "HS256", .choices = jwt_algorithms,
     .help = "HS256 (shared secret) or ES256 (P-256 key pair)"},
    {.name = "jwt_secret", .type = CB_OPT_SECRET,
     .help = "HS256 signing secret, at least 32 bytes (file: or env:)"},
    {.name = "jwt_key_id", .type = CB_OPT_STRING, .default_value = "k1", .help = "kid of the signing key"},
    {.name = "jwt_private_key", .type = CB_OPT_STRING,
     .help = "ES256: PEM file of the P-256 private key"},
    {.name = "jwt_previous_secret", .type = CB_OPT_SECRET,
     .help = "HS256: the previous secret, still verified during a rotation"},
    {.name = "jwt_previous_public_key", .type = CB_OPT_STRING,
     .help = "ES256: PEM file of the previous public key, still verified"},
    {.name = "jwt_previous_key_id", .type = CB_OPT_STRING, .default_value = "k0",
     .help = "kid of the previous key"},
    {.name = "access_token_ttl", .type = CB_OPT_DURATION, .default_value = "2h", CB_OPT_MIN(1000),
     .help = "lifetime of access tokens"},
    {.name = "token_leeway", .type = CB_OPT_DURATION, .default_value = "30s", CB_OPT_MIN(0),
     CB_OPT_MAX(300000), .help = "clock skew allowed past an access token's expiry"},
    {.name = "refresh_token_ttl", .type = CB_OPT_DURATION, .default_value = "31d", CB_OPT_MIN(60000),
     .help = "lifetime of sessions and refresh tokens (at least access_token_ttl)"},
    {.name = "session_cache_ttl", .type = CB_OPT_DURATION, .default_value = "5s",
     .help = "staleness bound of the per-process session cache"},
    {.name = "anonymous", .type = CB_OPT_BOOL, .default_value = "on", .help = "allow anonymous sign-in"},
    {.name = "admin_key", .type = CB_OPT_SECRET,
     .help = "the key that opens /auth/v1/admin, at least 24 characters (file: or env:)"},
    {.name = "signin_max_failures", .type = CB_OPT_INT, .default_value = "5", CB_OPT_MIN(1),
     .help = "failed sign-ins per username and address before a wait"},
    {.name = "signin_max_ip_failures", .type = CB_OPT_INT, .default_value = "50", CB_OPT_MIN(1),
     .help = "failed sign-ins per address before a wait"},
    {.name = "signin_failure_window", .type = CB_OPT_DURATION, .default_value = "15m",
     CB_OPT_MIN(1000), .help = "how long failed sign-ins are counted"},
    {.name = "password_min_length", .type = CB_OPT_INT, .default_value = "8",
     .help = "shortest password the admin route accepts"},
    {.name = "scrypt_n", .type = CB_OPT_INT, .default_value = "16384", CB_OPT_MIN(1024),
     .help = "scrypt cost N (a power of two)"},
    {.name = "scrypt_r", .type = CB_OPT_INT, .default_value = "8", CB_OPT_MIN(1),
     .help = "scrypt block size r"},
    {.name = "scrypt_p", .type = CB_OPT_INT, .default_value = "1", CB_OPT_MIN(1),
     .help = "scrypt parallelism p"},
    {.name = "max_concurrent_hashes", .type = CB_OPT_INT, .default_value = "2", CB_OPT_MIN(1),
     CB_OPT_MAX(1024), .help = "password hashes run at once per process"},
    {.name = "hash_queue_wait", .type = CB_OPT_DURATION, .default_value = "1s", CB_OPT_MIN(0),
     .help = "how long a sign-in waits for a hash slot before 503"},
    {0}
};

#define AUTH_ROUTE(method_, path_, handler_, level_) \
    {.method = method_, .pattern = path_, .handler = handler_, .auth = level_, \
     .dialect = CB_DIALECT_OAUTH}

static const cb_route_def routes[] = {
    AUTH_ROUTE("POST", "/auth/v1/signin/anonymously", auth_signin_anonymously, CB_AUTH_NONE),
    AUTH_ROUTE("POST", "/auth/v1/signin", auth_signin, CB_AUTH_NONE),
    AUTH_ROUTE("POST", "/auth/v1/token", auth_token, CB_AUTH_NONE),
    AUTH_ROUTE("POST", "/auth/v1/token/clientCredential", auth_client_credential, CB_AUTH_NONE),
    AUTH_ROUTE("POST", "/auth/v1/revoke", auth_revoke, CB_AUTH_NONE),
    AUTH_ROUTE("POST", "/auth/v1/user/signout", auth_signout, CB_AUTH_ANY),
    AUTH_ROUTE("GET", "/auth/v1/user/me", auth_me, CB_AUTH_ANY),
    AUTH_ROUTE("POST", "/auth/v1/admin/users", auth_admin_create_user, CB_AUTH_ADMIN),
    AUTH_ROUTE("POST", "/auth/v1/admin/apikeys", auth_admin_create_key, CB_AUTH_ADMIN),
    AUTH_ROUTE("GET", "/auth/v1/admin/apikeys", auth_admin_list_keys, CB_AUTH_ADMIN),
    AUTH_ROUTE("DELETE", "/auth/v1/admin/apikeys/{id}", auth_admin_revoke_key, CB_AUTH_ADMIN),
    {0}
};

static const char *build_keyring(auth_state *st, const cb_options *o, apr_pool_t *p)
{
    int alg = cb_opt_enum(o, "jwt_algorithm");
    const char *kid = cb_opt_string(o, "jwt_key_id");
    const char *previous_kid = cb_opt_string(o, "jwt_previous_key_id");
    const char *err;
    st->keys = cb_jwt_keyring_create(p);
    if (strcmp(kid, previous_kid) == 0)
        return "jwt_key_id and jwt_previous_key_id must differ";
    if (alg == JWT_HS256) {
        const char *secret = cb_opt_secret(o, "jwt_secret");
        const char *previous = cb_opt_secret(o, "jwt_previous_secret");
        if (!secret)
            return "HS256 needs jwt_secret (e.g. jwt_secret file:/etc/apache2/cloudbase-jwt.key)";
        if (previous &&
            (err = cb_jwt_keyring_add_hs256(st->keys, p, previous_kid,
                                            (const unsigned char *)previous, strlen(previous), 0)))
            return apr_pstrcat(p, "jwt_previous_secret: ", err, NULL);
        if ((err = cb_jwt_keyring_add_hs256(st->keys, p, kid, (const unsigned char *)secret,
                                            strlen(secret), 1)))
            return apr_pstrcat(p, "jwt_secret: ", err, NULL);
        return NULL;
    }
    {
        const char *private_key = cb_opt_string(o, "jwt_private_key");
        const char *previous = cb_opt_string(o, "jwt_previous_public_key");
        if (!private_key)
            return "ES256 needs jwt_private_key (a PEM file with a P-256 private key)";
        if (previous && (err = cb_jwt_keyring_add_es256_pem(st->keys, p, previous_kid, previous, 0)))
            return apr_pstrcat(p, "jwt_previous_public_key: ", err, NULL);
        if ((err = cb_jwt_keyring_add_es256_pem(st->keys, p, kid, private_key, 1)))
            return apr_pstrcat(p, "jwt_private_key: ", err, NULL);
        return NULL;
    }
}

/* The one answer on which the SDK's browser build refreshes its access
 * token and retries the call (docs/plugins/auth.md, "Token expiry"). */
static const cb_error_code_def access_token_expired = {
    .code = "ACCESS_TOKEN_EXPIRED",
    .status = 401,
    .oauth = "invalid_token",
    .testbase = "unauthorized",
    .message = "the access token has expired; refresh it and retry",
};

static cb_status create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    auth_state *st = apr_pcalloc(p, sizeof(*st));
    const char *err;
    st->env = cb_ctx_env(ctx);
    st->redis = cb_ctx_redis(ctx);
    if (!st->redis) {
        cb_ctx_error(ctx, "the auth plugin keeps sessions in Redis: set CloudBaseRedis");
        return CB_ERROR;
    }
    st->db = cb_ctx_db(ctx);
    if (!st->db) {
        cb_ctx_error(ctx, "the auth plugin keeps users and API keys in a database: add "
                     "CloudBaseDatabase (e.g. CloudBaseDatabase "
                     "sqlite3:/var/lib/cloudbase/site.db)");
        return CB_ERROR;
    }
    cb_ctx_db_migrations(ctx, auth_migrations, -1);
    if (cb_ctx_register_error(ctx, &access_token_expired) != CB_OK)
        return CB_ERROR;
    if ((err = build_keyring(st, o, p))) {
        cb_ctx_error(ctx, "%s", err);
        return CB_ERROR;
    }
    st->admin_key = cb_opt_secret(o, "admin_key");
    if (st->admin_key && strlen(st->admin_key) < 24) {
        cb_ctx_error(ctx, "admin_key must be at least 24 characters");
        return CB_ERROR;
    }
    st->access_ttl = cb_opt_duration_ms(o, "access_token_ttl") / 1000;
    st->refresh_ttl = cb_opt_duration_ms(o, "refresh_token_ttl") / 1000;
    st->token_leeway = cb_opt_duration_ms(o, "token_leeway") / 1000;
    st->cache_bound = apr_time_from_msec(cb_opt_duration_ms(o, "session_cache_ttl"));
    st->allow_anonymous = cb_opt_bool(o, "anonymous");
    st->max_failures = cb_opt_int(o, "signin_max_failures");
    st->max_ip_failures = cb_opt_int(o, "signin_max_ip_failures");
    st->failure_window = cb_opt_duration_ms(o, "signin_failure_window") / 1000;
    st->password_min_length = cb_opt_int(o, "password_min_length");
    st->scrypt.n = (uint64_t)cb_opt_int(o, "scrypt_n");
    st->scrypt.r = (uint64_t)cb_opt_int(o, "scrypt_r");
    st->scrypt.p = (uint64_t)cb_opt_int(o, "scrypt_p");
    if (st->refresh_ttl < st->access_ttl) {
        cb_ctx_error(ctx, "refresh_token_ttl must be at least as long as access_token_ttl");
        return CB_ERROR;
    }
    if (st->scrypt.n & (st->scrypt.n - 1)) {
        cb_ctx_error(ctx, "scrypt_n must be a power of two (e.g. 16384 or 32768)");
        return CB_ERROR;
    }
    st->max_concurrent_hashes = cb_opt_int(o, "max_concurrent_hashes");
    st->hash_queue_wait = cb_opt_duration_ms(o, "hash_queue_wait");
    st->hash_gate = auth_hash_gate_create(p, (int)st->max_concurrent_hashes,
                                          apr_time_from_msec(st->hash_queue_wait));
    if (!st->hash_gate) {
        cb_ctx_error(ctx, "could not create the password-hash lock");
        return CB_ERROR;
    }
    /* In httpd's parent too, so that the decoy's buffer is not left in the
     * heap every child inherits. */
    auth_hash_memory_setup();
    st->decoy_hash = auth_password_hash(p, &st->scrypt, "no such user");
    if (!st->decoy_hash) {
        cb_ctx_error(ctx, "scrypt with these parameters failed (too much memory?)");
        return CB_ERROR;
    }
    cb_redis_script_init(&st->scripts.create_session, auth_script_create_session);
    cb_redis_script_init(&st->scripts.rotate, auth_script_rotate);
    cb_redis_script_init(&st->scripts.throttle_reserve, auth_script_throttle_reserve);
    cb_redis_script_init(&st->scripts.throttle_refund, auth_script_throttle_refund);
    cb_redis_script_init(&st->scripts.cache_fill, auth_script_cache_fill);
    st->cache = cb_cache_create(p, AUTH_SESSION_CACHE_SLOTS, AUTH_SESSION_CACHE_KEY_MAX, 1);
    st->token_cache = auth_token_cache_create(p);
    st->key_cache = cb_cache_create(p, AUTH_KEY_CACHE_SLOTS, AUTH_SESSION_CACHE_KEY_MAX,
                                    AUTH_KEY_CACHE_VALUE_MAX);
    if (!st->cache || !st->token_cache || !st->key_cache) {
        cb_ctx_error(ctx, "auth: the per-process caches could not be made");
        return CB_ERROR;
    }
    if (auth_apikey_service_publish(ctx, st) != CB_OK)
        return CB_ERROR;
    *state = st;
    return CB_OK;
}

static cb_status child_init(void *state, apr_pool_t *child_pool)
{
    auth_state *st = state;
    apr_pool_t *p;
    int users, keys;
    apr_status_t rv;
    auth_hash_memory_setup();
    /* Users and keys of the Redis-only layout move to the database. A
     * failure is retried by the next process that starts. */
    apr_pool_create(&p, child_pool);
    rv = auth_legacy_import(st, p, &users, &keys);
    if (rv == APR_SUCCESS && (users || keys))
        cb_log(CB_LOG_NOTICE, "auth: moved %d users and %d API keys of environment %s from "
               "Redis to the database", users, keys, st->env);
    else if (rv != APR_SUCCESS && rv != APR_EBUSY)
        cb_log(CB_LOG_WARNING, "auth: users and API keys of environment %s left in Redis could "
               "not be moved to the database yet (%s); the next process start retries",
               st->env, rv == AUTH_EDOWN ? "a store is unavailable" : "unexpected answer");
    apr_pool_destroy(p);
    return CB_OK;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "auth",
    .version = "1.0.0",
    .description = "CloudBase sign-in, tokens, API keys (database) and sessions (Redis)",
    .options = options,
    .routes = routes,
    .create = create,
    .child_init = child_init,
    .identify = auth_identify,
};
