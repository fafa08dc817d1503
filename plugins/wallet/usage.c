/*
 * usage.c: GET /api/workspaces/{slug}/wallet/usage?from=YYYY-MM-DD&to=YYYY-MM-DD,
 * what metered calls cost over a range of UTC days (both included; the
 * last 30 days by default), by day, by route and by plugin, from the ledger's copy in
 * the database (so it trails the ledger by up to copy_interval). A call's
 * cost is its usage entry less its refund; calls counts usage entries.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/db.h"
#include "cloudbase/json.h"
#include "wallet.h"

#define DAY_MS INT64_C(86400000)
#define MAX_RANGE_DAYS 366

const char *wallet_parse_day(const char *text, int64_t *day_ms)
{
    apr_time_exp_t t;
    apr_time_t at;
    int y, m, d;
    memset(&t, 0, sizeof(t));
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return "a day is written YYYY-MM-DD";
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return "a day is written YYYY-MM-DD";
    y = atoi(text);
    m = atoi(text + 5);
    d = atoi(text + 8);
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return "a day is written YYYY-MM-DD (a real date from 1970)";
    t.tm_year = y - 1900;
    t.tm_mon = m - 1;
    t.tm_mday = d;
    if (apr_time_exp_gmt_get(&at, &t) != APR_SUCCESS)
        return "a day is written YYYY-MM-DD (a real date from 1970)";
    {
        apr_time_exp_t back;
        apr_time_exp_gmt(&back, at);
        if (back.tm_mday != d || back.tm_mon != m - 1)
            return "that day does not exist (write YYYY-MM-DD)";
    }
    *day_ms = (int64_t)apr_time_as_msec(at);
    return NULL;
}

static const char *day_text(apr_pool_t *p, int64_t ms)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_from_msec(ms));
    return apr_psprintf(p, "%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
}

/* Rows of (key, cost, calls) as an array of objects named by key_name. */
static cb_json *totals(apr_pool_t *p, const cb_db_result *res, const char *key_name, int days)
{
    cb_json *list = cb_json_new_array(p);
    for (int i = 0; i < res->rows; i++) {
        cb_json *o = cb_json_new_object(p);
        int64_t key = 0, sum = 0, calls = 0;
        cb_db_int64(res, i, 1, &sum);
        cb_db_int64(res, i, 2, &calls);
        if (days) {
            cb_db_int64(res, i, 0, &key);
            cb_json_set_string(o, key_name, day_text(p, key * DAY_MS));
        } else {
            cb_json_set_string(o, key_name, cb_db_text(res, i, 0));
        }
        cb_json_set_int(o, "cost", -sum);
        cb_json_set_int(o, "calls", calls);
        cb_json_append(list, o);
    }
    return list;
}

cb_status wallet_usage_route(cb_req *req, void *state)
{
    wallet_plugin *w = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *from_text = cb_req_query_param(req, "from");
    const char *to_text = cb_req_query_param(req, "to");
    int64_t today = (int64_t)apr_time_as_msec(apr_time_now()) / DAY_MS * DAY_MS;
    int64_t from = today - 29 * DAY_MS, to = today;
    const char *err, *args[3];
    cb_db_result *by_day, *by_route, *by_plugin;
    cb_json *data;
    cb_status st;
    if ((st = wallet_check_caller(req, 0)) != CB_OK)
        return st;
    if (!w->db)
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND",
                                 "usage totals come from the ledger's copy in the database, and "
                                 "this gateway has no CloudBaseDatabase");
    if ((from_text && (err = wallet_parse_day(from_text, &from))) ||
        (to_text && (err = wallet_parse_day(to_text, &to))))
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 apr_pstrcat(p, "from and to: ", err, NULL));
    if (to < from || (to - from) / DAY_MS >= MAX_RANGE_DAYS)
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "from must not be after to, and the range is at most 366 days");
    args[0] = w->env;
    args[1] = apr_psprintf(p, "%" APR_INT64_T_FMT, from);
    args[2] = apr_psprintf(p, "%" APR_INT64_T_FMT, to + DAY_MS);
    if (cb_db_select(w->db, p, "SELECT created_at / 86400000, SUM(amount), "
                     "SUM(CASE WHEN type = 'usage' THEN 1 ELSE 0 END) FROM wallet_ledger "
                     "WHERE env = ? AND type IN ('usage', 'refund') AND created_at >= ? "
                     "AND created_at < ? GROUP BY created_at / 86400000 "
                     "ORDER BY created_at / 86400000", 3, args, &by_day) != APR_SUCCESS ||
        cb_db_select(w->db, p, "SELECT route, SUM(amount), "
                     "SUM(CASE WHEN type = 'usage' THEN 1 ELSE 0 END) FROM wallet_ledger "
                     "WHERE env = ? AND type IN ('usage', 'refund') AND created_at >= ? "
                     "AND created_at < ? GROUP BY route ORDER BY route", 3, args, &by_route) !=
            APR_SUCCESS ||
        cb_db_select(w->db, p, "SELECT COALESCE(plugin, ''), SUM(amount), "
                     "SUM(CASE WHEN type = 'usage' THEN 1 ELSE 0 END) FROM wallet_ledger "
                     "WHERE env = ? AND type IN ('usage', 'refund') AND created_at >= ? "
                     "AND created_at < ? GROUP BY COALESCE(plugin, '') "
                     "ORDER BY COALESCE(plugin, '')", 3, args, &by_plugin) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the usage totals cannot be read right now (the database is "
                                 "unreachable); try again shortly");
    data = cb_json_new_object(p);
    cb_json_set_string(data, "from", day_text(p, from));
    cb_json_set_string(data, "to", day_text(p, to));
    cb_json_set_string(data, "currency", w->currency);
    cb_json_set(data, "by_day", totals(p, by_day, "day", 1));
    cb_json_set(data, "by_route", totals(p, by_route, "route", 0));
    cb_json_set(data, "by_plugin", totals(p, by_plugin, "plugin", 0));
    {
        int64_t cost = 0, calls = 0;
        for (int i = 0; i < by_day->rows; i++) {
            int64_t s = 0, c = 0;
            cb_db_int64(by_day, i, 1, &s);
            cb_db_int64(by_day, i, 2, &c);
            cost -= s;
            calls += c;
        }
        cb_json_set_int(data, "cost", cost);
        cb_json_set_int(data, "calls", calls);
    }
    return wallet_send_data(req, 200, data);
}
