/*
 * writes.c: the model's write ops (create, createMany, update, updateMany,
 * upsert, delete, deleteMany and delete by id), each in one transaction.
 * Values are checked against the schema and bound; the caller's write
 * scope (the permission preset) is part of every UPDATE and DELETE, so a
 * filter that matches other users' rows touches only the caller's own.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "model.h"

typedef struct write_job {
    md_state *st;
    const md_write *w;
    const md_caller *c;
    apr_pool_t *p;
    const char *driver;
    cb_json *data;          /* the answer's data */
    int status;             /* a client error found inside the transaction */
    const char *code, *message;
} write_job;

static apr_status_t refuse(write_job *job, int status, const char *code, const char *message)
{
    job->status = status;
    job->code = code;
    job->message = message;
    return APR_EGENERAL;
}

static const char *now_ms(apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (int64_t)(apr_time_now() / 1000));
}

/* The fields and bound texts of a data object; creating also applies
 * defaults and checks required fields. */
static const char *row_values(apr_pool_t *p, const md_schema *s, const cb_json *data,
                              int creating, apr_array_header_t *cols, apr_array_header_t *vals)
{
    cb_json_iter it = {0};
    const char *key, *err, *text;
    cb_json *v;
    int is_null;
    if (!cb_json_is_object(data))
        return "data must be an object of fields";
    while (cb_json_object_next(data, &it, &key, &v)) {
        const md_field *f = md_schema_field(s, key);
        if (!f)
            return apr_psprintf(p, "unknown field '%.40s'", key);
        if (f->system)
            return apr_psprintf(p, "field '%s' is set by the gateway", f->name);
        text = md_value_text(p, f, v, &is_null, &err);
        if (!text && !is_null)
            return err;
        if (is_null && f->required)
            return apr_psprintf(p, "field '%s' is required", f->name);
        APR_ARRAY_PUSH(cols, const md_field *) = f;
        APR_ARRAY_PUSH(vals, const char *) = text;
    }
    if (!creating)
        return cols->nelts ? NULL : "data names no field to change";
    for (int i = 0; i < s->fields->nelts; i++) {
        const md_field *f = APR_ARRAY_IDX(s->fields, i, md_field *);
        if (f->system || cb_json_get(data, f->name))
            continue;
        if (f->default_value) {
            APR_ARRAY_PUSH(cols, const md_field *) = f;
            APR_ARRAY_PUSH(vals, const char *) = md_value_text(p, f, f->default_value,
                                                               &is_null, &err);
        } else if (f->required) {
            return apr_psprintf(p, "field '%s' is required", f->name);
        }
    }
    return NULL;
}

static apr_status_t db_refusal(write_job *job, apr_status_t rv)
{
    if (rv == CB_DB_ESQL)
        return refuse(job, 400, "INVALID_PARAM",
                      "the record conflicts with another one on a unique field");
    md_db_failure(rv, &job->status, &job->code, &job->message);
    return rv;
}

/* Inserts one record; *id gets its _id. */
static apr_status_t insert_one(cb_db_tx *tx, write_job *job, const cb_json *data,
                               const char **id)
{
    apr_pool_t *p = job->p;
    const md_model *m = job->w->model;
    apr_array_header_t *cols = apr_array_make(p, 8, sizeof(md_field *));
    apr_array_header_t *vals = apr_array_make(p, 16, sizeof(const char *));
    const char *err, *now = now_ms(p), *uid = job->c->uid;
    md_sql q;
    apr_status_t rv;
    if ((err = row_values(p, m->schema, data, 1, cols, vals)))
        return refuse(job, 400, "INVALID_PARAM", err);
    if (!(*id = cb_random_hex(p, 16)))
        return refuse(job, 500, "SYS_ERR", "no random id could be made");
    md_sql_init(&q, p, job->driver, 0);
    md_sql_add(&q, "INSERT INTO ");
    md_sql_add(&q, m->tables[job->w->pre]);
    md_sql_add(&q, " (\"_id\", \"createdAt\", \"updatedAt\", \"owner\", \"createBy\", "
                   "\"updateBy\", \"_openid\"");
    for (int i = 0; i < cols->nelts; i++) {
        md_sql_add(&q, ", \"");
        md_sql_add(&q, APR_ARRAY_IDX(cols, i, md_field *)->name);
        md_sql_add(&q, "\"");
    }
    md_sql_add(&q, ") VALUES (");
    md_sql_bind(&q, *id);
    md_sql_add(&q, ", ");
    md_sql_bind(&q, now);
    md_sql_add(&q, ", ");
    md_sql_bind(&q, now);
    for (int i = 0; i < 4; i++) {
        md_sql_add(&q, ", ");
        md_sql_bind(&q, uid);
    }
    for (int i = 0; i < vals->nelts; i++) {
        md_sql_add(&q, ", ");
        md_sql_bind(&q, APR_ARRAY_IDX(vals, i, const char *));
    }
    md_sql_add(&q, ")");
    rv = cb_db_tx_exec(tx, q.text, q.args->nelts, (const char *const *)q.args->elts, NULL);
    return rv ? db_refusal(job, rv) : APR_SUCCESS;
}

/* " WHERE <filter> <scope>" for the caller's own rows; single: the first
 * of them by _id only. */
static apr_status_t target_rows(write_job *job, md_sql *q, const cb_json *where, int single)
{
    const md_model *m = job->w->model;
    const char *err;
    md_sql_add(q, " WHERE ");
    if (single) {
        md_sql_add(q, "\"_id\" IN (SELECT \"_id\" FROM ");
        md_sql_add(q, m->tables[job->w->pre]);
        md_sql_add(q, " WHERE ");
    }
    if (job->w->id) {
        md_sql_add(q, "\"_id\" = ");
        md_sql_bind(q, job->w->id);
    } else if ((err = md_compile_where(q, m->schema, where, &job->st->limits))) {
        return refuse(job, 400, "INVALID_PARAM", err);
    }
    if (!md_write_scope(q, m, job->c))
        return refuse(job, 403, "PERMISSION_DENIED", "you may not change this model's records");
    if (single)
        md_sql_add(q, " ORDER BY \"_id\" LIMIT 1)");
    return APR_SUCCESS;
}

static apr_status_t update_rows(cb_db_tx *tx, write_job *job, const cb_json *where,
                                const cb_json *data, int single, int *count)
{
    apr_pool_t *p = job->p;
    const md_model *m = job->w->model;
    apr_array_header_t *cols = apr_array_make(p, 8, sizeof(md_field *));
    apr_array_header_t *vals = apr_array_make(p, 8, sizeof(const char *));
    const char *err;
    md_sql q;
    apr_status_t rv;
    if ((err = row_values(p, m->schema, data, 0, cols, vals)))
        return refuse(job, 400, "INVALID_PARAM", err);
    md_sql_init(&q, p, job->driver, job->st->limits.max_params);
    md_sql_add(&q, "UPDATE ");
    md_sql_add(&q, m->tables[job->w->pre]);
    md_sql_add(&q, " SET ");
    for (int i = 0; i < cols->nelts; i++) {
        md_sql_add(&q, "\"");
        md_sql_add(&q, APR_ARRAY_IDX(cols, i, md_field *)->name);
        md_sql_add(&q, "\" = ");
        md_sql_bind(&q, APR_ARRAY_IDX(vals, i, const char *));
        md_sql_add(&q, ", ");
    }
    md_sql_add(&q, "\"updatedAt\" = ");
    md_sql_bind(&q, now_ms(p));
    md_sql_add(&q, ", \"updateBy\" = ");
    md_sql_bind(&q, job->c->uid);
    if ((rv = target_rows(job, &q, where, single)))
        return rv;
    rv = cb_db_tx_exec(tx, q.text, q.args->nelts, (const char *const *)q.args->elts, count);
    return rv ? db_refusal(job, rv) : APR_SUCCESS;
}

static apr_status_t delete_rows(cb_db_tx *tx, write_job *job, const cb_json *where, int single,
                                int *count)
{
    md_sql q;
    apr_status_t rv;
    md_sql_init(&q, job->p, job->driver, job->st->limits.max_params);
    md_sql_add(&q, "DELETE FROM ");
    md_sql_add(&q, job->w->model->tables[job->w->pre]);
    if ((rv = target_rows(job, &q, where, single)))
        return rv;
    rv = cb_db_tx_exec(tx, q.text, q.args->nelts, (const char *const *)q.args->elts, count);
    return rv ? db_refusal(job, rv) : APR_SUCCESS;
}

/* upsert: the caller's first matching record is updated, else one is
 * created. */
static apr_status_t upsert(cb_db_tx *tx, write_job *job, int *count, const char **id)
{
    md_sql q;
    cb_db_result *res;
    apr_status_t rv;
    md_sql_init(&q, job->p, job->driver, job->st->limits.max_params);
    md_sql_add(&q, "SELECT \"_id\" FROM ");
    md_sql_add(&q, job->w->model->tables[job->w->pre]);
    if ((rv = target_rows(job, &q, job->w->where, 0)))
        return rv;
    md_sql_add(&q, " ORDER BY \"_id\" LIMIT 1");
    rv = cb_db_tx_select(tx, q.text, q.args->nelts, (const char *const *)q.args->elts, &res);
    if (rv)
        return db_refusal(job, rv);
    if (res->rows == 0) {
        *count = 1;
        return insert_one(tx, job, job->w->create, id);
    }
    *id = cb_db_text(res, 0, 0);
    {
        md_write one = *job->w;
        const md_write *saved = job->w;
        one.id = *id;
        job->w = &one;
        rv = update_rows(tx, job, NULL, job->w->update, 0, count);
        job->w = saved;
    }
    return rv;
}

static apr_status_t write_in_tx(cb_db_tx *tx, void *baton)
{
    write_job *job = baton;
    const md_write *w = job->w;
    const char *op = w->op, *id;
    int count = 0, many = strstr(op, "Many") != NULL;
    apr_status_t rv;
    job->data = cb_json_new_object(job->p);
    if (strcmp(op, "create") == 0) {
        if ((rv = insert_one(tx, job, w->data, &id)))
            return rv;
        cb_json_set_string(job->data, "id", id);
    } else if (strcmp(op, "createMany") == 0) {
        cb_json *ids = cb_json_new_array(job->p);
        size_t n = cb_json_array_size(w->data);
        if (!cb_json_is_array(w->data) || n == 0)
            return refuse(job, 400, "INVALID_PARAM", "data must be a non-empty list of records");
        if ((int)n > w->max_batch)
            return refuse(job, 400, "INVALID_PARAM",
                          apr_psprintf(job->p, "createMany takes at most %d records",
                                       w->max_batch));
        for (size_t i = 0; i < n; i++) {
            if ((rv = insert_one(tx, job, cb_json_array_get(w->data, i), &id)))
                return rv;
            cb_json_append_string(ids, id);
        }
        cb_json_set(job->data, "idList", ids);
    } else if (strncmp(op, "update", 6) == 0) {
        if ((rv = update_rows(tx, job, w->where, w->data, !many, &count)))
            return rv;
        cb_json_set_int(job->data, "count", count);
    } else if (strncmp(op, "delete", 6) == 0) {
        if ((rv = delete_rows(tx, job, w->where, !many && !w->id, &count)))
            return rv;
        cb_json_set_int(job->data, "count", count);
    } else {
        if ((rv = upsert(tx, job, &count, &id)))
            return rv;
        cb_json_set_int(job->data, "count", count);
        cb_json_set_string(job->data, "id", id);
    }
    return APR_SUCCESS;
}

cb_json *md_write_answer(md_state *st, cb_db *db, apr_pool_t *p, const md_write *w,
                         const md_caller *c, int *status, const char **code,
                         const char **message)
{
    write_job job = {.st = st, .w = w, .c = c, .p = p, .driver = cb_db_driver(db)};
    const char *err;
    apr_status_t rv;
    if (!md_may_create(w->model, c)) {   /* the same for every write op */
        *status = c->uid ? 403 : 401;
        *code = c->uid ? "PERMISSION_DENIED" : "UNAUTHENTICATED";
        *message = c->uid ? "you may not write to this model" : "sign in to write to this model";
        return NULL;
    }
    if ((rv = md_sync_table(st, w->model, w->pre, db, p, &err))) {
        if (err) {
            *status = 500;
            *code = "SYS_ERR";
            *message = "the model's table does not match its schema (see the error log)";
            return NULL;
        }
        return md_db_failure(rv, status, code, message);
    }
    rv = cb_db_transaction(db, p, write_in_tx, &job);
    if (rv == APR_SUCCESS)
        return job.data;
    if (job.status) {
        *status = job.status;
        *code = job.code;
        *message = job.message;
        return NULL;
    }
    return md_db_failure(rv, status, code, message);
}
