/*
 * json_check.c: is a request body a JSON object? A strict RFC 8259 reader
 * that allocates nothing: function calls check every body, and a full
 * parse (jansson) costs a dozen mallocs per call, which contend for the
 * allocator's locks across httpd's threads. It accepts exactly what
 * jansson's json_loadb accepts as an object (UTF-8 checked, \u0000 and
 * lone surrogates refused, nesting up to JSON_PARSER_MAX_DEPTH), except
 * numbers too large for jansson's types, which are valid JSON.
 * tests/fuzz/fuzz_functions.c compares the two.
 */
#include <string.h>

#include "functions.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct reader {
    const unsigned char *p, *end;
} reader;

static void skip_space(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int literal(reader *r, const char *word)
{
    size_t len = strlen(word);
    if ((size_t)(r->end - r->p) < len || memcmp(r->p, word, len) != 0)
        return 0;
    r->p += len;
    return 1;
}

static int digits(reader *r)
{
    const unsigned char *start = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
        r->p++;
    return r->p > start;
}

static int number(reader *r)
{
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p < r->end && *r->p == '0')
        r->p++;
    else if (!digits(r))
        return 0;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (!digits(r))
            return 0;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (!digits(r))
            return 0;
    }
    return 1;
}

static int hex4(reader *r, unsigned *out)
{
    *out = 0;
    if (r->end - r->p < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = *r->p++;
        unsigned v = c >= '0' && c <= '9' ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
        if (v == 16)
            return 0;
        *out = *out << 4 | v;
    }
    return 1;
}

/* One UTF-8 sequence starting at r->p (>= 0x80): shortest form, no
 * surrogates, at most U+10FFFF. */
static int utf8_sequence(reader *r)
{
    unsigned char c = *r->p;
    int extra;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { extra = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { extra = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { extra = 3; cp = c & 0x07; }
    else return 0;
    if (r->end - r->p <= extra)
        return 0;
    for (int i = 1; i <= extra; i++) {
        if ((r->p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (r->p[i] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    r->p += extra + 1;
    return 1;
}

static int string(reader *r)
{
    r->p++; /* the opening quote */
    while (r->p < r->end) {
        unsigned char c = *r->p;
        if (c == '"') {
            r->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c >= 0x80) {
            if (!utf8_sequence(r))
                return 0;
            continue;
        }
        r->p++;
        if (c != '\\')
            continue;
        if (r->p >= r->end)
            return 0;
        c = *r->p++;
        if (c == 'u') {
            unsigned cp, low;
            if (!hex4(r, &cp) || cp == 0)
                return 0;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return 0; /* a low surrogate alone */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                    return 0;
                r->p += 2;
                if (!hex4(r, &low) || low < 0xDC00 || low > 0xDFFF)
                    return 0;
            }
        }
        else if (!strchr("\"\\/bfnrt", c) || c == '\0')
            return 0;
    }
    return 0;
}

static int value(reader *r, int depth);

/* An object or array after its opening character. */
static int container(reader *r, int depth, unsigned char close, int is_object)
{
    r->p++;
    if (depth > MAX_DEPTH)
        return 0;
    skip_space(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 1;
    }
    for (;;) {
        if (is_object) {
            if (r->p >= r->end || *r->p != '"' || !string(r))
                return 0;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':')
                return 0;
            r->p++;
            skip_space(r);
        }
        if (!value(r, depth))
            return 0;
        skip_space(r);
        if (r->p >= r->end)
            return 0;
        if (*r->p == close) {
            r->p++;
            return 1;
        }
        if (*r->p != ',')
            return 0;
        r->p++;
        skip_space(r);
    }
}

static int value(reader *r, int depth)
{
    if (r->p >= r->end)
        return 0;
    switch (*r->p) {
    case '{': return container(r, depth + 1, '}', 1);
    case '[': return container(r, depth + 1, ']', 0);
    case '"': return string(r);
    case 't': return literal(r, "true");
    case 'f': return literal(r, "false");
    case 'n': return literal(r, "null");
    default: return number(r);
    }
}

int fn_json_is_object(const char *body, size_t len)
{
    reader r = {(const unsigned char *)body, (const unsigned char *)body + len};
    skip_space(&r);
    if (r.p >= r.end || *r.p != '{' || !container(&r, 1, '}', 1))
        return 0;
    skip_space(&r);
    return r.p == r.end;
}
