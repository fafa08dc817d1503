/*
 * test_readcache.c: cb_readcache (readcache.h) against a real redis-server
 * and, for the tests that keep it running, a real three-master Redis
 * Cluster ("readcache_cluster"): miss then hit, a bump or a purge makes the
 * next read go to the source, two clients ("nodes") never read an answer
 * older than the last bump, 200 threads missing one key at once cause
 * exactly one source fill, a slow filler makes the others take the stale
 * copy (or the source, without one), a failing fill is handed back and not
 * stored, Redis down gives BYPASS (and a bump reports it), a HIT is one
 * MGET, an answer of another version is never served (nor STALE), the
 * stored entry parser, and local copies (served with no MGET, never older
 * than an acknowledged write on another holder, busy or quiet). Waits poll to deadlines; nothing asserts a duration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include <check.h>

#include "cloudbase/crypto.h"
#include "cloudbase/readcache.h"
#include "readcache_entry.h"
#include "cloudbase/redis.h"
#include "cluster_servers.h"
#include "servers.h"

#define STAMPEDE_THREADS 200

static apr_pool_t *pool;
static char dir[] = "/tmp/cb-readcache-test-XXXXXX";
static int port;
static pid_t redis_pid;
static srv_cluster cluster;
static char cluster_url[256]; /* set: clients are cluster clients */

static cb_redis *new_client(apr_pool_t *p)
{
    cb_redis_config cfg;
    cb_redis_config_defaults(&cfg);
    cfg.port = port;
    if (cluster_url[0])
        ck_assert_ptr_null(cb_redis_config_parse_url(p, cluster_url, &cfg));
    cfg.command_timeout_ms = 5000;
    cfg.connect_timeout_ms = 2000;
    cfg.retry_interval_ms = 100;
    cfg.pool_size = 64;
    return cb_redis_create(p, &cfg);
}

static cb_readcache *new_cache(cb_redis *redis, int64_t ttl_ms, int64_t wait_ms)
{
    cb_readcache_config cfg;
    cb_readcache_config_defaults(&cfg);
    cfg.ttl_ms = ttl_ms;
    cfg.stale_ttl_ms = 600000;
    cfg.lock_ms = 60000;
    cfg.wait_ms = wait_ms;
    cfg.poll_ms = 5;
    return cb_readcache_create(pool, redis, "demo", &cfg);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    port = srv_free_port();
    redis_pid = srv_start_redis(port, dir, NULL);
    ck_assert_msg(srv_wait_port(port, 5000), "redis-server did not start");
}

static void teardown(void)
{
    if (redis_pid > 0)
        srv_stop(redis_pid);
    redis_pid = 0;
    apr_pool_destroy(pool);
    rmdir(dir);
    strcpy(dir, "/tmp/cb-readcache-test-XXXXXX");
}

static void cluster_start(void)
{
    ck_assert_msg(srv_cluster_start(&cluster) == 0, "the Redis Cluster did not start");
}

static void cluster_stop(void) { srv_cluster_stop(&cluster); }

static void cluster_setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(srv_cluster_flush(&cluster), 0);
    srv_cluster_url(&cluster, cluster_url, sizeof(cluster_url));
}

static void cluster_teardown(void)
{
    apr_pool_destroy(pool);
    cluster_url[0] = '\0';
}

/* The "database": a value, how often it was read, and an optional gate a
 * fill waits at (with `entered` counting fills that reached it). */
typedef struct source {
    volatile apr_uint32_t fills;
    volatile apr_uint32_t entered;
    volatile apr_uint32_t started;   /* stampede threads started */
    volatile apr_uint32_t open;      /* 1: gated fills may return */
    apr_uint32_t wait_for_started;   /* a fill waits until this many started */
    int gated;
    apr_status_t fail;
    char value[64];
} source;

static int wait_until(volatile apr_uint32_t *counter, apr_uint32_t target, int ms)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(ms);
    while (apr_atomic_read32(counter) < target) {
        if (apr_time_now() > deadline)
            return 0;
        apr_sleep(apr_time_from_msec(2));
    }
    return 1;
}

static apr_status_t fill_from(void *baton, apr_pool_t *p, const char **value, size_t *len)
{
    source *s = baton;
    apr_atomic_inc32(&s->fills);
    apr_atomic_inc32(&s->entered);
    if (s->wait_for_started)
        wait_until(&s->started, s->wait_for_started, 60000);
    if (s->gated)
        wait_until(&s->open, 1, 60000);
    if (s->fail)
        return s->fail;
    *value = apr_pstrdup(p, s->value);
    *len = strlen(s->value);
    return APR_SUCCESS;
}

static cb_readcache_status get(cb_readcache *c, const char *ns, const char *key, source *s,
                               const char **value)
{
    cb_readcache_status status;
    size_t len;
    ck_assert_int_eq(cb_readcache_get(c, pool, ns, key, strlen(key), fill_from, s, value, &len,
                                      &status), APR_SUCCESS);
    ck_assert_uint_eq(len, strlen(*value));
    return status;
}

START_TEST(miss_then_hit)
{
    cb_readcache *c = new_cache(new_client(pool), 600000, 5000);
    source s = {.value = "[{\"_id\":\"a\"}]"};
    const char *v;
    ck_assert_int_eq(get(c, "post.prod", "q1|user:alice", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "[{\"_id\":\"a\"}]");
    ck_assert_int_eq(s.fills, 1);
    strcpy(s.value, "changed without a write");
    ck_assert_int_eq(get(c, "post.prod", "q1|user:alice", &s, &v), CB_READCACHE_HIT);
    ck_assert_str_eq(v, "[{\"_id\":\"a\"}]");
    ck_assert_int_eq(s.fills, 1);
    /* Another scope, another query or another namespace is its own key. */
    ck_assert_int_eq(get(c, "post.prod", "q1|user:bob", &s, &v), CB_READCACHE_MISS);
    ck_assert_int_eq(get(c, "post.prod", "q2|user:alice", &s, &v), CB_READCACHE_MISS);
    ck_assert_int_eq(get(c, "post.pre", "q1|user:alice", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "changed without a write");
    ck_assert_int_eq(s.fills, 4);
    ck_assert_str_eq(cb_readcache_status_name(CB_READCACHE_HIT), "HIT");
    ck_assert_str_eq(cb_readcache_status_name(CB_READCACHE_STALE), "STALE");
}
END_TEST

START_TEST(bump_and_purge_invalidate)
{
    cb_readcache *c = new_cache(new_client(pool), 600000, 5000);
    source s = {.value = "v1"};
    const char *v;
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_int_eq(get(c, "post.pre", "q", &s, &v), CB_READCACHE_MISS);
    strcpy(s.value, "v2");
    ck_assert_int_eq(cb_readcache_bump(c, pool, "post.prod"), APR_SUCCESS);
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "v2");
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_HIT);
    ck_assert_str_eq(v, "v2");
    /* The other namespace was not touched. */
    ck_assert_int_eq(get(c, "post.pre", "q", &s, &v), CB_READCACHE_HIT);
    ck_assert_str_eq(v, "v1");
    strcpy(s.value, "v3");
    ck_assert_int_eq(cb_readcache_purge(c, pool, "post.pre"), APR_SUCCESS);
    ck_assert_int_eq(get(c, "post.pre", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "v3");
}
END_TEST

/* Two nodes with their own clients: after each write (source changed, then
 * a bump on either node, as a plugin does before acknowledging), both
 * nodes' next reads give the new value, never an older one. */
START_TEST(two_nodes_never_read_older)
{
    cb_readcache *a = new_cache(new_client(pool), 600000, 5000);
    cb_readcache *b = new_cache(new_client(pool), 600000, 5000);
    source s;
    const char *v;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 50; i++) {
        char expected[32];
        snprintf(expected, sizeof(expected), "row-%d", i);
        snprintf(s.value, sizeof(s.value), "%s", expected);
        ck_assert_int_eq(cb_readcache_bump(i % 2 ? a : b, pool, "post.prod"), APR_SUCCESS);
        for (int r = 0; r < 3; r++) {
            get(r % 2 ? a : b, "post.prod", "list|public", &s, &v);
            ck_assert_msg(strcmp(v, expected) == 0, "write %d: read %s", i, v);
            get(r % 2 ? b : a, "post.prod", "list|public", &s, &v);
            ck_assert_msg(strcmp(v, expected) == 0, "write %d: read %s", i, v);
        }
    }
    /* One fill per write: every other read was a hit on the shared entry. */
    ck_assert_int_eq(s.fills, 50);
}
END_TEST

typedef struct stampede_arg {
    cb_readcache *cache;
    source *src;
    cb_readcache_status status;
    apr_status_t rv;
    char value[64];
} stampede_arg;

/* The work of a thread in its own frame, left by return: apr_thread_exit
 * from a frame with locals trips AddressSanitizer's stack checks (as in
 * test_cache.c). */
static __attribute__((noinline)) void stampede_read(stampede_arg *arg)
{
    apr_pool_t *p;
    const char *v = NULL;
    size_t len = 0;
    apr_pool_create(&p, NULL);
    apr_atomic_inc32(&arg->src->started);
    arg->rv = cb_readcache_get(arg->cache, p, "post.prod", "hot|public", 10, fill_from,
                               arg->src, &v, &len, &arg->status);
    if (arg->rv == APR_SUCCESS)
        snprintf(arg->value, sizeof(arg->value), "%.*s", (int)len, v);
    apr_pool_destroy(p);
}

static void *APR_THREAD_FUNC stampede_thread(apr_thread_t *t, void *data)
{
    stampede_read(data);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* 200 threads miss one key at once (the fill holds until every thread has
 * started): one source fill, one MISS, 199 HITs with the same answer. The
 * bound: exactly one while the filler finishes within lock_ms and wait_ms
 * (60 s and 30 s here). */
START_TEST(stampede_fills_once)
{
    cb_readcache *c = new_cache(new_client(pool), 600000, 30000);
    static stampede_arg args[STAMPEDE_THREADS];
    apr_thread_t *threads[STAMPEDE_THREADS];
    source s;
    int misses = 0, hits = 0;
    memset(&s, 0, sizeof(s));
    strcpy(s.value, "hot answer");
    s.wait_for_started = STAMPEDE_THREADS;
    for (int i = 0; i < STAMPEDE_THREADS; i++) {
        args[i] = (stampede_arg){.cache = c, .src = &s};
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, stampede_thread, &args[i], pool),
                         APR_SUCCESS);
    }
    for (int i = 0; i < STAMPEDE_THREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, threads[i]);
        ck_assert_int_eq(args[i].rv, APR_SUCCESS);
        ck_assert_str_eq(args[i].value, "hot answer");
        misses += args[i].status == CB_READCACHE_MISS;
        hits += args[i].status == CB_READCACHE_HIT;
    }
    ck_assert_int_eq(s.fills, 1);
    ck_assert_int_eq(misses, 1);
    ck_assert_int_eq(hits, STAMPEDE_THREADS - 1);
}
END_TEST

typedef struct slow_fill {
    cb_readcache *cache;
    source *src;
    const char *key;
    cb_readcache_status status;
    char value[64];
} slow_fill;

static __attribute__((noinline)) void slow_fill_read(slow_fill *f)
{
    apr_pool_t *p;
    const char *v = NULL;
    size_t len = 0;
    apr_pool_create(&p, NULL);
    if (cb_readcache_get(f->cache, p, "post.prod", f->key, strlen(f->key), fill_from, f->src,
                         &v, &len, &f->status) == APR_SUCCESS)
        snprintf(f->value, sizeof(f->value), "%.*s", (int)len, v);
    apr_pool_destroy(p);
}

static void *APR_THREAD_FUNC slow_fill_thread(apr_thread_t *t, void *data)
{
    slow_fill_read(data);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* An answer past its TTL (1 ms) and a filler held at the source: another
 * reader waits its bounded time and takes the stale copy; on a key with
 * no copy at all it goes to the source itself. */
START_TEST(slow_filler_serves_stale)
{
    cb_readcache *c = new_cache(new_client(pool), 1, 20);
    source old = {.value = "old"}, held, other = {.value = "other"};
    slow_fill f;
    apr_thread_t *thread;
    apr_status_t rv;
    const char *v;
    ck_assert_int_eq(get(c, "post.prod", "q", &old, &v), CB_READCACHE_MISS);
    memset(&held, 0, sizeof(held));
    strcpy(held.value, "new");
    held.gated = 1;
    f = (slow_fill){.cache = c, .src = &held, .key = "q"};
    /* Past the 1 ms TTL before the filler starts. */
    apr_sleep(apr_time_from_msec(5));
    ck_assert_int_eq(apr_thread_create(&thread, NULL, slow_fill_thread, &f, pool), APR_SUCCESS);
    ck_assert_msg(wait_until(&held.entered, 1, 30000), "the filler never reached the source");
    ck_assert_int_eq(get(c, "post.prod", "q", &old, &v), CB_READCACHE_STALE);
    ck_assert_str_eq(v, "old");
    ck_assert_int_eq(old.fills, 1);   /* the stale reader did not go to the source */
    /* No copy of this key yet, its filler held too: the reader gives up
     * waiting and reads the source itself. */
    {
        slow_fill g = {.cache = c, .src = &held, .key = "fresh-key"};
        apr_thread_t *second;
        ck_assert_int_eq(apr_thread_create(&second, NULL, slow_fill_thread, &g, pool),
                         APR_SUCCESS);
        ck_assert_msg(wait_until(&held.entered, 2, 30000), "the second filler never started");
        ck_assert_int_eq(get(c, "post.prod", "fresh-key", &other, &v), CB_READCACHE_MISS);
        ck_assert_str_eq(v, "other");
        ck_assert_int_eq(other.fills, 1);
        apr_atomic_set32(&held.open, 1);
        apr_thread_join(&rv, second);
        ck_assert_int_eq(g.status, CB_READCACHE_MISS);
    }
    apr_thread_join(&rv, thread);
    ck_assert_int_eq(f.status, CB_READCACHE_MISS);
    ck_assert_str_eq(f.value, "new");
}
END_TEST

START_TEST(failed_fill_is_returned_and_not_stored)
{
    cb_readcache *c = new_cache(new_client(pool), 600000, 5000);
    source s = {.value = "late", .fail = APR_EGENERAL};
    cb_readcache_status status;
    const char *v;
    size_t len;
    ck_assert_int_eq(cb_readcache_get(c, pool, "post.prod", "q", 1, fill_from, &s, &v, &len,
                                      &status), APR_EGENERAL);
    s.fail = APR_SUCCESS;
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "late");
    ck_assert_int_eq(s.fills, 2);
    /* A namespace that cannot be a key piece is refused before anything. */
    ck_assert_int_eq(cb_readcache_get(c, pool, "post:prod", "q", 1, fill_from, &s, &v, &len,
                                      &status), APR_EINVAL);
    ck_assert_int_eq(cb_readcache_get(c, pool, "", "q", 1, fill_from, &s, &v, &len, &status),
                     APR_EINVAL);
    ck_assert_int_eq(cb_readcache_bump(c, pool, "post prod"), APR_EINVAL);
    ck_assert_int_eq(s.fills, 2);
}
END_TEST

START_TEST(redis_down_bypasses)
{
    cb_readcache *c = new_cache(new_client(pool), 600000, 5000);
    cb_readcache *none = new_cache(NULL, 600000, 5000);
    source s = {.value = "v1"};
    const char *v;
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    srv_stop(redis_pid);
    redis_pid = 0;
    strcpy(s.value, "v2");
    for (int i = 0; i < 3; i++) {   /* the failing call, then the open breaker */
        ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_BYPASS);
        ck_assert_str_eq(v, "v2");
    }
    ck_assert_int_eq(s.fills, 4);
    ck_assert_int_eq(cb_readcache_bump(c, pool, "post.prod"), CB_REDIS_EDOWN);
    ck_assert_int_eq(cb_readcache_purge(c, pool, "post.prod"), CB_REDIS_EDOWN);
    /* Without Redis at all: the same, and a bump has nothing to do. */
    ck_assert_int_eq(get(none, "post.prod", "q", &s, &v), CB_READCACHE_BYPASS);
    ck_assert_int_eq(cb_readcache_bump(none, pool, "post.prod"), APR_SUCCESS);
}
END_TEST

/* Runs one command on c's Redis (the test's own client). */
static const cb_redis_reply *run(cb_redis *r, int argc, const char *const *argv)
{
    const cb_redis_reply *reply;
    ck_assert_int_eq(cb_redis_command(r, pool, argc, argv, NULL, &reply), APR_SUCCESS);
    ck_assert_int_ne(cb_redis_reply_kind(reply), CB_REDIS_REPLY_ERROR);
    return reply;
}

/* Calls Redis has served so far: of one command (e.g. "mget"), or of all
 * but INFO when name is NULL. */
static long long calls_of(cb_redis *r, const char *name)
{
    const char *argv[] = {"INFO", "commandstats"};
    const char *line = cb_redis_reply_bytes(run(r, 2, argv), NULL);
    long long total = 0;
    while ((line = strstr(line, "cmdstat_"))) {
        const char *calls = strstr(line, ":calls=");
        size_t name_len = (size_t)(calls - line) - strlen("cmdstat_");
        int is_info = name_len == 4 && strncmp(line + 8, "info", 4) == 0;
        ck_assert_ptr_nonnull(calls);
        if (name ? name_len == strlen(name) && strncmp(line + 8, name, name_len) == 0
                 : !is_info)
            total += atoll(calls + strlen(":calls="));
        line = calls;
    }
    return total;
}

/* A HIT is one round trip to Redis, one MGET (the version and the answer
 * together), whatever the entry's size. */
START_TEST(hit_is_one_round_trip)
{
    cb_redis *r = new_client(pool);
    cb_readcache *c = new_cache(r, 600000, 5000);
    source s = {.value = "[{\"_id\":\"a\"}]"};
    const char *v;
    long long all, mgets;
    ck_assert_int_eq(get(c, "post.prod", "q|public", &s, &v), CB_READCACHE_MISS);
    ck_assert_int_eq(cb_readcache_bump(c, pool, "post.prod"), APR_SUCCESS);
    ck_assert_int_eq(get(c, "post.prod", "q|public", &s, &v), CB_READCACHE_MISS);
    all = calls_of(r, NULL);
    mgets = calls_of(r, "mget");
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(get(c, "post.prod", "q|public", &s, &v), CB_READCACHE_HIT);
        ck_assert_str_eq(v, "[{\"_id\":\"a\"}]");
    }
    ck_assert_int_eq(calls_of(r, NULL) - all, 5);
    ck_assert_int_eq(calls_of(r, "mget") - mgets, 5);
    ck_assert_int_eq(s.fills, 2);
}
END_TEST

/* Writes an entry for key q of post.prod by hand, as a node that filled
 * it at `version` would have. */
static void plant(cb_redis *r, const char *version, int64_t fresh_until_ms, const char *value)
{
    const char *entry = cb_redis_key(pool, "demo", "rc", "post.prod", "e",
                                     cb_sha256_hex(pool, "q", 1), NULL);
    const char *argv[] = {"SET", entry,
                          apr_psprintf(pool, "cbrc2 %s %" APR_INT64_T_FMT "\n%s", version,
                                       fresh_until_ms, value)};
    run(r, 3, argv);
}

static const char *entry_version(cb_redis *r)
{
    const char *argv[] = {"GET", cb_redis_key(pool, "demo", "rc", "post.prod", "e",
                                              cb_sha256_hex(pool, "q", 1), NULL)};
    const char *stored = cb_redis_reply_bytes(run(r, 2, argv), NULL);
    return apr_pstrndup(pool, stored + 6, strcspn(stored + 6, " "));
}

/* An answer of any version but the current one is a miss, never a HIT and
 * never STALE, however fresh its clock says it is: older versions, and
 * versions that share a prefix with the current one either way. */
START_TEST(other_versions_are_never_served)
{
    cb_redis *r = new_client(pool);
    cb_readcache *c = new_cache(r, 600000, 20);
    const char *set_version[] = {"SET", cb_redis_key(pool, "demo", "rc", "post.prod", "v", NULL),
                                 "1"};
    const char *hold_lock[] = {"SET", cb_redis_key(pool, "demo", "rc", "post.prod", "l", "1",
                                                   cb_sha256_hex(pool, "q", 1), NULL),
                               "another filler", "PX", "60000"};
    static const char *const others[] = {"0", "10", "11", "01", "2"};
    int64_t far = (int64_t)(apr_time_now() / 1000) + 600000;
    source s = {.value = "current"};
    const char *v;
    run(r, 3, set_version);
    for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
        plant(r, others[i], far, "older");
        ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
        ck_assert_msg(strcmp(v, "current") == 0, "version %s served: %s", others[i], v);
    }
    /* Past its TTL and its refill held by another filler: the waiter gives
     * up and reads the source; an old version's copy is not a stale copy. */
    run(r, 5, hold_lock);
    plant(r, "0", 1, "older");
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "current");
    /* The same version past its TTL is the stale copy (the control). */
    plant(r, "1", 1, "same version");
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_STALE);
    ck_assert_str_eq(v, "same version");
    /* A filler that read version 1 does not push out an answer of version
     * 10 (a late filler and its successor): the newer one stays. */
    plant(r, "10", 1, "newer");
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(entry_version(r), "10");
    plant(r, "0", far, "older");
    ck_assert_int_eq(get(c, "post.prod", "q", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(entry_version(r), "1");
    ck_assert_int_eq(s.fills, 8);
}
END_TEST

/* Local copies (cb_readcache_set_local). Each cache object is a holder of
 * its own, as two processes (or nodes) would be. */
static cb_readcache *new_local_cache(cb_redis *redis, int64_t lease_ms)
{
    cb_readcache *c = new_cache(redis, 600000, 5000);
    cb_readcache_set_local(c, lease_ms, 1024 * 1024);
    return c;
}

/* A namespace read often is served from the process's copies: once the
 * lease is taken, 200 HITs cost no MGET at all. */
START_TEST(local_copies_skip_redis)
{
    cb_redis *r = new_client(pool);
    cb_readcache *c = new_local_cache(r, 60000);
    source s = {.value = "v1"};
    const char *v;
    long long mgets;
    for (int i = 0; i < 40; i++)   /* hot: the lease is taken, the copy kept */
        get(c, "post.prod", "q|public", &s, &v);
    mgets = calls_of(r, "mget");
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(get(c, "post.prod", "q|public", &s, &v), CB_READCACHE_HIT);
        ck_assert_str_eq(v, "v1");
    }
    ck_assert_int_eq(calls_of(r, "mget") - mgets, 0);
    ck_assert_int_eq(s.fills, 1);
    /* its own write: the next read is not the copy */
    snprintf(s.value, sizeof(s.value), "v2");
    ck_assert_int_eq(cb_readcache_bump(c, pool, "post.prod"), APR_SUCCESS);
    ck_assert_int_eq(get(c, "post.prod", "q|public", &s, &v), CB_READCACHE_MISS);
    ck_assert_str_eq(v, "v2");
}
END_TEST

/* A holder that went quiet still has a copy under a running lease: a write
 * on another holder is acknowledged only once that lease has run out, so
 * the quiet holder's next read is the write's. */
START_TEST(write_waits_for_a_quiet_holder)
{
    cb_readcache *a = new_local_cache(new_client(pool), 300);
    cb_readcache *b = new_local_cache(new_client(pool), 300);
    source s = {.value = "old"};
    const char *v;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 40; i++)
            get(b, "post.prod", "q|public", &s, &v);
        ck_assert_str_eq(v, s.value);
        snprintf(s.value, sizeof(s.value), "new-%d", round);
        ck_assert_int_eq(cb_readcache_bump(a, pool, "post.prod"), APR_SUCCESS);
        get(b, "post.prod", "q|public", &s, &v);
        ck_assert_msg(strcmp(v, s.value) == 0, "round %d: read %s after writing %s", round, v,
                      s.value);
    }
}
END_TEST

/* The source of the busy-reader test: its generation, as text. */
typedef struct generations {
    cb_readcache *reader;
    volatile apr_uint32_t source;     /* the generation the source holds */
    volatile apr_uint32_t acked;      /* the newest acknowledged write */
    volatile apr_uint32_t stop;
    apr_uint32_t reads, older;        /* the reader's, read after the join */
    char older_example[96];
} generations;

static apr_status_t fill_generation(void *baton, apr_pool_t *p, const char **value, size_t *len)
{
    generations *g = baton;
    *value = apr_psprintf(p, "gen-%u", apr_atomic_read32(&g->source));
    *len = strlen(*value);
    return APR_SUCCESS;
}

static __attribute__((noinline)) void read_generations(generations *g)
{
    while (!apr_atomic_read32(&g->stop)) {
        apr_pool_t *p;
        const char *v = NULL;
        size_t len = 0;
        cb_readcache_status status;
        apr_uint32_t acked = apr_atomic_read32(&g->acked);
        unsigned seen = 0;
        apr_pool_create(&p, NULL);
        if (cb_readcache_get(g->reader, p, "post.prod", "q|public", 8, fill_generation, g, &v,
                             &len, &status) == APR_SUCCESS &&
            sscanf(v, "gen-%u", &seen) == 1 && seen < acked && g->older++ == 0)
            snprintf(g->older_example, sizeof(g->older_example), "read %s (%s) after write %u",
                     v, cb_readcache_status_name(status), acked);
        g->reads++;
        apr_pool_destroy(p);
    }
}

static void *APR_THREAD_FUNC generations_thread(apr_thread_t *t, void *data)
{
    read_generations(data);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* One holder reads without pause while another writes 30 times: no read
 * that starts after a write was acknowledged returns an older answer, and
 * most reads were answered from the reader's copies (far fewer MGETs than
 * reads: checked on a single Redis, where INFO sees every call). */
START_TEST(busy_reader_never_reads_older)
{
    cb_redis *r = new_client(pool);
    generations g;
    apr_thread_t *thread;
    apr_status_t rv;
    long long mgets = 0;
    cb_readcache *writer = new_local_cache(new_client(pool), 250);
    memset(&g, 0, sizeof(g));
    g.reader = new_local_cache(new_client(pool), 250);
    if (!cluster_url[0])
        mgets = calls_of(r, "mget");
    ck_assert_int_eq(apr_thread_create(&thread, NULL, generations_thread, &g, pool), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(100));
    for (apr_uint32_t k = 1; k <= 30; k++) {
        apr_atomic_set32(&g.source, k);
        ck_assert_int_eq(cb_readcache_bump(writer, pool, "post.prod"), APR_SUCCESS);
        apr_atomic_set32(&g.acked, k);
        apr_sleep(apr_time_from_msec(20));
    }
    apr_atomic_set32(&g.stop, 1);
    apr_thread_join(&rv, thread);
    ck_assert_msg(g.older == 0, "%u of %u reads older than an acknowledged write; first: %s",
                  g.older, g.reads, g.older_example);
    ck_assert_uint_gt(g.reads, 100);
    if (!cluster_url[0]) {
        mgets = calls_of(r, "mget") - mgets;
        ck_assert_msg(mgets * 2 < (long long)g.reads, "%lld MGETs for %u reads", mgets, g.reads);
    }
}
END_TEST

START_TEST(entry_parser)
{
    int64_t fresh;
    const char *v;
    size_t vl;
    static const char ok[] = "cbrc2 42 1700000000123\n{\"a\":1}";
    static const char empty[] = "cbrc2 0 5\n";
    static const char binary[] = "cbrc2 7 7\n\0x";
    cb_readcache_entry e;
    ck_assert(cb_readcache_parse_entry(ok, sizeof(ok) - 1, &fresh, &v, &vl));
    ck_assert(fresh == 1700000000123LL);
    ck_assert_uint_eq(vl, 7);
    ck_assert(memcmp(v, "{\"a\":1}", 7) == 0);
    ck_assert(cb_readcache_entry_parse(ok, sizeof(ok) - 1, &e));
    ck_assert_uint_eq(e.version_len, 2);
    ck_assert(memcmp(e.version, "42", 2) == 0);
    ck_assert(cb_readcache_parse_entry(empty, sizeof(empty) - 1, &fresh, &v, &vl));
    ck_assert_uint_eq(vl, 0);
    ck_assert(cb_readcache_parse_entry(binary, sizeof(binary) - 1, &fresh, &v, &vl));
    ck_assert_uint_eq(vl, 2);
    ck_assert(cb_readcache_entry_parse("cbrc2 18446744073709551615 1\n", 29, &e));
    ck_assert(!cb_readcache_entry_parse("cbrc2 184467440737095516150 1\n", 30, &e));
    ck_assert(!cb_readcache_parse_entry("cbrc2 1 \n", 9, &fresh, &v, &vl));
    ck_assert(!cb_readcache_parse_entry("cbrc2  12\n", 10, &fresh, &v, &vl));
    ck_assert(!cb_readcache_parse_entry("cbrc2 12\nx", 10, &fresh, &v, &vl));
    ck_assert(!cb_readcache_parse_entry("cbrc2 1 12", 10, &fresh, &v, &vl));
    ck_assert(!cb_readcache_parse_entry("cbrc1 12\nx", 10, &fresh, &v, &vl));
    ck_assert(!cb_readcache_parse_entry("cbrc2 1 -1\nx", 12, &fresh, &v, &vl));
    ck_assert(!cb_readcache_parse_entry("cbrc2 1 12345678901234567890\nx", 30, &fresh, &v,
                                        &vl));
    ck_assert(!cb_readcache_parse_entry(NULL, 0, &fresh, &v, &vl));
}
END_TEST

Suite *readcache_suite(void)
{
    Suite *s = suite_create("readcache");
    TCase *tc = tcase_create("readcache");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, miss_then_hit);
    tcase_add_test(tc, bump_and_purge_invalidate);
    tcase_add_test(tc, two_nodes_never_read_older);
    tcase_add_test(tc, stampede_fills_once);
    tcase_add_test(tc, slow_filler_serves_stale);
    tcase_add_test(tc, failed_fill_is_returned_and_not_stored);
    tcase_add_test(tc, redis_down_bypasses);
    tcase_add_test(tc, entry_parser);
    tcase_add_test(tc, hit_is_one_round_trip);
    tcase_add_test(tc, other_versions_are_never_served);
    tcase_add_test(tc, local_copies_skip_redis);
    tcase_add_test(tc, write_waits_for_a_quiet_holder);
    tcase_add_test(tc, busy_reader_never_reads_older);
    suite_add_tcase(s, tc);

    tc = tcase_create("readcache_cluster");
    tcase_add_unchecked_fixture(tc, cluster_start, cluster_stop);
    tcase_add_checked_fixture(tc, cluster_setup, cluster_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, miss_then_hit);
    tcase_add_test(tc, bump_and_purge_invalidate);
    tcase_add_test(tc, two_nodes_never_read_older);
    tcase_add_test(tc, stampede_fills_once);
    tcase_add_test(tc, slow_filler_serves_stale);
    tcase_add_test(tc, other_versions_are_never_served);
    tcase_add_test(tc, write_waits_for_a_quiet_holder);
    tcase_add_test(tc, busy_reader_never_reads_older);
    suite_add_tcase(s, tc);
    return s;
}
