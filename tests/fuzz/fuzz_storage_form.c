/*
 * fuzz_storage_form.c: libFuzzer target for the storage plugin's streaming
 * multipart/form-data reader (plugins/storage/multipart.c), boundary "XyZ".
 * The first input byte picks how many bytes each read hands over (1-64);
 * the rest is the body.
 *
 * Differential check: the same body read in pieces of that size and in one
 * piece gives the same parts (names, types, bodies) and the same outcome.
 * Invariants: no part body holds the delimiter "\r\n--XyZ"; the bodies
 * together are never longer than the input. Bodies are compared by length
 * and FNV-1a.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "multipart.h"

#define FUZZ_TARGET_NAME "fuzz_storage_form"
#include "fuzz_support.h"

typedef struct source {
    const char *data;
    size_t len, at, step;
} source;

static cb_status read_source(void *baton, char *buf, size_t *len)
{
    source *s = baton;
    size_t n = s->len - s->at;
    if (n > s->step)
        n = s->step;
    if (n > *len)
        n = *len;
    memcpy(buf, s->data + s->at, n);
    s->at += n;
    *len = n;
    return CB_OK;
}

/* Every part as "name|type|length|fnv1a(body)\n"; "!" at an error. Fails
 * the input when a body holds the delimiter. */
static const char *walk(const char *data, size_t len, size_t step, size_t *body_total)
{
    source src = {data, len, 0, step};
    st_form *f = st_form_create(iteration_pool, "XyZ", read_source, &src);
    const char *trace = "", *name, *type;
    char *body = apr_palloc(iteration_pool, len + 1);
    *body_total = 0;
    for (int parts = 0; parts < 64; parts++) {
        size_t n, used = 0;
        if (st_form_next_part(f, iteration_pool, &name, &type) != CB_OK)
            return apr_pstrcat(iteration_pool, trace, "!", NULL);
        if (!name)
            return trace;
        do {
            size_t cap = len - used < 97 ? len - used : 97;
            if (st_form_read(f, body + used, cap, &n) != CB_OK)
                return apr_pstrcat(iteration_pool, trace, "!", NULL);
            used += n;
            require(used <= len, "a part holds more bytes than the body",
                    apr_pstrmemdup(iteration_pool, data, len));
        } while (n > 0 && used < len);
        require(!memmem(body, used, "\r\n--XyZ", 7), "a part body holds the delimiter",
                apr_pstrmemdup(iteration_pool, data, len));
        *body_total += used;
        trace = apr_psprintf(iteration_pool, "%s%s|%s|%zu|%llx\n", trace, name,
                             type ? type : "-", used,
                             (unsigned long long)cb_fnv1a(CB_FNV1A_INIT, body, used));
        if (n > 0 && used == len) {
            /* a body as long as the input can only end at the input's end */
            if (st_form_read(f, body, 1, &n) != CB_OK || n > 0)
                return apr_pstrcat(iteration_pool, trace, "!", NULL);
        }
    }
    return trace;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body, *pieces, *whole;
    size_t step, total_pieces, total_whole;
    if (size < 1)
        return 0;
    step = (size_t)(data[0] % 64) + 1;
    body = (const char *)data + 1;
    pieces = walk(body, size - 1, step, &total_pieces);
    whole = walk(body, size - 1, size, &total_whole);
    require(strcmp(pieces, whole) == 0 && total_pieces == total_whole,
            "reading in pieces gives other parts than reading whole",
            apr_pstrmemdup(iteration_pool, body, size - 1));
    require(total_whole <= size, "the parts hold more bytes than the body",
            apr_pstrmemdup(iteration_pool, body, size - 1));
    apr_pool_clear(iteration_pool);
    return 0;
}
