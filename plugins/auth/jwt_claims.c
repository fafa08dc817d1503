/*
 * jwt_claims.c: the strict, allocation-light parser of JWT payloads that
 * cb_jwt_verify uses instead of a JSON tree (the rules are in
 * jwt_claims.h), on the core's scanner (cloudbase/json_scan.h): it checks
 * the whole payload in one pass, duplicate keys and jansson's number
 * limits included, and hands over each top-level member; only the claims
 * the gateway reads are copied out (one memcpy unless they hold escapes).
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/json_scan.h"
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

typedef struct {
    apr_pool_t *pool;
    const char *strings[IAT];        /* SUB..KIND, NULL when absent */
    int64_t numbers[N_CLAIMS - IAT]; /* IAT..NBF */
    unsigned seen;                   /* bit i: claim i is present */
} found_claims;

int cb_jwt_claims_is_kind(const char *kind)
{
    return !strcmp(kind, "anonymous") || !strcmp(kind, "user") || !strcmp(kind, "key")
           || !strcmp(kind, "admin");
}

/* The claim that key names, or -1 for one the gateway does not read. */
static int claim_index(const cb_json_span *key)
{
    int i;
    for (i = 0; i < N_CLAIMS; i++)
        if (key->escaped ? cb_json_span_is(key, claim_names[i].name)
                         : key->len == claim_names[i].len
                               && !memcmp(key->text, claim_names[i].name, key->len))
            return i;
    return -1;
}

/* The scanner's visitor: reads claim values, a non-empty string or from
 * IAT on an integer; non-zero (refusing the payload) for a wrong type. */
static int read_claim(void *baton, const cb_json_span *key, const cb_json_span *value)
{
    found_claims *found = baton;
    int i = claim_index(key);
    char *copy;
    size_t len;
    if (i < 0)
        return 0;
    found->seen |= 1u << i;
    if (i >= IAT)
        return !cb_json_span_int64(value, &found->numbers[i - IAT]);
    if (value->type != CB_JSON_SCAN_STRING)
        return 1;
    copy = apr_palloc(found->pool, value->len + 1);
    len = cb_json_span_decode(value, copy, value->len + 1);
    found->strings[i] = copy;
    return len == 0 || len == (size_t)-1;
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
    found_claims found = {p, {NULL}, {0}, 0};
    cb_json_scan_options options = {
        .flags = CB_JSON_SCAN_UNIQUE_KEYS | CB_JSON_SCAN_NUMBER_LIMITS,
        .max_depth = CB_JWT_CLAIMS_MAX_DEPTH,
        .on_member = read_claim,
        .baton = &found,
        .pool = p,
    };
    if (!json || !cb_json_scan_object((const char *)json, len, &options))
        return CB_JWT_MALFORMED;
    return finish_claims(&found, out, nbf) ? CB_JWT_OK : CB_JWT_MALFORMED;
}
