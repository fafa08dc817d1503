/*
 * fuzz_request_line.c: libFuzzer target for cb_request_line_target
 * (core/request_line.c), which reads the method and path of a request line
 * httpd refused before parsing it, so that a gateway path still gets its
 * error in the route's dialect.
 *
 * The whole input, as a NUL-terminated string, is the line. Invariants:
 *  - a line is accepted only when it has a non-empty method before the
 *    first space and, after the spaces that follow, a target starting with
 *    '/' (checked here independently);
 *  - the method is exactly the text before the first space;
 *  - the path starts with '/', holds no '?', '#', space or NUL, and is a
 *    prefix of the target as written (APR's parser does not decode it);
 *    a target starting with "//" names an authority first, as httpd reads
 *    it too, so there the path is a piece of the target that follows it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cb_core.h"

#define FUZZ_TARGET_NAME "fuzz_request_line"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    const char *method = NULL, *path = NULL, *space = strchr(line, ' '), *target;
    int found = cb_request_line_target(iteration_pool, line, &method, &path);
    int shaped = space && space != line;
    if (shaped) {
        for (target = space; *target == ' '; target++)
            ;
        shaped = *target == '/';
    }
    if (!shaped) {
        require(!found, "a line without method and absolute path was accepted", line);
    } else if (found) {
        size_t path_length = strlen(path);
        require(strlen(method) == (size_t)(space - line) &&
                    strncmp(method, line, (size_t)(space - line)) == 0,
                "the method is not the text before the first space", line);
        require(path[0] == '/', "the path does not start with '/'", line);
        require(!strpbrk(path, "?# "), "the path holds a query, fragment or space", line);
        if (target[1] != '/')
            require(strncmp(path, target, path_length) == 0,
                    "the path is not a prefix of the target as written", line);
        else
            require(strstr(target, path) != NULL,
                    "the path is not a piece of the target as written", line);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
