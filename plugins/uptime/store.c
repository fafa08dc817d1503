/*
 * store.c: the uptime plugin's tables in the database service: each
 * project's settings from the TOSE-style API (cb_uptime_projects), and the
 * check roll-ups per monitor by minute, hour and day (cb_uptime_rollups:
 * checks, successes, latency sum and maximum), upserted after every check
 * and pruned after 90 days (minutes after 48 hours). Uptime % for 24 h,
 * 7 d, 30 d and 90 d comes from the hour and day rows.
 */
#include <string.h>

#include <apr_time.h>

#include <apr_strings.h>

#include "cloudbase/log.h"
#include "cloudbase/values.h"
#include "uptime.h"

const cb_db_migration up_migrations[] = {
    {.number = 1,
     .sql = "CREATE TABLE cb_uptime_projects ("
            "env VARCHAR(64) NOT NULL, workspace VARCHAR(64) NOT NULL, "
            "project VARCHAR(64) NOT NULL, enabled INTEGER NOT NULL, "
            "check_interval_sec INTEGER NOT NULL, check_url VARCHAR(2048), "
            "discord_webhook_url VARCHAR(2048), notify_email VARCHAR(254), "
            "updated BIGINT NOT NULL, PRIMARY KEY (env, workspace, project))"},
    {.number = 2,
     .sql = "CREATE TABLE cb_uptime_rollups ("
            "env VARCHAR(64) NOT NULL, monitor VARCHAR(140) NOT NULL, period CHAR(1) NOT NULL, "
            "bucket BIGINT NOT NULL, checks BIGINT NOT NULL, ups BIGINT NOT NULL, "
            "latency_sum BIGINT NOT NULL, latency_max BIGINT NOT NULL, "
            "PRIMARY KEY (env, monitor, period, bucket))"},
    {0, NULL}
};

static const char *i64(apr_pool_t *p, int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

apr_status_t up_store_get(up_plugin *up, apr_pool_t *p, const char *workspace,
                          const char *project, up_api_settings *out, int *found)
{
    const char *args[] = {up->env, workspace, project};
    cb_db_result *res;
    int64_t n = 0;
    apr_status_t rv = cb_db_select(up->db, p,
                                   "SELECT enabled, check_interval_sec, check_url, "
                                   "discord_webhook_url, notify_email FROM cb_uptime_projects "
                                   "WHERE env = ? AND workspace = ? AND project = ?",
                                   3, args, &res);
    memset(out, 0, sizeof(*out));
    out->check_interval_sec = 60;
    *found = 0;
    if (rv != APR_SUCCESS || res->rows == 0)
        return rv;
    *found = 1;
    cb_db_int64(res, 0, 0, &n);
    out->enabled = n != 0;
    cb_db_int64(res, 0, 1, &out->check_interval_sec);
    out->check_url = cb_db_text(res, 0, 2);
    out->discord_webhook_url = cb_db_text(res, 0, 3);
    out->notify_email = cb_db_text(res, 0, 4);
    return APR_SUCCESS;
}

apr_status_t up_store_put(up_plugin *up, apr_pool_t *p, const char *workspace,
                          const char *project, const up_api_settings *s)
{
    const char *args[] = {up->env, workspace, project, s->enabled ? "1" : "0",
                          i64(p, s->check_interval_sec), s->check_url, s->discord_webhook_url,
                          s->notify_email, i64(p, (int64_t)apr_time_sec(apr_time_now()))};
    return cb_db_exec(up->db, p,
                      "INSERT INTO cb_uptime_projects (env, workspace, project, enabled, "
                      "check_interval_sec, check_url, discord_webhook_url, notify_email, updated) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (env, workspace, project) "
                      "DO UPDATE SET enabled = excluded.enabled, "
                      "check_interval_sec = excluded.check_interval_sec, "
                      "check_url = excluded.check_url, "
                      "discord_webhook_url = excluded.discord_webhook_url, "
                      "notify_email = excluded.notify_email, updated = excluded.updated",
                      9, args, NULL);
}

apr_status_t up_store_load_monitors(up_plugin *up, apr_pool_t *p, apr_array_header_t *out)
{
    const char *args[] = {up->env};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(up->db, p,
                                   "SELECT workspace, project, check_interval_sec, check_url, "
                                   "discord_webhook_url, notify_email FROM cb_uptime_projects "
                                   "WHERE env = ? AND enabled = 1 ORDER BY workspace, project",
                                   1, args, &res);
    if (rv != APR_SUCCESS)
        return rv;
    for (int r = 0; r < res->rows; r++) {
        up_api_settings s = {.enabled = 1};
        up_monitor m;
        cb_db_int64(res, r, 2, &s.check_interval_sec);
        s.check_url = cb_db_text(res, r, 3);
        s.discord_webhook_url = cb_db_text(res, r, 4);
        s.notify_email = cb_db_text(res, r, 5);
        /* checked when written; checked again: the guard's rules may have changed */
        if (!s.check_url || s.check_interval_sec < 1 ||
            up_check_url(p, s.check_url, up->allowed_private))
            continue;
        up_api_monitor(p, cb_db_text(res, r, 0), cb_db_text(res, r, 1), &s, &m);
        APR_ARRAY_PUSH(out, up_monitor) = m;
    }
    return APR_SUCCESS;
}

void up_store_rollup(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t at_ms,
                     const up_result *r)
{
    static const struct { const char *period; int64_t seconds; } periods[] = {
        {"m", 60}, {"h", 3600}, {"d", 86400}};
    int64_t at = at_ms / 1000;
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        const char *args[] = {up->env, m->name, periods[i].period,
                              i64(p, at / periods[i].seconds * periods[i].seconds),
                              r->ok ? "1" : "0", i64(p, r->ok ? r->latency_ms : 0),
                              i64(p, r->ok ? r->latency_ms : 0)};
        if (cb_db_exec(up->db, p,
                       "INSERT INTO cb_uptime_rollups (env, monitor, period, bucket, checks, ups, "
                       "latency_sum, latency_max) VALUES (?, ?, ?, ?, 1, ?, ?, ?) "
                       "ON CONFLICT (env, monitor, period, bucket) DO UPDATE SET "
                       "checks = cb_uptime_rollups.checks + 1, "
                       "ups = cb_uptime_rollups.ups + excluded.ups, "
                       "latency_sum = cb_uptime_rollups.latency_sum + excluded.latency_sum, "
                       "latency_max = CASE WHEN excluded.latency_max > cb_uptime_rollups.latency_max "
                       "THEN excluded.latency_max ELSE cb_uptime_rollups.latency_max END",
                       7, args, NULL) != APR_SUCCESS) {
            cb_log(CB_LOG_WARNING, "uptime: env %s: the roll-up of monitor %s was not stored "
                                   "(database unavailable); the history has a gap",
                   up->env, m->name);
            return;
        }
    }
}

void up_store_prune(up_plugin *up, apr_pool_t *p, int64_t now_ms)
{
    int64_t now = now_ms / 1000;
    const char *minutes[] = {up->env, i64(p, now - 48 * 3600)};
    const char *older[] = {up->env, i64(p, now - 90 * 86400LL)};
    cb_db_exec(up->db, p, "DELETE FROM cb_uptime_rollups WHERE env = ? AND period = 'm' AND "
                          "bucket < ?", 2, minutes, NULL);
    cb_db_exec(up->db, p, "DELETE FROM cb_uptime_rollups WHERE env = ? AND bucket < ?", 2,
               older, NULL);
}

double up_store_uptime(up_plugin *up, apr_pool_t *p, const char *monitor, int64_t since_ms,
                       int64_t now_ms)
{
    /* whole days from day rows would overshoot a 24 h window: it uses hours */
    int use_hours = now_ms - since_ms <= 48 * 3600 * 1000LL;
    int64_t granule = use_hours ? 3600 : 86400;
    const char *args[] = {up->env, monitor, use_hours ? "h" : "d",
                          i64(p, since_ms / 1000 / granule * granule)};
    cb_db_result *res;
    int64_t checks = 0, ups = 0;
    if (!up->db || cb_db_select(up->db, p,
                                "SELECT SUM(checks), SUM(ups) FROM cb_uptime_rollups WHERE env = ? "
                                "AND monitor = ? AND period = ? AND bucket >= ?",
                                4, args, &res) != APR_SUCCESS ||
        res->rows == 0 || cb_db_int64(res, 0, 0, &checks) != APR_SUCCESS || checks == 0)
        return -1;
    cb_db_int64(res, 0, 1, &ups);
    return 100.0 * (double)ups / (double)checks;
}

int up_store_series(up_plugin *up, apr_pool_t *p, const char *monitor, char period,
                    int64_t first_bucket, int count, up_bucket *out)
{
    int64_t seconds = period == 'd' ? 86400 : period == 'h' ? 3600 : 60;
    char period_text[2] = {period, '\0'};
    const char *args[] = {up->env, monitor, period_text, i64(p, first_bucket),
                          i64(p, first_bucket + (int64_t)count * seconds)};
    cb_db_result *res;
    for (int i = 0; i < count; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].start = first_bucket + (int64_t)i * seconds;
    }
    if (!up->db || cb_db_select(up->db, p,
                                "SELECT bucket, checks, ups, latency_sum, latency_max FROM "
                                "cb_uptime_rollups WHERE env = ? AND monitor = ? AND period = ? "
                                "AND bucket >= ? AND bucket < ?",
                                5, args, &res) != APR_SUCCESS)
        return 0;
    for (int r = 0; r < res->rows; r++) {
        int64_t bucket = 0;
        int64_t index;
        cb_db_int64(res, r, 0, &bucket);
        index = (bucket - first_bucket) / seconds;
        if (index < 0 || index >= count)
            continue;
        cb_db_int64(res, r, 1, &out[index].checks);
        cb_db_int64(res, r, 2, &out[index].ups);
        cb_db_int64(res, r, 3, &out[index].latency_sum);
        cb_db_int64(res, r, 4, &out[index].latency_max);
    }
    return 1;
}
