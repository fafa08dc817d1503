/*
 * oldminor.c: a test-only plugin built against ABI 3.0, the oldest minor of
 * this major: its descriptor is the 3.0 layout, written out here, and ends
 * where 3.0 ended. Bytes after it in the object are non-zero, so a loader
 * that read past descriptor_size would see garbage hooks. The loader must
 * accept it and give every member added after 3.0 the value zero. (3.0 is
 * also the newest minor today; once 3.1 appends a member, this plugin is
 * the older minor that must still load.)
 */
#include <stddef.h>

#include "cloudbase/cloudbase.h"

/* cb_plugin as ABI 3.0 defined it. */
typedef struct plugin_abi_3_0 {
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
    void (*after_response)(cb_req *req, void *plugin_state, const cb_response_record *record);
    cb_status (*resolve)(cb_plugin_ctx *ctx, void *plugin_state);
} plugin_abi_3_0;
_Static_assert(CB_PLUGIN_ABI_MAJOR == 3, "oldminor describes ABI 3.0: write one for the new major");
_Static_assert(offsetof(plugin_abi_3_0, resolve) == offsetof(cb_plugin, resolve),
               "cb_plugin must keep the 3.0 layout as its prefix");

/* The descriptor followed by garbage where later members would be. */
const struct {
    plugin_abi_3_0 descriptor;
    unsigned char after[256];
} cloudbase_plugin = {
    .descriptor = {
        .abi_major = 3,
        .abi_minor = 0,
        .descriptor_size = sizeof(plugin_abi_3_0),
        .name = "oldminor",
        .version = "3.0",
        .description = "built against plugin ABI 3.0",
    },
    .after = {[0 ... 255] = 0xa5},
};
