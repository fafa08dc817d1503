/*
 * fuzz_cors.c: libFuzzer target for the two CORS decisions the dispatcher
 * takes before the allowlist (core/allowlist.c): the preflight's
 * Access-Control-Request-Headers echo (cb_cors_header_list_ok) and the
 * same-origin test of an Origin header against the request's scheme and
 * Host header (cb_origin_is_own).
 *
 * The input is split at its first two NUL bytes into a Host value, an
 * Origin value and a header list (missing parts are empty); the whole input
 * is also tried as a header list. Invariants:
 *  - an accepted header list holds only [A-Za-z0-9_-], ',' and ' ' (checked
 *    here independently), so the echo can never carry CR, LF, quotes or
 *    other bytes into a response header; and every non-empty list of such
 *    characters is accepted;
 *  - is_own(scheme, host, origin) implies that both sides are origins and
 *    normalise to the same text, with the request's scheme; the normalised
 *    origin is own as well; equal normalised origins are always own;
 *  - is_own agrees with an allowlist holding exactly scheme://host.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cb_core.h"

#define FUZZ_TARGET_NAME "fuzz_cors"
#include "fuzz_support.h"

static int header_list_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ',' || c == ' ';
}

static void check_header_list(const char *list)
{
    size_t allowed = 0, len = strlen(list);
    while (allowed < len && header_list_char(list[allowed]))
        allowed++;
    require(cb_cors_header_list_ok(list) == (allowed == len),
            "the header list check disagrees with the allowed character set", list);
}

static void check_own_origin(const char *scheme, const char *host, const char *origin)
{
    apr_pool_t *p = iteration_pool;
    int own = cb_origin_is_own(p, scheme, host, origin);
    const char *own_origin = apr_pstrcat(p, scheme, "://", host, NULL);
    const char *normalized_own = cb_origin_normalize(p, own_origin);
    const char *normalized = cb_origin_normalize(p, origin);
    cb_allowlist *list;

    if (!own)
        require(!normalized || !normalized_own || strcmp(normalized, normalized_own) != 0,
                "equal normalised origins were not recognised as own", origin);
    if (!own)
        return;
    require(normalized && normalized_own, "an own origin that does not normalise", origin);
    require(strcmp(normalized, normalized_own) == 0, "own origins normalise differently", origin);
    require(strncmp(normalized, scheme, strlen(scheme)) == 0 &&
                normalized[strlen(scheme)] == ':',
            "an own origin with another scheme", origin);
    require(cb_origin_is_own(p, scheme, host, normalized), "the normalised origin is not own",
            origin);
    /* The allowlist holding exactly this origin agrees (when it takes the
     * entry: it refuses wildcards, which cannot come from a parsed Host). */
    list = cb_allowlist_create(p);
    if (!cb_allowlist_add(list, p, own_origin))
        require(cb_allowlist_allows(list, origin), "the allowlist refuses an own origin", origin);
}

/* The next NUL-terminated part of text (size bytes plus a final NUL), or ""
 * once the input is used up. */
static const char *next_part(const char *text, size_t size, size_t *offset)
{
    const char *part;
    if (*offset > size)
        return "";
    part = text + *offset;
    *offset += strlen(part) + 1;
    return part;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    size_t offset = 0;
    const char *host = next_part(text, size, &offset);
    const char *origin = next_part(text, size, &offset);
    const char *list = next_part(text, size, &offset);

    check_header_list(list);
    check_header_list(host);
    check_own_origin("http", host, origin);
    check_own_origin("https", host, origin);
    apr_pool_clear(iteration_pool);
    return 0;
}
