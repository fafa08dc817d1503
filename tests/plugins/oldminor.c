/*
 * oldminor.c: a test-only plugin built against ABI 2.0, the oldest minor of
 * this major: its descriptor is the 2.0 layout, written out here, and ends
 * where 2.0 ended. Bytes after it in the object are non-zero, so a loader
 * that read past descriptor_size would see garbage hooks. The loader must
 * accept it and give every member added after 2.0 the value zero.
 */
#include <stddef.h>

#include "cloudbase/cloudbase.h"

/* cb_plugin as ABI 2.0 defined it. */
typedef struct plugin_abi_2_0 {
    int abi_major;
    int abi_minor;
    size_t descriptor_size;
    const char *name;
    const char *version;
    const char *description;
    const cb_option_def *options;
    const cb_route_def *routes;
    cb_status (*create)(cb_plugin_ctx *ctx, void **plugin_state);
    cb_status (*child_init)(void *plugin_state, apr_pool_t *child_pool);
    cb_status (*access_policy)(cb_req *req, void *plugin_state);
    cb_status (*identify)(cb_req *req, void *plugin_state, cb_identity *out);
    void (*after_response)(cb_req *req, void *plugin_state, int status);
} plugin_abi_2_0;
_Static_assert(CB_PLUGIN_ABI_MAJOR == 2, "oldminor describes ABI 2.0: write one for the new major");
_Static_assert(offsetof(plugin_abi_2_0, after_response) == offsetof(cb_plugin, after_response),
               "cb_plugin must keep the 2.0 layout as its prefix");

/* The descriptor followed by garbage where later members would be. */
const struct {
    plugin_abi_2_0 descriptor;
    unsigned char after[256];
} cloudbase_plugin = {
    .descriptor = {
        .abi_major = 2,
        .abi_minor = 0,
        .descriptor_size = sizeof(plugin_abi_2_0),
        .name = "oldminor",
        .version = "2.0",
        .description = "built against plugin ABI 2.0",
    },
    .after = {[0 ... 255] = 0xa5},
};
