/*
 * redis.c: the Redis client (connection pool, timeouts, breaker, EVALSHA).
 * See cloudbase/redis.h for the contract.
 */
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <hiredis.h>
#include <openssl/sha.h>

#include "cb_core.h"
#include "cloudbase/log.h"
#include "cloudbase/redis.h"
#include "cloudbase/values.h"
#include "breaker.h"
#include "redis_cluster.h"
#include "redis_reply.h"


struct cb_redis {
    cb_redis_config cfg;
    apr_thread_mutex_t *lock;
    redisContext **idle;           /* stack of idle connections */
    int idle_count;
    cb_breaker breaker;            /* guarded by lock (breaker.h) */
    cb_redis_cluster *cluster;     /* redis-cluster://: routes to per-node clients */
};

void cb_redis_config_defaults(cb_redis_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "127.0.0.1";
    cfg->port = 6379;
    cfg->connect_timeout_ms = 100;
    cfg->command_timeout_ms = 250;
    cfg->retry_interval_ms = 1000;
    cfg->pool_size = 16;
}

/* "host:port/...", "[::1]:port": a colon after the host (after the closing
 * bracket for IPv6). */
static int has_explicit_port(const char *authority)
{
    const char *end = authority + strcspn(authority, "/?#");
    const char *host_end = authority;
    if (*authority == '[') {
        host_end = memchr(authority, ']', (size_t)(end - authority));
        if (!host_end)
            return 0;
    }
    return memchr(host_end, ':', (size_t)(end - host_end)) != NULL;
}

const char *cb_redis_config_parse_url(apr_pool_t *p, const char *url, cb_redis_config *cfg)
{
    if (strncmp(url, "unix:", 5) == 0) {
        const char *q = strchr(url + 5, '?');
        cfg->host = NULL;
        cfg->cluster_nodes = NULL;
        cfg->unix_path = q ? apr_pstrmemdup(p, url + 5, (size_t)(q - url - 5)) : url + 5;
        if (!*cfg->unix_path || cfg->unix_path[0] != '/')
            return "unix: needs an absolute socket path, e.g. unix:/run/redis/redis.sock";
        if (q) {
            int64_t db;
            if (strncmp(q, "?db=", 4) || cb_parse_int(q + 4, &db) || db < 0 || db > 65535)
                return "unix socket URL takes only ?db=N";
            cfg->db = (int)db;
        }
        return NULL;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        cb_url parsed;
        const char *err = cb_parse_url(p, apr_pstrcat(p, "http://", url + 8, NULL), &parsed);
        if (err)
            return apr_psprintf(p, "bad Redis URL (write redis://127.0.0.1:6379/0): %s", err);
        cfg->host = parsed.host;
        cfg->port = has_explicit_port(url + 8) ? parsed.port : 6379;
        cfg->unix_path = NULL;
        cfg->cluster_nodes = NULL;
        if (parsed.path[1]) {
            int64_t db;
            if (cb_parse_int(parsed.path + 1, &db) || db < 0 || db > 65535)
                return "the Redis URL path is the database number, e.g. redis://127.0.0.1:6379/0";
            cfg->db = (int)db;
        }
        return NULL;
    }
    if (strncmp(url, "redis-cluster://", 16) == 0) {
        cb_redis_node_addr *nodes;
        int count;
        const char *err, *list = url + 16;
        if (strchr(list, '/') || strchr(list, '?'))
            return "a Redis Cluster address is redis-cluster://HOST:PORT,HOST:PORT (no "
                   "database number: a cluster has only database 0)";
        if ((err = cb_redis_parse_cluster_nodes(p, list, &nodes, &count)))
            return apr_psprintf(p, "bad Redis Cluster address: %s", err);
        cfg->cluster_nodes = apr_pstrdup(p, list);
        cfg->host = nodes[0].host;
        cfg->port = nodes[0].port;
        cfg->unix_path = NULL;
        cfg->db = 0;
        return NULL;
    }
    return "a Redis address is redis://HOST:PORT[/DB], unix:/PATH or "
           "redis-cluster://HOST:PORT,HOST:PORT";
}

const char *cb_redis_config_parse_option(apr_pool_t *p, const char *kv, cb_redis_config *cfg)
{
    const char *eq = strchr(kv, '=');
    const char *key, *value, *err = NULL;
    int64_t n;
    if (!eq)
        return apr_psprintf(p, "Redis option '%s' needs the form name=value", kv);
    key = apr_pstrmemdup(p, kv, (size_t)(eq - kv));
    value = eq + 1;
    if (strcmp(key, "connect_timeout") == 0) {
        err = cb_parse_duration_ms(value, &cfg->connect_timeout_ms);
    } else if (strcmp(key, "timeout") == 0) {
        err = cb_parse_duration_ms(value, &cfg->command_timeout_ms);
    } else if (strcmp(key, "retry") == 0) {
        err = cb_parse_duration_ms(value, &cfg->retry_interval_ms);
    } else if (strcmp(key, "pool") == 0) {
        err = cb_parse_int(value, &n);
        if (!err && (n < 1 || n > 1024))
            err = "pool must be between 1 and 1024";
        if (!err)
            cfg->pool_size = (int)n;
    } else if (strcmp(key, "password") == 0) {
        err = cb_parse_secret(p, value, &cfg->password);
        if (!err)
            cb_log_register_secret(cfg->password);
    } else {
        return apr_psprintf(p, "unknown Redis option '%s': use connect_timeout=, timeout=, "
                            "retry=, pool= or password=", key);
    }
    if (!err && (strcmp(key, "connect_timeout") == 0 || strcmp(key, "timeout") == 0) &&
        (key[0] == 'c' ? cfg->connect_timeout_ms : cfg->command_timeout_ms) <= 0)
        err = "a Redis timeout must be greater than zero";
    return err ? apr_psprintf(p, "Redis option %s: %s", key, err) : NULL;
}

static apr_status_t close_all(void *data)
{
    cb_redis *r = data;
    for (int i = 0; i < r->idle_count; i++)
        redisFree(r->idle[i]);
    r->idle_count = 0;
    return APR_SUCCESS;
}

cb_redis *cb_redis_create(apr_pool_t *p, const cb_redis_config *cfg)
{
    cb_redis *r = apr_pcalloc(p, sizeof(*r));
    r->cfg = *cfg;
    r->idle = apr_pcalloc(p, sizeof(redisContext *) * (size_t)cfg->pool_size);
    cb_breaker_init(&r->breaker, cfg->retry_interval_ms);
    apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, p);
    apr_pool_cleanup_register(p, r, close_all, apr_pool_cleanup_null);
    if (cfg->cluster_nodes)
        r->cluster = cb_redis_cluster_create(p, cfg);
    return r;
}

const cb_redis_config *cb_redis_get_config(const cb_redis *r)
{
    return &r->cfg;
}

static struct timeval ms_to_timeval(int64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

/* Sends a command (after ASKING when asking, on the same connection); a
 * NULL reply means an I/O failure. */
static redisReply *run_on(redisContext *c, int asking, int argc, const char *const *argv,
                          const size_t *len)
{
    void *asking_reply = NULL, *reply = NULL;
    if (!asking)
        return redisCommandArgv(c, argc, (const char **)argv, len);
    if (redisAppendCommand(c, "ASKING") != REDIS_OK ||
        redisAppendCommandArgv(c, argc, (const char **)argv, len) != REDIS_OK ||
        redisGetReply(c, &asking_reply) != REDIS_OK)
        return NULL;
    freeReplyObject(asking_reply);
    if (redisGetReply(c, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/* AUTH or SELECT on a new connection: 1 when Redis accepted it. */
static int run_setup_command(redisContext *c, const char *argv[2])
{
    redisReply *reply = run_on(c, 0, 2, argv, NULL);
    int ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (reply)
        freeReplyObject(reply);
    return ok;
}

static redisContext *connect_new(cb_redis *r)
{
    struct timeval ctv = ms_to_timeval(r->cfg.connect_timeout_ms);
    struct timeval ctimeout = ms_to_timeval(r->cfg.command_timeout_ms);
    redisContext *c;
    if (r->cfg.unix_path)
        c = redisConnectUnixWithTimeout(r->cfg.unix_path, ctv);
    else
        c = redisConnectWithTimeout(r->cfg.host, r->cfg.port, ctv);
    if (!c)
        return NULL;
    if (c->err || redisSetTimeout(c, ctimeout) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    if (r->cfg.password) {
        const char *argv[2] = {"AUTH", r->cfg.password};
        if (!run_setup_command(c, argv)) {
            redisFree(c);
            return NULL;
        }
    }
    if (r->cfg.db) {
        char db[16];
        const char *argv[2] = {"SELECT", db};
        apr_snprintf(db, sizeof(db), "%d", r->cfg.db);
        if (!run_setup_command(c, argv)) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

/* Takes an idle connection, or decides that the caller may connect anew.
 * Returns CB_REDIS_EDOWN while the breaker is open. */
static apr_status_t acquire(cb_redis *r, redisContext **out, int *is_probe)
{
    apr_status_t rv = APR_SUCCESS;
    *out = NULL;
    apr_thread_mutex_lock(r->lock);
    if (!cb_breaker_enter(&r->breaker, apr_time_now(), is_probe))
        rv = CB_REDIS_EDOWN;
    else if (!*is_probe && r->idle_count > 0)
        *out = r->idle[--r->idle_count];
    apr_thread_mutex_unlock(r->lock);
    return rv;
}

static void release(cb_redis *r, redisContext *c, int healthy, int is_probe)
{
    redisContext *to_free = NULL;
    redisContext **dropped = NULL;
    int dropped_count = 0;
    apr_thread_mutex_lock(r->lock);
    cb_breaker_leave(&r->breaker, apr_time_now(), healthy, is_probe);
    if (healthy) {
        if (c && r->idle_count < r->cfg.pool_size)
            r->idle[r->idle_count++] = c;
        else
            to_free = c;
    } else {
        to_free = c;
        /* Every pooled connection went to the same dead server. */
        dropped = r->idle;
        dropped_count = r->idle_count;
        r->idle_count = 0;
    }
    for (int i = 0; i < dropped_count; i++)
        redisFree(dropped[i]);
    apr_thread_mutex_unlock(r->lock);
    if (to_free)
        redisFree(to_free);
}

static apr_status_t free_reply(void *data)
{
    freeReplyObject(data);
    return APR_SUCCESS;
}

/* One command on one server, with ASKING first when asking. */
static apr_status_t server_command(cb_redis *r, apr_pool_t *p, int asking, int argc,
                                   const char *const *argv, const size_t *argv_len,
                                   const cb_redis_reply **reply_out)
{
    redisContext *c;
    redisReply *reply = NULL;
    int is_probe, reused;
    apr_status_t rv = acquire(r, &c, &is_probe);
    *reply_out = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    reused = c != NULL;
    if (!c)
        c = connect_new(r);
    if (c)
        reply = run_on(c, asking, argc, argv, argv_len);
    if (!reply && reused && c && c->err == REDIS_ERR_EOF) {
        /* A pooled connection may have been closed by the server (restart,
         * idle timeout): retry once on a fresh one. */
        redisFree(c);
        c = connect_new(r);
        if (c)
            reply = run_on(c, asking, argc, argv, argv_len);
    }
    if (!reply) {
        release(r, c, 0, is_probe);
        return CB_REDIS_EDOWN;
    }
    release(r, c, 1, is_probe);
    apr_pool_cleanup_register(p, reply, free_reply, apr_pool_cleanup_null);
    *reply_out = cb_redis_reply_wrap(reply);
    return APR_SUCCESS;
}

apr_status_t cb_redis_command_asking(cb_redis *r, apr_pool_t *p, int argc,
                                     const char *const *argv, const size_t *argv_len,
                                     const cb_redis_reply **reply)
{
    return server_command(r, p, 1, argc, argv, argv_len, reply);
}

apr_status_t cb_redis_command(cb_redis *r, apr_pool_t *p, int argc, const char *const *argv,
                              const size_t *argv_len, const cb_redis_reply **reply)
{
    int slot;
    /* Checked on a single server too, so that a command that could not run
     * on a cluster fails in every test. */
    apr_status_t rv = cb_redis_command_slot(argc, argv, argv_len, &slot);
    *reply = NULL;
    if (rv == CB_REDIS_ECROSSSLOT) {
        cb_log(CB_LOG_ERR, "Redis: %.*s with keys in different cluster slots refused (a "
               "programming error: every key of one command needs the same {hash tag})",
               (int)(argv_len ? argv_len[0] : strlen(argv[0])), argv[0]);
        return rv;
    }
    if (rv != APR_SUCCESS && argc < 1)
        return rv;
    if (rv != APR_SUCCESS) {
        cb_log(CB_LOG_ERR, "Redis: malformed %.*s refused (its key count does not match "
               "its arguments)", (int)(argv_len ? argv_len[0] : strlen(argv[0])), argv[0]);
        return rv;
    }
    if (r->cluster)
        return cb_redis_cluster_command(r->cluster, p, slot, argc, argv, argv_len, reply);
    return server_command(r, p, 0, argc, argv, argv_len, reply);
}

void cb_redis_script_init(cb_redis_script *s, const char *source)
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";
    s->source = source;
    SHA1((const unsigned char *)source, strlen(source), digest);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
        s->sha1_hex[2 * i] = hex[digest[i] >> 4];
        s->sha1_hex[2 * i + 1] = hex[digest[i] & 15];
    }
    s->sha1_hex[40] = '\0';
}

apr_status_t cb_redis_eval(cb_redis *r, apr_pool_t *p, const cb_redis_script *s,
                           int num_keys, int argc, const char *const *argv,
                           const size_t *argv_len, const cb_redis_reply **reply)
{
    int total = argc + 3;
    const char **full = apr_palloc(p, sizeof(char *) * (size_t)total);
    size_t *lens = apr_palloc(p, sizeof(size_t) * (size_t)total);
    char *nkeys = apr_itoa(p, num_keys);
    apr_status_t rv;
    full[0] = "EVALSHA"; lens[0] = 7;
    full[1] = s->sha1_hex; lens[1] = 40;
    full[2] = nkeys; lens[2] = strlen(nkeys);
    for (int i = 0; i < argc; i++) {
        full[i + 3] = argv[i];
        lens[i + 3] = argv_len ? argv_len[i] : strlen(argv[i]);
    }
    rv = cb_redis_command(r, p, total, full, lens, reply);
    if (rv == APR_SUCCESS && cb_redis_reply_error(*reply) &&
        strncmp(cb_redis_reply_error(*reply), "NOSCRIPT", 8) == 0) {
        /* The server lost its script cache (restart, SCRIPT FLUSH): EVAL
         * sends the source once and caches it again. */
        full[0] = "EVAL"; lens[0] = 4;
        full[1] = s->source; lens[1] = strlen(s->source);
        rv = cb_redis_command(r, p, total, full, lens, reply);
    }
    return rv;
}

int cb_redis_ping(cb_redis *r, apr_pool_t *p)
{
    static const char *const argv[1] = {"PING"};
    const cb_redis_reply *reply;
    if (r->cluster)
        return cb_redis_cluster_ping(r->cluster, p);
    if (cb_redis_command(r, p, 1, argv, NULL, &reply) != APR_SUCCESS)
        return 0;
    return cb_redis_reply_kind(reply) == CB_REDIS_REPLY_STATUS ||
           cb_redis_reply_kind(reply) == CB_REDIS_REPLY_STRING;
}

int cb_redis_available(cb_redis *r)
{
    int up;
    if (r->cluster)
        return cb_redis_cluster_available(r->cluster);
    apr_thread_mutex_lock(r->lock);
    up = cb_breaker_available(&r->breaker, apr_time_now());
    apr_thread_mutex_unlock(r->lock);
    return up;
}

const char *cb_redis_key(apr_pool_t *p, const char *env, ...)
{
    /* Measured once, written once: this runs on every rate-limited call. */
    va_list ap;
    const char *piece;
    size_t env_len = env ? strlen(env) : 0, len = 4 + env_len + 1; /* "cb:{" env "}" */
    char *key, *at;
    va_start(ap, env);
    while ((piece = va_arg(ap, const char *)))
        len += 1 + strlen(piece);
    va_end(ap);
    at = key = apr_palloc(p, len + 1);
    memcpy(at, "cb:{", 4);
    at += 4;
    memcpy(at, env ? env : "", env_len);
    at += env_len;
    *at++ = '}';
    va_start(ap, env);
    while ((piece = va_arg(ap, const char *))) {
        size_t n = strlen(piece);
        *at++ = ':';
        memcpy(at, piece, n);
        at += n;
    }
    va_end(ap);
    *at = '\0';
    return key;
}
