/*
 * harness_cluster.c: the integration harness's Redis Cluster switch (see
 * harness_cluster.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"
#include "harness_cluster.h"

static int use_cluster;
static int cluster_running;
static srv_cluster cluster;

void it_use_cluster(void)
{
    use_cluster = 1;
}

void it_use_single_redis(void)
{
    use_cluster = 0;
}

int it_cluster_mode(void)
{
    return use_cluster;
}

srv_cluster *it_cluster(void)
{
    return cluster_running ? &cluster : NULL;
}

void it_cluster_start(void)
{
    /* In the test's directory, which the harness removes even when the
     * test dies before its teardown. */
    ck_assert_msg(srv_cluster_start_in(&cluster, it.dir) == 0, "the Redis Cluster did not start");
    cluster_running = 1;
    it.redis_port = cluster.ports[0];
}

void it_cluster_stop(void)
{
    if (cluster_running)
        srv_cluster_stop(&cluster);
    cluster_running = 0;
}

const char *it_redis_url(void)
{
    static char url[256];
    if (cluster_running)
        return srv_cluster_url(&cluster, url, sizeof(url));
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", it.redis_port);
    return url;
}

int it_redis_port_for_env(const char *env)
{
    char tag[128], slot[32];
    int node;
    if (!cluster_running)
        return it.redis_port;
    snprintf(tag, sizeof(tag), "{%s}", env);
    ck_assert_int_eq(srv_cluster_cli(&cluster, 0, slot, sizeof(slot), "CLUSTER", "KEYSLOT", tag,
                                     NULL), 0);
    node = srv_cluster_slot_owner(&cluster, atoi(slot));
    ck_assert_msg(node >= 0, "no node serves the slot of %s", env);
    return cluster.ports[node];
}
