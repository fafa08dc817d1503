/*
 * db_migrate.c: applies the plugins' numbered schema steps once per
 * database, recorded in cb_migrations(plugin, number, applied_at). Several
 * processes and nodes may start at once: the whole run is one transaction
 * under a lock every one of them takes (PostgreSQL: a transaction-scoped
 * advisory lock; SQLite: BEGIN IMMEDIATE, the database's write lock), so
 * the second one finds the steps recorded and does nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "db_internal.h"

/* The advisory lock's key: "cbmg" as a number, the same on every node. */
#define MIGRATION_LOCK_KEY "1667460455"

static apr_status_t apply_set(cb_db_tx *tx, apr_pool_t *p, const char *plugin,
                              const cb_db_migration *steps, int count)
{
    const char *args[3];
    cb_db_result *done;
    apr_status_t rv;
    args[0] = plugin;
    rv = cb_db_tx_select(tx, "SELECT number FROM cb_migrations WHERE plugin = ?", 1, args,
                         &done);
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = 0; i < count; i++) {
        int applied = 0;
        for (int r = 0; r < done->rows && !applied; r++) {
            int64_t n;
            applied = cb_db_int64(done, r, 0, &n) == APR_SUCCESS && n == steps[i].number;
        }
        if (applied)
            continue;
        if ((rv = cb_db_tx_exec_raw(tx, steps[i].sql)) != APR_SUCCESS)
            return rv;
        args[1] = apr_itoa(p, steps[i].number);
        args[2] = apr_off_t_toa(p, (apr_off_t)apr_time_sec(apr_time_now()));
        rv = cb_db_tx_exec(tx, "INSERT INTO cb_migrations (plugin, number, applied_at) "
                           "VALUES (?, ?, ?)", 3, args, NULL);
        if (rv != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t migrate_locked(cb_db *db, apr_pool_t *p)
{
    int sqlite = strcmp(cb_db_driver(db), "sqlite3") == 0;
    cb_db_tx *tx;
    cb_db_result *ignored;
    apr_status_t rv = cb_db_begin_mode(db, p, sqlite ? "BEGIN IMMEDIATE" : "BEGIN", &tx);
    if (rv != APR_SUCCESS)
        return rv;
    if (strcmp(cb_db_driver(db), "pgsql") == 0)
        rv = cb_db_tx_select(tx, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")", 0,
                             NULL, &ignored);
    else if (strcmp(cb_db_driver(db), "mysql") == 0)
        rv = cb_db_tx_select(tx, "SELECT GET_LOCK('cb_migrations', 60)", 0, NULL, &ignored);
    if (rv == APR_SUCCESS)
        rv = cb_db_tx_exec_raw(tx, "CREATE TABLE IF NOT EXISTS cb_migrations ("
                                   "plugin VARCHAR(64) NOT NULL, number INTEGER NOT NULL, "
                                   "applied_at BIGINT NOT NULL, PRIMARY KEY (plugin, number))");
    for (int i = 0; rv == APR_SUCCESS && i < cb_db_migration_sets(db); i++) {
        const char *plugin;
        const cb_db_migration *steps;
        int count;
        cb_db_migration_set_at(db, i, &plugin, &steps, &count);
        rv = apply_set(tx, p, plugin, steps, count);
    }
    if (rv != APR_SUCCESS) {
        cb_db_rollback(tx);
        return rv;
    }
    return cb_db_commit(tx);
}

apr_status_t cb_db_migrate(cb_db *db, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *scratch;
    /* Threads of one process wait for the first one's run. */
    apr_thread_mutex_lock(cb_db_migrate_mutex(db));
    if (!cb_db_is_migrated(db)) {
        apr_pool_create(&scratch, p);
        rv = migrate_locked(db, scratch);
        apr_pool_destroy(scratch);
        if (rv == APR_SUCCESS)
            cb_db_set_migrated(db);
    }
    apr_thread_mutex_unlock(cb_db_migrate_mutex(db));
    return rv;
}
