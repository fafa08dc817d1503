/*
 * reconcile.c: the proof that the money adds up, for the admin route
 * GET /api/workspaces/{slug}/wallet/reconcile and the cloudbase-wallet
 * tool. It reads the whole ledger (the entries trimmed from Redis from
 * the database's copy, the rest from Redis in batches) and checks that
 * the ids are dense (1..seq), that each entry's balance_after is the one
 * before plus its amount, and that the balance equals the sum; then it
 * compares the database's copy entry by entry (type, amount, balance
 * after). Entries Redis has and the database not yet are "not yet copied"
 * (the copier's lag), not a difference; an entry the database has and
 * Redis lacks is one: Redis lost it. Every difference is named.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/db.h"
#include "cloudbase/json.h"
#include "wallet.h"

#define RECONCILE_BATCH 1000
#define MAX_NAMED 50        /* differences listed; the count is always exact */

typedef struct reconcile {
    apr_pool_t *pool;
    cb_json *differences;
    int64_t count;
} reconcile;

static void differ(reconcile *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void differ(reconcile *r, const char *fmt, ...)
{
    va_list ap;
    if (r->count++ >= MAX_NAMED)
        return;
    va_start(ap, fmt);
    cb_json_append_string(r->differences, apr_pvsprintf(r->pool, fmt, ap));
    va_end(ap);
}

/* The database's copy, as arrays by id - first (ids past what Redis has
 * are reported at once). */
static apr_status_t compare_copy(wallet_plugin *w, apr_pool_t *p, reconcile *r,
                                 const apr_array_header_t *all, int64_t *copied)
{
    const char *args[1] = {w->env};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(w->db, p, "SELECT id, type, amount, balance_after FROM "
                                   "wallet_ledger WHERE env = ? ORDER BY id", 1, args, &res);
    int64_t expect = 1;
    *copied = 0;
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = 0; i < res->rows; i++) {
        int64_t id, amount, after;
        const char *type = cb_db_text(res, i, 1);
        const wallet_entry *e;
        if (cb_db_int64(res, i, 0, &id) || cb_db_int64(res, i, 2, &amount) ||
            cb_db_int64(res, i, 3, &after) || !type) {
            differ(r, "a row of the database's copy cannot be read");
            continue;
        }
        if (id != expect)
            differ(r, "the database's copy lacks entries %" APR_INT64_T_FMT " to %"
                   APR_INT64_T_FMT, expect, id - 1);
        expect = id + 1;
        (*copied)++;
        if (id < 1 || id > all->nelts) {
            differ(r, "entry %" APR_INT64_T_FMT " (%s %" APR_INT64_T_FMT ") is in the "
                   "database but not in Redis: Redis lost it", id, type, amount);
            continue;
        }
        e = &APR_ARRAY_IDX(all, id - 1, wallet_entry);
        if (strcmp(e->type, type) != 0 || e->amount != amount || e->balance_after != after)
            differ(r, "entry %" APR_INT64_T_FMT " differs: Redis has %s %" APR_INT64_T_FMT
                   " (balance %" APR_INT64_T_FMT "), the database %s %" APR_INT64_T_FMT
                   " (balance %" APR_INT64_T_FMT ")", id, e->type, e->amount,
                   e->balance_after, type, amount, after);
    }
    return APR_SUCCESS;
}

/* One entry, in ledger order, into the running checks; `where` names the
 * ledger it was read from. */
static void take(reconcile *r, apr_array_header_t *all, const wallet_entry *e, const char *where,
                 int64_t *sum, int64_t *running)
{
    int64_t want = (int64_t)all->nelts + 1;
    if (e->id != want)
        differ(r, "the ledger in %s lacks entries %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
               where, want, e->id - 1);
    while ((int64_t)all->nelts + 1 < e->id) /* keep the index = id - 1 */
        APR_ARRAY_PUSH(all, wallet_entry) = (wallet_entry){.type = "missing"};
    *sum += e->amount;
    *running += e->amount;
    if (e->balance_after != *running)
        differ(r, "entry %" APR_INT64_T_FMT " says the balance became %" APR_INT64_T_FMT
               ", but the entries up to it sum to %" APR_INT64_T_FMT,
               e->id, e->balance_after, *running);
    *running = e->balance_after; /* name each break once */
    APR_ARRAY_PUSH(all, wallet_entry) = *e;
}

wallet_result wallet_reconcile(wallet_plugin *w, apr_pool_t *p, cb_json **report)
{
    reconcile r = {.pool = p, .differences = cb_json_new_array(p)};
    apr_array_header_t *all = apr_array_make(p, 64, sizeof(wallet_entry));
    int64_t balance, threshold, trimmed, sum = 0, running = 0, copied = 0;
    cb_json *out;
    if (wallet_read(w, p, &balance, &threshold) != WALLET_OK ||
        wallet_trimmed_through(w, p, &trimmed) != WALLET_OK)
        return WALLET_DOWN;
    /* entries trimmed from Redis are read from the database's copy */
    if (trimmed > 0 && !w->db)
        differ(&r, "entries 1 to %" APR_INT64_T_FMT " were trimmed from Redis, but there is "
               "no database to read them from", trimmed);
    if (trimmed > 0 && w->db) {
        apr_array_header_t *old = apr_array_make(p, 64, sizeof(wallet_entry));
        if (wallet_db_entries(w, p, 1, trimmed, old) != APR_SUCCESS)
            return WALLET_DOWN;
        for (int i = 0; i < old->nelts; i++)
            take(&r, all, &APR_ARRAY_IDX(old, i, wallet_entry), "the database", &sum, &running);
        if ((int64_t)all->nelts < trimmed)
            differ(&r, "the database lacks entries %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT
                   ", which were trimmed from Redis", (int64_t)all->nelts + 1, trimmed);
        while ((int64_t)all->nelts < trimmed)
            APR_ARRAY_PUSH(all, wallet_entry) = (wallet_entry){.type = "missing"};
    }
    for (;;) {
        apr_array_header_t *batch;
        if (wallet_entries_from(w, p, (int64_t)all->nelts + 1, RECONCILE_BATCH, &batch) !=
            WALLET_OK)
            return WALLET_DOWN;
        for (int i = 0; i < batch->nelts; i++)
            take(&r, all, &APR_ARRAY_IDX(batch, i, wallet_entry), "Redis", &sum, &running);
        if (batch->nelts < RECONCILE_BATCH)
            break;
    }
    if (sum != balance)
        differ(&r, "the balance is %" APR_INT64_T_FMT " but the ledger sums to %"
               APR_INT64_T_FMT " (difference %" APR_INT64_T_FMT ")", balance, sum,
               balance - sum);
    if (w->db && compare_copy(w, p, &r, all, &copied) != APR_SUCCESS)
        return WALLET_DOWN;
    out = cb_json_new_object(p);
    cb_json_set_bool(out, "ok", r.count == 0);
    cb_json_set_int(out, "balance", balance);
    cb_json_set_int(out, "ledger_sum", sum);
    cb_json_set_int(out, "entries", all->nelts);
    cb_json_set_int(out, "trimmed_from_redis", trimmed);
    if (w->db) {
        cb_json_set_int(out, "copied", copied);
        cb_json_set_int(out, "not_yet_copied",
                        copied < all->nelts ? (int64_t)all->nelts - copied : 0);
    } else {
        cb_json_set_null(out, "copied");
        cb_json_set_null(out, "not_yet_copied");
    }
    cb_json_set_int(out, "difference_count", r.count);
    cb_json_set(out, "differences", r.differences);
    *report = out;
    return WALLET_OK;
}
