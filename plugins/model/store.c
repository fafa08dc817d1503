/*
 * store.c: a model's table in the database service: its name per
 * environment and envType, creating it and adding the columns of new
 * fields (recorded in cb_model_fields, so a changed type is found and
 * refused with the fix), the permission presets as SQL scopes, and the
 * read path (list and get) as one function from a normalised read and the
 * caller to the answer's data, which a read cache can wrap.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/crypto.h"
#include "cloudbase/log.h"
#include "model.h"

/* What each model table's fields are, to find a changed type. */
const cb_db_migration md_migrations[] = {
    {.number = 1,
     .sql = "CREATE TABLE cb_model_fields (tbl VARCHAR(128) NOT NULL, field VARCHAR(64) NOT NULL, "
            "type VARCHAR(16) NOT NULL, PRIMARY KEY (tbl, field))"},
    {0, NULL}
};

const char *md_table_name(apr_pool_t *p, const char *env, const char *model, const char *env_type)
{
    const char *hash = cb_sha256_hex(p, env, strlen(env));
    return apr_psprintf(p, "\"cbm_%s_%s_%.8s\"", model, env_type, hash);
}

/* The name of an index on field of table (quoted, within 63 bytes). */
static const char *index_name(apr_pool_t *p, const char *table, const char *field)
{
    const char *text = apr_pstrcat(p, table, "\n", field, NULL);
    return apr_psprintf(p, "\"cbx_%.24s\"", cb_sha256_hex(p, text, strlen(text)));
}

static apr_status_t add_index(cb_db_tx *tx, apr_pool_t *p, const char *table, const md_field *f)
{
    if (!f->index && !f->unique)
        return APR_SUCCESS;
    return cb_db_tx_exec(tx, apr_psprintf(p, "CREATE %sINDEX IF NOT EXISTS %s ON %s (\"%s\")",
                                          f->unique ? "UNIQUE " : "",
                                          index_name(p, table, f->name), table, f->name),
                         0, NULL, NULL);
}

typedef struct sync_job {
    const md_model *model;
    const char *table, *driver, *error;
    apr_pool_t *p;
} sync_job;

static apr_status_t sync_in_tx(cb_db_tx *tx, void *baton)
{
    sync_job *job = baton;
    apr_pool_t *p = job->p;
    const md_schema *s = job->model->schema;
    const char *args[3] = {job->table, NULL, NULL};
    cb_db_result *known;
    apr_hash_t *types = apr_hash_make(p);
    apr_status_t rv = cb_db_tx_select(tx, "SELECT field, type FROM cb_model_fields WHERE tbl = ?",
                                      1, args, &known);
    if (rv != APR_SUCCESS)
        return rv;
    for (int r = 0; r < known->rows; r++)
        apr_hash_set(types, cb_db_text(known, r, 0), APR_HASH_KEY_STRING,
                     cb_db_text(known, r, 1));
    if (known->rows == 0) {
        const char *sql = apr_pstrcat(p, "CREATE TABLE IF NOT EXISTS ", job->table, " (", NULL);
        for (int i = 0; i < s->fields->nelts; i++) {
            md_field *f = APR_ARRAY_IDX(s->fields, i, md_field *);
            sql = apr_psprintf(p, "%s%s\"%s\" %s", sql, i ? ", " : "", f->name,
                               md_column_type(f, job->driver));
        }
        if ((rv = cb_db_tx_exec(tx, apr_pstrcat(p, sql, ")", NULL), 0, NULL, NULL)))
            return rv;
        for (int i = 0; i < s->fields->nelts; i++) {
            md_field *f = APR_ARRAY_IDX(s->fields, i, md_field *);
            if ((rv = add_index(tx, p, job->table, f)))
                return rv;
        }
    }
    for (int i = 0; i < s->fields->nelts; i++) {
        md_field *f = APR_ARRAY_IDX(s->fields, i, md_field *);
        const char *had = apr_hash_get(types, f->name, APR_HASH_KEY_STRING);
        if (had) {
            if (strcmp(had, md_type_name(f->type)) == 0)
                continue;
            job->error = apr_psprintf(p, "model %s: field '%s' was %s and is now %s. A column's "
                                         "type is never changed in place: give the new type a "
                                         "new field name (and copy the data over), or restore "
                                         "type %s", job->model->name, f->name, had,
                                      md_type_name(f->type), had);
            return CB_DB_ESQL;
        }
        if (known->rows > 0) {
            if ((rv = cb_db_tx_exec(tx, apr_psprintf(p, "ALTER TABLE %s ADD COLUMN \"%s\" %s",
                                                     job->table, f->name,
                                                     md_column_type(f, job->driver)),
                                    0, NULL, NULL)) ||
                (rv = add_index(tx, p, job->table, f)))
                return rv;
        }
        args[1] = f->name;
        args[2] = md_type_name(f->type);
        if ((rv = cb_db_tx_exec(tx, "INSERT INTO cb_model_fields (tbl, field, type) "
                                    "VALUES (?, ?, ?)", 3, args, NULL)))
            return rv;
    }
    return APR_SUCCESS;
}

apr_status_t md_sync_table(md_state *st, md_model *m, int pre, cb_db *db, apr_pool_t *p,
                           const char **error)
{
    sync_job job = {.model = m, .table = m->tables[pre], .driver = cb_db_driver(db), .p = p};
    apr_status_t rv = APR_SUCCESS;
    *error = NULL;
    if (m->ready[pre])
        return APR_SUCCESS;
    if (st->sync_lock)
        apr_thread_mutex_lock(st->sync_lock);
    /* Another process may sync the same table at once: its commit makes the
     * second attempt see the fields. */
    for (int attempt = 0; !m->ready[pre] && attempt < 3; attempt++) {
        job.error = NULL;
        rv = cb_db_transaction(db, p, sync_in_tx, &job);
        if (rv == APR_SUCCESS)
            m->ready[pre] = 1;
        if (job.error || rv == CB_DB_EDOWN)
            break;
    }
    if (st->sync_lock)
        apr_thread_mutex_unlock(st->sync_lock);
    *error = job.error;
    if (job.error)
        cb_log(CB_LOG_ERR, "%s", job.error);
    return rv;
}

static int may_write(const md_model *m, const md_caller *c)
{
    if (c->admin)
        return 1;
    if (m->permission == MD_PERM_ADMINWRITE || m->permission == MD_PERM_ADMINONLY)
        return 0;
    return c->uid && (!c->anonymous || m->anonymous_write);
}

int md_may_create(const md_model *m, const md_caller *c) { return may_write(m, c); }

int md_read_scope(md_sql *q, const md_model *m, const md_caller *c)
{
    if (c->admin || m->permission == MD_PERM_READONLY || m->permission == MD_PERM_ADMINWRITE)
        return 1;
    if (m->permission == MD_PERM_ADMINONLY || !c->uid)
        return 0;
    md_sql_add(q, " AND \"owner\" = ");
    return md_sql_bind(q, c->uid) == 0;
}

int md_write_scope(md_sql *q, const md_model *m, const md_caller *c)
{
    if (!may_write(m, c))
        return 0;
    if (c->admin)
        return 1;
    md_sql_add(q, " AND \"owner\" = ");
    return md_sql_bind(q, c->uid) == 0;
}

static cb_json *record_json(apr_pool_t *p, const apr_array_header_t *fields,
                            const cb_db_result *res, int r)
{
    cb_json *rec = cb_json_new_object(p);
    for (int i = 0; i < fields->nelts; i++) {
        const md_field *f = APR_ARRAY_IDX(fields, i, md_field *);
        cb_json_set(rec, f->name, md_value_json(p, f, cb_db_text(res, r, i)));
    }
    return rec;
}

static cb_json *fail(int *status, const char **code, const char **message, int s,
                     const char *c, const char *m)
{
    *status = s;
    *code = c;
    *message = m;
    return NULL;
}

cb_json *md_db_failure(apr_status_t rv, int *status, const char **code, const char **message)
{
    if (rv == CB_DB_EDOWN)
        return fail(status, code, message, 503, "SERVICE_UNAVAILABLE",
                    "the database is unavailable; try again shortly");
    if (rv == CB_DB_ETIMEOUT)
        return fail(status, code, message, 504, "SERVICE_TIMEOUT", "the query took too long");
    return fail(status, code, message, 500, "SYS_ERR", "the query failed");
}

cb_json *md_read_answer(md_state *st, cb_db *db, apr_pool_t *p, const md_read *r,
                        const md_caller *c, int *status, const char **code,
                        const char **message)
{
    const md_model *m = r->model;
    const char *driver = cb_db_driver(db), *err, *table = m->tables[r->pre];
    apr_array_header_t *fields;
    md_sql q, count;
    cb_db_result *res;
    cb_json *data = cb_json_new_object(p), *records;
    apr_status_t rv;
    int64_t size = r->single ? 1 : r->page_size;
    if ((rv = md_sync_table(st, (md_model *)m, r->pre, db, p, &err)))
        return err ? fail(status, code, message, 500, "SYS_ERR",
                          "the model's table does not match its schema (see the error log)")
                   : md_db_failure(rv, status, code, message);
    if ((err = md_compile_select(p, m->schema, r->select, &fields)))
        return fail(status, code, message, 400, "INVALID_PARAM", err);
    md_sql_init(&q, p, driver, st->limits.max_params);
    md_sql_add(&q, "SELECT ");
    for (int i = 0; i < fields->nelts; i++) {
        md_sql_add(&q, i ? ", \"" : "\"");
        md_sql_add(&q, APR_ARRAY_IDX(fields, i, md_field *)->name);
        md_sql_add(&q, "\"");
    }
    md_sql_add(&q, " FROM ");
    md_sql_add(&q, table);
    md_sql_add(&q, " WHERE ");
    if ((err = md_compile_where(&q, m->schema, r->where, &st->limits)))
        return fail(status, code, message, 400, "INVALID_PARAM", err);
    if (!md_read_scope(&q, m, c))
        return c->uid ? fail(status, code, message, 403, "PERMISSION_DENIED",
                             "this model may not be read by you")
                      : fail(status, code, message, 401, "UNAUTHENTICATED",
                             "sign in to read this model");
    /* the same condition, for the count */
    md_sql_init(&count, p, driver, 0);
    md_sql_add(&count, "SELECT COUNT(*) FROM ");
    md_sql_add(&count, table);
    md_sql_add(&count, strstr(q.text, " WHERE "));
    count.args = q.args;
    if ((err = md_compile_order(&q, m->schema, r->order_by)))
        return fail(status, code, message, 400, "INVALID_PARAM", err);
    md_sql_add(&q, apr_psprintf(p, " LIMIT %" APR_INT64_T_FMT " OFFSET %" APR_INT64_T_FMT, size,
                                r->single ? 0 : (r->page_number - 1) * r->page_size));
    rv = cb_db_select(db, p, q.text, q.args->nelts, (const char *const *)q.args->elts, &res);
    if (rv != APR_SUCCESS)
        return md_db_failure(rv, status, code, message);
    if (r->single) {
        if (res->rows > 0)
            cb_json_set(data, "record", record_json(p, fields, res, 0));
        return data;
    }
    records = cb_json_new_array(p);
    for (int i = 0; i < res->rows; i++)
        cb_json_append(records, record_json(p, fields, res, i));
    cb_json_set(data, "records", records);
    if (r->get_count) {
        cb_db_result *n;
        int64_t total = 0;
        rv = cb_db_select(db, p, count.text, count.args->nelts,
                          (const char *const *)count.args->elts, &n);
        if (rv != APR_SUCCESS)
            return md_db_failure(rv, status, code, message);
        cb_db_int64(n, 0, 0, &total);
        cb_json_set_int(data, "total", total);
    }
    return data;
}
