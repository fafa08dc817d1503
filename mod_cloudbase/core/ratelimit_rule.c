/*
 * ratelimit_rule.c: the one parser of CloudBaseRateLimit rules and of the
 * LIMIT/WINDOW rates in them. Pure: no I/O. Fuzzed by
 * tests/fuzz/fuzz_ratelimit.c.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "ratelimit.h"
#include "cloudbase/values.h"

#define MAX_BUCKETS 60

const char *cb_rl_parse_rate(const char *text, int64_t *limit, int64_t *window_ms)
{
    const char *slash = strchr(text, '/');
    char digits[32];
    const char *err;
    if (!slash || slash == text || (size_t)(slash - text) >= sizeof(digits))
        return "a rate is LIMIT/WINDOW, e.g. 100/1m or 10000/30d";
    memcpy(digits, text, (size_t)(slash - text));
    digits[slash - text] = '\0';
    if ((err = cb_parse_int(digits, limit)))
        return "the limit before '/' must be a whole number";
    if (*limit < 1 || *limit > 1000000000)
        return "the limit must be between 1 and 1000000000";
    if ((err = cb_parse_duration_ms(slash + 1, window_ms)) || *window_ms < 1)
        return "the window after '/' must be a duration such as 1s, 1m, 1h or 30d";
    if (*window_ms > (int64_t)366 * 24 * 3600 * 1000)
        return "the window must be at most 366d";
    return NULL;
}

static const char *parse_scope(const char *text, unsigned *by)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        {"env", CB_RL_BY_ENV}, {"route", CB_RL_BY_ROUTE}, {"key", CB_RL_BY_KEY},
        {"user", CB_RL_BY_USER}, {"ip", CB_RL_BY_IP}, {NULL, 0}};
    *by = 0;
    while (*text) {
        size_t len = strcspn(text, "+");
        unsigned bit = 0;
        for (int i = 0; names[i].name; i++)
            if (strlen(names[i].name) == len && strncmp(names[i].name, text, len) == 0)
                bit = names[i].bit;
        if (!bit)
            return "by= takes env, route, key, user or ip, joined with '+' (by=user+route)";
        *by |= bit;
        text += len;
        if (*text == '+' && !*++text)
            return "by= must not end with '+'";
    }
    return *by ? NULL : "by= needs a value";
}

static void rule_id(cb_rl_rule *r)
{
    char extra[96];
    uint64_t h;
    snprintf(extra, sizeof(extra), "|%lld|%lld|%u", (long long)r->limit,
             (long long)r->window_ms, r->by);
    h = cb_rl_hash(cb_rl_hash(CB_FNV1A_INIT, r->prefix), extra);
    snprintf(r->id, sizeof(r->id), "%016llx", (unsigned long long)h);
}

const char *cb_rl_rule_parse(apr_pool_t *p, const char *args, cb_rl_rule *out)
{
    char *copy = apr_pstrdup(p, args), *state = NULL;
    const char *path = apr_strtok(copy, " \t", &state);
    const char *rate = path ? apr_strtok(NULL, " \t", &state) : NULL;
    const char *word, *err;
    memset(out, 0, sizeof(*out));
    out->text = apr_pstrdup(p, args);
    out->by = CB_RL_BY_IP;
    out->redis_down = CB_RL_DOWN_LOCAL;
    out->leases = 1;
    if (!path || !rate)
        return "write CloudBaseRateLimit PATH LIMIT/WINDOW [by=...] [redis_down=...], "
               "e.g. CloudBaseRateLimit /v1/functions/ 100/1m by=user";
    if (path[0] != '/' || strpbrk(path, "{}?#%\\ ") || strstr(path, "/../") ||
        strstr(path, "//"))
        return "the path must be a literal absolute path prefix such as /v1/functions/";
    out->prefix = path;
    out->prefix_len = strlen(path);
    if ((err = cb_rl_parse_rate(rate, &out->limit, &out->window_ms)))
        return err;
    while ((word = apr_strtok(NULL, " \t", &state))) {
        if (strncmp(word, "by=", 3) == 0) {
            if ((err = parse_scope(word + 3, &out->by)))
                return err;
        }
        else if (strcmp(word, "redis_down=local") == 0)
            out->redis_down = CB_RL_DOWN_LOCAL;
        else if (strcmp(word, "redis_down=open") == 0)
            out->redis_down = CB_RL_DOWN_OPEN;
        else if (strcmp(word, "redis_down=closed") == 0)
            out->redis_down = CB_RL_DOWN_CLOSED;
        else if (strcmp(word, "leases=on") == 0)
            out->leases = 1;
        else if (strcmp(word, "leases=off") == 0)
            out->leases = 0;
        else
            return apr_psprintf(p, "unknown setting '%s': use by=..., "
                                "redis_down=local|open|closed or leases=on|off", word);
    }
    /* At most MAX_BUCKETS whole buckets cover the window, plus the current
     * partial one, plus one for a lease's lifetime (at most a bucket): the
     * counted span is never shorter than the window. */
    out->bucket_ms = (out->window_ms + MAX_BUCKETS - 1) / MAX_BUCKETS;
    out->buckets = (out->window_ms + out->bucket_ms - 1) / out->bucket_ms + 2;
    rule_id(out);
    return NULL;
}

