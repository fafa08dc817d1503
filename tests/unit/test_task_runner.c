/*
 * test_task_runner.c: the core's background task runner: every task on its
 * own thread, so a task blocked inside its run does not stop another task's
 * schedule; intervals in milliseconds; stop joins the threads.
 */
#include <check.h>
#include <apr_atomic.h>
#include <apr_time.h>

#include "cb_core.h"

typedef struct task_state {
    volatile apr_uint32_t runs;
    volatile apr_uint32_t release;   /* the slow task blocks until set */
} task_state;

static void slow_task(void *state, apr_pool_t *scratch)
{
    task_state *t = state;
    (void)scratch;
    apr_atomic_inc32(&t->runs);
    while (!apr_atomic_read32(&t->release))
        apr_sleep(1000);
}

static void quick_task(void *state, apr_pool_t *scratch)
{
    task_state *t = state;
    (void)apr_palloc(scratch, 64);
    apr_atomic_inc32(&t->runs);
}

START_TEST(slow_task_does_not_delay_another)
{
    apr_pool_t *p;
    task_state slow = {0, 0}, quick = {0, 0};
    cb_instance slow_instance = {0}, quick_instance = {0};
    apr_array_header_t *tasks;
    cb_task *task;
    cb_task_runner *runner;
    apr_time_t deadline;
    apr_pool_create(&p, NULL);
    slow_instance.state = &slow;
    quick_instance.state = &quick;
    tasks = apr_array_make(p, 2, sizeof(cb_task));
    task = apr_array_push(tasks);
    *task = (cb_task){"slow", apr_time_from_msec(5), slow_task, &slow_instance, NULL};
    task = apr_array_push(tasks);
    *task = (cb_task){"quick", apr_time_from_msec(5), quick_task, &quick_instance, NULL};
    ck_assert_int_eq(cb_task_runner_start(p, tasks, &runner), APR_SUCCESS);
    deadline = apr_time_now() + apr_time_from_sec(20);
    while (apr_atomic_read32(&quick.runs) < 10 && apr_time_now() < deadline)
        apr_sleep(5000);
    /* The slow task is still inside its first run while the quick one ran
     * ten times on its own schedule. */
    ck_assert_uint_ge(apr_atomic_read32(&quick.runs), 10);
    ck_assert_uint_eq(apr_atomic_read32(&slow.runs), 1);
    apr_atomic_set32(&slow.release, 1);
    while (apr_atomic_read32(&slow.runs) < 2 && apr_time_now() < deadline)
        apr_sleep(5000);
    ck_assert_uint_ge(apr_atomic_read32(&slow.runs), 2);
    cb_task_runner_stop(runner);
    {
        apr_uint32_t after_stop = apr_atomic_read32(&quick.runs);
        apr_sleep(apr_time_from_msec(50));
        ck_assert_uint_eq(apr_atomic_read32(&quick.runs), after_stop);
    }
    apr_pool_destroy(p);
}
END_TEST

/* httpd destroys a child's pools as the process exits, parents first; the
 * runner's threads must be joined before the runner's pool goes, even when
 * nobody called cb_task_runner_stop. */
START_TEST(destroying_the_pool_stops_the_threads)
{
    apr_pool_t *parent, *p;
    task_state quick = {0, 0};
    cb_instance instance = {0};
    apr_array_header_t *tasks;
    cb_task *task;
    cb_task_runner *runner;
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(20);
    apr_uint32_t after;
    apr_pool_create(&parent, NULL);
    apr_pool_create(&p, parent);
    instance.state = &quick;
    tasks = apr_array_make(p, 1, sizeof(cb_task));
    task = apr_array_push(tasks);
    *task = (cb_task){"quick", apr_time_from_msec(1), quick_task, &instance, NULL};
    ck_assert_int_eq(cb_task_runner_start(p, tasks, &runner), APR_SUCCESS);
    while (apr_atomic_read32(&quick.runs) < 3 && apr_time_now() < deadline)
        apr_sleep(1000);
    ck_assert_uint_ge(apr_atomic_read32(&quick.runs), 3);
    apr_pool_destroy(parent);
    after = apr_atomic_read32(&quick.runs);
    apr_sleep(apr_time_from_msec(30));
    ck_assert_uint_eq(apr_atomic_read32(&quick.runs), after);
}
END_TEST

Suite *task_runner_suite(void)
{
    Suite *s = suite_create("task_runner");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, slow_task_does_not_delay_another);
    tcase_add_test(tc, destroying_the_pool_stops_the_threads);
    suite_add_tcase(s, tc);
    return s;
}
