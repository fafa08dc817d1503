/*
 * test_model.c: the model plugin's schema parser and filter compiler
 * (suite model_parse: the SQL text and the bound values of every operator,
 * injection attempts in field names, orderBy, select, $search and values
 * staying bound data, the depth, $in and bound-value caps), and the model
 * over real databases (suite model_db): one table synced from the schema
 * (a new field added, a changed type refused), the same filters giving the
 * same rows in the same order on SQLite and PostgreSQL (a differential
 * test), and update/delete of other users' rows touching only the caller's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "cb_core.h"
#include "db_internal.h"
#include "test_model.h"
#include "postgres.h"

static const char *schema_text =
    "{\"fields\": {"
    "\"name\": {\"type\": \"string\", \"required\": true, \"maxLength\": 20},"
    "\"views\": {\"type\": \"number\", \"default\": 0, \"index\": true},"
    "\"published\": {\"type\": \"boolean\"},"
    "\"when\": {\"type\": \"datetime\"},"
    "\"meta\": {\"type\": \"object\"},"
    "\"tags\": {\"type\": \"array\"},"
    "\"slug\": {\"type\": \"string\", \"unique\": true}}}";

static const md_limits limits = {.max_depth = 16, .max_in = 1000, .max_params = 5000};

md_schema *model_test_schema(apr_pool_t *p, const char *text)
{
    md_schema *s = NULL;
    const char *err = md_schema_parse(p, text, strlen(text), &s);
    ck_assert_msg(err == NULL, "%s", err);
    return s;
}

cb_json *model_test_json(apr_pool_t *p, const char *text)
{
    const char *err = NULL;
    cb_json *v = cb_json_parse(p, text, strlen(text), &err);
    ck_assert_msg(v != NULL, "%.200s: %s", text, err);
    return v;
}

static md_schema *schema(apr_pool_t *p) { return model_test_schema(p, schema_text); }

/* Compiles where on sqlite3; the error or NULL, the SQL in *sql and the
 * bound values joined with '|' in *args. */
static const char *compile(apr_pool_t *p, const char *where, const char **sql,
                           const char **args)
{
    md_sql q;
    const char *err;
    md_sql_init(&q, p, "sqlite3", limits.max_params);
    err = md_compile_where(&q, schema(p), model_test_json(p, where), &limits);
    *sql = q.text;
    *args = "";
    for (int i = 0; i < q.args->nelts; i++) {
        const char *a = APR_ARRAY_IDX(q.args, i, const char *);
        *args = apr_pstrcat(p, *args, i ? "|" : "", a ? a : "NULL", NULL);
    }
    return err;
}

static void expect_sql(const char *where, const char *want_sql, const char *want_args)
{
    apr_pool_t *p;
    const char *sql, *args, *err;
    apr_pool_create(&p, NULL);
    err = compile(p, where, &sql, &args);
    ck_assert_msg(err == NULL, "%s: %s", where, err);
    ck_assert_str_eq(sql, want_sql);
    ck_assert_str_eq(args, want_args);
    apr_pool_destroy(p);
}

static void expect_error(const char *where, const char *fragment)
{
    apr_pool_t *p;
    const char *sql, *args, *err;
    apr_pool_create(&p, NULL);
    err = compile(p, where, &sql, &args);
    ck_assert_msg(err != NULL, "%.200s compiled to %.200s", where, sql);
    ck_assert_msg(strstr(err, fragment), "%.200s: %s lacks %s", where, err, fragment);
    apr_pool_destroy(p);
}

START_TEST(schema_fields_and_errors)
{
    apr_pool_t *p;
    md_schema *s;
    const md_field *f;
    static const struct {
        const char *text, *fragment;
    } bad[] = {
        {"[]", "\"fields\""},
        {"{\"fields\": {\"a\": {\"type\": \"text\"}}}", "type must be"},
        {"{\"fields\": {\"a\": {}}}", "has no \"type\""},
        {"{\"fields\": {\"a\": {\"type\": \"string\", \"size\": 3}}}", "unknown key"},
        {"{\"fields\": {\"_id\": {\"type\": \"string\"}}}", "system field"},
        {"{\"fields\": {\"owner\": {\"type\": \"string\"}}}", "system field"},
        {"{\"fields\": {\"a\\\"; DROP TABLE x; --\": {\"type\": \"string\"}}}", "field name"},
        {"{\"fields\": {\"1a\": {\"type\": \"string\"}}}", "field name"},
        {"{\"fields\": {\"a\": {\"type\": \"number\", \"maxLength\": 3}}}", "strings only"},
        {"{\"fields\": {\"a\": {\"type\": \"number\", \"default\": \"x\"}}}", "default of"},
        {"{\"fields\": {\"a\": {\"type\": \"object\", \"index\": true}}}", "indexed"},
        {"{\"fields\": {\"a\": {\"type\": \"string\", \"required\": 1}}}", "true or false"},
        {"{\"fields\": {}, \"extra\": 1}", "unknown schema key"},
        {"{\"fields\": ", "not JSON"},
    };
    apr_pool_create(&p, NULL);
    s = schema(p);
    ck_assert_int_eq(s->fields->nelts, 7 + 7);
    ck_assert_ptr_nonnull((f = md_schema_field(s, "_openid")));
    ck_assert(f->system);
    ck_assert_ptr_nonnull((f = md_schema_field(s, "name")));
    ck_assert(f->required && f->max_length == 20 && f->type == MD_STRING);
    ck_assert_int_eq(md_schema_field(s, "slug")->unique, 1);
    ck_assert_int_eq(md_schema_field(s, "when")->type, MD_DATETIME);
    ck_assert_ptr_null(md_schema_field(s, "nosuch"));
    ck_assert_str_eq(md_column_type(md_schema_field(s, "name"), "pgsql"), "TEXT COLLATE \"C\"");
    ck_assert_str_eq(md_column_type(md_schema_field(s, "views"), "sqlite3"), "REAL");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = md_schema_parse(p, bad[i].text, strlen(bad[i].text), &s);
        ck_assert_msg(err && strstr(err, bad[i].fragment), "%s: %s", bad[i].text,
                      err ? err : "(accepted)");
    }
    apr_pool_destroy(p);
}
END_TEST

START_TEST(values_checked_by_type)
{
    apr_pool_t *p;
    md_schema *s;
    const char *err, *t;
    int is_null;
    apr_pool_create(&p, NULL);
    s = schema(p);
    t = md_value_text(p, md_schema_field(s, "views"), model_test_json(p, "[2.5]") , &is_null, &err);
    ck_assert_ptr_null(t);   /* an array is not a number */
    ck_assert_msg(err && strstr(err, "'views'"), "%s", err);
    t = md_value_text(p, md_schema_field(s, "name"), cb_json_new_string(p, "012345678901234567890"),
                      &is_null, &err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "maxLength"), "%s", err);
    /* 20 characters of 3 bytes each fit */
    t = md_value_text(p, md_schema_field(s, "name"),
                      cb_json_new_string(p, "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
                                            "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
                                            "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
                                            "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
                                            "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"),
                      &is_null, &err);
    ck_assert_ptr_nonnull(t);
    t = md_value_text(p, md_schema_field(s, "when"), cb_json_new_int(p, 253402300800000LL),
                      &is_null, &err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "out of range"), "%s", err);
    ck_assert_str_eq(md_value_text(p, md_schema_field(s, "published"), cb_json_new_bool(p, 1),
                                   &is_null, &err), "1");
    ck_assert_str_eq(md_value_text(p, md_schema_field(s, "views"), cb_json_new_real(p, 0.5),
                                   &is_null, &err), "0.5");
    ck_assert_ptr_null(md_value_text(p, md_schema_field(s, "views"), cb_json_new_null(p),
                                     &is_null, &err));
    ck_assert(is_null && !err);
    ck_assert_str_eq(cb_json_dump(p, md_value_json(p, md_schema_field(s, "views"), "5.0")), "5");
    ck_assert_str_eq(cb_json_dump(p, md_value_json(p, md_schema_field(s, "views"), "2.5")),
                     "2.5");
    ck_assert_str_eq(cb_json_dump(p, md_value_json(p, md_schema_field(s, "tags"), "[1,\"a\"]")),
                     "[1,\"a\"]");
    apr_pool_destroy(p);
}
END_TEST

START_TEST(operators_compile_to_bound_sql)
{
    expect_sql("{}", "1 = 1", "");
    expect_sql("{\"name\": {\"$eq\": \"x\"}}", "(((\"name\" = ?)))", "x");
    expect_sql("{\"name\": \"x\"}", "((\"name\" = ?))", "x");
    expect_sql("{\"name\": {\"$ne\": \"x\"}}", "(((\"name\" <> ? OR \"name\" IS NULL)))", "x");
    expect_sql("{\"views\": {\"$gt\": 1, \"$lte\": 2.5}}",
               "(((\"views\" > ?) AND (\"views\" <= ?)))", "1|2.5");
    expect_sql("{\"views\": {\"$gte\": -3, \"$lt\": 1e3}}",
               "(((\"views\" >= ?) AND (\"views\" < ?)))", "-3|1000");
    expect_sql("{\"name\": {\"$eq\": null}}", "((\"name\" IS NULL))", "");
    expect_sql("{\"name\": {\"$ne\": null}}", "((\"name\" IS NOT NULL))", "");
    expect_sql("{\"name\": {\"$in\": [\"a\", \"b\"]}}", "(((\"name\" IN (?, ?))))", "a|b");
    expect_sql("{\"name\": {\"$nin\": [\"a\"]}}",
               "(((\"name\" NOT IN (?) OR \"name\" IS NULL)))", "a");
    expect_sql("{\"name\": {\"$in\": []}}", "((1 = 0))", "");
    expect_sql("{\"name\": {\"$search\": \"50%_\\\\\"}}", "((instr(\"name\", ?) > 0))",
               "50%_\\");
    expect_sql("{\"name\": {\"$empty\": true}}", "(((\"name\" IS NULL OR \"name\" = '')))", "");
    expect_sql("{\"tags\": {\"$nempty\": true}}",
               "((NOT (\"tags\" IS NULL OR \"tags\" = '[]')))", "");
    expect_sql("{\"published\": {\"$eq\": false}, \"when\": {\"$gt\": 1700000000000}}",
               "(((\"published\" = ?)) AND ((\"when\" > ?)))", "0|1700000000000");
    expect_sql("{\"$or\": [{\"name\": {\"$eq\": \"a\"}}, {\"$and\": [{\"views\": {\"$gt\": 1}}, "
               "{\"slug\": {\"$eq\": \"s\"}}]}]}",
               "(((((\"name\" = ?))) OR (((((\"views\" > ?))) AND (((\"slug\" = ?)))))))",
               "a|1|s");
    expect_sql("{\"$or\": []}", "(1 = 0)", "");
    expect_sql("{\"_id\": {\"$eq\": \"abc\"}, \"owner\": {\"$eq\": \"bob\"}}",
               "(((\"_id\" = ?)) AND ((\"owner\" = ?)))", "abc|bob");
}
END_TEST

START_TEST(injection_attempts_stay_out_of_the_sql)
{
    apr_pool_t *p;
    const char *sql, *args;
    /* values are bound, whatever they hold */
    expect_sql("{\"name\": {\"$eq\": \"x'); DROP TABLE t; --\"}}", "(((\"name\" = ?)))",
               "x'); DROP TABLE t; --");
    expect_sql("{\"name\": {\"$search\": \"' OR 1=1 --\"}}", "((instr(\"name\", ?) > 0))",
               "' OR 1=1 --");
    expect_sql("{\"name\": {\"$in\": [\"\\\" OR \\\"1\\\"=\\\"1\"]}}",
               "(((\"name\" IN (?))))", "\" OR \"1\"=\"1");
    /* a field name is looked up, never copied */
    expect_error("{\"name\\\" = \\\"name\\\" OR 1=1 --\": {\"$eq\": 1}}", "unknown field");
    expect_error("{\"name; DROP TABLE t\": 1}", "unknown field");
    expect_error("{\"NAME\": 1}", "unknown field");
    expect_error("{\"$where\": \"1=1\"}", "unknown operator");
    expect_error("{\"name\": {\"$regex\": \".*\"}}", "unknown operator");
    expect_error("{\"name\": {\"$eq\": \"x\", \"1=1) OR (1\": 1}}", "unknown operator");
    /* wrong types name the field */
    expect_error("{\"views\": {\"$gt\": \"1 OR 1=1\"}}", "field 'views' needs a number");
    expect_error("{\"published\": {\"$eq\": \"true\"}}", "field 'published' needs a boolean");
    expect_error("{\"name\": {\"$eq\": 5}}", "field 'name' needs a string");
    expect_error("{\"when\": {\"$gt\": 1.5}}", "field 'when' needs a datetime");
    expect_error("{\"name\": {\"$in\": \"a\"}}", "needs an array");
    expect_error("{\"meta\": {\"$eq\": {}}}", "only be filtered with $empty");
    expect_error("{\"views\": {\"$search\": \"1\"}}", "string fields only");
    expect_error("{\"name\": {}}", "no operator");
    expect_error("{\"$or\": {\"name\": \"a\"}}", "needs an array");
    expect_error("{\"$and\": [1]}", "must be an object");
    expect_error("[]", "must be an object");
    /* orderBy and select names come from the schema too */
    apr_pool_create(&p, NULL);
    {
        md_sql q;
        apr_array_header_t *fields;
        md_sql_init(&q, p, "sqlite3", 100);
        ck_assert_ptr_nonnull(md_compile_order(&q, schema(p),
                                               model_test_json(p, "[{\"name; DROP TABLE t\": \"asc\"}]")));
        md_sql_init(&q, p, "sqlite3", 100);
        ck_assert_ptr_nonnull(md_compile_order(&q, schema(p),
                                               model_test_json(p, "[{\"name\": \"asc; DROP TABLE t\"}]")));
        md_sql_init(&q, p, "sqlite3", 100);
        ck_assert_ptr_null(md_compile_order(&q, schema(p),
                                            model_test_json(p, "[{\"views\": \"DESC\"}, {\"name\": \"asc\"}]")));
        ck_assert_str_eq(q.text, " ORDER BY (\"views\" IS NULL) ASC, \"views\" DESC, "
                                 "(\"name\" IS NULL) DESC, \"name\" ASC, \"_id\" ASC");
        md_sql_init(&q, p, "sqlite3", 100);
        ck_assert_ptr_null(md_compile_order(&q, schema(p), NULL));
        ck_assert_str_eq(q.text, " ORDER BY \"createdAt\" DESC, \"_id\" ASC");
        ck_assert_ptr_nonnull(md_compile_select(p, schema(p), model_test_json(p, "{\"x\\\"y\": true}"),
                                                &fields));
        ck_assert_ptr_nonnull(md_compile_select(p, schema(p), model_test_json(p, "{\"name\": 1}"),
                                                &fields));
        ck_assert_ptr_null(md_compile_select(p, schema(p), model_test_json(p, "{\"name\": true}"),
                                             &fields));
        ck_assert_int_eq(fields->nelts, 2);   /* _id and name */
        ck_assert_ptr_null(md_compile_select(p, schema(p), model_test_json(p, "{\"$master\": true}"),
                                             &fields));
        ck_assert_int_eq(fields->nelts, 14);
        (void)sql;
        (void)args;
    }
    apr_pool_destroy(p);
}
END_TEST

/* {"$and": [ ... depth ... {"name": "x"} ]} */
static char *nested(int depth)
{
    size_t cap = (size_t)depth * 16 + 64, n = 0;
    char *s = malloc(cap);
    for (int i = 0; i < depth; i++)
        n += (size_t)snprintf(s + n, cap - n, "{\"$and\":[");
    n += (size_t)snprintf(s + n, cap - n, "{\"name\":\"x\"}");
    for (int i = 0; i < depth; i++)
        n += (size_t)snprintf(s + n, cap - n, "]}");
    return s;
}

START_TEST(caps_before_any_query)
{
    apr_pool_t *p;
    char *deep = nested(1000), *ok = nested(7), *in;
    size_t n = 0, cap = 100000 * 4 + 64;
    const char *sql, *args, *err;
    md_sql q;
    apr_pool_create(&p, NULL);
    expect_error(deep, "deeper than 16");
    err = compile(p, ok, &sql, &args);   /* within the cap */
    ck_assert_msg(err == NULL, "%s", err);
    ck_assert_str_eq(args, "x");
    apr_pool_destroy(p);
    free(deep);
    free(ok);
    in = malloc(cap);
    n += (size_t)snprintf(in, cap, "{\"views\":{\"$in\":[");
    for (int i = 0; i < 100000; i++)
        n += (size_t)snprintf(in + n, cap - n, "%s%d", i ? "," : "", i % 10);
    snprintf(in + n, cap - n, "]}}");
    expect_error(in, "holds 100000 values, more than 1000");
    free(in);
    /* the number of bound values over all conditions is capped too */
    apr_pool_create(&p, NULL);
    md_sql_init(&q, p, "sqlite3", 3);
    ck_assert_ptr_nonnull(md_compile_where(&q, schema(p),
                                           model_test_json(p, "{\"views\": {\"$in\": [1, 2, 3, 4]}}"),
                                           &limits));
    apr_pool_destroy(p);
}
END_TEST

START_TEST(sql_templates)
{
    apr_pool_t *p;
    md_state st = {0};
    md_model post = {.name = "post", .tables = {"\"cbm_post_prod_x\"", "\"cbm_post_pre_x\""}};
    md_template_text t;
    const char **args;
    cb_json *params;
    apr_pool_create(&p, NULL);
    st.models = apr_hash_make(p);
    apr_hash_set(st.models, "post", APR_HASH_KEY_STRING, &post);
    ck_assert_ptr_null(md_template_compile(p, &st, "SELECT title FROM {{table:post}} WHERE "
                                                   "views > {{min}} AND title <> '{{min}}' "
                                                   "AND slug = {{min}}", 1, &t));
    ck_assert_str_eq(t.sql, "SELECT title FROM \"cbm_post_pre_x\" WHERE views > ? AND "
                            "title <> '{{min}}' AND slug = ?");
    ck_assert_int_eq(t.keys->nelts, 2);
    ck_assert(t.returns_rows);
    ck_assert_ptr_nonnull(md_template_compile(p, &st, "SELECT ? FROM x", 0, &t));
    ck_assert_ptr_nonnull(md_template_compile(p, &st, "SELECT * FROM {{table:nosuch}}", 0, &t));
    ck_assert_ptr_nonnull(md_template_compile(p, &st, "SELECT {{a b}}", 0, &t));
    ck_assert_ptr_nonnull(md_template_compile(p, &st, "SELECT 'open", 0, &t));
    ck_assert_ptr_null(md_template_compile(p, &st, "UPDATE {{table:post}} SET a = {{v}} "
                                                   "WHERE b = {{k}}", 0, &t));
    ck_assert(!t.returns_rows);
    params = model_test_json(p, "[{\"key\":\"v\",\"type\":\"BOOLEAN\",\"value\":\"true\"},"
                              "{\"key\":\"k\",\"type\":\"STRING\",\"value\":\"x' OR 1=1\"}]");
    ck_assert_ptr_nonnull(params);
    ck_assert_ptr_null(md_template_args(p, &t, params, &args));
    ck_assert_str_eq(args[0], "1");
    ck_assert_str_eq(args[1], "x' OR 1=1");
    params = model_test_json(p, "[{\"key\":\"v\",\"type\":\"NUMBER\",\"value\":\"1 OR 1\"}]");
    ck_assert_ptr_nonnull(params);
    ck_assert_ptr_nonnull(strstr(md_template_args(p, &t, params, &args), "not a finite number"));
    params = model_test_json(p, "[{\"key\":\"v\",\"type\":\"NUMBER\",\"value\":\"2.5\"}]");
    ck_assert_ptr_nonnull(params);
    ck_assert_ptr_nonnull(strstr(md_template_args(p, &t, params, &args), "'k' is missing"));
    apr_pool_destroy(p);
}
END_TEST

/* The read cache's key: equal exactly when the database would give the
 * same rows (the query, then the values the preset binds). */
START_TEST(cache_key_covers_query_and_scope)
{
    apr_pool_t *p;
    md_state st = {.limits = limits};
    md_model m = {.name = "post", .permission = MD_PERM_PRIVATE};
    md_caller alice = {.uid = "alice"}, bob = {.uid = "bob"}, admin = {.admin = 1},
              nobody = {0}, tricky = {.uid = "alice\n5:bob"};
    md_read r = {.model = &m, .page_size = 10, .page_number = 1}, other;
    const char *key;
    apr_pool_create(&p, NULL);
    m.schema = schema(p);
    r.where = model_test_json(p, "{\"title\":{\"$eq\":\"a\"}}");
    /* PRIVATE: one key per user; the admin's is another; nobody may not read */
    key = md_cache_key(p, &st, "sqlite3", &r, &alice);
    ck_assert_ptr_nonnull(key);
    ck_assert_str_eq(key, md_cache_key(p, &st, "sqlite3", &r, &alice));
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &r, &bob));
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &r, &admin));
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &r, &tricky));
    ck_assert_str_ne(md_cache_key(p, &st, "sqlite3", &r, &bob),
                     md_cache_key(p, &st, "sqlite3", &r, &tricky));
    ck_assert_ptr_null(md_cache_key(p, &st, "sqlite3", &r, &nobody));
    /* everyone reads: one key for all callers */
    m.permission = MD_PERM_READONLY;
    key = md_cache_key(p, &st, "sqlite3", &r, &alice);
    ck_assert_str_eq(key, md_cache_key(p, &st, "sqlite3", &r, &bob));
    ck_assert_str_eq(key, md_cache_key(p, &st, "sqlite3", &r, &nobody));
    ck_assert_str_eq(key, md_cache_key(p, &st, "sqlite3", &r, &admin));
    /* every part of the query is in the key */
    other = r;
    other.where = model_test_json(p, "{\"title\":{\"$eq\":\"b\"}}");
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &other, &alice));
    other = r;
    other.page_number = 2;
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &other, &alice));
    other = r;
    other.single = 1;
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &other, &alice));
    other = r;
    other.get_count = 1;
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &other, &alice));
    other = r;
    other.select = model_test_json(p, "{\"title\":true}");
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &other, &alice));
    other = r;
    other.order_by = model_test_json(p, "[{\"title\":\"asc\"}]");
    ck_assert_str_ne(key, md_cache_key(p, &st, "sqlite3", &other, &alice));
    apr_pool_destroy(p);
}
END_TEST

Suite *model_parse_suite(void)
{
    Suite *s = suite_create("model_parse");
    TCase *schema_tc = tcase_create("schema");
    TCase *filter = tcase_create("filter");
    tcase_add_test(schema_tc, schema_fields_and_errors);
    tcase_add_test(schema_tc, values_checked_by_type);
    suite_add_tcase(s, schema_tc);
    tcase_add_test(filter, operators_compile_to_bound_sql);
    tcase_add_test(filter, injection_attempts_stay_out_of_the_sql);
    tcase_add_test(filter, caps_before_any_query);
    tcase_add_test(filter, sql_templates);
    tcase_add_test(filter, cache_key_covers_query_and_scope);
    suite_add_tcase(s, filter);
    return s;
}
