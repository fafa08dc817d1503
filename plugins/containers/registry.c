/*
 * registry.c: the container registry in the database service (table
 * cb_containers, one row per container of an environment: owner, agent
 * type, the engine's id, the settings it was created with; written with
 * status `creating` before the engine creates the container, so the
 * reaper never takes a container being created for an orphan), and the
 * query for expired ones. Bound parameters only.
 */
#include <string.h>

#include <apr_strings.h>

#include "containers.h"

const cb_db_migration ct_migrations[] = {
    {.number = 1,
     .sql = "CREATE TABLE cb_containers ("
            "env VARCHAR(64) NOT NULL, id VARCHAR(32) NOT NULL, owner VARCHAR(160) NOT NULL, "
            "agent_type VARCHAR(64) NOT NULL, engine_id VARCHAR(128) NOT NULL, "
            "status VARCHAR(32) NOT NULL, model VARCHAR(128), reasoning_effort VARCHAR(32), "
            "workspace VARCHAR(512) NOT NULL, region VARCHAR(64), persist INTEGER NOT NULL, "
            "timeout_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, PRIMARY KEY (env, id))"},
    {.number = 2, .sql = "CREATE INDEX cb_containers_owner ON cb_containers (env, owner)"},
    {.number = 3, .sql = "ALTER TABLE cb_containers ADD COLUMN mcp_json TEXT"},
    {0, NULL}
};

static const char *i64(apr_pool_t *p, int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

#define COLUMNS "id, owner, agent_type, engine_id, status, model, reasoning_effort, " \
                "workspace, region, persist, timeout_ms, created_ms, mcp_json"


apr_status_t ct_registry_insert(cb_db *db, apr_pool_t *p, const char *env, const ct_record *r)
{
    const char *args[] = {env, r->id, r->owner, r->agent_type, r->engine_id, r->status,
                          r->model, r->reasoning_effort, r->workspace, r->region,
                          r->persist ? "1" : "0", i64(p, r->timeout_ms), i64(p, r->created_ms),
                          r->mcp_json};
    return cb_db_exec(db, p, "INSERT INTO cb_containers (env, " COLUMNS ") "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 14, args, NULL);
}

static void read_row(const cb_db_result *res, int row, ct_record *out)
{
    int64_t v = 0;
    memset(out, 0, sizeof(*out));
    out->id = cb_db_text(res, row, 0);
    out->owner = cb_db_text(res, row, 1);
    out->agent_type = cb_db_text(res, row, 2);
    out->engine_id = cb_db_text(res, row, 3);
    out->status = cb_db_text(res, row, 4);
    out->model = cb_db_text(res, row, 5);
    out->reasoning_effort = cb_db_text(res, row, 6);
    out->workspace = cb_db_text(res, row, 7);
    out->region = cb_db_text(res, row, 8);
    out->persist = cb_db_int64(res, row, 9, &v) == APR_SUCCESS && v != 0;
    if (cb_db_int64(res, row, 10, &out->timeout_ms) != APR_SUCCESS)
        out->timeout_ms = 0;
    if (cb_db_int64(res, row, 11, &out->created_ms) != APR_SUCCESS)
        out->created_ms = 0;
    out->mcp_json = cb_db_text(res, row, 12);
}

apr_status_t ct_registry_get(cb_db *db, apr_pool_t *p, const char *env, const char *id,
                             ct_record *out)
{
    const char *args[] = {env, id};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(db, p, "SELECT " COLUMNS " FROM cb_containers "
                                   "WHERE env = ? AND id = ?", 2, args, &res);
    if (rv != APR_SUCCESS)
        return rv;
    if (res->rows == 0)
        return APR_NOTFOUND;
    read_row(res, 0, out);
    return APR_SUCCESS;
}

apr_status_t ct_registry_list(cb_db *db, apr_pool_t *p, const char *env, const char *owner,
                              apr_array_header_t **out)
{
    const char *args[] = {env, owner};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(db, p, "SELECT " COLUMNS " FROM cb_containers "
                                   "WHERE env = ? AND owner = ? ORDER BY created_ms, id",
                                   2, args, &res);
    if (rv != APR_SUCCESS)
        return rv;
    *out = apr_array_make(p, res->rows ? res->rows : 1, sizeof(ct_record));
    for (int r = 0; r < res->rows; r++)
        read_row(res, r, apr_array_push(*out));
    return APR_SUCCESS;
}

apr_status_t ct_registry_update_settings(cb_db *db, apr_pool_t *p, const char *env,
                                         const ct_record *r)
{
    const char *args[] = {r->model, r->reasoning_effort, env, r->id};
    return cb_db_exec(db, p, "UPDATE cb_containers SET model = ?, reasoning_effort = ? "
                      "WHERE env = ? AND id = ?", 4, args, NULL);
}

apr_status_t ct_registry_set_engine(cb_db *db, apr_pool_t *p, const char *env, const char *id,
                                    const char *engine_id, const char *status)
{
    const char *args[] = {engine_id, status, env, id};
    return cb_db_exec(db, p, "UPDATE cb_containers SET engine_id = ?, status = ? "
                      "WHERE env = ? AND id = ?", 4, args, NULL);
}

apr_status_t ct_registry_expired(cb_db *db, apr_pool_t *p, const char *env, int64_t now_ms,
                                 apr_array_header_t **out)
{
    /* the bound value is text: compared with a number it must be cast
     * (SQLite orders any text after every number) */
    const char *args[] = {env, i64(p, now_ms)};
    cb_db_result *res;
    apr_status_t rv = cb_db_select(db, p, "SELECT " COLUMNS " FROM cb_containers "
                                   "WHERE env = ? AND persist = 0 AND status <> 'creating' "
                                   "AND created_ms + timeout_ms < CAST(? AS BIGINT) "
                                   "ORDER BY created_ms LIMIT 100",
                                   2, args, &res);
    if (rv != APR_SUCCESS)
        return rv;
    *out = apr_array_make(p, res->rows ? res->rows : 1, sizeof(ct_record));
    for (int r = 0; r < res->rows; r++)
        read_row(res, r, apr_array_push(*out));
    return APR_SUCCESS;
}

apr_status_t ct_registry_set_mcp(cb_db *db, apr_pool_t *p, const char *env, const char *id,
                                 const char *mcp_json)
{
    const char *args[] = {mcp_json, env, id};
    return cb_db_exec(db, p, "UPDATE cb_containers SET mcp_json = ? WHERE env = ? AND id = ?", 3,
                      args, NULL);
}

apr_status_t ct_registry_delete(cb_db *db, apr_pool_t *p, const char *env, const char *id)
{
    const char *args[] = {env, id};
    return cb_db_exec(db, p, "DELETE FROM cb_containers WHERE env = ? AND id = ?", 2, args, NULL);
}
