/*
 * uptime.h: the uptime plugin's shared types: a monitor as configured
 * (`monitor NAME URL interval=60s ...`), accepted status code ranges, the
 * anti-flapping state machine (UP, DOWN, PENDING, MAINTENANCE), one check's
 * result, and the transition hook the notifier plugs into.
 * See docs/plugins/uptime.md.
 */
#ifndef CB_UPTIME_H
#define CB_UPTIME_H
#include <stdint.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/http.h"
#include "cloudbase/redis.h"

typedef enum { UP_KIND_HTTP, UP_KIND_TCP, UP_KIND_PUSH } up_kind;

typedef enum {
    UP_STATUS_PENDING = 0,
    UP_STATUS_UP = 1,
    UP_STATUS_DOWN = 2,
    UP_STATUS_MAINTENANCE = 3
} up_status;

#define UP_MAX_CODE_RANGES 16

/* Accepted status codes: values and inclusive ranges ("200-299,301"). */
typedef struct up_code_ranges {
    int count;
    int low[UP_MAX_CODE_RANGES], high[UP_MAX_CODE_RANGES];
} up_code_ranges;

typedef struct up_monitor {
    const char *name;
    const char *url;          /* http(s)://..., tcp://host:port or push://TOKEN */
    up_kind kind;
    const char *host;         /* tcp: host and port */
    int port;
    const char *push_token;   /* push */
    int64_t interval_ms;
    int64_t timeout_ms;
    const char *method;
    apr_table_t *headers;     /* may be empty */
    up_code_ranges accepted;
    const char *keyword;      /* NULL: no keyword check */
    int invert_keyword;
    int retries;              /* failures that stay PENDING before DOWN */
    int up_retries;           /* successes that stay PENDING before UP after DOWN */
    int resend;               /* reminder every N checks while DOWN (0 = never) */
    int maintenance;
} up_monitor;

/* The per-monitor state the state machine steps. */
typedef struct up_state {
    up_status status;
    up_status confirmed;  /* last UP or DOWN announced; PENDING before the first */
    int fails;            /* consecutive failures */
    int oks;              /* consecutive successes */
    int down_checks;      /* checks since the last DOWN announcement (reminders) */
    int64_t since_ms;     /* unix ms the confirmed state began */
} up_state;

/* What stepping the machine asks for. */
typedef enum { UP_NOTIFY_NONE, UP_NOTIFY_DOWN, UP_NOTIFY_UP, UP_NOTIFY_REMINDER } up_notify_kind;

/* One check's outcome. */
typedef struct up_result {
    int ok;
    long status_code;     /* HTTP status; 0 otherwise */
    int64_t latency_ms;
    const char *message;  /* why it failed, for people; "" when fine */
} up_result;

/* A state change (or reminder) handed to the notifier hook. */
typedef struct up_transition {
    const up_monitor *monitor;
    up_notify_kind kind;
    up_status from, to;
    int64_t at_ms;          /* unix ms of the check */
    int64_t down_for_ms;    /* UP after DOWN, and reminders: how long it was down */
    const up_result *result;
} up_transition;

/* The plugin's per-environment state. */
typedef struct up_plugin {
    apr_pool_t *pool;
    const char *env;
    cb_redis *redis;
    apr_array_header_t *monitors;   /* up_monitor */
    up_state *local_states;         /* per monitor: used when Redis is down */
    const cb_cidr_list *allowed_private;
    char holder[160];               /* lease holder id of this node's task ("" until the first tick) */
    int64_t *next_due_ms;           /* per monitor: when its next check is due (task thread only) */
    int *held_last;                 /* per monitor: this node ran the last slot's check */
    int64_t history_len;
} up_plugin;

/* monitor_line.c */
const char *up_parse_code_ranges(const char *text, up_code_ranges *out);
int up_code_accepted(const up_code_ranges *r, long code);
const char *up_parse_monitor(apr_pool_t *p, const char *text, const cb_cidr_list *allowed_private,
                             up_monitor *out);
const char *up_check_url(apr_pool_t *p, const char *url, const cb_cidr_list *allowed_private);

/* state.c */
const char *up_status_name(up_status s);
void up_state_init(up_state *s);
up_notify_kind up_state_step(up_state *s, const up_monitor *m, int ok, int64_t now_ms);

/* checks.c: runs one batch of checks; results[i] for monitors[i]. */
void up_run_checks(up_plugin *up, apr_pool_t *p, const up_monitor *const *monitors, int count,
                   int64_t now_ms, up_result *results);
int up_body_matches(const up_monitor *m, const char *body);

/* push.c */
cb_status up_push_route(cb_req *req, void *plugin_state);
const char *up_push_evaluate(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t now_ms,
                             up_result *out);

/* status.c */
cb_status up_status_json(cb_req *req, void *plugin_state);
int up_recent_stats(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t since_ms,
                    double *uptime_pct, int64_t *avg_ms, int64_t *p95_ms);

/* scheduler.c */
void up_tick(void *plugin_state, apr_pool_t *scratch);

/* notify.c: the notifier interface (see docs/plugins/uptime.md). */
void up_on_transition(up_plugin *up, apr_pool_t *p, const up_transition *t);
#endif
