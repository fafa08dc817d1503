/*
 * it_storage_backends.c: the storage plugin's remote buckets in a real
 * apache2. backend=s3 against s3rver (npm, pinned) behind
 * tests/sdk/s3-peer.js, which verifies every SigV4 signature with the AWS
 * SDK's own signer (s3rver 3.7.1 checks only the access key); backend=cos
 * against tests/sdk/cos-peer.js, a verifier built on cos-nodejs-sdk-v5's
 * getAuthorization (not COS). Both on free 127.0.0.1 ports, storing in the
 * test's directory. Cases: the official @cloudbase/js-sdk's upload,
 * temp URL, download, copy and delete round trip, path-style and
 * virtual-hosted (BUCKET.s3.localhost, which curl resolves to loopback
 * itself) and through COS; a length other than the declared one refused
 * by the store (it is signed); a wrong secret key refused by the store and
 * answered per item as STORAGE_REQUEST_FAIL; the owner and a PRIVATE
 * bucket's rule (another user refused); the store down (per-item
 * errors, the batch and the gateway unharmed); and configtest errors that
 * name the fix without showing a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <curl/curl.h>

#include "harness.h"
#include "../common/servers.h"

#define S3_BUCKET "cb-files"
#define WRONG_SECRET "wrong-secret-never-logged-4f1c"
#define COS_ID "AKIDitStorageBackends"
#define COS_BUCKET "files-1250000000"

static int store_port;
static pid_t store_pid;

static const char *sdk_dir(void)
{
    const char *dir = getenv("CB_SDK_DIR");
    ck_assert_msg(dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    return dir;
}

/* Starts tests/sdk/SCRIPT PORT {it.dir}/store ARGS. */
static void start_store(const char *script, const char *args)
{
    char command[1024], dir[300];
    do   /* not one the harness chose and httpd has yet to bind */
        store_port = srv_free_port();
    while (store_port == it.http_port || store_port == it.site_port ||
           store_port == it.redis_port || store_port == it.upstream_port);
    snprintf(dir, sizeof(dir), "%s/store", it.dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(command, sizeof(command), "node %s %d %s %s", script, store_port, dir, args);
    store_pid = it_spawn_helper(sdk_dir(), command, "store.log");
    ck_assert_msg(srv_wait_port(store_port, 20000), "%s did not start:\n%s", script,
                  it_read_file("store.log"));
}

/* The gateway with the storage plugin's bucket lines (SQLite metadata,
 * testplug's Bearer test-user-NAME identities). */
static void start_gateway(const char *bucket_lines)
{
    static char site[8192];
    it_write_file("storage.key", "it-storage-signing-key-0123456789abcdef\n");
    snprintf(site, sizeof(site),
             "%sCloudBaseDatabase sqlite3:%s/storage.db\n"
             "<CloudBasePlugin storage>\n"
             "  signing_key file:%s/storage.key\n"
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, bucket_lines);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* An S3 bucket line for the s3-peer on store_port. */
static const char *s3_line(const char *name, const char *secret_file, const char *style)
{
    static char line[4][1024];
    static int next;
    char *out = line[next++ % 4];
    snprintf(out, sizeof(line[0]),
             "  bucket %s backend=s3 endpoint=http://%s:%d region=us-east-1 bucket_name="
             S3_BUCKET " access_key=S3RVER secret_key=file:%s/%s %s\n",
             name, strstr(style, "virtual_host") ? "s3.localhost" : "127.0.0.1", store_port,
             it.dir, secret_file, style);
    return out;
}

/* Runs tests/sdk/storage-backends-sdk-test.js for bucket, whose signed
 * URLs must point at store (host:port). */
static void sdk_round_trip(const char *bucket, const char *store)
{
    char cmd[1024], line[512], all[16384] = "", last[512] = "";
    FILE *p;
    int status;
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 120 node storage-backends-sdk-test.js 127.0.0.1:%d demo %s %s "
             "2>&1", sdk_dir(), it.http_port, bucket, store);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        if (strlen(all) + strlen(line) < sizeof(all))
            strcat(all, line);
        snprintf(last, sizeof(last), "%s", line);
    }
    status = pclose(p);
    ck_assert_msg(status == 0 && strstr(last, "storage-backends-sdk: ") && !strstr(all, "not ok"),
                  "the SDK round trip through %s failed:\n%s\nstore log:\n%s\nerror log:\n%s",
                  store, all, it_read_file("store.log"), it_error_log());
}

/* POST /v1/storages/ROUTE as test-user-USER. */
static void call_as(const char *user, const char *route, const char *body, it_response *r)
{
    char path[128], auth[128];
    const char *headers[] = {"Content-Type: application/json; charset=utf-8", auth, NULL};
    snprintf(auth, sizeof(auth), "Authorization: Bearer test-user-%s", user);
    snprintf(path, sizeof(path), "/v1/storages/%s", route);
    it_request("POST", path, headers, body, r);
    ck_assert_msg(r->status == 200 && r->body[0] == '[', "%s: %ld %s", route, r->status,
                  r->body);
}

static void call(const char *route, const char *body, it_response *r)
{
    call_as("alice", route, body, r);
}

/* The first string value of "name" in json (malloc'd; \" \\ \/ unescaped). */
static char *string_field(const char *json, const char *name)
{
    char key[64], *out, *w;
    const char *at;
    snprintf(key, sizeof(key), "\"%s\":\"", name);
    if (!(at = strstr(json, key)))
        return NULL;
    at += strlen(key);
    out = w = malloc(strlen(at) + 1);
    for (; *at && *at != '"'; at++) {
        if (*at == '\\' && at[1])
            at++;
        *w++ = *at;
    }
    *w = '\0';
    return out;
}

static size_t collect(char *data, size_t size, size_t n, void *out)
{
    it_response *r = out;
    size_t len = size * n;
    r->body = realloc(r->body, r->body_len + len + 1);
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* A request straight to the store (the client's side of a signed URL). */
static long store_request(const char *method, const char *url, const char *const *headers,
                          const char *body, it_response *r)
{
    CURL *h = curl_easy_init();
    struct curl_slist *list = NULL;
    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    for (int i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    r->curl_error = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return r->status;
}

/* Signs an upload of cloud://demo.BUCKET/PATH declaring the body's length
 * (plus extra bytes) and type text/plain, and PUTs body to the store as the
 * SDK does (authorization, x-cos-meta-fileid and x-cos-security-token
 * headers from the upload info). The store's status. */
static long upload_declaring(const char *bucket, const char *path, const char *body,
                             size_t extra, it_response *put)
{
    it_response r;
    char request[1024], auth[1024], fileid[160], token[512], length[64];
    char *url, *authorization, *meta, *tok;
    const char *headers[] = {auth, fileid, token, "Content-Type: text/plain", length, NULL};
    snprintf(request, sizeof(request),
             "[{\"objectId\":\"cloud://demo.%s/%s\",\"signedHeader\":{\"content-length\":[\"%zu\"],"
             "\"content-type\":[\"text/plain\"]}}]", bucket, path, strlen(body) + extra);
    call("get-objects-upload-info", request, &r);
    url = string_field(r.body, "uploadUrl");
    authorization = string_field(r.body, "authorization");
    meta = string_field(r.body, "cloudObjectMeta");
    tok = string_field(r.body, "token");
    ck_assert_msg(url && authorization && meta && tok, "%s", r.body);
    snprintf(auth, sizeof(auth), "authorization: %s", authorization);
    snprintf(fileid, sizeof(fileid), "x-cos-meta-fileid: %s", meta);
    snprintf(token, sizeof(token), "x-cos-security-token: %s", tok);
    snprintf(length, sizeof(length), "Content-Length: %zu", strlen(body));
    store_request("PUT", url, headers, body, put);
    free(url);
    free(authorization);
    free(meta);
    free(tok);
    it_free(&r);
    return put->status;
}

static long upload(const char *bucket, const char *path, const char *body, it_response *put)
{
    return upload_declaring(bucket, path, body, 0, put);
}

START_TEST(s3_path_style_sdk_round_trip)
{
    char store[64];
    it_setup();
    it_write_file("s3.secret", "S3RVER\n");
    start_store("s3-peer.js", S3_BUCKET);
    start_gateway(s3_line("files", "s3.secret", "path_style default"));
    snprintf(store, sizeof(store), "127.0.0.1:%d", store_port);
    sdk_round_trip("files", store);
    it_teardown();
}
END_TEST

START_TEST(s3_virtual_host_sdk_round_trip)
{
    char store[128];
    it_setup();
    it_write_file("s3.secret", "S3RVER\n");
    start_store("s3-peer.js", S3_BUCKET);
    start_gateway(s3_line("files", "s3.secret", "virtual_host default"));
    snprintf(store, sizeof(store), S3_BUCKET ".s3.localhost:%d", store_port);
    sdk_round_trip("files", store);
    it_teardown();
}
END_TEST

/* The same object flow through a bucket with the right key and one with a
 * wrong secret key: the store refuses the second's PUT and the gateway's
 * own signed calls, which become per-item STORAGE_REQUEST_FAIL. */
START_TEST(s3_wrong_secret_is_item_error)
{
    it_response put, r;
    char lines[2048];
    char *code, *message, *url;
    it_setup();
    it_write_file("s3.secret", "S3RVER\n");
    it_write_file("wrong.secret", WRONG_SECRET "\n");
    start_store("s3-peer.js", S3_BUCKET);
    snprintf(lines, sizeof(lines), "%s%s", s3_line("files", "s3.secret", "path_style default"),
             s3_line("badkey", "wrong.secret", "path_style"));
    start_gateway(lines);

    ck_assert_int_eq(upload("files", "a.txt", "good bytes", &put), 200);
    it_free(&put);
    /* the declared length is signed: another one is refused by the store */
    ck_assert_int_eq(upload_declaring("files", "other.txt", "good bytes", 1, &put), 403);
    ck_assert_msg(strstr(put.body, "SignatureDoesNotMatch"), "%s", put.body);
    it_free(&put);
    ck_assert_int_eq(upload("badkey", "b.txt", "never stored", &put), 403);
    ck_assert_msg(strstr(put.body, "SignatureDoesNotMatch"), "%s", put.body);
    it_free(&put);

    /* the good bucket: found in the store, its URL serves the bytes */
    call("get-objects-download-info", "[{\"cloudObjectId\":\"cloud://demo.files/a.txt\"}]", &r);
    url = string_field(r.body, "downloadUrl");
    ck_assert_msg(url && !strstr(r.body, "\"code\""), "%s", r.body);
    ck_assert_int_eq(store_request("GET", url, NULL, NULL, &put), 200);
    ck_assert_str_eq(put.body, "good bytes");
    free(url);
    it_free(&put);
    it_free(&r);

    /* the wrong key: the gateway's own signed HEAD (a pending upload is
     * looked up in the store), DELETE and copy are refused per item */
    call("get-objects-download-info",
         "[{\"cloudObjectId\":\"cloud://demo.badkey/b.txt\"},"
         "{\"cloudObjectId\":\"cloud://demo.files/a.txt\"}]", &r);
    code = string_field(r.body, "code");
    message = string_field(r.body, "message");
    ck_assert_msg(code && strcmp(code, "STORAGE_REQUEST_FAIL") == 0 && message &&
                  strstr(message, "the object store refused the request (HTTP 403)"), "%s",
                  r.body);
    ck_assert_msg(strstr(r.body, "\"cloudObjectId\":\"cloud://demo.files/a.txt\",\"downloadUrl\""),
                  "the other item failed too: %s", r.body);
    free(code);
    free(message);
    it_free(&r);
    call("delete-objects", "[{\"cloudObjectId\":\"cloud://demo.badkey/b.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "STORAGE_REQUEST_FAIL"), "%s", r.body);
    it_free(&r);
    /* same store, so the store copies: signed with badkey's wrong secret */
    call("copy-objects", "[{\"srcPath\":\"cloud://demo.files/a.txt\","
                         "\"dstPath\":\"cloud://demo.badkey/copy.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"STORAGE_REQUEST_FAIL\",\"message\":\"the object "
                                 "store refused the request (SignatureDoesNotMatch)\""), "%s",
                  r.body);
    it_free(&r);
    /* the control: the same copy inside the good bucket works */
    call("copy-objects", "[{\"srcPath\":\"cloud://demo.files/a.txt\","
                         "\"dstPath\":\"cloud://demo.files/copy.txt\"}]", &r);
    ck_assert_msg(!strstr(r.body, "\"code\""), "%s", r.body);
    it_free(&r);
    ck_assert_msg(!strstr(it_error_log(), WRONG_SECRET), "a secret reached the error log");
    ck_assert_msg(strstr(it_error_log(), "SignatureDoesNotMatch"),
                  "the store's refusal is not in the error log:\n%s", it_error_log());
    it_teardown();
}
END_TEST

/* The store stopped: per-item errors, signing still works, the metadata
 * of an object whose delete failed stays. */
START_TEST(s3_down_is_item_error)
{
    it_response put, r;
    it_setup();
    it_write_file("s3.secret", "S3RVER\n");
    start_store("s3-peer.js", S3_BUCKET);
    start_gateway(s3_line("files", "s3.secret", "path_style default"));
    ck_assert_int_eq(upload("files", "kept.txt", "kept bytes", &put), 200);
    it_free(&put);
    call("get-objects-download-info", "[{\"cloudObjectId\":\"cloud://demo.files/kept.txt\"}]",
         &r);
    ck_assert_msg(!strstr(r.body, "\"code\""), "%s", r.body);
    it_free(&r);

    srv_stop(store_pid);
    ck_assert(!srv_port_open(store_port));
    call("delete-objects", "[{\"cloudObjectId\":\"cloud://demo.files/kept.txt\"},"
                           "{\"cloudObjectId\":\"cloud://demo.files/never.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"STORAGE_REQUEST_FAIL\",\"message\":\"the object "
                                 "store could not be reached; retry later\""), "%s", r.body);
    ck_assert_msg(strstr(r.body, "STORAGE_FILE_NONEXIST"), "%s", r.body);
    it_free(&r);
    /* still listed (the delete failed first in the store), still signable */
    call("get-objects-download-info", "[{\"cloudObjectId\":\"cloud://demo.files/kept.txt\"}]",
         &r);
    ck_assert_msg(strstr(r.body, "\"downloadUrl\":\"http://127.0.0.1:") &&
                  !strstr(r.body, "\"code\""), "%s", r.body);
    it_free(&r);
    call("get-objects-upload-info", "[{\"objectId\":\"later.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "\"uploadUrl\"") && !strstr(r.body, "\"code\""), "%s", r.body);
    it_free(&r);
    /* a pending upload cannot be confirmed: an item error, not a crash */
    call("get-objects-download-info", "[{\"cloudObjectId\":\"cloud://demo.files/later.txt\"}]",
         &r);
    ck_assert_msg(strstr(r.body, "STORAGE_REQUEST_FAIL"), "%s", r.body);
    it_free(&r);
    ck_assert(it_httpd_ready(2000));
    it_teardown();
}
END_TEST

/* The bucket's rule applies to a remote bucket as to a local one: the
 * owner is recorded when alice's upload is signed, and PRIVATE keeps bob
 * from reading, overwriting, deleting or copying her object. */
START_TEST(s3_owner_and_access_rule)
{
    it_response put, r;
    char lines[2048];
    it_setup();
    it_write_file("s3.secret", "S3RVER\n");
    start_store("s3-peer.js", S3_BUCKET);
    snprintf(lines, sizeof(lines), "%s%s", s3_line("files", "s3.secret", "path_style default"),
             s3_line("private", "s3.secret", "path_style acl=PRIVATE prefix=private"));
    start_gateway(lines);
    ck_assert_int_eq(upload("private", "alice.txt", "alice's bytes", &put), 200);
    it_free(&put);
    call("get-objects-download-info", "[{\"cloudObjectId\":\"cloud://demo.private/alice.txt\"}]",
         &r);
    ck_assert_msg(strstr(r.body, "\"downloadUrl\":\"http://127.0.0.1:") &&
                  strstr(r.body, "/cb-files/private/alice.txt?") && !strstr(r.body, "\"code\""),
                  "%s", r.body);
    it_free(&r);
    call_as("bob", "get-objects-download-info",
            "[{\"cloudObjectId\":\"cloud://demo.private/alice.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "PERMISSION_DENIED"), "%s", r.body);
    it_free(&r);
    call_as("bob", "get-objects-upload-info", "[{\"objectId\":\"cloud://demo.private/alice.txt\"}]",
            &r);
    ck_assert_msg(strstr(r.body, "PERMISSION_DENIED") && !strstr(r.body, "uploadUrl"), "%s",
                  r.body);
    it_free(&r);
    call_as("bob", "delete-objects", "[{\"cloudObjectId\":\"cloud://demo.private/alice.txt\"}]",
            &r);
    ck_assert_msg(strstr(r.body, "PERMISSION_DENIED"), "%s", r.body);
    it_free(&r);
    call_as("bob", "copy-objects", "[{\"srcPath\":\"cloud://demo.private/alice.txt\","
                                   "\"dstPath\":\"cloud://demo.files/stolen.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "PERMISSION_DENIED"), "%s", r.body);
    it_free(&r);
    it_teardown();
}
END_TEST

START_TEST(cos_sdk_round_trip_and_refusals)
{
    char args[1024], lines[4096], store[64];
    it_response put;
    char *log;
    it_setup();
    it_write_file("cos.secret", "cos-secret-key-for-the-peer\n");
    it_write_file("cos.token", "sts-token_with/slashes==\n");
    it_write_file("wrong.secret", WRONG_SECRET "\n");
    it_write_file("wrong.token", "a-token-the-peer-does-not-know\n");
    snprintf(args, sizeof(args), "%s %s/cos.secret %s/cos.token", COS_ID, it.dir, it.dir);
    start_store("cos-peer.js", args);
    snprintf(lines, sizeof(lines),
             "  bucket files backend=cos region=ap-guangzhou bucket_name=" COS_BUCKET
             " secret_id=" COS_ID " secret_key=file:%s/cos.secret security_token=file:%s/cos.token"
             " endpoint=http://127.0.0.1:%d default\n"
             "  bucket badkey backend=cos region=ap-guangzhou bucket_name=" COS_BUCKET
             " secret_id=" COS_ID " secret_key=file:%s/wrong.secret"
             " security_token=file:%s/cos.token endpoint=http://127.0.0.1:%d\n"
             "  bucket badtoken backend=cos region=ap-guangzhou bucket_name=" COS_BUCKET
             " secret_id=" COS_ID " secret_key=file:%s/cos.secret"
             " security_token=file:%s/wrong.token endpoint=http://127.0.0.1:%d\n",
             it.dir, it.dir, store_port, it.dir, it.dir, store_port, it.dir, it.dir, store_port);
    start_gateway(lines);
    snprintf(store, sizeof(store), "127.0.0.1:%d", store_port);
    sdk_round_trip("files", store);
    /* the SDK's PUT carried the signed x-cos-meta-fileid (the peer logs it) */
    log = it_read_file("store.log");
    ck_assert_msg(strstr(log, "{\"method\":\"PUT\",\"key\":\"sdk/hello.txt\",\"status\":200,"
                              "\"fileid\":\""), "%s", log);
    ck_assert_msg(strstr(log, "\"method\":\"DELETE\"") && strstr(log, "\"key\":\"sdk/copy.txt\""),
                  "%s", log);
    free(log);
    ck_assert_int_eq(upload("files", "c.txt", "cos bytes", &put), 200);
    it_free(&put);
    ck_assert_int_eq(upload_declaring("files", "d.txt", "cos bytes", 1, &put), 403);
    ck_assert_msg(strstr(put.body, "SignatureDoesNotMatch"), "%s", put.body);
    it_free(&put);
    ck_assert_int_eq(upload("badkey", "c.txt", "cos bytes", &put), 403);
    ck_assert_msg(strstr(put.body, "SignatureDoesNotMatch"), "%s", put.body);
    it_free(&put);
    ck_assert_int_eq(upload("badtoken", "c.txt", "cos bytes", &put), 403);
    ck_assert_msg(strstr(put.body, "InvalidToken"), "%s", put.body);
    it_free(&put);
    ck_assert_msg(!strstr(it_error_log(), WRONG_SECRET), "a secret reached the error log");
    it_teardown();
}
END_TEST

static char output[8192];

static void expect_configtest_error(const char *bucket_line, const char *needle)
{
    char site[8192];
    snprintf(site, sizeof(site),
             "%sCloudBaseDatabase sqlite3:%s/c.db\n<CloudBasePlugin storage>\n"
             "  signing_key file:%s/storage.key\n  bucket %s\n</CloudBasePlugin>\n",
             it_default_site(), it.dir, it.dir, bucket_line);
    ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", site), output,
                                   sizeof(output)), 0);
    ck_assert_msg(strstr(output, needle), "expected '%s' for `%s` in:\n%s", needle, bucket_line,
                  output);
    ck_assert_msg(!strstr(output, WRONG_SECRET), "a secret is in configtest's output:\n%s",
                  output);
}

START_TEST(configtest_names_the_fix)
{
    char line[1024];
    const char *s3 = "f backend=s3 endpoint=http://127.0.0.1:9000 region=us-east-1 "
                     "bucket_name=bk1 access_key=AK";
    it_setup();
    it_write_file("storage.key", "it-storage-signing-key-0123456789abcdef\n");
    it_write_file("s3.secret", WRONG_SECRET "\n");
    expect_configtest_error("f backend=s3 region=us-east-1 bucket_name=bk1 access_key=AK",
                            "backend=s3 needs endpoint=");
    snprintf(line, sizeof(line), "%s secret_key=" WRONG_SECRET, s3);
    expect_configtest_error(line, "secret_key= must be file:/path or env:NAME");
    expect_configtest_error("f backend=s3 endpoint=http://127.0.0.1:9000 bucket_name=bk1 "
                            "access_key=AK secret_key=env:X", "region= is missing");
    snprintf(line, sizeof(line), "%s secret_key=file:%s/s3.secret virtual_host", s3, it.dir);
    expect_configtest_error(line, "virtual_host needs a host name endpoint");
    snprintf(line, sizeof(line), "%s secret_key=file:%s/s3.secret path_style virtual_host", s3,
             it.dir);
    expect_configtest_error(line, "path_style and virtual_host exclude each other");
    snprintf(line, sizeof(line), "%s secret_key=file:%s/s3.secret dir=/tmp", s3, it.dir);
    expect_configtest_error(line, "unknown setting dir= for backend=s3");
    snprintf(line, sizeof(line), "%s secret_key=file:%s/nowhere.secret", s3, it.dir);
    expect_configtest_error(line, "secret_key=:");
    snprintf(line, sizeof(line), "f backend=s3 endpoint=http://127.0.0.1:9000/path "
             "region=us-east-1 bucket_name=bk1 access_key=AK secret_key=file:%s/s3.secret",
             it.dir);
    expect_configtest_error(line, "without a path");
    snprintf(line, sizeof(line), "f backend=s3 endpoint=http://127.0.0.1:9000 region=us-east-1 "
             "bucket_name=B_1 access_key=AK secret_key=file:%s/s3.secret", it.dir);
    expect_configtest_error(line, "needs bucket_name= of 3-63 lower-case");
    snprintf(line, sizeof(line), "f backend=cos region=ap-guangzhou bucket_name=files "
             "secret_id=AKID secret_key=file:%s/s3.secret", it.dir);
    expect_configtest_error(line, "bucket_name=NAME-APPID");
    snprintf(line, sizeof(line), "f backend=cos region=ap-guangzhou bucket_name=files-125 "
             "secret_key=file:%s/s3.secret", it.dir);
    expect_configtest_error(line, "backend=cos needs secret_id=");
    snprintf(line, sizeof(line), "f backend=cos region=ap-guangzhou bucket_name=files-125 "
             "secret_id=AKID secret_key=file:%s/s3.secret security_token=" WRONG_SECRET,
             it.dir);
    expect_configtest_error(line, "security_token= must be file:/path or env:NAME");
    it_teardown();
}
END_TEST

Suite *storage_backends_suite(void)
{
    Suite *s = suite_create("storage_backends");
    TCase *tc = tcase_create("s3");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, s3_path_style_sdk_round_trip);
    tcase_add_test(tc, s3_virtual_host_sdk_round_trip);
    tcase_add_test(tc, s3_wrong_secret_is_item_error);
    tcase_add_test(tc, s3_down_is_item_error);
    tcase_add_test(tc, s3_owner_and_access_rule);
    suite_add_tcase(s, tc);
    tc = tcase_create("cos");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, cos_sdk_round_trip_and_refusals);
    suite_add_tcase(s, tc);
    tc = tcase_create("config");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, configtest_names_the_fix);
    suite_add_tcase(s, tc);
    return s;
}
