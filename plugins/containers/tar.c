/*
 * tar.c: the little of the tar format the engine's archive API needs: a
 * reader that walks a tar stream's entries (ustar names with their
 * prefix, size, type; pax and GNU long-name records are skipped with
 * their data, checksums are verified), and a writer of a one-file archive
 * for uploads. No I/O.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "containers.h"

#define BLOCK 512
#define OCTAL11_MAX 077777777777ULL /* what 11 octal digits hold */

static int parse_octal(const unsigned char *field, size_t width, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    int digits = 0;
    while (i < width && (field[i] == ' ' || field[i] == '\0'))
        i++;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; i++, digits++) {
        if (v > (UINT64_MAX >> 3))
            return 0;
        v = v * 8 + (uint64_t)(field[i] - '0');
    }
    for (; i < width; i++)
        if (field[i] != ' ' && field[i] != '\0')
            return 0;
    *out = v;
    return digits > 0;
}

static int checksum_ok(const unsigned char *h)
{
    uint64_t stored, sum = 0;
    if (!parse_octal(h + 148, 8, &stored))
        return 0;
    for (int i = 0; i < BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == stored;
}

static int all_zero(const unsigned char *h)
{
    for (int i = 0; i < BLOCK; i++)
        if (h[i])
            return 0;
    return 1;
}

const char *ct_tar_walk(apr_pool_t *p, const char *data, size_t len, ct_tar_entry_fn fn,
                        void *baton)
{
    size_t at = 0;
    while (at + BLOCK <= len) {
        const unsigned char *h = (const unsigned char *)data + at;
        uint64_t size;
        size_t padded;
        ct_tar_entry e;
        char type;
        if (all_zero(h))
            return NULL; /* the end-of-archive blocks */
        if (!checksum_ok(h))
            return "a tar header's checksum is wrong";
        if (!parse_octal(h + 124, 12, &size) || size > len)
            return "a tar header's size is not a number within the archive";
        padded = (size_t)((size + BLOCK - 1) / BLOCK * BLOCK);
        if (at + BLOCK + padded > len || at + BLOCK + padded < at)
            return "the tar archive ends inside an entry";
        type = (char)h[156];
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            at += BLOCK + padded; /* pax and GNU long-name records */
            continue;
        }
        memset(&e, 0, sizeof(e));
        {
            const char *name = apr_pstrndup(p, (const char *)h, 100);
            const char *prefix = memcmp(h + 257, "ustar", 5) == 0
                                     ? apr_pstrndup(p, (const char *)h + 345, 155) : "";
            e.name = *prefix ? apr_pstrcat(p, prefix, "/", name, NULL) : name;
        }
        e.type = type == '5' ? CT_TAR_DIRECTORY
                 : (type == '0' || type == '\0' || type == '7') ? CT_TAR_FILE : CT_TAR_OTHER;
        e.size = (int64_t)size;
        e.data = data + at + BLOCK;
        if (fn(baton, &e))
            return NULL;
        at += BLOCK + padded;
    }
    return at == len ? NULL : "the tar archive ends inside a header";
}

const char *ct_tar_one_file(apr_pool_t *p, const char *name, const char *data, size_t len,
                            int64_t mtime, size_t *out_len)
{
    size_t padded = (len + BLOCK - 1) / BLOCK * BLOCK, total = BLOCK + padded + 2 * BLOCK;
    unsigned char *t;
    unsigned sum = 0;
    if (!name || !*name || strlen(name) > 99 || strchr(name, '/') || len > OCTAL11_MAX)
        return NULL;
    t = apr_pcalloc(p, total);
    memcpy(t, name, strlen(name));
    memcpy(t + 100, "0000644", 7);
    memcpy(t + 108, "0000000", 7);
    memcpy(t + 116, "0000000", 7);
    snprintf((char *)t + 124, 12, "%011llo", (unsigned long long)len & OCTAL11_MAX);
    snprintf((char *)t + 136, 12, "%011llo",
             (unsigned long long)(mtime > 0 ? mtime : 0) & OCTAL11_MAX);
    t[156] = '0';
    memcpy(t + 257, "ustar", 6);
    memcpy(t + 263, "00", 2);
    memset(t + 148, ' ', 8);
    for (int i = 0; i < BLOCK; i++)
        sum += t[i];
    snprintf((char *)t + 148, 8, "%06o", sum);
    t[155] = ' ';
    if (len)
        memcpy(t + BLOCK, data, len);
    *out_len = total;
    return (const char *)t;
}

const char *ct_workspace_path(apr_pool_t *p, const char *text, const char **out)
{
    apr_array_header_t *parts = apr_array_make(p, 8, sizeof(const char *));
    char *copy, *state = NULL, *seg;
    const char *path = "";
    if (!text || strncmp(text, "/workspace", 10) != 0 || (text[10] && text[10] != '/'))
        return "path must be /workspace or a path under it";
    if (strlen(text) > 1024)
        return "path is longer than 1024 characters";
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return "path holds a control character or a backslash";
    copy = apr_pstrdup(p, text + 10);
    for (seg = apr_strtok(copy, "/", &state); seg; seg = apr_strtok(NULL, "/", &state)) {
        if (strcmp(seg, "..") == 0 || strcmp(seg, ".") == 0)
            return "path may not hold . or .. segments";
        APR_ARRAY_PUSH(parts, const char *) = seg;
    }
    for (int i = 0; i < parts->nelts; i++)
        path = apr_pstrcat(p, path, "/", APR_ARRAY_IDX(parts, i, const char *), NULL);
    *out = apr_pstrcat(p, "/workspace", path, NULL);
    return NULL;
}
