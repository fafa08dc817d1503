/*
 * readcache.c: the shared read cache of readcache.h: versioned namespaces
 * in Redis, one filler per missing key (a SET NX PX lock), bounded waits
 * with a stale copy, and BYPASS whenever Redis cannot answer.
 *
 * Why the version is read from Redis on every get that Redis answers: a
 * per-node copy of it would let a node serve an answer from before a write
 * another node has acknowledged. It costs no extra round trip: answers are
 * keyed without the version and carry it inside, so one MGET reads both,
 * and an answer is served only when its version is the one read with it.
 * The one exception is a copy in this process's memory (local copies,
 * readcache_lease.c): served only under a lease every write waits for.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/readcache.h"
#include "readcache_entry.h"
#include "readcache_lease.h"

#define ENTRY_MAGIC CB_READCACHE_ENTRY_MAGIC
#define ENTRY_MAGIC_LEN CB_READCACHE_ENTRY_MAGIC_LEN
#define MAX_NAMESPACE 128

struct cb_readcache {
    apr_pool_t *pool;
    cb_redis *redis;
    const char *env;
    cb_readcache_config cfg;
    cb_redis_script release;
    cb_redis_script store;
    cb_redis_script bump;
    cb_rc_local *local;      /* local copies; NULL when off */
};

/* Deletes the lock only when it is still ours (it may have expired and been
 * taken by another filler). */
static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

/* SET KEYS[1] ARGV[2] PX ARGV[3] unless the entry there was filled at a
 * version newer than ARGV[1] (versions are INCR's decimals: longer is
 * newer, then byte order; compared as text, so no float rounding). */
static const char store_script[] =
    "local old = redis.call('GET', KEYS[1]) "
    "if old then "
    "  local v = string.match(old, '^cbrc2 (%d+) ') "
    "  if v and (#v > #ARGV[1] or (#v == #ARGV[1] and v > ARGV[1])) then return 0 end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) "
    "return 1";

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
    c->pool = p;
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
    cb_redis_script_init(&c->store, store_script);
    cb_redis_script_init(&c->bump, cb_rc_bump_lua);
    return c;
}

void cb_readcache_set_local(cb_readcache *c, int64_t lease_ms, size_t max_bytes)
{
    if (!c || !c->redis || lease_ms <= 0 || max_bytes == 0 || c->local)
        return;
    c->local = cb_rc_local_create(c->pool, c->redis, c->env, lease_ms, max_bytes);
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

/* Digits from stored[*i] on, at most max of them: their count (0 for none
 * or too many), *i past them and *number their value when wanted. */
static size_t digits_at(const char *stored, size_t stored_len, size_t *i, size_t max,
                        int64_t *number)
{
    size_t start = *i;
    int64_t n = 0;
    for (; *i < stored_len && stored[*i] >= '0' && stored[*i] <= '9'; (*i)++) {
        if (*i - start == max)
            return 0;
        if (number)   /* only the time is a number: a version may not fit one */
            n = n * 10 + (stored[*i] - '0');
    }
    if (number && *i > start)
        *number = n;
    return *i - start;
}

int cb_readcache_entry_parse(const char *stored, size_t stored_len, cb_readcache_entry *e)
{
    size_t i = ENTRY_MAGIC_LEN, version_len;
    int64_t fresh = 0;
    if (!stored || stored_len < ENTRY_MAGIC_LEN + 4 ||
        memcmp(stored, ENTRY_MAGIC, ENTRY_MAGIC_LEN) != 0)
        return 0;
    /* The version's digits are compared, never computed: no overflow. */
    version_len = digits_at(stored, stored_len, &i, CB_READCACHE_MAX_VERSION_DIGITS, NULL);
    if (version_len == 0 || i >= stored_len || stored[i] != ' ')
        return 0;
    i++;
    if (digits_at(stored, stored_len, &i, CB_READCACHE_MAX_FRESH_DIGITS, &fresh) == 0 ||
        i >= stored_len || stored[i] != '\n')
        return 0;
    e->version = stored + ENTRY_MAGIC_LEN;
    e->version_len = version_len;
    e->fresh_until_ms = fresh;
    e->value = stored + i + 1;
    e->value_len = stored_len - i - 1;
    return 1;
}

int cb_readcache_parse_entry(const char *stored, size_t stored_len, int64_t *fresh_until_ms,
                             const char **value, size_t *value_len)
{
    cb_readcache_entry e;
    if (!cb_readcache_entry_parse(stored, stored_len, &e))
        return 0;
    *fresh_until_ms = e.fresh_until_ms;
    *value = e.value;
    *value_len = e.value_len;
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

static const char *version_key(cb_readcache *c, apr_pool_t *p, const char *ns)
{
    return cb_redis_key(p, c->env, "rc", ns, "v", NULL);
}

/* A string or nil element of an MGET answer: 1 (nil: *bytes NULL), else 0. */
static int mget_element(const cb_redis_reply *reply, size_t i, const char **bytes, size_t *len)
{
    const cb_redis_reply *e = cb_redis_reply_element(reply, i);
    *bytes = NULL;
    *len = 0;
    switch (e ? cb_redis_reply_kind(e) : CB_REDIS_REPLY_ERROR) {
    case CB_REDIS_REPLY_NIL:
        return 1;
    case CB_REDIS_REPLY_STRING:
        *bytes = cb_redis_reply_bytes(e, len);
        return 1;
    default:
        return 0;
    }
}

/* What one look found. */
typedef struct sighting {
    const char *version;    /* the namespace's version now ("0" before any write), in p */
    size_t version_len;
    const char *value;      /* a fresh answer of that version (NUL-terminated) */
    size_t len;
    int64_t fresh_until_ms; /* and until when it is fresh */
} sighting;

/* One round trip: MGET of the version and the entry (one slot: both keys
 * carry the environment's hash tag). 1 with a fresh answer of the current
 * version, 0 without, -1 when Redis did not answer. The version and answer
 * are the reply's own bytes when keep is set (the first look: the reply
 * lives until p is cleared, so a HIT copies nothing), else copies in p
 * (polls: their replies go with a scratch pool). An entry of the current
 * version past its TTL becomes the stale copy (once: it does not change
 * while we wait); an entry of any other version is nothing at all. */
static int look(cb_readcache *c, apr_pool_t *p, int keep, const char *const keys[2],
                sighting *now, const char **stale, size_t *stale_len)
{
    apr_pool_t *rp = p;
    const char *argv[] = {"MGET", keys[0], keys[1]};
    const cb_redis_reply *reply;
    const char *version, *stored;
    size_t version_len, stored_len;
    cb_readcache_entry e;
    int found = -1;
    if (!keep)
        apr_pool_create(&rp, p);
    if (cb_redis_command(c->redis, rp, 3, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY ||
        cb_redis_reply_count(reply) != 2 || !mget_element(reply, 0, &version, &version_len) ||
        !mget_element(reply, 1, &stored, &stored_len))
        goto done;
    found = 0;
    if (!version) {
        version = "0";
        version_len = 1;
    }
    now->version = keep ? version : apr_pstrmemdup(p, version, version_len);
    now->version_len = version_len;
    if (!stored || !cb_readcache_entry_parse(stored, stored_len, &e) ||
        e.version_len != version_len || memcmp(e.version, version, version_len) != 0)
        goto done;
    if (now_ms() < e.fresh_until_ms) {
        now->value = keep ? e.value : apr_pstrmemdup(p, e.value, e.value_len);
        now->len = e.value_len;
        now->fresh_until_ms = e.fresh_until_ms;
        found = 1;
    } else if (!*stale) {
        *stale = keep ? e.value : apr_pstrmemdup(p, e.value, e.value_len);
        *stale_len = e.value_len;
    }
done:
    if (!keep)
        apr_pool_destroy(rp);
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

/* Stores value under entry_key, filled at version, fresh for ttl_ms and
 * kept stale_ttl_ms, unless the entry there is of a newer version (a filler
 * that finished late must not push out its successor's answer: that would
 * cost the newer version a second fill). A failure only costs a later miss. */
static void store(cb_readcache *c, apr_pool_t *p, const char *entry_key, const char *version,
                  int64_t fresh_until_ms, const char *value, size_t len)
{
    char header[80], px[32];
    int header_len;
    char *blob;
    const char *argv[] = {entry_key, version, NULL, px};
    size_t argv_len[4];
    const cb_redis_reply *reply;
    if (len > c->cfg.max_value)
        return;
    header_len = snprintf(header, sizeof(header), ENTRY_MAGIC "%s %lld\n", version,
                          (long long)fresh_until_ms);
    blob = apr_palloc(p, (size_t)header_len + len);
    memcpy(blob, header, (size_t)header_len);
    if (len)
        memcpy(blob + header_len, value, len);
    snprintf(px, sizeof(px), "%lld", (long long)c->cfg.stale_ttl_ms);
    argv[2] = blob;
    for (int i = 0; i < 4; i++)
        argv_len[i] = i == 2 ? (size_t)header_len + len : strlen(argv[i]);
    (void)cb_redis_eval(c->redis, p, &c->store, 1, 4, argv, argv_len, &reply);
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

/* A fresh answer read from Redis (or filled) at version: kept in this
 * process's memory too, when it keeps local copies of ns. */
static void remember(cb_readcache *c, const char *ns, const char *hash, const char *version,
                     int64_t fresh_until_ms, const char *value, size_t len)
{
    if (c->local)
        cb_rc_local_put(c->local, ns, hash, version, fresh_until_ms, value, len);
}

/* Fills from the source, stores under version (read before the fill
 * started, so the answer is no older than that version's write). */
static apr_status_t fill_and_store(cb_readcache *c, apr_pool_t *p, const char *ns,
                                   const char *hash, const char *entry_key, const char *version,
                                   cb_readcache_fill_fn fill, void *baton, const char **value,
                                   size_t *len, cb_readcache_status *status)
{
    apr_status_t rv = from_source(p, fill, baton, value, len);
    if (rv == APR_SUCCESS) {
        int64_t fresh_until_ms = now_ms() + c->cfg.ttl_ms;
        store(c, p, entry_key, version, fresh_until_ms, *value, *len);
        remember(c, ns, hash, version, fresh_until_ms, *value, *len);
        *status = CB_READCACHE_MISS;
    }
    return rv;
}

/* A HIT read from Redis: handed back, and remembered. */
static apr_status_t redis_hit(cb_readcache *c, const char *ns, const char *hash,
                              const sighting *seen, const char **value, size_t *len,
                              cb_readcache_status *status)
{
    remember(c, ns, hash, seen->version, seen->fresh_until_ms, seen->value, seen->len);
    *value = seen->value;
    *len = seen->len;
    *status = CB_READCACHE_HIT;
    return APR_SUCCESS;
}

apr_status_t cb_readcache_get(cb_readcache *c, apr_pool_t *p, const char *ns, const void *key,
                              size_t key_len, cb_readcache_fill_fn fill, void *baton,
                              const char **value, size_t *len, cb_readcache_status *status)
{
    const char *hash, *keys[2], *lock_key, *token, *stale = NULL;
    size_t stale_len = 0;
    sighting now = {0}, seen;
    int64_t deadline;
    apr_status_t rv;
    int found;

    if (!c || !namespace_is_valid(ns) || !fill || (!key && key_len))
        return APR_EINVAL;
    *status = CB_READCACHE_BYPASS;
    if (!c->redis || !cb_redis_available(c->redis))
        return from_source(p, fill, baton, value, len);
    hash = cb_sha256_hex(p, key ? key : "", key_len);
    if (c->local && cb_rc_local_get(c->local, p, ns, hash, value, len)) {
        *status = CB_READCACHE_HIT;
        return APR_SUCCESS;
    }
    keys[0] = version_key(c, p, ns);
    keys[1] = cb_redis_key(p, c->env, "rc", ns, "e", hash, NULL);

    if ((found = look(c, p, 1, keys, &now, &stale, &stale_len)) != 0) {
        if (found < 0)
            return from_source(p, fill, baton, value, len);
        return redis_hit(c, ns, hash, &now, value, len, status);
    }
    /* One filler per key and version. */
    lock_key = cb_redis_key(p, c->env, "rc", ns, "l", now.version, hash, NULL);
    token = lock_token(p);
    deadline = now_ms() + c->cfg.wait_ms;
    for (;;) {
        int taken = take_lock(c, p, lock_key, token);
        if (taken < 0)
            return from_source(p, fill, baton, value, len);
        if (taken) {
            /* The filler before us may have stored and let go between our
             * look and our lock: look again before going to the source. */
            seen = now;
            found = look(c, p, 0, keys, &seen, &stale, &stale_len);
            if (found > 0) {
                release_lock(c, p, lock_key, token);
                return redis_hit(c, ns, hash, &seen, value, len, status);
            }
            rv = fill_and_store(c, p, ns, hash, keys[1], seen.version, fill, baton, value, len,
                                status);
            release_lock(c, p, lock_key, token);
            return rv;
        }
        if (now_ms() >= deadline)
            break;
        apr_sleep(apr_time_from_msec(c->cfg.poll_ms));
        seen = now;
        found = look(c, p, 0, keys, &seen, &stale, &stale_len);
        if (found > 0)
            return redis_hit(c, ns, hash, &seen, value, len, status);
        if (found < 0)
            break;
        if (seen.version_len != now.version_len ||
            memcmp(seen.version, now.version, now.version_len) != 0) {
            /* A write since our first look: the filler we waited for fills
             * the old version, and no copy from before it may be served. */
            now = seen;
            stale = NULL;
            break;
        }
    }
    /* The filler is slow (or gone): the stale copy, else the source. */
    if (stale) {
        *value = stale;
        *len = stale_len;
        *status = CB_READCACHE_STALE;
        return APR_SUCCESS;
    }
    return fill_and_store(c, p, ns, hash, keys[1], now.version, fill, baton, value, len,
                          status);
}

apr_status_t cb_readcache_bump(cb_readcache *c, apr_pool_t *p, const char *ns)
{
    if (!c || !namespace_is_valid(ns))
        return APR_EINVAL;
    if (!c->redis)
        return APR_SUCCESS; /* no cache, nothing to invalidate */
    /* always through the leases: another node may keep local copies */
    return cb_rc_bump_and_wait(c->redis, &c->bump, c->local, p, c->env, ns);
}

apr_status_t cb_readcache_purge(cb_readcache *c, apr_pool_t *p, const char *ns)
{
    return cb_readcache_bump(c, p, ns);
}
