/*
 * usage_scan.h: finds the last OpenAI-style `"usage": {...}` object in an
 * answer fed to it piece by piece (a JSON body, or an SSE stream whose last
 * data chunk carries usage), holding at most one usage object's bytes, and
 * reads its token count. Host-neutral: the host's output filter feeds it
 * each piece of the answer as it passes (never holding the answer back).
 */
#ifndef CB_USAGE_SCAN_H
#define CB_USAGE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

/* The largest usage object read; a larger one is skipped. */
#define CB_USAGE_SCAN_MAX_OBJECT 2048

typedef struct cb_usage_scan cb_usage_scan;

/* A scanner owned by p (its scratch pool is p's child). */
cb_usage_scan *cb_usage_scan_create(apr_pool_t *p);
/* The next piece of the answer, in order. */
void cb_usage_scan_feed(cb_usage_scan *s, const char *data, size_t len);
/* 1 and *tokens for the last usage object seen that had a token count
 * (total_tokens, else prompt_tokens + completion_tokens, else input_tokens
 * + output_tokens; whole numbers from 0 to 2^53 - 1), else 0. */
int cb_usage_scan_tokens(const cb_usage_scan *s, int64_t *tokens);
/* 1 while inside a usage object (its closing brace not yet seen). */
int cb_usage_scan_in_object(const cb_usage_scan *s);
/* The token count of one usage object's text ("{...}"), as above; 0 when
 * it has none or is not a JSON object. */
int cb_usage_tokens_of(apr_pool_t *p, const char *object, size_t len, int64_t *tokens);

#endif
