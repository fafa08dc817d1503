/*
 * fuzz_upstream_url.c: libFuzzer target for the upstream URLs the functions
 * plugin builds (fn_url_join and fn_url_with_query in
 * plugins/functions/parse.c): a configured base URL, the request's path
 * tail and its query.
 *
 * The input is split at its first NUL byte into a path tail and a query;
 * its first byte also picks one of a few base URLs of the kinds
 * fn_parse_service accepts. Properties:
 *  - the URL is exactly base + "/" + tail, then "?" + query when the query
 *    is not empty (and the query form is the base + "?" + query);
 *  - for a tail that passed fn_path_is_safe, as the handlers require, and
 *    as httpd hands them over (parsed_uri.path: no '?' or '#'; the query
 *    has no '#'), the URL parses back with the base's scheme, host and port,
 *    its path is the base's path + "/" + tail, and its query is the
 *    query: no tail or query can move the request to another host or
 *    change the path it is under.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "functions.h"

static const char *const bases[] = {
    "http://127.0.0.1:8080",
    "https://run.example.com/base",
    "http://[::1]:9000/a/b",
    "http://upstream.internal:3000/fn",
};

static apr_pool_t *iteration_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&iteration_pool, NULL);
    return 0;
}

static void require(int condition, const char *what, const char *url)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz_upstream_url invariant broken: %s (url '%s')\n", what, url);
    abort();
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_parsed(apr_pool_t *p, const char *base, const char *rest, const char *query,
                         const char *url)
{
    apr_uri_t want, got;
    const char *base_path;
    require(apr_uri_parse(p, base, &want) == APR_SUCCESS, "a base URL does not parse", base);
    require(apr_uri_parse(p, url, &got) == APR_SUCCESS, "the joined URL does not parse", url);
    require(same(want.scheme, got.scheme), "the scheme changed", url);
    require(same(want.hostname, got.hostname), "the host changed", url);
    require(same(want.port_str, got.port_str), "the port changed", url);
    require(got.user == NULL && got.password == NULL, "user info appeared", url);
    base_path = want.path ? want.path : "";
    require(got.path && strcmp(got.path, apr_pstrcat(p, base_path, "/", rest, NULL)) == 0,
            "the path is not the base's path + '/' + tail", url);
    require(*query ? same(got.query, query) : got.query == NULL, "the query changed", url);
    require(got.fragment == NULL, "a fragment appeared", url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    const char *rest = text;
    const char *query = strlen(rest) < size ? rest + strlen(rest) + 1 : "";
    const char *base = bases[size ? data[0] % (sizeof(bases) / sizeof(bases[0])) : 0];
    const char *url = fn_url_join(p, base, rest, query);
    const char *expected = apr_pstrcat(p, base, "/", rest, *query ? "?" : "", query, NULL);

    require(strcmp(url, expected) == 0, "join is not base/tail?query", url);
    require(strcmp(fn_url_with_query(p, base, query), apr_pstrcat(p, base, *query ? "?" : "",
                                                                    query, NULL)) == 0,
            "with_query is not base?query", url);
    require(strcmp(fn_url_join(p, base, NULL, ""), apr_pstrcat(p, base, "/", NULL)) == 0,
            "a missing tail is not empty", base);
    if (fn_path_is_safe(rest) && !strpbrk(rest, "?#") && !strchr(query, '#'))
        check_parsed(p, base, rest, query, url);
    apr_pool_clear(iteration_pool);
    return 0;
}
