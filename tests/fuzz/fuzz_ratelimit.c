/*
 * fuzz_ratelimit.c: libFuzzer target for the CloudBaseRateLimit parsers
 * (mod_cloudbase/core/ratelimit_rule.c): whole rules and LIMIT/WINDOW rates.
 * Invariants: an accepted limit is in [1, 1e9] and a window in [1 ms, 366 d];
 * an accepted rule has a '/'-prefixed literal path, at most 62 buckets of
 * at least 1 ms that cover the window even when the current one has just
 * begun and a lease lives a whole bucket, at least one scope, a known
 * redis_down policy and a 16-hex-digit id that is the same when parsed
 * again. Differential: a whitespace-free input is accepted as a rate exactly
 * when "/x INPUT" is accepted as a rule, with the same limit and window.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "ratelimit.h"

#define MAX_WINDOW_MS ((int64_t)366 * 24 * 3600 * 1000)
#define ALL_SCOPES (CB_RL_BY_ENV | CB_RL_BY_ROUTE | CB_RL_BY_KEY | CB_RL_BY_USER | CB_RL_BY_IP)

#define FUZZ_TARGET_NAME "fuzz_ratelimit"
#include "fuzz_support.h"

static void check_rate(int64_t limit, int64_t window_ms, const char *input)
{
    require(limit >= 1 && limit <= 1000000000, "limit out of [1, 1e9]", input);
    require(window_ms >= 1 && window_ms <= MAX_WINDOW_MS, "window out of [1 ms, 366 d]", input);
}

static void check_rule(apr_pool_t *p, const char *text)
{
    cb_rl_rule rule, again;
    const char *err = cb_rl_rule_parse(p, text, &rule);
    if (err) {
        require(*err != '\0', "empty rule error", text);
        return;
    }
    check_rate(rule.limit, rule.window_ms, text);
    require(rule.prefix && rule.prefix[0] == '/', "prefix does not start with '/'", text);
    require(rule.prefix_len == strlen(rule.prefix), "prefix_len", text);
    require(!strpbrk(rule.prefix, "{}?#%\\ \t"), "prefix not literal", text);
    require(!strstr(rule.prefix, "//") && !strstr(rule.prefix, "/../"), "prefix not normal",
            text);
    require(rule.bucket_ms >= 1, "bucket shorter than 1 ms", text);
    require(rule.buckets >= 3 && rule.buckets <= 62, "bucket count", text);
    require((rule.buckets - 2) * rule.bucket_ms >= rule.window_ms,
            "buckets do not cover the window", text);
    require(rule.by != 0 && (rule.by & ~(unsigned)ALL_SCOPES) == 0, "scope bits", text);
    require(rule.redis_down == CB_RL_DOWN_LOCAL || rule.redis_down == CB_RL_DOWN_OPEN ||
                rule.redis_down == CB_RL_DOWN_CLOSED, "redis_down policy", text);
    require(strlen(rule.id) == 16 && strspn(rule.id, "0123456789abcdef") == 16, "id shape", text);
    require(strcmp(rule.text, text) == 0, "text not kept", text);
    require(cb_rl_rule_parse(p, text, &again) == NULL && strcmp(again.id, rule.id) == 0,
            "id not stable", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    const char *text = apr_pstrmemdup(p, (const char *)data, size);
    int64_t limit = 0, window_ms = 0;
    int rate_ok = cb_rl_parse_rate(text, &limit, &window_ms) == NULL;

    if (rate_ok)
        check_rate(limit, window_ms, text);
    check_rule(p, text);
    if (*text && !strpbrk(text, " \t")) {
        cb_rl_rule rule;
        int rule_ok = cb_rl_rule_parse(p, apr_pstrcat(p, "/x ", text, NULL), &rule) == NULL;
        require(rate_ok == rule_ok, "rate and rule parsers disagree", text);
        require(!rule_ok || (rule.limit == limit && rule.window_ms == window_ms),
                "rate and rule parsers give different values", text);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
