/*
 * tasks.c: plugins' periodic background tasks (cb_ctx_add_task) on httpd's
 * mod_watchdog. One singleton child watchdog picks the process, so on each
 * node the tasks run in exactly one process; there the core's task runner
 * gives each task its own thread and schedule (a slow task delays only
 * itself). Across nodes a plugin takes a cb_lease when only one node may act.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_watchdog.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "adapter.h"

APLOG_USE_MODULE(cloudbase);

#define CB_WATCHDOG_NAME "_cloudbase_tasks_"

typedef struct task_runner {
    apr_array_header_t *tasks;   /* cb_task */
    server_rec *server;
    apr_pool_t *threads_pool;    /* while the threads run */
    cb_task_runner *threads;
    apr_thread_mutex_t *lock;    /* per child: threads_pool, threads, closing */
    int closing;                 /* the child is exiting: start nothing more */
} task_runner;

/* This process's runner (post_config, inherited by the children). */
static task_runner *process_runner;

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;

static int collect_tasks(server_rec *main_server, apr_pool_t *p, apr_array_header_t *out)
{
    for (server_rec *s = main_server; s; s = s->next) {
        cb_server_conf *c = cb_server_conf_get(s);
        if (!c->env)
            continue;
        for (int i = 0; i < c->env->tasks->nelts; i++) {
            cb_task *task = apr_array_push(out);
            *task = APR_ARRAY_IDX(c->env->tasks, i, cb_task);
        }
    }
    (void)p;
    return out->nelts;
}

static int cb_watchdog_need(server_rec *s, const char *name, int parent, int singleton)
{
    apr_array_header_t *tasks;
    if (parent || !singleton || strcmp(name, CB_WATCHDOG_NAME) != 0)
        return DECLINED;
    tasks = apr_array_make(s->process->pool, 4, sizeof(cb_task));
    return collect_tasks(s, s->process->pool, tasks) ? OK : DECLINED;
}

/* The watchdog only elects this process: the first RUNNING call starts one
 * thread per task, STOPPING (the process exits) joins them. */
/* Joins the task threads and frees their pool; the caller holds the lock. */
static void stop_threads(task_runner *runner)
{
    cb_task_runner_stop(runner->threads);
    runner->threads = NULL;
    if (runner->threads_pool)
        apr_pool_destroy(runner->threads_pool);
    runner->threads_pool = NULL;
}

static apr_status_t run_tasks(int state, void *data, apr_pool_t *pool)
{
    task_runner *runner = data;
    /* read once: mod_watchdog's thread may call before this child's init
     * has made the lock */
    apr_thread_mutex_t *lock = runner->lock;
    apr_status_t rv;
    if (lock)
        apr_thread_mutex_lock(lock);
    if (state == AP_WATCHDOG_STATE_STOPPING) {
        stop_threads(runner);
    } else if (state == AP_WATCHDOG_STATE_RUNNING && !runner->threads_pool && !runner->closing) {
        /* Not a child of `pool`: mod_watchdog destroys that pool after each
         * RUNNING call, which would take the threads' pool with it. This
         * one lives until the child exits (stop_before_services). */
        (void)pool;
        apr_pool_create_unmanaged_ex(&runner->threads_pool, NULL, NULL);
        rv = cb_task_runner_start(runner->threads_pool, runner->tasks, &runner->threads);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, runner->server, APLOGNO(10931)
                         "mod_cloudbase: cannot start the background task threads");
    }
    if (lock)
        apr_thread_mutex_unlock(lock);
    return APR_SUCCESS;
}

/* A pchild cleanup registered after the environments' child init, so it
 * runs before their database and Redis pools are destroyed: a task thread
 * still holding a connection when its pool went away aborted the child
 * (apr_reslist's "ntotal == 0" assertion). mod_watchdog's own STOPPING call
 * comes later, from a cleanup registered earlier. */
static apr_status_t stop_before_services(void *data)
{
    task_runner *runner = data;
    apr_thread_mutex_lock(runner->lock);
    runner->closing = 1;
    stop_threads(runner);
    apr_thread_mutex_unlock(runner->lock);
    return APR_SUCCESS;
}

void cb_apache_tasks_child_init(apr_pool_t *pchild)
{
    task_runner *runner = process_runner;
    if (!runner || apr_thread_mutex_create(&runner->lock, APR_THREAD_MUTEX_DEFAULT, pchild) !=
                       APR_SUCCESS) {
        if (runner)
            runner->lock = NULL;
        return;
    }
    apr_pool_cleanup_register(pchild, runner, stop_before_services, apr_pool_cleanup_null);
}

int cb_apache_tasks_post_config(apr_pool_t *p, server_rec *main_server)
{
    task_runner *runner = apr_pcalloc(p, sizeof(*runner));
    ap_watchdog_t *watchdog;
    apr_status_t rv;
    runner->tasks = apr_array_make(p, 4, sizeof(cb_task));
    runner->server = main_server;
    process_runner = NULL;
    if (!collect_tasks(main_server, p, runner->tasks))
        return OK;
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register_callback) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_server, APLOGNO(10903)
                     "mod_cloudbase: plugins have background tasks but mod_watchdog is not "
                     "loaded: run 'a2enmod watchdog'");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = wd_get_instance(&watchdog, CB_WATCHDOG_NAME, 0, 1, p);
    if (rv == APR_SUCCESS)
        rv = wd_register_callback(watchdog, AP_WD_TM_SLICE, runner, run_tasks);
    if (rv == APR_SUCCESS)
        process_runner = runner;
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, main_server, APLOGNO(10904)
                     "mod_cloudbase: cannot start the background task watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void cb_apache_tasks_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, watchdog_need, cb_watchdog_need, NULL, NULL, APR_HOOK_MIDDLE);
}
