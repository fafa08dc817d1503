/*
 * test_db.c: the database service (cloudbase/db.h) against a real SQLite
 * file and a real PostgreSQL server (tests/common/postgres.c): the same
 * tests run in tcase "sqlite" and tcase "pgsql". Bound parameters (an
 * injection attempt stays data), typed rows and NULLs, transactions and
 * rollback, migrations applied once (twice started, and two processes at
 * once), statement timeouts, pool reuse, many threads writing at once; the breaker while PostgreSQL is
 * down (tcase "pgsql_down"); the CloudBaseDatabase parser (tcase "config").
 * Waits poll to a deadline; no wall-clock bounds.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_thread_proc.h>
#include <apr_time.h>
#include <check.h>

#include "cb_core.h"
#include "db_internal.h"
#include "postgres.h"

static srv_pg pg;
static int use_pgsql;
static char sqlite_dir[] = "/tmp/cb-db-test-XXXXXX";
static char line[512];
static apr_pool_t *pool;
static cb_db *db;

static void pg_up(void)
{
    use_pgsql = 1;
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
}

static void pg_down(void) { srv_pg_destroy(&pg); }

static void sqlite_mode(void) { use_pgsql = 0; }

/* The database line of this tcase; sqlite: a fresh file per test. */
static const char *database_line(const char *options)
{
    if (use_pgsql)
        return srv_pg_database_line(&pg, options, line, sizeof(line));
    snprintf(line, sizeof(line), "sqlite3:%s/site.db %s", sqlite_dir, options ? options : "");
    return line;
}

static cb_db *open_db(apr_pool_t *p, const char *options, const cb_db_migration *steps,
                      int count, const char *plugin)
{
    cb_db_config cfg;
    cb_db *out;
    const char *err = cb_db_config_parse(p, database_line(options), &cfg);
    ck_assert_msg(err == NULL, "%s", err);
    err = cb_db_create(p, &cfg, &out);
    ck_assert_msg(err == NULL, "%s", err);
    if (steps)
        cb_db_add_migrations(out, plugin, steps, count);
    err = cb_db_child_init(out, p);
    ck_assert_msg(err == NULL, "%s", err);
    return out;
}

static void exec_ok(cb_db *d, const char *sql, int nargs, const char *const *args)
{
    apr_status_t rv = cb_db_exec(d, pool, sql, nargs, args, NULL);
    ck_assert_msg(rv == APR_SUCCESS, "%s: %d %s", sql, rv, cb_db_last_error(d));
}

static int64_t count_rows(cb_db *d, const char *sql)
{
    cb_db_result *res;
    int64_t n = -1;
    apr_status_t rv = cb_db_select(d, pool, sql, 0, NULL, &res);
    ck_assert_msg(rv == APR_SUCCESS, "%s: %s", sql, cb_db_last_error(d));
    ck_assert_int_eq(cb_db_int64(res, 0, 0, &n), APR_SUCCESS);
    return n;
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    if (!use_pgsql) {
        strcpy(sqlite_dir, "/tmp/cb-db-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(sqlite_dir));
    }
    db = open_db(pool, "timeout=300ms", NULL, 0, NULL);
    if (use_pgsql) {
        exec_ok(db, "DROP SCHEMA public CASCADE", 0, NULL);
        exec_ok(db, "CREATE SCHEMA public", 0, NULL);
    }
}

static void teardown(void)
{
    char cmd[128];
    apr_pool_destroy(pool);
    if (!use_pgsql) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sqlite_dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}

START_TEST(bound_parameters_stay_data)
{
    const char *evil = "x'); DROP TABLE people; --";
    const char *args[2] = {"1", evil};
    cb_db_result *res;
    exec_ok(db, "CREATE TABLE people (id INTEGER, name TEXT)", 0, NULL);
    exec_ok(db, "INSERT INTO people (id, name) VALUES (?, ?)", 2, args);
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT id, name FROM people WHERE name = ?", 1,
                                  &args[1], &res), APR_SUCCESS);
    ck_assert_int_eq(res->rows, 1);
    ck_assert_str_eq(cb_db_text(res, 0, 1), evil);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM people"), 1);
    /* '?' inside a literal is text, and '%' passes through. */
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT 'a?b%s', ?", 1, args, &res), APR_SUCCESS);
    ck_assert_str_eq(cb_db_text(res, 0, 0), "a?b%s");
    ck_assert_str_eq(cb_db_text(res, 0, 1), "1");
    /* The argument count must match the placeholders. */
    ck_assert_int_eq(cb_db_exec(db, pool, "INSERT INTO people (id) VALUES (?)", 2, args, NULL),
                     APR_EINVAL);
    /* A failing statement is a statement error, not an outage. */
    ck_assert_int_eq(cb_db_exec(db, pool, "INSERT INTO nosuchtable VALUES (1)", 0, NULL, NULL),
                     CB_DB_ESQL);
    ck_assert(cb_db_available(db));
}
END_TEST

START_TEST(typed_rows_and_nulls)
{
    const char *args[3] = {"7", NULL, "-9000000000"};
    cb_db_result *res;
    int64_t n = 0;
    int affected = -1;
    exec_ok(db, "CREATE TABLE item (id INTEGER, label TEXT, big BIGINT)", 0, NULL);
    ck_assert_int_eq(cb_db_exec(db, pool, "INSERT INTO item (id, label, big) VALUES (?, ?, ?)",
                                3, args, &affected), APR_SUCCESS);
    ck_assert_int_eq(affected, 1);
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT id, label, big FROM item", 0, NULL, &res),
                     APR_SUCCESS);
    ck_assert_int_eq(res->rows, 1);
    ck_assert_int_eq(res->columns, 3);
    ck_assert_int_eq(cb_db_column(res, "big"), 2);
    ck_assert_int_eq(cb_db_column(res, "nope"), -1);
    ck_assert_int_eq(cb_db_int64(res, 0, 0, &n), APR_SUCCESS);
    ck_assert_int_eq(n, 7);
    ck_assert(cb_db_is_null(res, 0, 1));
    ck_assert_ptr_null(cb_db_text(res, 0, 1));
    ck_assert_int_eq(cb_db_int64(res, 0, 1, &n), APR_ENOENT);
    ck_assert_int_eq(cb_db_int64(res, 0, 2, &n), APR_SUCCESS);
    ck_assert(n == -9000000000LL);
    ck_assert(cb_db_is_null(res, 5, 0));
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT 'abc'", 0, NULL, &res), APR_SUCCESS);
    ck_assert_int_eq(cb_db_int64(res, 0, 0, &n), APR_EINVAL);
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT id FROM item WHERE id = ?", 1, args,
                                  &res), APR_SUCCESS);
    ck_assert_int_eq(res->rows, 1);
    args[0] = "8";
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT id FROM item WHERE id = ?", 1, args, &res),
                     APR_SUCCESS);
    ck_assert_int_eq(res->rows, 0);
}
END_TEST

static apr_status_t insert_then(cb_db_tx *tx, void *baton)
{
    static const char *const args[1] = {"5"};
    apr_status_t rv = cb_db_tx_exec(tx, "INSERT INTO ledger (amount) VALUES (?)", 1, args, NULL);
    return rv != APR_SUCCESS ? rv : *(apr_status_t *)baton;
}

START_TEST(transactions_commit_and_roll_back)
{
    static const char *const args[1] = {"1"};
    apr_status_t outcome;
    apr_pool_t *sub;
    cb_db_tx *tx;
    cb_db_result *res;
    exec_ok(db, "CREATE TABLE ledger (amount INTEGER)", 0, NULL);
    ck_assert_int_eq(cb_db_begin(db, pool, &tx), APR_SUCCESS);
    ck_assert_int_eq(cb_db_tx_exec(tx, "INSERT INTO ledger (amount) VALUES (?)", 1, args, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(cb_db_tx_select(tx, "SELECT COUNT(*) FROM ledger", 0, NULL, &res),
                     APR_SUCCESS);
    ck_assert_str_eq(cb_db_text(res, 0, 0), "1");
    ck_assert_int_eq(cb_db_rollback(tx), APR_SUCCESS);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM ledger"), 0);

    ck_assert_int_eq(cb_db_begin(db, pool, &tx), APR_SUCCESS);
    ck_assert_int_eq(cb_db_tx_exec(tx, "INSERT INTO ledger (amount) VALUES (?)", 1, args, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(cb_db_commit(tx), APR_SUCCESS);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM ledger"), 1);

    outcome = APR_EGENERAL;
    ck_assert_int_eq(cb_db_transaction(db, pool, insert_then, &outcome), APR_EGENERAL);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM ledger"), 1);
    outcome = APR_SUCCESS;
    ck_assert_int_eq(cb_db_transaction(db, pool, insert_then, &outcome), APR_SUCCESS);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM ledger"), 2);

    /* A transaction whose pool goes away uncommitted is rolled back. */
    apr_pool_create(&sub, pool);
    ck_assert_int_eq(cb_db_begin(db, sub, &tx), APR_SUCCESS);
    ck_assert_int_eq(cb_db_tx_exec(tx, "INSERT INTO ledger (amount) VALUES (?)", 1, args, NULL),
                     APR_SUCCESS);
    apr_pool_destroy(sub);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM ledger"), 2);
}
END_TEST

static const cb_db_migration schema_v1[] = {
    {1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"},
    {2, "INSERT INTO notes (id, body) VALUES (1, 'seed')"},
};
static const cb_db_migration schema_v2[] = {
    {1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"},
    {2, "INSERT INTO notes (id, body) VALUES (1, 'seed')"},
    {3, "INSERT INTO notes (id, body) VALUES (2, 'later')"},
};

START_TEST(migrations_apply_once)
{
    cb_db *first = open_db(pool, NULL, schema_v1, 2, "notes");
    cb_db *again = open_db(pool, NULL, schema_v1, 2, "notes");
    cb_db *upgraded;
    ck_assert_int_eq(count_rows(again, "SELECT COUNT(*) FROM notes"), 1);
    ck_assert_int_eq(count_rows(first, "SELECT COUNT(*) FROM cb_migrations "
                                       "WHERE plugin = 'notes'"), 2);
    upgraded = open_db(pool, NULL, schema_v2, 3, "notes");
    ck_assert_int_eq(count_rows(upgraded, "SELECT COUNT(*) FROM notes"), 2);
    ck_assert_int_eq(count_rows(upgraded, "SELECT MAX(number) FROM cb_migrations"), 3);
}
END_TEST

START_TEST(migrations_race_between_processes)
{
    int go[2];
    pid_t children[2];
    ck_assert_int_eq(pipe(go), 0);
    for (int i = 0; i < 2; i++) {
        children[i] = fork();
        ck_assert_int_ge(children[i], 0);
        if (children[i] == 0) {
            apr_pool_t *p;
            cb_db_config cfg;
            cb_db *mine;
            char byte;
            close(go[1]);
            if (read(go[0], &byte, 1) != 0)
                _exit(3);
            apr_pool_create(&p, NULL);
            if (cb_db_config_parse(p, line, &cfg) || cb_db_create(p, &cfg, &mine))
                _exit(2);
            cb_db_add_migrations(mine, "notes", schema_v1, 2);
            /* What each httpd child does at start. */
            {
                const char *err = cb_db_child_init(mine, p);
                if (err)
                    fprintf(stderr, "child %d: %s\n", i, err);
                _exit(err ? 1 : 0);
            }
        }
    }
    close(go[0]);
    close(go[1]);   /* both start at once */
    for (int i = 0; i < 2; i++) {
        int status;
        ck_assert_int_eq(waitpid(children[i], &status, 0), children[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "migrating process %d failed (status %d)", i, status);
    }
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM notes"), 1);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM cb_migrations"), 2);
}
END_TEST

START_TEST(statement_timeout)
{
    cb_db_result *res;
    apr_status_t rv;
    if (use_pgsql) {
        rv = cb_db_select(db, pool, "SELECT pg_sleep(5)", 0, NULL, &res);
        ck_assert_msg(rv == CB_DB_ETIMEOUT, "got %d: %s", rv, cb_db_last_error(db));
    } else {
        /* Another connection holds the write lock past busy_timeout. */
        cb_db *other = open_db(pool, "timeout=200ms", NULL, 0, NULL);
        cb_db_tx *holder;
        exec_ok(db, "CREATE TABLE t (x INTEGER)", 0, NULL);
        ck_assert_int_eq(cb_db_begin(other, pool, &holder), APR_SUCCESS);
        rv = cb_db_exec(db, pool, "INSERT INTO t (x) VALUES (1)", 0, NULL, NULL);
        ck_assert_msg(rv == CB_DB_ETIMEOUT, "got %d: %s", rv, cb_db_last_error(db));
        ck_assert_int_eq(cb_db_rollback(holder), APR_SUCCESS);
    }
    /* The database stays up and the next statement works. */
    ck_assert(cb_db_available(db));
    ck_assert(cb_db_ping(db, pool));
}
END_TEST

START_TEST(pool_reuses_connections)
{
    /* A temporary table lives in one session: it is visible again only
     * when the same connection comes back from the pool. */
    exec_ok(db, "CREATE TEMPORARY TABLE mine (x INTEGER)", 0, NULL);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM mine"), 0);
}
END_TEST

START_TEST(many_distinct_statements)
{
    /* More SQL texts than a connection's statement cache holds (128): the
     * connection is retired and replaced, every answer stays right. */
    for (int i = 0; i < 300; i++) {
        char sql[64];
        cb_db_result *res;
        int64_t n = -1;
        snprintf(sql, sizeof(sql), "SELECT %d + ?", i);
        {
            const char *args[1] = {"1"};
            ck_assert_int_eq(cb_db_select(db, pool, sql, 1, args, &res), APR_SUCCESS);
        }
        ck_assert_int_eq(cb_db_int64(res, 0, 0, &n), APR_SUCCESS);
        ck_assert_int_eq(n, i + 1);
    }
}
END_TEST

/* A plugin's create() registering its schema through the context: refused
 * without a database or with bad numbering; otherwise applied lazily before
 * the first query of a process whose child init ran before registration. */
START_TEST(plugin_migrations_through_ctx)
{
    static const cb_db_migration bad[] = {{2, "SELECT 1"}, {1, "SELECT 1"}, {0, NULL}};
    static const cb_db_migration good[] = {
        {1, "CREATE TABLE plugged (x INTEGER)"},
        {2, "INSERT INTO plugged (x) VALUES (42)"},
        {0, NULL}};
    cb_plugin desc = {0};
    cb_loaded_plugin loaded = {0};
    cb_env env = {0};
    cb_instance inst = {0};
    cb_plugin_ctx ctx = {0};
    desc.name = "plugged";
    loaded.desc = &desc;
    inst.plugin = &loaded;
    inst.env = &env;
    ctx.instance = &inst;
    ctx.pool = pool;
    ctx.errors = apr_array_make(pool, 2, sizeof(const char *));
    cb_ctx_db_migrations(&ctx, good, -1);
    ck_assert_int_eq(ctx.errors->nelts, 1);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(ctx.errors, 0, const char *),
                                 "add CloudBaseDatabase"));
    env.db = db;
    ck_assert_ptr_eq(cb_ctx_db(&ctx), db);
    cb_ctx_db_migrations(&ctx, bad, -1);
    ck_assert_int_eq(ctx.errors->nelts, 2);
    cb_ctx_db_migrations(&ctx, good, -1);
    ck_assert_int_eq(ctx.errors->nelts, 2);
    /* Not applied yet: the first query applies them. */
    ck_assert_int_eq(count_rows(db, "SELECT x FROM plugged"), 42);
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM cb_migrations WHERE plugin = 'plugged'"),
                     2);
}
END_TEST

/* ---------------------------------------------------------------- down */

START_TEST(breaker_fails_fast_and_recovers)
{
    cb_db_result *res;
    apr_time_t deadline;
    int recovered = 0;
    ck_assert(cb_db_ping(db, pool));
    srv_pg_stop(&pg);
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT 1", 0, NULL, &res), CB_DB_EDOWN);
    /* The breaker is open: calls fail at once without the network. */
    ck_assert(!cb_db_available(db));
    ck_assert_int_eq(cb_db_exec(db, pool, "SELECT 1", 0, NULL, NULL), CB_DB_EDOWN);
    ck_assert(!cb_db_ping(db, pool));
    ck_assert_int_eq(srv_pg_start(&pg), 0);
    /* Back within the capped window (1 s) plus slack for a loaded machine. */
    deadline = apr_time_now() + apr_time_from_sec(6);
    while (!recovered && apr_time_now() < deadline) {
        recovered = cb_db_select(db, pool, "SELECT 1", 0, NULL, &res) == APR_SUCCESS;
        if (!recovered)
            apr_sleep(apr_time_from_msec(50));
    }
    ck_assert_msg(recovered, "no recovery after restart: %s", cb_db_last_error(db));
    fprintf(stderr, "db: first successful query %.0f ms after PostgreSQL accepted sessions\n",
            (double)(apr_time_now() - (deadline - apr_time_from_sec(6))) / 1000.0);
    ck_assert(cb_db_available(db));
}
END_TEST

/* ---------------------------------------------------------------- config */

START_TEST(config_parsing)
{
    cb_db_config cfg;
    apr_pool_t *p;
    const char *err;
    apr_pool_create(&p, NULL);
    ck_assert_ptr_null(cb_db_config_parse(p, "sqlite3:/var/lib/cloudbase/site.db timeout=2s "
                                             "pool=4 retry=500ms connect_timeout=1s", &cfg));
    ck_assert_str_eq(cfg.driver, "sqlite3");
    ck_assert_str_eq(cfg.params, "/var/lib/cloudbase/site.db");
    ck_assert_int_eq(cfg.statement_timeout_ms, 2000);
    ck_assert_int_eq(cfg.connect_timeout_ms, 1000);
    ck_assert_int_eq(cfg.retry_interval_ms, 500);
    ck_assert_int_eq(cfg.pool_size, 4);
    setenv("CB_TEST_PGPASS", "s3cret pw", 1);
    ck_assert_ptr_null(cb_db_config_parse(p, "pgsql:host=10.0.0.5 dbname=site user=gw "
                                             "password=env:CB_TEST_PGPASS timeout=1s", &cfg));
    ck_assert_str_eq(cfg.driver, "pgsql");
    ck_assert_str_eq(cfg.params, "host=10.0.0.5 dbname=site user=gw password='s3cret pw'");
    ck_assert_ptr_null(strstr(cfg.display, "s3cret"));
    ck_assert_int_eq(cfg.statement_timeout_ms, 1000);
    ck_assert_ptr_null(cb_db_config_parse(p, "\"pgsql:host=h dbname=d\" pool=2", &cfg));
    ck_assert_str_eq(cfg.params, "host=h dbname=d");
    ck_assert_int_eq(cfg.pool_size, 2);
    ck_assert_ptr_nonnull(err = cb_db_config_parse(p, "", &cfg));
    ck_assert_ptr_nonnull(strstr(err, "sqlite3:"));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "sqlite3:relative.db", &cfg));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "oracle:x", &cfg));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "/var/db.sqlite", &cfg));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "sqlite3:/a.db pool=0", &cfg));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "sqlite3:/a.db timeout=0", &cfg));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "sqlite3:/a.db colour=blue", &cfg));
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "pgsql:host=h", &cfg));  /* no dbname */
    ck_assert_ptr_nonnull(cb_db_config_parse(p, "pgsql:host=h dbname=d junk", &cfg));
    err = cb_db_config_parse(p, "pgsql:dbname=d password=hunter2 timeout=x", &cfg);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "hunter2"));
    apr_pool_destroy(p);
}
END_TEST

START_TEST(placeholder_translation)
{
    apr_pool_t *p;
    int n;
    apr_pool_create(&p, NULL);
    ck_assert_str_eq(cb_db_sql_translate(p, "SELECT ? , '?', \"a?\", 5 % 2, ?", &n),
                     "SELECT %s , '?', \"a?\", 5 %% 2, %s");
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(cb_db_sql_translate(p, "SELECT 'it''s ?', ?", &n),
                     "SELECT 'it''s ?', %s");
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_null(cb_db_sql_translate(p, "SELECT 'open", &n));
    apr_pool_destroy(p);
}
END_TEST

/* A statement cached on a connection still runs after DDL changed the
 * schema on that connection, in a transaction too (the model plugin adds
 * columns at run time): SQLite reports the stale statement as a bare error. */
static apr_status_t select_then_alter(cb_db_tx *tx, void *baton)
{
    cb_db_result *res;
    apr_status_t rv;
    const char *args[] = {"t"};
    (void)baton;
    if ((rv = cb_db_tx_select(tx, "SELECT COUNT(*) FROM notes WHERE tag = ?", 1, args, &res)))
        return rv;
    if ((rv = cb_db_tx_exec(tx, "ALTER TABLE notes ADD COLUMN extra TEXT", 0, NULL, NULL)) ||
        (rv = cb_db_tx_exec(tx, "CREATE INDEX notes_extra ON notes (extra)", 0, NULL, NULL)))
        return rv;
    return cb_db_tx_select(tx, "SELECT COUNT(*) FROM notes WHERE tag = ?", 1, args, &res);
}

START_TEST(cached_statement_after_ddl)
{
    const char *args[] = {"t"};
    cb_db_result *res;
    exec_ok(db, "CREATE TABLE notes (tag TEXT)", 0, NULL);
    exec_ok(db, "INSERT INTO notes (tag) VALUES (?)", 1, args);
    ck_assert_int_eq(cb_db_select(db, pool, "SELECT COUNT(*) FROM notes WHERE tag = ?", 1, args,
                                  &res), APR_SUCCESS);
    ck_assert_msg(cb_db_transaction(db, pool, select_then_alter, NULL) == APR_SUCCESS, "%s",
                  cb_db_last_error(db));
    exec_ok(db, "CREATE INDEX notes_tag ON notes (tag)", 0, NULL);
    ck_assert_msg(cb_db_select(db, pool, "SELECT COUNT(*) FROM notes WHERE tag = ?", 1, args,
                               &res) == APR_SUCCESS, "%s", cb_db_last_error(db));
    ck_assert_int_eq(count_rows(db, "SELECT COUNT(*) FROM notes"), 1);
}
END_TEST

/* Many threads of one process writing at once, in transactions and
 * alone. On SQLite the driver serialises a process's calls under one lock:
 * a writer that waited for the write lock inside it held back the thread
 * that had the write lock for a whole busy_timeout (5 s here), then the
 * driver slept 0.75 s and tried again. Every write must succeed; before the
 * fix this workload took about a minute and ran into the tcase's timeout. */
#define WRITER_THREADS 8
#define WRITES_PER_THREAD 60
/* timeout=5s: a turn may wait for the 7 other writers' transactions, which
 * take long in a sanitizer build on a busy machine */
static cb_db *concurrent_db;

/* data: the thread's failure count (the thread returns without
 * apr_thread_exit, whose pthread_exit trips ASan at thread exit) */
static void *APR_THREAD_FUNC concurrent_writer(apr_thread_t *thread, void *data)
{
    int *failures_out = data, failures = 0;
    cb_db *writers_db = concurrent_db;
    apr_pool_t *tp;
    (void)thread;
    apr_pool_create(&tp, NULL);
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        static const char *const one[1] = {"1"};
        cb_db_tx *tx;
        cb_db_result *res;
        apr_pool_clear(tp);
        if (i % 2 == 0) {
            failures += cb_db_exec(writers_db, tp, "INSERT INTO ledger (amount) VALUES (?)", 1,
                                   one, NULL) != APR_SUCCESS;
            continue;
        }
        if (cb_db_begin(writers_db, tp, &tx) != APR_SUCCESS) {
            failures++;
            continue;
        }
        failures += cb_db_tx_exec(tx, "INSERT INTO ledger (amount) VALUES (?)", 1, one, NULL) !=
                    APR_SUCCESS;
        failures += cb_db_tx_select(tx, "SELECT COUNT(*) FROM ledger", 0, NULL, &res) !=
                    APR_SUCCESS;
        failures += cb_db_commit(tx) != APR_SUCCESS;
    }
    apr_pool_destroy(tp);
    *failures_out = failures;
    return NULL;
}

START_TEST(concurrent_writers_in_one_process)
{
    apr_thread_t *threads[WRITER_THREADS];
    int thread_failures[WRITER_THREADS] = {0}, failures = 0;
    concurrent_db = open_db(pool, "timeout=5s", NULL, 0, NULL);
    exec_ok(concurrent_db, "CREATE TABLE ledger (amount INTEGER)", 0, NULL);
    for (int i = 0; i < WRITER_THREADS; i++)
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, concurrent_writer,
                                           &thread_failures[i], pool),
                         APR_SUCCESS);
    for (int i = 0; i < WRITER_THREADS; i++) {
        apr_status_t ignored;
        apr_thread_join(&ignored, threads[i]);
        failures += thread_failures[i];
    }
    ck_assert_msg(failures == 0, "%d writes failed (last error: %s)", failures,
                  cb_db_last_error(concurrent_db));
    ck_assert_int_eq(count_rows(concurrent_db, "SELECT COUNT(*) FROM ledger"),
                     WRITER_THREADS * WRITES_PER_THREAD);
}
END_TEST

static void add_shared_tests(TCase *tc)
{
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bound_parameters_stay_data);
    tcase_add_test(tc, typed_rows_and_nulls);
    tcase_add_test(tc, transactions_commit_and_roll_back);
    tcase_add_test(tc, migrations_apply_once);
    tcase_add_test(tc, migrations_race_between_processes);
    tcase_add_test(tc, statement_timeout);
    tcase_add_test(tc, pool_reuses_connections);
    tcase_add_test(tc, many_distinct_statements);
    tcase_add_test(tc, plugin_migrations_through_ctx);
    tcase_add_test(tc, cached_statement_after_ddl);
    tcase_add_test(tc, concurrent_writers_in_one_process);
}

Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *config = tcase_create("config");
    TCase *sqlite = tcase_create("sqlite");
    TCase *pgsql = tcase_create("pgsql");
    TCase *down = tcase_create("pgsql_down");
    tcase_add_test(config, config_parsing);
    tcase_add_test(config, placeholder_translation);
    suite_add_tcase(s, config);
    tcase_add_unchecked_fixture(sqlite, sqlite_mode, NULL);
    add_shared_tests(sqlite);
    suite_add_tcase(s, sqlite);
    tcase_add_unchecked_fixture(pgsql, pg_up, pg_down);
    add_shared_tests(pgsql);
    suite_add_tcase(s, pgsql);
    tcase_add_unchecked_fixture(down, pg_up, pg_down);
    tcase_add_checked_fixture(down, setup, teardown);
    tcase_set_timeout(down, 90);
    tcase_add_test(down, breaker_fails_fast_and_recovers);
    suite_add_tcase(s, down);
    return s;
}
