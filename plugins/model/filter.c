/*
 * filter.c: the filter compiler. A `filter.where` object, an `orderBy`
 * list and a `select` object become SQL text whose only parts are constant
 * words, '?' placeholders and column names taken from the declared schema
 * (a key of the input only selects a schema field, it is never copied into
 * the SQL), plus the list of values bound to the placeholders. Depth, $in
 * size and the number of bound values are capped before any query runs.
 */
#include <string.h>

#include <apr_strings.h>

#include "model.h"

#define MD_MAX_ORDER 8

void md_sql_init(md_sql *q, apr_pool_t *p, const char *driver, int max_params)
{
    memset(q, 0, sizeof(*q));
    q->pool = p;
    q->driver = driver;
    q->cap = 256;
    q->text = apr_palloc(p, q->cap);
    q->text[0] = '\0';
    q->args = apr_array_make(p, 8, sizeof(const char *));
    q->max_params = max_params;
}

void md_sql_add(md_sql *q, const char *text)
{
    size_t n = strlen(text);
    if (q->len + n + 1 > q->cap) {
        size_t cap = q->cap * 2;
        char *grown;
        while (cap < q->len + n + 1)
            cap *= 2;
        grown = apr_palloc(q->pool, cap);
        memcpy(grown, q->text, q->len + 1);
        q->text = grown;
        q->cap = cap;
    }
    memcpy(q->text + q->len, text, n + 1);
    q->len += n;
}

int md_sql_bind(md_sql *q, const char *value)
{
    if (q->max_params > 0 && q->args->nelts >= q->max_params)
        return -1;
    md_sql_add(q, "?");
    APR_ARRAY_PUSH(q->args, const char *) = value;
    return 0;
}

static void add_column(md_sql *q, const md_field *f)
{
    /* f->name passed md_valid_name (letters, digits, '_') or is a system name */
    md_sql_add(q, "\"");
    md_sql_add(q, f->name);
    md_sql_add(q, "\"");
}

static const char *too_many(md_sql *q)
{
    return apr_psprintf(q->pool, "the filter needs more than %d values: split the query",
                        q->max_params);
}

/* A short, printable copy of client text for a message. */
static const char *shown(apr_pool_t *p, const char *s)
{
    char *c = apr_pstrndup(p, s, 40);
    for (char *x = c; *x; x++)
        if ((unsigned char)*x < 0x20 || *x == 0x7f)
            *x = '?';
    return c;
}

static const char *bind_value(md_sql *q, const md_field *f, const cb_json *v, const char *op)
{
    md_field loose = *f;   /* a longer value than maxLength just matches nothing */
    int is_null;
    const char *err, *text;
    loose.max_length = 0;
    text = md_value_text(q->pool, &loose, v, &is_null, &err);
    if (!text)
        return is_null ? apr_psprintf(q->pool, "field '%s': %s takes no null (use $empty)",
                                      f->name, op)
                       : apr_psprintf(q->pool, "%s in %s", err, op);
    return md_sql_bind(q, text) ? too_many(q) : NULL;
}

static const char *compile_in(md_sql *q, const md_field *f, const cb_json *list, int negate,
                              const md_limits *lim)
{
    size_t n = cb_json_array_size(list);
    const char *err;
    if (!cb_json_is_array(list))
        return apr_psprintf(q->pool, "field '%s': %s needs an array", f->name,
                            negate ? "$nin" : "$in");
    if ((int64_t)n > lim->max_in)
        return apr_psprintf(q->pool, "field '%s': %s holds %" APR_SIZE_T_FMT " values, more than %d",
                            f->name, negate ? "$nin" : "$in", n, lim->max_in);
    if (n == 0) {
        md_sql_add(q, negate ? "1 = 1" : "1 = 0");
        return NULL;
    }
    md_sql_add(q, "(");
    add_column(q, f);
    md_sql_add(q, negate ? " NOT IN (" : " IN (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            md_sql_add(q, ", ");
        if ((err = bind_value(q, f, cb_json_array_get(list, i), negate ? "$nin" : "$in")))
            return err;
    }
    md_sql_add(q, ")");
    if (negate) {
        md_sql_add(q, " OR ");
        add_column(q, f);
        md_sql_add(q, " IS NULL");
    }
    md_sql_add(q, ")");
    return NULL;
}

static const char *compile_empty(md_sql *q, const md_field *f, const cb_json *v, int want_empty)
{
    int b;
    if (!cb_json_bool_value(v, &b))
        return apr_psprintf(q->pool, "field '%s': %s takes true or false", f->name,
                            want_empty ? "$empty" : "$nempty");
    if (!b)
        want_empty = !want_empty;
    md_sql_add(q, want_empty ? "(" : "NOT (");
    add_column(q, f);
    md_sql_add(q, " IS NULL");
    if (f->type == MD_STRING || f->type == MD_OBJECT || f->type == MD_ARRAY) {
        md_sql_add(q, " OR ");
        add_column(q, f);
        md_sql_add(q, f->type == MD_STRING ? " = ''" : f->type == MD_OBJECT ? " = '{}'"
                                                                             : " = '[]'");
    }
    md_sql_add(q, ")");
    return NULL;
}

static const char *compile_search(md_sql *q, const md_field *f, const cb_json *v)
{
    const char *s = cb_json_string_value(v, NULL);
    if (f->type != MD_STRING)
        return apr_psprintf(q->pool, "field '%s': $search works on string fields only",
                            f->name);
    if (!s)
        return apr_psprintf(q->pool, "field '%s': $search needs a string", f->name);
    /* A plain substring: no pattern characters, so nothing to escape, and
     * the same case-sensitive match on both databases. */
    md_sql_add(q, strcmp(q->driver, "pgsql") == 0 ? "strpos(" : "instr(");
    add_column(q, f);
    md_sql_add(q, ", ");
    if (md_sql_bind(q, s))
        return too_many(q);
    md_sql_add(q, ") > 0");
    return NULL;
}

static const char *compile_op(md_sql *q, const md_field *f, const char *op, const cb_json *v,
                              const md_limits *lim)
{
    static const struct {
        const char *op, *sql;
    } compare[] = {{"$eq", " = "}, {"$ne", " <> "}, {"$gt", " > "},
                   {"$gte", " >= "}, {"$lt", " < "}, {"$lte", " <= "}};
    if (strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0)
        return compile_in(q, f, v, op[1] == 'n', lim);
    if (strcmp(op, "$empty") == 0 || strcmp(op, "$nempty") == 0)
        return compile_empty(q, f, v, op[1] == 'e');
    if (strcmp(op, "$search") == 0)
        return compile_search(q, f, v);
    const char *err;
    for (size_t i = 0; i < sizeof(compare) / sizeof(compare[0]); i++) {
        int eq = i == 0, ne = i == 1;
        if (strcmp(op, compare[i].op))
            continue;
        if (f->type == MD_OBJECT || f->type == MD_ARRAY)
            return apr_psprintf(q->pool, "field '%s' (%s) can only be filtered with $empty "
                                         "or $nempty", f->name, md_type_name(f->type));
        if ((eq || ne) && cb_json_typeof(v) == CB_JSON_NULL) {
            add_column(q, f);
            md_sql_add(q, eq ? " IS NULL" : " IS NOT NULL");
            return NULL;
        }
        md_sql_add(q, "(");
        add_column(q, f);
        md_sql_add(q, compare[i].sql);
        if ((err = bind_value(q, f, v, op)))
            return err;
        if (ne) {
            md_sql_add(q, " OR ");
            add_column(q, f);
            md_sql_add(q, " IS NULL");
        }
        md_sql_add(q, ")");
        return NULL;
    }
    return apr_psprintf(q->pool, "unknown operator '%s' on field '%s' (use $eq $ne $gt $gte "
                                 "$lt $lte $in $nin $search $empty $nempty)",
                        shown(q->pool, op), f->name);
}

static const char *compile_object(md_sql *q, const md_schema *s, const cb_json *where,
                                  const md_limits *lim, int depth);

static const char *compile_field(md_sql *q, const md_field *f, const cb_json *cond,
                                 const md_limits *lim, int depth)
{
    cb_json_iter it = {0};
    const char *op, *err;
    cb_json *v;
    int n = 0;
    if (!cb_json_is_object(cond))   /* a bare value means $eq */
        return compile_op(q, f, "$eq", cond, lim);
    if (depth + 1 > lim->max_depth)
        return apr_psprintf(q->pool, "the filter nests deeper than %d levels", lim->max_depth);
    if (cb_json_object_size(cond) == 0)
        return apr_psprintf(q->pool, "field '%s': the condition has no operator", f->name);
    md_sql_add(q, "(");
    while (cb_json_object_next(cond, &it, &op, &v)) {
        if (n++)
            md_sql_add(q, " AND ");
        if ((err = compile_op(q, f, op, v, lim)))
            return err;
    }
    md_sql_add(q, ")");
    return NULL;
}

static const char *compile_list(md_sql *q, const md_schema *s, const cb_json *list, int is_or,
                                const md_limits *lim, int depth)
{
    size_t n = cb_json_array_size(list);
    const char *err;
    if (!cb_json_is_array(list))
        return apr_psprintf(q->pool, "%s needs an array of conditions", is_or ? "$or" : "$and");
    if (n == 0) {
        md_sql_add(q, is_or ? "1 = 0" : "1 = 1");
        return NULL;
    }
    md_sql_add(q, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            md_sql_add(q, is_or ? " OR " : " AND ");
        if ((err = compile_object(q, s, cb_json_array_get(list, i), lim, depth + 1)))
            return err;
    }
    md_sql_add(q, ")");
    return NULL;
}

static const char *compile_object(md_sql *q, const md_schema *s, const cb_json *where,
                                  const md_limits *lim, int depth)
{
    cb_json_iter it = {0};
    const char *key, *err;
    cb_json *v;
    int n = 0;
    if (depth > lim->max_depth)
        return apr_psprintf(q->pool, "the filter nests deeper than %d levels", lim->max_depth);
    if (!cb_json_is_object(where))
        return "a condition must be an object such as {\"title\": {\"$eq\": \"x\"}}";
    if (cb_json_object_size(where) == 0) {
        md_sql_add(q, "1 = 1");
        return NULL;
    }
    md_sql_add(q, "(");
    while (cb_json_object_next(where, &it, &key, &v)) {
        const md_field *f;
        if (n++)
            md_sql_add(q, " AND ");
        if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0) {
            if ((err = compile_list(q, s, v, key[1] == 'o', lim, depth)))
                return err;
            continue;
        }
        if (key[0] == '$')
            return apr_psprintf(q->pool, "unknown operator '%s' (use $and or $or here)",
                                shown(q->pool, key));
        if (!(f = md_schema_field(s, key)))
            return apr_psprintf(q->pool, "unknown field '%s'", shown(q->pool, key));
        if ((err = compile_field(q, f, v, lim, depth)))
            return err;
    }
    md_sql_add(q, ")");
    return NULL;
}

const char *md_compile_where(md_sql *q, const md_schema *s, const cb_json *where,
                             const md_limits *lim)
{
    if (!where || cb_json_typeof(where) == CB_JSON_NULL) {
        md_sql_add(q, "1 = 1");
        return NULL;
    }
    return compile_object(q, s, where, lim, 1);
}

static const char *order_one(md_sql *q, const md_schema *s, const char *key, const cb_json *v)
{
    const char *dir = cb_json_string_value(v, NULL);
    const md_field *f = md_schema_field(s, key);
    int desc;
    if (!f)
        return apr_psprintf(q->pool, "orderBy: unknown field '%s'", shown(q->pool, key));
    if (f->type == MD_OBJECT || f->type == MD_ARRAY)
        return apr_psprintf(q->pool, "orderBy: field '%s' (%s) cannot be sorted", f->name,
                            md_type_name(f->type));
    if (!dir || (strcasecmp(dir, "asc") && strcasecmp(dir, "desc")))
        return apr_psprintf(q->pool, "orderBy: field '%s' needs \"asc\" or \"desc\"", f->name);
    desc = strcasecmp(dir, "desc") == 0;
    /* NULLs first ascending and last descending, on both databases */
    md_sql_add(q, "(");
    add_column(q, f);
    md_sql_add(q, desc ? " IS NULL) ASC, " : " IS NULL) DESC, ");
    add_column(q, f);
    md_sql_add(q, desc ? " DESC, " : " ASC, ");
    return NULL;
}

const char *md_compile_order(md_sql *q, const md_schema *s, const cb_json *order_by)
{
    const char *err, *key;
    cb_json *v;
    md_sql_add(q, " ORDER BY ");
    if (!order_by || cb_json_typeof(order_by) == CB_JSON_NULL ||
        (cb_json_is_array(order_by) && cb_json_array_size(order_by) == 0)) {
        md_sql_add(q, "\"createdAt\" DESC, \"_id\" ASC");
        return NULL;
    }
    if (cb_json_is_object(order_by)) {
        cb_json_iter it = {0};
        if (cb_json_object_size(order_by) > MD_MAX_ORDER)
            return apr_psprintf(q->pool, "orderBy names more than %d fields", MD_MAX_ORDER);
        while (cb_json_object_next(order_by, &it, &key, &v))
            if ((err = order_one(q, s, key, v)))
                return err;
    } else if (cb_json_is_array(order_by)) {
        if (cb_json_array_size(order_by) > MD_MAX_ORDER)
            return apr_psprintf(q->pool, "orderBy names more than %d fields", MD_MAX_ORDER);
        for (size_t i = 0; i < cb_json_array_size(order_by); i++) {
            cb_json *item = cb_json_array_get(order_by, i);
            cb_json_iter it = {0};
            if (!cb_json_is_object(item) || cb_json_object_size(item) != 1)
                return "orderBy items are objects with one field: [{\"createdAt\": \"desc\"}]";
            cb_json_object_next(item, &it, &key, &v);
            if ((err = order_one(q, s, key, v)))
                return err;
        }
    } else {
        return "orderBy must be a list such as [{\"createdAt\": \"desc\"}]";
    }
    md_sql_add(q, "\"_id\" ASC");
    return NULL;
}

const char *md_compile_select(apr_pool_t *p, const md_schema *s, const cb_json *select,
                              apr_array_header_t **fields)
{
    cb_json_iter it = {0};
    const char *key;
    cb_json *v;
    int master = 0, on;
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(md_field *));
    apr_hash_t *chosen = apr_hash_make(p);
    if (select && cb_json_typeof(select) != CB_JSON_NULL && !cb_json_is_object(select))
        return "select must be an object such as {\"$master\": true}";
    while (cb_json_object_next(select, &it, &key, &v)) {
        const md_field *f;
        if (!cb_json_bool_value(v, &on))
            return apr_psprintf(p, "select: '%s' takes true or false", shown(p, key));
        if (strcmp(key, "$master") == 0) {
            master = on;
            continue;
        }
        if (key[0] == '$')   /* relations ($foreign...) are not in this release */
            return apr_psprintf(p, "select: '%s' is not supported", shown(p, key));
        if (!(f = md_schema_field(s, key)))
            return apr_psprintf(p, "select: unknown field '%s'", shown(p, key));
        if (on)
            apr_hash_set(chosen, f->name, APR_HASH_KEY_STRING, f);
    }
    for (int i = 0; i < s->fields->nelts; i++) {
        md_field *f = APR_ARRAY_IDX(s->fields, i, md_field *);
        if (master || apr_hash_count(chosen) == 0 || strcmp(f->name, "_id") == 0 ||
            apr_hash_get(chosen, f->name, APR_HASH_KEY_STRING))
            APR_ARRAY_PUSH(out, md_field *) = f;
    }
    *fields = out;
    return NULL;
}
