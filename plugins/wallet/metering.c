/*
 * metering.c: reserve and settle. The access policy matches the request's
 * path against the `meter` lines (first match wins); a metered call
 * reserves its most (the N/call price, or the cap of a usage price) in one
 * Redis script before the handler runs, and is refused with 402 in the
 * route's dialect when the balance is short (503 when Redis cannot be
 * reached: metered routes fail closed). Free routes never touch Redis.
 * An N/call price is final when reserved: only an answer that is not paid
 * (4xx, 5xx) is refunded after it. A usage price reserves its cap under a
 * hold: after the answer, the cost is read from the metering record and
 * the rest is given back, once per hold (an N/1k-tokens price reads the
 * tokens from the answer's usage, which the host scans as it passes). A hold whose settlement never
 * came (the process died, Redis was down then) is settled at its full
 * amount by the sweeper task, under a lease. A reservation whose answer
 * was lost (Redis slow or the connection broken) is voided (voids.c).
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/lease.h"
#include "cloudbase/log.h"
#include "wallet.h"

#define SWEEP_BATCH 200
#define SWEEP_LEASE_MS 30000

/* What the policy hands to after_response through the data slot. */
typedef struct wallet_hold {
    const wallet_meter *meter;
    const char *id;
} wallet_hold;

static const wallet_meter *find_meter(const wallet_plugin *w, const char *path)
{
    for (int i = 0; i < w->meters->nelts; i++) {
        const wallet_meter *m = &APR_ARRAY_IDX(w->meters, i, wallet_meter);
        if (wallet_meter_matches(m, path))
            return m;
    }
    return NULL;
}

/* The wallet's own routes are never metered: a wallet that is empty must
 * still take a top-up. */
static int is_wallet_route(const wallet_plugin *w, const char *path)
{
    return wallet_meter_matches(&w->own_routes[0], path) ||
           wallet_meter_matches(&w->own_routes[1], path);
}

cb_status wallet_access_policy(cb_req *req, void *state)
{
    wallet_plugin *w = state;
    apr_pool_t *p;
    const wallet_meter *m;
    wallet_hold *hold;
    int64_t balance, alert_entry, reserved_ms;
    int sent;
    wallet_result r;
    if (apr_atomic_read32(&w->voids_pending)) /* voids of this process wait for Redis */
        wallet_voids_flush(w, cb_req_pool(req), 0);
    if (w->meters->nelts == 0 || !(m = find_meter(w, cb_req_path(req))) ||
        is_wallet_route(w, cb_req_path(req)))
        return CB_OK;
    p = cb_req_pool(req);
    hold = apr_palloc(p, sizeof(*hold));
    hold->meter = m;
    /* not the request id: a client may send its own X-Request-Id, twice */
    hold->id = cb_random_hex(p, 16); /* the decision's id (the hold's, when held) */
    reserved_ms = (int64_t)apr_time_as_msec(apr_time_now());
    /* with Redis's breaker open the script is not even sent: nothing to void */
    sent = cb_redis_available(w->redis);
    /* an N/call price is known now: no hold to settle, a refund only for
     * an answer that is not paid (one round trip per paid call) */
    r = wallet_reserve(w, p, hold->id, m->cap, cb_req_id(req), cb_req_path(req),
                       cb_req_route_plugin(req), m->unit != WALLET_PER_CALL, &balance, &alert_entry);
    if (r == WALLET_SHORT) {
        cb_req_send_error_code(req, "WALLET_INSUFFICIENT_BALANCE", NULL);
        return CB_DONE;
    }
    if (r != WALLET_OK) {
        /* the script may have run though its answer was lost: undo it */
        if (sent)
            wallet_void_or_retry(w, p, hold->id, reserved_ms, cb_req_id(req));
        cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                          "this route is paid from the wallet, which cannot be reached right "
                          "now; try again shortly");
        return CB_DONE;
    }
    if (alert_entry)
        wallet_alert_low_balance(w, p, alert_entry, balance);
    if (m->unit == WALLET_PER_1K_TOKENS)
        cb_req_scan_token_usage(req); /* read as the answer passes, never held */
    cb_req_plugin_data_set(req, hold);
    return CB_OK;
}

/* A call is paid when it was answered without an error: 1xx, 2xx, 3xx.
 * Refusals (by the gateway or the upstream) and failures cost nothing. */
static int is_paid(int status)
{
    return status >= 100 && status < 400;
}

/* A token price settles the answer's usage; an answer that reported none
 * (a stream without stream_options.include_usage, say) costs its cap. */
static int64_t settled_cost(cb_req *req, const wallet_meter *m, const cb_response_record *rec)
{
    int64_t tokens;
    if (m->unit != WALLET_PER_1K_TOKENS)
        return wallet_meter_cost(m, rec);
    if (cb_req_token_usage(req, &tokens))
        return wallet_token_cost(m, tokens);
    cb_log_req(req, CB_LOG_NOTICE, "wallet: the answer of %s reported no token usage; the call "
               "costs its cap", cb_req_path(req));
    return m->cap;
}

void wallet_after_response(cb_req *req, void *state, const cb_response_record *rec)
{
    wallet_plugin *w = state;
    const wallet_hold *hold = cb_req_plugin_data_get(req);
    int64_t cost;
    if (!hold)
        return;
    if (hold->meter->unit == WALLET_PER_CALL) {
        if (!is_paid(rec->status) &&
            wallet_refund(w, cb_req_pool(req), hold->meter->cap, cb_req_id(req),
                          cb_req_path(req), cb_req_route_plugin(req)) != WALLET_OK)
            cb_log_req(req, CB_LOG_WARNING, "wallet: the refund of %s (answered %d) could not "
                       "reach Redis; the call stays charged", cb_req_path(req), rec->status);
        return;
    }
    cost = is_paid(rec->status) ? settled_cost(req, hold->meter, rec) : 0;
    if (wallet_settle(w, cb_req_pool(req), hold->id, cost, NULL) != WALLET_OK)
        cb_log_req(req, CB_LOG_WARNING,
                   "wallet: the settlement of %s could not reach Redis; the sweeper settles "
                   "it at the full reservation", cb_req_path(req));
}

void wallet_sweep_task(void *state, apr_pool_t *scratch)
{
    wallet_plugin *w = state;
    cb_lease lease;
    int n;
    cb_lease_init(&lease, w->env, "wallet-sweeper", w->holder);
    if (cb_lease_acquire(w->redis, scratch, &lease, SWEEP_LEASE_MS) != APR_SUCCESS)
        return;
    n = wallet_sweep(w, scratch, SWEEP_BATCH);
    if (n > 0)
        cb_log(CB_LOG_NOTICE, "wallet: settled %d reservation(s) of %s whose call never "
               "reported back, at their full amount", n, w->env);
    cb_lease_release(w->redis, scratch, &lease);
}
