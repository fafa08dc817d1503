/*
 * request_line.c: reads the method and path out of a raw HTTP request line
 * that httpd refused before parsing it (a URL past LimitRequestLine, a
 * malformed line), so that the error can still be answered in the matching
 * route's dialect. Fuzzed by tests/fuzz/fuzz_request_line.c.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "cb_core.h"

int cb_request_line_target(apr_pool_t *p, const char *line, const char **method,
                           const char **path)
{
    const char *space, *target, *end;
    apr_uri_t uri;
    if (!line || !(space = strchr(line, ' ')) || space == line)
        return 0;
    for (target = space; *target == ' '; target++)
        ;
    end = strchr(target, ' ');
    if (*target != '/' ||
        apr_uri_parse(p, end ? apr_pstrmemdup(p, target, (apr_size_t)(end - target)) : target,
                      &uri) != APR_SUCCESS ||
        !uri.path)
        return 0;
    *method = apr_pstrmemdup(p, line, (apr_size_t)(space - line));
    *path = uri.path;
    return 1;
}
