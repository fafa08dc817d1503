/*
 * response.c: metering after the response (the cb_response_record that
 * after_response hooks read) and each plugin's per-request data slot.
 */
#include <apr_tables.h>

#include "cb_core.h"

const cb_response_record *cb_req_response_record(const cb_req *req)
{
    return &req->record;
}

void cb_req_finish_record(cb_req *req)
{
    cb_response_record *rec = &req->record;
    apr_time_t now = apr_time_now();
    rec->status = req->status;
    rec->method = req->method;
    rec->route_pattern = req->match.route ? req->match.route->def.pattern : NULL;
    rec->duration = req->started && now > req->started ? now - req->started : 0;
    rec->identity_kind = req->identity.kind;
    rec->uid = req->identity.kind != CB_IDENTITY_NONE ? req->identity.uid : NULL;
    rec->proxied = req->proxy_url != NULL && !req->error_status && !req->preflight;
    rec->upstream_time = -1;
    if (rec->proxied && req->upstream_sent && req->upstream_first_byte >= req->upstream_sent)
        rec->upstream_time = req->upstream_first_byte - req->upstream_sent;
}

/* A few plugins per request at most: a short list beats a hash. */
typedef struct plugin_slot {
    const cb_instance *owner;
    void *data;
} plugin_slot;

static plugin_slot *find_slot(const cb_req *req)
{
    for (int i = 0; req->plugin_data && i < req->plugin_data->nelts; i++) {
        plugin_slot *s = &APR_ARRAY_IDX(req->plugin_data, i, plugin_slot);
        if (s->owner == req->active)
            return s;
    }
    return NULL;
}

void cb_req_plugin_data_set(cb_req *req, void *data)
{
    plugin_slot *s;
    if (!req->active)
        return;
    if (!(s = find_slot(req))) {
        if (!req->plugin_data)
            req->plugin_data = apr_array_make(req->pool, 2, sizeof(plugin_slot));
        s = apr_array_push(req->plugin_data);
        s->owner = req->active;
    }
    s->data = data;
}

void *cb_req_plugin_data_get(const cb_req *req)
{
    plugin_slot *s = req->active ? find_slot(req) : NULL;
    return s ? s->data : NULL;
}
