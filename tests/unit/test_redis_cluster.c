/*
 * test_redis_cluster.c: Redis Cluster support. Without a server: the
 * CRC16 and key slots against the spec's vectors, which arguments of a
 * command are its keys and the cross-slot refusal (on a single-server
 * client too), the redirect replies, and redis-cluster:// addresses. Then
 * against a real three-master cluster on loopback (tests/common/
 * cluster_servers.c): slots agree with the cluster's CLUSTER KEYSLOT, every
 * command lands on the node serving its slot, scripts load on each node,
 * MOVED after a slot moved, ASK while it moves (keys read and written
 * between MIGRATE batches), a killed master fails only its own slots,
 * fast once its breaker is open, and a new client's first calls, made at
 * once from several threads, all succeed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <check.h>
#include <hiredis.h>

#include "cb_core.h"
#include "cluster_servers.h"
#include "redis_cluster.h"
#include "servers.h"

static apr_pool_t *pool;

static void pool_setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void pool_teardown(void)
{
    apr_pool_destroy(pool);
}

static int slot_of(const char *key)
{
    return cb_redis_key_slot(key, strlen(key));
}

START_TEST(crc16_and_key_slots)
{
    /* The cluster spec's check value and example slots. */
    ck_assert_uint_eq(cb_redis_crc16("123456789", 9), 0x31C3);
    ck_assert_uint_eq(cb_redis_crc16("", 0), 0);
    ck_assert_int_eq(slot_of("foo"), 12182);
    ck_assert_int_eq(slot_of("bar"), 5061);
    ck_assert_int_eq(slot_of("hello"), 866);
    /* Hash tags: the first {...} that is not empty. */
    ck_assert_int_eq(slot_of("{user1000}.following"), slot_of("user1000"));
    ck_assert_int_eq(slot_of("{user1000}.followers"), slot_of("user1000"));
    ck_assert_int_eq(slot_of("foo{}{bar}"), cb_redis_crc16("foo{}{bar}", 10) & 16383);
    ck_assert_int_eq(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    ck_assert_int_eq(slot_of("foo{bar}{zap}"), slot_of("bar"));
    ck_assert_int_eq(slot_of("{open"), cb_redis_crc16("{open", 5) & 16383);
    ck_assert_int_eq(slot_of("cb:{env1}:apikey:abc"), slot_of("env1"));
    ck_assert_int_eq(cb_redis_key_slot("a{b\0c}d", 7), cb_redis_crc16("b\0c", 3) & 16383);
}
END_TEST

static apr_status_t slot_of_command(const char *const *argv, int argc, int *slot)
{
    return cb_redis_command_slot(argc, argv, NULL, slot);
}

START_TEST(command_keys_and_cross_slot)
{
    int slot;
    const char *get[] = {"GET", "cb:{e}:a"};
    const char *ping[] = {"PING"};
    const char *eval_same[] = {"EVALSHA", "x", "2", "cb:{e}:a", "cb:{e}:b", "cb:{other}:c"};
    const char *eval_cross[] = {"evalsha", "x", "2", "cb:{e}:a", "cb:{f}:b"};
    const char *eval_none[] = {"EVAL", "return 1", "0", "cb:{e}:a"};
    const char *eval_bad[] = {"EVAL", "return 1", "3", "cb:{e}:a"};
    const char *eval_text[] = {"EVAL", "return 1", "two", "cb:{e}:a"};
    const char *del_cross[] = {"DEL", "cb:{e}:a", "cb:{f}:a"};
    const char *mset_same[] = {"MSET", "cb:{e}:a", "value-in-{f}", "cb:{e}:b", "1"};
    const char *hset[] = {"HSET", "cb:{e}:h", "field-{x}", "v"};
    ck_assert_int_eq(slot_of_command(get, 2, &slot), APR_SUCCESS);
    ck_assert_int_eq(slot, slot_of("e"));
    ck_assert_int_eq(slot_of_command(ping, 1, &slot), APR_SUCCESS);
    ck_assert_int_eq(slot, -1);
    /* Only the numkeys arguments are keys; ARGV may hash anywhere. */
    ck_assert_int_eq(slot_of_command(eval_same, 6, &slot), APR_SUCCESS);
    ck_assert_int_eq(slot, slot_of("e"));
    ck_assert_int_eq(slot_of_command(eval_cross, 5, &slot), CB_REDIS_ECROSSSLOT);
    ck_assert_int_eq(slot_of_command(eval_none, 4, &slot), APR_SUCCESS);
    ck_assert_int_eq(slot, -1);
    ck_assert_int_eq(slot_of_command(eval_bad, 4, &slot), APR_EINVAL);
    ck_assert_int_eq(slot_of_command(eval_text, 4, &slot), APR_EINVAL);
    ck_assert_int_eq(slot_of_command(del_cross, 3, &slot), CB_REDIS_ECROSSSLOT);
    ck_assert_int_eq(slot_of_command(mset_same, 5, &slot), APR_SUCCESS);
    ck_assert_int_eq(slot, slot_of("e"));
    ck_assert_int_eq(slot_of_command(hset, 4, &slot), APR_SUCCESS);
    ck_assert_int_eq(slot, slot_of("e"));
}
END_TEST

/* The refusal happens before any connection: the client points at a port
 * where nothing listens, and the breaker stays closed. */
START_TEST(cross_slot_refused_on_single_server)
{
    cb_redis_config cfg;
    cb_redis *r;
    const cb_redis_reply *reply = (const cb_redis_reply *)1;
    cb_redis_script script;
    const char *keys[] = {"cb:{a}:x", "cb:{b}:y"};
    const char *del[] = {"DEL", "cb:{a}:x", "cb:{b}:y"};
    cb_redis_config_defaults(&cfg);
    cfg.port = srv_free_port();
    r = cb_redis_create(pool, &cfg);
    cb_redis_script_init(&script, "return 1");
    ck_assert_int_eq(cb_redis_command(r, pool, 3, del, NULL, &reply), CB_REDIS_ECROSSSLOT);
    ck_assert_ptr_null(reply);
    ck_assert_int_eq(cb_redis_eval(r, pool, &script, 2, 2, keys, NULL, &reply),
                     CB_REDIS_ECROSSSLOT);
    ck_assert(cb_redis_available(r));
}
END_TEST

START_TEST(redirect_replies)
{
    char host[64];
    int slot = -1, port = -1;
    const char *moved = "MOVED 3999 127.0.0.1:6381";
    const char *ask = "ASK 12182 10.0.0.7:7002";
    ck_assert_int_eq(cb_redis_parse_redirect(moved, strlen(moved), &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_MOVED);
    ck_assert_int_eq(slot, 3999);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 6381);
    ck_assert_int_eq(cb_redis_parse_redirect(ask, strlen(ask), &slot, host, sizeof(host), &port),
                     CB_REDIS_REDIRECT_ASK);
    ck_assert_int_eq(slot, 12182);
    ck_assert_str_eq(host, "10.0.0.7");
    ck_assert_int_eq(port, 7002);
    ck_assert_int_eq(cb_redis_parse_redirect("MOVED 1 :7000", 13, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_MOVED);
    ck_assert_str_eq(host, "");
    ck_assert_int_eq(port, 7000);
    ck_assert_int_eq(cb_redis_parse_redirect("MOVED 1 ::1:7000", 16, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_MOVED);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(cb_redis_parse_redirect("TRYAGAIN Multiple keys request during rehashing "
                                             "of slot", 49, &slot, host, sizeof(host), &port),
                     CB_REDIS_REDIRECT_TRYAGAIN);
    ck_assert_int_eq(cb_redis_parse_redirect("CLUSTERDOWN Hash slot not served", 32, &slot,
                                             host, sizeof(host), &port),
                     CB_REDIS_REDIRECT_CLUSTERDOWN);
    /* Malformed redirects and other errors stay errors for the caller. */
    ck_assert_int_eq(cb_redis_parse_redirect("MOVED 16384 h:1", 15, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_NONE);
    ck_assert_int_eq(cb_redis_parse_redirect("MOVED 1 h:0", 11, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_NONE);
    ck_assert_int_eq(cb_redis_parse_redirect("MOVED 1 nohost", 14, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_NONE);
    ck_assert_int_eq(cb_redis_parse_redirect("MOVED x h:1", 11, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_NONE);
    /* Found by fuzz_redis_cluster: spaces before the slot made the host
     * start before it and overrun the buffer. */
    ck_assert_int_eq(cb_redis_parse_redirect("ASK    1 [::2]:7 1 [::1]:7000", 29, &slot, host,
                                             sizeof(host), &port), CB_REDIS_REDIRECT_NONE);
    ck_assert_int_eq(cb_redis_parse_redirect("ASK 1 a b:7000", 14, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_NONE);
    ck_assert_int_eq(cb_redis_parse_redirect("ASKING", 6, &slot, host, sizeof(host), &port),
                     CB_REDIS_REDIRECT_NONE);
    ck_assert_int_eq(cb_redis_parse_redirect("ERR wrong number", 16, &slot, host, sizeof(host),
                                             &port), CB_REDIS_REDIRECT_NONE);
    /* A host longer than the buffer is malformed, not truncated. */
    ck_assert_int_eq(cb_redis_parse_redirect(moved, strlen(moved), &slot, host, 5, &port),
                     CB_REDIS_REDIRECT_NONE);
}
END_TEST

START_TEST(cluster_addresses)
{
    cb_redis_config cfg;
    cb_redis_config_defaults(&cfg);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis-cluster://10.0.0.1:7000,"
                                                 "cache-2.internal:7001,[::1]:7002", &cfg));
    ck_assert_str_eq(cfg.cluster_nodes, "10.0.0.1:7000,cache-2.internal:7001,[::1]:7002");
    ck_assert_str_eq(cfg.host, "10.0.0.1");
    ck_assert_int_eq(cfg.port, 7000);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis-cluster://h:1", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h:1,", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h:1,,g:2", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h:0", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h:70000", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h:1/2", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://::1:7000", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://h x:1", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis-cluster://:1", &cfg));
    /* A later single-server address clears the cluster. */
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis://127.0.0.1:6379", &cfg));
    ck_assert_ptr_null(cfg.cluster_nodes);
    {
        const char *err = cb_redis_config_parse_url(pool, "redis-cluster://h:1/0", &cfg);
        ck_assert_ptr_nonnull(strstr(err, "database 0"));
    }
}
END_TEST

/* ------------------------------------------------------ against a cluster */

static srv_cluster cluster;
static cb_redis *client;

static void cluster_setup(void)
{
    cb_redis_config cfg;
    char url[256];
    apr_pool_create(&pool, NULL);
    ck_assert_msg(srv_cluster_start(&cluster) == 0, "the Redis Cluster did not start");
    cb_redis_config_defaults(&cfg);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, srv_cluster_url(&cluster, url,
                                                                       sizeof(url)), &cfg));
    cfg.command_timeout_ms = 1000;
    cfg.connect_timeout_ms = 500;
    cfg.retry_interval_ms = 300;
    client = cb_redis_create(pool, &cfg);
}

static void cluster_teardown(void)
{
    apr_pool_destroy(pool);
    srv_cluster_stop(&cluster);
}

/* A command on one node, on a connection of the test's own (no redirect
 * is followed). */
static redisReply *direct(int node, const char *const *argv, int argc)
{
    redisContext *c = redisConnect("127.0.0.1", cluster.ports[node]);
    redisReply *reply;
    ck_assert_msg(c && !c->err, "cannot connect to node %d", node);
    reply = redisCommandArgv(c, argc, (const char **)argv, NULL);
    redisFree(c);
    ck_assert_ptr_nonnull(reply);
    return reply;
}

/* The value of key as stored on node itself, or NULL (malloc'd). */
static char *stored_on(int node, const char *key)
{
    const char *argv[] = {"GET", key};
    redisReply *reply = direct(node, argv, 2);
    char *value = reply->type == REDIS_REPLY_STRING ? strdup(reply->str) : NULL;
    freeReplyObject(reply);
    return value;
}

static const char *env_key(int env, const char *piece)
{
    return cb_redis_key(pool, apr_psprintf(pool, "env%d", env), piece, NULL);
}

static void set_via_client(const char *key, const char *value)
{
    const char *argv[] = {"SET", key, value};
    const cb_redis_reply *reply;
    ck_assert_int_eq(cb_redis_command(client, pool, 3, argv, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_STATUS);
}

static const char *get_via_client(const char *key)
{
    const char *argv[] = {"GET", key};
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_command(client, pool, 2, argv, NULL, &reply);
    ck_assert_msg(rv == APR_SUCCESS, "GET %s failed: %d", key, rv);
    if (cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        ck_abort_msg("GET %s answered %s", key, cb_redis_reply_error(reply));
    return cb_redis_reply_strdup(pool, reply);
}

START_TEST(slots_match_cluster_keyslot)
{
    for (int i = 0; i < 300; i++) {
        const char *key = i % 3 == 0 ? apr_psprintf(pool, "key:%d", i * 7919)
                        : i % 3 == 1 ? env_key(i, "sessions")
                                     : apr_psprintf(pool, "x{%d}y{z}", i);
        const char *argv[] = {"CLUSTER", "KEYSLOT", key};
        redisReply *reply = direct(i % SRV_CLUSTER_NODES, argv, 3);
        ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
        ck_assert_msg(reply->integer == slot_of(key), "%s: cluster %lld, ours %d", key,
                      reply->integer, slot_of(key));
        freeReplyObject(reply);
    }
}
END_TEST

/* Keys of 60 environments spread over the three masters; each is stored on
 * the node that serves its slot, and read back through the client. */
START_TEST(commands_land_on_the_slot_owner)
{
    int per_node[SRV_CLUSTER_NODES] = {0};
    for (int env = 0; env < 60; env++) {
        const char *key = env_key(env, "n");
        int owner = srv_cluster_slot_owner(&cluster, slot_of(key));
        char *stored;
        ck_assert_int_ge(owner, 0);
        set_via_client(key, apr_itoa(pool, env));
        stored = stored_on(owner, key);
        ck_assert_ptr_nonnull(stored);
        ck_assert_str_eq(stored, apr_itoa(pool, env));
        free(stored);
        ck_assert_str_eq(get_via_client(key), apr_itoa(pool, env));
        per_node[owner]++;
    }
    for (int i = 0; i < SRV_CLUSTER_NODES; i++)
        ck_assert_int_gt(per_node[i], 0);
    ck_assert(cb_redis_ping(client, pool));
    ck_assert(cb_redis_available(client));
}
END_TEST

/* EVALSHA on every node: each loads the script on its first NOSCRIPT. */
START_TEST(scripts_run_on_every_node)
{
    cb_redis_script script;
    const cb_redis_reply *reply;
    cb_redis_script_init(&script, "redis.call('SET', KEYS[2], ARGV[1]) "
                                  "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    for (int round = 1; round <= 2; round++)
        for (int env = 0; env < 12; env++) {
            const char *argv[] = {env_key(env, "count"), env_key(env, "last"), "5"};
            ck_assert_int_eq(cb_redis_eval(client, pool, &script, 2, 3, argv, NULL, &reply),
                             APR_SUCCESS);
            ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_INTEGER);
            ck_assert_int_eq(cb_redis_reply_integer(reply), 5 * round);
        }
}
END_TEST

/* A slot moved after the client learnt the map: the old owner answers
 * MOVED, the client follows it and then goes to the new owner directly. */
START_TEST(moved_slot_is_followed)
{
    const char *key = env_key(7, "moved");
    int slot = slot_of(key), from, to;
    char *stored;
    set_via_client(key, "before");
    from = srv_cluster_slot_owner(&cluster, slot);
    to = (from + 1) % SRV_CLUSTER_NODES;
    ck_assert_int_eq(srv_cluster_migrate_slot(&cluster, slot, from, to, 10, NULL, NULL), 0);
    ck_assert_int_eq(srv_cluster_slot_owner(&cluster, slot), to);
    ck_assert_str_eq(get_via_client(key), "before");
    set_via_client(key, "after");
    stored = stored_on(to, key);
    ck_assert_str_eq(stored, "after");
    free(stored);
    stored = stored_on(from, key);
    ck_assert_ptr_null(stored);
}
END_TEST

typedef struct migration_probe {
    int keys;
    int rounds;
} migration_probe;

/* Between MIGRATE batches: every key reads back its value (from the old
 * owner, or through ASK from the new one), and a new key is written (the
 * old owner answers ASK for it: it lands on the new owner). */
static void check_keys_between_batches(void *arg)
{
    migration_probe *probe = arg;
    for (int i = 0; i < probe->keys; i++)
        ck_assert_str_eq(get_via_client(env_key(3, apr_itoa(pool, i))), apr_itoa(pool, i));
    set_via_client(env_key(3, apr_psprintf(pool, "new%d", probe->rounds)), "fresh");
    ck_assert_str_eq(get_via_client(env_key(3, apr_psprintf(pool, "new%d", probe->rounds))),
                     "fresh");
    probe->rounds++;
}

START_TEST(ask_during_migration)
{
    migration_probe probe = {.keys = 40, .rounds = 0};
    int slot = slot_of("env3"), from, to;
    for (int i = 0; i < probe.keys; i++)
        set_via_client(env_key(3, apr_itoa(pool, i)), apr_itoa(pool, i));
    from = srv_cluster_slot_owner(&cluster, slot);
    to = (from + 2) % SRV_CLUSTER_NODES;
    ck_assert_int_eq(srv_cluster_migrate_slot(&cluster, slot, from, to, 7,
                                              check_keys_between_batches, &probe), 0);
    ck_assert_int_ge(probe.rounds, 6);
    check_keys_between_batches(&probe);
    ck_assert_int_eq(srv_cluster_slot_owner(&cluster, slot), to);
}
END_TEST

/* A master killed (no replica takes over): commands for its slots fail,
 * then fail fast while its breaker is open; the other masters keep
 * serving theirs. */
START_TEST(killed_master_fails_only_its_slots)
{
    const char *on_victim = NULL, *elsewhere = NULL;
    int victim = 1;
    const cb_redis_reply *reply;
    for (int env = 0; env < 60 && (!on_victim || !elsewhere); env++) {
        const char *key = env_key(env, "k");
        int owner = srv_cluster_slot_owner(&cluster, slot_of(key));
        set_via_client(key, "v");
        if (owner == victim && !on_victim)
            on_victim = key;
        else if (owner != victim && !elsewhere)
            elsewhere = key;
    }
    ck_assert_ptr_nonnull(on_victim);
    ck_assert_ptr_nonnull(elsewhere);
    srv_cluster_kill_node(&cluster, victim);
    {
        const char *argv[] = {"GET", on_victim};
        ck_assert_int_eq(cb_redis_command(client, pool, 2, argv, NULL, &reply), CB_REDIS_EDOWN);
        ck_assert(!cb_redis_available(client));
        /* The open breaker answers without a connection attempt. */
        ck_assert_int_eq(cb_redis_command(client, pool, 2, argv, NULL, &reply), CB_REDIS_EDOWN);
    }
    for (int i = 0; i < 20; i++)
        ck_assert_str_eq(get_via_client(elsewhere), "v");
    ck_assert(!cb_redis_ping(client, pool));
}
END_TEST

typedef struct first_call {
    cb_redis *fresh;
    pthread_barrier_t *start;
    int env;
    apr_status_t rv;
} first_call;

static void *first_call_run(void *arg)
{
    first_call *call = arg;
    apr_pool_t *p;
    const cb_redis_reply *reply;
    const char *argv[] = {"GET", NULL};
    apr_pool_create(&p, NULL);
    argv[1] = cb_redis_key(p, apr_psprintf(p, "env%d", call->env), "n", NULL);
    pthread_barrier_wait(call->start);
    call->rv = cb_redis_command(call->fresh, p, 2, argv, NULL, &reply);
    apr_pool_destroy(p);
    return NULL;
}

/* Threads that make a new client's first calls at the same moment all get
 * an answer: none goes on without a map while another is learning it (it
 * did, and failed with "down"). */
START_TEST(first_calls_in_parallel_learn_the_map)
{
    enum { CLIENTS = 10, THREADS = 8 };
    const cb_redis_config *cfg = cb_redis_get_config(client);
    for (int n = 0; n < CLIENTS; n++) {
        pthread_barrier_t start;
        pthread_t threads[THREADS];
        first_call calls[THREADS];
        cb_redis *fresh = cb_redis_create(pool, cfg);
        pthread_barrier_init(&start, NULL, THREADS);
        for (int i = 0; i < THREADS; i++) {
            calls[i] = (first_call){.fresh = fresh, .start = &start, .env = i, .rv = -1};
            ck_assert_int_eq(pthread_create(&threads[i], NULL, first_call_run, &calls[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < THREADS; i++)
            ck_assert_msg(calls[i].rv == APR_SUCCESS, "client %d, thread %d: %d", n, i,
                          calls[i].rv);
    }
}
END_TEST

/* A client that met the nodes before they formed a cluster (a gateway
 * started before its Redis Cluster: CLUSTER SLOTS answered an empty map)
 * serves every slot once the cluster forms, without a restart. */
START_TEST(client_made_before_the_cluster_formed_recovers)
{
    srv_cluster early;
    cb_redis_config cfg;
    cb_redis *fresh;
    char url[256];
    const char *argv[] = {"SET", NULL, "1"};
    const cb_redis_reply *reply;
    apr_status_t rv = APR_EGENERAL;
    ck_assert_int_eq(srv_cluster_launch_in(&early, "/tmp"), 0);
    cb_redis_config_defaults(&cfg);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, srv_cluster_url(&early, url, sizeof(url)),
                                                 &cfg));
    cfg.command_timeout_ms = 1000;
    cfg.retry_interval_ms = 100;
    fresh = cb_redis_create(pool, &cfg);
    argv[1] = cb_redis_key(pool, "early", "k", NULL);
    ck_assert_int_ne(cb_redis_command(fresh, pool, 3, argv, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(srv_cluster_form(&early), 0);
    for (int i = 0; i < 100 && rv != APR_SUCCESS; i++) {
        rv = cb_redis_command(fresh, pool, 3, argv, NULL, &reply);
        if (rv != APR_SUCCESS)
            usleep(50 * 1000);
    }
    srv_cluster_stop(&early);
    ck_assert_int_eq(rv, APR_SUCCESS);
}
END_TEST

Suite *redis_cluster_suite(void)
{
    Suite *s = suite_create("redis_cluster");
    TCase *pure = tcase_create("slots");
    TCase *live = tcase_create("cluster");
    tcase_add_checked_fixture(pure, pool_setup, pool_teardown);
    tcase_add_test(pure, crc16_and_key_slots);
    tcase_add_test(pure, command_keys_and_cross_slot);
    tcase_add_test(pure, cross_slot_refused_on_single_server);
    tcase_add_test(pure, redirect_replies);
    tcase_add_test(pure, cluster_addresses);
    suite_add_tcase(s, pure);
    tcase_add_checked_fixture(live, cluster_setup, cluster_teardown);
    tcase_set_timeout(live, 60);
    tcase_add_test(live, slots_match_cluster_keyslot);
    tcase_add_test(live, commands_land_on_the_slot_owner);
    tcase_add_test(live, scripts_run_on_every_node);
    tcase_add_test(live, moved_slot_is_followed);
    tcase_add_test(live, ask_during_migration);
    tcase_add_test(live, killed_master_fails_only_its_slots);
    tcase_add_test(live, first_calls_in_parallel_learn_the_map);
    tcase_add_test(live, client_made_before_the_cluster_formed_recovers);
    suite_add_tcase(s, live);
    return s;
}
