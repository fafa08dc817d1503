/*
 * test_model_db.c: the model plugin over real databases (suite model_db):
 * the same rows written to SQLite and to PostgreSQL (tests/common/postgres.c)
 * through md_write_answer, then every filter of a list read through
 * md_read_answer on both, the records compared in order (a differential
 * test; some counts are also checked against what the rows hold); the
 * table synced from the schema (a new field becomes a column, a changed
 * type is refused with the fix); and ownership: updateMany and deleteMany
 * of one user touch only that user's rows, an admin's all of them.
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

static srv_pg pg;
static char sqlite_dir[] = "/tmp/cb-model-test-XXXXXX";

static const char *schema_text =
    "{\"fields\": {"
    "\"name\": {\"type\": \"string\", \"required\": true},"
    "\"views\": {\"type\": \"number\"},"
    "\"published\": {\"type\": \"boolean\"},"
    "\"when\": {\"type\": \"datetime\"},"
    "\"tags\": {\"type\": \"array\"},"
    "\"slug\": {\"type\": \"string\", \"unique\": true}}}";

/* name, the rest of the record, the owner */
static const struct {
    const char *json, *owner;
} rows[] = {
    {"{\"name\":\"alpha\",\"views\":1,\"published\":true,\"when\":1700000000000,\"tags\":[\"a\"],"
     "\"slug\":\"s1\"}", "alice"},
    {"{\"name\":\"Beta\",\"views\":2.5,\"published\":false,\"tags\":[]}", "bob"},
    {"{\"name\":\"gamma\",\"views\":-3,\"when\":1600000000000,\"slug\":\"\"}", "alice"},
    {"{\"name\":\"delta\",\"views\":0,\"published\":true,\"slug\":\"s4\"}", "bob"},
    {"{\"name\":\"\\u00e9p\\u00e9e\",\"views\":1000000,\"tags\":[1,2]}", "carol"},
    {"{\"name\":\"50%_off\",\"views\":null,\"published\":null,\"when\":1800000000000}", "alice"},
    {"{\"name\":\"Zed\",\"views\":2.5,\"slug\":\"s7\"}", "bob"},
    {"{\"name\":\"a'b\\\"c\",\"views\":-0.5,\"published\":false}", "carol"},
};

typedef struct side {
    apr_pool_t *pool;
    cb_db *db;
    md_state st;
    md_model model;
} side;

static apr_pool_t *pool;
static side lite, post;


static void open_side(side *s, const char *line)
{
    cb_db_config cfg;
    const char *err;
    memset(s, 0, sizeof(*s));
    s->pool = pool;
    err = cb_db_config_parse(pool, line, &cfg);
    ck_assert_msg(err == NULL, "%s", err);
    ck_assert_ptr_null(cb_db_create(pool, &cfg, &s->db));
    cb_db_add_migrations(s->db, "model", md_migrations, 1);
    err = cb_db_child_init(s->db, pool);
    ck_assert_msg(err == NULL, "%s", err);
    s->st.env = "demo";
    s->st.limits = (md_limits){.max_depth = 16, .max_in = 1000, .max_params = 5000};
    s->st.default_page_size = 10;
    s->st.max_page_size = 200;
    s->st.max_batch = 100;
    s->model.name = "post";
    s->model.schema = model_test_schema(pool, schema_text);
    s->model.tables[0] = md_table_name(pool, "demo", "post", "prod");
    s->model.tables[1] = md_table_name(pool, "demo", "post", "pre");
}

static md_caller user(const char *uid) { return (md_caller){.uid = uid}; }

static cb_json *write_op(side *s, const char *op, const char *where, const char *data,
                         md_caller c, int *status)
{
    md_write w = {.model = &s->model, .op = op, .max_batch = 100};
    const char *code = NULL, *message = NULL;
    cb_json *out;
    *status = 200;
    if (where)
        w.where = model_test_json(pool, where);
    if (data)
        w.data = model_test_json(pool, data);
    out = md_write_answer(&s->st, s->db, pool, &w, &c, status, &code, &message);
    if (!out)
        ck_assert_msg(*status != 200, "no status for %s", op);
    return out;
}

static int64_t count_of(const cb_json *data)
{
    int64_t n = -1;
    ck_assert_ptr_nonnull(data);
    ck_assert(cb_json_get_int(data, "count", &n));
    return n;
}

/* The names of a list read, joined with ','; NULL with *status on failure. */
static const char *names(side *s, const char *where, const char *order, md_caller c,
                         int *total)
{
    md_read r = {.model = &s->model, .page_size = 200, .page_number = 1, .get_count = 1};
    int status = 0;
    const char *code = NULL, *message = NULL, *out = "";
    cb_json *data, *records;
    int64_t t = -1;
    r.where = model_test_json(pool, where);
    r.order_by = order ? model_test_json(pool, order) : NULL;
    data = md_read_answer(&s->st, s->db, pool, &r, &c, &status, &code, &message);
    ck_assert_msg(data != NULL, "%s: %d %s %s", where, status, code, message);
    records = cb_json_get(data, "records");
    for (size_t i = 0; i < cb_json_array_size(records); i++)
        out = apr_pstrcat(pool, out, i ? "," : "",
                          cb_json_get_string(cb_json_array_get(records, i), "name"), NULL);
    ck_assert(cb_json_get_int(data, "total", &t));
    ck_assert_int_eq(t, (int64_t)cb_json_array_size(records));
    if (total)
        *total = (int)t;
    return out;
}

static void fill(side *s)
{
    int status;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cb_json *out = write_op(s, "create", NULL, rows[i].json, user(rows[i].owner), &status);
        ck_assert_msg(out != NULL, "%s: %d", rows[i].json, status);
        ck_assert_int_eq(strlen(cb_json_get_string(out, "id")), 32);
    }
}

static void setup(void)
{
    char line[512];
    apr_pool_create(&pool, NULL);
    strcpy(sqlite_dir, "/tmp/cb-model-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(sqlite_dir));
    snprintf(line, sizeof(line), "sqlite3:%s/model.db", sqlite_dir);
    open_side(&lite, line);
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    open_side(&post, srv_pg_database_line(&pg, "timeout=5s", line, sizeof(line)));
}

static void teardown(void)
{
    char cmd[128];
    apr_pool_destroy(pool);
    srv_pg_destroy(&pg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sqlite_dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(same_rows_on_sqlite_and_postgresql)
{
    static const char *filters[] = {
        "{}",
        "{\"views\": {\"$gt\": 0}}",
        "{\"views\": {\"$gte\": -3, \"$lt\": 2.5}}",
        "{\"views\": {\"$eq\": 2.5}}",
        "{\"views\": {\"$ne\": 2.5}}",
        "{\"name\": {\"$gt\": \"Z\"}}",
        "{\"name\": {\"$lte\": \"Zed\"}}",
        "{\"name\": {\"$search\": \"a\"}}",
        "{\"name\": {\"$search\": \"%\"}}",
        "{\"name\": {\"$search\": \"_\"}}",
        "{\"name\": {\"$search\": \"'b\\\"\"}}",
        "{\"name\": {\"$search\": \"\\u00e9\"}}",
        "{\"name\": {\"$in\": [\"alpha\", \"\\u00e9p\\u00e9e\", \"none\"]}}",
        "{\"name\": {\"$nin\": [\"alpha\", \"Beta\"]}}",
        "{\"views\": {\"$in\": [1, 2.5, 0]}}",
        "{\"slug\": {\"$ne\": \"s1\"}}",
        "{\"slug\": {\"$empty\": true}}",
        "{\"slug\": {\"$nempty\": true}}",
        "{\"tags\": {\"$nempty\": true}}",
        "{\"tags\": {\"$empty\": true}}",
        "{\"published\": {\"$eq\": true}}",
        "{\"published\": {\"$ne\": true}}",
        "{\"published\": {\"$eq\": null}}",
        "{\"when\": {\"$gte\": 1700000000000}}",
        "{\"$or\": [{\"views\": {\"$lt\": 0}}, {\"name\": {\"$search\": \"ta\"}}]}",
        "{\"$and\": [{\"views\": {\"$gt\": -1}}, {\"$or\": [{\"slug\": {\"$empty\": true}}, "
        "{\"published\": false}]}]}",
        "{\"owner\": {\"$eq\": \"bob\"}}",
    };
    static const char *orders[] = {
        "[{\"name\": \"asc\"}]",
        "[{\"views\": \"desc\"}, {\"name\": \"asc\"}]",
        "[{\"slug\": \"asc\"}, {\"name\": \"desc\"}]",
        "[{\"when\": \"desc\"}, {\"published\": \"asc\"}, {\"name\": \"asc\"}]",
    };
    int total = 0;
    fill(&lite);
    fill(&post);
    for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++)
        for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
            const char *a = names(&lite, filters[f], orders[o], user("x"), NULL);
            const char *b = names(&post, filters[f], orders[o], user("x"), NULL);
            ck_assert_msg(strcmp(a, b) == 0, "%s %s: sqlite [%s] pgsql [%s]", filters[f],
                          orders[o], a, b);
        }
    /* what the rows hold, so that two equally wrong answers fail too */
    ck_assert_str_eq(names(&post, "{}", "[{\"name\": \"asc\"}]", user("x"), &total),
                     "50%_off,Beta,Zed,a'b\"c,alpha,delta,gamma,\xc3\xa9p\xc3\xa9""e");
    ck_assert_int_eq(total, 8);
    ck_assert_str_eq(names(&lite, "{\"views\": {\"$gt\": 0}}", "[{\"views\": \"desc\"}, "
                                  "{\"name\": \"asc\"}]", user("x"), NULL),
                     "\xc3\xa9p\xc3\xa9""e,Beta,Zed,alpha");
    ck_assert_str_eq(names(&post, "{\"name\": {\"$search\": \"%\"}}", NULL, user("x"), NULL),
                     "50%_off");
    ck_assert_str_eq(names(&lite, "{\"name\": {\"$search\": \"A\"}}", NULL, user("x"), NULL),
                     "");
    ck_assert_str_eq(names(&post, "{\"views\": {\"$ne\": 2.5}}", "[{\"views\": \"asc\"}]",
                           user("x"), NULL),
                     "50%_off,gamma,a'b\"c,delta,alpha,\xc3\xa9p\xc3\xa9""e");
    ck_assert_str_eq(names(&lite, "{\"slug\": {\"$empty\": true}}", "[{\"name\": \"asc\"}]",
                           user("x"), NULL),
                     "50%_off,Beta,a'b\"c,gamma,\xc3\xa9p\xc3\xa9""e");
}
END_TEST

static void ownership_on(side *s)
{
    int status, total;
    md_caller admin = {.uid = "root", .admin = 1}, anon = {.uid = "anon1", .anonymous = 1};
    cb_json *out;
    fill(s);
    /* bob's updateMany over every row changes his 3 rows only */
    ck_assert_int_eq(count_of(write_op(s, "updateMany", "{}", "{\"views\": 42}", user("bob"),
                                       &status)), 3);
    ck_assert_str_eq(names(s, "{\"views\": {\"$eq\": 42}}", "[{\"name\": \"asc\"}]",
                           user("x"), NULL), "Beta,Zed,delta");
    /* update (one record) of a row of alice's as bob: nothing */
    ck_assert_int_eq(count_of(write_op(s, "update", "{\"name\": \"alpha\"}",
                                       "{\"views\": 7}", user("bob"), &status)), 0);
    ck_assert_int_eq(count_of(write_op(s, "update", "{\"name\": \"alpha\"}",
                                       "{\"views\": 7}", user("alice"), &status)), 1);
    /* update touches one record even when the filter matches several */
    ck_assert_int_eq(count_of(write_op(s, "update", "{}", "{\"published\": true}",
                                       user("carol"), &status)), 1);
    /* deleteMany of everything as alice: her 3 rows */
    ck_assert_int_eq(count_of(write_op(s, "deleteMany", "{}", NULL, user("alice"), &status)),
                     3);
    names(s, "{}", NULL, user("x"), &total);
    ck_assert_int_eq(total, 5);
    ck_assert_int_eq(count_of(write_op(s, "delete", "{\"owner\": \"bob\"}", NULL,
                                       user("carol"), &status)), 0);
    /* anonymous writes are refused without anonymous_write */
    ck_assert_ptr_null(write_op(s, "create", NULL, "{\"name\": \"x\"}", anon, &status));
    ck_assert_int_eq(status, 403);
    ck_assert_ptr_null(write_op(s, "create", NULL, "{\"name\": \"x\"}", (md_caller){0},
                                &status));
    ck_assert_int_eq(status, 401);
    /* anonymous_write=on lets the anonymous user write, and only its own */
    s->model.anonymous_write = 1;
    ck_assert_ptr_nonnull(write_op(s, "create", NULL, "{\"name\": \"x\"}", anon, &status));
    ck_assert_int_eq(count_of(write_op(s, "deleteMany", "{}", NULL, anon, &status)), 1);
    s->model.anonymous_write = 0;
    /* an admin's deleteMany reaches everyone's */
    ck_assert_int_eq(count_of(write_op(s, "deleteMany", "{}", NULL, admin, &status)), 5);
    /* PRIVATE: each reads only their own rows */
    fill(s);
    s->model.permission = MD_PERM_PRIVATE;
    ck_assert_str_eq(names(s, "{}", "[{\"name\": \"asc\"}]", user("bob"), NULL),
                     "Beta,Zed,delta");
    /* ADMINWRITE: a user's write is refused, an admin's goes through */
    s->model.permission = MD_PERM_ADMINWRITE;
    ck_assert_ptr_null(write_op(s, "updateMany", "{}", "{\"views\": 1}", user("bob"),
                                &status));
    ck_assert_int_eq(status, 403);
    ck_assert_int_eq(count_of(write_op(s, "updateMany", "{\"name\": \"Zed\"}",
                                       "{\"views\": 1}", admin, &status)), 1);
    /* a unique field refuses a second record with its value */
    s->model.permission = MD_PERM_READONLY;
    ck_assert_ptr_null(write_op(s, "create", NULL, "{\"name\": \"n\", \"slug\": \"s1\"}",
                                user("bob"), &status));
    ck_assert_int_eq(status, 400);
    /* required fields and wrong types are refused before the database */
    ck_assert_ptr_null(write_op(s, "create", NULL, "{\"views\": 1}", user("bob"), &status));
    ck_assert_int_eq(status, 400);
    ck_assert_ptr_null(write_op(s, "create", NULL, "{\"name\": \"n\", \"_id\": \"x\"}",
                                user("bob"), &status));
    ck_assert_int_eq(status, 400);
    out = write_op(s, "update", "{\"name\": \"Zed\"}", "{\"views\": \"1; DROP TABLE x\"}",
                   admin, &status);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(status, 400);
}

START_TEST(writes_touch_only_own_rows)
{
    ownership_on(&lite);
    ownership_on(&post);
}
END_TEST

static void schema_change_on(side *s)
{
    md_model grown = s->model, changed = s->model;
    const char *err = NULL;
    int status;
    fill(s);
    grown.ready[0] = grown.ready[1] = 0;
    grown.schema = model_test_schema(pool, "{\"fields\": {\"name\": {\"type\": \"string\"}, "
                                   "\"views\": {\"type\": \"number\"}, "
                                   "\"extra\": {\"type\": \"string\", \"index\": true}}}");
    ck_assert_msg(md_sync_table(&s->st, &grown, 0, s->db, pool, &err) == APR_SUCCESS, "%s",
                  cb_db_last_error(s->db));
    s->model = grown;
    ck_assert_ptr_nonnull(write_op(s, "create", NULL, "{\"name\": \"n\", \"extra\": \"e\"}",
                                   user("bob"), &status));
    ck_assert_str_eq(names(s, "{\"extra\": {\"$eq\": \"e\"}}", NULL, user("x"), NULL), "n");
    changed.ready[0] = changed.ready[1] = 0;
    changed.schema = model_test_schema(pool, "{\"fields\": {\"name\": {\"type\": \"string\"}, "
                                     "\"views\": {\"type\": \"string\"}}}");
    ck_assert_int_ne(md_sync_table(&s->st, &changed, 0, s->db, pool, &err), APR_SUCCESS);
    ck_assert_msg(err && strstr(err, "field 'views' was number and is now string") &&
                  strstr(err, "new field name"), "%s", err ? err : "(no message)");
    /* the pre table is separate data */
    ck_assert_int_eq(md_sync_table(&s->st, &changed, 1, s->db, pool, &err), APR_SUCCESS);
}

START_TEST(schema_changes)
{
    schema_change_on(&lite);
    schema_change_on(&post);
}
END_TEST

Suite *model_db_suite(void)
{
    Suite *s = suite_create("model_db");
    TCase *tc = tcase_create("databases");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_rows_on_sqlite_and_postgresql);
    tcase_add_test(tc, writes_touch_only_own_rows);
    tcase_add_test(tc, schema_changes);
    suite_add_tcase(s, tc);
    return s;
}
