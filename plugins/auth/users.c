/*
 * users.c: password hashes, and the sign-in throttle (Redis state). Users
 * themselves are stored by user_store.c (the database, cached in Redis).
 *
 * Passwords are stored as "scrypt$N$r$p$SALT$HASH" (OpenSSL's
 * EVP_PBE_scrypt, a 16-byte random salt per user, 32-byte hash, base16), so
 * the cost can be raised later without breaking stored hashes.
 *
 * The throttle counts failed sign-ins per (username, client address) and per
 * client address, each in a fixed window that starts at the first failure.
 * Every attempt reserves a slot in both counters, atomically and before its
 * password is checked; a successful sign-in (or one whose password was
 * never checked) gives its slot back. So however many attempts arrive at
 * once, at most the limit of wrong passwords is ever checked per window.
 * Past the limit the caller waits out the window (429 + Retry-After). An
 * attacker elsewhere cannot lock a user out: the user's own address has its
 * own counter, and every lock ends when its window does.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "auth.h"

#define SCRYPT_MAX_MEMORY (256ULL * 1024 * 1024)

static int derive(const char *password, const unsigned char *salt, uint64_t n, uint64_t r,
                  uint64_t p, unsigned char *out)
{
    return EVP_PBE_scrypt(password, strlen(password), salt, AUTH_SALT_BYTES, n, r, p,
                          SCRYPT_MAX_MEMORY, out, AUTH_HASH_BYTES) == 1;
}

const char *auth_password_hash(apr_pool_t *p, const auth_scrypt_params *params,
                               const char *password)
{
    unsigned char salt[AUTH_SALT_BYTES], hash[AUTH_HASH_BYTES];
    if (cb_random_bytes(salt, sizeof(salt)) != 0 ||
        !derive(password, salt, params->n, params->r, params->p, hash))
        return NULL;
    return apr_psprintf(p, "scrypt$%" APR_UINT64_T_FMT "$%" APR_UINT64_T_FMT "$%"
                        APR_UINT64_T_FMT "$%s$%s", params->n, params->r, params->p,
                        cb_hex_encode(p, salt, AUTH_SALT_BYTES), cb_hex_encode(p, hash, AUTH_HASH_BYTES));
}

int auth_password_verify(apr_pool_t *p, const char *stored, const char *password)
{
    auth_password_record record;
    unsigned char actual[AUTH_HASH_BYTES];
    if (!auth_password_parse(p, stored, &record))
        return 0;
    if (!derive(password, record.salt, record.params.n, record.params.r, record.params.p, actual))
        return 0;
    return cb_equal_secret(record.hash, AUTH_HASH_BYTES, actual, AUTH_HASH_BYTES);
}


/* ---------------------------------------------------------------- throttle */

static const char *pair_key(apr_pool_t *p, const auth_state *st, const char *username,
                            const char *client_ip)
{
    const char *pair = apr_pstrcat(p, username, "\n", client_ip ? client_ip : "", NULL);
    return auth_key(p, st, "signin-fail", cb_sha256_hex(p, pair, strlen(pair)));
}

static const char *ip_key(apr_pool_t *p, const auth_state *st, const char *client_ip)
{
    return auth_key(p, st, "signin-fail-ip", client_ip ? client_ip : "-");
}

/* KEYS: the pair and address counters; ARGV: their limits, the window in
 * seconds. Refuses with the seconds left in the longest full window and
 * counts nothing; else counts the attempt in both and returns 0. */
const char auth_script_throttle_reserve[] =
    "local wait = 0 "
    "for i = 1, 2 do "
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0') "
    "  if n >= tonumber(ARGV[i]) then "
    "    local ttl = redis.call('TTL', KEYS[i]) "
    "    if ttl < 0 then redis.call('EXPIRE', KEYS[i], ARGV[3]) ttl = tonumber(ARGV[3]) "
    "    elseif ttl < 1 then ttl = 1 end "
    "    if ttl > wait then wait = ttl end "
    "  end "
    "end "
    "if wait > 0 then return wait end "
    "for i = 1, 2 do "
    "  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end "
    "end "
    "return 0";

/* KEYS: the pair and address counters. Gives one reserved attempt back;
 * a counter whose window has ended is not brought back. */
const char auth_script_throttle_refund[] =
    "for i = 1, 2 do "
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0') "
    "  if n > 1 then redis.call('DECR', KEYS[i]) "
    "  elseif n == 1 then redis.call('DEL', KEYS[i]) end "
    "end return 1";

apr_status_t auth_throttle_reserve(auth_state *st, apr_pool_t *p, const char *username,
                                   const char *client_ip, int64_t *retry_after)
{
    const cb_redis_reply *reply;
    apr_status_t rv;
    const char *argv[] = {pair_key(p, st, username, client_ip), ip_key(p, st, client_ip),
                          apr_ltoa(p, (long)st->max_failures),
                          apr_ltoa(p, (long)st->max_ip_failures),
                          apr_ltoa(p, (long)st->failure_window)};
    *retry_after = 0;
    rv = cb_redis_eval(st->redis, p, &st->scripts.throttle_reserve, 2, 5, argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER)
        return APR_EGENERAL;
    *retry_after = cb_redis_reply_integer(reply);
    return APR_SUCCESS;
}

void auth_throttle_refund(auth_state *st, apr_pool_t *p, const char *username,
                          const char *client_ip)
{
    const cb_redis_reply *reply;
    const char *argv[] = {pair_key(p, st, username, client_ip), ip_key(p, st, client_ip)};
    /* Best effort: when Redis is gone the slot stays counted until its
     * window ends, which errs on the safe side. */
    cb_redis_eval(st->redis, p, &st->scripts.throttle_refund, 2, 2, argv, NULL, &reply);
}
