/*
 * test_redis.c: the Redis client against a real redis-server: binary-safe
 * argv commands, EVALSHA with NOSCRIPT reload, the fast-fail breaker while
 * the server is down (calls are refused by the open breaker without
 * touching the network) and recovery once it is back; also a stopped
 * (SIGSTOP) server, where a call times out instead of hanging and opens the
 * breaker; the reply accessors on every kind of answer. No wall-clock bounds: states are checked, waits poll to a
 * deadline.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_time.h>
#include <check.h>
#include <hiredis.h>

#include "breaker.h"
#include "cb_core.h"
#include "servers.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/cb-redis-test-XXXXXX";
static int port;
static pid_t redis_pid;
static cb_redis *client;

static void setup(void)
{
    cb_redis_config cfg;
    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    port = srv_free_port();
    redis_pid = srv_start_redis(port, dir, NULL);
    ck_assert_msg(srv_wait_port(port, 5000), "redis-server did not start");
    cb_redis_config_defaults(&cfg);
    cfg.port = port;
    cfg.retry_interval_ms = 200;
    cfg.command_timeout_ms = 200;
    cfg.connect_timeout_ms = 100;
    client = cb_redis_create(pool, &cfg);
}

static void teardown(void)
{
    srv_stop(redis_pid);
    apr_pool_destroy(pool);
    rmdir(dir);
    strcpy(dir, "/tmp/cb-redis-test-XXXXXX");
}

/* The breaker Redis and the database share: windows double from retry=
 * but stop at 1 s (or retry= when longer); one probe at a time. */
START_TEST(breaker_windows_and_probes)
{
    cb_breaker b;
    apr_time_t now = apr_time_from_sec(1000);
    int probe = -1;
    ck_assert_int_eq(cb_breaker_window_ms(100, 1), 100);
    ck_assert_int_eq(cb_breaker_window_ms(100, 2), 200);
    ck_assert_int_eq(cb_breaker_window_ms(100, 3), 400);
    ck_assert_int_eq(cb_breaker_window_ms(100, 4), 800);
    ck_assert_int_eq(cb_breaker_window_ms(100, 40), 800);
    ck_assert_int_eq(cb_breaker_window_ms(250, 4), 1000);
    ck_assert_int_eq(cb_breaker_window_ms(1000, 9), 1000);
    ck_assert_int_eq(cb_breaker_window_ms(5000, 3), 5000);
    cb_breaker_init(&b, 100);
    ck_assert(cb_breaker_enter(&b, now, &probe) && !probe);
    cb_breaker_leave(&b, now, 0, probe);
    ck_assert(!cb_breaker_available(&b, now + apr_time_from_msec(99)));
    ck_assert(!cb_breaker_enter(&b, now + apr_time_from_msec(99), &probe));
    ck_assert(cb_breaker_enter(&b, now + apr_time_from_msec(100), &probe) && probe);
    /* While the probe is out, others still fail fast. */
    {
        int other = -1;
        ck_assert(!cb_breaker_enter(&b, now + apr_time_from_msec(150), &other));
    }
    cb_breaker_leave(&b, now + apr_time_from_msec(100), 0, probe);
    ck_assert(!cb_breaker_available(&b, now + apr_time_from_msec(299)));
    ck_assert(cb_breaker_enter(&b, now + apr_time_from_msec(300), &probe) && probe);
    cb_breaker_leave(&b, now + apr_time_from_msec(300), 1, probe);
    ck_assert(cb_breaker_available(&b, now + apr_time_from_msec(300)));
    ck_assert(cb_breaker_enter(&b, now + apr_time_from_msec(301), &probe) && !probe);
}
END_TEST

START_TEST(binary_safe_commands)
{
    const char *set[] = {"SET", "cb:{t}:k", "a\0b %s\r\n"};
    size_t set_len[] = {3, 8, 9};
    const char *get[] = {"GET", "cb:{t}:k"};
    const cb_redis_reply *reply;
    const char *bytes;
    size_t len;
    ck_assert_int_eq(cb_redis_command(client, pool, 3, set, set_len, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_command(client, pool, 2, get, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_STRING);
    bytes = cb_redis_reply_bytes(reply, &len);
    ck_assert_uint_eq(len, 9);
    ck_assert_mem_eq(bytes, "a\0b %s\r\n", 9);
}
END_TEST

START_TEST(evalsha_reloads_after_flush)
{
    cb_redis_script script;
    const char *args[] = {"cb:{t}:n", "5"};
    const char *flush[] = {"SCRIPT", "FLUSH"};
    const cb_redis_reply *reply;
    cb_redis_script_init(&script, "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    ck_assert_int_eq(cb_redis_eval(client, pool, &script, 1, 2, args, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_INTEGER);
    ck_assert_int_eq(cb_redis_reply_integer(reply), 5);
    ck_assert_int_eq(cb_redis_command(client, pool, 2, flush, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_eval(client, pool, &script, 1, 2, args, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_integer(reply), 10);
}
END_TEST

/* A plain TCP listener on the Redis port, standing in for the server so
 * that every connection attempt can be counted. */
static int listen_on(int listen_port)
{
    struct sockaddr_in addr;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)listen_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(fd, 128), 0);
    return fd;
}

/* Connections made to the listener so far (accepted and closed). */
static int connections_made(int fd)
{
    int n = 0, conn;
    while ((conn = accept(fd, NULL, NULL)) >= 0) {
        close(conn);
        n++;
    }
    return n;
}

START_TEST(breaker_fails_fast_and_recovers)
{
    apr_time_t deadline, start;
    int64_t elapsed_ms;
    int listener, probes;
    ck_assert(cb_redis_ping(client, pool));
    srv_stop(redis_pid);
    ck_assert(!cb_redis_ping(client, pool));
    ck_assert(!cb_redis_available(client));
    /* While the breaker is open, calls fail before any network I/O: a
     * listener on the port sees no connection, except one probe per retry
     * interval (200 ms) if this loop happens to be slow. */
    listener = listen_on(port);
    start = apr_time_now();
    for (int i = 0; i < 1000; i++)
        ck_assert(!cb_redis_ping(client, pool));
    elapsed_ms = apr_time_as_msec(apr_time_now() - start);
    probes = connections_made(listener);
    close(listener);
    ck_assert_msg(probes <= 1 + elapsed_ms / 200, "%d connection attempts in %lld ms while open",
                  probes, (long long)elapsed_ms);
    redis_pid = srv_start_redis(port, dir, NULL);
    ck_assert(srv_wait_port(port, 5000));
    /* Back within the breaker's retry interval: poll to a generous deadline. */
    deadline = apr_time_now() + apr_time_from_sec(10);
    while (!cb_redis_ping(client, pool) && apr_time_now() < deadline)
        usleep(20 * 1000);
    ck_assert(cb_redis_ping(client, pool));
    ck_assert(cb_redis_available(client));
}
END_TEST

/* A counter from the server's INFO, on a connection of the test's own. */
static long long server_stat(const char *field)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *reply;
    const char *at;
    long long value = -1;
    ck_assert_msg(c && !c->err, "cannot connect to redis-server");
    reply = redisCommand(c, "INFO stats");
    ck_assert_msg(reply && reply->type == REDIS_REPLY_STRING,
                  "INFO failed");
    if ((at = strstr(reply->str, field)) && at[strlen(field)] == ':')
        value = atoll(at + strlen(field) + 1);
    freeReplyObject(reply);
    redisFree(c);
    ck_assert_msg(value >= 0, "no %s in INFO stats", field);
    return value;
}

/* A stopped server: the call ends with an error (a hang would run into the
 * test's timeout), and the failure opens the breaker, so the next call is
 * refused without going to the network: once the server runs again, it
 * has seen no connection from that second call. */
START_TEST(stopped_server_times_out)
{
    long long connections;
    apr_time_t deadline;
    ck_assert(cb_redis_ping(client, pool));
    connections = server_stat("total_connections_received");
    kill(redis_pid, SIGSTOP);
    ck_assert(!cb_redis_ping(client, pool));      /* on the pooled connection */
    ck_assert(!cb_redis_available(client));
    ck_assert(!cb_redis_ping(client, pool));      /* refused by the breaker */
    kill(redis_pid, SIGCONT);
    /* The only new connection is the test's own INFO connection. */
    ck_assert_int_eq(server_stat("total_connections_received"), connections + 1);
    deadline = apr_time_now() + apr_time_from_sec(10);
    while (!cb_redis_ping(client, pool) && apr_time_now() < deadline)
        usleep(20 * 1000);
    ck_assert(cb_redis_ping(client, pool));
}
END_TEST

static long connected_clients(void)
{
    static const char *const argv[] = {"INFO", "clients"};
    const cb_redis_reply *reply;
    const char *line;
    ck_assert_int_eq(cb_redis_command(client, pool, 2, argv, NULL, &reply), APR_SUCCESS);
    line = strstr(cb_redis_reply_bytes(reply, NULL), "connected_clients:");
    ck_assert_ptr_nonnull(line);
    return strtol(line + strlen("connected_clients:"), NULL, 10);
}

START_TEST(pool_cleanup_closes_connections)
{
    apr_pool_t *sub;
    cb_redis *temporary;
    long before = connected_clients();
    apr_pool_create(&sub, pool);
    temporary = cb_redis_create(sub, cb_redis_get_config(client));
    ck_assert(cb_redis_ping(temporary, sub));
    ck_assert_int_eq(connected_clients(), before + 1);
    apr_pool_destroy(sub);
    for (int i = 0; i < 500 && connected_clients() != before; i++)
        usleep(10 * 1000);
    ck_assert_int_eq(connected_clients(), before);
}
END_TEST

START_TEST(config_parsing)
{
    cb_redis_config cfg;
    cb_redis_config_defaults(&cfg);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis://10.0.0.5:6380/3", &cfg));
    ck_assert_str_eq(cfg.host, "10.0.0.5");
    ck_assert_int_eq(cfg.port, 6380);
    ck_assert_int_eq(cfg.db, 3);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis://cache", &cfg));
    ck_assert_int_eq(cfg.port, 6379);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis://[::1]/0", &cfg));
    ck_assert_str_eq(cfg.host, "::1");
    ck_assert_int_eq(cfg.port, 6379);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "redis://[::1]:6380", &cfg));
    ck_assert_int_eq(cfg.port, 6380);
    ck_assert_ptr_null(cb_redis_config_parse_url(pool, "unix:/run/redis.sock?db=2", &cfg));
    ck_assert_str_eq(cfg.unix_path, "/run/redis.sock");
    ck_assert_int_eq(cfg.db, 2);
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "http://x", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_url(pool, "redis://x/abc", &cfg));
    ck_assert_ptr_null(cb_redis_config_parse_option(pool, "timeout=50ms", &cfg));
    ck_assert_int_eq(cfg.command_timeout_ms, 50);
    ck_assert_ptr_nonnull(cb_redis_config_parse_option(pool, "timeout=0ms", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_option(pool, "color=blue", &cfg));
    ck_assert_ptr_nonnull(cb_redis_config_parse_option(pool, "pool=0", &cfg));
}
END_TEST

/* ------------------------------------------------------------- reply accessors */

/* Every kind of reply Redis sends, read through the accessors only: one
 * array from a script holds an integer, a binary string, a nil, a nested
 * array, a status and an error. */
START_TEST(reply_accessors_read_every_kind)
{
    cb_redis_script script;
    const char *none[] = {"unused"};
    const cb_redis_reply *reply, *nested;
    const char *bytes;
    size_t len = 99;
    cb_redis_script_init(&script, "return {42, 'a\\0b', false, {7, 'x'}, "
                                  "redis.status_reply('FINE'), redis.error_reply('BAD thing')}");
    ck_assert_int_eq(cb_redis_eval(client, pool, &script, 0, 1, none, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(cb_redis_reply_count(reply), 6);
    ck_assert_int_eq(cb_redis_reply_integer(reply), 0);           /* not an integer */
    ck_assert_ptr_null(cb_redis_reply_bytes(reply, &len));
    ck_assert_uint_eq(len, 0);

    ck_assert_int_eq(cb_redis_reply_kind(cb_redis_reply_element(reply, 0)), CB_REDIS_REPLY_INTEGER);
    ck_assert_int_eq(cb_redis_reply_integer(cb_redis_reply_element(reply, 0)), 42);
    ck_assert_ptr_null(cb_redis_reply_strdup(pool, cb_redis_reply_element(reply, 0)));

    ck_assert_int_eq(cb_redis_reply_kind(cb_redis_reply_element(reply, 1)), CB_REDIS_REPLY_STRING);
    bytes = cb_redis_reply_bytes(cb_redis_reply_element(reply, 1), &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(bytes, "a\0b", 3);
    ck_assert_mem_eq(cb_redis_reply_strdup(pool, cb_redis_reply_element(reply, 1)), "a\0b", 4);

    ck_assert_int_eq(cb_redis_reply_kind(cb_redis_reply_element(reply, 2)), CB_REDIS_REPLY_NIL);
    ck_assert_ptr_null(cb_redis_reply_strdup(pool, cb_redis_reply_element(reply, 2)));

    nested = cb_redis_reply_element(reply, 3);
    ck_assert_int_eq(cb_redis_reply_kind(nested), CB_REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(cb_redis_reply_count(nested), 2);
    ck_assert_int_eq(cb_redis_reply_integer(cb_redis_reply_element(nested, 0)), 7);
    ck_assert_str_eq(cb_redis_reply_strdup(pool, cb_redis_reply_element(nested, 1)), "x");

    ck_assert_int_eq(cb_redis_reply_kind(cb_redis_reply_element(reply, 4)), CB_REDIS_REPLY_STATUS);
    ck_assert_str_eq(cb_redis_reply_bytes(cb_redis_reply_element(reply, 4), NULL), "FINE");
    ck_assert_ptr_null(cb_redis_reply_error(cb_redis_reply_element(reply, 4)));
    ck_assert_ptr_null(cb_redis_reply_strdup(pool, cb_redis_reply_element(reply, 4)));

    ck_assert_int_eq(cb_redis_reply_kind(cb_redis_reply_element(reply, 5)), CB_REDIS_REPLY_ERROR);
    ck_assert_str_eq(cb_redis_reply_error(cb_redis_reply_element(reply, 5)), "BAD thing");
    ck_assert_str_eq(cb_redis_reply_bytes(cb_redis_reply_element(reply, 5), NULL), "BAD thing");
}
END_TEST

/* Past the end, on a non-array and on NULL, every accessor reads a nil. */
START_TEST(reply_accessors_treat_missing_as_nil)
{
    const char *set[] = {"SET", "cb:{t}:n", "17"};
    const char *incr[] = {"INCR", "cb:{t}:n"};
    const char *get[] = {"GET", "cb:{t}:missing"};
    const char *bad[] = {"INCR", "cb:{t}:text"}, *text[] = {"SET", "cb:{t}:text", "abc"};
    const cb_redis_reply *reply;
    ck_assert_int_eq(cb_redis_command(client, pool, 3, set, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_STATUS);
    ck_assert_str_eq(cb_redis_reply_bytes(reply, NULL), "OK");
    ck_assert_int_eq(cb_redis_command(client, pool, 2, incr, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_integer(reply), 18);
    ck_assert_uint_eq(cb_redis_reply_count(reply), 0);
    ck_assert_ptr_null(cb_redis_reply_element(reply, 0));          /* not an array */
    ck_assert_int_eq(cb_redis_command(client, pool, 2, get, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_NIL);
    ck_assert_ptr_null(cb_redis_reply_strdup(pool, reply));
    ck_assert_ptr_null(cb_redis_reply_error(reply));

    /* An error answer is a successful call that carries Redis's message. */
    ck_assert_int_eq(cb_redis_command(client, pool, 3, text, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_command(client, pool, 2, bad, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_reply_kind(reply), CB_REDIS_REPLY_ERROR);
    ck_assert_ptr_nonnull(strstr(cb_redis_reply_error(reply), "not an integer"));

    ck_assert_int_eq(cb_redis_reply_kind(NULL), CB_REDIS_REPLY_NIL);
    ck_assert_int_eq(cb_redis_reply_integer(NULL), 0);
    ck_assert_ptr_null(cb_redis_reply_bytes(NULL, NULL));
    ck_assert_uint_eq(cb_redis_reply_count(NULL), 0);
    ck_assert_ptr_null(cb_redis_reply_element(NULL, 0));
    ck_assert_ptr_null(cb_redis_reply_error(NULL));
}
END_TEST

/* An array read past its end gives NULL, not a neighbour's memory; and a
 * reply belongs to the pool it was asked with (the leak check of the ASan
 * run fails this test when destroying the pool does not free it). */
START_TEST(reply_lives_in_the_callers_pool)
{
    const char *push[] = {"RPUSH", "cb:{t}:list", "a", "b"};
    const char *range[] = {"LRANGE", "cb:{t}:list", "0", "-1"};
    const cb_redis_reply *reply;
    apr_pool_t *sub;
    apr_pool_create(&sub, pool);
    ck_assert_int_eq(cb_redis_command(client, sub, 4, push, NULL, &reply), APR_SUCCESS);
    ck_assert_int_eq(cb_redis_command(client, sub, 4, range, NULL, &reply), APR_SUCCESS);
    ck_assert_uint_eq(cb_redis_reply_count(reply), 2);
    ck_assert_str_eq(cb_redis_reply_strdup(sub, cb_redis_reply_element(reply, 1)), "b");
    ck_assert_ptr_null(cb_redis_reply_element(reply, 2));
    ck_assert_int_eq(cb_redis_reply_kind(cb_redis_reply_element(reply, (size_t)-1)),
                     CB_REDIS_REPLY_NIL);
    apr_pool_destroy(sub);
}
END_TEST

Suite *redis_suite(void)
{
    Suite *s = suite_create("redis");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, breaker_windows_and_probes);
    tcase_add_test(tc, binary_safe_commands);
    tcase_add_test(tc, evalsha_reloads_after_flush);
    tcase_add_test(tc, breaker_fails_fast_and_recovers);
    tcase_add_test(tc, stopped_server_times_out);
    tcase_add_test(tc, config_parsing);
    tcase_add_test(tc, pool_cleanup_closes_connections);
    suite_add_tcase(s, tc);
    tc = tcase_create("reply");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reply_accessors_read_every_kind);
    tcase_add_test(tc, reply_accessors_treat_missing_as_nil);
    tcase_add_test(tc, reply_lives_in_the_callers_pool);
    suite_add_tcase(s, tc);
    return s;
}
