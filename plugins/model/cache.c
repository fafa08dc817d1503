/*
 * cache.c: the model plugin's use of the core read cache (cb_readcache).
 * list and get answers are cached per model and envType (the namespace
 * MODEL.prod / MODEL.pre, inside the environment's Redis keys), under a
 * key of the normalised query plus the caller's read scope (the values the
 * permission preset binds into the SQL: the uid for PRIVATE, nothing where
 * everyone reads), so callers share an answer only when the database would
 * give them the same rows. Every write bumps the namespace's version; a
 * failed bump is counted, logged at most once a second and marked on the
 * write's answer. See docs/plugins/model.md, "The read cache".
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/log.h"
#include "model.h"

int md_cache_create(cb_plugin_ctx *ctx, md_state *st)
{
    const cb_options *o = cb_ctx_options(ctx);
    int64_t ttl = cb_opt_duration_ms(o, "cache_ttl");
    cb_readcache_config cfg;
    if (!(st->bump_failures = cb_ctx_shared_counters(ctx, 1))) {
        cb_ctx_error(ctx, "model: no shared counter for the read cache's failed bumps");
        return 0;
    }
    if (ttl == 0)
        return 1;   /* off: every read is BYPASS, writes bump nothing */
    cb_readcache_config_defaults(&cfg);
    cfg.ttl_ms = ttl;
    cfg.stale_ttl_ms = ttl + cb_opt_duration_ms(o, "cache_stale");
    cfg.wait_ms = cb_opt_duration_ms(o, "cache_wait");
    cfg.max_value = (size_t)cb_opt_size(o, "cache_max_answer");
    st->cache = cb_readcache_create(cb_ctx_pool(ctx), cb_ctx_redis(ctx), st->env, &cfg);
    cb_readcache_set_local(st->cache, cb_opt_duration_ms(o, "cache_local_lease"),
                           (size_t)cb_opt_size(o, "cache_local_memory"));
    return 1;
}

/* Adds "LEN:TEXT\n" (NULL as "-\n") to the key's pieces: unambiguous
 * whatever TEXT holds. The pieces are joined once, at the end. */
static void key_part(apr_array_header_t *pieces, const char *text)
{
    if (!text) {
        APR_ARRAY_PUSH(pieces, const char *) = "-\n";
        return;
    }
    APR_ARRAY_PUSH(pieces, const char *) =
        apr_psprintf(pieces->pool, "%" APR_SIZE_T_FMT ":", strlen(text));
    APR_ARRAY_PUSH(pieces, const char *) = text;
    APR_ARRAY_PUSH(pieces, const char *) = "\n";
}

const char *md_cache_key(apr_pool_t *p, const md_state *st, const char *driver,
                         const md_read *r, const md_caller *c)
{
    md_sql scope;
    apr_array_header_t *pieces = apr_array_make(p, 24, sizeof(const char *));
    APR_ARRAY_PUSH(pieces, const char *) =
        apr_psprintf(p, "md1 %s %" APR_INT64_T_FMT " %" APR_INT64_T_FMT " %d\n",
                     r->single ? "get" : "list", r->page_size, r->page_number, r->get_count);
    key_part(pieces, r->where ? cb_json_dump(p, r->where) : NULL);
    key_part(pieces, r->select ? cb_json_dump(p, r->select) : NULL);
    key_part(pieces, r->order_by ? cb_json_dump(p, r->order_by) : NULL);
    /* The scope is what the preset adds to the SQL: equal scopes, equal rows. */
    md_sql_init(&scope, p, driver, st->limits.max_params);
    if (!md_read_scope(&scope, r->model, c))
        return NULL;
    key_part(pieces, scope.text);
    for (int i = 0; i < scope.args->nelts; i++)
        key_part(pieces, APR_ARRAY_IDX(scope.args, i, const char *));
    return apr_array_pstrcat(p, pieces, 0);
}

typedef struct read_job {
    md_state *st;
    cb_db *db;
    const md_read *r;
    const md_caller *c;
    int status;
    const char *code, *message;
} read_job;

static apr_status_t fill_from_database(void *baton, apr_pool_t *p, const char **value,
                                       size_t *len)
{
    read_job *job = baton;
    cb_json *data = md_read_answer(job->st, job->db, p, job->r, job->c, &job->status,
                                   &job->code, &job->message);
    if (!data)
        return APR_EGENERAL;    /* the error is in the job */
    *value = cb_json_dump(p, data);
    *len = strlen(*value);
    return APR_SUCCESS;
}

/* A request id as it may stand in a JSON string without escaping: the
 * core's ids are [A-Za-z0-9_.:-] (cb_request_id); checked all the same. */
static int id_is_plain(const char *id)
{
    for (; *id; id++)
        if (*id == '"' || *id == '\\' || (unsigned char)*id < 0x20)
            return 0;
    return 1;
}

/* {"data":DATA,"requestId":"ID"} around the data's JSON text (cached or
 * fresh), written in three pieces: the data's bytes (a HIT's are the Redis
 * reply's own) go to the host as they are, with no JSON object built and
 * no copy into one string first. */
static cb_status send_data(cb_req *req, const char *data, size_t len, const char *cache_status)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *id = cb_req_id(req), *tail;
    cb_status rv;
    if (id_is_plain(id)) {
        tail = apr_pstrcat(p, ",\"requestId\":\"", id, "\"}", NULL);
    } else {
        cb_json *t = cb_json_new_object(p);
        cb_json_set_string(t, "requestId", id);
        tail = apr_pstrcat(p, ",", cb_json_dump(p, t) + 1, NULL); /* its '{' is our ',' */
    }
    cb_req_set_header(req, "X-Cache-Status", cache_status);
    /* the length up front: the three pieces go out as one answer, never
     * chunked (httpd chunks an answer written in parts past its buffer) */
    cb_req_set_header(req, "Content-Length", apr_psprintf(p, "%" APR_SIZE_T_FMT,
                                                          8 + len + strlen(tail)));
    if ((rv = cb_req_send_json(req, 200, "{\"data\":")) != CB_OK ||
        (rv = cb_req_write(req, data, len)) != CB_OK)
        return rv;
    return cb_req_write(req, tail, strlen(tail));
}

cb_status md_cache_read(cb_req *req, md_state *st, cb_db *db, const md_read *r,
                        const md_caller *c)
{
    apr_pool_t *p = cb_req_pool(req);
    read_job job = {.st = st, .db = db, .r = r, .c = c, .status = 500, .code = "SYS_ERR",
                    .message = "the query failed"};
    const char *key = NULL, *value;
    size_t len;
    cb_readcache_status status;
    apr_status_t rv;
    if (st->cache && r->model->cache)
        key = md_cache_key(p, st, cb_db_driver(db), r, c);
    if (!key) {
        if (fill_from_database(&job, p, &value, &len) != APR_SUCCESS)
            return md_refuse(req, job.status, job.code, job.message);
        return send_data(req, value, len, cb_readcache_status_name(CB_READCACHE_BYPASS));
    }
    rv = cb_readcache_get(st->cache, p, r->model->cache_ns[r->pre], key, strlen(key),
                          fill_from_database, &job, &value, &len, &status);
    if (rv != APR_SUCCESS)
        return md_refuse(req, job.status, job.code, job.message);
    return send_data(req, value, len, cb_readcache_status_name(status));
}

void md_cache_written(cb_req *req, md_state *st, const md_model *m, int pre)
{
    apr_uint32_t now, last, failures;
    if (!st->cache || !m->cache)
        return;
    if (cb_readcache_bump(st->cache, cb_req_pool(req), m->cache_ns[pre]) == APR_SUCCESS)
        return;
    failures = apr_atomic_inc32(st->bump_failures) + 1;
    cb_req_set_header(req, "X-Cache-Invalidation", "failed");
    now = (apr_uint32_t)apr_time_sec(apr_time_now());
    last = apr_atomic_read32(&st->last_bump_log);
    if (last != now && apr_atomic_cas32(&st->last_bump_log, now, last) == last)
        cb_log_req(req, CB_LOG_WARNING, "model %s: the read cache could not be told of a "
                   "write (Redis unreachable; %u such writes on this node so far): other "
                   "nodes may serve older answers until they expire", m->name, failures);
}

cb_status md_handle_cache_purge(cb_req *req, void *state)
{
    md_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    int pre;
    cb_db *db;
    md_model *m = md_model_of(req, st, &pre, &db);
    cb_json *data;
    if (!m)
        return CB_DONE;
    data = cb_json_new_object(p);
    if (st->cache && m->cache &&
        cb_readcache_purge(st->cache, p, m->cache_ns[pre]) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the cache could not be reached; cached answers expire "
                                 "within cache_ttl");
    cb_json_set_bool(data, "purged", st->cache && m->cache);
    cb_json_set_int(data, "bumpFailures", (int64_t)apr_atomic_read32(st->bump_failures));
    return md_answer(req, data);
}
