/*
 * ratelimit.c: the rate-limit and quota policy (CloudBaseRateLimit).
 *
 * Each rule names a path prefix, a limit per window and what the counter is
 * keyed by. Every rule that applies to a request is decided in one EVALSHA:
 * a sliding window kept as up to 61 buckets per key (60 whole ones cover
 * the window, plus the current one), so no window of the
 * configured length ever holds more than the limit, whatever the
 * concurrency. A request refused by any rule counts on none, and every key
 * carries a TTL of a little more than one window. Busy keys take leases
 * (ratelimit_lease.c) so they do not cost a round trip per request. While Redis is down each rule follows its
 * redis_down policy: per-node counters (the default), open or closed.
 */
#include <string.h>

#include <apr_strings.h>

#include "ratelimit.h"
#include "cloudbase/values.h"

#define MAX_RULES_PER_REQUEST CB_RL_MAX_RULES_PER_REQUEST
#define LOCAL_SLOTS 4096

/* KEYS: one hash per rule. ARGV: per rule limit, buckets, bucket_ms,
 * want_lease, refund_units, refund_bucket. Hash fields: t = requests counted
 * in the window, o = oldest bucket that may hold some, and one field per
 * bucket index. Returns {allowed, then per rule remaining (-1: refused),
 * reset_ms, units granted, bucket}. Time is Redis's, so every node agrees.
 * The common case (nothing expired, under the limit) costs HMGET and two
 * HINCRBYs; expiry, the TTL and the exact reset of a refusal are paid only
 * when they change. A lease is at most 64 units and at most 1/64 of what is
 * left, so near the limit every request is decided here. */
static const char *const window_script =
    "local tm = redis.call('TIME')\n"
    "local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)\n"
    "local out, st, allowed = {0}, {}, 1\n"
    "for i = 1, #KEYS do\n"
    "  local k, a = KEYS[i], (i - 1) * 6\n"
    "  local limit, nb, size = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])\n"
    "  local want, refund, rbucket = ARGV[a+4] == '1', tonumber(ARGV[a+5]), tonumber(ARGV[a+6])\n"
    "  local cur = math.floor(now / size)\n"
    "  local first = cur - nb + 1\n"
    "  local f = redis.call('HMGET', k, 't', 'o')\n"
    "  local total, oldest = tonumber(f[1]) or 0, tonumber(f[2]) or cur\n"
    "  local moved = not f[2]\n"
    "  if total > 0 and oldest < first then\n"
    "    moved = true\n"
    "    if first - oldest >= nb then\n"
    "      redis.call('DEL', k)\n"
    "      total = 0\n"
    "    else\n"
    "      for b = oldest, first - 1 do\n"
    "        local c = redis.call('HGET', k, b)\n"
    "        if c then total = total - tonumber(c); redis.call('HDEL', k, b) end\n"
    "      end\n"
    "    end\n"
    "    oldest = first\n"
    "  end\n"
    "  if refund > 0 and total > 0 and rbucket >= oldest and rbucket <= cur then\n"
    "    local c = tonumber(redis.call('HGET', k, rbucket) or 0)\n"
    "    if c > refund then c = refund end\n"
    "    if c > 0 then redis.call('HINCRBY', k, rbucket, -c); total = total - c; moved = true end\n"
    "  end\n"
    "  if total <= 0 then\n"
    "    if oldest ~= cur then moved = true end\n"
    "    total = 0; oldest = cur\n"
    "  end\n"
    "  local grant = 1\n"
    "  if total >= limit then\n"
    "    allowed = 0\n"
    "    while oldest < cur and redis.call('HEXISTS', k, oldest) == 0 do\n"
    "      oldest = oldest + 1; moved = true\n"
    "    end\n"
    "    out[#out+1] = -1\n"
    "  else\n"
    "    if want then grant = math.max(1, math.min(64, math.floor((limit - total) / 64))) end\n"
    "    out[#out+1] = limit - total - 1\n"
    "  end\n"
    "  out[#out+1] = (oldest + nb) * size - now\n"
    "  out[#out+1] = grant\n"
    "  out[#out+1] = cur\n"
    "  st[i] = {k, cur, oldest, total, moved, (cur + nb + 1) * size - now, grant}\n"
    "end\n"
    "out[1] = allowed\n"
    "for i = 1, #KEYS do\n"
    "  local s = st[i]\n"
    "  if allowed == 1 then\n"
    "    if redis.call('HINCRBY', s[1], s[2], s[7]) == s[7] then redis.call('PEXPIRE', s[1], s[6]) end\n"
    "    if s[5] then redis.call('HSET', s[1], 't', s[4] + s[7], 'o', s[3])\n"
    "    else redis.call('HINCRBY', s[1], 't', s[7]) end\n"
    "  elseif s[5] and s[4] > 0 then\n"
    "    redis.call('HSET', s[1], 't', s[4], 'o', s[3])\n"
    "  elseif s[5] then\n"
    "    redis.call('DEL', s[1])\n"
    "  end\n"
    "end\n"
    "return out\n";

static cb_redis_script script;
static int script_ready;

static int rule_applies(const cb_rl_rule *r, const char *path);

/* The rules that apply to one path are those whose prefix is a leading
 * segment of it; they form a chain, the longest of which is itself a path
 * every other one applies to. So the most rules any request can carry is
 * the most that apply to one rule's own prefix (a rule written twice counts
 * once, as at run time). */
int cb_ratelimit_max_rules_per_path(const apr_array_header_t *rules)
{
    int most = 0;
    for (int j = 0; j < rules->nelts; j++) {
        const cb_rl_rule *at = &APR_ARRAY_IDX(rules, j, cb_rl_rule);
        int n = 0;
        for (int i = 0; i < rules->nelts; i++) {
            const cb_rl_rule *r = &APR_ARRAY_IDX(rules, i, cb_rl_rule);
            int repeated = 0;
            if (!rule_applies(r, at->prefix))
                continue;
            for (int k = 0; k < i && !repeated; k++)
                repeated = strcmp(APR_ARRAY_IDX(rules, k, cb_rl_rule).id, r->id) == 0 &&
                           rule_applies(&APR_ARRAY_IDX(rules, k, cb_rl_rule), at->prefix);
            n += !repeated;
        }
        if (n > most)
            most = n;
    }
    return most;
}

const char *cb_ratelimit_check_rules(apr_pool_t *p, const apr_array_header_t *rules)
{
    int most = cb_ratelimit_max_rules_per_path(rules);
    if (most > MAX_RULES_PER_REQUEST)
        return apr_psprintf(p, "CloudBaseRateLimit: %d rules can apply to one request, at most "
                            "%d can; merge rules with the same path prefix or narrow their "
                            "prefixes", most, MAX_RULES_PER_REQUEST);
    return NULL;
}

cb_ratelimit *cb_ratelimit_create(apr_pool_t *p, const apr_array_header_t *rules, int nodes)
{
    cb_ratelimit *rl = apr_pcalloc(p, sizeof(*rl));
    rl->rules = apr_array_copy(p, rules);
    rl->nodes = nodes > 0 ? nodes : 1;
    rl->local = cb_rl_local_create(p, LOCAL_SLOTS);
    if (!rl->local)
        return NULL; /* no per-node counters: the caller fails start-up */
    rl->leases = cb_rl_leases_create(p);
    if (!script_ready) {
        cb_redis_script_init(&script, window_script);
        script_ready = 1;
    }
    return rl;
}

/* ------------------------------------------------------------- deciding */

static int rule_applies(const cb_rl_rule *r, const char *path)
{
    if (strncmp(path, r->prefix, r->prefix_len) != 0)
        return 0;
    /* "/v1/functions" covers "/v1/functions/x" but not "/v1/functionsx". */
    return r->prefix[r->prefix_len - 1] == '/' || path[r->prefix_len] == '\0' ||
           path[r->prefix_len] == '/';
}

/* The matched route with its named parameters filled in; a {rest*} tail
 * stays a pattern, so one service is one counter whatever the path. */
static const char *route_scope(cb_req *req)
{
    const char *pattern = req->match.route ? req->match.route->def.pattern : req->path;
    const char *out = "";
    while (*pattern) {
        const char *open = strchr(pattern, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            out = apr_pstrcat(req->pool, out, pattern, NULL);
            break;
        }
        out = apr_pstrcat(req->pool, out, apr_pstrmemdup(req->pool, pattern,
                                                         (apr_size_t)(open - pattern)), NULL);
        if (close[-1] == '*') {
            out = apr_pstrcat(req->pool, out, apr_pstrmemdup(req->pool, open,
                                                             (apr_size_t)(close - open + 1)),
                              NULL);
        }
        else {
            const char *name = apr_pstrmemdup(req->pool, open + 1, (apr_size_t)(close - open - 1));
            const char *value = cb_req_param(req, name);
            out = apr_pstrcat(req->pool, out, value ? value : "", NULL);
        }
        pattern = close + 1;
    }
    return out;
}

/* Whose counter: the tag and the value (both "" when the rule counts
 * everyone together). */
static void who(const cb_req *req, unsigned by, const char **tag, const char **value)
{
    const cb_identity *id = &req->identity;
    *tag = *value = "";
    if ((by & CB_RL_BY_KEY) && id->kind == CB_IDENTITY_KEY && id->uid) {
        *tag = ":k=";
        *value = id->uid;
    }
    else if ((by & (CB_RL_BY_KEY | CB_RL_BY_USER)) && id->kind != CB_IDENTITY_NONE && id->uid) {
        *tag = ":u=";
        *value = id->uid;
    }
    else if (by & (CB_RL_BY_KEY | CB_RL_BY_USER | CB_RL_BY_IP)) {
        *tag = ":ip=";
        *value = req->client_ip ? req->client_ip : "-";
    }
}

static const char *counter_key(cb_req *req, const cb_rl_rule *r)
{
    const char *tag, *value;
    who(req, r->by, &tag, &value);
    return cb_redis_key(req->pool, req->env->id, "rl",
                        apr_pstrcat(req->pool, r->id, (r->by & CB_RL_BY_ROUTE) ? ":r=" : "",
                                    (r->by & CB_RL_BY_ROUTE) ? route_scope(req) : "", tag,
                                    value, NULL),
                        NULL);
}

/* Whole seconds, rounded up, at least one. */
static int64_t reset_seconds(const cb_rl_verdict *v)
{
    int64_t seconds = (v->reset_ms + 999) / 1000;
    return seconds < 1 ? 1 : seconds;
}

static void set_headers(cb_req *req, const cb_rl_verdict *v)
{
    int64_t reset_s = reset_seconds(v);
    /* apr_off_t_toa, not apr_psprintf: every allowed call sets these. */
    const char *reset = apr_off_t_toa(req->pool, (apr_off_t)reset_s);
    apr_table_setn(req->headers_out, "RateLimit-Limit",
                   apr_off_t_toa(req->pool, (apr_off_t)v->limit));
    apr_table_setn(req->headers_out, "RateLimit-Remaining",
                   apr_off_t_toa(req->pool, (apr_off_t)(v->remaining > 0 ? v->remaining : 0)));
    apr_table_setn(req->headers_out, "RateLimit-Reset", reset);
    if (!v->allowed)
        apr_table_setn(req->headers_out, "Retry-After", reset);
}

static int refuse(cb_req *req, const cb_rl_verdict *v)
{
    set_headers(req, v);
    cb_req_fail(req, 429, "RATE_LIMITED",
                apr_psprintf(req->pool, "rate limit of %" APR_INT64_T_FMT " requests exceeded; "
                             "retry after %" APR_INT64_T_FMT " s", v->limit,
                             reset_seconds(v)));
    return 0;
}

void cb_rl_keep_tightest(cb_rl_verdict *best, const cb_rl_verdict *v, int first)
{
    if (first || (!v->allowed && best->allowed))
        *best = *v;
    else if (!v->allowed && !best->allowed)
        *best = v->reset_ms > best->reset_ms ? *v : *best;
    else if (v->allowed && best->allowed &&
             (v->remaining < best->remaining ||
              (v->remaining == best->remaining && v->reset_ms > best->reset_ms)))
        *best = *v;
}

/* Decides the rules no live lease served, in one EVALSHA; keeps the units
 * granted beyond this request as leases. 0 when Redis could not answer. */
static int decide_in_redis(cb_req *req, int n, const cb_rl_rule *const *rules,
                           const char *const *keys, const cb_rl_lease_take *taken,
                           cb_rl_verdict *out, int *first)
{
    cb_ratelimit *rl = req->env->ratelimit;
    const char *argv[MAX_RULES_PER_REQUEST * 7];
    size_t argv_len[MAX_RULES_PER_REQUEST * 7];
    int index[MAX_RULES_PER_REQUEST];
    const cb_redis_reply *reply;
    apr_time_t now;
    int argc = 0, m = 0;
    for (int i = 0; i < n; i++)
        if (!taken[i].local) {
            index[m++] = i;
            argv[argc++] = keys[i];
        }
    if (!m)
        return 1;
    for (int j = 0; j < m; j++) {
        const cb_rl_rule *r = rules[index[j]];
        const cb_rl_lease_take *t = &taken[index[j]];
        argv[argc++] = apr_psprintf(req->pool, "%" APR_INT64_T_FMT, r->limit);
        argv[argc++] = apr_psprintf(req->pool, "%" APR_INT64_T_FMT, r->buckets);
        argv[argc++] = apr_psprintf(req->pool, "%" APR_INT64_T_FMT, r->bucket_ms);
        argv[argc++] = r->leases && rl->leases ? "1" : "0";
        argv[argc++] = apr_psprintf(req->pool, "%" APR_INT64_T_FMT, t->refund_units);
        argv[argc++] = apr_psprintf(req->pool, "%" APR_INT64_T_FMT, t->refund_bucket);
    }
    for (int i = 0; i < argc; i++)
        argv_len[i] = strlen(argv[i]);
    if (!req->env->redis ||
        cb_redis_eval(req->env->redis, req->pool, &script, m, argc, argv, argv_len, &reply) !=
            APR_SUCCESS ||
        cb_redis_reply_count(reply) != (size_t)(1 + 4 * m))
        return 0;
    now = apr_time_now();
    for (int j = 0; j < m; j++) {
        const cb_rl_rule *r = rules[index[j]];
        int64_t e[4]; /* remaining (-1: this rule refused), reset, granted, bucket */
        cb_rl_verdict v;
        for (int k = 0; k < 4; k++)
            e[k] = cb_redis_reply_integer(cb_redis_reply_element(reply, (size_t)(1 + 4 * j + k)));
        v.allowed = e[0] >= 0;
        v.limit = r->limit;
        v.remaining = e[0] > 0 ? e[0] : 0;
        v.reset_ms = e[1];
        if (cb_redis_reply_integer(cb_redis_reply_element(reply, 0)) == 1 && e[2] > 1) {
            int64_t lifetime = r->bucket_ms < 1000 ? r->bucket_ms : 1000;
            cb_rl_leases_store(rl->leases, keys[index[j]], e[2] - 1, e[3],
                               now + apr_time_from_msec(lifetime), &v, now);
        }
        cb_rl_keep_tightest(out, &v, *first);
        *first = 0;
    }
    return 1;
}

/* Redis is down: each rule's redis_down policy. Local rules are decided
 * together, all or nothing, like the Redis script. */
static int decide_without_redis(cb_req *req, int n, const cb_rl_rule *const *rules,
                                const char *const *keys, cb_rl_verdict *out)
{
    cb_ratelimit *rl = req->env->ratelimit;
    const char *local_keys[MAX_RULES_PER_REQUEST];
    int64_t limits[MAX_RULES_PER_REQUEST], windows[MAX_RULES_PER_REQUEST];
    int local = 0;
    for (int i = 0; i < n; i++) {
        if (rules[i]->redis_down == CB_RL_DOWN_CLOSED) {
            cb_req_fail(req, 503, "SERVICE_UNAVAILABLE",
                        "rate limits cannot be checked right now; try again shortly");
            return 0;
        }
        if (rules[i]->redis_down != CB_RL_DOWN_LOCAL)
            continue;
        local_keys[local] = keys[i];
        limits[local] = rules[i]->limit / rl->nodes > 0 ? rules[i]->limit / rl->nodes : 1;
        windows[local] = rules[i]->window_ms;
        local++;
    }
    if (!local)
        return 1; /* open */
    cb_rl_local_decide(rl->local, local, local_keys, limits, windows,
                       apr_time_as_msec(apr_time_now()), out);
    if (!out->allowed)
        return refuse(req, out);
    set_headers(req, out);
    return 1;
}

int cb_ratelimit_check(cb_req *req)
{
    cb_ratelimit *rl = req->env->ratelimit;
    const cb_rl_rule *applies[MAX_RULES_PER_REQUEST];
    const char *keys[MAX_RULES_PER_REQUEST];
    cb_rl_lease_take taken[MAX_RULES_PER_REQUEST];
    cb_rl_verdict verdict;
    apr_time_t now;
    int n = 0, first = 1;
    if (!rl || req->preflight)
        return 1;
    for (int i = 0; i < rl->rules->nelts; i++) {
        const cb_rl_rule *r = &APR_ARRAY_IDX(rl->rules, i, cb_rl_rule);
        if (rule_applies(r, req->path)) {
            int duplicate = 0;
            if (n == MAX_RULES_PER_REQUEST) {
                /* cb_ratelimit_check_rules refuses such a configuration at
                 * configtest; should one get here, refuse rather than skip
                 * a rule. */
                cb_req_fail(req, 503, "SERVICE_UNAVAILABLE",
                            "rate limits cannot be checked right now; try again shortly");
                return 0;
            }
            applies[n] = r;
            keys[n] = counter_key(req, r);
            /* The same rule written twice must not count twice. */
            for (int j = 0; j < n; j++)
                duplicate |= strcmp(keys[j], keys[n]) == 0;
            if (!duplicate)
                n++;
        }
    }
    if (!n)
        return 1;
    memset(&verdict, 0, sizeof(verdict));
    now = apr_time_now();
    /* Busy keys spend their live leases here; the rest go to Redis. */
    cb_rl_leases_take(rl->leases, n, keys, now, taken);
    for (int i = 0; i < n; i++)
        if (taken[i].local) {
            cb_rl_keep_tightest(&verdict, &taken[i].verdict, first);
            first = 0;
        }
    if (!decide_in_redis(req, n, applies, keys, taken, &verdict, &first)) {
        cb_rl_leases_untake(rl->leases, n, keys, taken, now);
        memset(&verdict, 0, sizeof(verdict));
        return decide_without_redis(req, n, applies, keys, &verdict);
    }
    if (!verdict.allowed) {
        /* Refused by one rule: the others' lease units were not spent. */
        cb_rl_leases_untake(rl->leases, n, keys, taken, now);
        return refuse(req, &verdict);
    }
    set_headers(req, &verdict);
    return 1;
}
