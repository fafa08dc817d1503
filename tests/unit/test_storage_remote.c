/*
 * test_storage_remote.c: the storage plugin's remote bucket parts
 * (plugins/storage/remote.c, s3_backend.c, cos_backend.c) without a
 * store: bucket settings (S3 path-style and virtual-hosted hosts, the COS
 * default endpoint, secrets only from env:/file:), store keys, the raw
 * writing of %2F/%3D, and that a presigned S3 URL so written still passes
 * the core's SigV4 verifier (and fails with another secret) and has no
 * byte the SDK's encodeURI would change, and a PUT binds the declared
 * length and type; the COS upload authorization
 * signs host, x-cos-meta-fileid and the declared length and type.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <check.h>

#include "remote.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

/* st_remote_parse of "NAME words... settings"; NULL or the error. */
static const char *parse(const char *text, st_remote **r)
{
    cb_option_line line;
    const char *err = cb_option_line_parse(pool, text, 1, 3, &line);
    return err ? err : st_remote_parse(pool, &line, r);
}

START_TEST(bucket_settings)
{
    st_remote *r;
    const char *err;
    setenv("IT_REMOTE_SECRET", "s3cr3t", 1);
    err = parse("f backend=s3 endpoint=http://127.0.0.1:9000 region=us-east-1 bucket_name=bkt "
                "access_key=AK secret_key=env:IT_REMOTE_SECRET", &r);
    ck_assert_msg(!err, "%s", err);
    ck_assert_str_eq(r->host, "127.0.0.1:9000");
    ck_assert_str_eq(r->endpoint, "http://127.0.0.1:9000");
    ck_assert_str_eq(r->secret_key, "s3cr3t");
    ck_assert_int_eq(r->virtual_hosted, 0);
    ck_assert_ptr_null(r->session_token);
    err = parse("f virtual_host backend=s3 endpoint=https://s3.example.com region=eu-west-1 "
                "bucket_name=bkt access_key=AK secret_key=env:IT_REMOTE_SECRET prefix=env1", &r);
    ck_assert_msg(!err, "%s", err);
    ck_assert_str_eq(r->host, "bkt.s3.example.com");
    ck_assert_str_eq(r->prefix, "env1/");
    err = parse("f backend=cos region=ap-guangzhou bucket_name=files-1250000000 secret_id=AKID "
                "secret_key=env:IT_REMOTE_SECRET security_token=env:IT_REMOTE_SECRET", &r);
    ck_assert_msg(!err, "%s", err);
    ck_assert_str_eq(r->host, "files-1250000000.cos.ap-guangzhou.myqcloud.com");
    ck_assert_str_eq(r->scheme, "https");
    ck_assert_str_eq(r->session_token, "s3cr3t");
    /* refused, and the message never holds the secret */
    err = parse("f backend=s3 endpoint=http://h region=r bucket_name=bkt access_key=AK "
                "secret_key=s3cr3t", &r);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "s3cr3t"));
    setenv("IT_REMOTE_EMPTY", "", 1);
    ck_assert_ptr_nonnull(parse("f backend=s3 endpoint=http://h region=r bucket_name=bkt "
                                "access_key=AK secret_key=env:IT_REMOTE_EMPTY", &r));
    ck_assert_ptr_nonnull(parse("f virtual_host backend=s3 endpoint=http://10.0.0.1 region=r "
                                "bucket_name=bkt access_key=AK secret_key=env:IT_REMOTE_SECRET",
                                &r));
    ck_assert_ptr_nonnull(parse("f backend=s3 endpoint=ftp://h region=r bucket_name=bkt "
                                "access_key=AK secret_key=env:IT_REMOTE_SECRET", &r));
    ck_assert_ptr_nonnull(parse("f backend=s3 endpoint=http://h region=r bucket_name=bkt "
                                "access_key=AK secret_key=env:IT_REMOTE_SECRET prefix=/abs", &r));
    ck_assert_ptr_nonnull(parse("f backend=cos region=r bucket_name=files-12a secret_id=A "
                                "secret_key=env:IT_REMOTE_SECRET", &r));
    ck_assert_ptr_nonnull(parse("f backend=cos region=r bucket_name=files-12 secret_id=A "
                                "secret_key=env:IT_REMOTE_SECRET access_key=x", &r));
}
END_TEST

START_TEST(store_keys_and_unescape)
{
    st_remote r = {.kind = ST_REMOTE_S3, .prefix = ""};
    ck_assert_str_eq(st_remote_key(pool, &r, "a/b-c_d.e~f.txt"), "a/b-c_d.e~f.txt");
    ck_assert_str_eq(st_remote_key(pool, &r, "hello world"), "~aGVsbG8gd29ybGQ");
    ck_assert_str_eq(st_remote_key(pool, &r, "~x"), "~fng");
    r.prefix = "env1/";
    ck_assert_str_eq(st_remote_key(pool, &r, "a(1)"), "env1/~YSgxKQ");
    ck_assert_str_eq(st_remote_unescape(pool, "a%2Fb%2fc%3Dd%3de%2Bf%25g%3Bh%3b%3"),
                     "a/b/c=d=e%2Bf%25g;h;%3");
}
END_TEST

static const char *secret_of(void *ctx, const char *access_key)
{
    return strcmp(access_key, "AKIDEXAMPLE") == 0 ? ctx : NULL;
}

/* Verifies a presigned URL with the core's SigV4 verifier under secret,
 * the request carrying length and type (NULL: no such header). */
static cb_sigv4_status verify_request(const char *url, const char *method, const char *secret,
                                      const char *length, const char *type)
{
    const char *rest = strstr(url, "://") + 3, *slash = strchr(rest, '/');
    const char *q = strchr(slash, '?');
    apr_table_t *headers = apr_table_make(pool, 2);
    cb_sigv4_incoming in = {.method = method, .path = apr_pstrndup(pool, slash, (apr_size_t)(q - slash)),
                            .query = q + 1, .headers = headers, .service = "s3",
                            .region = "us-east-1", .now = apr_time_sec(apr_time_now()),
                            .secret = secret_of, .secret_ctx = (void *)secret};
    cb_sigv4_verified out;
    apr_table_set(headers, "Host", apr_pstrndup(pool, rest, (apr_size_t)(slash - rest)));
    if (length)
        apr_table_set(headers, "Content-Length", length);
    if (type)
        apr_table_set(headers, "Content-Type", type);
    return cb_sigv4_verify(pool, &in, &out);
}

static cb_sigv4_status verify_url(const char *url, const char *method, const char *secret)
{
    return verify_request(url, method, secret, NULL, NULL);
}

START_TEST(s3_presigned_urls_verify_and_survive_encode_uri)
{
    st_remote r = {.kind = ST_REMOTE_S3, .scheme = "http", .host = "127.0.0.1:9000",
                   .endpoint = "http://127.0.0.1:9000", .region = "us-east-1",
                   .bucket_name = "bkt", .prefix = "", .access_key = "AKIDEXAMPLE",
                   .secret_key = "secret-one", .session_token = "tok/en=="};
    st_upload_grant g = {0};
    st_remote_upload up;
    const char *get;
    st_remote_sign_upload(pool, &r, "dir/hello world (1).txt", &g, "fileid", 900, &up);
    ck_assert_str_eq(up.authorization, "");
    ck_assert_str_eq(up.token, "");
    ck_assert_msg(strncmp(up.url, "http://127.0.0.1:9000/bkt/~", 27) == 0, "%s", up.url);
    ck_assert_int_eq(verify_url(up.url, "PUT", "secret-one"), CB_SIGV4_OK);
    ck_assert_int_eq(verify_url(up.url, "PUT", "secret-two"), CB_SIGV4_BAD_SIGNATURE);
    ck_assert_int_eq(verify_url(up.url, "GET", "secret-one"), CB_SIGV4_BAD_SIGNATURE);
    /* the length and type the SDK declared are signed too */
    g.binds = ST_SIGN_LENGTH | ST_SIGN_TYPE;
    g.length = 5;
    g.type = "text/plain";
    st_remote_sign_upload(pool, &r, "a/b.txt", &g, "fileid", 900, &up);
    ck_assert_msg(strstr(up.url, "&X-Amz-SignedHeaders=content-length;content-type;host"), "%s",
                  up.url);
    ck_assert_int_eq(verify_request(up.url, "PUT", "secret-one", "5", "text/plain"), CB_SIGV4_OK);
    ck_assert_int_eq(verify_request(up.url, "PUT", "secret-one", "6", "text/plain"),
                     CB_SIGV4_BAD_SIGNATURE);
    ck_assert_int_eq(verify_request(up.url, "PUT", "secret-one", "5", "text/html"),
                     CB_SIGV4_BAD_SIGNATURE);
    get = st_remote_download_url(pool, &r, "a/b.txt", 3600);
    ck_assert_int_eq(verify_url(get, "GET", "secret-one"), CB_SIGV4_OK);
    /* only bytes encodeURI leaves alone, and no '%' */
    ck_assert_msg(strspn(get, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              "-_.!~*'();/?:@&=+$,#") == strlen(get), "%s", get);
    r.virtual_hosted = 1;
    r.host = "bkt.s3.localhost:9000";
    r.endpoint = "http://s3.localhost:9000";
    get = st_remote_download_url(pool, &r, "a/b.txt", 3600);
    ck_assert_msg(strncmp(get, "http://bkt.s3.localhost:9000/a/b.txt?", 37) == 0, "%s", get);
    ck_assert_int_eq(verify_url(get, "GET", "secret-one"), CB_SIGV4_OK);
}
END_TEST

START_TEST(cos_upload_authorization)
{
    st_remote r = {.kind = ST_REMOTE_COS, .scheme = "http", .host = "127.0.0.1:9000",
                   .endpoint = "http://127.0.0.1:9000", .region = "ap-guangzhou",
                   .bucket_name = "files-125", .prefix = "", .access_key = "AKIDEXAMPLE",
                   .secret_key = "secret-one", .session_token = "tok+en"};
    st_upload_grant g = {.binds = ST_SIGN_LENGTH | ST_SIGN_TYPE, .length = 5,
                         .type = "text/plain"};
    st_remote_upload up;
    const char *get;
    st_remote_sign_upload(pool, &r, "a/b.txt", &g, "f1d", 900, &up);
    ck_assert_str_eq(up.url, "http://127.0.0.1:9000/a/b.txt");
    ck_assert_str_eq(up.token, "tok+en");
    ck_assert_msg(strncmp(up.authorization, "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&", 39) == 0 &&
                  strstr(up.authorization,
                         "&q-header-list=content-length;content-type;host;x-cos-meta-fileid&"),
                  "%s", up.authorization);
    g.binds = 0;
    st_remote_sign_upload(pool, &r, "a/b.txt", &g, "f1d", 900, &up);
    ck_assert_msg(strstr(up.authorization, "&q-header-list=host;x-cos-meta-fileid&"), "%s",
                  up.authorization);
    get = st_remote_download_url(pool, &r, "a/b.txt", 900);
    ck_assert_msg(strstr(get, "&q-header-list=host&") &&
                  strstr(get, "&x-cos-security-token=tok%2Ben"), "%s", get);
}
END_TEST

Suite *storage_remote_suite(void)
{
    Suite *s = suite_create("storage_remote");
    TCase *tc = tcase_create("offline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bucket_settings);
    tcase_add_test(tc, store_keys_and_unescape);
    tcase_add_test(tc, s3_presigned_urls_verify_and_survive_encode_uri);
    tcase_add_test(tc, cos_upload_authorization);
    suite_add_tcase(s, tc);
    return s;
}
