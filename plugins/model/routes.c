/*
 * routes.c: the model routes. /v1/model/{prod|pre}/{model}/{op} (POST,
 * and PUT for update and updateMany), the GET form of list and DELETE
 * .../{id}/delete: the body is read and normalised here, the reads go
 * through the read cache (cache.c) to md_read_answer, the writes through
 * md_write_answer and then bump the read cache, and the
 * answer is {data, requestId} or {code, message, requestId}.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "model.h"

#define MD_MAX_PAGE_NUMBER 1000000

static md_caller caller_of(const cb_req *req)
{
    const cb_identity *id = cb_req_identity(req);
    md_caller c = {0};
    if (!id || id->kind == CB_IDENTITY_NONE)
        return c;
    c.admin = id->kind == CB_IDENTITY_ADMIN;
    c.anonymous = id->kind == CB_IDENTITY_ANONYMOUS;
    c.uid = id->uid && *id->uid ? id->uid : NULL;
    return c;
}

cb_status md_answer(cb_req *req, cb_json *data)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *body = cb_json_new_object(p);
    cb_json_set(body, "data", data);
    cb_json_set_string(body, "requestId", cb_req_id(req));
    return cb_req_send_json(req, 200, cb_json_dump(p, body));
}

cb_status md_refuse(cb_req *req, int status, const char *code, const char *message)
{
    if (status == 401)   /* the core's 401, with WWW-Authenticate */
        return cb_req_require_auth(req, CB_AUTH_ANY);
    return cb_req_send_error(req, status, code, message);
}

md_model *md_model_of(cb_req *req, md_state *st, int *pre, cb_db **db)
{
    const char *env_type = cb_req_param(req, "envType"), *name = cb_req_param(req, "model");
    md_model *m = name ? apr_hash_get(st->models, name, APR_HASH_KEY_STRING) : NULL;
    if (!env_type || (strcmp(env_type, "prod") && strcmp(env_type, "pre"))) {
        cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "the envType must be prod or pre");
        return NULL;
    }
    if (!m) {
        cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "no model of that name");
        return NULL;
    }
    if (!(*db = cb_req_db(req))) {
        cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "the database is not configured");
        return NULL;
    }
    *pre = env_type[1] == 'r' && env_type[2] == 'e';
    return m;
}

static cb_status run_read(cb_req *req, md_state *st, cb_db *db, const md_read *r)
{
    md_caller c = caller_of(req);
    return md_cache_read(req, st, db, r, &c);
}

/* pageSize, pageNumber from the body (JSON numbers) or the query string. */
static const char *page_value(apr_pool_t *p, const cb_json *v, const char *text,
                              const char *name, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (v) {
        if (!cb_json_int_value(v, out))
            return apr_psprintf(p, "%s must be an integer", name);
    } else if (text) {
        *out = strtoll(text, &end, 10);
        if (!*text || *end)
            return apr_psprintf(p, "%s must be an integer", name);
    }
    if (*out < min || *out > max)
        return apr_psprintf(p, "%s must be from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            name, min, max);
    return NULL;
}

static const char *normalise_read(cb_req *req, md_state *st, const cb_json *body, md_read *r)
{
    apr_pool_t *p = cb_req_pool(req);
    const cb_json *filter = cb_json_get(body, "filter"), *count = cb_json_get(body, "getCount");
    const char *err;
    int b = 0;
    if (filter && !cb_json_is_object(filter))
        return "filter must be an object such as {\"where\": {}}";
    r->where = cb_json_get(filter, "where");
    r->select = cb_json_get(body, "select");
    r->order_by = cb_json_get(body, "orderBy");
    r->page_size = st->default_page_size;
    r->page_number = 1;
    if ((err = page_value(p, cb_json_get(body, "pageSize"), NULL, "pageSize", 1,
                          st->max_page_size, &r->page_size)) ||
        (err = page_value(p, cb_json_get(body, "pageNumber"), NULL, "pageNumber", 1,
                          MD_MAX_PAGE_NUMBER, &r->page_number)))
        return err;
    if (count && !cb_json_bool_value(count, &b))
        return "getCount must be true or false";
    r->get_count = b;
    return NULL;
}

static cb_status run_write(cb_req *req, md_state *st, cb_db *db, md_write *w)
{
    md_caller c = caller_of(req);
    int status = 500;
    const char *code = "SYS_ERR", *message = "the write failed";
    cb_json *data;
    w->max_batch = st->max_batch;
    data = md_write_answer(st, db, cb_req_pool(req), w, &c, &status, &code, &message);
    /* done, or maybe done (the database failed mid-way): bump before answering */
    if (data || status >= 500)
        md_cache_written(req, st, w->model, w->pre);
    return data ? md_answer(req, data) : md_refuse(req, status, code, message);
}

static const char *const post_ops[] = {"list", "get", "create", "createMany", "upsert",
                                       "delete", "deleteMany", NULL};
static const char *const put_ops[] = {"update", "updateMany", NULL};

static int listed(const char *const *ops, const char *op)
{
    for (; *ops; ops++)
        if (strcmp(*ops, op) == 0)
            return 1;
    return 0;
}

cb_status md_handle_op(cb_req *req, void *state)
{
    md_state *st = state;
    const char *op = cb_req_param(req, "op"), *err;
    int pre, is_put = strcmp(cb_req_method(req), "PUT") == 0;
    cb_db *db;
    cb_json *body;
    md_model *m = md_model_of(req, st, &pre, &db);
    if (!m)
        return CB_DONE;
    if (!listed(post_ops, op) && !listed(put_ops, op))
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND",
                                 "unknown operation: use list, get, create, createMany, "
                                 "update, updateMany, upsert, delete or deleteMany");
    if (listed(put_ops, op) != is_put)
        return cb_req_send_error(req, 405, "METHOD_NOT_ALLOWED",
                                 is_put ? "this operation is sent with POST"
                                        : "update and updateMany are sent with PUT");
    if (cb_req_read_json_object(req, (size_t)st->max_body, &body) != CB_OK)
        return CB_ERROR;
    if (strcmp(op, "list") == 0 || strcmp(op, "get") == 0) {
        md_read r = {.model = m, .pre = pre, .single = op[0] == 'g'};
        if ((err = normalise_read(req, st, body, &r)))
            return cb_req_send_error(req, 400, "INVALID_PARAM", err);
        return run_read(req, st, db, &r);
    } else {
        md_write w = {.model = m, .pre = pre, .op = op, .data = cb_json_get(body, "data"),
                      .create = cb_json_get(body, "create"),
                      .update = cb_json_get(body, "update")};
        const cb_json *filter = cb_json_get(body, "filter");
        if (strncmp(op, "create", 6) != 0) {
            if (!cb_json_is_object(filter) || !cb_json_is_object(cb_json_get(filter, "where")))
                return cb_req_send_error(req, 400, "INVALID_PARAM",
                                         "filter.where is required: an object of conditions");
            w.where = cb_json_get(filter, "where");
        }
        if (strcmp(op, "upsert") == 0 && (!cb_json_is_object(w.create) ||
                                          !cb_json_is_object(w.update)))
            return cb_req_send_error(req, 400, "INVALID_PARAM",
                                     "upsert needs create and update objects");
        return run_write(req, st, db, &w);
    }
}

cb_status md_handle_list_get(cb_req *req, void *state)
{
    md_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *count = cb_req_query_param(req, "getCount"), *err;
    int pre;
    cb_db *db;
    md_model *m = md_model_of(req, st, &pre, &db);
    md_read r = {.model = m, .pre = pre, .page_size = st->default_page_size, .page_number = 1};
    if (!m)
        return CB_DONE;
    if (strcmp(cb_req_param(req, "op"), "list") != 0)   /* only list has a GET form */
        return cb_req_send_error(req, 405, "METHOD_NOT_ALLOWED", "this operation is sent with "
                                 "POST (update and updateMany with PUT)");
    if ((err = page_value(p, NULL, cb_req_query_param(req, "pageSize"), "pageSize", 1,
                          st->max_page_size, &r.page_size)) ||
        (err = page_value(p, NULL, cb_req_query_param(req, "pageNumber"), "pageNumber", 1,
                          MD_MAX_PAGE_NUMBER, &r.page_number)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    if (count && strcmp(count, "true") && strcmp(count, "false"))
        return cb_req_send_error(req, 400, "INVALID_PARAM", "getCount must be true or false");
    r.get_count = count && strcmp(count, "true") == 0;
    return run_read(req, st, db, &r);
}

cb_status md_handle_delete_id(cb_req *req, void *state)
{
    md_state *st = state;
    /* the router names the segment {op}, as in the op routes */
    const char *id = cb_req_param(req, "op");
    int pre;
    cb_db *db;
    md_model *m = md_model_of(req, st, &pre, &db);
    md_write w = {.model = m, .pre = pre, .op = "delete", .id = id};
    if (!m)
        return CB_DONE;
    if (!id || !*id || strlen(id) > 64)
        return cb_req_send_error(req, 400, "INVALID_PARAM", "the record id is 1 to 64 characters");
    return run_write(req, st, db, &w);
}
