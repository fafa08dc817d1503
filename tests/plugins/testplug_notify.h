/*
 * testplug_notify.h: the test plugin's trigger for the core notifier
 * (test-only; production plugins call cb_notify from their own logic).
 */
#ifndef TESTPLUG_NOTIFY_H
#define TESTPLUG_NOTIFY_H

#include "cloudbase/cloudbase.h"
#include "cloudbase/notify.h"

/* A notifier from the plugin's notify, notify_group_window,
 * notify_visibility and notify_cap options; NULL after a config error. */
cb_notifier *testplug_notify_create(cb_plugin_ctx *ctx);
/* POST /v1/test/notify {"kind":"down|up|info","source","url","detail",
 * "ping_ms","key","title"}: answers {"outcome":"queued|duplicate|capped"},
 * 503 when Redis is down. */
cb_status testplug_notify_route(cb_req *req, cb_notifier *n);

#endif
