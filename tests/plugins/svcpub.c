/*
 * svcpub.c: a test-only plugin that publishes the test.greeter service
 * (svc_greeter.h) at the version its option names, for the services tests.
 */
#include <apr_strings.h>

#include "cloudbase/cloudbase.h"
#include "svc_greeter.h"

static const cb_option_def options[] = {
    {.name = "version", .type = CB_OPT_INT, .default_value = "2",
     .help = "the version the greeter is published at"},
    {0}
};

static int greet_calls;

static const char *greet(apr_pool_t *p, const char *name)
{
    __atomic_add_fetch(&greet_calls, 1, __ATOMIC_RELAXED);
    return apr_pstrcat(p, "hello, ", name, " (from svcpub)", NULL);
}

static int calls(void)
{
    return __atomic_load_n(&greet_calls, __ATOMIC_RELAXED);
}

static const svc_greeter greeter = {greet, calls};

static cb_status create(cb_plugin_ctx *ctx, void **state)
{
    *state = NULL;
    return cb_service_register(ctx, SVC_GREETER_NAME,
                               (int)cb_opt_int(cb_ctx_options(ctx), "version"), &greeter);
}

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_HEADER,
    .name = "svcpub",
    .version = "1.0.0",
    .description = "test-only plugin: publishes the test.greeter service",
    .options = options,
    .create = create,
};
