/*
 * db.c: the database service (cloudbase/db.h): a per-process apr_reslist of
 * apr_dbd connections, bound-parameter statements, results copied out of
 * the driver, transactions and the fast-fail breaker. The CloudBaseDatabase
 * parser is db_config.c, migrations db_migrate.c, typed row access db_rows.c.
 */
#include <string.h>

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "breaker.h"
#include "db_internal.h"


typedef struct db_migration_set {
    const char *plugin;
    const cb_db_migration *steps;
    int count;
} db_migration_set;

struct cb_db {
    cb_db_config cfg;
    const char *open_params;        /* cfg.params plus the timeouts */
    const apr_dbd_driver_t *driver;
    apr_reslist_t *conns;           /* per process, from child init */
    apr_thread_mutex_t *lock;       /* breaker, last_error */
    apr_thread_mutex_t *migrate_lock;
    /* SQLite: one writer per process at a time (see sqlite_writer_enter) */
    apr_thread_mutex_t *sqlite_writer;
    cb_breaker breaker;             /* guarded by lock (breaker.h) */
    unsigned generation;            /* bumped on failure: older connections are dropped */
    apr_array_header_t *migrations; /* db_migration_set */
    volatile int migrated;
    char last_error[256];
};

/* SQLite statements are prepared once per connection, by SQL text: apr_dbd's
 * SQLite driver frees statements only when the connection closes. A
 * plugin's SQL is constant, so the cache stays small; a connection that
 * would pass the cap is retired after the call. */
#define STATEMENT_CACHE_MAX 128

typedef struct db_conn {
    apr_pool_t *pool;               /* unmanaged: destroyed by conn_destruct */
    apr_dbd_t *handle;
    apr_hash_t *statements;         /* native SQL -> apr_dbd_prepared_t * */
    unsigned generation;
    int uses;
    int retire;                     /* close instead of pooling again */
} db_conn;

struct cb_db_tx {
    cb_db *db;
    db_conn *conn;
    apr_pool_t *pool;
    int is_probe;
    int dead;                       /* the connection failed: invalidate, not release */
    int holds_writer;               /* SQLite: this transaction holds sqlite_writer */
};

const char *cb_db_driver(const cb_db *db) { return db->cfg.driver; }
const cb_db_config *cb_db_get_config(const cb_db *db) { return &db->cfg; }
static int is_sqlite(const cb_db *db) { return strcmp(db->cfg.driver, "sqlite3") == 0; }

/* SQLite: another process changed the schema since this connection read
 * it (apr_dbd prepares with the legacy API): the statement can be prepared
 * again. */
static int is_schema_change(cb_db *db, apr_dbd_t *handle, int rv)
{
    const char *msg = apr_dbd_error(db->driver, handle, rv);
    return rv == 17 /* SQLITE_SCHEMA */ || (msg && strstr(msg, "schema has changed"));
}

static void set_error(cb_db *db, const char *msg)
{
    apr_thread_mutex_lock(db->lock);
    apr_cpystrn(db->last_error, msg ? msg : "", sizeof(db->last_error));
    apr_thread_mutex_unlock(db->lock);
}

const char *cb_db_last_error(cb_db *db)
{
    return db->last_error;
}

const char *cb_db_create(apr_pool_t *p, const cb_db_config *cfg, cb_db **out)
{
    cb_db *db = apr_pcalloc(p, sizeof(*db));
    apr_status_t rv;
    *out = NULL;
    db->cfg = *cfg;
    cb_breaker_init(&db->breaker, cfg->retry_interval_ms);
    apr_dbd_init(p);
    rv = apr_dbd_get_driver(p, cfg->driver, &db->driver);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "the apr_dbd driver '%s' is not installed (Debian: "
                            "libaprutil1-dbd-%s)", cfg->driver, cfg->driver);
    if (strcmp(cfg->driver, "pgsql") == 0) {
        int64_t seconds = (cfg->connect_timeout_ms + 999) / 1000;
        db->open_params = apr_psprintf(p, "%s connect_timeout=%d options='-c statement_timeout=%d'",
                                       cfg->params, (int)(seconds < 2 ? 2 : seconds),
                                       (int)cfg->statement_timeout_ms);
    } else if (strcmp(cfg->driver, "mysql") == 0) {
        int64_t seconds = (cfg->connect_timeout_ms + 999) / 1000;
        db->open_params = apr_psprintf(p, "%s connecttimeout=%d", cfg->params, (int)seconds);
    } else {
        db->open_params = cfg->params;
    }
    apr_thread_mutex_create(&db->lock, APR_THREAD_MUTEX_DEFAULT, p);
    apr_thread_mutex_create(&db->migrate_lock, APR_THREAD_MUTEX_DEFAULT, p);
    apr_thread_mutex_create(&db->sqlite_writer, APR_THREAD_MUTEX_TIMED, p);
    db->migrations = apr_array_make(p, 2, sizeof(db_migration_set));
    *out = db;
    return NULL;
}

/* A statement with no rows and no parameters, on a held connection. */
static apr_status_t run_plain(cb_db *db, apr_pool_t *p, apr_dbd_t *handle, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    /* A select reads statements that answer with a row (PRAGMA) too. */
    int rv = apr_dbd_select(db->driver, p, handle, &res, sql, 1);
    if (rv != 0 && is_sqlite(db) && is_schema_change(db, handle, rv))
        rv = apr_dbd_select(db->driver, p, handle, &res, sql, 1);
    if (rv == 0)
        while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0)
            ;
    return rv == 0 ? APR_SUCCESS : CB_DB_ESQL;
}

static apr_status_t conn_construct(void **resource, void *params, apr_pool_t *pool)
{
    cb_db *db = params;
    db_conn *c;
    apr_pool_t *cp;
    const char *error = NULL;
    (void)pool;
    /* Not a subpool of the reslist's pool: that one's subpools are destroyed
     * before its cleanups, which close the connections. */
    if (apr_pool_create_unmanaged_ex(&cp, NULL, NULL) != APR_SUCCESS)
        return APR_ENOMEM;
    c = apr_pcalloc(cp, sizeof(*c));
    c->pool = cp;
    c->statements = apr_hash_make(cp);
    if (apr_dbd_open_ex(db->driver, cp, db->open_params, &c->handle, &error) != APR_SUCCESS ||
        !c->handle) {
        /* libpq's message names host and port, never the password. */
        set_error(db, error ? error : "cannot connect");
        apr_pool_destroy(cp);
        return CB_DB_EDOWN;
    }
    if (is_sqlite(db)) {
        const char *setup = apr_psprintf(cp, "PRAGMA busy_timeout = %d",
                                         (int)db->cfg.statement_timeout_ms);
        /* WAL is a property of the file: the first connection that manages
         * to switch sets it for all. Several processes opening a new file at
         * once may be refused the switch (SQLITE_BUSY): not an error. */
        for (int attempt = 0; attempt < 5; attempt++) {
            if (run_plain(db, cp, c->handle, "PRAGMA journal_mode = WAL") == APR_SUCCESS)
                break;
            apr_sleep(apr_time_from_msec(20));
        }
        if (run_plain(db, cp, c->handle, setup) != APR_SUCCESS ||
            run_plain(db, cp, c->handle, "PRAGMA foreign_keys = ON") != APR_SUCCESS) {
            set_error(db, "cannot set up the SQLite connection");
            apr_dbd_close(db->driver, c->handle);
            apr_pool_destroy(cp);
            return CB_DB_EDOWN;
        }
    }
    apr_thread_mutex_lock(db->lock);
    c->generation = db->generation;
    apr_thread_mutex_unlock(db->lock);
    *resource = c;
    return APR_SUCCESS;
}

static apr_status_t conn_destruct(void *resource, void *params, apr_pool_t *pool)
{
    cb_db *db = params;
    db_conn *c = resource;
    (void)pool;
    apr_dbd_close(db->driver, c->handle);
    apr_pool_destroy(c->pool);
    return APR_SUCCESS;
}

const char *cb_db_child_init(cb_db *db, apr_pool_t *pchild)
{
    apr_status_t rv = apr_reslist_create(&db->conns, 0, db->cfg.pool_size, db->cfg.pool_size,
                                         0, conn_construct, conn_destruct, db, pchild);
    if (rv != APR_SUCCESS)
        return "cannot create the database connection pool";
    /* A full pool makes callers wait, but no longer than a connect. */
    apr_reslist_timeout_set(db->conns, apr_time_from_msec(db->cfg.connect_timeout_ms));
    if (db->migrations->nelts && cb_db_migrate(db, pchild) != APR_SUCCESS)
        return apr_psprintf(pchild, "database migrations not applied yet (retried before "
                            "the first query): %s", db->last_error);
    return NULL;
}

/* ------------------------------------------------------------- breaker */

/* APR_SUCCESS when a call may go ahead; *is_probe when it tests the server
 * after the fail-fast window. */
static apr_status_t breaker_enter(cb_db *db, int *is_probe)
{
    apr_status_t rv;
    apr_thread_mutex_lock(db->lock);
    rv = cb_breaker_enter(&db->breaker, apr_time_now(), is_probe) ? APR_SUCCESS : CB_DB_EDOWN;
    apr_thread_mutex_unlock(db->lock);
    return rv;
}

static void breaker_leave(cb_db *db, int healthy, int is_probe)
{
    apr_thread_mutex_lock(db->lock);
    cb_breaker_leave(&db->breaker, apr_time_now(), healthy, is_probe);
    if (!healthy)
        db->generation++; /* connections made before the failure are dropped */
    apr_thread_mutex_unlock(db->lock);
}

int cb_db_available(cb_db *db)
{
    int up;
    apr_thread_mutex_lock(db->lock);
    up = cb_breaker_available(&db->breaker, apr_time_now());
    apr_thread_mutex_unlock(db->lock);
    return up;
}

/* ------------------------------------------------------------- connections */

/* Takes a connection of the current generation; *reused when it served
 * before (it may have died since). */
static apr_status_t take_conn(cb_db *db, db_conn **out)
{
    for (;;) {
        void *resource;
        db_conn *c;
        unsigned generation;
        if (!db->conns || apr_reslist_acquire(db->conns, &resource) != APR_SUCCESS)
            return CB_DB_EDOWN;
        c = resource;
        apr_thread_mutex_lock(db->lock);
        generation = db->generation;
        apr_thread_mutex_unlock(db->lock);
        if (c->generation == generation) {
            c->uses++;
            *out = c;
            return APR_SUCCESS;
        }
        apr_reslist_invalidate(db->conns, c);
    }
}

static void give_back(cb_db *db, db_conn *c, int dead)
{
    if (dead || c->retire)
        apr_reslist_invalidate(db->conns, c);
    else
        apr_reslist_release(db->conns, c);
}

/* What a driver error means: the server is gone, the statement timed out,
 * or the statement itself failed. */
static apr_status_t classify(cb_db *db, apr_pool_t *p, db_conn *c, int rv)
{
    const char *msg = apr_dbd_error(db->driver, c->handle, rv);
    set_error(db, msg);
    if (apr_dbd_check_conn(db->driver, p, c->handle) != APR_SUCCESS)
        return CB_DB_EDOWN;
    if (msg && (strstr(msg, "statement timeout") || strstr(msg, "database is locked")))
        return CB_DB_ETIMEOUT;
    if (is_sqlite(db) && (rv == 5 || rv == 6)) /* SQLITE_BUSY, SQLITE_LOCKED */
        return CB_DB_ETIMEOUT;
    return CB_DB_ESQL;
}

/* Copies a result out of the driver into p. */
static cb_db_result *copy_result(cb_db *db, apr_pool_t *p, apr_pool_t *scratch,
                                 apr_dbd_results_t *res)
{
    cb_db_result *out = apr_pcalloc(p, sizeof(*out));
    apr_array_header_t *cells;
    apr_dbd_row_t *row = NULL;
    out->columns = apr_dbd_num_cols(db->driver, res);
    out->names = apr_pcalloc(p, sizeof(char *) * (apr_size_t)(out->columns + 1));
    for (int c = 0; c < out->columns; c++) {
        const char *name = apr_dbd_get_name(db->driver, res, c);
        out->names[c] = apr_pstrdup(p, name ? name : "");
    }
    cells = apr_array_make(p, 8 * (out->columns ? out->columns : 1), sizeof(const char *));
    for (int r = 1; apr_dbd_get_row(db->driver, scratch, res, &row, r) == 0; r++) {
        for (int c = 0; c < out->columns; c++) {
            char *v = NULL;
            /* APR_ENOENT: SQL NULL (get_entry would give "" on pgsql). */
            if (apr_dbd_datum_get(db->driver, row, c, APR_DBD_TYPE_STRING, &v) != APR_SUCCESS)
                v = NULL;
            APR_ARRAY_PUSH(cells, const char *) = v ? apr_pstrdup(p, v) : NULL;
        }
        out->rows++;
    }
    out->cells = (const char **)cells->elts;
    return out;
}

static int run_prepared(cb_db *db, apr_pool_t *p, apr_pool_t *scratch, db_conn *c,
                        const char *native, int nargs, const char *const *args, int *affected,
                        cb_db_result **out)
{
    apr_dbd_prepared_t *stmt = apr_hash_get(c->statements, native, APR_HASH_KEY_STRING);
    int rv = 0, nrows = 0;
    if (!stmt && !is_sqlite(db)) {
        /* No label: PostgreSQL runs it with PQexecParams (a labelled one
         * would be an SQL PREPARE, which refuses DDL); nothing is kept on
         * the connection, the statement lives in scratch. */
        rv = apr_dbd_prepare(db->driver, scratch, c->handle, native, NULL, &stmt);
    } else if (!stmt) {
        if (apr_hash_count(c->statements) >= STATEMENT_CACHE_MAX) {
            c->retire = 1;
            rv = apr_dbd_prepare(db->driver, scratch, c->handle, native, NULL, &stmt);
        } else {
            rv = apr_dbd_prepare(db->driver, c->pool, c->handle, native, NULL, &stmt);
            if (rv == 0)
                apr_hash_set(c->statements, apr_pstrdup(c->pool, native),
                             APR_HASH_KEY_STRING, stmt);
        }
    }
    if (rv == 0 && out) {
        apr_dbd_results_t *res = NULL;
        rv = apr_dbd_pselect(db->driver, scratch, c->handle, &res, stmt, 1, nargs,
                             (const char **)args);
        if (rv == 0)
            *out = copy_result(db, p, scratch, res);
    } else if (rv == 0) {
        rv = apr_dbd_pquery(db->driver, scratch, c->handle, &nrows, stmt, nargs,
                            (const char **)args);
        if (rv == 0 && affected)
            *affected = nrows;
    }
    return rv;
}

/* Prepares and runs one statement on a held connection. */
static apr_status_t run_on(cb_db *db, apr_pool_t *p, db_conn *c, const char *sql, int nargs,
                           const char *const *args, int *affected, cb_db_result **out)
{
    apr_pool_t *scratch;
    int expected, rv;
    const char *native = cb_db_sql_translate(p, sql, &expected);
    apr_status_t status = APR_SUCCESS;
    if (!native || expected != nargs) {
        set_error(db, native ? "the number of arguments does not match the '?' placeholders"
                             : "unterminated quote in SQL");
        return APR_EINVAL;
    }
    apr_pool_create(&scratch, p);
    for (int attempt = 0;; attempt++) {
        /* A cached SQLite statement that fails may only be stale: after DDL
         * on this connection, the legacy prepare the driver uses reports the
         * schema change as a bare SQLITE_ERROR ("not an error") rather than
         * SQLITE_SCHEMA. A failed statement changed nothing, so it is
         * prepared afresh and run once more (not after a busy or locked
         * database, which would only double the wait). */
        int cached = apr_hash_get(c->statements, native, APR_HASH_KEY_STRING) != NULL;
        rv = run_prepared(db, p, scratch, c, native, nargs, args, affected, out);
        if (rv == 0 || attempt > 0 || !is_sqlite(db) || rv == 5 /* SQLITE_BUSY */ ||
            rv == 6 /* SQLITE_LOCKED */ || !(cached || is_schema_change(db, c->handle, rv)))
            break;
        apr_hash_set(c->statements, native, APR_HASH_KEY_STRING, NULL);
    }
    if (rv != 0)
        status = classify(db, scratch, c, rv);
    apr_pool_destroy(scratch);
    return status;
}

static apr_status_t ensure_migrated(cb_db *db, apr_pool_t *p)
{
    if (db->migrated || !db->migrations->nelts)
        return APR_SUCCESS;
    return cb_db_migrate(db, p);
}

/* SQLite lets one connection write at a time, and apr_dbd's SQLite driver
 * runs every call of a process under one process-wide lock. A thread whose
 * write waits for SQLite's write lock (busy_timeout) therefore holds that
 * lock while it waits, and the thread of the same process that holds the
 * write lock cannot run its next statement or its COMMIT: both wait until
 * the timeout. Writers of one process take turns here first, so a write
 * only ever waits for another process's writer, which is not blocked.
 * Reads (WAL) take no turn. A turn is waited for as long as SQLite's own
 * busy wait (the statement timeout), then the write fails as timed out. */
static apr_status_t sqlite_writer_enter(cb_db *db, int *held)
{
    *held = 0;
    if (!is_sqlite(db))
        return APR_SUCCESS;
    if (apr_thread_mutex_timedlock(db->sqlite_writer,
                                   apr_time_from_msec(db->cfg.statement_timeout_ms)) !=
        APR_SUCCESS) {
        set_error(db, "another write of this process held the database past the timeout");
        return CB_DB_ETIMEOUT;
    }
    *held = 1;
    return APR_SUCCESS;
}

static void sqlite_writer_leave(cb_db *db, int *held)
{
    if (*held)
        apr_thread_mutex_unlock(db->sqlite_writer);
    *held = 0;
}

/* One statement outside a transaction: breaker, connection, one retry on a
 * fresh connection when a pooled one had died (server restart). */
static apr_status_t run(cb_db *db, apr_pool_t *p, const char *sql, int nargs,
                        const char *const *args, int *affected, cb_db_result **out)
{
    int is_probe, writer = 0;
    apr_status_t rv = ensure_migrated(db, p);
    if (rv != APR_SUCCESS)
        return rv;
    if ((rv = breaker_enter(db, &is_probe)) != APR_SUCCESS)
        return rv;
    if (!out && (rv = sqlite_writer_enter(db, &writer)) != APR_SUCCESS) {
        breaker_leave(db, 1, is_probe);
        return rv;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        db_conn *c;
        int reused;
        if ((rv = take_conn(db, &c)) != APR_SUCCESS)
            break;
        reused = c->uses > 1;
        rv = run_on(db, p, c, sql, nargs, args, affected, out);
        give_back(db, c, rv == CB_DB_EDOWN);
        if (rv != CB_DB_EDOWN || !reused)
            break;
    }
    sqlite_writer_leave(db, &writer);
    breaker_leave(db, rv != CB_DB_EDOWN, is_probe);
    return rv;
}

apr_status_t cb_db_exec(cb_db *db, apr_pool_t *p, const char *sql, int nargs,
                        const char *const *args, int *affected)
{
    return run(db, p, sql, nargs, args, affected, NULL);
}

apr_status_t cb_db_select(cb_db *db, apr_pool_t *p, const char *sql, int nargs,
                          const char *const *args, cb_db_result **out)
{
    *out = NULL;
    return run(db, p, sql, nargs, args, NULL, out);
}

int cb_db_ping(cb_db *db, apr_pool_t *p)
{
    cb_db_result *res;
    int is_probe;
    apr_status_t rv;
    /* No migrations here: /health reports the server, not the schema. */
    if (breaker_enter(db, &is_probe) != APR_SUCCESS)
        return 0;
    {
        db_conn *c;
        rv = take_conn(db, &c);
        if (rv == APR_SUCCESS) {
            rv = run_on(db, p, c, "SELECT 1", 0, NULL, NULL, &res);
            give_back(db, c, rv == CB_DB_EDOWN);
        }
    }
    breaker_leave(db, rv != CB_DB_EDOWN, is_probe);
    return rv == APR_SUCCESS;
}

/* ------------------------------------------------------------- transactions */

static apr_status_t tx_cleanup(void *data)
{
    cb_db_tx *tx = data;
    if (tx->conn) {
        /* Never committed: roll back before the connection is reused. */
        if (!tx->dead)
            tx->dead = run_plain(tx->db, tx->pool, tx->conn->handle, "ROLLBACK") != APR_SUCCESS;
        give_back(tx->db, tx->conn, tx->dead);
        breaker_leave(tx->db, !tx->dead, tx->is_probe);
        tx->conn = NULL;
    }
    sqlite_writer_leave(tx->db, &tx->holds_writer);
    return APR_SUCCESS;
}

apr_status_t cb_db_begin_mode(cb_db *db, apr_pool_t *p, const char *begin_sql, cb_db_tx **out)
{
    cb_db_tx *tx = apr_pcalloc(p, sizeof(*tx));
    apr_status_t rv;
    *out = NULL;
    tx->db = db;
    tx->pool = p;
    if ((rv = breaker_enter(db, &tx->is_probe)) != APR_SUCCESS)
        return rv;
    if ((rv = sqlite_writer_enter(db, &tx->holds_writer)) != APR_SUCCESS) {
        breaker_leave(db, 1, tx->is_probe);
        return rv;
    }
    if ((rv = take_conn(db, &tx->conn)) != APR_SUCCESS) {
        sqlite_writer_leave(db, &tx->holds_writer);
        breaker_leave(db, 0, tx->is_probe);
        return rv;
    }
    if (run_plain(db, p, tx->conn->handle, begin_sql) != APR_SUCCESS) {
        rv = classify(db, p, tx->conn, 1);
        tx->dead = rv == CB_DB_EDOWN;
        give_back(db, tx->conn, tx->dead);
        sqlite_writer_leave(db, &tx->holds_writer);
        breaker_leave(db, !tx->dead, tx->is_probe);
        return rv;
    }
    apr_pool_cleanup_register(p, tx, tx_cleanup, apr_pool_cleanup_null);
    *out = tx;
    return APR_SUCCESS;
}

apr_status_t cb_db_begin(cb_db *db, apr_pool_t *p, cb_db_tx **tx)
{
    apr_status_t rv = ensure_migrated(db, p);
    if (rv != APR_SUCCESS)
        return rv;
    /* SQLite: take the write lock now, so two writers wait (busy_timeout)
     * instead of one failing at its first write. */
    return cb_db_begin_mode(db, p, is_sqlite(db) ? "BEGIN IMMEDIATE" : "BEGIN", tx);
}

static apr_status_t tx_run(cb_db_tx *tx, const char *sql, int nargs, const char *const *args,
                           int *affected, cb_db_result **out)
{
    apr_status_t rv;
    if (!tx->conn)
        return APR_EINVAL;
    rv = run_on(tx->db, tx->pool, tx->conn, sql, nargs, args, affected, out);
    if (rv == CB_DB_EDOWN)
        tx->dead = 1;
    return rv;
}

apr_status_t cb_db_tx_exec(cb_db_tx *tx, const char *sql, int nargs, const char *const *args,
                           int *affected)
{
    return tx_run(tx, sql, nargs, args, affected, NULL);
}

apr_status_t cb_db_tx_select(cb_db_tx *tx, const char *sql, int nargs,
                             const char *const *args, cb_db_result **out)
{
    *out = NULL;
    return tx_run(tx, sql, nargs, args, NULL, out);
}

apr_status_t cb_db_tx_exec_raw(cb_db_tx *tx, const char *sql)
{
    apr_status_t rv;
    if (!tx->conn)
        return APR_EINVAL;
    rv = run_plain(tx->db, tx->pool, tx->conn->handle, sql);
    if (rv != APR_SUCCESS) {
        rv = classify(tx->db, tx->pool, tx->conn, 1);
        tx->dead = rv == CB_DB_EDOWN;
    }
    return rv;
}

static apr_status_t tx_finish(cb_db_tx *tx, const char *sql)
{
    apr_status_t rv;
    if (!tx->conn)
        return APR_EINVAL;
    rv = tx->dead ? CB_DB_EDOWN : cb_db_tx_exec_raw(tx, sql);
    if (rv != APR_SUCCESS && !tx->dead)
        run_plain(tx->db, tx->pool, tx->conn->handle, "ROLLBACK");
    give_back(tx->db, tx->conn, tx->dead);
    sqlite_writer_leave(tx->db, &tx->holds_writer);
    breaker_leave(tx->db, !tx->dead, tx->is_probe);
    tx->conn = NULL;
    apr_pool_cleanup_kill(tx->pool, tx, tx_cleanup);
    return rv;
}

apr_status_t cb_db_commit(cb_db_tx *tx) { return tx_finish(tx, "COMMIT"); }
apr_status_t cb_db_rollback(cb_db_tx *tx) { return tx_finish(tx, "ROLLBACK"); }

apr_status_t cb_db_transaction(cb_db *db, apr_pool_t *p, cb_db_tx_fn fn, void *baton)
{
    cb_db_tx *tx;
    apr_status_t rv = cb_db_begin(db, p, &tx);
    if (rv != APR_SUCCESS)
        return rv;
    rv = fn(tx, baton);
    if (rv != APR_SUCCESS) {
        cb_db_rollback(tx);
        return rv;
    }
    return cb_db_commit(tx);
}

/* ------------------------------------------------------------- migrations list */

void cb_db_add_migrations(cb_db *db, const char *plugin, const cb_db_migration *steps,
                          int count)
{
    db_migration_set *set = apr_array_push(db->migrations);
    set->plugin = plugin;
    set->steps = steps;
    set->count = count;
    db->migrated = 0;
}

int cb_db_migration_sets(const cb_db *db) { return db->migrations->nelts; }

void cb_db_migration_set_at(const cb_db *db, int i, const char **plugin,
                            const cb_db_migration **steps, int *count)
{
    const db_migration_set *set = &APR_ARRAY_IDX(db->migrations, i, db_migration_set);
    *plugin = set->plugin;
    *steps = set->steps;
    *count = set->count;
}

void cb_db_set_migrated(cb_db *db) { db->migrated = 1; }
apr_thread_mutex_t *cb_db_migrate_mutex(cb_db *db) { return db->migrate_lock; }
int cb_db_is_migrated(const cb_db *db) { return db->migrated; }
