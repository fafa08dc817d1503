/*
 * fuzz_readcache_entry.c: libFuzzer target for the parser of the read
 * cache's stored answers (cb_readcache_entry_parse and the public
 * cb_readcache_parse_entry, core/readcache.c):
 * "cbrc2 VERSION FRESH_UNTIL_MS\n" followed by the answer's bytes.
 *
 * Invariants, checked against the input itself:
 *  - a parse succeeds exactly when the input starts with "cbrc2 ", then
 *    1 to 20 digits, a space, 1 to 18 digits, then '\n';
 *  - then the version is the first digits (inside the input), the value
 *    is the rest of the input (nothing read past its end), the time is the
 *    second digits' number, and both parsers agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudbase/readcache.h"
#include "readcache_entry.h"

/* Digits of text from *i on: their count. */
static size_t count_digits(const char *text, size_t size, size_t *i)
{
    size_t start = *i;
    while (*i < size && text[*i] >= '0' && text[*i] <= '9')
        (*i)++;
    return *i - start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *value = NULL;
    size_t value_len = 0, version_digits = 0, fresh_digits = 0, i = 6, fresh_at = 0;
    int64_t fresh = -1;
    cb_readcache_entry e;
    int expect, got, got_public;
    char *copy = malloc(size ? size : 1);   /* no NUL after it: ASan sees overreads */
    if (size)
        memcpy(copy, data, size);
    got = cb_readcache_entry_parse(copy, size, &e);
    got_public = cb_readcache_parse_entry(copy, size, &fresh, &value, &value_len);
    expect = size >= 6 && memcmp(text, "cbrc2 ", 6) == 0;
    if (expect) {
        version_digits = count_digits(text, size, &i);
        expect = version_digits >= 1 && version_digits <= 20 && i < size && text[i] == ' ';
        if (expect) {
            fresh_at = ++i;
            fresh_digits = count_digits(text, size, &i);
            expect = fresh_digits >= 1 && fresh_digits <= 18 && i < size && text[i] == '\n';
        }
    }
    if (got != expect || got_public != expect)
        abort();
    if (got) {
        long long number = 0;
        for (size_t d = fresh_at; d < fresh_at + fresh_digits; d++)
            number = number * 10 + (text[d] - '0');
        if (e.version != copy + 6 || e.version_len != version_digits ||
            e.fresh_until_ms != number || e.value != copy + i + 1 ||
            e.value_len != size - i - 1)
            abort();
        if (fresh != e.fresh_until_ms || value != e.value || value_len != e.value_len)
            abort();
    }
    free(copy);
    return 0;
}
