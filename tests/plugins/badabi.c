/*
 * badabi.c: a test-only plugin built for another major plugin ABI; the
 * loader must refuse it, naming both versions and the fix.
 */
#include "cloudbase/cloudbase.h"

const cb_plugin cloudbase_plugin = {
    /* The header written out, with a version that does not fit on purpose. */
    .abi_major = CB_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = CB_PLUGIN_ABI_MINOR,
    .descriptor_size = sizeof(cb_plugin),
    .name = "badabi",
    .version = "0",
    .description = "another ABI major on purpose",
};
