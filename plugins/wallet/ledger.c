/*
 * ledger.c: the wallet's state in Redis, changed only by Lua scripts that
 * check, move the balance and append the ledger entry in one atomic step.
 *
 * Keys (all in the environment's hash slot, all passed in KEYS):
 *   cb:{env}:wallet          hash: balance, seq (entries written), threshold,
 *                            trimmed (entries 1..trimmed live only in the database)
 *   cb:{env}:wallet:ledger   stream of entries with ids 0-1, 0-2, ... (id = seq),
 *                            fields type, amount (signed), balance (after),
 *                            request_id, route, plugin (of metered calls),
 *                            description, time (ms)
 *   cb:{env}:wallet:holds    hash: hold id -> "AMOUNT\\nREQUEST_ID\\nROUTE\\nPLUGIN" (no
 *                            PLUGIN in holds written before it was kept), open reservations
 *   cb:{env}:wallet:hold-due sorted set: hold id by the time the sweeper settles it
 *   cb:{env}:wallet:idem:H   "TYPE:AMOUNT:ID:BALANCE" of the entry a top-up or
 *                            charge with Idempotency-Key (SHA-256 H) wrote
 *
 * The balance never goes below 0 and never above 2^53 - 1, so the Lua
 * numbers (doubles) that scripts compare are exact. Numbers go to Redis as
 * arguments of redis.call (written exactly) or through %d; never through
 * Lua's own number-to-string (14 digits).
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/crypto.h"
#include "cloudbase/values.h"
#include "wallet.h"

/* The low-balance alert: a debit that leaves the balance below the
 * threshold sets `alerted` and says so (alert = 1), once; a credit that
 * lifts it to the threshold or above clears it, so the next crossing
 * alerts again. */

/* KEYS: wallet, ledger, holds, due, the decision's void marker. ARGV:
 * decision id (the hold id when held), amount, request id, route, now ms,
 * due ms, "1" to keep a hold for the settlement ("0": the amount is the
 * price, final unless refunded), the plugin whose route it is. {1,
 * balance, id of the entry that crossed the alert threshold or 0}
 * reserved; {0, balance} short; {3, 0} voided before it ran (its caller
 * gave up waiting). */
static const char reserve_source[] =
    "if redis.call('EXISTS', KEYS[5]) == 1 then return {3, 0} end\n"
    "local bal = tonumber(redis.call('HGET', KEYS[1], 'balance') or '0')\n"
    "local amt = tonumber(ARGV[2])\n"
    "local held = ARGV[7] == '1'\n"
    "if held and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return {2, bal} end\n"
    "if bal < amt then return {0, bal} end\n"
    "bal = redis.call('HINCRBY', KEYS[1], 'balance', -amt)\n"
    "local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "redis.call('XADD', KEYS[2], string.format('0-%d', seq), 'type', 'usage', "
    "'amount', '-' .. ARGV[2], 'balance', bal, 'request_id', ARGV[3], 'route', ARGV[4], "
    "'plugin', ARGV[8], 'decision', ARGV[1], 'time', ARGV[5])\n"
    "if held then\n"
    "  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4] .. "
    "'\\n' .. ARGV[8])\n"
    "  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])\n"
    "end\n"
    "local thr = tonumber(redis.call('HGET', KEYS[1], 'threshold') or '-1')\n"
    "local alert = 0\n"
    "if thr >= 0 and bal < thr and redis.call('HGET', KEYS[1], 'alerted') ~= '1' then\n"
    "  redis.call('HSET', KEYS[1], 'alerted', '1')\n"
    "  alert = 1\n"
    "end\n"
    "return {1, bal, alert * seq}\n";

/* KEYS: wallet, ledger, holds, due. ARGV: hold id, cost (-1: all of it),
 * now ms. {1, refunded} settled; {0, 0} already settled (or never held). */
static const char settle_source[] =
    "local hold = redis.call('HGET', KEYS[3], ARGV[1])\n"
    "if not hold then return {0, 0} end\n"
    "local a = string.find(hold, '\\n', 1, true)\n"
    "local reserved = tonumber(string.sub(hold, 1, a - 1))\n"
    "local rest = string.sub(hold, a + 1)\n"
    "local b = string.find(rest, '\\n', 1, true)\n"
    "local rid, route = string.sub(rest, 1, b - 1), string.sub(rest, b + 1)\n"
    "local plugin = ''\n"
    "local c = string.find(route, '\\n', 1, true)\n"
    "if c then route, plugin = string.sub(route, 1, c - 1), string.sub(route, c + 1) end\n"
    "local cost = tonumber(ARGV[2])\n"
    "if cost < 0 or cost > reserved then cost = reserved end\n"
    "redis.call('HDEL', KEYS[3], ARGV[1])\n"
    "redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "local refund = reserved - cost\n"
    "if refund > 0 then\n"
    "  local bal = redis.call('HINCRBY', KEYS[1], 'balance', refund)\n"
    "  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "  redis.call('XADD', KEYS[2], string.format('0-%d', seq), 'type', 'refund', "
    "'amount', refund, 'balance', bal, 'request_id', rid, 'route', route, 'plugin', plugin, "
    "'time', ARGV[3])\n"
    "  local thr = tonumber(redis.call('HGET', KEYS[1], 'threshold') or '-1')\n"
    "  if thr < 0 or bal >= thr then redis.call('HDEL', KEYS[1], 'alerted') end\n"
    "end\n"
    "return {1, refund}\n";

/* KEYS: wallet, ledger, the decision's void marker, holds, due. ARGV:
 * decision id, marker ttl ms, oldest time ms to look back to, most entries
 * to look at, now ms. Voids a reservation whose answer never came back
 * (Redis was slow or the connection broke): marks the decision void, so a
 * reserve still on its way refuses, then looks back through the newest
 * entries for its usage entry and, when there is one, gives its amount
 * back (a refund entry carrying the decision, so a second void finds that
 * first and does nothing) and drops its hold. {1, refunded} voided;
 * {0, 0} nothing was charged (or it was voided before); {-1, 0} not found
 * within the bounds. */
static const char void_source[] =
    "redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])\n"
    "local oldest, left, last = tonumber(ARGV[3]), tonumber(ARGV[4]), '+'\n"
    "while left > 0 do\n"
    "  local batch = redis.call('XREVRANGE', KEYS[2], last, '-', 'COUNT', 100)\n"
    "  if #batch == 0 then return {0, 0} end\n"
    "  for _, e in ipairs(batch) do\n"
    "    local f = {}\n"
    "    for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end\n"
    "    if f['decision'] == ARGV[1] then\n"
    "      if f['type'] ~= 'usage' then return {0, 0} end\n"
    "      local amt = string.sub(f['amount'], 2)\n"
    "      local bal = redis.call('HINCRBY', KEYS[1], 'balance', amt)\n"
    "      local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "      redis.call('XADD', KEYS[2], string.format('0-%d', seq), 'type', 'refund', "
    "'amount', amt, 'balance', bal, 'request_id', f['request_id'] or '', 'route', "
    "f['route'] or '', 'plugin', f['plugin'] or '', 'decision', ARGV[1], 'description', "
    "'the answer to this reservation was lost; not charged', 'time', ARGV[5])\n"
    "      redis.call('HDEL', KEYS[4], ARGV[1])\n"
    "      redis.call('ZREM', KEYS[5], ARGV[1])\n"
    "      local thr = tonumber(redis.call('HGET', KEYS[1], 'threshold') or '-1')\n"
    "      if thr < 0 or bal >= thr then redis.call('HDEL', KEYS[1], 'alerted') end\n"
    "      return {1, tonumber(amt)}\n"
    "    end\n"
    "    if tonumber(f['time'] or '0') < oldest then return {0, 0} end\n"
    "  end\n"
    "  left = left - #batch\n"
    "  last = '(' .. batch[#batch][1]\n"
    "end\n"
    "return {-1, 0}\n";

/* KEYS: wallet, ledger. ARGV: amount, request id, route, now ms, plugin. Gives
 * back a price reserved without a hold (an N/call answer that is not
 * paid). {1, balance}. */
static const char refund_source[] =
    "local bal = redis.call('HINCRBY', KEYS[1], 'balance', ARGV[1])\n"
    "local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "redis.call('XADD', KEYS[2], string.format('0-%d', seq), 'type', 'refund', "
    "'amount', ARGV[1], 'balance', bal, 'request_id', ARGV[2], 'route', ARGV[3], "
    "'plugin', ARGV[5], 'time', ARGV[4])\n"
    "local thr = tonumber(redis.call('HGET', KEYS[1], 'threshold') or '-1')\n"
    "if thr < 0 or bal >= thr then redis.call('HDEL', KEYS[1], 'alerted') end\n"
    "return {1, bal}\n";

/* KEYS: wallet, ledger, idempotency key (or the wallet again when none).
 * ARGV: type (topup, charge), amount, request id, route, now ms,
 * description, idempotency ttl s, "1" with a key, max balance.
 * {1, id, balance, alert} written; {2, id, balance} replayed; {-1, 0, balance}
 * short; {-2} key reused for another request; {-3, 0, balance} too large. */
static const char post_source[] =
    "local fp = ARGV[1] .. ':' .. ARGV[2]\n"
    "if ARGV[8] == '1' then\n"
    "  local prev = redis.call('GET', KEYS[3])\n"
    "  if prev then\n"
    "    local n = string.len(fp)\n"
    "    if string.sub(prev, 1, n + 1) ~= fp .. ':' then return {-2, 0, 0} end\n"
    "    local rest = string.sub(prev, n + 2)\n"
    "    local c = string.find(rest, ':', 1, true)\n"
    "    return {2, tonumber(string.sub(rest, 1, c - 1)), tonumber(string.sub(rest, c + 1))}\n"
    "  end\n"
    "end\n"
    "local amt = tonumber(ARGV[2])\n"
    "local bal = tonumber(redis.call('HGET', KEYS[1], 'balance') or '0')\n"
    "local delta\n"
    "if ARGV[1] == 'topup' then\n"
    "  if amt > tonumber(ARGV[9]) - bal then return {-3, 0, bal} end\n"
    "  delta = ARGV[2]\n"
    "else\n"
    "  if bal < amt then return {-1, 0, bal} end\n"
    "  delta = '-' .. ARGV[2]\n"
    "end\n"
    "bal = redis.call('HINCRBY', KEYS[1], 'balance', delta)\n"
    "local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "redis.call('XADD', KEYS[2], string.format('0-%d', seq), 'type', ARGV[1], "
    "'amount', delta, 'balance', bal, 'request_id', ARGV[3], 'route', ARGV[4], "
    "'description', ARGV[6], 'time', ARGV[5])\n"
    "if ARGV[8] == '1' then\n"
    "  redis.call('SET', KEYS[3], fp .. string.format(':%d:%d', seq, bal), 'EX', ARGV[7])\n"
    "end\n"
    "local thr = tonumber(redis.call('HGET', KEYS[1], 'threshold') or '-1')\n"
    "local alert = 0\n"
    "if ARGV[1] == 'charge' and thr >= 0 and bal < thr and "
    "redis.call('HGET', KEYS[1], 'alerted') ~= '1' then\n"
    "  redis.call('HSET', KEYS[1], 'alerted', '1')\n"
    "  alert = 1\n"
    "end\n"
    "if ARGV[1] == 'topup' and (thr < 0 or bal >= thr) then\n"
    "  redis.call('HDEL', KEYS[1], 'alerted')\n"
    "end\n"
    "return {1, seq, bal, alert}\n";

/* KEYS: wallet. ARGV: threshold. A new threshold is checked afresh. */
static const char threshold_source[] =
    "redis.call('HSET', KEYS[1], 'threshold', ARGV[1])\n"
    "redis.call('HDEL', KEYS[1], 'alerted')\n"
    "return {1}\n";

/* KEYS: wallet, ledger. ARGV: the last id to trim, the first to keep.
 * Trims only forward: {1} trimmed, {0} it was already. */
static const char trim_source[] =
    "local done = tonumber(redis.call('HGET', KEYS[1], 'trimmed') or '0')\n"
    "if tonumber(ARGV[1]) <= done then return {0} end\n"
    "redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. ARGV[2])\n"
    "redis.call('HSET', KEYS[1], 'trimmed', ARGV[1])\n"
    "return {1}\n";

static cb_redis_script reserve_script, settle_script, refund_script, post_script,
    threshold_script, trim_script, void_script;

void wallet_ledger_init(void)
{
    /* From create(), before any worker thread exists; the same constants
     * every time, so a second environment's call changes nothing. */
    cb_redis_script_init(&reserve_script, reserve_source);
    cb_redis_script_init(&settle_script, settle_source);
    cb_redis_script_init(&refund_script, refund_source);
    cb_redis_script_init(&post_script, post_source);
    cb_redis_script_init(&threshold_script, threshold_source);
    cb_redis_script_init(&trim_script, trim_source);
    cb_redis_script_init(&void_script, void_source);
}

static const char *key(apr_pool_t *p, const wallet_plugin *w, const char *piece)
{
    return piece ? cb_redis_key(p, w->env, "wallet", piece, NULL)
                 : cb_redis_key(p, w->env, "wallet", NULL);
}

static const char *now_ms(apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (int64_t)apr_time_as_msec(apr_time_now()));
}

/* The script's answer as up to four integers; 0 when it is not an array. */
static int reply_ints(const cb_redis_reply *r, int64_t out[4])
{
    size_t n = cb_redis_reply_count(r);
    if (cb_redis_reply_kind(r) != CB_REDIS_REPLY_ARRAY || n < 1)
        return 0;
    for (size_t i = 0; i < 4; i++)
        out[i] = i < n ? cb_redis_reply_integer(cb_redis_reply_element(r, i)) : 0;
    return 1;
}

static wallet_result run(wallet_plugin *w, apr_pool_t *p, const cb_redis_script *s, int nkeys,
                         int argc, const char *const *argv, int64_t out[4])
{
    const cb_redis_reply *reply;
    if (!w->redis ||
        cb_redis_eval(w->redis, p, s, nkeys, argc, argv, NULL, &reply) != APR_SUCCESS ||
        !reply_ints(reply, out))
        return WALLET_DOWN;
    return WALLET_OK;
}

wallet_result wallet_read(wallet_plugin *w, apr_pool_t *p, int64_t *balance, int64_t *threshold)
{
    const char *argv[] = {"HMGET", key(p, w, NULL), "balance", "threshold"};
    const cb_redis_reply *reply;
    const char *b, *t;
    if (!w->redis || cb_redis_command(w->redis, p, 4, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return WALLET_DOWN;
    b = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, 0));
    t = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, 1));
    *balance = 0;
    *threshold = -1;
    if (b && cb_parse_int(b, balance))
        return WALLET_DOWN;
    if (t && cb_parse_int(t, threshold))
        *threshold = -1;
    return WALLET_OK;
}

wallet_result wallet_post(wallet_plugin *w, apr_pool_t *p, int credit, int64_t amount,
                          const char *idempotency_key, const char *request_id, const char *route,
                          const char *description, int64_t *entry_id, int64_t *balance_after,
                          int *alert)
{
    const char *idem = idempotency_key
        ? key(p, w, apr_pstrcat(p, "idem:",
                                cb_sha256_hex(p, idempotency_key, strlen(idempotency_key)),
                                NULL))
        : key(p, w, NULL);
    const char *argv[] = {key(p, w, NULL), key(p, w, "ledger"), idem,
                          credit ? "topup" : "charge",
                          apr_psprintf(p, "%" APR_INT64_T_FMT, amount), request_id,
                          route ? route : "", now_ms(p), description ? description : "",
                          apr_psprintf(p, "%" APR_INT64_T_FMT, w->idempotency_ttl_s),
                          idempotency_key ? "1" : "0",
                          apr_psprintf(p, "%" APR_INT64_T_FMT, WALLET_MAX_AMOUNT)};
    int64_t out[4];
    if (run(w, p, &post_script, 3, 12, argv, out) != WALLET_OK)
        return WALLET_DOWN;
    *entry_id = out[1];
    *balance_after = out[2];
    *alert = out[0] == 1 && out[3] == 1;
    switch (out[0]) {
    case 1: return WALLET_OK;
    case 2: return WALLET_REPLAYED;
    case -1: return WALLET_SHORT;
    case -2: return WALLET_KEY_REUSED;
    case -3: return WALLET_TOO_LARGE;
    }
    return WALLET_DOWN;
}

wallet_result wallet_reserve(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                             int64_t amount, const char *request_id, const char *route,
                             const char *plugin, int keep_hold, int64_t *balance_after,
                             int64_t *alert_entry)
{
    apr_time_t now = apr_time_now();
    const char *argv[] = {key(p, w, NULL), key(p, w, "ledger"), key(p, w, "holds"),
                          key(p, w, "hold-due"),
                          key(p, w, apr_pstrcat(p, "void:", decision_id, NULL)), decision_id,
                          apr_psprintf(p, "%" APR_INT64_T_FMT, amount), request_id, route,
                          apr_psprintf(p, "%" APR_INT64_T_FMT, (int64_t)apr_time_as_msec(now)),
                          apr_psprintf(p, "%" APR_INT64_T_FMT,
                                       (int64_t)apr_time_as_msec(now) + w->hold_timeout_ms),
                          keep_hold ? "1" : "0", plugin ? plugin : ""};
    int64_t out[4];
    if (run(w, p, &reserve_script, 5, 13, argv, out) != WALLET_OK)
        return WALLET_DOWN;
    *balance_after = out[1];
    *alert_entry = out[0] == 1 ? out[2] : 0;
    return out[0] == 1 ? WALLET_OK : out[0] == 0 ? WALLET_SHORT : WALLET_DOWN;
}

wallet_result wallet_void(wallet_plugin *w, apr_pool_t *p, const char *decision_id,
                          int64_t reserved_ms, int64_t *refunded)
{
    const char *argv[] = {key(p, w, NULL), key(p, w, "ledger"),
                          key(p, w, apr_pstrcat(p, "void:", decision_id, NULL)),
                          key(p, w, "holds"), key(p, w, "hold-due"), decision_id,
                          apr_psprintf(p, "%d", WALLET_VOID_MARK_MS),
                          apr_psprintf(p, "%" APR_INT64_T_FMT, reserved_ms - WALLET_VOID_LOOKBACK_MS),
                          apr_psprintf(p, "%d", WALLET_VOID_MAX_SCAN), now_ms(p)};
    int64_t out[4];
    if (run(w, p, &void_script, 5, 10, argv, out) != WALLET_OK)
        return WALLET_DOWN;
    *refunded = out[1];
    return out[0] >= 0 ? WALLET_OK : WALLET_NOT_FOUND;
}

wallet_result wallet_settle(wallet_plugin *w, apr_pool_t *p, const char *hold_id, int64_t cost,
                            int64_t *refunded)
{
    const char *argv[] = {key(p, w, NULL), key(p, w, "ledger"), key(p, w, "holds"),
                          key(p, w, "hold-due"), hold_id,
                          apr_psprintf(p, "%" APR_INT64_T_FMT, cost), now_ms(p)};
    int64_t out[4];
    if (run(w, p, &settle_script, 4, 7, argv, out) != WALLET_OK)
        return WALLET_DOWN;
    if (refunded)
        *refunded = out[1];
    return WALLET_OK;
}

wallet_result wallet_refund(wallet_plugin *w, apr_pool_t *p, int64_t amount,
                            const char *request_id, const char *route, const char *plugin)
{
    const char *argv[] = {key(p, w, NULL), key(p, w, "ledger"),
                          apr_psprintf(p, "%" APR_INT64_T_FMT, amount), request_id, route,
                          now_ms(p), plugin ? plugin : ""};
    int64_t out[4];
    return run(w, p, &refund_script, 2, 7, argv, out);
}

wallet_result wallet_set_threshold(wallet_plugin *w, apr_pool_t *p, int64_t threshold)
{
    const char *argv[] = {key(p, w, NULL), apr_psprintf(p, "%" APR_INT64_T_FMT, threshold)};
    int64_t out[4];
    return run(w, p, &threshold_script, 1, 2, argv, out);
}

static int field_int(const char *text, int64_t *out)
{
    return text && !cb_parse_int(text, out);
}

wallet_result wallet_trim(wallet_plugin *w, apr_pool_t *p, int64_t through)
{
    const char *argv[] = {key(p, w, NULL), key(p, w, "ledger"),
                          apr_psprintf(p, "%" APR_INT64_T_FMT, through),
                          apr_psprintf(p, "%" APR_INT64_T_FMT, through + 1)};
    int64_t out[4];
    return run(w, p, &trim_script, 2, 4, argv, out);
}

wallet_result wallet_trimmed_through(wallet_plugin *w, apr_pool_t *p, int64_t *trimmed)
{
    const char *argv[] = {"HGET", key(p, w, NULL), "trimmed"};
    const cb_redis_reply *reply;
    const char *text;
    *trimmed = 0;
    if (!w->redis || cb_redis_command(w->redis, p, 3, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        return WALLET_DOWN;
    text = cb_redis_reply_strdup(p, reply);
    return !text || field_int(text, trimmed) ? WALLET_OK : WALLET_DOWN;
}

/* One XREVRANGE element: ["0-ID", [field, value, ...]]. */
static int read_entry(apr_pool_t *p, const cb_redis_reply *e, wallet_entry *out)
{
    const char *id = cb_redis_reply_strdup(p, cb_redis_reply_element(e, 0));
    const cb_redis_reply *fields = cb_redis_reply_element(e, 1);
    size_t n = cb_redis_reply_count(fields);
    memset(out, 0, sizeof(*out));
    if (!id || strncmp(id, "0-", 2) != 0 || !field_int(id + 2, &out->id))
        return 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *k = cb_redis_reply_strdup(p, cb_redis_reply_element(fields, i));
        const char *v = cb_redis_reply_strdup(p, cb_redis_reply_element(fields, i + 1));
        if (!k || !v)
            return 0;
        if (strcmp(k, "type") == 0)
            out->type = v;
        else if (strcmp(k, "amount") == 0 && !field_int(v, &out->amount))
            return 0;
        else if (strcmp(k, "balance") == 0 && !field_int(v, &out->balance_after))
            return 0;
        else if (strcmp(k, "request_id") == 0)
            out->request_id = v;
        else if (strcmp(k, "route") == 0)
            out->route = *v ? v : NULL;
        else if (strcmp(k, "plugin") == 0)
            out->plugin = *v ? v : NULL;
        else if (strcmp(k, "description") == 0)
            out->description = *v ? v : NULL;
        else if (strcmp(k, "time") == 0 && !field_int(v, &out->time_ms))
            return 0;
    }
    return out->type != NULL;
}

/* XRANGE or XREVRANGE of the ledger from id `from` towards `to`, at most
 * count entries, appended to entries. */
static wallet_result read_range(wallet_plugin *w, apr_pool_t *p, const char *command,
                                int64_t from, const char *to, int64_t count,
                                apr_array_header_t *entries)
{
    const char *argv[] = {command, key(p, w, "ledger"),
                          apr_psprintf(p, "0-%" APR_INT64_T_FMT, from), to, "COUNT",
                          apr_psprintf(p, "%" APR_INT64_T_FMT, count)};
    const cb_redis_reply *reply;
    if (!w->redis || cb_redis_command(w->redis, p, 6, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return WALLET_DOWN;
    for (size_t i = 0; i < cb_redis_reply_count(reply); i++) {
        wallet_entry e;
        if (!read_entry(p, cb_redis_reply_element(reply, i), &e))
            return WALLET_DOWN;
        APR_ARRAY_PUSH(entries, wallet_entry) = e;
    }
    return WALLET_OK;
}

wallet_result wallet_entries(wallet_plugin *w, apr_pool_t *p, int64_t page, int64_t limit,
                             apr_array_header_t **entries, int64_t *total)
{
    const char *seq_argv[] = {"HGET", key(p, w, NULL), "seq"};
    const cb_redis_reply *reply;
    const char *seq;
    int64_t newest, oldest, got_to;
    *entries = apr_array_make(p, (int)limit, sizeof(wallet_entry));
    *total = 0;
    if (!w->redis || cb_redis_command(w->redis, p, 3, seq_argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        return WALLET_DOWN;
    seq = cb_redis_reply_strdup(p, reply);
    if (seq && !field_int(seq, total))
        return WALLET_DOWN;
    /* ids are dense (1..total): the page starts at a known id, so reading
     * it costs the same on page 1 and on page 10,000 */
    if ((page - 1) > (*total - 1) / limit || *total == 0)
        return WALLET_OK;
    newest = *total - (page - 1) * limit;
    oldest = newest - limit + 1 > 1 ? newest - limit + 1 : 1;
    if (read_range(w, p, "XREVRANGE", newest, apr_psprintf(p, "0-%" APR_INT64_T_FMT, oldest),
                   limit, *entries) != WALLET_OK)
        return WALLET_DOWN;
    /* Redis keeps the newest entries; older ones were trimmed once the
     * database had them (the copier trims from id 1 up, so what Redis
     * lacks of the page is its oldest part) */
    got_to = (*entries)->nelts
        ? APR_ARRAY_IDX(*entries, (*entries)->nelts - 1, wallet_entry).id - 1 : newest;
    if (got_to >= oldest && w->db &&
        wallet_db_entries(w, p, got_to, oldest, *entries) != APR_SUCCESS)
        return WALLET_DOWN;
    return WALLET_OK;
}

wallet_result wallet_entries_from(wallet_plugin *w, apr_pool_t *p, int64_t first, int64_t count,
                                  apr_array_header_t **entries)
{
    *entries = apr_array_make(p, (int)count, sizeof(wallet_entry));
    return read_range(w, p, "XRANGE", first, "+", count, *entries);
}

int wallet_sweep(wallet_plugin *w, apr_pool_t *p, int max)
{
    const char *argv[] = {"ZRANGEBYSCORE", key(p, w, "hold-due"), "-inf", now_ms(p), "LIMIT",
                          "0", apr_itoa(p, max)};
    const cb_redis_reply *reply;
    int settled = 0;
    if (!w->redis || cb_redis_command(w->redis, p, 7, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < cb_redis_reply_count(reply); i++) {
        const char *hold = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, i));
        if (!hold)
            continue;
        if (wallet_settle(w, p, hold, -1, NULL) != WALLET_OK)
            return -1;
        settled++;
    }
    return settled;
}
