/*
 * values.h: the one parser for each kind of configured value.
 *
 * Durations, sizes, booleans, integers, URLs and secrets are parsed only
 * here, for plugin options and core directives alike. Each parser returns
 * NULL on success or a message that says what is wrong and how to fix it.
 */
#ifndef CLOUDBASE_VALUES_H
#define CLOUDBASE_VALUES_H

#include "cloudbase/export.h"

#include <stdint.h>
#include <apr_pools.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "250ms", "30s", "5m", "2h", "1d"; a bare number means seconds. */
CB_API const char *cb_parse_duration_ms(const char *text, int64_t *out_ms);
/* "512", "64k", "1m", "2g" (binary units, case-insensitive, optional "b"). */
CB_API const char *cb_parse_size(const char *text, int64_t *out_bytes);
/* on/off, true/false, yes/no, 1/0 (case-insensitive). */
CB_API const char *cb_parse_bool(const char *text, int *out);
CB_API const char *cb_parse_int(const char *text, int64_t *out);

typedef struct cb_url {
    const char *scheme;   /* "http" or "https", lower case */
    const char *host;     /* lower case; IPv6 without brackets */
    int port;             /* explicit or the scheme's default */
    const char *path;     /* "/" at least */
} cb_url;
/* Absolute http(s) URL without user info or fragment. */
CB_API const char *cb_parse_url(apr_pool_t *p, const char *text, cb_url *out);

/* "file:PATH" (contents, one trailing newline removed), "env:NAME", or a
 * literal. Error messages never contain the secret's value. */
CB_API const char *cb_parse_secret(apr_pool_t *p, const char *text, const char **out);

/* A plugin's list line: min_words leading words (whatever they hold), up
 * to max_words when the extra ones have no '=', then key=value settings,
 * each key once. The strings live in p; the caller checks what they mean.
 * NULL, or what is wrong (out->word_count tells how many words were read). */
typedef struct cb_option_line {
    int word_count;
    const char *const *words;
    int setting_count;
    const char *const *keys;
    const char *const *values;
} cb_option_line;
CB_API const char *cb_option_line_parse(apr_pool_t *p, const char *line, int min_words,
                                        int max_words, cb_option_line *out);
/* The value of key, or NULL when the line does not set it. */
CB_API const char *cb_option_line_get(const cb_option_line *line, const char *key);

#ifdef __cplusplus
}
#endif
#endif
