/*
 * test_sign_oracle.c: the signers (core/sigv4.c, core/cos_sign.c) against
 * the official JavaScript SDKs, pinned in tests/sdk: for several inputs each,
 * cb_s3_presign_url must equal @aws-sdk/s3-request-presigner's URL byte for
 * byte (tests/sdk/signers/s3-presign-oracle.js), and cb_cos_authorization
 * must equal cos-nodejs-sdk-v5's getAuthorization
 * (tests/sdk/signers/cos-auth-oracle.js). Each C URL must also pass
 * cb_sigv4_verify. The header signer must sign S3 requests as
 * @aws-sdk/client-s3 does (tests/sdk/signers/s3-sign-headers-oracle.js), and
 * the verifier must take the SDK's requests. Needs node and `npm ci` in tests/sdk (scripts/test.sh does
 * it); without them the test fails. The scripts only compute: no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <check.h>
#include <jansson.h>

#include "cloudbase/encoding.h"
#include "cloudbase/sign.h"

#ifndef CB_SDK_DIR
#error "CB_SDK_DIR must name tests/sdk"
#endif

static apr_pool_t *pool;

static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

/* Runs node script with lines (n JSON texts) on stdin; the output lines. */
static char **run_oracle(const char *script, char **lines, size_t n)
{
    char in_path[] = "/tmp/cb-sign-oracle-XXXXXX";
    int fd = mkstemp(in_path);
    ck_assert_int_ge(fd, 0);
    FILE *in = fdopen(fd, "w");
    for (size_t i = 0; i < n; i++)
        fprintf(in, "%s\n", lines[i]);
    fclose(in);
    ck_assert_msg(access(CB_SDK_DIR "/node_modules/@aws-sdk/s3-request-presigner", F_OK) == 0 &&
                      access(CB_SDK_DIR "/node_modules/cos-nodejs-sdk-v5", F_OK) == 0,
                  "run `npm ci` in " CB_SDK_DIR " first (scripts/test.sh does)");
    const char *cmd = apr_psprintf(pool,
                                   "cd '%s' && AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING=1 "
                                   "node signers/%s < '%s' 2>/dev/null",
                                   CB_SDK_DIR, script, in_path);
    FILE *out = popen(cmd, "r");
    ck_assert_ptr_nonnull(out);
    char **res = apr_pcalloc(pool, sizeof *res * (n + 1));
    char buf[8192];
    size_t got = 0;
    while (fgets(buf, sizeof buf, out)) {
        buf[strcspn(buf, "\n")] = '\0';
        ck_assert_uint_lt(got, n);
        res[got++] = apr_pstrdup(pool, buf);
    }
    int rc = pclose(out);
    unlink(in_path);
    ck_assert_msg(rc == 0, "node signers/%s failed (%d)", script, rc);
    ck_assert_uint_eq(got, n);
    return res;
}

typedef struct {
    const char *endpoint, *region, *bucket, *key, *method;
    int virtual_hosted;
    const char *token, *disposition;
    int64_t when;
    int expires;
} s3_case;

static const s3_case s3_cases[] = {
    { "http://127.0.0.1:9000", "us-east-1", "bkt", "a b/c+d~e/ü.txt", "GET", 0, NULL,
      "attachment; filename=\"x y.txt\"", 1700000000, 900 },
    { "https://s3.us-east-1.amazonaws.com", "us-east-1", "bkt", "k/x.bin", "PUT", 1, "tok/+=", NULL,
      1700000000, 3600 },
    { "https://s3.eu-west-3.amazonaws.com", "eu-west-3", "my-bucket", "日本語/ファイル 1.png", "GET", 1, NULL,
      NULL, 1712345678, 604800 },
    { "http://127.0.0.1:9000", "auto", "bkt", "sp ace/!'()*/%25/a=b&c?d#e", "PUT", 0, "FwoGZXIvYXdzEBY/x+y==",
      NULL, 1699999999, 60 },
    { "https://minio.example.test:9443", "us-west-2", "b2", "dir//double/slash~tilde+plus", "GET", 0, NULL,
      "inline", 1700086399, 1 },
    { "https://cos.ap-shanghai.myqcloud.com", "ap-shanghai", "envbucket-1250000000", "cloudbase/u1/头像.jpg",
      "GET", 1, "session", "attachment; filename*=UTF-8''%E5%A4%B4.jpg", 1700000000, 7200 },
};

/* j as one compact line, from the pool; j is released. */
static char *json_line(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT), *line = apr_pstrdup(pool, text);
    free(text);
    json_decref(j);
    return line;
}

static const char *lookup_secret(void *ctx, const char *access_key)
{
    (void)access_key;
    return ctx;
}

START_TEST(s3_presigner_matches_sdk)
{
    size_t n = sizeof s3_cases / sizeof *s3_cases;
    char **lines = apr_palloc(pool, sizeof *lines * n);
    const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    for (size_t i = 0; i < n; i++) {
        const s3_case *c = &s3_cases[i];
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:I, s:i}", "endpoint", c->endpoint,
                              "region", c->region, "bucket", c->bucket, "key", c->key, "method", c->method,
                              "virtualHosted", c->virtual_hosted, "accessKey", "AKIDEXAMPLE", "secretKey", secret,
                              "when", (json_int_t)c->when, "expires", c->expires);
        if (c->token)
            json_object_set_new(j, "sessionToken", json_string(c->token));
        if (c->disposition)
            json_object_set_new(j, "responseContentDisposition", json_string(c->disposition));
        lines[i] = json_line(j);
    }
    char **sdk = run_oracle("s3-presign-oracle.js", lines, n);
    for (size_t i = 0; i < n; i++) {
        const s3_case *c = &s3_cases[i];
        cb_sigv4_credentials cred = { "AKIDEXAMPLE", secret, c->token };
        cb_sign_pair q[2];
        size_t nq = 0;
        q[nq++] = (cb_sign_pair){ "x-id", !strcmp(c->method, "PUT") ? "PutObject" : "GetObject" };
        if (c->disposition)
            q[nq++] = (cb_sign_pair){ "response-content-disposition", c->disposition };
        cb_s3_object o = { .endpoint = c->endpoint, .bucket = c->bucket, .key = c->key,
                           .virtual_hosted = c->virtual_hosted, .method = c->method, .query = q, .n_query = nq };
        const char *url = cb_s3_presign_url(pool, &cred, c->region, &o, c->when, c->expires);
        ck_assert_ptr_nonnull(url);
        ck_assert_msg(!strcmp(url, sdk[i]), "case %zu:\n C: %s\nJS: %s", i, url, sdk[i]);

        /* And the verifier takes the URL it made. */
        const char *rest = strstr(url, "://") + 3, *slash = strchr(rest, '/'), *qm = strchr(slash, '?');
        apr_table_t *h = apr_table_make(pool, 1);
        apr_table_set(h, "Host", apr_pstrndup(pool, rest, (size_t)(slash - rest)));
        cb_sigv4_incoming in = { .method = c->method, .path = apr_pstrndup(pool, slash, (size_t)(qm - slash)),
                                 .query = qm + 1, .headers = h, .service = "s3", .region = c->region,
                                 .now = c->when + c->expires, .secret = lookup_secret,
                                 .secret_ctx = (void *)secret };
        cb_sigv4_verified v;
        ck_assert_int_eq(cb_sigv4_verify(pool, &in, &v), CB_SIGV4_OK);
        ck_assert(v.presigned);
        if (c->token)
            ck_assert_str_eq(v.session_token, c->token);
    }
}
END_TEST

typedef struct {
    const char *endpoint, *bucket, *key, *op, *copy_source, *body, *token;
    int virtual_hosted;
    int64_t when;
} s3_request_case;

static const s3_request_case s3_request_cases[] = {
    { "http://127.0.0.1:9000", "bkt", "a b/ü+~.txt", "CopyObject", "bkt/src%20key.txt", NULL, "tok/+=", 0,
      1700000000 },
    { "https://s3.us-east-1.amazonaws.com", "bkt", "k/x.txt", "PutObject", NULL, "hello", NULL, 1, 1700000000 },
    { "https://s3.us-east-1.amazonaws.com", "bkt", "dir//日本 (1).txt", "DeleteObject", NULL, NULL, NULL, 1,
      1712345678 },
    { "http://127.0.0.1:9000", "env-bkt", "!'()*=&?#%", "DeleteObject", NULL, NULL, "session", 0, 1699999999 },
};

/* The names SignedHeaders= lists in an Authorization value. */
static int is_signed(const char *authorization, const char *name)
{
    const char *list = strstr(authorization, "SignedHeaders=");
    ck_assert_ptr_nonnull(list);
    list += strlen("SignedHeaders=");
    size_t len = strcspn(list, ","), n = strlen(name);
    for (const char *p = list; p < list + len; p += strcspn(p, ";,") + 1)
        if (!strncmp(p, name, n) && (p[n] == ';' || p[n] == ','))
            return 1;
    return 0;
}

/* The SDK's header-signed S3 requests (DeleteObject, CopyObject, PutObject),
 * signed again by cb_sigv4_sign_headers from the same headers: the same
 * Authorization, x-amz-date and x-amz-content-sha256; and each SDK request
 * passes cb_sigv4_verify. */
START_TEST(s3_header_signer_matches_sdk)
{
    size_t n = sizeof s3_request_cases / sizeof *s3_request_cases;
    char **lines = apr_palloc(pool, sizeof *lines * n);
    const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    for (size_t i = 0; i < n; i++) {
        const s3_request_case *c = &s3_request_cases[i];
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:I}", "endpoint", c->endpoint, "region",
                              "us-east-1", "bucket", c->bucket, "key", c->key, "op", c->op, "virtualHosted",
                              c->virtual_hosted, "accessKey", "AKIDEXAMPLE", "secretKey", secret, "when",
                              (json_int_t)c->when);
        if (c->token)
            json_object_set_new(j, "sessionToken", json_string(c->token));
        if (c->copy_source)
            json_object_set_new(j, "copySource", json_string(c->copy_source));
        if (c->body)
            json_object_set_new(j, "body", json_string(c->body));
        lines[i] = json_line(j);
    }
    char **sdk = run_oracle("s3-sign-headers-oracle.js", lines, n);
    for (size_t i = 0; i < n; i++) {
        const s3_request_case *c = &s3_request_cases[i];
        json_error_t err;
        json_t *r = json_loads(sdk[i], 0, &err), *headers = json_object_get(r, "headers"), *v;
        ck_assert_msg(r != NULL, "case %zu: %s", i, err.text);
        const char *auth = apr_pstrdup(pool, json_string_value(json_object_get(headers, "authorization")));
        const char *raw_path = apr_pstrdup(pool, json_string_value(json_object_get(r, "path")));
        ck_assert_ptr_nonnull(auth);
        cb_sign_pair signed_headers[16], query[4];
        size_t nh = 0, nq = 0;
        const char *name, *raw_query = "";
        apr_table_t *table = apr_table_make(pool, 16);
        json_object_foreach(headers, name, v) {
            const char *value = apr_pstrdup(pool, json_string_value(v));
            apr_table_set(table, name, value);
            if (is_signed(auth, name) && strcmp(name, "host") && strcmp(name, "x-amz-date") &&
                strcmp(name, "x-amz-content-sha256") && strcmp(name, "x-amz-security-token")) {
                ck_assert_uint_lt(nh, 16);
                signed_headers[nh++] = (cb_sign_pair){ apr_pstrdup(pool, name), value };
            }
        }
        json_object_foreach(json_object_get(r, "query"), name, v) {
            ck_assert_uint_lt(nq, 4);
            query[nq++] = (cb_sign_pair){ apr_pstrdup(pool, name), apr_pstrdup(pool, json_string_value(v)) };
            raw_query = apr_pstrcat(pool, raw_query, *raw_query ? "&" : "",
                                    cb_percent_encode(pool, name, strlen(name), 0), "=",
                                    cb_percent_encode(pool, query[nq - 1].value, strlen(query[nq - 1].value), 0),
                                    NULL);
        }
        char *path;
        size_t path_len;
        ck_assert_int_eq(cb_percent_decode(pool, raw_path, strlen(raw_path), &path, &path_len), 0);
        cb_sigv4_credentials cred = { "AKIDEXAMPLE", secret, c->token };
        cb_sigv4_scope scope = { "us-east-1", "s3", c->when };
        cb_sigv4_request req = {
            .method = apr_pstrdup(pool, json_string_value(json_object_get(r, "method"))),
            .host = apr_table_get(table, "host"), .path = path, .query = query, .n_query = nq,
            .headers = signed_headers, .n_headers = nh,
            .payload_hash = apr_table_get(table, "x-amz-content-sha256"), .flags = CB_SIGV4_CONTENT_SHA256_HEADER,
        };
        json_decref(r);
        cb_sigv4_signed out;
        ck_assert_int_eq(cb_sigv4_sign_headers(pool, &cred, &scope, &req, &out), 0);
        ck_assert_msg(!strcmp(out.authorization, auth), "case %zu:\n C: %s\nJS: %s\n%s", i, out.authorization, auth,
                      out.canonical_request);
        ck_assert_str_eq(out.amz_date, apr_table_get(table, "x-amz-date"));
        ck_assert_str_eq(out.content_sha256, apr_table_get(table, "x-amz-content-sha256"));

        cb_sigv4_incoming in = { .method = req.method, .path = raw_path, .query = raw_query, .headers = table,
                                 .service = "s3", .region = "us-east-1", .now = c->when + 899,
                                 .secret = lookup_secret, .secret_ctx = (void *)secret };
        cb_sigv4_verified ver;
        ck_assert_int_eq(cb_sigv4_verify(pool, &in, &ver), CB_SIGV4_OK);
        ck_assert(!ver.presigned);
        in.now = c->when + 901;
        ck_assert_int_eq(cb_sigv4_verify(pool, &in, &ver), CB_SIGV4_SKEWED);
    }
}
END_TEST

typedef struct {
    const char *method, *key;
    cb_sign_pair query[3];
    size_t n_query;
    cb_sign_pair headers[6];
    size_t n_headers;
    int64_t start, end;
} cos_case;

static const cos_case cos_cases[] = {
    { "put", "a b/ü.txt", { { "x", "1 2" } }, 1,
      { { "Content-Type", "text/plain" }, { "x-cos-meta-fileid", "abc" }, { "X-Cos-Security-Token", "t/+" },
        { "Foo", "bar" } }, 4, 1700000000, 1700000900 },
    { "GET", "/cloudbase/u1/头像.jpg", { { "response-content-type", "image/jpeg" }, { "Sign", "" } }, 2,
      { { "Host", "envbucket-1250000000.cos.ap-shanghai.myqcloud.com" }, { "Range", "bytes=0-9" } }, 2,
      1699999999, 1700086399 },
    { "POST", "", { { "uploads", "" }, { "prefix", "a/b c" }, { "max-keys", "10" } }, 3,
      { { "x-cos-meta-fileid", "cloud://env.bkt/a b.txt" }, { "Content-Length", "13" },
        { "Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==" }, { "x-ci-process", "x" }, { "If-None-Match", "\"e\"" },
        { "User-Agent", "ignored" } }, 6, 1700000000, 1700000001 },
    { "delete", "!'()*~/%/=&?", { { "versionId", "MTg0NDUxN!" } }, 1, { { "x-cos-security-token", "tok=/+" } }, 1,
      1700000000, 1700003600 },
};

START_TEST(cos_authorization_matches_sdk)
{
    size_t n = sizeof cos_cases / sizeof *cos_cases;
    char **lines = apr_palloc(pool, sizeof *lines * n);
    for (size_t i = 0; i < n; i++) {
        const cos_case *c = &cos_cases[i];
        json_t *q = json_object(), *h = json_object();
        for (size_t k = 0; k < c->n_query; k++)
            json_object_set_new(q, c->query[k].name, json_string(c->query[k].value));
        for (size_t k = 0; k < c->n_headers; k++)
            json_object_set_new(h, c->headers[k].name, json_string(c->headers[k].value));
        lines[i] = json_line(json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "SecretId", "AKIDcos", "SecretKey",
                              "cos-secret/key+", "Method", c->method, "Key", c->key, "Query", q, "Headers", h,
                              "KeyTime",
                              apr_psprintf(pool, "%" APR_INT64_T_FMT ";%" APR_INT64_T_FMT, c->start, c->end)));
    }
    char **sdk = run_oracle("cos-auth-oracle.js", lines, n);
    for (size_t i = 0; i < n; i++) {
        const cos_case *c = &cos_cases[i];
        cb_cos_request r = { .secret_id = "AKIDcos", .secret_key = "cos-secret/key+", .method = c->method,
                             .key = c->key, .query = c->query, .n_query = c->n_query, .headers = c->headers,
                             .n_headers = c->n_headers, .start = c->start, .end = c->end };
        const char *auth = cb_cos_authorization(pool, &r);
        ck_assert_ptr_nonnull(auth);
        ck_assert_msg(!strcmp(auth, sdk[i]), "case %zu:\n C: %s\nJS: %s", i, auth, sdk[i]);
    }
}
END_TEST

START_TEST(cos_authorization_refuses_bad_input)
{
    cb_cos_request r = { .secret_id = "id", .secret_key = "k", .method = "get", .key = "a", .start = 2, .end = 1 };
    ck_assert_ptr_null(cb_cos_authorization(pool, &r));
    r.end = 3;
    ck_assert_ptr_nonnull(cb_cos_authorization(pool, &r));
    r.secret_key = "";
    ck_assert_ptr_null(cb_cos_authorization(pool, &r));
}
END_TEST

Suite *sign_oracle_suite(void);
Suite *sign_oracle_suite(void)
{
    Suite *s = suite_create("sign_oracle");
    TCase *tc = tcase_create("sdk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, s3_presigner_matches_sdk);
    tcase_add_test(tc, s3_header_signer_matches_sdk);
    tcase_add_test(tc, cos_authorization_matches_sdk);
    tcase_add_test(tc, cos_authorization_refuses_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
