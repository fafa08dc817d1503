/*
 * ratelimit.h: rate limits and quotas, a policy any gateway route can carry
 * (CloudBaseRateLimit). The shared decision is one atomic Redis script per
 * request (ratelimit.c); while Redis is down, per-node counters in shared
 * memory take over with the limit divided by the node count
 * (ratelimit_local.c).
 */
#ifndef CB_RATELIMIT_H
#define CB_RATELIMIT_H

#include <string.h>

#include "cb_core.h"
#include "cloudbase/encoding.h"

/* FNV-1a (cloudbase/encoding.h) over a string, continuing from h (start
 * with CB_FNV1A_INIT): rule ids and the slots of the per-process and
 * per-node tables. */
#define cb_rl_hash(h, s) cb_fnv1a((h), (s), strlen(s))

/* What a counter is keyed by; combined with '+' (by=user+route). */
#define CB_RL_BY_ENV   0x01  /* one counter for the environment */
#define CB_RL_BY_ROUTE 0x02  /* the matched route with its parameters */
#define CB_RL_BY_KEY   0x04  /* the API key (else the user, else the IP) */
#define CB_RL_BY_USER  0x08  /* the signed-in user or key (else the IP) */
#define CB_RL_BY_IP    0x10  /* the client address */

typedef enum {
    CB_RL_DOWN_LOCAL = 0, /* per-node counters, limit / CloudBaseNodeCount */
    CB_RL_DOWN_OPEN,      /* let requests through uncounted */
    CB_RL_DOWN_CLOSED     /* refuse with 503 */
} cb_rl_down_policy;

typedef struct cb_rl_rule {
    const char *text;          /* as configured, for messages */
    const char *prefix;        /* path prefix the rule applies to */
    size_t prefix_len;
    int64_t limit;             /* requests per window */
    int64_t window_ms;
    int64_t bucket_ms;         /* sliding-window resolution: ceil(window / 60) */
    int64_t buckets;           /* buckets counted: (buckets - 2) * bucket_ms >= window_ms,
                                * at most 62: the current partial bucket and one
                                * more for the lifetime of a lease */
    unsigned by;               /* CB_RL_BY_* */
    cb_rl_down_policy redis_down;
    int leases;                /* 1: busy keys may take leases (leases=on, default) */
    char id[17];               /* stable across restarts: hash of the rule */
} cb_rl_rule;

/* Parses "PATH LIMIT/WINDOW [by=ip|user|key|route|env[+...]]
 * [redis_down=local|open|closed]"; returns an error with the fix. */
const char *cb_rl_rule_parse(apr_pool_t *p, const char *args, cb_rl_rule *out);
/* Parses "100/1m" into a limit and a window. */
const char *cb_rl_parse_rate(const char *text, int64_t *limit, int64_t *window_ms);

/* Per-node fallback counters (ratelimit_local.c). */
typedef struct cb_rl_local cb_rl_local;
cb_rl_local *cb_rl_local_create(apr_pool_t *p, int slots);

typedef struct cb_rl_verdict {
    int allowed;
    int64_t limit, remaining, reset_ms;
} cb_rl_verdict;

/* Folds one rule's verdict into what the headers report: when refused, the
 * refusing rule that frees up last (so Retry-After is never too early);
 * otherwise the rule with the fewest requests left. */
void cb_rl_keep_tightest(cb_rl_verdict *best, const cb_rl_verdict *v, int first);

/* Checks and, when every key is under its limit, counts one request on all
 * of them at once, however many. limits[i] already divided by the node
 * count. Without a table (t NULL) it refuses. */
void cb_rl_local_decide(cb_rl_local *t, int n, const char *const *keys,
                        const int64_t *limits, const int64_t *windows_ms, int64_t now_ms,
                        cb_rl_verdict *out);

/* Per-process leases (ratelimit_lease.c): units counted in Redis ahead of
 * use, so a busy key does not cost a round trip per request. */
typedef struct cb_rl_leases cb_rl_leases;

typedef struct cb_rl_lease_take {
    int local;                 /* 1: this key's unit came from a live lease */
    cb_rl_verdict verdict;     /* for a local unit: what the headers say */
    int64_t refund_units;      /* a dead lease's unspent units, to give back */
    int64_t refund_bucket;
} cb_rl_lease_take;

cb_rl_leases *cb_rl_leases_create(apr_pool_t *p);
/* Takes one unit of each key's live lease (tentatively: untake gives it
 * back) and hands over the unspent units of dead leases for refunding. */
void cb_rl_leases_take(cb_rl_leases *l, int n, const char *const *keys, apr_time_t now,
                       cb_rl_lease_take *out);
void cb_rl_leases_untake(cb_rl_leases *l, int n, const char *const *keys,
                         const cb_rl_lease_take *taken, apr_time_t now);
/* Keeps units granted beyond the current request, counted in `bucket`. */
void cb_rl_leases_store(cb_rl_leases *l, const char *key, int64_t units, int64_t bucket,
                        apr_time_t expires, const cb_rl_verdict *v, apr_time_t now);

/* The most rules one request may carry; a configuration where more can
 * apply to one path fails configtest (cb_ratelimit_check_rules). */
#define CB_RL_MAX_RULES_PER_REQUEST 16

/* The most rules (a repeated rule once) that apply to any one path. */
int cb_ratelimit_max_rules_per_path(const apr_array_header_t *rules);
/* NULL when no path can carry more than CB_RL_MAX_RULES_PER_REQUEST rules,
 * else the configtest message with the fix. */
const char *cb_ratelimit_check_rules(apr_pool_t *p, const apr_array_header_t *rules);

struct cb_ratelimit {
    apr_array_header_t *rules; /* cb_rl_rule */
    int nodes;                 /* CloudBaseNodeCount */
    cb_rl_local *local;
    cb_rl_leases *leases;
};

/* NULL when the per-node counters cannot be made (start-up must fail). */
cb_ratelimit *cb_ratelimit_create(apr_pool_t *p, const apr_array_header_t *rules, int nodes);
/* The policy phase: 1 to go on, 0 when refused (the error is set). */
int cb_ratelimit_check(cb_req *req);

#endif
