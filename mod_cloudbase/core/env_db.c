/*
 * env_db.c: the database in an environment: what plugins ask for in
 * create() (cb_ctx_db, cb_ctx_db_migrations) and the per-process start.
 */
#include "cb_core.h"
#include "db_internal.h"

cb_db *cb_ctx_db(const cb_plugin_ctx *ctx) { return ctx->instance->env->db; }

void cb_ctx_db_migrations(cb_plugin_ctx *ctx, const cb_db_migration *steps, int count)
{
    cb_db *db = ctx->instance->env->db;
    int previous = 0;
    if (count < 0)
        for (count = 0; steps[count].sql; count++)
            ;
    if (!db) {
        cb_ctx_error(ctx, "this plugin keeps data in a database: add CloudBaseDatabase "
                          "(e.g. CloudBaseDatabase sqlite3:/var/lib/cloudbase/site.db)");
        return;
    }
    for (int i = 0; i < count; i++) {
        if (steps[i].number <= previous || !steps[i].sql) {
            cb_ctx_error(ctx, "migration numbers must be positive and increasing, each with SQL");
            return;
        }
        previous = steps[i].number;
    }
    cb_db_add_migrations(db, ctx->instance->plugin->desc->name, steps, count);
}

const char *cb_env_db_child_init(cb_env *env, apr_pool_t *pchild)
{
    return env->db ? cb_db_child_init(env->db, pchild) : NULL;
}
