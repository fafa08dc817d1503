/*
 * model.c: the model plugin's descriptor: its options, the models of the
 * environment (`model NAME schema=file:PATH [permission=PRESET]
 * [anonymous_write=on|off] [cache=on|off]`), its schema in the database
 * service, its read cache options and its routes under /v1/model/. See
 * docs/plugins/model.md.
 */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "cloudbase/values.h"
#include "model.h"

#define MD_MAX_SCHEMA_FILE (1024 * 1024)

static const cb_option_def options[] = {
    {.name = "model", .type = CB_OPT_LIST,
     .help = "NAME schema=file:PATH [permission=READONLY|PRIVATE|ADMINWRITE|ADMINONLY] "
             "[anonymous_write=on|off] [cache=on|off]"},
    {.name = "sql_template", .type = CB_OPT_LIST,
     .help = "NAME file:PATH [auth=none|any|user|admin]: a runSQLTemplate template, SQL with "
             "{{param}} and {{table:MODEL}}"},
    {.name = "max_body", .type = CB_OPT_SIZE, .default_value = "1m", CB_OPT_MIN(1024),
     CB_OPT_MAX(64 * 1024 * 1024), .help = "largest request body"},
    {.name = "max_filter_depth", .type = CB_OPT_INT, .default_value = "16", CB_OPT_MIN(2),
     CB_OPT_MAX(64), .help = "nesting of $and/$or and field conditions in a filter"},
    {.name = "max_in", .type = CB_OPT_INT, .default_value = "1000", CB_OPT_MIN(1),
     CB_OPT_MAX(10000), .help = "values of one $in or $nin"},
    {.name = "max_params", .type = CB_OPT_INT, .default_value = "5000", CB_OPT_MIN(16),
     CB_OPT_MAX(30000), .help = "values one filter may bind"},
    {.name = "page_size", .type = CB_OPT_INT, .default_value = "10", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "pageSize of a list that names none"},
    {.name = "max_page_size", .type = CB_OPT_INT, .default_value = "200", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "largest pageSize"},
    {.name = "max_batch", .type = CB_OPT_INT, .default_value = "100", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "records of one createMany"},
    {.name = "cache_ttl", .type = CB_OPT_DURATION, .default_value = "60s", CB_OPT_MIN(0),
     CB_OPT_MAX(86400000), .help = "how long a cached list or get answer is fresh; 0 turns "
                                   "the read cache off"},
    {.name = "cache_stale", .type = CB_OPT_DURATION, .default_value = "5m", CB_OPT_MIN(0),
     CB_OPT_MAX(86400000), .help = "how long past cache_ttl an answer may still be served "
                                   "(STALE) while one request refills it"},
    {.name = "cache_wait", .type = CB_OPT_DURATION, .default_value = "1s", CB_OPT_MIN(10),
     CB_OPT_MAX(30000), .help = "how long a request waits for another one filling the same "
                                "answer before it goes to the database itself"},
    {.name = "cache_max_answer", .type = CB_OPT_SIZE, .default_value = "1m", CB_OPT_MIN(1024),
     CB_OPT_MAX(64 * 1024 * 1024), .help = "larger answers are not cached"},
    {.name = "cache_local_lease", .type = CB_OPT_DURATION, .default_value = "50ms",
     CB_OPT_MIN(0), CB_OPT_MAX(10000), .help = "how long a process may serve its own copies "
     "of a model's hot answers without asking Redis; a write waits for the processes holding "
     "one; 0 keeps no local copies"},
    {.name = "cache_local_memory", .type = CB_OPT_SIZE, .default_value = "16m", CB_OPT_MIN(65536),
     CB_OPT_MAX(1024LL * 1024 * 1024), .help = "memory for local copies, per process"},
    {0}
};

#define MODEL_ROUTE(method_, pattern_, handler_) \
    {.method = method_, .pattern = pattern_, .handler = handler_, .auth = CB_AUTH_NONE, \
     .dialect = CB_DIALECT_CLOUDBASE}

static const cb_route_def routes[] = {
    MODEL_ROUTE("POST", "/v1/model/{envType}/{model}/{op}", md_handle_op),
    MODEL_ROUTE("PUT", "/v1/model/{envType}/{model}/{op}", md_handle_op),
    MODEL_ROUTE("GET", "/v1/model/{envType}/{model}/{op}", md_handle_list_get),
    MODEL_ROUTE("POST", "/v1/sql/{envType}/{template}/run", md_handle_sql),
    MODEL_ROUTE("DELETE", "/v1/model/{envType}/{model}/{op}/delete", md_handle_delete_id),
    {.method = "POST", .pattern = "/v1/model/{envType}/{model}/cache/purge",
     .handler = md_handle_cache_purge, .auth = CB_AUTH_ADMIN, .dialect = CB_DIALECT_CLOUDBASE},
    {0}
};

static const char *const permission_words[] = {"READONLY", "PRIVATE", "ADMINWRITE",
                                                "ADMINONLY"};

static const char *read_config_file(apr_pool_t *p, const char *path, const char **text,
                                    size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t got;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS ||
        apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS)
        return apr_psprintf(p, "cannot read file %s", path);
    if (fi.size > MD_MAX_SCHEMA_FILE)
        return apr_psprintf(p, "file %s is larger than 1 MiB", path);
    buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    if (apr_file_read_full(f, buf, (apr_size_t)fi.size, &got) != APR_SUCCESS && fi.size)
        return apr_psprintf(p, "cannot read file %s", path);
    buf[got] = '\0';
    apr_file_close(f);
    *text = buf;
    *len = got;
    return NULL;
}

/* One `model` line; NULL or what is wrong. */
static const char *parse_model(apr_pool_t *p, const char *env, const char *text, md_model *m)
{
    cb_option_line line;
    const char *err, *v, *schema_text = NULL;
    size_t len = 0;
    memset(m, 0, sizeof(*m));
    if ((err = cb_option_line_parse(p, text, 1, 1, &line)))
        return err;
    m->name = line.words[0];
    if (!md_valid_name(m->name, 40))
        return apr_psprintf(p, "model name '%s' must start with a letter and hold only "
                               "letters, digits and '_' (at most 40)", m->name);
    for (int i = 0; i < line.setting_count; i++)
        if (strcmp(line.keys[i], "schema") && strcmp(line.keys[i], "permission") &&
            strcmp(line.keys[i], "anonymous_write") && strcmp(line.keys[i], "cache"))
            return apr_psprintf(p, "unknown setting %s= (use schema=, permission=, "
                                   "anonymous_write= or cache=)", line.keys[i]);
    v = cb_option_line_get(&line, "schema");
    if (!v || strncmp(v, "file:", 5) != 0 || v[5] != '/')
        return "schema=file:/absolute/path.json is missing";
    if ((err = read_config_file(p, v + 5, &schema_text, &len)))
        return err;
    if ((err = md_schema_parse(p, schema_text, len, &m->schema)))
        return apr_psprintf(p, "schema %s: %s", v + 5, err);
    m->permission = MD_PERM_READONLY;
    if ((v = cb_option_line_get(&line, "permission"))) {
        int found = 0;
        for (int i = 0; i < 4; i++)
            if (strcasecmp(v, permission_words[i]) == 0) {
                m->permission = (md_permission)i;
                found = 1;
            }
        if (!found)
            return apr_psprintf(p, "permission=%s is unknown: use READONLY, PRIVATE, "
                                   "ADMINWRITE or ADMINONLY", v);
    }
    if ((v = cb_option_line_get(&line, "anonymous_write"))) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return "anonymous_write= takes on or off";
        m->anonymous_write = strcmp(v, "on") == 0;
    }
    m->cache = 1;
    if ((v = cb_option_line_get(&line, "cache"))) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return "cache= takes on or off";
        m->cache = strcmp(v, "on") == 0;
    }
    m->cache_ns[0] = apr_pstrcat(p, m->name, ".prod", NULL);
    m->cache_ns[1] = apr_pstrcat(p, m->name, ".pre", NULL);
    m->tables[0] = md_table_name(p, env, m->name, "prod");
    m->tables[1] = md_table_name(p, env, m->name, "pre");
    return NULL;
}

/* One `sql_template` line; NULL or what is wrong. */
static const char *parse_template(apr_pool_t *p, const md_state *st, const char *text,
                                  md_template *t)
{
    cb_option_line line;
    const char *err, *v, *sql = NULL;
    size_t len = 0;
    memset(t, 0, sizeof(*t));
    t->auth = CB_AUTH_ANY;
    if ((err = cb_option_line_parse(p, text, 2, 2, &line)))
        return line.word_count < 2 ? "write NAME file:/path/to/template.sql [auth=LEVEL]" : err;
    t->name = line.words[0];
    if (!md_valid_name(t->name, 64))
        return apr_psprintf(p, "template name '%s' must start with a letter and hold only "
                               "letters, digits and '_'", t->name);
    for (int i = 0; i < line.setting_count; i++)
        if (strcmp(line.keys[i], "auth"))
            return apr_psprintf(p, "unknown setting %s= (use auth=)", line.keys[i]);
    if ((v = cb_option_line_get(&line, "auth")) && (err = cb_parse_auth_level(v, 0, &t->auth)))
        return err;
    v = line.words[1];
    if (strncmp(v, "file:", 5) != 0 || v[5] != '/')
        return "the template is file:/absolute/path.sql";
    if ((err = read_config_file(p, v + 5, &sql, &len)))
        return err;
    for (int pre = 0; pre < 2; pre++)
        if ((err = md_template_compile(p, st, sql, pre, &t->text[pre])))
            return apr_psprintf(p, "%s: %s", v + 5, err);
    return NULL;
}

static int load_templates(cb_plugin_ctx *ctx, md_state *st)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "sql_template");
    apr_pool_t *p = cb_ctx_pool(ctx);
    int ok = 1;
    st->templates = apr_hash_make(p);
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        md_template *t = apr_palloc(p, sizeof(*t));
        const char *err = parse_template(p, st, item->text, t);
        if (!err && apr_hash_get(st->templates, t->name, APR_HASH_KEY_STRING))
            err = apr_psprintf(p, "sql_template %s is declared twice", t->name);
        if (err) {
            cb_ctx_error(ctx, "sql_template at %s:%d: %s", item->file ? item->file : "?",
                         item->line, err);
            ok = 0;
            continue;
        }
        apr_hash_set(st->templates, t->name, APR_HASH_KEY_STRING, t);
    }
    return ok;
}

static cb_status model_create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    const apr_array_header_t *lines = cb_opt_list(o, "model");
    md_state *st = apr_pcalloc(p, sizeof(*st));
    int ok = 1;
    st->env = cb_ctx_env(ctx);
    st->models = apr_hash_make(p);
    st->max_body = cb_opt_size(o, "max_body");
    st->limits.max_depth = (int)cb_opt_int(o, "max_filter_depth");
    st->limits.max_in = (int)cb_opt_int(o, "max_in");
    st->limits.max_params = (int)cb_opt_int(o, "max_params");
    st->default_page_size = (int)cb_opt_int(o, "page_size");
    st->max_page_size = (int)cb_opt_int(o, "max_page_size");
    st->max_batch = (int)cb_opt_int(o, "max_batch");
    if (st->default_page_size > st->max_page_size) {
        cb_ctx_error(ctx, "model: page_size %d is larger than max_page_size %d",
                     st->default_page_size, st->max_page_size);
        ok = 0;
    }
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        md_model *m = apr_palloc(p, sizeof(*m));
        const char *err = parse_model(p, st->env, item->text, m);
        if (!err && apr_hash_get(st->models, m->name, APR_HASH_KEY_STRING))
            err = apr_psprintf(p, "model %s is declared twice", m->name);
        if (err) {
            cb_ctx_error(ctx, "model at %s:%d: %s", item->file ? item->file : "?", item->line,
                         err);
            ok = 0;
            continue;
        }
        apr_hash_set(st->models, m->name, APR_HASH_KEY_STRING, m);
    }
    if (!load_templates(ctx, st))
        ok = 0;
    if (!md_cache_create(ctx, st))
        ok = 0;
    if (!cb_ctx_db(ctx)) {
        cb_ctx_error(ctx, "model needs a database: add `CloudBaseDatabase sqlite3:/path/to.db` "
                          "(or a PostgreSQL line) to the environment");
        ok = 0;
    } else {
        cb_ctx_db_migrations(ctx, md_migrations, -1);
    }
    if (!ok)
        return CB_ERROR;
    *state = st;
    return CB_OK;
}

static cb_status model_child_init(void *state, apr_pool_t *child_pool)
{
    md_state *st = state;
    return apr_thread_mutex_create(&st->sync_lock, APR_THREAD_MUTEX_DEFAULT, child_pool)
               == APR_SUCCESS ? CB_OK : CB_ERROR;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "model",
    .version = "1.0.0",
    .description = "CloudBase data models over the database service",
    .options = options,
    .routes = routes,
    .create = model_create,
    .child_init = model_child_init,
};
