/*
 * fuzz_readcache_entry.c: libFuzzer target for the parser of the read
 * cache's stored answers (cb_readcache_parse_entry, core/readcache.c):
 * "cbrc1 FRESH_UNTIL_MS\n" followed by the answer's bytes.
 *
 * Invariants, checked against the input itself:
 *  - a parse succeeds exactly when the input starts with "cbrc1 ", then
 *    1 to 18 digits, then '\n';
 *  - then the value is the rest of the input (inside it, nothing read past
 *    its end), the time is the digits' number, and formatting it again
 *    gives the header back (leading zeros aside).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudbase/readcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *value = NULL;
    size_t value_len = 0, digits = 0, i = 6;
    int64_t fresh = -1;
    int expect, got;
    char *copy = malloc(size ? size : 1);   /* no NUL after it: ASan sees overreads */
    if (size)
        memcpy(copy, data, size);
    got = cb_readcache_parse_entry(copy, size, &fresh, &value, &value_len);
    expect = size >= 8 && memcmp(text, "cbrc1 ", 6) == 0;
    if (expect) {
        while (i < size && text[i] >= '0' && text[i] <= '9') {
            i++;
            digits++;
        }
        expect = digits >= 1 && digits <= 18 && i < size && text[i] == '\n';
    }
    if (got != expect)
        abort();
    if (got) {
        char header[32];
        long long number = 0;
        for (size_t d = 6; d < 6 + digits; d++)
            number = number * 10 + (text[d] - '0');
        if (fresh != number || value != copy + i + 1 || value_len != size - i - 1)
            abort();
        snprintf(header, sizeof(header), "%lld", number);
        if (strtoll(header, NULL, 10) != fresh)
            abort();
    }
    free(copy);
    return 0;
}
