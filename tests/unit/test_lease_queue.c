/*
 * test_lease_queue.c: cb_lease and cb_queue against a real redis-server.
 * Lease: exclusive across processes (fork), fencing tokens that increase,
 * hand-over on expiry, release by a non-holder refused, Redis down fails
 * closed. Queue: FIFO delivery and ack, retry with doubling backoff (checked
 * against Redis's own clock, not the wall clock), dead letters, idempotency
 * keys, binary payloads, and redelivery of a job whose worker process died.
 * The same tests (but those that stop the server) run again against a real
 * three-master Redis Cluster ("lease_cluster", "queue_cluster"), and a
 * MONITOR audit checks that every lease and queue script declares each key
 * it touches in KEYS. Waits poll to a deadline.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <check.h>

#include "cb_core.h"
#include "cloudbase/lease.h"
#include "cloudbase/queue.h"
#include "cluster_servers.h"
#include "script_audit.h"
#include "servers.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/cb-lease-test-XXXXXX";
static int port;
static pid_t redis_pid;
static cb_redis *client;
static srv_cluster cluster;
static char cluster_url[256];    /* set: the client is a cluster client */

static cb_redis *new_client(apr_pool_t *p)
{
    cb_redis_config cfg;
    cb_redis_config_defaults(&cfg);
    cfg.port = port;
    if (cluster_url[0])
        ck_assert_ptr_null(cb_redis_config_parse_url(p, cluster_url, &cfg));
    cfg.command_timeout_ms = 2000;
    cfg.connect_timeout_ms = 1000;
    cfg.retry_interval_ms = 100;
    return cb_redis_create(p, &cfg);
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    port = srv_free_port();
    redis_pid = srv_start_redis(port, dir, NULL);
    ck_assert_msg(srv_wait_port(port, 5000), "redis-server did not start");
    client = new_client(pool);
}

static void teardown(void)
{
    srv_stop(redis_pid);
    apr_pool_destroy(pool);
    rmdir(dir);
    strcpy(dir, "/tmp/cb-lease-test-XXXXXX");
}

/* One cluster for the tests of a tcase (started once, in the runner),
 * emptied before each test. */
static void cluster_start(void)
{
    ck_assert_msg(srv_cluster_start(&cluster) == 0, "the Redis Cluster did not start");
}

static void cluster_stop(void)
{
    srv_cluster_stop(&cluster);
}

static void cluster_setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(srv_cluster_flush(&cluster), 0);
    srv_cluster_url(&cluster, cluster_url, sizeof(cluster_url));
    client = new_client(pool);
}

static void cluster_teardown(void)
{
    apr_pool_destroy(pool);
    cluster_url[0] = '\0';
}

/* Redis's clock in milliseconds. */
static long long redis_now_ms(void)
{
    const char *argv[] = {"TIME"};
    const cb_redis_reply *reply;
    ck_assert_int_eq(cb_redis_command(client, pool, 1, argv, NULL, &reply), APR_SUCCESS);
    ck_assert_uint_eq(cb_redis_reply_count(reply), 2);
    return atoll(cb_redis_reply_bytes(cb_redis_reply_element(reply, 0), NULL)) * 1000 +
           atoll(cb_redis_reply_bytes(cb_redis_reply_element(reply, 1), NULL)) / 1000;
}

static long long zscore(const char *zkey, const char *member)
{
    const char *argv[] = {"ZSCORE", zkey, member};
    const cb_redis_reply *reply;
    ck_assert_int_eq(cb_redis_command(client, pool, 3, argv, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_STRING);
    return atoll(cb_redis_reply_bytes(reply, NULL));
}

/* ---------------------------------------------------------------- lease */

START_TEST(lease_exclusive_across_processes)
{
    enum { CHILDREN = 6 };
    pid_t pids[CHILDREN];
    int winners = 0, losers = 0;
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            apr_pool_t *p;
            cb_lease lease;
            apr_status_t rv;
            apr_pool_create(&p, NULL);
            cb_lease_init(&lease, "t", "sweeper", cb_lease_holder_id(p));
            rv = cb_lease_acquire(new_client(p), p, &lease, 60000);
            _exit(rv == APR_SUCCESS ? 0 : rv == APR_EBUSY ? 1 : 2);
        }
    }
    for (int i = 0; i < CHILDREN; i++) {
        int st;
        ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
        ck_assert(WIFEXITED(st));
        ck_assert_int_ne(WEXITSTATUS(st), 2);
        winners += WEXITSTATUS(st) == 0;
        losers += WEXITSTATUS(st) == 1;
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(losers, CHILDREN - 1);
}
END_TEST

START_TEST(lease_fencing_tokens_increase)
{
    cb_lease a, b;
    int64_t first, second;
    cb_lease_init(&a, "t", "job", "node-a");
    cb_lease_init(&b, "t", "job", "node-b");
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 60000), APR_SUCCESS);
    first = a.token;
    ck_assert_int_gt(first, 0);
    /* Taking it again while held is the same tenure: same token. */
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 60000), APR_SUCCESS);
    ck_assert_int_eq(a.token, first);
    ck_assert_int_eq(cb_lease_acquire(client, pool, &b, 60000), APR_EBUSY);
    ck_assert_int_eq(cb_lease_release(client, pool, &a), APR_SUCCESS);
    ck_assert_int_eq(cb_lease_acquire(client, pool, &b, 60000), APR_SUCCESS);
    second = b.token;
    ck_assert_int_gt(second, first);
    ck_assert_int_eq(cb_lease_release(client, pool, &b), APR_SUCCESS);
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 60000), APR_SUCCESS);
    ck_assert_int_gt(a.token, second);
}
END_TEST

START_TEST(lease_expiry_hands_over)
{
    cb_lease a, b;
    int64_t old_token;
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(10);
    apr_status_t rv;
    cb_lease_init(&a, "t", "tick", "node-a");
    cb_lease_init(&b, "t", "tick", "node-b");
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 300), APR_SUCCESS);
    old_token = a.token;
    while ((rv = cb_lease_acquire(client, pool, &b, 60000)) == APR_EBUSY &&
           apr_time_now() < deadline)
        apr_sleep(20000);
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_int_gt(b.token, old_token);
    /* The old holder learns it lost the lease and cannot release it. */
    ck_assert_int_eq(cb_lease_renew(client, pool, &a, 60000), APR_EBUSY);
    ck_assert_int_eq(a.token, 0);
    a.token = old_token;
    ck_assert_int_eq(cb_lease_release(client, pool, &a), APR_EBUSY);
    ck_assert_int_eq(cb_lease_renew(client, pool, &b, 60000), APR_SUCCESS);
}
END_TEST

START_TEST(lease_release_by_non_holder_refused)
{
    cb_lease a, b;
    cb_lease_init(&a, "t", "lock", "node-a");
    cb_lease_init(&b, "t", "lock", "node-b");
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 60000), APR_SUCCESS);
    b.token = a.token; /* even with the right token, the wrong holder is refused */
    ck_assert_int_eq(cb_lease_release(client, pool, &b), APR_EBUSY);
    ck_assert_int_eq(cb_lease_renew(client, pool, &b, 60000), APR_EBUSY);
    cb_lease_init(&b, "t", "lock", "node-b");
    ck_assert_int_eq(cb_lease_acquire(client, pool, &b, 60000), APR_EBUSY);
    ck_assert_int_eq(cb_lease_renew(client, pool, &a, 60000), APR_SUCCESS);
    ck_assert_int_eq(cb_lease_release(client, pool, &a), APR_SUCCESS);
}
END_TEST

START_TEST(lease_fails_closed_when_redis_down)
{
    cb_lease a;
    cb_lease_init(&a, "t", "lock", "node-a");
    srv_stop(redis_pid);
    redis_pid = 0;
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 60000), CB_REDIS_EDOWN);
    ck_assert_int_eq(a.token, 0);
}
END_TEST

/* ---------------------------------------------------------------- queue */

static cb_queue *make_queue(const char *name, int64_t visibility_ms, int max_attempts,
                            int64_t backoff_ms)
{
    cb_queue_config cfg;
    cb_queue_config_defaults(&cfg);
    cfg.visibility_ms = visibility_ms;
    cfg.max_attempts = max_attempts;
    cfg.backoff_base_ms = backoff_ms;
    return cb_queue_create(pool, client, "t", name, &cfg);
}

/* Reserves, polling to a deadline while nothing is due. */
static apr_status_t reserve_within(cb_queue *q, cb_job *job, int ms)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(ms);
    apr_status_t rv;
    while ((rv = cb_queue_reserve(q, pool, job)) == APR_ENOENT && apr_time_now() < deadline)
        apr_sleep(20000);
    return rv;
}

START_TEST(queue_delivers_in_order_and_acks)
{
    cb_queue *q = make_queue("mail", 30000, 5, 1000);
    cb_queue_counts counts;
    cb_job job;
    const char *ids[3];
    for (int i = 0; i < 3; i++) {
        const char *payload = apr_psprintf(pool, "job-%d", i);
        ck_assert_int_eq(cb_queue_enqueue(q, pool, payload, strlen(payload), NULL, 0, &ids[i],
                                          NULL), APR_SUCCESS);
    }
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_SUCCESS);
        ck_assert_str_eq(job.id, ids[i]);
        ck_assert_str_eq(job.payload, apr_psprintf(pool, "job-%d", i));
        ck_assert_int_eq(job.attempt, 1);
        ck_assert_int_eq(cb_queue_counts_get(q, pool, &counts), APR_SUCCESS);
        ck_assert_int_eq(counts.inflight, 1);
        ck_assert_int_eq(cb_queue_ack(q, pool, &job), APR_SUCCESS);
        ck_assert_int_eq(cb_queue_ack(q, pool, &job), APR_ENOENT);
    }
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_ENOENT);
    ck_assert_int_eq(cb_queue_counts_get(q, pool, &counts), APR_SUCCESS);
    ck_assert_int_eq(counts.ready + counts.delayed + counts.inflight + counts.dead, 0);
}
END_TEST

START_TEST(queue_binary_payload)
{
    cb_queue *q = make_queue("bin", 30000, 5, 1000);
    cb_job job;
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "a\0b\r\n", 5, NULL, 0, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_SUCCESS);
    ck_assert_int_eq(job.payload_len, 5);
    ck_assert_mem_eq(job.payload, "a\0b\r\n", 5);
}
END_TEST

START_TEST(queue_retry_backs_off_exponentially)
{
    cb_queue *q = make_queue("retry", 30000, 5, 150);
    const char *delayed = "cb:{t}:q:retry:delayed";
    cb_job job;
    int dead = -1;
    long long before, after, due;
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "x", 1, NULL, 0, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_SUCCESS);
    before = redis_now_ms();
    ck_assert_int_eq(cb_queue_fail(q, pool, &job, &dead), APR_SUCCESS);
    after = redis_now_ms();
    ck_assert_int_eq(dead, 0);
    due = zscore(delayed, job.id);
    ck_assert_int_ge(due, before + 150);
    ck_assert_int_le(due, after + 150);
    ck_assert_int_eq(reserve_within(q, &job, 10000), APR_SUCCESS);
    ck_assert_int_eq(job.attempt, 2);
    before = redis_now_ms();
    ck_assert_int_eq(cb_queue_fail(q, pool, &job, &dead), APR_SUCCESS);
    after = redis_now_ms();
    due = zscore(delayed, job.id);
    ck_assert_int_ge(due, before + 300); /* doubled */
    ck_assert_int_le(due, after + 300);
    ck_assert_int_eq(reserve_within(q, &job, 10000), APR_SUCCESS);
    ck_assert_int_eq(job.attempt, 3);
    ck_assert_int_eq(cb_queue_ack(q, pool, &job), APR_SUCCESS);
}
END_TEST

START_TEST(queue_backoff_is_capped)
{
    cb_queue_config cfg;
    cb_queue_config_defaults(&cfg);
    cfg.backoff_base_ms = 100;
    cfg.backoff_max_ms = 1000;
    ck_assert_int_eq(cb_queue_backoff_ms(&cfg, 1), 100);
    ck_assert_int_eq(cb_queue_backoff_ms(&cfg, 2), 200);
    ck_assert_int_eq(cb_queue_backoff_ms(&cfg, 4), 800);
    ck_assert_int_eq(cb_queue_backoff_ms(&cfg, 5), 1000);
    ck_assert_int_eq(cb_queue_backoff_ms(&cfg, 60), 1000);
}
END_TEST

START_TEST(queue_dead_letters_after_max_attempts)
{
    cb_queue *q = make_queue("poison", 30000, 2, 1);
    apr_array_header_t *dead_jobs;
    cb_queue_counts counts;
    cb_job job;
    int dead = -1;
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "bad", 3, NULL, 0, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_fail(q, pool, &job, &dead), APR_SUCCESS);
    ck_assert_int_eq(dead, 0);
    ck_assert_int_eq(reserve_within(q, &job, 10000), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_fail(q, pool, &job, &dead), APR_SUCCESS);
    ck_assert_int_eq(dead, 1);
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_ENOENT);
    ck_assert_int_eq(cb_queue_counts_get(q, pool, &counts), APR_SUCCESS);
    ck_assert_int_eq(counts.dead, 1);
    ck_assert_int_eq(counts.ready + counts.delayed + counts.inflight, 0);
    ck_assert_int_eq(cb_queue_dead_letters(q, pool, 10, &dead_jobs), APR_SUCCESS);
    ck_assert_int_eq(dead_jobs->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(dead_jobs, 0, cb_job).payload, "bad");
    ck_assert_int_eq(APR_ARRAY_IDX(dead_jobs, 0, cb_job).attempt, 2);
}
END_TEST

START_TEST(queue_idempotency_key_dedups)
{
    cb_queue *q = make_queue("idem", 30000, 5, 1000);
    cb_queue_counts counts;
    const char *first, *second, *other;
    int duplicate = -1;
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "p", 1, "order-42", 0, &first, &duplicate),
                     APR_SUCCESS);
    ck_assert_int_eq(duplicate, 0);
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "p", 1, "order-42", 0, &second, &duplicate),
                     APR_SUCCESS);
    ck_assert_int_eq(duplicate, 1);
    ck_assert_str_eq(first, second);
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "p", 1, "order-43", 0, &other, &duplicate),
                     APR_SUCCESS);
    ck_assert_int_eq(duplicate, 0);
    ck_assert_str_ne(first, other);
    ck_assert_int_eq(cb_queue_counts_get(q, pool, &counts), APR_SUCCESS);
    ck_assert_int_eq(counts.ready, 2);
}
END_TEST

START_TEST(queue_redelivers_after_worker_dies)
{
    cb_queue *q = make_queue("crash", 300, 5, 1000);
    cb_job job;
    pid_t child;
    int st;
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "survive", 7, NULL, 0, NULL, NULL), APR_SUCCESS);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* A worker takes the job and dies before acking it. */
        apr_pool_t *p;
        cb_queue_config cfg;
        cb_queue *mine;
        cb_job taken;
        apr_pool_create(&p, NULL);
        cb_queue_config_defaults(&cfg);
        cfg.visibility_ms = 300;
        mine = cb_queue_create(p, new_client(p), "t", "crash", &cfg);
        if (cb_queue_reserve(mine, p, &taken) != APR_SUCCESS)
            _exit(1);
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFSIGNALED(st));
    /* Redelivered once the visibility deadline passes, the attempt counted. */
    ck_assert_int_eq(reserve_within(q, &job, 10000), APR_SUCCESS);
    ck_assert_str_eq(job.payload, "survive");
    ck_assert_int_eq(job.attempt, 2);
    ck_assert_int_eq(cb_queue_ack(q, pool, &job), APR_SUCCESS);
}
END_TEST

START_TEST(queue_fails_when_redis_down)
{
    cb_queue *q = make_queue("down", 30000, 5, 1000);
    cb_job job;
    srv_stop(redis_pid);
    redis_pid = 0;
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "x", 1, NULL, 0, NULL, NULL), CB_REDIS_EDOWN);
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), CB_REDIS_EDOWN);
}
END_TEST

/* Every script of the lease and the queue, each way through it, under a
 * MONITOR audit: no script command touches a key missing from its KEYS. */
START_TEST(scripts_declare_their_keys)
{
    srv_audit *audit = srv_audit_start(port);
    cb_queue *q = make_queue("audit", 30000, 2, 1);
    cb_lease a, b;
    cb_job job;
    const char *id;
    int scripts, commands, violations, dead = 0;
    char why[512];
    ck_assert_ptr_nonnull(audit);
    cb_lease_init(&a, "t", "audit", "node-a");
    cb_lease_init(&b, "t", "audit", "node-b");
    ck_assert_int_eq(cb_lease_acquire(client, pool, &a, 60000), APR_SUCCESS);
    ck_assert_int_eq(cb_lease_acquire(client, pool, &b, 60000), APR_EBUSY);
    ck_assert_int_eq(cb_lease_renew(client, pool, &a, 60000), APR_SUCCESS);
    ck_assert_int_eq(cb_lease_release(client, pool, &a), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "x", 1, "idem-1", 0, &id, NULL), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "x", 1, "idem-1", 0, &id, NULL), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_enqueue(q, pool, "y", 1, NULL, 0, NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_reserve(q, pool, &job), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_extend(q, pool, &job), APR_SUCCESS);
    ck_assert_int_eq(cb_queue_ack(q, pool, &job), APR_SUCCESS);
    for (int attempt = 0; attempt < 2; attempt++) {
        ck_assert_int_eq(reserve_within(q, &job, 5000), APR_SUCCESS);
        ck_assert_int_eq(cb_queue_fail(q, pool, &job, &dead), APR_SUCCESS);
    }
    ck_assert(dead);
    violations = srv_audit_finish(audit, &scripts, &commands, why, sizeof(why));
    ck_assert_msg(violations == 0, "%d undeclared keys: %s", violations, why);
    ck_assert_int_ge(scripts, 11);
    ck_assert_int_ge(commands, 11);
}
END_TEST

/* The tests that run on one Redis and again on a cluster (not those that
 * stop the server). */
static void add_lease_tests(TCase *tc)
{
    tcase_add_test(tc, lease_exclusive_across_processes);
    tcase_add_test(tc, lease_fencing_tokens_increase);
    tcase_add_test(tc, lease_expiry_hands_over);
    tcase_add_test(tc, lease_release_by_non_holder_refused);
}

static void add_queue_tests(TCase *tc)
{
    tcase_add_test(tc, queue_delivers_in_order_and_acks);
    tcase_add_test(tc, queue_binary_payload);
    tcase_add_test(tc, queue_retry_backs_off_exponentially);
    tcase_add_test(tc, queue_backoff_is_capped);
    tcase_add_test(tc, queue_dead_letters_after_max_attempts);
    tcase_add_test(tc, queue_idempotency_key_dedups);
    tcase_add_test(tc, queue_redelivers_after_worker_dies);
}

Suite *lease_queue_suite(void)
{
    Suite *s = suite_create("lease_queue");
    TCase *lease = tcase_create("lease");
    TCase *queue = tcase_create("queue");
    TCase *lease_cluster = tcase_create("lease_cluster");
    TCase *queue_cluster = tcase_create("queue_cluster");
    tcase_add_checked_fixture(lease, setup, teardown);
    tcase_add_checked_fixture(queue, setup, teardown);
    tcase_set_timeout(lease, 60);
    tcase_set_timeout(queue, 60);
    add_lease_tests(lease);
    tcase_add_test(lease, lease_fails_closed_when_redis_down);
    add_queue_tests(queue);
    tcase_add_test(queue, queue_fails_when_redis_down);
    tcase_add_test(queue, scripts_declare_their_keys);
    suite_add_tcase(s, lease);
    suite_add_tcase(s, queue);
    /* One cluster per tcase, flushed before each test. */
    tcase_add_unchecked_fixture(lease_cluster, cluster_start, cluster_stop);
    tcase_add_unchecked_fixture(queue_cluster, cluster_start, cluster_stop);
    tcase_add_checked_fixture(lease_cluster, cluster_setup, cluster_teardown);
    tcase_add_checked_fixture(queue_cluster, cluster_setup, cluster_teardown);
    tcase_set_timeout(lease_cluster, 60);
    tcase_set_timeout(queue_cluster, 60);
    add_lease_tests(lease_cluster);
    add_queue_tests(queue_cluster);
    suite_add_tcase(s, lease_cluster);
    suite_add_tcase(s, queue_cluster);
    return s;
}
