/*
 * auth.c: the auth plugin's descriptor: options, routes, and create(),
 * which validates the options and builds the signing keyring.
 *
 * Sign-in (anonymous, username/password), tokens (JWT access tokens signed
 * by the gateway, rotating opaque refresh tokens), sign-out, `me`, API keys
 * and the admin routes, with sessions in Redis. The identity hook serves
 * every route of the environment. See docs/plugins/auth.md.
 */
#include <string.h>

#include <apr_strings.h>

#include "auth.h"

static const cb_option_def options[] = {
    {"jwt_algorithm", CB_OPT_STRING, 0, "HS256", "HS256 (shared secret) or ES256 (P-256 key pair)"},
    {"jwt_secret", CB_OPT_SECRET, 0, NULL, "HS256 signing secret, at least 32 bytes (file: or env:)"},
    {"jwt_key_id", CB_OPT_STRING, 0, "k1", "kid of the signing key"},
    {"jwt_private_key", CB_OPT_STRING, 0, NULL, "ES256: PEM file of the P-256 private key"},
    {"jwt_previous_secret", CB_OPT_SECRET, 0, NULL, "HS256: the previous secret, still verified during a rotation"},
    {"jwt_previous_public_key", CB_OPT_STRING, 0, NULL, "ES256: PEM file of the previous public key, still verified"},
    {"jwt_previous_key_id", CB_OPT_STRING, 0, "k0", "kid of the previous key"},
    {"access_token_ttl", CB_OPT_DURATION, 0, "2h", "lifetime of access tokens"},
    {"refresh_token_ttl", CB_OPT_DURATION, 0, "31d", "lifetime of sessions and refresh tokens"},
    {"session_cache_ttl", CB_OPT_DURATION, 0, "5s", "staleness bound of the per-process session cache"},
    {"anonymous", CB_OPT_BOOL, 0, "on", "allow anonymous sign-in"},
    {"admin_key", CB_OPT_SECRET, 0, NULL, "the key that opens /auth/v1/admin (file: or env:)"},
    {"signin_max_failures", CB_OPT_INT, 0, "5", "failed sign-ins per username and address before a wait"},
    {"signin_max_ip_failures", CB_OPT_INT, 0, "50", "failed sign-ins per address before a wait"},
    {"signin_failure_window", CB_OPT_DURATION, 0, "15m", "how long failed sign-ins are counted"},
    {"password_min_length", CB_OPT_INT, 0, "8", "shortest password the admin route accepts"},
    {"scrypt_n", CB_OPT_INT, 0, "16384", "scrypt cost N (a power of two)"},
    {"scrypt_r", CB_OPT_INT, 0, "8", "scrypt block size r"},
    {"scrypt_p", CB_OPT_INT, 0, "1", "scrypt parallelism p"},
    {"max_concurrent_hashes", CB_OPT_INT, 0, "2", "password hashes run at once per process"},
    {"hash_queue_wait", CB_OPT_DURATION, 0, "1s", "how long a sign-in waits for a hash slot before 503"},
    {NULL, 0, 0, NULL, NULL}
};

#define AUTH_ROUTE(method, path, handler, level) \
    {method, path, handler, level, CB_DIALECT_OAUTH, 0}

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
    {NULL, NULL, NULL, 0, 0, 0}
};

static const char *build_keyring(auth_state *st, const cb_options *o, apr_pool_t *p)
{
    const char *alg = cb_opt_string(o, "jwt_algorithm");
    const char *kid = cb_opt_string(o, "jwt_key_id");
    const char *previous_kid = cb_opt_string(o, "jwt_previous_key_id");
    const char *err;
    st->keys = cb_jwt_keyring_create(p);
    if (strcmp(kid, previous_kid) == 0)
        return "jwt_key_id and jwt_previous_key_id must differ";
    if (strcasecmp(alg, "HS256") == 0) {
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
    if (strcasecmp(alg, "ES256") == 0) {
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
    return "jwt_algorithm must be HS256 or ES256";
}

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
    if ((err = build_keyring(st, o, p))) {
        cb_ctx_error(ctx, "%s", err);
        return CB_ERROR;
    }
    st->admin_key = cb_opt_secret(o, "admin_key");
    if (st->admin_key && strlen(st->admin_key) < 24) {
        cb_ctx_error(ctx, "admin_key must be at least 24 characters");
        return CB_ERROR;
    }
    st->access_ttl = cb_opt_duration_ms(o, "access_token_ttl", 7200000) / 1000;
    st->refresh_ttl = cb_opt_duration_ms(o, "refresh_token_ttl", 2678400000LL) / 1000;
    st->cache_bound = apr_time_from_msec(cb_opt_duration_ms(o, "session_cache_ttl", 5000));
    st->allow_anonymous = cb_opt_bool(o, "anonymous", 1);
    st->max_failures = cb_opt_int(o, "signin_max_failures", 5);
    st->max_ip_failures = cb_opt_int(o, "signin_max_ip_failures", 50);
    st->failure_window = cb_opt_duration_ms(o, "signin_failure_window", 900000) / 1000;
    st->password_min_length = cb_opt_int(o, "password_min_length", 8);
    st->scrypt.n = (uint64_t)cb_opt_int(o, "scrypt_n", 16384);
    st->scrypt.r = (uint64_t)cb_opt_int(o, "scrypt_r", 8);
    st->scrypt.p = (uint64_t)cb_opt_int(o, "scrypt_p", 1);
    if (st->access_ttl < 60 || st->refresh_ttl < st->access_ttl) {
        cb_ctx_error(ctx, "access_token_ttl must be at least 1m and refresh_token_ttl at least as long");
        return CB_ERROR;
    }
    if (st->max_failures < 1 || st->max_ip_failures < 1 || st->failure_window < 1) {
        cb_ctx_error(ctx, "signin_max_failures, signin_max_ip_failures and signin_failure_window "
                          "must be positive");
        return CB_ERROR;
    }
    if (st->scrypt.n < 1024 || (st->scrypt.n & (st->scrypt.n - 1)) || st->scrypt.r < 1 ||
        st->scrypt.p < 1) {
        cb_ctx_error(ctx, "scrypt_n must be a power of two >= 1024; scrypt_r and scrypt_p >= 1");
        return CB_ERROR;
    }
    st->max_concurrent_hashes = cb_opt_int(o, "max_concurrent_hashes", 2);
    st->hash_queue_wait = cb_opt_duration_ms(o, "hash_queue_wait", 1000);
    if (st->max_concurrent_hashes < 1 || st->max_concurrent_hashes > 1024 ||
        st->hash_queue_wait < 0) {
        cb_ctx_error(ctx, "max_concurrent_hashes must be 1-1024 and hash_queue_wait not negative");
        return CB_ERROR;
    }
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
    cb_redis_script_init(&st->scripts.create_user, auth_script_create_user);
    cb_redis_script_init(&st->scripts.throttle_reserve, auth_script_throttle_reserve);
    cb_redis_script_init(&st->scripts.throttle_refund, auth_script_throttle_refund);
    cb_redis_script_init(&st->scripts.key_create, auth_script_key_create);
    cb_redis_script_init(&st->scripts.key_list, auth_script_key_list);
    cb_redis_script_init(&st->scripts.key_revoke, auth_script_key_revoke);
    st->cache = apr_pcalloc(p, sizeof(auth_cache_slot) * AUTH_SESSION_CACHE_SLOTS);
    for (int i = 0; i < AUTH_CACHE_LOCKS; i++) {
        apr_thread_rwlock_create(&st->cache_locks[i], p);
        apr_thread_rwlock_create(&st->token_locks[i], p);
    }
    st->token_cache = apr_pcalloc(p, sizeof(auth_token_slot) * AUTH_TOKEN_CACHE_SLOTS);
    *state = st;
    return CB_OK;
}

static cb_status child_init(void *state, apr_pool_t *child_pool)
{
    (void)state;
    (void)child_pool;
    auth_hash_memory_setup();
    return CB_OK;
}

const cb_plugin cloudbase_plugin = {
    .abi_version = CB_PLUGIN_ABI_VERSION,
    .name = "auth",
    .version = "1.0.0",
    .description = "CloudBase sign-in, tokens, API keys and sessions in Redis",
    .options = options,
    .routes = routes,
    .create = create,
    .child_init = child_init,
    .identify = auth_identify,
};
