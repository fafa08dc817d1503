/*
 * status_page.c: the public status page (status_page, default /status):
 * server-rendered HTML without outside assets, served with a strict
 * Content-Security-Policy (its one style sheet comes from
 * {status_page}/style.css, its one script, which refreshes it in place and
 * is not needed to read it, from {status_page}/status.js, both on the same
 * origin); the page, the JSON and the badges are served through the
 * per-process cache of status_cache.c. Per monitor: its state,
 * 90 daily and 24 hourly bars coloured by uptime (SVG, a <title> tooltip
 * each), and an inline SVG line chart of the hourly average latency; on
 * top the overall status and the current incidents. Dark mode follows
 * prefers-color-scheme; every chart has an accessible label. Also an SVG
 * badge per monitor ({status_page}/badge/{name}.svg).
 */
#include <string.h>

#include <apr_escape.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/values.h"
#include "uptime.h"

#define DAYS 90
#define HOURS 24

static const char page_css[] =
    ":root{--bg:#f6f7f9;--card:#fff;--text:#1d2329;--muted:#5f6b76;--line:#e3e6ea;"
    "--ok:#2fb344;--good:#8cc63f;--warn:#f59f00;--bad:#d63939;--none:#d5d9de;--maint:#4263eb;"
    "--chart:#4263eb}"
    "@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1a1f24;--text:#e8ecef;"
    "--muted:#9aa5ae;--line:#2b323a;--none:#39414a;--chart:#74a0ff}}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,sans-serif}"
    "main{max-width:960px;margin:0 auto;padding:24px 16px 48px}"
    "h1{font-size:1.6rem;margin:8px 0 16px}"
    ".banner{border-radius:10px;padding:16px 20px;font-weight:600;font-size:1.1rem;"
    "color:#fff;margin-bottom:20px}"
    ".banner.up{background:var(--ok)}.banner.degraded{background:var(--warn)}"
    ".banner.down{background:var(--bad)}.banner.pending{background:var(--muted)}"
    ".incidents{background:var(--card);border:1px solid var(--bad);border-radius:10px;"
    "padding:12px 20px;margin-bottom:20px}"
    ".incidents h2{font-size:1rem;margin:4px 0 8px;color:var(--bad)}"
    ".incidents ul{margin:0;padding-left:20px}"
    ".monitor{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:16px 20px;margin-bottom:16px}"
    ".head{display:flex;flex-wrap:wrap;align-items:center;gap:8px 12px;margin-bottom:10px}"
    ".head h2{font-size:1.05rem;margin:0;flex:1 1 auto;overflow-wrap:anywhere}"
    ".pill{border-radius:999px;padding:2px 10px;font-size:.8rem;font-weight:600;color:#fff}"
    ".pill.UP{background:var(--ok)}.pill.DOWN{background:var(--bad)}"
    ".pill.PENDING{background:var(--warn)}.pill.MAINTENANCE{background:var(--maint)}"
    ".pct{color:var(--muted);font-size:.9rem}"
    ".label{color:var(--muted);font-size:.8rem;margin:10px 0 4px}"
    "svg.bars{width:100%;height:34px;display:block}"
    ".chartbox{display:flex;gap:8px;align-items:stretch}"
    ".yaxis{display:flex;flex-direction:column;justify-content:space-between;color:var(--muted);"
    "font-size:.75rem;text-align:right;min-width:48px;line-height:1}"
    "svg.chart{flex:1 1 auto;min-width:0;height:110px;display:block;overflow:visible}"
    ".chart-axis{margin-left:56px}"
    ".axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.75rem}"
    "rect.ok{fill:var(--ok)}rect.good{fill:var(--good)}rect.warn{fill:var(--warn)}"
    "rect.bad{fill:var(--bad)}rect.nodata{fill:var(--none)}"
    "rect:hover{opacity:.7}"
    ".chart .grid{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}"
    ".chart .line{fill:none;stroke:var(--chart);stroke-width:2.5;stroke-linejoin:round;"
    "vector-effect:non-scaling-stroke}"
    ".chart .hit{fill:transparent}.chart .hit:hover{fill:var(--line);opacity:.5}"
    ".nodata-text{color:var(--muted);font-size:.85rem}"
    "footer{color:var(--muted);font-size:.8rem;text-align:center;margin-top:24px}"
    ".legend{display:flex;flex-wrap:wrap;gap:12px;color:var(--muted);font-size:.8rem;"
    "margin:-8px 0 16px}"
    ".legend svg{width:10px;height:10px;vertical-align:middle;margin-right:4px}";

const char *up_uptime_class(int64_t checks, int64_t ups)
{
    double pct;
    if (checks <= 0)
        return "nodata";
    pct = 100.0 * (double)ups / (double)checks;
    return pct >= 99.9 ? "ok" : pct >= 99.0 ? "good" : pct >= 95.0 ? "warn" : "bad";
}

static const char *esc(apr_pool_t *p, const char *s)
{
    return apr_pescape_entity(p, s ? s : "", 0);
}

static const char *bucket_time(apr_pool_t *p, int64_t start, int daily)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_from_sec(start));
    return daily ? apr_psprintf(p, "%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday)
                 : apr_psprintf(p, "%04d-%02d-%02d %02d:00 UTC", t.tm_year + 1900, t.tm_mon + 1,
                                t.tm_mday, t.tm_hour);
}

/* One bar per bucket, coloured by uptime, with a tooltip. */
static const char *bars_svg(apr_pool_t *p, const up_bucket *b, int count, int daily,
                            const char *aria)
{
    const char *out = apr_psprintf(p, "<svg class=\"bars\" viewBox=\"0 0 %d 34\" "
                                      "preserveAspectRatio=\"none\" role=\"img\" "
                                      "aria-label=\"%s\">",
                                   count * 8 - 2, aria);
    for (int i = 0; i < count; i++) {
        const char *tip = b[i].checks
            ? apr_psprintf(p, "%s: %.2f%% up, %" APR_INT64_T_FMT " checks%s",
                           bucket_time(p, b[i].start, daily),
                           100.0 * (double)b[i].ups / (double)b[i].checks, b[i].checks,
                           b[i].ups ? apr_psprintf(p, ", average %" APR_INT64_T_FMT " ms",
                                                   b[i].latency_sum / b[i].ups) : "")
            : apr_psprintf(p, "%s: no data", bucket_time(p, b[i].start, daily));
        out = apr_psprintf(p, "%s<rect x=\"%d\" y=\"0\" width=\"6\" height=\"34\" rx=\"1.5\" "
                              "class=\"%s\"><title>%s</title></rect>",
                           out, i * 8, up_uptime_class(b[i].checks, b[i].ups), tip);
    }
    return apr_pstrcat(p, out, "</svg>", NULL);
}

/* The hourly average latency as a line chart, gaps where no check passed.
 * The SVG stretches to the card's width (the line keeps its stroke); its
 * axis labels are HTML around it, so they never stretch; each hour has a
 * transparent column with its tooltip. */
static const char *latency_svg(apr_pool_t *p, const up_bucket *b, int count, const char *name)
{
    const double width = 240, height = 100;
    int64_t max = 0, min = -1;
    const char *out, *line = "";
    int points = 0;
    for (int i = 0; i < count; i++) {
        int64_t avg;
        if (!b[i].ups)
            continue;
        avg = b[i].latency_sum / b[i].ups;
        max = avg > max ? avg : max;
        min = min < 0 || avg < min ? avg : min;
        points++;
    }
    if (points == 0)
        return "<p class=\"nodata-text\">No response times recorded in the last 24 hours.</p>";
    max = max < 10 ? 10 : (max * 12 / 10 + 9) / 10 * 10;
    out = apr_psprintf(p, "<div class=\"chartbox\"><div class=\"yaxis\" aria-hidden=\"true\">"
                          "<span>%" APR_INT64_T_FMT " ms</span><span>0</span></div>"
                          "<svg class=\"chart\" viewBox=\"0 0 240 100\" "
                          "preserveAspectRatio=\"none\" role=\"img\" "
                          "aria-label=\"Average response time of %s per hour, last 24 hours: "
                          "from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT " ms\">"
                          "<line class=\"grid\" x1=\"0\" y1=\"1\" x2=\"240\" y2=\"1\"/>"
                          "<line class=\"grid\" x1=\"0\" y1=\"99\" x2=\"240\" y2=\"99\"/>",
                       max, name, min, max);
    for (int i = 0; i < count; i++) {
        double x = width * (i + 0.5) / count;
        int64_t avg;
        if (!b[i].ups) {
            if (*line)
                out = apr_pstrcat(p, out, "<polyline class=\"line\" points=\"", line, "\"/>",
                                  NULL);
            line = "";
            out = apr_psprintf(p, "%s<rect class=\"hit\" x=\"%.1f\" y=\"0\" width=\"%.1f\" "
                                  "height=\"100\"><title>%s: no successful check</title></rect>",
                               out, width * i / count, width / count,
                               bucket_time(p, b[i].start, 0));
            continue;
        }
        avg = b[i].latency_sum / b[i].ups;
        line = apr_psprintf(p, "%s%.1f,%.1f ", line, x,
                            2 + (height - 4) * (1.0 - (double)avg / (double)max));
        out = apr_psprintf(p, "%s<rect class=\"hit\" x=\"%.1f\" y=\"0\" width=\"%.1f\" "
                              "height=\"100\"><title>%s: %" APR_INT64_T_FMT " ms average, %"
                              APR_INT64_T_FMT " ms slowest</title></rect>",
                           out, width * i / count, width / count, bucket_time(p, b[i].start, 0),
                           avg, b[i].latency_max);
    }
    if (*line)
        out = apr_pstrcat(p, out, "<polyline class=\"line\" points=\"", line, "\"/>", NULL);
    return apr_pstrcat(p, out, "</svg></div><div class=\"axis chart-axis\" aria-hidden=\"true\">"
                               "<span>24 h ago</span><span>now</span></div>", NULL);
}

static up_status current_status(up_plugin *up, apr_pool_t *p, const up_monitor *m)
{
    const char *v = up_state_field(up, p, m->name, "status");
    int64_t n;
    if (m->maintenance)
        return UP_STATUS_MAINTENANCE;
    if (v && !cb_parse_int(v, &n) && n >= 0 && n <= UP_STATUS_MAINTENANCE)
        return (up_status)n;
    return UP_STATUS_PENDING;
}

static const char *status_word(up_status s)
{
    switch (s) {
    case UP_STATUS_UP: return "Up";
    case UP_STATUS_DOWN: return "Down";
    case UP_STATUS_MAINTENANCE: return "Maintenance";
    default: return "Pending";
    }
}

static const char *monitor_section(up_plugin *up, apr_pool_t *p, const up_monitor *m,
                                   int64_t now_s, up_status status)
{
    up_bucket days[DAYS], hours[HOURS];
    int64_t day0 = (now_s / 86400 - (DAYS - 1)) * 86400;
    int64_t hour0 = (now_s / 3600 - (HOURS - 1)) * 3600;
    int64_t checks = 0, ups = 0;
    const char *name = esc(p, m->name);
    up_store_series(up, p, m->name, 'd', day0, DAYS, days);
    up_store_series(up, p, m->name, 'h', hour0, HOURS, hours);
    for (int i = 0; i < DAYS; i++) {
        checks += days[i].checks;
        ups += days[i].ups;
    }
    return apr_pstrcat(
        p, "<section class=\"monitor\" aria-labelledby=\"m-", name, "\">",
        "<div class=\"head\"><h2 id=\"m-", name, "\">", name, "</h2>",
        "<span class=\"pct\">",
        checks ? apr_psprintf(p, "%.2f%% uptime, 90 days", 100.0 * (double)ups / (double)checks)
               : "no checks yet",
        "</span><span class=\"pill ", up_status_name(status), "\">", status_word(status),
        "</span></div>",
        "<div class=\"label\" aria-hidden=\"true\">Last 90 days</div>",
        bars_svg(p, days, DAYS, 1,
                 apr_psprintf(p, "Daily uptime of %s, last 90 days: %s", name,
                              checks ? apr_psprintf(p, "%.2f%%",
                                                    100.0 * (double)ups / (double)checks)
                                     : "no data")),
        "<div class=\"axis\" aria-hidden=\"true\"><span>90 days ago</span><span>today</span>"
        "</div><div class=\"label\" aria-hidden=\"true\">Last 24 hours</div>",
        bars_svg(p, hours, HOURS, 0,
                 apr_psprintf(p, "Hourly uptime of %s, last 24 hours", name)),
        "<div class=\"label\" aria-hidden=\"true\">Response time</div>",
        latency_svg(p, hours, HOURS, name), "</section>", NULL);
}

static const char *incident_item(up_plugin *up, apr_pool_t *p, const up_monitor *m)
{
    const char *since = up_state_field(up, p, m->name, "since");
    const char *message = up_state_field(up, p, m->name, "last_message");
    int64_t ms = 0;
    const char *when = "";
    if (since && !cb_parse_int(since, &ms) && ms > 0) {
        apr_time_exp_t t;
        apr_time_exp_gmt(&t, apr_time_from_msec(ms));
        when = apr_psprintf(p, " since %04d-%02d-%02d %02d:%02d UTC", t.tm_year + 1900,
                            t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min);
    }
    return apr_pstrcat(p, "<li><strong>", esc(p, m->name), "</strong> is down", when,
                       message && *message ? ": " : "", esc(p, message), "</li>", NULL);
}

static void set_page_headers(cb_req *req, const char *type)
{
    cb_req_set_header(req, "Content-Type", type);
    cb_req_set_header(req, "Content-Security-Policy",
                      "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
                      "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                      "frame-ancestors 'none'");
    cb_req_set_header(req, "X-Content-Type-Options", "nosniff");
    cb_req_set_header(req, "Referrer-Policy", "no-referrer");
}

/* The whole page, as the cache keeps it. */
static const char *render_page(up_plugin *up, apr_pool_t *p, const void *baton, size_t *len)
{
    int64_t now_s = (int64_t)apr_time_sec(apr_time_now());
    const char *sections = "", *incidents = "", *title = esc(p, up->page_title), *banner;
    int down = 0, pending = 0, count = up->monitors->nelts;
    apr_time_exp_t t;
    const char *html;
    for (int i = 0; i < count; i++) {
        const up_monitor *m = &APR_ARRAY_IDX(up->monitors, i, up_monitor);
        up_status s = current_status(up, p, m);
        down += s == UP_STATUS_DOWN;
        pending += s == UP_STATUS_PENDING;
        if (s == UP_STATUS_DOWN)
            incidents = apr_pstrcat(p, incidents, incident_item(up, p, m), NULL);
        sections = apr_pstrcat(p, sections, monitor_section(up, p, m, now_s, s), NULL);
    }
    banner = down ? (down == count ? "<div class=\"banner down\" role=\"status\">Major outage</div>"
                                   : "<div class=\"banner degraded\" role=\"status\">Partial "
                                     "outage</div>")
           : pending ? "<div class=\"banner pending\" role=\"status\">Checking&hellip;</div>"
                     : "<div class=\"banner up\" role=\"status\">All systems operational</div>";
    if (*incidents)
        incidents = apr_pstrcat(p, "<section class=\"incidents\" aria-labelledby=\"inc\">"
                                   "<h2 id=\"inc\">Current incidents</h2><ul>",
                                incidents, "</ul></section>", NULL);
    apr_time_exp_gmt(&t, apr_time_now());
    html = apr_pstrcat(
        p, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
           "<noscript><meta http-equiv=\"refresh\" content=\"60\"></noscript>"
           "<meta name=\"color-scheme\" content=\"light dark\"><title>", title,
        "</title><link rel=\"stylesheet\" href=\"", esc(p, up->status_page),
        "/style.css\"><script src=\"", esc(p, up->status_page), "/status.js\" defer></script>"
        "</head><body data-refresh=\"",
        apr_psprintf(p, "%" APR_INT64_T_FMT, up->status_refresh_s), "\"><main><h1>", title,
        "</h1>", banner,
        "<div class=\"legend\" aria-hidden=\"true\">"
        "<span><svg viewBox=\"0 0 10 10\"><rect class=\"ok\" width=\"10\" height=\"10\"/></svg>"
        "&ge; 99.9%</span>"
        "<span><svg viewBox=\"0 0 10 10\"><rect class=\"good\" width=\"10\" height=\"10\"/></svg>"
        "&ge; 99%</span>"
        "<span><svg viewBox=\"0 0 10 10\"><rect class=\"warn\" width=\"10\" height=\"10\"/></svg>"
        "&ge; 95%</span>"
        "<span><svg viewBox=\"0 0 10 10\"><rect class=\"bad\" width=\"10\" height=\"10\"/></svg>"
        "below</span>"
        "<span><svg viewBox=\"0 0 10 10\"><rect class=\"nodata\" width=\"10\" height=\"10\"/>"
        "</svg>no data</span></div>",
        incidents, sections,
        apr_psprintf(p, "<footer>Updated %02d:%02d:%02d UTC<noscript> &middot; reloads every "
                        "minute</noscript></footer>", t.tm_hour, t.tm_min, t.tm_sec),
        "</main></body></html>", NULL);
    (void)baton;
    *len = strlen(html);
    return html;
}

cb_status up_status_page(cb_req *req, void *plugin_state)
{
    set_page_headers(req, "text/html; charset=utf-8");
    cb_req_set_header(req, "Cache-Control", "no-cache");
    return up_status_cache_serve(plugin_state, req, "page", render_page, NULL);
}

cb_status up_status_css(cb_req *req, void *plugin_state)
{
    (void)plugin_state;
    set_page_headers(req, "text/css; charset=utf-8");
    cb_req_set_header(req, "Cache-Control", "public, max-age=3600");
    cb_req_set_status(req, 200);
    cb_req_write(req, page_css, sizeof(page_css) - 1);
    return CB_DONE;
}

/* A monitor's badge, as the cache keeps it. */
static const char *render_badge(up_plugin *up, apr_pool_t *p, const void *baton, size_t *len)
{
    const up_monitor *m = baton;
    up_status s = current_status(up, p, m);
    const char *colour, *svg;
    int label_w, value_w;
    colour = s == UP_STATUS_UP ? "#2fb344" : s == UP_STATUS_DOWN ? "#d63939"
           : s == UP_STATUS_MAINTENANCE ? "#4263eb" : "#f59f00";
    label_w = 7 * (int)strlen(m->name) + 12;
    value_w = 7 * (int)strlen(status_word(s)) + 12;
    svg = apr_psprintf(
        p, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"20\" role=\"img\" "
           "aria-label=\"%s: %s\"><title>%s: %s</title>"
           "<rect width=\"%d\" height=\"20\" rx=\"3\" fill=\"#555\"/>"
           "<rect x=\"%d\" width=\"%d\" height=\"20\" rx=\"3\" fill=\"%s\"/>"
           "<rect x=\"%d\" width=\"4\" height=\"20\" fill=\"%s\"/>"
           "<g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\" "
           "text-anchor=\"middle\"><text x=\"%d\" y=\"14\">%s</text>"
           "<text x=\"%d\" y=\"14\">%s</text></g></svg>",
        label_w + value_w, esc(p, m->name), status_word(s), esc(p, m->name), status_word(s),
        label_w + value_w, label_w, value_w, colour, label_w, colour, label_w / 2,
        esc(p, m->name), label_w + value_w / 2, status_word(s));
    *len = strlen(svg);
    return svg;
}

cb_status up_status_badge(cb_req *req, void *plugin_state)
{
    up_plugin *up = plugin_state;
    apr_pool_t *p = cb_req_pool(req);
    const char *file = cb_req_param(req, "file"), *name;
    const up_monitor *m = NULL;
    size_t len = file ? strlen(file) : 0;
    if (len < 5 || strcmp(file + len - 4, ".svg") != 0)
        return cb_req_send_error(req, 404, "NOT_FOUND", "badges are /badge/NAME.svg");
    name = apr_pstrndup(p, file, len - 4);
    for (int i = 0; i < up->monitors->nelts && !m; i++)
        if (strcmp(APR_ARRAY_IDX(up->monitors, i, up_monitor).name, name) == 0)
            m = &APR_ARRAY_IDX(up->monitors, i, up_monitor);
    if (!m)
        return cb_req_send_error(req, 404, "NOT_FOUND", "no such monitor");
    set_page_headers(req, "image/svg+xml");
    cb_req_set_header(req, "Cache-Control", "no-cache");
    return up_status_cache_serve(up, req, apr_pstrcat(p, "badge:", m->name, NULL), render_badge,
                                 m);
}
