/*
 * fuzz_router.c: libFuzzer target for the route table (core/router.c).
 *
 * Each input is used twice:
 *  - as a request: the first byte picks a method, the rest is the path,
 *    looked up with cb_router_match in a router built once with the kind
 *    of routes the gateway really serves;
 *  - as a route pattern: added with cb_router_add to a fresh scratch router
 *    (errors are fine, crashes are not). A pattern that was accepted must
 *    then match a request whose path is the pattern text itself.
 * Invariants that are cheap to check abort with a message when broken.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "cb_core.h"

static const char *const methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*", "get", "",
};
static const size_t method_count = sizeof(methods) / sizeof(methods[0]);

static const struct {
    const char *method;
    const char *pattern;
} gateway_routes[] = {
    {"POST", "/auth/v1/signin"},
    {"POST", "/auth/v1/signin/anonymously"},
    {"GET", "/auth/v1/user/me"},
    {"PATCH", "/auth/v1/user/me"},
    {"POST", "/v1/functions/{name}"},
    {"*", "/v1/cloudrun/{name}/{rest*}"},
    {"GET", "/v1/model/{envType}/{model}/list"},
    {"POST", "/v1/model/{envType}/{model}/list"},
    {"GET", "/v1/model/prod/special/list2"},
    {"DELETE", "/v1/storage/{bucket}/{key*}"},
    {"GET", "/health"},
};

static apr_pool_t *global_pool;
static apr_pool_t *iteration_pool;
static cb_router *gateway_router;

static cb_status unused_handler(cb_req *req, void *plugin_state)
{
    (void)req;
    (void)plugin_state;
    return CB_OK;
}

static void require(int condition, const char *what, const char *method, const char *path)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz_router invariant broken: %s (method '%s', path '%s')\n",
            what, method, path);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&global_pool, NULL);
    apr_pool_create(&iteration_pool, global_pool);
    gateway_router = cb_router_create(global_pool);
    for (size_t i = 0; i < sizeof(gateway_routes) / sizeof(gateway_routes[0]); i++) {
        cb_route_def def = {gateway_routes[i].method, gateway_routes[i].pattern, unused_handler,
                            CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0};
        const char *err = cb_router_add(gateway_router, &def, NULL);
        if (err) {
            fprintf(stderr, "fuzz_router: cannot build the gateway router: %s\n", err);
            abort();
        }
    }
    return 0;
}

/* What any answer of cb_router_match must look like. */
static void check_match(const cb_match *m, const char *method, const char *path)
{
    switch (m->kind) {
    case CB_MATCH_NONE:
    case CB_MATCH_NOT_FOUND:
        require(m->route == NULL, "a miss carries a route", method, path);
        break;
    case CB_MATCH_NO_METHOD:
        require(m->route == NULL, "405 carries a route", method, path);
        require(m->allow != NULL && *m->allow, "405 without an Allow list", method, path);
        break;
    case CB_MATCH_FOUND:
        require(m->route != NULL, "a match without a route", method, path);
        require(m->allow != NULL && *m->allow, "a match without an Allow list", method, path);
        break;
    default:
        require(0, "unknown match kind", method, path);
    }
    if (m->kind != CB_MATCH_NONE)
        require(path[0] == '/', "a path without a leading '/' was claimed", method, path);
}

static void match_request(const char *method, const char *path)
{
    cb_match m;
    cb_router_match(gateway_router, iteration_pool, method, path, &m);
    check_match(&m, method, path);
}

static void add_pattern(const char *method, const char *pattern)
{
    cb_router *scratch = cb_router_create(iteration_pool);
    cb_route_def def = {method, pattern, unused_handler, CB_AUTH_NONE, CB_DIALECT_CLOUDBASE, 0};
    cb_match m;
    if (cb_router_add(scratch, &def, NULL) != NULL)
        return;
    require(cb_router_route_count(scratch) == 1, "an accepted route was not counted",
            method, pattern);
    /* A lone route matches its own pattern text: each {param} segment is a
     * non-empty segment and {rest*} takes whatever is left. */
    cb_router_match(scratch, iteration_pool, method, pattern, &m);
    check_match(&m, method, pattern);
    require(m.kind == CB_MATCH_FOUND, "an accepted pattern does not match itself",
            method, pattern);
    require(strcmp(m.route->def.pattern, pattern) == 0, "matched a different pattern",
            method, pattern);
    /* Adding the same route again is a duplicate. */
    require(cb_router_add(scratch, &def, NULL) != NULL, "a duplicate route was accepted",
            method, pattern);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *method;
    char *text;
    if (size == 0)
        return 0;
    method = methods[data[0] % method_count];
    /* The rest, NUL-terminated (it stops at an embedded NUL, as a C string). */
    text = apr_pstrmemdup(iteration_pool, (const char *)data + 1, size - 1);

    match_request(method, text);
    add_pattern(method, text);

    apr_pool_clear(iteration_pool);
    return 0;
}
