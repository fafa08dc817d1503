/*
 * reaper.c: the containers plugin's background task. Every reap interval
 * it removes the non-persistent containers whose timeout has passed (from
 * the engine, then from the registry; a static agent type's only from the
 * registry). On its first run in a process (at
 * start-up) it also reaps orphans: containers the engine holds with this
 * environment's label but no registry row. A row is written before its
 * container is created (status `creating`), so a container being created
 * is never taken for an orphan. Each pass also removes /invoke/stdout's
 * idle thread workspaces (workspace_reaper.c).
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/log.h"
#include "containers.h"

static void remove_expired(ct_plugin *ct, apr_pool_t *p)
{
    apr_array_header_t *rows;
    int64_t now = apr_time_as_msec(apr_time_now());
    if (ct_registry_expired(ct->db, p, ct->env, now, &rows) != APR_SUCCESS) {
        cb_log(CB_LOG_WARNING, "containers: expired containers not read: %s",
               cb_db_last_error(ct->db));
        return;
    }
    for (int i = 0; i < rows->nelts; i++) {
        const ct_record *r = &APR_ARRAY_IDX(rows, i, ct_record);
        ct_engine_reply reply;
        /* a static container is not ours to remove: its row only */
        if (r->engine_id && *r->engine_id && !ct_static_type(ct, r)) {
            ct_engine_remove(&ct->engine, p, r->engine_id, &reply);
            if (reply.status != 204 && reply.status != 200 && reply.status != 404) {
                cb_log(CB_LOG_WARNING, "containers: expired container %s not removed: %ld (%s)",
                       r->id, reply.status, reply.error ? reply.error : "");
                continue;
            }
        }
        ct_live_removed(ct, p, r->id);
        if (ct_registry_delete(ct->db, p, ct->env, r->id) == APR_SUCCESS)
            cb_log(CB_LOG_INFO, "containers: container %s of %s removed after its timeout",
                   r->id, r->owner);
    }
}

static void reap_orphans(ct_plugin *ct, apr_pool_t *p)
{
    ct_engine_reply reply;
    cb_json *list;
    ct_engine_list(&ct->engine, p, CT_LABEL_ENV, ct->env, &list, &reply);
    if (!list) {
        cb_log(CB_LOG_WARNING, "containers: orphans not looked for: engine %ld (%s)",
               reply.status, reply.error ? reply.error : "");
        return;
    }
    for (size_t i = 0; i < cb_json_array_size(list); i++) {
        cb_json *c = cb_json_array_get(list, i);
        cb_json *labels = cb_json_get(c, "Labels");
        const char *engine_id = cb_json_get_string(c, "Id");
        const char *id = labels ? cb_json_get_string(labels, CT_LABEL_ID) : NULL;
        ct_record r;
        apr_status_t rv;
        if (!engine_id)
            continue;
        rv = id ? ct_registry_get(ct->db, p, ct->env, id, &r) : APR_NOTFOUND;
        if (rv != APR_NOTFOUND)
            continue; /* registered, or the registry cannot tell: keep it */
        ct_engine_remove(&ct->engine, p, engine_id, &reply);
        cb_log(CB_LOG_NOTICE, "containers: orphan container %s (label %s) removed: engine %ld",
               engine_id, id ? id : "none", reply.status);
    }
    ct->orphans_reaped = 1;
}

void ct_reap(void *state, apr_pool_t *scratch)
{
    ct_plugin *ct = state;
    if (!ct->orphans_reaped)
        reap_orphans(ct, scratch);
    remove_expired(ct, scratch);
    ct_reap_workspaces(ct, scratch);
}
