/*
 * test_storage_s3.c: the storage plugin's S3 endpoint without a server:
 * path-style targets, ListObjectsV2 queries and continuation tokens,
 * s3_key lines and s3_prefix values, XML escaping and the
 * ListBucketResult document (case parse); and the listing over real
 * metadata rows in SQLite, paged by every max-keys from 1 to past the end,
 * with and without delimiters (one-byte, several bytes, non-ASCII), an
 * owner filter, pending rows and other buckets and environments left out
 * (case listing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "../../mod_cloudbase/core/db_internal.h"
#include "s3.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static const char *target_error(const char *path, st_s3_target *t)
{
    const char *why;
    return st_s3_parse_target(pool, "/s3", path, t, &why);
}

START_TEST(targets)
{
    st_s3_target t;
    ck_assert_ptr_null(target_error("/s3/files", &t));
    ck_assert_str_eq(t.bucket, "files");
    ck_assert_ptr_null(t.key);
    ck_assert_ptr_null(target_error("/s3/files/", &t));
    ck_assert_ptr_null(t.key);
    ck_assert_ptr_null(target_error("/s3/files/a/b%20c%2Bd.txt", &t));
    ck_assert_str_eq(t.key, "a/b c+d.txt");
    ck_assert_ptr_null(target_error("/s3/files/a+b", &t));
    ck_assert_str_eq(t.key, "a+b");                          /* '+' in a path is '+' */
    ck_assert_str_eq(target_error("/s3", &t), "InvalidURI");
    ck_assert_str_eq(target_error("/s3x/files/a", &t), "InvalidURI");
    ck_assert_str_eq(target_error("/s3//a", &t), "InvalidURI");
    ck_assert_str_eq(target_error("/s3/files/a%00b", &t), "InvalidURI");
    ck_assert_str_eq(target_error("/s3/files/a%zz", &t), "InvalidURI");
    ck_assert_str_eq(target_error("/s3/fi%2Fles/a", &t), "InvalidBucketName");
    ck_assert_str_eq(target_error("/s3/files/a/../b", &t), "InvalidArgument");
    ck_assert_str_eq(target_error("/s3/files/a//b", &t), "InvalidArgument");
    ck_assert_str_eq(target_error("/s3/files/dir/", &t), "InvalidArgument");
    ck_assert_str_eq(target_error("/s3/files/a%5Cb", &t), "InvalidArgument");
    {
        char path[1100] = "/s3/files/";
        memset(path + 10, 'k', 1024);
        path[1034] = '\0';
        ck_assert_ptr_null(target_error(path, &t));
        strcat(path, "k");
        ck_assert_str_eq(target_error(path, &t), "KeyTooLongError");
    }
}
END_TEST

static const char *list_error(const char *query, st_s3_list_query *q)
{
    const char *why;
    return st_s3_parse_list_query(pool, query, q, &why);
}

START_TEST(list_queries)
{
    st_s3_list_query q;
    const char *token;
    ck_assert_ptr_null(list_error("list-type=2", &q));
    ck_assert_str_eq(q.prefix, "");
    ck_assert_ptr_null(q.delimiter);
    ck_assert_int_eq(q.max_keys, 1000);
    ck_assert_ptr_null(q.after);
    ck_assert_ptr_null(list_error("list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=7"
                                  "&start-after=a%2Fa&encoding-type=url&fetch-owner=true"
                                  "&x-id=ListObjectsV2", &q));
    ck_assert_str_eq(q.prefix, "a/b");
    ck_assert_str_eq(q.delimiter, "/");
    ck_assert_int_eq(q.max_keys, 7);
    ck_assert_str_eq(q.after, "a/a");
    ck_assert_int_eq(q.url_encoding, 1);
    ck_assert_ptr_null(list_error("list-type=2&max-keys=5000&delimiter=", &q));
    ck_assert_int_eq(q.max_keys, 1000);
    ck_assert_ptr_null(q.delimiter);
    ck_assert_ptr_null(list_error("list-type=2&max-keys=0", &q));
    ck_assert_int_eq(q.max_keys, 0);
    ck_assert_str_eq(list_error("", &q), "NotImplemented");          /* ListObjects v1 */
    ck_assert_str_eq(list_error("list-type=1", &q), "NotImplemented");
    ck_assert_str_eq(list_error("location", &q), "NotImplemented");
    ck_assert_str_eq(list_error("list-type=2&max-keys=-1", &q), "InvalidArgument");
    ck_assert_str_eq(list_error("list-type=2&max-keys=1x", &q), "InvalidArgument");
    ck_assert_str_eq(list_error("list-type=2&encoding-type=base64", &q), "InvalidArgument");
    ck_assert_str_eq(list_error("list-type=2&prefix=%zz", &q), "InvalidArgument");
    ck_assert_str_eq(list_error("list-type=2&continuation-token=nonsense!", &q),
                     "InvalidArgument");
    ck_assert_str_eq(list_error("list-type=2&continuation-token=", &q), "InvalidArgument");
    /* a token names where its page ended; it wins over start-after */
    token = st_s3_continuation_token(pool, "dir/sub/", 1);
    ck_assert_ptr_null(list_error(apr_pstrcat(pool, "list-type=2&start-after=zzz&"
                                              "continuation-token=", token, NULL), &q));
    ck_assert_str_eq(q.after, "dir/sub/");
    ck_assert_str_eq(q.skip_prefix, "dir/sub/");
    ck_assert_str_eq(q.continuation_token, token);
    token = st_s3_continuation_token(pool, "dir/key.txt", 0);
    ck_assert_ptr_null(list_error(apr_pstrcat(pool, "list-type=2&continuation-token=", token,
                                              NULL), &q));
    ck_assert_str_eq(q.after, "dir/key.txt");
    ck_assert_ptr_null(q.skip_prefix);
}
END_TEST

START_TEST(key_lines_and_prefixes)
{
    st_s3_key k;
    ck_assert_ptr_null(st_s3_parse_key_line(pool, "AKID1 secret=file:/k bucket=a,b admin", &k));
    ck_assert_str_eq(k.access_key, "AKID1");
    ck_assert_str_eq(k.secret_spec, "file:/k");
    ck_assert_int_eq(k.admin, 1);
    ck_assert_int_eq(apr_hash_count(k.buckets), 2);
    ck_assert_ptr_nonnull(apr_hash_get(k.buckets, "b", APR_HASH_KEY_STRING));
    ck_assert_ptr_null(st_s3_parse_key_line(pool, "AKID2 admin secret=env:S3_SECRET", &k));
    ck_assert_int_eq(k.admin, 1);
    ck_assert_ptr_null(k.buckets);
    ck_assert_ptr_null(st_s3_parse_key_line(pool, "AKID3 secret=env:S3_SECRET", &k));
    ck_assert_int_eq(k.admin, 0);
    ck_assert_ptr_nonnull(strstr(st_s3_parse_key_line(pool, "AKID secret=literal", &k),
                                 "file:PATH or env:NAME"));
    ck_assert_ptr_nonnull(st_s3_parse_key_line(pool, "AKID", &k));
    ck_assert_ptr_nonnull(st_s3_parse_key_line(pool, "AK secret=env:X", &k));
    ck_assert_ptr_nonnull(st_s3_parse_key_line(pool, "AKID/x secret=env:X", &k));
    ck_assert_ptr_nonnull(st_s3_parse_key_line(pool, "AKID secret=env:X bucket=a/b", &k));
    ck_assert_ptr_nonnull(st_s3_parse_key_line(pool, "AKID secret=env:X bucket=,", &k));
    ck_assert_ptr_nonnull(st_s3_parse_key_line(pool, "AKID secret=env:X region=x", &k));
    ck_assert_ptr_nonnull(strstr(st_s3_parse_key_line(pool, "AKID root secret=env:X", &k),
                                 "did you mean 'admin'?"));

    ck_assert_ptr_null(st_s3_prefix_problem("/s3"));
    ck_assert_ptr_null(st_s3_prefix_problem("/api/v1.2/s3-compat"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("s3"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/s3/"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/a//b"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/a/../b"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/a/.."));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/a b"));
    ck_assert_ptr_nonnull(st_s3_prefix_problem("/{bucket}"));
}
END_TEST

START_TEST(xml)
{
    st_s3_list_query q;
    st_s3_list_page page = {.bucket = "files", .truncated = 1, .next_token = "TOKEN"};
    st_s3_entry *e;
    const char *xml;
    ck_assert_str_eq(st_xml_escape(pool, "a<b>&\"c'\x01"),
                     "a&lt;b&gt;&amp;&quot;c&apos;&#x01;");
    ck_assert_ptr_null(list_error("list-type=2&prefix=a%26&delimiter=%2F&max-keys=2", &q));
    page.contents = apr_array_make(pool, 1, sizeof(st_s3_entry));
    page.common_prefixes = apr_array_make(pool, 1, sizeof(const char *));
    e = apr_array_push(page.contents);
    e->key = "a&b.txt";
    e->size = 5;
    e->etag = "\"5-abc\"";
    e->modified = 1700000000;
    APR_ARRAY_PUSH(page.common_prefixes, const char *) = "a&/";
    xml = st_s3_list_xml(pool, &q, &page);
    ck_assert_str_eq(xml,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<Name>files</Name><Prefix>a&amp;</Prefix><Delimiter>/</Delimiter>"
                     "<MaxKeys>2</MaxKeys><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
                     "<NextContinuationToken>TOKEN</NextContinuationToken>"
                     "<Contents><Key>a&amp;b.txt</Key>"
                     "<LastModified>2023-11-14T22:13:20.000Z</LastModified>"
                     "<ETag>&quot;5-abc&quot;</ETag><Size>5</Size>"
                     "<StorageClass>STANDARD</StorageClass></Contents>"
                     "<CommonPrefixes><Prefix>a&amp;/</Prefix></CommonPrefixes>"
                     "</ListBucketResult>");
    ck_assert_ptr_null(list_error("list-type=2&encoding-type=url", &q));
    page.truncated = 0;
    xml = st_s3_list_xml(pool, &q, &page);
    ck_assert_ptr_nonnull(strstr(xml, "<Key>a%26b.txt</Key>"));
    ck_assert_ptr_nonnull(strstr(xml, "<EncodingType>url</EncodingType>"));
    ck_assert_ptr_null(strstr(xml, "NextContinuationToken"));
}
END_TEST

/* ---------------------------------------------------------------- listing */

static cb_db *db;
static char db_dir[64];

static void add(const char *env, const char *bucket, const char *path, const char *owner)
{
    ck_assert_int_eq(st_meta_complete(db, pool, env, bucket, path, owner, "text/plain",
                                      (int64_t)strlen(path), "\"e\""), APR_SUCCESS);
}

static void db_setup(void)
{
    char line[128];
    cb_db_config cfg;
    const char *err;
    static const char *const keys[] = {
        "a.txt", "b/1", "b/2", "b/3", "b/c/4", "c", "d--x", "d--y--z", "e\xc3\xa9" "1",
        "e\xc3\xa9" "2", "f", NULL};
    setup();
    snprintf(db_dir, sizeof(db_dir), "/tmp/cb-s3-list-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(db_dir));
    snprintf(line, sizeof(line), "sqlite3:%s/meta.db", db_dir);
    ck_assert_ptr_null(cb_db_config_parse(pool, line, &cfg));
    ck_assert_ptr_null(cb_db_create(pool, &cfg, &db));
    cb_db_add_migrations(db, "storage", st_migrations, 1);
    err = cb_db_child_init(db, pool);
    ck_assert_msg(err == NULL, "%s", err);
    for (int i = 0; keys[i]; i++)
        add("demo", "files", keys[i], i % 2 ? "s3:AKID" : "alice");
    add("demo", "other", "a.txt", "alice");     /* another bucket */
    add("prod", "files", "b/9", "alice");       /* another environment */
    ck_assert_int_eq(st_meta_claim(db, pool, "demo", "files", "b/0", "alice"), APR_SUCCESS);
}

static void db_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", db_dir);
    ck_assert_int_eq(system(cmd), 0);
    teardown();
}

/* Every entry of a listing, paged by max_keys through continuation tokens:
 * keys as "k:KEY", common prefixes as "p:PREFIX", joined by ' '; checks
 * that each page but the last is full and truncated. */
static const char *walk(const char *prefix, const char *delimiter, int max_keys,
                        const char *owner)
{
    const char *all = "", *token = NULL;
    for (int pages = 0; pages < 50; pages++) {
        st_s3_list_query q;
        st_s3_list_page page;
        const char *query = apr_psprintf(pool, "list-type=2&max-keys=%d&prefix=%s%s%s%s%s",
                                         max_keys, prefix, delimiter ? "&delimiter=" : "",
                                         delimiter ? delimiter : "",
                                         token ? "&continuation-token=" : "",
                                         token ? token : "");
        ck_assert_ptr_null(list_error(query, &q));
        ck_assert_int_eq(st_s3_list(db, pool, "demo", "files", owner, &q, &page), APR_SUCCESS);
        for (int i = 0; i < page.contents->nelts; i++)
            all = apr_pstrcat(pool, all, *all ? " " : "", "k:",
                              APR_ARRAY_IDX(page.contents, i, st_s3_entry).key, NULL);
        for (int i = 0; i < page.common_prefixes->nelts; i++)
            all = apr_pstrcat(pool, all, *all ? " " : "", "p:",
                              APR_ARRAY_IDX(page.common_prefixes, i, const char *), NULL);
        if (!page.truncated)
            return all;
        ck_assert_int_eq(page.contents->nelts + page.common_prefixes->nelts, max_keys);
        ck_assert_ptr_nonnull(page.next_token);
        token = page.next_token;
    }
    ck_abort_msg("the listing did not end");
    return NULL;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of a walk() result, sorted. */
static const char *sorted(const char *entries)
{
    apr_array_header_t *list = apr_array_make(pool, 16, sizeof(const char *));
    char *copy = apr_pstrdup(pool, entries), *state = NULL, *word;
    const char *out = "";
    for (word = apr_strtok(copy, " ", &state); word; word = apr_strtok(NULL, " ", &state))
        APR_ARRAY_PUSH(list, const char *) = word;
    qsort(list->elts, (size_t)list->nelts, sizeof(const char *), compare_strings);
    for (int i = 0; i < list->nelts; i++)
        out = apr_pstrcat(pool, out, i ? " " : "", APR_ARRAY_IDX(list, i, const char *), NULL);
    return out;
}

/* One page holds the whole listing as expected; every page size from 1 to
 * 12 gives the same entries, each once (a page lists its keys before its
 * prefixes, so pages are compared as sets). */
static void expect_listing(const char *prefix, const char *delimiter, const char *owner,
                           const char *expected)
{
    ck_assert_str_eq(walk(prefix, delimiter, 1000, owner), expected);
    for (int n = 1; n <= 12; n++) {
        const char *paged = walk(prefix, delimiter, n, owner);
        ck_assert_msg(strcmp(sorted(paged), sorted(expected)) == 0, "max-keys %d: %s vs %s", n,
                      paged, expected);
    }
}

START_TEST(listing_without_delimiter)
{
    expect_listing("", NULL, NULL,
                   "k:a.txt k:b/1 k:b/2 k:b/3 k:b/c/4 k:c k:d--x k:d--y--z k:e\xc3\xa9" "1 "
                   "k:e\xc3\xa9" "2 k:f");
    expect_listing("b/", NULL, NULL, "k:b/1 k:b/2 k:b/3 k:b/c/4");
    expect_listing("zzz", NULL, NULL, "");
    expect_listing("", NULL, "s3:AKID", "k:b/1 k:b/3 k:c k:d--y--z k:e\xc3\xa9" "2");
}
END_TEST

START_TEST(listing_with_delimiters)
{
    expect_listing("", "/", NULL,
                   "k:a.txt k:c k:d--x k:d--y--z k:e\xc3\xa9" "1 k:e\xc3\xa9" "2 k:f p:b/");
    expect_listing("b/", "/", NULL, "k:b/1 k:b/2 k:b/3 p:b/c/");
    expect_listing("", "--", NULL,
                   "k:a.txt k:b/1 k:b/2 k:b/3 k:b/c/4 k:c k:e\xc3\xa9" "1 k:e\xc3\xa9" "2 k:f "
                   "p:d--");
    expect_listing("d--", "--", NULL, "k:d--x p:d--y--");
    /* a delimiter whose last byte is not ASCII: no jump past the prefix,
     * the rows in it are skipped one by one */
    expect_listing("", "\xc3\xa9", NULL,
                   "k:a.txt k:b/1 k:b/2 k:b/3 k:b/c/4 k:c k:d--x k:d--y--z k:f p:e\xc3\xa9");
}
END_TEST

/* Paged by one: exactly one entry per page, in key order, prefixes in
 * their place. */
START_TEST(listing_one_per_page_keeps_order)
{
    ck_assert_str_eq(walk("", "/", 1, NULL),
                     "k:a.txt p:b/ k:c k:d--x k:d--y--z k:e\xc3\xa9" "1 k:e\xc3\xa9" "2 k:f");
    ck_assert_str_eq(walk("", "%C3%A9", 1, NULL),
                     "k:a.txt k:b/1 k:b/2 k:b/3 k:b/c/4 k:c k:d--x k:d--y--z p:e\xc3\xa9 k:f");
    ck_assert_str_eq(walk("", "/", 2, NULL),
                     "k:a.txt p:b/ k:c k:d--x k:d--y--z k:e\xc3\xa9" "1 k:e\xc3\xa9" "2 k:f");
}
END_TEST

Suite *storage_s3_parse_suite(void)
{
    Suite *s = suite_create("storage_s3_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, targets);
    tcase_add_test(tc, list_queries);
    tcase_add_test(tc, key_lines_and_prefixes);
    tcase_add_test(tc, xml);
    suite_add_tcase(s, tc);
    tc = tcase_create("listing");
    tcase_add_checked_fixture(tc, db_setup, db_teardown);
    tcase_add_test(tc, listing_without_delimiter);
    tcase_add_test(tc, listing_with_delimiters);
    tcase_add_test(tc, listing_one_per_page_keeps_order);
    suite_add_tcase(s, tc);
    return s;
}
