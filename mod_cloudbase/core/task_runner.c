/*
 * task_runner.c: runs plugins' background tasks (cb_ctx_add_task), each on
 * its own thread with its own schedule, so a slow or stuck task never
 * delays another. Host-neutral: a host starts the runner in the one process
 * of each node that should run tasks and stops it when that process exits.
 * A task's next run is due one interval after its last run started; a run
 * that overruns its interval is followed at once by the next (no pile-up).
 */
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "cb_core.h"

typedef struct task_thread {
    cb_task task;
    apr_thread_t *thread;
    struct cb_task_runner *runner;
} task_thread;

struct cb_task_runner {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    int stopping;
    apr_array_header_t *threads;   /* task_thread */
};

static void *APR_THREAD_FUNC task_main(apr_thread_t *thread, void *data)
{
    task_thread *tt = data;
    cb_task_runner *runner = tt->runner;
    apr_pool_t *scratch;
    apr_pool_create_unmanaged_ex(&scratch, NULL, NULL);
    for (;;) {
        apr_time_t started = apr_time_now(), due;
        tt->task.fn(tt->task.state ? tt->task.state : tt->task.instance->state, scratch);
        apr_pool_clear(scratch);
        due = started + tt->task.interval;
        apr_thread_mutex_lock(runner->lock);
        while (!runner->stopping) {
            apr_time_t now = apr_time_now();
            if (now >= due)
                break;
            apr_thread_cond_timedwait(runner->wake, runner->lock, due - now);
        }
        if (runner->stopping) {
            apr_thread_mutex_unlock(runner->lock);
            break;
        }
        apr_thread_mutex_unlock(runner->lock);
    }
    apr_pool_destroy(scratch);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* The pool's pre-cleanup: a pool destroyed with its parent (httpd destroys
 * a child process's pools as it exits, before any callback says so) must
 * not free the threads' lock, condition and memory under them. Pre-cleanups
 * run before the pool's own cleanups and before its memory goes. */
static apr_status_t stop_on_pool_cleanup(void *data)
{
    cb_task_runner_stop(data);
    return APR_SUCCESS;
}

apr_status_t cb_task_runner_start(apr_pool_t *p, const apr_array_header_t *tasks,
                                  cb_task_runner **out)
{
    cb_task_runner *runner = apr_pcalloc(p, sizeof(*runner));
    apr_status_t rv;
    *out = runner;
    runner->threads = apr_array_make(p, tasks->nelts, sizeof(task_thread));
    if ((rv = apr_thread_mutex_create(&runner->lock, APR_THREAD_MUTEX_DEFAULT, p)) ||
        (rv = apr_thread_cond_create(&runner->wake, p)))
        return rv;
    apr_pool_pre_cleanup_register(p, runner, stop_on_pool_cleanup);
    for (int i = 0; i < tasks->nelts; i++) {
        task_thread *tt = apr_array_push(runner->threads);
        tt->task = APR_ARRAY_IDX(tasks, i, cb_task);
        if (tt->task.interval < apr_time_from_msec(1))
            tt->task.interval = apr_time_from_msec(1);
        tt->runner = runner;
        tt->thread = NULL;
    }
    /* Threads start only once the array no longer moves. */
    for (int i = 0; i < runner->threads->nelts; i++) {
        task_thread *tt = &APR_ARRAY_IDX(runner->threads, i, task_thread);
        if ((rv = apr_thread_create(&tt->thread, NULL, task_main, tt, p)) != APR_SUCCESS) {
            cb_task_runner_stop(runner);
            return rv;
        }
    }
    return APR_SUCCESS;
}

void cb_task_runner_stop(cb_task_runner *runner)
{
    if (!runner || !runner->lock)
        return;
    apr_thread_mutex_lock(runner->lock);
    runner->stopping = 1;
    apr_thread_cond_broadcast(runner->wake);
    apr_thread_mutex_unlock(runner->lock);
    for (int i = 0; i < runner->threads->nelts; i++) {
        task_thread *tt = &APR_ARRAY_IDX(runner->threads, i, task_thread);
        apr_status_t ignored;
        if (tt->thread)
            apr_thread_join(&ignored, tt->thread);
        tt->thread = NULL;
    }
}
