/*
 * schema.c: a model's schema document (`model NAME schema=file:PATH`):
 * {"fields": {"title": {"type": "string", "required": true, "maxLength": 80,
 * "unique": false, "index": true, "default": "..."}, ...}}, plus the system
 * fields every model has; and the conversion of JSON values to the text
 * bound for a column and back, checked against the field's type.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "model.h"

#define MD_MAX_FIELDS 200
/* Dates are milliseconds since 1970, from year 1 to year 9999. */
#define MD_DATE_MIN (-62135596800000LL)
#define MD_DATE_MAX 253402300799999LL

static const char *const type_names[] = {"string", "number", "boolean", "date", "datetime",
                                         "object", "array"};

static const struct {
    const char *name;
    md_type type;
} system_fields[] = {
    {"_id", MD_STRING}, {"createdAt", MD_DATETIME}, {"updatedAt", MD_DATETIME},
    {"owner", MD_STRING}, {"createBy", MD_STRING}, {"updateBy", MD_STRING},
    {"_openid", MD_STRING},
};

const char *md_type_name(md_type t) { return type_names[t]; }

int md_valid_name(const char *name, size_t max)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > max || !((name[0] >= 'a' && name[0] <= 'z') ||
                               (name[0] >= 'A' && name[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

const md_field *md_schema_field(const md_schema *s, const char *name)
{
    return name ? apr_hash_get(s->by_name, name, APR_HASH_KEY_STRING) : NULL;
}

static void add_field(md_schema *s, md_field *f)
{
    APR_ARRAY_PUSH(s->fields, md_field *) = f;
    apr_hash_set(s->by_name, f->name, APR_HASH_KEY_STRING, f);
}

static int parse_type(const char *text, md_type *out)
{
    for (size_t i = 0; text && i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(text, type_names[i]) == 0) {
            *out = (md_type)i;
            return 1;
        }
    return 0;
}

static const char *parse_flag(apr_pool_t *p, const char *field, const char *key,
                              const cb_json *v, int *out)
{
    if (!cb_json_bool_value(v, out))
        return apr_psprintf(p, "field '%s': \"%s\" must be true or false", field, key);
    return NULL;
}

/* One field's definition object. */
static const char *parse_field(apr_pool_t *p, const char *name, const cb_json *def,
                               md_field *f)
{
    cb_json_iter it = {0};
    const char *key, *err;
    cb_json *v;
    int64_t n;
    int have_type = 0, is_null;
    memset(f, 0, sizeof(*f));
    f->name = name;
    if (!cb_json_is_object(def))
        return apr_psprintf(p, "field '%s' must be an object such as {\"type\": \"string\"}",
                            name);
    while (cb_json_object_next(def, &it, &key, &v)) {
        if (strcmp(key, "type") == 0) {
            if (!parse_type(cb_json_string_value(v, NULL), &f->type))
                return apr_psprintf(p, "field '%s': type must be string, number, boolean, "
                                       "date, datetime, object or array", name);
            have_type = 1;
        } else if (strcmp(key, "required") == 0) {
            if ((err = parse_flag(p, name, key, v, &f->required)))
                return err;
        } else if (strcmp(key, "unique") == 0) {
            if ((err = parse_flag(p, name, key, v, &f->unique)))
                return err;
        } else if (strcmp(key, "index") == 0) {
            if ((err = parse_flag(p, name, key, v, &f->index)))
                return err;
        } else if (strcmp(key, "maxLength") == 0) {
            if (!cb_json_int_value(v, &n) || n < 1 || n > 1000000)
                return apr_psprintf(p, "field '%s': maxLength must be an integer from 1 to "
                                       "1000000", name);
            f->max_length = n;
        } else if (strcmp(key, "default") == 0) {
            f->default_value = v;
        } else if (strcmp(key, "description") != 0 && strcmp(key, "title") != 0) {
            return apr_psprintf(p, "field '%s': unknown key \"%.40s\" (use type, required, "
                                   "unique, index, maxLength, default, title or description)",
                                name, key);
        }
    }
    if (!have_type)
        return apr_psprintf(p, "field '%s' has no \"type\"", name);
    if (f->max_length && f->type != MD_STRING)
        return apr_psprintf(p, "field '%s': maxLength applies to strings only", name);
    if ((f->unique || f->index) && (f->type == MD_OBJECT || f->type == MD_ARRAY))
        return apr_psprintf(p, "field '%s': an %s field cannot be unique or indexed", name,
                            type_names[f->type]);
    if (f->default_value) {
        const char *verr = NULL;
        if (!md_value_text(p, f, f->default_value, &is_null, &verr) && verr)
            return apr_psprintf(p, "default of %s", verr);
        if (is_null)
            f->default_value = NULL;
    }
    return NULL;
}

const char *md_schema_parse(apr_pool_t *p, const char *text, size_t len, md_schema **out)
{
    const char *err = NULL, *key;
    cb_json *doc = cb_json_parse(p, text, len, &err), *fields, *v;
    cb_json_iter it = {0};
    md_schema *s;
    if (!doc)
        return apr_psprintf(p, "the schema is not JSON: %s", err ? err : "unreadable");
    fields = cb_json_get(doc, "fields");
    if (!cb_json_is_object(fields))
        return "the schema needs \"fields\": an object of field definitions";
    if (cb_json_object_size(fields) > MD_MAX_FIELDS)
        return apr_psprintf(p, "the schema declares more than %d fields", MD_MAX_FIELDS);
    while (cb_json_object_next(doc, &it, &key, &v))
        if (strcmp(key, "fields") && strcmp(key, "title") && strcmp(key, "description"))
            return apr_psprintf(p, "unknown schema key \"%.40s\" (use fields, title or "
                                   "description)", key);
    s = apr_pcalloc(p, sizeof(*s));
    s->fields = apr_array_make(p, 16, sizeof(md_field *));
    s->by_name = apr_hash_make(p);
    for (size_t i = 0; i < sizeof(system_fields) / sizeof(system_fields[0]); i++) {
        md_field *f = apr_pcalloc(p, sizeof(*f));
        f->name = system_fields[i].name;
        f->type = system_fields[i].type;
        f->system = 1;
        f->index = strcmp(f->name, "createdAt") == 0;   /* the default order */
        add_field(s, f);
    }
    memset(&it, 0, sizeof(it));
    while (cb_json_object_next(fields, &it, &key, &v)) {
        md_field *f = apr_pcalloc(p, sizeof(*f));
        if (md_schema_field(s, key))
            return apr_psprintf(p, "field '%s' is a system field, set by the gateway: "
                                   "remove it from the schema", key);
        if (!md_valid_name(key, 48))
            return apr_psprintf(p, "field name \"%.60s\" must start with a letter and hold "
                                   "only letters, digits and '_' (at most 48)", key);
        if ((err = parse_field(p, apr_pstrdup(p, key), v, f)))
            return err;
        add_field(s, f);
    }
    *out = s;
    return NULL;
}

const char *md_column_type(const md_field *f, const char *driver)
{
    int pg = strcmp(driver, "pgsql") == 0;
    if (f->system && strcmp(f->name, "_id") == 0)
        return "VARCHAR(64) NOT NULL PRIMARY KEY";
    switch (f->type) {
    case MD_NUMBER: return pg ? "DOUBLE PRECISION" : "REAL";
    case MD_BOOLEAN: return "INTEGER";
    case MD_DATE:
    case MD_DATETIME: return "BIGINT";
    case MD_STRING: return pg ? "TEXT COLLATE \"C\"" : "TEXT";
    default: return "TEXT";
    }
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

const char *md_value_text(apr_pool_t *p, const md_field *f, const cb_json *v, int *is_null,
                          const char **error)
{
    const char *s;
    size_t len;
    double d;
    int64_t i;
    int b;
    *is_null = 0;
    *error = NULL;
    if (cb_json_typeof(v) == CB_JSON_NULL) {
        *is_null = 1;
        return NULL;
    }
    switch (f->type) {
    case MD_STRING:
        if (!(s = cb_json_string_value(v, &len)))
            break;
        if (f->max_length && (int64_t)utf8_chars(s, len) > f->max_length) {
            *error = apr_psprintf(p, "field '%s' is longer than its maxLength %" APR_INT64_T_FMT,
                                  f->name, f->max_length);
            return NULL;
        }
        return s;
    case MD_NUMBER:
        if (cb_json_int_value(v, &i))
            return apr_psprintf(p, "%" APR_INT64_T_FMT, i);
        if (!cb_json_number_value(v, &d))
            break;
        if (!isfinite(d)) {
            *error = apr_psprintf(p, "field '%s' needs a finite number", f->name);
            return NULL;
        }
        {
            char buf[40];
            snprintf(buf, sizeof(buf), "%.17g", d);
            return apr_pstrdup(p, buf);
        }
    case MD_BOOLEAN:
        if (!cb_json_bool_value(v, &b))
            break;
        return b ? "1" : "0";
    case MD_DATE:
    case MD_DATETIME:
        if (!cb_json_int_value(v, &i))
            break;
        if (i < MD_DATE_MIN || i > MD_DATE_MAX) {
            *error = apr_psprintf(p, "field '%s' is a date out of range (milliseconds since "
                                     "1970, years 1 to 9999)", f->name);
            return NULL;
        }
        return apr_psprintf(p, "%" APR_INT64_T_FMT, i);
    case MD_OBJECT:
        if (!cb_json_is_object(v))
            break;
        return cb_json_dump(p, v);
    case MD_ARRAY:
        if (!cb_json_is_array(v))
            break;
        return cb_json_dump(p, v);
    }
    *error = apr_psprintf(p, "field '%s' needs a %s value%s", f->name, type_names[f->type],
                          f->type == MD_DATE || f->type == MD_DATETIME
                              ? " (milliseconds since 1970, an integer)" : "");
    return NULL;
}

cb_json *md_value_json(apr_pool_t *p, const md_field *f, const char *text)
{
    char *end;
    double d;
    cb_json *v;
    if (!text)
        return cb_json_new_null(p);
    switch (f->type) {
    case MD_NUMBER:
        d = strtod(text, &end);
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            return cb_json_new_int(p, (int64_t)d);
        return cb_json_new_real(p, d);
    case MD_BOOLEAN:
        return cb_json_new_bool(p, strcmp(text, "0") != 0);
    case MD_DATE:
    case MD_DATETIME:
        return cb_json_new_int(p, (int64_t)strtoll(text, NULL, 10));
    case MD_OBJECT:
    case MD_ARRAY:
        v = cb_json_parse(p, text, strlen(text), NULL);
        return v ? v : cb_json_new_null(p);
    default:
        return cb_json_new_string(p, text);
    }
}
