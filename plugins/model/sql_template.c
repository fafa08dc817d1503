/*
 * sql_template.c: runSQLTemplate, POST /v1/sql/{prod|pre}/{template}/run.
 * An admin configures each template (`sql_template NAME file:PATH
 * [auth=LEVEL]`) as SQL text in which {{key}} marks a parameter and
 * {{table:MODEL}} a model's table for the request's envType. Parameters
 * become '?' with the SDK's typed values bound, never text in the SQL.
 * The answer is the shape the SDK reads: {Response:{Data, RequestId}} or
 * {Response:{Error:{Code, Message}, RequestId}} (with code, message and
 * requestId at the top level too).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/log.h"
#include "model.h"

#define MD_TEMPLATE_MAX_PARAMS 64

/* One envType's text of a template: '?' per parameter, keys in order. */
const char *md_template_compile(apr_pool_t *p, const md_state *st, const char *text, int pre,
                                md_template_text *out)
{
    const char *c = text;
    char quote = 0;
    md_sql q;
    md_sql_init(&q, p, "", 0);
    out->keys = apr_array_make(p, 4, sizeof(const char *));
    while (*c) {
        const char *end;
        if (quote) {
            char one[2] = {*c, 0};
            if (*c == quote)
                quote = 0;
            md_sql_add(&q, one);
            c++;
            continue;
        }
        if (*c == '?')
            return "the template holds a '?': write parameters as {{name}}";
        if (*c == '\'' || *c == '"') {
            char one[2] = {*c, 0};
            quote = *c;
            md_sql_add(&q, one);
            c++;
            continue;
        }
        if (c[0] != '{' || c[1] != '{') {
            char one[2] = {*c, 0};
            md_sql_add(&q, one);
            c++;
            continue;
        }
        if (!(end = strstr(c, "}}")))
            return "a {{ without }} in the template";
        {
            const char *name = apr_pstrmemdup(p, c + 2, (apr_size_t)(end - c - 2));
            if (strncmp(name, "table:", 6) == 0) {
                const md_model *m = apr_hash_get(st->models, name + 6, APR_HASH_KEY_STRING);
                if (!m)
                    return apr_psprintf(p, "{{%s}}: no model %s is declared", name, name + 6);
                md_sql_add(&q, m->tables[pre]);
            } else {
                if (!md_valid_name(name, 64))
                    return apr_psprintf(p, "{{%.40s}}: a parameter name is a letter, then "
                                           "letters, digits and '_'", name);
                if (out->keys->nelts >= MD_TEMPLATE_MAX_PARAMS)
                    return "the template has more than 64 parameters";
                APR_ARRAY_PUSH(out->keys, const char *) = name;
                md_sql_add(&q, "?");
            }
        }
        c = end + 2;
    }
    if (quote)
        return "an unterminated quote in the template";
    out->sql = q.text;
    for (c = q.text; *c == ' ' || *c == '\n' || *c == '\t' || *c == '('; c++)
        ;
    out->returns_rows = strncasecmp(c, "select", 6) == 0 || strncasecmp(c, "with", 4) == 0 ||
                        strncasecmp(c, "values", 6) == 0;
    /* WITH may hold a writing CTE (PostgreSQL): only a plain SELECT is a read */
    out->writes = strncasecmp(c, "select", 6) != 0;
    return NULL;
}

/* The value of one typed parameter {key, type, value} as bound text. */
static const char *typed_value(apr_pool_t *p, const cb_json *item, const char **error)
{
    const char *type = cb_json_get_string(item, "type"), *value = cb_json_get_string(item, "value");
    const char *key = cb_json_get_string(item, "key");
    char *end;
    *error = NULL;
    if (!key || !type || !value) {
        *error = "each parameter is {key, type, value} with string members";
        return NULL;
    }
    if (strcmp(type, "STRING") == 0)
        return value;
    if (strcmp(type, "NUMBER") == 0) {
        double d = strtod(value, &end);
        if (!*value || *end || d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
            *error = apr_psprintf(p, "parameter '%.40s' is not a finite number", key);
        return *error ? NULL : value;
    }
    if (strcmp(type, "BOOLEAN") == 0) {
        if (strcmp(value, "true") && strcmp(value, "false"))
            *error = apr_psprintf(p, "parameter '%.40s' is not true or false", key);
        return *error ? NULL : (value[0] == 't' ? "1" : "0");
    }
    if (strcmp(type, "ARRAY") == 0 || strcmp(type, "OBJECT") == 0) {
        cb_json *v = cb_json_parse(p, value, strlen(value), NULL);
        if (!v || (type[0] == 'A' ? !cb_json_is_array(v) : !cb_json_is_object(v)))
            *error = apr_psprintf(p, "parameter '%.40s' is not JSON of type %s", key, type);
        return *error ? NULL : value;
    }
    *error = apr_psprintf(p, "parameter '%.40s' has an unknown type (use STRING, NUMBER, "
                             "BOOLEAN, ARRAY or OBJECT)", key);
    return NULL;
}

const char *md_template_args(apr_pool_t *p, const md_template_text *t, const cb_json *parameter,
                             const char ***args)
{
    apr_hash_t *given = apr_hash_make(p);
    const char *err;
    if (parameter && !cb_json_is_array(parameter))
        return "parameter must be a list of {key, type, value}";
    if (cb_json_array_size(parameter) > MD_TEMPLATE_MAX_PARAMS)
        return "more than 64 parameters";
    for (size_t i = 0; i < cb_json_array_size(parameter); i++) {
        const cb_json *item = cb_json_array_get(parameter, i);
        const char *value = typed_value(p, item, &err);
        if (!value)
            return err;
        apr_hash_set(given, cb_json_get_string(item, "key"), APR_HASH_KEY_STRING, value);
    }
    *args = apr_pcalloc(p, sizeof(const char *) * (size_t)(t->keys->nelts + 1));
    for (int i = 0; i < t->keys->nelts; i++) {
        const char *key = APR_ARRAY_IDX(t->keys, i, const char *);
        if (!((*args)[i] = apr_hash_get(given, key, APR_HASH_KEY_STRING)))
            return apr_psprintf(p, "parameter '%s' is missing", key);
    }
    return NULL;
}

static cb_status sql_answer(cb_req *req, int status, const char *code, const char *message,
                            cb_json *data)
{
    apr_pool_t *p = cb_req_pool(req);
    cb_json *body = cb_json_new_object(p), *response = cb_json_new_object(p);
    if (code) {
        cb_json *error = cb_json_new_object(p);
        cb_json_set_string(body, "code", code);
        cb_json_set_string(body, "message", message);
        cb_json_set_string(body, "requestId", cb_req_id(req));
        cb_json_set_string(error, "Code", code);
        cb_json_set_string(error, "Message", message);
        cb_json_set(response, "Error", error);
    } else {
        cb_json_set(response, "Data", data);
    }
    cb_json_set_string(response, "RequestId", cb_req_id(req));
    cb_json_set(body, "Response", response);
    return cb_req_send_json(req, status, cb_json_dump(p, body));
}

/* A writing template may touch any model's table of its envType: every
 * model's cached answers of that envType are dropped. */
static void bump_every_model(cb_req *req, md_state *st, int pre)
{
    for (apr_hash_index_t *hi = apr_hash_first(cb_req_pool(req), st->models); hi;
         hi = apr_hash_next(hi))
        md_cache_written(req, st, apr_hash_this_val(hi), pre);
}

cb_status md_handle_sql(cb_req *req, void *state)
{
    md_state *st = state;
    apr_pool_t *p = cb_req_pool(req);
    const char *env_type = cb_req_param(req, "envType"), *name = cb_req_param(req, "template");
    const md_template *t = name ? apr_hash_get(st->templates, name, APR_HASH_KEY_STRING) : NULL;
    const char **args = NULL, *err;
    cb_db *db = cb_req_db(req);
    cb_json *body, *data, *rows;
    cb_db_result *res;
    apr_status_t rv;
    int pre, affected = 0, status;
    const char *code, *message;
    if (!env_type || (strcmp(env_type, "prod") && strcmp(env_type, "pre")))
        return sql_answer(req, 404, "RESOURCE_NOT_FOUND", "the envType must be prod or pre", NULL);
    if (!t)
        return sql_answer(req, 404, "RESOURCE_NOT_FOUND", "no SQL template of that name", NULL);
    if (cb_req_require_auth(req, t->auth) != CB_OK)
        return CB_DONE;
    if (!db)
        return sql_answer(req, 503, "SERVICE_UNAVAILABLE", "the database is not configured", NULL);
    pre = strcmp(env_type, "pre") == 0;
    if (cb_req_read_json_object(req, (size_t)st->max_body, &body) != CB_OK)
        return CB_ERROR;
    if ((err = md_template_args(p, &t->text[pre], cb_json_get(body, "parameter"), &args)))
        return sql_answer(req, 400, "INVALID_PARAM", err, NULL);
    data = cb_json_new_object(p);
    rows = cb_json_new_array(p);
    if (t->text[pre].returns_rows) {
        rv = cb_db_select(db, p, t->text[pre].sql, t->text[pre].keys->nelts, args, &res);
        for (int r = 0; rv == APR_SUCCESS && r < res->rows; r++) {
            cb_json *row = cb_json_new_object(p);
            for (int c = 0; c < res->columns; c++)
                cb_json_set_string(row, res->names[c], cb_db_text(res, r, c));
            cb_json_append(rows, row);
        }
        affected = rv == APR_SUCCESS ? res->rows : 0;
    } else {
        rv = cb_db_exec(db, p, t->text[pre].sql, t->text[pre].keys->nelts, args, &affected);
    }
    if (t->text[pre].writes && rv != CB_DB_ESQL)
        bump_every_model(req, st, pre);
    if (rv == CB_DB_ESQL) {
        cb_log_req(req, CB_LOG_WARNING, "sql template %s failed: %s", t->name,
                   cb_db_last_error(db));
        return sql_answer(req, 400, "INVALID_PARAM", "the template could not run with these "
                          "parameters", NULL);
    }
    if (rv != APR_SUCCESS) {
        md_db_failure(rv, &status, &code, &message);
        return sql_answer(req, status, code, message, NULL);
    }
    cb_json_set(data, "executeResultList", rows);
    cb_json_set_int(data, "total", affected);
    return sql_answer(req, 200, NULL, NULL, data);
}
