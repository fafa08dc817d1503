/*
 * test_hash_gate.c: the auth plugin's per-process bound on concurrent
 * password hashes (plugins/auth/hash_gate.c): slots run out and come back,
 * a waiter gets the slot another thread gives back, and many threads never
 * hold more slots than the bound.
 */
#include <apr_atomic.h>
#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <check.h>

#include "auth.h"

START_TEST(slots_run_out_and_come_back)
{
    apr_pool_t *p;
    auth_hash_gate *gate;
    apr_pool_create(&p, NULL);
    gate = auth_hash_gate_create(p, 2, 0);
    ck_assert_ptr_nonnull(gate);
    ck_assert_int_eq(auth_hash_gate_enter(gate), 1);
    ck_assert_int_eq(auth_hash_gate_enter(gate), 1);
    ck_assert_int_eq(auth_hash_gate_enter(gate), 0);
    auth_hash_gate_leave(gate);
    ck_assert_int_eq(auth_hash_gate_enter(gate), 1);
    ck_assert_int_eq(auth_hash_gate_enter(gate), 0);
    auth_hash_gate_leave(gate);
    auth_hash_gate_leave(gate);
    apr_pool_destroy(p);
}
END_TEST

/* A bounded wait with nothing given back ends refused. */
START_TEST(a_full_gate_refuses_after_its_wait)
{
    apr_pool_t *p;
    auth_hash_gate *gate;
    apr_pool_create(&p, NULL);
    gate = auth_hash_gate_create(p, 1, apr_time_from_msec(20));
    ck_assert_int_eq(auth_hash_gate_enter(gate), 1);
    ck_assert_int_eq(auth_hash_gate_enter(gate), 0);
    auth_hash_gate_leave(gate);
    apr_pool_destroy(p);
}
END_TEST

typedef struct waiter {
    auth_hash_gate *gate;
    volatile apr_uint32_t started;
    int entered;
} waiter;

static void *APR_THREAD_FUNC wait_for_slot(apr_thread_t *t, void *data)
{
    waiter *w = data;
    apr_atomic_set32(&w->started, 1);
    w->entered = auth_hash_gate_enter(w->gate);
    if (w->entered)
        auth_hash_gate_leave(w->gate);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(a_waiter_gets_the_slot_given_back)
{
    apr_pool_t *p;
    apr_thread_t *thread;
    apr_status_t rv;
    waiter w = {NULL, 0, 0};
    apr_pool_create(&p, NULL);
    /* a wait far longer than the test's own timeout would allow */
    w.gate = auth_hash_gate_create(p, 1, apr_time_from_sec(600));
    ck_assert_int_eq(auth_hash_gate_enter(w.gate), 1);
    ck_assert_int_eq(apr_thread_create(&thread, NULL, wait_for_slot, &w, p), APR_SUCCESS);
    while (!apr_atomic_read32(&w.started))
        apr_thread_yield();
    auth_hash_gate_leave(w.gate);
    apr_thread_join(&rv, thread);
    ck_assert_int_eq(w.entered, 1);
    apr_pool_destroy(p);
}
END_TEST

#define WORKERS 8
#define ROUNDS 2000
#define BOUND 3

typedef struct crowd {
    auth_hash_gate *gate;
    volatile apr_uint32_t inside, most_inside, entered;
} crowd;

static void *APR_THREAD_FUNC hash_many(apr_thread_t *t, void *data)
{
    crowd *c = data;
    for (int i = 0; i < ROUNDS; i++) {
        apr_uint32_t now, most;
        if (!auth_hash_gate_enter(c->gate))
            continue;
        apr_atomic_inc32(&c->entered);
        now = apr_atomic_inc32(&c->inside) + 1;
        while ((most = apr_atomic_read32(&c->most_inside)) < now &&
               apr_atomic_cas32(&c->most_inside, now, most) != most)
            ;
        apr_thread_yield();
        apr_atomic_dec32(&c->inside);
        auth_hash_gate_leave(c->gate);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(many_threads_never_exceed_the_bound)
{
    apr_pool_t *p;
    apr_thread_t *threads[WORKERS];
    crowd c = {NULL, 0, 0, 0};
    apr_status_t rv;
    apr_pool_create(&p, NULL);
    c.gate = auth_hash_gate_create(p, BOUND, apr_time_from_sec(600));
    for (int i = 0; i < WORKERS; i++)
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, hash_many, &c, p), APR_SUCCESS);
    for (int i = 0; i < WORKERS; i++)
        apr_thread_join(&rv, threads[i]);
    ck_assert_uint_eq(apr_atomic_read32(&c.entered), WORKERS * ROUNDS);
    ck_assert_uint_le(apr_atomic_read32(&c.most_inside), BOUND);
    ck_assert_uint_ge(apr_atomic_read32(&c.most_inside), 1);
    apr_pool_destroy(p);
}
END_TEST

Suite *hash_gate_suite(void)
{
    Suite *s = suite_create("hash_gate");
    TCase *tc = tcase_create("gate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, slots_run_out_and_come_back);
    tcase_add_test(tc, a_full_gate_refuses_after_its_wait);
    tcase_add_test(tc, a_waiter_gets_the_slot_given_back);
    tcase_add_test(tc, many_threads_never_exceed_the_bound);
    suite_add_tcase(s, tc);
    return s;
}
