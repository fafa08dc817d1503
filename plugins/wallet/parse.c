/*
 * parse.c: the wallet's parsers: an amount as written in JSON (whole
 * minor units, 1 to 2^53 - 1, never a string or a fraction), the bodies of
 * the top-up, charge and alert routes, a `meter PATTERN PRICE [cap=N]`
 * line, the match of a request path against a meter's pattern, and the
 * cost of a call from its metering record. fuzz_wallet checks them.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/json_scan.h"
#include "cloudbase/values.h"
#include "wallet.h"

#define MAX_DESCRIPTION 200
#define MAX_PATTERN_SEGMENTS 32
#define MIB (INT64_C(1) << 20)

const char *wallet_parse_amount(const char *text, size_t len, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;
    if (len == 0)
        return "the amount is empty";
    if (text[0] == '-')
        return "the amount must be positive";
    for (size_t j = 0; j < len; j++)
        if (text[j] == '.' || text[j] == 'e' || text[j] == 'E')
            return "the amount must be a whole number of the currency's minor unit "
                   "(no fraction or exponent)";
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return "the amount must be a number";
        if (v > (WALLET_MAX_AMOUNT - (text[i] - '0')) / 10)
            return "the amount must be at most 9007199254740991 (2^53 - 1)";
        v = v * 10 + (text[i] - '0');
    }
    if (len > 1 && text[0] == '0')
        return "the amount must be written without leading zeros";
    if (v == 0)
        return "the amount must be at least 1";
    *out = v;
    return NULL;
}

typedef struct body_fields {
    const char *field;
    cb_json_span number, description;
    int saw_number, saw_description;
} body_fields;

static int take_member(void *baton, const cb_json_span *key, const cb_json_span *value)
{
    body_fields *b = baton;
    if (cb_json_span_is(key, b->field)) {
        b->number = *value;
        b->saw_number = 1;
    } else if (cb_json_span_is(key, "description")) {
        b->description = *value;
        b->saw_description = 1;
    }
    return 0;
}

const char *wallet_parse_body(apr_pool_t *p, const char *body, size_t len, const char *field,
                              int allow_zero, int64_t *number, const char **description)
{
    body_fields b = {.field = field};
    cb_json_scan_options o = {.flags = CB_JSON_SCAN_UNIQUE_KEYS, .on_member = take_member,
                              .baton = &b, .pool = p};
    const char *err;
    if (!cb_json_scan_object(body, len, &o))
        return "the body must be one JSON object, each key once";
    if (!b.saw_number)
        return apr_psprintf(p, "%s is required: a whole number of the currency's minor unit",
                            field);
    if (b.number.type == CB_JSON_SCAN_STRING)
        return apr_psprintf(p, "%s must be a JSON number, not a string", field);
    if (b.number.type != CB_JSON_SCAN_NUMBER)
        return apr_psprintf(p, "%s must be a number", field);
    if (allow_zero && b.number.len == 1 && b.number.text[0] == '0') {
        *number = 0;
    } else if ((err = wallet_parse_amount(b.number.text, b.number.len, number))) {
        return apr_psprintf(p, "%s: %s", field, err);
    }
    if (description) {
        *description = NULL;
        if (b.saw_description && b.description.type != CB_JSON_SCAN_NULL) {
            char *text;
            size_t n;
            if (b.description.type != CB_JSON_SCAN_STRING)
                return "description must be a string";
            text = apr_palloc(p, b.description.len + 1);
            n = cb_json_span_decode(&b.description, text, b.description.len + 1);
            if (n == (size_t)-1 || n > MAX_DESCRIPTION || strlen(text) != n)
                return "description must be a string of at most 200 bytes, without NUL";
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
                    return "description must not hold control characters";
            *description = text;
        }
    }
    return NULL;
}

/* ---- meter lines */

static const char *parse_pattern(apr_pool_t *p, const char *pattern, wallet_meter *out)
{
    const char **segs = apr_pcalloc(p, sizeof(*segs) * MAX_PATTERN_SEGMENTS);
    const char *s = pattern;
    int n = 0;
    if (pattern[0] != '/')
        return "the pattern must start with /";
    if (strlen(pattern) > 512)
        return "the pattern must be at most 512 bytes";
    for (const char *c = pattern; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("{}?#\"\\", *c))
            return "the pattern holds a character a path cannot (space, {, }, ?, #, \", \\)";
    while (*s == '/') {
        const char *seg = s + 1;
        size_t len = strcspn(seg, "/");
        if (len == 0)
            return "the pattern has an empty segment (// or a trailing /)";
        if (n == MAX_PATTERN_SEGMENTS)
            return "the pattern has more than 32 segments";
        if (memchr(seg, '*', len) && len != 1)
            return "* stands for a whole segment (/v1/functions/*), not part of one";
        segs[n++] = apr_pstrmemdup(p, seg, len);
        s = seg + len;
    }
    out->pattern = pattern;
    out->segments = segs;
    out->nsegments = n;
    out->rest = n > 0 && strcmp(segs[n - 1], "*") == 0;
    return NULL;
}

static const char *parse_price(const char *price, wallet_meter *out)
{
    static const struct { const char *suffix; wallet_unit unit; } units[] = {
        {"/call", WALLET_PER_CALL}, {"/s", WALLET_PER_SECOND}, {"/MiB", WALLET_PER_MIB},
        {"/1k-tokens", WALLET_PER_1K_TOKENS}};
    const char *slash = strchr(price, '/');
    if (!slash)
        return "the price is N/call, N/s, N/MiB or N/1k-tokens (N whole minor units)";
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(slash, units[i].suffix) == 0) {
            const char *err = wallet_parse_amount(price, (size_t)(slash - price), &out->price);
            if (err)
                return err;
            out->unit = units[i].unit;
            return NULL;
        }
    return "the price's unit is call, s, MiB or 1k-tokens (N/call, N/s, N/MiB, N/1k-tokens)";
}

const char *wallet_parse_meter(apr_pool_t *p, const char *text, wallet_meter *out)
{
    cb_option_line line;
    const char *err, *cap;
    memset(out, 0, sizeof(*out));
    if ((err = cb_option_line_parse(p, text, 2, 2, &line)))
        return line.word_count < 2 ? "write meter PATTERN PRICE [cap=N], e.g. "
                                     "meter /v1/functions/* 1/call" : err;
    if ((err = parse_pattern(p, line.words[0], out)))
        return apr_psprintf(p, "pattern %s: %s", line.words[0], err);
    if ((err = parse_price(line.words[1], out)))
        return apr_psprintf(p, "price %s: %s", line.words[1], err);
    for (int i = 0; i < line.setting_count; i++)
        if (strcmp(line.keys[i], "cap") != 0)
            return apr_psprintf(p, "unknown setting %s (a meter line takes cap=N)",
                                line.keys[i]);
    cap = cb_option_line_get(&line, "cap");
    if (out->unit == WALLET_PER_CALL) {
        if (cap)
            return "cap= is for usage-based prices (N/s, N/MiB, N/1k-tokens); an N/call price "
                   "reserves N";
        out->cap = out->price;
    } else {
        if (!cap)
            return "a usage-based price needs cap=N: the most one call may cost, reserved "
                   "before the call";
        if ((err = wallet_parse_amount(cap, strlen(cap), &out->cap)))
            return apr_psprintf(p, "cap: %s", err);
    }
    return NULL;
}

int wallet_meter_matches(const wallet_meter *m, const char *path)
{
    const char *s = path;
    int i = 0;
    if (!path || path[0] != '/')
        return 0;
    while (*s == '/') {
        const char *seg = s + 1;
        size_t len = strcspn(seg, "/");
        if (i == m->nsegments)
            return 0;                        /* the path is longer than the pattern */
        if (m->rest && i == m->nsegments - 1)
            return len > 0 || seg[len] == '/'; /* the rest: one or more segments */
        if (strcmp(m->segments[i], "*") == 0) {
            if (len == 0)
                return 0;
        } else if (strlen(m->segments[i]) != len || memcmp(m->segments[i], seg, len) != 0) {
            return 0;
        }
        i++;
        s = seg + len;
    }
    return *s == '\0' && i == m->nsegments;
}

/* price * units / per, rounded up, at most cap; no overflow on the way. */
static int64_t scaled_cost(int64_t price, int64_t units, int64_t per, int64_t cap)
{
    int64_t whole, part;
    if (units <= 0)
        return 0;
    whole = units / per;
    part = units % per;
    if (whole > 0 && price > cap / whole)
        return cap;
    whole *= price;
    /* part * price / per, rounded up: part < per, so split price too */
    {
        __int128 extra = ((__int128)part * price + per - 1) / per;
        if (extra > cap - whole)
            return cap;
        return whole + (int64_t)extra;
    }
}

int64_t wallet_meter_cost(const wallet_meter *m, const cb_response_record *rec)
{
    switch (m->unit) {
    case WALLET_PER_CALL:
        return m->price;
    case WALLET_PER_SECOND:
        return scaled_cost(m->price, (int64_t)rec->duration, APR_USEC_PER_SEC, m->cap);
    case WALLET_PER_MIB: {
        int64_t bytes = (rec->bytes_in > 0 ? rec->bytes_in : 0);
        if (rec->bytes_out > 0)
            bytes = bytes > INT64_MAX - rec->bytes_out ? INT64_MAX : bytes + rec->bytes_out;
        return scaled_cost(m->price, bytes, MIB, m->cap);
    }
    case WALLET_PER_1K_TOKENS:
        break; /* the tokens are not in the record: wallet_token_cost */
    }
    return m->cap;
}

int64_t wallet_token_cost(const wallet_meter *m, int64_t tokens)
{
    return scaled_cost(m->price, tokens, 1000, m->cap);
}
