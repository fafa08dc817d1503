/*
 * routes.c: the TOSE-style wallet API under /api/workspaces/{slug}/wallet,
 * answered in the {success, data} envelope (errors {success:false, error}):
 *   GET  wallet               {balance, currency, alert_threshold}
 *   GET  wallet/transactions  ?page=1&limit=20 (1..50), newest first
 *   POST wallet/topup         {amount}, admin key, Idempotency-Key
 *   POST wallet/charge        {amount, description}, admin key, Idempotency-Key
 *   PUT  wallet/alert         {threshold}
 *   GET  wallet/usage         ?from=YYYY-MM-DD&to=YYYY-MM-DD (usage.c)
 *   GET  wallet/reconcile     admin key: balance, ledger and the database's copy agree
 * Callers present an API key or the admin key in X-API-Key; the slug must
 * be this gateway's environment. Amounts are whole minor units.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/json.h"
#include "cloudbase/log.h"
#include "cloudbase/values.h"
#include "wallet.h"

#define WALLET_MAX_BODY 4096
#define WALLET_MAX_PAGE INT64_C(1000000000)

static const char down_message[] = "the wallet cannot be reached right now; try again shortly";

cb_status wallet_check_caller(cb_req *req, int admin_only)
{
    const cb_identity *id = cb_req_identity(req);
    const char *slug = cb_req_param(req, "slug");
    if (!id || (id->kind != CB_IDENTITY_KEY && id->kind != CB_IDENTITY_ADMIN))
        return cb_req_send_error(req, 403, "PERMISSION_DENIED",
                                 "this API takes an API key in the X-API-Key header");
    if (!slug || strcmp(slug, cb_req_env(req)) != 0)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED",
                                 "this key cannot reach that workspace: the slug in the path "
                                 "must be the key's own workspace");
    if (admin_only && id->kind != CB_IDENTITY_ADMIN)
        return cb_req_send_error(req, 403, "PERMISSION_DENIED",
                                 "only the admin key may do this (top-ups, charges, reconciliation)");
    return CB_OK;
}

cb_status wallet_send_data(cb_req *req, int status, cb_json *data)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *root = cb_json_new_object(p);
    cb_json_set_bool(root, "success", 1);
    cb_json_set(root, "data", data);
    return cb_req_send_json(req, status, cb_json_dump(p, root));
}

const char *wallet_iso_time(apr_pool_t *p, int64_t ms)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_from_msec(ms));
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                        t.tm_usec / 1000);
}

cb_status wallet_get_route(cb_req *req, void *state)
{
    wallet_plugin *w = state;
    apr_pool_t *p = cb_req_pool(req);
    int64_t balance, threshold;
    cb_json *data;
    cb_status st;
    if ((st = wallet_check_caller(req, 0)) != CB_OK)
        return st;
    if (wallet_read(w, p, &balance, &threshold) != WALLET_OK)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", down_message);
    data = cb_json_new_object(p);
    cb_json_set_int(data, "balance", balance);
    cb_json_set_string(data, "currency", w->currency);
    if (threshold >= 0)
        cb_json_set_int(data, "alert_threshold", threshold);
    else
        cb_json_set_null(data, "alert_threshold");
    return wallet_send_data(req, 200, data);
}

/* 1 when the query names the parameter (with or without a value). */
static int query_has(const char *query, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = query; s && *s; s = strchr(s, '&') ? strchr(s, '&') + 1 : NULL)
        if (strncmp(s, name, n) == 0 && (s[n] == '=' || s[n] == '&' || s[n] == '\0'))
            return 1;
    return 0;
}

/* A query number from min to max, default when absent; NULL or the error. */
static const char *query_number(cb_req *req, const char *name, int64_t def, int64_t min,
                                int64_t max, int64_t *out)
{
    const char *text = cb_req_query_param(req, name);
    *out = def;
    if (!text && !query_has(cb_req_query(req), name))
        return NULL;
    if (!text || cb_parse_int(text, out) || *out < min || *out > max || text[0] == '+' ||
        (text[0] == '0' && text[1]))
        return apr_psprintf(cb_req_pool(req), "%s must be a whole number from %" APR_INT64_T_FMT
                            " to %" APR_INT64_T_FMT, name, min, max);
    return NULL;
}

cb_status wallet_transactions_route(cb_req *req, void *state)
{
    wallet_plugin *w = state;
    apr_pool_t *p = cb_req_pool(req);
    apr_array_header_t *entries;
    int64_t page, limit, total;
    const char *err;
    cb_json *data, *list;
    cb_status st;
    if ((st = wallet_check_caller(req, 0)) != CB_OK)
        return st;
    if ((err = query_number(req, "page", 1, 1, WALLET_MAX_PAGE, &page)) ||
        (err = query_number(req, "limit", 20, 1, 50, &limit)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (wallet_entries(w, p, page, limit, &entries, &total) != WALLET_OK)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", down_message);
    list = cb_json_new_array(p);
    for (int i = 0; i < entries->nelts; i++) {
        const wallet_entry *e = &APR_ARRAY_IDX(entries, i, wallet_entry);
        cb_json *o = cb_json_new_object(p);
        cb_json_set_string(o, "id", apr_psprintf(p, "%" APR_INT64_T_FMT, e->id));
        cb_json_set_string(o, "type", e->type);
        cb_json_set_int(o, "amount", e->amount);
        cb_json_set_int(o, "balance_after", e->balance_after);
        cb_json_set_string(o, "request_id", e->request_id);
        cb_json_set_string(o, "route", e->route);
        cb_json_set_string(o, "plugin", e->plugin);
        cb_json_set_string(o, "description", e->description);
        cb_json_set_string(o, "created_at", wallet_iso_time(p, e->time_ms));
        cb_json_append(list, o);
    }
    data = cb_json_new_object(p);
    cb_json_set(data, "transactions", list);
    cb_json_set_int(data, "page", page);
    cb_json_set_int(data, "limit", limit);
    cb_json_set_int(data, "total", total);
    return wallet_send_data(req, 200, data);
}

/* Printable ASCII without spaces, 1 to 255 bytes (as the IETF draft's
 * keys are: a UUID, a random token). NULL when absent; *bad when invalid. */
static const char *idempotency_key(cb_req *req, int *bad)
{
    const char *k = cb_req_header(req, "Idempotency-Key");
    size_t n = 0;
    *bad = 0;
    if (!k)
        return NULL;
    for (const char *c = k; *c; c++, n++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            *bad = 1;
    if (n == 0 || n > 255)
        *bad = 1;
    return k;
}

static cb_status post_money(cb_req *req, wallet_plugin *w, int credit)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *body, *err, *description = NULL, *idem;
    size_t len;
    int64_t amount, entry_id, balance;
    int bad_key, alert = 0;
    wallet_result r;
    cb_json *data;
    cb_status st;
    if ((st = wallet_check_caller(req, 1)) != CB_OK)
        return st;
    idem = idempotency_key(req, &bad_key);
    if (bad_key)
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "Idempotency-Key must be 1 to 255 printable characters "
                                 "without spaces (a UUID, say)");
    if ((st = cb_req_read_body(req, WALLET_MAX_BODY, &body, &len)) != CB_OK)
        return st;
    if ((err = wallet_parse_body(p, body, len, "amount", 0, &amount,
                                 credit ? NULL : &description)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    r = wallet_post(w, p, credit, amount, idem, cb_req_id(req),
                    cb_req_path(req), description, &entry_id, &balance, &alert);
    switch (r) {
    case WALLET_OK:
    case WALLET_REPLAYED:
        break;
    case WALLET_SHORT:
        return cb_req_send_error_code(req, "WALLET_INSUFFICIENT_BALANCE",
                                      "the balance does not cover this charge");
    case WALLET_KEY_REUSED:
        return cb_req_send_error_code(req, "IDEMPOTENCY_KEY_REUSED", NULL);
    case WALLET_TOO_LARGE:
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "this top-up would take the balance past 9007199254740991 "
                                 "(2^53 - 1)");
    default:
        cb_log_req(req, CB_LOG_WARNING, "wallet: %s of %" APR_INT64_T_FMT " not written: "
                   "Redis is unreachable", credit ? "top-up" : "charge", amount);
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", down_message);
    }
    if (r == WALLET_REPLAYED)
        cb_req_set_header(req, "Idempotent-Replayed", "true");
    if (alert)
        wallet_alert_low_balance(w, p, entry_id, balance);
    data = cb_json_new_object(p);
    cb_json_set_string(data, "transaction_id", apr_psprintf(p, "%" APR_INT64_T_FMT, entry_id));
    cb_json_set_int(data, "amount", amount);
    cb_json_set_int(data, "balance", balance);
    cb_json_set_string(data, "currency", w->currency);
    return wallet_send_data(req, r == WALLET_REPLAYED ? 200 : 201, data);
}

cb_status wallet_topup_route(cb_req *req, void *state)
{
    return post_money(req, state, 1);
}

cb_status wallet_charge_route(cb_req *req, void *state)
{
    return post_money(req, state, 0);
}

cb_status wallet_alert_route(cb_req *req, void *state)
{
    wallet_plugin *w = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *body, *err;
    size_t len;
    int64_t threshold;
    cb_json *data;
    cb_status st;
    if ((st = wallet_check_caller(req, 0)) != CB_OK)
        return st;
    if ((st = cb_req_read_body(req, WALLET_MAX_BODY, &body, &len)) != CB_OK)
        return st;
    if ((err = wallet_parse_body(p, body, len, "threshold", 1, &threshold, NULL)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (wallet_set_threshold(w, p, threshold) != WALLET_OK)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", down_message);
    data = cb_json_new_object(p);
    cb_json_set_int(data, "threshold", threshold);
    return wallet_send_data(req, 200, data);
}

cb_status wallet_reconcile_route(cb_req *req, void *state)
{
    wallet_plugin *w = state;
    cb_json *report;
    cb_status st;
    if ((st = wallet_check_caller(req, 1)) != CB_OK)
        return st;
    if (wallet_reconcile(w, cb_req_pool(req), &report) != WALLET_OK)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the ledger cannot be read right now (Redis or the database "
                                 "is unreachable); try again shortly");
    return wallet_send_data(req, 200, report);
}
