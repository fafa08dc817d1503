/*
 * wallet.h: the wallet plugin's shared types: the plugin's state, a
 * `meter` line (a path pattern and a price), the amount and body parsers,
 * the ledger operations on Redis (ledger.c) and the route handlers.
 * See docs/plugins/wallet.md.
 */
#ifndef CB_WALLET_H
#define CB_WALLET_H
#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/notify.h"
#include "cloudbase/redis.h"

/* The largest amount and balance: 2^53 - 1, so that every amount is exact
 * in JSON numbers of every client and in Redis's Lua (doubles). */
#define WALLET_MAX_AMOUNT INT64_C(9007199254740991)

typedef enum {
    WALLET_PER_CALL = 0,   /* N/call */
    WALLET_PER_SECOND,     /* N/s of the answer's duration */
    WALLET_PER_MIB,        /* N/MiB of body bytes in and out */
    WALLET_PER_1K_TOKENS   /* N/1k-tokens of the answer's usage (AI routes) */
} wallet_unit;

/* One `meter PATTERN PRICE [cap=N]` line. */
typedef struct wallet_meter {
    const char *pattern;          /* as written: /v1/functions/ and a star */
    const char *const *segments;  /* the pattern split on '/' */
    int nsegments;
    int rest;                     /* the last segment is "*": it takes the rest */
    int64_t price;                /* minor units per unit */
    wallet_unit unit;
    int64_t cap;                  /* what is reserved: price for N/call, cap= otherwise */
} wallet_meter;

/* Voiding a reservation whose answer never came back (ledger.c, voids.c). */
#define WALLET_VOID_MARK_MS 600000      /* a late reserve of the decision refuses for this long */
#define WALLET_VOID_LOOKBACK_MS 60000   /* entries this much older than the reserve end the search */
#define WALLET_VOID_MAX_SCAN 20000      /* entries searched at most */
#define WALLET_VOID_RETRY_MS 600000     /* how long a void that cannot reach Redis is retried */
#define WALLET_VOID_PENDING 256         /* voids waiting for Redis, per process */
#define WALLET_VOID_RETRY_EVERY_MS 100  /* requests retry pending voids at most this often */

/* A void waiting for Redis to come back (voids.c). */
typedef struct wallet_pending_void {
    char decision_id[33];
    char request_id[65];
    int64_t reserved_ms;
} wallet_pending_void;

typedef struct wallet_plugin {
    apr_pool_t *pool;
    const char *env;
    const char *currency;
    cb_redis *redis;
    apr_array_header_t *meters;   /* of wallet_meter, in configuration order */
    int64_t hold_timeout_ms;      /* a reservation older than this is settled by the sweeper */
    int64_t idempotency_ttl_s;    /* how long an Idempotency-Key is remembered */
    const char *holder;           /* this process's lease holder id */
    cb_db *db;                    /* the ledger's durable copy; NULL without CloudBaseDatabase */
    int64_t redis_ledger_keep;    /* copied entries kept in Redis (with a database) */
    wallet_meter own_routes[2];   /* the wallet's own paths, never metered */
    cb_notifier *notifier;        /* low-balance alerts; NULL without notify lines */
    const struct auth_apikey_service *apikeys; /* the auth plugin's keys; NULL without it */
    apr_thread_mutex_t *voids_lock;            /* this process's pending voids (voids.c) */
    wallet_pending_void voids[WALLET_VOID_PENDING];
    int void_count;                            /* under voids_lock */
    volatile apr_uint32_t voids_pending;       /* void_count, for a peek without the lock */
    int64_t voids_tried_ms;                    /* the last retry of the pending voids */
} wallet_plugin;

/* ---- parsers (parse.c, fuzzed by fuzz_wallet) */

/* A JSON number token as an amount: digits only, no sign, fraction,
 * exponent or leading zero, from 1 to WALLET_MAX_AMOUNT. NULL when it is
 * one, else the message for the client. */
const char *wallet_parse_amount(const char *text, size_t len, int64_t *out);

/* A request body {"amount": N[, "description": "..."] | "threshold": N}:
 * `field` names the number ("amount" or "threshold"); with allow_zero the
 * number may be 0 (a threshold). description may be NULL when the route
 * takes none. NULL, or the message for the client. */
const char *wallet_parse_body(apr_pool_t *p, const char *body, size_t len, const char *field,
                              int allow_zero, int64_t *number, const char **description);

/* A meter line's words after `meter`: "PATTERN PRICE [cap=N]". NULL, or
 * the message for configtest. */
const char *wallet_parse_meter(apr_pool_t *p, const char *text, wallet_meter *out);

/* 1 when path (as received, before any decoding) matches the meter's
 * pattern: segment by segment, "*" takes one non-empty segment, a last "*"
 * takes one or more. */
int wallet_meter_matches(const wallet_meter *m, const char *path);

/* The cost of a settled call from its answer: the price for N/call, else
 * price times the units used rounded up, at most the cap. */
int64_t wallet_meter_cost(const wallet_meter *m, const cb_response_record *rec);

/* The cost of an N/1k-tokens call that used tokens: price times tokens
 * / 1000, rounded up, at most the cap. */
int64_t wallet_token_cost(const wallet_meter *m, int64_t tokens);

/* ---- the ledger in Redis (ledger.c) */

typedef enum {
    WALLET_OK = 0,
    WALLET_SHORT,         /* the balance does not cover it */
    WALLET_REPLAYED,      /* the Idempotency-Key was seen with the same request */
    WALLET_KEY_REUSED,    /* the Idempotency-Key was seen with another request */
    WALLET_TOO_LARGE,     /* the balance would pass WALLET_MAX_AMOUNT */
    WALLET_NOT_FOUND,     /* (void) the reservation's entry is not within the bounds */
    WALLET_DOWN           /* Redis could not be reached */
} wallet_result;


/* An entry of the ledger. */
typedef struct wallet_entry {
    int64_t id;           /* 1, 2, 3...: the order of the ledger */
    const char *type;     /* topup, charge, usage, refund */
    int64_t amount;       /* signed: what it did to the balance */
    int64_t balance_after;
    const char *request_id;
    const char *route;
    const char *plugin;   /* the plugin whose route a metered call was; NULL otherwise */
    const char *description;
    int64_t time_ms;
} wallet_entry;

/* Loads the scripts' digests; from create(). */
void wallet_ledger_init(void);
/* The balance and the alert threshold (-1 when none). */
wallet_result wallet_read(wallet_plugin *w, apr_pool_t *p, int64_t *balance, int64_t *threshold);
/* A top-up (credit) or a manual charge (debit) of amount, once per
 * idempotency key (NULL: none). On WALLET_OK and WALLET_REPLAYED, *entry_id and
 * *balance_after describe the entry; *alert is 1 when this charge took the
 * balance below the alert threshold (once per crossing). */
wallet_result wallet_post(wallet_plugin *w, apr_pool_t *p, int credit, int64_t amount,
                          const char *idempotency_key, const char *request_id, const char *route,
                          const char *description, int64_t *entry_id, int64_t *balance_after,
                          int *alert);
/* Reserves amount for one call (a usage entry carrying decision_id, 32
 * random hex); with keep_hold under that id, for wallet_settle, else the
 * amount is final unless wallet_refund gives it back. *alert_entry is the entry's id when it took
 * the balance below the alert threshold (once per crossing), else 0. */
wallet_result wallet_reserve(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                             int64_t amount, const char *request_id, const char *route,
                             const char *plugin, int keep_hold, int64_t *balance_after,
                             int64_t *alert_entry);
/* Voids the reservation of decision_id made at reserved_ms whose answer
 * never came back: refunds its usage entry if it was written (once), and
 * makes a reserve still on its way refuse. *refunded is what was given
 * back (0: nothing was charged). WALLET_NOT_FOUND when the search ended
 * at its bounds; WALLET_DOWN when Redis cannot be reached. */
wallet_result wallet_void(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                          int64_t reserved_ms, int64_t *refunded);
/* Gives back amount reserved without a hold (a refund entry). */
wallet_result wallet_refund(wallet_plugin *w, apr_pool_t *p, int64_t amount,
                            const char *request_id, const char *route, const char *plugin);
/* Settles a reservation at cost (at most what was reserved) and gives the
 * rest back (a refund entry); once per hold id. *refunded may be NULL. */
wallet_result wallet_settle(wallet_plugin *w, apr_pool_t *p, const char *hold_id, int64_t cost,
                            int64_t *refunded);
/* Sets the low-balance alert threshold (the next debit below it alerts). */
wallet_result wallet_set_threshold(wallet_plugin *w, apr_pool_t *p, int64_t threshold);
/* Entries newest first: page (from 1) of limit entries; *total is the
 * number of entries ever written. */
wallet_result wallet_entries(wallet_plugin *w, apr_pool_t *p, int64_t page, int64_t limit,
                             apr_array_header_t **entries, int64_t *total);
/* Entries in ledger order from id first (oldest first), at most count. */
wallet_result wallet_entries_from(wallet_plugin *w, apr_pool_t *p, int64_t first, int64_t count,
                                  apr_array_header_t **entries);
/* The highest id trimmed from the ledger in Redis (0: none): entries 1 to
 * it live only in the database's copy. */
wallet_result wallet_trimmed_through(wallet_plugin *w, apr_pool_t *p, int64_t *trimmed);
/* Removes entries 1 to `through` from the ledger in Redis and records it;
 * never lowers what was recorded. Only for entries the database holds. */
wallet_result wallet_trim(wallet_plugin *w, apr_pool_t *p, int64_t through);
/* Settles, at the full reservation, holds whose deadline has passed (their
 * process died, or Redis was down when the answer went out); returns how
 * many, -1 when Redis is down. */
int wallet_sweep(wallet_plugin *w, apr_pool_t *p, int max);

/* ---- reservations whose answer was lost (voids.c) */

/* From child_init: this process's pending voids. */
apr_status_t wallet_voids_init(wallet_plugin *w, apr_pool_t *child_pool);
/* Voids the reservation at once, or keeps it for wallet_voids_task when
 * Redis cannot be reached. */
void wallet_void_or_retry(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                          int64_t reserved_ms, const char *request_id);
/* Retries the pending voids of this process: from its requests (force 0:
 * at most every WALLET_VOID_RETRY_EVERY_MS) and from the task (force 1). */
void wallet_voids_flush(wallet_plugin *w, apr_pool_t *p, int force);
/* Retries the pending voids when this is the tasks' process. */
void wallet_voids_task(void *state, apr_pool_t *scratch);

/* ---- the ledger's copy in the database (ledger_db.c) */

extern const cb_db_migration wallet_migrations[];
/* Copies entries not yet in the database, in ledger order, at most max;
 * idempotent by entry id. Returns how many were new, -1 on failure. */
int wallet_copy_ledger(wallet_plugin *w, apr_pool_t *p, int max);
void wallet_copy_task(void *state, apr_pool_t *scratch);
/* The database's entries from id `from` to id `to` (both included), in
 * that direction (from > to: newest first), appended to entries. */
apr_status_t wallet_db_entries(wallet_plugin *w, apr_pool_t *p, int64_t from, int64_t to,
                               apr_array_header_t *entries);

/* ---- reconciliation (reconcile.c) */

/* Checks that the balance equals the sum of the ledger, that the entries
 * chain (each balance_after is the one before plus its amount), and that
 * the database's copy agrees entry by entry with Redis. *report is
 * {ok, balance, ledger_sum, entries, copied, not_yet_copied, differences}.
 * Returns WALLET_DOWN when Redis (or the database) cannot be read. */
wallet_result wallet_reconcile(wallet_plugin *w, apr_pool_t *p, cb_json **report);

/* ---- low-balance alerts (alert.c) */

/* Queues the alert for the entry that took the balance below the
 * threshold (idempotent per entry); logs when it cannot. */
void wallet_alert_low_balance(wallet_plugin *w, apr_pool_t *p, int64_t entry_id,
                              int64_t balance);

/* ---- routes (routes.c) and metering (metering.c) */

/* CB_OK when the caller may use the wallet of the route's slug (an API
 * key of this environment, the admin key when admin_only); else the
 * refusal, answered. */
cb_status wallet_check_caller(cb_req *req, int admin_only);
/* {success: true, data}. */
cb_status wallet_send_data(cb_req *req, int status, cb_json *data);
/* A UTC day "YYYY-MM-DD" as the milliseconds of its start; NULL or the
 * message for the client (usage.c). */
const char *wallet_parse_day(const char *text, int64_t *day_ms);

cb_status wallet_get_route(cb_req *req, void *state);
cb_status wallet_usage_route(cb_req *req, void *state);
cb_status wallet_transactions_route(cb_req *req, void *state);
cb_status wallet_topup_route(cb_req *req, void *state);
cb_status wallet_charge_route(cb_req *req, void *state);
cb_status wallet_alert_route(cb_req *req, void *state);
cb_status wallet_reconcile_route(cb_req *req, void *state);

cb_status wallet_access_policy(cb_req *req, void *state);
void wallet_after_response(cb_req *req, void *state, const cb_response_record *rec);
void wallet_sweep_task(void *state, apr_pool_t *scratch);

/* ---- the TOSE api-keys routes over the auth plugin's service (apikeys.c) */

/* Looks the auth plugin's "auth.apikeys" service up (the resolve hook). */
cb_status wallet_resolve(cb_plugin_ctx *ctx, void *state);
cb_status wallet_apikey_create_route(cb_req *req, void *state);
cb_status wallet_apikey_list_route(cb_req *req, void *state);
cb_status wallet_apikey_revoke_route(cb_req *req, void *state);
/* ISO 8601 UTC with milliseconds (routes.c). */
const char *wallet_iso_time(apr_pool_t *p, int64_t ms);

#endif
