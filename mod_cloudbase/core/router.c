/*
 * router.c: the route table. A trie of path segments: each node holds its
 * literal children in a hash, at most one {param} child and at most one
 * trailing {rest*} child, and the routes that end there by method. Lookup
 * walks the request path once (literal first, then param, then rest), so
 * its cost depends on the path's depth, not on how many routes exist.
 *
 * Gateway prefixes: the first one or two literal segments of every route
 * ("/auth/v1", "/v1/functions", "/health"). A path under a prefix that no
 * route matches gets 404 from the gateway; every other path falls through to
 * the rest of the site untouched.
 */
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"

#define MAX_PATH_SEGMENTS 64
#define PREFIX_DEPTH 2

typedef struct node node;
struct node {
    apr_hash_t *literal;       /* segment -> node */
    node *param;               /* {name} */
    const char *param_name;
    node *rest;                /* {name*}: matches the remainder, even empty */
    const char *rest_name;
    apr_hash_t *methods;       /* method -> cb_route; "*" for any */
    const char *allow;         /* "GET, POST" */
    int is_prefix;
};

struct cb_router {
    apr_pool_t *pool;
    node *root;
    int count;
};

static node *node_create(apr_pool_t *p)
{
    node *n = apr_pcalloc(p, sizeof(*n));
    n->literal = apr_hash_make(p);
    return n;
}

cb_router *cb_router_create(apr_pool_t *p)
{
    cb_router *r = apr_pcalloc(p, sizeof(*r));
    r->pool = p;
    r->root = node_create(p);
    return r;
}

int cb_router_route_count(const cb_router *r)
{
    return r->count;
}

static int valid_param_name(const char *s, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* 1 when the Allow list ("GET, HEAD") already names method. */
static int allow_names(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *s = allow; s && *s;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && strncmp(s, method, n) == 0)
            return 1;
        if (!end)
            break;
        s = end + 1;
        while (*s == ' ')
            s++;
    }
    return 0;
}

static void add_allowed(apr_pool_t *p, node *n, const char *method)
{
    if (!n->allow)
        n->allow = method;
    else if (!allow_names(n->allow, method))
        n->allow = apr_pstrcat(p, n->allow, ", ", method, NULL);
}

/* Each method once, even when a route lists HEAD besides its GET. */
static void update_allow(apr_pool_t *p, node *n, const char *method)
{
    static const char *const every[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                        "OPTIONS"};
    if (strcmp(method, "*") == 0) {
        for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++)
            add_allowed(p, n, every[i]);
        return;
    }
    add_allowed(p, n, method);
    if (strcmp(method, "GET") == 0)
        add_allowed(p, n, "HEAD");
}

const char *cb_router_add(cb_router *r, const cb_route_def *def, cb_instance *inst)
{
    apr_pool_t *p = r->pool;
    const char *s = def->pattern;
    node *n = r->root;
    int depth = 0, leading_literals = 0, literal_run = 1;
    node *prefix_nodes[PREFIX_DEPTH] = {NULL, NULL};
    cb_route *route;

    if (!s || s[0] != '/')
        return apr_psprintf(p, "route pattern '%s' must start with '/'", s ? s : "(null)");
    if (!def->method || !*def->method || !def->handler)
        return apr_psprintf(p, "route '%s' needs a method and a handler", s);
    while (*s == '/') {
        const char *seg = s + 1;
        size_t len = strcspn(seg, "/");
        s = seg + len;
        if (++depth > MAX_PATH_SEGMENTS)
            return apr_psprintf(p, "route pattern '%s' is too deep", def->pattern);
        if (len >= 2 && seg[0] == '{' && seg[len - 1] == '}') {
            int is_rest = seg[len - 2] == '*';
            size_t name_len = len - 2 - (is_rest ? 1 : 0);
            const char *name = apr_pstrmemdup(p, seg + 1, name_len);
            literal_run = 0;
            if (!valid_param_name(name, name_len))
                return apr_psprintf(p, "route pattern '%s': bad parameter name '%s'",
                                    def->pattern, name);
            if (is_rest) {
                if (*s)
                    return apr_psprintf(p, "route pattern '%s': {%s*} must be the last segment",
                                        def->pattern, name);
                if (!n->rest) {
                    n->rest = node_create(p);
                    n->rest_name = name;
                } else if (strcmp(n->rest_name, name) != 0) {
                    return apr_psprintf(p, "route pattern '%s': {%s*} conflicts with {%s*}",
                                        def->pattern, name, n->rest_name);
                }
                n = n->rest;
            } else {
                if (!n->param) {
                    n->param = node_create(p);
                    n->param_name = name;
                } else if (strcmp(n->param_name, name) != 0) {
                    return apr_psprintf(p, "route pattern '%s': {%s} conflicts with {%s} "
                                        "at the same place", def->pattern, name, n->param_name);
                }
                n = n->param;
            }
        } else {
            node *child;
            if (len == 0 && *s)
                return apr_psprintf(p, "route pattern '%s' has an empty segment", def->pattern);
            if (memchr(seg, '{', len) || memchr(seg, '}', len))
                return apr_psprintf(p, "route pattern '%s': a parameter must be a whole segment",
                                    def->pattern);
            child = apr_hash_get(n->literal, seg, (apr_ssize_t)len);
            if (!child) {
                child = node_create(p);
                apr_hash_set(n->literal, apr_pstrmemdup(p, seg, len), (apr_ssize_t)len, child);
            }
            n = child;
            if (literal_run && leading_literals < PREFIX_DEPTH)
                prefix_nodes[leading_literals++] = n;
        }
    }
    if (*s)
        return apr_psprintf(p, "route pattern '%s' is malformed", def->pattern);
    if (!n->methods)
        n->methods = apr_hash_make(p);
    if (apr_hash_get(n->methods, def->method, APR_HASH_KEY_STRING))
        return apr_psprintf(p, "route %s %s is defined twice", def->method, def->pattern);
    route = apr_pcalloc(p, sizeof(*route));
    route->def = *def;
    route->def.method = apr_pstrdup(p, def->method);
    route->def.pattern = apr_pstrdup(p, def->pattern);
    route->instance = inst;
    apr_hash_set(n->methods, route->def.method, APR_HASH_KEY_STRING, route);
    update_allow(p, n, route->def.method);
    if (leading_literals)
        prefix_nodes[leading_literals - 1]->is_prefix = 1;
    r->count++;
    return NULL;
}

typedef struct segment {
    const char *start;
    size_t len;
} segment;

typedef struct capture {
    const char *name;
    const char *start;
    size_t len;
} capture;

typedef struct walk {
    const segment *segs;
    int nsegs;
    const char *path_end;
    capture caps[MAX_PATH_SEGMENTS + 1];
    int ncaps;
    const node *found;         /* first node whose path matched fully */
    int found_ncaps;
    capture found_caps[MAX_PATH_SEGMENTS + 1];
} walk;

static int node_has_routes(const node *n)
{
    return n->methods != NULL;
}

/* Depth-first: literal, then {param}, then {rest*}. Stops at the first node
 * whose whole path matches and that has routes. */
static int descend(walk *w, const node *n, int i)
{
    if (i == w->nsegs) {
        if (node_has_routes(n)) {
            w->found = n;
            w->found_ncaps = w->ncaps;
            memcpy(w->found_caps, w->caps, sizeof(capture) * (size_t)w->ncaps);
            return 1;
        }
        if (n->rest && node_has_routes(n->rest)) {
            w->caps[w->ncaps++] = (capture){n->rest_name, w->path_end, 0};
            if (descend(w, n->rest, w->nsegs))
                return 1;
            w->ncaps--;
        }
        return 0;
    }
    {
        const node *child = apr_hash_get(n->literal, w->segs[i].start, (apr_ssize_t)w->segs[i].len);
        if (child && descend(w, child, i + 1))
            return 1;
    }
    if (n->param && w->segs[i].len > 0) {
        w->caps[w->ncaps++] = (capture){n->param_name, w->segs[i].start, w->segs[i].len};
        if (descend(w, n->param, i + 1))
            return 1;
        w->ncaps--;
    }
    if (n->rest && node_has_routes(n->rest)) {
        const char *start = w->segs[i].start;
        w->caps[w->ncaps++] = (capture){n->rest_name, start, (size_t)(w->path_end - start)};
        w->found = n->rest;
        w->found_ncaps = w->ncaps;
        memcpy(w->found_caps, w->caps, sizeof(capture) * (size_t)w->ncaps);
        w->ncaps--;
        return 1;
    }
    return 0;
}

static int under_prefix(const cb_router *r, const walk *w)
{
    const node *n = r->root;
    for (int i = 0; i < w->nsegs && i < PREFIX_DEPTH; i++) {
        n = apr_hash_get(n->literal, w->segs[i].start, (apr_ssize_t)w->segs[i].len);
        if (!n)
            return 0;
        if (n->is_prefix)
            return 1;
    }
    return 0;
}

void cb_router_match(const cb_router *r, apr_pool_t *p, const char *method,
                     const char *path, cb_match *out)
{
    segment segs[MAX_PATH_SEGMENTS];
    walk w;
    const cb_route *route;
    const char *s = path;
    memset(out, 0, sizeof(*out));
    if (!path || path[0] != '/' || !r->count)
        return;
    w.nsegs = 0;
    while (*s == '/') {
        const char *seg = s + 1;
        size_t len = strcspn(seg, "/");
        if (w.nsegs == MAX_PATH_SEGMENTS)
            return; /* deeper than any route can be: not ours */
        segs[w.nsegs++] = (segment){seg, len};
        s = seg + len;
    }
    w.segs = segs;
    w.path_end = s;
    w.ncaps = 0;
    w.found = NULL;
    if (!descend(&w, r->root, 0)) {
        out->kind = under_prefix(r, &w) ? CB_MATCH_NOT_FOUND : CB_MATCH_NONE;
        return;
    }
    route = apr_hash_get(w.found->methods, method, APR_HASH_KEY_STRING);
    if (!route && strcmp(method, "HEAD") == 0)
        route = apr_hash_get(w.found->methods, "GET", APR_HASH_KEY_STRING);
    if (!route)
        route = apr_hash_get(w.found->methods, "*", APR_HASH_KEY_STRING);
    out->allow = w.found->allow;
    if (!route) {
        out->kind = CB_MATCH_NO_METHOD;
        return;
    }
    out->kind = CB_MATCH_FOUND;
    out->route = route;
    if (w.found_ncaps) {
        out->params = apr_table_make(p, w.found_ncaps);
        for (int i = 0; i < w.found_ncaps; i++)
            apr_table_setn(out->params, w.found_caps[i].name,
                           apr_pstrmemdup(p, w.found_caps[i].start, w.found_caps[i].len));
    }
}
