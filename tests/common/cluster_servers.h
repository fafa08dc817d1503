/*
 * cluster_servers.h: a real three-master Redis Cluster for tests: three
 * redis-server processes with --cluster-enabled yes on free 127.0.0.1 ports
 * (each port's cluster bus, port + 10000, free too) in a temp dir, joined
 * with `redis-cli --cluster create --cluster-replicas 0`, ready once every
 * node says cluster_state:ok. No replicas; full coverage is not required,
 * so the slots of a killed master fail and the others keep serving.
 */
#ifndef CB_TEST_REDIS_CLUSTER_H
#define CB_TEST_REDIS_CLUSTER_H

#include <stddef.h>
#include <sys/types.h>

#define SRV_CLUSTER_NODES 3

typedef struct srv_cluster {
    char dir[320];                    /* temp dir: nodes-PORT.conf, logs */
    int ports[SRV_CLUSTER_NODES];
    pid_t pids[SRV_CLUSTER_NODES];
} srv_cluster;

/* Starts, joins and waits for the cluster (up to ~15 s), its files in a new
 * /tmp/cb-cluster-XXXXXX. 0 on success; on failure everything started is
 * stopped. */
int srv_cluster_start(srv_cluster *c);
/* The same with the files in a new cb-cluster-XXXXXX inside parent (a
 * test's own directory, removed with it even when the test dies). */
int srv_cluster_start_in(srv_cluster *c, const char *parent);
/* The two halves of srv_cluster_start_in: start the three nodes (each
 * knows only itself, no slot is served), then join them with redis-cli
 * --cluster create and wait for cluster_state:ok. Each stops everything
 * on failure and returns -1. */
int srv_cluster_launch_in(srv_cluster *c, const char *parent);
int srv_cluster_form(srv_cluster *c);
/* Stops every node and removes the temp dir. */
void srv_cluster_stop(srv_cluster *c);
/* SIGKILLs one node (its slots stay assigned to it: no replica takes over). */
void srv_cluster_kill_node(srv_cluster *c, int node);
/* FLUSHALL on every live node (for tests that share one cluster). 0 on
 * success. */
int srv_cluster_flush(srv_cluster *c);
/* "redis-cluster://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C" into buf. */
const char *srv_cluster_url(const srv_cluster *c, char *buf, size_t size);
/* Runs redis-cli -p PORT ARGS... (NULL-terminated) against one node;
 * stdout (trimmed) into out. Returns redis-cli's exit status. */
int srv_cluster_cli(const srv_cluster *c, int node, char *out, size_t size, ...)
    __attribute__((sentinel));
/* The node (0..2) serving slot, from CLUSTER SLOTS as node 0 sees it; -1
 * when none. */
int srv_cluster_slot_owner(const srv_cluster *c, int slot);
/* Moves a slot's keys and ownership from node `from` to node `to` the way
 * redis-cli --cluster reshard does: SETSLOT IMPORTING / MIGRATING, then
 * MIGRATE of `batch` keys at a time, calling between(arg) after each batch
 * (and once before the first), then SETSLOT NODE on all nodes. 0 on
 * success. */
int srv_cluster_migrate_slot(srv_cluster *c, int slot, int from, int to, int batch,
                             void (*between)(void *), void *arg);

#endif
