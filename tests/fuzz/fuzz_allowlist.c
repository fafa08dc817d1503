/*
 * fuzz_allowlist.c: libFuzzer target for the secure-domain allowlist and
 * origin parsing (core/allowlist.c).
 *
 * Each input (as a NUL-terminated string) is an Origin header value checked
 * against an allowlist built once with exact and wildcard entries, and is
 * normalised with cb_origin_normalize. It is also added as an entry to a
 * fresh scratch allowlist, which must keep answering queries afterwards.
 * Invariants:
 *  - normalising is idempotent: normalize(normalize(x)) == normalize(x);
 *  - the allowlist does not care about the spelling:
 *    allows(list, x) == allows(list, normalize(x)) when normalize(x) != NULL;
 *  - an accepted exact entry allows itself, an accepted wildcard entry
 *    allows a subdomain of itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cb_core.h"

static const char *const allowlist_entries[] = {
    "https://example.com",
    "https://*.apps.example.org",
    "http://127.0.0.1:8080",
    "HTTPS://Shop.Example.NET:443",
    "http://[::1]:3000",
    "https://*.example.net:8443",
    "http://localhost",
};

/* An origin that parses, to make the scratch list walk its entries. */
static const char probe_origin[] = "https://app.example.com";

static apr_pool_t *global_pool;
static apr_pool_t *iteration_pool;
static cb_allowlist *allowlist;

static void require(int condition, const char *what, const char *input)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz_allowlist invariant broken: %s (input '%s')\n", what, input);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&global_pool, NULL);
    apr_pool_create(&iteration_pool, global_pool);
    allowlist = cb_allowlist_create(global_pool);
    for (size_t i = 0; i < sizeof(allowlist_entries) / sizeof(allowlist_entries[0]); i++) {
        const char *err = cb_allowlist_add(allowlist, global_pool, allowlist_entries[i]);
        if (err) {
            fprintf(stderr, "fuzz_allowlist: cannot build the allowlist: %s\n", err);
            abort();
        }
    }
    return 0;
}

static void check_origin(const char *origin)
{
    int allowed = cb_allowlist_allows(allowlist, origin);
    const char *normalized = cb_origin_normalize(iteration_pool, origin);
    const char *normalized_twice;

    if (!normalized) {
        require(!allowed, "an origin that does not normalise was allowed", origin);
        return;
    }
    normalized_twice = cb_origin_normalize(iteration_pool, normalized);
    require(normalized_twice != NULL, "a normalised origin does not normalise", origin);
    require(strcmp(normalized, normalized_twice) == 0, "normalising is not idempotent", origin);
    require(allowed == cb_allowlist_allows(allowlist, normalized),
            "the allowlist answers differently for the normalised origin", origin);
}

/* A subdomain of a wildcard entry: the '*' becomes 'a', so the host
 * *.example.com turns into a.example.com. The length stays the same, so it
 * stays within the allowlist's origin length limit. */
static const char *subdomain_of_wildcard(const char *entry)
{
    char *copy = apr_pstrdup(iteration_pool, entry);
    char *star = strchr(copy, '*');
    if (!star)
        return NULL;
    *star = 'a';
    return copy;
}

static void add_to_scratch_list(const char *entry)
{
    cb_allowlist *scratch = cb_allowlist_create(iteration_pool);
    const char *err = cb_allowlist_add(scratch, iteration_pool, entry);

    /* Whatever the entry did to the list, queries must still work. */
    cb_allowlist_allows(scratch, probe_origin);
    cb_allowlist_allows(scratch, entry);
    if (err) {
        require(cb_allowlist_count(scratch) == 0, "a refused entry was counted", entry);
        return;
    }
    require(cb_allowlist_count(scratch) == 1, "an accepted entry was not counted", entry);
    if (cb_origin_normalize(iteration_pool, entry)) {
        require(cb_allowlist_allows(scratch, entry), "an exact entry does not allow itself",
                entry);
    } else {
        /* Accepted but not an origin: a wildcard entry. */
        const char *subdomain = subdomain_of_wildcard(entry);
        require(subdomain != NULL, "an accepted non-origin entry without a '*'", entry);
        require(cb_allowlist_allows(scratch, subdomain),
                "a wildcard entry does not allow its subdomain", entry);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);

    check_origin(text);
    add_to_scratch_list(text);

    apr_pool_clear(iteration_pool);
    return 0;
}
