/*
 * wallet.c: the wallet plugin's descriptor: its options (the currency of
 * the environment, the `meter` lines, how long a reservation may stay
 * open, how long an Idempotency-Key is remembered, the alert channels),
 * its error codes (402
 * WALLET_INSUFFICIENT_BALANCE, 409 IDEMPOTENCY_KEY_REUSED), the TOSE-style
 * routes, the metering hooks, the sweeper task, the notifier of low-balance
 * alerts and, with a database, the task that copies the ledger into it. See docs/plugins/wallet.md.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/lease.h"
#include "wallet.h"

static const cb_option_def options[] = {
    {.name = "currency", .type = CB_OPT_STRING, .default_value = "VND",
     .help = "the environment's currency (ISO 4217 code); amounts are its minor unit"},
    {.name = "meter", .type = CB_OPT_LIST,
     .help = "PATTERN PRICE [cap=N]: meter /v1/functions/* 1/call, meter /v1/cloudrun/* 2/s "
             "cap=600, meter /v1/storages/* 1/MiB cap=100, meter /v1/ai/* 5/1k-tokens cap=200"},
    {.name = "hold_timeout", .type = CB_OPT_DURATION, .default_value = "10m", CB_OPT_MIN(1000),
     CB_OPT_MAX(86400000),
     .help = "a reservation not settled by then is settled at its full amount by the sweeper; "
             "longer than any metered call lasts"},
    {.name = "sweep_interval", .type = CB_OPT_DURATION, .default_value = "5s",
     CB_OPT_MIN(100), CB_OPT_MAX(600000),
     .help = "how often the sweeper looks for reservations past hold_timeout"},
    {.name = "copy_interval", .type = CB_OPT_DURATION, .default_value = "1s", CB_OPT_MIN(100),
     CB_OPT_MAX(600000),
     .help = "how often new ledger entries are copied into the database (with "
             "CloudBaseDatabase)"},
    {.name = "redis_ledger_keep", .type = CB_OPT_INT, .default_value = "100000", CB_OPT_MIN(10),
     CB_OPT_MAX(1000000000),
     .help = "ledger entries kept in Redis once the database has them (the newest); older "
             "ones are trimmed from Redis and read from the database"},
    {.name = "notify", .type = CB_OPT_LIST,
     .help = "a channel for low-balance alerts: discord NAME URL | webhook NAME URL secret=... | "
             "email NAME smtp://HOST:PORT from=... to=... (docs/notifications.md)"},
    {.name = "notify_group_window", .type = CB_OPT_DURATION, .default_value = "2s",
     CB_OPT_MIN(100), CB_OPT_MAX(60000),
     .help = "alerts within this window go out as one message"},
    {.name = "idempotency_ttl", .type = CB_OPT_DURATION, .default_value = "7d",
     CB_OPT_MIN(60000), CB_OPT_MAX(31536000000LL),
     .help = "how long a top-up's or charge's Idempotency-Key is remembered"},
    {0}
};

static const cb_error_code_def insufficient_balance = {
    .code = "WALLET_INSUFFICIENT_BALANCE", .status = 402, .oauth = "insufficient_balance",
    .testbase = "payment_required",
    .message = "the wallet's balance does not cover this call; top the wallet up"};

static const cb_error_code_def key_reused = {
    .code = "IDEMPOTENCY_KEY_REUSED", .status = 409, .oauth = "invalid_request",
    .testbase = "conflict",
    .message = "this Idempotency-Key was already used for another request (another amount "
               "or kind); use a new key for a new request"};

#define ROUTE(m, p, h) \
    {.method = m, .pattern = "/api/workspaces/{slug}/wallet" p, .handler = h, \
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TOSE}

#define APIKEYS(m, p, h) \
    {.method = m, .pattern = "/api/workspaces/{slug}/api-keys" p, .handler = h, \
     .auth = CB_AUTH_USER, .dialect = CB_DIALECT_TOSE}

static const cb_route_def routes[] = {
    ROUTE("GET", "", wallet_get_route),
    ROUTE("GET", "/transactions", wallet_transactions_route),
    ROUTE("GET", "/usage", wallet_usage_route),
    ROUTE("POST", "/topup", wallet_topup_route),
    ROUTE("POST", "/charge", wallet_charge_route),
    ROUTE("PUT", "/alert", wallet_alert_route),
    ROUTE("GET", "/reconcile", wallet_reconcile_route),
    APIKEYS("POST", "", wallet_apikey_create_route),
    APIKEYS("GET", "", wallet_apikey_list_route),
    APIKEYS("DELETE", "/{id}", wallet_apikey_revoke_route),
    {0}
};

static int currency_ok(const char *c)
{
    return strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' &&
           c[2] >= 'A' && c[2] <= 'Z';
}

static int load_meters(cb_plugin_ctx *ctx, wallet_plugin *w)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "meter");
    int ok = 1;
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        wallet_meter m;
        const char *err = wallet_parse_meter(w->pool, item->text, &m);
        if (err) {
            cb_ctx_error(ctx, "meter at %s:%d: %s", item->file ? item->file : "?", item->line,
                         err);
            ok = 0;
            continue;
        }
        APR_ARRAY_PUSH(w->meters, wallet_meter) = m;
    }
    return ok;
}

static cb_status wallet_create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    wallet_plugin *w = apr_pcalloc(p, sizeof(*w));
    w->pool = p;
    w->env = cb_ctx_env(ctx);
    w->redis = cb_ctx_redis(ctx);
    w->currency = cb_opt_string(o, "currency");
    w->meters = apr_array_make(p, 4, sizeof(wallet_meter));
    w->hold_timeout_ms = cb_opt_duration_ms(o, "hold_timeout");
    w->idempotency_ttl_s = cb_opt_duration_ms(o, "idempotency_ttl") / 1000;
    w->holder = cb_lease_holder_id(p);
    w->redis_ledger_keep = cb_opt_int(o, "redis_ledger_keep");
    if (!w->redis) {
        cb_ctx_error(ctx, "the wallet needs CloudBaseRedis: balances, reservations and the "
                     "ledger live there");
        return CB_ERROR;
    }
    if (!currency_ok(w->currency)) {
        cb_ctx_error(ctx, "currency: an ISO 4217 code of three capital letters (VND, USD, EUR)");
        return CB_ERROR;
    }
    if (!load_meters(ctx, w))
        return CB_ERROR;
    if (wallet_parse_meter(p, "/api/workspaces/*/wallet 1/call", &w->own_routes[0]) ||
        wallet_parse_meter(p, "/api/workspaces/*/wallet/* 1/call", &w->own_routes[1]))
        return CB_ERROR;
    if (cb_ctx_register_error(ctx, &insufficient_balance) != CB_OK ||
        cb_ctx_register_error(ctx, &key_reused) != CB_OK)
        return CB_ERROR;
    {
        cb_notifier_config cfg = {.channels = cb_opt_list(o, "notify"),
                                  .group_window_ms = cb_opt_duration_ms(o, "notify_group_window")};
        if (cfg.channels->nelts > 0 && !(w->notifier = cb_notifier_create(ctx, "wallet", &cfg)))
            return CB_ERROR;
    }
    wallet_ledger_init();
    if ((w->db = cb_ctx_db(ctx))) {
        cb_ctx_db_migrations(ctx, wallet_migrations, -1);
        cb_ctx_add_task(ctx, "wallet-ledger-copy",
                        apr_time_from_msec(cb_opt_duration_ms(o, "copy_interval")),
                        wallet_copy_task);
    }
    if (w->meters->nelts > 0) {
        cb_ctx_add_task(ctx, "wallet-sweeper",
                        apr_time_from_msec(cb_opt_duration_ms(o, "sweep_interval")),
                        wallet_sweep_task);
        cb_ctx_add_task(ctx, "wallet-voids",
                        apr_time_from_msec(cb_opt_duration_ms(o, "sweep_interval")),
                        wallet_voids_task);
    }
    *state = w;
    return CB_OK;
}

static cb_status wallet_child_init(void *state, apr_pool_t *child_pool)
{
    wallet_plugin *w = state;
    w->holder = cb_lease_holder_id(child_pool); /* this process's own */
    return wallet_voids_init(w, child_pool) == APR_SUCCESS ? CB_OK : CB_ERROR;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "wallet",
    .version = "1.0.0",
    .description = "credits per environment, a ledger, metering of any route with 402",
    .options = options,
    .routes = routes,
    .create = wallet_create,
    .child_init = wallet_child_init,
    .access_policy = wallet_access_policy,
    .after_response = wallet_after_response,
    .resolve = wallet_resolve,
};
