/*
 * ledger_db.c: the ledger's durable copy in the database service. A
 * background task, on the one node that holds the lease "wallet-ledger",
 * reads the entries after the last one the database has (ids are dense:
 * 1, 2, 3...) and inserts them in one transaction per batch. An insert of
 * an id already there does nothing, so a copy that runs twice (a lapsed
 * lease, a retry after a failed commit) writes each entry once.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/db.h"
#include "cloudbase/lease.h"
#include "cloudbase/log.h"
#include "wallet.h"

#define COPY_BATCH 500
#define COPY_LEASE_MS 30000
#define COPY_ROUNDS 20   /* batches per run at most, so the lease never lapses mid-run */

const cb_db_migration wallet_migrations[] = {
    {1, "CREATE TABLE wallet_ledger (env VARCHAR(64) NOT NULL, id BIGINT NOT NULL, "
        "type VARCHAR(16) NOT NULL, amount BIGINT NOT NULL, balance_after BIGINT NOT NULL, "
        "request_id VARCHAR(128), route TEXT, description TEXT, created_at BIGINT NOT NULL, "
        "PRIMARY KEY (env, id))"},
    /* the plugin whose route a metered call was, for usage totals by plugin */
    {2, "ALTER TABLE wallet_ledger ADD COLUMN plugin VARCHAR(64)"},
    {0, NULL}
};

static const char insert_sql[] =
    "INSERT INTO wallet_ledger (env, id, type, amount, balance_after, request_id, route, "
    "description, created_at, plugin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING";
static const char insert_sql_mysql[] =
    "INSERT IGNORE INTO wallet_ledger (env, id, type, amount, balance_after, request_id, "
    "route, description, created_at, plugin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char *num(apr_pool_t *p, int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

typedef struct copy_batch {
    wallet_plugin *w;
    const apr_array_header_t *entries;
    apr_pool_t *pool;
} copy_batch;

static apr_status_t insert_batch(cb_db_tx *tx, void *baton)
{
    copy_batch *b = baton;
    const char *sql = strcmp(cb_db_driver(b->w->db), "mysql") == 0 ? insert_sql_mysql
                                                                    : insert_sql;
    for (int i = 0; i < b->entries->nelts; i++) {
        const wallet_entry *e = &APR_ARRAY_IDX(b->entries, i, wallet_entry);
        const char *args[10] = {b->w->env, num(b->pool, e->id), e->type,
                                num(b->pool, e->amount), num(b->pool, e->balance_after),
                                e->request_id, e->route, e->description,
                                num(b->pool, e->time_ms), e->plugin};
        apr_status_t rv = cb_db_tx_exec(tx, sql, 10, args, NULL);
        if (rv != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* The highest id the database holds for this environment (0: none). */
static apr_status_t last_copied(wallet_plugin *w, apr_pool_t *p, int64_t *last)
{
    const char *args[1] = {w->env};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(w->db, p, "SELECT MAX(id) FROM wallet_ledger WHERE env = ?",
                                   1, args, &res);
    *last = 0;
    if (rv != APR_SUCCESS)
        return rv;
    if (res->rows == 1 && !cb_db_is_null(res, 0, 0))
        return cb_db_int64(res, 0, 0, last);
    return APR_SUCCESS;
}

apr_status_t wallet_db_entries(wallet_plugin *w, apr_pool_t *p, int64_t from, int64_t to,
                               apr_array_header_t *entries)
{
    int newest_first = from > to;
    const char *args[3] = {w->env, num(p, newest_first ? to : from),
                           num(p, newest_first ? from : to)};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(
        w->db, p, newest_first
            ? "SELECT id, type, amount, balance_after, request_id, route, plugin, description, "
              "created_at FROM wallet_ledger WHERE env = ? AND id BETWEEN ? AND ? ORDER BY id DESC"
            : "SELECT id, type, amount, balance_after, request_id, route, plugin, description, "
              "created_at FROM wallet_ledger WHERE env = ? AND id BETWEEN ? AND ? ORDER BY id",
        3, args, &res);
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = 0; i < res->rows; i++) {
        wallet_entry e = {.type = cb_db_text(res, i, 1),
                          .request_id = cb_db_text(res, i, 4),
                          .route = cb_db_text(res, i, 5),
                          .plugin = cb_db_text(res, i, 6),
                          .description = cb_db_text(res, i, 7)};
        if (cb_db_int64(res, i, 0, &e.id) || cb_db_int64(res, i, 2, &e.amount) ||
            cb_db_int64(res, i, 3, &e.balance_after) || cb_db_int64(res, i, 8, &e.time_ms) ||
            !e.type)
            return APR_EGENERAL;
        APR_ARRAY_PUSH(entries, wallet_entry) = e;
    }
    return APR_SUCCESS;
}

/* All but the newest redis_ledger_keep of the entries the database holds
 * leave Redis. */
static void trim_copied(wallet_plugin *w, apr_pool_t *p)
{
    int64_t last, trimmed;
    if (last_copied(w, p, &last) != APR_SUCCESS ||
        wallet_trimmed_through(w, p, &trimmed) != WALLET_OK ||
        last - w->redis_ledger_keep <= trimmed)
        return;
    if (wallet_trim(w, p, last - w->redis_ledger_keep) != WALLET_OK)
        cb_log(CB_LOG_WARNING, "wallet: the ledger of %s could not be trimmed in Redis; it is "
               "tried again after the next copy", w->env);
}

int wallet_copy_ledger(wallet_plugin *w, apr_pool_t *p, int max)
{
    apr_array_header_t *entries;
    int64_t last;
    copy_batch b;
    if (!w->db || last_copied(w, p, &last) != APR_SUCCESS)
        return -1;
    if (wallet_entries_from(w, p, last + 1, max, &entries) != WALLET_OK)
        return -1;
    if (entries->nelts == 0)
        return 0;
    b.w = w;
    b.entries = entries;
    b.pool = p;
    if (cb_db_transaction(w->db, p, insert_batch, &b) != APR_SUCCESS)
        return -1;
    return entries->nelts;
}

void wallet_copy_task(void *state, apr_pool_t *scratch)
{
    wallet_plugin *w = state;
    cb_lease lease;
    int n = 0, round;
    cb_lease_init(&lease, w->env, "wallet-ledger", w->holder);
    if (cb_lease_acquire(w->redis, scratch, &lease, COPY_LEASE_MS) != APR_SUCCESS)
        return;
    for (round = 0; round < COPY_ROUNDS; round++) {
        n = wallet_copy_ledger(w, scratch, COPY_BATCH);
        if (n < COPY_BATCH)
            break;
    }
    if (n >= 0)
        trim_copied(w, scratch);
    if (n < 0)
        cb_log(CB_LOG_WARNING, "wallet: the ledger of %s could not be copied to the database "
               "(%s); it stays in Redis and the copy resumes where it stopped",
               w->env, cb_db_available(w->db) ? "Redis unreachable or a statement failed"
                                                : "the database is unreachable");
    cb_lease_release(w->redis, scratch, &lease);
}
