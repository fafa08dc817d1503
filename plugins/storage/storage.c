/*
 * storage.c: the storage plugin's descriptor: its options, the buckets of
 * the environment (`bucket NAME backend=local dir=PATH ...`), its schema
 * in the database service, and the routes: the four batch routes under
 * /v1/storages/ with the auth level configured for each, and the local
 * backend's object route /v1/storages/file/{bucket}/{key*}; the S3
 * endpoint's options and routes are set up by s3_endpoint.c.
 * See docs/plugins/storage.md.
 */
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "cloudbase/values.h"
#include "remote.h"
#include "s3.h"
#include "storage.h"

static const char *const auth_levels[] = {"none", "any", "user", "admin", NULL};

static const cb_option_def options[] = {
    {.name = "bucket", .type = CB_OPT_LIST,
     .help = "NAME backend=local dir=PATH | backend=s3 endpoint=URL region=R bucket_name=B "
             "access_key=K secret_key=file:|env: [path_style|virtual_host] | backend=cos "
             "region=R bucket_name=NAME-APPID secret_id=ID secret_key=file:|env: "
             "[acl=READONLY|PRIVATE|ADMINWRITE|ADMINONLY] [default] [max_object=SIZE] "
             "[quota=SIZE]"},
    {.name = "signing_key", .type = CB_OPT_SECRET, .required = 1,
     .help = "HMAC key of upload and download signatures, at least 32 bytes (file:PATH or env:NAME)"},
    {.name = "public_url", .type = CB_OPT_URL,
     .help = "scheme://host[:port] clients reach the gateway at (default: the request's Host)"},
    {.name = "upload_expires", .type = CB_OPT_DURATION, .default_value = "15m", CB_OPT_MIN(1000),
     CB_OPT_MAX(7 * 24 * 3600 * 1000LL), .help = "lifetime of a signed upload"},
    {.name = "download_expires", .type = CB_OPT_DURATION, .default_value = "1h",
     CB_OPT_MIN(1000), CB_OPT_MAX(7 * 24 * 3600 * 1000LL),
     .help = "lifetime of a signed download URL"},
    {.name = "max_object", .type = CB_OPT_SIZE, .default_value = "100m", CB_OPT_MIN(1),
     .help = "largest object of buckets without max_object="},
    {.name = "env_quota", .type = CB_OPT_SIZE, .default_value = "0", CB_OPT_MIN(0),
     .help = "bytes the environment may store over all its buckets (0 = no limit)"},
    {.name = "auth_upload", .type = CB_OPT_ENUM, .default_value = "any", .choices = auth_levels,
     .help = "auth level of get-objects-upload-info"},
    {.name = "auth_download", .type = CB_OPT_ENUM, .default_value = "none",
     .choices = auth_levels, .help = "auth level of get-objects-download-info"},
    {.name = "auth_delete", .type = CB_OPT_ENUM, .default_value = "any", .choices = auth_levels,
     .help = "auth level of delete-objects"},
    {.name = "auth_copy", .type = CB_OPT_ENUM, .default_value = "any", .choices = auth_levels,
     .help = "auth level of copy-objects"},
    {.name = "max_batch_upload", .type = CB_OPT_INT, .default_value = "50", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "items per get-objects-upload-info call"},
    {.name = "max_batch_download", .type = CB_OPT_INT, .default_value = "100", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "items per get-objects-download-info call"},
    {.name = "max_batch_delete", .type = CB_OPT_INT, .default_value = "100", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "items per delete-objects call"},
    {.name = "max_batch_copy", .type = CB_OPT_INT, .default_value = "50", CB_OPT_MIN(1),
     CB_OPT_MAX(1000), .help = "items per copy-objects call"},
    {.name = "s3_prefix", .type = CB_OPT_STRING, .default_value = "/s3",
     .help = "path of the S3-compatible endpoint ({prefix}/{bucket}/{key}), or off; "
             "served only when an s3_key is configured"},
    {.name = "s3_region", .type = CB_OPT_STRING, .default_value = "any",
     .help = "region S3 signatures must name (e.g. us-east-1), or any"},
    {.name = "s3_key", .type = CB_OPT_LIST,
     .help = "ACCESS_KEY_ID secret=file:PATH|env:NAME [bucket=NAME,...] [admin]: an access key "
             "of the S3 endpoint"},
    {0}
};

static const char *const route_paths[ST_ROUTE_COUNT] = {
    "/v1/storages/get-objects-upload-info", "/v1/storages/get-objects-download-info",
    "/v1/storages/delete-objects", "/v1/storages/copy-objects"};
static const cb_handler_fn route_handlers[ST_ROUTE_COUNT] = {
    st_upload_info, st_download_info, st_delete_objects, st_copy_objects};
static const char *const route_auth_options[ST_ROUTE_COUNT] = {
    "auth_upload", "auth_download", "auth_delete", "auth_copy"};
static const char *const route_batch_options[ST_ROUTE_COUNT] = {
    "max_batch_upload", "max_batch_download", "max_batch_delete", "max_batch_copy"};

#define FILE_ROUTE(method_, handler_) \
    {.method = method_, .pattern = "/v1/storages/file/{bucket}/{key*}", .handler = handler_, \
     .auth = CB_AUTH_NONE, .dialect = CB_DIALECT_CLOUDBASE}

static const cb_route_def file_routes[] = {
    FILE_ROUTE("PUT", st_put_object),
    FILE_ROUTE("POST", st_post_object),
    FILE_ROUTE("GET", st_get_object),
    FILE_ROUTE("HEAD", st_get_object),
    {0}
};

/* The line without its `default` flag word (*is_default tells whether it was
 * there), and with the S3 flag words (path_style, virtual_host) moved to just
 * after the name, where cb_option_line_parse reads words: flags may stand
 * anywhere after the name. */
static const char *without_default_flag(apr_pool_t *p, const char *text, int *is_default)
{
    static const char *const moved[] = {"path_style", "virtual_host"};
    const char *flags = "", *space;
    int found;
    text = st_without_flag_word(p, text, "default", is_default);
    for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
        text = st_without_flag_word(p, text, moved[i], &found);
        if (found)
            flags = apr_pstrcat(p, flags, " ", moved[i], NULL);
    }
    if (!*flags || !(space = strchr(text, ' ')))
        return *flags ? apr_pstrcat(p, text, flags, NULL) : text;
    return apr_pstrcat(p, apr_pstrmemdup(p, text, (apr_size_t)(space - text)), flags, space, NULL);
}

/* The settings every backend has: acl=, max_object=, quota=. */
static const char *common_settings(apr_pool_t *p, const cb_option_line *line, st_bucket *b)
{
    const char *v, *err;
    if ((v = cb_option_line_get(line, "acl")) && (err = st_parse_acl(v, &b->acl)))
        return err;
    if ((v = cb_option_line_get(line, "max_object")) &&
        ((err = cb_parse_size(v, &b->max_object)) || b->max_object < 1))
        return apr_psprintf(p, "max_object=%s: %s", v, err ? err : "must be at least 1 byte");
    if ((v = cb_option_line_get(line, "quota")) &&
        ((err = cb_parse_size(v, &b->quota)) || b->quota < 0))
        return apr_psprintf(p, "quota=%s: %s", v, err ? err : "must not be negative");
    return NULL;
}

/* One `bucket` line; NULL or what is wrong, naming the fix. */
static const char *parse_bucket(apr_pool_t *p, const char *text, st_bucket *b)
{
    cb_option_line line;
    int is_default;
    const char *err, *v;
    apr_finfo_t fi;
    memset(b, 0, sizeof(*b));
    text = without_default_flag(p, text, &is_default);
    if ((err = cb_option_line_parse(p, text, 1, 3, &line)))
        return err;
    b->is_default = is_default;
    b->name = line.words[0];
    for (const char *c = b->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return apr_psprintf(p, "bucket name '%s' may only hold letters, digits, '-' and '_'",
                                b->name);
    if (strlen(b->name) > 63)
        return "a bucket name is at most 63 characters";
    v = cb_option_line_get(&line, "backend");
    if (!v)
        return "backend= is missing: add backend=local dir=/absolute/path (or backend=s3|cos)";
    if (strcmp(v, "s3") == 0 || strcmp(v, "cos") == 0) {
        /* remote.c checks the backend's own settings and flag words */
        if ((err = st_remote_parse(p, &line, (st_remote **)&b->remote)))
            return err;
        return common_settings(p, &line, b);
    }
    if (strcmp(v, "local") != 0)
        return apr_psprintf(p, "backend=%s is unknown: use local, s3 or cos", v);
    if (line.word_count >= 2)
        return apr_psprintf(p, "unexpected word '%s' (did you mean 'default'?)", line.words[1]);
    for (int i = 0; i < line.setting_count; i++) {
        const char *k = line.keys[i];
        if (strcmp(k, "backend") && strcmp(k, "dir") && strcmp(k, "acl") &&
            strcmp(k, "max_object") && strcmp(k, "quota"))
            return apr_psprintf(p, "unknown setting %s= (use backend=, dir=, acl=, max_object= "
                                   "or quota=)", k);
    }
    v = cb_option_line_get(&line, "dir");
    if (!v || v[0] != '/')
        return "backend=local needs dir=/absolute/path (a directory httpd's User can write)";
    if (apr_stat(&fi, v, APR_FINFO_TYPE, p) != APR_SUCCESS || fi.filetype != APR_DIR)
        return apr_psprintf(p, "dir=%s is not a directory: create it, writable by httpd's User",
                            v);
    b->dir = apr_pstrdup(p, v);
    while (strlen(b->dir) > 1 && b->dir[strlen(b->dir) - 1] == '/')
        ((char *)b->dir)[strlen(b->dir) - 1] = '\0';
    return common_settings(p, &line, b);
}

static int load_buckets(cb_plugin_ctx *ctx, st_state *st)
{
    const apr_array_header_t *lines = cb_opt_list(cb_ctx_options(ctx), "bucket");
    apr_pool_t *p = cb_ctx_pool(ctx);
    int ok = 1, defaults = 0;
    cb_http_client *http = NULL;   /* one for the remote buckets */
    for (int i = 0; i < lines->nelts; i++) {
        const cb_option_item *item = &APR_ARRAY_IDX(lines, i, cb_option_item);
        st_bucket *b = apr_palloc(p, sizeof(*b));
        const char *err = parse_bucket(p, item->text, b);
        if (!err && apr_hash_get(st->buckets, b->name, APR_HASH_KEY_STRING))
            err = apr_psprintf(p, "bucket %s is configured twice", b->name);
        if (err) {
            cb_ctx_error(ctx, "bucket at %s:%d: %s", item->file ? item->file : "?", item->line,
                         err);
            ok = 0;
            continue;
        }
        if (!b->max_object)
            b->max_object = st->max_object;
        if (b->remote) {
            if (!http)
                http = cb_http_client_create(p, 8);
            ((st_remote *)b->remote)->http = http;
        }
        if (b->is_default) {
            defaults++;
            st->default_bucket = b;
        }
        apr_hash_set(st->buckets, b->name, APR_HASH_KEY_STRING, b);
    }
    if (!ok)
        return 0;
    if (lines->nelts == 0) {
        cb_ctx_error(ctx, "storage has no bucket: add `bucket NAME backend=local dir=/path default`");
        return 0;
    }
    if (defaults > 1) {
        cb_ctx_error(ctx, "storage: %d buckets are marked default; keep `default` on one", defaults);
        return 0;
    }
    if (!defaults) {
        if (lines->nelts > 1) {
            cb_ctx_error(ctx, "storage: no bucket is the default; add `default` to one bucket line");
            return 0;
        }
        st->default_bucket = apr_hash_this_val(apr_hash_first(p, st->buckets));
    }
    return 1;
}

static cb_status storage_create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    apr_pool_t *p = cb_ctx_pool(ctx);
    st_state *st = apr_pcalloc(p, sizeof(*st));
    int ok = 1;
    st->env = cb_ctx_env(ctx);
    st->buckets = apr_hash_make(p);
    st->max_object = cb_opt_size(o, "max_object");
    st->quota = cb_opt_size(o, "env_quota");
    st->upload_expires_s = cb_opt_duration_ms(o, "upload_expires") / 1000;
    st->download_expires_s = cb_opt_duration_ms(o, "download_expires") / 1000;
    st->public_url = cb_opt_string(o, "public_url");
    if (st->public_url)
        st->public_url = apr_pstrndup(p, st->public_url, strcspn(st->public_url, "?#"));
    while (st->public_url && *st->public_url &&
           st->public_url[strlen(st->public_url) - 1] == '/')
        st->public_url = apr_pstrndup(p, st->public_url, strlen(st->public_url) - 1);
    st->signing_key = cb_opt_secret(o, "signing_key");
    st->signing_key_len = st->signing_key ? strlen(st->signing_key) : 0;
    if (st->signing_key_len < ST_SIGNING_KEY_MIN) {
        cb_ctx_error(ctx, "storage: signing_key has %d bytes; it needs at least %d random bytes "
                          "(e.g. `openssl rand -hex 32 > /etc/cloudbase/storage.key` and "
                          "signing_key file:/etc/cloudbase/storage.key)",
                     (int)st->signing_key_len, ST_SIGNING_KEY_MIN);
        ok = 0;
    }
    for (int i = 0; i < ST_ROUTE_COUNT; i++) {
        const char *err = cb_parse_auth_level(cb_opt_string(o, route_auth_options[i]), 0,
                                              &st->auth[i]);
        if (err) {
            cb_ctx_error(ctx, "%s: %s", route_auth_options[i], err);
            ok = 0;
        }
        st->max_batch[i] = cb_opt_int(o, route_batch_options[i]);
    }
    ok &= load_buckets(ctx, st);
    st->type_cache = st_type_cache_create(p);
    if (ok)
        ok &= st_s3_setup(ctx, st);
    /* fails configtest, naming CloudBaseDatabase, when there is none */
    cb_ctx_db_migrations(ctx, st_migrations, -1);
    if (!ok || !cb_ctx_db(ctx))
        return CB_ERROR;
    for (int i = 0; i < ST_ROUTE_COUNT; i++) {
        cb_route_def route = {.method = "POST", .pattern = route_paths[i],
                              .handler = route_handlers[i], .auth = st->auth[i],
                              .dialect = CB_DIALECT_CLOUDBASE};
        cb_ctx_add_route(ctx, &route);
    }
    *state = st;
    return CB_OK;
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "storage",
    .version = "1.0.0",
    .description = "CloudBase storage routes; local, S3 and COS buckets",
    .options = options,
    .routes = file_routes,
    .create = storage_create,
};
