/*
 * s3_parse.c: the S3 endpoint's pure parsers: the s3_prefix and s3_key
 * option values, a path-style request path split into bucket and object
 * key, ListObjectsV2's query, and its opaque continuation token. No I/O;
 * fuzzed by tests/fuzz/fuzz_storage_s3.c.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "cloudbase/values.h"
#include "s3.h"

#define TOKEN_KEY 'K'      /* the page ended on a key */
#define TOKEN_PREFIX 'P'   /* ... on a common prefix */
#define BUCKET_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

const char *st_s3_prefix_problem(const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (len < 2 || text[0] != '/' || text[len - 1] == '/')
        return "s3_prefix must start with '/', name at least one segment and not end with '/' "
               "(e.g. /s3), or be off";
    if (len > ST_S3_MAX_PREFIX)
        return "s3_prefix is too long";
    for (size_t i = 1; i < len; i++) {
        if (text[i] == '/' && text[i - 1] == '/')
            return "s3_prefix must not hold an empty segment ('//')";
        if (text[i] != '/' && text[i] != '.' && !is_name_char(text[i]))
            return "s3_prefix may only hold letters, digits, '-', '_', '.' and '/'";
    }
    if (strstr(text, "/./") || strstr(text, "/../") || !strcmp(text + len - 2, "/.") ||
        (len >= 3 && !strcmp(text + len - 3, "/..")))
        return "s3_prefix must not hold a '.' or '..' segment";
    return NULL;
}

/* bucket=a,b: the names as a set; NULL or the problem. */
static const char *parse_bucket_list(apr_pool_t *p, const char *list, apr_hash_t **out)
{
    char *copy = apr_pstrdup(p, list), *state = NULL, *name;
    *out = apr_hash_make(p);
    for (name = apr_strtok(copy, ",", &state); name; name = apr_strtok(NULL, ",", &state)) {
        for (const char *c = name; *c; c++)
            if (!is_name_char(*c))
                return apr_psprintf(p, "bucket=%s: a bucket name holds letters, digits, '-' and "
                                       "'_' (several: bucket=a,b)", list);
        apr_hash_set(*out, name, APR_HASH_KEY_STRING, name);
    }
    return apr_hash_count(*out) ? NULL : "bucket= names no bucket (bucket=NAME[,NAME...])";
}

const char *st_s3_parse_key_line(apr_pool_t *p, const char *text, st_s3_key *out)
{
    cb_option_line line;
    const char *err, *v;
    memset(out, 0, sizeof(*out));
    text = st_without_flag_word(p, text, "admin", &out->admin);
    if ((err = cb_option_line_parse(p, text, 1, 2, &line)))
        return err;
    out->access_key = line.words[0];
    if (strlen(out->access_key) < 3 || strlen(out->access_key) > 128)
        return "an access key id has 3 to 128 characters";
    for (const char *c = out->access_key; *c; c++)
        if (!is_name_char(*c) && *c != '.')
            return "an access key id may only hold letters, digits, '-', '_' and '.'";
    if (line.word_count == 2)
        return apr_psprintf(p, "unexpected word '%s' (did you mean 'admin'?)", line.words[1]);
    for (int i = 0; i < line.setting_count; i++)
        if (strcmp(line.keys[i], "secret") && strcmp(line.keys[i], "bucket"))
            return apr_psprintf(p, "unknown setting %s= (use secret= or bucket=)", line.keys[i]);
    v = cb_option_line_get(&line, "secret");
    if (!v || (strncmp(v, "file:", 5) && strncmp(v, "env:", 4)) || strlen(v) < 6)
        return "secret= is missing or not file:PATH or env:NAME (the secret access key is never "
               "written in the configuration itself)";
    out->secret_spec = v;
    if ((v = cb_option_line_get(&line, "bucket")) && (err = parse_bucket_list(p, v, &out->buckets)))
        return err;
    return NULL;
}

/* Decodes len bytes of a path piece; NULL on a bad escape or a NUL. */
static const char *decode_piece(apr_pool_t *p, const char *in, size_t len)
{
    char *out;
    size_t out_len;
    if (cb_percent_decode(p, in, len, &out, &out_len) || strlen(out) != out_len)
        return NULL;
    return out;
}

const char *st_s3_parse_target(apr_pool_t *p, const char *prefix, const char *raw_path,
                               st_s3_target *out, const char **why)
{
    size_t plen = strlen(prefix), blen;
    const char *rest, *slash, *problem;
    memset(out, 0, sizeof(*out));
    *why = "the request path is not {prefix}/{bucket}/{key}";
    if (!raw_path || strncmp(raw_path, prefix, plen) || raw_path[plen] != '/')
        return "InvalidURI";
    rest = raw_path + plen + 1;
    slash = strchr(rest, '/');
    blen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (blen == 0 || !(out->bucket = decode_piece(p, rest, blen)))
        return "InvalidURI";
    if (strlen(out->bucket) > 63 || strspn(out->bucket, BUCKET_CHARS) != strlen(out->bucket)) {
        *why = "a bucket name holds only letters, digits, '-' and '_' (at most 63)";
        return "InvalidBucketName";
    }
    if (!slash || !slash[1])
        return NULL;   /* the bucket itself */
    if (!(out->key = decode_piece(p, slash + 1, strlen(slash + 1)))) {
        *why = "the object key is not validly percent-encoded";
        return "InvalidURI";
    }
    if (strlen(out->key) > ST_MAX_PATH) {
        *why = "the object key is longer than 1024 bytes";
        return "KeyTooLongError";
    }
    if ((problem = st_path_problem(out->key, strlen(out->key)))) {
        *why = problem;
        return "InvalidArgument";
    }
    return NULL;
}

const char *st_s3_continuation_token(apr_pool_t *p, const char *key, int is_prefix)
{
    size_t len = strlen(key);
    unsigned char *raw = apr_palloc(p, len + 1);
    raw[0] = is_prefix ? TOKEN_PREFIX : TOKEN_KEY;
    memcpy(raw + 1, key, len);
    return cb_base64url_encode(p, raw, len + 1);
}

/* Reads a token back into q->after / q->skip_prefix; 0 or -1. */
static int read_token(apr_pool_t *p, const char *token, st_s3_list_query *q)
{
    unsigned char *raw;
    size_t len;
    char *key;
    if (cb_base64url_decode(p, token, strlen(token), &raw, &len) || len < 2 ||
        len - 1 > ST_MAX_PATH || (raw[0] != TOKEN_KEY && raw[0] != TOKEN_PREFIX) ||
        memchr(raw + 1, '\0', len - 1))
        return -1;
    key = apr_pstrmemdup(p, (const char *)raw + 1, len - 1);
    q->after = key;
    q->skip_prefix = raw[0] == TOKEN_PREFIX ? key : NULL;
    return 0;
}

static int parse_max_keys(const char *text)
{
    char *end;
    long v;
    if (!*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 9)
        return -1;
    v = strtol(text, &end, 10);
    return v > ST_S3_MAX_KEYS ? ST_S3_MAX_KEYS : (int)v;
}

const char *st_s3_parse_list_query(apr_pool_t *p, const char *query, st_s3_list_query *out,
                                   const char **why)
{
    char *copy = apr_pstrdup(p, query ? query : ""), *state = NULL, *part;
    const char *list_type = NULL, *max_keys = NULL, *encoding = NULL;
    memset(out, 0, sizeof(*out));
    out->prefix = "";
    out->max_keys = ST_S3_MAX_KEYS;
    *why = "the listing's query is malformed";
    for (part = apr_strtok(copy, "&", &state); part; part = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(part, '=');
        const char *name, *value;
        if (eq)
            *eq = '\0';
        name = decode_piece(p, part, strlen(part));
        value = decode_piece(p, eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0);
        if (!name || !value)
            return "InvalidArgument";
        if (!strcmp(name, "list-type"))
            list_type = value;
        else if (!strcmp(name, "prefix"))
            out->prefix = value;
        else if (!strcmp(name, "delimiter"))
            out->delimiter = *value ? value : NULL;
        else if (!strcmp(name, "max-keys"))
            max_keys = value;
        else if (!strcmp(name, "continuation-token"))
            out->continuation_token = value;
        else if (!strcmp(name, "start-after"))
            out->start_after = *value ? value : NULL;
        else if (!strcmp(name, "encoding-type"))
            encoding = value;
        /* fetch-owner, x-id, X-Amz-* and others change nothing here */
    }
    if (!list_type || strcmp(list_type, "2")) {
        *why = "only ListObjectsV2 (list-type=2) is implemented";
        return "NotImplemented";
    }
    if (strlen(out->prefix) > ST_MAX_PATH || (out->start_after && strlen(out->start_after) >
                                              ST_MAX_PATH) ||
        (out->delimiter && strlen(out->delimiter) > 64)) {
        *why = "prefix, start-after or delimiter is too long";
        return "InvalidArgument";
    }
    if (max_keys && (out->max_keys = parse_max_keys(max_keys)) < 0) {
        *why = "max-keys must be a whole number from 0";
        return "InvalidArgument";
    }
    if (encoding && strcmp(encoding, "url")) {
        *why = "encoding-type must be url";
        return "InvalidArgument";
    }
    out->url_encoding = encoding != NULL;
    if (out->continuation_token) {
        if (read_token(p, out->continuation_token, out)) {
            *why = "The continuation token provided is incorrect";
            return "InvalidArgument";
        }
    }
    else if (out->start_after) {
        out->after = out->start_after;
    }
    return NULL;
}
