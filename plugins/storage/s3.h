/*
 * s3.h: what the files of the storage plugin's S3-compatible endpoint share
 * (path-style PutObject, GetObject, HeadObject, DeleteObject and
 * ListObjectsV2 on the local buckets, SigV4-verified against the access
 * keys of `s3_key` lines): the pure parsers (s3_parse.c, fuzzed by
 * tests/fuzz/fuzz_storage_s3.c), the XML answers (s3_xml.c), the listing
 * (s3_list.c) and the handlers (s3_endpoint.c). See docs/plugins/storage.md.
 */
#ifndef CB_STORAGE_S3_H
#define CB_STORAGE_S3_H

#include <stdint.h>
#include <apr_hash.h>

#include "storage.h"

#define ST_S3_MAX_KEYS 1000            /* most keys one ListObjectsV2 page holds */
#define ST_S3_MAX_PREFIX 200           /* bytes of s3_prefix */

/* One `s3_key ACCESS_KEY_ID secret=file:PATH|env:NAME [bucket=a,b] [admin]`. */
typedef struct st_s3_key {
    const char *access_key;
    const char *secret_spec;   /* file:PATH or env:NAME, as configured */
    const char *secret;        /* its value once resolved; never logged */
    apr_hash_t *buckets;       /* names this key may use; NULL: every bucket */
    int admin;                 /* acts as the admin (every ACL), else as "s3:ACCESS_KEY_ID" */
} st_s3_key;

typedef struct st_s3 {
    const char *prefix;        /* "/s3": the endpoint's root, no trailing '/' */
    const char *region;        /* the region the scope must name, or NULL for any */
    apr_hash_t *keys;          /* access key id -> st_s3_key * */
} st_s3;

/* ---- s3_parse.c: pure parsers ---- */

/* NULL when text is a usable s3_prefix ("/" then path segments of
 * letters, digits, '-', '_' and '.', no trailing '/'); else why. */
const char *st_s3_prefix_problem(const char *text);

/* Parses an s3_key line; NULL or what is wrong, naming the fix. */
const char *st_s3_parse_key_line(apr_pool_t *p, const char *text, st_s3_key *out);

/* The parts of a path-style request path (as received, percent-encoded). */
typedef struct st_s3_target {
    const char *bucket;        /* the bucket segment, decoded */
    const char *key;           /* the object key, decoded; NULL for the bucket itself */
} st_s3_target;

/* Splits raw_path below prefix into bucket and key. NULL, or the S3 error
 * code for the client ("InvalidURI", "InvalidBucketName", "KeyTooLongError",
 * "InvalidArgument") with *why saying what is wrong. A key must also be a valid object path
 * (st_path_problem). */
const char *st_s3_parse_target(apr_pool_t *p, const char *prefix, const char *raw_path,
                               st_s3_target *out, const char **why);

/* ListObjectsV2's query, decoded. */
typedef struct st_s3_list_query {
    const char *prefix;        /* "" when absent */
    const char *delimiter;     /* NULL when absent or empty */
    int max_keys;              /* 0..ST_S3_MAX_KEYS (larger values are capped) */
    const char *continuation_token;  /* as sent, or NULL */
    const char *start_after;   /* or NULL */
    int url_encoding;          /* encoding-type=url */
    /* Where the page starts, from the token (or start-after): keys after
     * `after`, and none starting with `skip_prefix` (a common prefix the
     * previous page ended on). */
    const char *after;         /* NULL: from the first key */
    const char *skip_prefix;   /* or NULL */
} st_s3_list_query;

/* Parses query (as received, without '?'). NULL, or the S3 error code
 * ("InvalidArgument") with *why. */
const char *st_s3_parse_list_query(apr_pool_t *p, const char *query, st_s3_list_query *out,
                                   const char **why);

/* The opaque continuation token of a page that ended on key (is_prefix 0)
 * or on the common prefix key (is_prefix 1). */
const char *st_s3_continuation_token(apr_pool_t *p, const char *key, int is_prefix);

/* ---- s3_xml.c: answers as S3 writes them ---- */

/* text with & < > " ' escaped (control bytes as character references). */
const char *st_xml_escape(apr_pool_t *p, const char *text);
/* An S3 error: status, <Error><Code>code</Code><Message>..</Message>
 * <Resource>..</Resource><RequestId>..</RequestId></Error>. CB_DONE. */
cb_status st_s3_send_error(cb_req *req, int status, const char *code, const char *message);

/* One entry of a listing. */
typedef struct st_s3_entry {
    const char *key;
    int64_t size;
    const char *etag;          /* quoted, as stored */
    int64_t modified;          /* unix seconds */
} st_s3_entry;

typedef struct st_s3_list_page {
    const char *bucket;
    apr_array_header_t *contents;        /* st_s3_entry */
    apr_array_header_t *common_prefixes; /* const char * */
    int truncated;
    const char *next_token;    /* when truncated */
} st_s3_list_page;

/* The ListBucketResult document of page for query. */
const char *st_s3_list_xml(apr_pool_t *p, const st_s3_list_query *q, const st_s3_list_page *page);

/* ---- s3_list.c: the listing from the metadata rows ---- */

/* Fills page for q from bucket's complete objects in env (only those of
 * owner when owner is not NULL). APR_SUCCESS or the database's error. */
apr_status_t st_s3_list(cb_db *db, apr_pool_t *p, const char *env, const char *bucket,
                        const char *owner, const st_s3_list_query *q, st_s3_list_page *page);

/* ---- s3_endpoint.c ---- */

/* Reads the s3_* options, resolves the keys' secrets and adds the routes
 * when s3_prefix is not "off". 0 after recording a configuration error. */
int st_s3_setup(cb_plugin_ctx *ctx, st_state *st);

#endif
