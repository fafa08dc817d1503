/*
 * svcuse.c: a test-only plugin that uses the test.greeter service
 * (svc_greeter.h) published by svcpub: it declares it required (or not),
 * looks it up in resolve() and calls it from GET /v1/svcuse/hello/{name}.
 */
#include <apr_strings.h>

#include "cloudbase/cloudbase.h"
#include "svc_greeter.h"

static const cb_option_def options[] = {
    {.name = "min_version", .type = CB_OPT_INT, .default_value = "2",
     .help = "the oldest greeter version this plugin works with"},
    {.name = "required", .type = CB_OPT_BOOL, .default_value = "on",
     .help = "fail configtest without a greeter"},
    {.name = "lookup_in_create", .type = CB_OPT_BOOL, .default_value = "off",
     .help = "look the service up too early (a mistake)"},
    {0}
};

typedef struct svcuse {
    int min_version;
    const svc_greeter *greeter; /* NULL when optional and absent */
} svcuse;

static cb_status hello(cb_req *req, void *state)
{
    svcuse *u = state;
    if (!u->greeter)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "no greeter is configured");
    return cb_req_send_json(req, 200,
                            apr_psprintf(cb_req_pool(req), "{\"text\":\"%s\",\"calls\":%d}",
                                         u->greeter->greet(cb_req_pool(req),
                                                           cb_req_param(req, "name")),
                                         u->greeter->calls()));
}

static cb_status create(cb_plugin_ctx *ctx, void **state)
{
    const cb_options *o = cb_ctx_options(ctx);
    svcuse *u = apr_pcalloc(cb_ctx_pool(ctx), sizeof(*u));
    u->min_version = (int)cb_opt_int(o, "min_version");
    if (cb_opt_bool(o, "required"))
        cb_ctx_require_service(ctx, SVC_GREETER_NAME, u->min_version);
    if (cb_opt_bool(o, "lookup_in_create") &&
        !cb_service_lookup(ctx, SVC_GREETER_NAME, u->min_version))
        return CB_ERROR;
    *state = u;
    return CB_OK;
}

static cb_status resolve(cb_plugin_ctx *ctx, void *state)
{
    svcuse *u = state;
    u->greeter = cb_service_lookup(ctx, SVC_GREETER_NAME, u->min_version);
    return CB_OK;
}

static const cb_route_def routes[] = {
    {.method = "GET", .pattern = "/v1/svcuse/hello/{name}", .handler = hello,
     .auth = CB_AUTH_NONE, .dialect = CB_DIALECT_CLOUDBASE},
    {0}
};

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "svcuse",
    .version = "1.0.0",
    .description = "test-only plugin: uses the test.greeter service",
    .options = options,
    .routes = routes,
    .create = create,
    .resolve = resolve,
};
