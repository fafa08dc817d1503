/*
 * newminor.c: a test-only plugin that claims a newer minor plugin ABI than
 * the core provides (it could use hooks the core does not know); the loader
 * must refuse it, naming both versions and the fix.
 */
#include "cloudbase/cloudbase.h"

const cb_plugin cloudbase_plugin = {
    /* The header written out, with a version that does not fit on purpose. */
    .abi_major = CB_PLUGIN_ABI_MAJOR,
    .abi_minor = CB_PLUGIN_ABI_MINOR + 1,
    .descriptor_size = sizeof(cb_plugin),
    .name = "newminor",
    .version = "0",
    .description = "a newer ABI minor on purpose",
};
