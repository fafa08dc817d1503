/*
 * status_script.c: the status page's one script ({status_page}/status.js,
 * same origin, so the page's CSP can say script-src 'self' with no inline
 * script). Every data-refresh seconds (the body's attribute, from
 * status_refresh) it asks for the page again (a conditional request: an
 * unchanged page is a 304 from the cache) and, when it changed, replaces
 * the contents of <main> in place: banner, incidents, bars, charts and
 * footer, without a reload (the banner is a role="status" region, so screen
 * readers hear the change). Without JavaScript the page reloads itself
 * every minute (<noscript><meta http-equiv="refresh">).
 */
#include "uptime.h"

static const char status_js[] =
    "/* mod_cloudbase uptime status page: refreshes the page in place. */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var body = document.body;\n"
    "  var every = Math.max(1, parseInt(body.getAttribute('data-refresh'), 10) || 30) * 1000;\n"
    "  var last = null, busy = false, timer = 0;\n"
    "  function apply(html) {\n"
    "    var next = new DOMParser().parseFromString(html, 'text/html').querySelector('main');\n"
    "    var main = document.querySelector('main');\n"
    "    if (!next || !main) return;\n"
    "    main.replaceChildren.apply(main, Array.prototype.slice.call(next.childNodes));\n"
    "    body.setAttribute('data-refreshed', new Date().toISOString());\n"
    "  }\n"
    "  function refresh() {\n"
    "    if (busy || document.hidden) return schedule();\n"
    "    busy = true;\n"
    "    fetch(location.pathname, { cache: 'no-cache', credentials: 'same-origin',\n"
    "                               headers: { Accept: 'text/html' } })\n"
    "      .then(function (r) { return r.ok ? r.text() : null; })\n"
    "      .then(function (text) {\n"
    "        if (text !== null && text !== last) { last = text; apply(text); }\n"
    "      })\n"
    "      .catch(function () { /* keep the page as it is; try again later */ })\n"
    "      .then(function () { busy = false; schedule(); });\n"
    "  }\n"
    "  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, every); }\n"
    "  document.addEventListener('visibilitychange', function () {\n"
    "    if (!document.hidden && !busy) refresh();\n"
    "  });\n"
    "  schedule();\n"
    "})();\n";

cb_status up_status_script(cb_req *req, void *plugin_state)
{
    (void)plugin_state;
    cb_req_set_header(req, "Content-Type", "text/javascript; charset=utf-8");
    cb_req_set_header(req, "X-Content-Type-Options", "nosniff");
    cb_req_set_header(req, "Cache-Control", "public, max-age=3600");
    cb_req_set_status(req, 200);
    cb_req_write(req, status_js, sizeof(status_js) - 1);
    return CB_DONE;
}
