/*
 * voids.c: reservations whose answer never came back. When the reserve
 * script's reply is lost (Redis answered after the command timeout, or the
 * connection broke), the call is refused with 503, but the script may
 * have run and charged it. The policy then voids the decision at once
 * (wallet_void: a refund if it was charged, and a mark that makes a
 * reserve still on its way refuse). A void that cannot reach Redis either
 * waits here, in this process (background tasks run in one process of a
 * node, so the list is retried where it lives): the next requests of this
 * process try it again, at most every WALLET_VOID_RETRY_EVERY_MS, and so
 * does the task when this is the task's process, for WALLET_VOID_RETRY_MS;
 * the child's exit tries once more. A void given up, or that finds no room
 * here, is logged with its decision for a manual check. See
 * docs/plugins/wallet.md, "When Redis or the database is down".
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/log.h"
#include "wallet.h"

static apr_status_t flush_at_exit(void *data)
{
    wallet_plugin *w = data;
    apr_pool_t *p;
    if (w->void_count == 0 || apr_pool_create(&p, NULL) != APR_SUCCESS)
        return APR_SUCCESS;
    wallet_voids_flush(w, p, 1);
    for (int i = 0; i < w->void_count; i++)
        cb_log(CB_LOG_ERR, "wallet: request %s (decision %s) in %s may have been charged while "
               "Redis did not answer, and the process exits before Redis came back; check the "
               "ledger for a usage entry with that decision", w->voids[i].request_id,
               w->voids[i].decision_id, w->env);
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

apr_status_t wallet_voids_init(wallet_plugin *w, apr_pool_t *child_pool)
{
    apr_status_t rv;
    w->void_count = 0;
    apr_atomic_set32(&w->voids_pending, 0);
    w->voids_tried_ms = 0;
    rv = apr_thread_mutex_create(&w->voids_lock, APR_THREAD_MUTEX_DEFAULT, child_pool);
    if (rv == APR_SUCCESS)
        apr_pool_cleanup_register(child_pool, w, flush_at_exit, apr_pool_cleanup_null);
    return rv;
}

static int64_t now_ms(void)
{
    return (int64_t)apr_time_as_msec(apr_time_now());
}

/* Tries once: 1 done (voided, nothing to void, or not found and logged),
 * 0 Redis cannot be reached. */
static int try_void(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                    int64_t reserved_ms, const char *request_id)
{
    int64_t refunded = 0;
    wallet_result r = wallet_void(w, p, decision_id, reserved_ms, &refunded);
    if (r == WALLET_DOWN)
        return 0;
    if (r == WALLET_NOT_FOUND)
        cb_log(CB_LOG_ERR, "wallet: the reservation of request %s (decision %s) in %s could not "
               "be voided: its ledger entry was not among the newest; check the ledger for a "
               "usage entry with that decision", request_id, decision_id, w->env);
    else if (refunded > 0)
        cb_log(CB_LOG_WARNING, "wallet: request %s in %s was refused after Redis did not answer "
               "in time, but its reservation had been written: %" APR_INT64_T_FMT
               " given back", request_id, w->env, refunded);
    return 1;
}

void wallet_void_or_retry(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                          int64_t reserved_ms, const char *request_id)
{
    wallet_pending_void *v;
    if (try_void(w, p, decision_id, reserved_ms, request_id))
        return;
    apr_thread_mutex_lock(w->voids_lock);
    if (w->void_count == WALLET_VOID_PENDING) {
        apr_thread_mutex_unlock(w->voids_lock);
        cb_log(CB_LOG_ERR, "wallet: request %s (decision %s) in %s may have been charged while "
               "Redis did not answer, and too many voids wait already; check the ledger for a "
               "usage entry with that decision", request_id, decision_id, w->env);
        return;
    }
    v = &w->voids[w->void_count++];
    apr_cpystrn(v->decision_id, decision_id, sizeof(v->decision_id));
    apr_cpystrn(v->request_id, request_id, sizeof(v->request_id));
    v->reserved_ms = reserved_ms;
    apr_atomic_set32(&w->voids_pending, (apr_uint32_t)w->void_count);
    apr_thread_mutex_unlock(w->voids_lock);
}

void wallet_voids_task(void *state, apr_pool_t *scratch)
{
    wallet_voids_flush(state, scratch, 1);
}

void wallet_voids_flush(wallet_plugin *w, apr_pool_t *p, int force)
{
    wallet_pending_void batch[WALLET_VOID_PENDING];
    int n, kept = 0;
    int64_t now = now_ms();
    if (!w->voids_lock)
        return;
    /* taken out, so no request waits on the lock while Redis is asked */
    apr_thread_mutex_lock(w->voids_lock);
    if (!force && now - w->voids_tried_ms < WALLET_VOID_RETRY_EVERY_MS) {
        apr_thread_mutex_unlock(w->voids_lock);
        return;
    }
    w->voids_tried_ms = now;
    n = w->void_count;
    memcpy(batch, w->voids, sizeof(batch[0]) * (size_t)n);
    w->void_count = 0;
    apr_atomic_set32(&w->voids_pending, 0);
    apr_thread_mutex_unlock(w->voids_lock);
    for (int i = 0; i < n; i++) {
        const wallet_pending_void *v = &batch[i];
        if (try_void(w, p, v->decision_id, v->reserved_ms, v->request_id))
            continue;
        if (now_ms() - v->reserved_ms > WALLET_VOID_RETRY_MS) {
            cb_log(CB_LOG_ERR, "wallet: request %s (decision %s) in %s may have been charged "
                   "while Redis did not answer, and Redis stayed out of reach; check the ledger "
                   "for a usage entry with that decision", v->request_id, v->decision_id, w->env);
            continue;
        }
        batch[kept++] = *v;
    }
    if (kept == 0)
        return;
    apr_thread_mutex_lock(w->voids_lock);
    for (int i = 0; i < kept && w->void_count < WALLET_VOID_PENDING; i++)
        w->voids[w->void_count++] = batch[i];
    apr_atomic_set32(&w->voids_pending, (apr_uint32_t)w->void_count);
    apr_thread_mutex_unlock(w->voids_lock);
}
