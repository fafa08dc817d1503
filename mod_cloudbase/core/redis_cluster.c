/*
 * redis_cluster.c: the Redis Cluster client behind cb_redis_command when
 * CloudBaseRedis is redis-cluster:// (see redis_cluster.h).
 *
 * Each node (the configured ones first, then those CLUSTER SLOTS or a
 * MOVED / ASK names) gets its own single-server cb_redis: its own pool of
 * connections in this process, its own breaker, the configured timeouts.
 * The slot map (slot -> node) is learnt lazily with CLUSTER SLOTS from the
 * first node that answers, and learnt again after a MOVED or when a node
 * fails, at most every REFRESH_INTERVAL_MS. A MOVED also corrects its slot
 * at once; an ASK sends ASKING and the command to the importing node
 * without touching the map; TRYAGAIN (a multi-key command while its slot
 * migrates) is retried until the command timeout.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "cb_core.h"
#include "cloudbase/log.h"
#include "redis_cluster.h"

#define MAX_NODES 256
#define MAX_REDIRECTS 5
#define REFRESH_INTERVAL_MS 100

typedef struct cluster_node {
    const char *host;
    int port;
    cb_redis *client;
} cluster_node;

struct cb_redis_cluster {
    cb_redis_config node_cfg;      /* template of every node's client */
    apr_pool_t *pool;              /* own allocator; used under lock only */
    apr_thread_mutex_t *lock;      /* guards everything below */
    cluster_node *nodes[MAX_NODES];
    int node_count;
    int16_t owner[CB_REDIS_SLOTS]; /* index into nodes, -1 unknown */
    int map_known;
    int refreshing;                /* threads asking CLUSTER SLOTS now */
    apr_time_t refreshed_at;
};

/* Under c->lock. The index of host:port, added when new; -1 when full. */
static int node_index(cb_redis_cluster *c, const char *host, int port)
{
    cb_redis_config cfg = c->node_cfg;
    cluster_node *node;
    for (int i = 0; i < c->node_count; i++)
        if (c->nodes[i]->port == port && strcmp(c->nodes[i]->host, host) == 0)
            return i;
    if (c->node_count == MAX_NODES)
        return -1;
    node = apr_pcalloc(c->pool, sizeof(*node));
    node->host = apr_pstrdup(c->pool, host);
    node->port = port;
    cfg.host = node->host;
    cfg.port = port;
    node->client = cb_redis_create(c->pool, &cfg);
    c->nodes[c->node_count] = node;
    return c->node_count++;
}

cb_redis_cluster *cb_redis_cluster_create(apr_pool_t *p, const cb_redis_config *cfg)
{
    cb_redis_cluster *c = apr_pcalloc(p, sizeof(*c));
    cb_redis_node_addr *seeds;
    apr_allocator_t *allocator;
    int seed_count;
    c->node_cfg = *cfg;
    c->node_cfg.cluster_nodes = NULL;
    c->node_cfg.unix_path = NULL;
    c->node_cfg.db = 0;
    /* Nodes are added while requests run, from any thread: their memory
     * comes from a pool of the cluster's own (under its lock), not from p. */
    apr_allocator_create(&allocator);
    apr_pool_create_ex(&c->pool, p, NULL, allocator);
    apr_allocator_owner_set(allocator, c->pool);
    apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p);
    for (int i = 0; i < CB_REDIS_SLOTS; i++)
        c->owner[i] = -1;
    if (cb_redis_parse_cluster_nodes(p, cfg->cluster_nodes, &seeds, &seed_count) == NULL)
        for (int i = 0; i < seed_count; i++)
            node_index(c, seeds[i].host, seeds[i].port);
    return c;
}

/* Reads one CLUSTER SLOTS answer into owner[] (under c->lock); 1 when it
 * had the expected shape. Entries: [start, end, [host, port, id, ...],
 * replicas...]; an empty host means the node that answered. */
static int apply_slots(cb_redis_cluster *c, const cb_redis_reply *reply,
                       const cluster_node *asked, int16_t *owner)
{
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return 0;
    for (int i = 0; i < CB_REDIS_SLOTS; i++)
        owner[i] = -1;
    for (size_t e = 0; e < cb_redis_reply_count(reply); e++) {
        const cb_redis_reply *range = cb_redis_reply_element(reply, e);
        const cb_redis_reply *master = cb_redis_reply_element(range, 2);
        const char *address;
        char host[256];
        size_t len;
        int index;
        if (cb_redis_reply_count(range) < 3 ||
            cb_redis_reply_kind(cb_redis_reply_element(range, 0)) != CB_REDIS_REPLY_INTEGER ||
            cb_redis_reply_kind(cb_redis_reply_element(range, 1)) != CB_REDIS_REPLY_INTEGER ||
            cb_redis_reply_count(master) < 2 ||
            cb_redis_reply_kind(cb_redis_reply_element(master, 0)) != CB_REDIS_REPLY_STRING ||
            cb_redis_reply_kind(cb_redis_reply_element(master, 1)) != CB_REDIS_REPLY_INTEGER)
            return 0;
        /* Copied to the stack: node_index keeps a copy only of a new
         * node's host, so refreshing does not grow the pool. */
        address = cb_redis_reply_bytes(cb_redis_reply_element(master, 0), &len);
        if (len >= sizeof(host))
            return 0;
        if (len) {
            memcpy(host, address, len);
            host[len] = '\0';
        } else {
            apr_cpystrn(host, asked->host, sizeof(host));
        }
        index = node_index(c, host,
                           (int)cb_redis_reply_integer(cb_redis_reply_element(master, 1)));
        if (index < 0)
            return 0;
        for (int64_t slot = cb_redis_reply_integer(cb_redis_reply_element(range, 0));
             slot <= cb_redis_reply_integer(cb_redis_reply_element(range, 1)) &&
             slot < CB_REDIS_SLOTS; slot++)
            if (slot >= 0)
                owner[slot] = (int16_t)index;
    }
    return 1;
}

/* Learns the map from the first node that answers CLUSTER SLOTS. Once a
 * map is known, only one thread refreshes it at a time, and not twice
 * within REFRESH_INTERVAL_MS; until then every caller learns it (a caller
 * must not go on without a map because another one is still asking). */
static void refresh_map(cb_redis_cluster *c, apr_pool_t *p)
{
    static const char *const argv[2] = {"CLUSTER", "SLOTS"};
    apr_time_t now = apr_time_now();
    cluster_node *snapshot[MAX_NODES];
    int16_t *owner;
    int count;
    apr_thread_mutex_lock(c->lock);
    if (c->map_known &&
        (c->refreshing || now - c->refreshed_at < apr_time_from_msec(REFRESH_INTERVAL_MS))) {
        apr_thread_mutex_unlock(c->lock);
        return;
    }
    c->refreshing++;
    count = c->node_count;
    memcpy(snapshot, c->nodes, sizeof(cluster_node *) * (size_t)count);
    apr_thread_mutex_unlock(c->lock);
    owner = apr_palloc(p, sizeof(int16_t) * CB_REDIS_SLOTS);
    for (int i = 0; i < count; i++) {
        const cb_redis_reply *reply;
        int applied;
        if (!cb_redis_available(snapshot[i]->client) ||
            cb_redis_command(snapshot[i]->client, p, 2, argv, NULL, &reply) != APR_SUCCESS)
            continue;
        apr_thread_mutex_lock(c->lock);
        applied = apply_slots(c, reply, snapshot[i], owner);
        if (applied) {
            memcpy(c->owner, owner, sizeof(c->owner));
            c->map_known = 1;
        }
        apr_thread_mutex_unlock(c->lock);
        if (applied)
            break;
    }
    apr_thread_mutex_lock(c->lock);
    c->refreshing--;
    c->refreshed_at = apr_time_now();
    apr_thread_mutex_unlock(c->lock);
}

/* The node serving slot, learning the map first when unknown, and again
 * (at most every REFRESH_INTERVAL_MS) while the map has no owner for the
 * slot: a map learnt before the cluster was formed, or while a slot was
 * unassigned, must not stay empty for good. */
static cluster_node *route(cb_redis_cluster *c, apr_pool_t *p, int slot)
{
    cluster_node *node = NULL;
    int known, index;
    apr_thread_mutex_lock(c->lock);
    known = c->map_known && c->owner[slot] >= 0;
    apr_thread_mutex_unlock(c->lock);
    if (!known)
        refresh_map(c, p);
    apr_thread_mutex_lock(c->lock);
    index = c->owner[slot];
    if (index >= 0)
        node = c->nodes[index];
    apr_thread_mutex_unlock(c->lock);
    return node;
}

/* For a command without a key: the first node whose breaker is closed. */
static cluster_node *any_node(cb_redis_cluster *c)
{
    cluster_node *node = NULL;
    apr_thread_mutex_lock(c->lock);
    for (int i = 0; i < c->node_count && !node; i++)
        if (cb_redis_available(c->nodes[i]->client))
            node = c->nodes[i];
    if (!node && c->node_count)
        node = c->nodes[0];
    apr_thread_mutex_unlock(c->lock);
    return node;
}

static cluster_node *node_at(cb_redis_cluster *c, const cluster_node *from, const char *host,
                             int port, int slot, int moved)
{
    cluster_node *node = NULL;
    int index;
    apr_thread_mutex_lock(c->lock);
    index = node_index(c, *host ? host : from->host, port);
    if (index >= 0) {
        node = c->nodes[index];
        if (moved)
            c->owner[slot] = (int16_t)index;
    }
    apr_thread_mutex_unlock(c->lock);
    return node;
}

apr_status_t cb_redis_cluster_command(cb_redis_cluster *c, apr_pool_t *p, int slot, int argc,
                                      const char *const *argv, const size_t *argv_len,
                                      const cb_redis_reply **reply)
{
    apr_time_t give_up = apr_time_now() + apr_time_from_msec(c->node_cfg.command_timeout_ms);
    cluster_node *target = NULL;
    int asking = 0, redirects = 0, tryagain = 0;
    *reply = NULL;
    for (;;) {
        char host[256];
        const char *error_text;
        size_t error_len;
        int redirect_slot, port;
        apr_status_t rv;
        cb_redis_redirect kind;
        if (!target)
            target = slot < 0 ? any_node(c) : route(c, p, slot);
        if (!target)
            return CB_REDIS_EDOWN;
        rv = asking ? cb_redis_command_asking(target->client, p, argc, argv, argv_len, reply)
                    : cb_redis_command(target->client, p, argc, argv, argv_len, reply);
        if (rv != APR_SUCCESS) {
            /* The node failed or its breaker is open: after a failover the
             * slot has a new master, which a fresh map would show. */
            if (slot >= 0)
                refresh_map(c, p);
            return rv;
        }
        if (cb_redis_reply_kind(*reply) != CB_REDIS_REPLY_ERROR)
            return APR_SUCCESS;
        error_text = cb_redis_reply_bytes(*reply, &error_len);
        kind = cb_redis_parse_redirect(error_text, error_len, &redirect_slot, host,
                                       sizeof(host), &port);
        switch (kind) {
        case CB_REDIS_REDIRECT_NONE:
            return APR_SUCCESS;
        case CB_REDIS_REDIRECT_CLUSTERDOWN:
            *reply = NULL;
            return CB_REDIS_EDOWN;
        case CB_REDIS_REDIRECT_TRYAGAIN:
            if (apr_time_now() >= give_up) {
                *reply = NULL;
                return CB_REDIS_EDOWN;
            }
            apr_sleep(apr_time_from_msec(tryagain < 5 ? 1 << tryagain : 20));
            tryagain++;
            target = NULL;
            asking = 0;
            continue;
        case CB_REDIS_REDIRECT_MOVED:
        case CB_REDIS_REDIRECT_ASK:
            if (++redirects > MAX_REDIRECTS) {
                cb_log(CB_LOG_ERR, "Redis Cluster: more than %d redirects for slot %d "
                       "(the cluster's slot map keeps changing)", MAX_REDIRECTS, redirect_slot);
                *reply = NULL;
                return CB_REDIS_EDOWN;
            }
            asking = kind == CB_REDIS_REDIRECT_ASK;
            target = node_at(c, target, host, port, redirect_slot, !asking);
            if (!asking)
                refresh_map(c, p);
            continue;
        }
    }
}

int cb_redis_cluster_ping(cb_redis_cluster *c, apr_pool_t *p)
{
    cluster_node *masters[MAX_NODES];
    int count = 0, known;
    refresh_map(c, p);
    apr_thread_mutex_lock(c->lock);
    known = c->map_known;
    for (int i = 0; i < c->node_count; i++) {
        int serves = 0;
        for (int s = 0; s < CB_REDIS_SLOTS && !serves; s++)
            serves = c->owner[s] == i;
        if (serves)
            masters[count++] = c->nodes[i];
    }
    apr_thread_mutex_unlock(c->lock);
    if (!known || !count)
        return 0;
    for (int i = 0; i < count; i++)
        if (!cb_redis_ping(masters[i]->client, p))
            return 0;
    return 1;
}

int cb_redis_cluster_available(cb_redis_cluster *c)
{
    int up = 1;
    apr_thread_mutex_lock(c->lock);
    for (int i = 0; i < c->node_count && up; i++)
        up = cb_redis_available(c->nodes[i]->client);
    apr_thread_mutex_unlock(c->lock);
    return up;
}
