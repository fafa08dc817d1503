/*
 * it_storage.c: the storage plugin's local bucket in a real apache2, with
 * SQLite metadata and testplug's fake identities (Bearer test-user-NAME):
 * an upload, download, copy and delete round trip as curl sends them;
 * Range, ETag/304 and HEAD on a signed download served by httpd's default
 * handler; bad object ids as per-item errors; forged, expired and
 * wrong-object signatures and a wrong length or type refused; the ACL
 * presets; the per-object cap (413), the environment's quota (507) and a
 * full disk (a 1 MiB tmpfs, 507)
 * leaving no file behind; 50 concurrent PUTs ending as exactly one of them;
 * PostgreSQL stopped (item errors, 503, signed downloads still served);
 * a signed download's type from the per-process cache (fresh after an
 * overwrite or a delete, still right with PostgreSQL stopped);
 * the SDK's POST form upload (201); the official @cloudbase/js-sdk's
 * upload/download/info/copy/delete round trip; and configtest errors that
 * name the fix.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "postgres.h"

static char tmpfs_dir[300];
/* The next start's database line (NULL: SQLite in the test directory) and
 * upload lifetime. */
static const char *database_line;
static const char *upload_expires = "3s";
/* The next start's download lifetime, and httpd lines before the site
 * ("" or one child process, for the per-process type cache). */
static const char *download_expires = "3s";
static const char *httpd_lines = "";

static const char *dir_in_test(const char *name)
{
    static char path[4][300];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", it.dir, name);
    return p;
}

static void make_bucket_dir(const char *name)
{
    ck_assert_int_eq(mkdir(dir_in_test(name), 0777), 0);
    chmod(dir_in_test(name), 0777);
}

static const char *storage_site(const char *extra)
{
    static char site[8192];
    char db[512];
    if (database_line)
        snprintf(db, sizeof(db), "%s", database_line);
    else
        snprintf(db, sizeof(db), "sqlite3:%s/storage.db", it.dir);
    snprintf(site, sizeof(site),
             "%s%s"
             "CloudBaseDatabase %s\n"
             "<CloudBasePlugin storage>\n"
             "  signing_key file:%s/storage.key\n"
             "  upload_expires %s\n"
             "  download_expires %s\n"
             "  bucket files backend=local dir=%s/files default\n"
             "  bucket private backend=local dir=%s/private acl=PRIVATE max_object=1k\n"
             "  bucket admin backend=local dir=%s/admin acl=ADMINWRITE\n"
             "%s"
             "</CloudBasePlugin>\n",
             httpd_lines, it_default_site(), db, it.dir, upload_expires, download_expires, it.dir,
             it.dir, it.dir, extra);
    return site;
}

static void stop(void)
{
    tmpfs_dir[0] = '\0';
    it_teardown();   /* unmounts the tmpfs too */
}

/* with_full: also a bucket "full" on a 1 MiB tmpfs; options: more plugin
 * lines. */
static void start_with(int with_full, const char *options)
{
    char extra[1024] = "";
    it_setup();
    it_write_file("storage.key", "it-storage-signing-key-0123456789abcdef\n");
    make_bucket_dir("files");
    make_bucket_dir("private");
    make_bucket_dir("admin");
    if (with_full) {
        snprintf(tmpfs_dir, sizeof(tmpfs_dir), "%s", it_mount_tmpfs("full", "1m"));
        snprintf(extra, sizeof(extra), "  bucket full backend=local dir=%s max_object=10m\n",
                 tmpfs_dir);
    }
    if (options)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s", options);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", storage_site(extra)))) {
        char *log = it_error_log();
        stop();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static void start(void) { start_with(0, NULL); }

/* POST /v1/storages/ROUTE as user ("user-alice", "admin", or NULL). */
static void call(const char *route, const char *user, const char *body, it_response *r)
{
    char path[128], auth[128];
    const char *headers[3] = {"Content-Type: application/json; charset=utf-8", NULL, NULL};
    if (user) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer test-%s", user);
        headers[1] = auth;
    }
    snprintf(path, sizeof(path), "/v1/storages/%s", route);
    it_request("POST", path, headers, body, r);
}

/* The n-th (0-based) string value of "name" in a JSON text (malloc'd), or
 * NULL. Unescapes \" \\ and \/ only. */
static char *field_n(const char *json, const char *name, int n)
{
    char key[64];
    const char *at = json;
    char *out, *w;
    snprintf(key, sizeof(key), "\"%s\":\"", name);
    for (int i = 0; at; i++) {
        at = strstr(at, key);
        if (!at)
            return NULL;
        at += strlen(key);
        if (i == n)
            break;
    }
    out = w = malloc(strlen(at) + 1);
    for (; *at && *at != '"'; at++) {
        if (*at == '\\' && at[1])
            at++;
        *w++ = *at;
    }
    *w = '\0';
    return out;
}

static char *field(const char *json, const char *name) { return field_n(json, name, 0); }

/* The path and query of an absolute gateway URL. */
static const char *path_of(const char *url)
{
    const char *p = strstr(url, "/v1/");
    ck_assert_ptr_nonnull(p);
    return p;
}

typedef struct upload {
    char *url, *authorization, *cloud_id;
} upload;

/* Signs an upload of object (length -1: not bound) and returns its info. */
static void sign_upload(const char *user, const char *object, long length, const char *type,
                        upload *u)
{
    it_response r;
    char body[2048], headers[256] = "";
    if (length >= 0 && type)
        snprintf(headers, sizeof(headers),
                 ",\"signedHeader\":{\"content-length\":[\"%ld\"],\"content-type\":[\"%s\"]}",
                 length, type);
    else if (type)
        snprintf(headers, sizeof(headers), ",\"signedHeader\":{\"content-type\":[\"%s\"]}", type);
    snprintf(body, sizeof(body), "[{\"objectId\":\"%s\"%s}]", object, headers);
    call("get-objects-upload-info", user, body, &r);
    ck_assert_msg(r.status == 200 && r.body[0] == '[', "%ld %s", r.status, r.body);
    u->url = field(r.body, "uploadUrl");
    u->authorization = field(r.body, "authorization");
    u->cloud_id = field(r.body, "cloudObjectId");
    ck_assert_msg(u->url && u->authorization && u->cloud_id, "%s", r.body);
    it_free(&r);
}

static long put(const upload *u, const char *authorization, const char *type, const char *body,
                it_response *r)
{
    char auth[512], ctype[128];
    const char *headers[3] = {auth, ctype, NULL};
    snprintf(auth, sizeof(auth), "Authorization: %s", authorization ? authorization
                                                                     : u->authorization);
    snprintf(ctype, sizeof(ctype), "Content-Type: %s", type);
    it_request("PUT", path_of(u->url), headers, body, r);
    return r->status;
}

/* The download URL of a cloud id for user (malloc'd), or NULL with the
 * item's answer in *item_code. */
static char *download_url(const char *user, const char *cloud_id, char **item_code)
{
    it_response r;
    char body[2048];
    char *url;
    snprintf(body, sizeof(body), "[{\"cloudObjectId\":\"%s\"}]", cloud_id);
    call("get-objects-download-info", user, body, &r);
    ck_assert_msg(r.status == 200 && r.body[0] == '[', "%ld %s", r.status, r.body);
    url = field(r.body, "downloadUrl");
    if (item_code)
        *item_code = field(r.body, "code");
    it_free(&r);
    return url;
}

/* Regular files under dir (recursively). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        char path[600];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        n += S_ISDIR(st.st_mode) ? count_files(path) : 1;
    }
    closedir(d);
    return n;
}

START_TEST(round_trip)
{
    it_response r;
    upload u;
    char *url, *code, *etag, *copy_url, inm[200], body[1024];
    const char *range[] = {"Range: bytes=1-3", NULL};
    const char *if_none[] = {inm, NULL};
    start();
    sign_upload("user-alice", "docs/hello world.txt", 11, "text/plain", &u);
    ck_assert_str_eq(u.cloud_id, "cloud://demo.files/docs/hello world.txt");
    ck_assert_int_eq(put(&u, NULL, "text/plain", "hello there", &r), 200);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 1);

    url = download_url(NULL, u.cloud_id, &code);
    ck_assert_msg(url && !code, "%s", code ? code : "no url");
    /* nothing encodeURI would change: no '%', no space */
    ck_assert_ptr_null(strpbrk(url, "% \"<>\\^`{|}"));
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello there");
    ck_assert_str_eq(it_header(&r, "Content-Type"), "text/plain");
    ck_assert_ptr_nonnull(it_header(&r, "ETag"));
    ck_assert_ptr_nonnull(it_header(&r, "Last-Modified"));
    etag = strdup(it_header(&r, "ETag"));
    it_free(&r);

    it_request("GET", path_of(url), range, NULL, &r);
    ck_assert_int_eq(r.status, 206);
    ck_assert_str_eq(r.body, "ell");
    ck_assert_str_eq(it_header(&r, "Content-Range"), "bytes 1-3/11");
    it_free(&r);
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    it_request("GET", path_of(url), if_none, NULL, &r);
    ck_assert_int_eq(r.status, 304);
    ck_assert_int_eq(r.body_len, 0);
    it_free(&r);
    /* getFileInfo: HEAD with a Bearer token */
    {
        const char *bearer[] = {"Authorization: Bearer test-user-alice", NULL};
        it_request("HEAD", path_of(url), bearer, NULL, &r);
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "Content-Length"), "11");
    ck_assert_int_eq(r.body_len, 0);
    it_free(&r);

    /* copy, then delete both */
    snprintf(body, sizeof(body),
             "[{\"srcPath\":\"%s\",\"dstPath\":\"cloud://demo.files/copies/c.txt\","
             "\"overwrite\":true,\"removeOriginal\":false},"
             "{\"srcPath\":\"missing.txt\",\"dstPath\":\"x.txt\"}]", u.cloud_id);
    call("copy-objects", "user-alice", body, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "[{\"cloudObjectId\":\"cloud://demo.files/copies/c.txt\"},"
                                 "{\"cloudObjectId\":\"cloud://demo.files/x.txt\","
                                 "\"code\":\"STORAGE_FILE_NONEXIST\""), "%s", r.body);
    it_free(&r);
    copy_url = download_url("user-alice", "cloud://demo.files/copies/c.txt", NULL);
    ck_assert_ptr_nonnull(copy_url);
    it_request("GET", path_of(copy_url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello there");
    ck_assert_str_eq(it_header(&r, "Content-Type"), "text/plain");
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 2);

    snprintf(body, sizeof(body),
             "[{\"cloudObjectId\":\"%s\"},{\"cloudObjectId\":\"cloud://demo.files/copies/c.txt\"}]",
             u.cloud_id);
    call("delete-objects", "user-alice", body, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(!strstr(r.body, "\"code\""), "%s", r.body);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 0);
    ck_assert_ptr_null(download_url(NULL, u.cloud_id, &code));
    ck_assert_str_eq(code, "STORAGE_FILE_NONEXIST");
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    it_free(&r);
    call("delete-objects", "user-alice", body, &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"STORAGE_FILE_NONEXIST\""), "%s", r.body);
    it_free(&r);
    stop();
}
END_TEST

START_TEST(bad_object_ids_are_item_errors)
{
    it_response r;
    char body[4096], longest[1100];
    int errors = 0;
    memset(longest, 'a', 1025);
    longest[1025] = '\0';
    start();
    snprintf(body, sizeof(body),
             "[{\"objectId\":\"ok.txt\"},{\"objectId\":\"../x\"},{\"objectId\":\"/etc/passwd\"},"
             "{\"objectId\":\"a\\\\b\"},{\"objectId\":\"a\\u0001b\"},{\"objectId\":\"a/../../b\"},"
             "{\"objectId\":\"%s\"},{\"objectId\":\"cloud://other.files/x\"},"
             "{\"objectId\":\"cloud://demo.nobucket/x\"},{\"objectId\":7},\"str\"]", longest);
    call("get-objects-upload-info", "user-alice", body, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strncmp(r.body, "[{\"objectId\":\"ok.txt\",\"uploadUrl\":", 34) == 0, "%s",
                  r.body);
    for (const char *at = r.body; (at = strstr(at, "\"code\":\"INVALID_PARAM\"")); at++)
        errors++;
    ck_assert_msg(errors == 10, "%d errors in %s", errors, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "another environment"));
    ck_assert_ptr_nonnull(strstr(r.body, "longer than 1024"));
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 0);
    /* the batch cap, and a body that is not an array */
    {
        char *big = malloc(60 * 24 + 8);
        strcpy(big, "[");
        for (int i = 0; i < 51; i++)
            strcat(big, i ? ",{\"objectId\":\"a.txt\"}" : "{\"objectId\":\"a.txt\"}");
        strcat(big, "]");
        call("get-objects-upload-info", "user-alice", big, &r);
        ck_assert_int_eq(r.status, 400);
        ck_assert_ptr_nonnull(strstr(r.body, "at most 50 items"));
        it_free(&r);
        free(big);
    }
    call("get-objects-download-info", NULL, "{\"cloudObjectId\":\"a\"}", &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"INVALID_PARAM\""));
    it_free(&r);
    /* upload needs an identity (auth_upload any) */
    call("get-objects-upload-info", NULL, "[{\"objectId\":\"a.txt\"}]", &r);
    ck_assert_int_eq(r.status, 401);
    it_free(&r);
    stop();
}
END_TEST

START_TEST(signatures_are_bound)
{
    it_response r;
    upload u, other;
    char *forged, *url, *bad;
    start();
    sign_upload("user-alice", "a.txt", 5, "text/plain", &u);
    sign_upload("user-alice", "b.txt", 5, "text/plain", &other);
    forged = strdup(u.authorization);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(put(&u, forged, "text/plain", "hello", &r), 403);
    it_free(&r);
    ck_assert_int_eq(put(&u, other.authorization, "text/plain", "hello", &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"PERMISSION_DENIED\""));
    it_free(&r);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "hello!", &r), 403);   /* length */
    it_free(&r);
    ck_assert_int_eq(put(&u, NULL, "text/html", "hello", &r), 403);     /* type */
    it_free(&r);
    ck_assert_int_eq(put(&u, "Bearer test-user-alice", "text/plain", "hello", &r), 403);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 0);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "hello", &r), 200);
    it_free(&r);

    url = download_url(NULL, u.cloud_id, NULL);
    ck_assert_ptr_nonnull(url);
    bad = strdup(path_of(url));
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    it_request("GET", bad, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    it_free(&r);
    /* a.txt's signature on b.txt's URL */
    free(bad);
    bad = malloc(strlen(url) + 8);
    strcpy(bad, path_of(url));
    strstr(bad, "/a.txt?")[1] = 'b';
    it_request("GET", bad, NULL, NULL, &r);
    ck_assert_int_ne(r.status, 200);
    it_free(&r);

    /* both expire (upload_expires and download_expires are 3 s) */
    sleep(5);
    ck_assert_int_eq(put(&other, NULL, "text/plain", "hello", &r), 403);
    ck_assert_ptr_nonnull(strstr(r.body, "expired"));
    it_free(&r);
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    ck_assert_ptr_nonnull(strstr(r.body, "expired"));
    it_free(&r);
    stop();
}
END_TEST

START_TEST(access_presets)
{
    it_response r;
    upload u;
    char *url, *code, body[512], unsigned_url[512];
    start();
    sign_upload("user-alice", "cloud://demo.private/secret.txt", 6, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "secret", &r), 200);
    it_free(&r);
    /* bob may not read, overwrite or delete alice's object */
    ck_assert_ptr_null(download_url("user-bob", u.cloud_id, &code));
    ck_assert_str_eq(code, "PERMISSION_DENIED");
    ck_assert_ptr_null(download_url(NULL, u.cloud_id, &code));
    ck_assert_str_eq(code, "PERMISSION_DENIED");
    snprintf(body, sizeof(body), "[{\"objectId\":\"%s\"}]", u.cloud_id);
    call("get-objects-upload-info", "user-bob", body, &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"PERMISSION_DENIED\""), "%s", r.body);
    it_free(&r);
    snprintf(body, sizeof(body), "[{\"cloudObjectId\":\"%s\"}]", u.cloud_id);
    call("delete-objects", "user-bob", body, &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"PERMISSION_DENIED\""), "%s", r.body);
    it_free(&r);
    /* an unsigned GET of a private object is refused; alice's signed one works */
    url = download_url("user-alice", u.cloud_id, NULL);
    ck_assert_ptr_nonnull(url);
    snprintf(unsigned_url, sizeof(unsigned_url), "%.*s", (int)strcspn(path_of(url), "?"),
             path_of(url));
    it_request("GET", unsigned_url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 403);
    it_free(&r);
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "secret");
    it_free(&r);
    ck_assert_ptr_nonnull(download_url("admin", u.cloud_id, NULL));

    /* ADMINWRITE: a user may not write, the admin may; everyone reads unsigned */
    call("get-objects-upload-info", "user-alice", "[{\"objectId\":\"cloud://demo.admin/n.txt\"}]",
         &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"PERMISSION_DENIED\""), "%s", r.body);
    it_free(&r);
    sign_upload("admin", "cloud://demo.admin/n.txt", 4, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "news", &r), 200);
    it_free(&r);
    snprintf(unsigned_url, sizeof(unsigned_url), "%.*s", (int)strcspn(path_of(u.url), "?"),
             path_of(u.url));
    it_request("GET", unsigned_url, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "news");
    it_free(&r);
    stop();
}
END_TEST

START_TEST(object_cap_leaves_nothing)
{
    it_response r;
    upload u;
    char *big = malloc(2001);
    memset(big, 'x', 2000);
    big[2000] = '\0';
    start();
    /* signed larger than max_object=1k: refused at signing */
    call("get-objects-upload-info", "user-alice",
         "[{\"objectId\":\"cloud://demo.private/big\",\"signedHeader\":"
         "{\"content-length\":[\"2000\"],\"content-type\":[\"text/plain\"]}}]", &r);
    ck_assert_msg(strstr(r.body, "max_object"), "%s", r.body);
    it_free(&r);
    /* length not signed: refused while streaming */
    sign_upload("user-alice", "cloud://demo.private/big", -1, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", big, &r), 413);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("private")), 0);
    free(big);
    stop();
}
END_TEST

START_TEST(full_disk_is_507_without_partial_file)
{
    it_response r;
    upload u;
    size_t len = 2 * 1024 * 1024;
    char *big = malloc(len + 1);
    memset(big, 'y', len);
    big[len] = '\0';
    start_with(1, NULL);
    sign_upload("user-alice", "cloud://demo.full/big.bin", -1, "application/octet-stream", &u);
    ck_assert_int_eq(put(&u, NULL, "application/octet-stream", big, &r), 507);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"STORAGE_FULL\""));
    it_free(&r);
    ck_assert_int_eq(count_files(tmpfs_dir), 0);
    /* the disk is usable again afterwards */
    sign_upload("user-alice", "cloud://demo.full/small.txt", 2, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "ok", &r), 200);
    it_free(&r);
    ck_assert_int_eq(count_files(tmpfs_dir), 1);
    free(big);
    stop();
}
END_TEST

START_TEST(env_quota_is_507_and_counts_replacements)
{
    it_response r;
    upload u;
    start_with(0, "  env_quota 16\n");
    sign_upload("user-alice", "q1.txt", 10, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "0123456789", &r), 200);
    it_free(&r);
    sign_upload("user-alice", "q2.txt", 10, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "abcdefghij", &r), 507);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":\"STORAGE_EXCEED_QUOTA\""));
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 1);
    /* replacing q1 counts its new size instead of adding it */
    sign_upload("user-alice", "q1.txt", 14, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "0123456789abcd", &r), 200);
    it_free(&r);
    /* a copy past the quota is an item error */
    call("copy-objects", "user-alice",
         "[{\"srcPath\":\"q1.txt\",\"dstPath\":\"q3.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"STORAGE_EXCEED_QUOTA\""), "%s", r.body);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 1);
    stop();
}
END_TEST

/* PostgreSQL as the metadata store, stopped: signing and lookups become
 * item errors, a PUT is 503 before its body and leaves the object as it
 * was, a signed download is still served. */
START_TEST(database_down)
{
    static srv_pg pg;
    static char line[512];
    it_response r;
    upload u, again;
    char *url;
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    database_line = srv_pg_database_line(&pg, "timeout=1s connect_timeout=1s", line,
                                         sizeof(line));
    upload_expires = "5m";
    start();
    sign_upload("user-alice", "db.txt", 5, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "hello", &r), 200);
    it_free(&r);
    sign_upload("user-alice", "db.txt", 5, "text/plain", &again);
    url = download_url(NULL, u.cloud_id, NULL);
    ck_assert_ptr_nonnull(url);

    srv_pg_stop(&pg);
    call("get-objects-download-info", NULL, "[{\"cloudObjectId\":\"db.txt\"}]", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"code\":\"STORAGE_REQUEST_FAIL\""), "%s", r.body);
    it_free(&r);
    call("get-objects-upload-info", "user-alice", "[{\"objectId\":\"db2.txt\"}]", &r);
    ck_assert_msg(strstr(r.body, "\"code\":\"STORAGE_REQUEST_FAIL\""), "%s", r.body);
    it_free(&r);
    ck_assert_int_eq(put(&again, NULL, "text/plain", "world", &r), 503);
    it_free(&r);
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello");
    ck_assert_str_eq(it_header(&r, "Content-Type"), "application/octet-stream");
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 1);
    stop();
    srv_pg_destroy(&pg);
    database_line = NULL;
    upload_expires = "3s";
}
END_TEST

/* GETs a download URL: the status, and the body and Content-Type unless NULL. */
static void expect_download(const char *url, long status, const char *body, const char *type)
{
    it_response r;
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, status);
    if (body)
        ck_assert_str_eq(r.body, body);
    if (type)
        ck_assert_str_eq(it_header(&r, "Content-Type"), type);
    it_free(&r);
}

/* A signed download's Content-Type comes from a per-process cache while
 * the file is the version it was recorded for (no database read): one
 * child process, PostgreSQL as the store. An overwrite with another type
 * and a delete are seen at once; once PostgreSQL stops, a cached object is
 * still served with its recorded type (not application/octet-stream). */
START_TEST(signed_download_type_cache)
{
    static srv_pg pg;
    static char line[512];
    it_response r;
    upload u;
    char *url, *gone_url, body[512];
    ck_assert_msg(srv_pg_create(&pg) == 0, "PostgreSQL did not start (see %s/log)", pg.dir);
    database_line = srv_pg_database_line(&pg, "timeout=1s connect_timeout=1s", line,
                                         sizeof(line));
    upload_expires = download_expires = "5m";
    httpd_lines = "ServerLimit 1\nStartServers 1\nMaxRequestWorkers 25\n";
    start();
    sign_upload("user-alice", "page.html", 6, "text/html", &u);
    ck_assert_int_eq(put(&u, NULL, "text/html", "<b>1</b", &r), 403);   /* 7 bytes, not 6 */
    it_free(&r);
    ck_assert_int_eq(put(&u, NULL, "text/html", "<b>1</", &r), 200);
    it_free(&r);
    url = download_url(NULL, u.cloud_id, NULL);
    ck_assert_ptr_nonnull(url);
    for (int i = 0; i < 2; i++)   /* the second is answered from the cache */
        expect_download(url, 200, "<b>1</", "text/html");
    /* overwritten as text/plain: the same URL shows the new version */
    sign_upload("user-alice", "page.html", 9, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "version 2", &r), 200);
    it_free(&r);
    for (int i = 0; i < 2; i++)
        expect_download(url, 200, "version 2", "text/plain");
    /* deleted: 404 although its type was cached */
    sign_upload("user-alice", "gone.txt", 4, "text/plain", &u);
    ck_assert_int_eq(put(&u, NULL, "text/plain", "gone", &r), 200);
    it_free(&r);
    gone_url = download_url(NULL, u.cloud_id, NULL);
    expect_download(gone_url, 200, "gone", "text/plain");
    snprintf(body, sizeof(body), "[{\"cloudObjectId\":\"%s\"}]", u.cloud_id);
    call("delete-objects", "user-alice", body, &r);
    ck_assert_msg(r.status == 200 && !strstr(r.body, "\"code\""), "%s", r.body);
    it_free(&r);
    expect_download(gone_url, 404, NULL, NULL);

    srv_pg_stop(&pg);
    expect_download(url, 200, "version 2", "text/plain");
    stop();
    srv_pg_destroy(&pg);
    database_line = NULL;
    upload_expires = download_expires = "3s";
    httpd_lines = "";
}
END_TEST

START_TEST(concurrent_puts_end_as_one)
{
    enum { N = 50, LEN = 65536 + 123 };
    it_response out[N], r;
    char *bodies[N], auth[512];
    const char *headers[] = {auth, "Content-Type: application/octet-stream", NULL};
    upload u;
    char *url;
    int ok = 0;
    start();
    sign_upload("user-alice", "race.bin", LEN, "application/octet-stream", &u);
    snprintf(auth, sizeof(auth), "Authorization: %s", u.authorization);
    for (int i = 0; i < N; i++) {
        bodies[i] = malloc(LEN + 1);
        memset(bodies[i], 'A' + (i % 26) + (i >= 26 ? 32 : 0), LEN);
        bodies[i][LEN] = '\0';
    }
    it_parallel_each(NULL, "PUT", path_of(u.url), headers, (const char *const *)bodies, N, N,
                     out);
    for (int i = 0; i < N; i++) {
        if (out[i].status == 200)
            ok++;
        else
            fprintf(stderr, "PUT %d: %ld (curl %d) %s\n", i, out[i].status, out[i].curl_error,
                    out[i].body);
        it_free(&out[i]);
    }
    ck_assert_int_eq(ok, N);
    url = download_url(NULL, u.cloud_id, NULL);
    ck_assert_ptr_nonnull(url);
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.body_len, LEN);
    for (size_t i = 1; i < r.body_len; i++)
        ck_assert_msg(r.body[i] == r.body[0], "torn object: byte %zu differs", i);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 1);   /* no temp left */
    for (int i = 0; i < N; i++)
        free(bodies[i]);
    stop();
}
END_TEST

/* The SDK's POST form upload: fields in its order, the file last; 201. */
static void post_form(const upload *u, const char *key, const char *signature,
                      const char *content, it_response *r)
{
    char body[4096];
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=----sdkform7MA4YWx",
                             NULL};
    snprintf(body, sizeof(body),
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n"
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n"
             "%s\r\n"
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; name=\"x-cos-meta-fileid\""
             "\r\n\r\nmeta\r\n"
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; "
             "name=\"success_action_status\"\r\n\r\n201\r\n"
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; "
             "name=\"x-cos-security-token\"\r\n\r\n\r\n"
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n"
             "------sdkform7MA4YWx\r\nContent-Disposition: form-data; name=\"file\"; "
             "filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n"
             "------sdkform7MA4YWx--\r\n",
             key, signature, key, content);
    it_request("POST", path_of(u->url), headers, body, r);
}

START_TEST(post_form_upload)
{
    it_response r;
    upload u;
    char *url, *forged;
    /* content with CR LF and dashes that are not the delimiter */
    const char *content = "line one\r\n------sdkform7MA4YW\r\n--\r\nend";
    start();
    sign_upload("user-alice", "forms/p.txt", -1, NULL, &u);
    forged = strdup(u.authorization);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'a' ? 'b' : 'a';
    post_form(&u, "forms/p.txt", forged, content, &r);
    ck_assert_int_eq(r.status, 403);
    it_free(&r);
    post_form(&u, "forms/other.txt", u.authorization, content, &r);
    ck_assert_int_eq(r.status, 400);
    it_free(&r);
    ck_assert_int_eq(count_files(dir_in_test("files")), 0);
    post_form(&u, "forms/p.txt", u.authorization, content, &r);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    it_free(&r);
    url = download_url(NULL, u.cloud_id, NULL);
    ck_assert_ptr_nonnull(url);
    it_request("GET", path_of(url), NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, content);
    it_free(&r);
    stop();
}
END_TEST

/* The official @cloudbase/js-sdk round trip (tests/sdk/storage-sdk-test.js). */
START_TEST(official_sdk_round_trip)
{
    const char *sdk_dir = getenv("CB_SDK_DIR");
    char cmd[1024], line[512], all[8192] = "", last[512] = "";
    FILE *p;
    int status;
    ck_assert_msg(sdk_dir != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    start();
    for (int run = 0; run < 2; run++) {
        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && timeout 120 node storage-sdk-test.js 127.0.0.1:%d demo files private "
                 "%s 2>&1", sdk_dir, it.http_port, run ? "bob" : "alice");
        all[0] = '\0';
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        while (fgets(line, sizeof(line), p)) {
            if (strlen(all) + strlen(line) < sizeof(all))
                strcat(all, line);
            snprintf(last, sizeof(last), "%s", line);
        }
        status = pclose(p);
        ck_assert_msg(status == 0 && strstr(last, "storage-sdk: ") && !strstr(all, "not ok"),
                      "the SDK round trip (%s) failed:\n%s", run ? "bob" : "alice", all);
    }
    stop();
}
END_TEST

static char output[8192];

static void expect_configtest_error(const char *plugin_lines, const char *needle)
{
    char site[8192];
    snprintf(site, sizeof(site),
             "%sCloudBaseDatabase sqlite3:%s/c.db\n<CloudBasePlugin storage>\n%s"
             "</CloudBasePlugin>\n", it_default_site(), it.dir, plugin_lines);
    ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", site), output,
                                   sizeof(output)), 0);
    ck_assert_msg(strstr(output, needle), "expected '%s' in:\n%s", needle, output);
}

START_TEST(configtest_names_the_fix)
{
    char lines[2048];
    it_setup();
    it_write_file("storage.key", "it-storage-signing-key-0123456789abcdef\n");
    it_write_file("short.key", "short\n");
    make_bucket_dir("files");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/storage.key\n", it.dir);
    expect_configtest_error(lines, "add `bucket NAME backend=local dir=/path default`");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/short.key\n"
             "  bucket files backend=local dir=%s/files\n", it.dir, it.dir);
    expect_configtest_error(lines, "openssl rand -hex 32");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/storage.key\n"
             "  bucket files backend=local dir=%s/nowhere\n", it.dir, it.dir);
    expect_configtest_error(lines, "is not a directory: create it");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/storage.key\n"
             "  bucket files backend=ftp dir=%s/files\n", it.dir, it.dir);
    expect_configtest_error(lines, "use local, s3 or cos");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/storage.key\n"
             "  bucket a backend=local dir=%s/files acl=PUBLIC\n", it.dir, it.dir);
    expect_configtest_error(lines, "acl= must be READONLY");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/storage.key\n"
             "  bucket a backend=local dir=%s/files\n  bucket b backend=local dir=%s/files\n",
             it.dir, it.dir, it.dir);
    expect_configtest_error(lines, "add `default` to one bucket line");
    snprintf(lines, sizeof(lines), "  signing_key file:%s/storage.key\n"
             "  bucket a backend=local dir=%s/files default\n"
             "  bucket b backend=local dir=%s/files default\n", it.dir, it.dir, it.dir);
    expect_configtest_error(lines, "keep `default` on one");
    /* no database: the default site without its CloudBaseDatabase line */
    {
        char site[8192], without_db[4096];
        const char *line = strstr(it_default_site(), "CloudBaseDatabase ");
        ck_assert_ptr_nonnull(line);
        snprintf(without_db, sizeof(without_db), "%.*s%s", (int)(line - it_default_site()),
                 it_default_site(), strchr(line, '\n') + 1);
        snprintf(site, sizeof(site),
                 "%s<CloudBasePlugin storage>\n  signing_key file:%s/storage.key\n"
                 "  bucket a backend=local dir=%s/files\n</CloudBasePlugin>\n",
                 without_db, it.dir, it.dir);
        ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", site), output,
                                       sizeof(output)), 0);
        ck_assert_msg(strstr(output, "add CloudBaseDatabase"), "%s", output);
    }
    it_teardown();
}
END_TEST

Suite *storage_suite(void)
{
    Suite *s = suite_create("storage");
    TCase *tc = tcase_create("local");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bad_object_ids_are_item_errors);
    tcase_add_test(tc, signatures_are_bound);
    tcase_add_test(tc, access_presets);
    tcase_add_test(tc, object_cap_leaves_nothing);
    tcase_add_test(tc, full_disk_is_507_without_partial_file);
    tcase_add_test(tc, env_quota_is_507_and_counts_replacements);
    tcase_add_test(tc, database_down);
    tcase_add_test(tc, signed_download_type_cache);
    tcase_add_test(tc, concurrent_puts_end_as_one);
    tcase_add_test(tc, post_form_upload);
    tcase_add_test(tc, official_sdk_round_trip);
    tcase_add_test(tc, configtest_names_the_fix);
    suite_add_tcase(s, tc);
    return s;
}
