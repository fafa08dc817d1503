/*
 * test_cache.c: cb_cache, the per-process slot cache: hits and misses, the
 * TTL checked on every get, the full key compared when keys share a slot,
 * remove, oversize keys and values refused (and not left stale), and many
 * threads reading and writing the same slots without a torn value.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include <check.h>

#include "cloudbase/cache.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

/* The value stored under key, or NULL on a miss (asserts a clean status). */
static const char *lookup(cb_cache *c, const char *key)
{
    static char buf[256];
    size_t len = sizeof(buf) - 1;
    apr_status_t rv = cb_cache_get(c, key, strlen(key), buf, &len);
    if (rv == APR_NOTFOUND)
        return NULL;
    ck_assert_int_eq(rv, APR_SUCCESS);
    buf[len] = '\0';
    return buf;
}

static void store(cb_cache *c, const char *key, const char *value)
{
    ck_assert_int_eq(cb_cache_set(c, key, strlen(key), value, strlen(value),
                                  apr_time_from_sec(60)), APR_SUCCESS);
}

START_TEST(hit_and_miss)
{
    cb_cache *c = cb_cache_create(pool, 64, 32, 16);
    char small[4];
    size_t len = sizeof(small);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(lookup(c, "absent"));
    store(c, "s:1", "active");
    ck_assert_str_eq(lookup(c, "s:1"), "active");
    ck_assert_ptr_null(lookup(c, "s:2"));
    store(c, "s:1", "ended");                      /* a set replaces */
    ck_assert_str_eq(lookup(c, "s:1"), "ended");
    /* A buffer too small for the value: nothing copied, the length told. */
    ck_assert_int_eq(cb_cache_get(c, "s:1", 3, small, &len), APR_ENOSPC);
    ck_assert_uint_eq(len, 5);
    /* Binary keys and values. */
    ck_assert_int_eq(cb_cache_set(c, "a\0b", 3, "\0\1", 2, apr_time_from_sec(60)),
                     APR_SUCCESS);
    len = sizeof(small);
    ck_assert_int_eq(cb_cache_get(c, "a\0b", 3, small, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(small, "\0\1", 2);
    ck_assert_int_eq(cb_cache_get(c, "a\0c", 3, small, &len), APR_NOTFOUND);
}
END_TEST

/* An entry past its TTL is a miss (polled to a deadline: no timing
 * assumption); an entry with time left still hits. */
START_TEST(ttl_expiry)
{
    cb_cache *c = cb_cache_create(pool, 64, 32, 16);
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(5);
    ck_assert_int_eq(cb_cache_set(c, "brief", 5, "x", 1, 1), APR_SUCCESS);   /* 1 us */
    store(c, "lasting", "y");
    while (lookup(c, "brief") && apr_time_now() < deadline)
        apr_sleep(1000);
    ck_assert_ptr_null(lookup(c, "brief"));
    ck_assert_str_eq(lookup(c, "lasting"), "y");
    /* A TTL that is not positive is refused and drops the older entry. */
    ck_assert_int_eq(cb_cache_set(c, "lasting", 7, "z", 1, 0), APR_EINVAL);
    ck_assert_ptr_null(lookup(c, "lasting"));
}
END_TEST

/* Keys that share a slot never answer for each other: with one slot every
 * key collides; long keys that differ only before their last 48 bytes
 * collide whatever the slot count (only that tail is hashed). */
START_TEST(full_key_compare_on_collision)
{
    cb_cache *one = cb_cache_create(pool, 1, 128, 16);
    cb_cache *many = cb_cache_create(pool, 1024, 128, 16);
    char a[101], b[101];
    store(one, "alpha", "1");
    ck_assert_ptr_null(lookup(one, "beta"));
    ck_assert_ptr_null(lookup(one, "alph"));       /* a prefix is another key */
    ck_assert_ptr_null(lookup(one, "alphaa"));
    ck_assert_str_eq(lookup(one, "alpha"), "1");
    store(one, "beta", "2");                       /* takes the slot over */
    ck_assert_ptr_null(lookup(one, "alpha"));
    ck_assert_str_eq(lookup(one, "beta"), "2");

    memset(a, 'k', 100);
    a[100] = '\0';
    memcpy(b, a, sizeof(a));
    b[50] = 'K';
    store(many, a, "A");
    ck_assert_ptr_null(lookup(many, b));
    ck_assert_str_eq(lookup(many, a), "A");
    store(many, b, "B");
    ck_assert_ptr_null(lookup(many, a));
    ck_assert_str_eq(lookup(many, b), "B");
}
END_TEST

START_TEST(remove_forgets_only_that_key)
{
    cb_cache *c = cb_cache_create(pool, 1, 32, 16);
    store(c, "mine", "1");
    cb_cache_remove(c, "other", 5);                /* same slot, other key */
    ck_assert_str_eq(lookup(c, "mine"), "1");
    cb_cache_remove(c, "mine", 4);
    ck_assert_ptr_null(lookup(c, "mine"));
    cb_cache_remove(c, "mine", 4);                 /* twice is harmless */
    ck_assert_ptr_null(lookup(c, "mine"));
}
END_TEST

START_TEST(oversize_refused)
{
    cb_cache *c = cb_cache_create(pool, 64, 8, 4);
    char key[9] = "12345678", value[6] = "abcde";
    size_t len;
    char buf[16];
    ck_assert_ptr_null(cb_cache_create(pool, 0, 8, 4));
    ck_assert_ptr_null(cb_cache_create(pool, 64, 0, 4));
    ck_assert_ptr_null(cb_cache_create(pool, 64, 8, 0));
    /* Exactly the bounds fit. */
    ck_assert_int_eq(cb_cache_set(c, key, 8, value, 4, apr_time_from_sec(60)), APR_SUCCESS);
    len = sizeof(buf);
    ck_assert_int_eq(cb_cache_get(c, key, 8, buf, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(buf, "abcd", 4);
    /* One byte more is refused, and the older value is not left behind. */
    ck_assert_int_eq(cb_cache_set(c, key, 8, value, 5, apr_time_from_sec(60)), APR_ENOSPC);
    len = sizeof(buf);
    ck_assert_int_eq(cb_cache_get(c, key, 8, buf, &len), APR_NOTFOUND);
    ck_assert_int_eq(cb_cache_set(c, "123456789", 9, "v", 1, apr_time_from_sec(60)),
                     APR_ENOSPC);
    len = sizeof(buf);
    ck_assert_int_eq(cb_cache_get(c, "123456789", 9, buf, &len), APR_NOTFOUND);
    ck_assert_int_eq(cb_cache_set(c, "", 0, "v", 1, apr_time_from_sec(60)), APR_EINVAL);
}
END_TEST

/* ---------------------------------------------------------------- threads */

#define THREADS 8
#define KEYS 64
#define ROUNDS 20000
#define VALUE_MAX 48

typedef struct worker {
    cb_cache *cache;
    int id;
    long hits, torn;
} worker;

/* Key i's value: i+1 repeated, its length depending on who wrote it. Its
 * own frame, left by return: apr_thread_exit from a frame with buffers
 * trips AddressSanitizer's stack checks. */
static __attribute__((noinline)) void work(worker *w)
{
    unsigned seed = (unsigned)w->id * 2654435761u + 1;
    for (int round = 0; round < ROUNDS; round++) {
        char key[16], value[VALUE_MAX];
        size_t len = sizeof(value);
        int k;
        seed = seed * 1103515245u + 12345u;
        k = (int)((seed >> 16) % KEYS);
        apr_snprintf(key, sizeof(key), "key-%d", k);
        if ((seed >> 8) % 4 == 0) {
            size_t n = 8 + (size_t)((w->id * 5 + round) % (VALUE_MAX - 8));
            memset(value, k + 1, n);
            cb_cache_set(w->cache, key, strlen(key), value, n, apr_time_from_sec(60));
        }
        else if (cb_cache_get(w->cache, key, strlen(key), value, &len) == APR_SUCCESS) {
            w->hits++;
            if (len < 8 || len > VALUE_MAX)
                w->torn++;
            for (size_t i = 0; i < len; i++)
                if (value[i] != (char)(k + 1)) {
                    w->torn++;
                    break;
                }
        }
    }
}

static void *APR_THREAD_FUNC run_worker(apr_thread_t *thread, void *data)
{
    work(data);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

START_TEST(concurrent_threads_never_see_a_torn_value)
{
    /* Fewer slots than keys: keys keep replacing each other in the slots
     * every thread reads. */
    cb_cache *c = cb_cache_create(pool, 16, 16, VALUE_MAX);
    apr_thread_t *threads[THREADS];
    worker workers[THREADS];
    long hits = 0, torn = 0;
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.cache = c, .id = i};
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, run_worker, &workers[i], pool),
                         APR_SUCCESS);
    }
    for (int i = 0; i < THREADS; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, threads[i]);
        hits += workers[i].hits;
        torn += workers[i].torn;
    }
    ck_assert_int_gt(hits, 0);
    ck_assert_int_eq(torn, 0);
}
END_TEST

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("slots");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, hit_and_miss);
    tcase_add_test(tc, ttl_expiry);
    tcase_add_test(tc, full_key_compare_on_collision);
    tcase_add_test(tc, remove_forgets_only_that_key);
    tcase_add_test(tc, oversize_refused);
    tcase_add_test(tc, concurrent_threads_never_see_a_torn_value);
    suite_add_tcase(s, tc);
    return s;
}
