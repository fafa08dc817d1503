/*
 * model.h: the model plugin's shared types: a model's schema (declared
 * fields plus the system fields), the filter compiler's output (SQL text
 * whose only variable parts are '?' placeholders and column names taken
 * from the schema, plus the bound values), the permission presets and
 * the per-process table state. See docs/plugins/model.md.
 */
#ifndef CB_MODEL_H
#define CB_MODEL_H

#include <stdint.h>

#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/db.h"
#include "cloudbase/json.h"
#include "cloudbase/readcache.h"

typedef enum {
    MD_STRING, MD_NUMBER, MD_BOOLEAN, MD_DATE, MD_DATETIME, MD_OBJECT, MD_ARRAY
} md_type;

typedef struct md_field {
    const char *name;
    md_type type;
    int required, unique, index, system;
    int64_t max_length;         /* strings: characters (UTF-8 code points); 0 = none */
    const cb_json *default_value; /* NULL = none */
} md_field;

typedef struct md_schema {
    apr_array_header_t *fields; /* of md_field *: system fields first, then declared */
    apr_hash_t *by_name;        /* name -> md_field * */
} md_schema;

/* Caps checked before any query runs. */
typedef struct md_limits {
    int max_depth;      /* nesting of $and / $or / field objects */
    int max_in;         /* items of one $in / $nin */
    int max_params;     /* bound values of one statement */
} md_limits;

/* Compiled SQL: text plus the values bound to its '?', in order. */
typedef struct md_sql {
    apr_pool_t *pool;
    const char *driver;         /* "sqlite3" or "pgsql": for $search only */
    char *text;
    size_t len, cap;
    apr_array_header_t *args;   /* of const char *; NULL entries are SQL NULL */
    int max_params;
} md_sql;

/* The four presets, as CloudBase names them. */
typedef enum {
    MD_PERM_READONLY = 0,   /* everyone reads, the creator writes (default) */
    MD_PERM_PRIVATE,        /* only the creator reads and writes */
    MD_PERM_ADMINWRITE,     /* everyone reads, only an admin writes */
    MD_PERM_ADMINONLY       /* only an admin */
} md_permission;

/* Who calls, as the SQL scope sees it. */
typedef struct md_caller {
    const char *uid;    /* NULL: nobody signed in */
    int anonymous;      /* an anonymous sign-in */
    int admin;
} md_caller;

typedef struct md_model {
    const char *name;
    md_schema *schema;
    md_permission permission;
    int anonymous_write;
    const char *tables[2];          /* quoted table names: [0] prod, [1] pre */
    volatile int ready[2];          /* table synced in this process */
    int cache;                      /* cache=on|off: list and get through the read cache */
    const char *cache_ns[2];        /* its read-cache namespaces: NAME.prod, NAME.pre */
} md_model;

/* A runSQLTemplate template for one envType: SQL with '?' per parameter. */
typedef struct md_template_text {
    const char *sql;
    apr_array_header_t *keys;   /* parameter names, in '?' order */
    int returns_rows;           /* SELECT / WITH / VALUES */
    int writes;                 /* anything but a plain SELECT: bumps the read cache */
} md_template_text;

typedef struct md_template {
    const char *name;
    cb_auth_level auth;
    md_template_text text[2];   /* [0] prod, [1] pre */
} md_template;

typedef struct md_state {
    const char *env;
    apr_hash_t *models;             /* name -> md_model * */
    apr_hash_t *templates;          /* name -> md_template * */
    md_limits limits;
    int64_t max_body;
    int default_page_size, max_page_size, max_batch;
    apr_thread_mutex_t *sync_lock;  /* per process, from child_init */
    cb_readcache *cache;            /* NULL: cache_ttl 0, no read cache */
    apr_uint32_t *bump_failures;    /* node-wide count of writes whose bump failed */
    volatile apr_uint32_t last_bump_log; /* second of the last such log line (per process) */
} md_state;

/* ---- schema.c ---- */
/* Parses a schema document; NULL and *out, or what is wrong (for configtest). */
const char *md_schema_parse(apr_pool_t *p, const char *text, size_t len, md_schema **out);
const md_field *md_schema_field(const md_schema *s, const char *name);
const char *md_type_name(md_type t);
/* The column type of a field for a driver ("sqlite3" or "pgsql"). */
const char *md_column_type(const md_field *f, const char *driver);
/* A JSON value as the text bound for field f; NULL and *error naming the
 * field when the value has the wrong type or is out of range. A JSON null
 * gives *is_null. */
const char *md_value_text(apr_pool_t *p, const md_field *f, const cb_json *v, int *is_null,
                          const char **error);
/* A column's text back as JSON for field f. */
cb_json *md_value_json(apr_pool_t *p, const md_field *f, const char *text);
int md_valid_name(const char *name, size_t max);

/* ---- filter.c ---- */
void md_sql_init(md_sql *q, apr_pool_t *p, const char *driver, int max_params);
void md_sql_add(md_sql *q, const char *text);
/* Appends a '?' and its value; -1 past max_params. */
int md_sql_bind(md_sql *q, const char *value);
/* Appends the WHERE condition of a filter's where object (NULL or {}:
 * always true). NULL, or an INVALID_PARAM message. */
const char *md_compile_where(md_sql *q, const md_schema *s, const cb_json *where,
                             const md_limits *lim);
/* Appends "ORDER BY ..." for an orderBy array (NULL: createdAt desc); the
 * _id tiebreak makes the order total. */
const char *md_compile_order(md_sql *q, const md_schema *s, const cb_json *order_by);
/* The fields a select object asks for (array of md_field *). */
const char *md_compile_select(apr_pool_t *p, const md_schema *s, const cb_json *select,
                              apr_array_header_t **fields);

/* ---- store.c ---- */
/* The quoted table name of a model for an environment and envType. */
const char *md_table_name(apr_pool_t *p, const char *env, const char *model, const char *env_type);
/* Creates the table or adds missing columns; a changed type fails with a
 * message naming the fix. Once per process and table. */
apr_status_t md_sync_table(md_state *st, md_model *m, int pre, cb_db *db, apr_pool_t *p,
                           const char **error);
/* Appends the caller's read scope (" AND ..."), or answers 0 when the
 * caller may not read at all. */
int md_read_scope(md_sql *q, const md_model *m, const md_caller *c);
/* Appends the caller's write scope; 0 when the caller may not write. */
int md_write_scope(md_sql *q, const md_model *m, const md_caller *c);
int md_may_create(const md_model *m, const md_caller *c);

/* A normalised read: what a cache would key on, with the caller's scope. */
typedef struct md_read {
    const md_model *model;
    int pre;
    int single;                 /* get: one record */
    const cb_json *where, *select, *order_by;
    int64_t page_size, page_number;
    int get_count;
} md_read;

/* The answer's data object for a read ({records, total} or {record}); on
 * failure NULL with *status, *code and *message for the client. The one
 * function a read cache wraps. */
cb_json *md_read_answer(md_state *st, cb_db *db, apr_pool_t *p, const md_read *r,
                        const md_caller *c, int *status, const char **code,
                        const char **message);

/* A database failure as the client's status, code and message; NULL. */
cb_json *md_db_failure(apr_status_t rv, int *status, const char **code, const char **message);

/* ---- writes.c ---- */
/* What a write op needs; data, create, update as the body holds them. */
typedef struct md_write {
    md_model *model;
    int pre;
    const char *op;     /* create, createMany, update, updateMany, upsert, delete, deleteMany */
    const cb_json *where, *data, *create, *update;
    const char *id;     /* DELETE .../{id}/delete */
    int max_batch;
} md_write;

/* The answer's data object of a write, or NULL with the client's error. */
cb_json *md_write_answer(md_state *st, cb_db *db, apr_pool_t *p, const md_write *w,
                         const md_caller *c, int *status, const char **code,
                         const char **message);

/* ---- sql_template.c ---- */
/* A template's text for one envType ({{key}} parameters, {{table:MODEL}});
 * NULL, or what is wrong (for configtest). */
const char *md_template_compile(apr_pool_t *p, const md_state *st, const char *text, int pre,
                                md_template_text *out);
/* The bound values of the SDK's typed parameter list, in '?' order; NULL,
 * or an INVALID_PARAM message. */
const char *md_template_args(apr_pool_t *p, const md_template_text *t, const cb_json *parameter,
                             const char ***args);
cb_status md_handle_sql(cb_req *req, void *state);

/* ---- cache.c ---- */
/* Sets up the read cache from the cache_* options; 0 on a bad setting. */
int md_cache_create(cb_plugin_ctx *ctx, md_state *st);
/* The cache key of a read for this caller: the normalised query plus the
 * values the permission preset binds (equal keys, equal rows); NULL when
 * the caller may not read at all (the uncached path answers the refusal). */
const char *md_cache_key(apr_pool_t *p, const md_state *st, const char *driver,
                         const md_read *r, const md_caller *c);
/* A list or get answered through the read cache (or straight from the
 * database when the model's cache is off), X-Cache-Status set; the answer
 * or the error is sent. */
cb_status md_cache_read(cb_req *req, md_state *st, cb_db *db, const md_read *r,
                        const md_caller *c);
/* After a write to model m's table of envType pre (before answering): bumps
 * its namespace; a failure is counted, logged at most once a second and
 * marked on the answer (X-Cache-Invalidation: failed). */
void md_cache_written(cb_req *req, md_state *st, const md_model *m, int pre);
/* POST /v1/model/{envType}/{model}/cache/purge (admin). */
cb_status md_handle_cache_purge(cb_req *req, void *state);

/* ---- routes.c ---- */
/* The model and envType of the path, or NULL with the answer sent. */
md_model *md_model_of(cb_req *req, md_state *st, int *pre, cb_db **db);
/* {data, requestId}; an error as {code, message, requestId} (401 with the
 * core's WWW-Authenticate). */
cb_status md_answer(cb_req *req, cb_json *data);
cb_status md_refuse(cb_req *req, int status, const char *code, const char *message);

cb_status md_handle_op(cb_req *req, void *state);
cb_status md_handle_delete_id(cb_req *req, void *state);
cb_status md_handle_list_get(cb_req *req, void *state);

extern const cb_db_migration md_migrations[];

#endif
