/*
 * badabi.c: a test-only plugin built for a future ABI version; the loader
 * must refuse it with a clear message.
 */
#include "cloudbase/cloudbase.h"

const cb_plugin cloudbase_plugin = {
    CB_PLUGIN_ABI_VERSION + 998, "badabi", "0", "wrong ABI on purpose",
    NULL, NULL, NULL, NULL, NULL, NULL, NULL
};
