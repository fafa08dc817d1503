/*
 * badabi.c: a test-only plugin built for a future ABI version; the loader
 * must refuse it with a clear message.
 */
#include "cloudbase/cloudbase.h"

const cb_plugin cloudbase_plugin = {
    .abi_version = CB_PLUGIN_ABI_VERSION + 998,
    .name = "badabi",
    .version = "0",
    .description = "wrong ABI on purpose",
};
