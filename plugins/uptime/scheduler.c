/*
 * scheduler.c: the uptime plugin's background task. Every tick it picks the
 * monitors whose wall-clock slot (a multiple of their interval, shifted by
 * a hash of the monitor's name) began, takes
 * a cb_lease per monitor so that of several nodes on one Redis exactly one
 * runs the check in that slot (the node that ran the last slot tries first
 * and keeps it while alive; the others try a fifth of the interval, at
 * most 2 s, into the slot, so a dead node's monitors move within one
 * interval), starts the due checks on the checks in flight (checks.c:
 * one libcurl multi for the life of the task, so a check falls due and
 * starts while others, slow ones included, are still running), and drives
 * them until the next tick. As each check finishes it steps the monitor's
 * state machine with its state kept in Redis (so whichever node holds the
 * lease continues it), appends the check to the recent history and the
 * database's roll-ups, hands transitions to the notifier hook, and a
 * certificate near expiry to cert_warning.c. Monitors come from configuration and,
 * reloaded every api_reload, from the API's table in the database.
 * With Redis down the node checks on its own with in-process state.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "cloudbase/lease.h"
#include "cloudbase/log.h"
#include "cloudbase/values.h"
#include "uptime.h"

static const char *state_key(apr_pool_t *p, up_plugin *up, const up_monitor *m)
{
    return cb_redis_key(p, up->env, "uptime", "state", m->name, NULL);
}

static const char *i64(apr_pool_t *p, int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* The shared state from Redis; 0 when Redis cannot be read. */
static int load_state(up_plugin *up, apr_pool_t *p, const up_monitor *m, up_state *s)
{
    const char *argv[2] = {"HGETALL", state_key(p, up, m)};
    const cb_redis_reply *reply;
    up_state_init(s);
    if (cb_redis_command(up->redis, p, 2, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < cb_redis_reply_count(reply); i += 2) {
        const char *k = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, i));
        const char *v = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, i + 1));
        int64_t n = 0;
        if (!k || !v || cb_parse_int(v, &n))
            continue;
        if (strcmp(k, "status") == 0 && n >= 0 && n <= UP_STATUS_MAINTENANCE)
            s->status = (up_status)n;
        else if (strcmp(k, "confirmed") == 0 && n >= 0 && n <= UP_STATUS_MAINTENANCE)
            s->confirmed = (up_status)n;
        else if (strcmp(k, "fails") == 0)
            s->fails = (int)n;
        else if (strcmp(k, "oks") == 0)
            s->oks = (int)n;
        else if (strcmp(k, "down_checks") == 0)
            s->down_checks = (int)n;
        else if (strcmp(k, "since") == 0)
            s->since_ms = n;
    }
    return 1;
}

/* Stores the state with the check's outcome, and appends the check to the
 * recent history ("AT_MS OK LATENCY_MS STATUS_CODE"). */
static void save_state(up_plugin *up, apr_pool_t *p, const up_monitor *m, const up_state *s,
                       const up_result *r, int64_t now_ms)
{
    const char *key = state_key(p, up, m);
    const char *history = cb_redis_key(p, up->env, "uptime", "checks", m->name, NULL);
    const char *set[] = {"HSET", key, "status", i64(p, s->status), "confirmed",
                         i64(p, s->confirmed), "fails", i64(p, s->fails), "oks", i64(p, s->oks),
                         "down_checks", i64(p, s->down_checks), "since", i64(p, s->since_ms),
                         "last_checked_at", i64(p, now_ms), "last_response_ms",
                         i64(p, r->latency_ms), "last_message", r->message ? r->message : "",
                         /* https with expiry_warning: the certificate's notAfter (unix ms) */
                         "cert_expires_at", i64(p, r->cert_expires_ms)};
    /* without a certificate read, the field is left as it was */
    int set_count = (int)(sizeof(set) / sizeof(set[0])) - (r->cert_expires_ms ? 0 : 2);
    const char *push[] = {"LPUSH", history,
                          apr_psprintf(p, "%" APR_INT64_T_FMT " %d %" APR_INT64_T_FMT " %ld",
                                       now_ms, r->ok, r->latency_ms, r->status_code)};
    const char *trim[] = {"LTRIM", history, "0", i64(p, up->history_len - 1)};
    const cb_redis_reply *reply;
    if (cb_redis_command(up->redis, p, set_count, set, NULL, &reply) !=
            APR_SUCCESS ||
        cb_redis_command(up->redis, p, 3, push, NULL, &reply) != APR_SUCCESS ||
        cb_redis_command(up->redis, p, 4, trim, NULL, &reply) != APR_SUCCESS)
        cb_log(CB_LOG_WARNING, "uptime: env %s: the state of monitor %s could not be stored in "
                               "Redis; this node keeps it in memory", up->env, m->name);
}

/* How long into a slot a node that did not run the last one waits before
 * it tries the lease: past the lease's TTL of 90% of the interval counted
 * from the holder's last take, and within the slot. */
static int64_t lease_defer_ms(const up_monitor *m)
{
    int64_t defer = m->interval_ms / 5;
    return defer > 2000 ? 2000 : defer;
}

/* 1 when this node runs m's check in the current slot. */
static int take_slot(up_plugin *up, apr_pool_t *p, const up_monitor *m, int *shared)
{
    cb_lease lease;
    apr_status_t rv;
    *shared = 0;
    if (!up->redis)
        return 1;
    cb_lease_init(&lease, up->env, apr_pstrcat(p, "uptime:", m->name, NULL), up->holder);
    rv = cb_lease_acquire(up->redis, p, &lease, m->interval_ms - m->interval_ms / 10);
    if (rv == APR_EBUSY)
        return 0;
    *shared = rv == APR_SUCCESS;
    return 1;
}

static void record(up_plugin *up, apr_pool_t *p, const up_monitor *m, up_state *local,
                   int shared, const up_result *given, int64_t now_ms)
{
    up_result warned = *given;
    const up_result *r = &warned;
    const char *warning = warned.ok ? up_cert_warning_text(p, m, given, now_ms) : NULL;
    up_state s;
    up_status before;
    int64_t since;
    up_notify_kind kind;
    if (!shared || !load_state(up, p, m, &s)) {
        shared = 0;
        s = *local;
    }
    if (warning)
        warned.message = warning; /* still UP; the status JSON's message says it */
    before = s.status;
    since = s.since_ms;
    kind = up_state_step(&s, m, r->ok, now_ms);
    *local = s;
    if (shared)
        save_state(up, p, m, &s, r, now_ms);
    if (up->db && !m->maintenance)
        up_store_rollup(up, p, m, now_ms, r);
    if (kind != UP_NOTIFY_NONE) {
        up_transition t = {.monitor = m, .kind = kind, .from = before, .to = s.status,
                           .at_ms = now_ms, .result = r,
                           .down_for_ms = kind == UP_NOTIFY_DOWN ? 0 : now_ms - since};
        up_on_transition(up, p, &t);
    }
}

/* Releases what a finished check of an API monitor kept alive: the pool of
 * the API monitors it belongs to, once no check of an earlier load runs. */
static void release_api_pool(up_plugin *up, apr_pool_t *pool)
{
    if (!pool)
        return;
    if (pool == up->api_pool) {
        up->api_in_flight--;
        return;
    }
    for (int i = 0; up->retired_api && i < up->retired_api->nelts; i++) {
        up_retired_api *r = &APR_ARRAY_IDX(up->retired_api, i, up_retired_api);
        if (r->pool == pool && --r->in_flight == 0) {
            apr_pool_destroy(r->pool);
            r->pool = NULL;
        }
    }
}

/* checks.c hands each finished check back here. */
static void check_done(up_plugin *up, apr_pool_t *scratch, const up_monitor *m,
                       const up_pending *pending, const up_result *r)
{
    pending->runtime->in_flight = 0;
    record(up, scratch, m, &pending->runtime->local, pending->shared, r, pending->at_ms);
    if (r->cert_expires_ms && !m->maintenance)
        up_cert_warning_notify(up, scratch, m, pending->runtime, r, pending->at_ms);
    release_api_pool(up, pending->api_pool);
}

static up_runtime *runtime_of(up_plugin *up, const up_monitor *m)
{
    up_runtime *rt = apr_hash_get(up->runtimes, m->name, APR_HASH_KEY_STRING);
    if (!rt) {
        rt = apr_pcalloc(up->task_pool, sizeof(*rt));
        up_state_init(&rt->local);
        apr_hash_set(up->runtimes, apr_pstrdup(up->task_pool, m->name), APR_HASH_KEY_STRING, rt);
    }
    return rt;
}

/* The monitors of the API, reloaded from the database every api_reload
 * (kept as they were while the database is down); pruned roll-ups once a
 * day per node. */
static void reload_api_monitors(up_plugin *up, int64_t now_ms)
{
    apr_pool_t *next;
    apr_array_header_t *list;
    if (!up->db || now_ms - up->api_loaded_ms < up->api_reload_ms)
        return;
    apr_pool_create_unmanaged_ex(&next, NULL, NULL);
    list = apr_array_make(next, 8, sizeof(up_monitor));
    if (up_store_load_monitors(up, next, list) != APR_SUCCESS) {
        apr_pool_destroy(next);
        up->api_loaded_ms = now_ms; /* try again after api_reload */
        return;
    }
    if (now_ms / 86400000 != up->api_loaded_ms / 86400000)
        up_store_prune(up, next, now_ms);
    if (up->api_pool && up->api_in_flight > 0) {
        /* checks of the last load still run: their monitors stay until done */
        up_retired_api retired = {.pool = up->api_pool, .in_flight = up->api_in_flight};
        if (!up->retired_api)
            up->retired_api = apr_array_make(up->task_pool, 4, sizeof(up_retired_api));
        for (int i = 0; i < up->retired_api->nelts; i++)
            if (!APR_ARRAY_IDX(up->retired_api, i, up_retired_api).pool) {
                APR_ARRAY_IDX(up->retired_api, i, up_retired_api) = retired;
                retired.pool = NULL;
                break;
            }
        if (retired.pool)
            APR_ARRAY_PUSH(up->retired_api, up_retired_api) = retired;
    } else if (up->api_pool) {
        apr_pool_destroy(up->api_pool);
    }
    up->api_in_flight = 0;
    up->api_pool = next;
    up->api_monitors = list;
    up->api_loaded_ms = now_ms;
}

/* Where in its interval a monitor's slots begin: spread by a hash of its
 * name so that 1,000 monitors of one interval do not all start at once,
 * and the same on every node. */
static int64_t slot_offset_ms(const up_monitor *m)
{
    return (int64_t)(cb_fnv1a(CB_FNV1A_INIT, m->name, strlen(m->name)) %
                     (uint64_t)m->interval_ms);
}

int64_t up_slot_start_ms(const up_monitor *m, int64_t now_ms)
{
    int64_t offset = slot_offset_ms(m);
    return (now_ms - offset) / m->interval_ms * m->interval_ms + offset;
}

/* Starts m's check when its slot began and this node takes it. */
static void consider(up_plugin *up, apr_pool_t *scratch, const up_monitor *m, int64_t now_ms,
                     apr_pool_t *api_pool)
{
    up_pending pending;
    up_runtime *rt = runtime_of(up, m);
    int64_t slot_start = up_slot_start_ms(m, now_ms);
    if (rt->next_due_ms == 0) {
        /* a new monitor starts at its next slot, so that a node that starts
         * with 1,000 monitors does not check them all at once */
        rt->next_due_ms = slot_start + m->interval_ms;
        return;
    }
    if (now_ms < rt->next_due_ms)
        return;
    /* the node that ran the last slot goes first; the others try a little
     * later, once a dead holder's lease has lapsed */
    if (up->redis && !rt->held_last && now_ms < slot_start + lease_defer_ms(m))
        return;
    rt->next_due_ms = slot_start + m->interval_ms;
    if (m->maintenance) {
        rt->local.status = UP_STATUS_MAINTENANCE;
        return;
    }
    if (rt->in_flight) /* the last check still runs (timeout above the interval): skip a slot */
        return;
    rt->held_last = take_slot(up, scratch, m, &pending.shared);
    if (!rt->held_last)
        return;
    pending.runtime = rt;
    pending.at_ms = now_ms;
    pending.api_pool = api_pool;
    rt->in_flight = 1;
    if (api_pool)
        up->api_in_flight++;
    up_checks_start(up->checks, m, &pending);
}

void up_tick(void *plugin_state, apr_pool_t *scratch)
{
    up_plugin *up = plugin_state;
    int64_t now_ms = (int64_t)apr_time_as_msec(apr_time_now());
    apr_time_t until = apr_time_now() + apr_time_from_msec(up->tick_ms);
    if (!up->task_pool) {
        apr_pool_create_unmanaged_ex(&up->task_pool, NULL, NULL);
        up->runtimes = apr_hash_make(up->task_pool);
        up->checks = up_checks_create(up, up->task_pool, check_done);
        apr_cpystrn(up->holder, cb_lease_holder_id(scratch), sizeof(up->holder));
    }
    reload_api_monitors(up, now_ms);
    for (int i = 0; i < up->monitors->nelts; i++)
        consider(up, scratch, &APR_ARRAY_IDX(up->monitors, i, up_monitor), now_ms, NULL);
    for (int i = 0; up->api_monitors && i < up->api_monitors->nelts; i++)
        consider(up, scratch, &APR_ARRAY_IDX(up->api_monitors, i, up_monitor), now_ms,
                 up->api_pool);
    /* Drive the checks in flight until the next tick, recording each as it
     * finishes; the task runner calls again at once, so checks that fall
     * due meanwhile start within a tick whatever else is running. */
    for (;;) {
        int64_t left = (int64_t)apr_time_as_msec(until - apr_time_now());
        if (up_checks_drive(up->checks, scratch, left > 0 ? left : 0) == 0 || left <= 0)
            break;
    }
}
