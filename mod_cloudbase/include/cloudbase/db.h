/*
 * db.h: the SQL database service for the core and plugins, over apr_dbd
 * (SQLite, PostgreSQL, MySQL when its driver is installed).
 *
 * Statements are prepared with bound parameters only: SQL text is a constant
 * of the plugin, written with '?' as the one portable placeholder, and every
 * value travels in the argument array (NULL pointer = SQL NULL). The core
 * translates '?' to the driver's syntax; '?' inside a '...' string literal
 * is left alone. Results are copied out of the driver, so a connection goes
 * back to the per-process pool as soon as the call returns.
 *
 * While the database fails, every call fails at once (CB_DB_EDOWN) for the
 * retry interval, doubling while failures repeat but never past 1 s (or
 * retry= when longer); then one call probes. See docs/plugin-api.md.
 */
#ifndef CLOUDBASE_DB_H
#define CLOUDBASE_DB_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_errno.h>

#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_db cb_db;
typedef struct cb_db_tx cb_db_tx;

/* Returned while the breaker is open or when the server cannot be reached. */
#define CB_DB_EDOWN (APR_OS_START_USERERR + 11)
/* The statement failed (syntax, constraint, ...): the database is up. */
#define CB_DB_ESQL (APR_OS_START_USERERR + 12)
/* The statement timed out (PostgreSQL statement_timeout, SQLite busy). */
#define CB_DB_ETIMEOUT (APR_OS_START_USERERR + 13)

/* A result, copied out of the driver; lives in the caller's pool. */
typedef struct cb_db_result {
    int rows;
    int columns;
    const char **names;   /* column names */
    const char **cells;   /* rows * columns values as text; NULL = SQL NULL */
} cb_db_result;

/* "sqlite3", "pgsql" or "mysql": for the rare DDL that differs. */
CB_API const char *cb_db_driver(const cb_db *db);

/* Runs a statement that returns no rows; *affected (may be NULL) gets the
 * number of rows changed. args has nargs values, one per '?'. */
CB_API apr_status_t cb_db_exec(cb_db *db, apr_pool_t *p, const char *sql, int nargs,
                        const char *const *args, int *affected);
/* Runs a query and copies every row into *out (allocated from p). */
CB_API apr_status_t cb_db_select(cb_db *db, apr_pool_t *p, const char *sql, int nargs,
                          const char *const *args, cb_db_result **out);

/* Typed access to row r, column c (0-based). Out of range reads as NULL. */
CB_API int cb_db_is_null(const cb_db_result *res, int r, int c);
CB_API const char *cb_db_text(const cb_db_result *res, int r, int c);   /* NULL for NULL */
/* 0 and *out on success; APR_ENOENT for NULL, APR_EINVAL when not an
 * integer. */
CB_API apr_status_t cb_db_int64(const cb_db_result *res, int r, int c, int64_t *out);
/* Column index by name, -1 when absent. */
CB_API int cb_db_column(const cb_db_result *res, const char *name);

/* Transactions: one connection is held from begin to commit or rollback.
 * Within one, use the cb_db_tx_* calls. Rollback after an error is up to
 * the caller; cb_db_transaction does it for you. */
CB_API apr_status_t cb_db_begin(cb_db *db, apr_pool_t *p, cb_db_tx **tx);
CB_API apr_status_t cb_db_tx_exec(cb_db_tx *tx, const char *sql, int nargs, const char *const *args,
                           int *affected);
CB_API apr_status_t cb_db_tx_select(cb_db_tx *tx, const char *sql, int nargs,
                             const char *const *args, cb_db_result **out);
CB_API apr_status_t cb_db_commit(cb_db_tx *tx);
CB_API apr_status_t cb_db_rollback(cb_db_tx *tx);

/* Runs fn in a transaction: commits when it returns APR_SUCCESS, else rolls
 * back and returns its status. */
typedef apr_status_t (*cb_db_tx_fn)(cb_db_tx *tx, void *baton);
CB_API apr_status_t cb_db_transaction(cb_db *db, apr_pool_t *p, cb_db_tx_fn fn, void *baton);

/* The driver's last error message for a failed call in this thread's
 * connection, for the log only (never for the client): "" when none. */
CB_API const char *cb_db_last_error(cb_db *db);

/* 0 while the breaker is open. */
CB_API int cb_db_available(cb_db *db);
/* A round trip through the breaker ("SELECT 1"); 1 when it answered. */
CB_API int cb_db_ping(cb_db *db, apr_pool_t *p);

/* A plugin's schema: numbered steps, each one SQL statement, applied in
 * order once per database and recorded in cb_migrations(plugin, number,
 * applied_at). Numbers are positive and increasing; never change a step
 * that has shipped, add a new one. */
typedef struct cb_db_migration {
    int number;
    const char *sql;
} cb_db_migration;

#ifdef __cplusplus
}
#endif
#endif
