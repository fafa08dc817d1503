/*
 * lease.c: the Redis lease with a fencing token (include/cloudbase/lease.h).
 * Each operation is one Lua script whose keys all come in KEYS and share the
 * environment's hash tag, so the lease works on a Redis Cluster too.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cb_core.h"
#include "cloudbase/lease.h"

/* KEYS: lease hash, fence counter. ARGV: holder, ttl ms.
 * Returns the token, or 0 when another holder has the lease. */
static const char acquire_lua[] =
    "local cur = redis.call('HGET', KEYS[1], 'holder')\n"
    "if cur and cur ~= ARGV[1] then return 0 end\n"
    "if cur then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return tonumber(redis.call('HGET', KEYS[1], 'token'))\n"
    "end\n"
    "local t = redis.call('INCR', KEYS[2])\n"
    "redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', t)\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "return t\n";

/* KEYS: lease hash. ARGV: holder, token, ttl ms. 1 when renewed. */
static const char renew_lua[] =
    "if redis.call('HGET', KEYS[1], 'holder') == ARGV[1]\n"
    "   and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* KEYS: lease hash. ARGV: holder, token. 1 when released. */
static const char release_lua[] =
    "if redis.call('HGET', KEYS[1], 'holder') == ARGV[1]\n"
    "   and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

static cb_redis_script acquire_script, renew_script, release_script;
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

static void init_scripts_once(void)
{
    cb_redis_script_init(&acquire_script, acquire_lua);
    cb_redis_script_init(&renew_script, renew_lua);
    cb_redis_script_init(&release_script, release_lua);
}

static void init_scripts(void)
{
    pthread_once(&scripts_once, init_scripts_once);
}

const char *cb_lease_holder_id(apr_pool_t *p)
{
    char host[256] = "host";
    unsigned char rnd[8];
    char hex[17];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    apr_generate_random_bytes(rnd, sizeof(rnd));
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    return apr_psprintf(p, "%s:%ld:%s", host, (long)getpid(), hex);
}

void cb_lease_init(cb_lease *lease, const char *env, const char *name, const char *holder)
{
    lease->env = env ? env : "";
    lease->name = name;
    lease->holder = holder;
    lease->token = 0;
}

static const char *lease_key(apr_pool_t *p, const cb_lease *lease)
{
    return cb_redis_key(p, lease->env, "lease", lease->name, NULL);
}

static apr_status_t integer_reply(cb_redis *r, apr_pool_t *p, const cb_redis_script *s,
                                  int num_keys, int argc, const char *const *argv,
                                  long long *out)
{
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_eval(r, p, s, num_keys, argc, argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER)
        return CB_REDIS_EDOWN;
    *out = cb_redis_reply_integer(reply);
    return APR_SUCCESS;
}

apr_status_t cb_lease_acquire(cb_redis *r, apr_pool_t *p, cb_lease *lease, int64_t ttl_ms)
{
    const char *key = lease_key(p, lease);
    const char *argv[] = {key, apr_pstrcat(p, key, ":fence", NULL), lease->holder,
                          apr_psprintf(p, "%" APR_INT64_T_FMT, ttl_ms)};
    long long token;
    apr_status_t rv;
    init_scripts();
    rv = integer_reply(r, p, &acquire_script, 2, 4, argv, &token);
    if (rv != APR_SUCCESS)
        return rv;
    lease->token = token;
    return token > 0 ? APR_SUCCESS : APR_EBUSY;
}

apr_status_t cb_lease_renew(cb_redis *r, apr_pool_t *p, cb_lease *lease, int64_t ttl_ms)
{
    const char *argv[] = {lease_key(p, lease), lease->holder,
                          apr_psprintf(p, "%" APR_INT64_T_FMT, lease->token),
                          apr_psprintf(p, "%" APR_INT64_T_FMT, ttl_ms)};
    long long ok;
    apr_status_t rv;
    init_scripts();
    rv = integer_reply(r, p, &renew_script, 1, 4, argv, &ok);
    if (rv != APR_SUCCESS)
        return rv;
    if (!ok)
        lease->token = 0;
    return ok ? APR_SUCCESS : APR_EBUSY;
}

apr_status_t cb_lease_release(cb_redis *r, apr_pool_t *p, cb_lease *lease)
{
    const char *argv[] = {lease_key(p, lease), lease->holder,
                          apr_psprintf(p, "%" APR_INT64_T_FMT, lease->token)};
    long long ok;
    apr_status_t rv;
    init_scripts();
    rv = integer_reply(r, p, &release_script, 1, 3, argv, &ok);
    if (rv != APR_SUCCESS)
        return rv;
    lease->token = 0;
    return ok ? APR_SUCCESS : APR_EBUSY;
}
