/*
 * fuzz_usage_scan.c: libFuzzer target for the answer's token usage scanner
 * (core/usage_scan.c), fed what an upstream may send.
 *
 * Invariants:
 *  - chunking does not matter: the input fed whole, byte by byte, and split
 *    at a point its first byte chooses gives the same answer;
 *  - a count found is a whole number from 0 to 2^53 - 1;
 *  - the input followed by a well-formed usage object of N tokens (after a
 *    newline and an SSE data line, as a stream's last chunk) reads N,
 *    whatever came before, unless the input left a usage object open.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "usage_scan.h"

#define FUZZ_TARGET_NAME "fuzz_usage_scan"
#include "fuzz_support.h"

static int scan(const uint8_t *data, size_t size, size_t step, int64_t *tokens)
{
    cb_usage_scan *s = cb_usage_scan_create(iteration_pool);
    for (size_t at = 0; at < size; at += step)
        cb_usage_scan_feed(s, (const char *)data + at, size - at < step ? size - at : step);
    return cb_usage_scan_tokens(s, tokens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *input = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    int64_t whole = -1, bytes = -1, split = -1, after = -1;
    int found = scan(data, size, size ? size : 1, &whole);
    size_t cut = size ? data[0] % size + 1 : 1;
    require(scan(data, size, 1, &bytes) == found && (!found || bytes == whole),
            "byte-by-byte feeding reads another count", input);
    require(scan(data, size, cut, &split) == found && (!found || split == whole),
            "split feeding reads another count", input);
    require(!found || (whole >= 0 && whole <= INT64_C(9007199254740991)),
            "a count out of range", input);
    {
        static const char tail[] = "\n\ndata: {\"choices\":[],\"usage\":{\"total_tokens\":777}}\n\n";
        cb_usage_scan *s = cb_usage_scan_create(iteration_pool);
        cb_usage_scan_feed(s, (const char *)data, size);
        if (!cb_usage_scan_in_object(s)) {
            cb_usage_scan_feed(s, tail, sizeof(tail) - 1);
            require(cb_usage_scan_tokens(s, &after) && after == 777,
                    "a well-formed last usage object was not read", input);
        }
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
