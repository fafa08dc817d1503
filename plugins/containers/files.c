/*
 * files.c: the files of a caller's container, through the engine's
 * archive API and confined to /workspace (tar.c checks the paths): GET
 * files?path= lists a directory (or one file), GET files/download?path=
 * sends a file's bytes, PUT files?path= writes the request body as that
 * file (its directory must exist), DELETE files?path= removes it (an exec
 * of rm, the archive API has no delete). A missing path is 404.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "containers.h"

#define MAX_UPLOAD (4 * 1024 * 1024)
#define MISSING_EXIT 44

/* The container and the confined ?path=: CB_OK, or the answer was sent. */
static cb_status target(cb_req *req, const ct_plugin *ct, ct_record *r, const char **path)
{
    const char *err;
    cb_status st = ct_own_engine_container(req, ct, r, "files");
    if (st != CB_OK)
        return st;
    if ((err = ct_workspace_path(cb_req_pool(req), cb_req_query_param(req, "path"), path)))
        return cb_req_send_error(req, 400, "INVALID_PARAM", err);
    return CB_OK;
}

static cb_status not_found(cb_req *req, const char *path)
{
    return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND",
                             apr_pstrcat(cb_req_pool(req), path, " does not exist", NULL));
}

/* The archive of path, or the answer was sent (404, engine errors). */
static cb_status fetch_archive(cb_req *req, const ct_plugin *ct, const ct_record *r,
                               const char *path, ct_engine_reply *reply)
{
    apr_pool_t *p = cb_req_pool(req);
    ct_engine_call(&ct->engine, p, "GET",
                   apr_pstrcat(p, "/containers/", r->engine_id, "/archive?path=",
                               cb_percent_encode(p, path, strlen(path), CB_PERCENT_KEEP_SLASH),
                               NULL),
                   NULL, reply);
    if (reply->status == 404)
        return not_found(req, path);
    if (reply->status != 200)
        return ct_send_engine_error(req, reply, "reading the file");
    return CB_OK;
}

typedef struct listing {
    apr_pool_t *pool;
    cb_json *files;
    const char *top;      /* the archive's first entry: the path itself */
} listing;

static int list_entry(void *baton, const ct_tar_entry *e)
{
    listing *l = baton;
    size_t n = strlen(e->name);
    const char *rest;
    cb_json *f;
    char *name = apr_pstrdup(l->pool, e->name);
    if (n && name[n - 1] == '/')
        name[--n] = '\0';
    if (!l->top) {
        l->top = name;
        if (e->type == CT_TAR_DIRECTORY)
            return 0;
        rest = name; /* the path is a file: list just it */
    } else {
        if (strncmp(name, l->top, strlen(l->top)) != 0 || name[strlen(l->top)] != '/')
            return 0;
        rest = name + strlen(l->top) + 1;
        if (!*rest || strchr(rest, '/'))
            return 0; /* deeper than the directory's own entries */
    }
    f = cb_json_new_object(l->pool);
    cb_json_set_string(f, "name", rest);
    cb_json_set_string(f, "type", e->type == CT_TAR_DIRECTORY ? "directory"
                                  : e->type == CT_TAR_FILE    ? "file" : "other");
    cb_json_set_int(f, "size", e->type == CT_TAR_FILE ? e->size : 0);
    cb_json_append(l->files, f);
    return 0;
}

cb_status ct_api_files_list(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    const char *path, *err;
    ct_engine_reply reply;
    listing l = {.pool = p};
    cb_json *out;
    cb_status st = target(req, state, &r, &path);
    if (st != CB_OK || (st = fetch_archive(req, state, &r, path, &reply)) != CB_OK)
        return st;
    l.files = cb_json_new_array(p);
    if ((err = ct_tar_walk(p, reply.body, reply.body_len, list_entry, &l))) {
        reply.status = 0;
        reply.error = err;
        return ct_send_engine_error(req, &reply, "listing the files");
    }
    out = cb_json_new_object(p);
    cb_json_set_string(out, "path", path);
    cb_json_set(out, "files", l.files);
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}

static int first_entry(void *baton, const ct_tar_entry *e)
{
    *(ct_tar_entry *)baton = *e;
    return 1;
}

cb_status ct_api_files_download(cb_req *req, void *state)
{
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    const char *path, *err;
    ct_engine_reply reply;
    ct_tar_entry e = {0};
    cb_status st = target(req, state, &r, &path);
    if (st != CB_OK || (st = fetch_archive(req, state, &r, path, &reply)) != CB_OK)
        return st;
    if ((err = ct_tar_walk(p, reply.body, reply.body_len, first_entry, &e)) || !e.name) {
        reply.status = 0;
        reply.error = err ? err : "an empty archive";
        return ct_send_engine_error(req, &reply, "reading the file");
    }
    if (e.type != CT_TAR_FILE)
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 apr_pstrcat(p, path, " is not a file", NULL));
    cb_req_set_status(req, 200);
    cb_req_set_header(req, "Content-Type", "application/octet-stream");
    return cb_req_write(req, e.data, (size_t)e.size);
}

cb_status ct_api_files_put(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    const char *path, *data, *slash, *archive;
    size_t len, archive_len;
    ct_engine_reply reply;
    cb_json *out;
    cb_status st = target(req, state, &r, &path);
    if (st != CB_OK)
        return st;
    slash = strrchr(path, '/');
    if (strcmp(path, "/workspace") == 0 || strlen(slash + 1) > 99)
        return cb_req_send_error(req, 400, "INVALID_PARAM",
                                 "path must name a file under /workspace (a name of at most "
                                 "99 bytes)");
    if ((st = cb_req_read_body(req, MAX_UPLOAD, &data, &len)) != CB_OK)
        return st;
    archive = ct_tar_one_file(p, slash + 1, data, len, apr_time_sec(apr_time_now()),
                              &archive_len);
    {
        const char *dir = apr_pstrndup(p, path, (size_t)(slash - path));
        ct_engine_send(&ct->engine, p, "PUT",
                       apr_pstrcat(p, "/containers/", r.engine_id, "/archive?path=",
                                   cb_percent_encode(p, dir, strlen(dir), CB_PERCENT_KEEP_SLASH),
                                   NULL),
                       "application/x-tar", archive, archive_len, &reply);
        if (reply.status == 404)
            return not_found(req, dir);
    }
    if (reply.status != 200)
        return ct_send_engine_error(req, &reply, "writing the file");
    out = cb_json_new_object(p);
    cb_json_set_string(out, "path", path);
    cb_json_set_int(out, "size", (int64_t)len);
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}

cb_status ct_api_files_delete(cb_req *req, void *state)
{
    ct_plugin *ct = state;
    apr_pool_t *p = cb_req_pool(req);
    ct_record r;
    const char *path;
    apr_array_header_t *argv = apr_array_make(p, 5, sizeof(const char *));
    ct_engine_reply reply;
    int64_t exit_code;
    cb_json *out;
    cb_status st = target(req, state, &r, &path);
    if (st != CB_OK)
        return st;
    if (strcmp(path, "/workspace") == 0)
        return cb_req_send_error(req, 400, "INVALID_PARAM", "the workspace itself stays");
    APR_ARRAY_PUSH(argv, const char *) = "/bin/sh";
    APR_ARRAY_PUSH(argv, const char *) = "-c";
    APR_ARRAY_PUSH(argv, const char *) = "test -e \"$1\" || test -L \"$1\" || exit 44; "
                                         "rm -rf -- \"$1\"";
    APR_ARRAY_PUSH(argv, const char *) = "sh";
    APR_ARRAY_PUSH(argv, const char *) = path;
    ct_engine_exec_run(&ct->engine, p, r.engine_id, argv, &exit_code, &reply);
    if (reply.status != 200)
        return ct_send_engine_error(req, &reply, "deleting the file");
    if (exit_code == MISSING_EXIT)
        return not_found(req, path);
    if (exit_code != 0)
        return cb_req_send_error(req, 409, "INVALID_REQUEST",
                                 apr_pstrcat(p, path, " could not be deleted", NULL));
    out = cb_json_new_object(p);
    cb_json_set_string(out, "path", path);
    cb_json_set_bool(out, "deleted", 1);
    return cb_req_send_json(req, 200, cb_json_dump(p, out));
}
