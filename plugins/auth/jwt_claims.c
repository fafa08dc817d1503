/*
 * jwt_claims.c: the strict, allocation-light parser of JWT payloads that
 * cb_jwt_verify uses instead of jansson (the rules are in jwt_claims.h).
 *
 * One pass over the text; recursion only for nested objects and arrays, at
 * most CB_JWT_CLAIMS_MAX_DEPTH deep. Strings are checked where they lie;
 * only the claims the gateway reads are copied out (one memcpy unless they
 * hold escapes), and only keys with escapes are decoded, for the duplicate
 * check. The keys of the open objects sit in a small array on the stack
 * that moves to the pool if a payload has more keys than it holds.
 */
#include <errno.h>
#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "jwt_claims.h"

/* The members read; every other one is checked and skipped. The string
 * claims come first, the integers from IAT on. */
enum { SUB, ENV, SCOPE, SID, JTI, KIND, IAT, EXP, NBF, N_CLAIMS };

static const struct {
    const char *name;
    size_t len;
} claim_names[N_CLAIMS] = {
    {"sub", 3}, {"env", 3}, {"scope", 5}, {"sid", 3}, {"jti", 3}, {"kind", 4},
    {"iat", 3}, {"exp", 3}, {"nbf", 3},
};

/* A string's text between its quotes, or the decoded text of a key. */
typedef struct {
    const unsigned char *text;
    size_t len;
} text_span;

typedef struct {
    const char *strings[IAT];        /* SUB..KIND, NULL when absent */
    int64_t numbers[N_CLAIMS - IAT]; /* IAT..NBF */
    unsigned seen;                   /* bit i: claim i is present */
} found_claims;

enum { INLINE_KEYS = 32 };

typedef struct {
    const unsigned char *s, *end;    /* cursor, end of the text */
    apr_pool_t *pool;
    text_span *keys;                 /* keys of the open objects, innermost last */
    size_t nkeys, cap;
    text_span inline_keys[INLINE_KEYS];
} scanner;

static int scan_object(scanner *sc, unsigned depth, found_claims *found);
static int scan_array(scanner *sc, unsigned depth);

int cb_jwt_claims_is_kind(const char *kind)
{
    return !strcmp(kind, "anonymous") || !strcmp(kind, "user") || !strcmp(kind, "key")
           || !strcmp(kind, "admin");
}

/* ---- lexical pieces ---- */

static void skip_space(scanner *sc)
{
    while (sc->s < sc->end
           && (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r'))
        sc->s++;
}

/* Moves past c when it comes next after whitespace. */
static int accept_char(scanner *sc, unsigned char c)
{
    skip_space(sc);
    if (sc->s == sc->end || *sc->s != c)
        return 0;
    sc->s++;
    return 1;
}

static int is_digit(const scanner *sc, const unsigned char *s)
{
    return s < sc->end && *s >= '0' && *s <= '9';
}

/* The length (2-4) of the multi-byte UTF-8 character at s, or 0 when it is
 * invalid: a stray continuation byte, an overlong form, a surrogate, a
 * code point above U+10FFFF, or cut short by end. */
static size_t utf8_sequence_len(const unsigned char *s, const unsigned char *end)
{
    size_t n = *s >= 0xF0 ? 4 : *s >= 0xE0 ? 3 : 2, i;
    uint32_t cp = *s & (0x7Fu >> n);         /* the lead byte's payload bits */
    if (*s < 0xC2 || *s > 0xF4 || (size_t)(end - s) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* The value of the four hex digits at s, or -1. */
static long hex4(const unsigned char *s, const unsigned char *end)
{
    static const char digits[] = "0123456789abcdefABCDEF";
    const char *hit;
    long value = 0;
    int i;
    if (end - s < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        if (!(hit = memchr(digits, s[i], 22)))
            return -1;
        value = value << 4 | (hit - digits < 16 ? hit - digits : hit - digits - 6);
    }
    return value;
}

/* Checks the escape after a backslash (s is the character after it) and
 * returns what follows it, a surrogate pair counting as one escape; NULL
 * for an unknown escape, \u0000 or a lone surrogate. */
static const unsigned char *scan_escape(const unsigned char *s, const unsigned char *end)
{
    long high, low;
    if (s == end)
        return NULL;
    if (*s != 'u')
        return memchr("\"\\/bfnrt", *s, 8) ? s + 1 : NULL;
    high = hex4(s + 1, end);
    if (high <= 0 || (high >= 0xDC00 && high <= 0xDFFF))
        return NULL;
    if (high < 0xD800 || high > 0xDBFF)
        return s + 5;
    if (end - (s + 5) < 2 || s[5] != '\\' || s[6] != 'u')
        return NULL;
    low = hex4(s + 7, end);
    return low >= 0xDC00 && low <= 0xDFFF ? s + 11 : NULL;
}

/* Checks the string whose opening quote is under the cursor and moves past
 * it. *raw is its text between the quotes; *escaped says whether that text
 * holds a backslash (only then does it differ from the value). */
static int scan_string(scanner *sc, text_span *raw, int *escaped)
{
    const unsigned char *s = sc->s + 1, *end = sc->end;
    size_t n;
    *escaped = 0;
    while (s < end && *s != '"') {
        if (*s == '\\') {
            *escaped = 1;
            if (!(s = scan_escape(s + 1, end)))
                return 0;
        } else if (*s >= 0x80) {
            if (!(n = utf8_sequence_len(s, end)))
                return 0;
            s += n;
        } else if (*s < 0x20) {
            return 0;                        /* raw control character */
        } else {
            s++;
        }
    }
    if (s == end)
        return 0;
    raw->text = sc->s + 1;
    raw->len = (size_t)(s - raw->text);
    sc->s = s + 1;
    return 1;
}

/* Writes code point cp (not a surrogate, at most U+10FFFF) as UTF-8. */
static size_t put_utf8(uint32_t cp, char *out)
{
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;
    for (i = n - 1; i > 0; i--, cp >>= 6)
        out[i] = (char)(0x80 | (cp & 0x3F));
    out[0] = (char)(lead[n] | cp);
    return n;
}

/* Writes the character of an escape scan_escape accepted (s is the
 * character after the backslash) at *out; returns what follows it. */
static const unsigned char *decode_escape(const unsigned char *s, char **out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    uint32_t cp;
    if (*s != 'u') {
        *(*out)++ = to[strchr(from, *s) - from];
        return s + 1;
    }
    cp = (uint32_t)hex4(s + 1, s + 5);
    s += 5;
    if (cp >= 0xD800 && cp <= 0xDBFF) {      /* the low half follows: \uDC00-\uDFFF */
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(s + 2, s + 6) - 0xDC00);
        s += 6;
    }
    *out += put_utf8(cp, *out);
    return s;
}

/* The value of a string scan_string accepted, NUL-terminated, from p: a
 * memcpy unless it holds escapes (the decoded text is never longer). */
static const char *copy_string(apr_pool_t *p, const text_span *raw, int escaped, size_t *len)
{
    const unsigned char *s = raw->text, *end = s + raw->len;
    char *copy, *out;
    if (!escaped) {
        *len = raw->len;
        return apr_pstrmemdup(p, (const char *)raw->text, raw->len);
    }
    for (copy = out = apr_palloc(p, raw->len + 1); s < end;)
        if (*s == '\\')
            s = decode_escape(s + 1, &out);
        else
            *out++ = (char)*s++;
    *out = '\0';
    *len = (size_t)(out - copy);
    return copy;
}

/* ---- numbers and literals ---- */

/* Whether the real number at [s, end) is too big for a double: jansson's
 * test, strtod with the decimal point of the current locale (read with
 * nl_langinfo, which unlike localeconv writes no shared state). */
static int real_overflows(apr_pool_t *p, const unsigned char *s, const unsigned char *end)
{
    char *text = apr_pstrmemdup(p, (const char *)s, (size_t)(end - s));
    char *point = strchr(text, '.');
    double value;
    if (point)
        *point = *nl_langinfo(RADIXCHAR);
    errno = 0;
    value = strtod(text, NULL);
    return errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL);
}

/* Checks the number under the cursor (RFC 8259) and moves past it. With
 * neither fraction nor exponent *integer is 1 and *value holds it. Like
 * jansson, refuses integers outside int64 and reals too big for a double.
 * A leading zero ends the number: what follows then fails the caller. */
static int scan_number(scanner *sc, int64_t *value, int *integer)
{
    const unsigned char *s = sc->s, *start = sc->s;
    int negative = *s == '-', overflow = 0;
    uint64_t magnitude = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    s += negative;
    if (!is_digit(sc, s))
        return 0;
    if (*s == '0')
        s++;                                 /* a leading zero is the whole integer part */
    else
        for (; is_digit(sc, s); s++) {
            unsigned d = (unsigned)(*s - '0');
            overflow |= magnitude > (limit - d) / 10;
            magnitude = magnitude * 10 + d;
        }
    *integer = s == sc->end || (*s != '.' && *s != 'e' && *s != 'E');
    if (*integer) {
        if (overflow)
            return 0;
        *value = !negative ? (int64_t)magnitude
                 : magnitude > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)magnitude;
        sc->s = s;
        return 1;
    }
    if (*s == '.' && !is_digit(sc, ++s))
        return 0;
    while (is_digit(sc, s))
        s++;
    if (s < sc->end && (*s == 'e' || *s == 'E')) {
        s++;
        s += s < sc->end && (*s == '+' || *s == '-');
        if (!is_digit(sc, s))
            return 0;
        while (is_digit(sc, s))
            s++;
    }
    if (real_overflows(sc->pool, start, s))
        return 0;
    sc->s = s;
    return 1;
}

/* Moves past the true, false or null under the cursor. */
static int scan_literal(scanner *sc)
{
    static const char *const words[] = {"true", "false", "null"};
    size_t i, n;
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        n = strlen(words[i]);
        if ((size_t)(sc->end - sc->s) >= n && !memcmp(sc->s, words[i], n)) {
            sc->s += n;
            return 1;
        }
    }
    return 0;
}

/* ---- structure ---- */

/* Adds key to those of the innermost open object (keys[first..]); 0 when
 * that object has it already. */
static int add_key(scanner *sc, size_t first, const text_span *key)
{
    size_t i;
    for (i = first; i < sc->nkeys; i++)
        if (sc->keys[i].len == key->len && !memcmp(sc->keys[i].text, key->text, key->len))
            return 0;
    if (sc->nkeys == sc->cap) {
        text_span *bigger = apr_palloc(sc->pool, 2 * sc->cap * sizeof(*bigger));
        memcpy(bigger, sc->keys, sc->nkeys * sizeof(*bigger));
        sc->keys = bigger;
        sc->cap *= 2;
    }
    sc->keys[sc->nkeys++] = *key;
    return 1;
}

/* Reads a member's key (decoded when it holds escapes) and the colon after
 * it; the key must be new in its object. */
static int read_key(scanner *sc, size_t first, text_span *key)
{
    int escaped;
    size_t len;
    skip_space(sc);
    if (sc->s == sc->end || *sc->s != '"' || !scan_string(sc, key, &escaped))
        return 0;
    if (escaped) {
        key->text = (const unsigned char *)copy_string(sc->pool, key, 1, &len);
        key->len = len;
    }
    return add_key(sc, first, key) && accept_char(sc, ':');
}

/* The claim that key names, or -1 for one the gateway does not read. */
static int claim_index(const text_span *key)
{
    int i;
    for (i = 0; i < N_CLAIMS; i++)
        if (key->len == claim_names[i].len && !memcmp(key->text, claim_names[i].name, key->len))
            return i;
    return -1;
}

/* Reads the value of claim i: a non-empty string, or from IAT on an
 * integer. */
static int read_claim(scanner *sc, int i, found_claims *found)
{
    text_span raw;
    size_t len;
    int escaped, integer;
    skip_space(sc);
    if (sc->s == sc->end)
        return 0;
    found->seen |= 1u << i;
    if (i >= IAT)
        return (*sc->s == '-' || is_digit(sc, sc->s))
               && scan_number(sc, &found->numbers[i - IAT], &integer) && integer;
    if (*sc->s != '"' || !scan_string(sc, &raw, &escaped))
        return 0;
    found->strings[i] = copy_string(sc->pool, &raw, escaped, &len);
    return len > 0;
}

/* Checks any JSON value after whitespace and moves past it; depth is the
 * level an object or array there has. */
static int skip_value(scanner *sc, unsigned depth)
{
    text_span raw;
    int64_t number;
    int flag;
    skip_space(sc);
    if (sc->s == sc->end)
        return 0;
    switch (*sc->s) {
    case '{':
        return scan_object(sc, depth, NULL);
    case '[':
        return scan_array(sc, depth);
    case '"':
        return scan_string(sc, &raw, &flag);
    case 't': case 'f': case 'n':
        return scan_literal(sc);
    default:
        return (*sc->s == '-' || is_digit(sc, sc->s)) && scan_number(sc, &number, &flag);
    }
}

/* Checks the array under the cursor, of nesting level depth. */
static int scan_array(scanner *sc, unsigned depth)
{
    if (depth > CB_JWT_CLAIMS_MAX_DEPTH)
        return 0;
    sc->s++;                                 /* [ */
    if (accept_char(sc, ']'))
        return 1;
    do {
        if (!skip_value(sc, depth + 1))
            return 0;
    } while (accept_char(sc, ','));
    return accept_char(sc, ']');
}

/* Checks the object under the cursor, of nesting level depth. With found
 * it is the payload: the claims read go there, other values are skipped. */
static int scan_object(scanner *sc, unsigned depth, found_claims *found)
{
    size_t first = sc->nkeys;
    text_span key;
    int i;
    if (depth > CB_JWT_CLAIMS_MAX_DEPTH)
        return 0;
    sc->s++;                                 /* { */
    if (accept_char(sc, '}'))
        return 1;
    do {
        if (!read_key(sc, first, &key))
            return 0;
        i = found ? claim_index(&key) : -1;
        if (i >= 0 ? !read_claim(sc, i, found) : !skip_value(sc, depth + 1))
            return 0;
    } while (accept_char(sc, ','));
    sc->nkeys = first;                       /* its keys end with it */
    return accept_char(sc, '}');
}

/* Copies what the payload held to out and nbf; 0 when a required claim is
 * missing or kind is not a known one. */
static int finish_claims(const found_claims *f, cb_jwt_claims *out, int64_t *nbf)
{
    const unsigned required = 1u << SUB | 1u << ENV | 1u << SID | 1u << JTI | 1u << IAT
                              | 1u << EXP;
    if ((f->seen & required) != required
        || (f->strings[KIND] && !cb_jwt_claims_is_kind(f->strings[KIND])))
        return 0;
    *out = (cb_jwt_claims){f->strings[SUB], f->strings[ENV], f->strings[SCOPE], f->strings[SID],
                           f->strings[JTI], f->strings[KIND], f->numbers[IAT - IAT],
                           f->numbers[EXP - IAT]};
    *nbf = f->seen & 1u << NBF ? f->numbers[NBF - IAT] : INT64_MIN;
    return 1;
}

cb_jwt_result cb_jwt_claims_parse(apr_pool_t *p, const unsigned char *json, size_t len,
                                  cb_jwt_claims *out, int64_t *nbf)
{
    found_claims found = {{NULL}, {0}, 0};
    scanner sc;
    if (!json)
        return CB_JWT_MALFORMED;
    sc.s = json;
    sc.end = json + len;
    sc.pool = p;
    sc.keys = sc.inline_keys;
    sc.nkeys = 0;
    sc.cap = INLINE_KEYS;
    skip_space(&sc);
    if (sc.s == sc.end || *sc.s != '{' || !scan_object(&sc, 1, &found))
        return CB_JWT_MALFORMED;
    skip_space(&sc);
    return sc.s == sc.end && finish_claims(&found, out, nbf) ? CB_JWT_OK : CB_JWT_MALFORMED;
}
