/*
 * db_internal.h: the database service's internals shared by the core's
 * db*.c files, the adapters and the tests: the parsed CloudBaseDatabase
 * line, the SQL placeholder translation, and start-up entry points.
 * Plugins see only cloudbase/db.h.
 */
#ifndef CB_DB_INTERNAL_H
#define CB_DB_INTERNAL_H

#include <apr_tables.h>

#include "cloudbase/db.h"

typedef struct cb_db_config {
    const char *driver;            /* "sqlite3", "pgsql" or "mysql" */
    const char *params;            /* apr_dbd open string; may hold a password: never log */
    const char *display;           /* for logs and /health: no password */
    int64_t statement_timeout_ms;  /* timeout=, default 5000 */
    int64_t connect_timeout_ms;    /* connect_timeout=, default 2000 */
    int64_t retry_interval_ms;     /* retry=, default 1000 */
    int pool_size;                 /* pool=, default 8 */
} cb_db_config;

/* Parses the arguments of CloudBaseDatabase (db_config.c; fuzzed by
 * tests/fuzz/fuzz_db_config.c). NULL when good, else the message for
 * configtest. Never echoes a password. */
const char *cb_db_config_parse(apr_pool_t *p, const char *line, cb_db_config *cfg);

/* Rewrites '?' placeholders (outside '...' and "..." quotes) to apr_dbd's
 * %s and doubles '%'. *nargs gets the count. NULL when the SQL is not
 * usable (an unterminated quote). */
const char *cb_db_sql_translate(apr_pool_t *p, const char *sql, int *nargs);

/* Creates the service at start-up: loads the driver (an error when it is
 * not installed), connects nothing yet. */
const char *cb_db_create(apr_pool_t *p, const cb_db_config *cfg, cb_db **out);
/* Per process: opens the connection pool (with pool cleanups) and applies
 * the registered migrations (logged failure: retried before the first
 * call). Returns NULL or what went wrong, for the log. */
const char *cb_db_child_init(cb_db *db, apr_pool_t *pchild);
const cb_db_config *cb_db_get_config(const cb_db *db);

/* Registers a plugin's migrations (start-up, before child init). */
void cb_db_add_migrations(cb_db *db, const char *plugin, const cb_db_migration *steps,
                          int count);
/* Applies pending migrations now, under a lock shared by every process and
 * node (PostgreSQL advisory lock; SQLite BEGIN IMMEDIATE). */
apr_status_t cb_db_migrate(cb_db *db, apr_pool_t *p);

/* db.c internals used by db_migrate.c: a held connection. */
apr_status_t cb_db_tx_exec_raw(cb_db_tx *tx, const char *sql);
apr_status_t cb_db_begin_mode(cb_db *db, apr_pool_t *p, const char *begin_sql, cb_db_tx **tx);
int cb_db_migration_sets(const cb_db *db);
void cb_db_migration_set_at(const cb_db *db, int i, const char **plugin,
                            const cb_db_migration **steps, int *count);
void cb_db_set_migrated(cb_db *db);
int cb_db_is_migrated(const cb_db *db);
struct apr_thread_mutex_t *cb_db_migrate_mutex(cb_db *db);

#endif
