/*
 * readcache.c: the shared read cache of readcache.h: versioned namespaces
 * in Redis, one filler per missing key (a SET NX PX lock), bounded waits
 * with a stale copy, and BYPASS whenever Redis cannot answer.
 *
 * Why the version is read from Redis on every get: a per-node copy of it
 * would let a node serve an answer from before a write another node has
 * acknowledged. One GET of the version and one of the answer per HIT is the
 * price of "never older than an acknowledged write", on any node.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/readcache.h"

#define ENTRY_MAGIC "cbrc1 "
#define ENTRY_MAGIC_LEN (sizeof(ENTRY_MAGIC) - 1)
#define MAX_FRESH_DIGITS 18 /* 18 nines still fit an int64_t */
#define MAX_NAMESPACE 128

struct cb_readcache {
    cb_redis *redis;
    const char *env;
    cb_readcache_config cfg;
    cb_redis_script release;
};

/* Deletes the lock only when it is still ours (it may have expired and been
 * taken by another filler). */
static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

void cb_readcache_config_defaults(cb_readcache_config *cfg)
{
    cfg->ttl_ms = 30000;
    cfg->stale_ttl_ms = 300000;
    cfg->lock_ms = 5000;
    cfg->wait_ms = 1000;
    cfg->poll_ms = 10;
    cfg->max_value = 1024 * 1024;
}

cb_readcache *cb_readcache_create(apr_pool_t *p, cb_redis *redis, const char *env,
                                  const cb_readcache_config *cfg)
{
    cb_readcache *c = apr_pcalloc(p, sizeof(*c));
    cb_readcache_config defaults;
    cb_readcache_config_defaults(&defaults);
    c->redis = redis;
    c->env = apr_pstrdup(p, env ? env : "");
    c->cfg = cfg ? *cfg : defaults;
    if (c->cfg.ttl_ms <= 0)
        c->cfg.ttl_ms = defaults.ttl_ms;
    if (c->cfg.stale_ttl_ms < c->cfg.ttl_ms)
        c->cfg.stale_ttl_ms = c->cfg.ttl_ms;
    if (c->cfg.lock_ms <= 0)
        c->cfg.lock_ms = defaults.lock_ms;
    if (c->cfg.wait_ms < 0)
        c->cfg.wait_ms = 0;
    if (c->cfg.poll_ms <= 0)
        c->cfg.poll_ms = defaults.poll_ms;
    if (c->cfg.max_value == 0)
        c->cfg.max_value = defaults.max_value;
    cb_redis_script_init(&c->release, release_script);
    return c;
}

const char *cb_readcache_status_name(cb_readcache_status status)
{
    switch (status) {
    case CB_READCACHE_HIT: return "HIT";
    case CB_READCACHE_MISS: return "MISS";
    case CB_READCACHE_STALE: return "STALE";
    default: return "BYPASS";
    }
}

int cb_readcache_parse_entry(const char *stored, size_t stored_len, int64_t *fresh_until_ms,
                             const char **value, size_t *value_len)
{
    int64_t fresh = 0;
    size_t i = ENTRY_MAGIC_LEN, digits = 0;
    if (!stored || stored_len < ENTRY_MAGIC_LEN + 2 ||
        memcmp(stored, ENTRY_MAGIC, ENTRY_MAGIC_LEN) != 0)
        return 0;
    for (; i < stored_len && stored[i] >= '0' && stored[i] <= '9'; i++, digits++) {
        if (digits == MAX_FRESH_DIGITS)
            return 0; /* more than fits an int64_t */
        fresh = fresh * 10 + (stored[i] - '0');
    }
    if (digits == 0 || i >= stored_len || stored[i] != '\n')
        return 0;
    *fresh_until_ms = fresh;
    *value = stored + i + 1;
    *value_len = stored_len - i - 1;
    return 1;
}

static int namespace_is_valid(const char *ns)
{
    size_t n = 0;
    if (!ns || !*ns)
        return 0;
    for (const char *s = ns; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return n <= MAX_NAMESPACE;
}

static int64_t now_ms(void)
{
    return (int64_t)(apr_time_now() / 1000);
}

/* GET key: APR_SUCCESS with *bytes NULL for a nil; CB_REDIS_EDOWN when
 * Redis did not answer or answered an error. */
static apr_status_t redis_get(cb_readcache *c, apr_pool_t *p, const char *key, const char **bytes,
                              size_t *len)
{
    const char *argv[] = {"GET", key};
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_command(c->redis, p, 2, argv, NULL, &reply);
    *bytes = NULL;
    *len = 0;
    if (rv != APR_SUCCESS)
        return rv;
    switch (cb_redis_reply_kind(reply)) {
    case CB_REDIS_REPLY_NIL:
        return APR_SUCCESS;
    case CB_REDIS_REPLY_STRING:
        *bytes = cb_redis_reply_bytes(reply, len);
        return APR_SUCCESS;
    default:
        return CB_REDIS_EDOWN;
    }
}

static const char *version_key(cb_readcache *c, apr_pool_t *p, const char *ns)
{
    return cb_redis_key(p, c->env, "rc", ns, "v", NULL);
}

/* The namespace's version ("0" before the first write). */
static apr_status_t read_version(cb_readcache *c, apr_pool_t *p, const char *ns,
                                 const char **version)
{
    size_t len;
    apr_status_t rv = redis_get(c, p, version_key(c, p, ns), version, &len);
    if (rv == APR_SUCCESS && !*version)
        *version = "0";
    return rv;
}

/* One look at the stored answer: 1 with a fresh answer (copied into p),
 * 0 without (a stale one, when there is one, copied into p as *stale),
 * -1 when Redis did not answer. */
static int look(cb_readcache *c, apr_pool_t *p, const char *entry_key, const char **value,
                size_t *len, const char **stale, size_t *stale_len)
{
    apr_pool_t *scratch;
    const char *stored, *v;
    size_t stored_len, vl;
    int64_t fresh_until;
    int found = 0;
    apr_pool_create(&scratch, p);
    if (redis_get(c, scratch, entry_key, &stored, &stored_len) != APR_SUCCESS) {
        found = -1;
    } else if (stored && cb_readcache_parse_entry(stored, stored_len, &fresh_until, &v, &vl)) {
        if (now_ms() < fresh_until) {
            *value = apr_pstrmemdup(p, v, vl);
            *len = vl;
            found = 1;
        } else if (!*stale) { /* once: the copy does not change while we wait */
            *stale = apr_pstrmemdup(p, v, vl);
            *stale_len = vl;
        }
    }
    apr_pool_destroy(scratch);
    return found;
}

/* SET key token NX PX lock_ms: 1 taken, 0 held by another, -1 no answer. */
static int take_lock(cb_readcache *c, apr_pool_t *p, const char *lock_key, const char *token)
{
    char px[32];
    const char *argv[] = {"SET", lock_key, token, "NX", "PX", px};
    const cb_redis_reply *reply;
    snprintf(px, sizeof(px), "%lld", (long long)c->cfg.lock_ms);
    if (cb_redis_command(c->redis, p, 6, argv, NULL, &reply) != APR_SUCCESS)
        return -1;
    switch (cb_redis_reply_kind(reply)) {
    case CB_REDIS_REPLY_STATUS:
        return 1;
    case CB_REDIS_REPLY_NIL:
        return 0;
    default:
        return -1;
    }
}

static void release_lock(cb_readcache *c, apr_pool_t *p, const char *lock_key, const char *token)
{
    const char *argv[] = {lock_key, token};
    const cb_redis_reply *reply;
    (void)cb_redis_eval(c->redis, p, &c->release, 1, 2, argv, NULL, &reply);
}

/* Stores value under entry_key, fresh for ttl_ms and kept stale_ttl_ms.
 * A failure only costs a later miss. */
static void store(cb_readcache *c, apr_pool_t *p, const char *entry_key, const char *value,
                  size_t len)
{
    char header[64], px[32];
    int header_len;
    char *blob;
    const char *argv[] = {"SET", entry_key, NULL, "PX", px};
    size_t argv_len[5];
    const cb_redis_reply *reply;
    if (len > c->cfg.max_value)
        return;
    header_len = snprintf(header, sizeof(header), ENTRY_MAGIC "%lld\n",
                          (long long)(now_ms() + c->cfg.ttl_ms));
    blob = apr_palloc(p, (size_t)header_len + len);
    memcpy(blob, header, (size_t)header_len);
    if (len)
        memcpy(blob + header_len, value, len);
    snprintf(px, sizeof(px), "%lld", (long long)c->cfg.stale_ttl_ms);
    argv[2] = blob;
    for (int i = 0; i < 5; i++)
        argv_len[i] = i == 2 ? (size_t)header_len + len : strlen(argv[i]);
    (void)cb_redis_command(c->redis, p, 5, argv, argv_len, &reply);
}

static const char *lock_token(apr_pool_t *p)
{
    unsigned char raw[16];
    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
        return apr_psprintf(p, "%" APR_TIME_T_FMT ".%pp", apr_time_now(), (void *)raw);
    return cb_sha256_hex(p, raw, sizeof(raw));
}

static apr_status_t from_source(apr_pool_t *p, cb_readcache_fill_fn fill, void *baton,
                                const char **value, size_t *len)
{
    const char *v = NULL;
    size_t vl = 0;
    apr_status_t rv = fill(baton, p, &v, &vl);
    if (rv != APR_SUCCESS)
        return rv;
    *value = v ? v : "";
    *len = v ? vl : 0;
    return APR_SUCCESS;
}

apr_status_t cb_readcache_get(cb_readcache *c, apr_pool_t *p, const char *ns, const void *key,
                              size_t key_len, cb_readcache_fill_fn fill, void *baton,
                              const char **value, size_t *len, cb_readcache_status *status)
{
    const char *version, *hash, *entry_key, *lock_key, *token, *stale = NULL;
    size_t stale_len = 0;
    int64_t deadline;
    apr_status_t rv;
    int found;

    if (!c || !namespace_is_valid(ns) || !fill || (!key && key_len))
        return APR_EINVAL;
    *status = CB_READCACHE_BYPASS;
    if (!c->redis || !cb_redis_available(c->redis) ||
        read_version(c, p, ns, &version) != APR_SUCCESS)
        return from_source(p, fill, baton, value, len);
    hash = cb_sha256_hex(p, key ? key : "", key_len);
    entry_key = cb_redis_key(p, c->env, "rc", ns, "e", version, hash, NULL);
    lock_key = cb_redis_key(p, c->env, "rc", ns, "l", version, hash, NULL);

    if ((found = look(c, p, entry_key, value, len, &stale, &stale_len)) != 0) {
        if (found < 0)
            return from_source(p, fill, baton, value, len);
        *status = CB_READCACHE_HIT;
        return APR_SUCCESS;
    }
    token = lock_token(p);
    deadline = now_ms() + c->cfg.wait_ms;
    for (;;) {
        int taken = take_lock(c, p, lock_key, token);
        if (taken < 0)
            return from_source(p, fill, baton, value, len);
        if (taken) {
            /* The filler before us may have stored and let go between our
             * look and our lock: look again before going to the source. */
            found = look(c, p, entry_key, value, len, &stale, &stale_len);
            if (found > 0) {
                release_lock(c, p, lock_key, token);
                *status = CB_READCACHE_HIT;
                return APR_SUCCESS;
            }
            rv = from_source(p, fill, baton, value, len);
            if (rv == APR_SUCCESS) {
                store(c, p, entry_key, *value, *len);
                *status = CB_READCACHE_MISS;
            }
            release_lock(c, p, lock_key, token);
            return rv;
        }
        if (now_ms() >= deadline)
            break;
        apr_sleep(apr_time_from_msec(c->cfg.poll_ms));
        found = look(c, p, entry_key, value, len, &stale, &stale_len);
        if (found > 0) {
            *status = CB_READCACHE_HIT;
            return APR_SUCCESS;
        }
        if (found < 0)
            break;
    }
    /* The filler is slow (or gone): the stale copy, else the source. */
    if (stale) {
        *value = stale;
        *len = stale_len;
        *status = CB_READCACHE_STALE;
        return APR_SUCCESS;
    }
    rv = from_source(p, fill, baton, value, len);
    if (rv == APR_SUCCESS) {
        store(c, p, entry_key, *value, *len);
        *status = CB_READCACHE_MISS;
    }
    return rv;
}

apr_status_t cb_readcache_bump(cb_readcache *c, apr_pool_t *p, const char *ns)
{
    const char *argv[2];
    const cb_redis_reply *reply;
    if (!c || !namespace_is_valid(ns))
        return APR_EINVAL;
    if (!c->redis)
        return APR_SUCCESS; /* no cache, nothing to invalidate */
    argv[0] = "INCR";
    argv[1] = version_key(c, p, ns);
    if (cb_redis_command(c->redis, p, 2, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER)
        return CB_REDIS_EDOWN;
    return APR_SUCCESS;
}

apr_status_t cb_readcache_purge(cb_readcache *c, apr_pool_t *p, const char *ns)
{
    return cb_readcache_bump(c, p, ns);
}
