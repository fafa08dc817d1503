/*
 * redis_cluster.h: the core's Redis Cluster support, private to the core.
 *
 * redis_slot.c holds the pure parts: the cluster spec's CRC16 and key slot
 * (with {hash tags}), which argument of a command is its key (and the check
 * that a command's keys share one slot), the MOVED / ASK / TRYAGAIN /
 * CLUSTERDOWN error replies, and the redis-cluster:// node list.
 * redis_cluster.c holds the client: the slot map learnt with CLUSTER
 * SLOTS, one cb_redis (pool, breaker, timeouts) per node, and the
 * redirect-following command path that cb_redis_command calls in cluster
 * mode.
 */
#ifndef CB_REDIS_CLUSTER_H
#define CB_REDIS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "cloudbase/redis.h"

#define CB_REDIS_SLOTS 16384

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the
 * cluster spec defines it: "123456789" gives 0x31C3. */
uint16_t cb_redis_crc16(const char *buf, size_t len);
/* The slot of a key: CRC16 of the part between the first '{' and the next
 * '}' when that part is not empty, else of the whole key; mod 16384. */
int cb_redis_key_slot(const char *key, size_t len);

/* The slot every key of a command hashes to, in *slot; -1 when the command
 * has no key (PING, INFO, SCRIPT, EVAL with no keys). The keys are, by
 * command name: EVAL / EVALSHA / FCALL (and _RO) the numkeys arguments
 * after numkeys; DEL, UNLINK, EXISTS, TOUCH, MGET, WATCH every argument;
 * MSET, MSETNX every other one; keyless commands none; any other command
 * its first argument. APR_SUCCESS, APR_EINVAL for an EVAL whose numkeys is
 * not a count of the arguments that follow, CB_REDIS_ECROSSSLOT when the
 * keys are in different slots. */
apr_status_t cb_redis_command_slot(int argc, const char *const *argv, const size_t *argv_len,
                                   int *slot);

typedef enum {
    CB_REDIS_REDIRECT_NONE = 0,    /* not a cluster redirect */
    CB_REDIS_REDIRECT_MOVED,        /* the slot lives on another node now */
    CB_REDIS_REDIRECT_ASK,          /* this one key is on the importing node */
    CB_REDIS_REDIRECT_TRYAGAIN,     /* a multi-key command during a migration */
    CB_REDIS_REDIRECT_CLUSTERDOWN   /* the cluster cannot serve the slot */
} cb_redis_redirect;

/* Classifies an error reply's text (len bytes, not NUL-terminated). For
 * MOVED and ASK ("MOVED 3999 127.0.0.1:6381") fills *slot, host (may be
 * "" when Redis does not know the address: the replying node's host is
 * meant) and *port; a malformed MOVED / ASK is PLAIN. */
cb_redis_redirect cb_redis_parse_redirect(const char *text, size_t len, int *slot, char *host,
                                          size_t host_size, int *port);

typedef struct cb_redis_node_addr {
    const char *host;
    int port;
} cb_redis_node_addr;

/* "host:port,host:port" (IPv6 hosts in brackets; at least one, at most
 * 64; port required) into an array; NULL or an error for the config. */
const char *cb_redis_parse_cluster_nodes(apr_pool_t *p, const char *list,
                                         cb_redis_node_addr **nodes, int *count);

typedef struct cb_redis_cluster cb_redis_cluster;

/* The cluster client of cfg->cluster_nodes; every node's client takes cfg's
 * timeouts, pool size, retry interval and password. */
cb_redis_cluster *cb_redis_cluster_create(apr_pool_t *p, const cb_redis_config *cfg);
/* Runs a command on the node serving slot (-1: any reachable node),
 * following MOVED (and updating the map), ASK (ASKING then the command on
 * the target) and TRYAGAIN (until the command timeout). CB_REDIS_EDOWN when
 * that node is down (its breaker fails fast), the cluster reports
 * CLUSTERDOWN, or no node knows the slot. */
apr_status_t cb_redis_cluster_command(cb_redis_cluster *c, apr_pool_t *p, int slot, int argc,
                                      const char *const *argv, const size_t *argv_len,
                                      const cb_redis_reply **reply);
/* 1 when every master of the map answers PING. */
int cb_redis_cluster_ping(cb_redis_cluster *c, apr_pool_t *p);
/* 0 while some known master's breaker is open. */
int cb_redis_cluster_available(cb_redis_cluster *c);

/* redis.c: one command on one connection of a single-server client,
 * preceded by ASKING on the same connection. */
apr_status_t cb_redis_command_asking(cb_redis *r, apr_pool_t *p, int argc,
                                     const char *const *argv, const size_t *argv_len,
                                     const cb_redis_reply **reply);

#endif
