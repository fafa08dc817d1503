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

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/db.h"
#include "cloudbase/http.h"
#include "cloudbase/notify.h"
#include "cloudbase/redis.h"

typedef enum { UP_KIND_HTTP, UP_KIND_TCP, UP_KIND_PUSH } up_kind;

typedef enum {
    UP_STATUS_PENDING = 0,
    UP_STATUS_UP = 1,
    UP_STATUS_DOWN = 2,
    UP_STATUS_MAINTENANCE = 3
} up_status;

#define UP_MAX_CODE_RANGES 16
#define UP_MAX_EXPIRY_WARNINGS 4
#define UP_DEFAULT_MAX_REDIRECTS 10 /* Uptime Kuma's */

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
    /* where the notifier also sends this monitor's alerts (the API's fields,
     * or the monitor line's discord_webhook_url= and notify_email=) */
    const char *discord_webhook_url;  /* NULL when none */
    const char *notify_email;         /* NULL when none */
    int from_api;             /* set through the API: its Discord URL reaches public addresses only */
    int max_redirects;        /* HTTP: redirects followed (0 = none; default 10) */
    /* https: warn this many days before the certificate expires (largest
     * first; expiry_warning_count 0 = no warning) */
    int expiry_warning_days[UP_MAX_EXPIRY_WARNINGS];
    int expiry_warning_count;
    const char *ca_file;      /* https: CAs to trust instead of the system's, or NULL */
    int ignore_tls;           /* https: do not verify the certificate */
} up_monitor;

/* One project's uptime settings, as the TOSE-style API reads and writes
 * them (seed 003's fields). */
typedef struct up_api_settings {
    int enabled;
    int64_t check_interval_sec;
    const char *check_url;            /* NULL when not set */
    const char *discord_webhook_url;  /* NULL when not set */
    const char *notify_email;         /* NULL when not set */
} up_api_settings;


/* The per-monitor state the state machine steps. */
typedef struct up_state {
    up_status status;
    up_status confirmed;  /* last UP or DOWN announced; PENDING before the first */
    int fails;            /* consecutive failures */
    int oks;              /* consecutive successes */
    int down_checks;      /* checks since the last DOWN announcement (reminders) */
    int64_t since_ms;     /* unix ms the confirmed state began */
} up_state;

/* What the scheduler keeps per monitor name (task thread only). */
typedef struct up_runtime {
    int64_t next_due_ms;
    int held_last;        /* this node ran the last slot's check */
    up_state local;       /* the state when Redis cannot be read */
    int in_flight;        /* a check of this monitor is running */
    char warned_cert[64]; /* "CERT_ID:DAYS" of the last expiry warning sent */
} up_runtime;

/* What stepping the machine asks for. */
typedef enum { UP_NOTIFY_NONE, UP_NOTIFY_DOWN, UP_NOTIFY_UP, UP_NOTIFY_REMINDER } up_notify_kind;

/* One check's outcome. */
typedef struct up_result {
    int ok;
    long status_code;     /* HTTP status; 0 otherwise */
    int64_t latency_ms;
    const char *message;  /* why it failed, for people; "" when fine (or a
                           * certificate expiry warning) */
    /* https with expiry_warning: the peer certificate's notAfter (unix ms;
     * 0 when none was read) and an identity of it (issuer and serial) */
    int64_t cert_expires_ms;
    const char *cert_id;
    const char *cert_subject;
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

/* An earlier load of the API monitors, kept while its checks run. */
typedef struct up_retired_api {
    apr_pool_t *pool;     /* NULL: a free slot */
    int in_flight;
} up_retired_api;

/* The plugin's per-environment state. */
typedef struct up_plugin {
    apr_pool_t *pool;
    const char *env;
    cb_redis *redis;
    apr_array_header_t *monitors;   /* up_monitor */
    cb_db *db;                      /* NULL without CloudBaseDatabase: no API, no roll-ups */
    const cb_cidr_list *allowed_private;
    const char *allow_private_text; /* the same as configured, or NULL */
    char holder[160];               /* lease holder id of this node's task ("" until the first tick) */
    /* task thread only: */
    apr_pool_t *task_pool;          /* runtimes (by monitor name) */
    apr_hash_t *runtimes;
    apr_pool_t *api_pool;           /* the API monitors last loaded */
    apr_array_header_t *api_monitors;
    int64_t api_loaded_ms;
    int64_t api_reload_ms;
    int64_t history_len;
    const char *status_page;        /* path of the HTML page, or NULL */
    const char *page_title;
    cb_notifier *notifier;          /* NULL without `notify` lines */
    int64_t tick_ms;
    struct up_checks *checks;       /* task thread: the checks in flight */
    int api_in_flight;              /* task thread: checks of api_monitors in flight */
    apr_array_header_t *retired_api; /* task thread: up_retired_api, earlier api_pools
                                      * with checks still in flight */
    struct up_status_cache *status_cache; /* the rendered page, JSON and badges */
    int64_t status_refresh_s;       /* how often the page's script refreshes it */
} up_plugin;

/* monitor_line.c */
const char *up_parse_code_ranges(const char *text, up_code_ranges *out);
int up_code_accepted(const up_code_ranges *r, long code);
const char *up_parse_monitor(apr_pool_t *p, const char *text, const cb_cidr_list *allowed_private,
                             up_monitor *out);
const char *up_check_url(apr_pool_t *p, const char *url, const cb_cidr_list *allowed_private);

/* api_body.c: a PUT body over the current settings; NULL or the error
 * for the client. */
const char *up_api_parse_body(apr_pool_t *p, const char *body, size_t len,
                              const cb_cidr_list *allowed_private, up_api_settings *settings);
const char *up_api_name_ok(const char *segment);
/* NULL, or why text is not an e-mail address (for the client). */
const char *up_check_email(const char *text);
/* The monitor the scheduler runs for a project's settings. */
void up_api_monitor(apr_pool_t *p, const char *workspace, const char *project,
                    const up_api_settings *s, up_monitor *out);

/* api.c */
cb_status up_api_get(cb_req *req, void *plugin_state);
cb_status up_api_put(cb_req *req, void *plugin_state);

/* store.c: the database service's part (API settings, roll-ups). */
extern const cb_db_migration up_migrations[];
apr_status_t up_store_get(up_plugin *up, apr_pool_t *p, const char *workspace,
                          const char *project, up_api_settings *out, int *found);
apr_status_t up_store_put(up_plugin *up, apr_pool_t *p, const char *workspace,
                          const char *project, const up_api_settings *s);
apr_status_t up_store_load_monitors(up_plugin *up, apr_pool_t *p, apr_array_header_t *out);
void up_store_rollup(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t at_ms,
                     const up_result *r);
void up_store_prune(up_plugin *up, apr_pool_t *p, int64_t now_ms);
/* count consecutive roll-ups of period 'm', 'h' or 'd' from first_bucket
 * (unix seconds, a multiple of the period): zeroed where none was stored.
 * 0 when the database cannot be read. */
typedef struct up_bucket {
    int64_t start, checks, ups, latency_sum, latency_max;
} up_bucket;
int up_store_series(up_plugin *up, apr_pool_t *p, const char *monitor, char period,
                    int64_t first_bucket, int count, up_bucket *out);
/* Uptime % over [since_ms, now) from the hour and day roll-ups; -1 when no
 * check was recorded. */
double up_store_uptime(up_plugin *up, apr_pool_t *p, const char *monitor, int64_t since_ms,
                       int64_t now_ms);

/* state.c */
const char *up_status_name(up_status s);
void up_state_init(up_state *s);
up_notify_kind up_state_step(up_state *s, const up_monitor *m, int ok, int64_t now_ms);

/* checks.c: the checks in flight, on one libcurl multi for the life of
 * the task thread: HTTP(S) checks as streams, TCP checks as connect-only
 * streams, push monitors judged at once. The scheduler starts checks
 * whenever they fall due, while others run. */
typedef struct up_checks up_checks;
/* What the scheduler keeps with a check until it is recorded. */
typedef struct up_pending {
    up_runtime *runtime;
    int shared;            /* its state is in Redis */
    int64_t at_ms;         /* when it was due (in its slot) */
    apr_pool_t *api_pool;  /* the API monitors' memory it refers to, or NULL */
} up_pending;
typedef void (*up_check_done_fn)(up_plugin *up, apr_pool_t *scratch, const up_monitor *m,
                                 const up_pending *pending, const up_result *r);
up_checks *up_checks_create(up_plugin *up, apr_pool_t *p, up_check_done_fn done);
void up_checks_start(up_checks *c, const up_monitor *m, const up_pending *pending);
/* Drives the checks for at most wait_ms (less when one finishes), calling
 * done for each finished one; returns the checks still running. */
int up_checks_drive(up_checks *c, apr_pool_t *scratch, int64_t wait_ms);
int up_body_matches(const up_monitor *m, const char *body);

/* cert_warning.c: the certificate expiry warning of a check. */
/* "TLS certificate expires in N days (DATE)" when the check's certificate
 * is within the monitor's largest expiry_warning, else NULL. */
const char *up_cert_warning_text(apr_pool_t *p, const up_monitor *m, const up_result *r,
                                 int64_t now_ms);
/* Sends one notification per certificate per threshold crossed. */
void up_cert_warning_notify(up_plugin *up, apr_pool_t *p, const up_monitor *m,
                            up_runtime *rt, const up_result *r, int64_t now_ms);

/* push.c */
cb_status up_push_route(cb_req *req, void *plugin_state);
const char *up_push_evaluate(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t now_ms,
                             up_result *out);

/* status.c */
cb_status up_status_json(cb_req *req, void *plugin_state);
/* A field of a monitor's state hash in Redis, or NULL. */
const char *up_state_field(up_plugin *up, apr_pool_t *p, const char *monitor, const char *field);
int up_recent_stats(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t since_ms,
                    double *uptime_pct, int64_t *avg_ms, int64_t *p95_ms);

/* status_page.c: the HTML status page, its style sheet and the badges. */
cb_status up_status_page(cb_req *req, void *plugin_state);
cb_status up_status_css(cb_req *req, void *plugin_state);
cb_status up_status_badge(cb_req *req, void *plugin_state);
const char *up_uptime_class(int64_t checks, int64_t ups);

/* status_cache.c: rendered status documents per process (see the file). */
typedef struct up_status_cache up_status_cache;
/* Renders a document into p; *len its length. */
typedef const char *(*up_render_fn)(up_plugin *up, apr_pool_t *p, const void *baton,
                                    size_t *len);
/* NULL when the lock cannot be made; ttl_ms 0: every request renders. */
up_status_cache *up_status_cache_create(apr_pool_t *p, int64_t ttl_ms);
/* A state changed: every cached document is rendered again when next asked. */
void up_status_cache_invalidate(up_status_cache *c);
/* Answers req with the document key (rendering it with render(baton) when
 * needed), its ETag, Last-Modified and X-Cache-Status, or 304. The caller
 * sets Content-Type and the other headers first. */
cb_status up_status_cache_serve(up_plugin *up, cb_req *req, const char *key,
                                up_render_fn render, const void *baton);

/* 1 when an If-None-Match header value (a list of entity tags, weak or
 * strong, or "*") names etag (a quoted tag): weak comparison, as a GET
 * wants. Pure; the unit suite and fuzz_uptime drive it. */
int up_etag_listed(const char *list, const char *etag);

/* status_script.c: the page's same-origin script (refresh in place). */
cb_status up_status_script(cb_req *req, void *plugin_state);

/* scheduler.c */
void up_tick(void *plugin_state, apr_pool_t *scratch);
/* Unix ms the slot holding now_ms began: the same on every node. */
int64_t up_slot_start_ms(const up_monitor *m, int64_t now_ms);

/* notify.c: transitions to the core notifier (see docs/plugins/uptime.md,
 * "Notifications"). */
void up_on_transition(up_plugin *up, apr_pool_t *p, const up_transition *t);
/* The message cb_notify gets for t (title, detail, idempotency key
 * "uptime:NAME:KIND:SLOT_START_MS", equal on every node that sees t in
 * the same slot). Pure; the unit suite drives it. */
void up_notify_message(apr_pool_t *p, const up_transition *t, cb_notify_message *out);
/* "1h 2m 3s" (the largest three units; "0s" for less than a second). */
const char *up_duration_text(apr_pool_t *p, int64_t ms);
#endif
