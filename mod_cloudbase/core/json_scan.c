/*
 * json_scan.c: the strict, allocation-free JSON object reader of
 * cloudbase/json_scan.h. One pass over the text; recursion only for nested
 * objects and arrays, at most max_depth deep. Strings are checked where
 * they lie and never copied; keys are compared (for
 * CB_JSON_SCAN_UNIQUE_KEYS) by decoding both sides a character at a time.
 * Function calls check every body with it (plugins/functions), and
 * cb_jwt_verify every token payload (plugins/auth/jwt_claims.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudbase/json_scan.h"

typedef const unsigned char uchar;

/* The small steps every byte goes through are inlined into the two
 * recursive functions (scan_object, scan_array): function calls check
 * every body with this scanner. */
#define HOT static inline __attribute__((always_inline))

typedef struct scanner {
    uchar *s, *end;                  /* cursor, end of the text */
    unsigned flags, max_depth;
    const cb_json_scan_options *options;
    cb_json_span *keys;              /* keys of the open objects, innermost last */
    size_t nkeys, cap;
    cb_json_span inline_keys[CB_JSON_SCAN_INLINE_KEYS];
} scanner;

static int scan_object(scanner *sc, unsigned depth);
static int scan_array(scanner *sc, unsigned depth);

/* ---- lexical pieces ---- */

HOT void skip_space(scanner *sc)
{
    while (sc->s < sc->end
           && (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r'))
        sc->s++;
}

/* Moves past c when it comes next after whitespace. */
HOT int accept_char(scanner *sc, unsigned char c)
{
    skip_space(sc);
    if (sc->s == sc->end || *sc->s != c)
        return 0;
    sc->s++;
    return 1;
}

HOT int is_digit_at(uchar *s, uchar *end)
{
    return s < end && *s >= '0' && *s <= '9';
}

/* The length (2-4) of the multi-byte UTF-8 character at s, or 0 when it is
 * invalid: a stray continuation byte, an overlong form, a surrogate, a
 * code point above U+10FFFF, or cut short by end. */
static size_t utf8_sequence_len(uchar *s, uchar *end)
{
    size_t n, i;
    uint32_t cp;
    if (*s < 0xC2 || *s > 0xF4)
        return 0;
    n = *s >= 0xF0 ? 4 : *s >= 0xE0 ? 3 : 2;
    if ((size_t)(end - s) < n)
        return 0;
    cp = *s & (0x7Fu >> n);                  /* the lead byte's payload bits */
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

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The value of the four hex digits at s, or -1. */
static long hex4(uchar *s, uchar *end)
{
    long value = 0;
    int i, d;
    if (end - s < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        if ((d = hex_value(s[i])) < 0)
            return -1;
        value = value << 4 | d;
    }
    return value;
}

/* Checks the escape after a backslash (s is the character after it) and
 * returns what follows it, a surrogate pair counting as one escape; NULL
 * for an unknown escape, \u0000 or a lone surrogate. */
static uchar *scan_escape(uchar *s, uchar *end)
{
    long high, low;
    if (s == end)
        return NULL;
    if (*s != 'u')
        return *s && memchr("\"\\/bfnrt", *s, 8) ? s + 1 : NULL;
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
 * it; out gets its text between the quotes. */
HOT int scan_string(scanner *sc, cb_json_span *out)
{
    uchar *s = sc->s + 1, *end = sc->end;
    int escaped = 0;
    size_t n;
    while (s < end) {
        unsigned char c = *s;
        if (c == '"') {
            out->text = (const char *)sc->s + 1;
            out->len = (size_t)(s - (sc->s + 1));
            out->type = CB_JSON_SCAN_STRING;
            out->escaped = escaped;
            sc->s = s + 1;
            return 1;
        }
        if (c == '\\') {
            escaped = 1;
            if (!(s = scan_escape(s + 1, end)))
                return 0;
        } else if (c >= 0x80) {
            if (!(n = utf8_sequence_len(s, end)))
                return 0;
            s += n;
        } else if (c < 0x20) {
            return 0;                        /* raw control character */
        } else {
            s++;
        }
    }
    return 0;
}

/* ---- decoding string spans ---- */

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

/* Decodes the character at *s of a checked string's text into out (at
 * most 4 bytes) and moves past it; returns how many bytes it wrote. */
static size_t decode_char(uchar **s, char *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    uchar *c = *s;
    uint32_t cp;
    if (*c != '\\') {
        *out = (char)*c;
        *s = c + 1;
        return 1;
    }
    c++;
    if (*c != 'u') {
        *out = to[strchr(from, *c) - from];
        *s = c + 1;
        return 1;
    }
    cp = (uint32_t)hex4(c + 1, c + 5);
    c += 5;
    if (cp >= 0xD800 && cp <= 0xDBFF) {      /* the low half follows: \uDC00-\uDFFF */
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(c + 2, c + 6) - 0xDC00);
        c += 6;
    }
    *s = c;
    return put_utf8(cp, out);
}

/* The decoded bytes of a string span, one at a time. The text of a span
 * without escapes is its value: a backslash there (a C string compared
 * with cb_json_span_is) is a plain byte. */
typedef struct {
    uchar *s, *end;
    int escaped;
    char buf[4];
    size_t have, next;
} span_reader;

static void reader_start(span_reader *r, const cb_json_span *span)
{
    r->s = (uchar *)span->text;
    r->end = r->s + span->len;
    r->escaped = span->escaped;
    r->have = r->next = 0;
}

/* The next byte, or -1 at the end. */
static int reader_byte(span_reader *r)
{
    if (!r->escaped)
        return r->s < r->end ? *r->s++ : -1;
    if (r->next == r->have) {
        if (r->s == r->end)
            return -1;
        r->have = decode_char(&r->s, r->buf);
        r->next = 0;
    }
    return (unsigned char)r->buf[r->next++];
}

static int spans_equal(const cb_json_span *a, const cb_json_span *b)
{
    span_reader ra, rb;
    int ca;
    if (!a->escaped && !b->escaped)
        return a->len == b->len && !memcmp(a->text, b->text, a->len);
    reader_start(&ra, a);
    reader_start(&rb, b);
    do {
        ca = reader_byte(&ra);
        if (ca != reader_byte(&rb))
            return 0;
    } while (ca >= 0);
    return 1;
}

size_t cb_json_span_decode(const cb_json_span *string, char *buf, size_t size)
{
    uchar *s, *end;
    size_t used = 0;
    if (!string || string->type != CB_JSON_SCAN_STRING || !buf)
        return (size_t)-1;
    s = (uchar *)string->text;
    end = s + string->len;
    if (!string->escaped) {
        if (string->len >= size)
            return (size_t)-1;
        memcpy(buf, s, string->len);
        buf[string->len] = '\0';
        return string->len;
    }
    while (s < end) {
        char one[4];
        size_t n = decode_char(&s, one);
        if (size - used <= n)
            return (size_t)-1;
        memcpy(buf + used, one, n);
        used += n;
    }
    if (used >= size)
        return (size_t)-1;
    buf[used] = '\0';
    return used;
}

int cb_json_span_is(const cb_json_span *string, const char *text)
{
    cb_json_span want;
    if (!string || string->type != CB_JSON_SCAN_STRING || !text)
        return 0;
    want.text = text;
    want.len = strlen(text);
    want.type = CB_JSON_SCAN_STRING;
    want.escaped = 0;
    return spans_equal(string, &want);
}

/* ---- numbers ---- */

/* Reads an integer without fraction or exponent in [s, end) (an optional
 * '-' then digits); 0 when it has anything else or leaves int64. */
static int integer_value(uchar *s, uchar *end, int64_t *out)
{
    int negative = s < end && *s == '-';
    uint64_t magnitude = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    s += negative;
    if (s == end)
        return 0;
    if (end - s <= 18) {                     /* below 10^18: no overflow to watch */
        for (; s < end; s++) {
            if (*s < '0' || *s > '9')
                return 0;
            magnitude = magnitude * 10 + (unsigned)(*s - '0');
        }
        *out = negative ? -(int64_t)magnitude : (int64_t)magnitude;
        return 1;
    }
    for (; s < end; s++) {
        unsigned d;
        if (*s < '0' || *s > '9')
            return 0;
        d = (unsigned)(*s - '0');
        if (magnitude > (limit - d) / 10)
            return 0;
        magnitude = magnitude * 10 + d;
    }
    *out = !negative ? (int64_t)magnitude
           : magnitude > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)magnitude;
    return 1;
}

int cb_json_span_int64(const cb_json_span *number, int64_t *out)
{
    int64_t value;
    if (!number || number->type != CB_JSON_SCAN_NUMBER
        || !integer_value((uchar *)number->text, (uchar *)number->text + number->len, &value))
        return 0;
    if (out)
        *out = value;
    return 1;
}

/* Adds d to *acc, saturating far beyond any exponent a double can have. */
static void add_saturating(int64_t *acc, int64_t d)
{
    const int64_t cap = INT64_C(1) << 40;
    *acc += d;
    if (*acc > cap)
        *acc = cap;
    else if (*acc < -cap)
        *acc = -cap;
}

/* Digits kept from a real's mantissa for the overflow test: more than the
 * 309 digits of the smallest decimal that rounds to infinity (a sticky
 * digit stands for the rest, see real_fits). */
#define REAL_KEPT_DIGITS 400

/* Whether the real number (RFC 8259 syntax, with a fraction or exponent)
 * in [s, end) has a value a double holds, the test jansson makes (strtod
 * and ERANGE with +-HUGE_VAL). Its value is M * 10^scale with M the
 * digits; only when it lies in [1e308, 1e309) does the answer need
 * strtod, which gets a locale-neutral copy "digits" "e" scale, at most
 * REAL_KEPT_DIGITS digits plus a non-zero sticky digit when non-zero
 * digits were dropped. The one bound that matters there, the midpoint
 * above DBL_MAX, is an integer, so it never lies strictly between the
 * truncated value and the true one. */
static int real_fits(uchar *s, uchar *end)
{
    char copy[REAL_KEPT_DIGITS + 2 + 24];
    size_t kept = 0;
    int64_t scale = 0, significant = 0, exponent = 0;
    int in_fraction = 0, dropped_nonzero = 0, exp_negative = 0;
    double value;
    if (*s == '-')
        s++;
    for (; s < end && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            in_fraction = 1;
            continue;
        }
        if (in_fraction)
            add_saturating(&scale, -1);
        if (!significant && *s == '0')
            continue;                        /* a leading zero */
        add_saturating(&significant, 1);
        if (kept < REAL_KEPT_DIGITS)
            copy[kept++] = (char)*s;
        else {
            add_saturating(&scale, 1);       /* dropped: one more power of ten */
            dropped_nonzero |= *s != '0';
        }
    }
    if (!significant)
        return 1;                            /* zero */
    if (s < end) {
        s++;                                 /* e or E */
        if (*s == '+' || *s == '-')
            exp_negative = *s++ == '-';
        for (; s < end; s++) {
            exponent = exponent * 10 + (*s - '0');
            if (exponent > (INT64_C(1) << 40))
                exponent = INT64_C(1) << 40;
        }
        add_saturating(&scale, exp_negative ? -exponent : exponent);
    }
    /* The value is in [10^(order-1), 10^order). */
    {
        int64_t order = (int64_t)kept;
        add_saturating(&order, scale);
        if (order <= 308)
            return 1;
        if (order > 309)
            return 0;
    }
    if (dropped_nonzero) {
        copy[kept++] = '1';
        add_saturating(&scale, -1);
    }
    snprintf(copy + kept, sizeof(copy) - kept, "e%lld", (long long)scale);
    errno = 0;
    value = strtod(copy, NULL);
    return !(errno == ERANGE && value == HUGE_VAL);
}

/* Checks the number under the cursor (RFC 8259) and moves past it; with
 * CB_JSON_SCAN_NUMBER_LIMITS also that jansson's types hold it. A leading
 * zero ends the integer part: what follows then fails the caller. */
HOT int scan_number(scanner *sc, cb_json_span *out)
{
    uchar *s = sc->s, *start = sc->s, *end = sc->end;
    int integer = 1;
    if (s < end && *s == '-')
        s++;
    if (!is_digit_at(s, end))
        return 0;
    if (*s == '0')
        s++;
    else
        while (is_digit_at(s, end))
            s++;
    if (s < end && *s == '.') {
        integer = 0;
        if (!is_digit_at(++s, end))
            return 0;
        while (is_digit_at(s, end))
            s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        integer = 0;
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            s++;
        if (!is_digit_at(s, end))
            return 0;
        while (is_digit_at(s, end))
            s++;
    }
    if (sc->flags & CB_JSON_SCAN_NUMBER_LIMITS) {
        int64_t ignored;
        /* An integer of at most 18 digits always fits. */
        if (integer ? s - start > 18 + (*start == '-') && !integer_value(start, s, &ignored)
                    : !real_fits(start, s))
            return 0;
    }
    out->text = (const char *)start;
    out->len = (size_t)(s - start);
    out->type = CB_JSON_SCAN_NUMBER;
    out->escaped = 0;
    sc->s = s;
    return 1;
}

/* Moves past the literal word (of type type) when it is under the cursor. */
HOT int scan_literal(scanner *sc, const char *word, size_t len, cb_json_scan_type type,
                        cb_json_span *out)
{
    if ((size_t)(sc->end - sc->s) < len || memcmp(sc->s, word, len) != 0)
        return 0;
    out->text = (const char *)sc->s;
    out->len = len;
    out->type = type;
    out->escaped = 0;
    sc->s += len;
    return 1;
}

/* ---- structure ---- */

/* Adds key to those of the innermost open object (keys[first..]); 0 when
 * that object has it already, or the keys outgrow the stack without a
 * pool to move to. */
static int add_key(scanner *sc, size_t first, const cb_json_span *key)
{
    size_t i;
    for (i = first; i < sc->nkeys; i++)
        if (!sc->keys[i].escaped && !key->escaped
                ? sc->keys[i].len == key->len && !memcmp(sc->keys[i].text, key->text, key->len)
                : spans_equal(&sc->keys[i], key))
            return 0;
    if (sc->nkeys == sc->cap) {
        cb_json_span *bigger;
        if (!sc->options || !sc->options->pool)
            return 0;
        bigger = apr_palloc(sc->options->pool, 2 * sc->cap * sizeof(*bigger));
        memcpy(bigger, sc->keys, sc->nkeys * sizeof(*bigger));
        sc->keys = bigger;
        sc->cap *= 2;
    }
    sc->keys[sc->nkeys++] = *key;
    return 1;
}

/* Checks any JSON value after whitespace and moves past it; depth is the
 * level an object or array there has. */
HOT int scan_value(scanner *sc, unsigned depth, cb_json_span *out)
{
    uchar *start;
    skip_space(sc);
    if (sc->s == sc->end)
        return 0;
    start = sc->s;
    switch (*sc->s) {
    case '{':
    case '[':
        if (!(*start == '{' ? scan_object(sc, depth) : scan_array(sc, depth)))
            return 0;
        out->text = (const char *)start;
        out->len = (size_t)(sc->s - start);
        out->type = *start == '{' ? CB_JSON_SCAN_OBJECT : CB_JSON_SCAN_ARRAY;
        out->escaped = 0;
        return 1;
    case '"':
        return scan_string(sc, out);
    case 't':
        return scan_literal(sc, "true", 4, CB_JSON_SCAN_TRUE, out);
    case 'f':
        return scan_literal(sc, "false", 5, CB_JSON_SCAN_FALSE, out);
    case 'n':
        return scan_literal(sc, "null", 4, CB_JSON_SCAN_NULL, out);
    default:
        return scan_number(sc, out);
    }
}

/* Checks the array under the cursor, of nesting level depth. */
static int scan_array(scanner *sc, unsigned depth)
{
    cb_json_span ignored;
    if (depth > sc->max_depth)
        return 0;
    sc->s++;                                 /* [ */
    if (accept_char(sc, ']'))
        return 1;
    do {
        if (!scan_value(sc, depth + 1, &ignored))
            return 0;
    } while (accept_char(sc, ','));
    return accept_char(sc, ']');
}

/* Checks the object under the cursor, of nesting level depth; the members
 * of level 1 go to the visitor. */
static int scan_object(scanner *sc, unsigned depth)
{
    const int unique = sc->flags & CB_JSON_SCAN_UNIQUE_KEYS;
    const cb_json_member_fn visit =
        depth == 1 && sc->options ? sc->options->on_member : NULL;
    size_t first = sc->nkeys;
    cb_json_span key, value;
    if (depth > sc->max_depth)
        return 0;
    sc->s++;                                 /* { */
    if (accept_char(sc, '}'))
        return 1;
    do {
        skip_space(sc);
        if (sc->s == sc->end || *sc->s != '"' || !scan_string(sc, &key))
            return 0;
        if (unique && !add_key(sc, first, &key))
            return 0;
        if (!accept_char(sc, ':') || !scan_value(sc, depth + 1, &value))
            return 0;
        if (visit && visit(sc->options->baton, &key, &value))
            return 0;
    } while (accept_char(sc, ','));
    sc->nkeys = first;                       /* its keys end with it */
    return accept_char(sc, '}');
}

int cb_json_scan_object(const char *text, size_t len, const cb_json_scan_options *options)
{
    scanner sc;
    if (!text)
        return 0;
    sc.s = (uchar *)text;
    sc.end = sc.s + len;
    sc.options = options;
    sc.flags = options ? options->flags : 0;
    sc.max_depth = options && options->max_depth ? options->max_depth : CB_JSON_SCAN_MAX_DEPTH;
    sc.keys = sc.inline_keys;
    sc.nkeys = 0;
    sc.cap = CB_JSON_SCAN_INLINE_KEYS;
    skip_space(&sc);
    if (sc.s == sc.end || *sc.s != '{' || !scan_object(&sc, 1))
        return 0;
    skip_space(&sc);
    return sc.s == sc.end;
}
