/*
 * fuzz_directives.c: libFuzzer target for the gateway-wide directive values
 * parsed in core/directives.c: CloudBaseEnv, CloudBaseHealthPath and
 * CloudBaseNodeCount. (CloudBaseRedis is fuzzed by fuzz_values,
 * CloudBaseSecureDomains by fuzz_allowlist, CloudBaseRateLimit by
 * fuzz_ratelimit; the <CloudBasePlugin> option lines by fuzz_values through
 * cb_options_set.)
 *
 * The whole input, as a NUL-terminated string, is each directive's argument.
 * Invariants:
 *  - CloudBaseEnv accepts exactly 1 to 64 characters of [A-Za-z0-9_-]
 *    (checked here independently, both ways);
 *  - CloudBaseHealthPath accepts "off" in any case (path "") or a value
 *    that starts with '/' and has no '{' or '?' (kept as given), and
 *    nothing else;
 *  - CloudBaseNodeCount gives 1 to 10000, and the count printed in decimal
 *    parses back to itself (round trip).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cb_core.h"

#define FUZZ_TARGET_NAME "fuzz_directives"
#include "fuzz_support.h"

static int env_id_expected(const char *s)
{
    size_t len = strlen(s);
    if (len < 1 || len > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static void check_env(const char *text)
{
    const char *err = cb_directive_env_id(text);
    require((err == NULL) == env_id_expected(text), "CloudBaseEnv accepts the wrong ids", text);
    require(!err || strncmp(err, "CloudBaseEnv: ", 14) == 0, "message without the directive",
            text);
}

static void check_health_path(const char *text)
{
    const char *path = NULL;
    const char *err = cb_directive_health_path(text, &path);
    int off = strcasecmp(text, "off") == 0;
    int literal = text[0] == '/' && !strchr(text, '{') && !strchr(text, '?');
    require((err == NULL) == (off || literal), "CloudBaseHealthPath accepts the wrong values",
            text);
    if (err)
        return;
    require(off ? strcmp(path, "") == 0 : path == text, "CloudBaseHealthPath changed the path",
            text);
}

static void check_node_count(const char *text)
{
    int count = 0, again = 0;
    const char *printed;
    if (cb_directive_node_count(text, &count))
        return;
    require(count >= 1 && count <= 10000, "node count out of range", text);
    printed = apr_itoa(iteration_pool, count);
    require(cb_directive_node_count(printed, &again) == NULL && again == count,
            "the node count does not round-trip", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_env(text);
    check_health_path(text);
    check_node_count(text);
    apr_pool_clear(iteration_pool);
    return 0;
}
