/*
 * fuzz_storage_s3.c: libFuzzer target for the S3 endpoint's pure parsers
 * (plugins/storage/s3_parse.c) and its XML escaping (s3_xml.c). Every input
 * is a request path below /s3, a ListObjectsV2 query, an s3_key line, an
 * s3_prefix value, XML text and a key for a continuation token.
 *
 * Invariants: an accepted path names a bucket of 1..63 letters, digits,
 * '-' and '_', and either no key or a valid object path (1..1024 bytes, no
 * NUL, no empty, "." or ".." segment); an accepted query has 0..1000 max-keys and a token's page start
 * of at most 1024 bytes; a token made for a key reads back as that key
 * (and as a skipped prefix when made for one); an accepted key line has an
 * id of 3..128 safe characters and a file: or env: secret; an accepted
 * prefix starts with '/', has no "//" and no trailing '/'; escaped XML
 * holds no '<', '>' or '"' and no control byte.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "s3.h"

#define FUZZ_TARGET_NAME "fuzz_storage_s3"
#include "fuzz_support.h"

static void check_target(const char *text)
{
    st_s3_target t;
    const char *why;
    if (st_s3_parse_target(iteration_pool, "/s3", text, &t, &why))
        return;
    require(strncmp(text, "/s3/", 4) == 0, "a path outside the prefix was accepted", text);
    require(t.bucket && *t.bucket, "an accepted path has no bucket", text);
    require(strlen(t.bucket) <= 63 &&
            strspn(t.bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
                strlen(t.bucket), "an accepted bucket has other characters", text);
    if (t.key)
        require(!st_path_problem(t.key, strlen(t.key)) && strlen(t.key) <= ST_MAX_PATH,
                "an accepted key is not a valid object path", text);
}

static void check_query(const char *text)
{
    st_s3_list_query q;
    const char *why;
    if (st_s3_parse_list_query(iteration_pool, text, &q, &why))
        return;
    require(q.max_keys >= 0 && q.max_keys <= ST_S3_MAX_KEYS, "max-keys out of range", text);
    require(q.prefix != NULL, "no prefix", text);
    require(!q.after || strlen(q.after) <= ST_MAX_PATH, "a page start past 1024 bytes", text);
    require(!q.skip_prefix || q.skip_prefix == q.after, "a skipped prefix not the start", text);
    require(!q.delimiter || *q.delimiter, "an empty delimiter was kept", text);
}

/* A token made for text reads back, through a whole query, as text. */
static void check_token(const char *text, size_t len)
{
    st_s3_list_query q;
    const char *why;
    for (int is_prefix = 0; is_prefix < 2; is_prefix++) {
        const char *token = st_s3_continuation_token(iteration_pool, text, is_prefix);
        const char *query = apr_pstrcat(iteration_pool, "list-type=2&continuation-token=", token,
                                        NULL);
        const char *err = st_s3_parse_list_query(iteration_pool, query, &q, &why);
        if (len == 0 || strlen(text) != len || len > ST_MAX_PATH) {
            require(err || (q.after && strlen(q.after) <= ST_MAX_PATH),
                    "a token past the limits gave a bad start", text);
            continue;
        }
        require(!err && q.after && strcmp(q.after, text) == 0, "a token does not read back", text);
        require(is_prefix ? q.skip_prefix && !strcmp(q.skip_prefix, text) : !q.skip_prefix,
                "a token lost whether it ended on a prefix", text);
    }
}

static void check_key_line(const char *text)
{
    st_s3_key k;
    if (st_s3_parse_key_line(iteration_pool, text, &k))
        return;
    require(strlen(k.access_key) >= 3 && strlen(k.access_key) <= 128 &&
            strspn(k.access_key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-_.") == strlen(k.access_key),
            "an accepted access key id has other characters", text);
    require(!strncmp(k.secret_spec, "file:", 5) || !strncmp(k.secret_spec, "env:", 4),
            "an accepted secret is neither file: nor env:", text);
    require(!k.buckets || apr_hash_count(k.buckets) > 0, "an empty bucket list", text);
}

static void check_prefix(const char *text)
{
    size_t len = strlen(text);
    if (st_s3_prefix_problem(text))
        return;
    require(text[0] == '/' && text[len - 1] != '/' && !strstr(text, "//") &&
            len <= ST_S3_MAX_PREFIX, "a bad prefix was accepted", text);
}

static void check_escape(const char *text)
{
    const char *x = st_xml_escape(iteration_pool, text);
    for (const unsigned char *c = (const unsigned char *)x; *c; c++)
        require(*c != '<' && *c != '>' && *c != '"' && *c != '\'' && *c >= 0x20,
                "escaped XML holds a markup or control byte", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_target(apr_pstrcat(iteration_pool, "/s3/", text, NULL));
    check_target(text);
    check_query(text);
    check_token(text, size);
    check_key_line(text);
    check_prefix(text);
    check_escape(text);
    apr_pool_clear(iteration_pool);
    return 0;
}
