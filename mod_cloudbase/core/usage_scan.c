/*
 * usage_scan.c: the answer's token usage (usage_scan.h), and the request
 * API over it (cb_req_scan_token_usage, cb_req_token_usage in cloudbase.h).
 *
 * A byte-at-a-time state machine: it looks for the literal `"usage"`, a
 * colon and an opening brace (so `"usage": null` in the chunks before the
 * last is passed over), then copies the object, following strings and
 * nesting, up to CB_USAGE_SCAN_MAX_OBJECT bytes, and reads its counts once
 * it closes. An escaped `\"usage\"` inside a string never matches, as its
 * quote is preceded by a backslash in the bytes. The last object with a
 * count wins: OpenAI sends usage after the choices, and in a stream's last
 * chunk.
 */
#include <string.h>

#include "cb_core.h"
#include "cloudbase/json.h"
#include "usage_scan.h"

#define MAX_TOKENS INT64_C(9007199254740991)

static const char key[] = "\"usage\"";

typedef enum { SEEK_KEY, SEEK_COLON, SEEK_BRACE, IN_OBJECT } scan_state;

struct cb_usage_scan {
    apr_pool_t *scratch;         /* cleared after each object is read */
    scan_state state;
    size_t matched;              /* bytes of key matched so far */
    char object[CB_USAGE_SCAN_MAX_OBJECT];
    size_t len;
    int overflow, depth, in_string, escaped;
    int found;
    int64_t tokens;
};

cb_usage_scan *cb_usage_scan_create(apr_pool_t *p)
{
    cb_usage_scan *s = apr_pcalloc(p, sizeof(*s));
    if (apr_pool_create(&s->scratch, p) != APR_SUCCESS)
        return NULL;
    return s;
}

static int count_of(const cb_json *usage, const char *name, int64_t *out)
{
    return cb_json_get_int(usage, name, out) && *out >= 0 && *out <= MAX_TOKENS;
}

int cb_usage_tokens_of(apr_pool_t *p, const char *object, size_t len, int64_t *tokens)
{
    cb_json *usage = cb_json_parse(p, object, len, NULL);
    int64_t a, b;
    if (!usage || !cb_json_is_object(usage))
        return 0;
    if (count_of(usage, "total_tokens", tokens))
        return 1;
    if ((count_of(usage, "prompt_tokens", &a) && count_of(usage, "completion_tokens", &b)) ||
        (count_of(usage, "input_tokens", &a) && count_of(usage, "output_tokens", &b))) {
        *tokens = a + b > MAX_TOKENS ? MAX_TOKENS : a + b;
        return 1;
    }
    return 0;
}

static void object_closed(cb_usage_scan *s)
{
    int64_t tokens;
    if (!s->overflow && cb_usage_tokens_of(s->scratch, s->object, s->len, &tokens)) {
        s->found = 1;
        s->tokens = tokens;
    }
    apr_pool_clear(s->scratch);
}

/* The key's first byte restarts a match wherever a match failed. */
static void seek_key(cb_usage_scan *s, char c)
{
    if (c == key[s->matched]) {
        if (++s->matched == sizeof(key) - 1) {
            s->matched = 0;
            s->state = SEEK_COLON;
        }
        return;
    }
    s->matched = c == key[0] ? 1 : 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void in_object(cb_usage_scan *s, char c)
{
    if (s->len < sizeof(s->object))
        s->object[s->len++] = c;
    else
        s->overflow = 1;
    if (s->in_string) {
        if (s->escaped)
            s->escaped = 0;
        else if (c == '\\')
            s->escaped = 1;
        else if (c == '"')
            s->in_string = 0;
        return;
    }
    if (c == '"')
        s->in_string = 1;
    else if (c == '{')
        s->depth++;
    else if (c == '}' && --s->depth == 0) {
        object_closed(s);
        s->state = SEEK_KEY;
    }
}

void cb_usage_scan_feed(cb_usage_scan *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        switch (s->state) {
        case SEEK_KEY:
            seek_key(s, c);
            break;
        case SEEK_COLON:
            if (c == ':')
                s->state = SEEK_BRACE;
            else if (!is_space(c)) {
                s->state = SEEK_KEY;
                seek_key(s, c);
            }
            break;
        case SEEK_BRACE:
            if (c == '{') {
                s->state = IN_OBJECT;
                s->object[0] = c;
                s->len = 1;
                s->overflow = s->in_string = s->escaped = 0;
                s->depth = 1;
            } else if (!is_space(c)) {
                s->state = SEEK_KEY;
                seek_key(s, c);
            }
            break;
        case IN_OBJECT:
            in_object(s, c);
            break;
        }
    }
}

int cb_usage_scan_tokens(const cb_usage_scan *s, int64_t *tokens)
{
    if (!s || !s->found)
        return 0;
    *tokens = s->tokens;
    return 1;
}

int cb_usage_scan_in_object(const cb_usage_scan *s)
{
    return s->state == IN_OBJECT;
}

/* ---------------------------------------------------------------- requests */

void cb_req_scan_token_usage(cb_req *req)
{
    if (!req->usage_scan)
        req->usage_scan = cb_usage_scan_create(req->pool);
}

int cb_req_token_usage(const cb_req *req, int64_t *tokens)
{
    return cb_usage_scan_tokens(req->usage_scan, tokens);
}
