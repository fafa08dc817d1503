/*
 * fuzz_model.c: libFuzzer target for the model plugin's schema parser and
 * filter compiler (plugins/model/schema.c, filter.c). The first byte picks
 * what the rest is: a schema document ('s'), or a filter.where ('w'), an
 * orderBy ('o') or a select ('e') compiled against a fixed schema, or a
 * runSQLTemplate template ('t').
 *
 * Invariants: an accepted schema's declared fields have valid names and
 * every system field; compiled SQL holds one '?' per bound value, no
 * quoted identifier that is not a schema field, no string literal other
 * than '', '{}' and '[]', and outside those only SQL words, digits,
 * spaces and ( ) = < > , ? -- so no byte of client text reaches the SQL.
 * A compiled template has one '?' outside quotes per parameter name.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "model.h"

#define FUZZ_TARGET_NAME "fuzz_model"
#include "fuzz_support.h"

static const char *fixed_schema =
    "{\"fields\": {\"name\": {\"type\": \"string\", \"maxLength\": 8},"
    "\"views\": {\"type\": \"number\"}, \"published\": {\"type\": \"boolean\"},"
    "\"when\": {\"type\": \"datetime\"}, \"meta\": {\"type\": \"object\"},"
    "\"tags\": {\"type\": \"array\"}}}";

static void check_sql(const md_schema *s, const md_sql *q, const char *input)
{
    const char *c = q->text;
    int marks = 0;
    while (*c) {
        if (*c == '"') {
            const char *end = strchr(c + 1, '"');
            require(end != NULL, "an unterminated identifier", input);
            require(md_schema_field(s, apr_pstrmemdup(iteration_pool, c + 1,
                                                      (apr_size_t)(end - c - 1))) != NULL,
                    "an identifier that is not a schema field", input);
            c = end + 1;
        } else if (*c == '\'') {
            require(!strncmp(c, "''", 2) || !strncmp(c, "'{}'", 4) || !strncmp(c, "'[]'", 4),
                    "a string literal in the SQL", input);
            c += c[1] == '\'' ? 2 : 4;
        } else {
            require(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ()=<>,?",
                           *c) != NULL, "an unexpected byte in the SQL", input);
            marks += *c == '?';
            c++;
        }
    }
    require(marks == q->args->nelts, "placeholders and values differ", input);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text;
    md_schema *s = NULL, *fixed = NULL;
    md_limits lim = {.max_depth = 8, .max_in = 50, .max_params = 200};
    md_sql q;
    apr_array_header_t *fields;
    cb_json *v;
    if (size < 1)
        return 0;
    text = apr_pstrmemdup(iteration_pool, (const char *)data + 1, size - 1);
    if (data[0] == 's') {
        if (!md_schema_parse(iteration_pool, text, size - 1, &s)) {
            require(md_schema_field(s, "_id") && md_schema_field(s, "_openid") &&
                    md_schema_field(s, "createdAt"), "a system field missing", text);
            for (int i = 0; i < s->fields->nelts; i++) {
                md_field *f = APR_ARRAY_IDX(s->fields, i, md_field *);
                require(f->system || md_valid_name(f->name, 48), "a bad field name", text);
            }
        }
        apr_pool_clear(iteration_pool);
        return 0;
    }
    require(md_schema_parse(iteration_pool, fixed_schema, strlen(fixed_schema), &fixed) == NULL,
            "the fixed schema", fixed_schema);
    if (data[0] == 't') {
        md_state st = {.models = apr_hash_make(iteration_pool)};
        md_model m = {.name = "post", .tables = {"\"p0\"", "\"p1\""}};
        md_template_text t;
        apr_hash_set(st.models, "post", APR_HASH_KEY_STRING, &m);
        if (!md_template_compile(iteration_pool, &st, text, 1, &t)) {
            int marks = 0;
            char quote = 0;
            for (const char *c = t.sql; *c; c++) {
                if (quote)
                    quote = *c == quote ? 0 : quote;
                else if (*c == '\'' || *c == '"')
                    quote = *c;
                else
                    marks += *c == '?';
            }
            require(marks == t.keys->nelts, "template placeholders and names differ", text);
        }
        apr_pool_clear(iteration_pool);
        return 0;
    }
    v = cb_json_parse(iteration_pool, text, size - 1, NULL);
    md_sql_init(&q, iteration_pool, data[0] & 1 ? "pgsql" : "sqlite3", lim.max_params);
    if (data[0] == 'o' || data[0] == 'O') {
        if (!md_compile_order(&q, fixed, v))
            check_sql(fixed, &q, text);
    } else if (data[0] == 'e') {
        if (!md_compile_select(iteration_pool, fixed, v, &fields))
            require(fields->nelts >= 1, "a select without _id", text);
    } else if (v && !md_compile_where(&q, fixed, v, &lim)) {
        check_sql(fixed, &q, text);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
