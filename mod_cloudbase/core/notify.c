/*
 * notify.c: the notifier service (include/cloudbase/notify.h). cb_notify
 * checks the per-source cap and puts the message on an inbox queue, due
 * when its kind's group closes (one window after the group's first
 * message); the delivery task takes every
 * due inbox message, groups them by kind, puts one delivery job per group
 * and channel, and per group and destination of a message's own
 * (cb_notify_to), on the outbox queue (then acks the inbox), and delivers
 * outbox jobs: Discord and signed webhooks over the HTTP client with the
 * outbound guard, mail over SMTP. Both queues are the core's durable queue,
 * so a delivery cut short by a killed process is made again. The outcome
 * of one attempt decides the job's fate: 2xx acks it, 429 re-queues it
 * after the time the receiver asked for, 404 disables the channel (a Redis
 * flag, logged once) and drops it, anything else fails it into the
 * queue's exponential backoff and, after max_attempts, the dead letters.
 */
#include <pthread.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "cb_core.h"
#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"
#include "cloudbase/log.h"
#include "cloudbase/queue.h"
#include "notify_internal.h"

#define INBOX_BATCH 200
#define OUTBOX_BATCH 20
#define MAX_RATE_LIMIT_RETRIES 10
#define TASK_INTERVAL_MS 200

struct cb_notifier {
    cb_redis *redis;
    const char *env, *name;
    cb_notify_channel *channels;
    int channel_count;
    cb_notifier_config cfg;
    cb_queue *inbox, *outbox;
    const char *inbox_name;
};

/* KEYS: cap counter, the inbox's idempotency key, the kind's group
 * deadline. ARGV: cap window ms, group window ms. {-1, 0} when the key was
 * seen (a duplicate costs no cap), else {count, ms until the group is due}:
 * the first message of a kind opens a group that closes one window later,
 * and every message of that kind until then joins it. */
static const char cap_lua[] =
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0} end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
    "local window = tonumber(ARGV[2])\n"
    "if window <= 0 then return {n, 0} end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = tonumber(redis.call('GET', KEYS[3]))\n"
    "if not due or due <= now then\n"
    "  due = now + window\n"
    "  redis.call('SET', KEYS[3], due, 'PX', window)\n"
    "end\n"
    "return {n, due - now}\n";
static cb_redis_script cap_script;
static pthread_once_t cap_script_once = PTHREAD_ONCE_INIT;

static void init_cap_script(void)
{
    cb_redis_script_init(&cap_script, cap_lua);
}

static void config_defaults(cb_notifier_config *c)
{
    if (c->group_window_ms < 0)
        c->group_window_ms = 0;
    else if (c->group_window_ms == 0)
        c->group_window_ms = 2000;
    if (c->max_per_source <= 0)
        c->max_per_source = 10;
    if (c->cap_window_ms <= 0)
        c->cap_window_ms = 3600000;
    if (c->max_attempts <= 0)
        c->max_attempts = 8;
    if (c->backoff_base_ms <= 0)
        c->backoff_base_ms = 1000;
    if (c->visibility_ms <= 0)
        c->visibility_ms = 30000;
}

static void deliver_task(void *state, apr_pool_t *scratch);

cb_notifier *cb_notifier_create(cb_plugin_ctx *ctx, const char *name, const cb_notifier_config *cfg)
{
    apr_pool_t *p = cb_ctx_pool(ctx);
    cb_notifier *n = apr_pcalloc(p, sizeof(*n));
    cb_queue_config qc;
    int errors = 0;
    pthread_once(&cap_script_once, init_cap_script);
    n->redis = cb_ctx_redis(ctx);
    n->env = cb_ctx_env(ctx);
    n->name = apr_pstrdup(p, name);
    if (cfg)
        n->cfg = *cfg;
    config_defaults(&n->cfg);
    if (!n->redis) {
        cb_ctx_error(ctx, "the notifier needs CloudBaseRedis: its messages wait in Redis");
        return NULL;
    }
    n->channels = apr_pcalloc(p, sizeof(cb_notify_channel) *
                                     (cfg && cfg->channels ? cfg->channels->nelts + 1 : 1));
    for (int i = 0; cfg && cfg->channels && i < cfg->channels->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(cfg->channels, i, cb_option_item);
        cb_notify_channel *ch = &n->channels[n->channel_count];
        const char *err = cb_notify_channel_parse(p, item->text, ch);
        if (err) {
            cb_ctx_error(ctx, "%s:%d: notify channel: %s", item->file ? item->file : "?",
                         item->line, err);
            errors++;
            continue;
        }
        if (n->cfg.require_https && ((ch->type != CB_CHANNEL_EMAIL &&
                                      strncmp(ch->url, "https://", 8) != 0) ||
                                     (ch->type == CB_CHANNEL_EMAIL && ch->tls == CB_SMTP_TLS_OFF))) {
            cb_ctx_error(ctx, "%s:%d: notify channel '%s': HTTPS is required here (use an "
                         "https:// URL, or TLS for mail)", item->file ? item->file : "?",
                         item->line, ch->name);
            errors++;
            continue;
        }
        for (int j = 0; j < n->channel_count; j++)
            if (strcmp(n->channels[j].name, ch->name) == 0) {
                cb_ctx_error(ctx, "%s:%d: notify channel '%s' is declared twice",
                             item->file ? item->file : "?", item->line, ch->name);
                errors++;
            }
        if (ch->secret)
            cb_log_register_secret(ch->secret);
        if (ch->smtp_password)
            cb_log_register_secret(ch->smtp_password);
        n->channel_count++;
    }
    if (errors)
        return NULL;
    cb_queue_config_defaults(&qc);
    qc.visibility_ms = n->cfg.visibility_ms;
    n->inbox_name = apr_pstrcat(p, "notify-", n->name, "-in", NULL);
    n->inbox = cb_queue_create(p, n->redis, n->env, n->inbox_name, &qc);
    qc.max_attempts = n->cfg.max_attempts;
    qc.backoff_base_ms = n->cfg.backoff_base_ms;
    n->outbox = cb_queue_create(p, n->redis, n->env,
                                apr_pstrcat(p, "notify-", n->name, "-out", NULL), &qc);
    /* also without channels: messages may carry their own destinations */
    cb_ctx_add_core_task(ctx, apr_pstrcat(p, "notify-", n->name, NULL),
                         apr_time_from_msec(TASK_INTERVAL_MS), deliver_task, n);
    return n;
}

/* ---------------------------------------------------------------- enqueue */

static const cb_notify_channel *first_email_channel(const cb_notifier *n)
{
    for (int i = 0; i < n->channel_count; i++)
        if (n->channels[i].type == CB_CHANNEL_EMAIL)
            return &n->channels[i];
    return NULL;
}

/* The destinations of one message as stored with it ({"discord",
 * "username", "private", "email", "via"}), or NULL when it has none (an
 * email_to without an email channel is dropped here, logged). *invalid
 * when one is not a URL or address. */
static cb_json *destinations_json(const cb_notifier *n, apr_pool_t *p,
                                  const cb_notify_destinations *to, int *invalid)
{
    cb_json *o = cb_json_new_object(p);
    *invalid = 0;
    if (!to)
        return NULL;
    if (to->discord_url) {
        cb_cidr_list *ranges = NULL;
        if ((to->discord_private && cb_cidr_list_parse(p, to->discord_private, &ranges)) ||
            cb_notify_check_web_url(p, to->discord_url, ranges)) {
            *invalid = 1;
            return NULL;
        }
        cb_json_set_string(o, "discord", to->discord_url);
        if (to->discord_username && *to->discord_username)
            cb_json_set_string(o, "username", to->discord_username);
        if (to->discord_private)
            cb_json_set_string(o, "private", to->discord_private);
    }
    if (to->email_to) {
        const cb_notify_channel *via = first_email_channel(n);
        if (!cb_notify_address_ok(to->email_to)) {
            *invalid = 1;
            return NULL;
        }
        if (via) {
            cb_json_set_string(o, "email", to->email_to);
            cb_json_set_string(o, "via", via->name);
        } else {
            cb_log(CB_LOG_WARNING, "notifier %s: a message for an e-mail address was not sent "
                   "by mail: no email channel is configured to send it through", n->name);
        }
    }
    return cb_json_object_size(o) ? o : NULL;
}

apr_status_t cb_notify(cb_notifier *n, apr_pool_t *p, const cb_notify_message *m,
                       cb_notify_outcome *outcome)
{
    return cb_notify_to(n, p, m, NULL, outcome);
}

apr_status_t cb_notify_to(cb_notifier *n, apr_pool_t *p, const cb_notify_message *m,
                          const cb_notify_destinations *to, cb_notify_outcome *outcome)
{
    cb_notify_item item;
    const char *idem, *payload, *argv[5];
    const cb_redis_reply *reply;
    cb_json *stored, *destinations;
    int64_t count, delay;
    int duplicate = 0, invalid;
    apr_status_t rv;
    if (outcome)
        *outcome = CB_NOTIFY_QUEUED;
    if (!n || !m || !m->idempotency_key || !*m->idempotency_key || !m->source || !*m->source ||
        m->kind < CB_NOTIFY_DOWN || m->kind > CB_NOTIFY_INFO)
        return APR_EINVAL;
    destinations = destinations_json(n, p, to, &invalid);
    if (invalid)
        return APR_EINVAL;
    if (n->channel_count == 0 && !destinations)
        return APR_SUCCESS; /* nowhere to send: accepted and dropped */
    idem = apr_pstrcat(p, cb_redis_key(p, n->env, "q", n->inbox_name, "", NULL), "idem:",
                       m->idempotency_key, NULL);
    argv[0] = cb_redis_key(p, n->env, "notify", n->name, "cap", m->source, NULL);
    argv[1] = idem;
    argv[2] = cb_redis_key(p, n->env, "notify", n->name, "group",
                           apr_psprintf(p, "%d", (int)m->kind), NULL);
    argv[3] = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)n->cfg.cap_window_ms);
    argv[4] = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)n->cfg.group_window_ms);
    if ((rv = cb_redis_eval(n->redis, p, &cap_script, 3, 5, argv, NULL, &reply)) != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_count(reply) != 2 ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 0)) != CB_REDIS_REPLY_INTEGER ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 1)) != CB_REDIS_REPLY_INTEGER)
        return CB_REDIS_EDOWN;
    count = cb_redis_reply_integer(cb_redis_reply_element(reply, 0));
    delay = cb_redis_reply_integer(cb_redis_reply_element(reply, 1));
    if (count < 0) {
        if (outcome)
            *outcome = CB_NOTIFY_DUPLICATE;
        return APR_SUCCESS;
    }
    if (count > n->cfg.max_per_source) {
        if (count == n->cfg.max_per_source + 1)
            cb_log(CB_LOG_WARNING, "notifier %s: source '%s' sent %d messages within %" APR_INT64_T_FMT
                   " ms; further ones are dropped until the window ends", n->name, m->source,
                   n->cfg.max_per_source, (apr_int64_t)n->cfg.cap_window_ms);
        if (outcome)
            *outcome = CB_NOTIFY_CAPPED;
        return APR_SUCCESS;
    }
    item.kind = m->kind;
    item.source = m->source;
    item.title = m->title;
    item.url = m->url;
    item.detail = m->detail;
    item.ping_ms = m->ping_ms;
    item.at_unix = apr_time_sec(m->at ? m->at : apr_time_now());
    stored = cb_notify_item_to_json(p, &item);
    if (destinations)
        cb_json_set(stored, "to", destinations);
    payload = cb_json_dump(p, stored);
    /* Due when its group closes, so the group's messages come due
     * together and go out as one. */
    rv = cb_queue_enqueue(n->inbox, p, payload, strlen(payload), m->idempotency_key, delay, NULL,
                          &duplicate);
    if (rv == APR_SUCCESS && duplicate && outcome)
        *outcome = CB_NOTIFY_DUPLICATE;
    return rv;
}

/* ---------------------------------------------------------------- grouping */

/* The messages of one kind for one destination of their own. */
typedef struct dest_group {
    cb_json *dest;   /* {"type":"discord","url","username","private"} or
                      * {"type":"email","to","via"} */
    cb_json *items;  /* array */
} dest_group;

static void add_to_group(apr_pool_t *p, apr_hash_t *groups, const char *key, cb_json *dest,
                         cb_json *item)
{
    dest_group *g = apr_hash_get(groups, key, APR_HASH_KEY_STRING);
    if (!g) {
        g = apr_pcalloc(p, sizeof(*g));
        g->dest = dest;
        g->items = cb_json_new_array(p);
        apr_hash_set(groups, key, APR_HASH_KEY_STRING, g);
    }
    cb_json_append(g->items, item);
}

/* Files a message's own destinations (its "to") under groups. */
static void group_destinations(apr_pool_t *p, apr_hash_t *groups, const cb_json *to,
                               cb_json *item)
{
    const char *url = cb_json_get_string(to, "discord");
    const char *address = cb_json_get_string(to, "email");
    if (url) {
        const char *username = cb_json_get_string(to, "username");
        const char *ranges = cb_json_get_string(to, "private");
        cb_json *dest = cb_json_new_object(p);
        cb_json_set_string(dest, "type", "discord");
        cb_json_set_string(dest, "url", url);
        if (username)
            cb_json_set_string(dest, "username", username);
        if (ranges)
            cb_json_set_string(dest, "private", ranges);
        add_to_group(p, groups, apr_pstrcat(p, "discord\n", url, "\n", username ? username : "",
                                            "\n", ranges ? ranges : "", NULL), dest, item);
    }
    if (address && cb_json_get_string(to, "via")) {
        const char *via = cb_json_get_string(to, "via");
        cb_json *dest = cb_json_new_object(p);
        cb_json_set_string(dest, "type", "email");
        cb_json_set_string(dest, "to", address);
        cb_json_set_string(dest, "via", via);
        add_to_group(p, groups, apr_pstrcat(p, "email\n", address, "\n", via, NULL), dest, item);
    }
}

static int enqueue_delivery(cb_notifier *n, apr_pool_t *p, const char *member, cb_json *target,
                            cb_json *list, const char *key)
{
    cb_json *job = cb_json_new_object(p);
    const char *payload;
    cb_json_set(job, member, target);
    cb_json_set(job, "items", list);
    cb_json_set_int(job, "rate_limited", 0);
    payload = cb_json_dump(p, job);
    return cb_queue_enqueue(n->outbox, p, payload, strlen(payload), key, 0, NULL, NULL) ==
           APR_SUCCESS;
}

/* Moves due inbox messages to the outbox: one job per kind and channel,
 * and per kind and destination of a message's own. The inbox jobs are
 * acked only once every outbox job is in. */
static void group_inbox(cb_notifier *n, apr_pool_t *p)
{
    apr_array_header_t *jobs[CB_NOTIFY_INFO + 1], *items[CB_NOTIFY_INFO + 1];
    apr_hash_t *own[CB_NOTIFY_INFO + 1];
    for (int k = 0; k <= CB_NOTIFY_INFO; k++) {
        jobs[k] = apr_array_make(p, 8, sizeof(cb_job));
        items[k] = apr_array_make(p, 8, sizeof(cb_json *));
        own[k] = apr_hash_make(p);
    }
    for (int i = 0; i < INBOX_BATCH; i++) {
        cb_job job;
        cb_json *doc, *item_json, *to;
        cb_notify_item item;
        if (cb_queue_reserve(n->inbox, p, &job) != APR_SUCCESS)
            break;
        doc = cb_json_parse(p, job.payload, job.payload_len, NULL);
        if (!doc || !cb_notify_item_from_json(doc, &item)) {
            cb_log(CB_LOG_ERR, "notifier %s: dropped an unreadable message (job %s)", n->name,
                   job.id);
            cb_queue_ack(n->inbox, p, &job);
            continue;
        }
        /* the channels' copy holds no other destination */
        item_json = cb_notify_item_to_json(p, &item);
        APR_ARRAY_PUSH(jobs[item.kind], cb_job) = job;
        APR_ARRAY_PUSH(items[item.kind], cb_json *) = item_json;
        if ((to = cb_json_get(doc, "to")) && cb_json_is_object(to))
            group_destinations(p, own[item.kind], to, item_json);
    }
    for (int k = CB_NOTIFY_DOWN; k <= CB_NOTIFY_INFO; k++) {
        cb_json *list = cb_json_new_array(p);
        const char *ids = "", *batch;
        int queued = 1;
        if (!jobs[k]->nelts)
            continue;
        for (int i = 0; i < items[k]->nelts; i++) {
            cb_json_append(list, APR_ARRAY_IDX(items[k], i, cb_json *));
            ids = apr_pstrcat(p, ids, APR_ARRAY_IDX(jobs[k], i, cb_job).id, ",", NULL);
        }
        batch = cb_sha256_hex(p, ids, strlen(ids));
        for (int c = 0; c < n->channel_count && queued; c++) {
            cb_json *name = cb_json_new_string(p, n->channels[c].name);
            queued = enqueue_delivery(n, p, "channel", name, list,
                                      apr_pstrcat(p, n->channels[c].name, ":", batch, NULL));
        }
        for (apr_hash_index_t *hi = apr_hash_first(p, own[k]); hi && queued;
             hi = apr_hash_next(hi)) {
            const void *key;
            void *value;
            dest_group *g;
            apr_hash_this(hi, &key, NULL, &value);
            g = value;
            queued = enqueue_delivery(n, p, "dest", g->dest, g->items,
                                      apr_pstrcat(p, "to:", cb_sha256_hex(p, key, strlen(key)),
                                                  ":", batch, NULL));
        }
        /* When Redis failed half-way the inbox jobs stay in flight and come
         * back after their deadline; the outbox's keys keep the channels
         * already queued from getting them twice. */
        for (int i = 0; queued && i < jobs[k]->nelts; i++)
            cb_queue_ack(n->inbox, p, &APR_ARRAY_IDX(jobs[k], i, cb_job));
    }
}

/* ---------------------------------------------------------------- delivery */

typedef enum { SENT, RETRY, RATE_LIMITED, GONE } attempt_result;

static const cb_notify_channel *find_channel(const cb_notifier *n, const char *name)
{
    for (int i = 0; name && i < n->channel_count; i++)
        if (strcmp(n->channels[i].name, name) == 0)
            return &n->channels[i];
    return NULL;
}

static const char *disabled_key(const cb_notifier *n, apr_pool_t *p, const cb_notify_channel *ch)
{
    /* A changed URL is a new channel: the flag is for this URL only. */
    return cb_redis_key(p, n->env, "notify", n->name, "off", ch->name,
                        cb_sha256_hex(p, ch->url, strlen(ch->url)), NULL);
}

static int channel_disabled(const cb_notifier *n, apr_pool_t *p, const cb_notify_channel *ch)
{
    const char *argv[] = {"EXISTS", disabled_key(n, p, ch)};
    const cb_redis_reply *reply;
    return cb_redis_command(n->redis, p, 2, argv, NULL, &reply) == APR_SUCCESS &&
           cb_redis_reply_kind(reply) == CB_REDIS_REPLY_INTEGER &&
           cb_redis_reply_integer(reply) == 1;
}

static void disable_channel(const cb_notifier *n, apr_pool_t *p, const cb_notify_channel *ch)
{
    const char *argv[] = {"SET", disabled_key(n, p, ch),
                          apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now())), "NX"};
    const cb_redis_reply *reply;
    if (cb_redis_command(n->redis, p, 4, argv, NULL, &reply) == APR_SUCCESS &&
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_NIL)
        cb_log(CB_LOG_ERR, "notifier %s: channel '%s' answered 404 (the webhook was deleted): "
               "the channel is disabled until its URL changes", n->name, ch->name);
}

static attempt_result post_json(const cb_notifier *n, apr_pool_t *p, const cb_notify_channel *ch,
                                const char *body, int64_t *wait_ms, const char **why)
{
    cb_http_client *client = cb_http_client_create(p, 1);
    cb_http_request req;
    cb_http_response resp;
    apr_table_t *headers = apr_table_make(p, 4);
    const char *error;
    memset(&req, 0, sizeof(req));
    apr_table_setn(headers, "Content-Type", "application/json");
    apr_table_setn(headers, "User-Agent", "mod_cloudbase-notifier");
    if (ch->type == CB_CHANNEL_WEBHOOK) {
        int64_t ts = apr_time_sec(apr_time_now());
        apr_table_setn(headers, "X-CloudBase-Timestamp",
                       apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)ts));
        apr_table_setn(headers, "X-CloudBase-Signature",
                       cb_notify_webhook_signature(p, ch->secret, ts, body, strlen(body)));
    }
    req.method = "POST";
    req.url = ch->url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = n->cfg.visibility_ms / 2 < 10000 ? n->cfg.visibility_ms / 2 : 10000;
    req.max_response_bytes = 64 * 1024;
    req.untrusted_url = 1;
    req.allowed_private = ch->allowed_private;
    if (cb_http_fetch(client, p, &req, &resp, &error) != APR_SUCCESS) {
        *why = error;
        return RETRY;
    }
    if (resp.status >= 200 && resp.status < 300)
        return SENT;
    *why = apr_psprintf(p, "HTTP %ld", resp.status);
    if (resp.status == 404)
        return GONE;
    if (resp.status == 429) {
        *wait_ms = cb_notify_retry_after_ms(apr_table_get(resp.headers, "retry-after"), resp.body,
                                            resp.body_len);
        return RATE_LIMITED;
    }
    return RETRY;
}

static attempt_result send_mail(const cb_notifier *n, apr_pool_t *p, const cb_notify_channel *ch,
                                const cb_notify_item *items, int count, const cb_job *job,
                                const char **why)
{
    const char *host = strchr(ch->from, '@') + 1;
    const char *message_id = apr_pstrcat(p, "notify-", n->name, "-", job->id, "@", host, NULL);
    const char *mail = cb_notify_mail(p, ch, items, count, apr_time_sec(apr_time_now()),
                                      message_id, apr_pstrcat(p, "cb-", cb_random_hex(p, 12), NULL));
    *why = cb_notify_smtp_send(p, ch, mail, strlen(mail), n->cfg.visibility_ms / 2);
    return *why ? RETRY : SENT;
}

/* The channel a message's own destination is sent as: a Discord channel
 * for its URL, or the named email channel with the one address as its
 * recipient. NULL when the job's destination cannot be used (any more). */
static const cb_notify_channel *destination_channel(const cb_notifier *n, apr_pool_t *p,
                                                    const cb_json *dest)
{
    const char *type = cb_json_get_string(dest, "type");
    cb_notify_channel *ch = apr_pcalloc(p, sizeof(*ch));
    if (type && strcmp(type, "discord") == 0 && cb_json_get_string(dest, "url")) {
        const char *ranges = cb_json_get_string(dest, "private");
        cb_cidr_list *allowed = NULL;
        if (ranges && cb_cidr_list_parse(p, ranges, &allowed))
            return NULL;
        ch->type = CB_CHANNEL_DISCORD;
        ch->name = "message-destination";
        ch->url = cb_json_get_string(dest, "url");
        ch->username = cb_json_get_string(dest, "username");
        ch->allowed_private = allowed;
        return ch;
    }
    if (type && strcmp(type, "email") == 0 && cb_json_get_string(dest, "to")) {
        const cb_notify_channel *via = find_channel(n, cb_json_get_string(dest, "via"));
        apr_array_header_t *to = apr_array_make(p, 1, sizeof(const char *));
        if (!via || via->type != CB_CHANNEL_EMAIL)
            return NULL;
        *ch = *via;
        APR_ARRAY_PUSH(to, const char *) = cb_json_get_string(dest, "to");
        ch->to = to;
        return ch;
    }
    return NULL;
}

static void deliver_one(cb_notifier *n, apr_pool_t *p, const cb_job *job)
{
    cb_json *doc = cb_json_parse(p, job->payload, job->payload_len, NULL);
    cb_json *list = cb_json_get(doc, "items");
    cb_json *dest = cb_json_get(doc, "dest");
    const cb_notify_channel *ch = dest ? destination_channel(n, p, dest)
                                       : find_channel(n, cb_json_get_string(doc, "channel"));
    int count = (int)cb_json_array_size(list), dead = 0;
    cb_notify_item *items = apr_pcalloc(p, sizeof(*items) * (count ? count : 1));
    int64_t rate_limited = 0, wait_ms = -1;
    const char *why = NULL;
    attempt_result result;
    for (int i = 0; i < count; i++)
        if (!cb_notify_item_from_json(cb_json_array_get(list, i), &items[i]))
            count = 0;
    if (!ch || count == 0) {
        cb_log(CB_LOG_WARNING, "notifier %s: dropped delivery job %s (channel no longer "
               "configured or unreadable job)", n->name, job->id);
        cb_queue_ack(n->outbox, p, job);
        return;
    }
    if (channel_disabled(n, p, ch)) {
        cb_queue_ack(n->outbox, p, job);
        return;
    }
    if (ch->type == CB_CHANNEL_EMAIL)
        result = send_mail(n, p, ch, items, count, job, &why);
    else
        result = post_json(n, p, ch, ch->type == CB_CHANNEL_DISCORD
                                         ? cb_notify_discord_body(p, ch->username, items, count)
                                         : cb_notify_webhook_body(p, items, count),
                           &wait_ms, &why);
    switch (result) {
    case SENT:
        cb_queue_ack(n->outbox, p, job);
        return;
    case GONE:
        disable_channel(n, p, ch);
        cb_queue_ack(n->outbox, p, job);
        return;
    case RATE_LIMITED:
        cb_json_get_int(doc, "rate_limited", &rate_limited);
        if (rate_limited < MAX_RATE_LIMIT_RETRIES) {
            const char *again;
            if (wait_ms < 0)
                wait_ms = cb_queue_backoff_ms(&(cb_queue_config){.backoff_base_ms =
                                                  n->cfg.backoff_base_ms, .backoff_max_ms = 300000},
                                              (int)rate_limited + 1);
            cb_json_set_int(doc, "rate_limited", rate_limited + 1);
            again = cb_json_dump(p, doc);
            /* The copy goes in before the original goes out: a crash in
             * between sends twice, never zero times. */
            if (cb_queue_enqueue(n->outbox, p, again, strlen(again), NULL, wait_ms, NULL, NULL) ==
                APR_SUCCESS) {
                cb_log(CB_LOG_INFO, "notifier %s: channel '%s' is rate limited; retrying in %"
                       APR_INT64_T_FMT " ms", n->name, ch->name, (apr_int64_t)wait_ms);
                cb_queue_ack(n->outbox, p, job);
                return;
            }
        }
        break;
    case RETRY:
        break;
    }
    if (cb_queue_fail(n->outbox, p, job, &dead) == APR_SUCCESS && dead)
        cb_log(CB_LOG_ERR, "notifier %s: channel '%s' failed %d times (%s); the message is on "
               "the dead-letter list", n->name, ch->name, job->attempt, why ? why : "error");
    else
        cb_log(CB_LOG_WARNING, "notifier %s: channel '%s' attempt %d failed (%s); retrying "
               "with backoff", n->name, ch->name, job->attempt, why ? why : "error");
}

static void deliver_task(void *state, apr_pool_t *scratch)
{
    cb_notifier *n = state;
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(n->cfg.visibility_ms / 2);
    group_inbox(n, scratch);
    for (int i = 0; i < OUTBOX_BATCH && apr_time_now() < deadline; i++) {
        cb_job job;
        apr_pool_t *p;
        if (cb_queue_reserve(n->outbox, scratch, &job) != APR_SUCCESS)
            break;
        apr_pool_create(&p, scratch);
        deliver_one(n, p, &job);
        apr_pool_destroy(p);
    }
}
