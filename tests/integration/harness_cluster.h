/*
 * harness_cluster.h: the integration harness's Redis Cluster switch. A
 * tcase registered with it_use_cluster as its first checked fixture runs
 * its tests with a real three-master Redis Cluster (tests/common/
 * cluster_servers.c) in place of the single redis-server: it_setup starts
 * the cluster, it_default_site writes CloudBaseRedis redis-cluster://...,
 * it_teardown stops it. it.redis_port is then the first node's port.
 */
#ifndef CB_IT_HARNESS_CLUSTER_H
#define CB_IT_HARNESS_CLUSTER_H

#include "cluster_servers.h"

/* Checked fixtures: the tests that follow use a cluster / one server. */
void it_use_cluster(void);
void it_use_single_redis(void);
/* 1 in cluster mode. */
int it_cluster_mode(void);
/* The running cluster (NULL when not in cluster mode or not started). */
srv_cluster *it_cluster(void);
/* The CloudBaseRedis address: redis://127.0.0.1:PORT or the cluster's. */
const char *it_redis_url(void);
/* The port of the node that holds an environment's keys (its hash tag's
 * slot); it.redis_port on a single server. */
int it_redis_port_for_env(const char *env);

/* For harness.c: start (failing the test on error) and stop the cluster. */
void it_cluster_start(void);
void it_cluster_stop(void);

#endif
