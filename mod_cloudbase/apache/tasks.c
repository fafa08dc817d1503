/*
 * tasks.c: plugins' periodic background tasks (cb_ctx_add_task) on httpd's
 * mod_watchdog. One singleton child watchdog runs them, so on each node a
 * task runs in exactly one process; across nodes a plugin takes a Redis lease
 * when only one node may act. A failed or slow task delays only itself.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_watchdog.h"
#include "apr_strings.h"

#include "adapter.h"

APLOG_USE_MODULE(cloudbase);

#define CB_WATCHDOG_NAME "_cloudbase_tasks_"

typedef struct scheduled_task {
    cb_task task;
    apr_time_t next_run;
} scheduled_task;

typedef struct task_runner {
    apr_array_header_t *tasks;   /* scheduled_task */
    server_rec *server;
} task_runner;

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register_callback;

static int collect_tasks(server_rec *main_server, apr_pool_t *p, apr_array_header_t *out)
{
    for (server_rec *s = main_server; s; s = s->next) {
        cb_server_conf *c = cb_server_conf_get(s);
        if (!c->env)
            continue;
        for (int i = 0; i < c->env->tasks->nelts; i++) {
            scheduled_task *st = apr_array_push(out);
            st->task = APR_ARRAY_IDX(c->env->tasks, i, cb_task);
            st->next_run = 0;
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
    tasks = apr_array_make(s->process->pool, 4, sizeof(scheduled_task));
    return collect_tasks(s, s->process->pool, tasks) ? OK : DECLINED;
}

static apr_status_t run_due_tasks(int state, void *data, apr_pool_t *pool)
{
    task_runner *runner = data;
    apr_time_t now;
    if (state != AP_WATCHDOG_STATE_RUNNING)
        return APR_SUCCESS;
    now = apr_time_now();
    for (int i = 0; i < runner->tasks->nelts; i++) {
        scheduled_task *st = &APR_ARRAY_IDX(runner->tasks, i, scheduled_task);
        apr_pool_t *scratch;
        if (now < st->next_run)
            continue;
        st->next_run = now + st->task.interval;
        apr_pool_create(&scratch, pool);
        st->task.fn(st->task.instance->state, scratch);
        apr_pool_destroy(scratch);
    }
    return APR_SUCCESS;
}

int cb_apache_tasks_post_config(apr_pool_t *p, server_rec *main_server)
{
    task_runner *runner = apr_pcalloc(p, sizeof(*runner));
    ap_watchdog_t *watchdog;
    apr_status_t rv;
    runner->tasks = apr_array_make(p, 4, sizeof(scheduled_task));
    runner->server = main_server;
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
        rv = wd_register_callback(watchdog, AP_WD_TM_SLICE, runner, run_due_tasks);
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
